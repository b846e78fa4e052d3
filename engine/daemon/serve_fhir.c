/*
 * serve_fhir.c — the FHIR RESTful API under /v1/fhir, for the input
 * adapters that take FHIR (media type application/fhir+json at
 * /v1/fhir/<ResourceType>; the fhir plugin registers AuditEvent). The
 * plugin maps a resource to CloudEvents; this file speaks FHIR's HTTP
 * (http.html of FHIR R4):
 *
 *   POST /v1/fhir/<Type>  create: 201 with Location, ETag and the resource
 *                         with its id (200 when it was received before),
 *                         honouring Prefer: return=minimal|representation|
 *                         OperationOutcome; a Bundle posted there is taken
 *                         whole as before (202 {"accepted","duplicates"})
 *   POST /v1/fhir         a batch or transaction Bundle of POST entries:
 *                         a batch-response / transaction-response Bundle; a
 *                         transaction is all or nothing, a batch applies
 *                         the good entries and reports the bad ones
 *   GET  /v1/fhir/metadata the CapabilityStatement
 *
 * Every error is an OperationOutcome (application/fhir+json), and refused
 * documents are kept in the rejected table like any refused input.
 *
 * Loop thread.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "clock.h"
#include "error.h"
#include "journal.h"
#include "serve_internal.h"

enum { FHIR_CREATE, FHIR_BUNDLE, FHIR_BATCH, FHIR_TRANSACTION };
enum { FHIR_PREFER_REPRESENTATION, FHIR_PREFER_MINIMAL, FHIR_PREFER_OUTCOME };

struct serve_fhir_answer {
    int mode;                /* FHIR_* */
    int prefer;              /* FHIR_PREFER_*: a create's body */
    const char *type;        /* FHIR_CREATE: the resource type (the adapter's, borrowed) */
    cJSON *resource;         /* FHIR_CREATE: the resource as posted */
    int nentries;            /* FHIR_BATCH, FHIR_TRANSACTION: the request's entries */
    int *event_of;           /* per entry: the job's event, or -1 when it failed */
    const char **entry_type; /* per entry: its resource type (borrowed) */
    cJSON **failed;          /* per failed entry: its response {status, outcome} */
};

void serve_fhir_answer_free(serve_fhir_answer *a)
{
    if (!a)
        return;
    cJSON_Delete(a->resource);
    for (int i = 0; a->failed && i < a->nentries; i++)
        cJSON_Delete(a->failed[i]);
    obligo_free(a->failed);
    obligo_free(a->event_of);
    obligo_free(a->entry_type);
    obligo_free(a);
}

/* ---- what is FHIR's --------------------------------------------------------- */

