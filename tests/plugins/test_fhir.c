/*
 * test_fhir.c — the FHIR AuditEvent input plugin (plugins/fhir/fhir.c),
 * loaded the way the engine loads it: dlopen the built fhir.so, call
 * obligo_plugin_entry, init it with a host table written here, and run the
 * registered adapter's convert on the fixtures in tests/fixtures/fhir/ and on
 * variants of them. Checks every mapped field of the emitted CloudEvents,
 * that a bad resource anywhere in a Bundle emits nothing, the error paths
 * and the OperationOutcome, and that all memory handed over is freed.
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "obligo/plugin.h"

/* The build defines these for every test; the fallbacks serve a build
 * from an older CMakeLists.txt. */
#ifndef OBLIGO_PLUGIN_DIR
#define OBLIGO_PLUGIN_DIR "build/plugins"
#endif
#ifndef OBLIGO_SOURCE_DIR
#define OBLIGO_SOURCE_DIR "."
#endif

#define MAX_EVENTS 16

/* ---- a fake host ----------------------------------------------------------- */

static long live_allocations;                  /* api->alloc minus api->free */
static const obligo_input_adapter *registered; /* what init registered */
static int adapters_registered;

static void *fake_alloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p)
        live_allocations++;
    return p;
}

static void fake_free(void *p)
{
    if (p)
        live_allocations--;
    free(p);
}

static void fake_log(obligo_host *host, int level, const char *message)
{
    (void)host;
    (void)level;
    (void)message;
}

static int fake_register_event_type(obligo_host *host, const obligo_event_type *type)
{
    return 0;
}

static int fake_register_obligation_kind(obligo_host *host, const obligo_obligation_kind *kind)
{
    return 0;
}

static int fake_register_rule_function(obligo_host *host, const obligo_rule_function *fn)
{
    return 0;
}

static int fake_register_alert_sink(obligo_host *host, const obligo_alert_sink *sink)
{
    return 0;
}

static int fake_register_input_adapter(obligo_host *host, const obligo_input_adapter *adapter)
{
    registered = adapter;
    adapters_registered++;
    return 0;
}

static const obligo_host_api fake_api = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_host_api),
    .alloc = fake_alloc,
    .free = fake_free,
    .log = fake_log,
    .register_event_type = fake_register_event_type,
    .register_obligation_kind = fake_register_obligation_kind,
    .register_rule_function = fake_register_rule_function,
    .register_alert_sink = fake_register_alert_sink,
    .register_input_adapter = fake_register_input_adapter,
};

/* ---- the loaded plugin and one conversion ---------------------------------- */

static void *handle;
static int host_record; /* stands for the host's opaque obligo_host */
static const obligo_plugin *plugin;
static void *plugin_state;

/* The result of the last convert. */
static struct {
    int rc;
    char *error_path, *error, *error_body; /* api->alloc'd by the plugin */
    cJSON *events[MAX_EVENTS];             /* what emit received, parsed */
    int n;
    int refuse; /* emit answers OBLIGO_PLUGIN_ERROR */
} out;

static int record_emit(void *ctx, const char *json, size_t len)
{
    assert_ptr_equal(ctx, &out);
    assert_int_equal(strlen(json), len);
    assert_true(out.n < MAX_EVENTS);
    if (out.refuse)
        return OBLIGO_PLUGIN_ERROR;
    out.events[out.n] = cJSON_ParseWithLength(json, len);
    assert_non_null(out.events[out.n]);
    out.n++;
    return 0;
}

static void clear_out(void)
{
    for (int i = 0; i < out.n; i++)
        cJSON_Delete(out.events[i]);
    fake_free(out.error_path);
    fake_free(out.error);
    fake_free(out.error_body);
    memset(&out, 0, sizeof out);
}

/* Runs convert on text (len bytes). */
static int convert_n(const char *text, size_t len)
{
    clear_out();
    out.rc = registered->convert(plugin_state, text, len, record_emit, &out, &out.error_path,
                                 &out.error, &out.error_body);
    if (out.rc == OBLIGO_PLUGIN_OK) {
        assert_null(out.error_path);
        assert_null(out.error);
        assert_null(out.error_body);
    }
    return out.rc;
}

static int convert(const char *text)
{
    return convert_n(text, strlen(text));
}

static int convert_json(const cJSON *resource)
{
    char *text = cJSON_PrintUnformatted(resource);
    int rc;
    assert_non_null(text);
    rc = convert(text);
    cJSON_free(text);
    return rc;
}

