/*
 * rules_act.c — the act and state tables handed to a rule's run function:
 * act.* checks what the rule passes and appends decisions (the shape
 * decision.h defines) to the rule's pending list; state.* reads engine state
 * through rules_state_ops.
 *
 * Installed by rules.c (rules_install_api); used only while rules_evaluate
 * runs a rule. Depends on rules_json.c for values a decision carries,
 * validate.c for the text check, and periods.c for due instants.
 */
#include "rules.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <string.h>

#include "decision.h"
#include "json.h"
#include "rules_internal.h"
#include "validate.h"

/* ---- act.*: the decisions a rule can make --------------------------------- */

static cJSON *rules_decision(lua_State *L, const char *op)
{
    rules *r = rules_self(L);
    cJSON *d = cJSON_CreateObject();
    if (!d || !cJSON_AddStringToObject(d, "op", op) ||
        !cJSON_AddStringToObject(d, "rule", r->current_rule ? r->current_rule : "") ||
        !cJSON_AddItemToArray(r->pending, d)) {
        cJSON_Delete(d);
        r->oom = 1;
        luaL_error(L, "out of memory");
    }
    return d;
}

/* What a decision may carry, as the API promises: well-formed UTF-8
 * without NUL bytes, and names and subjects of a bounded size. */
#define RULES_MAX_NAME 256      /* alert kinds, register names and keys, state ns/keys */
#define RULES_MAX_SUBJECT 1024  /* as an event's source */
#define RULES_MAX_MESSAGE 16384 /* alert messages, rationales, reasons */

/* The text argument at idx (a string or a number), checked; raises with
 * what the rule passed wrong, naming the argument, never quoting it. */
static const char *rules_text_arg(lua_State *L, int idx, const char *fn, const char *what,
                                  size_t max)
{
    size_t n;
    const char *s = luaL_checklstring(L, idx, &n);
    if (n == 0 || n > max)
        luaL_error(L, "%s: the %s must be 1 to %d bytes of text (got %d bytes)", fn, what, (int)max,
                   (int)n);
    long bad = validate_text_bad(s, n);
    if (bad >= 0)
        luaL_error(L, "%s: the %s %s (at byte %d): decisions carry UTF-8 text", fn, what,
                   s[bad] ? "is not valid UTF-8" : "contains a NUL byte", (int)bad);
    return s;
}

void rules_add_time(cJSON *d, const char *name, obligo_time t)
{
    cJSON_AddNumberToObject(d, name, (double)t);
}

/* The options table at idx may hold a time in `field`. */
static int rules_opt_time(lua_State *L, int idx, const char *field, obligo_time *t)
{
    if (!lua_istable(L, idx))
        return 0;
    rules_getfield(L, idx, field);
    int ok = 0;
    if (!lua_isnil(L, -1)) {
        char what[64];
        snprintf(what, sizeof what, "%s", field);
        *t = rules_check_time(L, -1, what);
        ok = 1;
    }
    lua_pop(L, 1);
    return ok;
}

static const rules_kind *rules_check_kind(lua_State *L, int idx)
{
    rules *r = rules_self(L);
    const char *kind = luaL_checkstring(L, idx);
    const rules_kind *k = rules_kind_find(r, kind);
    if (!k)
        luaL_error(L, "unknown obligation kind \"%s\" (declare it with obligation \"%s\" {...})",
                   kind, kind);
    return k;
}

static void rules_add_opt_text(lua_State *L, cJSON *d, int opts, const char *field)
{
    if (!lua_istable(L, opts))
        return;
    rules_getfield(L, opts, field);
    if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER)
        cJSON_AddStringToObject(d, field,
                                rules_text_arg(L, lua_gettop(L), "act", field, RULES_MAX_MESSAGE));
    lua_pop(L, 1);
}

static void rules_add_opt_data(lua_State *L, cJSON *d, int opts)
{
    if (!lua_istable(L, opts))
        return;
    rules_getfield(L, opts, "data");
    if (lua_istable(L, -1)) {
        cJSON *j = rules_to_json(L, -1, 0);
        if (json_put(d, "data", j)) {
            rules_self(L)->oom = 1;
            luaL_error(L, "out of memory");
        }
    }
    lua_pop(L, 1);
}

/* act.open(kind, subject, {from=t, due=period?, data=?}) — opens an
 * obligation due a period after `from` (default: the kind's period), or
 * re-arms the active one. */
