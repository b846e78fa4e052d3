/*
 * serve.c — `obligo serve`: the daemon. One libuv loop runs the HTTP server
 * (transport_http.c), one timer armed for the earliest deadline, and the
 * signal handlers; every request's events are committed before it is
 * answered.
 *
 * Depends on engine.c for the pipeline and on transport_http.c for framing.
 * Everything here runs on the loop thread.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "alloc.h"
#include "cli.h"
#include "cli_common.h"
#include "engine.h"
#include "error.h"
#include "obligations.h"
#include "outbox.h"
#include "registers.h"
#include "transport_http.h"

/* Deadlines are re-checked at least this often so a jump of the wall clock
 * is noticed (DESIGN §5). */
#define SERVE_RECHECK_MS 60000

typedef struct serve {
    uv_loop_t loop;
    uv_timer_t deadline;
    uv_signal_t sigterm, sigint;
    http_server *http;
    engine e;
    config cfg;
    obligo_time started;
    int stopping;
} serve;

static obligo_time serve_now(void)
{
    return (obligo_time)time(NULL);
}

static void serve_arm(serve *s);

/* Fires what is due and commits; used at start-up (late_before = the start
 * instant: what fell due before it fell due while the engine was stopped)
 * and by the timer (late_before = 0). */
static void serve_fire(serve *s, obligo_time late_before)
{
    engine *e = &s->e;
    obligo_time now = serve_now();
    if (now > e->now)
        e->now = now;
    int fired = 0;
    int rc = engine_begin(e);
    if (!rc)
        rc = engine_fire_due(e, e->now, late_before, &fired);
    if (!rc)
        rc = engine_commit(e);
    if (rc) {
        engine_rollback(e);
        fprintf(stderr, "obligo serve: firing deadlines failed: %s; retrying later\n",
                obligo_strerror(rc));
    } else if (fired) {
        engine_deliver(e);
    }
}

static void serve_on_deadline(uv_timer_t *t)
{
    serve *s = t->data;
    serve_fire(s, 0);
    serve_arm(s);
}

static void serve_arm(serve *s)
{
    if (s->stopping)
        return;
    obligo_time at;
    uint64_t ms = SERVE_RECHECK_MS;
    if (engine_next_due(&s->e, &at) == 1) {
        obligo_time now = serve_now();
        uint64_t until = at <= now ? 0 : (uint64_t)(at - now) * 1000;
        if (until < ms)
            ms = until;
    }
    uv_timer_start(&s->deadline, serve_on_deadline, ms, 0);
}

/* ---- responses ------------------------------------------------------------ */

static void serve_json(http_exchange *ex, int status, cJSON *body, const char *extra)
{
    char *text = cJSON_PrintUnformatted(body);
    if (text)
        http_respond(ex, status, "application/json", text, strlen(text), extra);
    else
        http_respond(ex, 500, "application/json", "{\"error\":\"out of memory\"}", 25, NULL);
    cJSON_free(text);
    cJSON_Delete(body);
}

static void serve_error(http_exchange *ex, int status, const char *message, int index,
                        const char *field, const char *extra)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "error", message);
    if (index >= 0)
        cJSON_AddNumberToObject(b, "index", index);
    if (field)
        cJSON_AddStringToObject(b, "field", field);
    else if (index >= 0)
        cJSON_AddNullToObject(b, "field");
    serve_json(ex, status, b, extra);
}

/* ---- POST /v1/events ------------------------------------------------------ */

typedef struct serve_item {
    const char *raw;
    size_t len;
    char *owned; /* raw text printed from a batch element */
    cJSON *ev;
} serve_item;

static void serve_items_free(serve_item *items, int n)
{
    for (int i = 0; i < n; i++) {
        cJSON_free(items[i].owned);
        cJSON_Delete(items[i].ev);
    }
    obligo_free(items);
}

/* Splits the body into raw events by content type. Returns the count, or -1
 * with *why set (a static text) for a body that is not of its type. */
