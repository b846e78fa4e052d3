/*
 * serve.c — the daemon (serve.h): its start, its loop, its signals and its
 * stop; the deadline timer; the answers and the access log; and what
 * becomes of each job the writer finishes.
 *
 * The loop thread (libuv) owns the HTTP server (transport_http.c), a read-only
 * database connection for GET requests and token checks, one timer armed for
 * the earliest deadline, and the signal handlers. It parses and validates
 * every request, then hands the work to the writer thread (writer.c), which
 * group-commits; a request is answered only when its own events are on disk.
 * The requests are routed in serve_routes.c (POSTs of events in
 * serve_events.c, GETs in serve_reads.c); rules are reloaded in
 * serve_reload.c, watched in serve_watch.c; alerts go out from the thread
 * of serve_deliver.c. Those files share serve_internal.h.
 *
 * Everything in this file runs on the loop thread.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include <uv.h>

#include "alloc.h"
#include "clock.h"
#include "error.h"
#include "metrics.h"
#include "serve.h"
#include "serve_internal.h"

/* Deadlines are re-checked at least this often so a jump of the wall clock
 * is noticed (DESIGN §5). */
#define SERVE_RECHECK_MS 60000

/* ---- answers and the access log ------------------------------------------ */

/* The access log names routes, not paths, and no query strings: those can
 * carry client ids, which are personal data. */
void serve_log(serve *s, const char *peer, const char *method, const char *route, int status,
               size_t bytes, uint64_t t0)
{
    if (status >= 100 && status < 600)
        s->responses[status / 100]++;
    if (s->access) {
        fprintf(s->access, "access %s %s %s %d %zuB %.2fms\n", peer, method, route, status, bytes,
                (double)(uv_hrtime() - t0) / 1e6);
        s->access_dirty = 1;
    }
}

/* One write per loop turn instead of one per request: the log costs the
 * hot path a memcpy, not a system call. */
static void serve_flush_access(uv_check_t *h)
{
    serve *s = h->data;
    if (s->access_dirty) {
        fflush(s->access);
        s->access_dirty = 0;
    }
}

void serve_send(serve *s, http_exchange *ex, const char *peer, const char *method,
                const char *route, uint64_t t0, int status, const char *body, const char *extra)
{
    size_t len = strlen(body);
    http_respond(ex, status, "application/json", body, len, extra);
    serve_log(s, peer, method, route, status, len, t0);
}

void serve_pending_send(serve *s, const serve_pending *p, int status, const char *body,
                        const char *extra)
{
    char headers[2048];
    if (p->console) {
        snprintf(headers, sizeof headers, "%s%s", SERVE_CONSOLE_HEADERS, extra ? extra : "");
        extra = headers;
    }
    serve_send(s, p->ex, p->peer, p->method, p->route, p->t0, status, body, extra);
}

char *serve_error_body(const char *message, int index, const char *field)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "error", message);
    if (index >= 0) {
        cJSON_AddNumberToObject(b, "index", index);
        if (field)
            cJSON_AddStringToObject(b, "field", field);
        else
            cJSON_AddNullToObject(b, "field");
    }
    char *text = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    return text;
}

void serve_reply(serve_req *r, int status, const char *body, const char *extra)
{
    char headers[2048];
    if (r->console) {
        snprintf(headers, sizeof headers, "%s%s", SERVE_CONSOLE_HEADERS, extra ? extra : "");
        extra = headers;
    }
    serve_send(r->s, r->ex, r->req->peer, r->req->method, r->route, r->t0, status, body, extra);
}

void serve_reply_error(serve_req *r, int status, const char *message, const char *extra)
{
    if (r->fhir) {
        serve_fhir_reply_error(r, status, message, extra);
        return;
    }
    char *body = serve_error_body(message, -1, NULL);
    serve_reply(r, status, body ? body : "{}", extra);
    cJSON_free(body);
}

serve_pending *serve_pending_new(serve_req *r)
{
    serve_pending *p = obligo_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->s = r->s;
    p->ex = r->ex;
    p->route = r->route;
    p->t0 = r->t0;
    p->fhir = r->fhir;
    p->console = r->console;
    snprintf(p->method, sizeof p->method, "%s", r->req->method);
    snprintf(p->peer, sizeof p->peer, "%s", r->req->peer ? r->req->peer : "");
    return p;
}

void serve_pending_free(serve_pending *p)
{
    if (!p)
        return;
    obligo_free(p->body_400);
    serve_fhir_answer_free(p->fhir_answer);
    obligo_free(p);
}

/* ---- deadlines ------------------------------------------------------------ */

