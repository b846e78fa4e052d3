/*
 * test_plugins.c — the plugin loader and registry (engine/host/plugins.c) on the
 * fixture plugins of tests/plugins, one directory per case under
 * OBLIGO_BINARY_DIR/test-plugins: a good plugin loads and shows what it
 * registered; every refusal names the file and the reason and leaves no
 * registry behind; a plugin built against the frozen ABI 1.0 header loads;
 * configuration is checked against the plugin's schema; the default plugin
 * directory is found next to the binary; out of memory at any allocation
 * neither crashes nor leaks nor loads half a plugin.
 *
 * The _Static_asserts at the top pin the layout of ABI 1.0 on x86_64 LP64:
 * moving, removing or resizing a 1.0 field breaks every plugin already
 * built, so it must break this build first.
 *
 * This file is built twice. unit/test_plugins runs it against the engine
 * as it is; unit/test_plugins_next_abi (tests/plugins/CMakeLists.txt)
 * compiles it and engine/host/plugins.c against a generated header in which ABI
 * 1.1 appends a field (next_abi_probe) to every struct a plugin hands over,
 * OBLIGO_TEST_NEXT_ABI set: the day that happens for real, every 1.0
 * plugin's structs are shorter than the host's, and under AddressSanitizer
 * a host that copies them by its own sizeof reads past their end.
 */
#define _GNU_SOURCE /* realpath */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "plugins.h"

#define FIXTURES OBLIGO_BINARY_DIR "/test-plugins"

/* ---- ABI 1.0 layout (x86_64, LP64) ------------------------------------------ */

#define SIZE_TO(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

_Static_assert(OBLIGO_ABI_MAJOR == 1, "a new major: write the new layout checks");
_Static_assert(OBLIGO_ABI_VERSION(1, 0) == 0x10000u, "ABI version encoding");
_Static_assert(OBLIGO_ABI_MAJOR_OF(0x10002u) == 1 && OBLIGO_ABI_MINOR_OF(0x10002u) == 2,
               "ABI version decoding");
_Static_assert(OBLIGO_PLUGIN_OK == 0 && OBLIGO_PLUGIN_ERROR == -1 && OBLIGO_PLUGIN_RETRY == 1,
               "return codes");
_Static_assert(OBLIGO_FIELD_STRING == 1 && OBLIGO_FIELD_BOOL == 2 && OBLIGO_FIELD_COUNT == 3 &&
                   OBLIGO_FIELD_OBJECT == 4 && OBLIGO_FIELD_ENUM_LIST == 5 &&
                   OBLIGO_FIELD_TIME == 6 && OBLIGO_FIELD_DATE_OR_TIME == 7 &&
                   OBLIGO_FIELD_ANY == 8,
               "field kinds");
_Static_assert(OBLIGO_HOURS == 0 && OBLIGO_DAYS == 1 && OBLIGO_MONTHS == 2 && OBLIGO_YEARS == 3,
               "period units");
_Static_assert(OBLIGO_LOG_ERROR == 0 && OBLIGO_LOG_WARNING == 1 && OBLIGO_LOG_INFO == 2,
               "log levels");

#if defined(__x86_64__) && defined(__LP64__)
/* frozen for the whole of major 1: offsets and sizes */
_Static_assert(offsetof(obligo_field, name) == 0, "obligo_field.name");
_Static_assert(offsetof(obligo_field, kind) == 8, "obligo_field.kind");
_Static_assert(offsetof(obligo_field, required) == 12, "obligo_field.required");
_Static_assert(offsetof(obligo_field, values) == 16, "obligo_field.values");
_Static_assert(offsetof(obligo_field, nested) == 24, "obligo_field.nested");
_Static_assert(sizeof(obligo_field) == 32, "obligo_field is frozen");
_Static_assert(offsetof(obligo_schema, fields) == 0, "obligo_schema.fields");
_Static_assert(offsetof(obligo_schema, one_of) == 8, "obligo_schema.one_of");
_Static_assert(offsetof(obligo_schema, one_of_named) == 16, "obligo_schema.one_of_named");
_Static_assert(sizeof(obligo_schema) == 24, "obligo_schema is frozen");

