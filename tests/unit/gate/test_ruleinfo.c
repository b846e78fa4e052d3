/*
 * test_ruleinfo.c — a rule set as the officer reads it (gate/ruleinfo.c):
 * the links to the law, the severity read from a rule's run function,
 * tested and coverage from a test run, files within the rule directory,
 * and where a refusal points.
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
#include "ruleinfo.h"

#define AVG "https://eur-lex.europa.eu/legal-content/NL/TXT/?uri=CELEX:32016R0679"
#define BW7 "https://wetten.overheid.nl/BWBR0005290"

static void links_to_the_law(void **state)
{
    (void)state;
    assert_string_equal(ruleinfo_source_url("AVG art. 33 lid 1"), AVG);
    assert_string_equal(ruleinfo_source_url("BW 7:454 lid 3"), BW7);
    assert_string_equal(ruleinfo_source_url("NIS2 art. 23 lid 4 sub a; Cbw"),
                        "https://eur-lex.europa.eu/legal-content/NL/TXT/?uri=CELEX:32022L2555");
    /* the first law named that has a link */
    assert_string_equal(ruleinfo_source_url("NEN 7513; Wabvpz art. 15d; AVG art. 9"),
                        "https://wetten.overheid.nl/BWBR0023864");
    assert_string_equal(
        ruleinfo_source_url(
            "NEN 7513; Besluit elektronische gegevensverwerking door zorgaanbieders art. 3"),
        "https://wetten.overheid.nl/BWBR0040238");
    assert_string_equal(ruleinfo_source_url("NTA 7516; AVG art. 32"), AVG);
    /* norms and policies have none; a word inside another is not the law */
    assert_null(ruleinfo_source_url("Praktijkbeleid; NEN 7510 12.3.1"));
    assert_null(ruleinfo_source_url("IGJ Toetsingskader e-health"));
    assert_null(ruleinfo_source_url("HAVGA"));
    assert_null(ruleinfo_source_url(NULL));
}

static void where_a_refusal_points(void **state)
{
    (void)state;
    char *file = NULL;
    int line = 0;
    assert_int_equal(ruleinfo_error_place("rules/avg/x.lua:12: unexpected symbol near ')'", "rules",
                                          &file, &line),
                     0);
    assert_string_equal(file, "avg/x.lua");
    assert_int_equal(line, 12);
    obligo_free(file);
    assert_int_equal(ruleinfo_error_place("FAIL /srv/r/t_test.lua:3: wrong: obligation x; "
                                          "/srv/r/u.lua:9: other; 1 passed, 1 failed",
                                          "/srv/r/", &file, &line),
                     0);
    assert_string_equal(file, "t_test.lua");
    assert_int_equal(line, 3);
    obligo_free(file);
    /* outside the directory: the path as it is */
    assert_int_equal(ruleinfo_error_place("/elsewhere/a.lua:1: x", "rules", &file, &line), 0);
    assert_string_equal(file, "/elsewhere/a.lua");
    obligo_free(file);
    assert_int_equal(
        ruleinfo_error_place("its sources could not be kept: disk full", "rules", &file, &line),
        -1);
    assert_null(file);
    assert_int_equal(line, 0);
    assert_int_equal(ruleinfo_error_place("time 10:30: no", "rules", &file, &line), -1);
    assert_int_equal(ruleinfo_error_place(NULL, "rules", &file, &line), -1);
}

static const char RULES[] =
    "obligation \"t.duty\" { title = \"Plicht\", source = \"AVG art. 34\", due = hours(1) }\n"
    "obligation \"t.other\" { title = \"Andere\", source = \"Praktijkbeleid\", due = hours(1) }\n"
    "rule \"t.open\" { title = \"Opent\", source = \"y\", on = \"t.ev\",\n"
    "  run = function(e, act)\n"
    "    act.open(\"t.duty\", e.data.id, { from = e.time })\n"
    "    act.alert(\"t.a\", e.data.id, { severity = e.data.x and \"warning\" or \"info\",\n"
    "      message = \"m\" })\n"
    "  end }\n"
    "rule \"t.loud\" { title = \"Luid\", source = \"y\", on = { \"t.ev\", \"t.other\" },\n"
    "  run = function(e, act)\n"
    "    act.alert(\"t.b\", e.data.id, { severity = \"critical\", message = \"m\" })\n"
    "  end }\n"
    "-- severity = \"critical\" outside any run function counts for none\n"
    "rule \"t.quiet\" { title = \"Stil\", source = \"y\", on = \"t.ev\",\n"
    "  run = function(e, act) end }\n";

