/*
 * test_decode.c — unit tests for engine/decode/decode.c: data_base64 of
 * the CloudEvents JSON format (§3.1) and which media types are JSON, over
 * a one-type catalogue defined here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "decode.h"

static const obligo_field fields_report[] = {
    {.name = "report_id", .kind = OBLIGO_FIELD_STRING, .required = 1}, {.name = NULL}};
static const obligo_schema schema_report = {.fields = fields_report};
static const obligo_event_type type_report = {.abi_version = OBLIGO_ABI_CURRENT,
                                              .struct_size = sizeof(obligo_event_type),
                                              .type = "test.report",
                                              .data = &schema_report,
                                              .description = "a test type"};

static const obligo_event_type *lookup(const void *ud, const char *type)
{
    (void)ud;
    return strcmp(type, "test.report") == 0 ? &type_report : NULL;
}

static const validate_catalogue catalogue = {lookup, NULL, NULL};
static const decode_rules rules = {1 << 20, &catalogue, 1};

/* An event of type with the members after the envelope. */
static cJSON *decode(const char *type, const char *members, char **field, char **reason)
{
    char raw[2048];
    snprintf(raw, sizeof raw,
             "{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"urn:t\",\"type\":\"%s\","
             "\"time\":\"2026-02-02T09:15:00+01:00\"%s}",
             type, members);
    return decode_event(&rules, raw, strlen(raw), field, reason);
}

static void expect_refused(const char *type, const char *members, const char *field,
                           const char *want)
{
    char *f = NULL, *r = NULL;
    cJSON *ev = decode(type, members, &f, &r);
    assert_null(ev);
    assert_non_null(r);
    if (!f || strcmp(f, field) != 0 || !strstr(r, want))
        fail_msg("%s: got %s: %s, want %s: ...%s...", members, f ? f : "(no field)", r, field,
                 want);
    obligo_free(f);
    obligo_free(r);
}

static void test_data_base64_json_is_data(void **state)
{
    (void)state;
    char *f = NULL, *r = NULL;
    /* {"report_id":"R-1"}, with datacontenttype absent and JSON */
    const char *b64 = ",\"data_base64\":\"eyJyZXBvcnRfaWQiOiJSLTEifQ==\"";
    cJSON *ev = decode("test.report", b64, &f, &r);
    assert_non_null(ev);
    assert_null(cJSON_GetObjectItem(ev, "data_base64"));
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "data"), "report_id")->valuestring, "R-1");
    cJSON_Delete(ev);
    ev = decode("test.report",
                ",\"datacontenttype\":\"application/vnd.x+json; charset=utf-8\","
                "\"data_base64\":\"eyJyZXBvcnRfaWQiOiJSLTEifQ\"",
                &f, &r); /* no padding */
    assert_non_null(ev);
    assert_non_null(cJSON_GetObjectItem(ev, "data"));
    cJSON_Delete(ev);
    /* the schema applies to the decoded data: {"other":1} */
    expect_refused("test.report", ",\"data_base64\":\"eyJvdGhlciI6MX0=\"", "data.report_id",
                   "required");
}

static void test_data_base64_refused(void **state)
{
    (void)state;
    expect_refused("test.report", ",\"data\":{},\"data_base64\":\"e30=\"", "data_base64",
                   "not both");
    expect_refused("test.report", ",\"data_base64\":12", "data_base64", "must be a string");
    expect_refused("test.report", ",\"data_base64\":\"e30*\"", "data_base64", "not valid base64");
    expect_refused("test.report", ",\"data_base64\":\"e30==\"", "data_base64", "not valid base64");
    /* "hello" is not JSON, which an absent datacontenttype says it is */
    expect_refused("unknown.type", ",\"data_base64\":\"aGVsbG8=\"", "data_base64",
                   "does not decode to JSON");
    /* {"a":1,"a":2}: decoded JSON is held to the same rules */
    expect_refused("unknown.type", ",\"data_base64\":\"eyJhIjoxLCJhIjoyfQ==\"", "data_base64",
                   "duplicate member name");
    /* binary data for a catalogue type with a schema: it needs JSON */
    expect_refused("test.report", ",\"datacontenttype\":\"text/plain\",\"data_base64\":\"aGk=\"",
                   "data_base64", "test.report needs JSON data");
}

static void test_data_base64_binary_for_other_types(void **state)
{
    (void)state;
    char *f = NULL, *r = NULL;
    cJSON *ev = decode("unknown.type",
                       ",\"datacontenttype\":\"application/octet-stream\","
                       "\"data_base64\":\"AAEC\"",
                       &f, &r);
    assert_non_null(ev);
    assert_string_equal(cJSON_GetObjectItem(ev, "data_base64")->valuestring, "AAEC");
    assert_null(cJSON_GetObjectItem(ev, "data"));
    cJSON_Delete(ev);
}

static void test_media_is_json(void **state)
{
    (void)state;
    assert_true(decode_media_is_json("application/json"));
    assert_true(decode_media_is_json("Application/JSON; charset=utf-8"));
    assert_true(decode_media_is_json("text/json"));
    assert_true(decode_media_is_json("application/cloudevents+json"));
    assert_true(decode_media_is_json("application/fhir+json;fhirVersion=4.0"));
    assert_false(decode_media_is_json("text/plain"));
    assert_false(decode_media_is_json("application/jsonx"));
    assert_false(decode_media_is_json("+json"));
    assert_false(decode_media_is_json(""));
    assert_false(decode_media_is_json(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_base64_json_is_data),
        cmocka_unit_test(test_data_base64_refused),
        cmocka_unit_test(test_data_base64_binary_for_other_types),
        cmocka_unit_test(test_media_is_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
