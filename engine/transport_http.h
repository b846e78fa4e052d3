/*
 * transport_http.h — the HTTP/1.1 server on the libuv loop.
 *
 * Parsing is done by llhttp (Debian's node-llhttp sources). The server owns
 * connections and framing: keep-alive, pipelining (responses leave in request
 * order), limits on header size (431), body size (413), idle and slow clients
 * (timeouts) and the number of open connections. What a request means is the
 * handler's business: the server hands it a complete request and a response
 * handle, and the handler answers now or later (for example after a commit
 * on another thread, by calling http_respond from the loop thread).
 *
 * All functions run on the loop thread.
 */
#ifndef OBLIGO_TRANSPORT_HTTP_H
#define OBLIGO_TRANSPORT_HTTP_H

#include <stddef.h>
#include <uv.h>

typedef struct http_server http_server;
typedef struct http_exchange http_exchange; /* one request awaiting its response */

typedef struct http_request {
    const char *method;        /* "GET", "POST", ... */
    const char *path;          /* decoded path without the query, e.g. "/v1/events" */
    const char *query;         /* raw query string without '?', or "" */
    const char *content_type;  /* the media type, lower-cased, parameters removed; "" if none */
    const char *authorization; /* raw Authorization header value or "" */
    const char *body;          /* NUL-terminated copy of the body (body_len bytes) */
    size_t body_len;
    /* 1 when the client connected from 127.0.0.0/8 or ::1 and the request
     * carries no X-Forwarded-For, Forwarded or X-Real-IP header: a local
     * proxy speaking for a remote client is not a local client. */
    int peer_is_loopback;
    const char *peer; /* peer address as text, for logs */
} http_request;

/* Called once per complete request. Everything in req is borrowed and valid
 * until http_respond is called for ex. The handler must call http_respond
 * exactly once, now or later; if the client disconnected meanwhile the
 * response is discarded. */
typedef void (*http_handler)(void *ud, const http_request *req, http_exchange *ex);

typedef struct http_limits {
    size_t max_header_bytes;     /* 0: 16 KiB -> 431 */
    size_t max_body_bytes;       /* 0: 16 MiB -> 413 */
    unsigned idle_timeout_ms;    /* keep-alive idle; 0: 60 s */
    unsigned request_timeout_ms; /* a request must be complete within; 0: 30 s */
    unsigned max_connections;    /* 0: 20,000; beyond it new ones are closed */
} http_limits;

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
