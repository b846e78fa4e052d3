/*
 * test_replay.c — `obligo replay`: a journal recorded with `obligo ingest
 * --clock events` (events dated in June 2026) judged again with the same
 * pack (no differences), with a changed policy, an edited period, a
 * removed rule file and an added one that opens a new duty (the
 * differences expected, in text and in --json), a deadline the journal
 * fired fired the same way (and later with a longer period),
 * narrowed by --since, --until and --type; the database file byte-identical
 * afterwards; and bad input refused with exit 2 and a message naming it.
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

#define EV(id, type, time, data)                                                                   \
    "{\"specversion\":\"1.0\",\"id\":\"" id "\",\"source\":\"urn:praktijk\",\"type\":\"" type      \
    "\",\"time\":\"" time "\",\"data\":" data "}\n"
#define VIP(id, user, time)                                                                        \
    EV(id, "nl.nen7513.access", time,                                                              \
       "{\"user\":{\"id\":\"" user "\"},\"client_id\":\"VIP1\",\"action\":\"read\","               \
       "\"system\":\"ecd\",\"vip\":true,\"treatment_relation\":true,\"authentication\":\"2fa\"}")

/* A backup on Tuesday 23:30 CEST (due Thursday 05:30 CEST with the pack's
 * 24 h + 6 h; it fires overdue), three users in a VIP record within an hour
 * (the pack's threshold is 5), and an access without treatment relation. */
static const char journal[] =
    EV("k1", "nl.ict.backup.completed", "2026-06-09T23:30:00+02:00",
       "{\"system\":\"ecd\",\"completed_at\":\"2026-06-09T23:30:00+02:00\"}")
        VIP("v1", "U1", "2026-06-10T08:00:00+02:00") VIP("v2", "U2", "2026-06-10T08:10:00+02:00")
            VIP("v3", "U3", "2026-06-10T08:20:00+02:00")
                EV("a1", "nl.nen7513.access", "2026-06-10T09:00:00+02:00",
                   "{\"user\":{\"id\":\"U1\",\"role\":\"nurse\"},\"client_id\":\"C9\","
                   "\"action\":\"read\",\"system\":\"ecd\",\"treatment_relation\":false,"
                   "\"authentication\":\"2fa\"}");

typedef struct fixture {
    char *dir;
    char db[600], rules[600], policy[600];
} fixture;

static int fixture_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    snprintf(f->db, sizeof f->db, "%s/obligo.db", f->dir);
    snprintf(f->rules, sizeof f->rules, "%s/rules", f->dir);
    free(support_write(f->dir, "events.ndjson", journal));
    char *p = support_write(f->dir, "policy.json",
                            "{\"policy\": {\"nen7513.vip_burst.users\": 3, "
                            "\"ict.daily_backup.grace_hours\": 12}}");
    snprintf(f->policy, sizeof f->policy, "%s", p);
    free(p);
    char events[700];
    snprintf(events, sizeof events, "%s/events.ndjson", f->dir);
    char *argv[] = {
        (char *)OBLIGO_BIN, "ingest", "--rules", OBLIGO_SOURCE_DIR "/rules",  "--db", f->db,
        "--clock",          "events", "--until", "2026-06-12T12:00:00+02:00", events, NULL};
    if (support_run(argv, NULL, NULL) != 0)
        return -1;
    /* a copy of the pack the tests may change */
    char *cp[] = {"/bin/cp", "-r", OBLIGO_SOURCE_DIR "/rules", f->rules, NULL};
    if (support_run(cp, NULL, NULL) != 0)
        return -1;
    *state = f;
    return 0;
}