int serve_fhir_path(const char *path)
{
    size_t n = sizeof SERVE_FHIR_BASE - 1;
    return strncmp(path, SERVE_FHIR_BASE, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int serve_fhir_adapter_is(const plugins_adapter *a)
{
    const char *p = a->adapter.http_path;
    size_t n = sizeof SERVE_FHIR_BASE "/" - 1;
    return p && a->adapter.media_type && strcmp(a->adapter.media_type, SERVE_FHIR_MEDIA) == 0 &&
           strncmp(p, SERVE_FHIR_BASE "/", n) == 0 && p[n] && !strchr(p + n, '/') &&
           strcmp(p + n, "metadata") != 0;
}

int serve_fhir_on(const serve *s)
{
    for (int i = 0; i < plugins_adapter_count(s->e->plugins); i++)
        if (serve_fhir_adapter_is(plugins_adapter_at(s->e->plugins, i)))
            return 1;
    return 0;
}

/* The FHIR adapter for resource type `type`, or NULL. */
static const plugins_adapter *fhir_adapter_for(const serve *s, const char *type)
{
    char path[160];
    if (!type || snprintf(path, sizeof path, SERVE_FHIR_BASE "/%s", type) >= (int)sizeof path)
        return NULL;
    const plugins_adapter *a = plugins_find_adapter_by_path(s->e->plugins, path);
    return a && serve_fhir_adapter_is(a) ? a : NULL;
}

static const char *fhir_type_of(const plugins_adapter *a)
{
    return a->adapter.http_path + sizeof SERVE_FHIR_BASE;
}

/* ---- OperationOutcome ------------------------------------------------------- */

const char *serve_fhir_issue_code(int status)
{
    switch (status) {
    case 401:
        return "login";
    case 403:
        return "forbidden";
    case 404:
        return "not-found";
    case 405:
    case 415:
        return "not-supported";
    case 409:
        return "conflict";
    case 413:
        return "too-costly";
    case 422:
        return "processing";
    case 429:
    case 503:
        return "transient";
    case 500:
        return "exception";
    default:
        return status >= 500 ? "exception" : "invalid";
    }
}

static cJSON *fhir_outcome_json(const char *severity, const char *code, const char *diagnostics,
                                const char *expression)
{
    cJSON *o = cJSON_CreateObject(), *issues, *issue, *expr;
    int ok = o && cJSON_AddStringToObject(o, "resourceType", "OperationOutcome") &&
             (issues = cJSON_AddArrayToObject(o, "issue")) && (issue = cJSON_CreateObject()) &&
             cJSON_AddItemToArray(issues, issue) &&
             cJSON_AddStringToObject(issue, "severity", severity) &&
             cJSON_AddStringToObject(issue, "code", code) &&
             cJSON_AddStringToObject(issue, "diagnostics", diagnostics ? diagnostics : "");
    if (ok && expression)
        ok = (expr = cJSON_AddArrayToObject(issue, "expression")) &&
             cJSON_AddItemToArray(expr, cJSON_CreateString(expression));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

char *serve_fhir_outcome(const char *severity, const char *code, const char *diagnostics,
                         const char *expression)
{
    cJSON *o = fhir_outcome_json(severity, code, diagnostics, expression);
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

static void fhir_send(serve *s, http_exchange *ex, const char *peer, const char *method,
                      const char *route, uint64_t t0, int status, const char *body, size_t len,
                      const char *extra)
{
    http_respond(ex, status, SERVE_FHIR_MEDIA, body, len, extra);
    serve_log(s, peer, method, route, status, len, t0);
}

static void fhir_reply(serve_req *r, int status, const char *body, const char *extra)
{
    fhir_send(r->s, r->ex, r->req->peer, r->req->method, r->route, r->t0, status, body,
              strlen(body), extra);
}

static const char FHIR_OUT_OF_MEMORY[] =
    "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\","
    "\"code\":\"transient\",\"diagnostics\":\"out of memory; retry later\"}]}";

void serve_fhir_reply_error(serve_req *r, int status, const char *message, const char *extra)
{
    char *body = serve_fhir_outcome("error", serve_fhir_issue_code(status), message, NULL);
    fhir_reply(r, body ? status : 503, body ? body : FHIR_OUT_OF_MEMORY,
               body ? extra : "Retry-After: 1\r\n");
    cJSON_free(body);
}

static void fhir_pending_error(serve *s, serve_pending *p, int status, const char *code,
                               const char *message, const char *expression, const char *extra)
{
    char *body = serve_fhir_outcome("error", code, message, expression);
    const char *b = body ? body : FHIR_OUT_OF_MEMORY;
    fhir_send(s, p->ex, p->peer, p->method, p->route, p->t0, body ? status : 503, b, strlen(b),
              body ? extra : "Retry-After: 1\r\n");
    cJSON_free(body);
}

/* Keeps raw (copied) in rejected with origin (taken over), field and
 * reason (copied), and answers 400 with an OperationOutcome: `outcome`
 * (taken over; NULL: one built from reason and field). */
static void fhir_reject(serve_req *r, char *origin, const char *raw, size_t len, const char *field,
                        const char *reason, char *outcome)
{
    if (!outcome)
        outcome = serve_fhir_outcome("error", "invalid", reason, field);
    serve_keep_rejected_as(r, origin, obligo_strndup(raw, len), len,
                           field ? obligo_strdup(field) : NULL, obligo_strdup(reason), outcome);
}

/* Keeps an entry of a batch in rejected while the others go on: no answer
 * waits for it (ud NULL). Takes over origin. */
static void fhir_reject_quietly(serve_req *r, char *origin, const char *raw, size_t len,
                                const char *field, const char *reason)
{
    writer_job *rej = writer_job_new(WRITER_REJECT, NULL);
    r->s->validation_rejects++;
    if (rej) {
        rej->origin = origin;
        origin = NULL;
        rej->field = field ? obligo_strdup(field) : NULL;
        rej->reason = obligo_strdup(reason);
        rej->raws = obligo_calloc(1, sizeof *rej->raws);
        rej->lens = obligo_calloc(1, sizeof *rej->lens);
        if (rej->raws && rej->lens && (rej->raws[0] = obligo_strndup(raw, len))) {
            rej->lens[0] = len;
            rej->n = 1;
        }
    }
    if (!rej || !rej->n || writer_submit(r->s->w, rej) != 0) {
        fprintf(stderr, "obligo serve: could not keep a rejected FHIR entry\n");
        writer_job_free(rej);
    }
    obligo_free(origin);
}

/* ---- converting one resource ------------------------------------------------ */

/* Replaces the resource type that starts path (the adapter's own name for
 * the document, "AuditEvent.agent[0]") by at ("Bundle.entry[2].resource"),
 * into out (n bytes). */
static void fhir_rebase(const char *path, const char *type, const char *at, char *out, size_t n)
{
    size_t tl = strlen(type);
    if (path && strncmp(path, type, tl) == 0 && (path[tl] == '\0' || path[tl] == '.'))
        snprintf(out, n, "%s%s", at, path + tl);
    else
        snprintf(out, n, "%s", path ? path : at);
}

/* What went wrong with one document: where, why, and the issue type. */
typedef struct fhir_problem {
    char path[512];
    char why[1024];
    char code[32];
} fhir_problem;

/* The adapter's error: its OperationOutcome's issue type when it gave one. */
static void fhir_problem_set(fhir_problem *pr, const char *path, const char *why,
                             const char *outcome)
{
    snprintf(pr->path, sizeof pr->path, "%s", path ? path : "");
    snprintf(pr->why, sizeof pr->why, "%s", why ? why : "the document could not be converted");
    snprintf(pr->code, sizeof pr->code, "invalid");
    cJSON *o = outcome ? cJSON_Parse(outcome) : NULL;
    const char *code = cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "issue"), 0), "code"));
    if (code)
        snprintf(pr->code, sizeof pr->code, "%s", code);
    cJSON_Delete(o);
}

