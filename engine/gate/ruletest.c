/*
 * ruletest.c — the rule tests that live beside the rules (*_test.lua), run
 * for `obligo test` and for the reload gate (ruletest.h).
 */
#include "ruletest.h"

#include <lauxlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "clock.h"
#include "error.h"
#include "obligations.h"
#include "outbox.h"
#include "registers.h"
#include "sandbox.h"

typedef struct test_run {
    const ruletest_env *env;
    config *cfg; /* env's settings with an in-memory database */
    int passed, failed;
    cJSON *covered_rules, *covered_kinds; /* objects used as sets */
} test_run;

/* ---- reading test files ---------------------------------------------------- */

static const char TEST_LIST_KEY[] = "obligo.tests";

/* test "name" { ... } : the table is stored with its name, file and line. */
static int test_declare(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, LUA_REGISTRYINDEX, TEST_LIST_KEY);
    lua_Debug ar;
    int line = lua_getstack(L, 1, &ar) && lua_getinfo(L, "l", &ar) ? ar.currentline : 0;
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_setfield(L, -2, "name");
    lua_pushinteger(L, line);
    lua_setfield(L, -2, "line");
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "spec");
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return 0;
}

static int test_curry(lua_State *L)
{
    luaL_checkstring(L, 1);
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, test_declare, 1);
    return 1;
}

static int test_to_json(lua_State *L)
{
    cJSON **out = lua_touserdata(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, TEST_LIST_KEY);
    *out = rules_lua_to_json(L, -1);
    return 0;
}

/* The tests a file declares, as JSON, or NULL with *err. */
static cJSON *test_read_file(const rules_file *f, char **err)
{
    sandbox *sb = NULL;
    *err = NULL;
    if (sandbox_new(NULL, &sb))
        return NULL;
    lua_State *L = sandbox_state(sb);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, TEST_LIST_KEY);
    lua_pushcfunction(L, test_curry);
    lua_setglobal(L, "test");
    cJSON *out = NULL;
    sandbox_error se = {0};
    int rc = sandbox_load_buffer(sb, f->text, f->len, f->path, &se);
    if (!rc)
        rc = sandbox_call(sb, 0, 0, &se);
    if (!rc) {
        lua_pushcfunction(L, test_to_json);
        lua_pushlightuserdata(L, &out);
        rc = sandbox_call(sb, 1, 0, &se);
    }
    if (rc) {
        *err =
            se.file && se.line
                ? obligo_asprintf("%s:%d: %s", se.file, se.line, se.message ? se.message : "error")
                : obligo_asprintf("%s: %s", f->path, se.message ? se.message : "error");
        sandbox_error_clear(&se);
        cJSON_Delete(out);
        out = NULL;
    }
    sandbox_free(sb);
    return out;
}

/* ---- running one test -------------------------------------------------------- */

typedef struct test_case {
    const char *file, *name;
    int line;
    char *problem; /* the first failed expectation */
} test_case;