static void serve_submit_fire(serve *s, obligo_time late_before)
{
    if (s->fire_pending || s->stopping)
        return;
    writer_job *j = writer_job_new(WRITER_FIRE, NULL);
    if (!j)
        return;
    j->late_before = late_before;
    if (writer_submit(s->w, j) == 0)
        s->fire_pending = 1;
    else
        writer_job_free(j);
}

static void serve_on_deadline(uv_timer_t *t)
{
    serve_submit_fire(t->data, 0);
}

/* Arms the one timer for the earliest deadline the writer reported. */
static void serve_arm(serve *s)
{
    if (s->stopping)
        return;
    obligo_time at;
    uint64_t ms = SERVE_RECHECK_MS;
    if (writer_next_due(s->w, &at)) {
        /* to the millisecond: a deadline at second T fires as T begins,
         * not up to a second later */
        int64_t now_ms = clock_now_ms();
        int64_t at_ms = (int64_t)at * 1000;
        uint64_t until = at_ms <= now_ms ? 0 : (uint64_t)(at_ms - now_ms);
        if (until < ms)
            ms = until;
    }
    uv_timer_start(&s->deadline, serve_on_deadline, ms, 0);
}

/* ---- results from the writer ---------------------------------------------- */

static void serve_metrics_reply(serve_pending *p, writer_job *j);

/* Room the filesystem holding the database must have for /healthz to say
 * ok. */
#define SERVE_MIN_FREE_BYTES (1024ULL * 1024)

/* Why the database's filesystem cannot take events, or NULL. The health
 * write alone does not tell: on a full disk a write of one page can still
 * commit into space the write-ahead log already holds (the frames of a
 * commit that failed for lack of room) while every POST is refused with
 * 503. */
static const char *serve_disk_problem(const serve *s)
{
    struct statvfs vfs;
    if (statvfs(s->cfg->db_path, &vfs) != 0)
        return NULL; /* the health write decided */
    if (vfs.f_flag & ST_RDONLY)
        return "the database's filesystem is read-only";
    /* root may use the blocks reserved for it, others may not */
    unsigned long long room =
        (unsigned long long)(geteuid() == 0 ? vfs.f_bfree : vfs.f_bavail) * vfs.f_frsize;
    return room < SERVE_MIN_FREE_BYTES ? "the disk holding the database is full" : NULL;
}

