/*
 * sandbox_seal.c — what keeps rules a pure function of the event: the
 * read-only library proxies and global table, frozen tables, pairs and
 * next in a defined order, tostring without addresses, and the freeze of
 * the rule set with its record of upvalues (DESIGN §6).
 *
 * Role in the pipeline: part of the Lua sandbox (sandbox.c). The rule
 * loader (rules.c) calls sandbox_protect_globals before it loads the rule
 * files and sandbox_freeze after, and sandbox_restore after each call;
 * rules_json.c's event views use SANDBOX_CONTENTS and sandbox_push_contents.
 * Depends on liblua5.4, on alloc.h and error.h, and on sandbox_internal.h
 * for the sandbox's state and its budget. Why each piece is needed is
 * said under "sealing" below.
 */
#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "alloc.h"
#include "error.h"
#include "sandbox_internal.h"

/* ---- read-only library tables and the global table ----------------------- */

/* __newindex of a library proxy. Upvalues: the real table, its name. */
static int sb_lib_newindex(lua_State *L)
{
    if (sb_from(L)->depth == 0) { /* the host extending a library */
        lua_settop(L, 3);
        lua_rawset(L, lua_upvalueindex(1));
        return 0;
    }
    const char *lib = lua_tostring(L, lua_upvalueindex(2));
    if (lua_type(L, 2) == LUA_TSTRING)
        return luaL_error(L, "the %s library is read-only in rules (cannot set %s.%s)", lib, lib,
                          lua_tostring(L, 2));
    return luaL_error(L, "the %s library is read-only in rules", lib);
}

/* Pushes the read-only proxy for the real table at index real. pairs,
 * next and rawlen see the real table's contents through SANDBOX_CONTENTS
 * (sandbox_push_contents) but never get the table itself. */
void sb_push_lib_proxy(lua_State *L, int real, const char *name)
{
    lua_newtable(L);
    lua_createtable(L, 0, 4);
    lua_pushvalue(L, real);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, real);
    lua_pushstring(L, name);
    lua_pushcclosure(L, sb_lib_newindex, 2);
    lua_setfield(L, -2, "__newindex");
    lua_pushvalue(L, real);
    lua_setfield(L, -2, SANDBOX_CONTENTS);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
}

/* __newindex of _G. Upvalue: the hidden table of standard names. Once the
 * sandbox is sealed (sandbox_freeze), no call may create a global: it
 * would outlive the event and let one event's judgement depend on another. */
int sb_global_newindex(lua_State *L)
{
    sandbox *sb = sb_from(L);
    if (sb->depth > 0 && sb->sealed)
        return luaL_error(L,
                          "cannot assign to global '%s' while an event is judged: a rule may "
                          "not keep anything between events (use a local variable, or "
                          "act.set and state.get)",
                          lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?");
    if (sb->depth > 0 && lua_type(L, 2) == LUA_TSTRING) {
        lua_pushvalue(L, 2);
        if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
            return luaL_error(L,
                              "cannot assign to global '%s': standard names are read-only in "
                              "rules (use a local variable)",
                              lua_tostring(L, 2));
        lua_pop(L, 1);
    }
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 0;
}

/* ---- sealing: read-only tables, a defined order, file state kept --------- *
 *
 * Rules must be a pure function of the event, the rule set and `state`, so
 * that judging the same journal again (after a restart, on another machine,
 * in `obligo replay`) decides the same. Three things stood in the way:
 *
 *   - tables shared by every event (act, state, plugin modules, tables a
 *     file builds at its top level) could be changed by one rule for the
 *     others and for later events. They are frozen in place: the contents
 *     move to a hidden table behind a locked metatable whose __newindex
 *     raises. The metatable's SANDBOX_CONTENTS field lets pairs, next,
 *     rawlen and the engine's own conversion (rules_json.c) see the contents
 *     without ever handing the hidden table to a rule;
 *   - pairs and next walk a table in hash order, which depends on the
 *     string hash seed (random per state) and on addresses. Here they walk
 *     keys sorted: numbers, then strings (bytewise), then false and true;
 *     other keys have no defined order and are refused;
 *   - tostring and string.format's %p showed addresses: tostring gives the
 *     type's name for tables and functions, %p is refused.
 *
 * What a table freeze cannot cover is a file-level local assigned from run
 * (`counter = counter + 1` on an upvalue). sandbox_freeze records every
 * upvalue reachable from the rule set, and sandbox_restore, called after
 * each call, puts back any that changed and says which: the caller turns
 * that into the rule's error. */

const char SB_STD_KEY = 0;
static const char SB_SNAP_KEY = 0;

void sandbox_push_contents(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TTABLE && lua_getmetatable(L, idx)) {
        lua_pushliteral(L, SANDBOX_CONTENTS);
        int t = lua_rawget(L, -2);
        if (t == LUA_TTABLE) {
            lua_remove(L, -2);
            return;
        }
        if (t == LUA_TFUNCTION) {
            lua_remove(L, -2);
            lua_pushvalue(L, idx);
            lua_call(L, 1, 1);
            return;
        }
        lua_pop(L, 2);
    }
    lua_pushvalue(L, idx);
}

