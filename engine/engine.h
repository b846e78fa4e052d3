/*
 * engine.h — the pipeline: decode -> validate -> journal -> evaluate ->
 * apply, for events from any transport and for the engine's own deadline
 * events (DESIGN §5).
 *
 * The caller owns the transaction: it calls engine_begin, then any number of
 * engine_decode/engine_event/engine_fire_due, then engine_commit (or
 * engine_rollback), and only then acknowledges. engine_deliver hands
 * committed alerts to their sinks. One engine is used by one thread at a
 * time.
 */
#ifndef OBLIGO_ENGINE_H
#define OBLIGO_ENGINE_H

#include <cjson/cJSON.h>

#include "config.h"
#include "journal.h"
#include "rules.h"
#include "store.h"
#include "plugins.h"
#include "validate.h"

typedef struct engine_stats {
    long accepted, duplicates, conflicts, rejected, rule_errors, fired;
} engine_stats;

typedef struct engine {
    const config *cfg; /* borrowed */
    /* The event types engine_decode knows: the plugins' catalogue, set by
     * engine_open (NULL for a read-only engine: every type is unknown). */
    const validate_catalogue *catalogue;
    plugins *plugins;       /* the loaded plugins (NULL when read-only) */
    int borrowed;           /* plugins and rules belong to the caller (engine_open_with) */
    validate_catalogue cat; /* what catalogue points at */
    store st;
    rules *rules;
    obligo_time now; /* engine time: never moves backwards */
    engine_stats stats;
    int last_decisions; /* how many decisions the last event engine_event judged caused */
    int64_t last_seq;   /* the journal row engine_event's last event is (or repeats) */
    /* A what-if engine on a throwaway database (replay.c sets it after
     * engine_open_with): engine_event journals without the hash chain and
     * keeps no decisions rows (journal_append_light). The engine's own
     * events are journaled as always, with their bytes; a client event is
     * journaled, without its bytes, only when it caused a decision (the
     * rows that obligations, alerts and registers refer to), under the seq
     * it was given, so a repeat of one that caused nothing goes unnoticed:
     * for a caller that judges each event once (replay judges a journal,
     * whose source+id are unique). Every decision, obligation, alert,
     * register entry and state value is as without it; only the journal's
     * evidence is left out, which nothing on such an engine reads. */
    int light_journal;
    int64_t light_next_seq; /* the seq the next event takes (0: not known yet) */
} engine;

/* Routes cJSON's allocations through obligo_malloc so out-of-memory tests
 * reach them too. Call once at start-up, before any thread runs. */
void engine_global_init(void);

/* Loads the plugins of the configuration's plugin directories (or, when
 * none is configured, the binary's own directory) and checks that every
 * configured alert sink exists. Returns 0 or a code with *err. */
int engine_load_plugins(const config *cfg, plugins **out, char **err);

/* Opens the database and loads the rules. read_only opens the database for
 * the reading commands (no rules). Returns 0 or a code with *err. */
int engine_open(engine *e, const config *cfg, int read_only, char **err);
/* Opens the database of cfg with plugins and a rule set the caller has
 * already loaded, and keeps both (borrowed: they outlive the engine, which
 * does not free them). The rule tests open one such engine per test on an
 * in-memory database, judging with exactly the compiled set under test. */
int engine_open_with(engine *e, const config *cfg, plugins *p, rules *r, char **err);
void engine_close(engine *e);

/* Keeps the sources of rule set r in the database (journal_keep_ruleset),
 * in a transaction of its own, before r judges any event there: every
 * revision the journal names can then be rebuilt (obligo verify --replay).
 * engine_open does it for the set it loads; a caller that swaps in another
 * set does it first. Returns 0 or a negative code. */
int engine_keep_rules(engine *e, const rules *r);

/* decode_event (decode.h) with the engine's limits and catalogue: parses
 * and validates one event. Returns the parsed event (caller frees with
 * cJSON_Delete), or NULL with *field (may be NULL: not JSON at all) and
 * *reason set (caller frees both). */
cJSON *engine_decode(engine *e, const char *raw, size_t len, char **field, char **reason);

/* decode_text_problem and decode_json_problem (decode.h), for the
 * transports: the same checks and texts wherever bytes come in. */
char *engine_text_problem(const char *text, size_t len, int *oom);
char *engine_json_problem(const char *text, size_t len, char **field, int *oom);

int engine_begin(engine *e);
int engine_commit(engine *e);
void engine_rollback(engine *e);

/* Journals and judges one validated event in the open transaction.
 * *duplicate is set when source+id was seen before (nothing changes):
 * JOURNAL_DUPLICATE for the same event, JOURNAL_CONFLICT for other content
 * under the same identity (counted in stats.conflicts, not duplicates; the
 * caller refuses it, engine_conflict_reason says why).
 * Rule failures do not fail the event: they become obligo.rule_error
 * alerts. Returns 0 or a negative code (then roll back). */
int engine_event(engine *e, const cJSON *event, const char *raw, size_t len, int *duplicate);

/* Why the event raw (len bytes) that engine_event found to be a
 * JOURNAL_CONFLICT is refused, naming both SHA-256 digests (the journaled
 * bytes', the received bytes'); caller frees; NULL when memory ran out. */
char *engine_conflict_reason(engine *e, const char *raw, size_t len);

/* Keeps refused input with where it came from and why. */
int engine_reject(engine *e, const char *origin, const char *raw, size_t len, const char *field,
                  const char *reason);

/* Fires every timer due at or before `until`, earliest first, each as an
 * engine event (obligo.obligation.overdue / .reminder) through
 * engine_event. Timers due before `late_before` are marked late (they fell
 * due while the engine was stopped). Advances engine time to `until`.
 * *fired (may be NULL) gets the count. */
int engine_fire_due(engine *e, obligo_time until, obligo_time late_before, int *fired);
/* The same, firing at most max timers (the rest stay due for the next call),
 * so that many deadlines falling due at once are committed in steps. */
int engine_fire_due_max(engine *e, obligo_time until, obligo_time late_before, int max, int *fired);

/* The earliest armed timer: 1 with *at filled, 0 when none, or < 0. */
int engine_next_due(engine *e, obligo_time *at);

/* Raises an alert about the engine itself (a rule set that was not
 * reloaded, say) in its own transaction: the alert hangs off a journaled
 * engine event of type obligo.engine.note, so it is explained like any
 * other. Returns 0 or a negative code. The engine's thread. */
int engine_note(engine *e, const char *kind, const char *subject, const char *severity,
                const char *message);

/* Delivers committed alerts to the configured sinks (outbox.c). */
int engine_deliver(engine *e);

#endif
