/*
 * test_json.c — unit tests for engine/json.c (json_tree_check): duplicate
 * member names at any depth and numbers beyond a double, named by path;
 * an object of 100,000 members checked without quadratic work; out of
 * memory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "alloc.h"
#include "error.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses text and checks it: want_reason NULL for a clean document. */
static void expect_tree(const char *text, const char *want_field, const char *want_reason)
{
    cJSON *doc = cJSON_Parse(text);
    assert_non_null(doc);
    char *field = (char *)1, *reason = (char *)1;
    int rc = json_tree_check(doc, &field, &reason);
    if (!want_reason) {
        if (rc != 0)
            fail_msg("%s: refused: %s", text, reason);
        assert_null(field);
        assert_null(reason);
    } else {
        assert_int_equal(rc, OBLIGO_EINVAL);
        if (!reason || strcmp(reason, want_reason) != 0)
            fail_msg("%s: got %s, want %s", text, reason ? reason : "(null)", want_reason);
        if (want_field)
            assert_string_equal(field, want_field);
        else
            assert_null(field);
    }
    obligo_free(field);
    obligo_free(reason);
    cJSON_Delete(doc);
}

static void test_clean(void **state)
{
    (void)state;
    expect_tree("{\"id\":\"a\",\"data\":{\"user\":{\"id\":\"u\"},\"n\":1e308,\"tiny\":1e-400,"
                "\"list\":[{\"id\":1},{\"id\":2}],\"e\":{}}}",
                NULL, NULL);
    expect_tree("[]", NULL, NULL);
    expect_tree("-1.7976931348623157e308", NULL, NULL);
    expect_tree("\"1e400\"", NULL, NULL); /* a string, not a number */
}

static void test_duplicates(void **state)
{
    (void)state;
    expect_tree("{\"id\":\"a\",\"id\":\"b\"}", "id", "id: duplicate member name \"id\"");
    expect_tree("{\"data\":{\"user\":{\"id\":\"u\",\"x\":1,\"id\":\"v\"}}}", "data.user.id",
                "data.user.id: duplicate member name \"id\"");
    expect_tree("{\"a\":[{\"k\":1},{\"k\":1,\"k\":2}]}", "a[1].k",
                "a[1].k: duplicate member name \"k\"");
    expect_tree("[0,[1,{\"z\":0,\"z\":0}]]", "[1][1].z", "[1][1].z: duplicate member name \"z\"");
    /* the first repeat in document order, not in name order */
    expect_tree("{\"b\":1,\"a\":1,\"a\":2,\"b\":2}", "a", "a: duplicate member name \"a\"");
    expect_tree("{\"b\":1,\"a\":1,\"b\":2,\"a\":2}", "b", "b: duplicate member name \"b\"");
    /* three times is named once; an empty name counts too */
    expect_tree("{\"x\":1,\"x\":2,\"x\":3}", "x", "x: duplicate member name \"x\"");
    expect_tree("{\"d\":{\"\":1,\"\":2}}", "d.", "d.: duplicate member name \"\"");
    /* duplicates in an object are found before its members' numbers */
    expect_tree("{\"n\":1e400,\"k\":1,\"k\":2}", "k", "k: duplicate member name \"k\"");
    /* a name that is not UTF-8 is not quoted (validation names its bytes) */
    expect_tree("{\"d\":{\"\xff\":1,\"\xff\":2}}", "d",
                "d: duplicate member name (not valid UTF-8)");
    /* a long name is cut on a character boundary */
    char text[512], want[512];
    char name[200];
    memset(name, 'a', 63);
    strcpy(name + 63, "\xc3\xa9zzzzzz"); /* é across the 64-byte cut */
    snprintf(text, sizeof text, "{\"%s\":1,\"%s\":2}", name, name);
    snprintf(want, sizeof want, "%s: duplicate member name \"%.63s...\"", name, name);
    expect_tree(text, name, want);
}

static void test_numbers(void **state)
{
    (void)state;
    const char *why = "number does not fit a double (its magnitude is above 1.8e308)";
    char want[256];
    snprintf(want, sizeof want, "data.count: %s", why);
    expect_tree("{\"data\":{\"count\":1e400}}", "data.count", want);
    expect_tree("{\"data\":{\"count\":-1E+999}}", "data.count", want);
    snprintf(want, sizeof want, "data.v[2]: %s", why);
    expect_tree("{\"data\":{\"v\":[1,2,123456789e303]}}", "data.v[2]", want);
    snprintf(want, sizeof want, "the document: %s", why);
    expect_tree("1e400", NULL, want);
}

/* 100,000 distinct members and then the first again: found at the end.
 * Pairwise comparison would be 5e9 string compares; a sort is 1.7e6. */
static void test_large_object(void **state)
{
    (void)state;
    enum { N = 100000 };
    size_t cap = (size_t)N * 16 + 64, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    text[len++] = '{';
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(text + len, cap - len, "\"m%d\":%d,", i, i);
    len += (size_t)snprintf(text + len, cap - len, "\"m0\":0}");
    expect_tree(text, "m0", "m0: duplicate member name \"m0\"");
    text[len - 7] = '}'; /* without the repeat */
    text[len - 6] = '\0';
    text[len - 8] = ' '; /* the comma before it */
    expect_tree(text, NULL, NULL);
    free(text);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    cJSON *doc = cJSON_Parse("{\"a\":{\"k\":1,\"k\":2}}");
    assert_non_null(doc);
    for (long n = 1; n < 10; n++) {
        char *field = NULL, *reason = NULL;
        alloc_fail_after(n);
        int rc = json_tree_check(doc, &field, &reason);
        alloc_fail_after(0);
        if (rc == OBLIGO_ENOMEM) {
            assert_null(field);
            assert_null(reason);
            continue;
        }
        assert_int_equal(rc, OBLIGO_EINVAL);
        assert_string_equal(field, "a.k");
        obligo_free(field);
        obligo_free(reason);
        break;
    }
    cJSON_Delete(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),         cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_numbers),       cmocka_unit_test(test_large_object),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
