/*
 * serve_contract.c — the published contract (README, "Integrator's
 * contract"): GET /v1/openapi.json, the OpenAPI 3.1 document of the whole
 * API, and GET /v1/schemas[/{type}], the JSON Schema (2020-12) of a
 * CloudEvent of each type of the catalogue.
 *
 * The document is engine/daemon/openapi.json, embedded into the binary at
 * build time (cmake/embed.cmake writes it as a C array: openapi_doc.h), so
 * the binary serves the document of its own version wherever it runs; the
 * same file is installed as share/obligo/openapi.json. Served, its
 * components get the schema of every registered event type (schema_json.c,
 * from the plugins' own schemas: a plugin's new types appear by
 * themselves), and its CloudEvent schema becomes "one of those, or an
 * event of another type". That is built once, at the first request: the
 * catalogue does not change while serve runs.
 *
 * Nothing here reads the database, so the answers are given on the loop
 * thread at once. Everything in this file runs on the loop thread.
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "openapi_doc.h"
#include "schema_json.h"
#include "serve_internal.h"

#define SERVE_SCHEMA_MEDIA "application/schema+json"

/* Answers with body (borrowed) as media, and logs it. The request lives
 * in its exchange, which http_respond may free: what the log names is
 * read before (as serve_send has it). */
static void serve_contract_send(serve_req *r, int status, const char *media, const char *body,
                                size_t len)
{
    const char *peer = r->req->peer, *method = r->req->method;
    http_respond(r->ex, status, media, body, len, NULL);
    serve_log(r->s, peer, method, r->route, status, len, r->t0);
}

static void serve_contract_oom(serve_req *r)
{
    serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
}

int serve_contract_start(serve *s, const char *host, int port)
{
    if (s->cfg->public_url)
        s->contract_base = obligo_strdup(s->cfg->public_url);
    else if (strchr(host, ':')) /* IPv6 */
        s->contract_base = obligo_asprintf("http://[%s]:%d", host, port);
    else
        s->contract_base = obligo_asprintf("http://%s:%d", host, port);
    if (s->contract_base)
        return 0;
    fprintf(stderr, "obligo serve: out of memory\n");
    return OBLIGO_ENOMEM;
}

void serve_contract_free(serve *s)
{
    obligo_free(s->contract_base);
    cJSON_free(s->openapi);
    s->contract_base = NULL;
    s->openapi = NULL;
}

/* BASE/v1/schemas/TYPE (caller frees), or NULL. */
static char *serve_schema_url(const serve *s, const char *type)
{
    return obligo_asprintf("%s/v1/schemas/%s", s->contract_base, type);
}

/* ---- GET /v1/schemas ------------------------------------------------------- */

void serve_get_schemas(serve_req *r)
{
    const plugins *p = r->s->e->plugins;
    cJSON *out = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(out, "schemas");
    int ok = out && list && cJSON_AddStringToObject(out, "dialect", SCHEMA_JSON_DIALECT);
    for (int i = 0; ok && i < plugins_event_type_count(p); i++) {
        const char *plugin = NULL;
        const obligo_event_type *et = plugins_event_type_at(p, i, &plugin);
        char *url = serve_schema_url(r->s, et->type);
        cJSON *o = cJSON_CreateObject();
        ok = url && o && cJSON_AddItemToArray(list, o);
        if (!ok)
            cJSON_Delete(o);
        ok = ok && cJSON_AddStringToObject(o, "type", et->type) &&
             cJSON_AddStringToObject(o, "plugin", plugin ? plugin : "") &&
             cJSON_AddStringToObject(o, "description", et->description ? et->description : "") &&
             cJSON_AddStringToObject(o, "schema", url);
        obligo_free(url);
    }
    char *text = ok ? cJSON_PrintUnformatted(out) : NULL;
    cJSON_Delete(out);
    if (!text) {
        serve_contract_oom(r);
        return;
    }
    serve_contract_send(r, 200, "application/json", text, strlen(text));
    cJSON_free(text);
}

/* ---- GET /v1/schemas/{type} ------------------------------------------------ */

void serve_get_schema(serve_req *r, const char *type)
{
    const plugins *p = r->s->e->plugins;
    const obligo_event_type *et = plugins_event_type(p, type);
    if (!et) {
        const char *closest = plugins_closest_type(p, type);
        char *msg = closest ? obligo_asprintf("no event type %s is registered; did you mean %s? "
                                              "GET /v1/schemas lists them",
                                              type, closest)
                            : obligo_asprintf("no event type %s is registered (GET /v1/schemas "
                                              "lists them)",
                                              type);
        if (!msg) {
            serve_contract_oom(r);
            return;
        }
        serve_reply_error(r, 404, msg, NULL);
        obligo_free(msg);
        return;
    }
    char *url = serve_schema_url(r->s, type);
    cJSON *schema = url ? schema_json_event(et, url, plugins_event_type_plugin(p, type)) : NULL;
    char *text = schema ? cJSON_PrintUnformatted(schema) : NULL;
    cJSON_Delete(schema);
    obligo_free(url);
    if (!text) {
        serve_contract_oom(r);
        return;
    }
    serve_contract_send(r, 200, SERVE_SCHEMA_MEDIA, text, strlen(text));
    cJSON_free(text);
}

