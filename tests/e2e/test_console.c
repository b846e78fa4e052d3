/*
 * test_console.c — the web console (README, "Console") against a real
 * `obligo serve` on a database made by `obligo ingest --clock events`
 * holding one known deadline (a breach known on Mon 2026-06-08 09:00, to
 * be reported to the AP within 72 hours), an earlier breach reported late
 * and two alerts (see journal), with engine time started at
 * 2026-06-09 06:50 (--clock-start), so its countdown is known on any date.
 * tests/clients/console_check.mjs drives Debian's headless Chromium
 * through sign-in, the Termijnen, Signalen and Datalekken pages, their
 * filters and sign-out, runs
 * axe-core on each page and saves screenshots into the build directory
 * (console-screenshots/). chromium_drives_the_officers_acts runs
 * tests/clients/console_officer_check.mjs on a longer journal (see
 * officer_journal): paging, the event page, acknowledging an alert, the
 * log review, Regels and what-if. Here in C: the files' types and caching, the
 * security headers, the cookie's attributes (Secure behind the TLS
 * proxy), the refusals (an ingest token, a request without CSRF token, a
 * cookie at /v1/) and GET /v1/duties.
 * tests/clients/console_breach_check.mjs walks the practice's breach scheme
 * through the guided form (Datalek melden) on the same fixture: a new
 * breach known at 06:30, its 72 hours counted on the page, on Termijnen
 * and in the journal, the breach's page and its AP form printed and
 * exported.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "support.h"

#define RULES OBLIGO_SOURCE_DIR "/rules"
#define CLIENTS OBLIGO_SOURCE_DIR "/tests/clients"
#define SHOTS OBLIGO_BINARY_DIR "/console-screenshots"

/* In time order: an earlier breach (DL-2026-5) reported to the AP a day
 * after its 72 hours without a reason (a critical avg.late_notification
 * alert; under --clock events its reminders and its overdue alert fired
 * first; its deadline "late"), the known breach (DL-2026-7, its deadline
 * open) and a client's record opened without a treatment relation (a
 * warning nen7513.no_treatment_relation alert on C-42). */
static const char journal[] =
    "{\"specversion\":\"1.0\",\"id\":\"b0\",\"source\":\"urn:praktijk\","
    "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-06-01T10:00:00+02:00\","
    "\"data\":{\"breach_id\":\"DL-2026-5\",\"aware_at\":\"2026-06-01T10:00:00+02:00\","
    "\"description\":\"E-mail aan verkeerde ontvanger\",\"personal_data\":\"yes\"}}\n"
    "{\"specversion\":\"1.0\",\"id\":\"n0\",\"source\":\"urn:praktijk\","
    "\"type\":\"nl.avg.breach.notified\",\"time\":\"2026-06-05T11:00:00+02:00\","
    "\"data\":{\"breach_id\":\"DL-2026-5\",\"notified_at\":\"2026-06-05T11:00:00+02:00\","
    "\"reference\":\"AP-123\",\"phase\":\"complete\"}}\n"
    "{\"specversion\":\"1.0\",\"id\":\"b1\",\"source\":\"urn:praktijk\","
    "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-06-08T09:00:00+02:00\","
    "\"data\":{\"breach_id\":\"DL-2026-7\",\"aware_at\":\"2026-06-08T09:00:00+02:00\","
    "\"description\":\"USB-stick kwijt\",\"personal_data\":\"yes\"}}\n"
    "{\"specversion\":\"1.0\",\"id\":\"a1\",\"source\":\"urn:ecd\","
    "\"type\":\"nl.nen7513.access\",\"time\":\"2026-06-08T14:30:00+02:00\","
    "\"data\":{\"user\":{\"id\":\"U7\",\"role\":\"verpleegkundige\"},\"client_id\":\"C-42\","
    "\"action\":\"read\",\"system\":\"ecd\",\"authentication\":\"2fa\","
    "\"treatment_relation\":false}}\n";

