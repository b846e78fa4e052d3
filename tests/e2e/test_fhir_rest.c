/*
 * test_fhir_rest.c — end to end: the FHIR RESTful API of `obligo serve`
 * (/v1/fhir) driven by the real client fhir-kit-client
 * (tests/clients/fhir_send.mjs) with a bearer token, as an integrator's
 * FHIR client would: capabilityStatement(), create without an id (and its
 * retry), Prefer: return=minimal and return=OperationOutcome, a batch with
 * one bad entry, a transaction and a transaction with one bad entry. Checks
 * the statuses, Location and the response Bundles, that the NEN 7513 alerts
 * fire from extension-bearing AuditEvents, that the bad transaction
 * journaled nothing, and that refused documents are kept in `rejected` and
 * counted; then the errors a client can meet, each an OperationOutcome.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "http_client.h"
#include "support.h"

#define RULES OBLIGO_SOURCE_DIR "/rules"
#define CLIENTS OBLIGO_SOURCE_DIR "/tests/clients"
#define FHIR "application/fhir+json"

static long db_long(const char *db, const char *sql)
{
    char *out = NULL;
    char *argv[] = {"/usr/bin/sqlite3", (char *)db, (char *)sql, NULL};
    long n = support_run(argv, &out, NULL) == 0 ? atol(out) : -1;
    free(out);
    return n;
}

static char *make_token(const char *db, const char *role)
{
    char *out = NULL;
    char *argv[] = {(char *)OBLIGO_BIN, "token", "create",   "--role",
                    (char *)role,       "--db",  (char *)db, NULL};
    assert_int_equal(support_run(argv, &out, NULL), 0);
    char *tok = strstr(out, "obl_");
    assert_non_null(tok);
    char *t = strndup(tok, strspn(tok, "obl_0123456789abcdef"));
    free(out);
    return t;
}

static const cJSON *at(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!v)
        fail_msg("no member %s", name);
    return v;
}

static int status_of(const cJSON *step)
{
    return (int)cJSON_GetNumberValue(at(step, "status"));
}

static int is_hex64(const char *s)
{
    return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* The first issue of an OperationOutcome. */
static const cJSON *issue0(const cJSON *outcome)
{
    assert_string_equal(support_str(outcome, "resourceType"), "OperationOutcome");
    return cJSON_GetArrayItem(at(outcome, "issue"), 0);
}

static const char *expression0(const cJSON *outcome)
{
    return cJSON_GetStringValue(cJSON_GetArrayItem(at(issue0(outcome), "expression"), 0));
}

/* A response Bundle's entries each "201 Created" with a location
 * AuditEvent/<64 hex>/_history/1, but for entry `bad` (-1: none). */
static void assert_created(const cJSON *bundle, const char *type, int n, int bad)
{
    assert_string_equal(support_str(bundle, "resourceType"), "Bundle");
    assert_string_equal(support_str(bundle, "type"), type);
    const cJSON *entries = at(bundle, "entry");
    assert_int_equal(cJSON_GetArraySize(entries), n);
    for (int i = 0; i < n; i++) {
        const cJSON *resp = at(cJSON_GetArrayItem(entries, i), "response");
        if (i == bad)
            continue;
        assert_string_equal(support_str(resp, "status"), "201 Created");
        const char *loc = support_str(resp, "location");
        assert_non_null(loc);
        assert_int_equal(strncmp(loc, "AuditEvent/", 11), 0);
        char id[65];
        snprintf(id, sizeof id, "%.64s", loc + 11);
        assert_true(is_hex64(id));
        assert_string_equal(loc + 75, "/_history/1");
    }
}