static const cJSON *named(const cJSON *list, const char *name)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "name")), name) == 0)
            return e;
    }
    fail_msg("no %s", name);
    return NULL;
}

static const char *str(const cJSON *o, const char *name)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
}

static void the_description(void **state)
{
    (void)state;
    rules_file f = {.path = "/srv/rules/t/t.lua", .text = (char *)RULES, .len = strlen(RULES)};
    rules_sources src = {.dir = "/srv/rules", .files = &f, .n = 1};
    rules *r = NULL;
    char *err = NULL;
    assert_int_equal(rules_load_sources(&src, NULL, NULL, NULL, &r, &err), 0);
    /* without a test run: no tested, no coverage */
    cJSON *d = ruleinfo_describe(r, "/srv/rules/", NULL);
    assert_string_equal(str(d, "revision"), rules_revision(r));
    const cJSON *rl = cJSON_GetObjectItemCaseSensitive(d, "rules");
    const cJSON *du = cJSON_GetObjectItemCaseSensitive(d, "duties");
    assert_int_equal(cJSON_GetArraySize(rl), 3);
    assert_int_equal(cJSON_GetArraySize(du), 2);
    assert_null(cJSON_GetObjectItemCaseSensitive(d, "coverage"));
    const cJSON *open = named(rl, "t.open");
    assert_string_equal(str(open, "file"), "t/t.lua");
    assert_int_equal((int)cJSON_GetObjectItem(open, "line")->valuedouble, 3);
    assert_string_equal(str(open, "severity"), "warning"); /* the most severe it names */
    assert_string_equal(str(named(rl, "t.loud"), "severity"), "critical");
    assert_null(cJSON_GetObjectItemCaseSensitive(named(rl, "t.quiet"), "severity"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(named(rl, "t.loud"), "types")), 2);
    assert_null(cJSON_GetObjectItemCaseSensitive(open, "tested"));
    assert_string_equal(str(named(du, "t.duty"), "source_url"),
                        "https://eur-lex.europa.eu/legal-content/NL/TXT/?uri=CELEX:32016R0679");
    assert_null(cJSON_GetObjectItemCaseSensitive(named(du, "t.other"), "source_url"));
    cJSON_Delete(d);
    /* with a run that reached t.open and t.duty only */
    ruletest_report rep = {.uncovered =
                               cJSON_Parse("[{\"what\":\"rule\",\"name\":\"t.loud\"},"
                                           "{\"what\":\"rule\",\"name\":\"t.quiet\"},"
                                           "{\"what\":\"obligation\",\"name\":\"t.other\"}]")};
    d = ruleinfo_describe(r, "/srv/rules", &rep);
    rl = cJSON_GetObjectItemCaseSensitive(d, "rules");
    du = cJSON_GetObjectItemCaseSensitive(d, "duties");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(named(rl, "t.open"), "tested")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(named(rl, "t.loud"), "tested")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(named(du, "t.duty"), "tested")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(named(du, "t.other"), "tested")));
    char *cov = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(d, "coverage"));
    assert_string_equal(cov, "{\"rules\":3,\"rules_tested\":1,\"duties\":2,\"duties_tested\":1}");
    cJSON_free(cov);
    cJSON_Delete(d);
    cJSON_Delete(rep.uncovered);
    /* the files, by their path within the directory */
    cJSON *files = ruleinfo_files(r);
    assert_int_equal(cJSON_GetArraySize(files), 1);
    assert_string_equal(str(files, "t/t.lua"), RULES);
    cJSON_Delete(files);
    rules_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(links_to_the_law),
        cmocka_unit_test(where_a_refusal_points),
        cmocka_unit_test(the_description),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
