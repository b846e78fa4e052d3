/*
 * test_webhook.c — the webhook alert-sink plugin (plugins/webhook), loaded
 * with dlopen from the build's plugin directory and driven through a fake
 * host API, against a one-request HTTP receiver on 127.0.0.1 in a thread:
 * the signed POST, the answers that deliver, retry or fail, a closed port,
 * a receiver that never answers, redirects not followed, and the
 * configuration init refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <obligo/plugin.h>

#ifndef OBLIGO_PLUGIN_DIR
#define OBLIGO_PLUGIN_DIR "build/plugins" /* fallback: run from the source tree */
#endif

#define SECRET "s3cret-key"
#define ALERT_ID "al_01HZX3F8Q2"
#define ALERT_JSON                                                                                 \
    "{\"id\":\"al_01HZX3F8Q2\",\"kind\":\"obligation.overdue\",\"severity\":\"critical\","         \
    "\"subject\":\"breach-7\",\"at\":\"2026-02-05T08:15:00Z\",\"message\":\"Melding aan de AP "    \
    "te laat\",\"event\":\"ev-1\"}"

/* ---- the fake host ------------------------------------------------------- */

static obligo_alert_sink captured_sink;
static int sinks_registered;
static char last_log[1024];
static int last_log_level = -1;

static void *fake_alloc(size_t size)
{
    return malloc(size);
}

static void fake_free(void *ptr)
{
    free(ptr);
}

static void fake_log(obligo_host *host, int level, const char *message)
{
    (void)host;
    last_log_level = level;
    snprintf(last_log, sizeof last_log, "%s", message);
}

static int fake_register_alert_sink(obligo_host *host, const obligo_alert_sink *sink)
{
    (void)host;
    captured_sink = *sink;
    sinks_registered++;
    return 0;
}

static int refuse_event_type(obligo_host *host, const obligo_event_type *t)
{
    return OBLIGO_PLUGIN_ERROR;
}

static int refuse_kind(obligo_host *host, const obligo_obligation_kind *k)
{
    return OBLIGO_PLUGIN_ERROR;
}

static int refuse_function(obligo_host *host, const obligo_rule_function *f)
{
    return OBLIGO_PLUGIN_ERROR;
}

static int refuse_adapter(obligo_host *host, const obligo_input_adapter *a)
{
    return OBLIGO_PLUGIN_ERROR;
}

static const obligo_host_api fake_api = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_host_api),
    .alloc = fake_alloc,
    .free = fake_free,
    .log = fake_log,
    .register_event_type = refuse_event_type,
    .register_obligation_kind = refuse_kind,
    .register_rule_function = refuse_function,
    .register_alert_sink = fake_register_alert_sink,
    .register_input_adapter = refuse_adapter,
};

static int host_token; /* the host handle is opaque to the plugin */
#define fake_host ((obligo_host *)&host_token)

/* ---- a one-request HTTP receiver ----------------------------------------- */

typedef struct receiver {
    int listen_fd;
    int port;
    int status;        /* the answer's status */
    const char *extra; /* extra answer header lines ("Location: ...\r\n") or NULL */
    int hang;          /* 1: never answer; wait for the client to give up */
    int expect;        /* how many requests to serve (1 unless set before the thread) */
    pthread_t thread;
    /* what arrived */
    int got; /* requests read; the last one's parts follow */
    char method[16];
    char path[256];
    char head[8192]; /* the header lines, "\r\n"-separated */
    char *body;
    size_t body_len;
} receiver;

/* Waits up to ms for fd to be readable; 1 when it is. */
static int wait_readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 1;
}

