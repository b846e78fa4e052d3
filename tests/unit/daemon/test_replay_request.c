/*
 * test_replay_request.c — the body of POST /v1/replay turned into rule
 * sources and filters (replay_request.h): JSON bodies, tars made here
 * with libarchive's writer (including hostile entries: links, "..",
 * absolute paths, devices, files and archives past the limits), and the
 * query string of a tar request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "replay_request.h"

/* ---- building tars ----------------------------------------------------------- */

typedef struct tar_buf {
    struct archive *a;
    char *mem;
    size_t cap, used;
} tar_buf;

static void tar_open(tar_buf *t, size_t cap)
{
    t->cap = cap;
    t->mem = malloc(cap);
    t->used = 0;
    t->a = archive_write_new();
    assert_int_equal(archive_write_set_format_pax_restricted(t->a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_memory(t->a, t->mem, t->cap, &t->used), ARCHIVE_OK);
}

/* An entry of type (AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR...) with len
 * bytes of data (a regular file; NULL data: that many 'x'), or a link
 * target. */
static void tar_add(tar_buf *t, const char *name, mode_t type, const char *data, size_t len,
                    const char *symlink, const char *hardlink)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, 0644);
    if (symlink)
        archive_entry_set_symlink(e, symlink);
    if (hardlink)
        archive_entry_set_hardlink(e, hardlink);
    archive_entry_set_size(e, type == AE_IFREG && !hardlink ? (la_int64_t)len : 0);
    assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
    if (type == AE_IFREG && len && !hardlink) {
        char *fill = NULL;
        if (!data) {
            fill = malloc(len);
            memset(fill, 'x', len);
            data = fill;
        }
        assert_int_equal(archive_write_data(t->a, data, len), (la_ssize_t)len);
        free(fill);
    }
    archive_entry_free(e);
}

static void tar_file(tar_buf *t, const char *name, const char *text)
{
    tar_add(t, name, AE_IFREG, text, strlen(text), NULL, NULL);
}

static void tar_close(tar_buf *t)
{
    assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
    archive_write_free(t->a);
}

/* Parses the tar with the query; returns the status (0 when taken). */
static int parse_tar(tar_buf *t, const char *query, replay_request *r)
{
    int rc = replay_request_tar(t->mem, t->used, query, r);
    free(t->mem);
    t->mem = NULL;
    return rc ? r->status : 0;
}

static void expect_error(const replay_request *r, const char *want)
{
    if (!r->error || !strstr(r->error, want))
        fail_msg("expected '%s', got '%s'", want, r->error ? r->error : "(none)");
}

/* ---- tars -------------------------------------------------------------------- */

static void tar_of_a_rule_directory(void **state)
{
    (void)state;
    tar_buf t;
    tar_open(&t, 1 << 16);
    tar_add(&t, "./", AE_IFDIR, NULL, 0, NULL, NULL);
    tar_add(&t, "./ict/", AE_IFDIR, NULL, 0, NULL, NULL);
    tar_file(&t, "./ict/practice_test.lua", "-- tests");
    tar_file(&t, "./ict/practice.lua", "-- rules");
    tar_file(&t, "./README.md", "not a rule");               /* skipped */
    tar_file(&t, "./._practice.lua", "macOS resource fork"); /* hidden: skipped */
    tar_add(&t, "./.git/", AE_IFDIR, NULL, 0, NULL, NULL);   /* skipped */
    tar_file(&t, "./.git/hook.lua", "hidden folder");        /* skipped */
    tar_file(&t, "avg/breaches.lua", "-- no ./ at all");
    tar_file(&t, "./empty.lua", "");
    tar_close(&t);
    replay_request r;
    assert_int_equal(parse_tar(&t, "since=2026-06-10T00%3A00%3A00%2B02%3A00&type=nl.%2A", &r), 0);
    assert_string_equal(r.src.dir, "");
    assert_int_equal(r.src.n, 4);
    /* in path order, as a directory's reading has them */
    assert_string_equal(r.src.files[0].path, "avg/breaches.lua");
    assert_string_equal(r.src.files[1].path, "empty.lua");
    assert_string_equal(r.src.files[2].path, "ict/practice.lua");
    assert_string_equal(r.src.files[3].path, "ict/practice_test.lua");
    assert_int_equal(r.src.files[2].is_test, 0);
    assert_int_equal(r.src.files[3].is_test, 1);
    assert_int_equal(r.src.files[2].len, strlen("-- rules"));
    assert_memory_equal(r.src.files[2].text, "-- rules", strlen("-- rules"));
    assert_int_equal(r.src.files[1].len, 0);
    obligo_time want = 0;
    assert_int_equal(clock_parse_any("2026-06-09T22:00:00Z", &want), 0);
    assert_true(r.since == want);
    assert_true(r.until == 0);
    assert_string_equal(r.type, "nl.*");
    replay_request_free(&r);
}

