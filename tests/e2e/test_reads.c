/*
 * test_reads.c — end to end over real sockets: the GETs that read the
 * database run on reader threads, not the event loop. With one reader
 * thread kept busy by slow reads, /healthz is still answered; the register
 * history pages by the last seq seen and returns every version exactly
 * once, also while versions are appended between pages; an answer larger
 * than max_answer_bytes gets 422 naming the cap; /metrics counts match the
 * database after commits and after a restart.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "support.h"

#define RULES OBLIGO_SOURCE_DIR "/rules"

typedef struct fx {
    char *dir;
    char db[512], log[512], cfg[512];
    int port;
    pid_t pid;
    int synthetic; /* rows written with SQL, not judged by the engine */
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    snprintf(f->db, sizeof f->db, "%s/obligo.db", f->dir);
    snprintf(f->log, sizeof f->log, "%s/serve.log", f->dir);
    snprintf(f->cfg, sizeof f->cfg, "%s/obligo.json", f->dir);
    f->port = client_free_port();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    if (f->pid > 0)
        client_stop_server(f->pid, SIGTERM);
    support_assert_clean_log(f->log);
    if (!f->synthetic)
        support_assert_replays(f->db);
    support_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void start(fx *f, const char *config_json)
{
    free(support_write(f->dir, "obligo.json", config_json));
    char *extra[] = {"--config", f->cfg, NULL};
    f->pid = client_start_server_args(f->db, RULES, f->port, f->log, extra);
    assert_true(f->pid > 0);
}

static void stop(fx *f)
{
    assert_int_equal(client_stop_server(f->pid, SIGTERM), 0);
    f->pid = 0;
}

static void sql(fx *f, const char *text)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 30000);
    support_sql_exec(db, text);
    sqlite3_close(db);
}

static long long sql_int(fx *f, const char *text)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 30000);
    long long n = support_sql_int(db, text);
    sqlite3_close(db);
    return n;
}

static int post_breach_persons(fx *f, const char *id, const char *breach_id,
                               const char *description, const char *persons)
{
    char ev[4096];
    snprintf(ev, sizeof ev,
             "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"urn:test\","
             "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-02-02T09:15:00+01:00\","
             "\"data\":{\"breach_id\":\"%s\",\"aware_at\":\"2026-02-02T09:15:00+01:00\","
             "\"description\":\"%s\",\"personal_data\":\"yes\"%s%s%s}}",
             id, breach_id, description, persons ? ",\"persons_affected\":" : "",
             persons ? persons : "", "");
    return client_request(f->port, "POST", "/v1/events", "application/cloudevents+json", ev,
                          strlen(ev), NULL);
}

static int post_breach(fx *f, const char *id, const char *breach_id, const char *description)
{
    return post_breach_persons(f, id, breach_id, description, NULL);
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Whether fd has bytes to read right now (no waiting). */
static int readable_now(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

/* Reads one whole response with Content-Length from fd (generous timeout);
 * returns the status. */
static int read_response(int fd)
{
    char buf[65536];
    size_t have = 0;
    long need = -1;
    while (1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 120000), 1);
        ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
        assert_true(n > 0);
        have += (size_t)n;
        buf[have] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end && need < 0) {
            char *cl = strstr(buf, "Content-Length: ");
            assert_non_null(cl);
            need = (long)(end + 4 - buf) + atol(cl + 16);
        }
        if (need >= 0 && (long)have >= need)
            break;
        assert_true(have < sizeof buf - 1); /* these answers are small */
    }
    return atoi(buf + 9);
}

/* One reader thread, kept busy by a queue of slow reads (each walks every
 * alert for an acknowledged one, and there are none; a kind that has none
 * is no longer slow: alerts_by_kind finds that at once): /healthz is answered while some of them
 * still wait for their answer, because it goes to the writer, not to the
 * loop or the reader. With the reads on the loop thread each read would be
 * answered before the loop even read the /healthz request. */
