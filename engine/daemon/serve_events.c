/*
 * serve_events.c — the daemon's POST of events: the body of POST /v1/events
 * split into raw events by its media type (serve_split), or a document
 * posted to an input adapter's path converted by its plugin; then every
 * event is validated (engine_decode) before the whole request goes to the
 * writer, or the first bad one is kept in the rejected table and answered
 * 400.
 *
 * Everything in this file runs on the loop thread (serve_split on any).
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "ce_binary.h"
#include "error.h"
#include "json.h"
#include "serve.h"
#include "serve_internal.h"

/* Appends one raw event to the job, taking over `raw` (freed on failure).
 * Returns 0 or -1. */
int serve_push(writer_job *j, int *cap, char *raw, size_t len)
{
    if (!raw)
        return -1;
    if (j->n == *cap) {
        int ncap = *cap ? *cap * 2 : 8;
        char **nr = obligo_realloc(j->raws, (size_t)ncap * sizeof *nr);
        if (nr)
            j->raws = nr;
        size_t *nl = nr ? obligo_realloc(j->lens, (size_t)ncap * sizeof *nl) : NULL;
        if (nl)
            j->lens = nl;
        if (!nr || !nl) {
            obligo_free(raw);
            return -1;
        }
        *cap = ncap;
    }
    j->raws[j->n] = raw;
    j->lens[j->n] = len;
    j->n++;
    return 0;
}

/* The bytes of element k of the JSON array text t (which cJSON parsed, so
 * it is valid JSON), without the blanks around it: *at and *n. 0, or -1
 * when there is no element k. */
static int serve_batch_element(const char *t, size_t len, int k, const char **at, size_t *n)
{
    const char *open = memchr(t, '[', len);
    if (!open)
        return -1;
    size_t start = (size_t)(open - t) + 1;
    int depth = 0, in_string = 0, escaped = 0, index = 0;
    for (size_t i = start; i < len; i++) {
        char ch = t[i];
        if (in_string) {
            if (escaped)
                escaped = 0;
            else if (ch == '\\')
                escaped = 1;
            else if (ch == '"')
                in_string = 0;
        } else if (ch == '"') {
            in_string = 1;
        } else if (depth == 0 && (ch == ',' || ch == ']')) {
            if (index == k) {
                size_t a = start, b = i;
                while (a < b && (t[a] == ' ' || t[a] == '\t' || t[a] == '\r' || t[a] == '\n'))
                    a++;
                while (b > a && (t[b - 1] == ' ' || t[b - 1] == '\t' || t[b - 1] == '\r' ||
                                 t[b - 1] == '\n'))
                    b--;
                *at = t + a;
                *n = b - a;
                return 0;
            }
            if (ch == ']')
                return -1;
            index++;
            start = i + 1;
        } else if (ch == '[' || ch == '{') {
            depth++;
        } else if (ch == ']' || ch == '}') {
            depth--;
        }
    }
    return -1;
}

/* Splits the body into raw events by content type, into the job. Returns
 * the count, -1 for a body that is not of its type (*why set), -2 for an
 * unsupported type. Not static: tests/fuzz/fuzz_ndjson.c (serve.h). */
int serve_split(const http_request *req, writer_job *j, const char **why)
{
    const char *ct = req->content_type;
    int cap = 0;
    *why = "out of memory";
    if (strcmp(ct, "application/cloudevents+json") == 0) {
        if (serve_push(j, &cap, obligo_strndup(req->body, req->body_len), req->body_len))
            return -1;
    } else if (strcmp(ct, "application/x-ndjson") == 0) {
        const char *p = req->body, *end = req->body + req->body_len;
        while (p < end) {
            const char *eol = memchr(p, '\n', (size_t)(end - p));
            const char *a = p, *b = eol ? eol : end;
            while (a < b && (*a == ' ' || *a == '\t' || *a == '\r'))
                a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
                b--;
            if (b > a && serve_push(j, &cap, obligo_strndup(a, (size_t)(b - a)), (size_t)(b - a)))
                return -1;
            p = eol ? eol + 1 : end;
        }
    } else if (strcmp(ct, "application/cloudevents-batch+json") == 0) {
        json_text_problem what;
        if (json_text_check(req->body, req->body_len, &what) >= 0) {
            *why = what == JSON_TEXT_RAW_CONTROL
                       ? "not valid JSON: a raw control character (such as a NUL byte); inside "
                         "a string write it escaped (\\n, \\t, \\u001f)"
                       : "a string holds \\u0000: strings may not contain U+0000, which could "
                         "not be kept";
            return -1;
        }
        cJSON *arr = cJSON_ParseWithLength(req->body, req->body_len);
        if (!cJSON_IsArray(arr)) {
            cJSON_Delete(arr);
            *why = "a batch must be a JSON array of CloudEvents";
            return -1;
        }
        /* each element is kept as printed: a batch's bytes are not split.
         * An element json_tree_check refuses is the exception: printed,
         * 1e400 would read null, so its own bytes go on and engine_decode
         * refuses them with their path, at their index, like any bad
         * event (one event per element, as for every batch). */
        int k = 0;
        for (cJSON *c = arr->child; c; c = c->next, k++) {
            char *field = NULL, *reason = NULL;
            int trc = json_tree_check(c, &field, &reason);
            obligo_free(field);
            obligo_free(reason);
            const char *at;
            size_t n;
            if (trc == OBLIGO_EINVAL &&
                serve_batch_element(req->body, req->body_len, k, &at, &n) == 0) {
                if (serve_push(j, &cap, obligo_strndup(at, n), n)) {
                    cJSON_Delete(arr);
                    return -1;
                }
                continue;
            }
            char *text = trc == OBLIGO_ENOMEM ? NULL : cJSON_PrintUnformatted(c);
            if (serve_push(j, &cap, text, text ? strlen(text) : 0)) {
                cJSON_Delete(arr);
                return -1;
            }
        }
        cJSON_Delete(arr);
    } else {
        return -2;
    }
    *why = NULL;
    return j->n;
}

