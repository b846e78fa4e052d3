/*
 * config.c — defaults and the JSON configuration file (config.h).
 *
 * Depends on cJSON and the allocator. Every member of an object this file
 * interprets must be a key it knows: a misspelt key ("sink" for "sinks")
 * would otherwise be ignored without a word, and the engine would run with
 * the default the person meant to replace (alerts on stdout only).
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"
#include "text.h"

char *config_beside_binary(const char *rel)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    char *dir = obligo_asprintf("%s/%s", exe, rel);
    struct stat sb;
    char real[PATH_MAX];
    if (dir && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) && realpath(dir, real)) {
        obligo_free(dir);
        return obligo_strdup(real); /* "/usr/share/obligo/rules", not ".../bin/../share/..." */
    }
    obligo_free(dir);
    return NULL;
}

static int config_is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The database under systemd's StateDirectory= (the first of its
 * directories), else var/obligo.db under the working directory. */
static char *config_default_db(void)
{
    const char *state = getenv("STATE_DIRECTORY");
    if (state && *state) {
        size_t n = strcspn(state, ":");
        return obligo_asprintf("%.*s/obligo.db", (int)n, state);
    }
    return obligo_strdup("var/obligo.db");
}

/* rules/ under the working directory (a checkout), else the pack an install
 * put beside the binary (share/obligo/rules), else rules/ all the same (its
 * absence is then named when the rules are loaded). */
static char *config_default_rules(void)
{
    if (config_is_dir("rules"))
        return obligo_strdup("rules");
    char *installed = config_beside_binary(OBLIGO_INSTALL_DATA_DIR "/rules");
    return installed ? installed : obligo_strdup("rules");
}

int config_set(char **slot, const char *value)
{
    char *copy = obligo_strdup(value);
    if (!copy)
        return OBLIGO_ENOMEM;
    obligo_free(*slot);
    *slot = copy;
    return 0;
}

static char *config_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = obligo_malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n - 1, fp);
        n += got;
        if (got == 0)
            break;
        if (n + 1 == cap) {
            if (cap > (1u << 24)) { /* a configuration file has no business being this big */
                obligo_free(buf);
                buf = NULL;
                break;
            }
            char *nb = obligo_realloc(buf, cap *= 2);
            if (!nb) {
                obligo_free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
    }
    fclose(fp);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

/* "stdout", "file:PATH" (a path after the colon), or a plugin sink: a name of
 * [a-z0-9_-] with an optional ":ARGUMENT". Whether a plugin registers that
 * name is checked once plugins are loaded. */
static int config_sink_name_ok(const char *s)
{
    if (strncmp(s, "file:", 5) == 0)
        return s[5] != '\0';
    size_t n = 0;
    while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_' ||
           s[n] == '-')
        n++;
    return n > 0 && (s[n] == '\0' || s[n] == ':');
}

/* The keys of the top level, by the kind of value each takes; config_check_keys
 * refuses any other. A key added to one of the typed lists is read by that
 * list's loop in a step of config_apply (its _Static_assert keeps the slots
 * in step); one added to config_others needs code of its own there. */
#define CONFIG_N(a) ((int)(sizeof(a) / sizeof((a)[0])))
static const char *const config_strings[] = {"db", "rules", "listen", "public_url"};
static const char *const config_bools[] = {"allow_unknown_types", "access_log",
                                           "allow_insecure_listen", "watch_rules"};
static const char *const config_counts[] = {"max_queue_events", "max_connections",
                                            "max_connections_per_client"};
static const char *const config_sizes[] = {
    "max_event_bytes",        "max_body_bytes",          "lua_memory_bytes", "lua_instructions",
    "lua_event_instructions", "max_buffered_body_bytes", "max_answer_bytes"};
static const char *const config_others[] = {"console_session_seconds",
                                            "commit_interval_ms",
                                            "sinks",
                                            "plugin_dirs",
                                            "plugins",
                                            "policy",
                                            "reader_threads",
                                            "routes"};
