/*
 * test_sandbox.c — unit tests for the sandbox (sandbox*.c): every way out of the sandbox a
 * rule might try, the limits (memory, instructions, strings, patterns), the
 * structured errors, and that a sandbox stays usable after each failure.
 *
 * The pattern functions are this engine's own matcher; test_pattern_parity
 * runs the same cases through a stock Lua state and through the sandbox and
 * requires identical results, error messages included.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "alloc.h"
#include "error.h"
#include "sandbox.h"

/* ---- helpers ------------------------------------------------------------ */

static sandbox *new_sandbox(size_t memory, uint64_t instructions)
{
    sandbox_limits limits = {.memory_bytes = memory, .instructions = instructions};
    sandbox *sb = NULL;
    assert_int_equal(sandbox_new(&limits, &sb), 0);
    assert_non_null(sb);
    return sb;
}

/* Loads and calls code; returns sandbox_call's code (or the load's). */
static int run(sandbox *sb, const char *name, const char *code, int nresults, sandbox_error *err)
{
    int rc = sandbox_load_buffer(sb, code, strlen(code), name, err);
    if (rc != 0)
        return rc;
    return sandbox_call(sb, 0, nresults, err);
}

/* Runs code that must succeed, leaving nresults values on the stack. */
static void run_ok(sandbox *sb, const char *code, int nresults)
{
    sandbox_error err = {0};
    int rc = run(sb, "rules/ok.lua", code, nresults, &err);
    if (rc != 0)
        fail_msg("unexpected error (kind %d) at %s:%d: %s\n--- code:\n%s", err.kind,
                 err.file ? err.file : "?", err.line, err.message ? err.message : "?", code);
}

/* Runs code that must return the single string `expected`. */
static void expect_result(sandbox *sb, const char *code, const char *expected)
{
    lua_State *L = sandbox_state(sb);
    int top = lua_gettop(L);
    run_ok(sb, code, 1);
    const char *got = lua_tostring(L, -1);
    if (!got || strcmp(got, expected) != 0)
        fail_msg("code: %s\nexpected: %s\ngot: %s", code, expected, got ? got : "(not a string)");
    lua_settop(L, top);
}

/* Runs code that must fail with `kind`; `line` (when > 0) and a message
 * containing `text` (when not NULL). The stack must be as before. */
static void expect_failure(sandbox *sb, const char *code, int kind, int line, const char *text)
{
    lua_State *L = sandbox_state(sb);
    int top = lua_gettop(L);
    sandbox_error err = {0};
    int rc = run(sb, "rules/bad.lua", code, 0, &err);
    if (rc != OBLIGO_ERULE)
        fail_msg("code did not fail: %s", code);
    assert_int_equal(lua_gettop(L), top);
    if (err.kind != kind)
        fail_msg("code: %s\nexpected kind %d, got %d (%s)", code, kind, err.kind,
                 err.message ? err.message : "?");
    assert_non_null(err.message);
    assert_non_null(err.traceback);
    if (line > 0) {
        assert_non_null(err.file);
        assert_string_equal(err.file, "rules/bad.lua");
        if (err.line != line)
            fail_msg("code: %s\nexpected line %d, got %d (%s)", code, line, err.line, err.message);
    }
    if (text && !strstr(err.message, text))
        fail_msg("code: %s\nexpected a message containing \"%s\", got \"%s\"", code, text,
                 err.message);
    sandbox_error_clear(&err);
}

/* The sandbox still runs ordinary code correctly. */
static void expect_usable(sandbox *sb)
{
    expect_result(sb, "local t = {} for i = 1, 100 do t[i] = i end return tostring(#t + 0)", "100");
}

/* ---- ordinary code --------------------------------------------------------- */

static void test_normal_code_works(void **state)
{
    sandbox *sb = new_sandbox(0, 0);
    lua_State *L = sandbox_state(sb);
    run_ok(sb,
           "local t = {}\n"
           "for i = 1, 5 do t[#t + 1] = string.format('%02d', i) end\n"
           "local s = table.concat(t, ',')\n"
           "local a, b = s:find('03', 1, true)\n"
           "local m = s:match('(%d+),(%d+)$')\n"
           "local g = ('hello world'):gsub('o', '0')\n"
           "local words = {}\n"
           "for w in ('a bc def'):gmatch('%a+') do words[#words + 1] = w end\n"
           "table.insert(words, 1, 'first')\n"
           "table.remove(words)\n"
           "table.sort(words)\n"
           "return s, a, b, math.floor(3.7), utf8.char(72, 228, 8364), g,\n"
           "       table.concat(words, '+'), select('#', table.unpack({1, 2, 3})),\n"
           "       tonumber('0x10'), utf8.len('h\\u{E4}h'), string.byte('A'),\n"
           "       ('x'):rep(3, '-'), table.move({1, 2, 3}, 1, 3, 2)[3], m,\n"
           "       rawequal(string, string), rawlen({1, 2}), type(pcall), _VERSION\n",
           18);
    assert_string_equal(lua_tostring(L, 1), "01,02,03,04,05");
    assert_int_equal(lua_tointeger(L, 2), 7);
    assert_int_equal(lua_tointeger(L, 3), 8);
    assert_int_equal(lua_tointeger(L, 4), 3);
    assert_string_equal(lua_tostring(L, 5), "H\xc3\xa4\xe2\x82\xac");
    assert_string_equal(lua_tostring(L, 6), "hell0 w0rld");
    assert_string_equal(lua_tostring(L, 7), "a+bc+first");
    assert_int_equal(lua_tointeger(L, 8), 3);
    assert_int_equal(lua_tointeger(L, 9), 16);
    assert_int_equal(lua_tointeger(L, 10), 3);
    assert_int_equal(lua_tointeger(L, 11), 65);
    assert_string_equal(lua_tostring(L, 12), "x-x-x");
    assert_int_equal(lua_tointeger(L, 13), 2);
    assert_string_equal(lua_tostring(L, 14), "04");
    assert_true(lua_toboolean(L, 15));
    assert_int_equal(lua_tointeger(L, 16), 2);
    assert_string_equal(lua_tostring(L, 17), "function");
    assert_string_equal(lua_tostring(L, 18), "Lua 5.4");
    lua_settop(L, 0);

    /* xpcall keeps its meaning while the budget lasts */
    expect_result(sb,
                  "local ok, m = xpcall(function() error('boom') end,\n"
                  "                     function(m) return 'handled: ' .. m end)\n"
                  "return tostring(ok) .. ' ' .. m",
                  "false handled: rules/ok.lua:1: boom");
    expect_result(
        sb, "return select(2, xpcall(function(a, b) return a + b end, print or error, 2, 3))", "5");
    /* pairs over a library lists its functions */
    expect_result(sb,
                  "local n = 0 for k, v in pairs(string) do\n"
                  "  if type(v) == 'function' then n = n + 1 end end\n"
                  "return n >= 15 and 'many' or tostring(n)",
                  "many");
    /* a rule may define globals of its own */
    expect_result(sb, "helper_value = 'mine' return helper_value", "mine");
    assert_true(sandbox_memory_used(sb) > 0);
    assert_true(sandbox_memory_used(sb) < ((size_t)1 << 20));
    sandbox_free(sb);
}

