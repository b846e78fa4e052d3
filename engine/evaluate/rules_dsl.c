/*
 * rules_dsl.c — the declarative DSL of rule files: obligation "x" {...} and
 * rule "x" {...} declarations with their triggers, periods such as
 * hours(n) and before(p), the time helpers time/fmt/due/back, and policy().
 *
 * Installed as globals by rules.c (rules_install_api); declarations are
 * taken only while the files load and fill the kinds and rules of the rule
 * set that rules.c evaluates. Depends on periods.c and clock.c.
 */
#include "rules.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "rules_internal.h"

static const char PERIOD_TAG[] = "obligo.period";

/* ---- periods as Lua values ------------------------------------------------ */

static int rules_push_period(lua_State *L, period_unit unit)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    if (n < 0 || n > 1000000)
        return luaL_error(L, "a period must be between 0 and 1000000, got %d", (int)n);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, unit);
    lua_setfield(L, -2, "unit");
    lua_pushinteger(L, n);
    lua_setfield(L, -2, "n");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, PERIOD_TAG);
    return 1;
}

int rules_hours(lua_State *L)
{
    return rules_push_period(L, PERIOD_HOURS);
}
int rules_days(lua_State *L)
{
    return rules_push_period(L, PERIOD_DAYS);
}
int rules_months(lua_State *L)
{
    return rules_push_period(L, PERIOD_MONTHS);
}
int rules_years(lua_State *L)
{
    return rules_push_period(L, PERIOD_YEARS);
}

/* Reads the period at idx; returns 0 when the value is not one. */
int rules_to_period(lua_State *L, int idx, period *p)
{
    if (!lua_istable(L, idx))
        return 0;
    idx = lua_absindex(L, idx);
    rules_getfield(L, idx, PERIOD_TAG);
    int ok = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (!ok)
        return 0;
    rules_getfield(L, idx, "unit");
    rules_getfield(L, idx, "n");
    p->unit = (period_unit)lua_tointeger(L, -2);
    p->n = lua_tointeger(L, -1);
    lua_pop(L, 2);
    return 1;
}

int rules_before(lua_State *L)
{
    period p;
    if (!rules_to_period(L, 1, &p))
        return luaL_error(L, "before() takes a period such as hours(24)");
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "before");
    return 1;
}

/* ---- time helpers --------------------------------------------------------- */

/* An instant from a Lua value: a number (seconds) or RFC 3339 / date text. */
static int rules_to_time(lua_State *L, int idx, obligo_time *t)
{
    if (lua_type(L, idx) == LUA_TNUMBER) {
        *t = (obligo_time)lua_tointeger(L, idx);
        return 1;
    }
    if (lua_type(L, idx) == LUA_TSTRING)
        return clock_parse_any(lua_tostring(L, idx), t) == 0;
    return 0;
}

obligo_time rules_check_time(lua_State *L, int idx, const char *what)
{
    obligo_time t;
    if (rules_to_time(L, idx, &t))
        return t;
    luaL_error(L, "%s must be a time (RFC 3339 text or seconds), got %s", what,
               lua_type(L, idx) == LUA_TSTRING ? "text that is not a time" : luaL_typename(L, idx));
    return 0; /* not reached: luaL_error does not return */
}

/* time(s): seconds since the epoch for RFC 3339 text, nil when it is not. */
int rules_time(lua_State *L)
{
    obligo_time t;
    if (!rules_to_time(L, 1, &t))
        return 0;
    lua_pushinteger(L, t);
    return 1;
}

/* fmt(t): "dd-mm-jjjj uu:mm" in Europe/Amsterdam, for messages. */
int rules_fmt(lua_State *L)
{
    obligo_time t = rules_check_time(L, 1, "fmt(t)");
    civil c;
    clock_to_ams(t, &c);
    char buf[40];
    snprintf(buf, sizeof buf, "%02d-%02d-%04d %02d:%02d", c.day, c.month, c.year, c.hour, c.min);
    lua_pushstring(L, buf);
    return 1;
}

/* due(from, period): the due instant, counted as periods.h says. */
int rules_due(lua_State *L)
{
    obligo_time from = rules_check_time(L, 1, "due(from, period)");
    period p;
    if (!rules_to_period(L, 2, &p))
        return luaL_error(L, "due(from, period): the second argument must be a period");
    lua_pushinteger(L, periods_due(from, p));
    return 1;
}

/* back(t, period): the instant a period before t (days and years keep the
 * Amsterdam wall-clock time). */