static const struct {
    const char *const *keys;
    int n;
} config_top_keys[] = {
    {config_strings, CONFIG_N(config_strings)}, {config_bools, CONFIG_N(config_bools)},
    {config_counts, CONFIG_N(config_counts)},   {config_sizes, CONFIG_N(config_sizes)},
    {config_others, CONFIG_N(config_others)},
};

/* The known key nearest to key when it is close enough to be a likely typo
 * (one edit in a short key, two in a longer one: further away a suggestion
 * misleads more often than it helps), or NULL. */
static const char *config_nearest_key(const char *key)
{
    const char *best = NULL;
    unsigned best_d = UINT_MAX;
    for (int t = 0; t < CONFIG_N(config_top_keys); t++) {
        for (int i = 0; i < config_top_keys[t].n; i++) {
            const char *k = config_top_keys[t].keys[i];
            unsigned d = text_distance(key, k);
            if (d < best_d && d <= (strlen(k) >= 6 ? 2u : 1u)) {
                best_d = d;
                best = k;
            }
        }
    }
    return best;
}

static int config_top_key_known(const char *key)
{
    for (int t = 0; t < CONFIG_N(config_top_keys); t++)
        for (int i = 0; i < config_top_keys[t].n; i++)
            if (strcmp(key, config_top_keys[t].keys[i]) == 0)
                return 1;
    return 0;
}

/* Refuses a key given twice in obj (`where` says which object, for the
 * message): cJSON reads the first, so the second would be ignored as
 * silently as a misspelt key. With closed set, obj is the top level and
 * every member must also be one of config_top_keys; the message then names
 * the nearest known key when there is a likely one. */
static int config_check_keys(const cJSON *obj, int closed, const char *where, const char *path,
                             char **err)
{
    for (const cJSON *m = obj->child; m; m = m->next) {
        if (closed && !config_top_key_known(m->string)) {
            const char *near = config_nearest_key(m->string);
            char hint[96] = "";
            if (near)
                snprintf(hint, sizeof hint, " (did you mean \"%s\"?)", near);
            else if (strchr(m->string, '.'))
                snprintf(hint, sizeof hint, " (policy values go under \"policy\")");
            else if (cJSON_IsObject(m))
                snprintf(hint, sizeof hint, " (a plugin's settings go under \"plugins\")");
            *err = obligo_asprintf("%s: unknown key \"%s\" %s%s", path, m->string, where, hint);
            return OBLIGO_EINVAL;
        }
        for (const cJSON *e = obj->child; e != m; e = e->next) {
            if (strcmp(e->string, m->string) == 0) {
                *err = obligo_asprintf("%s: key \"%s\" is given twice %s (only the first "
                                       "would be read)",
                                       path, m->string, where);
                return OBLIGO_EINVAL;
            }
        }
    }
    return 0;
}

/* The steps of config_apply, one per kind of key. Each reads its keys of
 * root (the file's top level) into cfg and returns 0, OBLIGO_ENOMEM, or
 * OBLIGO_EINVAL with *err (owned by the caller) naming path and the key;
 * CONFIG_BAD is that refusal. */
#define CONFIG_BAD(key, what)                                                                      \
    do {                                                                                           \
        *err = obligo_asprintf("%s: \"%s\" must be %s", path, key, what);                          \
        return OBLIGO_EINVAL;                                                                      \
    } while (0)

static int config_apply_strings(config *cfg, const cJSON *root, const char *path, char **err)
{
    const cJSON *v;
    const char *const *strings = config_strings;
    char **slots[] = {&cfg->db_path, &cfg->rules_dir, &cfg->listen, &cfg->public_url};
    _Static_assert(CONFIG_N(config_strings) == 4, "a slot for every string key");
    for (int i = 0; i < 4; i++) {
        if ((v = cJSON_GetObjectItemCaseSensitive(root, strings[i]))) {
            if (!cJSON_IsString(v) || !*v->valuestring)
                CONFIG_BAD(strings[i], "a non-empty string");
            /* the base of the contract's URLs ($id of the schemas) */
            if (slots[i] == &cfg->public_url && ((strncmp(v->valuestring, "http://", 7) != 0 &&
                                                  strncmp(v->valuestring, "https://", 8) != 0) ||
                                                 strpbrk(v->valuestring, "?# \"\\") ||
                                                 v->valuestring[strlen(v->valuestring) - 1] == '/'))
                CONFIG_BAD(strings[i], "an http:// or https:// URL without a query, a fragment or "
                                       "a trailing /, such as \"https://obligo.example.nl\"");
            if (config_set(slots[i], v->valuestring))
                return OBLIGO_ENOMEM;
        }
    }
    return 0;
}

