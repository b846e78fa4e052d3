/*
 * test_journal.c — the events journal, rejected input and decisions
 * (engine/journal.c) on a real database file: sequence numbers, duplicates
 * by source+id, the hash chain and what `obligo verify` finds when rows are
 * altered or removed behind the engine's back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "alloc.h"
#include "engine.h"
#include "error.h"
#include "journal.h"
#include "store.h"
#include "support.h"

#define T0 1767261600 /* 2026-01-01T10:00:00Z */

typedef struct fixture {
    char *dir;
    store st;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = support_store_fresh(&f->st);
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

/* An event as the validator would pass it on; the raw text is its own
 * unformatted print (caller frees both). */
static cJSON *make_event(const char *source, const char *id, const char *type, const char *time,
                         const char *subject)
{
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "specversion", "1.0");
    if (id)
        cJSON_AddStringToObject(ev, "id", id);
    if (source)
        cJSON_AddStringToObject(ev, "source", source);
    if (type)
        cJSON_AddStringToObject(ev, "type", type);
    if (time)
        cJSON_AddStringToObject(ev, "time", time);
    if (subject)
        cJSON_AddStringToObject(ev, "subject", subject);
    cJSON_AddObjectToObject(ev, "data");
    return ev;
}

/* Appends source/id with its printed form as raw; returns the seq. */
static int64_t append(fixture *f, const char *source, const char *id, int *dup)
{
    cJSON *ev = make_event(source, id, "t.type", "2026-01-01T10:00:00Z", NULL);
    char *raw = cJSON_PrintUnformatted(ev);
    int64_t seq = -1;
    int d = -1;
    assert_int_equal(journal_append(&f->st, ev, raw, strlen(raw), "rev1", T0 + 5, &seq, &d), 0);
    if (dup)
        *dup = d;
    else
        assert_int_equal(d, 0);
    cJSON_free(raw);
    cJSON_Delete(ev);
    return seq;
}

