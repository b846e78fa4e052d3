/*
 * breach.c — a breach's events, phases and record (breach.h).
 */
#include "breach.h"

#include <string.h>

#include "actions.h"
#include "alloc.h"
#include "clock.h"
#include "obligations.h"
#include "registers.h"

static const cJSON *breach_get(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNull(v) ? NULL : v;
}

/* The breach's own ids: its key and every report merged into it, once
 * each. */
static cJSON *breach_ids(const char *key, const cJSON *data)
{
    cJSON *ids = cJSON_CreateArray();
    cJSON_AddItemToArray(ids, cJSON_CreateString(key));
    const cJSON *r;
    cJSON_ArrayForEach(r, breach_get(data, "reports"))
    {
        int seen = 0;
        const cJSON *i;
        cJSON_ArrayForEach(i, ids)
        {
            seen |= cJSON_IsString(r) && !strcmp(i->valuestring, r->valuestring);
        }
        if (cJSON_IsString(r) && !seen)
            cJSON_AddItemToArray(ids, cJSON_CreateString(r->valuestring));
    }
    return ids;
}

/* One event row of breach_events' statement. */
static cJSON *breach_event_row(sqlite3_stmt *s, store *st, int full)
{
    cJSON *o = cJSON_CreateObject();
    char at[CLOCK_RFC3339_LEN];
    int64_t seq = sqlite3_column_int64(s, 0);
    cJSON_AddNumberToObject(o, "seq", (double)seq);
    cJSON_AddStringToObject(o, "type", (const char *)sqlite3_column_text(s, 1));
    clock_format_utc(sqlite3_column_int64(s, 2), at);
    cJSON_AddStringToObject(o, "time", at);
    if (full) {
        clock_format_utc(sqlite3_column_int64(s, 4), at);
        cJSON_AddStringToObject(o, "received_at", at);
        cJSON_AddStringToObject(o, "source", (const char *)sqlite3_column_text(s, 5));
    }
    cJSON_AddStringToObject(o, "id", (const char *)sqlite3_column_text(s, 3));
    if (full) {
        cJSON *decisions = actions_decisions_of(st, seq);
        if (!decisions) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToObject(o, "decisions", decisions);
    }
    return o;
}

cJSON *breach_events(store *st, const char *key, const cJSON *data, int full)
{
    cJSON *ids = breach_ids(key, data);
    char *ids_text = cJSON_PrintUnformatted(ids);
    cJSON_Delete(ids);
    sqlite3_stmt *s = ids_text ? store_stmt(st, "SELECT seq, type, time, id, received_at, source "
                                                "FROM events "
                                                "WHERE type LIKE 'nl.avg.breach.%' AND "
                                                "(CASE WHEN json_valid(raw) THEN "
                                                "json_extract(raw, '$.data.breach_id') END) "
                                                "IN (SELECT value FROM json_each(?1)) "
                                                "ORDER BY seq")
                               : NULL;
    if (!s) {
        cJSON_free(ids_text);
        return NULL;
    }
    sqlite3_bind_text(s, 1, ids_text, -1, SQLITE_STATIC);
    cJSON *out = cJSON_CreateArray();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        /* the decisions' statement is another one: this one stays */
        cJSON *o = breach_event_row(s, st, full);
        if (!o) {
            rc = SQLITE_ERROR;
            break;
        }
        cJSON_AddItemToArray(out, o);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    cJSON_free(ids_text);
    if (rc != SQLITE_DONE) {
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}

static const char *breach_str(const cJSON *o, const char *name)
{
    const cJSON *v = breach_get(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Appends the phase to out; with once, unless out has it (the same instant
 * and phase: later versions of an entry repeat its latest notification). */
static void breach_phase_add(cJSON *out, const cJSON *from, const char *phase_name,
                             const char *ref_name, int once)
{
    const char *at = breach_str(from, "notified_at");
    const char *phase = breach_str(from, phase_name), *ref = breach_str(from, ref_name);
    const char *why = breach_str(from, "delay_reasons");
    if (!at)
        return;
    const cJSON *p;
    cJSON_ArrayForEach(p, out)
    {
        if (once && strcmp(breach_str(p, "notified_at"), at) == 0 &&
            strcmp(breach_str(p, "phase"), phase ? phase : "") == 0)
            return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "phase", phase ? phase : "");
    cJSON_AddStringToObject(o, "notified_at", at);
    cJSON_AddStringToObject(o, "reference", ref ? ref : "");
    if (why)
        cJSON_AddStringToObject(o, "delay_reasons", why);
    cJSON_AddItemToArray(out, o);
}

cJSON *breach_phases(const cJSON *data, const cJSON *versions)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *list = breach_get(data, "notifications"), *v;
    if (cJSON_IsArray(list)) {
        cJSON_ArrayForEach(v, list)
        {
            breach_phase_add(out, v, "phase", "reference", 0);
        }
        return out;
    }
    cJSON_ArrayForEach(v, versions)
    {
        breach_phase_add(out, cJSON_GetObjectItemCaseSensitive(v, "data"), "notification_phase",
                         "ap_reference", 1);
    }
    return out;
}

/* Inserts row into rows (ordered by id) at its place. */
static void breach_insert_by_id(cJSON *rows, cJSON *row)
{
    double id = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(row, "id"));
    int at = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, rows)
    {
        if (cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "id")) > id)
            break;
        at++;
    }
    if (at < cJSON_GetArraySize(rows))
        cJSON_InsertItemInArray(rows, at, row);
    else
        cJSON_AddItemToArray(rows, row);
}