static int config_apply_bools(config *cfg, const cJSON *root, const char *path, char **err)
{
    const cJSON *v;
    const char *const *bools = config_bools;
    int *bool_slots[] = {&cfg->allow_unknown_types, &cfg->access_log, &cfg->allow_insecure_listen,
                         &cfg->watch_rules};
    _Static_assert(CONFIG_N(config_bools) == 4, "a slot for every boolean key");
    for (int i = 0; i < 4; i++) {
        if ((v = cJSON_GetObjectItemCaseSensitive(root, bools[i]))) {
            if (!cJSON_IsBool(v))
                CONFIG_BAD(bools[i], "true or false");
            *bool_slots[i] = cJSON_IsTrue(v);
        }
    }
    return 0;
}

/* The counts, the commit interval and the number of reader threads. */
static int config_apply_numbers(config *cfg, const cJSON *root, const char *path, char **err)
{
    const cJSON *v;
    const char *const *counts = config_counts;
    _Static_assert(CONFIG_N(config_counts) == 3, "a slot for every count key");
    for (int i = 0; i < 3; i++) {
        if ((v = cJSON_GetObjectItemCaseSensitive(root, counts[i]))) {
            if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 10000000)
                CONFIG_BAD(counts[i], "a number between 1 and 10,000,000");
            if (i == 0)
                cfg->max_queue_events = (size_t)v->valuedouble;
            else if (i == 1)
                cfg->max_connections = (unsigned)v->valuedouble;
            else
                cfg->max_connections_per_client = (unsigned)v->valuedouble;
        }
    }
    /* how long a console sign-in lasts: a minute to a week */
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "console_session_seconds"))) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 60 || v->valuedouble > 604800 ||
            v->valuedouble != (double)(long)v->valuedouble)
            CONFIG_BAD("console_session_seconds",
                       "a whole number of seconds between 60 and 604800");
        cfg->console_session_seconds = (long)v->valuedouble;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "commit_interval_ms"))) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1000)
            CONFIG_BAD("commit_interval_ms", "a number of milliseconds between 0 and 1000");
        cfg->commit_interval_ms = v->valuedouble;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "reader_threads"))) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 64 ||
            v->valuedouble != (double)(int)v->valuedouble)
            CONFIG_BAD("reader_threads", "a whole number between 1 and 64");
        cfg->reader_threads = (int)v->valuedouble;
    }
    return 0;
}

/* The byte sizes, and that one body fits in what all may hold. */
static int config_apply_sizes(config *cfg, const cJSON *root, const char *path, char **err)
{
    const cJSON *v;
    const char *const *sizes = config_sizes;
    _Static_assert(CONFIG_N(config_sizes) == 7, "a slot for every size key");
    for (int i = 0; i < 7; i++) {
        if ((v = cJSON_GetObjectItemCaseSensitive(root, sizes[i]))) {
            if (!cJSON_IsNumber(v) || v->valuedouble < 1024 || v->valuedouble > 1e12)
                CONFIG_BAD(sizes[i], "a number between 1024 and 10^12");
            size_t n = (size_t)v->valuedouble;
            if (i == 0)
                cfg->max_event_bytes = n;
            else if (i == 1)
                cfg->max_body_bytes = n;
            else if (i == 2)
                cfg->limits.memory_bytes = n;
            else if (i == 3)
                cfg->limits.instructions = n;
            else if (i == 4)
                cfg->limits.event_instructions = n;
            else if (i == 5)
                cfg->max_buffered_body_bytes = n;
            else
                cfg->max_answer_bytes = n;
        }
    }
    /* One body must fit in what all bodies together may hold (with its
     * NUL), or a request within max_body_bytes could never be admitted. */
    if (cfg->max_buffered_body_bytes <= cfg->max_body_bytes) {
        *err = obligo_asprintf("%s: \"max_buffered_body_bytes\" (%zu) must be larger than "
                               "\"max_body_bytes\" (%zu): one body must fit in what all bodies "
                               "together may hold",
                               path, cfg->max_buffered_body_bytes, cfg->max_body_bytes);
        return OBLIGO_EINVAL;
    }
    return 0;
}

