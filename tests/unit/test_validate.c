/*
 * test_validate.c — unit tests for engine/validate.c: the CloudEvents
 * envelope and the v1 catalogue schemas.
 *
 * Events are written as JSON text and parsed with cJSON_Parse, as the
 * transports do, so the tests read like the events integrators send. Every
 * rejection is checked for its exact field path, since that is what the HTTP
 * 400 answer and the rejected-events table carry. Depends on validate.c,
 * clock.c, alloc.c and error.c; run under ASan/UBSan, so every result is
 * cleared and every parsed event deleted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alloc.h"
#include "error.h"
#include "validate.h"

#define ENVELOPE                                                                                   \
    "\"specversion\":\"1.0\",\"id\":\"evt-1\",\"source\":\"urn:ecd:test:praktijk-1\","             \
    "\"time\":\"2026-02-02T09:15:00+01:00\""

/* A complete event of the given type around data (JSON text, or NULL for no
 * data member). The caller frees the text. */
static char *test_event(const char *type, const char *data)
{
    size_t n = strlen(type) + (data ? strlen(data) : 0) + 256;
    char *s = malloc(n);
    assert_non_null(s);
    if (data)
        snprintf(s, n, "{" ENVELOPE ",\"type\":\"%s\",\"data\":%s}", type, data);
    else
        snprintf(s, n, "{" ENVELOPE ",\"type\":\"%s\"}", type);
    return s;
}

/* Validates a parsed event and checks the verdict: field NULL means it must
 * pass; otherwise it must be rejected naming exactly that field and, when
 * message is given, with exactly that message. */
static void test_check_json(const cJSON *event, int allow_unknown, const char *field,
                            const char *message, const char *file, int line)
{
    validate_result res = {(char *)"garbage", (char *)"garbage"};
    int rc = validate_event(event, allow_unknown, &res);
    if (!field) {
        if (rc != 0)
            print_error("unexpected rejection: %s: %s\n", res.field ? res.field : "(null)",
                        res.message ? res.message : "(null)");
        _assert_int_equal(rc, 0, file, line);
        _assert_true(res.field == NULL && res.message == NULL, "result left empty", file, line);
    } else {
        if (rc == 0)
            print_error("unexpected acceptance, wanted field %s\n", field);
        _assert_int_equal(rc, OBLIGO_EINVAL, file, line);
        _assert_true(res.field != NULL && res.message != NULL, "result filled", file, line);
        _assert_string_equal(res.field, field, file, line);
        if (message)
            _assert_string_equal(res.message, message, file, line);
    }
    validate_result_clear(&res);
    _assert_true(res.field == NULL && res.message == NULL, "cleared", file, line);
}

static void test_check_text(const char *text, int allow_unknown, const char *field,
                            const char *message, const char *file, int line)
{
    cJSON *event = cJSON_Parse(text);
    _assert_true(event != NULL, "test JSON parses", file, line);
    test_check_json(event, allow_unknown, field, message, file, line);
    cJSON_Delete(event);
}

static void test_check_event(const char *type, const char *data, const char *field,
                             const char *message, const char *file, int line)
{
    char *text = test_event(type, data);
    test_check_text(text, 0, field, message, file, line);
    free(text);
}

#define OK_TEXT(text, allow) test_check_text((text), (allow), NULL, NULL, __FILE__, __LINE__)
#define BAD_TEXT(text, allow, field)                                                               \
    test_check_text((text), (allow), (field), NULL, __FILE__, __LINE__)
#define BAD_TEXT_MSG(text, allow, field, msg)                                                      \
    test_check_text((text), (allow), (field), (msg), __FILE__, __LINE__)
#define OK_DATA(type, data) test_check_event((type), (data), NULL, NULL, __FILE__, __LINE__)
#define BAD_DATA(type, data, field)                                                                \
    test_check_event((type), (data), (field), NULL, __FILE__, __LINE__)
#define BAD_DATA_MSG(type, data, field, msg)                                                       \
    test_check_event((type), (data), (field), (msg), __FILE__, __LINE__)

/* The smallest valid data of every catalogue type (DESIGN §3): only the
 * required fields. */
