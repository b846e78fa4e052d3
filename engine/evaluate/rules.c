/*
 * rules.c — loading a rule set into one sandbox, sealing it, and evaluating
 * an event into decisions (rules.h).
 *
 * The rule set's other files give this one its pieces (rules_internal.h):
 * rules_sources.c reads the directory, rules_dsl.c and rules_act.c are the
 * functions installed for rules, rules_json.c converts values. Depends on
 * sandbox.c (the Lua state and its limits), periods.c (due instants), cJSON
 * (events in, decisions out) and libcrypto (the revision hash). Lua values
 * held by C are kept only through luaL_ref and released in rules_free.
 */
#include "rules.h"

#include <ctype.h>
#include <lauxlib.h>
#include <lua.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "decision.h"
#include "error.h"
#include "rules_internal.h"

static const char RULES_KEY[] = "obligo.rules";

/* The instructions all rules of one event may use together. The pack's
 * heaviest event uses less than a tenth of it (README, "Rules: limits"). */
#define RULES_DEFAULT_EVENT_BUDGET UINT64_C(20000000)

rules *rules_self(lua_State *L)
{
    rules *r;
    lua_getfield(L, LUA_REGISTRYINDEX, RULES_KEY);
    r = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return r;
}

/* t[name] without running rule code: the contents of a frozen table or an
 * event view (sandbox_push_contents), read raw; a non-table gives nil. The
 * declarations and act.* read the tables rules hand them this way, so no
 * rule code runs while C holds a pointer into the rule set. */
int rules_getfield(lua_State *L, int idx, const char *name)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE) {
        lua_pushnil(L);
        return LUA_TNIL;
    }
    sandbox_push_contents(L, idx);
    lua_pushstring(L, name);
    int t = lua_rawget(L, -2);
    lua_remove(L, -2);
    return t;
}

/* ---- loading -------------------------------------------------------------- */

static void rules_set_fn(lua_State *L, int tbl, const char *name, lua_CFunction f)
{
    lua_pushcfunction(L, f);
    lua_setfield(L, tbl, name);
}

/* ---- setup under a protected call ---------------------------------------------
 *
 * The Lua API raises on a failed allocation, and a raise outside a protected
 * call aborts the process. Setup that touches the state therefore runs as a
 * C function under lua_pcall. */

typedef struct rules_protected_call {
    int (*fn)(rules *r, const void *arg, char **err);
    rules *r;
    const void *arg;
    char **err;
    int rc;
} rules_protected_call;

static int rules_protected_trampoline(lua_State *L)
{
    rules_protected_call *c = lua_touserdata(L, 1);
    c->rc = c->fn(c->r, c->arg, c->err);
    return 0;
}

/* Runs fn(r, arg, err) under a protected call: fn's own result, or
 * OBLIGO_ENOMEM when Lua ran out of memory on the way. */
static int rules_protected(rules *r, int (*fn)(rules *, const void *, char **), const void *arg,
                           char **err)
{
    lua_State *L = sandbox_state(r->sb);
    rules_protected_call c = {.fn = fn, .r = r, .arg = arg, .err = err};
    lua_pushcfunction(L, rules_protected_trampoline);
    lua_pushlightuserdata(L, &c);
    int status = lua_pcall(L, 1, 0, 0);
    if (status == LUA_OK)
        return c.rc;
    lua_pop(L, 1);
    return status == LUA_ERRMEM ? OBLIGO_ENOMEM : OBLIGO_EINVAL;
}

