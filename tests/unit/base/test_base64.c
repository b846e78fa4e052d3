/*
 * test_base64.c — unit tests for engine/base/base64.c: RFC 4648's test
 * vectors both ways, optional padding, and what is not base64.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "alloc.h"
#include "base64.h"
#include "error.h"

static void test_vectors(void **state)
{
    (void)state;
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                        "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        size_t n = 0;
        char *e = base64_encode(plain[i], strlen(plain[i]), &n);
        assert_string_equal(e, coded[i]);
        assert_int_equal(n, strlen(coded[i]));
        obligo_free(e);
        char *d = NULL;
        size_t dn = 0, bad = 0;
        assert_int_equal(base64_decode(coded[i], strlen(coded[i]), &d, &dn, &bad), 0);
        assert_int_equal(dn, strlen(plain[i]));
        assert_memory_equal(d, plain[i], dn);
        obligo_free(d);
    }
    /* padding may be left out; binary bytes come through */
    char *d = NULL;
    size_t dn = 0, bad = 0;
    assert_int_equal(base64_decode("Zm9vYg", 6, &d, &dn, &bad), 0);
    assert_int_equal(dn, 4);
    obligo_free(d);
    assert_int_equal(base64_decode("AP8=", 4, &d, &dn, &bad), 0);
    assert_int_equal(dn, 2);
    assert_int_equal((unsigned char)d[0], 0);
    assert_int_equal((unsigned char)d[1], 255);
    obligo_free(d);
}

static void test_not_base64(void **state)
{
    (void)state;
    char *d = NULL;
    size_t dn = 0, bad = 0;
    assert_int_equal(base64_decode("Zm9v YmFy", 9, &d, &dn, &bad), OBLIGO_EINVAL);
    assert_int_equal(bad, 4);
    assert_null(d);
    assert_int_equal(base64_decode("Zm9v-_", 6, &d, &dn, &bad), OBLIGO_EINVAL);
    assert_int_equal(bad, 4);
    assert_int_equal(base64_decode("Z", 1, &d, &dn, &bad), OBLIGO_EINVAL);
    assert_int_equal(bad, 1);
    assert_int_equal(base64_decode("Zg=", 3, &d, &dn, &bad), OBLIGO_EINVAL);
    assert_int_equal(base64_decode("Zg===", 5, &d, &dn, &bad), OBLIGO_EINVAL);
    assert_int_equal(base64_decode("Z=g=", 4, &d, &dn, &bad), OBLIGO_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_not_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
