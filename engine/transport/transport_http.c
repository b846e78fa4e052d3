/*
 * transport_http.c — the HTTP/1.1 server of transport_http.h.
 *
 * Role in the pipeline: the "transport" stage in front of decode. It turns
 * bytes on TCP connections into complete requests for one handler and puts
 * the handler's answers back on the wire in request order. What a request
 * means is not its business.
 *
 * Depends on: libuv (TCP, timers; everything runs on the loop thread),
 * llhttp (Debian's node-llhttp sources, compiled from /usr/share/llhttp, not
 * copied), alloc.h for all memory and error.h for return codes.
 *
 * How a connection lives:
 *   - Bytes are parsed as they arrive. llhttp is paused at the end of every
 *     request so that the handler is called outside the parser: a handler may
 *     then answer, stop the server or close things without re-entering it.
 *   - Each complete request becomes an http_exchange queued on its
 *     connection. Answers are written when every earlier one has been, so
 *     pipelined responses leave in request order. When HTTP_PIPELINE_MAX
 *     requests wait, or HTTP_WRITE_HIGH bytes are queued for a client that
 *     does not read, parsing stops; the unparsed bytes are kept and parsed
 *     once the queue drains.
 *   - The last response (Connection: close, an error, server stop) is followed
 *     by a shutdown of our sending side and a short "lingering" read that
 *     throws input away until the client closes. Closing a socket that still
 *     has unread input makes the kernel send a reset, which can destroy the
 *     response before the client reads it (a 413 for an upload still in
 *     flight, for example).
 *   - End of input from the client closes the connection at once, as Node
 *     does: HTTP clients rarely half-close, and a client that has gone
 *     should not keep a slot. Answers still owed are then discarded.
 *   - Framing is strict (RFC 9112): llhttp is built in its strict mode with
 *     every leniency off, and what it still takes is refused here: obs-fold
 *     continuation lines (head_scan), a request line without a version
 *     (HTTP/0.9), an empty header name, and an HTTP/1.1 request without
 *     exactly one valid Host. A header the server does not recognise
 *     because of such a trick ("X-Forwarded-For : ...") could otherwise
 *     make a proxied request look local. Each gets 400 naming the problem,
 *     and the connection is closed: after a framing error the bytes that
 *     follow cannot be trusted to start a request.
 *   - Refusing before reading: when the head of a request is complete, the
 *     head handler (if any) decides whether it may go on (route, token,
 *     role, media type). A refusal of a request that announced a body is
 *     answered at once and ends the connection: the body is never read into
 *     memory and no 100 Continue is sent. So is a Content-Length over
 *     max_body_bytes.
 *   - Bounded memory: every byte of capacity held for request bodies, from
 *     the moment it is reserved until the request is answered (or dropped),
 *     counts against the server's max_buffered_body_bytes. A Content-Length
 *     body is reserved whole at its head, a chunked one chunk by chunk. A
 *     reservation that does not fit makes the connection wait: llhttp is
 *     paused, reading stops, and the connection joins a first-come queue
 *     that is admitted as memory is released (from an idle callback, never
 *     from inside another connection's parsing or writing, so answers keep
 *     their order), or answered 503 with Retry-After after body_wait_ms.
 *     Each connection holds besides at most its head (max_header_bytes) and
 *     one read's worth of input not yet parsed (HTTP_READ_BUF).
 *   - Memory: a connection holds one reference per open libuv handle (tcp
 *     and two timers, released in their close callbacks, the libuv rule) and one
 *     per exchange not yet freed. It is freed when the count reaches zero,
 *     so an exchange stays valid for its handler after the client has gone.
 *     The server is freed when it is stopping, its listener is closed and no
 *     connection or refused socket remains.
 */
#include "transport_http.h"

#include "alloc.h"
#include "error.h"

#include <llhttp.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HTTP_BACKLOG 1024
#define HTTP_PIPELINE_MAX 64                  /* requests waiting per connection */
#define HTTP_WRITE_HIGH ((size_t)1024 * 1024) /* queued response bytes per connection */
#define HTTP_LINGER_MS 2000                   /* how long to wait for the client's close */
#define HTTP_READ_BUF (64u * 1024u)

#define DEFAULT_MAX_HEADER_BYTES ((size_t)16 * 1024)
#define DEFAULT_MAX_BODY_BYTES ((size_t)16 * 1024 * 1024)
#define DEFAULT_IDLE_TIMEOUT_MS 60000u
#define DEFAULT_REQUEST_TIMEOUT_MS 30000u
#define DEFAULT_MAX_CONNECTIONS 20000u
#define DEFAULT_MAX_BUFFERED_BODY_BYTES ((size_t)256 * 1024 * 1024)
#define DEFAULT_BODY_WAIT_MS 5000u
#define DEFAULT_MAX_CONNECTIONS_PER_CLIENT 256u
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
    char *target;                     /* "path\0query\0" once the head is complete */
    conn_write *refusal;              /* the head handler's answer to a request without a body */
    conn_write *fail_write;           /* the head handler's answer that ends the connection */
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

static void conn_close(http_conn *c);
static void conn_fail(http_conn *c, int status, const char *why);
static void conn_fail_write(http_conn *c, conn_write *w);
static void conn_update(http_conn *c);
static void conn_pump(http_conn *c);
static void on_admit_idle(uv_idle_t *h);
static void body_unreserve(http_server *srv, size_t n);

/* ---- small helpers ---------------------------------------------------- */

