/*
 * http_internal.h — what the files of the HTTP server share, and nothing
 * outside engine/transport/ includes: the connection, exchange and server
 * structs, the limits they are built around, and the functions one file of
 * the server calls in another.
 *
 * The server is one unit split by seam (transport_http.c holds the overview
 * of how a connection lives): transport_http.c is the core (listening,
 * accepting, each connection's state, timers, writing answers in order),
 * http_parse.c reads requests (llhttp's callbacks and the strict framing),
 * http_body.c finds room for request bodies under the server's cap and
 * counts connections per client address, http_inflate.c undoes a body's
 * Content-Encoding, http_response.c formats answers.
 *
 * The shared functions keep the names they had when the server was one
 * file: their prefix names the object they act on (conn_, body_, wait_,
 * client_, response_, dbuf_), not the file, because the four files are one
 * unit; they are declared here and nowhere else. Everything runs on the
 * loop thread.
 */
#ifndef OBLIGO_HTTP_INTERNAL_H
#define OBLIGO_HTTP_INTERNAL_H

#include "transport_http.h"

#include <llhttp.h>

#include <stddef.h>

#define HTTP_PIPELINE_MAX 64                  /* requests waiting per connection */
#define HTTP_WRITE_HIGH ((size_t)1024 * 1024) /* queued response bytes per connection */
#define HTTP_READ_BUF (64u * 1024u)
#define HTTP_CLIENT_BUCKETS 1024 /* hash buckets of the per-address counts */

/* Open connections from one client address. */
typedef struct client_count {
    struct client_count *next;
    unsigned char addr[16]; /* IPv6, or IPv4 as ::ffff:a.b.c.d */
    unsigned n;
} client_count;

typedef struct http_conn http_conn;

/* A growing byte buffer; cap > len always leaves room for a NUL. */
typedef struct dbuf {
    char *p;
    size_t len, cap;
} dbuf;

/* One write on the wire: the request, and the bytes it sends, in one heap
 * block freed by on_write. The Connection line is not stored: it goes
 * between the two parts when the response is sent, because only then is it
 * known whether this response is the connection's last (an answer may wait
 * behind earlier ones while the server is told to stop). */
typedef struct conn_write {
    uv_write_t req; /* first: on_write casts back from it */
    http_conn *conn;
    size_t total;    /* bytes handed to uv_write, for the backlog count */
    size_t head_len; /* status line, Content-Type, Content-Length */
    size_t rest_len; /* extra headers, the blank line, the body */
    char data[];     /* head_len bytes, then rest_len bytes */
} conn_write;

/* Where head_scan is in the head of the request being read. */
enum head_state {
    HEAD_START,   /* before the request line: llhttp skips empty lines there */
    HEAD_LINE,    /* in the request line or a header line */
    HEAD_LINE_CR, /* after a line's CR */
    HEAD_BOL,     /* at the start of a header line, or of the blank line */
    HEAD_BOL_CR,  /* after the CR of what must be the blank line */
    HEAD_DONE,    /* the head is complete: the body is not looked at */
};

enum timer_mode {
    TIMER_OFF,
    TIMER_IDLE,    /* keep-alive connection without a request */
    TIMER_REQUEST, /* a request has begun and must complete */
    TIMER_DRAIN,   /* last response queued; the client must read it */
    TIMER_LINGER,  /* last response sent; waiting for the client's close */
};

struct http_exchange {
    http_conn *conn;
    http_exchange *next;
    http_request req;
    conn_write *out; /* the answer; NULL until answered (or if it could not be built) */
    unsigned answered : 1;
    unsigned keep_alive : 1;
    unsigned http10 : 1;
    unsigned head : 1;
    char *target; /* "path\0query\0" */
    char *content_type;
    char *authorization;
    char *body;
    size_t body_reserved; /* counted in the server's buffered bytes */
    http_header *headers; /* one block: the array, then the names and values */
};

/* A body's Content-Encoding, as far as the server undoes it. */
enum body_coding {
    CODING_NONE, /* none given, or identity */
    CODING_GZIP,
    CODING_DEFLATE,
};

