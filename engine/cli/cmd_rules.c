/*
 * cmd_rules.c — `obligo rules [--rules DIR] [--json|--csv]`: every rule and
 * duty (obligation kind) of the rule set with its Dutch title, legal source
 * (and a link to the law's text), file:line and, for a rule, the severity
 * its alerts are raised with, and the set's revision, for the privacy
 * officer.
 *
 * What is listed is ruleinfo_describe's (ruleinfo.h), the very description
 * GET /v1/rules answers with, so the two agree; the server adds what only
 * it knows (when the set went live, the last reload, the tests' coverage).
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "cli.h"
#include "cli_common.h"
#include "cli_csv.h"
#include "error.h"
#include "ruleinfo.h"

static const char rules_usage[] =
    "usage: obligo rules [--config F] [--rules DIR] [--plugin-dir DIR]... [--json|--csv [--bom]]\n"
    "Lists every duty (obligation kind) and rule of the rule set in DIR (default:\n"
    "the configured one) with its title, legal source and file:line, and the\n"
    "revision. --json prints one object {revision, rules, duties}, as GET /v1/rules.\n";

static const char *rules_s(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) && *v->valuestring ? v->valuestring : "-";
}

static void rules_print(const char *heading, const cJSON *list, const char *dir)
{
    printf("\n%s (%d)\n", heading, cJSON_GetArraySize(list));
    const cJSON *d;
    cJSON_ArrayForEach(d, list)
    {
        const cJSON *line = cJSON_GetObjectItemCaseSensitive(d, "line");
        printf("  %s\n    %s\n    bron: %s\n", rules_s(d, "name"), rules_s(d, "title"),
               rules_s(d, "source"));
        if (cJSON_GetObjectItemCaseSensitive(d, "severity"))
            printf("    ernst: %s\n", rules_s(d, "severity"));
        printf("    %s/%s:%d\n", dir, rules_s(d, "file"),
               cJSON_IsNumber(line) ? (int)line->valuedouble : 0);
    }
}

/* The duties, then the rules, each with what it is in "type", for CSV. */
static void rules_csv(const cJSON *desc, int bom)
{
    static const char *const cols[] = {"type",     "name", "title", "source", "source_url",
                                       "severity", "file", "line",  "types"};
    static const char *const lists[][2] = {{"duties", "duty"}, {"rules", "rule"}};
    cJSON *flat = cJSON_CreateArray();
    for (int l = 0; l < 2; l++) {
        const cJSON *d;
        cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(desc, lists[l][0]))
        {
            cJSON *o = cJSON_Duplicate(d, 1);
            cJSON_AddStringToObject(o, "type", lists[l][1]);
            cJSON_AddItemToArray(flat, o);
        }
    }
    cli_csv w;
    cli_csv_init(&w, stdout, bom);
    cli_csv_table(&w, flat, cols, (int)(sizeof cols / sizeof cols[0]));
    cJSON_Delete(flat);
}

int cli_rules(int argc, char **argv)
{
    cli_opts o;
    int prc = cli_parse(argc, argv, &o, rules_usage);
    if (prc)
        return prc > 0 ? 0 : 2;
    if (o.nargs || (o.json && o.csv) || (o.bom && !o.csv)) {
        fprintf(stderr, "obligo rules: %s\n%s",
                o.nargs ? "unexpected argument"
                : o.bom ? "--bom goes with --csv"
                        : "--json or --csv, not both",
                rules_usage);
        return 2;
    }
    config cfg;
    if (cli_config(&o, &cfg))
        return 2;
    plugins *p = NULL;
    rules *r = NULL;
    char *err = NULL;
    int rc = cli_load_rules(&cfg, &p, &r, &err);
    if (rc) {
        fprintf(stderr, "obligo rules: %s\n", err ? err : obligo_strerror(rc));
        obligo_free(err);
        config_free(&cfg);
        return 2;
    }
    /* the directory as given, without a trailing '/' */
    size_t dl = strlen(cfg.rules_dir);
    while (dl > 1 && cfg.rules_dir[dl - 1] == '/')
        dl--;
    char *dir = obligo_strndup(cfg.rules_dir, dl);
    cJSON *desc = dir ? ruleinfo_describe(r, dir, NULL) : NULL;
    const cJSON *drules = cJSON_GetObjectItemCaseSensitive(desc, "rules");
    const cJSON *dkinds = cJSON_GetObjectItemCaseSensitive(desc, "duties");
    int status = desc ? 0 : 2;
    if (!desc) {
        fprintf(stderr, "obligo rules: out of memory\n");
    } else if (o.json) {
        char *text = cJSON_PrintUnformatted(desc);
        if (text)
            puts(text);
        cJSON_free(text);
    } else if (o.csv) {
        rules_csv(desc, o.bom);
    } else {
        printf("Regelset %s, revisie %s: %d plichten, %d regels\n", cfg.rules_dir,
               rules_revision(r), cJSON_GetArraySize(dkinds), cJSON_GetArraySize(drules));
        rules_print("PLICHTEN", dkinds, dir);
        rules_print("REGELS", drules, dir);
    }
    obligo_free(dir);
    cJSON_Delete(desc);
    rules_free(r);
    plugins_free(p);
    config_free(&cfg);
    return status;
}
