/*
 * plugins.c — the plugin loader and registry (plugins.h).
 *
 * Depends on dlopen, validate.c (plugin configuration against the plugin's
 * schema) and cJSON. The host's function table is one static struct; each
 * plugin gets its own obligo_host record so that everything it registers is
 * tagged with it and can be undone when its init fails.
 */
#define _GNU_SOURCE
#include "plugins.h"

#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "error.h"
#include "text.h"
#include "validate.h"

/* The smallest struct each ABI 1.0 struct may have: everything up to and
 * including its last 1.0 field. These name the 1.0 fields on purpose and
 * must not follow the header when a later minor appends fields: a plugin
 * built against 1.0 has exactly these, and nothing after them.
 *
 * The rule for every versioned struct a plugin hands over (its description
 * and the five registrations): the host copies min(plugin's struct_size,
 * host's sizeof) bytes into a struct of its own, zero-fills the rest, and
 * keeps the plugin's struct_size in the copy. The host's sizeof grows with
 * every minor, so copying by it would read past the end of every older
 * plugin's struct. A field added after 1.0 is then read, in the copy, only
 * through PLUGINS_HAS: the zero fill makes a stray read harmless, the check
 * makes the default explicit. */
#define PLUGINS_SIZE_TO(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))
#define PLUGIN_V1_SIZE PLUGINS_SIZE_TO(obligo_plugin, fini)
#define PLUGINS_V1_EVENT_TYPE PLUGINS_SIZE_TO(obligo_event_type, description)
#define PLUGINS_V1_OBLIGATION_KIND PLUGINS_SIZE_TO(obligo_obligation_kind, once)
#define PLUGINS_V1_RULE_FUNCTION PLUGINS_SIZE_TO(obligo_rule_function, fn)
#define PLUGINS_V1_ALERT_SINK PLUGINS_SIZE_TO(obligo_alert_sink, deliver)
#define PLUGINS_V1_INPUT_ADAPTER PLUGINS_SIZE_TO(obligo_input_adapter, convert)
/* 1 when s (a plugin's struct, or the host's copy of it, which keeps the
 * plugin's struct_size) is large enough to have `field`: the only way a
 * field added after 1.0 may be read. */
#define PLUGINS_HAS(s, type, field) ((s)->struct_size >= PLUGINS_SIZE_TO(type, field))
/* Copies the plugin's struct *src into the host's dst (see the rule above).
 * src->struct_size has been checked to be at least the 1.0 size. */
#define PLUGINS_COPY(dst, src) plugins_copy(&(dst), sizeof(dst), (src), (src)->struct_size)

static void plugins_copy(void *dst, size_t dst_size, const void *src, uint32_t src_size)
{
    size_t n = src_size < dst_size ? src_size : dst_size;
    memcpy(dst, src, n);
    memset((char *)dst + n, 0, dst_size - n);
}

struct obligo_host {
    plugins *reg;
    int index; /* in reg->loaded */
    int initialising;
    /* How many registrations the host refused during init, and why it
     * refused the first (owned). Any refusal refuses the plugin, also when
     * its init goes on regardless: a plugin running without part of what
     * it registers would leave duties unkept. */
    int refused;
    char *refusal;
};

static void plugins_host_free(obligo_host *h)
{
    if (h)
        obligo_free(h->refusal);
    obligo_free(h);
}

typedef struct plugins_loaded {
    char *file;
    void *handle;
    obligo_plugin desc; /* the host's copy (PLUGINS_COPY); strings borrowed */
    int described;      /* desc is filled in */
    obligo_host *host;  /* heap: plugins may keep the pointer for log() */
    void *state;
    int initialised;
} plugins_loaded;

typedef struct plugins_type {
    obligo_event_type type; /* the host's copy; strings and schema borrowed */
    int owner;
    uint32_t hash; /* of type->type: every event's validation looks it up */
} plugins_type;

static uint32_t plugins_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

typedef struct plugins_kind {
    obligo_obligation_kind kind; /* copied; strings owned */
    int owner;
} plugins_kind;

typedef struct plugins_skipped {
    char *file, *name, *reason;
} plugins_skipped;

struct plugins {
    plugins_loaded *loaded;
    int nloaded;
    plugins_skipped *skipped; /* found, but needing configuration it has not got */
    int nskipped;
    plugins_type *types;
    int ntypes;
    obligo_obligation_kind *kinds; /* dense copy for callers */
    int *kind_owner;
    int nkinds;
    plugins_rule_function *fns;
    int *fn_owner;
    int nfns;
    plugins_sink *sinks;
    obligo_alert_sink *sink_copies;
    int *sink_owner;
    int nsinks;
    plugins_adapter *adapters;
    int *adapter_owner;
    int nadapters;
    pthread_mutex_t call_lock; /* plugins_call_rule */
};

/* ---- host functions -------------------------------------------------------- */

static void *plugins_api_alloc(size_t n)
{
    return obligo_malloc(n);
}

static void plugins_api_free(void *p)
{
    obligo_free(p);
}

static const char *plugins_name_of(const obligo_host *h)
{
    const plugins_loaded *l = &h->reg->loaded[h->index];
    return l->described && l->desc.name ? l->desc.name : l->file;
}

