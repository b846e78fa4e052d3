/*
 * serve_routes.c — the daemon's HTTP front: the route table, who may call
 * what (tokens and roles), the decisions taken when a request's head is in
 * (serve_head) and the dispatch of a complete request to its endpoint
 * (serve_handle): serve_events.c for POSTs of events, serve_reads.c for the
 * GETs, the writer for /healthz and /metrics, serve_reload.c for a reload,
 * serve_replay.c for a replay, serve_rules.c for the rule set in force,
 * serve_contract.c for the OpenAPI document and the schemas.
 *
 * Everything in this file runs on the loop thread.
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "ce_binary.h"
#include "serve_internal.h"

/* ---- routing and authorisation -------------------------------------------- */

/* SERVE_ANY: any valid token, whatever its role (the published contract:
 * README, "Integrator's contract"). */
enum { SERVE_OPEN, SERVE_READ, SERVE_WRITE, SERVE_ADMIN, SERVE_ANY };

/* 1 when role (static, not NULL) may call a route that needs need. */
static int serve_role_ok(const char *role, int need)
{
    return need == SERVE_OPEN || need == SERVE_ANY ? 1
           : need == SERVE_ADMIN                   ? strcmp(role, "admin") == 0
                                                   : tokens_allows(role, need == SERVE_WRITE);
}

/* Decides who may call: /healthz is open; once any token exists every other
 * endpoint needs one with the right role; while none exists, only clients
 * on this machine are served (DESIGN §4). Checks against the tokens cache
 * (a hash, no database read but the cache's refresh once a second).
 * Returns 0 when the caller may go on, or the status to answer with
 * *message (static) and *extra (static header lines or ""). */
static int serve_auth_decide(serve *s, const char *authorization, int peer_is_loopback, int need,
                             const char **message, const char **extra)
{
    *extra = "";
    if (need == SERVE_OPEN)
        return 0;
    tokens_cache *tc = &s->tokens;
    if (tokens_cache_refresh(tc, &s->rd, (double)uv_hrtime() / 1e9) != 0) {
        *message = "cannot check tokens right now";
        *extra = "Retry-After: 1\r\n";
        return 503;
    }
    if (!tc->any) {
        if (peer_is_loopback)
            return 0;
        *message = "no API tokens exist yet, so only clients on this machine are served; "
                   "create one with 'obligo token create'";
        return 403;
    }
    const char *role = NULL;
    if (tokens_cache_check(tc, authorization, &role) != 0) {
        *message = "a valid bearer token is required";
        *extra = "WWW-Authenticate: Bearer realm=\"obligo\"\r\n";
        return 401;
    }
    if (!serve_role_ok(role, need)) {
        *message = "this token's role may not do this";
        return 403;
    }
    return 0;
}

/* serve_auth_decide for a complete request. Returns 1 when the request may
 * go on, after answering it otherwise. */
static int serve_authorised(serve_req *r, int need)
{
    const char *message = NULL, *extra = NULL;
    if (r->console) {
        /* /console/api/...: the console's session, never a bearer token */
        const console_session *cs = NULL;
        int st = serve_console_auth(r->s, r->req, &cs, &message);
        if (st == 0 && !serve_role_ok(cs->role, need)) {
            st = 403;
            message = "de rol van dit token mag dit niet";
        }
        if (st == 0) {
            r->source = cs->source;
            return 1;
        }
        serve_reply_error(r, st, message, NULL);
        return 0;
    }
    int status = serve_auth_decide(r->s, r->req->authorization, r->req->peer_is_loopback, need,
                                   &message, &extra);
    if (status == 0)
        return 1;
    serve_reply_error(r, status, message, *extra ? extra : NULL);
    return 0;
}

/* The routes, in the order they are tried. serve_head (at the end of the
 * head) and serve_handle (with the body) both go through serve_route_match
 * on this one table, so that what is refused before the body is read and
 * what is served after cannot disagree. */
