/*
 * base64.c — base64 of RFC 4648 §4 (base64.h).
 */
#include "base64.h"

#include "alloc.h"
#include "error.h"

#include <stdint.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const void *p, size_t n, size_t *out_len)
{
    const unsigned char *in = p;
    if (n > (SIZE_MAX - 1) / 4 * 3 - 3)
        return NULL;
    size_t len = (n + 2) / 3 * 4;
    char *out = obligo_malloc(len + 1);
    if (!out)
        return NULL;
    char *w = out;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *w++ = alphabet[v >> 18 & 63];
        *w++ = alphabet[v >> 12 & 63];
        *w++ = alphabet[v >> 6 & 63];
        *w++ = alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        *w++ = alphabet[v >> 18 & 63];
        *w++ = alphabet[v >> 12 & 63];
        if (i + 1 < n)
            *w++ = alphabet[v >> 6 & 63];
        else
            *w++ = '=';
        *w++ = '=';
    }
    *w = '\0';
    if (out_len)
        *out_len = len;
    return out;
}

static int value_of(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

int base64_decode(const char *s, size_t len, char **out, size_t *out_len, size_t *bad_at)
{
    *out = NULL;
    *out_len = 0;
    *bad_at = 0;
    size_t n = len;
    /* padding: at most two '=', only where the length makes them padding */
    size_t pad = 0;
    while (n > 0 && s[n - 1] == '=' && pad < 2) {
        n--;
        pad++;
    }
    for (size_t i = 0; i < n; i++) {
        if (value_of(s[i]) < 0) {
            *bad_at = i;
            return OBLIGO_EINVAL;
        }
    }
    if (pad && len % 4 != 0) {
        *bad_at = len;
        return OBLIGO_EINVAL;
    }
    if (n % 4 == 1) {
        *bad_at = len;
        return OBLIGO_EINVAL;
    }
    size_t olen = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    char *o = obligo_malloc(olen + 1);
    if (!o)
        return OBLIGO_ENOMEM;
    size_t w = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = acc << 6 | (uint32_t)value_of(s[i]);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[w++] = (char)(acc >> bits & 0xFF);
        }
    }
    o[w] = '\0';
    *out = o;
    *out_len = w;
    return 0;
}
