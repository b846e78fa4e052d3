/*
 * tokens.c — API bearer tokens (tokens.h): creation from getrandom(2),
 * SHA-256 at rest, lookup by hash.
 *
 * Depends on store.c (the `tokens` table), digest.c and clock.c. The token
 * text never reaches the database or a log: only digest_parts() of it does.
 */
#include "tokens.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "alloc.h"
#include "clock.h"
#include "digest.h"
#include "error.h"

#define TOKENS_ID_PREFIX "tok_"
#define TOKENS_ID_PREFIX_LEN (sizeof TOKENS_ID_PREFIX - 1)
#define TOKENS_ID_BYTES 4 /* "tok_" and 8 hex digits */
#define TOKENS_ID_LEN (TOKENS_ID_PREFIX_LEN + (size_t)2 * TOKENS_ID_BYTES)
#define TOKENS_PREFIX_LEN (sizeof TOKENS_PREFIX - 1)
#define TOKENS_TEXT_LEN (TOKENS_PREFIX_LEN + (size_t)2 * TOKENS_SECRET_BYTES)

/* The roles, in one place; tokens_check hands out these very strings so the
 * caller may keep the pointer for as long as the process runs. */
static const char *const tokens_roles[] = {"ingest", "officer", "admin"};

static const char *tokens_role(const char *role)
{
    if (!role)
        return NULL;
    for (size_t i = 0; i < sizeof tokens_roles / sizeof tokens_roles[0]; i++)
        if (strcmp(role, tokens_roles[i]) == 0)
            return tokens_roles[i];
    return NULL;
}

int tokens_allows(const char *role, int write)
{
    const char *r = tokens_role(role);
    if (!r)
        return 0;
    if (strcmp(r, "admin") == 0)
        return 1;
    return write ? strcmp(r, "ingest") == 0 : strcmp(r, "officer") == 0;
}

/* Fills buf with n bytes from the kernel's CSPRNG. getrandom may return
 * fewer bytes than asked (or EINTR) while blocking for the pool to be
 * initialised, so it is called until the buffer is full. */
static int tokens_random(unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return OBLIGO_EIO;
        }
        got += (size_t)r;
    }
    return 0;
}

static void tokens_hex(char *out, const unsigned char *in, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int tokens_hash(const char *token, size_t len, char out[DIGEST_HEX_LEN])
{
    const void *parts[1] = {token};
    size_t lens[1] = {len};
    return digest_parts(out, 1, parts, lens);
}

/* Whether the store's schema has the tokens table. Asked only after a
 * statement on it failed to prepare, to tell a database from before
 * migration 2 (opened read-only, so not migrated: it simply has no tokens)
 * from a real error. 1, 0, or a negative code. */
static int tokens_table_exists(store *st)
{
    sqlite3_stmt *s =
        store_stmt(st, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='tokens'");
    if (!s)
        return OBLIGO_EDB;
    int rc = sqlite3_step(s);
    int exists = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) > 0 : -1;
    sqlite3_reset(s);
    if (exists < 0)
        return store_error(rc) ? store_error(rc) : OBLIGO_EDB;
    return exists;
}

/* The error for a statement that did not prepare: 0 when only the table is
 * missing (the caller then answers "no tokens"), else a negative code. */
static int tokens_prepare_error(store *st)
{
    int rc = store_error(sqlite3_errcode(st->db));
    int exists = tokens_table_exists(st);
    if (exists == 0)
        return 0;
    return rc ? rc : OBLIGO_EDB;
}

int tokens_create(store *st, const char *role, const char *note, char **token_out, char **id_out)
{
    *token_out = NULL;
    *id_out = NULL;
    const char *r = tokens_role(role);
    if (!r)
        return OBLIGO_EINVAL;
    char token[TOKENS_TEXT_LEN + 1], id[TOKENS_ID_LEN + 1];
    char hash[DIGEST_HEX_LEN];
    int rc = 0;
    /* A new id colliding with an existing one (1 in 2^32 per token) is
     * answered by drawing again rather than by failing the command. */
    for (int attempt = 0; attempt < 4; attempt++) {
        unsigned char secret[TOKENS_SECRET_BYTES], idbytes[TOKENS_ID_BYTES];
        if ((rc = tokens_random(secret, sizeof secret)) ||
            (rc = tokens_random(idbytes, sizeof idbytes)))
            return rc;
        memcpy(token, TOKENS_PREFIX, TOKENS_PREFIX_LEN);
        tokens_hex(token + TOKENS_PREFIX_LEN, secret, sizeof secret);
        memcpy(id, TOKENS_ID_PREFIX, TOKENS_ID_PREFIX_LEN);
        tokens_hex(id + TOKENS_ID_PREFIX_LEN, idbytes, sizeof idbytes);
        explicit_bzero(secret, sizeof secret);
        if ((rc = tokens_hash(token, TOKENS_TEXT_LEN, hash)))
            break;
        sqlite3_stmt *s = store_stmt(st, "INSERT INTO tokens(id,role,hash,created_at,note) "
                                         "VALUES(?1,?2,?3,?4,?5)");
        if (!s) {
            rc = store_error(sqlite3_errcode(st->db));
            rc = rc ? rc : OBLIGO_EDB;
            break;
        }
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, r, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, (sqlite3_int64)time(NULL));
        if (note)
            sqlite3_bind_text(s, 5, note, -1, SQLITE_STATIC);
        int src = sqlite3_step(s);
        sqlite3_reset(s);
        if (src == SQLITE_DONE) {
            rc = 0;
            break;
        }
        rc = store_error(src) ? store_error(src) : OBLIGO_EDB;
        if ((src & 0xff) != SQLITE_CONSTRAINT)
            break;
    }
    if (!rc) {
        *token_out = obligo_strdup(token);
        *id_out = obligo_strdup(id);
        if (!*token_out || !*id_out) {
            /* The row is stored but nobody could ever learn its token: it
             * is harmless, yet say so rather than pretend success. */
            obligo_free(*token_out);
            obligo_free(*id_out);
            *token_out = *id_out = NULL;
            rc = OBLIGO_ENOMEM;
        }
    }
    explicit_bzero(token, sizeof token);
    return rc;
}

