/*
 * reader.h — the reader threads of `obligo serve`: database reads off the
 * event loop.
 *
 * The loop thread parses and routes a GET and submits a reader_job; one of a
 * small pool of threads, each with a read-only connection of its own (WAL
 * lets it read while the writer commits), runs the job's function, which
 * fills in the answer. The finished job is handed back to the loop through a
 * uv_async, as writer.c hands back its results, and answered there. A read
 * that takes seconds (a large page, a large journaled event) then holds up
 * one reader thread, never the loop: /healthz, ingest and the other
 * connections go on.
 */
#ifndef OBLIGO_READER_H
#define OBLIGO_READER_H

#include <stddef.h>
#include <uv.h>

#include "store.h"

/* Reads waiting for a thread at most, per thread: beyond it reader_submit
 * refuses (the caller answers 503 with Retry-After). */
#define READER_QUEUE_PER_THREAD 64

typedef struct reader_job reader_job;

/* Runs on a reader thread with that thread's read-only store; fills
 * job->status, job->body and job->len. */
typedef void (*reader_run)(reader_job *job, store *st);

/* Embed as the first member of the submitter's own struct, which carries
 * the request's parameters; the pool touches only these fields. */
struct reader_job {
    reader_job *next;
    reader_run run;
    /* The answer, valid in the done callback: status code and a body the
     * the done callback frees with obligo_free, or NULL with status 500
     * (out of memory). */
    int status;
    char *body;
    size_t len;
    const char *content_type; /* static; NULL: application/json */
    const char *extra;        /* static extra header lines, or NULL */
};

typedef struct reader_pool reader_pool;

/* Called on the loop thread for each finished job; the callee owns it. */
typedef void (*reader_done)(reader_job *job, void *ud);

/* Opens nthreads (1..64) read-only connections to db_path and starts a
 * thread for each. Returns 0, or a negative code of error.h with *err set
 * to a message for a person (caller frees; NULL when memory ran out); on
 * failure nothing is left running but, possibly, the wake-up handle
 * closing on the loop's next turn. Loop thread. */
int reader_start(uv_loop_t *loop, const char *db_path, int nthreads, reader_done done, void *ud,
                 reader_pool **out, char **err);

/* Queues a job (not taken over on failure). Returns 0, or OBLIGO_EBUSY
 * when READER_QUEUE_PER_THREAD jobs per thread are waiting already or the
 * pool is stopping. Loop thread. */
int reader_submit(reader_pool *p, reader_job *job);

/* Reads waiting or running now. Any thread. */
unsigned reader_in_flight(reader_pool *p);

/* Finishes the queued jobs, stops the threads, hands the last results to
 * the done callback and frees the pool once its handle has closed. Loop
 * thread, not from a done callback. */
void reader_stop(reader_pool *p);

#endif
