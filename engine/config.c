/*
 * config.c — defaults and the JSON configuration file (config.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "error.h"

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

static int config_apply(config *cfg, const cJSON *root, const char *path, char **err)
{
    const cJSON *v;
#define CONFIG_BAD(key, what)                                                                      \
    do {                                                                                           \
        *err = obligo_asprintf("%s: \"%s\" must be %s", path, key, what);                          \
        return OBLIGO_EINVAL;                                                                      \
    } while (0)
    static const char *const strings[] = {"db", "rules", "listen"};
    char **slots[] = {&cfg->db_path, &cfg->rules_dir, &cfg->listen};
    for (int i = 0; i < 3; i++) {
        if ((v = cJSON_GetObjectItemCaseSensitive(root, strings[i]))) {
            if (!cJSON_IsString(v) || !*v->valuestring)
                CONFIG_BAD(strings[i], "a non-empty string");
            if (config_set(slots[i], v->valuestring))
                return OBLIGO_ENOMEM;
        }
    }
    static const char *const bools[] = {"allow_unknown_types", "access_log",
                                        "allow_insecure_listen", "watch_rules"};
    int *bool_slots[] = {&cfg->allow_unknown_types, &cfg->access_log, &cfg->allow_insecure_listen,
                         &cfg->watch_rules};
    for (int i = 0; i < 4; i++) {
        if ((v = cJSON_GetObjectItemCaseSensitive(root, bools[i]))) {
            if (!cJSON_IsBool(v))
                CONFIG_BAD(bools[i], "true or false");
            *bool_slots[i] = cJSON_IsTrue(v);
        }
    }
    static const char *const counts[] = {"max_queue_events", "max_connections"};
    for (int i = 0; i < 2; i++) {
        if ((v = cJSON_GetObjectItemCaseSensitive(root, counts[i]))) {
            if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 10000000)
                CONFIG_BAD(counts[i], "a number between 1 and 10,000,000");
            if (i == 0)
                cfg->max_queue_events = (size_t)v->valuedouble;
            else
                cfg->max_connections = (unsigned)v->valuedouble;
        }
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "commit_interval_ms"))) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1000)
            CONFIG_BAD("commit_interval_ms", "a number of milliseconds between 0 and 1000");
        cfg->commit_interval_ms = v->valuedouble;
    }
    static const char *const sizes[] = {"max_event_bytes", "max_body_bytes", "lua_memory_bytes",
                                        "lua_instructions"};
    for (int i = 0; i < 4; i++) {
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
            else
                cfg->limits.instructions = n;
        }
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "sinks"))) {
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > CONFIG_MAX_SINKS)
            CONFIG_BAD("sinks", "a list of at most 8 sinks (\"stdout\", \"file:PATH\")");
        for (int i = 0; i < cfg->nsinks; i++)
            obligo_free(cfg->sinks[i]);
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
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "plugins"))) {
        if (!cJSON_IsObject(v))
            CONFIG_BAD("plugins", "an object of plugin names and their configuration");
        cJSON *copy = cJSON_Duplicate(v, 1);
        if (!copy)
            return OBLIGO_ENOMEM;
        cJSON_Delete(cfg->plugins);
        cfg->plugins = copy;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "policy"))) {
        if (!cJSON_IsObject(v))
            CONFIG_BAD("policy", "an object of policy names and values");
        cJSON *copy = cJSON_Duplicate(v, 1);
        if (!copy)
            return OBLIGO_ENOMEM;
        cJSON_Delete(cfg->policy);
        cfg->policy = copy;
    }
#undef CONFIG_BAD
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
    cfg->commit_interval_ms = 1;
    int rc = OBLIGO_ENOMEM;
    if (config_set(&cfg->db_path, "var/obligo.db") || config_set(&cfg->rules_dir, "rules") ||
        config_set(&cfg->listen, "127.0.0.1:8787") || !(cfg->sinks[0] = obligo_strdup("stdout")) ||
        !(cfg->policy = cJSON_CreateObject()))
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
    for (int i = 0; i < cfg->nsinks; i++)
        obligo_free(cfg->sinks[i]);
    cJSON_Delete(cfg->policy);
    memset(cfg, 0, sizeof *cfg);
}