static const char *const config_severities[] = {"info", "warning", "critical"};

static int config_severity(const char *s)
{
    for (int i = 0; i < CONFIG_N(config_severities); i++)
        if (strcmp(s, config_severities[i]) == 0)
            return i;
    return -1;
}

int config_route_takes(const config_route *r, const char *kind, const char *severity)
{
    if (!r || !r->routed)
        return 1;
    int sev = config_severity(severity ? severity : "");
    if (sev < r->min_severity)
        return 0;
    if (!r->nkinds)
        return 1;
    for (int i = 0; i < r->nkinds; i++) {
        const char *k = r->kinds[i];
        size_t n = strlen(k);
        if (n && k[n - 1] == '*' ? strncmp(k, kind, n - 1) == 0 : strcmp(k, kind) == 0)
            return 1;
    }
    return 0;
}

static void config_route_clear(config_route *r)
{
    for (int i = 0; i < r->nkinds; i++)
        obligo_free(r->kinds[i]);
    memset(r, 0, sizeof *r);
}

/* "routes": {SINK: {"kinds": [KIND or PREFIX*], "min_severity": S}}, each
 * SINK one of "sinks" (given before or after it in the file). */
static int config_apply_routes(config *cfg, const cJSON *v, const char *path, char **err)
{
    if (!cJSON_IsObject(v))
        CONFIG_BAD("routes", "an object of sinks and the alerts each gets, such as {\"webhook\": "
                             "{\"kinds\": [\"avg.*\"], \"min_severity\": \"warning\"}}");
    int rc = config_check_keys(v, 0, "in \"routes\"", path, err);
    if (rc)
        return rc;
    for (const cJSON *r = v->child; r; r = r->next) {
        int i = 0;
        while (i < cfg->nsinks && strcmp(cfg->sinks[i], r->string) != 0)
            i++;
        if (i == cfg->nsinks) {
            *err = obligo_asprintf("%s: \"routes\" names the sink \"%s\", which is not in "
                                   "\"sinks\"",
                                   path, r->string);
            return OBLIGO_EINVAL;
        }
        config_route *route = &cfg->routes[i];
        config_route_clear(route);
        route->routed = 1;
        if (!cJSON_IsObject(r)) {
            *err = obligo_asprintf("%s: \"routes\".\"%s\" must be an object with \"kinds\" "
                                   "and/or \"min_severity\"",
                                   path, r->string);
            return OBLIGO_EINVAL;
        }
        for (const cJSON *m = r->child; m; m = m->next) {
            if (strcmp(m->string, "kinds") == 0) {
                if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) > CONFIG_MAX_ROUTE_KINDS)
                    goto bad_kinds;
                for (const cJSON *k = m->child; k; k = k->next) {
                    if (!cJSON_IsString(k) || !*k->valuestring)
                        goto bad_kinds;
                    if (!(route->kinds[route->nkinds++] = obligo_strdup(k->valuestring)))
                        return OBLIGO_ENOMEM;
                }
            } else if (strcmp(m->string, "min_severity") == 0) {
                if (!cJSON_IsString(m) ||
                    (route->min_severity = config_severity(m->valuestring)) < 0) {
                    *err = obligo_asprintf("%s: \"routes\".\"%s\".\"min_severity\" must be "
                                           "\"info\", \"warning\" or \"critical\"",
                                           path, r->string);
                    return OBLIGO_EINVAL;
                }
            } else {
                *err = obligo_asprintf("%s: \"routes\".\"%s\" has \"%s\"; a route has "
                                       "\"kinds\" and \"min_severity\"",
                                       path, r->string, m->string);
                return OBLIGO_EINVAL;
            }
        }
        continue;
    bad_kinds:
        *err = obligo_asprintf("%s: \"routes\".\"%s\".\"kinds\" must be a list of at most %d "
                               "alert kinds (\"avg.breach_reported\") or prefixes ending in * "
                               "(\"nen7513.*\")",
                               path, r->string, CONFIG_MAX_ROUTE_KINDS);
        return OBLIGO_EINVAL;
    }
    return 0;
}