int rules_back(lua_State *L)
{
    obligo_time t = rules_check_time(L, 1, "back(t, period)");
    period p;
    if (!rules_to_period(L, 2, &p))
        return luaL_error(L, "back(t, period): the second argument must be a period");
    if (p.unit == PERIOD_MONTHS)
        return luaL_error(L, "back(t, period): months are counted forwards only");
    p.n = -p.n;
    lua_pushinteger(L, periods_due(t, p));
    return 1;
}

/* policy(name, default): the configured value, else the default. */
int rules_policy(lua_State *L)
{
    rules *r = rules_self(L);
    const char *name = luaL_checkstring(L, 1);
    if (r->policy_names && !cJSON_GetObjectItemCaseSensitive(r->policy_names, name))
        cJSON_AddTrueToObject(r->policy_names, name);
    const cJSON *v = r->policy ? cJSON_GetObjectItemCaseSensitive(r->policy, name) : NULL;
    if (v && cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == (double)(lua_Integer)d)
            lua_pushinteger(L, (lua_Integer)d);
        else
            lua_pushnumber(L, d);
    } else if (v && cJSON_IsString(v)) {
        lua_pushstring(L, v->valuestring);
    } else if (cJSON_IsBool(v)) {
        lua_pushboolean(L, cJSON_IsTrue(v));
    } else {
        lua_settop(L, 2);
    }
    return 1;
}

/* ---- declarations: obligation "x" {...} and rule "x" {...} --------------- */

static char *rules_opt_string(lua_State *L, int tbl, const char *field)
{
    rules_getfield(L, tbl, field);
    char *s = lua_type(L, -1) == LUA_TSTRING ? obligo_strdup(lua_tostring(L, -1)) : NULL;
    lua_pop(L, 1);
    return s;
}

/* Where the declaration is written: the caller of the curried function. */
static void rules_where(lua_State *L, char **file, int *line)
{
    lua_Debug ar;
    *file = NULL;
    *line = 0;
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar)) {
        *file = obligo_strdup(ar.source[0] == '@' ? ar.source + 1 : ar.short_src);
        *line = ar.currentline;
    }
}

void rules_kind_clear(rules_kind *k)
{
    for (int t = 0; t < RULES_NTRIGGER_KINDS; t++) {
        for (int i = 0; i < k->ntriggers[t]; i++) {
            rules_trigger *tr = &k->triggers[t][i];
            obligo_free(tr->on);
            obligo_free(tr->subject);
            obligo_free(tr->at);
            obligo_free(tr->rationale);
        }
        k->ntriggers[t] = 0;
    }
    obligo_free(k->name);
    obligo_free(k->title);
    obligo_free(k->source);
    obligo_free(k->file);
}

/* The fields of a trigger table, in the order rules_push_triggers pushes
 * them. */
static const char *const rules_trigger_fields[] = {"on", "subject", "at", "rationale"};
#define RULES_TRIGGER_NFIELDS 4

/* A trigger field (at idx) is nil, one trigger table, or a list of them.
 * Pushes the fields of each (rules_trigger_fields, nil when absent) and
 * returns how many triggers, or -1 when malformed. Only Lua values are
 * made here, so a Lua error (out of memory) leaves nothing to free. */
static int rules_push_triggers(lua_State *L, int idx)
{
    if (lua_isnil(L, idx))
        return 0;
    if (!lua_istable(L, idx))
        return -1;
    rules_getfield(L, idx, "on");
    int single = !lua_isnil(L, -1);
    lua_pop(L, 1);
    int n = single ? 1 : (int)lua_rawlen(L, idx);
    if (n < 1 || n > RULES_MAX_TRIGGERS)
        return -1;
    luaL_checkstack(L, RULES_MAX_TRIGGERS * RULES_TRIGGER_NFIELDS + 2, "reading triggers");
    for (int i = 1; i <= n; i++) {
        if (!single)
            lua_rawgeti(L, idx, i);
        int at = single ? idx : lua_gettop(L);
        if (!lua_istable(L, at))
            return -1;
        for (int f = 0; f < RULES_TRIGGER_NFIELDS; f++) {
            rules_getfield(L, at, rules_trigger_fields[f]);
            if (lua_type(L, -1) != LUA_TSTRING && (f < 2 || !lua_isnil(L, -1)))
                return -1; /* on and subject are needed; at and rationale are text */
        }
        if (!single)
            lua_remove(L, at);
    }
    return n;
}

/* Copies the trigger fields pushed by rules_push_triggers (from stack index
 * first on) into k. No Lua call: nothing can raise while k owns copies.
 * Returns 0, or -1 when memory ran out (k keeps what was copied). */
