/*
 * test_validate.c — unit tests for engine/validate.c: the CloudEvents
 * envelope and the schema interpreter, over a small catalogue defined here.
 *
 * The engine core knows no regulation, so these tests bring their own event
 * types ("test.*"), one per kind of check: required members, kinds, enums,
 * lists of enums with the failing index, nested objects, one-of rules with
 * and without a named member, times and dates, a type registered without a
 * schema. The real catalogue of the regulation plugins is tested in
 * test_catalogue.c. Events are written as JSON text and parsed with
 * cJSON_Parse, as the transports do, so the tests read like the events
 * integrators send. Every rejection is checked for its exact field path,
 * since that is what the HTTP 400 answer and the rejected-events table
 * carry. Depends on validate.c, clock.c, alloc.c and error.c; run under
 * ASan/UBSan, so every result is cleared and every parsed event deleted.
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

/* ---- the test catalogue ---- */

/* clang-format off */
#define REQ(n, k)      {.name = (n), .kind = (k), .required = 1}
#define OPT(n, k)      {.name = (n), .kind = (k), .required = 0}
#define REQ_ENUM(n, v) {.name = (n), .kind = OBLIGO_FIELD_STRING, .required = 1, .values = (v)}
#define OPT_ENUM(n, v) {.name = (n), .kind = OBLIGO_FIELD_STRING, .required = 0, .values = (v)}
#define OPT_LIST(n, v) {.name = (n), .kind = OBLIGO_FIELD_ENUM_LIST, .required = 0, .values = (v)}
#define REQ_OBJ(n, s)  {.name = (n), .kind = OBLIGO_FIELD_OBJECT, .required = 1, .nested = &(s)}
#define OPT_OBJ(n, s)  {.name = (n), .kind = OBLIGO_FIELD_OBJECT, .required = 0, .nested = &(s)}
#define END            {.name = NULL}
#define SCHEMA(f)      {.fields = (f)}
#define TYPE(t, s)     {.abi_version = OBLIGO_ABI_CURRENT, .struct_size = sizeof(obligo_event_type), \
                        .type = (t), .data = (s), .description = "a test type"}

#define S OBLIGO_FIELD_STRING
#define B OBLIGO_FIELD_BOOL
#define N OBLIGO_FIELD_COUNT
#define T OBLIGO_FIELD_TIME
#define D OBLIGO_FIELD_DATE_OR_TIME
#define A OBLIGO_FIELD_ANY

static const char *const enum_cause[] = {"lost_device", "theft", "other", NULL};
static const char *const enum_yes_no_unknown[] = {"yes", "no", "unknown", NULL};
static const char *const enum_categories[] = {"health", "bsn", "contact", NULL};
static const char *const enum_action[] = {"read", "update", NULL};
static const char *const enum_channel[] = {"zorgmail", "siilo", "other", NULL};
static const char *const enum_result[] = {"pass", "partial", "fail", NULL};
static const char *const enum_exception[] = {"unintelligible", "risk_mitigated", NULL};

/* test.report: every scalar kind, an enum, a list of enums, an optional
 * nested object. */
static const obligo_field fields_reporter[] = {OPT("name", S), OPT("phone", S), END};
static const obligo_schema schema_reporter = SCHEMA(fields_reporter);
static const obligo_field fields_report[] = {
    REQ("report_id", S),
    REQ("aware_at", T),
    REQ("description", S),
    OPT_ENUM("cause", enum_cause),
    OPT_ENUM("personal_data", enum_yes_no_unknown),
    OPT_LIST("categories", enum_categories),
    OPT("persons_affected", N),
    OPT("records_affected", N),
    OPT("unintelligible", B),
    OPT_OBJ("reporter", schema_reporter),
    END,
};
static const obligo_schema schema_report = SCHEMA(fields_report);

/* test.access: a required nested object with a required member. */
static const obligo_field fields_user[] = {REQ("id", S), OPT("role", S), END};
static const obligo_schema schema_user = SCHEMA(fields_user);
static const obligo_field fields_access[] = {
    REQ_OBJ("user", schema_user),
    REQ("client_id", S),
    REQ_ENUM("action", enum_action),
    OPT("emergency", B),
    END,
};
static const obligo_schema schema_access = SCHEMA(fields_access);

/* test.informed: one of two members, the error naming the first. */
static const char *const informed_one_of[] = {"informed_at", "exception", NULL};
static const obligo_field fields_informed[] = {
    REQ("report_id", S),
    OPT("informed_at", T),
    OPT("count", N),
    OPT_ENUM("exception", enum_exception),
    END,
};
static const obligo_schema schema_informed = {
    .fields = fields_informed, .one_of = informed_one_of, .one_of_named = "informed_at"};

/* test.assessed: a nested object of optional members, at least one of
 * which must be there; the error names the object. */
static const char *const theme_names[] = {"governance", "security", NULL};
static const obligo_field fields_themes[] = {
    OPT_ENUM("governance", enum_result),
    OPT_ENUM("security", enum_result),
    END,
};
static const obligo_schema schema_themes = {
    .fields = fields_themes, .one_of = theme_names, .one_of_named = NULL};
static const obligo_field fields_assessed[] = {
    REQ("application", S),
    REQ_OBJ("themes", schema_themes),
    END,
};
static const obligo_schema schema_assessed = SCHEMA(fields_assessed);

/* test.period: dates or times, and free-form members. */
static const obligo_field fields_period[] = {
    REQ("start", D),
    OPT("end", D),
    OPT("findings", A),
    END,
};
static const obligo_schema schema_period = SCHEMA(fields_period);

/* test.message: a required enum (for the quoting tests) and a bool. */
static const obligo_field fields_message[] = {
    REQ_ENUM("channel", enum_channel),
    REQ("personal_data", B),
    END,
};
static const obligo_schema schema_message = SCHEMA(fields_message);

/* test.closed: two required strings. */
static const obligo_field fields_closed[] = {REQ("report_id", S), REQ("measures", S), END};
static const obligo_schema schema_closed = SCHEMA(fields_closed);

