/*
 * writer.c — the writer thread and its group commit (writer.h).
 *
 * Depends on engine.c for the pipeline, obligations.c/outbox.c for the
 * statistics, libuv for the thread, its locks and the async wake-up.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "writer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "clock.h"
#include "error.h"
#include "obligations.h"
#include "outbox.h"

struct writer {
    engine *e;
    uv_thread_t thread;
    uv_mutex_t lock;
    uv_cond_t wake;
    writer_job *head, *tail; /* waiting jobs */
    size_t queued_events, max_queue_events;
    int stopping;
    int pacing;             /* the writer lets a group fill: submits do not wake it */
    double commit_interval; /* seconds between the starts of two groups, at least */
    double last_group;      /* when the last group started (writer thread) */
    /* finished jobs, handed to the loop */
    uv_async_t async;
    writer_job *done_head, *done_tail;
    writer_done done;
    void *ud;
    void (*committed)(void *ud);
    /* the earliest deadline after the last commit */
    atomic_llong next_due; /* 0: none */
    /* commit latency, read by WRITER_STATS on the writer thread */
    metrics_histogram commit_seconds;
};

writer_job *writer_job_new(writer_kind kind, void *ud)
{
    writer_job *j = obligo_calloc(1, sizeof *j);
    if (j) {
        j->kind = kind;
        j->ud = ud;
        j->conflict_at = -1;
    }
    return j;
}

void writer_job_free(writer_job *job)
{
    if (!job)
        return;
    for (int i = 0; i < job->n; i++) {
        cJSON_Delete(job->events ? job->events[i] : NULL);
        obligo_free(job->raws ? job->raws[i] : NULL);
    }
    obligo_free(job->events);
    obligo_free(job->raws);
    obligo_free(job->lens);
    obligo_free(job->message);
    rules_free(job->fresh);
    obligo_free(job->origin);
    obligo_free(job->field);
    obligo_free(job->reason);
    cJSON_Delete(job->refused);
    obligo_free(job->outcomes);
    obligo_free(job);
}

static double writer_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the jobs, on the writer thread --------------------------------------- */

/* Event i of j names, by its source and id, an event journaled with other
 * content: it is kept in rejected with both digests and listed in
 * j->refused; the others of the request go on. */
static int writer_conflict(engine *e, writer_job *j, int i)
{
    char *why = engine_conflict_reason(e, j->raws[i], j->lens[i]);
    char *origin = obligo_asprintf("%s[%d]", j->origin ? j->origin : "http", i);
    cJSON *entry = cJSON_CreateObject();
    if (!j->refused)
        j->refused = cJSON_CreateArray();
    int ok = why && origin && entry && j->refused && cJSON_AddNumberToObject(entry, "index", i) &&
             cJSON_AddStringToObject(entry, "field", "id") &&
             cJSON_AddStringToObject(entry, "error", why);
    if (ok && cJSON_AddItemToArray(j->refused, entry))
        entry = NULL; /* the array's now */
    else
        ok = 0;
    int rc = ok ? engine_reject(e, origin, j->raws[i], j->lens[i], "id", why) : OBLIGO_ENOMEM;
    if (!rc)
        j->conflicts++;
    cJSON_Delete(entry);
    obligo_free(why);
    obligo_free(origin);
    return rc;
}

/* Applies one job inside the open transaction; j->rc says how it went.
 * Returns j->rc. */