static const struct {
    const char *type;
    const char *data;
} minimal[] = {
    {"nl.avg.breach.reported",
     "{\"breach_id\":\"B-1\",\"aware_at\":\"2026-02-02T09:00:00+01:00\",\"description\":\"x\"}"},
    {"nl.avg.breach.assessed",
     "{\"breach_id\":\"B-1\",\"risk\":\"high\",\"rationale\":\"health data\"}"},
    {"nl.avg.breach.notified",
     "{\"breach_id\":\"B-1\",\"reference\":\"AP-1\",\"notified_at\":\"2026-02-03T10:00:00Z\"}"},
    {"nl.avg.breach.withdrawn", "{\"breach_id\":\"B-1\",\"rationale\":\"false alarm\"}"},
    {"nl.avg.breach.subjects_informed",
     "{\"breach_id\":\"B-1\",\"informed_at\":\"2026-02-04T10:00:00+01:00\"}"},
    {"nl.avg.breach.closed", "{\"breach_id\":\"B-1\",\"measures\":\"laptops encrypted\"}"},
    {"nl.avg.request.received", "{\"request_id\":\"R-1\",\"kind\":\"access\",\"client_id\":\"C-"
                                "1\",\"received_at\":\"2026-02-02T09:00:00+01:00\"}"},
    {"nl.avg.request.extended", "{\"request_id\":\"R-1\",\"reason\":\"complex\",\"notified_at\":"
                                "\"2026-02-10T09:00:00+01:00\"}"},
    {"nl.avg.request.completed",
     "{\"request_id\":\"R-1\",\"completed_at\":\"2026-02-20T09:00:00+01:00\"}"},
    {"nl.wgbo.record.changed", "{\"client_id\":\"C-1\",\"changed_at\":\"2026-02-02T09:00:00Z\"}"},
    {"nl.wgbo.record.destroyed",
     "{\"client_id\":\"C-1\",\"destroyed_at\":\"2026-02-02T09:00:00Z\"}"},
    {"nl.nen7513.access", "{\"user\":{\"id\":\"u-1\"},\"client_id\":\"C-1\",\"action\":\"read\","
                          "\"system\":\"ecd\"}"},
    {"nl.nen7513.review",
     "{\"period_start\":\"2026-01-01\",\"period_end\":\"2026-01-31\",\"reviewer\":\"FG\"}"},
    {"nl.nen7513.purge", "{\"written_before\":\"2021-01-01\"}"},
    {"nl.ict.software.installed", "{\"device_id\":\"D-1\",\"software\":\"7zip\",\"installed_"
                                  "by\":\"admin\",\"approved\":true}"},
    {"nl.ict.device.decommissioned",
     "{\"device_id\":\"D-1\",\"kind\":\"laptop\",\"wipe\":\"crypto_erase\"}"},
    {"nl.ict.message.sent", "{\"channel\":\"zorgmail\",\"personal_data\":false}"},
    {"nl.ict.cloud.used", "{\"service\":\"mail\",\"provider\":\"acme\",\"region\":\"EU\","
                          "\"processing_agreement\":true}"},
    {"nl.ict.webform.checked", "{\"url\":\"https://example.nl/form\",\"tls\":true}"},
    {"nl.ict.backup.completed", "{\"system\":\"ecd\",\"completed_at\":\"2026-02-02T02:00:00Z\"}"},
    {"nl.ict.wifi.checked", "{\"network\":\"guest\",\"guest\":true,\"reaches_internal\":false}"},
    {"nl.ict.checklist.reviewed", "{\"meeting_at\":\"2026-02-02T14:00:00+01:00\"}"},
    {"nl.igj.ehealth.assessed", "{\"application\":\"app\",\"themes\":{\"governance\":\"pass\"}}"},
    {"nl.igj.ehealth.live", "{\"application\":\"app\"}"},
    {"nl.cbw.incident.detected", "{\"incident_id\":\"I-1\",\"aware_at\":\"2026-02-02T09:00:00+01:"
                                 "00\",\"significant\":true}"},
    {"nl.cbw.incident.reported", "{\"incident_id\":\"I-1\",\"stage\":\"early_warning\","
                                 "\"reported_at\":\"2026-02-02T20:00:00+01:00\"}"},
};
#define N_MINIMAL (sizeof minimal / sizeof minimal[0])