/* Reads one request from fd into r and answers it. */
static void serve_one(receiver *r, int fd)
{
    char buf[65536];
    size_t len = 0;
    char *end = NULL;
    while (!end && len < sizeof buf - 1 && wait_readable(fd, 10000)) {
        ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (!end)
        return;
    size_t head_len = (size_t)(end - buf);
    char *line_end = strstr(buf, "\r\n");
    sscanf(buf, "%15s %255s", r->method, r->path);
    r->head[0] = '\0';
    if (line_end < end) {
        size_t hl = head_len - (size_t)(line_end + 2 - buf);
        if (hl >= sizeof r->head)
            hl = sizeof r->head - 1;
        memcpy(r->head, line_end + 2, hl);
        r->head[hl] = '\0';
    }

    size_t content_length = 0;
    for (char *p = r->head; p && *p;) {
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            content_length = strtoul(p + 15, NULL, 10);
        p = strstr(p, "\r\n");
        if (p)
            p += 2;
    }
    size_t have = len - (head_len + 4);
    free(r->body);
    r->body = malloc(content_length + 1);
    memcpy(r->body, end + 4, have < content_length ? have : content_length);
    while (have < content_length && wait_readable(fd, 10000)) {
        ssize_t n = recv(fd, r->body + have, content_length - have, 0);
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    r->body_len = have < content_length ? have : content_length;
    r->body[r->body_len] = '\0';
    r->got++;

    if (r->hang) {
        /* Until the client times out and closes its end. */
        while (wait_readable(fd, 10000) && recv(fd, buf, sizeof buf, 0) > 0)
            ;
    } else {
        char answer[512];
        int n = snprintf(answer, sizeof answer,
                         "HTTP/1.1 %d Test\r\n%sContent-Length: 2\r\nConnection: close\r\n\r\nok",
                         r->status, r->extra ? r->extra : "");
        send(fd, answer, (size_t)n, MSG_NOSIGNAL);
    }
}

/* Serves r->expect requests, one connection each, then ends. */
static void *receiver_main(void *arg)
{
    receiver *r = arg;
    for (int i = 0; i < r->expect; i++) {
        if (!wait_readable(r->listen_fd, 10000))
            return NULL;
        int fd = accept(r->listen_fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        serve_one(r, fd);
        close(fd);
    }
    return NULL;
}

/* A listening socket on 127.0.0.1 and an ephemeral port. */
static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 4), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void receiver_start_n(receiver *r, int status, int hang, int expect)
{
    memset(r, 0, sizeof *r);
    r->status = status;
    r->hang = hang;
    r->expect = expect;
    r->listen_fd = listen_loopback(&r->port);
    assert_int_equal(pthread_create(&r->thread, NULL, receiver_main, r), 0);
}

static void receiver_start(receiver *r, int status, int hang)
{
    receiver_start_n(r, status, hang, 1);
}

/* Waits for the receiver's thread (it ends after its requests, or after 10
 * s without one) and closes its socket. */
static void receiver_finish(receiver *r)
{
    pthread_join(r->thread, NULL);
    close(r->listen_fd);
}

static void receiver_free(receiver *r)
{
    free(r->body);
    r->body = NULL;
}

/* The value of header `name` in r->head, copied into out; 1 when present. */
static int header(const receiver *r, const char *name, char *out, size_t outsz)
{
    size_t nl = strlen(name);
    for (const char *p = r->head; p && *p;) {
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t n = e ? (size_t)(e - v) : strlen(v);
            if (n >= outsz)
                n = outsz - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return 1;
        }
        p = strstr(p, "\r\n");
        if (p)
            p += 2;
    }
    return 0;
}

/* ---- the plugin ---------------------------------------------------------- */

typedef struct fixture {
    void *dl;
    const obligo_plugin *plugin;
} fixture;

static int group_setup(void **state)
{
    /* curl honours proxy variables; the receiver is on loopback. */
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");

    fixture *f = calloc(1, sizeof *f);
    f->dl = dlopen(OBLIGO_PLUGIN_DIR "/webhook.so", RTLD_NOW | RTLD_LOCAL);
    if (!f->dl) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        free(f);
        return -1;
    }
    obligo_plugin_entry_fn entry;
    *(void **)&entry = dlsym(f->dl, OBLIGO_PLUGIN_ENTRY_NAME);
    if (!entry) {
        dlclose(f->dl);
        free(f);
        return -1;
    }
    f->plugin = entry();
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    dlclose(f->dl);
    free(f);
    return 0;
}

/* init with config_json; returns the plugin state, failing the test when
 * init fails. */
