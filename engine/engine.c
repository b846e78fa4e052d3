/*
 * engine.c — the pipeline of engine.h.
 *
 * Depends on validate.c (schemas), journal.c (events), rules.c (decisions),
 * actions.c (applying them) and obligations.c (timers). The engine's own
 * behaviour — an obligation passing its due time, a reminder — is expressed
 * as decisions too, so the journal explains it like any rule's.
 */
#include "engine.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "actions.h"
#include "alloc.h"
#include "decode.h"
#include "error.h"
#include "json.h"
#include "journal.h"
#include "obligations.h"
#include "outbox.h"
#include "registers.h"

#define ENGINE_SOURCE "urn:obligo:engine"

void engine_global_init(void)
{
    cJSON_Hooks hooks = {.malloc_fn = obligo_malloc, .free_fn = obligo_free};
    cJSON_InitHooks(&hooks);
    /* SQLite's memory statistics take a global mutex on every allocation;
     * nothing here reads them. Must precede the first connection. */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* The sink's own check of the argument of "NAME:ARGUMENT" (ABI 1.1; a
 * sink without one takes any). 0, or -1 with *err. */
static int engine_check_sink_argument(const plugins_sink *ps, const char *s, char **err)
{
    if (!ps->sink->check_argument)
        return 0;
    const char *colon = strchr(s, ':');
    char *why = NULL;
    if (ps->sink->check_argument(ps->state, colon ? colon + 1 : "", &why) == 0) {
        obligo_free(why);
        return 0;
    }
    *err = obligo_asprintf("alert sink \"%s\": %s", s, why ? why : "its plugin refuses it");
    obligo_free(why);
    return -1;
}

int engine_load_plugins(const config *cfg, plugins **out, char **err)
{
    *err = NULL;
    char *fallback = NULL;
    const char *dirs[CONFIG_MAX_PLUGIN_DIRS];
    int n = 0;
    for (int i = 0; i < cfg->nplugin_dirs; i++)
        dirs[n++] = cfg->plugin_dirs[i];
    if (n == 0 && (fallback = plugins_default_dir()))
        dirs[n++] = fallback;
    int rc = plugins_load(dirs, n, cfg->plugins, out, err);
    obligo_free(fallback);
    if (rc)
        return rc;
    /* a sink nobody provides, or an argument its sink cannot deliver to,
     * would keep alerts in the outbox forever */
    for (int i = 0; i < cfg->nsinks; i++) {
        const char *s = cfg->sinks[i];
        if (strcmp(s, "stdout") == 0 || strncmp(s, "file:", 5) == 0)
            continue;
        const plugins_sink *ps = plugins_find_sink(*out, s);
        if (!ps)
            *err = obligo_asprintf("alert sink \"%s\" is configured, but no loaded plugin "
                                   "provides it (see 'obligo plugins')",
                                   s);
        else if (engine_check_sink_argument(ps, s, err) == 0)
            continue;
        plugins_free(*out);
        *out = NULL;
        return OBLIGO_EINVAL;
    }
    return 0;
}

int engine_open(engine *e, const config *cfg, int read_only, char **err)
{
    memset(e, 0, sizeof *e);
    e->cfg = cfg;
    *err = NULL;
    int rc = store_open(&e->st, cfg->db_path, read_only, err);
    if (rc)
        return rc;
    if (read_only)
        return 0;
    if ((rc = engine_load_plugins(cfg, &e->plugins, err)))
        goto fail;
    e->cat.lookup = plugins_lookup;
    e->cat.closest = plugins_closest_type;
    e->cat.ud = e->plugins;
    e->catalogue = &e->cat;
    if ((rc = rules_load(cfg->rules_dir, cfg->policy, &cfg->limits, e->plugins, &e->rules, err)))
        goto fail;
    if ((rc = engine_keep_rules(e, e->rules))) {
        *err = obligo_asprintf("cannot keep the rule sources in %s: %s", cfg->db_path,
                               obligo_strerror(rc));
        goto fail;
    }
    return 0;
fail:
    plugins_free(e->plugins);
    e->plugins = NULL;
    e->catalogue = NULL;
    store_close(&e->st);
    return rc;
}

