/*
 * cli_test.c — `obligo test [DIR]`: runs the rule tests that live beside
 * the rules (*_test.lua), each against a fresh in-memory engine with the
 * rule set and plugins the engine would load.
 *
 * A test file declares tests:
 *
 *   test "late notification over the autumn DST change" {
 *     events = {
 *       { type = "nl.avg.breach.reported", time = "2025-10-24T18:00:00+02:00",
 *         data = { breach_id = "B-3", aware_at = "2025-10-24T18:00:00+02:00",
 *                  description = "x", personal_data = "yes" } },
 *     },
 *     at = "2025-10-28T12:00:00+01:00",           -- engine time at the end
 *     obligations = { { kind = "avg.notify_ap", subject = "B-3", status = "late",
 *                       due_at = "2025-10-27T16:00:00Z" } },
 *     absent_obligations = { ... },  alerts = { { kind = ..., subject = ..., count = 1 } },
 *     absent_alerts = { ... },  register = { datalekken = { { key = "B-3", data = { ... } } } },
 *   }
 *
 * Events get specversion "1.0", an id and a source when they have none.
 * Engine time follows the events (as `ingest --clock events`), so deadlines
 * between them fire in order, and finally moves to `at`. Coverage: the rules
 * that made a decision in some test and the obligation kinds some test
 * opened; --min-coverage P fails below P percent.
 */
#include <dirent.h>
#include <lauxlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "cli.h"
#include "cli_common.h"
#include "engine.h"
#include "error.h"
#include "obligations.h"
#include "outbox.h"
#include "registers.h"
#include "sandbox.h"