/* A schema nested in itself: JSON deep enough runs out of path. */
static const obligo_schema schema_deep;
static const obligo_field fields_deep[] = {OPT_OBJ("child", schema_deep), END};
static const obligo_schema schema_deep = SCHEMA(fields_deep);

/* A plugin's mistakes: a kind the ABI does not have, an object kind with
 * no nested schema, a list kind with no values. */
static const obligo_field fields_faulty[] = {
    OPT("anything", OBLIGO_FIELD_OBJECT),
    OPT("strings", OBLIGO_FIELD_ENUM_LIST),
    OPT("broken", 99),
    END,
};
static const obligo_schema schema_faulty = SCHEMA(fields_faulty);

static const obligo_event_type test_types[] = {
    TYPE("test.report", &schema_report),
    TYPE("test.access", &schema_access),
    TYPE("test.informed", &schema_informed),
    TYPE("test.assessed", &schema_assessed),
    TYPE("test.period", &schema_period),
    TYPE("test.message", &schema_message),
    TYPE("test.closed", &schema_closed),
    TYPE("test.deep", &schema_deep),
    TYPE("test.faulty", &schema_faulty),
    /* Registered without a schema: any data, or none. */
    TYPE("test.free", NULL),
    /* Built against a header whose event type ended before `data`: the
     * validator must not read it (plugin.h: never past struct_size). */
    {.abi_version = OBLIGO_ABI_CURRENT,
     .struct_size = offsetof(obligo_event_type, data),
     .type = "test.old",
     .data = &schema_closed},
};
#define N_TYPES (sizeof test_types / sizeof test_types[0])

/* clang-format on */

static int lookups; /* how often the validator asked */

static const obligo_event_type *test_lookup(const void *ud, const char *type)
{
    const obligo_event_type *types = ud;
    lookups++;
    for (size_t i = 0; i < N_TYPES; i++)
        if (strcmp(types[i].type, type) == 0)
            return &types[i];
    return NULL;
}

/* As plugins_closest_type does for the plugins' namespaces: the "test"
 * namespace is owned, so a miss in it names the type it probably means. */
static const char *test_closest(const void *ud, const char *type)
{
    (void)ud;
    if (strncmp(type, "test.", 5) != 0 || test_lookup(test_types, type))
        return NULL;
    return "test.message";
}

static const validate_catalogue test_catalogue = {test_lookup, test_types, test_closest};
static const validate_catalogue empty_catalogue = {NULL, NULL, NULL};

/* ---- helpers ---- */

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

/* Checks a verdict: field NULL means it must pass; otherwise it must be
 * rejected naming exactly that field and, when message is given, with
 * exactly that message. Clears res. */
static void test_verdict(int rc, validate_result *res, const char *field, const char *message,
                         const char *file, int line)
{
    if (!field) {
        if (rc != 0)
            print_error("unexpected rejection: %s: %s\n", res->field ? res->field : "(null)",
                        res->message ? res->message : "(null)");
        _assert_int_equal(rc, 0, file, line);
        _assert_true(res->field == NULL && res->message == NULL, "result left empty", file, line);
    } else {
        if (rc == 0)
            print_error("unexpected acceptance, wanted field %s\n", field);
        _assert_int_equal(rc, OBLIGO_EINVAL, file, line);
        _assert_true(res->field != NULL && res->message != NULL, "result filled", file, line);
        _assert_string_equal(res->field, field, file, line);
        if (message)
            _assert_string_equal(res->message, message, file, line);
    }
    validate_result_clear(res);
    _assert_true(res->field == NULL && res->message == NULL, "cleared", file, line);
}

/* Validates a parsed event against cat and checks the verdict. */
static void test_check_json(const cJSON *event, const validate_catalogue *cat, int allow_unknown,
                            const char *field, const char *message, const char *file, int line)
{
    validate_result res = {(char *)"garbage", (char *)"garbage"};
    int rc = validate_event(event, cat, allow_unknown, &res);
    test_verdict(rc, &res, field, message, file, line);
}

static void test_check_text(const char *text, const validate_catalogue *cat, int allow_unknown,
                            const char *field, const char *message, const char *file, int line)
{
    cJSON *event = cJSON_Parse(text);
    _assert_true(event != NULL, "test JSON parses", file, line);
    test_check_json(event, cat, allow_unknown, field, message, file, line);
    cJSON_Delete(event);
}

static void test_check_event(const char *type, const char *data, const char *field,
                             const char *message, const char *file, int line)
{
    char *text = test_event(type, data);
    test_check_text(text, &test_catalogue, 0, field, message, file, line);
    free(text);
}

/* Validates data (JSON text) with validate_value under path. */
static void test_check_value(const char *json, const obligo_schema *schema, const char *path,
                             const char *field, const char *message, const char *file, int line)
{
    cJSON *value = cJSON_Parse(json);
    _assert_true(value != NULL, "test JSON parses", file, line);
    validate_result res = {(char *)"garbage", (char *)"garbage"};
    int rc = validate_value(value, schema, path, &res);
    test_verdict(rc, &res, field, message, file, line);
    cJSON_Delete(value);
}

#define OK_TEXT(text, allow)                                                                       \
    test_check_text((text), &test_catalogue, (allow), NULL, NULL, __FILE__, __LINE__)
#define BAD_TEXT(text, allow, field)                                                               \
    test_check_text((text), &test_catalogue, (allow), (field), NULL, __FILE__, __LINE__)
#define BAD_TEXT_MSG(text, allow, field, msg)                                                      \
    test_check_text((text), &test_catalogue, (allow), (field), (msg), __FILE__, __LINE__)
#define OK_DATA(type, data) test_check_event((type), (data), NULL, NULL, __FILE__, __LINE__)
#define BAD_DATA(type, data, field)                                                                \
    test_check_event((type), (data), (field), NULL, __FILE__, __LINE__)
#define BAD_DATA_MSG(type, data, field, msg)                                                       \
    test_check_event((type), (data), (field), (msg), __FILE__, __LINE__)
#define OK_VALUE(json, schema, path)                                                               \
    test_check_value((json), (schema), (path), NULL, NULL, __FILE__, __LINE__)
