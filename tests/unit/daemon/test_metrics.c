/*
 * test_metrics.c — the Prometheus exposition (engine/metrics.c): exact
 * lines for a hand-built snapshot, cumulative histogram buckets ending in
 * +Inf == _count, label escaping, alert counts from a real database, and
 * out-of-memory during rendering.
 *
 * Expected lines are written out by hand from the format's rules, not taken
 * from the code under test.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "engine.h"
#include "metrics.h"
#include "store.h"
#include "support.h"

/* Whether text holds line as a whole line. */
static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++) {
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    }
    return 0;
}

static void expect_line(const char *text, const char *line)
{
    if (!has_line(text, line))
        fail_msg("missing line: %s\n--- output ---\n%s", line, text);
}

static void fill(metrics_snapshot *m)
{
    memset(m, 0, sizeof *m);
    m->events_accepted = 12;
    m->events_rejected = 2;
    m->events_duplicate = 3;
    m->rule_errors = 1;
    m->deadlines_fired = 4;
    m->obligations_open = 3;
    m->obligations_fulfilled = 5;
    m->obligations_overdue = 1;
    m->obligations_late = 2;
    m->obligations_cancelled = 0;
    snprintf(m->alerts[0].kind, sizeof m->alerts[0].kind, "avg.late_notification");
    m->alerts[0].count = 1;
    snprintf(m->alerts[1].kind, sizeof m->alerts[1].kind, "obligo.rule_error");
    m->alerts[1].count = 7;
    m->nalerts = 2;
    m->outbox_backlog = 6;
    m->open_connections = 2;
    m->http_buffered_body_bytes = 4096;
    m->http_buffered_body_bytes_peak = 8192;
    m->http_buffered_body_bytes_limit = 268435456;
    m->http_bodies_waiting = 3;
    m->http_2xx = 100;
    m->http_4xx = 9;
    m->http_5xx = 1;
    m->queue_events = 17;
    snprintf(m->rules_revision, sizeof m->rules_revision, "0123456789abcdef");
    m->replay_running = 1;
    m->replays = 8;
}

static void render_has_expected_lines(void **state)
{
    (void)state;
    metrics_snapshot m;
    fill(&m);
    metrics_histogram_observe(&m.commit_seconds, 0.004);
    char *text = metrics_render(&m);
    assert_non_null(text);
    const char *lines[] = {
        "# TYPE obligo_events_total counter",
        "obligo_events_total{outcome=\"accepted\"} 12",
        "obligo_events_total{outcome=\"rejected\"} 2",
        "obligo_events_total{outcome=\"duplicate\"} 3",
        "# TYPE obligo_rule_errors_total counter",
        "obligo_rule_errors_total 1",
        "# TYPE obligo_deadlines_fired_total counter",
        "obligo_deadlines_fired_total 4",
        "# TYPE obligo_obligations gauge",
        "obligo_obligations{status=\"open\"} 3",
        "obligo_obligations{status=\"fulfilled\"} 5",
        "obligo_obligations{status=\"overdue\"} 1",
        "obligo_obligations{status=\"late\"} 2",
        "obligo_obligations{status=\"cancelled\"} 0",
        "# TYPE obligo_alerts_total counter",
        "obligo_alerts_total{kind=\"avg.late_notification\"} 1",
        "obligo_alerts_total{kind=\"obligo.rule_error\"} 7",
        "# TYPE obligo_outbox_backlog gauge",
        "obligo_outbox_backlog 6",
        "# TYPE obligo_http_open_connections gauge",
        "obligo_http_open_connections 2",
        "# TYPE obligo_http_buffered_body_bytes gauge",
        "obligo_http_buffered_body_bytes 4096",
        "obligo_http_buffered_body_bytes_peak 8192",
        "obligo_http_buffered_body_bytes_limit 268435456",
        "# TYPE obligo_http_bodies_waiting gauge",
        "obligo_http_bodies_waiting 3",
        "# TYPE obligo_http_requests_total counter",
        "obligo_http_requests_total{code=\"2xx\"} 100",
        "obligo_http_requests_total{code=\"4xx\"} 9",
        "obligo_http_requests_total{code=\"5xx\"} 1",
        "# TYPE obligo_commit_seconds histogram",
        "obligo_commit_seconds_bucket{le=\"0.0025\"} 0",
        "obligo_commit_seconds_bucket{le=\"0.005\"} 1",
        "obligo_commit_seconds_bucket{le=\"+Inf\"} 1",
        "obligo_commit_seconds_sum 0.004",
        "obligo_commit_seconds_count 1",
        "# TYPE obligo_write_queue_events gauge",
        "obligo_write_queue_events 17",
        "# TYPE obligo_rules_info gauge",
        "obligo_rules_info{revision=\"0123456789abcdef\"} 1",
        "# TYPE obligo_replay_running gauge",
        "obligo_replay_running 1",
        "# TYPE obligo_replays_total counter",
        "obligo_replays_total 8",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        expect_line(text, lines[i]);

    /* Every line ends in a newline, every metric is obligo_, every family
     * has HELP just before TYPE, and each family appears once. */
    size_t len = strlen(text);
    assert_true(len > 0 && text[len - 1] == '\n');
    int types = 0;
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n');
        assert_non_null(end);
        if (strncmp(line, "# TYPE ", 7) == 0) {
            types++;
            assert_memory_equal(line + 7, "obligo_", 7);
        } else if (strncmp(line, "# HELP ", 7) == 0) {
            assert_memory_equal(line + 7, "obligo_", 7);
            char *next = end + 1;
            assert_memory_equal(next, "# TYPE ", 7);
            size_t name = strcspn(line + 7, " ");
            assert_memory_equal(line + 7, next + 7, name);
        } else {
            assert_memory_equal(line, "obligo_", 7);
        }
        line = end + 1;
    }
    assert_int_equal(types, 17);
    obligo_free(text);
}

