/*
 * v1abi.c — a plugin built against the FROZEN copy of the ABI 1.0 header
 * (tests/plugins/abi_v1/obligo/plugin.h, never edited), not the engine's
 * current one: the only include directory it is compiled with is abi_v1
 * (tests/plugins/CMakeLists.txt). It registers one of everything, so that
 * each registration struct as ABI 1.0 laid it out must keep loading in
 * every later 1.x host.
 *
 * Built with V1ABI_EXACT it becomes the plugin "v1exact": every
 * registration is instead copied into a heap block of exactly the smallest
 * size ABI 1.0 allows (up to and including its last 1.0 field) and declares
 * that struct_size. Nothing lies after that end but AddressSanitizer's
 * redzone, so a host that copies a registration by its own sizeof, rather
 * than by the plugin's struct_size, is caught reading past it: today for
 * obligo_obligation_kind (whose sizeof has 4 bytes of tail padding after
 * `once`), and for every struct once a later minor appends a field (the
 * "next ABI" build of tests/unit/test_plugins.c).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <obligo/plugin.h>

#if OBLIGO_ABI_MAJOR != 1 || OBLIGO_ABI_MINOR != 0
#error "v1abi must be compiled against the frozen ABI 1.0 header (tests/plugins/abi_v1)"
#endif

/* The names, so that v1abi and v1exact can be loaded together. */
#ifdef V1ABI_EXACT
#define V1_ID "v1exact"
#else
#define V1_ID "v1abi"
#endif

/* The state handed to the rule function: the host's table itself, or (in
 * v1exact) a v1_exact whose first member points to it. */
#ifdef V1ABI_EXACT
#define V1_API(state) (*(const obligo_host_api *const *)(state))
#else
#define V1_API(state) ((const obligo_host_api *)(state))
#endif

static const obligo_event_type v1_type = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_event_type),
    .type = "org.test." V1_ID ".happened",
    .data = NULL,
    .description = "An event type of a plugin built for ABI 1.0",
};

static const obligo_obligation_kind v1_kind = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_obligation_kind),
    .name = V1_ID ".duty",
    .title = "A duty of a plugin built for ABI 1.0",
    .source = "tests/plugins/v1abi",
    .due_unit = OBLIGO_DAYS,
    .due_n = 2,
    .once = 0,
};

static int v1_fn(void *state, const char *args_json, char **result_json, char **error)
{
    const obligo_host_api *api = V1_API(state);
    *result_json = api->alloc(5);
    if (!*result_json)
        return OBLIGO_PLUGIN_ERROR;
    memcpy(*result_json, "true", 5);
    return OBLIGO_PLUGIN_OK;
}

static const obligo_rule_function v1_rule_fn = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_rule_function),
    .module = V1_ID,
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
    .name = V1_ID,
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
    .name = V1_ID,
    .media_type = "application/x-" V1_ID,
    .http_path = NULL,
    .convert = v1_convert,
};

#ifndef V1ABI_EXACT
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
#define V1_FINI NULL
#else
#define V1_SIZE_TO(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

/* The five blocks stay allocated until fini: event types are borrowed by
 * the host until then (plugin.h). The host's table comes first (V1_API). */
typedef struct v1_exact {
    const obligo_host_api *api;
    void *blocks[5];
} v1_exact;

static void v1_fini(void *state)
{
    v1_exact *x = state;
    for (int i = 0; i < 5; i++)
        free(x->blocks[i]);
    free(x);
}

/* A copy of the first `size` bytes of tmpl in a block of exactly that
 * size, declaring struct_size = size. The template is patched before the
 * copy, never through the short block, which is smaller than its type. */
static void *v1_exact_copy(v1_exact *x, int i, const void *tmpl, size_t tmpl_size, size_t size)
{
    unsigned char patched[64];
    if (tmpl_size > sizeof patched || !(x->blocks[i] = malloc(size)))
        return NULL;
    memcpy(patched, tmpl, tmpl_size);
    uint32_t size32 = (uint32_t)size;
    /* struct_size is at offset 4 in every versioned struct of ABI 1 */
    memcpy(patched + offsetof(obligo_event_type, struct_size), &size32, sizeof size32);
    memcpy(x->blocks[i], patched, size);
    return x->blocks[i];
}

#define V1_EXACT(x, i, tmpl, last)                                                                 \
    v1_exact_copy(x, i, &(tmpl), sizeof(tmpl), V1_SIZE_TO(__typeof__(tmpl), last))

static int v1_init(obligo_host *host, const obligo_host_api *api, const char *config_json,
                   void **state, char **error)
{
    v1_exact *x = calloc(1, sizeof *x);
    if (!x)
        return OBLIGO_PLUGIN_ERROR;
    x->api = api;
    const obligo_event_type *t = V1_EXACT(x, 0, v1_type, description);
    const obligo_obligation_kind *k = V1_EXACT(x, 1, v1_kind, once);
    const obligo_rule_function *f = V1_EXACT(x, 2, v1_rule_fn, fn);
    const obligo_alert_sink *s = V1_EXACT(x, 3, v1_sink, deliver);
    const obligo_input_adapter *a = V1_EXACT(x, 4, v1_adapter, convert);
    if (!t || !k || !f || !s || !a || api->register_event_type(host, t) ||
        api->register_obligation_kind(host, k) || api->register_rule_function(host, f) ||
        api->register_alert_sink(host, s) || api->register_input_adapter(host, a)) {
        v1_fini(x); /* a failed init frees what it allocated (plugin.h) */
        return OBLIGO_PLUGIN_ERROR;
    }
    *state = x;
    return OBLIGO_PLUGIN_OK;
}
#define V1_FINI v1_fini
#endif

static const obligo_plugin v1_plugin = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_plugin),
    .name = V1_ID,
    .version = "1.0.0",
    .description = "Built against the frozen ABI 1.0 header (test fixture)",
    .config_schema = NULL,
    .init = v1_init,
    .fini = V1_FINI,
};

OBLIGO_PLUGIN_EXPORT const obligo_plugin *obligo_plugin_entry(void)
{
    return &v1_plugin;
}