#define BAD_VALUE(json, schema, path, field, msg)                                                  \
    test_check_value((json), (schema), (path), (field), (msg), __FILE__, __LINE__)

/* The smallest valid data of every test type with a schema, and the member
 * that empty data is missing first. */
static const struct {
    const char *type;
    const char *data;
    const char *first_required;
} minimal[] = {
    {"test.report",
     "{\"report_id\":\"B-1\",\"aware_at\":\"2026-02-02T09:00:00+01:00\",\"description\":\"x\"}",
     "data.report_id"},
    {"test.access", "{\"user\":{\"id\":\"u-1\"},\"client_id\":\"C-1\",\"action\":\"read\"}",
     "data.user"},
    {"test.informed", "{\"report_id\":\"B-1\",\"informed_at\":\"2026-02-04T10:00:00+01:00\"}",
     "data.report_id"},
    {"test.assessed", "{\"application\":\"app\",\"themes\":{\"governance\":\"pass\"}}",
     "data.application"},
    {"test.period", "{\"start\":\"2026-01-01\"}", "data.start"},
    {"test.message", "{\"channel\":\"zorgmail\",\"personal_data\":false}", "data.channel"},
    {"test.closed", "{\"report_id\":\"B-1\",\"measures\":\"laptops encrypted\"}", "data.report_id"},
};
#define N_MINIMAL (sizeof minimal / sizeof minimal[0])

static void test_minimal_event_of_every_type_passes(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_MINIMAL; i++) {
        OK_DATA(minimal[i].type, minimal[i].data);
        /* The same event with empty data names the first required field. */
        char *text = test_event(minimal[i].type, "{}");
        char want[128];
        snprintf(want, sizeof want, "%s is required for %s", minimal[i].first_required,
                 minimal[i].type);
        test_check_text(text, &test_catalogue, 0, minimal[i].first_required, want, __FILE__,
                        __LINE__);
        free(text);
    }
}

static void test_full_events_pass(void **state)
{
    (void)state;
    OK_DATA("test.report",
            "{\"report_id\":\"B-1\",\"aware_at\":\"2026-02-02T09:00:00.250+01:00\","
            "\"description\":\"laptop lost\",\"cause\":\"lost_device\",\"personal_data\":\"yes\","
            "\"categories\":[\"health\",\"bsn\",\"contact\"],\"persons_affected\":120,"
            "\"records_affected\":0,\"unintelligible\":false,"
            "\"reporter\":{\"name\":\"Jan\",\"phone\":\"0612345678\"}}");
    OK_DATA("test.access", "{\"user\":{\"id\":\"u-1\",\"role\":\"nurse\"},\"client_id\":\"C-1\","
                           "\"action\":\"update\",\"emergency\":true}");
    OK_DATA("test.period", "{\"start\":\"2026-01-01T00:00:00+01:00\",\"end\":\"2026-01-31\","
                           "\"findings\":[{\"n\":1}]}");
    OK_DATA("test.period", "{\"start\":\"2026-01-01\",\"findings\":\"A, B\"}");
    OK_DATA("test.assessed",
            "{\"application\":\"app\",\"themes\":{\"governance\":\"pass\",\"security\":"
            "\"partial\"}}");
    /* Empty lists are fine: no categories known yet. */
    OK_DATA("test.report", "{\"report_id\":\"B-1\",\"aware_at\":\"2026-02-02T09:00:00Z\","
                           "\"description\":\"x\",\"categories\":[]}");
}

static void test_unknown_fields_and_nulls_allowed(void **state)
{
    (void)state;
    /* Forward compatibility: members the schema does not name pass. */
    OK_DATA("test.closed", "{\"report_id\":\"B-1\",\"measures\":\"m\",\"v2_field\":{\"a\":[1,2]}}");
    OK_DATA("test.access", "{\"user\":{\"id\":\"u\",\"badge\":7},\"client_id\":\"C\","
                           "\"action\":\"read\"}");
    OK_DATA("test.assessed",
            "{\"application\":\"app\",\"themes\":{\"governance\":\"fail\",\"ai\":\"pass\"}}");
    /* null is absent: fine for an optional field... */
    OK_DATA("test.report", "{\"report_id\":\"B-1\",\"aware_at\":\"2026-02-02T09:00:00Z\","
                           "\"description\":\"x\",\"cause\":null,\"reporter\":null}");
    /* ...and "required" for a required one. */
    BAD_DATA_MSG("test.closed", "{\"report_id\":null,\"measures\":\"m\"}", "data.report_id",
                 "data.report_id is required for test.closed");
}

/* ---- text ---- */

/* Every string and member name must be well-formed UTF-8, wherever it is:
 * a schema's field, a member no schema names, an unknown type's data, the
 * envelope. cJSON passes raw bytes through, so the texts below hold them. */
static void test_utf8_everywhere(void **state)
{
    (void)state;
    /* well formed: 2-, 3- and 4-byte characters, and escapes */
    OK_DATA("test.closed", "{\"report_id\":\"B-\xc3\xa9\",\"measures\":\"\xe2\x82\xac 5 "
                           "\xf0\x9f\x98\x80\",\"note\":\"\\u00e9\\ud83d\\ude00\"}");
    /* a stray continuation byte in a schema field */
    BAD_DATA_MSG("test.closed", "{\"report_id\":\"B-\x80\",\"measures\":\"m\"}", "data.report_id",
                 "data.report_id is not valid UTF-8 (at byte 2): events are JSON, which is UTF-8");
    /* in a member no schema names, nested, and in an array */
    BAD_DATA("test.closed", "{\"report_id\":\"B\",\"measures\":\"m\",\"x\":{\"y\":\"\xff\"}}",
             "data.x.y");
    BAD_DATA("test.closed", "{\"report_id\":\"B\",\"measures\":\"m\",\"x\":[\"a\",\"\xc3\"]}",
             "data.x[1]");
    /* overlong "/" (C0 AF), a UTF-16 surrogate written as UTF-8 (ED A0 80),
     * above U+10FFFF (F4 90 80 80), a sequence cut short at the end */
    BAD_DATA("test.closed", "{\"report_id\":\"\xc0\xaf\",\"measures\":\"m\"}", "data.report_id");
    BAD_DATA("test.closed", "{\"report_id\":\"\xed\xa0\x80\",\"measures\":\"m\"}",
             "data.report_id");
    BAD_DATA("test.closed", "{\"report_id\":\"\xf4\x90\x80\x80\",\"measures\":\"m\"}",
             "data.report_id");
    BAD_DATA("test.closed", "{\"report_id\":\"B\xe2\x82\",\"measures\":\"m\"}", "data.report_id");
    /* a member name */
    BAD_DATA_MSG("test.closed", "{\"report_id\":\"B\",\"measures\":\"m\",\"k\xfe\":1}", "data",
                 "data has a member name that is not valid UTF-8 (at byte 1): events are JSON, "
                 "which is UTF-8");
    /* an unknown type's data, and the envelope */
    BAD_TEXT("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"x.unknown\","
             "\"time\":\"2026-02-02T09:00:00Z\",\"data\":{\"a\":\"\x80\"}}",
             1, "data.a");
    BAD_TEXT("{\"specversion\":\"1.0\",\"id\":\"\xe9\",\"source\":\"s\",\"type\":\"x.unknown\","
             "\"time\":\"2026-02-02T09:00:00Z\"}",
             1, "id");
}