cJSON *tokens_list(store *st)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT id,role,created_at,revoked_at,note FROM tokens "
                                     "ORDER BY created_at,rowid");
    if (!s)
        return tokens_prepare_error(st) == 0 ? cJSON_CreateArray() : NULL;
    cJSON *out = cJSON_CreateArray();
    int rc = SQLITE_DONE;
    while (out && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        cJSON *t = cJSON_CreateObject();
        char at[CLOCK_RFC3339_LEN];
        if (!t || !cJSON_AddItemToArray(out, t)) {
            cJSON_Delete(t);
            goto fail;
        }
        if (!cJSON_AddStringToObject(t, "id", (const char *)sqlite3_column_text(s, 0)) ||
            !cJSON_AddStringToObject(t, "role", (const char *)sqlite3_column_text(s, 1)))
            goto fail;
        clock_format_utc(sqlite3_column_int64(s, 2), at);
        if (!cJSON_AddStringToObject(t, "created_at", at))
            goto fail;
        if (sqlite3_column_type(s, 3) != SQLITE_NULL) {
            clock_format_utc(sqlite3_column_int64(s, 3), at);
            if (!cJSON_AddStringToObject(t, "revoked_at", at))
                goto fail;
        }
        if (sqlite3_column_type(s, 4) != SQLITE_NULL &&
            !cJSON_AddStringToObject(t, "note", (const char *)sqlite3_column_text(s, 4)))
            goto fail;
    }
    if (out && rc != SQLITE_DONE)
        goto fail;
    sqlite3_reset(s);
    return out;
fail:
    sqlite3_reset(s);
    cJSON_Delete(out);
    return NULL;
}

int tokens_revoke(store *st, const char *id)
{
    if (!id)
        return OBLIGO_ENOTFOUND;
    sqlite3_stmt *s = store_stmt(st, "UPDATE tokens SET revoked_at=?2 "
                                     "WHERE id=?1 AND revoked_at IS NULL");
    if (!s) {
        int rc = tokens_prepare_error(st);
        return rc ? rc : OBLIGO_ENOTFOUND;
    }
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)time(NULL));
    int src = sqlite3_step(s);
    sqlite3_reset(s);
    if (src != SQLITE_DONE)
        return store_error(src) ? store_error(src) : OBLIGO_EDB;
    return sqlite3_changes(st->db) > 0 ? 0 : OBLIGO_ENOTFOUND;
}

int tokens_any(store *st)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT EXISTS (SELECT 1 FROM tokens)");
    if (!s)
        return tokens_prepare_error(st);
    int src = sqlite3_step(s);
    int any = src == SQLITE_ROW ? sqlite3_column_int(s, 0) != 0 : -1;
    sqlite3_reset(s);
    if (any < 0)
        return store_error(src) ? store_error(src) : OBLIGO_EDB;
    return any;
}

static int tokens_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Finds the token in "Bearer <token>"; *len gets its length. NULL when the
 * value is not of that form or the token is not shaped like ours (which
 * spares hashing arbitrary input). */
static const char *tokens_parse(const char *v, size_t *len)
{
    if (!v)
        return NULL;
    while (tokens_blank(*v))
        v++;
    if (strncasecmp(v, "Bearer", 6) != 0 || !tokens_blank(v[6]))
        return NULL;
    v += 6;
    while (tokens_blank(*v))
        v++;
    const char *t = v;
    while (*v && !tokens_blank(*v))
        v++;
    size_t n = (size_t)(v - t);
    while (tokens_blank(*v))
        v++;
    if (*v || n != TOKENS_TEXT_LEN || strncmp(t, TOKENS_PREFIX, TOKENS_PREFIX_LEN) != 0)
        return NULL;
    for (size_t i = TOKENS_PREFIX_LEN; i < n; i++)
        if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
            return NULL;
    *len = n;
    return t;
}

