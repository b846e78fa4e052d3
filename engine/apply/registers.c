/*
 * registers.c — append-only registers with hash chains (registers.h).
 */
#include "registers.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "json.h"
#include "digest.h"
#include "error.h"

static int registers_hash(char out[DIGEST_HEX_LEN], const char *prev, const char *name,
                          const char *key, long long version, long long at, const char *data)
{
    char v[32], a[32];
    snprintf(v, sizeof v, "%lld", version);
    snprintf(a, sizeof a, "%lld", at);
    const void *parts[] = {prev, name, key, v, a, data};
    size_t lens[] = {strlen(prev), strlen(name), strlen(key), strlen(v), strlen(a), strlen(data)};
    return digest_parts(out, 6, parts, lens);
}

cJSON *registers_current(store *st, const char *name, const char *key)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT data FROM registers WHERE register=?1 AND key=?2 "
                                     "ORDER BY version DESC LIMIT 1");
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    cJSON *out = NULL;
    if (sqlite3_step(s) == SQLITE_ROW)
        out = cJSON_Parse((const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    return out;
}

int registers_append(store *st, const char *name, const char *key, const cJSON *fields,
                     obligo_time at, int64_t event_seq)
{
    int rc = 0;
    char *before = NULL, *after = NULL;
    cJSON *data = registers_current(st, name, key);
    long long version = 0;
    if (data) {
        before = cJSON_PrintUnformatted(data);
    } else if (!(data = cJSON_CreateObject())) {
        return OBLIGO_ENOMEM;
    }
    for (const cJSON *f = fields ? fields->child : NULL; f; f = f->next) {
        cJSON *copy = cJSON_Duplicate(f, 1);
        if (!copy) {
            rc = OBLIGO_ENOMEM;
            goto out;
        }
        if (json_set(data, f->string, copy)) {
            rc = OBLIGO_ENOMEM;
            goto out;
        }
    }
    if (!(after = cJSON_PrintUnformatted(data))) {
        rc = OBLIGO_ENOMEM;
        goto out;
    }
    if (before && strcmp(before, after) == 0)
        goto out; /* nothing new to record */

    sqlite3_stmt *s = store_stmt(st, "SELECT coalesce(max(version),0) FROM registers "
                                     "WHERE register=?1 AND key=?2");
    if (!s) {
        rc = OBLIGO_EDB;
        goto out;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW)
        version = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);

    char prev[DIGEST_HEX_LEN] = "", hash[DIGEST_HEX_LEN];
    s = store_stmt(st, "SELECT hash FROM registers WHERE register=?1 ORDER BY seq DESC LIMIT 1");
    if (!s) {
        rc = OBLIGO_EDB;
        goto out;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW)
        snprintf(prev, sizeof prev, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    if ((rc = registers_hash(hash, prev, name, key, version + 1, at, after)))
        goto out;

    s = store_stmt(st, "INSERT INTO registers(register,key,version,at,data,hash,prev_hash,event) "
                       "VALUES(?1,?2,?3,?4,?5,?6,?7,?8)");
    if (!s) {
        rc = OBLIGO_EDB;
        goto out;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, version + 1);
    sqlite3_bind_int64(s, 4, at);
    sqlite3_bind_text(s, 5, after, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, prev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 8, event_seq);
    int src = sqlite3_step(s);
    sqlite3_reset(s);
    rc = src == SQLITE_DONE ? 0 : store_error(src);
out:
    cJSON_Delete(data);
    cJSON_free(before);
    cJSON_free(after);
    return rc;
}

/* The current row of a statement selecting register,key,version,at,data,
 * hash,prev_hash[,seq] as output JSON; with_seq adds "seq". */
static cJSON *registers_row(sqlite3_stmt *s, int with_seq)
{
    cJSON *e = cJSON_CreateObject();
    char at[CLOCK_RFC3339_LEN];
    clock_format_utc(sqlite3_column_int64(s, 3), at);
    cJSON_AddStringToObject(e, "register", (const char *)sqlite3_column_text(s, 0));
    cJSON_AddStringToObject(e, "key", (const char *)sqlite3_column_text(s, 1));
    cJSON_AddNumberToObject(e, "version", (double)sqlite3_column_int64(s, 2));
    cJSON_AddStringToObject(e, "at", at);
    cJSON *data = cJSON_Parse((const char *)sqlite3_column_text(s, 4));
    json_put(e, "data", data ? data : cJSON_CreateObject());
    cJSON_AddStringToObject(e, "hash", (const char *)sqlite3_column_text(s, 5));
    cJSON_AddStringToObject(e, "prev_hash", (const char *)sqlite3_column_text(s, 6));
    if (with_seq)
        cJSON_AddNumberToObject(e, "seq", (double)sqlite3_column_int64(s, 7));
    return e;
}

/* Every row of such a statement (registers_row). Resets s. */
static cJSON *registers_rows(sqlite3_stmt *s, int with_seq)
{
    cJSON *out = cJSON_CreateArray();
    while (out && sqlite3_step(s) == SQLITE_ROW)
        cJSON_AddItemToArray(out, registers_row(s, with_seq));
    sqlite3_reset(s);
    return out;
}

cJSON *registers_list(store *st, const char *name, int history)
{
    const char *sql_all = "SELECT register,key,version,at,data,hash,prev_hash FROM registers "
                          "WHERE register=?1 ORDER BY key, version";
    const char *sql_latest =
        "SELECT r.register,r.key,r.version,r.at,r.data,r.hash,r.prev_hash FROM registers r "
        "WHERE r.register=?1 AND r.version=(SELECT max(version) FROM registers x "
        "WHERE x.register=r.register AND x.key=r.key) ORDER BY r.key";
    sqlite3_stmt *s = store_stmt(st, history ? sql_all : sql_latest);
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    return registers_rows(s, 0);
}

/* A page of one of the queries below: ?1 the register, ?2 the seq bound,
 * ?3 the limit (0: none). The statement is one of store_stmt's. */
static cJSON *registers_page(store *st, const char *sql, const char *name, int64_t bound, int limit)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, bound);
    sqlite3_bind_int64(s, 3, limit > 0 ? limit : -1);
    return registers_rows(s, 1);
}

