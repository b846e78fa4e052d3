/*
 * ruletest.h — the rule tests that live beside the rules (*_test.lua), as a
 * library: `obligo test` prints what it returns, and the reload gate lets a
 * rule set go live only when they all pass.
 *
 * A test file declares tests:
 *
 *   test "late notification over the autumn DST change" {
 *     events = {
 *       { type = "nl.avg.breach.reported", time = "2025-10-24T18:00:00+02:00",
 *         data = { breach_id = "B-3", aware_at = "2025-10-24T18:00:00+02:00",
 *                  description = "x", personal_data = "yes" } },
 *     },
 *     at = "2025-10-28T12:00:00+01:00",           -- engine time at the end
 *     policy = { ["avg.notify_ap.hours"] = 48 },  -- optional: else the defaults
 *     obligations = { { kind = "avg.notify_ap", subject = "B-3", status = "late",
 *                       due_at = "2025-10-27T16:00:00Z" } },
 *     absent_obligations = { ... },  alerts = { { kind = ..., subject = ..., count = 1 } },
 *     absent_alerts = { ... },  register = { datalekken = { { key = "B-3", data = { ... } } } },
 *   }
 *
 * An expected obligation matches exactly one of its kind and subject, and
 * of its status when it names one (a periodic duty's closed period and its
 * open next one can both be expected).
 *
 * Each test runs on a fresh in-memory engine that judges with the compiled
 * rule set given (the very set the gate would put live), with the plugins
 * already loaded; a test with a policy of its own judges with the same
 * sources compiled with that policy. Events get specversion "1.0", an id
 * and a source when they have none. Engine time follows the events (as
 * `ingest --clock events`), so deadlines between them fire in order, and
 * finally moves to `at`. Coverage: the rules that made a decision in some
 * test and the obligation kinds some test opened.
 */
#ifndef OBLIGO_RULETEST_H
#define OBLIGO_RULETEST_H

#include <cjson/cJSON.h>
#include <stdatomic.h>

#include "config.h"
#include "engine.h"
#include "plugins.h"
#include "rules.h"

typedef struct ruletest_env {
    const config *cfg;        /* limits and intake settings (NULL: defaults); its database,
                                 rules directory, sinks and policy are not used */
    plugins *plugins;         /* loaded once by the caller; borrowed */
    const rules_sources *src; /* the test files, and the rule files for own policies */
    rules *defaults;          /* src compiled with the pack's defaults (an empty policy) */
    const atomic_int *cancel; /* may be NULL; when set, the run stops before the next test */
} ruletest_env;

typedef struct ruletest_report {
    /* One entry per test run, in file and declaration order:
     * {"file", "line", "name", "problem"?} (no "problem": it passed). A test
     * file that did not load is one entry with "name": null and line 0. */
    cJSON *results;
    int passed, failed;
    /* What no test reached: [{"what": "rule"|"obligation", "name", "file", "line"}]. */
    cJSON *uncovered;
    int covered, total; /* rules and obligation kinds */
} ruletest_report;

/* Runs the tests of env->src whose name contains pattern (NULL: all).
 * Returns 0 with *out filled (free with ruletest_report_free), or
 * OBLIGO_ENOMEM (or OBLIGO_EBUSY when cancelled) with *out empty. Uses env->defaults and the
 * plugins' rule functions from the calling thread; the caller owns both meanwhile. */
int ruletest_run(const ruletest_env *env, const char *pattern, ruletest_report *out);
void ruletest_report_free(ruletest_report *r);

#endif
