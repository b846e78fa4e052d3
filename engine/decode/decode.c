/*
 * decode.c — bytes to a validated event (decode.h): the one place where
 * every way bytes come in (an HTTP body, an NDJSON line, an ingest file, a
 * JSON adapter document) is held to the same JSON and schema rules, with
 * the same error texts.
 */
#include "decode.h"

#include "alloc.h"
#include "base64.h"
#include "error.h"
#include "json.h"

#include <string.h>
#include <strings.h>

int decode_media_is_json(const char *media_type)
{
    if (!media_type)
        return 0;
    const char *a = media_type;
    while (*a == ' ' || *a == '\t')
        a++;
    size_t n = strcspn(a, ";");
    while (n > 0 && (a[n - 1] == ' ' || a[n - 1] == '\t'))
        n--;
    if ((n == 16 && strncasecmp(a, "application/json", 16) == 0) ||
        (n == 9 && strncasecmp(a, "text/json", 9) == 0))
        return 1;
    return n > 5 && memchr(a, '/', n) && strncasecmp(a + n - 5, "+json", 5) == 0;
}

/* data_base64 of the parsed event ev, as decode.h says: 0 (ev may now
 * hold data instead), OBLIGO_EINVAL with *field and *reason, or
 * OBLIGO_ENOMEM. */
