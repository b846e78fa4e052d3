/*
 * test_registers.c — append-only registers with per-register hash chains
 * (engine/registers.c) on a real database file: merging fields into new
 * versions, reading the current data and the history, and what
 * registers_verify finds after rows are altered or removed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "engine.h"
#include "error.h"
#include "journal.h"
#include "registers.h"
#include "store.h"
#include "support.h"

#define T0 1767261600 /* 2026-01-01T10:00:00Z */

typedef struct fixture {
    char *dir;
    store st;
    int64_t seq; /* a journaled event the versions refer to */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = support_store_fresh(&f->st);
    /* registers.event references events(seq) and foreign keys are on */
    cJSON *ev = cJSON_Parse("{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"s\","
                            "\"type\":\"t\",\"time\":\"2026-01-01T10:00:00Z\"}");
    int dup = 0;
    if (journal_append(&f->st, ev, "{}", 2, "r", T0, &f->seq, &dup))
        fail_msg("journal_append failed");
    cJSON_Delete(ev);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    support_store_done(&f->st, f->dir);
    free(f);
    return 0;
}

static void append(fixture *f, const char *name, const char *key, const char *fields_json,
                   obligo_time at)
{
    cJSON *fields = cJSON_Parse(fields_json);
    assert_non_null(fields);
    assert_int_equal(registers_append(&f->st, name, key, fields, at, f->seq), 0);
    cJSON_Delete(fields);
}

/* Fails unless the current data of name/key equals want_json (key order
 * does not matter). */
static void assert_current(fixture *f, const char *name, const char *key, const char *want_json)
{
    cJSON *want = cJSON_Parse(want_json);
    assert_non_null(want);
    cJSON *got = registers_current(&f->st, name, key);
    if (!got)
        fail_msg("%s/%s has no current data, want %s", name, key, want_json);
    if (!cJSON_Compare(got, want, 1)) {
        char *text = cJSON_PrintUnformatted(got);
        fail_msg("%s/%s is %s, want %s", name, key, text, want_json);
    }
    cJSON_Delete(got);
    cJSON_Delete(want);
}

static long long versions(fixture *f, const char *name, const char *key)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(f->st.db,
                                        "SELECT count(*) FROM registers WHERE register=?1 AND "
                                        "key=?2",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    long long n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

/* The chain hash of one version (registers.h), computed independently:
 * SHA-256 over prev, register, key, version, at and data, each followed by
 * 0x1f. */
static void version_hash(char out[65], const char *prev, const char *name, const char *key,
                         long long version, long long at, const char *data)
{
    char v[32], a[32];
    snprintf(v, sizeof v, "%lld", version);
    snprintf(a, sizeof a, "%lld", at);
    const char *parts[] = {prev, name, key, v, a, data};
    support_sha256_parts(out, 6, parts, NULL);
}

static void append_merges_fields_into_new_versions(void **state)
{
    fixture *f = *state;
    append(f, "datalekken", "B-1", "{\"status\":\"reported\",\"aware_at\":\"2026-01-01\"}", T0);
    assert_int_equal(versions(f, "datalekken", "B-1"), 1);
    assert_current(f, "datalekken", "B-1", "{\"status\":\"reported\",\"aware_at\":\"2026-01-01\"}");

    /* status replaced, ap_ref added, aware_at kept */
    append(f, "datalekken", "B-1", "{\"status\":\"notified\",\"ap_ref\":\"AP-9\"}", T0 + 60);
    assert_int_equal(versions(f, "datalekken", "B-1"), 2);
    assert_current(f, "datalekken", "B-1",
                   "{\"status\":\"notified\",\"aware_at\":\"2026-01-01\",\"ap_ref\":\"AP-9\"}");

    /* a nested value is replaced as a whole, not merged */
    append(f, "datalekken", "B-1", "{\"ap_ref\":{\"nr\":1,\"year\":2026}}", T0 + 120);
    append(f, "datalekken", "B-1", "{\"ap_ref\":{\"nr\":2}}", T0 + 180);
    assert_current(f, "datalekken", "B-1",
                   "{\"status\":\"notified\",\"aware_at\":\"2026-01-01\",\"ap_ref\":{\"nr\":2}}");

    /* versions count 1, 2, 3, 4 with their own instants and the event */
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(f->st.db,
                                        "SELECT version,at,event FROM registers WHERE "
                                        "register='datalekken' AND key='B-1' ORDER BY seq",
                                        -1, &s, NULL),
                     SQLITE_OK);
    for (int v = 1; v <= 4; v++) {
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int64(s, 0), v);
        assert_int_equal(sqlite3_column_int64(s, 1), T0 + 60 * (v - 1));
        assert_int_equal(sqlite3_column_int64(s, 2), f->seq);
    }
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);

    /* the first version of another key starts at 1 again */
    append(f, "datalekken", "B-2", "{\"status\":\"reported\"}", T0);
    assert_int_equal(
        support_sql_int(f->st.db,
                        "SELECT version FROM registers WHERE register='datalekken' AND key='B-2'"),
        1);
}