/* Runs adapter a on text (len bytes), appending its events to j and
 * checking each against the catalogue into j->events. Returns the number
 * of events added, or -1 with pr set (nothing added), or -2 when memory
 * ran out. */
static int fhir_convert(serve *s, const plugins_adapter *a, const char *text, size_t len,
                        writer_job *j, int *cap, fhir_problem *pr)
{
    int first = j->n, oom = 0;
    char *field = NULL, *problem = engine_json_problem(text, len, &field, &oom);
    if (problem || oom) {
        char at[512];
        snprintf(at, sizeof at, "%s%s%s", fhir_type_of(a), field && *field ? "." : "",
                 field ? field : "");
        if (problem)
            fhir_problem_set(pr, at, problem, NULL);
        obligo_free(problem);
        obligo_free(field);
        return problem ? -1 : -2;
    }
    void *pair[2] = {j, cap};
    char *path = NULL, *error = NULL, *body = NULL;
    int rc = a->adapter.convert(a->state, text, len, serve_emit, pair, &path, &error, &body);
    if (rc != 0)
        fhir_problem_set(pr, path, error, body);
    obligo_free(path);
    obligo_free(error);
    obligo_free(body);
    if (rc != 0)
        goto undo;
    cJSON **ev = obligo_realloc(j->events, (size_t)(j->n ? j->n : 1) * sizeof(cJSON *));
    if (!ev) {
        rc = -2;
        goto undo;
    }
    j->events = ev;
    for (int i = first; i < j->n; i++) {
        char *f = NULL, *reason = NULL;
        j->events[i] = engine_decode(s->e, j->raws[i], j->lens[i], &f, &reason);
        if (!j->events[i]) {
            snprintf(pr->path, sizeof pr->path, "%s", fhir_type_of(a));
            snprintf(pr->why, sizeof pr->why, "the event converted from %s is not valid: %s%s%s",
                     fhir_type_of(a), f ? f : "", f ? ": " : "", reason ? reason : "invalid");
            snprintf(pr->code, sizeof pr->code, "invalid");
            obligo_free(f);
            obligo_free(reason);
            for (int k = first; k < i; k++)
                cJSON_Delete(j->events[k]);
            rc = -1;
            goto undo;
        }
    }
    return j->n - first;
undo:
    for (int i = first; i < j->n; i++) {
        obligo_free(j->raws[i]);
        j->raws[i] = NULL;
    }
    j->n = first;
    return rc == -2 ? -2 : -1;
}

/* Prefer: return=minimal | representation | OperationOutcome (RFC 7240;
 * FHIR http.html#ops). */
static int fhir_prefer(const http_request *q)
{
    const char *v = http_header_find(q->headers, q->nheaders, "prefer");
    const char *at = v ? strstr(v, "return=") : NULL;
    if (!at)
        return FHIR_PREFER_REPRESENTATION;
    at += sizeof "return=" - 1;
    if (*at == '"')
        at++;
    if (strncasecmp(at, "minimal", 7) == 0)
        return FHIR_PREFER_MINIMAL;
    if (strncasecmp(at, "OperationOutcome", 16) == 0)
        return FHIR_PREFER_OUTCOME;
    return FHIR_PREFER_REPRESENTATION;
}

