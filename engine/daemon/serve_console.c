/*
 * serve_console.c — the web console under /console/ (README, "Console"):
 * its files, embedded into the binary (console_assets.h), the sign-in and
 * sign-out (POST and DELETE /console/session), and the session check of
 * /console/api/v1/..., the API as the signed-in console calls it.
 *
 * The session cookie has Path=/console/, so the browser sends it only
 * there: the console reads GET /console/api/v1/obligations, which routes
 * exactly as GET /v1/obligations does (serve_routes.c), with the session
 * in place of a bearer token. The API at /v1/ keeps taking bearer tokens
 * only, so a cookie can never authorise a request a script on another
 * site makes to it. A request under /console/api/ other than GET or HEAD
 * also needs the session's CSRF token in X-CSRF-Token.
 *
 * A session keeps the note of the token that signed in and the CloudEvents
 * source that names the console and that token (console_source): the
 * officer's acts posted through /console/api/v1/events must carry it
 * (serve_events.c), so the journal shows who did what.
 *
 * Every answer under /console/ carries SERVE_CONSOLE_HEADERS (a strict
 * Content-Security-Policy and the rest). Nothing here reads the database
 * but the tokens cache; everything runs on the loop thread.
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "clock.h"
#include "console_assets.h"
#include "error.h"
#include "serve_internal.h"

#define CONSOLE_JSON "application/json"

/* The monotonic clock sessions expire by, in seconds. */
static double serve_console_now(void)
{
    return (double)uv_hrtime() / 1e9;
}

/* Answers with body (borrowed) and the console's headers plus extra (NULL
 * or header lines), and logs it. What the log names is read before
 * http_respond, which may free the request. */
static void serve_console_send(serve_req *r, int status, const char *type, const void *body,
                               size_t len, const char *extra)
{
    char headers[2048];
    snprintf(headers, sizeof headers, "%s%s", SERVE_CONSOLE_HEADERS, extra ? extra : "");
    const char *peer = r->req->peer, *method = r->req->method;
    int head = strcmp(method, "HEAD") == 0;
    http_respond(r->ex, status, type, body, head ? 0 : len, headers);
    serve_log(r->s, peer, method, r->route, status, len, r->t0);
}

static void serve_console_error(serve_req *r, int status, const char *message, const char *extra)
{
    char *body = serve_error_body(message, -1, NULL);
    serve_console_send(r, status, CONSOLE_JSON, body ? body : "{}", body ? strlen(body) : 2, extra);
    cJSON_free(body);
}

/* 1 when the request came through TLS: the TLS proxy says so with
 * X-Forwarded-Proto (README, "TLS"), or the configured public URL is
 * https. */
static int serve_console_tls(const serve_req *r)
{
    const char *proto = http_request_header(r->req, "x-forwarded-proto");
    if (proto && strcmp(proto, "https") == 0)
        return 1;
    const char *pub = r->s->cfg->public_url;
    return pub && strncmp(pub, "https:", 6) == 0;
}

/* 1 when an Origin header, if any, names the host the request was sent
 * to: a sign-in posted from another site's page is refused (login CSRF). */
static int serve_console_same_origin(const serve_req *r)
{
    const char *origin = http_request_header(r->req, "origin");
    if (!origin)
        return 1;
    const char *host = http_request_header(r->req, "host");
    const char *sep = strstr(origin, "://");
    return host && sep && strcmp(sep + 3, host) == 0;
}

/* ---- the files ------------------------------------------------------------- */

static const console_asset *serve_console_asset(const char *name)
{
    for (int i = 0; i < console_nassets; i++)
        if (strcmp(console_assets[i].name, name) == 0)
            return &console_assets[i];
    return NULL;
}

/* Every file is served with no-cache and a strong ETag: the browser keeps
 * its copy and asks again each time (304 while the binary is the same),
 * so a new binary's console is seen at once without versioned URLs. */
static void serve_console_file(serve_req *r, const console_asset *a)
{
    const char *inm = http_request_header(r->req, "if-none-match");
    char extra[160];
    snprintf(extra, sizeof extra, "Cache-Control: no-cache\r\nETag: %s\r\n", a->etag);
    if (inm && strcmp(inm, a->etag) == 0) {
        serve_console_send(r, 304, NULL, "", 0, extra);
        return;
    }
    serve_console_send(r, 200, a->type, a->data, a->len, extra);
}