int engine_open_with(engine *e, const config *cfg, plugins *p, rules *r, char **err)
{
    memset(e, 0, sizeof *e);
    e->cfg = cfg;
    *err = NULL;
    int rc = store_open(&e->st, cfg->db_path, 0, err);
    if (rc)
        return rc;
    e->borrowed = 1;
    e->plugins = p;
    e->cat.lookup = plugins_lookup;
    e->cat.closest = plugins_closest_type;
    e->cat.ud = e->plugins;
    e->catalogue = &e->cat;
    e->rules = r;
    return 0;
}

int engine_keep_rules(engine *e, const rules *r)
{
    int n = rules_file_count(r);
    journal_source *files = obligo_calloc(n ? (size_t)n : 1, sizeof *files);
    const cJSON *policy = rules_policy_of(r);
    char *policy_text = policy ? cJSON_PrintUnformatted(policy) : NULL;
    if (!files || (policy && !policy_text)) {
        obligo_free(files);
        cJSON_free(policy_text);
        return OBLIGO_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        const rules_file *f = rules_file_at(r, i);
        files[i] = (journal_source){f->path, f->text, f->len};
    }
    int rc = store_begin(&e->st);
    if (!rc)
        rc = journal_keep_ruleset(&e->st, rules_revision(r), policy_text, files, n, clock_now());
    if (!rc)
        rc = store_commit(&e->st);
    if (rc)
        store_rollback(&e->st);
    obligo_free(files);
    cJSON_free(policy_text);
    return rc;
}

void engine_close(engine *e)
{
    if (!e->borrowed) {
        rules_free(e->rules);
        plugins_free(e->plugins); /* after the rules: they call plugin functions */
    }
    e->rules = NULL;
    e->plugins = NULL;
    e->catalogue = NULL;
    store_close(&e->st);
}

char *engine_text_problem(const char *text, size_t len, int *oom)
{
    return decode_text_problem(text, len, oom);
}

char *engine_json_problem(const char *text, size_t len, char **field, int *oom)
{
    return decode_json_problem(text, len, field, oom);
}

cJSON *engine_decode(engine *e, const char *raw, size_t len, char **field, char **reason)
{
    decode_rules how = {.max_event_bytes = e->cfg->max_event_bytes,
                        .catalogue = e->catalogue,
                        .allow_unknown_types = e->cfg->allow_unknown_types};
    return decode_event(&how, raw, len, field, reason);
}

int engine_begin(engine *e)
{
    return store_begin(&e->st);
}

int engine_commit(engine *e)
{
    return store_commit(&e->st);
}

void engine_rollback(engine *e)
{
    store_rollback(&e->st);
}

char *engine_conflict_reason(engine *e, const char *raw, size_t len)
{
    char was[DIGEST_HEX_LEN], got[DIGEST_HEX_LEN];
    if (journal_raw_digest(&e->st, e->last_seq, was) || digest_bytes(got, raw, len))
        return NULL;
    return obligo_asprintf("this source and id were journaled before (event %lld) with other "
                           "content: journaled sha256:%s, received sha256:%s; an event's "
                           "source and id name one event, so send a correction under a new id",
                           (long long)e->last_seq, was, got);
}

int engine_reject(engine *e, const char *origin, const char *raw, size_t len, const char *field,
                  const char *reason)
{
    e->stats.rejected++;
    return journal_reject(&e->st, origin, raw, len, field, reason, e->now);
}

/* ---- state reads for rules ------------------------------------------------ */

static cJSON *engine_state_get(void *ud, const char *ns, const char *key)
{
    return actions_state_get(&((engine *)ud)->st, ns, key);
}

