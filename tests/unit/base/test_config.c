/*
 * test_config.c — defaults and the JSON configuration file
 * (engine/config.c): every key overrides its default, and every error names
 * the file and the key (or the line) so a person can fix it; a key the
 * engine does not read is refused, except inside the open objects "policy"
 * and "plugins".
 */
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

#include "alloc.h"
#include "config.h"
#include "engine.h"
#include "error.h"
#include "support.h"

typedef struct fixture {
    char *dir;
    char *file; /* the last file written, freed by teardown */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    *state = f;
    return f->dir ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->file)
        chmod(f->file, 0644);
    free(f->file);
    support_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static const char *write_config(fixture *f, const char *text)
{
    free(f->file);
    f->file = support_write(f->dir, "obligo.json", text);
    assert_non_null(f->file);
    return f->file;
}

/* Loads text as a configuration file that must be refused with code; the
 * message must name the file and contain each of the needles. */
static void assert_refused(fixture *f, const char *text, int code, const char *needle1,
                           const char *needle2)
{
    const char *path = write_config(f, text);
    config cfg;
    char *err = NULL;
    int rc = config_load(&cfg, path, &err);
    if (rc == 0) {
        config_free(&cfg);
        fail_msg("accepted: %s", text);
    }
    assert_int_equal(rc, code);
    assert_non_null(err);
    if (!strstr(err, path))
        fail_msg("\"%s\" does not name the file %s", err, path);
    if (needle1 && !strstr(err, needle1))
        fail_msg("\"%s\" does not mention %s", err, needle1);
    if (needle2 && !strstr(err, needle2))
        fail_msg("\"%s\" does not mention %s", err, needle2);
    obligo_free(err);
    /* on failure the configuration is freed and cleared */
    assert_null(cfg.db_path);
    assert_null(cfg.rules_dir);
    assert_null(cfg.listen);
    assert_null(cfg.policy);
    assert_int_equal(cfg.nsinks, 0);
}

static void defaults_without_a_file(void **state)
{
    config cfg;
    char *err = (char *)"untouched";
    assert_int_equal(config_load(&cfg, NULL, &err), 0);
    assert_null(err);
    assert_string_equal(cfg.db_path, "var/obligo.db");
    assert_string_equal(cfg.rules_dir, "rules");
    assert_string_equal(cfg.listen, "127.0.0.1:8787");
    assert_int_equal(cfg.nsinks, 1);
    assert_string_equal(cfg.sinks[0], "stdout");
    assert_int_equal(cfg.allow_unknown_types, 1);
    assert_int_equal(cfg.max_event_bytes, 1024 * 1024);
    assert_int_equal(cfg.max_body_bytes, 16 * 1024 * 1024);
    assert_int_equal(cfg.max_buffered_body_bytes, 256 * 1024 * 1024);
    assert_int_equal(cfg.max_connections_per_client, 256);
    assert_true(cfg.commit_interval_ms == 1.0);
    assert_int_equal(cfg.reader_threads, 2);
    assert_int_equal(cfg.max_answer_bytes, 8 * 1024 * 1024);
    assert_true(cJSON_IsObject(cfg.policy));
    assert_null(cfg.policy->child);
    /* 0 means the sandbox's own defaults */
    assert_int_equal(cfg.limits.memory_bytes, 0);
    assert_int_equal(cfg.limits.instructions, 0);
    config_free(&cfg);
    assert_null(cfg.db_path);
}

