/*
 * sandbox_pattern.c — the sandbox's string.find, match, gmatch and gsub,
 * with a pattern matcher of its own (DESIGN §6).
 *
 * Role in the pipeline: part of the Lua sandbox (sandbox.c), which puts
 * these four functions into the string library when it builds the state;
 * rule code calls them like the standard ones. Depends on liblua5.4 and on
 * sandbox_internal.h for the budget (sb_charge) and the string limits.
 *
 * The pattern functions (find, match, gmatch, gsub) use this file's own
 * matcher, with Lua's pattern semantics, because the C matcher in lstrlib
 * runs without hooks and can backtrack for hours. Ours counts every step:
 * a call gives up after SB_PATTERN_MAX_STEPS steps ("pattern too complex")
 * and every step is charged to the budget. Limiting the number of
 * quantifiers is not enough on its own: ("a"):rep(n):find("a*b") has one
 * quantifier and is quadratic because the search restarts at every
 * position. Patterns are also limited to SB_PATTERN_MAX_LEN bytes and
 * subjects to SB_SUBJECT_MAX_LEN bytes. find with plain=true (or a pattern
 * without magic characters) uses memmem, which is linear, and has no caps.
 */
#define _GNU_SOURCE /* memmem */

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "sandbox_internal.h"

#define SB_PATTERN_MAX_LEN 512
#define SB_SUBJECT_MAX_LEN ((size_t)256 << 10)
#define SB_PATTERN_MAX_STEPS 4000000
#define SB_PATTERN_MAX_DEPTH 200 /* nested matcher calls, as lstrlib's MAXCCALLS */

/* ---- positions in strings (lstrlib's conventions) ---------------------- */

/* A 1-based start position, negative counting from the end, clamped to 1. */
static size_t sb_posrelat_start(lua_Integer pos, size_t len)
{
    if (pos > 0)
        return (size_t)pos;
    if (pos == 0)
        return 1;
    if (pos < -(lua_Integer)len)
        return 1;
    return len + (size_t)pos + 1;
}

/* ---- the pattern matcher ------------------------------------------------ */

/*
 * Lua's pattern language (manual §6.4.1), written for this file so that
 * every step is counted. The structure follows the language: a pattern is a
 * sequence of items; each item is matched at s and the rest of the pattern
 * after it, recursing only where a choice must be undone (quantifiers,
 * captures). pm_charge is called for every single-character test, every
 * recursive attempt and every byte compared by %b and back-references.
 */

#define PM_CAP_UNFINISHED (-1)
#define PM_CAP_POSITION (-2)
#define PM_SPECIALS "^$*+?.([%-"
#define PM_MAXCAPTURES 32 /* as lstrlib's LUA_MAXCAPTURES */

typedef struct pm_state {
    lua_State *L;
    sandbox *sb;
    const char *src_init;
    const char *src_end;
    const char *p_end;
    int depth; /* nested pm_match calls left */
    int level; /* captures opened so far */
    uint64_t steps;
    struct {
        const char *init;
        ptrdiff_t len;
    } capture[PM_MAXCAPTURES];
} pm_state;

static void pm_charge(pm_state *ms, uint64_t n)
{
    ms->steps += n;
    if (ms->steps > SB_PATTERN_MAX_STEPS)
        luaL_error(ms->L,
                   "pattern too complex: matching gave up after %d steps (simplify the "
                   "pattern or match a shorter string)",
                   SB_PATTERN_MAX_STEPS);
    sb_charge(ms->L, ms->sb, n);
}

static void pm_init(pm_state *ms, lua_State *L, sandbox *sb, const char *s, size_t ls,
                    const char *p, size_t lp)
{
    ms->L = L;
    ms->sb = sb;
    ms->src_init = s;
    ms->src_end = s + ls;
    ms->p_end = p + lp;
    ms->steps = 0;
}

static void pm_reset(pm_state *ms)
{
    ms->level = 0;
    ms->depth = SB_PATTERN_MAX_DEPTH;
}

/* Refuses subjects and patterns the matcher will not take on. */
static void pm_check_sizes(lua_State *L, const char *fname, size_t ls, size_t lp)
{
    if (lp > SB_PATTERN_MAX_LEN)
        luaL_error(L, "%s: pattern too long (%I bytes; the limit is %d)", fname, (LUAI_UACINT)lp,
                   SB_PATTERN_MAX_LEN);
    if (ls > SB_SUBJECT_MAX_LEN)
        luaL_error(L,
                   "%s: string too long for pattern matching (%I bytes; the limit is %d; "
                   "plain string.find has no limit)",
                   fname, (LUAI_UACINT)ls, (int)SB_SUBJECT_MAX_LEN);
}