enum {
    SERVE_R_HEALTHZ,
    SERVE_R_METRICS,
    SERVE_R_EVENTS,
    SERVE_R_EVENT,
    SERVE_R_OBLIGATIONS,
    SERVE_R_ALERTS,
    SERVE_R_REGISTERS,
    SERVE_R_REJECTED,
    SERVE_R_RELOAD,
    SERVE_R_REPLAY,
    SERVE_R_OPENAPI,
    SERVE_R_SCHEMAS,
    SERVE_R_SCHEMA,
    SERVE_R_DUTIES,
    SERVE_R_BREACH, /* /v1/breaches/{key}[/ap-form] */
    SERVE_R_RULES,
    SERVE_R_RULE_SOURCE,
    SERVE_R_ADAPTER,       /* a plugin's input adapter, not in the table */
    SERVE_R_FHIR_BASE,     /* POST /v1/fhir: batch and transaction (serve_fhir.c) */
    SERVE_R_FHIR_METADATA, /* GET /v1/fhir/metadata: the CapabilityStatement */
    SERVE_R_CONSOLE,       /* /console and below: the web console (serve_console.c) */
};

static const struct serve_route {
    const char *route;
    int prefix; /* matches the route followed by at least one character */
    int post;   /* POST, else GET or HEAD */
    int need;   /* the role it needs */
} serve_routes[] = {
    [SERVE_R_HEALTHZ] = {"/healthz", 0, 0, SERVE_OPEN},
    [SERVE_R_METRICS] = {"/metrics", 0, 0, SERVE_READ},
    [SERVE_R_EVENTS] = {"/v1/events", 0, 1, SERVE_WRITE},
    [SERVE_R_EVENT] = {"/v1/events/", 1, 0, SERVE_READ},
    [SERVE_R_OBLIGATIONS] = {"/v1/obligations", 0, 0, SERVE_READ},
    [SERVE_R_ALERTS] = {"/v1/alerts", 0, 0, SERVE_READ},
    [SERVE_R_REGISTERS] = {"/v1/registers/", 1, 0, SERVE_READ},
    [SERVE_R_REJECTED] = {"/v1/rejected", 0, 0, SERVE_READ},
    [SERVE_R_RELOAD] = {"/v1/rules/reload", 0, 1, SERVE_ADMIN},
    [SERVE_R_REPLAY] = {"/v1/replay", 0, 1, SERVE_ADMIN},
    [SERVE_R_OPENAPI] = {"/v1/openapi.json", 0, 0, SERVE_ANY},
    [SERVE_R_SCHEMAS] = {"/v1/schemas", 0, 0, SERVE_ANY},
    [SERVE_R_SCHEMA] = {"/v1/schemas/", 1, 0, SERVE_ANY},
    [SERVE_R_DUTIES] = {"/v1/duties", 0, 0, SERVE_READ},
    [SERVE_R_BREACH] = {"/v1/breaches/", 1, 0, SERVE_READ},
    [SERVE_R_RULES] = {"/v1/rules", 0, 0, SERVE_READ},
    [SERVE_R_RULE_SOURCE] = {"/v1/rules/source", 0, 0, SERVE_READ},
};

/* Where a request goes. */
typedef struct serve_match {
    int id;            /* SERVE_R_*, or -1: no such resource (404) */
    const char *route; /* static: for the access log */
    const char *rest;  /* the path after a prefix route ("" for GET /v1/events?...) */
    const plugins_adapter *adapter;
    int method_ok;     /* 0: 405 with use and allow */
    const char *use;   /* "use POST" / "use GET" */
    const char *allow; /* the Allow header line */
    int need;          /* the role it needs */
    int takes_body;    /* a POST of events or a replay: needs a length and a known media type */
    int fhir;          /* under /v1/fhir with a FHIR adapter: errors are OperationOutcomes */
    int console;       /* /console/api/v1/...: the API as the console calls it */
} serve_match;

static void serve_route_match_api(serve *s, int get, int post, const char *path, serve_match *m);

