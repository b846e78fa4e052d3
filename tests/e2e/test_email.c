/*
 * test_email.c — alerts reach people by e-mail: `obligo serve` with the
 * email sink (plugins/email) against a real SMTP server on loopback
 * (tests/support/smtp_server.py, Debian's python3-aiosmtpd) that requires
 * STARTTLS with a certificate made by openssl for this run, and AUTH.
 *
 * Each received message is read by Python's email package
 * (tests/support/mime_check.py), the parser a mail client uses: its MIME
 * structure, charsets, the decoded Dutch subject, the Message-ID from the
 * alert id, a line starting with '.' intact (libcurl's dot-stuffing), no
 * bare LF, no line over 78. Routing sends each kind to its group only; a
 * server that is down and then answers 451 gets the alert once it accepts,
 * once; a 550 is recorded in the outbox; a kill -9 of obligo in the middle
 * of a delivery delivers it again after the restart, with the same
 * Message-ID; and a sink naming a group that is not configured, an empty
 * group or a bad address stops the start with a message naming it.
 *
 * Nothing sleeps for a fixed time: each wait polls for what it waits for
 * (a port file, a message file, a log line) with a generous limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"
#include "support.h"

#define PYTHON "/usr/bin/python3" /* Debian's, where python3-aiosmtpd is */
#define SUPPORT OBLIGO_SOURCE_DIR "/tests/support"
#define WAIT_MS 60000

static const char rule_file[] =
    "rule \"test.email\" {\n"
    "  title  = \"Signalen voor de e-mailtest\",\n"
    "  source = \"tests/e2e/test_email.c\",\n"
    "  on     = \"nl.nen7513.access\",\n"
    "  run    = function(e, act)\n"
    "    local id = e.data.client_id\n"
    "    act.alert(\"test.datalek\", id, { severity = \"critical\", message = \"Datalek \" .. id "
    "..\n"
    "      \" is nog niet gemeld bij de AP. De cli\xc3\xabnt is ge\xc3\xafnformeerd.\\n\" ..\n"
    "      \".Deze regel begint met een punt.\" })\n"
    "    act.alert(\"test.backup\", id, { severity = \"warning\",\n"
    "      message = \"Back-up van \" .. id .. \" mislukt.\" })\n"
    "  end,\n"
    "}\n";

#define SUBJECT_FG "[Obligo] Kritiek: Datalek DL-2026-7 is nog niet gemeld bij de AP"
#define SUBJECT_ICT "[Obligo] Waarschuwing: Back-up van DL-2026-7 mislukt"

typedef struct fixture {
    char *dir;
    char rules[600], db[600], log[600], mail[600], certs[600], ready[600], pwfile[600];
    const char *scheme; /* of the url: smtp (STARTTLS) or smtps */
    int smtp_port, http_port;
    pid_t smtp, server;
    char *cfg;
} fixture;

static void pause_briefly(void)
{
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

/* Waits up to WAIT_MS for path to hold needle; 1 when it does. */
static int wait_for_text(const char *path, const char *needle)
{
    for (int waited = 0; waited < WAIT_MS; waited += 50) {
        char *text = support_read_file(path);
        int found = text && strstr(text, needle);
        free(text);
        if (found)
            return 1;
        pause_briefly();
    }
    return 0;
}

/* The number of messages the server has received. */
static int mails(const fixture *f)
{
    DIR *d = opendir(f->mail);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        n += len > 4 && strcmp(e->d_name + len - 4, ".eml") == 0;
    }
    if (d)
        closedir(d);
    return n;
}

static void wait_for_mails(const fixture *f, int n)
{
    for (int waited = 0; mails(f) < n && waited < WAIT_MS; waited += 50)
        pause_briefly();
    if (mails(f) < n)
        fail_msg("%d of %d messages reached the SMTP server; server log %s", mails(f), n, f->log);
}

/* Starts the SMTP server in mode (see smtp_server.py), with STARTTLS, or
 * implicit TLS when smtps. */