static int pm_check_capture(pm_state *ms, int l)
{
    l -= '1';
    if (l < 0 || l >= ms->level || ms->capture[l].len == PM_CAP_UNFINISHED)
        return luaL_error(ms->L, "invalid capture index %%%d", l + 1);
    return l;
}

static int pm_capture_to_close(pm_state *ms)
{
    for (int level = ms->level - 1; level >= 0; level--)
        if (ms->capture[level].len == PM_CAP_UNFINISHED)
            return level;
    return luaL_error(ms->L, "invalid pattern capture");
}

/* The end of the single-character class starting at p. Patterns are Lua
 * strings, so reading *p_end (the terminating '\0') is safe. */
static const char *pm_class_end(pm_state *ms, const char *p)
{
    switch (*p++) {
    case '%':
        if (p == ms->p_end)
            luaL_error(ms->L, "malformed pattern (ends with '%%')");
        return p + 1;
    case '[':
        if (*p == '^')
            p++;
        do {
            if (p == ms->p_end)
                luaL_error(ms->L, "malformed pattern (missing ']')");
            if (*(p++) == '%' && p < ms->p_end)
                p++; /* skip escapes such as '%]' */
        } while (*p != ']');
        return p + 1;
    default:
        return p;
    }
}

static int pm_class(int c, int cl)
{
    int res;
    switch (tolower(cl)) {
    case 'a':
        res = isalpha(c);
        break;
    case 'c':
        res = iscntrl(c);
        break;
    case 'd':
        res = isdigit(c);
        break;
    case 'g':
        res = isgraph(c);
        break;
    case 'l':
        res = islower(c);
        break;
    case 'p':
        res = ispunct(c);
        break;
    case 's':
        res = isspace(c);
        break;
    case 'u':
        res = isupper(c);
        break;
    case 'w':
        res = isalnum(c);
        break;
    case 'x':
        res = isxdigit(c);
        break;
    case 'z': /* deprecated, but lstrlib 5.4 still accepts it */
        res = c == 0;
        break;
    default:
        return cl == c;
    }
    return isupper(cl) ? !res : res != 0;
}

/* p points at '[', ec at the closing ']'. */
static int pm_bracket(int c, const char *p, const char *ec)
{
    int sig = 1;
    if (*(p + 1) == '^') {
        sig = 0;
        p++;
    }
    while (++p < ec) {
        if (*p == '%') {
            p++;
            if (pm_class(c, (unsigned char)*p))
                return sig;
        } else if (*(p + 1) == '-' && p + 2 < ec) {
            p += 2;
            if ((unsigned char)*(p - 2) <= c && c <= (unsigned char)*p)
                return sig;
        } else if ((unsigned char)*p == c) {
            return sig;
        }
    }
    return !sig;
}

static int pm_single(pm_state *ms, const char *s, const char *p, const char *ep)
{
    if (s >= ms->src_end)
        return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.':
        pm_charge(ms, 1);
        return 1;
    case '%':
        pm_charge(ms, 1);
        return pm_class(c, (unsigned char)p[1]);
    case '[':
        /* a set is scanned byte by byte: charge its length */
        pm_charge(ms, 1 + (uint64_t)(ep - p) / 8);
        return pm_bracket(c, p, ep - 1);
    default:
        pm_charge(ms, 1);
        return (unsigned char)*p == c;
    }
}

static const char *pm_match(pm_state *ms, const char *s, const char *p);

static const char *pm_balance(pm_state *ms, const char *s, const char *p)
{
    if (p >= ms->p_end - 1)
        luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= ms->src_end || *s != *p)
        return NULL;
    const char *start = s;
    char open = *p, close = *(p + 1);
    int cont = 1;
    while (++s < ms->src_end) {
        if (*s == close) {
            if (--cont == 0) {
                pm_charge(ms, 1 + (uint64_t)(s - start));
                return s + 1;
            }
        } else if (*s == open) {
            cont++;
        }
    }
    pm_charge(ms, 1 + (uint64_t)(s - start));
    return NULL;
}

/* Greedy: the longest run first, then shorter ones. */
static const char *pm_max_expand(pm_state *ms, const char *s, const char *p, const char *ep)
{
    ptrdiff_t i = 0;
    while (pm_single(ms, s + i, p, ep))
        i++;
    for (; i >= 0; i--) {
        const char *res = pm_match(ms, s + i, ep + 1);
        if (res)
            return res;
    }
    return NULL;
}

