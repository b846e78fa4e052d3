/*
 * serve_rules.c — GET /v1/rules and GET /v1/rules/source: the rule set in
 * force as the officer reads it (ruleinfo.h: every rule and duty, its
 * title, legal source and link to the law, severity, whether a test
 * reaches it, the coverage), when it went live, the last reload and its
 * result, and the text of its files.
 *
 * Nothing here runs a test or reads the database: the loop thread keeps
 * what the gate computed. The set the server starts with is described at
 * once (without coverage) and its tests run once in the background
 * (serve_reload_survey); each reload brings the new set's description and
 * files from the gate's thread, and a refused one is kept as the last
 * reload with the file:line its refusal names.
 *
 * Everything in this file runs on the loop thread.
 */
#include <string.h>

#include "alloc.h"
#include "clock.h"
#include "ruleinfo.h"
#include "serve_internal.h"

void serve_rules_start(serve *s)
{
    clock_format_utc(s->started, s->rules_loaded_at);
    s->rules_now = ruleinfo_describe(s->e->rules, s->cfg->rules_dir, NULL);
    s->rules_files = ruleinfo_files(s->e->rules);
}

static const char *serve_rules_revision(const cJSON *info)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(info, "revision"));
}

void serve_rules_surveyed(serve *s, cJSON *info)
{
    const char *want = serve_rules_revision(s->rules_now);
    const char *got = serve_rules_revision(info);
    /* the files changed since start-up: the reload they cause brings its
     * own description */
    if (!info || !want || !got || strcmp(want, got) != 0) {
        cJSON_Delete(info);
        return;
    }
    cJSON_Delete(s->rules_now);
    s->rules_now = info;
}

/* {at, ok, error?, file?, line?} of a reload that just ended. */
static cJSON *serve_rules_outcome(serve *s, int ok, const char *message, const char *refusal)
{
    char at[CLOCK_RFC3339_LEN];
    clock_format_utc(clock_now(), at);
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "at", at) || !cJSON_AddBoolToObject(o, "ok", ok))
        goto fail;
    if (ok)
        return o;
    if (!cJSON_AddStringToObject(o, "error", message ? message : "rules not reloaded"))
        goto fail;
    char *file = NULL;
    int line = 0;
    if (ruleinfo_error_place(refusal, s->cfg->rules_dir, &file, &line) == 0) {
        int added =
            cJSON_AddStringToObject(o, "file", file) && cJSON_AddNumberToObject(o, "line", line);
        obligo_free(file);
        if (!added)
            goto fail;
    }
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

void serve_rules_reloaded(serve *s, int ok, const char *message, const char *refusal, cJSON **info,
                          cJSON **files)
{
    cJSON_Delete(s->last_reload);
    s->last_reload = serve_rules_outcome(s, ok, message, refusal);
    if (!ok)
        return;
    clock_format_utc(clock_now(), s->rules_loaded_at);
    cJSON_Delete(s->rules_now);
    cJSON_Delete(s->rules_files);
    s->rules_now = *info;
    s->rules_files = *files;
    *info = *files = NULL;
}

void serve_rules_free(serve *s)
{
    cJSON_Delete(s->rules_now);
    cJSON_Delete(s->rules_files);
    cJSON_Delete(s->last_reload);
    s->rules_now = s->rules_files = s->last_reload = NULL;
}

/* Answers with o printed, or 503 when memory ran out; frees o. */
static void serve_rules_answer(serve_req *r, cJSON *o, int ok)
{
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (text)
        serve_reply(r, 200, text, "Cache-Control: no-store\r\n");
    else
        serve_reply_error(r, 503, "out of memory; retry later", "Retry-After: 1\r\n");
    cJSON_free(text);
}

void serve_get_rules(serve_req *r)
{
    serve *s = r->s;
    cJSON *o = s->rules_now ? cJSON_Duplicate(s->rules_now, 1) : NULL;
    /* {revision, loaded_at, last_reload, rules, duties, coverage} */
    int ok = o && cJSON_AddStringToObject(o, "loaded_at", s->rules_loaded_at) &&
             cJSON_AddItemToObject(o, "last_reload",
                                   s->last_reload ? cJSON_Duplicate(s->last_reload, 1)
                                                  : cJSON_CreateNull());
    if (ok && !cJSON_GetObjectItemCaseSensitive(o, "coverage"))
        ok = cJSON_AddNullToObject(o, "coverage") != NULL; /* the tests have not run yet */
    serve_rules_answer(r, o, ok);
}

void serve_get_rule_source(serve_req *r)
{
    serve *s = r->s;
    char file[1024];
    if (!serve_query(r->req->query, "file", file, sizeof file) || !*file) {
        serve_reply_error(r, 400,
                          "file is required: a rule file's path within the rule directory, "
                          "as GET /v1/rules names it",
                          NULL);
        return;
    }
    /* a lookup among the kept files, never a path on disk */
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(s->rules_files, file);
    const char *revision = serve_rules_revision(s->rules_now);
    if (!cJSON_IsString(text)) {
        char *msg = obligo_asprintf("no rule file '%s' in the rule set in force (revision %s)",
                                    file, revision ? revision : "?");
        serve_reply_error(r, s->rules_files ? 404 : 503, msg ? msg : "no such rule file",
                          s->rules_files ? NULL : "Retry-After: 1\r\n");
        obligo_free(msg);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    int ok = o && cJSON_AddStringToObject(o, "revision", revision ? revision : "") &&
             cJSON_AddStringToObject(o, "file", file) &&
             cJSON_AddStringToObject(o, "text", text->valuestring);
    serve_rules_answer(r, o, ok);
}
