/*
 * serve_internal.h — what the files of the daemon share (serve.c and the
 * serve_*.c beside it): the serve struct the loop thread owns, a request
 * waiting for its answer, and the functions each file offers the others.
 * Not for use outside engine/daemon/serve*.c; the daemon's entry is serve.h.
 *
 * Every function here runs on the loop thread unless it says otherwise.
 */
#ifndef OBLIGO_SERVE_INTERNAL_H
#define OBLIGO_SERVE_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "clock.h"
#include "config.h"
#include "console_session.h"
#include "engine.h"
#include "plugins.h"
#include "reader.h"
#include "store.h"
#include "tokens.h"
#include "transport_http.h"
#include "writer.h"

/* The 415 message of POST /v1/events (serve_head and serve_post_events). */
#define SERVE_EVENTS_MEDIA                                                                         \
    "use application/cloudevents+json, application/cloudevents-batch+json or "                     \
    "application/x-ndjson, or a binary-mode CloudEvent (ce-specversion and the other ce-* "        \
    "headers)"

/* On every answer under /console/ (serve_console.c): no script or style
 * but the console's own files, never in a frame, no sniffing, no
 * Referer. */
#define SERVE_CONSOLE_HEADERS                                                                      \
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; "           \
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'\r\n"        \
    "X-Frame-Options: DENY\r\nX-Content-Type-Options: nosniff\r\n"                                 \
    "Referrer-Policy: no-referrer\r\n"

/* The outbox thread: hands committed alerts to their sinks (plugin sinks
 * such as the webhook may take seconds) with its own database connection,
 * woken after each commit and at least every second for retries. */
typedef struct serve_deliverer {
    uv_thread_t thread;
    uv_mutex_t lock;
    uv_cond_t wake;
    int pending, stopping, running;
    store st;
    const config *cfg;
    const plugins *plugins;
} serve_deliverer;

typedef struct serve {
    uv_loop_t loop;
    uv_timer_t deadline;
    uv_signal_t sigterm, sigint, sighup;
    http_server *http;
    writer *w;
    engine *e;            /* borrowed; belongs to the writer thread while it runs */
    store rd;             /* read-only connection for this thread: token checks */
    reader_pool *readers; /* the GETs that read the database (reader.h) */
    tokens_cache tokens;  /* the tokens table as of at most a second ago */
    const config *cfg;    /* borrowed */
    obligo_time started;
    int stopping, fire_pending;
    unsigned long responses[6]; /* by status class: 1xx..5xx */
    FILE *access;               /* the access log: stderr, fully buffered */
    int access_dirty;
    uv_check_t flush; /* writes the access log out once per loop turn */
    unsigned long validation_rejects;
    serve_deliverer out;
    /* Rule files are watched (inotify through libuv); a change reloads the
     * rules once things have been quiet for half a second. */
    uv_fs_event_t **watches;
    int nwatches;
    uv_timer_t debounce;
    int watching;
    /* The reload gate runs on a thread of its own (serve_reload_start),
     * which wakes the loop through reload_done when it ends. */
    uv_async_t reload_done;
    atomic_int reload_cancel;           /* set when stopping: the gate ends early */
    struct serve_reload *reloading;     /* the run under way, or NULL */
    struct serve_pending **reload_next; /* requests the next run answers */
    int nreload_next;
    int reload_again; /* a reload was asked for during the run under way */
    /* POST /v1/replay runs on a thread of its own (serve_replay.c), which
     * wakes the loop through replay_done when it ends; one at a time. */
    uv_async_t replay_done;
    atomic_int replay_cancel;       /* set when stopping: the replay ends early */
    struct serve_replay *replaying; /* the replay under way, or NULL */
    unsigned long replays;          /* replays answered 200, for /metrics */
    /* The published contract (serve_contract.c): the base of its URLs
     * (public_url, or http://HOST:PORT), and the OpenAPI document once it
     * was asked for (the catalogue cannot change while serve runs). */
    char *contract_base;
    char *openapi;
    size_t openapi_len;
    console_sessions sessions; /* the console's sign-ins (serve_console.c) */
    /* GET /v1/rules (serve_rules.c): the set in force as ruleinfo.h
     * describes it (with its coverage once a gate run computed it), its
     * files {path: text}, when it went live, and the last reload's
     * outcome (NULL: none yet). */
    cJSON *rules_now, *rules_files, *last_reload;
    char rules_loaded_at[CLOCK_RFC3339_LEN];
} serve;

/* A request whose answer waits for the writer. */
typedef struct serve_pending {
    serve *s;
    http_exchange *ex;
    char method[8];
    const char *route; /* static: the route, never a path with identifiers */
    char peer[64];
    uint64_t t0;
    char *body_400; /* WRITER_REJECT: the 400 answer to give once the input is kept */
    int fhir;       /* under /v1/fhir: answers are FHIR's (serve_fhir.c) */
    struct serve_fhir_answer *fhir_answer; /* WRITER_EVENTS under /v1/fhir, owned */
    int console; /* under /console/: answers carry SERVE_CONSOLE_HEADERS */
} serve_pending;