static void append_stores_event_and_returns_seq(void **state)
{
    fixture *f = *state;
    cJSON *ev =
        make_event("urn:s", "e-1", "nl.avg.breach.reported", "2026-01-01T11:00:00+01:00", "B-1");
    /* raw is kept as received, not as cJSON would print it */
    const char raw[] = "{ \"id\" : \"e-1\", \"spaces\": true }";
    int64_t seq = 0;
    int dup = -1;
    assert_int_equal(store_begin(&f->st), 0);
    assert_int_equal(journal_append(&f->st, ev, raw, strlen(raw), "rev-abc", T0 + 60, &seq, &dup),
                     0);
    assert_int_equal(dup, 0);
    assert_int_equal(seq, 1);
    cJSON_Delete(ev);
    assert_int_equal(append(f, "urn:s", "e-2", NULL), 2);
    assert_int_equal(store_commit(&f->st), 0);

    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(f->st.db,
                                        "SELECT source,id,type,time,subject,raw,received_at,"
                                        "ruleset,hash,prev_hash FROM events WHERE seq=1",
                                        -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal(sqlite3_column_text(s, 0), "urn:s");
    assert_string_equal(sqlite3_column_text(s, 1), "e-1");
    assert_string_equal(sqlite3_column_text(s, 2), "nl.avg.breach.reported");
    /* 11:00+01:00 is 10:00Z */
    assert_int_equal(sqlite3_column_int64(s, 3), T0);
    assert_string_equal(sqlite3_column_text(s, 4), "B-1");
    assert_int_equal(sqlite3_column_bytes(s, 5), (int)strlen(raw));
    assert_memory_equal(sqlite3_column_blob(s, 5), raw, strlen(raw));
    assert_int_equal(sqlite3_column_int64(s, 6), T0 + 60);
    assert_string_equal(sqlite3_column_text(s, 7), "rev-abc");
    /* the first link covers an empty previous hash */
    assert_string_equal(sqlite3_column_text(s, 9), "");
    const char *parts[] = {"", "urn:s", "e-1", "nl.avg.breach.reported", raw};
    size_t lens[] = {0, 5, 3, 22, strlen(raw)};
    char want[65];
    support_sha256_parts(want, 5, parts, lens);
    assert_string_equal(sqlite3_column_text(s, 8), want);
    sqlite3_finalize(s);

    /* the second row links to the first */
    assert_int_equal(sqlite3_prepare_v2(f->st.db,
                                        "SELECT b.prev_hash=a.hash, b.subject IS NULL, "
                                        "length(b.hash) FROM events a, events b "
                                        "WHERE a.seq=1 AND b.seq=2",
                                        -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 1);
    assert_int_equal(sqlite3_column_int(s, 1), 1);
    assert_int_equal(sqlite3_column_int(s, 2), 64);
    sqlite3_finalize(s);
}

static void event_without_time_uses_received_at(void **state)
{
    fixture *f = *state;
    cJSON *ev = make_event("s", "no-time", "t", NULL, NULL);
    int64_t seq = 0;
    int dup = 0;
    assert_int_equal(journal_append(&f->st, ev, "{}", 2, "r", T0 + 123, &seq, &dup), 0);
    cJSON_Delete(ev);
    assert_int_equal(support_sql_int(f->st.db, "SELECT time FROM events WHERE id='no-time'"),
                     T0 + 123);
}

static void repeat_of_source_and_id_is_a_duplicate(void **state)
{
    fixture *f = *state;
    int dup = -1;
    int64_t first = append(f, "urn:a", "x", &dup);
    assert_int_equal(dup, 0);
    /* the same event again, spaced and ordered otherwise: a repeat */
    cJSON *ev = make_event("urn:a", "x", "t.type", "2026-01-01T10:00:00Z", NULL);
    static const char again[] = "{ \"data\": {}, \"time\": \"2026-01-01T10:00:00Z\", \"type\": "
                                "\"t.type\", \"source\": \"urn:a\", \"id\": \"x\", "
                                "\"specversion\": \"1.0\" }";
    int64_t seq = 0;
    assert_int_equal(journal_append(&f->st, ev, again, strlen(again), "rev2", T0, &seq, &dup), 0);
    cJSON_Delete(ev);
    assert_int_equal(dup, JOURNAL_DUPLICATE);
    assert_int_equal(seq, first);
    /* the same identity with other content: a conflict; nothing new is
     * stored either, and seq names the journaled row */
    ev = make_event("urn:a", "x", "t.other", "2026-03-01T10:00:00Z", NULL);
    seq = 0;
    assert_int_equal(journal_append(&f->st, ev, "{\"other\":1}", 11, "rev2", T0, &seq, &dup), 0);
    cJSON_Delete(ev);
    assert_int_equal(dup, JOURNAL_CONFLICT);
    assert_int_equal(seq, first);
    char was[DIGEST_HEX_LEN];
    assert_int_equal(journal_raw_digest(&f->st, first, was), 0);
    cJSON *orig = make_event("urn:a", "x", "t.type", "2026-01-01T10:00:00Z", NULL);
    char *text = cJSON_PrintUnformatted(orig); /* what append() journaled */
    unsigned char md[32];
    assert_int_equal(EVP_Digest(text, strlen(text), md, NULL, EVP_sha256(), NULL), 1);
    char want[65];
    for (int i = 0; i < 32; i++)
        snprintf(want + 2 * i, 3, "%02x", md[i]);
    cJSON_free(text);
    cJSON_Delete(orig);
    assert_string_equal(was, want);
    assert_int_equal(journal_raw_digest(&f->st, 999, was), OBLIGO_ENOTFOUND);
    assert_int_equal(support_sql_int(f->st.db, "SELECT count(*) FROM events"), 1);
    assert_int_equal(support_sql_int(f->st.db,
                                     "SELECT count(*) FROM events WHERE type='t.type' AND "
                                     "ruleset='rev1' AND raw NOT LIKE '%other%'"),
                     1);
    /* the same id from another source is another event */
    int64_t other = append(f, "urn:b", "x", &dup);
    assert_int_equal(dup, 0);
    assert_int_equal(other, first + 1);
    assert_int_equal(support_sql_int(f->st.db, "SELECT count(*) FROM events"), 2);
    assert_int_equal(journal_verify(&f->st, NULL, NULL), 0);
}

static void event_without_identity_is_refused(void **state)
{
    fixture *f = *state;
    static const char *const missing[][3] = {
        {NULL, "id", "type"}, {"src", NULL, "type"}, {"src", "id", NULL}};
    for (int i = 0; i < 3; i++) {
        cJSON *ev = make_event(missing[i][0], missing[i][1], missing[i][2], NULL, NULL);
        int64_t seq = 0;
        int dup = -1;
        assert_int_equal(journal_append(&f->st, ev, "{}", 2, "r", T0, &seq, &dup), OBLIGO_EINVAL);
        assert_int_equal(dup, 0);
        cJSON_Delete(ev);
    }
    assert_int_equal(support_sql_int(f->st.db, "SELECT count(*) FROM events"), 0);
}

static void chain_verifies(void **state)
{
    fixture *f = *state;
    assert_int_equal(journal_verify(&f->st, NULL, NULL), 0); /* empty */
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "e%d", i);
        append(f, "urn:s", id, NULL);
    }
    assert_int_equal(journal_verify(&f->st, NULL, NULL), 0);
}

