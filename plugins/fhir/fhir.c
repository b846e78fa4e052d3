/*
 * fhir.c — the "fhir" input adapter: FHIR R4 AuditEvent resources, one at a
 * time or in a Bundle, turned into nl.nen7513.access CloudEvents.
 *
 * Where it sits in the pipeline: `obligo ingest --format fhir` and
 * POST /v1/fhir/AuditEvent (application/fhir+json) hand the raw body to
 * fhir_convert. It checks every resource first and only then emits one
 * CloudEvent per AuditEvent, so a Bundle is taken whole or not at all; the
 * engine then checks each event against the catalogue like any other. On
 * bad input it answers with a FHIR OperationOutcome that names the element
 * (a FHIRPath such as "Bundle.entry[2].resource.entity"; indexes count from
 * 0, as in FHIRPath).
 *
 * Depends on: obligo/plugin.h (the only Obligo header a plugin may use) and
 * cJSON, which the host uses too. The plugin never calls cJSON_InitHooks:
 * the hooks are process-wide and belong to the host. Everything handed to
 * the host (errors, the OperationOutcome, the state) comes from api->alloc;
 * the event text handed to emit is borrowed and freed here.
 *
 * The mapping, AuditEvent (R4) → nl.nen7513.access, element by element with
 * examples, and the extensions of ours (FHIR_EXTENSION_BASE below) are
 * documented in the README ("FHIR AuditEvent mapping"); keep the two in
 * step. In short: id (or, without one, the SHA-256 of the resource's
 * canonical JSON) → id; source.observer → source and data.system;
 * recorded → time; the Patient entity → subject and data.client_id; the
 * requesting agent → data.user; action/subtype → data.action; outcome →
 * data.outcome; ETREAT or BTG of v3-ActReason in purposeOfEvent or the
 * agent's purposeOfUse → data.emergency, their text → data.reason; our
 * extensions → treatment_relation, authentication, vip, on_behalf_of.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "obligo/plugin.h"

#define FHIR_PATH_MAX 256
#define FHIR_MESSAGE_MAX 768
/* Longer references are refused rather than truncated. */
#define FHIR_REFERENCE_MAX 1024

#define FHIR_ACT_REASON_R4 "http://terminology.hl7.org/CodeSystem/v3-ActReason"
#define FHIR_ACT_REASON_OLD "http://hl7.org/fhir/v3/ActReason"
#define FHIR_ACT_REASON_OID "urn:oid:2.16.840.1.113883.5.8"

/* Our extensions: FHIR_EXTENSION_BASE followed by a name of fhir_extensions. */
#define FHIR_EXTENSION_BASE "https://obligo.nl/fhir/StructureDefinition/"

/* A FHIR id holds at most 64 characters: a SHA-256 in hex. */
#define FHIR_DERIVED_ID_LEN 64

/* The plugin's state: the host's table, kept for alloc and free. */
typedef struct fhir_state {
    const obligo_host_api *api;
    obligo_host *host;
} fhir_state;

/* The first thing wrong with the input: an OperationOutcome issue. */
typedef struct fhir_error {
    const char *code; /* FHIR issue type: invalid, required, value, exception */
    char path[FHIR_PATH_MAX];
    char message[FHIR_MESSAGE_MAX];
} fhir_error;

/* What one AuditEvent says, pointing into the parsed input or into the
 * reference buffers. */
typedef struct fhir_access {
    const char *id, *time, *source_text, *system;
    const char *user_id, *user_role, *user_name;
    const char *client_id, *action, *outcome, *reason;
    const char *authentication, *on_behalf_of;
    int emergency;
    int treatment_relation, vip; /* -1: not said, else 0 or 1 */
    char id_buf[FHIR_DERIVED_ID_LEN + 1];
    char observer_buf[FHIR_REFERENCE_MAX];
    char behalf_buf[FHIR_REFERENCE_MAX];
    char user_buf[FHIR_REFERENCE_MAX];
    char client_buf[FHIR_REFERENCE_MAX];
} fhir_access;

/* ---- errors and paths ------------------------------------------------------ */

/* Records the error and returns -1, so that callers can `return fhir_fail(...)`. */
__attribute__((format(printf, 4, 5))) static int fhir_fail(fhir_error *e, const char *code,
                                                           const char *path, const char *fmt, ...)
{
    va_list ap;
    e->code = code;
    snprintf(e->path, sizeof e->path, "%s", path);
    va_start(ap, fmt);
    /* ap was started just above: clang 14's analyzer reports it uninitialized
     * here with no path, and only when run with the other checks. */
    /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): false positive */
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

/* base followed by a formatted suffix, in buf (FHIR_PATH_MAX bytes). */
__attribute__((format(printf, 3, 4))) static char *fhir_at(char *buf, const char *base,
                                                           const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(buf, FHIR_PATH_MAX, "%s", base);
    if (n >= 0 && n < FHIR_PATH_MAX) {
        va_start(ap, fmt);
        /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): as in fhir_fail */
        vsnprintf(buf + n, (size_t)(FHIR_PATH_MAX - n), fmt, ap);
        va_end(ap);
    }
    return buf;
}

/* ---- reading JSON with errors that name the element ------------------------ */

/* obj[key] as a non-empty string: returns 1 with *out set; 0 when it is
 * absent, null or "" (FHIR forbids empty strings; they count as absent);
 * -1 with an error at base.key when it is another JSON type. */
static int fhir_string(fhir_error *e, const cJSON *obj, const char *base, const char *key,
                       const char **out)
{
    char at[FHIR_PATH_MAX];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return fhir_fail(e, "invalid", fhir_at(at, base, ".%s", key), "%s must be a JSON string.",
                         at);
    if (v->valuestring[0] == '\0')
        return 0;
    *out = v->valuestring;
    return 1;
}

/* obj[key] as an object: 1, 0 (absent or null) or -1 (another type). */
static int fhir_object(fhir_error *e, const cJSON *obj, const char *base, const char *key,
                       const cJSON **out)
{
    char at[FHIR_PATH_MAX];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsObject(v))
        return fhir_fail(e, "invalid", fhir_at(at, base, ".%s", key), "%s must be a JSON object.",
                         at);
    *out = v;
    return 1;
}

