/*
 * test_rules.c — the rule DSL and evaluation (engine/rules.c), without a
 * database: rules read state through a fake rules_state_ops.
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
#include "error.h"
#include "rules.h"
#include "support.h"

static const char *const OBLIGATION =
    "obligation \"t.notify\" { title = \"Melden\", source = \"test\", due = hours(72),\n"
    "  remind = { before(hours(24)) }, once = true }\n"
    "obligation \"t.month\" { title = \"Maand\", source = \"test\", due = months(1) }\n";

static rules *load(const char *dir, const char *name, const char *text, char **err)
{
    char *p = support_write(dir, name, text);
    free(p);
    rules *r = NULL;
    *err = NULL;
    rules_load(dir, NULL, NULL, NULL, &r, err);
    return r;
}

static cJSON *event(const char *type, const char *data)
{
    char buf[2048];
    snprintf(buf, sizeof buf,
             "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"%s\","
             "\"time\":\"2026-02-02T09:20:00+01:00\",\"data\":%s}",
             type, data);
    return cJSON_Parse(buf);
}

static void open_computes_due_and_legal_limit(void **state)
{
    char *dir = support_tmpdir(), *err;
    char text[4096];
    snprintf(text, sizeof text,
             "%srule \"t.r\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
             "  run = function(e, act, state)\n"
             "    act.open(\"t.notify\", e.data.id, { from = e.data.aware_at })\n"
             "  end }\n",
             OBLIGATION);
    rules *r = load(dir, "a.lua", text, &err);
    assert_non_null(r);
    assert_int_equal(rules_count(r), 1);
    assert_int_equal(rules_kind_count(r), 2);
    assert_int_equal(strlen(rules_revision(r)), 16);
    cJSON *ev = event("t.ev", "{\"id\":\"B1\",\"aware_at\":\"2026-02-02T09:15:00+01:00\"}");
    cJSON *d = cJSON_CreateArray(), *errors = cJSON_CreateArray();
    assert_int_equal(rules_evaluate(r, ev, NULL, d, errors), 0);
    assert_int_equal(cJSON_GetArraySize(errors), 0);
    assert_int_equal(cJSON_GetArraySize(d), 1);
    cJSON *o = cJSON_GetArrayItem(d, 0);
    assert_string_equal(cJSON_GetObjectItem(o, "op")->valuestring, "open");
    assert_string_equal(cJSON_GetObjectItem(o, "rule")->valuestring, "t.r");
    assert_string_equal(cJSON_GetObjectItem(o, "subject")->valuestring, "B1");
    /* 2026-02-02T08:15Z = 1770020100; + 72 h */
    assert_int_equal((int64_t)cJSON_GetObjectItem(o, "due_at")->valuedouble,
                     1770020100 + 72 * 3600);
    assert_int_equal((int64_t)cJSON_GetObjectItem(o, "legal_limit")->valuedouble,
                     1770022800 + 72 * 3600);
    cJSON *rem = cJSON_GetObjectItem(o, "remind");
    assert_int_equal(cJSON_GetArraySize(rem), 1);
    assert_int_equal((int64_t)cJSON_GetArrayItem(rem, 0)->valuedouble, 1770020100 + 48 * 3600);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "once")));
    cJSON_Delete(ev);
    cJSON_Delete(d);
    cJSON_Delete(errors);
    rules_free(r);
    support_rmtree(dir);
    free(dir);
}

static void other_types_do_not_trigger(void **state)
{
    char *dir = support_tmpdir(), *err;
    char text[4096];
    snprintf(text, sizeof text,
             "%srule \"t.r\" { title = \"x\", source = \"y\", on = { \"t.a\", \"t.b\" },\n"
             "  run = function(e, act) act.alert(\"t.k\", \"s\", { severity = \"info\", "
             "message = e.type }) end }\n",
             OBLIGATION);
    rules *r = load(dir, "a.lua", text, &err);
    assert_non_null(r);
    const char *types[] = {"t.a", "t.b", "t.c"};
    int want[] = {1, 1, 0};
    for (int i = 0; i < 3; i++) {
        cJSON *ev = event(types[i], "{}");
        cJSON *d = cJSON_CreateArray(), *errors = cJSON_CreateArray();
        assert_int_equal(rules_evaluate(r, ev, NULL, d, errors), 0);
        assert_int_equal(cJSON_GetArraySize(d), want[i]);
        cJSON_Delete(ev);
        cJSON_Delete(d);
        cJSON_Delete(errors);
    }
    rules_free(r);
    support_rmtree(dir);
    free(dir);
}

