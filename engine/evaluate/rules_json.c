/*
 * rules_json.c — values between Lua and JSON for the rule set: JSON pushed
 * whole into Lua, events shown to rules as lazy read-only views, and Lua
 * values recorded as JSON within bounds (rules_to_json, rules_lua_to_json).
 *
 * Used by rules.c (events and plugin calls) and rules_act.c (what a decision
 * carries). Depends on sandbox.c (contents of frozen tables, the budget),
 * validate.c (UTF-8) and json.c.
 */
#include "rules.h"

#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "rules_internal.h"
#include "validate.h"

/* ---- JSON <-> Lua --------------------------------------------------------- */

void rules_push_json(lua_State *L, const cJSON *v, int depth)
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

void rules_push_lazy(lua_State *L, rules *r, const cJSON *v)
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

void rules_install_lazy(lua_State *L, rules *r)
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
cJSON *rules_to_json(lua_State *L, int idx, int depth)
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
void rules_scratch_sweep(rules *r)
{
    while (r->scratch->child)
        cJSON_Delete(cJSON_DetachItemViaPointer(r->scratch, r->scratch->child));
}