/* obj[key] as an array: 1 (non-empty), 0 (absent, null or []) or -1. */
static int fhir_array(fhir_error *e, const cJSON *obj, const char *base, const char *key,
                      const cJSON **out)
{
    char at[FHIR_PATH_MAX];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsArray(v))
        return fhir_fail(e, "invalid", fhir_at(at, base, ".%s", key), "%s must be a JSON array.",
                         at);
    if (!v->child)
        return 0;
    *out = v;
    return 1;
}

/* Element i of an array that must hold objects: 0 or -1 (an error at
 * base.key[i]). */
static int fhir_element(fhir_error *e, const cJSON *item, const char *base, const char *key, int i)
{
    char at[FHIR_PATH_MAX];
    if (cJSON_IsObject(item))
        return 0;
    return fhir_fail(e, "invalid", fhir_at(at, base, ".%s[%d]", key, i),
                     "%s must be a JSON object.", at);
}

/* ---- values ---------------------------------------------------------------- */

static int fhir_digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        *v = *v * 10 + (s[i] - '0');
    }
    return 1;
}

/* Checks a FHIR instant, YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm|-hh:mm), which is
 * also an RFC 3339 date-time. Returns 0 when valid, 1 when it is a valid
 * date-time without a zone, -1 otherwise. */
static int fhir_instant(const char *s)
{
    static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec, oh, om, dim;
    const char *p;
    if (!fhir_digits(s, 4, &y) || s[4] != '-' || !fhir_digits(s + 5, 2, &mo) || s[7] != '-' ||
        !fhir_digits(s + 8, 2, &d) || s[10] != 'T' || !fhir_digits(s + 11, 2, &h) || s[13] != ':' ||
        !fhir_digits(s + 14, 2, &mi) || s[16] != ':' || !fhir_digits(s + 17, 2, &sec))
        return -1;
    /* seconds may be 60: RFC 3339 and FHIR both allow a leap second */
    if (y < 1 || mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 60)
        return -1;
    dim = month_days[mo - 1] + (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    if (d < 1 || d > dim)
        return -1;
    p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == '\0')
        return 1;
    if (*p == 'Z')
        return p[1] == '\0' ? 0 : -1;
    if ((*p == '+' || *p == '-') && fhir_digits(p + 1, 2, &oh) && p[3] == ':' &&
        fhir_digits(p + 4, 2, &om) && p[6] == '\0' && om <= 59 &&
        (oh < 14 || (oh == 14 && om == 0)))
        return 0;
    return -1;
}

/* Splits a FHIR reference — "Patient/123", "https://host/fhir/Patient/123"
 * or "Patient/123/_history/2" — into its resource type and id, both pointing
 * into buf (FHIR_REFERENCE_MAX bytes). The type is "" when the reference
 * has no '/' (a bare id, or "#contained"). Returns -1 when the reference is
 * too long for buf. */
static int fhir_reference(const char *ref, char *buf, const char **type, const char **id)
{
    char *slash, *history;
    size_t n = strlen(ref);
    if (n >= FHIR_REFERENCE_MAX)
        return -1;
    memcpy(buf, ref, n + 1);
    history = strstr(buf, "/_history/");
    if (history)
        *history = '\0';
    slash = strrchr(buf, '/');
    if (!slash) {
        *type = "";
        *id = buf[0] == '#' ? buf + 1 : buf;
        return 0;
    }
    *slash = '\0';
    *id = slash + 1;
    slash = strrchr(buf, '/');
    *type = slash ? slash + 1 : buf;
    return 0;
}

/* Whether a URN may hold c as it is (RFC 8141: unreserved, sub-delims,
 * ':', '@' and '/'); anything else is percent-encoded. */
static int fhir_urn_keeps(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("-._~!$&'()*+,;=:@/", c));
}

/* "urn:fhir:" followed by s, percent-encoding what a URN may not hold.
 * Caller frees (malloc); NULL when out of memory. */
static char *fhir_urn(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(sizeof "urn:fhir:" + 3 * n), *p;
    if (!out)
        return NULL;
    memcpy(out, "urn:fhir:", sizeof "urn:fhir:" - 1);
    p = out + sizeof "urn:fhir:" - 1;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (fhir_urn_keeps(*c)) {
            *p++ = (char)*c;
        } else {
            *p++ = '%';
            *p++ = hex[*c >> 4];
            *p++ = hex[*c & 15];
        }
    }
    *p = '\0';
    return out;
}

/* ---- one AuditEvent -------------------------------------------------------- */

/* Reads a list of CodeableConcepts (purposeOfEvent, purposeOfUse): sets
 * *etreat when a coding is v3-ActReason ETREAT (emergency treatment) or BTG
 * (break the glass), and *text to the first text found (when still NULL). */
static int fhir_purposes(fhir_error *e, const cJSON *obj, const char *base, const char *key,
                         int *etreat, const char **text)
{
    char at[FHIR_PATH_MAX], cat[FHIR_PATH_MAX];
    const cJSON *list, *codings, *concept, *coding;
    const char *system, *code, *t;
    int i = 0, j;
    if (fhir_array(e, obj, base, key, &list) < 0)
        return -1;
    if (!list)
        return 0;
    cJSON_ArrayForEach(concept, list)
    {
        if (fhir_element(e, concept, base, key, i) < 0)
            return -1;
        fhir_at(at, base, ".%s[%d]", key, i);
        if (fhir_string(e, concept, at, "text", &t) < 0 ||
            fhir_array(e, concept, at, "coding", &codings) < 0)
            return -1;
        if (t && !*text)
            *text = t;
        j = 0;
        cJSON_ArrayForEach(coding, codings)
        {
            if (fhir_element(e, coding, at, "coding", j) < 0)
                return -1;
            fhir_at(cat, at, ".coding[%d]", j);
            if (fhir_string(e, coding, cat, "system", &system) < 0 ||
                fhir_string(e, coding, cat, "code", &code) < 0)
                return -1;
            if (system && code && (strcmp(code, "ETREAT") == 0 || strcmp(code, "BTG") == 0) &&
                (strcmp(system, FHIR_ACT_REASON_R4) == 0 ||
                 strcmp(system, FHIR_ACT_REASON_OLD) == 0 ||
                 strcmp(system, FHIR_ACT_REASON_OID) == 0))
                *etreat = 1;
            j++;
        }
        i++;
    }
    return 0;
}

/* ---- our extensions -------------------------------------------------------- */

/* Where an extension of ours may stand. */
enum { FHIR_ON_EVENT = 1, FHIR_ON_AGENT = 2, FHIR_ON_PATIENT = 4 };