struct http_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_timer_t wait_timer; /* runs while the connection waits for room for a body */
    http_server *srv;
    http_conn *prev, *next; /* the server's list of connections not yet freed */
    unsigned refs;
    llhttp_t parser;
    dbuf in; /* read but not parsed yet: only while parsing is held back */

    /* The request being parsed. */
    dbuf url, field, value, body;
    size_t body_reserved; /* == body.cap: counted in the server's buffered bytes */
    size_t body_need;     /* while waiting: the capacity the body needs */
    char *content_type, *authorization;
    char *target;            /* "path\0query\0" once the head is complete */
    dbuf hdrs;               /* the header lines so far: "name\0value\0" each, name lower-cased */
    int nhdrs;               /* how many lines hdrs holds */
    http_header *headers;    /* once the head is complete: hdrs as an array (one block) */
    enum body_coding coding; /* the body's Content-Encoding, once the head is complete */
    conn_write *refusal;     /* the head handler's answer to a request without a body */
    conn_write *fail_write;  /* the head handler's answer that ends the connection */
    http_conn *wait_prev, *wait_next; /* the server's queue of waiting connections */
    client_count *client;             /* this connection's address count, or NULL */
    size_t header_bytes;
    int fail_status;         /* the answer when a parser callback refuses */
    const char *fail_reason; /* static text naming what is wrong, or NULL */
    enum head_state head_at; /* head_scan's state, reset when a request completes */
    http_exchange *ready;    /* completed by the parser, not yet handed over */

    /* Exchanges in request order; the head is the next to be written. */
    http_exchange *head, *tail;
    unsigned queued;
    unsigned writes;
    size_t write_bytes;

    enum timer_mode timer_mode;
    unsigned in_request : 1;
    unsigned headers_done : 1;
    unsigned expect_continue : 1;
    unsigned have_content_type : 1;
    unsigned have_authorization : 1;
    unsigned have_host : 1;
    unsigned have_version : 1; /* the request line named a version */
    unsigned forwarded : 1;    /* the request names a client behind a proxy */
    unsigned input_done : 1;   /* no further request will be read */
    unsigned reading : 1;
    unsigned parsing : 1;
    unsigned shutting : 1; /* last response queued, shutdown requested */
    unsigned closing : 1;  /* uv_close called */
    unsigned loopback : 1;
    unsigned chunked : 1;
    unsigned refused : 1;       /* the head handler refused the request being read */
    unsigned waiting : 1;       /* in the server's wait queue, llhttp paused */
    unsigned continue_owed : 1; /* a 100 Continue to send once admitted */
    unsigned have_addr : 1;
    unsigned char addr[16];
    char peer[64];
};

struct http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    http_limits limits;
    http_handler handler;
    http_head_handler on_head;
    void *ud;
    llhttp_settings_t settings; /* must outlive every parser, hence here */
    int port;
    unsigned open;      /* connections not closing: what max_connections counts */
    unsigned alive;     /* connections not yet freed */
    unsigned rejecting; /* refused sockets whose close is pending */
    http_conn *conns;
    /* Bodies: bytes held, the most ever held, and the connections waiting
     * for room in first-come order; admit_idle admits them. */
    size_t buffered, buffered_peak;
    http_conn *wait_head, *wait_tail;
    unsigned nwaiting;
    unsigned long wait_refused, client_refused;
    uv_idle_t admit_idle;
    client_count *clients[HTTP_CLIENT_BUCKETS];
    unsigned stopping : 1;
    unsigned listener_closed : 1;
    unsigned idle_open : 1; /* admit_idle initialised and not yet closed */
    void (*on_closed)(void *arg);
    void *on_closed_arg;
    /* One read buffer for all connections: reads are delivered one at a
     * time on the loop thread, and bytes that must wait are copied out. */
    char rbuf[HTTP_READ_BUF];
};

/* ---- transport_http.c: buffers, timers, exchanges, the connection ----- */

int dbuf_append(dbuf *b, const char *data, size_t n);
void dbuf_free(dbuf *b);
void dbuf_trim(dbuf *b);
void timer_set(http_conn *c, enum timer_mode mode, unsigned ms);
http_exchange *exchange_new(http_conn *c);
void queue_push(http_conn *c, http_exchange *ex);
void conn_send_raw(http_conn *c, const char *text);
void conn_flush(http_conn *c);
void conn_update(http_conn *c);
void request_reset(http_conn *c);
void conn_fail(http_conn *c, int status, const char *why);
void conn_fail_write(http_conn *c, conn_write *w);
void conn_close(http_conn *c);
void conn_pump(http_conn *c);

/* ---- http_parse.c: requests from bytes -------------------------------- */

size_t conn_parse(http_conn *c, const char *data, size_t len);
void parse_settings_init(llhttp_settings_t *s);

/* ---- http_body.c: room for bodies, connections per client ------------- */

void body_unreserve(http_server *srv, size_t n);
int body_reserve(http_conn *c, size_t need);
void body_release(http_conn *c);
void wait_enqueue(http_conn *c, size_t need);
void wait_remove(http_conn *c);
int client_admit(http_conn *c);
void client_leave(http_conn *c);

/* Takes n bytes of the server's budget for bodies: 0, or 1 when there is
 * no room (nothing taken). body_unreserve gives them back. */
int budget_take(http_server *srv, size_t n);

/* ---- http_inflate.c: a body's Content-Encoding undone ----------------- */

/* Replaces c's complete body by its inflated bytes (coding is CODING_GZIP
 * or CODING_DEFLATE), within max_body_bytes and the server's budget.
 * Returns 0, or the status to answer (400 not of its coding, 413 inflates
 * past max_body_bytes, 503 no room or no memory) with *why set to a
 * message the caller frees (NULL when memory ran out); c's body is then
 * left as it was. */
int body_inflate(http_conn *c, enum body_coding coding, char **why);

/* ---- http_response.c: answers as bytes -------------------------------- */

conn_write *response_build(int status, const char *content_type, const char *body, size_t body_len,
                           const char *extra, int head_only);
conn_write *response_error(int status, const char *why);
/* The same with extra header lines (NULL: as response_error). why is text
 * that needs no JSON escaping. */
conn_write *response_error_with(int status, const char *why, const char *extra);

#endif
