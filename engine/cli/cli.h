/*
 * cli.h — the obligo subcommands (DESIGN §4). main.c dispatches to these;
 * each returns the process exit code: 0 ok, 1 findings, 2 usage or input
 * errors.
 */
#ifndef OBLIGO_CLI_H
#define OBLIGO_CLI_H

int cli_ingest(int argc, char **argv);
int cli_obligations(int argc, char **argv);
int cli_alerts(int argc, char **argv);
int cli_register(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_plugins(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_test(int argc, char **argv);
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