/* tests/fixtures/fhir/NAME as text (caller frees). */
static char *fixture_text(const char *name)
{
    char path[1024];
    FILE *f;
    long n;
    char *text;
    snprintf(path, sizeof path, "%s/tests/fixtures/fhir/%s", OBLIGO_SOURCE_DIR, name);
    f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = malloc((size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    return text;
}

/* tests/fixtures/fhir/NAME parsed, to be changed by a test (caller deletes). */
static cJSON *fixture(const char *name)
{
    char *text = fixture_text(name);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    return j;
}

static int convert_fixture(const char *name)
{
    char *text = fixture_text(name);
    int rc = convert(text);
    free(text);
    return rc;
}

static const char *str(const cJSON *o, const char *name)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
}

static const cJSON *data_of(int i)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(out.events[i], "data");
    assert_true(cJSON_IsObject(d));
    return d;
}

/* The member names of o, comma-separated, in order (for exact-shape
 * checks). */
static const char *keys(const cJSON *o)
{
    static char buf[512];
    const cJSON *m;
    buf[0] = '\0';
    cJSON_ArrayForEach(m, o)
    {
        if (buf[0])
            strcat(buf, ",");
        strcat(buf, m->string);
    }
    return buf;
}

/* Asserts that the last convert failed at path with an issue of type code,
 * emitted nothing, and answered a well-formed OperationOutcome. */
static void assert_rejected(const char *path, const char *code)
{
    cJSON *body, *issue, *expression;
    assert_int_equal(out.rc, OBLIGO_PLUGIN_ERROR);
    assert_int_equal(out.n, 0);
    assert_non_null(out.error_path);
    assert_non_null(out.error);
    assert_non_null(out.error_body);
    assert_string_equal(out.error_path, path);
    assert_true(strlen(out.error) > 10);
    body = cJSON_Parse(out.error_body);
    assert_non_null(body);
    assert_string_equal(keys(body), "resourceType,issue");
    assert_string_equal(str(body, "resourceType"), "OperationOutcome");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(body, "issue")), 1);
    issue = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(body, "issue"), 0);
    assert_string_equal(keys(issue), "severity,code,diagnostics,expression");
    assert_string_equal(str(issue, "severity"), "error");
    assert_string_equal(str(issue, "code"), code);
    assert_string_equal(str(issue, "diagnostics"), out.error);
    expression = cJSON_GetObjectItemCaseSensitive(issue, "expression");
    assert_int_equal(cJSON_GetArraySize(expression), 1);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(expression, 0)), path);
    cJSON_Delete(body);
}

/* ---- set-up ---------------------------------------------------------------- */

static int load_plugin(void **state)
{
    obligo_plugin_entry_fn entry;
    handle = dlopen(OBLIGO_PLUGIN_DIR "/fhir.so", RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return -1;
    }
    entry = (obligo_plugin_entry_fn)dlsym(handle, OBLIGO_PLUGIN_ENTRY_NAME);
    if (!entry)
        return -1;
    plugin = entry();
    return plugin ? 0 : -1;
}

static int unload_plugin(void **state)
{
    if (handle)
        dlclose(handle);
    return 0;
}

static int init_plugin(void **state)
{
    char *error = NULL;
    registered = NULL;
    adapters_registered = 0;
    live_allocations = 0;
    if (plugin->init((obligo_host *)&host_record, &fake_api, "{}", &plugin_state, &error) != 0) {
        fprintf(stderr, "init: %s\n", error ? error : "?");
        fake_free(error);
        return -1;
    }
    return registered ? 0 : -1;
}

static int fini_plugin(void **state)
{
    clear_out();
    plugin->fini(plugin_state);
    plugin_state = NULL;
    /* everything the plugin handed over came from alloc and was freed */
    assert_int_equal(live_allocations, 0);
    return 0;
}

/* ---- tests ----------------------------------------------------------------- */

static void test_describes_itself(void **state)
{
    assert_int_equal(OBLIGO_ABI_MAJOR_OF(plugin->abi_version), OBLIGO_ABI_MAJOR);
    assert_int_equal(plugin->struct_size, sizeof(obligo_plugin));
    assert_string_equal(plugin->name, "fhir");
    assert_null(plugin->config_schema);
    assert_non_null(plugin->fini);
    assert_int_equal(adapters_registered, 1);
    assert_int_equal(registered->abi_version, OBLIGO_ABI_CURRENT);
    assert_int_equal(registered->struct_size, sizeof(obligo_input_adapter));
    assert_string_equal(registered->name, "fhir");
    assert_string_equal(registered->media_type, "application/fhir+json");
    assert_string_equal(registered->http_path, "/v1/fhir/AuditEvent");
    assert_non_null(registered->convert);
}

