/*
 * sandbox.h — a Lua 5.4 state that is safe to hand to rule authors.
 *
 * What a sandbox guarantees (DESIGN §6, STYLE.md, modelled on Redis'
 * script_lua.c and Lua's own lua.c):
 *   - only allow-listed globals: the base library without load, loadstring,
 *     dofile, loadfile, require, collectgarbage, print, rawset/rawget on
 *     foreign tables, setmetatable/getmetatable on strings; the string (with
 *     dump removed), table, math (random seeded deterministically or
 *     removed) and utf8 libraries; no io, os, debug, package, coroutine;
 *   - text chunks only (mode "t"): precompiled bytecode is refused;
 *   - a memory cap enforced by the lua_Alloc: an allocation beyond the cap
 *     fails and Lua raises "not enough memory";
 *   - an instruction budget enforced by a count hook; once the budget is
 *     spent the hook fires on every instruction so a pcall inside the rule
 *     cannot swallow the stop;
 *   - string.rep/format and the pattern functions (find, match, gmatch,
 *     gsub) guarded against huge results and catastrophic patterns;
 *   - the string metatable cannot be reached or altered from Lua.
 *
 * One sandbox is used by one thread at a time.
 */
#ifndef OBLIGO_SANDBOX_H
#define OBLIGO_SANDBOX_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sandbox sandbox;

typedef struct sandbox_limits {
    size_t memory_bytes;     /* total bytes the state may hold; 0: 64 MiB */
    uint64_t instructions;   /* budget per sandbox_call; 0: 10,000,000 */
    size_t max_string_bytes; /* largest string any rule may build; 0: 1 MiB */
    /* budget for all rules of one event together (rules.c shares it out
     * evenly among them); 0: 20,000,000 */
    uint64_t event_instructions;
} sandbox_limits;

/* A failure inside Lua, as a person should read it. Strings are owned by the
 * struct; release them with sandbox_error_clear. */
typedef struct sandbox_error {
    char *file;    /* chunk name without the leading '@', or NULL */
    int line;      /* 0 when unknown */
    char *message; /* the error text without the "file:line:" prefix */
    char *traceback;
    int kind; /* SANDBOX_ERR_* */
} sandbox_error;

enum {
    SANDBOX_ERR_RUNTIME = 1,
    SANDBOX_ERR_SYNTAX,
    SANDBOX_ERR_MEMORY,
    SANDBOX_ERR_BUDGET,
    SANDBOX_ERR_IO,
};

/* Creates a sandbox. limits may be NULL for the defaults. Returns 0,
 * OBLIGO_ENOMEM. *out is owned by the caller (sandbox_free). */
int sandbox_new(const sandbox_limits *limits, sandbox **out);
void sandbox_free(sandbox *sb);
/* The state, borrowed. The caller may add globals (the rule DSL) to it. */
lua_State *sandbox_state(sandbox *sb);

/* Loads a text chunk from a file (or from a buffer, with `chunkname` used in
 * messages as the file name) and leaves the compiled function on the stack.
 * Returns 0, or OBLIGO_ERULE with *err filled (nothing is left on the stack).
 * Bytecode is refused. */
int sandbox_load_file(sandbox *sb, const char *path, sandbox_error *err);
int sandbox_load_buffer(sandbox *sb, const char *buf, size_t len, const char *chunkname,
                        sandbox_error *err);

/* Calls the function below nargs arguments on the stack, like lua_pcall, with
 * a message handler that records file:line and a traceback, the instruction
 * budget re-armed and memory accounting on. Returns 0 (results on the
 * stack), or OBLIGO_ERULE with *err filled and the stack as before the
 * function was pushed — OBLIGO_ENOMEM instead when the process itself ran
 * out of memory (not the state's cap). Never raises. */
int sandbox_call(sandbox *sb, int nargs, int nresults, sandbox_error *err);

/* Bytes currently held by the state. */
size_t sandbox_memory_used(const sandbox *sb);

void sandbox_error_clear(sandbox_error *err);

/* ---- sealing (see sandbox_seal.c, "sealing") ----
 *
 * A table whose metatable has this field shows its contents elsewhere:
 * the field is the table of contents, or a function(t) returning it.
 * Frozen tables, library proxies and rules_json.c's event views have it; the
 * sandbox's pairs, next and rawlen read through it. Rules cannot reach a
 * metatable, so they cannot reach the contents table either. */
#define SANDBOX_CONTENTS "__obligo_contents"

/* Pushes the contents of the value at idx (itself when it has none). May
 * raise (a contents function runs); call inside a protected call. */
void sandbox_push_contents(lua_State *L, int idx);
/* Pushes an array of the keys of the table at idx, sorted: numbers, then
 * strings bytewise, then false and true. A key of another type raises a
 * Lua error, or is left out when skip_unordered. Charged to the budget. */
void sandbox_push_sorted_keys(lua_State *L, int idx, int skip_unordered);
/* Freezes the table at idx in place: its contents move behind a locked
 * metatable whose __newindex raises "<what> is read-only". May raise. */
void sandbox_freeze_table(lua_State *L, int idx, const char *what);
/* Charges work done in C to the running call's budget; raises once it is
 * spent. Nothing outside a call. */
void sandbox_charge(lua_State *L, uint64_t instructions);

/* Moves every global the host has set behind _G's __index, so no rule can
 * assign it (tables among them are frozen). Call after adding the DSL and
 * before loading rule files. Returns 0 or OBLIGO_ENOMEM. */
int sandbox_protect_globals(sandbox *sb);
/* Seals the state once the rule files are loaded: their globals become
 * read-only, every table reachable from the globals and from the functions
 * in the table at index roots (0: none) is frozen, and every upvalue
 * reachable is recorded for sandbox_restore. From then on a call that
 * assigns a global raises. Returns 0, OBLIGO_ENOMEM, or OBLIGO_ERULE with
 * *err (caller frees) when the files keep something that cannot be frozen
 * (a table with a metatable). */
int sandbox_freeze(sandbox *sb, int roots, char **err);
/* After a call: puts back every recorded upvalue the call changed (a rule
 * assigning a file-level local). Returns 1 with *name (caller frees; NULL
 * on out of memory) naming the first one, or 0 when none changed. */
int sandbox_restore(sandbox *sb, char **name);

/* The instruction budget of the next calls (0: the limits' default), and
 * the default. The CPU-time backstop follows the budget. */
void sandbox_set_budget(sandbox *sb, uint64_t instructions);
uint64_t sandbox_budget(const sandbox *sb);

#endif