/* versioned structs: 1.0 offsets, and they may only grow at the end */
#define HEADER_AT_0_AND_4(type)                                                                    \
    _Static_assert(offsetof(type, abi_version) == 0 && offsetof(type, struct_size) == 4 &&         \
                       sizeof(((type *)0)->abi_version) == 4 &&                                    \
                       sizeof(((type *)0)->struct_size) == 4,                                      \
                   #type ": abi_version at 0, struct_size at 4")
HEADER_AT_0_AND_4(obligo_plugin);
HEADER_AT_0_AND_4(obligo_host_api);
HEADER_AT_0_AND_4(obligo_event_type);
HEADER_AT_0_AND_4(obligo_obligation_kind);
HEADER_AT_0_AND_4(obligo_rule_function);
HEADER_AT_0_AND_4(obligo_alert_sink);
HEADER_AT_0_AND_4(obligo_input_adapter);

_Static_assert(offsetof(obligo_plugin, name) == 8, "obligo_plugin.name");
_Static_assert(offsetof(obligo_plugin, version) == 16, "obligo_plugin.version");
_Static_assert(offsetof(obligo_plugin, description) == 24, "obligo_plugin.description");
_Static_assert(offsetof(obligo_plugin, config_schema) == 32, "obligo_plugin.config_schema");
_Static_assert(offsetof(obligo_plugin, init) == 40, "obligo_plugin.init");
_Static_assert(offsetof(obligo_plugin, fini) == 48, "obligo_plugin.fini");
_Static_assert(sizeof(obligo_plugin) >= 56, "obligo_plugin only grows");

_Static_assert(offsetof(obligo_host_api, alloc) == 8, "obligo_host_api.alloc");
_Static_assert(offsetof(obligo_host_api, free) == 16, "obligo_host_api.free");
_Static_assert(offsetof(obligo_host_api, log) == 24, "obligo_host_api.log");
_Static_assert(offsetof(obligo_host_api, register_event_type) == 32,
               "obligo_host_api.register_event_type");
_Static_assert(offsetof(obligo_host_api, register_obligation_kind) == 40,
               "obligo_host_api.register_obligation_kind");
_Static_assert(offsetof(obligo_host_api, register_rule_function) == 48,
               "obligo_host_api.register_rule_function");
_Static_assert(offsetof(obligo_host_api, register_alert_sink) == 56,
               "obligo_host_api.register_alert_sink");
_Static_assert(offsetof(obligo_host_api, register_input_adapter) == 64,
               "obligo_host_api.register_input_adapter");
_Static_assert(sizeof(obligo_host_api) >= 72, "obligo_host_api only grows");

_Static_assert(offsetof(obligo_event_type, type) == 8, "obligo_event_type.type");
_Static_assert(offsetof(obligo_event_type, data) == 16, "obligo_event_type.data");
_Static_assert(offsetof(obligo_event_type, description) == 24, "obligo_event_type.description");
_Static_assert(sizeof(obligo_event_type) >= 32, "obligo_event_type only grows");

_Static_assert(offsetof(obligo_obligation_kind, name) == 8, "obligo_obligation_kind.name");
_Static_assert(offsetof(obligo_obligation_kind, title) == 16, "obligo_obligation_kind.title");
_Static_assert(offsetof(obligo_obligation_kind, source) == 24, "obligo_obligation_kind.source");
_Static_assert(offsetof(obligo_obligation_kind, due_unit) == 32, "obligo_obligation_kind.due_unit");
_Static_assert(offsetof(obligo_obligation_kind, due_n) == 40, "obligo_obligation_kind.due_n");
_Static_assert(sizeof(((obligo_obligation_kind *)0)->due_n) == 8, "due_n is 64 bits");
_Static_assert(offsetof(obligo_obligation_kind, once) == 48, "obligo_obligation_kind.once");
_Static_assert(sizeof(obligo_obligation_kind) >= 56, "obligo_obligation_kind only grows");

_Static_assert(offsetof(obligo_rule_function, module) == 8, "obligo_rule_function.module");
_Static_assert(offsetof(obligo_rule_function, name) == 16, "obligo_rule_function.name");
_Static_assert(offsetof(obligo_rule_function, fn) == 24, "obligo_rule_function.fn");
_Static_assert(sizeof(obligo_rule_function) >= 32, "obligo_rule_function only grows");

_Static_assert(offsetof(obligo_alert_sink, name) == 8, "obligo_alert_sink.name");
_Static_assert(offsetof(obligo_alert_sink, deliver) == 16, "obligo_alert_sink.deliver");
_Static_assert(sizeof(obligo_alert_sink) >= 24, "obligo_alert_sink only grows");

_Static_assert(offsetof(obligo_input_adapter, name) == 8, "obligo_input_adapter.name");
_Static_assert(offsetof(obligo_input_adapter, media_type) == 16, "obligo_input_adapter.media_type");
_Static_assert(offsetof(obligo_input_adapter, http_path) == 24, "obligo_input_adapter.http_path");
_Static_assert(offsetof(obligo_input_adapter, convert) == 32, "obligo_input_adapter.convert");
_Static_assert(sizeof(obligo_input_adapter) >= 40, "obligo_input_adapter only grows");

/* OBLIGO_HOST_HAS of the last 1.0 function is true of a 1.0 table */
_Static_assert(SIZE_TO(obligo_host_api, register_input_adapter) == 72, "1.0 host table size");
#endif

/* ---- helpers ---------------------------------------------------------------- */

/* Loads the plugins of one directory; *err is NULL unless the load failed. */
static int load_dir(const char *dir, const cJSON *configs, plugins **out, char **err)
{
    const char *dirs[] = {dir};
    *out = NULL;
    return plugins_load(dirs, 1, configs, out, err);
}

/* The plugin named `name` in plugins_describe's list, or NULL. */
static const cJSON *described(const cJSON *list, const char *name)
{
    for (const cJSON *c = list ? list->child : NULL; c; c = c->next) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(c, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
            return c;
    }
    return NULL;
}

static const char *str_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Asserts that o[name] is an array of exactly the given strings, in order
 * (NULL-terminated). */
static void assert_strings(const cJSON *o, const char *name, ...)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, name);
    assert_true(cJSON_IsArray(arr));
    va_list ap;
    va_start(ap, name);
    const cJSON *c = arr->child;
    for (const char *want = va_arg(ap, const char *); want; want = va_arg(ap, const char *)) {
        if (!c || !cJSON_IsString(c))
            fail_msg("%s: %s is missing", name, want);
        assert_string_equal(c->valuestring, want);
        c = c->next;
    }
    va_end(ap);
    if (c)
        fail_msg("%s: unexpected extra entry", name);
}

