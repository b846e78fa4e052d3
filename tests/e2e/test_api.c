/*
 * test_api.c — end to end over real sockets: the HTTP API of `obligo serve`
 * as integrators and officers meet it. Authorisation by role, each status
 * code, reads, /metrics, pipelined requests, a body sent one byte at a time,
 * a client that disconnects mid-body, and a SIGTERM that drains.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "support.h"

#define RULES OBLIGO_SOURCE_DIR "/rules"

typedef struct fx {
    char *dir;
    char db[512], log[512];
    int port;
    pid_t pid;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    snprintf(f->db, sizeof f->db, "%s/obligo.db", f->dir);
    snprintf(f->log, sizeof f->log, "%s/serve.log", f->dir);
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
    support_assert_replays(f->db);
    support_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static char *event(char *buf, size_t n, const char *id)
{
    snprintf(buf, n,
             "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"urn:test\","
             "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-02-02T09:15:00+01:00\","
             "\"data\":{\"breach_id\":\"%s\",\"aware_at\":\"2026-02-02T09:15:00+01:00\","
             "\"description\":\"x\",\"personal_data\":\"yes\"}}",
             id, id);
    return buf;
}

static int post(fx *f, const char *token, const char *id)
{
    char ev[1024];
    event(ev, sizeof ev, id);
    return client_request_auth(f->port, "POST", "/v1/events", "application/cloudevents+json", ev,
                               strlen(ev), token, NULL);
}

static void tokens_and_roles(void **state)
{
    fx *f = *state;
    char *ingest = support_make_token(f->db, "ingest");
    char *officer = support_make_token(f->db, "officer");
    char *admin = support_make_token(f->db, "admin");
    f->pid = client_start_server(f->db, RULES, f->port, f->log);
    assert_true(f->pid > 0);
    /* once tokens exist, even loopback clients need one */
    assert_int_equal(post(f, NULL, "a1"), 401);
    assert_int_equal(post(f, "obl_0000000000000000000000000000000000000000", "a1"), 401);
    assert_int_equal(post(f, officer, "a1"), 403);
    assert_int_equal(post(f, ingest, "a1"), 202);
    assert_int_equal(post(f, admin, "a2"), 202);
    assert_int_equal(
        client_request_auth(f->port, "GET", "/v1/obligations", NULL, NULL, 0, ingest, NULL), 403);
    assert_int_equal(
        client_request_auth(f->port, "GET", "/v1/obligations", NULL, NULL, 0, officer, NULL), 200);
    assert_int_equal(client_request_auth(f->port, "GET", "/v1/alerts", NULL, NULL, 0, admin, NULL),
                     200);
    assert_int_equal(client_request_auth(f->port, "GET", "/metrics", NULL, NULL, 0, NULL, NULL),
                     401);
    /* /healthz is open to monitoring */
    assert_int_equal(client_request(f->port, "GET", "/healthz", NULL, NULL, 0, NULL), 200);
    /* reload is for admins */
    assert_int_equal(client_request_auth(f->port, "POST", "/v1/rules/reload", "application/json",
                                         "", 0, ingest, NULL),
                     403);
    assert_int_equal(client_request_auth(f->port, "POST", "/v1/rules/reload", "application/json",
                                         "", 0, admin, NULL),
                     200);
    /* a revoked token stops working: the server reads the tokens table
     * again at most TOKENS_CACHE_SECONDS (1 s) after its last read */
    char *out = NULL;
    char *list[] = {(char *)OBLIGO_BIN, "token", "list", "--db", f->db, "--json", NULL};
    assert_int_equal(support_run(list, &out, NULL), 0);
    cJSON *tokens = cJSON_Parse(out);
    free(out);
    const char *ingest_id = NULL;
    for (cJSON *t = tokens ? tokens->child : NULL; t; t = t->next)
        if (strcmp(support_str(t, "role"), "ingest") == 0)
            ingest_id = support_str(t, "id");
    assert_non_null(ingest_id);
    char *revoke[] = {
        (char *)OBLIGO_BIN, "token", "revoke", (char *)ingest_id, "--db", f->db, NULL};
    assert_int_equal(support_run(revoke, NULL, NULL), 0);
    cJSON_Delete(tokens);
    int status = 0;
    for (int i = 0; i < 50 && status != 401; i++) {
        char id[16];
        snprintf(id, sizeof id, "a3-%d", i);
        status = post(f, ingest, id);
        assert_true(status == 202 || status == 401);
        if (status == 202)
            usleep(100 * 1000);
    }
    assert_int_equal(status, 401);
    free(ingest);
    free(officer);
    free(admin);
}

