/*
 * serve_deliver.c — the daemon's outbox thread: hands the alerts each commit
 * raised to their sinks (outbox.h), with a database connection of its own,
 * so that a slow sink (a webhook may take seconds) never holds up the loop
 * or the writer.
 *
 * serve_deliverer_start and serve_deliverer_stop run on the loop thread,
 * serve_committed on the writer thread, serve_deliver_main on its own.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <stdio.h>

#include "alloc.h"
#include "error.h"
#include "outbox.h"
#include "serve_internal.h"

static void serve_deliver_main(void *arg)
{
    serve_deliverer *d = arg;
    pthread_setname_np(pthread_self(), "obligo-deliver");
    for (;;) {
        uv_mutex_lock(&d->lock);
        while (!d->pending && !d->stopping) {
            if (uv_cond_timedwait(&d->wake, &d->lock, UINT64_C(1000000000)) == UV_ETIMEDOUT)
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
void serve_committed(void *ud)
{
    serve_deliverer *d = &((serve *)ud)->out;
    uv_mutex_lock(&d->lock);
    d->pending = 1;
    uv_cond_signal(&d->wake);
    uv_mutex_unlock(&d->lock);
}

/* Opens the outbox thread's connection and starts the thread. Returns 0,
 * or a negative code after saying why on stderr. */
int serve_deliverer_start(serve *s)
{
    serve_deliverer *d = &s->out;
    char *err = NULL;
    d->cfg = s->cfg;
    d->plugins = s->e->plugins;
    int rc = store_open(&d->st, s->cfg->db_path, 0, &err);
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

void serve_deliverer_stop(serve *s)
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