/* The lists: sinks and plugin directories. */
static int config_apply_lists(config *cfg, const cJSON *root, const char *path, char **err)
{
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "sinks"))) {
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > CONFIG_MAX_SINKS)
            CONFIG_BAD("sinks", "a list of at most 8 sinks (\"stdout\", \"file:PATH\")");
        for (int i = 0; i < cfg->nsinks; i++)
            obligo_free(cfg->sinks[i]);
        for (int i = 0; i < CONFIG_MAX_SINKS; i++)
            config_route_clear(&cfg->routes[i]);
        cfg->nsinks = 0;
        for (const cJSON *s = v->child; s; s = s->next) {
            if (!cJSON_IsString(s) || !config_sink_name_ok(s->valuestring))
                CONFIG_BAD("sinks", "a list of \"stdout\", \"file:PATH\" or a plugin's sink "
                                    "(\"NAME\" or \"NAME:ARGUMENT\", NAME in a-z, 0-9, _ and -)");
            int seen = 0;
            for (int i = 0; i < cfg->nsinks; i++)
                seen |= strcmp(cfg->sinks[i], s->valuestring) == 0;
            if (seen)
                continue; /* one outbox row per alert and sink: a repeat adds nothing */
            if (!(cfg->sinks[cfg->nsinks++] = obligo_strdup(s->valuestring)))
                return OBLIGO_ENOMEM;
        }
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "routes"))) {
        int rc = config_apply_routes(cfg, v, path, err);
        if (rc)
            return rc;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "plugin_dirs"))) {
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > CONFIG_MAX_PLUGIN_DIRS)
            CONFIG_BAD("plugin_dirs", "a list of at most 8 directories");
        for (const cJSON *d = v->child; d; d = d->next) {
            if (!cJSON_IsString(d) || !*d->valuestring)
                CONFIG_BAD("plugin_dirs", "a list of directory names");
            if (config_add_plugin_dir(cfg, d->valuestring))
                return OBLIGO_ENOMEM;
        }
    }
    return 0;
}

/* The objects whose keys this file does not know: plugins and policy. */
static int config_apply_open(config *cfg, const cJSON *root, const char *path, char **err)
{
    const cJSON *v;
    int rc;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "plugins"))) {
        if (!cJSON_IsObject(v))
            CONFIG_BAD("plugins", "an object of plugin names and their configuration");
        /* Open by design: its keys are plugin names and its values belong to
         * the plugins. plugins_load refuses a name no loaded plugin has and
         * checks each value against its plugin's schema; only a name given
         * twice is a mistake this file can see. */
        if ((rc = config_check_keys(v, 0, "in \"plugins\"", path, err)))
            return rc;
        cJSON *copy = cJSON_Duplicate(v, 1);
        if (!copy)
            return OBLIGO_ENOMEM;
        cJSON_Delete(cfg->plugins);
        cfg->plugins = copy;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "policy"))) {
        if (!cJSON_IsObject(v))
            CONFIG_BAD("policy", "an object of policy names and values");
        /* Open by design: rules read policies by name (policy(name,
         * default)), so which names exist is known only to the rules;
         * `obligo check` reports a name that no rule reads. */
        if ((rc = config_check_keys(v, 0, "in \"policy\"", path, err)))
            return rc;
        cJSON *copy = cJSON_Duplicate(v, 1);
        if (!copy)
            return OBLIGO_ENOMEM;
        cJSON_Delete(cfg->policy);
        cfg->policy = copy;
    }
    return 0;
}

#undef CONFIG_BAD

/* Reads root, the configuration file's top level (path names it in
 * messages), into cfg over its defaults; see the step functions above. */
