/*
 * example.c — an Obligo plugin that shows every capability in a few lines
 * each: a visitor sign-in book for a reception desk.
 *
 *   event type       org.example.visitor.signed_in  {visitor*, host*, badge}
 *   obligation kind  example.badge_return            due 1 day
 *   rule function    example.initials(s)             "Ada Lovelace" -> "AL"
 *   alert sink       example:/path/file              appends each alert as a line
 *   input adapter    example-csv (text/csv)          "visitor,host,time" lines,
 *                    POST /v1/example/visitors       one event each
 *   configuration    {"greeting": "..."}             optional; logged at start
 *
 * It is built OUT OF TREE, against the installed obligo/plugin.h only (see
 * Makefile and ../README.md): no engine header, no library — which is why it
 * carries its own small JSON string handling below. A plugin that reads
 * richer JSON would link a JSON library (the webhook plugin uses cJSON).
 *
 * Memory: everything handed to the host (results, errors, the state) comes
 * from api->alloc; everything the host hands in is borrowed for the call.
 * Threads: init and fini run on the main thread; the rule function, the
 * adapter and the sink each one call at a time, but in `obligo serve` on
 * three different threads, so possibly at the same time. The state is
 * read-only after init: no locks needed.
 */
#include <stdio.h>
#include <string.h>

#include <obligo/plugin.h>

/* ---- the plugin's state ------------------------------------------------------- */

typedef struct example {
    obligo_host *host;
    const obligo_host_api *api; /* kept for alloc, free and log in the callbacks */
    char *greeting;             /* from the configuration (api->alloc'd), or NULL */
} example;

/* A copy of s the host may free (errors and results cross with api->alloc). */
static char *example_dup(const obligo_host_api *api, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = api->alloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* ---- a little JSON (a real plugin may link a JSON library instead) ---------------- */

/* The 4 hex digits at s as a number; -1 when they are not. */
static long json_hex4(const char *s)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        const char *d = s[i] ? strchr("0123456789abcdef", s[i] | 0x20) : NULL;
        if (!d)
            return -1;
        v = v * 16 + (d - "0123456789abcdef");
    }
    return v;
}

/* Writes code point c as UTF-8 at o; returns the end. */
static char *utf8(char *o, unsigned long c)
{
    static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};
    int n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    for (int i = n - 1; i > 0; i--, c >>= 6)
        o[i] = (char)(0x80 | (c & 0x3f));
    o[0] = (char)(lead[n] | c);
    return o + n;
}

/* Reads the JSON string at *p (its opening quote) into out, as UTF-8, and
 * moves *p past it. out needs no more bytes than the JSON text has (an
 * escape is never shorter than what it stands for). Returns 0, or -1 (out
 * then holds "") when *p is not at a well-formed string. */
static int json_string(const char **p, char *out)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *s = *p, *e;
    char *o = out;
    *out = '\0';
    if (*s++ != '"')
        return -1;
    for (long c; (c = (unsigned char)*s++) != '"';) {
        if (c < 0x20) /* a control character, or the end of the text */
            goto bad;
        if (c != '\\') {
            *o++ = (char)c; /* UTF-8 passes through */
        } else if (*s && (e = strchr(from, *s))) {
            *o++ = to[e - from];
            s++;
        } else if (*s == 'u' && (c = json_hex4(s + 1)) >= 0 && (c < 0xd800 || c > 0xdfff)) {
            o = utf8(o, (unsigned long)c);
            s += 5;
        } else if (*s == 'u' && c >= 0xd800 && c <= 0xdbff && s[5] == '\\' && s[6] == 'u') {
            long lo = json_hex4(s + 7); /* a surrogate pair: one code point */
            if (lo < 0xdc00 || lo > 0xdfff)
                goto bad;
            o = utf8(o,
                     0x10000 + (((unsigned long)c - 0xd800) << 10) + ((unsigned long)lo - 0xdc00));
            s += 11;
        } else {
            goto bad;
        }
    }
    *o = '\0';
    *p = s;
    return 0;
bad:
    *out = '\0';
    return -1;
}

/* Finds member `key` of the JSON object text p — of that object itself, not
 * of one nested in it — and reads its value, a string, into out (which
 * needs strlen(p) + 1 bytes). Returns 0, or -1 when there is no such string. */
static int json_member_string(const char *p, const char *key, char *out)
{
    int depth = 0;
    while (*p) {
        if (*p != '"') {
            depth += (*p == '{' || *p == '[') - (*p == '}' || *p == ']');
            p++;
            continue;
        }
        const char *end = p + 1; /* past the string */
        while (*end && *end != '"')
            end += end[0] == '\\' && end[1] ? 2 : 1;
        if (!*end++)
            return -1;
        while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
            end++;
        if (depth == 1 && *end == ':' && json_string(&p, out) == 0 && strcmp(out, key) == 0) {
            for (p = end + 1; *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'; p++)
                ;
            return json_string(&p, out);
        }
        p = end;
    }
    return -1;
}

/* Writes s[0..len) escaped for the inside of a JSON string, at most 6 * len
 * bytes and a NUL; returns the end. */
static char *json_escape(char *o, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c < 0x20) {
            o += sprintf(o, "\\u%04x", c);
        } else {
            *o++ = (char)c;
        }
    }
    *o = '\0';
    return o;
}