enum { FHIR_X_TREATMENT, FHIR_X_AUTHENTICATION, FHIR_X_VIP, FHIR_X_ON_BEHALF_OF };

static const struct {
    const char *name; /* after FHIR_EXTENSION_BASE */
    int kind;         /* FHIR_X_* */
    int where;        /* FHIR_ON_* */
    const char *place;
} fhir_extensions[] = {
    {"treatment-relation", FHIR_X_TREATMENT, FHIR_ON_EVENT | FHIR_ON_AGENT,
     "the AuditEvent or the requesting agent"},
    {"authentication", FHIR_X_AUTHENTICATION, FHIR_ON_EVENT | FHIR_ON_AGENT,
     "the AuditEvent or the requesting agent"},
    {"vip", FHIR_X_VIP, FHIR_ON_EVENT | FHIR_ON_PATIENT,
     "the AuditEvent or the entity of the Patient"},
    {"on-behalf-of", FHIR_X_ON_BEHALF_OF, FHIR_ON_EVENT | FHIR_ON_AGENT,
     "the AuditEvent or the requesting agent"},
    {NULL, 0, 0, NULL},
};

static const char *const fhir_authentications[] = {"password", "2fa", "uzi", NULL};

/* ext.valueBoolean (ext at path at): 0 or 1, or -1 with an error. */
static int fhir_value_boolean(fhir_error *e, const cJSON *ext, const char *at, const char *url)
{
    char vat[FHIR_PATH_MAX];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ext, "valueBoolean");
    fhir_at(vat, at, ".valueBoolean");
    if (!v || cJSON_IsNull(v))
        return fhir_fail(e, "required", vat,
                         "%s is required: the extension %s holds true or false.", vat, url);
    if (!cJSON_IsBool(v))
        return fhir_fail(e, "invalid", vat, "%s must be true or false.", vat);
    return cJSON_IsTrue(v) ? 1 : 0;
}

/* The on-behalf-of extension: valueReference "Practitioner/<id>" (or
 * PractitionerRole) or valueString; the id in *out. */
static int fhir_value_user(fhir_error *e, const cJSON *ext, const char *at, fhir_access *a)
{
    char vat[FHIR_PATH_MAX], rat[FHIR_PATH_MAX];
    const cJSON *reference;
    const char *text, *type, *id;
    if (fhir_string(e, ext, at, "valueString", &text) < 0 ||
        fhir_object(e, ext, at, "valueReference", &reference) < 0)
        return -1;
    if (reference) {
        fhir_at(vat, at, ".valueReference");
        if (fhir_string(e, reference, vat, "reference", &text) < 0)
            return -1;
        fhir_at(rat, vat, ".reference");
        if (!text)
            return fhir_fail(e, "required", rat,
                             "%s is required: the user on whose behalf the record was accessed "
                             "(\"Practitioner/<id>\").",
                             rat);
        if (fhir_reference(text, a->behalf_buf, &type, &id) < 0 || !*id ||
            (*type && strcmp(type, "Practitioner") != 0 && strcmp(type, "PractitionerRole") != 0))
            return fhir_fail(e, "value", rat,
                             "%s \"%.64s\" does not name a user: write \"Practitioner/<id>\" or "
                             "\"PractitionerRole/<id>\".",
                             rat, text);
        a->on_behalf_of = id;
        return 0;
    }
    if (!text)
        return fhir_fail(e, "required", fhir_at(vat, at, ".valueReference"),
                         "%s (or valueString) is required: the user on whose behalf the record "
                         "was accessed.",
                         vat);
    a->on_behalf_of = text;
    return 0;
}

/* Reads obj.extension (obj at path base, standing at `where`): ours set
 * fields of a, others are ignored; one of ours in the wrong place, with a
 * name we do not define or a wrong value is refused. */
static int fhir_read_extensions(fhir_error *e, const cJSON *obj, const char *base, int where,
                                fhir_access *a)
{
    char at[FHIR_PATH_MAX], vat[FHIR_PATH_MAX];
    const cJSON *list, *ext;
    const char *url, *code;
    int i = 0, k, v;
    if (fhir_array(e, obj, base, "extension", &list) < 0)
        return -1;
    if (!list)
        return 0;
    cJSON_ArrayForEach(ext, list)
    {
        if (fhir_element(e, ext, base, "extension", i) < 0)
            return -1;
        fhir_at(at, base, ".extension[%d]", i);
        i++;
        if (fhir_string(e, ext, at, "url", &url) < 0)
            return -1;
        if (!url)
            return fhir_fail(e, "required", fhir_at(vat, at, ".url"),
                             "%s is required: every extension names its definition.", vat);
        if (strncmp(url, FHIR_EXTENSION_BASE, sizeof FHIR_EXTENSION_BASE - 1) != 0)
            continue;
        for (k = 0; fhir_extensions[k].name; k++)
            if (strcmp(url + sizeof FHIR_EXTENSION_BASE - 1, fhir_extensions[k].name) == 0)
                break;
        if (!fhir_extensions[k].name)
            return fhir_fail(e, "value", fhir_at(vat, at, ".url"),
                             "%s \"%.128s\" is not an extension Obligo defines: "
                             "%streatment-relation, authentication, vip or on-behalf-of.",
                             vat, url, FHIR_EXTENSION_BASE);
        if (!(fhir_extensions[k].where & where))
            return fhir_fail(e, "structure", at, "%s: the extension %s belongs on %s.", at, url,
                             fhir_extensions[k].place);
        switch (fhir_extensions[k].kind) {
        case FHIR_X_TREATMENT:
            if ((v = fhir_value_boolean(e, ext, at, url)) < 0)
                return -1;
            a->treatment_relation = v;
            break;
        case FHIR_X_VIP:
            if ((v = fhir_value_boolean(e, ext, at, url)) < 0)
                return -1;
            a->vip = v;
            break;
        case FHIR_X_AUTHENTICATION:
            if (fhir_string(e, ext, at, "valueCode", &code) < 0)
                return -1;
            fhir_at(vat, at, ".valueCode");
            if (!code)
                return fhir_fail(e, "required", vat,
                                 "%s is required: password, 2fa or uzi (how the user signed in).",
                                 vat);
            for (v = 0; fhir_authentications[v]; v++)
                if (strcmp(code, fhir_authentications[v]) == 0)
                    break;
            if (!fhir_authentications[v])
                return fhir_fail(e, "code-invalid", vat,
                                 "%s \"%.32s\" is not one of password, 2fa or uzi.", vat, code);
            a->authentication = fhir_authentications[v];
            break;
        default: /* FHIR_X_ON_BEHALF_OF */
            if (fhir_value_user(e, ext, at, a) < 0)
                return -1;
            break;
        }
    }
    return 0;
}

