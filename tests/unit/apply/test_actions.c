/*
 * test_actions.c — applying an event's decisions (engine/actions.c): each
 * op reaches its module, bad decisions are refused, and rule state is
 * written and read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "actions.h"
#include "alloc.h"
#include "engine.h"
#include "error.h"
#include "journal.h"
#include "store.h"
#include "support.h"

#define T0 1767261600 /* 2026-01-01T10:00:00Z */
#define H 3600

typedef struct fixture {
    char *dir;
    store st;
    action_ctx ctx;
    char sink[1100];
    const char *sinks[1];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = support_store_fresh(&f->st);
    snprintf(f->sink, sizeof f->sink, "file:%s/alerts.jsonl", f->dir);
    f->sinks[0] = f->sink;
    /* the event the decisions belong to */
    cJSON *ev = cJSON_Parse("{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"urn:test\","
                            "\"type\":\"t\",\"time\":\"2026-01-01T10:00:00Z\"}");
    int64_t seq = 0;
    int dup = 0;
    if (journal_append(&f->st, ev, "{}", 2, "r", T0, &seq, &dup))
        fail_msg("journal_append failed");
    cJSON_Delete(ev);
    f->ctx = (action_ctx){.st = &f->st,
                          .event_seq = seq,
                          .event_source = "urn:test",
                          .event_id = "e1",
                          .event_time = T0,
                          .sinks = f->sinks,
                          .nsinks = 1};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    support_store_done(&f->st, f->dir);
    free(f);
    return 0;
}

static int apply(fixture *f, const char *decisions_json)
{
    cJSON *d = cJSON_Parse(decisions_json);
    if (!d)
        fail_msg("bad JSON in test: %s", decisions_json);
    int rc = actions_apply(&f->ctx, d);
    cJSON_Delete(d);
    return rc;
}

static void assert_state(fixture *f, const char *ns, const char *key, const char *want_json)
{
    cJSON *got = actions_state_get(&f->st, ns, key);
    if (!want_json) {
        if (got) {
            cJSON_Delete(got);
            fail_msg("%s/%s is still set", ns, key);
        }
        return;
    }
    cJSON *want = cJSON_Parse(want_json);
    assert_non_null(got);
    int same = cJSON_Compare(got, want, 1);
    cJSON_Delete(got);
    cJSON_Delete(want);
    if (!same)
        fail_msg("%s/%s differs from %s", ns, key, want_json);
}

