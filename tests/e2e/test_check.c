/*
 * test_check.c — `obligo check`: the shipped pack is clean, and each kind of
 * mistake a privacy officer can make in a rule file is found and reported
 * as file:line: message, with exit 1.
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

/* Runs `obligo check DIR`; returns the exit code and stdout. */
static int check(const char *dir, char **out)
{
    char *argv[] = {(char *)OBLIGO_BIN, "check", (char *)dir, NULL};
    return support_run(argv, out, NULL);
}

static void shipped_pack_is_clean(void **state)
{
    char *out = NULL;
    assert_int_equal(check(OBLIGO_SOURCE_DIR "/rules", &out), 0);
    assert_non_null(strstr(out, "no findings"));
    free(out);
}

/* One planted mistake per case: the rule file, and what must be said. */
static const struct {
    const char *text, *expect;
} cases[] = {
    /* a syntax error */
    {"rule \"r\" { title = \"t\", source = \"s\", on = \"nl.ict.backup.completed\",\n"
     "  run = function(e, act)\n"
     "    if e.data.system then\n"
     "  end }\n",
     "a.lua:4:"},
    /* an event type nobody registers: the rule can never fire */
    {"rule \"r\" { title = \"t\", source = \"s\", on = \"nl.ict.backup.complete\",\n"
     "  run = function(e, act) end }\n",
     "a.lua:1: rule \"r\" listens for \"nl.ict.backup.complete\", which no loaded plugin"},
    /* a field the type does not have */
    {"rule \"r\" { title = \"t\", source = \"s\", on = \"nl.ict.backup.completed\",\n"
     "  run = function(e, act)\n"
     "    if e.data.sytem == \"ecd\" then end\n"
     "  end }\n",
     "a.lua:3: rule \"r\": its event types have no field data.sytem"},
    /* an obligation kind that is not declared */
    {"rule \"r\" { title = \"t\", source = \"s\", on = \"nl.ict.backup.completed\",\n"
     "  run = function(e, act)\n"
     "    act.open(\"ict.dayly_backup\", e.data.system, { from = e.time })\n"
     "  end }\n",
     "a.lua:3: unknown obligation kind \"ict.dayly_backup\""},
    /* the same id twice */
    {"rule \"r\" { title = \"t\", source = \"s\", on = \"nl.ict.backup.completed\",\n"
     "  run = function(e, act) end }\n"
     "rule \"r\" { title = \"t\", source = \"s\", on = \"nl.ict.backup.completed\",\n"
     "  run = function(e, act) end }\n",
     "a.lua:3: rule \"r\" is declared twice"},
    /* a missing legal source */
    {"obligation \"o\" { title = \"t\", due = days(1) }\n",
     "a.lua:1: obligation \"o\" needs a title and a legal source"},
};

static void planted_mistakes_are_found(void **state)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *dir = support_tmpdir();
        char *p = support_write(dir, "a.lua", cases[i].text);
        char *out = NULL;
        int rc = check(dir, &out);
        if (rc != 1 || !strstr(out, cases[i].expect))
            fail_msg("case %zu: exit %d, output '%s', expected '%s'", i, rc, out ? out : "",
                     cases[i].expect);
        free(out);
        free(p);
        support_rmtree(dir);
        free(dir);
    }
}

static void a_misspelt_policy_is_found(void **state)
{
    char *dir = support_tmpdir();
    char *cfg =
        support_write(dir, "obligo.json", "{\"policy\": {\"avg.complete_notification.dayz\": 3}}");
    char *out = NULL;
    char *argv[] = {(char *)OBLIGO_BIN, "check",     (char *)OBLIGO_SOURCE_DIR "/rules/",
                    "--config",         (char *)cfg, NULL};
    assert_int_equal(support_run(argv, &out, NULL), 1);
    assert_non_null(strstr(out, "policy \"avg.complete_notification.dayz\" is not read"));
    free(out);
    /* the right name is read: no finding, and no "//" in paths */
    free(
        support_write(dir, "obligo.json", "{\"policy\": {\"avg.complete_notification.days\": 3}}"));
    assert_int_equal(support_run(argv, &out, NULL), 0);
    assert_null(strstr(out, "//"));
    free(out);
    free(cfg);
    support_rmtree(dir);
    free(dir);
}

/* Each command takes the options its usage names, and no others: one it
 * does not take is a usage error (exit 2) naming it, not silently ignored. */
static void an_option_a_command_does_not_take_is_refused(void **state)
{
    (void)state;
    char *err = NULL;
    char *verify[] = {OBLIGO_BIN, "verify", "--db", "/nonexistent/x.db", "--listen", "x", NULL};
    assert_int_equal(support_run(verify, NULL, &err), 2);
    if (!err || !strstr(err, "option --listen is not an option of this command"))
        fail_msg("stderr: %s", err ? err : "(none)");
    free(err);
    err = NULL;
    char *alerts[] = {OBLIGO_BIN, "alerts", "--history", NULL};
    assert_int_equal(support_run(alerts, NULL, &err), 2);
    assert_non_null(strstr(err, "--history"));
    free(err);
    /* what the usage names is taken: check --rules DIR as check DIR */
    char *out = NULL;
    char *by_option[] = {OBLIGO_BIN, "check", "--rules", OBLIGO_SOURCE_DIR "/rules", NULL};
    assert_int_equal(support_run(by_option, &out, NULL), 0);
    assert_non_null(strstr(out, "no findings"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shipped_pack_is_clean),
        cmocka_unit_test(planted_mistakes_are_found),
        cmocka_unit_test(a_misspelt_policy_is_found),
        cmocka_unit_test(an_option_a_command_does_not_take_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