static void test_minimal_event_of_every_type_passes(void **state)
{
    (void)state;
    assert_int_equal(N_MINIMAL, 26); /* the whole v1 catalogue */
    for (size_t i = 0; i < N_MINIMAL; i++) {
        assert_true(validate_known_type(minimal[i].type));
        OK_DATA(minimal[i].type, minimal[i].data);
        /* The same event with empty data names the first required field. */
        char *text = test_event(minimal[i].type, "{}");
        cJSON *event = cJSON_Parse(text);
        validate_result res;
        assert_int_equal(validate_event(event, 0, &res), OBLIGO_EINVAL);
        assert_true(strncmp(res.field, "data.", 5) == 0);
        validate_result_clear(&res);
        cJSON_Delete(event);
        free(text);
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
    OK_DATA("nl.ict.checklist.reviewed",
            "{\"meeting_at\":\"2026-02-02T14:00:00+01:00\",\"attendees\":[\"A\",\"B\"]}");
    OK_DATA("nl.ict.checklist.reviewed",
            "{\"meeting_at\":\"2026-02-02T14:00:00+01:00\",\"attendees\":\"A, B\"}");
    OK_DATA("nl.igj.ehealth.assessed",
            "{\"application\":\"app\",\"themes\":{\"governance\":\"pass\",\"implementation\":"
            "\"partial\",\"client_participation\":\"fail\",\"information_security\":\"pass\","
            "\"chain_cooperation\":\"partial\"}}");
    /* Empty lists are fine: no categories known yet. */
    OK_DATA("nl.avg.breach.reported",
            "{\"breach_id\":\"B-1\",\"aware_at\":\"2026-02-02T09:00:00Z\","
            "\"description\":\"x\",\"categories\":[]}");
}

static void test_unknown_fields_and_nulls_allowed(void **state)
{
    (void)state;
    /* Forward compatibility: members the catalogue does not name pass. */
    OK_DATA("nl.avg.breach.withdrawn",
            "{\"breach_id\":\"B-1\",\"rationale\":\"r\",\"v2_field\":{\"a\":[1,2]}}");
    OK_DATA("nl.nen7513.access", "{\"user\":{\"id\":\"u\",\"badge\":7},\"client_id\":\"C\","
                                 "\"action\":\"read\",\"system\":\"ecd\"}");
    OK_DATA("nl.igj.ehealth.assessed",
            "{\"application\":\"app\",\"themes\":{\"governance\":\"fail\",\"ai\":\"pass\"}}");
    /* null is absent: fine for an optional field... */
    OK_DATA("nl.avg.breach.reported",
            "{\"breach_id\":\"B-1\",\"aware_at\":\"2026-02-02T09:00:00Z\","
            "\"description\":\"x\",\"cause\":null,\"reporter\":null}");
    /* ...and "required" for a required one. */
    BAD_DATA_MSG("nl.avg.breach.withdrawn", "{\"breach_id\":null,\"rationale\":\"r\"}",
                 "data.breach_id", "data.breach_id is required for nl.avg.breach.withdrawn");
}

/* ---- the envelope ---- */

static void test_envelope_not_object(void **state)
{
    (void)state;
    BAD_TEXT_MSG("[1,2]", 1, "", "an event must be a JSON object; got a list");
    BAD_TEXT("\"event\"", 1, "");
    test_check_json(NULL, 1, "", NULL, __FILE__, __LINE__);
}

static void test_envelope_specversion(void **state)
{
    (void)state;
    BAD_TEXT_MSG("{\"id\":\"1\",\"source\":\"s\",\"type\":\"t\",\"time\":\"2026-02-02T09:15:00Z\"}",
                 1, "specversion", "specversion is required (\"1.0\")");
    BAD_TEXT_MSG("{\"specversion\":\"0.3\",\"id\":\"1\",\"source\":\"s\",\"type\":\"t\","
                 "\"time\":\"2026-02-02T09:15:00Z\"}",
                 1, "specversion", "specversion must be \"1.0\"; got \"0.3\"");
    BAD_TEXT_MSG("{\"specversion\":1.0,\"id\":\"1\",\"source\":\"s\",\"type\":\"t\","
                 "\"time\":\"2026-02-02T09:15:00Z\"}",
                 1, "specversion", "specversion must be the string \"1.0\"; got a number");
}

static void test_envelope_id_source_type(void **state)
{
    (void)state;
    const char *tail = "\"time\":\"2026-02-02T09:15:00Z\",\"data\":{}}";
    char buf[512];

    snprintf(buf, sizeof buf, "{\"specversion\":\"1.0\",\"source\":\"s\",\"type\":\"t\",%s", tail);
    BAD_TEXT_MSG(buf, 1, "id", "id is required");
    snprintf(buf, sizeof buf,
             "{\"specversion\":\"1.0\",\"id\":\"\",\"source\":\"s\",\"type\":\"t\",%s", tail);
    BAD_TEXT_MSG(buf, 1, "id", "id must not be empty");
    snprintf(buf, sizeof buf,
             "{\"specversion\":\"1.0\",\"id\":42,\"source\":\"s\",\"type\":\"t\",%s", tail);
    BAD_TEXT_MSG(buf, 1, "id", "id must be a string; got a number");

    snprintf(buf, sizeof buf, "{\"specversion\":\"1.0\",\"id\":\"1\",\"type\":\"t\",%s", tail);
    BAD_TEXT(buf, 1, "source");
    snprintf(buf, sizeof buf,
             "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":[],\"type\":\"t\",%s", tail);
    BAD_TEXT(buf, 1, "source");

    snprintf(buf, sizeof buf, "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",%s", tail);
    BAD_TEXT(buf, 1, "type");
    snprintf(buf, sizeof buf,
             "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"\",%s", tail);
    BAD_TEXT(buf, 1, "type");
    snprintf(buf, sizeof buf,
             "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":true,%s", tail);
    BAD_TEXT(buf, 1, "type");
}

static void test_envelope_time(void **state)
{
    (void)state;
    const char *head = "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"x.y\"";
    char buf[512];

    snprintf(buf, sizeof buf, "%s}", head);
    BAD_TEXT(buf, 1, "time");
    snprintf(buf, sizeof buf, "%s,\"time\":1770000000}", head);
    BAD_TEXT_MSG(buf, 1, "time", "time must be a string; got a number");
    snprintf(buf, sizeof buf, "%s,\"time\":\"2026-02-30T10:00:00+01:00\"}", head);
    BAD_TEXT_MSG(buf, 1, "time",
                 "time \"2026-02-30T10:00:00+01:00\" is not an RFC 3339 date-time with offset");
    snprintf(buf, sizeof buf, "%s,\"time\":\"2026-02-02T10:00:00\"}", head);
    BAD_TEXT(buf, 1, "time"); /* no offset */
    snprintf(buf, sizeof buf, "%s,\"time\":\"2026-02-02T10:00:00+25:00\"}", head);
    BAD_TEXT(buf, 1, "time");
    snprintf(buf, sizeof buf, "%s,\"time\":\"2026-02-02\"}", head);
    BAD_TEXT(buf, 1, "time"); /* a date alone is not an instant */
    snprintf(buf, sizeof buf, "%s,\"time\":\"2026-02-02T10:00:00Z\"}", head);
    OK_TEXT(buf, 1);
    snprintf(buf, sizeof buf, "%s,\"time\":\"2024-02-29T23:59:59.999-05:30\"}", head);
    OK_TEXT(buf, 1);
}

static void test_envelope_subject_and_data(void **state)
{
    (void)state;
    char buf[512];
    snprintf(buf, sizeof buf, "{" ENVELOPE ",\"type\":\"x.y\",\"subject\":7}");
    BAD_TEXT_MSG(buf, 1, "subject", "subject must be a string; got a number");
    snprintf(buf, sizeof buf, "{" ENVELOPE ",\"type\":\"x.y\",\"subject\":\"breach/1\"}");
    OK_TEXT(buf, 1);

    BAD_DATA_MSG("nl.avg.breach.closed", NULL, "data", "data is required for nl.avg.breach.closed");
    BAD_DATA_MSG("nl.avg.breach.closed", "[1]", "data",
                 "data must be an object for nl.avg.breach.closed; got a list");
    BAD_DATA("nl.avg.breach.closed", "\"text\"", "data");
    BAD_DATA("nl.avg.breach.closed", "null", "data");
}

static void test_envelope_order(void **state)
{
    (void)state;
    /* Everything wrong at once: the first check in order is reported. */
    BAD_TEXT("{\"specversion\":\"2\",\"id\":\"\",\"time\":\"bad\",\"data\":1}", 1, "specversion");
    BAD_TEXT("{\"specversion\":\"1.0\",\"id\":\"\",\"time\":\"bad\",\"data\":1}", 1, "id");
    BAD_TEXT("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"nl.ict.wifi."
             "checked\",\"time\":\"bad\",\"subject\":1,\"data\":1}",
             1, "time");
    BAD_TEXT("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"nl.ict.wifi."
             "checked\",\"time\":\"2026-02-02T09:15:00Z\",\"subject\":1,\"data\":1}",
             1, "subject");
}

static void test_unknown_type(void **state)
{
    (void)state;
    assert_false(validate_known_type("com.example.thing"));
    assert_false(validate_known_type("nl.avg.breach"));
    assert_false(validate_known_type(""));
    assert_false(validate_known_type(NULL));

    char buf[512];
    snprintf(buf, sizeof buf, "{" ENVELOPE ",\"type\":\"com.example.thing\"}");
    OK_TEXT(buf, 1); /* no data at all */
    snprintf(buf, sizeof buf, "{" ENVELOPE ",\"type\":\"com.example.thing\",\"data\":[1,\"x\"]}");
    OK_TEXT(buf, 1);
    snprintf(buf, sizeof buf, "{" ENVELOPE ",\"type\":\"com.example.thing\",\"data\":\"x\"}");
    OK_TEXT(buf, 1);
    BAD_TEXT_MSG(buf, 0, "type",
                 "type \"com.example.thing\" is not in the v1 event catalogue, and unknown types "
                 "are not accepted by this configuration");
    /* A catalogue type is judged the same either way. */
    char *text = test_event("nl.igj.ehealth.live", "{\"application\":\"app\"}");
    OK_TEXT(text, 0);
    OK_TEXT(text, 1);
    free(text);
}

/* ---- data ---- */

static void test_missing_required(void **state)
{
    (void)state;
    BAD_DATA_MSG("nl.avg.breach.reported",
                 "{\"aware_at\":\"2026-02-02T09:00:00Z\",\"description\":\"x\"}", "data.breach_id",
                 "data.breach_id is required for nl.avg.breach.reported");
    BAD_DATA("nl.avg.breach.reported", "{\"breach_id\":\"B\",\"description\":\"x\"}",
             "data.aware_at");
    BAD_DATA("nl.ict.software.installed",
             "{\"device_id\":\"D\",\"software\":\"s\",\"installed_by\":\"a\"}", "data.approved");
    BAD_DATA("nl.cbw.incident.reported",
             "{\"incident_id\":\"I\",\"reported_at\":\"2026-02-02T09:00:00Z\"}", "data.stage");
    /* An empty identifier is a missing one. */
    BAD_DATA_MSG("nl.igj.ehealth.live", "{\"application\":\"\"}", "data.application",
                 "data.application must not be empty");
}

static void test_wrong_types(void **state)
{
    (void)state;
    /* string given a bool, a number, an object */
    BAD_DATA_MSG("nl.avg.breach.withdrawn", "{\"breach_id\":true,\"rationale\":\"r\"}",
                 "data.breach_id", "data.breach_id must be a string; got a boolean");
    BAD_DATA("nl.avg.breach.withdrawn", "{\"breach_id\":7,\"rationale\":\"r\"}", "data.breach_id");
    BAD_DATA("nl.avg.breach.withdrawn", "{\"breach_id\":\"B\",\"rationale\":{}}", "data.rationale");
    /* bool given a string and a number */
    BAD_DATA_MSG("nl.ict.webform.checked", "{\"url\":\"u\",\"tls\":\"true\"}", "data.tls",
                 "data.tls must be true or false; got a string");
    BAD_DATA("nl.ict.webform.checked", "{\"url\":\"u\",\"tls\":1}", "data.tls");
    /* number given a string, a negative, a fraction */
    const char *head = "{\"breach_id\":\"B\",\"aware_at\":\"2026-02-02T09:00:00Z\","
                       "\"description\":\"x\",";
    char buf[512];
    snprintf(buf, sizeof buf, "%s\"persons_affected\":\"12\"}", head);
    BAD_DATA_MSG("nl.avg.breach.reported", buf, "data.persons_affected",
                 "data.persons_affected must be a number; got a string");
    snprintf(buf, sizeof buf, "%s\"records_affected\":-3}", head);
    BAD_DATA_MSG("nl.avg.breach.reported", buf, "data.records_affected",
                 "data.records_affected must be a whole number from 0 to 9007199254740991; got -3");
    snprintf(buf, sizeof buf, "%s\"persons_affected\":2.5}", head);
    BAD_DATA("nl.avg.breach.reported", buf, "data.persons_affected");
    snprintf(buf, sizeof buf, "%s\"persons_affected\":1e300}", head);
    BAD_DATA("nl.avg.breach.reported", buf, "data.persons_affected");
    BAD_DATA("nl.avg.breach.subjects_informed",
             "{\"breach_id\":\"B\",\"exception\":\"risk_mitigated\",\"count\":true}", "data.count");
    /* object given a string; time given a number */
    BAD_DATA_MSG("nl.nen7513.access",
                 "{\"user\":\"u-1\",\"client_id\":\"C\",\"action\":\"read\",\"system\":\"ecd\"}",
                 "data.user", "data.user must be an object; got a string");
    snprintf(buf, sizeof buf, "%s\"reporter\":[\"Jan\"]}", head);
    BAD_DATA("nl.avg.breach.reported", buf, "data.reporter");
    snprintf(buf, sizeof buf, "%s\"reporter\":{\"phone\":612345678}}", head);
    BAD_DATA("nl.avg.breach.reported", buf, "data.reporter.phone");
    BAD_DATA("nl.ict.backup.completed", "{\"system\":\"ecd\",\"completed_at\":1770000000}",
             "data.completed_at");
}

static void test_bad_enum(void **state)
{
    (void)state;
    const char *head = "{\"breach_id\":\"B\",\"aware_at\":\"2026-02-02T09:00:00Z\","
                       "\"description\":\"x\",";
    char buf[512];
    snprintf(buf, sizeof buf, "%s\"cause\":\"flood\"}", head);
    BAD_DATA_MSG("nl.avg.breach.reported", buf, "data.cause",
                 "data.cause must be one of lost_device, theft, hacking, malware, misdirected, "
                 "employee_error, processor, other; got \"flood\"");
    snprintf(buf, sizeof buf, "%s\"personal_data\":true}", head);
    BAD_DATA_MSG("nl.avg.breach.reported", buf, "data.personal_data",
                 "data.personal_data must be a string; got a boolean");
    /* Enums are case-sensitive: the rules compare exact strings. */
    BAD_DATA("nl.avg.breach.assessed",
             "{\"breach_id\":\"B\",\"risk\":\"High\",\"rationale\":\"r\"}", "data.risk");
    BAD_DATA("nl.ict.device.decommissioned",
             "{\"device_id\":\"D\",\"kind\":\"laptop\",\"wipe\":\"shred\"}", "data.wipe");
    BAD_DATA("nl.ict.message.sent", "{\"channel\":\"fax\",\"personal_data\":true}", "data.channel");
    BAD_DATA("nl.nen7513.access",
             "{\"user\":{\"id\":\"u\"},\"client_id\":\"C\",\"action\":\"read\",\"system\":\"ecd\","
             "\"authentication\":\"sms\"}",
             "data.authentication");
}

static void test_bad_list_element(void **state)
{
    (void)state;
    const char *head = "{\"breach_id\":\"B\",\"aware_at\":\"2026-02-02T09:00:00Z\","
                       "\"description\":\"x\",";
    char buf[512];
    snprintf(buf, sizeof buf, "%s\"categories\":[\"health\",\"bsn\",\"dna\"]}", head);
    BAD_DATA_MSG("nl.avg.breach.reported", buf, "data.categories[2]",
                 "data.categories[2] must be one of health, bsn, contact, financial, login, "
                 "id_copy, other; got \"dna\"");
    snprintf(buf, sizeof buf, "%s\"categories\":[\"health\",3]}", head);
    BAD_DATA_MSG("nl.avg.breach.reported", buf, "data.categories[1]",
                 "data.categories[1] must be a string; got a number");
    snprintf(buf, sizeof buf, "%s\"categories\":\"health\"}", head);
    BAD_DATA_MSG("nl.avg.breach.reported", buf, "data.categories",
                 "data.categories must be a list of strings; got a string");
}

static void test_data_times(void **state)
{
    (void)state;
    BAD_DATA_MSG("nl.wgbo.record.changed",
                 "{\"client_id\":\"C\",\"changed_at\":\"2026-02-30T10:00:00+01:00\"}",
                 "data.changed_at",
                 "data.changed_at \"2026-02-30T10:00:00+01:00\" is not an RFC 3339 date-time "
                 "with offset");
    BAD_DATA("nl.wgbo.record.changed",
             "{\"client_id\":\"C\",\"changed_at\":\"2026-02-02T10:00:00\"}", "data.changed_at");
    BAD_DATA("nl.wgbo.record.changed",
             "{\"client_id\":\"C\",\"changed_at\":\"2026-02-02T10:00:00+25:00\"}",
             "data.changed_at");
    BAD_DATA("nl.wgbo.record.changed", "{\"client_id\":\"C\",\"changed_at\":\"2026-02-02\"}",
             "data.changed_at");
    BAD_DATA("nl.avg.breach.notified",
             "{\"breach_id\":\"B\",\"reference\":\"AP\",\"notified_at\":\"2025-02-29T10:00:00Z\"}",
             "data.notified_at"); /* 2025 is no leap year */
    BAD_DATA("nl.avg.breach.notified",
             "{\"breach_id\":\"B\",\"reference\":\"AP\",\"notified_at\":\"2026-02-02T24:00:00Z\"}",
             "data.notified_at");
}

static void test_date_or_time(void **state)
{
    (void)state;
    OK_DATA("nl.nen7513.purge", "{\"written_before\":\"2024-02-29\"}");
    OK_DATA("nl.nen7513.purge", "{\"written_before\":\"2024-02-29T00:00:00+01:00\"}");
    BAD_DATA_MSG("nl.nen7513.purge", "{\"written_before\":\"2026-02-30\"}", "data.written_before",
                 "data.written_before \"2026-02-30\" is neither a date (YYYY-MM-DD) nor an RFC "
                 "3339 date-time with offset");
    BAD_DATA("nl.nen7513.purge", "{\"written_before\":\"2026-13-01\"}", "data.written_before");
    BAD_DATA("nl.nen7513.purge", "{\"written_before\":\"2026-01-01T00:00:00\"}",
             "data.written_before");
    BAD_DATA("nl.nen7513.purge", "{\"written_before\":\"yesterday\"}", "data.written_before");
    BAD_DATA("nl.nen7513.review",
             "{\"period_start\":\"2026-01-01\",\"period_end\":\"31-01-2026\",\"reviewer\":\"FG\"}",
             "data.period_end");
    BAD_DATA("nl.nen7513.review",
             "{\"period_start\":20260101,\"period_end\":\"2026-01-31\","
             "\"reviewer\":\"FG\"}",
             "data.period_start");
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
    BAD_DATA("nl.nen7513.access", "{\"client_id\":\"C\",\"action\":\"read\",\"system\":\"ecd\"}",
             "data.user");
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
    BAD_DATA("nl.igj.ehealth.assessed", "{\"application\":\"app\"}", "data.themes");
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
    BAD_DATA("nl.avg.breach.subjects_informed", "{\"exception\":\"risk_mitigated\"}",
             "data.breach_id");
}

/* ---- limits and quoting ---- */

/* A string of n copies of c; the caller frees it. */
static char *test_repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* Replaces (or adds) member name of obj with a string value. */
static void test_set_string(cJSON *obj, const char *name, const char *value)
{
    cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
    assert_non_null(cJSON_AddStringToObject(obj, name, value));
}

static void test_huge_strings(void **state)
{
    (void)state;
    char *text = test_event("nl.avg.breach.reported", minimal[0].data);
    cJSON *event = cJSON_Parse(text);
    free(text);
    assert_non_null(event);
    cJSON *data = cJSON_GetObjectItemCaseSensitive(event, "data");

    char *at_limit = test_repeat('a', 64 * 1024);
    char *over = test_repeat('a', 64 * 1024 + 1);
    test_set_string(data, "description", at_limit);
    test_check_json(event, 0, NULL, NULL, __FILE__, __LINE__);
    test_set_string(data, "description", over);
    test_check_json(event, 0, "data.description",
                    "data.description is too long: 65537 bytes, at most 65536 are allowed",
                    __FILE__, __LINE__);
    test_set_string(data, "description", "x");

    /* Inside nested objects and lists too. */
    cJSON *reporter = cJSON_AddObjectToObject(data, "reporter");
    assert_non_null(reporter);
    test_set_string(reporter, "name", over);
    test_check_json(event, 0, "data.reporter.name", NULL, __FILE__, __LINE__);
    cJSON_DeleteItemFromObjectCaseSensitive(data, "reporter");

    test_set_string(event, "subject", over);
    test_check_json(event, 0, "subject", NULL, __FILE__, __LINE__);
    cJSON_DeleteItemFromObjectCaseSensitive(event, "subject");

    /* Envelope identifiers stop at 1024 bytes. */
    char *id_limit = test_repeat('i', 1024);
    char *id_over = test_repeat('i', 1025);
    test_set_string(event, "id", id_limit);
    test_set_string(event, "source", id_limit);
    test_check_json(event, 0, NULL, NULL, __FILE__, __LINE__);
    test_set_string(event, "id", id_over);
    test_check_json(event, 0, "id", "id is too long: 1025 bytes, at most 1024 are allowed",
                    __FILE__, __LINE__);
    test_set_string(event, "id", "1");
    test_set_string(event, "source", id_over);
    test_check_json(event, 0, "source", NULL, __FILE__, __LINE__);
    test_set_string(event, "source", "s");
    test_set_string(event, "type", id_over);
    test_check_json(event, 1, "type", NULL, __FILE__, __LINE__);

    free(at_limit);
    free(over);
    free(id_limit);
    free(id_over);
    cJSON_Delete(event);
}

static void test_quotes_at_most_64_bytes(void **state)
{
    (void)state;
    char *long_value = test_repeat('z', 200);
    char data[512];
    snprintf(data, sizeof data, "{\"channel\":\"%s\",\"personal_data\":true}", long_value);
    char want[512];
    snprintf(want, sizeof want,
             "data.channel must be one of zorgmail, siilo, zorgdomein, email, sms, whatsapp, "
             "other; got \"%.64s...\"",
             long_value);
    BAD_DATA_MSG("nl.ict.message.sent", data, "data.channel", want);
    free(long_value);

    /* Quotes and control characters are escaped; a multi-byte character is
     * never cut in half (63 'e' then a 2-byte "é" straddling byte 64). */
    BAD_DATA_MSG("nl.ict.message.sent", "{\"channel\":\"a\\\"b\\nc\",\"personal_data\":true}",
                 "data.channel",
                 "data.channel must be one of zorgmail, siilo, zorgdomein, email, sms, whatsapp, "
                 "other; got \"a\\\"b\\nc\"");
    char *e63 = test_repeat('e', 63);
    snprintf(data, sizeof data, "{\"channel\":\"%s\xc3\xa9xyz\",\"personal_data\":true}", e63);
    snprintf(want, sizeof want,
             "data.channel must be one of zorgmail, siilo, zorgdomein, email, sms, whatsapp, "
             "other; got \"%s...\"",
             e63);
    BAD_DATA_MSG("nl.ict.message.sent", data, "data.channel", want);
    free(e63);
}

/* ---- the result contract ---- */

static void test_out_of_memory(void **state)
{
    (void)state;
    char *text = test_event("nl.avg.breach.withdrawn", "{\"rationale\":\"r\"}");
    cJSON *event = cJSON_Parse(text);
    free(text);
    for (long n = 1; n <= 2; n++) {
        validate_result res = {NULL, NULL};
        alloc_fail_after(n);
        int rc = validate_event(event, 0, &res);
        alloc_fail_after(0);
        assert_int_equal(rc, OBLIGO_ENOMEM);
        assert_null(res.field);
        assert_null(res.message);
    }
    /* A valid event needs no memory at all. */
    cJSON_Delete(event);
    text = test_event("nl.igj.ehealth.live", "{\"application\":\"app\"}");
    event = cJSON_Parse(text);
    free(text);
    alloc_fail_after(1);
    validate_result res;
    int rc = validate_event(event, 0, &res);
    alloc_fail_after(0);
    assert_int_equal(rc, 0);
    cJSON_Delete(event);
}

static void test_null_result_and_clear(void **state)
{
    (void)state;
    cJSON *event = cJSON_Parse("[]");
    assert_int_equal(validate_event(event, 1, NULL), OBLIGO_EINVAL);
    cJSON_Delete(event);
    validate_result_clear(NULL);
    validate_result res = {NULL, NULL};
    validate_result_clear(&res);
    validate_result_clear(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_event_of_every_type_passes),
        cmocka_unit_test(test_full_events_pass),
        cmocka_unit_test(test_unknown_fields_and_nulls_allowed),
        cmocka_unit_test(test_envelope_not_object),
        cmocka_unit_test(test_envelope_specversion),
        cmocka_unit_test(test_envelope_id_source_type),
        cmocka_unit_test(test_envelope_time),
        cmocka_unit_test(test_envelope_subject_and_data),
        cmocka_unit_test(test_envelope_order),
        cmocka_unit_test(test_unknown_type),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_bad_enum),
        cmocka_unit_test(test_bad_list_element),
        cmocka_unit_test(test_data_times),
        cmocka_unit_test(test_date_or_time),
        cmocka_unit_test(test_nested_user),
        cmocka_unit_test(test_themes),
        cmocka_unit_test(test_subjects_informed),
        cmocka_unit_test(test_huge_strings),
        cmocka_unit_test(test_quotes_at_most_64_bytes),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_null_result_and_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
