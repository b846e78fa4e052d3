/*
 * serve.c — `obligo serve`: the daemon.
 *
 * The loop thread (libuv) owns the HTTP server (transport_http.c), a read-only
 * database connection for GET requests and token checks, one timer armed for
 * the earliest deadline, and the signal handlers. It parses and validates
 * every request, then hands the work to the writer thread (writer.c), which
 * group-commits; a request is answered only when its own events are on disk.
 *
 * Everything in this file runs on the loop thread.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/statvfs.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "alloc.h"
#include "json.h"
#include "cli.h"
#include "cli_common.h"
#include "engine.h"
#include "error.h"
#include "gate.h"
#include "journal.h"
#include "metrics.h"
#include "obligations.h"
#include "outbox.h"
#include "reader.h"
#include "registers.h"
#include "tokens.h"
#include "transport_http.h"
#include "writer.h"

/* Deadlines are re-checked at least this often so a jump of the wall clock
 * is noticed (DESIGN §5). */
#define SERVE_RECHECK_MS 60000

/* The 415 message of POST /v1/events (serve_head and serve_post_events). */
#define SERVE_EVENTS_MEDIA                                                                         \
    "use application/cloudevents+json, application/cloudevents-batch+json or "                     \
    "application/x-ndjson"

/* The outbox thread: hands committed alerts to their sinks (plugin sinks
 * such as the webhook may take seconds) with its own database connection,
 * woken after each commit and at least every second for retries. */
typedef struct serve_deliverer {
    uv_thread_t thread;
    uv_mutex_t lock;
    uv_cond_t wake;
    int pending, stopping, running;
    store st;
    const config *cfg;
    const plugins *plugins;
} serve_deliverer;

typedef struct serve {
    uv_loop_t loop;
    uv_timer_t deadline;
    uv_signal_t sigterm, sigint, sighup;
    http_server *http;
    writer *w;
    engine e;             /* belongs to the writer thread while it runs */
    store rd;             /* read-only connection for this thread: token checks */
    reader_pool *readers; /* the GETs that read the database (reader.h) */
    tokens_cache tokens;  /* the tokens table as of at most a second ago */
    config cfg;
    obligo_time started;
    int stopping, fire_pending;
    unsigned long responses[6]; /* by status class: 1xx..5xx */
    FILE *access;               /* the access log: stderr, fully buffered */
    int access_dirty;
    uv_check_t flush; /* writes the access log out once per loop turn */
    unsigned long validation_rejects;
    serve_deliverer out;
    /* Rule files are watched (inotify through libuv); a change reloads the
     * rules once things have been quiet for half a second. */
    uv_fs_event_t **watches;
    int nwatches;
    uv_timer_t debounce;
    int watching;
    /* The reload gate runs on a thread of its own (serve_reload_start),
     * which wakes the loop through reload_done when it ends. */
    uv_async_t reload_done;
    atomic_int reload_cancel;           /* set when stopping: the gate ends early */
    struct serve_reload *reloading;     /* the run under way, or NULL */
    struct serve_pending **reload_next; /* requests the next run answers */
    int nreload_next;
    int reload_again; /* a reload was asked for during the run under way */
} serve;

/* A request whose answer waits for the writer. */
typedef struct serve_pending {
    serve *s;
    http_exchange *ex;
    char method[8];
    const char *route; /* static: the route, never a path with identifiers */
    char peer[64];
    uint64_t t0;
    char *body_400; /* WRITER_REJECT: the 400 answer to give once the input is kept */
} serve_pending;

/* ---- answers and the access log ------------------------------------------ */

/* The access log names routes, not paths, and no query strings: those can
 * carry client ids, which are personal data. */
