/*
 * test_engine.c — the pipeline (engine/engine.c) on a real database file:
 * idempotency, a rule failure that still commits the event, rollback of a
 * whole batch on failure, deadlines that fire exactly once, also across a
 * restart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "engine.h"
#include "error.h"
#include "journal.h"
#include "obligations.h"
#include "outbox.h"
#include "support.h"

typedef struct fixture {
    char *dir;
    config cfg;
    engine e;
} fixture;

static const char RULES[] =
    "obligation \"t.duty\" { title = \"Plicht\", source = \"test\", due = hours(10),\n"
    "  remind = { before(hours(2)) } }\n"
    "rule \"t.open\" { title = \"x\", source = \"y\", on = \"t.open\",\n"
    "  run = function(e, act) act.open(\"t.duty\", e.data.id, { from = e.time }) end }\n"
    "rule \"t.done\" { title = \"x\", source = \"y\", on = \"t.done\",\n"
    "  run = function(e, act) act.fulfil(\"t.duty\", e.data.id, { at = e.time }) end }\n"
    "rule \"t.broken\" { title = \"x\", source = \"y\", on = \"t.broken\",\n"
    "  run = function(e, act) error(\"kapot\") end }\n"
    /* everything an event can cause at once: the out-of-memory sweep */
    "rule \"t.all\" { title = \"x\", source = \"y\", on = \"t.all\",\n"
    "  run = function(e, act)\n"
    "    act.open(\"t.duty\", e.data.id, { from = e.time })\n"
    "    act.register(\"r\", e.data.id, { seen = e.time, who = { \"a\", \"b\" } })\n"
    "    act.alert(\"t.seen\", e.data.id, { severity = \"info\", message = \"gezien\" })\n"
    "  end }\n"
    /* ... and a rule error, recorded whole or the event fails */
    "rule \"t.all_broken\" { title = \"x\", source = \"y\", on = \"t.all\",\n"
    "  run = function(e, act) error(\"kapot\") end }\n";

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    char *p = support_write(f->dir, "rules/t.lua", RULES);
    free(p);
    char *err = NULL;
    assert_int_equal(config_load(&f->cfg, NULL, &err), 0);
    char path[1024];
    snprintf(path, sizeof path, "%s/db/obligo.db", f->dir);
    config_set(&f->cfg.db_path, path);
    snprintf(path, sizeof path, "%s/rules", f->dir);
    config_set(&f->cfg.rules_dir, path);
    /* alerts go to a file sink so the test output stays clean */
    obligo_free(f->cfg.sinks[0]);
    snprintf(path, sizeof path, "file:%s/alerts.jsonl", f->dir);
    f->cfg.sinks[0] = obligo_strdup(path);
    if (engine_open(&f->e, &f->cfg, 0, &err))
        fail_msg("%s", err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    engine_close(&f->e);
    config_free(&f->cfg);
    support_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static int post(engine *e, const char *id, const char *type, const char *time, const char *subj,
                int *dup)
{
    char raw[512];
    snprintf(raw, sizeof raw,
             "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"s\",\"type\":\"%s\","
             "\"time\":\"%s\",\"data\":{\"id\":\"%s\"}}",
             id, type, time, subj);
    char *field = NULL, *reason = NULL;
    cJSON *ev = engine_decode(e, raw, strlen(raw), &field, &reason);
    if (!ev)
        fail_msg("%s", reason);
    int d = 0;
    int rc = engine_event(e, ev, raw, strlen(raw), &d);
    if (dup)
        *dup = d;
    cJSON_Delete(ev);
    return rc;
}

static long count(engine *e, const char *sql)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(e->st.db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    long n = (long)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

static void same_event_twice_changes_nothing(void **state)
{
    fixture *f = *state;
    int dup = -1;
    assert_int_equal(engine_begin(&f->e), 0);
    assert_int_equal(post(&f->e, "a", "t.open", "2026-01-01T10:00:00Z", "X", &dup), 0);
    assert_int_equal(dup, 0);
    assert_int_equal(post(&f->e, "a", "t.open", "2026-01-01T10:00:00Z", "X", &dup), 0);
    assert_int_equal(dup, 1);
    assert_int_equal(engine_commit(&f->e), 0);
    assert_int_equal(count(&f->e, "SELECT count(*) FROM events"), 1);
    assert_int_equal(count(&f->e, "SELECT count(*) FROM obligations"), 1);
    assert_int_equal(count(&f->e, "SELECT count(*) FROM decisions"), 1);
}

static void broken_rule_still_commits_event_and_alerts(void **state)
{
    fixture *f = *state;
    assert_int_equal(engine_begin(&f->e), 0);
    assert_int_equal(post(&f->e, "b", "t.broken", "2026-01-01T10:00:00Z", "X", NULL), 0);
    assert_int_equal(engine_commit(&f->e), 0);
    assert_int_equal(count(&f->e, "SELECT count(*) FROM events"), 1);
    assert_int_equal(f->e.stats.rule_errors, 1);
    outbox_filter flt = {.kind = "obligo.rule_error"};
    cJSON *alerts = outbox_list(&f->e.st, &flt);
    assert_int_equal(cJSON_GetArraySize(alerts), 1);
    const char *msg = support_str(cJSON_GetArrayItem(alerts, 0), "message");
    assert_non_null(strstr(msg, "t.lua:8"));
    assert_non_null(strstr(msg, "kapot"));
    cJSON_Delete(alerts);
}

static void failure_rolls_back_whole_batch(void **state)
{
    fixture *f = *state;
    assert_int_equal(engine_begin(&f->e), 0);
    assert_int_equal(post(&f->e, "c1", "t.open", "2026-01-01T10:00:00Z", "A", NULL), 0);
    assert_int_equal(post(&f->e, "c2", "t.open", "2026-01-01T10:00:00Z", "B", NULL), 0);
    /* the third event fails on memory somewhere in the pipeline */
    const char raw[] =
        "{\"specversion\":\"1.0\",\"id\":\"c3\",\"source\":\"s\",\"type\":\"t.open\","
        "\"time\":\"2026-01-01T10:00:00Z\",\"data\":{\"id\":\"C\"}}";
    char *field = NULL, *reason = NULL;
    cJSON *ev = engine_decode(&f->e, raw, strlen(raw), &field, &reason);
    assert_non_null(ev);
    alloc_fail_after(3);
    int dup = 0;
    int rc = engine_event(&f->e, ev, raw, strlen(raw), &dup);
    alloc_fail_after(0);
    cJSON_Delete(ev);
    assert_int_not_equal(rc, 0);
    engine_rollback(&f->e);
    assert_int_equal(count(&f->e, "SELECT count(*) FROM events"), 0);
    assert_int_equal(count(&f->e, "SELECT count(*) FROM obligations"), 0);
    assert_int_equal(count(&f->e, "SELECT count(*) FROM timers"), 0);
}

static long count_of(engine *e, const char *fmt, const char *arg)
{
    char sql[256];
    snprintf(sql, sizeof sql, fmt, arg);
    return count(e, sql);
}

/* Out of memory at each allocation of the pipeline in turn — decoding
 * aside: the journal, the rules, the obligation, the register, the alert
 * and its outbox rows. Each attempt either fails and leaves nothing once
 * rolled back, or succeeds whole; never a crash or a leak (the suite runs
 * under ASan). A rule the engine could not run for lack of memory is not a
 * rule's fault: the event fails and is retried, it is never committed with
 * part of its judgement missing. */
static void oom_at_each_allocation_leaves_all_or_nothing(void **state)
{
    fixture *f = *state;
    int whole = 0, failures = 0;
    for (long n = 1; n < 10000 && !whole; n++) {
        char raw[256], subj[32];
        snprintf(subj, sizeof subj, "M%ld", n);
        snprintf(raw, sizeof raw,
                 "{\"specversion\":\"1.0\",\"id\":\"m%ld\",\"source\":\"s\",\"type\":\"t.all\","
                 "\"time\":\"2026-01-01T10:00:00Z\",\"data\":{\"id\":\"%s\"}}",
                 n, subj);
        char *field = NULL, *reason = NULL;
        cJSON *ev = engine_decode(&f->e, raw, strlen(raw), &field, &reason);
        assert_non_null(ev);
        assert_int_equal(engine_begin(&f->e), 0);
        long rule_errors = f->e.stats.rule_errors;
        int dup = 0;
        alloc_fail_after(n);
        int rc = engine_event(&f->e, ev, raw, strlen(raw), &dup);
        int failed = alloc_failed();
        alloc_fail_after(0);
        cJSON_Delete(ev);
        if (rc) {
            assert_true(failed);
            failures++;
            engine_rollback(&f->e);
            assert_int_equal(
                count_of(&f->e, "SELECT count(*) FROM events WHERE id='m%s'", subj + 1), 0);
            assert_int_equal(
                count_of(&f->e, "SELECT count(*) FROM obligations WHERE subject='%s'", subj), 0);
            assert_int_equal(count_of(&f->e, "SELECT count(*) FROM registers WHERE key='%s'", subj),
                             0);
            assert_int_equal(
                count_of(&f->e, "SELECT count(*) FROM alerts WHERE subject='%s'", subj), 0);
            continue;
        }
        assert_int_equal(engine_commit(&f->e), 0);
        assert_int_equal(f->e.stats.rule_errors, rule_errors + 1);
        assert_int_equal(count_of(&f->e,
                                  "SELECT count(*) FROM alerts a JOIN events v ON v.seq = a.event "
                                  "WHERE a.kind = 'obligo.rule_error' AND v.id = 'm%s' AND "
                                  "a.message LIKE '%%kapot%%'",
                                  subj + 1),
                         1);
        assert_int_equal(count_of(&f->e, "SELECT count(*) FROM events WHERE id='m%s'", subj + 1),
                         1);
        assert_int_equal(count_of(&f->e,
                                  "SELECT count(*) FROM obligations WHERE subject='%s' AND "
                                  "status='open'",
                                  subj),
                         1);
        assert_int_equal(count_of(&f->e,
                                  "SELECT count(*) FROM timers JOIN obligations o ON o.id = "
                                  "obligation WHERE o.subject='%s'",
                                  subj),
                         2);
        assert_int_equal(count_of(&f->e, "SELECT count(*) FROM registers WHERE key='%s'", subj), 1);
        assert_int_equal(count_of(&f->e,
                                  "SELECT count(*) FROM alerts WHERE subject='%s' AND "
                                  "kind='t.seen'",
                                  subj),
                         1);
        whole = !failed;
    }
    assert_true(whole);
    assert_true(failures > 10); /* the sweep did reach the pipeline's allocations */
}

/* Many deadlines at once fire in steps of at most max, each exactly once. */
/* Out of memory at each allocation of firing a duty's deadlines in turn:
 * either nothing fires (the timers stay, the duty stays open) or all of it
 * does — the reminder and the overdue alert, the duty overdue; a deadline is
 * never lost or fired half. */
static void oom_while_firing_leaves_all_or_nothing(void **state)
{
    fixture *f = *state;
    int whole = 0, failures = 0;
    obligo_time t0 = 1767261600; /* 2026-01-01T10:00:00Z */
    for (long n = 1; n < 3000 && !whole; n++) {
        char id[32], subj[32], sql[160], when[CLOCK_RFC3339_LEN];
        snprintf(id, sizeof id, "f%ld", n);
        snprintf(subj, sizeof subj, "F%ld", n);
        /* a day later each round: the engine's clock has passed the last
         * round's deadlines */
        obligo_time day = t0 + n * 86400;
        clock_format_utc(day, when);
        assert_int_equal(engine_begin(&f->e), 0);
        assert_int_equal(post(&f->e, id, "t.open", when, subj, NULL), 0);
        assert_int_equal(engine_commit(&f->e), 0);
        assert_int_equal(engine_begin(&f->e), 0);
        int fired = 0;
        alloc_fail_after(n);
        int rc = engine_fire_due(&f->e, day + 11 * 3600, 0, &fired);
        int failed = alloc_failed();
        alloc_fail_after(0);
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM timers JOIN obligations o ON o.id = obligation "
                 "WHERE o.subject='%s'",
                 subj);
        if (rc) {
            assert_true(failed);
            failures++;
            engine_rollback(&f->e);
            assert_int_equal(count(&f->e, sql), 2);
            assert_int_equal(count_of(&f->e,
                                      "SELECT count(*) FROM obligations WHERE subject='%s' "
                                      "AND status='open'",
                                      subj),
                             1);
            /* fire them now, so the next round starts with none due */
            assert_int_equal(engine_begin(&f->e), 0);
            assert_int_equal(engine_fire_due(&f->e, day + 11 * 3600, 0, &fired), 0);
            assert_int_equal(engine_commit(&f->e), 0);
            continue;
        }
        assert_int_equal(engine_commit(&f->e), 0);
        assert_int_equal(fired, 2);
        assert_int_equal(count(&f->e, sql), 0);
        assert_int_equal(count_of(&f->e,
                                  "SELECT count(*) FROM obligations WHERE subject='%s' AND "
                                  "status='overdue'",
                                  subj),
                         1);
        assert_int_equal(count_of(&f->e,
                                  "SELECT count(*) FROM alerts WHERE subject='%s' AND kind IN "
                                  "('obligo.obligation_overdue','obligo.obligation_reminder')",
                                  subj),
                         2);
        whole = !failed;
    }
    assert_true(whole);
    assert_true(failures > 10);
}

static void deadlines_fire_in_bounded_steps(void **state)
{
    fixture *f = *state;
    assert_int_equal(engine_begin(&f->e), 0);
    for (int i = 0; i < 5; i++) {
        char id[8], subj[8];
        snprintf(id, sizeof id, "s%d", i);
        snprintf(subj, sizeof subj, "S%d", i);
        assert_int_equal(post(&f->e, id, "t.open", "2026-01-01T10:00:00Z", subj, NULL), 0);
    }
    /* five reminders (18:00Z) and five due instants (20:00Z) */
    int fired = -1, steps[4];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(engine_fire_due_max(&f->e, 1767261600 + 10 * 3600, 0, 4, &fired), 0);
        steps[i] = fired;
    }
    assert_int_equal(steps[0], 4);
    assert_int_equal(steps[1], 4);
    assert_int_equal(steps[2], 2);
    assert_int_equal(steps[3], 0);
    assert_int_equal(engine_commit(&f->e), 0);
    assert_int_equal(count(&f->e, "SELECT count(*) FROM timers"), 0);
    assert_int_equal(count(&f->e, "SELECT count(*) FROM obligations WHERE status='overdue'"), 5);
    assert_int_equal(f->e.stats.fired, 10);
}