static void hostile_tar_entries_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        mode_t type;
        const char *symlink, *hardlink;
        const char *want;
    } cases[] = {
        {"./ict/link.lua", AE_IFLNK, "/etc/passwd", NULL,
         "tar entry './ict/link.lua' is a link (to '/etc/passwd')"},
        {"./ict/hard.lua", AE_IFREG, NULL, "./ict/practice.lua",
         "tar entry './ict/hard.lua' is a link"},
        {"../x.lua", AE_IFREG, NULL, NULL, "tar entry '../x.lua' has a '.' or '..' component"},
        {"./a/../../x.lua", AE_IFREG, NULL, NULL, "has a '.' or '..' component"},
        {"/etc/x.lua", AE_IFREG, NULL, NULL, "tar entry '/etc/x.lua' is absolute"},
        {"a//x.lua", AE_IFREG, NULL, NULL, "has an empty component"},
        {"./dev.lua", AE_IFCHR, NULL, NULL, "is not a regular file or a folder"},
        {"./fifo.lua", AE_IFIFO, NULL, NULL, "is not a regular file or a folder"},
        {"../", AE_IFDIR, NULL, NULL, "has a '.' or '..' component"},
        {"a/b/c/d/e/f/g/h/i/x.lua", AE_IFREG, NULL, NULL, "more than 8 folders deep"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tar_buf t;
        tar_open(&t, 1 << 16);
        tar_file(&t, "./ict/practice.lua", "-- rules");
        tar_add(&t, cases[i].name, cases[i].type, "x", 1, cases[i].symlink, cases[i].hardlink);
        tar_close(&t);
        replay_request r;
        assert_int_equal(parse_tar(&t, "", &r), 400);
        expect_error(&r, cases[i].want);
        assert_string_equal(r.field, "rules");
        assert_int_equal(r.src.n, 1); /* nothing of the bad entry */
        replay_request_free(&r);
    }
}

static void tars_past_the_limits_are_413(void **state)
{
    (void)state;
    replay_request r;
    tar_buf t;
    /* one file over 4 MiB */
    tar_open(&t, 5 << 20);
    tar_add(&t, "./big.lua", AE_IFREG, NULL, REPLAY_REQUEST_MAX_FILE_BYTES + 1, NULL, NULL);
    tar_close(&t);
    assert_int_equal(parse_tar(&t, "", &r), 413);
    expect_error(&r, "big.lua: more than 4194304 bytes (4 MiB) in one rule file");
    replay_request_free(&r);
    /* exactly 4 MiB is taken */
    tar_open(&t, 5 << 20);
    tar_add(&t, "./big.lua", AE_IFREG, NULL, REPLAY_REQUEST_MAX_FILE_BYTES, NULL, NULL);
    tar_close(&t);
    assert_int_equal(parse_tar(&t, "", &r), 0);
    assert_int_equal(r.src.files[0].len, REPLAY_REQUEST_MAX_FILE_BYTES);
    replay_request_free(&r);
    /* five files of 4 MiB: over 16 MiB in all */
    tar_open(&t, 21 << 20);
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "./f%d.lua", i);
        tar_add(&t, name, AE_IFREG, NULL, REPLAY_REQUEST_MAX_FILE_BYTES, NULL, NULL);
    }
    tar_close(&t);
    assert_int_equal(parse_tar(&t, "", &r), 413);
    expect_error(&r, "more than 16777216 bytes (16 MiB) in all");
    replay_request_free(&r);
    /* 1,001 files */
    tar_open(&t, 4 << 20);
    for (int i = 0; i <= REPLAY_REQUEST_MAX_FILES; i++) {
        char name[32];
        snprintf(name, sizeof name, "./f%04d.lua", i);
        tar_file(&t, name, "");
    }
    tar_close(&t);
    assert_int_equal(parse_tar(&t, "", &r), 413);
    expect_error(&r, "more than 1000 rule files");
    replay_request_free(&r);
}

