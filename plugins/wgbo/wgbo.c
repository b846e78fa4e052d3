/*
 * wgbo.c — the WGBO regulation plugin: the event types of a client's
 * medical record changing and being destroyed, with the schemas their data
 * must satisfy before the engine journals them.
 *
 * The WGBO (Wet op de geneeskundige behandelingsovereenkomst, Burgerlijk
 * Wetboek book 7) obliges a care provider to keep a client's record for
 * twenty years from its last change (BW 7:454 lid 3) and to destroy it
 * within three months when the client asks (BW 7:455). The rules beside
 * this plugin, rules/wgbo, keep those clocks; a destruction request itself
 * arrives as nl.avg.request.received from the avg plugin. This file only
 * says what a well-formed event looks like, so that the rules can trust
 * their input.
 *
 * Built as a shared object against obligo/plugin.h alone: the schemas are
 * static data the engine borrows for as long as the plugin is loaded, and
 * init only registers them.
 */
#include <obligo/plugin.h>

#include <stddef.h>
#include <string.h>

/* Shorthands that keep the schemas below readable as a table. Every
 * regulation plugin repeats its own: a plugin is built against plugin.h
 * alone, so there is no shared header to put them in. */
/* clang-format off */
#define REQ(n, k)      {.name = (n), .kind = (k), .required = 1}
#define OPT_ENUM(n, v) {.name = (n), .kind = OBLIGO_FIELD_STRING, .required = 0, .values = (v)}
#define END            {.name = NULL}
#define SCHEMA(f)      {.fields = (f)}
#define TYPE(t, s, d)  {.abi_version = OBLIGO_ABI_CURRENT, .struct_size = sizeof(obligo_event_type), \
                        .type = (t), .data = &(s), .description = (d)}

#define S OBLIGO_FIELD_STRING
#define T OBLIGO_FIELD_TIME

/* ---- enums ---- */

static const char *const enum_basis[] = {"retention_expired", "client_request", NULL};

/* ---- the record ---- */

static const obligo_field fields_record_changed[] = {
    REQ("client_id", S),
    REQ("changed_at", T),
    END,
};
static const obligo_schema schema_record_changed = SCHEMA(fields_record_changed);

static const obligo_field fields_record_destroyed[] = {
    REQ("client_id", S),
    REQ("destroyed_at", T),
    OPT_ENUM("basis", enum_basis),
    END,
};
static const obligo_schema schema_record_destroyed = SCHEMA(fields_record_destroyed);

/* ---- the types (DESIGN §3) ---- */

static const obligo_event_type wgbo_types[] = {
    TYPE("nl.wgbo.record.changed", schema_record_changed,
         "A client's record changed (BW 7:454 lid 3: the retention period restarts)"),
    TYPE("nl.wgbo.record.destroyed", schema_record_destroyed,
         "A client's record was destroyed (BW 7:454 lid 3 or 7:455)"),
};

#undef S
#undef T

/* clang-format on */

/* "a" "b" "c" joined into a message for *error, allocated with api->alloc
 * because the host frees it (plugin.h). NULL when out of memory: the host
 * then reports the failure without our reason. */
static char *wgbo_message(const obligo_host_api *api, const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = api->alloc(la + lb + lc + 1);
    if (!s)
        return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc + 1);
    return s;
}

/* Registers every event type of the WGBO catalogue. The plugin keeps no
 * state and takes no configuration. On a failed registration the host has
 * already logged why and undoes what was registered before it, so init
 * only says which type failed. */
static int wgbo_init(obligo_host *host, const obligo_host_api *api, const char *config_json,
                     void **state, char **error)
{
    (void)config_json;
    *state = NULL;
    if (!OBLIGO_HOST_HAS(api, register_event_type)) {
        *error = wgbo_message(api, "the host's function table has no register_event_type", "", "");
        return OBLIGO_PLUGIN_ERROR;
    }
    for (size_t i = 0; i < sizeof wgbo_types / sizeof wgbo_types[0]; i++) {
        if (api->register_event_type(host, &wgbo_types[i]) != OBLIGO_PLUGIN_OK) {
            *error = wgbo_message(api, "could not register event type ", wgbo_types[i].type,
                                  " (the host's log says why)");
            return OBLIGO_PLUGIN_ERROR;
        }
    }
    return OBLIGO_PLUGIN_OK;
}

static const obligo_plugin wgbo_plugin = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_plugin),
    .name = "wgbo",
    .version = "1.0.0",
    .description = "WGBO: retention and destruction of medical records (BW 7:454-455)",
    .config_schema = NULL,
    .init = wgbo_init,
    .fini = NULL,
};

/* The one exported symbol: the static description above. */
OBLIGO_PLUGIN_EXPORT const obligo_plugin *obligo_plugin_entry(void)
{
    return &wgbo_plugin;
}
