/*
 * store.c — SQLite open, migrations and the statement cache (store.h).
 *
 * Depends on SQLite 3 only. The schema is the engine's whole persistent
 * state: the journal of events, rejected input, obligations and their
 * timers, alerts with their outbox, registers with their hash chains, the
 * key/value state rules keep, and the decisions each event caused.
 */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "error.h"

/* Each entry is one migration; user_version counts how many are applied.
 * Never edit a released entry: add a new one. */
static const char *const store_migrations[] = {
    /* 1: the v1 schema */
    "CREATE TABLE events ("
    "  seq INTEGER PRIMARY KEY,"
    "  source TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL,"
    "  time INTEGER NOT NULL, subject TEXT,"
    "  raw TEXT NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  ruleset TEXT NOT NULL,"
    "  hash TEXT NOT NULL, prev_hash TEXT NOT NULL,"
    "  UNIQUE(source, id));"
    "CREATE TABLE rejected ("
    "  seq INTEGER PRIMARY KEY, received_at INTEGER NOT NULL,"
    "  origin TEXT NOT NULL, field TEXT, reason TEXT NOT NULL, raw BLOB NOT NULL);"
    "CREATE TABLE obligations ("
    "  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('open','fulfilled','overdue','late','cancelled')),"
    "  opened_at INTEGER NOT NULL, starts_at INTEGER NOT NULL,"
    "  due_at INTEGER NOT NULL, legal_limit INTEGER,"
    "  closed_at INTEGER, closed_by INTEGER, rationale TEXT,"
    "  source_event INTEGER NOT NULL REFERENCES events(seq), data TEXT);"
    "CREATE INDEX obligations_by_subject ON obligations(kind, subject);"
    "CREATE INDEX obligations_by_status ON obligations(status);"
    /* at most one active (open or overdue) obligation per kind and subject */
    "CREATE UNIQUE INDEX obligations_one_active ON obligations(kind, subject)"
    "  WHERE status IN ('open','overdue');"
    "CREATE TABLE timers ("
    "  obligation INTEGER NOT NULL REFERENCES obligations(id),"
    "  fire_at INTEGER NOT NULL, what TEXT NOT NULL,"
    "  PRIMARY KEY (obligation, what, fire_at)) WITHOUT ROWID;"
    "CREATE INDEX timers_by_time ON timers(fire_at);"
    "CREATE TABLE alerts ("
    "  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,"
    "  severity TEXT NOT NULL, subject TEXT NOT NULL, at INTEGER NOT NULL,"
    "  message TEXT NOT NULL, event INTEGER NOT NULL REFERENCES events(seq),"
    "  rule TEXT, data TEXT);"
    "CREATE INDEX alerts_by_time ON alerts(at);"
    "CREATE TABLE outbox ("
    "  alert INTEGER NOT NULL REFERENCES alerts(seq), sink TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0, delivered_at INTEGER,"
    "  PRIMARY KEY (alert, sink)) WITHOUT ROWID;"
    "CREATE INDEX outbox_pending ON outbox(delivered_at) WHERE delivered_at IS NULL;"
    "CREATE TABLE registers ("
    "  seq INTEGER PRIMARY KEY, register TEXT NOT NULL, key TEXT NOT NULL,"
    "  version INTEGER NOT NULL, at INTEGER NOT NULL, data TEXT NOT NULL,"
    "  hash TEXT NOT NULL, prev_hash TEXT NOT NULL,"
    "  event INTEGER NOT NULL REFERENCES events(seq),"
    "  UNIQUE(register, key, version));"
    "CREATE TABLE decisions ("
    "  event INTEGER NOT NULL REFERENCES events(seq), n INTEGER NOT NULL,"
    "  rule TEXT, decision TEXT NOT NULL, PRIMARY KEY (event, n)) WITHOUT ROWID;"
    "CREATE TABLE state ("
    "  ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    "  PRIMARY KEY (ns, key)) WITHOUT ROWID;"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
    /* 2: API tokens (tokens.c); only the SHA-256 of a token is stored */
    "CREATE TABLE tokens (id TEXT PRIMARY KEY,"
    "  role TEXT NOT NULL CHECK (role IN ('ingest','officer','admin')),"
    "  hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL, revoked_at INTEGER, note TEXT);",
    /* 3: retries with backoff for sinks that can fail (plugin sinks) */
    ("ALTER TABLE outbox ADD COLUMN next_attempt_at INTEGER;"
     "ALTER TABLE outbox ADD COLUMN last_error TEXT;"),
    /* 4: the head of each register's hash chain, found without a scan */
    "CREATE INDEX registers_chain ON registers(register, seq);",
    /* 5: the sources of every rule set that judged events (journal.h,
     * journal_keep_ruleset), so `obligo verify --replay` can rebuild the
     * revision the journal recorded for each event */
    ("CREATE TABLE rulesets (revision TEXT PRIMARY KEY, policy TEXT,"
     "  kept_at INTEGER NOT NULL) WITHOUT ROWID;"
     "CREATE TABLE ruleset_files (revision TEXT NOT NULL REFERENCES rulesets(revision),"
     "  path TEXT NOT NULL, source BLOB NOT NULL, PRIMARY KEY (revision, path)) WITHOUT ROWID;"),
    /* 6: the console's pages at a million rows (issue 17, item 9): the
     * active obligations by due time (whole and per kind; partial, so a
     * fulfilled obligation costs no entry), obligations by subject, and
     * alerts per kind and per severity newest first. The partial indexes'
     * condition is written as the queries write it (obligations.c): SQLite
     * uses a partial index only for a query whose WHERE clause contains that
     * very term. registers(register, key, version) is already UNIQUE. */
    ("CREATE INDEX obligations_active_by_due ON obligations(due_at, id)"
     "  WHERE status IN ('open','overdue');"
     "CREATE INDEX obligations_active_by_kind_due ON obligations(kind, due_at, id)"
     "  WHERE status IN ('open','overdue');"
     "CREATE INDEX obligations_by_subject_due ON obligations(subject, due_at, id);"
     "CREATE INDEX alerts_by_kind ON alerts(kind, seq);"
     "CREATE INDEX alerts_by_severity ON alerts(severity, seq);"),
    /* 7: a breach's events by their breach_id (the breach page's timeline
     * and the AP form, breach.c), so they are looked up, not found by
     * reading every breach event's JSON. Expression and condition are the
     * query's own, term for term, or SQLite does not use the index. */
    ("CREATE INDEX events_by_breach ON events("
     "  (CASE WHEN json_valid(raw) THEN json_extract(raw, '$.data.breach_id') END))"
     "  WHERE type LIKE 'nl.avg.breach.%';"),
};