static void test_fail(test_case *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void test_fail(test_case *t, const char *fmt, ...)
{
    if (t->problem)
        return;
    va_list ap;
    va_start(ap, fmt);
    t->problem = obligo_vasprintf(fmt, ap);
    va_end(ap);
}

static const char *test_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int test_same_instant(const char *got, const char *want)
{
    obligo_time a, b;
    return got && want && clock_parse_any(got, &a) == 0 && clock_parse_any(want, &b) == 0 && a == b;
}

/* Items of `list` whose kind and subject match `want` (subject optional). */
static int test_count_status(const cJSON *list, const cJSON *want, const char *status,
                             const cJSON **first)
{
    const char *kind = test_str(want, "kind"), *subject = test_str(want, "subject");
    int n = 0;
    *first = NULL;
    for (const cJSON *o = list ? list->child : NULL; o; o = o->next) {
        const char *k = test_str(o, "kind"), *s = test_str(o, "subject");
        const char *st = test_str(o, "status");
        if (kind && (!k || strcmp(k, kind) != 0))
            continue;
        if (subject && (!s || strcmp(s, subject) != 0))
            continue;
        if (status && (!st || strcmp(st, status) != 0))
            continue;
        if (!*first)
            *first = o;
        n++;
    }
    return n;
}

static int test_count(const cJSON *list, const cJSON *want, const cJSON **first)
{
    return test_count_status(list, want, NULL, first);
}

/* The one obligation a test expects: of its kind and subject, and of its
 * status when it names one, so that a periodic duty's closed period and
 * its open next one can both be expected. NULL after saying why not. */
static const cJSON *test_one_obligation(test_case *t, const cJSON *obls, const cJSON *w)
{
    const char *st = test_str(w, "status");
    const cJSON *o;
    int n = test_count_status(obls, w, st, &o);
    if (n == 1)
        return o;
    int any = test_count(obls, w, &o);
    if (n == 0 && any == 1)
        test_fail(t, "obligation %s %s: status %s, expected %s", test_str(w, "kind"),
                  test_str(o, "subject"), test_str(o, "status"), st);
    else
        test_fail(t, "obligation %s %s: found %d%s%s, expected 1", test_str(w, "kind"),
                  test_str(w, "subject") ? test_str(w, "subject") : "", n, st ? " " : "",
                  st ? st : "");
    return NULL;
}

static void test_expect(test_case *t, engine *e, const cJSON *spec)
{
    obligations_filter of = {0};
    outbox_filter af = {0};
    cJSON *obls = obligations_list(&e->st, &of), *alerts = outbox_list(&e->st, &af);
    const cJSON *w, *o;
    cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(spec, "obligations"))
    {
        if (!(o = test_one_obligation(t, obls, w)))
            continue;
        static const char *const times[] = {"due_at", "legal_limit", "closed_at"};
        for (int i = 0; i < 3; i++) {
            const char *want = test_str(w, times[i]);
            if (want && !test_same_instant(test_str(o, times[i]), want))
                test_fail(t, "obligation %s %s: %s %s, expected %s", test_str(w, "kind"),
                          test_str(o, "subject"), times[i],
                          test_str(o, times[i]) ? test_str(o, times[i]) : "none", want);
        }
    }
    cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(spec, "absent_obligations"))
    {
        if (test_count(obls, w, &o))
            test_fail(t, "obligation %s %s: present, expected none", test_str(w, "kind"),
                      test_str(w, "subject") ? test_str(w, "subject") : "");
    }
    cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(spec, "alerts"))
    {
        int n = test_count(alerts, w, &o);
        const cJSON *count = cJSON_GetObjectItemCaseSensitive(w, "count");
        if (cJSON_IsNumber(count) ? n != (int)count->valuedouble : n == 0)
            test_fail(t, "alert %s %s: raised %d times", test_str(w, "kind"),
                      test_str(w, "subject") ? test_str(w, "subject") : "", n);
        const char *sev = test_str(w, "severity");
        if (o && sev && strcmp(sev, test_str(o, "severity")) != 0)
            test_fail(t, "alert %s: severity %s, expected %s", test_str(w, "kind"),
                      test_str(o, "severity"), sev);
    }
    cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(spec, "absent_alerts"))
    {
        int n = test_count(alerts, w, &o);
        if (n)
            test_fail(t, "alert %s %s: raised %d times, expected none", test_str(w, "kind"),
                      test_str(w, "subject") ? test_str(w, "subject") : "", n);
    }
    const cJSON *regs = cJSON_GetObjectItemCaseSensitive(spec, "register");
    for (const cJSON *reg = regs ? regs->child : NULL; reg; reg = reg->next) {
        cJSON *rows = registers_list(&e->st, reg->string, 0);
        cJSON_ArrayForEach(w, reg)
        {
            const char *key = test_str(w, "key");
            const cJSON *row = NULL;
            cJSON_ArrayForEach(o, rows) if (key && !strcmp(test_str(o, "key"), key)) row = o;
            if (!row) {
                test_fail(t, "register %s: no entry %s", reg->string, key ? key : "?");
                continue;
            }
            const cJSON *data = cJSON_GetObjectItemCaseSensitive(row, "data");
            const cJSON *f;
            cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(w, "data"))
            {
                if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(data, f->string), f, 1)) {
                    char *got =
                        cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(data, f->string));
                    test_fail(t, "register %s %s: %s is %s", reg->string, key, f->string,
                              got ? got : "absent");
                    cJSON_free(got);
                }
            }
        }
        cJSON_Delete(rows);
    }
    cJSON_Delete(obls);
    cJSON_Delete(alerts);
}

/* Fills in what a test's events may leave out. */
static cJSON *test_event(const cJSON *given, int n)
{
    cJSON *ev = cJSON_Duplicate(given, 1);
    if (!ev)
        return NULL;
    char id[32];
    snprintf(id, sizeof id, "test-%d", n);
    if (!cJSON_GetObjectItemCaseSensitive(ev, "specversion"))
        cJSON_AddStringToObject(ev, "specversion", "1.0");
    if (!cJSON_GetObjectItemCaseSensitive(ev, "id"))
        cJSON_AddStringToObject(ev, "id", id);
    if (!cJSON_GetObjectItemCaseSensitive(ev, "source"))
        cJSON_AddStringToObject(ev, "source", "urn:obligo:test");
    return ev;
}

