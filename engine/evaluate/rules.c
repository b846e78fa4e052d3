/*
 * rules.c — the rule DSL, loading a rule directory into one sandbox, and
 * evaluating an event into decisions (rules.h).
 *
 * Depends on sandbox.c (the Lua state and its limits), periods.c (due
 * instants), cJSON (events in, decisions out) and libcrypto (the revision
 * hash). Lua values held by C are kept only through luaL_ref and released in
 * rules_free.
 */
#include "rules.h"

#include <ctype.h>
#include <math.h>
#include <dirent.h>
#include <lauxlib.h>
#include <lua.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "decision.h"
#include "json.h"
#include "error.h"
#include "validate.h"

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

static const char RULES_KEY[] = "obligo.rules";

/* The instructions all rules of one event may use together. The pack's
 * heaviest event uses less than a tenth of it (README, "Rules: limits"). */
#define RULES_DEFAULT_EVENT_BUDGET UINT64_C(20000000)
static const char PERIOD_TAG[] = "obligo.period";

static rules *rules_self(lua_State *L)
{
    rules *r;
    lua_getfield(L, LUA_REGISTRYINDEX, RULES_KEY);
    r = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return r;
}

/* t[name] without running rule code: the contents of a frozen table or an
 * event view (sandbox_push_contents), read raw; a non-table gives nil. The
 * declarations and act.* read the tables rules hand them this way, so no
 * rule code runs while C holds a pointer into the rule set. */
static int rules_getfield(lua_State *L, int idx, const char *name)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE) {
        lua_pushnil(L);
        return LUA_TNIL;
    }
    sandbox_push_contents(L, idx);
    lua_pushstring(L, name);
    int t = lua_rawget(L, -2);
    lua_remove(L, -2);
    return t;
}

/* ---- periods as Lua values ------------------------------------------------ */

static int rules_push_period(lua_State *L, period_unit unit)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    if (n < 0 || n > 1000000)
        return luaL_error(L, "a period must be between 0 and 1000000, got %d", (int)n);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, unit);
    lua_setfield(L, -2, "unit");
    lua_pushinteger(L, n);
    lua_setfield(L, -2, "n");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, PERIOD_TAG);
    return 1;
}

static int rules_hours(lua_State *L)
{
    return rules_push_period(L, PERIOD_HOURS);
}
static int rules_days(lua_State *L)
{
    return rules_push_period(L, PERIOD_DAYS);
}
static int rules_months(lua_State *L)
{
    return rules_push_period(L, PERIOD_MONTHS);
}
static int rules_years(lua_State *L)
{
    return rules_push_period(L, PERIOD_YEARS);
}

/* Reads the period at idx; returns 0 when the value is not one. */
static int rules_to_period(lua_State *L, int idx, period *p)
{
    if (!lua_istable(L, idx))
        return 0;
    idx = lua_absindex(L, idx);
    rules_getfield(L, idx, PERIOD_TAG);
    int ok = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (!ok)
        return 0;
    rules_getfield(L, idx, "unit");
    rules_getfield(L, idx, "n");
    p->unit = (period_unit)lua_tointeger(L, -2);
    p->n = lua_tointeger(L, -1);
    lua_pop(L, 2);
    return 1;
}

static int rules_before(lua_State *L)
{
    period p;
    if (!rules_to_period(L, 1, &p))
        return luaL_error(L, "before() takes a period such as hours(24)");
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "before");
    return 1;
}

/* ---- time helpers --------------------------------------------------------- */

/* An instant from a Lua value: a number (seconds) or RFC 3339 / date text. */
static int rules_to_time(lua_State *L, int idx, obligo_time *t)
{
    if (lua_type(L, idx) == LUA_TNUMBER) {
        *t = (obligo_time)lua_tointeger(L, idx);
        return 1;
    }
    if (lua_type(L, idx) == LUA_TSTRING)
        return clock_parse_any(lua_tostring(L, idx), t) == 0;
    return 0;
}

static obligo_time rules_check_time(lua_State *L, int idx, const char *what)
{
    obligo_time t;
    if (!rules_to_time(L, idx, &t))
        luaL_error(L, "%s must be a time (RFC 3339 text or seconds), got %s", what,
                   lua_type(L, idx) == LUA_TSTRING ? "text that is not a time"
                                                   : luaL_typename(L, idx));
    return t;
}

/* time(s): seconds since the epoch for RFC 3339 text, nil when it is not. */
static int rules_time(lua_State *L)
{
    obligo_time t;
    if (!rules_to_time(L, 1, &t))
        return 0;
    lua_pushinteger(L, t);
    return 1;
}

/* fmt(t): "dd-mm-jjjj uu:mm" in Europe/Amsterdam, for messages. */
static int rules_fmt(lua_State *L)
{
    obligo_time t = rules_check_time(L, 1, "fmt(t)");
    civil c;
    clock_to_ams(t, &c);
    char buf[40];
    snprintf(buf, sizeof buf, "%02d-%02d-%04d %02d:%02d", c.day, c.month, c.year, c.hour, c.min);
    lua_pushstring(L, buf);
    return 1;
}

/* due(from, period): the due instant, counted as periods.h says. */
static int rules_due(lua_State *L)
{
    obligo_time from = rules_check_time(L, 1, "due(from, period)");
    period p;
    if (!rules_to_period(L, 2, &p))
        return luaL_error(L, "due(from, period): the second argument must be a period");
    lua_pushinteger(L, periods_due(from, p));
    return 1;
}

/* back(t, period): the instant a period before t (days and years keep the
 * Amsterdam wall-clock time). */
static int rules_back(lua_State *L)
{
    obligo_time t = rules_check_time(L, 1, "back(t, period)");
    period p;
    if (!rules_to_period(L, 2, &p))
        return luaL_error(L, "back(t, period): the second argument must be a period");
    if (p.unit == PERIOD_MONTHS)
        return luaL_error(L, "back(t, period): months are counted forwards only");
    p.n = -p.n;
    lua_pushinteger(L, periods_due(t, p));
    return 1;
}

/* policy(name, default): the configured value, else the default. */
static int rules_policy(lua_State *L)
{
    rules *r = rules_self(L);
    const char *name = luaL_checkstring(L, 1);
    if (r->policy_names && !cJSON_GetObjectItemCaseSensitive(r->policy_names, name))
        cJSON_AddTrueToObject(r->policy_names, name);
    const cJSON *v = r->policy ? cJSON_GetObjectItemCaseSensitive(r->policy, name) : NULL;
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == (double)(lua_Integer)d)
            lua_pushinteger(L, (lua_Integer)d);
        else
            lua_pushnumber(L, d);
    } else if (cJSON_IsString(v)) {
        lua_pushstring(L, v->valuestring);
    } else if (cJSON_IsBool(v)) {
        lua_pushboolean(L, cJSON_IsTrue(v));
    } else {
        lua_settop(L, 2);
    }
    return 1;
}

/* ---- JSON <-> Lua --------------------------------------------------------- */

static void rules_push_json(lua_State *L, const cJSON *v, int depth)
{
    if (depth > 64) {
        lua_pushnil(L);
        return;
    }
    if (cJSON_IsString(v)) {
        lua_pushstring(L, v->valuestring);
    } else if (cJSON_IsBool(v)) {
        lua_pushboolean(L, cJSON_IsTrue(v));
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d >= -9007199254740992.0 && d <= 9007199254740992.0 && d == (double)(int64_t)d)
            lua_pushinteger(L, (lua_Integer)d);
        else
            lua_pushnumber(L, d);
    } else if (cJSON_IsArray(v)) {
        lua_createtable(L, cJSON_GetArraySize(v), 0);
        int i = 1;
        for (const cJSON *c = v->child; c; c = c->next) {
            rules_push_json(L, c, depth + 1);
            lua_rawseti(L, -2, i++);
        }
    } else if (cJSON_IsObject(v)) {
        lua_createtable(L, 0, 8);
        for (const cJSON *c = v->child; c; c = c->next) {
            rules_push_json(L, c, depth + 1);
            lua_setfield(L, -2, c->string);
        }
    } else {
        lua_pushnil(L);
    }
}

/* ---- events as lazy, read-only views -------------------------------------
 *
 * A rule reads a handful of an event's fields, so the event is not converted
 * to Lua whole: each object or array of it becomes a view, an empty table
 * whose members are converted on first use and kept in a hidden cache. The
 * view holds its cJSON node, the cache and the generation it belongs to
 * under light-userdata keys no rule can spell. Every rule gets views of its
 * own (the generation moves on before each rule), so nothing one rule does
 * with the event reaches another: the views are read-only (__newindex
 * raises; no string or integer key is ever set in the view itself, so every
 * assignment reaches __newindex), and a view kept past its rule refuses to
 * be read instead of touching freed memory. pairs, next, # and act.* see the
 * whole node through the cache (SANDBOX_CONTENTS). */