/* ---- the envelope ---- */

static void test_envelope_not_object(void **state)
{
    (void)state;
    BAD_TEXT_MSG("[1,2]", 1, "", "an event must be a JSON object; got a list");
    BAD_TEXT("\"event\"", 1, "");
    test_check_json(NULL, &test_catalogue, 1, "", "an event must be a JSON object; got nothing",
                    __FILE__, __LINE__);
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

    BAD_DATA_MSG("test.closed", NULL, "data", "data is required for test.closed");
    BAD_DATA_MSG("test.closed", "[1]", "data",
                 "data must be an object for test.closed; got a list");
    BAD_DATA("test.closed", "\"text\"", "data");
    BAD_DATA("test.closed", "null", "data");
}

static void test_envelope_order(void **state)
{
    (void)state;
    /* Everything wrong at once: the first check in order is reported. */
    BAD_TEXT("{\"specversion\":\"2\",\"id\":\"\",\"time\":\"bad\",\"data\":1}", 1, "specversion");
    BAD_TEXT("{\"specversion\":\"1.0\",\"id\":\"\",\"time\":\"bad\",\"data\":1}", 1, "id");
    BAD_TEXT("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"test.message\","
             "\"time\":\"bad\",\"subject\":1,\"data\":1}",
             1, "time");
    BAD_TEXT("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"test.message\","
             "\"time\":\"2026-02-02T09:15:00Z\",\"subject\":1,\"data\":1}",
             1, "subject");
    /* An unknown type is refused before the time is looked at. */
    BAD_TEXT("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"x.y\","
             "\"time\":\"bad\"}",
             0, "type");
}

/* ---- the catalogue ---- */

static void test_unknown_type(void **state)
{
    (void)state;
    char buf[512];
    snprintf(buf, sizeof buf, "{" ENVELOPE ",\"type\":\"com.example.thing\"}");
    OK_TEXT(buf, 1); /* no data at all */
    snprintf(buf, sizeof buf, "{" ENVELOPE ",\"type\":\"com.example.thing\",\"data\":[1,\"x\"]}");
    OK_TEXT(buf, 1);
    snprintf(buf, sizeof buf, "{" ENVELOPE ",\"type\":\"com.example.thing\",\"data\":\"x\"}");
    OK_TEXT(buf, 1);
    BAD_TEXT_MSG(buf, 0, "type",
                 "type \"com.example.thing\" is not in the event catalogue (no loaded plugin "
                 "registers it), and unknown types are not accepted by this configuration");
    /* A prefix of a known type is not that type. */
    snprintf(buf, sizeof buf, "{" ENVELOPE ",\"type\":\"test\",\"data\":{}}");
    BAD_TEXT(buf, 0, "type");
    /* A known type is judged the same either way. */
    char *text = test_event("test.closed", "{\"report_id\":\"B\",\"measures\":\"m\"}");
    OK_TEXT(text, 0);
    OK_TEXT(text, 1);
    free(text);
    text = test_event("test.closed", "{\"report_id\":\"B\"}");
    BAD_TEXT(text, 0, "data.measures");
    BAD_TEXT(text, 1, "data.measures");
    free(text);
}

static void test_no_catalogue(void **state)
{
    (void)state;
    /* Without a catalogue (NULL, or one without a lookup) no type is known:
     * every type passes with any data when unknown types are allowed, and
     * every type is refused when they are not. */
    char *text = test_event("test.closed", "{\"report_id\":7}");
    const validate_catalogue *none[] = {NULL, &empty_catalogue};
    for (size_t i = 0; i < 2; i++) {
        test_check_text(text, none[i], 1, NULL, NULL, __FILE__, __LINE__);
        test_check_text(text, none[i], 0, "type",
                        "type \"test.closed\" is not in the event catalogue (no loaded plugin "
                        "registers it), and unknown types are not accepted by this configuration",
                        __FILE__, __LINE__);
    }
    free(text);
}

static void test_misspelt_type_in_an_owned_namespace(void **state)
{
    (void)state;
    /* refused even where unknown types are accepted: it would never fire */
    char *text = test_event("test.mesage", "{\"channel\":\"siilo\"}");
    for (int allow = 0; allow < 2; allow++)
        test_check_text(text, &test_catalogue, allow, "type",
                        "type \"test.mesage\" is not registered, but its namespace belongs to a "
                        "loaded plugin: did you mean \"test.message\"? (an event of a type no "
                        "rule knows would be accepted and never judged)",
                        __FILE__, __LINE__);
    free(text);
    /* a type of a namespace nobody owns is the organisation's own */
    text = test_event("org.example.own", "{\"x\":1}");
    test_check_text(text, &test_catalogue, 1, NULL, NULL, __FILE__, __LINE__);
    free(text);
}