static void keep_finding(void *ud, const char *finding)
{
    snprintf(ud, 256, "%s", finding);
}

static void verify_detects_tampered_raw(void **state)
{
    fixture *f = *state;
    append(f, "urn:s", "a", NULL);
    append(f, "urn:s", "b", NULL);
    append(f, "urn:s", "c", NULL);
    assert_int_equal(journal_verify(&f->st, NULL, NULL), 0);
    support_sql_exec(f->st.db,
                     "UPDATE events SET raw='{\"id\":\"b\",\"forged\":true}' WHERE seq=2");
    /* one altered event: its own hash no longer matches; the links stay.
     * The finding is handed to the caller, never printed by storage. */
    char said[256] = "";
    assert_int_equal(journal_verify(&f->st, keep_finding, said), 1);
    assert_string_equal(said, "event 2 (urn:s b) was altered: its hash does not match");
}

static void verify_detects_tampered_identity(void **state)
{
    fixture *f = *state;
    append(f, "urn:s", "a", NULL);
    append(f, "urn:s", "b", NULL);
    support_sql_exec(f->st.db, "UPDATE events SET type='t.forged' WHERE seq=1");
    assert_int_equal(journal_verify(&f->st, NULL, NULL), 1);
    support_sql_exec(f->st.db, "UPDATE events SET type='t.type' WHERE seq=1");
    assert_int_equal(journal_verify(&f->st, NULL, NULL), 0);
    support_sql_exec(f->st.db, "UPDATE events SET id='z' WHERE seq=2");
    assert_int_equal(journal_verify(&f->st, NULL, NULL), 1);
}

static void verify_detects_deleted_middle_row(void **state)
{
    fixture *f = *state;
    append(f, "urn:s", "a", NULL);
    append(f, "urn:s", "b", NULL);
    append(f, "urn:s", "c", NULL);
    support_sql_exec(f->st.db, "DELETE FROM events WHERE seq=2");
    /* c still points at b's hash: one broken link */
    assert_int_equal(journal_verify(&f->st, NULL, NULL), 1);
}

static void verify_detects_deleted_first_row(void **state)
{
    fixture *f = *state;
    append(f, "urn:s", "a", NULL);
    append(f, "urn:s", "b", NULL);
    support_sql_exec(f->st.db, "DELETE FROM events WHERE seq=1");
    assert_true(journal_verify(&f->st, NULL, NULL) > 0);
}

