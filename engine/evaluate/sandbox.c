/*
 * sandbox.c — the Lua 5.4 state in which rule files run (DESIGN §6).
 *
 * Role in the pipeline: the rule loader compiles rule files with
 * sandbox_load_file/buffer, and the evaluator calls rule functions through
 * sandbox_call, the one wrapper that arms the instruction budget, installs the
 * message handler and turns every failure into a sandbox_error. Depends on
 * liblua5.4 and on alloc.h for the engine's own memory; the Lua heap itself
 * comes from realloc/free through sb_alloc, which counts bytes and refuses
 * growth past the cap.
 *
 * The choices the header leaves open, and why:
 *
 * Globals. The global table _G holds only names the host or the rules add.
 * The allow-listed standard names live in a hidden table behind _G's
 * __index; _G's __newindex refuses, during a call, to assign a standard
 * name, so one rule cannot replace `pairs` or `string` for the others (a
 * `local` of the same name is fine). Host code outside sandbox_call may still
 * set any global. _G's metatable is locked (__metatable = false). rawset and
 * rawget are removed, so nothing bypasses this; rawequal and rawlen stay.
 * pairs(_G) lists only the added names.
 *
 * Library tables. Rules see string, table, math and utf8 as read-only
 * proxies: empty tables whose locked metatable forwards reads to the hidden
 * real table, refuses writes during a call, and lists the functions through
 * __pairs with an iterator that never hands out the real table. The string
 * metatable's __index is the hidden real string table and its __metatable
 * field is false, so getmetatable("") returns false and neither
 * setmetatable nor assignment can reach it: `("x"):find` is the sandbox's
 * find for every rule.
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
 * The budget. A count hook adds 1000 per 1000 VM instructions. C functions
 * run without hooks, so work done in C is charged too, or a cheap-looking
 * call on a big input would be free: 1 per 32 bytes the Lua heap grows by
 * (the `..` operator, rep, upper, gsub, table growth) or plain find scans,
 * each matching step of the pattern functions, 4 per element moved or
 * visited by table.insert, remove, concat, move, sort (n log2 n) and
 * unpack or returned by string.byte and utf8.codepoint, and 1 per 4 bytes
 * decoded by utf8.len/offset and tonumber. The rates are measured: with
 * them a loop around any of these spends the default budget in about the
 * time a plain Lua loop does (~30 ms). Once spent, the hook fires on every
 * instruction, so the error comes back at once if a pcall in the rule
 * caught it.
 *
 * A CPU-time backstop, for what no count sees: comparing two distinct long
 * strings (== and <, a memcmp or strcoll) or using one as a table key is a
 * single instruction, so `while s == t do end` on 1 MB strings would run for
 * minutes within budget. Every SB_CPU_CHECK_TICKS hook ticks the hook reads
 * the thread's CPU time and stops a call that used more than
 * SB_CPU_NS_PER_INSTRUCTION for each budgeted instruction (at least
 * SB_CPU_MIN_NS: one second for the default budget), with the same error
 * as the budget. Ordinary code runs at ~3 ns per instruction, so only such
 * loops reach it. Setting SB_CPU_NS_PER_INSTRUCTION to 0 turns it off.
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
 *
 * Strings built: string.rep refuses results over max_string_bytes before
 * building them; gsub checks its buffer as it grows; string.format checks
 * its result (its output is linear in its input, so the memory cap bounds
 * what it builds meanwhile).
 */
#define _GNU_SOURCE /* memmem */

#include "sandbox.h"

#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "alloc.h"
#include "error.h"

#define SB_DEFAULT_MEMORY ((size_t)64 << 20)
#define SB_DEFAULT_INSTRUCTIONS UINT64_C(10000000)
#define SB_DEFAULT_MAX_STRING ((size_t)1 << 20)

/* The count hook fires every SB_HOOK_INTERVAL instructions while the budget
 * lasts, and on every instruction after. */
#define SB_HOOK_INTERVAL 1000
/* Extra heap the message handler may use beyond the cap, so that an error
 * raised close to the cap still gets its position and traceback. */
#define SB_HANDLER_HEADROOM ((size_t)64 << 10)
/* One instruction charged per 2^SHIFT bytes allocated or searched by memmem
 * in C, and per 2^DECODE_SHIFT bytes decoded (utf8, numbers); ELEMENT
 * instructions per table element or value handled in C. */
#define SB_BYTE_CHARGE_SHIFT 5
#define SB_DECODE_CHARGE_SHIFT 2
#define SB_ELEMENT_CHARGE 4
/* The CPU-time backstop (see the top of the file). */
#define SB_CPU_NS_PER_INSTRUCTION 25
#define SB_CPU_MIN_NS UINT64_C(100000000)