static void smtp_start_tls(fixture *f, const char *mode, int smtps)
{
    unlink(f->ready);
    char port[16], modearg[64];
    snprintf(port, sizeof port, "%d", f->smtp_port);
    snprintf(modearg, sizeof modearg, "%s", mode);
    f->smtp = fork();
    assert_true(f->smtp >= 0);
    if (f->smtp == 0) {
        execl(PYTHON, PYTHON, SUPPORT "/smtp_server.py", "--port", port, "--dir", f->mail,
              "--ready", f->ready, "--tls", f->certs, "--auth", "obligo:geheim-test", "--mode",
              modearg, smtps ? "--smtps" : (char *)NULL, (char *)NULL);
        _exit(127);
    }
    if (!wait_for_text(f->ready, port))
        fail_msg("the SMTP server did not start (" PYTHON " tests/support/smtp_server.py; is "
                 "python3-aiosmtpd installed? scripts/setup installs it)");
}

static void smtp_start(fixture *f, const char *mode)
{
    smtp_start_tls(f, mode, 0);
}

static void smtp_stop(fixture *f)
{
    if (f->smtp > 0) {
        kill(f->smtp, SIGTERM);
        waitpid(f->smtp, NULL, 0);
        f->smtp = 0;
    }
}

/* The configuration: "sinks" and their "routes" as given, the e-mail
 * plugin with STARTTLS, AUTH and two groups. */
static void configure(fixture *f, const char *sinks_and_routes, const char *recipients)
{
    char cfg[2400];
    snprintf(cfg, sizeof cfg,
             "{%s, \"plugins\": {\"email\": {\"url\": \"%s://127.0.0.1:%d\", "
             "\"from\": \"obligo@praktijk.test\", \"username\": \"obligo\", "
             "\"password_file\": \"%s\", \"ca_file\": \"%s/cert.pem\", \"timeout_ms\": 20000, "
             "\"public_url\": \"https://obligo.praktijk.test\", \"recipients\": %s}}}",
             sinks_and_routes, f->scheme, f->smtp_port, f->pwfile, f->certs,
             recipients ? recipients
                        : "{\"fg\": [\"fg@praktijk.test\", \"plaatsvervanger@praktijk.test\"], "
                          "\"ict\": [\"ict@praktijk.test\"]}");
    free(f->cfg);
    f->cfg = support_write(f->dir, "obligo.json", cfg);
}

#define TWO_GROUPS                                                                                 \
    "\"sinks\": [\"email:fg\", \"email:ict\"], \"routes\": {\"email:fg\": {\"kinds\": "            \
    "[\"test.datalek\"]}, \"email:ict\": {\"kinds\": [\"test.backup\"]}}"

/* only the privacy officer's group, only the breach alert */
#define FG_ONLY                                                                                    \
    "\"sinks\": [\"email:fg\"], \"routes\": {\"email:fg\": {\"kinds\": [\"test.datalek\"]}}"

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    snprintf(f->rules, sizeof f->rules, "%s/rules", f->dir);
    snprintf(f->db, sizeof f->db, "%s/obligo.db", f->dir);
    snprintf(f->log, sizeof f->log, "%s/serve.log", f->dir);
    snprintf(f->mail, sizeof f->mail, "%s/mail", f->dir);
    snprintf(f->certs, sizeof f->certs, "%s", f->dir);
    snprintf(f->ready, sizeof f->ready, "%s/smtp.port", f->dir);
    free(support_write(f->dir, "rules/test.lua", rule_file));
    char *pw = support_write(f->dir, "smtp-password", "geheim-test\n");
    snprintf(f->pwfile, sizeof f->pwfile, "%s", pw);
    free(pw);
    f->scheme = "smtp";
    f->smtp_port = client_free_port();
    f->http_port = client_free_port();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->server > 0)
        client_stop_server(f->server, SIGKILL);
    smtp_stop(f);
    support_rmtree(f->dir);
    free(f->dir);
    free(f->cfg);
    free(f);
    return 0;
}

static void serve(fixture *f)
{
    char *extra[] = {"--config", f->cfg, NULL};
    f->server = client_start_server_args(f->db, f->rules, f->http_port, f->log, extra);
    assert_true(f->server > 0);
}

static void stop(fixture *f)
{
    assert_int_equal(client_stop_server(f->server, SIGTERM) >> 8, 0);
    f->server = 0;
}