static void plugins_api_log(obligo_host *h, int level, const char *message)
{
    static const char *const names[] = {"error", "warning", "info"};
    fprintf(stderr, "obligo: plugin %s: %s: %s\n", h ? plugins_name_of(h) : "?",
            level >= 0 && level <= 2 ? names[level] : "info", message ? message : "");
}

/* A string for a message: a plugin may leave the name it is refused for
 * NULL. */
static const char *plugins_str(const char *s)
{
    return s ? s : "(null)";
}

/* Logs why a registration is refused and keeps the first reason for the
 * plugin's load error. Returns OBLIGO_PLUGIN_ERROR, for the register_*
 * function to return. */
__attribute__((format(printf, 2, 3))) static int plugins_refuse(obligo_host *h, const char *fmt,
                                                                ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    /* ap was started just above: clang 14's analyzer reports it uninitialized
     * here with no path, and only when run with the other checks. */
    /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): false positive */
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    plugins_api_log(h, OBLIGO_LOG_ERROR, msg);
    if (h && h->initialising && !h->refused++)
        h->refusal = obligo_strdup(msg); /* NULL when out of memory: refused all the same */
    return OBLIGO_PLUGIN_ERROR;
}

/* Every versioned struct starts with abi_version and struct_size, which are
 * all the host may read of it before this check: the rest of the 1.0
 * fields are read only when struct_size covers them (v1_size). what is the
 * struct's type, for the message; name_at the offset of the name the
 * message gives when the struct is long enough to have one. */
static int plugins_check_header(obligo_host *h, const void *s, size_t v1_size, const char *what,
                                size_t name_at)
{
    uint32_t abi, size;
    memcpy(&abi, s, sizeof abi);
    memcpy(&size, (const char *)s + sizeof abi, sizeof size);
    const char *name = NULL;
    if (size >= name_at + sizeof name)
        memcpy(&name, (const char *)s + name_at, sizeof name);
    if (!h || !h->initialising)
        return plugins_refuse(h, "%s %s registered outside init", what, plugins_str(name));
    if (OBLIGO_ABI_MAJOR_OF(abi) != OBLIGO_ABI_MAJOR)
        return plugins_refuse(h,
                              "%s %s of plugin %s was built for plugin ABI %u.%u; this obligo "
                              "speaks %u.%u (rebuild the plugin against this obligo's plugin.h)",
                              what, plugins_str(name), plugins_name_of(h), OBLIGO_ABI_MAJOR_OF(abi),
                              OBLIGO_ABI_MINOR_OF(abi), OBLIGO_ABI_MAJOR, OBLIGO_ABI_MINOR);
    if (size < v1_size)
        return plugins_refuse(h,
                              "%s %s of plugin %s has a struct_size of %u bytes, shorter than "
                              "the %zu bytes of ABI 1.0 (set struct_size to sizeof(%s))",
                              what, name ? name : "(name not covered)", plugins_name_of(h), size,
                              v1_size, what);
    return 0;
}

static int plugins_grow(void **arr, int n, size_t elem)
{
    /* capacity is implicit: 4, then doubled whenever the count reaches a
     * power of two; n is the count before adding (an array with a count
     * has been allocated, which *arr says to the analyzer too) */
    if (*arr && n != 0 && (n < 4 || (n & (n - 1))))
        return 0;
    void *na = obligo_realloc(*arr, (size_t)(n ? n * 2 : 4) * elem);
    if (!na)
        return OBLIGO_ENOMEM;
    *arr = na;
    return 0;
}

static int plugins_api_register_event_type(obligo_host *h, const obligo_event_type *plugin_t)
{
    if (!plugin_t)
        return plugins_refuse(h, "an event type that is NULL");
    if (plugins_check_header(h, plugin_t, PLUGINS_V1_EVENT_TYPE, "obligo_event_type",
                             offsetof(obligo_event_type, type)))
        return OBLIGO_PLUGIN_ERROR;
    plugins_type rec = {.owner = h->index};
    PLUGINS_COPY(rec.type, plugin_t);
    const obligo_event_type *t = &rec.type;
    if (!t->type || !*t->type)
        return plugins_refuse(h, "an event type without a name");
    plugins *p = h->reg;
    if (plugins_event_type(p, t->type))
        return plugins_refuse(h, "event type %s is registered twice", t->type);
    if (plugins_grow((void **)&p->types, p->ntypes, sizeof *p->types))
        return OBLIGO_PLUGIN_ERROR;
    rec.hash = plugins_hash(t->type);
    p->types[p->ntypes++] = rec;
    return 0;
}

