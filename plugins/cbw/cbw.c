/*
 * cbw.c — the Cbw regulation plugin: the event types of a cyber security
 * incident being detected and reported, with the schemas their data must
 * satisfy before the engine journals them.
 *
 * The Cyberbeveiligingswet (Cbw), the Dutch implementation of the NIS2
 * directive (EU) 2022/2555, makes an essential or important entity report
 * a significant incident to its CSIRT (for care: Z-CERT) in stages, per
 * NIS2 art. 23 lid 4: an early warning within 24 hours of becoming aware
 * (sub a), a notification within 72 hours (sub b) and a final report within
 * one month of the notification (sub d). The rules beside this plugin,
 * rules/cbw, open and close those duties; this file only says what a
 * well-formed event looks like, so that the rules can trust their input.
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
#define REQ_ENUM(n, v) {.name = (n), .kind = OBLIGO_FIELD_STRING, .required = 1, .values = (v)}
#define END            {.name = NULL}
#define SCHEMA(f)      {.fields = (f)}
#define TYPE(t, s, d)  {.abi_version = OBLIGO_ABI_CURRENT, .struct_size = sizeof(obligo_event_type), \
                        .type = (t), .data = &(s), .description = (d)}

#define S OBLIGO_FIELD_STRING
#define B OBLIGO_FIELD_BOOL
#define T OBLIGO_FIELD_TIME

/* ---- enums ---- */

static const char *const enum_stage[] = {"early_warning", "notification", "final", NULL};

/* ---- incidents ---- */

static const obligo_field fields_incident_detected[] = {
    REQ("incident_id", S),
    REQ("aware_at", T),
    REQ("significant", B),
    END,
};
static const obligo_schema schema_incident_detected = SCHEMA(fields_incident_detected);

static const obligo_field fields_incident_reported[] = {
    REQ("incident_id", S),
    REQ_ENUM("stage", enum_stage),
    REQ("reported_at", T),
    END,
};
static const obligo_schema schema_incident_reported = SCHEMA(fields_incident_reported);

/* ---- the types (DESIGN §3) ---- */

static const obligo_event_type cbw_types[] = {
    TYPE("nl.cbw.incident.detected", schema_incident_detected,
         "A cyber security incident was detected, significant or not (NIS2 art. 23; Cbw)"),
    TYPE("nl.cbw.incident.reported", schema_incident_reported,
         "A stage of an incident report reached the CSIRT (NIS2 art. 23 lid 4; Cbw)"),
};

#undef S
#undef B
#undef T

/* clang-format on */

/* "a" "b" "c" joined into a message for *error, allocated with api->alloc
 * because the host frees it (plugin.h). NULL when out of memory: the host
 * then reports the failure without our reason. */
static char *cbw_message(const obligo_host_api *api, const char *a, const char *b, const char *c)
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

/* Registers every event type of the Cbw catalogue. The plugin keeps no
 * state and takes no configuration. On a failed registration the host has
 * already logged why and undoes what was registered before it, so init
 * only says which type failed. */
static int cbw_init(obligo_host *host, const obligo_host_api *api, const char *config_json,
                    void **state, char **error)
{
    (void)config_json;
    *state = NULL;
    if (!OBLIGO_HOST_HAS(api, register_event_type)) {
        *error = cbw_message(api, "the host's function table has no register_event_type", "", "");
        return OBLIGO_PLUGIN_ERROR;
    }
    for (size_t i = 0; i < sizeof cbw_types / sizeof cbw_types[0]; i++) {
        if (api->register_event_type(host, &cbw_types[i]) != OBLIGO_PLUGIN_OK) {
            *error = cbw_message(api, "could not register event type ", cbw_types[i].type,
                                 " (the host's log says why)");
            return OBLIGO_PLUGIN_ERROR;
        }
    }
    return OBLIGO_PLUGIN_OK;
}

static const obligo_plugin cbw_plugin = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_plugin),
    .name = "cbw",
    .version = "1.0.0",
    .description = "Cyberbeveiligingswet (NIS2): staged reporting of significant incidents",
    .config_schema = NULL,
    .init = cbw_init,
    .fini = NULL,
};

/* The one exported symbol: the static description above. */
OBLIGO_PLUGIN_EXPORT const obligo_plugin *obligo_plugin_entry(void)
{
    return &cbw_plugin;
}
