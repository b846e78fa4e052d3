/*
 * journal.c — the append-only journal of events (journal.h).
 *
 * Each row's hash covers the previous row's hash, the identity, the type and
 * the raw bytes, so `obligo verify` can show that no accepted event was
 * altered or removed after the fact.
 */
#include "journal.h"

#include <openssl/evp.h>

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "digest.h"
#include "error.h"

static int journal_last_hash(store *st, char out[DIGEST_HEX_LEN])
{
    if (st->journal_head_valid) {
        memcpy(out, st->journal_head, DIGEST_HEX_LEN);
        return 0;
    }
    sqlite3_stmt *s = store_stmt(st, "SELECT hash FROM events ORDER BY seq DESC LIMIT 1");
    if (!s)
        return OBLIGO_EDB;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        snprintf(out, DIGEST_HEX_LEN, "%s", (const char *)sqlite3_column_text(s, 0));
    else
        out[0] = '\0';
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_error(rc);
}

static int journal_hash(char out[DIGEST_HEX_LEN], const char *prev, const char *source,
                        const char *id, const char *type, const char *raw, size_t len)
{
    const void *parts[] = {prev, source, id, type, raw};
    size_t lens[] = {strlen(prev), strlen(source), strlen(id), strlen(type), len};
    return digest_parts(out, 5, parts, lens);
}

/* journal_append, or with chain 0 journal_append_light (at: the seq to
 * take, or 0 for the next). */
static int journal_insert(store *st, const cJSON *event, const char *raw, size_t len,
                          const char *ruleset, obligo_time received_at, int chain, int64_t at,
                          int64_t *seq, int *duplicate)
{
    /* one pass over the envelope's members, not a search per field */
    const char *source = NULL, *id = NULL, *type = NULL, *time_s = NULL, *subject = NULL;
    for (const cJSON *m = event ? event->child : NULL; m; m = m->next) {
        if (!cJSON_IsString(m) || !m->string)
            continue;
        const char *k = m->string, **slot = NULL;
        switch (k[0]) {
        case 's':
            slot = strcmp(k, "source") == 0 ? &source : strcmp(k, "subject") == 0 ? &subject : NULL;
            break;
        case 'i':
            slot = strcmp(k, "id") == 0 ? &id : NULL;
            break;
        case 't':
            slot = strcmp(k, "type") == 0 ? &type : strcmp(k, "time") == 0 ? &time_s : NULL;
            break;
        default:
            break;
        }
        if (slot && !*slot)
            *slot = m->valuestring;
    }
    obligo_time t = received_at;
    *duplicate = 0;
    if (!source || !id || !type)
        return OBLIGO_EINVAL;
    if (time_s)
        clock_parse_rfc3339(time_s, &t);

    sqlite3_stmt *s;
    int rc;
    char prev[DIGEST_HEX_LEN] = "", hash[DIGEST_HEX_LEN] = "";
    if (chain && (rc = journal_last_hash(st, prev)))
        return rc;
    if (chain && (rc = journal_hash(hash, prev, source, id, type, raw, len)))
        return rc;
    /* One statement both detects a repeat (UNIQUE(source,id): nothing is
     * inserted) and appends; the hash computed for a repeat is wasted, which
     * costs less than a lookup for every new event. */
    s = chain ? store_stmt(st, "INSERT INTO events(source,id,type,time,subject,raw,received_at,"
                               "ruleset,hash,prev_hash) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) "
                               "ON CONFLICT(source,id) DO NOTHING")
              : store_stmt(st, "INSERT INTO events(source,id,type,time,subject,raw,received_at,"
                               "ruleset,hash,prev_hash,seq) "
                               "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11) "
                               "ON CONFLICT(source,id) DO NOTHING");
    if (!s)
        return OBLIGO_EDB;
    if (at > 0)
        sqlite3_bind_int64(s, 11, at); /* unbound: NULL, the next rowid */
    sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, t);
    if (subject)
        sqlite3_bind_text(s, 5, subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, raw ? raw : "{}", raw ? (int)len : 2, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, received_at);
    sqlite3_bind_text(s, 8, ruleset, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 9, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 10, prev, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store_error(rc);
    if (sqlite3_changes(st->db) == 0) {
        /* a repeat: report the row that was there first (the head is
         * unchanged, and still cached) */
        if (chain) {
            memcpy(st->journal_head, prev, DIGEST_HEX_LEN);
            st->journal_head_valid = 1;
        }
        *duplicate = JOURNAL_DUPLICATE;
        s = store_stmt(st, "SELECT seq, raw FROM events WHERE source=?1 AND id=?2");
        if (!s)
            return OBLIGO_EDB;
        sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(s);
        *seq = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
        /* the same identity with other content is no repeat: compared as
         * JSON, so a sender that re-serialises (other spacing, member
         * order) still repeats */
        if (rc == SQLITE_ROW && chain) { /* a light journal keeps no bytes to compare */
            cJSON *was = cJSON_ParseWithLength((const char *)sqlite3_column_blob(s, 1),
                                               (size_t)sqlite3_column_bytes(s, 1));
            if (!was || !cJSON_Compare(was, event, 1))
                *duplicate = JOURNAL_CONFLICT;
            cJSON_Delete(was);
        }
        sqlite3_reset(s);
        return rc == SQLITE_ROW ? 0 : store_error(rc);
    }
    *seq = sqlite3_last_insert_rowid(st->db);
    if (chain) {
        memcpy(st->journal_head, hash, DIGEST_HEX_LEN);
        st->journal_head_valid = 1;
    }
    return 0;
}