static void reject_keeps_raw_bytes_field_and_reason(void **state)
{
    fixture *f = *state;
    /* not UTF-8, with a NUL inside and a trailing byte after it */
    const char raw[] = {'{', '\xff', '\xfe', '\0', 'b', 'i', 'n', '\x80', '\n', '"'};
    assert_int_equal(journal_reject(&f->st, "input.ndjson:3", raw, sizeof raw, "data.breach_id",
                                    "must be a string", T0 + 7),
                     0);
    assert_int_equal(
        journal_reject(&f->st, "http /v1/events[0]", "{not json", 9, NULL, "not valid JSON", T0),
        0);
    assert_int_equal(journal_reject(&f->st, "http /v1/events[1]", NULL, 0, NULL, "empty", T0), 0);

    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(f->st.db,
                                        "SELECT origin,field,reason,received_at,raw,typeof(raw) "
                                        "FROM rejected ORDER BY seq",
                                        -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal(sqlite3_column_text(s, 0), "input.ndjson:3");
    assert_string_equal(sqlite3_column_text(s, 1), "data.breach_id");
    assert_string_equal(sqlite3_column_text(s, 2), "must be a string");
    assert_int_equal(sqlite3_column_int64(s, 3), T0 + 7);
    assert_int_equal(sqlite3_column_bytes(s, 4), (int)sizeof raw);
    assert_memory_equal(sqlite3_column_blob(s, 4), raw, sizeof raw);
    assert_string_equal(sqlite3_column_text(s, 5), "blob");

    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal(sqlite3_column_text(s, 0), "http /v1/events[0]");
    assert_int_equal(sqlite3_column_type(s, 1), SQLITE_NULL);
    assert_string_equal(sqlite3_column_text(s, 2), "not valid JSON");
    assert_int_equal(sqlite3_column_bytes(s, 4), 9);
    assert_memory_equal(sqlite3_column_blob(s, 4), "{not json", 9);

    /* no input at all is kept as zero bytes */
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_type(s, 4), SQLITE_BLOB);
    assert_int_equal(sqlite3_column_bytes(s, 4), 0);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    /* rejected input is not part of the journal */
    assert_int_equal(support_sql_int(f->st.db, "SELECT count(*) FROM events"), 0);
}

/* The dead letters as a list: text as raw, anything else as raw_base64
 * (the bytes exactly), the field null when the whole input was refused,
 * received_at as RFC 3339; since, after and limit page it. */
static void rejected_list_shows_text_and_bytes(void **state)
{
    fixture *f = *state;
    const char bin[] = {'\x1f', '\x8b', '\x08', '\0', 'z'};
    assert_int_equal(journal_reject(&f->st, "http[0]", bin, sizeof bin, NULL,
                                    "Content-Encoding gzip: not gzip data", T0),
                     0);
    assert_int_equal(journal_reject(&f->st, "in.ndjson:2", "{\"a\":\"cli\xc3\xabnt\"}", 15,
                                    "data.breach_id", "is required", T0 + 60),
                     0);
    /* an overlong form and a lone surrogate are no UTF-8 text */
    assert_int_equal(journal_reject(&f->st, "x", "\xc0\xaf", 2, NULL, "r", T0 + 120), 0);
    assert_int_equal(journal_reject(&f->st, "x", "\xed\xa0\x80", 3, NULL, "r", T0 + 120), 0);

    cJSON *all = journal_rejected_list(&f->st, 0, 0, 0);
    assert_int_equal(cJSON_GetArraySize(all), 4);
    const cJSON *r0 = cJSON_GetArrayItem(all, 0), *r1 = cJSON_GetArrayItem(all, 1);
    assert_string_equal(support_str(r0, "origin"), "http[0]");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r0, "field")));
    assert_null(cJSON_GetObjectItem(r0, "raw"));
    /* base64 of 1f 8b 08 00 7a, worked out by hand */
    assert_string_equal(support_str(r0, "raw_base64"), "H4sIAHo=");
    assert_int_equal(cJSON_GetObjectItem(r0, "bytes")->valueint, 5);
    assert_string_equal(support_str(r1, "raw"), "{\"a\":\"cli\xc3\xabnt\"}");
    assert_string_equal(support_str(r1, "field"), "data.breach_id");
    assert_string_equal(support_str(r1, "reason"), "is required");
    char when[CLOCK_RFC3339_LEN];
    clock_format_utc(T0 + 60, when);
    assert_string_equal(support_str(r1, "received_at"), when);
    assert_non_null(support_str(cJSON_GetArrayItem(all, 2), "raw_base64"));
    assert_non_null(support_str(cJSON_GetArrayItem(all, 3), "raw_base64"));
    int first = cJSON_GetObjectItem(r0, "seq")->valueint;
    cJSON_Delete(all);

    cJSON *since = journal_rejected_list(&f->st, T0 + 60, 0, 0);
    assert_int_equal(cJSON_GetArraySize(since), 3);
    cJSON_Delete(since);
    cJSON *page = journal_rejected_list(&f->st, 0, first, 1);
    assert_int_equal(cJSON_GetArraySize(page), 1);
    assert_string_equal(support_str(cJSON_GetArrayItem(page, 0), "origin"), "in.ndjson:2");
    cJSON_Delete(page);
}