typedef struct serve_req {
    serve *s;
    const http_request *req;
    http_exchange *ex;
    const char *route;
    uint64_t t0;
    int fhir;    /* under /v1/fhir with a FHIR adapter loaded: errors are OperationOutcomes */
    int console; /* under /console/: answers carry SERVE_CONSOLE_HEADERS */
    /* /console/api/v1/...: the session's source, which every event posted
     * must carry (borrowed while the request is handled); NULL otherwise */
    const char *source;
} serve_req;

/* ---- serve.c: answers, the access log and the writer ---------------------- */

/* Counts the answer by status class and writes its access-log line (the
 * route, never the path). */
void serve_log(serve *s, const char *peer, const char *method, const char *route, int status,
               size_t bytes, uint64_t t0);
/* Answers ex with the JSON body (borrowed) and logs it. */
void serve_send(serve *s, http_exchange *ex, const char *peer, const char *method,
                const char *route, uint64_t t0, int status, const char *body, const char *extra);
/* serve_send for a pending answer: under /console/ with
 * SERVE_CONSOLE_HEADERS before extra (may be NULL). */
void serve_pending_send(serve *s, const serve_pending *p, int status, const char *body,
                        const char *extra);
/* {"error": message}, with index and field when index >= 0. The caller
 * frees it with cJSON_free; NULL when memory ran out. */
char *serve_error_body(const char *message, int index, const char *field);
void serve_reply(serve_req *r, int status, const char *body, const char *extra);
void serve_reply_error(serve_req *r, int status, const char *message, const char *extra);
/* A pending answer for the request (the caller owns it), or NULL. */
serve_pending *serve_pending_new(serve_req *r);
/* Frees p and what it holds; NULL is fine. */
void serve_pending_free(serve_pending *p);
/* Hands j (taken over) to the writer; p (taken over) is answered when it is
 * done. Answers 413 or 503 itself when the writer cannot take it. */
void serve_submit(serve_req *r, writer_job *j, serve_pending *p);

/* ---- serve_routes.c: the transport's handlers ----------------------------- */

/* At the end of a request's head: 1 after refusing it (ans filled), else 0. */
int serve_head(void *ud, const http_head *h, http_answer *ans);
/* A complete request: routed, authorised and handled. */
void serve_handle(void *ud, const http_request *req, http_exchange *ex);

/* ---- serve_events.c: POST /v1/events and the input adapters ---------------- */

void serve_post_events(serve_req *r);
void serve_post_adapter(serve_req *r, const plugins_adapter *a);
/* Appends one raw event to the job (raw taken over, freed on failure);
 * *cap is the job's room. 0 or -1. */
int serve_push(writer_job *j, int *cap, char *raw, size_t len);
/* An obligo_emit_fn: ctx is {job, &cap}. */
int serve_emit(void *ctx, const char *event_json, size_t len);
/* Keeps refused input in the rejected table with origin, field (may be
 * NULL) and reason, and answers 400 with body (a complete answer in the
 * request's format) once it is kept. Takes over everything. */
void serve_keep_rejected_as(serve_req *r, char *origin, char *raw, size_t len, char *field,
                            char *reason, char *body);

/* ---- serve_fhir.c: the FHIR RESTful API under /v1/fhir ---------------------- */

#define SERVE_FHIR_BASE "/v1/fhir"
#define SERVE_FHIR_MEDIA "application/fhir+json"
#define SERVE_FHIR_NOT_FOUND                                                                       \
    "no such resource: this FHIR server takes POST /v1/fhir/AuditEvent (create), POST /v1/fhir "   \
    "(a batch or transaction Bundle) and GET /v1/fhir/metadata"

/* What the answer to a FHIR request needs once its events are committed. */
typedef struct serve_fhir_answer serve_fhir_answer;
void serve_fhir_answer_free(serve_fhir_answer *a);

/* 1 when path is /v1/fhir or below it. */
int serve_fhir_path(const char *path);
/* 1 when a is a FHIR adapter (application/fhir+json at /v1/fhir/<Type>). */
int serve_fhir_adapter_is(const plugins_adapter *a);
/* 1 when a FHIR adapter is loaded: /v1/fhir then speaks FHIR. */
int serve_fhir_on(const serve *s);
/* The FHIR issue type for an HTTP status. */
const char *serve_fhir_issue_code(int status);
/* An OperationOutcome with one issue (expression may be NULL), as text
 * (cJSON_free), or NULL when memory ran out. */
char *serve_fhir_outcome(const char *severity, const char *code, const char *diagnostics,
                         const char *expression);
