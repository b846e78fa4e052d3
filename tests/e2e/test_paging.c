/*
 * test_paging.c — end to end over real sockets: the paging and filters the
 * console's pages read (issue 17, item 9). Obligations by due time
 * (order=due) with the keyset after_due + after, statuses as a comma list,
 * kind and due_before combined; alerts newest first (order=newest) with
 * before, severity lists, acknowledged=0|1 and each row's seq and
 * acknowledgement, read from the signalen register an acknowledging event
 * wrote; a register's current entries newest first. Every page walk must
 * meet each row exactly once, in the order the test computes itself from
 * the unordered lists; bad values get 400 naming the parameter. The rows
 * are made by a small rule set of the test's own, through the engine.
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

#include <cmocka.h>

#include "http_client.h"
#include "support.h"

/* The test's rules: two duties, and events that open and fulfil them,
 * raise an alert of a given kind and severity, write a breach register
 * entry, and acknowledge an alert as the console's rule does. */
static const char rules_lua[] =
    "obligation \"t.duty_a\" { title = \"Taak A\", source = \"test\", due = hours(10) }\n"
    "obligation \"t.duty_b\" { title = \"Taak B\", source = \"test\", due = hours(20) }\n"
    "rule \"t.open\" { title = \"Opent\", source = \"test\", on = \"t.open\",\n"
    "  run = function(e, act) act.open(e.data.duty, e.data.subject, { from = e.data.from }) end }\n"
    "rule \"t.done\" { title = \"Sluit\", source = \"test\", on = \"t.done\",\n"
    "  run = function(e, act) act.fulfil(e.data.duty, e.data.subject, { at = e.data.at }) end }\n"
    "rule \"t.alert\" { title = \"Signaal\", source = \"test\", on = \"t.alert\",\n"
    "  run = function(e, act)\n"
    "    act.alert(e.data.kind, e.data.subject, { severity = e.data.severity, message = \"m\" })\n"
    "  end }\n"
    "rule \"t.breach\" { title = \"Datalek\", source = \"test\", on = \"t.breach\",\n"
    "  run = function(e, act) act.register(\"datalekken\", e.data.key, { status = e.data.status })"
    " end }\n"
    "rule \"t.ack\" { title = \"Gezien\", source = \"test\", on = "
    "\"nl.obligo.alert.acknowledged\",\n"
    "  run = function(e, act)\n"
    "    act.register(\"signalen\", e.data.alert_id, { by = e.data.by, note = e.data.note,\n"
    "      acknowledged_at = e.data.acknowledged_at })\n"
    "  end }\n";