/* Why a version fails, or NULL: its hash against its content, its
 * prev_hash against the hash of the register's version before it (prev,
 * "" for the first), and its number against the one before it of its key
 * (last; 0 for none), so a removed version is named too. */
static const char *registers_fault(const char *name, const char *key, long long version,
                                   long long last, long long at, const char *data, const char *hash,
                                   const char *prev_hash, const char *prev)
{
    char want[DIGEST_HEX_LEN];
    if (registers_hash(want, prev_hash, name, key, version, at, data))
        return "its hash could not be computed";
    if (strcmp(want, hash) != 0)
        return "hash does not match its content";
    if (strcmp(prev_hash, prev) != 0)
        return "prev_hash does not match the hash of the register's version before it";
    if (version != last + 1)
        return version > last + 1 ? "the version before it of this entry is missing"
                                  : "its version number repeats or goes back";
    return NULL;
}

/* In the order of their numbers, which is the order appended: by version,
 * the entry's rows come from UNIQUE(register, key, version) alone; by seq,
 * SQLite walks the whole register's chain index to find them. */
cJSON *registers_entry_versions(store *st, const char *name, const char *key, char **first_break)
{
    if (first_break)
        *first_break = NULL;
    char *found = NULL;
    sqlite3_stmt *s =
        store_stmt(st, "SELECT r.register,r.key,r.version,r.at,r.data,r.hash,r.prev_hash,r.seq,"
                       "coalesce((SELECT p.hash FROM registers p WHERE p.register=r.register "
                       "AND p.seq<r.seq ORDER BY p.seq DESC LIMIT 1),''),e.source,e.id "
                       "FROM registers r LEFT JOIN events e ON e.seq=r.event "
                       "WHERE r.register=?1 AND r.key=?2 ORDER BY r.version");
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    cJSON *out = cJSON_CreateArray();
    long long last = 0;
    int rc = SQLITE_DONE;
    while (out && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        cJSON *row = registers_row(s, 1);
        long long version = sqlite3_column_int64(s, 2);
        const char *fault = registers_fault(
            name, key, version, last, sqlite3_column_int64(s, 3),
            (const char *)sqlite3_column_text(s, 4), (const char *)sqlite3_column_text(s, 5),
            (const char *)sqlite3_column_text(s, 6), (const char *)sqlite3_column_text(s, 8));
        last = version;
        if (fault && !found)
            found = obligo_asprintf("version %lld (register seq %lld): %s", version,
                                    sqlite3_column_int64(s, 7), fault);
        cJSON *ev = cJSON_CreateNull();
        if (sqlite3_column_type(s, 9) != SQLITE_NULL) {
            cJSON_Delete(ev);
            ev = cJSON_CreateObject();
            cJSON_AddStringToObject(ev, "source", (const char *)sqlite3_column_text(s, 9));
            cJSON_AddStringToObject(ev, "id", (const char *)sqlite3_column_text(s, 10));
        }
        cJSON_AddItemToObject(row, "event", ev);
        cJSON_AddBoolToObject(row, "verified", fault == NULL);
        cJSON_AddItemToArray(out, row);
    }
    sqlite3_reset(s);
    if (out && rc != SQLITE_DONE) {
        cJSON_Delete(out);
        out = NULL;
    }
    if (out && first_break)
        *first_break = found;
    else
        obligo_free(found);
    return out;
}

