/*
 * test_officer_cli.c — end to end: the privacy officer's reading commands
 * on a database made by `obligo ingest --clock events` with the shipped
 * rule pack, read "as of" a fixed instant (--now), never today's date.
 *
 * obligations: several statuses, sorted by due time, the duty's Dutch
 * title and the time left in Dutch, --within, an unknown status or
 * duration as a usage error, the fallback to kind names when the rules do
 * not load; rules: every duty and rule with title, legal source and
 * file:line; --csv with flat columns, a BOM and formula neutralisation for
 * obligations, alerts, rejected and a register; the AP notification form of
 * a breach with each unanswered question marked.
 *
 * Expected instants are worked out by hand: a breach known on 2 March 2026
 * 09:00 Amsterdam (08:00Z) must be notified within 72 hours, by 5 March
 * 08:00Z; as of 3 March 04:00Z that is 2 days 4 hours away.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"

#define RULES OBLIGO_SOURCE_DIR "/rules"
#define SRC "urn:ecd:test:praktijk-1"

typedef struct fx {
    char *dir;
    char db[512];
} fx;

/* The events: breach B-1 (health data and BSN, reported with a contact
 * person, assessed high risk, notified in two phases), breach "=1+2" (a key
 * a spreadsheet would take for a formula, "cliënten" in its description)
 * reported a day later, and one line that is refused. */
static const char events[] =
    "{\"specversion\":\"1.0\",\"id\":\"r1\",\"source\":\"" SRC "\","
    "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-03-02T09:00:00+01:00\","
    "\"data\":{\"breach_id\":\"B-1\",\"aware_at\":\"2026-03-02T09:00:00+01:00\","
    "\"description\":\"USB-stick kwijt\",\"cause\":\"lost_device\",\"personal_data\":\"yes\","
    "\"categories\":[\"health\",\"bsn\"],\"persons_affected\":120,\"records_affected\":340,"
    "\"reporter\":{\"name\":\"A. Jansen\",\"role\":\"FG\",\"phone\":\"+31 20 1234567\"}}}\n"
    "{\"specversion\":\"1.0\",\"id\":\"r2\",\"source\":\"" SRC "\","
    "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-03-03T09:00:00+01:00\","
    "\"data\":{\"breach_id\":\"=1+2\",\"aware_at\":\"2026-03-03T09:00:00+01:00\","
    "\"description\":\"Lijst met cliënten gemaild\",\"personal_data\":\"yes\"}}\n"
    "not json\n";

/* After the first two events: assessed, notified initially and then
 * supplemented (B-1 only). */
static const char later[] =
    "{\"specversion\":\"1.0\",\"id\":\"a1\",\"source\":\"" SRC "\","
    "\"type\":\"nl.avg.breach.assessed\",\"time\":\"2026-03-03T12:00:00+01:00\","
    "\"data\":{\"breach_id\":\"B-1\",\"risk\":\"high\",\"rationale\":\"onversleuteld\"}}\n"
    "{\"specversion\":\"1.0\",\"id\":\"n1\",\"source\":\"" SRC "\","
    "\"type\":\"nl.avg.breach.notified\",\"time\":\"2026-03-04T10:00:00+01:00\","
    "\"data\":{\"breach_id\":\"B-1\",\"reference\":\"AP-77\","
    "\"notified_at\":\"2026-03-04T10:00:00+01:00\",\"phase\":\"initial\"}}\n"
    "{\"specversion\":\"1.0\",\"id\":\"n2\",\"source\":\"" SRC "\","
    "\"type\":\"nl.avg.breach.notified\",\"time\":\"2026-03-06T10:00:00+01:00\","
    "\"data\":{\"breach_id\":\"B-1\",\"reference\":\"AP-77\","
    "\"notified_at\":\"2026-03-06T10:00:00+01:00\",\"phase\":\"supplement\"}}\n";

/* A third breach, reported last but known first (1 March 20:00Z): due
 * first, 4 March 20:00Z, though its obligation has the highest id. */
