/*
 * digest.h — SHA-256 in hex, for the journal's and registers' hash chains
 * and the rule-set revision. Backed by libcrypto. Thread-safe.
 */
#ifndef OBLIGO_DIGEST_H
#define OBLIGO_DIGEST_H

#include <stddef.h>

#define DIGEST_HEX_LEN 65 /* 64 hex digits and NUL */

/* Hashes the concatenation of n (pointer, length) parts, each followed by a
 * 0x1f separator so ("ab","c") and ("a","bc") differ. Returns 0 or
 * OBLIGO_ENOMEM. */
int digest_parts(char out[DIGEST_HEX_LEN], int n, const void *const *parts, const size_t *lens);

#endif
