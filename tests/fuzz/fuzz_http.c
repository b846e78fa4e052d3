/*
 * fuzz_http.c — the HTTP/1.1 server of engine/transport/ (llhttp,
 * framing, pipelining, limits, the order of answers) fed hostile bytes.
 *
 * The server has no entry point that parses without a connection: bytes
 * reach llhttp only through a libuv stream read (on_read -> conn_parse), and
 * answers leave through uv_write on the same stream. Rather than add a seam
 * to the engine, the harness does what tests/unit/transport/test_transport_http.c
 * does, in one thread: the server listens on 127.0.0.1 (a port the kernel
 * picks) on a loop of the harness's own, and for every input a libuv client
 * on the same loop connects, sends the input (in two writes, with a turn of
 * the loop between them, so that requests also arrive in pieces), ends its
 * side, reads every answer until the server closes, and closes with a reset
 * (no TIME_WAIT left behind). The loop runs until the client is closed, the
 * server holds no connection and no deferred answer is owed, so every
 * connection is freed before the next input.
 *
 * The handler answers at once, except for paths starting "/later", which
 * are answered on the next turn of the loop in reverse order (the server
 * must still send them in request order), and "/big", whose answer is large
 * enough to fill the socket (write back-pressure). Limits are small so that
 * 413 and 431 are within reach of small inputs.
 *
 * Properties checked: the server answers every connection and closes it
 * (a hang is a libFuzzer timeout); every answer starts with "HTTP/1.1 ";
 * no memory is left behind (ASan's leak check).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

#include "error.h"
#include "fuzz.h"
#include "transport_http.h"

#define LATER_MAX 128
#define BIG_BYTES (256 * 1024)

static uv_loop_t loop;
static http_server *srv;
static int port;
static char *big;

/* Answers owed for "/later" requests, answered by later_timer. */
static struct {
    http_exchange *ex;
    char body[64];
} later[LATER_MAX];
static int nlater;
static uv_timer_t later_timer;

/* The client of the current input. */
static struct {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write[2];
    uv_shutdown_t shutdown;
    const char *data;
    size_t size, sent_first;
    int connected, closed, writes_pending;
    size_t received;
    char head[9]; /* the first bytes received: "HTTP/1.1 " */
    size_t head_len;
} cl;

static void on_later(uv_timer_t *t)
{
    (void)t;
    /* in reverse order: the server must still answer in request order */
    while (nlater > 0) {
        nlater--;
        http_respond(later[nlater].ex, 202, "application/json", later[nlater].body,
                     strlen(later[nlater].body), "X-Later: 1\r\n");
    }
}

static void handler(void *ud, const http_request *req, http_exchange *ex)
{
    (void)ud;
    FUZZ_CHECK(req->method && req->path && req->query && req->content_type && req->authorization,
               "a request member is NULL");
    FUZZ_CHECK(req->body_len == 0 || (req->body && req->body[req->body_len] == '\0'),
               "the body is not NUL-terminated");
    FUZZ_CHECK(req->content_type_raw && req->content_encoding, "a request member is NULL");
    FUZZ_CHECK(req->nheaders >= 0 && req->nheaders <= HTTP_MAX_HEADERS &&
                   (req->nheaders == 0 || req->headers),
               "the header lines are not there");
    for (int i = 0; i < req->nheaders; i++) {
        FUZZ_CHECK(req->headers[i].name && req->headers[i].value, "a header line is NULL");
        for (const char *p = req->headers[i].name; *p; p++)
            FUZZ_CHECK(!(*p >= 'A' && *p <= 'Z'), "a header name is not lower-cased");
    }
    FUZZ_CHECK(http_request_header(req, "content-type") || !*req->content_type_raw,
               "content_type_raw without a Content-Type line");
    if (strncmp(req->path, "/later", 6) == 0 && nlater < LATER_MAX) {
        later[nlater].ex = ex;
        snprintf(later[nlater].body, sizeof later[nlater].body, "{\"n\":%d,\"len\":%zu}", nlater,
                 req->body_len);
        nlater++;
        uv_timer_start(&later_timer, on_later, 0, 0);
        return;
    }
    if (strcmp(req->path, "/big") == 0) {
        http_respond(ex, 200, "text/plain", big, BIG_BYTES, NULL);
        return;
    }
    char body[256];
    int n = snprintf(body, sizeof body,
                     "{\"method\":\"%s\",\"path_len\":%zu,\"query_len\":%zu,\"type_len\":%zu,"
                     "\"body_len\":%zu,\"loopback\":%d}",
                     req->method, strlen(req->path), strlen(req->query), strlen(req->content_type),
                     req->body_len, req->peer_is_loopback);
    long status = strncmp(req->path, "/status/", 8) == 0 ? strtol(req->path + 8, NULL, 10) : 200;
    if (status < 100 || status > 599)
        status = 200;
    http_respond(ex, (int)status, "application/json", body, (size_t)n,
                 strcmp(req->path, "/extra") == 0 ? "X-Extra: 1\r\nCache-Control: no-store\r\n"
                                                  : NULL);
}

/* "/refuse/NNN" is refused with NNN when its head is in (before its body
 * is read), the way serve.c refuses a missing token. */