static void test_lookup_gets_ud_and_type(void **state)
{
    (void)state;
    /* The catalogue is asked once per event, after the envelope's strings
     * passed; test_lookup finds nothing unless ud is the table. */
    lookups = 0;
    OK_DATA("test.message", "{\"channel\":\"siilo\",\"personal_data\":true}");
    assert_int_equal(lookups, 1);
    BAD_TEXT("{\"specversion\":\"1.0\",\"id\":\"\"}", 0, "id");
    assert_int_equal(lookups, 1);
}

static void test_type_without_schema(void **state)
{
    (void)state;
    /* A type registered with data NULL takes any data, or none, even when
     * unknown types are refused. */
    OK_DATA("test.free", NULL);
    OK_DATA("test.free", "{\"anything\":[1,2]}");
    OK_DATA("test.free", "[1,\"x\"]");
    OK_DATA("test.free", "\"text\"");
    /* So does a type whose struct ends before its data member. */
    OK_DATA("test.old", "{\"report_id\":7}");
    OK_DATA("test.old", NULL);
    /* The envelope is still checked. */
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"test.free\"}");
    BAD_TEXT(buf, 0, "time");
}

/* ---- data ---- */

static void test_missing_required(void **state)
{
    (void)state;
    BAD_DATA_MSG("test.report", "{\"aware_at\":\"2026-02-02T09:00:00Z\",\"description\":\"x\"}",
                 "data.report_id", "data.report_id is required for test.report");
    BAD_DATA("test.report", "{\"report_id\":\"B\",\"description\":\"x\"}", "data.aware_at");
    BAD_DATA("test.message", "{\"channel\":\"siilo\"}", "data.personal_data");
    BAD_DATA("test.access", "{\"user\":{\"id\":\"u\"},\"client_id\":\"C\"}", "data.action");
    /* An empty identifier is a missing one. */
    BAD_DATA_MSG("test.closed", "{\"report_id\":\"\",\"measures\":\"m\"}", "data.report_id",
                 "data.report_id must not be empty");
}

static void test_wrong_types(void **state)
{
    (void)state;
    /* string given a bool, a number, an object */
    BAD_DATA_MSG("test.closed", "{\"report_id\":true,\"measures\":\"m\"}", "data.report_id",
                 "data.report_id must be a string; got a boolean");
    BAD_DATA("test.closed", "{\"report_id\":7,\"measures\":\"m\"}", "data.report_id");
    BAD_DATA("test.closed", "{\"report_id\":\"B\",\"measures\":{}}", "data.measures");
    /* bool given a string and a number */
    BAD_DATA_MSG("test.message", "{\"channel\":\"siilo\",\"personal_data\":\"true\"}",
                 "data.personal_data", "data.personal_data must be true or false; got a string");
    BAD_DATA("test.message", "{\"channel\":\"siilo\",\"personal_data\":1}", "data.personal_data");
    /* number given a string, a negative, a fraction, a huge one */
    const char *head = "{\"report_id\":\"B\",\"aware_at\":\"2026-02-02T09:00:00Z\","
                       "\"description\":\"x\",";
    char buf[512];
    snprintf(buf, sizeof buf, "%s\"persons_affected\":\"12\"}", head);
    BAD_DATA_MSG("test.report", buf, "data.persons_affected",
                 "data.persons_affected must be a number; got a string");
    snprintf(buf, sizeof buf, "%s\"records_affected\":-3}", head);
    BAD_DATA_MSG("test.report", buf, "data.records_affected",
                 "data.records_affected must be a whole number from 0 to 9007199254740991; got -3");
    snprintf(buf, sizeof buf, "%s\"persons_affected\":2.5}", head);
    BAD_DATA("test.report", buf, "data.persons_affected");
    snprintf(buf, sizeof buf, "%s\"persons_affected\":1e300}", head);
    BAD_DATA("test.report", buf, "data.persons_affected");
    snprintf(buf, sizeof buf, "%s\"persons_affected\":9007199254740991}", head);
    OK_DATA("test.report", buf);
    BAD_DATA("test.informed",
             "{\"report_id\":\"B\",\"exception\":\"risk_mitigated\",\"count\":true}", "data.count");
    /* object given a string or a list; a nested member of the wrong kind */
    BAD_DATA_MSG("test.access", "{\"user\":\"u-1\",\"client_id\":\"C\",\"action\":\"read\"}",
                 "data.user", "data.user must be an object; got a string");
    snprintf(buf, sizeof buf, "%s\"reporter\":[\"Jan\"]}", head);
    BAD_DATA("test.report", buf, "data.reporter");
    snprintf(buf, sizeof buf, "%s\"reporter\":{\"phone\":612345678}}", head);
    BAD_DATA("test.report", buf, "data.reporter.phone");
    /* time given a number */
    BAD_DATA_MSG("test.informed", "{\"report_id\":\"B\",\"informed_at\":1770000000}",
                 "data.informed_at", "data.informed_at must be a string; got a number");
}

static void test_bad_enum(void **state)
{
    (void)state;
    const char *head = "{\"report_id\":\"B\",\"aware_at\":\"2026-02-02T09:00:00Z\","
                       "\"description\":\"x\",";
    char buf[512];
    snprintf(buf, sizeof buf, "%s\"cause\":\"flood\"}", head);
    BAD_DATA_MSG("test.report", buf, "data.cause",
                 "data.cause must be one of lost_device, theft, other; got \"flood\"");
    snprintf(buf, sizeof buf, "%s\"personal_data\":true}", head);
    BAD_DATA_MSG("test.report", buf, "data.personal_data",
                 "data.personal_data must be a string; got a boolean");
    /* Enums are case-sensitive: the rules compare exact strings. */
    BAD_DATA("test.access", "{\"user\":{\"id\":\"u\"},\"client_id\":\"C\",\"action\":\"Read\"}",
             "data.action");
    BAD_DATA("test.message", "{\"channel\":\"fax\",\"personal_data\":true}", "data.channel");
    /* A required enum given an empty string is a bad value, not a missing
     * one: enums are checked before emptiness. */
    BAD_DATA_MSG("test.message", "{\"channel\":\"\",\"personal_data\":true}", "data.channel",
                 "data.channel must be one of zorgmail, siilo, other; got \"\"");
}