int journal_raw_digest(store *st, int64_t seq, char out[DIGEST_HEX_LEN])
{
    sqlite3_stmt *s = store_stmt(st, "SELECT raw FROM events WHERE seq = ?1");
    if (!s)
        return OBLIGO_EDB;
    sqlite3_bind_int64(s, 1, seq);
    int step = sqlite3_step(s);
    int rc = step == SQLITE_ROW
                 ? digest_bytes(out, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0))
             : step == SQLITE_DONE ? OBLIGO_ENOTFOUND
                                   : store_error(step);
    sqlite3_reset(s);
    return rc;
}

int journal_append(store *st, const cJSON *event, const char *raw, size_t len, const char *ruleset,
                   obligo_time received_at, int64_t *seq, int *duplicate)
{
    return journal_insert(st, event, raw, len, ruleset, received_at, 1, 0, seq, duplicate);
}

int journal_append_light(store *st, const cJSON *event, const char *raw, size_t len,
                         const char *ruleset, obligo_time received_at, int64_t at, int64_t *seq,
                         int *duplicate)
{
    return journal_insert(st, event, raw, len, ruleset, received_at, 0, at, seq, duplicate);
}

int journal_reject(store *st, const char *origin, const char *raw, size_t len, const char *field,
                   const char *reason, obligo_time at)
{
    sqlite3_stmt *s = store_stmt(st, "INSERT INTO rejected(received_at,origin,field,reason,raw) "
                                     "VALUES(?1,?2,?3,?4,?5)");
    if (!s)
        return OBLIGO_EDB;
    sqlite3_bind_int64(s, 1, at);
    sqlite3_bind_text(s, 2, origin, -1, SQLITE_STATIC);
    if (field)
        sqlite3_bind_text(s, 3, field, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, reason, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 5, raw ? raw : "", (int)(raw ? len : 0), SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store_error(rc);
}

int journal_decisions(store *st, int64_t seq, const cJSON *decisions)
{
    int n = 0;
    for (const cJSON *d = decisions ? decisions->child : NULL; d; d = d->next, n++) {
        char *text = cJSON_PrintUnformatted(d);
        if (!text)
            return OBLIGO_ENOMEM;
        const cJSON *rule = cJSON_GetObjectItemCaseSensitive(d, "rule");
        sqlite3_stmt *s =
            store_stmt(st, "INSERT INTO decisions(event,n,rule,decision) VALUES(?1,?2,?3,?4)");
        if (!s) {
            cJSON_free(text);
            return OBLIGO_EDB;
        }
        sqlite3_bind_int64(s, 1, seq);
        sqlite3_bind_int(s, 2, n);
        if (cJSON_IsString(rule))
            sqlite3_bind_text(s, 3, rule->valuestring, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, text, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        cJSON_free(text);
        if (rc != SQLITE_DONE)
            return store_error(rc);
    }
    return 0;
}

/* 1 when the n bytes at p are UTF-8 text without NUL (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
static int journal_is_text(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t more;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            more = 1;
            cp = c & 0x1fu;
            min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            more = 2;
            cp = c & 0x0fu;
            min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            more = 3;
            cp = c & 0x07u;
            min = 0x10000;
        } else {
            return 0;
        }
        if (n - i <= more)
            return 0;
        for (size_t k = 1; k <= more; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += more + 1;
    }
    return 1;
}

/* The rejected row s points at as JSON. */
static cJSON *journal_rejected_row(sqlite3_stmt *s)
{
    char at[CLOCK_RFC3339_LEN];
    clock_format_utc(sqlite3_column_int64(s, 1), at);
    const unsigned char *raw = sqlite3_column_blob(s, 5);
    size_t n = (size_t)sqlite3_column_bytes(s, 5);
    cJSON *r = cJSON_CreateObject();
    int ok = r && cJSON_AddNumberToObject(r, "seq", (double)sqlite3_column_int64(s, 0)) &&
             cJSON_AddStringToObject(r, "received_at", at) &&
             cJSON_AddStringToObject(r, "origin", (const char *)sqlite3_column_text(s, 2)) &&
             (sqlite3_column_type(s, 3) == SQLITE_NULL
                  ? cJSON_AddNullToObject(r, "field") != NULL
                  : cJSON_AddStringToObject(r, "field", (const char *)sqlite3_column_text(s, 3)) !=
                        NULL) &&
             cJSON_AddStringToObject(r, "reason", (const char *)sqlite3_column_text(s, 4)) &&
             cJSON_AddNumberToObject(r, "bytes", (double)n);
    if (ok && journal_is_text(raw, n)) {
        char *text = obligo_malloc(n + 1);
        ok = text != NULL;
        if (ok) {
            if (n)
                memcpy(text, raw, n);
            text[n] = '\0';
            ok = cJSON_AddStringToObject(r, "raw", text) != NULL;
        }
        obligo_free(text);
    } else if (ok) {
        char *b64 = obligo_malloc(4 * ((n + 2) / 3) + 1);
        ok = b64 != NULL;
        if (ok) {
            EVP_EncodeBlock((unsigned char *)b64, raw ? raw : (const unsigned char *)"", (int)n);
            ok = cJSON_AddStringToObject(r, "raw_base64", b64) != NULL;
        }
        obligo_free(b64);
    }
    if (!ok) {
        cJSON_Delete(r);
        return NULL;
    }
    return r;
}

cJSON *journal_rejected_list(store *st, obligo_time since, int64_t after_seq, int limit)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT seq, received_at, origin, field, reason, raw "
                                     "FROM rejected WHERE received_at >= ?1 AND seq > ?2 "
                                     "ORDER BY seq LIMIT ?3");
    if (!s)
        return NULL;
    sqlite3_bind_int64(s, 1, since);
    sqlite3_bind_int64(s, 2, after_seq);
    sqlite3_bind_int64(s, 3, limit > 0 ? limit : -1);
    cJSON *out = cJSON_CreateArray();
    int step;
    while (out && (step = sqlite3_step(s)) == SQLITE_ROW) {
        cJSON *row = journal_rejected_row(s);
        if (!row || !cJSON_AddItemToArray(out, row)) {
            cJSON_Delete(row);
            cJSON_Delete(out);
            out = NULL;
        }
    }
    if (out && step != SQLITE_DONE) {
        cJSON_Delete(out);
        out = NULL;
    }
    sqlite3_reset(s);
    return out;
}