static int rules_install_api(rules *r, const void *unused, char **err)
{
    (void)unused;
    (void)err;
    lua_State *L = sandbox_state(r->sb);
    lua_pushlightuserdata(L, r);
    lua_setfield(L, LUA_REGISTRYINDEX, RULES_KEY);
    rules_install_lazy(L, r);
    lua_pushglobaltable(L);
    int g = lua_gettop(L);
    rules_set_fn(L, g, "obligation", rules_obligation);
    rules_set_fn(L, g, "rule", rules_rule_decl);
    rules_set_fn(L, g, "hours", rules_hours);
    rules_set_fn(L, g, "days", rules_days);
    rules_set_fn(L, g, "months", rules_months);
    rules_set_fn(L, g, "years", rules_years);
    rules_set_fn(L, g, "before", rules_before);
    rules_set_fn(L, g, "time", rules_time);
    rules_set_fn(L, g, "fmt", rules_fmt);
    rules_set_fn(L, g, "due", rules_due);
    rules_set_fn(L, g, "back", rules_back);
    rules_set_fn(L, g, "policy", rules_policy);
    lua_pop(L, 1);

    lua_createtable(L, 0, 8);
    int a = lua_gettop(L);
    rules_set_fn(L, a, "open", rules_act_open);
    rules_set_fn(L, a, "fulfil", rules_act_fulfil);
    rules_set_fn(L, a, "cancel", rules_act_cancel);
    rules_set_fn(L, a, "extend", rules_act_extend);
    rules_set_fn(L, a, "alert", rules_act_alert);
    rules_set_fn(L, a, "register", rules_act_register);
    rules_set_fn(L, a, "set", rules_act_set);
    sandbox_freeze_table(L, a, "act");
    r->act_ref = luaL_ref(L, LUA_REGISTRYINDEX);

    lua_createtable(L, 0, 4);
    int s = lua_gettop(L);
    rules_set_fn(L, s, "get", rules_state_get);
    rules_set_fn(L, s, "obligation", rules_state_obligation);
    rules_set_fn(L, s, "register", rules_state_register);
    sandbox_freeze_table(L, s, "state");
    r->state_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

static char *rules_format_error(const sandbox_error *e)
{
    if (e->file && e->line > 0)
        return obligo_asprintf("%s:%d: %s", e->file, e->line, e->message ? e->message : "error");
    if (e->file)
        return obligo_asprintf("%s: %s", e->file, e->message ? e->message : "error");
    return obligo_strdup(e->message ? e->message : "error");
}

/* Records the names a file passes to policy("name", ...) as a literal, so
 * `obligo check` knows every policy the rules read, also those read only
 * inside run or a helper (which never runs at load). */
static void rules_scan_policy(rules *r, const char *text, size_t len)
{
    static const char word[] = "policy";
    for (size_t i = 0; i + sizeof word < len; i++) {
        if (memcmp(text + i, word, sizeof word - 1) != 0)
            continue;
        if (i > 0 && (isalnum((unsigned char)text[i - 1]) || text[i - 1] == '_' ||
                      text[i - 1] == '.' || text[i - 1] == ':'))
            continue;
        size_t j = i + sizeof word - 1;
        while (j < len && (text[j] == ' ' || text[j] == '\t'))
            j++;
        if (j >= len || text[j] != '(')
            continue;
        j++;
        while (j < len && (text[j] == ' ' || text[j] == '\t'))
            j++;
        if (j >= len || (text[j] != '"' && text[j] != '\''))
            continue;
        char quote = text[j++];
        size_t start = j;
        while (j < len && text[j] != quote && text[j] != '\\' && text[j] != '\n' && j - start < 200)
            j++;
        if (j >= len || text[j] != quote || j == start)
            continue;
        char name[201];
        memcpy(name, text + start, j - start);
        name[j - start] = '\0';
        if (!cJSON_GetObjectItemCaseSensitive(r->policy_names, name))
            cJSON_AddTrueToObject(r->policy_names, name);
    }
}

/* A plugin's function as rules see it: arguments and result cross the ABI
 * as JSON text, so plugins never depend on Lua's own ABI. */
static int rules_plugin_call(lua_State *L)
{
    const plugins_rule_function *f = lua_touserdata(L, lua_upvalueindex(1));
    int n = lua_gettop(L);
    lua_createtable(L, n, 0);
    for (int i = 1; i <= n; i++) {
        lua_pushvalue(L, i);
        lua_rawseti(L, -2, i);
    }
    cJSON *args = rules_to_json(L, -1, 0);
    lua_pop(L, 1);
    if (cJSON_IsObject(args) && !args->child) { /* an empty table: no arguments */
        cJSON_Delete(args);
        args = cJSON_CreateArray();
    }
    char *text = args ? cJSON_PrintUnformatted(args) : NULL;
    cJSON_Delete(args);
    if (!text)
        return luaL_error(L, "out of memory");
    char *result = NULL, *error = NULL;
    int rc = plugins_call_rule(f, text, &result, &error);
    cJSON_free(text);
    if (rc != 0) {
        lua_pushfstring(L, "%s.%s: %s", f->module, f->name, error ? error : "failed");
        obligo_free(error);
        obligo_free(result);
        return lua_error(L);
    }
    obligo_free(error);
    cJSON *v = result ? cJSON_Parse(result) : NULL;
    obligo_free(result);
    if (!v)
        return 0;
    rules_push_json(L, v, 0);
    cJSON_Delete(v);
    return 1;
}

/* Plugins' obligation kinds and functions join the rule set before any rule
 * file runs, so files can use them and cannot redeclare them. */
static int rules_add_plugins(rules *r, const void *plug, char **err)
{
    const plugins *p = plug;
    int n = 0;
    const obligo_obligation_kind *kinds = plugins_obligation_kinds(p, &n);
    for (int i = 0; i < n; i++) {
        if (r->nkinds == r->capkinds) {
            int cap = r->capkinds ? r->capkinds * 2 : 16;
            rules_kind *nk = obligo_realloc(r->kinds, (size_t)cap * sizeof *nk);
            if (!nk)
                return OBLIGO_ENOMEM;
            r->kinds = nk;
            r->capkinds = cap;
        }
        rules_kind k;
        memset(&k, 0, sizeof k);
        k.name = obligo_strdup(kinds[i].name);
        k.title = obligo_strdup(kinds[i].title);
        k.source = obligo_strdup(kinds[i].source);
        k.file = obligo_strdup("(plugin)");
        k.due.unit = (period_unit)kinds[i].due_unit;
        k.due.n = kinds[i].due_n;
        k.once = kinds[i].once;
        r->kinds[r->nkinds++] = k;
        if (!k.name || !k.title || !k.source || !k.file)
            return OBLIGO_ENOMEM;
    }
    const plugins_rule_function *fns = plugins_rule_functions(p, &n);
    lua_State *L = sandbox_state(r->sb);
    for (int i = 0; i < n; i++) {
        lua_getglobal(L, fns[i].module);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushvalue(L, -1);
            lua_setglobal(L, fns[i].module);
        } else if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            *err = obligo_asprintf("plugin %s: rule function %s.%s: the name %s is taken",
                                   fns[i].plugin, fns[i].module, fns[i].name, fns[i].module);
            return OBLIGO_EINVAL;
        }
        lua_pushlightuserdata(L, (void *)&fns[i]);
        lua_pushcclosure(L, rules_plugin_call, 1);
        lua_setfield(L, -2, fns[i].name);
        lua_pop(L, 1);
    }
    return 0;
}