/* A complete read by a nurse: every field of the event and of data. */
static void test_read_by_nurse(void **state)
{
    const cJSON *d, *user;
    assert_int_equal(convert_fixture("read-nurse.json"), OBLIGO_PLUGIN_OK);
    assert_int_equal(out.n, 1);
    assert_string_equal(keys(out.events[0]), "specversion,id,source,type,time,subject,data");
    assert_string_equal(str(out.events[0], "specversion"), "1.0");
    assert_string_equal(str(out.events[0], "id"), "ae-0001");
    assert_string_equal(str(out.events[0], "source"), "urn:fhir:Device/ecd-1");
    assert_string_equal(str(out.events[0], "type"), "nl.nen7513.access");
    assert_string_equal(str(out.events[0], "time"), "2026-02-02T09:15:00+01:00");
    assert_string_equal(str(out.events[0], "subject"), "c-981");
    d = data_of(0);
    /* no emergency (TREAT is not ETREAT), and no treatment_relation */
    assert_string_equal(keys(d), "user,client_id,action,system,outcome,reason");
    user = cJSON_GetObjectItemCaseSensitive(d, "user");
    assert_string_equal(keys(user), "id,role,name");
    assert_string_equal(str(user, "id"), "u-1042");
    assert_string_equal(str(user, "role"), "nurse");
    assert_string_equal(str(user, "name"), "J. de Vries");
    assert_string_equal(str(d, "client_id"), "c-981");
    assert_string_equal(str(d, "action"), "read");
    assert_string_equal(str(d, "system"), "ecd-1");
    assert_string_equal(str(d, "outcome"), "success");
    assert_string_equal(str(d, "reason"), "Wondzorg volgens zorgplan");
}

static void test_create_update_delete(void **state)
{
    static const char *const codes[] = {"C", "U", "D", "R"};
    static const char *const actions[] = {"create", "update", "delete", "read"};
    cJSON *r = fixture("read-nurse.json");
    for (int i = 0; i < 4; i++) {
        cJSON_ReplaceItemInObjectCaseSensitive(r, "action", cJSON_CreateString(codes[i]));
        assert_int_equal(convert_json(r), OBLIGO_PLUGIN_OK);
        assert_int_equal(out.n, 1);
        assert_string_equal(str(data_of(0), "action"), actions[i]);
    }
    cJSON_Delete(r);
}

/* E with an export subtype; the user by identifier, the role by text, the
 * observer by display, the patient by an absolute, versioned reference. */
static void test_execute_export(void **state)
{
    const cJSON *d, *user;
    assert_int_equal(convert_fixture("export.json"), OBLIGO_PLUGIN_OK);
    assert_int_equal(out.n, 1);
    assert_string_equal(str(out.events[0], "id"), "ae-0002");
    assert_string_equal(str(out.events[0], "source"), "urn:fhir:HiX%20productie");
    assert_string_equal(str(out.events[0], "time"), "2026-02-03T14:02:11.250Z");
    assert_string_equal(str(out.events[0], "subject"), "c-77");
    d = data_of(0);
    assert_string_equal(keys(d), "user,client_id,action,system,outcome");
    user = cJSON_GetObjectItemCaseSensitive(d, "user");
    assert_string_equal(keys(user), "id,role");
    assert_string_equal(str(user, "id"), "900012345");
    assert_string_equal(str(user, "role"), "Huisarts");
    assert_string_equal(str(d, "client_id"), "c-77");
    assert_string_equal(str(d, "action"), "export");
    assert_string_equal(str(d, "system"), "HiX productie");
}

static void test_execute_subtypes(void **state)
{
    static const char *const codes[] = {"search", "search-type", "search-system", "print",
                                        "copy",   "merge",       "export"};
    static const char *const actions[] = {"search", "search", "search", "print",
                                          "copy",   "merge",  "export"};
    cJSON *r = fixture("read-nurse.json"), *subtype;
    cJSON_ReplaceItemInObjectCaseSensitive(r, "action", cJSON_CreateString("E"));
    for (int i = 0; i < 7; i++) {
        subtype = cJSON_CreateArray();
        cJSON_AddItemToArray(subtype, cJSON_CreateObject());
        cJSON_AddStringToObject(cJSON_GetArrayItem(subtype, 0), "code", codes[i]);
        cJSON_ReplaceItemInObjectCaseSensitive(r, "subtype", subtype);
        assert_int_equal(convert_json(r), OBLIGO_PLUGIN_OK);
        assert_string_equal(str(data_of(0), "action"), actions[i]);
    }
    cJSON_Delete(r);
}

/* E whose subtype says nothing Obligo knows ("read" here), or no subtype. */
static void test_execute_unknown_subtype(void **state)
{
    cJSON *r = fixture("read-nurse.json");
    cJSON_ReplaceItemInObjectCaseSensitive(r, "action", cJSON_CreateString("E"));
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.subtype", "value");
    cJSON_DeleteItemFromObjectCaseSensitive(r, "subtype");
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.subtype", "required");
    cJSON_ReplaceItemInObjectCaseSensitive(r, "action", cJSON_CreateString("X"));
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.action", "value");
    cJSON_DeleteItemFromObjectCaseSensitive(r, "action");
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.action", "required");
    cJSON_Delete(r);
}

