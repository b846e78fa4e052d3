/*
 * replay.h — what-if: what a candidate rule set would have decided over a
 * recorded journal, compared with what the database holds (`obligo
 * replay`, DESIGN §4).
 *
 * Every journaled client event (not the engine's own deadline and note
 * events: the candidate engine fires its own deadlines as its time follows
 * the journal) received at or before the end is judged, in journal order,
 * on a fresh in-memory engine with the candidate rules and the caller's
 * plugins. Engine time follows the journal's `received_at`, the engine
 * time at which each event was judged when it was recorded (for `obligo
 * ingest --clock events` the events' own times; for `obligo serve` the
 * clock): the deadlines due before an event fire first, the engine's own
 * journaled events mark time too (what was due by then fires then), and at
 * the end engine time moves to the end (--until, or else the journal's
 * last received_at, so a deadline the recorded engine fired fires in the
 * replay too). So a rule that depends on engine time (a reminder not armed
 * for an instant already past) decides as it did. The recorded database is
 * only read: its outcome and the journal's last seq in one short read
 * transaction at the start, then the journal up to that seq in chunks of
 * short read transactions (journal rows never change), so a running
 * `obligo serve` keeps recycling its write-ahead log meanwhile and the
 * replay compares with one consistent moment. Every instant below (until, since, the time a
 * change happened) is engine time in that sense.
 *
 * Then both outcomes are compared, each taken as of the end:
 *   - obligations by (kind, subject), the latest one: present or absent,
 *     status, due_at;
 *   - alerts by (kind, subject): how many were raised (the engine's notes
 *     about itself, such as obligo.rules_reloaded, are left out: they are
 *     no rule's doing; obligo.rule_error, overdue and reminder alerts are
 *     compared);
 *   - register entries by (register, key): the current data.
 * `since` and `type` narrow what is reported, never what is judged: the
 * state is always built from every earlier event.
 */
#ifndef OBLIGO_REPLAY_H
#define OBLIGO_REPLAY_H

#include <cjson/cJSON.h>
#include <stdatomic.h>

#include "clock.h"
#include "config.h"
#include "plugins.h"
#include "rules.h"
#include "store.h"

/* How far a replay has come, for a progress line (replay_options.progress). */
typedef struct replay_progress {
    long judged;    /* client events judged so far */
    long total;     /* client events to judge in all */
    long differing; /* events judged so far that caused another number of
                       decisions than they did when recorded */
    double seconds; /* since the replay started (monotonic) */
} replay_progress;

typedef struct replay_options {
    const config *cfg; /* limits and intake settings (its database and sinks are not used) */
    plugins *plugins;  /* loaded by the caller; borrowed */
    rules *candidate;  /* the compiled candidate set; borrowed. NULL with
                          recorded_rules: each event is judged with the set
                          recorded for it */
    /* The self-check (obligo verify --replay): every journaled event is
     * judged with the rule-set revision the journal recorded for it, rebuilt
     * from the rule sources the database keeps (table ruleset_files); a
     * revision whose sources were not kept is rebuilt from `fallback` when
     * that set has the same revision, and is an error otherwise. */
    int recorded_rules;
    rules *fallback; /* may be NULL; borrowed */
    /* Called about every 4,096 events judged and once at the end of
     * judging (may be NULL), on the replaying thread. */
    void (*progress)(void *ud, const replay_progress *p);
    void *progress_ud;
    store *recorded;   /* the recorded database, opened read-only by the caller; borrowed */
    obligo_time since; /* report only what changed at or after since (0: everything) */
    obligo_time until; /* judge the events up to until (0: the whole journal) */
    const char *type;  /* report only what events of this type caused: an exact type,
                          or a prefix ending in '*' (NULL: every type) */
    /* May be NULL. Once set (by any thread), the replay stops before its
     * next event and replay_run returns OBLIGO_EBUSY ("cancelled"). */
    const atomic_int *cancel;
} replay_options;

/* Judges and compares as above. Returns 0 with *out (caller frees) an
 * object {"events", "events_decided_differently" (events that caused
 * another number of decisions than recorded), "from", "to", "revisions":
 * {"recorded": [...], "candidate" (a revision, or "recorded" for the
 * self-check)}, "counts": {change: n}, "differences": [{"change", "kind",
 * "subject" (for registers also "register"), "recorded", "candidate",
 * "cause": {"source", "id", "time", "type"}}]}; or a negative code with
 * *err (caller frees) naming what is wrong: an event the candidate
 * configuration refuses (by its journal seq), a database error, a
 * recorded revision that cannot be rebuilt (the self-check),
 * OBLIGO_EINVAL when there is no event to judge, or OBLIGO_EBUSY when
 * o->cancel was set. The calling thread uses
 * the plugins' rule functions meanwhile. */
int replay_run(const replay_options *o, cJSON **out, char **err);

/* 1 when type matches pattern (exact, or a prefix before a final '*'). */
int replay_type_matches(const char *pattern, const char *type);

#endif