static void unchanged_append_adds_no_version(void **state)
{
    fixture *f = *state;
    append(f, "r", "k", "{\"a\":1,\"b\":\"x\"}", T0);
    append(f, "r", "k", "{\"a\":1}", T0 + 1);
    append(f, "r", "k", "{\"b\":\"x\",\"a\":1}", T0 + 2);
    append(f, "r", "k", "{}", T0 + 3);
    assert_int_equal(registers_append(&f->st, "r", "k", NULL, T0 + 4, f->seq), 0);
    assert_int_equal(versions(f, "r", "k"), 1);
    append(f, "r", "k", "{\"a\":2}", T0 + 5);
    assert_int_equal(versions(f, "r", "k"), 2);
    assert_current(f, "r", "k", "{\"a\":2,\"b\":\"x\"}");
}

static void current_returns_latest_data(void **state)
{
    fixture *f = *state;
    cJSON *none = registers_current(&f->st, "r", "missing");
    assert_null(none);
    append(f, "r", "k", "{\"n\":1}", T0);
    append(f, "r", "other", "{\"n\":100}", T0);
    append(f, "r", "k", "{\"n\":2}", T0);
    append(f, "r", "k", "{\"n\":3}", T0);
    assert_current(f, "r", "k", "{\"n\":3}");
    assert_current(f, "r", "other", "{\"n\":100}");
    /* the same key in another register is another entry */
    none = registers_current(&f->st, "r2", "k");
    assert_null(none);
}

static void list_latest_and_history(void **state)
{
    fixture *f = *state;
    append(f, "datalekken", "B-2", "{\"status\":\"reported\"}", T0);
    append(f, "datalekken", "B-1", "{\"status\":\"reported\"}", T0 + 3600);
    append(f, "datalekken", "B-2", "{\"status\":\"closed\"}", T0 + 7200);
    append(f, "other", "X", "{\"v\":1}", T0);

    cJSON *latest = registers_list(&f->st, "datalekken", 0);
    assert_non_null(latest);
    assert_int_equal(cJSON_GetArraySize(latest), 2);
    const cJSON *b1 = cJSON_GetArrayItem(latest, 0), *b2 = cJSON_GetArrayItem(latest, 1);
    /* ordered by key */
    assert_string_equal(str(b1, "register"), "datalekken");
    assert_string_equal(str(b1, "key"), "B-1");
    assert_int_equal((long)num(b1, "version"), 1);
    assert_string_equal(str(b1, "at"), "2026-01-01T11:00:00Z");
    assert_string_equal(str(b2, "key"), "B-2");
    assert_int_equal((long)num(b2, "version"), 2);
    assert_string_equal(str(b2, "at"), "2026-01-01T12:00:00Z");
    assert_string_equal(str(cJSON_GetObjectItem(b2, "data"), "status"), "closed");
    /* the chain runs over the register in append order: B-2 v1, B-1 v1,
     * B-2 v2 */
    char h1[65], h2[65], h3[65];
    version_hash(h1, "", "datalekken", "B-2", 1, T0, "{\"status\":\"reported\"}");
    version_hash(h2, h1, "datalekken", "B-1", 1, T0 + 3600, "{\"status\":\"reported\"}");
    version_hash(h3, h2, "datalekken", "B-2", 2, T0 + 7200, "{\"status\":\"closed\"}");
    assert_string_equal(str(b1, "prev_hash"), h1);
    assert_string_equal(str(b1, "hash"), h2);
    assert_string_equal(str(b2, "prev_hash"), h2);
    assert_string_equal(str(b2, "hash"), h3);
    cJSON_Delete(latest);

    cJSON *all = registers_list(&f->st, "datalekken", 1);
    assert_non_null(all);
    assert_int_equal(cJSON_GetArraySize(all), 3);
    static const struct {
        const char *key;
        int version;
        const char *status;
    } want[] = {{"B-1", 1, "reported"}, {"B-2", 1, "reported"}, {"B-2", 2, "closed"}};
    for (int i = 0; i < 3; i++) {
        const cJSON *e = cJSON_GetArrayItem(all, i);
        assert_string_equal(str(e, "key"), want[i].key);
        assert_int_equal((int)num(e, "version"), want[i].version);
        assert_string_equal(str(cJSON_GetObjectItem(e, "data"), "status"), want[i].status);
    }
    assert_string_equal(str(cJSON_GetArrayItem(all, 1), "prev_hash"), "");
    assert_string_equal(str(cJSON_GetArrayItem(all, 1), "hash"), h1);
    cJSON_Delete(all);

    cJSON *empty = registers_list(&f->st, "nothing", 1);
    assert_non_null(empty);
    assert_int_equal(cJSON_GetArraySize(empty), 0);
    cJSON_Delete(empty);
}