/* ---- escapes ---------------------------------------------------------------- */

static void test_dangerous_globals_are_absent(void **state)
{
    static const char *const names[] = {
        "load",    "loadstring", "dofile",    "loadfile",       "require",     "io",
        "os",      "debug",      "package",   "collectgarbage", "print",       "rawset",
        "rawget",  "coroutine",  "warn",      "string.dump",    "math.random", "math.randomseed",
        "_G.load", "_G.io",      "('').dump", "module",         "setfenv",     "getfenv",
    };
    sandbox *sb = new_sandbox(0, 0);
    char code[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(code, sizeof code, "return tostring(%s == nil)", names[i]);
        expect_result(sb, code, "true");
    }
    /* and trying to use them fails at the call, with the name */
    expect_failure(sb, "\nload('return 1')", SANDBOX_ERR_RUNTIME, 2,
                   "attempt to call a nil value (global 'load')");
    expect_failure(sb, "return require('os')", SANDBOX_ERR_RUNTIME, 1, "global 'require'");
    expect_failure(sb, "return io.open('/etc/passwd')", SANDBOX_ERR_RUNTIME, 1, "global 'io'");
    expect_failure(sb, "return os.execute('true')", SANDBOX_ERR_RUNTIME, 1, "global 'os'");
    expect_failure(sb, "return debug.getregistry()", SANDBOX_ERR_RUNTIME, 1, "global 'debug'");
    expect_failure(sb, "return package.loadlib('x', 'y')", SANDBOX_ERR_RUNTIME, 1,
                   "global 'package'");
    expect_failure(sb, "collectgarbage('stop')", SANDBOX_ERR_RUNTIME, 1, "collectgarbage");
    expect_failure(sb, "dofile('/etc/passwd')", SANDBOX_ERR_RUNTIME, 1, "dofile");
    expect_failure(sb, "loadfile('/etc/passwd')", SANDBOX_ERR_RUNTIME, 1, "loadfile");
    expect_failure(sb, "return string.dump(tostring)", SANDBOX_ERR_RUNTIME, 1, "dump");
    expect_failure(sb, "return (''):dump()", SANDBOX_ERR_RUNTIME, 1, "dump");
    sandbox_free(sb);
}

typedef struct dump_buf {
    char data[4096];
    size_t len;
} dump_buf;

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
    dump_buf *b = ud;
    if (sz > sizeof b->data - b->len)
        return 1;
    memcpy(b->data + b->len, p, sz);
    b->len += sz;
    return 0;
}

static void test_bytecode_is_refused(void **state)
{
    /* real bytecode, compiled by a stock state */
    lua_State *plain = luaL_newstate();
    assert_int_equal(luaL_loadstring(plain, "return 42"), LUA_OK);
    static dump_buf b;
    assert_int_equal(lua_dump(plain, dump_writer, &b, 0), 0);
    const char *bytecode = b.data;
    size_t len = b.len;
    assert_memory_equal(bytecode, "\x1bLua", 4);

    sandbox *sb = new_sandbox(0, 0);
    lua_State *L = sandbox_state(sb);
    sandbox_error err = {0};
    assert_int_equal(sandbox_load_buffer(sb, bytecode, len, "rules/evil.luac", &err), OBLIGO_ERULE);
    assert_int_equal(err.kind, SANDBOX_ERR_SYNTAX);
    assert_string_equal(err.file, "rules/evil.luac");
    assert_non_null(strstr(err.message, "binary chunk"));
    assert_int_equal(lua_gettop(L), 0);
    sandbox_error_clear(&err);

    /* the bare signature too */
    assert_int_equal(sandbox_load_buffer(sb, "\x1bLua\x54\x00", 6, "x", &err), OBLIGO_ERULE);
    assert_int_equal(err.kind, SANDBOX_ERR_SYNTAX);
    assert_non_null(strstr(err.message, "binary chunk"));
    sandbox_error_clear(&err);

    /* and from a file */
    char path[] = "/tmp/test_sandbox_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytecode, len), (ssize_t)len);
    close(fd);
    assert_int_equal(sandbox_load_file(sb, path, &err), OBLIGO_ERULE);
    assert_int_equal(err.kind, SANDBOX_ERR_SYNTAX);
    assert_string_equal(err.file, path);
    assert_non_null(strstr(err.message, "binary chunk"));
    sandbox_error_clear(&err);
    unlink(path);
    lua_close(plain);
    assert_int_equal(lua_gettop(L), 0);
    sandbox_free(sb);
}

