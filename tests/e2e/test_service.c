/*
 * test_service.c — Obligo as an installed service (README: Running as a
 * service): `cmake --install` into a fresh prefix lays out the binary, the
 * plugins, the rule pack, an example configuration, the OpenAPI document
 * and a systemd unit that
 * `systemd-analyze verify` passes without a word; the installed binary,
 * run from a directory that holds nothing of Obligo's, finds its rules and
 * plugins, keeps its database in systemd's StateDirectory= and reads
 * obligo.json from its ConfigurationDirectory=; and `obligo serve` tells
 * systemd it is ready (sd_notify READY=1 on NOTIFY_SOCKET) once it
 * listens, and that it is stopping on SIGTERM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"
#include "support.h"

#define RULES OBLIGO_SOURCE_DIR "/rules"

typedef struct fx {
    char *dir;
    char prefix[600];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    snprintf(f->prefix, sizeof f->prefix, "%s/prefix", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    support_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Runs argv in dir with the environment variable name set to value (NULL:
 * none); returns the exit status and the output. */
static int run_in(const char *dir, const char *name, const char *value, char *const argv[],
                  char **out, char **err)
{
    char cwd[1024];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    if (name)
        setenv(name, value, 1);
    int rc = support_run(argv, out, err);
    if (name)
        unsetenv(name);
    assert_int_equal(chdir(cwd), 0);
    return rc;
}

static int is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static void installs_and_runs_without_a_working_directory(void **state)
{
    fx *f = *state;
    char *install[] = {OBLIGO_CMAKE, "--install", OBLIGO_BINARY_DIR, "--prefix", f->prefix, NULL};
    char *out = NULL, *err = NULL;
    int rc = support_run(install, &out, &err);
    if (rc != 0)
        fail_msg("cmake --install exited %d:\n%s%s", rc, out ? out : "", err ? err : "");
    free(out);
    free(err);
    const char *files[] = {"bin/obligo",
                           "share/obligo/rules/avg/breaches.lua",
                           "share/obligo/rules/README.md",
                           "share/obligo/obligo.example.json",
                           "share/obligo/openapi.json",
                           "lib/systemd/system/obligo.service"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[800];
        snprintf(path, sizeof path, "%s/%s", f->prefix, files[i]);
        if (!is_file(path))
            fail_msg("cmake --install did not lay out %s", files[i]);
    }

    /* the unit: verified clean, naming the installed binary */
    char unit[800];
    snprintf(unit, sizeof unit, "%s/lib/systemd/system/obligo.service", f->prefix);
    char *verify[] = {"/usr/bin/systemd-analyze", "verify", unit, NULL};
    out = err = NULL;
    rc = support_run(verify, &out, &err);
    if (rc != 0 || (out && *out) || (err && *err))
        fail_msg("systemd-analyze verify exited %d:\n%s%s", rc, out ? out : "", err ? err : "");
    free(out);
    free(err);
    char *text = NULL, *cat[] = {"/bin/cat", unit, NULL};
    assert_int_equal(support_run(cat, &text, NULL), 0);
    char exec[800];
    snprintf(exec, sizeof exec, "ExecStart=%s/bin/obligo serve", f->prefix);
    assert_non_null(strstr(text, exec));
    assert_non_null(strstr(text, "Type=notify"));
    assert_non_null(strstr(text, "DynamicUser=yes"));
    assert_non_null(strstr(text, "StateDirectory=obligo"));
    assert_non_null(strstr(text, "ProtectSystem=strict"));
    assert_non_null(strstr(text, "NoNewPrivileges=yes"));
    assert_non_null(strstr(text, "SystemCallFilter=@system-service"));
    free(text);

    /* from an empty directory: the installed rules and plugins */
    char empty[700], bin[800];
    snprintf(empty, sizeof empty, "%s/elsewhere", f->dir);
    assert_int_equal(mkdir(empty, 0755), 0);
    snprintf(bin, sizeof bin, "%s/bin/obligo", f->prefix);
    char *check[] = {bin, "check", NULL};
    out = err = NULL;
    assert_int_equal(run_in(empty, NULL, NULL, check, &out, &err), 0);
    char want[800];
    snprintf(want, sizeof want, "%s/share/obligo/rules: ", f->prefix);
    if (!out || !strstr(out, want))
        fail_msg("obligo check did not use the installed rules:\n%s%s", out ? out : "",
                 err ? err : "");
    free(out);
    free(err);
    char *plugins[] = {bin, "plugins", NULL};
    out = NULL;
    assert_int_equal(run_in(empty, NULL, NULL, plugins, &out, NULL), 0);
    snprintf(want, sizeof want, "%s/lib", f->prefix);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "nl.avg.breach.reported"));
    free(out);

    /* the database in StateDirectory=, the configuration from
     * ConfigurationDirectory= (here: alerts to a file) */
    char state_dir[700], conf_dir[700], alerts[800], cfg_text[1000], db[800];
    snprintf(state_dir, sizeof state_dir, "%s/state", f->dir);
    snprintf(conf_dir, sizeof conf_dir, "%s/etc", f->dir);
    snprintf(alerts, sizeof alerts, "%s/alerts.jsonl", f->dir);
    snprintf(db, sizeof db, "%s/obligo.db", state_dir);
    assert_int_equal(mkdir(state_dir, 0700), 0);
    snprintf(cfg_text, sizeof cfg_text, "{\"sinks\": [\"file:%s\"]}", alerts);
    assert_int_equal(mkdir(conf_dir, 0750), 0);
    char *conf = support_write(conf_dir, "obligo.json", cfg_text);
    assert_non_null(conf);
    free(conf);
    char *events =
        support_write(f->dir, "events.ndjson",
                      "{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"urn:test\","
                      "\"type\":\"nl.nen7513.access\",\"time\":\"2026-06-10T09:00:00+02:00\","
                      "\"data\":{\"user\":{\"id\":\"U1\",\"role\":\"nurse\"},\"client_id\":\"C9\","
                      "\"action\":\"read\",\"system\":\"ecd\",\"treatment_relation\":false,"
                      "\"authentication\":\"2fa\"}}\n");
    char *ingest[] = {bin, "ingest", events, NULL};
    setenv("CONFIGURATION_DIRECTORY", conf_dir, 1);
    out = err = NULL;
    rc = run_in(empty, "STATE_DIRECTORY", state_dir, ingest, &out, &err);
    unsetenv("CONFIGURATION_DIRECTORY");
    if (rc != 0)
        fail_msg("installed obligo ingest exited %d:\n%s", rc, err ? err : "");
    free(out);
    free(err);
    free(events);
    assert_true(is_file(db));
    assert_true(is_file(alerts)); /* the configured sink, not stdout */
    char *read_alerts[] = {"/bin/cat", alerts, NULL};
    out = NULL;
    assert_int_equal(support_run(read_alerts, &out, NULL), 0);
    assert_non_null(strstr(out, "nen7513.no_treatment_relation"));
    free(out);
    /* nothing of Obligo's appeared in the working directory */
    char stray[800];
    snprintf(stray, sizeof stray, "%s/var/obligo.db", empty);
    assert_false(is_file(stray));
}

