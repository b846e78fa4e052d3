/*
 * test_webhook_receiver.c — alerts reach a webhook receiver written as an
 * integrator writes one (tests/clients/webhook_receiver.mjs): the Standard
 * Webhooks library verifies each delivery's signature and timestamp, and
 * refuses the same delivery replayed an hour later or with a changed body;
 * the cloudevents SDK reads it as a CloudEvent of type
 * nl.obligo.alert.<kind>; and the configuration's route sends the webhook
 * only the kind it names, while every alert is still raised and listed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"
#include "support.h"

#define CLIENTS OBLIGO_SOURCE_DIR "/tests/clients"
#define RULES OBLIGO_SOURCE_DIR "/rules"
#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

/* Waits up to timeout_ms for path to hold needle; returns its text (caller
 * frees) or NULL. */
static char *wait_for(const char *path, const char *needle, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        char *text = support_read_file(path);
        if (text && strstr(text, needle))
            return text;
        free(text);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void routed_alert_arrives_verified_as_a_cloudevent(void **state)
{
    (void)state;
    char *dir = support_tmpdir();
    char portfile[600], out[600], db[600], log[600];
    snprintf(portfile, sizeof portfile, "%s/port", dir);
    snprintf(out, sizeof out, "%s/deliveries.jsonl", dir);
    snprintf(db, sizeof db, "%s/obligo.db", dir);
    snprintf(log, sizeof log, "%s/serve.log", dir);
    pid_t receiver = fork();
    assert_true(receiver >= 0);
    if (receiver == 0) {
        execl("/usr/bin/env", "env", "node", CLIENTS "/webhook_receiver.mjs", portfile, SECRET, out,
              (char *)NULL);
        _exit(127);
    }
    char *port = wait_for(portfile, "", 60000);
    for (int waited = 0; port && !*port && waited < 60000; waited += 50) {
        free(port);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        port = support_read_file(portfile);
    }
    if (!port || !*port)
        fail_msg("the webhook receiver did not start (node tests/clients/webhook_receiver.mjs)");
    char cfg[1200];
    snprintf(cfg, sizeof cfg,
             "{\"sinks\": [\"webhook\"], \"routes\": {\"webhook\": {\"kinds\": "
             "[\"nen7513.no_treatment_relation\"]}}, \"plugins\": {\"webhook\": {\"url\": "
             "\"http://127.0.0.1:%s/obligo\", \"secret\": \"" SECRET "\", \"allow_http\": true, "
             "\"source\": \"urn:test:obligo\"}}}",
             port);
    free(port);
    char *cfg_path = support_write(dir, "obligo.json", cfg);
    char *extra[] = {"--config", cfg_path, NULL};
    int http = client_free_port();
    pid_t server = client_start_server_args(db, RULES, http, log, extra);
    assert_true(server > 0);
    /* a read without treatment relation with a password only: two alerts */
    static const char ev[] =
        "{\"specversion\":\"1.0\",\"id\":\"w1\",\"source\":\"urn:test\","
        "\"type\":\"nl.nen7513.access\",\"time\":\"2026-12-01T10:00:00+01:00\","
        "\"data\":{\"user\":{\"id\":\"U1\",\"role\":\"nurse\"},\"client_id\":\"C9\","
        "\"action\":\"read\",\"system\":\"ecd\",\"treatment_relation\":false,"
        "\"authentication\":\"password\"}}";
    assert_int_equal(client_request(http, "POST", "/v1/events", "application/cloudevents+json", ev,
                                    strlen(ev), NULL),
                     202);
    char *got = wait_for(out, "\n", 60000);
    if (!got)
        fail_msg("no delivery reached the receiver; server log %s", log);
    cJSON *line = cJSON_Parse(got);
    if (!line || !cJSON_IsTrue(cJSON_GetObjectItem(line, "verified")))
        fail_msg("delivery not verified by the Standard Webhooks library: %s", got);
    assert_string_equal(support_str(line, "type"), "nl.obligo.alert.nen7513.no_treatment_relation");
    assert_string_equal(support_str(line, "kind"), "nen7513.no_treatment_relation");
    assert_string_equal(support_str(line, "source"), "urn:test:obligo");
    assert_string_equal(support_str(line, "subject"), "C9");
    assert_string_equal(support_str(line, "content_type"), "application/cloudevents+json");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(line, "replay_refused")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(line, "tamper_refused")));
    cJSON_Delete(line);
    assert_int_equal(client_stop_server(server, SIGTERM) >> 8, 0);
    /* the other alert was raised and kept, only not sent to the webhook */
    cJSON *alerts = support_query(db, "alerts", NULL);
    int n = 0;
    assert_non_null(support_find(alerts, "nen7513.weak_authentication", "C9", &n));
    assert_int_equal(n, 1);
    cJSON_Delete(alerts);
    free(got);
    got = support_read_file(out);
    assert_int_equal(client_count(got, "\n"), 1);
    assert_null(strstr(got, "weak_authentication"));
    free(got);
    kill(receiver, SIGTERM);
    waitpid(receiver, NULL, 0);
    support_assert_clean_log(log);
    support_assert_replays(db);
    free(cfg_path);
    support_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routed_alert_arrives_verified_as_a_cloudevent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
