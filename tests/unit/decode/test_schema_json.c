/*
 * test_schema_json.c — unit tests for engine/decode/schema_json.c: a
 * hand-made event type with a member of every field kind (required and
 * optional, with and without enums, a nested object with an at-least-one-of
 * rule) is turned into JSON Schema, and the result is compared with the
 * schema written out by hand here, member by member (cJSON_Compare: objects
 * in any order, arrays in order). Also the whole CloudEvent's schema of a
 * type with a schema and of one without, and every allocation failing in
 * turn (nothing leaks, NULL comes back). Depends on schema_json.c, alloc.c
 * and cJSON.
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
#include "schema_json.h"

/* clang-format off */
static const char *const enum_colour[] = {"red", "green", NULL};
static const char *const enum_tags[] = {"a", "b", NULL};

static const obligo_field fields_who[] = {
    {.name = "id", .kind = OBLIGO_FIELD_STRING, .required = 1},
    {.name = "email", .kind = OBLIGO_FIELD_STRING},
    {.name = "phone", .kind = OBLIGO_FIELD_STRING},
    {.name = NULL},
};
static const char *const who_one_of[] = {"email", "phone", NULL};
static const obligo_schema schema_who = {.fields = fields_who, .one_of = who_one_of,
                                         .one_of_named = "email"};

static const obligo_field fields_all[] = {
    {.name = "name", .kind = OBLIGO_FIELD_STRING, .required = 1},
    {.name = "note", .kind = OBLIGO_FIELD_STRING},
    {.name = "colour", .kind = OBLIGO_FIELD_STRING, .required = 1, .values = enum_colour},
    {.name = "shade", .kind = OBLIGO_FIELD_STRING, .values = enum_colour},
    {.name = "ok", .kind = OBLIGO_FIELD_BOOL, .required = 1},
    {.name = "count", .kind = OBLIGO_FIELD_COUNT},
    {.name = "who", .kind = OBLIGO_FIELD_OBJECT, .required = 1, .nested = &schema_who},
    {.name = "extra", .kind = OBLIGO_FIELD_OBJECT},
    {.name = "tags", .kind = OBLIGO_FIELD_ENUM_LIST, .values = enum_tags},
    {.name = "words", .kind = OBLIGO_FIELD_ENUM_LIST, .required = 1},
    {.name = "at", .kind = OBLIGO_FIELD_TIME, .required = 1},
    {.name = "on", .kind = OBLIGO_FIELD_DATE_OR_TIME},
    {.name = "blob", .kind = OBLIGO_FIELD_ANY, .required = 1},
    {.name = "maybe", .kind = OBLIGO_FIELD_ANY},
    {.name = NULL},
};
static const obligo_schema schema_all = {.fields = fields_all};

static const obligo_event_type type_all = {
    .abi_version = OBLIGO_ABI_CURRENT, .struct_size = sizeof(obligo_event_type),
    .type = "test.all", .data = &schema_all, .description = "every kind"};
static const obligo_event_type type_free = {
    .abi_version = OBLIGO_ABI_CURRENT, .struct_size = sizeof(obligo_event_type),
    .type = "test.free", .data = NULL, .description = NULL};
/* clang-format on */