static void serve_on_done(writer_job *j, void *ud)
{
    serve *s = ud;
    serve_pending *p = j->ud;
    char buf[128];
    if (!p && j->kind != WRITER_FIRE) {
        /* an entry of a FHIR batch, kept while the good ones go on */
        if (j->rc)
            fprintf(stderr, "obligo serve: could not keep a rejected event: %s\n",
                    obligo_strerror(j->rc));
        writer_job_free(j);
        return;
    }
    switch (j->kind) {
    case WRITER_EVENTS:
        if (p->fhir_answer) {
            serve_fhir_done(s, p, j);
        } else if (j->rc == 0 && j->conflicts && j->n == 1) {
            /* one event, and its identity names another: nothing accepted */
            cJSON *only = cJSON_DetachItemFromArray(j->refused, 0);
            cJSON_DeleteItemFromObjectCaseSensitive(only, "index");
            char *body = only ? cJSON_PrintUnformatted(only) : NULL;
            cJSON_Delete(only);
            serve_pending_send(s, p, body ? 409 : 500,
                               body ? body : "{\"error\":\"out of memory\"}", NULL);
            cJSON_free(body);
        } else if (j->rc == 0 && j->conflicts) {
            cJSON *o = cJSON_CreateObject();
            char *body = NULL;
            if (o && cJSON_AddNumberToObject(o, "accepted", (double)j->accepted) &&
                cJSON_AddNumberToObject(o, "duplicates", (double)j->duplicates) &&
                cJSON_AddNumberToObject(o, "conflicts", (double)j->conflicts) &&
                cJSON_AddItemReferenceToObject(o, "refused", j->refused))
                body = cJSON_PrintUnformatted(o);
            cJSON_Delete(o);
            serve_pending_send(s, p, body ? 202 : 500,
                               body ? body : "{\"error\":\"out of memory\"}", NULL);
            cJSON_free(body);
        } else if (j->rc == 0) {
            snprintf(buf, sizeof buf, "{\"accepted\":%ld,\"duplicates\":%ld}", j->accepted,
                     j->duplicates);
            serve_pending_send(s, p, 202, buf, NULL);
        } else if (j->rc == OBLIGO_EFULL || j->rc == OBLIGO_EBUSY || j->rc == OBLIGO_ENOMEM) {
            serve_pending_send(
                s, p, 503, "{\"error\":\"the engine cannot store events right now; retry later\"}",
                "Retry-After: 5\r\n");
        } else {
            snprintf(buf, sizeof buf, "{\"error\":\"%s\"}", obligo_strerror(j->rc));
            serve_pending_send(s, p, 500, buf, NULL);
        }
        break;
    case WRITER_REJECT:
        /* the input was bad whether or not it could be kept */
        if (j->rc)
            fprintf(stderr, "obligo serve: could not keep a rejected event: %s\n",
                    obligo_strerror(j->rc));
        if (p->fhir) {
            const char *b = p->body_400 ? p->body_400 : "{\"resourceType\":\"OperationOutcome\"}";
            http_respond(p->ex, 400, SERVE_FHIR_MEDIA, b, strlen(b), NULL);
            serve_log(s, p->peer, p->method, p->route, 400, strlen(b), p->t0);
        } else {
            serve_pending_send(s, p, 400, p->body_400 ? p->body_400 : "{}", NULL);
        }
        break;
    case WRITER_HEALTH: {
        const char *why = j->rc ? "the database is not writable" : serve_disk_problem(s);
        if (!why) {
            serve_pending_send(s, p, 200, "{\"status\":\"ok\"}", NULL);
        } else {
            snprintf(buf, sizeof buf, "{\"status\":\"%s\"}", why);
            serve_pending_send(s, p, 503, buf, "Retry-After: 5\r\n");
        }
        break;
    }
    case WRITER_STATS:
        serve_metrics_reply(p, j);
        break;
    case WRITER_DUTIES:
        serve_pending_send(s, p, j->message ? 200 : 503,
                           j->message ? j->message : "{\"error\":\"out of memory; retry later\"}",
                           NULL);
        break;
    case WRITER_RELOAD:
        fprintf(stderr, "obligo serve: %s\n", j->message ? j->message : "reload");
        serve_reload_done(s, j);
        p = NULL; /* the run's requests were answered */
        break;
    case WRITER_FIRE:
        s->fire_pending = 0;
        break;
    }
    serve_pending_free(p);
    writer_job_free(j);
    serve_arm(s); /* a commit may have armed an earlier deadline */
}

void serve_submit(serve_req *r, writer_job *j, serve_pending *p)
{
    j->ud = p;
    size_t limit = r->s->cfg->max_queue_events ? r->s->cfg->max_queue_events : 65536;
    if (j->kind == WRITER_EVENTS && (size_t)j->n > limit) {
        /* Retrying would never help: this request can never fit. */
        writer_job_free(j);
        obligo_free(p);
        char msg[160];
        snprintf(msg, sizeof msg, "a request may carry at most %zu events; split it", limit);
        serve_reply_error(r, 413, msg, NULL);
        return;
    }
    int rc = writer_submit(r->s->w, j);
    if (rc == 0)
        return;
    /* The queue is full: the sender is told to come back; nothing is
     * dropped because nothing was acknowledged. */
    writer_job_free(j);
    serve_pending_free(p);
    serve_reply_error(r, 503, "the engine is busy; retry shortly", "Retry-After: 1\r\n");
}

/* ---- /metrics ------------------------------------------------------------- */

static void serve_metrics_reply(serve_pending *p, writer_job *j)
{
    serve *s = p->s;
    metrics_snapshot m;
    memset(&m, 0, sizeof m);
    m.events_accepted = (uint64_t)j->stats.accepted;
    m.events_rejected = (uint64_t)j->stats.rejected;
    m.events_duplicate = (uint64_t)j->stats.duplicates;
    m.events_conflict = (uint64_t)j->stats.conflicts;
    m.rule_errors = (uint64_t)j->stats.rule_errors;
    m.deadlines_fired = (uint64_t)j->stats.fired;
    m.obligations_open = (uint64_t)j->obligations[0];
    m.obligations_fulfilled = (uint64_t)j->obligations[1];
    m.obligations_overdue = (uint64_t)j->obligations[2];
    m.obligations_late = (uint64_t)j->obligations[3];
    m.obligations_cancelled = (uint64_t)j->obligations[4];
    memcpy(m.alerts, j->alerts, sizeof m.alerts);
    m.nalerts = j->nalerts;
    m.outbox_backlog = (uint64_t)(j->outbox_backlog < 0 ? 0 : j->outbox_backlog);
    m.open_connections = s->http ? http_server_connections(s->http) : 0;
    if (s->http) {
        http_server_stats hs;
        http_server_stats_get(s->http, &hs);
        m.http_buffered_body_bytes = hs.buffered_body_bytes;
        m.http_buffered_body_bytes_peak = hs.buffered_body_bytes_peak;
        m.http_bodies_waiting = hs.bodies_waiting;
    }
    m.http_buffered_body_bytes_limit = s->cfg->max_buffered_body_bytes;
    m.http_2xx = s->responses[2];
    m.http_4xx = s->responses[4];
    m.http_5xx = s->responses[5];
    m.commit_seconds = j->commit_seconds;
    m.queue_events = writer_queued_events(s->w);
    snprintf(m.rules_revision, sizeof m.rules_revision, "%s", j->revision);
    m.replay_running = s->replaying != NULL;
    m.replays = s->replays;
    char *text = metrics_render(&m);
    if (text) {
        size_t len = strlen(text);
        http_respond(p->ex, 200, "text/plain; version=0.0.4", text, len, NULL);
        serve_log(s, p->peer, p->method, p->route, 200, len, p->t0);
        obligo_free(text);
    } else {
        serve_pending_send(s, p, 500, "{\"error\":\"out of memory\"}", NULL);
    }
}