static void deadline_fires_once_with_reminder_first(void **state)
{
    fixture *f = *state;
    int fired = 0;
    assert_int_equal(engine_begin(&f->e), 0);
    assert_int_equal(post(&f->e, "d", "t.open", "2026-01-01T10:00:00Z", "D", NULL), 0);
    obligo_time due;
    assert_int_equal(engine_next_due(&f->e, &due), 1);
    /* the reminder, 2 h before the due instant of 20:00Z */
    assert_int_equal(due, 1767261600 + 8 * 3600);
    assert_int_equal(engine_fire_due(&f->e, 1767261600 + 10 * 3600, 0, &fired), 0);
    assert_int_equal(fired, 2);
    assert_int_equal(engine_fire_due(&f->e, 1767261600 + 20 * 3600, 0, &fired), 0);
    assert_int_equal(fired, 0);
    assert_int_equal(engine_commit(&f->e), 0);
    cJSON *o = obligations_latest(&f->e.st, "t.duty", "D");
    assert_string_equal(support_str(o, "status"), "overdue");
    cJSON_Delete(o);
    outbox_filter flt = {0};
    cJSON *alerts = outbox_list(&f->e.st, &flt);
    int n = 0;
    support_find(alerts, "obligo.obligation_overdue", "D", &n);
    assert_int_equal(n, 1);
    support_find(alerts, "obligo.obligation_reminder", "D", &n);
    assert_int_equal(n, 1);
    cJSON_Delete(alerts);
    /* fulfilling after the due time makes it late */
    assert_int_equal(engine_begin(&f->e), 0);
    assert_int_equal(post(&f->e, "d2", "t.done", "2026-01-02T10:00:00Z", "D", NULL), 0);
    assert_int_equal(engine_commit(&f->e), 0);
    o = obligations_latest(&f->e.st, "t.duty", "D");
    assert_string_equal(support_str(o, "status"), "late");
    cJSON_Delete(o);
}