static void *init_ok(const fixture *f, const char *config_json)
{
    void *st = NULL;
    char *error = NULL;
    memset(&captured_sink, 0, sizeof captured_sink);
    sinks_registered = 0;
    int rc = f->plugin->init(fake_host, &fake_api, config_json, &st, &error);
    if (rc != 0)
        fail_msg("init: %s", error ? error : "(no message)");
    assert_null(error);
    assert_non_null(st);
    assert_int_equal(sinks_registered, 1);
    return st;
}

/* A configuration for the loopback receiver on port. */
static void loopback_config(char *out, size_t outsz, int port, int timeout_ms)
{
    snprintf(out, outsz,
             "{\"url\":\"http://127.0.0.1:%d/hooks/obligo\",\"secret\":\"" SECRET "\","
             "\"allow_http\":true,\"timeout_ms\":%d}",
             port, timeout_ms);
}

/* Delivers ALERT_JSON to a fresh receiver answering status; returns what
 * deliver returned and leaves what arrived in r. */
static int deliver_to(const fixture *f, receiver *r, int status, const char *extra, int hang,
                      int timeout_ms)
{
    char cfg[512];
    receiver_start(r, status, hang);
    r->extra = extra;
    loopback_config(cfg, sizeof cfg, r->port, timeout_ms);
    void *st = init_ok(f, cfg);
    last_log[0] = '\0';
    last_log_level = -1;
    int rc = captured_sink.deliver(st, NULL, ALERT_ID, ALERT_JSON);
    receiver_finish(r);
    f->plugin->fini(st);
    return rc;
}

/* ---- tests --------------------------------------------------------------- */

static void test_description(void **state)
{
    const fixture *f = *state;
    const obligo_plugin *p = f->plugin;
    assert_int_equal(p->abi_version, OBLIGO_ABI_CURRENT);
    assert_int_equal(p->struct_size, sizeof(obligo_plugin));
    assert_string_equal(p->name, "webhook");
    assert_non_null(p->init);
    assert_non_null(p->fini);
    assert_non_null(p->config_schema);
    const obligo_field *fl = p->config_schema->fields;
    const char *names[] = {"url", "secret", "timeout_ms", "allow_http", "source"};
    const int kinds[] = {OBLIGO_FIELD_STRING, OBLIGO_FIELD_STRING, OBLIGO_FIELD_COUNT,
                         OBLIGO_FIELD_BOOL, OBLIGO_FIELD_STRING};
    const int required[] = {1, 1, 0, 0, 0};
    for (int i = 0; i < 5; i++) {
        assert_non_null(fl[i].name);
        assert_string_equal(fl[i].name, names[i]);
        assert_int_equal(fl[i].kind, kinds[i]);
        assert_int_equal(!!fl[i].required, required[i]);
    }
    assert_null(fl[5].name);
}

/* The hex HMAC-SHA256 under key of n bytes (libcrypto, independently of
 * the plugin). */