/* A refusal: rc not 0, no registry, and the message names the file and has
 * the reason. */
static void assert_refused(const char *dir, const char *file, const char *reason)
{
    plugins *p = (plugins *)(uintptr_t)1; /* must not be written */
    char *err = NULL;
    const char *dirs[] = {dir};
    int rc = plugins_load(dirs, 1, NULL, &p, &err);
    assert_int_not_equal(rc, 0);
    assert_ptr_equal(p, (plugins *)(uintptr_t)1);
    assert_non_null(err);
    if (!strstr(err, file) || !strstr(err, reason))
        fail_msg("the message does not name %s and \"%s\": %s", file, reason, err);
    obligo_free(err);
}

/* ---- the good plugin ---------------------------------------------------------- */

static void good_loads_and_describes_itself(void **state)
{
    plugins *p;
    char *err = NULL;
    int rc = load_dir(FIXTURES "/good", NULL, &p, &err);
    if (rc)
        fail_msg("load failed: %s", err);
    assert_null(err);

    cJSON *list = plugins_describe(p);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    const cJSON *g = described(list, "good");
    assert_non_null(g);
    assert_string_equal(str_of(g, "version"), "1.2.3");
    assert_string_equal(str_of(g, "abi"), "1.1");
    assert_string_equal(str_of(g, "status"), "loaded");
    assert_string_equal(str_of(g, "file"), FIXTURES "/good/good.so");
    assert_string_equal(str_of(g, "description"), "A minimal valid plugin (test fixture)");
    assert_strings(g, "event_types", "org.test.good.happened", NULL);
    assert_strings(g, "obligation_kinds", NULL);
    assert_strings(g, "rule_functions", "good.echo", NULL);
    assert_strings(g, "alert_sinks", NULL);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(g, "input_adapters")), 0);
    cJSON_Delete(list);

    /* the registry answers the engine's questions */
    const obligo_event_type *t = plugins_event_type(p, "org.test.good.happened");
    assert_non_null(t);
    assert_non_null(t->data);
    assert_string_equal(t->data->fields[0].name, "word");
    assert_null(plugins_event_type(p, "org.test.refused.happened"));
    assert_null(plugins_find_sink(p, "good"));
    assert_null(plugins_find_adapter(p, "good"));
    int n = -1;
    assert_null(plugins_obligation_kinds(p, &n));
    assert_int_equal(n, 0);

    /* the rule function, as rules.c calls it: a result, and an error that
     * is a plain return value (the engine turns it into a Lua error) */
    const plugins_rule_function *fns = plugins_rule_functions(p, &n);
    assert_int_equal(n, 1);
    assert_string_equal(fns[0].module, "good");
    assert_string_equal(fns[0].name, "echo");
    assert_string_equal(fns[0].plugin, "good");
    char *result = NULL, *error = NULL;
    assert_int_equal(fns[0].fn(fns[0].state, "[\"hi\",2]", &result, &error), OBLIGO_PLUGIN_OK);
    assert_string_equal(result, "[\"hi\",2]");
    assert_null(error);
    obligo_free(result);
    result = NULL;
    assert_int_equal(fns[0].fn(fns[0].state, "[\"boom\"]", &result, &error), OBLIGO_PLUGIN_ERROR);
    assert_null(result);
    assert_string_equal(error, "boom was asked for");
    obligo_free(error);
    plugins_free(p);
}