static int plugins_api_register_obligation_kind(obligo_host *h,
                                                const obligo_obligation_kind *plugin_k)
{
    if (!plugin_k)
        return plugins_refuse(h, "an obligation kind that is NULL");
    if (plugins_check_header(h, plugin_k, PLUGINS_V1_OBLIGATION_KIND, "obligo_obligation_kind",
                             offsetof(obligo_obligation_kind, name)))
        return OBLIGO_PLUGIN_ERROR;
    obligo_obligation_kind copy;
    PLUGINS_COPY(copy, plugin_k);
    const obligo_obligation_kind *k = &copy;
    if (!k->name || !*k->name || !k->title || !k->source)
        return plugins_refuse(h, "obligation kind %s needs a name, a title and a source",
                              plugins_str(k->name));
    if (k->due_unit < OBLIGO_HOURS || k->due_unit > OBLIGO_YEARS || k->due_n < 0)
        return plugins_refuse(h, "obligation kind %s has an unknown period", k->name);
    plugins *p = h->reg;
    for (int i = 0; i < p->nkinds; i++)
        if (strcmp(p->kinds[i].name, k->name) == 0)
            return plugins_refuse(h, "obligation kind %s is registered twice", k->name);
    if (plugins_grow((void **)&p->kinds, p->nkinds, sizeof *p->kinds) ||
        plugins_grow((void **)&p->kind_owner, p->nkinds, sizeof *p->kind_owner))
        return OBLIGO_PLUGIN_ERROR;
    /* The strings are copied as well: obligation kinds are copied at
     * registration (plugin.h), so the plugin may let go of them. */
    copy.name = obligo_strdup(plugin_k->name);
    copy.title = obligo_strdup(plugin_k->title);
    copy.source = obligo_strdup(plugin_k->source);
    if (!copy.name || !copy.title || !copy.source) {
        obligo_free((void *)copy.name);
        obligo_free((void *)copy.title);
        obligo_free((void *)copy.source);
        return OBLIGO_PLUGIN_ERROR;
    }
    p->kinds[p->nkinds] = copy;
    p->kind_owner[p->nkinds++] = h->index;
    return 0;
}

static int plugins_api_register_rule_function(obligo_host *h, const obligo_rule_function *plugin_f)
{
    if (!plugin_f)
        return plugins_refuse(h, "a rule function that is NULL");
    if (plugins_check_header(h, plugin_f, PLUGINS_V1_RULE_FUNCTION, "obligo_rule_function",
                             offsetof(obligo_rule_function, name)))
        return OBLIGO_PLUGIN_ERROR;
    obligo_rule_function copy;
    PLUGINS_COPY(copy, plugin_f);
    const obligo_rule_function *f = &copy;
    if (!f->module || !*f->module || !f->name || !*f->name || !f->fn)
        return plugins_refuse(h, "rule function %s needs a module, a name and a function",
                              plugins_str(f->name));
    plugins *p = h->reg;
    for (int i = 0; i < p->nfns; i++)
        if (strcmp(p->fns[i].module, f->module) == 0 && strcmp(p->fns[i].name, f->name) == 0)
            return plugins_refuse(h, "rule function %s is registered twice", f->name);
    if (plugins_grow((void **)&p->fns, p->nfns, sizeof *p->fns) ||
        plugins_grow((void **)&p->fn_owner, p->nfns, sizeof *p->fn_owner))
        return OBLIGO_PLUGIN_ERROR;
    plugins_rule_function r = {
        .module = obligo_strdup(f->module), .name = obligo_strdup(f->name), .fn = f->fn};
    if (!r.module || !r.name) {
        obligo_free(r.module);
        obligo_free(r.name);
        return OBLIGO_PLUGIN_ERROR;
    }
    p->fns[p->nfns] = r;
    p->fn_owner[p->nfns++] = h->index;
    return 0;
}

static int plugins_api_register_alert_sink(obligo_host *h, const obligo_alert_sink *plugin_s)
{
    if (!plugin_s)
        return plugins_refuse(h, "an alert sink that is NULL");
    if (plugins_check_header(h, plugin_s, PLUGINS_V1_ALERT_SINK, "obligo_alert_sink",
                             offsetof(obligo_alert_sink, name)))
        return OBLIGO_PLUGIN_ERROR;
    obligo_alert_sink copy;
    PLUGINS_COPY(copy, plugin_s);
    const obligo_alert_sink *s = &copy;
    if (!s->name || !*s->name || !s->deliver || strchr(s->name, ':') ||
        strcmp(s->name, "stdout") == 0 || strcmp(s->name, "file") == 0)
        return plugins_refuse(h, "alert sink %s needs a name of its own and a deliver function",
                              plugins_str(s->name));
    plugins *p = h->reg;
    if (plugins_find_sink(p, s->name))
        return plugins_refuse(h, "alert sink %s is registered twice", s->name);
    if (plugins_grow((void **)&p->sinks, p->nsinks, sizeof *p->sinks) ||
        plugins_grow((void **)&p->sink_copies, p->nsinks, sizeof *p->sink_copies) ||
        plugins_grow((void **)&p->sink_owner, p->nsinks, sizeof *p->sink_owner))
        return OBLIGO_PLUGIN_ERROR;
    p->sink_copies[p->nsinks] = copy;
    p->sinks[p->nsinks] = (plugins_sink){NULL, NULL};
    p->sink_owner[p->nsinks++] = h->index;
    return 0;
}