static int writer_apply(writer *w, writer_job *j, obligo_time now)
{
    engine *e = w->e;
    engine_stats before = e->stats;
    int rc = 0;
    switch (j->kind) {
    case WRITER_EVENTS:
        cJSON_Delete(j->refused); /* a group retried runs its jobs again */
        j->refused = NULL;
        j->conflicts = 0;
        j->conflict_at = -1;
        for (int i = 0; i < j->n && !rc; i++) {
            int dup = 0;
            rc = engine_event(e, j->events[i], j->raws[i], j->lens[i], &dup);
            if (!rc && j->outcomes)
                j->outcomes[i] = dup;
            if (!rc && dup == JOURNAL_CONFLICT && j->atomic) {
                j->conflict_at = i; /* all or nothing: the job fails */
                rc = OBLIGO_EINVAL;
            } else if (!rc && dup == JOURNAL_CONFLICT) {
                rc = writer_conflict(e, j, i);
            }
        }
        j->accepted = rc ? 0 : e->stats.accepted - before.accepted;
        j->duplicates = rc ? 0 : e->stats.duplicates - before.duplicates;
        break;
    case WRITER_FIRE:
        /* in steps: deadlines falling due by the hundred thousand are
         * committed (and alerted) as they go, and events keep flowing in
         * between; the serve loop asks again while some are due */
        rc = engine_fire_due_max(e, e->now, j->late_before, WRITER_FIRE_BATCH, NULL);
        break;
    case WRITER_REJECT:
        rc = engine_reject(e, j->origin ? j->origin : "", j->n ? j->raws[0] : "",
                           j->n ? j->lens[0] : 0, j->field, j->reason ? j->reason : "invalid");
        break;
    case WRITER_HEALTH: {
        char stamp[24];
        snprintf(stamp, sizeof stamp, "%lld", (long long)now);
        rc = store_meta_set(&e->st, "healthz", stamp);
        break;
    }
    default:
        break;
    }
    return j->rc = rc;
}

static int writer_is_write(const writer_job *j)
{
    return j->kind != WRITER_RELOAD && j->kind != WRITER_STATS && j->kind != WRITER_DUTIES;
}

static void writer_fail(writer_job *j, int rc)
{
    j->rc = rc;
    j->accepted = j->duplicates = j->conflicts = 0;
    cJSON_Delete(j->refused);
    j->refused = NULL;
}

static void writer_stats(writer *w, writer_job *j)
{
    engine *e = w->e;
    j->stats = e->stats;
    /* Running counts, kept in the writer connection's temporary tables by
     * triggers as it writes (obligations_counts_start): a scrape costs a
     * few rows, not a scan of every obligation and alert. */
    obligations_counts(&e->st, j->obligations);
    outbox_alert_counts(&e->st, j->alerts, METRICS_MAX_ALERT_KINDS, &j->nalerts);
    j->outbox_backlog = outbox_pending(&e->st);
    snprintf(j->revision, sizeof j->revision, "%s", e->rules ? rules_revision(e->rules) : "");
    j->commit_seconds = w->commit_seconds;
}

/* GET /v1/duties: the obligation kinds of the rule set in force, read
 * here because the rules belong to the writer thread (a reload swaps
 * them): {revision, now, duties: [{name, title, source, file, line}]}.
 * rc OBLIGO_ENOMEM when memory ran out. */
static void writer_duties(writer *w, writer_job *j)
{
    engine *e = w->e;
    cJSON *out = cJSON_CreateObject();
    cJSON *list = out ? cJSON_AddArrayToObject(out, "duties") : NULL;
    char now[CLOCK_RFC3339_LEN];
    clock_format_utc(clock_now(), now);
    int ok = list &&
             cJSON_AddStringToObject(out, "revision", e->rules ? rules_revision(e->rules) : "") &&
             cJSON_AddStringToObject(out, "now", now);
    for (int i = 0; ok && e->rules && i < rules_kind_count(e->rules); i++) {
        const rules_kind *k = rules_kind_at(e->rules, i);
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(list, o);
        if (!ok) {
            cJSON_Delete(o);
            break;
        }
        ok = cJSON_AddStringToObject(o, "name", k->name) &&
             cJSON_AddStringToObject(o, "title", k->title ? k->title : "") &&
             cJSON_AddStringToObject(o, "source", k->source ? k->source : "");
    }
    j->message = ok ? cJSON_PrintUnformatted(out) : NULL;
    cJSON_Delete(out);
    j->rc = j->message ? 0 : OBLIGO_ENOMEM;
}

/* Puts the gate's outcome into effect: swaps in the set that passed, or
 * keeps the running one and says why not. Either way an alert tells the
 * officer, without server logs. */