/* ---- sessions -------------------------------------------------------------- */

/* The token a sign-in's body holds: form (token=...) or JSON
 * ({"token": "..."}), into buf; NULL when there is none. */
static const char *serve_console_body_token(const serve_req *r, char *buf, size_t n)
{
    const http_request *req = r->req;
    if (strcmp(req->content_type, "application/json") == 0) {
        cJSON *b = cJSON_ParseWithLength(req->body, req->body_len);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "token");
        const char *out = NULL;
        if (cJSON_IsString(t) && strlen(t->valuestring) < n) {
            snprintf(buf, n, "%s", t->valuestring);
            out = buf;
        }
        cJSON_Delete(b);
        return out;
    }
    if (strcmp(req->content_type, "application/x-www-form-urlencoded") == 0) {
        /* a token is "obl_" and hex digits: nothing in it is encoded */
        for (const char *p = req->body; p && *p;) {
            const char *amp = strchr(p, '&');
            const char *end = amp ? amp : p + strlen(p);
            if (strncmp(p, "token=", 6) == 0 && (size_t)(end - p - 6) < n) {
                memcpy(buf, p + 6, (size_t)(end - p - 6));
                buf[end - p - 6] = '\0';
                return buf;
            }
            p = amp ? amp + 1 : NULL;
        }
    }
    return NULL;
}

/* {role, csrf, expires_at, now, note, source}: what the page needs to run.
 * now is the engine's time (the countdowns count against it, not the
 * browser's); note is the token's (null when it has none) and source what
 * the console's events must carry (POST /console/api/v1/events). Caller
 * frees with cJSON_free; NULL when memory ran out. */
static char *serve_console_session_body(const console_session *cs, double now)
{
    char at[CLOCK_RFC3339_LEN], expires[CLOCK_RFC3339_LEN];
    obligo_time t = clock_now();
    clock_format_utc(t, at);
    clock_format_utc(t + (obligo_time)(cs->expires_at - now), expires);
    cJSON *b = cJSON_CreateObject();
    char *text = NULL;
    if (b && cJSON_AddStringToObject(b, "role", cs->role) &&
        cJSON_AddStringToObject(b, "csrf", cs->csrf) &&
        cJSON_AddStringToObject(b, "expires_at", expires) &&
        cJSON_AddStringToObject(b, "now", at) &&
        (cs->note ? cJSON_AddStringToObject(b, "note", cs->note) != NULL
                  : cJSON_AddNullToObject(b, "note") != NULL) &&
        cJSON_AddStringToObject(b, "source", cs->source))
        text = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    return text;
}

static void serve_console_sign_in(serve_req *r)
{
    serve *s = r->s;
    if (!serve_console_same_origin(r)) {
        serve_console_error(r, 403, "inloggen kan alleen vanaf de console zelf", NULL);
        return;
    }
    char token[128], bearer[160], hash[DIGEST_HEX_LEN];
    if (!serve_console_body_token(r, token, sizeof token)) {
        serve_console_error(r, 400,
                            "stuur het token als formulier (token=...) of als JSON "
                            "({\"token\": \"...\"})",
                            NULL);
        return;
    }
    snprintf(bearer, sizeof bearer, "Bearer %s", token);
    const char *role = NULL;
    if (tokens_cache_refresh(&s->tokens, &s->rd, serve_console_now()) != 0) {
        serve_console_error(r, 503, "de tokens zijn nu niet te controleren; probeer het zo weer",
                            "Retry-After: 1\r\n");
        return;
    }
    if (tokens_cache_check(&s->tokens, bearer, &role) != 0 ||
        tokens_presented_hash(bearer, hash) != 0) {
        serve_console_error(r, 401, "dit token is onbekend of ingetrokken", NULL);
        return;
    }
    if (!tokens_allows(role, 0)) {
        serve_console_error(r, 403,
                            "een ingest-token kan niet inloggen op de console; gebruik een "
                            "token met de rol officer of admin",
                            NULL);
        return;
    }
    double now = serve_console_now();
    long seconds = s->cfg->console_session_seconds > 0 ? s->cfg->console_session_seconds
                                                       : CONSOLE_SESSION_SECONDS_DEFAULT;
    char id[CONSOLE_SESSION_HEX], csrf[CONSOLE_SESSION_HEX];
    const tokens_cached *tok = tokens_cache_find(&s->tokens, hash); /* found: checked above */
    console_signer who = {hash, role, tok->id, tok->note};
    int rc = console_session_start(&s->sessions, &who, now, (double)seconds, id, csrf);
    if (rc) {
        serve_console_error(r, 503, "er kan nu geen sessie worden gestart; probeer het zo weer",
                            "Retry-After: 1\r\n");
        return;
    }
    /* console_session_start puts the new session last */
    char *body = serve_console_session_body(&s->sessions.all[s->sessions.n - 1], now);
    char cookie[320];
    snprintf(cookie, sizeof cookie,
             "Set-Cookie: " CONSOLE_SESSION_COOKIE "=%s; Path=/console/; Max-Age=%ld; HttpOnly; "
             "SameSite=Strict%s\r\nCache-Control: no-store\r\n",
             id, seconds, serve_console_tls(r) ? "; Secure" : "");
    if (!body)
        serve_console_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
    else
        serve_console_send(r, 200, CONSOLE_JSON, body, strlen(body), cookie);
    cJSON_free(body);
}

