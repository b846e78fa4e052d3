/*
 * test_writer.c — the writer thread (engine/writer.c) with a real libuv loop
 * and a real database file: events jobs and their counts, group commit, a
 * failing job undone alone inside its group, back-pressure, health checks,
 * rule reloads, deadline firing and the next-deadline report.
 *
 * Holding the writer. Several tests need jobs to be queued while the writer
 * is busy. Timing (a slow rule, a sleep) cannot guarantee that: the test
 * thread may be descheduled for as long as the writer is busy. Instead the
 * test installs its own SQLite busy handler on the engine's connection
 * (before writer_start, while the engine still belongs to this thread) and
 * holds the write lock on a second connection. A hold job's BEGIN IMMEDIATE
 * then finds the database locked and the writer thread enters the busy
 * handler, which says so on a semaphore and waits on another one. When the
 * test has seen the first semaphore, the writer has taken the hold job off
 * the queue (alone: nothing else was queued) and cannot take anything else
 * until the test releases it: everything submitted meanwhile waits in the
 * queue, and the next group takes all of it at once. No sleeps, no clocks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <uv.h>

#include "alloc.h"
#include "clock.h"
#include "engine.h"
#include "error.h"
#include "gate.h"
#include "obligations.h"
#include "outbox.h"
#include "store.h"
#include "support.h"
#include "writer.h"

static const char RULES[] =
    "obligation \"t.duty\" { title = \"Plicht\", source = \"test\", due = hours(10),\n"
    "  remind = { before(hours(2)) } }\n"
    "rule \"t.open\" { title = \"x\", source = \"y\", on = \"t.open\",\n"
    "  run = function(e, act) act.open(\"t.duty\", e.data.id, { from = e.time }) end }\n"
    "rule \"t.done\" { title = \"x\", source = \"y\", on = \"t.done\",\n"
    "  run = function(e, act) act.fulfil(\"t.duty\", e.data.id, { at = e.time }) end }\n";

#define MAX_DONE 256

typedef struct fixture {
    char *dir;
    char db_path[1024];
    config cfg;
    engine e;
    uv_loop_t loop;
    int loop_closed;
    writer *w;
    /* finished jobs, in the order the done callback saw them */
    writer_job *done[MAX_DONE];
    int ndone;
    /* the hold (see the top of the file) */
    sqlite3 *blocker;
    uv_sem_t entered, release;
    atomic_int armed;
    int holding;
} fixture;

/* ---- the fixture ---------------------------------------------------------- */

/* Runs on the writer thread when the engine's connection finds the database
 * locked. Armed once per hold; otherwise gives up at once (nothing else
 * writes to the database in these tests). */
static int hold_busy(void *ud, int count)
{
    fixture *f = ud;
    (void)count;
    if (!atomic_exchange(&f->armed, 0))
        return 0;
    uv_sem_post(&f->entered);
    uv_sem_wait(&f->release);
    return 1; /* try again: the test released the lock before posting */
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    char *p = support_write(f->dir, "rules/t.lua", RULES);
    free(p);
    char *err = NULL;
    assert_int_equal(config_load(&f->cfg, NULL, &err), 0);
    snprintf(f->db_path, sizeof f->db_path, "%s/db/obligo.db", f->dir);
    config_set(&f->cfg.db_path, f->db_path);
    char path[1024];
    snprintf(path, sizeof path, "%s/rules", f->dir);
    config_set(&f->cfg.rules_dir, path);
    /* alerts go to a file sink so the test output stays clean */
    obligo_free(f->cfg.sinks[0]);
    snprintf(path, sizeof path, "file:%s/alerts.jsonl", f->dir);
    f->cfg.sinks[0] = obligo_strdup(path);
    if (engine_open(&f->e, &f->cfg, 0, &err))
        fail_msg("%s", err);
    /* the engine belongs to this thread until writer_start */
    sqlite3_busy_handler(f->e.st.db, hold_busy, f);
    assert_int_equal(sqlite3_open_v2(f->db_path, &f->blocker, SQLITE_OPEN_READWRITE, NULL),
                     SQLITE_OK);
    assert_int_equal(uv_sem_init(&f->entered, 0), 0);
    assert_int_equal(uv_sem_init(&f->release, 0), 0);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    *state = f;
    return 0;
}