/* An input adapter's emit: each converted event joins the job. */
int serve_emit(void *ctx, const char *event_json, size_t len)
{
    void **pair = ctx; /* {job, &cap} */
    return serve_push(pair[0], pair[1], obligo_strndup(event_json, len), len) ? -1 : 0;
}

static void serve_validate_and_submit(serve_req *r, writer_job *j, int n, int binary);
static void serve_keep_rejected(serve_req *r, int index, char *raw, size_t len, char *field,
                                char *reason);

/* POST to an input adapter's path (e.g. /v1/fhir/AuditEvent): the plugin
 * converts the document into catalogue events, which then go through the
 * same validation and commit as POST /v1/events. */
void serve_post_adapter(serve_req *r, const plugins_adapter *a)
{
    if (r->fhir) {
        serve_fhir_create(r, a);
        return;
    }
    if (strcmp(r->req->content_type, a->adapter.media_type) != 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "use %s", a->adapter.media_type);
        serve_reply_error(r, 415, msg, NULL);
        return;
    }
    int oom = 0;
    char *problem_field = NULL;
    char *problem = plugins_adapter_takes_json(a)
                        ? engine_json_problem(r->req->body, r->req->body_len, &problem_field, &oom)
                        : NULL;
    obligo_free(problem_field); /* the reason names the path */
    if (problem || oom) {
        if (problem)
            serve_reply_error(r, 400, problem, NULL);
        else
            serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        obligo_free(problem);
        return;
    }
    writer_job *j = writer_job_new(WRITER_EVENTS, NULL);
    if (!j) {
        serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        return;
    }
    int cap = 0;
    void *pair[2] = {j, &cap};
    char *path = NULL, *error = NULL, *body = NULL;
    int rc = a->adapter.convert(a->state, r->req->body, r->req->body_len, serve_emit, pair, &path,
                                &error, &body);
    if (rc != 0) {
        if (body) {
            /* the request is freed with its answer: read what the log needs
             * first */
            size_t len = strlen(body);
            const char *peer = r->req->peer, *method = r->req->method;
            http_respond(r->ex, 400, a->adapter.media_type, body, len, NULL);
            serve_log(r->s, peer, method, r->route, 400, len, r->t0);
        } else {
            char *b =
                serve_error_body(error ? error : "the document could not be converted", 0, path);
            serve_reply(r, 400, b ? b : "{}", NULL);
            cJSON_free(b);
        }
        obligo_free(path);
        obligo_free(error);
        obligo_free(body);
        writer_job_free(j);
        return;
    }
    obligo_free(path);
    obligo_free(error);
    obligo_free(body);
    serve_validate_and_submit(r, j, j->n, 0);
}

/* A binary-mode event (ce_binary.h): its structured text is what is
 * validated and journaled. A request refused before that text could be
 * built (a ce-* header twice, a broken escape, a body that is not the JSON
 * its Content-Type says) is kept in rejected as its ce-* and Content-Type
 * lines and its body. */
static void serve_post_binary(serve_req *r, writer_job *j)
{
    const http_request *q = r->req;
    char *json = NULL, *field = NULL, *reason = NULL;
    size_t len = 0;
    int rc = ce_binary_to_json(q->headers, q->nheaders, q->content_type_raw, q->body, q->body_len,
                               &json, &len, &field, &reason);
    if (rc == OBLIGO_EINVAL) {
        writer_job_free(j);
        size_t mlen = 0;
        char *raw = ce_binary_message(q->headers, q->nheaders, q->body, q->body_len, &mlen);
        serve_keep_rejected(r, 0, raw, mlen, field, reason);
        return;
    }
    int cap = 0;
    if (rc || serve_push(j, &cap, json, len)) {
        writer_job_free(j);
        serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        return;
    }
    serve_validate_and_submit(r, j, j->n, 1);
}

