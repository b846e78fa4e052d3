/*
 * writer.h — the database writer thread of `obligo serve`: group commit off
 * the event loop.
 *
 * The loop thread parses and validates requests and submits jobs; the writer
 * thread takes every job waiting (up to WRITER_BATCH_EVENTS events), runs
 * them through the pipeline in ONE transaction and commits once, so one
 * fsync covers many requests. Should a job fail (a full disk, memory), the
 * group is rolled back and each job runs again in a transaction of its own,
 * so one job's failure never costs another's events (writer.c,
 * writer_group). Only then are the jobs handed back to the loop
 * (through a uv_async) to be answered: a request is acknowledged only after
 * its own events are on disk.
 *
 * The engine belongs to the writer thread while it runs. Deadline firing,
 * health checks, statistics and the swap of a reloaded rule set are jobs
 * too, so every database write happens on one thread. (The reload gate
 * itself, which compiles and tests the new set, runs before the job is
 * submitted, off this thread: gate.h.)
 */
#ifndef OBLIGO_WRITER_H
#define OBLIGO_WRITER_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <uv.h>

#include "engine.h"
#include "metrics.h"

#define WRITER_BATCH_EVENTS 4096
#define WRITER_FIRE_BATCH 2000 /* deadlines fired per group at most */

typedef enum writer_kind {
    WRITER_EVENTS, /* journal and judge `events`; all or nothing */
    WRITER_FIRE,   /* fire the deadlines due now */
    WRITER_HEALTH, /* a write and commit: is the database writable? */
    WRITER_STATS,  /* a snapshot of counters for /metrics */
    WRITER_RELOAD, /* put the reload gate's outcome (gate.h) into effect */
    WRITER_REJECT, /* keep refused input (raws[0]) with origin, field, reason */
    WRITER_DUTIES, /* the running rule set's obligation kinds as JSON text, in message */
} writer_kind;

typedef struct writer_job {
    struct writer_job *next;
    writer_kind kind;
    void *ud; /* the submitter's context, untouched by the writer */

    /* WRITER_EVENTS input, owned by the job (writer_job_free). */
    cJSON **events;
    char **raws;
    size_t *lens;
    int n;
    obligo_time late_before;       /* WRITER_FIRE: timers due before it are marked late */
    char *origin, *field, *reason; /* WRITER_REJECT, owned; origin also WRITER_EVENTS
                                      ("http /v1/events": where a conflict came from) */
    /* WRITER_RELOAD: the set that passed the gate, taken over by the
     * writer; or NULL with rc and message saying why the gate refused. */
    rules *fresh;
    /* WRITER_EVENTS, set by the submitter: atomic makes an event whose
     * identity names another fail the whole job (rc OBLIGO_EINVAL,
     * conflict_at its index) instead of refusing that event alone (a FHIR
     * transaction); outcomes, when not NULL (n ints, owned by the job),
     * receives per event 0 (new), JOURNAL_DUPLICATE or JOURNAL_CONFLICT. */
    int atomic;
    int conflict_at;
    int *outcomes;

    /* Results, valid in the done callback. */
    int rc;          /* 0, or why the job was not committed */
    long accepted;   /* new events committed */
    long duplicates; /* events seen before */
    long conflicts;  /* events whose source and id name another event: refused */
    cJSON *refused;  /* [{index, field, error}] of those, or NULL */
    char *message;   /* WRITER_RELOAD: what happened, for a person (in: the gate's why) */
    /* WRITER_STATS */
    engine_stats stats;
    long obligations[5]; /* open, fulfilled, overdue, late, cancelled: running counts */
    metrics_alert_count alerts[METRICS_MAX_ALERT_KINDS]; /* running counts, most first */
    int nalerts;
    long outbox_backlog;
    char revision[17];
    metrics_histogram commit_seconds; /* begin to durable commit, per group */
} writer_job;

typedef struct writer writer;

/* Called on the loop thread for each finished job; the callee owns the job
 * and frees it with writer_job_free. */
typedef void (*writer_done)(writer_job *job, void *ud);

/* Starts the thread. The engine is used only by the writer until
 * writer_stop returns. max_queue_events bounds the events waiting (0: 65,536).
 * Returns 0 or a negative code of error.h (libuv's mapped with
 * error_from_uv), *out untouched on failure; the caller then still runs the
 * loop once, which may hold the writer's closing wake-up handle. When err is
 * not NULL, *err is set to NULL or, on failure, to a message for a person
 * naming the step with libuv's words (caller frees with obligo_free; NULL
 * when memory ran out). Loop thread. */
int writer_start(uv_loop_t *loop, engine *e, size_t max_queue_events, writer_done done, void *ud,
                 writer **out, char **err);

/* Called on the writer thread after each successful commit (alerts may be
 * waiting for delivery), with the ud of writer_start. Set before jobs are
 * submitted; NULL: the writer delivers alerts itself after each commit. */
void writer_on_commit(writer *w, void (*committed)(void *ud));

/* The least time between the starts of two groups (0, the default: none).
 * Under load the writer lets a group fill that long instead of flushing the
 * disk for each request (writer.c, writer_pace). Any thread. */
void writer_set_commit_interval(writer *w, double seconds);

/* Queues a job (taking ownership). Returns 0, or OBLIGO_EBUSY when the queue
 * is full (back-pressure: the caller answers 503 and keeps the job). Loop
 * thread. */
int writer_submit(writer *w, writer_job *job);

/* Events waiting to be written. Any thread. */
size_t writer_queued_events(writer *w);

/* The earliest armed deadline after the last commit (1 with *at filled, 0
 * when none). Any thread. */
int writer_next_due(writer *w, obligo_time *at);

/* Finishes the queued jobs, stops the thread, delivers the last results and
 * frees the writer. Loop thread; must not be called from a done callback. */
void writer_stop(writer *w);

writer_job *writer_job_new(writer_kind kind, void *ud);
void writer_job_free(writer_job *job);

#endif
