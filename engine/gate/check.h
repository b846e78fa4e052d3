/*
 * check.h — the linter of a rule set, for `obligo check` and the reload
 * gate: findings as data, never as printed text.
 *
 * What it finds, besides what stops a set from loading at all (rules_load
 * reports syntax errors, duplicate ids, a missing title or legal source, a
 * malformed period, with their file and line):
 *   - a rule listening for an event type that no loaded plugin registers
 *     although its namespace is a plugin's ("nl.ict.backup.complete"): a
 *     typo that never fires;
 *   - act.open/fulfil/cancel/extend and state.obligation naming an
 *     obligation kind that is not declared;
 *   - e.data.NAME inside a rule's run function where none of the rule's
 *     event types has a field NAME;
 *   - a configured policy that no rule reads (a misspelt name leaves the
 *     default in force), reported for the file "configuration", line 0.
 * The last three read the source text the set was compiled from (string
 * literals and e.data.NAME as written); fields reached through a local
 * (local d = e.data) are not followed.
 */
#ifndef OBLIGO_CHECK_H
#define OBLIGO_CHECK_H

#include <cjson/cJSON.h>

#include "plugins.h"
#include "rules.h"

/* The findings for the set r compiled from src, with the policy given
 * (NULL: none configured): an array of {"file", "line", "message"} in the
 * order found, empty when there is nothing to say. NULL when memory ran
 * out. Caller frees. */
cJSON *check_rules(const plugins *p, const rules *r, const rules_sources *src, const cJSON *policy);

#endif