static int config_apply(config *cfg, const cJSON *root, const char *path, char **err)
{
    int rc = config_check_keys(root, 1, "at the top level", path, err);
    if (rc)
        return rc;
    if ((rc = config_apply_strings(cfg, root, path, err)) ||
        (rc = config_apply_bools(cfg, root, path, err)) ||
        (rc = config_apply_numbers(cfg, root, path, err)) ||
        (rc = config_apply_sizes(cfg, root, path, err)) ||
        (rc = config_apply_lists(cfg, root, path, err)) ||
        (rc = config_apply_open(cfg, root, path, err)))
        return rc;
    return 0;
}

int config_load(config *cfg, const char *path, char **err)
{
    memset(cfg, 0, sizeof *cfg);
    *err = NULL;
    cfg->allow_unknown_types = 1;
    cfg->access_log = 1;
    cfg->watch_rules = 1;
    cfg->max_event_bytes = 1u << 20;
    cfg->max_body_bytes = 16u << 20;
    cfg->max_buffered_body_bytes = (size_t)256 << 20;
    cfg->max_connections_per_client = 256;
    cfg->console_session_seconds = 28800L; /* 8 hours */
    cfg->commit_interval_ms = 1;
    cfg->reader_threads = 2;
    cfg->max_answer_bytes = 8u << 20;
    int rc = OBLIGO_ENOMEM;
    char *db = config_default_db(), *rules = config_default_rules();
    int none = !db || !rules;
    if (!none) {
        cfg->db_path = db;
        cfg->rules_dir = rules;
        db = rules = NULL;
    }
    obligo_free(db);
    obligo_free(rules);
    if (none || config_set(&cfg->listen, "127.0.0.1:8787") ||
        !(cfg->sinks[0] = obligo_strdup("stdout")) || !(cfg->policy = cJSON_CreateObject()))
        goto fail;
    cfg->nsinks = 1;
    if (!path)
        return 0;
    size_t len = 0;
    char *text = config_read_file(path, &len);
    if (!text) {
        *err = obligo_asprintf("%s: cannot read the configuration file", path);
        rc = OBLIGO_EIO;
        goto fail;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    /* Where it went wrong: the parse error, the start of a value that is not
     * an object, or text after the object (blanks are fine). */
    size_t at = end && end >= text ? (size_t)(end - text) : 0;
    int bad = !root;
    if (root && !cJSON_IsObject(root)) {
        at = 0;
        bad = 1;
    } else if (root) {
        while (at < len &&
               (text[at] == ' ' || text[at] == '\t' || text[at] == '\r' || text[at] == '\n'))
            at++;
        bad = at < len;
    }
    if (bad) {
        int line = 1;
        for (size_t i = 0; i < at && i < len; i++)
            line += text[i] == '\n';
        *err = obligo_asprintf("%s:%d: not a JSON object%s", path, line,
                               root && cJSON_IsObject(root) ? " (text after its end)" : "");
        cJSON_Delete(root);
        obligo_free(text);
        rc = OBLIGO_EINVAL;
        goto fail;
    }
    rc = config_apply(cfg, root, path, err);
    cJSON_Delete(root);
    obligo_free(text);
    if (rc)
        goto fail;
    return 0;
fail:
    config_free(cfg);
    return rc;
}

int config_add_plugin_dir(config *cfg, const char *dir)
{
    if (cfg->nplugin_dirs == CONFIG_MAX_PLUGIN_DIRS)
        return OBLIGO_ELIMIT;
    char *copy = obligo_strdup(dir);
    if (!copy)
        return OBLIGO_ENOMEM;
    cfg->plugin_dirs[cfg->nplugin_dirs++] = copy;
    return 0;
}

void config_free(config *cfg)
{
    for (int i = 0; i < cfg->nplugin_dirs; i++)
        obligo_free(cfg->plugin_dirs[i]);
    cJSON_Delete(cfg->plugins);
    obligo_free(cfg->db_path);
    obligo_free(cfg->rules_dir);
    obligo_free(cfg->listen);
    obligo_free(cfg->public_url);
    for (int i = 0; i < cfg->nsinks; i++)
        obligo_free(cfg->sinks[i]);
    for (int i = 0; i < CONFIG_MAX_SINKS; i++)
        config_route_clear(&cfg->routes[i]);
    cJSON_Delete(cfg->policy);
    memset(cfg, 0, sizeof *cfg);
}
