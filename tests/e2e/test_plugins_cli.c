/*
 * test_plugins_cli.c — end to end: the real obligo binary with the fixture
 * plugins of tests/plugins, each directory given alone with --plugin-dir.
 * `obligo plugins` lists a good plugin (JSON and text) and refuses a bad
 * one with exit 2 and a message naming the file; `obligo ingest` with a rule
 * whose plugin function fails keeps the event and raises an
 * obligo.rule_error alert naming the rule, and carries on with the next
 * event: a plugin's error never takes the engine down.
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

#define FIXTURES OBLIGO_BINARY_DIR "/test-plugins"

/* Runs obligo with up to 10 arguments after the binary (NULL-terminated). */
static int obligo(char **out, char **err, const char *a0, const char *a1, const char *a2,
                  const char *a3, const char *a4, const char *a5, const char *a6, const char *a7,
                  const char *a8, const char *a9)
{
    char *argv[] = {(char *)OBLIGO_BIN, (char *)a0, (char *)a1, (char *)a2, (char *)a3, (char *)a4,
                    (char *)a5,         (char *)a6, (char *)a7, (char *)a8, (char *)a9, NULL};
    return support_run(argv, out, err);
}

static void plugins_json_lists_the_good_plugin(void **state)
{
    char *out = NULL, *err = NULL;
    int rc = obligo(&out, &err, "plugins", "--json", "--plugin-dir", FIXTURES "/good", NULL, NULL,
                    NULL, NULL, NULL, NULL);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, err);
    cJSON *list = cJSON_Parse(out);
    assert_true(cJSON_IsArray(list));
    assert_int_equal(cJSON_GetArraySize(list), 1); /* --plugin-dir replaces the default */
    const cJSON *g = cJSON_GetArrayItem(list, 0);
    assert_string_equal(support_str(g, "name"), "good");
    assert_string_equal(support_str(g, "version"), "1.2.3");
    assert_string_equal(support_str(g, "abi"), "1.1");
    assert_string_equal(support_str(g, "status"), "loaded");
    assert_string_equal(support_str(g, "file"), FIXTURES "/good/good.so");
    const cJSON *types = cJSON_GetObjectItemCaseSensitive(g, "event_types");
    assert_int_equal(cJSON_GetArraySize(types), 1);
    assert_string_equal(cJSON_GetArrayItem(types, 0)->valuestring, "org.test.good.happened");
    const cJSON *fns = cJSON_GetObjectItemCaseSensitive(g, "rule_functions");
    assert_int_equal(cJSON_GetArraySize(fns), 1);
    assert_string_equal(cJSON_GetArrayItem(fns, 0)->valuestring, "good.echo");
    cJSON_Delete(list);
    free(out);
    free(err);

    /* the table for people says the same */
    rc = obligo(&out, &err, "plugins", "--plugin-dir", FIXTURES "/good", NULL, NULL, NULL, NULL,
                NULL, NULL, NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "good 1.2.3 (ABI 1.1)"));
    assert_non_null(strstr(out, "org.test.good.happened"));
    assert_non_null(strstr(out, "good.echo"));
    free(out);
    free(err);
}

static void plugins_refuses_another_major(void **state)
{
    char *out = NULL, *err = NULL;
    int rc = obligo(&out, &err, "plugins", "--plugin-dir", FIXTURES "/major", NULL, NULL, NULL,
                    NULL, NULL, NULL, NULL);
    assert_int_equal(rc, 2);
    if (!strstr(err, FIXTURES "/major/major.so") || !strstr(err, "ABI 2."))
        fail_msg("stderr does not name the file and the reason: %s", err);
    assert_string_equal(out, "");
    free(out);
    free(err);

    /* and the same for --json: nothing half listed on stdout */
    rc = obligo(&out, &err, "plugins", "--json", "--plugin-dir", FIXTURES "/noentry", NULL, NULL,
                NULL, NULL, NULL, NULL);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "noentry.so"));
    assert_non_null(strstr(err, "no entry point"));
    assert_string_equal(out, "");
    free(out);
    free(err);
}

#define EVENT(id, word)                                                                            \
    "{\"specversion\":\"1.0\",\"id\":\"" id "\",\"source\":\"urn:test:good\","                     \
    "\"type\":\"org.test.good.happened\",\"time\":\"2026-03-02T10:00:00+01:00\","                  \
    "\"data\":{\"word\":\"" word "\"}}\n"

static const char RULE[] =
    "rule \"good.echo_word\" {\n"
    "  title  = \"Echo the word through the good plugin\",\n"
    "  source = \"tests/plugins/good\",\n"
    "  on     = \"org.test.good.happened\",\n"
    "  run    = function(e, act)\n"
    "    local echoed = good.echo(e.data.word)\n"
    "    act.alert(\"good.echoed\", e.data.word, { severity = \"info\",\n"
    "                                            message = \"echoed \" .. echoed[1] })\n"
    "  end,\n"
    "}\n";

static void a_failing_plugin_function_is_a_rule_error(void **state)
{
    char *dir = support_tmpdir();
    assert_non_null(dir);
    char *rules = support_write(dir, "rules/good.lua", RULE);
    char *events = support_write(dir, "events.ndjson", EVENT("g1", "boom") EVENT("g2", "fine"));
    char db[1024], rules_dir[1024];
    snprintf(db, sizeof db, "%s/obligo.db", dir);
    snprintf(rules_dir, sizeof rules_dir, "%s/rules", dir);

    char *out = NULL, *err = NULL;
    int rc = obligo(&out, &err, "ingest", "--db", db, "--rules", rules_dir, "--plugin-dir",
                    FIXTURES "/good", "--clock", "events", events);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, err);
    /* both events are in; one rule error, logged with the rule's name */
    assert_non_null(strstr(err, "2 lines, 2 accepted, 0 duplicates, 0 rejected, 1 rule errors"));
    assert_non_null(strstr(err, "rule good.echo_word failed"));
    assert_non_null(strstr(err, "boom was asked for"));
    free(out);
    free(err);

    cJSON *alerts = support_query(db, "alerts", NULL);
    assert_non_null(alerts);
    int n = 0;
    const cJSON *a = support_find(alerts, "obligo.rule_error", "good.echo_word", &n);
    assert_int_equal(n, 1);
    assert_non_null(strstr(support_str(a, "message"), "good.echo: boom was asked for"));
    /* the next event ran the same rule, calling the same plugin, fine */
    a = support_find(alerts, "good.echoed", "fine", &n);
    assert_int_equal(n, 1);
    assert_string_equal(support_str(a, "message"), "echoed fine");
    support_find(alerts, "good.echoed", "boom", &n);
    assert_int_equal(n, 0);
    cJSON_Delete(alerts);

    /* the failing event was committed: sending it again is a duplicate */
    rc = obligo(&out, &err, "ingest", "--db", db, "--rules", rules_dir, "--plugin-dir",
                FIXTURES "/good", "--clock", "events", events);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(err, "2 lines, 0 accepted, 2 duplicates"));
    free(out);
    free(err);

    free(rules);
    free(events);
    support_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plugins_json_lists_the_good_plugin),
        cmocka_unit_test(plugins_refuses_another_major),
        cmocka_unit_test(a_failing_plugin_function_is_a_rule_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
