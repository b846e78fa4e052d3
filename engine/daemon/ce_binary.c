/*
 * ce_binary.c — binary-mode CloudEvents to structured JSON (ce_binary.h).
 */
#include "ce_binary.h"

#include "alloc.h"
#include "base64.h"
#include "decode.h"
#include "error.h"
#include "text.h"
#include "validate.h"

#include <cjson/cJSON.h>
#include <string.h>

int ce_binary_is(const http_header *headers, int n, const char *media_type)
{
    if (!http_header_find(headers, n, "ce-specversion"))
        return 0;
    return strcmp(media_type, "application/cloudevents+json") != 0 &&
           strncmp(media_type, "application/cloudevents", 23) != 0 &&
           strcmp(media_type, "application/x-ndjson") != 0;
}

/* The percent-decoded value (caller frees), or NULL with *why (static) set;
 * *why NULL then means out of memory. */
static char *percent_decode(const char *v, const char **why)
{
    size_t n = strlen(v);
    char *out = obligo_malloc(n + 1);
    *why = NULL;
    if (!out)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] != '%') {
            out[w++] = v[i];
            continue;
        }
        int hi = i + 2 < n ? text_hex_value(v[i + 1]) : -1;
        int lo = hi >= 0 ? text_hex_value(v[i + 2]) : -1;
        if (lo < 0) {
            *why = "a % in it is not followed by two hex digits (values are percent-encoded, "
                   "RFC 3986 2.1)";
            obligo_free(out);
            return NULL;
        }
        if (hi == 0 && lo == 0) {
            *why = "it holds %00 (NUL), which an attribute may not";
            obligo_free(out);
            return NULL;
        }
        out[w++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[w] = '\0';
    if (validate_text_bad(out, w) >= 0) {
        *why = "it is not UTF-8 once percent-decoded";
        obligo_free(out);
        return NULL;
    }
    return out;
}

static int fail(char **field, char **reason, const char *f, char *why)
{
    *field = obligo_strdup(f);
    *reason = why;
    if (!*field || !*reason) {
        obligo_free(*field);
        obligo_free(*reason);
        *field = *reason = NULL;
        return OBLIGO_ENOMEM;
    }
    return OBLIGO_EINVAL;
}

/* Adds the attribute of header h to o. 0, or as ce_binary_to_json. */
static int add_attribute(cJSON *o, const http_header *headers, int n, const http_header *h,
                         char **field, char **reason)
{
    const char *name = h->name + 3;
    if (!*name)
        return fail(field, reason, h->name,
                    obligo_strdup("a ce- header must name an attribute (ce-id, ce-source, ...)"));
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            return fail(field, reason, h->name,
                        obligo_asprintf("%s does not name a CloudEvents attribute: attribute "
                                        "names are lower-case letters and digits",
                                        h->name));
    if (strcmp(name, "data") == 0 || strcmp(name, "datacontenttype") == 0)
        return fail(field, reason, h->name,
                    obligo_asprintf("%s is not an attribute in binary mode: the data is the body "
                                    "and its type the Content-Type",
                                    h->name));
    if (http_header_count(headers, n, h->name) > 1)
        return fail(
            field, reason, h->name,
            obligo_asprintf("more than one %s header: an attribute has one value", h->name));
    const char *why;
    char *value = percent_decode(h->value, &why);
    if (!value)
        return why ? fail(field, reason, h->name, obligo_asprintf("%s: %s", h->name, why))
                   : OBLIGO_ENOMEM;
    cJSON *s = cJSON_CreateString(value);
    obligo_free(value);
    if (!s || !cJSON_AddItemToObject(o, name, s)) {
        cJSON_Delete(s);
        return OBLIGO_ENOMEM;
    }
    return 0;
}