static const char known_first[] =
    "{\"specversion\":\"1.0\",\"id\":\"r0\",\"source\":\"" SRC "\","
    "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-03-03T10:30:00+01:00\","
    "\"data\":{\"breach_id\":\"B-0\",\"aware_at\":\"2026-03-01T21:00:00+01:00\","
    "\"description\":\"Laptop gestolen\",\"personal_data\":\"yes\"}}\n";

static void ingest(fx *f, const char *name, const char *text, const char *until)
{
    char *file = support_write(f->dir, name, text);
    char *argv[] = {(char *)OBLIGO_BIN, "ingest", "--db",    f->db,         "--rules", RULES,
                    "--clock",          "events", "--until", (char *)until, file,      NULL};
    char *out = NULL, *err = NULL;
    int rc = support_run(argv, &out, &err);
    /* the refused line makes it exit 1; anything else is a failure */
    if (rc != 0 && rc != 1)
        fail_msg("ingest exit %d: %s", rc, err ? err : "");
    free(out);
    free(err);
    free(file);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    snprintf(f->db, sizeof f->db, "%s/obligo.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    support_assert_replays(f->db);
    support_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Runs obligo with the arguments (NULL-terminated); *out and *err are
 * the caller's to free. */
static int obligo(char **out, char **err, ...)
{
    char *argv[32] = {(char *)OBLIGO_BIN};
    int n = 1;
    va_list ap;
    va_start(ap, err);
    for (char *a; n < 31 && (a = va_arg(ap, char *)) != NULL;)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return support_run(argv, out, err);
}

static const cJSON *by_kind(const cJSON *arr, const char *kind, const char *subject)
{
    int n = 0;
    const cJSON *o = support_find(arr, kind, subject, &n);
    assert_int_equal(n, 1);
    return o;
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

/* The number of characters (UTF-8 code points) in the first n bytes of s. */
static int chars_in(const char *s, size_t n)
{
    int c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xc0) != 0x80;
    return c;
}

/* A duty whose title holds "cliënt" (two bytes for one character) lines up
 * with the others: every row's subject starts at the same column. */
static void test_table_aligns_accented_titles(void **state)
{
    fx *f = *state;
    static const char request[] =
        "{\"specversion\":\"1.0\",\"id\":\"q1\",\"source\":\"" SRC "\","
        "\"type\":\"nl.avg.request.received\",\"time\":\"2026-03-02T10:00:00+01:00\","
        "\"data\":{\"request_id\":\"V-1\",\"kind\":\"access\",\"client_id\":\"C-1\","
        "\"received_at\":\"2026-03-02T10:00:00+01:00\"}}\n";
    ingest(f, "a.ndjson", events, "2026-03-03T10:00:00Z");
    ingest(f, "q.ndjson", request, "2026-03-03T10:00:00Z");
    char *out = NULL, *err = NULL;
    assert_int_equal(obligo(&out, &err, "obligations", "--db", f->db, "--rules", RULES, "--now",
                            "2026-03-03T10:00:00Z", NULL),
                     0);
    const char *v1 = strstr(out, "V-1"), *b1 = strstr(out, "B-1");
    assert_non_null(v1);
    assert_non_null(b1);
    const char *v1_line = v1, *b1_line = b1;
    while (v1_line > out && v1_line[-1] != '\n')
        v1_line--;
    while (b1_line > out && b1_line[-1] != '\n')
        b1_line--;
    assert_non_null(strstr(v1_line, "cliënt"));
    /* the subjects start at the same column, past the longest title (58
     * characters, 59 bytes) and its space, as does the header's BETREFT */
    int col = chars_in(v1_line, (size_t)(v1 - v1_line));
    assert_int_equal(col, 6 + 1 + 58 + 1);
    assert_int_equal(chars_in(b1_line, (size_t)(b1 - b1_line)), col);
    const char *head = strstr(out, "BETREFT");
    assert_non_null(head);
    assert_int_equal(chars_in(out, (size_t)(head - out)), col);
    free(out);
    free(err);
}

/* Open and overdue, sorted by due, with title and seconds_left as of
 * --now; the table says the time left in Dutch. */
static void test_obligations_as_of(void **state)
{
    fx *f = *state;
    ingest(f, "a.ndjson", events, "2026-03-03T10:00:00Z");
    ingest(f, "b.ndjson", known_first, "2026-03-03T10:00:00Z");
    char *out = NULL, *err = NULL;
    /* as of 3 March 10:00Z: B-0 due 4 March 20:00Z (1 day 10 h), B-1 due
     * 5 March 08:00Z (1 day 22 h), "=1+2" due 6 March 08:00Z (2 days 22 h) */
    assert_int_equal(obligo(&out, &err, "obligations", "--db", f->db, "--rules", RULES, "--status",
                            "open,overdue", "--now", "2026-03-03T10:00:00Z", "--json", NULL),
                     0);
    cJSON *arr = cJSON_Parse(out);
    assert_non_null(arr);
    assert_int_equal(cJSON_GetArraySize(arr), 3);
    const cJSON *zero = cJSON_GetArrayItem(arr, 0);
    const cJSON *first = cJSON_GetArrayItem(arr, 1), *second = cJSON_GetArrayItem(arr, 2);
    assert_string_equal(support_str(zero, "subject"), "B-0");
    assert_int_equal((long)num(zero, "seconds_left"), (1 * 24 + 10) * 3600);
    assert_string_equal(support_str(first, "subject"), "B-1");
    assert_string_equal(support_str(second, "subject"), "=1+2");
    assert_string_equal(support_str(first, "title"),
                        "Datalek melden bij de Autoriteit Persoonsgegevens");
    assert_string_equal(support_str(first, "kind"), "avg.notify_ap");
    assert_string_equal(support_str(first, "due_at"), "2026-03-05T08:00:00Z");
    assert_int_equal((long)num(first, "seconds_left"), (1 * 24 + 22) * 3600);
    assert_int_equal((long)num(second, "seconds_left"), (2 * 24 + 22) * 3600);
    cJSON_Delete(arr);
    free(out);
    free(err);

    /* the table: title, subject, status, due in Amsterdam time, time left */
    assert_int_equal(obligo(&out, &err, "obligations", "--db", f->db, "--rules", RULES, "--now",
                            "2026-03-03T04:00:00Z", NULL),
                     0);
    /* the row of B-1: its title, then (padded to the widest title) B-1 */
    const char *b1 = strstr(out, " B-1 ");
    assert_non_null(b1);
    while (b1 > out && b1[-1] != '\n')
        b1--;
    const char *eol = strchr(b1, '\n');
    const char *title = strstr(b1, "Datalek melden bij de Autoriteit Persoonsgegevens ");
    assert_true(title && title < eol && title < strstr(b1, " B-1 "));
    assert_non_null(strstr(b1, "2026-03-05 09:00  nog 2 dagen 4 uur"));
    assert_true(strstr(b1, "nog 2 dagen 4 uur") < eol);
    assert_non_null(strstr(out, "=1+2"));
    /* by due time: B-0, B-1, "=1+2" */
    const char *b0 = strstr(out, "B-0");
    assert_non_null(b0);
    assert_true(b0 < b1);
    assert_true(b1 < strstr(out, "=1+2"));
    assert_non_null(strstr(b0, "nog 1 dag 16 uur\n"));
    free(out);
    free(err);

    /* later than the due instant: "te laat"; under a day: hours only */
    assert_int_equal(obligo(&out, &err, "obligations", "--db", f->db, "--rules", RULES, "--now",
                            "2026-03-05T11:30:00Z", "--status", "open", NULL),
                     0);
    assert_non_null(strstr(out, "3 uur te laat"));
    assert_non_null(strstr(out, "nog 20 uur"));
    free(out);
    free(err);
}

static void test_obligations_within(void **state)
{
    fx *f = *state;
    ingest(f, "a.ndjson", events, "2026-03-03T10:00:00Z");
    char *out = NULL, *err = NULL;
    /* within 2 days of 3 March 10:00Z: only B-1 (due 5 March 08:00Z) */
    assert_int_equal(obligo(&out, &err, "obligations", "--db", f->db, "--rules", RULES, "--within",
                            "2d", "--now", "2026-03-03T10:00:00Z", "--json", NULL),
                     0);
    cJSON *arr = cJSON_Parse(out);
    assert_int_equal(cJSON_GetArraySize(arr), 1);
    assert_string_equal(support_str(arr->child, "subject"), "B-1");
    cJSON_Delete(arr);
    free(out);
    free(err);
    /* 46h is exactly up to B-1's due instant; 45h59m... 45h is not */
    assert_int_equal(obligo(&out, &err, "obligations", "--db", f->db, "--rules", RULES, "--within",
                            "45h", "--now", "2026-03-03T10:00:00Z", "--json", NULL),
                     0);
    arr = cJSON_Parse(out);
    assert_int_equal(cJSON_GetArraySize(arr), 0);
    cJSON_Delete(arr);
    free(out);
    free(err);
    /* an overdue one is kept by --within (it is due before now + span) */
    assert_int_equal(obligo(&out, &err, "obligations", "--db", f->db, "--rules", RULES, "--within",
                            "30m", "--status", "open,overdue", "--now", "2026-03-05T11:30:00Z",
                            "--json", NULL),
                     0);
    arr = cJSON_Parse(out);
    assert_int_equal(cJSON_GetArraySize(arr), 1);
    assert_string_equal(support_str(arr->child, "subject"), "B-1");
    assert_int_equal((long)num(arr->child, "seconds_left"), -(3 * 3600 + 30 * 60));
    cJSON_Delete(arr);
    free(out);
    free(err);
    /* a bad span is a usage error */
    assert_int_equal(obligo(&out, &err, "obligations", "--db", f->db, "--within", "7 days", NULL),
                     2);
    assert_non_null(strstr(err, "--within '7 days' is not a duration"));
    free(out);
    free(err);
}

static void test_obligations_usage(void **state)
{
    fx *f = *state;
    ingest(f, "a.ndjson", events, "2026-03-03T10:00:00Z");
    char *out = NULL, *err = NULL;
    assert_int_equal(
        obligo(&out, &err, "obligations", "--db", f->db, "--status", "open,bogus", NULL), 2);
    assert_non_null(strstr(err, "--status 'bogus' is not a status"));
    assert_non_null(strstr(err, "open, overdue, fulfilled, late, cancelled"));
    assert_string_equal(out, "");
    free(out);
    free(err);
    assert_int_equal(obligo(&out, &err, "obligations", "--db", f->db, "--now", "yesterday", NULL),
                     2);
    free(out);
    free(err);
    assert_int_equal(obligo(&out, &err, "obligations", "--db", f->db, "--bom", NULL), 2);
    assert_non_null(strstr(err, "--bom goes with --csv"));
    free(out);
    free(err);
    /* rules that do not load: the kind names stand in, and it says so */
    assert_int_equal(obligo(&out, &err, "obligations", "--db", f->db, "--rules",
                            "/nonexistent/rules", "--now", "2026-03-03T10:00:00Z", "--json", NULL),
                     0);
    assert_non_null(strstr(err, "showing kind names instead of titles"));
    cJSON *arr = cJSON_Parse(out);
    assert_string_equal(support_str(by_kind(arr, "avg.notify_ap", "B-1"), "title"),
                        "avg.notify_ap");
    cJSON_Delete(arr);
    free(out);
    free(err);
}

/* Each listed declaration's file:line is where the declaration is. */
static void assert_declared_at(const cJSON *entry, const char *keyword)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", RULES, support_str(entry, "file")); /* within RULES */
    char *text = support_file(path);
    int line = (int)num(entry, "line");
    const char *p = text;
    for (int i = 1; i < line && p; i++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    assert_non_null(p);
    char want[256];
    snprintf(want, sizeof want, "%s \"%s\"", keyword, support_str(entry, "name"));
    assert_int_equal(strncmp(p, want, strlen(want)), 0);
    free(text);
}

static void test_rules_listing(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    assert_int_equal(obligo(&out, &err, "rules", "--rules", RULES, "--json", NULL), 0);
    cJSON *doc = cJSON_Parse(out);
    assert_non_null(doc);
    assert_int_equal(strlen(support_str(doc, "revision")), 16);
    const cJSON *kinds = cJSON_GetObjectItemCaseSensitive(doc, "duties");
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(doc, "rules");
    assert_true(cJSON_GetArraySize(kinds) > 5);
    assert_true(cJSON_GetArraySize(rules) > 5);
    int found = 0;
    const cJSON *k;
    cJSON_ArrayForEach(k, kinds)
    {
        assert_true(*support_str(k, "title"));
        assert_true(*support_str(k, "source"));
        assert_declared_at(k, "obligation");
        if (strcmp(support_str(k, "name"), "avg.notify_ap") == 0) {
            found = 1;
            assert_string_equal(support_str(k, "title"),
                                "Datalek melden bij de Autoriteit Persoonsgegevens");
            assert_string_equal(support_str(k, "source"), "AVG art. 33 lid 1");
            assert_string_equal(support_str(k, "source_url"),
                                "https://eur-lex.europa.eu/legal-content/NL/TXT/"
                                "?uri=CELEX:32016R0679");
        }
        if (strcmp(support_str(k, "name"), "wgbo.retention_review") == 0)
            assert_string_equal(support_str(k, "source_url"),
                                "https://wetten.overheid.nl/BWBR0005290");
        if (strcmp(support_str(k, "name"), "ict.daily_backup") == 0) /* a norm: no link */
            assert_null(cJSON_GetObjectItemCaseSensitive(k, "source_url"));
        assert_null(cJSON_GetObjectItemCaseSensitive(k, "tested")); /* the server's to say */
    }
    assert_true(found);
    found = 0;
    cJSON_ArrayForEach(k, rules)
    {
        assert_true(*support_str(k, "title"));
        assert_true(*support_str(k, "source"));
        assert_declared_at(k, "rule");
        assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(k, "types")));
        if (strcmp(support_str(k, "name"), "nen7513.vip_burst") == 0) {
            found = 1;
            assert_string_equal(support_str(k, "severity"), "critical");
        }
        if (strcmp(support_str(k, "name"), "nen7513.review") == 0) /* it raises no alert */
            assert_null(cJSON_GetObjectItemCaseSensitive(k, "severity"));
    }
    assert_true(found);
    /* the revision is the one `obligo check` reports */
    char *check = NULL, *cerr = NULL;
    assert_int_equal(obligo(&check, &cerr, "check", RULES, NULL), 0);
    assert_non_null(strstr(check, support_str(doc, "revision")));
    free(check);
    free(cerr);
    cJSON_Delete(doc);
    free(out);
    free(err);
    /* the table names each duty with its title and source */
    assert_int_equal(obligo(&out, &err, "rules", "--rules", RULES, NULL), 0);
    assert_non_null(strstr(out, "  avg.notify_ap\n    Datalek melden bij de Autoriteit "
                                "Persoonsgegevens\n    bron: AVG art. 33 lid 1\n"));
    free(out);
    free(err);
    assert_int_equal(obligo(&out, &err, "rules", "--rules", "/nonexistent/rules", NULL), 2);
    free(out);
    free(err);
}