static void decisions_are_stored_with_n_and_rule(void **state)
{
    fixture *f = *state;
    int64_t seq = append(f, "urn:s", "d", NULL);
    cJSON *decisions = cJSON_Parse(
        "[{\"op\":\"open\",\"rule\":\"avg.breach.reported\",\"kind\":\"avg.notify_ap\","
        "\"subject\":\"B-1\",\"from\":1767261600,\"due_at\":1767520800,\"remind\":[1767434400]},"
        "{\"op\":\"alert\",\"rule\":\"obligo.engine\",\"kind\":\"k\",\"message\":\"m\"},"
        "{\"op\":\"set\",\"ns\":\"n\",\"key\":\"k\",\"value\":[1,2]}]");
    assert_non_null(decisions);
    assert_int_equal(journal_decisions(&f->st, seq, decisions), 0);

    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(f->st.db,
                                        "SELECT event,n,rule,decision FROM decisions ORDER BY n",
                                        -1, &s, NULL),
                     SQLITE_OK);
    static const char *const rule_of[] = {"avg.breach.reported", "obligo.engine", NULL};
    int n = 0;
    for (const cJSON *d = decisions->child; d; d = d->next, n++) {
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int64(s, 0), seq);
        assert_int_equal(sqlite3_column_int(s, 1), n);
        if (rule_of[n])
            assert_string_equal(sqlite3_column_text(s, 2), rule_of[n]);
        else
            assert_int_equal(sqlite3_column_type(s, 2), SQLITE_NULL);
        cJSON *stored = cJSON_Parse((const char *)sqlite3_column_text(s, 3));
        assert_non_null(stored);
        assert_true(cJSON_Compare(stored, d, 1));
        cJSON_Delete(stored);
    }
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    cJSON_Delete(decisions);

    /* no decisions: nothing stored, no error */
    cJSON *empty = cJSON_CreateArray();
    int64_t seq2 = append(f, "urn:s", "d2", NULL);
    assert_int_equal(journal_decisions(&f->st, seq2, empty), 0);
    assert_int_equal(journal_decisions(&f->st, seq2, NULL), 0);
    cJSON_Delete(empty);
    assert_int_equal(support_sql_int(f->st.db, "SELECT count(*) FROM decisions"), 3);
}

static void decisions_need_their_event(void **state)
{
    fixture *f = *state;
    cJSON *decisions = cJSON_Parse("[{\"op\":\"set\",\"ns\":\"n\",\"key\":\"k\"}]");
    /* seq 42 is not in the journal: the foreign key refuses the row */
    assert_true(journal_decisions(&f->st, 42, decisions) < 0);
    cJSON_Delete(decisions);
    assert_int_equal(support_sql_int(f->st.db, "SELECT count(*) FROM decisions"), 0);
}

int main(void)
{
    engine_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(append_stores_event_and_returns_seq, setup, teardown),
        cmocka_unit_test_setup_teardown(event_without_time_uses_received_at, setup, teardown),
        cmocka_unit_test_setup_teardown(repeat_of_source_and_id_is_a_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(event_without_identity_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(chain_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_detects_tampered_raw, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_detects_tampered_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_detects_deleted_middle_row, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_detects_deleted_first_row, setup, teardown),
        cmocka_unit_test_setup_teardown(reject_keeps_raw_bytes_field_and_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(rejected_list_shows_text_and_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(decisions_are_stored_with_n_and_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(decisions_need_their_event, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