#define SB_PATTERN_MAX_LEN 512
#define SB_SUBJECT_MAX_LEN ((size_t)256 << 10)
#define SB_PATTERN_MAX_STEPS 4000000
#define SB_PATTERN_MAX_DEPTH 200 /* nested matcher calls, as lstrlib's MAXCCALLS */

#define SB_BUDGET_MSG "instruction budget exceeded"
/* A string object is a header (TString), the text and a NUL; the header's
 * size is measured when the state is built (sb_setup), this is the guess
 * until then. */
#define SB_STRING_HEADER_GUESS 24
#define SB_PROBE_LEN 100 /* a long string: short ones (<= 40 bytes) are laid out otherwise */
/* sb_charge looks at the clock once per this many calls: the pattern
 * matcher charges every step. */
#define SB_CHARGE_CLOCK_CALLS 256

/* Standard functions we keep but wrap: the wrapper calls the original C
 * function directly (they have no upvalues), so its argument errors still
 * name the function the rule called. */
enum sb_wrapped_fn {
    SB_W_SETMETATABLE,
    SB_W_TONUMBER,
    SB_W_FORMAT,
    SB_W_BYTE,
    SB_W_SORT,
    SB_W_MOVE,
    SB_W_UNPACK,
    SB_W_U8LEN,
    SB_W_U8CODEPOINT,
    SB_W_U8OFFSET,
    SB_W_COUNT
};

/* What the message handler learnt about the error that ended a call. */
typedef struct sb_capture {
    char *file;
    int line;
    char *message;
    char *traceback;
} sb_capture;

struct sandbox {
    lua_State *L;
    size_t mem_used;
    size_t mem_cap;
    bool headroom; /* the message handler is running: allow SB_HANDLER_HEADROOM */
    bool starved;  /* the process, not the cap, refused memory during the call */
    uint64_t budget;
    uint64_t used;
    bool armed;              /* the budget counts (inside sandbox_call) */
    bool exceeded;           /* the budget is spent; the hook fires every instruction */
    bool out_of_time;        /* ... by the CPU-time backstop */
    uint64_t cpu_start_ns;   /* thread CPU time at the first hook tick; 0: not read yet */
    uint64_t wall_start_ns;  /* monotonic time at the first hook tick */
    uint64_t cpu_limit_ns;   /* of the current call; 0: no backstop */
    uint64_t default_budget; /* the limits' instructions per call */
    uint64_t next_budget;    /* sandbox_set_budget's, for the next call; 0: the default */
    unsigned charges;        /* sb_charge calls since the last look at the clock */
    int depth;               /* nested sandbox_call level */
    size_t max_string;
    /* A string longer than max_string was refused by the allocator in this
     * call: its size, and where the rule was when it asked for it. */
    int string_refused;
    char string_file[LUA_IDSIZE];
    int string_line;
    bool sealed;          /* sandbox_freeze ran: globals are read-only during calls */
    bool freezing;        /* sandbox_protect_globals ran: files load, then sandbox_freeze */
    bool probing;         /* sb_setup measures string_header */
    size_t string_header; /* bytes a string object takes beyond its text and NUL */
    sb_capture *capture;  /* the current call's, for the message handler */
    lua_CFunction orig[SB_W_COUNT];
};

static void sb_hook(lua_State *L, lua_Debug *ar);
static void sb_format_args(lua_State *L);

static sandbox *sb_from(lua_State *L)
{
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return ud;
}

static void sb_add_used(sandbox *sb, uint64_t n)
{
    sb->used = n > UINT64_MAX - sb->used ? UINT64_MAX : sb->used + n;
}

/* ---- memory ------------------------------------------------------------ */

/* Records where a rule asked for a string that is too long. Called from the
 * allocator, so it must not allocate: lua_getstack and lua_getinfo with
 * "Sl" only read the call chain. */
static void sb_string_refused(sandbox *sb)
{
    if (sb->string_refused)
        return; /* the retry after a collection: the first place is kept */
    sb->string_refused = 1;
    sb->string_file[0] = '\0';
    sb->string_line = 0;
    lua_Debug ar;
    for (int level = 0; level < 32 && lua_getstack(sb->L, level, &ar); level++) {
        if (lua_getinfo(sb->L, "Sl", &ar) && ar.currentline > 0) {
            const char *src = ar.source && (ar.source[0] == '@' || ar.source[0] == '=')
                                  ? ar.source + 1
                                  : ar.short_src;
            snprintf(sb->string_file, sizeof sb->string_file, "%s", src);
            sb->string_line = ar.currentline;
            break;
        }
    }
}

/* The lua_Alloc. With ptr NULL, osize is a type tag, not a size. Lua
 * assumes shrinking never fails, so only growth is refused. */
