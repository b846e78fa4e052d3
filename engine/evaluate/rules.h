/*
 * rules.h — the Lua rule set: its declarative DSL, loading, and evaluation of
 * one event into decisions.
 *
 * A rule set is every *.lua file under a directory (tests, *_test.lua,
 * excluded), loaded in path order into one sandbox (sandbox.h). Files declare
 *
 *   obligation "avg.notify_ap" { title=..., source=..., due=hours(72),
 *                                remind={ before(hours(24)) }, once=true }
 *   rule "avg.breach.reported" { title=..., source=..., on="nl.avg.breach.reported",
 *                                run=function(e, act, state) ... end }
 *
 * Simple duties need no rule at all: an obligation may say which events open,
 * fulfil and cancel it (opened_by, fulfilled_by, cancelled_by, each one
 * { on = type, subject = "data.field", at = "data.field" } or a list of
 * them), and `periodic = true` makes each fulfilling event re-arm the next
 * period ("a backup every 24 h").
 *
 * Evaluation never touches the database or the clock: a rule sees the event
 * and reads state through rules_state_ops, and returns decisions as JSON
 * objects that actions.c applies inside the event's transaction. That makes
 * rules testable without a loop or a database, and decisions journalable.
 *
 * A rules object is used by one thread at a time; it may be built on one
 * thread and handed to another.
 */
#ifndef OBLIGO_RULES_H
#define OBLIGO_RULES_H

#include <cjson/cJSON.h>

#include "periods.h"
#include "plugins.h"
#include "sandbox.h"

#define RULES_MAX_REMINDERS 8
#define RULES_MAX_TRIGGERS 4

/* A declarative trigger of an obligation kind: when an event of type `on`
 * arrives, the subject is read from the event at the path `subject` (e.g.
 * "data.system") and the instant at `at` (default: the event's time). */
typedef struct rules_trigger {
    char *on, *subject, *at, *rationale;
} rules_trigger;

typedef enum rules_trigger_kind {
    RULES_OPENED_BY,
    RULES_FULFILLED_BY,
    RULES_CANCELLED_BY,
    RULES_NTRIGGER_KINDS
} rules_trigger_kind;

typedef struct rules_kind {
    char *name, *title, *source, *file;
    int line;
    period due;
    period reminders[RULES_MAX_REMINDERS]; /* each is "this long before due" */
    int nreminders;
    int once;     /* at most one obligation of this kind per subject, ever */
    int periodic; /* a fulfilling event re-arms the next period */
    rules_trigger triggers[RULES_NTRIGGER_KINDS][RULES_MAX_TRIGGERS];
    int ntriggers[RULES_NTRIGGER_KINDS];
} rules_kind;

typedef struct rules rules;

/* How a rule reads engine state. Each function returns a new cJSON value the
 * caller (rules_act.c) frees, or NULL when there is nothing. */
typedef struct rules_state_ops {
    void *ud;
    cJSON *(*state_get)(void *ud, const char *ns, const char *key);
    /* The latest obligation of kind for subject: {id, kind, subject, status,
     * opened_at, starts_at, due_at, legal_limit?, closed_at?} with instants
     * as numbers (seconds since the epoch). */
    cJSON *(*obligation)(void *ud, const char *kind, const char *subject);
    /* The current data of a register entry. */
    cJSON *(*register_get)(void *ud, const char *name, const char *key);
} rules_state_ops;

/* A rule directory read once into memory: every *.lua file under it (rule
 * files and *_test.lua test files), in path order. The reload gate compiles,
 * checks and tests one such snapshot, so the set that goes live is built
 * from exactly the bytes that passed, whatever is written to the directory
 * meanwhile. */
typedef struct rules_file {
    char *path; /* dir/relative/path.lua */
    char *text; /* the whole file (not NUL-terminated; len bytes) */
    size_t len;
    int is_test; /* a *_test.lua file: tests, not rules */
} rules_file;

