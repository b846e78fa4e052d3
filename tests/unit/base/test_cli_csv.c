/*
 * test_cli_csv.c — unit tests for engine/base/cli_csv.c: RFC 4180 quoting,
 * the UTF-8 byte order mark, formula neutralisation (OWASP CSV injection)
 * and UTF-8 passing through unchanged.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_csv.h"

typedef struct sink {
    char *buf;
    size_t len;
    FILE *fp;
    cli_csv w;
} sink;

static void sink_open(sink *s, int bom)
{
    s->buf = NULL;
    s->len = 0;
    s->fp = open_memstream(&s->buf, &s->len);
    assert_non_null(s->fp);
    cli_csv_init(&s->w, s->fp, bom);
}

/* Closes the stream; the text written stays in s->buf (caller frees). */
static const char *sink_text(sink *s)
{
    assert_int_equal(fclose(s->fp), 0);
    return s->buf;
}

static void test_quoting(void **state)
{
    (void)state;
    sink s;
    sink_open(&s, 0);
    cli_csv_cell(&s.w, "plain");
    cli_csv_cell(&s.w, "a,b");
    cli_csv_cell(&s.w, "zei \"ja\"");
    cli_csv_cell(&s.w, "twee\nregels");
    cli_csv_cell(&s.w, NULL);
    cli_csv_cell(&s.w, "");
    cli_csv_end_row(&s.w);
    cli_csv_cell(&s.w, "x");
    cli_csv_end_row(&s.w);
    assert_string_equal(sink_text(&s),
                        "plain,\"a,b\",\"zei \"\"ja\"\"\",\"twee\nregels\",,\r\nx\r\n");
    free(s.buf);
}

static void test_bom_and_utf8(void **state)
{
    (void)state;
    sink s;
    sink_open(&s, 1);
    cli_csv_cell(&s.w, "cliënten");
    cli_csv_end_row(&s.w);
    assert_string_equal(sink_text(&s), "\xEF\xBB\xBF"
                                       "cli\xC3\xABnten\r\n");
    free(s.buf);
    sink_open(&s, 0);
    cli_csv_cell(&s.w, "cliënten");
    cli_csv_end_row(&s.w);
    assert_string_equal(sink_text(&s), "cli\xC3\xABnten\r\n");
    free(s.buf);
}

static void test_formulas(void **state)
{
    (void)state;
    sink s;
    sink_open(&s, 0);
    cli_csv_cell(&s.w, "=1+2");
    cli_csv_cell(&s.w, "+31 6");
    cli_csv_cell(&s.w, "-2+3");
    cli_csv_cell(&s.w, "@SUM(A1)");
    cli_csv_cell(&s.w, "\tx");
    cli_csv_cell(&s.w, "\rx");
    cli_csv_cell(&s.w, "=HYPERLINK(\"http://x\",\"y\")");
    cli_csv_cell(&s.w, "a=b");
    cli_csv_end_row(&s.w);
    assert_string_equal(sink_text(&s), "'=1+2,'+31 6,'-2+3,'@SUM(A1),'\tx,\"'\rx\","
                                       "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",a=b\r\n");
    free(s.buf);
}

static void test_json_cells(void **state)
{
    (void)state;
    cJSON *rows = cJSON_Parse("[{\"key\":\"=1+2\",\"n\":-3600,\"f\":1.5,\"b\":true,"
                              "\"list\":[\"health\",\"bsn\"],\"o\":{\"name\":\"An\"}},"
                              "{\"key\":\"k2\",\"nothing\":null}]");
    assert_non_null(rows);
    static const char *const cols[] = {"key", "n", "f", "b", "list", "o", "nothing"};
    sink s;
    sink_open(&s, 0);
    cli_csv_table(&s.w, rows, cols, 7);
    assert_string_equal(sink_text(&s),
                        "key,n,f,b,list,o,nothing\r\n"
                        "'=1+2,-3600,1.5,true,\"[\"\"health\"\",\"\"bsn\"\"]\",\"{\"\"name\"\":"
                        "\"\"An\"\"}\",\r\n"
                        "k2,,,,,,\r\n");
    free(s.buf);
    cJSON_Delete(rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_bom_and_utf8),
        cmocka_unit_test(test_formulas),
        cmocka_unit_test(test_json_cells),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