/* ---- an id from the content ------------------------------------------------ */

static int fhir_member_order(const void *x, const void *y)
{
    const cJSON *a = *(const cJSON *const *)x, *b = *(const cJSON *const *)y;
    return strcmp(a->string, b->string);
}

/* Sorts the members of every object in j by name (byte order, which for
 * UTF-8 is code point order), at any depth. -1 when out of memory. */
static int fhir_canonical(cJSON *j)
{
    cJSON *c, **items;
    int n = 0, i;
    for (c = j->child; c; c = c->next)
        if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && fhir_canonical(c) < 0)
            return -1;
    if (!cJSON_IsObject(j) || !j->child)
        return 0;
    for (c = j->child; c; c = c->next)
        n++;
    items = malloc((size_t)n * sizeof(cJSON *));
    if (!items)
        return -1;
    for (i = 0, c = j->child; c; c = c->next)
        items[i++] = c;
    qsort(items, (size_t)n, sizeof(cJSON *), fhir_member_order);
    /* cJSON's list: next to the end, the first's prev is the last */
    for (i = 0; i < n; i++) {
        items[i]->next = i + 1 < n ? items[i + 1] : NULL;
        items[i]->prev = i ? items[i - 1] : items[n - 1];
    }
    j->child = items[0];
    free(items);
    return 0;
}

/* The id of a resource sent without one: the SHA-256 (hex) of its
 * canonical JSON (members sorted by name at every depth, no blanks, as
 * cJSON prints it), so sending it again is the same event. */
static int fhir_derive_id(fhir_error *e, const cJSON *r, const char *base, fhir_access *a)
{
    static const char hex[] = "0123456789abcdef";
    cJSON *copy = cJSON_Duplicate(r, 1);
    char *text = NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int ok = copy && fhir_canonical(copy) == 0 && (text = cJSON_PrintUnformatted(copy)) &&
             EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL) == 1 &&
             mdlen * 2 == FHIR_DERIVED_ID_LEN;
    cJSON_free(text);
    cJSON_Delete(copy);
    if (!ok)
        return fhir_fail(e, "exception", base, "Out of memory while deriving the id of %s.", base);
    for (size_t i = 0; i < mdlen; i++) {
        a->id_buf[2 * i] = hex[md[i] >> 4];
        a->id_buf[2 * i + 1] = hex[md[i] & 15];
    }
    a->id_buf[FHIR_DERIVED_ID_LEN] = '\0';
    a->id = a->id_buf;
    return 0;
}

static int fhir_read_id_and_time(fhir_error *e, const cJSON *r, const char *base, fhir_access *a)
{
    char at[FHIR_PATH_MAX];
    /* Without an id (a FHIR create) the id is derived from the content once
     * the resource is known to be valid (fhir_derive_id). */
    if (fhir_string(e, r, base, "id", &a->id) < 0)
        return -1;
    if (fhir_string(e, r, base, "recorded", &a->time) < 0)
        return -1;
    fhir_at(at, base, ".recorded");
    if (!a->time)
        return fhir_fail(e, "required", at,
                         "%s is required: the instant of the access, with Z or an offset (e.g. "
                         "2026-02-02T09:15:00+01:00).",
                         at);
    switch (fhir_instant(a->time)) {
    case 0:
        return 0;
    case 1:
        return fhir_fail(e, "value", at,
                         "%s \"%.64s\" has no time zone: add Z or an offset such as +01:00, "
                         "otherwise the moment of the access is ambiguous.",
                         at, a->time);
    default:
        return fhir_fail(e, "value", at,
                         "%s \"%.64s\" is not a FHIR instant: write "
                         "YYYY-MM-DDThh:mm:ss[.fff] with Z or an offset, e.g. "
                         "2026-02-02T09:15:00+01:00.",
                         at, a->time);
    }
}

static const struct {
    const char *code, *action;
} fhir_actions[] = {{"C", "create"}, {"R", "read"}, {"U", "update"}, {"D", "delete"}, {NULL, NULL}};

/* The subtype codes that say what an E (execute) action was. */
static const struct {
    const char *code, *action;
} fhir_subtypes[] = {{"search", "search"},        {"search-type", "search"},
                     {"search-system", "search"}, {"export", "export"},
                     {"print", "print"},          {"copy", "copy"},
                     {"merge", "merge"},          {NULL, NULL}};

static int fhir_read_action(fhir_error *e, const cJSON *r, const char *base, fhir_access *a)
{
    char at[FHIR_PATH_MAX], cat[FHIR_PATH_MAX];
    const cJSON *subtypes, *coding;
    const char *action, *code;
    int i = 0;
    if (fhir_string(e, r, base, "action", &action) < 0)
        return -1;
    fhir_at(at, base, ".action");
    if (!action)
        return fhir_fail(e, "required", at,
                         "%s is required: C (create), R (read), U (update), D (delete) or E "
                         "(execute, with a subtype search, export, print, copy or merge).",
                         at);
    for (int k = 0; fhir_actions[k].code; k++)
        if (strcmp(action, fhir_actions[k].code) == 0) {
            a->action = fhir_actions[k].action;
            return 0;
        }
    if (strcmp(action, "E") != 0)
        return fhir_fail(e, "value", at, "%s \"%.16s\" is not one of C, R, U, D or E.", at, action);
    if (fhir_array(e, r, base, "subtype", &subtypes) < 0)
        return -1;
    fhir_at(at, base, ".subtype");
    if (!subtypes)
        return fhir_fail(e, "required", at,
                         "%s is required when action is E: give a code search, export, print, "
                         "copy or merge, so that Obligo knows what was done with the record.",
                         at);
    cJSON_ArrayForEach(coding, subtypes)
    {
        if (fhir_element(e, coding, base, "subtype", i) < 0)
            return -1;
        fhir_at(cat, base, ".subtype[%d]", i);
        if (fhir_string(e, coding, cat, "code", &code) < 0)
            return -1;
        for (int k = 0; code && fhir_subtypes[k].code; k++)
            if (strcmp(code, fhir_subtypes[k].code) == 0) {
                a->action = fhir_subtypes[k].action;
                return 0;
            }
        i++;
    }
    return fhir_fail(e, "value", at,
                     "%s has no code Obligo knows for action E: use search (or search-type, "
                     "search-system), export, print, copy or merge.",
                     at);
}

