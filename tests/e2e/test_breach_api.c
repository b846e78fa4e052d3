/*
 * test_breach_api.c — end to end over real sockets: GET /v1/breaches/{key}
 * and GET /v1/breaches/{key}/ap-form (README, "HTTP API") on a journal
 * made by `obligo ingest --clock events` with the shipped rule pack, read
 * by a server started at a fixed engine time.
 *
 * The breach "DL/2026-1" (a key holding '/', sent as %2F or plain) gives
 * every field the AP form asks for, is notified in two phases and has a
 * second report merged into it. Its record carries the current entry,
 * every register version verified against the chain, both phases, the
 * obligations exactly as GET /v1/obligations gives them and every event
 * with the decisions GET /v1/events/{source}/{id} gives; its form answers
 * every question; the CSV form comes with a BOM, as an attachment whose
 * name is the key made safe, with formula-like cells neutralised. Both
 * routes answer under /console/api/v1/ with the console's cookie, refuse
 * without a token or with an ingest token, and 404 an unknown key. A
 * version altered in the database after the fact is named.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_client.h"
#include "support.h"

#define RULES OBLIGO_SOURCE_DIR "/rules"
#define SRC "urn:ecd:praktijk"
#define KEY_PATH "/v1/breaches/DL%2F2026-1"

/* A breach known on Monday 1 June 2026 10:00 (08:00Z), assessed high risk,
 * notified initially the next day and completely on 5 June, the people
 * informed on 2 June, a second report with the same dedup_key on 1 June
 * 11:00, closed on 10 June; and another breach, never asked about. */
static const char journal[] =
    "{\"specversion\":\"1.0\",\"id\":\"r1\",\"source\":\"" SRC "\","
    "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-06-01T10:00:00+02:00\","
    "\"data\":{\"breach_id\":\"DL/2026-1\",\"aware_at\":\"2026-06-01T10:00:00+02:00\","
    "\"description\":\"@praktijk: USB-stick kwijt\",\"cause\":\"lost_device\","
    "\"personal_data\":\"yes\",\"categories\":[\"health\",\"bsn\"],\"persons_affected\":120,"
    "\"records_affected\":340,\"unintelligible\":false,\"processor\":\"Koeriers BV\","
    "\"dedup_key\":\"usb-1\",\"reporter\":{\"name\":\"A. Jansen\",\"role\":\"FG\","
    "\"phone\":\"+31 20 1234567\",\"email\":\"fg@praktijk.nl\"},"
    "\"started_at\":\"2026-05-31T22:00:00+02:00\",\"ended_at\":\"2026-06-01T09:30:00+02:00\","
    "\"ongoing\":false,\"groups\":[\"clients\",\"minors\"],"
    "\"consequences\":[\"damage_to_health\",\"identity_fraud\"],"
    "\"consequences_note\":\"jeugddossiers\",\"measures_taken\":\"stick op afstand gewist\","
    "\"measures_planned\":\"alleen versleutelde sticks\",\"cross_border\":\"no\"}}\n"
    "{\"specversion\":\"1.0\",\"id\":\"r2\",\"source\":\"" SRC "\","
    "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-06-01T11:00:00+02:00\","
    "\"data\":{\"breach_id\":\"DL/2026-1b\",\"aware_at\":\"2026-06-01T10:30:00+02:00\","
    "\"description\":\"zelfde stick\",\"personal_data\":\"yes\",\"dedup_key\":\"usb-1\"}}\n"
    "{\"specversion\":\"1.0\",\"id\":\"a1\",\"source\":\"" SRC "\","
    "\"type\":\"nl.avg.breach.assessed\",\"time\":\"2026-06-01T12:00:00+02:00\","
    "\"data\":{\"breach_id\":\"DL/2026-1\",\"risk\":\"high\",\"rationale\":\"onversleuteld\"}}\n"
    "{\"specversion\":\"1.0\",\"id\":\"n1\",\"source\":\"" SRC "\","
    "\"type\":\"nl.avg.breach.notified\",\"time\":\"2026-06-02T10:00:00+02:00\","
    "\"data\":{\"breach_id\":\"DL/2026-1\",\"reference\":\"AP-77\","
    "\"notified_at\":\"2026-06-02T10:00:00+02:00\",\"phase\":\"initial\"}}\n"
    "{\"specversion\":\"1.0\",\"id\":\"s1\",\"source\":\"" SRC "\","
    "\"type\":\"nl.avg.breach.subjects_informed\",\"time\":\"2026-06-02T15:00:00+02:00\","
    "\"data\":{\"breach_id\":\"DL/2026-1\",\"informed_at\":\"2026-06-02T15:00:00+02:00\","
    "\"channel\":\"brief\",\"count\":118,\"message\":\"Uw gegevens stonden op een stick.\"}}\n"
    "{\"specversion\":\"1.0\",\"id\":\"n2\",\"source\":\"" SRC "\","
    "\"type\":\"nl.avg.breach.notified\",\"time\":\"2026-06-05T10:00:00+02:00\","
    "\"data\":{\"breach_id\":\"DL/2026-1\",\"reference\":\"AP-77\","
    "\"notified_at\":\"2026-06-05T10:00:00+02:00\",\"phase\":\"complete\"}}\n"
    "{\"specversion\":\"1.0\",\"id\":\"x1\",\"source\":\"" SRC "\","
    "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-06-06T10:00:00+02:00\","
    "\"data\":{\"breach_id\":\"DL-2026-2\",\"aware_at\":\"2026-06-06T10:00:00+02:00\","
    "\"description\":\"brief verkeerd bezorgd\",\"personal_data\":\"yes\"}}\n"
    "{\"specversion\":\"1.0\",\"id\":\"c1\",\"source\":\"" SRC "\","
    "\"type\":\"nl.avg.breach.closed\",\"time\":\"2026-06-10T12:00:00+02:00\","
    "\"data\":{\"breach_id\":\"DL/2026-1\",\"measures\":\"training en versleuteling\"}}\n";

