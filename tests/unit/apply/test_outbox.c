/*
 * test_outbox.c — alerts and their durable delivery (engine/outbox.c) on a
 * real database file with file sinks in a temporary directory: stable
 * alert ids, one JSON line per alert and sink, rows that stay pending when
 * their sink is not configured or fails, and listing alerts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "actions.h"
#include "alloc.h"
#include "engine.h"
#include "error.h"
#include "journal.h"
#include "outbox.h"
#include "registers.h"
#include "store.h"
#include "support.h"

#define T0 1767261600 /* 2026-01-01T10:00:00Z */
#define H 3600

typedef struct fixture {
    char *dir;
    store st;
    action_ctx ctx;
    int nevents;
    char event_id[32];
    char sink_a[1100], sink_b[1100]; /* "file:DIR/alerts.jsonl", "file:DIR/second.jsonl" */
    const char *sinks[2];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = support_store_fresh(&f->st);
    snprintf(f->sink_a, sizeof f->sink_a, "file:%s/alerts.jsonl", f->dir);
    snprintf(f->sink_b, sizeof f->sink_b, "file:%s/second.jsonl", f->dir);
    f->sinks[0] = f->sink_a;
    f->sinks[1] = f->sink_b;
    f->ctx.st = &f->st;
    f->ctx.event_source = "urn:test";
    f->ctx.event_id = f->event_id;
    f->ctx.sinks = f->sinks;
    f->ctx.nsinks = 2;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    support_store_done(&f->st, f->dir);
    free(f);
    return 0;
}

/* Journals event source/id at t in st and points ctx at it, as the engine
 * does for each event (alerts.event references events). */
static void event_in(store *st, action_ctx *ctx, const char *source, const char *id, obligo_time t)
{
    char when[CLOCK_RFC3339_LEN];
    clock_format_utc(t, when);
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "specversion", "1.0");
    cJSON_AddStringToObject(ev, "id", id);
    cJSON_AddStringToObject(ev, "source", source);
    cJSON_AddStringToObject(ev, "type", "t.event");
    cJSON_AddStringToObject(ev, "time", when);
    char *raw = cJSON_PrintUnformatted(ev);
    int64_t seq = 0;
    int dup = 0;
    assert_int_equal(journal_append(st, ev, raw, strlen(raw), "r", t, &seq, &dup), 0);
    assert_int_equal(dup, 0);
    cJSON_free(raw);
    cJSON_Delete(ev);
    ctx->st = st;
    ctx->event_seq = seq;
    ctx->event_time = t;
    ctx->nalerts = 0;
}

/* The next event "e1", "e2", ... of the fixture. */
static void at_event(fixture *f, obligo_time t)
{
    snprintf(f->event_id, sizeof f->event_id, "e%d", ++f->nevents);
    event_in(&f->st, &f->ctx, "urn:test", f->event_id, t);
}

/* The severity alert() raises with; a test may change it. */
static const char *alert_severity = "warning";

/* Raises one alert of alert_severity; rule and data_json may be NULL. */
static int alert(action_ctx *ctx, const char *kind, const char *subject, const char *message,
                 const char *rule, const char *data_json)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "op", "alert");
    cJSON_AddStringToObject(d, "kind", kind);
    cJSON_AddStringToObject(d, "subject", subject);
    cJSON_AddStringToObject(d, "severity", alert_severity);
    cJSON_AddStringToObject(d, "message", message);
    if (rule)
        cJSON_AddStringToObject(d, "rule", rule);
    if (data_json)
        cJSON_AddItemToObject(d, "data", cJSON_Parse(data_json));
    int rc = outbox_alert(ctx, d);
    cJSON_Delete(d);
    return rc;
}

/* A routed sink gets an outbox row only for the alerts its route takes;
 * the other sink gets every alert. */
static void routes_decide_which_sink_gets_a_row(void **state)
{
    fixture *f = *state;
    config_route routes[2] = {{.routed = 1, .nkinds = 1, .min_severity = 1}, {0}};
    char pattern[] = "avg.*";
    routes[0].kinds[0] = pattern;
    f->ctx.routes = routes;
    event_in(&f->st, &f->ctx, "urn:test", "r1", T0);
    assert_int_equal(alert(&f->ctx, "avg.breach_reported", "B-1", "m", NULL, NULL), 0);
    assert_int_equal(alert(&f->ctx, "nen7513.vip_burst", "C-1", "m", NULL, NULL), 0);
    char sql[1300];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM outbox o JOIN alerts a ON a.seq = o.alert WHERE o.sink = '%s'",
             f->sink_a);
    assert_int_equal(support_sql_int(f->st.db, sql), 1);
    snprintf(sql, sizeof sql,
             "SELECT a.kind FROM outbox o JOIN alerts a ON a.seq = o.alert WHERE o.sink = '%s'",
             f->sink_a);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(f->st.db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal(sqlite3_column_text(s, 0), "avg.breach_reported");
    sqlite3_finalize(s);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM outbox WHERE sink = '%s'", f->sink_b);
    assert_int_equal(support_sql_int(f->st.db, sql), 2);
    f->ctx.routes = NULL;
}