static void healthz_answers_while_the_only_reader_is_busy(void **state)
{
    fx *f = *state;
    start(f, "{\"reader_threads\": 1}");
    stop(f);
    f->synthetic = 1;
    sql(f, "INSERT INTO events(seq,source,id,type,time,raw,received_at,ruleset,hash,prev_hash) "
           "VALUES(1000000,'urn:bulk','e1','t',0,'{}',0,'r','h','p');"
           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400000) "
           "INSERT INTO alerts(id,kind,severity,subject,at,message,event) "
           "SELECT 'al-bulk-' || i, 'bulk.kind', 'low', 'S-' || i, 0, 'm', 1000000 FROM n;");
    start(f, "{\"reader_threads\": 1}");
    enum { NREADS = 6 };
    int busy_seen = 0;
    for (int attempt = 0; attempt < 5 && !busy_seen; attempt++) {
        int fds[NREADS];
        const char req[] = "GET /v1/alerts?acknowledged=1&limit=10000 HTTP/1.1\r\nHost: t\r\n\r\n";
        for (int i = 0; i < NREADS; i++) {
            fds[i] = connect_to(f->port);
            assert_int_equal(write(fds[i], req, sizeof req - 1), (ssize_t)(sizeof req - 1));
        }
        assert_int_equal(client_request(f->port, "GET", "/healthz", NULL, NULL, 0, NULL), 200);
        int waiting = 0;
        for (int i = 0; i < NREADS; i++)
            waiting += !readable_now(fds[i]);
        busy_seen = waiting > 0;
        for (int i = 0; i < NREADS; i++) {
            assert_int_equal(read_response(fds[i]), 200);
            close(fds[i]);
        }
    }
    assert_true(busy_seen);
}

/* ?history=1 pages by the last seq seen (after, limit); every version
 * comes exactly once, in the order appended, also when versions are
 * appended between two pages. */
static void history_pages_return_every_version_once(void **state)
{
    fx *f = *state;
    start(f, "{}");
    /* 3 breaches, each reported 1 + 3 times: versions of three keys */
    char id[32], bid[32], desc[32];
    for (int round = 0; round < 4; round++)
        for (int b = 0; b < 3; b++) {
            snprintf(id, sizeof id, "h%d-%d", b, round);
            snprintf(bid, sizeof bid, "B-%d", b);
            snprintf(desc, sizeof desc, "%d", round + 1);
            assert_int_equal(post_breach_persons(f, id, bid, "x", desc), 202);
        }
    long long total = sql_int(f, "SELECT count(*) FROM registers WHERE register='datalekken'");
    assert_int_equal(total, 12); /* each report changes persons_affected: a version */
    long long after = 0, seen = 0, last_seq = 0;
    int appended = 0;
    for (int page = 0; page < 1000; page++) {
        char path[128], *resp = NULL;
        snprintf(path, sizeof path, "/v1/registers/datalekken?history=1&limit=4&after=%lld", after);
        assert_int_equal(client_request(f->port, "GET", path, NULL, NULL, 0, &resp), 200);
        cJSON *rows = cJSON_Parse(resp);
        free(resp);
        assert_true(cJSON_IsArray(rows));
        int n = cJSON_GetArraySize(rows);
        assert_true(n <= 4);
        for (int i = 0; i < n; i++) {
            const cJSON *e = cJSON_GetArrayItem(rows, i);
            const cJSON *seq = cJSON_GetObjectItem(e, "seq");
            assert_true(cJSON_IsNumber(seq));
            assert_true((long long)seq->valuedouble > last_seq); /* once, in order */
            last_seq = (long long)seq->valuedouble;
            seen++;
        }
        cJSON_Delete(rows);
        if (n == 0)
            break;
        after = last_seq;
        if (!appended) {
            /* a new version between pages is in a later page, once */
            assert_int_equal(post_breach(f, "h-late", "B-9", "late"), 202);
            appended = 1;
        }
    }
    long long now = sql_int(f, "SELECT count(*) FROM registers WHERE register='datalekken'");
    assert_true(now > total);
    assert_int_equal(seen, now);
    /* a bad paging parameter is refused as on the other lists */
    assert_int_equal(client_request(f->port, "GET",
                                    "/v1/registers/datalekken?history=1&limit=10001", NULL, NULL, 0,
                                    NULL),
                     400);
}

/* An answer larger than max_answer_bytes is refused with 422 naming the
 * cap: a journaled event, and a page of a list (which a smaller limit
 * fixes). */