static const char RULES_LAZY_META = 0, RULES_LAZY_NODE = 0, RULES_LAZY_GEN = 0,
                  RULES_LAZY_CACHE = 0;

static void rules_push_lazy(lua_State *L, rules *r, const cJSON *v);

/* The node of the view at idx, or NULL when it is not one. Raises a Lua
 * error for a view of a rule that has finished. */
static const cJSON *rules_lazy_node(lua_State *L, rules *r, int idx)
{
    if (lua_type(L, idx) != LUA_TTABLE)
        return NULL;
    lua_rawgetp(L, idx, &RULES_LAZY_NODE);
    const cJSON *node = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (!node)
        return NULL;
    lua_rawgetp(L, idx, &RULES_LAZY_GEN);
    lua_Integer gen = lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (gen != r->generation)
        luaL_error(L, "an event can only be read while the rule it was given to runs");
    return node;
}

/* Converts the members not converted yet into the cache and pushes it. */
static void rules_lazy_fill(lua_State *L, rules *r, int idx)
{
    idx = lua_absindex(L, idx);
    const cJSON *node = rules_lazy_node(L, r, idx);
    lua_rawgetp(L, idx, &RULES_LAZY_CACHE);
    int cache = lua_gettop(L);
    lua_Integer i = 1;
    for (const cJSON *c = node ? node->child : NULL; c; c = c->next, i++) {
        if (cJSON_IsArray(node)) {
            if (lua_rawgeti(L, cache, i) == LUA_TNIL) {
                lua_pop(L, 1);
                rules_push_lazy(L, r, c);
                lua_rawseti(L, cache, i);
            } else {
                lua_pop(L, 1);
            }
            continue;
        }
        lua_pushstring(L, c->string);
        if (lua_rawget(L, cache) == LUA_TNIL && !cJSON_IsNull(c)) {
            lua_pop(L, 1);
            lua_pushstring(L, c->string);
            rules_push_lazy(L, r, c);
            lua_rawset(L, cache);
        } else {
            lua_pop(L, 1);
        }
    }
    sandbox_charge(L, (uint64_t)i * 4);
}

static int rules_lazy_index(lua_State *L)
{
    rules *r = lua_touserdata(L, lua_upvalueindex(1)); /* no registry lookup per read */
    const cJSON *node = rules_lazy_node(L, r, 1);
    if (!node)
        return 0;
    if (cJSON_IsArray(node)) { /* arrays are read whole: # and ipairs go through them */
        rules_lazy_fill(L, r, 1);
        lua_pushvalue(L, 2);
        lua_rawget(L, -2);
        return 1;
    }
    if (lua_type(L, 2) != LUA_TSTRING)
        return 0;
    lua_rawgetp(L, 1, &RULES_LAZY_CACHE);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(node, lua_tostring(L, 2));
    if (!v || cJSON_IsNull(v))
        return 0;
    rules_push_lazy(L, r, v);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, -2);
    lua_rawset(L, -4); /* the next read is a cache hit */
    return 1;
}

static int rules_lazy_newindex(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TSTRING)
        return luaL_error(L,
                          "the event is read-only (cannot set %s): a rule sees the event as it "
                          "was received; use a local variable",
                          lua_tostring(L, 2));
    return luaL_error(L, "the event is read-only: a rule sees the event as it was received; use "
                         "a local variable");
}

/* SANDBOX_CONTENTS of a view: the filled cache. */
static int rules_lazy_contents(lua_State *L)
{
    rules_lazy_fill(L, lua_touserdata(L, lua_upvalueindex(1)), 1);
    return 1;
}

static int rules_lazy_len(lua_State *L)
{
    rules_lazy_fill(L, lua_touserdata(L, lua_upvalueindex(1)), 1);
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
    return 1;
}

static void rules_push_lazy(lua_State *L, rules *r, const cJSON *v)
{
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v)) {
        rules_push_json(L, v, 1); /* scalars */
        return;
    }
    lua_createtable(L, 0, 4);
    lua_pushlightuserdata(L, (void *)v);
    lua_rawsetp(L, -2, &RULES_LAZY_NODE);
    lua_pushinteger(L, r->generation);
    lua_rawsetp(L, -2, &RULES_LAZY_GEN);
    lua_createtable(L, 0, 0);
    lua_rawsetp(L, -2, &RULES_LAZY_CACHE);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &RULES_LAZY_META);
    lua_setmetatable(L, -2);
}

static void rules_install_lazy(lua_State *L, rules *r)
{
    lua_createtable(L, 0, 5);
    lua_pushlightuserdata(L, r);
    lua_pushcclosure(L, rules_lazy_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, rules_lazy_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushlightuserdata(L, r);
    lua_pushcclosure(L, rules_lazy_len, 1);
    lua_setfield(L, -2, "__len");
    lua_pushlightuserdata(L, r);
    lua_pushcclosure(L, rules_lazy_contents, 1);
    lua_setfield(L, -2, SANDBOX_CONTENTS);
    lua_pushliteral(L, "event"); /* getmetatable(e) says what it is; setmetatable refuses */
    lua_setfield(L, -2, "__metatable");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &RULES_LAZY_META);
}

/* A container rules_to_json could not finish (out of memory): left to the
 * scratch sweep when it is held there, freed now otherwise. */
static cJSON *rules_to_json_fail(rules *r, cJSON *out)
{
    if (!r)
        cJSON_Delete(out);
    return NULL;
}

/* What one conversion has built so far, against its bounds: a table built
 * as t = {t, t} doubles with every level, so depth alone bounds nothing. */
#define RULES_RECORD_MAX_VALUES 100000
#define RULES_RECORD_MAX_BYTES ((size_t)1 << 20)

typedef struct rules_record {
    long values;
    size_t bytes;
} rules_record;

/* Counts a value of n bytes of text; raises when the bounds are passed.
 * The work is charged to the rule's budget like work done in Lua. */
static void rules_record_count(lua_State *L, rules_record *rec, size_t n)
{
    rec->values++;
    rec->bytes += n + 8;
    sandbox_charge(L, 4 + (n >> 5));
    if (rec->values > RULES_RECORD_MAX_VALUES)
        luaL_error(L,
                   "value too large to record: more than %d values (a table that holds the "
                   "same table many times?)",
                   RULES_RECORD_MAX_VALUES);
    if (rec->bytes > RULES_RECORD_MAX_BYTES)
        luaL_error(L, "value too large to record: more than %d bytes", (int)RULES_RECORD_MAX_BYTES);
}

/* Raises unless s (n bytes) is text a decision may carry: well-formed
 * UTF-8 without NUL bytes. what names it in the message. */
static void rules_check_utf8(lua_State *L, const char *s, size_t n, const char *what)
{
    long bad = validate_text_bad(s, n);
    if (bad >= 0)
        luaL_error(L, "%s %s (at byte %d): decisions carry UTF-8 text", what,
                   s[bad] ? "is not valid UTF-8" : "contains a NUL byte", (int)bad);
}

/* An event view converts as the node it shows: the journaled JSON, exact. */
static cJSON *rules_view_to_json(lua_State *L, const cJSON *node, rules_record *rec)
{
    /* count what the node holds first (counting may raise), so a view is
     * charged as a table would be */
    const cJSON *stack[64];
    int top = 0;
    stack[top++] = node;
    while (top > 0) {
        const cJSON *v = stack[--top];
        rules_record_count(L, rec, cJSON_IsString(v) ? strlen(v->valuestring) : 0);
        for (const cJSON *c = v->child; c; c = c->next) {
            if (top < 64)
                stack[top++] = c;
            else
                rules_record_count(L, rec, 0);
        }
    }
    return cJSON_Duplicate(node, 1);
}

static cJSON *rules_to_json_at(lua_State *L, int idx, int depth, rules_record *rec);

/* Converts the Lua value at idx to JSON: tables with keys 1..n become
 * arrays, others objects with string keys, in sorted key order so the
 * same value always gives the same text. Raises a Lua error for functions
 * and the like, text that is not UTF-8, and values past the bounds above,
 * so a rule author learns which value was wrong; returns NULL when memory
 * runs out. A container is held in r->scratch while it is built, so a
 * raise leaks nothing (rules_scratch_sweep). */
static cJSON *rules_to_json(lua_State *L, int idx, int depth)
{
    rules_record rec = {0};
    return rules_to_json_at(L, idx, depth, &rec);
}