/* id percent-encoded for a URL path segment, into out (n bytes). */
static void fhir_segment(const char *id, char *out, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (const unsigned char *c = (const unsigned char *)id; *c && k + 4 < n; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '.' || *c == '_' || *c == '~') {
            out[k++] = (char)*c;
        } else {
            out[k++] = '%';
            out[k++] = hex[*c >> 4];
            out[k++] = hex[*c & 15];
        }
    }
    out[k] = '\0';
}

static writer_job *fhir_job(int atomic)
{
    writer_job *j = writer_job_new(WRITER_EVENTS, NULL);
    if (j)
        j->atomic = atomic;
    return j;
}

/* Hands j to the writer with the answer fa (both taken over). */
static void fhir_submit(serve_req *r, writer_job *j, serve_fhir_answer *fa)
{
    serve_pending *p = serve_pending_new(r);
    j->origin = obligo_asprintf("http %s", r->req->path);
    j->outcomes = obligo_calloc((size_t)(j->n ? j->n : 1), sizeof *j->outcomes);
    if (!p || !j->origin || !j->outcomes) {
        obligo_free(p);
        writer_job_free(j);
        serve_fhir_answer_free(fa);
        serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        return;
    }
    p->fhir_answer = fa;
    serve_submit(r, j, p);
}

/* ---- POST /v1/fhir/<Type> ----------------------------------------------------- */

void serve_fhir_create(serve_req *r, const plugins_adapter *a)
{
    const http_request *q = r->req;
    if (strcmp(q->content_type, SERVE_FHIR_MEDIA) != 0) {
        serve_reply_error(r, 415, "use " SERVE_FHIR_MEDIA, NULL);
        return;
    }
    writer_job *j = fhir_job(0);
    serve_fhir_answer *fa = obligo_calloc(1, sizeof *fa);
    fhir_problem pr = {{0}, {0}, {0}};
    int cap = 0;
    int n = j && fa ? fhir_convert(r->s, a, q->body, q->body_len, j, &cap, &pr) : -2;
    if (n == -1) {
        char *origin = obligo_asprintf("http %s", q->path);
        char *outcome = serve_fhir_outcome("error", pr.code, pr.why, pr.path[0] ? pr.path : NULL);
        fhir_reject(r, origin, q->body, q->body_len, pr.path[0] ? pr.path : NULL, pr.why, outcome);
        writer_job_free(j);
        serve_fhir_answer_free(fa);
        return;
    }
    cJSON *root = n >= 0 ? cJSON_ParseWithLength(q->body, q->body_len) : NULL;
    if (!root) {
        writer_job_free(j);
        serve_fhir_answer_free(fa);
        serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        return;
    }
    const char *rt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "resourceType"));
    fa->prefer = fhir_prefer(q);
    fa->type = fhir_type_of(a);
    if (rt && strcmp(rt, fa->type) == 0 && n == 1) {
        fa->mode = FHIR_CREATE;
        fa->resource = root;
    } else {
        fa->mode = FHIR_BUNDLE; /* a Bundle of the type, taken whole as before */
        cJSON_Delete(root);
    }
    fhir_submit(r, j, fa);
}

/* The resource as stored: resourceType, then the id the event got, then
 * the rest as posted. NULL when memory ran out. */
static char *fhir_stored(const cJSON *resource, const char *id)
{
    cJSON *o = cJSON_CreateObject();
    const cJSON *m;
    int ok = o &&
             cJSON_AddItemReferenceToObject(
                 o, "resourceType", cJSON_GetObjectItemCaseSensitive(resource, "resourceType")) &&
             cJSON_AddStringToObject(o, "id", id);
    cJSON_ArrayForEach(m, resource)
    {
        if (!ok)
            break;
        if (strcmp(m->string, "resourceType") != 0 && strcmp(m->string, "id") != 0)
            ok = cJSON_AddItemReferenceToObject(o, m->string, (cJSON *)m);
    }
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o); /* references only: the resource is untouched */
    return text;
}

