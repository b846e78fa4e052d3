/*
 * serve_reads.c — the daemon's GETs over the database: an event with its
 * decisions, the obligations, the alerts, the registers, and a breach with
 * its AP notification form (breach.h, apform.h). The loop thread
 * parses the parameters; a reader thread (reader.h) runs the query and
 * prints the answer with its own read-only connection.
 *
 * serve_read_run and what it calls run on a reader thread; everything else
 * in this file on the loop thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "alloc.h"
#include "apform.h"
#include "breach.h"
#include "clock.h"
#include "journal.h"
#include "json.h"
#include "obligations.h"
#include "outbox.h"
#include "registers.h"
#include "serve_internal.h"

/* ---- reads ---------------------------------------------------------------- */

const char *serve_query(const char *q, const char *name, char *buf, size_t n)
{
    size_t len = strlen(name);
    for (const char *p = q; p && *p;) {
        const char *amp = strchr(p, '&');
        const char *end = amp ? amp : p + strlen(p);
        if ((size_t)(end - p) > len && strncmp(p, name, len) == 0 && p[len] == '=') {
            size_t o = 0;
            for (const char *c = p + len + 1; c < end && o + 1 < n; c++) {
                if (*c == '%' && end - c > 2) {
                    char hex[3] = {c[1], c[2], 0};
                    buf[o++] = (char)strtol(hex, NULL, 16);
                    c += 2;
                } else if (*c == '+') {
                    buf[o++] = ' ';
                } else {
                    buf[o++] = *c;
                }
            }
            buf[o] = '\0';
            return buf;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

/* A paging parameter: a non-negative integer, or the default. */
static int serve_int_param(const char *q, const char *name, long long def, long long max,
                           long long *out)
{
    char buf[32];
    const char *v = serve_query(q, name, buf, sizeof buf);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end || end == v || n < 0 || n > max)
        return -1;
    *out = n;
    return 0;
}

/* Paging by the last id seen (after) with a limit, as every list has it.
 * Returns 0, or -1 after answering 400. */
static int serve_paging(serve_req *r, long long *after, long long *limit)
{
    const char *q = r->req->query;
    if (serve_int_param(q, "after", 0, INT64_MAX, after) ||
        serve_int_param(q, "limit", 1000, 10000, limit)) {
        serve_reply_error(r, 400, "after and limit must be whole numbers (limit at most 10000)",
                          NULL);
        return -1;
    }
    return 0;
}

/* The parameters every list shares: one time bound (due_before, since),
 * and paging by the last id seen (after) with a limit. Returns 0, or -1
 * after answering 400 naming the parameter. */
static int serve_list_params(serve_req *r, const char *time_name, obligo_time *t, long long *after,
                             long long *limit)
{
    char buf[64];
    const char *q = r->req->query;
    const char *v = serve_query(q, time_name, buf, sizeof buf);
    if (v && clock_parse_any(v, t)) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s must be an RFC 3339 time with offset", time_name);
        serve_reply_error(r, 400, msg, NULL);
        return -1;
    }
    return serve_paging(r, after, limit);
}

/* ---- reads, on the reader threads ------------------------------------------
 *
 * The loop thread parses a GET's parameters into a serve_read and hands it
 * to the reader pool (reader.h); a reader thread runs the query and prints
 * the answer with its own read-only connection; the loop writes it out
 * (serve_on_read). Each answer is at most max_answer_bytes: a larger one is
 * refused with 422 naming the cap (README, "Limits"). 422 and not 413: 413
 * is about the request's content (RFC 9110 §15.5.14) and would tell the
 * client to shrink a body it never sent, and a 5xx would invite retries
 * that cannot succeed; 422 says the request is well-formed but will not be
 * carried out as asked, and the message says what would: a smaller limit,
 * or a larger cap. */

typedef enum serve_read_kind {
    SERVE_READ_EVENT,
    SERVE_READ_OBLIGATIONS,
    SERVE_READ_ALERTS,
    SERVE_READ_REGISTER,
    SERVE_READ_REJECTED,
    SERVE_READ_BREACH,
    SERVE_READ_APFORM,
} serve_read_kind;

typedef struct serve_read {
    reader_job job; /* first: the pool hands this back */
    serve_pending p;
    serve_read_kind kind;
    size_t max_bytes;
    char b1[1024], b2[1024], b3[256]; /* source, id; or status, kind, subject */
    char *name;                       /* the register's name or the breach's key, owned */
    int has1, has2, has3;
    obligo_time t;
    long long after, limit;
    int history;
    int csv;           /* the AP form as CSV */
    char extra[1024];  /* the answer's extra header lines (job.extra) */
    int order;         /* order=due (obligations), order=newest (alerts, a register) */
    int has_after_due; /* obligations, order=due: the keyset's due_at */
    obligo_time after_due;
    long long before;        /* alerts, a register, newest first: seq < before (0: none) */
    outbox_ack acknowledged; /* alerts */
} serve_read;

/* Reader thread: the answer is `text` (taken over; NULL: out of memory)
 * unless it is larger than the cap. */
static void serve_read_answer(serve_read *rd, int status, char *text, const char *what)
{
    size_t len = text ? strlen(text) : 0;
    if (text && len > rd->max_bytes) {
        cJSON_free(text);
        char msg[320];
        snprintf(msg, sizeof msg,
                 "the answer would be %zu bytes, more than max_answer_bytes (%zu) allows; %s", len,
                 rd->max_bytes, what);
        text = serve_error_body(msg, -1, NULL);
        status = 422;
        len = text ? strlen(text) : 0;
    }
    rd->job.status = text ? status : 500;
    rd->job.body = text;
    rd->job.len = len;
}

static void serve_read_json(serve_read *rd, int status, cJSON *body, const char *what)
{
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    serve_read_answer(rd, status, text, what);
}

static void serve_read_error(serve_read *rd, int status, const char *message)
{
    serve_read_answer(rd, status, serve_error_body(message, -1, NULL), "");
}

/* GET /v1/events/{source}/{id}: the journaled event and its decisions. */
static void serve_read_event(serve_read *rd, store *st)
{
    sqlite3_stmt *q = store_stmt(st, "SELECT seq,raw,received_at,ruleset FROM events "
                                     "WHERE source=?1 AND id=?2");
    if (!q) {
        serve_read_error(rd, 500, "database error");
        return;
    }
    sqlite3_bind_text(q, 1, rd->b1, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, rd->b2, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_ROW) {
        sqlite3_reset(q);
        serve_read_error(rd, 404, "no such event");
        return;
    }
    /* Refused before it is parsed: an event larger than the cap would
     * otherwise cost several times its size in memory first. */
    size_t raw_bytes = (size_t)sqlite3_column_bytes(q, 1);
    if (raw_bytes > rd->max_bytes) {
        sqlite3_reset(q);
        char msg[320];
        snprintf(msg, sizeof msg,
                 "the journaled event is %zu bytes, more than max_answer_bytes (%zu) allows in "
                 "one answer; raise max_answer_bytes to read it",
                 raw_bytes, rd->max_bytes);
        serve_read_error(rd, 422, msg);
        return;
    }
    int64_t seq = sqlite3_column_int64(q, 0);
    cJSON *out = cJSON_CreateObject();
    cJSON *ev = cJSON_Parse((const char *)sqlite3_column_text(q, 1));
    char at[CLOCK_RFC3339_LEN];
    clock_format_utc(sqlite3_column_int64(q, 2), at);
    json_put(out, "event", ev ? ev : cJSON_CreateNull());
    cJSON_AddStringToObject(out, "received_at", at);
    cJSON_AddStringToObject(out, "ruleset", (const char *)sqlite3_column_text(q, 3));
    sqlite3_reset(q);
    cJSON *decisions = actions_decisions_of(st, seq);
    cJSON_AddItemToObject(out, "decisions", decisions ? decisions : cJSON_CreateArray());
    serve_read_json(rd, 200, out, "raise max_answer_bytes to read this event");
}

/* The 404 or 500 of a breach read that found nothing to give. */
static void serve_read_breach_error(serve_read *rd, int err)
{
    char msg[1200];
    if (err == BREACH_NOT_FOUND)
        snprintf(msg, sizeof msg, "no breach '%s' in the register " BREACH_REGISTER, rd->name);
    else
        snprintf(msg, sizeof msg, "database error reading breach '%s'", rd->name);
    serve_read_error(rd, err == BREACH_NOT_FOUND ? 404 : 500, msg);
}

/* The key as a file name: every byte outside [A-Za-z0-9._-] becomes '_'. */
static void serve_read_file_name(const char *key, char *out, size_t n)
{
    size_t o = 0;
    for (const char *c = key; *c && o + 1 < n; c++)
        out[o++] = (char)(strchr("._-", *c) || (*c >= 'a' && *c <= 'z') ||
                                  (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')
                              ? *c
                              : '_');
    out[o] = '\0';
}

/* GET /v1/breaches/{key}/ap-form[?format=csv]: the form as JSON, or as the
 * CSV of `--ap-form --csv` with the UTF-8 byte order mark (Excel) as an
 * attachment. */
static void serve_read_apform(serve_read *rd, store *st)
{
    int err = 0;
    cJSON *form = apform_build(st, rd->name, &err);
    if (!form) {
        serve_read_breach_error(rd, err);
        return;
    }
    if (!rd->csv) {
        serve_read_json(rd, 200, form, "raise max_answer_bytes to read this form");
        return;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (mem) {
        apform_print_csv(form, mem, 1);
        fclose(mem);
    }
    cJSON_Delete(form);
    char file[256];
    serve_read_file_name(rd->name, file, sizeof file);
    snprintf(rd->extra + strlen(rd->extra), sizeof rd->extra - strlen(rd->extra),
             "Content-Disposition: attachment; filename=\"ap-melding-%s.csv\"\r\n", file);
    /* open_memstream's buffer is malloc'ed; the answer is freed with obligo_free */
    char *body = text ? obligo_strdup(text) : NULL;
    free(text);
    serve_read_answer(rd, 200, body, "raise max_answer_bytes to read this form");
    if (rd->job.status == 200) {
        rd->job.content_type = "text/csv; charset=utf-8";
        rd->job.extra = rd->extra;
    }
}

static void serve_read_breach(serve_read *rd, store *st)
{
    int err = 0;
    cJSON *b = breach_read(st, rd->name, &err);
    if (!b) {
        serve_read_breach_error(rd, err);
        return;
    }
    serve_read_json(rd, 200, b, "raise max_answer_bytes to read this breach");
}

static void serve_read_run(reader_job *job, store *st)
{
    serve_read *rd = (serve_read *)job;
    static const char fewer[] = "ask for fewer rows with limit";
    switch (rd->kind) {
    case SERVE_READ_EVENT:
        serve_read_event(rd, st);
        return;
    case SERVE_READ_OBLIGATIONS: {
        obligations_filter f = {
            .status = rd->has1 ? rd->b1 : NULL,
            .kind = rd->has2 ? rd->b2 : NULL,
            .subject = rd->has3 ? rd->b3 : NULL,
            .due_before = rd->t,
            .after_id = rd->after,
            .limit = (int)rd->limit,
            .order_due = rd->order,
            .has_after_due = rd->has_after_due,
            .after_due = rd->after_due,
        };
        serve_read_json(rd, 200, obligations_list(st, &f), fewer);
        return;
    }
    case SERVE_READ_ALERTS: {
        outbox_filter f = {.kind = rd->has2 ? rd->b2 : NULL,
                           .since = rd->t,
                           .after_seq = rd->after,
                           .limit = (int)rd->limit,
                           .severity = rd->has1 ? rd->b1 : NULL,
                           .acknowledged = rd->acknowledged,
                           .newest = rd->order,
                           .before_seq = rd->before};
        serve_read_json(rd, 200, outbox_list(st, &f), fewer);
        return;
    }
    case SERVE_READ_REJECTED:
        serve_read_json(rd, 200, journal_rejected_list(st, rd->t, rd->after, (int)rd->limit),
                        fewer);
        return;
    case SERVE_READ_BREACH:
        serve_read_breach(rd, st);
        return;
    case SERVE_READ_APFORM:
        serve_read_apform(rd, st);
        return;
    case SERVE_READ_REGISTER: {
        const char *name = rd->name;
        int limit = (int)rd->limit;
        cJSON *rows = rd->history && rd->order
                          ? registers_history_newest(st, name, rd->before, limit)
                      : rd->history ? registers_history(st, name, rd->after, limit)
                      : rd->order   ? registers_newest(st, name, rd->before, limit)
                                    : registers_list(st, name, 0);
        serve_read_json(rd, 200, rows,
                        rd->history || rd->order ? fewer
                                                 : "raise max_answer_bytes to read this register");
        return;
    }
    }
}

static void serve_read_free(serve_read *rd)
{
    obligo_free(rd->job.body);
    obligo_free(rd->name);
    obligo_free(rd);
}

/* A new read for this request, or NULL after answering 503. */
static serve_read *serve_read_new(serve_req *r, serve_read_kind kind)
{
    serve_read *rd = obligo_calloc(1, sizeof *rd);
    if (!rd) {
        serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        return NULL;
    }
    rd->job.run = serve_read_run;
    rd->kind = kind;
    rd->max_bytes = r->s->cfg->max_answer_bytes;
    rd->p.s = r->s;
    rd->p.ex = r->ex;
    rd->p.route = r->route;
    rd->p.t0 = r->t0;
    rd->p.console = r->console;
    snprintf(rd->extra, sizeof rd->extra, "%s", r->console ? SERVE_CONSOLE_HEADERS : "");
    snprintf(rd->p.method, sizeof rd->p.method, "%s", r->req->method);
    snprintf(rd->p.peer, sizeof rd->p.peer, "%s", r->req->peer ? r->req->peer : "");
    return rd;
}

/* Hands the read to a reader thread (taken over). */
static void serve_read_submit(serve_req *r, serve_read *rd)
{
    if (reader_submit(r->s->readers, &rd->job) != 0) {
        serve_read_free(rd);
        serve_reply_error(r, 503, "too many reads are waiting; retry shortly",
                          "Retry-After: 1\r\n");
    }
}

/* Loop thread: a reader thread finished. */
void serve_on_read(reader_job *job, void *ud)
{
    serve *s = ud;
    serve_read *rd = (serve_read *)job;
    serve_pending *p = &rd->p;
    if (job->body) {
        http_respond(p->ex, job->status, job->content_type ? job->content_type : "application/json",
                     job->body, job->len,
                     job->extra   ? job->extra
                     : p->console ? SERVE_CONSOLE_HEADERS
                                  : NULL);
        serve_log(s, p->peer, p->method, p->route, job->status, job->len, p->t0);
    } else {
        serve_send(s, p->ex, p->peer, p->method, p->route, p->t0, 500,
                   "{\"error\":\"out of memory\"}", NULL);
    }
    serve_read_free(rd);
}

/* 400 naming the parameter: "NAME must be WHAT". Returns -1. */
static int serve_bad_param(serve_req *r, const char *name, const char *what)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s must be %s", name, what);
    serve_reply_error(r, 400, msg, NULL);
    return -1;
}

/* order=WORD, the one ordering a list offers besides its default: 1 when
 * asked for, 0 when absent, or -1 after answering 400. */
static int serve_order_param(serve_req *r, const char *word)
{
    char buf[32], what[48];
    const char *v = serve_query(r->req->query, "order", buf, sizeof buf);
    if (!v)
        return 0;
    if (strcmp(v, word) == 0)
        return 1;
    snprintf(what, sizeof what, "%s (or left out)", word);
    return serve_bad_param(r, "order", what);
}

/* A comma list of known words (statuses, severities); valid is
 * obligations_statuses or outbox_severities. 1 when given, 0 when absent,
 * or -1 after answering 400 with the words it may hold. */
static int serve_list_param(serve_req *r, const char *name, char *buf, size_t n,
                            int (*valid)(const char *, unsigned *), const char *words)
{
    if (!serve_query(r->req->query, name, buf, n))
        return 0;
    if (valid(buf, NULL) == 0)
        return 1;
    char what[160];
    snprintf(what, sizeof what, "one of %s, or several separated by commas", words);
    return serve_bad_param(r, name, what);
}

/* order=due and its keyset: after_due (an RFC 3339 time) and after (the
 * id) together name the last row seen; the page holds the rows strictly
 * after that (due_at, id). Returns 0, or -1 after answering 400. */
static int serve_due_keyset(serve_req *r, serve_read *rd)
{
    char buf[64];
    const char *q = r->req->query;
    const char *v = serve_query(q, "after_due", buf, sizeof buf);
    if ((rd->order = serve_order_param(r, "due")) < 0)
        return -1;
    if (v && !rd->order)
        return serve_bad_param(r, "after_due", "used with order=due");
    if (v && clock_parse_any(v, &rd->after_due))
        return serve_bad_param(r, "after_due", "an RFC 3339 time with offset");
    char a[32];
    int has_after = serve_query(q, "after", a, sizeof a) != NULL;
    if (rd->order && has_after != (v != NULL))
        return serve_bad_param(r, v ? "after" : "after_due",
                               "given with order=due whenever the other of after_due and "
                               "after is (the last row's due_at and id)");
    rd->has_after_due = v != NULL;
    return 0;
}

void serve_get_obligations(serve_req *r)
{
    serve_read *rd = serve_read_new(r, SERVE_READ_OBLIGATIONS);
    if (!rd)
        return;
    const char *q = r->req->query;
    rd->has2 = serve_query(q, "kind", rd->b2, 256) != NULL;
    rd->has3 = serve_query(q, "subject", rd->b3, sizeof rd->b3) != NULL;
    if ((rd->has1 = serve_list_param(r, "status", rd->b1, 256, obligations_statuses,
                                     "open, fulfilled, overdue, late, cancelled")) < 0 ||
        serve_due_keyset(r, rd) ||
        serve_list_params(r, "due_before", &rd->t, &rd->after, &rd->limit)) {
        serve_read_free(rd);
        return;
    }
    serve_read_submit(r, rd);
}

/* order=newest with before=<seq>: a page of the newest rows before the
 * last seen. Returns 0, or -1 after answering 400. */
static int serve_newest_params(serve_req *r, serve_read *rd)
{
    if ((rd->order = serve_order_param(r, "newest")) < 0)
        return -1;
    if (serve_int_param(r->req->query, "before", 0, INT64_MAX, &rd->before))
        return serve_bad_param(r, "before", "a whole number (the seq of the last row seen)");
    return 0;
}

void serve_get_alerts(serve_req *r)
{
    serve_read *rd = serve_read_new(r, SERVE_READ_ALERTS);
    if (!rd)
        return;
    const char *q = r->req->query;
    char ack[8];
    const char *a = serve_query(q, "acknowledged", ack, sizeof ack);
    if (a && strcmp(a, "0") != 0 && strcmp(a, "1") != 0) {
        serve_bad_param(r, "acknowledged", "0 or 1");
        serve_read_free(rd);
        return;
    }
    rd->acknowledged = !a ? OUTBOX_ACK_ANY : a[0] == '1' ? OUTBOX_ACK_YES : OUTBOX_ACK_NO;
    rd->has2 = serve_query(q, "kind", rd->b2, 256) != NULL;
    if ((rd->has1 = serve_list_param(r, "severity", rd->b1, 256, outbox_severities,
                                     "info, warning, critical")) < 0 ||
        serve_newest_params(r, rd) ||
        serve_list_params(r, "since", &rd->t, &rd->after, &rd->limit)) {
        serve_read_free(rd);
        return;
    }
    serve_read_submit(r, rd);
}

void serve_get_rejected(serve_req *r)
{
    serve_read *rd = serve_read_new(r, SERVE_READ_REJECTED);
    if (!rd)
        return;
    if (serve_list_params(r, "since", &rd->t, &rd->after, &rd->limit)) {
        serve_read_free(rd);
        return;
    }
    serve_read_submit(r, rd);
}

/* GET /v1/registers/{name}[?history=1]: the history is paged like the
 * other lists, by the last seq seen; ?order=newest pages the current
 * entries (or, with history=1, the versions) newest first, by
 * before=<seq>. */
void serve_get_register(serve_req *r, const char *name)
{
    serve_read *rd = serve_read_new(r, SERVE_READ_REGISTER);
    if (!rd)
        return;
    char h[8];
    const char *hist = serve_query(r->req->query, "history", h, sizeof h);
    rd->history = hist && strcmp(hist, "0") != 0;
    if (serve_newest_params(r, rd) ||
        ((rd->history || rd->order) && serve_paging(r, &rd->after, &rd->limit))) {
        serve_read_free(rd);
        return;
    }
    if (!(rd->name = obligo_strdup(name))) {
        serve_read_free(rd);
        serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        return;
    }
    serve_read_submit(r, rd);
}

/* GET /v1/events/{source}/{id}: the last path segment is the id, the rest
 * the source (percent-decoded by the server). ?source=&id= works too, for
 * identifiers that contain '/'. */
void serve_get_event(serve_req *r, const char *rest)
{
    serve_read *rd = serve_read_new(r, SERVE_READ_EVENT);
    if (!rd)
        return;
    const char *source = serve_query(r->req->query, "source", rd->b1, sizeof rd->b1);
    const char *id = serve_query(r->req->query, "id", rd->b2, sizeof rd->b2);
    if (!source || !id) {
        const char *slash = strrchr(rest, '/');
        if (!slash || slash == rest || !slash[1] || (size_t)(slash - rest) >= sizeof rd->b1) {
            serve_read_free(rd);
            serve_reply_error(r, 404, "use /v1/events/{source}/{id}", NULL);
            return;
        }
        memcpy(rd->b1, rest, (size_t)(slash - rest));
        rd->b1[slash - rest] = '\0';
        snprintf(rd->b2, sizeof rd->b2, "%s", slash + 1);
    }
    serve_read_submit(r, rd);
}

/* GET /v1/breaches/{key} and /v1/breaches/{key}/ap-form: the key is the
 * rest of the path, percent-decoded by the server, so a key holding '/' is
 * sent with it encoded (%2F) or plain; a last segment "ap-form" asks for
 * the form. */
void serve_get_breach(serve_req *r, const char *rest)
{
    static const char form[] = "/ap-form";
    size_t len = strlen(rest), flen = sizeof form - 1;
    int is_form = len > flen && strcmp(rest + len - flen, form) == 0;
    serve_read *rd = serve_read_new(r, is_form ? SERVE_READ_APFORM : SERVE_READ_BREACH);
    if (!rd)
        return;
    char fmt[16];
    const char *format = serve_query(r->req->query, "format", fmt, sizeof fmt);
    if (format && (!is_form || (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0))) {
        serve_read_free(rd);
        serve_reply_error(r, 400,
                          is_form ? "format must be csv or json"
                                  : "format applies to /v1/breaches/{key}/ap-form only",
                          NULL);
        return;
    }
    rd->csv = format && strcmp(format, "csv") == 0;
    if (!(rd->name = obligo_strndup(rest, is_form ? len - flen : len))) {
        serve_read_free(rd);
        serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        return;
    }
    serve_read_submit(r, rd);
}
