/*
 * metrics.c — Prometheus text exposition of a metrics_snapshot (metrics.h).
 *
 * Depends on alloc.c for the output buffer; it reads no database (the
 * counts come from the writer, writer.c). The format (text/plain; version=0.0.4): per metric
 * family a "# HELP" and a "# TYPE" line, then its samples
 * `name{label="value"} number`, each line ending in "\n"; label values
 * escape backslash, double quote and newline; a histogram's buckets are
 * cumulative, end with le="+Inf" equal to _count, and come with _sum.
 */
#include "metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"

const double metrics_bounds[METRICS_NBOUNDS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                0.05,   0.1,   0.25,   0.5,   1,    2.5};

void metrics_histogram_observe(metrics_histogram *h, double seconds)
{
    if (!isfinite(seconds))
        return;
    if (seconds < 0)
        seconds = 0;
    int i = 0;
    while (i < METRICS_NBOUNDS && seconds > metrics_bounds[i])
        i++;
    h->buckets[i]++;
    h->count++;
    h->sum += seconds;
}

/* ---- an append-only text buffer ------------------------------------------ */

typedef struct metrics_buf {
    char *p;
    size_t len, cap;
    int failed; /* once an allocation failed, every later append is a no-op */
} metrics_buf;

static void metrics_reserve(metrics_buf *b, size_t more)
{
    if (b->failed || b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *np = obligo_realloc(b->p, cap);
    if (!np) {
        b->failed = 1;
        return;
    }
    b->p = np;
    b->cap = cap;
}

static void metrics_put(metrics_buf *b, const char *s, size_t n)
{
    metrics_reserve(b, n);
    if (b->failed)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void metrics_printf(metrics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void metrics_printf(metrics_buf *b, const char *fmt, ...)
{
    va_list ap, copy;
    va_start(ap, fmt);
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        b->failed = 1;
    else
        metrics_reserve(b, (size_t)n);
    if (!b->failed) {
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
        b->len += (size_t)n;
    }
    va_end(ap);
}

/* A label value between double quotes, escaped as the format asks. */
static void metrics_label_value(metrics_buf *b, const char *v)
{
    metrics_put(b, "\"", 1);
    for (const char *s = v ? v : ""; *s; s++) {
        if (*s == '\\')
            metrics_put(b, "\\\\", 2);
        else if (*s == '"')
            metrics_put(b, "\\\"", 2);
        else if (*s == '\n')
            metrics_put(b, "\\n", 2);
        else
            metrics_put(b, s, 1);
    }
    metrics_put(b, "\"", 1);
}

/* The shortest text that reads back as the same double ("0.25", not
 * "0.25000000000000000"); Prometheus parses it with Go's ParseFloat. The
 * process never calls setlocale, so the decimal point is a point. */
static void metrics_double(char *out, size_t n, double v)
{
    if (isnan(v)) {
        snprintf(out, n, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, n, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, n, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

static void metrics_family(metrics_buf *b, const char *name, const char *type, const char *help)
{
    metrics_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* `name{label="value"} n`; label NULL for a sample without labels. */
static void metrics_sample(metrics_buf *b, const char *name, const char *label, const char *value,
                           uint64_t n)
{
    metrics_put(b, name, strlen(name));
    if (label) {
        metrics_printf(b, "{%s=", label);
        metrics_label_value(b, value);
        metrics_put(b, "}", 1);
    }
    metrics_printf(b, " %" PRIu64 "\n", n);
}

static void metrics_render_histogram(metrics_buf *b, const char *name, const char *help,
                                     const metrics_histogram *h)
{
    metrics_family(b, name, "histogram", help);
    char bucket[128], le[32];
    snprintf(bucket, sizeof bucket, "%s_bucket", name);
    uint64_t cumulative = 0;
    for (int i = 0; i < METRICS_NBOUNDS; i++) {
        cumulative += h->buckets[i];
        metrics_double(le, sizeof le, metrics_bounds[i]);
        metrics_sample(b, bucket, "le", le, cumulative);
    }
    /* +Inf is _count by definition: the observations in every bucket. */
    metrics_sample(b, bucket, "le", "+Inf", h->count);
    char sum[40];
    metrics_double(sum, sizeof sum, h->sum);
    metrics_printf(b, "%s_sum %s\n%s_count %" PRIu64 "\n", name, sum, name, h->count);
}

char *metrics_render(const metrics_snapshot *m)
{
    metrics_buf b = {0};

    metrics_family(&b, "obligo_events_total", "counter",
                   "Events received, by outcome (accepted, rejected, duplicate).");
    metrics_sample(&b, "obligo_events_total", "outcome", "accepted", m->events_accepted);
    metrics_sample(&b, "obligo_events_total", "outcome", "rejected", m->events_rejected);
    metrics_sample(&b, "obligo_events_total", "outcome", "duplicate", m->events_duplicate);
    metrics_sample(&b, "obligo_events_total", "outcome", "conflict", m->events_conflict);

    metrics_family(&b, "obligo_rule_errors_total", "counter",
                   "Rule runs that failed or overran their budget.");
    metrics_sample(&b, "obligo_rule_errors_total", NULL, NULL, m->rule_errors);

    metrics_family(&b, "obligo_deadlines_fired_total", "counter",
                   "Obligation deadlines and reminders fired.");
    metrics_sample(&b, "obligo_deadlines_fired_total", NULL, NULL, m->deadlines_fired);

    metrics_family(&b, "obligo_obligations", "gauge", "Obligations by status.");
    metrics_sample(&b, "obligo_obligations", "status", "open", m->obligations_open);
    metrics_sample(&b, "obligo_obligations", "status", "fulfilled", m->obligations_fulfilled);
    metrics_sample(&b, "obligo_obligations", "status", "overdue", m->obligations_overdue);
    metrics_sample(&b, "obligo_obligations", "status", "late", m->obligations_late);
    metrics_sample(&b, "obligo_obligations", "status", "cancelled", m->obligations_cancelled);

    metrics_family(&b, "obligo_alerts_total", "counter", "Alerts raised, by kind.");
    int nalerts = m->nalerts < 0                         ? 0
                  : m->nalerts > METRICS_MAX_ALERT_KINDS ? METRICS_MAX_ALERT_KINDS
                                                         : m->nalerts;
    for (int i = 0; i < nalerts; i++) {
        /* Bounded even if a caller filled kind without its NUL. */
        char kind[METRICS_KIND_LEN];
        snprintf(kind, sizeof kind, "%.*s", METRICS_KIND_LEN - 1, m->alerts[i].kind);
        metrics_sample(&b, "obligo_alerts_total", "kind", kind, m->alerts[i].count);
    }

    metrics_family(&b, "obligo_outbox_backlog", "gauge", "Alert deliveries waiting in the outbox.");
    metrics_sample(&b, "obligo_outbox_backlog", NULL, NULL, m->outbox_backlog);

    metrics_family(&b, "obligo_http_open_connections", "gauge", "HTTP connections open now.");
    metrics_sample(&b, "obligo_http_open_connections", NULL, NULL, m->open_connections);

    metrics_family(&b, "obligo_http_buffered_body_bytes", "gauge",
                   "Bytes held for HTTP request bodies now, all connections together.");
    metrics_sample(&b, "obligo_http_buffered_body_bytes", NULL, NULL, m->http_buffered_body_bytes);
    metrics_family(&b, "obligo_http_buffered_body_bytes_peak", "gauge",
                   "The most bytes ever held for HTTP request bodies at once.");
    metrics_sample(&b, "obligo_http_buffered_body_bytes_peak", NULL, NULL,
                   m->http_buffered_body_bytes_peak);
    metrics_family(&b, "obligo_http_buffered_body_bytes_limit", "gauge",
                   "max_buffered_body_bytes: the most bytes request bodies may hold.");
    metrics_sample(&b, "obligo_http_buffered_body_bytes_limit", NULL, NULL,
                   m->http_buffered_body_bytes_limit);
    metrics_family(&b, "obligo_http_bodies_waiting", "gauge",
                   "Connections whose request body waits for room (reads paused).");
    metrics_sample(&b, "obligo_http_bodies_waiting", NULL, NULL, m->http_bodies_waiting);

    metrics_family(&b, "obligo_http_requests_total", "counter",
                   "HTTP requests answered, by status code class.");
    metrics_sample(&b, "obligo_http_requests_total", "code", "2xx", m->http_2xx);
    metrics_sample(&b, "obligo_http_requests_total", "code", "4xx", m->http_4xx);
    metrics_sample(&b, "obligo_http_requests_total", "code", "5xx", m->http_5xx);

    metrics_render_histogram(&b, "obligo_commit_seconds",
                             "Time to commit a write transaction to disk, in seconds.",
                             &m->commit_seconds);

    metrics_family(&b, "obligo_write_queue_events", "gauge",
                   "Events waiting for the database writer.");
    metrics_sample(&b, "obligo_write_queue_events", NULL, NULL, m->queue_events);

    metrics_family(&b, "obligo_rules_info", "gauge", "The rule set in use, by revision.");
    char revision[METRICS_REVISION_LEN];
    snprintf(revision, sizeof revision, "%.*s", METRICS_REVISION_LEN - 1, m->rules_revision);
    metrics_sample(&b, "obligo_rules_info", "revision", revision, 1);

    metrics_family(&b, "obligo_replay_running", "gauge",
                   "1 while a replay (POST /v1/replay) runs, else 0.");
    metrics_sample(&b, "obligo_replay_running", NULL, NULL, m->replay_running);
    metrics_family(&b, "obligo_replays_total", "counter",
                   "Replays (POST /v1/replay) that ran to the end and were answered 200.");
    metrics_sample(&b, "obligo_replays_total", NULL, NULL, m->replays);

    if (b.failed) {
        obligo_free(b.p);
        return NULL;
    }
    return b.p;
}
