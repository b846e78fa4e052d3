/*
 * config.h — the engine's configuration: defaults that work with no file,
 * overridden by an optional JSON file (--config F) and then by command-line
 * flags.
 *
 * File keys (all optional): "db", "rules", "listen", "public_url",
 * "allow_unknown_types",
 * "max_event_bytes", "max_body_bytes", "sinks" (list: "stdout",
 * "file:PATH"), "policy" (object of rule policies, read by policy() in
 * rules), "lua_memory_bytes", "lua_instructions", "access_log",
 * "allow_insecure_listen", "max_queue_events", "max_connections",
 * "max_connections_per_client", "max_buffered_body_bytes" (at least
 * "max_body_bytes" + 1), "commit_interval_ms", "reader_threads",
 * "max_answer_bytes",
 * "plugin_dirs" (list), "plugins" (object: each plugin's configuration),
 * "routes" (object: which alerts each sink gets), "watch_rules". Any other key, or a key given
 * twice, is refused (naming it, with the nearest known key when one is close): a misspelt key would
 * otherwise leave its default in force without a word. "policy" and
 * "plugins" are open objects, whose keys belong to the rules and the
 * plugins; only a key given twice in them is refused here.
 */
#ifndef OBLIGO_CONFIG_H
#define OBLIGO_CONFIG_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "sandbox.h"

#define CONFIG_MAX_SINKS 8
#define CONFIG_MAX_PLUGIN_DIRS 8
#define CONFIG_MAX_ROUTE_KINDS 32

/* Which alerts a sink gets ("routes": {SINK: {"kinds": [...],
 * "min_severity": "..."}}). A sink without a route gets every alert. */
typedef struct config_route {
    int routed;                          /* 0: every alert */
    char *kinds[CONFIG_MAX_ROUTE_KINDS]; /* exact kinds, or prefixes ending in '*'; none: any */
    int nkinds;
    int min_severity; /* 0 info, 1 warning, 2 critical */
} config_route;

typedef struct config {
    char *db_path;   /* default $STATE_DIRECTORY/obligo.db (systemd), else ./var/obligo.db */
    char *rules_dir; /* default ./rules, else the install's share/obligo/rules */
    char *listen;    /* default 127.0.0.1:8787 */
    /* The URL clients reach the server at (a TLS proxy's), without a
     * trailing '/': the base of the schemas' $id. NULL: http://LISTEN. */
    char *public_url;
    int allow_unknown_types;
    size_t max_event_bytes; /* default 1 MiB */
    size_t max_body_bytes;  /* default 16 MiB */
    char *sinks[CONFIG_MAX_SINKS];
    int nsinks;
    config_route routes[CONFIG_MAX_SINKS]; /* routes[i] is sinks[i]'s */
    int access_log;                        /* serve: one line per request on stderr (default on) */
    int watch_rules;                       /* serve: reload when a rule file changes (default on) */
    int allow_insecure_listen;             /* serve: permit a non-loopback listen address */
    size_t max_queue_events;               /* serve: events waiting for the writer; 0: 65,536 */
    unsigned max_connections;              /* serve: open connections; 0: 20,000 */
    unsigned max_connections_per_client;   /* serve: open connections per address (default 256) */
    long console_session_seconds;   /* serve: how long a console sign-in lasts (default 8 h) */
    size_t max_buffered_body_bytes; /* serve: request bodies held at once (default 256 MiB) */
    double commit_interval_ms;      /* serve: least time between group commits (default 1) */
    int reader_threads;             /* serve: threads answering GETs (default 2, 1..64) */
    size_t max_answer_bytes;        /* serve: largest answer to a GET (default 8 MiB) */
    cJSON *policy;                  /* owned; an object, possibly empty */
    /* Plugin directories; none configured: the binary's own (plugins.h). */
    char *plugin_dirs[CONFIG_MAX_PLUGIN_DIRS];
    int nplugin_dirs;
    cJSON *plugins; /* owned; {NAME: {...}} configuration per plugin */
    sandbox_limits limits;
} config;

/* Fills cfg with the defaults, then reads path when it is not NULL.
 * Returns 0, or OBLIGO_EINVAL/EIO with *err (caller frees) naming the file
 * and the key. On failure cfg is freed. */
int config_load(config *cfg, const char *path, char **err);
/* Adds a plugin directory (copied); OBLIGO_ELIMIT beyond
 * CONFIG_MAX_PLUGIN_DIRS. */
int config_add_plugin_dir(config *cfg, const char *dir);
/* Replaces a string setting (copied). */
int config_set(char **slot, const char *value);
void config_free(config *cfg);

/* "<the running binary's directory>/rel" when that is a directory, else
 * NULL; caller frees. How a binary finds what was installed beside it. */
char *config_beside_binary(const char *rel);

/* 1 when a sink with route r takes an alert of kind and severity. */
int config_route_takes(const config_route *r, const char *kind, const char *severity);

#endif
