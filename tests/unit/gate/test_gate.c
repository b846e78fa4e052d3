/*
 * test_gate.c — the reload gate (gate.c) and the rule directory snapshot it
 * works on (rules_sources): what passes is what is returned, findings and
 * failing tests are said once with file and line, and a site's policy
 * never keeps corrected rules out.
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

#include "alloc.h"
#include "config.h"
#include "engine.h"
#include "error.h"
#include "gate.h"
#include "rules.h"
#include "support.h"

static const char RULES[] =
    "obligation \"t.duty\" { title = \"x\", source = \"y\",\n"
    "  due = hours(policy(\"t.hours\", 1)) }\n"
    "rule \"t.open\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
    "  run = function(e, act) act.open(\"t.duty\", e.data.id, { from = e.time }) end }\n";

/* Passes with the pack's default of 1 hour, fails with any other. */
static const char TESTS[] =
    "test \"opens\" {\n"
    "  events = { { type = \"t.ev\", time = \"2026-01-01T10:00:00Z\", data = { id = \"A\" } } },\n"
    "  obligations = { { kind = \"t.duty\", subject = \"A\", due_at = \"2026-01-01T11:00:00Z\" } "
    "},\n"
    "}\n";

static const char FAILING[] =
    "test \"wrong\" {\n"
    "  events = { { type = \"t.ev\", time = \"2026-01-01T10:00:00Z\", data = { id = \"B\" } } },\n"
    "  obligations = { { kind = \"t.duty\", subject = \"B\", due_at = \"2026-01-01T12:00:00Z\" } "
    "},\n"
    "}\n";

