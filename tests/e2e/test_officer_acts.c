/*
 * test_officer_acts.c — what an officer does from the console, against a
 * real `obligo serve` (README, "Console"): the session names who acts (the
 * token's note, or its id, in the source the console's events carry);
 * POST /console/api/v1/events with the session takes events of that source
 * only (403 naming the index of the first other one, nothing journaled),
 * even for the officer role; an alert acknowledged that way lands in the
 * register signalen, a version per acknowledgement; log reviews posted
 * that way close nen7513.review_logs; GET /v1/rules and /v1/rules/source,
 * with the last reload refused and its file:line; and POST
 * /console/api/v1/replay for an admin session but not an officer's.
 *
 * The server runs on a copy of the rule pack (a reload here breaks a file)
 * with engine time fixed by --clock-start, so nothing depends on today.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "http_client.h"
#include "support.h"

#define PACK OBLIGO_SOURCE_DIR "/rules"
#define NOTE "A. Jansen (FG)"
#define NOTE_SOURCE "urn:obligo:console:A.%20Jansen%20%28FG%29"

typedef struct fx {
    char *dir;
    char db[512], log[512], rules[512];
    int port;
    pid_t pid;
    char *officer, *officer_plain, *admin;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    snprintf(f->db, sizeof f->db, "%s/obligo.db", f->dir);
    snprintf(f->log, sizeof f->log, "%s/serve.log", f->dir);
    snprintf(f->rules, sizeof f->rules, "%s/rules", f->dir);
    char *cp[] = {"/bin/cp", "-r", PACK, f->rules, NULL};
    assert_int_equal(support_run(cp, NULL, NULL), 0);
    f->port = client_free_port();
    /* the database exists once a token is made in it */
    f->officer = support_make_token_note(f->db, "officer", NOTE);
    f->officer_plain = support_make_token(f->db, "officer");
    f->admin = support_make_token(f->db, "admin");
    char *extra[] = {"--clock-start", "2026-06-09T06:50:00+02:00", NULL};
    f->pid = client_start_server_args(f->db, f->rules, f->port, f->log, extra);
    assert_true(f->pid > 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    assert_int_equal(client_stop_server(f->pid, SIGTERM), 0);
    support_assert_clean_log(f->log);
    support_assert_replays(f->db);
    support_rmtree(f->dir);
    free(f->dir);
    free(f->officer);
    free(f->officer_plain);
    free(f->admin);
    free(f);
    return 0;
}

/* The whole answer (head and body) to a request; extra header lines may be
 * "". */
static char *call(const fx *f, const char *method, const char *path, const char *extra,
                  const char *type, const char *body)
{
    size_t blen = body ? strlen(body) : 0;
    size_t n = strlen(path) + strlen(extra) + blen + 512;
    char *req = malloc(n);
    int len = snprintf(req, n,
                       "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%s%sContent-Length: %zu\r\n"
                       "Connection: close\r\n\r\n%s",
                       method, path, extra, type ? "Content-Type: " : "", type ? type : "",
                       type ? "\r\n" : "", blen, body ? body : "");
    char *out = client_raw(f->port, req, (size_t)len, 0, 30000);
    free(req);
    assert_non_null(out);
    return out;
}

static int status_of(const char *answer)
{
    return strncmp(answer, "HTTP/1.1 ", 9) == 0 ? atoi(answer + 9) : -1;
}

/* The JSON body of an answer (the caller deletes it). */
static cJSON *json_of(const char *answer)
{
    const char *b = strstr(answer, "\r\n\r\n");
    assert_non_null(b);
    cJSON *j = cJSON_Parse(b + 4);
    if (!j)
        fail_msg("not JSON: %s", answer);
    return j;
}

typedef struct session {
    char cookie[128], csrf[80];
    cJSON *body;
} session;