static void file_overrides_every_key(void **state)
{
    fixture *f = *state;
    const char *path =
        write_config(f, "{\n"
                        "  \"db\": \"/srv/obligo/obligo.db\",\n"
                        "  \"rules\": \"/etc/obligo/rules\",\n"
                        "  \"listen\": \"[::1]:9000\",\n"
                        "  \"sinks\": [\"file:/var/log/obligo/alerts.jsonl\", \"stdout\"],\n"
                        "  \"allow_unknown_types\": false,\n"
                        "  \"max_event_bytes\": 2048,\n"
                        "  \"max_body_bytes\": 4096,\n"
                        "  \"lua_memory_bytes\": 33554432,\n"
                        "  \"lua_instructions\": 5000000,\n"
                        "  \"lua_event_instructions\": 7000000,\n"
                        "  \"commit_interval_ms\": 0.5,\n"
                        "  \"reader_threads\": 1,\n"
                        "  \"max_answer_bytes\": 65536,\n"
                        "  \"policy\": {\"avg.complete_notification.days\": 14,\n"
                        "             \"avg.inform_subjects.hours\": 24}\n"
                        "}\n");
    config cfg;
    char *err = NULL;
    if (config_load(&cfg, path, &err))
        fail_msg("%s", err);
    assert_null(err);
    assert_string_equal(cfg.db_path, "/srv/obligo/obligo.db");
    assert_string_equal(cfg.rules_dir, "/etc/obligo/rules");
    assert_string_equal(cfg.listen, "[::1]:9000");
    assert_int_equal(cfg.nsinks, 2);
    assert_string_equal(cfg.sinks[0], "file:/var/log/obligo/alerts.jsonl");
    assert_string_equal(cfg.sinks[1], "stdout");
    assert_int_equal(cfg.allow_unknown_types, 0);
    assert_int_equal(cfg.max_event_bytes, 2048);
    assert_int_equal(cfg.max_body_bytes, 4096);
    assert_true(cfg.commit_interval_ms == 0.5);
    assert_int_equal(cfg.reader_threads, 1);
    assert_int_equal(cfg.max_answer_bytes, 65536);
    assert_int_equal(cfg.limits.memory_bytes, 33554432);
    assert_int_equal(cfg.limits.instructions, 5000000);
    assert_int_equal(cfg.limits.event_instructions, 7000000);
    const cJSON *days =
        cJSON_GetObjectItemCaseSensitive(cfg.policy, "avg.complete_notification.days");
    assert_true(cJSON_IsNumber(days));
    assert_int_equal((int)days->valuedouble, 14);
    const cJSON *hours = cJSON_GetObjectItemCaseSensitive(cfg.policy, "avg.inform_subjects.hours");
    assert_int_equal((int)hours->valuedouble, 24);
    config_free(&cfg);
}

static void keys_not_in_the_file_keep_their_defaults(void **state)
{
    fixture *f = *state;
    const char *path = write_config(f, "{\"db\": \"x.db\", \"allow_unknown_types\": true}");
    config cfg;
    char *err = NULL;
    assert_int_equal(config_load(&cfg, path, &err), 0);
    assert_string_equal(cfg.db_path, "x.db");
    assert_string_equal(cfg.rules_dir, "rules");
    assert_string_equal(cfg.listen, "127.0.0.1:8787");
    assert_int_equal(cfg.nsinks, 1);
    assert_string_equal(cfg.sinks[0], "stdout");
    assert_int_equal(cfg.allow_unknown_types, 1);
    assert_int_equal(cfg.max_body_bytes, 16 * 1024 * 1024);
    config_free(&cfg);

    /* an empty object is a valid file; an empty sink list is allowed */
    path = write_config(f, "{\"sinks\": []}");
    assert_int_equal(config_load(&cfg, path, &err), 0);
    assert_int_equal(cfg.nsinks, 0);
    assert_string_equal(cfg.db_path, "var/obligo.db");
    config_free(&cfg);
}

static void not_json_names_file_and_line(void **state)
{
    fixture *f = *state;
    /* the error is on line 3 */
    assert_refused(f, "{\n  \"db\": \"x.db\",\n  oops\n}\n", OBLIGO_EINVAL, ":3:", NULL);
    assert_refused(f, "", OBLIGO_EINVAL, ":1:", NULL);
    /* JSON, but not an object */
    assert_refused(f, "[\"db\", \"x.db\"]\n", OBLIGO_EINVAL, ":1:", NULL);
}

/* ENGINE BUG (config.c:147 at c3e5ae9, config_load): the file is parsed with
 * cJSON_ParseWithLengthOpts(..., require_null_terminated = 0) and what comes
 * after the first JSON value is never looked at, so a file whose object
 * ends early (a stray brace) is accepted and the keys after it are silently
 * ignored. engine_decode refuses trailing text for events; the configuration
 * should do the same. Correct behaviour: refuse with the file and the line
 * of the trailing text. */
static void text_after_the_object_is_refused(void **state)
{
    fixture *f = *state;
    assert_refused(f, "{\"db\": \"x.db\"}\n,\"sinks\": [\"file:/tmp/a\"]}\n", OBLIGO_EINVAL,
                   ":2:", NULL);
}