static void *sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    sandbox *sb = ud;
    size_t old = ptr ? osize : 0;

    if (nsize == 0) {
        obligo_free(ptr);
        sb->mem_used -= old;
        return NULL;
    }
    if (nsize > old) {
        /* With ptr NULL, osize is the type of the new object: a string
         * longer than max_string is refused wherever it is built (the `..`
         * operator, string.pack, upper, table.concat, ...), not only by
         * the functions that check their own result. */
        if (!ptr && osize == LUA_TSTRING) {
            if (sb->probing)
                sb->string_header = nsize - SB_PROBE_LEN - 1;
            if (sb->armed && nsize > sb->max_string + sb->string_header + 1) {
                sb_string_refused(sb);
                return NULL; /* Lua collects garbage, retries, then raises LUA_ERRMEM */
            }
        }
        size_t cap = sb->mem_cap + (sb->headroom ? SB_HANDLER_HEADROOM : 0);
        size_t grow = nsize - old;
        if (sb->mem_used > cap || grow > cap - sb->mem_used)
            return NULL; /* Lua collects garbage, retries, then raises LUA_ERRMEM */
        if (sb->armed)
            sb_add_used(sb, grow >> SB_BYTE_CHARGE_SHIFT); /* the hook raises */
    }
    void *np = obligo_realloc(ptr, nsize);
    if (!np) {
        if (nsize < old) {
            /* A failed shrink keeps the bigger block; Lua will free it with
             * nsize as its size, so account it as nsize. */
            sb->mem_used -= old - nsize;
            return ptr;
        }
        sb->starved = true;
        return NULL;
    }
    sb->mem_used = sb->mem_used - old + nsize;
    return np;
}

/* ---- instruction budget ------------------------------------------------ */

/* Marks the budget spent, makes the hook fire on every instruction and
 * raises the error at the Lua code that called the current C function. */
static int sb_budget_raise(lua_State *L, sandbox *sb)
{
    sb->exceeded = true;
    lua_sethook(L, sb_hook, LUA_MASKCOUNT, 1);
    return luaL_error(L, SB_BUDGET_MSG);
}

static uint64_t sb_clock_ns(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

/* The backstop: has this call used more CPU time than its budget allows?
 *
 * The thread's CPU time is a system call (~0.8 us here), the monotonic
 * clock is not (~35 ns, vDSO), and a thread cannot use more CPU time than
 * time passes. So every look reads the monotonic clock, and the CPU clock
 * only once that much time has passed: the limit is checked at every hook
 * tick (1000 instructions) at the price of ~1 % of a plain Lua loop. */
static bool sb_out_of_time(sandbox *sb)
{
    if (!sb->cpu_limit_ns)
        return false; /* off */
    if (!sb->cpu_start_ns) {
        /* The clocks are first read at the first hook tick, not when the
         * call starts: most rules finish within one tick and never pay for
         * the system call. The backstop then counts from a thousand
         * instructions in, which is immaterial for its limit. */
        sb->cpu_start_ns = sb_clock_ns(CLOCK_THREAD_CPUTIME_ID);
        sb->wall_start_ns = sb_clock_ns(CLOCK_MONOTONIC);
        return false;
    }
    uint64_t wall = sb_clock_ns(CLOCK_MONOTONIC);
    if (wall < sb->wall_start_ns || wall - sb->wall_start_ns <= sb->cpu_limit_ns)
        return false;
    uint64_t now = sb_clock_ns(CLOCK_THREAD_CPUTIME_ID);
    return now > sb->cpu_start_ns && now - sb->cpu_start_ns > sb->cpu_limit_ns;
}

/* Charges n instructions of work done in C; raises once the budget is spent
 * or the call is out of CPU time. Outside sandbox_call nothing is counted. */
static void sb_charge(lua_State *L, sandbox *sb, uint64_t n)
{
    if (!sb->armed)
        return;
    sb_add_used(sb, n);
    if (!sb->exceeded && ++sb->charges >= SB_CHARGE_CLOCK_CALLS) {
        sb->charges = 0;
        if (sb_out_of_time(sb)) {
            sb->out_of_time = sb->used <= sb->budget;
            sb->exceeded = true;
        }
    }
    if (sb->used > sb->budget || sb->exceeded)
        sb_budget_raise(L, sb);
}

static void sb_hook(lua_State *L, lua_Debug *ar)
{
    sandbox *sb = sb_from(L);
    if (!sb->exceeded) {
        sb_add_used(sb, SB_HOOK_INTERVAL);
        if (sb->used <= sb->budget && !sb_out_of_time(sb))
            return;
        sb->out_of_time = sb->used <= sb->budget;
        sb->exceeded = true;
        lua_sethook(L, sb_hook, LUA_MASKCOUNT, 1);
    }
    /* In a hook, ar describes the interrupted Lua function. */
    if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0)
        lua_pushfstring(L, "%s:%d: " SB_BUDGET_MSG, ar->short_src, ar->currentline);
    else
        lua_pushliteral(L, SB_BUDGET_MSG);
    lua_error(L);
}

