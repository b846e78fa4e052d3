/*
 * cli.h — the obligo subcommands (DESIGN §4). main.c dispatches to these;
 * each returns the process exit code: 0 ok, 1 findings, 2 usage or input
 * errors.
 */
#ifndef OBLIGO_CLI_H
#define OBLIGO_CLI_H

#include <stdio.h>

#include "config.h"
#include "plugins.h"
#include "rules.h"

int cli_ingest(int argc, char **argv);
int cli_obligations(int argc, char **argv);
int cli_alerts(int argc, char **argv);
int cli_register(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_plugins(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_test(int argc, char **argv);

/* The checks of `obligo check` on a loaded rule set (and the configured
 * policy, may be NULL): findings are written to out as file:line: message;
 * returns their number. */
long cli_check_rules(const plugins *p, rules *r, const cJSON *policy, FILE *out);

/* The rule tests under cfg->rules_dir, as `obligo test` runs them (cfg is
 * copied; the tests use in-memory databases). Lines go to out (may be
 * NULL). Returns the number of failures; *passed (may be NULL) gets the
 * passes; *coverage (may be NULL) the percentage covered. */
int cli_test_rules(const config *cfg, const char *pattern, FILE *out, int *passed,
                   double *coverage);
int cli_token(int argc, char **argv);

/* serve.c: splits the body of POST /v1/events into raw events by its content
 * type (one CloudEvent, a JSON array, or NDJSON lines) and appends them to
 * j, a WRITER_EVENTS job. Returns the count, -1 for a body that is not of
 * its type (*why set), -2 for an unsupported type. Exposed for the fuzz
 * harness tests/fuzz/fuzz_ndjson.c. */
struct http_request;
struct writer_job;
int serve_split(const struct http_request *req, struct writer_job *j, const char **why);

#endif
