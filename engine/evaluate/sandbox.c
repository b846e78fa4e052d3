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
 * minutes within budget. Every hook tick (and every 256th charge from C)
 * looks at the monotonic clock, and once that much wall time has passed,
 * at the thread's CPU time, and stops a call that used more than
 * SB_CPU_NS_PER_INSTRUCTION for each budgeted instruction (at least
 * SB_CPU_MIN_NS, 100 ms; 250 ms for the default budget), with the same error
 * as the budget. Ordinary code runs at ~3 ns per instruction, so only such
 * loops reach it. Setting SB_CPU_NS_PER_INSTRUCTION to 0 turns it off.
 *
 * The files. This one holds the state and its allocator, the budget and
 * its CPU-time backstop, the building of the state (sb_setup), errors,
 * loading and sandbox_call. The wrapped standard functions (string.rep,
 * the table functions, the checks around format, sort, utf8 and the rest,
 * xpcall) are in sandbox_lib.c, the pattern functions in
 * sandbox_pattern.c, read-only tables, sorted pairs and next, tostring
 * and the freeze of the rule set in sandbox_seal.c. What they share is in
 * sandbox_internal.h.
 */
#include "sandbox.h"
#include "sandbox_internal.h"

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
/* The CPU-time backstop (see the top of the file). */
#define SB_CPU_NS_PER_INSTRUCTION 25
#define SB_CPU_MIN_NS UINT64_C(100000000)

#define SB_BUDGET_MSG "instruction budget exceeded"
/* A string object is a header (TString), the text and a NUL; the header's
 * size is measured when the state is built (sb_setup), this is the guess
 * until then. */
#define SB_STRING_HEADER_GUESS 24
#define SB_PROBE_LEN 100 /* a long string: short ones (<= 40 bytes) are laid out otherwise */
/* sb_charge looks at the clock once per this many calls: the pattern
 * matcher charges every step. */
#define SB_CHARGE_CLOCK_CALLS 256

static void sb_hook(lua_State *L, lua_Debug *ar);

sandbox *sb_from(lua_State *L)
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
void sb_charge(lua_State *L, sandbox *sb, uint64_t n)
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

/* The charge for n elements handled in C, saturated. */
uint64_t sb_elements(uint64_t n)
{
    return n > UINT64_MAX / SB_ELEMENT_CHARGE ? UINT64_MAX : n * SB_ELEMENT_CHARGE;
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

/* The standard functions sb_wrap replaces by sb_wrapped (sandbox_lib.c),
 * in SB_W_* order. */
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