/* ---- start and stop ------------------------------------------------------- */

static void serve_http_closed(void *arg)
{
    serve *s = arg;
    s->http = NULL;
    /* every request was answered, reads too; the writer finishes what it
     * holds, then the outbox thread delivers what the last commits raised */
    reader_stop(s->readers);
    s->readers = NULL;
    writer_stop(s->w);
    s->w = NULL;
    serve_deliverer_stop(s);
}

static void serve_on_signal(uv_signal_t *sig, int signum)
{
    serve *s = sig->data;
    if (signum == SIGHUP) {
        if (!s->stopping && s->w)
            serve_reload_request(s, NULL);
        return;
    }
    if (s->stopping)
        return;
    s->stopping = 1;
    sd_notify(0, "STOPPING=1\nSTATUS=finishing in-flight requests");
    atomic_store(&s->reload_cancel, 1);
    atomic_store(&s->replay_cancel, 1);
    fprintf(stderr,
            "obligo serve: %s received: no new connections; finishing in-flight "
            "requests\n",
            signum == SIGTERM ? "SIGTERM" : "SIGINT");
    uv_timer_stop(&s->deadline);
    uv_close((uv_handle_t *)&s->deadline, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sighup, NULL);
    if (s->access)
        uv_close((uv_handle_t *)&s->flush, NULL); /* fclose at exit writes the rest */
    serve_watch_stop(s);
    http_server_stop(s->http, serve_http_closed, s);
}

