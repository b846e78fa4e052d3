/*
 * json.c — json_tree_check of json.h: what a parsed cJSON tree holds that
 * the engine could not keep as it was sent.
 *
 * Role in the pipeline: the "decode" stage, between cJSON's parse and
 * validation, for every JSON input (events, batches, NDJSON lines, ingest
 * files and the documents of JSON input adapters such as FHIR).
 *
 * Depends on: cJSON, alloc.h, error.h, validate.h (validate_text_bad, so
 * that a message never quotes a member name that is not UTF-8).
 */
#include "json.h"

#include "alloc.h"
#include "error.h"
#include "validate.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Paths are cut like validate.c's: the deepest member that fits. */
#define JSON_PATH_MAX 256
/* A member name is quoted in a message up to this many bytes. */
#define JSON_QUOTE_MAX 64

typedef struct json_member {
    const char *name;
    size_t index; /* place in the object, for the first repeat in document order */
    const cJSON *item;
} json_member;

typedef struct json_walk {
    char path[JSON_PATH_MAX];
    size_t path_len;
    json_member *members; /* scratch for one object at a time */
    size_t members_cap;
    char **field, **reason;
} json_walk;

static int json_member_cmp(const void *a, const void *b)
{
    const json_member *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Appends ".name" (or "name" at the top) or "[i]" to the path when it fits
 * and the name can be shown; returns the length to restore. */
static size_t json_path_push(json_walk *w, const char *name, size_t index)
{
    size_t old = w->path_len;
    char part[32];
    const char *add;
    size_t n;
    if (name) {
        n = strlen(name);
        if (validate_text_bad(name, n) >= 0)
            return old; /* the parent names it; validation names the bytes */
        add = name;
    } else {
        int k = snprintf(part, sizeof part, "[%zu]", index);
        n = k > 0 ? (size_t)k : 0;
        add = part;
    }
    size_t dot = name && old ? 1 : 0;
    if (old + dot + n >= sizeof w->path)
        return old;
    if (dot)
        w->path[w->path_len++] = '.';
    memcpy(w->path + w->path_len, add, n);
    w->path_len += n;
    w->path[w->path_len] = '\0';
    return old;
}

static void json_path_pop(json_walk *w, size_t len)
{
    w->path_len = len;
    w->path[len] = '\0';
}

/* Sets the answer: *field the path (NULL at the top), *reason "path: why". */
static int json_fail(json_walk *w, const char *why)
{
    *w->field = w->path_len ? obligo_strdup(w->path) : NULL;
    *w->reason = obligo_asprintf("%s: %s", w->path_len ? w->path : "the document", why);
    if (!*w->reason || (w->path_len && !*w->field)) {
        obligo_free(*w->field);
        obligo_free(*w->reason);
        *w->field = *w->reason = NULL;
        return OBLIGO_ENOMEM;
    }
    return OBLIGO_EINVAL;
}

static int json_fail_duplicate(json_walk *w, const char *name)
{
    size_t n = strlen(name);
    if (validate_text_bad(name, n) >= 0)
        return json_fail(w, "duplicate member name (not valid UTF-8)");
    size_t show = n;
    if (show > JSON_QUOTE_MAX) {
        show = JSON_QUOTE_MAX;
        while (show > 0 && ((unsigned char)name[show] & 0xC0) == 0x80)
            show--; /* cut on a character boundary */
    }
    char *why =
        obligo_asprintf("duplicate member name \"%.*s%s\"", (int)show, name, show < n ? "..." : "");
    if (!why)
        return json_fail(w, "duplicate member name");
    int rc = json_fail(w, why);
    obligo_free(why);
    return rc;
}

/* The first member of the object v (m members) whose name an earlier
 * member has, in document order, or NULL. Sorting the names makes it
 * O(m log m): an object with 100,000 members costs a sort, not 10^10
 * comparisons. */
static const cJSON *json_first_duplicate(json_walk *w, const cJSON *v, size_t m, int *oom)
{
    if (m < 2)
        return NULL;
    if (m > w->members_cap) {
        json_member *p = obligo_realloc(w->members, m * sizeof *p);
        if (!p) {
            *oom = 1;
            return NULL;
        }
        w->members = p;
        w->members_cap = m;
    }
    size_t i = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        w->members[i].name = c->string ? c->string : "";
        w->members[i].index = i;
        w->members[i].item = c;
    }
    qsort(w->members, m, sizeof *w->members, json_member_cmp);
    size_t first = SIZE_MAX;
    const cJSON *dup = NULL;
    for (i = 1; i < m; i++)
        if (strcmp(w->members[i - 1].name, w->members[i].name) == 0 &&
            w->members[i].index < first &&
            (i < 2 || strcmp(w->members[i - 2].name, w->members[i].name) != 0)) {
            first = w->members[i].index; /* the second of its run: its first repeat */
            dup = w->members[i].item;
        }
    return dup;
}

/* Depth first: cJSON's nesting limit (CJSON_NESTING_LIMIT, 1000) bounds
 * the recursion, and the path lives in w, not in each frame. */
static int json_walk_value(json_walk *w, const cJSON *v)
{
    if (cJSON_IsNumber(v)) {
        /* JSON text cannot spell infinity or NaN: a number cJSON holds as
         * one was beyond a double's range (1e400), and cJSON would print
         * it back as null. */
        if (!isfinite(v->valuedouble))
            return json_fail(w, "number does not fit a double (its magnitude is above "
                                "1.8e308)");
        return 0;
    }
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return 0;
    size_t m = 0;
    for (const cJSON *c = v->child; c; c = c->next)
        m++;
    if (cJSON_IsObject(v)) {
        int oom = 0;
        const cJSON *dup = json_first_duplicate(w, v, m, &oom);
        if (oom)
            return OBLIGO_ENOMEM;
        if (dup) {
            size_t keep = json_path_push(w, dup->string, 0);
            int rc = json_fail_duplicate(w, dup->string);
            json_path_pop(w, keep);
            return rc;
        }
    }
    size_t i = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        size_t keep = json_path_push(w, cJSON_IsObject(v) ? (c->string ? c->string : "") : NULL, i);
        int rc = json_walk_value(w, c);
        json_path_pop(w, keep);
        if (rc)
            return rc;
    }
    return 0;
}

int json_tree_check(const cJSON *root, char **field, char **reason)
{
    *field = *reason = NULL;
    json_walk w = {.field = field, .reason = reason};
    w.path[0] = '\0';
    int rc = json_walk_value(&w, root);
    obligo_free(w.members);
    return rc;
}