static int dbuf_reserve(dbuf *b, size_t extra)
{
    if (extra >= SIZE_MAX - b->len)
        return OBLIGO_ENOMEM;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = obligo_realloc(b->p, cap);
    if (!p)
        return OBLIGO_ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int dbuf_append(dbuf *b, const char *data, size_t n)
{
    if (dbuf_reserve(b, n) < 0)
        return OBLIGO_ENOMEM;
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static void dbuf_free(dbuf *b)
{
    obligo_free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* Between requests: a buffer grown by one large request is given back, so
 * thousands of idle keep-alive connections stay small. */
static void dbuf_trim(dbuf *b)
{
    if (b->cap > 1024)
        dbuf_free(b);
    else
        b->len = 0;
}

static int is_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Splits a request target into its percent-decoded path and its raw query,
 * stored as "path\0query\0" in one new block (*out, owned by the caller).
 * The absolute form ("http://host/p") is accepted as RFC 9112 requires and
 * the fragment, which clients should not send, is dropped. Returns 0,
 * OBLIGO_EINVAL for a broken escape or an encoded NUL (a path with a NUL
 * cannot be handed on as a C string without changing its meaning), or
 * OBLIGO_ENOMEM. */
static int target_split(const char *url, size_t len, char **out)
{
    const char *end = url + len;
    const char *hash = memchr(url, '#', len);
    if (hash)
        end = hash;
    const char *p = url;
    size_t n = (size_t)(end - p);
    size_t skip = 0;
    if (n >= 7 && strncasecmp(p, "http://", 7) == 0)
        skip = 7;
    else if (n >= 8 && strncasecmp(p, "https://", 8) == 0)
        skip = 8;
    int absolute = skip > 0;
    if (absolute) {
        p += skip;
        while (p < end && *p != '/' && *p != '?')
            p++;
    }
    const char *q = memchr(p, '?', (size_t)(end - p));
    const char *path_end = q ? q : end;

    char *block = obligo_malloc((size_t)(end - p) + 3);
    if (!block)
        return OBLIGO_ENOMEM;
    char *w = block;
    if (absolute && (p == path_end || *p != '/'))
        *w++ = '/';
    for (const char *s = p; s < path_end; s++) {
        if (*s != '%') {
            *w++ = *s;
            continue;
        }
        int hi = s + 2 < path_end ? hex_value(s[1]) : -1;
        int lo = hi >= 0 ? hex_value(s[2]) : -1;
        if (lo < 0 || (hi == 0 && lo == 0)) {
            obligo_free(block);
            return OBLIGO_EINVAL;
        }
        *w++ = (char)(hi * 16 + lo);
        s += 2;
    }
    *w++ = '\0';
    if (q) {
        memcpy(w, q + 1, (size_t)(end - q - 1));
        w += end - q - 1;
    }
    *w = '\0';
    *out = block;
    return 0;
}

/* "Application/JSON; charset=utf-8" -> "application/json"; new string or NULL. */
static char *media_type(const char *v, size_t n)
{
    size_t i = 0;
    while (i < n && is_ows(v[i]))
        i++;
    size_t j = i;
    while (j < n && v[j] != ';')
        j++;
    while (j > i && is_ows(v[j - 1]))
        j--;
    char *s = obligo_strndup(v + i, j - i);
    for (char *t = s; t && *t; t++)
        if (*t >= 'A' && *t <= 'Z')
            *t = (char)(*t - 'A' + 'a');
    return s;
}

static int addr_is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        static const unsigned char loop6[16] = {[15] = 1};
        static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
        const unsigned char *b = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
        if (memcmp(b, loop6, sizeof loop6) == 0)
            return 1;
        /* An IPv4 client of a dual-stack listener appears as ::ffff:a.b.c.d. */
        return memcmp(b, mapped, sizeof mapped) == 0 && b[12] == 127;
    }
    return 0;
}

static void peer_describe(http_conn *c)
{
    struct sockaddr_storage ss;
    int len = (int)sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "?";
    snprintf(c->peer, sizeof c->peer, "?");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    c->loopback = addr_is_loopback(&ss) ? 1 : 0;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        /* kept as ::ffff:a.b.c.d, the form a dual-stack listener reports */
        memset(c->addr, 0, 10);
        c->addr[10] = c->addr[11] = 0xff;
        memcpy(c->addr + 12, &a->sin_addr, 4);
        c->have_addr = 1;
        uv_ip4_name(a, ip, sizeof ip);
        snprintf(c->peer, sizeof c->peer, "%s:%u", ip, (unsigned)ntohs(a->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        memcpy(c->addr, &a->sin6_addr, 16);
        c->have_addr = 1;
        uv_ip6_name(a, ip, sizeof ip);
        snprintf(c->peer, sizeof c->peer, "[%s]:%u", ip, (unsigned)ntohs(a->sin6_port));
    }
}

static const struct {
    int status;
    const char *reason;
} status_reasons[] = {
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Content"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
    {507, "Insufficient Storage"},
};

static const char *status_reason(int status)
{
    for (size_t i = 0; i < sizeof status_reasons / sizeof status_reasons[0]; i++)
        if (status_reasons[i].status == status)
            return status_reasons[i].reason;
    /* A reason phrase is decoration (RFC 9112 says clients ignore it), so
     * an unlisted code gets the name of its class. */
    switch (status / 100) {
    case 2:
        return "Success";
    case 3:
        return "Redirection";
    case 4:
        return "Client Error";
    default:
        return "Server Error";
    }
}

/* Formats an answer. Returns the write (owned by the caller) or NULL when
 * memory ran out. Status codes outside 200..599 become 500: an interim (1xx)
 * answer would leave the client waiting for a final one that never comes. */
static conn_write *response_build(int status, const char *content_type, const char *body,
                                  size_t body_len, const char *extra, int head_only)
{
    if (status < 200 || status > 599)
        status = 500;
    if (!body)
        body_len = 0;
    if (body_len > UINT_MAX / 2) {
        /* uv_buf_t lengths are unsigned int; a body this size is a bug. */
        status = 500;
        body = NULL;
        body_len = 0;
    }
    /* RFC 9110: no Content-Length and no body with 204 and 304; a HEAD answer
     * carries the length a GET would have, but not the body. */
    int bodyless = status == 204 || status == 304;
    size_t send_len = (bodyless || head_only) ? 0 : body_len;
    /* A value with a line break would let the handler's data forge headers. */
    const char *ct =
        (content_type && *content_type && !strpbrk(content_type, "\r\n")) ? content_type : NULL;
    const char *ex = extra ? extra : "";
    size_t ex_len = strlen(ex);
    int ex_crlf = ex_len > 0 && !(ex_len >= 2 && ex[ex_len - 2] == '\r' && ex[ex_len - 1] == '\n');
    char length[48] = "";
    if (!bodyless)
        snprintf(length, sizeof length, "Content-Length: %zu\r\n", body_len);

    int head = snprintf(NULL, 0, "HTTP/1.1 %d %s\r\n%s%s%s%s", status, status_reason(status),
                        ct ? "Content-Type: " : "", ct ? ct : "", ct ? "\r\n" : "", length);
    if (head < 0)
        return NULL;
    size_t rest = ex_len + (ex_crlf ? 2 : 0) + 2 + send_len;
    conn_write *w = obligo_malloc(sizeof *w + (size_t)head + 1 + rest);
    if (!w)
        return NULL;
    snprintf(w->data, (size_t)head + 1, "HTTP/1.1 %d %s\r\n%s%s%s%s", status, status_reason(status),
             ct ? "Content-Type: " : "", ct ? ct : "", ct ? "\r\n" : "", length);
    char *r = w->data + head;
    memcpy(r, ex, ex_len);
    r += ex_len;
    if (ex_crlf) {
        memcpy(r, "\r\n", 2);
        r += 2;
    }
    memcpy(r, "\r\n", 2);
    r += 2;
    if (send_len)
        memcpy(r, body, send_len);
    w->head_len = (size_t)head;
    w->rest_len = rest;
    return w;
}

/* The answer the server gives on its own (limits, malformed input): the
 * project's {"error": text} with why (static text of this file, nothing
 * the client sent, so it needs no escaping) or the reason phrase. */
static conn_write *response_error(int status, const char *why)
{
    char body[256];
    int n = snprintf(body, sizeof body, "{\"error\":\"%s\"}", why ? why : status_reason(status));
    if (n < 0 || (size_t)n >= sizeof body)
        n = snprintf(body, sizeof body, "{\"error\":\"%s\"}", status_reason(status));
    /* A 503 of the server's own is about load (memory, room for a body):
     * worth trying again soon. */
    return response_build(status, "application/json", body, (size_t)n,
                          status == 503 ? "Retry-After: 1\r\n" : NULL, 0);
}

/* ---- timers ----------------------------------------------------------- */

static void on_timer(uv_timer_t *t);

static void timer_set(http_conn *c, enum timer_mode mode, unsigned ms)
{
    c->timer_mode = mode;
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void timer_off(http_conn *c)
{
    c->timer_mode = TIMER_OFF;
    uv_timer_stop(&c->timer);
}

static void on_timer(uv_timer_t *t)
{
    http_conn *c = t->data;
    enum timer_mode mode = c->timer_mode;
    c->timer_mode = TIMER_OFF;
    switch (mode) {
    case TIMER_REQUEST:
        /* Covers a slow client too: the clock runs from the request's first
         * byte, not from the last one received. */
        if (c->in_request)
            conn_fail(c, 408, NULL);
        conn_update(c);
        break;
    case TIMER_IDLE:
    case TIMER_DRAIN:
    case TIMER_LINGER:
        conn_close(c);
        break;
    case TIMER_OFF:
        break;
    }
}

/* ---- room for bodies -------------------------------------------------- */

/* Gives n bytes back to the server's budget; waiting connections are
 * looked at from admit_idle, on the loop's next turn, so that no
 * connection is parsed from inside another one's callbacks. */
static void body_unreserve(http_server *srv, size_t n)
{
    srv->buffered -= n;
    if (srv->wait_head && srv->idle_open && !srv->stopping)
        uv_idle_start(&srv->admit_idle, on_admit_idle);
}

/* Grows c's body buffer to hold need bytes (its NUL included) if the
 * server's budget has room. Returns 0 when it holds them, 1 when there is
 * no room now, or OBLIGO_ENOMEM. A chunked body is given room to double, up
 * to the body limit, so that many small chunks do not mean many copies; the
 * room counts as held. */
static int body_reserve(http_conn *c, size_t need)
{
    http_server *srv = c->srv;
    if (need <= c->body.cap)
        return 0;
    size_t room = srv->limits.max_buffered_body_bytes - srv->buffered;
    size_t cap = need;
    if (c->chunked && c->body.cap <= SIZE_MAX / 2) {
        size_t more = c->body.cap * 2, top = srv->limits.max_body_bytes + 1;
        if (more > top)
            more = top;
        if (more > cap && more - c->body_reserved <= room)
            cap = more;
    }
    if (cap - c->body_reserved > room)
        return 1;
    char *p = obligo_realloc(c->body.p, cap);
    if (!p)
        return OBLIGO_ENOMEM;
    c->body.p = p;
    srv->buffered += cap - c->body_reserved;
    if (srv->buffered > srv->buffered_peak)
        srv->buffered_peak = srv->buffered;
    c->body.cap = c->body_reserved = cap;
    return 0;
}

/* Frees c's body buffer and gives its room back. */
static void body_release(http_conn *c)
{
    size_t n = c->body_reserved;
    c->body_reserved = 0;
    dbuf_free(&c->body);
    if (n)
        body_unreserve(c->srv, n);
}

static void on_wait_timer(uv_timer_t *t);

/* Puts c at the end of the queue for need bytes; llhttp is paused by the
 * caller and reading stops (conn_update). */
static void wait_enqueue(http_conn *c, size_t need)
{
    http_server *srv = c->srv;
    c->waiting = 1;
    c->body_need = need;
    c->wait_next = NULL;
    c->wait_prev = srv->wait_tail;
    if (srv->wait_tail)
        srv->wait_tail->wait_next = c;
    else
        srv->wait_head = c;
    srv->wait_tail = c;
    srv->nwaiting++;
    uv_timer_start(&c->wait_timer, on_wait_timer, srv->limits.body_wait_ms, 0);
}

static void wait_remove(http_conn *c)
{
    if (!c->waiting)
        return;
    http_server *srv = c->srv;
    if (c->wait_prev)
        c->wait_prev->wait_next = c->wait_next;
    else
        srv->wait_head = c->wait_next;
    if (c->wait_next)
        c->wait_next->wait_prev = c->wait_prev;
    else
        srv->wait_tail = c->wait_prev;
    c->wait_prev = c->wait_next = NULL;
    c->waiting = 0;
    c->continue_owed = 0;
    srv->nwaiting--;
    if (!c->closing)
        uv_timer_stop(&c->wait_timer);
}

static void on_wait_timer(uv_timer_t *t)
{
    http_conn *c = t->data;
    if (!c->waiting || c->closing)
        return;
    c->srv->wait_refused++;
    conn_fail(c, 503, "the server holds as many request bodies as it may; retry later");
    conn_update(c);
}

static void conn_send_raw(http_conn *c, const char *text);

/* Admits waiting connections in their order while there is room; the
 * first that does not fit keeps the others waiting (first come, first
 * served: a large body is not passed over forever by small ones). */
static void on_admit_idle(uv_idle_t *h)
{
    http_server *srv = h->data;
    uv_idle_stop(h);
    while (srv->wait_head) {
        http_conn *c = srv->wait_head;
        int rc = body_reserve(c, c->body_need);
        if (rc == 1)
            break;
        int send_continue = c->continue_owed && !c->head;
        wait_remove(c);
        if (rc < 0) {
            conn_fail(c, 503, NULL);
            conn_update(c);
            continue;
        }
        if (send_continue)
            conn_send_raw(c, "HTTP/1.1 100 Continue\r\n\r\n");
        if (c->closing)
            continue;
        llhttp_resume(&c->parser);
        conn_pump(c);
        conn_update(c);
    }
}

/* ---- client addresses ------------------------------------------------- */

static client_count **client_slot(http_server *srv, const unsigned char *addr)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 16; i++)
        h = (h ^ addr[i]) * 16777619u;
    client_count **pp = &srv->clients[h % HTTP_CLIENT_BUCKETS];
    while (*pp && memcmp((*pp)->addr, addr, 16) != 0)
        pp = &(*pp)->next;
    return pp;
}

/* Counts c against its address. Returns 0, 1 when the address has its
 * share already, or OBLIGO_ENOMEM. */
static int client_admit(http_conn *c)
{
    if (!c->have_addr)
        return 0;
    client_count **pp = client_slot(c->srv, c->addr);
    client_count *e = *pp;
    if (e && e->n >= c->srv->limits.max_connections_per_client)
        return 1;
    if (!e) {
        e = obligo_calloc(1, sizeof *e);
        if (!e)
            return OBLIGO_ENOMEM;
        memcpy(e->addr, c->addr, 16);
        *pp = e;
    }
    e->n++;
    c->client = e;
    return 0;
}

static void client_leave(http_conn *c)
{
    if (!c->client)
        return;
    client_count **pp = client_slot(c->srv, c->addr);
    c->client = NULL;
    if (*pp && --(*pp)->n == 0) {
        client_count *e = *pp;
        *pp = e->next;
        obligo_free(e);
    }
}

/* ---- exchanges -------------------------------------------------------- */

static void conn_free(http_conn *c);

static void conn_unref(http_conn *c)
{
    if (--c->refs == 0)
        conn_free(c);
}

static void exchange_free(http_exchange *ex)
{
    http_conn *c = ex->conn;
    if (ex->body_reserved)
        body_unreserve(c->srv, ex->body_reserved);
    obligo_free(ex->out);
    obligo_free(ex->target);
    obligo_free(ex->content_type);
    obligo_free(ex->authorization);
    obligo_free(ex->body);
    obligo_free(ex);
    conn_unref(c);
}

static http_exchange *exchange_new(http_conn *c)
{
    http_exchange *ex = obligo_calloc(1, sizeof *ex);
    if (!ex)
        return NULL;
    ex->conn = c;
    c->refs++;
    ex->req.method = "";
    ex->req.path = "";
    ex->req.query = "";
    ex->req.content_type = "";
    ex->req.authorization = "";
    ex->req.body = "";
    ex->req.peer = c->peer;
    ex->req.peer_is_loopback = c->loopback;
    return ex;
}

static void queue_push(http_conn *c, http_exchange *ex)
{
    if (c->tail)
        c->tail->next = ex;
    else
        c->head = ex;
    c->tail = ex;
    c->queued++;
}

static void queue_remove(http_conn *c, const http_exchange *ex)
{
    http_exchange *prev = NULL;
    for (http_exchange *e = c->head; e; prev = e, e = e->next) {
        if (e != ex)
            continue;
        if (prev)
            prev->next = e->next;
        else
            c->head = e->next;
        if (c->tail == e)
            c->tail = prev;
        c->queued--;
        return;
    }
}

/* ---- writing ---------------------------------------------------------- */

static void on_write(uv_write_t *req, int status)
{
    conn_write *w = (conn_write *)req;
    http_conn *c = w->conn;
    c->writes--;
    c->write_bytes -= w->total;
    obligo_free(w);
    if (c->closing)
        return; /* UV_ECANCELED from uv_close, or a failure already handled */
    if (status < 0) {
        conn_close(c);
        return;
    }
    /* A client that keeps reading a long answer is making progress, so the
     * idle clock starts again rather than cutting the answer off. */
    if (!c->shutting && !c->in_request && c->queued == 0)
        timer_set(c, TIMER_IDLE, c->srv->limits.idle_timeout_ms);
    conn_pump(c);
    conn_update(c);
}

/* Sends w (taken over) with the static line conn_line (or NULL) between its
 * two parts. */
static void conn_send(http_conn *c, conn_write *w, const char *conn_line)
{
    uv_buf_t bufs[3];
    unsigned n = 0;
    bufs[n++] = uv_buf_init(w->data, (unsigned)w->head_len);
    if (conn_line)
        bufs[n++] = uv_buf_init((char *)conn_line, (unsigned)strlen(conn_line));
    if (w->rest_len)
        bufs[n++] = uv_buf_init(w->data + w->head_len, (unsigned)w->rest_len);
    w->conn = c;
    w->total = 0;
    for (unsigned i = 0; i < n; i++)
        w->total += bufs[i].len;
    if (c->writes == 0) {
        /* Nothing of ours is waiting to be written: most answers fit the
         * socket's buffer and leave at once. A queued write would cost an
         * extra epoll_ctl per answer (libuv re-arms the descriptor when
         * its write queue drains), a system call as dear as the write on
         * a virtual machine. */
        int sent = uv_try_write((uv_stream_t *)&c->tcp, bufs, n);
        if (sent == (int)w->total) {
            obligo_free(w);
            return;
        }
        for (unsigned i = 0; sent > 0 && i < n; i++) {
            size_t skip = (size_t)sent < bufs[i].len ? (size_t)sent : bufs[i].len;
            bufs[i].base += skip;
            bufs[i].len -= skip;
            sent -= (int)skip;
        }
    }
    c->writes++;
    c->write_bytes += w->total;
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, bufs, n, on_write) < 0) {
        c->writes--;
        c->write_bytes -= w->total;
        obligo_free(w);
        conn_close(c);
    }
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    http_conn *c = req->data;
    obligo_free(req);
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    timer_set(c, TIMER_LINGER, HTTP_LINGER_MS);
}

