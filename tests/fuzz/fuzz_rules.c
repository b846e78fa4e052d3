/*
 * fuzz_rules.c — the Lua rule loader (engine/evaluate/rules.c rules_load) and its
 * sandbox (engine/evaluate/sandbox*.c) fed hostile rule files.
 *
 * A temporary directory is made once; for every input it holds exactly one
 * rule file, fuzz.lua, whose text is the input. The loader compiles and runs
 * it in a fresh sandbox, with the real plugins' obligation kinds and rule
 * functions (OBLIGO_PLUGIN_DIR) and tight limits (memory, instructions,
 * string size) so that a hostile file fails fast. When the file loads, the
 * harness goes on as the engine and `obligo check` would: the checks of
 * `obligo check` (check_rules), rules_describe, and one event of every
 * type a rule listens for through rules_evaluate, with state reads that
 * answer something. Then everything is freed.
 *
 * Properties checked: no crash, no leak, no hang (the instruction budget
 * must stop every loop, also inside pcall; a libFuzzer timeout is a
 * finding); a failed load names file and line in its error; evaluation
 * returns 0 (a failing rule is reported in `errors`, not as a failure);
 * and the rules are sealed: the same event judged twice gives the same
 * decisions, whatever the file tried (declaring from run, assigning act,
 * state or the DSL, changing the event, keeping globals or file-level
 * locals, building shared tables). The corpus seeds try each.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "alloc.h"
#include "check.h"
#include "engine.h"
#include "error.h"
#include "fuzz.h"
#include "plugins.h"
#include "rules.h"

#ifndef OBLIGO_PLUGIN_DIR
#define OBLIGO_PLUGIN_DIR "build/plugins"
#endif

static char *dir, *file;
static plugins *registry;
static cJSON *policy;
static const sandbox_limits limits = {
    .memory_bytes = 16 * 1024 * 1024, .instructions = 200000, .max_string_bytes = 64 * 1024};

static void fuzz_rules_cleanup(void)
{
    plugins_free(registry);
    cJSON_Delete(policy);
    /* the sandbox cannot write files: the directory holds fuzz.lua only */
    unlink(file);
    rmdir(dir);
    free(dir);
    free(file);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    engine_global_init();
    char *err = NULL;
    const char *dirs[] = {OBLIGO_PLUGIN_DIR};
    FUZZ_CHECK(plugins_load(dirs, 1, NULL, &registry, &err) == 0, "plugins_load: %s",
               err ? err : "?");
    policy = cJSON_Parse("{\"avg.complete_notification.days\":10,\"cbw.staff\":60}");
    FUZZ_CHECK(policy, "set-up");
    dir = fuzz_tmpdir("rules");
    size_t n = strlen(dir) + sizeof "/fuzz.lua";
    file = malloc(n);
    FUZZ_CHECK(file != NULL, "out of memory");
    snprintf(file, n, "%s/fuzz.lua", dir);
    atexit(fuzz_rules_cleanup);
    return 0;
}

/* ---- state reads that answer something ------------------------------------ */

static cJSON *state_get(void *ud, const char *ns, const char *key)
{
    (void)ud;
    (void)ns;
    return strcmp(key, "none") == 0 ? NULL
                                    : cJSON_Parse("{\"count\":2,\"last\":\"2026-01-01T00:00:00Z\","
                                                  "\"list\":[1,\"two\",{\"three\":true}]}");
}

static cJSON *state_obligation(void *ud, const char *kind, const char *subject)
{
    (void)ud;
    cJSON *o = cJSON_Parse("{\"id\":7,\"status\":\"open\",\"opened_at\":1767225600,"
                           "\"starts_at\":1767225600,\"due_at\":1767484800}");
    if (o) {
        cJSON_AddStringToObject(o, "kind", kind);
        cJSON_AddStringToObject(o, "subject", subject);
    }
    return o;
}

static cJSON *state_register(void *ud, const char *name, const char *key)
{
    (void)ud;
    (void)name;
    (void)key;
    return cJSON_Parse("{\"status\":\"reported\",\"persons_affected\":3}");
}