/* Connects, sends the head only (never a byte of the body it announces)
 * and reads until the server closes, waiting up to 20 s for each read.
 * Returns what was read (caller frees); *closed is 1 when the server
 * closed the connection, 0 when the wait ran out. */
static char *send_head_only(int port, const char *head, int *closed)
{
    *closed = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    size_t len = strlen(head);
    assert_int_equal(write(fd, head, len), (ssize_t)len);
    size_t cap = 8192, got = 0;
    char *buf = malloc(cap);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 20000) <= 0)
            break;
        ssize_t r = read(fd, buf + got, cap - got - 1);
        if (r == 0)
            *closed = 1;
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    buf[got] = '\0';
    close(fd);
    return buf;
}

/* send_head_only must get exactly one answer, `status`, and then the end of
 * the connection. */
static void head_refused(fx *f, const char *method, const char *path, const char *token,
                         const char *headers, int status)
{
    char head[1024], auth[128] = "";
    if (token)
        snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
    snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: t\r\n%s%s\r\n", method, path, auth,
             headers);
    int closed = 0;
    char *resp = send_head_only(f->port, head, &closed);
    char want[32];
    snprintf(want, sizeof want, "HTTP/1.1 %d ", status);
    if (strncmp(resp, want, strlen(want)) != 0)
        fail_msg("%s %s (%s): wanted %d at once, got \"%.80s\"", method, path, headers, status,
                 resp);
    if (client_count(resp, "HTTP/1.1 ") != 1 || !strstr(resp, "Connection: close\r\n") ||
        !closed) /* one answer (no 100 Continue either), then the end */
        fail_msg("%s %s (%s): not one answer then the end: closed %d, \"%s\"", method, path,
                 headers, closed, resp);
    free(resp);
}

/* Issue 13: a request that will be refused is refused when its head is in,
 * before a byte of its body is sent, and the connection ends; a POST
 * announcing 16 MB without a token no longer makes the server wait for
 * (and hold) the 16 MB first. */