int journal_keep_ruleset(store *st, const char *revision, const char *policy,
                         const journal_source *files, int n, obligo_time at)
{
    sqlite3_stmt *s = store_stmt(st, "INSERT OR IGNORE INTO rulesets(revision,policy,kept_at) "
                                     "VALUES(?1,?2,?3)");
    if (!s)
        return OBLIGO_EDB;
    sqlite3_bind_text(s, 1, revision, -1, SQLITE_STATIC);
    if (policy)
        sqlite3_bind_text(s, 2, policy, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, at);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store_error(rc);
    if (sqlite3_changes(st->db) == 0)
        return 0; /* kept before: the same revision is the same bytes */
    for (int i = 0; i < n; i++) {
        s = store_stmt(st, "INSERT INTO ruleset_files(revision,path,source) VALUES(?1,?2,?3)");
        if (!s)
            return OBLIGO_EDB;
        sqlite3_bind_text(s, 1, revision, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, files[i].path, -1, SQLITE_STATIC);
        sqlite3_bind_blob64(s, 3, files[i].text, files[i].len, SQLITE_STATIC);
        rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            return store_error(rc);
    }
    return 0;
}

long journal_verify(store *st, digest_finding say, void *ud)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT seq,source,id,type,raw,hash,prev_hash FROM events "
                                     "ORDER BY seq");
    if (!s)
        return -1;
    char prev[DIGEST_HEX_LEN] = "";
    long broken = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        long long seq = sqlite3_column_int64(s, 0);
        const char *source = (const char *)sqlite3_column_text(s, 1);
        const char *id = (const char *)sqlite3_column_text(s, 2);
        const char *type = (const char *)sqlite3_column_text(s, 3);
        const char *raw = (const char *)sqlite3_column_text(s, 4);
        size_t len = (size_t)sqlite3_column_bytes(s, 4);
        const char *hash = (const char *)sqlite3_column_text(s, 5);
        const char *prev_hash = (const char *)sqlite3_column_text(s, 6);
        char want[DIGEST_HEX_LEN];
        journal_hash(want, prev_hash, source, id, type, raw, len);
        int how = digest_chain_step(prev, prev_hash, want, hash);
        static const char *const what[] = {"does not link to the event before it",
                                           "was altered: its hash does not match"};
        for (int b = 0; b < 2; b++) {
            if (!(how & (1 << b)))
                continue;
            broken++;
            char *line =
                say ? obligo_asprintf("event %lld (%s %s) %s", seq, source, id, what[b]) : NULL;
            if (line)
                say(ud, line);
            obligo_free(line);
        }
    }
    sqlite3_reset(s);
    return broken;
}