static void hmac_hex(const void *key, size_t key_len, const void *p, size_t n, char out[65])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    assert_non_null(HMAC(EVP_sha256(), key, (int)key_len, p, n, mac, &mac_len));
    assert_int_equal(mac_len, 32);
    for (unsigned int i = 0; i < mac_len; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

/* "v1," and the base64 HMAC of "id.timestamp.body", as Standard Webhooks
 * has a receiver compute it. */
static void standard_want(const void *key, size_t key_len, const char *id, const char *ts,
                          const receiver *r, char *out, size_t outsz)
{
    char *content = malloc(strlen(id) + strlen(ts) + r->body_len + 3);
    int n = sprintf(content, "%s.%s.", id, ts);
    memcpy(content + n, r->body, r->body_len);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    assert_non_null(HMAC(EVP_sha256(), key, (int)key_len, (unsigned char *)content,
                         (size_t)n + r->body_len, mac, &mac_len));
    free(content);
    unsigned char b64[64];
    EVP_EncodeBlock(b64, mac, (int)mac_len);
    snprintf(out, outsz, "v1,%s", b64);
}

static void test_signed_post(void **state)
{
    const fixture *f = *state;
    receiver r;
    long before = (long)time(NULL);
    assert_int_equal(deliver_to(f, &r, 200, NULL, 0, 2000), 0);
    long after = (long)time(NULL);
    assert_true(r.got);
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.path, "/hooks/obligo");
    assert_int_equal(r.got, 1);
    /* a CloudEvent in structured mode, the alert as its data */
    cJSON *ce = cJSON_Parse(r.body);
    assert_non_null(ce);
    assert_string_equal(cJSON_GetObjectItem(ce, "specversion")->valuestring, "1.0");
    assert_string_equal(cJSON_GetObjectItem(ce, "id")->valuestring, ALERT_ID);
    assert_string_equal(cJSON_GetObjectItem(ce, "source")->valuestring, "urn:obligo");
    assert_string_equal(cJSON_GetObjectItem(ce, "type")->valuestring,
                        "nl.obligo.alert.obligation.overdue");
    assert_string_equal(cJSON_GetObjectItem(ce, "time")->valuestring, "2026-02-05T08:15:00Z");
    assert_string_equal(cJSON_GetObjectItem(ce, "subject")->valuestring, "breach-7");
    assert_string_equal(cJSON_GetObjectItem(ce, "datacontenttype")->valuestring,
                        "application/json");
    cJSON *alert = cJSON_Parse(ALERT_JSON);
    assert_true(cJSON_Compare(cJSON_GetObjectItem(ce, "data"), alert, 1));
    cJSON_Delete(alert);
    cJSON_Delete(ce);

    char v[256];
    assert_true(header(&r, "Content-Type", v, sizeof v));
    assert_string_equal(v, "application/cloudevents+json");
    assert_true(header(&r, "X-Obligo-Alert-Id", v, sizeof v));
    assert_string_equal(v, ALERT_ID);
    assert_true(header(&r, "User-Agent", v, sizeof v));
    assert_string_equal(v, "obligo-webhook/1.0");
    assert_false(header(&r, "Expect", v, sizeof v));
    /* Standard Webhooks: the id, the time of this attempt, and a signature
     * over both and the body */
    assert_true(header(&r, "webhook-id", v, sizeof v));
    assert_string_equal(v, ALERT_ID);
    char ts[32];
    assert_true(header(&r, "webhook-timestamp", ts, sizeof ts));
    long t = atol(ts);
    assert_true(t >= before && t <= after);
    char want[128];
    standard_want(SECRET, strlen(SECRET), ALERT_ID, ts, &r, want, sizeof want);
    assert_true(header(&r, "webhook-signature", v, sizeof v));
    assert_string_equal(v, want);
    /* and the signature of before, over the exact body */
    char mac[65], legacy[80];
    hmac_hex(SECRET, strlen(SECRET), r.body, r.body_len, mac);
    snprintf(legacy, sizeof legacy, "sha256=%s", mac);
    assert_true(header(&r, "X-Obligo-Signature", v, sizeof v));
    assert_string_equal(v, legacy);
    receiver_free(&r);
}

/* A whsec_ secret is the Standard Webhooks form: the key is what its
 * base64 decodes to; the source is configurable. */
static void test_whsec_secret_and_source(void **state)
{
    const fixture *f = *state;
    char cfg[512];
    receiver r;
    receiver_start(&r, 204, 0);
    /* "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" is base64 of these 24 bytes */
    static const unsigned char key[] = {0x31, 0xf2, 0x90, 0xf6, 0xbf, 0x06, 0x29, 0x8a,
                                        0xab, 0x4f, 0x08, 0xd4, 0x3c, 0x3f, 0x08, 0x2c,
                                        0xf6, 0x48, 0xa3, 0x62, 0xda, 0x2d, 0xa4, 0xb0};
    snprintf(
        cfg, sizeof cfg,
        "{\"url\":\"http://127.0.0.1:%d/h\",\"secret\":\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\","
        "\"allow_http\":true,\"source\":\"urn:praktijk:obligo\"}",
        r.port);
    void *st = init_ok(f, cfg);
    assert_int_equal(captured_sink.deliver(st, NULL, ALERT_ID, ALERT_JSON), 0);
    receiver_finish(&r);
    f->plugin->fini(st);
    char ts[32], v[128], want[128];
    assert_true(header(&r, "webhook-timestamp", ts, sizeof ts));
    standard_want(key, sizeof key, ALERT_ID, ts, &r, want, sizeof want);
    assert_true(header(&r, "webhook-signature", v, sizeof v));
    assert_string_equal(v, want);
    assert_non_null(strstr(r.body, "\"source\":\"urn:praktijk:obligo\""));
    receiver_free(&r);
}