static void test_bad_list_element(void **state)
{
    (void)state;
    const char *head = "{\"report_id\":\"B\",\"aware_at\":\"2026-02-02T09:00:00Z\","
                       "\"description\":\"x\",";
    char buf[512];
    snprintf(buf, sizeof buf, "%s\"categories\":[\"health\",\"bsn\",\"dna\"]}", head);
    BAD_DATA_MSG("test.report", buf, "data.categories[2]",
                 "data.categories[2] must be one of health, bsn, contact; got \"dna\"");
    snprintf(buf, sizeof buf, "%s\"categories\":[\"health\",3]}", head);
    BAD_DATA_MSG("test.report", buf, "data.categories[1]",
                 "data.categories[1] must be a string; got a number");
    snprintf(buf, sizeof buf, "%s\"categories\":\"health\"}", head);
    BAD_DATA_MSG("test.report", buf, "data.categories",
                 "data.categories must be a list of strings; got a string");
}

static void test_data_times(void **state)
{
    (void)state;
    const char *head = "{\"report_id\":\"B\",\"description\":\"x\",\"aware_at\":";
    char buf[512];
    snprintf(buf, sizeof buf, "%s\"2026-02-30T10:00:00+01:00\"}", head);
    BAD_DATA_MSG("test.report", buf, "data.aware_at",
                 "data.aware_at \"2026-02-30T10:00:00+01:00\" is not an RFC 3339 date-time "
                 "with offset");
    snprintf(buf, sizeof buf, "%s\"2026-02-02T10:00:00\"}", head);
    BAD_DATA("test.report", buf, "data.aware_at"); /* no offset */
    snprintf(buf, sizeof buf, "%s\"2026-02-02T10:00:00+25:00\"}", head);
    BAD_DATA("test.report", buf, "data.aware_at");
    snprintf(buf, sizeof buf, "%s\"2026-02-02\"}", head);
    BAD_DATA("test.report", buf, "data.aware_at"); /* a date alone is not an instant */
    snprintf(buf, sizeof buf, "%s\"2025-02-29T10:00:00Z\"}", head);
    BAD_DATA("test.report", buf, "data.aware_at"); /* 2025 is no leap year */
    snprintf(buf, sizeof buf, "%s\"2026-02-02T24:00:00Z\"}", head);
    BAD_DATA("test.report", buf, "data.aware_at");
    snprintf(buf, sizeof buf, "%s\"2024-02-29T23:59:59.999-05:30\"}", head);
    OK_DATA("test.report", buf);
}

static void test_date_or_time(void **state)
{
    (void)state;
    OK_DATA("test.period", "{\"start\":\"2024-02-29\"}");
    OK_DATA("test.period", "{\"start\":\"2024-02-29T00:00:00+01:00\"}");
    BAD_DATA_MSG("test.period", "{\"start\":\"2026-02-30\"}", "data.start",
                 "data.start \"2026-02-30\" is neither a date (YYYY-MM-DD) nor an RFC 3339 "
                 "date-time with offset");
    BAD_DATA("test.period", "{\"start\":\"2026-13-01\"}", "data.start");
    BAD_DATA("test.period", "{\"start\":\"2026-01-01T00:00:00\"}", "data.start");
    BAD_DATA("test.period", "{\"start\":\"yesterday\"}", "data.start");
    BAD_DATA("test.period", "{\"start\":\"2026-01-01\",\"end\":\"31-01-2026\"}", "data.end");
    BAD_DATA("test.period", "{\"start\":20260101}", "data.start");
}

static void test_nested_object(void **state)
{
    (void)state;
    BAD_DATA_MSG("test.access",
                 "{\"user\":{\"role\":\"nurse\"},\"client_id\":\"C\",\"action\":\"read\"}",
                 "data.user.id", "data.user.id is required for test.access");
    BAD_DATA("test.access", "{\"user\":{\"id\":5},\"client_id\":\"C\",\"action\":\"read\"}",
             "data.user.id");
    BAD_DATA_MSG("test.access", "{\"client_id\":\"C\",\"action\":\"read\"}", "data.user",
                 "data.user is required for test.access");
}

static void test_one_of_naming_the_object(void **state)
{
    (void)state;
    BAD_DATA_MSG("test.assessed", "{\"application\":\"app\",\"themes\":{\"governance\":\"good\"}}",
                 "data.themes.governance",
                 "data.themes.governance must be one of pass, partial, fail; got \"good\"");
    BAD_DATA("test.assessed",
             "{\"application\":\"app\",\"themes\":{\"governance\":\"pass\",\"security\":1}}",
             "data.themes.security");
    BAD_DATA_MSG("test.assessed", "{\"application\":\"app\",\"themes\":{}}", "data.themes",
                 "data.themes must contain at least one of governance, security");
    BAD_DATA("test.assessed", "{\"application\":\"app\",\"themes\":{\"other\":\"pass\"}}",
             "data.themes");
    /* null members are absent for the one-of rule too */
    BAD_DATA("test.assessed", "{\"application\":\"app\",\"themes\":{\"governance\":null}}",
             "data.themes");
    BAD_DATA("test.assessed", "{\"application\":\"app\"}", "data.themes");
    BAD_DATA("test.assessed", "{\"application\":\"app\",\"themes\":[\"pass\"]}", "data.themes");
}

static void test_one_of_naming_a_member(void **state)
{
    (void)state;
    BAD_DATA_MSG("test.informed", "{\"report_id\":\"B\",\"count\":3}", "data.informed_at",
                 "data.informed_at is required for test.informed unless data.exception is "
                 "given");
    OK_DATA("test.informed", "{\"report_id\":\"B\",\"exception\":\"unintelligible\"}");
    OK_DATA("test.informed",
            "{\"report_id\":\"B\",\"informed_at\":\"2026-02-04T10:00:00Z\",\"count\":40}");
    BAD_DATA("test.informed", "{\"report_id\":\"B\",\"exception\":\"none\"}", "data.exception");
    BAD_DATA("test.informed", "{\"report_id\":\"B\",\"informed_at\":\"2026-02-04\"}",
             "data.informed_at");
    /* Required members come before the one-of rule. */
    BAD_DATA("test.informed", "{\"exception\":\"risk_mitigated\"}", "data.report_id");
}

