/*
 * store.h — the one SQLite database: opening, schema migrations, and the
 * transaction helpers every other module writes through.
 *
 * The database runs in WAL mode with synchronous=FULL, so a COMMIT that
 * returned is on disk. Migrations are numbered by PRAGMA user_version and
 * applied in one transaction at open. One store is used by one thread at a
 * time.
 */
#ifndef OBLIGO_STORE_H
#define OBLIGO_STORE_H

#include <sqlite3.h>
#include <stdint.h>

#define STORE_CACHE_SLOTS 96

typedef struct store {
    sqlite3 *db;
    char *path;
    /* Prepared statements, keyed by the address of their SQL literal so a
     * lookup is a pointer comparison. */
    struct {
        const char *sql;
        sqlite3_stmt *stmt;
    } cache[STORE_CACHE_SLOTS];
    int ncache;
    /* The hash of the journal's last row, cached for the open transaction
     * (journal.c); any rollback or new transaction forgets it. */
    char journal_head[65];
    int journal_head_valid;
} store;

/* Opens (creating when needed, with its parent directory) and migrates the
 * database at path. read_only opens without creating or migrating. Returns 0
 * or a negative code; *err (caller frees) says why in a sentence. */
int store_open(store *st, const char *path, int read_only, char **err);
void store_close(store *st);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. Commit maps SQLITE_FULL and
 * SQLITE_READONLY to OBLIGO_EFULL so callers can answer 503. */
int store_begin(store *st);
int store_commit(store *st);
void store_rollback(store *st);
int store_savepoint(store *st);
int store_release(store *st);
void store_rollback_savepoint(store *st);

/* A statement for SQL text built per call (a list whose text depends on
 * the filters given), not cached: the caller finalizes it. NULL on an
 * error. The thread that owns st. */
sqlite3_stmt *store_prepare(store *st, const char *sql);
/* Binds text (when not NULL; borrowed until the statement is reset) or
 * else v to the parameter called name (":kind"); a name the statement does
 * not hold is skipped, for a filter left out of its text. */
void store_bind_named(sqlite3_stmt *s, const char *name, int64_t v, const char *text);

/* Prepares sql once per store and caches the statement (keyed by the sql
 * pointer, so pass string literals). The statement is reset and its bindings
 * cleared; it is borrowed. Returns NULL on error. */
sqlite3_stmt *store_stmt(store *st, const char *sql);

/* Maps an SQLite result code to an obligo error code. */
int store_error(int rc);

/* A meta value (key/value table), as a new string the caller frees, or NULL. */
char *store_meta_get(store *st, const char *key);
int store_meta_set(store *st, const char *key, const char *value);

/* 1 when a write transaction can be taken and committed right now (for
 * /healthz). */
int store_writable(store *st);

#endif
