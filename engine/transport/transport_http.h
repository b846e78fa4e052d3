/*
 * transport_http.h — the HTTP/1.1 server on the libuv loop.
 *
 * Parsing is done by llhttp (Debian's node-llhttp sources). The server owns
 * connections and framing: keep-alive, pipelining (responses leave in request
 * order), limits on header size (431), body size (413), idle and slow clients
 * (timeouts), the number of open connections (in all and per client address)
 * and the bytes of request bodies held at once across all connections. What
 * a request means is the handler's business: the server hands it a complete
 * request and a response handle, and the handler answers now or later (for
 * example after a commit on another thread, by calling http_respond from the
 * loop thread). An optional head handler (http_server_on_head) sees each
 * request as soon as its head is in and may refuse it before a byte of its
 * body is read or buffered.
 *
 * Content-Encoding (RFC 9110 8.4) is the server's too: a body sent with
 * gzip (x-gzip) or deflate (zlib, or raw deflate as some clients send it)
 * is inflated once it is complete, before the handler sees it, with
 * max_body_bytes applied to the inflated size (413 as soon as inflating
 * would pass it: a compression bomb is never inflated past the limit) and
 * the inflated bytes counted against max_buffered_body_bytes (503 with
 * Retry-After when there is no room). A body that does not inflate gets 400
 * naming the encoding and zlib's reason; the handler never sees such a
 * request. identity is no encoding. Any other coding, or more than one
 * layered, gets 415 with "Accept-Encoding: gzip, deflate" once the head
 * is in (after the head handler let it pass), before a byte of the body
 * is read.
 *
 * All functions run on the loop thread.
 */
#ifndef OBLIGO_TRANSPORT_HTTP_H
#define OBLIGO_TRANSPORT_HTTP_H

#include <stddef.h>
#include <uv.h>

typedef struct http_server http_server;
typedef struct http_exchange http_exchange; /* one request awaiting its response */

/* One header line of a request: the name lower-cased, the value with the
 * blanks around it removed. Every header line is kept, in order, repeated
 * names included (a recipient that needs one value checks for more). The
 * server refuses a head with more than HTTP_MAX_HEADERS lines (431); their
 * bytes are bounded by max_header_bytes. */
typedef struct http_header {
    const char *name;
    const char *value;
} http_header;

#define HTTP_MAX_HEADERS 256

typedef struct http_request {
    const char *method;        /* "GET", "POST", ... */
    const char *path;          /* decoded path without the query, e.g. "/v1/events" */
    const char *query;         /* raw query string without '?', or "" */
    const char *content_type;  /* the media type, lower-cased, parameters removed; "" if none */
    const char *authorization; /* raw Authorization header value or "" */
    /* The Content-Type value as sent, parameters included
     * ("application/json; charset=utf-8"), or "". */
    const char *content_type_raw;
    const http_header *headers; /* every header line (nheaders), in order */
    int nheaders;
    /* The body, NUL-terminated (body_len bytes), after its Content-Encoding
     * was undone: a gzip or deflate body is handed on inflated. */
    const char *body;
    size_t body_len;
    /* "gzip" or "deflate" when the body was sent so (and is handed on
     * decoded), else "" (none, or identity). */
    const char *content_encoding;
    /* 1 when the client connected from 127.0.0.0/8 or ::1 and the request
     * carries no X-Forwarded-For, Forwarded or X-Real-IP header: a local
     * proxy speaking for a remote client is not a local client. */
    int peer_is_loopback;
    const char *peer; /* peer address as text, for logs */
} http_request;

/* The value of the first header line named name (lower-case, e.g.
 * "ce-id"), or NULL when there is none. http_header_count says how many
 * lines have that name. */
const char *http_header_find(const http_header *headers, int n, const char *name);
int http_header_count(const http_header *headers, int n, const char *name);
const char *http_request_header(const http_request *req, const char *name);

/* Called once per complete request. Everything in req is borrowed and valid
 * until http_respond is called for ex. The handler must call http_respond
 * exactly once, now or later; if the client disconnected meanwhile the
 * response is discarded. */
typedef void (*http_handler)(void *ud, const http_request *req, http_exchange *ex);

/* The head of a request, as soon as it is complete: what the head handler
 * decides on. Everything is borrowed for the duration of the call. */
typedef struct http_head {
    const char *method;           /* "GET", "POST", ... */
    const char *path;             /* decoded path without the query */
    const char *query;            /* raw query string without '?', or "" */
    const char *content_type;     /* as in http_request */
    const char *authorization;    /* raw Authorization header value or "" */
    const char *content_type_raw; /* as in http_request */
    const http_header *headers;   /* as in http_request */
    int nheaders;
    int has_length;                    /* a Content-Length was given ... */
    unsigned long long content_length; /* ... of this many bytes */
    int chunked;                       /* Transfer-Encoding: chunked */
    int peer_is_loopback;              /* as in http_request */
    const char *peer;
} http_head;

