/*
 * metrics.h — the numbers behind GET /metrics, rendered in the Prometheus
 * text exposition format, version 0.0.4 (DESIGN §4).
 *
 * The server gathers a metrics_snapshot (counters it keeps, running counts
 * the writer keeps as it commits) and metrics_render turns it into text;
 * this module does no I/O and keeps no state of its own, so it can be tested
 * with a hand-built snapshot.
 */
#ifndef OBLIGO_METRICS_H
#define OBLIGO_METRICS_H

#include <stdint.h>

#include "outbox.h"

/* Upper bounds in seconds of the latency buckets; the last bucket, +Inf,
 * follows them and is not in this array. */
#define METRICS_NBOUNDS 12
extern const double metrics_bounds[METRICS_NBOUNDS];

/* A latency histogram with the fixed bounds above. Plain fields: the caller
 * serialises access (one thread observes, or a lock around it). */
typedef struct metrics_histogram {
    uint64_t buckets[METRICS_NBOUNDS + 1]; /* per bucket, NOT cumulative; last is +Inf */
    uint64_t count;
    double sum; /* seconds */
} metrics_histogram;

/* Counts one observation. Negative values (a clock step) count as 0; NaN and
 * infinities are ignored, so the sum stays a finite number. */
void metrics_histogram_observe(metrics_histogram *h, double seconds);

#define METRICS_MAX_ALERT_KINDS 64
#define METRICS_KIND_LEN OUTBOX_KIND_LEN
#define METRICS_REVISION_LEN 65

typedef outbox_alert_count metrics_alert_count; /* the outbox keeps the counts */

/* Everything /metrics shows, by value so that a snapshot can be copied
 * whole from one thread to another. Zero-initialise, then fill. */
typedef struct metrics_snapshot {
    uint64_t events_accepted, events_rejected, events_duplicate, events_conflict;
    uint64_t rule_errors;
    uint64_t deadlines_fired;
    /* obligations by status, now (gauges) */
    uint64_t obligations_open, obligations_fulfilled, obligations_overdue, obligations_late,
        obligations_cancelled;
    metrics_alert_count alerts[METRICS_MAX_ALERT_KINDS];
    int nalerts;
    uint64_t outbox_backlog;   /* alert deliveries pending */
    uint64_t open_connections; /* HTTP connections open now */
    /* bytes held for HTTP request bodies now, the most ever, the limit,
     * and connections waiting for room for a body (transport_http.h) */
    uint64_t http_buffered_body_bytes, http_buffered_body_bytes_peak,
        http_buffered_body_bytes_limit, http_bodies_waiting;
    uint64_t http_2xx, http_4xx, http_5xx;
    metrics_histogram commit_seconds;
    uint64_t queue_events; /* events waiting for the writer */
    char rules_revision[METRICS_REVISION_LEN];
    uint64_t replay_running; /* 1 while POST /v1/replay runs, else 0 */
    uint64_t replays;        /* replays answered 200 */
} metrics_snapshot;

/* The exposition text of m, every line ending in "\n", as a new string the
 * caller frees with obligo_free; NULL when out of memory. Pure; any thread. */
char *metrics_render(const metrics_snapshot *m);

#endif