static void bad_tars_and_queries_are_400(void **state)
{
    (void)state;
    replay_request r;
    const char junk[] = "this is not a tar archive, not even close to one";
    assert_int_equal(replay_request_tar(junk, sizeof junk, "", &r), -1);
    assert_int_equal(r.status, 400);
    expect_error(&r, "the body is not a tar archive");
    replay_request_free(&r);
    /* a tar without rule files (tests alone do not make a rule set) */
    tar_buf t;
    tar_open(&t, 1 << 16);
    tar_file(&t, "./a_test.lua", "-- tests");
    tar_file(&t, "./notes.txt", "x");
    tar_close(&t);
    assert_int_equal(parse_tar(&t, "", &r), 400);
    expect_error(&r, "no rule file");
    replay_request_free(&r);
    /* the same path twice */
    tar_open(&t, 1 << 16);
    tar_file(&t, "./a.lua", "1");
    tar_file(&t, "a.lua", "2");
    tar_close(&t);
    assert_int_equal(parse_tar(&t, "", &r), 400);
    expect_error(&r, "a.lua: the same path twice");
    replay_request_free(&r);

    static const struct {
        const char *query, *want, *field;
    } q[] = {
        {"kind=x", "unknown parameter 'kind'", "kind"},
        {"since=2026-06-10T00:00:00Z&since=2026-06-11T00:00:00Z", "since is given twice", "since"},
        {"since=2026-06-11T00:00:00Z&until=2026-06-10T00:00:00Z",
         "since 2026-06-11T00:00:00Z is after until 2026-06-10T00:00:00Z", "since"},
        {"until=soon", "until 'soon' is not an RFC 3339 time", "until"},
        {"since=2026-06-10T00%3", "since is not percent-encoded correctly", "since"},
        {"since=%G0", "since is not percent-encoded correctly", "since"},
        {"type=%00", "type is not percent-encoded correctly", "type"},
        {"type=", "type needs a type or a prefix ending in '*'", "type"},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        tar_open(&t, 1 << 16);
        tar_file(&t, "./a.lua", "");
        tar_close(&t);
        assert_int_equal(parse_tar(&t, q[i].query, &r), 400);
        expect_error(&r, q[i].want);
        assert_string_equal(r.field, q[i].field);
        replay_request_free(&r);
    }
    /* '+' is a plus sign, not a space: an offset needs no escaping */
    tar_open(&t, 1 << 16);
    tar_file(&t, "./a.lua", "");
    tar_close(&t);
    assert_int_equal(parse_tar(&t, "until=2026-06-10T02:00:00+02:00&&", &r), 0);
    obligo_time want = 0;
    assert_int_equal(clock_parse_any("2026-06-10T00:00:00Z", &want), 0);
    assert_true(r.until == want);
    replay_request_free(&r);
}

/* ---- JSON -------------------------------------------------------------------- */

static int parse_json(const char *body, const char *query, replay_request *r)
{
    return replay_request_json(body, strlen(body), query, r) ? r->status : 0;
}

static void json_of_rule_files(void **state)
{
    (void)state;
    replay_request r;
    assert_int_equal(parse_json("{\"type\":\"nl.nen7513.access\",\"rules\":{"
                                "\"z.lua\":\"-- z\",\"ict/practice_test.lua\":\"-- t\","
                                "\"ict/practice.lua\":\"-- r\\n\"},"
                                "\"until\":\"2026-06-12T12:00:00+02:00\"}",
                                "", &r),
                     0);
    assert_int_equal(r.src.n, 3);
    assert_string_equal(r.src.files[0].path, "ict/practice.lua");
    assert_string_equal(r.src.files[1].path, "ict/practice_test.lua");
    assert_string_equal(r.src.files[2].path, "z.lua");
    assert_int_equal(r.src.files[0].is_test, 0);
    assert_int_equal(r.src.files[1].is_test, 1);
    assert_int_equal(r.src.files[0].len, 5);
    assert_memory_equal(r.src.files[0].text, "-- r\n", 5);
    assert_string_equal(r.type, "nl.nen7513.access");
    assert_true(r.since == 0);
    obligo_time want = 0;
    assert_int_equal(clock_parse_any("2026-06-12T10:00:00Z", &want), 0);
    assert_true(r.until == want);
    replay_request_free(&r);
}