/* Rules compare instants as numbers; the output form has RFC 3339 text. */
static void engine_times_to_numbers(cJSON *o)
{
    static const char *const fields[] = {"opened_at", "starts_at", "due_at", "legal_limit",
                                         "closed_at"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(o, fields[i]);
        obligo_time t;
        if (cJSON_IsString(v) && clock_parse_rfc3339(v->valuestring, &t) == 0)
            json_set(o, fields[i], cJSON_CreateNumber((double)t));
    }
}

static cJSON *engine_state_obligation(void *ud, const char *kind, const char *subject)
{
    cJSON *o = obligations_latest(&((engine *)ud)->st, kind, subject);
    if (o)
        engine_times_to_numbers(o);
    return o;
}

static cJSON *engine_state_register(void *ud, const char *name, const char *key)
{
    return registers_current(&((engine *)ud)->st, name, key);
}

/* ---- the engine's own decisions ------------------------------------------ */

/* obligo.engine.note: the alert the note carries. */
static int engine_builtin_note(const cJSON *ev, cJSON *decisions)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(ev, "data");
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "kind"));
    const char *subject = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "subject"));
    const char *sev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "severity"));
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "message"));
    if (!kind || !subject || !sev || !msg)
        return 0;
    cJSON *a = cJSON_CreateObject();
    if (!a)
        return OBLIGO_ENOMEM;
    cJSON_AddStringToObject(a, "op", DECISION_ALERT);
    cJSON_AddStringToObject(a, "rule", "obligo.engine");
    cJSON_AddStringToObject(a, "kind", kind);
    cJSON_AddStringToObject(a, "subject", subject);
    cJSON_AddStringToObject(a, "severity", sev);
    cJSON_AddStringToObject(a, "message", msg);
    cJSON_AddItemToArray(decisions, a);
    return 0;
}

int engine_note(engine *e, const char *kind, const char *subject, const char *severity,
                const char *message)
{
    static unsigned long counter;
    obligo_time now = clock_now();
    if (now > e->now)
        e->now = now;
    char id[64], when[CLOCK_RFC3339_LEN];
    snprintf(id, sizeof id, "note/%lld/%lu", (long long)e->now, ++counter);
    clock_format_utc(e->now, when);
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "specversion", "1.0");
    cJSON_AddStringToObject(ev, "id", id);
    cJSON_AddStringToObject(ev, "source", ENGINE_SOURCE);
    cJSON_AddStringToObject(ev, "type", "obligo.engine.note");
    cJSON_AddStringToObject(ev, "time", when);
    cJSON *data = cJSON_AddObjectToObject(ev, "data");
    cJSON_AddStringToObject(data, "kind", kind);
    cJSON_AddStringToObject(data, "subject", subject);
    cJSON_AddStringToObject(data, "severity", severity);
    cJSON_AddStringToObject(data, "message", message);
    char *raw = cJSON_PrintUnformatted(ev);
    int rc = raw ? engine_begin(e) : OBLIGO_ENOMEM;
    if (!rc) {
        int dup = 0;
        long accepted = e->stats.accepted;
        rc = engine_event(e, ev, raw, strlen(raw), &dup);
        e->stats.accepted = accepted; /* the engine's own, not a sender's */
        if (!rc)
            rc = engine_commit(e);
        if (rc)
            engine_rollback(e);
    }
    cJSON_free(raw);
    cJSON_Delete(ev);
    if (!rc)
        engine_deliver(e);
    return rc;
}

/* What the engine needs of an obligation to fire its timers. */
typedef struct engine_obl {
    char *kind, *subject;
    char status[16];
    obligo_time due;
} engine_obl;

static void engine_obl_clear(engine_obl *o)
{
    obligo_free(o->kind);
    obligo_free(o->subject);
    o->kind = o->subject = NULL;
}

