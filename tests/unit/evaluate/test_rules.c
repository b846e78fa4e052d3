/*
 * test_rules.c — the rule DSL and evaluation (engine/evaluate/rules.c), without a
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

/* Events reach rules as lazily converted views: pairs and act.* must still
 * see every field, and pairs walks them in sorted order. */
static void event_tables_are_whole_and_sorted(void **state)
{
    char *dir = support_tmpdir(), *err;
    rules *r =
        load(dir, "a.lua",
             "rule \"t.r\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
             "  run = function(e, act)\n"
             "    local n, keys = 0, {}\n"
             "    for k, v in pairs(e.data) do n = n + 1; keys[#keys + 1] = k end\n"
             "    act.set(\"ns\", \"count\", n)\n"
             "    act.set(\"ns\", \"copy\", e.data)\n"
             "    act.set(\"ns\", \"nested\", e.data.o.deep)\n"
             "    act.set(\"ns\", \"keys\", table.concat(keys, \",\") .. \" \" .. #e.data.c)\n"
             "  end }\n",
             &err);
    assert_non_null(r);
    cJSON *ev = event("t.ev", "{\"z\":1,\"b\":\"x\",\"c\":[1,2],\"o\":{\"deep\":true}}");
    cJSON *d = cJSON_CreateArray(), *errors = cJSON_CreateArray();
    assert_int_equal(rules_evaluate(r, ev, NULL, d, errors), 0);
    assert_int_equal(cJSON_GetArraySize(errors), 0);
    assert_int_equal((int)cJSON_GetObjectItem(cJSON_GetArrayItem(d, 0), "value")->valuedouble, 4);
    cJSON *copy = cJSON_GetObjectItem(cJSON_GetArrayItem(d, 1), "value");
    assert_int_equal(cJSON_GetArraySize(copy), 4);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(copy, "c")), 2);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(copy, "o"), "deep")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 2), "value")));
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 3), "value")->valuestring,
                        "b,c,o,z 2");
    cJSON_Delete(ev);
    cJSON_Delete(d);
    cJSON_Delete(errors);
    rules_free(r);
    support_rmtree(dir);
    free(dir);
}

/* ---- sealed: what a hostile or careless rule file cannot do ---------------- */

/* The errors of one evaluation, and its decisions, for the sealed tests. */
typedef struct judged {
    cJSON *d, *errors;
} judged;

static judged judge(rules *r, const char *type, const char *data)
{
    cJSON *ev = event(type, data);
    judged j = {cJSON_CreateArray(), cJSON_CreateArray()};
    assert_int_equal(rules_evaluate(r, ev, NULL, j.d, j.errors), 0);
    cJSON_Delete(ev);
    return j;
}

static void judged_free(judged *j)
{
    cJSON_Delete(j->d);
    cJSON_Delete(j->errors);
}

/* The error of rule `rule`, which must contain `text`; fails when none. */
static void expect_rule_error(const judged *j, const char *rule, const char *text)
{
    for (const cJSON *e = j->errors->child; e; e = e->next) {
        if (strcmp(cJSON_GetObjectItem(e, "rule")->valuestring, rule) != 0)
            continue;
        const char *msg = cJSON_GetObjectItem(e, "message")->valuestring;
        if (!strstr(msg, text))
            fail_msg("rule %s failed with \"%s\", expected \"%s\"", rule, msg, text);
        assert_true(cJSON_GetObjectItem(e, "line")->valuedouble > 0);
        return;
    }
    fail_msg("rule %s did not fail (expected \"%s\")", rule, text);
}

/* How many decisions op+rule there are. */
static int count_decisions(const judged *j, const char *op, const char *rule)
{
    int n = 0;
    for (const cJSON *d = j->d->child; d; d = d->next)
        n += strcmp(cJSON_GetObjectItem(d, "op")->valuestring, op) == 0 &&
             strcmp(cJSON_GetObjectItem(d, "rule")->valuestring, rule) == 0;
    return n;
}

/* A well-behaved rule that runs after the hostile ones (files load in path
 * order): it must still open its obligation from the event as sent. */
static const char *const GOOD_RULE =
    "obligation \"t.notify\" { title = \"Melden\", source = \"test\", due = hours(72) }\n"
    "rule \"z.good\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
    "  run = function(e, act)\n"
    "    if e.data.personal_data == \"yes\" then\n"
    "      act.open(\"t.notify\", e.data.id, { from = e.time })\n"
    "    end\n"
    "  end }\n";