static void deadline_passed_while_stopped_fires_once_marked_late(void **state)
{
    fixture *f = *state;
    assert_int_equal(engine_begin(&f->e), 0);
    assert_int_equal(post(&f->e, "e", "t.open", "2026-01-01T10:00:00Z", "E", NULL), 0);
    assert_int_equal(engine_commit(&f->e), 0);
    /* "restart": close and open the engine on the same file */
    char *err = NULL;
    engine_close(&f->e);
    assert_int_equal(engine_open(&f->e, &f->cfg, 0, &err), 0);
    obligo_time start = 1767261600 + 30 * 3600;
    for (int round = 0; round < 2; round++) {
        int fired = 0;
        assert_int_equal(engine_begin(&f->e), 0);
        assert_int_equal(engine_fire_due(&f->e, start, start, &fired), 0);
        assert_int_equal(engine_commit(&f->e), 0);
        assert_int_equal(fired, round == 0 ? 2 : 0);
    }
    outbox_filter flt = {.kind = "obligo.obligation_overdue"};
    cJSON *alerts = outbox_list(&f->e.st, &flt);
    assert_int_equal(cJSON_GetArraySize(alerts), 1);
    cJSON *data = cJSON_GetObjectItem(cJSON_GetArrayItem(alerts, 0), "data");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(data, "late")));
    cJSON_Delete(alerts);
    /* the alerts reached the file sink once each */
    assert_int_equal(engine_deliver(&f->e), 2);
    assert_int_equal(engine_deliver(&f->e), 0);
    assert_int_equal(outbox_pending(&f->e.st), 0);
}