/* Break-the-glass: ETREAT in purposeOfEvent; its text is the reason. */
static void test_emergency(void **state)
{
    const cJSON *d, *user;
    assert_int_equal(convert_fixture("emergency.json"), OBLIGO_PLUGIN_OK);
    assert_int_equal(out.n, 1);
    assert_string_equal(str(out.events[0], "time"), "2026-02-04T02:47:00-05:00");
    d = data_of(0);
    assert_string_equal(keys(d), "user,client_id,action,system,emergency,reason");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "emergency")));
    assert_string_equal(str(d, "reason"), "Spoedopname, cliënt aanspreekbaar noch bereikbaar");
    user = cJSON_GetObjectItemCaseSensitive(d, "user");
    assert_string_equal(keys(user), "id,name");
    assert_string_equal(str(user, "id"), "pr-55");
    assert_string_equal(str(user, "name"), "Dr. K. Bakker");
    assert_null(cJSON_GetObjectItemCaseSensitive(d, "outcome"));
    assert_null(cJSON_GetObjectItemCaseSensitive(d, "treatment_relation"));
}

/* ETREAT counts only in v3-ActReason; it counts in the requesting agent's
 * purposeOfUse too. */
static void test_emergency_code_system(void **state)
{
    cJSON *r = fixture("emergency.json"), *coding;
    coding = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "purposeOfEvent"), 0), "coding"),
        0);
    cJSON_ReplaceItemInObjectCaseSensitive(coding, "system",
                                           cJSON_CreateString("http://example.org/reasons"));
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_OK);
    assert_null(cJSON_GetObjectItemCaseSensitive(data_of(0), "emergency"));
    cJSON_Delete(r);

    assert_int_equal(
        convert("{\"resourceType\":\"AuditEvent\",\"id\":\"x1\",\"action\":\"R\","
                "\"recorded\":\"2026-02-02T09:15:00Z\",\"agent\":[{\"who\":{\"reference\":"
                "\"Practitioner/u-1\"},\"purposeOfUse\":[{\"coding\":[{\"system\":\"http://"
                "terminology.hl7.org/CodeSystem/v3-ActReason\",\"code\":\"ETREAT\"}]}]}],"
                "\"source\":{\"observer\":{\"reference\":\"Device/ecd-1\"}},"
                "\"entity\":[{\"what\":{\"reference\":\"Patient/c-1\"}}]}"),
        OBLIGO_PLUGIN_OK);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(data_of(0), "emergency")));
}

static void test_outcome(void **state)
{
    static const char *const codes[] = {"4", "8", "12", "0"};
    static const char *const outcomes[] = {"failure", "failure", "failure", "success"};
    cJSON *r = fixture("read-nurse.json");
    for (int i = 0; i < 4; i++) {
        cJSON_ReplaceItemInObjectCaseSensitive(r, "outcome", cJSON_CreateString(codes[i]));
        assert_int_equal(convert_json(r), OBLIGO_PLUGIN_OK);
        assert_string_equal(str(data_of(0), "outcome"), outcomes[i]);
    }
    cJSON_ReplaceItemInObjectCaseSensitive(r, "outcome", cJSON_CreateString("2"));
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.outcome", "value");
    cJSON_ReplaceItemInObjectCaseSensitive(r, "outcome", cJSON_CreateNumber(4));
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.outcome", "invalid");
    cJSON_Delete(r);
}

static void test_bundle_of_three(void **state)
{
    static const char *const actions[] = {"create", "read", "update"};
    char id[16];
    assert_int_equal(convert_fixture("bundle-3.json"), OBLIGO_PLUGIN_OK);
    assert_int_equal(out.n, 3);
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof id, "ae-b%d", i);
        assert_string_equal(str(out.events[i], "id"), id);
        assert_string_equal(str(out.events[i], "source"), "urn:fhir:Device/ecd-1");
        assert_string_equal(str(data_of(i), "action"), actions[i]);
        assert_string_equal(str(data_of(i), "client_id"), "c-981");
    }
}

/* The third entry has no Patient entity: nothing at all is emitted. */
static void test_bundle_missing_patient(void **state)
{
    assert_int_equal(convert_fixture("bundle-missing-patient.json"), OBLIGO_PLUGIN_ERROR);
    assert_rejected("Bundle.entry[2].resource.entity", "required");
    assert_non_null(strstr(out.error, "Patient"));
}

static void test_bundle_errors(void **state)
{
    assert_int_equal(convert("{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":[]}"),
                     OBLIGO_PLUGIN_ERROR);
    assert_rejected("Bundle.entry", "required");
    assert_int_equal(convert("{\"resourceType\":\"Bundle\",\"entry\":[{\"fullUrl\":\"x\"}]}"),
                     OBLIGO_PLUGIN_ERROR);
    assert_rejected("Bundle.entry[0].resource", "required");
    assert_int_equal(convert("{\"resourceType\":\"Bundle\",\"entry\":[7]}"), OBLIGO_PLUGIN_ERROR);
    assert_rejected("Bundle.entry[0]", "invalid");
    assert_int_equal(
        convert("{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{\"resourceType\":"
                "\"Patient\",\"id\":\"c-1\"}}]}"),
        OBLIGO_PLUGIN_ERROR);
    assert_rejected("Bundle.entry[0].resource.resourceType", "value");
}