static void writer_reload(writer *w, writer_job *j)
{
    engine *e = w->e;
    const char *was = e->rules ? rules_revision(e->rules) : NULL;
    /* The sources are kept before the set judges anything, so every
     * revision the journal names can be rebuilt; a set that cannot be kept
     * does not go live. */
    int krc = j->fresh ? engine_keep_rules(e, j->fresh) : 0;
    if (krc) {
        rules_free(j->fresh);
        j->fresh = NULL;
        j->rc = krc;
        obligo_free(j->message);
        j->message = obligo_asprintf("its sources could not be kept in the database: %s",
                                     obligo_strerror(krc));
    }
    if (!j->fresh) {
        if (!j->rc)
            j->rc = OBLIGO_EINVAL; /* a reload job without an outcome */
        char *why = j->message;
        j->message = obligo_asprintf("rules not reloaded, the running set (revision %s) stays: %s",
                                     was ? was : "none", why ? why : obligo_strerror(j->rc));
        obligo_free(why);
        char *msg = obligo_asprintf("De gewijzigde regels zijn niet in gebruik genomen; de "
                                    "vorige regels (revisie %s) blijven werken. Herstel: %s",
                                    was ? was : "geen", j->message ? j->message : "");
        if (msg)
            engine_note(e, "obligo.rules_rejected", "rules", "warning", msg);
        obligo_free(msg);
        return;
    }
    rules *fresh = j->fresh;
    j->rc = 0;
    obligo_free(j->message);
    j->message = obligo_asprintf("rules reloaded: revision %s (was %s), %d rules, %d obligation "
                                 "kinds",
                                 rules_revision(fresh), was ? was : "none", rules_count(fresh),
                                 rules_kind_count(fresh));
    char *msg = obligo_asprintf("De gewijzigde regels zijn in gebruik genomen: revisie %s "
                                "(was %s), %d regels en %d soorten plichten.",
                                rules_revision(fresh), was ? was : "geen", rules_count(fresh),
                                rules_kind_count(fresh));
    if (msg)
        engine_note(e, "obligo.rules_reloaded", "rules", "info", msg);
    obligo_free(msg);
    rules_free(e->rules);
    e->rules = fresh;
    j->fresh = NULL;
}

/* One group: everything taken from the queue at once, one transaction. */
static void writer_group(writer *w, writer_job *jobs)
{
    engine *e = w->e;
    obligo_time now = clock_now();
    if (now > e->now)
        e->now = now;
    for (writer_job *j = jobs; j; j = j->next)
        if (j->kind == WRITER_RELOAD)
            writer_reload(w, j);

    /* Optimistic group commit: every job in one transaction, no savepoints.
     * A job that fails (a full disk, memory) is rare; then the group is
     * rolled back and each job runs in a transaction of its own, so one
     * job's failure never costs another's events. */
    double t0 = writer_seconds();
    engine_stats before = e->stats;
    int rc = engine_begin(e), failed = 0, committed = 0;
    for (writer_job *j = jobs; j && !rc && !failed; j = j->next)
        failed = writer_is_write(j) && writer_apply(w, j, now) != 0;
    if (!rc && !failed)
        rc = engine_commit(e);
    if (!rc && !failed) {
        committed = 1;
        metrics_histogram_observe(&w->commit_seconds, writer_seconds() - t0);
    } else {
        engine_rollback(e);
        e->stats = before;
        for (writer_job *j = jobs; j; j = j->next) {
            if (!writer_is_write(j))
                continue;
            if (!failed) {
                writer_fail(j, rc); /* the commit itself failed: nothing is stored */
                continue;
            }
            engine_stats mine = e->stats;
            double tj = writer_seconds();
            int jrc = engine_begin(e);
            if (!jrc && !writer_apply(w, j, now))
                jrc = engine_commit(e);
            else if (!jrc)
                jrc = j->rc;
            if (jrc) {
                engine_rollback(e);
                e->stats = mine;
                writer_fail(j, jrc);
            } else {
                committed = 1;
                metrics_histogram_observe(&w->commit_seconds, writer_seconds() - tj);
            }
        }
        if (!failed)
            fprintf(stderr, "obligo serve: commit failed: %s; nothing of this group was stored\n",
                    obligo_strerror(rc));
    }
    for (writer_job *j = jobs; j; j = j->next)
        if (j->kind == WRITER_STATS)
            writer_stats(w, j);
        else if (j->kind == WRITER_DUTIES)
            writer_duties(w, j);
    if (committed) {
        /* Delivery is someone else's job when a deliverer is set, so a slow
         * sink never holds up the next group's commit. */
        if (w->committed)
            w->committed(w->ud);
        else
            engine_deliver(e);
    }
    obligo_time due = 0;
    atomic_store(&w->next_due, engine_next_due(e, &due) == 1 ? (long long)due : 0);
}