static void fhir_create_done(serve *s, serve_pending *p, writer_job *j)
{
    serve_fhir_answer *fa = p->fhir_answer;
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j->events[0], "id"));
    if (j->outcomes[0] == JOURNAL_CONFLICT) {
        const char *why = cJSON_GetStringValue(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(j->refused, 0), "error"));
        char at[160];
        snprintf(at, sizeof at, "%s.id", fa->type);
        fhir_pending_error(s, p, 409, "conflict",
                           why ? why
                               : "an event with this source and id was received before "
                                 "with other content",
                           at, NULL);
        return;
    }
    int status = j->outcomes[0] == JOURNAL_DUPLICATE ? 200 : 201;
    char seg[256], extra[512];
    fhir_segment(id ? id : "", seg, sizeof seg);
    snprintf(extra, sizeof extra,
             "Location: " SERVE_FHIR_BASE "/%s/%s/_history/1\r\nETag: W/\"1\"\r\n", fa->type, seg);
    char *body = NULL;
    if (fa->prefer == FHIR_PREFER_OUTCOME) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s/%s %s", fa->type, id ? id : "",
                 status == 201 ? "created" : "was received before: nothing changed");
        body = serve_fhir_outcome("information", "informational", msg, NULL);
    } else if (fa->prefer == FHIR_PREFER_REPRESENTATION) {
        body = fhir_stored(fa->resource, id ? id : "");
    }
    if (fa->prefer != FHIR_PREFER_MINIMAL && !body) {
        fhir_pending_error(s, p, 500, "exception", "out of memory after the commit", NULL, NULL);
        return;
    }
    fhir_send(s, p->ex, p->peer, p->method, p->route, p->t0, status, body ? body : "",
              body ? strlen(body) : 0, extra);
    cJSON_free(body);
}

/* ---- POST /v1/fhir: batch and transaction --------------------------------------- */

/* Why entry i cannot be taken before its resource is read: NULL, or the
 * message with *path, *status and *code set; *a the adapter on success. */
static const char *fhir_entry_request(const serve *s, const cJSON *entry, int i, char *path,
                                      size_t n, const char **status, const char **code,
                                      const plugins_adapter **a, const cJSON **resource)
{
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(entry, "request");
    const char *method = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "method"));
    const char *url = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "url"));
    const char *rt;
    *status = "400 Bad Request";
    *code = "required";
    *a = NULL;
    if (!cJSON_IsObject(entry)) {
        snprintf(path, n, "Bundle.entry[%d]", i);
        *code = "invalid";
        return "the entry must be a JSON object";
    }
    if (!method) {
        snprintf(path, n, "Bundle.entry[%d].request.method", i);
        return "request.method is required: POST (this server takes creates)";
    }
    if (strcmp(method, "POST") != 0) {
        snprintf(path, n, "Bundle.entry[%d].request.method", i);
        *status = "405 Method Not Allowed";
        *code = "not-supported";
        return "only POST (create) is supported in a batch or transaction";
    }
    if (!url) {
        snprintf(path, n, "Bundle.entry[%d].request.url", i);
        return "request.url is required: the resource type, e.g. AuditEvent";
    }
    if (*url == '/')
        url++;
    *a = fhir_adapter_for(s, url);
    if (!*a) {
        snprintf(path, n, "Bundle.entry[%d].request.url", i);
        *status = "404 Not Found";
        *code = "not-supported";
        return "request.url names no resource type this server takes (AuditEvent)";
    }
    *resource = cJSON_GetObjectItemCaseSensitive(entry, "resource");
    rt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(*resource, "resourceType"));
    if (!cJSON_IsObject(*resource)) {
        snprintf(path, n, "Bundle.entry[%d].resource", i);
        return "resource is required: the resource to create";
    }
    if (!rt || strcmp(rt, fhir_type_of(*a)) != 0) {
        snprintf(path, n, "Bundle.entry[%d].resource.resourceType", i);
        *code = "value";
        return "resource.resourceType must be the type request.url names";
    }
    return NULL;
}

/* The answer of one entry that failed: {status, outcome}. */
static cJSON *fhir_entry_failure(const char *status, const char *code, const char *why,
                                 const char *path)
{
    cJSON *resp = cJSON_CreateObject();
    cJSON *outcome = fhir_outcome_json("error", code, why, path);
    if (!resp || !outcome || !cJSON_AddStringToObject(resp, "status", status) ||
        !cJSON_AddItemToObject(resp, "outcome", outcome)) {
        cJSON_Delete(resp);
        cJSON_Delete(outcome);
        return NULL;
    }
    return resp;
}