static void test_missing_recorded(void **state)
{
    cJSON *r = fixture("read-nurse.json");
    cJSON_DeleteItemFromObjectCaseSensitive(r, "recorded");
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.recorded", "required");
    cJSON_Delete(r);
}

static void test_recorded_without_offset(void **state)
{
    static const char *const bad[] = {"2026-02-30T09:15:00Z",      "2026-02-02T24:00:00Z",
                                      "2026-02-02 09:15:00+01:00", "2026-02-02",
                                      "2026-02-02T09:15Z",         "2026-02-02T09:15:00+1:00",
                                      "2026-02-02T09:15:00+15:00", "2026-02-02T09:15:00.Z",
                                      "2026-02-02T09:15:00ZZ"};
    static const char *const good[] = {"2024-02-29T23:59:60Z", "2026-02-02T09:15:00.123456-03:30",
                                       "2026-12-31T00:00:00+14:00"};
    cJSON *r = fixture("read-nurse.json");
    cJSON_ReplaceItemInObjectCaseSensitive(r, "recorded",
                                           cJSON_CreateString("2026-02-02T09:15:00"));
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.recorded", "value");
    assert_non_null(strstr(out.error, "time zone"));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cJSON_ReplaceItemInObjectCaseSensitive(r, "recorded", cJSON_CreateString(bad[i]));
        assert_int_equal(convert_json(r), OBLIGO_PLUGIN_ERROR);
        assert_rejected("AuditEvent.recorded", "value");
    }
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        cJSON_ReplaceItemInObjectCaseSensitive(r, "recorded", cJSON_CreateString(good[i]));
        assert_int_equal(convert_json(r), OBLIGO_PLUGIN_OK);
        assert_string_equal(str(out.events[0], "time"), good[i]);
    }
    cJSON_Delete(r);
}

static void test_not_json(void **state)
{
    assert_int_equal(convert("{\"resourceType\":\"AuditEvent\","), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent", "invalid");
    assert_int_equal(convert("<AuditEvent xmlns=\"http://hl7.org/fhir\"/>"), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent", "invalid");
    assert_int_equal(convert("{} {}"), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent", "invalid");
    assert_int_equal(convert_n("", 0), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent", "invalid");
    assert_int_equal(convert("[]"), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent", "invalid");
    /* the input is read by length, not up to a NUL */
    assert_int_equal(convert_n("{}xyz", 2), OBLIGO_PLUGIN_ERROR);
    assert_rejected("resourceType", "required");
}

static void test_not_an_audit_event(void **state)
{
    assert_int_equal(convert_fixture("patient.json"), OBLIGO_PLUGIN_ERROR);
    assert_rejected("resourceType", "value");
    assert_non_null(strstr(out.error, "Patient"));
    assert_int_equal(convert("{\"resourceType\":7}"), OBLIGO_PLUGIN_ERROR);
    assert_rejected("resourceType", "invalid");
}

/* Each required element, removed in turn, is named. */
static void test_required_elements(void **state)
{
    static const char *const members[] = {"agent", "source", "entity"};
    static const char *const paths[] = {"AuditEvent.agent", "AuditEvent.source",
                                        "AuditEvent.entity"};
    cJSON *r;
    for (int i = 0; i < 3; i++) {
        r = fixture("read-nurse.json");
        cJSON_DeleteItemFromObjectCaseSensitive(r, members[i]);
        assert_int_equal(convert_json(r), OBLIGO_PLUGIN_ERROR);
        assert_rejected(paths[i], "required");
        cJSON_Delete(r);
    }
    r = fixture("read-nurse.json");
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "source"),
                                            "observer");
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.source.observer", "required");
    cJSON_Delete(r);
}

/* The observer becomes the event's source ("urn:fhir:" + it, percent-
 * encoded), which the engine takes up to 1,024 bytes: a longer one is
 * refused here, naming the FHIR element, not later by the engine with a
 * generic error about "source". */
static void test_observer_too_long_for_a_source(void **state)
{
    (void)state;
    char text[1100];
    /* 1,015 characters kept as they are + "urn:fhir:" = 1,024 bytes: fits */
    memset(text, 'a', 1015);
    memcpy(text, "Device/", 7);
    text[1015] = '\0';
    cJSON *r = fixture("read-nurse.json");
    cJSON *observer =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "source"), "observer");
    cJSON_ReplaceItemInObjectCaseSensitive(observer, "reference", cJSON_CreateString(text));
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_OK);
    assert_int_equal(strlen(str(out.events[0], "source")), 1024);
    /* one more byte does not */
    text[1015] = 'a';
    text[1016] = '\0';
    cJSON_ReplaceItemInObjectCaseSensitive(observer, "reference", cJSON_CreateString(text));
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.source.observer.reference", "value");
    /* a display counts as encoded: 400 spaces are 1,200 bytes */
    cJSON_DeleteItemFromObjectCaseSensitive(observer, "reference");
    cJSON_DeleteItemFromObjectCaseSensitive(observer, "display");
    memset(text, ' ', 400);
    text[400] = '\0';
    cJSON_AddStringToObject(observer, "display", text);
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.source.observer.display", "value");
    cJSON_Delete(r);
}