/* The id of alert seq (caller frees). */
static char *alert_id(store *st, int64_t seq)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(st->db, "SELECT id FROM alerts WHERE seq=?1", -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(s, 1, seq);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    char *id = strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return id;
}

/* "al-" and the first 16 hex digits of SHA-256(source 0x1f id 0x1f n 0x1f),
 * computed independently of the engine. */
static void expected_id(char out[20], const char *source, const char *id, int n)
{
    char idx[16];
    snprintf(idx, sizeof idx, "%d", n);
    const char *parts[] = {source, id, idx};
    char hex[65];
    support_sha256_parts(hex, 3, parts, NULL);
    snprintf(out, 20, "al-%.16s", hex);
}

/* The lines of a sink file, each parsed, as a JSON array (caller frees);
 * an absent file gives an empty array. */
static cJSON *sink_lines(const char *sink)
{
    assert_int_equal(strncmp(sink, "file:", 5), 0);
    cJSON *out = cJSON_CreateArray();
    FILE *fp = fopen(sink + 5, "r");
    if (!fp)
        return out;
    char line[8192];
    while (fgets(line, sizeof line, fp)) {
        size_t n = strlen(line);
        assert_true(n > 0 && line[n - 1] == '\n'); /* one complete line per alert */
        cJSON *v = cJSON_Parse(line);
        if (!v)
            fail_msg("not a JSON line: %s", line);
        cJSON_AddItemToArray(out, v);
    }
    fclose(fp);
    return out;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void alert_writes_alert_and_one_outbox_row_per_sink(void **state)
{
    fixture *f = *state;
    at_event(f, T0);
    assert_int_equal(alert(&f->ctx, "avg.late_notification", "B-1", "Te laat gemeld",
                           "avg.breach.notified", "{\"hours\":80}"),
                     0);
    assert_int_equal(f->ctx.nalerts, 1);

    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(f->st.db,
                                        "SELECT kind,severity,subject,at,message,event,rule,data "
                                        "FROM alerts",
                                        -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal(sqlite3_column_text(s, 0), "avg.late_notification");
    assert_string_equal(sqlite3_column_text(s, 1), "warning");
    assert_string_equal(sqlite3_column_text(s, 2), "B-1");
    assert_int_equal(sqlite3_column_int64(s, 3), T0);
    assert_string_equal(sqlite3_column_text(s, 4), "Te laat gemeld");
    assert_int_equal(sqlite3_column_int64(s, 5), f->ctx.event_seq);
    assert_string_equal(sqlite3_column_text(s, 6), "avg.breach.notified");
    assert_string_equal(sqlite3_column_text(s, 7), "{\"hours\":80}");
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);

    assert_int_equal(support_sql_int(f->st.db,
                                     "SELECT count(*) FROM outbox WHERE delivered_at IS NULL "
                                     "AND attempts=0"),
                     2);
    assert_int_equal(outbox_pending(&f->st), 2);

    /* an empty rule is stored as none; no sinks means no outbox rows */
    f->ctx.nsinks = 0;
    assert_int_equal(alert(&f->ctx, "k", "S", "m", "", NULL), 0);
    assert_int_equal(support_sql_int(f->st.db, "SELECT count(*) FROM alerts WHERE rule IS NULL AND "
                                               "data IS NULL"),
                     1);
    assert_int_equal(outbox_pending(&f->st), 2);
}

static void alert_needs_kind_subject_severity_and_message(void **state)
{
    fixture *f = *state;
    at_event(f, T0);
    static const char *const bad[] = {
        "{\"op\":\"alert\",\"subject\":\"S\",\"severity\":\"info\",\"message\":\"m\"}",
        "{\"op\":\"alert\",\"kind\":\"k\",\"severity\":\"info\",\"message\":\"m\"}",
        "{\"op\":\"alert\",\"kind\":\"k\",\"subject\":\"S\",\"message\":\"m\"}",
        "{\"op\":\"alert\",\"kind\":\"k\",\"subject\":\"S\",\"severity\":\"info\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *d = cJSON_Parse(bad[i]);
        assert_int_equal(outbox_alert(&f->ctx, d), OBLIGO_EINVAL);
        cJSON_Delete(d);
    }
    assert_int_equal(support_sql_int(f->st.db, "SELECT count(*) FROM alerts"), 0);
    assert_int_equal(outbox_pending(&f->st), 0);
    /* a refused alert does not use up a place among the event's alerts */
    assert_int_equal(f->ctx.nalerts, 0);
}

static void alert_ids_are_stable(void **state)
{
    fixture *f = *state;
    at_event(f, T0); /* urn:test e1 */
    assert_int_equal(alert(&f->ctx, "k", "S", "first", NULL, NULL), 0);
    assert_int_equal(alert(&f->ctx, "k", "S", "second", NULL, NULL), 0);
    char *first = alert_id(&f->st, 1), *second = alert_id(&f->st, 2);

    char want[20];
    expected_id(want, "urn:test", "e1", 0);
    assert_string_equal(first, want);
    expected_id(want, "urn:test", "e1", 1);
    assert_string_equal(second, want);
    assert_string_not_equal(first, second);
    assert_int_equal(strlen(first), 19);
    assert_memory_equal(first, "al-", 3);
    for (int i = 3; i < 19; i++)
        assert_non_null(strchr("0123456789abcdef", first[i]));

    /* a fresh database that replays the same event (at another instant,
     * with other alert contents) gives the same id */
    store other;
    support_store_open(&other, f->dir, "replay.db");
    action_ctx ctx = {.event_source = "urn:test", .event_id = "e1"};
    event_in(&other, &ctx, "urn:test", "e1", T0 + 5 * H);
    assert_int_equal(alert(&ctx, "other.kind", "X", "different text", NULL, NULL), 0);
    char *replayed = alert_id(&other, 1);
    assert_string_equal(replayed, first);
    /* another event's first alert has another id */
    action_ctx ctx2 = {.event_source = "urn:test", .event_id = "e2"};
    event_in(&other, &ctx2, "urn:test", "e2", T0);
    assert_int_equal(alert(&ctx2, "k", "S", "first", NULL, NULL), 0);
    char *e2 = alert_id(&other, 2);
    assert_string_not_equal(e2, first);
    expected_id(want, "urn:test", "e2", 0);
    assert_string_equal(e2, want);
    store_close(&other);
    free(first);
    free(second);
    free(replayed);
    free(e2);
}

static void deliver_writes_one_json_line_per_alert(void **state)
{
    fixture *f = *state;
    f->ctx.nsinks = 1; /* only sink_a */
    at_event(f, T0);
    assert_int_equal(alert(&f->ctx, "k.one", "S1", "m1", NULL, NULL), 0);
    assert_int_equal(alert(&f->ctx, "k.two", "S2", "m2", NULL, NULL), 0);
    at_event(f, T0 + H);
    assert_int_equal(alert(&f->ctx, "k.one", "S3", "m3", NULL, NULL), 0);
    assert_int_equal(outbox_pending(&f->st), 3);

    assert_int_equal(outbox_deliver(&f->st, f->sinks, 1, NULL), 3);
    assert_int_equal(outbox_pending(&f->st), 0);
    assert_int_equal(support_sql_int(f->st.db,
                                     "SELECT count(*) FROM outbox WHERE delivered_at IS NOT "
                                     "NULL AND attempts=1"),
                     3);

    cJSON *lines = sink_lines(f->sink_a);
    assert_int_equal(cJSON_GetArraySize(lines), 3);
    static const struct {
        const char *kind, *subject, *message, *at, *event;
    } want[] = {
        {"k.one", "S1", "m1", "2026-01-01T10:00:00Z", "e1"},
        {"k.two", "S2", "m2", "2026-01-01T10:00:00Z", "e1"},
        {"k.one", "S3", "m3", "2026-01-01T11:00:00Z", "e2"},
    };
    for (int i = 0; i < 3; i++) {
        const cJSON *l = cJSON_GetArrayItem(lines, i);
        char *id = alert_id(&f->st, i + 1);
        assert_string_equal(str(l, "id"), id);
        free(id);
        assert_string_equal(str(l, "kind"), want[i].kind);
        assert_string_equal(str(l, "severity"), "warning");
        assert_string_equal(str(l, "subject"), want[i].subject);
        assert_string_equal(str(l, "message"), want[i].message);
        assert_string_equal(str(l, "at"), want[i].at);
        const cJSON *ev = cJSON_GetObjectItem(l, "event");
        assert_string_equal(str(ev, "source"), "urn:test");
        assert_string_equal(str(ev, "id"), want[i].event);
    }
    cJSON_Delete(lines);

    /* delivered rows are not delivered again */
    assert_int_equal(outbox_deliver(&f->st, f->sinks, 1, NULL), 0);
    lines = sink_lines(f->sink_a);
    assert_int_equal(cJSON_GetArraySize(lines), 3);
    cJSON_Delete(lines);
    /* nothing went to the sink the alerts had no row for */
    struct stat sb;
    assert_int_not_equal(stat(f->sink_b + 5, &sb), 0);
}

/* ENGINE BUG (outbox.c:193-205 at c3e5ae9): outbox_deliver selects the alert's rule and
 * data (OUTBOX_COLUMNS) but builds the line without them, so a sink never
 * sees "rule" or "data" — for example the "late" flag of an overdue alert
 * that fell due while the engine was stopped. Correct behaviour: the line
 * is the alert's output JSON {id, kind, severity, subject, at, message,
 * event, rule?, data?}, the same object outbox_list gives. */
/* A process killed in the middle of a line (the crash test saw it) leaves
 * the file without a final newline; the next alert must start a line of its
 * own instead of being glued to the cut one. */
static void delivery_after_a_cut_line_starts_a_new_line(void **state)
{
    fixture *f = *state;
    f->ctx.nsinks = 1;
    FILE *fp = fopen(f->sink_a + 5, "w");
    assert_non_null(fp);
    fputs("{\"id\":\"al-cut\",\"kind\":\"k.o", fp); /* no newline: cut off */
    fclose(fp);
    at_event(f, T0);
    assert_int_equal(alert(&f->ctx, "k.one", "S1", "m1", NULL, NULL), 0);
    assert_int_equal(outbox_deliver(&f->st, f->sinks, 1, NULL), 1);
    fp = fopen(f->sink_a + 5, "r");
    assert_non_null(fp);
    char line[8192];
    assert_non_null(fgets(line, sizeof line, fp));
    assert_string_equal(line, "{\"id\":\"al-cut\",\"kind\":\"k.o\n");
    assert_non_null(fgets(line, sizeof line, fp));
    cJSON *v = cJSON_Parse(line);
    assert_non_null(v);
    assert_string_equal(str(v, "subject"), "S1");
    cJSON_Delete(v);
    assert_null(fgets(line, sizeof line, fp));
    fclose(fp);
}

static void delivered_line_carries_rule_and_data(void **state)
{
    fixture *f = *state;
    f->ctx.nsinks = 1;
    at_event(f, T0);
    assert_int_equal(alert(&f->ctx, "obligo.obligation_overdue", "B-1", "Termijn verstreken",
                           "obligo.engine", "{\"obligation\":1,\"late\":true}"),
                     0);
    assert_int_equal(alert(&f->ctx, "k", "S", "plain", NULL, NULL), 0);
    assert_int_equal(outbox_deliver(&f->st, f->sinks, 1, NULL), 2);
    cJSON *lines = sink_lines(f->sink_a);
    assert_int_equal(cJSON_GetArraySize(lines), 2);
    const cJSON *l0 = cJSON_GetArrayItem(lines, 0), *l1 = cJSON_GetArrayItem(lines, 1);
    assert_null(cJSON_GetObjectItem(l1, "rule"));
    assert_null(cJSON_GetObjectItem(l1, "data"));
    outbox_filter flt = {0};
    cJSON *listed = outbox_list(&f->st, &flt);
    /* the list adds the row's seq (its paging key) and the acknowledgement,
     * which a sink's line does not carry: the alert was delivered before
     * anyone could acknowledge it, and seq is this database's own number */
    for (cJSON *a = listed->child; a; a = a->next) {
        assert_non_null(cJSON_GetObjectItem(a, "seq"));
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(a, "acknowledged")));
        cJSON_DeleteItemFromObject(a, "seq");
        cJSON_DeleteItemFromObject(a, "acknowledged");
    }
    assert_true(cJSON_Compare(l1, cJSON_GetArrayItem(listed, 1), 1));
    /* the first alert's rule and data reach the sink */
    const char *rule = str(l0, "rule");
    const cJSON *data = cJSON_GetObjectItem(l0, "data");
    int same = cJSON_Compare(l0, cJSON_GetArrayItem(listed, 0), 1);
    cJSON *want_data = cJSON_Parse("{\"obligation\":1,\"late\":true}");
    int data_ok = data && cJSON_Compare(data, want_data, 1);
    cJSON_Delete(want_data);
    cJSON_Delete(listed);
    int rule_ok = rule && strcmp(rule, "obligo.engine") == 0;
    cJSON_Delete(lines);
    assert_true(rule_ok);
    assert_true(data_ok);
    assert_true(same);
}

