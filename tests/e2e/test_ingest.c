/*
 * test_ingest.c — end to end: the real obligo binary ingests NDJSON on a
 * real database file with the shipped rule pack, and the reading commands
 * show the obligations, alerts and register entries the duties require.
 *
 * Expected instants are worked out by hand from DOMAIN.md (72 elapsed hours,
 * 1182/71 months, DST), never taken from the code under test.
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

typedef struct run {
    char *dir, *db;
    int exit;
    int tampered; /* the test changed the database behind the engine's back */
    char *err;
} run;

#define SRC "urn:ecd:test:praktijk-1"

/* Ingests len bytes of events (which may hold NUL bytes) as events.ndjson. */
static void ingest_bytes(run *r, const char *events, size_t len, const char *until)
{
    r->tampered = 0;
    r->dir = support_tmpdir();
    assert_non_null(r->dir);
    char *file = malloc(strlen(r->dir) + sizeof "/events.ndjson");
    assert_non_null(file);
    sprintf(file, "%s/events.ndjson", r->dir);
    FILE *fp = fopen(file, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(events, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
    r->db = malloc(strlen(r->dir) + 16);
    sprintf(r->db, "%s/obligo.db", r->dir);
    char *argv[] = {(char *)OBLIGO_BIN,
                    "ingest",
                    "--db",
                    r->db,
                    "--rules",
                    (char *)OBLIGO_SOURCE_DIR "/rules",
                    "--clock",
                    "events",
                    "--until",
                    (char *)until,
                    file,
                    NULL};
    r->exit = support_run(argv, NULL, &r->err);
    free(file);
}

static void ingest(run *r, const char *events, const char *until)
{
    ingest_bytes(r, events, strlen(events), until);
}

static void done(run *r)
{
    if (!r->tampered)
        support_assert_replays(r->db);
    support_rmtree(r->dir);
    free(r->dir);
    free(r->db);
    free(r->err);
}

static const cJSON *one(const cJSON *arr, const char *kind, const char *subject)
{
    int n = 0;
    const cJSON *o = support_find(arr, kind, subject, &n);
    if (n != 1)
        fail_msg("%s %s: found %d, expected 1", kind, subject, n);
    return o;
}

static void breach_basic(void **state)
{
    run r;
    ingest(&r,
           "{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-02-02T09:20:00+01:00\","
           "\"data\":{\"breach_id\":\"B-001\",\"aware_at\":\"2026-02-02T09:15:00+01:00\","
           "\"description\":\"mail to wrong address\",\"cause\":\"misdirected\","
           "\"personal_data\":\"yes\",\"categories\":[\"health\"],\"persons_affected\":1}}\n",
           "2026-02-03T12:00:00+01:00");
    assert_int_equal(r.exit, 0);
    cJSON *obls = support_query(r.db, "obligations", NULL);
    const cJSON *o = one(obls, "avg.notify_ap", "B-001");
    assert_string_equal(support_str(o, "status"), "open");
    /* 09:15 CET = 08:15Z, + 72 h */
    assert_string_equal(support_str(o, "due_at"), "2026-02-05T08:15:00Z");
    /* the hour of awareness is not counted: 10:00 CET + 72 h */
    assert_string_equal(support_str(o, "legal_limit"), "2026-02-05T09:00:00Z");
    cJSON *reg = support_query(r.db, "register", "datalekken");
    assert_int_equal(cJSON_GetArraySize(reg), 1);
    const cJSON *data = cJSON_GetObjectItem(cJSON_GetArrayItem(reg, 0), "data");
    assert_string_equal(support_str(data, "status"), "reported");
    assert_string_equal(support_str(data, "cause"), "misdirected");
    cJSON_Delete(obls);
    cJSON_Delete(reg);
    done(&r);
}

static void breach_weekend_overdue(void **state)
{
    run r;
    ingest(&r,
           "{\"specversion\":\"1.0\",\"id\":\"e2\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-01-16T21:40:00+01:00\","
           "\"data\":{\"breach_id\":\"B-002\",\"aware_at\":\"2026-01-16T21:40:00+01:00\","
           "\"description\":\"x\",\"personal_data\":\"unknown\"}}\n",
           "2026-01-20T00:00:00+01:00");
    assert_int_equal(r.exit, 0);
    cJSON *obls = support_query(r.db, "obligations", NULL);
    const cJSON *o = one(obls, "avg.notify_ap", "B-002");
    assert_string_equal(support_str(o, "status"), "overdue");
    assert_string_equal(support_str(o, "due_at"), "2026-01-19T20:40:00Z");
    cJSON *alerts = support_query(r.db, "alerts", NULL);
    int n = 0;
    const cJSON *a = support_find(alerts, "obligo.obligation_overdue", "B-002", &n);
    assert_int_equal(n, 1);
    assert_string_equal(support_str(a, "severity"), "critical");
    cJSON_Delete(obls);
    cJSON_Delete(alerts);
    done(&r);
}

static void breach_dst_autumn_late(void **state)
{
    run r;
    ingest(&r,
           "{\"specversion\":\"1.0\",\"id\":\"e3\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.reported\",\"time\":\"2025-10-24T18:00:00+02:00\","
           "\"data\":{\"breach_id\":\"B-003\",\"aware_at\":\"2025-10-24T18:00:00+02:00\","
           "\"description\":\"x\",\"personal_data\":\"yes\"}}\n"
           "{\"specversion\":\"1.0\",\"id\":\"e4\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.notified\",\"time\":\"2025-10-27T17:30:00+01:00\","
           "\"data\":{\"breach_id\":\"B-003\",\"reference\":\"AP-3\","
           "\"notified_at\":\"2025-10-27T17:30:00+01:00\"}}\n",
           "2025-10-28T12:00:00+01:00");
    assert_int_equal(r.exit, 0);
    cJSON *obls = support_query(r.db, "obligations", NULL);
    const cJSON *o = one(obls, "avg.notify_ap", "B-003");
    /* Fri 18:00 CEST + 72 elapsed hours = Mon 17:00 CET = 16:00Z */
    assert_string_equal(support_str(o, "due_at"), "2025-10-27T16:00:00Z");
    assert_string_equal(support_str(o, "status"), "late");
    cJSON *alerts = support_query(r.db, "alerts", NULL);
    /* no delay reasons given: critical */
    const cJSON *a = one(alerts, "avg.late_notification", "B-003");
    assert_string_equal(support_str(a, "severity"), "critical");
    cJSON_Delete(obls);
    cJSON_Delete(alerts);
    done(&r);
}

static void breach_notified_in_time(void **state)
{
    run r;
    ingest(&r,
           "{\"specversion\":\"1.0\",\"id\":\"e5\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-02-02T09:15:00+01:00\","
           "\"data\":{\"breach_id\":\"B-004\",\"aware_at\":\"2026-02-02T09:15:00+01:00\","
           "\"description\":\"x\",\"personal_data\":\"yes\"}}\n"
           "{\"specversion\":\"1.0\",\"id\":\"e6\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.notified\",\"time\":\"2026-02-03T14:00:00+01:00\","
           "\"data\":{\"breach_id\":\"B-004\",\"reference\":\"AP-4\","
           "\"notified_at\":\"2026-02-03T14:00:00+01:00\"}}\n",
           "2026-02-10T00:00:00+01:00");
    assert_int_equal(r.exit, 0);
    cJSON *obls = support_query(r.db, "obligations", NULL);
    const cJSON *o = one(obls, "avg.notify_ap", "B-004");
    assert_string_equal(support_str(o, "status"), "fulfilled");
    assert_string_equal(support_str(o, "closed_at"), "2026-02-03T13:00:00Z");
    cJSON *alerts = support_query(r.db, "alerts", NULL);
    int n = 0;
    support_find(alerts, "obligo.obligation_overdue", NULL, &n);
    assert_int_equal(n, 0);
    support_find(alerts, "avg.late_notification", NULL, &n);
    assert_int_equal(n, 0);
    cJSON *reg = support_query(r.db, "register", "datalekken");
    const cJSON *data = cJSON_GetObjectItem(cJSON_GetArrayItem(reg, 0), "data");
    assert_string_equal(support_str(data, "ap_reference"), "AP-4");
    assert_string_equal(support_str(data, "status"), "notified");
    cJSON_Delete(obls);
    cJSON_Delete(alerts);
    cJSON_Delete(reg);
    done(&r);
}

static void breach_phased(void **state)
{
    run r;
    ingest(&r,
           "{\"specversion\":\"1.0\",\"id\":\"e7\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-05-04T11:00:00+02:00\","
           "\"data\":{\"breach_id\":\"B-005\",\"aware_at\":\"2026-05-04T11:00:00+02:00\","
           "\"description\":\"x\",\"personal_data\":\"yes\"}}\n"
           "{\"specversion\":\"1.0\",\"id\":\"e8\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.notified\",\"time\":\"2026-05-05T10:00:00+02:00\","
           "\"data\":{\"breach_id\":\"B-005\",\"reference\":\"AP-5\","
           "\"notified_at\":\"2026-05-05T10:00:00+02:00\",\"phase\":\"initial\"}}\n"
           "{\"specversion\":\"1.0\",\"id\":\"e9\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.notified\",\"time\":\"2026-05-08T15:00:00+02:00\","
           "\"data\":{\"breach_id\":\"B-005\",\"reference\":\"AP-5\","
           "\"notified_at\":\"2026-05-08T15:00:00+02:00\",\"phase\":\"complete\"}}\n",
           "2026-06-01T00:00:00+02:00");
    assert_int_equal(r.exit, 0);
    cJSON *obls = support_query(r.db, "obligations", NULL);
    assert_string_equal(support_str(one(obls, "avg.notify_ap", "B-005"), "status"), "fulfilled");
    const cJSON *c = one(obls, "avg.complete_notification", "B-005");
    assert_string_equal(support_str(c, "status"), "fulfilled");
    /* 14 days after 2026-05-05 10:00 CEST */
    assert_string_equal(support_str(c, "due_at"), "2026-05-19T08:00:00Z");
    cJSON_Delete(obls);
    done(&r);
}

static void breach_withdrawn(void **state)
{
    run r;
    ingest(&r,
           "{\"specversion\":\"1.0\",\"id\":\"e10\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-03-03T09:00:00+01:00\","
           "\"data\":{\"breach_id\":\"B-006\",\"aware_at\":\"2026-03-03T09:00:00+01:00\","
           "\"description\":\"x\",\"personal_data\":\"yes\"}}\n"
           "{\"specversion\":\"1.0\",\"id\":\"e11\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.assessed\",\"time\":\"2026-03-03T12:00:00+01:00\","
           "\"data\":{\"breach_id\":\"B-006\",\"risk\":\"high\",\"rationale\":\"health data\"}}\n"
           "{\"specversion\":\"1.0\",\"id\":\"e12\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.notified\",\"time\":\"2026-03-04T10:00:00+01:00\","
           "\"data\":{\"breach_id\":\"B-006\",\"reference\":\"AP-6\","
           "\"notified_at\":\"2026-03-04T10:00:00+01:00\"}}\n"
           "{\"specversion\":\"1.0\",\"id\":\"e13\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.withdrawn\",\"time\":\"2026-03-05T19:00:00+01:00\","
           "\"data\":{\"breach_id\":\"B-006\",\"rationale\":\"encrypted\"}}\n",
           "2026-03-20T00:00:00+01:00");
    assert_int_equal(r.exit, 0);
    cJSON *obls = support_query(r.db, "obligations", NULL);
    assert_string_equal(support_str(one(obls, "avg.notify_ap", "B-006"), "status"), "fulfilled");
    const cJSON *inf = one(obls, "avg.inform_subjects", "B-006");
    assert_string_equal(support_str(inf, "status"), "cancelled");
    assert_non_null(strstr(support_str(inf, "rationale"), "encrypted"));
    cJSON *alerts = support_query(r.db, "alerts", NULL);
    int n = 0;
    support_find(alerts, "obligo.obligation_overdue", NULL, &n);
    assert_int_equal(n, 0);
    cJSON *reg = support_query(r.db, "register", "datalekken");
    const cJSON *data = cJSON_GetObjectItem(cJSON_GetArrayItem(reg, 0), "data");
    assert_string_equal(support_str(data, "status"), "withdrawn");
    assert_string_equal(support_str(data, "risk"), "high");
    cJSON_Delete(obls);
    cJSON_Delete(alerts);
    cJSON_Delete(reg);
    done(&r);
}

static void breach_no_personal_data(void **state)
{
    run r;
    ingest(&r,
           "{\"specversion\":\"1.0\",\"id\":\"e14\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-04-01T08:00:00+02:00\","
           "\"data\":{\"breach_id\":\"B-007\",\"aware_at\":\"2026-04-01T08:00:00+02:00\","
           "\"description\":\"x\",\"personal_data\":\"no\",\"cause\":\"malware\"}}\n",
           "2026-04-10T00:00:00+02:00");
    assert_int_equal(r.exit, 0);
    cJSON *obls = support_query(r.db, "obligations", NULL);
    int n = 0;
    support_find(obls, "avg.notify_ap", "B-007", &n);
    assert_int_equal(n, 0);
    cJSON *reg = support_query(r.db, "register", "datalekken");
    assert_int_equal(cJSON_GetArraySize(reg), 1);
    assert_string_equal(support_str(cJSON_GetArrayItem(reg, 0), "key"), "B-007");
    cJSON_Delete(obls);
    cJSON_Delete(reg);
    done(&r);
}

static void breach_unlikely_risk(void **state)
{
    run r;
    ingest(&r,
           "{\"specversion\":\"1.0\",\"id\":\"e15\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-04-02T08:00:00+02:00\","
           "\"data\":{\"breach_id\":\"B-008\",\"aware_at\":\"2026-04-02T08:00:00+02:00\","
           "\"description\":\"laptop\",\"personal_data\":\"yes\",\"cause\":\"lost_device\","
           "\"unintelligible\":true}}\n"
           "{\"specversion\":\"1.0\",\"id\":\"e16\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.assessed\",\"time\":\"2026-04-02T11:00:00+02:00\","
           "\"data\":{\"breach_id\":\"B-008\",\"risk\":\"unlikely\",\"rationale\":\"FDE\"}}\n",
           "2026-04-10T00:00:00+02:00");
    assert_int_equal(r.exit, 0);
    cJSON *obls = support_query(r.db, "obligations", NULL);
    const cJSON *o = one(obls, "avg.notify_ap", "B-008");
    assert_string_equal(support_str(o, "status"), "cancelled");
    assert_non_null(strstr(support_str(o, "rationale"), "FDE"));
    cJSON *alerts = support_query(r.db, "alerts", NULL);
    int n = 0;
    support_find(alerts, "obligo.obligation_overdue", NULL, &n);
    assert_int_equal(n, 0);
    cJSON *reg = support_query(r.db, "register", "datalekken");
    const cJSON *data = cJSON_GetObjectItem(cJSON_GetArrayItem(reg, 0), "data");
    assert_string_equal(support_str(data, "risk"), "unlikely");
    assert_string_equal(support_str(data, "rationale"), "FDE");
    cJSON_Delete(obls);
    cJSON_Delete(alerts);
    cJSON_Delete(reg);
    done(&r);
}

static void request_month_rolls_past_weekend(void **state)
{
    run r;
    ingest(&r,
           "{\"specversion\":\"1.0\",\"id\":\"e25\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.request.received\",\"time\":\"2026-01-30T11:00:00+01:00\","
           "\"data\":{\"request_id\":\"R-13\",\"kind\":\"access\",\"client_id\":\"C13\","
           "\"received_at\":\"2026-01-30T11:00:00+01:00\"}}\n",
           "2026-02-15T00:00:00+01:00");
    assert_int_equal(r.exit, 0);
    cJSON *obls = support_query(r.db, "obligations", NULL);
    const cJSON *o = one(obls, "avg.respond_request", "R-13");
    assert_string_equal(support_str(o, "status"), "open");
    /* 30 Feb does not exist -> Sat 28 Feb -> end of Mon 2 March CET */
    assert_string_equal(support_str(o, "due_at"), "2026-03-02T22:59:59Z");
    cJSON_Delete(obls);
    done(&r);
}

static void request_extension_in_time(void **state)
{
    run r;
    ingest(&r,
           "{\"specversion\":\"1.0\",\"id\":\"x1\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.request.received\",\"time\":\"2026-01-30T11:00:00+01:00\","
           "\"data\":{\"request_id\":\"R-14\",\"kind\":\"erasure\",\"client_id\":\"C14\","
           "\"received_at\":\"2026-01-30T11:00:00+01:00\"}}\n"
           "{\"specversion\":\"1.0\",\"id\":\"x2\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.request.extended\",\"time\":\"2026-02-20T11:00:00+01:00\","
           "\"data\":{\"request_id\":\"R-14\",\"reason\":\"complex\","
           "\"notified_at\":\"2026-02-20T11:00:00+01:00\"}}\n",
           "2026-03-10T00:00:00+01:00");
    assert_int_equal(r.exit, 0);
    cJSON *obls = support_query(r.db, "obligations", NULL);
    const cJSON *o = one(obls, "avg.respond_request", "R-14");
    /* three months from 30 Jan: 30 April is a Thursday -> 23:59:59 CEST */
    assert_string_equal(support_str(o, "due_at"), "2026-04-30T21:59:59Z");
    assert_string_equal(support_str(o, "status"), "open");
    cJSON_Delete(obls);
    done(&r);
}

static void idempotent_and_dedup(void **state)
{
    run r;
    const char *first =
        "{\"specversion\":\"1.0\",\"id\":\"e33\",\"source\":\"" SRC "\","
        "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-06-01T10:02:00+02:00\","
        "\"data\":{\"breach_id\":\"B-018\",\"aware_at\":\"2026-06-01T10:02:00+02:00\","
        "\"description\":\"x\",\"personal_data\":\"yes\",\"dedup_key\":\"m\"}}\n";
    char events[4096];
    snprintf(events, sizeof events, "%s%s%s", first, first,
             "{\"specversion\":\"1.0\",\"id\":\"e34\",\"source\":\"" SRC "\","
             "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-06-01T10:05:00+02:00\","
             "\"data\":{\"breach_id\":\"B-018b\",\"aware_at\":\"2026-06-01T10:05:00+02:00\","
             "\"description\":\"x\",\"personal_data\":\"yes\",\"dedup_key\":\"m\"}}\n");
    ingest(&r, events, "2026-06-02T00:00:00+02:00");
    assert_int_equal(r.exit, 0);
    assert_non_null(strstr(r.err, "1 duplicates"));
    cJSON *obls = support_query(r.db, "obligations", NULL);
    const cJSON *o = one(obls, "avg.notify_ap", "B-018");
    assert_string_equal(support_str(o, "due_at"), "2026-06-04T08:02:00Z");
    int n = 0;
    support_find(obls, "avg.notify_ap", "B-018b", &n);
    assert_int_equal(n, 0);
    cJSON_Delete(obls);
    done(&r);
}

static void dedup_earlier_report_second_moves_deadline(void **state)
{
    run r;
    ingest(&r,
           "{\"specversion\":\"1.0\",\"id\":\"d1\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-06-01T12:00:00+02:00\","
           "\"data\":{\"breach_id\":\"B-30\",\"aware_at\":\"2026-06-01T12:00:00+02:00\","
           "\"description\":\"x\",\"dedup_key\":\"k\"}}\n"
           "{\"specversion\":\"1.0\",\"id\":\"d2\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-06-01T12:30:00+02:00\","
           "\"data\":{\"breach_id\":\"B-31\",\"aware_at\":\"2026-06-01T08:00:00+02:00\","
           "\"description\":\"x\",\"dedup_key\":\"k\"}}\n",
           "2026-06-02T00:00:00+02:00");
    assert_int_equal(r.exit, 0);
    cJSON *obls = support_query(r.db, "obligations", NULL);
    /* the earlier awareness (08:00 CEST = 06:00Z) counts, under the first id */
    const cJSON *o = one(obls, "avg.notify_ap", "B-30");
    assert_string_equal(support_str(o, "due_at"), "2026-06-04T06:00:00Z");
    assert_int_equal(cJSON_GetArraySize(obls), 1);
    cJSON_Delete(obls);
    done(&r);
}

static void bad_input_rejected_good_kept(void **state)
{
    run r;
    ingest(&r,
           "{\"specversion\":\"1.0\",\"id\":\"e37\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-06-05T09:00:00+02:00\","
           "\"data\":{\"breach_id\":\"B-020\",\"aware_at\":\"2026-06-05T09:00:00+02:00\","
           "\"description\":\"x\",\"personal_data\":\"yes\"}}\n"
           "{not json\n"
           "{\"specversion\":\"1.0\",\"id\":\"e38\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-06-05T09:10:00+02:00\","
           "\"data\":{\"description\":\"no id\"}}\n"
           "{\"specversion\":\"1.0\",\"id\":\"e39\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-02-30T09:10:00+02:00\","
           "\"data\":{\"breach_id\":\"B-X\",\"aware_at\":\"2026-06-05T09:00:00+02:00\","
           "\"description\":\"x\"}}\n",
           "2026-06-05T10:00:00+02:00");
    assert_int_equal(r.exit, 1);
    assert_non_null(strstr(r.err, "events.ndjson:2:"));
    assert_non_null(strstr(r.err, "events.ndjson:3: data.breach_id"));
    assert_non_null(strstr(r.err, "events.ndjson:4: time"));
    cJSON *obls = support_query(r.db, "obligations", NULL);
    assert_string_equal(support_str(one(obls, "avg.notify_ap", "B-020"), "status"), "open");
    assert_int_equal(cJSON_GetArraySize(obls), 1);
    cJSON_Delete(obls);
    /* the rejected lines are kept with their reason */
    char *out = NULL;
    char *argv[] = {"/usr/bin/sqlite3", r.db,
                    "SELECT origin||' '||coalesce(field,'-') FROM "
                    "rejected ORDER BY seq",
                    NULL};
    assert_int_equal(support_run(argv, &out, NULL), 0);
    assert_non_null(strstr(out, "events.ndjson:2 -"));
    assert_non_null(strstr(out, "events.ndjson:3 data.breach_id"));
    assert_non_null(strstr(out, "events.ndjson:4 time"));
    free(out);
    /* and obligo rejected lists them, without sqlite3 */
    cJSON *rej = support_query(r.db, "rejected", NULL);
    assert_int_equal(cJSON_GetArraySize(rej), 3);
    assert_non_null(strstr(support_str(cJSON_GetArrayItem(rej, 0), "origin"), "events.ndjson:2"));
    assert_string_equal(support_str(cJSON_GetArrayItem(rej, 0), "raw"), "{not json");
    assert_string_equal(support_str(cJSON_GetArrayItem(rej, 1), "field"), "data.breach_id");
    assert_non_null(strstr(support_str(cJSON_GetArrayItem(rej, 2), "raw"), "\"id\":\"e39\""));
    cJSON_Delete(rej);
    char *table[] = {(char *)OBLIGO_BIN, "rejected", "--db", r.db, NULL};
    out = NULL;
    assert_int_equal(support_run(table, &out, NULL), 0);
    assert_non_null(strstr(out, "ORIGIN"));
    assert_non_null(strstr(out, "data.breach_id"));
    free(out);
    char *bad[] = {(char *)OBLIGO_BIN, "rejected", "--db", r.db, "--since", "yesterday", NULL};
    char *err = NULL;
    assert_int_equal(support_run(bad, NULL, &err), 2);
    assert_non_null(strstr(err, "--since 'yesterday' is not an RFC 3339 time"));
    free(err);
    done(&r);
}

/* A type in a namespace a loaded plugin owns, but not one of its types,
 * is a typo: refused naming the type meant, where an organisation's own
 * type (a namespace nobody registers) is accepted as before. */
static void misspelt_type_is_refused_naming_the_type_meant(void **state)
{
    (void)state;
    run r;
    ingest(&r,
           "{\"specversion\":\"1.0\",\"id\":\"t1\",\"source\":\"" SRC "\","
           "\"type\":\"nl.nen7513.acess\",\"time\":\"2026-06-05T09:00:00+02:00\","
           "\"data\":{\"user\":{\"id\":\"U1\"},\"client_id\":\"C1\",\"action\":\"read\"}}\n"
           "{\"specversion\":\"1.0\",\"id\":\"t2\",\"source\":\"" SRC "\","
           "\"type\":\"org.praktijk.koffie\",\"time\":\"2026-06-05T09:00:00+02:00\","
           "\"data\":{\"kopjes\":2}}\n",
           "2026-06-05T10:00:00+02:00");
    assert_int_equal(r.exit, 1);
    assert_non_null(strstr(r.err, "events.ndjson:1: type"));
    assert_non_null(strstr(r.err, "did you mean \"nl.nen7513.access\"?"));
    cJSON *rej = support_query(r.db, "rejected", NULL);
    assert_int_equal(cJSON_GetArraySize(rej), 1);
    assert_string_equal(support_str(cJSON_GetArrayItem(rej, 0), "field"), "type");
    cJSON_Delete(rej);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(r.db, &db), SQLITE_OK);
    assert_int_equal(support_sql_int(db, "SELECT count(*) FROM events WHERE id = 't2'"), 1);
    assert_int_equal(support_sql_int(db, "SELECT count(*) FROM events WHERE id = 't1'"), 0);
    sqlite3_close(db);
    done(&r);
}

/* A line that repeats a journaled event's source and id with other
 * content is refused with both digests and kept; a true repeat is a
 * duplicate as before. */
static void same_identity_other_content_is_refused(void **state)
{
    (void)state;
    run r;
    ingest(&r,
           "{\"specversion\":\"1.0\",\"id\":\"d1\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.request.received\",\"time\":\"2026-06-05T09:00:00+02:00\","
           "\"data\":{\"request_id\":\"R-1\",\"client_id\":\"C1\",\"received_at\":\"2026-06-05T09:"
           "00:00+02:00\",\"kind\":\"access\"}}\n"
           "{\"specversion\":\"1.0\",\"id\":\"d1\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.request.received\",\"time\":\"2026-06-05T09:00:00+02:00\","
           "\"data\":{\"request_id\":\"R-1\",\"client_id\":\"C1\",\"received_at\":\"2026-06-05T09:"
           "00:00+02:00\",\"kind\":\"access\"}}\n"
           "{\"specversion\":\"1.0\",\"id\":\"d1\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.request.received\",\"time\":\"2026-06-05T09:00:00+02:00\","
           "\"data\":{\"request_id\":\"R-2\",\"client_id\":\"C1\",\"received_at\":\"2026-06-05T09:"
           "00:00+02:00\",\"kind\":\"access\"}}\n",
           "2026-06-05T10:00:00+02:00");
    assert_int_equal(r.exit, 1);
    assert_non_null(strstr(r.err, "events.ndjson:3: id: this source and id were journaled before"));
    assert_non_null(strstr(r.err, "journaled sha256:"));
    assert_non_null(strstr(r.err, "1 duplicates"));
    cJSON *rej = support_query(r.db, "rejected", NULL);
    assert_int_equal(cJSON_GetArraySize(rej), 1);
    assert_non_null(strstr(support_str(cJSON_GetArrayItem(rej, 0), "raw"), "R-2"));
    cJSON_Delete(rej);
    cJSON *obls = support_query(r.db, "obligations", NULL);
    assert_int_equal(cJSON_GetArraySize(obls), 1);
    cJSON_Delete(obls);
    done(&r);
}

/* A valid event the database refuses (here: a trigger on the register the
 * breach would enter) is rejected alone; the events before and after it in
 * the same transaction are kept, and nothing of the refused one is. */
static void event_refused_by_database_is_rejected_alone(void **state)
{
    run r;
    ingest(&r, "", "2026-06-05T10:00:00+02:00"); /* creates the schema */
    assert_int_equal(r.exit, 0);
    free(r.err);
    char *argv_trigger[] = {"/usr/bin/sqlite3", r.db,
                            "CREATE TRIGGER refuse BEFORE INSERT ON registers "
                            "WHEN NEW.key = 'B-2' BEGIN SELECT RAISE(ABORT, 'refused'); END;",
                            NULL};
    assert_int_equal(support_run(argv_trigger, NULL, NULL), 0);
    char events[2048];
    size_t o = 0;
    for (int i = 1; i <= 3; i++)
        o += (size_t)snprintf(
            events + o, sizeof events - o,
            "{\"specversion\":\"1.0\",\"id\":\"e%d\",\"source\":\"" SRC "\","
            "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-06-05T09:0%d:00+02:00\","
            "\"data\":{\"breach_id\":\"B-%d\",\"aware_at\":\"2026-06-05T09:00:00+02:00\","
            "\"description\":\"x\",\"personal_data\":\"yes\"}}\n",
            i, i, i);
    char *file = support_write(r.dir, "events.ndjson", events);
    char *argv[] = {
        (char *)OBLIGO_BIN, "ingest", "--db", r.db, "--rules", (char *)OBLIGO_SOURCE_DIR "/rules",
        "--clock",          "events", file,   NULL};
    r.exit = support_run(argv, NULL, &r.err);
    free(file);
    assert_int_equal(r.exit, 1);
    assert_non_null(strstr(r.err, "events.ndjson:2: could not be applied"));
    assert_null(strstr(r.err, "events.ndjson:1:"));
    assert_null(strstr(r.err, "events.ndjson:3:"));
    cJSON *obls = support_query(r.db, "obligations", NULL);
    one(obls, "avg.notify_ap", "B-1");
    one(obls, "avg.notify_ap", "B-3");
    assert_int_equal(cJSON_GetArraySize(obls), 2);
    cJSON_Delete(obls);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(r.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(support_sql_int(db, "SELECT count(*) FROM events WHERE id IN ('e1','e3')"), 2);
    assert_int_equal(support_sql_int(db, "SELECT count(*) FROM events WHERE id = 'e2'"), 0);
    assert_int_equal(support_sql_int(db, "SELECT count(*) FROM rejected WHERE origin LIKE "
                                         "'%events.ndjson:2'"),
                     1);
    sqlite3_close(db);
    done(&r);
}

static void verify_detects_tampering(void **state)
{
    run r;
    ingest(&r,
           "{\"specversion\":\"1.0\",\"id\":\"v1\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-02-02T09:20:00+01:00\","
           "\"data\":{\"breach_id\":\"B-V\",\"aware_at\":\"2026-02-02T09:15:00+01:00\","
           "\"description\":\"x\"}}\n"
           "{\"specversion\":\"1.0\",\"id\":\"v2\",\"source\":\"" SRC "\","
           "\"type\":\"nl.avg.breach.closed\",\"time\":\"2026-02-03T09:20:00+01:00\","
           "\"data\":{\"breach_id\":\"B-V\",\"measures\":\"training\"}}\n",
           "2026-02-03T12:00:00+01:00");
    assert_int_equal(r.exit, 0);
    char *verify[] = {(char *)OBLIGO_BIN, "verify", "--db", r.db, NULL};
    assert_int_equal(support_run(verify, NULL, NULL), 0);
    char *tamper[] = {"/usr/bin/sqlite3", r.db,
                      "UPDATE registers SET data=replace(data,'training','nothing')", NULL};
    assert_int_equal(support_run(tamper, NULL, NULL), 0);
    char *err = NULL;
    assert_int_equal(support_run(verify, NULL, &err), 1);
    assert_non_null(strstr(err, "datalekken"));
    free(err);
    /* a change made in the register's chain and its hashes recomputed would
     * pass the chain check; judging the journal again shows the entry is
     * not what the recorded rules decided */
    char *replay[] = {(char *)OBLIGO_BIN, "verify", "--replay", "--db", r.db, NULL};
    char *out = NULL;
    assert_int_equal(support_run(replay, &out, NULL), 1);
    assert_non_null(strstr(out, "register_data datalekken \"B-V\""));
    assert_non_null(strstr(out, "\"measures\":\"nothing\""));
    assert_non_null(strstr(out, "\"measures\":\"training\""));
    free(out);
    r.tampered = 1;
    done(&r);
}

/* A NUL byte inside a line makes that line invalid; it must not hide the
 * line's end, which used to glue the next line (a good event) onto it and
 * lose it. Also: a line longer than the reader's 16 KiB blocks, and a last
 * line without a newline, are read whole. */
static void nul_byte_spoils_only_its_own_line(void **state)
{
    char ev[3][512];
    for (int i = 0; i < 3; i++)
        snprintf(ev[i], sizeof ev[i],
                 "{\"specversion\":\"1.0\",\"id\":\"z%d\",\"source\":\"" SRC "\","
                 "\"type\":\"nl.avg.breach.reported\",\"time\":\"2026-06-05T09:00:00+02:00\","
                 "\"data\":{\"breach_id\":\"B-Z%d\",\"aware_at\":\"2026-06-05T09:00:00+02:00\","
                 "\"description\":\"%s\",\"personal_data\":\"yes\"}}",
                 i, i, i == 1 ? "LONG" : "x");
    /* line 2's description is 40,000 bytes: it spans three reads */
    size_t pad = 40000;
    char *bytes = malloc(3 * 512 + pad + 64), *p = bytes;
    p += sprintf(p, "%s", ev[0]);
    *p++ = '\0';
    p += sprintf(p, "junk\n");
    char *at = strstr(ev[1], "LONG");
    memcpy(p, ev[1], (size_t)(at - ev[1]));
    p += at - ev[1];
    memset(p, 'l', pad);
    p += pad;
    p += sprintf(p, "%s\n", at + 4);
    p += sprintf(p, "%s", ev[2]); /* no newline at the end */
    run r;
    ingest_bytes(&r, bytes, (size_t)(p - bytes), "2026-06-05T10:00:00+02:00");
    free(bytes);
    assert_int_equal(r.exit, 1);
    assert_non_null(strstr(r.err, "events.ndjson:1: not valid JSON"));
    assert_non_null(strstr(r.err, "3 lines, 2 accepted"));
    cJSON *obls = support_query(r.db, "obligations", NULL);
    assert_int_equal(cJSON_GetArraySize(obls), 2);
    one(obls, "avg.notify_ap", "B-Z1");
    one(obls, "avg.notify_ap", "B-Z2");
    cJSON_Delete(obls);
    done(&r);
}

static void hostile_input_never_crashes(void **state)
{
    /* deeply nested JSON, a huge string, wrong types, unknown offsets */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 2);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    strcpy(deep + 2 * depth, "\n");
    size_t huge = 3u << 20;
    char *big = malloc(huge + 256);
    int n = sprintf(big, "{\"specversion\":\"1.0\",\"id\":\"h\",\"source\":\"s\",\"type\":\"t\","
                         "\"time\":\"2026-01-01T00:00:00Z\",\"data\":{\"x\":\"");
    memset(big + n, 'a', huge);
    strcpy(big + n + huge, "\"}}\n");
    const char *rest =
        "{\"specversion\":1,\"id\":\"w\",\"source\":\"s\",\"type\":\"t\",\"time\":\"x\"}\n"
        "{\"specversion\":\"1.0\",\"id\":\"o\",\"source\":\"s\",\"type\":\"nl.avg.breach.closed\","
        "\"time\":\"2026-01-01T00:00:00+25:00\",\"data\":{\"breach_id\":\"b\",\"measures\":\"m\"}}"
        "\n"
        "[]\n\"str\"\nnull\n";
    char *all = malloc(strlen(deep) + strlen(big) + strlen(rest) + 1);
    sprintf(all, "%s%s%s", deep, big, rest);
    run r;
    ingest(&r, all, "2026-01-02T00:00:00Z");
    assert_int_equal(r.exit, 1);
    assert_non_null(strstr(r.err, "events.ndjson:1:"));
    assert_non_null(strstr(r.err, "events.ndjson:2:"));
    assert_non_null(strstr(r.err, "events.ndjson:3: specversion"));
    assert_non_null(strstr(r.err, "events.ndjson:4: time"));
    assert_non_null(strstr(r.err, "0 accepted"));
    free(deep);
    free(big);
    free(all);
    done(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(breach_basic),
        cmocka_unit_test(breach_weekend_overdue),
        cmocka_unit_test(breach_dst_autumn_late),
        cmocka_unit_test(breach_notified_in_time),
        cmocka_unit_test(breach_phased),
        cmocka_unit_test(breach_withdrawn),
        cmocka_unit_test(breach_no_personal_data),
        cmocka_unit_test(breach_unlikely_risk),
        cmocka_unit_test(request_month_rolls_past_weekend),
        cmocka_unit_test(request_extension_in_time),
        cmocka_unit_test(idempotent_and_dedup),
        cmocka_unit_test(dedup_earlier_report_second_moves_deadline),
        cmocka_unit_test(bad_input_rejected_good_kept),
        cmocka_unit_test(event_refused_by_database_is_rejected_alone),
        cmocka_unit_test(verify_detects_tampering),
        cmocka_unit_test(misspelt_type_is_refused_naming_the_type_meant),
        cmocka_unit_test(same_identity_other_content_is_refused),
        cmocka_unit_test(nul_byte_spoils_only_its_own_line),
        cmocka_unit_test(hostile_input_never_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