static void bad_sinks_are_refused_naming_the_key(void **state)
{
    fixture *f = *state;
    /* an unknown kind of sink after a good one */
    assert_refused(f, "{\"sinks\": [\"stdout\", \"Kafka Broker\"]}", OBLIGO_EINVAL, "\"sinks\"",
                   NULL);
    assert_refused(f, "{\"sinks\": [\"stdout\", 42]}", OBLIGO_EINVAL, "\"sinks\"", NULL);
    assert_refused(f, "{\"sinks\": \"stdout\"}", OBLIGO_EINVAL, "\"sinks\"", NULL);
    assert_refused(f,
                   "{\"sinks\": [\"stdout\",\"stdout\",\"stdout\",\"stdout\",\"stdout\","
                   "\"stdout\",\"stdout\",\"stdout\",\"stdout\"]}",
                   OBLIGO_EINVAL, "\"sinks\"", NULL);
}

/* ENGINE BUG (config.c:103-109 at c3e5ae9, the "sinks" loop of
 * config_apply): a sink listed twice is accepted. outbox_alert then inserts
 * two outbox rows with the same (alert, sink) primary key, the insert fails,
 * and every event that raises an alert fails and is rolled back. Correct
 * behaviour: refuse the list naming "sinks" (or keep each sink once). */
static void sink_listed_twice_is_refused_or_merged(void **state)
{
    fixture *f = *state;
    const char *path = write_config(f, "{\"sinks\": [\"stdout\", \"file:/tmp/a.jsonl\", "
                                       "\"stdout\"]}");
    config cfg;
    char *err = NULL;
    int rc = config_load(&cfg, path, &err);
    if (rc == 0) {
        int n = cfg.nsinks;
        config_free(&cfg);
        assert_int_equal(n, 2);
    } else {
        assert_int_equal(rc, OBLIGO_EINVAL);
        assert_non_null(strstr(err, path));
        assert_non_null(strstr(err, "\"sinks\""));
        obligo_free(err);
    }
}

/* "routes" says which alerts a sink gets; a sink without one gets all. */
static void routes_pick_alerts_per_sink(void **state)
{
    fixture *f = *state;
    const char *path =
        write_config(f, "{\"sinks\": [\"stdout\", \"webhook\", \"file:/tmp/a.jsonl\"], \"routes\": "
                        "{\"webhook\": {\"kinds\": [\"avg.*\", \"obligo.obligation_overdue\"], "
                        "\"min_severity\": \"warning\"}, \"file:/tmp/a.jsonl\": {\"min_severity\": "
                        "\"critical\"}}}");
    config cfg;
    char *err = NULL;
    assert_int_equal(config_load(&cfg, path, &err), 0);
    const config_route *all = &cfg.routes[0], *hook = &cfg.routes[1], *file = &cfg.routes[2];
    assert_true(config_route_takes(all, "nen7513.vip_burst", "info"));
    assert_true(config_route_takes(hook, "avg.notify_ap_overdue", "warning"));
    assert_true(config_route_takes(hook, "obligo.obligation_overdue", "critical"));
    assert_false(config_route_takes(hook, "avg.breach", "info"));            /* too mild */
    assert_false(config_route_takes(hook, "nen7513.vip_burst", "critical")); /* other kind */
    assert_false(config_route_takes(hook, "obligo.obligation_overdue_x", "critical"));
    assert_true(config_route_takes(file, "nen7513.vip_burst", "critical"));
    assert_false(config_route_takes(file, "nen7513.vip_burst", "warning"));
    config_free(&cfg);
    /* mistakes are named */
    assert_refused(f, "{\"sinks\": [\"stdout\"], \"routes\": {\"webhook\": {}}}", OBLIGO_EINVAL,
                   "\"webhook\", which is not in \"sinks\"", NULL);
    assert_refused(f,
                   "{\"sinks\": [\"stdout\"], \"routes\": {\"stdout\": {\"min_severity\": "
                   "\"urgent\"}}}",
                   OBLIGO_EINVAL, "min_severity", "critical");
    assert_refused(f, "{\"sinks\": [\"stdout\"], \"routes\": {\"stdout\": {\"kind\": []}}}",
                   OBLIGO_EINVAL, "\"kind\"", "\"kinds\"");
    assert_refused(f, "{\"sinks\": [\"stdout\"], \"routes\": {\"stdout\": {\"kinds\": [1]}}}",
                   OBLIGO_EINVAL, "\"kinds\"", NULL);
    assert_refused(f, "{\"sinks\": [\"stdout\"], \"routes\": []}", OBLIGO_EINVAL, "\"routes\"",
                   NULL);
}