static const rules_state_ops ops = {
    .state_get = state_get, .obligation = state_obligation, .register_get = state_register};

/* One event of type for the rules listening for it; returns the decisions
 * as text (caller frees). */
static char *evaluate(rules *r, const char *type)
{
    cJSON *ev = cJSON_Parse(
        "{\"specversion\":\"1.0\",\"id\":\"f-1\",\"source\":\"urn:fuzz\","
        "\"time\":\"2026-02-02T09:20:00+01:00\",\"subject\":\"S-1\",\"data\":{"
        "\"id\":\"X-1\",\"breach_id\":\"B-1\",\"request_id\":\"R-1\",\"incident_id\":\"I-1\","
        "\"aware_at\":\"2026-02-02T09:15:00+01:00\",\"received_at\":\"2026-02-02\","
        "\"description\":\"fuzz\",\"personal_data\":\"yes\",\"risk\":\"high\",\"system\":\"ecd\","
        "\"client_id\":\"C-1\",\"action\":\"read\",\"emergency\":true,\"user\":{\"id\":\"U-1\","
        "\"role\":\"nurse\"},\"categories\":[\"health\"],\"persons_affected\":12}}");
    FUZZ_CHECK(ev != NULL, "out of memory");
    cJSON_AddStringToObject(ev, "type", type);
    cJSON *decisions = cJSON_CreateArray(), *errors = cJSON_CreateArray();
    FUZZ_CHECK(decisions && errors, "out of memory");
    int rc = rules_evaluate(r, ev, &ops, decisions, errors);
    FUZZ_CHECK(rc == 0, "rules_evaluate: %s", obligo_strerror(rc));
    char *text = cJSON_PrintUnformatted(decisions);
    FUZZ_CHECK(text != NULL, "out of memory");
    cJSON_Delete(ev);
    cJSON_Delete(decisions);
    cJSON_Delete(errors);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FUZZ_CHECK(fd >= 0, "cannot write %s", file);
    for (size_t off = 0; off < size;) {
        ssize_t w = write(fd, data + off, size - off);
        FUZZ_CHECK(w > 0, "cannot write %s", file);
        off += (size_t)w;
    }
    close(fd);

    rules *r = NULL;
    char *err = NULL;
    int rc = rules_load(dir, policy, &limits, registry, &r, &err);
    if (rc) {
        FUZZ_CHECK(r == NULL, "a failed load returned rules");
        /* a rule error names where; out of memory (C side) may not */
        FUZZ_CHECK(rc != OBLIGO_ERULE || (err && strstr(err, "fuzz.lua")),
                   "a rule error that does not name the file: %s", err ? err : "(none)");
        obligo_free(err);
        return 0;
    }
    FUZZ_CHECK(r != NULL && err == NULL, "loaded with an error: %s", err);
    rules_sources src;
    char *serr = NULL;
    if (rules_sources_read(dir, &src, &serr) == 0) {
        cJSON_Delete(check_rules(registry, r, &src, policy));
        rules_sources_free(&src);
    }
    obligo_free(serr);
    cJSON *desc = rules_describe(r);
    const cJSON *rule;
    int evaluated = 0;
    cJSON_ArrayForEach(rule, cJSON_GetObjectItemCaseSensitive(desc, "rules"))
    {
        const cJSON *type;
        cJSON_ArrayForEach(type, cJSON_GetObjectItemCaseSensitive(rule, "on"))
        {
            if (cJSON_IsString(type) && evaluated++ < 8) {
                char *first = evaluate(r, type->valuestring);
                char *again = evaluate(r, type->valuestring);
                FUZZ_CHECK(strcmp(first, again) == 0,
                           "the same event judged twice decided differently:\n%s\n%s", first,
                           again);
                cJSON_free(first);
                cJSON_free(again);
            }
        }
    }
    cJSON_Delete(desc);
    rules_free(r);
    return 0;
}