static void serve_walk_close(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Starts the reader threads, the outbox thread and the writer, in that
 * order. Returns 0, or a negative code after saying why on stderr with
 * the threads it started stopped again. */
static int serve_start_threads(serve *s)
{
    char *err = NULL;
    int rr = reader_start(&s->loop, s->cfg->db_path, s->cfg->reader_threads, serve_on_read, s,
                          &s->readers, &err);
    if (rr) {
        fprintf(stderr, "obligo serve: %s\n", err ? err : obligo_strerror(rr));
        obligo_free(err);
        return rr;
    }
    int dr = serve_deliverer_start(s);
    if (dr) {
        reader_stop(s->readers);
        s->readers = NULL;
        return dr;
    }
    int wr = writer_start(&s->loop, s->e, s->cfg->max_queue_events, serve_on_done, s, &s->w, &err);
    if (wr) {
        fprintf(stderr, "obligo serve: cannot start the writer thread: %s\n",
                err ? err : obligo_strerror(wr));
        obligo_free(err);
        serve_deliverer_stop(s);
        reader_stop(s->readers);
        s->readers = NULL;
        return wr;
    }
    writer_on_commit(s->w, serve_committed);
    writer_set_commit_interval(s->w, s->cfg->commit_interval_ms / 1000.0);
    return 0;
}

/* The loop's other handles: the access log's flush, the signals, the
 * gate's wake-up and the rule watcher. */
static void serve_start_handles(serve *s)
{
    if (s->cfg->access_log) {
        int fd = dup(2);
        s->access = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (s->access) {
            setvbuf(s->access, NULL, _IOFBF, 1 << 16);
            uv_check_init(&s->loop, &s->flush);
            s->flush.data = s;
            uv_check_start(&s->flush, serve_flush_access);
        }
    }
    uv_signal_init(&s->loop, &s->sigterm);
    uv_signal_init(&s->loop, &s->sigint);
    uv_signal_init(&s->loop, &s->sighup);
    uv_async_init(&s->loop, &s->reload_done, serve_on_reload_done);
    s->reload_done.data = s;
    uv_unref((uv_handle_t *)&s->reload_done); /* referenced while a gate runs */
    uv_async_init(&s->loop, &s->replay_done, serve_on_replay_done);
    s->replay_done.data = s;
    uv_unref((uv_handle_t *)&s->replay_done); /* referenced while a replay runs */
    s->sigterm.data = s->sigint.data = s->sighup.data = s;
    uv_signal_start(&s->sigterm, serve_on_signal, SIGTERM);
    uv_signal_start(&s->sigint, serve_on_signal, SIGINT);
    uv_signal_start(&s->sighup, serve_on_signal, SIGHUP);
    if (s->cfg->watch_rules) {
        uv_timer_init(&s->loop, &s->debounce);
        s->debounce.data = s;
        s->watching = 1;
        serve_watch_dir(s, s->cfg->rules_dir, 0);
    }
}

int serve_run(const config *cfg, engine *e, const char *host, int port)
{
    serve *s = obligo_calloc(1, sizeof *s);
    if (!s)
        return OBLIGO_ENOMEM;
    s->cfg = cfg;
    s->e = e;
    char *err = NULL;
    int rc = store_open(&s->rd, s->cfg->db_path, 1, &err);
    if (rc) {
        fprintf(stderr, "obligo serve: %s\n", err ? err : "cannot open the database to read");
        obligo_free(err);
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Each connection is a descriptor: raise the soft limit to the hard one
     * so thousands of idle keep-alive clients do not starve new ones. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    int lr = uv_loop_init(&s->loop);
    if (lr) {
        fprintf(stderr, "obligo serve: cannot create the event loop: %s\n", uv_strerror(lr));
        rc = error_from_uv(lr);
        goto out_rd;
    }
    s->started = clock_now();
    /* Initialised before anything can call serve_arm (each writer result
     * does), so the timer is a valid handle whatever fails later. */
    uv_timer_init(&s->loop, &s->deadline);
    s->deadline.data = s;

    /* The address is taken first: a daemon that cannot listen starts no
     * thread and writes nothing (the deadlines that fell due while it was
     * stopped wait for one that can). */
    http_limits limits = {.max_body_bytes = s->cfg->max_body_bytes,
                          .max_connections = s->cfg->max_connections,
                          .max_buffered_body_bytes = s->cfg->max_buffered_body_bytes,
                          .max_connections_per_client = s->cfg->max_connections_per_client};
    rc = http_server_listen(&s->loop, host, port, &limits, serve_handle, s, &s->http, &err);
    if (rc == 0)
        http_server_on_head(s->http, serve_head);
    if (rc) {
        fprintf(stderr, "obligo serve: cannot listen on %s: %s\n", s->cfg->listen,
                err ? err : obligo_strerror(rc));
        obligo_free(err);
        goto out_loop;
    }
    serve_rules_start(s); /* before the writer owns the rules */
    if ((rc = serve_contract_start(s, host, http_server_port(s->http))) != 0 ||
        (rc = serve_start_threads(s)) != 0)
        goto out_loop;
    /* what fell due while the engine was stopped fires now, marked late */
    serve_submit_fire(s, s->started);

    serve_start_handles(s);
    serve_reload_survey(s);
    serve_arm(s);
    fprintf(stderr, "obligo serve: listening on http://%s:%d (database %s, rules %s revision %s)\n",
            host, http_server_port(s->http), s->cfg->db_path, s->cfg->rules_dir,
            rules_revision(s->e->rules));
    /* Type=notify: the database is open, the rules are live, the port
     * listens (a no-op outside systemd: no NOTIFY_SOCKET) */
    sd_notifyf(0, "READY=1\nSTATUS=listening on %s:%d, rules revision %s", host,
               http_server_port(s->http), rules_revision(s->e->rules));
    uv_run(&s->loop, UV_RUN_DEFAULT);
out_loop:
    if (s->http) {
        /* Listening, but a thread could not start. No connection was taken
         * (the loop has not run): the server is freed with its listener as
         * the loop below closes it. A server that ran is gone by now
         * (serve_http_closed). */
        http_server_stop(s->http, NULL, NULL);
        s->http = NULL;
    }
    uv_walk(&s->loop, serve_walk_close, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
    if (s->access)
        fclose(s->access);
out_rd:
    store_close(&s->rd);
    tokens_cache_free(&s->tokens);
    console_sessions_free(&s->sessions);
    serve_rules_free(s);
    serve_contract_free(s);
out:
    obligo_free(s);
    return rc;
}