static void refused_before_the_body(void **state)
{
    fx *f = *state;
    char *ingest = support_make_token(f->db, "ingest");
    char *officer = support_make_token(f->db, "officer");
    f->pid = client_start_server(f->db, RULES, f->port, f->log);
    assert_true(f->pid > 0);
    const char *big = "Content-Type: application/cloudevents+json\r\n"
                      "Content-Length: 16000000\r\n";
    head_refused(f, "POST", "/v1/events", NULL, big, 401);
    head_refused(f, "POST", "/v1/events", "obl_0000000000000000000000000000000000000000", big, 401);
    head_refused(f, "POST", "/v1/events", officer, big, 403);      /* a reader may not post */
    head_refused(f, "POST", "/v1/rules/reload", ingest, big, 403); /* nor ingest reload */
    head_refused(f, "POST", "/v1/nothing-here", ingest, big, 404);
    head_refused(f, "PUT", "/v1/events", ingest, big, 405);
    head_refused(f, "POST", "/v1/events", ingest,
                 "Content-Type: text/plain\r\nContent-Length: 16000000\r\n", 415);
    /* 411: a POST of events must say how long its body is */
    head_refused(f, "POST", "/v1/events", ingest, "Content-Type: application/x-ndjson\r\n", 411);
    head_refused(f, "POST", "/v1/events", ingest,
                 "Content-Type: application/x-ndjson\r\nContent-Length: 17000000\r\n", 413);
    /* Expect: 100-continue with a bad token: 401, never 100 Continue */
    head_refused(f, "POST", "/v1/events", "obl_1111111111111111111111111111111111111111",
                 "Expect: 100-continue\r\nContent-Type: application/cloudevents+json\r\n"
                 "Content-Length: 16000000\r\n",
                 401);
    /* ... and with a good one: 100 Continue, then the answer to the body */
    char ev[1024], head[1024];
    event(ev, sizeof ev, "x100");
    snprintf(head, sizeof head,
             "POST /v1/events HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
             "Expect: 100-continue\r\nContent-Type: application/cloudevents+json\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n",
             ingest, strlen(ev));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));
    const char *cont = "HTTP/1.1 100 Continue\r\n\r\n";
    char got[4096];
    size_t n = 0;
    while (n < strlen(cont)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_true(poll(&p, 1, 20000) == 1);
        ssize_t r = read(fd, got + n, strlen(cont) - n);
        assert_true(r > 0);
        n += (size_t)r;
    }
    assert_memory_equal(got, cont, strlen(cont));
    assert_int_equal(write(fd, ev, strlen(ev)), (ssize_t)strlen(ev));
    n = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 20000) <= 0)
            break;
        ssize_t r = read(fd, got + n, sizeof got - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    got[n] = '\0';
    close(fd);
    if (strncmp(got, "HTTP/1.1 202 ", 13) != 0)
        fail_msg("wanted 202 after 100 Continue, got \"%.80s\"", got);
    free(ingest);
    free(officer);
}