static void serve_log(serve *s, const char *peer, const char *method, const char *route, int status,
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

static void serve_send(serve *s, http_exchange *ex, const char *peer, const char *method,
                       const char *route, uint64_t t0, int status, const char *body,
                       const char *extra)
{
    size_t len = strlen(body);
    http_respond(ex, status, "application/json", body, len, extra);
    serve_log(s, peer, method, route, status, len, t0);
}

static char *serve_error_body(const char *message, int index, const char *field)
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

typedef struct serve_req {
    serve *s;
    const http_request *req;
    http_exchange *ex;
    const char *route;
    uint64_t t0;
} serve_req;

static void serve_reply(serve_req *r, int status, const char *body, const char *extra)
{
    serve_send(r->s, r->ex, r->req->peer, r->req->method, r->route, r->t0, status, body, extra);
}

static void serve_reply_error(serve_req *r, int status, const char *message, const char *extra)
{
    char *body = serve_error_body(message, -1, NULL);
    serve_reply(r, status, body ? body : "{}", extra);
    cJSON_free(body);
}

static serve_pending *serve_pending_new(serve_req *r)
{
    serve_pending *p = obligo_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->s = r->s;
    p->ex = r->ex;
    p->route = r->route;
    p->t0 = r->t0;
    snprintf(p->method, sizeof p->method, "%s", r->req->method);
    snprintf(p->peer, sizeof p->peer, "%s", r->req->peer ? r->req->peer : "");
    return p;
}

/* ---- alert delivery -------------------------------------------------------- */

static void serve_deliver_main(void *arg)
{
    serve_deliverer *d = arg;
    pthread_setname_np(pthread_self(), "obligo-deliver");
    for (;;) {
        uv_mutex_lock(&d->lock);
        while (!d->pending && !d->stopping) {
            if (uv_cond_timedwait(&d->wake, &d->lock, 1000u * 1000u * 1000u) == UV_ETIMEDOUT)
                break;
        }
        int stop = d->stopping;
        d->pending = 0;
        uv_mutex_unlock(&d->lock);
        outbox_deliver(&d->st, (const char *const *)d->cfg->sinks, d->cfg->nsinks, d->plugins);
        if (stop)
            break; /* that was the last pass */
    }
}

/* Writer thread: a commit happened. */
static void serve_committed(void *ud)
{
    serve_deliverer *d = &((serve *)ud)->out;
    uv_mutex_lock(&d->lock);
    d->pending = 1;
    uv_cond_signal(&d->wake);
    uv_mutex_unlock(&d->lock);
}

/* Opens the outbox thread's connection and starts the thread. Returns 0,
 * or a negative code after saying why on stderr. */
static int serve_deliverer_start(serve *s)
{
    serve_deliverer *d = &s->out;
    char *err = NULL;
    d->cfg = &s->cfg;
    d->plugins = s->e.plugins;
    int rc = store_open(&d->st, s->cfg.db_path, 0, &err);
    if (rc) {
        fprintf(stderr, "obligo serve: %s\n", err ? err : "cannot open the database");
        obligo_free(err);
        return rc;
    }
    /* It reads the outbox a page or two at a time: the writer's large
     * page cache would only add to the resident size. */
    sqlite3_exec(d->st.db, "PRAGMA cache_size=-4096", NULL, NULL, NULL);
    rc = uv_mutex_init(&d->lock);
    if (rc == 0 && (rc = uv_cond_init(&d->wake)) != 0)
        uv_mutex_destroy(&d->lock);
    if (rc == 0 && (rc = uv_thread_create(&d->thread, serve_deliver_main, d)) != 0) {
        uv_cond_destroy(&d->wake);
        uv_mutex_destroy(&d->lock);
    }
    if (rc) {
        fprintf(stderr, "obligo serve: cannot start the alert delivery thread: %s\n",
                uv_strerror(rc));
        store_close(&d->st);
        return error_from_uv(rc);
    }
    d->running = 1;
    return 0;
}

static void serve_deliverer_stop(serve *s)
{
    serve_deliverer *d = &s->out;
    if (!d->running)
        return;
    uv_mutex_lock(&d->lock);
    d->stopping = 1;
    uv_cond_signal(&d->wake);
    uv_mutex_unlock(&d->lock);
    uv_thread_join(&d->thread);
    uv_cond_destroy(&d->wake);
    uv_mutex_destroy(&d->lock);
    store_close(&d->st);
    d->running = 0;
}

/* ---- watching the rules ------------------------------------------------------ */

#define SERVE_RELOAD_QUIET_MS 500

static void serve_reload_request(serve *s, serve_pending *p);

static void serve_on_debounce(uv_timer_t *t)
{
    serve *s = t->data;
    if (s->stopping || !s->w)
        return;
    serve_reload_request(s, NULL);
}

static void serve_on_rules_changed(uv_fs_event_t *h, const char *filename, int events, int status)
{
    serve *s = h->data;
    /* Editors write temporary files beside the real one; only .lua files
     * count, and a burst of writes is one change. */
    size_t n = filename ? strlen(filename) : 0;
    if (status < 0 || s->stopping || (filename && (n < 4 || strcmp(filename + n - 4, ".lua"))))
        return;
    uv_timer_start(&s->debounce, serve_on_debounce, SERVE_RELOAD_QUIET_MS, 0);
}

static void serve_watch_dir(serve *s, const char *dir, int depth)
{
    uv_fs_event_t *h = obligo_calloc(1, sizeof *h);
    uv_fs_event_t **nw =
        h ? obligo_realloc(s->watches, sizeof *nw * (size_t)(s->nwatches + 1)) : NULL;
    if (!nw) {
        obligo_free(h);
        return;
    }
    s->watches = nw;
    uv_fs_event_init(&s->loop, h);
    h->data = s;
    if (uv_fs_event_start(h, serve_on_rules_changed, dir, 0) != 0) {
        uv_close((uv_handle_t *)h, (uv_close_cb)obligo_free);
        return;
    }
    s->watches[s->nwatches++] = h;
    DIR *d = depth < 8 ? opendir(dir) : NULL;
    struct dirent *ent;
    while (d && (ent = readdir(d))) {
        if (ent->d_name[0] == '.')
            continue;
        char *p = obligo_asprintf("%s/%s", dir, ent->d_name);
        struct stat sb;
        if (p && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
            serve_watch_dir(s, p, depth + 1);
        obligo_free(p);
    }
    if (d)
        closedir(d);
}

static void serve_watch_stop(serve *s)
{
    for (int i = 0; i < s->nwatches; i++)
        uv_close((uv_handle_t *)s->watches[i], (uv_close_cb)obligo_free);
    obligo_free(s->watches);
    s->watches = NULL;
    s->nwatches = 0;
    if (s->watching)
        uv_close((uv_handle_t *)&s->debounce, NULL);
    s->watching = 0;
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
#define SERVE_MIN_FREE_BYTES (1024 * 1024)

/* Why the database's filesystem cannot take events, or NULL. The health
 * write alone does not tell: on a full disk a write of one page can still
 * commit into space the write-ahead log already holds (the frames of a
 * commit that failed for lack of room) while every POST is refused with
 * 503. */
static const char *serve_disk_problem(const serve *s)
{
    struct statvfs vfs;
    if (statvfs(s->cfg.db_path, &vfs) != 0)
        return NULL; /* the health write decided */
    if (vfs.f_flag & ST_RDONLY)
        return "the database's filesystem is read-only";
    /* root may use the blocks reserved for it, others may not */
    unsigned long long room =
        (unsigned long long)(geteuid() == 0 ? vfs.f_bfree : vfs.f_bavail) * vfs.f_frsize;
    return room < SERVE_MIN_FREE_BYTES ? "the disk holding the database is full" : NULL;
}

/* ---- reloading the rules ---------------------------------------------------
 *
 * A reload (a rule file saved, SIGHUP, POST /v1/rules/reload) runs the gate
 * (gate.h: read, compile, check, test) on a thread of its own, then hands
 * its outcome to the writer as a WRITER_RELOAD job, which swaps the set in
 * between two groups: events keep being committed while the gate works. One
 * run at a time; a request made during a run is answered by the next run,
 * which starts when this one ends, so it always sees the files as they
 * were after it asked. */

typedef struct serve_reload {
    uv_thread_t thread;
    atomic_int finished; /* set by the gate's thread as its last act */
    serve *s;
    plugins *plugins;        /* the engine's, loaded once at start-up */
    serve_pending **waiting; /* the requests this run answers */
    int nwaiting;
    rules *fresh;
    char *why;
    int rc;
} serve_reload;

static void serve_reload_answer(serve *s, serve_reload *rl, int status, const char *body)
{
    for (int i = 0; i < rl->nwaiting; i++) {
        serve_pending *p = rl->waiting[i];
        serve_send(s, p->ex, p->peer, p->method, p->route, p->t0, status, body,
                   status == 503 ? "Retry-After: 5\r\n" : NULL);
        obligo_free(p->body_400);
        obligo_free(p);
    }
    obligo_free(rl->waiting);
    rl->waiting = NULL;
    rl->nwaiting = 0;
}

static void serve_reload_free(serve *s, serve_reload *rl)
{
    serve_reload_answer(s, rl, 503,
                        "{\"error\":\"the rules could not be reloaded now; retry later\"}");
    rules_free(rl->fresh);
    obligo_free(rl->why);
    obligo_free(rl);
}

/* The gate's thread. A reload is background work: the thread runs at the
 * lowest priority, so that on a busy machine the events being committed
 * keep their share of the CPU and the gate takes longer instead. */
#define SERVE_GATE_NICE 19

static void serve_reload_main(void *arg)
{
    serve_reload *rl = arg;
    pthread_setname_np(pthread_self(), "obligo-gate");
    /* On Linux a nice value belongs to a thread (setpriority on its tid).
     * Should it fail, the gate runs at normal priority: still correct. */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), SERVE_GATE_NICE);
    rl->rc = gate_prepare(&rl->s->cfg, rl->plugins, &rl->s->reload_cancel, &rl->fresh, &rl->why);
    atomic_store(&rl->finished, 1);
    uv_async_send(&rl->s->reload_done);
}

static void serve_reload_start(serve *s);

/* On the loop thread once the gate's thread has finished: the outcome goes
 * to the writer to be put into effect. */
static void serve_on_reload_done(uv_async_t *a)
{
    serve *s = a->data;
    serve_reload *rl = s->reloading;
    if (!rl || !atomic_load(&rl->finished))
        return;
    uv_thread_join(&rl->thread);
    s->reloading = NULL;
    uv_unref((uv_handle_t *)&s->reload_done);
    writer_job *j = s->w && !s->stopping ? writer_job_new(WRITER_RELOAD, rl) : NULL;
    if (j) {
        j->fresh = rl->fresh;
        j->rc = rl->rc;
        j->message = rl->why;
        rl->fresh = NULL;
        rl->why = NULL;
    }
    if (!j || writer_submit(s->w, j) != 0) {
        if (j)
            j->ud = NULL;
        writer_job_free(j);
        serve_reload_free(s, rl); /* stopping: the running set stays */
    }
    if (s->reload_again || s->nreload_next)
        serve_reload_start(s); /* when stopping, it answers the requests 503 */
}

static void serve_reload_start(serve *s)
{
    serve_reload *rl = obligo_calloc(1, sizeof *rl);
    if (!rl) {
        serve_reload none = {.waiting = s->reload_next, .nwaiting = s->nreload_next};
        s->reload_next = NULL;
        s->nreload_next = 0;
        serve_reload_answer(s, &none, 503, "{\"error\":\"out of memory; retry later\"}");
        return;
    }
    rl->s = s;
    rl->plugins = s->e.plugins;
    rl->waiting = s->reload_next;
    rl->nwaiting = s->nreload_next;
    s->reload_next = NULL;
    s->nreload_next = 0;
    s->reload_again = 0;
    s->reloading = rl;
    if (s->stopping || !s->w || uv_thread_create(&rl->thread, serve_reload_main, rl) != 0) {
        s->reloading = NULL;
        serve_reload_free(s, rl);
        return;
    }
    uv_ref((uv_handle_t *)&s->reload_done); /* the loop waits for the gate */
}

/* Asks for a reload; p (may be NULL) is a request to answer with its
 * outcome, taken over. */
static void serve_reload_request(serve *s, serve_pending *p)
{
    if (p) {
        serve_pending **nw =
            obligo_realloc(s->reload_next, sizeof *nw * (size_t)(s->nreload_next + 1));
        if (!nw) {
            serve_send(s, p->ex, p->peer, p->method, p->route, p->t0, 503,
                       "{\"error\":\"out of memory; retry later\"}", "Retry-After: 1\r\n");
            obligo_free(p);
            return;
        }
        s->reload_next = nw;
        s->reload_next[s->nreload_next++] = p;
    }
    if (s->reloading)
        s->reload_again = 1;
    else
        serve_reload_start(s);
}

/* The writer put the outcome into effect: answer the run's requests. */
static void serve_reload_done(serve *s, writer_job *j)
{
    serve_reload *rl = j->ud;
    if (!rl)
        return;
    cJSON *b = cJSON_CreateObject();
    cJSON_AddBoolToObject(b, "reloaded", j->rc == 0);
    cJSON_AddStringToObject(b, j->rc ? "error" : "message", j->message ? j->message : "");
    char *text = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    serve_reload_answer(s, rl, j->rc ? 422 : 200, text ? text : "{}");
    cJSON_free(text);
    serve_reload_free(s, rl);
}

static void serve_on_done(writer_job *j, void *ud)
{
    serve *s = ud;
    serve_pending *p = j->ud;
    char buf[128];
    switch (j->kind) {
    case WRITER_EVENTS:
        if (j->rc == 0) {
            snprintf(buf, sizeof buf, "{\"accepted\":%ld,\"duplicates\":%ld}", j->accepted,
                     j->duplicates);
            serve_send(s, p->ex, p->peer, p->method, p->route, p->t0, 202, buf, NULL);
        } else if (j->rc == OBLIGO_EFULL || j->rc == OBLIGO_EBUSY || j->rc == OBLIGO_ENOMEM) {
            serve_send(s, p->ex, p->peer, p->method, p->route, p->t0, 503,
                       "{\"error\":\"the engine cannot store events right now; retry later\"}",
                       "Retry-After: 5\r\n");
        } else {
            snprintf(buf, sizeof buf, "{\"error\":\"%s\"}", obligo_strerror(j->rc));
            serve_send(s, p->ex, p->peer, p->method, p->route, p->t0, 500, buf, NULL);
        }
        break;
    case WRITER_REJECT:
        /* the input was bad whether or not it could be kept */
        if (j->rc)
            fprintf(stderr, "obligo serve: could not keep a rejected event: %s\n",
                    obligo_strerror(j->rc));
        serve_send(s, p->ex, p->peer, p->method, p->route, p->t0, 400,
                   p->body_400 ? p->body_400 : "{}", NULL);
        break;
    case WRITER_HEALTH: {
        const char *why = j->rc ? "the database is not writable" : serve_disk_problem(s);
        if (!why) {
            serve_send(s, p->ex, p->peer, p->method, p->route, p->t0, 200, "{\"status\":\"ok\"}",
                       NULL);
        } else {
            snprintf(buf, sizeof buf, "{\"status\":\"%s\"}", why);
            serve_send(s, p->ex, p->peer, p->method, p->route, p->t0, 503, buf,
                       "Retry-After: 5\r\n");
        }
        break;
    }
    case WRITER_STATS:
        serve_metrics_reply(p, j);
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
    if (p) {
        obligo_free(p->body_400);
        obligo_free(p);
    }
    writer_job_free(j);
    serve_arm(s); /* a commit may have armed an earlier deadline */
}

static void serve_submit(serve_req *r, writer_job *j, serve_pending *p)
{
    j->ud = p;
    size_t limit = r->s->cfg.max_queue_events ? r->s->cfg.max_queue_events : 65536;
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
    if (p) {
        obligo_free(p->body_400);
        obligo_free(p);
    }
    serve_reply_error(r, 503, "the engine is busy; retry shortly", "Retry-After: 1\r\n");
}

/* ---- POST /v1/events ------------------------------------------------------ */

/* Appends one raw event to the job, taking over `raw` (freed on failure).
 * Returns 0 or -1. */
static int serve_push(writer_job *j, int *cap, char *raw, size_t len)
{
    if (!raw)
        return -1;
    if (j->n == *cap) {
        int ncap = *cap ? *cap * 2 : 8;
        char **nr = obligo_realloc(j->raws, (size_t)ncap * sizeof *nr);
        if (nr)
            j->raws = nr;
        size_t *nl = nr ? obligo_realloc(j->lens, (size_t)ncap * sizeof *nl) : NULL;
        if (nl)
            j->lens = nl;
        if (!nr || !nl) {
            obligo_free(raw);
            return -1;
        }
        *cap = ncap;
    }
    j->raws[j->n] = raw;
    j->lens[j->n] = len;
    j->n++;
    return 0;
}

/* The bytes of element k of the JSON array text t (which cJSON parsed, so
 * it is valid JSON), without the blanks around it: *at and *n. 0, or -1
 * when there is no element k. */
static int serve_batch_element(const char *t, size_t len, int k, const char **at, size_t *n)
{
    const char *open = memchr(t, '[', len);
    if (!open)
        return -1;
    size_t start = (size_t)(open - t) + 1;
    int depth = 0, in_string = 0, escaped = 0, index = 0;
    for (size_t i = start; i < len; i++) {
        char ch = t[i];
        if (in_string) {
            if (escaped)
                escaped = 0;
            else if (ch == '\\')
                escaped = 1;
            else if (ch == '"')
                in_string = 0;
        } else if (ch == '"') {
            in_string = 1;
        } else if (depth == 0 && (ch == ',' || ch == ']')) {
            if (index == k) {
                size_t a = start, b = i;
                while (a < b && (t[a] == ' ' || t[a] == '\t' || t[a] == '\r' || t[a] == '\n'))
                    a++;
                while (b > a && (t[b - 1] == ' ' || t[b - 1] == '\t' || t[b - 1] == '\r' ||
                                 t[b - 1] == '\n'))
                    b--;
                *at = t + a;
                *n = b - a;
                return 0;
            }
            if (ch == ']')
                return -1;
            index++;
            start = i + 1;
        } else if (ch == '[' || ch == '{') {
            depth++;
        } else if (ch == ']' || ch == '}') {
            depth--;
        }
    }
    return -1;
}

/* Splits the body into raw events by content type, into the job. Returns
 * the count, -1 for a body that is not of its type (*why set), -2 for an
 * unsupported type. Not static: tests/fuzz/fuzz_ndjson.c (cli.h). */
int serve_split(const http_request *req, writer_job *j, const char **why)
{
    const char *ct = req->content_type;
    int cap = 0;
    *why = "out of memory";
    if (strcmp(ct, "application/cloudevents+json") == 0) {
        if (serve_push(j, &cap, obligo_strndup(req->body, req->body_len), req->body_len))
            return -1;
    } else if (strcmp(ct, "application/x-ndjson") == 0) {
        const char *p = req->body, *end = req->body + req->body_len;
        while (p < end) {
            const char *eol = memchr(p, '\n', (size_t)(end - p));
            const char *a = p, *b = eol ? eol : end;
            while (a < b && (*a == ' ' || *a == '\t' || *a == '\r'))
                a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
                b--;
            if (b > a && serve_push(j, &cap, obligo_strndup(a, (size_t)(b - a)), (size_t)(b - a)))
                return -1;
            p = eol ? eol + 1 : end;
        }
    } else if (strcmp(ct, "application/cloudevents-batch+json") == 0) {
        json_text_problem what;
        if (json_text_check(req->body, req->body_len, &what) >= 0) {
            *why = what == JSON_TEXT_RAW_CONTROL
                       ? "not valid JSON: a raw control character (such as a NUL byte); inside "
                         "a string write it escaped (\\n, \\t, \\u001f)"
                       : "a string holds \\u0000: strings may not contain U+0000, which could "
                         "not be kept";
            return -1;
        }
        cJSON *arr = cJSON_ParseWithLength(req->body, req->body_len);
        if (!cJSON_IsArray(arr)) {
            cJSON_Delete(arr);
            *why = "a batch must be a JSON array of CloudEvents";
            return -1;
        }
        /* each element is kept as printed: a batch's bytes are not split.
         * An element json_tree_check refuses is the exception: printed,
         * 1e400 would read null, so its own bytes go on and engine_decode
         * refuses them with their path, at their index, like any bad
         * event (one event per element, as for every batch). */
        int k = 0;
        for (cJSON *c = arr->child; c; c = c->next, k++) {
            char *field = NULL, *reason = NULL;
            int trc = json_tree_check(c, &field, &reason);
            obligo_free(field);
            obligo_free(reason);
            const char *at;
            size_t n;
            if (trc == OBLIGO_EINVAL &&
                serve_batch_element(req->body, req->body_len, k, &at, &n) == 0) {
                if (serve_push(j, &cap, obligo_strndup(at, n), n)) {
                    cJSON_Delete(arr);
                    return -1;
                }
                continue;
            }
            char *text = trc == OBLIGO_ENOMEM ? NULL : cJSON_PrintUnformatted(c);
            if (serve_push(j, &cap, text, text ? strlen(text) : 0)) {
                cJSON_Delete(arr);
                return -1;
            }
        }
        cJSON_Delete(arr);
    } else {
        return -2;
    }
    *why = NULL;
    return j->n;
}

/* An input adapter's emit: each converted event joins the job. */
static int serve_emit(void *ctx, const char *event_json, size_t len)
{
    void **pair = ctx; /* {job, &cap} */
    return serve_push(pair[0], pair[1], obligo_strndup(event_json, len), len) ? -1 : 0;
}

static void serve_validate_and_submit(serve_req *r, writer_job *j, int n);

/* POST to an input adapter's path (e.g. /v1/fhir/AuditEvent): the plugin
 * converts the document into catalogue events, which then go through the
 * same validation and commit as POST /v1/events. */
static void serve_post_adapter(serve_req *r, const plugins_adapter *a)
{
    if (strcmp(r->req->content_type, a->adapter.media_type) != 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "use %s", a->adapter.media_type);
        serve_reply_error(r, 415, msg, NULL);
        return;
    }
    int oom = 0;
    char *problem_field = NULL;
    char *problem = plugins_adapter_takes_json(a)
                        ? engine_json_problem(r->req->body, r->req->body_len, &problem_field, &oom)
                        : NULL;
    obligo_free(problem_field); /* the reason names the path */
    if (problem || oom) {
        if (problem)
            serve_reply_error(r, 400, problem, NULL);
        else
            serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        obligo_free(problem);
        return;
    }
    writer_job *j = writer_job_new(WRITER_EVENTS, NULL);
    if (!j) {
        serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        return;
    }
    int cap = 0;
    void *pair[2] = {j, &cap};
    char *path = NULL, *error = NULL, *body = NULL;
    int rc = a->adapter.convert(a->state, r->req->body, r->req->body_len, serve_emit, pair, &path,
                                &error, &body);
    if (rc != 0) {
        if (body) {
            /* the request is freed with its answer: read what the log needs
             * first */
            size_t len = strlen(body);
            const char *peer = r->req->peer, *method = r->req->method;
            http_respond(r->ex, 400, a->adapter.media_type, body, len, NULL);
            serve_log(r->s, peer, method, r->route, 400, len, r->t0);
        } else {
            char *b =
                serve_error_body(error ? error : "the document could not be converted", 0, path);
            serve_reply(r, 400, b ? b : "{}", NULL);
            cJSON_free(b);
        }
        obligo_free(path);
        obligo_free(error);
        obligo_free(body);
        writer_job_free(j);
        return;
    }
    obligo_free(path);
    obligo_free(error);
    obligo_free(body);
    serve_validate_and_submit(r, j, j->n);
}

static void serve_post_events(serve_req *r)
{
    writer_job *j = writer_job_new(WRITER_EVENTS, NULL);
    if (!j) {
        serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        return;
    }
    const char *why;
    int n = serve_split(r->req, j, &why);
    if (n == -2) {
        writer_job_free(j);
        serve_reply_error(r, 415, SERVE_EVENTS_MEDIA, NULL);
        return;
    }
    if (n < 0) {
        writer_job_free(j);
        serve_reply_error(r, 400, why, NULL);
        return;
    }
    serve_validate_and_submit(r, j, n);
}

/* Validates every event of the job, then submits it; or answers 400 for
 * the first bad one and keeps it in the rejected table. */
static void serve_validate_and_submit(serve_req *r, writer_job *j, int n)
{
    serve *s = r->s;
    if (n == 0) {
        writer_job_free(j);
        serve_reply(r, 202, "{\"accepted\":0,\"duplicates\":0}", NULL);
        return;
    }
    j->events = obligo_calloc((size_t)n, sizeof *j->events);
    if (!j->events) {
        writer_job_free(j);
        serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        return;
    }
    /* Everything is validated before anything is written: a request is
     * accepted whole or not at all. */
    for (int i = 0; i < n; i++) {
        char *field = NULL, *reason = NULL;
        j->events[i] = engine_decode(&s->e, j->raws[i], j->lens[i], &field, &reason);
        if (j->events[i])
            continue;
        s->validation_rejects++;
        writer_job *rej = writer_job_new(WRITER_REJECT, NULL);
        serve_pending *p = serve_pending_new(r);
        char *body = serve_error_body(reason ? reason : "invalid event", i, field);
        if (!rej || !p || !body) {
            writer_job_free(rej);
            obligo_free(p);
            serve_reply(r, 400, body ? body : "{\"error\":\"invalid event\"}", NULL);
            cJSON_free(body);
        } else {
            p->body_400 = body;
            rej->origin = obligo_asprintf("http %s[%d]", r->req->path, i);
            rej->field = field;
            rej->reason = reason;
            field = reason = NULL;
            /* the bad event's bytes move to the reject job */
            rej->raws = obligo_calloc(1, sizeof *rej->raws);
            rej->lens = obligo_calloc(1, sizeof *rej->lens);
            if (rej->raws && rej->lens) {
                rej->raws[0] = j->raws[i];
                rej->lens[0] = j->lens[i];
                j->raws[i] = NULL;
                rej->n = 1;
            }
            serve_submit(r, rej, p);
        }
        obligo_free(field);
        obligo_free(reason);
        writer_job_free(j);
        return;
    }
    serve_pending *p = serve_pending_new(r);
    if (!p) {
        writer_job_free(j);
        serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        return;
    }
    serve_submit(r, j, p);
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
} serve_read_kind;

typedef struct serve_read {
    reader_job job; /* first: the pool hands this back */
    serve_pending p;
    serve_read_kind kind;
    size_t max_bytes;
    char b1[1024], b2[1024], b3[256]; /* source, id; or status, kind, subject */
    char *name;                       /* the register's name, owned */
    int has1, has2, has3;
    obligo_time t;
    long long after, limit;
    int history;
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
    cJSON *decisions = cJSON_AddArrayToObject(out, "decisions");
    q = store_stmt(st, "SELECT decision FROM decisions WHERE event=?1 ORDER BY n");
    if (q) {
        sqlite3_bind_int64(q, 1, seq);
        while (sqlite3_step(q) == SQLITE_ROW) {
            cJSON *d = cJSON_Parse((const char *)sqlite3_column_text(q, 0));
            if (d)
                cJSON_AddItemToArray(decisions, d);
        }
        sqlite3_reset(q);
    }
    serve_read_json(rd, 200, out, "raise max_answer_bytes to read this event");
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
        };
        serve_read_json(rd, 200, obligations_list(st, &f), fewer);
        return;
    }
    case SERVE_READ_ALERTS: {
        outbox_filter f = {.kind = rd->has2 ? rd->b2 : NULL,
                           .since = rd->t,
                           .after_seq = rd->after,
                           .limit = (int)rd->limit};
        serve_read_json(rd, 200, outbox_list(st, &f), fewer);
        return;
    }
    case SERVE_READ_REGISTER:
        serve_read_json(rd, 200,
                        rd->history ? registers_history(st, rd->name, rd->after, (int)rd->limit)
                                    : registers_list(st, rd->name, 0),
                        rd->history ? fewer : "raise max_answer_bytes to read this register");
        return;
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
    rd->max_bytes = r->s->cfg.max_answer_bytes;
    rd->p.s = r->s;
    rd->p.ex = r->ex;
    rd->p.route = r->route;
    rd->p.t0 = r->t0;
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
static void serve_on_read(reader_job *job, void *ud)
{
    serve *s = ud;
    serve_read *rd = (serve_read *)job;
    serve_pending *p = &rd->p;
    if (job->body) {
        http_respond(p->ex, job->status, "application/json", job->body, job->len, NULL);
        serve_log(s, p->peer, p->method, p->route, job->status, job->len, p->t0);
    } else {
        serve_send(s, p->ex, p->peer, p->method, p->route, p->t0, 500,
                   "{\"error\":\"out of memory\"}", NULL);
    }
    serve_read_free(rd);
}