/* The last response is queued: end our side once it is written (uv_shutdown
 * waits for queued writes), then read and discard until the client closes. */
static void conn_shutdown(http_conn *c)
{
    if (c->shutting || c->closing)
        return;
    c->shutting = 1;
    c->input_done = 1;
    c->in_request = 0;
    uv_shutdown_t *req = obligo_malloc(sizeof *req);
    if (!req) {
        conn_close(c);
        return;
    }
    req->data = c;
    if (uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
        obligo_free(req);
        conn_close(c);
        return;
    }
    /* Until the answer is written, a client that does not read is given
     * the idle time; after that, HTTP_LINGER_MS (on_shutdown). */
    timer_set(c, TIMER_DRAIN, c->srv->limits.idle_timeout_ms);
    conn_update(c);
}

/* Writes every answer whose turn has come. */
static void conn_flush(http_conn *c)
{
    while (c->head && c->head->answered && !c->closing) {
        http_exchange *ex = c->head;
        c->head = ex->next;
        if (!c->head)
            c->tail = NULL;
        c->queued--;
        conn_write *w = ex->out;
        ex->out = NULL;
        int final = !ex->keep_alive || (c->input_done && !c->head);
        /* HTTP/1.0 clients assume close unless told the connection is kept. */
        const char *conn_line = final        ? "Connection: close\r\n"
                                : ex->http10 ? "Connection: keep-alive\r\n"
                                             : NULL;
        exchange_free(ex); /* cannot free c: its handles hold references */
        if (c->shutting) {
            obligo_free(w); /* after the last response nothing more is sent */
            continue;
        }
        if (!w) {
            /* The answer could not be built (out of memory). Sending a later
             * one in its place would pair answers with the wrong requests. */
            conn_close(c);
            return;
        }
        conn_send(c, w, conn_line);
        if (final)
            conn_shutdown(c);
    }
}

