/*
 * test_store.c — opening, migrating and writing the SQLite database
 * (engine/store.c) on real files in a temporary directory: the schema and
 * its version, refusing files that are not (or not yet) obligo databases,
 * the statement cache, transactions and savepoints, the meta table and the
 * writability probe behind /healthz.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "engine.h"
#include "error.h"
#include "store.h"
#include "support.h"

typedef struct fixture {
    char *dir;
    char path[1024]; /* dir/db/obligo.db: the parent does not exist yet */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    if (!f->dir)
        return -1;
    snprintf(f->path, sizeof f->path, "%s/db/obligo.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char sub[1100];
    /* a test may have left the database read-only */
    snprintf(sub, sizeof sub, "%s/db", f->dir);
    chmod(sub, 0755);
    chmod(f->path, 0644);
    support_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Opens the store or fails the test with the engine's message. */
static void open_ok(store *st, const char *path, int read_only)
{
    char *err = NULL;
    int rc = store_open(st, path, read_only, &err);
    if (rc)
        fail_msg("store_open(%s): %d %s", path, rc, err ? err : "(no message)");
    assert_null(err);
}

/* The first column of the first row as text (caller frees), or NULL. */
static char *query_text(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    char *v = NULL;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        v = strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return v;
}

/* Reads meta.key through a separate connection, as another process would
 * see it (NULL when absent). Caller frees. */
static char *meta_from_outside(const char *path, const char *key)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT value FROM meta WHERE key='%s'", key);
    char *v = query_text(db, sql);
    sqlite3_close(db);
    return v;
}

static void assert_message_names(const char *err, const char *path)
{
    assert_non_null(err);
    if (!strstr(err, path))
        fail_msg("message \"%s\" does not name %s", err, path);
}

