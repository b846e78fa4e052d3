/*
 * test_text.c — the comma lists of known words (engine/base/text.c,
 * text_word_mask) that the list parameters of the API read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "text.h"

static const char *const words[] = {"info", "warning", "critical"};

static void word_mask_reads_one_or_several(void **state)
{
    (void)state;
    unsigned mask = 99;
    assert_int_equal(text_word_mask("warning", words, 3, &mask), 0);
    assert_int_equal(mask, 2u);
    assert_int_equal(text_word_mask("critical,info", words, 3, &mask), 0);
    assert_int_equal(mask, 5u);
    assert_int_equal(text_word_mask("info,info", words, 3, &mask), 0);
    assert_int_equal(mask, 1u);
    assert_int_equal(text_word_mask("info,warning,critical", words, 3, NULL), 0);
}

static void word_mask_refuses_what_is_not_a_word(void **state)
{
    (void)state;
    static const char *const bad[] = {"",     ",",   "info,", ",info",        "info,,critical",
                                      "Info", "inf", "infos", "info warning", "error"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned mask = 99;
        if (text_word_mask(bad[i], words, 3, &mask) != -1 || mask != 0)
            fail_msg("'%s' was taken", bad[i]);
    }
    assert_int_equal(text_word_mask(NULL, words, 3, NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(word_mask_reads_one_or_several),
        cmocka_unit_test(word_mask_refuses_what_is_not_a_word),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