static void status_codes_reads_and_metrics(void **state)
{
    fx *f = *state;
    char *cfg = support_write(f->dir, "obligo.json", "{\"max_body_bytes\": 4096}");
    char *extra[] = {"--config", cfg, NULL};
    f->pid = client_start_server_args(f->db, RULES, f->port, f->log, extra);
    assert_true(f->pid > 0);
    char *resp = NULL;
    assert_int_equal(post(f, NULL, "m1"), 202);
    /* 413: a body over the configured limit */
    char *big = malloc(8192);
    memset(big, ' ', 8191);
    big[8191] = '\0';
    assert_int_equal(
        client_request(f->port, "POST", "/v1/events", "application/x-ndjson", big, 8191, NULL),
        413);
    free(big);
    /* 431: headers too large */
    size_t hl = 40000;
    char *huge = malloc(hl + 256);
    int n = sprintf(huge, "GET /healthz HTTP/1.1\r\nX-Big: ");
    memset(huge + n, 'a', hl);
    strcpy(huge + n + hl, "\r\n\r\n");
    char *raw = client_raw(f->port, huge, strlen(huge), 0, 3000);
    assert_non_null(raw);
    assert_non_null(strstr(raw, "HTTP/1.1 431"));
    free(raw);
    free(huge);
    assert_int_equal(client_request(f->port, "DELETE", "/v1/events", NULL, NULL, 0, NULL), 405);
    assert_int_equal(client_request(f->port, "GET", "/v1/nothing", NULL, NULL, 0, NULL), 404);
    assert_int_equal(
        client_request(f->port, "GET", "/v1/obligations?limit=abc", NULL, NULL, 0, NULL), 400);
    /* filters and paging */
    assert_int_equal(post(f, NULL, "m2"), 202);
    assert_int_equal(client_request(f->port, "GET", "/v1/obligations?kind=avg.notify_ap&subject=m2",
                                    NULL, NULL, 0, &resp),
                     200);
    cJSON *arr = cJSON_Parse(resp);
    free(resp);
    assert_int_equal(cJSON_GetArraySize(arr), 1);
    int first = (int)cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "id")->valuedouble;
    cJSON_Delete(arr);
    char path[128];
    snprintf(path, sizeof path, "/v1/obligations?after=%d", first - 1);
    assert_int_equal(client_request(f->port, "GET", path, NULL, NULL, 0, &resp), 200);
    arr = cJSON_Parse(resp);
    free(resp);
    assert_int_equal(cJSON_GetArraySize(arr), 1);
    cJSON_Delete(arr);
    assert_int_equal(
        client_request(f->port, "GET", "/v1/obligations?limit=1", NULL, NULL, 0, &resp), 200);
    arr = cJSON_Parse(resp);
    free(resp);
    assert_int_equal(cJSON_GetArraySize(arr), 1);
    cJSON_Delete(arr);
    /* the journaled event and the decisions it caused */
    assert_int_equal(client_request(f->port, "GET", "/v1/events/urn:test/m1", NULL, NULL, 0, &resp),
                     200);
    cJSON *ev = cJSON_Parse(resp);
    free(resp);
    assert_string_equal(support_str(cJSON_GetObjectItem(ev, "event"), "id"), "m1");
    cJSON *decisions = cJSON_GetObjectItem(ev, "decisions");
    assert_true(cJSON_GetArraySize(decisions) >= 2);
    const cJSON *open = support_find(decisions, "avg.notify_ap", "m1", NULL);
    assert_non_null(open);
    /* instants as RFC 3339 UTC, like every other output: 72 hours from the
     * awareness the event gives */
    assert_string_equal(support_str(open, "op"), "open");
    assert_string_equal(support_str(open, "from"), "2026-02-02T08:15:00Z");
    assert_string_equal(support_str(open, "due_at"), "2026-02-05T08:15:00Z");
    const cJSON *remind = cJSON_GetObjectItem(open, "remind");
    assert_true(cJSON_GetArraySize(remind) > 0);
    assert_true(cJSON_IsString(cJSON_GetArrayItem(remind, 0)));
    cJSON_Delete(ev);
    assert_int_equal(
        client_request(f->port, "GET", "/v1/events/urn:test/none", NULL, NULL, 0, NULL), 404);
    /* refused input is kept and listed with where it came from and why */
    static const char broken[] = "{\"specversion\":\"1.0\",\"id\":";
    assert_int_equal(client_request(f->port, "POST", "/v1/events", "application/cloudevents+json",
                                    broken, strlen(broken), NULL),
                     400);
    assert_int_equal(client_request(f->port, "GET", "/v1/rejected", NULL, NULL, 0, &resp), 200);
    cJSON *rej = cJSON_Parse(resp);
    free(resp);
    assert_int_equal(cJSON_GetArraySize(rej), 1);
    const cJSON *dead = cJSON_GetArrayItem(rej, 0);
    assert_string_equal(support_str(dead, "raw"), broken);
    assert_non_null(support_str(dead, "reason"));
    assert_non_null(strstr(support_str(dead, "origin"), "http"));
    cJSON_Delete(rej);
    assert_int_equal(
        client_request(f->port, "GET", "/v1/rejected?since=nonsense", NULL, NULL, 0, NULL), 400);
    assert_int_equal(
        client_request(f->port, "GET", "/v1/registers/datalekken?history=1", NULL, NULL, 0, &resp),
        200);
    assert_non_null(strstr(resp, "\"key\":\"m2\""));
    free(resp);
    assert_int_equal(client_request(f->port, "GET", "/metrics", NULL, NULL, 0, &resp), 200);
    assert_non_null(strstr(resp, "obligo_events_total{outcome=\"accepted\"} 2"));
    /* the events are dated in the past, so their duties may already be
     * overdue on the wall clock: open and overdue together are two */
    const char *open_s = strstr(resp, "obligo_obligations{status=\"open\"} ");
    const char *over_s = strstr(resp, "obligo_obligations{status=\"overdue\"} ");
    assert_non_null(open_s);
    assert_non_null(over_s);
    assert_int_equal(atoi(open_s + strlen("obligo_obligations{status=\"open\"} ")) +
                         atoi(over_s + strlen("obligo_obligations{status=\"overdue\"} ")),
                     2);
    assert_non_null(strstr(resp, "obligo_commit_seconds_count"));
    free(resp);
    free(cfg);
}

