/*
 * nen7513.c — the NEN 7513 regulation plugin: the event types of access to
 * client records (the access log), its periodic review and its purging,
 * with the schemas their data must satisfy before the engine journals them.
 *
 * Care providers must log who opened which record, when and why: NEN 7513
 * (logging of access to electronic health records), made binding by the
 * Besluit elektronische gegevensverwerking door zorgaanbieders art. 3
 * together with NEN 7510, and the basis of a client's right to a log
 * overview (Wabvpz art. 15d). The logs must be reviewed and kept for at
 * least five years. The rules beside this plugin, rules/nen7513, judge the
 * accesses (no treatment relation, break-the-glass without a reason, weak
 * authentication, bursts on VIP records) and the purges; this file only
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
#define OPT(n, k)      {.name = (n), .kind = (k), .required = 0}
#define REQ_ENUM(n, v) {.name = (n), .kind = OBLIGO_FIELD_STRING, .required = 1, .values = (v)}
#define OPT_ENUM(n, v) {.name = (n), .kind = OBLIGO_FIELD_STRING, .required = 0, .values = (v)}
#define REQ_OBJ(n, s)  {.name = (n), .kind = OBLIGO_FIELD_OBJECT, .required = 1, .nested = &(s)}
#define END            {.name = NULL}
#define SCHEMA(f)      {.fields = (f)}
#define TYPE(t, s, d)  {.abi_version = OBLIGO_ABI_CURRENT, .struct_size = sizeof(obligo_event_type), \
                        .type = (t), .data = &(s), .description = (d)}

#define S OBLIGO_FIELD_STRING
#define B OBLIGO_FIELD_BOOL
#define D OBLIGO_FIELD_DATE_OR_TIME
#define A OBLIGO_FIELD_ANY

/* ---- enums ---- */

static const char *const enum_action[] = {"create", "read",   "update", "delete", "print",
                                          "copy",   "export", "search", "merge",  NULL};
static const char *const enum_outcome_access[] = {"success", "failure", NULL};
static const char *const enum_authentication[] = {"password", "2fa", "uzi", NULL};

/* ---- nested objects ---- */

static const obligo_field fields_user[] = {
    REQ("id", S),
    OPT("role", S),
    OPT("name", S),
    END,
};
static const obligo_schema schema_user = SCHEMA(fields_user);

/* ---- the log, its review and its purge ---- */

/* The event's own time is when the access happened. */
static const obligo_field fields_access[] = {
    REQ_OBJ("user", schema_user),
    REQ("client_id", S),
    REQ_ENUM("action", enum_action),
    REQ("system", S),
    OPT_ENUM("outcome", enum_outcome_access),
    OPT("on_behalf_of", S),
    OPT("treatment_relation", B),
    OPT("emergency", B),
    OPT("reason", S),
    OPT_ENUM("authentication", enum_authentication),
    OPT("vip", B),
    END,
};
static const obligo_schema schema_access = SCHEMA(fields_access);

/* Review periods are usually whole days, so a plain date is accepted. */
static const obligo_field fields_review[] = {
    REQ("period_start", D),
    REQ("period_end", D),
    REQ("reviewer", S),
    OPT("findings", A),
    END,
};
static const obligo_schema schema_review = SCHEMA(fields_review);

static const obligo_field fields_purge[] = {
    REQ("written_before", D),
    OPT("system", S),
    END,
};
static const obligo_schema schema_purge = SCHEMA(fields_purge);

/* ---- the types (DESIGN §3) ---- */

static const obligo_event_type nen7513_types[] = {
    TYPE("nl.nen7513.access", schema_access,
         "A user accessed a client's record (one NEN 7513 log line)"),
    TYPE("nl.nen7513.review", schema_review,
         "The access log of a period was reviewed (NEN 7513; NEN 7510 9.4)"),
    TYPE("nl.nen7513.purge", schema_purge,
         "Log lines written before a date were purged (kept at least five years)"),
};

#undef S
#undef B
#undef D
#undef A

/* clang-format on */

/* "a" "b" "c" joined into a message for *error, allocated with api->alloc
 * because the host frees it (plugin.h). NULL when out of memory: the host
 * then reports the failure without our reason. */
static char *nen7513_message(const obligo_host_api *api, const char *a, const char *b,
                             const char *c)
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

/* Registers every event type of the NEN 7513 catalogue. The plugin keeps no
 * state and takes no configuration. On a failed registration the host has
 * already logged why and undoes what was registered before it, so init
 * only says which type failed. */
static int nen7513_init(obligo_host *host, const obligo_host_api *api, const char *config_json,
                        void **state, char **error)
{
    (void)config_json;
    *state = NULL;
    if (!OBLIGO_HOST_HAS(api, register_event_type)) {
        *error =
            nen7513_message(api, "the host's function table has no register_event_type", "", "");
        return OBLIGO_PLUGIN_ERROR;
    }
    for (size_t i = 0; i < sizeof nen7513_types / sizeof nen7513_types[0]; i++) {
        if (api->register_event_type(host, &nen7513_types[i]) != OBLIGO_PLUGIN_OK) {
            *error = nen7513_message(api, "could not register event type ", nen7513_types[i].type,
                                     " (the host's log says why)");
            return OBLIGO_PLUGIN_ERROR;
        }
    }
    return OBLIGO_PLUGIN_OK;
}

static const obligo_plugin nen7513_plugin = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_plugin),
    .name = "nen7513",
    .version = "1.0.0",
    .description = "NEN 7513: logging of access to client records, its review and purging",
    .config_schema = NULL,
    .init = nen7513_init,
    .fini = NULL,
};

/* The one exported symbol: the static description above. */
OBLIGO_PLUGIN_EXPORT const obligo_plugin *obligo_plugin_entry(void)
{
    return &nen7513_plugin;
}