/* Lazy: the shortest run first, then one more at a time. */
static const char *pm_min_expand(pm_state *ms, const char *s, const char *p, const char *ep)
{
    for (;;) {
        const char *res = pm_match(ms, s, ep + 1);
        if (res)
            return res;
        if (!pm_single(ms, s, p, ep))
            return NULL;
        s++;
    }
}

static const char *pm_start_capture(pm_state *ms, const char *s, const char *p, ptrdiff_t what)
{
    int level = ms->level;
    if (level >= PM_MAXCAPTURES)
        luaL_error(ms->L, "too many captures");
    ms->capture[level].init = s;
    ms->capture[level].len = what;
    ms->level = level + 1;
    const char *res = pm_match(ms, s, p);
    if (!res)
        ms->level--; /* undo the capture */
    return res;
}

static const char *pm_end_capture(pm_state *ms, const char *s, const char *p)
{
    int l = pm_capture_to_close(ms);
    ms->capture[l].len = s - ms->capture[l].init;
    const char *res = pm_match(ms, s, p);
    if (!res)
        ms->capture[l].len = PM_CAP_UNFINISHED;
    return res;
}

static const char *pm_back_reference(pm_state *ms, const char *s, int l)
{
    l = pm_check_capture(ms, l);
    ptrdiff_t len = ms->capture[l].len;
    if (len < 0)
        return NULL; /* a position capture matches no text */
    pm_charge(ms, 1 + (uint64_t)len / 8);
    if (ms->src_end - s >= len && memcmp(ms->capture[l].init, s, (size_t)len) == 0)
        return s + len;
    return NULL;
}

/* Matches the pattern from p at s; returns the end of the match or NULL. */
static const char *pm_match(pm_state *ms, const char *s, const char *p)
{
    if (ms->depth-- == 0)
        luaL_error(ms->L, "pattern too complex (nested too deeply)");
    for (;;) {
        pm_charge(ms, 1);
        if (p == ms->p_end)
            break; /* the whole pattern matched */
        if (*p == '(') {
            if (p + 1 < ms->p_end && p[1] == ')')
                s = pm_start_capture(ms, s, p + 2, PM_CAP_POSITION);
            else
                s = pm_start_capture(ms, s, p + 1, PM_CAP_UNFINISHED);
            break;
        }
        if (*p == ')') {
            s = pm_end_capture(ms, s, p + 1);
            break;
        }
        if (*p == '$' && p + 1 == ms->p_end) {
            s = s == ms->src_end ? s : NULL;
            break;
        }
        if (*p == '%' && p + 1 < ms->p_end) {
            char next = p[1];
            if (next == 'b') {
                s = pm_balance(ms, s, p + 2);
                if (!s)
                    break;
                p += 4;
                continue;
            }
            if (next == 'f') {
                p += 2;
                if (*p != '[')
                    luaL_error(ms->L, "missing '[' after '%%f' in pattern");
                const char *ep = pm_class_end(ms, p);
                int previous = s == ms->src_init ? '\0' : (unsigned char)*(s - 1);
                int current = (unsigned char)*s; /* '\0' at the end of the subject */
                if (!pm_bracket(previous, p, ep - 1) && pm_bracket(current, p, ep - 1)) {
                    p = ep;
                    continue;
                }
                s = NULL;
                break;
            }
            if (isdigit((unsigned char)next)) {
                s = pm_back_reference(ms, s, (unsigned char)next);
                if (!s)
                    break;
                p += 2;
                continue;
            }
        }
        /* A single-character class, perhaps followed by a quantifier. */
        const char *ep = pm_class_end(ms, p);
        if (!pm_single(ms, s, p, ep)) {
            if (*ep == '*' || *ep == '?' || *ep == '-') {
                p = ep + 1; /* zero occurrences are fine */
                continue;
            }
            s = NULL;
            break;
        }
        if (*ep == '?') {
            const char *res = pm_match(ms, s + 1, ep + 1);
            if (res) {
                s = res;
                break;
            }
            p = ep + 1;
            continue;
        }
        if (*ep == '+') {
            s = pm_max_expand(ms, s + 1, p, ep);
            break;
        }
        if (*ep == '*') {
            s = pm_max_expand(ms, s, p, ep);
            break;
        }
        if (*ep == '-') {
            s = pm_min_expand(ms, s, p, ep);
            break;
        }
        s++;
        p = ep;
    }
    ms->depth++;
    return s;
}

