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

/* The plain SHA-256 of n bytes, as `sha256sum` prints it (no separator):
 * what a client can recompute over the bytes it sent. */
int digest_bytes(char out[DIGEST_HEX_LEN], const void *p, size_t n);

/* One link of a hash chain, for the journal and the registers alike. prev
 * is the hash of the link before (empty before the first); the link claims
 * prev_hash and hash, and want is its hash recomputed. Returns 0 or a mask
 * of DIGEST_CHAIN_UNLINKED (prev_hash is not the link before's hash) and
 * DIGEST_CHAIN_ALTERED (hash is not want), and moves prev on to hash. */
#define DIGEST_CHAIN_UNLINKED 1
#define DIGEST_CHAIN_ALTERED 2
int digest_chain_step(char prev[DIGEST_HEX_LEN], const char *prev_hash, const char *want,
                      const char *hash);

/* Where a chain check reports a broken link: one line for a person, such
 * as "event 12 (urn:x e-1) was altered: its hash does not match". */
typedef void (*digest_finding)(void *ud, const char *finding);

#endif