/* Signs in with token: the session's cookie header line and CSRF token. */
static void sign_in(const fx *f, const char *token, session *s)
{
    char body[128];
    snprintf(body, sizeof body, "{\"token\":\"%s\"}", token);
    char *a = call(f, "POST", "/console/session", "", "application/json", body);
    assert_int_equal(status_of(a), 200);
    const char *c = strstr(a, "obligo_console=");
    assert_non_null(c);
    snprintf(s->cookie, sizeof s->cookie, "Cookie: %.*s\r\n", (int)strcspn(c, ";\r"), c);
    s->body = json_of(a);
    snprintf(s->csrf, sizeof s->csrf, "%s", support_str(s->body, "csrf"));
    free(a);
}

/* A POST through the console with the session's cookie and CSRF token. */
static char *console_post(const fx *f, const session *s, const char *path, const char *type,
                          const char *body)
{
    char extra[320];
    snprintf(extra, sizeof extra, "%sX-CSRF-Token: %s\r\n", s->cookie, s->csrf);
    return call(f, "POST", path, extra, type, body);
}

/* A GET with a bearer token. */
static char *get(const fx *f, const char *token, const char *path)
{
    char extra[160];
    snprintf(extra, sizeof extra, "Authorization: Bearer %s\r\n", token);
    return call(f, "GET", path, extra, NULL, NULL);
}

static void the_session_names_who_acts(void **state)
{
    fx *f = *state;
    session s;
    sign_in(f, f->officer, &s);
    assert_string_equal(support_str(s.body, "note"), NOTE);
    assert_string_equal(support_str(s.body, "source"), NOTE_SOURCE);
    cJSON_Delete(s.body);
    char *a = call(f, "GET", "/console/session", s.cookie, NULL, NULL);
    assert_int_equal(status_of(a), 200);
    cJSON *j = json_of(a);
    assert_string_equal(support_str(j, "source"), NOTE_SOURCE);
    cJSON_Delete(j);
    free(a);
    /* a token without a note: its id names it */
    sign_in(f, f->officer_plain, &s);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(s.body, "note")));
    const char *src = support_str(s.body, "source");
    assert_int_equal(strncmp(src, "urn:obligo:console:tok_", 23), 0);
    assert_int_equal(strlen(src), 23 + 8);
    cJSON_Delete(s.body);
}

static const char ack_fmt[] =
    "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"%s\",\"type\":"
    "\"nl.obligo.alert.acknowledged\",\"time\":\"%s\",\"data\":{\"alert_id\":\"alr_1\","
    "\"kind\":\"nen7513.no_treatment_relation\",\"subject\":\"C-42\",\"by\":\"" NOTE "\","
    "\"note\":\"%s\"}}";

static char *ack(const char *id, const char *source, const char *time, const char *note)
{
    char *out = malloc(1024);
    snprintf(out, 1024, ack_fmt, id, source, time, note);
    return out;
}

