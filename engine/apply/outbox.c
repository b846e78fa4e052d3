/*
 * outbox.c — alerts, outbox rows and their sinks (outbox.h).
 */
#include "outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "alloc.h"
#include "json.h"
#include "digest.h"
#include "error.h"
#include "text.h"

static const char *outbox_str(const cJSON *d, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int outbox_alert(action_ctx *ctx, const cJSON *d)
{
    const char *kind = outbox_str(d, "kind"), *subject = outbox_str(d, "subject");
    const char *severity = outbox_str(d, "severity"), *message = outbox_str(d, "message");
    const char *rule = outbox_str(d, "rule");
    if (!kind || !subject || !severity || !message)
        return OBLIGO_EINVAL;
    /* The id depends only on the event's identity and the alert's place
     * among the event's alerts, so replaying the journal gives the same ids
     * and a receiver can deduplicate redeliveries. */
    char n[16], hash[DIGEST_HEX_LEN], id[24];
    snprintf(n, sizeof n, "%d", ctx->nalerts++);
    const void *parts[] = {ctx->event_source, ctx->event_id, n};
    size_t lens[] = {strlen(ctx->event_source), strlen(ctx->event_id), strlen(n)};
    int rc = digest_parts(hash, 3, parts, lens);
    if (rc)
        return rc;
    snprintf(id, sizeof id, "al-%.16s", hash);

    const cJSON *data = cJSON_GetObjectItemCaseSensitive(d, "data");
    char *data_text = data ? cJSON_PrintUnformatted(data) : NULL;
    sqlite3_stmt *s = store_stmt(ctx->st, "INSERT INTO alerts(id,kind,severity,subject,at,message,"
                                          "event,rule,data) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)");
    if (!s) {
        cJSON_free(data_text);
        return OBLIGO_EDB;
    }
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, severity, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, subject, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, ctx->event_time);
    sqlite3_bind_text(s, 6, message, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, ctx->event_seq);
    if (rule && *rule)
        sqlite3_bind_text(s, 8, rule, -1, SQLITE_STATIC);
    if (data_text)
        sqlite3_bind_text(s, 9, data_text, -1, SQLITE_STATIC);
    int src = sqlite3_step(s);
    sqlite3_reset(s);
    cJSON_free(data_text);
    if (src != SQLITE_DONE)
        return store_error(src);
    int64_t seq = sqlite3_last_insert_rowid(ctx->st->db);
    for (int i = 0; i < ctx->nsinks; i++) {
        if (ctx->routes && !config_route_takes(&ctx->routes[i], kind, severity))
            continue; /* routed elsewhere: this sink does not get it */
        s = store_stmt(ctx->st, "INSERT INTO outbox(alert,sink) VALUES(?1,?2)");
        if (!s)
            return OBLIGO_EDB;
        sqlite3_bind_int64(s, 1, seq);
        sqlite3_bind_text(s, 2, ctx->sinks[i], -1, SQLITE_STATIC);
        src = sqlite3_step(s);
        sqlite3_reset(s);
        if (src != SQLITE_DONE)
            return store_error(src);
    }
    return 0;
}

#define OUTBOX_COLUMNS                                                                             \
    "a.seq,a.id,a.kind,a.severity,a.subject,a.at,a.message,e.source,e.id,a.rule,a.data"

/* One alert as output JSON from the OUTBOX_COLUMNS starting at column `o`.
 * The list and every sink show the same shape. */
static cJSON *outbox_row(sqlite3_stmt *s, int o)
{
    cJSON *a = cJSON_CreateObject();
    if (!a)
        return NULL;
    char at[CLOCK_RFC3339_LEN];
    clock_format_utc(sqlite3_column_int64(s, o + 5), at);
    cJSON_AddStringToObject(a, "id", (const char *)sqlite3_column_text(s, o + 1));
    cJSON_AddStringToObject(a, "kind", (const char *)sqlite3_column_text(s, o + 2));
    cJSON_AddStringToObject(a, "severity", (const char *)sqlite3_column_text(s, o + 3));
    cJSON_AddStringToObject(a, "subject", (const char *)sqlite3_column_text(s, o + 4));
    cJSON_AddStringToObject(a, "at", at);
    cJSON_AddStringToObject(a, "message", (const char *)sqlite3_column_text(s, o + 6));
    cJSON *ev = cJSON_AddObjectToObject(a, "event");
    cJSON_AddStringToObject(ev, "source", (const char *)sqlite3_column_text(s, o + 7));
    cJSON_AddStringToObject(ev, "id", (const char *)sqlite3_column_text(s, o + 8));
    if (sqlite3_column_type(s, o + 9) != SQLITE_NULL)
        cJSON_AddStringToObject(a, "rule", (const char *)sqlite3_column_text(s, o + 9));
    if (sqlite3_column_type(s, o + 10) != SQLITE_NULL) {
        cJSON *data = cJSON_Parse((const char *)sqlite3_column_text(s, o + 10));
        json_put(a, "data", data);
    }
    return a;
}

