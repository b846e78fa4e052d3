/*
 * test_tls_proxy.c — end to end: the TLS reverse proxy of the README.
 *
 * docs/nginx-tls.conf runs as written, except for its listen lines, upstream
 * port and certificate paths, in a private nginx (no daemon, no master
 * process, pid, logs and temp paths in a temporary directory) with a
 * throwaway self-signed certificate made by the openssl CLI, in front of a
 * real `obligo serve` on another loopback port. The curl CLI talks HTTPS to
 * it: /healthz with TLS 1.3 and 1.2 and HSTS, events with the bearer token
 * passed through, the body limit, kept-alive upstream connections, plain
 * HTTP refused on the TLS port. And `obligo serve` refuses a non-loopback
 * listen address without --allow-insecure-listen. Everything listens on
 * 127.0.0.1 only. nginx, openssl and curl come from scripts/setup; when one
 * is missing the test fails.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "support.h"

#define RULES OBLIGO_SOURCE_DIR "/rules"
#define NGINX_CONF OBLIGO_SOURCE_DIR "/docs/nginx-tls.conf"

typedef struct fx {
    char *dir;
    char nginx[512], curl[512], openssl[512], timeout[512];
    char db[600], log[600], cert[600], key[600], conf[600], errlog[600];
    char auth[256]; /* "Authorization: Bearer obl_..." */
    int port, tls;  /* obligo's and nginx's */
    pid_t obligo, proxy;
} fx;

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000 * 1000};
    nanosleep(&ts, NULL);
}

/* Finds an executable on $PATH or in the sbin directories (nginx lives in
 * /usr/sbin, which a non-root PATH may lack). */
static int find_tool(const char *name, char *out, size_t n)
{
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s:/usr/sbin:/sbin:/usr/bin:/bin", path ? path : "");
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, n, "%s/%s", d, name);
        if (*d && access(out, X_OK) == 0)
            return 0;
    }
    fprintf(stderr, "test_tls_proxy: '%s' is not installed; scripts/setup installs it\n", name);
    return -1;
}

/* Replaces the one occurrence of `from` in *text by `to`; -1 when `from`
 * does not occur exactly once (docs/nginx-tls.conf changed shape). */
static int replace_once(char **text, const char *from, const char *to)
{
    char *at = strstr(*text, from);
    if (!at || strstr(at + 1, from)) {
        fprintf(stderr, "test_tls_proxy: docs/nginx-tls.conf must contain '%s' exactly once\n",
                from);
        return -1;
    }
    size_t head = (size_t)(at - *text), fl = strlen(from), tl = strlen(to);
    size_t rest = strlen(at + fl);
    char *r = malloc(head + tl + rest + 1);
    memcpy(r, *text, head);
    memcpy(r + head, to, tl);
    memcpy(r + head + tl, at + fl, rest + 1);
    free(*text);
    *text = r;
    return 0;
}

/* Waits up to ~5 s for pid after sending sig, then kills it. Returns the
 * wait status, or -1 when it had to be killed. */
