/*
 * decision.h — the one definition of a decision: what a rule, a declarative
 * trigger or the engine itself decides about one event. Decisions are made
 * by rules.c and engine.c, journaled with their event (journal.c), and
 * applied by actions.c through obligations.c, outbox.c and registers.c;
 * every one of those files names the operations by the constants below.
 *
 * A decision is a JSON object {"op": DECISION_..., "rule"?: name, ...}:
 *   open     kind, subject, from, due_at, legal_limit?, remind?, once?,
 *            latest?, data?            (obligations.h says what each does)
 *   fulfil   kind, subject, at
 *   cancel   kind, subject, rationale, at?
 *   extend   kind, subject, due_at, remind?, reason?
 *   overdue  obligation                (the engine's own, from a timer)
 *   alert    kind, subject, severity, message, data?
 *   register register, key, data
 *   set      ns, key, value            (rule state)
 * Instants are seconds since the epoch (numbers).
 */
#ifndef OBLIGO_DECISION_H
#define OBLIGO_DECISION_H

#include <stdint.h>

#include "clock.h"
#include "config.h"
#include "store.h"

#define DECISION_OPEN "open"
#define DECISION_FULFIL "fulfil"
#define DECISION_CANCEL "cancel"
#define DECISION_EXTEND "extend"
#define DECISION_OVERDUE "overdue"
#define DECISION_ALERT "alert"
#define DECISION_REGISTER "register"
#define DECISION_SET "set"

/* Where a decision is applied: the event it belongs to, inside that
 * event's transaction. */
typedef struct action_ctx {
    store *st;
    int64_t event_seq;        /* the journal row of the event being applied */
    const char *event_source; /* its identity, for stable alert ids */
    const char *event_id;
    obligo_time event_time;     /* default instant for closing and alerting */
    const char *const *sinks;   /* alert sinks that get an outbox row */
    const config_route *routes; /* routes[i]: which alerts sinks[i] gets (NULL: all) */
    int nsinks;
    int nalerts; /* alerts raised so far for this event */
} action_ctx;

#endif