static int rules_copy_triggers(lua_State *L, int first, int n, rules_kind *k, rules_trigger_kind t)
{
    for (int i = 0; i < n; i++) {
        rules_trigger *tr = &k->triggers[t][k->ntriggers[t]++];
        char **slots[RULES_TRIGGER_NFIELDS] = {&tr->on, &tr->subject, &tr->at, &tr->rationale};
        for (int f = 0; f < RULES_TRIGGER_NFIELDS; f++) {
            int at = first + i * RULES_TRIGGER_NFIELDS + f;
            *slots[f] = lua_type(L, at) == LUA_TSTRING ? obligo_strdup(lua_tostring(L, at)) : NULL;
            if (lua_type(L, at) == LUA_TSTRING && !*slots[f])
                return -1;
        }
    }
    return 0;
}

/* Declarations grow the arrays of kinds and rules, which the evaluator
 * walks; they are taken only while the files load. Their tables are read
 * raw (rules_getfield), so no rule code runs while one is taken. */
static void rules_check_loading(lua_State *L, rules *r, const char *what, const char *name)
{
    if (!r->loading)
        luaL_error(L,
                   "%s \"%s\" can only be declared at the top of a rule file, not while an event "
                   "is judged",
                   what, name);
}

static int rules_declare_obligation(lua_State *L)
{
    rules *r = rules_self(L);
    const char *name = lua_tostring(L, lua_upvalueindex(1));
    rules_check_loading(L, r, "obligation", name);
    luaL_checktype(L, 1, LUA_TTABLE);
    for (int i = 0; i < r->nkinds; i++)
        if (strcmp(r->kinds[i].name, name) == 0)
            return luaL_error(L, "obligation \"%s\" is declared twice (first at %s:%d)", name,
                              r->kinds[i].file, r->kinds[i].line);
    rules_kind k;
    memset(&k, 0, sizeof k);
    rules_getfield(L, 1, "due");
    if (!rules_to_period(L, -1, &k.due))
        return luaL_error(L,
                          "obligation \"%s\" needs due = hours(n), days(n), months(n) or "
                          "years(n)",
                          name);
    lua_pop(L, 1);
    rules_getfield(L, 1, "remind");
    if (lua_istable(L, -1)) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
        if (n > RULES_MAX_REMINDERS)
            return luaL_error(L, "obligation \"%s\": at most %d reminders", name,
                              RULES_MAX_REMINDERS);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, i);
            rules_getfield(L, -1, "before");
            if (!rules_to_period(L, -1, &k.reminders[k.nreminders]))
                return luaL_error(L, "obligation \"%s\": remind entries are before(period)", name);
            k.nreminders++;
            lua_pop(L, 2);
        }
    } else if (!lua_isnil(L, -1)) {
        return luaL_error(L, "obligation \"%s\": remind must be a list of before(period)", name);
    }
    lua_pop(L, 1);
    rules_getfield(L, 1, "once");
    k.once = lua_toboolean(L, -1);
    lua_pop(L, 1);
    rules_getfield(L, 1, "periodic");
    k.periodic = lua_toboolean(L, -1);
    lua_pop(L, 1);
    rules_getfield(L, 1, "title");
    rules_getfield(L, 1, "source");
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "obligation \"%s\" needs a title and a legal source", name);
    int title = lua_gettop(L) - 1, source = lua_gettop(L);
    /* Every Lua value is read first; only then are the C copies made, with
     * no Lua call between them and storing k, so no error can leak them. */
    static const char *const trigger_fields[RULES_NTRIGGER_KINDS] = {"opened_by", "fulfilled_by",
                                                                     "cancelled_by"};
    int first[RULES_NTRIGGER_KINDS], count[RULES_NTRIGGER_KINDS];
    for (int t = 0; t < RULES_NTRIGGER_KINDS; t++) {
        rules_getfield(L, 1, trigger_fields[t]);
        int field = lua_gettop(L);
        count[t] = rules_push_triggers(L, field);
        if (count[t] < 0)
            return luaL_error(L,
                              "obligation \"%s\": %s must be { on = \"event.type\", "
                              "subject = \"data.field\" } or a list of at most %d of them",
                              name, trigger_fields[t], RULES_MAX_TRIGGERS);
        lua_remove(L, field);
        first[t] = lua_gettop(L) - count[t] * RULES_TRIGGER_NFIELDS + 1;
    }
    lua_Debug ar;
    const char *file = NULL;
    int line = 0;
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar)) {
        file = ar.source[0] == '@' ? ar.source + 1 : ar.short_src;
        line = ar.currentline;
    }
    if (r->nkinds == r->capkinds) {
        int cap = r->capkinds ? r->capkinds * 2 : 16;
        rules_kind *nk = obligo_realloc(r->kinds, (size_t)cap * sizeof *nk);
        if (!nk)
            return luaL_error(L, "out of memory");
        r->kinds = nk;
        r->capkinds = cap;
    }
    int oom = 0;
    for (int t = 0; t < RULES_NTRIGGER_KINDS; t++)
        oom |= rules_copy_triggers(L, first[t], count[t], &k, (rules_trigger_kind)t);
    k.name = obligo_strdup(name);
    k.title = obligo_strdup(lua_tostring(L, title));
    k.source = obligo_strdup(lua_tostring(L, source));
    k.file = file ? obligo_strdup(file) : NULL;
    k.line = line;
    if (oom || !k.name || !k.title || !k.source || (file && !k.file)) {
        rules_kind_clear(&k);
        return luaL_error(L, "out of memory");
    }
    r->kinds[r->nkinds++] = k;
    return 0;
}

