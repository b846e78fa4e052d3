/*
 * obligo/plugin.h — the only header an Obligo plugin needs.
 *
 * A plugin is a shared object with ONE exported function,
 *
 *     const obligo_plugin *obligo_plugin_entry(void);
 *
 * that returns a static description of the plugin. The host checks the
 * description's ABI version and size, checks the plugin's configuration
 * against the schema the plugin declares, and calls init() with a table of
 * host functions through which the plugin registers what it adds: event
 * types with their schemas, obligation kinds, functions rules can call,
 * alert sinks and input adapters.
 *
 * Compatibility promise (modelled on sqlite3ext.h and Falco's plugin API):
 *   - Both versioned structs below (obligo_plugin, obligo_host_api) and the
 *     registration structs start with their ABI version and struct size and
 *     only ever grow at the end.
 *   - The host loads a plugin when the majors are equal and the host's minor
 *     is >= the plugin's minor. It never reads a field beyond the plugin's
 *     struct_size, so a plugin built against an older header keeps working:
 *     it copies each struct by the smaller of struct_size and its own
 *     sizeof, and a field the plugin's struct does not cover reads as zero.
 *     A struct_size shorter than the struct of ABI 1.0 is refused.
 *   - A plugin must not use a host function beyond api->struct_size (use
 *     OBLIGO_HOST_HAS(api, field)).
 *   - obligo_field and obligo_schema are plain data laid out in arrays; they
 *     are frozen for the whole of major version 1.
 *
 * Memory crosses the boundary only through the host's functions: anything
 * the host must free was allocated with api->alloc, and anything the plugin
 * must free is documented as such. Every function states what it borrows,
 * copies or takes over.
 *
 * Threads: init and fini run on the main thread before and after the engine
 * runs. In `obligo serve`, input adapters run on the loop thread, rule
 * functions on the writer thread and alert sinks on the outbox thread, so
 * calls of different kinds may overlap; calls of one kind never do. State
 * shared between kinds needs a lock; state used by one kind does not.
 */
#ifndef OBLIGO_PLUGIN_H
#define OBLIGO_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OBLIGO_ABI_MAJOR 1
#define OBLIGO_ABI_MINOR 1 /* 1.1: obligo_alert_sink.check_argument */
#define OBLIGO_ABI_VERSION(major, minor) ((((uint32_t)(major)) << 16) | ((uint32_t)(minor)))
#define OBLIGO_ABI_CURRENT OBLIGO_ABI_VERSION(OBLIGO_ABI_MAJOR, OBLIGO_ABI_MINOR)
#define OBLIGO_ABI_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define OBLIGO_ABI_MINOR_OF(v) ((uint32_t)(v)&0xffffu)

/* The name of the one exported entry point. */
#define OBLIGO_PLUGIN_ENTRY_NAME "obligo_plugin_entry"

/* Return codes of plugin and host functions: 0 or a negative number. */
#define OBLIGO_PLUGIN_OK 0
#define OBLIGO_PLUGIN_ERROR (-1) /* a failure; the message says why */
#define OBLIGO_PLUGIN_RETRY 1    /* alert sinks: not delivered now, try again later */

/* ---- schemas (frozen for major 1) ---------------------------------------- */

typedef enum obligo_field_kind {
    OBLIGO_FIELD_STRING = 1,       /* a string; an enum when values is set */
    OBLIGO_FIELD_BOOL = 2,         /* true or false */
    OBLIGO_FIELD_COUNT = 3,        /* a whole number, 0 or more */
    OBLIGO_FIELD_OBJECT = 4,       /* an object checked against nested */
    OBLIGO_FIELD_ENUM_LIST = 5,    /* a list of strings, each one of values */
    OBLIGO_FIELD_TIME = 6,         /* RFC 3339 date-time with an offset */
    OBLIGO_FIELD_DATE_OR_TIME = 7, /* "YYYY-MM-DD" or RFC 3339 with an offset */
    OBLIGO_FIELD_ANY = 8           /* any JSON value */
} obligo_field_kind;

struct obligo_schema;

typedef struct obligo_field {
    const char *name;                   /* NULL ends a field list */
    int kind;                           /* obligo_field_kind */
    int required;                       /* non-zero: must be present and not null */
    const char *const *values;          /* NULL-terminated allowed values, or NULL */
    const struct obligo_schema *nested; /* OBLIGO_FIELD_OBJECT: its members */
} obligo_field;

