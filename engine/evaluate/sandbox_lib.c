/*
 * sandbox_lib.c — the standard functions the sandbox keeps but replaces or
 * wraps: string.rep, table.insert, remove and concat, the checks and
 * charges around setmetatable, tonumber, string.format and byte, table.sort,
 * move and unpack and the utf8 functions (sb_wrapped), and xpcall
 * (DESIGN §6).
 *
 * Role in the pipeline: part of the Lua sandbox (sandbox.c, whose sb_setup
 * installs these when it builds the state). Depends on liblua5.4 and on
 * sandbox_internal.h for the budget (sb_charge, sb_elements) and the
 * limits; string.format's arguments are checked by sb_format_args
 * (sandbox_seal.c). The pattern functions are in sandbox_pattern.c.
 *
 * setmetatable refuses a metatable with a __gc field: Lua runs finalizers
 * with hooks off, so a looping __gc would escape the budget. (A __gc added
 * to a metatable after setmetatable does not mark the object, per the
 * manual, so checking at setmetatable is enough.)
 *
 * xpcall is replaced: when the count hook raises the budget error, Lua calls
 * the nearest message handler from inside the hook, where hooks are off, so
 * a looping handler would never be stopped. Our xpcall wraps the rule's
 * handler in a C function that skips it once the budget is spent.
 *
 * Strings built: string.rep refuses results over max_string_bytes before
 * building them; gsub checks its buffer as it grows; string.format checks
 * its result (its output is linear in its input, so the memory cap bounds
 * what it builds meanwhile).
 */
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "sandbox_internal.h"

/* ---- positions in strings (utf8's convention) --------------------------- */

/* A position as utf8 takes it (the pattern functions clamp instead):
 * negative counts from the end, too far back gives 0. */
static lua_Integer sb_u8_posrelat(lua_Integer pos, size_t len)
{
    if (pos >= 0)
        return pos;
    if (0u - (size_t)pos > len)
        return 0;
    return (lua_Integer)len + pos + 1;
}

/* ---- other string and table functions ----------------------------------- */

/* string.rep that refuses results over max_string_bytes before building
 * them (and returns "" at once when nothing would be built: lstrlib's loop
 * would run n times copying nothing). */
int sb_str_rep(lua_State *L)
{
    sandbox *sb = sb_from(L);
    size_t l, lsep;
    const char *s = luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    const char *sep = luaL_optlstring(L, 3, "", &lsep);
    if (n <= 0 || (l == 0 && lsep == 0)) {
        lua_pushliteral(L, "");
        return 1;
    }
    /* total = n * l + (n - 1) * lsep = (n - 1) * (l + lsep) + l */
    size_t unit = l + lsep; /* > 0; cannot overflow, Lua strings are < MAX_SIZE */
    lua_Unsigned reps = (lua_Unsigned)n - 1u;
    if (l > sb->max_string || reps > (sb->max_string - l) / unit)
        return luaL_error(L, "string.rep result too large (the limit is %d bytes)",
                          (int)sb->max_string);
    size_t total = (size_t)reps * unit + l; /* <= max_string */
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, total);
    for (lua_Unsigned i = 0; i < reps; i++) {
        memcpy(out, s, l);
        out += l;
        memcpy(out, sep, lsep);
        out += lsep;
    }
    memcpy(out, s, l);
    luaL_pushresultsize(&b, total);
    return 1;
}

#define SB_TAB_R 1
#define SB_TAB_W 2
#define SB_TAB_L 4

static int sb_tab_field(lua_State *L, const char *key, int n)
{
    lua_pushstring(L, key);
    return lua_rawget(L, -n) != LUA_TNIL;
}

/* As ltablib: a table, or something whose metatable offers the needed
 * metamethods. */