static int rules_declare_rule(lua_State *L)
{
    rules *r = rules_self(L);
    const char *name = lua_tostring(L, lua_upvalueindex(1));
    rules_check_loading(L, r, "rule", name);
    luaL_checktype(L, 1, LUA_TTABLE);
    for (int i = 0; i < r->nrules; i++)
        if (strcmp(r->rules[i].name, name) == 0)
            return luaL_error(L, "rule \"%s\" is declared twice (first at %s:%d)", name,
                              r->rules[i].file, r->rules[i].line);
    rules_getfield(L, 1, "run");
    if (!lua_isfunction(L, -1))
        return luaL_error(L, "rule \"%s\" needs run = function(e, act, state) ... end", name);
    lua_pop(L, 1);
    rules_getfield(L, 1, "title");
    rules_getfield(L, 1, "source");
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "rule \"%s\" needs a title and a legal source", name);
    lua_pop(L, 2);
    /* on = "type" or { "type", ... } */
    rules_getfield(L, 1, "on");
    int non = 0;
    if (lua_type(L, -1) == LUA_TSTRING)
        non = 1;
    else if (lua_istable(L, -1))
        non = (int)lua_rawlen(L, -1);
    if (non < 1 || non > 64)
        return luaL_error(L, "rule \"%s\" needs on = \"event.type\" or a list of types", name);
    if (r->nrules == r->caprules) {
        int cap = r->caprules ? r->caprules * 2 : 16;
        rules_rule *nr = obligo_realloc(r->rules, (size_t)cap * sizeof *nr);
        if (!nr)
            return luaL_error(L, "out of memory");
        r->rules = nr;
        r->caprules = cap;
    }
    rules_rule *rr = &r->rules[r->nrules];
    memset(rr, 0, sizeof *rr);
    rr->run_ref = LUA_NOREF;
    rr->on = obligo_calloc((size_t)non, sizeof *rr->on);
    if (!rr->on)
        return luaL_error(L, "out of memory");
    r->nrules++; /* from here on rules_free releases what is filled in */
    if (lua_type(L, -1) == LUA_TSTRING) {
        rr->on[rr->non++] = obligo_strdup(lua_tostring(L, -1));
    } else {
        for (int i = 1; i <= non; i++) {
            lua_rawgeti(L, -1, i);
            if (lua_type(L, -1) != LUA_TSTRING)
                return luaL_error(L, "rule \"%s\": on[%d] must be an event type", name, i);
            rr->on[rr->non++] = obligo_strdup(lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    rr->name = obligo_strdup(name);
    rr->title = rules_opt_string(L, 1, "title");
    rr->source = rules_opt_string(L, 1, "source");
    rules_where(L, &rr->file, &rr->line);
    rules_getfield(L, 1, "run");
    rr->run_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* obligation "name" returns the function that takes the table. */
static int rules_curry(lua_State *L, lua_CFunction f, const char *what)
{
    const char *name = luaL_checkstring(L, 1);
    if (!*name)
        return luaL_error(L, "%s needs a name", what);
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, f, 1);
    return 1;
}

int rules_obligation(lua_State *L)
{
    return rules_curry(L, rules_declare_obligation, "obligation");
}

int rules_rule_decl(lua_State *L)
{
    return rules_curry(L, rules_declare_rule, "rule");
}
