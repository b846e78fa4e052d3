/*
 * reader.c — the reader threads and their queue (reader.h).
 *
 * Depends on store.c for the read-only connections and libuv for the
 * threads, their lock and the async wake-up. What a job reads is the
 * submitter's business (serve_reads.c): the pool only runs job->run.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "reader.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "error.h"

#define READER_MAX_THREADS 64

typedef struct reader_thread {
    reader_pool *pool;
    uv_thread_t thread;
    store st;
    int started;
} reader_thread;

struct reader_pool {
    uv_mutex_t lock;
    uv_cond_t wake;
    reader_job *head, *tail; /* waiting */
    unsigned queued;
    int stopping;
    atomic_uint in_flight; /* waiting or running */
    reader_thread *threads;
    int nthreads;
    /* finished jobs, handed to the loop */
    uv_async_t async;
    reader_job *done_head, *done_tail;
    reader_done done;
    void *ud;
};

#define READER_NICE 5

static void reader_main(void *arg)
{
    reader_thread *t = arg;
    reader_pool *p = t->pool;
    pthread_setname_np(pthread_self(), "obligo-reader");
    /* Bulk reads give way to what must stay quick: the loop thread's
     * answers (/healthz) and the writer's commits. On Linux a nice value
     * belongs to a thread; should it fail, reads run at normal priority. */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), READER_NICE);
    for (;;) {
        uv_mutex_lock(&p->lock);
        while (!p->head && !p->stopping)
            uv_cond_wait(&p->wake, &p->lock);
        reader_job *j = p->head;
        if (!j) {
            uv_mutex_unlock(&p->lock);
            break; /* stopping, and nothing is left */
        }
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        uv_mutex_unlock(&p->lock);

        j->next = NULL;
        j->run(j, &t->st);

        uv_mutex_lock(&p->lock);
        if (p->done_tail)
            p->done_tail->next = j;
        else
            p->done_head = j;
        p->done_tail = j;
        uv_mutex_unlock(&p->lock);
        uv_async_send(&p->async);
    }
}

static void reader_deliver_done(reader_pool *p)
{
    uv_mutex_lock(&p->lock);
    reader_job *j = p->done_head;
    p->done_head = p->done_tail = NULL;
    uv_mutex_unlock(&p->lock);
    while (j) {
        reader_job *next = j->next;
        j->next = NULL;
        atomic_fetch_sub(&p->in_flight, 1);
        p->done(j, p->ud);
        j = next;
    }
}

static void reader_on_async(uv_async_t *a)
{
    reader_deliver_done(a->data);
}

static void reader_free_after_close(uv_handle_t *h)
{
    reader_pool *p = h->data;
    uv_cond_destroy(&p->wake);
    uv_mutex_destroy(&p->lock);
    obligo_free(p->threads);
    obligo_free(p);
}

/* Stops and joins the threads that started and closes every connection. */
static void reader_join(reader_pool *p)
{
    uv_mutex_lock(&p->lock);
    p->stopping = 1;
    uv_cond_broadcast(&p->wake);
    uv_mutex_unlock(&p->lock);
    for (int i = 0; i < p->nthreads; i++) {
        if (p->threads[i].started)
            uv_thread_join(&p->threads[i].thread);
        store_close(&p->threads[i].st);
    }
}

int reader_start(uv_loop_t *loop, const char *db_path, int nthreads, reader_done done, void *ud,
                 reader_pool **out, char **err)
{
    *err = NULL;
    if (nthreads < 1 || nthreads > READER_MAX_THREADS)
        return OBLIGO_EINVAL;
    reader_pool *p = obligo_calloc(1, sizeof *p);
    reader_thread *threads = p ? obligo_calloc((size_t)nthreads, sizeof *threads) : NULL;
    if (!threads) {
        obligo_free(p);
        return OBLIGO_ENOMEM;
    }
    p->threads = threads;
    p->done = done;
    p->ud = ud;
    int rc = uv_mutex_init(&p->lock);
    if (rc == 0 && (rc = uv_cond_init(&p->wake)) != 0)
        uv_mutex_destroy(&p->lock);
    if (rc == 0 && (rc = uv_async_init(loop, &p->async, reader_on_async)) != 0) {
        uv_cond_destroy(&p->wake);
        uv_mutex_destroy(&p->lock);
    }
    if (rc) {
        *err = obligo_asprintf("cannot start the reader threads: %s", uv_strerror(rc));
        obligo_free(threads);
        obligo_free(p);
        return error_from_uv(rc);
    }
    p->async.data = p;
    /* Every connection is opened before any thread starts: a database that
     * cannot be read stops the daemon at start-up, not at the first GET. */
    for (int i = 0; i < nthreads && !rc; i++) {
        threads[i].pool = p;
        p->nthreads = i + 1;
        rc = store_open(&threads[i].st, db_path, 1, err);
    }
    for (int i = 0; i < nthreads && !rc; i++) {
        int urc = uv_thread_create(&threads[i].thread, reader_main, &threads[i]);
        if (urc) {
            *err = obligo_asprintf("cannot start a reader thread: %s", uv_strerror(urc));
            rc = error_from_uv(urc);
        } else {
            threads[i].started = 1;
        }
    }
    if (rc) {
        reader_join(p);
        uv_close((uv_handle_t *)&p->async, reader_free_after_close);
        return rc;
    }
    *out = p;
    return 0;
}

int reader_submit(reader_pool *p, reader_job *job)
{
    uv_mutex_lock(&p->lock);
    if (p->stopping || p->queued >= (unsigned)p->nthreads * READER_QUEUE_PER_THREAD) {
        uv_mutex_unlock(&p->lock);
        return OBLIGO_EBUSY;
    }
    job->next = NULL;
    if (p->tail)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    p->queued++;
    atomic_fetch_add(&p->in_flight, 1);
    uv_cond_signal(&p->wake);
    uv_mutex_unlock(&p->lock);
    return 0;
}

unsigned reader_in_flight(reader_pool *p)
{
    return p ? atomic_load(&p->in_flight) : 0;
}

void reader_stop(reader_pool *p)
{
    reader_join(p);
    reader_deliver_done(p);
    uv_close((uv_handle_t *)&p->async, reader_free_after_close);
}
