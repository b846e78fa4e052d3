/*
 * cmd_test.c — `obligo test [DIR]`: runs the rule tests that live beside
 * the rules (*_test.lua; ruletest.h says how they are written and run) and
 * prints one line per test, the coverage and the totals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cli.h"
#include "cli_common.h"
#include "engine.h"
#include "error.h"
#include "ruletest.h"

static double test_percent(const ruletest_report *r)
{
    return r->total ? 100.0 * r->covered / r->total : 100.0;
}

static const char test_usage[] =
    "usage: obligo test [DIR | --rules DIR] [--run PATTERN] [--min-coverage P] [--config F]\n"
    "                   [--plugin-dir DIR]...\n"
    "Runs the rule tests (*_test.lua) under DIR (default: the configured rules\n"
    "directory) against the rules in DIR; exit 1 on a failure or coverage below P.\n";

/* Prints a report as `obligo test` does: one line per test, what is not
 * covered, the coverage and the totals. */
static void test_print(const ruletest_report *r, const char *pattern, FILE *out)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, r->results)
    {
        const char *file = cJSON_GetObjectItemCaseSensitive(t, "file")->valuestring;
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
        const cJSON *problem = cJSON_GetObjectItemCaseSensitive(t, "problem");
        int line = (int)cJSON_GetObjectItemCaseSensitive(t, "line")->valuedouble;
        if (!cJSON_IsString(name))
            fprintf(out, "FAIL %s\n", problem->valuestring);
        else if (problem)
            fprintf(out, "FAIL %s:%d: %s: %s\n", file, line, name->valuestring,
                    problem->valuestring);
        else
            fprintf(out, "ok   %s: %s\n", file, name->valuestring);
    }
    if (!pattern) {
        cJSON_ArrayForEach(t, r->uncovered)
        {
            const char *what = cJSON_GetObjectItemCaseSensitive(t, "what")->valuestring;
            const char *name = cJSON_GetObjectItemCaseSensitive(t, "name")->valuestring;
            if (strcmp(what, "rule") == 0)
                fprintf(out, "not covered: rule %s (%s:%d)\n", name,
                        cJSON_GetObjectItemCaseSensitive(t, "file")->valuestring,
                        (int)cJSON_GetObjectItemCaseSensitive(t, "line")->valuedouble);
            else
                fprintf(out, "not covered: obligation %s\n", name);
        }
        fprintf(out, "coverage: %d of %d rules and obligation kinds (%.0f%%)\n", r->covered,
                r->total, test_percent(r));
    }
    fprintf(out, "%d passed, %d failed\n", r->passed, r->failed);
}

int cli_test(int argc, char **argv)
{
    cli_opts o;
    int prc = cli_parse(argc, argv, &o, test_usage);
    if (prc)
        return prc > 0 ? 0 : 2;
    if (o.nargs > 1) {
        fputs(test_usage, stderr);
        return 2;
    }
    config cfg;
    if (cli_config(&o, &cfg))
        return 2;
    if (o.nargs && config_set(&cfg.rules_dir, o.args[0])) {
        config_free(&cfg);
        return 2;
    }
    double min_cov = o.min_coverage ? atof(o.min_coverage) : 0;
    /* The same steps as the reload gate: plugins once, the directory read
     * once, one compiled set for every test without a policy of its own. */
    plugins *p = NULL;
    rules_sources src = {0};
    rules *set = NULL;
    cJSON *defaults = cJSON_CreateObject();
    char *err = NULL;
    int rc = defaults ? engine_load_plugins(&cfg, &p, &err) : OBLIGO_ENOMEM;
    if (!rc)
        rc = rules_sources_read(cfg.rules_dir, &src, &err);
    if (!rc)
        rc = rules_load_sources(&src, defaults, &cfg.limits, p, &set, &err);
    ruletest_report r = {0};
    if (!rc) {
        ruletest_env env = {.cfg = &cfg, .plugins = p, .src = &src, .defaults = set};
        rc = ruletest_run(&env, o.run, &r);
    }
    int status;
    if (rc) {
        /* a rule set that does not load fails every test: say why */
        fprintf(rc == OBLIGO_ERULE ? stdout : stderr, "%s%s\n",
                rc == OBLIGO_ERULE ? "FAIL " : "obligo test: ", err ? err : obligo_strerror(rc));
        status = rc == OBLIGO_ERULE ? 1 : 2;
    } else {
        test_print(&r, o.run, stdout);
        int below = !o.run && min_cov > 0 && test_percent(&r) + 1e-9 < min_cov;
        if (below)
            printf("coverage %.0f%% is below --min-coverage %.0f%%\n", test_percent(&r), min_cov);
        status = r.failed || below ? 1 : 0;
    }
    obligo_free(err);
    ruletest_report_free(&r);
    rules_free(set);
    rules_sources_free(&src);
    plugins_free(p);
    cJSON_Delete(defaults);
    config_free(&cfg);
    return status;
}