/* 1 with *o filled (clear it), 0 when there is no such obligation, or an
 * error (out of memory, the database). */
static int engine_obl_read(engine *e, int64_t id, engine_obl *o)
{
    memset(o, 0, sizeof *o);
    sqlite3_stmt *s =
        store_stmt(&e->st, "SELECT kind, subject, status, due_at FROM obligations WHERE id=?1");
    if (!s)
        return OBLIGO_EDB;
    sqlite3_bind_int64(s, 1, id);
    int src = sqlite3_step(s), rc = 0;
    if (src == SQLITE_ROW) {
        const char *status = (const char *)sqlite3_column_text(s, 2);
        o->kind = obligo_strdup((const char *)sqlite3_column_text(s, 0));
        o->subject = obligo_strdup((const char *)sqlite3_column_text(s, 1));
        o->due = sqlite3_column_int64(s, 3);
        snprintf(o->status, sizeof o->status, "%s", status ? status : "");
        rc = o->kind && o->subject && status ? 1 : OBLIGO_ENOMEM;
    } else if (src != SQLITE_DONE) {
        rc = store_error(src) ? store_error(src) : OBLIGO_EDB;
    }
    sqlite3_reset(s);
    if (rc < 0)
        engine_obl_clear(o);
    return rc;
}

/* The engine's own judgement of its timer events: an open obligation past
 * due turns overdue with a critical alert; a reminder alerts. Out of memory
 * fails the event whole, so a deadline is never fired half. */
static int engine_builtin(engine *e, const cJSON *ev, const char *type, cJSON *decisions)
{
    if (strcmp(type, "obligo.engine.note") == 0)
        return engine_builtin_note(ev, decisions);
    int overdue = strcmp(type, "obligo.obligation.overdue") == 0;
    int reminder = strcmp(type, "obligo.obligation.reminder") == 0;
    if (!overdue && !reminder)
        return 0;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(ev, "data");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(data, "obligation");
    if (!cJSON_IsNumber(id))
        return 0;
    engine_obl o;
    int rc = engine_obl_read(e, (int64_t)id->valuedouble, &o);
    if (rc <= 0)
        return rc; /* gone (0), or an error */
    /* A reminder whose duty is already past due says nothing the overdue
     * alert will not say louder (it happens when a deadline in the past is
     * registered, or after a long stop). */
    if (strcmp(o.status, "open") != 0 || (reminder && o.due <= e->now)) {
        engine_obl_clear(&o);
        return 0;
    }
    char due_s[CLOCK_RFC3339_LEN], local[40];
    clock_format_utc(o.due, due_s);
    civil lc;
    clock_to_ams(o.due, &lc);
    snprintf(local, sizeof local, "%02d-%02d-%04d %02d:%02d", lc.day, lc.month, lc.year, lc.hour,
             lc.min);
    const rules_kind *k = e->rules ? rules_kind_find(e->rules, o.kind) : NULL;
    const char *title = k && k->title ? k->title : o.kind;
    int late = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(data, "late"));

    int ok = 1;
    if (overdue) {
        cJSON *d = cJSON_CreateObject();
        ok = d && cJSON_AddStringToObject(d, "op", DECISION_OVERDUE) &&
             cJSON_AddStringToObject(d, "rule", "obligo.engine") &&
             cJSON_AddNumberToObject(d, "obligation", id->valuedouble) &&
             cJSON_AddItemToArray(decisions, d);
        if (!ok)
            cJSON_Delete(d);
    }
    char *msg = !ok ? NULL
                : overdue
                    ? obligo_asprintf("Termijn verstreken: \"%s\" (%s) voor %s had uiterlijk %s "
                                      "(Europe/Amsterdam) gedaan moeten zijn. Handel dit direct af "
                                      "en leg vast waarom het later is.%s",
                                      title, o.kind, o.subject, local,
                                      late ? " (Gemeld na herstart: de termijn verliep terwijl "
                                             "Obligo niet draaide.)"
                                           : "")
                    : obligo_asprintf("Herinnering: \"%s\" (%s) voor %s moet uiterlijk %s "
                                      "(Europe/Amsterdam) gedaan zijn.",
                                      title, o.kind, o.subject, local);
    cJSON *a = msg ? cJSON_CreateObject() : NULL, *ad = NULL;
    ok = a && cJSON_AddStringToObject(a, "op", DECISION_ALERT) &&
         cJSON_AddStringToObject(a, "rule", "obligo.engine") &&
         cJSON_AddStringToObject(
             a, "kind", overdue ? "obligo.obligation_overdue" : "obligo.obligation_reminder") &&
         cJSON_AddStringToObject(a, "subject", o.subject) &&
         cJSON_AddStringToObject(a, "severity", overdue ? "critical" : "warning") &&
         cJSON_AddStringToObject(a, "message", msg) && (ad = cJSON_AddObjectToObject(a, "data")) &&
         cJSON_AddNumberToObject(ad, "obligation", id->valuedouble) &&
         cJSON_AddStringToObject(ad, "kind", o.kind) &&
         cJSON_AddStringToObject(ad, "due_at", due_s) &&
         (!late || cJSON_AddTrueToObject(ad, "late")) && cJSON_AddItemToArray(decisions, a);
    if (!ok)
        cJSON_Delete(a);
    obligo_free(msg);
    engine_obl_clear(&o);
    return ok ? 0 : OBLIGO_ENOMEM;
}