typedef struct fx {
    char *dir;
    char db[512], log[512], rules[512];
    int port;
    pid_t pid;
    int nevents;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    snprintf(f->db, sizeof f->db, "%s/obligo.db", f->dir);
    snprintf(f->log, sizeof f->log, "%s/serve.log", f->dir);
    snprintf(f->rules, sizeof f->rules, "%s/rules", f->dir);
    free(support_write(f->dir, "rules/t.lua", rules_lua));
    f->port = client_free_port();
    f->pid = client_start_server(f->db, f->rules, f->port, f->log);
    assert_true(f->pid > 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    if (f->pid > 0)
        assert_int_equal(client_stop_server(f->pid, SIGTERM), 0);
    support_assert_clean_log(f->log);
    support_assert_replays(f->db);
    support_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Posts one event of type with data (JSON text) at time t (RFC 3339). */
static void post(fx *f, const char *type, const char *t, const char *data)
{
    char ev[2048];
    snprintf(ev, sizeof ev,
             "{\"specversion\":\"1.0\",\"id\":\"p-%d\",\"source\":\"urn:test:paging\","
             "\"type\":\"%s\",\"time\":\"%s\",\"data\":%s}",
             ++f->nevents, type, t, data);
    char *body = NULL;
    int st = client_request(f->port, "POST", "/v1/events", "application/cloudevents+json", ev,
                            strlen(ev), &body);
    if (st != 202)
        fail_msg("POST %s: %d %s", type, st, body ? body : "");
    free(body);
}

/* GET path: the status, and the body parsed into *out (caller frees;
 * may be NULL). */
static int get(fx *f, const char *path, cJSON **out)
{
    char *body = NULL;
    int st = client_request(f->port, "GET", path, NULL, NULL, 0, &body);
    if (out)
        *out = body ? cJSON_Parse(body) : NULL;
    free(body);
    return st;
}

/* GET path, which must answer 200 with a JSON array. */
static cJSON *get_list(fx *f, const char *path)
{
    cJSON *list = NULL;
    int st = get(f, path, &list);
    if (st != 200 || !cJSON_IsArray(list))
        fail_msg("GET %s: %d", path, st);
    return list;
}

/* GET path must answer 400 with an error naming param. */
static void assert_bad(fx *f, const char *path, const char *param)
{
    cJSON *err = NULL;
    int st = get(f, path, &err);
    const char *msg = support_str(err, "error");
    int named = msg && strncmp(msg, param, strlen(param)) == 0;
    if (st != 400 || !named)
        fail_msg("GET %s: %d '%s', expected 400 naming %s", path, st, msg ? msg : "", param);
    cJSON_Delete(err);
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(o, name);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

/* ---- obligations ------------------------------------------------------------ */

/* 24 duties: subjects S00..S23, A (due in 10 h) or B (20 h) by parity,
 * from hh:30 the day before the engine's clock starts (CLIENT_CLOCK_START,
 * 11:00Z), hh = 8 + (i / 2) % 12, so pairs share an instant and many rows
 * a due_at; every fifth is done at 21:00 (late for an A, fulfilled for a
 * B). Every A and the B from before 15:30 fall due before 11:00 the next
 * day and fire as overdue; this waits until they have (the engine fires
 * them on its own, after the events' commits), so that the lists hold
 * still while the test reads them. */
static void open_duties(fx *f)
{
    int overdue = 0;
    for (int i = 0; i < 24; i++) {
        int hh = 8 + (i / 2) % 12;
        overdue += i % 5 != 0 && (i % 2 == 0 || hh <= 14);
        char t[32], data[256];
        snprintf(t, sizeof t, "2026-11-30T%02d:30:00Z", hh);
        snprintf(data, sizeof data,
                 "{\"duty\":\"t.duty_%c\",\"subject\":\"S%02d\",\"from\":\"%s\"}",
                 i % 2 ? 'b' : 'a', i, t);
        post(f, "t.open", t, data);
    }
    for (int i = 0; i < 24; i += 5) {
        char data[128];
        snprintf(data, sizeof data,
                 "{\"duty\":\"t.duty_%c\",\"subject\":\"S%02d\",\"at\":\"2026-11-30T21:00:00Z\"}",
                 i % 2 ? 'b' : 'a', i);
        post(f, "t.done", "2026-11-30T21:00:00Z", data);
    }
    for (int tries = 0;; tries++) {
        cJSON *list = get_list(f, "/v1/obligations?status=overdue");
        int n = cJSON_GetArraySize(list);
        cJSON_Delete(list);
        if (n == overdue)
            break;
        if (tries > 1000)
            fail_msg("%d obligations overdue after 10 s, expected %d", n, overdue);
        usleep(10000);
    }
}

static int cmp_due(const void *x, const void *y)
{
    const cJSON *a = *(const cJSON *const *)x, *b = *(const cJSON *const *)y;
    int c = strcmp(support_str(a, "due_at"), support_str(b, "due_at"));
    return c ? c : (num(a, "id") > num(b, "id")) - (num(a, "id") < num(b, "id"));
}

/* The ids (comma-separated into out) of the rows of the default list (by
 * id, the order the API has always had) that match, sorted by (due_at,
 * id) here: what order=due must answer, computed without it. */
static void expected_by_due(fx *f, const char *statuses, const char *kind, const char *before,
                            char *out, size_t n)
{
    cJSON *all = get_list(f, "/v1/obligations?limit=1000");
    const cJSON *rows[64];
    int k = 0;
    for (const cJSON *o = all->child; o; o = o->next) {
        char st[24];
        snprintf(st, sizeof st, ",%s,", support_str(o, "status"));
        char list[64];
        snprintf(list, sizeof list, ",%s,", statuses);
        if (strstr(list, st) && (!kind || strcmp(support_str(o, "kind"), kind) == 0) &&
            (!before || strcmp(support_str(o, "due_at"), before) < 0) && k < 64)
            rows[k++] = o;
    }
    qsort(rows, (size_t)k, sizeof rows[0], cmp_due);
    out[0] = '\0';
    for (int i = 0; i < k; i++) {
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s%d", i ? "," : "", (int)num(rows[i], "id"));
    }
    cJSON_Delete(all);
}

/* Walks path (order=due and its filters) in pages of limit with the
 * keyset of each page's last row; the ids met, in order, into out. */
static void walk_by_due(fx *f, const char *path, int limit, char *out, size_t n)
{
    out[0] = '\0';
    char cursor[128] = "";
    for (int page = 0; page < 100; page++) {
        char p[512];
        snprintf(p, sizeof p, "%s&limit=%d%s", path, limit, cursor);
        cJSON *list = get_list(f, p);
        const cJSON *last = NULL;
        for (const cJSON *o = list->child; o; o = o->next) {
            size_t len = strlen(out);
            snprintf(out + len, n - len, "%s%d", len ? "," : "", (int)num(o, "id"));
            last = o;
        }
        assert_true(cJSON_GetArraySize(list) <= limit);
        if (last)
            snprintf(cursor, sizeof cursor, "&after_due=%s&after=%d", support_str(last, "due_at"),
                     (int)num(last, "id"));
        cJSON_Delete(list);
        if (!last)
            return;
    }
    fail_msg("%s: more than 100 pages", path);
}

static void obligations_by_due_in_keyset_pages(void **state)
{
    fx *f = *state;
    open_duties(f);
    char want[512], got[512];
    expected_by_due(f, "open,overdue", NULL, NULL, want, sizeof want);
    /* the fixture has both statuses, and rows sharing a due_at */
    cJSON *active = get_list(f, "/v1/obligations?status=overdue");
    assert_true(cJSON_GetArraySize(active) > 0);
    cJSON_Delete(active);
    assert_true(strlen(want) > 20);
    for (int limit = 1; limit <= 7; limit += 3) {
        walk_by_due(f, "/v1/obligations?order=due&status=open,overdue", limit, got, sizeof got);
        assert_string_equal(got, want);
    }
    /* kind and due_before combined with the statuses */
    expected_by_due(f, "open,overdue", "t.duty_a", "2026-12-01T01:00:00Z", want, sizeof want);
    walk_by_due(f,
                "/v1/obligations?order=due&status=overdue,open&kind=t.duty_a&due_before="
                "2026-12-01T01:00:00Z",
                2, got, sizeof got);
    assert_string_equal(got, want);
    assert_true(strlen(want) > 0);
    expected_by_due(f, "fulfilled", "t.duty_b", NULL, want, sizeof want);
    walk_by_due(f, "/v1/obligations?order=due&status=fulfilled&kind=t.duty_b", 1, got, sizeof got);
    assert_string_equal(got, want);
    expected_by_due(f, "open,overdue,fulfilled,late,cancelled", NULL, NULL, want, sizeof want);
    walk_by_due(f, "/v1/obligations?order=due", 5, got, sizeof got);
    assert_string_equal(got, want);

    /* without order=due: by id, as always; the comma list works there too */
    cJSON *list = get_list(f, "/v1/obligations?status=open,fulfilled&limit=1000");
    double prev = 0;
    int n = 0;
    for (const cJSON *o = list->child; o; o = o->next, n++) {
        assert_true(num(o, "id") > prev);
        prev = num(o, "id");
        const char *st = support_str(o, "status");
        assert_true(strcmp(st, "open") == 0 || strcmp(st, "fulfilled") == 0);
    }
    assert_true(n > 0);
    cJSON_Delete(list);

    assert_bad(f, "/v1/obligations?status=open,bogus", "status");
    assert_bad(f, "/v1/obligations?status=", "status");
    assert_bad(f, "/v1/obligations?order=sideways", "order");
    assert_bad(f, "/v1/obligations?order=due&after_due=yesterday&after=1", "after_due");
    assert_bad(f, "/v1/obligations?after_due=2026-11-30T18:00:00Z&after=1", "after_due");
    assert_bad(f, "/v1/obligations?order=due&after=3", "after_due");
    assert_bad(f, "/v1/obligations?order=due&after_due=2026-11-30T18:00:00Z", "after");
    assert_bad(f, "/v1/obligations?order=due&due_before=soon", "due_before");
}

/* ---- alerts ----------------------------------------------------------------- */

static void alerts_newest_severity_acknowledged(void **state)
{
    fx *f = *state;
    static const char *const sev[] = {"info", "warning", "critical"};
    for (int i = 0; i < 15; i++) {
        char data[128], t[32];
        snprintf(t, sizeof t, "2026-12-01T%02d:00:00Z", i % 10);
        snprintf(data, sizeof data, "{\"kind\":\"t.%s\",\"subject\":\"C%d\",\"severity\":\"%s\"}",
                 i % 2 ? "odd" : "even", i, sev[i % 3]);
        post(f, "t.alert", t, data);
    }
    cJSON *all = get_list(f, "/v1/alerts");
    assert_int_equal(cJSON_GetArraySize(all), 15);
    /* acknowledge the 4th and the 9th, the 4th twice: the latest counts */
    const char *id4 = support_str(cJSON_GetArrayItem(all, 3), "id");
    const char *id9 = support_str(cJSON_GetArrayItem(all, 8), "id");
    char data[256];
    snprintf(data, sizeof data,
             "{\"alert_id\":\"%s\",\"by\":\"fg-1\",\"note\":\"eerst\",\"acknowledged_at\":"
             "\"2026-12-01T10:00:00+01:00\"}",
             id4);
    post(f, "nl.obligo.alert.acknowledged", "2026-12-01T09:00:00Z", data);
    snprintf(data, sizeof data,
             "{\"alert_id\":\"%s\",\"by\":\"fg-2\",\"note\":\"besproken\",\"acknowledged_at\":"
             "\"2026-12-01T10:30:00+01:00\"}",
             id4);
    post(f, "nl.obligo.alert.acknowledged", "2026-12-01T09:30:00Z", data);
    int ack4_event = f->nevents;
    snprintf(data, sizeof data,
             "{\"alert_id\":\"%s\",\"by\":\"fg-1\",\"note\":\"ok\",\"acknowledged_at\":"
             "\"2026-12-01T09:45:00Z\"}",
             id9);
    post(f, "nl.obligo.alert.acknowledged", "2026-12-01T09:45:00Z", data);

    /* newest first in pages of 4 by before: every alert once, seq falling */
    double seqs[15];
    int n = 0;
    for (int i = 0; i < 15; i++)
        seqs[i] = num(cJSON_GetArrayItem(all, i), "seq");
    char path[256] = "/v1/alerts?order=newest&limit=4";
    for (int page = 0; page < 10; page++) {
        cJSON *list = get_list(f, path);
        int k = cJSON_GetArraySize(list);
        assert_true(k <= 4);
        for (const cJSON *a = list->child; a; a = a->next, n++) {
            assert_true(n < 15);
            assert_true(num(a, "seq") == seqs[14 - n]);
            snprintf(path, sizeof path, "/v1/alerts?order=newest&limit=4&before=%.0f",
                     num(a, "seq"));
        }
        cJSON_Delete(list);
        if (k == 0)
            break;
    }
    assert_int_equal(n, 15);

    /* acknowledged: null, or the latest version with the event that wrote it */
    cJSON *list = get_list(f, "/v1/alerts?acknowledged=1");
    assert_int_equal(cJSON_GetArraySize(list), 2);
    const cJSON *a4 = cJSON_GetArrayItem(list, 0);
    assert_string_equal(support_str(a4, "id"), id4);
    const cJSON *ack = cJSON_GetObjectItem(a4, "acknowledged");
    assert_string_equal(support_str(ack, "by"), "fg-2");
    assert_string_equal(support_str(ack, "note"), "besproken");
    assert_string_equal(support_str(ack, "at"), "2026-12-01T09:30:00Z");
    char want_id[16];
    snprintf(want_id, sizeof want_id, "p-%d", ack4_event);
    assert_string_equal(support_str(cJSON_GetObjectItem(ack, "event"), "source"),
                        "urn:test:paging");
    assert_string_equal(support_str(cJSON_GetObjectItem(ack, "event"), "id"), want_id);
    assert_string_equal(support_str(cJSON_GetArrayItem(list, 1), "id"), id9);
    cJSON_Delete(list);
    list = get_list(f, "/v1/alerts?acknowledged=0&order=newest");
    assert_int_equal(cJSON_GetArraySize(list), 13);
    for (const cJSON *a = list->child; a; a = a->next)
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(a, "acknowledged")));
    cJSON_Delete(list);

    /* severity lists, with kind and acknowledged: alert i has sev[i % 3]
     * and kind t.even or t.odd; the 9th (i 8, critical, even) is
     * acknowledged */
    list = get_list(f, "/v1/alerts?severity=critical&kind=t.even&acknowledged=0&order=newest");
    char got[64] = "";
    for (const cJSON *a = list->child; a; a = a->next) {
        size_t len = strlen(got);
        snprintf(got + len, sizeof got - len, "%s%s", len ? "," : "", support_str(a, "subject"));
    }
    assert_string_equal(got, "C14,C2");
    cJSON_Delete(list);
    list = get_list(f, "/v1/alerts?severity=info,critical");
    assert_int_equal(cJSON_GetArraySize(list), 10);
    for (const cJSON *a = list->child; a; a = a->next)
        assert_true(strcmp(support_str(a, "severity"), "warning") != 0);
    cJSON_Delete(list);
    cJSON_Delete(all);

    assert_bad(f, "/v1/alerts?severity=error", "severity");
    assert_bad(f, "/v1/alerts?severity=critical,", "severity");
    assert_bad(f, "/v1/alerts?acknowledged=yes", "acknowledged");
    assert_bad(f, "/v1/alerts?order=oldest", "order");
    assert_bad(f, "/v1/alerts?order=newest&before=x", "before");
}

/* ---- a register ------------------------------------------------------------- */

static void register_newest_in_pages(void **state)
{
    fx *f = *state;
    /* B1..B6 reported; B2 and B5 changed later, so they move to the front */
    for (int i = 1; i <= 6; i++) {
        char data[96];
        snprintf(data, sizeof data, "{\"key\":\"B%d\",\"status\":\"reported\"}", i);
        post(f, "t.breach", "2026-12-01T08:00:00Z", data);
    }
    post(f, "t.breach", "2026-12-01T09:00:00Z", "{\"key\":\"B2\",\"status\":\"notified\"}");
    post(f, "t.breach", "2026-12-01T09:10:00Z", "{\"key\":\"B5\",\"status\":\"closed\"}");
    static const char *const want = "B5:2,B2:2,B6:1,B4:1,B3:1,B1:1";
    for (int limit = 1; limit <= 4; limit++) {
        char got[128] = "", path[256];
        snprintf(path, sizeof path, "/v1/registers/datalekken?order=newest&limit=%d", limit);
        for (int page = 0; page < 10; page++) {
            cJSON *list = get_list(f, path);
            int k = cJSON_GetArraySize(list);
            assert_true(k <= limit);
            for (const cJSON *e = list->child; e; e = e->next) {
                size_t len = strlen(got);
                snprintf(got + len, sizeof got - len, "%s%s:%d", len ? "," : "",
                         support_str(e, "key"), (int)num(e, "version"));
                snprintf(path, sizeof path,
                         "/v1/registers/datalekken?order=newest&limit=%d&before=%.0f", limit,
                         num(e, "seq"));
            }
            cJSON_Delete(list);
            if (k == 0)
                break;
        }
        assert_string_equal(got, want);
    }
    /* without order: every current entry by key, as always, without seq */
    cJSON *list = get_list(f, "/v1/registers/datalekken");
    assert_int_equal(cJSON_GetArraySize(list), 6);
    assert_string_equal(support_str(list->child, "key"), "B1");
    assert_null(cJSON_GetObjectItem(list->child, "seq"));
    cJSON_Delete(list);

    assert_bad(f, "/v1/registers/datalekken?order=oldest", "order");
    assert_bad(f, "/v1/registers/datalekken?order=newest&before=-1", "before");
    assert_bad(f, "/v1/registers/datalekken?order=newest&limit=100000", "after and limit");
    /* history=1&order=newest: every version, newest first */
    list = get_list(f, "/v1/registers/datalekken?history=1&order=newest&limit=3");
    assert_int_equal(cJSON_GetArraySize(list), 3);
    assert_string_equal(support_str(cJSON_GetArrayItem(list, 0), "key"), "B5");
    assert_string_equal(support_str(cJSON_GetArrayItem(list, 1), "key"), "B2");
    assert_string_equal(support_str(cJSON_GetArrayItem(list, 2), "key"), "B6");
    char path[128];
    snprintf(path, sizeof path, "/v1/registers/datalekken?history=1&order=newest&before=%.0f",
             num(cJSON_GetArrayItem(list, 2), "seq"));
    cJSON_Delete(list);
    list = get_list(f, path);
    assert_int_equal(cJSON_GetArraySize(list), 5); /* B5 v1 .. B1 v1 */
    assert_string_equal(support_str(cJSON_GetArrayItem(list, 0), "key"), "B5");
    assert_int_equal((int)num(cJSON_GetArrayItem(list, 0), "version"), 1);
    cJSON_Delete(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(obligations_by_due_in_keyset_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(alerts_newest_severity_acknowledged, setup, teardown),
        cmocka_unit_test_setup_teardown(register_newest_in_pages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