static int serve_split(const http_request *req, serve_item **out, const char **why)
{
    const char *ct = req->content_type;
    serve_item *items = NULL;
    int n = 0, cap = 0;
    *why = NULL;
#define SERVE_PUSH(r, l, o)                                                                        \
    do {                                                                                           \
        if (n == cap) {                                                                            \
            cap = cap ? cap * 2 : 16;                                                              \
            serve_item *ni = obligo_realloc(items, (size_t)cap * sizeof *ni);                      \
            if (!ni) {                                                                             \
                *why = "out of memory";                                                            \
                goto fail;                                                                         \
            }                                                                                      \
            items = ni;                                                                            \
        }                                                                                          \
        items[n].raw = (r);                                                                        \
        items[n].len = (l);                                                                        \
        items[n].owned = (o);                                                                      \
        items[n].ev = NULL;                                                                        \
        n++;                                                                                       \
    } while (0)
    if (strcmp(ct, "application/cloudevents+json") == 0) {
        SERVE_PUSH(req->body, req->body_len, NULL);
    } else if (strcmp(ct, "application/x-ndjson") == 0) {
        const char *p = req->body, *end = req->body + req->body_len;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *stop = nl ? nl : end;
            const char *a = p, *b = stop;
            while (a < b && (*a == ' ' || *a == '\t' || *a == '\r'))
                a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
                b--;
            if (b > a)
                SERVE_PUSH(a, (size_t)(b - a), NULL);
            p = nl ? nl + 1 : end;
        }
    } else if (strcmp(ct, "application/cloudevents-batch+json") == 0) {
        cJSON *arr = cJSON_ParseWithLength(req->body, req->body_len);
        if (!cJSON_IsArray(arr)) {
            cJSON_Delete(arr);
            *why = "a batch must be a JSON array of CloudEvents";
            goto fail;
        }
        for (cJSON *c = arr->child; c; c = c->next) {
            char *text = cJSON_PrintUnformatted(c);
            if (!text) {
                cJSON_Delete(arr);
                *why = "out of memory";
                goto fail;
            }
            SERVE_PUSH(text, strlen(text), text);
        }
        cJSON_Delete(arr);
    } else {
        obligo_free(items);
        return -2;
    }
#undef SERVE_PUSH
    *out = items;
    return n;
fail:
    serve_items_free(items, n);
    return -1;
}

static void serve_post_events(serve *s, const http_request *req, http_exchange *ex)
{
    engine *e = &s->e;
    serve_item *items = NULL;
    const char *why;
    int n = serve_split(req, &items, &why);
    if (n == -2) {
        serve_error(ex, 415,
                    "use application/cloudevents+json, application/cloudevents-batch+json or "
                    "application/x-ndjson",
                    -1, NULL, NULL);
        return;
    }
    if (n < 0) {
        serve_error(ex, 400, why, -1, NULL, NULL);
        return;
    }
    obligo_time now = serve_now();
    if (now > e->now)
        e->now = now;
    /* Validate everything first: a request is accepted whole or not at all. */
    for (int i = 0; i < n; i++) {
        char *field = NULL, *reason = NULL;
        items[i].ev = engine_decode(e, items[i].raw, items[i].len, &field, &reason);
        if (!items[i].ev) {
            char origin[64];
            snprintf(origin, sizeof origin, "http %s[%d]", req->path, i);
            if (engine_begin(e) == 0) {
                if (engine_reject(e, origin, items[i].raw, items[i].len, field,
                                  reason ? reason : "invalid") == 0)
                    engine_commit(e);
                else
                    engine_rollback(e);
            }
            serve_error(ex, 400, reason ? reason : "invalid event", i, field, NULL);
            obligo_free(field);
            obligo_free(reason);
            serve_items_free(items, n);
            return;
        }
    }
    long accepted0 = e->stats.accepted, dup0 = e->stats.duplicates;
    int rc = engine_begin(e);
    for (int i = 0; i < n && !rc; i++) {
        int dup = 0;
        rc = engine_event(e, items[i].ev, items[i].raw, items[i].len, &dup);
    }
    if (!rc)
        rc = engine_commit(e);
    serve_items_free(items, n);
    if (rc) {
        engine_rollback(e);
        e->stats.accepted = accepted0;
        e->stats.duplicates = dup0;
        if (rc == OBLIGO_EFULL || rc == OBLIGO_EBUSY)
            serve_error(ex, 503, "the engine cannot store events right now; retry later", -1, NULL,
                        "Retry-After: 5\r\n");
        else
            serve_error(ex, 500, obligo_strerror(rc), -1, NULL, NULL);
        return;
    }
    cJSON *b = cJSON_CreateObject();
    cJSON_AddNumberToObject(b, "accepted", (double)(e->stats.accepted - accepted0));
    cJSON_AddNumberToObject(b, "duplicates", (double)(e->stats.duplicates - dup0));
    serve_json(ex, 202, b, NULL);
    engine_deliver(e);
    serve_arm(s); /* a new obligation may be due before the armed one */
}