static int stop_process(pid_t pid, int sig)
{
    kill(pid, sig);
    for (int i = 0; i < 100; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
        pause_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* Runs curl (no ~/.curlrc, no proxy from the environment, bounded) with
 * `args` (NULL-terminated, may be NULL) on url. Returns the HTTP status, or
 * -1 when curl failed (no connection, TLS handshake refused, no response);
 * *out (may be NULL; caller frees) gets what curl printed. */
static int curl_url(fx *f, const char *url, const char *const args[], char **out)
{
    char *argv[48];
    int n = 0;
    const char *fixed[] = {f->curl,    "-q",    "-sS", "--noproxy", "*",  "--max-time",    "5",
                           "--cacert", f->cert, "-o",  "-",         "-w", "\n%{http_code}"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        argv[n++] = (char *)fixed[i];
    for (int i = 0; args && args[i] && n < 46; i++)
        argv[n++] = (char *)args[i];
    argv[n++] = (char *)url;
    argv[n] = NULL;
    char *o = NULL;
    int rc = support_run(argv, &o, NULL);
    int status = -1;
    char *nl = o ? strrchr(o, '\n') : NULL;
    if (rc == 0 && nl) {
        status = atoi(nl + 1);
        *nl = '\0';
    }
    if (out)
        *out = o;
    else
        free(o);
    return status;
}

static int https(fx *f, const char *path, const char *const args[], char **out)
{
    char url[256];
    snprintf(url, sizeof url, "https://127.0.0.1:%d%s", f->tls, path);
    return curl_url(f, url, args, out);
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

static int make_cert(fx *f)
{
    char *err = NULL;
    char *argv[] = {f->openssl,
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                    "-days",
                    "1",
                    "-subj",
                    "/CN=127.0.0.1",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1",
                    "-keyout",
                    f->key,
                    "-out",
                    f->cert,
                    NULL};
    int rc = support_run(argv, NULL, &err);
    if (rc != 0)
        fprintf(stderr, "test_tls_proxy: openssl req failed (%d): %s\n", rc, err ? err : "");
    free(err);
    return rc == 0 ? 0 : -1;
}

/* An ingest token, created before the server starts, as the README asks of
 * anyone who puts Obligo behind a proxy. */
static int make_token(fx *f)
{
    char *out = NULL;
    char *argv[] = {(char *)OBLIGO_BIN, "token", "create", "--role", "ingest", "--db", f->db, NULL};
    int rc = support_run(argv, &out, NULL);
    char *tok = out ? strstr(out, "obl_") : NULL;
    if (rc == 0 && tok)
        snprintf(f->auth, sizeof f->auth, "Authorization: Bearer %.*s",
                 (int)strspn(tok, "obl_0123456789abcdef"), tok);
    free(out);
    return rc == 0 && tok ? 0 : -1;
}

/* docs/nginx-tls.conf with test ports and certificate, inside a private
 * top-level nginx.conf whose every path is in the temporary directory. */
static int write_nginx_conf(fx *f)
{
    char *site = support_read_file(NGINX_CONF);
    if (!site) {
        fprintf(stderr, "test_tls_proxy: cannot read %s\n", NGINX_CONF);
        return -1;
    }
    char listen_line[64], upstream[64];
    snprintf(listen_line, sizeof listen_line, "listen 127.0.0.1:%d ssl;", f->tls);
    snprintf(upstream, sizeof upstream, "server 127.0.0.1:%d;", f->port);
    int rc = replace_once(&site, "listen 443 ssl;", listen_line) |
             replace_once(&site, "listen [::]:443 ssl;", "") |
             replace_once(&site, "server 127.0.0.1:8787;", upstream) |
             replace_once(&site, "/etc/ssl/obligo/fullchain.pem", f->cert) |
             replace_once(&site, "/etc/ssl/obligo/privkey.pem", f->key);
    char *path = rc ? NULL : support_write(f->dir, "nginx/obligo.conf", site);
    free(site);
    if (!path)
        return -1;
    free(path);
    const char *d = f->dir;
    char top[4096];
    snprintf(top, sizeof top,
             "# written by tests/e2e/test_tls_proxy.c\n"
             "daemon off;\n"
             "master_process off;\n"
             "worker_processes 1;\n"
             "pid %s/nginx/nginx.pid;\n"
             "error_log %s notice;\n"
             "events { worker_connections 64; }\n"
             "http {\n"
             "    access_log %s/nginx/access.log;\n"
             "    client_body_temp_path %s/nginx/client_body;\n"
             "    proxy_temp_path %s/nginx/proxy;\n"
             "    fastcgi_temp_path %s/nginx/fastcgi;\n"
             "    uwsgi_temp_path %s/nginx/uwsgi;\n"
             "    scgi_temp_path %s/nginx/scgi;\n"
             "    include %s/nginx/obligo.conf;\n"
             "}\n",
             d, f->errlog, d, d, d, d, d, d, d);
    path = support_write(f->dir, "nginx/nginx.conf", top);
    if (!path)
        return -1;
    free(path);
    return 0;
}

static int nginx_test_conf(fx *f)
{
    char prefix[600], *err = NULL;
    snprintf(prefix, sizeof prefix, "%s/nginx/", f->dir);
    char *argv[] = {f->nginx, "-t", "-q", "-p", prefix, "-e", f->errlog, "-c", f->conf, NULL};
    int rc = support_run(argv, NULL, &err);
    if (rc != 0)
        fprintf(stderr, "test_tls_proxy: nginx -t failed (%d): %s\n", rc, err ? err : "");
    free(err);
    return rc == 0 ? 0 : -1;
}

/* Starts nginx in the foreground as a child of this test (killed with it if
 * the test dies) and polls /healthz through it with curl, up to ~5 s. */
static int start_nginx(fx *f)
{
    char prefix[600], out[600];
    snprintf(prefix, sizeof prefix, "%s/nginx/", f->dir);
    snprintf(out, sizeof out, "%s/nginx/stderr.log", f->dir);
    pid_t parent = getpid();
    f->proxy = fork();
    if (f->proxy < 0)
        return -1;
    if (f->proxy == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        char *argv[] = {f->nginx, "-p", prefix, "-e", f->errlog, "-c", f->conf, NULL};
        execv(f->nginx, argv);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        const char *quick[] = {"--max-time", "1", NULL};
        if (https(f, "/healthz", quick, NULL) == 200)
            return 0;
        int status;
        if (waitpid(f->proxy, &status, WNOHANG) == f->proxy) {
            f->proxy = 0;
            char *log = support_read_file(f->errlog);
            fprintf(stderr, "test_tls_proxy: nginx exited (status %d): %s\n", status,
                    log ? log : "");
            free(log);
            return -1;
        }
        pause_ms(50);
    }
    fprintf(stderr, "test_tls_proxy: nginx did not answer on 127.0.0.1:%d\n", f->tls);
    return -1;
}

static int group_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    *state = f;
    f->dir = support_tmpdir();
    if (!f->dir)
        return -1;
    snprintf(f->db, sizeof f->db, "%s/obligo.db", f->dir);
    snprintf(f->log, sizeof f->log, "%s/serve.log", f->dir);
    snprintf(f->cert, sizeof f->cert, "%s/cert.pem", f->dir);
    snprintf(f->key, sizeof f->key, "%s/key.pem", f->dir);
    snprintf(f->conf, sizeof f->conf, "%s/nginx/nginx.conf", f->dir);
    snprintf(f->errlog, sizeof f->errlog, "%s/nginx/error.log", f->dir);
    if (find_tool("nginx", f->nginx, sizeof f->nginx) ||
        find_tool("openssl", f->openssl, sizeof f->openssl) ||
        find_tool("curl", f->curl, sizeof f->curl) ||
        find_tool("timeout", f->timeout, sizeof f->timeout))
        return -1;
    f->port = client_free_port();
    f->tls = client_free_port();
    if (f->port <= 0 || f->tls <= 0 || f->port == f->tls)
        return -1;
    if (make_cert(f) || make_token(f) || write_nginx_conf(f) || nginx_test_conf(f))
        return -1;
    f->obligo = client_start_server(f->db, RULES, f->port, f->log);
    if (f->obligo <= 0) {
        char *log = support_read_file(f->log);
        fprintf(stderr, "test_tls_proxy: obligo serve did not start: %s\n", log ? log : "");
        free(log);
        f->obligo = 0;
        return -1;
    }
    return start_nginx(f);
}

static int group_teardown(void **state)
{
    fx *f = *state;
    if (f->proxy > 0)
        stop_process(f->proxy, SIGKILL);
    if (f->obligo > 0)
        stop_process(f->obligo, SIGKILL);
    support_assert_replays(f->db);
    support_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void healthz_over_tls_with_hsts(void **state)
{
    fx *f = *state;
    const char *tls13[] = {"-i", "--tlsv1.3", NULL};
    const char *tls12[] = {"-i", "--tlsv1.2", "--tls-max", "1.2", NULL};
    const char *const *variants[] = {tls13, tls12};
    for (int i = 0; i < 2; i++) {
        char *out = NULL;
        assert_int_equal(https(f, "/healthz", variants[i], &out), 200);
        assert_non_null(strstr(out, "{\"status\":\"ok\"}"));
        assert_non_null(strcasestr(out, "\nStrict-Transport-Security: max-age=63072000"));
        assert_null(strcasestr(out, "nginx/")); /* server_tokens off */
        free(out);
    }
    /* TLS 1.2 offers AEAD suites only: a CBC suite the client would take is refused */
    const char *aead[] = {
        "--tlsv1.2", "--tls-max", "1.2", "--ciphers", "ECDHE-ECDSA-CHACHA20-POLY1305", NULL};
    const char *cbc[] = {"--tlsv1.2", "--tls-max", "1.2", "--ciphers", "ECDHE-ECDSA-AES128-SHA256",
                         NULL};
    assert_int_equal(https(f, "/healthz", aead, NULL), 200);
    assert_int_equal(https(f, "/healthz", cbc, NULL), -1);
}

static void events_over_tls_with_token(void **state)
{
    fx *f = *state;
    char ev[1024], *out = NULL;
    event(ev, sizeof ev, "tls-1");
    const char *anon[] = {"-H", "Content-Type: application/cloudevents+json", "--data-binary", ev,
                          NULL};
    /* a token exists, so Obligo wants one although nginx connects from 127.0.0.1 */
    assert_int_equal(https(f, "/v1/events", anon, &out), 401);
    free(out);
    const char *authed[] = {
        "-H", "Content-Type: application/cloudevents+json", "-H", f->auth, "--data-binary", ev,
        NULL};
    assert_int_equal(https(f, "/v1/events", authed, &out), 202);
    assert_non_null(strstr(out, "{\"accepted\":1,"));
    free(out);
    assert_int_equal(https(f, "/v1/events", authed, &out), 202);
    assert_non_null(strstr(out, "\"duplicates\":1"));
    free(out);
    cJSON *obls = support_query(f->db, "obligations", NULL);
    assert_non_null(support_find(obls, "avg.notify_ap", "tls-1", NULL));
    cJSON_Delete(obls);
}

/* client_max_body_size matches Obligo's 16 MiB: exactly 16 MiB reaches
 * Obligo (which finds no JSON in it), one byte more is refused by nginx. */
static void body_limit_matches_obligo(void **state)
{
    fx *f = *state;
    char path[700], data[720];
    snprintf(path, sizeof path, "%s/body.bin", f->dir);
    snprintf(data, sizeof data, "@%s", path);
    const char *args[] = {
        "-H", "Content-Type: application/x-ndjson", "-H", f->auth, "--data-binary", data, NULL};
    long sizes[] = {16L << 20, (16L << 20) + 1};
    int want[] = {400, 413};
    for (int i = 0; i < 2; i++) {
        FILE *fp = fopen(path, "wb");
        assert_non_null(fp);
        assert_int_equal(ftruncate(fileno(fp), sizes[i]), 0);
        fclose(fp);
        char *out = NULL;
        assert_int_equal(https(f, "/v1/events", args, &out), want[i]);
        /* 400 is Obligo's JSON about the content; 413 is nginx's page */
        assert_non_null(
            strstr(out, want[i] == 400 ? "{\"error\":" : "413 Request Entity Too Large"));
        free(out);
    }
    unlink(path);
}

/* Obligo's access log names each request's peer ADDR:PORT; with the upstream
 * keepalive, requests from separate clients reach Obligo on one connection. */
static void upstream_connections_are_kept_alive(void **state)
{
    fx *f = *state;
    char *before = support_read_file(f->log);
    assert_non_null(before);
    size_t skip = strlen(before);
    free(before);
    for (int i = 0; i < 3; i++)
        assert_int_equal(https(f, "/healthz", NULL, NULL), 200);
    char peers[3][64];
    int n = 0;
    for (int tries = 0; tries < 100 && n < 3; tries++) {
        char *log = support_read_file(f->log);
        assert_non_null(log);
        n = 0;
        for (char *l = strstr(log + skip, "access "); l && n < 3; l = strstr(l + 1, "access ")) {
            char method[16], route[64];
            if (sscanf(l, "access %63s %15s %63s", peers[n], method, route) == 3 &&
                strcmp(method, "GET") == 0 && strcmp(route, "/healthz") == 0)
                n++;
        }
        free(log);
        if (n < 3)
            pause_ms(50);
    }
    assert_int_equal(n, 3);
    assert_string_equal(peers[0], peers[1]);
    assert_string_equal(peers[1], peers[2]);
}

static void plain_http_on_tls_port_fails(void **state)
{
    fx *f = *state;
    char url[128], *out = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", f->tls);
    assert_int_equal(curl_url(f, url, NULL, &out), 400);
    assert_non_null(strstr(out, "The plain HTTP request was sent to HTTPS port"));
    assert_null(strstr(out, "\"status\""));
    free(out);
}

/* Run under timeout(1), so that a regression cannot leave a server running. */
static int serve_elsewhere(fx *f, const char *addr, const char *config, char **err)
{
    char db[700];
    snprintf(db, sizeof db, "%s/refused.db", f->dir);
    char *argv[16] = {f->timeout, "-s",   "KILL", "5",       (char *)OBLIGO_BIN,
                      "serve",    "--db", db,     "--rules", (char *)RULES};
    int n = 10;
    if (addr) {
        argv[n++] = "--listen";
        argv[n++] = (char *)addr;
    }
    if (config) {
        argv[n++] = "--config";
        argv[n++] = (char *)config;
    }
    argv[n] = NULL;
    return support_run(argv, NULL, err);
}

static void non_loopback_listen_needs_override(void **state)
{
    fx *f = *state;
    char addr[64], cfg[128], *err = NULL;
    int port = client_free_port();
    snprintf(addr, sizeof addr, "0.0.0.0:%d", port);
    assert_int_equal(serve_elsewhere(f, addr, NULL, &err), 2);
    assert_non_null(strstr(err, "TLS"));
    assert_non_null(strstr(err, "--allow-insecure-listen"));
    free(err);
    snprintf(cfg, sizeof cfg, "{\"listen\": \"0.0.0.0:%d\"}", port);
    char *path = support_write(f->dir, "insecure.json", cfg);
    assert_int_equal(serve_elsewhere(f, NULL, path, &err), 2);
    assert_non_null(strstr(err, "TLS"));
    free(err);
    free(path);
}

/* Last: nginx stops on SIGQUIT (graceful), Obligo on SIGTERM, both with 0. */
static void proxy_and_server_stop_cleanly(void **state)
{
    fx *f = *state;
    assert_true(f->proxy > 0 && f->obligo > 0);
    int status = stop_process(f->proxy, SIGQUIT);
    f->proxy = 0;
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    status = stop_process(f->obligo, SIGTERM);
    f->obligo = 0;
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char *log = support_read_file(f->errlog);
    assert_non_null(log);
    assert_null(strstr(log, "[emerg]"));
    assert_null(strstr(log, "[alert]"));
    assert_null(strstr(log, "[crit]"));
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(healthz_over_tls_with_hsts),
        cmocka_unit_test(events_over_tls_with_token),
        cmocka_unit_test(body_limit_matches_obligo),
        cmocka_unit_test(upstream_connections_are_kept_alive),
        cmocka_unit_test(plain_http_on_tls_port_fails),
        cmocka_unit_test(non_loopback_listen_needs_override),
        cmocka_unit_test(proxy_and_server_stop_cleanly),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