typedef struct rules_sources {
    char *dir; /* without a trailing '/' */
    rules_file *files;
    int n;
} rules_sources;

/* Reads every *.lua file under dir (8 levels deep at most; 4 MiB a file at
 * most). Returns 0, or a negative code with *err (may stay NULL when memory
 * ran out; caller frees). *out is empty on failure. */
int rules_sources_read(const char *dir, rules_sources *out, char **err);
void rules_sources_free(rules_sources *s);
/* The file read as path, or NULL. */
const rules_file *rules_sources_find(const rules_sources *s, const char *path);

/* Compiles the rule files of src (not its tests) into a sealed rule set;
 * the arguments and result as rules_load's. src may be freed afterwards. */
int rules_load_sources(const rules_sources *src, const cJSON *policy, const sandbox_limits *limits,
                       const plugins *plug, rules **out, char **err);

/* Reads dir (rules_sources_read) and compiles it (rules_load_sources).
 * Loads and compiles every rule file under dir. policy (borrowed, may be
 * NULL) is the configuration's policy object, read by the rules' policy()
 * calls. limits may be NULL. plugins (borrowed, may be NULL; must outlive
 * the rules) add obligation kinds and functions rules can call
 * (module.name(...)). Returns 0, or a negative code with *err (caller
 * frees) naming file:line and the problem. */
int rules_load(const char *dir, const cJSON *policy, const sandbox_limits *limits,
               const plugins *plug, rules **out, char **err);
void rules_free(rules *r);

/* The revision of the rule set: the first 16 hex digits of the SHA-256 of
 * every file's path within the directory and content, and of the policy:
 * the same files give the same revision wherever the directory lies (a
 * replay compares revisions). Borrowed. */
const char *rules_revision(const rules *r);
/* The rule files the set was compiled from, in load order (0 <= i <
 * rules_file_count): each path within the rule directory, and its bytes;
 * what the journal keeps per revision (journal_keep_ruleset) so the set
 * can be rebuilt. Borrowed. */
int rules_file_count(const rules *r);
const rules_file *rules_file_at(const rules *r, int i);
/* The policy the set was compiled with (borrowed; may be NULL). */
const cJSON *rules_policy_of(const rules *r);
const rules_kind *rules_kind_find(const rules *r, const char *name);
int rules_count(const rules *r);
int rules_kind_count(const rules *r);
/* The i-th obligation kind (0 <= i < rules_kind_count), borrowed from r. */
const rules_kind *rules_kind_at(const rules *r, int i);

/* Evaluates every rule subscribed to the event's type, in load order.
 * event is the validated CloudEvent (borrowed). Each successful rule's
 * decisions are appended to `decisions` (objects with "op" and "rule"); a
 * rule that fails adds none and appends {rule, file, line, message} to
 * `errors`. Returns 0, or OBLIGO_ENOMEM when C memory ran out. */
int rules_evaluate(rules *r, const cJSON *event, const rules_state_ops *ops, cJSON *decisions,
                   cJSON *errors);

/* The Lua value at idx as JSON (tables with keys 1..n become arrays); a
 * function or other value that has no JSON form raises a Lua error, so
 * call it inside a protected call. For `obligo test`, which reads test
 * declarations. Caller frees. */
cJSON *rules_lua_to_json(lua_State *L, int idx);

/* What the rule set declares, for `obligo check` and `obligo rules`:
 * {"rules": [{name, title, source, file, line, on: [types], first_line,
 * last_line}], "obligations": [{name, title, source, file, line}]} (title
 * and source "" when not declared), where first_line..last_line is the source of the rule's run
 * function. Caller frees. */
cJSON *rules_describe(const rules *r);

/* Converts a period to its due instant from `from` (periods.h), exposed for
 * actions that compute reminders. */
obligo_time rules_reminder_at(obligo_time due, period before);

#endif