static cJSON *rules_to_json_at(lua_State *L, int idx, int depth, rules_record *rec)
{
    idx = lua_absindex(L, idx);
    if (depth > 32)
        luaL_error(L, "value nested too deeply to record");
    luaL_checkstack(L, 8, "recording a value");
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        rules_record_count(L, rec, 0);
        return cJSON_CreateNull();
    case LUA_TBOOLEAN:
        rules_record_count(L, rec, 0);
        return cJSON_CreateBool(lua_toboolean(L, idx));
    case LUA_TNUMBER: {
        rules_record_count(L, rec, 0);
        lua_Number d = lua_tonumber(L, idx);
        if (!isfinite(d))
            luaL_error(L, "a number that is not finite (nan or inf) cannot be recorded");
        return cJSON_CreateNumber(d);
    }
    case LUA_TSTRING: {
        size_t n;
        const char *str = lua_tolstring(L, idx, &n);
        rules_record_count(L, rec, n);
        rules_check_utf8(L, str, n, "a text");
        return cJSON_CreateString(str);
    }
    case LUA_TTABLE: {
        rules *r = rules_self(L); /* may raise: before anything is held */
        const cJSON *node = r ? rules_lazy_node(L, r, idx) : NULL;
        if (node)
            return rules_view_to_json(L, node, rec);
        sandbox_push_contents(L, idx); /* a frozen table shows its contents */
        int src = lua_gettop(L);
        lua_Integer n = (lua_Integer)lua_rawlen(L, src);
        /* An array when every key is 1..n; an empty table is an empty list
         * (rules write {} for "none yet"). */
        lua_Integer count = 0;
        lua_pushnil(L);
        while (lua_next(L, src)) {
            count++;
            lua_pop(L, 1);
        }
        sandbox_charge(L, (uint64_t)count);
        int is_array = count == n;
        cJSON *out = is_array ? cJSON_CreateArray() : cJSON_CreateObject();
        if (!out)
            return NULL;
        if (r)
            cJSON_AddItemToArray(r->scratch, out);
        rules_record_count(L, rec, 0); /* may raise: out is held by the scratch list */
        if (is_array) {
            for (lua_Integer i = 1; i <= n; i++) {
                lua_rawgeti(L, src, i);
                cJSON *c = rules_to_json_at(L, -1, depth + 1, rec);
                lua_pop(L, 1);
                if (!c)
                    return rules_to_json_fail(r, out);
                cJSON_AddItemToArray(out, c);
            }
            lua_settop(L, src - 1);
            return r ? cJSON_DetachItemViaPointer(r->scratch, out) : out;
        }
        sandbox_push_sorted_keys(L, src, 1); /* keys that are not text or numbers are left out */
        int keys = lua_gettop(L);
        lua_Integer nkeys = (lua_Integer)lua_rawlen(L, keys);
        for (lua_Integer i = 1; i <= nkeys; i++) {
            lua_rawgeti(L, keys, i);
            lua_pushvalue(L, -1);
            lua_rawget(L, src);
            if (lua_type(L, -1) == LUA_TFUNCTION) {
                lua_pop(L, 2);
                continue;
            }
            char keybuf[32];
            const char *key;
            size_t klen;
            if (lua_type(L, -2) == LUA_TSTRING) {
                key = lua_tolstring(L, -2, &klen);
                rules_check_utf8(L, key, klen, "a name");
            } else if (lua_type(L, -2) == LUA_TNUMBER) {
                snprintf(keybuf, sizeof keybuf, "%lld", (long long)lua_tointeger(L, -2));
                key = keybuf;
                klen = strlen(key);
            } else {
                lua_pop(L, 2);
                continue;
            }
            rules_record_count(L, rec, klen);
            cJSON *c = rules_to_json_at(L, -1, depth + 1, rec);
            if (!c)
                return rules_to_json_fail(r, out);
            if (json_put(out, key, c))
                return rules_to_json_fail(r, out);
            lua_pop(L, 2);
        }
        lua_settop(L, src - 1);
        return r ? cJSON_DetachItemViaPointer(r->scratch, out) : out;
    }
    default:
        luaL_error(L, "a %s cannot be recorded in a decision", luaL_typename(L, idx));
        return NULL;
    }
}

cJSON *rules_lua_to_json(lua_State *L, int idx)
{
    return rules_to_json(L, idx, 0);
}

/* Frees what conversions interrupted by a Lua error left in r->scratch. */
static void rules_scratch_sweep(rules *r)
{
    while (r->scratch->child)
        cJSON_Delete(cJSON_DetachItemViaPointer(r->scratch, r->scratch->child));
}

/* ---- declarations: obligation "x" {...} and rule "x" {...} --------------- */

static char *rules_opt_string(lua_State *L, int tbl, const char *field)
{
    rules_getfield(L, tbl, field);
    char *s = lua_type(L, -1) == LUA_TSTRING ? obligo_strdup(lua_tostring(L, -1)) : NULL;
    lua_pop(L, 1);
    return s;
}

/* Where the declaration is written: the caller of the curried function. */
static void rules_where(lua_State *L, char **file, int *line)
{
    lua_Debug ar;
    *file = NULL;
    *line = 0;
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar)) {
        *file = obligo_strdup(ar.source[0] == '@' ? ar.source + 1 : ar.short_src);
        *line = ar.currentline;
    }
}

static void rules_kind_clear(rules_kind *k)
{
    for (int t = 0; t < RULES_NTRIGGER_KINDS; t++) {
        for (int i = 0; i < k->ntriggers[t]; i++) {
            rules_trigger *tr = &k->triggers[t][i];
            obligo_free(tr->on);
            obligo_free(tr->subject);
            obligo_free(tr->at);
            obligo_free(tr->rationale);
        }
        k->ntriggers[t] = 0;
    }
    obligo_free(k->name);
    obligo_free(k->title);
    obligo_free(k->source);
    obligo_free(k->file);
}

/* The fields of a trigger table, in the order rules_push_triggers pushes
 * them. */
static const char *const rules_trigger_fields[] = {"on", "subject", "at", "rationale"};
#define RULES_TRIGGER_NFIELDS 4

/* A trigger field (at idx) is nil, one trigger table, or a list of them.
 * Pushes the fields of each (rules_trigger_fields, nil when absent) and
 * returns how many triggers, or -1 when malformed. Only Lua values are
 * made here, so a Lua error (out of memory) leaves nothing to free. */
static int rules_push_triggers(lua_State *L, int idx)
{
    if (lua_isnil(L, idx))
        return 0;
    if (!lua_istable(L, idx))
        return -1;
    rules_getfield(L, idx, "on");
    int single = !lua_isnil(L, -1);
    lua_pop(L, 1);
    int n = single ? 1 : (int)lua_rawlen(L, idx);
    if (n < 1 || n > RULES_MAX_TRIGGERS)
        return -1;
    luaL_checkstack(L, RULES_MAX_TRIGGERS * RULES_TRIGGER_NFIELDS + 2, "reading triggers");
    for (int i = 1; i <= n; i++) {
        if (!single)
            lua_rawgeti(L, idx, i);
        int at = single ? idx : lua_gettop(L);
        if (!lua_istable(L, at))
            return -1;
        for (int f = 0; f < RULES_TRIGGER_NFIELDS; f++) {
            rules_getfield(L, at, rules_trigger_fields[f]);
            if (lua_type(L, -1) != LUA_TSTRING && (f < 2 || !lua_isnil(L, -1)))
                return -1; /* on and subject are needed; at and rationale are text */
        }
        if (!single)
            lua_remove(L, at);
    }
    return n;
}

/* Copies the trigger fields pushed by rules_push_triggers (from stack index
 * first on) into k. No Lua call: nothing can raise while k owns copies.
 * Returns 0, or -1 when memory ran out (k keeps what was copied). */
static int rules_copy_triggers(lua_State *L, int first, int n, rules_kind *k, rules_trigger_kind t)
{
    for (int i = 0; i < n; i++) {
        rules_trigger *tr = &k->triggers[t][k->ntriggers[t]++];
        char **slots[RULES_TRIGGER_NFIELDS] = {&tr->on, &tr->subject, &tr->at, &tr->rationale};
        for (int f = 0; f < RULES_TRIGGER_NFIELDS; f++) {
            int at = first + i * RULES_TRIGGER_NFIELDS + f;
            *slots[f] = lua_type(L, at) == LUA_TSTRING ? obligo_strdup(lua_tostring(L, at)) : NULL;
            if (lua_type(L, at) == LUA_TSTRING && !*slots[f])
                return -1;
        }
    }
    return 0;
}