typedef struct obligo_schema {
    const obligo_field *fields; /* ends with a field whose name is NULL */
    /* At least one of these members must be present (NULL: no such rule);
     * one_of_named is the member an error names (NULL: the object). */
    const char *const *one_of;
    const char *one_of_named;
} obligo_schema;

/* ---- what a plugin registers --------------------------------------------- */

/* An event type of the catalogue. Borrowed: the plugin keeps it alive until
 * fini (a static is the usual choice). */
typedef struct obligo_event_type {
    uint32_t abi_version;      /* OBLIGO_ABI_CURRENT */
    uint32_t struct_size;      /* sizeof(obligo_event_type) */
    const char *type;          /* e.g. "nl.avg.breach.reported" */
    const obligo_schema *data; /* the schema of "data"; NULL: any JSON */
    const char *description;   /* one line, for `obligo plugins` */
} obligo_event_type;

/* Units of obligation periods. */
typedef enum obligo_period_unit {
    OBLIGO_HOURS = 0,  /* elapsed time; legal_limit per 1182/71 art. 3(1) */
    OBLIGO_DAYS = 1,   /* calendar days, Amsterdam wall-clock time kept */
    OBLIGO_MONTHS = 2, /* 1182/71 art. 3: end of day, rolled past weekends and holidays */
    OBLIGO_YEARS = 3
} obligo_period_unit;

/* An obligation kind rules can open with act.open(name, ...). Copied by the
 * host at registration. */
typedef struct obligo_obligation_kind {
    uint32_t abi_version;
    uint32_t struct_size;
    const char *name;   /* e.g. "cbw.early_warning" */
    const char *title;  /* for people, Dutch welcome */
    const char *source; /* the legal source */
    int due_unit;       /* obligo_period_unit */
    int64_t due_n;
    int once; /* at most one per subject, ever */
} obligo_obligation_kind;

/* A function rules can call as name(...) — e.g. fhir.patient_id(x). Values
 * cross as JSON text so that plugins do not depend on Lua's ABI. args_json
 * is a JSON array (borrowed). On success the function sets *result_json to
 * a JSON value allocated with api->alloc (the host frees it) and returns 0;
 * on failure it sets *error (api->alloc'd, host frees) and returns
 * OBLIGO_PLUGIN_ERROR, which the calling rule sees as a Lua error. */
typedef int (*obligo_rule_fn)(void *state, const char *args_json, char **result_json, char **error);

typedef struct obligo_rule_function {
    uint32_t abi_version;
    uint32_t struct_size;
    const char *module; /* the global table rules see, e.g. "fhir" */
    const char *name;   /* the function in it, e.g. "patient_id" */
    obligo_rule_fn fn;
} obligo_rule_function;

/* An alert sink, named in the configuration's "sinks" as "NAME" or
 * "NAME:ARGUMENT". deliver gets the alert as JSON (borrowed) with its
 * stable id, and returns 0 when delivered, OBLIGO_PLUGIN_RETRY to be called
 * again later with exponential backoff (at least once), or
 * OBLIGO_PLUGIN_ERROR for a permanent failure (logged; retried after the
 * longest backoff). */
typedef struct obligo_alert_sink {
    uint32_t abi_version;
    uint32_t struct_size;
    const char *name;
    int (*deliver)(void *state, const char *argument, const char *alert_id, const char *alert_json);
    /* ABI 1.1, may be NULL: called at start-up, after init, once for each
     * "NAME:ARGUMENT" (or "NAME", with argument "") the configuration's
     * "sinks" lists, so that an argument the sink cannot deliver to (an
     * e-mail group that is not configured) stops the start with a clear
     * message instead of failing every delivery. Returns 0, or
     * OBLIGO_PLUGIN_ERROR with *error (api->alloc'd, host frees) saying
     * why. */
    int (*check_argument)(void *state, const char *argument, char **error);
} obligo_alert_sink;

/* Hands one converted CloudEvent (JSON text, borrowed: the host copies it)
 * to the host from inside an input adapter's convert. */
typedef int (*obligo_emit_fn)(void *emit_ctx, const char *event_json, size_t len);

