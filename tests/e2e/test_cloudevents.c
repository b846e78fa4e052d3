/*
 * test_cloudevents.c — the CloudEvents HTTP binding and compressed bodies
 * against `obligo serve`, with real clients: the Node cloudevents SDK
 * (tests/clients/cloudevents_send.mjs, HTTP.binary and HTTP.structured),
 * the curl binary with ce-* headers, gzip bodies made by /bin/gzip and a
 * deflate body made by zlib; and bad input: a binary event without ce-id,
 * a gzip body that is not gzip, a compression bomb, an encoding the server
 * does not take.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "http_client.h"
#include "support.h"

#define RULES OBLIGO_SOURCE_DIR "/rules"
#define CLIENTS OBLIGO_SOURCE_DIR "/tests/clients"

typedef struct fx {
    char *dir;
    char db[512], log[512], url[128];
    int port;
    pid_t pid;
} fx;

static int setup_with(void **state, const char *config)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    snprintf(f->db, sizeof f->db, "%s/obligo.db", f->dir);
    snprintf(f->log, sizeof f->log, "%s/serve.log", f->dir);
    f->port = client_free_port();
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d/v1/events", f->port);
    char *cfg = config ? support_write(f->dir, "obligo.json", config) : NULL;
    char *extra[] = {"--config", cfg, NULL};
    f->pid = client_start_server_args(f->db, RULES, f->port, f->log, cfg ? extra : NULL);
    free(cfg);
    assert_true(f->pid > 0);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, NULL);
}

/* max_body_bytes at 1 MiB: the bomb is refused quickly */
static int setup_small(void **state)
{
    return setup_with(state, "{\"max_body_bytes\": 1048576}");
}