/* The live session of this request whose token is still valid, or NULL
 * (a session of a token revoked since is ended). The tokens cache must
 * be fresh. */
static console_session *serve_console_current(serve *s, const http_request *req)
{
    double now = serve_console_now();
    console_session *cs =
        console_session_find(&s->sessions, http_request_header(req, "cookie"), now);
    if (cs && !tokens_cache_role_of(&s->tokens, cs->token_hash)) {
        console_session_end_token(&s->sessions, cs->token_hash);
        cs = NULL;
    }
    return cs;
}

int serve_console_auth(serve *s, const http_request *req, const console_session **session,
                       const char **message)
{
    *session = NULL;
    if (tokens_cache_refresh(&s->tokens, &s->rd, serve_console_now()) != 0) {
        *message = "de tokens zijn nu niet te controleren; probeer het zo weer";
        return 503;
    }
    console_session *cs = serve_console_current(s, req);
    if (!cs) {
        *message = "niet ingelogd, of de sessie is verlopen: log opnieuw in";
        return 401;
    }
    int safe = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    if (!safe && !console_session_csrf_ok(cs, http_request_header(req, "x-csrf-token"))) {
        *message = "het CSRF-token ontbreekt of klopt niet (X-CSRF-Token)";
        return 403;
    }
    *session = cs;
    return 0;
}

static void serve_console_session(serve_req *r)
{
    serve *s = r->s;
    const char *method = r->req->method;
    if (strcmp(method, "POST") == 0) {
        serve_console_sign_in(r);
        return;
    }
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (!get && strcmp(method, "DELETE") != 0) {
        serve_console_error(r, 405, "use GET, POST or DELETE", "Allow: GET, POST, DELETE\r\n");
        return;
    }
    const console_session *cs = NULL;
    const char *message = NULL;
    int status = serve_console_auth(s, r->req, &cs, &message);
    if (status) {
        serve_console_error(r, status, message, "Cache-Control: no-store\r\n");
        return;
    }
    if (get) {
        char *body = serve_console_session_body(cs, serve_console_now());
        if (!body)
            serve_console_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        else
            serve_console_send(r, 200, CONSOLE_JSON, body, strlen(body),
                               "Cache-Control: no-store\r\n");
        cJSON_free(body);
        return;
    }
    console_session_end(&s->sessions, (console_session *)cs);
    serve_console_send(r, 200, CONSOLE_JSON, "{\"signed_out\":true}", 18,
                       "Set-Cookie: " CONSOLE_SESSION_COOKIE "=; Path=/console/; Max-Age=0; "
                       "HttpOnly; SameSite=Strict\r\nCache-Control: no-store\r\n");
}

void serve_console(serve_req *r, const char *rest)
{
    r->console = 1;
    if (!*rest) {
        serve_console_send(r, 301, "text/plain; charset=utf-8", "/console/\n", 10,
                           "Location: /console/\r\n");
        return;
    }
    if (strcmp(rest, "/session") == 0) {
        serve_console_session(r);
        return;
    }
    const char *method = r->req->method;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        serve_console_error(r, 405, "use GET", "Allow: GET\r\n");
        return;
    }
    const console_asset *a = serve_console_asset(strcmp(rest, "/") == 0 ? "index.html" : rest + 1);
    if (!a || strchr(rest + 1, '/')) {
        serve_console_error(r, 404, "no such resource", NULL);
        return;
    }
    serve_console_file(r, a);
}
