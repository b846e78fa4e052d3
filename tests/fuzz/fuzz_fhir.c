/*
 * fuzz_fhir.c — the FHIR AuditEvent input adapter (plugins/fhir/fhir.c) fed
 * hostile documents, and what it emits checked by the engine's validator
 * against the real catalogue.
 *
 * plugins/fhir/fhir.c is compiled into the harness (the build adds it), so
 * libFuzzer sees its coverage; it is initialised as the engine would, with
 * a host table written here (as tests/unit/test_fhir.c does) whose alloc
 * and free count what crosses the boundary. The catalogue is the engine's
 * own registry: every plugin in OBLIGO_PLUGIN_DIR, loaded by plugins_load.
 *
 * For every input convert runs once; when it emitted events it runs again
 * with emit refusing the last one, so the error path after a partial
 * emission is exercised too. Properties checked:
 *   - convert returns 0, or OBLIGO_PLUGIN_ERROR with error_path and error set
 *     and, when there is an error_body, a JSON OperationOutcome;
 *   - a document it refuses emits nothing (fhir.c checks every resource
 *     before emitting), unless the refusal came from emit;
 *   - every event emitted is JSON of the length given; it is checked
 *     against the catalogue (validate_event, unknown types refused) as the
 *     engine will check it, which must give a verdict (an emitted event may
 *     be refused: fhir.c leaves limits such as the length of a CloudEvent
 *     source to the engine);
 *   - everything alloc'd for the host is freed by the host's free, and
 *     nothing else leaks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "engine.h"
#include "error.h"
#include "fuzz.h"
#include "obligo/plugin.h"
#include "plugins.h"
#include "validate.h"

#ifndef OBLIGO_PLUGIN_DIR
#define OBLIGO_PLUGIN_DIR "build/plugins"
#endif

/* plugins/fhir/fhir.c, compiled in */
const obligo_plugin *obligo_plugin_entry(void);

static long live; /* api->alloc minus api->free */
static const obligo_input_adapter *adapter;
static void *state;
static plugins *registry;
static validate_catalogue catalogue;
static int host_record; /* stands for the host's opaque obligo_host */

static void *host_alloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p)
        live++;
    return p;
}

static void host_free(void *p)
{
    if (p)
        live--;
    free(p);
}

static void host_log(obligo_host *host, int level, const char *message)
{
    (void)host;
    (void)level;
    (void)message;
}

static int host_register_event_type(obligo_host *host, const obligo_event_type *type)
{
    (void)host;
    (void)type;
    return 0;
}

static int host_register_kind(obligo_host *host, const obligo_obligation_kind *kind)
{
    (void)host;
    (void)kind;
    return 0;
}

static int host_register_function(obligo_host *host, const obligo_rule_function *fn)
{
    (void)host;
    (void)fn;
    return 0;
}

static int host_register_sink(obligo_host *host, const obligo_alert_sink *sink)
{
    (void)host;
    (void)sink;
    return 0;
}

static int host_register_adapter(obligo_host *host, const obligo_input_adapter *a)
{
    (void)host;
    adapter = a;
    return 0;
}

static const obligo_host_api host_api = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_host_api),
    .alloc = host_alloc,
    .free = host_free,
    .log = host_log,
    .register_event_type = host_register_event_type,
    .register_obligation_kind = host_register_kind,
    .register_rule_function = host_register_function,
    .register_alert_sink = host_register_sink,
    .register_input_adapter = host_register_adapter,
};

static void fuzz_fhir_cleanup(void)
{
    obligo_plugin_entry()->fini(state);
    plugins_free(registry);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    engine_global_init();
    char *err = NULL;
    const obligo_plugin *plugin = obligo_plugin_entry();
    FUZZ_CHECK(plugin->init((obligo_host *)&host_record, &host_api, "{}", &state, &err) == 0,
               "fhir init: %s", err ? err : "?");
    FUZZ_CHECK(adapter != NULL, "fhir registered no adapter");
    const char *dirs[] = {OBLIGO_PLUGIN_DIR};
    FUZZ_CHECK(plugins_load(dirs, 1, NULL, &registry, &err) == 0, "plugins_load: %s",
               err ? err : "?");
    catalogue.lookup = plugins_lookup;
    catalogue.ud = registry;
    atexit(fuzz_fhir_cleanup);
    return 0;
}

/* What one convert emitted. */
typedef struct run {
    int n;
    int refuse_at; /* emit refuses the event with this number (1-based); 0: none */
    int refused;
} run;

static int emit(void *ctx, const char *json, size_t len)
{
    run *r = ctx;
    r->n++;
    FUZZ_CHECK(json != NULL && strlen(json) == len, "emitted text is not %zu bytes", len);
    cJSON *ev = cJSON_ParseWithLength(json, len);
    FUZZ_CHECK(ev != NULL, "emitted an event that is not JSON: %s", json);
    /* The engine checks what an adapter emits like any other event, and
     * may refuse it (an observer reference longer than a CloudEvent source
     * may be, say): that is an answer, not a failure. */
    validate_result vr = {0};
    int rc = validate_event(ev, &catalogue, 0, &vr);
    FUZZ_CHECK(rc == 0 || (rc == OBLIGO_EINVAL && vr.field && vr.message),
               "the validator failed on an emitted event (%d)", rc);
    validate_result_clear(&vr);
    cJSON_Delete(ev);
    if (r->refuse_at == r->n) {
        r->refused = 1;
        return OBLIGO_PLUGIN_ERROR;
    }
    return 0;
}

static int convert(const uint8_t *data, size_t size, int refuse_at)
{
    run r = {.refuse_at = refuse_at};
    char *path = NULL, *error = NULL, *body = NULL;
    long before = live;
    int rc = adapter->convert(state, (const char *)data, size, emit, &r, &path, &error, &body);
    if (rc == OBLIGO_PLUGIN_OK) {
        FUZZ_CHECK(!path && !error && !body, "success with an error set: %s", error ? error : "");
    } else {
        FUZZ_CHECK(rc == OBLIGO_PLUGIN_ERROR, "convert returned %d", rc);
        FUZZ_CHECK(error != NULL, "refused without saying why");
        FUZZ_CHECK(r.refused || r.n == 0, "refused after emitting %d events: %s", r.n, error);
        if (body) {
            cJSON *oo = cJSON_Parse(body);
            FUZZ_CHECK(oo != NULL, "the error body is not JSON: %s", body);
            FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(oo, "resourceType")),
                       "the error body has no resourceType: %s", body);
            cJSON_Delete(oo);
        }
    }
    host_free(path);
    host_free(error);
    host_free(body);
    FUZZ_CHECK(live == before, "%ld blocks alloc'd for the host were not handed over",
               live - before);
    return rc == OBLIGO_PLUGIN_OK ? r.n : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int n = convert(data, size, 0);
    if (n > 0)
        convert(data, size, n);
    return 0;
}