/* No directories, or one that is not there: an empty registry, no error. */
static void no_plugins_is_an_empty_registry(void **state)
{
    plugins *p = NULL;
    char *err = NULL;
    assert_int_equal(plugins_load(NULL, 0, NULL, &p, &err), 0);
    assert_non_null(p);
    cJSON *list = plugins_describe(p);
    assert_int_equal(cJSON_GetArraySize(list), 0);
    cJSON_Delete(list);
    plugins_free(p);
    assert_int_equal(load_dir(FIXTURES "/no-such-directory", NULL, &p, &err), 0);
    assert_null(plugins_event_type(p, "org.test.good.happened"));
    plugins_free(p);
}

/* ---- refusals ----------------------------------------------------------------- */

static void another_major_is_refused(void **state)
{
    assert_refused(FIXTURES "/major", "/major/major.so", "ABI 2.");
}

static void a_newer_minor_is_refused(void **state)
{
    assert_refused(FIXTURES "/minor", "/minor/minor.so", "needs plugin ABI 1.99");
}

static void a_short_struct_is_refused(void **state)
{
    assert_refused(FIXTURES "/short", "/short/short.so", "shorter than");
}

static void a_missing_entry_point_is_refused(void **state)
{
    assert_refused(FIXTURES "/noentry", "/noentry/noentry.so", "no entry point");
}

static void a_failing_init_is_refused(void **state)
{
    assert_refused(FIXTURES "/initfail", "/initfail/initfail.so", "init failed");
    /* the plugin's own reason is passed on */
    assert_refused(FIXTURES "/initfail", "initfail.so", "the fixture fails on purpose");
}

/* A failure after a plugin loaded fine undoes the whole load (the good one
 * is finished and unloaded: LeakSanitizer sees to its state), and loading
 * again afterwards starts from nothing: only what the good plugin registers
 * is there, nothing of the plugin whose init failed. */
static void a_failed_load_leaves_nothing(void **state)
{
    assert_refused(FIXTURES "/mixed", "/mixed/zz_initfail.so", "init failed");

    plugins *p;
    char *err = NULL;
    int rc = load_dir(FIXTURES "/good", NULL, &p, &err);
    if (rc)
        fail_msg("load failed: %s", err);
    assert_non_null(plugins_event_type(p, "org.test.good.happened"));
    assert_null(plugins_event_type(p, "org.test.refused.happened"));
    cJSON *list = plugins_describe(p);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    assert_null(described(list, "refused"));
    cJSON_Delete(list);
    plugins_free(p);
}

/* Several directories: the first refusal stops the load, whichever
 * directory it is in. */
static void a_refusal_in_any_directory_stops_the_load(void **state)
{
    const char *dirs[] = {FIXTURES "/good", FIXTURES "/noentry"};
    plugins *p = NULL;
    char *err = NULL;
    assert_int_not_equal(plugins_load(dirs, 2, NULL, &p, &err), 0);
    assert_null(p);
    assert_non_null(strstr(err, "noentry.so"));
    obligo_free(err);
}

