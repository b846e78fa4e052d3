/*
 * test_openapi.c — the published contract against `obligo serve`, with real
 * tools: tests/clients/openapi_check.mjs validates GET /v1/openapi.json with
 * @apidevtools/swagger-parser (OpenAPI 3.1), sends every example in it to
 * the server and checks each status and answer against the document, and
 * compiles every schema of GET /v1/schemas with ajv (JSON Schema 2020-12),
 * checking that valid and invalid events of pack types are judged by the
 * schemas as the engine judges them (202 / 400). Here in C: the roles and
 * media types of the contract's routes, the 404 of an unknown type, and
 * that the embedded document is the one in the source tree.
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

#define RULES OBLIGO_SOURCE_DIR "/rules"
#define CLIENTS OBLIGO_SOURCE_DIR "/tests/clients"

typedef struct fx {
    char *dir;
    char db[512], log[512], base[128];
    int port;
    pid_t pid;
    char *ingest, *officer, *admin;
} fx;

/* `obligo token create --role ROLE` on the test database; returns the token. */
static char *make_token(fx *f, const char *role)
{
    char *out = NULL;
    char *argv[] = {(char *)OBLIGO_BIN, "token", "create", "--role",
                    (char *)role,       "--db",  f->db,    NULL};
    assert_int_equal(support_run(argv, &out, NULL), 0);
    char *tok = strstr(out, "obl_");
    assert_non_null(tok);
    char *t = strndup(tok, strspn(tok, "obl_0123456789abcdef"));
    free(out);
    return t;
}

static int setup_with(void **state, const char *config)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    snprintf(f->db, sizeof f->db, "%s/obligo.db", f->dir);
    snprintf(f->log, sizeof f->log, "%s/serve.log", f->dir);
    f->port = client_free_port();
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", f->port);
    char *cfg = config ? support_write(f->dir, "obligo.json", config) : NULL;
    char *extra[] = {"--config", cfg, NULL};
    f->pid = client_start_server_args(f->db, RULES, f->port, f->log, cfg ? extra : NULL);
    free(cfg);
    assert_true(f->pid > 0);
    f->ingest = make_token(f, "ingest");
    f->officer = make_token(f, "officer");
    f->admin = make_token(f, "admin");
    /* the server reads the tokens again when its copy is a second old:
     * wait until it knows them (an unknown token gets 401) */
    int status = 0;
    for (int i = 0; i < 600 && status != 200; i++) {
        status = client_request_auth(f->port, "GET", "/v1/schemas", NULL, NULL, 0, f->admin, NULL);
        if (status != 200)
            usleep(50 * 1000);
    }
    assert_int_equal(status, 200);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, NULL);
}

/* behind a TLS proxy: the URL clients use */
static int setup_public_url(void **state)
{
    return setup_with(state, "{\"public_url\": \"https://obligo.example.nl\"}");
}

static int teardown(void **state)
{
    fx *f = *state;
    assert_int_equal(client_stop_server(f->pid, SIGTERM), 0);
    support_assert_clean_log(f->log);
    support_assert_replays(f->db);
    support_rmtree(f->dir);
    free(f->dir);
    free(f->ingest);
    free(f->officer);
    free(f->admin);
    free(f);
    return 0;
}

/* The answer's head and body to a GET with token (NULL: none). */
static char *raw_get(const fx *f, const char *path, const char *token)
{
    char req[1024];
    int n = snprintf(
        req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%sConnection: close\r\n\r\n",
        path, token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "");
    char *out = client_raw(f->port, req, (size_t)n, 0, 30000);
    assert_non_null(out);
    return out;
}

static void node_checks_the_document_and_the_schemas(void **state)
{
    fx *f = *state;
    char env[1024];
    snprintf(env, sizeof env,
             "OBLIGO_TOKENS={\"ingest\":\"%s\",\"officer\":\"%s\",\"admin\":\"%s\"}", f->ingest,
             f->officer, f->admin);
    char *argv[] = {"/usr/bin/env", env, "node", CLIENTS "/openapi_check.mjs", f->base, NULL};
    char *out = support_run_client(argv, "all checks passed");
    /* it did send the examples and check the schemas */
    assert_non_null(strstr(out, "swagger-parser: a valid OpenAPI 3.1.0 document"));
    assert_non_null(strstr(out, "POST /v1/events [application/x-ndjson twoLines]: 202"));
    assert_non_null(strstr(out, "POST /v1/events [application/json binaryMode]: 202"));
    assert_non_null(strstr(out, "breach: aware_at missing: schema invalid, engine 400"));
    /* a breach the examples reported, its form as JSON and CSV, and refusals */
    assert_non_null(strstr(out, "GET /v1/breaches/{key} [parameters]: 200"));
    assert_non_null(strstr(out, "GET /v1/breaches/{key} [key=unknown]: 404"));
    assert_non_null(strstr(out, "GET /v1/breaches/{key}/ap-form [format=csv]: 200"));
    assert_non_null(strstr(out, "GET /v1/breaches/{key}/ap-form [format=other]: 400"));
    assert_non_null(strstr(out, "GET /v1/rules [parameters]: 200"));
    assert_non_null(strstr(out, "GET /v1/rules/source [parameters]: 200"));
    assert_non_null(strstr(out, "GET /v1/rules/source [file=outside]: 404"));
    free(out);
}