/* One obligo.rule_error alert per rule error (rules.c gives every member).
 * Out of memory fails the event whole: an error without its alert would
 * pass unseen. Returns 0 or OBLIGO_ENOMEM. */
static int engine_rule_error_alerts(engine *e, const cJSON *errors, cJSON *decisions)
{
    for (const cJSON *err = errors->child; err; err = err->next) {
        const char *rule = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err, "rule"));
        const char *file = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err, "file"));
        const cJSON *line = cJSON_GetObjectItemCaseSensitive(err, "line");
        const char *message =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err, "message"));
        if (!rule || !file || !cJSON_IsNumber(line) || !message)
            return OBLIGO_ENOMEM; /* rules.c adds every member or none */
        char *msg = obligo_asprintf("Regel %s faalde (%s:%d: %s). De gebeurtenis is wel "
                                    "vastgelegd; controleer en herstel de regel.",
                                    rule, file, (int)line->valuedouble, message);
        cJSON *a = msg ? cJSON_CreateObject() : NULL;
        int ok = a && cJSON_AddStringToObject(a, "op", DECISION_ALERT) &&
                 cJSON_AddStringToObject(a, "rule", "obligo.engine") &&
                 cJSON_AddStringToObject(a, "kind", "obligo.rule_error") &&
                 cJSON_AddStringToObject(a, "subject", rule) &&
                 cJSON_AddStringToObject(a, "severity", "warning") &&
                 cJSON_AddStringToObject(a, "message", msg) &&
                 !json_put(a, "data", cJSON_Duplicate(err, 1)) &&
                 cJSON_AddItemToArray(decisions, a);
        obligo_free(msg);
        if (!ok) {
            cJSON_Delete(a);
            return OBLIGO_ENOMEM;
        }
        fprintf(stderr, "obligo: rule %s failed: %s:%d: %s\n", rule, file, (int)line->valuedouble,
                message);
        e->stats.rule_errors++;
    }
    return 0;
}

/* The light journal (engine.light_journal): the engine's own events are
 * journaled at once (their repeat check matters: a re-armed timer can fire
 * under the same id); a client event is only given the next seq, and
 * journaled under it once it caused a decision (*deferred). */