int rules_act_open(lua_State *L)
{
    const rules_kind *k = rules_check_kind(L, 1);
    const char *subject = rules_text_arg(L, 2, "act", "subject", RULES_MAX_SUBJECT);
    obligo_time from;
    if (!rules_opt_time(L, 3, "from", &from))
        return luaL_error(L, "act.open(\"%s\", ...) needs { from = time }", k->name);
    period p = k->due;
    if (lua_istable(L, 3)) {
        rules_getfield(L, 3, "due");
        if (!lua_isnil(L, -1) && !rules_to_period(L, -1, &p))
            return luaL_error(L, "act.open: due must be a period such as days(14)");
        lua_pop(L, 1);
    }
    cJSON *d = rules_decision(L, DECISION_OPEN);
    obligo_time due = periods_due(from, p);
    cJSON_AddStringToObject(d, "kind", k->name);
    cJSON_AddStringToObject(d, "subject", subject);
    rules_add_time(d, "from", from);
    rules_add_time(d, "due_at", due);
    if (p.unit == PERIOD_HOURS)
        rules_add_time(d, "legal_limit", periods_legal_limit(from, p));
    cJSON *rem = cJSON_AddArrayToObject(d, "remind");
    for (int i = 0; rem && i < k->nreminders; i++)
        cJSON_AddItemToArray(rem,
                             cJSON_CreateNumber((double)rules_reminder_at(due, k->reminders[i])));
    if (k->once)
        cJSON_AddTrueToObject(d, "once");
    rules_add_opt_data(L, d, 3);
    return 0;
}

/* act.fulfil(kind, subject, {at=t}) */
int rules_act_fulfil(lua_State *L)
{
    const rules_kind *k = rules_check_kind(L, 1);
    const char *subject = rules_text_arg(L, 2, "act", "subject", RULES_MAX_SUBJECT);
    obligo_time at;
    if (!rules_opt_time(L, 3, "at", &at))
        return luaL_error(L, "act.fulfil(\"%s\", ...) needs { at = time }", k->name);
    cJSON *d = rules_decision(L, DECISION_FULFIL);
    cJSON_AddStringToObject(d, "kind", k->name);
    cJSON_AddStringToObject(d, "subject", subject);
    rules_add_time(d, "at", at);
    return 0;
}

/* act.cancel(kind, subject, {rationale=..., at=t?}) */
int rules_act_cancel(lua_State *L)
{
    const rules_kind *k = rules_check_kind(L, 1);
    const char *subject = rules_text_arg(L, 2, "act", "subject", RULES_MAX_SUBJECT);
    cJSON *d = rules_decision(L, DECISION_CANCEL);
    cJSON_AddStringToObject(d, "kind", k->name);
    cJSON_AddStringToObject(d, "subject", subject);
    obligo_time at;
    if (rules_opt_time(L, 3, "at", &at))
        rules_add_time(d, "at", at);
    rules_add_opt_text(L, d, 3, "rationale");
    return 0;
}

/* act.extend(kind, subject, {from=t, due=period, reason=...}) — moves the
 * active obligation's due instant to `due` counted from `from`. */
int rules_act_extend(lua_State *L)
{
    const rules_kind *k = rules_check_kind(L, 1);
    const char *subject = rules_text_arg(L, 2, "act", "subject", RULES_MAX_SUBJECT);
    obligo_time from;
    period p;
    if (!rules_opt_time(L, 3, "from", &from))
        return luaL_error(L, "act.extend(\"%s\", ...) needs { from = time, due = period }",
                          k->name);
    rules_getfield(L, 3, "due");
    if (!rules_to_period(L, -1, &p))
        return luaL_error(L, "act.extend: due must be a period such as months(3)");
    lua_pop(L, 1);
    cJSON *d = rules_decision(L, DECISION_EXTEND);
    obligo_time due = periods_due(from, p);
    cJSON_AddStringToObject(d, "kind", k->name);
    cJSON_AddStringToObject(d, "subject", subject);
    rules_add_time(d, "due_at", due);
    if (p.unit == PERIOD_HOURS)
        rules_add_time(d, "legal_limit", periods_legal_limit(from, p));
    cJSON *rem = cJSON_AddArrayToObject(d, "remind");
    for (int i = 0; rem && i < k->nreminders; i++)
        cJSON_AddItemToArray(rem,
                             cJSON_CreateNumber((double)rules_reminder_at(due, k->reminders[i])));
    rules_add_opt_text(L, d, 3, "reason");
    return 0;
}