typedef struct fx {
    char *dir;
    char db[512], log[512];
    int port;
    pid_t pid;
    char *ingest, *officer;
    int tampered; /* the register was altered: the journal no longer replays to it */
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    snprintf(f->db, sizeof f->db, "%s/obligo.db", f->dir);
    snprintf(f->log, sizeof f->log, "%s/serve.log", f->dir);
    f->port = client_free_port();
    char *events = support_write(f->dir, "events.ndjson", journal);
    char *ingest[] = {(char *)OBLIGO_BIN, "ingest", "--db", f->db, "--rules", RULES,
                      "--clock",          "events", events, NULL};
    char *err = NULL;
    if (support_run(ingest, NULL, &err) != 0)
        fail_msg("ingest: %s", err ? err : "");
    free(err);
    free(events);
    f->ingest = support_make_token(f->db, "ingest");
    f->officer = support_make_token(f->db, "officer");
    char *extra[] = {"--clock-start", "2026-06-11T09:00:00+02:00", NULL};
    f->pid = client_start_server_args(f->db, RULES, f->port, f->log, extra);
    assert_true(f->pid > 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    assert_int_equal(client_stop_server(f->pid, SIGTERM), 0);
    support_assert_clean_log(f->log);
    if (!f->tampered)
        support_assert_replays(f->db);
    support_rmtree(f->dir);
    free(f->dir);
    free(f->ingest);
    free(f->officer);
    free(f);
    return 0;
}

/* The whole answer (head and body) to GET path with the header lines
 * extra (may be ""). */
static char *get_raw(const fx *f, const char *path, const char *extra)
{
    char req[2048];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n", path,
             extra);
    char *out = client_raw(f->port, req, strlen(req), 0, 30000);
    assert_non_null(out);
    return out;
}

static char *get_officer(const fx *f, const char *path)
{
    char auth[256];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", f->officer);
    return get_raw(f, path, auth);
}

static const char *body_of(const char *answer)
{
    const char *b = strstr(answer, "\r\n\r\n");
    assert_non_null(b);
    return b + 4;
}

/* GET path as the officer: status 200 and the JSON body. */
static cJSON *get_json(const fx *f, const char *path)
{
    char *a = get_officer(f, path);
    if (strncmp(a, "HTTP/1.1 200", 12) != 0)
        fail_msg("GET %s: %.300s", path, a);
    cJSON *j = cJSON_Parse(body_of(a));
    free(a);
    assert_non_null(j);
    return j;
}

static const cJSON *item(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!v)
        fail_msg("no member %s", name);
    return v;
}

static long long sql_int(const fx *f, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    long long n = support_sql_int(db, sql);
    sqlite3_close(db);
    return n;
}

