/*
 * test_reload.c — hot reload in `obligo serve`: an edit under rules/ is
 * picked up by itself; a new rule set whose tests fail or that does not
 * compile is refused, the running rules go on, and an alert names the file
 * and line; a good edit goes live; events are committed while the gate
 * compiles and tests a new set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "support.h"

static void spit(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* Polls GET /v1/alerts?kind=KIND until n alerts are there (up to ~20 s). */
static char *wait_alerts(int port, const char *kind, int n)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/alerts?kind=%s", kind);
    for (int i = 0; i < 200; i++) {
        char *resp = NULL;
        if (client_request(port, "GET", path, NULL, NULL, 0, &resp) == 200) {
            cJSON *arr = cJSON_Parse(resp);
            int got = cJSON_GetArraySize(arr);
            cJSON_Delete(arr);
            if (got >= n)
                return resp;
        }
        free(resp);
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static const char BACKUP[] =
    "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"urn:test\","
    "\"type\":\"nl.ict.backup.completed\",\"time\":\"2026-06-09T23:30:00+02:00\","
    "\"data\":{\"system\":\"%s\",\"completed_at\":\"2026-06-09T23:30:00+02:00\"}}";

static const char *due_of(int port, const char *system, char *buf, size_t n)
{
    char path[128], *resp = NULL;
    snprintf(path, sizeof path, "/v1/obligations?kind=ict.daily_backup&subject=%s", system);
    assert_int_equal(client_request(port, "GET", path, NULL, NULL, 0, &resp), 200);
    cJSON *arr = cJSON_Parse(resp);
    free(resp);
    snprintf(buf, n, "%s", support_str(cJSON_GetArrayItem(arr, 0), "due_at"));
    cJSON_Delete(arr);
    return buf;
}

static void edits_are_gated_by_check_and_tests(void **state)
{
    char *dir = support_tmpdir();
    char rules[512], db[512], log[512], practice[600], ev[1024], due[64];
    snprintf(rules, sizeof rules, "%s/rules", dir);
    snprintf(db, sizeof db, "%s/obligo.db", dir);
    snprintf(log, sizeof log, "%s/serve.log", dir);
    snprintf(practice, sizeof practice, "%s/ict/practice.lua", rules);
    char *cp[] = {"/bin/cp", "-r", (char *)OBLIGO_SOURCE_DIR "/rules", rules, NULL};
    assert_int_equal(support_run(cp, NULL, NULL), 0);
    int port = client_free_port();
    pid_t pid = client_start_server(db, rules, port, log);
    assert_true(pid > 0);
    char *original = support_file(practice);

    /* a grace of 7 h instead of 6: the pack's own backup test now fails,
     * so the edit is refused and said to be */
    char *p = strstr(original, "\"ict.daily_backup.grace_hours\", 6");
    assert_non_null(p);
    char *edited = strdup(original);
    edited[p - original + strlen("\"ict.daily_backup.grace_hours\", ")] = '7';
    spit(practice, edited);
    char *alerts = wait_alerts(port, "obligo.rules_rejected", 1);
    assert_non_null(alerts);
    assert_non_null(strstr(alerts, "practice_test.lua:"));
    free(alerts);
    /* the old rules run: 24 h + 6 h after Tue 23:30 CEST */
    snprintf(ev, sizeof ev, BACKUP, "b1", "ecd");
    assert_int_equal(client_request(port, "POST", "/v1/events", "application/cloudevents+json", ev,
                                    strlen(ev), NULL),
                     202);
    assert_string_equal(due_of(port, "ecd", due, sizeof due), "2026-06-11T03:30:00Z");

    /* a syntax error, by hand: 422 naming the file and line */
    char *broken = malloc(strlen(original) + 64);
    sprintf(broken, "%s\nrule \"x\" {\n", original);
    spit(practice, broken);
    char *resp = NULL;
    assert_int_equal(
        client_request(port, "POST", "/v1/rules/reload", "application/json", "", 0, &resp), 422);
    assert_non_null(strstr(resp, "practice.lua:"));
    free(resp);

    /* the original again: it goes live (by hand here, so the test does not
     * race the watcher) */
    spit(practice, original);
    assert_int_equal(
        client_request(port, "POST", "/v1/rules/reload", "application/json", "", 0, &resp), 200);
    assert_non_null(strstr(resp, "rules reloaded"));
    /* and says so to the officer, in Dutch, with the old and new revision */
    alerts = wait_alerts(port, "obligo.rules_reloaded", 1);
    assert_non_null(alerts);
    assert_non_null(strstr(alerts, "De gewijzigde regels zijn in gebruik genomen: revisie "));
    assert_non_null(strstr(alerts, "\"severity\":\"info\""));
    free(alerts);
    free(resp);

    assert_int_equal(WEXITSTATUS(client_stop_server(pid, SIGTERM)), 0);
    support_assert_clean_log(log);
    free(original);
    free(edited);
    free(broken);
    support_assert_replays(db);
    support_rmtree(dir);
    free(dir);
}

/* A rule file that tries every attack of the sealed-rules issue, served
 * beside the whole pack: each attack fails alone with file:line, the breach
 * still gets its AP duty and its register entry, and the server answers. */
static const char HOSTILE[] =
    "local n = 0\n"
    "local shared = { ok = true }\n"
    "local function attack(name, f)\n"
    "  rule (\"zz.\" .. name) { title = \"x\", source = \"y\", on = \"nl.avg.breach.reported\",\n"
    "    run = f }\n"
    "end\n"
    "attack(\"declare\", function() rule \"zz.late\" { title = \"x\", source = \"y\",\n"
    "  on = \"nl.avg.breach.reported\", run = function() end } end)\n"
    "attack(\"act\", function(e, act) act.open = function() end end)\n"
    "attack(\"event\", function(e) e.data.personal_data = \"no\" end)\n"
    "attack(\"global\", function() counter = (counter or 0) + 1 end)\n"
    "attack(\"local\", function(e, act) n = n + 1 act.set(\"zz\", \"n\", n) end)\n"
    "attack(\"table\", function() shared.ok = false end)\n"
    "attack(\"shared\", function(e, act)\n"
    "  local t = {} for i = 1, 26 do t = { t, t } end act.set(\"zz\", \"t\", t) end)\n"
    "attack(\"string\", function() local s = ('x'):rep(1 << 20) return s .. s end)\n"
    "attack(\"pack\", function() return string.pack('c15000000', '') end)\n"
    "attack(\"nul\", function(e, act)\n"
    "  act.alert(\"zz\", \"a\\0b\", { severity = \"info\", message = \"m\" }) end)\n"
    "attack(\"loop\", function() while true do end end)\n";

static void a_hostile_rule_file_fails_alone(void **state)
{
    (void)state;
    char *dir = support_tmpdir();
    char rules[512], db[512], log[512], ev[1024];
    snprintf(rules, sizeof rules, "%s/rules", dir);
    snprintf(db, sizeof db, "%s/obligo.db", dir);
    snprintf(log, sizeof log, "%s/serve.log", dir);
    char *cp[] = {"/bin/cp", "-r", (char *)OBLIGO_SOURCE_DIR "/rules", rules, NULL};
    assert_int_equal(support_run(cp, NULL, NULL), 0);
    char hostile[600];
    snprintf(hostile, sizeof hostile, "%s/zz_hostile.lua", rules);
    spit(hostile, HOSTILE);
    int port = client_free_port();
    pid_t pid = client_start_server(db, rules, port, log);
    assert_true(pid > 0);
    /* The breach is dated an hour before the server's clock
     * (CLIENT_CLOCK_START), so its 72-hour duty is open when read. */
    const char *when = "2026-12-01T11:00:00+01:00";
    for (int round = 0; round < 2; round++) {
        snprintf(ev, sizeof ev,
                 "{\"specversion\":\"1.0\",\"id\":\"h%d\",\"source\":\"urn:test\","
                 "\"type\":\"nl.avg.breach.reported\",\"time\":\"%s\","
                 "\"data\":{\"breach_id\":\"HB-%d\",\"aware_at\":\"%s\","
                 "\"description\":\"laptop kwijt\",\"personal_data\":\"yes\"}}",
                 round, when, round, when);
        assert_int_equal(client_request(port, "POST", "/v1/events", "application/cloudevents+json",
                                        ev, strlen(ev), NULL),
                         202);
        char path[128], *resp = NULL;
        snprintf(path, sizeof path, "/v1/obligations?kind=avg.notify_ap&subject=HB-%d", round);
        assert_int_equal(client_request(port, "GET", path, NULL, NULL, 0, &resp), 200);
        assert_non_null(strstr(resp, "\"status\":\"open\""));
        free(resp);
        assert_int_equal(client_request(port, "GET", "/healthz", NULL, NULL, 0, NULL), 200);
    }
    /* eleven attacks, two events: every attack failed both times, alone */
    char *alerts = wait_alerts(port, "obligo.rule_error", 22);
    assert_non_null(alerts);
    static const char *const expected[] = {
        "can only be declared at the top of a rule file",
        "act is read-only (cannot set open)",
        "the event is read-only (cannot set personal_data)",
        "cannot assign to global 'counter'",
        "assigned the file-level variable 'n'",
        "is read-only (cannot set ok)",
        "value too large to record",
        "string too long",
        "the subject contains a NUL byte",
        "instruction budget exceeded",
        "zz_hostile.lua:",
    };
    for (size_t i = 0; i < sizeof expected / sizeof *expected; i++)
        if (!strstr(alerts, expected[i]))
            fail_msg("no rule error says \"%s\"", expected[i]);
    cJSON *arr = cJSON_Parse(alerts);
    assert_int_equal(cJSON_GetArraySize(arr), 22);
    cJSON_Delete(arr);
    free(alerts);
    assert_int_equal(WEXITSTATUS(client_stop_server(pid, SIGTERM)), 0);
    support_assert_clean_log(log);
    support_assert_replays(db);
    support_rmtree(dir);
    free(dir);
}

/* A rule pack whose one test keeps the gate busy (forty events, each
 * judged by a rule that counts to 1.5 million): long enough that an event
 * posted after the reload request is committed while the gate still works. */
static const char SLOW_RULES[] =
    "obligation \"s.duty\" { title = \"x\", source = \"y\", due = hours(1) }\n"
    "rule \"s.slow\" { title = \"x\", source = \"y\", on = \"s.ev\",\n"
    "  run = function(e, act)\n"
    "    local x = 0\n"
    "    for i = 1, 1500000 do x = x + i end\n"
    "    act.open(\"s.duty\", e.data.id, { from = e.time })\n"
    "  end }\n";

static void ingest_goes_on_while_the_gate_runs(void **state)
{
    (void)state;
    char *dir = support_tmpdir();
    char rules[512], db[512], log[512], path[600];
    snprintf(rules, sizeof rules, "%s/rules", dir);
    snprintf(db, sizeof db, "%s/obligo.db", dir);
    snprintf(log, sizeof log, "%s/serve.log", dir);
    assert_int_equal(mkdir(rules, 0700), 0);
    snprintf(path, sizeof path, "%s/slow.lua", rules);
    spit(path, SLOW_RULES);
    size_t cap = 1 << 16, n = 0;
    char *tests = malloc(cap);
    n += (size_t)snprintf(tests + n, cap - n, "test \"slow\" {\n  events = {\n");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(tests + n, cap - n,
                              "    { type = \"s.ev\", time = \"2026-01-01T10:00:00Z\", "
                              "data = { id = \"S-%d\" } },\n",
                              i);
    snprintf(tests + n, cap - n,
             "  },\n  obligations = { { kind = \"s.duty\", subject = \"S-39\" } },\n}\n");
    snprintf(path, sizeof path, "%s/slow_test.lua", rules);
    spit(path, tests);
    free(tests);
    int port = client_free_port();
    pid_t pid = client_start_server(db, rules, port, log);
    assert_true(pid > 0);

    /* ask for a reload, and do not wait for its answer */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    static const char reload[] = "POST /v1/rules/reload HTTP/1.1\r\nHost: t\r\n"
                                 "Content-Length: 0\r\n\r\n";
    assert_int_equal(write(fd, reload, sizeof reload - 1), (ssize_t)(sizeof reload - 1));

    /* events are committed meanwhile: before the reload has answered */
    static const char ev[] =
        "{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"urn:test\",\"type\":\"s.ev\","
        "\"time\":\"2026-01-01T10:00:00Z\",\"data\":{\"id\":\"E-1\"}}";
    assert_int_equal(client_request(port, "POST", "/v1/events", "application/cloudevents+json", ev,
                                    strlen(ev), NULL),
                     202);
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    if (poll(&pf, 1, 0) != 0)
        fail_msg("the reload answered before an event posted after it was committed: ingest "
                 "waited for the gate");

    /* the reload then goes live (up to a minute for a slow machine) */
    char answer[4096] = "";
    size_t got = 0;
    while (got < sizeof answer - 1 && !strstr(answer, "}")) {
        pf.revents = 0;
        assert_int_equal(poll(&pf, 1, 60000), 1);
        ssize_t r = read(fd, answer + got, sizeof answer - 1 - got);
        assert_true(r > 0);
        got += (size_t)r;
        answer[got] = '\0';
    }
    close(fd);
    if (!strstr(answer, "HTTP/1.1 200") || !strstr(answer, "rules reloaded"))
        fail_msg("reload: %s", answer);
    assert_int_equal(WEXITSTATUS(client_stop_server(pid, SIGTERM)), 0);
    support_assert_clean_log(log);
    support_assert_replays(db);
    support_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(edits_are_gated_by_check_and_tests),
        cmocka_unit_test(a_hostile_rule_file_fails_alone),
        cmocka_unit_test(ingest_goes_on_while_the_gate_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