/* Answers r with an OperationOutcome for status. */
void serve_fhir_reply_error(serve_req *r, int status, const char *message, const char *extra);
/* POST /v1/fhir/<Type>: a FHIR create (or a Bundle of that type). */
void serve_fhir_create(serve_req *r, const plugins_adapter *a);
/* POST /v1/fhir: a batch or transaction Bundle. */
void serve_fhir_post_base(serve_req *r);
/* GET /v1/fhir/metadata: the CapabilityStatement. */
void serve_fhir_metadata(serve_req *r);
/* A WRITER_EVENTS job of a FHIR request is done: answers p (not freed). */
void serve_fhir_done(serve *s, serve_pending *p, writer_job *j);

/* ---- serve_reads.c: the GETs, run on the reader threads -------------------- */

void serve_get_event(serve_req *r, const char *rest);
void serve_get_obligations(serve_req *r);
void serve_get_alerts(serve_req *r);
/* GET /v1/rejected?since=&after=&limit=: the refused input (dead letters). */
void serve_get_rejected(serve_req *r);
void serve_get_register(serve_req *r, const char *name);
/* GET /v1/breaches/{key} (the breach's record) and /v1/breaches/{key}/ap-form
 * (its AP notification form, ?format=csv); rest is the path after
 * /v1/breaches/. */
void serve_get_breach(serve_req *r, const char *rest);
/* The value of name in a query string, decoded into buf (n bytes); NULL
 * when absent. Any thread. */
const char *serve_query(const char *q, const char *name, char *buf, size_t n);
/* The reader pool's done callback: writes the answer out. */
void serve_on_read(reader_job *job, void *ud);

/* ---- serve_contract.c: the OpenAPI document and the schemas -------------- */

/* GET /v1/openapi.json: the embedded document with the catalogue's event
 * schemas put into its components. */
void serve_get_openapi(serve_req *r);
/* GET /v1/schemas: every event type with its schema's URL and plugin. */
void serve_get_schemas(serve_req *r);
/* GET /v1/schemas/{type}: the JSON Schema of a CloudEvent of that type. */
void serve_get_schema(serve_req *r, const char *type);
/* Sets s->contract_base for a server listening on host:port: 0, or
 * OBLIGO_ENOMEM. */
int serve_contract_start(serve *s, const char *host, int port);
/* Frees what the contract holds. */
void serve_contract_free(serve *s);

/* ---- serve_console.c: the web console under /console/ ---------------------- */

/* GET /console/... (the files) and /console/session (sign in, out);
 * rest is the path after "/console". */
void serve_console(serve_req *r, const char *rest);
/* The session check of /console/api/...: 0 with *session (valid until the
 * store next changes: while this request is handled), or the status to
 * answer with *message (static, Dutch). */
int serve_console_auth(serve *s, const http_request *req, const console_session **session,
                       const char **message);

/* ---- serve_rules.c: GET /v1/rules and /v1/rules/source ----------------- */

/* Describes the set the server starts with (before the writer runs). */
void serve_rules_start(serve *s);
/* The start-up survey's description (taken over; may be NULL): kept when
 * it is of the set in force. */
void serve_rules_surveyed(serve *s, cJSON *info);
/* A reload ended (ok: the new set is live). message is what the reload
 * answered, refusal the gate's own reason (may be NULL); *info and *files
 * are the new set's, taken over when it went live. */
void serve_rules_reloaded(serve *s, int ok, const char *message, const char *refusal, cJSON **info,
                          cJSON **files);
void serve_rules_free(serve *s);
void serve_get_rules(serve_req *r);
void serve_get_rule_source(serve_req *r);

/* ---- serve_reload.c: reloading the rules ---------------------------------- */

/* Runs the gate once over the rule files in the background to learn the
 * running set's test coverage (serve_rules_surveyed); nothing goes live. */
void serve_reload_survey(serve *s);

/* A reload asked for by a rule file, SIGHUP or a request p (NULL for none;
 * taken over, answered with the outcome). */
void serve_reload_request(serve *s, serve_pending *p);
/* reload_done's callback: the gate's thread has finished. */
void serve_on_reload_done(uv_async_t *a);
/* The writer put a WRITER_RELOAD job into effect: answer its requests. */
void serve_reload_done(serve *s, writer_job *j);

/* ---- serve_replay.c: POST /v1/replay ---------------------------------------- */

/* Starts a replay of the journal with the candidate rules in the body (or
 * answers 409 while one runs). */
void serve_post_replay(serve_req *r);
/* replay_done's callback: the replay's thread has finished; answers. */
void serve_on_replay_done(uv_async_t *a);

/* ---- serve_watch.c: watching the rule files -------------------------------- */

/* Watches dir and the folders below it (to a depth of 8). */
void serve_watch_dir(serve *s, const char *dir, int depth);
void serve_watch_stop(serve *s);

/* ---- serve_deliver.c: the outbox thread ------------------------------------ */

/* Starts the outbox thread: 0, or a negative code already said on stderr. */
int serve_deliverer_start(serve *s);
/* Lets the thread make its last pass and joins it. */
void serve_deliverer_stop(serve *s);
/* Writer thread: a commit happened (writer_on_commit). */
void serve_committed(void *ud);

#endif