/* Capture i as a pointer and length, or PM_CAP_POSITION with the position
 * pushed. Without captures, capture 0 is the whole match s..e. */
static ptrdiff_t pm_get_capture(pm_state *ms, int i, const char *s, const char *e, const char **cap)
{
    if (i >= ms->level) {
        if (i != 0)
            luaL_error(ms->L, "invalid capture index %%%d", i + 1);
        *cap = s;
        return e - s;
    }
    ptrdiff_t len = ms->capture[i].len;
    *cap = ms->capture[i].init;
    if (len == PM_CAP_UNFINISHED)
        luaL_error(ms->L, "unfinished capture");
    else if (len == PM_CAP_POSITION)
        lua_pushinteger(ms->L, (ms->capture[i].init - ms->src_init) + 1);
    return len;
}

static void pm_push_capture(pm_state *ms, int i, const char *s, const char *e)
{
    const char *cap;
    ptrdiff_t len = pm_get_capture(ms, i, s, e, &cap);
    if (len != PM_CAP_POSITION)
        lua_pushlstring(ms->L, cap, (size_t)len);
}

static int pm_push_captures(pm_state *ms, const char *s, const char *e)
{
    int n = (ms->level == 0 && s) ? 1 : ms->level;
    luaL_checkstack(ms->L, n, "too many captures");
    for (int i = 0; i < n; i++)
        pm_push_capture(ms, i, s, e);
    return n;
}

static bool pm_no_specials(const char *p, size_t lp)
{
    for (size_t i = 0; i < lp; i++)
        if (p[i] != '\0' && strchr(PM_SPECIALS, p[i]))
            return false;
    return true;
}

static int sb_str_find_aux(lua_State *L, bool find)
{
    sandbox *sb = sb_from(L);
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = sb_posrelat_start(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) {
        lua_pushnil(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || pm_no_specials(p, lp))) {
        /* memmem (two-way) is linear in the subject: no caps needed */
        const char *hit = memmem(s + init, ls - init, p, lp);
        size_t scanned = hit ? (size_t)(hit - (s + init)) + lp : ls - init;
        sb_charge(L, sb, 1 + (scanned >> SB_BYTE_CHARGE_SHIFT));
        if (!hit) {
            lua_pushnil(L);
            return 1;
        }
        lua_pushinteger(L, (hit - s) + 1);
        lua_pushinteger(L, (hit - s) + (lua_Integer)lp);
        return 2;
    }
    pm_check_sizes(L, find ? "string.find" : "string.match", ls, lp);
    pm_state ms;
    const char *s1 = s + init;
    bool anchor = *p == '^';
    if (anchor) {
        p++;
        lp--;
    }
    pm_init(&ms, L, sb, s, ls, p, lp);
    do {
        pm_reset(&ms);
        const char *e = pm_match(&ms, s1, p);
        if (e) {
            if (find) {
                lua_pushinteger(L, (s1 - s) + 1);
                lua_pushinteger(L, e - s);
                return pm_push_captures(&ms, NULL, NULL) + 2;
            }
            return pm_push_captures(&ms, s1, e);
        }
    } while (s1++ < ms.src_end && !anchor);
    lua_pushnil(L);
    return 1;
}

int sb_str_find(lua_State *L)
{
    return sb_str_find_aux(L, true);
}

int sb_str_match(lua_State *L)
{
    return sb_str_find_aux(L, false);
}

/* The gmatch iterator. Upvalues: subject, pattern, offset where the next
 * search starts, offset where the last match ended (-1 for none). */
static int sb_gmatch_next(lua_State *L)
{
    size_t ls, lp;
    const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
    const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
    lua_Integer pos = lua_tointeger(L, lua_upvalueindex(3));
    lua_Integer last = lua_tointeger(L, lua_upvalueindex(4));
    pm_state ms;
    pm_init(&ms, L, sb_from(L), s, ls, p, lp);
    for (const char *src = s + pos; src <= ms.src_end; src++) {
        pm_reset(&ms);
        const char *e = pm_match(&ms, src, p);
        if (e && (last < 0 || e != s + last)) {
            lua_pushinteger(L, e - s);
            lua_replace(L, lua_upvalueindex(3));
            lua_pushinteger(L, e - s);
            lua_replace(L, lua_upvalueindex(4));
            return pm_push_captures(&ms, src, e);
        }
    }
    /* Exhausted: later calls return nothing without searching again. */
    lua_pushinteger(L, (lua_Integer)ls + 1);
    lua_replace(L, lua_upvalueindex(3));
    return 0;
}