/* Seals the loaded rule set (sandbox_freeze), with the rules' run functions
 * as the roots of what is frozen. */
static int rules_seal_protected(rules *r, const void *unused, char **err)
{
    (void)unused;
    lua_State *L = sandbox_state(r->sb);
    lua_createtable(L, 0, r->nrules);
    for (int i = 0; i < r->nrules; i++) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->rules[i].run_ref);
        lua_setfield(L, -2, r->rules[i].name);
    }
    char *why = NULL;
    int rc = sandbox_freeze(r->sb, lua_gettop(L), &why);
    lua_pop(L, 1);
    if (rc == OBLIGO_ERULE) {
        *err = obligo_asprintf("rules: %s", why);
        obligo_free(why);
    }
    return rc;
}

static int rules_seal(rules *r, char **err)
{
    return rules_protected(r, rules_seal_protected, NULL, err);
}

int rules_load(const char *dir, const cJSON *policy, const sandbox_limits *limits,
               const plugins *plug, rules **out, char **err)
{
    rules_sources src;
    *out = NULL;
    int rc = rules_sources_read(dir, &src, err);
    if (!rc)
        rc = rules_load_sources(&src, policy, limits, plug, out, err);
    rules_sources_free(&src);
    return rc;
}

/* Keeps a copy of a file compiled into r (path rel), for rules_file_at. */
static int rules_keep_file(rules *r, const char *rel, const rules_file *f)
{
    rules_file *nk = obligo_realloc(r->kept, ((size_t)r->nkept + 1) * sizeof *nk);
    if (!nk)
        return OBLIGO_ENOMEM;
    r->kept = nk;
    rules_file *k = &nk[r->nkept];
    *k = (rules_file){
        .path = obligo_strdup(rel), .text = obligo_malloc(f->len ? f->len : 1), .len = f->len};
    if (!k->path || !k->text) {
        obligo_free(k->path);
        obligo_free(k->text);
        return OBLIGO_ENOMEM;
    }
    if (f->len)
        memcpy(k->text, f->text, f->len);
    r->nkept++;
    return 0;
}