static void failing_rule_reports_file_line_and_keeps_no_decisions(void **state)
{
    char *dir = support_tmpdir(), *err;
    char text[4096];
    snprintf(text, sizeof text,
             "%srule \"t.bad\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
             "  run = function(e, act)\n"
             "    act.alert(\"t.k\", \"s\", { severity = \"info\", message = \"m\" })\n"
             "    local x = nil\n"
             "    return x.field\n"
             "  end }\n"
             "rule \"t.good\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
             "  run = function(e, act) act.alert(\"t.k\", \"s\", { severity = \"info\", "
             "message = \"ok\" }) end }\n",
             OBLIGATION);
    rules *r = load(dir, "a.lua", text, &err);
    assert_non_null(r);
    cJSON *ev = event("t.ev", "{}");
    cJSON *d = cJSON_CreateArray(), *errors = cJSON_CreateArray();
    assert_int_equal(rules_evaluate(r, ev, NULL, d, errors), 0);
    /* the failing rule's alert is dropped; the good rule still ran */
    assert_int_equal(cJSON_GetArraySize(d), 1);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 0), "rule")->valuestring,
                        "t.good");
    assert_int_equal(cJSON_GetArraySize(errors), 1);
    cJSON *e0 = cJSON_GetArrayItem(errors, 0);
    assert_string_equal(cJSON_GetObjectItem(e0, "rule")->valuestring, "t.bad");
    assert_non_null(strstr(cJSON_GetObjectItem(e0, "file")->valuestring, "a.lua"));
    assert_int_equal((int)cJSON_GetObjectItem(e0, "line")->valuedouble, 8);
    cJSON_Delete(ev);
    cJSON_Delete(d);
    cJSON_Delete(errors);
    rules_free(r);
    support_rmtree(dir);
    free(dir);
}

static void endless_rule_is_stopped(void **state)
{
    char *dir = support_tmpdir(), *err;
    rules *r = load(dir, "a.lua",
                    "rule \"t.loop\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
                    "  run = function() while true do pcall(function() while true do end end) "
                    "end end }\n",
                    &err);
    assert_non_null(r);
    cJSON *ev = event("t.ev", "{}");
    cJSON *d = cJSON_CreateArray(), *errors = cJSON_CreateArray();
    assert_int_equal(rules_evaluate(r, ev, NULL, d, errors), 0);
    assert_int_equal(cJSON_GetArraySize(errors), 1);
    /* and the rule set still works for the next event */
    assert_int_equal(rules_evaluate(r, ev, NULL, d, errors), 0);
    assert_int_equal(cJSON_GetArraySize(errors), 2);
    cJSON_Delete(ev);
    cJSON_Delete(d);
    cJSON_Delete(errors);
    rules_free(r);
    support_rmtree(dir);
    free(dir);
}

static void load_errors_name_file_and_line(void **state)
{
    static const struct {
        const char *text, *expect;
    } cases[] = {
        {"rule \"a\" { title = \"x\", source = \"y\", on = \"t\", run = function() end }\n"
         "rule \"a\" { title = \"x\", source = \"y\", on = \"t\", run = function() end }\n",
         "a.lua:2: rule \"a\" is declared twice"},
        {"\n\nobligation \"o\" { source = \"y\", due = hours(1) }\n",
         "a.lua:3: obligation \"o\" needs a title and a legal source"},
        {"rule \"r\" { title = \"x\", source = \"y\", run = function() end }\n",
         "a.lua:1: rule \"r\" needs on ="},
        {"obligation \"o\" { title = \"x\", source = \"y\", due = 72 }\n",
         "a.lua:1: obligation \"o\" needs due ="},
        {"rule \"r\" {\n  title = \"x\"\n  source = \"y\" }\n", "a.lua:3:"},
        {"load(\"return 1\")\n", "a.lua:1:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *dir = support_tmpdir(), *err = NULL;
        rules *r = load(dir, "a.lua", cases[i].text, &err);
        assert_null(r);
        assert_non_null(err);
        if (!strstr(err, cases[i].expect))
            fail_msg("case %zu: '%s' does not contain '%s'", i, err, cases[i].expect);
        obligo_free(err);
        support_rmtree(dir);
        free(dir);
    }
}

static cJSON *fake_obligation(void *ud, const char *kind, const char *subject)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "open");
    cJSON_AddNumberToObject(o, "due_at", 1000);
    return o;
}

