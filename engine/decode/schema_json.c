/*
 * schema_json.c — the catalogue's schemas as JSON Schema 2020-12
 * (schema_json.h).
 *
 * Each rule here mirrors one check of validate.c; when that file changes
 * what it accepts, this one changes with it (tests/unit/decode/
 * test_schema_json.c holds the expected schemas, written by hand):
 *
 *   validate.c                          JSON Schema
 *   member null = absent                optional members also take null
 *   required: present, not null         "required" and no null in the type
 *   STRING (<= 64 KiB), required: ""    string, maxLength 65536; minLength 1
 *     refused unless an enum            when required and not an enum
 *   STRING with values                  enum
 *   BOOL                                boolean
 *   COUNT: whole, 0 .. 2^53 - 1         integer, minimum 0, maximum 2^53 - 1
 *   OBJECT (nested)                     object with its properties
 *   ENUM_LIST                           array of the enum (or of strings)
 *   TIME: clock_parse_rfc3339           string, format date-time and a
 *                                       pattern of exactly its grammar
 *   DATE_OR_TIME                        anyOf a date-time or a date
 *   ANY                                 any value
 *   one_of: at least one present        anyOf of "required" + not null
 *   unnamed members allowed             additionalProperties true
 */
#include "schema_json.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"

/* validate.c's limits, in the units JSON Schema counts. */
#define SJ_MAX_ID 1024
#define SJ_MAX_STRING 65536
#define SJ_MAX_COUNT "9007199254740991" /* 2^53 - 1 */

/* clock_parse_rfc3339: YYYY-MM-DD, T or t, HH:MM:SS (hours to 23, no leap
 * second), optional fraction, then Z, z or an offset of +-HH:MM (hours to
 * 23). format date-time adds that the date exists (no 2026-02-30); the
 * pattern refuses what RFC 3339 allows and the engine does not (a space
 * for T, 23:59:60, an offset without its colon). */
#define SJ_TIME_PATTERN                                                                            \
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?"          \
    "([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
#define SJ_DATE_PATTERN "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"

/* Adds item to obj as name, or deletes it; clears *ok when either was
 * NULL or the add failed, so one check at the end covers every step. */
static void sj_add(cJSON *obj, const char *name, cJSON *item, int *ok)
{
    if (!obj || !item || !cJSON_AddItemToObject(obj, name, item)) {
        cJSON_Delete(item);
        *ok = 0;
    }
}

static void sj_push(cJSON *arr, cJSON *item, int *ok)
{
    if (!arr || !item || !cJSON_AddItemToArray(arr, item)) {
        cJSON_Delete(item);
        *ok = 0;
    }
}

static void sj_str(cJSON *obj, const char *name, const char *value, int *ok)
{
    sj_add(obj, name, cJSON_CreateString(value), ok);
}

static void sj_num(cJSON *obj, const char *name, double value, int *ok)
{
    sj_add(obj, name, cJSON_CreateNumber(value), ok);
}

/* "type": t, or ["t", "null"] for a member that may be null. */
static void sj_type(cJSON *obj, const char *t, int nullable, int *ok)
{
    if (!nullable) {
        sj_str(obj, "type", t, ok);
        return;
    }
    cJSON *arr = cJSON_CreateArray();
    sj_push(arr, cJSON_CreateString(t), ok);
    sj_push(arr, cJSON_CreateString("null"), ok);
    sj_add(obj, "type", arr, ok);
}

/* "enum": the NULL-terminated values, with null when nullable. */
static void sj_enum(cJSON *obj, const char *const *values, int nullable, int *ok)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; values[i]; i++)
        sj_push(arr, cJSON_CreateString(values[i]), ok);
    if (nullable)
        sj_push(arr, cJSON_CreateNull(), ok);
    sj_add(obj, "enum", arr, ok);
}

/* A string of the engine's string rule: at most 64 KiB. */
static cJSON *sj_string(int nullable, int *ok)
{
    cJSON *s = cJSON_CreateObject();
    sj_type(s, "string", nullable, ok);
    sj_num(s, "maxLength", SJ_MAX_STRING, ok);
    return s;
}