/* ---- the connection's state ------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    http_conn *c = h->data;
    buf->base = c->srv->rbuf;
    buf->len = sizeof c->srv->rbuf;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* Sets reading and the timer to what the connection's state calls for. */
static void conn_update(http_conn *c)
{
    if (c->closing)
        return;
    int want = c->shutting || (!c->input_done && !c->waiting && c->queued < HTTP_PIPELINE_MAX &&
                               c->write_bytes < HTTP_WRITE_HIGH);
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
            conn_close(c);
            return;
        }
        c->reading = 1;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
    if (c->shutting || c->in_request)
        return; /* those timers were armed when the state began */
    if (c->queued > 0) {
        /* The handler has the request; how long it takes is its business. */
        if (c->timer_mode != TIMER_OFF)
            timer_off(c);
    } else if (c->timer_mode != TIMER_IDLE) {
        timer_set(c, TIMER_IDLE, c->srv->limits.idle_timeout_ms);
    }
}

/* Forgets the request being parsed (its buffers are kept for the next). */
static void request_reset(http_conn *c)
{
    c->url.len = c->field.len = c->value.len = 0;
    wait_remove(c);
    body_release(c);
    obligo_free(c->content_type);
    obligo_free(c->authorization);
    obligo_free(c->target);
    obligo_free(c->refusal);
    obligo_free(c->fail_write);
    c->content_type = c->authorization = c->target = NULL;
    c->refusal = c->fail_write = NULL;
    c->chunked = 0;
    c->refused = 0;
    c->header_bytes = 0;
    c->fail_status = 0;
    c->fail_reason = NULL;
    c->in_request = 0;
    c->headers_done = 0;
    c->expect_continue = 0;
    c->have_content_type = 0;
    c->have_authorization = 0;
    c->have_host = 0;
    c->have_version = 0;
    c->forwarded = 0;
}

/* Answers with an error of the server's own (why: static text or NULL,
 * see response_error) and reads no further request. The answer waits its
 * turn behind earlier ones like any other. */
static void conn_fail(http_conn *c, int status, const char *why)
{
    conn_fail_write(c, response_error(status, why));
}

/* The same with a ready answer w (taken over; NULL: out of memory, which
 * closes the connection in the answer's turn). */
static void conn_fail_write(http_conn *c, conn_write *w)
{
    if (c->closing || c->shutting) {
        obligo_free(w);
        return;
    }
    c->input_done = 1;
    request_reset(c);
    http_exchange *ex = exchange_new(c);
    if (!ex) {
        obligo_free(w);
        conn_close(c);
        return;
    }
    ex->out = w;
    ex->answered = 1;
    queue_push(c, ex);
    conn_flush(c);
}

/* Each of the connection's two handles holds a reference until closed. */
static void on_conn_handle_close(uv_handle_t *h)
{
    conn_unref(h->data);
}

static void conn_close(http_conn *c)
{
    if (c->closing)
        return;
    wait_remove(c); /* before closing, while its timer may still be stopped */
    c->closing = 1;
    c->reading = 0;
    c->srv->open--;
    client_leave(c);
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_close);
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_close);
    uv_close((uv_handle_t *)&c->wait_timer, on_conn_handle_close);
    /* Answers waiting behind an unanswered one can never leave now; the
     * unanswered ones stay queued until their handler calls http_respond. */
    http_exchange **pp = &c->head;
    c->tail = NULL;
    while (*pp) {
        http_exchange *ex = *pp;
        if (ex->answered) {
            *pp = ex->next;
            c->queued--;
            exchange_free(ex);
        } else {
            c->tail = ex;
            pp = &ex->next;
        }
    }
    request_reset(c);
}

static void server_maybe_finish(http_server *srv)
{
    if (!srv->stopping || !srv->listener_closed || srv->alive > 0 || srv->rejecting > 0 ||
        srv->idle_open)
        return;
    void (*cb)(void *) = srv->on_closed;
    void *arg = srv->on_closed_arg;
    obligo_free(srv);
    if (cb)
        cb(arg);
}