static int head_handler(void *ud, const http_head *h, http_answer *ans)
{
    (void)ud;
    if (strncmp(h->path, "/refuse/", 8) != 0)
        return 0;
    long status = strtol(h->path + 8, NULL, 10);
    ans->status = status >= 200 && status <= 599 ? (int)status : 401;
    ans->content_type = "application/json";
    ans->body_len = (size_t)snprintf(ans->body, sizeof ans->body, "{\"error\":\"refused\"}");
    ans->close = strcmp(h->query, "close") == 0;
    return 1;
}

static void on_server_closed(void *arg)
{
    *(int *)arg = 1;
}

static void on_handle_closed(uv_handle_t *h)
{
    (void)h;
}

static void fuzz_http_cleanup(void)
{
    int closed = 0;
    http_server_stop(srv, on_server_closed, &closed);
    while (!closed)
        uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&later_timer, on_handle_closed);
    uv_run(&loop, UV_RUN_DEFAULT);
    FUZZ_CHECK(uv_loop_close(&loop) == 0, "handles left open on the loop");
    free(big);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN); /* a write to a closed socket is an error, not a signal */
    FUZZ_CHECK(uv_loop_init(&loop) == 0, "uv_loop_init");
    uv_timer_init(&loop, &later_timer);
    big = malloc(BIG_BYTES);
    FUZZ_CHECK(big != NULL, "out of memory");
    memset(big, 'x', BIG_BYTES);
    /* Room for two bodies at most: pipelined ones wait for room. */
    http_limits limits = {.max_header_bytes = 2048,
                          .max_body_bytes = 8192,
                          .max_buffered_body_bytes = 16386,
                          .body_wait_ms = 100};
    int rc = http_server_start(&loop, "127.0.0.1", 0, &limits, handler, NULL, &srv);
    FUZZ_CHECK(rc == 0, "http_server_start: %s", obligo_strerror(rc));
    http_server_on_head(srv, head_handler);
    port = http_server_port(srv);
    atexit(fuzz_http_cleanup);
    return 0;
}

static void on_client_closed(uv_handle_t *h)
{
    (void)h;
    cl.closed = 1;
}

static void client_close(void)
{
    if (uv_is_closing((uv_handle_t *)&cl.tcp))
        return;
    /* a reset rather than a FIN: no TIME_WAIT per input */
    uv_os_fd_t fd;
    if (cl.connected && uv_fileno((uv_handle_t *)&cl.tcp, &fd) == 0) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    uv_close((uv_handle_t *)&cl.tcp, on_client_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    static char rbuf[64 * 1024];
    *buf = uv_buf_init(rbuf, sizeof rbuf);
}

static void on_client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)s;
    if (nread < 0) {
        client_close(); /* the server closed, or reset */
        return;
    }
    size_t n = (size_t)nread;
    for (size_t i = 0; i < n && cl.head_len < sizeof cl.head; i++)
        cl.head[cl.head_len++] = buf->base[i];
    cl.received += n;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)req;
    (void)status;
}

static void on_write(uv_write_t *req, int status)
{
    cl.writes_pending--;
    if (status < 0 && status != UV_ECANCELED)
        client_close(); /* the server has stopped reading: it answered and closed */
}

static void client_write(size_t off, size_t n, int i)
{
    if (n == 0 || uv_is_closing((uv_handle_t *)&cl.tcp))
        return;
    uv_buf_t b = uv_buf_init((char *)cl.data + off, (unsigned)n);
    if (uv_write(&cl.write[i], (uv_stream_t *)&cl.tcp, &b, 1, on_write) == 0)
        cl.writes_pending++;
    else
        client_close();
}

static void on_connect(uv_connect_t *req, int status)
{
    (void)req;
    FUZZ_CHECK(status == 0, "cannot connect to the server: %s", uv_strerror(status));
    cl.connected = 1;
    FUZZ_CHECK(uv_read_start((uv_stream_t *)&cl.tcp, on_alloc, on_client_read) == 0,
               "uv_read_start");
    client_write(0, cl.sent_first, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memset(&cl, 0, sizeof cl);
    cl.data = (const char *)data;
    cl.size = size;
    cl.sent_first = size / 2;
    FUZZ_CHECK(uv_tcp_init(&loop, &cl.tcp) == 0, "uv_tcp_init");
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    FUZZ_CHECK(uv_tcp_connect(&cl.connect, &cl.tcp, (const struct sockaddr *)&addr, on_connect) ==
                   0,
               "uv_tcp_connect");
    /* connect, accept, the first half, and its parsing */
    while (!cl.connected && !cl.closed)
        uv_run(&loop, UV_RUN_ONCE);
    for (int i = 0; i < 4; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    /* the second half, then the end of our side */
    client_write(cl.sent_first, size - cl.sent_first, 1);
    if (!uv_is_closing((uv_handle_t *)&cl.tcp) &&
        uv_shutdown(&cl.shutdown, (uv_stream_t *)&cl.tcp, on_shutdown) != 0)
        client_close();
    while (!cl.closed || nlater > 0 || http_server_connections(srv) > 0)
        uv_run(&loop, UV_RUN_ONCE);
    /* close callbacks of this turn have run: the connection is freed */
    uv_run(&loop, UV_RUN_NOWAIT);
    if (cl.head_len > 0)
        FUZZ_CHECK(cl.head_len < sizeof cl.head || memcmp(cl.head, "HTTP/1.1 ", 9) == 0,
                   "an answer does not start with HTTP/1.1: \"%.*s\"", (int)cl.head_len, cl.head);
    return 0;
}