static int plugins_api_register_input_adapter(obligo_host *h, const obligo_input_adapter *plugin_a)
{
    if (!plugin_a)
        return plugins_refuse(h, "an input adapter that is NULL");
    if (plugins_check_header(h, plugin_a, PLUGINS_V1_INPUT_ADAPTER, "obligo_input_adapter",
                             offsetof(obligo_input_adapter, name)))
        return OBLIGO_PLUGIN_ERROR;
    plugins_adapter ad;
    memset(&ad, 0, sizeof ad);
    PLUGINS_COPY(ad.adapter, plugin_a);
    const obligo_input_adapter *a = &ad.adapter;
    if (!a->name || !*a->name || !a->convert || !a->media_type)
        return plugins_refuse(h, "input adapter %s needs a name, a media type and convert",
                              plugins_str(a->name));
    if (a->http_path && strncmp(a->http_path, "/v1/", 4) != 0)
        return plugins_refuse(h, "input adapter path %s must start with /v1/", a->http_path);
    plugins *p = h->reg;
    if (plugins_find_adapter(p, a->name) ||
        (a->http_path && plugins_find_adapter_by_path(p, a->http_path)))
        return plugins_refuse(h, "input adapter %s is registered twice", a->name);
    if (plugins_grow((void **)&p->adapters, p->nadapters, sizeof *p->adapters) ||
        plugins_grow((void **)&p->adapter_owner, p->nadapters, sizeof *p->adapter_owner))
        return OBLIGO_PLUGIN_ERROR;
    p->adapters[p->nadapters] = ad;
    p->adapter_owner[p->nadapters++] = h->index;
    return 0;
}

static const obligo_host_api plugins_api = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_host_api),
    .alloc = plugins_api_alloc,
    .free = plugins_api_free,
    .log = plugins_api_log,
    .register_event_type = plugins_api_register_event_type,
    .register_obligation_kind = plugins_api_register_obligation_kind,
    .register_rule_function = plugins_api_register_rule_function,
    .register_alert_sink = plugins_api_register_alert_sink,
    .register_input_adapter = plugins_api_register_input_adapter,
};

/* ---- undoing a plugin's registrations --------------------------------------- */

static void plugins_undo(plugins *p, int owner)
{
    int j = 0;
    for (int i = 0; i < p->ntypes; i++)
        if (p->types[i].owner != owner)
            p->types[j++] = p->types[i];
    p->ntypes = j;
    j = 0;
    for (int i = 0; i < p->nkinds; i++) {
        if (p->kind_owner[i] == owner) {
            obligo_free((void *)p->kinds[i].name);
            obligo_free((void *)p->kinds[i].title);
            obligo_free((void *)p->kinds[i].source);
            continue;
        }
        p->kinds[j] = p->kinds[i];
        p->kind_owner[j++] = p->kind_owner[i];
    }
    p->nkinds = j;
    j = 0;
    for (int i = 0; i < p->nfns; i++) {
        if (p->fn_owner[i] == owner) {
            obligo_free(p->fns[i].module);
            obligo_free(p->fns[i].name);
            continue;
        }
        p->fns[j] = p->fns[i];
        p->fn_owner[j++] = p->fn_owner[i];
    }
    p->nfns = j;
    j = 0;
    for (int i = 0; i < p->nsinks; i++) {
        if (p->sink_owner[i] == owner)
            continue;
        p->sink_copies[j] = p->sink_copies[i];
        p->sinks[j] = p->sinks[i];
        p->sink_owner[j++] = p->sink_owner[i];
    }
    p->nsinks = j;
    j = 0;
    for (int i = 0; i < p->nadapters; i++) {
        if (p->adapter_owner[i] == owner)
            continue;
        p->adapters[j] = p->adapters[i];
        p->adapter_owner[j++] = p->adapter_owner[i];
    }
    p->nadapters = j;
}

/* After loading, every registration learns its plugin's state and name. */
static void plugins_bind(plugins *p)
{
    for (int i = 0; i < p->nfns; i++) {
        p->fns[i].state = p->loaded[p->fn_owner[i]].state;
        p->fns[i].plugin = p->loaded[p->fn_owner[i]].desc.name;
        p->fns[i].owner = p;
    }
    for (int i = 0; i < p->nsinks; i++) {
        p->sinks[i].sink = &p->sink_copies[i];
        p->sinks[i].state = p->loaded[p->sink_owner[i]].state;
    }
    for (int i = 0; i < p->nadapters; i++) {
        p->adapters[i].state = p->loaded[p->adapter_owner[i]].state;
        p->adapters[i].plugin = p->loaded[p->adapter_owner[i]].desc.name;
    }
}

/* ---- loading ---------------------------------------------------------------- */

static int plugins_is_so(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && strcmp(name + n - 3, ".so") == 0 && name[0] != '.';
}

static int plugins_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Opens file and takes its description: an entry point, an ABI this host
 * speaks, a name and an init function, a name no plugin loaded before has.
 * Returns 0, or -1 with *why (NULL when memory ran out) saying why the
 * plugin is refused; l keeps what was opened for the caller to release. */
