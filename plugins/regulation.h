/*
 * regulation.h — what the regulation plugins (avg, nen7513, wgbo, ict, igj,
 * cbw) share: shorthands that keep a catalogue readable as a table, and the
 * init that registers it. Header-only, so each plugin stays one shared
 * object built from its own folder against obligo/plugin.h alone.
 *
 * A regulation plugin defines `static const obligo_event_type ID_types[]`
 * and ends with REGULATION_PLUGIN(ID, "name", "description").
 */
#ifndef OBLIGO_REGULATION_H
#define OBLIGO_REGULATION_H

#include <obligo/plugin.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* clang-format off */
#define REQ(n, k)      {.name = (n), .kind = (k), .required = 1}
#define OPT(n, k)      {.name = (n), .kind = (k), .required = 0}
#define REQ_ENUM(n, v) {.name = (n), .kind = OBLIGO_FIELD_STRING, .required = 1, .values = (v)}
#define OPT_ENUM(n, v) {.name = (n), .kind = OBLIGO_FIELD_STRING, .required = 0, .values = (v)}
#define OPT_LIST(n, v) {.name = (n), .kind = OBLIGO_FIELD_ENUM_LIST, .required = 0, .values = (v)}
#define REQ_OBJ(n, s)  {.name = (n), .kind = OBLIGO_FIELD_OBJECT, .required = 1, .nested = &(s)}
#define OPT_OBJ(n, s)  {.name = (n), .kind = OBLIGO_FIELD_OBJECT, .required = 0, .nested = &(s)}
#define END            {.name = NULL}
#define SCHEMA(f)      {.fields = (f)}
#define TYPE(t, s, d)  {.abi_version = OBLIGO_ABI_CURRENT, .struct_size = sizeof(obligo_event_type), \
                        .type = (t), .data = &(s), .description = (d)}
/* clang-format on */

/* "a" "b" "c" joined into a message for *error, allocated with api->alloc
 * because the host frees it (plugin.h). NULL when out of memory: the host
 * then reports the failure without our reason. */
static inline char *regulation_message(const obligo_host_api *api, const char *a, const char *b,
                                       const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
    char *s = api->alloc(n);
    if (!s)
        return NULL;
    snprintf(s, n, "%s%s%s", a, b, c);
    return s;
}

/* Registers a catalogue. On a failed registration the host has already
 * logged why and undoes what was registered before it, so init only says
 * which type failed. */
static inline int regulation_register(obligo_host *host, const obligo_host_api *api,
                                      const obligo_event_type *types, size_t n, char **error)
{
    if (!OBLIGO_HOST_HAS(api, register_event_type)) {
        *error =
            regulation_message(api, "the host's function table has no register_event_type", "", "");
        return OBLIGO_PLUGIN_ERROR;
    }
    for (size_t i = 0; i < n; i++) {
        if (api->register_event_type(host, &types[i]) != OBLIGO_PLUGIN_OK) {
            *error = regulation_message(api, "could not register event type ", types[i].type,
                                        " (the host's log says why)");
            return OBLIGO_PLUGIN_ERROR;
        }
    }
    return OBLIGO_PLUGIN_OK;
}

/* The init, the description and the one exported entry point of a
 * regulation plugin that keeps no state and takes no configuration. */
#define REGULATION_PLUGIN(id, plugin_name, plugin_description)                                     \
    static int id##_init(obligo_host *host, const obligo_host_api *api, const char *config_json,   \
                         void **state, char **error)                                               \
    {                                                                                              \
        (void)config_json;                                                                         \
        *state = NULL;                                                                             \
        return regulation_register(host, api, id##_types,                                          \
                                   sizeof id##_types / sizeof id##_types[0], error);               \
    }                                                                                              \
    static const obligo_plugin id##_plugin = {                                                     \
        .abi_version = OBLIGO_ABI_CURRENT,                                                         \
        .struct_size = sizeof(obligo_plugin),                                                      \
        .name = (plugin_name),                                                                     \
        .version = "1.0.0",                                                                        \
        .description = (plugin_description),                                                       \
        .config_schema = NULL,                                                                     \
        .init = id##_init,                                                                         \
        .fini = NULL,                                                                              \
    };                                                                                             \
    OBLIGO_PLUGIN_EXPORT const obligo_plugin *obligo_plugin_entry(void)                            \
    {                                                                                              \
        return &id##_plugin;                                                                       \
    }

#endif
