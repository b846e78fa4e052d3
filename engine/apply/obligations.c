/*
 * obligations.c — the obligation state machine and its timer rows
 * (obligations.h).
 */
#include "obligations.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "json.h"
#include "error.h"
#include "text.h"

static const char *obl_str(const cJSON *d, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int obl_time(const cJSON *d, const char *name, obligo_time *t)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, name);
    if (!cJSON_IsNumber(v))
        return 0;
    *t = (obligo_time)v->valuedouble;
    return 1;
}

static int obl_step_done(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store_error(rc);
}

/* The active (open or overdue) obligation of kind+subject: returns 1 and
 * fills id/status/due and, when starts is not NULL, the instant it runs
 * from; 0 when none, or a negative code (the outputs then zero and ""). */
static int obl_active(store *st, const char *kind, const char *subject, int64_t *id,
                      char status[16], obligo_time *due, obligo_time *starts)
{
    *id = 0;
    status[0] = '\0';
    *due = 0;
    if (starts)
        *starts = 0;
    sqlite3_stmt *s =
        store_stmt(st, "SELECT id,status,due_at,starts_at FROM obligations WHERE kind=?1 AND "
                       "subject=?2 AND status IN ('open','overdue')");
    if (!s)
        return OBLIGO_EDB;
    sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, subject, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    int found = 0;
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(s, 0);
        snprintf(status, 16, "%s", (const char *)sqlite3_column_text(s, 1));
        *due = sqlite3_column_int64(s, 2);
        if (starts)
            *starts = sqlite3_column_int64(s, 3);
        found = 1;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_error(rc);
    return found;
}

static int obl_exists(store *st, const char *kind, const char *subject)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT 1 FROM obligations WHERE kind=?1 AND subject=?2");
    if (!s)
        return OBLIGO_EDB;
    sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, subject, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_error(rc);
}

static int obl_clear_timers(store *st, int64_t id)
{
    sqlite3_stmt *s = store_stmt(st, "DELETE FROM timers WHERE obligation=?1");
    if (!s)
        return OBLIGO_EDB;
    sqlite3_bind_int64(s, 1, id);
    return obl_step_done(s);
}

static int obl_add_timer(store *st, int64_t id, obligo_time at, const char *what)
{
    sqlite3_stmt *s =
        store_stmt(st, "INSERT OR IGNORE INTO timers(obligation,fire_at,what) VALUES(?1,?2,?3)");
    if (!s)
        return OBLIGO_EDB;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, at);
    sqlite3_bind_text(s, 3, what, -1, SQLITE_STATIC);
    return obl_step_done(s);
}

/* Arms the due timer and the reminders that still lie ahead of the event
 * and before the due instant (a reminder already in the past when the duty
 * is opened would only be noise). fresh: the obligation was inserted just
 * now and has no timers yet (obligations are never deleted, so its id was
 * never another's), which saves a DELETE that costs SQLite a temporary
 * table each time. */
static int obl_arm(action_ctx *ctx, int64_t id, obligo_time due, const cJSON *d, int fresh)
{
    int rc = fresh ? 0 : obl_clear_timers(ctx->st, id);
    if (!rc)
        rc = obl_add_timer(ctx->st, id, due, "overdue");
    const cJSON *rem = cJSON_GetObjectItemCaseSensitive(d, "remind");
    for (const cJSON *r = rem ? rem->child : NULL; !rc && r; r = r->next) {
        obligo_time at = (obligo_time)r->valuedouble;
        if (at > ctx->event_time && at < due)
            rc = obl_add_timer(ctx->st, id, at, "reminder");
    }
    return rc;
}

