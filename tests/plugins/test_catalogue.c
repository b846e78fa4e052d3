/*
 * test_catalogue.c — unit tests for the v1 event catalogue (DESIGN §3) as
 * the six regulation plugins (plugins/avg, nen7513, wgbo, ict, igj, cbw) and
 * Obligo's own (plugins/obligo)
 * register it, checked by engine/validate.c.
 *
 * The plugins are tested as the engine will use them, as shared objects:
 * each defines the same entry point, so their sources cannot be linked into
 * one program. The test dlopens every built plugin from OBLIGO_PLUGIN_DIR
 * and calls its init with a small host table of its own that collects the
 * registered event types. It does not use the engine's loader (plugins.c):
 * what is under test here is the plugins' descriptions and schemas, not
 * the loading. Depends on the built plugins, validate.c, clock.c, alloc.c
 * and error.c; run under ASan/UBSan, so every result is cleared, every
 * message freed and every plugin closed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alloc.h"
#include "error.h"
#include "obligo/plugin.h"
#include "validate.h"

/* ---- a host of our own ---- */

#define MAX_TYPES 64

/* What one init registered; handed to init as its obligo_host. */
typedef struct test_host {
    const char *prefix; /* every type must start with it, e.g. "nl.avg." */
    const obligo_event_type *types[MAX_TYPES];
    int ntypes;
    int fail_at;     /* refuse the Nth registration (1-based); 0: never */
    int calls;       /* registrations asked for */
    int other_calls; /* registrations of anything but event types */
} test_host;

static void *host_alloc(size_t size)
{
    return obligo_malloc(size);
}

static void host_free(void *ptr)
{
    obligo_free(ptr);
}

static void host_log(obligo_host *host, int level, const char *message)
{
    (void)host;
    (void)level;
    (void)message;
}

/* Takes a type as the engine's registry would, refusing what it would
 * refuse: a wrong version or size, a duplicate name. The checks the
 * catalogue's shape needs (namespace, description) are asserted. */
static int test_register_event_type(obligo_host *host, const obligo_event_type *type)
{
    test_host *h = (test_host *)host;
    h->calls++;
    if (h->fail_at && h->calls == h->fail_at)
        return OBLIGO_PLUGIN_ERROR;
    assert_int_equal(type->abi_version, OBLIGO_ABI_CURRENT);
    assert_int_equal(type->struct_size, sizeof(obligo_event_type));
    assert_non_null(type->type);
    if (strncmp(type->type, h->prefix, strlen(h->prefix)) != 0)
        fail_msg("%s is outside the plugin's namespace %s", type->type, h->prefix);
    assert_non_null(type->data);
    assert_non_null(type->description);
    assert_true(strlen(type->description) > 10);
    assert_null(strchr(type->description, '\n')); /* one line */
    for (int i = 0; i < h->ntypes; i++)
        if (strcmp(h->types[i]->type, type->type) == 0)
            return OBLIGO_PLUGIN_ERROR;
    assert_true(h->ntypes < MAX_TYPES);
    h->types[h->ntypes++] = type;
    return OBLIGO_PLUGIN_OK;
}

static int test_register_other(obligo_host *host)
{
    ((test_host *)host)->other_calls++;
    return OBLIGO_PLUGIN_ERROR;
}

static int test_register_kind(obligo_host *host, const obligo_obligation_kind *kind)
{
    (void)kind;
    return test_register_other(host);
}

static int test_register_function(obligo_host *host, const obligo_rule_function *fn)
{
    (void)fn;
    return test_register_other(host);
}

static int test_register_sink(obligo_host *host, const obligo_alert_sink *sink)
{
    (void)sink;
    return test_register_other(host);
}

static int test_register_adapter(obligo_host *host, const obligo_input_adapter *adapter)
{
    (void)adapter;
    return test_register_other(host);
}

static const obligo_host_api test_api = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_host_api),
    .alloc = host_alloc,
    .free = host_free,
    .log = host_log,
    .register_event_type = test_register_event_type,
    .register_obligation_kind = test_register_kind,
    .register_rule_function = test_register_function,
    .register_alert_sink = test_register_sink,
    .register_input_adapter = test_register_adapter,
};

/* ---- the seven plugins ---- */