/* /v1/fhir with a FHIR adapter loaded: the base (batch, transaction), the
 * CapabilityStatement, or a resource type's create (the adapter's path).
 * The CapabilityStatement is open, like /healthz: FHIR clients read it
 * before they authenticate (SMART App Launch discovers authorisation in
 * it), and it says only what the server supports. 1 when path is FHIR's
 * (m filled, m->id -1 for a path FHIR has no resource for). */
static int serve_route_fhir(serve *s, int get, int post, const char *path, serve_match *m)
{
    if (!serve_fhir_path(path) || !serve_fhir_on(s))
        return 0;
    m->fhir = 1;
    if (strcmp(path, SERVE_FHIR_BASE) == 0 || strcmp(path, SERVE_FHIR_BASE "/") == 0) {
        m->id = SERVE_R_FHIR_BASE;
        m->route = SERVE_FHIR_BASE;
        m->method_ok = post;
        m->use = "use POST (a batch or transaction Bundle)";
        m->allow = "Allow: POST\r\n";
        m->need = SERVE_WRITE;
        m->takes_body = 1;
        return 1;
    }
    if (strcmp(path, SERVE_FHIR_BASE "/metadata") == 0) {
        m->id = SERVE_R_FHIR_METADATA;
        m->route = SERVE_FHIR_BASE "/metadata";
        m->method_ok = get;
        m->use = "use GET";
        m->allow = "Allow: GET\r\n";
        m->need = SERVE_OPEN;
        return 1;
    }
    const plugins_adapter *a = plugins_find_adapter_by_path(s->e->plugins, path);
    if (a && serve_fhir_adapter_is(a)) {
        m->id = SERVE_R_ADAPTER;
        m->route = a->adapter.http_path;
        m->adapter = a;
        m->method_ok = post;
        m->use = "use POST (a FHIR create)";
        m->allow = "Allow: POST\r\n";
        m->need = SERVE_WRITE;
        m->takes_body = 1;
    }
    return 1;
}

#define SERVE_CONSOLE_API "/console/api"

static void serve_route_match(serve *s, const char *method, const char *path, serve_match *m)
{
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int post = strcmp(method, "POST") == 0;
    memset(m, 0, sizeof *m);
    m->id = -1;
    m->route = "other";
    m->rest = "";
    int console = 0;
    if (strncmp(path, SERVE_CONSOLE_API "/v1/", strlen(SERVE_CONSOLE_API "/v1/")) == 0) {
        /* the API under the console's cookie path: routed as /v1/... */
        path += strlen(SERVE_CONSOLE_API);
        console = 1;
    } else if (strncmp(path, "/console", 8) == 0 && (!path[8] || path[8] == '/')) {
        m->id = SERVE_R_CONSOLE;
        m->route = "/console";
        m->rest = path + 8;
        m->method_ok = 1; /* serve_console answers 405 itself */
        m->need = SERVE_OPEN;
        return;
    }
    serve_route_match_api(s, get, post, path, m);
    m->console = console;
    if (console && m->id == SERVE_R_EVENTS)
        /* An officer records acts from the console (an acknowledgement, a
         * breach step) though the role may not post with a bearer token:
         * every event must then carry the session's source, which names
         * the console and the token (serve_events.c). */
        m->need = SERVE_ANY;
}