static int engine_journal_light(engine *e, const cJSON *event, const char *raw, size_t len,
                                const char *revision, int64_t *seq, int *duplicate, int *deferred)
{
    *deferred = 0;
    *duplicate = 0;
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(event, "source");
    if (!cJSON_IsString(src) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(event, "id")) ||
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(event, "type")) ||
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(event, "time")))
        return OBLIGO_EINVAL;
    if (e->light_next_seq == 0) {
        sqlite3_stmt *s = store_stmt(&e->st, "SELECT coalesce(max(seq), 0) + 1 FROM events");
        if (!s)
            return OBLIGO_EDB;
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW)
            e->light_next_seq = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
        if (step != SQLITE_ROW)
            return store_error(step);
    }
    if (strcmp(src->valuestring, ENGINE_SOURCE) != 0) {
        *seq = e->light_next_seq;
        *deferred = 1;
        return 0;
    }
    int rc = journal_append_light(&e->st, event, raw, len, revision, e->now, e->light_next_seq, seq,
                                  duplicate);
    if (!rc && !*duplicate)
        e->light_next_seq = *seq + 1;
    return rc;
}

int engine_event(engine *e, const cJSON *event, const char *raw, size_t len, int *duplicate)
{
    int64_t seq = 0;
    const char *revision = e->rules ? rules_revision(e->rules) : "none";
    int rc, deferred = 0;
    if (e->light_journal)
        rc = engine_journal_light(e, event, raw, len, revision, &seq, duplicate, &deferred);
    else
        rc = journal_append(&e->st, event, raw, len, revision, e->now, &seq, duplicate);
    if (rc)
        return rc;
    e->last_seq = seq;
    if (*duplicate) {
        if (*duplicate == JOURNAL_CONFLICT)
            e->stats.conflicts++;
        else
            e->stats.duplicates++;
        return 0;
    }
    const char *type = cJSON_GetObjectItemCaseSensitive(event, "type")->valuestring;
    const char *time_s = cJSON_GetObjectItemCaseSensitive(event, "time")->valuestring;
    obligo_time t = e->now;
    clock_parse_rfc3339(time_s, &t);

    cJSON *decisions = cJSON_CreateArray(), *errors = cJSON_CreateArray();
    if (!decisions || !errors) {
        rc = OBLIGO_ENOMEM;
        goto out;
    }
    if ((rc = engine_builtin(e, event, type, decisions)))
        goto out;
    if (e->rules) {
        rules_state_ops ops = {e, engine_state_get, engine_state_obligation, engine_state_register};
        if ((rc = rules_evaluate(e->rules, event, &ops, decisions, errors)))
            goto out;
    }
    if ((rc = engine_rule_error_alerts(e, errors, decisions)))
        goto out;
    if (deferred && decisions->child) {
        /* before the decisions are applied: they refer to its seq */
        int64_t at = seq;
        if ((rc = journal_append_light(&e->st, event, NULL, 0, revision, e->now, at, &seq,
                                       duplicate)))
            goto out;
        if (*duplicate) {
            e->stats.duplicates++;
            goto out;
        }
        e->light_next_seq = seq + 1;
    }
    action_ctx ctx = {
        .st = &e->st,
        .event_seq = seq,
        .event_source = cJSON_GetObjectItemCaseSensitive(event, "source")->valuestring,
        .event_id = cJSON_GetObjectItemCaseSensitive(event, "id")->valuestring,
        .event_time = t,
        .sinks = (const char *const *)e->cfg->sinks,
        .routes = e->cfg->routes,
        .nsinks = e->cfg->nsinks,
    };
    if ((rc = actions_apply(&ctx, decisions)))
        goto out;
    if (!e->light_journal && (rc = journal_decisions(&e->st, seq, decisions)))
        goto out;
    e->last_decisions = cJSON_GetArraySize(decisions);
    e->stats.accepted++;
out:
    cJSON_Delete(decisions);
    cJSON_Delete(errors);
    return rc;
}