static const char *const outbox_severity_names[3] = {"info", "warning", "critical"};

int outbox_severities(const char *list, unsigned *mask)
{
    return text_word_mask(list, outbox_severity_names, 3, mask);
}

/* The acknowledgement: the latest version of the alert's entry in the
 * register (one lookup on its UNIQUE(register, key, version) index) and
 * the event that wrote it. */
#define OUTBOX_ACK_COLUMNS ",a.seq,r.seq,r.data,r.at,ae.source,ae.id"
#define OUTBOX_ACK_JOIN                                                                            \
    " LEFT JOIN registers r ON r.seq=(SELECT x.seq FROM registers x WHERE "                        \
    "x.register='" OUTBOX_ACK_REGISTER "' AND x.key=a.id ORDER BY x.version DESC LIMIT 1)"         \
    " LEFT JOIN events ae ON ae.seq=r.event"

/* The list's query for f. One severity is an index term (severity, seq);
 * several are a filter on the walk by seq (a unary + keeps SQLite from
 * fetching every match of each and sorting them). */
static void outbox_list_sql(char *sql, size_t n, const outbox_filter *f, unsigned sev)
{
    char sev_term[64] = "";
    if (f->severity) {
        size_t len = 0;
        int single = (sev & (sev - 1)) == 0;
        const char *sep = single ? " AND a.severity IN (" : " AND +a.severity IN (";
        for (int i = 0; i < 3; i++) {
            if (!(sev & (1u << i)))
                continue;
            len += (size_t)snprintf(sev_term + len, sizeof sev_term - len, "%s'%s'", sep,
                                    outbox_severity_names[i]);
            sep = ",";
        }
        snprintf(sev_term + len, sizeof sev_term - len, ")");
    }
    snprintf(sql, n,
             "SELECT " OUTBOX_COLUMNS OUTBOX_ACK_COLUMNS " FROM alerts a JOIN events e ON "
             "e.seq=a.event" OUTBOX_ACK_JOIN " WHERE a.seq>:after%s%s%s%s%s ORDER BY a.seq%s "
             "LIMIT :limit",
             f->before_seq ? " AND a.seq<:before" : "", f->since ? " AND a.at>=:since" : "",
             f->kind ? " AND a.kind=:kind" : "", sev_term,
             f->acknowledged == OUTBOX_ACK_YES  ? " AND r.seq IS NOT NULL"
             : f->acknowledged == OUTBOX_ACK_NO ? " AND r.seq IS NULL"
                                                : "",
             f->newest ? " DESC" : "");
}

/* {by, note, at, event} from the OUTBOX_ACK_COLUMNS at column o (after
 * a.seq), or null when the alert has no entry. */
static cJSON *outbox_ack_json(sqlite3_stmt *s, int o)
{
    if (sqlite3_column_type(s, o) == SQLITE_NULL)
        return cJSON_CreateNull();
    cJSON *data = cJSON_Parse((const char *)sqlite3_column_text(s, o + 1));
    cJSON *ack = cJSON_CreateObject();
    static const char *const names[] = {"by", "note"};
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, names[i]);
        json_put(ack, names[i],
                 cJSON_IsString(v) ? cJSON_CreateString(v->valuestring) : cJSON_CreateNull());
    }
    /* acknowledged_at as the rule stored it (a time or an instant), in
     * UTC as every output time; else when the version was written */
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, "acknowledged_at");
    obligo_time at = sqlite3_column_int64(s, o + 2);
    if (cJSON_IsNumber(v))
        at = (obligo_time)v->valuedouble;
    obligo_time parsed;
    if (cJSON_IsString(v) && clock_parse_any(v->valuestring, &parsed) == 0)
        at = parsed;
    char buf[CLOCK_RFC3339_LEN];
    clock_format_utc(at, buf);
    cJSON_AddStringToObject(ack, "at", buf);
    cJSON *ev = cJSON_AddObjectToObject(ack, "event");
    cJSON_AddStringToObject(ev, "source", (const char *)sqlite3_column_text(s, o + 3));
    cJSON_AddStringToObject(ev, "id", (const char *)sqlite3_column_text(s, o + 4));
    cJSON_Delete(data);
    return ack;
}