/* The CPU-time limit of a call with this instruction budget. */
static uint64_t sb_cpu_limit(uint64_t budget)
{
    if (SB_CPU_NS_PER_INSTRUCTION == 0)
        return 0;
    uint64_t per = SB_CPU_NS_PER_INSTRUCTION;
    uint64_t ns = budget > UINT64_MAX / per ? UINT64_MAX : budget * per;
    return ns < SB_CPU_MIN_NS ? SB_CPU_MIN_NS : ns;
}

static void sb_arm(sandbox *sb)
{
    sb->budget = sb->next_budget ? sb->next_budget : sb->default_budget;
    sb->cpu_limit_ns = sb_cpu_limit(sb->budget);
    sb->used = 0;
    sb->exceeded = false;
    sb->out_of_time = false;
    sb->charges = 0;
    sb->cpu_start_ns = 0; /* read lazily by the hook */
    sb->string_refused = 0;
    sb->armed = true;
    lua_sethook(sb->L, sb_hook, LUA_MASKCOUNT, SB_HOOK_INTERVAL);
}

static void sb_disarm(sandbox *sb)
{
    sb->armed = false;
    lua_sethook(sb->L, NULL, 0, 0);
}

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

/* utf8's variant: negative counts from the end, too far back gives 0. */
static lua_Integer sb_u8_posrelat(lua_Integer pos, size_t len)
{
    if (pos >= 0)
        return pos;
    if (0u - (size_t)pos > len)
        return 0;
    return (lua_Integer)len + pos + 1;
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
    int open = *p, close = *(p + 1), cont = 1;
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

static int sb_str_find(lua_State *L)
{
    return sb_str_find_aux(L, true);
}

static int sb_str_match(lua_State *L)
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

static int sb_str_gmatch(lua_State *L)
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

static int sb_str_gsub(lua_State *L)
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

/* ---- other string and table functions ----------------------------------- */

/* string.rep that refuses results over max_string_bytes before building
 * them (and returns "" at once when nothing would be built: lstrlib's loop
 * would run n times copying nothing). */
static int sb_str_rep(lua_State *L)
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

/* The charge for n elements handled in C, saturated. */
static uint64_t sb_elements(uint64_t n)
{
    return n > UINT64_MAX / SB_ELEMENT_CHARGE ? UINT64_MAX : n * SB_ELEMENT_CHARGE;
}

/* table.insert and table.remove shift elements one by one in C; they are
 * rewritten here so the shift is charged with the length the loop really
 * uses (a __len metamethod could answer differently on a second call). */
static int sb_tab_insert(lua_State *L)
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

static int sb_tab_remove(lua_State *L)
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

static int sb_tab_concat(lua_State *L)
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

static const struct {
    const char *lib; /* NULL: the base library */
    const char *name;
} sb_wrapped_fns[SB_W_COUNT] = {
    [SB_W_SETMETATABLE] = {NULL, "setmetatable"},
    [SB_W_TONUMBER] = {NULL, "tonumber"},
    [SB_W_FORMAT] = {LUA_STRLIBNAME, "format"},
    [SB_W_BYTE] = {LUA_STRLIBNAME, "byte"},
    [SB_W_SORT] = {LUA_TABLIBNAME, "sort"},
    [SB_W_MOVE] = {LUA_TABLIBNAME, "move"},
    [SB_W_UNPACK] = {LUA_TABLIBNAME, "unpack"},
    [SB_W_U8LEN] = {LUA_UTF8LIBNAME, "len"},
    [SB_W_U8CODEPOINT] = {LUA_UTF8LIBNAME, "codepoint"},
    [SB_W_U8OFFSET] = {LUA_UTF8LIBNAME, "offset"},
};

/* Upvalue 1: the SB_W_* number. Checks and charges what depends on the
 * arguments, calls the original in this same frame, then checks and
 * charges what depends on the results. */
static int sb_wrapped(lua_State *L)
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

static int sb_xpcall(lua_State *L)
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
 * (sb_push_contents) but never get the table itself. */
static void sb_push_lib_proxy(lua_State *L, int real, const char *name)
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
static int sb_global_newindex(lua_State *L)
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
 *     rawlen and the engine's own conversion (rules.c) see the contents
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

static const char SB_STD_KEY = 0, SB_SNAP_KEY = 0;

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
static int sb_pairs(lua_State *L)
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
static int sb_next(lua_State *L)
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

static int sb_rawlen(lua_State *L)
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

static int sb_tostring(lua_State *L)
{
    luaL_checkany(L, 1);
    sb_push_text(L, 1);
    return 1;
}

/* Before string.format runs: %p (an address) is refused, and a table or
 * function given to %s is shown as sb_push_text shows it. */
static void sb_format_args(lua_State *L)
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

void sandbox_charge(lua_State *L, uint64_t instructions)
{
    sb_charge(L, sb_from(L), instructions);
}

void sandbox_set_budget(sandbox *sb, uint64_t instructions)
{
    sb->next_budget = instructions;
}

uint64_t sandbox_budget(const sandbox *sb)
{
    return sb->default_budget;
}

/* ---- building the state --------------------------------------------------- */

static void sb_set_nil(lua_State *L, int t, const char *name)
{
    lua_pushnil(L);
    lua_setfield(L, t, name);
}

static void sb_set_fn(lua_State *L, int t, const char *name, lua_CFunction f)
{
    lua_pushcfunction(L, f);
    lua_setfield(L, t, name);
}

static void sb_wrap(lua_State *L, sandbox *sb, int t, int w)
{
    lua_getfield(L, t, sb_wrapped_fns[w].name);
    sb->orig[w] = lua_tocfunction(L, -1);
    if (!sb->orig[w])
        luaL_error(L, "sandbox: %s is not a C function", sb_wrapped_fns[w].name);
    lua_pop(L, 1);
    lua_pushinteger(L, w);
    lua_pushcclosure(L, sb_wrapped, 1);
    lua_setfield(L, t, sb_wrapped_fns[w].name);
}

/* Runs in protected mode (argument: the sandbox) so that running out of
 * memory while building the state is an error, not a panic. */
static int sb_setup(lua_State *L)
{
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},       {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8}, {NULL, NULL},
    };
    static const char *const removed[] = {
        "load",  "loadstring", "dofile", "loadfile", "require", "collectgarbage",
        "print", "rawset",     "rawget", "warn",     NULL,
    };
    sandbox *sb = lua_touserdata(L, 1);
    char probe[SB_PROBE_LEN];
    memset(probe, 'x', sizeof probe);
    sb->probing = true;
    lua_pushlstring(L, probe, sizeof probe);
    sb->probing = false;
    lua_pop(L, 1);

    for (const luaL_Reg *lib = libs; lib->name; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
    lua_pushglobaltable(L);
    int g = lua_gettop(L);
    for (const char *const *name = removed; *name; name++)
        sb_set_nil(L, g, *name);
    sb_wrap(L, sb, g, SB_W_SETMETATABLE);
    sb_wrap(L, sb, g, SB_W_TONUMBER);
    sb_set_fn(L, g, "xpcall", sb_xpcall);
    sb_set_fn(L, g, "pairs", sb_pairs);
    sb_set_fn(L, g, "next", sb_next);
    sb_set_fn(L, g, "rawlen", sb_rawlen);
    sb_set_fn(L, g, "tostring", sb_tostring);

    for (int w = 0; w < SB_W_COUNT; w++) {
        if (!sb_wrapped_fns[w].lib)
            continue;
        lua_getfield(L, g, sb_wrapped_fns[w].lib);
        sb_wrap(L, sb, lua_gettop(L), w);
        lua_pop(L, 1);
    }

    lua_getfield(L, g, LUA_STRLIBNAME);
    int str = lua_gettop(L);
    sb_set_nil(L, str, "dump");
    sb_set_fn(L, str, "rep", sb_str_rep);
    sb_set_fn(L, str, "find", sb_str_find);
    sb_set_fn(L, str, "match", sb_str_match);
    sb_set_fn(L, str, "gmatch", sb_str_gmatch);
    sb_set_fn(L, str, "gsub", sb_str_gsub);
    /* The string metatable: methods from the hidden real table, and locked
     * so getmetatable("") gives false. */
    lua_pushliteral(L, "");
    if (!lua_getmetatable(L, -1))
        return luaL_error(L, "sandbox: strings have no metatable");
    lua_pushvalue(L, str);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_settop(L, g);

    lua_getfield(L, g, LUA_TABLIBNAME);
    sb_set_fn(L, lua_gettop(L), "insert", sb_tab_insert);
    sb_set_fn(L, lua_gettop(L), "remove", sb_tab_remove);
    sb_set_fn(L, lua_gettop(L), "concat", sb_tab_concat);
    lua_getfield(L, g, LUA_MATHLIBNAME); /* rules must be deterministic */
    sb_set_nil(L, lua_gettop(L), "random");
    sb_set_nil(L, lua_gettop(L), "randomseed");
    lua_settop(L, g);

    /* Move every standard name into a hidden table, libraries as proxies. */
    lua_newtable(L);
    int std = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, g)) {
        if (lua_type(L, -1) == LUA_TTABLE && lua_type(L, -2) == LUA_TSTRING &&
            !lua_rawequal(L, -1, g)) {
            sb_push_lib_proxy(L, lua_absindex(L, -1), lua_tostring(L, -2));
            lua_replace(L, -2);
        }
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, std); /* std[key] = value; the key stays for lua_next */
    }
    lua_pushnil(L);
    while (lua_next(L, g)) { /* clearing existing fields while traversing is allowed */
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, g);
    }
    lua_pushvalue(L, std);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &SB_STD_KEY);
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, std);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, std);
    lua_pushcclosure(L, sb_global_newindex, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, g);
    return 0;
}