static void conn_free(http_conn *c)
{
    http_server *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->alive--;
    request_reset(c);
    dbuf_free(&c->in);
    dbuf_free(&c->url);
    dbuf_free(&c->field);
    dbuf_free(&c->value);
    obligo_free(c);
    server_maybe_finish(srv);
}

/* ---- parsing ---------------------------------------------------------- */

static http_conn *parser_conn(llhttp_t *p)
{
    return p->data;
}

/* Refuses the request from inside a parser callback; conn_parse answers. */
static int parse_refuse(http_conn *c, int status)
{
    c->fail_status = status;
    return -1;
}

/* The same with a static text naming what is wrong. */
static int parse_refuse_why(http_conn *c, int status, const char *why)
{
    c->fail_reason = why;
    return parse_refuse(c, status);
}

static int header_count(http_conn *c, size_t n)
{
    c->header_bytes += n;
    return c->header_bytes > c->srv->limits.max_header_bytes ? parse_refuse(c, 431) : 0;
}

static int on_message_begin(llhttp_t *p)
{
    http_conn *c = parser_conn(p);
    request_reset(c);
    c->in_request = 1;
    timer_set(c, TIMER_REQUEST, c->srv->limits.request_timeout_ms);
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
    http_conn *c = parser_conn(p);
    if (header_count(c, n) < 0)
        return -1;
    return dbuf_append(&c->url, at, n) < 0 ? parse_refuse(c, 503) : 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
    http_conn *c = parser_conn(p);
    if (header_count(c, n) < 0)
        return -1;
    if (c->headers_done)
        return 0; /* a trailer after a chunked body: counted, not used */
    return dbuf_append(&c->field, at, n) < 0 ? parse_refuse(c, 503) : 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
    http_conn *c = parser_conn(p);
    if (header_count(c, n) < 0)
        return -1;
    if (c->headers_done)
        return 0;
    return dbuf_append(&c->value, at, n) < 0 ? parse_refuse(c, 503) : 0;
}

/* A Host value as RFC 9110 7.2 has it: uri-host [":" port], where uri-host
 * is a reg-name (unreserved, pct-encoded, sub-delims), an IPv4 address or
 * an IP literal in brackets; empty is allowed (a target without an
 * authority). Only the characters are checked, as nginx does: the server
 * serves one site and reads the name for nothing, but a value with a
 * space, '/', '@' or a control character is not a host and is refused
 * before anything could log or forward it. */
static int host_valid(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
            continue;
        if (!strchr("-._~!$&'()*+,;=%:[]", ch) || ch == '\0')
            return 0;
    }
    return 1;
}

static int field_is(const http_conn *c, const char *name)
{
    size_t n = strlen(name);
    return c->field.len == n && strncasecmp(c->field.p, name, n) == 0;
}

/* Keeps the headers the handler or the framing needs. Content-Length,
 * Transfer-Encoding and Connection are llhttp's: it rejects conflicting
 * framing (the request smuggling cases) and computes keep-alive. */
static int header_store(http_conn *c)
{
    const char *v = c->value.p ? c->value.p : "";
    size_t n = c->value.len;
    while (n > 0 && is_ows(v[n - 1]))
        n--; /* llhttp drops leading whitespace only */
    if (field_is(c, "content-type")) {
        /* Two media types would leave the handler guessing which one the
         * body follows, so such a request is refused. */
        if (c->have_content_type)
            return parse_refuse_why(c, 400, "more than one Content-Type header");
        c->have_content_type = 1;
        c->content_type = media_type(v, n);
        return c->content_type ? 0 : parse_refuse(c, 503);
    }
    if (field_is(c, "host")) {
        /* RFC 9112 3.2: 400 for more than one Host or an invalid one. */
        if (c->have_host)
            return parse_refuse_why(c, 400, "more than one Host header");
        c->have_host = 1;
        if (!host_valid(v, n))
            return parse_refuse_why(c, 400,
                                    "the Host header is not a host name or address "
                                    "with an optional port");
        return 0;
    }
    if (field_is(c, "authorization")) {
        if (c->have_authorization)
            return parse_refuse_why(c, 400, "more than one Authorization header");
        c->have_authorization = 1;
        c->authorization = obligo_strndup(v, n);
        return c->authorization ? 0 : parse_refuse(c, 503);
    }
    /* A proxy on this machine (the TLS terminator) connects from loopback on
     * behalf of clients elsewhere: such a request is not a local one. */
    if (field_is(c, "x-forwarded-for") || field_is(c, "forwarded") || field_is(c, "x-real-ip"))
        c->forwarded = 1;
    if (field_is(c, "expect") && n == 12 && strncasecmp(v, "100-continue", 12) == 0)
        c->expect_continue = 1;
    return 0;
}

static int on_header_value_complete(llhttp_t *p)
{
    http_conn *c = parser_conn(p);
    /* llhttp takes a line such as ": v"; a field name is a token of at
     * least one character (RFC 9110 5.1). */
    if (!c->headers_done && c->field.len == 0)
        return parse_refuse_why(c, 400, "a header line has no name before its colon");
    int rc = c->headers_done ? 0 : header_store(c);
    c->field.len = c->value.len = 0;
    return rc;
}

static void conn_send_raw(http_conn *c, const char *text)
{
    size_t n = strlen(text);
    conn_write *w = obligo_malloc(sizeof *w + n);
    if (!w) {
        conn_close(c);
        return;
    }
    memcpy(w->data, text, n);
    w->head_len = n;
    w->rest_len = 0;
    conn_send(c, w, NULL);
}

static int on_version_complete(llhttp_t *p)
{
    parser_conn(p)->have_version = 1;
    return 0;
}

/* Asks the head handler about the request whose head is complete. Returns
 * 0 to go on, or -1 after arranging its refusal: a request with a body is
 * refused with the connection (conn_parse answers), one without is answered
 * in its turn once llhttp has seen its end (on_message_complete). */