static void test_faulty_schemas(void **state)
{
    (void)state;
    /* An object kind without a nested schema takes any object; a list kind
     * without values takes any strings. */
    OK_DATA("test.faulty", "{\"anything\":{\"a\":1},\"strings\":[\"x\",\"y\"]}");
    BAD_DATA("test.faulty", "{\"anything\":[1]}", "data.anything");
    BAD_DATA("test.faulty", "{\"strings\":[\"x\",1]}", "data.strings[1]");
    /* A kind the ABI does not have is reported, never passed over. */
    BAD_DATA_MSG("test.faulty", "{\"broken\":1}", "data.broken",
                 "data.broken cannot be checked: its schema has an unknown kind 99 (a fault in "
                 "the plugin that registered it)");
    OK_DATA("test.faulty", "{}");
}

static void test_nested_too_deeply(void **state)
{
    (void)state;
    /* 60 levels of "child" make a path longer than the validator's 256
     * bytes: refused with a message, not cut short or overrun. */
    char data[1024] = "";
    for (int i = 0; i < 60; i++)
        strcat(data, "{\"child\":");
    strcat(data, "{}");
    for (int i = 0; i < 60; i++)
        strcat(data, "}");
    char *text = test_event("test.deep", data);
    cJSON *event = cJSON_Parse(text);
    free(text);
    assert_non_null(event);
    validate_result res;
    assert_int_equal(validate_event(event, &test_catalogue, 0, &res), OBLIGO_EINVAL);
    assert_non_null(strstr(res.message, "is nested too deeply"));
    assert_true(strlen(res.field) < 256);
    validate_result_clear(&res);
    cJSON_Delete(event);
    /* Ten levels are fine. */
    OK_DATA("test.deep", "{\"child\":{\"child\":{\"child\":{\"child\":{\"child\":{\"child\":"
                         "{\"child\":{\"child\":{\"child\":{\"child\":{}}}}}}}}}}}");
}

/* ---- validate_value: any object, e.g. a plugin's configuration ---- */

static void test_value_with_path(void **state)
{
    (void)state;
    const char *p = "plugins.fhir";
    OK_VALUE("{\"report_id\":\"B\",\"measures\":\"m\"}", &schema_closed, p);
    BAD_VALUE("{\"measures\":\"m\"}", &schema_closed, p, "plugins.fhir.report_id",
              "plugins.fhir.report_id is required");
    BAD_VALUE("{\"report_id\":1,\"measures\":\"m\"}", &schema_closed, p, "plugins.fhir.report_id",
              "plugins.fhir.report_id must be a string; got a number");
    BAD_VALUE("{\"user\":{\"role\":\"r\"},\"client_id\":\"C\",\"action\":\"read\"}", &schema_access,
              p, "plugins.fhir.user.id", "plugins.fhir.user.id is required");
    BAD_VALUE("{\"report_id\":\"B\",\"aware_at\":\"2026-02-02T09:00:00Z\",\"description\":\"x\","
              "\"categories\":[\"bsn\",\"dna\"]}",
              &schema_report, p, "plugins.fhir.categories[1]",
              "plugins.fhir.categories[1] must be one of health, bsn, contact; got \"dna\"");
    BAD_VALUE("{\"report_id\":\"B\"}", &schema_informed, p, "plugins.fhir.informed_at",
              "plugins.fhir.informed_at is required unless plugins.fhir.exception is given");
    BAD_VALUE("{}", &schema_themes, p, "plugins.fhir",
              "plugins.fhir must contain at least one of governance, security");
    BAD_VALUE("[]", &schema_closed, p, "plugins.fhir",
              "plugins.fhir must be an object; got a list");
}

