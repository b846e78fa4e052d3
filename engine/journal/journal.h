/*
 * journal.h — the events table: every accepted event once, in order, with a
 * hash chain; the rejected table; and the decisions each event caused.
 *
 * All functions run inside the caller's transaction on the store's thread.
 */
#ifndef OBLIGO_JOURNAL_H
#define OBLIGO_JOURNAL_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "clock.h"
#include "digest.h"
#include "store.h"

/* Appends a validated event. raw/len are the bytes as received (stored as
 * they came). On a repeat of source+id nothing changes and *duplicate is
 * JOURNAL_DUPLICATE when the event is the one journaled (the same JSON,
 * whatever its spacing or member order), JOURNAL_CONFLICT when it says
 * something else under the same identity; *seq then names the journaled
 * row. *seq gets the journal sequence number of the new row. Returns 0 or
 * a negative code. */
#define JOURNAL_DUPLICATE 1
#define JOURNAL_CONFLICT 2
int journal_append(store *st, const cJSON *event, const char *raw, size_t len, const char *ruleset,
                   obligo_time received_at, int64_t *seq, int *duplicate);

/* The SHA-256 (digest_bytes) of the raw bytes of journal row seq. Returns
 * 0, OBLIGO_ENOTFOUND, or a negative code. */
int journal_raw_digest(store *st, int64_t seq, char out[DIGEST_HEX_LEN]);

/* journal_append for a throwaway database that is never verified (the
 * what-if engine of a replay, replay.h): no hash chain (hash and prev_hash
 * are stored empty), and raw may be NULL (stored as "{}": a query that reads
 * the JSON finds nothing, and no error). at > 0 is the seq the row takes
 * (greater than every seq before it), 0 the next one. Source, id, type,
 * time, subject, ruleset and the repeat check are as journal_append's. */
int journal_append_light(store *st, const cJSON *event, const char *raw, size_t len,
                         const char *ruleset, obligo_time received_at, int64_t at, int64_t *seq,
                         int *duplicate);

/* Keeps input that was refused, with where it came from ("FILE:LINE",
 * "http[3]"), the field and the reason. */
int journal_reject(store *st, const char *origin, const char *raw, size_t len, const char *field,
                   const char *reason, obligo_time at);

/* The refused input kept by journal_reject, oldest first: received at or
 * after since, with seq after after_seq, at most limit (0: all). Each
 * {seq, received_at (RFC 3339 UTC), origin, field (null when the whole
 * input was refused), reason, bytes, raw} where raw is the input as text,
 * or, for input that is not UTF-8 text (a compressed body, a NUL byte),
 * raw_base64 instead. A new array (caller frees), or NULL on a database
 * error or out of memory. */
cJSON *journal_rejected_list(store *st, obligo_time since, int64_t after_seq, int limit);

/* Records the decisions (a JSON array, borrowed) an event caused. */
int journal_decisions(store *st, int64_t seq, const cJSON *decisions);

/* One file of a rule set as compiled: its path within the rule directory
 * and its bytes. */
typedef struct journal_source {
    const char *path;
    const char *text;
    size_t len;
} journal_source;

/* Keeps the sources of rule-set revision `revision` (the files compiled and
 * the policy they were compiled with, JSON text or NULL), once: a revision
 * kept before is left as it is. The journal then holds, for every revision
 * it names, what can rebuild it. */
int journal_keep_ruleset(store *st, const char *revision, const char *policy,
                         const journal_source *files, int n, obligo_time at);

/* Checks the journal's hash chain; returns the number of broken links (or
 * -1 on a database error) and tells say (may be NULL) of each, naming its
 * sequence number. */
long journal_verify(store *st, digest_finding say, void *ud);

#endif
