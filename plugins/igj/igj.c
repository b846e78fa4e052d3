/*
 * igj.c — the IGJ e-health regulation plugin: the event types of assessing
 * an e-health application and of taking it live, with the schemas their
 * data must satisfy before the engine journals them.
 *
 * The Inspectie Gezondheidszorg en Jeugd judges e-health by its
 * Toetsingskader e-health: five themes (governance, implementation, client
 * participation, information security, chain cooperation), each of which a
 * provider should have assessed before an application goes live and
 * remedied where it falls short. The rules beside this plugin, rules/igj,
 * open the remediation duties and warn about a go-live without an
 * assessment; this file only says what a well-formed event looks like, so
 * that the rules can trust their input.
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
#define REQ_OBJ(n, s)  {.name = (n), .kind = OBLIGO_FIELD_OBJECT, .required = 1, .nested = &(s)}
#define END            {.name = NULL}
#define SCHEMA(f)      {.fields = (f)}
#define TYPE(t, s, d)  {.abi_version = OBLIGO_ABI_CURRENT, .struct_size = sizeof(obligo_event_type), \
                        .type = (t), .data = &(s), .description = (d)}

#define S OBLIGO_FIELD_STRING

/* ---- enums ---- */

static const char *const enum_theme_result[] = {"pass", "partial", "fail", NULL};

/* ---- nested objects ---- */

static const char *const theme_names[] = {"governance",           "implementation",
                                          "client_participation", "information_security",
                                          "chain_cooperation",    NULL};
static const obligo_field fields_themes[] = {
    OPT_ENUM("governance", enum_theme_result),
    OPT_ENUM("implementation", enum_theme_result),
    OPT_ENUM("client_participation", enum_theme_result),
    OPT_ENUM("information_security", enum_theme_result),
    OPT_ENUM("chain_cooperation", enum_theme_result),
    END,
};
/* An assessment that scores no theme at all says nothing; other members are
 * allowed so that later IGJ themes do not break older engines. */
static const obligo_schema schema_themes = {
    .fields = fields_themes, .one_of = theme_names, .one_of_named = NULL};

/* ---- e-health ---- */

static const obligo_field fields_ehealth_assessed[] = {
    REQ("application", S),
    REQ_OBJ("themes", schema_themes),
    END,
};
static const obligo_schema schema_ehealth_assessed = SCHEMA(fields_ehealth_assessed);

static const obligo_field fields_ehealth_live[] = {
    REQ("application", S),
    END,
};
static const obligo_schema schema_ehealth_live = SCHEMA(fields_ehealth_live);

/* ---- the types (DESIGN §3) ---- */

static const obligo_event_type igj_types[] = {
    TYPE("nl.igj.ehealth.assessed", schema_ehealth_assessed,
         "An e-health application was assessed on the IGJ Toetsingskader themes"),
    TYPE("nl.igj.ehealth.live", schema_ehealth_live,
         "An e-health application went live"),
};

#undef S

/* clang-format on */

/* "a" "b" "c" joined into a message for *error, allocated with api->alloc
 * because the host frees it (plugin.h). NULL when out of memory: the host
 * then reports the failure without our reason. */
static char *igj_message(const obligo_host_api *api, const char *a, const char *b, const char *c)
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

/* Registers every event type of the IGJ e-health catalogue. The plugin keeps no
 * state and takes no configuration. On a failed registration the host has
 * already logged why and undoes what was registered before it, so init
 * only says which type failed. */
static int igj_init(obligo_host *host, const obligo_host_api *api, const char *config_json,
                    void **state, char **error)
{
    (void)config_json;
    *state = NULL;
    if (!OBLIGO_HOST_HAS(api, register_event_type)) {
        *error = igj_message(api, "the host's function table has no register_event_type", "", "");
        return OBLIGO_PLUGIN_ERROR;
    }
    for (size_t i = 0; i < sizeof igj_types / sizeof igj_types[0]; i++) {
        if (api->register_event_type(host, &igj_types[i]) != OBLIGO_PLUGIN_OK) {
            *error = igj_message(api, "could not register event type ", igj_types[i].type,
                                 " (the host's log says why)");
            return OBLIGO_PLUGIN_ERROR;
        }
    }
    return OBLIGO_PLUGIN_OK;
}

static const obligo_plugin igj_plugin = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_plugin),
    .name = "igj",
    .version = "1.0.0",
    .description = "IGJ Toetsingskader e-health: assessment of e-health applications",
    .config_schema = NULL,
    .init = igj_init,
    .fini = NULL,
};

/* The one exported symbol: the static description above. */
OBLIGO_PLUGIN_EXPORT const obligo_plugin *obligo_plugin_entry(void)
{
    return &igj_plugin;
}