static int decode_data_base64(cJSON *ev, char **field, char **reason)
{
    cJSON *b64 = cJSON_GetObjectItemCaseSensitive(ev, "data_base64");
    if (!b64)
        return 0;
    *field = obligo_strdup("data_base64");
    if (cJSON_GetObjectItemCaseSensitive(ev, "data")) {
        *reason = obligo_strdup("an event carries data or data_base64, not both");
        return OBLIGO_EINVAL;
    }
    if (!cJSON_IsString(b64) || !b64->valuestring) {
        *reason = obligo_strdup("data_base64 must be a string of base64 (RFC 4648)");
        return OBLIGO_EINVAL;
    }
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(ev, "datacontenttype");
    const char *media = cJSON_IsString(ct) ? ct->valuestring : NULL;
    if (media && !decode_media_is_json(media)) {
        obligo_free(*field);
        *field = NULL;
        return 0; /* binary data: validate_event says whether the type takes it */
    }
    char *bytes = NULL;
    size_t n = 0, bad = 0;
    int rc = base64_decode(b64->valuestring, strlen(b64->valuestring), &bytes, &n, &bad);
    if (rc == OBLIGO_ENOMEM)
        return rc;
    if (rc) {
        *reason = obligo_asprintf("data_base64 is not valid base64 (RFC 4648): %s at character "
                                  "%zu",
                                  bad < strlen(b64->valuestring) ? "a character outside the "
                                                                   "alphabet"
                                                                 : "an impossible length",
                                  bad + 1);
        return OBLIGO_EINVAL;
    }
    int oom = 0;
    char *why = decode_text_problem(bytes, n, &oom);
    cJSON *data = why || oom ? NULL : cJSON_ParseWithLength(bytes, n);
    obligo_free(bytes);
    if (oom)
        return OBLIGO_ENOMEM;
    if (!data) {
        *reason = obligo_asprintf("data_base64 does not decode to JSON, which its "
                                  "datacontenttype %s says it is%s%s",
                                  media ? media : "(absent: application/json)", why ? ": " : "",
                                  why ? why : "");
        obligo_free(why);
        return OBLIGO_EINVAL;
    }
    char *inner = NULL, *what = NULL;
    rc = json_tree_check(data, &inner, &what);
    obligo_free(inner);
    if (rc) {
        cJSON_Delete(data);
        if (rc == OBLIGO_EINVAL)
            *reason = obligo_asprintf("data_base64 decodes to JSON that cannot be kept: %s",
                                      what ? what : "invalid");
        obligo_free(what);
        return rc;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(ev, "data_base64");
    if (!cJSON_AddItemToObject(ev, "data", data)) {
        cJSON_Delete(data);
        return OBLIGO_ENOMEM;
    }
    obligo_free(*field);
    *field = NULL;
    return 0;
}

char *decode_text_problem(const char *text, size_t len, int *oom)
{
    json_text_problem what;
    long at = json_text_check(text, len, &what);
    char *why = NULL;
    if (what == JSON_TEXT_RAW_CONTROL)
        why = obligo_asprintf("not valid JSON: a raw control character (0x%02X) at byte %ld; "
                              "inside a string write it escaped (\\n, \\t, \\u001f)",
                              (unsigned)(unsigned char)text[at], at + 1);
    else if (what == JSON_TEXT_ESCAPED_NUL)
        why = obligo_asprintf("a string holds \\u0000 at byte %ld: strings may not contain "
                              "U+0000, which could not be kept",
                              at + 1);
    *oom = what != JSON_TEXT_OK && !why;
    return why;
}

char *decode_json_problem(const char *text, size_t len, char **field, int *oom)
{
    *field = NULL;
    char *why = decode_text_problem(text, len, oom);
    if (why || *oom)
        return why;
    cJSON *doc = cJSON_ParseWithLength(text, len);
    if (!doc)
        return NULL; /* not JSON: the adapter says so in its own words */
    int rc = json_tree_check(doc, field, &why);
    cJSON_Delete(doc);
    *oom = rc == OBLIGO_ENOMEM;
    return why;
}

cJSON *decode_event(const decode_rules *how, const char *raw, size_t len, char **field,
                    char **reason)
{
    *field = NULL;
    *reason = NULL;
    if (len > how->max_event_bytes) {
        *reason = obligo_asprintf("event is %zu bytes, more than the limit of %zu", len,
                                  how->max_event_bytes);
        return NULL;
    }
    int oom = 0;
    if ((*reason = decode_text_problem(raw, len, &oom)) || oom)
        return NULL;
    const char *end = NULL;
    cJSON *ev = cJSON_ParseWithLengthOpts(raw, len, &end, 0);
    if (ev) {
        /* cJSON stops at the end of the first value: anything after it but
         * blanks means the input was not one JSON value. */
        while (end && (size_t)(end - raw) < len &&
               (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
            end++;
        if (end && (size_t)(end - raw) < len) {
            *reason = obligo_asprintf("not valid JSON: unexpected text at byte %zu",
                                      (size_t)(end - raw) + 1);
            cJSON_Delete(ev);
            return NULL;
        }
    } else {
        /* cJSON leaves the error's position in end (its global error
         * pointer is shared by every thread that parses) */
        const char *at = end;
        size_t off = at && at >= raw && at <= raw + len ? (size_t)(at - raw) : 0;
        *reason = obligo_asprintf("not valid JSON (error near byte %zu)", off + 1);
        return NULL;
    }
    /* Before validation: a schema would read the first of two "id"s, or
     * the infinity cJSON made of 1e400. */
    int trc = json_tree_check(ev, field, reason);
    if (trc) {
        if (trc == OBLIGO_ENOMEM)
            *reason = obligo_strdup("out of memory while validating");
        cJSON_Delete(ev);
        return NULL;
    }
    trc = decode_data_base64(ev, field, reason);
    if (trc) {
        if (trc == OBLIGO_ENOMEM) {
            obligo_free(*field);
            obligo_free(*reason);
            *field = NULL;
            *reason = obligo_strdup("out of memory while validating");
        }
        cJSON_Delete(ev);
        return NULL;
    }
    validate_result vr = {0};
    int rc = validate_event(ev, how->catalogue, how->allow_unknown_types, &vr);
    if (rc) {
        if (rc == OBLIGO_ENOMEM) {
            *reason = obligo_strdup("out of memory while validating");
        } else {
            *field = vr.field ? obligo_strdup(vr.field) : NULL;
            *reason = obligo_strdup(vr.message ? vr.message : "invalid event");
        }
        validate_result_clear(&vr);
        cJSON_Delete(ev);
        return NULL;
    }
    return ev;
}