/* The value on the line that starts with prefix, or NAN. */
static double value_of(const char *text, const char *prefix)
{
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        if (strncmp(p, prefix, strlen(prefix)) == 0)
            return strtod(p + strlen(prefix), NULL);
        p = end ? end + 1 : p + strlen(p);
    }
    return NAN;
}

static void histogram_buckets_are_cumulative(void **state)
{
    (void)state;
    metrics_histogram h;
    memset(&h, 0, sizeof h);
    /* 0.0005 itself falls in le="0.0005" (upper bounds are inclusive); a
     * negative duration counts as 0; NaN and infinity are not counted. */
    const double obs[] = {0.0001, 0.0005, -1, 0.003, 0.2, 0.2, 1, 3, 100};
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++)
        metrics_histogram_observe(&h, obs[i]);
    metrics_histogram_observe(&h, NAN);
    metrics_histogram_observe(&h, INFINITY);
    assert_int_equal(h.count, 9);

    metrics_snapshot m;
    memset(&m, 0, sizeof m);
    m.commit_seconds = h;
    char *text = metrics_render(&m);
    assert_non_null(text);
    static const struct {
        const char *le;
        int n;
    } want[] = {
        {"0.0005", 3}, {"0.001", 3}, {"0.0025", 3}, {"0.005", 4}, {"0.01", 4},
        {"0.025", 4},  {"0.05", 4},  {"0.1", 4},    {"0.25", 6},  {"0.5", 6},
        {"1", 7},      {"2.5", 7},   {"+Inf", 9},
    };
    char line[96];
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        snprintf(line, sizeof line, "obligo_commit_seconds_bucket{le=\"%s\"} %d", want[i].le,
                 want[i].n);
        expect_line(text, line);
    }
    expect_line(text, "obligo_commit_seconds_count 9");

    /* In output order, buckets never decrease and +Inf equals _count. */
    double prev = -1, last = -1;
    int buckets = 0;
    for (const char *p = text; (p = strstr(p, "obligo_commit_seconds_bucket{")) != NULL; p++) {
        double v = strtod(strchr(p, '}') + 1, NULL);
        assert_true(v >= prev);
        prev = last = v;
        buckets++;
    }
    assert_int_equal(buckets, 13);
    assert_true(last == value_of(text, "obligo_commit_seconds_count "));
    assert_true(fabs(value_of(text, "obligo_commit_seconds_sum ") - 104.4036) < 1e-9);
    obligo_free(text);
}

static void label_values_are_escaped(void **state)
{
    (void)state;
    metrics_snapshot m;
    memset(&m, 0, sizeof m);
    snprintf(m.alerts[0].kind, sizeof m.alerts[0].kind, "a\\b\"c\nd");
    m.alerts[0].count = 2;
    m.nalerts = 1;
    snprintf(m.rules_revision, sizeof m.rules_revision, "r\"1\\");
    char *text = metrics_render(&m);
    assert_non_null(text);
    expect_line(text, "obligo_alerts_total{kind=\"a\\\\b\\\"c\\nd\"} 2");
    expect_line(text, "obligo_rules_info{revision=\"r\\\"1\\\\\"} 1");
    /* the raw newline of the kind never reaches the output */
    assert_null(strstr(text, "c\nd"));
    obligo_free(text);
}

static void empty_snapshot_renders_zeroes(void **state)
{
    (void)state;
    metrics_snapshot m;
    memset(&m, 0, sizeof m);
    char *text = metrics_render(&m);
    assert_non_null(text);
    expect_line(text, "obligo_events_total{outcome=\"accepted\"} 0");
    expect_line(text, "obligo_commit_seconds_bucket{le=\"+Inf\"} 0");
    expect_line(text, "obligo_commit_seconds_sum 0");
    expect_line(text, "obligo_rules_info{revision=\"\"} 1");
    /* no alerts: the family is declared, without samples */
    expect_line(text, "# TYPE obligo_alerts_total counter");
    assert_null(strstr(text, "obligo_alerts_total{"));
    obligo_free(text);
}

static void render_out_of_memory_returns_null(void **state)
{
    (void)state;
    metrics_snapshot m;
    fill(&m);
    for (long n = 1;; n++) {
        alloc_fail_after(n);
        char *text = metrics_render(&m);
        alloc_fail_after(0);
        if (text) {
            expect_line(text, "obligo_write_queue_events 17");
            obligo_free(text);
            break;
        }
        assert_true(n < 50);
    }
}

int main(void)
{
    engine_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(render_has_expected_lines),
        cmocka_unit_test(histogram_buckets_are_cumulative),
        cmocka_unit_test(label_values_are_escaped),
        cmocka_unit_test(empty_snapshot_renders_zeroes),
        cmocka_unit_test(render_out_of_memory_returns_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