static void record_of_a_breach(void **state)
{
    fx *f = *state;
    cJSON *b = get_json(f, KEY_PATH);
    assert_string_equal(support_str(b, "key"), "DL/2026-1");
    assert_string_equal(support_str(b, "status"), "closed");
    const cJSON *cur = item(b, "current");
    assert_string_equal(support_str(cur, "measures"), "training en versleuteling");
    assert_string_equal(support_str(item(cur, "reporter"), "email"), "fg@praktijk.nl");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(item(cur, "groups"), 1)), "minors");
    assert_int_equal(cJSON_GetArraySize(item(cur, "reports")), 2);

    /* every version, in order, each verified; the chain holds */
    const cJSON *versions = item(b, "versions");
    long long n = sql_int(f, "SELECT count(*) FROM registers WHERE key='DL/2026-1'");
    assert_true(n >= 6);
    assert_int_equal(cJSON_GetArraySize(versions), (int)n);
    for (int i = 0; i < (int)n; i++) {
        const cJSON *v = cJSON_GetArrayItem(versions, i);
        assert_int_equal((int)item(v, "version")->valuedouble, i + 1);
        assert_true(cJSON_IsTrue(item(v, "verified")));
        assert_string_equal(support_str(item(v, "event"), "source"), SRC);
        assert_non_null(support_str(v, "hash"));
        assert_non_null(support_str(v, "prev_hash"));
        assert_non_null(support_str(v, "at"));
        assert_true(cJSON_IsObject(item(v, "data")));
        assert_true(cJSON_IsNumber(item(v, "seq")));
    }
    assert_string_equal(support_str(item(cJSON_GetArrayItem(versions, 0), "event"), "id"), "r1");
    assert_true(cJSON_IsTrue(item(item(b, "chain"), "verified")));
    assert_true(cJSON_IsNull(item(item(b, "chain"), "break")));

    /* both phases kept */
    const cJSON *phases = item(b, "notifications");
    assert_int_equal(cJSON_GetArraySize(phases), 2);
    assert_string_equal(support_str(cJSON_GetArrayItem(phases, 0), "phase"), "initial");
    assert_string_equal(support_str(cJSON_GetArrayItem(phases, 0), "notified_at"),
                        "2026-06-02T10:00:00+02:00");
    assert_string_equal(support_str(cJSON_GetArrayItem(phases, 1), "phase"), "complete");
    assert_string_equal(support_str(cJSON_GetArrayItem(phases, 1), "reference"), "AP-77");

    /* the obligations, as GET /v1/obligations gives them */
    cJSON *obls = get_json(f, "/v1/obligations?subject=DL%2F2026-1");
    assert_int_equal(cJSON_GetArraySize(obls), 3); /* notify_ap, inform_subjects, complete */
    assert_true(cJSON_Compare(item(b, "obligations"), obls, 1));
    cJSON_Delete(obls);

    /* the timeline: the breach's events and the merged report's, none of
     * the other breach, each with its decisions as GET /v1/events gives */
    const cJSON *tl = item(b, "timeline");
    static const char *const ids[] = {"r1", "r2", "a1", "n1", "s1", "n2", "c1"};
    assert_int_equal(cJSON_GetArraySize(tl), 7);
    for (int i = 0; i < 7; i++) {
        const cJSON *e = cJSON_GetArrayItem(tl, i);
        assert_string_equal(support_str(e, "id"), ids[i]);
        assert_string_equal(support_str(e, "source"), SRC);
        char path[256];
        snprintf(path, sizeof path, "/v1/events?source=%s&id=%s", SRC, ids[i]);
        cJSON *ev = get_json(f, path);
        assert_true(cJSON_Compare(item(e, "decisions"), item(ev, "decisions"), 1));
        assert_string_equal(support_str(e, "received_at"), support_str(ev, "received_at"));
        cJSON_Delete(ev);
    }
    const cJSON *first = cJSON_GetArrayItem(tl, 0);
    assert_string_equal(support_str(first, "type"), "nl.avg.breach.reported");
    assert_string_equal(support_str(first, "time"), "2026-06-01T08:00:00Z");
    assert_true(cJSON_GetArraySize(item(first, "decisions")) >= 2); /* register, open */
    cJSON_Delete(b);

    /* the key's '/' sent plain reads the same breach */
    b = get_json(f, "/v1/breaches/DL/2026-1");
    assert_string_equal(support_str(b, "key"), "DL/2026-1");
    cJSON_Delete(b);
}