static cJSON *fake_state(void *ud, const char *ns, const char *key)
{
    return strcmp(key, "known") == 0 ? cJSON_CreateString("value") : NULL;
}

static void rules_read_state_through_ops(void **state)
{
    char *dir = support_tmpdir(), *err;
    rules *r = load(dir, "a.lua",
                    "rule \"t.r\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
                    "  run = function(e, act, state)\n"
                    "    local o = state.obligation(\"k\", \"s\")\n"
                    "    act.set(\"ns\", \"due\", o.due_at + 1)\n"
                    "    act.set(\"ns\", \"v\", state.get(\"ns\", \"known\"))\n"
                    "    act.set(\"ns\", \"none\", state.get(\"ns\", \"unknown\") == nil)\n"
                    "  end }\n",
                    &err);
    assert_non_null(r);
    rules_state_ops ops = {.obligation = fake_obligation, .state_get = fake_state};
    cJSON *ev = event("t.ev", "{}");
    cJSON *d = cJSON_CreateArray(), *errors = cJSON_CreateArray();
    assert_int_equal(rules_evaluate(r, ev, &ops, d, errors), 0);
    assert_int_equal(cJSON_GetArraySize(errors), 0);
    assert_int_equal((int)cJSON_GetObjectItem(cJSON_GetArrayItem(d, 0), "value")->valuedouble,
                     1001);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 1), "value")->valuestring,
                        "value");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 2), "value")));
    cJSON_Delete(ev);
    cJSON_Delete(d);
    cJSON_Delete(errors);
    rules_free(r);
    support_rmtree(dir);
    free(dir);
}

static void policy_overrides_default(void **state)
{
    char *dir = support_tmpdir(), *err = NULL;
    char *p = support_write(dir, "a.lua",
                            "obligation \"o\" { title = \"x\", source = \"y\", "
                            "due = days(policy(\"o.days\", 14)) }\n"
                            "rule \"r\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
                            "  run = function(e, act) act.open(\"o\", \"s\", { from = e.time }) "
                            "end }\n");
    free(p);
    cJSON *policy = cJSON_Parse("{\"o.days\": 3}");
    rules *r = NULL;
    assert_int_equal(rules_load(dir, policy, NULL, NULL, &r, &err), 0);
    cJSON *ev = event("t.ev", "{}");
    cJSON *d = cJSON_CreateArray(), *errors = cJSON_CreateArray();
    assert_int_equal(rules_evaluate(r, ev, NULL, d, errors), 0);
    /* 2026-02-02T09:20+01:00 = 1770020400, + 3 days (no DST change) */
    assert_int_equal((int64_t)cJSON_GetObjectItem(cJSON_GetArrayItem(d, 0), "due_at")->valuedouble,
                     1770020400 + 3 * 86400);
    cJSON_Delete(ev);
    cJSON_Delete(d);
    cJSON_Delete(errors);
    cJSON_Delete(policy);
    rules_free(r);
    support_rmtree(dir);
    free(dir);
}

/* Events reach rules as lazily converted tables: pairs and act.* must
 * still see every field, and a table kept past its rule must not be read. */
