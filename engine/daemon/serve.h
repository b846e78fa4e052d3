/*
 * serve.h — the daemon (`obligo serve`, DESIGN §4): the HTTP API on a libuv
 * loop, the writer, reader, gate and outbox threads, and the deadline timer.
 * engine/cli/cmd_serve.c parses the command line and calls serve_run; the
 * daemon's files share serve_internal.h.
 */
#ifndef OBLIGO_SERVE_H
#define OBLIGO_SERVE_H

#include "config.h"
#include "engine.h"

/* Runs the daemon on host:port until SIGTERM or SIGINT, with the opened
 * engine e and its configuration cfg (both borrowed: the caller closes
 * them after it returns; e belongs to the writer thread meanwhile). The
 * listen address has been checked by the caller. Returns 0 after a clean
 * stop, or a negative code once the reason is said on stderr. Call from
 * the main thread, once. */
int serve_run(const config *cfg, engine *e, const char *host, int port);

/* serve_events.c: splits the body of POST /v1/events into raw events by its
 * content type (one CloudEvent, a JSON array, or NDJSON lines) and appends
 * them to j, a WRITER_EVENTS job. Returns the count, -1 for a body that is
 * not of its type (*why set), -2 for an unsupported type. Exposed for the
 * fuzz harness tests/fuzz/fuzz_ndjson.c. Any thread. */
struct http_request;
struct writer_job;
int serve_split(const struct http_request *req, struct writer_job *j, const char **why);

#endif