/* The same plugin twice (the same name from two directories) is refused. */
static void the_same_name_twice_is_refused(void **state)
{
    const char *dirs[] = {FIXTURES "/good", FIXTURES "/mixed"};
    plugins *p = NULL;
    char *err = NULL;
    assert_int_not_equal(plugins_load(dirs, 2, NULL, &p, &err), 0);
    assert_null(p);
    if (!strstr(err, "a_good.so") || !strstr(err, "good.so"))
        fail_msg("unexpected message: %s", err);
    obligo_free(err);
}

/* ---- ABI 1.0 compatibility ------------------------------------------------------ */

static void a_v1_plugin_loads_in_this_host(void **state)
{
    plugins *p;
    char *err = NULL;
    int rc = load_dir(FIXTURES "/v1abi", NULL, &p, &err);
    if (rc)
        fail_msg("load failed: %s", err);
    cJSON *list = plugins_describe(p);
    const cJSON *v = described(list, "v1abi");
    assert_non_null(v);
    assert_string_equal(str_of(v, "abi"), "1.0");
    assert_strings(v, "event_types", "org.test.v1abi.happened", NULL);
    assert_strings(v, "obligation_kinds", "v1abi.duty", NULL);
    assert_strings(v, "rule_functions", "v1abi.yes", NULL);
    assert_strings(v, "alert_sinks", "v1abi", NULL);
    const cJSON *ads = cJSON_GetObjectItemCaseSensitive(v, "input_adapters");
    assert_int_equal(cJSON_GetArraySize(ads), 1);
    assert_string_equal(str_of(cJSON_GetArrayItem(ads, 0), "name"), "v1abi");
    assert_string_equal(str_of(cJSON_GetArrayItem(ads, 0), "media_type"), "application/x-v1abi");
    cJSON_Delete(list);

    int n = 0;
    const obligo_obligation_kind *k = plugins_obligation_kinds(p, &n);
    assert_int_equal(n, 1);
    assert_string_equal(k[0].title, "A duty of a plugin built for ABI 1.0");
    assert_int_equal(k[0].due_unit, OBLIGO_DAYS);
    assert_int_equal(k[0].due_n, 2);
    const plugins_sink *s = plugins_find_sink(p, "v1abi:anything");
    assert_non_null(s);
    assert_int_equal(s->sink->deliver(s->state, "anything", "al_1", "{}"), OBLIGO_PLUGIN_OK);
    const plugins_adapter *a = plugins_find_adapter(p, "v1abi");
    assert_non_null(a);
    assert_null(a->adapter.http_path);
    plugins_free(p);
}

/* The bytes of the host's copy *copy past the plugin's struct_size are
 * zero: what a plugin built against an older header does not have reads as
 * the default. */
static void assert_zero_after_struct_size(const void *copy, size_t host_size, uint32_t struct_size,
                                          const char *what)
{
    const unsigned char *b = copy;
    for (size_t i = struct_size; i < host_size; i++)
        if (b[i] != 0)
            fail_msg("%s: byte %zu of the host's copy, past the plugin's struct_size %u, is %u",
                     what, i, struct_size, b[i]);
}

/* v1exact registers each struct in a heap block of exactly the smallest
 * size ABI 1.0 allows, so anything after it is AddressSanitizer's redzone.
 * The host copies each by the plugin's struct_size and keeps that size in
 * its copy; copying by its own sizeof (the obligation kind's has 4 bytes of
 * tail padding, and every struct grows in the next ABI build) is a
 * heap-buffer-overflow report here. */
