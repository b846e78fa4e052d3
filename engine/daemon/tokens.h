/*
 * tokens.h — API bearer tokens for the HTTP API (DESIGN §4).
 *
 * A token has one role: `ingest` (may post events), `officer` (may read) or
 * `admin` (both). The token text ("obl_" and 40 hex digits, 160 random bits)
 * is shown once, at creation; the database keeps only its SHA-256, so a copy
 * of the database does not give access. Checking a request therefore hashes
 * the presented token and looks the hash up: no comparison of secrets.
 *
 * Depends on store.h (the `tokens` table of schema migration 2), digest.h
 * and getrandom(2). Every function uses the store it is given on the calling
 * thread, under the store's rule of one thread at a time. tokens_list,
 * tokens_any and tokens_check only read, so they work on a store opened
 * read-only (the server's read connection on its loop thread).
 */
#ifndef OBLIGO_TOKENS_H
#define OBLIGO_TOKENS_H

#include <cjson/cJSON.h>

#include "digest.h"
#include "store.h"

#define TOKENS_PREFIX "obl_"
#define TOKENS_SECRET_BYTES 20 /* 40 hex digits after the prefix */

/* Creates a token with role "ingest", "officer" or "admin" and an optional
 * note (may be NULL; copied into the database). On success *token_out gets
 * the token text and *id_out its id ("tok_" and 8 hex digits); the caller
 * frees both with obligo_free. Needs a writable store; runs as one statement,
 * inside the caller's transaction if one is open. Returns 0, OBLIGO_EINVAL
 * for any other role, OBLIGO_EIO when the system has no randomness to give,
 * or a store error; on failure both outputs are NULL. */
int tokens_create(store *st, const char *role, const char *note, char **token_out, char **id_out);

/* All tokens, oldest first, as a new JSON array (caller frees with
 * cJSON_Delete) of {id, role, created_at, revoked_at?, note?} with times in
 * RFC 3339 UTC. Never contains the hash. A database whose schema predates
 * tokens gives an empty array. NULL on error. */
cJSON *tokens_list(store *st);

/* Marks token id revoked now. Returns 0, OBLIGO_ENOTFOUND when no token has
 * that id or it was revoked already, or a store error. Needs a writable
 * store. */
int tokens_revoke(store *st, const char *id);

/* 1 when any token was ever created (revoked ones count: once tokens are in
 * use the API must not fall back to open access because the last one was
 * revoked), 0 when none, or a negative code. */
int tokens_any(store *st);

/* Checks an Authorization header value (borrowed, may be NULL): "Bearer"
 * in any case, one or more spaces, the token; blanks around the whole value
 * are tolerated. Returns 0 and points *role_out at a static string "ingest",
 * "officer" or "admin" when the token exists and is not revoked;
 * OBLIGO_ENOTFOUND when the value is missing, malformed, unknown or revoked
 * (*role_out is then NULL); or a store error. */
int tokens_check(store *st, const char *authorization, const char **role_out);

/* A snapshot of the tokens table for a server's loop thread: checking a
 * request against it costs a hash and no database read. It is read again
 * when older than TOKENS_CACHE_SECONDS, so a token created or revoked with
 * `obligo token` counts within that time. One thread at a time. */
#define TOKENS_CACHE_SECONDS 1.0

typedef struct tokens_cached {
    char hash[DIGEST_HEX_LEN];
    const char *role;
    char id[16]; /* "tok_" and 8 hex digits */
    char *note;  /* the note given at creation, or NULL */
} tokens_cached;

typedef struct tokens_cache {
    double loaded_at; /* the caller's clock, in seconds; 0: never loaded */
    int any;          /* any token was ever created (see tokens_any) */
    int n;            /* valid (not revoked) tokens */
    tokens_cached *valid;
} tokens_cache;

/* Reads the table again when the snapshot is older than
 * TOKENS_CACHE_SECONDS at `now` (any monotonic clock, in seconds). Returns 0,
 * or a store error with the old snapshot kept (and not counted fresh). */
int tokens_cache_refresh(tokens_cache *c, store *st, double now);
/* tokens_check against the snapshot: 0 with *role_out, or
 * OBLIGO_ENOTFOUND (or an error hashing). */
int tokens_cache_check(const tokens_cache *c, const char *authorization, const char **role_out);
void tokens_cache_free(tokens_cache *c);

/* The SHA-256 (as kept in the tokens table) of the token an Authorization
 * value presents, into hash: 0, OBLIGO_ENOTFOUND when the value presents
 * none of our shape, or an error hashing. For the console's sign-in, which
 * keeps the hash, never the token. */
int tokens_presented_hash(const char *authorization, char hash[DIGEST_HEX_LEN]);

/* The role (static) of the valid token with this hash in the snapshot, or
 * NULL when none is (unknown or revoked since). */
const char *tokens_cache_role_of(const tokens_cache *c, const char *hash);
/* The valid token with this hash in the snapshot (its id and note), or
 * NULL. Borrowed until the next refresh. */
const tokens_cached *tokens_cache_find(const tokens_cache *c, const char *hash);

/* 1 when role (may be NULL) may write (post events, reload rules) when
 * `write` is non-zero, or read otherwise: ingest writes, officer reads, admin
 * does both. 0 otherwise. Pure; any thread. */
int tokens_allows(const char *role, int write);

#endif
