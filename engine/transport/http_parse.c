/*
 * http_parse.c — reading requests for the HTTP server (transport_http.c):
 * llhttp's callbacks, which gather a request's head and body on its
 * connection, the strict framing llhttp leaves to us (head_scan; the
 * request line's version, header names, Host), the head handler's say
 * before a body byte is read (head_decide), and conn_parse, which drives
 * llhttp over the bytes read and hands each complete request on.
 *
 * Depends on: llhttp, http_internal.h (the connection, and the core's
 * queue and answers), http_body.c for room for a body, http_response.c for
 * the head handler's answer, alloc.h and error.h. Runs on the loop thread.
 */
#include "http_internal.h"

#include "alloc.h"
#include "error.h"
#include "text.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- the request target and header values ----------------------------- */

static int is_ows(char ch)
{
    return ch == ' ' || ch == '\t';
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
        int hi = s + 2 < path_end ? text_hex_value(s[1]) : -1;
        int lo = hi >= 0 ? text_hex_value(s[2]) : -1;
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

/* Keeps every header line for the handler: "name\0value\0" in c->hdrs,
 * the name lower-cased, the value without blanks around it. Their bytes
 * are bounded by max_header_bytes (header_count), their number here. */
static int header_keep(http_conn *c)
{
    if (c->nhdrs >= HTTP_MAX_HEADERS)
        return parse_refuse_why(c, 431, "more header lines than the server takes (256)");
    const char *v = c->value.p ? c->value.p : "";
    size_t n = c->value.len;
    while (n > 0 && is_ows(v[n - 1]))
        n--;
    while (n > 0 && is_ows(*v)) {
        v++;
        n--;
    }
    size_t at = c->hdrs.len;
    if (dbuf_append(&c->hdrs, c->field.p, c->field.len) < 0 || dbuf_append(&c->hdrs, "", 1) < 0 ||
        dbuf_append(&c->hdrs, v, n) < 0 || dbuf_append(&c->hdrs, "", 1) < 0)
        return parse_refuse(c, 503);
    for (size_t i = at; i < at + c->field.len; i++)
        if (c->hdrs.p[i] >= 'A' && c->hdrs.p[i] <= 'Z')
            c->hdrs.p[i] = (char)(c->hdrs.p[i] - 'A' + 'a');
    c->nhdrs++;
    return 0;
}

/* c->hdrs as an array, in one block (c->headers) whose text follows the
 * array. 0, or -1 when memory ran out. */
static int headers_build(http_conn *c)
{
    size_t arr = (size_t)c->nhdrs * sizeof(http_header);
    http_header *h = obligo_malloc(arr + c->hdrs.len + 1);
    if (!h)
        return -1;
    char *text = (char *)h + arr;
    if (c->hdrs.len)
        memcpy(text, c->hdrs.p, c->hdrs.len);
    text[c->hdrs.len] = '\0';
    const char *t = text;
    for (int i = 0; i < c->nhdrs; i++) {
        h[i].name = t;
        t += strlen(t) + 1;
        h[i].value = t;
        t += strlen(t) + 1;
    }
    c->headers = h;
    return 0;
}

const char *http_header_find(const http_header *headers, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(headers[i].name, name) == 0)
            return headers[i].value;
    return NULL;
}

int http_header_count(const http_header *headers, int n, const char *name)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += strcmp(headers[i].name, name) == 0;
    return k;
}

const char *http_request_header(const http_request *req, const char *name)
{
    return http_header_find(req->headers, req->nheaders, name);
}

/* The body's coding from every Content-Encoding line (a list, RFC 9110
 * 8.4): 0 with *coding set, or -1 with the message of the 415 in msg. */
static int body_coding_of(const http_conn *c, enum body_coding *coding, char *msg, size_t msgn)
{
    *coding = CODING_NONE;
    const char *first = NULL;
    for (int i = 0; i < c->nhdrs; i++) {
        if (strcmp(c->headers[i].name, "content-encoding") != 0)
            continue;
        const char *v = c->headers[i].value;
        while (*v) {
            while (*v == ',' || is_ows(*v))
                v++;
            const char *a = v;
            while (*v && *v != ',')
                v++;
            const char *b = v;
            while (b > a && is_ows(b[-1]))
                b--;
            size_t n = (size_t)(b - a);
            if (n == 0 || (n == 8 && strncasecmp(a, "identity", 8) == 0))
                continue;
            enum body_coding one = CODING_NONE;
            if ((n == 4 && strncasecmp(a, "gzip", 4) == 0) ||
                (n == 6 && strncasecmp(a, "x-gzip", 6) == 0))
                one = CODING_GZIP;
            else if (n == 7 && strncasecmp(a, "deflate", 7) == 0)
                one = CODING_DEFLATE;
            /* the client's word, reduced to token characters: it is put in
             * a JSON string unescaped */
            char name[33];
            size_t k = 0;
            for (size_t j = 0; j < n && k < sizeof name - 1; j++) {
                char ch = a[j];
                if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || strchr("-._+", ch))
                    name[k++] = ch;
            }
            name[k] = '\0';
            if (one == CODING_NONE) {
                snprintf(msg, msgn,
                         "Content-Encoding %s is not supported: send the body as gzip, deflate "
                         "or identity",
                         k ? name : "(that)");
                return -1;
            }
            if (*coding != CODING_NONE) {
                snprintf(msg, msgn,
                         "more than one Content-Encoding (%s, then %s) is not supported: send "
                         "the body with one of gzip, deflate or identity",
                         first, k ? name : "?");
                return -1;
            }
            *coding = one;
            first = one == CODING_GZIP ? "gzip" : "deflate";
        }
    }
    return 0;
}

