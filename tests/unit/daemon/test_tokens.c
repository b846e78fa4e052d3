/*
 * test_tokens.c — API tokens (engine/tokens.c) on a real database file: the
 * shape of a new token, that only its hash is stored, the Authorization
 * header parsing, revocation, the "any token" switch, the role matrix, and
 * the reading functions on a read-only store.
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
#include "clock.h"
#include "digest.h"
#include "engine.h"
#include "error.h"
#include "store.h"
#include "support.h"
#include "tokens.h"

typedef struct fixture {
    char *dir;
    char path[1100];
    store st;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    snprintf(f->path, sizeof f->path, "%s/db/obligo.db", f->dir);
    char *err = NULL;
    if (store_open(&f->st, f->path, 0, &err))
        fail_msg("%s", err);
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

static int is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[n] == '\0';
}

static void create_ok(store *st, const char *role, const char *note, char **token, char **id)
{
    assert_int_equal(tokens_create(st, role, note, token, id), 0);
    assert_non_null(*token);
    assert_non_null(*id);
}

static int check(store *st, const char *header, const char **role)
{
    *role = (const char *)"unset";
    return tokens_check(st, header, role);
}

static char *bearer(const char *token)
{
    char *h = malloc(strlen(token) + 8);
    sprintf(h, "Bearer %s", token);
    return h;
}

static void create_gives_token_of_right_shape_and_stores_no_plaintext(void **state)
{
    fixture *f = *state;
    char *token, *id;
    create_ok(&f->st, "officer", "dashboard FG", &token, &id);
    assert_int_equal(strlen(token), 44);
    assert_memory_equal(token, "obl_", 4);
    assert_true(is_hex(token + 4, 40));
    assert_int_equal(strlen(id), 12);
    assert_memory_equal(id, "tok_", 4);
    assert_true(is_hex(id + 4, 8));

    /* The row holds the SHA-256 of the token (one digest_parts part), and
     * no column holds the token or its secret part. */
    char expected[DIGEST_HEX_LEN];
    const void *parts[1] = {token};
    size_t lens[1] = {strlen(token)};
    assert_int_equal(digest_parts(expected, 1, parts, lens), 0);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(f->st.db, "SELECT * FROM tokens", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int hash_seen = 0;
    for (int c = 0; c < sqlite3_column_count(s); c++) {
        const char *name = sqlite3_column_name(s, c);
        const char *v = (const char *)sqlite3_column_text(s, c);
        if (!v)
            continue;
        assert_null(strstr(v, token));
        assert_null(strstr(v, token + 4));
        if (strcmp(name, "hash") == 0) {
            assert_string_not_equal(v, token);
            assert_string_equal(v, expected);
            hash_seen = 1;
        } else if (strcmp(name, "id") == 0) {
            assert_string_equal(v, id);
        } else if (strcmp(name, "role") == 0) {
            assert_string_equal(v, "officer");
        } else if (strcmp(name, "note") == 0) {
            assert_string_equal(v, "dashboard FG");
        }
    }
    assert_true(hash_seen);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);

    /* two tokens never share text or id */
    char *token2, *id2;
    create_ok(&f->st, "officer", NULL, &token2, &id2);
    assert_string_not_equal(token, token2);
    assert_string_not_equal(id, id2);
    obligo_free(token);
    obligo_free(id);
    obligo_free(token2);
    obligo_free(id2);
}

static void create_refuses_unknown_role(void **state)
{
    fixture *f = *state;
    const char *bad[] = {"root", "", "Admin", "officer ", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *token = (char *)"x", *id = (char *)"y";
        assert_int_equal(tokens_create(&f->st, bad[i], NULL, &token, &id), OBLIGO_EINVAL);
        assert_null(token);
        assert_null(id);
    }
    assert_int_equal(tokens_any(&f->st), 0);
}

static void check_accepts_the_token_with_its_role(void **state)
{
    fixture *f = *state;
    char *officer, *oid, *ingest, *iid, *admin, *aid;
    create_ok(&f->st, "officer", NULL, &officer, &oid);
    create_ok(&f->st, "ingest", NULL, &ingest, &iid);
    create_ok(&f->st, "admin", NULL, &admin, &aid);
    const char *role;
    char *h = bearer(officer);
    assert_int_equal(check(&f->st, h, &role), 0);
    assert_string_equal(role, "officer");
    free(h);
    h = bearer(ingest);
    assert_int_equal(check(&f->st, h, &role), 0);
    assert_string_equal(role, "ingest");
    free(h);
    h = bearer(admin);
    assert_int_equal(check(&f->st, h, &role), 0);
    assert_string_equal(role, "admin");
    free(h);

    /* the scheme in any case, blanks around the value and between */
    char buf[128];
    const char *forms[] = {"bearer %s", "BEARER %s", "  Bearer %s  ", "\tBearer\t%s\t",
                           "Bearer   %s"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        snprintf(buf, sizeof buf, forms[i], officer);
        assert_int_equal(check(&f->st, buf, &role), 0);
        assert_string_equal(role, "officer");
    }
    /* the role is a static string: it outlives the store's statement */
    const char *kept = role;
    store_close(&f->st);
    assert_string_equal(kept, "officer");
    char *err = NULL;
    assert_int_equal(store_open(&f->st, f->path, 0, &err), 0);
    obligo_free(officer);
    obligo_free(oid);
    obligo_free(ingest);
    obligo_free(iid);
    obligo_free(admin);
    obligo_free(aid);
}

