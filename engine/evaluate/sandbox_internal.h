/*
 * sandbox_internal.h — what the files of the Lua sandbox share, and nothing
 * else may include: the sandbox struct, the budget's charges, and the
 * functions sb_setup (sandbox.c) installs from sandbox_lib.c,
 * sandbox_pattern.c and sandbox_seal.c. The public API is sandbox.h.
 *
 * The sb_ names declared here keep the prefix they had when the sandbox was
 * one file: sb_ names the sandbox (sandbox*.c), not a single file.
 */
#ifndef OBLIGO_SANDBOX_INTERNAL_H
#define OBLIGO_SANDBOX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include "sandbox.h"

/* One instruction charged per 2^SHIFT bytes allocated or searched by memmem
 * in C, and per 2^DECODE_SHIFT bytes decoded (utf8, numbers); ELEMENT
 * instructions per table element or value handled in C. */
#define SB_BYTE_CHARGE_SHIFT 5
#define SB_DECODE_CHARGE_SHIFT 2
#define SB_ELEMENT_CHARGE 4

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

/* ---- sandbox.c: the state and the budget ---- */

/* The sandbox that owns L (the allocator's user data); borrowed. */
sandbox *sb_from(lua_State *L);
/* Adds n to the running call's instructions used; may raise the budget
 * error, so call it only where a Lua error may be raised. */
void sb_charge(lua_State *L, sandbox *sb, uint64_t n);
/* n elements moved or visited in C, in instructions (SB_ELEMENT_CHARGE
 * each). */
uint64_t sb_elements(uint64_t n);

/* ---- sandbox_lib.c: wrapped and replaced standard functions ---- */

/* A wrapped standard function; upvalue 1 is its SB_W_* number, and
 * sb->orig holds the original. */
int sb_wrapped(lua_State *L);
int sb_xpcall(lua_State *L);
int sb_str_rep(lua_State *L);
int sb_tab_insert(lua_State *L);
int sb_tab_remove(lua_State *L);
int sb_tab_concat(lua_State *L);

/* ---- sandbox_pattern.c: the pattern functions ---- */

int sb_str_find(lua_State *L);
int sb_str_match(lua_State *L);
int sb_str_gmatch(lua_State *L);
int sb_str_gsub(lua_State *L);

/* ---- sandbox_seal.c: read-only tables and a defined order ---- */

/* The registry key (by address) of the hidden table of standard names. */
extern const char SB_STD_KEY;
/* Checks and adjusts string.format's arguments before sb_wrapped calls the
 * original; may raise. */
void sb_format_args(lua_State *L);
/* The library proxy and _G's __newindex that sb_setup installs. */
void sb_push_lib_proxy(lua_State *L, int real, const char *name);
int sb_global_newindex(lua_State *L);
int sb_pairs(lua_State *L);
int sb_next(lua_State *L);
int sb_rawlen(lua_State *L);
int sb_tostring(lua_State *L);

#endif
