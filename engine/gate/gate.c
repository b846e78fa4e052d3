/*
 * gate.c — the reload gate (gate.h).
 */
#include "gate.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "check.h"
#include "error.h"
#include "ruleinfo.h"
#include "ruletest.h"

/* Appends "; " and item (taken over; NULL: memory ran out) to *why; 0, or
 * -1 with *why freed when memory ran out. */
static int gate_say(char **why, char *item)
{
    char *joined =
        item ? obligo_asprintf("%s%s%s", *why ? *why : "", *why ? "; " : "", item) : NULL;
    obligo_free(item);
    obligo_free(*why);
    *why = joined;
    return joined ? 0 : -1;
}

static const char *gate_text(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name)->valuestring;
}

static int gate_line(const cJSON *o)
{
    return (int)cJSON_GetObjectItemCaseSensitive(o, "line")->valuedouble;
}

/* The findings of check.h as one text, or NULL when there are none. */
static char *gate_findings(const cJSON *findings)
{
    char *why = NULL;
    const cJSON *f;
    cJSON_ArrayForEach(f, findings)
    {
        if (gate_say(&why, obligo_asprintf("%s:%d: %s", gate_text(f, "file"), gate_line(f),
                                           gate_text(f, "message"))))
            return obligo_strdup("obligo check found problems");
    }
    return why;
}

/* The failing tests as one text, or NULL when every test passed. */
static char *gate_failures(const ruletest_report *r)
{
    if (!r->failed)
        return NULL;
    char *why = NULL;
    const cJSON *t;
    cJSON_ArrayForEach(t, r->results)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
        const char *problem = cJSON_GetStringValue(cJSON_GetObjectItem(t, "problem"));
        if (!problem)
            continue;
        char *item = cJSON_IsString(name)
                         ? obligo_asprintf("FAIL %s:%d: %s: %s", gate_text(t, "file"), gate_line(t),
                                           name->valuestring, problem)
                         : obligo_asprintf("FAIL %s", problem);
        if (gate_say(&why, item))
            break;
    }
    if (why && gate_say(&why, obligo_asprintf("%d passed, %d failed", r->passed, r->failed)))
        why = NULL;
    return why ? why : obligo_strdup("rule tests failed");
}

int gate_prepare(const config *cfg, plugins *p, const atomic_int *cancel, rules **out, cJSON **info,
                 char **why)
{
    *out = NULL;
    *why = NULL;
    if (info)
        *info = NULL;
    rules_sources src;
    rules *fresh = NULL, *defaults = NULL;
    cJSON *empty = NULL;
    int rc = rules_sources_read(cfg->rules_dir, &src, why);
    if (rc)
        return rc;
    if ((rc = rules_load_sources(&src, cfg->policy, &cfg->limits, p, &fresh, why)))
        goto done;

    /* The configured policy is not the rule files' doing: a name no rule
     * reads is reported by `obligo check --config`, and must never keep
     * corrected rules from going live. */
    cJSON *findings = check_rules(p, fresh, &src, NULL);
    if (!findings) {
        rc = OBLIGO_ENOMEM;
        goto done;
    }
    *why = gate_findings(findings);
    cJSON_Delete(findings);
    if (*why) {
        rc = OBLIGO_ERULE;
        goto done;
    }

    defaults = fresh;
    if (cfg->policy && cfg->policy->child) {
        if (!(empty = cJSON_CreateObject())) {
            rc = OBLIGO_ENOMEM;
            goto done;
        }
        if ((rc = rules_load_sources(&src, empty, &cfg->limits, p, &defaults, why)))
            goto done;
    }
    ruletest_env env = {
        .cfg = cfg, .plugins = p, .src = &src, .defaults = defaults, .cancel = cancel};
    ruletest_report report;
    if ((rc = ruletest_run(&env, NULL, &report)))
        goto done;
    if (info && !(*info = ruleinfo_describe(fresh, cfg->rules_dir, &report))) {
        ruletest_report_free(&report);
        rc = OBLIGO_ENOMEM;
        goto done;
    }
    *why = gate_failures(&report);
    ruletest_report_free(&report);
    if (*why)
        rc = OBLIGO_ERULE;
done:
    if (defaults != fresh)
        rules_free(defaults);
    cJSON_Delete(empty);
    rules_sources_free(&src);
    if (rc) {
        rules_free(fresh);
        return rc;
    }
    *out = fresh;
    return 0;
}
