/*
 * test_rule_pack.c — end to end: the shipped rule pack (rules/) beyond the
 * AVG breach duties, run through the real binary: record access (NEN 7513),
 * the practice's ICT policy, WGBO retention, IGJ e-health and Cbw.
 *
 * Each case is events in, engine time advanced to `until`, and what must
 * (not) be there. Expected instants are worked out by hand.
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
    "{\"specversion\":\"1.0\",\"id\":\"" id "\",\"source\":\"urn:test\",\"type\":\"" type          \
    "\",\"time\":\"" time "\",\"data\":" data "}\n"

enum what { OBLIGATION, NO_OBLIGATION, ALERT, NO_ALERT };

typedef struct expect {
    enum what what;
    const char *kind, *subject, *status, *due_at;
    int count; /* for ALERT: exact number when > 0 */
} expect;

#define OBL(k, s, status, due)                                                                     \
    {                                                                                              \
        OBLIGATION, k, s, status, due, 0                                                           \
    }
#define NO_OBL(k, s)                                                                               \
    {                                                                                              \
        NO_OBLIGATION, k, s, NULL, NULL, 0                                                         \
    }
#define AL(k, s, n)                                                                                \
    {                                                                                              \
        ALERT, k, s, NULL, NULL, n                                                                 \
    }
#define NO_AL(k, s)                                                                                \
    {                                                                                              \
        NO_ALERT, k, s, NULL, NULL, 0                                                              \
    }

typedef struct scenario {
    const char *events, *until;
    expect want[6];
} scenario;

static void run_scenario(const scenario *s)
{
    char *dir = support_tmpdir();
    char *file = support_write(dir, "events.ndjson", s->events);
    char db[600];
    snprintf(db, sizeof db, "%s/obligo.db", dir);
    char *argv[] = {(char *)OBLIGO_BIN,
                    "ingest",
                    "--db",
                    db,
                    "--rules",
                    (char *)OBLIGO_SOURCE_DIR "/rules",
                    "--clock",
                    "events",
                    "--until",
                    (char *)s->until,
                    file,
                    NULL};
    char *err = NULL;
    int rc = support_run(argv, NULL, &err);
    if (rc != 0)
        fail_msg("ingest exit %d: %s", rc, err);
    cJSON *obls = support_query(db, "obligations", NULL);
    cJSON *alerts = support_query(db, "alerts", NULL);
    assert_non_null(obls);
    assert_non_null(alerts);
    for (const expect *w = s->want; w->kind; w++) {
        int n = 0;
        const cJSON *o =
            support_find(w->what == OBLIGATION || w->what == NO_OBLIGATION ? obls : alerts, w->kind,
                         w->subject, &n);
        switch (w->what) {
        case OBLIGATION:
            if (n != 1)
                fail_msg("obligation %s %s: found %d, expected 1", w->kind, w->subject, n);
            if (w->status)
                assert_string_equal(support_str(o, "status"), w->status);
            if (w->due_at)
                assert_string_equal(support_str(o, "due_at"), w->due_at);
            break;
        case NO_OBLIGATION:
        case NO_ALERT:
            if (n != 0)
                fail_msg("%s %s: found %d, expected none", w->kind, w->subject ? w->subject : "*",
                         n);
            break;
        case ALERT:
            if (w->count ? n != w->count : n == 0)
                fail_msg("alert %s %s: found %d", w->kind, w->subject ? w->subject : "*", n);
            break;
        }
    }
    cJSON_Delete(obls);
    cJSON_Delete(alerts);
    free(err);
    free(file);
    support_assert_replays(db);
    support_rmtree(dir);
    free(dir);
}

static void access_without_treatment_relation(void **state)
{
    scenario s = {
        EV("a1", "nl.nen7513.access", "2026-04-14T13:22:00+02:00",
           "{\"user\":{\"id\":\"U1\",\"role\":\"nurse\"},\"client_id\":\"C9\",\"action\":\"read\","
           "\"system\":\"ecd\",\"treatment_relation\":false,\"authentication\":\"2fa\"}")
            EV("a2", "nl.nen7513.access", "2026-04-14T13:25:00+02:00",
               "{\"user\":{\"id\":\"U2\"},\"client_id\":\"C10\",\"action\":\"read\","
               "\"system\":\"ecd\",\"treatment_relation\":true,\"authentication\":\"password\"}"),
        "2026-04-14T14:00:00+02:00",
        {AL("nen7513.no_treatment_relation", "C9", 1),
         NO_AL("nen7513.no_treatment_relation", "C10"), AL("nen7513.weak_authentication", "C10", 1),
         NO_AL("nen7513.weak_authentication", "C9")},
    };
    run_scenario(&s);
}