int sb_str_gmatch(lua_State *L)
{
    size_t ls, lp;
    luaL_checklstring(L, 1, &ls);
    luaL_checklstring(L, 2, &lp);
    size_t init = sb_posrelat_start(luaL_optinteger(L, 3, 1), ls) - 1;
    pm_check_sizes(L, "string.gmatch", ls, lp);
    if (init > ls)
        init = ls + 1; /* start after the end: no matches */
    lua_settop(L, 2);
    lua_pushinteger(L, (lua_Integer)init);
    lua_pushinteger(L, -1);
    lua_pushcclosure(L, sb_gmatch_next, 4);
    return 1;
}

static void sb_gsub_too_large(lua_State *L, sandbox *sb)
{
    luaL_error(L, "string.gsub result too large (the limit is %d bytes)", (int)sb->max_string);
}

/* Adds the replacement string (argument 3) with its %0-%9 and %% escapes. */
static void pm_add_string(pm_state *ms, luaL_Buffer *b, const char *s, const char *e)
{
    lua_State *L = ms->L;
    size_t l;
    const char *news = lua_tolstring(L, 3, &l);
    const char *p;
    pm_charge(ms, 1 + l / 16); /* the replacement is scanned per match */
    while ((p = memchr(news, '%', l)) != NULL) {
        luaL_addlstring(b, news, (size_t)(p - news));
        p++; /* skip the '%'; reading the terminating '\0' is safe */
        if (*p == '%') {
            luaL_addchar(b, *p);
        } else if (*p == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit((unsigned char)*p)) {
            const char *cap;
            ptrdiff_t len = pm_get_capture(ms, *p - '1', s, e, &cap);
            if (len == PM_CAP_POSITION)
                luaL_addvalue(b); /* the position pushed by pm_get_capture */
            else
                luaL_addlstring(b, cap, (size_t)len);
        } else {
            luaL_error(L, "invalid use of '%%' in replacement string");
        }
        l -= (size_t)(p + 1 - news);
        news = p + 1;
    }
    luaL_addlstring(b, news, l);
}

/* Adds the replacement for the match s..e; returns whether it changed. */
static int pm_add_value(pm_state *ms, luaL_Buffer *b, const char *s, const char *e, int tr)
{
    lua_State *L = ms->L;
    if (tr == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = pm_push_captures(ms, s, e);
        lua_call(L, n, 1);
    } else if (tr == LUA_TTABLE) {
        pm_push_capture(ms, 0, s, e);
        lua_gettable(L, 3);
    } else {
        pm_add_string(ms, b, s, e);
        return 1;
    }
    if (!lua_toboolean(L, -1)) { /* nil or false: keep the original text */
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1))
        return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

int sb_str_gsub(lua_State *L)
{
    sandbox *sb = sb_from(L);
    size_t srcl, lp;
    const char *src = luaL_checklstring(L, 1, &srcl);
    const char *p = luaL_checklstring(L, 2, &lp);
    int tr = lua_type(L, 3);
    lua_Integer max_n = luaL_optinteger(L, 4, (lua_Integer)srcl + 1);
    luaL_argexpected(
        L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
        "string/function/table");
    pm_check_sizes(L, "string.gsub", srcl, lp);

    const char *lastmatch = NULL;
    bool anchor = *p == '^';
    lua_Integer n = 0;
    int changed = 0;
    pm_state ms;
    luaL_Buffer b;
    if (anchor) {
        p++;
        lp--;
    }
    luaL_buffinit(L, &b);
    pm_init(&ms, L, sb, src, srcl, p, lp);
    while (n < max_n) {
        pm_reset(&ms);
        const char *e = pm_match(&ms, src, p);
        if (e && e != lastmatch) {
            n++;
            changed = pm_add_value(&ms, &b, src, e, tr) | changed;
            src = lastmatch = e;
        } else if (src < ms.src_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        if (luaL_bufflen(&b) > sb->max_string)
            sb_gsub_too_large(L, sb);
        if (anchor)
            break;
    }
    if (!changed) {
        lua_pushvalue(L, 1); /* nothing replaced: the subject itself */
    } else {
        luaL_addlstring(&b, src, (size_t)(ms.src_end - src));
        if (luaL_bufflen(&b) > sb->max_string)
            sb_gsub_too_large(L, sb);
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}
