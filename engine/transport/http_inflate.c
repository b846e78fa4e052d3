/*
 * http_inflate.c — a request body's Content-Encoding undone for the HTTP
 * server (http_parse.c calls it once a body is complete): gzip and deflate
 * inflated with zlib into a buffer that grows as output comes, every byte
 * of it counted against the server's max_buffered_body_bytes before it is
 * allocated, and never past max_body_bytes: a compression bomb (64 MiB of
 * zeros in 64 KiB) is stopped with 413 once max_body_bytes + 1 bytes have
 * come out, whatever it would have grown to.
 *
 * gzip accepts concatenated members (RFC 1952 2.2, what `cat a.gz b.gz`
 * makes) and nothing after the last one. deflate is the zlib format (RFC
 * 9110 8.4.1.2 and RFC 1950); a body that does not start with a zlib
 * header is tried as raw deflate (RFC 1951), which some clients send
 * under that name.
 *
 * Depends on: zlib, http_internal.h (the connection, the body budget of
 * http_body.c), alloc.h and error.h. Runs on the loop thread.
 */
#include "http_internal.h"

#include "alloc.h"
#include "error.h"

#include <string.h>
#include <zlib.h>

#define INFLATE_FIRST ((size_t)64 * 1024) /* the first output buffer, at most */

/* The message for a stream that is not of its coding. */
static char *inflate_why(enum body_coding coding, const char *reason)
{
    const char *name = coding == CODING_GZIP ? "gzip" : "deflate";
    return obligo_asprintf("the body is not valid %s data (Content-Encoding: %s): %s", name, name,
                           reason && *reason ? reason : "it does not inflate");
}

int body_inflate(http_conn *c, enum body_coding coding, char **why)
{
    http_server *srv = c->srv;
    *why = NULL;
    size_t limit = srv->limits.max_body_bytes;
    /* limit + 1 bytes of output tell a body of exactly limit bytes from a
     * longer one, and one byte more holds the NUL */
    size_t top = limit + 2;
    size_t cap = c->body.len < INFLATE_FIRST / 4 ? INFLATE_FIRST : c->body.len * 4;
    if (cap > top || cap < c->body.len)
        cap = top;
    if (budget_take(srv, cap)) {
        *why = obligo_strdup("the server holds as many request bodies as it may; retry later");
        return 503;
    }
    size_t held = cap;
    char *out = obligo_malloc(cap);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    int status = 0;
    int raw_tried = 0;
    if (!out || inflateInit2(&zs, coding == CODING_GZIP ? 15 + 16 : 15) != Z_OK) {
        obligo_free(out);
        body_unreserve(srv, held);
        *why = obligo_strdup("out of memory; retry later");
        return 503;
    }
    zs.next_in = (Bytef *)c->body.p;
    zs.avail_in = (uInt)c->body.len; /* at most max_body_bytes, below 4 GiB */
    size_t olen = 0;
    for (;;) {
        zs.next_out = (Bytef *)out + olen;
        zs.avail_out = (uInt)(cap - 1 - olen);
        int rc = inflate(&zs, Z_NO_FLUSH);
        olen = cap - 1 - zs.avail_out;
        if (olen > limit) {
            *why = obligo_asprintf("the body inflates to more than the limit of %zu bytes "
                                   "(max_body_bytes applies to the decoded body)",
                                   limit);
            status = 413;
            break;
        }
        if (rc == Z_STREAM_END) {
            if (zs.avail_in == 0)
                break; /* done */
            if (coding == CODING_GZIP && inflateReset(&zs) == Z_OK)
                continue; /* another member follows */
            *why = inflate_why(coding, "bytes follow the end of the compressed stream");
            status = 400;
            break;
        }
        if (rc == Z_DATA_ERROR && coding == CODING_DEFLATE && !raw_tried && zs.total_out == 0) {
            /* not the zlib format: perhaps raw deflate */
            raw_tried = 1;
            if (inflateReset2(&zs, -15) == Z_OK) {
                zs.next_in = (Bytef *)c->body.p;
                zs.avail_in = (uInt)c->body.len;
                continue;
            }
        }
        if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_STREAM_ERROR) {
            *why = inflate_why(coding, rc == Z_NEED_DICT ? "it needs a preset dictionary" : zs.msg);
            status = 400;
            break;
        }
        if (rc == Z_MEM_ERROR) {
            *why = obligo_strdup("out of memory; retry later");
            status = 503;
            break;
        }
        if (zs.avail_out > 0) {
            /* Z_OK or Z_BUF_ERROR with room left: the input ran out before
             * the stream's end */
            if (zs.avail_in == 0 || rc == Z_BUF_ERROR) {
                *why = inflate_why(coding, "the compressed stream ends early (truncated)");
                status = 400;
                break;
            }
            continue;
        }
        /* the output is full: more room, within the limit and the budget */
        size_t ncap = cap > top / 2 ? top : cap * 2;
        if (budget_take(srv, ncap - cap)) {
            *why = obligo_strdup("the server holds as many request bodies as it may; retry later");
            status = 503;
            break;
        }
        held += ncap - cap;
        char *p = obligo_realloc(out, ncap);
        if (!p) {
            *why = obligo_strdup("out of memory; retry later");
            status = 503;
            break;
        }
        out = p;
        cap = ncap;
    }
    inflateEnd(&zs);
    if (status) {
        obligo_free(out);
        body_unreserve(srv, held);
        return status;
    }
    /* the inflated body replaces the sent one; what is not used goes back */
    body_release(c);
    char *fit = obligo_realloc(out, olen + 1);
    if (fit) {
        out = fit;
        body_unreserve(srv, held - (olen + 1));
        held = olen + 1;
    }
    out[olen] = '\0';
    c->body.p = out;
    c->body.len = olen;
    c->body.cap = held;
    c->body_reserved = held;
    return 0;
}