static const struct {
    const char *name;
    const char *prefix;
    const char *regulation; /* a word its description must contain */
    int ntypes;
} plugin_list[] = {
    {"avg", "nl.avg.", "AVG", 9},          {"nen7513", "nl.nen7513.", "NEN 7513", 3},
    {"wgbo", "nl.wgbo.", "WGBO", 2},       {"ict", "nl.ict.", "ICT", 8},
    {"igj", "nl.igj.", "IGJ", 2},          {"cbw", "nl.cbw.", "Cyberbeveiligingswet", 2},
    {"obligo", "nl.obligo.", "Obligo", 1},
};
#define N_PLUGINS (sizeof plugin_list / sizeof plugin_list[0])

static void *handles[N_PLUGINS];
static const obligo_plugin *descs[N_PLUGINS];
static test_host hosts[N_PLUGINS];

/* The event types of all seven, for validate_event. */
static const obligo_event_type *catalogue_lookup(const void *ud, const char *type)
{
    (void)ud;
    for (size_t p = 0; p < N_PLUGINS; p++)
        for (int i = 0; i < hosts[p].ntypes; i++)
            if (strcmp(hosts[p].types[i]->type, type) == 0)
                return hosts[p].types[i];
    return NULL;
}

static const validate_catalogue catalogue = {catalogue_lookup, NULL, NULL};

/* dlopens every plugin and runs its init against test_api. */
static int setup_plugins(void **state)
{
    (void)state;
    for (size_t p = 0; p < N_PLUGINS; p++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s.so", OBLIGO_PLUGIN_DIR, plugin_list[p].name);
        handles[p] = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!handles[p]) {
            fprintf(stderr, "cannot open %s: %s\n", path, dlerror());
            return -1;
        }
        obligo_plugin_entry_fn entry =
            (obligo_plugin_entry_fn)dlsym(handles[p], OBLIGO_PLUGIN_ENTRY_NAME);
        if (!entry) {
            fprintf(stderr, "%s has no %s\n", path, OBLIGO_PLUGIN_ENTRY_NAME);
            return -1;
        }
        descs[p] = entry();
        hosts[p] = (test_host){.prefix = plugin_list[p].prefix};
        void *pstate = (void *)&hosts[p];
        char *error = NULL;
        int rc = descs[p]->init((obligo_host *)&hosts[p], &test_api, "{}", &pstate, &error);
        if (rc != OBLIGO_PLUGIN_OK) {
            fprintf(stderr, "%s: init failed: %s\n", path, error ? error : "(no message)");
            obligo_free(error);
            return -1;
        }
    }
    return 0;
}

static int teardown_plugins(void **state)
{
    (void)state;
    for (size_t p = 0; p < N_PLUGINS; p++) {
        if (descs[p] && descs[p]->fini)
            descs[p]->fini(NULL);
        if (handles[p])
            dlclose(handles[p]);
        handles[p] = NULL;
        descs[p] = NULL;
    }
    return 0;
}

static void test_descriptions(void **state)
{
    (void)state;
    for (size_t p = 0; p < N_PLUGINS; p++) {
        const obligo_plugin *d = descs[p];
        assert_int_equal(d->abi_version, OBLIGO_ABI_CURRENT);
        assert_int_equal(d->struct_size, sizeof(obligo_plugin));
        assert_string_equal(d->name, plugin_list[p].name);
        assert_string_equal(d->version, "1.0.0");
        assert_non_null(d->description);
        if (!strstr(d->description, plugin_list[p].regulation))
            fail_msg("%s's description \"%s\" does not name %s", d->name, d->description,
                     plugin_list[p].regulation);
        assert_null(d->config_schema);
        assert_non_null(d->init);
        assert_null(d->fini);
        /* The entry point hands out the same static description each time. */
        obligo_plugin_entry_fn entry =
            (obligo_plugin_entry_fn)dlsym(handles[p], OBLIGO_PLUGIN_ENTRY_NAME);
        assert_ptr_equal(entry(), d);
    }
}

static void test_registrations(void **state)
{
    (void)state;
    int total = 0;
    for (size_t p = 0; p < N_PLUGINS; p++) {
        assert_int_equal(hosts[p].ntypes, plugin_list[p].ntypes);
        /* Event types only: no obligation kinds, functions, sinks or
         * adapters (the rules folders hold the duties). */
        assert_int_equal(hosts[p].other_calls, 0);
        total += hosts[p].ntypes;
    }
    assert_int_equal(total, 27); /* the whole v1 catalogue */
}