static int obl_close(action_ctx *ctx, int64_t id, const char *status, obligo_time at,
                     const char *rationale)
{
    sqlite3_stmt *s = store_stmt(ctx->st, "UPDATE obligations SET status=?2, closed_at=?3, "
                                          "closed_by=?4, rationale=coalesce(?5,rationale) "
                                          "WHERE id=?1");
    if (!s)
        return OBLIGO_EDB;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, at);
    sqlite3_bind_int64(s, 4, ctx->event_seq);
    if (rationale)
        sqlite3_bind_text(s, 5, rationale, -1, SQLITE_STATIC);
    int rc = obl_step_done(s);
    return rc ? rc : obl_clear_timers(ctx->st, id);
}

int obligations_open(action_ctx *ctx, const cJSON *d)
{
    const char *kind = obl_str(d, "kind"), *subject = obl_str(d, "subject");
    obligo_time from, due, limit = 0;
    if (!kind || !subject || !obl_time(d, "from", &from) || !obl_time(d, "due_at", &due))
        return OBLIGO_EINVAL;
    int has_limit = obl_time(d, "legal_limit", &limit);
    int64_t id;
    char status[16];
    obligo_time old_due, old_from;
    int rc = obl_active(ctx->st, kind, subject, &id, status, &old_due, &old_from);
    if (rc < 0)
        return rc;
    if (rc == 1 && from <= old_from &&
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "latest"))) {
        /* A declarative trigger's duty runs from the latest event that opens
         * or renews it, whatever order events arrive in: a record change or
         * backup report that is older than the one the active obligation
         * runs from must not pull its due date back, nor renew an overdue
         * period (closing it "late" as if the duty had been done). An event
         * at the same instant is not later either: it would re-arm the open
         * duty to the due date it already has, or close an overdue period
         * with the very event that started it. */
        return 0;
    }
    if (rc == 1 && strcmp(status, "open") == 0) {
        /* Re-arm: the same duty, counted from a new start (a later record
         * change, an earlier report of the same breach). */
        sqlite3_stmt *s = store_stmt(ctx->st, "UPDATE obligations SET starts_at=?2, due_at=?3, "
                                              "legal_limit=?4 WHERE id=?1");
        if (!s)
            return OBLIGO_EDB;
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, from);
        sqlite3_bind_int64(s, 3, due);
        if (has_limit)
            sqlite3_bind_int64(s, 4, limit);
        if ((rc = obl_step_done(s)))
            return rc;
        return obl_arm(ctx, id, due, d, 0);
    }
    if (rc == 1 && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "once")))
        return 0; /* a once-only duty that is overdue stays overdue until it is done */
    if (rc == 1) {
        /* Overdue and renewed by the fulfilling event of a periodic duty:
         * the missed period closes late and a new period begins. */
        if ((rc = obl_close(ctx, id, "late", ctx->event_time, NULL)))
            return rc;
    } else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "once"))) {
        if ((rc = obl_exists(ctx->st, kind, subject)) != 0)
            return rc < 0 ? rc : 0; /* this duty was already opened once */
    }
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(d, "data");
    char *data_text = data ? cJSON_PrintUnformatted(data) : NULL;
    sqlite3_stmt *s =
        store_stmt(ctx->st, "INSERT INTO obligations(kind,subject,status,opened_at,starts_at,"
                            "due_at,legal_limit,source_event,data) "
                            "VALUES(?1,?2,'open',?3,?4,?5,?6,?7,?8)");
    if (!s) {
        cJSON_free(data_text);
        return OBLIGO_EDB;
    }
    sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, subject, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, ctx->event_time);
    sqlite3_bind_int64(s, 4, from);
    sqlite3_bind_int64(s, 5, due);
    if (has_limit)
        sqlite3_bind_int64(s, 6, limit);
    sqlite3_bind_int64(s, 7, ctx->event_seq);
    if (data_text)
        sqlite3_bind_text(s, 8, data_text, -1, SQLITE_STATIC);
    rc = obl_step_done(s);
    cJSON_free(data_text);
    if (rc)
        return rc;
    return obl_arm(ctx, sqlite3_last_insert_rowid(ctx->st->db), due, d, 1);
}