static void test_value_without_path(void **state)
{
    (void)state;
    OK_VALUE("{\"governance\":\"pass\"}", &schema_themes, "");
    BAD_VALUE("{\"measures\":\"m\"}", &schema_closed, "", "report_id", "report_id is required");
    BAD_VALUE("{\"user\":{},\"client_id\":\"C\",\"action\":\"read\"}", &schema_access, "",
              "user.id", "user.id is required");
    BAD_VALUE("{\"report_id\":\"B\"}", &schema_informed, "", "informed_at",
              "informed_at is required unless exception is given");
    BAD_VALUE("{}", &schema_themes, "", "",
              "the object must contain at least one of governance, "
              "security");
    BAD_VALUE("7", &schema_closed, "", "", "the value must be an object; got a number");
    /* A NULL path is the same as "". */
    BAD_VALUE("{\"measures\":\"m\"}", &schema_closed, NULL, "report_id", "report_id is required");
    /* A NULL schema accepts anything at all. */
    OK_VALUE("[1,2]", NULL, "plugins.x");
    validate_result res = {(char *)"garbage", NULL};
    assert_int_equal(validate_value(NULL, NULL, "", &res), 0);
    assert_null(res.field);
    assert_int_equal(validate_value(NULL, &schema_closed, "", &res), OBLIGO_EINVAL);
    assert_string_equal(res.message, "the value must be an object; got nothing");
    validate_result_clear(&res);
    assert_int_equal(validate_value(NULL, &schema_closed, "", NULL), OBLIGO_EINVAL);
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
    const validate_catalogue *cat = &test_catalogue;
    char *text = test_event("test.report", minimal[0].data);
    cJSON *event = cJSON_Parse(text);
    free(text);
    assert_non_null(event);
    cJSON *data = cJSON_GetObjectItemCaseSensitive(event, "data");

    char *at_limit = test_repeat('a', 64 * 1024);
    char *over = test_repeat('a', 64 * 1024 + 1);
    test_set_string(data, "description", at_limit);
    test_check_json(event, cat, 0, NULL, NULL, __FILE__, __LINE__);
    test_set_string(data, "description", over);
    test_check_json(event, cat, 0, "data.description",
                    "data.description is too long: 65537 bytes, at most 65536 are allowed",
                    __FILE__, __LINE__);
    test_set_string(data, "description", "x");

    /* Inside nested objects and lists too. */
    cJSON *reporter = cJSON_AddObjectToObject(data, "reporter");
    assert_non_null(reporter);
    test_set_string(reporter, "name", over);
    test_check_json(event, cat, 0, "data.reporter.name", NULL, __FILE__, __LINE__);
    cJSON_DeleteItemFromObjectCaseSensitive(data, "reporter");
    cJSON *categories = cJSON_AddArrayToObject(data, "categories");
    assert_non_null(categories);
    cJSON_AddItemToArray(categories, cJSON_CreateString(over));
    test_check_json(event, cat, 0, "data.categories[0]", NULL, __FILE__, __LINE__);
    cJSON_DeleteItemFromObjectCaseSensitive(data, "categories");

    test_set_string(event, "subject", over);
    test_check_json(event, cat, 0, "subject", NULL, __FILE__, __LINE__);
    cJSON_DeleteItemFromObjectCaseSensitive(event, "subject");

    /* Envelope identifiers stop at 1024 bytes. */
    char *id_limit = test_repeat('i', 1024);
    char *id_over = test_repeat('i', 1025);
    test_set_string(event, "id", id_limit);
    test_set_string(event, "source", id_limit);
    test_check_json(event, cat, 0, NULL, NULL, __FILE__, __LINE__);
    test_set_string(event, "id", id_over);
    test_check_json(event, cat, 0, "id", "id is too long: 1025 bytes, at most 1024 are allowed",
                    __FILE__, __LINE__);
    test_set_string(event, "id", "1");
    test_set_string(event, "source", id_over);
    test_check_json(event, cat, 0, "source", NULL, __FILE__, __LINE__);
    test_set_string(event, "source", "s");
    test_set_string(event, "type", id_over);
    test_check_json(event, cat, 1, "type", NULL, __FILE__, __LINE__);

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
             "data.channel must be one of zorgmail, siilo, other; got \"%.64s...\"", long_value);
    BAD_DATA_MSG("test.message", data, "data.channel", want);
    free(long_value);

    /* Quotes and control characters are escaped; a multi-byte character is
     * never cut in half (63 'e' then a 2-byte "é" straddling byte 64). */
    BAD_DATA_MSG(
        "test.message", "{\"channel\":\"a\\\"b\\nc\\t\\u0001\",\"personal_data\":true}",
        "data.channel",
        "data.channel must be one of zorgmail, siilo, other; got \"a\\\"b\\nc\\t\\u0001\"");
    char *e63 = test_repeat('e', 63);
    snprintf(data, sizeof data, "{\"channel\":\"%s\xc3\xa9xyz\",\"personal_data\":true}", e63);
    snprintf(want, sizeof want, "data.channel must be one of zorgmail, siilo, other; got \"%s...\"",
             e63);
    BAD_DATA_MSG("test.message", data, "data.channel", want);
    free(e63);
}

/* ---- the result contract ---- */

static void test_out_of_memory(void **state)
{
    (void)state;
    char *text = test_event("test.closed", "{\"measures\":\"m\"}");
    cJSON *event = cJSON_Parse(text);
    free(text);
    cJSON *value = cJSON_Parse("{}");
    for (long n = 1; n <= 2; n++) {
        validate_result res = {NULL, NULL};
        alloc_fail_after(n);
        int rc = validate_event(event, &test_catalogue, 0, &res);
        alloc_fail_after(0);
        assert_int_equal(rc, OBLIGO_ENOMEM);
        assert_null(res.field);
        assert_null(res.message);
        alloc_fail_after(n);
        rc = validate_value(value, &schema_closed, "x", &res);
        alloc_fail_after(0);
        assert_int_equal(rc, OBLIGO_ENOMEM);
        assert_null(res.field);
        assert_null(res.message);
    }
    cJSON_Delete(value);
    /* A valid event needs no memory at all. */
    cJSON_Delete(event);
    text = test_event("test.closed", "{\"report_id\":\"B\",\"measures\":\"m\"}");
    event = cJSON_Parse(text);
    free(text);
    alloc_fail_after(1);
    validate_result res;
    int rc = validate_event(event, &test_catalogue, 0, &res);
    alloc_fail_after(0);
    assert_int_equal(rc, 0);
    cJSON_Delete(event);
}

static void test_null_result_and_clear(void **state)
{
    (void)state;
    cJSON *event = cJSON_Parse("[]");
    assert_int_equal(validate_event(event, &test_catalogue, 1, NULL), OBLIGO_EINVAL);
    assert_int_equal(validate_event(event, NULL, 1, NULL), OBLIGO_EINVAL);
    cJSON_Delete(event);
    char *text = test_event("test.closed", "{}");
    event = cJSON_Parse(text);
    free(text);
    assert_int_equal(validate_event(event, &test_catalogue, 0, NULL), OBLIGO_EINVAL);
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
        cmocka_unit_test(test_utf8_everywhere),
        cmocka_unit_test(test_envelope_not_object),
        cmocka_unit_test(test_envelope_specversion),
        cmocka_unit_test(test_envelope_id_source_type),
        cmocka_unit_test(test_envelope_time),
        cmocka_unit_test(test_envelope_subject_and_data),
        cmocka_unit_test(test_envelope_order),
        cmocka_unit_test(test_unknown_type),
        cmocka_unit_test(test_no_catalogue),
        cmocka_unit_test(test_misspelt_type_in_an_owned_namespace),
        cmocka_unit_test(test_lookup_gets_ud_and_type),
        cmocka_unit_test(test_type_without_schema),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_bad_enum),
        cmocka_unit_test(test_bad_list_element),
        cmocka_unit_test(test_data_times),
        cmocka_unit_test(test_date_or_time),
        cmocka_unit_test(test_nested_object),
        cmocka_unit_test(test_one_of_naming_the_object),
        cmocka_unit_test(test_one_of_naming_a_member),
        cmocka_unit_test(test_faulty_schemas),
        cmocka_unit_test(test_nested_too_deeply),
        cmocka_unit_test(test_value_with_path),
        cmocka_unit_test(test_value_without_path),
        cmocka_unit_test(test_huge_strings),
        cmocka_unit_test(test_quotes_at_most_64_bytes),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_null_result_and_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