static void apply_dispatches_each_op(void **state)
{
    fixture *f = *state;
    assert_int_equal(apply(f, "["
                              "{\"op\":\"set\",\"ns\":\"dedup\",\"key\":\"K1\",\"value\":\"B-1\"},"
                              "{\"op\":\"register\",\"register\":\"datalekken\",\"key\":\"B-1\","
                              "\"data\":{\"status\":\"reported\"}},"
                              "{\"op\":\"alert\",\"kind\":\"k\",\"subject\":\"B-1\","
                              "\"severity\":\"info\",\"message\":\"m\"},"
                              "{\"op\":\"open\",\"kind\":\"avg.notify_ap\",\"subject\":\"B-1\","
                              "\"from\":1767261600,\"due_at\":1767520800,\"remind\":[]}"
                              "]"),
                     0);
    assert_state(f, "dedup", "K1", "\"B-1\"");
    assert_int_equal(support_sql_int(f->st.db,
                                     "SELECT count(*) FROM registers WHERE register='datalekken' "
                                     "AND key='B-1' AND version=1 AND at=1767261600 AND event=1"),
                     1);
    assert_int_equal(
        support_sql_int(f->st.db, "SELECT count(*) FROM alerts WHERE kind='k' AND at=1767261600"),
        1);
    assert_int_equal(support_sql_int(f->st.db, "SELECT count(*) FROM outbox"), 1);
    assert_int_equal(f->ctx.nalerts, 1);
    assert_int_equal(support_sql_int(f->st.db,
                                     "SELECT count(*) FROM obligations WHERE kind='avg.notify_ap' "
                                     "AND status='open' AND due_at=1767520800"),
                     1);

    /* the closing ops reach obligations.c too */
    assert_int_equal(apply(f, "[{\"op\":\"extend\",\"kind\":\"avg.notify_ap\",\"subject\":\"B-1\","
                              "\"due_at\":1767607200},"
                              "{\"op\":\"fulfil\",\"kind\":\"avg.notify_ap\",\"subject\":\"B-1\","
                              "\"at\":1767600000}]"),
                     0);
    assert_int_equal(
        support_sql_int(f->st.db, "SELECT count(*) FROM obligations WHERE status='fulfilled' AND "
                                  "due_at=1767607200"),
        1);
    assert_int_equal(apply(f, "[{\"op\":\"open\",\"kind\":\"x\",\"subject\":\"S\",\"from\":1,"
                              "\"due_at\":1767261600},"
                              "{\"op\":\"overdue\",\"obligation\":2}]"),
                     0);
    assert_int_equal(support_sql_int(f->st.db, "SELECT count(*) FROM obligations WHERE id=2 AND "
                                               "status='overdue'"),
                     1);
    assert_int_equal(
        apply(f, "[{\"op\":\"cancel\",\"kind\":\"x\",\"subject\":\"S\",\"rationale\":\"r\"}]"), 0);
    assert_int_equal(support_sql_int(f->st.db, "SELECT count(*) FROM obligations WHERE id=2 AND "
                                               "status='cancelled' AND rationale='r'"),
                     1);

    /* nothing to apply */
    assert_int_equal(apply(f, "[]"), 0);
    assert_int_equal(actions_apply(&f->ctx, NULL), 0);
}

static void bad_decisions_are_refused(void **state)
{
    fixture *f = *state;
    assert_int_equal(apply(f, "[{\"op\":\"explode\",\"kind\":\"k\"}]"), OBLIGO_EINVAL);
    assert_int_equal(apply(f, "[{\"kind\":\"k\",\"subject\":\"S\"}]"), OBLIGO_EINVAL);
    assert_int_equal(apply(f, "[{\"op\":7}]"), OBLIGO_EINVAL);
    assert_int_equal(apply(f, "[{\"op\":\"OPEN\",\"kind\":\"k\",\"subject\":\"S\",\"from\":1,"
                              "\"due_at\":2}]"),
                     OBLIGO_EINVAL);
    /* a set without ns or key, a register without an object of fields */
    assert_int_equal(apply(f, "[{\"op\":\"set\",\"key\":\"k\",\"value\":1}]"), OBLIGO_EINVAL);
    assert_int_equal(apply(f, "[{\"op\":\"set\",\"ns\":\"n\",\"value\":1}]"), OBLIGO_EINVAL);
    assert_int_equal(apply(f, "[{\"op\":\"register\",\"register\":\"r\",\"key\":\"k\","
                              "\"data\":[1]}]"),
                     OBLIGO_EINVAL);
    assert_int_equal(apply(f, "[{\"op\":\"register\",\"key\":\"k\",\"data\":{}}]"), OBLIGO_EINVAL);

    /* the first bad decision stops the rest: the caller rolls back */
    assert_int_equal(apply(f, "[{\"op\":\"nope\"},"
                              "{\"op\":\"set\",\"ns\":\"n\",\"key\":\"after\",\"value\":1}]"),
                     OBLIGO_EINVAL);
    assert_state(f, "n", "after", NULL);
    assert_int_equal(support_sql_int(f->st.db, "SELECT count(*) FROM state"), 0);
    assert_int_equal(support_sql_int(f->st.db, "SELECT count(*) FROM registers"), 0);
    assert_int_equal(support_sql_int(f->st.db, "SELECT count(*) FROM obligations"), 0);
}

