/*
 * serve_replay.c — POST /v1/replay: what a candidate rule set, sent in the
 * request (replay_request.h), would have decided over the journal, and
 * where that differs from what the database holds (replay.h) — `obligo
 * replay --json` over HTTP.
 *
 * The replay runs on a thread of its own ("obligo-replay", at the lowest
 * priority like the reload gate), never on the loop or the writer: it
 * parses the body, compiles the candidate with the engine's plugins and
 * the configuration's policy and limits, opens its own read-only
 * connection to the database and replays inside one read transaction (a
 * snapshot while the writer commits on). It hands its answer to the loop
 * thread through replay_done, which answers the request. One replay at a
 * time: a request while one runs gets 409. When the server stops, a
 * replay under way is cancelled (it stops before its next event) and its
 * request answered 503, so SIGTERM is never held up by a long replay.
 *
 * serve_replay_main and what it calls run on the replay's thread;
 * everything else in this file on the loop thread.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"
#include "replay.h"
#include "replay_request.h"
#include "serve_internal.h"

/* The replay is background work, as the gate is (serve_reload.c). */
#define SERVE_REPLAY_NICE 19

typedef struct serve_replay {
    uv_thread_t thread;
    atomic_int finished; /* set by the replay's thread as its last act */
    serve *s;
    serve_pending *p;
    plugins *plugins; /* the engine's, loaded once at start-up */
    /* the request: the body is the exchange's, valid until it is answered */
    const char *body;
    size_t len;
    int tar;
    char *query;
    char *hold; /* the test aid's file (OBLIGO_TEST_REPLAY_HOLD), or NULL */
    /* the outcome, for the loop thread */
    int status;
    char *answer;      /* JSON text (cJSON_free) */
    const char *extra; /* static header lines, or NULL */
} serve_replay;

/* {"error": message, "field": field} (field left out when NULL), as a new
 * string for cJSON_free; NULL when memory ran out. */
static char *serve_replay_error(const char *message, const char *field)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "error", message ? message : "out of memory");
    if (field)
        cJSON_AddStringToObject(b, "field", field);
    char *text = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    return text;
}

static void serve_replay_fail(serve_replay *rp, int status, const char *message, const char *field)
{
    rp->status = status;
    rp->answer = serve_replay_error(message, field);
    if (status == 503)
        rp->extra = "Retry-After: 5\r\n";
}

/* A test aid: while the file named by OBLIGO_TEST_REPLAY_HOLD exists, a
 * replay waits before it starts (or until the server stops), so a test
 * can observe one running without relying on how long it takes. */