static void events_from_the_console_carry_its_source(void **state)
{
    fx *f = *state;
    session s;
    sign_in(f, f->officer, &s);
    cJSON_Delete(s.body);
    char *ok1 = ack("ack-1", NOTE_SOURCE, "2026-06-09T08:00:00+02:00", "navraag gedaan");
    /* without the CSRF token: refused */
    char *a =
        call(f, "POST", "/console/api/v1/events", s.cookie, "application/cloudevents+json", ok1);
    assert_int_equal(status_of(a), 403);
    assert_non_null(strstr(a, "CSRF"));
    free(a);
    /* a batch whose second event names another source: 403 at index 1,
     * and the first is not journaled either */
    char *bad = ack("ack-x", "urn:ecd", "2026-06-09T08:00:00+02:00", "x");
    char batch[4096];
    snprintf(batch, sizeof batch, "[%s,%s]", ok1, bad);
    a = console_post(f, &s, "/console/api/v1/events", "application/cloudevents-batch+json", batch);
    assert_int_equal(status_of(a), 403);
    cJSON *j = json_of(a);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(j, "index")->valuedouble, 1);
    assert_string_equal(support_str(j, "field"), "source");
    assert_non_null(strstr(support_str(j, "error"), NOTE_SOURCE));
    cJSON_Delete(j);
    free(a);
    char path[256];
    snprintf(path, sizeof path, "/v1/events?source=%s&id=ack-1",
             "urn:obligo:console:A.%2520Jansen%2520%2528FG%2529");
    a = get(f, f->officer, path);
    assert_int_equal(status_of(a), 404);
    free(a);
    /* the officer's bearer token still may not post events */
    char extra[160];
    snprintf(extra, sizeof extra, "Authorization: Bearer %s\r\n", f->officer);
    a = call(f, "POST", "/v1/events", extra, "application/cloudevents+json", ok1);
    assert_int_equal(status_of(a), 403);
    free(a);
    /* the session's own source: through the pipeline, journaled */
    a = console_post(f, &s, "/console/api/v1/events", "application/cloudevents+json", ok1);
    assert_int_equal(status_of(a), 202);
    assert_non_null(strstr(a, "\"accepted\":1"));
    assert_non_null(strstr(a, "Content-Security-Policy: ")); /* a console answer */
    free(a);
    a = get(f, f->officer, path);
    assert_int_equal(status_of(a), 200);
    assert_non_null(strstr(a, "\"type\":\"nl.obligo.alert.acknowledged\""));
    assert_non_null(strstr(a, "obligo.alert.acknowledged")); /* the rule's decision */
    free(a);
    /* a second acknowledgement of the same alert: a second version */
    char *ok2 = ack("ack-2", NOTE_SOURCE, "2026-06-09T08:30:00+02:00", "opgelost");
    a = console_post(f, &s, "/console/api/v1/events", "application/cloudevents+json", ok2);
    assert_int_equal(status_of(a), 202);
    free(a);
    a = get(f, f->officer, "/v1/registers/signalen");
    assert_int_equal(status_of(a), 200);
    j = json_of(a);
    const cJSON *entries = cJSON_IsArray(j) ? j : cJSON_GetObjectItemCaseSensitive(j, "entries");
    assert_int_equal(cJSON_GetArraySize(entries), 1);
    const cJSON *e = cJSON_GetArrayItem(entries, 0);
    assert_string_equal(support_str(e, "key"), "alr_1");
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(e, "version")->valuedouble, 2);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "data");
    assert_string_equal(support_str(d, "note"), "opgelost");
    assert_string_equal(support_str(d, "by"), NOTE);
    assert_string_equal(support_str(d, "kind"), "nen7513.no_treatment_relation");
    assert_string_equal(support_str(d, "acknowledged_at"), "2026-06-09T08:30:00+02:00");
    cJSON_Delete(j);
    free(a);
    free(ok1);
    free(ok2);
    free(bad);
}

static void a_log_review_from_the_console_closes_the_duty(void **state)
{
    fx *f = *state;
    session s;
    sign_in(f, f->officer, &s);
    cJSON_Delete(s.body);
    static const char review[] =
        "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"%s\",\"type\":"
        "\"nl.nen7513.review\",\"time\":\"%s\",\"data\":{\"period_start\":\"%s\","
        "\"period_end\":\"%s\",\"reviewer\":\"" NOTE "\"}}\n";
    char body[2048];
    int n = snprintf(body, sizeof body, review, "rev-1", NOTE_SOURCE, "2026-05-02T10:00:00+02:00",
                     "2026-04-01", "2026-04-30");
    snprintf(body + n, sizeof body - (size_t)n, review, "rev-2", NOTE_SOURCE,
             "2026-05-28T10:00:00+02:00", "2026-05-01", "2026-05-27");
    char *a = console_post(f, &s, "/console/api/v1/events", "application/x-ndjson", body);
    assert_int_equal(status_of(a), 202);
    assert_non_null(strstr(a, "\"accepted\":2"));
    free(a);
    a = get(f, f->officer, "/v1/obligations?kind=nen7513.review_logs&status=fulfilled");
    assert_int_equal(status_of(a), 200);
    assert_int_equal(client_count(a, "\"kind\":\"nen7513.review_logs\""), 1);
    assert_non_null(strstr(a, "\"closed_at\":\"2026-05-28T08:00:00Z\""));
    free(a);
    a = get(f, f->officer, "/v1/obligations?kind=nen7513.review_logs&status=open");
    assert_int_equal(client_count(a, "\"kind\":\"nen7513.review_logs\""), 1);
    free(a);
}

