/*
 * plugins.h — the plugin loader and the registry of what plugins add
 * (include/obligo/plugin.h is the plugins' side of the contract).
 *
 * The loader dlopens every "*.so" in the configured plugin directories (in
 * name order, RTLD_NOW | RTLD_LOCAL), checks the entry point, the ABI
 * version and the struct size, checks the plugin's configuration against
 * its schema, and calls init. A plugin that is refused, or whose init fails,
 * or one of whose registrations is refused, leaves nothing registered, and
 * the message names the file and the reason.
 *
 * Every struct a plugin hands over is copied into the registry by the
 * smaller of its struct_size and the host's sizeof, the rest zero-filled,
 * the plugin's struct_size kept (plugins.c, PLUGINS_COPY): the structs
 * returned below are those copies, and a field added after ABI 1.0 is
 * valid in them only when their struct_size covers it.
 *
 * The registry answers the engine's questions: the schema of an event type,
 * the obligation kinds, the functions rules may call, the alert sinks and
 * the input adapters. It is built once at start-up on the main thread and
 * read-only afterwards, so any thread may read it.
 */
#ifndef OBLIGO_PLUGINS_H
#define OBLIGO_PLUGINS_H

#include <cjson/cJSON.h>

#include "obligo/plugin.h"

typedef struct plugins plugins;

/* One registration, with the plugin that made it. */
typedef struct plugins_sink {
    const obligo_alert_sink *sink; /* copied into the registry */
    void *state;                   /* the plugin's state */
} plugins_sink;

typedef struct plugins_rule_function {
    char *module, *name;
    obligo_rule_fn fn;
    void *state;
    const char *plugin;
    const plugins *owner; /* the registry: plugins_call_rule takes its lock */
} plugins_rule_function;

typedef struct plugins_adapter {
    obligo_input_adapter adapter; /* a copy (strings borrowed from the plugin) */
    void *state;
    const char *plugin;
} plugins_adapter;

/* Loads the plugins in dirs (ndirs may be 0: an empty registry). configs is
 * the configuration's "plugins" object ({NAME: {...}}; borrowed, may be
 * NULL). A directory that does not exist is skipped; a plugin that is
 * refused stops the load: the engine does not run with half its
 * regulations. Returns 0, or a negative code with *err (caller frees)
 * naming the file and the reason. Main thread. */
int plugins_load(const char *const *dirs, int ndirs, const cJSON *configs, plugins **out,
                 char **err);
/* Calls every plugin's fini, then dlcloses them. */
void plugins_free(plugins *p);

/* The default plugin directory of this binary: "<dir of the binary>/plugins"
 * (a build tree) or "<dir of the binary>/../lib/obligo/plugins" (an
 * install), whichever exists; NULL when neither does. Caller frees. */
char *plugins_default_dir(void);

/* The event type registered under `type` (the registry's copy), or NULL. */
const obligo_event_type *plugins_event_type(const plugins *p, const char *type);
/* How many event types are registered; the i-th of them (0 <= i < that, in
 * the order registered), with the name of the plugin that registered it in
 * *plugin when plugin is not NULL. For listing the catalogue (GET
 * /v1/schemas). */
int plugins_event_type_count(const plugins *p);
const obligo_event_type *plugins_event_type_at(const plugins *p, int i, const char **plugin);
/* The name of the plugin that registered type, or NULL. */
const char *plugins_event_type_plugin(const plugins *p, const char *type);
/* 1 when some registered type shares type's namespace (all before its last
 * '.'): "nl.ict.backup.complete" is then a likely typo, where a type of a
 * namespace nobody registers (an organisation's own) is not. */
int plugins_namespace_known(const plugins *p, const char *type);
/* For a type in a namespace some plugin registers types in, but not itself
 * registered: the registered type of that namespace nearest to it (the
 * typo it most likely is, plugins_lookup's miss explained); NULL for a
 * registered type or one in a namespace nobody registers. p is the
 * registry as a catalogue's ud (validate.h). */
const char *plugins_closest_type(const void *p, const char *type);
/* For validate.c: the same as a lookup function over a const void *. */
const obligo_event_type *plugins_lookup(const void *p, const char *type);

/* The obligation kinds plugins registered (count in *n). */
const obligo_obligation_kind *plugins_obligation_kinds(const plugins *p, int *n);
const plugins_rule_function *plugins_rule_functions(const plugins *p, int *n);
/* Calls a rule function as plugin.h promises: calls of rule functions never
 * overlap, although the live rule set (the writer thread) and the reload
 * gate's rule tests (a worker thread) share one registry. The arguments as
 * obligo_rule_fn's. */
int plugins_call_rule(const plugins_rule_function *f, const char *args_json, char **result_json,
                      char **error);
/* The sink registered as `name` (the part of a sink spec before ':'). */
const plugins_sink *plugins_find_sink(const plugins *p, const char *name);
const plugins_adapter *plugins_find_adapter(const plugins *p, const char *name);
const plugins_adapter *plugins_find_adapter_by_path(const plugins *p, const char *http_path);
/* The registered input adapters, 0 <= i < plugins_adapter_count (NULL
 * past the end). */
int plugins_adapter_count(const plugins *p);
const plugins_adapter *plugins_adapter_at(const plugins *p, int i);

/* Whether the adapter reads JSON (application/json, or a +json type such
 * as application/fhir+json): its input is then held to the engine's JSON
 * text rules (engine_text_problem) before the plugin parses it. */
int plugins_adapter_takes_json(const plugins_adapter *a);

/* `obligo plugins --json`: [{name, version, abi, file, description,
 * event_types: [...], obligation_kinds: [...], rule_functions: [...],
 * alert_sinks: [...], input_adapters: [...]}]. Caller frees. */
cJSON *plugins_describe(const plugins *p);

#endif
