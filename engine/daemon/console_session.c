/*
 * console_session.c — the console's session store (console_session.h).
 */
#include <string.h>
#include <sys/random.h>

#include "alloc.h"
#include "console_session.h"
#include "error.h"

static int console_random_hex(char out[CONSOLE_SESSION_HEX])
{
    unsigned char b[32];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t r = getrandom(b + got, sizeof b - got, 0);
        if (r <= 0)
            return OBLIGO_EIO;
        got += (size_t)r;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof b; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[64] = '\0';
    return 0;
}

static void console_drop(console_sessions *ss, int i)
{
    obligo_free(ss->all[i].note);
    obligo_free(ss->all[i].source);
    ss->all[i] = ss->all[--ss->n];
}

/* RFC 3986 §2.3: what a URI carries unencoded. */
static int console_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

char *console_source(const char *note, const char *token_id)
{
    const char *name = note && *note ? note : token_id;
    size_t len = strlen(CONSOLE_SOURCE_PREFIX);
    char *out = obligo_malloc(len + 3 * strlen(name) + 1);
    if (!out)
        return NULL;
    memcpy(out, CONSOLE_SOURCE_PREFIX, len);
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (console_unreserved(*p)) {
            out[len++] = (char)*p;
            continue;
        }
        out[len++] = '%';
        out[len++] = hex[*p >> 4];
        out[len++] = hex[*p & 15];
    }
    out[len] = '\0';
    return out;
}

static void console_drop_expired(console_sessions *ss, double now)
{
    for (int i = ss->n - 1; i >= 0; i--)
        if (ss->all[i].expires_at <= now)
            console_drop(ss, i);
}

int console_session_start(console_sessions *ss, const console_signer *who, double now,
                          double seconds, char id_out[CONSOLE_SESSION_HEX],
                          char csrf_out[CONSOLE_SESSION_HEX])
{
    if (ss->n == CONSOLE_SESSION_MAX)
        console_drop_expired(ss, now);
    if (ss->n == CONSOLE_SESSION_MAX) {
        int oldest = 0;
        for (int i = 1; i < ss->n; i++)
            if (ss->all[i].created_at < ss->all[oldest].created_at)
                oldest = i;
        console_drop(ss, oldest);
    }
    if (ss->n == ss->cap) {
        int cap = ss->cap ? ss->cap * 2 : 16;
        console_session *all = obligo_realloc(ss->all, (size_t)cap * sizeof *all);
        if (!all)
            return OBLIGO_ENOMEM;
        ss->all = all;
        ss->cap = cap;
    }
    console_session *s = &ss->all[ss->n];
    memset(s, 0, sizeof *s);
    int rc = console_random_hex(id_out);
    if (rc == 0)
        rc = console_random_hex(s->csrf);
    if (rc == 0)
        rc = digest_bytes(s->id_hash, id_out, strlen(id_out));
    if (rc) {
        memset(id_out, 0, CONSOLE_SESSION_HEX);
        return rc;
    }
    s->note = who->note ? obligo_strdup(who->note) : NULL;
    s->source = console_source(who->note, who->token_id);
    if ((who->note && !s->note) || !s->source) {
        obligo_free(s->note);
        obligo_free(s->source);
        memset(id_out, 0, CONSOLE_SESSION_HEX);
        return OBLIGO_ENOMEM;
    }
    memcpy(s->token_hash, who->token_hash, DIGEST_HEX_LEN);
    s->role = who->role;
    s->created_at = now;
    s->expires_at = now + seconds;
    memcpy(csrf_out, s->csrf, CONSOLE_SESSION_HEX);
    ss->n++;
    return 0;
}

const char *console_cookie_value(const char *cookie, const char *name, char *buf, size_t n)
{
    size_t len = strlen(name);
    for (const char *p = cookie; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        if (!end)
            end = p + strlen(p);
        if ((size_t)(end - p) > len && strncmp(p, name, len) == 0 && p[len] == '=') {
            const char *v = p + len + 1;
            size_t vlen = (size_t)(end - v);
            while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
                vlen--;
            if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') { /* a quoted value */
                v++;
                vlen -= 2;
            }
            if (vlen + 1 > n)
                return NULL;
            memcpy(buf, v, vlen);
            buf[vlen] = '\0';
            return buf;
        }
        p = end;
    }
    return NULL;
}

console_session *console_session_find(console_sessions *ss, const char *cookie, double now)
{
    char id[CONSOLE_SESSION_HEX];
    if (!console_cookie_value(cookie, CONSOLE_SESSION_COOKIE, id, sizeof id) || strlen(id) != 64)
        return NULL;
    char hash[DIGEST_HEX_LEN];
    if (digest_bytes(hash, id, 64) != 0)
        return NULL;
    for (int i = 0; i < ss->n; i++) {
        if (memcmp(ss->all[i].id_hash, hash, DIGEST_HEX_LEN) != 0)
            continue;
        if (ss->all[i].expires_at <= now) {
            console_drop(ss, i);
            return NULL;
        }
        return &ss->all[i];
    }
    return NULL;
}

void console_session_end(console_sessions *ss, console_session *s)
{
    if (s && s >= ss->all && s < ss->all + ss->n)
        console_drop(ss, (int)(s - ss->all));
}

void console_session_end_token(console_sessions *ss, const char *token_hash)
{
    for (int i = ss->n - 1; i >= 0; i--)
        if (memcmp(ss->all[i].token_hash, token_hash, DIGEST_HEX_LEN) == 0)
            console_drop(ss, i);
}

int console_session_csrf_ok(const console_session *s, const char *header)
{
    if (!s || !header || strlen(header) != 64)
        return 0;
    unsigned char diff = 0;
    for (int i = 0; i < 64; i++)
        diff |= (unsigned char)(s->csrf[i] ^ header[i]);
    return diff == 0;
}

void console_sessions_free(console_sessions *ss)
{
    while (ss->n)
        console_drop(ss, ss->n - 1);
    obligo_free(ss->all);
    memset(ss, 0, sizeof *ss);
}