int sandbox_new(const sandbox_limits *limits, sandbox **out)
{
    *out = NULL;
    sandbox *sb = obligo_calloc(1, sizeof *sb);
    if (!sb)
        return OBLIGO_ENOMEM;
    sb->mem_cap = limits && limits->memory_bytes ? limits->memory_bytes : SB_DEFAULT_MEMORY;
    sb->default_budget =
        limits && limits->instructions ? limits->instructions : SB_DEFAULT_INSTRUCTIONS;
    sb->budget = sb->default_budget;
    sb->max_string =
        limits && limits->max_string_bytes ? limits->max_string_bytes : SB_DEFAULT_MAX_STRING;
    sb->string_header = SB_STRING_HEADER_GUESS;
    if (sb->max_string > INT_MAX)
        sb->max_string = INT_MAX; /* messages print it as an int */
    sb->cpu_limit_ns = sb_cpu_limit(sb->budget);

    sb->L = lua_newstate(sb_alloc, sb);
    if (!sb->L) {
        obligo_free(sb);
        return OBLIGO_ENOMEM;
    }
    lua_pushcfunction(sb->L, sb_setup);
    lua_pushlightuserdata(sb->L, sb);
    if (lua_pcall(sb->L, 1, 0, 0) != LUA_OK) {
        lua_close(sb->L);
        obligo_free(sb);
        return OBLIGO_ENOMEM;
    }
    *out = sb;
    return 0;
}