typedef struct sb_key {
    int kind; /* 0 number, 1 string, 2 boolean */
    int isint;
    lua_Integer i;
    lua_Number d;
    const char *s;
    size_t len;
    lua_Integer pos; /* in the table of keys in next() order */
} sb_key;

static int sb_key_cmp(const void *pa, const void *pb)
{
    const sb_key *a = pa, *b = pb;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->kind == 1) {
        int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
        if (c)
            return c;
        return a->len < b->len ? -1 : a->len > b->len;
    }
    if (a->kind == 2)
        return (int)a->i - (int)b->i;
    if (a->isint && b->isint)
        return a->i < b->i ? -1 : a->i > b->i;
    lua_Number x = a->isint ? (lua_Number)a->i : a->d, y = b->isint ? (lua_Number)b->i : b->d;
    if (x != y)
        return x < y ? -1 : 1;
    return b->isint - a->isint; /* 1 and 1.0 cannot both be keys; stay total */
}

void sandbox_push_sorted_keys(lua_State *L, int idx, int skip_unordered)
{
    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 6, "sorting keys");
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        n++;
        lua_pop(L, 1);
    }
    lua_createtable(L, (int)(n < INT_MAX ? n : INT_MAX), 0);
    int keys = lua_gettop(L);
    sb_key *a = lua_newuserdatauv(L, (size_t)n * sizeof *a + 1, 0); /* collected, never leaked */
    lua_Integer m = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        sb_key k = {0};
        switch (lua_type(L, -1)) {
        case LUA_TNUMBER:
            k.kind = 0;
            k.isint = lua_isinteger(L, -1);
            if (k.isint)
                k.i = lua_tointeger(L, -1);
            else
                k.d = lua_tonumber(L, -1);
            break;
        case LUA_TSTRING:
            k.kind = 1;
            k.s = lua_tolstring(L, -1, &k.len); /* kept alive by the keys table */
            break;
        case LUA_TBOOLEAN:
            k.kind = 2;
            k.i = lua_toboolean(L, -1);
            break;
        default:
            if (skip_unordered)
                continue;
            luaL_error(L,
                       "pairs: a key of type %s has no defined order in rules (use strings or "
                       "numbers as keys)",
                       luaL_typename(L, -1));
        }
        if (m == n)
            luaL_error(L, "pairs: the table changed while its keys were read");
        k.pos = ++m;
        a[m - 1] = k;
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, m);
    }
    uint64_t bits = 1;
    while (((uint64_t)m >> bits) != 0)
        bits++;
    sb_charge(L, sb_from(L), sb_elements((uint64_t)m * bits));
    qsort(a, (size_t)m, sizeof *a, sb_key_cmp);
    lua_createtable(L, (int)(m < INT_MAX ? m : INT_MAX), 0);
    for (lua_Integer j = 0; j < m; j++) {
        lua_rawgeti(L, keys, a[j].pos);
        lua_rawseti(L, -2, j + 1);
    }
    lua_replace(L, keys);
    lua_pop(L, 1); /* the key records */
}

/* The iterator of pairs. Upvalues: the sorted keys, the table read, the
 * position reached. */
static int sb_sorted_iter(lua_State *L)
{
    lua_Integer pos = lua_tointeger(L, lua_upvalueindex(3));
    lua_Integer n = (lua_Integer)lua_rawlen(L, lua_upvalueindex(1));
    while (++pos <= n) {
        lua_rawgeti(L, lua_upvalueindex(1), pos);
        lua_pushvalue(L, -1);
        if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL) {
            lua_pushinteger(L, pos);
            lua_replace(L, lua_upvalueindex(3));
            return 2;
        }
        lua_pop(L, 2); /* removed meanwhile */
    }
    lua_pushinteger(L, n);
    lua_replace(L, lua_upvalueindex(3));
    lua_pushnil(L);
    return 1;
}