static cJSON *sj_time(int nullable, int *ok)
{
    cJSON *s = sj_string(nullable, ok);
    sj_str(s, "format", "date-time", ok);
    sj_str(s, "pattern", SJ_TIME_PATTERN, ok);
    return s;
}

static cJSON *sj_date(int *ok)
{
    cJSON *s = cJSON_CreateObject();
    sj_str(s, "type", "string", ok);
    sj_str(s, "format", "date", ok);
    sj_str(s, "pattern", SJ_DATE_PATTERN, ok);
    return s;
}

static cJSON *sj_object(const obligo_schema *schema, int nullable, int *ok);

/* The schema of one member of kind f->kind. nullable: the member is
 * optional, and null stands for absent. */
static cJSON *sj_field(const obligo_field *f, int nullable, int *ok)
{
    cJSON *s = NULL;
    switch (f->kind) {
    case OBLIGO_FIELD_STRING:
        if (f->values) {
            s = cJSON_CreateObject();
            sj_enum(s, f->values, nullable, ok);
            return s;
        }
        s = sj_string(nullable, ok);
        if (f->required)
            sj_num(s, "minLength", 1, ok);
        return s;
    case OBLIGO_FIELD_BOOL:
        s = cJSON_CreateObject();
        sj_type(s, "boolean", nullable, ok);
        return s;
    case OBLIGO_FIELD_COUNT:
        s = cJSON_CreateObject();
        sj_type(s, "integer", nullable, ok);
        sj_num(s, "minimum", 0, ok);
        /* as digits: cJSON would print the double with 15 of them, a
         * smaller number */
        sj_add(s, "maximum", cJSON_CreateRaw(SJ_MAX_COUNT), ok);
        return s;
    case OBLIGO_FIELD_OBJECT:
        return sj_object(f->nested, nullable, ok);
    case OBLIGO_FIELD_ENUM_LIST: {
        s = cJSON_CreateObject();
        sj_type(s, "array", nullable, ok);
        cJSON *items = NULL;
        if (f->values) {
            items = cJSON_CreateObject();
            sj_enum(items, f->values, 0, ok);
        } else {
            items = sj_string(0, ok);
        }
        sj_add(s, "items", items, ok);
        return s;
    }
    case OBLIGO_FIELD_TIME:
        return sj_time(nullable, ok);
    case OBLIGO_FIELD_DATE_OR_TIME: {
        s = cJSON_CreateObject();
        cJSON *any = cJSON_CreateArray();
        sj_push(any, sj_time(0, ok), ok);
        sj_push(any, sj_date(ok), ok);
        if (nullable) {
            cJSON *null = cJSON_CreateObject();
            sj_str(null, "type", "null", ok);
            sj_push(any, null, ok);
        }
        sj_add(s, "anyOf", any, ok);
        return s;
    }
    case OBLIGO_FIELD_ANY:
        s = cJSON_CreateObject();
        if (!nullable) {
            /* required: anything but null, which would read as absent */
            cJSON *null = cJSON_CreateObject();
            sj_str(null, "type", "null", ok);
            sj_add(s, "not", null, ok);
        }
        return s;
    }
    /* An unknown kind: validate.c refuses every value of it. */
    s = cJSON_CreateObject();
    sj_str(s, "description", "a member of an unknown kind (a fault in its plugin): no value passes",
           ok);
    sj_add(s, "not", cJSON_CreateObject(), ok);
    return s;
}

/* anyOf: [{"required": [m], "properties": {m: {"not": {"type": "null"}}}}
 * ...]: at least one of the members, not null. */
static cJSON *sj_one_of(const char *const *names, int *ok)
{
    cJSON *any = cJSON_CreateArray();
    for (size_t i = 0; names[i]; i++) {
        cJSON *alt = cJSON_CreateObject();
        cJSON *req = cJSON_CreateArray();
        sj_push(req, cJSON_CreateString(names[i]), ok);
        sj_add(alt, "required", req, ok);
        cJSON *props = cJSON_CreateObject(), *notnull = cJSON_CreateObject(),
              *null = cJSON_CreateObject();
        sj_str(null, "type", "null", ok);
        sj_add(notnull, "not", null, ok);
        sj_add(props, names[i], notnull, ok);
        sj_add(alt, "properties", props, ok);
        sj_push(any, alt, ok);
    }
    return any;
}

