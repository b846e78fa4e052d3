/*
 * replay_request.h — the body of POST /v1/replay turned into what
 * replay_run needs: the candidate rule files in memory (a rules_sources,
 * as rules_sources_read gives for a directory) and the filters since,
 * until and type.
 *
 * Two forms (README, "HTTP API"):
 *   - application/json: {"rules": {"relative/path.lua": "source", ...},
 *     "since": T, "until": T, "type": PATTERN}, only rules required;
 *   - application/x-tar (or application/tar): a tar of the rule directory
 *     (read with libarchive), the filters in the query string
 *     (?since=&until=&type=, percent-decoded; '+' is a plus sign).
 * Either way a file's path is relative to the rule directory ("ict/x.lua"),
 * in plain form: no absolute path, no "." or ".." component, no empty one,
 * at most 8 folders deep; a tar entry's single leading "./" is taken off.
 * Files ending in _test.lua are kept as tests, not compiled as rules, as
 * for a directory. A tar's folders are skipped, as are its regular files
 * not ending in .lua and entries under a name starting with '.' (which
 * reading a directory skips too, and which macOS's tar adds as "._x.lua");
 * a symbolic or hard link, a device, a FIFO or any other kind of entry is
 * refused. A JSON body's paths must end in .lua and may not be hidden.
 * Limits: 4 MiB a file (as rules_sources_read), 16 MiB and 1,000 files in
 * all; past them 413.
 *
 * Pure: no I/O, no engine; any thread.
 */
#ifndef OBLIGO_REPLAY_REQUEST_H
#define OBLIGO_REPLAY_REQUEST_H

#include <stddef.h>

#include "clock.h"
#include "rules.h"

#define REPLAY_REQUEST_MAX_FILE_BYTES ((size_t)4 << 20)
#define REPLAY_REQUEST_MAX_TOTAL_BYTES ((size_t)16 << 20)
#define REPLAY_REQUEST_MAX_FILES 1000
#define REPLAY_REQUEST_MAX_DEPTH 8

typedef struct replay_request {
    rules_sources src;        /* dir "": each path is the path within the directory */
    obligo_time since, until; /* 0: not given */
    char *type;               /* NULL: every type */
    /* when refused: the status (400, 413), the message and the member or
     * parameter it is about (NULL when none) */
    int status;
    char *error;
    char *field;
} replay_request;

/* Fills *out from a JSON body (len bytes at body, which need not be
 * NUL-terminated). query is the request's raw query string ("" for none):
 * a JSON request takes no parameters. Returns 0, or -1 with out->status,
 * out->error and out->field set (out->error NULL when memory ran out). In
 * either case the caller frees *out with replay_request_free. */
int replay_request_json(const char *body, size_t len, const char *query, replay_request *out);

/* The same from a tar body, with the filters from query. */
int replay_request_tar(const char *body, size_t len, const char *query, replay_request *out);

void replay_request_free(replay_request *r);

#endif