static void pipelined_byte_by_byte_and_disconnects(void **state)
{
    fx *f = *state;
    f->pid = client_start_server(f->db, RULES, f->port, f->log);
    assert_true(f->pid > 0);
    char e1[1024], e2[1024], req[4096];
    event(e1, sizeof e1, "p1");
    event(e2, sizeof e2, "p2");
    /* two requests in one write on one connection: two answers, in order */
    int n = snprintf(req, sizeof req,
                     "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     "application/cloudevents+json\r\nContent-Length: %zu\r\n\r\n%s"
                     "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: "
                     "application/cloudevents+json\r\nContent-Length: %zu\r\n\r\n%s",
                     strlen(e1), e1, strlen(e2), e2);
    char *raw = client_raw(f->port, req, (size_t)n, 0, 5000);
    assert_int_equal(client_count(raw, "HTTP/1.1 202"), 2);
    free(raw);
    /* the same event again, one byte at a time: a duplicate */
    n = snprintf(req, sizeof req,
                 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: "
                 "application/cloudevents+json\r\nContent-Length: %zu\r\n\r\n%s",
                 strlen(e1), e1);
    raw = client_raw(f->port, req, (size_t)n, 1, 5000);
    assert_non_null(strstr(raw, "HTTP/1.1 202"));
    assert_non_null(strstr(raw, "\"duplicates\":1"));
    free(raw);
    /* a client that goes away halfway through its body */
    n = snprintf(req, sizeof req,
                 "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: "
                 "application/cloudevents+json\r\nContent-Length: 900\r\n\r\n{\"specversion\"");
    raw = client_raw(f->port, req, (size_t)n, 0, 200);
    free(raw);
    /* the server goes on, and nothing of the half request was stored */
    assert_int_equal(post(f, NULL, "p3"), 202);
    assert_int_equal(client_request(f->port, "GET", "/v1/obligations", NULL, NULL, 0, &raw), 200);
    cJSON *arr = cJSON_Parse(raw);
    free(raw);
    assert_int_equal(cJSON_GetArraySize(arr), 3);
    cJSON_Delete(arr);
}

static void sigterm_drains_in_flight_requests(void **state)
{
    fx *f = *state;
    f->pid = client_start_server(f->db, RULES, f->port, f->log);
    assert_true(f->pid > 0);
    /* a batch of 2,000 events posted by a child; SIGTERM as soon as the
     * server has started answering it is not observable, so the child sends
     * the headers and half the body, the parent signals, the child sends
     * the rest: the request was in flight when SIGTERM came */
    size_t cap = 2000 * 400, len = 0;
    char *body = malloc(cap);
    for (int i = 0; i < 2000; i++) {
        char id[32], ev[1024];
        snprintf(id, sizeof id, "t%d", i);
        len += (size_t)snprintf(body + len, cap - len, "%s\n", event(ev, sizeof ev, id));
    }
    char head[256];
    int hn = snprintf(head, sizeof head,
                      "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: "
                      "application/x-ndjson\r\nContent-Length: %zu\r\n\r\n",
                      len);
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t child = fork();
    if (child == 0) {
        /* when SIGTERM wins the race the server closes the socket under us:
         * that must read as "no 202", not kill the child */
        signal(SIGPIPE, SIG_IGN);
        close(pipefd[0]);
        char *req = malloc((size_t)hn + len);
        memcpy(req, head, (size_t)hn);
        memcpy(req + hn, body, len);
        /* client_raw with a chunk of half the request pauses 2 ms between
         * the halves; the parent signals in between */
        char *raw = client_raw(f->port, req, (size_t)hn + len, ((size_t)hn + len) / 2 + 1, 10000);
        int ok = raw && strstr(raw, "HTTP/1.1 202") && strstr(raw, "\"accepted\":2000");
        if (write(pipefd[1], ok ? "y" : "n", 1) != 1)
            _exit(2);
        _exit(0);
    }
    close(pipefd[1]);
    struct timespec ts = {0, 1 * 1000 * 1000};
    nanosleep(&ts, NULL);
    kill(f->pid, SIGTERM);
    char verdict = 0;
    assert_int_equal(read(pipefd[0], &verdict, 1), 1);
    close(pipefd[0]);
    waitpid(child, NULL, 0);
    int status = client_stop_server(f->pid, 0);
    f->pid = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    free(body);
    /* answered 202 means stored; the process exited cleanly either way */
    if (verdict == 'y') {
        char *out = NULL;
        char *argv[] = {"/usr/bin/sqlite3", f->db, "SELECT count(*) FROM events", NULL};
        assert_int_equal(support_run(argv, &out, NULL), 0);
        assert_int_equal(atoi(out), 2000);
        free(out);
    }
}

