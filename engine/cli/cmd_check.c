/*
 * cmd_check.c — `obligo check [DIR]`: compiles and lints a rule directory
 * without running the engine, for the privacy officer who edits rules.
 *
 * Every finding is one line `file:line: message` (check.h says what is
 * looked for); the exit code is 1 when there is any.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "check.h"
#include "cli.h"
#include "cli_common.h"
#include "engine.h"
#include "error.h"
#include "plugins.h"
#include "rules.h"

/* Prints the findings as file:line: message; returns how many. */
static long check_print(const cJSON *findings, FILE *out)
{
    long n = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, findings)
    {
        fprintf(out, "%s:%d: %s\n", cJSON_GetObjectItemCaseSensitive(f, "file")->valuestring,
                (int)cJSON_GetObjectItemCaseSensitive(f, "line")->valuedouble,
                cJSON_GetObjectItemCaseSensitive(f, "message")->valuestring);
        n++;
    }
    return n;
}

static const char check_usage[] =
    "usage: obligo check [DIR | --rules DIR] [--config F] [--plugin-dir DIR]...\n"
    "Compiles and lints the rules in DIR (default: the configured rules directory)\n"
    "without running the engine. Findings are printed as file:line: message; exit 1\n"
    "when there is any.\n";

int cli_check(int argc, char **argv)
{
    cli_opts o;
    int prc = cli_parse(argc, argv, &o, check_usage);
    if (prc)
        return prc > 0 ? 0 : 2;
    if (o.nargs > 1) {
        fputs(check_usage, stderr);
        return 2;
    }
    config cfg;
    if (cli_config(&o, &cfg))
        return 2;
    const char *dir = o.nargs ? o.args[0] : cfg.rules_dir;
    plugins *p = NULL;
    char *err = NULL;
    int rc = engine_load_plugins(&cfg, &p, &err);
    if (rc) {
        fprintf(stderr, "obligo check: %s\n", err ? err : obligo_strerror(rc));
        obligo_free(err);
        config_free(&cfg);
        return 2;
    }
    rules_sources src;
    rules *r = NULL;
    rc = rules_sources_read(dir, &src, &err);
    if (!rc)
        rc = rules_load_sources(&src, cfg.policy, &cfg.limits, p, &r, &err);
    if (rc) {
        /* a load error is already "file:line: message" */
        printf("%s\n", err ? err : obligo_strerror(rc));
        obligo_free(err);
        rules_sources_free(&src);
        plugins_free(p);
        config_free(&cfg);
        return 1;
    }
    cJSON *findings = check_rules(p, r, &src, cfg.policy);
    long n = findings ? check_print(findings, stdout) : -1;
    if (n < 0)
        fprintf(stderr, "obligo check: out of memory\n");
    else if (n == 0)
        printf("obligo check: %s: %d rules, %d obligation kinds, revision %s: no findings\n", dir,
               rules_count(r), rules_kind_count(r), rules_revision(r));
    cJSON_Delete(findings);
    rules_free(r);
    rules_sources_free(&src);
    plugins_free(p);
    config_free(&cfg);
    return n < 0 ? 2 : n ? 1 : 0;
}
