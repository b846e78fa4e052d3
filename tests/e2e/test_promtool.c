/*
 * test_promtool.c — GET /metrics as Prometheus reads it: Prometheus' own
 * linter (`promtool check metrics`, Debian's prometheus package) finds
 * nothing to say about the exposition after events were accepted,
 * duplicated, refused and in conflict, and alerts raised.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http_client.h"
#include "support.h"

#define RULES OBLIGO_SOURCE_DIR "/rules"

static void metrics_pass_promtool(void **state)
{
    (void)state;
    char *dir = support_tmpdir();
    char db[600], log[600], file[600];
    snprintf(db, sizeof db, "%s/obligo.db", dir);
    snprintf(log, sizeof log, "%s/serve.log", dir);
    snprintf(file, sizeof file, "%s/metrics.txt", dir);
    int port = client_free_port();
    pid_t pid = client_start_server(db, RULES, port, log);
    assert_true(pid > 0);
    static const char access[] =
        "{\"specversion\":\"1.0\",\"id\":\"m1\",\"source\":\"urn:test\","
        "\"type\":\"nl.nen7513.access\",\"time\":\"2026-12-01T10:00:00+01:00\","
        "\"data\":{\"user\":{\"id\":\"U1\",\"role\":\"nurse\"},\"client_id\":\"C9\","
        "\"action\":\"read\",\"system\":\"ecd\",\"treatment_relation\":false,"
        "\"authentication\":\"2fa\"}}";
    static const char other[] =
        "{\"specversion\":\"1.0\",\"id\":\"m1\",\"source\":\"urn:test\","
        "\"type\":\"nl.nen7513.access\",\"time\":\"2026-12-01T10:05:00+01:00\","
        "\"data\":{\"user\":{\"id\":\"U2\",\"role\":\"nurse\"},\"client_id\":\"C9\","
        "\"action\":\"read\",\"system\":\"ecd\",\"treatment_relation\":true,"
        "\"authentication\":\"2fa\"}}";
    const char *ct = "application/cloudevents+json";
    assert_int_equal(client_request(port, "POST", "/v1/events", ct, access, strlen(access), NULL),
                     202);
    assert_int_equal(client_request(port, "POST", "/v1/events", ct, access, strlen(access), NULL),
                     202);
    assert_int_equal(client_request(port, "POST", "/v1/events", ct, other, strlen(other), NULL),
                     409);
    assert_int_equal(client_request(port, "POST", "/v1/events", ct, "{}", 2, NULL), 400);
    char *body = NULL;
    assert_int_equal(client_request(port, "GET", "/metrics", NULL, NULL, 0, &body), 200);
    assert_non_null(strstr(body, "obligo_events_total{outcome=\"conflict\"} 1"));
    free(support_write(dir, "metrics.txt", body));
    free(body);
    assert_int_equal(WEXITSTATUS(client_stop_server(pid, SIGTERM)), 0);

    /* promtool reads the exposition on stdin */
    pid_t lint = fork();
    assert_true(lint >= 0);
    char lint_out[600];
    snprintf(lint_out, sizeof lint_out, "%s/promtool.txt", dir);
    if (lint == 0) {
        int in = open(file, O_RDONLY), o = open(lint_out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(in, 0);
        dup2(o, 1);
        dup2(o, 2);
        execl("/usr/bin/promtool", "promtool", "check", "metrics", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(lint, &status, 0), lint);
    char *said = NULL, *cat[] = {"/bin/cat", lint_out, NULL};
    assert_int_equal(support_run(cat, &said, NULL), 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || (said && *said))
        fail_msg("promtool check metrics (status %d): %s", status, said ? said : "");
    free(said);
    support_assert_clean_log(log);
    support_assert_replays(db);
    support_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(metrics_pass_promtool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