/* The history in pages by the last seq seen: every version once, in the
 * chain's order, with the rows registers_list has plus seq. */
static void history_pages_by_seq(void **state)
{
    fixture *f = *state;
    append(f, "datalekken", "B-2", "{\"status\":\"reported\"}", T0);
    append(f, "other", "X", "{\"v\":1}", T0);
    append(f, "datalekken", "B-1", "{\"status\":\"reported\"}", T0 + 3600);
    append(f, "datalekken", "B-2", "{\"status\":\"closed\"}", T0 + 7200);
    static const struct {
        const char *key;
        int version;
    } want[] = {{"B-2", 1}, {"B-1", 1}, {"B-2", 2}};
    int seen = 0;
    double after = 0;
    for (int page = 0; page < 10; page++) {
        cJSON *rows = registers_history(&f->st, "datalekken", (int64_t)after, 2);
        assert_non_null(rows);
        int n = cJSON_GetArraySize(rows);
        for (int i = 0; i < n; i++, seen++) {
            const cJSON *e = cJSON_GetArrayItem(rows, i);
            assert_true(seen < 3);
            assert_string_equal(str(e, "key"), want[seen].key);
            assert_int_equal((int)num(e, "version"), want[seen].version);
            assert_true(num(e, "seq") > after);
            after = num(e, "seq");
        }
        cJSON_Delete(rows);
        if (n == 0)
            break;
    }
    assert_int_equal(seen, 3);
}

/* The current entries newest first, paged by the seq of their latest
 * version: each key once, at its latest version, whatever page size. */
static void newest_pages_current_entries(void **state)
{
    fixture *f = *state;
    append(f, "datalekken", "B-1", "{\"status\":\"reported\"}", T0);     /* seq 1 */
    append(f, "datalekken", "B-2", "{\"status\":\"reported\"}", T0 + 1); /* 2 */
    append(f, "other", "X", "{\"v\":1}", T0 + 2);                        /* 3 */
    append(f, "datalekken", "B-3", "{\"status\":\"reported\"}", T0 + 3); /* 4 */
    append(f, "datalekken", "B-1", "{\"status\":\"notified\"}", T0 + 4); /* 5 */
    append(f, "datalekken", "B-4", "{\"status\":\"reported\"}", T0 + 5); /* 6 */
    append(f, "datalekken", "B-3", "{\"status\":\"closed\"}", T0 + 6);   /* 7 */
    /* by the seq of the latest version: B-3 (7), B-4 (6), B-1 (5), B-2 (2) */
    static const char *const want[] = {"B-3:2:7", "B-4:1:6", "B-1:2:5", "B-2:1:2"};
    for (int limit = 1; limit <= 5; limit++) {
        int seen = 0;
        int64_t before = 0;
        for (int page = 0; page < 10; page++) {
            cJSON *rows = registers_newest(&f->st, "datalekken", before, limit);
            assert_non_null(rows);
            int n = cJSON_GetArraySize(rows);
            assert_true(n <= limit);
            for (int i = 0; i < n; i++, seen++) {
                const cJSON *e = cJSON_GetArrayItem(rows, i);
                char got[32];
                snprintf(got, sizeof got, "%s:%d:%d", str(e, "key"), (int)num(e, "version"),
                         (int)num(e, "seq"));
                assert_true(seen < 4);
                assert_string_equal(got, want[seen]);
                assert_string_equal(str(e, "register"), "datalekken");
                before = (int64_t)num(e, "seq");
            }
            cJSON_Delete(rows);
            if (n == 0)
                break;
        }
        assert_int_equal(seen, 4);
    }
    /* the walk goes back along the chain's index, no sort */
    support_trace_sql(f->st.db, "SELECT register,key,version,at,data,hash,prev_hash,seq FROM "
                                "registers r");
    cJSON *rows = registers_newest(&f->st, "datalekken", 0, 0);
    support_assert_plan_walks(f->st.db, "registers_chain", "registers_newest");
    assert_string_equal(str(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 0), "data"), "status"),
                        "closed");
    cJSON_Delete(rows);
    rows = registers_newest(&f->st, "nothing", 0, 10);
    assert_int_equal(cJSON_GetArraySize(rows), 0);
    cJSON_Delete(rows);
}