static int head_decide(http_conn *c, llhttp_t *p, int has_body)
{
    http_server *srv = c->srv;
    if (!srv->on_head)
        return 0;
    http_head h = {
        .method = llhttp_method_name((llhttp_method_t)p->method),
        .path = c->target,
        .query = c->target + strlen(c->target) + 1,
        .content_type = c->content_type ? c->content_type : "",
        .authorization = c->authorization ? c->authorization : "",
        .has_length = (p->flags & F_CONTENT_LENGTH) != 0,
        .content_length = (p->flags & F_CONTENT_LENGTH) ? (unsigned long long)p->content_length : 0,
        .chunked = c->chunked,
        .peer_is_loopback = c->loopback && !c->forwarded,
        .peer = c->peer,
    };
    http_answer *ans = obligo_calloc(1, sizeof *ans);
    if (!ans)
        return parse_refuse(c, 503);
    if (srv->on_head(srv->ud, &h, ans) == 0) {
        obligo_free(ans);
        return 0;
    }
    size_t blen = ans->body_len < sizeof ans->body ? ans->body_len : sizeof ans->body;
    ans->headers[sizeof ans->headers - 1] = '\0';
    conn_write *w = response_build(ans->status, ans->content_type, ans->body, blen, ans->headers,
                                   p->method == HTTP_HEAD);
    int close = ans->close;
    obligo_free(ans);
    if (!w)
        return parse_refuse(c, 503);
    if (has_body || close) {
        c->fail_write = w;
        return -1;
    }
    c->refused = 1;
    c->refusal = w;
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    http_conn *c = parser_conn(p);
    c->headers_done = 1;
    /* llhttp takes "GET /" as an HTTP/0.9 request; RFC 9112 3 requires
     * the version in the request line. */
    if (!c->have_version)
        return parse_refuse_why(c, 400, "the request line has no HTTP version; send HTTP/1.1");
    if (p->http_major != 1)
        return parse_refuse_why(c, 505, "only HTTP/1.0 and HTTP/1.1 are served");
    if (p->http_minor == 1 && !c->have_host)
        return parse_refuse_why(c, 400, "an HTTP/1.1 request must have a Host header");
    int rc = target_split(c->url.p ? c->url.p : "", c->url.len, &c->target);
    if (rc < 0)
        return rc == OBLIGO_EINVAL
                   ? parse_refuse_why(c, 400,
                                      "the request path has a broken %-escape or an encoded NUL")
                   : parse_refuse(c, 503);
    int has_length = (p->flags & F_CONTENT_LENGTH) != 0;
    c->chunked = (p->flags & F_CHUNKED) != 0;
    int has_body = (has_length && p->content_length > 0) || c->chunked;
    /* Who may ask what is decided before a byte of the body is read. */
    if (head_decide(c, p, has_body) < 0)
        return -1;
    if (c->refused)
        return 0; /* no body: the answer waits for the request's end */
    if (has_length && p->content_length > c->srv->limits.max_body_bytes)
        return parse_refuse(c, 413); /* before a byte of the body is read */
    /* A client that asked to be told before sending a body is told now,
     * unless earlier answers are still owed (c->head is the queue's first):
     * an interim response must not overtake them, and the client sends
     * anyway after its own timeout. When the body must wait for room, it
     * is told once the body is admitted. */
    int want_continue = c->expect_continue && has_body && p->http_major == 1 && p->http_minor >= 1;
    if (has_length && p->content_length > 0) {
        size_t need = (size_t)p->content_length + 1;
        rc = body_reserve(c, need);
        if (rc < 0)
            return parse_refuse(c, 503);
        if (rc > 0) {
            c->continue_owed = want_continue;
            wait_enqueue(c, need);
            return HPE_PAUSED; /* conn_parse keeps the rest; admit_idle resumes */
        }
    }
    if (want_continue && !c->head) {
        conn_send_raw(c, "HTTP/1.1 100 Continue\r\n\r\n");
        if (c->closing)
            return -1;
    }
    return 0;
}

/* A chunk's size is known before its data: room for it is found first, or
 * the connection waits as for a Content-Length body. */
static int on_chunk_header(llhttp_t *p)
{
    http_conn *c = parser_conn(p);
    uint64_t n = p->content_length;
    if (n > c->srv->limits.max_body_bytes - c->body.len)
        return parse_refuse(c, 413);
    if (n == 0)
        return 0; /* the last chunk */
    size_t need = c->body.len + (size_t)n + 1;
    int rc = body_reserve(c, need);
    if (rc < 0)
        return parse_refuse(c, 503);
    if (rc > 0) {
        wait_enqueue(c, need);
        return HPE_PAUSED;
    }
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    http_conn *c = parser_conn(p);
    if (c->refused)
        return 0; /* cannot happen: a refused request with a body ends the connection */
    /* Room was found at the head or the chunk's header; more data than
     * announced cannot come (llhttp counts), so this is a bug if it does. */
    if (n > c->srv->limits.max_body_bytes - c->body.len || c->body.len + n >= c->body.cap)
        return parse_refuse(c, 413);
    memcpy(c->body.p + c->body.len, at, n);
    c->body.len += n;
    c->body.p[c->body.len] = '\0';
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    http_conn *c = parser_conn(p);
    http_exchange *ex = exchange_new(c);
    if (!ex)
        return parse_refuse(c, 503);
    ex->target = c->target;
    c->target = NULL;
    ex->req.method = llhttp_method_name((llhttp_method_t)p->method);
    ex->req.path = ex->target;
    ex->req.query = ex->target + strlen(ex->target) + 1;
    if (c->body.p) {
        ex->body = c->body.p; /* kept NUL-terminated */
        ex->req.body = ex->body;
        ex->req.body_len = c->body.len;
        ex->body_reserved = c->body_reserved;
        c->body.p = NULL;
        c->body.len = c->body.cap = 0;
        c->body_reserved = 0;
    }
    if (c->refused) {
        /* The head handler's answer; the handler never sees the request. */
        ex->out = c->refusal;
        ex->answered = 1;
        c->refusal = NULL;
        c->refused = 0;
    }
    ex->content_type = c->content_type;
    ex->authorization = c->authorization;
    c->content_type = c->authorization = NULL;
    if (ex->content_type)
        ex->req.content_type = ex->content_type;
    if (ex->authorization)
        ex->req.authorization = ex->authorization;
    ex->req.peer_is_loopback = c->loopback && !c->forwarded;
    /* An Upgrade or CONNECT request is answered as plain HTTP and ends the
     * connection: the bytes after it belong to a protocol we do not speak. */
    ex->keep_alive = llhttp_should_keep_alive(p) && !p->upgrade;
    ex->http10 = p->http_major == 1 && p->http_minor == 0;
    ex->head = p->method == HTTP_HEAD;
    dbuf_trim(&c->url);
    dbuf_trim(&c->field);
    dbuf_trim(&c->value);
    queue_push(c, ex);
    c->ready = ex;
    c->in_request = 0;
    if (!ex->keep_alive)
        c->input_done = 1;
    /* Stop here so conn_parse calls the handler outside llhttp_execute. */
    return HPE_PAUSED;
}

/* Looks at the head of the request being read, ahead of llhttp, for what
 * llhttp 8.1 takes even in strict mode: a line starting with SP or HTAB
 * (obs-fold, which llhttp joins to the previous value, RFC 9112 5.2), and
 * line ends other than CRLF (bare CR, bare LF; llhttp refuses most, this
 * names them). It starts at the first byte of each request and stops at
 * the blank line ending its head, so a body is never looked at and each
 * byte once. Returns 0, or -1 with c->fail_reason set. */
static int head_scan(http_conn *c, const char *data, size_t len)
{
    for (size_t i = 0; i < len && c->head_at != HEAD_DONE; i++) {
        char ch = data[i];
        switch (c->head_at) {
        case HEAD_START:
            if (ch == '\r' || ch == '\n')
                break; /* empty lines before a request: llhttp's to judge */
            c->head_at = HEAD_LINE;
            /* fall through */
        case HEAD_LINE:
            if (ch == '\r')
                c->head_at = HEAD_LINE_CR;
            else if (ch == '\n')
                goto bare_lf;
            break;
        case HEAD_LINE_CR:
            if (ch != '\n')
                goto bare_cr;
            c->head_at = HEAD_BOL;
            break;
        case HEAD_BOL:
            if (ch == ' ' || ch == '\t') {
                c->fail_reason = "a header line starts with whitespace (obs-fold continuation "
                                 "lines are not accepted)";
                return -1;
            }
            if (ch == '\r')
                c->head_at = HEAD_BOL_CR;
            else if (ch == '\n')
                goto bare_lf;
            else
                c->head_at = HEAD_LINE;
            break;
        case HEAD_BOL_CR:
            if (ch != '\n')
                goto bare_cr;
            c->head_at = HEAD_DONE;
            break;
        case HEAD_DONE:
            break;
        }
    }
    return 0;
bare_cr:
    c->fail_reason = "a CR in the request head is not followed by LF (bare CR)";
    return -1;
bare_lf:
    c->fail_reason = "a line of the request head ends in LF without CR (bare LF)";
    return -1;
}

