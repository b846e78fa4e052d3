/*
 * http_client.h — a minimal blocking HTTP/1.1 client for end-to-end tests
 * over real loopback sockets, and helpers to start and stop `obligo serve`.
 */
#ifndef OBLIGO_TEST_HTTP_CLIENT_H
#define OBLIGO_TEST_HTTP_CLIENT_H

#include <stddef.h>
#include <sys/types.h>

/* A port that was free a moment ago on 127.0.0.1. */
int client_free_port(void);

/* Sends one request on a new connection and reads the response. Returns the
 * status code (or -1) and the body in *body (caller frees; may be NULL). */
int client_request(int port, const char *method, const char *path, const char *content_type,
                   const char *body, size_t body_len, char **resp_body);

/* The same with an Authorization: Bearer header when token is not NULL. */
int client_request_auth(int port, const char *method, const char *path, const char *content_type,
                        const char *body, size_t body_len, const char *token, char **resp_body);

/* Connects, writes `len` bytes of `raw` in pieces of `chunk` bytes (0: all
 * at once) and reads until the server closes or `timeout_ms` passes without
 * data. Returns the bytes read (caller frees) or NULL when it could not
 * connect. */
char *client_raw(int port, const char *raw, size_t len, size_t chunk, int timeout_ms);

/* Counts the occurrences of needle in haystack. */
int client_count(const char *haystack, const char *needle);

/* The engine time a test server starts at unless the test passes its own
 * --clock-start: tests date their events relative to it, so that they
 * exercise the same paths on any date (events of early 2026 have their
 * deadlines long past). */
#define CLIENT_CLOCK_START "2026-12-01T12:00:00+01:00"

/* Like client_start_server, with extra arguments for `obligo serve`
 * (NULL-terminated, may be NULL). */
pid_t client_start_server_args(const char *db, const char *rules, int port, const char *log,
                               char *const extra[]);

/* Starts `obligo serve --db DB --rules RULES --listen 127.0.0.1:PORT` with
 * stdout/stderr appended to log, and waits until /healthz answers 200
 * (up to ~10 s). Returns the pid or -1. */
pid_t client_start_server(const char *db, const char *rules, int port, const char *log);
/* Sends sig and waits for the process; returns its wait status. */
int client_stop_server(pid_t pid, int sig);

#endif