static void release(fixture *f)
{
    assert_int_equal(sqlite3_exec(f->blocker, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    f->holding = 0;
    uv_sem_post(&f->release);
}

/* Stops the writer (running the last done callbacks), lets the loop close
 * the writer's handle and closes the loop, which must have nothing left. */
static void stop(fixture *f)
{
    writer_stop(f->w);
    f->w = NULL;
    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
    f->loop_closed = 1;
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->holding)
        release(f); /* a test failed during a hold: let the writer go */
    if (f->w) {
        writer_stop(f->w);
        f->w = NULL;
    }
    if (!f->loop_closed) {
        uv_run(&f->loop, UV_RUN_DEFAULT);
        uv_loop_close(&f->loop);
    }
    for (int i = 0; i < f->ndone; i++)
        writer_job_free(f->done[i]);
    sqlite3_close(f->blocker);
    uv_sem_destroy(&f->entered);
    uv_sem_destroy(&f->release);
    engine_close(&f->e);
    config_free(&f->cfg);
    support_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Loop thread: keeps the finished job for the test to inspect (freed in
 * teardown). */
static void on_done(writer_job *job, void *ud)
{
    fixture *f = ud;
    if (f->ndone < MAX_DONE)
        f->done[f->ndone++] = job;
    else
        writer_job_free(job);
}

static void start(fixture *f, size_t max_queue_events)
{
    assert_int_equal(writer_start(&f->loop, &f->e, max_queue_events, on_done, f, &f->w, NULL), 0);
}

/* Runs the loop until n jobs in all have finished. The writer's async handle
 * keeps the loop waiting for it, so each turn blocks until a delivery. */
static void run_until(fixture *f, int n)
{
    while (f->ndone < n)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(f->ndone, n);
}

static void submit(fixture *f, writer_job *j)
{
    assert_int_equal(writer_submit(f->w, j), 0);
}

/* Blocks the writer inside a group of its own (a WRITER_HEALTH job) and
 * returns that job; see the top of the file. */
static writer_job *hold(fixture *f)
{
    atomic_store(&f->armed, 1);
    assert_int_equal(sqlite3_exec(f->blocker, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    f->holding = 1;
    writer_job *h = writer_job_new(WRITER_HEALTH, NULL);
    submit(f, h);
    uv_sem_wait(&f->entered);
    return h;
}

/* ---- jobs ------------------------------------------------------------------ */

typedef struct ev {
    const char *id, *type, *time, *subject;
} ev;

/* Adds one event to an events job: raw text and parsed event, both owned by
 * the job. */
static void job_add(writer_job *j, char *raw, cJSON *event)
{
    j->raws = obligo_realloc(j->raws, (size_t)(j->n + 1) * sizeof *j->raws);
    j->lens = obligo_realloc(j->lens, (size_t)(j->n + 1) * sizeof *j->lens);
    j->events = obligo_realloc(j->events, (size_t)(j->n + 1) * sizeof *j->events);
    assert_non_null(j->raws);
    assert_non_null(j->lens);
    assert_non_null(j->events);
    j->raws[j->n] = raw;
    j->lens[j->n] = strlen(raw);
    j->events[j->n] = event;
    j->n++;
}

static void job_add_ev(fixture *f, writer_job *j, const ev *e)
{
    char *raw = obligo_asprintf("{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"s\","
                                "\"type\":\"%s\",\"time\":\"%s\",\"data\":{\"id\":\"%s\"}}",
                                e->id, e->type, e->time, e->subject);
    assert_non_null(raw);
    char *field = NULL, *reason = NULL;
    cJSON *event = engine_decode(&f->e, raw, strlen(raw), &field, &reason);
    if (!event)
        fail_msg("%s", reason);
    job_add(j, raw, event);
}

static writer_job *job_of(fixture *f, const ev *evs, int n)
{
    writer_job *j = writer_job_new(WRITER_EVENTS, NULL);
    assert_non_null(j);
    for (int i = 0; i < n; i++)
        job_add_ev(f, j, &evs[i]);
    return j;
}

#define JOB(f, ...)                                                                                \
    job_of((f), (const ev[]){__VA_ARGS__}, (int)(sizeof((const ev[]){__VA_ARGS__}) / sizeof(ev)))

/* One t.open event for subject `subject` with id `id`. */
static writer_job *open_job(fixture *f, const char *id, const char *subject)
{
    return JOB(f, {id, "t.open", "2026-01-01T10:00:00Z", subject});
}

static long count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    long n = (long)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

static long count_event(sqlite3 *db, const char *id)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM events WHERE source='s' AND id='%s'", id);
    return count(db, sql);
}

static const char *status_of(engine *e, const char *subject, char *buf, size_t n)
{
    cJSON *o = obligations_latest(&e->st, "t.duty", subject);
    snprintf(buf, n, "%s", o ? support_str(o, "status") : "none");
    cJSON_Delete(o);
    return buf;
}

/* ---- tests ----------------------------------------------------------------- */

static void events_jobs_report_counts_and_are_stored(void **state)
{
    fixture *f = *state;
    start(f, 0);
    /* processed in submission order, whatever the grouping */
    writer_job *a = JOB(f, {"a", "t.open", "2026-01-01T10:00:00Z", "A"},
                        {"b", "t.open", "2026-01-01T10:00:00Z", "B"});
    writer_job *b = JOB(f, {"b", "t.open", "2026-01-01T10:00:00Z", "B"},
                        {"c", "t.open", "2026-01-01T10:00:00Z", "C"});
    writer_job *c = JOB(f, {"a", "t.open", "2026-01-01T10:00:00Z", "A"},
                        {"a", "t.open", "2026-01-01T10:00:00Z", "A"});
    writer_job *d = JOB(f, {"d", "t.done", "2026-01-01T11:00:00Z", "A"});
    submit(f, a);
    submit(f, b);
    submit(f, c);
    submit(f, d);
    run_until(f, 4);
    /* each job is answered once, in order */
    assert_ptr_equal(f->done[0], a);
    assert_ptr_equal(f->done[1], b);
    assert_ptr_equal(f->done[2], c);
    assert_ptr_equal(f->done[3], d);
    assert_int_equal(a->rc, 0);
    assert_int_equal(a->accepted, 2);
    assert_int_equal(a->duplicates, 0);
    assert_int_equal(b->rc, 0);
    assert_int_equal(b->accepted, 1);
    assert_int_equal(b->duplicates, 1);
    assert_int_equal(c->rc, 0);
    assert_int_equal(c->accepted, 0);
    assert_int_equal(c->duplicates, 2);
    assert_int_equal(d->rc, 0);
    assert_int_equal(d->accepted, 1);
    assert_int_equal(writer_queued_events(f->w), 0);

    /* answered means committed: a second, read-only connection sees the
     * events while the writer still runs */
    store ro;
    char *err = NULL;
    if (store_open(&ro, f->db_path, 1, &err))
        fail_msg("%s", err);
    assert_int_equal(count(ro.db, "SELECT count(*) FROM events"), 4);
    assert_int_equal(count(ro.db, "SELECT count(*) FROM obligations"), 3);
    store_close(&ro);

    stop(f);
    assert_int_equal(count(f->e.st.db, "SELECT count(*) FROM events"), 4);
    assert_int_equal(f->e.stats.accepted, 4);
    assert_int_equal(f->e.stats.duplicates, 3);
    char buf[32];
    assert_string_equal(status_of(&f->e, "A", buf, sizeof buf), "fulfilled");
    assert_string_equal(status_of(&f->e, "B", buf, sizeof buf), "open");
    assert_string_equal(status_of(&f->e, "C", buf, sizeof buf), "open");
}

static void jobs_queued_behind_a_busy_writer_share_one_commit(void **state)
{
    fixture *f = *state;
    enum { NJOBS = 50 };
    start(f, 0);
    /* group 1: the hold job alone; the writer is stuck inside it */
    writer_job *h = hold(f);
    writer_job *jobs[NJOBS];
    for (int i = 0; i < NJOBS; i++) {
        char id[16], subject[16];
        snprintf(id, sizeof id, "g%d", i);
        snprintf(subject, sizeof subject, "G%d", i);
        jobs[i] = open_job(f, id, subject);
        submit(f, jobs[i]);
    }
    writer_job *stats = writer_job_new(WRITER_STATS, NULL);
    submit(f, stats);
    assert_int_equal(writer_queued_events(f->w), NJOBS);
    release(f);
    run_until(f, NJOBS + 2);
    assert_int_equal(h->rc, 0);
    for (int i = 0; i < NJOBS; i++) {
        assert_int_equal(jobs[i]->rc, 0);
        assert_int_equal(jobs[i]->accepted, 1);
        assert_int_equal(jobs[i]->duplicates, 0);
    }
    /* Deterministic: while the writer was held, all 51 jobs were queued, so
     * the next group took them all (51 events, far below
     * WRITER_BATCH_EVENTS). Two commits in all: the hold's group and this
     * one; the statistics are taken after their own group's commit. */
    assert_int_equal(stats->rc, 0);
    assert_int_equal(stats->commit_seconds.count, 2);
    assert_true(stats->commit_seconds.count < NJOBS);
    assert_int_equal(stats->stats.accepted, NJOBS);
    assert_int_equal(stats->obligations[0], NJOBS);
    assert_int_equal(writer_queued_events(f->w), 0);
    stop(f);
    assert_int_equal(count(f->e.st.db, "SELECT count(*) FROM events"), NJOBS);
}

/* With a commit interval, requests that come while the last group is
 * recent wait and go in one group, instead of one flush each. The interval
 * is long (2 s) so that the three jobs, submitted 50 ms apart, certainly
 * arrive inside it; the sleeps are the arrival times, not a wait for the
 * writer. */
static void commits_are_paced_into_fuller_groups(void **state)
{
    fixture *f = *state;
    start(f, 0);
    writer_set_commit_interval(f->w, 2.0);
    writer_job *a = open_job(f, "p0", "P0");
    submit(f, a);
    run_until(f, 1);
    assert_int_equal(a->rc, 0);
    /* a group began just now: these wait for the interval, together */
    writer_job *jobs[3];
    for (int i = 0; i < 3; i++) {
        char id[16], subject[16];
        snprintf(id, sizeof id, "p%d", i + 1);
        snprintf(subject, sizeof subject, "P%d", i + 1);
        jobs[i] = open_job(f, id, subject);
        submit(f, jobs[i]);
        /* requests arriving apart: without pacing each would be a group
         * (the writer commits one in far less than 50 ms) */
        uv_sleep(50);
    }
    writer_job *stats = writer_job_new(WRITER_STATS, NULL);
    submit(f, stats);
    run_until(f, 5);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(jobs[i]->rc, 0);
        assert_int_equal(jobs[i]->accepted, 1);
    }
    assert_int_equal(stats->commit_seconds.count, 2); /* a's group, then one for the rest */
    assert_int_equal(stats->stats.accepted, 4);
    /* Stopping ends the wait: with an interval of 1,000 s a job submitted
     * now would otherwise keep writer_stop (and this test) waiting. */
    writer_set_commit_interval(f->w, 1000.0);
    writer_job *last = open_job(f, "p4", "P4");
    submit(f, last);
    stop(f);
    assert_int_equal(f->ndone, 6);
    assert_int_equal(last->rc, 0);
    assert_int_equal(last->accepted, 1);
    assert_int_equal(count(f->e.st.db, "SELECT count(*) FROM events"), 5);
}

static void failing_job_is_undone_alone_in_its_group(void **state)
{
    fixture *f = *state;
    /* An event that passed nothing: no source. The engine refuses it before
     * journaling it (checked here while the engine is still ours). */
    cJSON *bad = cJSON_CreateObject();
    cJSON_AddStringToObject(bad, "specversion", "1.0");
    cJSON_AddStringToObject(bad, "id", "x2");
    cJSON_AddStringToObject(bad, "type", "t.open");
    cJSON_AddStringToObject(bad, "time", "2026-01-01T10:00:00Z");
    cJSON_AddObjectToObject(bad, "data");
    char *bad_raw = cJSON_PrintUnformatted(bad);
    assert_non_null(bad_raw);
    char *field = NULL, *reason = NULL;
    assert_null(engine_decode(&f->e, bad_raw, strlen(bad_raw), &field, &reason));
    assert_string_equal(field, "source");
    obligo_free(field);
    obligo_free(reason);
    int dup = 0;
    assert_int_equal(engine_begin(&f->e), 0);
    assert_int_equal(engine_event(&f->e, bad, bad_raw, strlen(bad_raw), &dup), OBLIGO_EINVAL);
    engine_rollback(&f->e);

    start(f, 0);
    writer_job *h = hold(f);
    writer_job *before = open_job(f, "x0", "X0");
    /* the failing job: its first event is fine and is applied before the
     * second one fails */
    writer_job *failing = open_job(f, "x1", "X1");
    job_add(failing, bad_raw, bad);
    writer_job *after = open_job(f, "x3", "X3");
    submit(f, before);
    submit(f, failing);
    submit(f, after);
    writer_job *stats = writer_job_new(WRITER_STATS, NULL);
    submit(f, stats);
    release(f);
    run_until(f, 5);
    assert_int_equal(h->rc, 0);
    assert_int_equal(before->rc, 0);
    assert_int_equal(before->accepted, 1);
    assert_int_equal(failing->rc, OBLIGO_EINVAL);
    assert_int_equal(failing->accepted, 0);
    assert_int_equal(after->rc, 0);
    assert_int_equal(after->accepted, 1);
    /* the group was rolled back and its jobs ran alone: the held job's
     * commit, then one each for the two good jobs; the failed job's counts
     * were undone too */
    assert_int_equal(stats->commit_seconds.count, 3);
    assert_int_equal(stats->stats.accepted, 2);
    assert_int_equal(stats->obligations[0], 2);
    stop(f);
    assert_int_equal(count_event(f->e.st.db, "x0"), 1);
    assert_int_equal(count_event(f->e.st.db, "x1"), 0);
    assert_int_equal(count_event(f->e.st.db, "x3"), 1);
    assert_int_equal(count(f->e.st.db, "SELECT count(*) FROM events"), 2);
    assert_int_equal(count(f->e.st.db, "SELECT count(*) FROM decisions"), 2);
    assert_int_equal(count(f->e.st.db, "SELECT count(*) FROM timers"), 4);
    char buf[32];
    assert_string_equal(status_of(&f->e, "X0", buf, sizeof buf), "open");
    assert_string_equal(status_of(&f->e, "X1", buf, sizeof buf), "none");
    assert_string_equal(status_of(&f->e, "X3", buf, sizeof buf), "open");
    assert_int_equal(f->e.stats.accepted, 2);
}

static void full_queue_refuses_and_the_caller_keeps_the_job(void **state)
{
    fixture *f = *state;
    start(f, 10);
    writer_job *h = hold(f);
    /* the hold job was taken off the queue: exactly what follows waits */
    assert_int_equal(writer_queued_events(f->w), 0);
    writer_job *six = writer_job_new(WRITER_EVENTS, NULL);
    for (int i = 0; i < 6; i++) {
        char id[16], subject[16];
        snprintf(id, sizeof id, "q%d", i);
        snprintf(subject, sizeof subject, "Q%d", i);
        job_add_ev(f, six, &(ev){id, "t.open", "2026-01-01T10:00:00Z", subject});
    }
    writer_job *four = JOB(f, {"q6", "t.open", "2026-01-01T10:00:00Z", "Q6"},
                           {"q7", "t.open", "2026-01-01T10:00:00Z", "Q7"},
                           {"q8", "t.open", "2026-01-01T10:00:00Z", "Q8"},
                           {"q9", "t.open", "2026-01-01T10:00:00Z", "Q9"});
    submit(f, six);
    submit(f, four);
    assert_int_equal(writer_queued_events(f->w), 10);
    /* an 11th event does not fit: refused, and the job is still ours */
    writer_job *one = open_job(f, "q10", "Q10");
    assert_int_equal(writer_submit(f->w, one), OBLIGO_EBUSY);
    assert_int_equal(writer_queued_events(f->w), 10);
    assert_null(one->next);
    writer_job_free(one);
    /* neither does a larger one */
    writer_job *two = JOB(f, {"q11", "t.open", "2026-01-01T10:00:00Z", "Q11"},
                          {"q12", "t.open", "2026-01-01T10:00:00Z", "Q12"});
    assert_int_equal(writer_submit(f->w, two), OBLIGO_EBUSY);
    /* jobs without events are not held back by a full queue */
    writer_job *health = writer_job_new(WRITER_HEALTH, NULL);
    submit(f, health);
    release(f);
    run_until(f, 4);
    assert_int_equal(h->rc, 0);
    assert_int_equal(six->rc, 0);
    assert_int_equal(six->accepted, 6);
    assert_int_equal(four->rc, 0);
    assert_int_equal(four->accepted, 4);
    assert_int_equal(health->rc, 0);
    /* drained: the refused job goes in now */
    assert_int_equal(writer_queued_events(f->w), 0);
    submit(f, two);
    run_until(f, 5);
    assert_int_equal(two->rc, 0);
    assert_int_equal(two->accepted, 2);
    stop(f);
    assert_int_equal(count(f->e.st.db, "SELECT count(*) FROM events"), 12);
    assert_int_equal(count_event(f->e.st.db, "q10"), 0);
}

/* A reload as `obligo serve` makes one: the gate (gate.h) runs here, on
 * this thread, while the writer goes on; the job puts its outcome into
 * effect. */
static writer_job *reload_job(fixture *f)
{
    writer_job *j = writer_job_new(WRITER_RELOAD, NULL);
    assert_non_null(j);
    j->rc = gate_prepare(f->e.cfg, f->e.plugins, NULL, &j->fresh, NULL, &j->message);
    return j;
}

static void health_and_reload_keep_the_old_rules_on_failure(void **state)
{
    fixture *f = *state;
    start(f, 0);
    writer_job *health = writer_job_new(WRITER_HEALTH, NULL);
    writer_job *stats0 = writer_job_new(WRITER_STATS, NULL);
    submit(f, health);
    submit(f, stats0);
    run_until(f, 2);
    assert_int_equal(health->rc, 0);
    assert_int_equal(strlen(stats0->revision), 16);

    /* a syntax error on line 2 of a new file */
    char *p = support_write(f->dir, "rules/z.lua", "-- a new rule\nlocal x = = 1\n");
    free(p);
    writer_job *broken = reload_job(f);
    submit(f, broken);
    run_until(f, 3);
    assert_int_not_equal(broken->rc, 0);
    assert_non_null(broken->message);
    if (!strstr(broken->message, "z.lua:2:"))
        fail_msg("the message does not name z.lua:2: %s", broken->message);
    assert_non_null(strstr(broken->message, stats0->revision));

    /* the old rules keep working */
    writer_job *r = open_job(f, "r1", "R");
    writer_job *stats1 = writer_job_new(WRITER_STATS, NULL);
    submit(f, r);
    submit(f, stats1);
    run_until(f, 5);
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->accepted, 1);
    assert_string_equal(stats1->revision, stats0->revision);
    assert_int_equal(stats1->obligations[0], 1);

    /* fixed: the reload succeeds and the new rule answers */
    p = support_write(f->dir, "rules/z.lua",
                      "rule \"z.open\" { title = \"x\", source = \"y\", on = \"z.open\",\n"
                      "  run = function(e, act) act.open(\"t.duty\", e.data.id,\n"
                      "    { from = e.time }) end }\n");
    free(p);
    writer_job *fixed = reload_job(f);
    submit(f, fixed);
    run_until(f, 6);
    assert_int_equal(fixed->rc, 0);
    assert_non_null(fixed->message);
    assert_non_null(strstr(fixed->message, "rules reloaded"));
    writer_job *z = JOB(f, {"z1", "z.open", "2026-01-01T10:00:00Z", "Z"});
    writer_job *stats2 = writer_job_new(WRITER_STATS, NULL);
    submit(f, z);
    submit(f, stats2);
    run_until(f, 8);
    assert_int_equal(z->rc, 0);
    assert_string_not_equal(stats2->revision, stats0->revision);
    assert_non_null(strstr(fixed->message, stats2->revision));
    assert_int_equal(stats2->obligations[0], 2);
    stop(f);
    char buf[32];
    assert_string_equal(status_of(&f->e, "R", buf, sizeof buf), "open");
    assert_string_equal(status_of(&f->e, "Z", buf, sizeof buf), "open");
    /* the health check wrote and committed */
    char *stamp = store_meta_get(&f->e.st, "healthz");
    assert_non_null(stamp);
    obligo_free(stamp);
}

static void fire_job_marks_past_due_obligations_overdue(void **state)
{
    fixture *f = *state;
    start(f, 0);
    /* due 2020-01-01T20:00Z, its reminder at 18:00Z: long past */
    writer_job *o = JOB(f, {"f1", "t.open", "2020-01-01T10:00:00Z", "F"});
    submit(f, o);
    run_until(f, 1);
    assert_int_equal(o->rc, 0);
    obligo_time at = 0, want = 0;
    assert_int_equal(writer_next_due(f->w, &at), 1);
    assert_int_equal(clock_parse_rfc3339("2020-01-01T18:00:00Z", &want), 0);
    assert_int_equal(at, want);

    writer_job *fire = writer_job_new(WRITER_FIRE, NULL);
    /* the due instant counts as fallen due while stopped */
    assert_int_equal(clock_parse_rfc3339("2020-01-01T20:00:01Z", &fire->late_before), 0);
    writer_job *stats = writer_job_new(WRITER_STATS, NULL);
    submit(f, fire);
    submit(f, stats);
    run_until(f, 3);
    assert_int_equal(fire->rc, 0);
    assert_int_equal(stats->stats.fired, 2);
    assert_int_equal(stats->stats.accepted, 1); /* the engine's own events are not senders' */
    assert_int_equal(stats->obligations[0], 0);
    assert_int_equal(stats->obligations[2], 1);
    assert_int_equal(writer_next_due(f->w, &at), 0);

    /* firing again finds nothing */
    writer_job *again = writer_job_new(WRITER_FIRE, NULL);
    writer_job *stats2 = writer_job_new(WRITER_STATS, NULL);
    submit(f, again);
    submit(f, stats2);
    run_until(f, 5);
    assert_int_equal(again->rc, 0);
    assert_int_equal(stats2->stats.fired, 2);
    stop(f);

    char buf[32];
    assert_string_equal(status_of(&f->e, "F", buf, sizeof buf), "overdue");
    outbox_filter flt = {.kind = "obligo.obligation_overdue"};
    cJSON *alerts = outbox_list(&f->e.st, &flt);
    assert_int_equal(cJSON_GetArraySize(alerts), 1);
    cJSON *data = cJSON_GetObjectItem(cJSON_GetArrayItem(alerts, 0), "data");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(data, "late")));
    cJSON_Delete(alerts);
    /* the reminder of a duty already past due says nothing */
    flt.kind = "obligo.obligation_reminder";
    alerts = outbox_list(&f->e.st, &flt);
    assert_int_equal(cJSON_GetArraySize(alerts), 0);
    cJSON_Delete(alerts);
    assert_int_equal(count(f->e.st.db, "SELECT count(*) FROM timers"), 0);
}