static void break_the_glass(void **state)
{
    scenario s = {
        EV("b1", "nl.nen7513.access", "2026-04-18T02:10:00+02:00",
           "{\"user\":{\"id\":\"U200\"},\"client_id\":\"C20\",\"action\":\"read\","
           "\"system\":\"ecd\",\"emergency\":true,\"authentication\":\"uzi\"}")
            EV("b2", "nl.nen7513.access", "2026-04-18T02:30:00+02:00",
               "{\"user\":{\"id\":\"U201\"},\"client_id\":\"C21\",\"action\":\"read\","
               "\"system\":\"ecd\",\"emergency\":true,\"authentication\":\"uzi\","
               "\"reason\":\"acute admission\"}"),
        "2026-04-18T08:00:00+02:00",
        {AL("nen7513.emergency_without_reason", "C20", 1),
         NO_AL("nen7513.emergency_without_reason", "C21")},
    };
    run_scenario(&s);
}

#define VIP(id, user, time)                                                                        \
    EV(id, "nl.nen7513.access", time,                                                              \
       "{\"user\":{\"id\":\"" user "\"},\"client_id\":\"VIP1\",\"action\":\"read\","               \
       "\"system\":\"ecd\",\"vip\":true,\"treatment_relation\":true,\"authentication\":\"2fa\"}")

static void vip_burst_counts_distinct_users_in_window(void **state)
{
    /* four users within 2 h, then one more after the window: no alert;
     * then five distinct users within 2 h: one alert, not one per access */
    scenario s = {
        VIP("v1", "U1", "2026-05-01T08:00:00+02:00") VIP("v2", "U2", "2026-05-01T08:10:00+02:00")
            VIP("v3", "U3", "2026-05-01T08:20:00+02:00")
                VIP("v4", "U3", "2026-05-01T08:30:00+02:00")
                    VIP("v5", "U4", "2026-05-01T08:40:00+02:00")
                        VIP("v6", "U5", "2026-05-01T11:00:00+02:00")
                            VIP("v7", "U6", "2026-05-01T11:10:00+02:00")
                                VIP("v8", "U7", "2026-05-01T11:20:00+02:00")
                                    VIP("v9", "U8", "2026-05-01T11:30:00+02:00")
                                        VIP("v10", "U9", "2026-05-01T11:40:00+02:00")
                                            VIP("v11", "U10", "2026-05-01T11:50:00+02:00"),
        "2026-05-01T12:00:00+02:00",
        {AL("nen7513.vip_burst", "VIP1", 1)},
    };
    run_scenario(&s);
}

static void message_channels(void **state)
{
    scenario s = {
        EV("m1", "nl.ict.message.sent", "2026-05-01T10:00:00+02:00",
           "{\"channel\":\"email\",\"personal_data\":true,\"recipient\":\"x@example.org\"}")
            EV("m2", "nl.ict.message.sent", "2026-05-01T10:05:00+02:00",
               "{\"channel\":\"zorgmail\",\"personal_data\":true,\"recipient\":\"huisarts\"}")
                EV("m3", "nl.ict.message.sent", "2026-05-01T10:06:00+02:00",
                   "{\"channel\":\"whatsapp\",\"personal_data\":false}"),
        "2026-05-01T11:00:00+02:00",
        {AL("ict.insecure_channel", NULL, 1)},
    };
    run_scenario(&s);
}