void serve_fhir_post_base(serve_req *r)
{
    const http_request *q = r->req;
    if (strcmp(q->content_type, SERVE_FHIR_MEDIA) != 0) {
        serve_reply_error(r, 415, "use " SERVE_FHIR_MEDIA, NULL);
        return;
    }
    int oom = 0;
    char *field = NULL, *problem = engine_json_problem(q->body, q->body_len, &field, &oom);
    cJSON *root = problem || oom ? NULL : cJSON_ParseWithLength(q->body, q->body_len);
    const char *why = problem, *at = field;
    char msg[1024];
    if (!problem && !oom && !root) {
        why = "the body is not JSON: send a batch or transaction Bundle as " SERVE_FHIR_MEDIA;
        at = "Bundle";
    }
    const char *rt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "resourceType"));
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "type"));
    const cJSON *entry_member = cJSON_GetObjectItemCaseSensitive(root, "entry");
    if (root && (!rt || strcmp(rt, "Bundle") != 0)) {
        why = "POST to the base takes a Bundle of type batch or transaction; create one "
              "resource with POST " SERVE_FHIR_BASE "/<type>";
        at = "Bundle.resourceType";
    } else if (root &&
               (!type || (strcmp(type, "batch") != 0 && strcmp(type, "transaction") != 0))) {
        snprintf(msg, sizeof msg,
                 "Bundle.type is %s%s%s: POST to the base takes a batch or a transaction",
                 type ? "\"" : "", type ? type : "missing", type ? "\"" : "");
        why = msg;
        at = "Bundle.type";
    } else if (root && entry_member && !cJSON_IsArray(entry_member) &&
               !cJSON_IsNull(entry_member)) {
        why = "Bundle.entry must be a JSON array";
        at = "Bundle.entry";
    }
    if (oom || why) {
        if (why)
            fhir_reject(r, obligo_strdup("http " SERVE_FHIR_BASE), q->body, q->body_len, at, why,
                        NULL);
        else
            serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        obligo_free(problem);
        obligo_free(field);
        cJSON_Delete(root);
        return;
    }
    int transaction = strcmp(type, "transaction") == 0;
    const cJSON *entries = cJSON_GetObjectItemCaseSensitive(root, "entry"), *entry;
    int n = cJSON_IsArray(entries) ? cJSON_GetArraySize(entries) : 0;
    writer_job *j = fhir_job(transaction);
    serve_fhir_answer *fa = obligo_calloc(1, sizeof *fa);
    if (fa) {
        fa->mode = transaction ? FHIR_TRANSACTION : FHIR_BATCH;
        fa->nentries = n;
        fa->event_of = obligo_calloc((size_t)(n ? n : 1), sizeof *fa->event_of);
        fa->entry_type = obligo_calloc((size_t)(n ? n : 1), sizeof *fa->entry_type);
        fa->failed = obligo_calloc((size_t)(n ? n : 1), sizeof(cJSON *));
    }
    if (!j || !fa || !fa->event_of || !fa->entry_type || !fa->failed) {
        writer_job_free(j);
        serve_fhir_answer_free(fa);
        cJSON_Delete(root);
        serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        return;
    }
    int cap = 0, i = 0;
    cJSON_ArrayForEach(entry, entries)
    {
        char path[512], base[64];
        const char *status, *code;
        const plugins_adapter *a;
        const cJSON *resource = NULL;
        fhir_problem pr = {{0}, {0}, {0}};
        const char *bad =
            fhir_entry_request(r->s, entry, i, path, sizeof path, &status, &code, &a, &resource);
        char *text = NULL;
        fa->event_of[i] = -1;
        if (!bad) {
            fa->entry_type[i] = fhir_type_of(a);
            text = cJSON_PrintUnformatted(resource);
            int got = text ? fhir_convert(r->s, a, text, strlen(text), j, &cap, &pr) : -2;
            if (got == -2) {
                cJSON_free(text);
                writer_job_free(j);
                serve_fhir_answer_free(fa);
                cJSON_Delete(root);
                serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
                return;
            }
            if (got == 1) {
                fa->event_of[i] = j->n - 1;
            } else {
                snprintf(base, sizeof base, "Bundle.entry[%d].resource", i);
                fhir_rebase(pr.path[0] ? pr.path : NULL, fhir_type_of(a), base, path, sizeof path);
                /* the adapter's message names its path: name the entry's */
                size_t pl = strlen(pr.path);
                if (got < 0 && pl && strncmp(pr.why, pr.path, pl) == 0)
                    snprintf(msg, sizeof msg, "%s%s", path, pr.why + pl);
                else
                    snprintf(msg, sizeof msg, "%s",
                             got < 0 ? pr.why : "the resource did not convert to one event");
                bad = msg;
                code = got < 0 ? pr.code : "processing";
                status = "400 Bad Request";
            }
        }
        if (bad && transaction) {
            char full[1400];
            size_t bl = strlen(bad);
            snprintf(full, sizeof full, "%.*s; nothing of the transaction was applied",
                     (int)(bl && bad[bl - 1] == '.' ? bl - 1 : bl), bad);
            char *outcome = serve_fhir_outcome("error", code, full, path);
            fhir_reject(r, obligo_strdup("http " SERVE_FHIR_BASE), q->body, q->body_len, path, full,
                        outcome);
            cJSON_free(text);
            writer_job_free(j);
            serve_fhir_answer_free(fa);
            cJSON_Delete(root);
            return;
        }
        if (bad) {
            const char *raw = text ? text : "";
            char *etext = !text && cJSON_IsObject(entry) ? cJSON_PrintUnformatted(entry) : NULL;
            if (etext)
                raw = etext;
            fhir_reject_quietly(r, obligo_asprintf("http " SERVE_FHIR_BASE "[%d]", i), raw,
                                strlen(raw), path, bad);
            cJSON_free(etext);
            fa->failed[i] = fhir_entry_failure(status, code, bad, path);
        }
        cJSON_free(text);
        i++;
    }
    cJSON_Delete(root);
    if (j->n == 0) {
        /* nothing to commit: the answer is ready */
        serve_pending *p = serve_pending_new(r);
        if (!p) {
            writer_job_free(j);
            serve_fhir_answer_free(fa);
            serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
            return;
        }
        p->fhir_answer = fa;
        serve_fhir_done(r->s, p, j);
        serve_pending_free(p);
        writer_job_free(j);
        return;
    }
    fhir_submit(r, j, fa);
}

