/*
 * console_session.h — the signed-in sessions of the web console
 * (README, "Console"): a session is a random id the browser holds in an
 * HttpOnly cookie, tied to the SHA-256 of the token that signed in (never
 * the token), its role, a CSRF token and an expiry. The store lives in the
 * server's memory only: a restart signs everyone out, which is the safe
 * side for an admin screen, and nothing secret reaches the database.
 *
 * Session ids and CSRF tokens are 256 random bits from getrandom(2), as
 * 64 hex digits; the store keeps the SHA-256 of the id, so even a memory
 * dump of the table does not give a cookie that works.
 *
 * Depends on digest.h. Pure but for getrandom: times are the caller's
 * monotonic clock in seconds, so expiry is tested without waiting. One
 * thread at a time (the server's loop thread).
 */
#ifndef OBLIGO_CONSOLE_SESSION_H
#define OBLIGO_CONSOLE_SESSION_H

#include "digest.h"

#define CONSOLE_SESSION_COOKIE "obligo_console"
#define CONSOLE_SESSION_HEX 65 /* 64 hex digits and a NUL */
#define CONSOLE_SESSION_MAX 1024
#define CONSOLE_SESSION_SECONDS_DEFAULT 28800L /* 8 hours */

typedef struct console_session {
    char id_hash[DIGEST_HEX_LEN];    /* SHA-256 of the session id */
    char token_hash[DIGEST_HEX_LEN]; /* SHA-256 of the token that signed in */
    char csrf[CONSOLE_SESSION_HEX];
    const char *role; /* static: "officer" or "admin" */
    char *note;       /* the token's note when the session started, or NULL */
    char *source;     /* the CloudEvents source of the console's events (console_source) */
    double expires_at;
    double created_at;
} console_session;

typedef struct console_sessions {
    console_session *all;
    int n, cap;
} console_sessions;

/* Who signed in: the token's hash (borrowed), role (static), id and note
 * (borrowed; note may be NULL). */
typedef struct console_signer {
    const char *token_hash, *role, *token_id, *note;
} console_signer;

/* The CloudEvents source that names the console and the token that signed
 * in: CONSOLE_SOURCE_PREFIX and the token's note percent-encoded (RFC 3986:
 * every byte but the unreserved ones), or the token id when the note is
 * NULL or empty. Caller frees; NULL when memory ran out. */
#define CONSOLE_SOURCE_PREFIX "urn:obligo:console:"
char *console_source(const char *note, const char *token_id);

/* Starts a session for who at now, ending at now + seconds; the note and
 * the source (console_source) are kept as they are now. The session id goes
 * to id_out and the CSRF token to csrf_out, both 64 hex digits. A full store
 * drops the expired sessions, then the oldest. Returns 0, OBLIGO_ENOMEM, or
 * OBLIGO_EIO when the system gives no randomness. */
int console_session_start(console_sessions *ss, const console_signer *who, double now,
                          double seconds, char id_out[CONSOLE_SESSION_HEX],
                          char csrf_out[CONSOLE_SESSION_HEX]);

/* The live session whose id the Cookie header value (borrowed, may be
 * NULL) carries as CONSOLE_SESSION_COOKIE, or NULL (none, unknown or
 * expired; an expired one is dropped). The pointer is valid until the
 * store next changes. */
console_session *console_session_find(console_sessions *ss, const char *cookie, double now);

/* Ends the session (it may be NULL). */
void console_session_end(console_sessions *ss, console_session *s);

/* Ends every session of the token with this hash (a revoked token). */
void console_session_end_token(console_sessions *ss, const char *token_hash);

/* 1 when header (the X-CSRF-Token value, may be NULL) is the session's CSRF
 * token, compared in constant time; 0 otherwise. */
int console_session_csrf_ok(const console_session *s, const char *header);

/* The value of the cookie named name in a Cookie header value (RFC 6265
 * §5.4: "a=b; c=d"), copied into buf (n bytes); NULL when it is absent or
 * does not fit. */
const char *console_cookie_value(const char *cookie, const char *name, char *buf, size_t n);

void console_sessions_free(console_sessions *ss);

#endif