static void test_plugin_exports_only_its_entry(void **state)
{
    (void)state;
    /* Plugins are built with hidden visibility: their tables and helpers do
     * not leak into the engine's symbol space. */
    for (size_t p = 0; p < N_PLUGINS; p++) {
        char sym[64];
        snprintf(sym, sizeof sym, "%s_init", plugin_list[p].name);
        assert_null(dlsym(handles[p], sym));
        snprintf(sym, sizeof sym, "%s_types", plugin_list[p].name);
        assert_null(dlsym(handles[p], sym));
    }
}

static void test_init_failure(void **state)
{
    (void)state;
    for (size_t p = 0; p < N_PLUGINS; p++) {
        /* A refused registration, first or last, fails init and names the
         * type the host refused. */
        int where[] = {1, plugin_list[p].ntypes};
        for (size_t w = 0; w < 2; w++) {
            test_host h = {.prefix = plugin_list[p].prefix, .fail_at = where[w]};
            void *pstate = NULL;
            char *error = NULL;
            int rc = descs[p]->init((obligo_host *)&h, &test_api, "{}", &pstate, &error);
            assert_int_equal(rc, OBLIGO_PLUGIN_ERROR);
            assert_int_equal(h.calls, where[w]);
            assert_non_null(error);
            assert_non_null(strstr(error, "could not register event type nl."));
            assert_non_null(strstr(error, hosts[p].types[where[w] - 1]->type));
            obligo_free(error);
        }
        /* Out of memory for the message: still a failure, without one. */
        test_host h = {.prefix = plugin_list[p].prefix, .fail_at = 1};
        void *pstate = NULL;
        char *error = NULL;
        alloc_fail_after(1);
        int rc = descs[p]->init((obligo_host *)&h, &test_api, "{}", &pstate, &error);
        alloc_fail_after(0);
        assert_int_equal(rc, OBLIGO_PLUGIN_ERROR);
        assert_null(error);
        /* A host table too short to have register_event_type. */
        obligo_host_api short_api = test_api;
        short_api.struct_size = (uint32_t)offsetof(obligo_host_api, register_event_type);
        h = (test_host){.prefix = plugin_list[p].prefix};
        rc = descs[p]->init((obligo_host *)&h, &short_api, "{}", &pstate, &error);
        assert_int_equal(rc, OBLIGO_PLUGIN_ERROR);
        assert_int_equal(h.calls, 0);
        assert_non_null(error);
        obligo_free(error);
    }
}

/* ---- the catalogue's schemas ---- */

#define ENVELOPE                                                                                   \
    "\"specversion\":\"1.0\",\"id\":\"evt-1\",\"source\":\"urn:ecd:test:praktijk-1\","             \
    "\"time\":\"2026-02-02T09:15:00+01:00\""

/* A complete event of the given type around data (JSON text). The caller
 * frees the text. */
static char *test_event(const char *type, const char *data)
{
    size_t n = strlen(type) + strlen(data) + 256;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "{" ENVELOPE ",\"type\":\"%s\",\"data\":%s}", type, data);
    return s;
}

/* Validates an event of type around data against the plugins' catalogue,
 * unknown types refused: field NULL means it must pass; otherwise it must
 * be rejected naming exactly that field and, when message is given, with
 * exactly that message. */
static void test_check_event(const char *type, const char *data, const char *field,
                             const char *message, const char *file, int line)
{
    char *text = test_event(type, data);
    cJSON *event = cJSON_Parse(text);
    free(text);
    _assert_true(event != NULL, "test JSON parses", file, line);
    validate_result res = {NULL, NULL};
    int rc = validate_event(event, &catalogue, 0, &res);
    if (!field) {
        if (rc != 0)
            print_error("unexpected rejection: %s: %s\n", res.field ? res.field : "(null)",
                        res.message ? res.message : "(null)");
        _assert_int_equal(rc, 0, file, line);
    } else {
        if (rc == 0)
            print_error("unexpected acceptance, wanted field %s\n", field);
        _assert_int_equal(rc, OBLIGO_EINVAL, file, line);
        _assert_string_equal(res.field, field, file, line);
        if (message)
            _assert_string_equal(res.message, message, file, line);
    }
    validate_result_clear(&res);
    cJSON_Delete(event);
}

#define OK_DATA(type, data) test_check_event((type), (data), NULL, NULL, __FILE__, __LINE__)
#define BAD_DATA(type, data, field)                                                                \
    test_check_event((type), (data), (field), NULL, __FILE__, __LINE__)
#define BAD_DATA_MSG(type, data, field, msg)                                                       \
    test_check_event((type), (data), (field), (msg), __FILE__, __LINE__)