static void form_answers_every_question(void **state)
{
    fx *f = *state;
    cJSON *form = get_json(f, KEY_PATH "/ap-form");
    assert_string_equal(support_str(form, "breach"), "DL/2026-1");
    assert_int_equal((int)item(form, "questions")->valuedouble, 30);
    assert_int_equal((int)item(form, "answered")->valuedouble, 30);
    assert_int_equal((int)item(form, "not_in_catalogue")->valuedouble, 0);
    const cJSON *s;
    cJSON_ArrayForEach(s, item(form, "sections"))
    {
        const cJSON *q;
        cJSON_ArrayForEach(q, item(s, "questions"))
        {
            if (!cJSON_IsTrue(item(q, "answered")))
                fail_msg("%s: %s", support_str(q, "id"), support_str(q, "text"));
        }
    }
    char *text = cJSON_PrintUnformatted(form);
    assert_non_null(strstr(text, "\"text\":\"eerste melding op 2026-06-02 10:00 (Amsterdam), "
                                 "kenmerk AP-77; afgeronde melding op 2026-06-05 10:00 "
                                 "(Amsterdam), kenmerk AP-77\""));
    assert_non_null(strstr(text, "\"text\":\"cli\xC3\xABnten, minderjarigen\""));
    assert_non_null(strstr(text, "\"text\":\"niet van toepassing (binnen 72 uur gemeld)\""));
    cJSON_free(text);
    /* the same as the command line's --ap-form --json */
    char *out = NULL, *err = NULL;
    char *argv[] = {(char *)OBLIGO_BIN, "register",  "datalekken", "--db", f->db,
                    "--ap-form",        "DL/2026-1", "--json",     NULL};
    assert_int_equal(support_run(argv, &out, &err), 0);
    cJSON *cli = cJSON_Parse(out);
    assert_true(cJSON_Compare(form, cli, 1));
    cJSON_Delete(cli);
    free(out);
    free(err);
    cJSON_Delete(form);
    /* ?format=json is the default */
    form = get_json(f, KEY_PATH "/ap-form?format=json");
    assert_int_equal((int)item(form, "answered")->valuedouble, 30);
    cJSON_Delete(form);
}

static void form_as_csv(void **state)
{
    fx *f = *state;
    char *a = get_officer(f, KEY_PATH "/ap-form?format=csv");
    assert_non_null(strstr(a, "HTTP/1.1 200"));
    assert_non_null(strstr(a, "\r\nContent-Type: text/csv; charset=utf-8\r\n"));
    assert_non_null(strstr(
        a, "\r\nContent-Disposition: attachment; filename=\"ap-melding-DL_2026-1.csv\"\r\n"));
    const char *body = body_of(a);
    assert_memory_equal(body, "\xEF\xBB\xBFsection,id,question,answered,answer\r\n", 38);
    assert_non_null(
        strstr(body, "\r\nContactpersoon,contact.phone,Telefoonnummer,true,'+31 20 1234567\r\n"));
    assert_non_null(strstr(body, "\r\nContactpersoon,contact.email,E-mailadres,true,"
                                 "fg@praktijk.nl\r\n"));
    assert_non_null(strstr(body, ",nature.description,Omschrijving,true,'@praktijk: USB-stick "
                                 "kwijt\r\n"));
    assert_int_equal(client_count(body, "\r\n"), 31); /* the header and 30 questions */
    free(a);
    /* the same bytes as the command line's --csv --bom */
    char *out = NULL, *err = NULL;
    char *argv[] = {(char *)OBLIGO_BIN, "register",  "datalekken", "--db",  f->db,
                    "--ap-form",        "DL/2026-1", "--csv",      "--bom", NULL};
    assert_int_equal(support_run(argv, &out, &err), 0);
    a = get_officer(f, KEY_PATH "/ap-form?format=csv");
    assert_string_equal(body_of(a), out);
    free(a);
    free(out);
    free(err);
}