/* max_buffered_body_bytes bounds all bodies together, so one body of
 * max_body_bytes (and its NUL) must fit in it. */
static void buffered_bodies_and_connections_per_client(void **state)
{
    fixture *f = *state;
    const char *path = write_config(f, "{\"max_buffered_body_bytes\": 67108864, "
                                       "\"max_connections_per_client\": 8}");
    config cfg;
    char *err = NULL;
    assert_int_equal(config_load(&cfg, path, &err), 0);
    assert_int_equal(cfg.max_buffered_body_bytes, 64 * 1024 * 1024);
    assert_int_equal(cfg.max_connections_per_client, 8);
    config_free(&cfg);
    assert_refused(f, "{\"max_buffered_body_bytes\": 16777216}", OBLIGO_EINVAL,
                   "\"max_buffered_body_bytes\"", "\"max_body_bytes\"");
    assert_refused(f, "{\"max_body_bytes\": 1e9}", OBLIGO_EINVAL, "\"max_buffered_body_bytes\"",
                   NULL);
    assert_refused(f, "{\"max_buffered_body_bytes\": 100}", OBLIGO_EINVAL,
                   "\"max_buffered_body_bytes\"", NULL);
    assert_refused(f, "{\"max_connections_per_client\": 0}", OBLIGO_EINVAL,
                   "\"max_connections_per_client\"", NULL);
    assert_refused(f, "{\"max_conections_per_client\": 8}", OBLIGO_EINVAL,
                   "did you mean \"max_connections_per_client\"", NULL);
}

static void sizes_out_of_range_are_refused(void **state)
{
    fixture *f = *state;
    assert_refused(f, "{\"max_body_bytes\": 100}", OBLIGO_EINVAL, "\"max_body_bytes\"", NULL);
    assert_refused(f, "{\"max_body_bytes\": \"16MiB\"}", OBLIGO_EINVAL, "\"max_body_bytes\"", NULL);
    assert_refused(f, "{\"max_event_bytes\": 1023}", OBLIGO_EINVAL, "\"max_event_bytes\"", NULL);
    assert_refused(f, "{\"lua_instructions\": 1e13}", OBLIGO_EINVAL, "\"lua_instructions\"", NULL);
    /* the bounds themselves are allowed */
    const char *path = write_config(f, "{\"max_body_bytes\": 1024, \"max_event_bytes\": 1e12}");
    config cfg;
    char *err = NULL;
    assert_int_equal(config_load(&cfg, path, &err), 0);
    assert_int_equal(cfg.max_body_bytes, 1024);
    assert_true(cfg.max_event_bytes == (size_t)1000000000000ULL);
    config_free(&cfg);
}

static void other_bad_values_name_their_key(void **state)
{
    fixture *f = *state;
    assert_refused(f, "{\"policy\": [1, 2]}", OBLIGO_EINVAL, "\"policy\"", NULL);
    assert_refused(f, "{\"reader_threads\": 0}", OBLIGO_EINVAL, "\"reader_threads\"", NULL);
    assert_refused(f, "{\"reader_threads\": 1.5}", OBLIGO_EINVAL, "\"reader_threads\"", NULL);
    assert_refused(f, "{\"reader_threads\": 65}", OBLIGO_EINVAL, "\"reader_threads\"", NULL);
    assert_refused(f, "{\"max_answer_bytes\": 100}", OBLIGO_EINVAL, "\"max_answer_bytes\"", NULL);
    assert_refused(f, "{\"policy\": \"strict\"}", OBLIGO_EINVAL, "\"policy\"", NULL);
    assert_refused(f, "{\"db\": \"\"}", OBLIGO_EINVAL, "\"db\"", NULL);
    assert_refused(f, "{\"rules\": 7}", OBLIGO_EINVAL, "\"rules\"", NULL);
    assert_refused(f, "{\"listen\": null}", OBLIGO_EINVAL, "\"listen\"", NULL);
    /* the base of the schemas' $id: an http(s) URL to append paths to */
    assert_refused(f, "{\"public_url\": \"obligo.example.nl\"}", OBLIGO_EINVAL, "\"public_url\"",
                   "https://");
    assert_refused(f, "{\"public_url\": \"https://obligo.example.nl/\"}", OBLIGO_EINVAL,
                   "\"public_url\"", "trailing /");
    assert_refused(f, "{\"public_url\": \"https://o.example.nl?x=1\"}", OBLIGO_EINVAL,
                   "\"public_url\"", NULL);
    assert_refused(f, "{\"allow_unknown_types\": \"yes\"}", OBLIGO_EINVAL,
                   "\"allow_unknown_types\"", NULL);
    assert_refused(f, "{\"commit_interval_ms\": -1}", OBLIGO_EINVAL, "\"commit_interval_ms\"",
                   NULL);
    assert_refused(f, "{\"commit_interval_ms\": 1001}", OBLIGO_EINVAL, "\"commit_interval_ms\"",
                   NULL);
    assert_refused(f, "{\"commit_interval_ms\": \"1\"}", OBLIGO_EINVAL, "\"commit_interval_ms\"",
                   NULL);
}