/* The line of text that starts with prefix, or NULL. */
static const char *line_starting(const char *text, const char *prefix)
{
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, prefix, strlen(prefix)) == 0)
            return p;
    return NULL;
}

static void test_csv_everywhere(void **state)
{
    fx *f = *state;
    ingest(f, "a.ndjson", events, "2026-03-03T10:00:00Z");
    ingest(f, "b.ndjson", later, "2026-03-06T12:00:00Z");
    char *out = NULL, *err = NULL;

    /* the register: one column per data field, first-seen order; the key
     * "=1+2" neutralised; UTF-8 through unchanged after the BOM */
    assert_int_equal(
        obligo(&out, &err, "register", "datalekken", "--db", f->db, "--csv", "--bom", NULL), 0);
    assert_memory_equal(out, "\xEF\xBB\xBF", 3);
    /* "=1+2" sorts first: its fields, then those B-1 adds */
    assert_non_null(strstr(out, "\xEF\xBB\xBFregister,key,version,at,hash,prev_hash,aware_at,"
                                "categories,description,personal_data,reports,status,"
                                "subjects_informed,unintelligible,cause,persons_affected,"
                                "records_affected,reporter,rationale,risk,ap_reference,"
                                "notification_phase,notifications,notified_at\r\n"));
    const char *b1 = strstr(out, "\r\ndatalekken,B-1,");
    assert_non_null(b1);
    assert_non_null(strstr(b1,
                           ",2026-03-02T09:00:00+01:00,\"[\"\"health\"\",\"\"bsn\"\"]\","
                           "USB-stick kwijt,yes,\"[\"\"B-1\"\"]\",notified,false,false,"
                           "lost_device,120,340,"
                           "\"{\"\"name\"\":\"\"A. Jansen\"\",\"\"role\"\":\"\"FG\"\","
                           "\"\"phone\"\":\"\"+31 20 1234567\"\"}\",onversleuteld,high,AP-77,"
                           "supplement,\"[{\"\"notified_at\"\":\"\"2026-03-04T10:00:00+01:00\"\","
                           "\"\"phase\"\":\"\"initial\"\",\"\"reference\"\":\"\"AP-77\"\"},"
                           "{\"\"notified_at\"\":\"\"2026-03-06T10:00:00+01:00\"\","
                           "\"\"phase\"\":\"\"supplement\"\",\"\"reference\"\":\"\"AP-77\"\"}]\","
                           "2026-03-06T10:00:00+01:00\r\n"));
    const char *formula = strstr(out, "\r\ndatalekken,'=1+2,");
    assert_non_null(formula);
    assert_non_null(strstr(formula, "Lijst met cli\xC3\xABnten gemaild"));
    assert_null(strstr(out, ",=1+2"));
    free(out);
    free(err);

    /* obligations, alerts, rejected: a header and neutralised cells */
    assert_int_equal(obligo(&out, &err, "obligations", "--db", f->db, "--rules", RULES, "--csv",
                            "--now", "2026-03-06T12:00:00Z", NULL),
                     0);
    assert_non_null(line_starting(out, "id,kind,title,subject,status,opened_at,starts_at,due_at,"
                                       "legal_limit,closed_at,seconds_left,rationale\r\n"));
    assert_non_null(strstr(out, ",avg.notify_ap,Datalek melden bij de Autoriteit "
                                "Persoonsgegevens,'=1+2,overdue,"));
    free(out);
    free(err);
    assert_int_equal(obligo(&out, &err, "alerts", "--db", f->db, "--csv", NULL), 0);
    assert_non_null(line_starting(out, "id,at,severity,kind,subject,message,rule,event.source,"
                                       "event.id,data\r\n"));
    assert_non_null(strstr(out, ",critical,obligo.obligation_overdue,'=1+2,"));
    assert_non_null(strstr(out, ",urn:obligo:engine,overdue/"));
    free(out);
    free(err);
    assert_int_equal(obligo(&out, &err, "rejected", "--db", f->db, "--csv", NULL), 0);
    assert_non_null(
        line_starting(out, "seq,received_at,origin,field,reason,bytes,raw,raw_base64\r\n"));
    assert_non_null(strstr(out, "a.ndjson:3,"));
    assert_non_null(strstr(out, ",not json,\r\n"));
    free(out);
    free(err);
}