static rules *load_hostile(char *dir, const char *hostile, char **err)
{
    char *p = support_write(dir, "z_good.lua", GOOD_RULE);
    free(p);
    return load(dir, "a_hostile.lua", hostile, err);
}

/* One hostile rule "a.bad" per attack, whose run is the attack's code,
 * loaded beside GOOD_RULE and judged with one event of the given data:
 * the attack fails alone with its error, never quoting the event, and the
 * good rule still opens its obligation. */
typedef struct attack {
    const char *code, *error;
} attack;

static void expect_attacks_fail_alone(const attack *attacks, size_t n, const char *data)
{
    for (size_t i = 0; i < n; i++) {
        char *dir = support_tmpdir(), *err, text[1024];
        snprintf(text, sizeof text,
                 "rule \"a.bad\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
                 "  run = function(e, act, state)\n"
                 "    %s\n"
                 "  end }\n",
                 attacks[i].code);
        rules *r = load_hostile(dir, text, &err);
        if (!r)
            fail_msg("%s: %s", attacks[i].code, err);
        judged j = judge(r, "t.ev", data);
        expect_rule_error(&j, "a.bad", attacks[i].error);
        char *printed = cJSON_PrintUnformatted(j.errors);
        assert_null(strstr(printed, "Jansen"));
        cJSON_free(printed);
        if (count_decisions(&j, "open", "z.good") != 1)
            fail_msg("after %s the good rule opened nothing", attacks[i].code);
        judged_free(&j);
        rules_free(r);
        support_rmtree(dir);
        free(dir);
    }
}

static void declarations_while_judging_are_refused(void **state)
{
    char *dir = support_tmpdir(), *err;
    rules *r = load_hostile(
        dir,
        "rule \"a.decl\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
        "  run = function(e, act)\n"
        "    for i = 1, 40 do\n"
        "      rule (\"a.more\" .. i) { title = \"x\", source = \"y\", on = \"t.ev\",\n"
        "        run = function() end }\n"
        "    end\n"
        "  end }\n"
        "rule \"a.kind\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
        "  run = function(e, act)\n"
        "    obligation \"t.late\" { title = \"x\", source = \"y\", due = hours(1) }\n"
        "  end }\n",
        &err);
    assert_non_null(r);
    for (int round = 0; round < 2; round++) { /* resending the event changes nothing */
        judged j = judge(r, "t.ev", "{\"id\":\"B1\",\"personal_data\":\"yes\"}");
        expect_rule_error(&j, "a.decl", "can only be declared at the top of a rule file");
        expect_rule_error(&j, "a.kind", "can only be declared at the top of a rule file");
        assert_int_equal(count_decisions(&j, "open", "z.good"), 1);
        assert_int_equal(rules_count(r), 3);
        assert_int_equal(rules_kind_count(r), 1);
        judged_free(&j);
    }
    rules_free(r);
    support_rmtree(dir);
    free(dir);
}

static void engine_tables_and_the_event_are_read_only(void **state)
{
    static const attack attacks[] = {
        {"act.open = function() end", "act is read-only (cannot set open)"},
        {"state.get = nil", "state is read-only"},
        {"e.data.personal_data = \"no\"", "the event is read-only (cannot set personal_data)"},
        {"e.data.nested.x = 1", "the event is read-only (cannot set x)"},
        {"e.data.list[1] = 9", "the event is read-only"},
        {"string.upper = nil", "the string library is read-only"},
        {"hours = function() return 1 end", "cannot assign to global 'hours'"},
        {"counter = (counter or 0) + 1", "cannot assign to global 'counter'"},
        {"table.insert(e.data.list, 3)", "the event is read-only"},
        {"rawequal(1, 1); setmetatable(e.data, {})", "cannot change a protected metatable"},
    };
    expect_attacks_fail_alone(attacks, sizeof attacks / sizeof *attacks,
                              "{\"id\":\"B1\",\"personal_data\":\"yes\",\"nested\":{\"x\":0},"
                              "\"list\":[1,2]}");
}

/* A file's top level cannot replace the DSL for the files after it. */
static void files_cannot_replace_the_dsl(void **state)
{
    char *dir = support_tmpdir(), *err;
    rules *r = load_hostile(dir, "policy = function() return 0 end\n", &err);
    assert_null(r);
    assert_non_null(strstr(err, "a_hostile.lua:1:"));
    assert_non_null(strstr(err, "cannot assign to global 'policy'"));
    obligo_free(err);
    support_rmtree(dir);
    free(dir);
}