/* Declarations grow the arrays of kinds and rules, which the evaluator
 * walks; they are taken only while the files load. Their tables are read
 * raw (rules_getfield), so no rule code runs while one is taken. */
static void rules_check_loading(lua_State *L, rules *r, const char *what, const char *name)
{
    if (!r->loading)
        luaL_error(L,
                   "%s \"%s\" can only be declared at the top of a rule file, not while an event "
                   "is judged",
                   what, name);
}

static int rules_declare_obligation(lua_State *L)
{
    rules *r = rules_self(L);
    const char *name = lua_tostring(L, lua_upvalueindex(1));
    rules_check_loading(L, r, "obligation", name);
    luaL_checktype(L, 1, LUA_TTABLE);
    for (int i = 0; i < r->nkinds; i++)
        if (strcmp(r->kinds[i].name, name) == 0)
            return luaL_error(L, "obligation \"%s\" is declared twice (first at %s:%d)", name,
                              r->kinds[i].file, r->kinds[i].line);
    rules_kind k;
    memset(&k, 0, sizeof k);
    rules_getfield(L, 1, "due");
    if (!rules_to_period(L, -1, &k.due))
        return luaL_error(L,
                          "obligation \"%s\" needs due = hours(n), days(n), months(n) or "
                          "years(n)",
                          name);
    lua_pop(L, 1);
    rules_getfield(L, 1, "remind");
    if (lua_istable(L, -1)) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
        if (n > RULES_MAX_REMINDERS)
            return luaL_error(L, "obligation \"%s\": at most %d reminders", name,
                              RULES_MAX_REMINDERS);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, i);
            rules_getfield(L, -1, "before");
            if (!rules_to_period(L, -1, &k.reminders[k.nreminders]))
                return luaL_error(L, "obligation \"%s\": remind entries are before(period)", name);
            k.nreminders++;
            lua_pop(L, 2);
        }
    } else if (!lua_isnil(L, -1)) {
        return luaL_error(L, "obligation \"%s\": remind must be a list of before(period)", name);
    }
    lua_pop(L, 1);
    rules_getfield(L, 1, "once");
    k.once = lua_toboolean(L, -1);
    lua_pop(L, 1);
    rules_getfield(L, 1, "periodic");
    k.periodic = lua_toboolean(L, -1);
    lua_pop(L, 1);
    rules_getfield(L, 1, "title");
    rules_getfield(L, 1, "source");
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "obligation \"%s\" needs a title and a legal source", name);
    int title = lua_gettop(L) - 1, source = lua_gettop(L);
    /* Every Lua value is read first; only then are the C copies made, with
     * no Lua call between them and storing k, so no error can leak them. */
    static const char *const trigger_fields[RULES_NTRIGGER_KINDS] = {"opened_by", "fulfilled_by",
                                                                     "cancelled_by"};
    int first[RULES_NTRIGGER_KINDS], count[RULES_NTRIGGER_KINDS];
    for (int t = 0; t < RULES_NTRIGGER_KINDS; t++) {
        rules_getfield(L, 1, trigger_fields[t]);
        int field = lua_gettop(L);
        count[t] = rules_push_triggers(L, field);
        if (count[t] < 0)
            return luaL_error(L,
                              "obligation \"%s\": %s must be { on = \"event.type\", "
                              "subject = \"data.field\" } or a list of at most %d of them",
                              name, trigger_fields[t], RULES_MAX_TRIGGERS);
        lua_remove(L, field);
        first[t] = lua_gettop(L) - count[t] * RULES_TRIGGER_NFIELDS + 1;
    }
    lua_Debug ar;
    const char *file = NULL;
    int line = 0;
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar)) {
        file = ar.source[0] == '@' ? ar.source + 1 : ar.short_src;
        line = ar.currentline;
    }
    if (r->nkinds == r->capkinds) {
        int cap = r->capkinds ? r->capkinds * 2 : 16;
        rules_kind *nk = obligo_realloc(r->kinds, (size_t)cap * sizeof *nk);
        if (!nk)
            return luaL_error(L, "out of memory");
        r->kinds = nk;
        r->capkinds = cap;
    }
    int oom = 0;
    for (int t = 0; t < RULES_NTRIGGER_KINDS; t++)
        oom |= rules_copy_triggers(L, first[t], count[t], &k, (rules_trigger_kind)t);
    k.name = obligo_strdup(name);
    k.title = obligo_strdup(lua_tostring(L, title));
    k.source = obligo_strdup(lua_tostring(L, source));
    k.file = file ? obligo_strdup(file) : NULL;
    k.line = line;
    if (oom || !k.name || !k.title || !k.source || (file && !k.file)) {
        rules_kind_clear(&k);
        return luaL_error(L, "out of memory");
    }
    r->kinds[r->nkinds++] = k;
    return 0;
}