static void test_string_metatable_is_unreachable(void **state)
{
    sandbox *sb = new_sandbox(0, 0);
    expect_result(sb, "return tostring(getmetatable(''))", "false");
    expect_result(sb, "return tostring(getmetatable(string))", "false");
    expect_result(sb, "return tostring(getmetatable(_G))", "false");
    expect_failure(sb, "setmetatable('', {})", SANDBOX_ERR_RUNTIME, 1, "table expected");
    expect_failure(sb, "local mt = getmetatable('')\nmt.__index = {}", SANDBOX_ERR_RUNTIME, 2,
                   "attempt to index a boolean value");
    expect_failure(sb, "setmetatable(string, {})", SANDBOX_ERR_RUNTIME, 1,
                   "cannot change a protected metatable");
    expect_failure(sb, "setmetatable(_G, {})", SANDBOX_ERR_RUNTIME, 1,
                   "cannot change a protected metatable");
    /* library functions cannot be replaced for other rules */
    expect_failure(sb, "string.find = function() return 42 end", SANDBOX_ERR_RUNTIME, 1,
                   "the string library is read-only in rules (cannot set string.find)");
    expect_failure(sb, "string.upper = nil", SANDBOX_ERR_RUNTIME, 1, "read-only");
    expect_failure(sb, "string.evil = 1", SANDBOX_ERR_RUNTIME, 1, "read-only");
    expect_failure(sb, "table.insert = print", SANDBOX_ERR_RUNTIME, 1, "read-only");
    expect_failure(sb, "math.floor = nil", SANDBOX_ERR_RUNTIME, 1, "read-only");
    expect_failure(sb, "utf8.char = nil", SANDBOX_ERR_RUNTIME, 1, "read-only");
    expect_failure(sb, "\n\nstring = { find = function() return 42 end }", SANDBOX_ERR_RUNTIME, 3,
                   "cannot assign to global 'string'");
    expect_failure(sb, "_G.string = {}", SANDBOX_ERR_RUNTIME, 1, "cannot assign to global");
    expect_failure(sb, "pairs = nil", SANDBOX_ERR_RUNTIME, 1, "cannot assign to global 'pairs'");
    /* the pairs iterator never hands out the real table */
    expect_result(sb,
                  "local it, s = pairs(string)\n"
                  "return tostring(rawequal(s, string))",
                  "true");
    /* a local of the same name is fine and stays local */
    expect_result(sb,
                  "local string = { find = function() return 'mine' end }\n"
                  "return string.find()",
                  "mine");
    /* and everything still works, for everyone */
    expect_result(sb,
                  "return string.find('abc', 'c') .. ('abc'):find('b') .. ('x'):upper() ..\n"
                  "       tostring(string.evil)",
                  "32Xnil");
    sandbox_free(sb);
}

static void test_host_may_extend(void **state)
{
    sandbox *sb = new_sandbox(0, 0);
    lua_State *L = sandbox_state(sb);
    /* outside calls the host adds globals and library functions */
    lua_pushinteger(L, 7);
    lua_setglobal(L, "host_value");
    lua_getglobal(L, "string");
    lua_pushcfunction(L, lua_gettop); /* returns its arguments */
    lua_setfield(L, -2, "host_fn");
    lua_pop(L, 1);
    lua_getglobal(L, "pairs");
    assert_int_equal(lua_type(L, -1), LUA_TFUNCTION);
    lua_pop(L, 1);
    assert_int_equal(lua_gettop(L), 0);
    expect_result(sb,
                  "return tostring(host_value) .. tostring(string.host_fn(1, 2)) ..\n"
                  "       tostring(('x'):host_fn())",
                  "71x");
    sandbox_free(sb);
}

static void test_gc_metamethod_refused(void **state)
{
    sandbox *sb = new_sandbox(0, 0);
    expect_failure(sb, "setmetatable({}, { __gc = function() while true do end end })",
                   SANDBOX_ERR_RUNTIME, 1, "__gc");
    expect_result(sb, "return tostring(#setmetatable({}, { __len = function() return 3 end }))",
                  "3");
    sandbox_free(sb);
}

/* ---- strings ------------------------------------------------------------------ */

static void test_huge_strings_refused(void **state)
{
    sandbox *sb = new_sandbox(0, 0);
    expect_failure(sb, "local s = 'ok'\nreturn ('x'):rep(2^30)", SANDBOX_ERR_RUNTIME, 2,
                   "string.rep result too large");
    expect_usable(sb);
    expect_failure(sb, "return ('xy'):rep(1 << 62, ',')", SANDBOX_ERR_RUNTIME, 1,
                   "string.rep result too large");
    expect_failure(sb, "return ('x'):rep(1024 * 1024 + 1)", SANDBOX_ERR_RUNTIME, 1,
                   "string.rep result too large");
    expect_result(sb, "return tostring(#('x'):rep(1024 * 1024))", "1048576");
    /* nothing to build: returns at once */
    expect_result(sb, "return ('') :rep(1 << 62) .. ('x'):rep(0) .. ('x'):rep(-5)", "");
    expect_failure(sb, "local s = ('x'):rep(1000)\nreturn s:gsub('x', ('y'):rep(2000))",
                   SANDBOX_ERR_RUNTIME, 2, "string.gsub result too large");
    expect_failure(sb, "local s = ('x'):rep(600000)\nreturn string.format('%s%s', s, s)",
                   SANDBOX_ERR_RUNTIME, 2, "string too long");
    /* every other way to build a string: the allocator refuses it */
    expect_failure(sb, "local s = ('x'):rep(600000)\nlocal t = s .. s\nreturn t",
                   SANDBOX_ERR_RUNTIME, 2,
                   "string too long: the rule built a string of more than 1048576");
    expect_failure(sb, "return string.pack('c15000000', '')", SANDBOX_ERR_RUNTIME, 1,
                   "the limit is 1048576 bytes");
    expect_failure(sb, "local s = ('x'):rep(600000)\nreturn table.concat({s, s})",
                   SANDBOX_ERR_RUNTIME, 2, "string too long");
    expect_failure(sb,
                   "local t = {}\nfor i = 1, 300 do t[i] = utf8.char(0x10FFFF):rep(1000) end\n"
                   "return table.concat(t)",
                   SANDBOX_ERR_RUNTIME, 3, "string too long");
    expect_failure(sb, "local s = ('x'):rep(1048576)\nreturn s:upper() .. 'y'", SANDBOX_ERR_RUNTIME,
                   2, "string too long");
    /* a rule's pcall sees a memory error and may go on; nothing was built */
    expect_result(sb,
                  "local s = ('x'):rep(600000)\nlocal ok = pcall(function() return s .. s end)\n"
                  "return tostring(ok)",
                  "false");
    expect_usable(sb);
    sandbox_free(sb);
}