/* pairs(t): a table's own __pairs if it has one, else its keys in sorted
 * order (see above). */
int sb_pairs(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    sandbox_push_contents(L, 1);
    if (lua_rawequal(L, 1, 2) && luaL_getmetafield(L, 1, "__pairs") != LUA_TNIL) {
        lua_pushvalue(L, 1);
        lua_call(L, 1, 3);
        return 3;
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    sandbox_push_sorted_keys(L, 2, 0);
    lua_pushvalue(L, 2);
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, sb_sorted_iter, 3);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

/* next(t, k) in the order pairs uses. It sorts on every call, so it is for
 * "is this table empty?", not for walking big tables (use pairs). */
int sb_next(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    sandbox_push_contents(L, 1);
    sandbox_push_sorted_keys(L, 3, 0);
    lua_Integer n = (lua_Integer)lua_rawlen(L, 4), i = 1;
    if (!lua_isnil(L, 2)) {
        for (i = 1; i <= n; i++) {
            lua_rawgeti(L, 4, i);
            int same = lua_rawequal(L, -1, 2);
            lua_pop(L, 1);
            if (same)
                break;
        }
        if (i > n)
            return luaL_error(L, "invalid key to 'next'");
        i++;
    }
    sb_charge(L, sb_from(L), sb_elements((uint64_t)i));
    for (; i <= n; i++) {
        lua_rawgeti(L, 4, i);
        lua_pushvalue(L, -1);
        if (lua_rawget(L, 3) != LUA_TNIL)
            return 2;
        lua_pop(L, 2);
    }
    lua_pushnil(L);
    return 1;
}

int sb_rawlen(lua_State *L)
{
    int t = lua_type(L, 1);
    luaL_argexpected(L, t == LUA_TTABLE || t == LUA_TSTRING, 1, "table or string");
    sandbox_push_contents(L, 1);
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
    return 1;
}

/* tostring without addresses: a value's own __tostring, else what the
 * standard one says for nil, booleans, numbers and strings, else the name
 * of the type ("table", "function"). Pushes the text. */
static const char *sb_push_text(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    if (luaL_getmetafield(L, idx, "__tostring") != LUA_TNIL) {
        lua_pop(L, 1);
        return luaL_tolstring(L, idx, NULL);
    }
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
    case LUA_TBOOLEAN:
    case LUA_TNUMBER:
    case LUA_TSTRING:
        return luaL_tolstring(L, idx, NULL);
    default:
        lua_pushstring(L, luaL_typename(L, idx));
        return lua_tostring(L, -1);
    }
}

int sb_tostring(lua_State *L)
{
    luaL_checkany(L, 1);
    sb_push_text(L, 1);
    return 1;
}

/* Before string.format runs: %p (an address) is refused, and a table or
 * function given to %s is shown as sb_push_text shows it. */
void sb_format_args(lua_State *L)
{
    size_t fl;
    const char *f = luaL_checklstring(L, 1, &fl);
    int top = lua_gettop(L), arg = 1;
    for (size_t i = 0; i < fl; i++) {
        if (f[i] != '%')
            continue;
        if (++i < fl && f[i] == '%')
            continue;
        arg++;
        while (i < fl && strchr("-+ #0", f[i]))
            i++;
        while (i < fl && (isdigit((unsigned char)f[i]) || f[i] == '.'))
            i++;
        if (i >= fl)
            break;
        if (f[i] == 'p')
            luaL_error(L, "string.format: %%p is not available in rules (it shows where a value "
                          "is in memory)");
        if (f[i] == 's' && arg <= top && lua_type(L, arg) != LUA_TSTRING &&
            lua_type(L, arg) != LUA_TNUMBER) {
            sb_push_text(L, arg);
            lua_replace(L, arg);
        }
    }
}

/* ---- frozen tables ---- */

/* __newindex of a frozen table. Upvalue: what the table is, for the
 * message. */
static int sb_frozen_newindex(lua_State *L)
{
    const char *what = lua_tostring(L, lua_upvalueindex(1));
    if (lua_type(L, 2) == LUA_TSTRING)
        return luaL_error(L, "%s is read-only (cannot set %s): %s", what, lua_tostring(L, 2),
                          "tables shared by every event cannot be changed by a rule; copy what "
                          "you need into a local table");
    return luaL_error(L,
                      "%s is read-only: tables shared by every event cannot be changed by a "
                      "rule; copy what you need into a local table",
                      what);
}

