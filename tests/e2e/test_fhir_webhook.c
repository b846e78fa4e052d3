/*
 * test_fhir_webhook.c — end to end: the two capability plugins in a real
 * `obligo serve`. A FHIR AuditEvent posted to /v1/fhir/AuditEvent becomes a
 * nl.nen7513.access event; the alert it raises reaches a webhook receiver
 * through the durable outbox, signed, with its stable id — and when the
 * receiver first answers 503, it arrives again later (at least once). Also:
 * a resource that cannot be mapped gets a FHIR OperationOutcome, and
 * `obligo ingest --format fhir` reads the same documents.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"
#include "support.h"

#define RULES OBLIGO_SOURCE_DIR "/rules"
#define SECRET "test-secret"

/* ---- a webhook receiver: answers 503 to the first POST, 200 after ---- */

typedef struct receiver {
    int fd, port;
    pthread_t thread;
    pthread_mutex_t lock;
    int posts;       /* requests seen */
    char body[8192]; /* the last body */
    char id[128];    /* its X-Obligo-Alert-Id */
    char signature[160];
    int stop;
} receiver;

static void header_value(const char *head, const char *name, char *out, size_t n)
{
    out[0] = '\0';
    const char *p = strcasestr(head, name);
    if (!p)
        return;
    p += strlen(name);
    while (*p == ' ')
        p++;
    size_t len = strcspn(p, "\r\n");
    if (len >= n)
        len = n - 1;
    memcpy(out, p, len);
    out[len] = '\0';
}

static void *receiver_main(void *arg)
{
    receiver *r = arg;
    while (!r->stop) {
        struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        int c = accept(r->fd, NULL, NULL);
        if (c < 0)
            continue;
        char buf[16384];
        size_t len = 0;
        long want = -1;
        while (len < sizeof buf - 1) {
            ssize_t got = read(c, buf + len, sizeof buf - 1 - len);
            if (got <= 0)
                break;
            len += (size_t)got;
            buf[len] = '\0';
            char *end = strstr(buf, "\r\n\r\n");
            if (end) {
                char cl[32];
                header_value(buf, "Content-Length:", cl, sizeof cl);
                want = (long)(end + 4 - buf) + atol(cl);
                if ((long)len >= want)
                    break;
            }
        }
        pthread_mutex_lock(&r->lock);
        int n = ++r->posts;
        char *body = strstr(buf, "\r\n\r\n");
        snprintf(r->body, sizeof r->body, "%s", body ? body + 4 : "");
        header_value(buf, "X-Obligo-Alert-Id:", r->id, sizeof r->id);
        header_value(buf, "X-Obligo-Signature:", r->signature, sizeof r->signature);
        pthread_mutex_unlock(&r->lock);
        const char *answer = n == 1 ? "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                      "Connection: close\r\n\r\n"
                                    : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                                      "Connection: close\r\n\r\n";
        if (write(c, answer, strlen(answer)) < 0)
            break;
        close(c);
    }
    return NULL;
}

static void receiver_start(receiver *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(r->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(r->fd, 16), 0);
    getsockname(r->fd, (struct sockaddr *)&a, &len);
    r->port = ntohs(a.sin_port);
    pthread_create(&r->thread, NULL, receiver_main, r);
}

static void receiver_stop(receiver *r)
{
    r->stop = 1;
    pthread_join(r->thread, NULL);
    close(r->fd);
    pthread_mutex_destroy(&r->lock);
}

/* ---- the test ---- */

static const char AUDIT_EVENT[] =
    "{\"resourceType\":\"AuditEvent\",\"id\":\"ae-900\",\"action\":\"R\","
    "\"recorded\":\"2026-02-04T02:47:00+01:00\","
    "\"purposeOfEvent\":[{\"coding\":[{\"system\":"
    "\"http://terminology.hl7.org/CodeSystem/v3-ActReason\",\"code\":\"ETREAT\"}]}],"
    "\"agent\":[{\"who\":{\"reference\":\"Practitioner/u-7\"},\"requestor\":true}],"
    "\"source\":{\"observer\":{\"reference\":\"Device/ecd-1\"}},"
    "\"entity\":[{\"what\":{\"reference\":\"Patient/c-900\"}}]}";