static void verify_clean_chain(void **state)
{
    fixture *f = *state;
    assert_int_equal(registers_verify(&f->st, NULL, NULL), 0);
    for (int i = 0; i < 4; i++) {
        char fields[64];
        snprintf(fields, sizeof fields, "{\"n\":%d}", i);
        append(f, "r", i % 2 ? "a" : "b", fields, T0 + i);
    }
    assert_int_equal(registers_verify(&f->st, NULL, NULL), 0);
}

/* Three versions of one entry, seq 1..3. */
static void three_versions(fixture *f)
{
    append(f, "r", "k", "{\"status\":\"one\"}", T0);
    append(f, "r", "k", "{\"status\":\"two\"}", T0 + 1);
    append(f, "r", "k", "{\"status\":\"three\"}", T0 + 2);
    assert_int_equal(registers_verify(&f->st, NULL, NULL), 0);
}

static void verify_detects_tampered_data(void **state)
{
    fixture *f = *state;
    three_versions(f);
    support_sql_exec(f->st.db,
                     "UPDATE registers SET data='{\"status\":\"forged\"}' WHERE version=2");
    assert_int_equal(registers_verify(&f->st, NULL, NULL), 1);
}

static void verify_detects_tampered_instant(void **state)
{
    fixture *f = *state;
    three_versions(f);
    support_sql_exec(f->st.db, "UPDATE registers SET at=at-86400 WHERE version=3");
    assert_int_equal(registers_verify(&f->st, NULL, NULL), 1);
}

static void verify_detects_tampered_hash(void **state)
{
    fixture *f = *state;
    three_versions(f);
    support_sql_exec(f->st.db, "UPDATE registers SET hash='" /* 64 zeros */
                               "0000000000000000000000000000000000000000000000000000000000000000' "
                               "WHERE version=1");
    /* version 1 no longer matches its hash, and version 2 no longer links
     * to version 1 */
    assert_int_equal(registers_verify(&f->st, NULL, NULL), 2);
}

static void verify_detects_deleted_version(void **state)
{
    fixture *f = *state;
    three_versions(f);
    support_sql_exec(f->st.db, "DELETE FROM registers WHERE version=2");
    assert_int_equal(registers_verify(&f->st, NULL, NULL), 1);
}