int obligations_fulfil(action_ctx *ctx, const cJSON *d)
{
    const char *kind = obl_str(d, "kind"), *subject = obl_str(d, "subject");
    obligo_time at;
    if (!kind || !subject || !obl_time(d, "at", &at))
        return OBLIGO_EINVAL;
    int64_t id;
    char status[16];
    obligo_time due;
    int rc = obl_active(ctx->st, kind, subject, &id, status, &due, NULL);
    if (rc <= 0)
        return rc; /* nothing active: fulfilling twice changes nothing */
    return obl_close(ctx, id, at <= due ? "fulfilled" : "late", at, NULL);
}

int obligations_cancel(action_ctx *ctx, const cJSON *d)
{
    const char *kind = obl_str(d, "kind"), *subject = obl_str(d, "subject");
    obligo_time at = ctx->event_time;
    if (!kind || !subject)
        return OBLIGO_EINVAL;
    obl_time(d, "at", &at);
    int64_t id;
    char status[16];
    obligo_time due;
    int rc = obl_active(ctx->st, kind, subject, &id, status, &due, NULL);
    if (rc <= 0)
        return rc;
    return obl_close(ctx, id, "cancelled", at, obl_str(d, "rationale"));
}

int obligations_extend(action_ctx *ctx, const cJSON *d)
{
    const char *kind = obl_str(d, "kind"), *subject = obl_str(d, "subject");
    obligo_time due, limit = 0;
    if (!kind || !subject || !obl_time(d, "due_at", &due))
        return OBLIGO_EINVAL;
    int has_limit = obl_time(d, "legal_limit", &limit);
    int64_t id;
    char status[16];
    obligo_time old_due;
    int rc = obl_active(ctx->st, kind, subject, &id, status, &old_due, NULL);
    if (rc <= 0)
        return rc;
    sqlite3_stmt *s = store_stmt(ctx->st, "UPDATE obligations SET due_at=?2, legal_limit=?3, "
                                          "status=CASE WHEN ?2 > ?4 THEN 'open' ELSE status END "
                                          "WHERE id=?1");
    if (!s)
        return OBLIGO_EDB;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, due);
    if (has_limit)
        sqlite3_bind_int64(s, 3, limit);
    sqlite3_bind_int64(s, 4, ctx->event_time);
    if ((rc = obl_step_done(s)))
        return rc;
    return obl_arm(ctx, id, due, d, 0);
}

int obligations_overdue(action_ctx *ctx, const cJSON *d)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(d, "obligation");
    if (!cJSON_IsNumber(id))
        return OBLIGO_EINVAL;
    sqlite3_stmt *s = store_stmt(
        ctx->st, "UPDATE obligations SET status='overdue' WHERE id=?1 AND status='open'");
    if (!s)
        return OBLIGO_EDB;
    sqlite3_bind_int64(s, 1, (int64_t)id->valuedouble);
    return obl_step_done(s);
}

/* ---- reading -------------------------------------------------------------- */

#define OBL_COLUMNS                                                                                \
    "o.id,o.kind,o.subject,o.status,o.opened_at,o.starts_at,o.due_at,o.legal_limit,o.closed_at,"   \
    "o.rationale,o.data,se.source,se.id,ce.source,ce.id"
#define OBL_JOINS                                                                                  \
    " JOIN events se ON se.seq=o.source_event LEFT JOIN events ce ON ce.seq=o.closed_by "
#define OBL_FROM " FROM obligations o" OBL_JOINS

static void obl_add_time(cJSON *o, const char *name, sqlite3_stmt *s, int col)
{
    if (sqlite3_column_type(s, col) == SQLITE_NULL)
        return;
    char buf[CLOCK_RFC3339_LEN];
    clock_format_utc(sqlite3_column_int64(s, col), buf);
    cJSON_AddStringToObject(o, name, buf);
}