static void request_larger_than_the_queue_is_413(void **state)
{
    fx *f = *state;
    char *cfg = support_write(f->dir, "obligo.json", "{\"max_queue_events\": 5}");
    char *extra[] = {"--config", cfg, NULL};
    f->pid = client_start_server_args(f->db, RULES, f->port, f->log, extra);
    assert_true(f->pid > 0);
    /* One request of 6 events can never fit a queue of 5, whatever the
     * writer is doing: refused whole, as too large (retrying would not
     * help; a full queue answers 503 instead, see test_writer.c). */
    size_t cap = 6 * 1024, len = 0, five = 0;
    char *body = malloc(cap);
    for (int i = 0; i < 6; i++) {
        char id[16], ev[1024];
        snprintf(id, sizeof id, "q%d", i);
        len += (size_t)snprintf(body + len, cap - len, "%s\n", event(ev, sizeof ev, id));
        if (i == 4)
            five = len; /* the first five lines */
    }
    char *req = malloc(len + 256);
    int hn = sprintf(req,
                     "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: "
                     "application/x-ndjson\r\nContent-Length: %zu\r\n\r\n",
                     len);
    memcpy(req + hn, body, len);
    char *raw = client_raw(f->port, req, (size_t)hn + len, 0, 5000);
    assert_non_null(raw);
    if (!strstr(raw, "HTTP/1.1 413"))
        fail_msg("expected 413, got: %.200s", raw);
    assert_non_null(strstr(raw, "at most 5 events"));
    free(raw);
    /* nothing of it was stored */
    char *resp = NULL;
    assert_int_equal(client_request(f->port, "GET", "/v1/obligations", NULL, NULL, 0, &resp), 200);
    cJSON *arr = cJSON_Parse(resp);
    free(resp);
    assert_int_equal(cJSON_GetArraySize(arr), 0);
    cJSON_Delete(arr);
    for (int i = 0; i < 6; i++) {
        char path[64];
        snprintf(path, sizeof path, "/v1/events/urn:test/q%d", i);
        assert_int_equal(client_request(f->port, "GET", path, NULL, NULL, 0, NULL), 404);
    }
    /* five events fit */
    assert_int_equal(
        client_request(f->port, "POST", "/v1/events", "application/x-ndjson", body, five, &resp),
        202);
    assert_non_null(strstr(resp, "\"accepted\":5"));
    free(resp);
    assert_int_equal(client_request(f->port, "GET", "/v1/obligations", NULL, NULL, 0, &resp), 200);
    arr = cJSON_Parse(resp);
    free(resp);
    assert_int_equal(cJSON_GetArraySize(arr), 5);
    cJSON_Delete(arr);
    assert_int_equal(client_request(f->port, "GET", "/v1/events/urn:test/q5", NULL, NULL, 0, NULL),
                     404);
    free(req);
    free(body);
    free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(tokens_and_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_before_the_body, setup, teardown),
        cmocka_unit_test_setup_teardown(status_codes_reads_and_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(pipelined_byte_by_byte_and_disconnects, setup, teardown),
        cmocka_unit_test_setup_teardown(sigterm_drains_in_flight_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(request_larger_than_the_queue_is_413, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