/* ---- reads ---------------------------------------------------------------- */

/* The value of name in a query string, decoded into buf; NULL if absent. */
static const char *serve_query(const char *q, const char *name, char *buf, size_t n)
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
                } else {
                    buf[o++] = *c == '+' ? ' ' : *c;
                }
            }
            buf[o] = '\0';
            return buf;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static void serve_get(serve *s, const http_request *req, http_exchange *ex)
{
    char b1[256], b2[256], b3[256], b4[64], b5[32], b6[32];
    store *st = &s->e.st;
    if (strcmp(req->path, "/v1/obligations") == 0) {
        obligations_filter f = {
            .status = serve_query(req->query, "status", b1, sizeof b1),
            .kind = serve_query(req->query, "kind", b2, sizeof b2),
            .subject = serve_query(req->query, "subject", b3, sizeof b3),
        };
        const char *due = serve_query(req->query, "due_before", b4, sizeof b4);
        if (due && clock_parse_any(due, &f.due_before)) {
            serve_error(ex, 400, "due_before must be an RFC 3339 time", -1, "due_before", NULL);
            return;
        }
        const char *after = serve_query(req->query, "after", b5, sizeof b5);
        const char *limit = serve_query(req->query, "limit", b6, sizeof b6);
        f.after_id = after ? atoll(after) : 0;
        f.limit = limit ? atoi(limit) : 1000;
        serve_json(ex, 200, obligations_list(st, &f), NULL);
    } else if (strcmp(req->path, "/v1/alerts") == 0) {
        outbox_filter f = {.kind = serve_query(req->query, "kind", b2, sizeof b2)};
        const char *since = serve_query(req->query, "since", b4, sizeof b4);
        if (since && clock_parse_any(since, &f.since)) {
            serve_error(ex, 400, "since must be an RFC 3339 time", -1, "since", NULL);
            return;
        }
        const char *after = serve_query(req->query, "after", b5, sizeof b5);
        const char *limit = serve_query(req->query, "limit", b6, sizeof b6);
        f.after_seq = after ? atoll(after) : 0;
        f.limit = limit ? atoi(limit) : 1000;
        serve_json(ex, 200, outbox_list(st, &f), NULL);
    } else if (strncmp(req->path, "/v1/registers/", 14) == 0 && req->path[14]) {
        const char *h = serve_query(req->query, "history", b1, sizeof b1);
        serve_json(ex, 200, registers_list(st, req->path + 14, h && strcmp(h, "0") != 0), NULL);
    } else {
        serve_error(ex, 404, "no such resource", -1, NULL, NULL);
    }
}

static void serve_handle(void *ud, const http_request *req, http_exchange *ex)
{
    serve *s = ud;
    int get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
    if (strcmp(req->path, "/healthz") == 0) {
        if (!get) {
            serve_error(ex, 405, "use GET", -1, NULL, "Allow: GET\r\n");
        } else if (store_writable(&s->e.st)) {
            http_respond(ex, 200, "application/json", "{\"status\":\"ok\"}", 15, NULL);
        } else {
            serve_error(ex, 503, "the database is not writable", -1, NULL, "Retry-After: 5\r\n");
        }
        return;
    }
    /* No tokens exist yet (API tokens come with the HTTP API work), so only
     * clients on this machine are served, as DESIGN §4 requires. */
    if (!req->peer_is_loopback) {
        serve_error(ex, 403, "only loopback clients are served until API tokens exist", -1, NULL,
                    NULL);
        return;
    }
    if (strcmp(req->path, "/v1/events") == 0) {
        if (!post)
            serve_error(ex, 405, "use POST", -1, NULL, "Allow: POST\r\n");
        else
            serve_post_events(s, req, ex);
        return;
    }
    if (!get) {
        serve_error(ex, strncmp(req->path, "/v1/", 4) == 0 ? 405 : 404, "not found", -1, NULL,
                    NULL);
        return;
    }
    serve_get(s, req, ex);
}