static void check_refuses_wrong_and_malformed_headers(void **state)
{
    fixture *f = *state;
    char *token, *id;
    create_ok(&f->st, "admin", NULL, &token, &id);
    char upper[64], longer[64], trailing[80], noscheme[64], nospace[64], basic[64], other[64];
    snprintf(upper, sizeof upper, "Bearer obl_%s", "ABCDEF0123456789ABCDEF0123456789ABCDEF01");
    snprintf(longer, sizeof longer, "Bearer %s0", token);
    snprintf(trailing, sizeof trailing, "Bearer %s extra", token);
    snprintf(noscheme, sizeof noscheme, "%s", token);
    snprintf(nospace, sizeof nospace, "Bearer%s", token);
    snprintf(basic, sizeof basic, "Basic %s", token);
    /* well formed, but no such token: the last digit changed */
    snprintf(other, sizeof other, "Bearer %s", token);
    other[strlen(other) - 1] = other[strlen(other) - 1] == '0' ? '1' : '0';
    const char *bad[] = {
        NULL,   "",       "   ",    "Basic x", "Bearer", "Bearer ", "Bearer  obl_x", upper,
        longer, trailing, noscheme, nospace,   basic,    other,     "Token abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *role;
        assert_int_equal(check(&f->st, bad[i], &role), OBLIGO_ENOTFOUND);
        assert_null(role);
    }
    obligo_free(token);
    obligo_free(id);
}

static void revoked_token_no_longer_checks(void **state)
{
    fixture *f = *state;
    char *token, *id, *keep, *keep_id;
    create_ok(&f->st, "ingest", "scanner", &token, &id);
    create_ok(&f->st, "ingest", NULL, &keep, &keep_id);
    char *h = bearer(token), *hk = bearer(keep);
    const char *role;
    assert_int_equal(check(&f->st, h, &role), 0);
    assert_int_equal(tokens_revoke(&f->st, id), 0);
    assert_int_equal(check(&f->st, h, &role), OBLIGO_ENOTFOUND);
    assert_null(role);
    /* revoking one leaves the other working */
    assert_int_equal(check(&f->st, hk, &role), 0);
    assert_string_equal(role, "ingest");
    /* a second revoke finds nothing active */
    assert_int_equal(tokens_revoke(&f->st, id), OBLIGO_ENOTFOUND);

    cJSON *list = tokens_list(&f->st);
    assert_int_equal(cJSON_GetArraySize(list), 2);
    const cJSON *first = cJSON_GetArrayItem(list, 0), *second = cJSON_GetArrayItem(list, 1);
    const cJSON *revoked = strcmp(support_str(first, "id"), id) == 0 ? first : second;
    const cJSON *active = revoked == first ? second : first;
    assert_string_equal(support_str(revoked, "id"), id);
    obligo_time t;
    assert_non_null(support_str(revoked, "revoked_at"));
    assert_int_equal(clock_parse_rfc3339(support_str(revoked, "revoked_at"), &t), 0);
    assert_null(cJSON_GetObjectItemCaseSensitive(active, "revoked_at"));
    cJSON_Delete(list);
    free(h);
    free(hk);
    obligo_free(token);
    obligo_free(id);
    obligo_free(keep);
    obligo_free(keep_id);
}

/* The server's snapshot: no tokens means open to loopback; a created token
 * is seen, and a revocation takes effect, once the snapshot is older than
 * TOKENS_CACHE_SECONDS — not before (times are given, not waited for). */
