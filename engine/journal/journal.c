/*
 * journal.c — the append-only journal of events (journal.h).
 *
 * Each row's hash covers the previous row's hash, the identity, the type and
 * the raw bytes, so `obligo verify` can show that no accepted event was
 * altered or removed after the fact.
 */
#include "journal.h"

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
        *duplicate = 1;
        s = store_stmt(st, "SELECT seq FROM events WHERE source=?1 AND id=?2");
        if (!s)
            return OBLIGO_EDB;
        sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(s);
        *seq = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
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