/* The obligations of the breach's key and of every report merged into it,
 * ordered by id, as GET /v1/obligations gives them; NULL on a database
 * error. */
static cJSON *breach_obligations(store *st, const char *key, const cJSON *data)
{
    cJSON *ids = breach_ids(key, data), *out = cJSON_CreateArray();
    const cJSON *id;
    cJSON_ArrayForEach(id, ids)
    {
        obligations_filter f = {.subject = id->valuestring};
        cJSON *rows = obligations_list(st, &f);
        if (!rows) {
            cJSON_Delete(out);
            out = NULL;
            break;
        }
        while (cJSON_GetArraySize(rows) > 0)
            breach_insert_by_id(out, cJSON_DetachItemFromArray(rows, 0));
        cJSON_Delete(rows);
    }
    cJSON_Delete(ids);
    return out;
}

/* {verified, break}: the chain as the versions' check found it. */
static cJSON *breach_chain(const char *first_break)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddBoolToObject(c, "verified", first_break == NULL);
    cJSON_AddItemToObject(c, "break",
                          first_break ? cJSON_CreateString(first_break) : cJSON_CreateNull());
    return c;
}

cJSON *breach_read(store *st, const char *key, int *err)
{
    *err = 0;
    cJSON *data = registers_current(st, BREACH_REGISTER, key);
    if (!data) {
        *err = BREACH_NOT_FOUND;
        return NULL;
    }
    char *first_break = NULL;
    cJSON *versions = registers_entry_versions(st, BREACH_REGISTER, key, &first_break);
    cJSON *obligations = versions ? breach_obligations(st, key, data) : NULL;
    cJSON *timeline = obligations ? breach_events(st, key, data, 1) : NULL;
    if (!timeline) {
        cJSON_Delete(versions);
        cJSON_Delete(obligations);
        cJSON_Delete(data);
        obligo_free(first_break);
        *err = BREACH_EDB;
        return NULL;
    }
    cJSON *out = cJSON_CreateObject();
    const cJSON *status = breach_get(data, "status");
    cJSON *phases = breach_phases(data, versions);
    cJSON_AddStringToObject(out, "key", key);
    cJSON_AddItemToObject(out, "status", status ? cJSON_Duplicate(status, 1) : cJSON_CreateNull());
    cJSON_AddItemToObject(out, "current", data);
    cJSON_AddItemToObject(out, "versions", versions);
    cJSON_AddItemToObject(out, "chain", breach_chain(first_break));
    cJSON_AddItemToObject(out, "notifications", phases);
    cJSON_AddItemToObject(out, "obligations", obligations);
    cJSON_AddItemToObject(out, "timeline", timeline);
    obligo_free(first_break);
    return out;
}
