/*
 * test_error.c — unit tests for error.c: the table's texts and the
 * translation of libuv's error codes into it (error_from_uv).
 *
 * The expected values are written out here, not derived from the table, so
 * that a renumbered code or a libuv code left untranslated fails a test.
 * The codes that collide by number are the point: UV_EPERM is -1 like
 * OBLIGO_ENOMEM, UV_ENOENT -2 like OBLIGO_EINVAL, UV_EIO -5 like
 * OBLIGO_ERULE.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <uv.h>

#include "error.h"

/* Callers compare against these numbers and older messages name them, so
 * an existing code keeps its number; new ones only join at the end. */
static void test_numbers_are_stable(void **state)
{
    assert_int_equal(OBLIGO_OK, 0);
    assert_int_equal(OBLIGO_ENOMEM, -1);
    assert_int_equal(OBLIGO_EINVAL, -2);
    assert_int_equal(OBLIGO_EIO, -3);
    assert_int_equal(OBLIGO_EDB, -4);
    assert_int_equal(OBLIGO_ERULE, -5);
    assert_int_equal(OBLIGO_ENOTFOUND, -6);
    assert_int_equal(OBLIGO_EBUSY, -7);
    assert_int_equal(OBLIGO_ELIMIT, -8);
    assert_int_equal(OBLIGO_EFULL, -9);
    assert_int_equal(OBLIGO_EUSAGE, -10);
    assert_int_equal(OBLIGO_EADDRINUSE, -11);
    assert_int_equal(OBLIGO_EACCES, -12);
    assert_int_equal(OBLIGO_EADDRNOTAVAIL, -13);
    assert_int_equal(OBLIGO_ESYS, -14);
}

/* Every code has its own text, and a number outside the table says so. */
static void test_strerror(void **state)
{
    assert_string_equal(obligo_strerror(OBLIGO_OK), "ok");
    assert_string_equal(obligo_strerror(OBLIGO_ENOMEM), "out of memory");
    assert_string_equal(obligo_strerror(OBLIGO_EADDRINUSE), "address already in use");
    assert_string_equal(obligo_strerror(OBLIGO_EACCES), "permission denied");
    assert_string_equal(obligo_strerror(OBLIGO_ESYS), "operating system error");
    assert_string_equal(obligo_strerror(-15), "unknown error");
    assert_string_equal(obligo_strerror(1), "unknown error");
    for (int a = OBLIGO_ESYS; a <= 0; a++) {
        assert_string_not_equal(obligo_strerror(a), "unknown error");
        for (int b = a + 1; b <= 0; b++)
            assert_string_not_equal(obligo_strerror(a), obligo_strerror(b));
    }
}

/* Success and counts (uv_try_write's bytes) pass through untouched. */
static void test_from_uv_keeps_success(void **state)
{
    assert_int_equal(error_from_uv(0), OBLIGO_OK);
    assert_int_equal(error_from_uv(1), 1);
    assert_int_equal(error_from_uv(4096), 4096);
}

static void test_from_uv_maps_by_meaning(void **state)
{
    assert_int_equal(error_from_uv(UV_EADDRINUSE), OBLIGO_EADDRINUSE);
    assert_int_equal(error_from_uv(UV_EADDRNOTAVAIL), OBLIGO_EADDRNOTAVAIL);
    assert_int_equal(error_from_uv(UV_EACCES), OBLIGO_EACCES);
    assert_int_equal(error_from_uv(UV_ENOMEM), OBLIGO_ENOMEM);
    assert_int_equal(error_from_uv(UV_ENOBUFS), OBLIGO_ENOMEM);
    assert_int_equal(error_from_uv(UV_EINVAL), OBLIGO_EINVAL);
    assert_int_equal(error_from_uv(UV_EBUSY), OBLIGO_EBUSY);
    assert_int_equal(error_from_uv(UV_EAGAIN), OBLIGO_ELIMIT);
    assert_int_equal(error_from_uv(UV_EMFILE), OBLIGO_ELIMIT);
    assert_int_equal(error_from_uv(UV_ENFILE), OBLIGO_ELIMIT);
    assert_int_equal(error_from_uv(UV_ENOSPC), OBLIGO_EFULL);
    assert_int_equal(error_from_uv(UV_EROFS), OBLIGO_EFULL);
}

/* The codes whose numbers collide with the table's are read as libuv's:
 * EPERM is no memory failure, ENOENT no invalid input, EIO no rule error. */
static void test_from_uv_colliding_numbers(void **state)
{
    assert_int_equal(UV_EPERM, OBLIGO_ENOMEM); /* the collision itself */
    assert_int_equal(error_from_uv(UV_EPERM), OBLIGO_EACCES);
    assert_int_equal(UV_ENOENT, OBLIGO_EINVAL);
    assert_int_equal(error_from_uv(UV_ENOENT), OBLIGO_ENOTFOUND);
    assert_int_equal(UV_EIO, OBLIGO_ERULE);
    assert_int_equal(error_from_uv(UV_EIO), OBLIGO_EIO);
}

/* A libuv code with no closer meaning becomes OBLIGO_ESYS, never a number
 * outside the table. */
static void test_from_uv_others_are_esys(void **state)
{
    const int others[] = {UV_ECONNRESET, UV_ECONNREFUSED, UV_EPIPE, UV_ETIMEDOUT,
                          UV_ECANCELED,  UV_ENOTSUP,      UV_EOF,   UV_E2BIG};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        assert_int_equal(error_from_uv(others[i]), OBLIGO_ESYS);
        /* every libuv code lands inside the table */
#define TEST_ERROR_IN_TABLE(name, text)                                                            \
    assert_string_not_equal(obligo_strerror(error_from_uv(UV_##name)), "unknown error");
    UV_ERRNO_MAP(TEST_ERROR_IN_TABLE)
#undef TEST_ERROR_IN_TABLE
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_are_stable),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_from_uv_keeps_success),
        cmocka_unit_test(test_from_uv_maps_by_meaning),
        cmocka_unit_test(test_from_uv_colliding_numbers),
        cmocka_unit_test(test_from_uv_others_are_esys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