typedef struct fixture {
    char *dir, rules[512];
    config cfg;
    plugins *p;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    snprintf(f->rules, sizeof f->rules, "%s/rules", f->dir);
    free(support_write(f->dir, "rules/t.lua", RULES));
    free(support_write(f->dir, "rules/t_test.lua", TESTS));
    char *err = NULL;
    assert_int_equal(config_load(&f->cfg, NULL, &err), 0);
    assert_int_equal(config_set(&f->cfg.rules_dir, f->rules), 0);
    assert_int_equal(config_add_plugin_dir(&f->cfg, OBLIGO_PLUGIN_DIR), 0);
    assert_int_equal(engine_load_plugins(&f->cfg, &f->p, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    plugins_free(f->p);
    config_free(&f->cfg);
    support_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static int occurrences(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void a_clean_set_passes_and_is_the_set_compiled(void **state)
{
    fixture *f = *state;
    rules *fresh = NULL, *direct = NULL;
    char *why = NULL, *err = NULL;
    assert_int_equal(gate_prepare(&f->cfg, f->p, NULL, &fresh, NULL, &why), 0);
    assert_null(why);
    assert_non_null(fresh);
    assert_int_equal(rules_load(f->rules, f->cfg.policy, &f->cfg.limits, f->p, &direct, &err), 0);
    assert_string_equal(rules_revision(fresh), rules_revision(direct));
    assert_int_equal(rules_count(fresh), 1);
    rules_free(fresh);
    rules_free(direct);
}

/* The snapshot is what is compiled: a file saved after it was read waits
 * for the next reload. */
static void the_snapshot_is_what_is_compiled(void **state)
{
    fixture *f = *state;
    rules_sources src;
    char *err = NULL;
    assert_int_equal(rules_sources_read(f->rules, &src, &err), 0);
    assert_int_equal(src.n, 2);
    assert_false(src.files[0].is_test);
    assert_true(src.files[1].is_test); /* t.lua sorts before t_test.lua */
    rules *before = NULL, *snap = NULL, *after = NULL;
    assert_int_equal(rules_load(f->rules, NULL, NULL, f->p, &before, &err), 0);
    free(support_write(f->dir, "rules/t.lua", "-- emptied meanwhile\n"));
    assert_int_equal(rules_load_sources(&src, NULL, NULL, f->p, &snap, &err), 0);
    assert_int_equal(rules_load(f->rules, NULL, NULL, f->p, &after, &err), 0);
    assert_string_equal(rules_revision(snap), rules_revision(before));
    assert_string_not_equal(rules_revision(after), rules_revision(before));
    assert_int_equal(rules_count(snap), 1);
    assert_int_equal(rules_count(after), 0);
    rules_free(before);
    rules_free(snap);
    rules_free(after);
    rules_sources_free(&src);
}

/* The revision names the files and their contents, not where the
 * directory lies or how its path was written. */
static void the_revision_is_the_same_wherever_the_files_lie(void **state)
{
    fixture *f = *state;
    char other[700], spelt[700], *err = NULL;
    snprintf(other, sizeof other, "%s/elsewhere/rules", f->dir);
    free(support_write(f->dir, "elsewhere/rules/t.lua", RULES));
    snprintf(spelt, sizeof spelt, "%s/", f->rules);
    rules *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    assert_int_equal(rules_load(f->rules, NULL, NULL, f->p, &a, &err), 0);
    assert_int_equal(rules_load(other, NULL, NULL, f->p, &b, &err), 0);
    assert_int_equal(rules_load(spelt, NULL, NULL, f->p, &c, &err), 0);
    assert_string_equal(rules_revision(a), rules_revision(b));
    assert_string_equal(rules_revision(a), rules_revision(c));
    /* the same text under another name is another rule set */
    free(support_write(f->dir, "elsewhere/rules/t.lua", "-- gone\n"));
    free(support_write(f->dir, "elsewhere/rules/u.lua", RULES));
    assert_int_equal(rules_load(other, NULL, NULL, f->p, &d, &err), 0);
    assert_string_not_equal(rules_revision(a), rules_revision(d));
    rules_free(a);
    rules_free(b);
    rules_free(c);
    rules_free(d);
}

/* A failing test is said once, with its file, line and problem, and the
 * totals; nothing is returned to go live. */
static void a_failing_test_is_said_once(void **state)
{
    fixture *f = *state;
    free(support_write(f->dir, "rules/u_test.lua", FAILING));
    rules *fresh = NULL;
    char *why = NULL;
    cJSON *info = NULL;
    assert_int_equal(gate_prepare(&f->cfg, f->p, NULL, &fresh, &info, &why), OBLIGO_ERULE);
    assert_null(fresh);
    /* the tests ran: what they reached is known, passed or not */
    char *cov = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(info, "coverage"));
    assert_string_equal(cov, "{\"rules\":1,\"rules_tested\":1,\"duties\":1,\"duties_tested\":1}");
    cJSON_free(cov);
    cJSON_Delete(info);
    assert_non_null(why);
    char want[700];
    snprintf(want, sizeof want, "FAIL %s/u_test.lua:1: wrong: obligation t.duty B: due_at",
             f->rules);
    if (!strstr(why, want))
        fail_msg("why: %s", why);
    assert_int_equal(occurrences(why, "FAIL "), 1);
    assert_non_null(strstr(why, "; 1 passed, 1 failed"));
    obligo_free(why);
}

/* A finding of check blocks, named by file and line. */
static void a_finding_blocks(void **state)
{
    fixture *f = *state;
    free(support_write(f->dir, "rules/v.lua",
                       "rule \"v.open\" { title = \"x\", source = \"y\", on = \"t.ev\",\n"
                       "  run = function(e, act)\n"
                       "    act.open(\"v.undeclared\", e.data.id, { from = e.time })\n"
                       "  end }\n"));
    rules *fresh = NULL;
    char *why = NULL;
    cJSON *info = (cJSON *)1;
    assert_int_equal(gate_prepare(&f->cfg, f->p, NULL, &fresh, &info, &why), OBLIGO_ERULE);
    assert_null(fresh);
    assert_null(info); /* refused before any test ran */
    char want[700];
    snprintf(want, sizeof want, "%s/v.lua:3: unknown obligation kind \"v.undeclared\"", f->rules);
    if (!why || !strstr(why, want))
        fail_msg("why: %s", why ? why : "(none)");
    obligo_free(why);
}

/* A site's own policy goes live with the set, while the tests judge with the
 * pack's defaults (they were written against those), and a policy name no
 * rule reads is for `obligo check --config` to say, not a reason to refuse. */
static void a_site_policy_never_keeps_rules_out(void **state)
{
    fixture *f = *state;
    cJSON_AddNumberToObject(f->cfg.policy, "t.hours", 5);
    cJSON_AddNumberToObject(f->cfg.policy, "nobody.reads.this", 1);
    rules *fresh = NULL;
    char *why = NULL;
    assert_int_equal(gate_prepare(&f->cfg, f->p, NULL, &fresh, NULL, &why), 0);
    assert_null(why);
    const rules_kind *k = rules_kind_find(fresh, "t.duty");
    assert_non_null(k);
    assert_int_equal(k->due.n, 5);
    rules_free(fresh);
}

/* A set that does not compile is refused with the file and line. */
static void a_syntax_error_is_refused(void **state)
{
    fixture *f = *state;
    free(support_write(f->dir, "rules/w.lua", "-- a new rule\nlocal x = = 1\n"));
    rules *fresh = NULL;
    char *why = NULL;
    assert_int_equal(gate_prepare(&f->cfg, f->p, NULL, &fresh, NULL, &why), OBLIGO_ERULE);
    assert_null(fresh);
    if (!why || !strstr(why, "w.lua:2:"))
        fail_msg("why: %s", why ? why : "(none)");
    obligo_free(why);
}

/* A server that is stopping cancels the gate: it ends before its next rule
 * test and returns nothing to go live. */
static void a_cancelled_gate_returns_nothing(void **state)
{
    fixture *f = *state;
    atomic_int cancel = 1;
    rules *fresh = NULL;
    char *why = NULL;
    assert_int_equal(gate_prepare(&f->cfg, f->p, &cancel, &fresh, NULL, &why), OBLIGO_EBUSY);
    assert_null(fresh);
    obligo_free(why);
}

int main(void)
{
    engine_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_clean_set_passes_and_is_the_set_compiled, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_snapshot_is_what_is_compiled, setup, teardown),
        cmocka_unit_test_setup_teardown(the_revision_is_the_same_wherever_the_files_lie, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_failing_test_is_said_once, setup, teardown),
        cmocka_unit_test_setup_teardown(a_finding_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(a_site_policy_never_keeps_rules_out, setup, teardown),
        cmocka_unit_test_setup_teardown(a_syntax_error_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(a_cancelled_gate_returns_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