/* serve_route_match for a path of the API. */
static void serve_route_match_api(serve *s, int get, int post, const char *path, serve_match *m)
{
    for (size_t i = 0; i < sizeof serve_routes / sizeof serve_routes[0]; i++) {
        const struct serve_route *rt = &serve_routes[i];
        size_t len = strlen(rt->route);
        int match = rt->prefix ? strncmp(path, rt->route, len) == 0 && path[len]
                               : strcmp(path, rt->route) == 0;
        if (!match)
            continue;
        m->route = rt->route;
        m->rest = rt->prefix ? path + len : "";
        if (i == SERVE_R_EVENTS && get) {
            /* GET /v1/events?source=&id=: an event whose identifiers hold '/' */
            m->id = SERVE_R_EVENT;
            m->method_ok = 1;
            m->need = SERVE_READ;
            return;
        }
        m->id = (int)i;
        m->method_ok = rt->post ? post : get;
        m->use = rt->post ? "use POST" : "use GET";
        m->allow = rt->post ? "Allow: POST\r\n" : "Allow: GET\r\n";
        m->need = rt->need;
        m->takes_body = i == SERVE_R_EVENTS || i == SERVE_R_REPLAY;
        return;
    }
    if (serve_route_fhir(s, get, post, path, m))
        return;
    const plugins_adapter *a = plugins_find_adapter_by_path(s->e->plugins, path);
    if (a) {
        m->id = SERVE_R_ADAPTER;
        m->route = a->adapter.http_path;
        m->adapter = a;
        m->method_ok = post;
        m->use = "use POST";
        m->allow = "Allow: POST\r\n";
        m->need = SERVE_WRITE;
        m->takes_body = 1;
    }
}

/* 1 when a body of media type ct cannot be taken by the matched route,
 * with the message in msg. */
static int serve_media_refused(const serve_match *m, const char *ct, char *msg, size_t n)
{
    if (m->id == SERVE_R_FHIR_BASE) {
        if (strcmp(ct, SERVE_FHIR_MEDIA) == 0)
            return 0;
        snprintf(msg, n, "use %s", SERVE_FHIR_MEDIA);
        return 1;
    }
    if (m->id == SERVE_R_ADAPTER) {
        if (strcmp(ct, m->adapter->adapter.media_type) == 0)
            return 0;
        snprintf(msg, n, "use %s", m->adapter->adapter.media_type);
        return 1;
    }
    if (m->id == SERVE_R_REPLAY) {
        if (strcmp(ct, "application/json") == 0 || strcmp(ct, "application/x-tar") == 0 ||
            strcmp(ct, "application/tar") == 0)
            return 0;
        snprintf(msg, n, "use application/json or application/x-tar");
        return 1;
    }
    if (strcmp(ct, "application/cloudevents+json") == 0 ||
        strcmp(ct, "application/x-ndjson") == 0 ||
        strcmp(ct, "application/cloudevents-batch+json") == 0)
        return 0;
    snprintf(msg, n, "%s", SERVE_EVENTS_MEDIA);
    return 1;
}

/* The transport's head handler: route, method, token and role, framing
 * and media type are decided when the head is in, so a request that will
 * be refused is refused before its body is read (and the transport ends
 * the connection rather than read that body). serve_handle checks the
 * same again with the body, through the same table and functions. */
int serve_head(void *ud, const http_head *h, http_answer *ans)
{
    serve *s = ud;
    serve_match m;
    serve_route_match(s, h->method, h->path, &m);
    int status = 0;
    const char *message = NULL, *extra = "";
    char media[256];
    if (m.console || m.id == SERVE_R_CONSOLE) {
        /* Decided with the whole request (serve_console.c): its answers
         * carry headers longer than a head's refusal can hold, and its
         * credential is a cookie. Bodies are still within max_body_bytes. */
        return 0;
    }
    if (m.id < 0) {
        status = 404;
        message = m.fhir ? SERVE_FHIR_NOT_FOUND : "no such resource";
    } else if (!m.method_ok) {
        status = 405;
        message = m.use;
        extra = m.allow;
    } else if ((status = serve_auth_decide(s, h->authorization, h->peer_is_loopback, m.need,
                                           &message, &extra)) != 0) {
        /* message and extra set */
    } else if (m.takes_body && !h->has_length && !h->chunked) {
        status = 411;
        message = "a body is required: send it with Content-Length (or chunked)";
        ans->close = 1; /* what follows may be a body without framing */
    } else if (m.takes_body &&
               !(m.id == SERVE_R_EVENTS &&
                 ce_binary_is(h->headers, h->nheaders, h->content_type)) && /* any media type */
               serve_media_refused(&m, h->content_type, media, sizeof media)) {
        status = 415;
        message = media;
    }
    if (status == 0)
        return 0;
    char *body = m.fhir ? serve_fhir_outcome("error", serve_fhir_issue_code(status), message, NULL)
                        : serve_error_body(message, -1, NULL);
    size_t len = body ? strlen(body) : 0;
    if (!body || len >= sizeof ans->body) {
        len = (size_t)snprintf(ans->body, sizeof ans->body, "{\"error\":\"refused\"}");
    } else {
        memcpy(ans->body, body, len);
    }
    cJSON_free(body);
    ans->status = status;
    ans->content_type = m.fhir ? SERVE_FHIR_MEDIA : "application/json";
    ans->body_len = len;
    snprintf(ans->headers, sizeof ans->headers, "%s", extra);
    serve_log(s, h->peer, h->method, m.route, status, len, uv_hrtime());
    return 1;
}

