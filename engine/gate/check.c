/*
 * check.c — the linter of a rule set: what `obligo check` prints and what the
 * reload gate refuses (check.h).
 */
#include "check.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

typedef struct check_file {
    const char *path; /* borrowed from the sources */
    char **lines;     /* 1-based: lines[1] is the first line */
    int nlines;
    char *text; /* a copy, cut into lines */
} check_file;

typedef struct check {
    cJSON *findings;
    const plugins *p;
    const rules_sources *src;
    cJSON *kinds; /* the declared obligation kinds */
    check_file *files;
    int nfiles;
    int oom;
} check;

static void check_report(check *c, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void check_report(check *c, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *message = obligo_vasprintf(fmt, ap);
    va_end(ap);
    cJSON *f = cJSON_CreateObject();
    if (!message || !f || !cJSON_AddStringToObject(f, "file", file) ||
        !cJSON_AddNumberToObject(f, "line", line) ||
        !cJSON_AddStringToObject(f, "message", message) || !cJSON_AddItemToArray(c->findings, f)) {
        cJSON_Delete(f);
        c->oom = 1;
    }
    obligo_free(message);
}

/* The file as read into the sources, cut into lines (NULL when it is not
 * among them). */
static const check_file *check_file_get(check *c, const char *path)
{
    for (int i = 0; i < c->nfiles; i++)
        if (strcmp(c->files[i].path, path) == 0)
            return &c->files[i];
    const rules_file *rf = rules_sources_find(c->src, path);
    if (!rf)
        return NULL;
    check_file *nf = obligo_realloc(c->files, sizeof *nf * (size_t)(c->nfiles + 1));
    if (!nf) {
        c->oom = 1;
        return NULL;
    }
    c->files = nf;
    check_file *f = &c->files[c->nfiles++];
    memset(f, 0, sizeof *f);
    f->path = rf->path;
    f->text = obligo_strndup(rf->text, rf->len);
    if (!f->text) {
        c->oom = 1;
        return f;
    }
    size_t len = strlen(f->text); /* a NUL ends the text: Lua would not compile past it */
    int n = 1;
    for (size_t i = 0; i < len; i++)
        n += f->text[i] == '\n';
    f->lines = obligo_calloc((size_t)n + 2, sizeof *f->lines);
    if (!f->lines) {
        c->oom = 1;
        return f;
    }
    char *s = f->text;
    for (int i = 1; i <= n && s; i++) {
        f->lines[i] = s;
        char *nl = strchr(s, '\n');
        if (nl)
            *nl = '\0';
        s = nl ? nl + 1 : NULL;
        f->nlines = i;
    }
    return f;
}

static int check_kind_known(const check *c, const char *name)
{
    for (const cJSON *k = c->kinds ? c->kinds->child : NULL; k; k = k->next)
        if (strcmp(cJSON_GetObjectItemCaseSensitive(k, "name")->valuestring, name) == 0)
            return 1;
    return 0;
}

/* The code of a line without a trailing "--" comment (naive about "--"
 * inside strings, which rule files rarely have), copied into buf. */
static const char *check_code(const char *line, char *buf, size_t n)
{
    snprintf(buf, n, "%s", line);
    char *dash = strstr(buf, "--");
    if (dash)
        *dash = '\0';
    return buf;
}

/* act.open("kind" ...) and friends: the kind must be declared. */
static void check_kinds_in_file(check *c, const check_file *f)
{
    static const char *const calls[] = {"act.open(\"", "act.fulfil(\"", "act.cancel(\"",
                                        "act.extend(\"", "state.obligation(\""};
    char buf[4096];
    for (int ln = 1; ln <= f->nlines; ln++) {
        const char *code = check_code(f->lines[ln], buf, sizeof buf);
        for (size_t k = 0; k < sizeof calls / sizeof calls[0]; k++) {
            for (const char *p = strstr(code, calls[k]); p; p = strstr(p + 1, calls[k])) {
                const char *name = p + strlen(calls[k]);
                const char *end = strchr(name, '"');
                if (!end || end == name || end - name > 200)
                    continue;
                char kind[256];
                memcpy(kind, name, (size_t)(end - name));
                kind[end - name] = '\0';
                if (!check_kind_known(c, kind))
                    check_report(c, f->path, ln,
                                 "unknown obligation kind \"%s\" (declare it with obligation "
                                 "\"%s\" { ... })",
                                 kind, kind);
            }
        }
    }
}

/* Is NAME a field of data for at least one of the rule's event types?
 * 1 yes, 0 no, -1 cannot tell (an unknown type or one without a schema). */
static int check_field_known(const check *c, const cJSON *on, const char *name)
{
    int tellable = 0;
    for (const cJSON *t = on ? on->child : NULL; t; t = t->next) {
        const obligo_event_type *et = plugins_event_type(c->p, t->valuestring);
        if (!et || !et->data)
            return -1;
        tellable = 1;
        for (const obligo_field *f = et->data->fields; f && f->name; f++)
            if (strcmp(f->name, name) == 0)
                return 1;
    }
    return tellable ? 0 : -1;
}

static void check_rule(check *c, const cJSON *rule)
{
    const char *name = cJSON_GetObjectItemCaseSensitive(rule, "name")->valuestring;
    const char *file = cJSON_GetObjectItemCaseSensitive(rule, "file")->valuestring;
    int line = (int)cJSON_GetObjectItemCaseSensitive(rule, "line")->valuedouble;
    const cJSON *on = cJSON_GetObjectItemCaseSensitive(rule, "on");
    for (const cJSON *t = on ? on->child : NULL; t; t = t->next) {
        const char *type = t->valuestring;
        /* Unknown types are accepted (by default), so a rule for an
         * organisation's own type can fire; one in a namespace the plugins
         * define, but not among its types, is a typo that never fires. */
        if (strcmp(type, "*") == 0 || strncmp(type, "obligo.", 7) == 0 ||
            plugins_event_type(c->p, type) || !plugins_namespace_known(c->p, type))
            continue;
        const char *meant = plugins_closest_type(c->p, type);
        check_report(c, file, line,
                     "rule \"%s\" listens for \"%s\", which no loaded plugin registers "
                     "(a typo%s%s%s?): it can never fire",
                     name, type, meant ? " of \"" : "", meant ? meant : "", meant ? "\"" : "");
    }
    const cJSON *first = cJSON_GetObjectItemCaseSensitive(rule, "first_line");
    const cJSON *last = cJSON_GetObjectItemCaseSensitive(rule, "last_line");
    const check_file *f = check_file_get(c, file);
    if (!f || !f->lines || !cJSON_IsNumber(first) || !cJSON_IsNumber(last))
        return;
    char buf[4096];
    for (int ln = (int)first->valuedouble; ln <= (int)last->valuedouble && ln <= f->nlines; ln++) {
        const char *code = check_code(f->lines[ln], buf, sizeof buf);
        for (const char *p = strstr(code, "e.data."); p; p = strstr(p + 1, "e.data.")) {
            if (p > code && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '.'))
                continue; /* "re.data." or "x.e.data.": not the event */
            const char *s = p + 7;
            size_t n = 0;
            while (isalnum((unsigned char)s[n]) || s[n] == '_')
                n++;
            if (!n || n > 120)
                continue;
            char field[128];
            memcpy(field, s, n);
            field[n] = '\0';
            if (check_field_known(c, on, field) == 0)
                check_report(c, file, ln, "rule \"%s\": its event types have no field data.%s",
                             name, field);
        }
    }
}

