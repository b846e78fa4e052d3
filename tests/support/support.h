/*
 * support.h — helpers shared by the tests: temporary directories, writing
 * files, running the obligo binary and reading its JSON output.
 */
#ifndef OBLIGO_TEST_SUPPORT_H
#define OBLIGO_TEST_SUPPORT_H

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stddef.h>

#include "store.h"

/* A fresh directory under $TMPDIR; the caller frees the path and removes
 * the tree with support_rmtree. */
char *support_tmpdir(void);
void support_rmtree(const char *path);
/* Writes text to dir/name (creating parent directories); returns the path
 * (caller frees). */
char *support_write(const char *dir, const char *name, const char *text);

/* The store fixture of the unit tests: opens a fresh database NAME (e.g.
 * "obligo.db") in dir, failing the test with the store's message when it
 * cannot. support_store_fresh makes the directory too and returns it
 * (support_store_done closes the store and removes and frees it). */
void support_store_open(store *st, const char *dir, const char *name);
char *support_store_fresh(store *st);
void support_store_done(store *st, char *dir);

/* The whole file at path as a NUL-terminated string (caller frees), or
 * NULL when there is no such file. */
char *support_read_file(const char *path);
/* The same, failing the test when the file cannot be read. */
char *support_file(const char *path);

/* Runs a real client (argv, e.g. node and a script under tests/clients)
 * and returns its stdout (caller frees). Fails the test when it exits
 * other than 0 or its stdout lacks done (may be NULL), printing all it said
 * on stderr first: cmocka's message is short. */
char *support_run_client(char *const argv[], const char *done);

/* `obligo token create --role ROLE --db DB`: the new token (caller frees);
 * fails the test when it cannot be made. */
char *support_make_token(const char *db, const char *role);
/* The same with a note (`--note`; NULL: none). */
char *support_make_token_note(const char *db, const char *role, const char *note);

/* The same with --note NOTE (NULL: none). */
char *support_make_token_note(const char *db, const char *role, const char *note);

/* Runs argv (NULL-terminated) with stdin from /dev/null; captures stdout
 * (caller frees *out, may be NULL) and returns the exit status, or -1. */
int support_run(char *const argv[], char **out, char **err);

/* Runs `obligo CMD --db DB --json` and parses its stdout as JSON
 * (caller frees), or NULL. */
cJSON *support_query(const char *db, const char *cmd, const char *arg);

/* The first element of an array whose "kind" and "subject" match (subject
 * may be NULL), and how many there are. */
const cJSON *support_find(const cJSON *arr, const char *kind, const char *subject, int *count);
const char *support_str(const cJSON *o, const char *name);

/* The integer in the first column of the first row of sql; fails the test
 * when there is none. */
long long support_sql_int(sqlite3 *db, const char *sql);
/* Runs sql; fails the test with SQLite's message when it fails. */
void support_sql_exec(sqlite3 *db, const char *sql);

/* From now on, remembers the text of the last statement db runs whose SQL
 * starts with prefix (borrowed: a string literal), so a test can check the
 * plan of a query the engine builds itself; support_last_plan gives that
 * statement's EXPLAIN QUERY PLAN as one line, "detail; detail; ..." (caller
 * frees; fails the test when nothing matched). support_trace_sql(db, NULL)
 * stops, forgetting the text. */
void support_trace_sql(sqlite3 *db, const char *prefix);
char *support_last_plan(sqlite3 *db);
/* Fails, naming the case `what` and the plan, unless the last traced
 * statement's plan contains walk (an index's name, "SCAN a", ...) and sorts
 * nothing (no temporary B-tree); then stops the trace. */
void support_assert_plan_walks(sqlite3 *db, const char *walk, const char *what);

/* SHA-256 in hex (out: 64 digits and NUL) of the n parts, each followed by
 * 0x1f — the shape of every hash the engine chains (journal, registers,
 * alert ids), computed with libcrypto directly, independently of the
 * engine's digest.c. lens may be NULL: the parts are then strings. */
void support_sha256_parts(char out[65], int n, const char *const *parts, const size_t *lens);

/* Fails the running test when the file (a server's log) holds a report of
 * AddressSanitizer, LeakSanitizer or UndefinedBehaviorSanitizer: a server
 * that crashed or leaked must not pass because its clients were happy. */
void support_assert_clean_log(const char *path);

/* Fails the running test unless `obligo verify --replay` passes on db (a
 * database a test produced): its hash chains hold and every recorded
 * outcome reproduces when the journal is judged again with the rule sets
 * it recorded. Nothing happens when db does not exist. */
void support_assert_replays(const char *db);

#endif