/* Writes s (NUL-terminated) at o; returns the end. */
static char *put(char *o, const char *s)
{
    size_t n = strlen(s);
    memcpy(o, s, n + 1);
    return o + n;
}

/* ---- 1. an event type with a schema ------------------------------------------------- */

/* Schemas are static data the host borrows until fini. */
static const obligo_field visitor_fields[] = {
    {.name = "visitor", .kind = OBLIGO_FIELD_STRING, .required = 1},
    {.name = "host", .kind = OBLIGO_FIELD_STRING, .required = 1},
    {.name = "badge", .kind = OBLIGO_FIELD_BOOL, .required = 0},
    {.name = NULL},
};
static const obligo_schema visitor_schema = {.fields = visitor_fields};

static const obligo_event_type visitor_signed_in = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_event_type),
    .type = "org.example.visitor.signed_in",
    .data = &visitor_schema,
    .description = "A visitor signed in at reception (and got a badge, or not)",
};

/* ---- 2. an obligation kind ------------------------------------------------------------- */

/* Copied by the host: a rule opens it with act.open("example.badge_return", ...). */
static const obligo_obligation_kind badge_return = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_obligation_kind),
    .name = "example.badge_return",
    .title = "Return the visitor's badge",
    .source = "Example house rules, art. 1",
    .due_unit = OBLIGO_DAYS,
    .due_n = 1,
    .once = 0,
};

/* ---- 3. a rule function ------------------------------------------------------------------ */

/* example.initials("Ada Lovelace") == "AL": the first letter of every word,
 * in capitals. Arguments arrive as a JSON array, the result leaves as a JSON
 * value (api->alloc'd); an error becomes a Lua error in the calling rule. */
static int example_initials(void *state, const char *args_json, char **result_json, char **error)
{
    const example *ex = state;
    size_t cap = strlen(args_json) + 1; /* a decoded string is never longer */
    char *name = ex->api->alloc(cap), *initials = ex->api->alloc(cap), *out = NULL;
    const char *p = args_json + 1; /* past '[' */
    if (name && initials && (args_json[0] != '[' || json_string(&p, name) || *p != ']')) {
        *error = example_dup(ex->api, "takes one string, such as \"Ada Lovelace\"");
    } else if (name && initials) {
        size_t n = 0;
        for (size_t i = 0; name[i]; i++) {
            if (name[i] == ' ' || (i > 0 && name[i - 1] != ' '))
                continue; /* not the first letter of a word */
            char c = name[i];
            if (c >= 'a' && c <= 'z')
                c = (char)(c - 'a' + 'A');
            initials[n++] = c;
            while ((name[i + 1] & 0xc0) == 0x80) /* the rest of its UTF-8 sequence */
                initials[n++] = name[++i];
        }
        if ((out = ex->api->alloc(6 * n + 3))) { /* a JSON string: "..." */
            char *o = json_escape(out + 1, initials, n);
            out[0] = o[0] = '"';
            o[1] = '\0';
        }
    }
    ex->api->free(name);
    ex->api->free(initials);
    *result_json = out; /* the host frees it */
    return out ? OBLIGO_PLUGIN_OK : OBLIGO_PLUGIN_ERROR;
}

static const obligo_rule_function initials_fn = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_rule_function),
    .module = "example",
    .name = "initials",
    .fn = example_initials,
};

/* ---- 4. an alert sink -------------------------------------------------------------------- */

/* "sinks": ["example:/var/log/obligo/alerts.ndjson"] appends every alert to
 * that file, one JSON line each. The outbox calls again after RETRY (with
 * backoff) and may deliver an alert twice: each line has the alert's id. */
static int example_deliver(void *state, const char *argument, const char *alert_id,
                           const char *alert_json)
{
    const example *ex = state;
    if (!argument || !*argument) {
        ex->api->log(ex->host, OBLIGO_LOG_ERROR, "sink \"example\" needs a file: example:/path");
        return OBLIGO_PLUGIN_ERROR;
    }
    FILE *fp = fopen(argument, "a");
    if (!fp)
        return OBLIGO_PLUGIN_RETRY; /* a full disk or a missing mount may pass */
    int bad = fprintf(fp, "%s\n", alert_json) < 0;
    bad |= fclose(fp) != 0;
    return bad ? OBLIGO_PLUGIN_RETRY : OBLIGO_PLUGIN_OK;
}

static const obligo_alert_sink file_sink = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_alert_sink),
    .name = "example",
    .deliver = example_deliver,
};

/* ---- 5. an input adapter ------------------------------------------------------------------- */

/* Each line "visitor,host,time" (no quoting; a first line "visitor,host,time"
 * is a header) becomes one org.example.visitor.signed_in CloudEvent with
 * badge true. Its id is visitor@time, so sending a file twice adds nothing.
 * The host copies each event at emit and checks it (time included) like any
 * other. */
