/*
 * test_rule_tests.c — `obligo test`: the shipped pack's own tests pass with
 * full coverage; a wrong expectation fails with its file, line and what
 * differed; --run selects tests; --min-coverage fails below the bar.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"

static int obligo_test(const char *dir, const char *opt1, const char *opt2, char **out)
{
    char *argv[] = {(char *)OBLIGO_BIN, "test", (char *)dir, (char *)opt1, (char *)opt2, NULL};
    if (!opt1)
        argv[3] = NULL;
    else if (!opt2)
        argv[4] = NULL;
    return support_run(argv, out, NULL);
}

static void shipped_pack_passes_with_full_coverage(void **state)
{
    char *out = NULL;
    int rc = obligo_test(OBLIGO_SOURCE_DIR "/rules", "--min-coverage", "100", &out);
    if (rc != 0)
        fail_msg("exit %d:\n%s", rc, out);
    assert_non_null(strstr(out, " passed, 0 failed"));
    assert_non_null(strstr(out, "(100%)"));
    free(out);
}

static const char RULE[] =
    "obligation \"t.duty\" { title = \"Plicht\", source = \"test\", due = hours(72) }\n"
    "rule \"t.open\" { title = \"x\", source = \"y\", on = \"nl.ict.backup.completed\",\n"
    "  run = function(e, act) act.open(\"t.duty\", e.data.system, { from = e.time }) end }\n"
    "rule \"t.never\" { title = \"x\", source = \"y\", on = \"nl.ict.wifi.checked\",\n"
    "  run = function(e, act) end }\n";

static const char TESTS[] =
    "local backup = { type = \"nl.ict.backup.completed\", time = \"2026-06-01T10:00:00+02:00\",\n"
    "  data = { system = \"ecd\", completed_at = \"2026-06-01T10:00:00+02:00\" } }\n"
    "test \"right\" {\n"
    "  events = { backup },\n"
    "  obligations = { { kind = \"t.duty\", subject = \"ecd\", due_at = "
    "\"2026-06-04T08:00:00Z\" } },\n"
    "}\n"
    "test \"wrong due\" {\n"
    "  events = { backup },\n"
    "  obligations = { { kind = \"t.duty\", subject = \"ecd\", due_at = "
    "\"2026-06-04T09:00:00Z\" } },\n"
    "}\n";

static void a_wrong_expectation_fails_with_file_and_line(void **state)
{
    char *dir = support_tmpdir();
    free(support_write(dir, "t.lua", RULE));
    free(support_write(dir, "t_test.lua", TESTS));
    char *out = NULL;
    assert_int_equal(obligo_test(dir, NULL, NULL, &out), 1);
    assert_non_null(strstr(out, "ok   "));
    assert_non_null(strstr(out, "t_test.lua:7: wrong due: obligation t.duty ecd: due_at "
                                "2026-06-04T08:00:00Z, expected 2026-06-04T09:00:00Z"));
    assert_non_null(strstr(out, "1 passed, 1 failed"));
    /* the rule that never ran is named as not covered */
    assert_non_null(strstr(out, "not covered: rule t.never"));
    free(out);
    /* --run picks tests by name */
    assert_int_equal(obligo_test(dir, "--run", "right", &out), 0);
    assert_non_null(strstr(out, "1 passed, 0 failed"));
    free(out);
    support_rmtree(dir);
    free(dir);
}

static void coverage_below_the_bar_fails(void **state)
{
    char *dir = support_tmpdir();
    free(support_write(dir, "t.lua", RULE));
    /* only the first test: t.open and t.duty covered, t.never not: 2 of 3 */
    char *only_right = strdup(TESTS);
    *strstr(only_right, "test \"wrong due\"") = '\0';
    free(support_write(dir, "t_test.lua", only_right));
    free(only_right);
    char *out = NULL;
    assert_int_equal(obligo_test(dir, "--min-coverage", "50", &out), 0);
    free(out);
    assert_int_equal(obligo_test(dir, "--min-coverage", "90", &out), 1);
    assert_non_null(strstr(out, "coverage: 2 of 3"));
    assert_non_null(strstr(out, "below --min-coverage"));
    free(out);
    support_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shipped_pack_passes_with_full_coverage),
        cmocka_unit_test(a_wrong_expectation_fails_with_file_and_line),
        cmocka_unit_test(coverage_below_the_bar_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