#define TIME_PATTERN                                                                               \
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\\\.[0-9]+)?"        \
    "([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
#define TIME_REQ                                                                                   \
    "{\"type\":\"string\",\"maxLength\":65536,\"format\":\"date-time\",\"pattern\":"               \
    "\"" TIME_PATTERN "\"}"
#define DATE                                                                                       \
    "{\"type\":\"string\",\"format\":\"date\",\"pattern\":\"^[0-9]{4}-[0-9]{2}-[0-9]{2}$\"}"

/* The data schema of test.all, by hand. */
static const char *expected_all =
    "{\"type\":\"object\","
    " \"properties\":{"
    "  \"name\":{\"type\":\"string\",\"maxLength\":65536,\"minLength\":1},"
    "  \"note\":{\"type\":[\"string\",\"null\"],\"maxLength\":65536},"
    "  \"colour\":{\"enum\":[\"red\",\"green\"]},"
    "  \"shade\":{\"enum\":[\"red\",\"green\",null]},"
    "  \"ok\":{\"type\":\"boolean\"},"
    "  \"count\":{\"type\":[\"integer\",\"null\"],\"minimum\":0,\"maximum\":9007199254740991},"
    "  \"who\":{\"type\":\"object\","
    "    \"properties\":{"
    "      \"id\":{\"type\":\"string\",\"maxLength\":65536,\"minLength\":1},"
    "      \"email\":{\"type\":[\"string\",\"null\"],\"maxLength\":65536},"
    "      \"phone\":{\"type\":[\"string\",\"null\"],\"maxLength\":65536}},"
    "    \"required\":[\"id\"],"
    "    \"description\":\"at least one of email, phone must be given (and not null)\","
    "    \"anyOf\":["
    "      {\"required\":[\"email\"],\"properties\":{\"email\":{\"not\":{\"type\":\"null\"}}}},"
    "      {\"required\":[\"phone\"],\"properties\":{\"phone\":{\"not\":{\"type\":\"null\"}}}}],"
    "    \"additionalProperties\":true},"
    "  \"extra\":{\"type\":[\"object\",\"null\"]},"
    "  \"tags\":{\"type\":[\"array\",\"null\"],\"items\":{\"enum\":[\"a\",\"b\"]}},"
    "  \"words\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":65536}},"
    "  \"at\":" TIME_REQ ","
    "  \"on\":{\"anyOf\":[" TIME_REQ "," DATE ",{\"type\":\"null\"}]},"
    "  \"blob\":{\"not\":{\"type\":\"null\"}},"
    "  \"maybe\":{}},"
    " \"required\":[\"name\",\"colour\",\"ok\",\"who\",\"words\",\"at\",\"blob\"],"
    " \"additionalProperties\":true}";

/* Compares got as its text reads (a client sees the text: 2^53 - 1 must
 * be printed with all its digits) with the expected text. */
static void assert_json_equal(const cJSON *got_tree, const char *expected_text)
{
    cJSON *expected = cJSON_Parse(expected_text);
    assert_non_null(expected);
    char *printed = cJSON_PrintUnformatted(got_tree);
    cJSON *got = cJSON_Parse(printed);
    cJSON_free(printed);
    assert_non_null(got);
    int same = cJSON_Compare(got, expected, 1);
    cJSON_Delete(got);
    if (!same) {
        char *a = cJSON_Print(got_tree), *b = cJSON_Print(expected);
        fprintf(stderr, "got:\n%s\nexpected:\n%s\n", a, b);
        cJSON_free(a);
        cJSON_free(b);
        cJSON_Delete(expected);
        fail_msg("the generated schema differs from the one written by hand");
    }
    cJSON_Delete(expected);
}

static void every_kind_as_json_schema(void **state)
{
    (void)state;
    cJSON *s = schema_json_object(&schema_all);
    assert_non_null(s);
    assert_json_equal(s, expected_all);
    cJSON_Delete(s);
    /* no schema: any value */
    s = schema_json_object(NULL);
    assert_json_equal(s, "{}");
    cJSON_Delete(s);
}

#define ID_STRING(what)                                                                            \
    "{\"type\":\"string\",\"minLength\":1,\"maxLength\":1024,\"description\":\"" what "\"}"
#define ENVELOPE_PROPS                                                                             \
    "\"specversion\":{\"const\":\"1.0\"},"                                                         \
    "\"id\":" ID_STRING(                                                                           \
        "with source, identifies the event: the same source and id again is a "                    \
        "duplicate") ","                                                                           \
                     "\"source\":" ID_STRING(                                                      \
                         "a URI-reference naming the sender") ","                                  \
                                                              "\"time\":{\"type\":\"string\","     \
                                                              "\"maxLength\":65536,\"format\":"    \
                                                              "\"date-time\",\"pattern\":"         \
                                                              "\"" TIME_PATTERN                    \
                                                              "\",\"description\":\"when it "      \
                                                              "happened: RFC 3339 with an offset " \
                                                              "(Z or +-HH:MM), "                   \
                                                              "which Obligo requires and "         \
                                                              "CloudEvents does not\"},"           \
                                                              "\"subject\":{\"type\":[\"string\"," \
                                                              "\"null\"],\"maxLength\":65536},"    \
                                                              "\"datacontenttype\":{"              \
                                                              "\"description\":\"the media type "  \
                                                              "of data_base64's bytes (JSON when " \
                                                              "absent)\"},"                        \
                                                              "\"dataschema\":{\"description\":"   \
                                                              "\"a URI of the schema data "        \
                                                              "adheres to, such as this schema's " \
                                                              "URL followed by "                   \
                                                              "#/properties/data; not checked\"},"

