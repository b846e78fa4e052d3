/*
 * ruleinfo.c — a rule set as the privacy officer reads it (ruleinfo.h).
 */
#include "ruleinfo.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"

/* ---- links to the law --------------------------------------------------- */

/* The laws the pack's sources name, each by the words that name it in a
 * source text, and where its text is. In the order they are looked for: a
 * source naming several links to the first that occurs in the text. */
static const struct {
    const char *word, *url;
} ruleinfo_laws[] = {
    {"AVG", "https://eur-lex.europa.eu/legal-content/NL/TXT/?uri=CELEX:32016R0679"},
    {"NIS2", "https://eur-lex.europa.eu/legal-content/NL/TXT/?uri=CELEX:32022L2555"},
    {"BW 7:", "https://wetten.overheid.nl/BWBR0005290"}, /* Boek 7: the WGBO's articles */
    {"WGBO", "https://wetten.overheid.nl/BWBR0005290"},
    {"Wgbo", "https://wetten.overheid.nl/BWBR0005290"},
    {"Wabvpz", "https://wetten.overheid.nl/BWBR0023864"},
    {"Besluit elektronische gegevensverwerking", "https://wetten.overheid.nl/BWBR0040238"},
};

/* 1 when word occurs in s at p as a word of its own (not inside another). */
static int ruleinfo_word_at(const char *s, const char *p, const char *word)
{
    size_t n = strlen(word);
    int before = p == s || !((p[-1] >= 'A' && p[-1] <= 'Z') || (p[-1] >= 'a' && p[-1] <= 'z'));
    char after = p[n];
    return before && (word[n - 1] == ':' ||
                      !((after >= 'A' && after <= 'Z') || (after >= 'a' && after <= 'z')));
}

const char *ruleinfo_source_url(const char *source)
{
    const char *best = NULL, *url = NULL;
    for (size_t i = 0; source && i < sizeof ruleinfo_laws / sizeof ruleinfo_laws[0]; i++) {
        for (const char *p = strstr(source, ruleinfo_laws[i].word); p;
             p = strstr(p + 1, ruleinfo_laws[i].word)) {
            if (!ruleinfo_word_at(source, p, ruleinfo_laws[i].word))
                continue;
            if (!best || p < best) {
                best = p;
                url = ruleinfo_laws[i].url;
            }
            break;
        }
    }
    return url;
}

/* ---- severity ------------------------------------------------------------- */

static int ruleinfo_rank(const char *level, size_t n)
{
    static const char *const levels[] = {"info", "warning", "critical"};
    for (int i = 0; i < 3; i++)
        if (strlen(levels[i]) == n && strncmp(level, levels[i], n) == 0)
            return i + 1;
    return 0;
}

/* The most severe `severity = "level"` written in lines first..last of
 * text (len bytes): 1 info, 2 warning, 3 critical, 0 none. */
static int ruleinfo_severity_in(const char *text, size_t len, int first, int last)
{
    int line = 1, best = 0;
    static const char key[] = "severity";
    for (size_t i = 0; i < len && line <= last; i++) {
        if (text[i] == '\n') {
            line++;
            continue;
        }
        if (line < first || len - i < sizeof key || memcmp(text + i, key, sizeof key - 1) != 0)
            continue;
        size_t j = i + sizeof key - 1;
        while (j < len && (text[j] == ' ' || text[j] == '\t'))
            j++;
        if (j >= len || text[j] != '=')
            continue;
        for (j++; j < len && (text[j] == ' ' || text[j] == '\t'); j++)
            ;
        /* the literal, or each literal of an expression such as
         * `reasons and "warning" or "critical"`, up to the line's end */
        while (j < len && text[j] != '\n' && text[j] != ',') {
            if (text[j] != '"') {
                j++;
                continue;
            }
            size_t start = ++j;
            while (j < len && text[j] != '"' && text[j] != '\n')
                j++;
            int rank = ruleinfo_rank(text + start, j - start);
            best = rank > best ? rank : best;
            j++;
        }
    }
    return best;
}

/* ---- the description ------------------------------------------------------ */

/* path with dir and its '/' taken off, when it lies below dir. */
static const char *ruleinfo_within(const char *path, const char *dir)
{
    size_t n = dir ? strlen(dir) : 0;
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n && strncmp(path, dir, n) == 0 && path[n] == '/')
        return path + n + 1;
    return path;
}

static const rules_file *ruleinfo_kept(const rules *r, const char *rel)
{
    for (int i = 0; i < rules_file_count(r); i++)
        if (strcmp(rules_file_at(r, i)->path, rel) == 0)
            return rules_file_at(r, i);
    return NULL;
}

/* 1 when the report of a test run names (what, name) as reached by none. */
static int ruleinfo_untested(const ruletest_report *rep, const char *what, const char *name)
{
    const cJSON *u;
    cJSON_ArrayForEach(u, rep->uncovered)
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(u, "what")), what) == 0 &&
            strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(u, "name")), name) == 0)
            return 1;
    }
    return 0;
}

/* One entry of rules_describe's list d as the officer reads it. what is
 * "rule" or "obligation" (ruletest.h's names). *tested counts it. */
