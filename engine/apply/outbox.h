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

/* Which alerts by their acknowledgement (outbox_list). */
typedef enum outbox_ack { OUTBOX_ACK_ANY, OUTBOX_ACK_YES, OUTBOX_ACK_NO } outbox_ack;

typedef struct outbox_filter {
    obligo_time since; /* 0: all */
    const char *kind;
    int64_t after_seq;    /* rows with seq > after_seq */
    int limit;            /* 0: no limit */
    const char *severity; /* one severity or a comma list (warning,critical); NULL: any */
    outbox_ack acknowledged;
    int newest;         /* 1: by seq descending instead of ascending */
    int64_t before_seq; /* rows with seq < before_seq; 0: no bound */
} outbox_filter;

/* The register an alert's acknowledgement is kept in, keyed by the alert's
 * id (the acknowledging rule writes it; outbox_list reads its latest
 * version). */
#define OUTBOX_ACK_REGISTER "signalen"

/* Alerts as output JSON ({id, kind, severity, subject, at, message, event,
 * rule?, data?, seq, acknowledged}), oldest first or, with newest, newest
 * first. acknowledged is null, or {by, note, at, event: {source, id}} from
 * the latest version of the alert's entry in OUTBOX_ACK_REGISTER (by and
 * note from its data, at its data's acknowledged_at, else the version's at).
 * A severity the engine does not know matches no row. One severity or a
 * kind, newest first, walks an index in the answer's order and stops at
 * the limit (store.c, migration 6). The borrowed strings stay the caller's.
 * Caller frees; NULL on a database error. */
cJSON *outbox_list(store *st, const outbox_filter *f);

/* 0 when list is one severity or a comma list of info, warning, critical;
 * -1 otherwise. Fills *mask (may be NULL) with bit i for the i-th. */
int outbox_severities(const char *list, unsigned *mask);

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
