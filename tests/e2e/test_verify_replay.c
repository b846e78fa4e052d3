/*
 * test_verify_replay.c — `obligo verify --replay`, the self-check: a journal
 * judged by two rule-set revisions (an edited pack and another policy, two
 * `obligo ingest` runs on one database) reproduces, each event judged with
 * the revision recorded for it; an obligation's due date changed behind the
 * engine is found (exit 1, what was recorded and what the replay decides);
 * kept sources that were altered, and a revision whose sources the
 * database does not keep, cannot be rebuilt (exit 2, naming the revision),
 * unless --rules is that revision; an empty journal passes.
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
#define BREACH(id, key, time)                                                                      \
    EV(id, "nl.avg.breach.reported", time,                                                         \
       "{\"breach_id\":\"" key "\",\"aware_at\":\"" time "\",\"description\":\"x\","               \
       "\"personal_data\":\"yes\"}")
#define VIP(id, user, time)                                                                        \
    EV(id, "nl.nen7513.access", time,                                                              \
       "{\"user\":{\"id\":\"" user "\"},\"client_id\":\"VIP1\",\"action\":\"read\","               \
       "\"system\":\"ecd\",\"vip\":true,\"treatment_relation\":true,\"authentication\":\"2fa\"}")
#define BACKUP(id, time)                                                                           \
    EV(id, "nl.ict.backup.completed", time, "{\"system\":\"ecd\",\"completed_at\":\"" time "\"}")

/* June: judged by the pack as it is. A breach whose 72 hours pass (the
 * deadline fires), a backup followed by none (overdue), VIP reads. */
static const char part1[] = BREACH("b1", "B-1", "2026-06-01T09:00:00+02:00")
    BACKUP("k1", "2026-06-01T23:30:00+02:00") VIP("v1", "U1", "2026-06-02T08:00:00+02:00")
        VIP("v2", "U2", "2026-06-02T08:10:00+02:00") VIP("v3", "U3", "2026-06-02T08:20:00+02:00");
/* July: judged by an edited pack with a lower VIP threshold (3 users raise
 * the burst alert), so both revisions decide something. */
static const char part2[] = BREACH("b2", "B-2", "2026-07-01T09:00:00+02:00")
    BACKUP("k2", "2026-07-01T23:30:00+02:00") VIP("v4", "U4", "2026-07-02T08:00:00+02:00")
        VIP("v5", "U5", "2026-07-02T08:10:00+02:00") VIP("v6", "U6", "2026-07-02T08:20:00+02:00");

typedef struct fixture {
    char *dir;
    char db[600], edited[600], policy[600], p1[600], p2[600];
} fixture;

static int ingest(const char *db, const char *rules, const char *config, const char *file,
                  const char *until)
{
    char *argv[] = {(char *)OBLIGO_BIN, "ingest",       "--rules",    (char *)rules, "--db",
                    (char *)db,         "--clock",      "events",     "--until",     (char *)until,
                    "--config",         (char *)config, (char *)file, NULL};
    return support_run(argv, NULL, NULL);
}

static int fixture_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    snprintf(f->db, sizeof f->db, "%s/obligo.db", f->dir);
    snprintf(f->edited, sizeof f->edited, "%s/rules", f->dir);
    char *p = support_write(f->dir, "p1.ndjson", part1);
    snprintf(f->p1, sizeof f->p1, "%s", p);
    free(p);
    p = support_write(f->dir, "p2.ndjson", part2);
    snprintf(f->p2, sizeof f->p2, "%s", p);
    free(p);
    p = support_write(f->dir, "plain.json", "{\"sinks\": []}");
    char plain[600];
    snprintf(plain, sizeof plain, "%s", p);
    free(p);
    p = support_write(f->dir, "policy.json",
                      "{\"sinks\": [], \"policy\": {\"nen7513.vip_burst.users\": 3}}");
    snprintf(f->policy, sizeof f->policy, "%s", p);
    free(p);
    /* the edited pack: another file besides the pack's own */
    char *cp[] = {"/bin/cp", "-r", OBLIGO_SOURCE_DIR "/rules", f->edited, NULL};
    if (support_run(cp, NULL, NULL) != 0)
        return -1;
    free(support_write(f->edited, "local/extra.lua",
                       "obligation \"local.review_breach\" {\n"
                       "  title = \"Bespreek het datalek in het team\",\n"
                       "  source = \"Eigen afspraak\",\n"
                       "  due = days(14),\n"
                       "  opened_by = { on = \"nl.avg.breach.reported\", subject = "
                       "\"data.breach_id\" },\n"
                       "}\n"));
    if (ingest(f->db, OBLIGO_SOURCE_DIR "/rules", plain, f->p1, "2026-06-20T12:00:00+02:00") ||
        ingest(f->db, f->edited, f->policy, f->p2, "2026-07-20T12:00:00+02:00"))
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