/* One access event: the rule raises test.datalek and test.backup. */
static void post_event(fixture *f, const char *id)
{
    char ev[800];
    snprintf(ev, sizeof ev,
             "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"urn:test\","
             "\"type\":\"nl.nen7513.access\",\"time\":\"2026-12-01T10:00:00+01:00\","
             "\"data\":{\"user\":{\"id\":\"U1\",\"role\":\"nurse\"},\"client_id\":\"DL-2026-7\","
             "\"action\":\"read\",\"system\":\"ecd\",\"treatment_relation\":true,"
             "\"authentication\":\"password\"}}",
             id);
    assert_int_equal(client_request(f->http_port, "POST", "/v1/events",
                                    "application/cloudevents+json", ev, strlen(ev), NULL),
                     202);
}

/* What the server recorded of message n (1, 2, ...): its envelope and what
 * Python's email package reads in it. Caller frees both. */
static void read_mail(const fixture *f, int n, cJSON **envelope, cJSON **facts)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%04d.json", f->mail, n);
    char *text = support_file(path);
    *envelope = cJSON_Parse(text);
    free(text);
    assert_non_null(*envelope);
    snprintf(path, sizeof path, "%s/%04d.eml", f->mail, n);
    char *argv[] = {PYTHON, SUPPORT "/mime_check.py", path, NULL};
    char *out = support_run_client(argv, "\"parts\"");
    *facts = cJSON_Parse(out);
    free(out);
    assert_non_null(*facts);
}

/* The id of the only alert of kind in db. */
static char *alert_id(const fixture *f, const char *kind)
{
    cJSON *alerts = support_query(f->db, "alerts", NULL);
    int n = 0;
    const cJSON *a = support_find(alerts, kind, "DL-2026-7", &n);
    assert_int_equal(n, 1);
    char *id = strdup(support_str(a, "id"));
    cJSON_Delete(alerts);
    return id;
}

static const char *rcpt(const cJSON *envelope, int i)
{
    return cJSON_GetStringValue(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(envelope, "rcpt_tos"), i));
}

static long long sql_int(const fixture *f, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    long long v = support_sql_int(db, sql);
    sqlite3_close(db);
    return v;
}

/* Nothing left in the outbox, a clean server log, and a journal that
 * replays. */
static void assert_all_delivered(const fixture *f)
{
    assert_int_equal(sql_int(f, "SELECT count(*) FROM outbox WHERE delivered_at IS NULL"), 0);
    support_assert_clean_log(f->log);
    support_assert_replays(f->db);
}

/* The facts of the privacy officer's message, as a mail client reads it. */
static void assert_breach_mail(const cJSON *facts, const char *id)
{
    const cJSON *defects = cJSON_GetObjectItemCaseSensitive(facts, "defects");
    if (cJSON_GetArraySize(defects) != 0)
        fail_msg("the email package found defects: %s", cJSON_PrintUnformatted(defects));
    assert_string_equal(support_str(facts, "content_type"), "multipart/alternative");
    assert_string_equal(support_str(facts, "subject"), SUBJECT_FG);
    char msgid[80];
    snprintf(msgid, sizeof msgid, "<%s@obligo>", id);
    assert_string_equal(support_str(facts, "message_id"), msgid);
    assert_string_equal(support_str(facts, "from"), "Obligo <obligo@praktijk.test>");
    assert_string_equal(support_str(facts, "to"),
                        "fg@praktijk.test, plaatsvervanger@praktijk.test");
    assert_string_equal(support_str(facts, "date"), "Tue, 01 Dec 2026 10:00:00 +0100");
    assert_string_equal(support_str(facts, "mime_version"), "1.0");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(facts, "bare_lf")->valueint, 0);
    assert_true(cJSON_GetObjectItemCaseSensitive(facts, "max_line")->valueint <= 78);
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(facts, "parts");
    assert_int_equal(cJSON_GetArraySize(parts), 2);
    const cJSON *text = cJSON_GetArrayItem(parts, 0), *html = cJSON_GetArrayItem(parts, 1);
    assert_string_equal(support_str(text, "type"), "text/plain");
    assert_string_equal(support_str(html, "type"), "text/html");
    for (int i = 0; i < 2; i++) {
        const cJSON *p = cJSON_GetArrayItem(parts, i);
        assert_string_equal(support_str(p, "charset"), "utf-8");
        assert_string_equal(support_str(p, "cte"), "quoted-printable");
        assert_non_null(strstr(support_str(p, "text"), "De cli\xc3\xabnt is ge\xc3\xafnformeerd."));
        assert_non_null(strstr(support_str(p, "text"), "Kritiek"));
        assert_non_null(strstr(support_str(p, "text"), "01-12-2026 10:00"));
        assert_non_null(strstr(support_str(p, "text"), "https://obligo.praktijk.test/console/"
                                                       "#signalen"));
    }
    /* SMTP's dot-stuffing undone by the server: the line keeps its dot */
    assert_non_null(strstr(support_str(text, "text"), "\n.Deze regel begint met een punt.\n"));
}