static void bad_json_bodies_are_400(void **state)
{
    (void)state;
    static const struct {
        const char *body, *query;
        int status;
        const char *want, *field;
    } cases[] = {
        {"{\"rules\":", "", 400, "not valid JSON", NULL},
        {"[1]", "", 400, "must be a JSON object", NULL},
        {"{}", "", 400, "rules is required", "rules"},
        {"{\"rules\":[]}", "", 400, "non-empty object", "rules"},
        {"{\"rules\":{}}", "", 400, "non-empty object", "rules"},
        {"{\"rules\":{\"a.lua\":\"\"},\"verbose\":1}", "", 400, "unknown member 'verbose'",
         "verbose"},
        {"{\"rules\":{\"a.lua\":\"\"},\"rules\":{}}", "", 400, "rules is given twice", "rules"},
        {"{\"rules\":{\"a.lua\":\"\",\"a.lua\":\"\"}}", "", 400, "a.lua: the same path twice",
         "rules"},
        {"{\"rules\":{\"../a.lua\":\"\"}}", "", 400, "'../a.lua' has a '.' or '..' component",
         "rules"},
        {"{\"rules\":{\"x/./a.lua\":\"\"}}", "", 400, "has a '.' or '..' component", "rules"},
        {"{\"rules\":{\"/a.lua\":\"\"}}", "", 400, "'/a.lua' is absolute", "rules"},
        {"{\"rules\":{\".a.lua\":\"\"}}", "", 400, "is hidden", "rules"},
        {"{\"rules\":{\"a\\\\b.lua\":\"\"}}", "", 400, "backslash", "rules"},
        {"{\"rules\":{\"a.txt\":\"\"}}", "", 400, "'a.txt' does not end in .lua", "rules"},
        {"{\"rules\":{\"a.lua\":null}}", "", 400, "'a.lua' must be a string", "rules"},
        {"{\"rules\":{\"a_test.lua\":\"\"}}", "", 400, "no rule file", "rules"},
        {"{\"rules\":{\"a.lua\":\"\"},\"since\":5}", "", 400, "since must be a string", "since"},
        {"{\"rules\":{\"a.lua\":\"\"},\"since\":\"2026-06-11T00:00:00Z\","
         "\"until\":\"2026-06-10T00:00:00Z\"}",
         "", 400, "since 2026-06-11T00:00:00Z is after until 2026-06-10T00:00:00Z", "since"},
        {"{\"rules\":{\"a.lua\":\"\"},\"since\":\"monday\"}", "", 400,
         "since 'monday' is not an RFC 3339 time", "since"},
        {"{\"rules\":{\"a.lua\":\"\"},\"type\":\"\"}", "", 400, "type needs a type", "type"},
        {"{\"rules\":{\"a.lua\":\"\"}}", "since=2026-06-10T00:00:00Z", 400,
         "takes no query parameters", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        replay_request r;
        int st = parse_json(cases[i].body, cases[i].query, &r);
        if (st != cases[i].status)
            fail_msg("%s: expected %d, got %d (%s)", cases[i].body, cases[i].status, st,
                     r.error ? r.error : "");
        expect_error(&r, cases[i].want);
        if (cases[i].field)
            assert_string_equal(r.field, cases[i].field);
        else
            assert_null(r.field);
        replay_request_free(&r);
    }
}

static void json_past_the_limits_is_413(void **state)
{
    (void)state;
    /* 1,001 files */
    size_t cap = 64 * 1024;
    char *b = malloc(cap);
    size_t n = (size_t)snprintf(b, cap, "{\"rules\":{");
    for (int i = 0; i <= REPLAY_REQUEST_MAX_FILES; i++)
        n += (size_t)snprintf(b + n, cap - n, "%s\"f%04d.lua\":\"\"", i ? "," : "", i);
    snprintf(b + n, cap - n, "}}");
    replay_request r;
    assert_int_equal(parse_json(b, "", &r), 413);
    expect_error(&r, "more than 1000 rule files");
    replay_request_free(&r);
    free(b);
    /* a file over 4 MiB */
    size_t big = REPLAY_REQUEST_MAX_FILE_BYTES + 1;
    b = malloc(big + 64);
    n = (size_t)snprintf(b, 64, "{\"rules\":{\"big.lua\":\"");
    memset(b + n, '-', big);
    snprintf(b + n + big, 64, "\"}}");
    assert_int_equal(parse_json(b, "", &r), 413);
    expect_error(&r, "big.lua: more than 4194304 bytes");
    replay_request_free(&r);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tar_of_a_rule_directory),
        cmocka_unit_test(hostile_tar_entries_are_refused),
        cmocka_unit_test(tars_past_the_limits_are_413),
        cmocka_unit_test(bad_tars_and_queries_are_400),
        cmocka_unit_test(json_of_rule_files),
        cmocka_unit_test(bad_json_bodies_are_400),
        cmocka_unit_test(json_past_the_limits_is_413),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
