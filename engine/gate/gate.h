/*
 * gate.h — the reload gate: whether the rule files on disk may replace the
 * running rule set.
 *
 * A set goes live only when it compiles, `obligo check` finds nothing in
 * it, and every rule test passes. The directory is read once
 * (rules_sources), compiled once with the configured policy, and that
 * compiled set is what is checked, what the tests judge with, and what is
 * handed back to go live: a file saved while the gate runs waits for the
 * next reload. (When the configuration sets policy values, the tests judge
 * with the same sources compiled with the pack's defaults, as `obligo test`
 * does, so that a site's own periods never fail the pack's tests.)
 *
 * The gate takes a moment (each test opens an in-memory engine), so
 * `obligo serve` runs it on a worker thread while the writer goes on
 * committing events; only the swap is the writer's.
 */
#ifndef OBLIGO_GATE_H
#define OBLIGO_GATE_H

#include <stdatomic.h>

#include "config.h"
#include "plugins.h"
#include "rules.h"

/* Reads, compiles, checks and tests cfg->rules_dir with the plugins p
 * (loaded once by the caller, borrowed). cancel (may be NULL), once set,
 * stops the run before its next rule test with OBLIGO_EBUSY (a server
 * that is stopping does not wait for every test). Returns 0 with *out the new set
 * (caller owns), or a negative code (OBLIGO_ERULE: it does not load, has
 * findings or failing tests) with *why saying so for a person: the
 * findings as "file:line: message" and the failing tests as "FAIL
 * file:line: test: problem", joined by "; " (caller frees; NULL when
 * memory ran out). Once the tests ran, *info (when info is not NULL) is
 * ruleinfo_describe of the set with their coverage, whether they passed or
 * not (caller frees; NULL when they did not run). Any thread, one gate at a time per registry's
 * rule functions being in use elsewhere is fine (plugins_call_rule). */
int gate_prepare(const config *cfg, plugins *p, const atomic_int *cancel, rules **out, cJSON **info,
                 char **why);

#endif