cJSON *outbox_list(store *st, const outbox_filter *f)
{
    unsigned sev = 0;
    if (f->severity && outbox_severities(f->severity, &sev) != 0)
        return cJSON_CreateArray(); /* no alert has a severity the engine does not know */
    /* Built per call, as obligations_list does (obligations.c): an absent
     * filter must not be a term, or no index fits. */
    char sql[1024];
    outbox_list_sql(sql, sizeof sql, f, sev);
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return NULL;
    store_bind_named(s, ":after", f->after_seq, NULL);
    store_bind_named(s, ":before", f->before_seq, NULL);
    store_bind_named(s, ":since", f->since, NULL);
    store_bind_named(s, ":kind", 0, f->kind);
    store_bind_named(s, ":limit", f->limit > 0 ? f->limit : -1, NULL);
    cJSON *out = cJSON_CreateArray();
    int rc = SQLITE_DONE;
    while (out && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        cJSON *a = outbox_row(s, 0);
        cJSON_AddNumberToObject(a, "seq", (double)sqlite3_column_int64(s, 11));
        json_put(a, "acknowledged", outbox_ack_json(s, 12));
        cJSON_AddItemToArray(out, a);
    }
    if (out && rc != SQLITE_DONE) {
        cJSON_Delete(out);
        out = NULL;
    }
    sqlite3_finalize(s);
    return out;
}

static int outbox_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return OBLIGO_EIO;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Appends text and a newline with one write where the kernel takes it
 * whole, so a process killed in between cannot leave a line without its
 * end for the next line to be glued to. */
static int outbox_append_line(int fd, const char *line, size_t len)
{
    struct iovec iov[2] = {{(void *)line, len}, {(void *)"\n", 1}};
    ssize_t n;
    do
        n = writev(fd, iov, 2);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return OBLIGO_EIO;
    if ((size_t)n == len + 1)
        return 0;
    /* a short write (a full disk): finish it piece by piece */
    if ((size_t)n < len)
        return outbox_write_all(fd, line + n, len - (size_t)n) ? OBLIGO_EIO
                                                               : outbox_write_all(fd, "\n", 1);
    return outbox_write_all(fd, "\n", 1);
}

/* Writes one alert line to stdout, flushed per line. */
static int outbox_emit_stdout(const char *line)
{
    size_t len = strlen(line);
    if (fwrite(line, 1, len, stdout) != len || fputc('\n', stdout) == EOF)
        return OBLIGO_EIO;
    return fflush(stdout) == 0 ? 0 : OBLIGO_EIO;
}

/* Opens a file sink for appending. A file whose last line was cut off (a
 * crash or power loss mid-write) gets that line ended first: the cut line
 * stays recognisably broken, the alert itself is delivered again whole.
 * The descriptor, or -1. */
static int outbox_open_file(const char *path)
{
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    off_t end = lseek(fd, 0, SEEK_END);
    char last = '\n';
    if ((end > 0 && pread(fd, &last, 1, end - 1) != 1) ||
        (last != '\n' && outbox_write_all(fd, "\n", 1) != 0)) {
        close(fd);
        return -1;
    }
    return fd;
}

#define OUTBOX_LONGEST 12 /* attempts after which the backoff is an hour */

/* Seconds to wait before attempt number `attempts` + 1 of a failing sink. */
static int64_t outbox_backoff(int64_t attempts)
{
    return attempts >= OUTBOX_LONGEST ? 3600 : (int64_t)1 << attempts;
}