static void reminders_of_a_duty_already_past_due_are_not_sent(void **state)
{
    fixture *f = *state;
    int fired = 0;
    assert_int_equal(engine_begin(&f->e), 0);
    assert_int_equal(post(&f->e, "p", "t.open", "2026-01-01T10:00:00Z", "P", NULL), 0);
    /* on the wall clock (as serve runs), the engine gets to it only a day
     * later: both timers are due, and only the overdue one speaks */
    f->e.now = 1767261600 + 24 * 3600;
    assert_int_equal(engine_fire_due(&f->e, 1767261600 + 24 * 3600, 0, &fired), 0);
    assert_int_equal(engine_commit(&f->e), 0);
    assert_int_equal(fired, 2);
    assert_int_equal(count(&f->e, "SELECT count(*) FROM alerts WHERE "
                                  "kind='obligo.obligation_reminder'"),
                     0);
    assert_int_equal(count(&f->e, "SELECT count(*) FROM alerts WHERE "
                                  "kind='obligo.obligation_overdue'"),
                     1);
}

static void decode_rejects_with_field(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *raw, *field, *reason;
    } cases[] = {
        {"{not json", NULL, "not valid JSON"},
        {"{\"a\":1} trailing", NULL, "unexpected text"},
        {"{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"s\",\"type\":\"t\","
         "\"time\":\"2026-02-30T10:00:00Z\"}",
         "time", NULL},
        {"{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"s\",\"type\":\"t\","
         "\"time\":\"2026-02-10T10:00:00\"}",
         "time", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *field = NULL, *reason = NULL;
        cJSON *ev = engine_decode(&f->e, cases[i].raw, strlen(cases[i].raw), &field, &reason);
        assert_null(ev);
        assert_non_null(reason);
        if (cases[i].field)
            assert_string_equal(field, cases[i].field);
        else
            assert_null(field);
        if (cases[i].reason)
            assert_non_null(strstr(reason, cases[i].reason));
        obligo_free(field);
        obligo_free(reason);
    }
}