static void test_note_coverage(test_run *run, engine *e)
{
    sqlite3_stmt *s = store_stmt(&e->st, "SELECT DISTINCT rule FROM decisions WHERE rule IS "
                                         "NOT NULL");
    while (s && sqlite3_step(s) == SQLITE_ROW) {
        const char *rule = (const char *)sqlite3_column_text(s, 0);
        if (!cJSON_GetObjectItemCaseSensitive(run->covered_rules, rule))
            cJSON_AddTrueToObject(run->covered_rules, rule);
    }
    if (s)
        sqlite3_reset(s);
    s = store_stmt(&e->st, "SELECT DISTINCT kind FROM obligations");
    while (s && sqlite3_step(s) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(s, 0);
        if (!cJSON_GetObjectItemCaseSensitive(run->covered_kinds, kind))
            cJSON_AddTrueToObject(run->covered_kinds, kind);
    }
    if (s)
        sqlite3_reset(s);
}

static void test_run_one(test_run *run, test_case *t, const cJSON *spec)
{
    engine e;
    char *err = NULL;
    /* A test may set its own policy (policy = { ["name"] = value }), so an
     * officer can prove a changed threshold: the same sources are compiled
     * with it. Others judge with the set under test itself. */
    rules *own = NULL, *set = run->env->defaults;
    const cJSON *policy = cJSON_GetObjectItemCaseSensitive(spec, "policy");
    if (policy) {
        if (!cJSON_IsObject(policy) && !(cJSON_IsArray(policy) && !policy->child)) {
            test_fail(t, "policy must be a table of names and values, such as "
                         "policy = { [\"nen7513.vip_burst.users\"] = 3 }");
            return;
        }
        if (policy->child) {
            int rc = rules_load_sources(run->env->src, policy, &run->cfg->limits, run->env->plugins,
                                        &own, &err);
            if (rc) {
                test_fail(t, "%s", err ? err : obligo_strerror(rc));
                obligo_free(err);
                return;
            }
            set = own;
        }
    }
    if (engine_open_with(&e, run->cfg, run->env->plugins, set, &err)) {
        test_fail(t, "%s", err ? err : "the engine did not open");
        obligo_free(err);
        rules_free(own);
        return;
    }
    int rc = engine_begin(&e), n = 0;
    const cJSON *given;
    cJSON_ArrayForEach(given, cJSON_GetObjectItemCaseSensitive(spec, "events"))
    {
        if (rc || t->problem)
            break;
        cJSON *filled = test_event(given, ++n);
        char *raw = filled ? cJSON_PrintUnformatted(filled) : NULL;
        cJSON_Delete(filled);
        char *field = NULL, *reason = NULL;
        cJSON *ev = raw ? engine_decode(&e, raw, strlen(raw), &field, &reason) : NULL;
        if (!ev) {
            test_fail(t, "event %d is refused: %s%s%s", n, field ? field : "", field ? ": " : "",
                      reason ? reason : "out of memory");
        } else {
            obligo_time at;
            if (clock_parse_rfc3339(cJSON_GetObjectItemCaseSensitive(ev, "time")->valuestring,
                                    &at) == 0 &&
                at > e.now)
                rc = engine_fire_due(&e, at, 0, NULL);
            int dup = 0;
            if (!rc)
                rc = engine_event(&e, ev, raw, strlen(raw), &dup);
        }
        cJSON_Delete(ev);
        cJSON_free(raw);
        obligo_free(field);
        obligo_free(reason);
    }
    const char *at_s = test_str(spec, "at");
    obligo_time at = e.now;
    if (at_s && clock_parse_any(at_s, &at))
        test_fail(t, "at \"%s\" is not an RFC 3339 time with offset", at_s);
    if (!rc && !t->problem)
        rc = engine_fire_due(&e, at, 0, NULL);
    if (!rc)
        rc = engine_commit(&e);
    if (rc) {
        engine_rollback(&e);
        test_fail(t, "the engine failed: %s", obligo_strerror(rc));
    }
    if (!t->problem) {
        test_expect(t, &e, spec);
        test_note_coverage(run, &e);
    }
    engine_close(&e);
    rules_free(own);
}

/* ---- the whole run ------------------------------------------------------------ */

/* Settings for the tests' engines: env's limits and intake rules, an
 * in-memory database, no alert sinks. */
static int test_config(const config *src, config *dst)
{
    char *err = NULL;
    if (config_load(dst, NULL, &err))
        return OBLIGO_ENOMEM;
    int rc = config_set(&dst->db_path, ":memory:");
    for (int i = 0; i < dst->nsinks; i++)
        obligo_free(dst->sinks[i]);
    dst->nsinks = 0;
    if (src) {
        dst->limits = src->limits;
        dst->allow_unknown_types = src->allow_unknown_types;
        dst->max_event_bytes = src->max_event_bytes;
    }
    if (rc) {
        config_free(dst);
        return OBLIGO_ENOMEM;
    }
    return 0;
}

