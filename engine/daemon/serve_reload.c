/*
 * serve_reload.c — reloading the rules while the daemon runs: the gate
 * (gate.h) on a thread of its own, its outcome handed to the writer, and
 * the requests (POST /v1/rules/reload) that wait for it.
 *
 * serve_reload_main runs on the gate's thread; everything else in this file
 * on the loop thread.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "alloc.h"
#include "gate.h"
#include "ruleinfo.h"
#include "serve_internal.h"

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
    /* For GET /v1/rules (serve_rules.c): the new set described with its
     * coverage, its files, and where the refusal points (a copy of why,
     * which goes to the writer). */
    cJSON *info, *files;
    char *refusal;
    /* A survey: the gate run once at start-up to learn the running set's
     * coverage; its set never goes live. */
    int survey;
} serve_reload;

static void serve_reload_answer(serve *s, serve_reload *rl, int status, const char *body)
{
    for (int i = 0; i < rl->nwaiting; i++) {
        serve_pending *p = rl->waiting[i];
        serve_pending_send(s, p, status, body, status == 503 ? "Retry-After: 5\r\n" : NULL);
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
    obligo_free(rl->refusal);
    cJSON_Delete(rl->info);
    cJSON_Delete(rl->files);
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
    rl->rc = gate_prepare(rl->s->cfg, rl->plugins, &rl->s->reload_cancel, &rl->fresh, &rl->info,
                          &rl->why);
    /* the set goes to the writer: what GET /v1/rules/source serves is
     * copied here (out of memory: it answers 503 until the next reload) */
    if (rl->fresh && !rl->survey)
        rl->files = ruleinfo_files(rl->fresh);
    if (rl->why)
        rl->refusal = obligo_strdup(rl->why);
    atomic_store(&rl->finished, 1);
    uv_async_send(&rl->s->reload_done);
}

static void serve_reload_start(serve *s);

/* On the loop thread once the gate's thread has finished: the outcome goes
 * to the writer to be put into effect. */
void serve_on_reload_done(uv_async_t *a)
{
    serve *s = a->data;
    serve_reload *rl = s->reloading;
    if (!rl || !atomic_load(&rl->finished))
        return;
    uv_thread_join(&rl->thread);
    s->reloading = NULL;
    uv_unref((uv_handle_t *)&s->reload_done);
    if (rl->survey) {
        serve_rules_surveyed(s, rl->info);
        rl->info = NULL;
        serve_reload_free(s, rl);
        if (s->reload_again || s->nreload_next)
            serve_reload_start(s);
        return;
    }
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

/* Starts a gate run: a survey (start-up), or the reload the requests in
 * s->reload_next wait for. */
static void serve_reload_run(serve *s, int survey)
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
    rl->plugins = s->e->plugins;
    rl->survey = survey;
    if (!survey) {
        rl->waiting = s->reload_next;
        rl->nwaiting = s->nreload_next;
        s->reload_next = NULL;
        s->nreload_next = 0;
        s->reload_again = 0;
    }
    s->reloading = rl;
    if (s->stopping || !s->w || uv_thread_create(&rl->thread, serve_reload_main, rl) != 0) {
        s->reloading = NULL;
        serve_reload_free(s, rl);
        return;
    }
    uv_ref((uv_handle_t *)&s->reload_done); /* the loop waits for the gate */
}

static void serve_reload_start(serve *s)
{
    serve_reload_run(s, 0);
}

/* The rule tests of the set the server started with have not run (a set
 * is tested on reload, not at start-up): the gate runs once over the same
 * files in the background, so GET /v1/rules can say what is tested. A
 * reload asked for meanwhile runs when it ends. */
void serve_reload_survey(serve *s)
{
    if (!s->reloading)
        serve_reload_run(s, 1);
}

/* Asks for a reload; p (may be NULL) is a request to answer with its
 * outcome, taken over. */
void serve_reload_request(serve *s, serve_pending *p)
{
    if (p) {
        serve_pending **nw =
            obligo_realloc(s->reload_next, sizeof(serve_pending *) * (size_t)(s->nreload_next + 1));
        if (!nw) {
            serve_pending_send(s, p, 503, "{\"error\":\"out of memory; retry later\"}",
                               "Retry-After: 1\r\n");
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
void serve_reload_done(serve *s, writer_job *j)
{
    serve_reload *rl = j->ud;
    if (!rl)
        return;
    serve_rules_reloaded(s, j->rc == 0, j->message, rl->refusal, &rl->info, &rl->files);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddBoolToObject(b, "reloaded", j->rc == 0);
    cJSON_AddStringToObject(b, j->rc ? "error" : "message", j->message ? j->message : "");
    char *text = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    serve_reload_answer(s, rl, j->rc ? 422 : 200, text ? text : "{}");
    cJSON_free(text);
    serve_reload_free(s, rl);
}