typedef struct fx {
    char *dir;
    char db[512], log[512], base[128];
    int port;
    pid_t pid;
    char *ingest, *officer, *noted, *admin; /* noted: an officer token with a note */
    int tampered; /* a register version altered: the journal no longer replays to it */
} fx;

/* The server on a database made by ingesting text (the journal). */
static int setup_with(void **state, const char *text)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    snprintf(f->db, sizeof f->db, "%s/obligo.db", f->dir);
    snprintf(f->log, sizeof f->log, "%s/serve.log", f->dir);
    f->port = client_free_port();
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", f->port);
    char *events = support_write(f->dir, "events.ndjson", text);
    char *ingest[] = {(char *)OBLIGO_BIN, "ingest", "--db", f->db, "--rules", RULES,
                      "--clock",          "events", events, NULL};
    char *err = NULL;
    if (support_run(ingest, NULL, &err) != 0)
        fail_msg("ingest: %s", err ? err : "");
    free(err);
    free(events);
    f->ingest = support_make_token(f->db, "ingest");
    f->officer = support_make_token(f->db, "officer");
    f->noted = support_make_token_note(f->db, "officer", "FG Jansen");
    f->admin = support_make_token(f->db, "admin");
    char *extra[] = {"--clock-start", "2026-06-09T06:50:00+02:00", NULL};
    f->pid = client_start_server_args(f->db, RULES, f->port, f->log, extra);
    assert_true(f->pid > 0);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, journal);
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
    free(f->noted);
    free(f->admin);
    free(f);
    return 0;
}

/* The whole answer (head and body) to a raw request. */
static char *raw(const fx *f, const char *req)
{
    char *out = client_raw(f->port, req, strlen(req), 0, 30000);
    assert_non_null(out);
    return out;
}

/* A sign-in with token; extra header lines (may be ""). */
static char *sign_in(const fx *f, const char *token, const char *extra)
{
    char body[256], req[1024];
    snprintf(body, sizeof body, "{\"token\":\"%s\"}", token);
    snprintf(req, sizeof req,
             "POST /console/session HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
             "application/json\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
             extra, strlen(body), body);
    return raw(f, req);
}

/* The value after name= in text, up to the first of stop, into buf. */
static const char *value_of(const char *text, const char *name, const char *stop, char *buf,
                            size_t n)
{
    const char *p = strstr(text, name);
    assert_non_null(p);
    p += strlen(name);
    size_t len = strcspn(p, stop);
    assert_true(len < n);
    memcpy(buf, p, len);
    buf[len] = '\0';
    return buf;
}

