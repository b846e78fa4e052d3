/*
 * test_cli_token.c — end to end: the real obligo binary creates, lists and
 * revokes API tokens on a real database file. The token is printed once and
 * is found nowhere afterwards: not in `token list`, not in the database.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "support.h"

typedef struct fixture {
    char *dir, *db;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    f->db = malloc(strlen(f->dir) + 16);
    sprintf(f->db, "%s/obligo.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    support_rmtree(f->dir);
    free(f->dir);
    free(f->db);
    free(f);
    return 0;
}

/* Runs obligo with up to 8 arguments after the binary (NULL-terminated). */
static int obligo(char **out, char **err, const char *a0, const char *a1, const char *a2,
                  const char *a3, const char *a4, const char *a5, const char *a6, const char *a7)
{
    char *argv[] = {(char *)OBLIGO_BIN, (char *)a0, (char *)a1, (char *)a2, (char *)a3,
                    (char *)a4,         (char *)a5, (char *)a6, (char *)a7, NULL};
    return support_run(argv, out, err);
}

static int is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* Whether the bytes of file path contain needle (a missing file does not). */
static int file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    while ((got = fread(buf + n, 1, cap - n, fp)) > 0) {
        n += got;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(fp);
    int found = memmem(buf, n, needle, strlen(needle)) != NULL;
    free(buf);
    return found;
}

static void create_list_revoke(void **state)
{
    fixture *f = *state;
    char *out = NULL, *err = NULL;
    int rc = obligo(&out, &err, "token", "create", "--role", "officer", "--note", "dashboard FG",
                    "--db", f->db);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, err);
    /* line 1: the token alone; line 2: that it will not be shown again */
    char *nl = strchr(out, '\n');
    assert_non_null(nl);
    *nl = '\0';
    char *token = strdup(out);
    assert_int_equal(strlen(token), 44);
    assert_memory_equal(token, "obl_", 4);
    assert_true(is_hex(token + 4, 40));
    assert_non_null(strstr(nl + 1, "not be shown again"));
    free(out);
    free(err);

    /* list --json: id and role, never the token or a hash */
    rc = obligo(&out, &err, "token", "list", "--db", f->db, "--json", NULL, NULL, NULL);
    assert_int_equal(rc, 0);
    assert_null(strstr(out, token));
    assert_null(strstr(out, token + 4));
    assert_null(strstr(out, "hash"));
    cJSON *list = cJSON_Parse(out);
    free(out);
    free(err);
    assert_true(cJSON_IsArray(list));
    assert_int_equal(cJSON_GetArraySize(list), 1);
    const cJSON *t = cJSON_GetArrayItem(list, 0);
    char *id = strdup(support_str(t, "id"));
    assert_int_equal(strlen(id), 12);
    assert_memory_equal(id, "tok_", 4);
    assert_string_equal(support_str(t, "role"), "officer");
    assert_string_equal(support_str(t, "note"), "dashboard FG");
    assert_non_null(support_str(t, "created_at"));
    assert_null(cJSON_GetObjectItemCaseSensitive(t, "revoked_at"));
    cJSON_Delete(list);

    /* the table for people names it too, also without the token */
    rc = obligo(&out, &err, "token", "list", "--db", f->db, NULL, NULL, NULL, NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, id));
    assert_non_null(strstr(out, "officer"));
    assert_null(strstr(out, token));
    free(out);
    free(err);

    /* the token's text is nowhere in the database files */
    char wal[1100];
    snprintf(wal, sizeof wal, "%s-wal", f->db);
    assert_false(file_contains(f->db, token));
    assert_false(file_contains(f->db, token + 4));
    assert_false(file_contains(wal, token + 4));

    /* revoke: 0, then it shows revoked_at; a second revoke finds nothing */
    rc = obligo(&out, &err, "token", "revoke", id, "--db", f->db, NULL, NULL, NULL);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, err);
    free(out);
    free(err);
    list = support_query(f->db, "token", "list");
    assert_int_equal(cJSON_GetArraySize(list), 1);
    assert_non_null(support_str(cJSON_GetArrayItem(list, 0), "revoked_at"));
    cJSON_Delete(list);
    rc = obligo(&out, &err, "token", "revoke", id, "--db", f->db, NULL, NULL, NULL);
    assert_int_equal(rc, 1);
    free(out);
    free(err);
    free(id);
    free(token);
}

static void revoke_of_unknown_id_exits_1(void **state)
{
    fixture *f = *state;
    char *out = NULL, *err = NULL;
    int rc = obligo(&out, &err, "token", "create", "--role", "ingest", "--db", f->db, NULL, NULL);
    assert_int_equal(rc, 0);
    free(out);
    free(err);
    rc = obligo(&out, &err, "token", "revoke", "tok_00000000", "--db", f->db, NULL, NULL, NULL);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "tok_00000000"));
    free(out);
    free(err);
}

static void usage_errors_exit_2(void **state)
{
    fixture *f = *state;
    char *out = NULL, *err = NULL;
    /* a bad role names the role, and creates no database */
    int rc = obligo(&out, &err, "token", "create", "--role", "root", "--db", f->db, NULL, NULL);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "root"));
    assert_non_null(out);
    assert_int_equal(strlen(out), 0);
    free(out);
    free(err);
    struct stat sb;
    assert_int_not_equal(stat(f->db, &sb), 0);
    /* no role at all */
    rc = obligo(&out, &err, "token", "create", "--db", f->db, NULL, NULL, NULL, NULL);
    assert_int_equal(rc, 2);
    assert_int_equal(strlen(out), 0);
    free(out);
    free(err);
    /* no action, an unknown action, revoke without id */
    const char *cases[][2] = {{NULL, NULL}, {"rotate", NULL}, {"revoke", NULL}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rc = obligo(&out, &err, "token", "--db", f->db, cases[i][0], cases[i][1], NULL, NULL, NULL);
        assert_int_equal(rc, 2);
        free(out);
        free(err);
    }
    /* --help is not an error */
    rc = obligo(&out, &err, "token", "--help", NULL, NULL, NULL, NULL, NULL, NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "token create"));
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_list_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(revoke_of_unknown_id_exits_1, setup, teardown),
        cmocka_unit_test_setup_teardown(usage_errors_exit_2, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