int rules_load_sources(const rules_sources *src, const cJSON *policy, const sandbox_limits *limits,
                       const plugins *plug, rules **out, char **err)
{
    *err = NULL;
    *out = NULL;
    rules *r = obligo_calloc(1, sizeof *r);
    if (!r)
        return OBLIGO_ENOMEM;
    r->policy = policy;
    r->event_budget = limits && limits->event_instructions ? limits->event_instructions
                                                           : RULES_DEFAULT_EVENT_BUDGET;
    r->act_ref = r->state_ref = LUA_NOREF;
    r->policy_names = cJSON_CreateObject();
    r->scratch = cJSON_CreateArray();
    int rc = r->policy_names && r->scratch ? sandbox_new(limits, &r->sb) : OBLIGO_ENOMEM;
    if (rc) {
        cJSON_Delete(r->policy_names);
        cJSON_Delete(r->scratch);
        obligo_free(r);
        return rc;
    }
    if ((rc = rules_protected(r, rules_install_api, NULL, err)))
        goto fail;
    if (plug && (rc = rules_protected(r, rules_add_plugins, plug, err)))
        goto fail;
    /* The DSL and the plugins' modules become standard names: read-only. */
    if ((rc = sandbox_protect_globals(r->sb)))
        goto fail;

    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md) {
        rc = OBLIGO_ENOMEM;
        goto fail;
    }
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    r->loading = 1;
    /* The bytes hashed into the revision are the bytes compiled. */
    for (int i = 0; i < src->n; i++) {
        const rules_file *f = &src->files[i];
        if (f->is_test)
            continue;
        /* the path within the directory: the same files are the same
         * revision wherever the directory is and however it was named */
        size_t dl = src->dir ? strlen(src->dir) : 0;
        const char *rel = dl && strncmp(f->path, src->dir, dl) == 0 && f->path[dl] == '/'
                              ? f->path + dl + 1
                              : f->path;
        EVP_DigestUpdate(md, rel, strlen(rel) + 1);
        EVP_DigestUpdate(md, f->text, f->len);
        if ((rc = rules_keep_file(r, rel, f))) {
            EVP_MD_CTX_free(md);
            goto fail;
        }
        rules_scan_policy(r, f->text, f->len);
        sandbox_error se = {0};
        if ((rc = sandbox_load_buffer(r->sb, f->text, f->len, f->path, &se)) == 0)
            rc = sandbox_call(r->sb, 0, 0, &se);
        if (rc) {
            *err = rules_format_error(&se);
            sandbox_error_clear(&se);
            EVP_MD_CTX_free(md);
            rc = OBLIGO_ERULE;
            goto fail;
        }
    }
    r->loading = 0;
    rules_scratch_sweep(r); /* what a failed declaration left */
    if ((rc = rules_seal(r, err))) {
        EVP_MD_CTX_free(md);
        goto fail;
    }
    /* the policy values judge events as much as the files do */
    char *policy_text = policy ? cJSON_PrintUnformatted(policy) : NULL;
    if (policy_text)
        EVP_DigestUpdate(md, policy_text, strlen(policy_text));
    cJSON_free(policy_text);
    unsigned char digest[32];
    unsigned int dlen = 0;
    EVP_DigestFinal_ex(md, digest, &dlen);
    EVP_MD_CTX_free(md);
    for (size_t i = 0; i < 8; i++)
        snprintf(r->revision + 2 * i, 3, "%02x", digest[i]);
    *out = r;
    return 0;