void serve_post_events(serve_req *r)
{
    writer_job *j = writer_job_new(WRITER_EVENTS, NULL);
    if (!j) {
        serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        return;
    }
    if (ce_binary_is(r->req->headers, r->req->nheaders, r->req->content_type)) {
        serve_post_binary(r, j);
        return;
    }
    const char *why;
    int n = serve_split(r->req, j, &why);
    if (n == -2) {
        writer_job_free(j);
        serve_reply_error(r, 415, SERVE_EVENTS_MEDIA, NULL);
        return;
    }
    if (n < 0) {
        writer_job_free(j);
        serve_reply_error(r, 400, why, NULL);
        return;
    }
    serve_validate_and_submit(r, j, n, 0);
}

void serve_keep_rejected_as(serve_req *r, char *origin, char *raw, size_t len, char *field,
                            char *reason, char *body)
{
    r->s->validation_rejects++;
    writer_job *rej = writer_job_new(WRITER_REJECT, NULL);
    serve_pending *p = serve_pending_new(r);
    if (!rej || !p || !body || !origin) {
        writer_job_free(rej);
        obligo_free(p);
        if (r->fhir)
            serve_reply_error(r, 400, reason ? reason : "invalid input", NULL);
        else
            serve_reply(r, 400, body ? body : "{\"error\":\"invalid event\"}", NULL);
        cJSON_free(body);
        obligo_free(origin);
        obligo_free(raw);
        obligo_free(field);
        obligo_free(reason);
        return;
    }
    p->body_400 = body;
    rej->origin = origin;
    rej->field = field;
    rej->reason = reason;
    rej->raws = obligo_calloc(1, sizeof *rej->raws);
    rej->lens = obligo_calloc(1, sizeof *rej->lens);
    if (rej->raws && rej->lens) {
        rej->raws[0] = raw;
        rej->lens[0] = len;
        rej->n = 1;
    } else {
        obligo_free(raw);
    }
    serve_submit(r, rej, p);
}

/* Keeps refused input (raw, len bytes) in the rejected table with the
 * origin "http PATH[index]", field (may be NULL) and reason, and answers
 * 400 {"error": reason, "index", "field"} once it is kept. Takes over raw,
 * field and reason. */
static void serve_keep_rejected(serve_req *r, int index, char *raw, size_t len, char *field,
                                char *reason)
{
    serve_keep_rejected_as(r, obligo_asprintf("http %s[%d]", r->req->path, index), raw, len, field,
                           reason,
                           serve_error_body(reason ? reason : "invalid event", index, field));
}

/* The index of the first raw event of the job whose source is a string
 * other than want, or -1 when none is. An event that is not JSON or has no
 * string source is left to engine_decode, which refuses it by its field. */
static int serve_foreign_source(const writer_job *j, const char *want)
{
    for (int i = 0; i < j->n; i++) {
        cJSON *ev = cJSON_ParseWithLength(j->raws[i], j->lens[i]);
        const char *src = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "source"));
        int foreign = src && strcmp(src, want) != 0;
        cJSON_Delete(ev);
        if (foreign)
            return i;
    }
    return -1;
}

/* Validates every event of the job, then submits it; or answers 400 for
 * the first bad one and keeps it in the rejected table. binary: the job's
 * one event came in binary mode, and an error names the header. Through
 * the console (r->source), an event from another source refuses the whole
 * request first, 403, and nothing of it is kept. */
static void serve_validate_and_submit(serve_req *r, writer_job *j, int n, int binary)
{
    serve *s = r->s;
    int foreign = r->source ? serve_foreign_source(j, r->source) : -1;
    if (foreign >= 0) {
        writer_job_free(j);
        char *msg = obligo_asprintf("een gebeurtenis vanuit de console moet als source %s "
                                    "hebben, die van het ingelogde token (GET /console/session)",
                                    r->source);
        char *body = msg ? serve_error_body(msg, foreign, binary ? "ce-source" : "source") : NULL;
        if (body)
            serve_reply(r, 403, body, NULL);
        else
            serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        cJSON_free(body);
        obligo_free(msg);
        return;
    }
    if (n == 0) {
        writer_job_free(j);
        serve_reply(r, 202, "{\"accepted\":0,\"duplicates\":0}", NULL);
        return;
    }
    j->events = obligo_calloc((size_t)n, sizeof(cJSON *));
    if (!j->events) {
        writer_job_free(j);
        serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        return;
    }
    /* Everything is validated before anything is written: a request is
     * accepted whole or not at all. */
    for (int i = 0; i < n; i++) {
        char *field = NULL, *reason = NULL;
        j->events[i] = engine_decode(s->e, j->raws[i], j->lens[i], &field, &reason);
        if (j->events[i])
            continue;
        if (binary) {
            char *mapped = ce_binary_field(field);
            obligo_free(field);
            field = mapped;
        }
        char *raw = j->raws[i];
        j->raws[i] = NULL; /* the bad event's bytes move to the reject job */
        serve_keep_rejected(r, i, raw, j->lens[i], field, reason);
        writer_job_free(j);
        return;
    }
    serve_pending *p = serve_pending_new(r);
    j->origin = obligo_asprintf("http %s", r->req->path);
    if (!p || !j->origin) {
        obligo_free(p);
        writer_job_free(j);
        serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
        return;
    }
    serve_submit(r, j, p);
}
