/*
 * cmd_plugins.c — `obligo plugins [--json]`: what the plugin directories
 * hold and what each plugin registers, loaded exactly as serve and ingest
 * would load them (so a refusal shows here first).
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "cli.h"
#include "cli_common.h"
#include "engine.h"
#include "error.h"
#include "plugins.h"

static const char plugins_usage[] =
    "usage: obligo plugins [--config F] [--plugin-dir DIR]... [--json]\n"
    "Lists the loaded plugins: name, version, ABI and what each registers.\n";

static void cli_plugins_list(const char *title, const cJSON *arr)
{
    if (!cJSON_GetArraySize(arr))
        return;
    printf("    %-16s", title);
    int first = 1;
    for (const cJSON *c = arr->child; c; c = c->next) {
        const char *s = cJSON_IsString(c)
                            ? c->valuestring
                            : cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
        printf("%s%s", first ? "" : ", ", s);
        first = 0;
    }
    putchar('\n');
}

int cli_plugins(int argc, char **argv)
{
    cli_opts o;
    int prc = cli_parse(argc, argv, &o, plugins_usage);
    if (prc)
        return prc > 0 ? 0 : 2;
    config cfg;
    if (cli_config(&o, &cfg))
        return 2;
    plugins *p = NULL;
    char *err = NULL;
    int rc = engine_load_plugins(&cfg, &p, &err);
    if (rc) {
        fprintf(stderr, "obligo plugins: %s\n", err ? err : obligo_strerror(rc));
        obligo_free(err);
        config_free(&cfg);
        return 2;
    }
    cJSON *list = plugins_describe(p);
    if (o.json) {
        char *text = cJSON_PrintUnformatted(list);
        if (text)
            puts(text);
        cJSON_free(text);
    } else {
        for (const cJSON *pl = list ? list->child : NULL; pl; pl = pl->next) {
            const cJSON *reason = cJSON_GetObjectItemCaseSensitive(pl, "reason");
            if (cJSON_IsString(reason)) {
                printf("%s — %s\n    %-16s%s\n",
                       cJSON_GetObjectItemCaseSensitive(pl, "name")->valuestring,
                       reason->valuestring, "file",
                       cJSON_GetObjectItemCaseSensitive(pl, "file")->valuestring);
                continue;
            }
            printf("%s %s (ABI %s) — %s\n    %-16s%s\n",
                   cJSON_GetObjectItemCaseSensitive(pl, "name")->valuestring,
                   cJSON_GetObjectItemCaseSensitive(pl, "version")->valuestring,
                   cJSON_GetObjectItemCaseSensitive(pl, "abi")->valuestring,
                   cJSON_GetObjectItemCaseSensitive(pl, "description")->valuestring, "file",
                   cJSON_GetObjectItemCaseSensitive(pl, "file")->valuestring);
            cli_plugins_list("event types", cJSON_GetObjectItemCaseSensitive(pl, "event_types"));
            cli_plugins_list("obligations",
                             cJSON_GetObjectItemCaseSensitive(pl, "obligation_kinds"));
            cli_plugins_list("rule functions",
                             cJSON_GetObjectItemCaseSensitive(pl, "rule_functions"));
            cli_plugins_list("alert sinks", cJSON_GetObjectItemCaseSensitive(pl, "alert_sinks"));
            cli_plugins_list("input adapters",
                             cJSON_GetObjectItemCaseSensitive(pl, "input_adapters"));
        }
        if (!list || !list->child)
            printf("no plugins loaded\n");
    }
    cJSON_Delete(list);
    plugins_free(p);
    config_free(&cfg);
    return 0;
}
