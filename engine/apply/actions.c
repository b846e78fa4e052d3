/*
 * actions.c — applies decisions in the event's transaction (actions.h).
 */
#include "actions.h"

#include <string.h>

#include "alloc.h"
#include "error.h"
#include "obligations.h"
#include "outbox.h"
#include "registers.h"

/* The number n as text, in place: the member called name of parent, or
 * (name NULL) an element of the array parent. */
static int actions_instant_text(cJSON *parent, const char *name, cJSON *n)
{
    if (!cJSON_IsNumber(n))
        return 0;
    char when[CLOCK_RFC3339_LEN];
    clock_format_utc((obligo_time)n->valuedouble, when);
    cJSON *text = cJSON_CreateString(when);
    if (!text)
        return OBLIGO_ENOMEM;
    /* a member's replacement must carry the member's name */
    if (name ? cJSON_ReplaceItemInObjectCaseSensitive(parent, name, text)
             : cJSON_ReplaceItemViaPointer(parent, n, text))
        return 0;
    cJSON_Delete(text);
    return OBLIGO_ENOMEM;
}

int actions_instants_for_output(cJSON *d)
{
    const char *op = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "op"));
    if (!op || (strcmp(op, DECISION_OPEN) != 0 && strcmp(op, DECISION_FULFIL) != 0 &&
                strcmp(op, DECISION_CANCEL) != 0 && strcmp(op, DECISION_EXTEND) != 0))
        return 0;
    static const char *const names[] = {"from", "due_at", "legal_limit", "at"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int rc = actions_instant_text(d, names[i], cJSON_GetObjectItemCaseSensitive(d, names[i]));
        if (rc)
            return rc;
    }
    cJSON *remind = cJSON_GetObjectItemCaseSensitive(d, "remind");
    for (cJSON *r = cJSON_IsArray(remind) ? remind->child : NULL, *next; r; r = next) {
        next = r->next;
        int rc = actions_instant_text(remind, NULL, r);
        if (rc)
            return rc;
    }
    return 0;
}

cJSON *actions_decisions_of(store *st, int64_t seq)
{
    sqlite3_stmt *q = store_stmt(st, "SELECT decision FROM decisions WHERE event=?1 ORDER BY n");
    if (!q)
        return NULL;
    sqlite3_bind_int64(q, 1, seq);
    cJSON *out = cJSON_CreateArray();
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        cJSON *d = cJSON_Parse((const char *)sqlite3_column_text(q, 0));
        if (d && actions_instants_for_output(d) == 0)
            cJSON_AddItemToArray(out, d);
        else
            cJSON_Delete(d);
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}

cJSON *actions_state_get(store *st, const char *ns, const char *key)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT value FROM state WHERE ns=?1 AND key=?2");
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    cJSON *v = NULL;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = cJSON_Parse((const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    return v;
}

static int actions_set(action_ctx *ctx, const cJSON *d)
{
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(d, "ns");
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(d, "key");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(d, "value");
    if (!cJSON_IsString(ns) || !cJSON_IsString(key))
        return OBLIGO_EINVAL;
    sqlite3_stmt *s;
    char *text = NULL;
    if (!value || cJSON_IsNull(value)) {
        s = store_stmt(ctx->st, "DELETE FROM state WHERE ns=?1 AND key=?2");
    } else {
        s = store_stmt(ctx->st, "INSERT INTO state(ns,key,value) VALUES(?1,?2,?3) "
                                "ON CONFLICT(ns,key) DO UPDATE SET value=excluded.value");
        if (!(text = cJSON_PrintUnformatted(value)))
            return OBLIGO_ENOMEM;
    }
    if (!s) {
        cJSON_free(text);
        return OBLIGO_EDB;
    }
    sqlite3_bind_text(s, 1, ns->valuestring, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, key->valuestring, -1, SQLITE_STATIC);
    if (text)
        sqlite3_bind_text(s, 3, text, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    cJSON_free(text);
    return rc == SQLITE_DONE ? 0 : store_error(rc);
}

static int actions_register(action_ctx *ctx, const cJSON *d)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(d, "register");
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(d, "key");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(d, "data");
    if (!cJSON_IsString(name) || !cJSON_IsString(key) || !cJSON_IsObject(data))
        return OBLIGO_EINVAL;
    return registers_append(ctx->st, name->valuestring, key->valuestring, data, ctx->event_time,
                            ctx->event_seq);
}

int actions_apply(action_ctx *ctx, const cJSON *decisions)
{
    static const struct {
        const char *op;
        int (*apply)(action_ctx *, const cJSON *);
    } table[] = {
        {DECISION_OPEN, obligations_open},       {DECISION_FULFIL, obligations_fulfil},
        {DECISION_CANCEL, obligations_cancel},   {DECISION_EXTEND, obligations_extend},
        {DECISION_OVERDUE, obligations_overdue}, {DECISION_ALERT, outbox_alert},
        {DECISION_REGISTER, actions_register},   {DECISION_SET, actions_set},
    };
    for (const cJSON *d = decisions ? decisions->child : NULL; d; d = d->next) {
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(d, "op");
        if (!cJSON_IsString(op))
            return OBLIGO_EINVAL;
        int rc = OBLIGO_EINVAL;
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
            if (strcmp(table[i].op, op->valuestring) == 0) {
                rc = table[i].apply(ctx, d);
                break;
            }
        }
        if (rc)
            return rc;
    }
    return 0;
}