static int rules_declare_rule(lua_State *L)
{
    rules *r = rules_self(L);
    const char *name = lua_tostring(L, lua_upvalueindex(1));
    rules_check_loading(L, r, "rule", name);
    luaL_checktype(L, 1, LUA_TTABLE);
    for (int i = 0; i < r->nrules; i++)
        if (strcmp(r->rules[i].name, name) == 0)
            return luaL_error(L, "rule \"%s\" is declared twice (first at %s:%d)", name,
                              r->rules[i].file, r->rules[i].line);
    rules_getfield(L, 1, "run");
    if (!lua_isfunction(L, -1))
        return luaL_error(L, "rule \"%s\" needs run = function(e, act, state) ... end", name);
    lua_pop(L, 1);
    rules_getfield(L, 1, "title");
    rules_getfield(L, 1, "source");
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "rule \"%s\" needs a title and a legal source", name);
    lua_pop(L, 2);
    /* on = "type" or { "type", ... } */
    rules_getfield(L, 1, "on");
    int non = 0;
    if (lua_type(L, -1) == LUA_TSTRING)
        non = 1;
    else if (lua_istable(L, -1))
        non = (int)lua_rawlen(L, -1);
    if (non < 1 || non > 64)
        return luaL_error(L, "rule \"%s\" needs on = \"event.type\" or a list of types", name);
    if (r->nrules == r->caprules) {
        int cap = r->caprules ? r->caprules * 2 : 16;
        rules_rule *nr = obligo_realloc(r->rules, (size_t)cap * sizeof *nr);
        if (!nr)
            return luaL_error(L, "out of memory");
        r->rules = nr;
        r->caprules = cap;
    }
    rules_rule *rr = &r->rules[r->nrules];
    memset(rr, 0, sizeof *rr);
    rr->run_ref = LUA_NOREF;
    rr->on = obligo_calloc((size_t)non, sizeof *rr->on);
    if (!rr->on)
        return luaL_error(L, "out of memory");
    r->nrules++; /* from here on rules_free releases what is filled in */
    if (lua_type(L, -1) == LUA_TSTRING) {
        rr->on[rr->non++] = obligo_strdup(lua_tostring(L, -1));
    } else {
        for (int i = 1; i <= non; i++) {
            lua_rawgeti(L, -1, i);
            if (lua_type(L, -1) != LUA_TSTRING)
                return luaL_error(L, "rule \"%s\": on[%d] must be an event type", name, i);
            rr->on[rr->non++] = obligo_strdup(lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    rr->name = obligo_strdup(name);
    rr->title = rules_opt_string(L, 1, "title");
    rr->source = rules_opt_string(L, 1, "source");
    rules_where(L, &rr->file, &rr->line);
    rules_getfield(L, 1, "run");
    rr->run_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* obligation "name" returns the function that takes the table. */
static int rules_curry(lua_State *L, lua_CFunction f, const char *what)
{
    const char *name = luaL_checkstring(L, 1);
    if (!*name)
        return luaL_error(L, "%s needs a name", what);
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, f, 1);
    return 1;
}

static int rules_obligation(lua_State *L)
{
    return rules_curry(L, rules_declare_obligation, "obligation");
}

static int rules_rule_decl(lua_State *L)
{
    return rules_curry(L, rules_declare_rule, "rule");
}

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

static void rules_add_time(cJSON *d, const char *name, obligo_time t)
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
static int rules_act_open(lua_State *L)
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
static int rules_act_fulfil(lua_State *L)
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
static int rules_act_cancel(lua_State *L)
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
static int rules_act_extend(lua_State *L)
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
static int rules_act_alert(lua_State *L)
{
    const char *kind = rules_text_arg(L, 1, "act.alert", "kind", RULES_MAX_NAME);
    const char *subject = rules_text_arg(L, 2, "act.alert", "subject", RULES_MAX_SUBJECT);
    luaL_checktype(L, 3, LUA_TTABLE);
    rules_getfield(L, 3, "severity");
    const char *sev = lua_tostring(L, -1);
    if (!sev || (strcmp(sev, "info") && strcmp(sev, "warning") && strcmp(sev, "critical")))
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
static int rules_act_register(lua_State *L)
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
static int rules_act_set(lua_State *L)
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

static int rules_state_get(lua_State *L)
{
    rules *r = rules_self(L);
    const char *ns = luaL_checkstring(L, 1), *key = luaL_checkstring(L, 2);
    if (!r->ops || !r->ops->state_get)
        return 0;
    return rules_push_owned_json(L, r->ops->state_get(r->ops->ud, ns, key));
}

static int rules_state_obligation(lua_State *L)
{
    rules *r = rules_self(L);
    const char *kind = luaL_checkstring(L, 1), *subject = luaL_checkstring(L, 2);
    if (!r->ops || !r->ops->obligation)
        return 0;
    return rules_push_owned_json(L, r->ops->obligation(r->ops->ud, kind, subject));
}

static int rules_state_register(lua_State *L)
{
    rules *r = rules_self(L);
    const char *name = luaL_checkstring(L, 1), *key = luaL_checkstring(L, 2);
    if (!r->ops || !r->ops->register_get)
        return 0;
    return rules_push_owned_json(L, r->ops->register_get(r->ops->ud, name, key));
}

/* ---- loading -------------------------------------------------------------- */

typedef struct rules_files {
    char **path;
    int n, cap;
} rules_files;

static int rules_ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int rules_scan(const char *dir, rules_files *f, int depth)
{
    if (depth > 8)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return OBLIGO_EIO;
    struct dirent *ent;
    int rc = 0;
    while (!rc && (ent = readdir(d))) {
        if (ent->d_name[0] == '.')
            continue;
        char *p = obligo_asprintf("%s/%s", dir, ent->d_name);
        if (!p) {
            rc = OBLIGO_ENOMEM;
            break;
        }
        struct stat sb;
        if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            rc = rules_scan(p, f, depth + 1);
            obligo_free(p);
        } else if (rules_ends_with(p, ".lua")) {
            if (f->n == f->cap) {
                int cap = f->cap ? f->cap * 2 : 16;
                char **np = obligo_realloc(f->path, (size_t)cap * sizeof *np);
                if (!np) {
                    obligo_free(p);
                    rc = OBLIGO_ENOMEM;
                    break;
                }
                f->path = np;
                f->cap = cap;
            }
            f->path[f->n++] = p;
        } else {
            obligo_free(p);
        }
    }
    closedir(d);
    return rc;
}

static int rules_cmp_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void rules_set_fn(lua_State *L, int tbl, const char *name, lua_CFunction f)
{
    lua_pushcfunction(L, f);
    lua_setfield(L, tbl, name);
}

/* ---- setup under a protected call ---------------------------------------------
 *
 * The Lua API raises on a failed allocation, and a raise outside a protected
 * call aborts the process. Setup that touches the state therefore runs as a
 * C function under lua_pcall. */

typedef struct rules_protected_call {
    int (*fn)(rules *r, const void *arg, char **err);
    rules *r;
    const void *arg;
    char **err;
    int rc;
} rules_protected_call;

static int rules_protected_trampoline(lua_State *L)
{
    rules_protected_call *c = lua_touserdata(L, 1);
    c->rc = c->fn(c->r, c->arg, c->err);
    return 0;
}

/* Runs fn(r, arg, err) under a protected call: fn's own result, or
 * OBLIGO_ENOMEM when Lua ran out of memory on the way. */
static int rules_protected(rules *r, int (*fn)(rules *, const void *, char **), const void *arg,
                           char **err)
{
    lua_State *L = sandbox_state(r->sb);
    rules_protected_call c = {.fn = fn, .r = r, .arg = arg, .err = err};
    lua_pushcfunction(L, rules_protected_trampoline);
    lua_pushlightuserdata(L, &c);
    int status = lua_pcall(L, 1, 0, 0);
    if (status == LUA_OK)
        return c.rc;
    lua_pop(L, 1);
    return status == LUA_ERRMEM ? OBLIGO_ENOMEM : OBLIGO_EINVAL;
}

static int rules_install_api(rules *r, const void *unused, char **err)
{
    (void)unused;
    (void)err;
    lua_State *L = sandbox_state(r->sb);
    lua_pushlightuserdata(L, r);
    lua_setfield(L, LUA_REGISTRYINDEX, RULES_KEY);
    rules_install_lazy(L, r);
    lua_pushglobaltable(L);
    int g = lua_gettop(L);
    rules_set_fn(L, g, "obligation", rules_obligation);
    rules_set_fn(L, g, "rule", rules_rule_decl);
    rules_set_fn(L, g, "hours", rules_hours);
    rules_set_fn(L, g, "days", rules_days);
    rules_set_fn(L, g, "months", rules_months);
    rules_set_fn(L, g, "years", rules_years);
    rules_set_fn(L, g, "before", rules_before);
    rules_set_fn(L, g, "time", rules_time);
    rules_set_fn(L, g, "fmt", rules_fmt);
    rules_set_fn(L, g, "due", rules_due);
    rules_set_fn(L, g, "back", rules_back);
    rules_set_fn(L, g, "policy", rules_policy);
    lua_pop(L, 1);

    lua_createtable(L, 0, 8);
    int a = lua_gettop(L);
    rules_set_fn(L, a, "open", rules_act_open);
    rules_set_fn(L, a, "fulfil", rules_act_fulfil);
    rules_set_fn(L, a, "cancel", rules_act_cancel);
    rules_set_fn(L, a, "extend", rules_act_extend);
    rules_set_fn(L, a, "alert", rules_act_alert);
    rules_set_fn(L, a, "register", rules_act_register);
    rules_set_fn(L, a, "set", rules_act_set);
    sandbox_freeze_table(L, a, "act");
    r->act_ref = luaL_ref(L, LUA_REGISTRYINDEX);

    lua_createtable(L, 0, 4);
    int s = lua_gettop(L);
    rules_set_fn(L, s, "get", rules_state_get);
    rules_set_fn(L, s, "obligation", rules_state_obligation);
    rules_set_fn(L, s, "register", rules_state_register);
    sandbox_freeze_table(L, s, "state");
    r->state_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

static char *rules_format_error(const sandbox_error *e)
{
    if (e->file && e->line > 0)
        return obligo_asprintf("%s:%d: %s", e->file, e->line, e->message ? e->message : "error");
    if (e->file)
        return obligo_asprintf("%s: %s", e->file, e->message ? e->message : "error");
    return obligo_strdup(e->message ? e->message : "error");
}

/* The whole of a rule file, read once: the bytes hashed into the revision
 * are the bytes compiled. Returns 0, OBLIGO_EIO or OBLIGO_ENOMEM. */
#define RULES_MAX_FILE_BYTES ((size_t)4 << 20)
static int rules_read_file(const char *path, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return OBLIGO_EIO;
    size_t cap = 8192, n = 0;
    char *buf = obligo_malloc(cap);
    int rc = buf ? 0 : OBLIGO_ENOMEM;
    while (!rc) {
        if (n == cap) {
            char *nb = cap < RULES_MAX_FILE_BYTES ? obligo_realloc(buf, cap * 2) : NULL;
            if (!nb) {
                rc = cap < RULES_MAX_FILE_BYTES ? OBLIGO_ENOMEM : OBLIGO_EIO;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0) {
            rc = ferror(fp) ? OBLIGO_EIO : 0;
            break;
        }
    }
    fclose(fp);
    if (rc) {
        obligo_free(buf);
        return rc;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* Records the names a file passes to policy("name", ...) as a literal, so
 * `obligo check` knows every policy the rules read, also those read only
 * inside run or a helper (which never runs at load). */
static void rules_scan_policy(rules *r, const char *text, size_t len)
{
    static const char word[] = "policy";
    for (size_t i = 0; i + sizeof word < len; i++) {
        if (memcmp(text + i, word, sizeof word - 1) != 0)
            continue;
        if (i > 0 && (isalnum((unsigned char)text[i - 1]) || text[i - 1] == '_' ||
                      text[i - 1] == '.' || text[i - 1] == ':'))
            continue;
        size_t j = i + sizeof word - 1;
        while (j < len && (text[j] == ' ' || text[j] == '\t'))
            j++;
        if (j >= len || text[j] != '(')
            continue;
        j++;
        while (j < len && (text[j] == ' ' || text[j] == '\t'))
            j++;
        if (j >= len || (text[j] != '"' && text[j] != '\''))
            continue;
        char quote = text[j++];
        size_t start = j;
        while (j < len && text[j] != quote && text[j] != '\\' && text[j] != '\n' && j - start < 200)
            j++;
        if (j >= len || text[j] != quote || j == start)
            continue;
        char name[201];
        memcpy(name, text + start, j - start);
        name[j - start] = '\0';
        if (!cJSON_GetObjectItemCaseSensitive(r->policy_names, name))
            cJSON_AddTrueToObject(r->policy_names, name);
    }
}

/* A plugin's function as rules see it: arguments and result cross the ABI
 * as JSON text, so plugins never depend on Lua's own ABI. */
static int rules_plugin_call(lua_State *L)
{
    const plugins_rule_function *f = lua_touserdata(L, lua_upvalueindex(1));
    int n = lua_gettop(L);
    lua_createtable(L, n, 0);
    for (int i = 1; i <= n; i++) {
        lua_pushvalue(L, i);
        lua_rawseti(L, -2, i);
    }
    cJSON *args = rules_to_json(L, -1, 0);
    lua_pop(L, 1);
    if (cJSON_IsObject(args) && !args->child) { /* an empty table: no arguments */
        cJSON_Delete(args);
        args = cJSON_CreateArray();
    }
    char *text = args ? cJSON_PrintUnformatted(args) : NULL;
    cJSON_Delete(args);
    if (!text)
        return luaL_error(L, "out of memory");
    char *result = NULL, *error = NULL;
    int rc = plugins_call_rule(f, text, &result, &error);
    cJSON_free(text);
    if (rc != 0) {
        lua_pushfstring(L, "%s.%s: %s", f->module, f->name, error ? error : "failed");
        obligo_free(error);
        obligo_free(result);
        return lua_error(L);
    }
    obligo_free(error);
    cJSON *v = result ? cJSON_Parse(result) : NULL;
    obligo_free(result);
    if (!v)
        return 0;
    rules_push_json(L, v, 0);
    cJSON_Delete(v);
    return 1;
}

/* Plugins' obligation kinds and functions join the rule set before any rule
 * file runs, so files can use them and cannot redeclare them. */
static int rules_add_plugins(rules *r, const void *plug, char **err)
{
    const plugins *p = plug;
    int n = 0;
    const obligo_obligation_kind *kinds = plugins_obligation_kinds(p, &n);
    for (int i = 0; i < n; i++) {
        if (r->nkinds == r->capkinds) {
            int cap = r->capkinds ? r->capkinds * 2 : 16;
            rules_kind *nk = obligo_realloc(r->kinds, (size_t)cap * sizeof *nk);
            if (!nk)
                return OBLIGO_ENOMEM;
            r->kinds = nk;
            r->capkinds = cap;
        }
        rules_kind k;
        memset(&k, 0, sizeof k);
        k.name = obligo_strdup(kinds[i].name);
        k.title = obligo_strdup(kinds[i].title);
        k.source = obligo_strdup(kinds[i].source);
        k.file = obligo_strdup("(plugin)");
        k.due.unit = (period_unit)kinds[i].due_unit;
        k.due.n = kinds[i].due_n;
        k.once = kinds[i].once;
        r->kinds[r->nkinds++] = k;
        if (!k.name || !k.title || !k.source || !k.file)
            return OBLIGO_ENOMEM;
    }
    const plugins_rule_function *fns = plugins_rule_functions(p, &n);
    lua_State *L = sandbox_state(r->sb);
    for (int i = 0; i < n; i++) {
        lua_getglobal(L, fns[i].module);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushvalue(L, -1);
            lua_setglobal(L, fns[i].module);
        } else if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            *err = obligo_asprintf("plugin %s: rule function %s.%s: the name %s is taken",
                                   fns[i].plugin, fns[i].module, fns[i].name, fns[i].module);
            return OBLIGO_EINVAL;
        }
        lua_pushlightuserdata(L, (void *)&fns[i]);
        lua_pushcclosure(L, rules_plugin_call, 1);
        lua_setfield(L, -2, fns[i].name);
        lua_pop(L, 1);
    }
    return 0;
}

/* Seals the loaded rule set (sandbox_freeze), with the rules' run functions
 * as the roots of what is frozen. */
static int rules_seal_protected(rules *r, const void *unused, char **err)
{
    (void)unused;
    lua_State *L = sandbox_state(r->sb);
    lua_createtable(L, 0, r->nrules);
    for (int i = 0; i < r->nrules; i++) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->rules[i].run_ref);
        lua_setfield(L, -2, r->rules[i].name);
    }
    char *why = NULL;
    int rc = sandbox_freeze(r->sb, lua_gettop(L), &why);
    lua_pop(L, 1);
    if (rc == OBLIGO_ERULE) {
        *err = obligo_asprintf("rules: %s", why);
        obligo_free(why);
    }
    return rc;
}

static int rules_seal(rules *r, char **err)
{
    return rules_protected(r, rules_seal_protected, NULL, err);
}

int rules_sources_read(const char *dir, rules_sources *out, char **err)
{
    memset(out, 0, sizeof *out);
    *err = NULL;
    /* "rules/" and "rules" are the same directory; keep paths in messages
     * free of "//" */
    char *clean = obligo_strdup(dir);
    if (!clean)
        return OBLIGO_ENOMEM;
    for (size_t n = strlen(clean); n > 1 && clean[n - 1] == '/'; n--)
        clean[n - 1] = '\0';
    rules_files files = {0};
    int rc = rules_scan(clean, &files, 0);
    out->dir = clean;
    if (rc == OBLIGO_EIO)
        *err = obligo_asprintf("%s: cannot read the rules directory", dir);
    if (!rc && files.n) {
        qsort(files.path, (size_t)files.n, sizeof *files.path, rules_cmp_path);
        out->files = obligo_calloc((size_t)files.n, sizeof *out->files);
        rc = out->files ? 0 : OBLIGO_ENOMEM;
    }
    for (int i = 0; !rc && i < files.n; i++) {
        rules_file *f = &out->files[out->n++];
        f->path = files.path[i];
        files.path[i] = NULL;
        f->is_test = rules_ends_with(f->path, "_test.lua");
        rc = rules_read_file(f->path, &f->text, &f->len);
        if (rc == OBLIGO_EIO)
            *err = obligo_asprintf("%s: cannot read the rule file", f->path);
    }
    for (int i = 0; i < files.n; i++)
        obligo_free(files.path[i]);
    obligo_free(files.path);
    if (rc)
        rules_sources_free(out);
    return rc;
}

void rules_sources_free(rules_sources *s)
{
    for (int i = 0; i < s->n; i++) {
        obligo_free(s->files[i].path);
        obligo_free(s->files[i].text);
    }
    obligo_free(s->files);
    obligo_free(s->dir);
    memset(s, 0, sizeof *s);
}

const rules_file *rules_sources_find(const rules_sources *s, const char *path)
{
    for (int i = 0; path && i < s->n; i++)
        if (strcmp(s->files[i].path, path) == 0)
            return &s->files[i];
    return NULL;
}

int rules_load(const char *dir, const cJSON *policy, const sandbox_limits *limits,
               const plugins *plug, rules **out, char **err)
{
    rules_sources src;
    *out = NULL;
    int rc = rules_sources_read(dir, &src, err);
    if (!rc)
        rc = rules_load_sources(&src, policy, limits, plug, out, err);
    rules_sources_free(&src);
    return rc;
}

int rules_load_sources(const rules_sources *src, const cJSON *policy, const sandbox_limits *limits,
                       const plugins *plug, rules **out, char **err)
{
    *err = NULL;
    *out = NULL;
    rules *r = obligo_calloc(1, sizeof *r);
    if (!r)
        return OBLIGO_ENOMEM;
    r->policy = policy;
    r->event_budget = limits && limits->event_instructions ? limits->event_instructions
                                                           : RULES_DEFAULT_EVENT_BUDGET;
    r->act_ref = r->state_ref = LUA_NOREF;
    r->policy_names = cJSON_CreateObject();
    r->scratch = cJSON_CreateArray();
    int rc = r->policy_names && r->scratch ? sandbox_new(limits, &r->sb) : OBLIGO_ENOMEM;
    if (rc) {
        cJSON_Delete(r->policy_names);
        cJSON_Delete(r->scratch);
        obligo_free(r);
        return rc;
    }
    if ((rc = rules_protected(r, rules_install_api, NULL, err)))
        goto fail;
    if (plug && (rc = rules_protected(r, rules_add_plugins, plug, err)))
        goto fail;
    /* The DSL and the plugins' modules become standard names: read-only. */
    if ((rc = sandbox_protect_globals(r->sb)))
        goto fail;

    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md) {
        rc = OBLIGO_ENOMEM;
        goto fail;
    }
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    r->loading = 1;
    /* The bytes hashed into the revision are the bytes compiled. */
    for (int i = 0; i < src->n; i++) {
        const rules_file *f = &src->files[i];
        if (f->is_test)
            continue;
        EVP_DigestUpdate(md, f->path, strlen(f->path) + 1);
        EVP_DigestUpdate(md, f->text, f->len);
        rules_scan_policy(r, f->text, f->len);
        sandbox_error se = {0};
        if ((rc = sandbox_load_buffer(r->sb, f->text, f->len, f->path, &se)) == 0)
            rc = sandbox_call(r->sb, 0, 0, &se);
        if (rc) {
            *err = rules_format_error(&se);
            sandbox_error_clear(&se);
            EVP_MD_CTX_free(md);
            rc = OBLIGO_ERULE;
            goto fail;
        }
    }
    r->loading = 0;
    rules_scratch_sweep(r); /* what a failed declaration left */
    if ((rc = rules_seal(r, err))) {
        EVP_MD_CTX_free(md);
        goto fail;
    }
    /* the policy values judge events as much as the files do */
    char *policy_text = policy ? cJSON_PrintUnformatted(policy) : NULL;
    if (policy_text)
        EVP_DigestUpdate(md, policy_text, strlen(policy_text));
    cJSON_free(policy_text);
    unsigned char digest[32];
    unsigned int dlen = 0;
    EVP_DigestFinal_ex(md, digest, &dlen);
    EVP_MD_CTX_free(md);
    for (int i = 0; i < 8; i++)
        snprintf(r->revision + 2 * i, 3, "%02x", digest[i]);
    *out = r;
    return 0;
fail:
    rules_free(r);
    return rc;
}

void rules_free(rules *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->nkinds; i++)
        rules_kind_clear(&r->kinds[i]);
    obligo_free(r->kinds);
    for (int i = 0; i < r->nrules; i++) {
        rules_rule *rr = &r->rules[i];
        for (int j = 0; j < rr->non; j++)
            obligo_free(rr->on[j]);
        obligo_free(rr->on);
        obligo_free(rr->name);
        obligo_free(rr->title);
        obligo_free(rr->source);
        obligo_free(rr->file);
    }
    obligo_free(r->rules);
    obligo_free(r->load_err);
    cJSON_Delete(r->policy_names);
    cJSON_Delete(r->scratch);
    for (int i = 0; i < RULES_DISPATCH_SLOTS; i++) {
        obligo_free(r->dispatch[i].type);
        obligo_free(r->dispatch[i].rules);
    }
    sandbox_free(r->sb); /* releases every luaL_ref with the state */
    obligo_free(r);
}