static void refusals(void **state)
{
    fx *f = *state;
    char *a = get_officer(f, "/v1/breaches/DL-2026-9");
    assert_non_null(strstr(a, "HTTP/1.1 404"));
    assert_non_null(strstr(a, "no breach 'DL-2026-9' in the register datalekken"));
    free(a);
    a = get_officer(f, "/v1/breaches/DL-2026-9/ap-form?format=csv");
    assert_non_null(strstr(a, "HTTP/1.1 404"));
    assert_non_null(strstr(a, "no breach 'DL-2026-9'"));
    assert_non_null(strstr(a, "Content-Type: application/json"));
    free(a);
    a = get_officer(f, KEY_PATH "/ap-form?format=xlsx");
    assert_non_null(strstr(a, "HTTP/1.1 400"));
    assert_non_null(strstr(a, "format must be csv or json"));
    free(a);
    a = get_officer(f, "/v1/breaches/");
    assert_non_null(strstr(a, "HTTP/1.1 404"));
    free(a);
    a = get_raw(f, KEY_PATH, "");
    assert_non_null(strstr(a, "HTTP/1.1 401"));
    free(a);
    char auth[256];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", f->ingest);
    a = get_raw(f, KEY_PATH "/ap-form", auth);
    assert_non_null(strstr(a, "HTTP/1.1 403"));
    free(a);
}

/* The value after name in text, up to stop, into buf. */
static void value_of(const char *text, const char *name, char stop, char *buf, size_t n)
{
    const char *p = strstr(text, name);
    assert_non_null(p);
    p += strlen(name);
    size_t i = 0;
    while (p[i] && p[i] != stop && i + 1 < n) {
        buf[i] = p[i];
        i++;
    }
    buf[i] = '\0';
}

static void under_the_console(void **state)
{
    fx *f = *state;
    char body[256], req[1024];
    snprintf(body, sizeof body, "{\"token\":\"%s\"}", f->officer);
    snprintf(req, sizeof req,
             "POST /console/session HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
             "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
             strlen(body), body);
    char *a = client_raw(f->port, req, strlen(req), 0, 30000);
    assert_non_null(strstr(a, "HTTP/1.1 200"));
    char sid[80], cookie[160];
    value_of(a, "obligo_console=", ';', sid, sizeof sid);
    free(a);
    snprintf(cookie, sizeof cookie, "Cookie: obligo_console=%s\r\n", sid);
    a = get_raw(f, "/console/api" KEY_PATH, cookie);
    assert_non_null(strstr(a, "HTTP/1.1 200"));
    assert_non_null(strstr(a, "Content-Security-Policy: "));
    assert_non_null(strstr(body_of(a), "\"key\":\"DL/2026-1\""));
    free(a);
    a = get_raw(f, "/console/api" KEY_PATH "/ap-form?format=csv", cookie);
    assert_non_null(strstr(a, "HTTP/1.1 200"));
    assert_non_null(strstr(a, "Content-Security-Policy: "));
    assert_non_null(strstr(a, "X-Content-Type-Options: nosniff\r\n"));
    assert_non_null(strstr(a, "filename=\"ap-melding-DL_2026-1.csv\""));
    assert_memory_equal(body_of(a), "\xEF\xBB\xBF", 3);
    free(a);
    /* without the cookie: refused */
    a = get_raw(f, "/console/api" KEY_PATH "/ap-form", "");
    assert_null(strstr(a, "HTTP/1.1 200"));
    free(a);
}

/* A register version altered in the database: the record names it. */
static void altered_version_is_named(void **state)
{
    fx *f = *state;
    f->tampered = 1;
    long long seq = sql_int(f, "SELECT seq FROM registers WHERE key='DL/2026-1' AND version=2");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    support_sql_exec(db, "UPDATE registers SET data=json_set(data,'$.risk','unlikely') "
                         "WHERE key='DL/2026-1' AND version=2");
    sqlite3_close(db);
    cJSON *b = get_json(f, KEY_PATH);
    char want[160];
    snprintf(want, sizeof want, "version 2 (register seq %lld): hash does not match its content",
             seq);
    assert_true(cJSON_IsFalse(item(item(b, "chain"), "verified")));
    assert_string_equal(support_str(item(b, "chain"), "break"), want);
    const cJSON *versions = item(b, "versions");
    assert_true(cJSON_IsTrue(item(cJSON_GetArrayItem(versions, 0), "verified")));
    assert_true(cJSON_IsFalse(item(cJSON_GetArrayItem(versions, 1), "verified")));
    cJSON_Delete(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(record_of_a_breach, setup, teardown),
        cmocka_unit_test_setup_teardown(form_answers_every_question, setup, teardown),
        cmocka_unit_test_setup_teardown(form_as_csv, setup, teardown),
        cmocka_unit_test_setup_teardown(refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(under_the_console, setup, teardown),
        cmocka_unit_test_setup_teardown(altered_version_is_named, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