static void test_agent_rules(void **state)
{
    cJSON *r = fixture("read-nurse.json"), *agents, *who;
    agents = cJSON_GetObjectItemCaseSensitive(r, "agent");
    who = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(agents, 1), "who");

    /* the requestor must be a user, not a device */
    cJSON_ReplaceItemInObjectCaseSensitive(who, "reference", cJSON_CreateString("Device/pc-9"));
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.agent[1].who.reference", "value");

    /* ... unless it also has an identifier */
    cJSON_AddItemToObject(who, "identifier", cJSON_CreateObject());
    cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(who, "identifier"), "value", "emp-77");
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_OK);
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(data_of(0), "user"), "id"), "emp-77");

    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetArrayItem(agents, 1), "who");
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.agent[1].who", "required");

    /* no requestor: the first agent is the user */
    cJSON_DeleteItemFromArray(agents, 1);
    who = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(agents, 0), "who");
    cJSON_ReplaceItemInObjectCaseSensitive(who, "reference",
                                           cJSON_CreateString("Practitioner/u-1"));
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_OK);
    assert_string_equal(keys(cJSON_GetObjectItemCaseSensitive(data_of(0), "user")), "id");
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(data_of(0), "user"), "id"), "u-1");
    /* purposeOfEvent's text is the reason when the agent gives none */
    assert_string_equal(str(data_of(0), "reason"), "Behandeling");

    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetArrayItem(agents, 0), "requestor",
                                           cJSON_CreateString("yes"));
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.agent[0].requestor", "invalid");
    cJSON_Delete(r);
}

static void test_entity_rules(void **state)
{
    cJSON *r = fixture("read-nurse.json"), *what;
    what = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "entity"), 1), "what");

    cJSON_ReplaceItemInObjectCaseSensitive(what, "reference", cJSON_CreateString("Patient/"));
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.entity[1].what.reference", "value");

    cJSON_ReplaceItemInObjectCaseSensitive(what, "reference", cJSON_CreateNumber(981));
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.entity[1].what.reference", "invalid");

    /* a logical reference: type Patient with an identifier */
    cJSON_DeleteItemFromObjectCaseSensitive(what, "reference");
    cJSON_AddStringToObject(what, "type", "Patient");
    cJSON_AddItemToObject(what, "identifier", cJSON_CreateObject());
    cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(what, "identifier"), "value",
                            "bsn-123");
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_OK);
    assert_string_equal(str(data_of(0), "client_id"), "bsn-123");
    assert_string_equal(str(out.events[0], "subject"), "bsn-123");
    cJSON_Delete(r);
}

/* When the host refuses an event, convert fails and says where. */
static void test_emit_refused(void **state)
{
    char *text = fixture_text("bundle-3.json");
    clear_out();
    out.refuse = 1;
    out.rc = registered->convert(plugin_state, text, strlen(text), record_emit, &out,
                                 &out.error_path, &out.error, &out.error_body);
    free(text);
    assert_rejected("Bundle.entry[0].resource", "exception");
}

/* ---- ids derived from the content, our extensions -------------------------- */

/* A resource without an id (a FHIR create) gets the SHA-256 of its
 * canonical JSON: members sorted by name at every depth, no blanks (the
 * value below is Python's json.dumps(sort_keys=True, separators=(',',
 * ':'), ensure_ascii=False) of the fixture without its id, hashed). The
 * same content in another member order is the same id; any change is
 * another; an id given is kept. */