static cJSON *sj_object(const obligo_schema *schema, int nullable, int *ok)
{
    cJSON *s = cJSON_CreateObject();
    sj_type(s, "object", nullable, ok);
    if (!schema)
        return s; /* no nested schema: any object */
    cJSON *props = cJSON_CreateObject(), *req = cJSON_CreateArray();
    for (const obligo_field *f = schema->fields; f && f->name; f++) {
        sj_add(props, f->name, sj_field(f, !f->required, ok), ok);
        if (f->required)
            sj_push(req, cJSON_CreateString(f->name), ok);
    }
    sj_add(s, "properties", props, ok);
    if (cJSON_GetArraySize(req) > 0)
        sj_add(s, "required", req, ok);
    else
        cJSON_Delete(req);
    if (schema->one_of && schema->one_of[0]) {
        char list[512] = "";
        size_t o = 0;
        for (size_t i = 0; schema->one_of[i] && o < sizeof list; i++) {
            int w = snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", schema->one_of[i]);
            if (w < 0)
                break;
            o += (size_t)w;
        }
        char *d = obligo_asprintf("at least one of %s must be given (and not null)", list);
        sj_add(s, "description", d ? cJSON_CreateString(d) : NULL, ok);
        obligo_free(d);
        sj_add(s, "anyOf", sj_one_of(schema->one_of, ok), ok);
    }
    sj_add(s, "additionalProperties", cJSON_CreateTrue(), ok);
    return s;
}

cJSON *schema_json_object(const obligo_schema *schema)
{
    int ok = 1;
    cJSON *s = schema ? sj_object(schema, 0, &ok) : cJSON_CreateObject();
    if (!s || !ok) {
        cJSON_Delete(s);
        return NULL;
    }
    return s;
}

/* The data schema of a registered type, as validate.c reads it: a type
 * struct from a plugin built against an older header may end before
 * `data` (such a type takes any data). */
static const obligo_schema *sj_data_schema(const obligo_event_type *et)
{
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): the pointer member's own size is meant */
    if (et->struct_size < offsetof(obligo_event_type, data) + sizeof et->data)
        return NULL;
    return et->data;
}

/* id and source: required, a non-empty string of at most 1,024 bytes. */
static cJSON *sj_identifier(const char *what, int *ok)
{
    cJSON *s = cJSON_CreateObject();
    sj_str(s, "type", "string", ok);
    sj_num(s, "minLength", 1, ok);
    sj_num(s, "maxLength", SJ_MAX_ID, ok);
    sj_str(s, "description", what, ok);
    return s;
}

/* {"description": text}: an attribute the engine takes as it comes. */
static cJSON *sj_note(const char *text, int *ok)
{
    cJSON *s = cJSON_CreateObject();
    sj_str(s, "description", text, ok);
    return s;
}