#define STORE_NMIGRATIONS ((int)(sizeof store_migrations / sizeof store_migrations[0]))

int store_error(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return 0;
    case SQLITE_NOMEM:
        return OBLIGO_ENOMEM;
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
        return OBLIGO_EFULL;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return OBLIGO_EBUSY;
    default:
        return OBLIGO_EDB;
    }
}

/* Creates the directory that will hold path, one level (./var by default). */
static void store_make_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return;
    char *dir = obligo_strndup(path, (size_t)(slash - path));
    if (dir) {
        mkdir(dir, 0750);
        obligo_free(dir);
    }
}

static int store_exec(store *st, const char *sql, char **err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        if (err)
            *err = obligo_asprintf("%s: %s", st->path, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return store_error(rc) ? store_error(rc) : OBLIGO_EDB;
    }
    return 0;
}

static int store_migrate(store *st, char **err)
{
    sqlite3_stmt *s;
    int version = 0;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
        goto fail;
    if (sqlite3_step(s) == SQLITE_ROW)
        version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (version > STORE_NMIGRATIONS) {
        *err = obligo_asprintf("%s: schema version %d is newer than this obligo knows (%d); "
                               "use a newer obligo",
                               st->path, version, STORE_NMIGRATIONS);
        return OBLIGO_EDB;
    }
    if (version == STORE_NMIGRATIONS)
        return 0;
    int rc = store_exec(st, "BEGIN IMMEDIATE", err);
    if (rc)
        return rc;
    for (int i = version; i < STORE_NMIGRATIONS; i++) {
        if ((rc = store_exec(st, store_migrations[i], err)))
            goto rollback;
    }
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", STORE_NMIGRATIONS);
    if ((rc = store_exec(st, pragma, err)))
        goto rollback;
    return store_exec(st, "COMMIT", err);
rollback:
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
fail:
    *err = obligo_asprintf("%s: %s", st->path, sqlite3_errmsg(st->db));
    return OBLIGO_EDB;
}