static void registrations_are_copied_by_their_struct_size(void **state)
{
    plugins *p;
    char *err = NULL;
    int rc = load_dir(FIXTURES "/v1exact", NULL, &p, &err);
    if (rc)
        fail_msg("load failed: %s", err);

    const obligo_event_type *t = plugins_event_type(p, "org.test.v1exact.happened");
    assert_non_null(t);
    assert_int_equal(t->struct_size, SIZE_TO(obligo_event_type, description));
    assert_string_equal(t->description, "An event type of a plugin built for ABI 1.0");
    assert_zero_after_struct_size(t, sizeof *t, t->struct_size, "obligo_event_type");

    int n = 0;
    const obligo_obligation_kind *k = plugins_obligation_kinds(p, &n);
    assert_int_equal(n, 1);
    assert_int_equal(k[0].struct_size, SIZE_TO(obligo_obligation_kind, once));
    assert_true(k[0].struct_size < sizeof k[0]); /* the tail padding, at least */
    assert_string_equal(k[0].name, "v1exact.duty");
    assert_int_equal(k[0].due_unit, OBLIGO_DAYS);
    assert_int_equal(k[0].due_n, 2);
    assert_int_equal(k[0].once, 0);
    assert_zero_after_struct_size(&k[0], sizeof k[0], k[0].struct_size, "obligo_obligation_kind");

    const plugins_rule_function *fns = plugins_rule_functions(p, &n);
    assert_int_equal(n, 1);
    assert_string_equal(fns[0].module, "v1exact");
    char *result = NULL, *error = NULL;
    assert_int_equal(fns[0].fn(fns[0].state, "[]", &result, &error), OBLIGO_PLUGIN_OK);
    assert_string_equal(result, "true");
    obligo_free(result);

    const plugins_sink *s = plugins_find_sink(p, "v1exact");
    assert_non_null(s);
    assert_int_equal(s->sink->struct_size, SIZE_TO(obligo_alert_sink, deliver));
    assert_zero_after_struct_size(s->sink, sizeof *s->sink, s->sink->struct_size,
                                  "obligo_alert_sink");
    assert_int_equal(s->sink->deliver(s->state, "", "al_1", "{}"), OBLIGO_PLUGIN_OK);

    const plugins_adapter *a = plugins_find_adapter(p, "v1exact");
    assert_non_null(a);
    assert_int_equal(a->adapter.struct_size, SIZE_TO(obligo_input_adapter, convert));
    assert_string_equal(a->adapter.media_type, "application/x-v1exact");
    assert_null(a->adapter.http_path);
    assert_zero_after_struct_size(&a->adapter, sizeof a->adapter, a->adapter.struct_size,
                                  "obligo_input_adapter");
    plugins_free(p);
}

#ifdef OBLIGO_TEST_NEXT_ABI
/* The generated header really is longer than 1.0 in every struct a plugin
 * hands over; otherwise this build would prove nothing. */