fail:
    rules_free(r);
    return rc;
}

void rules_free(rules *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->nkinds; i++)
        rules_kind_clear(&r->kinds[i]);
    obligo_free(r->kinds);
    for (int i = 0; i < r->nrules; i++) {
        rules_rule *rr = &r->rules[i];
        for (int j = 0; j < rr->non; j++)
            obligo_free(rr->on[j]);
        obligo_free(rr->on);
        obligo_free(rr->name);
        obligo_free(rr->title);
        obligo_free(rr->source);
        obligo_free(rr->file);
    }
    obligo_free(r->rules);
    for (int i = 0; i < r->nkept; i++) {
        obligo_free(r->kept[i].path);
        obligo_free(r->kept[i].text);
    }
    obligo_free(r->kept);
    obligo_free(r->load_err);
    cJSON_Delete(r->policy_names);
    cJSON_Delete(r->scratch);
    for (int i = 0; i < RULES_DISPATCH_SLOTS; i++) {
        obligo_free(r->dispatch[i].type);
        obligo_free(r->dispatch[i].rules);
    }
    sandbox_free(r->sb); /* releases every luaL_ref with the state */
    obligo_free(r);
}

const char *rules_revision(const rules *r)
{
    return r->revision;
}

int rules_file_count(const rules *r)
{
    return r->nkept;
}

const rules_file *rules_file_at(const rules *r, int i)
{
    return &r->kept[i];
}

const cJSON *rules_policy_of(const rules *r)
{
    return r->policy;
}

int rules_count(const rules *r)
{
    return r->nrules;
}

cJSON *rules_describe(const rules *r)
{
    lua_State *L = sandbox_state(r->sb);
    cJSON *out = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(out, "rules");
    for (int i = 0; list && i < r->nrules; i++) {
        const rules_rule *rr = &r->rules[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", rr->name);
        cJSON_AddStringToObject(o, "title", rr->title ? rr->title : "");
        cJSON_AddStringToObject(o, "source", rr->source ? rr->source : "");
        cJSON_AddStringToObject(o, "file", rr->file ? rr->file : "");
        cJSON_AddNumberToObject(o, "line", rr->line);
        cJSON *on = cJSON_AddArrayToObject(o, "on");
        for (int j = 0; j < rr->non; j++)
            cJSON_AddItemToArray(on, cJSON_CreateString(rr->on[j]));
        lua_Debug ar;
        lua_rawgeti(L, LUA_REGISTRYINDEX, rr->run_ref);
        if (lua_getinfo(L, ">S", &ar)) {
            cJSON_AddNumberToObject(o, "first_line", ar.linedefined);
            cJSON_AddNumberToObject(o, "last_line", ar.lastlinedefined);
        }
        cJSON_AddItemToArray(list, o);
    }
    cJSON *names = cJSON_AddArrayToObject(out, "policies");
    for (const cJSON *n = r->policy_names ? r->policy_names->child : NULL; names && n; n = n->next)
        cJSON_AddItemToArray(names, cJSON_CreateString(n->string));
    cJSON *kinds = cJSON_AddArrayToObject(out, "obligations");
    for (int i = 0; kinds && i < r->nkinds; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", r->kinds[i].name);
        cJSON_AddStringToObject(o, "title", r->kinds[i].title ? r->kinds[i].title : "");
        cJSON_AddStringToObject(o, "source", r->kinds[i].source ? r->kinds[i].source : "");
        cJSON_AddStringToObject(o, "file", r->kinds[i].file ? r->kinds[i].file : "");
        cJSON_AddNumberToObject(o, "line", r->kinds[i].line);
        cJSON_AddItemToArray(kinds, o);
    }
    return out;
}

int rules_kind_count(const rules *r)
{
    return r->nkinds;
}

const rules_kind *rules_kind_at(const rules *r, int i)
{
    return &r->kinds[i];
}

const rules_kind *rules_kind_find(const rules *r, const char *name)
{
    for (int i = 0; i < r->nkinds; i++)
        if (strcmp(r->kinds[i].name, name) == 0)
            return &r->kinds[i];
    return NULL;
}

obligo_time rules_reminder_at(obligo_time due, period before)
{
    return periods_before(due, before);
}

/* ---- evaluation ----------------------------------------------------------- */

static int rules_subscribed(const rules_rule *rr, const char *type)
{
    for (int i = 0; i < rr->non; i++)
        if (strcmp(rr->on[i], type) == 0 || strcmp(rr->on[i], "*") == 0)
            return 1;
    return 0;
}

/* Appends {rule, file, line, message} to errors. Every member is there or
 * the call fails: the engine turns each error into an alert and reads them
 * all. Returns 0 or OBLIGO_ENOMEM (nothing appended). */
static int rules_error_add(cJSON *errors, const char *rule, const char *file, int line,
                           const char *message)
{
    cJSON *e = cJSON_CreateObject();
    if (!e || !cJSON_AddStringToObject(e, "rule", rule) ||
        !cJSON_AddStringToObject(e, "file", file ? file : "") ||
        !cJSON_AddNumberToObject(e, "line", line) ||
        !cJSON_AddStringToObject(e, "message", message ? message : "error") ||
        !cJSON_AddItemToArray(errors, e)) {
        cJSON_Delete(e);
        return OBLIGO_ENOMEM;
    }
    return 0;
}

static int rules_add_error(cJSON *errors, const rules_rule *rr, const sandbox_error *se)
{
    return rules_error_add(errors, rr->name, se->file ? se->file : rr->file,
                           se->line > 0 ? se->line : rr->line, se->message);
}

/* The value at a dotted path such as "data.user.id"; NULL when absent. */
static const cJSON *rules_path(const cJSON *event, const char *path)
{
    const cJSON *v = event;
    char part[128];
    while (v && *path) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        if (len >= sizeof part)
            return NULL;
        memcpy(part, path, len);
        part[len] = '\0';
        v = cJSON_GetObjectItemCaseSensitive(v, part);
        path += len + (dot ? 1 : 0);
    }
    return v;
}