static int teardown(void **state)
{
    fx *f = *state;
    assert_int_equal(client_stop_server(f->pid, SIGTERM), 0);
    support_assert_clean_log(f->log);
    support_assert_replays(f->db);
    support_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static long db_long(const char *db, const char *sql)
{
    char *out = NULL;
    char *argv[] = {"/usr/bin/sqlite3", (char *)db, (char *)sql, NULL};
    long n = support_run(argv, &out, NULL) == 0 ? atol(out) : -1;
    free(out);
    return n;
}

/* curl -s ARGS... URL: the status, and the answer (head and body with
 * -i) in *out (caller frees). */
static int curl(const fx *f, char **out, const char *const *args)
{
    char *argv[40] = {"/usr/bin/curl", "-s", "-i", "-o", "-", "--max-time", "60"};
    int n = 7;
    for (int i = 0; args[i] && n < 37; i++)
        argv[n++] = (char *)args[i];
    argv[n++] = (char *)f->url;
    argv[n] = NULL;
    char *o = NULL;
    assert_int_equal(support_run(argv, &o, NULL), 0);
    int status = 0;
    /* the last status line: curl prints a 100 Continue too */
    for (const char *p = o; (p = strstr(p, "HTTP/1.1 ")); p += 9)
        status = atoi(p + 9);
    *out = o;
    return status;
}

static void sh(const char *cmd)
{
    char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
    assert_int_equal(support_run(argv, NULL, NULL), 0);
}

static const char *breach_json = "{\"breach_id\":\"%s\",\"aware_at\":\"2026-12-01T10:00:00+01:00\","
                                 "\"description\":\"x\",\"personal_data\":\"yes\"}";

static void sdk_binary_and_structured_are_journaled(void **state)
{
    fx *f = *state;
    char *argv[] = {"/usr/bin/env", "node", CLIENTS "/cloudevents_send.mjs", f->url, NULL};
    char *out = support_run_client(argv, "binary 202 ");
    if (!strstr(out, "structured 202 "))
        fail_msg("the structured event was not accepted: %s", out);
    free(out);
    /* both journaled as normal CloudEvents with their attributes */
    assert_int_equal(db_long(f->db, "SELECT count(*) FROM events WHERE id='sdk-binary-1' AND "
                                    "source='urn:ecd:sdk-test' AND type='nl.avg.breach.reported' "
                                    "AND subject='B-SDK-binary' AND "
                                    "json_extract(raw,'$.obligotest')='binary' AND "
                                    "json_extract(raw,'$.datacontenttype')='application/json' AND "
                                    "json_extract(raw,'$.data.breach_id')='B-SDK-binary'"),
                     1);
    assert_int_equal(db_long(f->db, "SELECT count(*) FROM events WHERE id='sdk-structured-1' AND "
                                    "json_extract(raw,'$.obligotest')='structured' AND "
                                    "json_extract(raw,'$.data.breach_id')='B-SDK-structured'"),
                     1);
    /* and judged: each opened its notification obligation */
    assert_int_equal(db_long(f->db, "SELECT count(*) FROM obligations WHERE subject IN "
                                    "('B-SDK-binary','B-SDK-structured')"),
                     db_long(f->db, "SELECT count(*) FROM obligations WHERE subject="
                                    "'B-SDK-binary'") *
                         2);
    assert_true(db_long(f->db, "SELECT count(*) FROM obligations WHERE subject='B-SDK-binary'") >
                0);
}

static void curl_binary_mode_and_bad_binary_events(void **state)
{
    fx *f = *state;
    char data[512], *out = NULL;
    snprintf(data, sizeof data, breach_json, "B-CURL");
    const char *ok[] = {"-H",
                        "ce-specversion: 1.0",
                        "-H",
                        "ce-id: curl-1",
                        "-H",
                        "ce-source: urn:ecd:curl",
                        "-H",
                        "ce-type: nl.avg.breach.reported",
                        "-H",
                        "ce-time: 2026-12-01T10:00:00%2B01:00",
                        "-H",
                        "ce-subject: caf%C3%A9",
                        "-H",
                        "Content-Type: application/json",
                        "--data-binary",
                        data,
                        NULL};
    assert_int_equal(curl(f, &out, ok), 202);
    free(out);
    assert_int_equal(db_long(f->db, "SELECT count(*) FROM events WHERE id='curl-1' AND "
                                    "subject='café' AND "
                                    "json_extract(raw,'$.time')='2026-12-01T10:00:00+01:00' AND "
                                    "json_extract(raw,'$.data.breach_id')='B-CURL'"),
                     1);
    /* no ce-id: 400 naming the header, kept in rejected */
    const char *no_id[] = {"-H",
                           "ce-specversion: 1.0",
                           "-H",
                           "ce-source: urn:ecd:curl",
                           "-H",
                           "ce-type: nl.avg.breach.reported",
                           "-H",
                           "ce-time: 2026-12-01T10:00:00+01:00",
                           "-H",
                           "Content-Type: application/json",
                           "--data-binary",
                           data,
                           NULL};
    assert_int_equal(curl(f, &out, no_id), 400);
    assert_non_null(strstr(out, "\"field\":\"ce-id\""));
    free(out);
    assert_int_equal(db_long(f->db, "SELECT count(*) FROM rejected WHERE field='ce-id' AND "
                                    "origin='http /v1/events[0]' AND "
                                    "json_extract(raw,'$.source')='urn:ecd:curl'"),
                     1);
    /* a ce-* header twice */
    const char *twice[] = {"-H",
                           "ce-specversion: 1.0",
                           "-H",
                           "ce-id: a",
                           "-H",
                           "ce-id: b",
                           "-H",
                           "Content-Type: application/json",
                           "--data-binary",
                           data,
                           NULL};
    assert_int_equal(curl(f, &out, twice), 400);
    assert_non_null(strstr(out, "more than one ce-id"));
    free(out);
    /* a catalogue type with a body that is not JSON */
    const char *text[] = {"-H",
                          "ce-specversion: 1.0",
                          "-H",
                          "ce-id: curl-2",
                          "-H",
                          "ce-source: urn:ecd:curl",
                          "-H",
                          "ce-type: nl.avg.breach.reported",
                          "-H",
                          "ce-time: 2026-12-01T10:00:00+01:00",
                          "-H",
                          "Content-Type: text/plain",
                          "--data-binary",
                          "a breach",
                          NULL};
    assert_int_equal(curl(f, &out, text), 400);
    assert_non_null(strstr(out, "needs JSON data"));
    free(out);
    assert_int_equal(db_long(f->db, "SELECT count(*) FROM rejected"), 3);
    assert_int_equal(db_long(f->db, "SELECT count(*) FROM events WHERE source='urn:ecd:curl'"), 1);
}

static void data_base64_in_structured_mode(void **state)
{
    fx *f = *state;
    char data[512], *b64 = NULL, cmd[1024], ev[2048], *out = NULL;
    snprintf(data, sizeof data, breach_json, "B-B64");
    char *file = support_write(f->dir, "data.json", data);
    snprintf(cmd, sizeof cmd, "base64 -w0 %s > %s.b64", file, file);
    sh(cmd);
    snprintf(cmd, sizeof cmd, "%s.b64", file);
    char *argv[] = {"/bin/cat", cmd, NULL};
    assert_int_equal(support_run(argv, &b64, NULL), 0);
    free(file);
    snprintf(ev, sizeof ev,
             "{\"specversion\":\"1.0\",\"id\":\"b64-1\",\"source\":\"urn:ecd:b64\","
             "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-12-01T10:00:00+01:00\","
             "\"datacontenttype\":\"application/json\",\"data_base64\":\"%s\"}",
             b64);
    free(b64);
    const char *args[] = {"-H", "Content-Type: application/cloudevents+json", "--data-binary", ev,
                          NULL};
    assert_int_equal(curl(f, &out, args), 202);
    free(out);
    assert_true(db_long(f->db, "SELECT count(*) FROM obligations WHERE subject='B-B64'") > 0);
    const char *both[] = {"-H", "Content-Type: application/cloudevents+json", "--data-binary",
                          "{\"specversion\":\"1.0\",\"id\":\"b64-2\",\"source\":\"urn:ecd:b64\","
                          "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-12-01T10:00:00+01:"
                          "00\",\"data\":{},\"data_base64\":\"e30=\"}",
                          NULL};
    assert_int_equal(curl(f, &out, both), 400);
    assert_non_null(strstr(out, "\"field\":\"data_base64\""));
    free(out);
}

static void gzip_and_deflate_bodies_from_curl(void **state)
{
    fx *f = *state;
    char data[512], ev[1024], cmd[1024], path[600], arg[640], *out = NULL;
    snprintf(data, sizeof data, breach_json, "B-GZ");
    snprintf(ev, sizeof ev,
             "{\"specversion\":\"1.0\",\"id\":\"gz-1\",\"source\":\"urn:ecd:gz\","
             "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-12-01T10:00:00+01:00\","
             "\"data\":%s}",
             data);
    char *file = support_write(f->dir, "event.json", ev);
    snprintf(cmd, sizeof cmd, "/bin/gzip -k -9 %s", file);
    sh(cmd);
    snprintf(arg, sizeof arg, "@%s.gz", file);
    const char *gz[] = {"-H",
                        "Content-Type: application/cloudevents+json",
                        "-H",
                        "Content-Encoding: gzip",
                        "--data-binary",
                        arg,
                        NULL};
    assert_int_equal(curl(f, &out, gz), 202);
    free(out);
    assert_int_equal(db_long(f->db, "SELECT count(*) FROM events WHERE id='gz-1' AND "
                                    "json_extract(raw,'$.data.breach_id')='B-GZ'"),
                     1);
    /* a binary-mode event whose body is gzipped, sent chunked */
    char *body = support_write(f->dir, "data.json", data);
    snprintf(cmd, sizeof cmd, "/bin/gzip -k %s", body);
    sh(cmd);
    snprintf(arg, sizeof arg, "@%s.gz", body);
    const char *bin[] = {"-H",
                         "ce-specversion: 1.0",
                         "-H",
                         "ce-id: gz-2",
                         "-H",
                         "ce-source: urn:ecd:gz",
                         "-H",
                         "ce-type: nl.avg.breach.reported",
                         "-H",
                         "ce-time: 2026-12-01T10:00:00+01:00",
                         "-H",
                         "Content-Type: application/json",
                         "-H",
                         "Content-Encoding: gzip",
                         "-H",
                         "Transfer-Encoding: chunked",
                         "--data-binary",
                         arg,
                         NULL};
    assert_int_equal(curl(f, &out, bin), 202);
    free(out);
    /* deflate (the zlib format), made with zlib */
    snprintf(ev, sizeof ev,
             "{\"specversion\":\"1.0\",\"id\":\"df-1\",\"source\":\"urn:ecd:gz\","
             "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-12-01T10:00:00+01:00\","
             "\"data\":%s}",
             data);
    unsigned char z[2048];
    uLongf zn = sizeof z;
    assert_int_equal(compress2(z, &zn, (const Bytef *)ev, strlen(ev), 9), Z_OK);
    snprintf(path, sizeof path, "%s/event.zz", f->dir);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(z, 1, zn, fp), zn);
    fclose(fp);
    snprintf(arg, sizeof arg, "@%s", path);
    const char *df[] = {"-H",
                        "Content-Type: application/cloudevents+json",
                        "-H",
                        "Content-Encoding: deflate",
                        "--data-binary",
                        arg,
                        NULL};
    assert_int_equal(curl(f, &out, df), 202);
    free(out);
    assert_int_equal(db_long(f->db, "SELECT count(*) FROM events WHERE source='urn:ecd:gz'"), 3);

    /* a body that says gzip and is not: 400 naming the encoding; not kept
     * (the transport refuses it before any event is read) */
    const char *notgz[] = {"-H",
                           "Content-Type: application/cloudevents+json",
                           "-H",
                           "Content-Encoding: gzip",
                           "--data-binary",
                           ev,
                           NULL};
    assert_int_equal(curl(f, &out, notgz), 400);
    assert_non_null(strstr(out, "not valid gzip data (Content-Encoding: gzip)"));
    free(out);
    assert_int_equal(db_long(f->db, "SELECT count(*) FROM rejected"), 0);
    /* br: 415 with the encodings taken */
    const char *br[] = {"-H",
                        "Content-Type: application/cloudevents+json",
                        "-H",
                        "Content-Encoding: br",
                        "--data-binary",
                        ev,
                        NULL};
    assert_int_equal(curl(f, &out, br), 415);
    assert_non_null(strstr(out, "\r\nAccept-Encoding: gzip, deflate\r\n"));
    free(out);
    free(file);
    free(body);
}