/* What cJSON takes but the engine could not keep as sent: a member name
 * twice (the engine read the first "id", a last-wins reader of the
 * journal the second) and a number beyond a double (stored as null). */
static void decode_refuses_duplicates_and_numbers_beyond_a_double(void **state)
{
    fixture *f = *state;
    static const char head[] = "{\"specversion\":\"1.0\",\"source\":\"s\",\"type\":\"t\","
                               "\"time\":\"2026-02-10T10:00:00Z\",";
    static const struct {
        const char *rest, *field, *reason;
    } cases[] = {
        {"\"id\":\"a\",\"id\":\"b\"}", "id", "id: duplicate member name \"id\""},
        {"\"id\":\"a\",\"data\":{\"user\":{\"id\":\"u1\",\"id\":\"u2\"}}}", "data.user.id",
         "data.user.id: duplicate member name \"id\""},
        {"\"id\":\"a\",\"data\":{\"count\":1e400}}", "data.count",
         "data.count: number does not fit a double (its magnitude is above 1.8e308)"},
        {"\"id\":\"a\",\"data\":{\"list\":[{\"v\":-1e999}]}}", "data.list[0].v",
         "data.list[0].v: number does not fit a double (its magnitude is above 1.8e308)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char raw[512];
        snprintf(raw, sizeof raw, "%s%s", head, cases[i].rest);
        char *field = NULL, *reason = NULL;
        cJSON *ev = engine_decode(&f->e, raw, strlen(raw), &field, &reason);
        if (ev)
            fail_msg("accepted: %s", raw);
        assert_non_null(field);
        assert_string_equal(field, cases[i].field);
        assert_string_equal(reason, cases[i].reason);
        obligo_free(field);
        obligo_free(reason);
    }
    /* the same members once each, and a large number that fits, pass */
    char raw[512], *field = NULL, *reason = NULL;
    snprintf(raw, sizeof raw, "%s%s", head, "\"id\":\"a\",\"data\":{\"id\":1e308}}");
    cJSON *ev = engine_decode(&f->e, raw, strlen(raw), &field, &reason);
    if (!ev)
        fail_msg("%s", reason);
    cJSON_Delete(ev);
}

/* JSON has no raw control characters (RFC 8259): cJSON takes them, and a
 * raw NUL inside a string cut the string short while the journal kept the
 * whole text. Escaped ones, and blanks between tokens, are fine, except
 * \u0000, which cJSON cuts the same way. */
static void decode_refuses_raw_control_characters(void **state)
{
    fixture *f = *state;
    static const char head[] = "{\"specversion\":\"1.0\",\"id\":\"c1\",\"source\":\"s\","
                               "\"type\":\"t\",\"time\":\"2026-02-10T10:00:00Z\",\"data\":";
    static const struct {
        const char *data;
        size_t len;
        long bad; /* offset in data of the refused byte, or -1 */
    } cases[] = {
#define CASE(lit, bad) {lit, sizeof lit - 1, bad}
        CASE("{\"a\":\"e\0cd\"}", 7),
        CASE("{\"a\":\"tab\there\"}", 9),
        CASE("{\"a\":1,\x01\"b\":2}", 7),
        CASE("{\"a\":\"line\\nnext\\u0001\",\n\t\"b\" : 2\r\n}", -1),
        /* an escaped backslash ends before the quote: the blank after it
         * is between tokens, not inside the string */
        CASE("{\"a\":\"x\\\\\"\n}", -1),
        CASE("{\"a\":\"say \\\"hi\\\"\"}", -1),
        /* \u0000 is valid JSON, but cJSON would end the string there: the
         * offset is that of the backslash; an escaped backslash before
         * u0000 is text, not an escape */
        CASE("{\"a\":\"ab\\u0000cd\"}", 8),
        CASE("{\"a\":\"\\u00001\"}", 6),
        CASE("{\"a\":\"x\\\\u0000\"}", -1),
        CASE("{\"a\":\"\\u0001\\u0100\"}", -1),
#undef CASE
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t hlen = strlen(head), len = hlen + cases[i].len + 1;
        char *raw = malloc(len);
        memcpy(raw, head, hlen);
        memcpy(raw + hlen, cases[i].data, cases[i].len);
        raw[len - 1] = '}';
        char *field = NULL, *reason = NULL;
        cJSON *ev = engine_decode(&f->e, raw, len, &field, &reason);
        if (cases[i].bad < 0) {
            if (!ev)
                fail_msg("case %zu refused: %s", i, reason ? reason : "?");
            cJSON_Delete(ev);
        } else {
            assert_null(ev);
            assert_non_null(reason);
            char want[64];
            if (cases[i].data[cases[i].bad] == '\\')
                snprintf(want, sizeof want, "\\u0000 at byte %ld", (long)hlen + cases[i].bad + 1);
            else
                snprintf(want, sizeof want, "raw control character (0x%02X) at byte %ld",
                         (unsigned)(unsigned char)cases[i].data[cases[i].bad],
                         (long)hlen + cases[i].bad + 1);
            if (!strstr(reason, want))
                fail_msg("case %zu: \"%s\" does not say \"%s\"", i, reason, want);
        }
        obligo_free(field);
        obligo_free(reason);
        free(raw);
    }
}

/* ---- determinism ------------------------------------------------------------ */

/* Rules that lean on everything that used to depend on memory: pairs over
 * the event and over state, tables with many string keys, tostring. */
static const char MIXED_RULES[] =
    "obligation \"t.duty\" { title = \"Plicht\", source = \"test\", due = days(3) }\n"
    "rule \"t.keys\" { title = \"x\", source = \"y\", on = \"t.mix\",\n"
    "  run = function(e, act, state)\n"
    "    local seen = state.get(\"t\", e.data.subject) or {}\n"
    "    local keys, n = {}, 0\n"
    "    for k, v in pairs(e.data) do keys[#keys + 1] = k .. \"=\" .. tostring(v); seen[k] = v "
    "end\n"
    "    for k in pairs(seen) do n = n + 1 end\n"
    "    act.set(\"t\", e.data.subject, seen)\n"
    "    act.register(\"mix\", e.data.subject, { keys = table.concat(keys, \",\"), n = n,\n"
    "                                            t = tostring({}) })\n"
    "    if n % 3 == 0 then\n"
    "      act.alert(\"t.many\", e.data.subject, { severity = \"info\",\n"
    "                message = table.concat(keys, \" \"), data = seen })\n"
    "    end\n"
    "    if e.data.k1 then act.open(\"t.duty\", e.data.subject, { from = e.time, data = e.data }) "
    "end\n"
    "    if e.data.k2 then act.fulfil(\"t.duty\", e.data.subject, { at = e.time }) end\n"
    "  end }\n";

/* The decisions journaled in the database at path, as one text. */
static char *journaled_decisions(const char *dir, const char *db, const char *const *events, int n)
{
    config cfg;
    char *err = NULL, path[1024];
    assert_int_equal(config_load(&cfg, NULL, &err), 0);
    snprintf(path, sizeof path, "%s/%s", dir, db);
    config_set(&cfg.db_path, path);
    snprintf(path, sizeof path, "%s/mixed", dir);
    config_set(&cfg.rules_dir, path);
    obligo_free(cfg.sinks[0]);
    snprintf(path, sizeof path, "file:%s/%s.alerts", dir, db);
    cfg.sinks[0] = obligo_strdup(path);
    engine e;
    if (engine_open(&e, &cfg, 0, &err))
        fail_msg("%s", err);
    for (int i = 0; i < n; i++) {
        char *field = NULL, *reason = NULL;
        cJSON *ev = engine_decode(&e, events[i], strlen(events[i]), &field, &reason);
        if (!ev)
            fail_msg("%s", reason);
        int dup = 0;
        assert_int_equal(engine_begin(&e), 0);
        assert_int_equal(engine_event(&e, ev, events[i], strlen(events[i]), &dup), 0);
        assert_int_equal(engine_commit(&e), 0);
        cJSON_Delete(ev);
    }
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(e.st.db,
                                        "SELECT v.id, d.n, d.rule, d.decision FROM decisions d "
                                        "JOIN events v ON v.seq = d.event ORDER BY d.event, d.n",
                                        -1, &s, NULL),
                     SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW) {
        char line[8192];
        int k = snprintf(line, sizeof line, "%s|%d|%s|%s\n", sqlite3_column_text(s, 0),
                         sqlite3_column_int(s, 1), sqlite3_column_text(s, 2),
                         sqlite3_column_text(s, 3));
        while (len + (size_t)k + 1 > cap)
            out = realloc(out, cap *= 2);
        memcpy(out + len, line, (size_t)k + 1);
        len += (size_t)k;
    }
    sqlite3_finalize(s);
    engine_close(&e);
    config_free(&cfg);
    return out;
}

