/*
 * outbox.h — alerts and their durable delivery (DESIGN §2, §5).
 *
 * An alert is written with one outbox row per configured sink in the same
 * transaction as the event that raised it. After the commit, outbox_deliver
 * hands pending rows to their sinks and marks them delivered in a
 * transaction of its own; a crash in between delivers again (at least once),
 * and the alert's id is stable so receivers can deduplicate.
 *
 * Sinks: "stdout" (JSON lines) and "file:PATH" (JSON lines appended, fsynced
 * before rows are marked delivered).
 */
#ifndef OBLIGO_OUTBOX_H
#define OBLIGO_OUTBOX_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "decision.h"
#include "plugins.h"

/* {"op":"alert", kind, subject, severity, message, data?, rule?} */
int outbox_alert(action_ctx *ctx, const cJSON *d);

typedef struct outbox_filter {
    obligo_time since; /* 0: all */
    const char *kind;
    int64_t after_seq;
    int limit;
} outbox_filter;

/* Alerts as output JSON ({id, kind, severity, subject, at, message, event,
 * rule?}), oldest first. Caller frees. */
cJSON *outbox_list(store *st, const outbox_filter *f);

/* Delivers pending rows whose next attempt is due; returns how many were
 * delivered, or a negative code. Rows whose sink is not among `sinks` stay
 * pending. Sinks other than stdout and file:PATH are looked up among the
 * plugins' (p may be NULL); a plugin sink that answers "retry" or fails is
 * tried again after 2^attempts seconds (at most an hour): at least once,
 * with the alert's stable id. The thread that owns st. */
int outbox_deliver(store *st, const char *const *sinks, int nsinks, const plugins *p);

/* Pending rows (the delivery backlog). */
long outbox_pending(store *st);

/* A kind of alert and how many were raised (what /metrics shows). */
#define OUTBOX_KIND_LEN 128 /* longest kind kept, with its NUL */
typedef struct outbox_alert_count {
    char kind[OUTBOX_KIND_LEN];
    uint64_t count;
} outbox_alert_count;

/* Running counts of alerts by kind for /metrics, as obligations_counts_start
 * (obligations.h) has them for obligations: outbox_counts_start counts once
 * and installs the triggers on this connection; outbox_alert_counts fills
 * out[0..*n) with the most frequent kinds first (ties by kind), at most
 * max, leaving out a kind longer than OUTBOX_KIND_LEN - 1 bytes rather
 * than cutting it. Return 0 or a negative code (then *n is 0). */
int outbox_counts_start(store *st);
int outbox_alert_counts(store *st, outbox_alert_count *out, int max, int *n);

#endif
