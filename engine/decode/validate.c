/*
 * validate.c — the gate every event passes before it is journaled: the
 * CloudEvents 1.0 envelope (DESIGN §1) and the schema of the event's type,
 * as a regulation plugin registered it (DESIGN §3 and §6).
 *
 * The core holds no catalogue of its own: the caller hands in a lookup over
 * the registered event types, so that a regulation is added or dropped by
 * loading a plugin, not by editing the engine. A schema is declarative data
 * (obligo_field/obligo_schema from obligo/plugin.h): one list of fields per
 * object, each with a kind, a required flag, an optional enum and, for
 * objects, a nested schema. A small interpreter walks it. The first problem
 * found is reported with the JSON path of the field (e.g. "data.user.id")
 * and a sentence for a person; nothing else about the event is judged here
 * (that is the rules' job). The same interpreter checks plugin
 * configuration against the schema a plugin declares.
 *
 * Schemas come from plugins, so the interpreter does not trust them to be
 * well formed: an unknown kind is reported rather than skipped, and a
 * missing nested schema or enum only loosens the check.
 *
 * Depends on cJSON (the parsed event), clock.c (RFC 3339 and date parsing)
 * and alloc.c (the result strings). No mutable state: any thread may call it.
 */
#define _GNU_SOURCE /* mempcpy */

#include "validate.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "clock.h"
#include "error.h"
/* Envelope identifiers are short by nature; a longer one is almost certainly
 * a sender bug, and id/source end up in keys and log lines. */
#define VALIDATE_MAX_ID 1024
/* Any other string (descriptions, rationales) is capped so one event cannot
 * bloat the journal and every register version that copies it. */
#define VALIDATE_MAX_STRING ((size_t)64 * 1024)
/* How much of a bad value a message quotes: enough to recognise it, not
 * enough to copy a whole description (which may hold personal data) into
 * logs and the rejected-events reason. */
#define VALIDATE_QUOTE_BYTES 64
/* Counts are exact only up to 2^53 - 1 in a JSON number (a double). */
#define VALIDATE_MAX_COUNT 9007199254740991.0

#define VALIDATE_PATH_MAX 256

void validate_result_clear(validate_result *res)
{
    if (!res)
        return;
    obligo_free(res->field);
    obligo_free(res->message);
    res->field = NULL;
    res->message = NULL;
}

/* ---- building the answer ---- */

/* Fills *res and returns OBLIGO_EINVAL, or OBLIGO_ENOMEM with *res left
 * empty, so a caller never sees half a result. res may be NULL when only the
 * verdict matters. */
__attribute__((format(printf, 3, 4))) static int
validate_fail(validate_result *res, const char *path, const char *fmt, ...)
{
    if (!res)
        return OBLIGO_EINVAL;
    va_list ap;
    va_start(ap, fmt);
    char *message = obligo_vasprintf(fmt, ap);
    va_end(ap);
    char *field = obligo_strdup(path);
    if (!message || !field) {
        obligo_free(message);
        obligo_free(field);
        return OBLIGO_ENOMEM;
    }
    res->field = field;
    res->message = message;
    return OBLIGO_EINVAL;
}

/* Room for VALIDATE_QUOTE_BYTES bytes escaped as \u00XX, the quotes, "..."
 * and the NUL. */
#define VALIDATE_QUOTE_SIZE ((size_t)VALIDATE_QUOTE_BYTES * 6 + 8)

/* Writes s as a double-quoted string of at most its first
 * VALIDATE_QUOTE_BYTES bytes, cut on a UTF-8 character boundary, with quotes,
 * backslashes and control characters escaped JSON-style so that the message
 * stays one printable line whatever the sender put in the value. */
static void validate_quote(const char *s, char out[VALIDATE_QUOTE_SIZE])
{
    size_t len = strlen(s);
    size_t n = len;
    if (n > VALIDATE_QUOTE_BYTES) {
        n = VALIDATE_QUOTE_BYTES;
        /* Do not split a multi-byte character: back off over continuation
         * bytes (10xxxxxx) to the start of the character that was cut. */
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (c == '\t') {
            out[o++] = '\\';
            out[o++] = 't';
        } else if (c == '\r') {
            out[o++] = '\\';
            out[o++] = 'r';
        } else if (c < 0x20 || c == 0x7F) {
            o += (size_t)snprintf(out + o, VALIDATE_QUOTE_SIZE - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    if (n < len) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o++] = '"';
    out[o] = '\0';
}

/* "a string", "a list", ... for "got ..." in messages. */
static const char *validate_json_kind(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsObject(v))
        return "an object";
    if (cJSON_IsArray(v))
        return "a list";
    if (cJSON_IsNull(v))
        return "null";
    return "an invalid value";
}

/* "a, b, c" from a NULL-terminated list, with prefix before each name. */
static void validate_join(const char *const *names, const char *prefix, const char *sep, char *out,
                          size_t size)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; names[i]; i++) {
        int w = snprintf(out + o, size - o, "%s%s%s", i ? sep : "", prefix, names[i]);
        if (w < 0 || (size_t)w >= size - o)
            return; /* a plugin's list too long for a message: cut short, still a string */
        o += (size_t)w;
    }
}