/* Marks rows delivered, in one transaction. */
static int outbox_mark(store *st, const char *sink, const int64_t *ids, int n)
{
    int rc = store_begin(st);
    for (int i = 0; i < n && !rc; i++) {
        sqlite3_stmt *u = store_stmt(st, "UPDATE outbox SET delivered_at=strftime('%s','now'), "
                                         "attempts=attempts+1, last_error=NULL "
                                         "WHERE alert=?1 AND sink=?2");
        if (!u) {
            rc = OBLIGO_EDB;
            break;
        }
        sqlite3_bind_int64(u, 1, ids[i]);
        sqlite3_bind_text(u, 2, sink, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(u) != SQLITE_DONE)
            rc = OBLIGO_EDB;
        sqlite3_reset(u);
    }
    if (!rc)
        rc = store_commit(st);
    if (rc)
        store_rollback(st);
    return rc;
}

/* Records a failed attempt and when to try again: after the backoff of its
 * attempts, or, for a permanent refusal (OBLIGO_PLUGIN_ERROR: a mail server's
 * 550), after the longest, as plugin.h promises, so that a refusal is not
 * asked again every few seconds. The rows behind it are not held up: they
 * are due, it is not. */
static void outbox_defer(store *st, const char *sink, int64_t id, int permanent)
{
    sqlite3_stmt *a = store_stmt(st, "SELECT attempts FROM outbox WHERE alert=?1 AND sink=?2");
    int64_t attempts = 0;
    if (a) {
        sqlite3_bind_int64(a, 1, id);
        sqlite3_bind_text(a, 2, sink, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(a) == SQLITE_ROW)
            attempts = sqlite3_column_int64(a, 0);
        sqlite3_reset(a);
    }
    sqlite3_stmt *u = store_stmt(st, "UPDATE outbox SET attempts=attempts+1, last_error=?3, "
                                     "next_attempt_at=strftime('%s','now')+?4 "
                                     "WHERE alert=?1 AND sink=?2");
    if (!u)
        return;
    sqlite3_bind_int64(u, 1, id);
    sqlite3_bind_text(u, 2, sink, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(u, 3, permanent ? "refused" : "retry", -1, SQLITE_STATIC);
    sqlite3_bind_int64(u, 4, outbox_backoff(permanent ? OUTBOX_LONGEST : attempts));
    sqlite3_step(u);
    sqlite3_reset(u);
}

/* Delivers up to 256 due rows of one sink; returns how many, or a negative
 * code (rows written before a failure are still marked). */
static int outbox_deliver_sink(store *st, const char *sink, const plugins *p)
{
    const plugins_sink *ps = NULL;
    if (strcmp(sink, "stdout") != 0 && strncmp(sink, "file:", 5) != 0) {
        ps = plugins_find_sink(p, sink);
        if (!ps)
            return OBLIGO_EINVAL; /* checked at start-up; a row for a sink no longer there waits */
    }
    const char *arg = strchr(sink, ':');
    sqlite3_stmt *s = store_stmt(st, "SELECT " OUTBOX_COLUMNS " FROM outbox o JOIN alerts a ON "
                                     "a.seq=o.alert JOIN events e ON e.seq=a.event "
                                     "WHERE o.sink=?1 AND o.delivered_at IS NULL AND "
                                     "coalesce(o.next_attempt_at,0) <= strftime('%s','now') "
                                     "ORDER BY o.alert LIMIT 256");
    if (!s)
        return OBLIGO_EDB;
    sqlite3_bind_text(s, 1, sink, -1, SQLITE_TRANSIENT);
    int64_t ids[256], failed_id = -1;
    int n = 0, failed = 0, refused = 0;
    /* A file sink is opened once per batch and synced once, before the
     * batch is marked delivered: "delivered" means on disk, and a crash
     * before the sync delivers the batch again (at least once). */
    int fd = -1;
    if (strncmp(sink, "file:", 5) == 0 && (fd = outbox_open_file(sink + 5)) < 0) {
        sqlite3_reset(s);
        return OBLIGO_EIO;
    }
    while (n < 256 && sqlite3_step(s) == SQLITE_ROW) {
        cJSON *a = outbox_row(s, 0);
        char *line = a ? cJSON_PrintUnformatted(a) : NULL;
        cJSON_Delete(a);
        int rc = !line     ? OBLIGO_ENOMEM
                 : ps      ? ps->sink->deliver(ps->state, arg ? arg + 1 : "",
                                               (const char *)sqlite3_column_text(s, 1), line)
                 : fd >= 0 ? outbox_append_line(fd, line, strlen(line))
                           : outbox_emit_stdout(line);
        cJSON_free(line);
        if (rc != 0) {
            /* later alerts wait behind this one, so order is kept per sink */
            failed = 1;
            failed_id = sqlite3_column_int64(s, 0);
            refused = ps && rc == OBLIGO_PLUGIN_ERROR;
            break;
        }
        ids[n++] = sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    if (fd >= 0) {
        if (n && fsync(fd) != 0) {
            n = 0; /* not on disk: nothing of the batch counts as delivered */
            failed = 1;
        }
        close(fd);
    }
    int rc = n ? outbox_mark(st, sink, ids, n) : 0;
    if (failed && ps)
        outbox_defer(st, sink, failed_id, refused);
    if (rc)
        return rc;
    return failed ? OBLIGO_EIO : n;
}

int outbox_deliver(store *st, const char *const *sinks, int nsinks, const plugins *p)
{
    int delivered = 0, err = 0;
    for (int i = 0; i < nsinks; i++) {
        int n;
        /* a failing sink does not hold back the others */
        while ((n = outbox_deliver_sink(st, sinks[i], p)) == 256)
            delivered += n;
        if (n < 0)
            err = n;
        else
            delivered += n;
    }
    return err ? err : delivered;
}

long outbox_pending(store *st)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT count(*) FROM outbox WHERE delivered_at IS NULL");
    if (!s)
        return -1;
    long n = sqlite3_step(s) == SQLITE_ROW ? (long)sqlite3_column_int64(s, 0) : -1;
    sqlite3_reset(s);
    return n;
}

/* As obligations_counts_start (obligations.c) for alerts by kind. Alerts
 * are never deleted, so an insert trigger is all it takes. */
static const char outbox_counts_sql[] =
    "DROP TABLE IF EXISTS temp.obligo_alert_counts;"
    "CREATE TEMP TABLE obligo_alert_counts(kind TEXT PRIMARY KEY, n INTEGER NOT NULL);"
    "INSERT INTO temp.obligo_alert_counts(kind, n) "
    "  SELECT kind, count(*) FROM main.alerts GROUP BY kind;"
    "CREATE TEMP TRIGGER obligo_alert_counts_insert AFTER INSERT ON main.alerts BEGIN"
    "  INSERT INTO obligo_alert_counts(kind, n) VALUES(new.kind, 1)"
    "    ON CONFLICT(kind) DO UPDATE SET n = n + 1;"
    "END;"
    "CREATE TEMP TRIGGER obligo_alert_counts_delete AFTER DELETE ON main.alerts BEGIN"
    "  UPDATE obligo_alert_counts SET n = n - 1 WHERE kind = old.kind;"
    "END;";

int outbox_counts_start(store *st)
{
    int src = sqlite3_exec(st->db, outbox_counts_sql, NULL, NULL, NULL);
    return src == SQLITE_OK ? 0 : store_error(src) ? store_error(src) : OBLIGO_EDB;
}

int outbox_alert_counts(store *st, outbox_alert_count *out, int max, int *n)
{
    *n = 0;
    sqlite3_stmt *s = store_stmt(st, "SELECT kind, n FROM temp.obligo_alert_counts WHERE n > 0 "
                                     "ORDER BY n DESC, kind");
    if (!s) {
        int rc = store_error(sqlite3_errcode(st->db));
        return rc ? rc : OBLIGO_EDB;
    }
    int src;
    while ((src = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
        const char *kind = (const char *)sqlite3_column_text(s, 0);
        size_t len = kind ? strlen(kind) : 0;
        if (!kind || len >= OUTBOX_KIND_LEN)
            continue; /* left out rather than cut: no two series share a label */
        outbox_alert_count *a = &out[(*n)++];
        memcpy(a->kind, kind, len + 1);
        a->count = (uint64_t)sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        *n = 0;
        return store_error(src) ? store_error(src) : OBLIGO_EDB;
    }
    return 0;
}