static int plugins_open(plugins *p, plugins_loaded *l, const char *file, char **why)
{
    l->handle = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!l->handle) {
        const char *dl = dlerror();
        *why = obligo_asprintf("cannot be loaded: %s", dl ? dl : "unknown error");
        return -1;
    }
    obligo_plugin_entry_fn entry;
    *(void **)&entry = dlsym(l->handle, OBLIGO_PLUGIN_ENTRY_NAME);
    if (!entry) {
        *why = obligo_asprintf("has no entry point %s()", OBLIGO_PLUGIN_ENTRY_NAME);
        return -1;
    }
    const obligo_plugin *d = entry();
    if (!d) {
        *why = obligo_strdup("its entry point returned no description");
        return -1;
    }
    if (OBLIGO_ABI_MAJOR_OF(d->abi_version) != OBLIGO_ABI_MAJOR) {
        *why = obligo_asprintf("was built for plugin ABI %u.%u; this obligo speaks %u.%u "
                               "(rebuild the plugin against this obligo's plugin.h)",
                               OBLIGO_ABI_MAJOR_OF(d->abi_version),
                               OBLIGO_ABI_MINOR_OF(d->abi_version), OBLIGO_ABI_MAJOR,
                               OBLIGO_ABI_MINOR);
        return -1;
    }
    if (OBLIGO_ABI_MINOR_OF(d->abi_version) > OBLIGO_ABI_MINOR) {
        *why = obligo_asprintf("needs plugin ABI %u.%u; this obligo speaks %u.%u (use a newer "
                               "obligo)",
                               OBLIGO_ABI_MAJOR_OF(d->abi_version),
                               OBLIGO_ABI_MINOR_OF(d->abi_version), OBLIGO_ABI_MAJOR,
                               OBLIGO_ABI_MINOR);
        return -1;
    }
    if (d->struct_size < PLUGIN_V1_SIZE) {
        *why = obligo_asprintf("describes itself with a struct of %u bytes, shorter than the "
                               "%zu bytes of ABI 1.0",
                               d->struct_size, (size_t)PLUGIN_V1_SIZE);
        return -1;
    }
    /* From here on the host reads its own copy, never the plugin's struct
     * (the rule at PLUGINS_COPY). */
    PLUGINS_COPY(l->desc, d);
    l->described = 1;
    d = &l->desc;
    if (!d->name || !*d->name || !d->init) {
        *why = obligo_strdup("has no name or no init function");
        return -1;
    }
    for (int i = 0; i < p->nloaded; i++) {
        if (strcmp(p->loaded[i].desc.name, d->name) == 0) {
            *why = obligo_asprintf("is named %s, like %s", d->name, p->loaded[i].file);
            return -1;
        }
    }
    return 0;
}

/* When the described plugin l has a schema that an empty configuration
 * does not meet, and conf (its configuration, or NULL) is not given, l is
 * listed in p->skipped with the reason, closed and its record cleared.
 * Returns 1 when it was, 0 when loading goes on. */
static int plugins_skip_unconfigured(plugins *p, plugins_loaded *l, const char *file,
                                     const cJSON *conf)
{
    const obligo_plugin *d = &l->desc;
    if (d->config_schema && !conf) {
        /* A plugin that cannot run without configuration (a webhook needs a
         * URL) and has none is not started; it is listed as such. */
        cJSON *empty = cJSON_CreateObject();
        validate_result vr = {0};
        int vrc = empty ? validate_value(empty, d->config_schema, "", &vr) : 0;
        cJSON_Delete(empty);
        if (vrc) {
            if (!plugins_grow((void **)&p->skipped, p->nskipped, sizeof *p->skipped)) {
                plugins_skipped *sk = &p->skipped[p->nskipped++];
                sk->file = obligo_strdup(file);
                sk->name = obligo_strdup(d->name);
                sk->reason = obligo_asprintf("not started: it needs configuration under "
                                             "plugins.%s (%s)",
                                             d->name, vr.message ? vr.message : "see its schema");
            }
            validate_result_clear(&vr);
            dlclose(l->handle);
            obligo_free(l->file);
            plugins_host_free(l->host);
            memset(l, 0, sizeof *l);
            return 1;
        }
    }
    return 0;
}

/* Checks conf (the plugin's configuration object, or NULL) against the
 * schema of d, or that a plugin without one is given none. Returns 0, or
 * -1 with *why (NULL when memory ran out). */
static int plugins_check_config(const obligo_plugin *d, const cJSON *conf, char **why)
{
    if (d->config_schema) {
        cJSON *empty = conf ? NULL : cJSON_CreateObject();
        char path[160];
        snprintf(path, sizeof path, "plugins.%s", d->name);
        validate_result vr = {0};
        int vrc = validate_value(conf ? conf : empty, d->config_schema, path, &vr);
        cJSON_Delete(empty);
        if (vrc) {
            *why = obligo_asprintf("configuration refused: %s", vr.message ? vr.message : path);
            validate_result_clear(&vr);
            return -1;
        }
    } else if (conf && conf->child) {
        *why = obligo_asprintf("takes no configuration, but plugins.%s has some", d->name);
        return -1;
    }
    return 0;
}

/* Runs the init of the described plugin l with conf (or "{}") as text and
 * keeps what it registered. Returns 0; OBLIGO_ENOMEM; or OBLIGO_EINVAL with
 * *why (NULL when memory ran out) when init failed or the host refused one
 * of its registrations, which are then undone. */
