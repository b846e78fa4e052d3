/*
 * test_out_of_tree.c — end to end, the way a plugin author works: install
 * this build under a fresh prefix (`cmake --install`), build a copy of
 * plugins/example with its Makefile against the INSTALLED obligo/plugin.h
 * found through the installed obligo.pc (nothing of the source tree on the
 * compile line), and run the INSTALLED binary: it lists the example plugin
 * with all it registers, finds the installed regulation plugins by default,
 * and ingests a CSV through the example's adapter with the rule from
 * plugins/example/README.md, whose alerts reach the example's file sink.
 */
#define _GNU_SOURCE /* realpath */
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "support.h"

/* tests/plugins/CMakeLists.txt passes the cmake that configured this build */
#ifndef OBLIGO_CMAKE
#define OBLIGO_CMAKE "/usr/bin/cmake"
#endif

typedef struct fixture {
    char *dir;    /* everything below lives here */
    char *prefix; /* the install */
    char *pcdir;  /* where obligo.pc was installed */
    char *exdir;  /* the copy of plugins/example */
} fixture;

static char *join(const char *a, const char *b)
{
    char *s = malloc(strlen(a) + strlen(b) + 2);
    sprintf(s, "%s/%s", a, b);
    return s;
}

/* The program `name` on PATH (caller frees), or NULL. */
static char *on_path(const char *name)
{
    const char *path = getenv("PATH");
    char *copy = strdup(path && *path ? path : "/usr/bin:/bin");
    char *found = NULL;
    for (char *save = NULL, *d = strtok_r(copy, ":", &save); d && !found;
         d = strtok_r(NULL, ":", &save)) {
        char *f = join(d, name);
        if (access(f, X_OK) == 0)
            found = f;
        else
            free(f);
    }
    free(copy);
    return found;
}

static char *found_pc;
static int find_pc(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    size_t n = strlen(path);
    if (flag == FTW_F && n >= 10 && strcmp(path + n - 10, "/obligo.pc") == 0) {
        found_pc = strndup(path, n - 10);
        return 1;
    }
    return 0;
}

/* Copies the regular files of src (not build products) into dst. */
static void copy_dir(const char *src, const char *dst)
{
    assert_int_equal(mkdir(dst, 0755), 0);
    DIR *d = opendir(src);
    assert_non_null(d);
    struct dirent *ent;
    while ((ent = readdir(d))) {
        size_t n = strlen(ent->d_name);
        if (ent->d_name[0] == '.' || (n > 3 && strcmp(ent->d_name + n - 3, ".so") == 0) ||
            (n > 2 && strcmp(ent->d_name + n - 2, ".o") == 0))
            continue;
        char *from = join(src, ent->d_name), *to = join(dst, ent->d_name);
        FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
        char buf[8192];
        size_t got;
        while (out && (got = fread(buf, 1, sizeof buf, in)) > 0)
            assert_int_equal(fwrite(buf, 1, got, out), got);
        if (out)
            fclose(out);
        if (in)
            fclose(in);
        free(from);
        free(to);
    }
    closedir(d);
}

/* Whether the directory named by the word at s (up to a blank) is dir. */
static int same_dir(const char *s, const char *dir)
{
    char *word = strndup(s, strcspn(s, " \t\n")), a[PATH_MAX], b[PATH_MAX];
    int same = realpath(word, a) && realpath(dir, b) && strcmp(a, b) == 0;
    free(word);
    return same;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    f->prefix = join(f->dir, "prefix");
    f->exdir = join(f->dir, "example");
    *state = f;
    return f->dir ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    support_rmtree(f->dir);
    free(f->dir);
    free(f->prefix);
    free(f->pcdir);
    free(f->exdir);
    free(f);
    return 0;
}

/* The one entry of a JSON array of strings. */
static void assert_only(const cJSON *o, const char *name, const char *want)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, name);
    assert_int_equal(cJSON_GetArraySize(arr), 1);
    assert_true(cJSON_IsString(arr->child));
    assert_string_equal(arr->child->valuestring, want);
}

