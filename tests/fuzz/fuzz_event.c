/*
 * fuzz_event.c — the whole pipeline on hostile events: decode (cJSON) ->
 * validate (the CloudEvents envelope and the catalogue schemas of the
 * regulation plugins) -> journal -> the Lua rules of rules/ -> actions and
 * timers, then the deadlines those opened.
 *
 * One engine is opened once, as `obligo ingest` opens it, but on an
 * in-memory database with the real plugins (OBLIGO_PLUGIN_DIR) and the real
 * rule pack (OBLIGO_SOURCE_DIR/rules). An input is up to FUZZ_MAX_EVENTS
 * lines, handled like `obligo ingest --clock events` handles NDJSON: a line
 * that does not decode is journaled as rejected, a good one is judged in a
 * savepoint, and engine time follows the events' time, firing what falls
 * due on the way. Finally every deadline of the next years fires, and the
 * whole transaction is rolled back. The rules are loaded afresh for every
 * input, so each input starts from an empty database and untouched rules,
 * and replays the same way every time.
 *
 * Properties checked beyond "no crash, no leak, no undefined behaviour":
 * the decoder answers either an event or a reason; an event it accepts has
 * the envelope the rest of the engine relies on (string id, source, type
 * and a time clock.c parses); an accepted event can always be journaled and
 * judged (a rule's failure is an alert, not an error); deadlines fire; and
 * what `obligo verify` checks holds afterwards: the hash chains of the
 * journal and of every register, across inputs too (each input's
 * transaction is rolled back, so nothing cached may outlive it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "clock.h"
#include "config.h"
#include "engine.h"
#include "error.h"
#include "fuzz.h"
#include "journal.h"
#include "registers.h"

#ifndef OBLIGO_SOURCE_DIR
#define OBLIGO_SOURCE_DIR "."
#endif
#ifndef OBLIGO_PLUGIN_DIR
#define OBLIGO_PLUGIN_DIR "build/plugins"
#endif

#define FUZZ_MAX_EVENTS 16
#define FUZZ_START ((obligo_time)1735689600)        /* 2025-01-01T00:00:00Z */
#define FUZZ_HORIZON ((obligo_time)3 * 366 * 86400) /* deadlines fired at the end */

static config cfg;
static engine eng;

static void fuzz_event_cleanup(void)
{
    if (getenv("OBLIGO_FUZZ_VERBOSE"))
        fprintf(
            stderr,
            "fuzz_event: %ld accepted, %ld duplicates, %ld rejected, %ld rule errors, %ld fired\n",
            eng.stats.accepted, eng.stats.duplicates, eng.stats.rejected, eng.stats.rule_errors,
            eng.stats.fired);
    engine_close(&eng);
    config_free(&cfg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    engine_global_init();
    char *err = NULL;
    FUZZ_CHECK(config_load(&cfg, NULL, &err) == 0, "%s", err ? err : "config");
    FUZZ_CHECK(config_set(&cfg.db_path, ":memory:") == 0, "config_set");
    FUZZ_CHECK(config_set(&cfg.rules_dir, OBLIGO_SOURCE_DIR "/rules") == 0, "config_set");
    FUZZ_CHECK(config_add_plugin_dir(&cfg, OBLIGO_PLUGIN_DIR) == 0, "config_add_plugin_dir");
    /* alerts stay in the outbox: nothing is delivered anywhere */
    for (int i = 0; i < cfg.nsinks; i++)
        obligo_free(cfg.sinks[i]);
    cfg.nsinks = 0;
    FUZZ_CHECK(engine_open(&eng, &cfg, 0, &err) == 0, "%s", err ? err : "engine_open");
    atexit(fuzz_event_cleanup);
    return 0;
}

/* One line, as `obligo ingest --clock events` takes it. */
static void fuzz_line(const char *line, size_t len, int lineno)
{
    char origin[32];
    snprintf(origin, sizeof origin, "fuzz:%d", lineno);
    char *field = NULL, *reason = NULL;
    cJSON *ev = engine_decode(&eng, line, len, &field, &reason);
    if (!ev) {
        FUZZ_CHECK(reason != NULL, "a refused event must say why");
        FUZZ_CHECK(engine_reject(&eng, origin, line, len, field, reason) == 0, "engine_reject");
        obligo_free(field);
        obligo_free(reason);
        return;
    }
    FUZZ_CHECK(!field && !reason, "an accepted event has no reason (%s)", reason);
    static const char *const members[] = {"specversion", "id", "source", "type", "time"};
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(ev, members[i]);
        FUZZ_CHECK(cJSON_IsString(m) && m->valuestring[0], "accepted without a string %s",
                   members[i]);
    }
    obligo_time t;
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(ev, "time");
    FUZZ_CHECK(clock_parse_rfc3339(ts->valuestring, &t) == 0,
               "accepted time \"%s\" is not RFC 3339", ts->valuestring);
    if (t > eng.now)
        FUZZ_CHECK(engine_fire_due(&eng, t, 0, NULL) == 0, "engine_fire_due");
    FUZZ_CHECK(store_savepoint(&eng.st) == 0, "store_savepoint");
    int dup = 0;
    int rc = engine_event(&eng, ev, line, len, &dup);
    FUZZ_CHECK(rc == 0, "a valid event could not be applied: %s", obligo_strerror(rc));
    FUZZ_CHECK(store_release(&eng.st) == 0, "store_release");
    cJSON_Delete(ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    eng.now = FUZZ_START;
    /* A fresh rule set per input: nothing a rule keeps in Lua carries over
     * to the next input, and the Lua state's garbage goes with it (garbage
     * left between inputs makes libFuzzer run a full leak check after
     * every input, which is many times slower than loading the rules). */
    rules *opened = eng.rules;
    char *err = NULL;
    int rc = rules_load(cfg.rules_dir, cfg.policy, &cfg.limits, eng.plugins, &eng.rules, &err);
    FUZZ_CHECK(rc == 0, "rules_load: %s", err ? err : "?");
    FUZZ_CHECK(engine_begin(&eng) == 0, "engine_begin");
    for (int n = 1; p < end && n <= FUZZ_MAX_EVENTS; n++) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *a = p, *b = eol ? eol : end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
            b--;
        if (b > a) {
            /* a copy of exactly the line, so ASan sees a read past it */
            char *line = malloc((size_t)(b - a));
            FUZZ_CHECK(line != NULL, "out of memory");
            memcpy(line, a, (size_t)(b - a));
            fuzz_line(line, (size_t)(b - a), n);
            free(line);
        }
        p = eol ? eol + 1 : end;
    }
    int fired = 0;
    FUZZ_CHECK(engine_fire_due(&eng, eng.now + FUZZ_HORIZON, 0, &fired) == 0, "engine_fire_due");
    /* what `obligo verify` checks: every hash chain holds */
    FUZZ_CHECK(journal_verify(&eng.st, NULL, NULL) == 0, "the journal's hash chain is broken");
    FUZZ_CHECK(registers_verify(&eng.st, NULL, NULL) == 0, "a register's hash chain is broken");
    engine_rollback(&eng);
    rules_free(eng.rules);
    eng.rules = opened;
    return 0;
}