static void oversize_answer_is_refused_naming_the_cap(void **state)
{
    fx *f = *state;
    start(f, "{\"max_answer_bytes\": 2048}");
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(post_breach(f, "big", "B-big", big), 202);
    char *resp = NULL;
    assert_int_equal(
        client_request(f->port, "GET", "/v1/events/urn:test/big", NULL, NULL, 0, &resp), 422);
    assert_non_null(strstr(resp, "max_answer_bytes (2048)"));
    free(resp);
    /* the same through ?source=&id= */
    assert_int_equal(
        client_request(f->port, "GET", "/v1/events?source=urn:test&id=big", NULL, NULL, 0, NULL),
        422);
    char id[32];
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "s%d", i);
        assert_int_equal(post_breach(f, id, id, "small"), 202);
    }
    assert_int_equal(
        client_request(f->port, "GET", "/v1/obligations?limit=10000", NULL, NULL, 0, &resp), 422);
    assert_non_null(strstr(resp, "max_answer_bytes (2048)"));
    assert_non_null(strstr(resp, "limit"));
    free(resp);
    assert_int_equal(
        client_request(f->port, "GET", "/v1/obligations?limit=1", NULL, NULL, 0, &resp), 200);
    free(resp);
    assert_int_equal(client_request(f->port, "GET", "/v1/events/urn:test/s1", NULL, NULL, 0, NULL),
                     200);
}

/* The value of one sample line in the exposition text, or -1. */
static long long sample(const char *text, const char *name)
{
    char needle[256];
    snprintf(needle, sizeof needle, "\n%s ", name);
    const char *p = strstr(text, needle);
    return p ? atoll(p + strlen(needle)) : -1;
}

/* 1 when every obligation and alert count on /metrics equals counting the
 * tables now. */
static int metrics_match_database(fx *f)
{
    int ok = 1;
    char *text = NULL;
    assert_int_equal(client_request(f->port, "GET", "/metrics", NULL, NULL, 0, &text), 200);
    static const char *const statuses[] = {"open", "fulfilled", "overdue", "late", "cancelled"};
    for (int i = 0; i < 5; i++) {
        char name[128], q[160];
        snprintf(name, sizeof name, "obligo_obligations{status=\"%s\"}", statuses[i]);
        snprintf(q, sizeof q, "SELECT count(*) FROM obligations WHERE status='%s'", statuses[i]);
        ok &= sample(text, name) == sql_int(f, q);
    }
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT kind, count(*) FROM alerts GROUP BY kind", -1, &s, NULL),
        SQLITE_OK);
    int kinds = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        char name[256];
        snprintf(name, sizeof name, "obligo_alerts_total{kind=\"%s\"}",
                 (const char *)sqlite3_column_text(s, 0));
        ok &= sample(text, name) == sqlite3_column_int64(s, 1);
        kinds++;
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    ok &= kinds > 0 && client_count(text, "\nobligo_alerts_total{") == kinds;
    free(text);
    return ok;
}

/* Deadlines that fell due fire in commits of their own, right after the
 * events' commit: the counts are compared again after another commit (a
 * health check) until nothing is left to fire, within a generous bound. */
static void assert_metrics_match_database(fx *f)
{
    int ok = 0;
    for (int attempt = 0; attempt < 200 && !ok; attempt++) {
        assert_int_equal(client_request(f->port, "GET", "/healthz", NULL, NULL, 0, NULL), 200);
        ok = metrics_match_database(f);
    }
    assert_true(ok);
}

/* /metrics shows the running counts the writer keeps: equal to counting
 * the tables, after commits that open, fulfil and overdue obligations and
 * raise alerts, and after a restart (counted once at start-up). */
static void metrics_match_the_database_after_commits(void **state)
{
    fx *f = *state;
    start(f, "{}");
    char id[32];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "m%d", i);
        assert_int_equal(post_breach(f, id, id, "x"), 202);
    }
    /* the events are dated in the past: their deadlines fire and the
     * obligations change status */
    assert_metrics_match_database(f);
    stop(f);
    start(f, "{}");
    assert_int_equal(post_breach(f, "m-after", "m-after", "x"), 202);
    assert_metrics_match_database(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(healthz_answers_while_the_only_reader_is_busy, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(history_pages_return_every_version_once, setup, teardown),
        cmocka_unit_test_setup_teardown(oversize_answer_is_refused_naming_the_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(metrics_match_the_database_after_commits, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