static int fixture_teardown(void **state)
{
    fixture *f = *state;
    support_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Runs `obligo replay --db DB --rules RULES` with up to six more
 * arguments; returns the exit status with stdout and stderr. */
static int replay(const fixture *f, const char *rules, char **out, char **err, const char *a1,
                  const char *a2, const char *a3, const char *a4, const char *a5, const char *a6)
{
    char *argv[] = {(char *)OBLIGO_BIN, "replay",   "--db",     (char *)f->db, "--rules",
                    (char *)rules,      (char *)a1, (char *)a2, (char *)a3,    (char *)a4,
                    (char *)a5,         (char *)a6, NULL};
    return support_run(argv, out, err);
}

static void expect_text(const char *out, const char *want)
{
    if (!out || !strstr(out, want))
        fail_msg("expected '%s' in:\n%s", want, out ? out : "(nothing)");
}

static void expect_no_text(const char *out, const char *unwanted)
{
    if (out && strstr(out, unwanted))
        fail_msg("did not expect '%s' in:\n%s", unwanted, out);
}

/* The file's SHA-256 in hex. */
static void file_hash(const char *path, char out[65])
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    const char *parts[] = {buf};
    size_t lens[] = {(size_t)n};
    support_sha256_parts(out, 1, parts, lens);
    free(buf);
}

static void unchanged_pack_reports_nothing(void **state)
{
    fixture *f = *state;
    char *out = NULL;
    assert_int_equal(
        replay(f, OBLIGO_SOURCE_DIR "/rules", &out, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 0);
    expect_text(out, "5 events judged, 2026-06-09T21:30:00Z to 2026-06-11T03:30:00Z");
    expect_text(out, "differences: 0\n");
    free(out);
}

static void changed_policy_differs(void **state)
{
    fixture *f = *state;
    char *out = NULL;
    assert_int_equal(replay(f, f->rules, &out, NULL, "--config", f->policy, NULL, NULL, NULL, NULL),
                     1);
    expect_text(out, "differences: 3 (obligation_status 1, alert_raised 1, alert_not_raised 1)");
    /* 3 users are now a burst: raised at the third access */
    expect_text(out, "alert_raised nen7513.vip_burst \"VIP1\"\n  recorded:  none\n"
                     "  candidate: 1 raised\n"
                     "  cause:     nl.nen7513.access urn:praktijk/v3 at 2026-06-10T06:20:00Z");
    /* 12 h grace: due 11:30 CEST, after the journal's end, so not overdue */
    expect_text(out, "obligation_status ict.daily_backup \"ecd\"\n"
                     "  recorded:  overdue, due 2026-06-11T03:30:00Z\n"
                     "  candidate: open, due 2026-06-11T09:30:00Z\n"
                     "  cause:     nl.ict.backup.completed urn:praktijk/k1");
    expect_text(out, "alert_not_raised obligo.obligation_overdue \"ecd\"");
    free(out);

    /* the same as one JSON object */
    assert_int_equal(
        replay(f, f->rules, &out, NULL, "--config", f->policy, "--json", NULL, NULL, NULL), 1);
    cJSON *r = cJSON_Parse(out);
    assert_non_null(r);
    assert_int_equal(cJSON_GetObjectItem(r, "events")->valueint, 5);
    const cJSON *counts = cJSON_GetObjectItem(r, "counts");
    assert_int_equal(cJSON_GetObjectItem(counts, "alert_raised")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(counts, "obligation_status")->valueint, 1);
    const cJSON *revs = cJSON_GetObjectItem(r, "revisions");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(revs, "recorded")), 1);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(revs, "candidate")));
    const cJSON *diffs = cJSON_GetObjectItem(r, "differences"), *d;
    assert_int_equal(cJSON_GetArraySize(diffs), 3);
    int seen = 0;
    cJSON_ArrayForEach(d, diffs)
    {
        if (strcmp(support_str(d, "change"), "obligation_status") != 0)
            continue;
        seen = 1;
        assert_string_equal(support_str(d, "kind"), "ict.daily_backup");
        assert_string_equal(support_str(d, "subject"), "ecd");
        assert_string_equal(support_str(cJSON_GetObjectItem(d, "recorded"), "status"), "overdue");
        assert_string_equal(support_str(cJSON_GetObjectItem(d, "candidate"), "due_at"),
                            "2026-06-11T09:30:00Z");
        const cJSON *cause = cJSON_GetObjectItem(d, "cause");
        assert_string_equal(support_str(cause, "source"), "urn:praktijk");
        assert_string_equal(support_str(cause, "id"), "k1");
        assert_string_equal(support_str(cause, "time"), "2026-06-09T21:30:00Z");
    }
    assert_true(seen);
    cJSON_Delete(r);
    free(out);
}