static const char *rules_path_text(const cJSON *event, const char *path, char *buf, size_t n)
{
    const cJSON *v = rules_path(event, path);
    if (cJSON_IsString(v))
        return v->valuestring;
    if (cJSON_IsNumber(v)) {
        snprintf(buf, n, "%.17g", v->valuedouble);
        return buf;
    }
    return NULL;
}

/* One decision of a declarative trigger; a trigger whose subject or instant
 * is missing from the event is reported like a failing rule. */
static int rules_trigger_decision(const rules_kind *k, rules_trigger_kind t,
                                  const rules_trigger *tr, const cJSON *event, cJSON *decisions,
                                  cJSON *errors)
{
    static const char *const suffix[RULES_NTRIGGER_KINDS] = {"opened_by", "fulfilled_by",
                                                             "cancelled_by"};
    char rule[256], nbuf[64];
    snprintf(rule, sizeof rule, "%s.%s", k->name, suffix[t]);
    const char *subject = rules_path_text(event, tr->subject, nbuf, sizeof nbuf);
    const char *at_text = tr->at ? rules_path_text(event, tr->at, NULL, 0)
                                 : cJSON_GetObjectItemCaseSensitive(event, "time")->valuestring;
    obligo_time at = 0;
    if (!subject || !at_text || clock_parse_any(at_text, &at))
        return rules_error_add(errors, rule, k->file, k->line,
                               !subject ? "the event has no subject at the path the "
                                          "obligation names"
                                        : "the event has no valid time at the path the "
                                          "obligation names");
    cJSON *d = cJSON_CreateObject();
    if (!d)
        return OBLIGO_ENOMEM;
    /* A periodic duty's fulfilling event starts the next period: "open"
     * re-arms an open obligation and renews an overdue one. */
    int open = t == RULES_OPENED_BY || (t == RULES_FULFILLED_BY && k->periodic);
    cJSON_AddStringToObject(d, "op",
                            open                      ? DECISION_OPEN
                            : t == RULES_FULFILLED_BY ? DECISION_FULFIL
                                                      : DECISION_CANCEL);
    cJSON_AddStringToObject(d, "rule", rule);
    cJSON_AddStringToObject(d, "kind", k->name);
    cJSON_AddStringToObject(d, "subject", subject);
    if (open) {
        obligo_time due = periods_due(at, k->due);
        rules_add_time(d, "from", at);
        rules_add_time(d, "due_at", due);
        if (k->due.unit == PERIOD_HOURS)
            rules_add_time(d, "legal_limit", periods_legal_limit(at, k->due));
        cJSON *rem = cJSON_AddArrayToObject(d, "remind");
        for (int i = 0; rem && i < k->nreminders; i++)
            cJSON_AddItemToArray(
                rem, cJSON_CreateNumber((double)rules_reminder_at(due, k->reminders[i])));
        if (k->once)
            cJSON_AddTrueToObject(d, "once");
        /* A trigger's duty runs from the latest event that opens or renews
         * it, whatever order events arrive in: an older one must not move
         * an active obligation back (obligations.c honours "latest"). */
        cJSON_AddTrueToObject(d, "latest");
    } else {
        rules_add_time(d, "at", at);
        if (tr->rationale) {
            const char *why = rules_path_text(event, tr->rationale, nbuf, sizeof nbuf);
            cJSON_AddStringToObject(d, "rationale", why ? why : tr->rationale);
        }
    }
    cJSON_AddItemToArray(decisions, d);
    return 0;
}