/* Nothing survives from one event to the next outside state: not a global,
 * not a file-level local, not a file-level table. */
static void nothing_is_kept_between_events(void **state)
{
    char *dir = support_tmpdir(), *err;
    rules *r = load_hostile(dir,
                            "local n = 0\n"
                            "local seen = { first = true }\n"
                            "rule \"a.count\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
                            "  run = function(e, act)\n"
                            "    n = n + 1\n"
                            "    act.set(\"ns\", \"n\", n)\n"
                            "  end }\n"
                            "rule \"a.seen\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
                            "  run = function(e, act)\n"
                            "    act.set(\"ns\", \"first\", seen.first)\n"
                            "    seen.first = false\n"
                            "  end }\n"
                            "rule \"a.reads\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
                            "  run = function(e, act)\n"
                            "    act.set(\"ns\", \"read\", n .. tostring(seen.first))\n"
                            "  end }\n",
                            &err);
    assert_non_null(r);
    for (int round = 0; round < 3; round++) {
        judged j = judge(r, "t.ev", "{\"id\":\"B1\",\"personal_data\":\"yes\"}");
        expect_rule_error(&j, "a.count", "assigned the file-level variable 'n'");
        expect_rule_error(&j, "a.seen", "is read-only (cannot set first)");
        assert_int_equal(count_decisions(&j, "set", "a.count"), 0);
        assert_int_equal(count_decisions(&j, "set", "a.seen"), 0);
        /* every event sees the files as they were loaded */
        const cJSON *read = NULL;
        for (const cJSON *d = j.d->child; d; d = d->next)
            if (strcmp(cJSON_GetObjectItem(d, "rule")->valuestring, "a.reads") == 0)
                read = cJSON_GetObjectItem(d, "value");
        assert_non_null(read);
        assert_string_equal(read->valuestring, "0true");
        assert_int_equal(count_decisions(&j, "open", "z.good"), 1);
        judged_free(&j);
    }
    rules_free(r);
    support_rmtree(dir);
    free(dir);
}

/* One table under two global names is frozen once, and stays read-only
 * under both, named by the first name in sorted order (found by fuzz_rules:
 * the second name unbalanced the freeze's stack, and the load failed
 * without naming the file). */
static void a_table_under_two_globals_is_frozen_once(void **state)
{
    char *dir = support_tmpdir(), *err;
    rules *r = load_hostile(dir,
                            "limits = { n = 3 }\n"
                            "same = limits\n"
                            "rule \"a.alias\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
                            "  run = function(e, act)\n"
                            "    act.set(\"ns\", \"n\", same.n + limits.n)\n"
                            "    same.n = 4\n"
                            "  end }\n",
                            &err);
    if (!r)
        fail_msg("load: %s", err);
    judged j = judge(r, "t.ev", "{\"id\":\"B1\",\"personal_data\":\"yes\"}");
    expect_rule_error(&j, "a.alias", "the global table limits is read-only (cannot set n)");
    assert_int_equal(count_decisions(&j, "set", "a.alias"), 0);
    assert_int_equal(count_decisions(&j, "open", "z.good"), 1);
    judged_free(&j);
    rules_free(r);
    support_rmtree(dir);
    free(dir);
}