static void test_one_handle_many_deliveries(void **state)
{
    /* One state, one CURL handle, three alerts in a row. */
    const fixture *f = *state;
    char cfg[512];
    receiver r;
    receiver_start_n(&r, 204, 0, 3);
    loopback_config(cfg, sizeof cfg, r.port, 2000);
    void *st = init_ok(f, cfg);
    assert_int_equal(captured_sink.deliver(st, "ignored", ALERT_ID, ALERT_JSON), 0);
    assert_int_equal(captured_sink.deliver(st, NULL, "al_2", "{\"id\":\"al_2\"}"), 0);
    assert_int_equal(captured_sink.deliver(st, NULL, "al_3", "{}"), 0);
    /* an alert that is no JSON object is not sent */
    assert_int_equal(captured_sink.deliver(st, NULL, "al_4", "[1]"), OBLIGO_PLUGIN_ERROR);
    receiver_finish(&r);
    assert_int_equal(r.got, 3);
    char v[64];
    assert_true(header(&r, "X-Obligo-Alert-Id", v, sizeof v));
    assert_string_equal(v, "al_3");
    /* an alert without a kind: the type without a suffix, no time */
    static const char last[] = "{\"specversion\":\"1.0\",\"id\":\"al_3\",\"source\":\"urn:obligo\","
                               "\"type\":\"nl.obligo.alert\",\"datacontenttype\":"
                               "\"application/json\",\"data\":{}}";
    assert_true(header(&r, "Content-Length", v, sizeof v));
    assert_int_equal(atoi(v), (int)strlen(last));
    assert_string_equal(r.body, last);
    receiver_free(&r);
    f->plugin->fini(st);
}

static void test_retryable_answers(void **state)
{
    const fixture *f = *state;
    const int statuses[] = {503, 500, 429, 408};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        receiver r;
        assert_int_equal(deliver_to(f, &r, statuses[i], NULL, 0, 2000), OBLIGO_PLUGIN_RETRY);
        assert_true(r.got);
        receiver_free(&r);
    }
}

static void test_permanent_answers(void **state)
{
    const fixture *f = *state;
    const int statuses[] = {400, 401, 404};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        receiver r;
        assert_int_equal(deliver_to(f, &r, statuses[i], NULL, 0, 2000), OBLIGO_PLUGIN_ERROR);
        assert_true(r.got);
        char status[8];
        snprintf(status, sizeof status, "%d", statuses[i]);
        assert_int_equal(last_log_level, OBLIGO_LOG_ERROR);
        assert_non_null(strstr(last_log, status));
        receiver_free(&r);
    }
}

static void test_redirect_not_followed(void **state)
{
    /* Were the redirect followed, the second request would wait in the
     * listening socket's backlog until the timeout: RETRY, not ERROR. */
    const fixture *f = *state;
    receiver r;
    assert_int_equal(deliver_to(f, &r, 302, "Location: http://127.0.0.2:1/elsewhere\r\n", 0, 2000),
                     OBLIGO_PLUGIN_ERROR);
    assert_true(r.got);
    assert_non_null(strstr(last_log, "302"));
    receiver_free(&r);
}

static void test_connection_refused(void **state)
{
    const fixture *f = *state;
    int port;
    close(listen_loopback(&port)); /* a port nothing listens on */
    char cfg[512];
    loopback_config(cfg, sizeof cfg, port, 2000);
    void *st = init_ok(f, cfg);
    last_log[0] = '\0';
    assert_int_equal(captured_sink.deliver(st, NULL, ALERT_ID, ALERT_JSON), OBLIGO_PLUGIN_RETRY);
    assert_int_equal(last_log_level, OBLIGO_LOG_WARNING);
    f->plugin->fini(st);
}