static int sb_frozen_len(lua_State *L)
{
    sandbox_push_contents(L, 1);
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
    return 1;
}

void sandbox_freeze_table(lua_State *L, int idx, const char *what)
{
    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 6, "freezing a table");
    lua_newtable(L); /* the contents */
    int contents = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, contents);
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) { /* clearing fields while traversing is allowed */
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, idx);
    }
    lua_createtable(L, 0, 5);
    lua_pushvalue(L, contents);
    lua_setfield(L, -2, "__index");
    lua_pushstring(L, what ? what : "this table (made when the rule files were loaded)");
    lua_pushcclosure(L, sb_frozen_newindex, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, sb_frozen_len);
    lua_setfield(L, -2, "__len");
    lua_pushvalue(L, contents);
    lua_setfield(L, -2, SANDBOX_CONTENTS);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, idx);
    lua_settop(L, contents - 1);
}

/* Moves every name set directly in _G behind its __index (the hidden table
 * of standard names), so that no rule can assign it; tables among them
 * are frozen. */
static void sb_move_globals(lua_State *L)
{
    lua_pushglobaltable(L);
    int g = lua_gettop(L);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &SB_STD_KEY);
    int std = lua_gettop(L);
    /* Tables first, by name in sorted order, so that one table under two
     * names is always named by the first (hash order differs per state). */
    sandbox_push_sorted_keys(L, g, 1);
    int keys = lua_gettop(L);
    for (lua_Integer i = 1, n = (lua_Integer)lua_rawlen(L, keys); i <= n; i++) {
        if (lua_rawgeti(L, keys, i) == LUA_TSTRING && lua_rawget(L, g) == LUA_TTABLE &&
            luaL_getmetafield(L, -1, SANDBOX_CONTENTS) == LUA_TNIL) {
            lua_rawgeti(L, keys, i);
            const char *what = lua_pushfstring(L, "the global table %s", lua_tostring(L, -1));
            sandbox_freeze_table(L, -3, what);
        }
        lua_settop(L, keys); /* a metafield found means frozen already */
    }
    lua_pop(L, 1);
    lua_pushnil(L);
    while (lua_next(L, g)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, std);
    }
    lua_pushnil(L);
    while (lua_next(L, g)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, g);
    }
    lua_settop(L, g - 1);
}

static int sb_protect_globals_protected(lua_State *L)
{
    sb_move_globals(L);
    return 0;
}

int sandbox_protect_globals(sandbox *sb)
{
    lua_State *L = sb->L;
    sb->freezing = true;
    lua_pushcfunction(L, sb_protect_globals_protected);
    if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
        lua_pop(L, 1);
        return OBLIGO_ENOMEM;
    }
    return 0;
}

/* The walk of sandbox_freeze. Stack slots of its tables. */
typedef struct sb_walk {
    int visited, snap, seen_upvalues, global, std, work;
    lua_Integer nsnap, nwork;
} sb_walk;

/* Queues the value at idx for the walk unless it has nothing to freeze or
 * was queued before. The walk keeps a work list, not the C stack, so a
 * table nested ten thousand deep is frozen like any other. */
static void sb_walk_queue(lua_State *L, sb_walk *w, int idx)
{
    idx = lua_absindex(L, idx);
    int t = lua_type(L, idx);
    if (t != LUA_TTABLE && (t != LUA_TFUNCTION || lua_iscfunction(L, idx)))
        return;
    if (lua_rawequal(L, idx, w->global) || lua_rawequal(L, idx, w->std))
        return;
    lua_pushvalue(L, idx);
    if (lua_rawget(L, w->visited) != LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, w->visited);
    lua_pushvalue(L, idx);
    lua_rawseti(L, w->work, ++w->nwork);
}

/* Freezes a table, or records a function's upvalues, and queues what they
 * hold. */