static void test_catastrophic_patterns_fail_fast(void **state)
{
    sandbox *sb = new_sandbox(0, 0);
    expect_failure(sb, "local s = ('a'):rep(50000)\nreturn s:match('.-.-.-.-.-.-b')",
                   SANDBOX_ERR_RUNTIME, 2, "pattern too complex");
    /* one quantifier, but quadratic because the search restarts everywhere */
    expect_failure(sb, "return (('a'):rep(200000)):find('a*b')", SANDBOX_ERR_RUNTIME, 1,
                   "pattern too complex");
    expect_failure(sb, "for w in (('a'):rep(100000)):gmatch('a-a-a-b') do end", SANDBOX_ERR_RUNTIME,
                   1, "pattern too complex");
    expect_failure(sb, "return (('a'):rep(100000)):gsub('.-.-b', '')", SANDBOX_ERR_RUNTIME, 1,
                   "pattern too complex");

    expect_failure(sb, "return (('a'):rep(300000)):find('a+')", SANDBOX_ERR_RUNTIME, 1,
                   "string.find: string too long for pattern matching");
    expect_failure(sb, "return ('abc'):match(('a?'):rep(300))", SANDBOX_ERR_RUNTIME, 1,
                   "string.match: pattern too long");
    /* plain find has no caps (memmem is linear) */
    expect_result(sb, "return tostring((('a'):rep(300000) .. 'b'):find('ab', 1, true))", "300000");
    expect_result(sb, "return tostring((('a'):rep(300000) .. '!'):find('!'))", "300001");
    /* the cost is in the work, not the shape: the same pattern on a short
     * subject is fine */
    expect_result(sb, "return tostring(('aaab'):match('.-.-.-.-.-.-b'))", "aaab");
    /* a loop of individually cheap matches still runs out of budget */
    expect_failure(sb,
                   "local s = ('a'):rep(100000)\n"
                   "while true do s:find('b') end",
                   SANDBOX_ERR_BUDGET, 2, "instruction budget exceeded");
    expect_usable(sb);
    sandbox_free(sb);
}

/*
 * The matcher must behave exactly as lstrlib's: the same Lua script runs in
 * a stock state and in the sandbox, and both serialise every result and
 * every error message.
 */