int ce_binary_to_json(const http_header *headers, int n, const char *content_type_raw,
                      const char *body, size_t body_len, char **json, size_t *json_len,
                      char **field, char **reason)
{
    *json = NULL;
    *json_len = 0;
    *field = *reason = NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return OBLIGO_ENOMEM;
    /* the context attributes first, in the spec's order, then extensions
     * as they came */
    static const char *const order[] = {"ce-specversion", "ce-id",   "ce-source",    "ce-type",
                                        "ce-subject",     "ce-time", "ce-dataschema"};
    int rc = 0;
    for (size_t k = 0; k < sizeof order / sizeof order[0] && !rc; k++)
        for (int i = 0; i < n && !rc; i++)
            if (strcmp(headers[i].name, order[k]) == 0) {
                rc = add_attribute(o, headers, n, &headers[i], field, reason);
                break;
            }
    for (int i = 0; i < n && !rc; i++) {
        if (strncmp(headers[i].name, "ce-", 3) != 0)
            continue;
        int known = 0;
        for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
            known |= strcmp(headers[i].name, order[k]) == 0;
        if (known || cJSON_GetObjectItemCaseSensitive(o, headers[i].name + 3))
            continue; /* added above; a second line of the same name was refused there */
        rc = add_attribute(o, headers, n, &headers[i], field, reason);
    }
    if (!rc && content_type_raw && *content_type_raw) {
        /* a Content-Type value is not percent-encoded: as sent */
        if (!cJSON_AddStringToObject(o, "datacontenttype", content_type_raw))
            rc = OBLIGO_ENOMEM;
    }
    int json_body = content_type_raw && *content_type_raw && decode_media_is_json(content_type_raw);
    /* the body as data: JSON spliced in as sent (numbers keep their
     * digits), anything else as base64 */
    const char *a = body, *b = body + body_len;
    while (a < b && (*a == ' ' || *a == '\t' || *a == '\r' || *a == '\n'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r' || b[-1] == '\n'))
        b--;
    if (!rc && body_len > 0 && !json_body) {
        char *b64 = base64_encode(body, body_len, NULL);
        if (!b64 || !cJSON_AddStringToObject(o, "data_base64", b64))
            rc = OBLIGO_ENOMEM;
        obligo_free(b64);
    }
    if (!rc && json_body && a < b) {
        int oom = 0;
        char *why = decode_text_problem(a, (size_t)(b - a), &oom);
        const char *end = NULL;
        cJSON *probe = why || oom ? NULL : cJSON_ParseWithLengthOpts(a, (size_t)(b - a), &end, 0);
        if (oom)
            rc = OBLIGO_ENOMEM;
        else if (!probe || end != b)
            rc = fail(field, reason, "data",
                      obligo_asprintf("the body is not valid JSON, which its Content-Type %s "
                                      "says it is%s%s",
                                      content_type_raw, why ? ": " : "", why ? why : ""));
        cJSON_Delete(probe);
        obligo_free(why);
    }
    char *text = rc ? NULL : cJSON_PrintUnformatted(o);
    int members = o->child != NULL;
    cJSON_Delete(o);
    if (rc)
        return rc;
    if (!text)
        return OBLIGO_ENOMEM;
    size_t tlen = strlen(text);
    if (!json_body || a == b) {
        *json = obligo_strndup(text, tlen);
        cJSON_free(text);
        if (!*json)
            return OBLIGO_ENOMEM;
        *json_len = tlen;
        return 0;
    }
    /* "{...}" without its '}', then ,"data":BODY} */
    size_t blen = (size_t)(b - a);
    size_t len = tlen - 1 + (members ? 1 : 0) + 7 + blen + 1;
    char *out = obligo_malloc(len + 1);
    if (!out) {
        cJSON_free(text);
        return OBLIGO_ENOMEM;
    }
    char *w = out;
    memcpy(w, text, tlen - 1);
    w += tlen - 1;
    cJSON_free(text);
    if (members)
        *w++ = ',';
    memcpy(w, "\"data\":", 7);
    w += 7;
    memcpy(w, a, blen);
    w += blen;
    *w++ = '}';
    *w = '\0';
    *json = out;
    *json_len = len;
    return 0;
}

char *ce_binary_field(const char *field)
{
    if (!field)
        return NULL;
    if (strcmp(field, "datacontenttype") == 0)
        return obligo_strdup("content-type");
    if (strcmp(field, "data_base64") == 0)
        return obligo_strdup("data");
    if (!*field || strncmp(field, "data", 4) == 0 || strncmp(field, "ce-", 3) == 0 ||
        strcmp(field, "content-type") == 0 || strpbrk(field, ".["))
        return obligo_strdup(field);
    return obligo_asprintf("ce-%s", field);
}

char *ce_binary_message(const http_header *headers, int n, const char *body, size_t body_len,
                        size_t *len)
{
    size_t need = 2 + body_len;
    for (int i = 0; i < n; i++)
        if (strncmp(headers[i].name, "ce-", 3) == 0 || strcmp(headers[i].name, "content-type") == 0)
            need += strlen(headers[i].name) + 2 + strlen(headers[i].value) + 2;
    char *out = obligo_malloc(need + 1);
    if (!out)
        return NULL;
    char *w = out;
    for (int i = 0; i < n; i++) {
        if (strncmp(headers[i].name, "ce-", 3) != 0 && strcmp(headers[i].name, "content-type") != 0)
            continue;
        size_t k = strlen(headers[i].name), v = strlen(headers[i].value);
        memcpy(w, headers[i].name, k);
        w += k;
        memcpy(w, ": ", 2);
        w += 2;
        memcpy(w, headers[i].value, v);
        w += v;
        memcpy(w, "\r\n", 2);
        w += 2;
    }
    memcpy(w, "\r\n", 2);
    w += 2;
    if (body_len)
        memcpy(w, body, body_len);
    w += body_len;
    *w = '\0';
    *len = need;
    return out;
}
