/*
 * ruleinfo.h — a rule set as the privacy officer reads it: every rule and
 * duty with its Dutch title, legal source (and a link to the law's text
 * where the source names a law that has one), file:line, the severity a
 * rule raises its alerts with, and whether some rule test reached it.
 * `obligo rules --json` prints it; `obligo serve` keeps it for the set in
 * force and answers GET /v1/rules from it (serve_rules.c), so the two
 * cannot disagree.
 *
 * Pure: depends on rules.h (rules_describe, the kept files) and
 * ruletest.h (the coverage of a run). Any thread, on a set the caller owns
 * meanwhile.
 */
#ifndef OBLIGO_RULEINFO_H
#define OBLIGO_RULEINFO_H

#include <cjson/cJSON.h>

#include "rules.h"
#include "ruletest.h"

/* {revision, rules: [{name, title, source, file, line, types, severity?,
 * tested?}], duties: [{name, title, source, source_url?, file, line,
 * tested?}], coverage?: {rules, rules_tested, duties, duties_tested}}.
 * file is the path within the rule directory dir (the name GET
 * /v1/rules/source takes). severity is the most severe level a rule's run
 * function names (the DSL records none: a rule names it per alert);
 * absent when it names none. tested and coverage only when rep (may be
 * NULL) is the report of a test run over this set. Caller frees; NULL
 * when memory ran out. */
cJSON *ruleinfo_describe(const rules *r, const char *dir, const ruletest_report *rep);

/* A link to the text of the first law a legal source text names that has
 * one (AVG and NIS2 on EUR-Lex, the BW / WGBO, the Wabvpz and the Besluit
 * elektronische gegevensverwerking door zorgaanbieders on
 * wetten.overheid.nl), or NULL (a norm such as NEN 7510, a practice's
 * policy). Static. */
const char *ruleinfo_source_url(const char *source);

/* Where a refusal (gate.h's *why: "file:line: message", or "FAIL
 * file:line: test: problem", the first of several joined by "; ") points:
 * *file (caller frees; within dir when it lies below it) and *line. 0, or
 * -1 when it names no file:line (both left NULL and 0). */
int ruleinfo_error_place(const char *why, const char *dir, char **file, int *line);

/* The rule files the set was compiled from as {path within the rule
 * directory: text}. Caller frees; NULL when memory ran out. */
cJSON *ruleinfo_files(const rules *r);

#endif