/* Replaces the first `from` in dir/name with `to`. */
static void edit(const char *dir, const char *name, const char *from, const char *to)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = 0;
    char *at = strstr(buf, from);
    assert_non_null(at);
    size_t len = strlen(buf) - strlen(from) + strlen(to) + 1;
    char *text = malloc(len);
    snprintf(text, len, "%.*s%s%s", (int)(at - buf), buf, to, at + strlen(from));
    free(support_write(dir, name, text));
    free(text);
}

static void edited_period_moves_the_due_date(void **state)
{
    fixture *f = *state;
    /* a 12 h backup period: due Wednesday 17:30 CEST, overdue then as well */
    edit(f->rules, "ict/practice.lua", "policy(\"ict.daily_backup.hours\", 24)",
         "policy(\"ict.daily_backup.hours\", 12)");
    char *out = NULL;
    assert_int_equal(replay(f, f->rules, &out, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 1);
    expect_text(out, "differences: 1 (obligation_due 1)");
    expect_text(out, "obligation_due ict.daily_backup \"ecd\"\n"
                     "  recorded:  overdue, due 2026-06-11T03:30:00Z\n"
                     "  candidate: overdue, due 2026-06-10T15:30:00Z");
    free(out);
    edit(f->rules, "ict/practice.lua", "policy(\"ict.daily_backup.hours\", 12)",
         "policy(\"ict.daily_backup.hours\", 24)");
}

/* A rule file added to the pack that declares a new duty, opened by the
 * journal's backup event through the DSL's opened_by: the replay reports
 * it opened, for that subject, caused by that event. */
static void new_rule_opens_a_new_duty(void **state)
{
    fixture *f = *state;
    free(support_write(f->rules, "ict/restore.lua",
                       "obligation \"ict.restore_test\" {\n"
                       "  title    = \"Een herstel uit de back-up testen\",\n"
                       "  source   = \"Praktijkbeleid; NEN 7510 12.3.1\",\n"
                       "  due      = days(30),\n"
                       "  opened_by = { on = \"nl.ict.backup.completed\", subject = "
                       "\"data.system\",\n"
                       "                at = \"data.completed_at\" },\n"
                       "}\n"));
    char *out = NULL;
    assert_int_equal(replay(f, f->rules, &out, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 1);
    expect_text(out, "differences: 1 (obligation_opened 1)");
    /* 30 days on the Amsterdam wall clock from Tuesday 23:30 CEST */
    expect_text(out,
                "obligation_opened ict.restore_test \"ecd\"\n"
                "  recorded:  none\n"
                "  candidate: open, due 2026-07-09T21:30:00Z\n"
                "  cause:     nl.ict.backup.completed urn:praktijk/k1 at 2026-06-09T21:30:00Z\n");
    free(out);

    assert_int_equal(replay(f, f->rules, &out, NULL, "--json", NULL, NULL, NULL, NULL, NULL), 1);
    cJSON *r = cJSON_Parse(out);
    assert_non_null(r);
    const cJSON *diffs = cJSON_GetObjectItem(r, "differences");
    assert_int_equal(cJSON_GetArraySize(diffs), 1);
    const cJSON *d = cJSON_GetArrayItem(diffs, 0);
    assert_string_equal(support_str(d, "change"), "obligation_opened");
    assert_string_equal(support_str(d, "kind"), "ict.restore_test");
    assert_string_equal(support_str(d, "subject"), "ecd");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(d, "recorded")));
    const cJSON *cand = cJSON_GetObjectItem(d, "candidate");
    assert_string_equal(support_str(cand, "status"), "open");
    assert_string_equal(support_str(cand, "due_at"), "2026-07-09T21:30:00Z");
    const cJSON *cause = cJSON_GetObjectItem(d, "cause");
    assert_string_equal(support_str(cause, "source"), "urn:praktijk");
    assert_string_equal(support_str(cause, "id"), "k1");
    assert_string_equal(support_str(cause, "time"), "2026-06-09T21:30:00Z");
    assert_string_equal(support_str(cause, "type"), "nl.ict.backup.completed");
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(r, "counts"), "obligation_opened")->valueint, 1);
    cJSON_Delete(r);
    free(out);
    char path[700];
    snprintf(path, sizeof path, "%s/ict/restore.lua", f->rules);
    assert_int_equal(remove(path), 0);
}