static void fhir_kit_client_against_the_server(void **state)
{
    (void)state;
    char *dir = support_tmpdir();
    char db[512], log[512], url[128];
    snprintf(db, sizeof db, "%s/obligo.db", dir);
    snprintf(log, sizeof log, "%s/serve.log", dir);
    /* tokens before the server starts: every endpoint but /healthz and the
     * CapabilityStatement then needs one */
    char *ingest = make_token(db, "ingest");
    char *admin = make_token(db, "admin");
    int port = client_free_port();
    pid_t pid = client_start_server_args(db, RULES, port, log, NULL);
    assert_true(pid > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/fhir", port);

    setenv("OBLIGO_TOKEN", ingest, 1);
    char *argv[] = {"/usr/bin/env", "node", CLIENTS "/fhir_send.mjs", url, NULL};
    char *out = support_run_client(argv, NULL);
    unsetenv("OBLIGO_TOKEN");
    cJSON *r = cJSON_Parse(out);
    if (!r)
        fail_msg("fhir_send.mjs printed no JSON: %s", out);
    free(out);

    /* capabilityStatement() */
    const cJSON *cap = at(r, "capability");
    assert_int_equal(status_of(cap), 200);
    assert_string_equal(support_str(cap, "contentType"), FHIR);
    const cJSON *cs = at(cap, "body");
    assert_string_equal(support_str(cs, "resourceType"), "CapabilityStatement");
    assert_string_equal(support_str(cs, "status"), "active");
    assert_string_equal(support_str(cs, "kind"), "instance");
    assert_string_equal(support_str(cs, "fhirVersion"), "4.0.1");
    assert_non_null(support_str(cs, "date"));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(at(cs, "format"), 0)), "json");
    const cJSON *rest = cJSON_GetArrayItem(at(cs, "rest"), 0);
    assert_string_equal(support_str(rest, "mode"), "server");
    const cJSON *res = cJSON_GetArrayItem(at(rest, "resource"), 0);
    assert_string_equal(support_str(res, "type"), "AuditEvent");
    assert_string_equal(support_str(cJSON_GetArrayItem(at(res, "interaction"), 0), "code"),
                        "create");
    assert_string_equal(support_str(cJSON_GetArrayItem(at(rest, "interaction"), 0), "code"),
                        "batch");
    assert_string_equal(support_str(cJSON_GetArrayItem(at(rest, "interaction"), 1), "code"),
                        "transaction");

    /* create without an id: 201, Location, the resource with its id */
    const cJSON *create = at(r, "create");
    assert_int_equal(status_of(create), 201);
    assert_string_equal(support_str(create, "contentType"), FHIR);
    const char *id = support_str(at(create, "body"), "id");
    assert_true(is_hex64(id));
    assert_string_equal(support_str(at(create, "body"), "resourceType"), "AuditEvent");
    char want[256];
    snprintf(want, sizeof want, "/v1/fhir/AuditEvent/%s/_history/1", id);
    assert_string_equal(support_str(create, "location"), want);
    /* the retry: the same id, a duplicate, still a success */
    const cJSON *retry = at(r, "retry");
    assert_int_equal(status_of(retry), 200);
    assert_string_equal(support_str(at(retry, "body"), "id"), id);
    assert_string_equal(support_str(retry, "location"), want);
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM events WHERE id='%s'", id);
    assert_int_equal(db_long(db, sql), 1);
    /* Prefer: return=minimal: no body; return=OperationOutcome: one */
    const cJSON *minimal = at(r, "minimal");
    assert_int_equal(status_of(minimal), 201);
    assert_null(at(minimal, "body")->child);
    assert_non_null(strstr(support_str(minimal, "location"), "/v1/fhir/AuditEvent/"));
    const cJSON *outcome = at(r, "outcome");
    assert_int_equal(status_of(outcome), 201);
    assert_string_equal(support_str(issue0(at(outcome, "body")), "severity"), "information");

    /* the batch: the good entries applied, the bad one reported */
    const cJSON *batch = at(r, "batch");
    assert_int_equal(status_of(batch), 200);
    assert_created(at(batch, "body"), "batch-response", 7, 5);
    const cJSON *bad = at(cJSON_GetArrayItem(at(at(batch, "body"), "entry"), 5), "response");
    assert_string_equal(support_str(bad, "status"), "400 Bad Request");
    assert_string_equal(expression0(at(bad, "outcome")), "Bundle.entry[5].resource.entity");
    /* the transaction */
    const cJSON *tx = at(r, "transaction");
    assert_int_equal(status_of(tx), 200);
    assert_created(at(tx, "body"), "transaction-response", 2, -1);
    /* the transaction with a bad entry: refused whole, nothing journaled */
    const cJSON *badtx = at(r, "badTransaction");
    assert_int_equal(status_of(badtx), 400);
    assert_string_equal(expression0(at(badtx, "body")), "Bundle.entry[1].resource.entity");
    assert_non_null(strstr(support_str(issue0(at(badtx, "body")), "diagnostics"),
                           "nothing of the transaction was applied"));
    assert_int_equal(db_long(db, "SELECT count(*) FROM events WHERE subject='c-bad-1'"), 0);
    assert_int_equal(db_long(db, "SELECT count(*) FROM events WHERE subject IN "
                                 "('c-tx-1','c-tx-2','c-vip','c-btg','c-fk-2','c-fk-3')"),
                     10);
    cJSON_Delete(r);

    /* every NEN 7513 access alert of the pack fired from FHIR */
    cJSON *alerts = support_query(db, "alerts", NULL);
    static const char *const kinds[][2] = {{"nen7513.no_treatment_relation", "c-fk-1"},
                                           {"nen7513.weak_authentication", "c-fk-1"},
                                           {"nen7513.vip_burst", "c-vip"},
                                           {"nen7513.emergency_without_reason", "c-btg"}};
    for (int i = 0; i < 4; i++) {
        int n = 0;
        support_find(alerts, kinds[i][0], kinds[i][1], &n);
        if (n != 1)
            fail_msg("%d alerts %s for %s", n, kinds[i][0], kinds[i][1]);
    }
    cJSON_Delete(alerts);

    /* the refused documents are kept: the batch's bad entry, the bad
     * transaction whole */
    assert_int_equal(db_long(db, "SELECT count(*) FROM rejected WHERE origin='http /v1/fhir[5]' "
                                 "AND field='Bundle.entry[5].resource.entity'"),
                     1);
    assert_int_equal(db_long(db, "SELECT count(*) FROM rejected WHERE origin='http /v1/fhir' "
                                 "AND field='Bundle.entry[1].resource.entity' AND "
                                 "json_extract(raw,'$.type')='transaction'"),
                     1);

    /* errors, each an OperationOutcome */
    char *resp = NULL;
    /* the CapabilityStatement is open; creating is not */
    assert_int_equal(client_request(port, "GET", "/v1/fhir/metadata", NULL, NULL, 0, &resp), 200);
    assert_non_null(strstr(resp, "\"CapabilityStatement\""));
    free(resp);
    const char doc[] = "{\"resourceType\":\"AuditEvent\",\"action\":\"R\",\"recorded\":"
                       "\"2026-12-01T10:50:00+01:00\",\"agent\":[{\"requestor\":true}],"
                       "\"source\":{\"observer\":{\"reference\":\"Device/ecd-1\"}},"
                       "\"entity\":[{\"what\":{\"reference\":\"Patient/c-err\"}}]}";
    assert_int_equal(
        client_request(port, "POST", "/v1/fhir/AuditEvent", FHIR, doc, strlen(doc), &resp), 401);
    assert_non_null(strstr(resp, "\"code\":\"login\""));
    free(resp);
    /* a mapping error names the FHIR path and is kept */
    assert_int_equal(client_request_auth(port, "POST", "/v1/fhir/AuditEvent", FHIR, doc,
                                         strlen(doc), ingest, &resp),
                     400);
    cJSON *oo = cJSON_Parse(resp);
    assert_string_equal(expression0(oo), "AuditEvent.agent[0].who");
    assert_string_equal(support_str(issue0(oo), "code"), "required");
    cJSON_Delete(oo);
    free(resp);
    assert_int_equal(db_long(db, "SELECT count(*) FROM rejected WHERE origin="
                                 "'http /v1/fhir/AuditEvent' AND field='AuditEvent.agent[0].who'"),
                     1);
    /* not JSON: kept too */
    assert_int_equal(
        client_request_auth(port, "POST", "/v1/fhir/AuditEvent", FHIR, "{\"a\":", 5, ingest, &resp),
        400);
    assert_non_null(strstr(resp, "\"OperationOutcome\""));
    free(resp);
    /* another Bundle type at the base */
    const char coll[] = "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[]}";
    assert_int_equal(
        client_request_auth(port, "POST", "/v1/fhir", FHIR, coll, strlen(coll), ingest, &resp),
        400);
    oo = cJSON_Parse(resp);
    assert_string_equal(expression0(oo), "Bundle.type");
    cJSON_Delete(oo);
    free(resp);
    assert_int_equal(
        db_long(db, "SELECT count(*) FROM rejected WHERE origin LIKE 'http /v1/fhir%'"), 5);
    /* 404, 405, 415 */
    assert_int_equal(
        client_request_auth(port, "GET", "/v1/fhir/Patient/1", NULL, NULL, 0, admin, &resp), 404);
    assert_non_null(strstr(resp, "\"code\":\"not-found\""));
    free(resp);
    assert_int_equal(
        client_request_auth(port, "GET", "/v1/fhir/AuditEvent", NULL, NULL, 0, admin, &resp), 405);
    assert_non_null(strstr(resp, "\"code\":\"not-supported\""));
    free(resp);
    assert_int_equal(client_request_auth(port, "POST", "/v1/fhir/AuditEvent", "application/json",
                                         doc, strlen(doc), ingest, &resp),
                     415);
    assert_non_null(strstr(resp, "\"OperationOutcome\""));
    free(resp);
    /* the Content-Type of an error */
    char head[512];
    snprintf(head, sizeof head,
             "GET /v1/fhir/Nothing HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Connection: close\r\n\r\n",
             admin);
    char *raw = client_raw(port, head, strlen(head), 0, 10000);
    assert_non_null(raw);
    assert_non_null(strstr(raw, "HTTP/1.1 404"));
    assert_non_null(strstr(raw, "Content-Type: application/fhir+json"));
    free(raw);
    /* counted like any refused input */
    assert_int_equal(client_request_auth(port, "GET", "/metrics", NULL, NULL, 0, admin, &resp),
                     200);
    assert_non_null(strstr(resp, "obligo_events_total{outcome=\"rejected\"} 5\n"));
    free(resp);

    assert_int_equal(WEXITSTATUS(client_stop_server(pid, SIGTERM)), 0);
    support_assert_clean_log(log);
    support_assert_replays(db);
    free(ingest);
    free(admin);
    support_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fhir_kit_client_against_the_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