const char *rules_revision(const rules *r)
{
    return r->revision;
}

int rules_count(const rules *r)
{
    return r->nrules;
}

cJSON *rules_describe(const rules *r)
{
    lua_State *L = sandbox_state(r->sb);
    cJSON *out = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(out, "rules");
    for (int i = 0; list && i < r->nrules; i++) {
        const rules_rule *rr = &r->rules[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", rr->name);
        cJSON_AddStringToObject(o, "file", rr->file ? rr->file : "");
        cJSON_AddNumberToObject(o, "line", rr->line);
        cJSON *on = cJSON_AddArrayToObject(o, "on");
        for (int j = 0; j < rr->non; j++)
            cJSON_AddItemToArray(on, cJSON_CreateString(rr->on[j]));
        lua_Debug ar;
        lua_rawgeti(L, LUA_REGISTRYINDEX, rr->run_ref);
        if (lua_getinfo(L, ">S", &ar)) {
            cJSON_AddNumberToObject(o, "first_line", ar.linedefined);
            cJSON_AddNumberToObject(o, "last_line", ar.lastlinedefined);
        }
        cJSON_AddItemToArray(list, o);
    }
    cJSON *names = cJSON_AddArrayToObject(out, "policies");
    for (const cJSON *n = r->policy_names ? r->policy_names->child : NULL; names && n; n = n->next)
        cJSON_AddItemToArray(names, cJSON_CreateString(n->string));
    cJSON *kinds = cJSON_AddArrayToObject(out, "obligations");
    for (int i = 0; kinds && i < r->nkinds; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", r->kinds[i].name);
        cJSON_AddStringToObject(o, "file", r->kinds[i].file ? r->kinds[i].file : "");
        cJSON_AddNumberToObject(o, "line", r->kinds[i].line);
        cJSON_AddItemToArray(kinds, o);
    }
    return out;
}

int rules_kind_count(const rules *r)
{
    return r->nkinds;
}

const rules_kind *rules_kind_find(const rules *r, const char *name)
{
    for (int i = 0; i < r->nkinds; i++)
        if (strcmp(r->kinds[i].name, name) == 0)
            return &r->kinds[i];
    return NULL;
}

obligo_time rules_reminder_at(obligo_time due, period before)
{
    return periods_before(due, before);
}

/* ---- evaluation ----------------------------------------------------------- */

static int rules_subscribed(const rules_rule *rr, const char *type)
{
    for (int i = 0; i < rr->non; i++)
        if (strcmp(rr->on[i], type) == 0 || strcmp(rr->on[i], "*") == 0)
            return 1;
    return 0;
}

/* Appends {rule, file, line, message} to errors. Every member is there or
 * the call fails: the engine turns each error into an alert and reads them
 * all. Returns 0 or OBLIGO_ENOMEM (nothing appended). */
static int rules_error_add(cJSON *errors, const char *rule, const char *file, int line,
                           const char *message)
{
    cJSON *e = cJSON_CreateObject();
    if (!e || !cJSON_AddStringToObject(e, "rule", rule) ||
        !cJSON_AddStringToObject(e, "file", file ? file : "") ||
        !cJSON_AddNumberToObject(e, "line", line) ||
        !cJSON_AddStringToObject(e, "message", message ? message : "error") ||
        !cJSON_AddItemToArray(errors, e)) {
        cJSON_Delete(e);
        return OBLIGO_ENOMEM;
    }
    return 0;
}

static int rules_add_error(cJSON *errors, const rules_rule *rr, const sandbox_error *se)
{
    return rules_error_add(errors, rr->name, se->file ? se->file : rr->file,
                           se->line > 0 ? se->line : rr->line, se->message);
}

/* The value at a dotted path such as "data.user.id"; NULL when absent. */
static const cJSON *rules_path(const cJSON *event, const char *path)
{
    const cJSON *v = event;
    char part[128];
    while (v && *path) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        if (len >= sizeof part)
            return NULL;
        memcpy(part, path, len);
        part[len] = '\0';
        v = cJSON_GetObjectItemCaseSensitive(v, part);
        path += len + (dot ? 1 : 0);
    }
    return v;
}