static void tokens_cached_free(tokens_cached *valid, int n)
{
    for (int i = 0; i < n; i++)
        obligo_free(valid[i].note);
    obligo_free(valid);
}

int tokens_cache_refresh(tokens_cache *c, store *st, double now)
{
    if (c->loaded_at > 0 && now - c->loaded_at < TOKENS_CACHE_SECONDS)
        return 0;
    int any = tokens_any(st);
    if (any < 0)
        return any;
    tokens_cached *valid = NULL;
    int n = 0, cap = 0, rc = 0;
    sqlite3_stmt *s =
        any ? store_stmt(st, "SELECT hash, role, id, note FROM tokens WHERE revoked_at IS NULL")
            : NULL;
    if (any && !s) {
        int perr = tokens_prepare_error(st);
        return perr ? perr : OBLIGO_EDB;
    }
    int src = SQLITE_DONE;
    while (s && (src = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            int ncap = cap ? cap * 2 : 8;
            tokens_cached *nv = obligo_realloc(valid, (size_t)ncap * sizeof *nv);
            if (!nv) {
                rc = OBLIGO_ENOMEM;
                break;
            }
            valid = nv;
            cap = ncap;
        }
        const char *hash = (const char *)sqlite3_column_text(s, 0);
        const char *role = tokens_role((const char *)sqlite3_column_text(s, 1));
        const char *id = (const char *)sqlite3_column_text(s, 2);
        const char *note = (const char *)sqlite3_column_text(s, 3);
        if (!hash || !role || strlen(hash) != DIGEST_HEX_LEN - 1 || !id ||
            strlen(id) >= sizeof valid[n].id)
            continue; /* not a row tokens_create wrote */
        memcpy(valid[n].hash, hash, DIGEST_HEX_LEN);
        valid[n].role = role;
        memcpy(valid[n].id, id, strlen(id) + 1);
        valid[n].note = note ? obligo_strdup(note) : NULL;
        if (note && !valid[n].note) {
            rc = OBLIGO_ENOMEM;
            break;
        }
        n++;
    }
    if (s)
        sqlite3_reset(s);
    if (!rc && src != SQLITE_DONE)
        rc = store_error(src) ? store_error(src) : OBLIGO_EDB;
    if (rc) {
        tokens_cached_free(valid, n);
        return rc;
    }
    tokens_cached_free(c->valid, c->n);
    c->valid = valid;
    c->n = n;
    c->any = any;
    c->loaded_at = now;
    return 0;
}

/* The hash of the token an Authorization value presents: 0,
 * OBLIGO_ENOTFOUND when it presents none of our shape, or an error. */
static int tokens_presented(const char *authorization, char hash[DIGEST_HEX_LEN])
{
    size_t len = 0;
    const char *token = tokens_parse(authorization, &len);
    return token ? tokens_hash(token, len, hash) : OBLIGO_ENOTFOUND;
}

int tokens_cache_check(const tokens_cache *c, const char *authorization, const char **role_out)
{
    *role_out = NULL;
    char hash[DIGEST_HEX_LEN];
    int rc = tokens_presented(authorization, hash);
    if (rc)
        return rc;
    for (int i = 0; i < c->n; i++)
        if (memcmp(c->valid[i].hash, hash, DIGEST_HEX_LEN) == 0) {
            *role_out = c->valid[i].role;
            return 0;
        }
    return OBLIGO_ENOTFOUND;
}

int tokens_presented_hash(const char *authorization, char hash[DIGEST_HEX_LEN])
{
    return tokens_presented(authorization, hash);
}

const tokens_cached *tokens_cache_find(const tokens_cache *c, const char *hash)
{
    for (int i = 0; i < c->n; i++)
        if (memcmp(c->valid[i].hash, hash, DIGEST_HEX_LEN) == 0)
            return &c->valid[i];
    return NULL;
}

const char *tokens_cache_role_of(const tokens_cache *c, const char *hash)
{
    const tokens_cached *t = tokens_cache_find(c, hash);
    return t ? t->role : NULL;
}

void tokens_cache_free(tokens_cache *c)
{
    tokens_cached_free(c->valid, c->n);
    memset(c, 0, sizeof *c);
}

int tokens_check(store *st, const char *authorization, const char **role_out)
{
    *role_out = NULL;
    char hash[DIGEST_HEX_LEN];
    int rc = tokens_presented(authorization, hash);
    if (rc)
        return rc;
    sqlite3_stmt *s =
        store_stmt(st, "SELECT role FROM tokens WHERE hash=?1 AND revoked_at IS NULL");
    if (!s) {
        rc = tokens_prepare_error(st);
        return rc ? rc : OBLIGO_ENOTFOUND;
    }
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
    int src = sqlite3_step(s);
    if (src == SQLITE_ROW)
        *role_out = tokens_role((const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return store_error(src) ? store_error(src) : OBLIGO_EDB;
    return *role_out ? 0 : OBLIGO_ENOTFOUND;
}