static void rows_of_unconfigured_sinks_stay_pending(void **state)
{
    fixture *f = *state;
    at_event(f, T0); /* both sinks get a row */
    assert_int_equal(alert(&f->ctx, "k", "S1", "m1", NULL, NULL), 0);
    assert_int_equal(alert(&f->ctx, "k", "S2", "m2", NULL, NULL), 0);
    assert_int_equal(outbox_pending(&f->st), 4);

    /* only sink_a is configured now */
    assert_int_equal(outbox_deliver(&f->st, f->sinks, 1, NULL), 2);
    assert_int_equal(outbox_pending(&f->st), 2);
    char sql[1400];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND sink='%s'", f->sink_b);
    assert_int_equal(support_sql_int(f->st.db, sql), 2);
    struct stat sb;
    assert_int_not_equal(stat(f->sink_b + 5, &sb), 0);
    /* delivering again with the same configuration changes nothing */
    assert_int_equal(outbox_deliver(&f->st, f->sinks, 1, NULL), 0);
    assert_int_equal(outbox_pending(&f->st), 2);

    /* once the second sink is configured again its rows go out */
    assert_int_equal(outbox_deliver(&f->st, f->sinks, 2, NULL), 2);
    assert_int_equal(outbox_pending(&f->st), 0);
    cJSON *a = sink_lines(f->sink_a), *b = sink_lines(f->sink_b);
    assert_int_equal(cJSON_GetArraySize(a), 2);
    assert_int_equal(cJSON_GetArraySize(b), 2);
    assert_true(cJSON_Compare(a, b, 1));
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static void failing_sink_leaves_rows_pending(void **state)
{
    fixture *f = *state;
    char sink[1200], missing[1100];
    snprintf(missing, sizeof missing, "%s/missing", f->dir);
    snprintf(sink, sizeof sink, "file:%s/alerts.jsonl", missing);
    const char *sinks[] = {sink};
    f->ctx.sinks = sinks;
    f->ctx.nsinks = 1;
    at_event(f, T0);
    assert_int_equal(alert(&f->ctx, "k", "S1", "m1", NULL, NULL), 0);
    assert_int_equal(alert(&f->ctx, "k", "S2", "m2", NULL, NULL), 0);

    assert_true(outbox_deliver(&f->st, sinks, 1, NULL) < 0);
    assert_int_equal(outbox_pending(&f->st), 2);
    assert_int_equal(support_sql_int(f->st.db,
                                     "SELECT count(*) FROM outbox WHERE delivered_at IS NOT "
                                     "NULL"),
                     0);
    /* the delivery attempt left no transaction open */
    assert_int_equal(sqlite3_get_autocommit(f->st.db), 1);

    /* the directory appears: everything goes out (at least once) */
    assert_int_equal(mkdir(missing, 0755), 0);
    assert_int_equal(outbox_deliver(&f->st, sinks, 1, NULL), 2);
    assert_int_equal(outbox_pending(&f->st), 0);
    cJSON *lines = sink_lines(sink);
    assert_true(cJSON_GetArraySize(lines) >= 2);
    /* each alert arrived, with its stable id */
    char *id1 = alert_id(&f->st, 1), *id2 = alert_id(&f->st, 2);
    int seen1 = 0, seen2 = 0;
    for (const cJSON *l = lines->child; l; l = l->next) {
        seen1 += strcmp(str(l, "id"), id1) == 0;
        seen2 += strcmp(str(l, "id"), id2) == 0;
    }
    free(id1);
    free(id2);
    cJSON_Delete(lines);
    assert_true(seen1 >= 1);
    assert_true(seen2 >= 1);
}

/* Fails unless the list's messages are exactly want ("m1,m3"). */
static void assert_messages(cJSON *list, const char *want)
{
    assert_non_null(list);
    char got[256] = "";
    for (const cJSON *a = list->child; a; a = a->next) {
        size_t n = strlen(got);
        snprintf(got + n, sizeof got - n, "%s%s", n ? "," : "", str(a, "message"));
    }
    cJSON_Delete(list);
    assert_string_equal(got, want);
}

static void list_filters_and_pages(void **state)
{
    fixture *f = *state;
    at_event(f, T0);
    assert_int_equal(alert(&f->ctx, "k.a", "S", "m1", "r.one", "{\"n\":1}"), 0);
    assert_int_equal(alert(&f->ctx, "k.b", "S", "m2", NULL, NULL), 0);
    at_event(f, T0 + H);
    assert_int_equal(alert(&f->ctx, "k.a", "S", "m3", NULL, NULL), 0);
    at_event(f, T0 + 2 * H);
    assert_int_equal(alert(&f->ctx, "k.b", "S", "m4", NULL, NULL), 0);

    outbox_filter flt = {0};
    assert_messages(outbox_list(&f->st, &flt), "m1,m2,m3,m4");
    /* since is inclusive */
    flt = (outbox_filter){.since = T0 + H};
    assert_messages(outbox_list(&f->st, &flt), "m3,m4");
    flt = (outbox_filter){.since = T0 + H + 1};
    assert_messages(outbox_list(&f->st, &flt), "m4");
    flt = (outbox_filter){.kind = "k.a"};
    assert_messages(outbox_list(&f->st, &flt), "m1,m3");
    flt = (outbox_filter){.kind = "k.b", .since = T0 + H};
    assert_messages(outbox_list(&f->st, &flt), "m4");
    flt = (outbox_filter){.kind = "k.none"};
    assert_messages(outbox_list(&f->st, &flt), "");
    flt = (outbox_filter){.limit = 2};
    assert_messages(outbox_list(&f->st, &flt), "m1,m2");
    flt = (outbox_filter){.after_seq = 2, .limit = 2};
    assert_messages(outbox_list(&f->st, &flt), "m3,m4");
    flt = (outbox_filter){.after_seq = 3};
    assert_messages(outbox_list(&f->st, &flt), "m4");
    flt = (outbox_filter){.after_seq = 4};
    assert_messages(outbox_list(&f->st, &flt), "");

    /* the output form */
    flt = (outbox_filter){0};
    cJSON *list = outbox_list(&f->st, &flt);
    const cJSON *a1 = cJSON_GetArrayItem(list, 0), *a3 = cJSON_GetArrayItem(list, 2);
    char *id1 = alert_id(&f->st, 1);
    assert_string_equal(str(a1, "id"), id1);
    free(id1);
    assert_string_equal(str(a1, "kind"), "k.a");
    assert_string_equal(str(a1, "severity"), "warning");
    assert_string_equal(str(a1, "subject"), "S");
    assert_string_equal(str(a1, "at"), "2026-01-01T10:00:00Z");
    assert_string_equal(str(a1, "rule"), "r.one");
    assert_int_equal((int)cJSON_GetObjectItem(cJSON_GetObjectItem(a1, "data"), "n")->valuedouble,
                     1);
    assert_string_equal(str(cJSON_GetObjectItem(a1, "event"), "id"), "e1");
    assert_string_equal(str(a3, "at"), "2026-01-01T11:00:00Z");
    assert_null(cJSON_GetObjectItem(a3, "rule"));
    assert_null(cJSON_GetObjectItem(a3, "data"));
    assert_string_equal(str(cJSON_GetObjectItem(a3, "event"), "source"), "urn:test");
    assert_string_equal(str(cJSON_GetObjectItem(a3, "event"), "id"), "e2");
    cJSON_Delete(list);
}

/* ENGINE BUG (outbox.c:179-191, 218-219 at c3e5ae9): delivery reads pending rows 256 at
 * a time, skips those whose sink is not configured, and stops when a batch
 * delivered nothing. Once 256 rows of a sink that was removed from the
 * configuration are pending (they stay pending by design), every later
 * alert is stuck behind them and is never delivered. Correct behaviour:
 * rows of configured sinks are delivered whatever the backlog of other
 * sinks (filter by sink in the query, or page past skipped rows). */
static void backlog_of_unconfigured_sink_does_not_block_delivery(void **state)
{
    fixture *f = *state;
    const char *old_sink[] = {f->sink_b};
    f->ctx.sinks = old_sink;
    f->ctx.nsinks = 1;
    at_event(f, T0);
    for (int i = 0; i < 256; i++)
        assert_int_equal(alert(&f->ctx, "k.old", "S", "old", NULL, NULL), 0);
    /* the configuration changed: only sink_a from now on */
    f->ctx.sinks = f->sinks;
    f->ctx.nsinks = 1;
    at_event(f, T0 + H);
    assert_int_equal(alert(&f->ctx, "k.new", "S", "new", NULL, NULL), 0);
    assert_int_equal(outbox_pending(&f->st), 257);

    assert_int_equal(outbox_deliver(&f->st, f->sinks, 1, NULL), 1);
    assert_int_equal(outbox_pending(&f->st), 256);
    cJSON *lines = sink_lines(f->sink_a);
    assert_int_equal(cJSON_GetArraySize(lines), 1);
    cJSON_Delete(lines);
}

/* /metrics counts alerts by kind from running counts: counted once from
 * the table, then kept by triggers as alerts are written, undone with a
 * rolled-back transaction, most frequent first, a too-long kind left out. */
/* Five alerts: m1 k.a warning, m2 k.b critical, m3 k.a critical, m4 k.b
 * info, m5 k.a warning; seq 1..5. */
static void five_alerts(fixture *f)
{
    static const char *const sev[] = {"warning", "critical", "critical", "info", "warning"};
    static const char *const kind[] = {"k.a", "k.b", "k.a", "k.b", "k.a"};
    for (int i = 0; i < 5; i++) {
        char m[8];
        snprintf(m, sizeof m, "m%d", i + 1);
        at_event(f, T0 + i * H);
        alert_severity = sev[i];
        assert_int_equal(alert(&f->ctx, kind[i], "S", m, NULL, NULL), 0);
    }
    alert_severity = "warning";
}

/* The acknowledgement of the alert with seq `seq`, as the acknowledging
 * rule writes it: a version of its entry in the register, by an event. */
static void acknowledge(fixture *f, int seq, const char *by, const char *when)
{
    char *id = alert_id(&f->st, seq);
    at_event(f, T0 + 10 * H);
    cJSON *fields = cJSON_CreateObject();
    cJSON_AddStringToObject(fields, "alert_id", id);
    cJSON_AddStringToObject(fields, "by", by);
    cJSON_AddStringToObject(fields, "note", "gezien");
    if (when)
        cJSON_AddStringToObject(fields, "acknowledged_at", when);
    assert_int_equal(
        registers_append(&f->st, OUTBOX_ACK_REGISTER, id, fields, T0 + 10 * H, f->ctx.event_seq),
        0);
    cJSON_Delete(fields);
    free(id);
}

/* newest first with before; severity as one or a list; acknowledged or
 * not; all combined; and each row's seq and acknowledged. */
static void list_newest_severity_acknowledged(void **state)
{
    fixture *f = *state;
    five_alerts(f);
    outbox_filter flt = {.newest = 1};
    assert_messages(outbox_list(&f->st, &flt), "m5,m4,m3,m2,m1");
    flt = (outbox_filter){.newest = 1, .before_seq = 4, .limit = 2};
    assert_messages(outbox_list(&f->st, &flt), "m3,m2");
    flt = (outbox_filter){.newest = 1, .before_seq = 2, .limit = 2};
    assert_messages(outbox_list(&f->st, &flt), "m1");
    flt = (outbox_filter){.newest = 1, .before_seq = 1};
    assert_messages(outbox_list(&f->st, &flt), "");
    flt = (outbox_filter){.severity = "critical"};
    assert_messages(outbox_list(&f->st, &flt), "m2,m3");
    flt = (outbox_filter){.severity = "critical,info", .newest = 1};
    assert_messages(outbox_list(&f->st, &flt), "m4,m3,m2");
    flt = (outbox_filter){.severity = "warning", .kind = "k.a", .newest = 1};
    assert_messages(outbox_list(&f->st, &flt), "m5,m1");
    flt = (outbox_filter){.severity = "critical,bogus"};
    assert_messages(outbox_list(&f->st, &flt), "");

    acknowledge(f, 3, "fg-1", "2026-01-02T09:00:00+01:00");
    acknowledge(f, 5, "fg-2", NULL);
    acknowledge(f, 3, "fg-3", "2026-01-03T09:00:00+01:00"); /* the latest version counts */
    flt = (outbox_filter){.acknowledged = OUTBOX_ACK_YES, .newest = 1};
    assert_messages(outbox_list(&f->st, &flt), "m5,m3");
    flt = (outbox_filter){.acknowledged = OUTBOX_ACK_NO, .newest = 1};
    assert_messages(outbox_list(&f->st, &flt), "m4,m2,m1");
    flt = (outbox_filter){.acknowledged = OUTBOX_ACK_NO, .severity = "critical,warning"};
    assert_messages(outbox_list(&f->st, &flt), "m1,m2");
    flt = (outbox_filter){.acknowledged = OUTBOX_ACK_NO, .newest = 1, .before_seq = 4, .limit = 1};
    assert_messages(outbox_list(&f->st, &flt), "m2");

    flt = (outbox_filter){0};
    cJSON *list = outbox_list(&f->st, &flt);
    assert_int_equal(cJSON_GetArraySize(list), 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal((int)cJSON_GetObjectItem(cJSON_GetArrayItem(list, i), "seq")->valuedouble,
                         i + 1);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "acknowledged")));
    const cJSON *a3 = cJSON_GetObjectItem(cJSON_GetArrayItem(list, 2), "acknowledged");
    assert_string_equal(str(a3, "by"), "fg-3");
    assert_string_equal(str(a3, "note"), "gezien");
    assert_string_equal(str(a3, "at"), "2026-01-03T08:00:00Z"); /* in UTC */
    const cJSON *ev = cJSON_GetObjectItem(a3, "event");
    assert_string_equal(str(ev, "source"), "urn:test");
    assert_string_equal(str(ev, "id"), "e8"); /* the event that wrote the latest version */
    /* without acknowledged_at: when the version was written */
    const cJSON *a5 = cJSON_GetObjectItem(cJSON_GetArrayItem(list, 4), "acknowledged");
    assert_string_equal(str(a5, "at"), "2026-01-01T20:00:00Z");
    cJSON_Delete(list);

    assert_int_equal(outbox_severities("info,warning,critical", NULL), 0);
    unsigned mask = 0;
    assert_int_equal(outbox_severities("critical", &mask), 0);
    assert_int_equal(mask, 4u);
    assert_int_equal(outbox_severities("critical,", NULL), -1);
    assert_int_equal(outbox_severities("", NULL), -1);
    assert_int_equal(outbox_severities("error", NULL), -1);
}