cJSON *schema_json_event(const obligo_event_type *et, const char *id, const char *plugin)
{
    int ok = 1;
    const obligo_schema *schema = sj_data_schema(et);
    cJSON *s = cJSON_CreateObject();
    sj_str(s, "$schema", SCHEMA_JSON_DIALECT, &ok);
    if (id)
        sj_str(s, "$id", id, &ok);
    sj_str(s, "title", et->type, &ok);
    char *d = obligo_asprintf(
        "A CloudEvent 1.0 of type %s%s%s%s%s, as Obligo validates it. Strings are UTF-8 without "
        "U+0000, and lengths are bytes of UTF-8 to the engine (JSON Schema counts characters). "
        "%s",
        et->type, et->description && *et->description ? ": " : "",
        et->description ? et->description : "", plugin ? "; registered by the plugin " : "",
        plugin ? plugin : "",
        schema ? "data is required as an object, or data_base64 of JSON (datacontenttype absent "
                 "or JSON), which the engine decodes and checks as data."
               : "Its data is not checked.");
    sj_add(s, "description", d ? cJSON_CreateString(d) : NULL, &ok);
    obligo_free(d);
    sj_str(s, "type", "object", &ok);

    cJSON *req = cJSON_CreateArray();
    static const char *const required[] = {"specversion", "id", "source", "type", "time"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        sj_push(req, cJSON_CreateString(required[i]), &ok);
    sj_add(s, "required", req, &ok);

    cJSON *props = cJSON_CreateObject();
    cJSON *spec = cJSON_CreateObject();
    sj_str(spec, "const", "1.0", &ok);
    sj_add(props, "specversion", spec, &ok);
    sj_add(props, "id",
           sj_identifier("with source, identifies the event: the same source and id again is a "
                         "duplicate",
                         &ok),
           &ok);
    sj_add(props, "source", sj_identifier("a URI-reference naming the sender", &ok), &ok);
    cJSON *type = cJSON_CreateObject();
    sj_str(type, "const", et->type, &ok);
    sj_add(props, "type", type, &ok);
    cJSON *time = sj_time(0, &ok);
    sj_str(time, "description",
           "when it happened: RFC 3339 with an offset (Z or +-HH:MM), which Obligo requires and "
           "CloudEvents does not",
           &ok);
    sj_add(props, "time", time, &ok);
    sj_add(props, "subject", sj_string(1, &ok), &ok);
    sj_add(props, "datacontenttype",
           sj_note("the media type of data_base64's bytes (JSON when absent)", &ok), &ok);
    sj_add(props, "dataschema",
           sj_note("a URI of the schema data adheres to, such as this schema's URL followed by "
                   "#/properties/data; not checked",
                   &ok),
           &ok);
    if (schema) {
        cJSON *data = schema_json_object(schema);
        if (data && !cJSON_HasObjectItem(data, "description"))
            sj_str(data, "description", "the event's data, per the type's schema", &ok);
        sj_add(props, "data", data, &ok);
        cJSON *b64 = cJSON_CreateObject();
        sj_str(b64, "type", "string", &ok);
        sj_str(b64, "contentEncoding", "base64", &ok);
        sj_str(b64, "contentMediaType", "application/json", &ok);
        sj_str(b64, "description",
               "data as base64 of its JSON text (CloudEvents JSON format 3.1); decoded, it must "
               "be what data must be",
               &ok);
        sj_add(props, "data_base64", b64, &ok);
    } else {
        sj_add(props, "data", cJSON_CreateObject(), &ok);
        cJSON *b64 = cJSON_CreateObject();
        sj_str(b64, "type", "string", &ok);
        sj_str(b64, "contentEncoding", "base64", &ok);
        sj_add(props, "data_base64", b64, &ok);
    }
    sj_add(s, "properties", props, &ok);

    /* data or data_base64, never both (decode.c: "not both", even when
     * data is null); a type with a schema needs one of them */
    cJSON *both = cJSON_CreateArray();
    sj_push(both, cJSON_CreateString("data"), &ok);
    sj_push(both, cJSON_CreateString("data_base64"), &ok);
    cJSON *not_both = cJSON_CreateObject();
    sj_add(not_both, "required", both, &ok);
    sj_add(s, "not", not_both, &ok);
    if (schema) {
        cJSON *any = cJSON_CreateArray();
        static const char *const either[] = {"data", "data_base64"};
        for (size_t i = 0; i < 2; i++) {
            cJSON *alt = cJSON_CreateObject(), *r = cJSON_CreateArray();
            sj_push(r, cJSON_CreateString(either[i]), &ok);
            sj_add(alt, "required", r, &ok);
            sj_push(any, alt, &ok);
        }
        sj_add(s, "anyOf", any, &ok);
    }
    sj_add(s, "additionalProperties", cJSON_CreateTrue(), &ok);
    if (!s || !ok) {
        cJSON_Delete(s);
        return NULL;
    }
    return s;
}