/* The smallest valid data of every catalogue type (DESIGN §3): only the
 * required fields; and the field empty data is missing first. */
static const struct {
    const char *type;
    const char *data;
    const char *first_required;
} minimal[] = {
    {"nl.avg.breach.reported",
     "{\"breach_id\":\"B-1\",\"aware_at\":\"2026-02-02T09:00:00+01:00\",\"description\":\"x\"}",
     "data.breach_id"},
    {"nl.avg.breach.assessed",
     "{\"breach_id\":\"B-1\",\"risk\":\"high\",\"rationale\":\"health data\"}", "data.breach_id"},
    {"nl.avg.breach.notified",
     "{\"breach_id\":\"B-1\",\"reference\":\"AP-1\",\"notified_at\":\"2026-02-03T10:00:00Z\"}",
     "data.breach_id"},
    {"nl.avg.breach.withdrawn", "{\"breach_id\":\"B-1\",\"rationale\":\"false alarm\"}",
     "data.breach_id"},
    {"nl.avg.breach.subjects_informed",
     "{\"breach_id\":\"B-1\",\"informed_at\":\"2026-02-04T10:00:00+01:00\"}", "data.breach_id"},
    {"nl.avg.breach.closed", "{\"breach_id\":\"B-1\",\"measures\":\"laptops encrypted\"}",
     "data.breach_id"},
    {"nl.avg.request.received",
     "{\"request_id\":\"R-1\",\"kind\":\"access\",\"client_id\":\"C-1\",\"received_at\":"
     "\"2026-02-02T09:00:00+01:00\"}",
     "data.request_id"},
    {"nl.avg.request.extended",
     "{\"request_id\":\"R-1\",\"reason\":\"complex\",\"notified_at\":"
     "\"2026-02-10T09:00:00+01:00\"}",
     "data.request_id"},
    {"nl.avg.request.completed",
     "{\"request_id\":\"R-1\",\"completed_at\":\"2026-02-20T09:00:00+01:00\"}", "data.request_id"},
    {"nl.wgbo.record.changed", "{\"client_id\":\"C-1\",\"changed_at\":\"2026-02-02T09:00:00Z\"}",
     "data.client_id"},
    {"nl.wgbo.record.destroyed",
     "{\"client_id\":\"C-1\",\"destroyed_at\":\"2026-02-02T09:00:00Z\"}", "data.client_id"},
    {"nl.nen7513.access",
     "{\"user\":{\"id\":\"u-1\"},\"client_id\":\"C-1\",\"action\":\"read\",\"system\":\"ecd\"}",
     "data.user"},
    {"nl.nen7513.review",
     "{\"period_start\":\"2026-01-01\",\"period_end\":\"2026-01-31\",\"reviewer\":\"FG\"}",
     "data.period_start"},
    {"nl.nen7513.purge", "{\"written_before\":\"2021-01-01\"}", "data.written_before"},
    {"nl.obligo.alert.acknowledged",
     "{\"alert_id\":\"alr_1\",\"by\":\"A. Jansen\",\"note\":\"bekeken\"}", "data.alert_id"},
    {"nl.ict.software.installed",
     "{\"device_id\":\"D-1\",\"software\":\"7zip\",\"installed_by\":\"admin\",\"approved\":true}",
     "data.device_id"},
    {"nl.ict.device.decommissioned",
     "{\"device_id\":\"D-1\",\"kind\":\"laptop\",\"wipe\":\"crypto_erase\"}", "data.device_id"},
    {"nl.ict.message.sent", "{\"channel\":\"zorgmail\",\"personal_data\":false}", "data.channel"},
    {"nl.ict.cloud.used",
     "{\"service\":\"mail\",\"provider\":\"acme\",\"region\":\"EU\",\"processing_agreement\":"
     "true}",
     "data.service"},
    {"nl.ict.webform.checked", "{\"url\":\"https://example.nl/form\",\"tls\":true}", "data.url"},
    {"nl.ict.backup.completed", "{\"system\":\"ecd\",\"completed_at\":\"2026-02-02T02:00:00Z\"}",
     "data.system"},
    {"nl.ict.wifi.checked", "{\"network\":\"guest\",\"guest\":true,\"reaches_internal\":false}",
     "data.network"},
    {"nl.ict.checklist.reviewed", "{\"meeting_at\":\"2026-02-02T14:00:00+01:00\"}",
     "data.meeting_at"},
    {"nl.igj.ehealth.assessed", "{\"application\":\"app\",\"themes\":{\"governance\":\"pass\"}}",
     "data.application"},
    {"nl.igj.ehealth.live", "{\"application\":\"app\"}", "data.application"},
    {"nl.cbw.incident.detected",
     "{\"incident_id\":\"I-1\",\"aware_at\":\"2026-02-02T09:00:00+01:00\",\"significant\":true}",
     "data.incident_id"},
    {"nl.cbw.incident.reported",
     "{\"incident_id\":\"I-1\",\"stage\":\"early_warning\",\"reported_at\":"
     "\"2026-02-02T20:00:00+01:00\"}",
     "data.incident_id"},
};
#define N_MINIMAL (sizeof minimal / sizeof minimal[0])