static void serve_get_obligations(serve_req *r)
{
    serve_read *rd = serve_read_new(r, SERVE_READ_OBLIGATIONS);
    if (!rd)
        return;
    const char *q = r->req->query;
    rd->has1 = serve_query(q, "status", rd->b1, 256) != NULL;
    rd->has2 = serve_query(q, "kind", rd->b2, 256) != NULL;
    rd->has3 = serve_query(q, "subject", rd->b3, sizeof rd->b3) != NULL;
    if (serve_list_params(r, "due_before", &rd->t, &rd->after, &rd->limit)) {
        serve_read_free(rd);
        return;
    }
    serve_read_submit(r, rd);
}

static void serve_get_alerts(serve_req *r)
{
    serve_read *rd = serve_read_new(r, SERVE_READ_ALERTS);
    if (!rd)
        return;
    rd->has2 = serve_query(r->req->query, "kind", rd->b2, 256) != NULL;
    if (serve_list_params(r, "since", &rd->t, &rd->after, &rd->limit)) {
        serve_read_free(rd);
        return;
    }
    serve_read_submit(r, rd);
}

/* GET /v1/registers/{name}[?history=1]: the history is paged like the
 * other lists, by the last seq seen. */
static void serve_get_register(serve_req *r, const char *name)
{
    serve_read *rd = serve_read_new(r, SERVE_READ_REGISTER);
    if (!rd)
        return;
    char h[8];
    const char *hist = serve_query(r->req->query, "history", h, sizeof h);
    rd->history = hist && strcmp(hist, "0") != 0;
    if (rd->history && serve_paging(r, &rd->after, &rd->limit)) {
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
static void serve_get_event(serve_req *r, const char *rest)
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

/* ---- /metrics ------------------------------------------------------------- */

static void serve_metrics_reply(serve_pending *p, writer_job *j)
{
    serve *s = p->s;
    metrics_snapshot m;
    memset(&m, 0, sizeof m);
    m.events_accepted = (uint64_t)j->stats.accepted;
    m.events_rejected = (uint64_t)j->stats.rejected;
    m.events_duplicate = (uint64_t)j->stats.duplicates;
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
    m.http_buffered_body_bytes_limit = s->cfg.max_buffered_body_bytes;
    m.http_2xx = s->responses[2];
    m.http_4xx = s->responses[4];
    m.http_5xx = s->responses[5];
    m.commit_seconds = j->commit_seconds;
    m.queue_events = writer_queued_events(s->w);
    snprintf(m.rules_revision, sizeof m.rules_revision, "%s", j->revision);
    char *text = metrics_render(&m);
    if (text) {
        size_t len = strlen(text);
        http_respond(p->ex, 200, "text/plain; version=0.0.4", text, len, NULL);
        serve_log(s, p->peer, p->method, p->route, 200, len, p->t0);
        obligo_free(text);
    } else {
        serve_send(s, p->ex, p->peer, p->method, p->route, p->t0, 500,
                   "{\"error\":\"out of memory\"}", NULL);
    }
}

/* ---- routing and authorisation -------------------------------------------- */

enum { SERVE_OPEN, SERVE_READ, SERVE_WRITE, SERVE_ADMIN };

/* Decides who may call: /healthz is open; once any token exists every other
 * endpoint needs one with the right role; while none exists, only clients
 * on this machine are served (DESIGN §4). Checks against the tokens cache
 * (a hash, no database read but the cache's refresh once a second).
 * Returns 0 when the caller may go on, or the status to answer with
 * *message (static) and *extra (static header lines or ""). */
static int serve_auth_decide(serve *s, const char *authorization, int peer_is_loopback, int need,
                             const char **message, const char **extra)
{
    *extra = "";
    if (need == SERVE_OPEN)
        return 0;
    tokens_cache *tc = &s->tokens;
    if (tokens_cache_refresh(tc, &s->rd, (double)uv_hrtime() / 1e9) != 0) {
        *message = "cannot check tokens right now";
        *extra = "Retry-After: 1\r\n";
        return 503;
    }
    if (!tc->any) {
        if (peer_is_loopback)
            return 0;
        *message = "no API tokens exist yet, so only clients on this machine are served; "
                   "create one with 'obligo token create'";
        return 403;
    }
    const char *role = NULL;
    if (tokens_cache_check(tc, authorization, &role) != 0) {
        *message = "a valid bearer token is required";
        *extra = "WWW-Authenticate: Bearer realm=\"obligo\"\r\n";
        return 401;
    }
    int ok =
        need == SERVE_ADMIN ? strcmp(role, "admin") == 0 : tokens_allows(role, need == SERVE_WRITE);
    if (!ok) {
        *message = "this token's role may not do this";
        return 403;
    }
    return 0;
}

/* serve_auth_decide for a complete request. Returns 1 when the request may
 * go on, after answering it otherwise. */
static int serve_authorised(serve_req *r, int need)
{
    const char *message = NULL, *extra = NULL;
    int status = serve_auth_decide(r->s, r->req->authorization, r->req->peer_is_loopback, need,
                                   &message, &extra);
    if (status == 0)
        return 1;
    serve_reply_error(r, status, message, *extra ? extra : NULL);
    return 0;
}

/* The routes, in the order they are tried. serve_head (at the end of the
 * head) and serve_handle (with the body) both go through serve_route_match
 * on this one table, so that what is refused before the body is read and
 * what is served after cannot disagree. */
enum {
    SERVE_R_HEALTHZ,
    SERVE_R_METRICS,
    SERVE_R_EVENTS,
    SERVE_R_EVENT,
    SERVE_R_OBLIGATIONS,
    SERVE_R_ALERTS,
    SERVE_R_REGISTERS,
    SERVE_R_RELOAD,
    SERVE_R_ADAPTER, /* a plugin's input adapter, not in the table */
};

static const struct serve_route {
    const char *route;
    int prefix; /* matches the route followed by at least one character */
    int post;   /* POST, else GET or HEAD */
    int need;   /* the role it needs */
} serve_routes[] = {
    [SERVE_R_HEALTHZ] = {"/healthz", 0, 0, SERVE_OPEN},
    [SERVE_R_METRICS] = {"/metrics", 0, 0, SERVE_READ},
    [SERVE_R_EVENTS] = {"/v1/events", 0, 1, SERVE_WRITE},
    [SERVE_R_EVENT] = {"/v1/events/", 1, 0, SERVE_READ},
    [SERVE_R_OBLIGATIONS] = {"/v1/obligations", 0, 0, SERVE_READ},
    [SERVE_R_ALERTS] = {"/v1/alerts", 0, 0, SERVE_READ},
    [SERVE_R_REGISTERS] = {"/v1/registers/", 1, 0, SERVE_READ},
    [SERVE_R_RELOAD] = {"/v1/rules/reload", 0, 1, SERVE_ADMIN},
};

/* Where a request goes. */
typedef struct serve_match {
    int id;            /* SERVE_R_*, or -1: no such resource (404) */
    const char *route; /* static: for the access log */
    const char *rest;  /* the path after a prefix route ("" for GET /v1/events?...) */
    const plugins_adapter *adapter;
    int method_ok;     /* 0: 405 with use and allow */
    const char *use;   /* "use POST" / "use GET" */
    const char *allow; /* the Allow header line */
    int need;          /* the role it needs */
    int takes_body;    /* a POST of events: needs a length and a known media type */
} serve_match;

static void serve_route_match(serve *s, const char *method, const char *path, serve_match *m)
{
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int post = strcmp(method, "POST") == 0;
    memset(m, 0, sizeof *m);
    m->id = -1;
    m->route = "other";
    m->rest = "";
    for (size_t i = 0; i < sizeof serve_routes / sizeof serve_routes[0]; i++) {
        const struct serve_route *rt = &serve_routes[i];
        size_t len = strlen(rt->route);
        int match = rt->prefix ? strncmp(path, rt->route, len) == 0 && path[len]
                               : strcmp(path, rt->route) == 0;
        if (!match)
            continue;
        m->route = rt->route;
        m->rest = rt->prefix ? path + len : "";
        if (i == SERVE_R_EVENTS && get) {
            /* GET /v1/events?source=&id=: an event whose identifiers hold '/' */
            m->id = SERVE_R_EVENT;
            m->method_ok = 1;
            m->need = SERVE_READ;
            return;
        }
        m->id = (int)i;
        m->method_ok = rt->post ? post : get;
        m->use = rt->post ? "use POST" : "use GET";
        m->allow = rt->post ? "Allow: POST\r\n" : "Allow: GET\r\n";
        m->need = rt->need;
        m->takes_body = i == SERVE_R_EVENTS;
        return;
    }
    const plugins_adapter *a = plugins_find_adapter_by_path(s->e.plugins, path);
    if (a) {
        m->id = SERVE_R_ADAPTER;
        m->route = a->adapter.http_path;
        m->adapter = a;
        m->method_ok = post;
        m->use = "use POST";
        m->allow = "Allow: POST\r\n";
        m->need = SERVE_WRITE;
        m->takes_body = 1;
    }
}

/* 1 when a body of media type ct cannot be taken by the matched route,
 * with the message in msg. */
static int serve_media_refused(const serve_match *m, const char *ct, char *msg, size_t n)
{
    if (m->id == SERVE_R_ADAPTER) {
        if (strcmp(ct, m->adapter->adapter.media_type) == 0)
            return 0;
        snprintf(msg, n, "use %s", m->adapter->adapter.media_type);
        return 1;
    }
    if (strcmp(ct, "application/cloudevents+json") == 0 ||
        strcmp(ct, "application/x-ndjson") == 0 ||
        strcmp(ct, "application/cloudevents-batch+json") == 0)
        return 0;
    snprintf(msg, n, "%s", SERVE_EVENTS_MEDIA);
    return 1;
}

/* The transport's head handler: route, method, token and role, framing
 * and media type are decided when the head is in, so a request that will
 * be refused is refused before its body is read (and the transport ends
 * the connection rather than read that body). serve_handle checks the
 * same again with the body, through the same table and functions. */
static int serve_head(void *ud, const http_head *h, http_answer *ans)
{
    serve *s = ud;
    serve_match m;
    serve_route_match(s, h->method, h->path, &m);
    int status = 0;
    const char *message = NULL, *extra = "";
    char media[256];
    if (m.id < 0) {
        status = 404;
        message = "no such resource";
    } else if (!m.method_ok) {
        status = 405;
        message = m.use;
        extra = m.allow;
    } else if ((status = serve_auth_decide(s, h->authorization, h->peer_is_loopback, m.need,
                                           &message, &extra)) != 0) {
        /* message and extra set */
    } else if (m.takes_body && !h->has_length && !h->chunked) {
        status = 411;
        message = "a body is required: send it with Content-Length (or chunked)";
        ans->close = 1; /* what follows may be a body without framing */
    } else if (m.takes_body && serve_media_refused(&m, h->content_type, media, sizeof media)) {
        status = 415;
        message = media;
    }
    if (status == 0)
        return 0;
    char *body = serve_error_body(message, -1, NULL);
    size_t len = body ? strlen(body) : 0;
    if (!body || len >= sizeof ans->body) {
        len = (size_t)snprintf(ans->body, sizeof ans->body, "{\"error\":\"refused\"}");
    } else {
        memcpy(ans->body, body, len);
    }
    cJSON_free(body);
    ans->status = status;
    ans->content_type = "application/json";
    ans->body_len = len;
    snprintf(ans->headers, sizeof ans->headers, "%s", extra);
    serve_log(s, h->peer, h->method, m.route, status, len, uv_hrtime());
    return 1;
}

static void serve_async_job(serve_req *r, writer_kind kind)
{
    writer_job *j = writer_job_new(kind, NULL);
    serve_pending *p = j ? serve_pending_new(r) : NULL;
    if (!j || !p) {
        writer_job_free(j);
        obligo_free(p);
        serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        return;
    }
    serve_submit(r, j, p);
}

static void serve_handle(void *ud, const http_request *req, http_exchange *ex)
{
    serve *s = ud;
    serve_req r = {s, req, ex, "other", uv_hrtime()};
    serve_match m;
    serve_route_match(s, req->method, req->path, &m);
    r.route = m.route;
    if (m.id < 0) {
        serve_reply_error(&r, 404, "no such resource", NULL);
        return;
    }
    if (!m.method_ok) {
        serve_reply_error(&r, 405, m.use, m.allow);
        return;
    }
    if (!serve_authorised(&r, m.need))
        return;
    switch (m.id) {
    case SERVE_R_HEALTHZ:
        serve_async_job(&r, WRITER_HEALTH);
        return;
    case SERVE_R_METRICS:
        serve_async_job(&r, WRITER_STATS);
        return;
    case SERVE_R_EVENTS:
        serve_post_events(&r);
        return;
    case SERVE_R_EVENT:
        serve_get_event(&r, m.rest);
        return;
    case SERVE_R_OBLIGATIONS:
        serve_get_obligations(&r);
        return;
    case SERVE_R_ALERTS:
        serve_get_alerts(&r);
        return;
    case SERVE_R_REGISTERS:
        serve_get_register(&r, m.rest);
        return;
    case SERVE_R_RELOAD: {
        serve_pending *p = serve_pending_new(&r);
        if (!p)
            serve_reply_error(&r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        else
            serve_reload_request(s, p);
        return;
    }
    case SERVE_R_ADAPTER:
        serve_post_adapter(&r, m.adapter);
        return;
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
    atomic_store(&s->reload_cancel, 1);
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
    if (*end || end == colon + 1 || p < 0 || p > 65535)
        return OBLIGO_EINVAL;
    *port = (int)p;
    return 0;
}

static int serve_is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
           strcmp(host, "localhost") == 0;
}

static void serve_walk_close(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static const char serve_usage[] =
    "usage: obligo serve [--config F] [--db F] [--rules DIR] [--listen ADDR:PORT]\n"
    "                    [--allow-insecure-listen] [--clock-start T]\n"
    "Runs the daemon: POST /v1/events, GET /v1/obligations, /v1/alerts,\n"
    "/v1/registers/NAME, /v1/events/SOURCE/ID, /metrics, /healthz, POST /v1/rules/reload;\n"
    "fires deadlines. Defaults: --db var/obligo.db, --rules rules, --listen 127.0.0.1:8787.\n"
    "A listen address off this machine needs TLS in front (see the README) and\n"
    "--allow-insecure-listen to acknowledge that Obligo itself speaks plain HTTP.\n"
    "--clock-start T (a test aid): engine time starts at T and runs from there.\n";

int cli_serve(int argc, char **argv)
{
    cli_opts o;
    int prc = cli_parse(argc, argv, &o, serve_usage);
    if (prc)
        return prc > 0 ? 0 : 2;
    if (o.clock_start) {
        obligo_time start;
        if (clock_parse_rfc3339(o.clock_start, &start)) {
            fprintf(stderr,
                    "obligo serve: --clock-start '%s' is not an RFC 3339 time with offset\n",
                    o.clock_start);
            return 2;
        }
        clock_start_at(start);
    }
    serve *s = obligo_calloc(1, sizeof *s);
    if (!s)
        return 2;
    if (cli_open(&o, &s->cfg, &s->e, 0)) {
        obligo_free(s);
        return 2;
    }
    if (o.allow_insecure)
        s->cfg.allow_insecure_listen = 1;

    char host[128], *err = NULL;
    int port, rc = 2;
    if (serve_split_listen(s->cfg.listen, host, sizeof host, &port)) {
        fprintf(stderr, "obligo serve: --listen '%s' is not ADDR:PORT\n", s->cfg.listen);
        goto out_engine;
    }
    if (!serve_is_loopback(host) && !s->cfg.allow_insecure_listen) {
        fprintf(stderr,
                "obligo serve: refusing to listen on %s without TLS: health data would cross "
                "the network in clear text. Put a TLS proxy in front (README: \"TLS\") and "
                "listen on 127.0.0.1, or pass --allow-insecure-listen if the proxy is on another "
                "interface.\n",
                s->cfg.listen);
        goto out_engine;
    }
    if (store_open(&s->rd, s->cfg.db_path, 1, &err)) {
        fprintf(stderr, "obligo serve: %s\n", err ? err : "cannot open the database to read");
        obligo_free(err);
        goto out_engine;
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
    http_limits limits = {.max_body_bytes = s->cfg.max_body_bytes,
                          .max_connections = s->cfg.max_connections,
                          .max_buffered_body_bytes = s->cfg.max_buffered_body_bytes,
                          .max_connections_per_client = s->cfg.max_connections_per_client};
    int hr = http_server_listen(&s->loop, host, port, &limits, serve_handle, s, &s->http, &err);
    if (hr == 0)
        http_server_on_head(s->http, serve_head);
    if (hr) {
        fprintf(stderr, "obligo serve: cannot listen on %s: %s\n", s->cfg.listen,
                err ? err : obligo_strerror(hr));
        obligo_free(err);
        goto out_loop;
    }
    int rr = reader_start(&s->loop, s->cfg.db_path, s->cfg.reader_threads, serve_on_read, s,
                          &s->readers, &err);
    if (rr) {
        fprintf(stderr, "obligo serve: %s\n", err ? err : obligo_strerror(rr));
        obligo_free(err);
        goto out_loop;
    }
    if (serve_deliverer_start(s)) {
        reader_stop(s->readers);
        s->readers = NULL;
        goto out_loop;
    }
    int wr = writer_start(&s->loop, &s->e, s->cfg.max_queue_events, serve_on_done, s, &s->w, &err);
    if (wr) {
        fprintf(stderr, "obligo serve: cannot start the writer thread: %s\n",
                err ? err : obligo_strerror(wr));
        obligo_free(err);
        serve_deliverer_stop(s);
        reader_stop(s->readers);
        s->readers = NULL;
        goto out_loop;
    }
    writer_on_commit(s->w, serve_committed);
    writer_set_commit_interval(s->w, s->cfg.commit_interval_ms / 1000.0);
    /* what fell due while the engine was stopped fires now, marked late */
    serve_submit_fire(s, s->started);

    if (s->cfg.access_log) {
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
    s->sigterm.data = s->sigint.data = s->sighup.data = s;
    uv_signal_start(&s->sigterm, serve_on_signal, SIGTERM);
    uv_signal_start(&s->sigint, serve_on_signal, SIGINT);
    uv_signal_start(&s->sighup, serve_on_signal, SIGHUP);
    if (s->cfg.watch_rules) {
        uv_timer_init(&s->loop, &s->debounce);
        s->debounce.data = s;
        s->watching = 1;
        serve_watch_dir(s, s->cfg.rules_dir, 0);
    }
    serve_arm(s);
    fprintf(stderr, "obligo serve: listening on http://%s:%d (database %s, rules %s revision %s)\n",
            host, http_server_port(s->http), s->cfg.db_path, s->cfg.rules_dir,
            rules_revision(s->e.rules));
    uv_run(&s->loop, UV_RUN_DEFAULT);
    rc = 0;
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
out_engine:
    engine_deliver(&s->e);
    engine_close(&s->e);
    config_free(&s->cfg);
    obligo_free(s);
    return rc;
}