static void state_get_reads_what_set_wrote(void **state)
{
    fixture *f = *state;
    cJSON *none = actions_state_get(&f->st, "ns", "k");
    assert_null(none);
    assert_int_equal(
        apply(f, "[{\"op\":\"set\",\"ns\":\"ns\",\"key\":\"k\",\"value\":{\"a\":[1,2],\"b\":null}}"
                 ",{\"op\":\"set\",\"ns\":\"ns\",\"key\":\"n\",\"value\":42}"
                 ",{\"op\":\"set\",\"ns\":\"other\",\"key\":\"k\",\"value\":false}]"),
        0);
    assert_state(f, "ns", "k", "{\"a\":[1,2],\"b\":null}");
    assert_state(f, "ns", "n", "42");
    assert_state(f, "other", "k", "false");

    /* set again replaces */
    assert_int_equal(apply(f, "[{\"op\":\"set\",\"ns\":\"ns\",\"key\":\"n\",\"value\":\"x\"}]"), 0);
    assert_state(f, "ns", "n", "\"x\"");
    assert_int_equal(
        support_sql_int(f->st.db, "SELECT count(*) FROM state WHERE ns='ns' AND key='n'"), 1);

    /* null deletes, and so does a set without a value */
    assert_int_equal(apply(f, "[{\"op\":\"set\",\"ns\":\"ns\",\"key\":\"n\",\"value\":null}]"), 0);
    assert_state(f, "ns", "n", NULL);
    assert_int_equal(apply(f, "[{\"op\":\"set\",\"ns\":\"ns\",\"key\":\"k\"}]"), 0);
    assert_state(f, "ns", "k", NULL);
    /* deleting what is not there is fine; other keys stay */
    assert_int_equal(apply(f, "[{\"op\":\"set\",\"ns\":\"ns\",\"key\":\"gone\",\"value\":null}]"),
                     0);
    assert_state(f, "other", "k", "false");
    assert_int_equal(support_sql_int(f->st.db, "SELECT count(*) FROM state"), 1);
}

/* For output, the instants of open, fulfil, cancel and extend become RFC
 * 3339 UTC text; other ops and other members keep their numbers. */
static void instants_for_output_become_text(void **state)
{
    (void)state;
    /* 1781040600 is 2026-06-09T21:30:00Z; 1781148600 thirty hours later */
    cJSON *d = cJSON_Parse("{\"op\":\"open\",\"kind\":\"k\",\"subject\":\"s\","
                           "\"from\":1781040600,\"due_at\":1781148600,"
                           "\"legal_limit\":1781150400,\"remind\":[1781062200,1781145000],"
                           "\"data\":{\"n\":5}}");
    assert_int_equal(actions_instants_for_output(d), 0);
    char *text = cJSON_PrintUnformatted(d);
    assert_string_equal(text, "{\"op\":\"open\",\"kind\":\"k\",\"subject\":\"s\","
                              "\"from\":\"2026-06-09T21:30:00Z\","
                              "\"due_at\":\"2026-06-11T03:30:00Z\","
                              "\"legal_limit\":\"2026-06-11T04:00:00Z\","
                              "\"remind\":[\"2026-06-10T03:30:00Z\",\"2026-06-11T02:30:00Z\"],"
                              "\"data\":{\"n\":5}}");
    cJSON_free(text);
    cJSON_Delete(d);
    d = cJSON_Parse("{\"op\":\"fulfil\",\"kind\":\"k\",\"subject\":\"s\",\"at\":0}");
    assert_int_equal(actions_instants_for_output(d), 0);
    assert_string_equal(cJSON_GetObjectItem(d, "at")->valuestring, "1970-01-01T00:00:00Z");
    cJSON_Delete(d);
    /* a rule's state is the rule's own: its numbers stay numbers */
    d = cJSON_Parse("{\"op\":\"set\",\"ns\":\"n\",\"key\":\"k\",\"value\":{\"at\":5},"
                    "\"at\":7}");
    assert_int_equal(actions_instants_for_output(d), 0);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(d, "at")));
    cJSON_Delete(d);
}

int main(void)
{
    engine_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(apply_dispatches_each_op, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_decisions_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(state_get_reads_what_set_wrote, setup, teardown),
        cmocka_unit_test(instants_for_output_become_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
