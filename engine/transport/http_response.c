/*
 * http_response.c — answers of the HTTP server (transport_http.c) as the
 * bytes that go on the wire: the status line and its reason phrase,
 * Content-Type and Content-Length, the handler's extra headers and the
 * body, in one conn_write; and the server's own {"error": text} answers.
 * The Connection line is added by the core when the answer is sent.
 *
 * Depends on: http_internal.h (conn_write) and alloc.h. Pure functions;
 * called on the loop thread.
 */
#define _GNU_SOURCE /* mempcpy */

#include "http_internal.h"

#include "alloc.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

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
conn_write *response_build(int status, const char *content_type, const char *body, size_t body_len,
                           const char *extra, int head_only)
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
    /* Bytes, not a string: the head's NUL from snprintf is overwritten, and
     * the writer sends head_len + rest_len bytes. */
    char *r = mempcpy(w->data + head, ex, ex_len);
    if (ex_crlf)
        r = mempcpy(r, "\r\n", 2);
    r = mempcpy(r, "\r\n", 2);
    if (send_len)
        memcpy(r, body, send_len);
    w->head_len = (size_t)head;
    w->rest_len = rest;
    return w;
}

/* The answer the server gives on its own (limits, malformed input): the
 * project's {"error": text} with why (static text of this file, nothing
 * the client sent, so it needs no escaping) or the reason phrase. */
conn_write *response_error(int status, const char *why)
{
    return response_error_with(status, why, NULL);
}

conn_write *response_error_with(int status, const char *why, const char *extra)
{
    char body[256];
    int n = snprintf(body, sizeof body, "{\"error\":\"%s\"}", why ? why : status_reason(status));
    if (n < 0 || (size_t)n >= sizeof body)
        n = snprintf(body, sizeof body, "{\"error\":\"%s\"}", status_reason(status));
    /* A 503 of the server's own is about load (memory, room for a body):
     * worth trying again soon. */
    return response_build(status, "application/json", body, (size_t)n,
                          extra           ? extra
                          : status == 503 ? "Retry-After: 1\r\n"
                                          : NULL,
                          0);
}