static void next_due_follows_each_commit(void **state)
{
    fixture *f = *state;
    /* a deadline that existed before the writer started */
    assert_int_equal(engine_begin(&f->e), 0);
    writer_job *pre = open_job(f, "n0", "N0");
    int dup = 0;
    assert_int_equal(engine_event(&f->e, pre->events[0], pre->raws[0], pre->lens[0], &dup), 0);
    assert_int_equal(engine_commit(&f->e), 0);
    writer_job_free(pre);
    obligo_time a = 0, b = 0, at = 0;
    assert_int_equal(clock_parse_rfc3339("2026-01-01T18:00:00Z", &a), 0);
    assert_int_equal(clock_parse_rfc3339("2025-12-01T18:00:00Z", &b), 0);

    start(f, 0);
    assert_int_equal(writer_next_due(f->w, &at), 1);
    assert_int_equal(at, a);

    /* an earlier duty: its reminder is the next deadline */
    writer_job *j1 = JOB(f, {"n1", "t.open", "2025-12-01T10:00:00Z", "N1"});
    submit(f, j1);
    run_until(f, 1);
    assert_int_equal(j1->rc, 0);
    assert_int_equal(writer_next_due(f->w, &at), 1);
    assert_int_equal(at, b);

    /* fulfilled: its timers go, the first duty's reminder is next again */
    writer_job *j2 = JOB(f, {"n2", "t.done", "2025-12-01T12:00:00Z", "N1"});
    submit(f, j2);
    run_until(f, 2);
    assert_int_equal(j2->rc, 0);
    assert_int_equal(writer_next_due(f->w, &at), 1);
    assert_int_equal(at, a);

    /* a job that fails changes nothing */
    writer_job *j3 = JOB(f, {"n3", "t.open", "2025-11-01T10:00:00Z", "N3"});
    cJSON *bad = cJSON_CreateObject();
    cJSON_AddStringToObject(bad, "specversion", "1.0");
    cJSON_AddStringToObject(bad, "id", "n4");
    cJSON_AddStringToObject(bad, "type", "t.open");
    cJSON_AddStringToObject(bad, "time", "2025-11-01T10:00:00Z");
    job_add(j3, obligo_strdup("{}"), bad);
    submit(f, j3);
    run_until(f, 3);
    assert_int_equal(j3->rc, OBLIGO_EINVAL);
    assert_int_equal(writer_next_due(f->w, &at), 1);
    assert_int_equal(at, a);

    /* fulfilling the last duty leaves no deadline */
    writer_job *j4 = JOB(f, {"n5", "t.done", "2026-01-01T12:00:00Z", "N0"});
    submit(f, j4);
    run_until(f, 4);
    assert_int_equal(j4->rc, 0);
    assert_int_equal(writer_next_due(f->w, &at), 0);
    stop(f);
}

int main(void)
{
    engine_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(events_jobs_report_counts_and_are_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(jobs_queued_behind_a_busy_writer_share_one_commit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(commits_are_paced_into_fuller_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(failing_job_is_undone_alone_in_its_group, setup, teardown),
        cmocka_unit_test_setup_teardown(full_queue_refuses_and_the_caller_keeps_the_job, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(health_and_reload_keep_the_old_rules_on_failure, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(fire_job_marks_past_due_obligations_overdue, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(next_due_follows_each_commit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