static const char parity_script[] =
    "local out = {}\n"
    "local function add(...)\n"
    "  local t = table.pack(...)\n"
    "  for i = 1, t.n do out[#out + 1] = tostring(t[i]) end\n"
    "  out[#out + 1] = '|'\n"
    "end\n"
    "local S = 'THE (quick) fox, key = value; [[nested]] [x] 2024-01-31 aaab  trim  '\n"
    "local cases = {\n"
    "  {'hello world', 'o'}, {'hello world', 'o', 6}, {'hello world', 'l+'},\n"
    "  {'hello world', '^h'}, {'hello world', '^e'}, {'hello world', 'd$'},\n"
    "  {'hello world', '(h)(e)'}, {'hello world', '()ll()'}, {'hello', ''},\n"
    "  {'', ''}, {'', 'a*'}, {'abc', 'a*'}, {'abc', '.-'}, {'abc', 'x*'},\n"
    "  {S, '%((%a+)%)'}, {S, '%f[%a]%a+'}, {S, '%f[%A]'}, {S, '(%w+)%s*=%s*(%w+)'},\n"
    "  {'  trim me  ', '^%s*(.-)%s*$'}, {S, '%b[]'}, {'abcabc', '(abc)%1'},\n"
    "  {'aaa', 'a-b'}, {'aaab', 'a-b'}, {'x=1, y=2', '(%w+)=(%w+)'}, {'hello', '[aeiou]'},\n"
    "  {'hello', '[^aeiou]+'}, {'a-b-c', '[a-]'}, {'a]b', '[]]'}, {'a]b', '[%]]'},\n"
    "  {S, '(%d+)-(%d+)-(%d+)'}, {'hello', '%'}, {'hello', '[a'}, {'hello', '(h'},\n"
    "  {'hello', 'h)'}, {'hello', '%1'}, {'hello', '(l)%2'}, {'hello', '%bx'},\n"
    "  {'hello', '%b'}, {'hello', '%fx'}, {'hello', '%g+'}, {'\\195\\132\\195\\150 ok', "
    "'[\\128-\\255]+'},\n"
    "  {'hello', 'l', -2}, {'hello', 'l', -100}, {'hello', 'l', 100}, {'hello', 'l', 0},\n"
    "  {'a.b.c', '%.'}, {'a+b', 'a+b'}, {'a+b', 'a%+b'}, {'aXb', '%u'}, {'a\\0b', '%z'},\n"
    "  {'a\\0b', '[%z]'}, {'a\\0b', '\\0'}, {'a\\0b', 'a%Zb'}, {'x^y', '^'}, {'x^y', 'x^'},\n"
    "  {'x^y', '^x^y'}, {'a$b', '$b'}, {'a$b', 'a$'}, {'abc', '[a-c]+'}, {'abc', '[c-a]+'},\n"
    "  {'f(a(b)c)d', '%b()'}, {'((', '%b()'}, {'THE END', '%f[%w]%w+$'},\n"
    "  {'aaa', '()a()'}, {'aaa', 'a?a?a?a'}, {'ab', 'a?b?c?'}, {'abab', '(a)(b)%2%1'},\n"
    "  {'xyz', '.'}, {'hello', '[%a%d_]+'}, {'123abc', '^%d+'}, {'  x', '^%s*'},\n"
    "  {'one two  three', '%s+'}, {'one two', '(%a+) (%a+)'}, {'aaa', 'a*?'},\n"
    "  {'abc', '((a)(b))'}, {'abc', '(a)(b)(c)(%a*)'}, {'abc', '[%a-z]'}, {'-', '[a-]'},\n"
    "  {'[', '[[]'}, {'^', '[%^]'}, {'^', '[^^]'}, {'a', '[^]'}, {'ab', '%f[b]'},\n"
    "  {'hello.lua', '%.lua$'}, {'aaa', 'a-'}, {'abc', ''}, {'abc', '()'},\n"
    "}\n"
    "for _, c in ipairs(cases) do\n"
    "  local s, p, i = c[1], c[2], c[3]\n"
    "  add(pcall(string.find, s, p, i))\n"
    "  add(pcall(string.find, s, p, i, true))\n"
    "  add(pcall(string.match, s, p, i))\n"
    "  local r = {}\n"
    "  local ok, e = pcall(function()\n"
    "    for a, b in string.gmatch(s, p, i) do r[#r + 1] = tostring(a) .. ',' .. tostring(b) end\n"
    "  end)\n"
    "  add(ok, ok and table.concat(r, ';') or e)\n"
    "  add(pcall(string.gsub, s, p, '<%0>'))\n"
    "  add(pcall(string.gsub, s, p, '<%1>'))\n"
    "  add(pcall(string.gsub, s, p, '%%', 2))\n"
    "  add(pcall(string.gsub, s, p, function(a, b) return a and ('[' .. a .. tostring(b) .. ']') "
    "end))\n"
    "  add(pcall(string.gsub, s, p, { hello = 'HI', o = false, a = 1 }))\n"
    "end\n"
    "add(pcall(string.gsub, 'hello', 'l', '%2'))\n"
    "add(pcall(string.gsub, 'hello', 'l', '%'))\n"
    "add(pcall(string.gsub, 'hello', 'l', '%x'))\n"
    "add(pcall(string.gsub, 'hello', '()l', '%1'))\n"
    "add(pcall(string.gsub, 'hello', 'l', {l = {}}))\n"
    "add(pcall(string.gsub, 'hello', 'l', true))\n"
    "add(pcall(string.gsub, 'hello', 'l', 7))\n"
    "add(pcall(string.gsub, 'hello world', '%w+', '%0 %0', 1))\n"
    "add(pcall(string.gsub, 'abc', '', '-'))\n"
    "add(pcall(string.gsub, 'abc', '.-', '-'))\n"
    "add(pcall(string.gsub, 'abc', 'b*', '-'))\n"
    "add(pcall(string.gsub, 'hello', 'x*', '-', 0))\n"
    "add(pcall(string.find, 'hello', ('(.)'):rep(33)))\n"
    "add(pcall(string.find, 'hello', ('(.)'):rep(32)))\n"
    "add(pcall(string.match, ('a'):rep(300), ('a?'):rep(250) .. ('a'):rep(250)))\n"
    "add(pcall(string.rep, 'ab', 3, ','))\n"
    "add(pcall(table.concat, {1, 2, 3}, ', ', 2, 3))\n"
    "add(pcall(table.concat, {1, {}, 3}))\n"
    "add(pcall(table.insert, {1, 2}, 5, 3))\n"
    "add(pcall(table.insert, {1, 2}, 1, 2, 3))\n"
    "add(pcall(table.remove, {1, 2}, 7))\n"
    "local t = {1, 2, 3} table.insert(t, 2, 'x') add(table.concat(t, ','))\n"
    "add(table.remove(t, 1), table.remove(t), table.concat(t, ','))\n"
    "local e = {} add(table.remove(e), #e, table.remove(e, 0), table.remove(e, 1))\n"
    "return table.concat(out, ' ')\n";

static void test_pattern_parity(void **state)
{
    lua_State *plain = luaL_newstate();
    luaL_openlibs(plain);
    /* the same chunk name as run_ok, so positions in messages agree */
    if (luaL_loadbuffer(plain, parity_script, strlen(parity_script), "@rules/ok.lua") != LUA_OK ||
        lua_pcall(plain, 0, 1, 0) != LUA_OK)
        fail_msg("stock Lua: %s", lua_tostring(plain, -1));
    const char *expected = lua_tostring(plain, -1);

    sandbox *sb = new_sandbox(0, 0);
    lua_State *L = sandbox_state(sb);
    run_ok(sb, parity_script, 1);
    const char *got = lua_tostring(L, -1);
    assert_non_null(got);
    if (strcmp(expected, got) != 0) {
        size_t i = 0;
        while (expected[i] && expected[i] == got[i])
            i++;
        size_t from = i > 120 ? i - 120 : 0;
        fail_msg("results differ at byte %zu\nstock:   %.300s\nsandbox: %.300s", i, expected + from,
                 got + from);
    }
    lua_close(plain);
    sandbox_free(sb);
}

/* ---- the instruction budget ------------------------------------------------------ */

static void test_budget_stops_loops(void **state)
{
    sandbox *sb = new_sandbox(0, 0);
    expect_failure(sb, "local x = 1\nwhile true do end", SANDBOX_ERR_BUDGET, 2,
                   "instruction budget exceeded");
    expect_usable(sb);
    /* pcall cannot swallow the stop */
    expect_failure(sb,
                   "for i = 1, 10 do\n"
                   "  pcall(function() while true do end end)\n"
                   "end\n"
                   "return 'escaped'",
                   SANDBOX_ERR_BUDGET, 0, "instruction budget exceeded");
    expect_failure(sb, "while true do pcall(function() while true do end end) end",
                   SANDBOX_ERR_BUDGET, 0, NULL);
    expect_failure(sb,
                   "local function f() return pcall(f) end\n"
                   "while true do f() end",
                   SANDBOX_ERR_BUDGET, 0, NULL);
    expect_usable(sb);
    sandbox_free(sb);
}