/* An input adapter: a foreign format turned into catalogue events. Used by
 * `obligo ingest --format NAME` and, when http_path is set, by
 * POST http_path with media_type. convert reads `input` (borrowed), calls
 * emit once per event, and returns 0; for input it cannot convert it
 * returns OBLIGO_PLUGIN_ERROR with *error_path (where: "entity[0].what") and
 * *error (why) set, and may set *error_body to a complete answer in its own
 * format (e.g. a FHIR OperationOutcome); all three api->alloc'd, host
 * frees. Nothing emitted before an error is applied. */
typedef struct obligo_input_adapter {
    uint32_t abi_version;
    uint32_t struct_size;
    const char *name;       /* e.g. "fhir" */
    const char *media_type; /* e.g. "application/fhir+json" */
    const char *http_path;  /* e.g. "/v1/fhir/AuditEvent", or NULL */
    int (*convert)(void *state, const char *input, size_t len, obligo_emit_fn emit, void *emit_ctx,
                   char **error_path, char **error, char **error_body);
} obligo_input_adapter;

/* ---- the host's functions ------------------------------------------------ */

typedef struct obligo_host obligo_host; /* opaque: the host's record of this plugin */

typedef enum obligo_log_level {
    OBLIGO_LOG_ERROR = 0,
    OBLIGO_LOG_WARNING = 1,
    OBLIGO_LOG_INFO = 2
} obligo_log_level;

typedef struct obligo_host_api {
    uint32_t abi_version; /* the host's OBLIGO_ABI_CURRENT */
    uint32_t struct_size; /* sizeof(obligo_host_api) in the host */

    /* Memory that crosses the boundary. alloc returns NULL when out of
     * memory; free accepts NULL. Any thread. */
    void *(*alloc)(size_t size);
    void (*free)(void *ptr);

    /* A line in the host's log, prefixed with the plugin's name. Any
     * thread. */
    void (*log)(obligo_host *host, int level, const char *message);

    /* Registration, during init only. Each returns 0, or OBLIGO_PLUGIN_ERROR
     * (a duplicate name, a malformed struct) after logging why. Everything a
     * plugin registered is undone when its init fails. */
    int (*register_event_type)(obligo_host *host, const obligo_event_type *type);
    int (*register_obligation_kind)(obligo_host *host, const obligo_obligation_kind *kind);
    int (*register_rule_function)(obligo_host *host, const obligo_rule_function *fn);
    int (*register_alert_sink)(obligo_host *host, const obligo_alert_sink *sink);
    int (*register_input_adapter)(obligo_host *host, const obligo_input_adapter *adapter);
} obligo_host_api;

/* 1 when the host's table has `field` (a plugin built against a newer minor
 * checks before calling a function the running host may not have). */
#define OBLIGO_HOST_HAS(api, field)                                                                \
    ((api)->struct_size >= offsetof(obligo_host_api, field) + sizeof((api)->field))

/* ---- the plugin's description -------------------------------------------- */

typedef struct obligo_plugin {
    uint32_t abi_version; /* OBLIGO_ABI_CURRENT when built */
    uint32_t struct_size; /* sizeof(obligo_plugin) when built */
    const char *name;     /* unique; also its configuration section */
    const char *version;  /* the plugin's own version */
    const char *description;
    /* The plugin's configuration (the object under "plugins": {NAME: {...}}
     * in the configuration file) is checked against this before init; NULL:
     * the plugin takes no configuration. */
    const obligo_schema *config_schema;
    /* Registers what the plugin adds. config_json is the checked
     * configuration object as JSON text ("{}" when none; borrowed). *state
     * is handed back to every callback and to fini. Returns 0, or
     * OBLIGO_PLUGIN_ERROR with *error (api->alloc'd) saying why. */
    int (*init)(obligo_host *host, const obligo_host_api *api, const char *config_json,
                void **state, char **error);
    /* Releases state. May be NULL. */
    void (*fini)(void *state);
} obligo_plugin;

/* The one symbol a plugin exports. */
typedef const obligo_plugin *(*obligo_plugin_entry_fn)(void);

#if defined(__GNUC__)
#define OBLIGO_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define OBLIGO_PLUGIN_EXPORT
#endif

#ifdef __cplusplus
}
#endif

#endif