static void device_decommissioned(void **state)
{
    scenario s = {
        EV("d1", "nl.ict.device.decommissioned", "2026-05-02T10:00:00+02:00",
           "{\"device_id\":\"PRN-1\",\"kind\":\"printer\",\"wipe\":\"delete_files\"}")
            EV("d2", "nl.ict.device.decommissioned", "2026-05-02T10:10:00+02:00",
               "{\"device_id\":\"LT-7\",\"kind\":\"laptop\",\"wipe\":\"overwrite\"}")
                EV("d3", "nl.ict.software.installed", "2026-05-02T10:20:00+02:00",
                   "{\"device_id\":\"LT-3\",\"software\":\"dropbox\",\"installed_by\":\"U9\","
                   "\"approved\":false}")
                    EV("d4", "nl.ict.software.installed", "2026-05-02T10:30:00+02:00",
                       "{\"device_id\":\"LT-4\",\"software\":\"ecd\",\"installed_by\":\"beheer\","
                       "\"approved\":true}"),
        "2026-05-02T11:00:00+02:00",
        {AL("ict.insufficient_wipe", "PRN-1", 1), NO_AL("ict.insufficient_wipe", "LT-7"),
         AL("ict.unapproved_software", "LT-3", 1), NO_AL("ict.unapproved_software", "LT-4")},
    };
    run_scenario(&s);
}

static void backup_missing_then_renewed(void **state)
{
    /* Tue 23:30 CEST + 24 h + 6 h grace = Thu 05:30 CEST = 03:30Z */
    scenario s = {
        EV("k1", "nl.ict.backup.completed", "2026-06-09T23:30:00+02:00",
           "{\"system\":\"ecd\",\"completed_at\":\"2026-06-09T23:30:00+02:00\"}"),
        "2026-06-11T08:00:00+02:00",
        {OBL("ict.daily_backup", "ecd", "overdue", "2026-06-11T03:30:00Z"),
         AL("obligo.obligation_overdue", "ecd", 1)},
    };
    run_scenario(&s);
    /* backups in time re-arm the same obligation: it stays open, one row */
    scenario t = {
        EV("k1", "nl.ict.backup.completed", "2026-06-09T23:30:00+02:00",
           "{\"system\":\"ecd\",\"completed_at\":\"2026-06-09T23:30:00+02:00\"}")
            EV("k2", "nl.ict.backup.completed", "2026-06-10T23:00:00+02:00",
               "{\"system\":\"ecd\",\"completed_at\":\"2026-06-10T23:00:00+02:00\"}"),
        "2026-06-11T08:00:00+02:00",
        {OBL("ict.daily_backup", "ecd", "open", "2026-06-12T03:00:00Z"),
         NO_AL("obligo.obligation_overdue", NULL)},
    };
    run_scenario(&t);
}

static void log_purge_younger_than_five_years_blocked(void **state)
{
    scenario s = {
        EV("p1", "nl.nen7513.purge", "2026-10-01T09:00:00+02:00",
           "{\"written_before\":\"2022-03-01\",\"system\":\"ecd\"}")
            EV("p2", "nl.nen7513.purge", "2026-10-01T09:05:00+02:00",
               "{\"written_before\":\"2021-06-01\",\"system\":\"archief\"}"),
        "2026-10-01T10:00:00+02:00",
        {AL("nen7513.purge_blocked", "ecd", 1), NO_AL("nen7513.purge_blocked", "archief")},
    };
    run_scenario(&s);
}

static void retention_rearmed_by_last_change(void **state)
{
    /* 20 years after the last change, 2027-01-24 10:00 CET = 09:00Z */
    scenario s = {
        EV("r1", "nl.wgbo.record.changed", "2026-03-15T10:00:00+01:00",
           "{\"client_id\":\"C16\",\"changed_at\":\"2026-03-15T10:00:00+01:00\"}")
            EV("r2", "nl.wgbo.record.changed", "2027-01-24T10:00:00+01:00",
               "{\"client_id\":\"C16\",\"changed_at\":\"2027-01-24T10:00:00+01:00\"}"),
        "2027-02-01T00:00:00+01:00",
        {OBL("wgbo.retention_review", "C16", "open", "2047-01-24T09:00:00Z")},
    };
    run_scenario(&s);
}

static void retention_runs_from_the_latest_change_in_any_order(void **state)
{
    /* The newer change arrives first; a change ten years older, sent later,
     * must not re-arm the duty to 2037-03-15: still 20 years after
     * 2027-01-24 10:00 CET. */
    scenario s = {
        EV("r1", "nl.wgbo.record.changed", "2027-01-24T10:00:00+01:00",
           "{\"client_id\":\"C17\",\"changed_at\":\"2027-01-24T10:00:00+01:00\"}")
            EV("r2", "nl.wgbo.record.changed", "2027-01-25T09:00:00+01:00",
               "{\"client_id\":\"C17\",\"changed_at\":\"2017-03-15T10:00:00+01:00\"}"),
        "2027-02-01T00:00:00+01:00",
        {OBL("wgbo.retention_review", "C17", "open", "2047-01-24T09:00:00Z")},
    };
    run_scenario(&s);
}