static cJSON *ruleinfo_entry(const rules *r, const cJSON *d, const char *dir, const char *what,
                             const ruletest_report *rep, int *tested)
{
    static const char *const levels[] = {NULL, "info", "warning", "critical"};
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "name"));
    const char *source = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "source"));
    const char *file =
        ruleinfo_within(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "file")), dir);
    const cJSON *line = cJSON_GetObjectItemCaseSensitive(d, "line");
    cJSON *o = cJSON_CreateObject();
    int ok =
        o && cJSON_AddStringToObject(o, "name", name) &&
        cJSON_AddItemToObject(o, "title", cJSON_Duplicate(cJSON_GetObjectItem(d, "title"), 0)) &&
        cJSON_AddStringToObject(o, "source", source) && cJSON_AddStringToObject(o, "file", file) &&
        cJSON_AddNumberToObject(o, "line", line->valuedouble);
    int rule = strcmp(what, "rule") == 0;
    if (ok && rule) {
        ok = cJSON_AddItemToObject(o, "types", cJSON_Duplicate(cJSON_GetObjectItem(d, "on"), 1));
        const rules_file *f = ruleinfo_kept(r, file);
        int first = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "first_line"));
        int last = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "last_line"));
        int sev = f ? ruleinfo_severity_in(f->text, f->len, first, last) : 0;
        if (ok && sev)
            ok = cJSON_AddStringToObject(o, "severity", levels[sev]) != NULL;
    } else if (ok && ruleinfo_source_url(source)) {
        ok = cJSON_AddStringToObject(o, "source_url", ruleinfo_source_url(source)) != NULL;
    }
    if (ok && rep) {
        int t = !ruleinfo_untested(rep, what, name);
        *tested += t;
        ok = cJSON_AddBoolToObject(o, "tested", t) != NULL;
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* The entries of rules_describe's list named list into out's array named
 * as, counting them and the tested ones. 0, or -1 when memory ran out. */
static int ruleinfo_list(cJSON *out, const char *as, const rules *r, const cJSON *desc,
                         const char *list, const char *dir, const ruletest_report *rep, int *total,
                         int *tested)
{
    cJSON *arr = cJSON_AddArrayToObject(out, as);
    const cJSON *d;
    *total = *tested = 0;
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(desc, list))
    {
        cJSON *o = ruleinfo_entry(r, d, dir, strcmp(list, "rules") == 0 ? "rule" : "obligation",
                                  rep, tested);
        if (!arr || !o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            return -1;
        }
        (*total)++;
    }
    return arr ? 0 : -1;
}

cJSON *ruleinfo_describe(const rules *r, const char *dir, const ruletest_report *rep)
{
    cJSON *desc = rules_describe(r);
    cJSON *out = desc ? cJSON_CreateObject() : NULL;
    int nr = 0, tr = 0, nd = 0, td = 0;
    int ok = out && cJSON_AddStringToObject(out, "revision", rules_revision(r)) &&
             ruleinfo_list(out, "rules", r, desc, "rules", dir, rep, &nr, &tr) == 0 &&
             ruleinfo_list(out, "duties", r, desc, "obligations", dir, rep, &nd, &td) == 0;
    if (ok && rep) {
        cJSON *c = cJSON_AddObjectToObject(out, "coverage");
        ok = c && cJSON_AddNumberToObject(c, "rules", nr) &&
             cJSON_AddNumberToObject(c, "rules_tested", tr) &&
             cJSON_AddNumberToObject(c, "duties", nd) &&
             cJSON_AddNumberToObject(c, "duties_tested", td);
    }
    cJSON_Delete(desc);
    if (!ok) {
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}

int ruleinfo_error_place(const char *why, const char *dir, char **file, int *line)
{
    *file = NULL;
    *line = 0;
    if (!why)
        return -1;
    if (strncmp(why, "FAIL ", 5) == 0)
        why += 5;
    else if (strncmp(why, "rules: ", 7) == 0)
        why += 7;
    /* the first ".lua:digits:" ends the file name */
    for (const char *p = strchr(why, ':'); p; p = strchr(p + 1, ':')) {
        const char *q = p + 1;
        while (*q >= '0' && *q <= '9')
            q++;
        if (q == p + 1 || *q != ':')
            continue;
        if (p - why < 4 || strncmp(p - 4, ".lua", 4) != 0)
            continue; /* a message, not a rule file, before it */
        char *path = obligo_strndup(why, (size_t)(p - why));
        if (!path)
            return -1;
        const char *rel = ruleinfo_within(path, dir);
        *file = obligo_strdup(rel);
        obligo_free(path);
        *line = atoi(p + 1);
        return *file ? 0 : -1;
    }
    return -1;
}

cJSON *ruleinfo_files(const rules *r)
{
    cJSON *out = cJSON_CreateObject();
    for (int i = 0; out && i < rules_file_count(r); i++) {
        const rules_file *f = rules_file_at(r, i);
        char *text = obligo_strndup(f->text, f->len);
        if (!text || !cJSON_AddStringToObject(out, f->path, text)) {
            obligo_free(text);
            cJSON_Delete(out);
            return NULL;
        }
        obligo_free(text);
    }
    return out;
}