static void test_no_answer_times_out(void **state)
{
    const fixture *f = *state;
    receiver r;
    assert_int_equal(deliver_to(f, &r, 200, NULL, 1, 300), OBLIGO_PLUGIN_RETRY);
    assert_true(r.got);
    receiver_free(&r);
}

static void test_bad_alert_id_not_sent(void **state)
{
    const fixture *f = *state;
    int port;
    close(listen_loopback(&port));
    char cfg[512];
    loopback_config(cfg, sizeof cfg, port, 2000);
    void *st = init_ok(f, cfg);
    assert_int_equal(captured_sink.deliver(st, NULL, "al_1\r\nX-Evil: 1", ALERT_JSON),
                     OBLIGO_PLUGIN_ERROR);
    assert_int_equal(captured_sink.deliver(st, NULL, "", ALERT_JSON), OBLIGO_PLUGIN_ERROR);
    f->plugin->fini(st);
}

/* init must fail with a message containing `want`, registering nothing. */
static void expect_init_error(const fixture *f, const char *config_json, const char *want)
{
    void *st = (void *)1;
    char *error = NULL;
    sinks_registered = 0;
    assert_int_equal(f->plugin->init(fake_host, &fake_api, config_json, &st, &error),
                     OBLIGO_PLUGIN_ERROR);
    assert_null(st);
    assert_non_null(error);
    if (!strstr(error, want))
        fail_msg("error \"%s\" does not mention \"%s\"", error, want);
    assert_int_equal(sinks_registered, 0);
    free(error);
}

static void test_init_refuses(void **state)
{
    const fixture *f = *state;
    expect_init_error(f, "{\"url\":\"http://127.0.0.1:1/x\",\"secret\":\"k\"}", "https://");
    expect_init_error(f, "{\"url\":\"http://127.0.0.1:1/x\",\"secret\":\"k\",\"allow_http\":false}",
                      "https://");
    expect_init_error(f, "{\"url\":\"ftp://example.org/x\",\"secret\":\"k\",\"allow_http\":true}",
                      "url");
    expect_init_error(f, "{\"url\":\"https://example.org/x\",\"secret\":\"\"}", "secret");
    expect_init_error(f, "{\"url\":\"https://example.org/x\"}", "secret");
    expect_init_error(f, "{\"secret\":\"k\"}", "url");
    expect_init_error(f, "{\"url\":\"https://example.org/x\",\"secret\":\"k\",\"timeout_ms\":0}",
                      "timeout_ms");
    expect_init_error(f, "[]", "object");
    expect_init_error(f, "{\"url\":\"https://example.org/x\",\"secret\":\"whsec_abc\"}", "base64");
    expect_init_error(f, "{\"url\":\"https://example.org/x\",\"secret\":\"whsec_\"}", "base64");
    expect_init_error(f, "{\"url\":\"https://example.org/x\",\"secret\":\"k\",\"source\":\"\"}",
                      "source");
}

static void test_init_accepts_https_with_defaults(void **state)
{
    /* No request is made: init only parses and registers. */
    const fixture *f = *state;
    void *st = init_ok(f, "{\"url\":\"https://alerts.example.org/obligo\",\"secret\":\"k\"}");
    assert_string_equal(captured_sink.name, "webhook");
    assert_int_equal(captured_sink.abi_version, OBLIGO_ABI_CURRENT);
    assert_int_equal(captured_sink.struct_size, sizeof(obligo_alert_sink));
    assert_non_null(captured_sink.deliver);
    f->plugin->fini(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_description),
        cmocka_unit_test(test_signed_post),
        cmocka_unit_test(test_whsec_secret_and_source),
        cmocka_unit_test(test_one_handle_many_deliveries),
        cmocka_unit_test(test_retryable_answers),
        cmocka_unit_test(test_permanent_answers),
        cmocka_unit_test(test_redirect_not_followed),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_no_answer_times_out),
        cmocka_unit_test(test_bad_alert_id_not_sent),
        cmocka_unit_test(test_init_refuses),
        cmocka_unit_test(test_init_accepts_https_with_defaults),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
