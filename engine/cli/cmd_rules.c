/*
 * cmd_rules.c — `obligo rules [--rules DIR] [--json|--csv]`: every rule and
 * obligation kind of the rule set with its Dutch title, legal source and
 * file:line, and the set's revision, for the privacy officer.
 *
 * The DSL records no severity: a rule's alerts name theirs when they are
 * raised (act.alert), so none is shown here.
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "cli.h"
#include "cli_common.h"
#include "cli_csv.h"
#include "error.h"

static const char rules_usage[] =
    "usage: obligo rules [--config F] [--rules DIR] [--plugin-dir DIR]... [--json|--csv [--bom]]\n"
    "Lists every obligation kind (duty) and rule of the rule set in DIR (default:\n"
    "the configured one) with its title, legal source and file:line, and the\n"
    "revision. --json prints one object {revision, rules, obligations}.\n";

/* {name, title, source, file, line} of a described entry, with the kind of
 * entry in "type" for CSV. */
static cJSON *rules_entry(const cJSON *d, const char *type)
{
    cJSON *o = cJSON_CreateObject();
    static const char *const keep[] = {"name", "title", "source", "file", "line", "on"};
    if (type)
        cJSON_AddStringToObject(o, "type", type);
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, keep[i]);
        if (v)
            cJSON_AddItemToObject(o, keep[i], cJSON_Duplicate(v, 1));
    }
    return o;
}

static const char *rules_s(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) && *v->valuestring ? v->valuestring : "-";
}

static void rules_print(const char *heading, const cJSON *list)
{
    printf("\n%s (%d)\n", heading, cJSON_GetArraySize(list));
    const cJSON *d;
    cJSON_ArrayForEach(d, list)
    {
        const cJSON *line = cJSON_GetObjectItemCaseSensitive(d, "line");
        printf("  %s\n    %s\n    bron: %s\n    %s:%d\n", rules_s(d, "name"), rules_s(d, "title"),
               rules_s(d, "source"), rules_s(d, "file"),
               cJSON_IsNumber(line) ? (int)line->valuedouble : 0);
    }
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
    cJSON *desc = rules_describe(r);
    const cJSON *drules = cJSON_GetObjectItemCaseSensitive(desc, "rules");
    const cJSON *dkinds = cJSON_GetObjectItemCaseSensitive(desc, "obligations");
    int status = desc ? 0 : 2;
    if (!desc) {
        fprintf(stderr, "obligo rules: out of memory\n");
    } else if (o.json || o.csv) {
        cJSON *out = cJSON_CreateObject();
        cJSON_AddStringToObject(out, "revision", rules_revision(r));
        cJSON *lr = cJSON_AddArrayToObject(out, "rules");
        cJSON *lk = cJSON_AddArrayToObject(out, "obligations");
        cJSON *flat = cJSON_CreateArray();
        const cJSON *d;
        cJSON_ArrayForEach(d, dkinds)
        {
            cJSON_AddItemToArray(lk, rules_entry(d, NULL));
            cJSON_AddItemToArray(flat, rules_entry(d, "obligation"));
        }
        cJSON_ArrayForEach(d, drules)
        {
            cJSON_AddItemToArray(lr, rules_entry(d, NULL));
            cJSON_AddItemToArray(flat, rules_entry(d, "rule"));
        }
        if (o.json) {
            char *text = cJSON_PrintUnformatted(out);
            if (text)
                puts(text);
            cJSON_free(text);
        } else {
            static const char *const cols[] = {"type", "name", "title", "source",
                                               "file", "line", "on"};
            cli_csv w;
            cli_csv_init(&w, stdout, o.bom);
            cli_csv_table(&w, flat, cols, (int)(sizeof cols / sizeof cols[0]));
        }
        cJSON_Delete(flat);
        cJSON_Delete(out);
    } else {
        printf("Regelset %s, revisie %s: %d plichten, %d regels\n", cfg.rules_dir,
               rules_revision(r), cJSON_GetArraySize(dkinds), cJSON_GetArraySize(drules));
        rules_print("PLICHTEN", dkinds);
        rules_print("REGELS", drules);
    }
    cJSON_Delete(desc);
    rules_free(r);
    plugins_free(p);
    config_free(&cfg);
    return status;
}
