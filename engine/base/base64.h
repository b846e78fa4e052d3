/*
 * base64.h — base64 of RFC 4648 §4 (the standard alphabet), as CloudEvents'
 * JSON format carries binary data (data_base64) and as binary-mode events
 * with a body that is not JSON are journaled. Pure; any thread.
 */
#ifndef OBLIGO_BASE64_H
#define OBLIGO_BASE64_H

#include <stddef.h>

/* The base64 text of the n bytes at p, padded, NUL-terminated (*out_len
 * its length when out_len is not NULL); the caller frees it. NULL when
 * memory ran out. */
char *base64_encode(const void *p, size_t n, size_t *out_len);

/* Decodes the len characters at s: the standard alphabet, '=' padding at
 * the end optional, nothing else (no blanks, no URL-safe alphabet).
 * Returns 0 with *out (NUL-terminated, *out_len bytes; caller frees),
 * OBLIGO_EINVAL for text that is not base64 (*bad_at: offset of the first
 * character that cannot be, or len when the length is impossible), or
 * OBLIGO_ENOMEM. */
int base64_decode(const char *s, size_t len, char **out, size_t *out_len, size_t *bad_at);

#endif