/* ---- start and stop ------------------------------------------------------- */

static void serve_closed(void *arg)
{
    serve *s = arg;
    s->http = NULL;
}

static void serve_walk_close(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void serve_on_signal(uv_signal_t *sig, int signum)
{
    serve *s = sig->data;
    if (s->stopping)
        return;
    s->stopping = 1;
    fprintf(stderr, "obligo serve: %s received, finishing in-flight requests\n",
            signum == SIGTERM ? "SIGTERM" : "SIGINT");
    uv_timer_stop(&s->deadline);
    uv_signal_stop(&s->sigterm);
    uv_signal_stop(&s->sigint);
    uv_close((uv_handle_t *)&s->deadline, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    if (s->http)
        http_server_stop(s->http, serve_closed, s);
}

static int serve_split_listen(const char *listen, char *host, size_t n, int *port)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || (size_t)(colon - listen) >= n)
        return OBLIGO_EINVAL;
    const char *h = listen;
    size_t hl = (size_t)(colon - listen);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 0 || p > 65535)
        return OBLIGO_EINVAL;
    *port = (int)p;
    return 0;
}

static const char serve_usage[] =
    "usage: obligo serve [--config F] [--db F] [--rules DIR] [--listen ADDR:PORT]\n"
    "Runs the daemon: POST /v1/events, GET /v1/obligations, /v1/alerts,\n"
    "/v1/registers/NAME, /healthz; fires deadlines. Defaults: --db var/obligo.db,\n"
    "--rules rules, --listen 127.0.0.1:8787.\n";

int cli_serve(int argc, char **argv)
{
    cli_opts o;
    int prc = cli_parse(argc, argv, &o, serve_usage);
    if (prc)
        return prc > 0 ? 0 : 2;
    serve *s = obligo_calloc(1, sizeof *s);
    if (!s)
        return 2;
    if (cli_open(&o, &s->cfg, &s->e, 0)) {
        obligo_free(s);
        return 2;
    }
    char host[128];
    int port, rc = 2;
    if (serve_split_listen(s->cfg.listen, host, sizeof host, &port)) {
        fprintf(stderr, "obligo serve: --listen '%s' is not ADDR:PORT\n", s->cfg.listen);
        goto out_engine;
    }
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&s->loop);
    s->started = serve_now();
    serve_fire(s, s->started); /* what fell due while stopped fires now, marked late */

    http_limits limits = {.max_body_bytes = s->cfg.max_body_bytes};
    int hr = http_server_start(&s->loop, host, port, &limits, serve_handle, s, &s->http);
    if (hr) {
        fprintf(stderr, "obligo serve: cannot listen on %s: %s\n", s->cfg.listen,
                hr < -10 ? uv_strerror(hr) : obligo_strerror(hr));
        goto out_loop;
    }
    uv_timer_init(&s->loop, &s->deadline);
    s->deadline.data = s;
    uv_signal_init(&s->loop, &s->sigterm);
    uv_signal_init(&s->loop, &s->sigint);
    s->sigterm.data = s->sigint.data = s;
    uv_signal_start(&s->sigterm, serve_on_signal, SIGTERM);
    uv_signal_start(&s->sigint, serve_on_signal, SIGINT);
    serve_arm(s);
    fprintf(stderr, "obligo serve: listening on http://%s:%d (database %s, rules %s revision %s)\n",
            host, http_server_port(s->http), s->cfg.db_path, s->cfg.rules_dir,
            rules_revision(s->e.rules));
    uv_run(&s->loop, UV_RUN_DEFAULT);
    rc = 0;
out_loop:
    uv_walk(&s->loop, serve_walk_close, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
out_engine:
    engine_deliver(&s->e);
    engine_close(&s->e);
    config_free(&s->cfg);
    obligo_free(s);
    return rc;
}