static void test_minimal_event_of_every_type_passes(void **state)
{
    (void)state;
    assert_int_equal(N_MINIMAL, 27); /* the whole v1 catalogue */
    for (size_t i = 0; i < N_MINIMAL; i++) {
        OK_DATA(minimal[i].type, minimal[i].data);
        /* The same event with empty data names the first required field. */
        char want[160];
        snprintf(want, sizeof want, "%s is required for %s", minimal[i].first_required,
                 minimal[i].type);
        BAD_DATA_MSG(minimal[i].type, "{}", minimal[i].first_required, want);
    }
}

static void test_every_registered_type_is_in_the_table(void **state)
{
    (void)state;
    /* The other way round: no plugin registers a type the table lacks. */
    for (size_t p = 0; p < N_PLUGINS; p++)
        for (int t = 0; t < hosts[p].ntypes; t++) {
            size_t i = 0;
            while (i < N_MINIMAL && strcmp(minimal[i].type, hosts[p].types[t]->type) != 0)
                i++;
            if (i == N_MINIMAL)
                fail_msg("%s registers %s, which is not in DESIGN §3", plugin_list[p].name,
                         hosts[p].types[t]->type);
        }
}

static void test_full_events_pass(void **state)
{
    (void)state;
    OK_DATA("nl.avg.breach.reported",
            "{\"breach_id\":\"B-1\",\"aware_at\":\"2026-02-02T09:00:00.250+01:00\","
            "\"description\":\"laptop lost\",\"cause\":\"lost_device\",\"personal_data\":\"yes\","
            "\"categories\":[\"health\",\"bsn\",\"contact\",\"financial\",\"login\",\"id_copy\","
            "\"other\"],\"persons_affected\":120,\"records_affected\":0,\"unintelligible\":false,"
            "\"processor\":\"Acme\",\"dedup_key\":\"k\",\"reporter\":{\"name\":\"Jan\",\"role\":"
            "\"nurse\",\"phone\":\"0612345678\"}}");
    OK_DATA(
        "nl.avg.breach.notified",
        "{\"breach_id\":\"B-1\",\"reference\":\"AP-1\",\"notified_at\":\"2026-02-03T10:00:00Z\","
        "\"phase\":\"initial\",\"delay_reasons\":\"weekend\"}");
    OK_DATA("nl.nen7513.access",
            "{\"user\":{\"id\":\"u-1\",\"role\":\"nurse\",\"name\":\"Jan\"},\"client_id\":\"C-1\","
            "\"action\":\"export\",\"system\":\"ecd\",\"outcome\":\"failure\",\"on_behalf_of\":"
            "\"u-2\",\"treatment_relation\":false,\"emergency\":true,\"reason\":\"acute\","
            "\"authentication\":\"2fa\",\"vip\":true}");
    OK_DATA("nl.nen7513.review", "{\"period_start\":\"2026-01-01T00:00:00+01:00\",\"period_end\":"
                                 "\"2026-01-31\",\"reviewer\":\"FG\",\"findings\":[{\"n\":1}]}");
    OK_DATA("nl.nen7513.purge", "{\"written_before\":\"2021-01-01T00:00:00Z\",\"system\":\"ecd\"}");
    OK_DATA("nl.obligo.alert.acknowledged",
            "{\"alert_id\":\"alr_1\",\"kind\":\"nen7513.no_treatment_relation\",\"subject\":"
            "\"C-42\",\"by\":\"A. Jansen (FG)\",\"note\":\"navraag gedaan\"}");
    /* who and why are required: an acknowledgement without them proves nothing */
    BAD_DATA("nl.obligo.alert.acknowledged", "{\"alert_id\":\"alr_1\",\"note\":\"x\"}", "data.by");
    BAD_DATA("nl.obligo.alert.acknowledged", "{\"alert_id\":\"alr_1\",\"by\":\"x\"}", "data.note");
    BAD_DATA("nl.obligo.alert.acknowledged", "{\"alert_id\":7,\"by\":\"x\",\"note\":\"y\"}",
             "data.alert_id");
    OK_DATA("nl.ict.checklist.reviewed",
            "{\"meeting_at\":\"2026-02-02T14:00:00+01:00\",\"attendees\":[\"A\",\"B\"]}");
    OK_DATA("nl.ict.checklist.reviewed",
            "{\"meeting_at\":\"2026-02-02T14:00:00+01:00\",\"attendees\":\"A, B\"}");
    OK_DATA("nl.igj.ehealth.assessed",
            "{\"application\":\"app\",\"themes\":{\"governance\":\"pass\",\"implementation\":"
            "\"partial\",\"client_participation\":\"fail\",\"information_security\":\"pass\","
            "\"chain_cooperation\":\"partial\"}}");
    OK_DATA("nl.avg.request.received",
            "{\"request_id\":\"R-2\",\"kind\":\"record_destruction\",\"client_id\":\"C-1\","
            "\"received_at\":\"2026-02-02T09:00:00+01:00\"}");
    OK_DATA("nl.wgbo.record.destroyed", "{\"client_id\":\"C-1\",\"destroyed_at\":"
                                        "\"2026-02-02T09:00:00Z\",\"basis\":\"client_request\"}");
    /* Members the catalogue does not name pass (forward compatibility). */
    OK_DATA("nl.igj.ehealth.assessed",
            "{\"application\":\"app\",\"themes\":{\"governance\":\"fail\",\"ai\":\"pass\"}}");
}