static const cJSON *question(const cJSON *form, const char *id)
{
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(form, "sections"))
    {
        const cJSON *q;
        cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(s, "questions"))
        {
            if (strcmp(support_str(q, "id"), id) == 0)
                return q;
        }
    }
    fail_msg("no question %s", id);
    return NULL;
}

static void test_ap_form(void **state)
{
    fx *f = *state;
    ingest(f, "a.ndjson", events, "2026-03-03T10:00:00Z");
    ingest(f, "b.ndjson", later, "2026-03-06T12:00:00Z");
    char *out = NULL, *err = NULL;
    assert_int_equal(obligo(&out, &err, "register", "datalekken", "--db", f->db, "--ap-form", "B-1",
                            "--json", NULL),
                     0);
    cJSON *form = cJSON_Parse(out);
    assert_non_null(form);
    /* grouped as the AP's form is */
    static const char *const groups[] = {"contact",  "timeline", "nature",      "data",
                                         "numbers",  "groups",   "encryption",  "consequences",
                                         "subjects", "measures", "cross_border"};
    const cJSON *sections = cJSON_GetObjectItemCaseSensitive(form, "sections");
    assert_int_equal(cJSON_GetArraySize(sections), 11);
    for (int i = 0; i < 11; i++)
        assert_string_equal(support_str(cJSON_GetArrayItem(sections, i), "id"), groups[i]);
    assert_string_equal(support_str(question(form, "contact.name"), "text"), "A. Jansen");
    assert_string_equal(support_str(question(form, "contact.phone"), "text"), "+31 20 1234567");
    /* in the catalogue now, but these events do not give it */
    const cJSON *email = question(form, "contact.email");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(email, "answered")));
    assert_null(cJSON_GetObjectItemCaseSensitive(email, "in_catalogue"));
    assert_string_equal(support_str(email, "text"), "niet beantwoord");
    assert_string_equal(support_str(question(form, "timeline.discovered"), "text"),
                        "2026-03-02 09:00 (Amsterdam)");
    /* both notification phases, from the entry's notifications */
    assert_string_equal(support_str(question(form, "timeline.notified"), "text"),
                        "eerste melding op 2026-03-04 10:00 (Amsterdam), kenmerk AP-77; "
                        "aanvulling op 2026-03-06 10:00 (Amsterdam), kenmerk AP-77");
    assert_string_equal(support_str(question(form, "data.special"), "text"), "ja");
    assert_string_equal(support_str(question(form, "data.bsn"), "text"), "ja");
    assert_int_equal((int)num(question(form, "numbers.persons"), "value"), 120);
    assert_int_equal((int)num(question(form, "numbers.records"), "value"), 340);
    assert_string_equal(support_str(question(form, "consequences.risk"), "text"),
                        "hoog risico: onversleuteld");
    /* known to the catalogue but not answered by the events */
    const cJSON *measures = question(form, "measures.taken");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(measures, "answered")));
    assert_null(cJSON_GetObjectItemCaseSensitive(measures, "in_catalogue"));
    assert_string_equal(support_str(measures, "text"), "niet beantwoord");
    assert_string_equal(support_str(question(form, "cross_border.other_countries"), "text"),
                        "niet beantwoord");
    assert_int_equal((int)num(form, "not_in_catalogue"), 0);
    /* the breach's events, in journal order */
    const cJSON *evs = cJSON_GetObjectItemCaseSensitive(form, "events");
    assert_int_equal(cJSON_GetArraySize(evs), 4);
    assert_string_equal(support_str(cJSON_GetArrayItem(evs, 0), "id"), "r1");
    assert_string_equal(support_str(cJSON_GetArrayItem(evs, 3), "id"), "n2");
    cJSON_Delete(form);
    free(out);
    free(err);

    /* the text and CSV forms */
    assert_int_equal(
        obligo(&out, &err, "register", "datalekken", "--db", f->db, "--ap-form", "B-1", NULL), 0);
    assert_non_null(strstr(out, "\n1. Contactpersoon\n   Naam: A. Jansen\n"));
    assert_non_null(strstr(out, "   E-mailadres: niet beantwoord\n"));
    assert_null(strstr(out, "kent dit veld nog niet)"));
    free(out);
    free(err);
    assert_int_equal(obligo(&out, &err, "register", "datalekken", "--db", f->db, "--ap-form", "B-1",
                            "--csv", NULL),
                     0);
    assert_non_null(line_starting(out, "section,id,question,answered,answer\r\n"));
    assert_non_null(strstr(out, "\r\nContactpersoon,contact.phone,Telefoonnummer,true,'+31 20 "
                                "1234567\r\n"));
    free(out);
    free(err);

    /* an unknown breach: exit 1 naming it; --ap-form on another register is
     * a usage error */
    assert_int_equal(
        obligo(&out, &err, "register", "datalekken", "--db", f->db, "--ap-form", "B-9", NULL), 1);
    assert_non_null(strstr(err, "no breach 'B-9' in the register datalekken"));
    free(out);
    free(err);
    assert_int_equal(
        obligo(&out, &err, "register", "verzoeken", "--db", f->db, "--ap-form", "B-1", NULL), 2);
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_obligations_as_of, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_aligns_accented_titles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_obligations_within, setup, teardown),
        cmocka_unit_test_setup_teardown(test_obligations_usage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rules_listing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_everywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ap_form, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