static cJSON *obl_event_ref(sqlite3_stmt *s, int col)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "source", (const char *)sqlite3_column_text(s, col));
    cJSON_AddStringToObject(e, "id", (const char *)sqlite3_column_text(s, col + 1));
    return e;
}

static cJSON *obl_row(sqlite3_stmt *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(s, 0));
    cJSON_AddStringToObject(o, "kind", (const char *)sqlite3_column_text(s, 1));
    cJSON_AddStringToObject(o, "subject", (const char *)sqlite3_column_text(s, 2));
    cJSON_AddStringToObject(o, "status", (const char *)sqlite3_column_text(s, 3));
    obl_add_time(o, "opened_at", s, 4);
    obl_add_time(o, "starts_at", s, 5);
    obl_add_time(o, "due_at", s, 6);
    obl_add_time(o, "legal_limit", s, 7);
    obl_add_time(o, "closed_at", s, 8);
    if (sqlite3_column_type(s, 13) != SQLITE_NULL)
        json_put(o, "closed_by", obl_event_ref(s, 13));
    if (sqlite3_column_type(s, 9) != SQLITE_NULL)
        cJSON_AddStringToObject(o, "rationale", (const char *)sqlite3_column_text(s, 9));
    json_put(o, "source_event", obl_event_ref(s, 11));
    if (sqlite3_column_type(s, 10) != SQLITE_NULL) {
        cJSON *data = cJSON_Parse((const char *)sqlite3_column_text(s, 10));
        json_put(o, "data", data);
    }
    return o;
}

cJSON *obligations_get(store *st, int64_t id)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT " OBL_COLUMNS OBL_FROM "WHERE o.id=?1");
    if (!s)
        return NULL;
    sqlite3_bind_int64(s, 1, id);
    cJSON *o = sqlite3_step(s) == SQLITE_ROW ? obl_row(s) : NULL;
    sqlite3_reset(s);
    return o;
}

cJSON *obligations_latest(store *st, const char *kind, const char *subject)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT " OBL_COLUMNS OBL_FROM
                                     "WHERE o.kind=?1 AND o.subject=?2 ORDER BY o.id DESC LIMIT 1");
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, subject, -1, SQLITE_STATIC);
    cJSON *o = sqlite3_step(s) == SQLITE_ROW ? obl_row(s) : NULL;
    sqlite3_reset(s);
    return o;
}

/* The statuses in the order of obligations_count_by_status. */
static const char *const obl_status_names[5] = {"open", "fulfilled", "overdue", "late",
                                                "cancelled"};
#define OBL_ACTIVE ((1u << 0) | (1u << 2)) /* open, overdue */

int obligations_statuses(const char *list, unsigned *mask)
{
    return text_word_mask(list, obl_status_names, 5, mask);
}

/* Appends " AND <col> IN ('a','b')" for the statuses in mask; the names are
 * the engine's own, so they go into the text as literals, as a partial
 * index's condition needs them (store.c, migration 6). */
static void obl_status_term(char *sql, size_t n, const char *col, unsigned mask)
{
    size_t len = strlen(sql);
    snprintf(sql + len, n - len, " AND %s IN (", col);
    const char *sep = "";
    for (int i = 0; i < 5; i++) {
        if (!(mask & (1u << i)))
            continue;
        len = strlen(sql);
        snprintf(sql + len, n - len, "%s'%s'", sep, obl_status_names[i]);
        sep = ",";
    }
    len = strlen(sql);
    snprintf(sql + len, n - len, ")");
}