/* Under load, lets the next group fill until commit_interval after the
 * last one began instead of committing each request the moment it comes.
 * Every commit is a disk flush; fewer, fuller groups spend less of the
 * machine on flushing (on a virtual machine whose host caps its CPU time,
 * the host's work for each flush counts against the cap, and once it is
 * used up the whole machine stops until the next period). A request waits
 * at most commit_interval longer, and not at all when the last group began
 * longer ago than that (light load). Called with the lock held and a job
 * queued; a full batch or writer_stop ends the wait. */
static void writer_pace(writer *w)
{
    if (w->commit_interval <= 0 || !w->head)
        return;
    double until = w->last_group + w->commit_interval;
    w->pacing = 1;
    for (;;) {
        double left = until - writer_seconds();
        if (left <= 0 || w->stopping || w->queued_events >= WRITER_BATCH_EVENTS)
            break;
        uv_cond_timedwait(&w->wake, &w->lock, (uint64_t)(left * 1e9));
    }
    w->pacing = 0;
    w->last_group = writer_seconds();
}

void writer_set_commit_interval(writer *w, double seconds)
{
    uv_mutex_lock(&w->lock);
    w->commit_interval = seconds > 0 ? seconds : 0;
    uv_mutex_unlock(&w->lock);
}

static void writer_main(void *arg)
{
    writer *w = arg;
    pthread_setname_np(pthread_self(), "obligo-writer");
    for (;;) {
        uv_mutex_lock(&w->lock);
        while (!w->head && !w->stopping)
            uv_cond_wait(&w->wake, &w->lock);
        writer_pace(w);
        if (!w->head) {
            uv_mutex_unlock(&w->lock);
            break;
        }
        /* Take whole jobs up to the batch size (at least one). A rule
         * reload ends a group and forms one of its own, so every event is
         * judged by the rules that were in force when it was submitted. */
        writer_job *first = w->head, *last = w->head;
        size_t events = (size_t)(first->kind == WRITER_EVENTS ? first->n : 0);
        while (first->kind != WRITER_RELOAD && last->next && last->next->kind != WRITER_RELOAD &&
               events + (size_t)(last->next->kind == WRITER_EVENTS ? last->next->n : 0) <=
                   WRITER_BATCH_EVENTS) {
            last = last->next;
            events += (size_t)(last->kind == WRITER_EVENTS ? last->n : 0);
        }
        w->head = last->next;
        if (!w->head)
            w->tail = NULL;
        last->next = NULL;
        w->queued_events -= events;
        uv_mutex_unlock(&w->lock);

        writer_group(w, first);

        uv_mutex_lock(&w->lock);
        if (w->done_tail)
            w->done_tail->next = first;
        else
            w->done_head = first;
        w->done_tail = last;
        uv_mutex_unlock(&w->lock);
        uv_async_send(&w->async);
    }
}

/* ---- the loop side -------------------------------------------------------- */

static void writer_deliver_done(writer *w)
{
    uv_mutex_lock(&w->lock);
    writer_job *j = w->done_head;
    w->done_head = w->done_tail = NULL;
    uv_mutex_unlock(&w->lock);
    while (j) {
        writer_job *next = j->next;
        j->next = NULL;
        w->done(j, w->ud);
        j = next;
    }
}

static void writer_on_async(uv_async_t *a)
{
    writer_deliver_done(a->data);
}