static void destruction_request_three_months(void **state)
{
    /* received Thu 2026-02-26: 26 May 2026 is a Tuesday -> 23:59:59 CEST */
    scenario s = {
        EV("w1", "nl.avg.request.received", "2026-02-26T10:00:00+01:00",
           "{\"request_id\":\"R-D\",\"kind\":\"record_destruction\",\"client_id\":\"C40\","
           "\"received_at\":\"2026-02-26T10:00:00+01:00\"}")
            EV("w2", "nl.wgbo.record.destroyed", "2026-04-01T10:00:00+02:00",
               "{\"client_id\":\"C40\",\"destroyed_at\":\"2026-04-01T10:00:00+02:00\","
               "\"basis\":\"client_request\"}"),
        "2026-06-01T00:00:00+02:00",
        {OBL("wgbo.destroy_record", "C40", "fulfilled", "2026-05-26T21:59:59Z"),
         NO_OBL("avg.respond_request", "R-D")},
    };
    run_scenario(&s);
}

static void ehealth_fail_and_live_without_assessment(void **state)
{
    scenario s = {
        EV("h1", "nl.igj.ehealth.assessed", "2026-05-10T10:00:00+02:00",
           "{\"application\":\"beeldbellen\",\"themes\":{\"governance\":\"pass\","
           "\"information_security\":\"fail\",\"client_participation\":\"partial\"}}")
            EV("h2", "nl.igj.ehealth.live", "2026-05-11T10:00:00+02:00",
               "{\"application\":\"thuismeten\"}")
                EV("h3", "nl.igj.ehealth.live", "2026-05-11T11:00:00+02:00",
                   "{\"application\":\"beeldbellen\"}"),
        "2026-05-12T00:00:00+02:00",
        /* 90 days after 2026-05-10 10:00 CEST: 2026-08-08 10:00 CEST */
        {OBL("igj.ehealth_remediate", "beeldbellen/information_security", "open",
             "2026-08-08T08:00:00Z"),
         NO_OBL("igj.ehealth_remediate", "beeldbellen/governance"),
         AL("igj.live_without_assessment", "thuismeten", 1),
         AL("igj.live_without_assessment", "beeldbellen", 1)},
    };
    run_scenario(&s);
}

static void cbw_incident_deadlines(void **state)
{
    scenario s = {
        EV("c1", "nl.cbw.incident.detected", "2026-03-02T09:00:00+01:00",
           "{\"incident_id\":\"I-1\",\"aware_at\":\"2026-03-02T09:00:00+01:00\","
           "\"significant\":true}")
            EV("c2", "nl.cbw.incident.reported", "2026-03-04T09:00:00+01:00",
               "{\"incident_id\":\"I-1\",\"stage\":\"notification\","
               "\"reported_at\":\"2026-03-04T09:00:00+01:00\"}"),
        "2026-03-05T00:00:00+01:00",
        /* early warning was due 24 h after awareness: late; notification in 72 h */
        {OBL("cbw.early_warning", "I-1", "late", "2026-03-03T08:00:00Z"),
         OBL("cbw.notification", "I-1", "fulfilled", "2026-03-05T08:00:00Z"),
         /* final report one month after the notification: 4 April is a Saturday, 5 and 6
          * April are Easter -> Tuesday 7 April 23:59:59 CEST */
         OBL("cbw.final_report", "I-1", "open", "2026-04-07T21:59:59Z")},
    };
    run_scenario(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(access_without_treatment_relation),
        cmocka_unit_test(break_the_glass),
        cmocka_unit_test(vip_burst_counts_distinct_users_in_window),
        cmocka_unit_test(message_channels),
        cmocka_unit_test(device_decommissioned),
        cmocka_unit_test(backup_missing_then_renewed),
        cmocka_unit_test(log_purge_younger_than_five_years_blocked),
        cmocka_unit_test(retention_rearmed_by_last_change),
        cmocka_unit_test(retention_runs_from_the_latest_change_in_any_order),
        cmocka_unit_test(destruction_request_three_months),
        cmocka_unit_test(ehealth_fail_and_live_without_assessment),
        cmocka_unit_test(cbw_incident_deadlines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