/* The query of a list. By due, an index delivers the rows in the answer's
 * order, so the walk stops at the limit (no sort of every match): for
 * active statuses one of the partial indexes, named with INDEXED BY
 * because without statistics SQLite prefers fetching every active row by
 * obligations_by_status and sorting them (measured: 70 ms at 100,000
 * rows), and the statement fails to prepare, rather than silently slow
 * down, should the index ever be missing; its condition is in the WHERE
 * clause word for word, as a partial index needs. With a subject, its own
 * index (a handful of rows). Kind, due_before and the keyset are index
 * terms. By id the table is walked in id order as it always was; a unary
 * + keeps the terms from choosing an index whose matches would all need
 * sorting by id. */
static void obl_list_sql(char *sql, size_t n, const obligations_filter *f, unsigned mask)
{
    int due = f->order_due;
    int active = due && f->status && (mask & ~OBL_ACTIVE) == 0 && !f->subject;
    const char *plus = due ? "" : "+";
    snprintf(sql, n, "SELECT " OBL_COLUMNS " FROM obligations o%s" OBL_JOINS "WHERE 1",
             !active   ? ""
             : f->kind ? " INDEXED BY obligations_active_by_kind_due"
                       : " INDEXED BY obligations_active_by_due");
    if (f->status && (mask & ~OBL_ACTIVE) == 0 && due) {
        obl_status_term(sql, n, "o.status", OBL_ACTIVE);
        if (mask != OBL_ACTIVE)
            obl_status_term(sql, n, "+o.status", mask);
    } else if (f->status) {
        obl_status_term(sql, n, "+o.status", mask);
    }
    size_t len = strlen(sql);
    snprintf(sql + len, n - len, "%s%s%s%s%s%s%s%s%s%s", f->kind ? " AND " : "",
             f->kind ? plus : "", f->kind ? "o.kind=:kind" : "", f->subject ? " AND " : "",
             f->subject ? "o.subject=:subject" : "", f->due_before ? " AND " : "",
             f->due_before ? plus : "", f->due_before ? "o.due_at<:due_before" : "",
             !due               ? " AND o.id>:after ORDER BY o.id"
             : f->has_after_due ? " AND (o.due_at,o.id)>(:after_due,:after) ORDER BY o.due_at,o.id"
                                : " ORDER BY o.due_at,o.id",
             " LIMIT :limit");
}

cJSON *obligations_list(store *st, const obligations_filter *f)
{
    unsigned mask = 0;
    if (f->status)
        obligations_statuses(f->status, &mask);
    /* A status of no obligation matches nothing; the other statuses of the
     * list are left out with it, so the answer is empty, as it always was
     * for one unknown status. */
    if (f->status && !mask)
        return cJSON_CreateArray();
    /* Built per call, not cached: the text depends on which filters are
     * given (an absent one must not be a term, or no index fits), and
     * preparing it costs microseconds against the rows it reads. */
    char sql[1024];
    obl_list_sql(sql, sizeof sql, f, mask);
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return NULL;
    store_bind_named(s, ":kind", 0, f->kind);
    store_bind_named(s, ":subject", 0, f->subject);
    store_bind_named(s, ":due_before", f->due_before, NULL);
    store_bind_named(s, ":after_due", f->after_due, NULL);
    store_bind_named(s, ":after", f->after_id, NULL);
    store_bind_named(s, ":limit", f->limit > 0 ? f->limit : -1, NULL);
    cJSON *out = cJSON_CreateArray();
    int rc = SQLITE_DONE;
    while (out && (rc = sqlite3_step(s)) == SQLITE_ROW)
        cJSON_AddItemToArray(out, obl_row(s));
    if (out && rc != SQLITE_DONE) {
        cJSON_Delete(out);
        out = NULL;
    }
    sqlite3_finalize(s);
    return out;
}

int obligations_next_timer(store *st, obligations_timer *t)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT obligation,fire_at,what FROM timers "
                                     "ORDER BY fire_at, obligation LIMIT 1");
    if (!s)
        return OBLIGO_EDB;
    int rc = sqlite3_step(s);
    int found = 0;
    if (rc == SQLITE_ROW) {
        t->obligation = sqlite3_column_int64(s, 0);
        t->fire_at = sqlite3_column_int64(s, 1);
        snprintf(t->what, sizeof t->what, "%s", (const char *)sqlite3_column_text(s, 2));
        found = 1;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_error(rc);
    return found;
}