static void delivered_over_starttls_with_auth_each_kind_to_its_group(void **state)
{
    fixture *f = *state;
    smtp_start(f, "accept");
    configure(f, TWO_GROUPS, NULL);
    serve(f);
    post_event(f, "e1");
    wait_for_mails(f, 2);
    stop(f);
    assert_int_equal(mails(f), 2); /* one per alert: each to its own group only */
    char *breach = alert_id(f, "test.datalek");
    for (int n = 1; n <= 2; n++) {
        cJSON *env, *facts;
        read_mail(f, n, &env, &facts);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(env, "tls")));
        assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(env, "auth")));
        assert_string_equal(support_str(env, "mail_from"), "obligo@praktijk.test");
        if (strcmp(support_str(facts, "subject"), SUBJECT_FG) == 0) {
            assert_string_equal(rcpt(env, 0), "fg@praktijk.test");
            assert_string_equal(rcpt(env, 1), "plaatsvervanger@praktijk.test");
            assert_null(rcpt(env, 2));
            assert_breach_mail(facts, breach);
        } else {
            assert_string_equal(support_str(facts, "subject"), SUBJECT_ICT);
            assert_string_equal(rcpt(env, 0), "ict@praktijk.test");
            assert_null(rcpt(env, 1));
        }
        cJSON_Delete(env);
        cJSON_Delete(facts);
    }
    free(breach);
    assert_all_delivered(f);
}

static void a_server_down_then_busy_gets_the_alert_once_it_accepts(void **state)
{
    fixture *f = *state;
    smtp_start(f, "accept"); /* makes the certificate, then goes away */
    smtp_stop(f);
    configure(f, FG_ONLY, NULL);
    serve(f);
    post_event(f, "e1");
    if (!wait_for_text(f->log, "will retry"))
        fail_msg("no failed attempt while the SMTP server was down; log %s", f->log);
    smtp_start(f, "tempfail:1"); /* up again, but busy once: 451 */
    if (!wait_for_text(f->log, "451"))
        fail_msg("the 451 was not logged; log %s", f->log);
    wait_for_mails(f, 1);
    for (int waited = 0; waited < WAIT_MS; waited += 50) {
        if (sql_int(f, "SELECT count(*) FROM outbox WHERE delivered_at IS NULL") == 0)
            break;
        pause_briefly();
    }
    stop(f);
    assert_int_equal(mails(f), 1); /* delivered once */
    assert_int_equal(sql_int(f, "SELECT count(*) FROM outbox WHERE delivered_at IS NULL"), 0);
    assert_true(sql_int(f, "SELECT attempts FROM outbox") >= 3);
    support_assert_clean_log(f->log);
}

static void a_permanent_refusal_is_recorded(void **state)
{
    fixture *f = *state;
    smtp_start(f, "reject");
    configure(f, FG_ONLY, NULL);
    serve(f);
    post_event(f, "e1");
    if (!wait_for_text(f->log, "550 5.1.1 Mailbox unavailable"))
        fail_msg("the server's 550 was not logged; log %s", f->log);
    stop(f);
    char *log = support_file(f->log);
    assert_non_null(strstr(log, "the mail server refused it"));
    free(log);
    assert_int_equal(mails(f), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND "
                                "attempts >= 1 AND last_error = 'refused'"),
                     1);
    /* not asked again within the hour (the host's longest backoff) */
    assert_int_equal(sql_int(f, "SELECT count(*) FROM outbox WHERE next_attempt_at >= "
                                "strftime('%s','now') + 3000"),
                     1);
    support_assert_clean_log(f->log);
}