static int fhir_read_outcome(fhir_error *e, const cJSON *r, const char *base, fhir_access *a)
{
    char at[FHIR_PATH_MAX];
    const char *outcome;
    if (fhir_string(e, r, base, "outcome", &outcome) < 0)
        return -1;
    if (!outcome)
        return 0;
    if (strcmp(outcome, "0") == 0)
        a->outcome = "success";
    else if (strcmp(outcome, "4") == 0 || strcmp(outcome, "8") == 0 || strcmp(outcome, "12") == 0)
        a->outcome = "failure";
    else
        return fhir_fail(e, "value", fhir_at(at, base, ".outcome"),
                         "%s \"%.16s\" is not one of 0 (success), 4, 8 or 12 (failure).", at,
                         outcome);
    return 0;
}

/* The engine refuses a CloudEvent source over 1,024 bytes; the source is
 * "urn:fhir:" + the observer, percent-encoded (fhir_urn). */
#define FHIR_SOURCE_MAX 1024

static size_t fhir_urn_len(const char *s)
{
    size_t n = sizeof "urn:fhir:" - 1;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        n += fhir_urn_keeps(*c) ? 1 : 3;
    return n;
}

/* The observer names the CloudEvent source: refused here, naming the FHIR
 * element, when the source it makes would be too long for the engine. */
static int fhir_observer_fits(fhir_error *e, const char *text, const char *oat, const char *member)
{
    if (fhir_urn_len(text) <= FHIR_SOURCE_MAX)
        return 0;
    char at[FHIR_PATH_MAX];
    fhir_at(at, oat, "%s", member);
    return fhir_fail(
        e, "value", at,
        "%s is too long: it becomes the event's source \"urn:fhir:...\", which may "
        "hold at most %d bytes (characters outside A-Z, a-z, 0-9 and -._~!$&'()*+,;=:@/ "
        "count three).",
        at, FHIR_SOURCE_MAX);
}

static int fhir_read_observer(fhir_error *e, const cJSON *r, const char *base, fhir_access *a)
{
    char at[FHIR_PATH_MAX], oat[FHIR_PATH_MAX];
    const cJSON *source, *observer;
    const char *reference, *display, *type, *id;
    if (fhir_object(e, r, base, "source", &source) < 0)
        return -1;
    fhir_at(at, base, ".source");
    if (!source)
        return fhir_fail(e, "required", at,
                         "%s is required: source.observer names the system that recorded the "
                         "access (e.g. {\"observer\":{\"reference\":\"Device/ecd-1\"}}).",
                         at);
    if (fhir_object(e, source, at, "observer", &observer) < 0)
        return -1;
    fhir_at(oat, at, ".observer");
    if (!observer)
        return fhir_fail(e, "required", oat,
                         "%s is required: the system that recorded the access (e.g. "
                         "{\"reference\":\"Device/ecd-1\"}).",
                         oat);
    if (fhir_string(e, observer, oat, "reference", &reference) < 0 ||
        fhir_string(e, observer, oat, "display", &display) < 0)
        return -1;
    if (reference) {
        if (fhir_reference(reference, a->observer_buf, &type, &id) < 0 || !*id)
            return fhir_fail(e, "value", fhir_at(at, oat, ".reference"),
                             "%s \"%.64s\" is not a usable reference: write \"Device/<id>\".", at,
                             reference);
        if (fhir_observer_fits(e, reference, oat, ".reference") < 0)
            return -1;
        a->source_text = reference;
        a->system = id;
        return 0;
    }
    if (!display)
        return fhir_fail(e, "required", oat,
                         "%s needs a reference (e.g. \"Device/ecd-1\") or a display: it names "
                         "the system that recorded the access.",
                         oat);
    if (fhir_observer_fits(e, display, oat, ".display") < 0)
        return -1;
    a->source_text = display;
    a->system = display;
    return 0;
}

/* Picks the requesting agent (requestor true, else the first) and reads the
 * user from it. */