int store_open(store *st, const char *path, int read_only, char **err)
{
    memset(st, 0, sizeof *st);
    *err = NULL;
    st->path = obligo_strdup(path);
    if (!st->path)
        return OBLIGO_ENOMEM;
    if (!read_only)
        store_make_parent(path);
    int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        *err = obligo_asprintf("cannot open database %s: %s", path,
                               st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        store_close(st);
        return OBLIGO_EIO;
    }
    sqlite3_busy_timeout(st->db, 5000);
    sqlite3_extended_result_codes(st->db, 1);
    const char *pragmas = read_only ? "PRAGMA foreign_keys=ON; PRAGMA query_only=ON;"
                                    /* 16 KiB pages: an event row is about 1 KiB and
                                     * the journal grows at its end, so a commit writes
                                     * a quarter of the WAL frames (and system calls)
                                     * 4 KiB pages would take; ingest is ~20 % faster.
                                     * Only a new, empty database takes it; an
                                     * existing one keeps its size. */
                                    : "PRAGMA page_size=16384;"
                                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                      "PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536;";
    if ((rc = store_exec(st, pragmas, err)))
        goto fail;
    if (!read_only && (rc = store_migrate(st, err)))
        goto fail;
    if (read_only) {
        /* A database that was never created has no schema: say so instead
         * of failing later with "no such table". */
        sqlite3_stmt *s;
        int version = 0;
        if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK) {
            if (sqlite3_step(s) == SQLITE_ROW)
                version = sqlite3_column_int(s, 0);
            sqlite3_finalize(s);
        }
        if (version < 1) {
            *err = obligo_asprintf("%s is not an obligo database (no schema)", path);
            rc = OBLIGO_EDB;
            goto fail;
        }
    }
    return 0;
fail:
    store_close(st);
    return rc;
}

void store_close(store *st)
{
    for (int i = 0; i < st->ncache; i++)
        sqlite3_finalize(st->cache[i].stmt);
    st->ncache = 0;
    if (st->db)
        sqlite3_close(st->db);
    st->db = NULL;
    obligo_free(st->path);
    st->path = NULL;
}

sqlite3_stmt *store_stmt(store *st, const char *sql)
{
    for (int i = 0; i < st->ncache; i++) {
        if (st->cache[i].sql == sql) {
            sqlite3_stmt *s = st->cache[i].stmt;
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            return s;
        }
    }
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
        return NULL;
    if (st->ncache < STORE_CACHE_SLOTS) {
        st->cache[st->ncache].sql = sql;
        st->cache[st->ncache].stmt = s;
        st->ncache++;
    }
    /* A full cache is a programming error (more distinct statements than
     * slots); the statement would leak, so refuse loudly instead. */
    else {
        sqlite3_finalize(s);
        return NULL;
    }
    return s;
}

sqlite3_stmt *store_prepare(store *st, const char *sql)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        sqlite3_finalize(s);
        return NULL;
    }
    return s;
}

void store_bind_named(sqlite3_stmt *s, const char *name, int64_t v, const char *text)
{
    int i = sqlite3_bind_parameter_index(s, name);
    if (i > 0 && text)
        sqlite3_bind_text(s, i, text, -1, SQLITE_STATIC);
    else if (i > 0)
        sqlite3_bind_int64(s, i, v);
}

static int store_simple(store *st, const char *sql)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    if (!s)
        return store_error(sqlite3_errcode(st->db)) ? store_error(sqlite3_errcode(st->db))
                                                    : OBLIGO_EDB;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : (store_error(rc) ? store_error(rc) : OBLIGO_EDB);
}

int store_begin(store *st)
{
    st->journal_head_valid = 0;
    return store_simple(st, "BEGIN IMMEDIATE");
}

int store_commit(store *st)
{
    return store_simple(st, "COMMIT");
}

void store_rollback(store *st)
{
    st->journal_head_valid = 0;
    if (!sqlite3_get_autocommit(st->db))
        store_simple(st, "ROLLBACK");
}

int store_savepoint(store *st)
{
    return store_simple(st, "SAVEPOINT ev");
}

int store_release(store *st)
{
    return store_simple(st, "RELEASE ev");
}

void store_rollback_savepoint(store *st)
{
    st->journal_head_valid = 0;
    store_simple(st, "ROLLBACK TO ev");
    store_simple(st, "RELEASE ev");
}

char *store_meta_get(store *st, const char *key)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT value FROM meta WHERE key=?1");
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    char *v = NULL;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = obligo_strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    return v;
}

int store_meta_set(store *st, const char *key, const char *value)
{
    sqlite3_stmt *s = store_stmt(st, "INSERT INTO meta(key,value) VALUES(?1,?2) "
                                     "ON CONFLICT(key) DO UPDATE SET value=excluded.value");
    if (!s)
        return OBLIGO_EDB;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store_error(rc);
}

int store_writable(store *st)
{
    if (!sqlite3_get_autocommit(st->db))
        return 1; /* a transaction is open on this thread: the writer is busy writing */
    if (store_begin(st))
        return 0;
    int ok = store_meta_set(st, "healthz", "ok") == 0;
    if (ok)
        ok = store_commit(st) == 0;
    else
        store_rollback(st);
    return ok;
}