static void killed_during_delivery_it_is_delivered_after_the_restart(void **state)
{
    fixture *f = *state;
    smtp_start(f, "hold"); /* takes the first message, never says 250 */
    configure(f, FG_ONLY, NULL);
    serve(f);
    post_event(f, "e1");
    wait_for_mails(f, 1);
    kill(f->server, SIGKILL); /* in the middle of the delivery */
    waitpid(f->server, NULL, 0);
    f->server = 0;
    serve(f);
    wait_for_mails(f, 2);
    stop(f);
    assert_int_equal(mails(f), 2); /* at least once: the unconfirmed one, again */
    char *id = alert_id(f, "test.datalek");
    for (int n = 1; n <= 2; n++) {
        cJSON *env, *facts;
        read_mail(f, n, &env, &facts);
        assert_breach_mail(facts, id); /* the same Message-ID on the resend */
        cJSON_Delete(env);
        cJSON_Delete(facts);
    }
    free(id);
    assert_all_delivered(f);
}

static void delivered_over_implicit_tls(void **state)
{
    fixture *f = *state;
    smtp_start_tls(f, "accept", 1);
    f->scheme = "smtps";
    configure(f, FG_ONLY, NULL);
    serve(f);
    post_event(f, "e1");
    wait_for_mails(f, 1);
    stop(f);
    cJSON *env, *facts;
    read_mail(f, 1, &env, &facts);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(env, "tls")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(env, "auth")));
    char *id = alert_id(f, "test.datalek");
    assert_breach_mail(facts, id);
    free(id);
    cJSON_Delete(env);
    cJSON_Delete(facts);
    support_assert_clean_log(f->log);
}

static void a_wrong_password_is_a_permanent_refusal(void **state)
{
    fixture *f = *state;
    smtp_start(f, "accept");
    free(support_write(f->dir, "smtp-password", "niet-het-wachtwoord\n"));
    configure(f, FG_ONLY, NULL);
    serve(f);
    post_event(f, "e1");
    if (!wait_for_text(f->log, "the mail server refused it (Login denied): 535"))
        fail_msg("the server's 535 was not logged as a refusal; log %s", f->log);
    stop(f);
    assert_int_equal(mails(f), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND "
                                "last_error = 'refused'"),
                     1);
    support_assert_clean_log(f->log);
}

/* `obligo serve` with the configuration refuses to start, saying needle. */
static void assert_start_refused(fixture *f, const char *needle)
{
    char listen[32];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", f->http_port);
    char *argv[] = {OBLIGO_BIN, "serve", "--db",     f->db,  "--rules", f->rules,
                    "--listen", listen,  "--config", f->cfg, NULL};
    char *err = NULL;
    int code = support_run(argv, NULL, &err);
    assert_true(code > 0);
    if (!err || !strstr(err, needle))
        fail_msg("expected \"%s\" in: %s", needle, err ? err : "(nothing)");
    free(err);
}

static void a_bad_group_is_refused_at_start(void **state)
{
    fixture *f = *state;
    configure(f, "\"sinks\": [\"email:fg\", \"email:bestuur\"]", NULL);
    assert_start_refused(f, "plugins.email.recipients has no group \"bestuur\"");
    configure(f, "\"sinks\": [\"email:fg\"]", "{\"fg\": [\"fg@praktijk.test\"], \"ict\": []}");
    assert_start_refused(f, "plugins.email.recipients.ict: must be a list of 1 to 64 addresses");
    configure(f, "\"sinks\": [\"email:fg\"]",
              "{\"fg\": [\"fg@praktijk.test\", \"plaatsvervanger praktijk.test\"]}");
    assert_start_refused(
        f, "plugins.email.recipients.fg[1]: \"plaatsvervanger praktijk.test\" is not an e-mail "
           "address");
    f->scheme = "http";
    configure(f, "\"sinks\": [\"email:fg\"]", NULL);
    assert_start_refused(f, "plugins.email.url: required, smtp://HOST[:PORT] or smtps://");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(delivered_over_starttls_with_auth_each_kind_to_its_group,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_server_down_then_busy_gets_the_alert_once_it_accepts,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_permanent_refusal_is_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(delivered_over_implicit_tls, setup, teardown),
        cmocka_unit_test_setup_teardown(a_wrong_password_is_a_permanent_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(killed_during_delivery_it_is_delivered_after_the_restart,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_bad_group_is_refused_at_start, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