/* act.alert(kind, subject, {severity=, message=, data=}) */
int rules_act_alert(lua_State *L)
{
    const char *kind = rules_text_arg(L, 1, "act.alert", "kind", RULES_MAX_NAME);
    const char *subject = rules_text_arg(L, 2, "act.alert", "subject", RULES_MAX_SUBJECT);
    luaL_checktype(L, 3, LUA_TTABLE);
    rules_getfield(L, 3, "severity");
    const char *sev = lua_tostring(L, -1);
    if (!sev ||
        (strcmp(sev, "info") != 0 && strcmp(sev, "warning") != 0 && strcmp(sev, "critical") != 0))
        return luaL_error(L,
                          "act.alert(\"%s\", ...): severity must be info, warning or "
                          "critical",
                          kind);
    rules_getfield(L, 3, "message");
    if (lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "act.alert(\"%s\", ...) needs a message", kind);
    rules_text_arg(L, lua_gettop(L), "act.alert", "message", RULES_MAX_MESSAGE);
    cJSON *d = rules_decision(L, DECISION_ALERT);
    cJSON_AddStringToObject(d, "kind", kind);
    cJSON_AddStringToObject(d, "subject", subject);
    cJSON_AddStringToObject(d, "severity", sev);
    cJSON_AddStringToObject(d, "message", lua_tostring(L, -1));
    lua_pop(L, 2);
    rules_add_opt_data(L, d, 3);
    return 0;
}

/* act.register(name, key, fields) — a new version of the entry with fields
 * merged into the current data. */
int rules_act_register(lua_State *L)
{
    const char *name = rules_text_arg(L, 1, "act.register", "register name", RULES_MAX_NAME);
    const char *key = rules_text_arg(L, 2, "act.register", "key", RULES_MAX_NAME);
    luaL_checktype(L, 3, LUA_TTABLE);
    /* the decision first: it is held by the pending list, the data is not */
    cJSON *d = rules_decision(L, DECISION_REGISTER);
    cJSON *data = rules_to_json(L, 3, 0);
    if (!data) {
        rules_self(L)->oom = 1;
        return luaL_error(L, "out of memory");
    }
    if (!cJSON_IsObject(data)) {
        cJSON_Delete(data);
        return luaL_error(L, "act.register: fields must be a table with names");
    }
    if (json_put(d, "data", data) || !cJSON_AddStringToObject(d, "register", name) ||
        !cJSON_AddStringToObject(d, "key", key)) {
        rules_self(L)->oom = 1;
        return luaL_error(L, "out of memory");
    }
    return 0;
}

/* act.set(ns, key, value) — rule state; value nil removes it. */
int rules_act_set(lua_State *L)
{
    const char *ns = rules_text_arg(L, 1, "act.set", "namespace", RULES_MAX_NAME);
    const char *key = rules_text_arg(L, 2, "act.set", "key", RULES_MAX_NAME);
    cJSON *d = rules_decision(L, DECISION_SET);
    cJSON *v = rules_to_json(L, 3, 0);
    if (!v) {
        rules_self(L)->oom = 1;
        return luaL_error(L, "out of memory");
    }
    if (json_put(d, "value", v) || !cJSON_AddStringToObject(d, "ns", ns) ||
        !cJSON_AddStringToObject(d, "key", key)) {
        rules_self(L)->oom = 1;
        return luaL_error(L, "out of memory");
    }
    return 0;
}

/* ---- state.*: what a rule may read ---------------------------------------- */

static int rules_push_owned_json(lua_State *L, cJSON *v)
{
    if (!v)
        return 0;
    rules_push_json(L, v, 0);
    cJSON_Delete(v);
    return 1;
}

int rules_state_get(lua_State *L)
{
    rules *r = rules_self(L);
    const char *ns = luaL_checkstring(L, 1), *key = luaL_checkstring(L, 2);
    if (!r->ops || !r->ops->state_get)
        return 0;
    return rules_push_owned_json(L, r->ops->state_get(r->ops->ud, ns, key));
}

int rules_state_obligation(lua_State *L)
{
    rules *r = rules_self(L);
    const char *kind = luaL_checkstring(L, 1), *subject = luaL_checkstring(L, 2);
    if (!r->ops || !r->ops->obligation)
        return 0;
    return rules_push_owned_json(L, r->ops->obligation(r->ops->ud, kind, subject));
}

int rules_state_register(lua_State *L)
{
    rules *r = rules_self(L);
    const char *name = luaL_checkstring(L, 1), *key = luaL_checkstring(L, 2);
    if (!r->ops || !r->ops->register_get)
        return 0;
    return rules_push_owned_json(L, r->ops->register_get(r->ops->ud, name, key));
}