cJSON *registers_history(store *st, const char *name, int64_t after_seq, int limit)
{
    return registers_page(st,
                          "SELECT register,key,version,at,data,hash,prev_hash,seq FROM registers "
                          "WHERE register=?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                          name, after_seq, limit);
}

cJSON *registers_history_newest(store *st, const char *name, int64_t before_seq, int limit)
{
    return registers_page(st,
                          "SELECT register,key,version,at,data,hash,prev_hash,seq FROM registers "
                          "WHERE register=?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
                          name, before_seq > 0 ? before_seq : INT64_MAX, limit);
}

cJSON *registers_newest(store *st, const char *name, int64_t before_seq, int limit)
{
    return registers_page(st,
                          "SELECT register,key,version,at,data,hash,prev_hash,seq FROM registers r "
                          "WHERE register=?1 AND seq < ?2 AND NOT EXISTS (SELECT 1 FROM "
                          "registers y WHERE y.register=?1 AND y.key=r.key AND "
                          "y.version > r.version) ORDER BY seq DESC LIMIT ?3",
                          name, before_seq > 0 ? before_seq : INT64_MAX, limit);
}

long registers_verify(store *st, digest_finding say, void *ud)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT register,key,version,at,data,hash,prev_hash,seq "
                                     "FROM registers ORDER BY register, seq");
    if (!s)
        return -1;
    long broken = 0;
    char *name = NULL, prev[DIGEST_HEX_LEN] = "";
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *reg = (const char *)sqlite3_column_text(s, 0);
        const char *key = (const char *)sqlite3_column_text(s, 1);
        long long version = sqlite3_column_int64(s, 2), at = sqlite3_column_int64(s, 3);
        const char *data = (const char *)sqlite3_column_text(s, 4);
        const char *hash = (const char *)sqlite3_column_text(s, 5);
        const char *prev_hash = (const char *)sqlite3_column_text(s, 6);
        if (!name || strcmp(reg, name) != 0) {
            /* a new register: its chain starts empty */
            obligo_free(name);
            name = obligo_strdup(reg);
            prev[0] = '\0';
        }
        char want[DIGEST_HEX_LEN];
        registers_hash(want, prev_hash, reg, key, version, at, data);
        int how = digest_chain_step(prev, prev_hash, want, hash);
        static const char *const what[] = {"does not link to the version before it",
                                           "was altered: its hash does not match"};
        for (int b = 0; b < 2; b++) {
            if (!(how & (1 << b)))
                continue;
            broken++;
            char *line =
                say ? obligo_asprintf("register %s: %s version %lld %s", reg, key, version, what[b])
                    : NULL;
            if (line)
                say(ud, line);
            obligo_free(line);
        }
    }
    sqlite3_reset(s);
    obligo_free(name);
    return broken;
}
