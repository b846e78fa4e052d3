/*
 * test_ce_binary.c — unit tests for engine/daemon/ce_binary.c: binary-mode
 * CloudEvents (ce-* headers and a body) to the structured JSON text, the
 * errors naming the header, and what is kept of a refused request.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "alloc.h"
#include "ce_binary.h"
#include "error.h"

#define H(n, v)                                                                                    \
    {                                                                                              \
        (n), (v)                                                                                   \
    }

static const http_header base[] = {
    H("host", "t"),
    H("ce-type", "nl.x.y"),
    H("ce-specversion", "1.0"),
    H("ce-id", "e%20%C3%A9"),
    H("ce-source", "urn:s"),
    H("ce-time", "2026-02-02T09:15:00%2B01:00"),
    H("ce-traceparent", "00-ab"),
    H("content-type", "application/json; charset=utf-8"),
};
#define NBASE ((int)(sizeof base / sizeof base[0]))

static void test_is_binary(void **state)
{
    (void)state;
    assert_true(ce_binary_is(base, NBASE, "application/json"));
    assert_true(ce_binary_is(base, NBASE, ""));
    assert_true(ce_binary_is(base, NBASE, "text/plain"));
    /* the spec: a structured or batch media type wins over ce-* headers */
    assert_false(ce_binary_is(base, NBASE, "application/cloudevents+json"));
    assert_false(ce_binary_is(base, NBASE, "application/cloudevents-batch+json"));
    assert_false(ce_binary_is(base, NBASE, "application/x-ndjson"));
    assert_false(ce_binary_is(base, 1, "application/json")); /* no ce-specversion */
}

static void test_json_body_is_data(void **state)
{
    (void)state;
    char *json = NULL, *field = NULL, *reason = NULL;
    size_t len = 0;
    const char *body = " {\"n\": 1.50, \"s\":\"x\"}\n";
    assert_int_equal(ce_binary_to_json(base, NBASE, "application/json; charset=utf-8", body,
                                       strlen(body), &json, &len, &field, &reason),
                     0);
    /* the attributes in the spec's order, extensions after, percent-decoded;
     * the body spliced in as sent */
    assert_string_equal(json, "{\"specversion\":\"1.0\",\"id\":\"e \xC3\xA9\",\"source\":\"urn:s\","
                              "\"type\":\"nl.x.y\",\"time\":\"2026-02-02T09:15:00+01:00\","
                              "\"traceparent\":\"00-ab\","
                              "\"datacontenttype\":\"application/json; charset=utf-8\","
                              "\"data\":{\"n\": 1.50, \"s\":\"x\"}}");
    assert_int_equal(len, strlen(json));
    obligo_free(json);
    /* an empty body: no data */
    assert_int_equal(ce_binary_to_json(base, NBASE - 1, "", "", 0, &json, &len, &field, &reason),
                     0);
    assert_null(strstr(json, "data"));
    obligo_free(json);
}

static void test_other_body_is_base64(void **state)
{
    (void)state;
    char *json = NULL, *field = NULL, *reason = NULL;
    size_t len = 0;
    assert_int_equal(
        ce_binary_to_json(base, NBASE, "text/plain", "hi", 2, &json, &len, &field, &reason), 0);
    assert_non_null(strstr(json, "\"datacontenttype\":\"text/plain\",\"data_base64\":\"aGk=\"}"));
    obligo_free(json);
}

static void expect_error(const http_header *h, int n, const char *ct, const char *body,
                         const char *field, const char *want)
{
    char *json = NULL, *f = NULL, *r = NULL;
    size_t len = 0;
    assert_int_equal(ce_binary_to_json(h, n, ct, body, strlen(body), &json, &len, &f, &r),
                     OBLIGO_EINVAL);
    assert_null(json);
    if (strcmp(f, field) != 0 || !strstr(r, want))
        fail_msg("got %s: %s; want %s: ...%s...", f, r, field, want);
    obligo_free(f);
    obligo_free(r);
}

static void test_errors_name_the_header(void **state)
{
    (void)state;
    const http_header twice[] = {H("ce-specversion", "1.0"), H("ce-id", "a"), H("ce-id", "b")};
    expect_error(twice, 3, "", "", "ce-id", "more than one ce-id");
    const http_header ext_twice[] = {H("ce-specversion", "1.0"), H("ce-x", "a"), H("ce-x", "b")};
    expect_error(ext_twice, 3, "", "", "ce-x", "more than one ce-x");
    const http_header bad_name[] = {H("ce-specversion", "1.0"), H("ce-my_ext", "a")};
    expect_error(bad_name, 2, "", "", "ce-my_ext", "lower-case letters and digits");
    const http_header data[] = {H("ce-specversion", "1.0"), H("ce-datacontenttype", "x/y")};
    expect_error(data, 2, "", "", "ce-datacontenttype", "Content-Type");
    const http_header escape[] = {H("ce-specversion", "1.0"), H("ce-subject", "a%2")};
    expect_error(escape, 2, "", "", "ce-subject", "two hex digits");
    const http_header nul[] = {H("ce-specversion", "1.0"), H("ce-subject", "a%00b")};
    expect_error(nul, 2, "", "", "ce-subject", "NUL");
    const http_header utf8[] = {H("ce-specversion", "1.0"), H("ce-subject", "a%FFb")};
    expect_error(utf8, 2, "", "", "ce-subject", "UTF-8");
    expect_error(base, NBASE, "application/json", "{\"a\":", "data", "not valid JSON");
    expect_error(base, NBASE, "application/json", "{} {}", "data", "not valid JSON");
}

static void test_field_and_message(void **state)
{
    (void)state;
    static const char *const pairs[][2] = {
        {"id", "ce-id"},
        {"time", "ce-time"},
        {"datacontenttype", "content-type"},
        {"data", "data"},
        {"data.user.id", "data.user.id"},
        {"data_base64", "data"},
        {"", ""},
        {"ce-id", "ce-id"},
        {"traceparent", "ce-traceparent"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        char *f = ce_binary_field(pairs[i][0]);
        assert_string_equal(f, pairs[i][1]);
        obligo_free(f);
    }
    assert_null(ce_binary_field(NULL));
    size_t len = 0;
    char *m = ce_binary_message(base, 3, "body", 4, &len);
    assert_string_equal(m, "ce-type: nl.x.y\r\nce-specversion: 1.0\r\n\r\nbody");
    assert_int_equal(len, strlen(m));
    obligo_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_binary),
        cmocka_unit_test(test_json_body_is_data),
        cmocka_unit_test(test_other_body_is_base64),
        cmocka_unit_test(test_errors_name_the_header),
        cmocka_unit_test(test_field_and_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