cJSON *check_rules(const plugins *p, const rules *r, const rules_sources *src, const cJSON *policy)
{
    check c = {.findings = cJSON_CreateArray(), .p = p, .src = src};
    cJSON *desc = rules_describe(r);
    if (!c.findings || !desc) {
        cJSON_Delete(c.findings);
        cJSON_Delete(desc);
        return NULL;
    }
    /* a misspelt policy name would leave the default in force, silently */
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(desc, "policies");
    for (const cJSON *pol = policy ? policy->child : NULL; pol; pol = pol->next) {
        int used = 0;
        for (const cJSON *n = names ? names->child : NULL; n; n = n->next)
            used |= strcmp(n->valuestring, pol->string) == 0;
        if (!used)
            check_report(&c, "configuration", 0,
                         "policy \"%s\" is not read by any rule (a typo? the default stays)",
                         pol->string);
    }
    c.kinds = cJSON_GetObjectItemCaseSensitive(desc, "obligations");
    for (const cJSON *rule = cJSON_GetObjectItemCaseSensitive(desc, "rules")->child; rule;
         rule = rule->next) {
        check_file_get(&c, cJSON_GetObjectItemCaseSensitive(rule, "file")->valuestring);
        check_rule(&c, rule);
    }
    for (int i = 0; i < c.nfiles; i++)
        if (c.files[i].lines)
            check_kinds_in_file(&c, &c.files[i]);
    for (int i = 0; i < c.nfiles; i++) {
        obligo_free(c.files[i].lines);
        obligo_free(c.files[i].text);
    }
    obligo_free(c.files);
    cJSON_Delete(desc);
    if (c.oom) { /* a check that could not look everywhere found nothing for sure */
        cJSON_Delete(c.findings);
        return NULL;
    }
    return c.findings;
}