static int plugins_start(plugins *p, plugins_loaded *l, const cJSON *conf, char **why)
{
    const obligo_plugin *d = &l->desc;
    char *conf_text = conf ? cJSON_PrintUnformatted(conf) : obligo_strdup("{}");
    if (!conf_text)
        return OBLIGO_ENOMEM;
    p->nloaded++; /* from here the record is live: registrations point at it */
    char *init_err = NULL;
    l->host->initialising = 1;
    int irc = d->init(l->host, &plugins_api, conf_text, &l->state, &init_err);
    l->host->initialising = 0;
    cJSON_free(conf_text);
    if (irc != 0 || l->host->refused) {
        const char *host_why = l->host->refusal ? l->host->refusal : "out of memory";
        plugins_undo(p, l->host->index);
        if (irc != 0 && l->host->refused)
            *why = obligo_asprintf("init failed: %s; the host refused a registration: %s",
                                   init_err ? init_err : "no reason given", host_why);
        else if (irc != 0)
            *why = obligo_asprintf("init failed: %s", init_err ? init_err : "no reason given");
        else
            *why = obligo_asprintf("the host refused a registration, and init went on as if "
                                   "it had succeeded: %s",
                                   host_why);
        /* An init that succeeded has state to release; a failed one freed
         * its own (plugin.h). */
        if (irc == 0 && d->fini)
            d->fini(l->state);
        obligo_free(init_err);
        p->nloaded--;
        return OBLIGO_EINVAL;
    }
    obligo_free(init_err);
    l->initialised = 1;
    return 0;
}

/* Loads one file; on refusal *err says why (naming the file). */
static int plugins_load_one(plugins *p, const char *file, const cJSON *configs, char **err)
{
    if (plugins_grow((void **)&p->loaded, p->nloaded, sizeof *p->loaded))
        return OBLIGO_ENOMEM;
    plugins_loaded *l = &p->loaded[p->nloaded];
    memset(l, 0, sizeof *l);
    l->file = obligo_strdup(file);
    if (!l->file)
        return OBLIGO_ENOMEM;
    l->host = obligo_calloc(1, sizeof *l->host);
    if (!l->host) {
        obligo_free(l->file);
        return OBLIGO_ENOMEM;
    }
    *l->host = (obligo_host){.reg = p, .index = p->nloaded};
    char *why = NULL;
    int rc = OBLIGO_EINVAL;

    if (plugins_open(p, l, file, &why) < 0)
        goto refuse;
    const obligo_plugin *d = &l->desc;

    /* The configuration is checked before the plugin runs any code of its
     * own beyond describing itself. */
    const cJSON *conf = configs ? cJSON_GetObjectItemCaseSensitive(configs, d->name) : NULL;
    if (conf && !cJSON_IsObject(conf)) {
        why = obligo_asprintf("configuration plugins.%s must be an object", d->name);
        goto refuse;
    }
    if (plugins_skip_unconfigured(p, l, file, conf))
        return 0;
    if (plugins_check_config(d, conf, &why) < 0)
        goto refuse;
    rc = plugins_start(p, l, conf, &why);
    if (rc == 0)
        return 0;
refuse:
    *err = obligo_asprintf("%s: plugin refused: %s", file, why ? why : "out of memory");
    obligo_free(why);
    if (l->handle)
        dlclose(l->handle);
    obligo_free(l->file);
    plugins_host_free(l->host);
    memset(l, 0, sizeof *l);
    return rc;
}

int plugins_load(const char *const *dirs, int ndirs, const cJSON *configs, plugins **out,
                 char **err)
{
    *err = NULL;
    plugins *p = obligo_calloc(1, sizeof *p);
    if (!p)
        return OBLIGO_ENOMEM;
    pthread_mutex_init(&p->call_lock, NULL);
    int rc = 0;
    for (int d = 0; d < ndirs && !rc; d++) {
        DIR *dir = opendir(dirs[d]);
        if (!dir)
            continue; /* a directory that is not there holds no plugins */
        char **names = NULL;
        int n = 0;
        struct dirent *ent;
        while ((ent = readdir(dir))) {
            if (!plugins_is_so(ent->d_name))
                continue;
            if (plugins_grow((void **)&names, n, sizeof *names)) {
                rc = OBLIGO_ENOMEM;
                break;
            }
            if (!(names[n] = obligo_asprintf("%s/%s", dirs[d], ent->d_name))) {
                rc = OBLIGO_ENOMEM; /* never load a partial set of regulations */
                break;
            }
            n++;
        }
        closedir(dir);
        if (n)
            qsort(names, (size_t)n, sizeof *names, plugins_cmp);
        for (int i = 0; i < n; i++) {
            if (!rc)
                rc = plugins_load_one(p, names[i], configs, err);
            obligo_free(names[i]);
        }
        obligo_free(names);
    }
    /* Configuration for a plugin that is not there is a mistake worth
     * stopping for: the duty it was meant to configure is not being kept. */
    for (const cJSON *c = configs && !rc ? configs->child : NULL; c; c = c->next) {
        int found = 0;
        for (int i = 0; i < p->nloaded; i++)
            found |= strcmp(p->loaded[i].desc.name, c->string) == 0;
        if (!found) {
            *err = obligo_asprintf("plugins.%s is configured, but no plugin of that name was "
                                   "loaded (plugin directories: %d)",
                                   c->string, ndirs);
            rc = OBLIGO_EINVAL;
        }
    }
    if (rc) {
        plugins_free(p);
        return rc;
    }
    plugins_bind(p);
    *out = p;
    return 0;
}