void sandbox_free(sandbox *sb)
{
    if (!sb)
        return;
    lua_close(sb->L);
    obligo_free(sb);
}

lua_State *sandbox_state(sandbox *sb)
{
    return sb->L;
}

size_t sandbox_memory_used(const sandbox *sb)
{
    return sb->mem_used;
}

/* ---- errors -------------------------------------------------------------- */

void sandbox_error_clear(sandbox_error *err)
{
    if (!err)
        return;
    obligo_free(err->file);
    obligo_free(err->message);
    obligo_free(err->traceback);
    memset(err, 0, sizeof *err);
}

/* Fills *err, taking over the strings (freed when err is NULL). A NULL
 * message or traceback means the engine ran out of memory. */
static void sb_error_set(sandbox_error *err, int kind, char *file, int line, char *message,
                         char *traceback)
{
    if (!err) {
        obligo_free(file);
        obligo_free(message);
        obligo_free(traceback);
        return;
    }
    err->kind = kind;
    err->file = file;
    err->line = line;
    err->message = message;
    err->traceback = traceback;
}

static void sb_capture_clear(sb_capture *cap)
{
    obligo_free(cap->file);
    obligo_free(cap->message);
    obligo_free(cap->traceback);
    memset(cap, 0, sizeof *cap);
}

/* If msg starts with "<prefix>:<line>:", sets *line and *rest (after one
 * optional space) and returns true. A NULL prefix stands for any text
 * without a newline up to the first ":<digits>:" (a syntax error's chunk
 * name, which Lua may have shortened). */
static bool sb_split_position(const char *msg, const char *prefix, int *line, const char **rest)
{
    const char *p;
    if (prefix) {
        size_t n = strlen(prefix);
        if (strncmp(msg, prefix, n) != 0)
            return false;
        p = msg + n;
    } else {
        p = msg;
        for (;;) {
            p = strchr(p, ':');
            if (!p)
                return false;
            if (isdigit((unsigned char)p[1]))
                break;
            p++;
        }
        if (p == msg || memchr(msg, '\n', (size_t)(p - msg)))
            return false;
    }
    if (*p != ':' || !isdigit((unsigned char)p[1]))
        return false;
    long v = 0;
    for (p++; isdigit((unsigned char)*p); p++)
        v = v < INT_MAX / 10 ? v * 10 + (*p - '0') : INT_MAX;
    if (*p != ':')
        return false;
    p++;
    if (*p == ' ')
        p++;
    *line = (int)v;
    *rest = p;
    return true;
}

/* The file name of a chunk: "@path" and "=name" give path and name; a chunk
 * loaded from a string gives its short form. */
static char *sb_chunk_file(const lua_Debug *ar)
{
    if (ar->source && (ar->source[0] == '@' || ar->source[0] == '='))
        return obligo_strdup(ar->source + 1);
    return obligo_strdup(ar->short_src);
}

