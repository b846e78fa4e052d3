/*
 * support.c — test helpers (support.h).
 */
#define _GNU_SOURCE
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <openssl/evp.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

char *support_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char templ[512];
    snprintf(templ, sizeof templ, "%s/obligo-test-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(templ);
    return d ? strdup(d) : NULL;
}

static int support_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

void support_rmtree(const char *path)
{
    if (path)
        nftw(path, support_rm, 16, FTW_DEPTH | FTW_PHYS);
}

char *support_write(const char *dir, const char *name, const char *text)
{
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", dir, name);
    for (char *p = path + strlen(dir) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    }
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        free(path);
        return NULL;
    }
    fputs(text, fp);
    fclose(fp);
    return path;
}

static char *support_slurp(int fd)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    ssize_t got;
    while ((got = read(fd, buf + n, cap - n - 1)) > 0) {
        n += (size_t)got;
        if (n + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    return buf;
}

int support_run(char *const argv[], char **out, char **err)
{
    int po[2], pe[2];
    if (pipe(po) || pipe(pe))
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    /* stderr is small in these tests; read stdout first, then stderr. */
    char *o = support_slurp(po[0]);
    char *e = support_slurp(pe[0]);
    close(po[0]);
    close(pe[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

cJSON *support_query(const char *db, const char *cmd, const char *arg)
{
    char *out = NULL;
    char *argv[8];
    int i = 0;
    argv[i++] = (char *)OBLIGO_BIN;
    argv[i++] = (char *)cmd;
    if (arg)
        argv[i++] = (char *)arg;
    argv[i++] = (char *)"--db";
    argv[i++] = (char *)db;
    argv[i++] = (char *)"--json";
    argv[i] = NULL;
    int rc = support_run(argv, &out, NULL);
    cJSON *v = rc == 0 && out ? cJSON_Parse(out) : NULL;
    free(out);
    return v;
}

long long support_sql_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    long long v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

void support_sql_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "error");
    sqlite3_free(msg);
}

void support_assert_clean_log(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return;
    char line[4096];
    while (fgets(line, sizeof line, fp)) {
        if (strstr(line, "ERROR: AddressSanitizer") || strstr(line, "ERROR: LeakSanitizer") ||
            strstr(line, "runtime error:")) {
            fclose(fp);
            fail_msg("%s: a sanitizer reported: %s", path, line);
        }
    }
    fclose(fp);
}

char *support_read_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *text = support_slurp(fd);
    close(fd);
    return text;
}

char *support_file(const char *path)
{
    char *text = support_read_file(path);
    if (!text)
        fail_msg("cannot read %s", path);
    return text;
}

char *support_run_client(char *const argv[], const char *done)
{
    char *out = NULL, *err = NULL;
    int rc = support_run(argv, &out, &err);
    if (rc != 0 || !out || (done && !strstr(out, done))) {
        /* the client is named by its script where there is one */
        const char *name = argv[0];
        for (int i = 1; argv[i]; i++)
            if (strstr(argv[i], ".mjs"))
                name = argv[i];
        fprintf(stderr, "%s exited %d:\n%s%s", name, rc, out ? out : "", err ? err : "");
        fail_msg("the client %s failed (exit %d)", name, rc);
    }
    free(err);
    return out;
}

char *support_make_token(const char *db, const char *role)
{
    return support_make_token_note(db, role, NULL);
}

char *support_make_token_note(const char *db, const char *role, const char *note)
{
    char *out = NULL;
    char *argv[] = {(char *)OBLIGO_BIN, "token", "create",   "--role",
                    (char *)role,       "--db",  (char *)db, note ? "--note" : NULL,
                    (char *)note,       NULL};
    if (support_run(argv, &out, NULL) != 0)
        fail_msg("obligo token create --role %s --db %s failed", role, db);
    char *tok = out ? strstr(out, "obl_") : NULL;
    if (!tok)
        fail_msg("obligo token create printed no token: %s", out ? out : "");
    char *t = strndup(tok, strspn(tok, "obl_0123456789abcdef"));
    free(out);
    return t;
}

void support_assert_replays(const char *db)
{
    if (access(db, F_OK) != 0)
        return;
    char *argv[] = {(char *)OBLIGO_BIN, "verify", "--replay", "--quiet", "--db", (char *)db, NULL};
    char *out = NULL, *err = NULL;
    int status = support_run(argv, &out, &err);
    if (status != 0) {
        /* cmocka's message buffer is short: the whole output goes first */
        fprintf(stderr, "obligo verify --replay --db %s exited %d:\n%s%s", db, status,
                out ? out : "", err ? err : "");
        free(out);
        free(err);
        fail_msg("the recorded decisions of %s do not reproduce (exit %d)", db, status);
    }
    free(out);
    free(err);
}

const char *support_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const cJSON *support_find(const cJSON *arr, const char *kind, const char *subject, int *count)
{
    const cJSON *first = NULL;
    int n = 0;
    for (const cJSON *c = arr ? arr->child : NULL; c; c = c->next) {
        const char *k = support_str(c, "kind"), *s = support_str(c, "subject");
        if (k && strcmp(k, kind) == 0 && (!subject || (s && strcmp(s, subject) == 0))) {
            if (!first)
                first = c;
            n++;
        }
    }
    if (count)
        *count = n;
    return first;
}

void support_sha256_parts(char out[65], int n, const char *const *parts, const size_t *lens)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_non_null(md);
    const unsigned char sep = 0x1f;
    assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
    for (int i = 0; i < n; i++) {
        EVP_DigestUpdate(md, parts[i], lens ? lens[i] : strlen(parts[i]));
        EVP_DigestUpdate(md, &sep, 1);
    }
    unsigned char d[32];
    unsigned int len = 0;
    EVP_DigestFinal_ex(md, d, &len);
    EVP_MD_CTX_free(md);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

void support_store_open(store *st, const char *dir, const char *name)
{
    char path[4096], *err = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (store_open(st, path, 0, &err))
        fail_msg("cannot open %s: %s", path, err ? err : "(no message)");
}

char *support_store_fresh(store *st)
{
    char *dir = support_tmpdir();
    support_store_open(st, dir, "obligo.db");
    return dir;
}

void support_store_done(store *st, char *dir)
{
    store_close(st);
    support_rmtree(dir);
    free(dir);
}