static void install_build_and_load_the_example(void **state)
{
    fixture *f = *state;
    char *out = NULL, *err = NULL;

    /* 1. install */
    char *install[] = {OBLIGO_CMAKE, "--install", (char *)OBLIGO_BINARY_DIR,
                       "--prefix",   f->prefix,   NULL};
    int rc = support_run(install, &out, &err);
    if (rc != 0)
        fail_msg("cmake --install: exit %d: %s%s", rc, out, err);
    free(out);
    free(err);
    char *include = join(f->prefix, "include");
    char *header = join(f->prefix, "include/obligo/plugin.h");
    assert_int_equal(access(header, R_OK), 0);
    free(header);
    found_pc = NULL;
    nftw(f->prefix, find_pc, 16, FTW_PHYS);
    f->pcdir = found_pc;
    if (!f->pcdir)
        fail_msg("no obligo.pc under %s", f->prefix);

    /* 2. the installed obligo.pc points into the install. ENGINE BUG
     * engine/obligo.pc.in:1 — "prefix=@CMAKE_INSTALL_PREFIX@" is filled in
     * when the build is configured (CMakeLists.txt configure_file), so after
     * `cmake --install --prefix P` the .pc still says the configured prefix
     * (/usr/local by default) and the plugin is compiled against whatever
     * header is there, or none. Relocatable: prefix=${pcfiledir}/<the path
     * from the pkgconfig dir up to the prefix>. Until that is fixed, the
     * build below uses pkg-config --define-prefix so that the rest of the
     * flow is still checked, and the test fails at the end. */
    char *pkg_config = on_path("pkg-config"), *env = on_path("env");
    assert_non_null(pkg_config);
    assert_non_null(env);
    char pcpath[PATH_MAX + 32];
    snprintf(pcpath, sizeof pcpath, "PKG_CONFIG_PATH=%s", f->pcdir);
    char *cflags_argv[] = {env, pcpath, pkg_config, "--cflags", "obligo", NULL};
    assert_int_equal(support_run(cflags_argv, &out, &err), 0);
    char *installed_cflags = strndup(out, strcspn(out, "\n"));
    for (size_t n = strlen(installed_cflags); n && installed_cflags[n - 1] == ' ';)
        installed_cflags[--n] = '\0';
    int pc_relocated = strncmp(out, "-I", 2) == 0 && same_dir(out + 2, include);
    free(out);
    free(err);
    free(pkg_config);
    free(env);

    /* 3. build a copy of plugins/example with its Makefile; the shell
     * traces (-x) the compile line as run, pkg-config's answer expanded */
    copy_dir(OBLIGO_SOURCE_DIR "/plugins/example", f->exdir);
    char *make = on_path("make");
    assert_non_null(make);
    char *make_argv[] = {make,
                         "-C",
                         f->exdir,
                         pcpath,
                         pc_relocated ? "PKG_CONFIG=pkg-config"
                                      : "PKG_CONFIG=pkg-config --define-prefix",
                         ".SHELLFLAGS=-xc",
                         NULL};
    rc = support_run(make_argv, &out, &err);
    if (rc != 0)
        fail_msg("make: exit %d:\n%s%s", rc, out, err);
    char *cc = NULL;
    for (const char *l = err; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
        size_t n = strcspn(l, "\n");
        if (strncmp(l, "+ ", 2) == 0 && memmem(l, n, "-shared -fPIC", 13)) {
            cc = strndup(l, n);
            break;
        }
    }
    if (!cc)
        fail_msg("no compile line in make's trace:\n%s", err);
    /* one -I, into the install; the engine's headers nowhere */
    const char *inc = strstr(cc, " -I");
    if (!inc || strstr(inc + 3, " -I") || !same_dir(inc + 3, include))
        fail_msg("the compile line does not use the installed header alone: %s", cc);
    if (strstr(cc, OBLIGO_SOURCE_DIR "/engine") || strstr(out, OBLIGO_SOURCE_DIR "/engine") ||
        strstr(err, OBLIGO_SOURCE_DIR "/engine"))
        fail_msg("the source tree is on the compile line: %s", cc);
    free(cc);
    free(out);
    free(err);
    free(make);
    char *so = join(f->exdir, "example.so");
    assert_int_equal(access(so, R_OK), 0);
    free(so);

    /* 4. the installed binary lists it with all five registrations */
    char *bin = join(f->prefix, "bin/obligo");
    char *list_argv[] = {bin, "plugins", "--json", "--plugin-dir", f->exdir, NULL};
    rc = support_run(list_argv, &out, &err);
    if (rc != 0)
        fail_msg("obligo plugins: exit %d: %s", rc, err);
    cJSON *list = cJSON_Parse(out);
    free(out);
    free(err);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    const cJSON *ex = cJSON_GetArrayItem(list, 0);
    assert_string_equal(support_str(ex, "name"), "example");
    assert_string_equal(support_str(ex, "status"), "loaded");
    assert_string_equal(support_str(ex, "abi"), "1.1");
    assert_only(ex, "event_types", "org.example.visitor.signed_in");
    assert_only(ex, "obligation_kinds", "example.badge_return");
    assert_only(ex, "rule_functions", "example.initials");
    assert_only(ex, "alert_sinks", "example");
    const cJSON *ads = cJSON_GetObjectItemCaseSensitive(ex, "input_adapters");
    assert_int_equal(cJSON_GetArraySize(ads), 1);
    assert_string_equal(support_str(ads->child, "name"), "example-csv");
    assert_string_equal(support_str(ads->child, "media_type"), "text/csv");
    assert_string_equal(support_str(ads->child, "http_path"), "/v1/example/visitors");
    cJSON_Delete(list);

    /* 5. by default it finds the installed regulation plugins */
    char *default_argv[] = {bin, "plugins", "--json", NULL};
    rc = support_run(default_argv, &out, &err);
    if (rc != 0)
        fail_msg("obligo plugins: exit %d: %s", rc, err);
    list = cJSON_Parse(out);
    free(out);
    free(err);
    const cJSON *avg = NULL;
    for (const cJSON *c = list ? list->child : NULL; c && !avg; c = c->next)
        if (strcmp(support_str(c, "name"), "avg") == 0)
            avg = c;
    assert_non_null(avg);
    assert_string_equal(support_str(avg, "status"), "loaded");
    char real_avg[PATH_MAX], real_prefix[PATH_MAX];
    assert_non_null(realpath(support_str(avg, "file"), real_avg));
    assert_non_null(realpath(f->prefix, real_prefix));
    assert_memory_equal(real_avg, real_prefix, strlen(real_prefix));
    cJSON_Delete(list);

    /* 6. the README's rule, the example's adapter and sink, configured
     * through the configuration file */
    char *readme = join(f->exdir, "README.md");
    char *text = support_read_file(readme);
    free(readme);
    assert_non_null(text);
    char *lua = strstr(text, "```lua\n");
    assert_non_null(lua);
    lua += 7;
    char *fence = strstr(lua, "```");
    assert_non_null(fence);
    *fence = '\0';
    char *rules = join(f->dir, "rules");
    free(support_write(f->dir, "rules/example/visitors.lua", lua));
    free(text);
    char *alerts = join(f->dir, "alerts.ndjson");
    char config[4 * PATH_MAX];
    snprintf(config, sizeof config,
             "{\"plugin_dirs\":[\"%s\"],\"plugins\":{\"example\":{\"greeting\":\"Welkom\"}},"
             "\"sinks\":[\"example:%s\"],\"db\":\"%s/obligo.db\",\"rules\":\"%s\"}",
             f->exdir, alerts, f->dir, rules);
    char *cfg = support_write(f->dir, "obligo.json", config);
    char *csv = support_write(f->dir, "visitors.csv",
                              "visitor,host,time\n"
                              "Ada Lovelace,Charles Babbage,2026-03-02T10:00:00+01:00\n");
    char *ingest_argv[] = {bin,           "ingest",  "--config", cfg, "--format",
                           "example-csv", "--clock", "events",   csv, NULL};
    rc = support_run(ingest_argv, &out, &err);
    if (rc != 0)
        fail_msg("obligo ingest: exit %d: %s", rc, err);
    assert_non_null(strstr(err, "plugin example: info: Welkom"));
    assert_non_null(strstr(err, "1 accepted"));
    assert_non_null(strstr(err, "0 rule errors"));
    free(out);
    free(err);

    char *delivered = support_read_file(alerts);
    assert_non_null(delivered);
    cJSON *alert = cJSON_Parse(delivered); /* one alert: one line */
    assert_non_null(alert);
    assert_ptr_equal(strchr(delivered, '\n'), delivered + strlen(delivered) - 1);
    assert_string_equal(support_str(alert, "kind"), "example.visitor");
    assert_string_equal(support_str(alert, "subject"), "Ada Lovelace");
    assert_string_equal(support_str(alert, "message"), "AL is visiting Charles Babbage");
    cJSON_Delete(alert);
    free(delivered);

    char *obligations_argv[] = {bin, "obligations", "--config", cfg, "--json", NULL};
    rc = support_run(obligations_argv, &out, &err);
    assert_int_equal(rc, 0);
    cJSON *obls = cJSON_Parse(out);
    free(out);
    free(err);
    int n = 0;
    const cJSON *o = support_find(obls, "example.badge_return", "Ada Lovelace", &n);
    assert_int_equal(n, 1);
    assert_string_equal(support_str(o, "status"), "open");
    /* 10:00 CET + 1 calendar day = 2026-03-03 10:00 CET */
    assert_string_equal(support_str(o, "due_at"), "2026-03-03T09:00:00Z");
    cJSON_Delete(obls);

    free(cfg);
    free(csv);
    free(alerts);
    free(rules);
    free(bin);

    char msg[2 * PATH_MAX + 200];
    snprintf(msg, sizeof msg, "the installed obligo.pc gives %s, not -I%s", installed_cflags,
             include);
    free(installed_cflags);
    free(include);
    if (!pc_relocated)
        fail_msg("ENGINE BUG engine/obligo.pc.in:1: %s", msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(install_build_and_load_the_example, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