static void test_nested_user(void **state)
{
    (void)state;
    BAD_DATA_MSG("nl.nen7513.access",
                 "{\"user\":{\"role\":\"nurse\"},\"client_id\":\"C\",\"action\":\"read\","
                 "\"system\":\"ecd\"}",
                 "data.user.id", "data.user.id is required for nl.nen7513.access");
    BAD_DATA("nl.nen7513.access",
             "{\"user\":{\"id\":5},\"client_id\":\"C\",\"action\":\"read\",\"system\":\"ecd\"}",
             "data.user.id");
    BAD_DATA_MSG("nl.nen7513.access",
                 "{\"user\":\"u-1\",\"client_id\":\"C\",\"action\":\"read\",\"system\":\"ecd\"}",
                 "data.user", "data.user must be an object; got a string");
}

static void test_themes(void **state)
{
    (void)state;
    BAD_DATA_MSG("nl.igj.ehealth.assessed",
                 "{\"application\":\"app\",\"themes\":{\"governance\":\"good\"}}",
                 "data.themes.governance",
                 "data.themes.governance must be one of pass, partial, fail; got \"good\"");
    BAD_DATA("nl.igj.ehealth.assessed",
             "{\"application\":\"app\",\"themes\":{\"governance\":\"pass\",\"chain_cooperation\":"
             "1}}",
             "data.themes.chain_cooperation");
    BAD_DATA_MSG("nl.igj.ehealth.assessed", "{\"application\":\"app\",\"themes\":{}}",
                 "data.themes",
                 "data.themes must contain at least one of governance, implementation, "
                 "client_participation, information_security, chain_cooperation");
    BAD_DATA("nl.igj.ehealth.assessed", "{\"application\":\"app\",\"themes\":{\"other\":\"pass\"}}",
             "data.themes");
    BAD_DATA("nl.igj.ehealth.assessed", "{\"application\":\"app\",\"themes\":[\"pass\"]}",
             "data.themes");
}

static void test_subjects_informed(void **state)
{
    (void)state;
    BAD_DATA_MSG("nl.avg.breach.subjects_informed", "{\"breach_id\":\"B\",\"channel\":\"letter\"}",
                 "data.informed_at",
                 "data.informed_at is required for nl.avg.breach.subjects_informed unless "
                 "data.exception is given");
    OK_DATA("nl.avg.breach.subjects_informed",
            "{\"breach_id\":\"B\",\"exception\":\"public_communication\",\"rationale\":\"r\"}");
    OK_DATA("nl.avg.breach.subjects_informed",
            "{\"breach_id\":\"B\",\"informed_at\":\"2026-02-04T10:00:00Z\",\"channel\":\"letter\","
            "\"count\":40}");
    BAD_DATA("nl.avg.breach.subjects_informed", "{\"breach_id\":\"B\",\"exception\":\"none\"}",
             "data.exception");
    BAD_DATA("nl.avg.breach.subjects_informed",
             "{\"breach_id\":\"B\",\"informed_at\":\"2026-02-04\"}", "data.informed_at");
}