/* The entry of list named name. */
static const cJSON *named(const cJSON *list, const char *name)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, list) if (strcmp(support_str(e, "name"), name) == 0) return e;
    fail_msg("no %s", name);
    return NULL;
}

static void the_rules_in_force_their_tests_and_the_last_reload(void **state)
{
    fx *f = *state;
    /* an ingest token may not read them */
    char *ingest = support_make_token(f->db, "ingest");
    char *a = get(f, ingest, "/v1/rules");
    assert_int_equal(status_of(a), 403);
    free(a);
    free(ingest);
    /* a reload that passes: after it the coverage is known, whatever the
     * start-up run has done by now */
    char extra[160];
    snprintf(extra, sizeof extra, "Authorization: Bearer %s\r\n", f->admin);
    a = call(f, "POST", "/v1/rules/reload", extra, "application/json", "{}");
    assert_int_equal(status_of(a), 200);
    free(a);
    a = get(f, f->officer, "/v1/rules");
    assert_int_equal(status_of(a), 200);
    cJSON *j = json_of(a);
    free(a);
    const char *revision = support_str(j, "revision");
    assert_int_equal(strlen(revision), 16);
    assert_true(*support_str(j, "loaded_at"));
    const cJSON *last = cJSON_GetObjectItemCaseSensitive(j, "last_reload");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(last, "ok")));
    const cJSON *cov = cJSON_GetObjectItemCaseSensitive(j, "coverage");
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(j, "rules");
    const cJSON *duties = cJSON_GetObjectItemCaseSensitive(j, "duties");
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(cov, "rules")->valuedouble,
                     cJSON_GetArraySize(rules));
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(cov, "duties")->valuedouble,
                     cJSON_GetArraySize(duties));
    assert_true(cJSON_GetObjectItemCaseSensitive(cov, "rules_tested")->valuedouble > 0);
    const cJSON *r = named(rules, "obligo.alert.acknowledged");
    assert_string_equal(support_str(r, "file"), "obligo/acknowledgements.lua");
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "types"), 0)),
        "nl.obligo.alert.acknowledged");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "tested")));
    assert_string_equal(support_str(named(rules, "nen7513.vip_burst"), "severity"), "critical");
    const cJSON *d = named(duties, "avg.notify_ap");
    assert_string_equal(support_str(d, "source"), "AVG art. 33 lid 1");
    assert_string_equal(support_str(d, "source_url"),
                        "https://eur-lex.europa.eu/legal-content/NL/TXT/?uri=CELEX:32016R0679");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "tested")));
    /* what `obligo rules --json` says of the same files agrees */
    char *out = NULL;
    char *argv[] = {(char *)OBLIGO_BIN, "rules", "--rules", f->rules, "--json", NULL};
    assert_int_equal(support_run(argv, &out, NULL), 0);
    cJSON *cli = cJSON_Parse(out);
    free(out);
    assert_string_equal(support_str(cli, "revision"), revision);
    const cJSON *cr = named(cJSON_GetObjectItemCaseSensitive(cli, "rules"), "nen7513.vip_burst");
    const cJSON *sr = named(rules, "nen7513.vip_burst");
    static const char *const same[] = {"title", "source", "file", "severity"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        assert_string_equal(support_str(cr, same[i]), support_str(sr, same[i]));
    cJSON_Delete(cli);

    /* the source of a file in force, and nothing that is not one */
    a = get(f, f->officer, "/v1/rules/source?file=obligo/acknowledgements.lua");
    assert_int_equal(status_of(a), 200);
    cJSON *src = json_of(a);
    free(a);
    char path[700];
    snprintf(path, sizeof path, "%s/obligo/acknowledgements.lua", f->rules);
    char *text = support_file(path);
    assert_string_equal(support_str(src, "text"), text);
    assert_string_equal(support_str(src, "revision"), revision);
    free(text);
    cJSON_Delete(src);
    static const char *const refused[] = {"../obligo.db", "/etc/passwd",
                                          "obligo/acknowledgements_test.lua",
                                          "obligo/../obligo/acknowledgements.lua"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        snprintf(path, sizeof path, "/v1/rules/source?file=%s", refused[i]);
        a = get(f, f->officer, path);
        assert_int_equal(status_of(a), 404);
        free(a);
    }
    a = get(f, f->officer, "/v1/rules/source");
    assert_int_equal(status_of(a), 400);
    free(a);

    /* a reload that is refused: kept as the last one, with its file:line;
     * the set in force stays */
    snprintf(path, sizeof path, "%s/obligo/acknowledgements.lua", f->rules);
    FILE *fp = fopen(path, "a");
    assert_non_null(fp);
    fputs("\nrule \"broken\" {\n", fp);
    fclose(fp);
    a = call(f, "POST", "/v1/rules/reload", extra, "application/json", "{}");
    assert_int_equal(status_of(a), 422);
    free(a);
    a = get(f, f->officer, "/v1/rules");
    cJSON *k = json_of(a);
    free(a);
    assert_string_equal(support_str(k, "revision"), revision);
    last = cJSON_GetObjectItemCaseSensitive(k, "last_reload");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(last, "ok")));
    assert_string_equal(support_str(last, "file"), "obligo/acknowledgements.lua");
    assert_true(cJSON_GetObjectItemCaseSensitive(last, "line")->valuedouble > 24);
    assert_non_null(strstr(support_str(last, "error"), "acknowledgements.lua"));
    cJSON_Delete(k);
    cJSON_Delete(j);
}