static void compression_bomb_gets_413_and_the_server_serves_on(void **state)
{
    fx *f = *state;
    char cmd[1024], arg[600], *out = NULL;
    /* 64 MiB of zeros, gzipped to ~64 KiB */
    snprintf(cmd, sizeof cmd, "head -c 67108864 /dev/zero | /bin/gzip -9 > %s/bomb.gz", f->dir);
    sh(cmd);
    snprintf(arg, sizeof arg, "%s/bomb.gz", f->dir);
    struct stat st;
    assert_int_equal(stat(arg, &st), 0);
    assert_true(st.st_size < 128 * 1024);
    snprintf(arg, sizeof arg, "@%s/bomb.gz", f->dir);
    const char *bomb[] = {"-H",
                          "Content-Type: application/cloudevents+json",
                          "-H",
                          "Content-Encoding: gzip",
                          "--data-binary",
                          arg,
                          NULL};
    assert_int_equal(curl(f, &out, bomb), 413);
    assert_non_null(strstr(out, "inflates to more than the limit of 1048576 bytes"));
    free(out);
    /* it still serves, and never held more than the limit's worth */
    char *metrics = NULL;
    assert_int_equal(client_request(f->port, "GET", "/metrics", NULL, NULL, 0, &metrics), 200);
    const char *peak = strstr(metrics, "\nobligo_http_buffered_body_bytes_peak ");
    assert_non_null(peak);
    long long held = atoll(peak + strlen("\nobligo_http_buffered_body_bytes_peak "));
    if (held > 1048576 + 2 * 1024 * 1024 / 16)
        fail_msg("peak of %lld bytes held for the bomb", held);
    free(metrics);
    char ev[1024], data[512];
    snprintf(data, sizeof data, breach_json, "B-AFTER");
    snprintf(ev, sizeof ev,
             "{\"specversion\":\"1.0\",\"id\":\"after-1\",\"source\":\"urn:ecd:bomb\","
             "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-12-01T10:00:00+01:00\","
             "\"data\":%s}",
             data);
    assert_int_equal(client_request(f->port, "POST", "/v1/events", "application/cloudevents+json",
                                    ev, strlen(ev), NULL),
                     202);
}

int main(void)
{
    if (access("/usr/bin/curl", X_OK) != 0) {
        fprintf(stderr, "test_cloudevents: no /usr/bin/curl (scripts/setup installs it)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sdk_binary_and_structured_are_journaled, setup, teardown),
        cmocka_unit_test_setup_teardown(curl_binary_mode_and_bad_binary_events, setup, teardown),
        cmocka_unit_test_setup_teardown(data_base64_in_structured_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(gzip_and_deflate_bodies_from_curl, setup, teardown),
        cmocka_unit_test_setup_teardown(compression_bomb_gets_413_and_the_server_serves_on,
                                        setup_small, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