static void test_budget_xpcall_looping_handler(void **state)
{
    sandbox *sb = new_sandbox(0, 0);
    expect_failure(sb,
                   "xpcall(function() while true do end end, function() while true do end end)\n"
                   "return 'escaped'",
                   SANDBOX_ERR_BUDGET, 0, "instruction budget exceeded");
    expect_failure(sb,
                   "xpcall(function() error('x') end, function(m) while true do end end)\n"
                   "return 'escaped'",
                   SANDBOX_ERR_BUDGET, 0, NULL);
    expect_failure(
        sb,
        "local h\n"
        "h = function(m) return select(2, xpcall(function() while true do end end, h)) end\n"
        "while true do xpcall(error, h, 'x') end",
        SANDBOX_ERR_BUDGET, 0, NULL);
    /* to-be-closed variables run during unwinding, with the hook on */
    expect_failure(
        sb,
        "do\n"
        "  local x <close> = setmetatable({}, { __close = function() while true do end end })\n"
        "  error('x')\n"
        "end",
        SANDBOX_ERR_BUDGET, 0, NULL);
    /* so does an error object's __tostring, in the message handler */
    expect_failure(sb, "error(setmetatable({}, { __tostring = function() while true do end end }))",
                   SANDBOX_ERR_BUDGET, 0, NULL);
    expect_usable(sb);
    sandbox_free(sb);
}

static void test_budget_counts_work_in_c(void **state)
{
    sandbox *sb = new_sandbox(0, 0);
    /* each of these loops costs few instructions per turn but much work */
    expect_failure(sb, "local s = ('x'):rep(1000000)\nwhile true do local t = s .. 'y' end",
                   SANDBOX_ERR_BUDGET, 2, NULL);
    expect_failure(sb, "local s = ('x'):rep(500000)\nwhile true do local n = s:byte(1, -1) end",
                   SANDBOX_ERR_BUDGET, 2, NULL);
    expect_failure(sb, "table.move({}, 1, 1 << 40, 1, {})", SANDBOX_ERR_BUDGET, 1, NULL);
    expect_failure(sb,
                   "local t = setmetatable({}, { __len = function() return 1 << 40 end })\n"
                   "table.insert(t, 1, 'x')",
                   SANDBOX_ERR_BUDGET, 2, NULL);
    expect_failure(sb,
                   "local t = setmetatable({}, { __len = function() return 1 << 40 end })\n"
                   "table.remove(t, 1)",
                   SANDBOX_ERR_BUDGET, 2, NULL);
    expect_failure(sb,
                   "local t = {} for i = 1, 100000 do t[i] = '' end\n"
                   "while true do table.concat(t) end",
                   SANDBOX_ERR_BUDGET, 2, NULL);
    expect_failure(sb,
                   "local t = {} for i = 1, 100000 do t[i] = i end\n"
                   "while true do table.sort(t) end",
                   SANDBOX_ERR_BUDGET, 2, NULL);
    expect_failure(sb, "local s = ('\\u{E4}'):rep(200000)\nwhile true do utf8.len(s) end",
                   SANDBOX_ERR_BUDGET, 2, NULL);

    /* one instruction comparing two distinct 1 MB strings: only the CPU-time
     * backstop sees it (about one second for the default budget) */
    expect_failure(sb,
                   "local s, t = ('x'):rep(1000000), ('x'):rep(999999) .. 'x'\n"
                   "while s == t do end",
                   SANDBOX_ERR_BUDGET, 2, "CPU time");
    expect_usable(sb);
    sandbox_free(sb);
}

static void test_budget_limit_is_configurable(void **state)
{
    sandbox *sb = new_sandbox(0, 50000);
    expect_failure(sb, "for i = 1, 100000 do end", SANDBOX_ERR_BUDGET, 1,
                   "the limit is 50000 instructions");
    /* re-armed per call: many small calls each get the whole budget */
    for (int i = 0; i < 20; i++)
        expect_result(sb, "local n = 0 for i = 1, 10000 do n = n + 1 end return tostring(n)",
                      "10000");
    sandbox_free(sb);
}

/* ---- memory ------------------------------------------------------------------- */

static void test_memory_cap(void **state)
{
    sandbox *sb = new_sandbox((size_t)4 << 20, 0);
    expect_failure(sb, "local t = {}\nfor i = 1, 1e8 do t[i] = i end", SANDBOX_ERR_MEMORY, 0,
                   "not enough memory");
    assert_true(sandbox_memory_used(sb) < ((size_t)1 << 20)); /* collected after the error */
    expect_usable(sb);
    /* the file is named even though no handler runs for memory errors */
    sandbox_error err = {0};
    assert_int_equal(run(sb, "rules/mem.lua",
                         "local t, s = {}, ('x'):rep(1000)\nfor i = 1, 1e9 do t[i] = s .. i end", 0,
                         &err),
                     OBLIGO_ERULE);
    assert_int_equal(err.kind, SANDBOX_ERR_MEMORY);
    assert_string_equal(err.file, "rules/mem.lua");
    assert_non_null(strstr(err.message, "limit is 4194304 bytes"));
    sandbox_error_clear(&err);
    expect_usable(sb);
    /* a rule's pcall may catch a memory error and go on */
    expect_result(
        sb,
        "local ok, e = pcall(function() local t = {} for i = 1, 1e8 do t[i] = i end end)\n"
        "return tostring(ok) .. ' ' .. e",
        "false not enough memory");
    sandbox_free(sb);
}