void plugins_free(plugins *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->call_lock);
    for (int i = p->nloaded - 1; i >= 0; i--) {
        plugins_loaded *l = &p->loaded[i];
        if (l->initialised && l->desc.fini)
            l->desc.fini(l->state);
    }
    for (int i = 0; i < p->nkinds; i++) {
        obligo_free((void *)p->kinds[i].name);
        obligo_free((void *)p->kinds[i].title);
        obligo_free((void *)p->kinds[i].source);
    }
    for (int i = 0; i < p->nfns; i++) {
        obligo_free(p->fns[i].module);
        obligo_free(p->fns[i].name);
    }
    for (int i = p->nloaded - 1; i >= 0; i--) {
        if (p->loaded[i].handle)
            dlclose(p->loaded[i].handle);
        obligo_free(p->loaded[i].file);
        plugins_host_free(p->loaded[i].host);
    }
    for (int i = 0; i < p->nskipped; i++) {
        obligo_free(p->skipped[i].file);
        obligo_free(p->skipped[i].name);
        obligo_free(p->skipped[i].reason);
    }
    obligo_free(p->skipped);
    obligo_free(p->loaded);
    obligo_free(p->types);
    obligo_free(p->kinds);
    obligo_free(p->kind_owner);
    obligo_free(p->fns);
    obligo_free(p->fn_owner);
    obligo_free(p->sinks);
    obligo_free(p->sink_copies);
    obligo_free(p->sink_owner);
    obligo_free(p->adapters);
    obligo_free(p->adapter_owner);
    obligo_free(p);
}

char *plugins_default_dir(void)
{
    /* OBLIGO_INSTALL_PLUGIN_DIR is the install's plugin directory relative
     * to the binary's ("../lib/obligo/plugins", or with a multiarch
     * libdir "../lib/x86_64-linux-gnu/obligo/plugins"). */
    char *dir = config_beside_binary("plugins");
    return dir ? dir : config_beside_binary(OBLIGO_INSTALL_PLUGIN_DIR);
}

/* ---- lookups ---------------------------------------------------------------- */

const obligo_event_type *plugins_event_type(const plugins *p, const char *type)
{
    uint32_t h = plugins_hash(type);
    for (int i = 0; p && i < p->ntypes; i++)
        if (p->types[i].hash == h && strcmp(p->types[i].type.type, type) == 0)
            return &p->types[i].type;
    return NULL;
}

int plugins_event_type_count(const plugins *p)
{
    return p ? p->ntypes : 0;
}

const obligo_event_type *plugins_event_type_at(const plugins *p, int i, const char **plugin)
{
    if (!p || i < 0 || i >= p->ntypes)
        return NULL;
    if (plugin)
        *plugin = p->loaded[p->types[i].owner].desc.name;
    return &p->types[i].type;
}

const char *plugins_event_type_plugin(const plugins *p, const char *type)
{
    const obligo_event_type *t = plugins_event_type(p, type);
    for (int i = 0; t && i < p->ntypes; i++)
        if (&p->types[i].type == t)
            return p->loaded[p->types[i].owner].desc.name;
    return NULL;
}

int plugins_namespace_known(const plugins *p, const char *type)
{
    const char *dot = strrchr(type, '.');
    size_t n = dot ? (size_t)(dot - type) : 0;
    for (int i = 0; p && n && i < p->ntypes; i++) {
        const char *t = p->types[i].type.type;
        const char *tdot = strrchr(t, '.');
        if (tdot && (size_t)(tdot - t) == n && strncmp(t, type, n) == 0)
            return 1;
    }
    return 0;
}

const char *plugins_closest_type(const void *reg, const char *type)
{
    const plugins *p = reg;
    if (!p || plugins_event_type(p, type) || !plugins_namespace_known(p, type))
        return NULL;
    size_t n = (size_t)(strrchr(type, '.') - type);
    const char *best = NULL;
    unsigned best_d = UINT_MAX;
    for (int i = 0; i < p->ntypes; i++) {
        const char *t = p->types[i].type.type;
        const char *tdot = strrchr(t, '.');
        if (!tdot || (size_t)(tdot - t) != n || strncmp(t, type, n) != 0)
            continue;
        unsigned d = text_distance(type, t);
        if (!best || d < best_d) {
            best = t;
            best_d = d;
        }
    }
    return best;
}

const obligo_event_type *plugins_lookup(const void *p, const char *type)
{
    return plugins_event_type(p, type);
}

const obligo_obligation_kind *plugins_obligation_kinds(const plugins *p, int *n)
{
    *n = p ? p->nkinds : 0;
    return p ? p->kinds : NULL;
}

int plugins_call_rule(const plugins_rule_function *f, const char *args_json, char **result_json,
                      char **error)
{
    /* the lock is not the registry's content: taking it changes nothing a
     * reader of the registry sees */
    pthread_mutex_t *lock = (pthread_mutex_t *)&f->owner->call_lock;
    pthread_mutex_lock(lock);
    int rc = f->fn(f->state, args_json, result_json, error);
    pthread_mutex_unlock(lock);
    return rc;
}

