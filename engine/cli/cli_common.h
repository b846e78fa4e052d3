/*
 * cli_common.h — option parsing and opening shared by the subcommands.
 */
#ifndef OBLIGO_CLI_COMMON_H
#define OBLIGO_CLI_COMMON_H

#include "config.h"
#include "engine.h"
#include "plugins.h"
#include "rules.h"

typedef struct cli_opts {
    const char *config, *db, *rules, *clock, *until, *status, *kind, *since, *listen;
    const char *role, *note; /* token create */
    int json, csv, history;
    int allow_insecure;         /* serve --allow-insecure-listen */
    const char *clock_start;    /* serve --clock-start T (a test aid) */
    const char *plugin_dirs[8]; /* --plugin-dir DIR, repeatable */
    int nplugin_dirs;
    const char *format;             /* ingest --format NAME (an input adapter) */
    const char *run, *min_coverage; /* test --run PATTERN --min-coverage P */
    const char *type;               /* replay --type PATTERN */
    int replay;                     /* verify --replay */
    const char *within, *now;       /* obligations --within D --now T */
    int bom;                        /* --bom: a UTF-8 byte order mark before --csv */
    const char *ap_form;            /* register datalekken --ap-form KEY */
    int quiet;                      /* replay, verify --replay: no progress lines */
    char **args;                    /* positional arguments, borrowed from argv */
    int nargs;
} cli_opts;

/* Parses argv (argv[0] is the subcommand). Returns 0, 1 after printing help,
 * or -1 after a usage error was printed. */
int cli_parse(int argc, char **argv, cli_opts *o, const char *usage_text);
/* Loads the configuration and applies --db/--rules/--listen. 0 or an error
 * that was already printed. */
int cli_config(const cli_opts *o, config *cfg);
/* cli_config and engine_open; 0, or 2 after printing why. */
int cli_open(const cli_opts *o, config *cfg, engine *e, int read_only);

/* The self-check of `obligo verify --replay` (cmd_replay.c): judges the
 * journal of st (opened read-only) again with the rule sets it recorded and
 * prints what does not reproduce, as `obligo replay` prints differences
 * (or the result as JSON with o->json). *differences gets their number.
 * Returns 0, or 2 after printing why it could not run. */
int cli_replay_recorded(const cli_opts *o, const config *cfg, store *st, long *differences);

/* `obligo register datalekken --ap-form KEY` (cmd_apform.c): what the
 * Autoriteit Persoonsgegevens' notification form asks, filled from the
 * breach's register entry, its versions and its events; as text, o->json
 * or o->csv. Returns the exit code (1: no such breach). */
int cli_ap_form(const cli_opts *o, store *st, const char *key);

/* The rule set of cfg's rule directory with its plugins, for the commands
 * that show titles (obligo rules, obligo obligations). Returns 0 and sets
 * *r and *p (free both), or a negative code with *err (caller frees). */
int cli_load_rules(const config *cfg, plugins **p, rules **r, char **err);

#endif