/* What llhttp refused, in words for the client. Static text. */
static const char *parse_error_text(const llhttp_t *p, llhttp_errno_t err)
{
    const char *reason = llhttp_get_error_reason(p);
    const char *pos = llhttp_get_error_pos(p);
    reason = reason ? reason : "";
    switch (err) {
    case HPE_INVALID_HEADER_TOKEN:
        if (strstr(reason, "value"))
            return "a header value holds a character that is not allowed (such as a control "
                   "character)";
        /* llhttp stops at the offending byte */
        if (pos && (*pos == ' ' || *pos == '\t'))
            return "whitespace between a header name and its colon";
        return "a header name holds a character that is not allowed";
    case HPE_LF_EXPECTED:
        return "a CR in the request head is not followed by LF (bare CR)";
    case HPE_STRICT:
        if (strstr(reason, "chunk"))
            return "a chunk of the body is not followed by CRLF";
        return "a CR in the request is not followed by LF (bare CR)";
    case HPE_INVALID_METHOD:
        return "the request line does not start with a known method";
    case HPE_INVALID_URL:
        return "the request target holds a character that is not allowed";
    case HPE_INVALID_CONSTANT:
    case HPE_INVALID_VERSION:
    case HPE_UNEXPECTED_SPACE:
        return "the request line is not METHOD SP target SP HTTP/1.1";
    case HPE_UNEXPECTED_CONTENT_LENGTH:
        if (strstr(reason, "Duplicate"))
            return "more than one Content-Length";
        return "Content-Length and Transfer-Encoding together";
    case HPE_INVALID_CONTENT_LENGTH:
        return "an invalid Content-Length";
    case HPE_INVALID_TRANSFER_ENCODING:
        return "an invalid Transfer-Encoding";
    case HPE_INVALID_CHUNK_SIZE:
        return "an invalid chunk size";
    default:
        return "the request is not valid HTTP/1.1";
    }
}

/* Parses data until it is used up or parsing must wait; hands each complete
 * request to the handler. Returns the number of bytes used. */
static size_t conn_parse(http_conn *c, const char *data, size_t len)
{
    size_t off = 0;
    c->parsing = 1;
    while (off < len && !c->input_done && !c->closing && !c->waiting &&
           c->queued < HTTP_PIPELINE_MAX && c->write_bytes < HTTP_WRITE_HIGH) {
        if (head_scan(c, data + off, len - off) < 0) {
            conn_fail(c, 400, c->fail_reason);
            off = len;
            break;
        }
        llhttp_errno_t err = llhttp_execute(&c->parser, data + off, len - off);
        if (err == HPE_OK) {
            off = len;
            break;
        }
        if (err == HPE_PAUSED) {
            off = (size_t)(llhttp_get_error_pos(&c->parser) - data);
            if (c->waiting)
                break; /* no room for the body yet: admit_idle resumes llhttp */
            llhttp_resume(&c->parser);
            http_exchange *ex = c->ready;
            c->ready = NULL;
            c->head_at = HEAD_START; /* the next request's head begins here */
            if (ex && ex->answered)
                conn_flush(c); /* refused by the head handler */
            else if (ex)
                c->srv->handler(c->srv->ud, &ex->req, ex); /* may answer at once */
            continue;
        }
        if (c->fail_write) {
            conn_write *w = c->fail_write;
            c->fail_write = NULL;
            conn_fail_write(c, w);
        } else if (c->fail_status)
            conn_fail(c, c->fail_status, c->fail_reason);
        else
            conn_fail(c, 400, parse_error_text(&c->parser, err));
        off = len;
    }
    c->parsing = 0;
    return off;
}

/* Parses input held back earlier, if its turn has come. */
static void conn_pump(http_conn *c)
{
    if (c->parsing || c->closing || c->in.len == 0)
        return;
    size_t used = conn_parse(c, c->in.p, c->in.len);
    if (c->input_done || c->closing) {
        dbuf_free(&c->in);
        return;
    }
    memmove(c->in.p, c->in.p + used, c->in.len - used);
    c->in.len -= used;
    if (c->in.len == 0)
        dbuf_free(&c->in); /* up to a read's worth; most connections need none */
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    http_conn *c = s->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        conn_close(c); /* end of input or an error: the client has gone */
        return;
    }
    if (c->input_done) {
        dbuf_free(&c->in);
        return; /* lingering, or no further request wanted: thrown away */
    }
    size_t n = (size_t)nread;
    if (c->in.len > 0) {
        /* Older bytes are waiting: these go behind them, in order. */
        if (dbuf_append(&c->in, buf->base, n) < 0) {
            conn_close(c);
            return;
        }
        conn_pump(c);
    } else {
        size_t used = conn_parse(c, buf->base, n);
        /* buf is the server's shared buffer: keep what could not be parsed. */
        if (used < n && !c->input_done && !c->closing &&
            dbuf_append(&c->in, buf->base + used, n - used) < 0) {
            conn_close(c);
            return;
        }
    }
    conn_update(c);
}

/* ---- accepting -------------------------------------------------------- */

#define REJECT_BODY "{\"error\":\"Service Unavailable\"}"
_Static_assert(sizeof REJECT_BODY - 1 == 31, "Content-Length of REJECT_503");
static const char REJECT_503[] = "HTTP/1.1 503 Service Unavailable\r\n"
                                 "Content-Type: application/json\r\n"
                                 "Content-Length: 31\r\n"
                                 "Connection: close\r\n"
                                 "\r\n" REJECT_BODY;

#define REJECT_429_BODY "{\"error\":\"too many connections from this address\"}"
_Static_assert(sizeof REJECT_429_BODY - 1 == 50, "Content-Length of REJECT_429");
static const char REJECT_429[] = "HTTP/1.1 429 Too Many Requests\r\n"
                                 "Content-Type: application/json\r\n"
                                 "Content-Length: 50\r\n"
                                 "Retry-After: 1\r\n"
                                 "Connection: close\r\n"
                                 "\r\n" REJECT_429_BODY;

static void on_reject_close(uv_handle_t *h)
{
    http_server *srv = h->data;
    obligo_free(h);
    srv->rejecting--;
    server_maybe_finish(srv);
}

/* Over the connection limit: accept (a connection left in the backlog would
 * stall the listener) and answer 503 if the socket takes it at once, then
 * close. No state is kept for it. */
static void server_reject(http_server *srv)
{
    uv_tcp_t *t = obligo_malloc(sizeof *t);
    if (!t)
        return;
    if (uv_tcp_init(srv->loop, t) < 0) {
        obligo_free(t);
        return;
    }
    t->data = srv;
    srv->rejecting++;
    if (uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)t) == 0) {
        uv_buf_t b = uv_buf_init((char *)REJECT_503, (unsigned)(sizeof REJECT_503 - 1));
        (void)uv_try_write((uv_stream_t *)t, &b, 1); /* best effort, by design */
    }
    uv_close((uv_handle_t *)t, on_reject_close);
}

static void on_connection(uv_stream_t *ls, int status)
{
    http_server *srv = ls->data;
    if (status < 0 || srv->stopping)
        return;
    if (srv->open >= srv->limits.max_connections) {
        server_reject(srv);
        return;
    }
    http_conn *c = obligo_calloc(1, sizeof *c);
    if (!c) {
        server_reject(srv);
        return;
    }
    if (uv_tcp_init(srv->loop, &c->tcp) < 0) {
        obligo_free(c);
        server_reject(srv);
        return;
    }
    uv_timer_init(srv->loop, &c->timer);
    uv_timer_init(srv->loop, &c->wait_timer);
    c->srv = srv;
    c->tcp.data = c;
    c->timer.data = c;
    c->wait_timer.data = c;
    c->refs = 3; /* tcp and the two timers, released in on_conn_handle_close */
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->alive++;
    srv->open++;
    llhttp_init(&c->parser, HTTP_REQUEST, &srv->settings);
    /* Off by default; said here so that no one turns one on unawares. */
    llhttp_set_lenient_headers(&c->parser, 0);
    llhttp_set_lenient_chunked_length(&c->parser, 0);
    llhttp_set_lenient_keep_alive(&c->parser, 0);
    llhttp_set_lenient_transfer_encoding(&c->parser, 0);
    c->parser.data = c;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c);
        return;
    }
    peer_describe(c);
    int crc = client_admit(c);
    if (crc != 0) {
        /* One address holds its share of connections (or memory ran out):
         * told so if the socket takes it at once, then closed, like a
         * connection over max_connections. */
        if (crc > 0) {
            srv->client_refused++;
            uv_buf_t b = uv_buf_init((char *)REJECT_429, (unsigned)(sizeof REJECT_429 - 1));
            (void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1); /* best effort, by design */
        }
        conn_close(c);
        return;
    }
    /* Responses are written whole, so waiting to coalesce only adds delay. */
    uv_tcp_nodelay(&c->tcp, 1);
    conn_update(c);
}