/* The backup deadline fired overdue in the recorded journal (Thursday
 * 05:30 CEST): the unchanged pack fires it the same way, with its alert,
 * also when the replay ends just before or long after it; a longer period
 * keeps it open up to the journal's end, and fires it later when the
 * replay runs on. */
static void deadline_fired_in_the_journal_fires_in_the_replay(void **state)
{
    fixture *f = *state;
    /* what the journal holds: the deadline fired, with its alert */
    cJSON *obs = support_query(f->db, "obligations", NULL);
    const cJSON *ob = support_find(obs, "ict.daily_backup", "ecd", NULL);
    assert_non_null(ob);
    assert_string_equal(support_str(ob, "status"), "overdue");
    cJSON_Delete(obs);
    cJSON *alerts = support_query(f->db, "alerts", NULL);
    int n = 0;
    assert_non_null(support_find(alerts, "obligo.obligation_overdue", "ecd", &n));
    assert_int_equal(n, 1);
    cJSON_Delete(alerts);

    char *out = NULL;
    /* the journal's end is the deadline's own event: it fires in the
     * replay at that instant */
    assert_int_equal(replay(f, OBLIGO_SOURCE_DIR "/rules", &out, NULL, "--type",
                            "nl.ict.backup.completed", NULL, NULL, NULL, NULL),
                     0);
    expect_text(out, "to 2026-06-11T03:30:00Z");
    expect_text(out, "differences: 0\n");
    free(out);
    /* a second before it, neither had fired; long after it, both had */
    const char *untils[] = {"2026-06-11T03:29:59Z", "2026-06-12T12:00:00+02:00"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(replay(f, OBLIGO_SOURCE_DIR "/rules", &out, NULL, "--until", untils[i],
                                "--json", NULL, NULL, NULL),
                         0);
        expect_text(out, "\"differences\":[]");
        free(out);
    }

    /* 36 h + 6 h: due Thursday 17:30 CEST, after the journal's end */
    edit(f->rules, "ict/practice.lua", "policy(\"ict.daily_backup.hours\", 24)",
         "policy(\"ict.daily_backup.hours\", 36)");
    assert_int_equal(replay(f, f->rules, &out, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 1);
    expect_text(out, "differences: 2 (obligation_status 1, alert_not_raised 1)");
    expect_text(out,
                "obligation_status ict.daily_backup \"ecd\"\n"
                "  recorded:  overdue, due 2026-06-11T03:30:00Z\n"
                "  candidate: open, due 2026-06-11T15:30:00Z\n"
                "  cause:     nl.ict.backup.completed urn:praktijk/k1 at 2026-06-09T21:30:00Z\n");
    /* the overdue alert a deadline raised is caused by the event that
     * opened its obligation */
    expect_text(out,
                "alert_not_raised obligo.obligation_overdue \"ecd\"\n"
                "  recorded:  1 raised\n  candidate: none\n"
                "  cause:     nl.ict.backup.completed urn:praktijk/k1 at 2026-06-09T21:30:00Z\n");
    free(out);
    /* replayed on to Friday noon, the candidate fires it too, later */
    assert_int_equal(replay(f, f->rules, &out, NULL, "--until", "2026-06-12T12:00:00+02:00", NULL,
                            NULL, NULL, NULL),
                     1);
    expect_text(out, "differences: 1 (obligation_due 1)");
    expect_text(out, "obligation_due ict.daily_backup \"ecd\"\n"
                     "  recorded:  overdue, due 2026-06-11T03:30:00Z\n"
                     "  candidate: overdue, due 2026-06-11T15:30:00Z\n");
    expect_no_text(out, "obligo.obligation_overdue");
    free(out);
    edit(f->rules, "ict/practice.lua", "policy(\"ict.daily_backup.hours\", 36)",
         "policy(\"ict.daily_backup.hours\", 24)");
}

static void removed_rule_file(void **state)
{
    fixture *f = *state;
    char path[700];
    snprintf(path, sizeof path, "%s/nen7513/access.lua", f->rules);
    char *saved = NULL;
    {
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        saved = calloc(1, 65536);
        assert_true(fread(saved, 1, 65535, fp) > 0);
        fclose(fp);
    }
    assert_int_equal(remove(path), 0);
    char *out = NULL;
    assert_int_equal(replay(f, f->rules, &out, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 1);
    expect_text(out, "differences: 1 (alert_not_raised 1)");
    expect_text(out, "alert_not_raised nen7513.no_treatment_relation \"C9\"\n"
                     "  recorded:  1 raised\n  candidate: none\n"
                     "  cause:     nl.nen7513.access urn:praktijk/a1 at 2026-06-10T07:00:00Z");
    free(out);
    free(support_write(f->rules, "nen7513/access.lua", saved));
    free(saved);
}

static void since_until_and_type_narrow_the_report(void **state)
{
    fixture *f = *state;
    char *out = NULL;
    /* only what NEN 7513 access events caused */
    assert_int_equal(replay(f, f->rules, &out, NULL, "--config", f->policy, "--type",
                            "nl.nen7513.*", NULL, NULL),
                     1);
    expect_text(out, "differences: 1 (alert_raised 1)");
    expect_text(out, "reported: type nl.nen7513.*");
    expect_no_text(out, "ict.daily_backup");
    free(out);
    assert_int_equal(replay(f, f->rules, &out, NULL, "--config", f->policy, "--type",
                            "nl.ict.backup.completed", NULL, NULL),
                     1);
    expect_text(out, "differences: 2 (obligation_status 1, alert_not_raised 1)");
    free(out);
    /* the burst at 08:20 CEST lies before --since: the state still counts
     * the three users, but the alert is not reported */
    assert_int_equal(replay(f, f->rules, &out, NULL, "--config", f->policy, "--since",
                            "2026-06-11T00:00:00Z", NULL, NULL),
                     1);
    expect_text(out, "differences: 2 (obligation_status 1, alert_not_raised 1)");
    expect_no_text(out, "vip_burst");
    free(out);
    /* up to Wednesday noon: no deadline had passed yet in either */
    assert_int_equal(replay(f, f->rules, &out, NULL, "--config", f->policy, "--until",
                            "2026-06-10T12:00:00+02:00", NULL, NULL),
                     1);
    expect_text(out, "to 2026-06-10T10:00:00Z");
    expect_text(out, "differences: 2 (obligation_due 1, alert_raised 1)");
    expect_text(out, "  recorded:  open, due 2026-06-11T03:30:00Z\n"
                     "  candidate: open, due 2026-06-11T09:30:00Z");
    free(out);
    /* the backup obligation was opened before --since and has not changed
     * since, nor has the burst been raised since: nothing is reported */
    assert_int_equal(replay(f, f->rules, &out, NULL, "--config", f->policy, "--until",
                            "2026-06-10T12:00:00+02:00", "--since", "2026-06-10T07:00:00Z"),
                     0);
    expect_text(out, "differences: 0\n");
    free(out);
    /* with the pack unchanged and a type nothing matches */
    assert_int_equal(replay(f, OBLIGO_SOURCE_DIR "/rules", &out, NULL, "--type", "nl.avg.*",
                            "--json", NULL, NULL, NULL),
                     0);
    expect_text(out, "\"differences\":[]");
    free(out);
}

static void database_is_untouched(void **state)
{
    fixture *f = *state;
    char before[65], after[65];
    file_hash(f->db, before);
    for (int i = 0; i < 3; i++) {
        char *out = NULL;
        int rc = replay(f, f->rules, &out, NULL, "--config", f->policy, i ? "--json" : NULL, NULL,
                        NULL, NULL);
        assert_int_equal(rc, 1);
        free(out);
    }
    file_hash(f->db, after);
    assert_string_equal(before, after);
}

static void bad_input_is_refused(void **state)
{
    fixture *f = *state;
    char *out = NULL, *err = NULL;
    /* rules that do not load: the file and line */
    char *bad = support_tmpdir();
    free(support_write(bad, "a.lua", "rule \"r\" { title = \"t\",\n  source = \n"));
    assert_int_equal(replay(f, bad, &out, &err, NULL, NULL, NULL, NULL, NULL, NULL), 2);
    expect_text(err, "a.lua:");
    free(out);
    free(err);
    support_rmtree(bad);
    free(bad);

    assert_int_equal(replay(f, f->rules, &out, &err, "--since", "2026-06-12T00:00:00Z", "--until",
                            "2026-06-11T00:00:00Z", NULL, NULL),
                     2);
    expect_text(err, "--since 2026-06-12T00:00:00Z is after --until 2026-06-11T00:00:00Z");
    free(out);
    free(err);

    assert_int_equal(replay(f, f->rules, &out, &err, "--status", "open", NULL, NULL, NULL, NULL),
                     2);
    expect_text(err, "option --status is not an option of this command");
    free(out);
    free(err);

    assert_int_equal(
        replay(f, f->rules, &out, &err, "--since", "yesterday", NULL, NULL, NULL, NULL), 2);
    expect_text(err, "--since 'yesterday' is not an RFC 3339 time");
    free(out);
    free(err);

    char *argv[] = {(char *)OBLIGO_BIN, "replay", "--db", (char *)f->db, NULL};
    assert_int_equal(support_run(argv, &out, &err), 2);
    expect_text(err, "--rules DIR is required");
    free(out);
    free(err);

    /* a database that is not there, and one that holds no events */
    char missing[700];
    snprintf(missing, sizeof missing, "%s/missing.db", f->dir);
    char *argv2[] = {(char *)OBLIGO_BIN, "replay", "--db", missing, "--rules", f->rules, NULL};
    assert_int_equal(support_run(argv2, &out, &err), 2);
    expect_text(err, "missing.db");
    free(out);
    free(err);

    assert_int_equal(
        replay(f, f->rules, &out, &err, "--until", "2026-01-01T00:00:00Z", NULL, NULL, NULL, NULL),
        2);
    expect_text(err, "holds no client event at or before 2026-01-01T00:00:00Z");
    free(out);
    free(err);

    char empty_db[700], empty[700];
    snprintf(empty_db, sizeof empty_db, "%s/empty.db", f->dir);
    free(support_write(f->dir, "empty.ndjson", ""));
    snprintf(empty, sizeof empty, "%s/empty.ndjson", f->dir);
    char *ingest[] = {(char *)OBLIGO_BIN, "ingest", "--rules", f->rules, "--db",
                      empty_db,           empty,    NULL};
    assert_int_equal(support_run(ingest, NULL, NULL), 0);
    char *argv3[] = {(char *)OBLIGO_BIN, "replay", "--db", empty_db, "--rules", f->rules, NULL};
    assert_int_equal(support_run(argv3, &out, &err), 2);
    expect_text(err, "holds no events: nothing to replay");
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(unchanged_pack_reports_nothing, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(changed_policy_differs, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(edited_period_moves_the_due_date, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(removed_rule_file, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(new_rule_opens_a_new_duty, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(deadline_fired_in_the_journal_fires_in_the_replay,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(since_until_and_type_narrow_the_report, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(database_is_untouched, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(bad_input_is_refused, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