static void fhir_bundle_done(serve *s, serve_pending *p, writer_job *j)
{
    serve_fhir_answer *fa = p->fhir_answer;
    int transaction = fa->mode == FHIR_TRANSACTION;
    cJSON *b = cJSON_CreateObject(), *entries = NULL;
    int ok = b && cJSON_AddStringToObject(b, "resourceType", "Bundle") &&
             cJSON_AddStringToObject(b, "type",
                                     transaction ? "transaction-response" : "batch-response") &&
             (entries = cJSON_AddArrayToObject(b, "entry"));
    for (int i = 0; ok && i < fa->nentries; i++) {
        cJSON *entry = cJSON_CreateObject(), *resp = NULL;
        int k = fa->event_of[i];
        ok = entry && cJSON_AddItemToArray(entries, entry);
        if (ok && k < 0) {
            resp = fa->failed[i];
            fa->failed[i] = NULL;
            ok = resp && cJSON_AddItemToObject(entry, "response", resp);
            if (!ok)
                cJSON_Delete(resp);
            continue;
        }
        const char *id =
            ok ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j->events[k], "id")) : NULL;
        char seg[256], loc[512];
        fhir_segment(id ? id : "", seg, sizeof seg);
        snprintf(loc, sizeof loc, "%s/%s/_history/1", fa->entry_type[i], seg);
        if (ok && j->outcomes[k] == JOURNAL_CONFLICT) {
            char at[64];
            const char *why = NULL;
            const cJSON *c;
            cJSON_ArrayForEach(c, j->refused) if ((int)cJSON_GetNumberValue(
                                                      cJSON_GetObjectItemCaseSensitive(
                                                          c, "index")) == k) why =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "error"));
            snprintf(at, sizeof at, "Bundle.entry[%d].resource.id", i);
            resp = fhir_entry_failure("409 Conflict", "conflict",
                                      why ? why
                                          : "an event with this source and id was received "
                                            "before with other content",
                                      at);
            ok = resp && cJSON_AddItemToObject(entry, "response", resp);
            if (!ok)
                cJSON_Delete(resp);
            continue;
        }
        ok = ok && (resp = cJSON_AddObjectToObject(entry, "response")) &&
             cJSON_AddStringToObject(
                 resp, "status", j->outcomes[k] == JOURNAL_DUPLICATE ? "200 OK" : "201 Created") &&
             cJSON_AddStringToObject(resp, "location", loc) &&
             cJSON_AddStringToObject(resp, "etag", "W/\"1\"");
    }
    char *body = ok ? cJSON_PrintUnformatted(b) : NULL;
    cJSON_Delete(b);
    if (!body) {
        fhir_pending_error(s, p, 500, "exception", "out of memory after the commit", NULL, NULL);
        return;
    }
    fhir_send(s, p->ex, p->peer, p->method, p->route, p->t0, 200, body, strlen(body), NULL);
    cJSON_free(body);
}