static int fhir_read_user(fhir_error *e, const cJSON *r, const char *base, fhir_access *a)
{
    char at[FHIR_PATH_MAX], wat[FHIR_PATH_MAX], rat[FHIR_PATH_MAX];
    const cJSON *agents, *agent, *chosen = NULL, *requestor, *who, *identifier, *roles, *role,
                                 *codings;
    const char *reference = NULL, *type = "", *id, *code, *text;
    int i = 0, k = 0, etreat = 0;
    if (fhir_array(e, r, base, "agent", &agents) < 0)
        return -1;
    if (!agents)
        return fhir_fail(e, "required", fhir_at(at, base, ".agent"),
                         "%s is required: at least the user who accessed the record (an agent "
                         "with requestor true and who.reference \"Practitioner/<id>\").",
                         at);
    cJSON_ArrayForEach(agent, agents)
    {
        if (fhir_element(e, agent, base, "agent", i) < 0)
            return -1;
        requestor = cJSON_GetObjectItemCaseSensitive(agent, "requestor");
        if (requestor && !cJSON_IsBool(requestor) && !cJSON_IsNull(requestor))
            return fhir_fail(e, "invalid", fhir_at(at, base, ".agent[%d].requestor", i),
                             "%s must be true or false.", at);
        if (!chosen && cJSON_IsTrue(requestor)) {
            chosen = agent;
            k = i;
        }
        i++;
    }
    if (!chosen)
        chosen = agents->child;
    fhir_at(at, base, ".agent[%d]", k);

    if (fhir_object(e, chosen, at, "who", &who) < 0)
        return -1;
    fhir_at(wat, at, ".who");
    if (!who)
        return fhir_fail(e, "required", wat,
                         "%s is required: the user who accessed the record (e.g. "
                         "{\"reference\":\"Practitioner/u-1042\"}).",
                         wat);
    if (fhir_string(e, who, wat, "reference", &reference) < 0 ||
        fhir_string(e, who, wat, "display", &a->user_name) < 0 ||
        fhir_object(e, who, wat, "identifier", &identifier) < 0)
        return -1;
    if (reference) {
        if (fhir_reference(reference, a->user_buf, &type, &id) < 0)
            return fhir_fail(e, "value", fhir_at(rat, wat, ".reference"),
                             "%s is longer than %d characters.", rat, FHIR_REFERENCE_MAX - 1);
        if (strcmp(type, "Practitioner") == 0 || strcmp(type, "PractitionerRole") == 0) {
            if (!*id)
                return fhir_fail(e, "value", fhir_at(rat, wat, ".reference"),
                                 "%s \"%.64s\" has no id: write \"%s/<id>\".", rat, reference,
                                 type);
            a->user_id = id;
        }
    }
    if (!a->user_id && identifier) {
        fhir_at(rat, wat, ".identifier");
        if (fhir_string(e, identifier, rat, "value", &a->user_id) < 0)
            return -1;
    }
    if (!a->user_id) {
        if (reference)
            return fhir_fail(e, "value", fhir_at(rat, wat, ".reference"),
                             "%s \"%.64s\" does not name a user: reference a Practitioner or "
                             "PractitionerRole, or give who.identifier.value.",
                             rat, reference);
        return fhir_fail(e, "required", wat,
                         "%s needs reference \"Practitioner/<id>\" (or \"PractitionerRole/<id>\") "
                         "or identifier.value: the id of the user who accessed the record.",
                         wat);
    }

    /* role[0]: its first coding's code, else its text */
    if (fhir_array(e, chosen, at, "role", &roles) < 0)
        return -1;
    if (roles) {
        role = roles->child;
        if (fhir_element(e, role, at, "role", 0) < 0)
            return -1;
        fhir_at(rat, at, ".role[0]");
        if (fhir_array(e, role, rat, "coding", &codings) < 0 ||
            fhir_string(e, role, rat, "text", &text) < 0)
            return -1;
        code = NULL;
        if (codings) {
            if (fhir_element(e, codings->child, rat, "coding", 0) < 0)
                return -1;
            fhir_at(wat, rat, ".coding[0]");
            if (fhir_string(e, codings->child, wat, "code", &code) < 0)
                return -1;
        }
        a->user_role = code ? code : text;
    }

    /* purposeOfUse: break-the-glass and the reason the user gave */
    if (fhir_purposes(e, chosen, at, "purposeOfUse", &etreat, &a->reason) < 0)
        return -1;
    /* our extensions on the agent say more than those on the AuditEvent */
    if (fhir_read_extensions(e, chosen, at, FHIR_ON_AGENT, a) < 0)
        return -1;
    if (etreat)
        a->emergency = 1;
    return 0;
}

static int fhir_read_client(fhir_error *e, const cJSON *r, const char *base, fhir_access *a)
{
    char at[FHIR_PATH_MAX], wat[FHIR_PATH_MAX];
    const cJSON *entities, *entity, *what, *identifier;
    const char *reference, *kind, *type, *id, *value;
    int i = 0;
    if (fhir_array(e, r, base, "entity", &entities) < 0)
        return -1;
    if (!entities)
        return fhir_fail(e, "required", fhir_at(at, base, ".entity"),
                         "%s is required: one entity's what must reference the client whose "
                         "record was accessed (\"Patient/<id>\").",
                         at);
    cJSON_ArrayForEach(entity, entities)
    {
        if (fhir_element(e, entity, base, "entity", i) < 0)
            return -1;
        fhir_at(at, base, ".entity[%d]", i);
        if (fhir_object(e, entity, at, "what", &what) < 0)
            return -1;
        i++;
        if (!what)
            continue;
        fhir_at(wat, at, ".what");
        if (fhir_string(e, what, wat, "reference", &reference) < 0 ||
            fhir_string(e, what, wat, "type", &kind) < 0)
            return -1;
        if (reference) {
            if (fhir_reference(reference, a->client_buf, &type, &id) < 0)
                return fhir_fail(e, "value", fhir_at(at, wat, ".reference"),
                                 "%s is longer than %d characters.", at, FHIR_REFERENCE_MAX - 1);
            if (strcmp(type, "Patient") == 0) {
                if (!*id)
                    return fhir_fail(e, "value", fhir_at(at, wat, ".reference"),
                                     "%s \"%.64s\" has no id: write \"Patient/<id>\".", at,
                                     reference);
                a->client_id = id;
                return fhir_read_extensions(e, entity, at, FHIR_ON_PATIENT, a);
            }
        }
        /* a logical reference: {"type":"Patient","identifier":{"value":...}} */
        if (!reference && kind && strcmp(kind, "Patient") == 0) {
            if (fhir_object(e, what, wat, "identifier", &identifier) < 0)
                return -1;
            if (identifier) {
                fhir_at(at, wat, ".identifier");
                if (fhir_string(e, identifier, at, "value", &value) < 0)
                    return -1;
                if (value) {
                    a->client_id = value;
                    return fhir_read_extensions(e, entity, fhir_at(at, base, ".entity[%d]", i - 1),
                                                FHIR_ON_PATIENT, a);
                }
            }
        }
    }
    return fhir_fail(e, "required", fhir_at(at, base, ".entity"),
                     "%s has no entity whose what references a Patient: give the client whose "
                     "record was accessed as what.reference \"Patient/<id>\".",
                     at);
}