static void the_files_and_their_headers(void **state)
{
    fx *f = *state;
    char *a = raw(f, "GET /console/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(a, "HTTP/1.1 200"));
    assert_non_null(strstr(a, "Content-Type: text/html; charset=utf-8\r\n"));
    assert_non_null(strstr(a, "Content-Security-Policy: default-src 'self'; script-src 'self'; "
                              "style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                              "base-uri 'none'; form-action 'self'\r\n"));
    assert_non_null(strstr(a, "X-Frame-Options: DENY\r\n"));
    assert_non_null(strstr(a, "X-Content-Type-Options: nosniff\r\n"));
    assert_non_null(strstr(a, "Referrer-Policy: no-referrer\r\n"));
    assert_non_null(strstr(a, "Cache-Control: no-cache\r\n"));
    assert_null(strstr(a, "<script>")); /* no inline script */
    assert_null(strstr(a, "style=\"")); /* no inline style */
    assert_null(strstr(a, "https://")); /* nothing from elsewhere */
    free(a);
    /* a module, with an ETag that gives 304 */
    a = raw(f, "GET /console/app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(a, "Content-Type: text/javascript; charset=utf-8\r\n"));
    char etag[64], req[256];
    value_of(a, "ETag: ", "\r", etag, sizeof etag);
    free(a);
    snprintf(req, sizeof req,
             "GET /console/app.js HTTP/1.1\r\nHost: x\r\nIf-None-Match: %s\r\nConnection: "
             "close\r\n\r\n",
             etag);
    a = raw(f, req);
    assert_non_null(strstr(a, "HTTP/1.1 304"));
    free(a);
    a = raw(f, "GET /console/style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(a, "Content-Type: text/css; charset=utf-8\r\n"));
    free(a);
    a = raw(f, "GET /console/nothing.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(a, "HTTP/1.1 404"));
    assert_non_null(strstr(a, "X-Frame-Options: DENY\r\n"));
    free(a);
    a = raw(f, "GET /console HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(a, "HTTP/1.1 301"));
    assert_non_null(strstr(a, "Location: /console/\r\n"));
    free(a);
}

static void sign_in_cookie_csrf_and_refusals(void **state)
{
    fx *f = *state;
    /* an ingest token cannot sign in */
    char *a = sign_in(f, f->ingest, "");
    assert_non_null(strstr(a, "HTTP/1.1 403"));
    assert_non_null(strstr(a, "ingest-token kan niet inloggen"));
    assert_null(strstr(a, "Set-Cookie"));
    free(a);
    a = sign_in(f, "obl_0000000000000000000000000000000000000000", "");
    assert_non_null(strstr(a, "HTTP/1.1 401"));
    free(a);
    /* from another site's page: refused */
    a = sign_in(f, f->officer, "Origin: https://evil.example\r\n");
    assert_non_null(strstr(a, "HTTP/1.1 403"));
    free(a);
    /* behind the TLS proxy the cookie is Secure */
    a = sign_in(f, f->officer, "X-Forwarded-Proto: https\r\n");
    assert_non_null(strstr(a, "HTTP/1.1 200"));
    assert_non_null(strstr(a, "; Path=/console/; Max-Age=28800; HttpOnly; SameSite=Strict; "
                              "Secure\r\n"));
    free(a);
    a = sign_in(f, f->officer, "");
    assert_non_null(strstr(a, "HTTP/1.1 200"));
    assert_non_null(strstr(a, "Set-Cookie: obligo_console="));
    assert_non_null(strstr(a, "; Path=/console/; Max-Age=28800; HttpOnly; SameSite=Strict\r\n"));
    assert_null(strstr(a, f->officer));                      /* the token is never echoed */
    assert_non_null(strstr(a, "\"now\":\"2026-06-09T04:5")); /* engine time, UTC */
    char sid[80], csrf[80], req[1024];
    value_of(a, "obligo_console=", ";", sid, sizeof sid);
    value_of(a, "\"csrf\":\"", "\"", csrf, sizeof csrf);
    assert_int_equal(strlen(sid), 64);
    free(a);
    /* the API as the console calls it: the cookie reads */
    snprintf(req, sizeof req,
             "GET /console/api/v1/obligations?status=open HTTP/1.1\r\nHost: x\r\nCookie: "
             "obligo_console=%s\r\nConnection: close\r\n\r\n",
             sid);
    a = raw(f, req);
    assert_non_null(strstr(a, "HTTP/1.1 200"));
    assert_non_null(strstr(a, "\"kind\":\"avg.notify_ap\""));
    assert_non_null(strstr(a, "Content-Security-Policy: "));
    free(a);
    snprintf(req, sizeof req,
             "GET /console/api/v1/duties HTTP/1.1\r\nHost: x\r\nCookie: obligo_console=%s\r\n"
             "Connection: close\r\n\r\n",
             sid);
    a = raw(f, req);
    assert_non_null(strstr(a, "HTTP/1.1 200"));
    assert_non_null(strstr(a, "\"name\":\"avg.notify_ap\",\"title\":\"Datalek melden bij de "
                              "Autoriteit Persoonsgegevens\",\"source\":\"AVG art. 33 lid 1\""));
    free(a);
    /* ... but not at /v1/, which takes bearer tokens only */
    snprintf(req, sizeof req,
             "GET /v1/obligations HTTP/1.1\r\nHost: x\r\nCookie: obligo_console=%s\r\n"
             "Connection: close\r\n\r\n",
             sid);
    a = raw(f, req);
    assert_non_null(strstr(a, "HTTP/1.1 401"));
    free(a);
    /* sign-out without the CSRF token: 403, the session stays */
    snprintf(req, sizeof req,
             "DELETE /console/session HTTP/1.1\r\nHost: x\r\nCookie: obligo_console=%s\r\n"
             "Connection: close\r\n\r\n",
             sid);
    a = raw(f, req);
    assert_non_null(strstr(a, "HTTP/1.1 403"));
    assert_non_null(strstr(a, "CSRF"));
    free(a);
    /* a POST through the console without it: 403 */
    snprintf(req, sizeof req,
             "POST /console/api/v1/events HTTP/1.1\r\nHost: x\r\nCookie: obligo_console=%s\r\n"
             "Content-Type: application/x-ndjson\r\nContent-Length: 3\r\nConnection: "
             "close\r\n\r\n{}\n",
             sid);
    a = raw(f, req);
    assert_non_null(strstr(a, "HTTP/1.1 403"));
    free(a);
    /* with it: signed out */
    snprintf(req, sizeof req,
             "DELETE /console/session HTTP/1.1\r\nHost: x\r\nCookie: obligo_console=%s\r\n"
             "X-CSRF-Token: %s\r\nConnection: close\r\n\r\n",
             sid, csrf);
    a = raw(f, req);
    assert_non_null(strstr(a, "HTTP/1.1 200"));
    assert_non_null(strstr(a, "Max-Age=0"));
    free(a);
    snprintf(req, sizeof req,
             "GET /console/session HTTP/1.1\r\nHost: x\r\nCookie: obligo_console=%s\r\n"
             "Connection: close\r\n\r\n",
             sid);
    a = raw(f, req);
    assert_non_null(strstr(a, "HTTP/1.1 401"));
    free(a);
    /* no token nor session id in the access log */
    char *log = support_read_file(f->log);
    if (log) {
        assert_null(strstr(log, f->officer));
        assert_null(strstr(log, sid));
        free(log);
    }
}

/* Runs a browser check script (tests/clients/NAME) against the server with
 * both tokens and expect ("OBLIGO_EXPECT=..."); mode, when not NULL, is its
 * last argument. Its whole output, which said "all checks passed". */
static char *browser_check(const fx *f, const char *script, const char *expect, const char *mode)
{
    if (access("/usr/bin/chromium", X_OK) != 0)
        fail_msg("/usr/bin/chromium is missing: scripts/setup installs Debian's chromium");
    mkdir(SHOTS, 0755);
    char tokens[512], path[512];
    snprintf(tokens, sizeof tokens,
             "OBLIGO_TOKENS={\"ingest\":\"%s\",\"officer\":\"%s\",\"noted\":\"%s\","
             "\"admin\":\"%s\"}",
             f->ingest, f->officer, f->noted, f->admin);
    snprintf(path, sizeof path, "%s/%s", CLIENTS, script);
    char *argv[] = {"/usr/bin/env",  tokens,        (char *)expect, "node", path,
                    (char *)f->base, (char *)SHOTS, (char *)mode,   NULL};
    return support_run_client(argv, "all checks passed");
}

static void chromium_drives_the_console(void **state)
{
    fx *f = *state;
    char expect[2048];
    snprintf(expect, sizeof expect,
             "OBLIGO_EXPECT={\"title\":\"Datalek melden bij de Autoriteit Persoonsgegevens\","
             "\"source\":\"AVG art. 33 lid 1\",\"kind\":\"avg.notify_ap\","
             "\"countdown\":\"nog 2 dagen 2 uur\",\"countdown_en\":\"2 days 2 hours left\","
             "\"due\":\"do 11 jun 2026, 09:00 CEST\","
             "\"alert\":{\"kind\":\"nen7513.no_treatment_relation\",\"severity\":\"Waarschuwing\","
             "\"subject\":\"C-42\",\"at\":\"ma 8 jun 2026, 14:30 CEST\"},"
             "\"late_alert\":{\"kind\":\"avg.late_notification\",\"severity\":\"Kritiek\","
             "\"subject\":\"DL-2026-5\"},"
             "\"breach\":{\"key\":\"DL-2026-7\",\"status\":\"Geregistreerd\","
             "\"aware\":\"ma 8 jun 2026, 09:00 CEST\",\"countdown\":\"nog 2 dagen 2 uur\"},"
             "\"late_breach\":{\"key\":\"DL-2026-5\",\"status\":\"Gemeld bij de AP\","
             "\"ap\":\"Te laat gemeld\"}}");
    char *out = browser_check(f, "console_check.mjs", expect, NULL);
    assert_non_null(strstr(out, "an ingest token is refused"));
    assert_non_null(strstr(out, "axe-core: no serious or critical violations on Termijnen"));
    assert_non_null(strstr(out, "axe-core: no serious or critical violations on Signalen"));
    assert_non_null(strstr(out, "axe-core: no serious or critical violations on Datalekken"));
    free(out);
}

/* The guided breach form: the officer records a breach known at Tue
 * 2026-06-09 06:30 (engine time starts 06:50), so the AP deadline is Fri
 * 2026-06-12 06:30 CEST and 2 days 23 hours and some minutes are left
 * while the test runs; notified at 06:45 as an initial notification, the
 * completion (14 days by default) is due Tue 2026-06-23 06:45, 13 days 23
 * hours and some minutes away. */
static void chromium_walks_the_breach_scheme(void **state)
{
    fx *f = *state;
    char expect[] = "OBLIGO_EXPECT={\"countdown\":\"nog 2 dagen 23 uur\","
                    "\"due\":\"vr 12 jun 2026, 06:30 CEST\","
                    "\"complete_countdown\":\"nog 13 dagen 23 uur\","
                    "\"title\":\"Datalek melden bij de Autoriteit Persoonsgegevens\"}";
    char *out = browser_check(f, "console_breach_check.mjs", expect, NULL);
    assert_non_null(strstr(out, "each step's event is journaled, in order"));
    assert_non_null(strstr(out, "Keten van hashes klopt (5 versies)"));
    assert_non_null(strstr(out, "the CSV starts with the UTF-8 BOM"));
    assert_non_null(strstr(out, "axe-core: no serious or critical violations on AP-meldformulier"));
    free(out);
}

/* The earlier breach's first register version altered in the database
 * after the fact (its description): its page names the break, in words,
 * as an alert. */
static void chromium_names_a_broken_chain(void **state)
{
    fx *f = *state;
    f->tampered = 1;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 30000);
    long long seq = support_sql_int(db, "SELECT seq FROM registers WHERE register='datalekken' AND "
                                        "key='DL-2026-5' AND version=1");
    support_sql_exec(db, "UPDATE registers SET data=json_set(data,'$.description','Niets aan de "
                         "hand') WHERE register='datalekken' AND key='DL-2026-5' AND version=1");
    sqlite3_close(db);
    char expect[512];
    snprintf(expect, sizeof expect,
             "OBLIGO_EXPECT={\"key\":\"DL-2026-5\",\"chain\":\"De keten van hashes is "
             "verbroken: versie 1 (registervolgnummer %lld): de hash klopt niet met de inhoud; "
             "deze versie is achteraf veranderd\"}",
             seq);
    char *out = browser_check(f, "console_breach_check.mjs", expect, "broken");
    assert_non_null(strstr(out, "as an alert (role=alert)"));
    free(out);
}

/* Appended for the officer's acts: a review of the access log of 15 April
 * to 14 May recorded on 8 June (so nen7513.review_logs is open, due
 * Monday 15 June: 14 June is a Sunday), 55 data subject
 * requests received between 10 May and 7 June (answers due a month after,
 * several on the same day: ties the keyset must page through) and 60
 * accesses without a treatment relation by 60 users (60 more alerts), so
 * both lists take more than one page of 50. */
/* One more event appended to text (printf), within cap bytes in all. */
__attribute__((format(printf, 4, 5))) static void append(char *text, size_t *n, size_t cap,
                                                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(text + *n, cap - *n, fmt, ap);
    va_end(ap);
    assert_true(k > 0 && (size_t)k < cap - *n);
    *n += (size_t)k;
}

#define CE "{\"specversion\":\"1.0\",\"id\":"

static char *officer_journal(void)
{
    size_t cap = sizeof journal + 130 * 520, n = sizeof journal - 1;
    char *text = malloc(cap);
    assert_non_null(text);
    memcpy(text, journal, n + 1);
    append(text, &n, cap,
           CE "\"r0\",\"source\":\"urn:praktijk\",\"type\":\"nl.nen7513.review\","
              "\"time\":\"2026-06-08T15:00:00+02:00\",\"data\":{\"period_start\":\"2026-04-15\","
              "\"period_end\":\"2026-05-14\",\"reviewer\":\"FG Jansen\"}}\n");
    for (int i = 0; i < 55; i++)
        append(text, &n, cap,
               CE "\"q%d\",\"source\":\"urn:praktijk\",\"type\":\"nl.avg.request.received\","
                  "\"time\":\"2026-06-08T15:%02d:00+02:00\",\"data\":{\"request_id\":\"V-%03d\","
                  "\"kind\":\"access\",\"client_id\":\"C-%d\","
                  "\"received_at\":\"2026-05-%02dT09:00:00+02:00\"}}\n",
               i, i + 1, i, 200 + i, 10 + (i * 7) % 22);
    for (int i = 0; i < 60; i++)
        append(text, &n, cap,
               CE "\"x%d\",\"source\":\"urn:ecd\",\"type\":\"nl.nen7513.access\","
                  "\"time\":\"2026-06-08T16:%02d:00+02:00\",\"data\":{\"user\":{\"id\":\"U%d\","
                  "\"role\":\"arts\"},\"client_id\":\"C-%d\",\"action\":\"update\","
                  "\"system\":\"ecd\",\"authentication\":\"2fa\",\"treatment_relation\":false}}\n",
               i, i, 100 + i, 100 + i);
    return text;
}

static int setup_officer(void **state)
{
    char *text = officer_journal();
    int rc = setup_with(state, text);
    free(text);
    return rc;
}

/* console_officer_check.mjs: acknowledging an alert, the log review, the
 * event page from Termijnen, "Meer tonen" on both lists, Regels with a
 * file's source, what-if as admin and not as officer. */
static void chromium_drives_the_officers_acts(void **state)
{
    fx *f = *state;
    char *out = browser_check(f, "console_officer_check.mjs", "OBLIGO_EXPECT={}", RULES);
    assert_non_null(strstr(out, "the journal holds the acknowledgement"));
    assert_non_null(strstr(out, "the review closed nen7513.review_logs"));
    assert_non_null(strstr(out, "what-if shows"));
    assert_non_null(strstr(out, "axe-core: no serious or critical violations on the dialog"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_files_and_their_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(sign_in_cookie_csrf_and_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(chromium_drives_the_console, setup, teardown),
        cmocka_unit_test_setup_teardown(chromium_walks_the_breach_scheme, setup, teardown),
        cmocka_unit_test_setup_teardown(chromium_names_a_broken_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(chromium_drives_the_officers_acts, setup_officer, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