static void writer_free_after_close(uv_handle_t *h)
{
    writer *w = h->data;
    uv_cond_destroy(&w->wake);
    uv_mutex_destroy(&w->lock);
    obligo_free(w);
}

/* A libuv call of writer_start failed: *err (when err is not NULL) names
 * the step with libuv's words, and the code is mapped to error.h's table. */
static int writer_uv_fail(int uv_rc, const char *what, char **err)
{
    if (err)
        *err = obligo_asprintf("%s: %s", what, uv_strerror(uv_rc));
    return error_from_uv(uv_rc);
}

int writer_start(uv_loop_t *loop, engine *e, size_t max_queue_events, writer_done done, void *ud,
                 writer **out, char **err)
{
    if (err)
        *err = NULL;
    writer *w = obligo_calloc(1, sizeof *w);
    if (!w)
        return OBLIGO_ENOMEM;
    w->e = e;
    w->done = done;
    w->ud = ud;
    w->max_queue_events = max_queue_events ? max_queue_events : 65536;
    obligo_time due = 0;
    atomic_store(&w->next_due, engine_next_due(e, &due) == 1 ? (long long)due : 0);
    /* The counts /metrics shows are counted once here, then kept up to date
     * by the writer's own commits. */
    int rc = obligations_counts_start(&e->st);
    if (!rc)
        rc = outbox_counts_start(&e->st);
    if (rc) {
        if (err)
            *err = obligo_asprintf("counting obligations and alerts: %s", obligo_strerror(rc));
        goto fail_free;
    }
    rc = uv_mutex_init(&w->lock);
    if (rc) {
        rc = writer_uv_fail(rc, "creating its lock", err);
        goto fail_free;
    }
    if ((rc = uv_cond_init(&w->wake))) {
        rc = writer_uv_fail(rc, "creating its condition variable", err);
        goto fail_mutex;
    }
    if ((rc = uv_async_init(loop, &w->async, writer_on_async))) {
        rc = writer_uv_fail(rc, "creating its wake-up handle", err);
        goto fail_cond;
    }
    w->async.data = w;
    if ((rc = uv_thread_create(&w->thread, writer_main, w))) {
        /* the async handle is registered with the loop now: the writer is
         * freed in its close callback, when the caller runs the loop */
        uv_close((uv_handle_t *)&w->async, writer_free_after_close);
        return writer_uv_fail(rc, "creating the thread", err);
    }
    *out = w;
    return 0;
fail_cond:
    uv_cond_destroy(&w->wake);
fail_mutex:
    uv_mutex_destroy(&w->lock);
fail_free:
    obligo_free(w);
    return rc;
}

void writer_on_commit(writer *w, void (*committed)(void *ud))
{
    w->committed = committed;
}

int writer_submit(writer *w, writer_job *job)
{
    size_t n = job->kind == WRITER_EVENTS ? (size_t)job->n : 0;
    uv_mutex_lock(&w->lock);
    if (w->stopping || (n && w->queued_events + n > w->max_queue_events)) {
        uv_mutex_unlock(&w->lock);
        return OBLIGO_EBUSY;
    }
    job->next = NULL;
    if (w->tail)
        w->tail->next = job;
    else
        w->head = job;
    w->tail = job;
    w->queued_events += n;
    if (!w->pacing || w->queued_events >= WRITER_BATCH_EVENTS)
        uv_cond_signal(&w->wake);
    uv_mutex_unlock(&w->lock);
    return 0;
}

size_t writer_queued_events(writer *w)
{
    uv_mutex_lock(&w->lock);
    size_t n = w->queued_events;
    uv_mutex_unlock(&w->lock);
    return n;
}

int writer_next_due(writer *w, obligo_time *at)
{
    long long v = atomic_load(&w->next_due);
    if (!v)
        return 0;
    *at = (obligo_time)v;
    return 1;
}

void writer_stop(writer *w)
{
    uv_mutex_lock(&w->lock);
    w->stopping = 1;
    uv_cond_signal(&w->wake);
    uv_mutex_unlock(&w->lock);
    uv_thread_join(&w->thread);
    writer_deliver_done(w);
    uv_close((uv_handle_t *)&w->async, writer_free_after_close);
}