/* Builds the CloudEvent for the access in a; NULL when out of memory. */
static cJSON *fhir_cloudevent(const fhir_access *a)
{
    cJSON *ev = cJSON_CreateObject(), *data = NULL, *user = NULL;
    char *source = fhir_urn(a->source_text);
    int ok = ev && source;
    if (ok)
        ok = cJSON_AddStringToObject(ev, "specversion", "1.0") &&
             cJSON_AddStringToObject(ev, "id", a->id) &&
             cJSON_AddStringToObject(ev, "source", source) &&
             cJSON_AddStringToObject(ev, "type", "nl.nen7513.access") &&
             cJSON_AddStringToObject(ev, "time", a->time) &&
             cJSON_AddStringToObject(ev, "subject", a->client_id) &&
             (data = cJSON_AddObjectToObject(ev, "data")) &&
             (user = cJSON_AddObjectToObject(data, "user")) &&
             cJSON_AddStringToObject(user, "id", a->user_id);
    if (ok && a->user_role)
        ok = cJSON_AddStringToObject(user, "role", a->user_role) != NULL;
    if (ok && a->user_name)
        ok = cJSON_AddStringToObject(user, "name", a->user_name) != NULL;
    if (ok)
        ok = cJSON_AddStringToObject(data, "client_id", a->client_id) &&
             cJSON_AddStringToObject(data, "action", a->action) &&
             cJSON_AddStringToObject(data, "system", a->system);
    if (ok && a->outcome)
        ok = cJSON_AddStringToObject(data, "outcome", a->outcome) != NULL;
    if (ok && a->emergency)
        ok = cJSON_AddTrueToObject(data, "emergency") != NULL;
    if (ok && a->reason)
        ok = cJSON_AddStringToObject(data, "reason", a->reason) != NULL;
    if (ok && a->on_behalf_of)
        ok = cJSON_AddStringToObject(data, "on_behalf_of", a->on_behalf_of) != NULL;
    if (ok && a->treatment_relation >= 0)
        ok = cJSON_AddBoolToObject(data, "treatment_relation", a->treatment_relation) != NULL;
    if (ok && a->authentication)
        ok = cJSON_AddStringToObject(data, "authentication", a->authentication) != NULL;
    if (ok && a->vip >= 0)
        ok = cJSON_AddBoolToObject(data, "vip", a->vip) != NULL;
    free(source);
    if (!ok) {
        cJSON_Delete(ev);
        return NULL;
    }
    return ev;
}

/* Checks one AuditEvent (r, at path base) and returns its CloudEvent in
 * *out (caller deletes). Returns 0, or -1 with e set. */
static int fhir_audit_event(fhir_error *e, const cJSON *r, const char *base, cJSON **out)
{
    fhir_access *a = calloc(1, sizeof *a);
    int etreat = 0, rc = -1;
    *out = NULL;
    if (!a)
        return fhir_fail(e, "exception", base, "Out of memory while reading %s.", base);
    a->treatment_relation = a->vip = -1;
    if (fhir_read_id_and_time(e, r, base, a) < 0 || fhir_read_action(e, r, base, a) < 0 ||
        fhir_read_outcome(e, r, base, a) < 0 || fhir_read_observer(e, r, base, a) < 0 ||
        fhir_read_extensions(e, r, base, FHIR_ON_EVENT, a) < 0 ||
        fhir_read_user(e, r, base, a) < 0 || fhir_read_client(e, r, base, a) < 0 ||
        fhir_purposes(e, r, base, "purposeOfEvent", &etreat, &a->reason) < 0 ||
        (!a->id && fhir_derive_id(e, r, base, a) < 0))
        goto done;
    if (etreat)
        a->emergency = 1;
    *out = fhir_cloudevent(a);
    if (!*out) {
        fhir_fail(e, "exception", base, "Out of memory while converting %s.", base);
        goto done;
    }
    rc = 0;
done:
    free(a);
    return rc;
}

/* ---- the body: one AuditEvent or a Bundle of them -------------------------- */

/* resourceType of r at path base: -1 unless it is "AuditEvent". */
static int fhir_is_audit_event(fhir_error *e, const cJSON *r, const char *base)
{
    char at[FHIR_PATH_MAX];
    const char *type;
    if (fhir_string(e, r, base, "resourceType", &type) < 0)
        return -1;
    fhir_at(at, base, ".resourceType");
    if (!type)
        return fhir_fail(e, "required", at,
                         "%s is required: this adapter takes AuditEvent resources.", at);
    if (strcmp(type, "AuditEvent") != 0)
        return fhir_fail(e, "value", at,
                         "%s is \"%.64s\": this adapter takes AuditEvent resources only.", at,
                         type);
    return 0;
}

/* Converts every AuditEvent in root into events (a cJSON array), stopping
 * at the first error. */
static int fhir_collect(fhir_error *e, const cJSON *root, cJSON *events)
{
    char at[FHIR_PATH_MAX];
    const cJSON *entries, *entry, *resource, *resource_type;
    const char *type;
    cJSON *ev;
    int i = 0;
    if (!cJSON_IsObject(root))
        return fhir_fail(e, "invalid", "AuditEvent",
                         "The body must be a JSON object: one FHIR R4 AuditEvent, or a Bundle "
                         "of AuditEvents.");
    /* Until resourceType is known there is no resource name to put in front
     * of a path, so errors about it name "resourceType" alone. */
    resource_type = cJSON_GetObjectItemCaseSensitive(root, "resourceType");
    if (resource_type && !cJSON_IsString(resource_type) && !cJSON_IsNull(resource_type))
        return fhir_fail(e, "invalid", "resourceType", "resourceType must be a JSON string.");
    type = cJSON_GetStringValue(resource_type);
    if (type && !*type)
        type = NULL;
    if (!type)
        return fhir_fail(e, "required", "resourceType",
                         "resourceType is required: send an AuditEvent, or a Bundle of "
                         "AuditEvents.");
    if (strcmp(type, "AuditEvent") == 0) {
        if (fhir_audit_event(e, root, "AuditEvent", &ev) < 0)
            return -1;
        cJSON_AddItemToArray(events, ev);
        return 0;
    }
    if (strcmp(type, "Bundle") != 0)
        return fhir_fail(e, "value", "resourceType",
                         "resourceType is \"%.64s\": send an AuditEvent, or a Bundle of "
                         "AuditEvents.",
                         type);
    if (fhir_array(e, root, "Bundle", "entry", &entries) < 0)
        return -1;
    if (!entries)
        return fhir_fail(e, "required", "Bundle.entry",
                         "Bundle.entry is required: the Bundle holds no AuditEvent.");
    cJSON_ArrayForEach(entry, entries)
    {
        if (fhir_element(e, entry, "Bundle", "entry", i) < 0)
            return -1;
        fhir_at(at, "Bundle", ".entry[%d]", i);
        if (fhir_object(e, entry, at, "resource", &resource) < 0)
            return -1;
        if (!resource) {
            fhir_at(at, "Bundle", ".entry[%d].resource", i);
            return fhir_fail(e, "required", at, "%s is required: each entry holds an AuditEvent.",
                             at);
        }
        fhir_at(at, "Bundle", ".entry[%d].resource", i);
        if (fhir_is_audit_event(e, resource, at) < 0 || fhir_audit_event(e, resource, at, &ev) < 0)
            return -1;
        cJSON_AddItemToArray(events, ev);
        i++;
    }
    return 0;
}