static int on_header_value_complete(llhttp_t *p)
{
    http_conn *c = parser_conn(p);
    /* llhttp takes a line such as ": v"; a field name is a token of at
     * least one character (RFC 9110 5.1). */
    if (!c->headers_done && c->field.len == 0)
        return parse_refuse_why(c, 400, "a header line has no name before its colon");
    if (!c->headers_done && header_keep(c) < 0)
        return -1;
    int rc = c->headers_done ? 0 : header_store(c);
    c->field.len = c->value.len = 0;
    return rc;
}

static int on_version_complete(llhttp_t *p)
{
    parser_conn(p)->have_version = 1;
    return 0;
}

static const char *header_or_empty(const http_conn *c, const char *name)
{
    const char *v = c->headers ? http_header_find(c->headers, c->nhdrs, name) : NULL;
    return v ? v : "";
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
        .content_type_raw = header_or_empty(c, "content-type"),
        .headers = c->headers,
        .nheaders = c->nhdrs,
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
    if (headers_build(c) < 0)
        return parse_refuse(c, 503);
    int has_length = (p->flags & F_CONTENT_LENGTH) != 0;
    c->chunked = (p->flags & F_CHUNKED) != 0;
    int has_body = (has_length && p->content_length > 0) || c->chunked;
    /* Who may ask what is decided before a byte of the body is read. */
    if (head_decide(c, p, has_body) < 0)
        return -1;
    if (c->refused)
        return 0; /* no body: the answer waits for the request's end */
    /* A coding the server cannot undo is refused before the body is read
     * (RFC 9110 15.5.16: 415, with the codings it takes). */
    char msg[200];
    if (has_body && body_coding_of(c, &c->coding, msg, sizeof msg) < 0) {
        c->fail_write = response_error_with(415, msg, "Accept-Encoding: gzip, deflate\r\n");
        return c->fail_write ? -1 : parse_refuse(c, 503);
    }
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
    /* A body sent compressed is handed on inflated; one that does not
     * inflate, or inflates past the limit, is answered here in its turn
     * (the request was framed well: the connection goes on). */
    conn_write *coding_refusal = NULL;
    const char *coding_name = "";
    if (!c->refused && c->coding != CODING_NONE && c->body.len > 0) {
        char *why = NULL;
        int status = body_inflate(c, c->coding, &why);
        if (status) {
            coding_refusal = response_error(status, why);
            obligo_free(why);
            if (!coding_refusal)
                return parse_refuse(c, 503);
        } else {
            coding_name = c->coding == CODING_GZIP ? "gzip" : "deflate";
        }
    }
    http_exchange *ex = exchange_new(c);
    if (!ex) {
        obligo_free(coding_refusal);
        return parse_refuse(c, 503);
    }
    ex->req.content_encoding = coding_name;
    ex->headers = c->headers;
    c->headers = NULL;
    ex->req.headers = ex->headers;
    ex->req.nheaders = ex->headers ? c->nhdrs : 0;
    const char *ct_raw =
        ex->headers ? http_header_find(ex->headers, c->nhdrs, "content-type") : NULL;
    ex->req.content_type_raw = ct_raw ? ct_raw : "";
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
    } else if (coding_refusal) {
        ex->out = coding_refusal;
        ex->answered = 1;
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
    dbuf_trim(&c->hdrs);
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
size_t conn_parse(http_conn *c, const char *data, size_t len)
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

/* Points llhttp's callbacks at this file's. s must outlive every parser
 * that uses it (the server holds it, http_server_listen fills it). */
void parse_settings_init(llhttp_settings_t *s)
{

    llhttp_settings_init(s);
    s->on_message_begin = on_message_begin;
    s->on_url = on_url;
    s->on_version_complete = on_version_complete;
    s->on_header_field = on_header_field;
    s->on_header_value = on_header_value;
    s->on_header_value_complete = on_header_value_complete;
    s->on_headers_complete = on_headers_complete;
    s->on_chunk_header = on_chunk_header;
    s->on_body = on_body;
    s->on_message_complete = on_message_complete;
}