/* "parent.name", or "name" alone at the top ("" parent: validate_value
 * called without a prefix). Returns 0 when the path does not fit. */
static int validate_child_path(char out[VALIDATE_PATH_MAX], const char *parent, const char *name)
{
    /* On every field of every event: plain copies, not snprintf. */
    size_t a = strlen(parent), b = strlen(name), dot = a ? 1 : 0;
    if (a + dot + b >= VALIDATE_PATH_MAX)
        return 0;
    char *o = out;
    if (a) {
        o = mempcpy(o, parent, a);
        *o++ = '.';
    }
    memcpy(o, name, b + 1); /* with its NUL */
    return 1;
}

/* How a message names the object at path: the top of a validate_value call
 * has no path of its own. */
static const char *validate_what(const char *path)
{
    return path[0] ? path : "the object";
}

/* ---- values ---- */

/* The checks every string shares: it is a string, and not too long. Returns
 * 0 when v is an acceptable string. */
static int validate_string(const cJSON *v, const char *path, size_t max, validate_result *res)
{
    if (!cJSON_IsString(v) || !v->valuestring)
        return validate_fail(res, path, "%s must be a string; got %s", path, validate_json_kind(v));
    size_t len = strlen(v->valuestring);
    if (len > max)
        return validate_fail(res, path, "%s is too long: %zu bytes, at most %zu are allowed", path,
                             len, max);
    return 0;
}

static int validate_enum(const char *s, const char *const *values, const char *path,
                         validate_result *res)
{
    for (size_t i = 0; values[i]; i++)
        if (strcmp(values[i], s) == 0)
            return 0;
    char list[512], quoted[VALIDATE_QUOTE_SIZE];
    validate_join(values, "", ", ", list, sizeof list);
    validate_quote(s, quoted);
    return validate_fail(res, path, "%s must be one of %s; got %s", path, list, quoted);
}

static int validate_time(const cJSON *v, const char *path, int date_allowed, validate_result *res)
{
    int rc = validate_string(v, path, VALIDATE_MAX_STRING, res);
    if (rc)
        return rc;
    obligo_time t;
    const char *s = v->valuestring;
    if (date_allowed) {
        if (clock_parse_date(s, &t) == 0 || clock_parse_any(s, &t) == 0)
            return 0;
    } else if (clock_parse_rfc3339(s, &t) == 0) {
        return 0;
    }
    char quoted[VALIDATE_QUOTE_SIZE];
    validate_quote(s, quoted);
    if (date_allowed)
        return validate_fail(res, path,
                             "%s %s is neither a date (YYYY-MM-DD) nor an RFC 3339 date-time "
                             "with offset",
                             path, quoted);
    return validate_fail(res, path, "%s %s is not an RFC 3339 date-time with offset", path, quoted);
}

static int validate_object(const obligo_schema *schema, const cJSON *obj, const char *path,
                           const char *type, validate_result *res);

/* Checks the value v of field f at JSON path `path`. type, when not NULL,
 * is the event type that messages about missing members name. */