/* A copy of s in the host's memory, or NULL. */
static char *fhir_dup(const obligo_host_api *api, const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = api->alloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

/* The error as the host wants it: path, message and an OperationOutcome,
 * each in the host's memory (any of them NULL when out of memory). */
static void fhir_report(const fhir_state *st, const fhir_error *e, char **error_path, char **error,
                        char **error_body)
{
    cJSON *outcome = cJSON_CreateObject(), *issues, *issue, *expression;
    char *text = NULL;
    *error_path = fhir_dup(st->api, e->path);
    *error = fhir_dup(st->api, e->message);
    if (outcome && cJSON_AddStringToObject(outcome, "resourceType", "OperationOutcome") &&
        (issues = cJSON_AddArrayToObject(outcome, "issue")) && (issue = cJSON_CreateObject()) &&
        cJSON_AddItemToArray(issues, issue) &&
        cJSON_AddStringToObject(issue, "severity", "error") &&
        cJSON_AddStringToObject(issue, "code", e->code) &&
        cJSON_AddStringToObject(issue, "diagnostics", e->message) &&
        (expression = cJSON_AddArrayToObject(issue, "expression")) &&
        cJSON_AddItemToArray(expression, cJSON_CreateString(e->path)))
        text = cJSON_PrintUnformatted(outcome);
    if (text)
        *error_body = fhir_dup(st->api, text);
    cJSON_free(text);
    cJSON_Delete(outcome);
}

/* The input adapter (see obligo_input_adapter): validates everything, then
 * emits. */
static int fhir_convert(void *state, const char *input, size_t len, obligo_emit_fn emit,
                        void *emit_ctx, char **error_path, char **error, char **error_body)
{
    const fhir_state *st = state;
    fhir_error e = {0};
    cJSON *root = NULL, *events = NULL, *ev;
    char **texts = NULL;
    const char *end = NULL;
    int n = 0, i, bundle, rc = OBLIGO_PLUGIN_ERROR;

    *error_path = *error = *error_body = NULL;
    root = input && len ? cJSON_ParseWithLengthOpts(input, len, &end, 0) : NULL;
    if (root && end) {
        /* cJSON stops after the first value; anything but whitespace after
         * it makes the body invalid JSON. */
        while (end < input + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
            end++;
        if (end < input + len) {
            cJSON_Delete(root);
            root = NULL;
        }
    }
    if (!root) {
        fhir_fail(&e, "invalid", "AuditEvent",
                  "The body is not JSON (near byte %ld): send one FHIR R4 AuditEvent, or a "
                  "Bundle of AuditEvents, as application/fhir+json.",
                  end && input ? (long)(end - input) : 0L);
        goto done;
    }
    events = cJSON_CreateArray();
    if (!events) {
        fhir_fail(&e, "exception", "AuditEvent", "Out of memory.");
        goto done;
    }
    if (fhir_collect(&e, root, events) < 0)
        goto done;
    bundle =
        strcmp(cJSON_GetObjectItemCaseSensitive(root, "resourceType")->valuestring, "Bundle") == 0;

    /* Everything is valid: print all the events before emitting the first,
     * so that running out of memory cannot stop a Bundle half-way. */
    n = cJSON_GetArraySize(events);
    texts = calloc((size_t)n + 1, sizeof *texts);
    if (!texts) {
        fhir_fail(&e, "exception", "AuditEvent", "Out of memory.");
        goto done;
    }
    i = 0;
    cJSON_ArrayForEach(ev, events)
    {
        texts[i] = cJSON_PrintUnformatted(ev);
        if (!texts[i]) {
            fhir_fail(&e, "exception", "AuditEvent", "Out of memory.");
            goto done;
        }
        i++;
    }
    for (i = 0; texts[i]; i++) /* all n printed; calloc left the NULL after them */
        if (emit(emit_ctx, texts[i], strlen(texts[i])) != 0) {
            char at[FHIR_PATH_MAX];
            if (bundle)
                fhir_at(at, "Bundle", ".entry[%d].resource", i);
            else
                snprintf(at, sizeof at, "AuditEvent");
            fhir_fail(&e, "exception", at, "Obligo could not take the event converted from %s.",
                      at);
            goto done;
        }
    rc = OBLIGO_PLUGIN_OK;
done:
    if (rc != OBLIGO_PLUGIN_OK)
        fhir_report(st, &e, error_path, error, error_body);
    for (i = 0; texts && i < n; i++)
        cJSON_free(texts[i]);
    free(texts);
    cJSON_Delete(events);
    cJSON_Delete(root);
    return rc;
}

/* ---- the plugin ------------------------------------------------------------ */

static const obligo_input_adapter fhir_adapter = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_input_adapter),
    .name = "fhir",
    .media_type = "application/fhir+json",
    .http_path = "/v1/fhir/AuditEvent",
    .convert = fhir_convert,
};

static int fhir_init(obligo_host *host, const obligo_host_api *api, const char *config_json,
                     void **state, char **error)
{
    fhir_state *st;
    *state = NULL;
    if (!OBLIGO_HOST_HAS(api, register_input_adapter)) {
        *error = fhir_dup(api, "the host cannot register input adapters");
        return OBLIGO_PLUGIN_ERROR;
    }
    st = api->alloc(sizeof *st);
    if (!st) {
        *error = fhir_dup(api, "out of memory");
        return OBLIGO_PLUGIN_ERROR;
    }
    st->api = api;
    st->host = host;
    if (api->register_input_adapter(host, &fhir_adapter) != 0) {
        api->free(st);
        *error = fhir_dup(api, "could not register the input adapter \"fhir\" (another plugin "
                               "may use the name or POST /v1/fhir/AuditEvent)");
        return OBLIGO_PLUGIN_ERROR;
    }
    *state = st;
    return OBLIGO_PLUGIN_OK;
}

static void fhir_fini(void *state)
{
    fhir_state *st = state;
    if (st)
        st->api->free(st);
}

static const obligo_plugin fhir_plugin = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_plugin),
    .name = "fhir",
    .version = "0.1.0",
    .description = "FHIR R4 AuditEvent input (POST /v1/fhir/AuditEvent, ingest --format fhir) "
                   "for NEN 7513 access logging",
    .config_schema = NULL,
    .init = fhir_init,
    .fini = fhir_fini,
};

OBLIGO_PLUGIN_EXPORT const obligo_plugin *obligo_plugin_entry(void)
{
    return &fhir_plugin;
}