/* The rows of sql, one per line, columns separated by '|'. */
static char *dump(engine *e, const char *sql)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(e->st.db, sql, -1, &s, NULL), SQLITE_OK);
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        for (int i = 0; i < sqlite3_column_count(s); i++) {
            const unsigned char *t = sqlite3_column_text(s, i);
            len += (size_t)snprintf(out + len, cap - len, "%s%c", t ? (const char *)t : "NULL",
                                    i + 1 < sqlite3_column_count(s) ? '|' : '\n');
            assert_true(len < cap);
        }
    sqlite3_finalize(s);
    assert_int_equal(rc, SQLITE_DONE); /* the whole result, not what came before an error */
    return out;
}

/* A light journal (replay's what-if engine) keeps neither the hash chain,
 * the client events' bytes, the client events that caused nothing nor the
 * decisions rows, and every outcome is as
 * with the full journal: obligations, timers fired, alerts, registers, and
 * the number of decisions each event caused. The engine's own events keep
 * their bytes (replay's alerts query follows them to their obligation). */
static void light_journal_keeps_the_outcome_without_the_evidence(void **state)
{
    fixture *f = *state;
    static const char *const outcome[] = {
        "SELECT kind, subject, status, due_at, closed_at FROM obligations ORDER BY id",
        "SELECT a.kind, a.subject, a.severity, a.data, ev.type, ev.source, ev.id, ev.time, "
        "json_extract(ev.raw, '$.data.obligation') FROM alerts a JOIN events ev "
        "ON ev.seq = a.event ORDER BY a.seq",
        "SELECT register, key, version, data FROM registers ORDER BY seq",
        /* the events that caused something, and what replay.c reads of
         * their bytes (%s: which events of the full journal those are) */
        "SELECT source, id, type, time, subject, json_extract(raw, '$.data.obligation') "
        "FROM events WHERE %s ORDER BY seq",
    };
    enum { NOUT = sizeof outcome / sizeof outcome[0] };
    char *full[NOUT], path[1024];
    int decisions[2][7];
    config cfg = f->cfg;
    for (int light = 0; light < 2; light++) {
        engine e;
        char *err = NULL;
        snprintf(path, sizeof path, "%s/db/%s.db", f->dir, light ? "light" : "full");
        cfg.db_path = path;
        if (engine_open(&e, &cfg, 0, &err))
            fail_msg("%s", err);
        e.light_journal = light;
        /* g: a type no rule reads, no decision */
        static const char *const ev[][3] = {
            {"a", "t.all", "A"},   {"b", "t.open", "B"},   {"c", "t.done", "B"},
            {"d", "t.open", "D"},  {"e", "t.broken", "E"}, {"f", "t.all", "F"},
            {"g", "t.quiet", "C"},
        };
        assert_int_equal(engine_begin(&e), 0);
        for (int i = 0; i < 7; i++) {
            char when[32];
            snprintf(when, sizeof when, "2026-01-01T1%d:00:00Z", i);
            assert_int_equal(post(&e, ev[i][0], ev[i][1], when, ev[i][2], NULL), 0);
            decisions[light][i] = e.last_decisions;
        }
        assert_int_equal(engine_fire_due(&e, 1767261600 + 48 * 3600, 0, NULL), 0);
        assert_int_equal(engine_commit(&e), 0);
        assert_true(count(&e, "SELECT count(*) FROM alerts WHERE kind = "
                              "'obligo.obligation_overdue'") > 0);
        for (int q = 0; q < NOUT; q++) {
            char sql[512];
            snprintf(sql, sizeof sql, outcome[q],
                     light ? "1"
                           : "source = 'urn:obligo:engine' OR seq IN (SELECT event FROM "
                             "decisions)");
            char *d = dump(&e, sql);
            if (!light)
                full[q] = d;
            else {
                assert_string_equal(d, full[q]);
                free(d);
                free(full[q]);
            }
        }
        if (light) {
            assert_int_equal(count(&e, "SELECT count(*) FROM decisions"), 0);
            assert_int_equal(count(&e, "SELECT count(*) FROM events WHERE id = 'g'"), 0);
            assert_int_equal(count(&e, "SELECT count(*) FROM events WHERE hash <> '' "
                                       "OR prev_hash <> ''"),
                             0);
            assert_int_equal(count(&e, "SELECT count(*) FROM events WHERE raw <> '{}' AND "
                                       "source <> 'urn:obligo:engine'"),
                             0);
            assert_true(count(&e, "SELECT count(*) FROM events WHERE raw <> '{}' AND "
                                  "source = 'urn:obligo:engine'") > 0);
        } else {
            assert_int_equal(journal_verify(&e.st, NULL, NULL), 0);
            assert_true(count(&e, "SELECT count(*) FROM decisions") > 6);
        }
        engine_close(&e);
    }
    assert_memory_equal(decisions[0], decisions[1], sizeof decisions[0]);
}