static void the_whole_cloudevent(void **state)
{
    (void)state;
    cJSON *s = schema_json_event(&type_all, "http://h/v1/schemas/test.all", "test");
    assert_non_null(s);
    /* data is the data schema above, with a description */
    cJSON *data = cJSON_DetachItemViaPointer(
        cJSON_GetObjectItem(s, "properties"),
        cJSON_GetObjectItem(cJSON_GetObjectItem(s, "properties"), "data"));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(data, "description")),
                        "the event's data, per the type's schema");
    cJSON_DeleteItemFromObject(data, "description");
    assert_json_equal(data, expected_all);
    cJSON_Delete(data);
    assert_json_equal(
        s, "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
           "\"$id\":\"http://h/v1/schemas/test.all\",\"title\":\"test.all\","
           "\"description\":\"A CloudEvent 1.0 of type test.all: every kind; registered by the "
           "plugin test, as Obligo validates it. Strings are UTF-8 without U+0000, and lengths "
           "are bytes of UTF-8 to the engine (JSON Schema counts characters). data is required "
           "as an object, or data_base64 of JSON (datacontenttype absent or JSON), which the "
           "engine decodes and checks as data.\","
           "\"type\":\"object\","
           "\"required\":[\"specversion\",\"id\",\"source\",\"type\",\"time\"],"
           "\"properties\":{" ENVELOPE_PROPS "\"type\":{\"const\":\"test.all\"},"
           "  \"data_base64\":{\"type\":\"string\",\"contentEncoding\":\"base64\","
           "    \"contentMediaType\":\"application/json\",\"description\":\"data as base64 of its "
           "JSON text (CloudEvents JSON format 3.1); decoded, it must be what data must be\"}},"
           "\"not\":{\"required\":[\"data\",\"data_base64\"]},"
           "\"anyOf\":[{\"required\":[\"data\"]},{\"required\":[\"data_base64\"]}],"
           "\"additionalProperties\":true}");
    cJSON_Delete(s);

    /* no schema: any data or none, never both; no $id, no plugin */
    s = schema_json_event(&type_free, NULL, NULL);
    assert_json_equal(
        s, "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
           "\"title\":\"test.free\","
           "\"description\":\"A CloudEvent 1.0 of type test.free, as Obligo validates it. Strings "
           "are UTF-8 without U+0000, and lengths are bytes of UTF-8 to the engine (JSON Schema "
           "counts characters). Its data is not checked.\","
           "\"type\":\"object\","
           "\"required\":[\"specversion\",\"id\",\"source\",\"type\",\"time\"],"
           "\"properties\":{" ENVELOPE_PROPS "\"type\":{\"const\":\"test.free\"},"
           "  \"data\":{},\"data_base64\":{\"type\":\"string\",\"contentEncoding\":\"base64\"}},"
           "\"not\":{\"required\":[\"data\",\"data_base64\"]},"
           "\"additionalProperties\":true}");
    cJSON_Delete(s);
}

/* A plugin built against a header whose event type ended before data:
 * validate.c takes any data for it, and so does its schema. */
static void a_short_struct_takes_any_data(void **state)
{
    (void)state;
    obligo_event_type short_type = type_all;
    short_type.struct_size = (uint32_t)offsetof(obligo_event_type, data);
    cJSON *s = schema_json_event(&short_type, NULL, NULL);
    assert_non_null(s);
    cJSON *data = cJSON_GetObjectItem(cJSON_GetObjectItem(s, "properties"), "data");
    assert_json_equal(data, "{}");
    assert_null(cJSON_GetObjectItem(s, "anyOf"));
    cJSON_Delete(s);
}

static void out_of_memory_gives_null(void **state)
{
    (void)state;
    int failed_somewhere = 0;
    for (long n = 1; n < 5000; n++) {
        alloc_fail_after(n);
        cJSON *s = schema_json_event(&type_all, "http://h/v1/schemas/test.all", "test");
        int failed = alloc_failed();
        alloc_fail_after(0);
        if (!failed) {
            assert_non_null(s);
            cJSON_Delete(s);
            assert_true(failed_somewhere); /* the sweep reached the end */
            return;
        }
        failed_somewhere = 1;
        assert_null(s);
    }
    fail_msg("more than 5000 allocations for one schema");
}

int main(void)
{
    cJSON_Hooks hooks = {.malloc_fn = obligo_malloc, .free_fn = obligo_free};
    cJSON_InitHooks(&hooks);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_kind_as_json_schema),
        cmocka_unit_test(the_whole_cloudevent),
        cmocka_unit_test(a_short_struct_takes_any_data),
        cmocka_unit_test(out_of_memory_gives_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