static int verify(const char *db, char **out, char **err, const char *a1, const char *a2)
{
    char *argv[] = {(char *)OBLIGO_BIN, "verify",   "--replay", "--db",
                    (char *)db,         (char *)a1, (char *)a2, NULL};
    return support_run(argv, out, err);
}

static void expect_text(const char *text, const char *want)
{
    if (!text || !strstr(text, want))
        fail_msg("expected '%s' in:\n%s", want, text ? text : "(nothing)");
}

/* A copy of the fixture's database to tamper with. */
static void copy_db(const fixture *f, const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", f->dir, name);
    char *cp[] = {"/bin/cp", (char *)f->db, out, NULL};
    assert_int_equal(support_run(cp, NULL, NULL), 0);
}

static void sql(const char *db, const char *text)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    support_sql_exec(h, text);
    sqlite3_close(h);
}

static void two_revisions_reproduce(void **state)
{
    fixture *f = *state;
    sqlite3 *h;
    assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
    /* both sets judged events, and each kept its sources: the edited one
     * has the extra file and the policy it was compiled with */
    assert_int_equal(support_sql_int(h, "SELECT count(DISTINCT ruleset) FROM events "
                                        "WHERE source = 'urn:praktijk'"),
                     2);
    assert_int_equal(support_sql_int(h, "SELECT count(*) FROM rulesets"), 2);
    assert_int_equal(support_sql_int(h, "SELECT count(*) FROM ruleset_files "
                                        "WHERE path = 'local/extra.lua'"),
                     1);
    assert_int_equal(support_sql_int(h, "SELECT count(*) FROM rulesets "
                                        "WHERE policy LIKE '%vip_burst.users\":3%'"),
                     1);
    /* the second set decided what the first would not have: the new duty
     * and a burst alert in July */
    assert_int_equal(support_sql_int(h, "SELECT count(*) FROM obligations "
                                        "WHERE kind = 'local.review_breach'"),
                     1);
    assert_int_equal(support_sql_int(h, "SELECT count(*) FROM alerts "
                                        "WHERE kind = 'nen7513.vip_burst'"),
                     1);
    sqlite3_close(h);
    char *out = NULL, *err = NULL;
    /* no --rules and no configured rules: every revision comes from the
     * database */
    int rc = verify(f->db, &out, &err, "--quiet", NULL);
    if (rc != 0)
        fail_msg("exit %d:\n%s%s", rc, out ? out : "", err ? err : "");
    expect_text(out, "10 events judged");
    expect_text(out, "each event judged again with the revision recorded for it");
    expect_text(out, "every recorded outcome reproduces");
    free(out);
    free(err);
    /* --json prints the replay's result */
    out = NULL;
    assert_int_equal(verify(f->db, &out, NULL, "--json", NULL), 0);
    cJSON *r = cJSON_Parse(out);
    assert_non_null(r);
    const cJSON *revs = cJSON_GetObjectItemCaseSensitive(r, "revisions");
    assert_string_equal(support_str(revs, "candidate"), "recorded");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(revs, "recorded")), 2);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "differences")), 0);
    cJSON_Delete(r);
    free(out);
}