static void test_out_of_engine_memory(void **state)
{
    sandbox *sb = NULL;
    alloc_fail_after(1);
    assert_int_equal(sandbox_new(NULL, &sb), OBLIGO_ENOMEM);
    alloc_fail_after(0);
    assert_null(sb);

    /* a state too small to build */
    sandbox_limits tiny = {.memory_bytes = 1024};
    assert_int_equal(sandbox_new(&tiny, &sb), OBLIGO_ENOMEM);
    assert_null(sb);

    /* The process runs out of memory at each allocation of a failing call
     * in turn: the state's own allocations say ENOMEM (not the rule's
     * fault), the error report's say ERULE with the rule's error; never a
     * leak, and the state stays usable. */
    sb = new_sandbox(0, 0);
    int enomem = 0, erule = 0;
    for (long n = 1; n <= 40; n++) {
        sandbox_error err = {0};
        const char *code = "error('boom' .. string.rep('!', 100))";
        assert_int_equal(sandbox_load_buffer(sb, code, strlen(code), "x.lua", &err), 0);
        alloc_fail_after(n);
        int rc = sandbox_call(sb, 0, 0, &err);
        alloc_fail_after(0);
        if (rc == OBLIGO_ENOMEM) {
            enomem++;
            assert_int_equal(err.kind, SANDBOX_ERR_MEMORY);
        } else {
            assert_int_equal(rc, OBLIGO_ERULE);
            assert_int_equal(err.kind, SANDBOX_ERR_RUNTIME);
            erule++;
        }
        sandbox_error_clear(&err);
    }
    assert_true(enomem > 0);
    assert_true(erule > 0);
    expect_usable(sb);
    sandbox_free(sb);
}

/* ---- errors -------------------------------------------------------------------- */