/* ---- GET /v1/openapi.json -------------------------------------------------- */

/* The catalogue's schemas into components.schemas (by type name; without
 * $schema and $id, which the document's dialect and place give, and with
 * a $comment naming the URL the schema is served at), and CloudEvent made
 * "one of them, or CloudEventOfAnotherType": the embedded document's
 * generic CloudEvent with its type not one of the catalogue's. 0, or -1
 * when memory ran out or the embedded document lacks what it must have. */
static int serve_openapi_catalogue(const serve *s, cJSON *doc)
{
    cJSON *schemas = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(doc, "components"), "schemas");
    cJSON *generic = cJSON_DetachItemFromObjectCaseSensitive(schemas, "CloudEvent");
    cJSON *type_prop = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(generic, "properties"), "type");
    if (!cJSON_IsObject(generic) || !cJSON_IsObject(type_prop)) {
        cJSON_Delete(generic);
        return -1;
    }
    cJSON *any = cJSON_CreateObject(), *one_of = cJSON_AddArrayToObject(any, "oneOf");
    cJSON *not_type = cJSON_AddObjectToObject(type_prop, "not");
    cJSON *names = cJSON_AddArrayToObject(not_type, "enum");
    int ok = any && one_of && names &&
             cJSON_AddStringToObject(any, "description",
                                     "A CloudEvent: one of the catalogue's types, each with its "
                                     "schema (also served at /v1/schemas/{type}), or an event of "
                                     "another type (see allow_unknown_types)");
    const plugins *p = s->e->plugins;
    for (int i = 0; ok && i < plugins_event_type_count(p); i++) {
        const char *plugin = NULL;
        const obligo_event_type *et = plugins_event_type_at(p, i, &plugin);
        char *url = serve_schema_url(s, et->type);
        char *ref = obligo_asprintf("#/components/schemas/%s", et->type);
        cJSON *sc = url ? schema_json_event(et, NULL, plugin) : NULL;
        cJSON *r = cJSON_CreateObject();
        ok = url && ref && sc && r;
        if (ok) {
            cJSON_DeleteItemFromObjectCaseSensitive(sc, "$schema");
            ok = cJSON_AddStringToObject(sc, "$comment", url) &&
                 cJSON_AddStringToObject(r, "$ref", ref) && cJSON_AddItemToArray(one_of, r);
            if (!ok)
                cJSON_Delete(r);
            r = NULL;
            ok = ok && cJSON_AddItemToObject(schemas, et->type, sc);
            if (!ok)
                cJSON_Delete(sc);
            sc = NULL;
            ok = ok && cJSON_AddItemToArray(names, cJSON_CreateString(et->type));
        }
        cJSON_Delete(sc);
        cJSON_Delete(r);
        obligo_free(url);
        obligo_free(ref);
    }
    cJSON *other = cJSON_CreateObject();
    ok = ok && other &&
         cJSON_AddStringToObject(other, "$ref", "#/components/schemas/CloudEventOfAnotherType");
    ok = ok && cJSON_AddItemToArray(one_of, other);
    if (!ok)
        cJSON_Delete(other);
    ok = ok && cJSON_AddItemToObject(schemas, "CloudEventOfAnotherType", generic);
    if (!ok)
        cJSON_Delete(generic);
    ok = ok && cJSON_AddItemToObject(schemas, "CloudEvent", any);
    if (!ok)
        cJSON_Delete(any);
    return ok ? 0 : -1;
}

void serve_get_openapi(serve_req *r)
{
    serve *s = r->s;
    if (!s->openapi) {
        cJSON *doc = cJSON_ParseWithLength(obligo_openapi_json, obligo_openapi_json_len);
        if (doc && serve_openapi_catalogue(s, doc) == 0) {
            s->openapi = cJSON_PrintUnformatted(doc);
            s->openapi_len = s->openapi ? strlen(s->openapi) : 0;
        }
        cJSON_Delete(doc);
        if (!s->openapi) {
            serve_contract_oom(r);
            return;
        }
    }
    serve_contract_send(r, 200, "application/json", s->openapi, s->openapi_len);
}