static void test_enums(void **state)
{
    (void)state;
    const char *head = "{\"breach_id\":\"B\",\"aware_at\":\"2026-02-02T09:00:00Z\","
                       "\"description\":\"x\",";
    char buf[512];
    snprintf(buf, sizeof buf, "%s\"categories\":[\"health\",\"bsn\",\"dna\"]}", head);
    BAD_DATA_MSG("nl.avg.breach.reported", buf, "data.categories[2]",
                 "data.categories[2] must be one of health, bsn, contact, financial, login, "
                 "id_copy, other; got \"dna\"");
    snprintf(buf, sizeof buf, "%s\"cause\":\"flood\"}", head);
    BAD_DATA_MSG("nl.avg.breach.reported", buf, "data.cause",
                 "data.cause must be one of lost_device, theft, hacking, malware, misdirected, "
                 "employee_error, processor, other; got \"flood\"");
    snprintf(buf, sizeof buf, "%s\"personal_data\":true}", head);
    BAD_DATA("nl.avg.breach.reported", buf, "data.personal_data");
    /* Enums are case-sensitive: the rules compare exact strings. */
    BAD_DATA("nl.avg.breach.assessed",
             "{\"breach_id\":\"B\",\"risk\":\"High\",\"rationale\":\"r\"}", "data.risk");
    BAD_DATA("nl.ict.device.decommissioned",
             "{\"device_id\":\"D\",\"kind\":\"laptop\",\"wipe\":\"shred\"}", "data.wipe");
    BAD_DATA_MSG("nl.ict.message.sent", "{\"channel\":\"fax\",\"personal_data\":true}",
                 "data.channel",
                 "data.channel must be one of zorgmail, siilo, zorgdomein, email, sms, whatsapp, "
                 "other; got \"fax\"");
    BAD_DATA("nl.nen7513.access",
             "{\"user\":{\"id\":\"u\"},\"client_id\":\"C\",\"action\":\"read\",\"system\":\"ecd\","
             "\"authentication\":\"sms\"}",
             "data.authentication");
    BAD_DATA("nl.cbw.incident.reported",
             "{\"incident_id\":\"I\",\"stage\":\"late\",\"reported_at\":\"2026-02-02T09:00:00Z\"}",
             "data.stage");
}

/* The fields of the AP's notification form (all optional): valid with
 * each of them, refused naming the field when one is wrong. */