int obligations_delete_timer(store *st, const obligations_timer *t)
{
    sqlite3_stmt *s =
        store_stmt(st, "DELETE FROM timers WHERE obligation=?1 AND fire_at=?2 AND what=?3");
    if (!s)
        return OBLIGO_EDB;
    sqlite3_bind_int64(s, 1, t->obligation);
    sqlite3_bind_int64(s, 2, t->fire_at);
    sqlite3_bind_text(s, 3, t->what, -1, SQLITE_STATIC);
    return obl_step_done(s);
}

int obligations_count_by_status(store *st, long counts[5])
{
    const char *const *names = obl_status_names;
    memset(counts, 0, 5 * sizeof counts[0]);
    sqlite3_stmt *s = store_stmt(st, "SELECT status, count(*) FROM obligations GROUP BY status");
    if (!s)
        return OBLIGO_EDB;
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *st_name = (const char *)sqlite3_column_text(s, 0);
        for (int i = 0; i < 5; i++)
            if (strcmp(st_name, names[i]) == 0)
                counts[i] = (long)sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    return 0;
}

/* Triggers on the writer's connection keep temp.obligo_obligation_counts
 * equal to the GROUP BY below: in the transaction that changes a status, so
 * a rollback undoes the count with the change. Temporary objects belong to
 * this connection alone; writes by another process (obligo ingest beside a
 * running serve) show after the next start. */
static const char obligations_counts_sql[] =
    "DROP TABLE IF EXISTS temp.obligo_obligation_counts;"
    "CREATE TEMP TABLE obligo_obligation_counts(status TEXT PRIMARY KEY, n INTEGER NOT NULL);"
    "INSERT INTO temp.obligo_obligation_counts(status, n) "
    "  SELECT status, count(*) FROM main.obligations GROUP BY status;"
    "CREATE TEMP TRIGGER obligo_obligation_counts_insert AFTER INSERT ON main.obligations BEGIN"
    "  INSERT INTO obligo_obligation_counts(status, n) VALUES(new.status, 1)"
    "    ON CONFLICT(status) DO UPDATE SET n = n + 1;"
    "END;"
    "CREATE TEMP TRIGGER obligo_obligation_counts_update AFTER UPDATE OF status ON "
    "main.obligations WHEN old.status IS NOT new.status BEGIN"
    "  UPDATE obligo_obligation_counts SET n = n - 1 WHERE status = old.status;"
    "  INSERT INTO obligo_obligation_counts(status, n) VALUES(new.status, 1)"
    "    ON CONFLICT(status) DO UPDATE SET n = n + 1;"
    "END;"
    "CREATE TEMP TRIGGER obligo_obligation_counts_delete AFTER DELETE ON main.obligations BEGIN"
    "  UPDATE obligo_obligation_counts SET n = n - 1 WHERE status = old.status;"
    "END;";

int obligations_counts_start(store *st)
{
    int src = sqlite3_exec(st->db, obligations_counts_sql, NULL, NULL, NULL);
    return src == SQLITE_OK ? 0 : store_error(src) ? store_error(src) : OBLIGO_EDB;
}

int obligations_counts(store *st, long counts[5])
{
    const char *const *names = obl_status_names;
    memset(counts, 0, 5 * sizeof counts[0]);
    sqlite3_stmt *s = store_stmt(st, "SELECT status, n FROM temp.obligo_obligation_counts");
    if (!s)
        return OBLIGO_EDB;
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *st_name = (const char *)sqlite3_column_text(s, 0);
        for (int i = 0; i < 5; i++)
            if (st_name && strcmp(st_name, names[i]) == 0)
                counts[i] = (long)sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    return 0;
}