static int sb_tostring_protected(lua_State *L)
{
    luaL_tolstring(L, 1, NULL);
    return 1;
}

/* Pushes the error object (argument 1) as text, as lua.c's msghandler. */
static const char *sb_error_text(lua_State *L, sandbox *sb)
{
    int t = lua_type(L, 1);
    if (t == LUA_TSTRING || t == LUA_TNUMBER) {
        lua_pushvalue(L, 1);
        return lua_tostring(L, -1);
    }
    /* __tostring is rule code: run it protected and without headroom. Once
     * the budget is spent it would only raise again, so skip it. */
    if (!sb->exceeded && luaL_getmetafield(L, 1, "__tostring") != LUA_TNIL) {
        lua_pop(L, 1);
        sb->headroom = false;
        lua_pushcfunction(L, sb_tostring_protected);
        lua_pushvalue(L, 1);
        int status = lua_pcall(L, 1, 1, 0);
        sb->headroom = true;
        if (status == LUA_OK && lua_type(L, -1) == LUA_TSTRING)
            return lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    return lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
}

/* The message handler of sandbox_call: records where the error happened,
 * its text without the position, and a traceback, in sb->capture. The
 * position comes from the "file:line:" prefix when it names a Lua function
 * on the stack (error(msg, 2) names the caller), else from the innermost
 * Lua function. Returns the text. */
static int sb_msgh(lua_State *L)
{
    sandbox *sb = sb_from(L);
    sb->headroom = true;
    const char *msg = sb_error_text(L, sb);
    int top = lua_gettop(L);
    sb_capture *cap = sb->capture;
    if (!cap) {
        sb->headroom = false;
        return 1;
    }
    sb_capture_clear(cap);

    lua_Debug ar;
    int first_lua = 0;
    const char *rest = msg;
    for (int level = 1; level < 64 && lua_getstack(L, level, &ar); level++) {
        if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0)
            continue; /* a C function */
        if (!first_lua)
            first_lua = level;
        int line;
        const char *after;
        if (sb_split_position(msg, ar.short_src, &line, &after)) {
            cap->file = sb_chunk_file(&ar);
            cap->line = line;
            rest = after;
            break;
        }
    }
    if (!cap->file && first_lua && lua_getstack(L, first_lua, &ar) && lua_getinfo(L, "Sl", &ar)) {
        cap->file = sb_chunk_file(&ar);
        cap->line = ar.currentline;
    }
    cap->message = obligo_strdup(rest);
    luaL_traceback(L, L, NULL, 1);
    cap->traceback = obligo_strdup(lua_tostring(L, -1));
    lua_settop(L, top);
    sb->headroom = false;
    return 1;
}

/* ---- loading ------------------------------------------------------------- */

typedef struct sb_load_req {
    const char *path; /* a file, or NULL for the buffer */
    const char *buf;
    size_t len;
    const char *name;
    int status;
} sb_load_req;

/* In protected mode: even building the chunk name can run out of memory. */
static int sb_load_protected(lua_State *L)
{
    sb_load_req *rq = lua_touserdata(L, 1);
    if (rq->path) {
        rq->status = luaL_loadfilex(L, rq->path, "t");
    } else {
        const char *chunkname = lua_pushfstring(L, "@%s", rq->name);
        rq->status = luaL_loadbufferx(L, rq->buf, rq->len, chunkname, "t");
    }
    return 1;
}

static int sb_load(sandbox *sb, sb_load_req *rq, sandbox_error *err)
{
    lua_State *L = sb->L;
    int top = lua_gettop(L);
    const char *file = rq->path ? rq->path : rq->name;
    int status = LUA_ERRMEM;

    rq->status = LUA_ERRMEM;
    if (lua_checkstack(L, 3)) {
        lua_pushcfunction(L, sb_load_protected);
        lua_pushlightuserdata(L, rq);
        status = lua_pcall(L, 1, 1, 0);
        if (status == LUA_OK && rq->status == LUA_OK)
            return 0; /* the function is on the stack */
        if (status == LUA_OK)
            status = rq->status;
    }
    const char *msg = lua_gettop(L) > top ? lua_tostring(L, -1) : NULL;
    int line = 0;
    const char *rest = msg;
    int kind;
    switch (status) {
    case LUA_ERRFILE:
        kind = SANDBOX_ERR_IO;
        break;
    case LUA_ERRSYNTAX:
        kind = SANDBOX_ERR_SYNTAX;
        if (msg && !sb_split_position(msg, NULL, &line, &rest))
            rest = msg; /* e.g. the refusal of a binary chunk */
        break;
    case LUA_ERRMEM:
        kind = SANDBOX_ERR_MEMORY;
        rest = NULL;
        break;
    default:
        kind = SANDBOX_ERR_RUNTIME;
        break;
    }
    char *message = rest ? obligo_strdup(rest)
                         : obligo_asprintf("not enough memory to load the rules (the limit is "
                                           "%zu bytes)",
                                           sb->mem_cap);
    sb_error_set(err, kind, obligo_strdup(file), line, message, obligo_strdup(""));
    lua_settop(L, top);
    return OBLIGO_ERULE;
}