static void what_a_change_would_have_done_from_the_console(void **state)
{
    fx *f = *state;
    char path[700];
    snprintf(path, sizeof path, "%s/obligo/acknowledgements.lua", f->rules);
    char *text = support_file(path);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(b, "rules"), "obligo/acknowledgements.lua",
                            text);
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    free(text);
    session s;
    sign_in(f, f->officer, &s);
    cJSON_Delete(s.body);
    /* something to replay: an acknowledgement */
    char *one = ack("ack-r", NOTE_SOURCE, "2026-06-09T08:00:00+02:00", "bekeken");
    char *a = console_post(f, &s, "/console/api/v1/events", "application/cloudevents+json", one);
    assert_int_equal(status_of(a), 202);
    free(a);
    free(one);
    a = console_post(f, &s, "/console/api/v1/replay", "application/json", body);
    assert_int_equal(status_of(a), 403); /* replay is the admin's */
    free(a);
    sign_in(f, f->admin, &s);
    cJSON_Delete(s.body);
    a = call(f, "POST", "/console/api/v1/replay", s.cookie, "application/json", body);
    assert_int_equal(status_of(a), 403); /* no CSRF token */
    free(a);
    a = console_post(f, &s, "/console/api/v1/replay", "application/json", body);
    if (status_of(a) != 200)
        fail_msg("replay: %s", a);
    cJSON *r = json_of(a);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(r, "revisions"));
    assert_non_null(strstr(a, "Content-Security-Policy: "));
    cJSON_Delete(r);
    free(a);
    cJSON_free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_session_names_who_acts, setup, teardown),
        cmocka_unit_test_setup_teardown(events_from_the_console_carry_its_source, setup, teardown),
        cmocka_unit_test_setup_teardown(a_log_review_from_the_console_closes_the_duty, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_rules_in_force_their_tests_and_the_last_reload, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(what_a_change_would_have_done_from_the_console, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