/* A misspelt key used to be ignored: "sink" for "sinks" left alerts on
 * stdout only, without a word. Every key of the top level is now one the
 * engine reads, or the file is refused naming it, with the key that was
 * probably meant when one is close. */
static void unknown_keys_at_the_top_level_are_refused(void **state)
{
    fixture *f = *state;
    assert_refused(f, "{\"sink\": [\"file:/tmp/alerts.jsonl\"]}", OBLIGO_EINVAL,
                   "unknown key \"sink\" at the top level", "(did you mean \"sinks\"?)");
    /* after good keys; case and swapped letters count as one edit */
    assert_refused(f, "{\"db\": \"x.db\", \"Listen\": \"127.0.0.1:1\"}", OBLIGO_EINVAL,
                   "unknown key \"Listen\"", "did you mean \"listen\"");
    assert_refused(f, "{\"max_conenctions\": 10}", OBLIGO_EINVAL, "unknown key \"max_conenctions\"",
                   "did you mean \"max_connections\"");
    assert_refused(f, "{\"wacth_rules\": false}", OBLIGO_EINVAL, "\"wacth_rules\"",
                   "did you mean \"watch_rules\"");
    /* a key near none gets no guess */
    const char *path = write_config(f, "{\"colour\": \"blue\"}");
    config cfg;
    char *err = NULL;
    assert_int_equal(config_load(&cfg, path, &err), OBLIGO_EINVAL);
    assert_non_null(strstr(err, "unknown key \"colour\" at the top level"));
    assert_null(strstr(err, "did you mean"));
    obligo_free(err);
    /* a policy or a plugin's section one level too high says where it goes */
    assert_refused(f, "{\"avg.complete_notification.days\": 10}", OBLIGO_EINVAL,
                   "unknown key \"avg.complete_notification.days\"", "go under \"policy\"");
    assert_refused(f, "{\"webhook\": {\"url\": \"https://example.org/\"}}", OBLIGO_EINVAL,
                   "unknown key \"webhook\"", "go under \"plugins\"");
    /* a very long key is refused like any other (no guess is attempted) */
    char big[400];
    memset(big, 'k', 300);
    snprintf(big + 300, sizeof big - 300, "\": 1}");
    char text[420];
    snprintf(text, sizeof text, "{\"%s", big);
    assert_refused(f, text, OBLIGO_EINVAL, "unknown key \"kkkk", "at the top level");
}

/* cJSON reads the first of two equal keys, so the second was ignored as
 * silently as a misspelt one. */
static void a_key_given_twice_is_refused(void **state)
{
    fixture *f = *state;
    assert_refused(f, "{\"sinks\": [\"stdout\"], \"db\": \"x.db\", \"sinks\": [\"file:/tmp/a\"]}",
                   OBLIGO_EINVAL, "key \"sinks\" is given twice at the top level", NULL);
    assert_refused(f, "{\"policy\": {\"cbw.staff\": 50, \"cbw.staff\": 12}}", OBLIGO_EINVAL,
                   "key \"cbw.staff\" is given twice in \"policy\"", NULL);
    assert_refused(f, "{\"plugins\": {\"webhook\": {}, \"webhook\": {\"url\": \"u\"}}}",
                   OBLIGO_EINVAL, "key \"webhook\" is given twice in \"plugins\"", NULL);
}

/* "policy" and "plugins" stay open: policy names belong to the rules (obligo
 * check reports one no rule reads), plugin names and their settings to the
 * plugins (plugins_load checks them against what is loaded). Keys that are
 * not configuration keys are kept as they are. */