int engine_next_due(engine *e, obligo_time *at)
{
    obligations_timer t;
    int rc = obligations_next_timer(&e->st, &t);
    if (rc == 1)
        *at = t.fire_at;
    return rc;
}

/* Turns a due timer into the engine event it stands for. */
/* The engine's event for a timer: 0 with *out (NULL when the obligation is
 * gone: nothing to fire), or an error. */
static int engine_timer_event(engine *e, const obligations_timer *t, int late, cJSON **out)
{
    *out = NULL;
    engine_obl o;
    int rc = engine_obl_read(e, t->obligation, &o);
    if (rc <= 0)
        return rc;
    char id[96], when[CLOCK_RFC3339_LEN], due[CLOCK_RFC3339_LEN], type[64];
    snprintf(id, sizeof id, "%s/%lld/%lld", t->what, (long long)t->obligation,
             (long long)t->fire_at);
    snprintf(type, sizeof type, "obligo.obligation.%s", t->what);
    clock_format_utc(t->fire_at, when);
    clock_format_utc(o.due, due);
    cJSON *ev = cJSON_CreateObject(), *data = NULL;
    int ok =
        ev && cJSON_AddStringToObject(ev, "specversion", "1.0") &&
        cJSON_AddStringToObject(ev, "id", id) &&
        cJSON_AddStringToObject(ev, "source", ENGINE_SOURCE) &&
        cJSON_AddStringToObject(ev, "type", type) && cJSON_AddStringToObject(ev, "time", when) &&
        cJSON_AddStringToObject(ev, "subject", o.subject) &&
        (data = cJSON_AddObjectToObject(ev, "data")) &&
        cJSON_AddNumberToObject(data, "obligation", (double)t->obligation) &&
        cJSON_AddStringToObject(data, "kind", o.kind) &&
        cJSON_AddStringToObject(data, "subject", o.subject) &&
        cJSON_AddStringToObject(data, "due_at", due) && cJSON_AddBoolToObject(data, "late", late);
    engine_obl_clear(&o);
    if (!ok) {
        cJSON_Delete(ev);
        return OBLIGO_ENOMEM;
    }
    *out = ev;
    return 0;
}

int engine_fire_due(engine *e, obligo_time until, obligo_time late_before, int *fired)
{
    return engine_fire_due_max(e, until, late_before, INT_MAX, fired);
}

int engine_fire_due_max(engine *e, obligo_time until, obligo_time late_before, int max, int *fired)
{
    int n = 0, rc = 0;
    /* the engine's own events count as fired deadlines, not as accepted
     * events from senders */
    long accepted = e->stats.accepted;
    while (n < max) {
        obligations_timer t;
        rc = obligations_next_timer(&e->st, &t);
        if (rc <= 0 || t.fire_at > until)
            break;
        /* Deleting the row and journaling its event happen in the same
         * transaction: a deadline fires once, whatever crashes. */
        if ((rc = obligations_delete_timer(&e->st, &t)))
            break;
        if (t.fire_at > e->now)
            e->now = t.fire_at;
        cJSON *ev = NULL;
        if ((rc = engine_timer_event(e, &t, t.fire_at < late_before, &ev)))
            break;
        if (!ev)
            continue; /* the obligation is gone: nothing to fire */
        char *raw = cJSON_PrintUnformatted(ev);
        int dup = 0;
        rc = raw ? engine_event(e, ev, raw, strlen(raw), &dup) : OBLIGO_ENOMEM;
        cJSON_free(raw);
        cJSON_Delete(ev);
        if (rc)
            break;
        n++;
    }
    if (rc >= 0 && until > e->now)
        e->now = until;
    e->stats.accepted = accepted;
    e->stats.fired += n;
    if (fired)
        *fired = n;
    return rc < 0 ? rc : 0;
}

int engine_deliver(engine *e)
{
    return outbox_deliver(&e->st, (const char *const *)e->cfg->sinks, e->cfg->nsinks, e->plugins);
}