static uint32_t rules_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int rules_has_trigger(const rules *r, const char *type)
{
    for (int i = 0; i < r->nkinds; i++)
        for (int t = 0; t < RULES_NTRIGGER_KINDS; t++)
            for (int j = 0; j < r->kinds[i].ntriggers[t]; j++)
                if (strcmp(r->kinds[i].triggers[t][j].on, type) == 0)
                    return 1;
    return 0;
}

/* The dispatch entry of a type, built on first sight; NULL when the table
 * is full or memory ran out (the caller then scans, as before). */
static const rules_dispatch *rules_dispatch_for(rules *r, const char *type)
{
    uint32_t h = rules_hash(type);
    for (int probe = 0; probe < RULES_DISPATCH_SLOTS; probe++) {
        rules_dispatch *d = &r->dispatch[(h + (uint32_t)probe) % RULES_DISPATCH_SLOTS];
        if (d->type && d->hash == h && strcmp(d->type, type) == 0)
            return d;
        if (d->type)
            continue;
        int n = 0;
        int *idx = obligo_malloc(sizeof *idx * (size_t)(r->nrules ? r->nrules : 1));
        char *copy = obligo_strdup(type);
        if (!idx || !copy) {
            obligo_free(idx);
            obligo_free(copy);
            return NULL;
        }
        for (int i = 0; i < r->nrules; i++)
            if (rules_subscribed(&r->rules[i], type))
                idx[n++] = i;
        *d = (rules_dispatch){copy, h, idx, n, rules_has_trigger(r, type)};
        return d;
    }
    return NULL;
}

static int rules_declarative(rules *r, const cJSON *event, const char *type, cJSON *decisions,
                             cJSON *errors)
{
    for (int i = 0; i < r->nkinds; i++) {
        const rules_kind *k = &r->kinds[i];
        for (int t = 0; t < RULES_NTRIGGER_KINDS; t++) {
            for (int j = 0; j < k->ntriggers[t]; j++) {
                const rules_trigger *tr = &k->triggers[t][j];
                if (strcmp(tr->on, type) != 0)
                    continue;
                int rc =
                    rules_trigger_decision(k, (rules_trigger_kind)t, tr, event, decisions, errors);
                if (rc)
                    return rc;
            }
        }
    }
    return 0;
}

static int rules_push_event_unprotected(lua_State *L)
{
    rules_push_lazy(L, lua_touserdata(L, 1), lua_touserdata(L, 2));
    return 1;
}

/* Pushes the event's lazy table. Making it allocates, and Lua raises on a
 * failed allocation, so it is made under a protected call: outside one a
 * raise would abort the process. A state at its cap is collected and tried
 * once more. Returns 0 or OBLIGO_ENOMEM (nothing pushed). */
