/*
 * good.c — the smallest valid plugin, a fixture for the loader's tests: one
 * event type ("org.test.good.happened" {word*}) and one rule function,
 * good.echo(...), that returns its arguments as a JSON array and fails when
 * its first argument is "boom" — so that a test can show that a plugin
 * function's error becomes the calling rule's error and nothing worse.
 */
#include <stdlib.h>
#include <string.h>

#include <obligo/plugin.h>

static const obligo_field good_fields[] = {
    {.name = "word", .kind = OBLIGO_FIELD_STRING, .required = 1},
    {.name = NULL},
};
static const obligo_schema good_schema = {.fields = good_fields};

static const obligo_event_type good_type = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_event_type),
    .type = "org.test.good.happened",
    .data = &good_schema,
    .description = "Something good happened (a test fixture)",
};

/* The state: the host's table, for alloc. */
typedef struct good_state {
    const obligo_host_api *api;
} good_state;

static char *good_dup(const obligo_host_api *api, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = api->alloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static int good_echo(void *state, const char *args_json, char **result_json, char **error)
{
    const good_state *g = state;
    if (strncmp(args_json, "[\"boom\"", 7) == 0) {
        *error = good_dup(g->api, "boom was asked for");
        return OBLIGO_PLUGIN_ERROR;
    }
    *result_json = good_dup(g->api, args_json);
    return *result_json ? OBLIGO_PLUGIN_OK : OBLIGO_PLUGIN_ERROR;
}

static const obligo_rule_function good_fn = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_rule_function),
    .module = "good",
    .name = "echo",
    .fn = good_echo,
};

static int good_init(obligo_host *host, const obligo_host_api *api, const char *config_json,
                     void **state, char **error)
{
    good_state *g = api->alloc(sizeof *g);
    if (!g)
        return OBLIGO_PLUGIN_ERROR;
    g->api = api;
    if (api->register_event_type(host, &good_type) || api->register_rule_function(host, &good_fn)) {
        api->free(g);
        *error = good_dup(api, "a registration was refused");
        return OBLIGO_PLUGIN_ERROR;
    }
    *state = g;
    return OBLIGO_PLUGIN_OK;
}

static void good_fini(void *state)
{
    good_state *g = state;
    if (g)
        g->api->free(g);
}

static const obligo_plugin good_plugin = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_plugin),
    .name = "good",
    .version = "1.2.3",
    .description = "A minimal valid plugin (test fixture)",
    .config_schema = NULL,
    .init = good_init,
    .fini = good_fini,
};

OBLIGO_PLUGIN_EXPORT const obligo_plugin *obligo_plugin_entry(void)
{
    return &good_plugin;
}