static void open_objects_stay_open(void **state)
{
    fixture *f = *state;
    const char *path =
        write_config(f, "{\"policy\": {\"org.own.duty.days\": 3, \"sinks\": true},\n"
                        " \"plugins\": {\"org_own\": {\"sink\": 1, \"nested\": {\"x\": []}}}}");
    config cfg;
    char *err = NULL;
    if (config_load(&cfg, path, &err))
        fail_msg("refused: %s", err);
    const cJSON *days = cJSON_GetObjectItemCaseSensitive(cfg.policy, "org.own.duty.days");
    assert_true(cJSON_IsNumber(days));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg.policy, "sinks")));
    const cJSON *own = cJSON_GetObjectItemCaseSensitive(cfg.plugins, "org_own");
    assert_true(cJSON_IsObject(own));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(own, "sink")));
    assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(own, "nested")));
    /* the top level's own sinks are untouched by the policy named "sinks" */
    assert_int_equal(cfg.nsinks, 1);
    assert_string_equal(cfg.sinks[0], "stdout");
    config_free(&cfg);
}

/* The example of README.md's configuration section uses every key there is;
 * it must load as printed, so that the documentation and the check of
 * unknown keys never disagree. */
static void the_readme_example_is_accepted(void **state)
{
    fixture *f = *state;
    FILE *fp = fopen(OBLIGO_SOURCE_DIR "/README.md", "rb");
    assert_non_null(fp);
    static char readme[1 << 20];
    size_t n = fread(readme, 1, sizeof readme - 1, fp);
    fclose(fp);
    readme[n] = '\0';
    char *section = strstr(readme, "\n## Configuration\n");
    assert_non_null(section);
    char *json = strstr(section, "```json\n");
    assert_non_null(json);
    json += 8;
    char *fence = strstr(json, "```");
    assert_non_null(fence);
    *fence = '\0';
    const char *path = write_config(f, json);
    config cfg;
    char *err = NULL;
    if (config_load(&cfg, path, &err))
        fail_msg("README.md's configuration example is refused: %s", err);
    /* one of the last keys, so the whole example was read */
    assert_true(cJSON_IsObject(cfg.plugins));
    assert_int_equal(cfg.limits.instructions, 10000000);
    assert_string_equal(cfg.public_url, "https://obligo.example.nl");
    config_free(&cfg);
}

static void unreadable_file_is_refused_naming_it(void **state)
{
    fixture *f = *state;
    char path[1100];
    snprintf(path, sizeof path, "%s/absent.json", f->dir);
    config cfg;
    char *err = NULL;
    assert_int_equal(config_load(&cfg, path, &err), OBLIGO_EIO);
    assert_non_null(err);
    assert_non_null(strstr(err, path));
    obligo_free(err);
    assert_null(cfg.db_path);

    /* a file without read permission (root reads it anyway) */
    const char *file = write_config(f, "{}");
    assert_int_equal(chmod(file, 0), 0);
    if (access(file, R_OK) != 0) {
        err = NULL;
        assert_int_equal(config_load(&cfg, file, &err), OBLIGO_EIO);
        assert_non_null(strstr(err, file));
        obligo_free(err);
    }
}

static void config_set_replaces_a_string(void **state)
{
    config cfg;
    char *err = NULL;
    assert_int_equal(config_load(&cfg, NULL, &err), 0);
    char flag[] = "from-the-command-line.db";
    assert_int_equal(config_set(&cfg.db_path, flag), 0);
    flag[0] = 'X'; /* the setting is a copy */
    assert_string_equal(cfg.db_path, "from-the-command-line.db");
    config_free(&cfg);
}

int main(void)
{
    engine_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_without_a_file),
        cmocka_unit_test_setup_teardown(file_overrides_every_key, setup, teardown),
        cmocka_unit_test_setup_teardown(buffered_bodies_and_connections_per_client, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(keys_not_in_the_file_keep_their_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(not_json_names_file_and_line, setup, teardown),
        cmocka_unit_test_setup_teardown(text_after_the_object_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_sinks_are_refused_naming_the_key, setup, teardown),
        cmocka_unit_test_setup_teardown(sink_listed_twice_is_refused_or_merged, setup, teardown),
        cmocka_unit_test_setup_teardown(routes_pick_alerts_per_sink, setup, teardown),
        cmocka_unit_test_setup_teardown(sizes_out_of_range_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(other_bad_values_name_their_key, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_keys_at_the_top_level_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(a_key_given_twice_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(open_objects_stay_open, setup, teardown),
        cmocka_unit_test_setup_teardown(the_readme_example_is_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(unreadable_file_is_refused_naming_it, setup, teardown),
        cmocka_unit_test(config_set_replaces_a_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