_Static_assert(OBLIGO_ABI_MINOR >= 1, "the next ABI build has a newer minor");
#define GREW(type, last)                                                                           \
    _Static_assert(offsetof(type, next_abi_probe) >= SIZE_TO(type, last), #type " grew")
GREW(obligo_plugin, fini);
GREW(obligo_event_type, description);
GREW(obligo_obligation_kind, once);
GREW(obligo_rule_function, fn);
GREW(obligo_alert_sink, deliver);
GREW(obligo_input_adapter, convert);
#undef GREW

/* v1abi's structs are static, 1.0-sized: AddressSanitizer puts a redzone
 * after each, which a host copying by its 1.1 sizeof reads into. The field
 * 1.1 added reads as zero in every copy, and each copy keeps 1.0's size. */
static void a_v1_plugin_gets_defaults_for_fields_added_later(void **state)
{
    plugins *p;
    char *err = NULL;
    int rc = load_dir(FIXTURES "/v1abi", NULL, &p, &err);
    if (rc)
        fail_msg("load failed: %s", err);
    const obligo_event_type *t = plugins_event_type(p, "org.test.v1abi.happened");
    assert_non_null(t);
    assert_int_equal(t->struct_size, 32);
    assert_int_equal(t->next_abi_probe, 0);
    int n = 0;
    const obligo_obligation_kind *k = plugins_obligation_kinds(p, &n);
    assert_int_equal(n, 1);
    assert_int_equal(k[0].struct_size, 56);
    assert_int_equal(k[0].next_abi_probe, 0);
    const plugins_sink *s = plugins_find_sink(p, "v1abi");
    assert_int_equal(s->sink->struct_size, 24);
    assert_int_equal(s->sink->next_abi_probe, 0);
    const plugins_adapter *a = plugins_find_adapter(p, "v1abi");
    assert_int_equal(a->adapter.struct_size, 40);
    assert_int_equal(a->adapter.next_abi_probe, 0);
    plugins_free(p);
}
#endif

/* A registration shorter than ABI 1.0 allows is refused, naming the plugin,
 * the struct and the registration, and so is the plugin: also when its init
 * ignores the refusal, since it would run without what it meant to add. */
static void a_short_registration_refuses_the_plugin(void **state)
{
    static const char *const dirs[] = {FIXTURES "/shortkind", FIXTURES "/ignored"};
    static const char *const files[] = {"/shortkind/shortkind.so", "/ignored/ignored.so"};
    static const char *const whys[] = {"init failed", "init went on as if it had succeeded"};
    for (int i = 0; i < 2; i++) {
        plugins *p = NULL;
        char *err = NULL;
        assert_int_not_equal(load_dir(dirs[i], NULL, &p, &err), 0);
        assert_null(p);
        assert_non_null(err);
        static const char *const needles[] = {
            "plugin refused", "obligo_obligation_kind refused.short_kind of plugin refused",
            "struct_size of 48", "shorter than the 52 bytes of ABI 1.0",
            "sizeof(obligo_obligation_kind)"};
        for (size_t j = 0; j < sizeof needles / sizeof needles[0]; j++)
            if (!strstr(err, needles[j]))
                fail_msg("the message does not say \"%s\": %s", needles[j], err);
        if (!strstr(err, files[i]) || !strstr(err, whys[i]))
            fail_msg("the message does not name %s and \"%s\": %s", files[i], whys[i], err);
        obligo_free(err);
    }
}

/* ---- configuration ---------------------------------------------------------------- */

static void configuration_is_checked_against_the_schema(void **state)
{
    cJSON *configs = cJSON_Parse("{\"webhook\":{\"url\":5,\"secret\":\"s\"}}");
    plugins *p = NULL;
    char *err = NULL;
    assert_int_not_equal(load_dir(OBLIGO_PLUGIN_DIR, configs, &p, &err), 0);
    assert_null(p);
    assert_non_null(err);
    if (!strstr(err, "plugins.webhook.url") || !strstr(err, "webhook.so"))
        fail_msg("unexpected message: %s", err);
    obligo_free(err);
    cJSON_Delete(configs);

    /* a section that is not an object */
    configs = cJSON_Parse("{\"webhook\":true}");
    assert_int_not_equal(load_dir(OBLIGO_PLUGIN_DIR, configs, &p, &err), 0);
    assert_non_null(strstr(err, "plugins.webhook must be an object"));
    obligo_free(err);
    cJSON_Delete(configs);

    /* configuration for a plugin that takes none */
    configs = cJSON_Parse("{\"good\":{\"x\":1}}");
    assert_int_not_equal(load_dir(FIXTURES "/good", configs, &p, &err), 0);
    assert_non_null(strstr(err, "takes no configuration"));
    obligo_free(err);
    cJSON_Delete(configs);
}

static void configuration_for_an_absent_plugin_is_refused(void **state)
{
    cJSON *configs = cJSON_Parse("{\"nosuch\":{\"a\":1}}");
    plugins *p = NULL;
    char *err = NULL;
    assert_int_not_equal(load_dir(FIXTURES "/good", configs, &p, &err), 0);
    assert_null(p);
    assert_non_null(err);
    if (!strstr(err, "plugins.nosuch") || !strstr(err, "no plugin of that name"))
        fail_msg("unexpected message: %s", err);
    obligo_free(err);
    cJSON_Delete(configs);
}

/* A plugin that cannot run without configuration, and has none, is listed
 * as not configured; with its configuration it loads. */
static void unconfigured_plugins_are_listed_as_such(void **state)
{
    plugins *p;
    char *err = NULL;
    int rc = load_dir(OBLIGO_PLUGIN_DIR, NULL, &p, &err);
    if (rc)
        fail_msg("load failed: %s", err);
    cJSON *list = plugins_describe(p);
    const cJSON *w = described(list, "webhook");
    assert_non_null(w);
    assert_string_equal(str_of(w, "status"), "not configured");
    assert_non_null(strstr(str_of(w, "reason"), "plugins.webhook"));
    assert_null(plugins_find_sink(p, "webhook"));
    const cJSON *avg = described(list, "avg");
    assert_non_null(avg);
    assert_string_equal(str_of(avg, "status"), "loaded");
    cJSON_Delete(list);
    plugins_free(p);

    cJSON *configs =
        cJSON_Parse("{\"webhook\":{\"url\":\"https://alerts.example.org/in\",\"secret\":\"s\"}}");
    rc = load_dir(OBLIGO_PLUGIN_DIR, configs, &p, &err);
    if (rc)
        fail_msg("load failed: %s", err);
    assert_non_null(plugins_find_sink(p, "webhook"));
    list = plugins_describe(p);
    assert_string_equal(str_of(described(list, "webhook"), "status"), "loaded");
    cJSON_Delete(list);
    plugins_free(p);
    cJSON_Delete(configs);
}

/* ---- the default directory ----------------------------------------------------------- */

/* The test binary sits in the build directory, so "<build>/plugins" is the
 * default directory it finds. */
static void the_default_dir_is_next_to_the_binary(void **state)
{
    char *dir = plugins_default_dir();
    assert_non_null(dir);
    char got[PATH_MAX], want[PATH_MAX];
    assert_non_null(realpath(dir, got));
    assert_non_null(realpath(OBLIGO_PLUGIN_DIR, want));
    assert_string_equal(got, want);
    obligo_free(dir);
}

/* ---- out of memory ---------------------------------------------------------------------- */

/* Every allocation of a load, in turn, fails: the load fails cleanly, or it
 * succeeds with the complete registry — never a plugin half registered or
 * silently left out.
 * (A file's path that cannot be allocated stops the load with
 * OBLIGO_ENOMEM: skipping it would leave a regulation's duties unkept.) */
static void out_of_memory_at_any_allocation(void **state)
{
    static const char *const dirs[] = {FIXTURES "/good", FIXTURES "/v1abi"};
    plugins *p;
    char *err = NULL;
    assert_int_equal(plugins_load(dirs, 2, NULL, &p, &err), 0);
    cJSON *list = plugins_describe(p);
    char *want = cJSON_PrintUnformatted(list);
    cJSON_Delete(list);
    plugins_free(p);

    long complete = 0, incomplete = 0;
    for (long n = 1; n < 1000 && !complete; n++) {
        p = NULL;
        err = NULL;
        alloc_fail_after(n);
        int rc = plugins_load(dirs, 2, NULL, &p, &err);
        alloc_fail_after(0);
        if (rc) {
            assert_null(p);
            obligo_free(err);
            continue;
        }
        list = plugins_describe(p);
        char *got = cJSON_PrintUnformatted(list);
        if (strcmp(got, want) == 0)
            complete = n;
        else if (!incomplete) {
            incomplete = n;
            print_error("allocation %ld failed and the load succeeded with %s\n", n, got);
        }
        cJSON_free(got);
        cJSON_Delete(list);
        plugins_free(p);
    }
    cJSON_free(want);
    assert_int_not_equal(complete, 0);
    if (incomplete)
        fail_msg("allocation %ld failed, yet the load succeeded without all its plugins",
                 incomplete);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_loads_and_describes_itself),
        cmocka_unit_test(no_plugins_is_an_empty_registry),
        cmocka_unit_test(another_major_is_refused),
        cmocka_unit_test(a_newer_minor_is_refused),
        cmocka_unit_test(a_short_struct_is_refused),
        cmocka_unit_test(a_missing_entry_point_is_refused),
        cmocka_unit_test(a_failing_init_is_refused),
        cmocka_unit_test(a_failed_load_leaves_nothing),
        cmocka_unit_test(a_refusal_in_any_directory_stops_the_load),
        cmocka_unit_test(the_same_name_twice_is_refused),
        cmocka_unit_test(a_v1_plugin_loads_in_this_host),
        cmocka_unit_test(registrations_are_copied_by_their_struct_size),
#ifdef OBLIGO_TEST_NEXT_ABI
        cmocka_unit_test(a_v1_plugin_gets_defaults_for_fields_added_later),
#endif
        cmocka_unit_test(a_short_registration_refuses_the_plugin),
        cmocka_unit_test(configuration_is_checked_against_the_schema),
        cmocka_unit_test(configuration_for_an_absent_plugin_is_refused),
        cmocka_unit_test(unconfigured_plugins_are_listed_as_such),
        cmocka_unit_test(the_default_dir_is_next_to_the_binary),
        cmocka_unit_test(out_of_memory_at_any_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