static void serve_replay_hold(serve_replay *rp)
{
    struct stat sb;
    while (rp->hold && stat(rp->hold, &sb) == 0 && !atomic_load(&rp->s->replay_cancel)) {
        struct timespec ts = {0, 10L * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Compiles the candidate and replays; fills rp's outcome. */
static void serve_replay_run(serve_replay *rp, replay_request *rq)
{
    const config *cfg = rp->s->cfg;
    rules *set = NULL;
    char *err = NULL;
    int rc = rules_load_sources(&rq->src, cfg->policy, &cfg->limits, rp->plugins, &set, &err);
    if (rc) {
        if (rc == OBLIGO_ENOMEM)
            serve_replay_fail(rp, 503, "out of memory; retry later", NULL);
        else
            serve_replay_fail(rp, 422, err ? err : obligo_strerror(rc), "rules");
        obligo_free(err);
        return;
    }
    store st = {0};
    if (store_open(&st, cfg->db_path, 1, &err) != 0) {
        serve_replay_fail(rp, 500, err ? err : "cannot open the database to read", NULL);
        obligo_free(err);
        rules_free(set);
        return;
    }
    replay_options ro = {.cfg = cfg,
                         .plugins = rp->plugins,
                         .candidate = set,
                         .recorded = &st,
                         .since = rq->since,
                         .until = rq->until,
                         .type = rq->type,
                         .cancel = &rp->s->replay_cancel};
    cJSON *result = NULL;
    rc = replay_run(&ro, &result, &err);
    if (rc == 0) {
        rp->status = 200;
        if (!(rp->answer = cJSON_PrintUnformatted(result)))
            serve_replay_fail(rp, 503, "out of memory; retry later", NULL);
    } else if (rc == OBLIGO_EBUSY && atomic_load(&rp->s->replay_cancel)) {
        serve_replay_fail(rp, 503, "the server is stopping; the replay was cancelled", NULL);
    } else if (rc == OBLIGO_EINVAL) {
        /* nothing to judge, or an event the candidate configuration refuses */
        serve_replay_fail(rp, 422, err ? err : obligo_strerror(rc), NULL);
    } else if (rc == OBLIGO_ENOMEM) {
        serve_replay_fail(rp, 503, "out of memory; retry later", NULL);
    } else {
        serve_replay_fail(rp, 500, err ? err : obligo_strerror(rc), NULL);
    }
    cJSON_Delete(result);
    obligo_free(err);
    store_close(&st);
    rules_free(set);
}

static void serve_replay_main(void *arg)
{
    serve_replay *rp = arg;
    pthread_setname_np(pthread_self(), "obligo-replay");
    /* On Linux a nice value belongs to a thread (setpriority on its tid).
     * Should it fail, the replay runs at normal priority: still correct. */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), SERVE_REPLAY_NICE);
    serve_replay_hold(rp);
    replay_request rq;
    int rc = rp->tar ? replay_request_tar(rp->body, rp->len, rp->query, &rq)
                     : replay_request_json(rp->body, rp->len, rp->query, &rq);
    if (atomic_load(&rp->s->replay_cancel))
        serve_replay_fail(rp, 503, "the server is stopping; the replay was cancelled", NULL);
    else if (rc)
        serve_replay_fail(rp, rq.status, rq.error ? rq.error : "out of memory; retry later",
                          rq.field);
    else
        serve_replay_run(rp, &rq);
    replay_request_free(&rq);
    atomic_store(&rp->finished, 1);
    uv_async_send(&rp->s->replay_done);
}

static void serve_replay_free(serve_replay *rp)
{
    obligo_free(rp->query);
    obligo_free(rp->hold);
    cJSON_free(rp->answer);
    obligo_free(rp->p);
    obligo_free(rp);
}

/* replay_done's callback: the replay's thread has finished; answer. If the
 * client has gone, http_respond drops the answer. */
void serve_on_replay_done(uv_async_t *a)
{
    serve *s = a->data;
    serve_replay *rp = s->replaying;
    if (!rp || !atomic_load(&rp->finished))
        return;
    uv_thread_join(&rp->thread);
    s->replaying = NULL;
    uv_unref((uv_handle_t *)&s->replay_done);
    if (rp->status == 200)
        s->replays++;
    serve_pending *p = rp->p;
    serve_pending_send(s, p, rp->answer ? rp->status : 503,
                       rp->answer ? rp->answer : "{\"error\":\"out of memory; retry later\"}",
                       rp->answer ? rp->extra : "Retry-After: 5\r\n");
    serve_replay_free(rp);
}

void serve_post_replay(serve_req *r)
{
    serve *s = r->s;
    if (s->replaying) {
        serve_reply_error(
            r, 409, "a replay is running; one runs at a time: retry when it has finished", NULL);
        return;
    }
    if (s->stopping) {
        serve_reply_error(r, 503, "the server is stopping", "Retry-After: 5\r\n");
        return;
    }
    const char *ct = r->req->content_type;
    int tar = strcmp(ct, "application/x-tar") == 0 || strcmp(ct, "application/tar") == 0;
    if (!tar && strcmp(ct, "application/json") != 0) {
        serve_reply_error(r, 415, "use application/json or application/x-tar", NULL);
        return;
    }
    serve_replay *rp = obligo_calloc(1, sizeof *rp);
    const char *hold = getenv("OBLIGO_TEST_REPLAY_HOLD");
    if (rp) {
        rp->s = s;
        rp->plugins = s->e->plugins;
        rp->body = r->req->body;
        rp->len = r->req->body_len;
        rp->tar = tar;
        rp->query = obligo_strdup(r->req->query ? r->req->query : "");
        rp->hold = hold && *hold ? obligo_strdup(hold) : NULL;
        rp->p = serve_pending_new(r);
    }
    if (!rp || !rp->query || (hold && *hold && !rp->hold) || !rp->p) {
        if (rp)
            serve_replay_free(rp);
        serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        return;
    }
    if (uv_thread_create(&rp->thread, serve_replay_main, rp) != 0) {
        serve_replay_free(rp);
        serve_reply_error(r, 503, "cannot start the replay's thread; retry later",
                          "Retry-After: 5\r\n");
        return;
    }
    s->replaying = rp;
    uv_ref((uv_handle_t *)&s->replay_done); /* the loop waits for the replay */
}