static void test_syntax_errors(void **state)
{
    sandbox *sb = new_sandbox(0, 0);
    lua_State *L = sandbox_state(sb);
    sandbox_error err = {0};
    const char *code = "local x = 1\nlocal y =\nif then end\n";
    assert_int_equal(sandbox_load_buffer(sb, code, strlen(code), "rules/avg.lua", &err),
                     OBLIGO_ERULE);
    assert_int_equal(err.kind, SANDBOX_ERR_SYNTAX);
    assert_string_equal(err.file, "rules/avg.lua");
    assert_int_equal(err.line, 3);
    assert_non_null(strstr(err.message, "unexpected symbol near 'if'"));
    assert_int_equal(lua_gettop(L), 0);
    sandbox_error_clear(&err);

    /* from a file, with a long path Lua shortens in its own messages */
    char dir[] = "/tmp/test_sandbox_dir_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof path,
             "%s/a-rather-long-directory-name-for-rules/and-another-one/breach.lua", dir);
    char sub[512];
    snprintf(sub, sizeof sub, "%s/a-rather-long-directory-name-for-rules", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(sub, sizeof sub, "%s/a-rather-long-directory-name-for-rules/and-another-one", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("-- rule\n\nreturn function()\n  return 1 +\nend\n", f);
    fclose(f);
    assert_int_equal(sandbox_load_file(sb, path, &err), OBLIGO_ERULE);
    assert_int_equal(err.kind, SANDBOX_ERR_SYNTAX);
    assert_string_equal(err.file, path);
    assert_int_equal(err.line, 5);
    assert_non_null(strstr(err.message, "unexpected symbol near 'end'"));
    sandbox_error_clear(&err);

    /* a runtime error in a file names the full path too */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("-- rule\n\nlocal t = nil\nreturn t.field\n", f);
    fclose(f);
    assert_int_equal(sandbox_load_file(sb, path, &err), 0);
    assert_int_equal(sandbox_call(sb, 0, 0, &err), OBLIGO_ERULE);
    assert_int_equal(err.kind, SANDBOX_ERR_RUNTIME);
    assert_string_equal(err.file, path);
    assert_int_equal(err.line, 4);
    assert_non_null(strstr(err.message, "attempt to index a nil value (local 't')"));
    sandbox_error_clear(&err);
    unlink(path);
    rmdir(sub);
    snprintf(sub, sizeof sub, "%s/a-rather-long-directory-name-for-rules", dir);
    rmdir(sub);
    rmdir(dir);

    /* unreadable: IO */
    assert_int_equal(sandbox_load_file(sb, "/nonexistent/rules/x.lua", &err), OBLIGO_ERULE);
    assert_int_equal(err.kind, SANDBOX_ERR_IO);
    assert_string_equal(err.file, "/nonexistent/rules/x.lua");
    assert_non_null(strstr(err.message, "cannot open"));
    sandbox_error_clear(&err);
    assert_int_equal(sandbox_load_file(sb, "/tmp", &err), OBLIGO_ERULE);
    assert_int_equal(err.kind, SANDBOX_ERR_IO);
    sandbox_error_clear(&err);
    assert_int_equal(lua_gettop(L), 0);
    sandbox_free(sb);
}

static void test_runtime_errors(void **state)
{
    sandbox *sb = new_sandbox(0, 0);
    lua_State *L = sandbox_state(sb);
    sandbox_error err = {0};
    const char *code = "local function f()\n"
                       "  error('boom')\n"
                       "end\n"
                       "f()\n";
    assert_int_equal(run(sb, "rules/r.lua", code, 0, &err), OBLIGO_ERULE);
    assert_int_equal(err.kind, SANDBOX_ERR_RUNTIME);
    assert_string_equal(err.file, "rules/r.lua");
    assert_int_equal(err.line, 2);
    assert_string_equal(err.message, "boom");
    assert_non_null(strstr(err.traceback, "stack traceback"));
    assert_non_null(strstr(err.traceback, "rules/r.lua:2"));
    assert_non_null(strstr(err.traceback, "rules/r.lua:4"));
    sandbox_error_clear(&err);

    /* error(msg, 2) blames the caller */
    expect_failure(sb,
                   "local function need(x)\n"
                   "  if not x then error('x is required', 2) end\n"
                   "end\n"
                   "need(nil)\n",
                   SANDBOX_ERR_RUNTIME, 4, "x is required");
    expect_failure(sb, "local a = {}\nreturn a.b.c", SANDBOX_ERR_RUNTIME, 2,
                   "attempt to index a nil value (field 'b')");
    expect_failure(sb, "\nreturn ('x'):rep()", SANDBOX_ERR_RUNTIME, 2, "bad argument #1 to 'rep'");
    expect_failure(sb, "return string.format('%d', 'x')", SANDBOX_ERR_RUNTIME, 1,
                   "bad argument #2 to 'format'");
    /* errors without a position get the innermost Lua line */
    expect_failure(sb, "\n\nerror('no position', 0)", SANDBOX_ERR_RUNTIME, 3, "no position");
    expect_failure(sb, "\nerror(42)", SANDBOX_ERR_RUNTIME, 2, "42");
    /* deep recursion */
    sandbox_error e2 = {0};
    assert_int_equal(
        run(sb, "rules/deep.lua", "local function f() return 1 + f() end\nf()", 0, &e2),
        OBLIGO_ERULE);
    assert_true(e2.kind == SANDBOX_ERR_RUNTIME || e2.kind == SANDBOX_ERR_MEMORY);
    sandbox_error_clear(&e2);
    expect_usable(sb);
    assert_int_equal(lua_gettop(L), 0);
    sandbox_free(sb);
}

static void test_error_objects(void **state)
{
    sandbox *sb = new_sandbox(0, 0);
    expect_failure(sb, "local x = 1\nerror({ code = 1 })", SANDBOX_ERR_RUNTIME, 2,
                   "(error object is a table value)");
    expect_failure(sb, "error(setmetatable({}, { __tostring = function() return 'custom' end }))",
                   SANDBOX_ERR_RUNTIME, 1, "custom");
    expect_failure(sb, "error(setmetatable({}, { __tostring = function() error('again') end }))",
                   SANDBOX_ERR_RUNTIME, 1, "(error object is a table value)");
    expect_failure(sb, "error()", SANDBOX_ERR_RUNTIME, 1, "(error object is a nil value)");
    expect_failure(sb, "error(true)", SANDBOX_ERR_RUNTIME, 1, "(error object is a boolean value)");
    sandbox_free(sb);
}

static void test_stack_discipline(void **state)
{
    sandbox *sb = new_sandbox(0, 0);
    lua_State *L = sandbox_state(sb);
    sandbox_error err = {0};
    lua_pushinteger(L, 1);
    lua_pushliteral(L, "two");
    lua_pushboolean(L, 1);

    const char *code = "return ...";
    assert_int_equal(sandbox_load_buffer(sb, code, strlen(code), "args.lua", &err), 0);
    lua_pushinteger(L, 10);
    lua_pushinteger(L, 20);
    assert_int_equal(sandbox_call(sb, 2, 2, &err), 0);
    assert_int_equal(lua_gettop(L), 5);
    assert_int_equal(lua_tointeger(L, 4), 10);
    assert_int_equal(lua_tointeger(L, 5), 20);
    lua_settop(L, 3);

    code = "local a, b = ... error(a + b)";
    assert_int_equal(sandbox_load_buffer(sb, code, strlen(code), "args.lua", &err), 0);
    lua_pushinteger(L, 1);
    lua_pushinteger(L, 2);
    assert_int_equal(sandbox_call(sb, 2, LUA_MULTRET, &err), OBLIGO_ERULE);
    assert_string_equal(err.message, "3");
    sandbox_error_clear(&err);
    assert_int_equal(lua_gettop(L), 3);

    assert_int_equal(sandbox_load_buffer(sb, "if", 2, "bad.lua", &err), OBLIGO_ERULE);
    sandbox_error_clear(&err);
    assert_int_equal(lua_gettop(L), 3);
    assert_int_equal(lua_tointeger(L, 1), 1);
    assert_string_equal(lua_tostring(L, 2), "two");
    assert_true(lua_toboolean(L, 3));

    /* not enough values for the call */
    assert_int_equal(sandbox_call(sb, 5, 0, &err), OBLIGO_EINVAL);
    assert_int_equal(lua_gettop(L), 3);
    sandbox_free(sb);
}

/* A host function that calls back into Lua through sandbox_call, as the
 * rule DSL may. */
static sandbox *nested_sb;

static int host_call(lua_State *L)
{
    sandbox_error err = {0};
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    if (sandbox_call(nested_sb, 0, 1, &err) != 0) {
        lua_pushfstring(L, "nested: %s", err.message ? err.message : "?");
        sandbox_error_clear(&err);
        return lua_error(L);
    }
    return 1;
}

static void test_nested_calls_share_the_budget(void **state)
{
    nested_sb = new_sandbox(0, 0);
    lua_State *L = sandbox_state(nested_sb);
    lua_pushcfunction(L, host_call);
    lua_setglobal(L, "host_call");
    expect_result(nested_sb, "return tostring(host_call(function() return 5 end))", "5");
    expect_failure(nested_sb,
                   "local ok, e = pcall(host_call, function() error('inner') end)\n"
                   "error(e, 0)",
                   SANDBOX_ERR_RUNTIME, 0, "nested: inner");
    /* the nested call does not hand out a fresh budget */
    expect_failure(nested_sb,
                   "for i = 1, 100 do\n"
                   "  pcall(host_call, function() for j = 1, 1e6 do end end)\n"
                   "end\n"
                   "return 'escaped'",
                   SANDBOX_ERR_BUDGET, 0, NULL);
    expect_usable(nested_sb);
    sandbox_free(nested_sb);
    nested_sb = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_code_works),
        cmocka_unit_test(test_dangerous_globals_are_absent),
        cmocka_unit_test(test_bytecode_is_refused),
        cmocka_unit_test(test_string_metatable_is_unreachable),
        cmocka_unit_test(test_host_may_extend),
        cmocka_unit_test(test_gc_metamethod_refused),
        cmocka_unit_test(test_huge_strings_refused),
        cmocka_unit_test(test_catastrophic_patterns_fail_fast),
        cmocka_unit_test(test_pattern_parity),
        cmocka_unit_test(test_budget_stops_loops),
        cmocka_unit_test(test_budget_xpcall_looping_handler),
        cmocka_unit_test(test_budget_counts_work_in_c),
        cmocka_unit_test(test_budget_limit_is_configurable),
        cmocka_unit_test(test_memory_cap),
        cmocka_unit_test(test_out_of_engine_memory),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_runtime_errors),
        cmocka_unit_test(test_error_objects),
        cmocka_unit_test(test_stack_discipline),
        cmocka_unit_test(test_nested_calls_share_the_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