static void test_id_derived_from_content(void **state)
{
    static const char want[] = "562f219c5d95d9419f405916a5e6fcc6bb3c62b2917fbee3403b0ab4becb0ec0";
    cJSON *r = fixture("read-nurse.json"), *reordered, *m;
    char first[80];
    cJSON_DeleteItemFromObjectCaseSensitive(r, "id");
    assert_int_equal(convert_json(r), OBLIGO_PLUGIN_OK);
    assert_string_equal(str(out.events[0], "id"), want);
    snprintf(first, sizeof first, "%s", str(out.events[0], "id"));
    /* the members of the root and of source in reverse order */
    reordered = cJSON_CreateObject();
    while ((m = cJSON_GetArrayItem(r, cJSON_GetArraySize(r) - 1)) != NULL) {
        cJSON_DetachItemViaPointer(r, m);
        cJSON_AddItemToObject(reordered, m->string, m);
    }
    m = cJSON_DetachItemFromObjectCaseSensitive(reordered, "source");
    cJSON_AddItemToObject(reordered, "source", cJSON_CreateObject());
    while (cJSON_GetArraySize(m)) {
        cJSON *c = cJSON_GetArrayItem(m, cJSON_GetArraySize(m) - 1);
        cJSON_DetachItemViaPointer(m, c);
        cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(reordered, "source"), c->string, c);
    }
    cJSON_Delete(m);
    assert_int_equal(convert_json(reordered), OBLIGO_PLUGIN_OK);
    assert_string_equal(str(out.events[0], "id"), first);
    /* any change of content is another id */
    cJSON_ReplaceItemInObjectCaseSensitive(reordered, "recorded",
                                           cJSON_CreateString("2026-02-02T09:15:01+01:00"));
    assert_int_equal(convert_json(reordered), OBLIGO_PLUGIN_OK);
    assert_string_not_equal(str(out.events[0], "id"), first);
    assert_int_equal(strlen(str(out.events[0], "id")), 64);
    /* an id given is the id */
    cJSON_AddStringToObject(reordered, "id", "ae-given");
    assert_int_equal(convert_json(reordered), OBLIGO_PLUGIN_OK);
    assert_string_equal(str(out.events[0], "id"), "ae-given");
    cJSON_Delete(reordered);
    cJSON_Delete(r);
}

/* A Bundle whose entries carry only fullUrl urn:uuid:... and no id: each
 * entry's id is derived from its resource. */
static void test_bundle_without_ids(void **state)
{
    cJSON *b = fixture("bundle-3.json"), *entry;
    char ids[3][80];
    cJSON_ArrayForEach(entry, cJSON_GetObjectItemCaseSensitive(b, "entry"))
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(entry, "resource"),
                                                "id");
    assert_int_equal(convert_json(b), OBLIGO_PLUGIN_OK);
    assert_int_equal(out.n, 3);
    for (int i = 0; i < 3; i++) {
        snprintf(ids[i], sizeof ids[i], "%s", str(out.events[i], "id"));
        assert_int_equal(strlen(ids[i]), 64);
    }
    assert_string_not_equal(ids[0], ids[1]);
    assert_string_not_equal(ids[1], ids[2]);
    cJSON_Delete(b);
}

#define X_BASE "https://obligo.nl/fhir/StructureDefinition/"

/* An AuditEvent with extensions (JSON members) on the root, the
 * requesting agent and the Patient entity, each "" or ",\"extension\":[...]". */
static int convert_with(const char *root, const char *agent, const char *entity)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"resourceType\":\"AuditEvent\",\"id\":\"x1\",\"action\":\"R\","
             "\"recorded\":\"2026-02-02T09:15:00Z\"%s,\"agent\":[{\"who\":{\"reference\":"
             "\"Device/ecd-1\"}},{\"who\":{\"reference\":\"Practitioner/u-1\"},"
             "\"requestor\":true%s}],\"source\":{\"observer\":{\"reference\":\"Device/ecd-1\"}},"
             "\"entity\":[{\"what\":{\"reference\":\"DocumentReference/d-1\"}},"
             "{\"what\":{\"reference\":\"Patient/c-1\"}%s}]}",
             root, agent, entity);
    return convert(text);
}

/* treatment-relation, authentication and vip (and on-behalf-of) become
 * the fields the NEN 7513 rules read; the requesting agent's say more
 * than the AuditEvent's; extensions of others are ignored. */
static void test_extensions(void **state)
{
    const cJSON *d;
    assert_int_equal(
        convert_with(",\"extension\":[{\"url\":\"http://example.org/x\",\"valueString\":\"y\"},"
                     "{\"url\":\"" X_BASE "treatment-relation\",\"valueBoolean\":true},"
                     "{\"url\":\"" X_BASE "authentication\",\"valueCode\":\"2fa\"},"
                     "{\"url\":\"" X_BASE "vip\",\"valueBoolean\":false}]",
                     ",\"extension\":[{\"url\":\"" X_BASE "treatment-relation\","
                     "\"valueBoolean\":false},{\"url\":\"" X_BASE "authentication\","
                     "\"valueCode\":\"password\"},{\"url\":\"" X_BASE "on-behalf-of\","
                     "\"valueReference\":{\"reference\":\"Practitioner/u-9\"}}]",
                     ",\"extension\":[{\"url\":\"" X_BASE "vip\",\"valueBoolean\":true}]"),
        OBLIGO_PLUGIN_OK);
    d = data_of(0);
    assert_string_equal(keys(d), "user,client_id,action,system,on_behalf_of,treatment_relation,"
                                 "authentication,vip");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(d, "treatment_relation")));
    assert_string_equal(str(d, "authentication"), "password");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "vip")));
    assert_string_equal(str(d, "on_behalf_of"), "u-9");

    /* on the AuditEvent alone */
    assert_int_equal(convert_with(",\"extension\":[{\"url\":\"" X_BASE "treatment-relation\","
                                  "\"valueBoolean\":true},{\"url\":\"" X_BASE "authentication\","
                                  "\"valueCode\":\"uzi\"},{\"url\":\"" X_BASE "vip\","
                                  "\"valueBoolean\":true},{\"url\":\"" X_BASE "on-behalf-of\","
                                  "\"valueString\":\"u-8\"}]",
                                  "", ""),
                     OBLIGO_PLUGIN_OK);
    d = data_of(0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "treatment_relation")));
    assert_string_equal(str(d, "authentication"), "uzi");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "vip")));
    assert_string_equal(str(d, "on_behalf_of"), "u-8");

    /* none: none of the fields */
    assert_int_equal(convert_with("", "", ""), OBLIGO_PLUGIN_OK);
    assert_string_equal(keys(data_of(0)), "user,client_id,action,system");
}

