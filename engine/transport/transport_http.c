/*
 * transport_http.c — the HTTP/1.1 server of transport_http.h.
 *
 * Role in the pipeline: the "transport" stage in front of decode. It turns
 * bytes on TCP connections into complete requests for one handler and puts
 * the handler's answers back on the wire in request order. What a request
 * means is not its business.
 *
 * This file is the server's core: listening and accepting, each
 * connection's state and timers, and writing answers in request order. The
 * rest is split by seam: http_parse.c reads requests (llhttp's callbacks
 * and the strict framing), http_body.c finds room for bodies under the
 * global cap and counts connections per client, http_response.c formats
 * answers; http_internal.h holds the types and functions they share.
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
#include "http_internal.h"

#include "alloc.h"
#include "error.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define HTTP_BACKLOG 1024
#define HTTP_LINGER_MS 2000 /* how long to wait for the client's close */

#define DEFAULT_MAX_HEADER_BYTES ((size_t)16 * 1024)
#define DEFAULT_MAX_BODY_BYTES ((size_t)16 * 1024 * 1024)
#define DEFAULT_IDLE_TIMEOUT_MS 60000u
#define DEFAULT_REQUEST_TIMEOUT_MS 30000u
#define DEFAULT_MAX_CONNECTIONS 20000u
#define DEFAULT_MAX_BUFFERED_BODY_BYTES ((size_t)256 * 1024 * 1024)
#define DEFAULT_BODY_WAIT_MS 5000u
#define DEFAULT_MAX_CONNECTIONS_PER_CLIENT 256u

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

int dbuf_append(dbuf *b, const char *data, size_t n)
{
    if (dbuf_reserve(b, n) < 0)
        return OBLIGO_ENOMEM;
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

void dbuf_free(dbuf *b)
{
    obligo_free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* Between requests: a buffer grown by one large request is given back, so
 * thousands of idle keep-alive connections stay small. */
void dbuf_trim(dbuf *b)
{
    if (b->cap > 1024)
        dbuf_free(b);
    else
        b->len = 0;
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

/* ---- timers ----------------------------------------------------------- */

static void on_timer(uv_timer_t *t);

void timer_set(http_conn *c, enum timer_mode mode, unsigned ms)
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
    obligo_free(ex->headers);
    obligo_free(ex);
    conn_unref(c);
}

http_exchange *exchange_new(http_conn *c)
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
    ex->req.content_type_raw = "";
    ex->req.content_encoding = "";
    ex->req.body = "";
    ex->req.peer = c->peer;
    ex->req.peer_is_loopback = c->loopback;
    return ex;
}

void queue_push(http_conn *c, http_exchange *ex)
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
void conn_flush(http_conn *c)
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

void conn_send_raw(http_conn *c, const char *text)
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

/* ---- the connection's state ------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    http_conn *c = h->data;
    buf->base = c->srv->rbuf;
    buf->len = sizeof c->srv->rbuf;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* Sets reading and the timer to what the connection's state calls for. */
void conn_update(http_conn *c)
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
void request_reset(http_conn *c)
{
    c->url.len = c->field.len = c->value.len = c->hdrs.len = 0;
    c->nhdrs = 0;
    obligo_free(c->headers);
    c->headers = NULL;
    c->coding = CODING_NONE;
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
void conn_fail(http_conn *c, int status, const char *why)
{
    conn_fail_write(c, response_error(status, why));
}

/* The same with a ready answer w (taken over; NULL: out of memory, which
 * closes the connection in the answer's turn). */
void conn_fail_write(http_conn *c, conn_write *w)
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

void conn_close(http_conn *c)
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
    dbuf_free(&c->hdrs);
    obligo_free(c);
    server_maybe_finish(srv);
}

/* ---- reading ---------------------------------------------------------- */

/* Parses input held back earlier, if its turn has come. */
void conn_pump(http_conn *c)
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

    parse_settings_init(&srv->settings);

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