static void sb_walk_one(lua_State *L, sb_walk *w, int idx)
{
    luaL_checkstack(L, 8, "freezing the rule set");
    if (lua_type(L, idx) == LUA_TTABLE) {
        if (lua_getmetatable(L, idx)) {
            lua_pushliteral(L, SANDBOX_CONTENTS);
            int sealed = lua_rawget(L, -2) != LUA_TNIL;
            lua_pop(L, 2);
            if (sealed)
                return; /* already read-only: a library, act, state, a frozen table */
            /* setmetatable is refused while files load (sb_wrapped), so
             * only the host could have made this */
            luaL_error(L, "a table with a metatable is kept between events");
        }
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            sb_walk_queue(L, w, -2);
            sb_walk_queue(L, w, -1);
            lua_pop(L, 1);
        }
        sandbox_freeze_table(L, idx, NULL);
        return;
    }
    for (int n = 1; lua_getupvalue(L, idx, n); n++) {
        sb_walk_queue(L, w, -1);
        lua_pushlightuserdata(L, lua_upvalueid(L, idx, n));
        if (lua_rawget(L, w->seen_upvalues) == LUA_TNIL) {
            lua_pushlightuserdata(L, lua_upvalueid(L, idx, n));
            lua_pushboolean(L, 1);
            lua_rawset(L, w->seen_upvalues);
            lua_pushvalue(L, idx);
            lua_rawseti(L, w->snap, ++w->nsnap);
            lua_pushinteger(L, n);
            lua_rawseti(L, w->snap, ++w->nsnap);
            lua_pushvalue(L, -2); /* the upvalue's value */
            lua_rawseti(L, w->snap, ++w->nsnap);
        }
        lua_pop(L, 2);
    }
}

/* Argument: the table of roots (rule functions). */
static int sb_freeze_protected(lua_State *L)
{
    int roots = 1;
    sb_move_globals(L);
    sb_walk w = {0};
    lua_pushglobaltable(L);
    w.global = lua_gettop(L);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &SB_STD_KEY);
    w.std = lua_gettop(L);
    lua_newtable(L);
    w.visited = lua_gettop(L);
    lua_newtable(L);
    w.snap = lua_gettop(L);
    lua_newtable(L);
    w.seen_upvalues = lua_gettop(L);
    lua_newtable(L);
    w.work = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, w.std)) {
        sb_walk_queue(L, &w, -1);
        lua_pop(L, 1);
    }
    if (lua_type(L, roots) == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, roots)) {
            sb_walk_queue(L, &w, -1);
            lua_pop(L, 1);
        }
    }
    for (lua_Integer i = 1; i <= w.nwork; i++) {
        lua_rawgeti(L, w.work, i);
        sb_walk_one(L, &w, lua_gettop(L));
        lua_pop(L, 1);
    }
    lua_pushvalue(L, w.snap);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &SB_SNAP_KEY);
    return 0;
}

int sandbox_freeze(sandbox *sb, int roots, char **err)
{
    lua_State *L = sb->L;
    *err = NULL;
    roots = roots ? lua_absindex(L, roots) : 0;
    lua_pushcfunction(L, sb_freeze_protected);
    if (roots)
        lua_pushvalue(L, roots);
    else
        lua_pushnil(L);
    int status = lua_pcall(L, 1, 0, 0);
    if (status == LUA_OK) {
        sb->sealed = true;
        return 0;
    }
    if (status == LUA_ERRMEM) {
        lua_pop(L, 1);
        return OBLIGO_ENOMEM;
    }
    const char *msg = lua_tostring(L, -1);
    *err = obligo_strdup(msg ? msg : "the rule set could not be sealed");
    lua_pop(L, 1);
    return *err ? OBLIGO_ERULE : OBLIGO_ENOMEM;
}

int sandbox_restore(sandbox *sb, char **name)
{
    lua_State *L = sb->L;
    *name = NULL;
    if (!sb->sealed || !lua_checkstack(L, 6))
        return 0;
    int changed = 0;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &SB_SNAP_KEY);
    int snap = lua_gettop(L);
    lua_Integer n = lua_type(L, snap) == LUA_TTABLE ? (lua_Integer)lua_rawlen(L, snap) : 0;
    for (lua_Integer i = 1; i + 2 <= n; i += 3) {
        lua_rawgeti(L, snap, i);
        lua_rawgeti(L, snap, i + 1);
        int up = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
        const char *upname = lua_getupvalue(L, -1, up);
        lua_rawgeti(L, snap, i + 2);
        if (upname && !lua_rawequal(L, -1, -2)) {
            if (!changed)
                *name = obligo_strdup(*upname ? upname : "?");
            changed = 1;
            lua_setupvalue(L, -3, up); /* pops the recorded value */
        } else {
            lua_pop(L, 1);
        }
        lua_pop(L, upname ? 2 : 1);
    }
    lua_settop(L, snap - 1);
    return changed;
}
