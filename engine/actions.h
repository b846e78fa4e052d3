/*
 * actions.h — applies the decisions of one event inside its transaction:
 * obligations (obligations.c), alerts with their outbox rows (outbox.c),
 * register versions (registers.c) and rule state.
 *
 * Decisions are the JSON objects rules.c and the engine's built-ins produce
 * ({"op": "open"|"fulfil"|"cancel"|"extend"|"overdue"|"alert"|"register"|
 * "set", ...}); applying them is the only way state changes, so a journaled
 * event with its decisions explains everything that followed from it.
 */
#ifndef OBLIGO_ACTIONS_H
#define OBLIGO_ACTIONS_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "clock.h"
#include "store.h"

typedef struct action_ctx {
    store *st;
    int64_t event_seq;        /* the journal row of the event being applied */
    const char *event_source; /* its identity, for stable alert ids */
    const char *event_id;
    obligo_time event_time;   /* default instant for closing and alerting */
    const char *const *sinks; /* alert sinks that get an outbox row */
    int nsinks;
    int nalerts; /* alerts raised so far for this event */
} action_ctx;

/* Applies every decision in order. Returns 0 or a negative code (the caller
 * rolls back). */
int actions_apply(action_ctx *ctx, const cJSON *decisions);

/* Reads rule state (ns, key) as a new JSON value, or NULL. */
cJSON *actions_state_get(store *st, const char *ns, const char *key);

#endif