static void changed_due_date_is_found(void **state)
{
    fixture *f = *state;
    char db[700];
    copy_db(f, "due.db", db, sizeof db);
    sql(db, "UPDATE obligations SET due_at = due_at + 86400 WHERE kind = 'local.review_breach'");
    char *out = NULL, *err = NULL;
    assert_int_equal(verify(db, &out, &err, NULL, NULL), 1);
    /* 14 days from the breach report of 1 July 09:00 CEST, as the rules
     * decide, and overdue since (its deadline fired: the journal's last
     * event); the database says a day later, so not yet overdue */
    expect_text(out, "obligation_status local.review_breach \"B-2\"");
    expect_text(out, "recorded:  open, due 2026-07-16T07:00:00Z");
    expect_text(out, "replayed:  overdue, due 2026-07-15T07:00:00Z");
    expect_text(out, "cause:     nl.avg.breach.reported urn:praktijk/b2 at 2026-07-01T07:00:00Z");
    expect_text(err, "obligo verify: 1 finding(s)");
    free(out);
    free(err);
}

static void altered_sources_cannot_be_rebuilt(void **state)
{
    fixture *f = *state;
    char db[700];
    copy_db(f, "altered.db", db, sizeof db);
    /* a threshold edited in the kept sources to make the record look right */
    sql(db, "UPDATE ruleset_files SET source = CAST(replace(CAST(source AS TEXT), 'days(14)', "
            "'days(15)') AS BLOB) WHERE path = 'local/extra.lua'");
    char *out = NULL, *err = NULL;
    assert_int_equal(verify(db, &out, &err, NULL, NULL), 2);
    expect_text(err, "they were altered after they were kept");
    free(out);
    free(err);
}

static void sources_not_kept(void **state)
{
    fixture *f = *state;
    char db[700];
    copy_db(f, "old.db", db, sizeof db);
    /* as a database from before the sources were kept */
    sql(db, "DELETE FROM ruleset_files; DELETE FROM rulesets;");
    char *out = NULL, *err = NULL;
    assert_int_equal(verify(db, &out, &err, "--rules", OBLIGO_SOURCE_DIR "/rules"), 2);
    /* the pack stands in for June's revision; July's cannot be rebuilt */
    expect_text(err, "whose sources");
    expect_text(err, "does not keep");
    expect_text(err, "cannot be rebuilt");
    free(out);
    free(err);
    /* a journal judged by one revision only: the pack is that revision */
    char one[700];
    snprintf(one, sizeof one, "%s/one.db", f->dir);
    char plain[700];
    snprintf(plain, sizeof plain, "%s/plain.json", f->dir);
    assert_int_equal(
        ingest(one, OBLIGO_SOURCE_DIR "/rules", plain, f->p1, "2026-06-20T12:00:00+02:00"), 0);
    sql(one, "DELETE FROM ruleset_files; DELETE FROM rulesets;");
    out = err = NULL;
    assert_int_equal(verify(one, &out, &err, "--rules", OBLIGO_SOURCE_DIR "/rules"), 0);
    expect_text(out, "every recorded outcome reproduces");
    free(out);
    free(err);
    out = err = NULL;
    assert_int_equal(verify(one, &out, &err, "--rules", f->edited), 2);
    free(out);
    free(err);
}

static void empty_journal_passes(void **state)
{
    fixture *f = *state;
    char db[700], empty[700], plain[700];
    snprintf(db, sizeof db, "%s/empty.db", f->dir);
    snprintf(plain, sizeof plain, "%s/plain.json", f->dir);
    char *p = support_write(f->dir, "empty.ndjson", "");
    snprintf(empty, sizeof empty, "%s", p);
    free(p);
    assert_int_equal(
        ingest(db, OBLIGO_SOURCE_DIR "/rules", plain, empty, "2026-06-20T12:00:00+02:00"), 0);
    char *out = NULL, *err = NULL;
    assert_int_equal(verify(db, &out, &err, NULL, NULL), 0);
    expect_text(out, "nothing to judge");
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_revisions_reproduce),
        cmocka_unit_test(changed_due_date_is_found),
        cmocka_unit_test(altered_sources_cannot_be_rebuilt),
        cmocka_unit_test(sources_not_kept),
        cmocka_unit_test(empty_journal_passes),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