static void test_ap_form_fields(void **state)
{
    (void)state;
    OK_DATA("nl.avg.breach.reported",
            "{\"breach_id\":\"B-1\",\"aware_at\":\"2026-02-02T09:00:00+01:00\","
            "\"description\":\"x\",\"reporter\":{\"name\":\"Jan\",\"email\":\"fg@p.nl\"},"
            "\"started_at\":\"2026-02-01T22:00:00+01:00\",\"ended_at\":\"2026-02-02T08:00:00Z\","
            "\"ongoing\":false,\"groups\":[\"clients\",\"employees\",\"minors\",\"vulnerable\","
            "\"relatives\",\"other\"],\"consequences\":[\"stigmatisation_exclusion\","
            "\"damage_to_health\",\"identity_fraud\",\"spam_phishing\",\"financial_loss\","
            "\"reputational_damage\",\"other\"],\"consequences_note\":\"n\","
            "\"measures_taken\":\"t\",\"measures_planned\":\"p\",\"cross_border\":\"unknown\","
            "\"countries\":[\"BE\"],\"subjects_message\":\"m\"}");
    OK_DATA("nl.avg.breach.assessed",
            "{\"breach_id\":\"B-1\",\"risk\":\"high\",\"rationale\":\"r\",\"records_affected\":3,"
            "\"groups\":[\"minors\"],\"consequences\":[\"financial_loss\"],"
            "\"consequences_note\":\"n\",\"measures_planned\":\"p\",\"cross_border\":\"yes\","
            "\"countries\":[\"DE\",\"BE\"]}");
    OK_DATA("nl.avg.breach.subjects_informed",
            "{\"breach_id\":\"B-1\",\"informed_at\":\"2026-02-04T10:00:00+01:00\","
            "\"message\":\"Uw gegevens ...\"}");
    const char *head = "{\"breach_id\":\"B\",\"aware_at\":\"2026-02-02T09:00:00Z\","
                       "\"description\":\"x\",";
    char buf[512];
    snprintf(buf, sizeof buf, "%s\"groups\":[\"clients\",\"pets\"]}", head);
    BAD_DATA_MSG("nl.avg.breach.reported", buf, "data.groups[1]",
                 "data.groups[1] must be one of clients, employees, minors, vulnerable, "
                 "relatives, other; got \"pets\"");
    snprintf(buf, sizeof buf, "%s\"consequences\":[\"boredom\"]}", head);
    BAD_DATA("nl.avg.breach.reported", buf, "data.consequences[0]");
    snprintf(buf, sizeof buf, "%s\"cross_border\":\"maybe\"}", head);
    BAD_DATA("nl.avg.breach.reported", buf, "data.cross_border");
    snprintf(buf, sizeof buf, "%s\"countries\":[\"BE\",7]}", head);
    BAD_DATA("nl.avg.breach.reported", buf, "data.countries[1]");
    snprintf(buf, sizeof buf, "%s\"started_at\":\"yesterday\"}", head);
    BAD_DATA("nl.avg.breach.reported", buf, "data.started_at");
    snprintf(buf, sizeof buf, "%s\"ongoing\":\"yes\"}", head);
    BAD_DATA("nl.avg.breach.reported", buf, "data.ongoing");
    snprintf(buf, sizeof buf, "%s\"reporter\":{\"email\":true}}", head);
    BAD_DATA("nl.avg.breach.reported", buf, "data.reporter.email");
    BAD_DATA("nl.avg.breach.assessed",
             "{\"breach_id\":\"B\",\"risk\":\"high\",\"rationale\":\"r\",\"groups\":\"minors\"}",
             "data.groups");
    BAD_DATA("nl.avg.breach.subjects_informed",
             "{\"breach_id\":\"B\",\"informed_at\":\"2026-02-04T10:00:00Z\",\"message\":1}",
             "data.message");
}

static void test_kinds(void **state)
{
    (void)state;
    BAD_DATA_MSG("nl.ict.webform.checked", "{\"url\":\"u\",\"tls\":\"true\"}", "data.tls",
                 "data.tls must be true or false; got a string");
    BAD_DATA("nl.ict.software.installed",
             "{\"device_id\":\"D\",\"software\":\"s\",\"installed_by\":\"a\"}", "data.approved");
    BAD_DATA("nl.cbw.incident.reported",
             "{\"incident_id\":\"I\",\"reported_at\":\"2026-02-02T09:00:00Z\"}", "data.stage");
    BAD_DATA("nl.ict.backup.completed", "{\"system\":\"ecd\",\"completed_at\":1770000000}",
             "data.completed_at");
    BAD_DATA("nl.wgbo.record.changed", "{\"client_id\":\"C\",\"changed_at\":\"2026-02-02\"}",
             "data.changed_at");
    OK_DATA("nl.nen7513.purge", "{\"written_before\":\"2024-02-29\"}");
    BAD_DATA("nl.nen7513.purge", "{\"written_before\":\"2026-02-30\"}", "data.written_before");
    BAD_DATA("nl.avg.breach.reported",
             "{\"breach_id\":\"B\",\"aware_at\":\"2026-02-02T09:00:00Z\",\"description\":\"x\","
             "\"persons_affected\":2.5}",
             "data.persons_affected");
    BAD_DATA("nl.avg.breach.reported",
             "{\"breach_id\":\"B\",\"aware_at\":\"2026-02-02T09:00:00Z\",\"description\":\"x\","
             "\"reporter\":{\"phone\":612345678}}",
             "data.reporter.phone");
    BAD_DATA_MSG("nl.igj.ehealth.live", "{\"application\":\"\"}", "data.application",
                 "data.application must not be empty");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptions),
        cmocka_unit_test(test_registrations),
        cmocka_unit_test(test_plugin_exports_only_its_entry),
        cmocka_unit_test(test_init_failure),
        cmocka_unit_test(test_minimal_event_of_every_type_passes),
        cmocka_unit_test(test_every_registered_type_is_in_the_table),
        cmocka_unit_test(test_full_events_pass),
        cmocka_unit_test(test_nested_user),
        cmocka_unit_test(test_themes),
        cmocka_unit_test(test_subjects_informed),
        cmocka_unit_test(test_enums),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_ap_form_fields),
    };
    return cmocka_run_group_tests(tests, setup_plugins, teardown_plugins);
}