int sandbox_load_file(sandbox *sb, const char *path, sandbox_error *err)
{
    sb_load_req rq = {.path = path};
    return sb_load(sb, &rq, err);
}

int sandbox_load_buffer(sandbox *sb, const char *buf, size_t len, const char *chunkname,
                        sandbox_error *err)
{
    sb_load_req rq = {.buf = buf, .len = len, .name = chunkname ? chunkname : "buffer"};
    return sb_load(sb, &rq, err);
}

/* ---- calling --------------------------------------------------------------- */

int sandbox_call(sandbox *sb, int nargs, int nresults, sandbox_error *err)
{
    lua_State *L = sb->L;
    int base = lua_gettop(L) - nargs; /* the function's index */
    if (nargs < 0 || base < 1)
        return OBLIGO_EINVAL;
    if (!lua_checkstack(L, 3)) {
        lua_settop(L, base - 1);
        sb_error_set(err, SANDBOX_ERR_MEMORY, NULL, 0,
                     obligo_strdup("not enough memory to call the rule"), obligo_strdup(""));
        return OBLIGO_ERULE;
    }
    /* handler, a copy of the function (kept to name its file should memory
     * run out, when no handler runs), the function, the arguments */
    lua_pushcfunction(L, sb_msgh);
    lua_rotate(L, base, 1);
    lua_pushvalue(L, base + 1);
    lua_rotate(L, base + 1, 1);

    sb_capture cap = {0};
    sb_capture *outer = sb->capture;
    sb->capture = &cap;
    if (sb->depth++ == 0) {
        sb_arm(sb); /* a nested call shares the outer call's budget */
        sb->starved = false;
    }
    int status = lua_pcall(L, nargs, nresults, base);
    sb->headroom = false;
    bool exceeded = sb->exceeded;
    if (--sb->depth == 0)
        sb_disarm(sb);
    sb->capture = outer;

    if (status == LUA_OK) {
        lua_remove(L, base);
        lua_remove(L, base);
        sb_capture_clear(&cap);
        return 0;
    }

    int kind;
    char *message;
    if (exceeded) {
        kind = SANDBOX_ERR_BUDGET;
        if (sb->out_of_time)
            message = obligo_asprintf(SB_BUDGET_MSG ": the call used more than %llu ms of CPU "
                                                    "time (a loop comparing long strings?)",
                                      (unsigned long long)(sb->cpu_limit_ns / 1000000));
        else
            message = obligo_asprintf(SB_BUDGET_MSG " (the limit is %llu instructions per call)",
                                      (unsigned long long)sb->budget);
    } else if (status == LUA_ERRMEM && sb->string_refused) {
        kind = SANDBOX_ERR_RUNTIME;
        message = obligo_asprintf("string too long: the rule built a string of more than "
                                  "%zu bytes (the limit is %zu bytes)",
                                  sb->max_string, sb->max_string);
        if (sb->string_file[0]) {
            obligo_free(cap.file);
            cap.file = obligo_strdup(sb->string_file);
            cap.line = sb->string_line;
        }
    } else if (status == LUA_ERRMEM) {
        kind = SANDBOX_ERR_MEMORY;
        message = obligo_asprintf("not enough memory (the limit is %zu bytes)", sb->mem_cap);
        if (!cap.file) {
            lua_Debug ar;
            lua_pushvalue(L, base + 1);
            if (lua_getinfo(L, ">S", &ar))
                cap.file = sb_chunk_file(&ar);
        }
    } else {
        kind = SANDBOX_ERR_RUNTIME;
        if (cap.message) {
            message = cap.message;
            cap.message = NULL;
        } else { /* no handler ran (e.g. error in error handling) */
            const char *text = lua_tostring(L, -1);
            message = obligo_strdup(text ? text : "(error object is not a string)");
        }
    }
    char *traceback = cap.traceback ? cap.traceback : obligo_strdup("");
    cap.traceback = NULL;
    sb_error_set(err, kind, cap.file, cap.line, message, traceback);
    cap.file = NULL;
    sb_capture_clear(&cap);
    lua_settop(L, base - 1);
    if (status == LUA_ERRMEM && sb->depth == 0)
        lua_gc(L, LUA_GCCOLLECT); /* give the garbage back before the next rule */
    /* The rule did not outgrow its cap: the machine is out of memory, which
     * is no fault of the rule and must not pass for its verdict. */
    return status == LUA_ERRMEM && sb->starved ? OBLIGO_ENOMEM : OBLIGO_ERULE;
}
