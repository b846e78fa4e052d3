/*
 * actions.h — applies the decisions of one event inside its transaction:
 * obligations (obligations.c), alerts with their outbox rows (outbox.c),
 * register versions (registers.c) and rule state.
 *
 * Decisions (decision.h) are the only way state changes, so a journaled
 * event with its decisions explains everything that followed from it.
 */
#ifndef OBLIGO_ACTIONS_H
#define OBLIGO_ACTIONS_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "decision.h"
#include "store.h"

/* Applies every decision in order. Returns 0 or a negative code (the caller
 * rolls back). */
int actions_apply(action_ctx *ctx, const cJSON *decisions);

/* Rewrites the instants of decision d (decision.h: from, due_at,
 * legal_limit, at and each remind entry of open, fulfil, cancel and extend)
 * from seconds since the epoch to RFC 3339 UTC text, in place, for output:
 * what a decision is journaled as stays numbers, what a reader sees is
 * text like every other instant Obligo prints. Other members (a rule's own
 * state values, data) are left as they are. Returns 0 or OBLIGO_ENOMEM. */
int actions_instants_for_output(cJSON *d);

/* The decisions journaled for the event of sequence number seq, in order,
 * each as actions_instants_for_output gives it: a new array (caller frees),
 * empty for none, or NULL on a database error. */
cJSON *actions_decisions_of(store *st, int64_t seq);

/* Reads rule state (ns, key) as a new JSON value, or NULL. */
cJSON *actions_state_get(store *st, const char *ns, const char *key);

#endif