static void roles_and_media_types(void **state)
{
    fx *f = *state;
    /* every role reads the contract; no token: 401 */
    const char *tokens[] = {f->ingest, f->officer, f->admin};
    for (int i = 0; i < 3; i++) {
        char *a = raw_get(f, "/v1/schemas/nl.nen7513.access", tokens[i]);
        assert_non_null(strstr(a, "HTTP/1.1 200"));
        assert_non_null(strstr(a, "Content-Type: application/schema+json"));
        char id[256];
        snprintf(id, sizeof id, "\"$id\":\"%s/v1/schemas/nl.nen7513.access\"", f->base);
        assert_non_null(strstr(a, id));
        assert_non_null(strstr(a, "\"$schema\":\"https://json-schema.org/draft/2020-12/schema\""));
        free(a);
        a = raw_get(f, "/v1/openapi.json", tokens[i]);
        assert_non_null(strstr(a, "HTTP/1.1 200"));
        assert_non_null(strstr(a, "Content-Type: application/json"));
        assert_non_null(strstr(a, "\"openapi\":\"3.1.0\""));
        free(a);
    }
    const char *paths[] = {"/v1/openapi.json", "/v1/schemas", "/v1/schemas/nl.nen7513.access"};
    for (int i = 0; i < 3; i++) {
        char *a = raw_get(f, paths[i], NULL);
        assert_non_null(strstr(a, "HTTP/1.1 401"));
        free(a);
    }
    /* an unknown type: 404 JSON naming the type it most likely is */
    char *a = raw_get(f, "/v1/schemas/nl.nen7513.acess", f->ingest);
    assert_non_null(strstr(a, "HTTP/1.1 404"));
    assert_non_null(strstr(a, "Content-Type: application/json"));
    assert_non_null(strstr(a, "did you mean nl.nen7513.access?"));
    free(a);
    a = raw_get(f, "/v1/schemas/org.praktijk.eigen", f->ingest);
    assert_non_null(strstr(a, "HTTP/1.1 404"));
    free(a);
    /* the index names the plugin of each type and its schema's URL */
    char *body = NULL;
    assert_int_equal(
        client_request_auth(f->port, "GET", "/v1/schemas", NULL, NULL, 0, f->officer, &body), 200);
    cJSON *idx = cJSON_Parse(body);
    free(body);
    const cJSON *list = cJSON_GetObjectItem(idx, "schemas");
    assert_true(cJSON_GetArraySize(list) >= 26);
    int found = 0;
    for (const cJSON *e = list ? list->child : NULL; e; e = e->next) {
        if (strcmp(support_str(e, "type"), "nl.cbw.incident.reported") != 0)
            continue;
        found = 1;
        assert_string_equal(support_str(e, "plugin"), "cbw");
        char url[256];
        snprintf(url, sizeof url, "%s/v1/schemas/nl.cbw.incident.reported", f->base);
        assert_string_equal(support_str(e, "schema"), url);
    }
    assert_true(found);
    cJSON_Delete(idx);
}

/* The server embeds the document of the source tree, and adds the
 * catalogue's schemas to its components. */
static void the_served_document_is_the_embedded_one(void **state)
{
    fx *f = *state;
    char *body = NULL;
    assert_int_equal(
        client_request_auth(f->port, "GET", "/v1/openapi.json", NULL, NULL, 0, f->ingest, &body),
        200);
    cJSON *served = cJSON_Parse(body);
    free(body);
    FILE *fp = fopen(OBLIGO_SOURCE_DIR "/engine/daemon/openapi.json", "rb");
    assert_non_null(fp);
    char *text = calloc(1, 1 << 20);
    size_t n = fread(text, 1, (1 << 20) - 1, fp);
    fclose(fp);
    text[n] = '\0';
    cJSON *source = cJSON_Parse(text);
    free(text);
    assert_non_null(served);
    assert_non_null(source);
    /* the same paths */
    assert_true(cJSON_Compare(cJSON_GetObjectItem(served, "paths"),
                              cJSON_GetObjectItem(source, "paths"), 1));
    const cJSON *schemas =
        cJSON_GetObjectItem(cJSON_GetObjectItem(served, "components"), "schemas");
    const cJSON *access = cJSON_GetObjectItem(schemas, "nl.nen7513.access");
    assert_non_null(access);
    assert_string_equal(support_str(access, "title"), "nl.nen7513.access");
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(schemas, "CloudEvent"), "oneOf"));
    assert_non_null(cJSON_GetObjectItem(schemas, "CloudEventOfAnotherType"));
    cJSON_Delete(served);
    cJSON_Delete(source);
}

/* With public_url, the schemas' $id and the index's URLs begin with it. */
static void public_url_is_the_base_of_the_ids(void **state)
{
    fx *f = *state;
    char *a = raw_get(f, "/v1/schemas/nl.ict.backup.completed", f->ingest);
    assert_non_null(
        strstr(a, "\"$id\":\"https://obligo.example.nl/v1/schemas/nl.ict.backup.completed\""));
    free(a);
    a = raw_get(f, "/v1/schemas", f->ingest);
    assert_non_null(
        strstr(a, "\"schema\":\"https://obligo.example.nl/v1/schemas/nl.ict.backup.completed\""));
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(node_checks_the_document_and_the_schemas, setup, teardown),
        cmocka_unit_test_setup_teardown(roles_and_media_types, setup, teardown),
        cmocka_unit_test_setup_teardown(the_served_document_is_the_embedded_one, setup, teardown),
        cmocka_unit_test_setup_teardown(public_url_is_the_base_of_the_ids, setup_public_url,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
