/*
 * v1abi.c — a plugin built against the FROZEN copy of the ABI 1.0 header
 * (tests/plugins/abi_v1/obligo/plugin.h, never edited), not the engine's
 * current one: the only include directory it is compiled with is abi_v1
 * (tests/plugins/CMakeLists.txt). It registers one of everything, so that
 * each registration struct as ABI 1.0 laid it out must keep loading in
 * every later 1.x host.
 */
#include <stddef.h>
#include <string.h>

#include <obligo/plugin.h>

#if OBLIGO_ABI_MAJOR != 1 || OBLIGO_ABI_MINOR != 0
#error "v1abi must be compiled against the frozen ABI 1.0 header (tests/plugins/abi_v1)"
#endif

static const obligo_event_type v1_type = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_event_type),
    .type = "org.test.v1abi.happened",
    .data = NULL,
    .description = "An event type of a plugin built for ABI 1.0",
};

static const obligo_obligation_kind v1_kind = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_obligation_kind),
    .name = "v1abi.duty",
    .title = "A duty of a plugin built for ABI 1.0",
    .source = "tests/plugins/v1abi",
    .due_unit = OBLIGO_DAYS,
    .due_n = 2,
    .once = 0,
};

static int v1_fn(void *state, const char *args_json, char **result_json, char **error)
{
    const obligo_host_api *api = state;
    *result_json = api->alloc(5);
    if (!*result_json)
        return OBLIGO_PLUGIN_ERROR;
    memcpy(*result_json, "true", 5);
    return OBLIGO_PLUGIN_OK;
}

static const obligo_rule_function v1_rule_fn = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_rule_function),
    .module = "v1abi",
    .name = "yes",
    .fn = v1_fn,
};

static int v1_deliver(void *state, const char *argument, const char *alert_id,
                      const char *alert_json)
{
    return OBLIGO_PLUGIN_OK;
}

static const obligo_alert_sink v1_sink = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_alert_sink),
    .name = "v1abi",
    .deliver = v1_deliver,
};

static int v1_convert(void *state, const char *input, size_t len, obligo_emit_fn emit,
                      void *emit_ctx, char **error_path, char **error, char **error_body)
{
    return OBLIGO_PLUGIN_OK; /* nothing to emit */
}

static const obligo_input_adapter v1_adapter = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_input_adapter),
    .name = "v1abi",
    .media_type = "application/x-v1abi",
    .http_path = NULL,
    .convert = v1_convert,
};

static int v1_init(obligo_host *host, const obligo_host_api *api, const char *config_json,
                   void **state, char **error)
{
    *state = (void *)api;
    if (api->register_event_type(host, &v1_type) || api->register_obligation_kind(host, &v1_kind) ||
        api->register_rule_function(host, &v1_rule_fn) ||
        api->register_alert_sink(host, &v1_sink) || api->register_input_adapter(host, &v1_adapter))
        return OBLIGO_PLUGIN_ERROR;
    return OBLIGO_PLUGIN_OK;
}

static const obligo_plugin v1_plugin = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_plugin),
    .name = "v1abi",
    .version = "1.0.0",
    .description = "Built against the frozen ABI 1.0 header (test fixture)",
    .config_schema = NULL,
    .init = v1_init,
    .fini = NULL,
};

OBLIGO_PLUGIN_EXPORT const obligo_plugin *obligo_plugin_entry(void)
{
    return &v1_plugin;
}
