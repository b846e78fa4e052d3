/*
 * test_serve.c — end to end over real sockets: `obligo serve` on a real
 * database file. Every event answered 202 survives kill -9; a batch with a
 * bad event is rejected whole; a deadline that passed while the engine was
 * stopped fires exactly once after restart, marked late; SIGTERM exits 0;
 * an address that is taken or is no address ends `obligo serve` with exit
 * status 2 and one line on stderr, not a crash.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

#include <openssl/evp.h>

#include "http_client.h"
#include "support.h"

#define RULES OBLIGO_SOURCE_DIR "/rules"

typedef struct fx {
    char *dir;
    char db[512], log[512];
    int port;
    char *out, *err; /* the last run_serve's stdout and stderr, freed in teardown */
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
    support_assert_clean_log(f->log);
    free(f->out);
    free(f->err);
    support_assert_replays(f->db);
    support_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static long db_count(const char *db, const char *sql)
{
    char *out = NULL;
    char *argv[] = {"/usr/bin/sqlite3", (char *)db, (char *)sql, NULL};
    if (support_run(argv, &out, NULL) != 0) {
        free(out);
        return -1;
    }
    long n = atol(out);
    free(out);
    return n;
}

static char *breach(char *buf, size_t n, const char *id, const char *breach_id, const char *aware)
{
    snprintf(buf, n,
             "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"urn:test\","
             "\"type\":\"nl.avg.breach.reported\",\"time\":\"%s\",\"data\":{\"breach_id\":\"%s\","
             "\"aware_at\":\"%s\",\"description\":\"x\",\"personal_data\":\"yes\"}}",
             id, aware, breach_id, aware);
    return buf;
}

/* POSTs body to /v1/events as type; the answer must have the status and
 * contain want. */
static void post_expect(int port, const char *type, const char *body, size_t len, int status,
                        const char *want)
{
    char *resp = NULL;
    assert_int_equal(client_request(port, "POST", "/v1/events", type, body, len, &resp), status);
    if (!resp || !strstr(resp, want))
        fail_msg("answer %s does not contain %s", resp ? resp : "(none)", want);
    free(resp);
}

/* POSTs the batch [good, bad]: 400 naming index 1 and the field. Returns
 * the answer (caller frees). */
static char *post_bad_batch(int port, const char *good, const char *bad, const char *field)
{
    char body[4096], want[128], *resp = NULL;
    snprintf(body, sizeof body, "[%s, %s]", good, bad);
    assert_int_equal(client_request(port, "POST", "/v1/events",
                                    "application/cloudevents-batch+json", body, strlen(body),
                                    &resp),
                     400);
    snprintf(want, sizeof want, "\"field\":\"%s\"", field);
    if (!strstr(resp, "\"index\":1") || !strstr(resp, want))
        fail_msg("answer %s does not name index 1 and %s", resp, field);
    return resp;
}