static void serve_async_job(serve_req *r, writer_kind kind)
{
    writer_job *j = writer_job_new(kind, NULL);
    serve_pending *p = j ? serve_pending_new(r) : NULL;
    if (!j || !p) {
        writer_job_free(j);
        obligo_free(p);
        serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        return;
    }
    serve_submit(r, j, p);
}

void serve_handle(void *ud, const http_request *req, http_exchange *ex)
{
    serve *s = ud;
    serve_req r = {s, req, ex, "other", uv_hrtime(), 0, 0, NULL};
    serve_match m;
    serve_route_match(s, req->method, req->path, &m);
    r.route = m.route;
    r.fhir = m.fhir;
    r.console = m.console;
    if (m.id == SERVE_R_CONSOLE) {
        serve_console(&r, m.rest);
        return;
    }
    if (m.id < 0) {
        serve_reply_error(&r, 404, m.fhir ? SERVE_FHIR_NOT_FOUND : "no such resource", NULL);
        return;
    }
    if (!m.method_ok) {
        serve_reply_error(&r, 405, m.use, m.allow);
        return;
    }
    if (!serve_authorised(&r, m.need))
        return;
    switch (m.id) {
    case SERVE_R_HEALTHZ:
        serve_async_job(&r, WRITER_HEALTH);
        return;
    case SERVE_R_METRICS:
        serve_async_job(&r, WRITER_STATS);
        return;
    case SERVE_R_EVENTS:
        serve_post_events(&r);
        return;
    case SERVE_R_EVENT:
        serve_get_event(&r, m.rest);
        return;
    case SERVE_R_OBLIGATIONS:
        serve_get_obligations(&r);
        return;
    case SERVE_R_ALERTS:
        serve_get_alerts(&r);
        return;
    case SERVE_R_REGISTERS:
        serve_get_register(&r, m.rest);
        return;
    case SERVE_R_REJECTED:
        serve_get_rejected(&r);
        return;
    case SERVE_R_RELOAD: {
        serve_pending *p = serve_pending_new(&r);
        if (!p)
            serve_reply_error(&r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        else
            serve_reload_request(s, p);
        return;
    }
    case SERVE_R_REPLAY:
        serve_post_replay(&r);
        return;
    case SERVE_R_OPENAPI:
        serve_get_openapi(&r);
        return;
    case SERVE_R_SCHEMAS:
        serve_get_schemas(&r);
        return;
    case SERVE_R_SCHEMA:
        serve_get_schema(&r, m.rest);
        return;
    case SERVE_R_DUTIES:
        serve_async_job(&r, WRITER_DUTIES);
        return;
    case SERVE_R_BREACH:
        serve_get_breach(&r, m.rest);
        return;
    case SERVE_R_RULES:
        serve_get_rules(&r);
        return;
    case SERVE_R_RULE_SOURCE:
        serve_get_rule_source(&r);
        return;
    case SERVE_R_CONSOLE:
        return; /* answered above */
    case SERVE_R_ADAPTER:
        serve_post_adapter(&r, m.adapter);
        return;
    case SERVE_R_FHIR_BASE:
        serve_fhir_post_base(&r);
        return;
    case SERVE_R_FHIR_METADATA:
        serve_fhir_metadata(&r);
        return;
    }
}