static void chains_are_per_register(void **state)
{
    fixture *f = *state;
    append(f, "a", "k1", "{\"n\":1}", T0);
    append(f, "b", "k1", "{\"n\":1}", T0);
    append(f, "a", "k2", "{\"n\":1}", T0);
    append(f, "b", "k1", "{\"n\":2}", T0);
    append(f, "a", "k1", "{\"n\":2}", T0);
    assert_int_equal(registers_verify(&f->st, NULL, NULL), 0);
    /* each register's first version starts a chain; later ones link to
     * their own register's previous version, not to the other register's */
    assert_int_equal(support_sql_int(f->st.db, "SELECT count(*) FROM registers WHERE prev_hash=''"),
                     2);
    assert_int_equal(support_sql_int(f->st.db,
                                     "SELECT count(*) FROM registers x JOIN registers p ON "
                                     "p.hash=x.prev_hash WHERE p.register<>x.register"),
                     0);
    assert_int_equal(support_sql_int(f->st.db,
                                     "SELECT count(*) FROM registers x JOIN registers p ON "
                                     "p.hash=x.prev_hash AND p.register=x.register"),
                     3);
    /* breaking b leaves a intact */
    support_sql_exec(f->st.db,
                     "UPDATE registers SET data='{\"n\":9}' WHERE register='b' AND version=1");
    assert_int_equal(registers_verify(&f->st, NULL, NULL), 1);
}

/* ENGINE BUG (registers.c:57-58 at c3e5ae9): the merge looks the field up with
 * cJSON_HasObjectItem, which ignores case, and then replaces it with
 * cJSON_ReplaceItemInObjectCaseSensitive. A field whose name differs from an
 * existing one only in case ("Status" vs "status") is then neither replaced
 * nor added, its copy leaks, and no version is recorded. Correct behaviour:
 * field names are case-sensitive like everywhere else in the engine, so the
 * new field is added next to the old one. */
static void merge_treats_field_names_case_sensitively(void **state)
{
    fixture *f = *state;
    append(f, "r", "k", "{\"Status\":\"old\"}", T0);
    append(f, "r", "k", "{\"status\":\"new\"}", T0 + 1);
    assert_int_equal(versions(f, "r", "k"), 2);
    assert_current(f, "r", "k", "{\"Status\":\"old\",\"status\":\"new\"}");
}

/* ENGINE BUG (registers.c:156,164-166 at c3e5ae9): registers_verify remembers the
 * current register name in a 256-byte buffer. A longer name is truncated, so
 * every row looks like the start of a new register and each later version is
 * reported as a broken link although nothing was changed. Correct
 * behaviour: a clean chain verifies whatever the length of the name. */
static void verify_clean_chain_with_long_register_name(void **state)
{
    fixture *f = *state;
    char name[301];
    memset(name, 'r', 300);
    name[300] = '\0';
    append(f, name, "k", "{\"n\":1}", T0);
    append(f, name, "k", "{\"n\":2}", T0 + 1);
    assert_int_equal(versions(f, name, "k"), 2);
    assert_int_equal(registers_verify(&f->st, NULL, NULL), 0);
}

/* The versions of one entry, checked against the register's chain. */
static cJSON *entry_versions(fixture *f, const char *key, char **first_break)
{
    cJSON *rows = registers_entry_versions(&f->st, "r", key, first_break);
    assert_non_null(rows);
    return rows;
}

static int verified(const cJSON *rows, int i)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(rows, i), "verified"));
}

/* Versions of two keys interleaved: the entry's own versions link to the
 * other key's version before them, since the chain is the register's. */
static void entry_versions_verify_across_keys(void **state)
{
    fixture *f = *state;
    append(f, "r", "k", "{\"n\":1}", T0);
    append(f, "r", "other", "{\"n\":1}", T0 + 1);
    append(f, "r", "k", "{\"n\":2}", T0 + 2);
    char *why = (char *)"unset";
    cJSON *rows = entry_versions(f, "k", &why);
    assert_null(why);
    assert_int_equal(cJSON_GetArraySize(rows), 2);
    assert_true(verified(rows, 0) && verified(rows, 1));
    const cJSON *second = cJSON_GetArrayItem(rows, 1);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(second, "version")->valuedouble, 2);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(second, "seq")->valuedouble, 3);
    assert_string_equal(support_str(cJSON_GetObjectItemCaseSensitive(second, "event"), "id"), "e1");
    assert_string_equal(support_str(cJSON_GetObjectItemCaseSensitive(second, "event"), "source"),
                        "s");
    assert_int_equal(
        (int)cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(second, "data"), "n")
            ->valuedouble,
        2);
    cJSON_Delete(rows);
    /* NULL: no break wanted; and the entry's rows are found by their key,
     * not by walking the register's whole chain (registers_chain) */
    support_trace_sql(f->st.db, "SELECT r.register");
    cJSON_Delete(registers_entry_versions(&f->st, "r", "k", NULL));
    support_assert_plan_walks(f->st.db, "sqlite_autoindex_registers_1", "entry versions");
}