/* Ours in the wrong place, with a name we do not define, or a wrong value:
 * refused, naming the element. */
static void test_extension_errors(void **state)
{
    assert_int_equal(
        convert_with("", ",\"extension\":[{\"url\":\"" X_BASE "vip\",\"valueBoolean\":true}]", ""),
        OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.agent[1].extension[0]", "structure");
    assert_int_equal(convert_with("", "",
                                  ",\"extension\":[{\"url\":\"" X_BASE "authentication\","
                                  "\"valueCode\":\"2fa\"}]"),
                     OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.entity[1].extension[0]", "structure");
    assert_int_equal(convert_with(",\"extension\":[{\"url\":\"" X_BASE "treatment\","
                                  "\"valueBoolean\":true}]",
                                  "", ""),
                     OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.extension[0].url", "value");
    assert_int_equal(convert_with("",
                                  ",\"extension\":[{\"url\":\"http://example.org/x\"},"
                                  "{\"url\":\"" X_BASE "authentication\",\"valueCode\":\"sms\"}]",
                                  ""),
                     OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.agent[1].extension[1].valueCode", "code-invalid");
    assert_int_equal(convert_with("", "",
                                  ",\"extension\":[{\"url\":\"" X_BASE "vip\","
                                  "\"valueBoolean\":\"true\"}]"),
                     OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.entity[1].extension[0].valueBoolean", "invalid");
    assert_int_equal(
        convert_with(",\"extension\":[{\"url\":\"" X_BASE "treatment-relation\"}]", "", ""),
        OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.extension[0].valueBoolean", "required");
    assert_int_equal(convert_with(",\"extension\":[{\"valueBoolean\":true}]", "", ""),
                     OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.extension[0].url", "required");
    assert_int_equal(convert_with(",\"extension\":{}", "", ""), OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.extension", "invalid");
    assert_int_equal(convert_with("",
                                  ",\"extension\":[{\"url\":\"" X_BASE "on-behalf-of\","
                                  "\"valueReference\":{\"reference\":\"Patient/c-1\"}}]",
                                  ""),
                     OBLIGO_PLUGIN_ERROR);
    assert_rejected("AuditEvent.agent[1].extension[0].valueReference.reference", "value");
}

/* BTG (break the glass) of v3-ActReason is an emergency too, in
 * purposeOfEvent as in the agent's purposeOfUse. */
static void test_break_the_glass(void **state)
{
    assert_int_equal(convert_with(",\"purposeOfEvent\":[{\"coding\":[{\"system\":\"http://"
                                  "terminology.hl7.org/CodeSystem/v3-ActReason\",\"code\":\"BTG\"}]"
                                  "}]",
                                  "", ""),
                     OBLIGO_PLUGIN_OK);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(data_of(0), "emergency")));
    assert_null(cJSON_GetObjectItemCaseSensitive(data_of(0), "reason"));
    assert_int_equal(convert_with("", "", ""), OBLIGO_PLUGIN_OK);
    assert_null(cJSON_GetObjectItemCaseSensitive(data_of(0), "emergency"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_describes_itself, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_read_by_nurse, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_create_update_delete, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_execute_export, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_execute_subtypes, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_execute_unknown_subtype, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_emergency, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_emergency_code_system, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_outcome, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_bundle_of_three, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_bundle_missing_patient, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_bundle_errors, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_missing_recorded, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_recorded_without_offset, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_not_json, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_not_an_audit_event, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_required_elements, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_observer_too_long_for_a_source, init_plugin,
                                        fini_plugin),
        cmocka_unit_test_setup_teardown(test_agent_rules, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_entity_rules, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_emit_refused, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_id_derived_from_content, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_bundle_without_ids, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_extensions, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_extension_errors, init_plugin, fini_plugin),
        cmocka_unit_test_setup_teardown(test_break_the_glass, init_plugin, fini_plugin),
    };
    return cmocka_run_group_tests_name("fhir", tests, load_plugin, unload_plugin);
}