/* ---- public ----------------------------------------------------------- */

static void on_idle_close(uv_handle_t *h)
{
    http_server *srv = h->data;
    srv->idle_open = 0;
    server_maybe_finish(srv);
}

static void on_listener_close(uv_handle_t *h)
{
    http_server *srv = h->data;
    srv->listener_closed = 1;
    server_maybe_finish(srv);
}

/* A libuv call of http_server_listen failed: *err (when err is not NULL)
 * gets libuv's words, which the caller puts after the address it names
 * ("cannot listen on 127.0.0.1:8787: address already in use"), and the code
 * is mapped to error.h's table. */
static int server_uv_fail(int uv_rc, char **err)
{
    if (err)
        *err = obligo_strdup(uv_strerror(uv_rc));
    return error_from_uv(uv_rc);
}

int http_server_listen(uv_loop_t *loop, const char *host, int port, const http_limits *limits,
                       http_handler handler, void *ud, http_server **out, char **err)
{
    if (err)
        *err = NULL;
    if (!loop || !host || !handler || !out)
        return OBLIGO_EINVAL;
    if (port < 0 || port > 65535) {
        if (err)
            *err = obligo_asprintf("port %d is not between 0 and 65535", port);
        return OBLIGO_EINVAL;
    }
    struct sockaddr_storage addr;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr) != 0) {
        if (err)
            *err = obligo_asprintf("'%s' is not an IPv4 or IPv6 address (host names are not "
                                   "looked up); use one such as 127.0.0.1 or ::1",
                                   host);
        return OBLIGO_EINVAL;
    }

    http_server *srv = obligo_calloc(1, sizeof *srv);
    if (!srv)
        return OBLIGO_ENOMEM;
    srv->loop = loop;
    srv->handler = handler;
    srv->ud = ud;
    if (limits)
        srv->limits = *limits;
    if (!srv->limits.max_header_bytes)
        srv->limits.max_header_bytes = DEFAULT_MAX_HEADER_BYTES;
    if (!srv->limits.max_body_bytes)
        srv->limits.max_body_bytes = DEFAULT_MAX_BODY_BYTES;
    if (!srv->limits.idle_timeout_ms)
        srv->limits.idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_MS;
    if (!srv->limits.request_timeout_ms)
        srv->limits.request_timeout_ms = DEFAULT_REQUEST_TIMEOUT_MS;
    if (!srv->limits.max_connections)
        srv->limits.max_connections = DEFAULT_MAX_CONNECTIONS;
    if (!srv->limits.max_buffered_body_bytes)
        srv->limits.max_buffered_body_bytes = DEFAULT_MAX_BUFFERED_BODY_BYTES;
    if (srv->limits.max_buffered_body_bytes <= srv->limits.max_body_bytes)
        srv->limits.max_buffered_body_bytes = srv->limits.max_body_bytes + 1;
    if (!srv->limits.body_wait_ms)
        srv->limits.body_wait_ms = DEFAULT_BODY_WAIT_MS;
    if (!srv->limits.max_connections_per_client)
        srv->limits.max_connections_per_client = DEFAULT_MAX_CONNECTIONS_PER_CLIENT;

    llhttp_settings_init(&srv->settings);
    srv->settings.on_message_begin = on_message_begin;
    srv->settings.on_url = on_url;
    srv->settings.on_version_complete = on_version_complete;
    srv->settings.on_header_field = on_header_field;
    srv->settings.on_header_value = on_header_value;
    srv->settings.on_header_value_complete = on_header_value_complete;
    srv->settings.on_headers_complete = on_headers_complete;
    srv->settings.on_chunk_header = on_chunk_header;
    srv->settings.on_body = on_body;
    srv->settings.on_message_complete = on_message_complete;

    int rc = uv_tcp_init(loop, &srv->listener);
    if (rc < 0) {
        obligo_free(srv);
        return server_uv_fail(rc, err);
    }
    srv->listener.data = srv;
    /* libuv sets SO_REUSEADDR on bind, so a restart does not wait out
     * TIME_WAIT; bind errors such as EADDRINUSE may surface at listen. */
    rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, HTTP_BACKLOG, on_connection);
    if (rc == 0) {
        struct sockaddr_storage bound;
        int len = (int)sizeof bound;
        rc = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &len);
        if (rc == 0)
            srv->port =
                ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                  : ((struct sockaddr_in *)&bound)->sin_port);
    }
    if (rc < 0) {
        /* The handle is freed in its close callback, on the loop's next
         * turn, with no on_closed to call. */
        srv->stopping = 1;
        uv_close((uv_handle_t *)&srv->listener, on_listener_close);
        return server_uv_fail(rc, err);
    }
    uv_idle_init(loop, &srv->admit_idle);
    srv->admit_idle.data = srv;
    srv->idle_open = 1;
    *out = srv;
    return 0;
}

int http_server_start(uv_loop_t *loop, const char *host, int port, const http_limits *limits,
                      http_handler handler, void *ud, http_server **out)
{
    return http_server_listen(loop, host, port, limits, handler, ud, out, NULL);
}

int http_server_port(const http_server *srv)
{
    return srv->port;
}

unsigned http_server_connections(const http_server *srv)
{
    return srv->open;
}

void http_server_on_head(http_server *srv, http_head_handler on_head)
{
    srv->on_head = on_head;
}

void http_server_stats_get(const http_server *srv, http_server_stats *st)
{
    st->buffered_body_bytes = srv->buffered;
    st->buffered_body_bytes_peak = srv->buffered_peak;
    st->bodies_waiting = srv->nwaiting;
    st->body_wait_refused = srv->wait_refused;
    st->client_refused = srv->client_refused;
}

void http_respond(http_exchange *ex, int status, const char *content_type, const char *body,
                  size_t body_len, const char *extra_headers)
{
    if (!ex)
        return;
    http_conn *c = ex->conn;
    if (c->closing || c->shutting) {
        /* The client has gone (or the connection's last answer is out):
         * nothing to send. This may free c, and the server with it. */
        queue_remove(c, ex);
        exchange_free(ex);
        return;
    }
    ex->out = response_build(status, content_type, body, body_len, extra_headers, ex->head);
    ex->answered = 1;
    conn_flush(c);
    conn_pump(c);
    conn_update(c);
}

void http_server_stop(http_server *srv, void (*on_closed)(void *arg), void *arg)
{
    if (srv->stopping)
        return;
    srv->stopping = 1;
    srv->on_closed = on_closed;
    srv->on_closed_arg = arg;
    uv_close((uv_handle_t *)&srv->listener, on_listener_close);
    uv_close((uv_handle_t *)&srv->admit_idle, on_idle_close);
    for (http_conn *c = srv->conns; c; c = c->next) {
        if (c->closing || c->shutting)
            continue;
        /* A request not yet complete is not in flight: it is dropped. */
        c->input_done = 1;
        if (c->in_request)
            request_reset(c);
        if (c->head)
            conn_update(c); /* its last answer will carry Connection: close */
        else if (c->writes > 0)
            conn_shutdown(c); /* let the answers already written arrive */
        else
            conn_close(c); /* conn_close never frees c itself */
    }
}