static const char *rules_path_text(const cJSON *event, const char *path, char *buf, size_t n)
{
    const cJSON *v = rules_path(event, path);
    if (cJSON_IsString(v))
        return v->valuestring;
    if (cJSON_IsNumber(v)) {
        snprintf(buf, n, "%.17g", v->valuedouble);
        return buf;
    }
    return NULL;
}

/* One decision of a declarative trigger; a trigger whose subject or instant
 * is missing from the event is reported like a failing rule. */
static int rules_trigger_decision(const rules_kind *k, rules_trigger_kind t,
                                  const rules_trigger *tr, const cJSON *event, cJSON *decisions,
                                  cJSON *errors)
{
    static const char *const suffix[RULES_NTRIGGER_KINDS] = {"opened_by", "fulfilled_by",
                                                             "cancelled_by"};
    char rule[256], nbuf[64];
    snprintf(rule, sizeof rule, "%s.%s", k->name, suffix[t]);
    const char *subject = rules_path_text(event, tr->subject, nbuf, sizeof nbuf);
    const char *at_text = tr->at ? rules_path_text(event, tr->at, NULL, 0)
                                 : cJSON_GetObjectItemCaseSensitive(event, "time")->valuestring;
    obligo_time at = 0;
    if (!subject || !at_text || clock_parse_any(at_text, &at))
        return rules_error_add(errors, rule, k->file, k->line,
                               !subject ? "the event has no subject at the path the "
                                          "obligation names"
                                        : "the event has no valid time at the path the "
                                          "obligation names");
    cJSON *d = cJSON_CreateObject();
    if (!d)
        return OBLIGO_ENOMEM;
    /* A periodic duty's fulfilling event starts the next period: "open"
     * re-arms an open obligation and renews an overdue one. */
    int open = t == RULES_OPENED_BY || (t == RULES_FULFILLED_BY && k->periodic);
    cJSON_AddStringToObject(d, "op",
                            open                      ? DECISION_OPEN
                            : t == RULES_FULFILLED_BY ? DECISION_FULFIL
                                                      : DECISION_CANCEL);
    cJSON_AddStringToObject(d, "rule", rule);
    cJSON_AddStringToObject(d, "kind", k->name);
    cJSON_AddStringToObject(d, "subject", subject);
    if (open) {
        obligo_time due = periods_due(at, k->due);
        rules_add_time(d, "from", at);
        rules_add_time(d, "due_at", due);
        if (k->due.unit == PERIOD_HOURS)
            rules_add_time(d, "legal_limit", periods_legal_limit(at, k->due));
        cJSON *rem = cJSON_AddArrayToObject(d, "remind");
        for (int i = 0; rem && i < k->nreminders; i++)
            cJSON_AddItemToArray(
                rem, cJSON_CreateNumber((double)rules_reminder_at(due, k->reminders[i])));
        if (k->once)
            cJSON_AddTrueToObject(d, "once");
        /* A trigger's duty runs from the latest event that opens or renews
         * it, whatever order events arrive in: an older one must not move
         * an active obligation back (obligations.c honours "latest"). */
        cJSON_AddTrueToObject(d, "latest");
    } else {
        rules_add_time(d, "at", at);
        if (tr->rationale) {
            const char *why = rules_path_text(event, tr->rationale, nbuf, sizeof nbuf);
            cJSON_AddStringToObject(d, "rationale", why ? why : tr->rationale);
        }
    }
    cJSON_AddItemToArray(decisions, d);
    return 0;
}