/* POSTs doc as a FHIR AuditEvent: refused with 400 naming want (and want2). */
static void fhir_refused(int port, const char *doc, const char *want, const char *want2)
{
    char *resp = NULL;
    assert_int_equal(client_request(port, "POST", "/v1/fhir/AuditEvent", "application/fhir+json",
                                    doc, strlen(doc), &resp),
                     400);
    if (!resp || !strstr(resp, want) || (want2 && !strstr(resp, want2)))
        fail_msg("answer %s does not name %s", resp ? resp : "(none)", want);
    free(resp);
}

static void fhir_in_webhook_out_at_least_once(void **state)
{
    receiver rcv;
    receiver_start(&rcv);
    char *dir = support_tmpdir();
    char db[512], log[512], conf[1024];
    snprintf(db, sizeof db, "%s/obligo.db", dir);
    snprintf(log, sizeof log, "%s/serve.log", dir);
    snprintf(conf, sizeof conf,
             "{\"sinks\":[\"webhook\"],\"plugins\":{\"webhook\":{\"url\":"
             "\"http://127.0.0.1:%d/hook\",\"secret\":\"" SECRET "\",\"allow_http\":true,"
             "\"timeout_ms\":2000}}}",
             rcv.port);
    char *cfg = support_write(dir, "obligo.json", conf);
    char *extra[] = {"--config", cfg, NULL};
    int port = client_free_port();
    pid_t pid = client_start_server_args(db, RULES, port, log, extra);
    assert_true(pid > 0);

    char *resp = NULL;
    assert_int_equal(client_request(port, "POST", "/v1/fhir/AuditEvent", "application/fhir+json",
                                    AUDIT_EVENT, strlen(AUDIT_EVENT), &resp),
                     201);
    /* a FHIR create: the resource as stored, with the id it was sent with */
    assert_non_null(strstr(resp, "\"resourceType\":\"AuditEvent\",\"id\":\"ae-900\""));
    free(resp);
    /* the same resource again is the same event: 200, nothing changes */
    assert_int_equal(client_request(port, "POST", "/v1/fhir/AuditEvent", "application/fhir+json",
                                    AUDIT_EVENT, strlen(AUDIT_EVENT), &resp),
                     200);
    assert_non_null(strstr(resp, "\"id\":\"ae-900\""));
    free(resp);
    /* the journaled event is the mapped access event */
    assert_int_equal(client_request(port, "GET",
                                    "/v1/events?source=urn:fhir:Device/ecd-1&id=ae-900", NULL, NULL,
                                    0, &resp),
                     200);
    cJSON *ev = cJSON_Parse(resp);
    free(resp);
    cJSON *data = cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "event"), "data");
    assert_string_equal(support_str(cJSON_GetObjectItem(ev, "event"), "type"), "nl.nen7513.access");
    assert_string_equal(support_str(data, "client_id"), "c-900");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(data, "emergency")));
    cJSON_Delete(ev);

    /* a resource that cannot be mapped: an OperationOutcome naming where */
    const char bad[] = "{\"resourceType\":\"AuditEvent\",\"id\":\"ae-901\",\"action\":\"R\","
                       "\"recorded\":\"2026-02-04T02:47:00+01:00\",\"agent\":[{\"who\":"
                       "{\"reference\":\"Practitioner/u-7\"}}],\"source\":{\"observer\":"
                       "{\"reference\":\"Device/ecd-1\"}},\"entity\":[]}";
    fhir_refused(port, bad, "OperationOutcome", "AuditEvent.entity");
    assert_int_equal(client_request(port, "POST", "/v1/fhir/AuditEvent", "application/json",
                                    AUDIT_EVENT, strlen(AUDIT_EVENT), NULL),
                     415);
    /* the plugin parses with cJSON, which would cut "ecd\u0000x" to "ecd":
     * the engine refuses such a document before the plugin reads it */
    char cut[sizeof AUDIT_EVENT + 16];
    const char *ecd = strstr(AUDIT_EVENT, "ecd-1");
    snprintf(cut, sizeof cut, "%.*secd\\u0000x%s", (int)(ecd - AUDIT_EVENT), AUDIT_EVENT, ecd + 5);
    fhir_refused(port, cut, "U+0000", NULL);

    /* break-the-glass without a reason raised an alert; the receiver said
     * 503 first, so it must arrive again (the outbox retries after about a
     * second); wait up to 20 s */
    int posts = 0;
    for (int i = 0; i < 200 && posts < 2; i++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&rcv.lock);
        posts = rcv.posts;
        pthread_mutex_unlock(&rcv.lock);
    }
    assert_int_equal(posts, 2);
    /* a CloudEvent whose data is the alert */
    cJSON *ce = cJSON_Parse(rcv.body);
    assert_non_null(ce);
    assert_string_equal(support_str(ce, "type"),
                        "nl.obligo.alert.nen7513.emergency_without_reason");
    assert_string_equal(support_str(ce, "id"), rcv.id);
    const cJSON *alert = cJSON_GetObjectItem(ce, "data");
    assert_string_equal(support_str(alert, "kind"), "nen7513.emergency_without_reason");
    assert_string_equal(support_str(alert, "subject"), "c-900");
    assert_string_equal(support_str(alert, "id"), rcv.id);
    cJSON_Delete(ce);
    /* the signature is the HMAC-SHA256 of the exact body */
    unsigned char mac[32];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)rcv.body,
         strlen(rcv.body), mac, &maclen);
    char want[80] = "sha256=";
    for (unsigned i = 0; i < maclen; i++)
        sprintf(want + 7 + 2 * i, "%02x", mac[i]);
    assert_string_equal(rcv.signature, want);

    assert_int_equal(WEXITSTATUS(client_stop_server(pid, SIGTERM)), 0);
    support_assert_clean_log(log);
    /* delivered: nothing pending */
    char *out = NULL;
    char *q[] = {"/usr/bin/sqlite3", db,
                 "SELECT count(*), sum(attempts) FROM outbox WHERE delivered_at IS NOT NULL", NULL};
    assert_int_equal(support_run(q, &out, NULL), 0);
    assert_string_equal(out, "1|2\n");
    free(out);
    receiver_stop(&rcv);

    /* the same document through ingest --format fhir, into a fresh database */
    char db2[512];
    snprintf(db2, sizeof db2, "%s/ingest.db", dir);
    char *doc = support_write(dir, "audit.json", AUDIT_EVENT);
    char *argv[] = {(char *)OBLIGO_BIN, "ingest", "--db", db2, "--rules", RULES,
                    "--format",         "fhir",   doc,    NULL};
    char *err = NULL;
    assert_int_equal(support_run(argv, NULL, &err), 0);
    assert_non_null(strstr(err, "1 accepted"));
    free(err);
    cJSON *alerts = support_query(db2, "alerts", NULL);
    int n = 0;
    support_find(alerts, "nen7513.emergency_without_reason", "c-900", &n);
    assert_int_equal(n, 1);
    cJSON_Delete(alerts);
    /* ... and so does ingest, keeping the document with the reason */
    char *cutdoc = support_write(dir, "cut.json", cut);
    char *argv2[] = {(char *)OBLIGO_BIN, "ingest", "--db", db2, "--rules", RULES,
                     "--format",         "fhir",   cutdoc, NULL};
    err = NULL;
    support_run(argv2, NULL, &err);
    assert_non_null(strstr(err, "U+0000"));
    free(err);
    char *q2[] = {"/usr/bin/sqlite3", db2, "SELECT count(*), origin FROM rejected", NULL};
    out = NULL;
    assert_int_equal(support_run(q2, &out, NULL), 0);
    assert_non_null(strstr(out, "1|"));
    assert_non_null(strstr(out, "cut.json"));
    free(out);
    free(cutdoc);
    free(doc);
    free(cfg);
    support_assert_replays(db);
    support_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fhir_in_webhook_out_at_least_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