static int validate_field_value(const obligo_field *f, const cJSON *v, const char *path,
                                const char *type, validate_result *res)
{
    int rc;
    switch (f->kind) {
    case OBLIGO_FIELD_STRING:
        if ((rc = validate_string(v, path, VALIDATE_MAX_STRING, res)))
            return rc;
        if (f->values)
            return validate_enum(v->valuestring, f->values, path, res);
        /* An empty identifier or description is a missing one in disguise. */
        if (f->required && v->valuestring[0] == '\0')
            return validate_fail(res, path, "%s must not be empty", path);
        return 0;
    case OBLIGO_FIELD_BOOL:
        if (!cJSON_IsBool(v))
            return validate_fail(res, path, "%s must be true or false; got %s", path,
                                 validate_json_kind(v));
        return 0;
    case OBLIGO_FIELD_COUNT:
        if (!cJSON_IsNumber(v))
            return validate_fail(res, path, "%s must be a number; got %s", path,
                                 validate_json_kind(v));
        /* Written so that NaN fails too; within the range the cast to
         * int64_t is exact, so it tests for a fraction without libm. */
        if (!(v->valuedouble >= 0 && v->valuedouble <= VALIDATE_MAX_COUNT) ||
            v->valuedouble != (double)(int64_t)v->valuedouble)
            return validate_fail(res, path, "%s must be a whole number from 0 to %.0f; got %g",
                                 path, VALIDATE_MAX_COUNT, v->valuedouble);
        return 0;
    case OBLIGO_FIELD_OBJECT:
        if (!cJSON_IsObject(v))
            return validate_fail(res, path, "%s must be an object; got %s", path,
                                 validate_json_kind(v));
        /* No nested schema: any object will do. */
        return f->nested ? validate_object(f->nested, v, path, type, res) : 0;
    case OBLIGO_FIELD_ENUM_LIST: {
        if (!cJSON_IsArray(v))
            return validate_fail(res, path, "%s must be a list of strings; got %s", path,
                                 validate_json_kind(v));
        size_t i = 0;
        for (const cJSON *e = v->child; e; e = e->next, i++) {
            char epath[VALIDATE_PATH_MAX];
            int w = snprintf(epath, sizeof epath, "%s[%zu]", path, i);
            if (w < 0 || (size_t)w >= sizeof epath)
                return validate_fail(res, path, "%s is nested too deeply", path);
            if ((rc = validate_string(e, epath, VALIDATE_MAX_STRING, res)))
                return rc;
            /* No values: a list of any strings. */
            if (f->values && (rc = validate_enum(e->valuestring, f->values, epath, res)))
                return rc;
        }
        return 0;
    }
    case OBLIGO_FIELD_TIME:
        return validate_time(v, path, 0, res);
    case OBLIGO_FIELD_DATE_OR_TIME:
        return validate_time(v, path, 1, res);
    case OBLIGO_FIELD_ANY:
        return 0;
    }
    /* The kinds are frozen for ABI major 1, so this is a plugin bug; saying
     * so beats letting unchecked data through. */
    return validate_fail(res, path,
                         "%s cannot be checked: its schema has an unknown kind %d (a fault in "
                         "the plugin that registered it)",
                         path, f->kind);
}

/* JSON null is treated as absent: many senders serialise unset optional
 * fields that way, and for a required field "is required" is the clearer
 * message. */
static const cJSON *validate_member(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNull(v) ? NULL : v;
}

/* Checks obj (at JSON path `path`) against schema. Members the schema does
 * not name are allowed, so that a newer sender does not break an older
 * engine (forward compatibility). type (may be NULL) is what a missing
 * member is "required for". */
static int validate_object(const obligo_schema *schema, const cJSON *obj, const char *path,
                           const char *type, validate_result *res)
{
    for (const obligo_field *f = schema->fields; f && f->name; f++) {
        char fpath[VALIDATE_PATH_MAX];
        if (!validate_child_path(fpath, path, f->name))
            return validate_fail(res, path, "%s is nested too deeply", validate_what(path));
        const cJSON *v = validate_member(obj, f->name);
        if (!v) {
            if (!f->required)
                continue;
            if (type)
                return validate_fail(res, fpath, "%s is required for %s", fpath, type);
            return validate_fail(res, fpath, "%s is required", fpath);
        }
        int rc = validate_field_value(f, v, fpath, type, res);
        if (rc)
            return rc;
    }

    if (!schema->one_of || !schema->one_of[0])
        return 0;
    for (size_t i = 0; schema->one_of[i]; i++)
        if (validate_member(obj, schema->one_of[i]))
            return 0;
    char list[512];
    if (!schema->one_of_named) {
        validate_join(schema->one_of, "", ", ", list, sizeof list);
        return validate_fail(res, path, "%s must contain at least one of %s", validate_what(path),
                             list);
    }
    /* Name the preferred member and offer the others as the alternative:
     * "data.informed_at is required ... unless data.exception is given". */
    char named[VALIDATE_PATH_MAX], prefix[VALIDATE_PATH_MAX];
    const char *others[8];
    size_t n = 0;
    for (size_t i = 0; schema->one_of[i] && n + 1 < sizeof others / sizeof others[0]; i++)
        if (strcmp(schema->one_of[i], schema->one_of_named) != 0)
            others[n++] = schema->one_of[i];
    others[n] = NULL;
    int w = snprintf(prefix, sizeof prefix, "%s%s", path, path[0] ? "." : "");
    if (!validate_child_path(named, path, schema->one_of_named) || w < 0 ||
        (size_t)w >= sizeof prefix)
        return validate_fail(res, path, "%s is nested too deeply", validate_what(path));
    validate_join(others, prefix, " or ", list, sizeof list);
    if (type)
        return validate_fail(res, named, "%s is required for %s unless %s is given", named, type,
                             list);
    return validate_fail(res, named, "%s is required unless %s is given", named, list);
}