static void sb_tab_check(lua_State *L, int arg, int what)
{
    if (lua_type(L, arg) == LUA_TTABLE)
        return;
    int n = 1;
    if (lua_getmetatable(L, arg) && (!(what & SB_TAB_R) || sb_tab_field(L, "__index", ++n)) &&
        (!(what & SB_TAB_W) || sb_tab_field(L, "__newindex", ++n)) &&
        (!(what & SB_TAB_L) || sb_tab_field(L, "__len", ++n)))
        lua_pop(L, n);
    else
        luaL_checktype(L, arg, LUA_TTABLE); /* raises the usual error */
}

static lua_Integer sb_tab_len(lua_State *L, int what)
{
    sb_tab_check(L, 1, what | SB_TAB_L);
    return luaL_len(L, 1);
}

/* The number of elements in first..last, saturated (0 means all 2^64). */
static uint64_t sb_span(lua_Integer first, lua_Integer last)
{
    uint64_t n = (uint64_t)((lua_Unsigned)last - (lua_Unsigned)first) + 1u;
    return n ? n : UINT64_MAX;
}

/* table.insert and table.remove shift elements one by one in C; they are
 * rewritten here so the shift is charged with the length the loop really
 * uses (a __len metamethod could answer differently on a second call). */
int sb_tab_insert(lua_State *L)
{
    lua_Integer e = sb_tab_len(L, SB_TAB_R | SB_TAB_W);
    e = (lua_Integer)((lua_Unsigned)e + 1u); /* the first empty slot */
    lua_Integer pos;
    switch (lua_gettop(L)) {
    case 2:
        pos = e;
        break;
    case 3:
        pos = luaL_checkinteger(L, 2);
        luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2, "position out of bounds");
        if (e > pos)
            sb_charge(L, sb_from(L), sb_elements(sb_span(pos, e - 1)));
        for (lua_Integer i = e; i > pos; i--) {
            lua_geti(L, 1, i - 1);
            lua_seti(L, 1, i);
        }
        break;
    default:
        return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_seti(L, 1, pos);
    return 0;
}

int sb_tab_remove(lua_State *L)
{
    lua_Integer size = sb_tab_len(L, SB_TAB_R | SB_TAB_W);
    lua_Integer pos = luaL_optinteger(L, 2, size);
    if (pos != size)
        luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 2, "position out of bounds");
    lua_geti(L, 1, pos);
    if (pos < size)
        sb_charge(L, sb_from(L), sb_elements(sb_span(pos, size - 1)));
    for (; pos < size; pos++) {
        lua_geti(L, 1, pos + 1);
        lua_seti(L, 1, pos);
    }
    lua_pushnil(L);
    lua_seti(L, 1, pos);
    return 1;
}

int sb_tab_concat(lua_State *L)
{
    lua_Integer last = sb_tab_len(L, SB_TAB_R);
    size_t lsep;
    const char *sep = luaL_optlstring(L, 2, "", &lsep);
    lua_Integer i = luaL_optinteger(L, 3, 1);
    last = luaL_optinteger(L, 4, last);
    if (i <= last)
        sb_charge(L, sb_from(L), sb_elements(sb_span(i, last)));
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (; i <= last; i++) {
        lua_geti(L, 1, i);
        if (!lua_isstring(L, -1))
            return luaL_error(L, "invalid value (at index %I) in table for 'concat'",
                              (LUAI_UACINT)i);
        luaL_addvalue(&b);
        if (i < last)
            luaL_addlstring(&b, sep, lsep);
        if (i == LUA_MAXINTEGER)
            break;
    }
    luaL_pushresult(&b);
    return 1;
}

/* ---- wrapped standard functions ------------------------------------------ */

/* Upvalue 1: the SB_W_* number. Checks and charges what depends on the
 * arguments, calls the original in this same frame, then checks and
 * charges what depends on the results. */