static uint32_t rules_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int rules_has_trigger(const rules *r, const char *type)
{
    for (int i = 0; i < r->nkinds; i++)
        for (int t = 0; t < RULES_NTRIGGER_KINDS; t++)
            for (int j = 0; j < r->kinds[i].ntriggers[t]; j++)
                if (strcmp(r->kinds[i].triggers[t][j].on, type) == 0)
                    return 1;
    return 0;
}

/* The dispatch entry of a type, built on first sight; NULL when the table
 * is full or memory ran out (the caller then scans, as before). */
static const rules_dispatch *rules_dispatch_for(rules *r, const char *type)
{
    uint32_t h = rules_hash(type);
    for (int probe = 0; probe < RULES_DISPATCH_SLOTS; probe++) {
        rules_dispatch *d = &r->dispatch[(h + (uint32_t)probe) % RULES_DISPATCH_SLOTS];
        if (d->type && d->hash == h && strcmp(d->type, type) == 0)
            return d;
        if (d->type)
            continue;
        int n = 0;
        int *idx = obligo_malloc(sizeof *idx * (size_t)(r->nrules ? r->nrules : 1));
        char *copy = obligo_strdup(type);
        if (!idx || !copy) {
            obligo_free(idx);
            obligo_free(copy);
            return NULL;
        }
        for (int i = 0; i < r->nrules; i++)
            if (rules_subscribed(&r->rules[i], type))
                idx[n++] = i;
        *d = (rules_dispatch){copy, h, idx, n, rules_has_trigger(r, type)};
        return d;
    }
    return NULL;
}

static int rules_declarative(rules *r, const cJSON *event, const char *type, cJSON *decisions,
                             cJSON *errors)
{
    for (int i = 0; i < r->nkinds; i++) {
        const rules_kind *k = &r->kinds[i];
        for (int t = 0; t < RULES_NTRIGGER_KINDS; t++) {
            for (int j = 0; j < k->ntriggers[t]; j++) {
                const rules_trigger *tr = &k->triggers[t][j];
                if (strcmp(tr->on, type) != 0)
                    continue;
                int rc =
                    rules_trigger_decision(k, (rules_trigger_kind)t, tr, event, decisions, errors);
                if (rc)
                    return rc;
            }
        }
    }
    return 0;
}

static int rules_push_event_unprotected(lua_State *L)
{
    rules_push_lazy(L, lua_touserdata(L, 1), lua_touserdata(L, 2));
    return 1;
}

/* Pushes the event's lazy table. Making it allocates, and Lua raises on a
 * failed allocation, so it is made under a protected call: outside one a
 * raise would abort the process. A state at its cap is collected and tried
 * once more. Returns 0 or OBLIGO_ENOMEM (nothing pushed). */
static int rules_push_event(lua_State *L, rules *r, const cJSON *event)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        lua_pushcfunction(L, rules_push_event_unprotected);
        lua_pushlightuserdata(L, r);
        lua_pushlightuserdata(L, (void *)event);
        if (lua_pcall(L, 2, 1, 0) == LUA_OK)
            return 0;
        lua_pop(L, 1); /* the error object */
        lua_gc(L, LUA_GCCOLLECT);
    }
    return OBLIGO_ENOMEM;
}

int rules_evaluate(rules *r, const cJSON *event, const rules_state_ops *ops, cJSON *decisions,
                   cJSON *errors)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(event, "type");
    if (!cJSON_IsString(type))
        return 0;
    const rules_dispatch *dispatch = rules_dispatch_for(r, type->valuestring);
    if (!dispatch || dispatch->has_triggers) {
        int drc = rules_declarative(r, event, type->valuestring, decisions, errors);
        if (drc)
            return drc;
    }
    lua_State *L = sandbox_state(r->sb);
    int top = lua_gettop(L);
    int rc = 0;
    r->ops = ops;
    int nrun = dispatch ? dispatch->nrules : r->nrules;
    /* The event's budget is shared out before any rule runs, evenly among
     * the rules it reaches: together they cannot use more, and no rule can
     * spend what another was given. */
    int nsub = 0;
    for (int n = 0; n < nrun; n++)
        nsub += dispatch || rules_subscribed(&r->rules[n], type->valuestring);
    uint64_t share = nsub ? r->event_budget / (uint64_t)nsub : 0;
    sandbox_set_budget(r->sb, share && share < sandbox_budget(r->sb) ? share : 0);
    for (int n = 0; n < nrun && !rc; n++) {
        /* An index, not a pointer: rule code runs before it is used again. */
        int ri = dispatch ? dispatch->rules[n] : n;
        if (!dispatch && !rules_subscribed(&r->rules[ri], type->valuestring))
            continue;
        r->generation++; /* each rule gets views of its own (rules_push_lazy) */
        if ((rc = rules_push_event(L, r, event)))
            break;
        int event_at = lua_gettop(L);
        r->pending = cJSON_CreateArray();
        if (!r->pending) {
            rc = OBLIGO_ENOMEM;
            break;
        }
        r->current_rule = r->rules[ri].name;
        r->oom = 0;
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->rules[ri].run_ref);
        lua_pushvalue(L, event_at);
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->act_ref);
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->state_ref);
        sandbox_error se = {0};
        int crc = sandbox_call(r->sb, 3, 0, &se);
        char *changed = NULL;
        if (sandbox_restore(r->sb, &changed) && crc == 0) {
            /* The rule assigned a file-level variable: put back, and the
             * rule fails, or the next event would see what this one left. */
            char *msg = obligo_asprintf(
                "rule \"%s\" assigned the file-level variable '%s' while an event was "
                "judged: a rule may not keep anything between events (use a local variable "
                "inside run, or act.set and state.get); its decisions are left out",
                r->rules[ri].name, changed ? changed : "?");
            sandbox_error_clear(&se);
            se.message = msg;
            crc = msg ? OBLIGO_ERULE : OBLIGO_ENOMEM;
        }
        obligo_free(changed);
        if (crc == 0) {
            /* the rule's decisions count only when it finished */
            cJSON *d;
            while ((d = cJSON_DetachItemFromArray(r->pending, 0)))
                cJSON_AddItemToArray(decisions, d);
        } else {
            if (r->oom || crc == OBLIGO_ENOMEM)
                rc = OBLIGO_ENOMEM;
            else if (rules_add_error(errors, &r->rules[ri], &se))
                rc = OBLIGO_ENOMEM;
            sandbox_error_clear(&se);
        }
        cJSON_Delete(r->pending);
        r->pending = NULL;
        r->current_rule = NULL;
        rules_scratch_sweep(r);
        lua_settop(L, top);
    }
    sandbox_set_budget(r->sb, 0);
    r->ops = NULL;
    r->generation++; /* this event's views are no longer readable */
    lua_settop(L, top);
    return rc;
}