static void open_creates_parent_dir_and_schema(void **state)
{
    fixture *f = *state;
    char parent[1100];
    snprintf(parent, sizeof parent, "%s/db", f->dir);
    struct stat sb;
    assert_int_not_equal(stat(parent, &sb), 0);

    store st;
    open_ok(&st, f->path, 0);
    assert_int_equal(stat(parent, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(stat(f->path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));

    /* the v1 schema is migration 1; later migrations only add to it */
    assert_true(support_sql_int(st.db, "PRAGMA user_version") >= 1);
    assert_int_equal(support_sql_int(st.db,
                                     "SELECT count(*) FROM sqlite_master WHERE type='table' AND "
                                     "name IN ('events','rejected','obligations','timers',"
                                     "'alerts','outbox','registers','decisions','state','meta')"),
                     10);
    /* the one-active-obligation rule is part of the schema */
    assert_int_equal(support_sql_int(st.db,
                                     "SELECT count(*) FROM sqlite_master WHERE type='index' AND "
                                     "name='obligations_one_active'"),
                     1);
    char *mode = query_text(st.db, "PRAGMA journal_mode");
    assert_string_equal(mode, "wal");
    free(mode);
    assert_int_equal(support_sql_int(st.db, "PRAGMA foreign_keys"), 1);
    /* synchronous=FULL is 2 */
    assert_int_equal(support_sql_int(st.db, "PRAGMA synchronous"), 2);
    assert_string_equal(st.path, f->path);
    store_close(&st);
    assert_null(st.db);
    assert_null(st.path);
}

/* Migration 6 on a database of schema 5 (one made before it, with rows):
 * the rows stay, the indexes of the console's reads are there after the
 * next read-write open, and the version is the newest. */
static void migrations_6_and_7_add_the_read_indexes_to_a_schema_5_database(void **state)
{
    fixture *f = *state;
    store st;
    open_ok(&st, f->path, 0);
    long long newest = support_sql_int(st.db, "PRAGMA user_version");
    support_sql_exec(st.db,
                     "DROP INDEX obligations_active_by_due; DROP INDEX "
                     "obligations_active_by_kind_due; DROP INDEX obligations_by_subject_due; "
                     "DROP INDEX alerts_by_kind; DROP INDEX alerts_by_severity; "
                     "DROP INDEX events_by_breach; PRAGMA user_version=5;"
                     "INSERT INTO events(seq,source,id,type,time,raw,received_at,ruleset,hash,"
                     "prev_hash) VALUES(1,'s','e','t',0,'{}',0,'r','h','p');"
                     "INSERT INTO obligations(kind,subject,status,opened_at,starts_at,due_at,"
                     "source_event) VALUES('k','S','open',0,0,10,1);");
    store_close(&st);
    open_ok(&st, f->path, 0);
    assert_int_equal(support_sql_int(st.db, "PRAGMA user_version"), newest);
    assert_int_equal(support_sql_int(st.db, "SELECT count(*) FROM sqlite_master WHERE "
                                            "type='index' AND name IN "
                                            "('obligations_active_by_due',"
                                            "'obligations_active_by_kind_due',"
                                            "'obligations_by_subject_due','alerts_by_kind',"
                                            "'alerts_by_severity','events_by_breach')"),
                     6);
    assert_int_equal(support_sql_int(st.db, "SELECT count(*) FROM obligations INDEXED BY "
                                            "obligations_active_by_due WHERE status IN "
                                            "('open','overdue') AND due_at > 0"),
                     1);
    store_close(&st);
}

static void reopen_is_idempotent(void **state)
{
    fixture *f = *state;
    store st;
    open_ok(&st, f->path, 0);
    assert_int_equal(store_meta_set(&st, "marker", "kept"), 0);
    long long version = support_sql_int(st.db, "PRAGMA user_version");
    long long tables =
        support_sql_int(st.db, "SELECT count(*) FROM sqlite_master WHERE type='table'");
    store_close(&st);

    /* a second open must neither re-run the migration (CREATE TABLE would
     * fail) nor lose data */
    open_ok(&st, f->path, 0);
    assert_int_equal(support_sql_int(st.db, "PRAGMA user_version"), version);
    char *v = store_meta_get(&st, "marker");
    assert_non_null(v);
    assert_string_equal(v, "kept");
    obligo_free(v);
    assert_int_equal(
        support_sql_int(st.db, "SELECT count(*) FROM sqlite_master WHERE type='table'"), tables);
    store_close(&st);

    /* and the read-only open of a real obligo database works */
    open_ok(&st, f->path, 1);
    v = store_meta_get(&st, "marker");
    assert_non_null(v);
    assert_string_equal(v, "kept");
    obligo_free(v);
    store_close(&st);
}

/* A new database gets 16 KiB pages; one made with another page size (here
 * 4 KiB, SQLite's default, as older versions of Obligo made them) keeps it
 * and is migrated and used as before. */
static void new_databases_get_16k_pages_old_ones_keep_theirs(void **state)
{
    fixture *f = *state;
    store st;
    open_ok(&st, f->path, 0);
    assert_int_equal(support_sql_int(st.db, "PRAGMA page_size"), 16384);
    store_close(&st);

    char old[1100];
    snprintf(old, sizeof old, "%s/old.db", f->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(old, &db), SQLITE_OK);
    support_sql_exec(db, "PRAGMA page_size=4096; CREATE TABLE x(a); DROP TABLE x;");
    sqlite3_close(db);
    open_ok(&st, old, 0);
    assert_int_equal(support_sql_int(st.db, "PRAGMA page_size"), 4096);
    assert_true(support_sql_int(st.db, "PRAGMA user_version") > 0);
    assert_int_equal(store_meta_set(&st, "marker", "kept"), 0);
    store_close(&st);
}

static void read_only_open_of_missing_file_fails_naming_path(void **state)
{
    fixture *f = *state;
    char path[1100];
    snprintf(path, sizeof path, "%s/missing.db", f->dir);
    store st;
    char *err = NULL;
    int rc = store_open(&st, path, 1, &err);
    assert_true(rc < 0);
    assert_message_names(err, path);
    obligo_free(err);
    assert_null(st.db);
    assert_null(st.path);
    /* a read-only open creates nothing */
    struct stat sb;
    assert_int_not_equal(stat(path, &sb), 0);
}

static void read_only_open_of_foreign_file_fails_naming_path(void **state)
{
    fixture *f = *state;
    /* a text file */
    char text[600] = "";
    for (int i = 0; i < 12; i++)
        strcat(text, "this is not a database, just some text\n");
    char *path = support_write(f->dir, "notes.txt", text);
    store st;
    char *err = NULL;
    assert_true(store_open(&st, path, 1, &err) < 0);
    assert_message_names(err, path);
    obligo_free(err);
    assert_null(st.db);
    free(path);

    /* an SQLite database of another program (user_version 0) */
    char other[1100];
    snprintf(other, sizeof other, "%s/other.db", f->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "CREATE TABLE t(a); INSERT INTO t VALUES(1);", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    err = NULL;
    assert_int_equal(store_open(&st, other, 1, &err), OBLIGO_EDB);
    assert_message_names(err, other);
    assert_non_null(strstr(err, "not an obligo database"));
    obligo_free(err);
    assert_null(st.db);
}

/* Makes an obligo database and sets its user_version one past the newest
 * schema this obligo writes; returns that version. */
static long long make_future_db(const char *path)
{
    store st;
    open_ok(&st, path, 0);
    long long future = support_sql_int(st.db, "PRAGMA user_version") + 1;
    store_close(&st);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%lld", future);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    return future;
}

static void newer_schema_is_refused(void **state)
{
    fixture *f = *state;
    long long future = make_future_db(f->path);
    store st;
    char *err = NULL;
    assert_int_equal(store_open(&st, f->path, 0, &err), OBLIGO_EDB);
    assert_message_names(err, f->path);
    assert_non_null(strstr(err, "newer"));
    obligo_free(err);
    assert_null(st.db);
    /* the refused database was left as it was */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(support_sql_int(db, "PRAGMA user_version"), future);
    sqlite3_close(db);
}

static void stmt_is_prepared_once_and_reset(void **state)
{
    fixture *f = *state;
    store st;
    open_ok(&st, f->path, 0);
    static const char sql_a[] = "SELECT ?1";
    static const char sql_b[] = "SELECT value FROM meta ORDER BY key";
    int before = st.ncache;
    sqlite3_stmt *a1 = store_stmt(&st, sql_a);
    assert_non_null(a1);
    assert_int_equal(st.ncache, before + 1);
    sqlite3_stmt *a2 = store_stmt(&st, sql_a);
    assert_ptr_equal(a1, a2);
    assert_int_equal(st.ncache, before + 1);
    sqlite3_stmt *b = store_stmt(&st, sql_b);
    assert_non_null(b);
    assert_ptr_not_equal(a1, b);
    assert_int_equal(st.ncache, before + 2);

    /* a cached statement comes back with its bindings cleared */
    sqlite3_bind_text(a1, 1, "bound", -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(a1), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(a1, 0), "bound");
    a2 = store_stmt(&st, sql_a);
    assert_int_equal(sqlite3_step(a2), SQLITE_ROW);
    assert_int_equal(sqlite3_column_type(a2, 0), SQLITE_NULL);
    sqlite3_reset(a2);

    /* ... and reset: a half-read result starts again from its first row */
    assert_int_equal(store_meta_set(&st, "a", "1"), 0);
    assert_int_equal(store_meta_set(&st, "b", "2"), 0);
    b = store_stmt(&st, sql_b);
    assert_int_equal(sqlite3_step(b), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(b, 0), "1");
    b = store_stmt(&st, sql_b);
    assert_int_equal(sqlite3_step(b), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(b, 0), "1");
    sqlite3_reset(b);

    /* SQL that does not compile gives NULL and takes no cache slot */
    int n = st.ncache;
    static const char bad[] = "SELECT FROM nowhere WHERE";
    assert_null(store_stmt(&st, bad));
    assert_int_equal(st.ncache, n);
    store_close(&st);
}

static void begin_commit_and_rollback(void **state)
{
    fixture *f = *state;
    store st;
    open_ok(&st, f->path, 0);
    assert_int_equal(sqlite3_get_autocommit(st.db), 1);

    assert_int_equal(store_begin(&st), 0);
    assert_int_equal(sqlite3_get_autocommit(st.db), 0);
    assert_int_equal(store_meta_set(&st, "committed", "yes"), 0);
    /* not visible to anyone else before the commit */
    char *v = meta_from_outside(f->path, "committed");
    assert_null(v);
    assert_int_equal(store_commit(&st), 0);
    assert_int_equal(sqlite3_get_autocommit(st.db), 1);
    v = meta_from_outside(f->path, "committed");
    assert_non_null(v);
    assert_string_equal(v, "yes");
    free(v);

    assert_int_equal(store_begin(&st), 0);
    assert_int_equal(store_meta_set(&st, "rolled", "back"), 0);
    store_rollback(&st);
    assert_int_equal(sqlite3_get_autocommit(st.db), 1);
    char *mine = store_meta_get(&st, "rolled");
    assert_null(mine);
    v = meta_from_outside(f->path, "rolled");
    assert_null(v);

    /* a rollback with no transaction open is harmless; a commit is not */
    store_rollback(&st);
    assert_int_equal(sqlite3_get_autocommit(st.db), 1);
    assert_true(store_commit(&st) < 0);
    /* a transaction cannot be begun twice */
    assert_int_equal(store_begin(&st), 0);
    assert_true(store_begin(&st) < 0);
    store_rollback(&st);
    store_close(&st);
}

static void savepoint_rollback_keeps_earlier_rows(void **state)
{
    fixture *f = *state;
    store st;
    open_ok(&st, f->path, 0);
    assert_int_equal(store_begin(&st), 0);
    assert_int_equal(store_meta_set(&st, "before", "1"), 0);
    assert_int_equal(store_savepoint(&st), 0);
    assert_int_equal(store_meta_set(&st, "inside", "2"), 0);
    assert_int_equal(store_meta_set(&st, "before", "changed"), 0);
    store_rollback_savepoint(&st);
    /* still inside the outer transaction */
    assert_int_equal(sqlite3_get_autocommit(st.db), 0);
    assert_int_equal(store_meta_set(&st, "after", "3"), 0);
    /* a savepoint that is released keeps its rows */
    assert_int_equal(store_savepoint(&st), 0);
    assert_int_equal(store_meta_set(&st, "released", "4"), 0);
    assert_int_equal(store_release(&st), 0);
    assert_int_equal(store_commit(&st), 0);

    char *v = meta_from_outside(f->path, "before");
    assert_non_null(v);
    assert_string_equal(v, "1");
    free(v);
    v = meta_from_outside(f->path, "after");
    assert_non_null(v);
    assert_string_equal(v, "3");
    free(v);
    v = meta_from_outside(f->path, "released");
    assert_non_null(v);
    assert_string_equal(v, "4");
    free(v);
    v = meta_from_outside(f->path, "inside");
    assert_null(v);
    store_close(&st);
}

static void meta_get_and_set(void **state)
{
    fixture *f = *state;
    store st;
    open_ok(&st, f->path, 0);
    char *v = store_meta_get(&st, "revision");
    assert_null(v);
    assert_int_equal(store_meta_set(&st, "revision", "abc"), 0);
    v = store_meta_get(&st, "revision");
    assert_non_null(v);
    assert_string_equal(v, "abc");
    obligo_free(v);
    /* setting again replaces the value, it does not add a row */
    assert_int_equal(store_meta_set(&st, "revision", "def"), 0);
    v = store_meta_get(&st, "revision");
    assert_non_null(v);
    assert_string_equal(v, "def");
    obligo_free(v);
    assert_int_equal(support_sql_int(st.db, "SELECT count(*) FROM meta WHERE key='revision'"), 1);
    /* keys are independent */
    assert_int_equal(store_meta_set(&st, "other", ""), 0);
    v = store_meta_get(&st, "other");
    assert_non_null(v);
    assert_string_equal(v, "");
    obligo_free(v);
    v = store_meta_get(&st, "revision");
    assert_string_equal(v, "def");
    obligo_free(v);
    store_close(&st);
}

static void writable_on_a_normal_database(void **state)
{
    fixture *f = *state;
    store st;
    open_ok(&st, f->path, 0);
    assert_int_equal(store_writable(&st), 1);
    /* the probe committed its write and left no transaction open */
    assert_int_equal(sqlite3_get_autocommit(st.db), 1);
    char *v = meta_from_outside(f->path, "healthz");
    assert_non_null(v);
    free(v);
    /* inside a transaction the probe says yes without touching it */
    assert_int_equal(store_begin(&st), 0);
    assert_int_equal(store_meta_set(&st, "pending", "x"), 0);
    assert_int_equal(store_writable(&st), 1);
    assert_int_equal(sqlite3_get_autocommit(st.db), 0);
    store_rollback(&st);
    v = store_meta_get(&st, "pending");
    assert_null(v);
    store_close(&st);
}

static void not_writable_when_read_only(void **state)
{
    fixture *f = *state;
    store st;
    open_ok(&st, f->path, 0);
    assert_int_equal(store_writable(&st), 1);
    store_close(&st);

    assert_int_equal(chmod(f->path, 0444), 0);
    if (access(f->path, W_OK) != 0) {
        /* chmod works (not root): the database file itself is read-only */
        open_ok(&st, f->path, 0);
        assert_int_equal(store_writable(&st), 0);
        assert_int_equal(sqlite3_get_autocommit(st.db), 1);
        store_close(&st);
    } else {
        /* root ignores file permissions: open the store read-only instead */
        assert_int_equal(chmod(f->path, 0644), 0);
        open_ok(&st, f->path, 1);
        assert_int_equal(store_writable(&st), 0);
        assert_int_equal(store_begin(&st), OBLIGO_EFULL);
        assert_int_equal(sqlite3_get_autocommit(st.db), 1);
        assert_true(store_meta_set(&st, "x", "y") < 0);
        store_close(&st);
    }
}

int main(void)
{
    engine_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(open_creates_parent_dir_and_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(reopen_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(
            migrations_6_and_7_add_the_read_indexes_to_a_schema_5_database, setup, teardown),
        cmocka_unit_test_setup_teardown(new_databases_get_16k_pages_old_ones_keep_theirs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(read_only_open_of_missing_file_fails_naming_path, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(read_only_open_of_foreign_file_fails_naming_path, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(newer_schema_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(stmt_is_prepared_once_and_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(begin_commit_and_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(savepoint_rollback_keeps_earlier_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(meta_get_and_set, setup, teardown),
        cmocka_unit_test_setup_teardown(writable_on_a_normal_database, setup, teardown),
        cmocka_unit_test_setup_teardown(not_writable_when_read_only, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