int sb_wrapped(lua_State *L)
{
    sandbox *sb = sb_from(L);
    int w = (int)lua_tointeger(L, lua_upvalueindex(1));
    size_t len = 0;
    lua_Integer from = 0;

    switch (w) {
    case SB_W_FORMAT:
        sb_format_args(L);
        break;
    case SB_W_SETMETATABLE:
        if (sb->freezing && !sb->sealed)
            return luaL_error(L, "setmetatable cannot be used at the top of a rule file: what a "
                                 "file builds there is shared by every event and kept "
                                 "read-only; call it inside run");
        if (lua_type(L, 2) == LUA_TTABLE) {
            lua_pushliteral(L, "__gc");
            if (lua_rawget(L, 2) != LUA_TNIL)
                return luaL_error(L, "setmetatable: __gc metamethods are not allowed in rules");
            lua_pop(L, 1);
        }
        break;
    case SB_W_TONUMBER:
        if (lua_type(L, 1) == LUA_TSTRING)
            sb_charge(L, sb, lua_rawlen(L, 1) >> SB_DECODE_CHARGE_SHIFT);
        break;
    case SB_W_SORT:
        if (lua_type(L, 1) == LUA_TTABLE) {
            uint64_t n = lua_rawlen(L, 1), bits = 1;
            while ((n >> bits) != 0)
                bits++;
            sb_charge(L, sb, sb_elements(n > UINT64_MAX / bits ? UINT64_MAX : n * bits));
        }
        break;
    case SB_W_MOVE: {
        lua_Integer f = luaL_checkinteger(L, 2);
        lua_Integer e = luaL_checkinteger(L, 3);
        if (e >= f)
            sb_charge(L, sb, sb_elements(sb_span(f, e)));
        break;
    }
    case SB_W_U8LEN: {
        luaL_checklstring(L, 1, &len);
        lua_Integer i = sb_u8_posrelat(luaL_optinteger(L, 2, 1), len);
        lua_Integer j = sb_u8_posrelat(luaL_optinteger(L, 3, -1), len);
        if (j >= i)
            sb_charge(L, sb, (uint64_t)(j - i + 1) >> SB_DECODE_CHARGE_SHIFT);
        break;
    }
    case SB_W_U8OFFSET: {
        luaL_checklstring(L, 1, &len);
        lua_Integer n = luaL_checkinteger(L, 2);
        from = sb_u8_posrelat(luaL_optinteger(L, 3, n >= 0 ? 1 : (lua_Integer)len + 1), len);
        break;
    }
    default:
        break;
    }

    int nres = sb->orig[w](L);

    switch (w) {
    case SB_W_FORMAT:
        if (nres == 1 && lua_rawlen(L, -1) > sb->max_string)
            return luaL_error(L, "string.format result too large (%I bytes; the limit is %d)",
                              (LUAI_UACINT)lua_rawlen(L, -1), (int)sb->max_string);
        break;
    case SB_W_BYTE:
    case SB_W_UNPACK:
    case SB_W_U8CODEPOINT:
        sb_charge(L, sb, sb_elements((uint64_t)nres));
        break;
    case SB_W_U8OFFSET: {
        uint64_t scanned = len;
        if (lua_isinteger(L, -1)) {
            lua_Integer r = lua_tointeger(L, -1);
            scanned = (uint64_t)(r > from ? r - from : from - r);
        }
        sb_charge(L, sb, scanned >> SB_DECODE_CHARGE_SHIFT);
        break;
    }
    default:
        break;
    }
    return nres;
}

/* ---- xpcall ------------------------------------------------------------ */

/* The rule's message handler (upvalue 1), skipped once the budget is spent:
 * then we may be inside the count hook, where hooks are off and a looping
 * handler would never be interrupted. */
static int sb_xpcall_handler(lua_State *L)
{
    if (sb_from(L)->exceeded) {
        lua_settop(L, 1);
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

int sb_xpcall(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, sb_xpcall_handler, 1);
    lua_replace(L, 2); /* f, handler, args... */
    lua_pushvalue(L, 1);
    lua_rotate(L, 3, 1); /* f, handler, f, args... */
    int status = lua_pcall(L, n - 2, LUA_MULTRET, 2);
    lua_pushboolean(L, status == LUA_OK);
    lua_replace(L, 1);
    lua_remove(L, 2); /* ok, results or the error */
    return lua_gettop(L);
}