void serve_fhir_done(serve *s, serve_pending *p, writer_job *j)
{
    serve_fhir_answer *fa = p->fhir_answer;
    char buf[160], at[64];
    if (j->rc == OBLIGO_EINVAL && j->atomic && j->conflict_at >= 0) {
        int entry = 0;
        for (int i = 0; i < fa->nentries; i++)
            if (fa->event_of[i] == j->conflict_at)
                entry = i;
        snprintf(at, sizeof at, "Bundle.entry[%d].resource.id", entry);
        snprintf(buf, sizeof buf,
                 "Bundle.entry[%d]: an event with this source and id was received before with "
                 "other content; nothing of the transaction was applied",
                 entry);
        fhir_pending_error(s, p, 409, "conflict", buf, at, NULL);
        return;
    }
    if (j->rc == OBLIGO_EFULL || j->rc == OBLIGO_EBUSY || j->rc == OBLIGO_ENOMEM) {
        fhir_pending_error(s, p, 503, "transient",
                           "the engine cannot store events right now; retry later", NULL,
                           "Retry-After: 5\r\n");
        return;
    }
    if (j->rc) {
        fhir_pending_error(s, p, 500, "exception", obligo_strerror(j->rc), NULL, NULL);
        return;
    }
    switch (fa->mode) {
    case FHIR_CREATE:
        fhir_create_done(s, p, j);
        return;
    case FHIR_BUNDLE:
        if (j->conflicts) {
            fhir_pending_error(s, p, 409, "conflict",
                               "an entry names, by its source and id, an event received before "
                               "with other content; the others were taken",
                               NULL, NULL);
            return;
        }
        snprintf(buf, sizeof buf, "{\"accepted\":%ld,\"duplicates\":%ld}", j->accepted,
                 j->duplicates);
        serve_send(s, p->ex, p->peer, p->method, p->route, p->t0, 202, buf, NULL);
        return;
    default:
        fhir_bundle_done(s, p, j);
        return;
    }
}

/* ---- GET /v1/fhir/metadata -------------------------------------------------- */

void serve_fhir_metadata(serve_req *r)
{
    serve *s = r->s;
    char date[CLOCK_RFC3339_LEN];
    clock_format_utc(s->started, date);
    cJSON *cs = cJSON_CreateObject(), *sw, *impl, *rest0, *rest, *resources, *interaction;
    cJSON *item, *formats, *security;
    int ok = cs && cJSON_AddStringToObject(cs, "resourceType", "CapabilityStatement") &&
             cJSON_AddStringToObject(cs, "status", "active") &&
             cJSON_AddStringToObject(cs, "date", date) &&
             cJSON_AddStringToObject(cs, "publisher", "Obligo") &&
             cJSON_AddStringToObject(cs, "kind", "instance") &&
             (sw = cJSON_AddObjectToObject(cs, "software")) &&
             cJSON_AddStringToObject(sw, "name", "Obligo") &&
             cJSON_AddStringToObject(sw, "version", OBLIGO_VERSION) &&
             (impl = cJSON_AddObjectToObject(cs, "implementation")) &&
             cJSON_AddStringToObject(impl, "description",
                                     "Obligo compliance rules engine: FHIR AuditEvents in, "
                                     "NEN 7513 access events judged by its rules") &&
             cJSON_AddStringToObject(cs, "fhirVersion", "4.0.1") &&
             (formats = cJSON_AddArrayToObject(cs, "format")) &&
             cJSON_AddItemToArray(formats, cJSON_CreateString("json")) &&
             (rest = cJSON_AddArrayToObject(cs, "rest")) && (rest0 = cJSON_CreateObject()) &&
             cJSON_AddItemToArray(rest, rest0) &&
             cJSON_AddStringToObject(rest0, "mode", "server") &&
             (security = cJSON_AddObjectToObject(rest0, "security")) &&
             cJSON_AddStringToObject(security, "description",
                                     "Bearer tokens (Authorization: Bearer obl_...) with the role "
                                     "ingest or admin, once any token exists; before that only "
                                     "clients on the server's machine. This statement is open.") &&
             (resources = cJSON_AddArrayToObject(rest0, "resource"));
    for (int i = 0; ok && i < plugins_adapter_count(s->e->plugins); i++) {
        const plugins_adapter *a = plugins_adapter_at(s->e->plugins, i);
        if (!serve_fhir_adapter_is(a))
            continue;
        ok = (item = cJSON_CreateObject()) && cJSON_AddItemToArray(resources, item) &&
             cJSON_AddStringToObject(item, "type", fhir_type_of(a)) &&
             (interaction = cJSON_AddArrayToObject(item, "interaction")) &&
             cJSON_AddItemToArray(interaction, cJSON_CreateObject()) &&
             cJSON_AddStringToObject(cJSON_GetArrayItem(interaction, 0), "code", "create") &&
             cJSON_AddFalseToObject(item, "conditionalCreate");
    }
    ok = ok && (interaction = cJSON_AddArrayToObject(rest0, "interaction"));
    static const char *const system[] = {"batch", "transaction"};
    for (int i = 0; ok && i < 2; i++)
        ok = (item = cJSON_CreateObject()) && cJSON_AddItemToArray(interaction, item) &&
             cJSON_AddStringToObject(item, "code", system[i]);
    char *body = ok ? cJSON_PrintUnformatted(cs) : NULL;
    cJSON_Delete(cs);
    if (!body) {
        serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        return;
    }
    fhir_reply(r, 200, body, NULL);
    cJSON_free(body);
}