int validate_value(const cJSON *value, const obligo_schema *schema, const char *path,
                   validate_result *res)
{
    if (res) {
        res->field = NULL;
        res->message = NULL;
    }
    if (!path)
        path = "";
    if (!schema)
        return 0;
    if (!cJSON_IsObject(value))
        return validate_fail(res, path, "%s must be an object; got %s",
                             path[0] ? path : "the value",
                             value ? validate_json_kind(value) : "nothing");
    return validate_object(schema, value, path, NULL, res);
}

/* ---- text ---- */

long validate_text_bad(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text, *p = s, *end = s + len;
    while (p < end) {
        if (*p == 0)
            return (long)(p - s);
        if (*p < 0x80) {
            p++;
            continue;
        }
        int more;
        uint32_t cp, min;
        if ((*p & 0xE0) == 0xC0)
            more = 1, cp = *p & 0x1Fu, min = 0x80;
        else if ((*p & 0xF0) == 0xE0)
            more = 2, cp = *p & 0x0Fu, min = 0x800;
        else if ((*p & 0xF8) == 0xF0)
            more = 3, cp = *p & 0x07u, min = 0x10000;
        else
            return (long)(p - s);
        if (end - p <= more)
            return (long)(p - s);
        for (int i = 1; i <= more; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return (long)(p - s);
            cp = (cp << 6) | (p[i] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return (long)(p - s);
        p += more + 1;
    }
    return -1;
}

/* Offset of the first byte of s that does not begin a well-formed UTF-8
 * character (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF), or -1 when all of s is well formed. */
static long validate_utf8_bad(const char *text)
{
    return validate_text_bad(text, strlen(text));
}

/* Every member name and string in v (at path) is well-formed UTF-8: JSON
 * is UTF-8 (RFC 8259), and what is journaled is sent on to sinks and
 * webhooks whose parsers would refuse anything else. Schemas name some
 * members; this covers all of them, also those of unknown types. A path
 * too long to write names the deepest member that fits. */
static int validate_text(const cJSON *v, const char *path, validate_result *res)
{
    if (cJSON_IsString(v) && v->valuestring) {
        long at = validate_utf8_bad(v->valuestring);
        if (at >= 0)
            return validate_fail(res, path,
                                 "%s is not valid UTF-8 (at byte %ld): events are JSON, which "
                                 "is UTF-8",
                                 path[0] ? path : "the event", at);
        return 0;
    }
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return 0;
    int i = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        char cpath[VALIDATE_PATH_MAX];
        if (cJSON_IsObject(v)) {
            long at = c->string ? validate_utf8_bad(c->string) : -1;
            if (at >= 0)
                return validate_fail(res, path,
                                     "%s has a member name that is not valid UTF-8 (at byte %ld): "
                                     "events are JSON, which is UTF-8",
                                     path[0] ? path : "the event", at);
            if (!validate_child_path(cpath, path, c->string ? c->string : ""))
                snprintf(cpath, sizeof cpath, "%s", path);
        } else {
            int n = snprintf(cpath, sizeof cpath, "%s[%d]", path, i);
            if (n < 0 || (size_t)n >= sizeof cpath)
                snprintf(cpath, sizeof cpath, "%s", path);
        }
        int rc = validate_text(c, cpath, res);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- the envelope ---- */

/* id, source and type: present, a string, not empty, not too long. */
static int validate_envelope_string(const cJSON *event, const char *name, validate_result *res)
{
    const cJSON *v = validate_member(event, name);
    if (!v)
        return validate_fail(res, name, "%s is required", name);
    int rc = validate_string(v, name, VALIDATE_MAX_ID, res);
    if (rc)
        return rc;
    if (v->valuestring[0] == '\0')
        return validate_fail(res, name, "%s must not be empty", name);
    return 0;
}

/* The type registered as `type`, or NULL (no catalogue, or not in it). */
static const obligo_event_type *validate_lookup(const validate_catalogue *cat, const char *type)
{
    if (!cat || !cat->lookup)
        return NULL;
    return cat->lookup(cat->ud, type);
}

/* The data schema of a registered type. A type struct from a plugin built
 * against an older header may end before `data`; the host never reads past
 * a plugin's struct_size (plugin.h), and such a type takes any data. */
static const obligo_schema *validate_data_schema(const obligo_event_type *et)
{
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): the pointer member's own size is meant */
    if (et->struct_size < offsetof(obligo_event_type, data) + sizeof et->data)
        return NULL;
    return et->data;
}

int validate_event(const cJSON *event, const validate_catalogue *cat, int allow_unknown,
                   validate_result *res)
{
    if (res) {
        res->field = NULL;
        res->message = NULL;
    }
    if (!cJSON_IsObject(event))
        return validate_fail(res, "", "an event must be a JSON object; got %s",
                             event ? validate_json_kind(event) : "nothing");

    char quoted[VALIDATE_QUOTE_SIZE];
    int rc;

    const cJSON *spec = validate_member(event, "specversion");
    if (!spec)
        return validate_fail(res, "specversion", "specversion is required (\"1.0\")");
    if (!cJSON_IsString(spec) || !spec->valuestring)
        return validate_fail(res, "specversion", "specversion must be the string \"1.0\"; got %s",
                             validate_json_kind(spec));
    if (strcmp(spec->valuestring, "1.0") != 0) {
        validate_quote(spec->valuestring, quoted);
        return validate_fail(res, "specversion", "specversion must be \"1.0\"; got %s", quoted);
    }

    if ((rc = validate_envelope_string(event, "id", res)) ||
        (rc = validate_envelope_string(event, "source", res)) ||
        (rc = validate_envelope_string(event, "type", res)))
        return rc;

    const char *type = cJSON_GetObjectItemCaseSensitive(event, "type")->valuestring;
    const obligo_event_type *et = validate_lookup(cat, type);
    const char *closest = !et && cat && cat->closest ? cat->closest(cat->ud, type) : NULL;
    if (closest) {
        validate_quote(type, quoted);
        char meant[VALIDATE_QUOTE_SIZE];
        validate_quote(closest, meant);
        return validate_fail(res, "type",
                             "type %s is not registered, but its namespace belongs to a loaded "
                             "plugin: did you mean %s? (an event of a type no rule knows would "
                             "be accepted and never judged)",
                             quoted, meant);
    }
    if (!et && !allow_unknown) {
        validate_quote(type, quoted);
        return validate_fail(res, "type",
                             "type %s is not in the event catalogue (no loaded plugin registers "
                             "it), and unknown types are not accepted by this configuration",
                             quoted);
    }

    /* CloudEvents makes time optional; Obligo does not, because every
     * deadline is counted from it. */
    const cJSON *at = validate_member(event, "time");
    if (!at)
        return validate_fail(res, "time",
                             "time is required (an RFC 3339 date-time with offset, such as "
                             "2026-02-02T09:15:00+01:00)");
    if ((rc = validate_time(at, "time", 0, res)))
        return rc;

    const cJSON *subject = validate_member(event, "subject");
    if (subject && (rc = validate_string(subject, "subject", VALIDATE_MAX_STRING, res)))
        return rc;

    /* Unknown types, and types registered without a schema, are journaled
     * as they come: rules may match them, and their data is theirs to
     * interpret. */
    const obligo_schema *schema = et ? validate_data_schema(et) : NULL;
    if (schema) {
        const cJSON *data = validate_member(event, "data");
        if (!data && validate_member(event, "data_base64")) {
            /* decode_event turned JSON data_base64 into data already */
            const cJSON *ct = validate_member(event, "datacontenttype");
            validate_quote(cJSON_IsString(ct) && ct->valuestring ? ct->valuestring : "?", quoted);
            return validate_fail(res, "data_base64",
                                 "%s needs JSON data to check against its schema; data_base64 "
                                 "with datacontenttype %s is not JSON: send the data as JSON "
                                 "(data, or data_base64 of JSON with a JSON datacontenttype)",
                                 type, quoted);
        }
        if (!data)
            return validate_fail(res, "data", "data is required for %s", type);
        if (!cJSON_IsObject(data))
            return validate_fail(res, "data", "data must be an object for %s; got %s", type,
                                 validate_json_kind(data));
        if ((rc = validate_object(schema, data, "data", type, res)))
            return rc;
    }
    return validate_text(event, "", res);
}