static void status_codes_and_batch_atomicity(void **state)
{
    fx *f = *state;
    pid_t pid = client_start_server(f->db, RULES, f->port, f->log);
    assert_true(pid > 0);
    char ev[1024], body[4096];
    char *resp = NULL;
    breach(ev, sizeof ev, "s1", "B-1", "2026-02-02T09:15:00+01:00");
    post_expect(f->port, "application/cloudevents+json", ev, strlen(ev), 202, "\"accepted\":1");
    /* the same again: a duplicate */
    post_expect(f->port, "application/cloudevents+json", ev, strlen(ev), 202, "\"duplicates\":1");
    /* a batch whose index 1 lacks breach_id: index 0 must not be applied */
    char good[1024];
    breach(good, sizeof good, "s2", "B-2", "2026-02-02T09:15:00+01:00");
    free(
        post_bad_batch(f->port, good,
                       "{\"specversion\":\"1.0\",\"id\":\"s3\",\"source\":\"urn:test\","
                       "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-02-02T09:15:00+01:00\","
                       "\"data\":{\"description\":\"x\"}}",
                       "data.breach_id"));
    assert_int_equal(db_count(f->db, "SELECT count(*) FROM events WHERE id='s2'"), 0);
    assert_int_equal(db_count(f->db, "SELECT count(*) FROM rejected"), 1);
    /* NDJSON with two good events */
    char e3[1024], e4[1024];
    breach(e3, sizeof e3, "s4", "B-4", "2026-02-02T09:15:00+01:00");
    breach(e4, sizeof e4, "s5", "B-5", "2026-02-02T09:15:00+01:00");
    snprintf(body, sizeof body, "%s\n%s\n", e3, e4);
    post_expect(f->port, "application/x-ndjson", body, strlen(body), 202, "\"accepted\":2");
    assert_int_equal(client_request(f->port, "POST", "/v1/events", "text/plain", "x", 1, NULL),
                     415);
    assert_int_equal(client_request(f->port, "POST", "/v1/events", "application/cloudevents+json",
                                    "{\"specversion\":", 15, &resp),
                     400);
    free(resp);
    /* a byte that is not UTF-8 (Latin-1 "é") in the data: refused naming
     * the member, and kept with the reason like any refused event */
    long rejected = db_count(f->db, "SELECT count(*) FROM rejected");
    snprintf(body, sizeof body,
             "{\"specversion\":\"1.0\",\"id\":\"s6\",\"source\":\"urn:test\","
             "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-02-02T09:15:00+01:00\","
             "\"data\":{\"breach_id\":\"B-6\",\"aware_at\":\"2026-02-02T09:00:00+01:00\","
             "\"description\":\"caf\xe9\"}}");
    assert_int_equal(client_request(f->port, "POST", "/v1/events", "application/cloudevents+json",
                                    body, strlen(body), &resp),
                     400);
    assert_non_null(strstr(resp, "\"field\":\"data.description\""));
    assert_non_null(strstr(resp, "UTF-8"));
    free(resp);
    assert_int_equal(db_count(f->db, "SELECT count(*) FROM events WHERE id='s6'"), 0);
    assert_int_equal(db_count(f->db, "SELECT count(*) FROM rejected"), rejected + 1);
    /* a raw NUL inside a string of a batch (cJSON would cut the string
     * there): the whole request is refused */
    static const char nul_batch[] =
        "[{\"specversion\":\"1.0\",\"id\":\"s7\",\"source\":\"urn:test\","
        "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-02-02T09:15:00+01:00\","
        "\"data\":{\"breach_id\":\"B-7\",\"aware_at\":\"2026-02-02T09:00:00+01:00\","
        "\"description\":\"a\0b\"}}]";
    post_expect(f->port, "application/cloudevents-batch+json", nul_batch, sizeof nul_batch - 1, 400,
                "control character");
    assert_int_equal(db_count(f->db, "SELECT count(*) FROM events WHERE id='s7'"), 0);
    /* \u0000 is valid JSON but cJSON ends the string there: a batch used
     * to be stored with the description cut to "a"; refused whole now */
    static const char escaped_nul[] =
        "{\"specversion\":\"1.0\",\"id\":\"s8\",\"source\":\"urn:test\","
        "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-02-02T09:15:00+01:00\","
        "\"data\":{\"breach_id\":\"B-8\",\"aware_at\":\"2026-02-02T09:00:00+01:00\","
        "\"description\":\"a\\u0000b\"}}";
    snprintf(body, sizeof body, "[%s]", escaped_nul);
    post_expect(f->port, "application/cloudevents-batch+json", body, strlen(body), 400, "U+0000");
    post_expect(f->port, "application/cloudevents+json", escaped_nul, strlen(escaped_nul), 400,
                "\\\\u0000 at byte 200");
    assert_int_equal(db_count(f->db, "SELECT count(*) FROM events WHERE id='s8'"), 0);
    assert_int_equal(client_request(f->port, "GET", "/v1/obligations", NULL, NULL, 0, &resp), 200);
    cJSON *obls = cJSON_Parse(resp);
    free(resp);
    assert_int_equal(cJSON_GetArraySize(obls), 3);
    cJSON_Delete(obls);
    assert_int_equal(
        client_request(f->port, "GET", "/v1/registers/datalekken", NULL, NULL, 0, &resp), 200);
    assert_non_null(strstr(resp, "B-4"));
    free(resp);
    assert_int_equal(client_request(f->port, "GET", "/nope", NULL, NULL, 0, NULL), 404);
    int status = client_stop_server(pid, SIGTERM);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* The hex SHA-256 of n bytes, with libcrypto directly (as sha256sum). */
static void sha256_hex(const char *p, size_t n, char out[65])
{
    unsigned char md[32];
    assert_int_equal(EVP_Digest(p, n, md, NULL, EVP_sha256(), NULL), 1);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The same source and id with other content is not a duplicate: one event
 * gets 409 naming both digests, a batch is accepted but for it (listed,
 * with its index), and the refused one is kept in rejected; the same event
 * re-serialised is still a plain duplicate. */
static void same_identity_other_content_is_a_conflict(void **state)
{
    fx *f = *state;
    pid_t pid = client_start_server(f->db, RULES, f->port, f->log);
    assert_true(pid > 0);
    char ev[1024], other[1024], good[1024], body[4096], was[65], got[65];
    breach(ev, sizeof ev, "c1", "B-1", "2026-02-02T09:15:00+01:00");
    post_expect(f->port, "application/cloudevents+json", ev, strlen(ev), 202, "\"accepted\":1");
    /* spaced otherwise: the same event */
    snprintf(body, sizeof body, "  %s\n", ev);
    post_expect(f->port, "application/cloudevents+json", body, strlen(body), 202,
                "\"duplicates\":1");
    /* another breach id under the same identity */
    breach(other, sizeof other, "c1", "B-99", "2026-02-02T09:15:00+01:00");
    char *resp = NULL;
    assert_int_equal(client_request(f->port, "POST", "/v1/events", "application/cloudevents+json",
                                    other, strlen(other), &resp),
                     409);
    sha256_hex(ev, strlen(ev), was);
    sha256_hex(other, strlen(other), got);
    char want[200];
    snprintf(want, sizeof want, "journaled sha256:%s, received sha256:%s", was, got);
    if (!strstr(resp, want) || !strstr(resp, "\"field\":\"id\""))
        fail_msg("answer %s does not name id and %s", resp, want);
    free(resp);
    assert_int_equal(db_count(f->db, "SELECT count(*) FROM events WHERE id='c1'"), 1);
    assert_int_equal(db_count(f->db, "SELECT count(*) FROM events WHERE raw LIKE '%B-99%'"), 0);
    assert_int_equal(db_count(f->db, "SELECT count(*) FROM rejected WHERE field='id' AND "
                                     "reason LIKE '%other content%'"),
                     1);
    /* in a batch: the good one goes in, the conflict is listed */
    breach(good, sizeof good, "c2", "B-2", "2026-02-02T09:15:00+01:00");
    snprintf(body, sizeof body, "[%s, %s]", good, other);
    assert_int_equal(client_request(f->port, "POST", "/v1/events",
                                    "application/cloudevents-batch+json", body, strlen(body),
                                    &resp),
                     202);
    cJSON *a = cJSON_Parse(resp);
    free(resp);
    assert_int_equal(cJSON_GetObjectItem(a, "accepted")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(a, "conflicts")->valueint, 1);
    const cJSON *refused = cJSON_GetArrayItem(cJSON_GetObjectItem(a, "refused"), 0);
    assert_int_equal(cJSON_GetObjectItem(refused, "index")->valueint, 1);
    assert_string_equal(support_str(refused, "field"), "id");
    cJSON_Delete(a);
    assert_int_equal(db_count(f->db, "SELECT count(*) FROM events WHERE id='c2'"), 1);
    assert_int_equal(db_count(f->db, "SELECT count(*) FROM rejected WHERE field='id'"), 2);
    assert_int_equal(client_request(f->port, "GET", "/metrics", NULL, NULL, 0, &resp), 200);
    assert_non_null(strstr(resp, "obligo_events_total{outcome=\"conflict\"} 2"));
    free(resp);
    int status = client_stop_server(pid, SIGTERM);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Strict JSON intake over HTTP: a member name twice (the engine read the
 * first id, GET /v1/events re-emitted both) and 1e400 (stored as null)
 * are refused with 400 naming the path, and kept in rejected; in a batch
 * the element's own bytes are kept, at its index. A FHIR document gets
 * the same host-side check before the plugin reads it. */
static void strict_json_is_refused_naming_the_path(void **state)
{
    fx *f = *state;
    pid_t pid = client_start_server(f->db, RULES, f->port, f->log);
    assert_true(pid > 0);
    char *resp = NULL;
    static const char dup[] =
        "{\"specversion\":\"1.0\",\"id\":\"j1\",\"source\":\"urn:test\","
        "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-02-02T09:15:00+01:00\","
        "\"data\":{\"breach_id\":\"B-J1\",\"aware_at\":\"2026-02-02T09:00:00+01:00\","
        "\"user\":{\"id\":\"u1\",\"id\":\"u2\"}}}";
    assert_int_equal(client_request(f->port, "POST", "/v1/events", "application/cloudevents+json",
                                    dup, strlen(dup), &resp),
                     400);
    assert_non_null(strstr(resp, "\"field\":\"data.user.id\""));
    assert_non_null(strstr(resp, "data.user.id: duplicate member name \\\"id\\\""));
    free(resp);
    assert_int_equal(db_count(f->db, "SELECT count(*) FROM events WHERE id='j1'"), 0);
    assert_int_equal(db_count(f->db, "SELECT count(*) FROM rejected WHERE field='data.user.id' "
                                     "AND reason LIKE '%duplicate member name%'"),
                     1);
    char good[1024], body[4096];
    breach(good, sizeof good, "j2", "B-J2", "2026-02-02T09:15:00+01:00");
    resp = post_bad_batch(
        f->port, good,
        "{\"specversion\":\"1.0\",\"id\":\"j3\",\"source\":\"urn:test\","
        "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-02-02T09:15:00+01:00\","
        "\"data\":{\"breach_id\":\"B-J3\",\"aware_at\":\"2026-02-02T09:00:00+01:00\","
        "\"count\":1e400}} ",
        "data.count");
    assert_non_null(strstr(resp, "does not fit a double"));
    free(resp);
    assert_int_equal(db_count(f->db, "SELECT count(*) FROM events WHERE id IN ('j2','j3')"), 0);
    assert_int_equal(db_count(f->db, "SELECT count(*) FROM rejected WHERE field='data.count' "
                                     "AND CAST(raw AS TEXT) LIKE '%\"count\":1e400}}'"),
                     1);
    /* NDJSON: the second line */
    snprintf(body, sizeof body, "%s\n%s\n", good, dup);
    post_expect(f->port, "application/x-ndjson", body, strlen(body), 400,
                "\"field\":\"data.user.id\"");
    /* a FHIR document: refused before the plugin converts it */
    static const char fhir[] = "{\"resourceType\":\"AuditEvent\",\"resourceType\":\"Patient\"}";
    assert_int_equal(client_request(f->port, "POST", "/v1/fhir/AuditEvent", "application/fhir+json",
                                    fhir, strlen(fhir), &resp),
                     400);
    assert_non_null(strstr(resp, "resourceType: duplicate member name"));
    free(resp);
    int status = client_stop_server(pid, SIGTERM);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void acknowledged_events_survive_kill_9(void **state)
{
    fx *f = *state;
    int acked = 0;
    char ev[1024], id[32];
    for (int round = 0; round < 3; round++) {
        pid_t pid = client_start_server(f->db, RULES, f->port, f->log);
        assert_true(pid > 0);
        pid_t child = fork();
        if (child == 0) {
            /* a second client keeps posting while the server is killed */
            for (int i = 0; i < 10000; i++) {
                snprintf(id, sizeof id, "bg-%d-%d", round, i);
                breach(ev, sizeof ev, id, id, "2026-02-02T09:15:00+01:00");
                if (client_request(f->port, "POST", "/v1/events", "application/cloudevents+json",
                                   ev, strlen(ev), NULL) < 0)
                    break;
            }
            _exit(0);
        }
        for (int i = 0; i < 30; i++) {
            snprintf(id, sizeof id, "k-%d-%d", round, i);
            breach(ev, sizeof ev, id, id, "2026-02-02T09:15:00+01:00");
            if (client_request(f->port, "POST", "/v1/events", "application/cloudevents+json", ev,
                               strlen(ev), NULL) == 202)
                acked++;
        }
        client_stop_server(pid, SIGKILL);
        waitpid(child, NULL, 0);
    }
    assert_int_equal(acked, 90);
    assert_int_equal(db_count(f->db, "SELECT count(*) FROM events WHERE id LIKE 'k-%'"), 90);
    /* each acknowledged event's obligation exists exactly once */
    assert_int_equal(db_count(f->db, "SELECT count(*) FROM obligations WHERE subject LIKE 'k-%'"),
                     90);
    char *argv[] = {(char *)OBLIGO_BIN, "verify", "--db", f->db, NULL};
    assert_int_equal(support_run(argv, NULL, NULL), 0);
}

/* Starts the server with engine time at T (--clock-start, the test aid). */
static pid_t start_at(fx *f, const char *t)
{
    char *extra[] = {"--clock-start", (char *)t, NULL};
    return client_start_server_args(f->db, RULES, f->port, f->log, extra);
}

/* A deadline that passes while the server is stopped fires once, marked
 * late, at the next start; later starts do not fire it again. Engine time
 * is set per start (--clock-start), so this runs the same on any date and
 * needs no sleep. */
static void deadline_passed_while_stopped_fires_once_after_restart(void **state)
{
    fx *f = *state;
    pid_t pid = start_at(f, "2026-02-05T09:00:00+01:00");
    assert_true(pid > 0);
    /* aware 71 h before the clock: due an hour after it */
    char ev[1024];
    breach(ev, sizeof ev, "late-1", "B-LATE", "2026-02-02T10:00:00+01:00");
    assert_int_equal(client_request(f->port, "POST", "/v1/events", "application/cloudevents+json",
                                    ev, strlen(ev), NULL),
                     202);
    assert_int_equal(db_count(f->db, "SELECT count(*) FROM obligations WHERE subject='B-LATE' "
                                     "AND status='open'"),
                     1);
    assert_int_equal(WEXITSTATUS(client_stop_server(pid, SIGTERM)), 0);
    /* started again two and three hours later: the deadline passed meanwhile */
    static const char *const later[] = {"2026-02-05T11:00:00+01:00", "2026-02-05T12:00:00+01:00"};
    for (int i = 0; i < 2; i++) {
        pid = start_at(f, later[i]);
        assert_true(pid > 0);
        assert_int_equal(WEXITSTATUS(client_stop_server(pid, SIGTERM)), 0);
    }
    assert_int_equal(db_count(f->db, "SELECT count(*) FROM alerts WHERE "
                                     "kind='obligo.obligation_overdue' AND subject='B-LATE'"),
                     1);
    assert_int_equal(db_count(f->db, "SELECT count(*) FROM alerts WHERE "
                                     "kind='obligo.obligation_overdue' AND "
                                     "json_extract(data,'$.late')=1"),
                     1);
    assert_int_equal(db_count(f->db, "SELECT count(*) FROM obligations WHERE subject='B-LATE' "
                                     "AND status='overdue'"),
                     1);
}

/* How long a server that should give up at once may take to do so. Far
 * more than it needs even under the sanitizers; only a server that went on
 * running instead reaches it. */
#define REFUSAL_TIMEOUT_MS 60000

/* Appends what fd holds now to *buf (*len bytes so far). Returns 1 while
 * the pipe is open, 0 at its end. */
static int drain(int fd, char **buf, size_t *len)
{
    char chunk[4096];
    ssize_t got = read(fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR)
        return 1;
    if (got <= 0)
        return 0;
    *buf = realloc(*buf, *len + (size_t)got + 1);
    assert_non_null(*buf);
    memcpy(*buf + *len, chunk, (size_t)got);
    *len += (size_t)got;
    (*buf)[*len] = '\0';
    return 1;
}

/* Runs `obligo serve --db DB --rules RULES --listen LISTEN [extra]`, which
 * is expected to give up by itself, and returns its raw wait status (so a
 * death by a signal stays visible), with what it wrote to stdout and stderr
 * in f->out and f->err (kept in the fixture so that a failing assertion
 * leaks nothing). It is done when both pipes end, that is when the process
 * and everything it started have gone; past REFUSAL_TIMEOUT_MS it is
 * killed and the test fails. */
static int run_serve(fx *f, const char *listen, const char *extra)
{
    int po[2], pe[2];
    assert_int_equal(pipe(po), 0);
    assert_int_equal(pipe(pe), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        char *argv[] = {(char *)OBLIGO_BIN, "serve",    "--db",         (char *)f->db, "--rules",
                        (char *)RULES,      "--listen", (char *)listen, (char *)extra, NULL};
        execv(OBLIGO_BIN, argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    free(f->out);
    free(f->err);
    char **out = &f->out, **err = &f->err;
    *out = calloc(1, 1);
    *err = calloc(1, 1);
    size_t olen = 0, elen = 0;
    struct pollfd fds[2] = {{.fd = po[0], .events = POLLIN}, {.fd = pe[0], .events = POLLIN}};
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = REFUSAL_TIMEOUT_MS -
                    ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        int ready = left > 0 ? poll(fds, 2, (int)left) : 0;
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fail_msg("obligo serve --listen %s did not exit within %d ms; stderr: %s", listen,
                     REFUSAL_TIMEOUT_MS, *err);
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            if (!drain(fds[i].fd, i ? err : out, i ? &elen : &olen)) {
                close(fds[i].fd);
                fds[i].fd = -1; /* poll skips it */
            }
        }
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

/* Asserts that the server ended by itself with exit status 2 having written
 * exactly want_prefix + ... + want (one line) to stderr and nothing to
 * stdout: no sanitizer report, no crash, no other noise. */
static void assert_refused(int status, const char *out, const char *err, const char *want_prefix,
                           const char *want)
{
    if (WIFSIGNALED(status))
        fail_msg("obligo serve died of signal %d; stderr: %s", WTERMSIG(status), err);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 2)
        fail_msg("obligo serve exited %d, not 2; stderr: %s", WEXITSTATUS(status), err);
    assert_string_equal(out, "");
    if (strncmp(err, want_prefix, strlen(want_prefix)) != 0 || !strstr(err, want))
        fail_msg("stderr does not say '%s...%s': %s", want_prefix, want, err);
    const char *nl = strchr(err, '\n');
    if (!nl || nl[1] != '\0')
        fail_msg("stderr holds more than the one line: %s", err);
}

/* The port is held by a listening socket of this test, so `obligo serve`
 * meets EADDRINUSE. It used to print the message and then crash: stopping
 * the writer handed back the result of the start-up deadline job, whose
 * done callback started the deadline timer before that had been
 * initialised. */
static void taken_port_exits_2_without_a_crash(void **state)
{
    fx *f = *state;
    int holder = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(holder >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    assert_int_equal(bind(holder, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(holder, 1), 0);
    assert_int_equal(getsockname(holder, (struct sockaddr *)&a, &alen), 0);
    char listen_at[64], prefix[128];
    snprintf(listen_at, sizeof listen_at, "127.0.0.1:%d", ntohs(a.sin_port));
    snprintf(prefix, sizeof prefix, "obligo serve: cannot listen on %s: ", listen_at);

    int status = run_serve(f, listen_at, NULL);
    close(holder);
    assert_refused(status, f->out, f->err, prefix, "address already in use");
}

/* An address that is not an IP address (it passes the loopback check, it
 * begins with 127.) fails where the taken port does, after the database is
 * open, and must end the same way. */
static void unparsable_address_exits_2_without_a_crash(void **state)
{
    fx *f = *state;
    char listen_at[64], prefix[128];
    snprintf(listen_at, sizeof listen_at, "127.0.0.300:%d", f->port);
    snprintf(prefix, sizeof prefix, "obligo serve: cannot listen on %s: ", listen_at);
    int status = run_serve(f, listen_at, NULL);
    assert_refused(status, f->out, f->err, prefix, "not an IPv4 or IPv6 address");
    /* a host name is not looked up either, so it fails the same way */
    snprintf(listen_at, sizeof listen_at, "nosuch.invalid:%d", f->port);
    snprintf(prefix, sizeof prefix, "obligo serve: cannot listen on %s: ", listen_at);
    status = run_serve(f, listen_at, "--allow-insecure-listen");
    assert_refused(status, f->out, f->err, prefix, "not an IPv4 or IPv6 address");
}

/* ---- memory stays bounded whatever clients send (issue 13) -------------- */

#define MB_CONNS 64
#define MB_LENGTH 16000000UL                /* each body, as announced */
#define MB_CAP ((unsigned long)64 << 20)    /* max_buffered_body_bytes */
#define MB_MARGIN ((unsigned long)64 << 20) /* for everything but bodies */

/* A figure of /proc/PID/status in bytes ("VmHWM", "VmRSS"), or -1. */
static long proc_status_bytes(pid_t pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    long kb = -1;
    size_t n = strlen(key);
    while (fgets(line, sizeof line, fp))
        if (strncmp(line, key, n) == 0 && line[n] == ':')
            kb = atol(line + n + 1);
    fclose(fp);
    return kb < 0 ? -1 : kb * 1024;
}

/* A sample of /metrics (with token, may be NULL), or -1. */
static double metric(int port, const char *token, const char *name)
{
    char *text = NULL;
    double v = -1;
    if (client_request_auth(port, "GET", "/metrics", NULL, NULL, 0, token, &text) == 200) {
        size_t n = strlen(name);
        for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
            if (strncmp(p, name, n) == 0 && p[n] == ' ')
                v = atof(p + n + 1);
    }
    free(text);
    return v;
}

static int connect_nonblocking(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    /* A small send buffer: a connection the server does not read stalls
     * after a little, instead of parking megabytes in the kernel. */
    int sndbuf = 64 * 1024;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* 64 connections each announce a 16,000,000-byte body and push it in
 * pieces (all but its last byte, so that no request completes), against
 * a server that may hold 64 MiB of bodies. With tokens, 64 more announce
 * the same without a token. The server must never hold more than the cap
 * (its peak gauge), must make the rest wait (reads paused) and admit them
 * as room is released (a connection closed) or answer 503 with Retry-After,
 * and must answer the tokenless ones 401 at once; its resident peak may
 * grow by the cap and a margin, not by 64 x 16 MB. Nothing here is timed:
 * the loop runs until every connection has an outcome. */
static void memory_bound(fx *f, int with_tokens)
{
    char *cfg = support_write(f->dir, "obligo.json",
                              "{\"max_body_bytes\": 16777216, "
                              "\"max_buffered_body_bytes\": 67108864}");
    char *ingest = NULL, *officer = NULL;
    if (with_tokens) {
        ingest = support_make_token(f->db, "ingest");
        officer = support_make_token(f->db, "officer");
    }
    /* ASan keeps freed blocks in a quarantine of up to 256 MiB, resident:
     * for the server of this test freed bodies go back at once, so that
     * its resident peak measures what it holds. Other builds ignore it. */
    const char *old = getenv("ASAN_OPTIONS");
    char *saved = old ? strdup(old) : NULL;
    char asan[1024];
    snprintf(asan, sizeof asan, "%s%squarantine_size_mb=0", old ? old : "", old ? ":" : "");
    setenv("ASAN_OPTIONS", asan, 1);
    char *extra[] = {"--config", cfg, NULL};
    pid_t pid = client_start_server_args(f->db, RULES, f->port, f->log, extra);
    if (saved)
        setenv("ASAN_OPTIONS", saved, 1);
    else
        unsetenv("ASAN_OPTIONS");
    free(saved);
    assert_true(pid > 0);
    long base = proc_status_bytes(pid, "VmHWM");
    assert_true(base > 0);
    assert_true(metric(f->port, officer, "obligo_http_buffered_body_bytes_limit") == MB_CAP);

    int n = with_tokens ? 2 * MB_CONNS : MB_CONNS;
    int fd[2 * MB_CONNS];
    size_t sent[2 * MB_CONNS];
    int outcome[2 * MB_CONNS]; /* 0 open, 1 pushed whole, 503, 401 */
    char head[512];
    for (int i = 0; i < n; i++) {
        int authorised = i < MB_CONNS;
        char auth[128] = "";
        if (authorised && ingest)
            snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", ingest);
        snprintf(head, sizeof head,
                 "POST /v1/events HTTP/1.1\r\nHost: t\r\n%sContent-Type: application/x-ndjson\r\n"
                 "Content-Length: %lu\r\n\r\n",
                 auth, MB_LENGTH);
        fd[i] = connect_nonblocking(f->port);
        assert_int_equal(write(fd[i], head, strlen(head)), (ssize_t)strlen(head));
        sent[i] = 0;
        outcome[i] = 0;
    }
    static char piece[256 * 1024];
    memset(piece, 'x', sizeof piece);
    int open = n, pushed = 0, refused = 0, unauthorised = 0;
    double waiting_seen = 0;
    struct pollfd pfd[2 * MB_CONNS];
    while (open > 0) {
        int k = 0, idx[2 * MB_CONNS];
        for (int i = 0; i < n; i++) {
            if (outcome[i])
                continue;
            pfd[k].fd = fd[i];
            pfd[k].events = POLLIN | (i < MB_CONNS ? POLLOUT : 0);
            pfd[k].revents = 0;
            idx[k++] = i;
        }
        /* a server that answered no one within a minute is stuck */
        assert_true(poll(pfd, (nfds_t)k, 60000) > 0);
        for (int j = 0; j < k; j++) {
            int i = idx[j];
            if (pfd[j].revents & (POLLIN | POLLHUP | POLLERR)) {
                char buf[4096];
                ssize_t r = read(fd[i], buf, sizeof buf - 1);
                buf[r > 0 ? r : 0] = '\0';
                if (i >= MB_CONNS && strncmp(buf, "HTTP/1.1 401 ", 13) == 0) {
                    outcome[i] = 401;
                    unauthorised++;
                } else if (i < MB_CONNS && strncmp(buf, "HTTP/1.1 503 ", 13) == 0 &&
                           strstr(buf, "Retry-After: ")) {
                    outcome[i] = 503;
                    refused++;
                } else {
                    fail_msg("connection %d (sent %zu): unexpected \"%.60s\"", i, sent[i], buf);
                }
                close(fd[i]);
                open--;
                continue;
            }
            if (!(pfd[j].revents & POLLOUT))
                continue;
            size_t want = MB_LENGTH - 1 - sent[i];
            ssize_t w = write(fd[i], piece, want < sizeof piece ? want : sizeof piece);
            if (w > 0)
                sent[i] += (size_t)w;
            if (sent[i] < MB_LENGTH - 1)
                continue;
            /* all but the last byte is in: more than the kernel buffers
             * hold, so the server admitted this body and read most of it.
             * Look at the server's figures while it holds it. */
            double held = metric(f->port, officer, "obligo_http_buffered_body_bytes");
            double peak = metric(f->port, officer, "obligo_http_buffered_body_bytes_peak");
            double waiting = metric(f->port, officer, "obligo_http_bodies_waiting");
            assert_true(held >= MB_LENGTH + 1 && held <= MB_CAP);
            assert_true(peak <= MB_CAP);
            if (waiting > waiting_seen)
                waiting_seen = waiting;
            long rss = proc_status_bytes(pid, "VmRSS");
            if (rss - base > (long)(MB_CAP + MB_MARGIN))
                fail_msg("resident %ld bytes above the start while holding bodies", rss - base);
            outcome[i] = 1;
            pushed++;
            close(fd[i]); /* gives its room to the next */
            open--;
        }
    }
    /* every body was admitted in turn or refused; the tokenless got 401 */
    assert_int_equal(pushed + refused, MB_CONNS);
    assert_true(pushed >= 4);
    assert_int_equal(unauthorised, with_tokens ? MB_CONNS : 0);
    assert_true(waiting_seen >= 1); /* some did wait, unread */
    double held = -1;
    for (int i = 0; i < 600 && held != 0; i++) {
        held = metric(f->port, officer, "obligo_http_buffered_body_bytes");
        if (held != 0)
            usleep(50 * 1000);
    }
    assert_true(held == 0);
    double peak = metric(f->port, officer, "obligo_http_buffered_body_bytes_peak");
    assert_true(peak >= 4.0 * (MB_LENGTH + 1) && peak <= MB_CAP);
    long hwm = proc_status_bytes(pid, "VmHWM");
    fprintf(stderr,
            "memory_bound(tokens=%d): %d bodies pushed whole, %d got 503, peak held %.0f "
            "bytes, resident peak %ld -> %ld bytes (+%ld)\n",
            with_tokens, pushed, refused, peak, base, hwm, hwm - base);
    if (hwm - base > (long)(MB_CAP + MB_MARGIN))
        fail_msg("resident peak grew by %ld bytes, more than the cap and the margin", hwm - base);
    assert_int_equal(client_stop_server(pid, SIGTERM), 0);
    free(ingest);
    free(officer);
    free(cfg);
}

static void bodies_stay_within_the_cap(void **state)
{
    memory_bound(*state, 0);
}

static void bodies_stay_within_the_cap_with_tokens(void **state)
{
    memory_bound(*state, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(status_codes_and_batch_atomicity, setup, teardown),
        cmocka_unit_test_setup_teardown(strict_json_is_refused_naming_the_path, setup, teardown),
        cmocka_unit_test_setup_teardown(same_identity_other_content_is_a_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(acknowledged_events_survive_kill_9, setup, teardown),
        cmocka_unit_test_setup_teardown(deadline_passed_while_stopped_fires_once_after_restart,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(taken_port_exits_2_without_a_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(unparsable_address_exits_2_without_a_crash, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bodies_stay_within_the_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(bodies_stay_within_the_cap_with_tokens, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