/* The same random event streams judged by two engines (two Lua states with
 * their own string hash seeds, two databases) journal byte-identical
 * decisions. */
static void the_same_journal_gives_the_same_decisions(void **state)
{
    (void)state;
    char *dir = support_tmpdir();
    char *p = support_write(dir, "mixed/t.lua", MIXED_RULES);
    free(p);
    for (unsigned seed = 1; seed <= 5; seed++) {
        enum { N = 120 };
        char *events[N];
        unsigned x = seed * 2654435761u;
        for (int i = 0; i < N; i++) {
            char data[1024];
            size_t len = (size_t)snprintf(data, sizeof data, "\"subject\":\"S%u\"", (x >> 8) % 7);
            for (int k = 1; k <= 24; k++) {
                x = x * 1103515245u + 12345u;
                if ((x >> 16) % 3 == 0)
                    len += (size_t)snprintf(data + len, sizeof data - len, ",\"k%d\":%u", k,
                                            (x >> 4) % 1000);
            }
            char raw[1400];
            snprintf(raw, sizeof raw,
                     "{\"specversion\":\"1.0\",\"id\":\"e%u-%d\",\"source\":\"s\","
                     "\"type\":\"t.mix\",\"time\":\"2026-01-%02dT10:00:00Z\",\"data\":{%s}}",
                     seed, i, 1 + i % 28, data);
            events[i] = strdup(raw);
        }
        char db1[32], db2[32];
        snprintf(db1, sizeof db1, "a%u.db", seed);
        snprintf(db2, sizeof db2, "b%u.db", seed);
        char *one = journaled_decisions(dir, db1, (const char *const *)events, N);
        char *two = journaled_decisions(dir, db2, (const char *const *)events, N);
        assert_true(strlen(one) > 1000);
        assert_null(strstr(one, "0x"));
        assert_string_equal(one, two);
        free(one);
        free(two);
        for (int i = 0; i < N; i++)
            free(events[i]);
    }
    support_rmtree(dir);
    free(dir);
}

int main(void)
{
    engine_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_same_journal_gives_the_same_decisions),
        cmocka_unit_test_setup_teardown(light_journal_keeps_the_outcome_without_the_evidence, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(same_event_twice_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(decode_refuses_raw_control_characters, setup, teardown),
        cmocka_unit_test_setup_teardown(broken_rule_still_commits_event_and_alerts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(failure_rolls_back_whole_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(oom_at_each_allocation_leaves_all_or_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(oom_while_firing_leaves_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(deadlines_fire_in_bounded_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(deadline_fires_once_with_reminder_first, setup, teardown),
        cmocka_unit_test_setup_teardown(deadline_passed_while_stopped_fires_once_marked_late, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reminders_of_a_duty_already_past_due_are_not_sent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(decode_rejects_with_field, setup, teardown),
        cmocka_unit_test_setup_teardown(decode_refuses_duplicates_and_numbers_beyond_a_double,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