static int example_convert(void *state, const char *input, size_t len, obligo_emit_fn emit,
                           void *emit_ctx, char **error_path, char **error, char **error_body)
{
    const example *ex = state;
    int lineno = 0;
    for (const char *line = input, *end; line < input + len; line = end + 1) {
        end = memchr(line, '\n', (size_t)(input + len - line));
        if (!end)
            end = input + len;
        size_t n = (size_t)(end - line) - (end > line && end[-1] == '\r');
        lineno++;
        if (n == 0 || (lineno == 1 && n == 17 && memcmp(line, "visitor,host,time", 17) == 0))
            continue;
        const char *v = line, *h = memchr(line, ',', n),
                   *t = h ? memchr(h + 1, ',', (size_t)(line + n - h - 1)) : NULL;
        if (!t || memchr(t + 1, ',', (size_t)(line + n - t - 1)) || h == v || t == h + 1 ||
            t + 1 == line + n) {
            char where[32];
            snprintf(where, sizeof where, "line %d", lineno);
            *error_path = example_dup(ex->api, where);
            *error = example_dup(ex->api, "expected three non-empty fields: visitor,host,time");
            return OBLIGO_PLUGIN_ERROR;
        }
        size_t vl = (size_t)(h - v), hl = (size_t)(t - h - 1), tl = (size_t)(line + n - t - 1);
        h++;
        t++;
        char *event = ex->api->alloc(18 * n + 256), *o = event; /* escaping: at most 6x */
        if (!event)
            return OBLIGO_PLUGIN_ERROR;
        o = put(o, "{\"specversion\":\"1.0\",\"type\":\"org.example.visitor.signed_in\","
                   "\"source\":\"urn:example:reception\",\"id\":\"");
        o = put(json_escape(o, v, vl), "@");
        o = put(json_escape(o, t, tl), "\",\"time\":\"");
        o = put(json_escape(o, t, tl), "\",\"subject\":\"");
        o = put(json_escape(o, v, vl), "\",\"data\":{\"visitor\":\"");
        o = put(json_escape(o, v, vl), "\",\"host\":\"");
        o = put(json_escape(o, h, hl), "\",\"badge\":true}}");
        int rc = emit(emit_ctx, event, (size_t)(o - event));
        ex->api->free(event);
        if (rc != OBLIGO_PLUGIN_OK)
            return OBLIGO_PLUGIN_ERROR;
    }
    return OBLIGO_PLUGIN_OK;
}

static const obligo_input_adapter csv_adapter = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_input_adapter),
    .name = "example-csv",
    .media_type = "text/csv",
    .http_path = "/v1/example/visitors",
    .convert = example_convert,
};

/* ---- 6. configuration, init and fini ------------------------------------------------------ */

/* "plugins": {"example": {"greeting": "Welkom"}} — checked by the host
 * against this schema before init runs. */
static const obligo_field config_fields[] = {
    {.name = "greeting", .kind = OBLIGO_FIELD_STRING, .required = 0},
    {.name = NULL},
};
static const obligo_schema config_schema = {.fields = config_fields};

static int example_init(obligo_host *host, const obligo_host_api *api, const char *config_json,
                        void **state, char **error)
{
    example *ex = api->alloc(sizeof *ex);
    char *greeting = api->alloc(strlen(config_json) + 1);
    if (!ex || !greeting) {
        api->free(ex);
        api->free(greeting);
        return OBLIGO_PLUGIN_ERROR;
    }
    /* config_json is the checked configuration ("{}" when none): when
     * "greeting" is there, the schema has made sure it is a string */
    if (json_member_string(config_json, "greeting", greeting) == 0) {
        api->log(host, OBLIGO_LOG_INFO, greeting);
    } else {
        api->free(greeting);
        greeting = NULL;
    }
    *ex = (example){.host = host, .api = api, .greeting = greeting};
    /* Each call returns 0 or OBLIGO_PLUGIN_ERROR (the host has logged why);
     * when init fails, the host undoes every registration it made. */
    if (api->register_event_type(host, &visitor_signed_in) ||
        api->register_obligation_kind(host, &badge_return) ||
        api->register_rule_function(host, &initials_fn) ||
        api->register_alert_sink(host, &file_sink) ||
        api->register_input_adapter(host, &csv_adapter)) {
        *error = example_dup(api, "a registration was refused (see the log)");
        api->free(ex->greeting);
        api->free(ex);
        return OBLIGO_PLUGIN_ERROR;
    }
    *state = ex;
    return OBLIGO_PLUGIN_OK;
}

/* Releases the state; called once, after the engine stopped. */
static void example_fini(void *state)
{
    example *ex = state;
    if (ex) {
        ex->api->free(ex->greeting);
        ex->api->free(ex);
    }
}

/* ---- the description, and the one exported symbol -------------------------------------------- */

static const obligo_plugin example_plugin = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_plugin),
    .name = "example",
    .version = "1.0.0",
    .description = "An example plugin: a visitor sign-in book",
    .config_schema = &config_schema,
    .init = example_init,
    .fini = example_fini,
};

OBLIGO_PLUGIN_EXPORT const obligo_plugin *obligo_plugin_entry(void)
{
    return &example_plugin;
}
