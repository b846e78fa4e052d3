/*
 * rules_internal.h — what the files of the rule set share and nothing else
 * includes: the rules object, the rules and dispatch table it holds, and
 * the functions one file gives another (rules.h is the public API).
 *
 * The rule set is one object split by seam: rules.c loads, seals and
 * evaluates, rules_sources.c reads a rule directory, rules_dsl.c holds the
 * declarations and the period, time and policy() functions, rules_act.c
 * the act and state tables a rule is handed, and rules_json.c the
 * conversion between Lua and JSON with the lazy event views. Every
 * function here that takes a lua_State runs inside a protected call and may
 * raise a Lua error, unless its comment says otherwise.
 */
#ifndef OBLIGO_RULES_INTERNAL_H
#define OBLIGO_RULES_INTERNAL_H

#include <lua.h>
#include <stdint.h>

#include "rules.h"

typedef struct rules_rule {
    char *name, *title, *source, *file;
    int line;
    char **on; /* event types */
    int non;
    int run_ref; /* luaL_ref to the run function */
} rules_rule;

/* Which rules an event type reaches, worked out once per type: the per
 * event cost is then a hash and one string comparison. */
#define RULES_DISPATCH_SLOTS 128
typedef struct rules_dispatch {
    char *type; /* NULL: an empty slot */
    uint32_t hash;
    int *rules; /* indexes of the subscribed rules, in load order */
    int nrules;
    int has_triggers; /* an obligation's opened_by/fulfilled_by/cancelled_by names it */
} rules_dispatch;

struct rules {
    sandbox *sb;
    rules_dispatch dispatch[RULES_DISPATCH_SLOTS];
    const cJSON *policy;
    rules_kind *kinds;
    int nkinds, capkinds;
    rules_rule *rules;
    int nrules, caprules;
    char revision[17];
    rules_file *kept; /* the rule files compiled, with paths within the directory */
    int nkept;
    int act_ref, state_ref; /* the act and state tables handed to run() */
    /* Evaluation context, valid during rules_evaluate only. */
    const rules_state_ops *ops;
    lua_Integer generation; /* of the event being judged; see rules_push_lazy */
    cJSON *policy_names;    /* every name policy() was asked for, for obligo check */
    cJSON *pending;         /* decisions of the rule running now */
    /* Containers being converted from Lua (rules_to_json): a Lua error may
     * unwind past the C code holding them, so they are kept here until
     * finished, and whatever is left after a call is freed. */
    cJSON *scratch;
    const char *current_rule;
    int oom;
    /* Load context: the first declaration error. */
    char *load_err;
    int loading;           /* the files are running: declarations are taken */
    uint64_t event_budget; /* instructions for all rules of one event together */
};

/* ---- rules.c ---------------------------------------------------------------- */

/* The rules object the state belongs to (borrowed). */
rules *rules_self(lua_State *L);
/* Pushes t[name] read raw (see rules.c); returns its Lua type. */
int rules_getfield(lua_State *L, int idx, const char *name);

/* ---- rules_dsl.c: declarations, periods, time and policy() ---------------- */

/* The globals rules_install_api sets (each is described where it is
 * defined). */
int rules_obligation(lua_State *L);
int rules_rule_decl(lua_State *L);
int rules_hours(lua_State *L);
int rules_days(lua_State *L);
int rules_months(lua_State *L);
int rules_years(lua_State *L);
int rules_before(lua_State *L);
int rules_time(lua_State *L);
int rules_fmt(lua_State *L);
int rules_due(lua_State *L);
int rules_back(lua_State *L);
int rules_policy(lua_State *L);
/* Reads the period at idx into *p; returns 0 when the value is not one. */
int rules_to_period(lua_State *L, int idx, period *p);
/* The instant at idx; raises naming `what` when it is not one. */
obligo_time rules_check_time(lua_State *L, int idx, const char *what);
/* Frees what k owns (not k itself). No Lua call. */
void rules_kind_clear(rules_kind *k);

/* ---- rules_act.c: the act and state tables --------------------------------- */

/* The members of the act and state tables (each is described where it is
 * defined). */
int rules_act_open(lua_State *L);
int rules_act_fulfil(lua_State *L);
int rules_act_cancel(lua_State *L);
int rules_act_extend(lua_State *L);
int rules_act_alert(lua_State *L);
int rules_act_register(lua_State *L);
int rules_act_set(lua_State *L);
int rules_state_get(lua_State *L);
int rules_state_obligation(lua_State *L);
int rules_state_register(lua_State *L);
/* Sets d[name] to the instant t, as a number. No Lua call. */
void rules_add_time(cJSON *d, const char *name, obligo_time t);

/* ---- rules_json.c: Lua <-> JSON and the lazy event views ------------------- */

/* Pushes v (borrowed) converted whole to Lua; nil past depth 64. */
void rules_push_json(lua_State *L, const cJSON *v, int depth);
/* Pushes a read-only view of v (borrowed; must outlive the current
 * generation of r). */
void rules_push_lazy(lua_State *L, rules *r, const cJSON *v);
/* Makes the views' metatable; once, while the API is installed. */
void rules_install_lazy(lua_State *L, rules *r);
/* The Lua value at idx as JSON (see rules_json.c); caller frees. */
cJSON *rules_to_json(lua_State *L, int idx, int depth);
/* Frees what interrupted conversions left in r->scratch. No Lua call. */
void rules_scratch_sweep(rules *r);

#endif