static void cache_follows_the_table_after_its_age(void **state)
{
    fixture *f = *state;
    tokens_cache c = {0};
    const char *role;
    assert_int_equal(tokens_cache_refresh(&c, &f->st, 100.0), 0);
    assert_int_equal(c.any, 0);
    char *token, *id;
    create_ok(&f->st, "officer", NULL, &token, &id);
    char *h = bearer(token);
    /* younger than the cache time: still the old picture */
    assert_int_equal(tokens_cache_refresh(&c, &f->st, 100.0 + TOKENS_CACHE_SECONDS / 2), 0);
    assert_int_equal(c.any, 0);
    assert_int_equal(tokens_cache_check(&c, h, &role), OBLIGO_ENOTFOUND);
    /* older: read again */
    assert_int_equal(tokens_cache_refresh(&c, &f->st, 100.0 + TOKENS_CACHE_SECONDS), 0);
    assert_int_equal(c.any, 1);
    assert_int_equal(tokens_cache_check(&c, h, &role), 0);
    assert_string_equal(role, "officer");
    assert_int_equal(
        tokens_cache_check(&c, "Bearer obl_0000000000000000000000000000000000000000", &role),
        OBLIGO_ENOTFOUND);
    assert_int_equal(tokens_cache_check(&c, NULL, &role), OBLIGO_ENOTFOUND);
    assert_int_equal(tokens_revoke(&f->st, id), 0);
    assert_int_equal(tokens_cache_refresh(&c, &f->st, 100.5 + TOKENS_CACHE_SECONDS), 0);
    assert_int_equal(tokens_cache_check(&c, h, &role), 0);
    assert_int_equal(tokens_cache_refresh(&c, &f->st, 101.0 + 2 * TOKENS_CACHE_SECONDS), 0);
    assert_int_equal(tokens_cache_check(&c, h, &role), OBLIGO_ENOTFOUND);
    assert_null(role);
    assert_int_equal(c.any, 1); /* a revoked token still means tokens are in use */
    tokens_cache_free(&c);
    free(h);
    obligo_free(token);
    obligo_free(id);
}

static void revoke_of_unknown_id_is_not_found(void **state)
{
    fixture *f = *state;
    assert_int_equal(tokens_revoke(&f->st, "tok_00000000"), OBLIGO_ENOTFOUND);
    assert_int_equal(tokens_revoke(&f->st, ""), OBLIGO_ENOTFOUND);
    assert_int_equal(tokens_revoke(&f->st, NULL), OBLIGO_ENOTFOUND);
}

static void any_counts_revoked_tokens_too(void **state)
{
    fixture *f = *state;
    assert_int_equal(tokens_any(&f->st), 0);
    char *token, *id;
    create_ok(&f->st, "officer", NULL, &token, &id);
    assert_int_equal(tokens_any(&f->st), 1);
    assert_int_equal(tokens_revoke(&f->st, id), 0);
    /* once tokens are in use, revoking the last does not reopen the API */
    assert_int_equal(tokens_any(&f->st), 1);
    obligo_free(token);
    obligo_free(id);
}

static void allows_matrix(void **state)
{
    (void)state;
    assert_true(tokens_allows("ingest", 1));
    assert_false(tokens_allows("ingest", 0));
    assert_false(tokens_allows("officer", 1));
    assert_true(tokens_allows("officer", 0));
    assert_true(tokens_allows("admin", 1));
    assert_true(tokens_allows("admin", 0));
    assert_false(tokens_allows(NULL, 0));
    assert_false(tokens_allows(NULL, 1));
    assert_false(tokens_allows("root", 0));
    assert_false(tokens_allows("root", 1));
    assert_false(tokens_allows("", 0));
    assert_false(tokens_allows("Admin", 1));
}

static void list_shows_tokens_without_hash(void **state)
{
    fixture *f = *state;
    cJSON *empty = tokens_list(&f->st);
    assert_true(cJSON_IsArray(empty));
    assert_int_equal(cJSON_GetArraySize(empty), 0);
    cJSON_Delete(empty);

    char *token, *id;
    create_ok(&f->st, "admin", "beheer \"ICT\"", &token, &id);
    char hash[DIGEST_HEX_LEN];
    const void *parts[1] = {token};
    size_t lens[1] = {strlen(token)};
    assert_int_equal(digest_parts(hash, 1, parts, lens), 0);

    cJSON *list = tokens_list(&f->st);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    const cJSON *t = cJSON_GetArrayItem(list, 0);
    assert_string_equal(support_str(t, "id"), id);
    assert_string_equal(support_str(t, "role"), "admin");
    assert_string_equal(support_str(t, "note"), "beheer \"ICT\"");
    obligo_time created;
    assert_int_equal(clock_parse_rfc3339(support_str(t, "created_at"), &created), 0);
    assert_true(support_str(t, "created_at")[19] == 'Z');
    assert_null(cJSON_GetObjectItemCaseSensitive(t, "revoked_at"));
    for (const cJSON *c = t->child; c; c = c->next) {
        assert_true(strcmp(c->string, "id") == 0 || strcmp(c->string, "role") == 0 ||
                    strcmp(c->string, "created_at") == 0 || strcmp(c->string, "note") == 0);
    }
    char *text = cJSON_PrintUnformatted(list);
    assert_null(strstr(text, hash));
    assert_null(strstr(text, token));
    assert_null(strstr(text, "hash"));
    cJSON_free(text);
    cJSON_Delete(list);
    obligo_free(token);
    obligo_free(id);
}