static void entry_versions_name_an_altered_version(void **state)
{
    fixture *f = *state;
    three_versions(f);
    support_sql_exec(f->st.db,
                     "UPDATE registers SET data='{\"status\":\"forged\"}' WHERE version=2");
    char *why = NULL;
    cJSON *rows = entry_versions(f, "k", &why);
    assert_string_equal(why, "version 2 (register seq 2): hash does not match its content");
    assert_true(verified(rows, 0));
    assert_false(verified(rows, 1));
    assert_true(verified(rows, 2)); /* its prev_hash still is version 2's stored hash */
    obligo_free(why);
    cJSON_Delete(rows);
}

static void entry_versions_name_a_removed_version(void **state)
{
    fixture *f = *state;
    three_versions(f);
    support_sql_exec(f->st.db, "DELETE FROM registers WHERE version=2");
    char *why = NULL;
    cJSON *rows = entry_versions(f, "k", &why);
    assert_int_equal(cJSON_GetArraySize(rows), 2);
    assert_string_equal(why, "version 3 (register seq 3): prev_hash does not match the hash of "
                             "the register's version before it");
    assert_false(verified(rows, 1));
    obligo_free(why);
    cJSON_Delete(rows);
    /* the first version gone: the second no longer starts the chain */
    support_sql_exec(f->st.db, "DELETE FROM registers WHERE version=1");
    rows = entry_versions(f, "k", &why);
    assert_non_null(strstr(why, "version 3 (register seq 3): prev_hash does not match"));
    obligo_free(why);
    cJSON_Delete(rows);
}

/* Version 2 removed and the chain after it recomputed, so every hash and
 * link holds: the entry's numbers still must follow each other. */
static void entry_versions_name_a_gap_in_numbers(void **state)
{
    fixture *f = *state;
    three_versions(f);
    support_sql_exec(f->st.db, "DELETE FROM registers WHERE version=2");
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->st.db,
                                        "SELECT (SELECT hash FROM registers WHERE version=1),"
                                        "at,data FROM registers WHERE version=3",
                                        -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    char hash[65], sql[512];
    version_hash(hash, (const char *)sqlite3_column_text(q, 0), "r", "k", 3,
                 sqlite3_column_int64(q, 1), (const char *)sqlite3_column_text(q, 2));
    snprintf(sql, sizeof sql,
             "UPDATE registers SET prev_hash=(SELECT hash FROM registers WHERE version=1), "
             "hash='%s' WHERE version=3",
             hash);
    sqlite3_finalize(q);
    support_sql_exec(f->st.db, sql);
    assert_int_equal(registers_verify(&f->st, NULL, NULL), 0); /* the chain alone holds */
    char *why = NULL;
    cJSON *rows = entry_versions(f, "k", &why);
    assert_string_equal(
        why, "version 3 (register seq 3): the version before it of this entry is missing");
    obligo_free(why);
    cJSON_Delete(rows);
    rows = entry_versions(f, "missing", &why);
    assert_int_equal(cJSON_GetArraySize(rows), 0);
    assert_null(why);
    cJSON_Delete(rows);
}

int main(void)
{
    engine_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(append_merges_fields_into_new_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(unchanged_append_adds_no_version, setup, teardown),
        cmocka_unit_test_setup_teardown(current_returns_latest_data, setup, teardown),
        cmocka_unit_test_setup_teardown(list_latest_and_history, setup, teardown),
        cmocka_unit_test_setup_teardown(history_pages_by_seq, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_clean_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_detects_tampered_data, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_detects_tampered_instant, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_detects_tampered_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_detects_deleted_version, setup, teardown),
        cmocka_unit_test_setup_teardown(chains_are_per_register, setup, teardown),
        cmocka_unit_test_setup_teardown(entry_versions_verify_across_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(entry_versions_name_an_altered_version, setup, teardown),
        cmocka_unit_test_setup_teardown(entry_versions_name_a_removed_version, setup, teardown),
        cmocka_unit_test_setup_teardown(entry_versions_name_a_gap_in_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(newest_pages_current_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(merge_treats_field_names_case_sensitively, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_clean_chain_with_long_register_name, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