const plugins_rule_function *plugins_rule_functions(const plugins *p, int *n)
{
    *n = p ? p->nfns : 0;
    return p ? p->fns : NULL;
}

const plugins_sink *plugins_find_sink(const plugins *p, const char *name)
{
    size_t len = strcspn(name, ":");
    for (int i = 0; p && i < p->nsinks; i++) {
        const char *sn = p->sink_copies[i].name;
        if (strlen(sn) == len && strncmp(sn, name, len) == 0)
            return &p->sinks[i];
    }
    return NULL;
}

const plugins_adapter *plugins_find_adapter(const plugins *p, const char *name)
{
    for (int i = 0; p && i < p->nadapters; i++)
        if (strcmp(p->adapters[i].adapter.name, name) == 0)
            return &p->adapters[i];
    return NULL;
}

int plugins_adapter_takes_json(const plugins_adapter *a)
{
    const char *t = a->adapter.media_type;
    size_t n = strcspn(t, "; "); /* parameters do not count */
    return (n == 16 && strncmp(t, "application/json", 16) == 0) ||
           (n >= 5 && strncmp(t + n - 5, "+json", 5) == 0);
}

const plugins_adapter *plugins_find_adapter_by_path(const plugins *p, const char *http_path)
{
    for (int i = 0; p && i < p->nadapters; i++)
        if (p->adapters[i].adapter.http_path &&
            strcmp(p->adapters[i].adapter.http_path, http_path) == 0)
            return &p->adapters[i];
    return NULL;
}

int plugins_adapter_count(const plugins *p)
{
    return p ? p->nadapters : 0;
}

const plugins_adapter *plugins_adapter_at(const plugins *p, int i)
{
    return p && i >= 0 && i < p->nadapters ? &p->adapters[i] : NULL;
}

/* ---- description ------------------------------------------------------------ */

cJSON *plugins_describe(const plugins *p)
{
    cJSON *out = cJSON_CreateArray();
    for (int i = 0; out && p && i < p->nloaded; i++) {
        const plugins_loaded *l = &p->loaded[i];
        cJSON *o = cJSON_CreateObject();
        char abi[16];
        snprintf(abi, sizeof abi, "%u.%u", OBLIGO_ABI_MAJOR_OF(l->desc.abi_version),
                 OBLIGO_ABI_MINOR_OF(l->desc.abi_version));
        cJSON_AddStringToObject(o, "name", l->desc.name);
        cJSON_AddStringToObject(o, "version", l->desc.version ? l->desc.version : "");
        cJSON_AddStringToObject(o, "abi", abi);
        cJSON_AddStringToObject(o, "file", l->file);
        cJSON_AddStringToObject(o, "description", l->desc.description ? l->desc.description : "");
        cJSON *types = cJSON_AddArrayToObject(o, "event_types");
        for (int j = 0; j < p->ntypes; j++)
            if (p->types[j].owner == i)
                cJSON_AddItemToArray(types, cJSON_CreateString(p->types[j].type.type));
        cJSON *kinds = cJSON_AddArrayToObject(o, "obligation_kinds");
        for (int j = 0; j < p->nkinds; j++)
            if (p->kind_owner[j] == i)
                cJSON_AddItemToArray(kinds, cJSON_CreateString(p->kinds[j].name));
        cJSON *fns = cJSON_AddArrayToObject(o, "rule_functions");
        for (int j = 0; j < p->nfns; j++) {
            if (p->fn_owner[j] != i)
                continue;
            char *full = obligo_asprintf("%s.%s", p->fns[j].module, p->fns[j].name);
            cJSON_AddItemToArray(fns, cJSON_CreateString(full ? full : ""));
            obligo_free(full);
        }
        cJSON *sinks = cJSON_AddArrayToObject(o, "alert_sinks");
        for (int j = 0; j < p->nsinks; j++)
            if (p->sink_owner[j] == i)
                cJSON_AddItemToArray(sinks, cJSON_CreateString(p->sink_copies[j].name));
        cJSON *ads = cJSON_AddArrayToObject(o, "input_adapters");
        for (int j = 0; j < p->nadapters; j++) {
            if (p->adapter_owner[j] != i)
                continue;
            cJSON *a = cJSON_CreateObject();
            cJSON_AddStringToObject(a, "name", p->adapters[j].adapter.name);
            cJSON_AddStringToObject(a, "media_type", p->adapters[j].adapter.media_type);
            if (p->adapters[j].adapter.http_path)
                cJSON_AddStringToObject(a, "http_path", p->adapters[j].adapter.http_path);
            cJSON_AddItemToArray(ads, a);
        }
        cJSON_AddStringToObject(o, "status", "loaded");
        cJSON_AddItemToArray(out, o);
    }
    for (int i = 0; out && p && i < p->nskipped; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", p->skipped[i].name ? p->skipped[i].name : "");
        cJSON_AddStringToObject(o, "file", p->skipped[i].file ? p->skipped[i].file : "");
        cJSON_AddStringToObject(o, "status", "not configured");
        cJSON_AddStringToObject(o, "reason", p->skipped[i].reason ? p->skipped[i].reason : "");
        cJSON_AddItemToArray(out, o);
    }
    return out;
}