static void reading_functions_work_read_only(void **state)
{
    fixture *f = *state;
    char *token, *id;
    create_ok(&f->st, "officer", NULL, &token, &id);
    store ro;
    char *err = NULL;
    if (store_open(&ro, f->path, 1, &err))
        fail_msg("%s", err);
    assert_int_equal(tokens_any(&ro), 1);
    cJSON *list = tokens_list(&ro);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    cJSON_Delete(list);
    char *h = bearer(token);
    const char *role;
    assert_int_equal(check(&ro, h, &role), 0);
    assert_string_equal(role, "officer");
    /* a revoke through the writer is seen by the read connection */
    assert_int_equal(tokens_revoke(&f->st, id), 0);
    assert_int_equal(check(&ro, h, &role), OBLIGO_ENOTFOUND);
    /* and the read-only store cannot revoke or create */
    assert_true(tokens_revoke(&ro, id) < 0);
    char *t2, *id2;
    assert_true(tokens_create(&ro, "admin", NULL, &t2, &id2) < 0);
    assert_null(t2);
    assert_null(id2);
    store_close(&ro);
    free(h);
    obligo_free(token);
    obligo_free(id);
}

/* A database of schema version 1 opened read-only is not migrated: it has
 * no tokens table, which means no tokens, not an error. */
static void read_only_database_before_tokens_has_none(void **state)
{
    fixture *f = *state;
    store_close(&f->st);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "DROP TABLE tokens; ALTER TABLE outbox DROP COLUMN next_attempt_at; "
                     "ALTER TABLE outbox DROP COLUMN last_error; DROP INDEX registers_chain; "
                     "DROP TABLE ruleset_files; DROP TABLE rulesets; "
                     "DROP INDEX obligations_active_by_due; "
                     "DROP INDEX obligations_active_by_kind_due; "
                     "DROP INDEX obligations_by_subject_due; DROP INDEX alerts_by_kind; "
                     "DROP INDEX alerts_by_severity; DROP INDEX events_by_breach; "
                     "PRAGMA user_version=1;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    char *err = NULL;
    if (store_open(&f->st, f->path, 1, &err))
        fail_msg("%s", err);
    assert_int_equal(tokens_any(&f->st), 0);
    cJSON *list = tokens_list(&f->st);
    assert_true(cJSON_IsArray(list));
    assert_int_equal(cJSON_GetArraySize(list), 0);
    cJSON_Delete(list);
    const char *role;
    assert_int_equal(check(&f->st, "Bearer obl_0123456789abcdef0123456789abcdef01234567", &role),
                     OBLIGO_ENOTFOUND);
    store_close(&f->st);
    /* the read-write open migrates it, and tokens work */
    assert_int_equal(store_open(&f->st, f->path, 0, &err), 0);
    char *token, *id;
    create_ok(&f->st, "ingest", NULL, &token, &id);
    assert_int_equal(tokens_any(&f->st), 1);
    obligo_free(token);
    obligo_free(id);
}

static void out_of_memory_fails_cleanly(void **state)
{
    fixture *f = *state;
    char *token = (char *)"x", *id = (char *)"y";
    alloc_fail_after(1);
    int rc = tokens_create(&f->st, "officer", NULL, &token, &id);
    alloc_fail_after(0);
    assert_int_equal(rc, OBLIGO_ENOMEM);
    assert_null(token);
    assert_null(id);
    create_ok(&f->st, "officer", "n", &token, &id);
    /* every allocation of tokens_list in turn fails; none crashes or leaks */
    for (long n = 1;; n++) {
        alloc_fail_after(n);
        cJSON *list = tokens_list(&f->st);
        alloc_fail_after(0);
        if (list) {
            assert_int_equal(cJSON_GetArraySize(list), 2);
            cJSON_Delete(list);
            break;
        }
        assert_true(n < 100);
    }
    obligo_free(token);
    obligo_free(id);
}

int main(void)
{
    engine_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_gives_token_of_right_shape_and_stores_no_plaintext,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(create_refuses_unknown_role, setup, teardown),
        cmocka_unit_test_setup_teardown(check_accepts_the_token_with_its_role, setup, teardown),
        cmocka_unit_test_setup_teardown(check_refuses_wrong_and_malformed_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(revoked_token_no_longer_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(revoke_of_unknown_id_is_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(any_counts_revoked_tokens_too, setup, teardown),
        cmocka_unit_test(allows_matrix),
        cmocka_unit_test_setup_teardown(list_shows_tokens_without_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(reading_functions_work_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(read_only_database_before_tokens_has_none, setup, teardown),
        cmocka_unit_test_setup_teardown(cache_follows_the_table_after_its_age, setup, teardown),
        cmocka_unit_test_setup_teardown(out_of_memory_fails_cleanly, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