typedef struct test_run {
    config *cfg;
    const char *pattern;
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
static cJSON *test_read_file(const char *path, char **err)
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
    int rc = sandbox_load_file(sb, path, &se);
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
                : obligo_asprintf("%s: %s", path, se.message ? se.message : "error");
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
static int test_count(const cJSON *list, const cJSON *want, const cJSON **first)
{
    const char *kind = test_str(want, "kind"), *subject = test_str(want, "subject");
    int n = 0;
    *first = NULL;
    for (const cJSON *o = list ? list->child : NULL; o; o = o->next) {
        const char *k = test_str(o, "kind"), *s = test_str(o, "subject");
        if (kind && (!k || strcmp(k, kind)))
            continue;
        if (subject && (!s || strcmp(s, subject)))
            continue;
        if (!*first)
            *first = o;
        n++;
    }
    return n;
}

static void test_expect(test_case *t, engine *e, const cJSON *spec)
{
    obligations_filter of = {0};
    outbox_filter af = {0};
    cJSON *obls = obligations_list(&e->st, &of), *alerts = outbox_list(&e->st, &af);
    const cJSON *w, *o;
    cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(spec, "obligations"))
    {
        int n = test_count(obls, w, &o);
        if (n != 1) {
            test_fail(t, "obligation %s %s: found %d, expected 1", test_str(w, "kind"),
                      test_str(w, "subject") ? test_str(w, "subject") : "", n);
            continue;
        }
        const char *st = test_str(w, "status");
        if (st && strcmp(st, test_str(o, "status")))
            test_fail(t, "obligation %s %s: status %s, expected %s", test_str(w, "kind"),
                      test_str(o, "subject"), test_str(o, "status"), st);
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
        if (o && sev && strcmp(sev, test_str(o, "severity")))
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
     * officer can prove a changed threshold; others use the pack's
     * defaults. The copy of the configuration lives as long as the test. */
    config cfg = *run->cfg;
    const cJSON *policy = cJSON_GetObjectItemCaseSensitive(spec, "policy");
    if (policy) {
        if (!cJSON_IsObject(policy) && !(cJSON_IsArray(policy) && !policy->child)) {
            test_fail(t, "policy must be a table of names and values, such as "
                         "policy = { [\"nen7513.vip_burst.users\"] = 3 }");
            return;
        }
        cfg.policy = policy->child ? (cJSON *)policy : NULL;
    }
    if (engine_open(&e, &cfg, 0, &err)) {
        test_fail(t, "%s", err ? err : "the engine did not open");
        obligo_free(err);
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
}

/* ---- finding and running the files ----------------------------------------- */

static int test_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_scan(const char *dir, char ***files, int *n, int depth)
{
    DIR *d = depth < 8 ? opendir(dir) : NULL;
    struct dirent *ent;
    while (d && (ent = readdir(d))) {
        if (ent->d_name[0] == '.')
            continue;
        char *p = obligo_asprintf("%s/%s", dir, ent->d_name);
        struct stat sb;
        size_t len = strlen(ent->d_name);
        if (p && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            test_scan(p, files, n, depth + 1);
        } else if (p && len > 9 && strcmp(ent->d_name + len - 9, "_test.lua") == 0) {
            char **nf = obligo_realloc(*files, sizeof *nf * (size_t)(*n + 1));
            if (nf) {
                *files = nf;
                (*files)[(*n)++] = p;
                p = NULL;
            }
        }
        obligo_free(p);
    }
    if (d)
        closedir(d);
}

static const char test_usage[] =
    "usage: obligo test [DIR] [--run PATTERN] [--min-coverage P] [--config F]\n"
    "                   [--plugin-dir DIR]...\n"
    "Runs the rule tests (*_test.lua) under DIR (default: the configured rules\n"
    "directory) against the rules in DIR; exit 1 on a failure or coverage below P.\n";

/* A configuration for running tests: the rules, plugins and policy of src,
 * an in-memory database per test and no alert sinks. */
static int test_config(const config *src, config *dst)
{
    char *err = NULL;
    if (config_load(dst, NULL, &err))
        return OBLIGO_ENOMEM;
    int rc = config_set(&dst->rules_dir, src->rules_dir) || config_set(&dst->db_path, ":memory:");
    for (int i = 0; !rc && i < src->nplugin_dirs; i++)
        rc = config_add_plugin_dir(dst, src->plugin_dirs[i]);
    for (int i = 0; i < dst->nsinks; i++)
        obligo_free(dst->sinks[i]);
    dst->nsinks = 0;
    /* Tests run with the pack's defaults (config_load's empty policy), not
     * the deployment's: their expectations are written against those, and
     * a site that sets its own periods must not see the pack's tests fail
     * (or its reloads refused) for it. */
    dst->plugins = src->plugins ? cJSON_Duplicate(src->plugins, 1) : NULL;
    dst->limits = src->limits;
    dst->allow_unknown_types = src->allow_unknown_types;
    dst->max_event_bytes = src->max_event_bytes;
    if (rc || (src->plugins && !dst->plugins)) {
        config_free(dst);
        return OBLIGO_ENOMEM;
    }
    return 0;
}

int cli_test_rules(const config *src, const char *pattern, FILE *out, int *passed, double *coverage)
{
    config cfg;
    if (test_config(src, &cfg))
        return -1;
    test_run run = {.cfg = &cfg, .pattern = pattern};
    run.covered_rules = cJSON_CreateObject();
    run.covered_kinds = cJSON_CreateObject();
    char **files = NULL;
    int nfiles = 0, load_errors = 0;
    test_scan(cfg.rules_dir, &files, &nfiles, 0);
    if (nfiles)
        qsort(files, (size_t)nfiles, sizeof *files, test_cmp);
    for (int i = 0; i < nfiles; i++) {
        char *err = NULL;
        cJSON *tests = test_read_file(files[i], &err);
        if (!tests) {
            if (out)
                fprintf(out, "FAIL %s\n", err ? err : files[i]);
            load_errors++;
            obligo_free(err);
            continue;
        }
        const cJSON *entry;
        cJSON_ArrayForEach(entry, tests)
        {
            const char *name = test_str(entry, "name");
            if (run.pattern && (!name || !strstr(name, run.pattern)))
                continue;
            test_case t = {files[i], name ? name : "?",
                           (int)cJSON_GetObjectItemCaseSensitive(entry, "line")->valuedouble, NULL};
            test_run_one(&run, &t, cJSON_GetObjectItemCaseSensitive(entry, "spec"));
            if (t.problem) {
                run.failed++;
                if (out)
                    fprintf(out, "FAIL %s:%d: %s: %s\n", t.file, t.line, t.name, t.problem);
                obligo_free(t.problem);
            } else {
                run.passed++;
                if (out)
                    fprintf(out, "ok   %s: %s\n", t.file, t.name);
            }
        }
        cJSON_Delete(tests);
    }
    /* coverage: every rule and obligation kind of the set */
    int total = 0, covered = 0;
    rules *r = NULL;
    plugins *p = NULL;
    char *err = NULL;
    if (engine_load_plugins(&cfg, &p, &err) == 0 &&
        rules_load(cfg.rules_dir, cfg.policy, &cfg.limits, p, &r, &err) == 0) {
        cJSON *desc = rules_describe(r);
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(desc, "rules"))
        {
            total++;
            if (cJSON_GetObjectItemCaseSensitive(run.covered_rules, test_str(item, "name")))
                covered++;
            else if (out && !run.pattern)
                fprintf(out, "not covered: rule %s (%s:%d)\n", test_str(item, "name"),
                        test_str(item, "file"),
                        (int)cJSON_GetObjectItemCaseSensitive(item, "line")->valuedouble);
        }
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(desc, "obligations"))
        {
            total++;
            if (cJSON_GetObjectItemCaseSensitive(run.covered_kinds, test_str(item, "name")))
                covered++;
            else if (out && !run.pattern)
                fprintf(out, "not covered: obligation %s\n", test_str(item, "name"));
        }
        cJSON_Delete(desc);
    }
    obligo_free(err);
    rules_free(r);
    plugins_free(p);
    double pct = total ? 100.0 * covered / total : 100.0;
    if (out && !run.pattern)
        fprintf(out, "coverage: %d of %d rules and obligation kinds (%.0f%%)\n", covered, total,
                pct);
    if (out)
        fprintf(out, "%d passed, %d failed\n", run.passed, run.failed + load_errors);
    if (passed)
        *passed = run.passed;
    if (coverage)
        *coverage = pct;
    for (int i = 0; i < nfiles; i++)
        obligo_free(files[i]);
    obligo_free(files);
    cJSON_Delete(run.covered_rules);
    cJSON_Delete(run.covered_kinds);
    config_free(&cfg);
    return run.failed + load_errors;
}

int cli_test(int argc, char **argv)
{
    cli_opts o;
    int prc = cli_parse(argc, argv, &o, test_usage);
    if (prc)
        return prc > 0 ? 0 : 2;
    if (o.nargs > 1) {
        fputs(test_usage, stderr);
        return 2;
    }
    config cfg;
    if (cli_config(&o, &cfg))
        return 2;
    if (o.nargs && config_set(&cfg.rules_dir, o.args[0])) {
        config_free(&cfg);
        return 2;
    }
    double min_cov = o.min_coverage ? atof(o.min_coverage) : 0, pct = 0;
    int failed = cli_test_rules(&cfg, o.run, stdout, NULL, &pct);
    config_free(&cfg);
    int below = !o.run && min_cov > 0 && pct + 1e-9 < min_cov;
    if (below)
        printf("coverage %.0f%% is below --min-coverage %.0f%%\n", pct, min_cov);
    return failed || below ? 1 : 0;
}