/* The console's alert queries walk an index or the table newest first,
 * never sorting the matches. */
static void list_newest_plans_use_an_index(void **state)
{
    fixture *f = *state;
    five_alerts(f);
    static const struct {
        outbox_filter flt;
        const char *walk;
    } cases[] = {
        {{.newest = 1, .limit = 100}, "SEARCH a USING INTEGER PRIMARY KEY"},
        {{.newest = 1, .before_seq = 4, .limit = 100}, "SEARCH a USING INTEGER PRIMARY KEY"},
        {{.newest = 1, .severity = "critical", .limit = 100}, "alerts_by_severity"},
        {{.newest = 1, .kind = "k.a", .limit = 100}, "alerts_by_kind"},
        {{.newest = 1, .acknowledged = OUTBOX_ACK_NO, .limit = 100},
         "SEARCH a USING INTEGER PRIMARY KEY"},
        {{.newest = 1, .severity = "warning,critical", .limit = 100},
         "SEARCH a USING INTEGER PRIMARY KEY"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[16];
        snprintf(what, sizeof what, "case %zu", i);
        support_trace_sql(f->st.db, "SELECT a.seq");
        cJSON_Delete(outbox_list(&f->st, &cases[i].flt));
        support_assert_plan_walks(f->st.db, cases[i].walk, what);
    }
}

static void alert_counts_are_kept_as_alerts_are_written(void **state)
{
    fixture *f = *state;
    assert_int_equal(
        sqlite3_exec(f->st.db,
                     "INSERT INTO events(seq,source,id,type,time,raw,received_at,ruleset,hash,"
                     "prev_hash) VALUES(1,'s','e1','t',0,'{}',0,'r','h','p');"
                     "INSERT INTO alerts(id,kind,severity,subject,at,message,event) VALUES"
                     "('a1','avg.late_notification','high','B-1',0,'m',1);",
                     NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(outbox_counts_start(&f->st), 0);
    assert_int_equal(
        sqlite3_exec(f->st.db,
                     "INSERT INTO alerts(id,kind,severity,subject,at,message,event) VALUES"
                     "('a2','obligo.rule_error','high','x',0,'m',1),"
                     "('a3','obligo.rule_error','high','y',0,'m',1);"
                     "BEGIN; INSERT INTO alerts(id,kind,severity,subject,at,message,event) VALUES"
                     "('a4','avg.late_notification','high','z',0,'m',1); ROLLBACK;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    char long_kind[OUTBOX_KIND_LEN + 8];
    memset(long_kind, 'k', sizeof long_kind - 1);
    long_kind[sizeof long_kind - 1] = '\0';
    sqlite3_stmt *ins;
    assert_int_equal(sqlite3_prepare_v2(f->st.db,
                                        "INSERT INTO alerts(id,kind,severity,subject,at,message,"
                                        "event) VALUES('a5',?1,'high','x',0,'m',1)",
                                        -1, &ins, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(ins, 1, long_kind, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
    sqlite3_finalize(ins);
    outbox_alert_count counts[64];
    int n = -1;
    assert_int_equal(outbox_alert_counts(&f->st, counts, 64, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(counts[0].kind, "obligo.rule_error");
    assert_int_equal(counts[0].count, 2);
    assert_string_equal(counts[1].kind, "avg.late_notification");
    assert_int_equal(counts[1].count, 1);
    /* the same as counting the table */
    assert_int_equal(support_sql_int(f->st.db, "SELECT count(*) FROM alerts WHERE "
                                               "kind='avg.late_notification'"),
                     1);
}

int main(void)
{
    engine_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(routes_decide_which_sink_gets_a_row, setup, teardown),
        cmocka_unit_test_setup_teardown(alert_writes_alert_and_one_outbox_row_per_sink, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(alert_needs_kind_subject_severity_and_message, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(alert_ids_are_stable, setup, teardown),
        cmocka_unit_test_setup_teardown(deliver_writes_one_json_line_per_alert, setup, teardown),
        cmocka_unit_test_setup_teardown(delivery_after_a_cut_line_starts_a_new_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(delivered_line_carries_rule_and_data, setup, teardown),
        cmocka_unit_test_setup_teardown(rows_of_unconfigured_sinks_stay_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(failing_sink_leaves_rows_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(list_filters_and_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(list_newest_severity_acknowledged, setup, teardown),
        cmocka_unit_test_setup_teardown(list_newest_plans_use_an_index, setup, teardown),
        cmocka_unit_test_setup_teardown(alert_counts_are_kept_as_alerts_are_written, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(backlog_of_unconfigured_sink_does_not_block_delivery, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