/* Waits up to timeout_ms for a datagram on fd holding want; 1 when seen. */
static int notified(int fd, const char *want, int timeout_ms, char *seen, size_t seen_size)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left =
            timeout_ms - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        char buf[512];
        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        snprintf(seen, seen_size, "%s", buf);
        if (strstr(buf, want))
            return 1;
    }
}

static void serve_tells_systemd_when_ready_and_stopping(void **state)
{
    fx *f = *state;
    char sock[700], db[700], log[700];
    snprintf(sock, sizeof sock, "%s/notify.sock", f->dir);
    snprintf(db, sizeof db, "%s/obligo.db", f->dir);
    snprintf(log, sizeof log, "%s/serve.log", f->dir);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    assert_true(strlen(sock) < sizeof a.sun_path);
    strcpy(a.sun_path, sock);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    setenv("NOTIFY_SOCKET", sock, 1);
    int port = client_free_port();
    pid_t pid = client_start_server(db, RULES, port, log);
    unsetenv("NOTIFY_SOCKET");
    assert_true(pid > 0);
    char seen[512] = "";
    /* generous: a sanitizer build on a busy machine starts slowly */
    if (!notified(fd, "READY=1", 60000, seen, sizeof seen))
        fail_msg("no READY=1 on NOTIFY_SOCKET (last: %s)", seen);
    char want[64];
    snprintf(want, sizeof want, "listening on 127.0.0.1:%d", port);
    assert_non_null(strstr(seen, want));
    kill(pid, SIGTERM);
    if (!notified(fd, "STOPPING=1", 60000, seen, sizeof seen))
        fail_msg("no STOPPING=1 on NOTIFY_SOCKET after SIGTERM (last: %s)", seen);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid); /* one SIGTERM: it drains and exits */
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(fd);
    support_assert_clean_log(log);
    support_assert_replays(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(installs_and_runs_without_a_working_directory, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(serve_tells_systemd_when_ready_and_stopping, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