/* Addresses and hash order never reach a decision: tostring, %p, pairs. */
static void decisions_do_not_depend_on_memory(void **state)
{
    static const char *const code =
        "rule \"a.order\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
        "  run = function(e, act)\n"
        "    local t, out = {}, {}\n"
        "    for i = 60, 1, -1 do t[\"k\" .. i] = i end\n"
        "    for k, v in pairs(t) do out[#out + 1] = k end\n"
        "    for k in pairs(e.data) do out[#out + 1] = k end\n"
        "    out[#out + 1] = tostring({}) .. tostring(pairs) .. tostring(act)\n"
        "    out[#out + 1] = string.format('%s', {})\n"
        "    out[#out + 1] = tostring(next({}, nil)) .. tostring((next(t)))\n"
        "    act.set(\"ns\", \"order\", table.concat(out, \" \"))\n"
        "    act.set(\"ns\", \"t\", t)\n"
        "  end }\n"
        "rule \"a.addr\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
        "  run = function(e, act)\n"
        "    act.set(\"ns\", \"p\", string.format('%p', {}))\n"
        "  end }\n";
    char *texts[2];
    for (int i = 0; i < 2; i++) { /* two states: two string hash seeds */
        char *dir = support_tmpdir(), *err;
        rules *r = load_hostile(dir, code, &err);
        assert_non_null(r);
        judged j = judge(r, "t.ev", "{\"id\":\"B1\",\"personal_data\":\"yes\",\"q\":1,\"a\":2}");
        expect_rule_error(&j, "a.addr", "%p is not available in rules");
        const char *order = cJSON_GetObjectItem(cJSON_GetArrayItem(j.d, 0), "value")->valuestring;
        assert_non_null(strstr(order, "k1 k10 k11 "));
        if (!strstr(order, " k9 a id personal_data q tablefunctiontable table nilk1"))
            fail_msg("order: %s", order);
        assert_null(strstr(order, "0x"));
        texts[i] = cJSON_PrintUnformatted(j.d);
        judged_free(&j);
        rules_free(r);
        support_rmtree(dir);
        free(dir);
    }
    assert_string_equal(texts[0], texts[1]);
    cJSON_free(texts[0]);
    cJSON_free(texts[1]);
}

/* Work done in C for a rule is bounded and charged: converting values to
 * JSON, keys with no order. */
static void recording_is_bounded(void **state)
{
    static const attack attacks[] = {
        {"local t = {} for i = 1, 26 do t = { t, t } end act.set(\"ns\", \"k\", t)",
         "value too large to record: more than 100000 values"},
        {"local t = {} t[1] = t act.register(\"r\", \"k\", { x = t })", "nested too deeply"},
        {"act.set(\"ns\", \"k\", { (\"x\"):rep(700000), (\"y\"):rep(700000) })",
         "value too large to record: more than 1048576 bytes"},
        {"act.set(\"ns\", \"k\", 0/0)", "not finite"},
        {"local t = {} t[{}] = 1 for k in pairs(t) do end", "has no defined order"},
    };
    expect_attacks_fail_alone(attacks, sizeof attacks / sizeof *attacks,
                              "{\"id\":\"B1\",\"personal_data\":\"yes\"}");
}

/* What rules put into decisions is text the API can carry. */
static void rule_output_is_validated(void **state)
{
    static const attack attacks[] = {
        {"act.alert(\"k\", \"a\\0b\", { severity = \"info\", message = \"m\" })",
         "act.alert: the subject contains a NUL byte (at byte 1)"},
        {"act.alert(\"k\\xff\", \"s\", { severity = \"info\", message = \"m\" })",
         "act.alert: the kind is not valid UTF-8 (at byte 1)"},
        {"act.alert(\"k\", \"s\", { severity = \"info\", message = \"\\xc0\\x80\" })",
         "the message is not valid UTF-8 (at byte 0)"},
        {"act.register(\"r\", (\"k\"):rep(300), { x = 1 })",
         "act.register: the key must be 1 to 256 bytes"},
        {"act.register(\"\", \"k\", { x = 1 })", "the register name must be 1 to 256 bytes"},
        {"act.set(\"ns\", \"k\", { note = \"\\xed\\xa0\\x80\" })", "a text is not valid UTF-8"},
        {"act.set(\"ns\", \"k\", { [\"n\\0\"] = 1 })", "a name contains a NUL byte"},
        {"act.open(\"t.notify\", \"\\xff\", { from = e.time })", "the subject is not valid UTF-8"},
        {"act.cancel(\"t.notify\", \"s\", { rationale = \"\\0\" })",
         "the rationale contains a NUL byte"},
        {"act.open(\"t.notify\", \"s\", { from = e.data.name })",
         "from must be a time (RFC 3339 text or seconds), got text that is not a time"},
    };
    expect_attacks_fail_alone(attacks, sizeof attacks / sizeof *attacks,
                              "{\"id\":\"B1\",\"personal_data\":\"yes\",\"name\":\"Jan Jansen\"}");
}

/* The event's budget is shared out among the rules it reaches: eight
 * endless rules cost one event budget together, and none of them stops
 * the good rule. */
