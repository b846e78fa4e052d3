/*
 * refused.c — the plugins the loader must refuse, one shared object per
 * case, built from this one file with REFUSED_CASE set (tests/plugins/
 * CMakeLists.txt):
 *   1 major     describes itself as ABI 2.0
 *   2 minor     describes itself as ABI 1.99 (newer than this host)
 *   3 short     struct_size smaller than ABI 1.0's obligo_plugin
 *   4 noentry   exports no obligo_plugin_entry at all
 *   5 initfail  registers an event type, then fails init
 *   6 shortkind registers an obligation kind whose struct_size stops short
 *               of ABI 1.0's last field, and fails init as it should
 *   7 ignored   the same, but init ignores the refusal and succeeds
 * None of them may leave a trace in the registry.
 */
#include <stddef.h>
#include <string.h>

#include <obligo/plugin.h>

#ifndef REFUSED_CASE
#error "define REFUSED_CASE (see the comment above)"
#endif

static const obligo_event_type refused_type = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_event_type),
    .type = "org.test.refused.happened",
    .data = NULL,
    .description = "Must never stay registered",
};

#if REFUSED_CASE == 6 || REFUSED_CASE == 7
/* One field short: `once`, the last field of ABI 1.0, is left out. */
static const obligo_obligation_kind refused_kind = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = offsetof(obligo_obligation_kind, once),
    .name = "refused.short_kind",
    .title = "Must never be registered",
    .source = "tests/plugins/refused.c",
    .due_unit = OBLIGO_DAYS,
    .due_n = 1,
};
#endif

static int refused_init(obligo_host *host, const obligo_host_api *api, const char *config_json,
                        void **state, char **error)
{
    *state = NULL;
    if (api->register_event_type(host, &refused_type))
        return OBLIGO_PLUGIN_ERROR;
#if REFUSED_CASE == 6
    if (api->register_obligation_kind(host, &refused_kind))
        return OBLIGO_PLUGIN_ERROR; /* no reason of its own: the host's is the one */
#elif REFUSED_CASE == 7
    (void)api->register_obligation_kind(host, &refused_kind);
#endif
#if REFUSED_CASE == 5
    static const char why[] = "the fixture fails on purpose";
    *error = api->alloc(sizeof why);
    if (*error)
        memcpy(*error, why, sizeof why);
    return OBLIGO_PLUGIN_ERROR;
#else
    return OBLIGO_PLUGIN_OK;
#endif
}

#if REFUSED_CASE == 1
#define REFUSED_ABI OBLIGO_ABI_VERSION(2, 0)
#elif REFUSED_CASE == 2
#define REFUSED_ABI OBLIGO_ABI_VERSION(1, 99)
#else
#define REFUSED_ABI OBLIGO_ABI_CURRENT
#endif

#if REFUSED_CASE == 3
#define REFUSED_SIZE offsetof(obligo_plugin, fini) /* fini is missing */
#else
#define REFUSED_SIZE sizeof(obligo_plugin)
#endif

static const obligo_plugin refused_plugin = {
    .abi_version = REFUSED_ABI,
    .struct_size = REFUSED_SIZE,
    .name = "refused",
    .version = "0.0.1",
    .description = "A plugin the loader refuses (test fixture)",
    .config_schema = NULL,
    .init = refused_init,
    .fini = NULL,
};

#if REFUSED_CASE == 4
/* A misspelt entry point: dlsym(OBLIGO_PLUGIN_ENTRY_NAME) finds nothing. */
OBLIGO_PLUGIN_EXPORT const obligo_plugin *obligo_plugin_entry_point(void)
#else
OBLIGO_PLUGIN_EXPORT const obligo_plugin *obligo_plugin_entry(void)
#endif
{
    return &refused_plugin;
}