/* A head handler's refusal: a complete answer, filled in by the handler. */
typedef struct http_answer {
    int status;               /* 200..599 */
    const char *content_type; /* static text, or NULL */
    char body[512];           /* body_len bytes */
    size_t body_len;
    char headers[256]; /* "" or "Name: value\r\n" lines */
    int close;         /* end the connection after it even without a body */
} http_answer;

/* Called on the loop thread when a request's head is complete and valid,
 * before its body is read: returns 0 to let the request go on (its body is
 * then read, within the limits, and the request handed to the http_handler)
 * or non-zero after filling *ans, which the server sends in the request's
 * turn instead of calling the handler. A refused request that announced a
 * body ends the connection after the answer: its body is never read into
 * memory (the bytes the client still sends are thrown away while the
 * connection closes), and no 100 Continue is sent for it. A refused request
 * without a body keeps the connection open unless ans->close is set (for
 * example a 411: bytes that follow may be a body sent without framing). The handler must not call
 * into the server. */
typedef int (*http_head_handler)(void *ud, const http_head *head, http_answer *ans);

typedef struct http_limits {
    size_t max_header_bytes;     /* 0: 16 KiB -> 431 */
    size_t max_body_bytes;       /* 0: 16 MiB -> 413 */
    unsigned idle_timeout_ms;    /* keep-alive idle; 0: 60 s */
    unsigned request_timeout_ms; /* a request must be complete within; 0: 30 s */
    unsigned max_connections;    /* 0: 20,000; beyond it new ones get 503 and are closed */
    /* Bytes of request bodies held at once by all connections together:
     * bodies being read and bodies handed to the handler and not yet
     * answered. A body that does not fit waits (its connection is not read)
     * until others are released, at most body_wait_ms, then gets 503 with
     * Retry-After. 0: 256 MiB; at least max_body_bytes + 1 (a body and its
     * NUL) or raised to that. */
    size_t max_buffered_body_bytes;
    unsigned body_wait_ms; /* 0: 5 s */
    /* Open connections from one client address (IPv4, or IPv6 in full);
     * beyond it new ones get 429 and are closed. 0: 256. A loopback peer
     * is this machine — the TLS proxy, through which every remote client
     * arrives as 127.0.0.1, or a local tool — and counts only against
     * max_connections, unless per_client_loopback is set (tests). */
    unsigned max_connections_per_client;
    int per_client_loopback;
} http_limits;

/* What the server holds, for /metrics and tests. */
typedef struct http_server_stats {
    size_t buffered_body_bytes;      /* bytes held for bodies now */
    size_t buffered_body_bytes_peak; /* the most ever held at once */
    unsigned bodies_waiting;         /* connections waiting for room for a body */
    unsigned long body_wait_refused; /* 503s after waiting body_wait_ms */
    unsigned long client_refused;    /* connections refused by the per-client cap */
} http_server_stats;

/* Starts listening on host:port (IPv4 or IPv6 literal; host names are not
 * looked up). limits may be NULL. Returns 0 or a negative code of error.h,
 * libuv's mapped with error_from_uv (OBLIGO_EADDRINUSE when the port is
 * taken, OBLIGO_EINVAL for a host that is no address); on failure nothing
 * is left running but a listener handle closing on the loop's next turn,
 * and *out is untouched. When err is not NULL, *err is set to NULL or, on
 * failure, to a message for a person that the caller frees with
 * obligo_free: libuv's words (uv_strerror) for a failed libuv call, such
 * as "address already in use", to be put after the address the caller
 * names; NULL when memory ran out. */
int http_server_listen(uv_loop_t *loop, const char *host, int port, const http_limits *limits,
                       http_handler handler, void *ud, http_server **out, char **err);

/* http_server_listen without the message, for callers that need only the
 * code. */
int http_server_start(uv_loop_t *loop, const char *host, int port, const http_limits *limits,
                      http_handler handler, void *ud, http_server **out);

/* Installs a head handler (NULL: none, every request is read whole); it
 * gets the same ud as the handler. Call before the loop runs. */
void http_server_on_head(http_server *srv, http_head_handler on_head);

/* Fills *st with the server's figures. */
void http_server_stats_get(const http_server *srv, http_server_stats *st);

/* The port actually bound (useful with port 0). */
int http_server_port(const http_server *srv);

/* Answers one request. body is copied. extra_headers is NULL or a block of
 * "Name: value\r\n" lines. Takes ownership of nothing; ex is invalid after. */
void http_respond(http_exchange *ex, int status, const char *content_type, const char *body,
                  size_t body_len, const char *extra_headers);

/* Stops accepting; connections finish their in-flight requests, then close.
 * on_closed (may be NULL) is called once everything is closed and the server
 * freed. */
void http_server_stop(http_server *srv, void (*on_closed)(void *arg), void *arg);

/* Number of open connections. */
unsigned http_server_connections(const http_server *srv);

#endif