static void the_event_budget_bounds_all_rules_together(void **state)
{
    char *dir = support_tmpdir(), *err, text[4096];
    size_t n = 0;
    for (int i = 0; i < 8; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "rule \"a.loop%d\" { title = \"x\", source = \"y\", on = \"*\",\n"
                              "  run = function() while true do end end }\n",
                              i);
    char *p = support_write(dir, "z_good.lua", GOOD_RULE);
    free(p);
    p = support_write(dir, "a_hostile.lua", text);
    free(p);
    sandbox_limits limits = {.instructions = 10000000, .event_instructions = 900000};
    rules *r = NULL;
    assert_int_equal(rules_load(dir, NULL, &limits, NULL, &r, &err), 0);
    judged j = judge(r, "t.ev", "{\"id\":\"B1\",\"personal_data\":\"yes\"}");
    for (int i = 0; i < 8; i++) {
        char name[32];
        snprintf(name, sizeof name, "a.loop%d", i);
        expect_rule_error(&j, name, "the limit is 100000 instructions"); /* 900000 / 9 */
    }
    assert_int_equal(count_decisions(&j, "open", "z.good"), 1);
    judged_free(&j);
    rules_free(r);
    support_rmtree(dir);
    free(dir);
}

/* Out of memory while a rule error is recorded fails the evaluation whole
 * (OBLIGO_ENOMEM), never an error with members missing. */
static void recording_a_rule_error_survives_out_of_memory(void **state)
{
    char *dir = support_tmpdir(), *err;
    rules *r = load_hostile(dir,
                            "rule \"a.fails\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
                            "  run = function() error(\"always\") end }\n",
                            &err);
    assert_non_null(r);
    cJSON *ev = event("t.ev", "{\"id\":\"B1\",\"personal_data\":\"yes\"}");
    int done = 0, failed = 0;
    for (long n = 1; !done && n < 5000; n++) {
        cJSON *d = cJSON_CreateArray(), *errors = cJSON_CreateArray();
        alloc_fail_after(n);
        int rc = rules_evaluate(r, ev, NULL, d, errors);
        int hit = alloc_failed();
        alloc_fail_after(0);
        if (rc) {
            assert_int_equal(rc, OBLIGO_ENOMEM);
            failed++;
        } else {
            for (const cJSON *e = errors->child; e; e = e->next) {
                assert_non_null(cJSON_GetObjectItem(e, "rule"));
                assert_non_null(cJSON_GetObjectItem(e, "file"));
                assert_non_null(cJSON_GetObjectItem(e, "line"));
                assert_non_null(cJSON_GetObjectItem(e, "message"));
            }
            done = !hit;
        }
        cJSON_Delete(d);
        cJSON_Delete(errors);
    }
    assert_true(done);
    assert_true(failed > 0);
    cJSON_Delete(ev);
    rules_free(r);
    support_rmtree(dir);
    free(dir);
}

/* policy() reads inside run or a helper are known to check. */
static void policy_reads_are_found_in_the_source(void **state)
{
    char *dir = support_tmpdir(), *err;
    rules *r = load(dir, "a.lua",
                    "local function limit() return policy(\"t.helper.limit\", 3) end\n"
                    "rule \"t.r\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
                    "  run = function(e, act)\n"
                    "    if policy ( 't.run.flag', false) then return end\n"
                    "    local p = mypolicy(\"not.a.read\")\n"
                    "  end }\n",
                    &err);
    assert_non_null(r);
    cJSON *desc = rules_describe(r);
    char *text = cJSON_PrintUnformatted(cJSON_GetObjectItem(desc, "policies"));
    assert_non_null(strstr(text, "\"t.helper.limit\""));
    assert_non_null(strstr(text, "\"t.run.flag\""));
    assert_null(strstr(text, "not.a.read"));
    cJSON_free(text);
    cJSON_Delete(desc);
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
        cmocka_unit_test(event_tables_are_whole_and_sorted),
        cmocka_unit_test(declarations_while_judging_are_refused),
        cmocka_unit_test(engine_tables_and_the_event_are_read_only),
        cmocka_unit_test(files_cannot_replace_the_dsl),
        cmocka_unit_test(nothing_is_kept_between_events),
        cmocka_unit_test(a_table_under_two_globals_is_frozen_once),
        cmocka_unit_test(decisions_do_not_depend_on_memory),
        cmocka_unit_test(recording_is_bounded),
        cmocka_unit_test(rule_output_is_validated),
        cmocka_unit_test(the_event_budget_bounds_all_rules_together),
        cmocka_unit_test(recording_a_rule_error_survives_out_of_memory),
        cmocka_unit_test(policy_reads_are_found_in_the_source),
        cmocka_unit_test(shipped_rule_pack_loads),
        cmocka_unit_test(shipped_rule_pack_load_survives_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