static void event_tables_are_whole_and_do_not_outlive_their_rule(void **state)
{
    char *dir = support_tmpdir(), *err;
    rules *r = load(dir, "a.lua",
                    "local kept\n"
                    "rule \"t.r\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
                    "  run = function(e, act)\n"
                    "    if kept then act.set(\"ns\", \"old\", kept.source) end\n"
                    "    local n = 0\n"
                    "    for k, v in pairs(e.data) do n = n + 1 end\n"
                    "    act.set(\"ns\", \"count\", n)\n"
                    "    act.set(\"ns\", \"copy\", e.data)\n"
                    "    act.set(\"ns\", \"nested\", e.data.o.deep)\n"
                    "    kept = e\n"
                    "  end }\n",
                    &err);
    assert_non_null(r);
    cJSON *ev = event("t.ev", "{\"a\":1,\"b\":\"x\",\"c\":[1,2],\"o\":{\"deep\":true}}");
    cJSON *d = cJSON_CreateArray(), *errors = cJSON_CreateArray();
    assert_int_equal(rules_evaluate(r, ev, NULL, d, errors), 0);
    assert_int_equal(cJSON_GetArraySize(errors), 0);
    assert_int_equal((int)cJSON_GetObjectItem(cJSON_GetArrayItem(d, 0), "value")->valuedouble, 4);
    cJSON *copy = cJSON_GetObjectItem(cJSON_GetArrayItem(d, 1), "value");
    assert_int_equal(cJSON_GetArraySize(copy), 4);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(copy, "c")), 2);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(copy, "o"), "deep")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 2), "value")));
    cJSON_Delete(d);
    /* the second event: the rule reads a field of the first event it had
     * not read before (values read earlier are plain Lua copies): the event
     * is gone, so a rule error, not a read of freed memory */
    d = cJSON_CreateArray();
    assert_int_equal(rules_evaluate(r, ev, NULL, d, errors), 0);
    assert_int_equal(cJSON_GetArraySize(errors), 1);
    assert_non_null(
        strstr(cJSON_GetObjectItem(cJSON_GetArrayItem(errors, 0), "message")->valuestring,
               "only be read while the rule it was given to runs"));
    cJSON_Delete(ev);
    cJSON_Delete(d);
    cJSON_Delete(errors);
    rules_free(r);
    support_rmtree(dir);
    free(dir);
}

static void shipped_rule_pack_loads(void **state)
{
    char *err = NULL;
    rules *r = NULL;
    int rc = rules_load(OBLIGO_SOURCE_DIR "/rules", NULL, NULL, NULL, &r, &err);
    if (rc)
        fail_msg("%s", err ? err : "load failed");
    assert_non_null(rules_kind_find(r, "avg.notify_ap"));
    assert_non_null(rules_kind_find(r, "avg.complete_notification"));
    assert_non_null(rules_kind_find(r, "avg.inform_subjects"));
    assert_non_null(rules_kind_find(r, "avg.respond_request"));
    rules_free(r);
}

/* Out of memory at allocation n of loading the whole shipped pack, for n
 * from the first allocation until one that is never reached: each attempt
 * fails cleanly (an error, nothing half-built) or loads whole; never an
 * abort from Lua raising outside a protected call, never a leak (ASan). */
static void shipped_rule_pack_load_survives_out_of_memory(void **state)
{
    int loaded = 0, failed = 0;
    for (long n = 1; !loaded; n = n < 300 ? n + 1 : n + n / 16) {
        char *err = NULL;
        rules *r = NULL;
        alloc_fail_after(n);
        int rc = rules_load(OBLIGO_SOURCE_DIR "/rules", NULL, NULL, NULL, &r, &err);
        int hit = alloc_failed();
        alloc_fail_after(0);
        if (rc) {
            assert_true(hit);
            assert_null(r);
            failed++;
        } else {
            assert_non_null(rules_kind_find(r, "avg.notify_ap"));
            loaded = !hit;
            rules_free(r);
        }
        obligo_free(err);
    }
    assert_true(failed > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_computes_due_and_legal_limit),
        cmocka_unit_test(other_types_do_not_trigger),
        cmocka_unit_test(failing_rule_reports_file_line_and_keeps_no_decisions),
        cmocka_unit_test(endless_rule_is_stopped),
        cmocka_unit_test(load_errors_name_file_and_line),
        cmocka_unit_test(rules_read_state_through_ops),
        cmocka_unit_test(policy_overrides_default),
        cmocka_unit_test(event_tables_are_whole_and_do_not_outlive_their_rule),
        cmocka_unit_test(shipped_rule_pack_loads),
        cmocka_unit_test(shipped_rule_pack_load_survives_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