static int test_add_result(ruletest_report *out, const char *file, int line, const char *name,
                           const char *problem)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "file", file) ||
        !cJSON_AddNumberToObject(o, "line", line) ||
        !(name ? cJSON_AddStringToObject(o, "name", name) : cJSON_AddNullToObject(o, "name")) ||
        (problem && !cJSON_AddStringToObject(o, "problem", problem)) ||
        !cJSON_AddItemToArray(out->results, o)) {
        cJSON_Delete(o);
        return OBLIGO_ENOMEM;
    }
    return 0;
}

/* Every rule and obligation kind of the set that no test reached. */
static int test_coverage(test_run *run, ruletest_report *out)
{
    cJSON *desc = rules_describe(run->env->defaults);
    if (!desc)
        return OBLIGO_ENOMEM;
    int rc = 0;
    static const char *const lists[] = {"rules", "obligations"};
    for (int l = 0; l < 2 && !rc; l++) {
        const cJSON *covered = l == 0 ? run->covered_rules : run->covered_kinds;
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(desc, lists[l]))
        {
            out->total++;
            const char *name = test_str(item, "name");
            if (cJSON_GetObjectItemCaseSensitive(covered, name)) {
                out->covered++;
                continue;
            }
            cJSON *u = cJSON_CreateObject();
            if (!u || !cJSON_AddStringToObject(u, "what", l == 0 ? "rule" : "obligation") ||
                !cJSON_AddStringToObject(u, "name", name) ||
                !cJSON_AddItemToObject(u, "file",
                                       cJSON_Duplicate(cJSON_GetObjectItem(item, "file"), 0)) ||
                !cJSON_AddItemToObject(u, "line",
                                       cJSON_Duplicate(cJSON_GetObjectItem(item, "line"), 0)) ||
                !cJSON_AddItemToArray(out->uncovered, u)) {
                cJSON_Delete(u);
                rc = OBLIGO_ENOMEM;
                break;
            }
        }
    }
    cJSON_Delete(desc);
    return rc;
}

int ruletest_run(const ruletest_env *env, const char *pattern, ruletest_report *out)
{
    memset(out, 0, sizeof *out);
    config cfg;
    if (test_config(env->cfg, &cfg))
        return OBLIGO_ENOMEM;
    test_run run = {.env = env, .cfg = &cfg};
    run.covered_rules = cJSON_CreateObject();
    run.covered_kinds = cJSON_CreateObject();
    out->results = cJSON_CreateArray();
    out->uncovered = cJSON_CreateArray();
    int rc = run.covered_rules && run.covered_kinds && out->results && out->uncovered
                 ? 0
                 : OBLIGO_ENOMEM;
    for (int i = 0; !rc && i < env->src->n; i++) {
        const rules_file *f = &env->src->files[i];
        if (!f->is_test)
            continue;
        char *err = NULL;
        cJSON *tests = test_read_file(f, &err);
        if (!tests) {
            rc = test_add_result(out, f->path, 0, NULL, err ? err : "the test file did not load");
            obligo_free(err);
            out->failed++;
            continue;
        }
        const cJSON *entry;
        cJSON_ArrayForEach(entry, tests)
        {
            const char *name = test_str(entry, "name");
            if (pattern && (!name || !strstr(name, pattern)))
                continue;
            if (env->cancel && atomic_load(env->cancel)) {
                rc = OBLIGO_EBUSY;
                break;
            }
            test_case t = {f->path, name ? name : "?",
                           (int)cJSON_GetObjectItemCaseSensitive(entry, "line")->valuedouble, NULL};
            test_run_one(&run, &t, cJSON_GetObjectItemCaseSensitive(entry, "spec"));
            if (t.problem)
                out->failed++;
            else
                out->passed++;
            if (!rc)
                rc = test_add_result(out, t.file, t.line, t.name, t.problem);
            obligo_free(t.problem);
        }
        cJSON_Delete(tests);
    }
    if (!rc)
        rc = test_coverage(&run, out);
    cJSON_Delete(run.covered_rules);
    cJSON_Delete(run.covered_kinds);
    config_free(&cfg);
    if (rc)
        ruletest_report_free(out);
    return rc;
}

void ruletest_report_free(ruletest_report *r)
{
    cJSON_Delete(r->results);
    cJSON_Delete(r->uncovered);
    memset(r, 0, sizeof *r);
}