static int rules_push_event(lua_State *L, rules *r, const cJSON *event)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        lua_pushcfunction(L, rules_push_event_unprotected);
        lua_pushlightuserdata(L, r);
        lua_pushlightuserdata(L, (void *)event);
        if (lua_pcall(L, 2, 1, 0) == LUA_OK)
            return 0;
        lua_pop(L, 1); /* the error object */
        lua_gc(L, LUA_GCCOLLECT);
    }
    return OBLIGO_ENOMEM;
}

int rules_evaluate(rules *r, const cJSON *event, const rules_state_ops *ops, cJSON *decisions,
                   cJSON *errors)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(event, "type");
    if (!cJSON_IsString(type))
        return 0;
    const rules_dispatch *dispatch = rules_dispatch_for(r, type->valuestring);
    if (!dispatch || dispatch->has_triggers) {
        int drc = rules_declarative(r, event, type->valuestring, decisions, errors);
        if (drc)
            return drc;
    }
    lua_State *L = sandbox_state(r->sb);
    int top = lua_gettop(L);
    int rc = 0;
    r->ops = ops;
    int nrun = dispatch ? dispatch->nrules : r->nrules;
    /* The event's budget is shared out before any rule runs, evenly among
     * the rules it reaches: together they cannot use more, and no rule can
     * spend what another was given. */
    int nsub = 0;
    for (int n = 0; n < nrun; n++)
        nsub += dispatch || rules_subscribed(&r->rules[n], type->valuestring);
    uint64_t share = nsub ? r->event_budget / (uint64_t)nsub : 0;
    sandbox_set_budget(r->sb, share && share < sandbox_budget(r->sb) ? share : 0);
    for (int n = 0; n < nrun && !rc; n++) {
        /* An index, not a pointer: rule code runs before it is used again. */
        int ri = dispatch ? dispatch->rules[n] : n;
        if (!dispatch && !rules_subscribed(&r->rules[ri], type->valuestring))
            continue;
        r->generation++; /* each rule gets views of its own (rules_push_lazy) */
        if ((rc = rules_push_event(L, r, event)))
            break;
        int event_at = lua_gettop(L);
        r->pending = cJSON_CreateArray();
        if (!r->pending) {
            rc = OBLIGO_ENOMEM;
            break;
        }
        r->current_rule = r->rules[ri].name;
        r->oom = 0;
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->rules[ri].run_ref);
        lua_pushvalue(L, event_at);
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->act_ref);
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->state_ref);
        sandbox_error se = {0};
        int crc = sandbox_call(r->sb, 3, 0, &se);
        char *changed = NULL;
        if (sandbox_restore(r->sb, &changed) && crc == 0) {
            /* The rule assigned a file-level variable: put back, and the
             * rule fails, or the next event would see what this one left. */
            char *msg = obligo_asprintf(
                "rule \"%s\" assigned the file-level variable '%s' while an event was "
                "judged: a rule may not keep anything between events (use a local variable "
                "inside run, or act.set and state.get); its decisions are left out",
                r->rules[ri].name, changed ? changed : "?");
            sandbox_error_clear(&se);
            se.message = msg;
            crc = msg ? OBLIGO_ERULE : OBLIGO_ENOMEM;
        }
        obligo_free(changed);
        if (crc == 0) {
            /* the rule's decisions count only when it finished */
            cJSON *d;
            while ((d = cJSON_DetachItemFromArray(r->pending, 0)))
                cJSON_AddItemToArray(decisions, d);
        } else {
            if (r->oom || crc == OBLIGO_ENOMEM || rules_add_error(errors, &r->rules[ri], &se))
                rc = OBLIGO_ENOMEM;
            sandbox_error_clear(&se);
        }
        cJSON_Delete(r->pending);
        r->pending = NULL;
        r->current_rule = NULL;
        rules_scratch_sweep(r);
        lua_settop(L, top);
    }
    sandbox_set_budget(r->sb, 0);
    r->ops = NULL;
    r->generation++; /* this event's views are no longer readable */
    lua_settop(L, top);
    return rc;
}
