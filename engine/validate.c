/*
 * validate.c — the gate every event passes before it is journaled: the
 * CloudEvents 1.0 envelope (DESIGN §1) and the schema of each v1 catalogue
 * type (DESIGN §3).
 *
 * The catalogue is a static, declarative table: one list of fields per type,
 * each with a kind, a required flag, an optional enum and, for objects, a
 * nested schema. A small interpreter walks it, so adding a type or a field is
 * a table edit rather than new code. The first problem found is reported with
 * the JSON path of the field (e.g. "data.user.id") and a sentence for a
 * person; nothing else about the event is judged here (that is the rules'
 * job).
 *
 * Depends on cJSON (the parsed event), clock.c (RFC 3339 and date parsing)
 * and alloc.c (the result strings). No mutable state: any thread may call it.
 */
#include "validate.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "error.h"

/* Envelope identifiers are short by nature; a longer one is almost certainly
 * a sender bug, and id/source end up in keys and log lines. */
#define VALIDATE_MAX_ID 1024
/* Any other string (descriptions, rationales) is capped so one event cannot
 * bloat the journal and every register version that copies it. */
#define VALIDATE_MAX_STRING (64 * 1024)
/* How much of a bad value a message quotes: enough to recognise it, not
 * enough to copy a whole description (which may hold personal data) into
 * logs and the rejected-events reason. */
#define VALIDATE_QUOTE_BYTES 64
/* Counts are exact only up to 2^53 - 1 in a JSON number (a double). */
#define VALIDATE_MAX_COUNT 9007199254740991.0

#define VALIDATE_PATH_MAX 256

typedef enum validate_kind {
    VALIDATE_STRING,       /* a string; an enum when values is set */
    VALIDATE_BOOL,         /* true or false */
    VALIDATE_COUNT,        /* a whole number, 0 or more */
    VALIDATE_OBJECT,       /* an object checked against nested */
    VALIDATE_ENUM_LIST,    /* a list of strings, each one of values */
    VALIDATE_TIME,         /* RFC 3339 date-time with offset */
    VALIDATE_DATE_OR_TIME, /* "YYYY-MM-DD" or RFC 3339 with offset */
    VALIDATE_ANY           /* any JSON value (free-form findings, attendees) */
} validate_kind;

struct validate_schema;

typedef struct validate_field {
    const char *name; /* NULL ends a field list */
    validate_kind kind;
    int required;
    const char *const *values;            /* NULL-terminated enum, or NULL */
    const struct validate_schema *nested; /* for VALIDATE_OBJECT */
} validate_field;

typedef struct validate_schema {
    const validate_field *fields;
    /* At least one of these members must be present (NULL: no such rule).
     * one_of_named is the member the error names; NULL names the object
     * itself, for objects that are a set of optional members (themes). */
    const char *const *one_of;
    const char *one_of_named;
} validate_schema;

/* Shorthands that keep the catalogue below readable as a table. */
/* clang-format off */
#define REQ(n, k)      {.name = (n), .kind = (k), .required = 1}
#define OPT(n, k)      {.name = (n), .kind = (k), .required = 0}
#define REQ_ENUM(n, v) {.name = (n), .kind = VALIDATE_STRING, .required = 1, .values = (v)}
#define OPT_ENUM(n, v) {.name = (n), .kind = VALIDATE_STRING, .required = 0, .values = (v)}
#define OPT_LIST(n, v) {.name = (n), .kind = VALIDATE_ENUM_LIST, .required = 0, .values = (v)}
#define REQ_OBJ(n, s)  {.name = (n), .kind = VALIDATE_OBJECT, .required = 1, .nested = &(s)}
#define OPT_OBJ(n, s)  {.name = (n), .kind = VALIDATE_OBJECT, .required = 0, .nested = &(s)}
#define END            {.name = NULL}
#define SCHEMA(f)      {.fields = (f)}

#define S VALIDATE_STRING
#define B VALIDATE_BOOL
#define N VALIDATE_COUNT
#define T VALIDATE_TIME
#define D VALIDATE_DATE_OR_TIME
#define A VALIDATE_ANY

/* ---- enums ---- */

static const char *const enum_cause[] = {"lost_device", "theft",       "hacking",
                                         "malware",     "misdirected", "employee_error",
                                         "processor",   "other",       NULL};
static const char *const enum_yes_no_unknown[] = {"yes", "no", "unknown", NULL};
static const char *const enum_categories[] = {"health", "bsn",     "contact", "financial",
                                              "login",  "id_copy", "other",   NULL};
static const char *const enum_risk[] = {"unlikely", "risk", "high", NULL};
static const char *const enum_phase[] = {"initial", "supplement", "complete", NULL};
static const char *const enum_exception[] = {"unintelligible", "risk_mitigated",
                                             "public_communication", NULL};
static const char *const enum_request_kind[] = {
    "access",    "rectification",   "erasure",      "restriction",        "portability",
    "objection", "electronic_copy", "log_overview", "record_destruction", NULL};
static const char *const enum_outcome_request[] = {"granted", "partial", "refused", NULL};
static const char *const enum_basis[] = {"retention_expired", "client_request", NULL};
static const char *const enum_action[] = {"create", "read",   "update", "delete", "print",
                                          "copy",   "export", "search", "merge",  NULL};
static const char *const enum_outcome_access[] = {"success", "failure", NULL};
static const char *const enum_authentication[] = {"password", "2fa", "uzi", NULL};
static const char *const enum_device_kind[] = {"laptop",  "desktop", "phone", "tablet", "printer",
                                               "scanner", "storage", "other", NULL};
static const char *const enum_wipe[] = {"overwrite",    "crypto_erase", "format", "destroyed",
                                        "delete_files", "none",         NULL};
static const char *const enum_channel[] = {"zorgmail", "siilo",    "zorgdomein", "email",
                                           "sms",      "whatsapp", "other",      NULL};
static const char *const enum_theme_result[] = {"pass", "partial", "fail", NULL};
static const char *const enum_stage[] = {"early_warning", "notification", "final", NULL};

/* ---- nested objects ---- */

static const validate_field fields_reporter[] = {
    OPT("name", S),
    OPT("role", S),
    OPT("phone", S),
    END,
};
static const validate_schema schema_reporter = SCHEMA(fields_reporter);

static const validate_field fields_user[] = {
    REQ("id", S),
    OPT("role", S),
    OPT("name", S),
    END,
};
static const validate_schema schema_user = SCHEMA(fields_user);

static const char *const theme_names[] = {"governance",           "implementation",
                                          "client_participation", "information_security",
                                          "chain_cooperation",    NULL};
static const validate_field fields_themes[] = {
    OPT_ENUM("governance", enum_theme_result),
    OPT_ENUM("implementation", enum_theme_result),
    OPT_ENUM("client_participation", enum_theme_result),
    OPT_ENUM("information_security", enum_theme_result),
    OPT_ENUM("chain_cooperation", enum_theme_result),
    END,
};
/* An assessment that scores no theme at all says nothing; other members are
 * allowed so that later IGJ themes do not break older engines. */
static const validate_schema schema_themes = {
    .fields = fields_themes, .one_of = theme_names, .one_of_named = NULL};

/* ---- the v1 catalogue (DESIGN §3) ---- */

static const validate_field fields_breach_reported[] = {
    REQ("breach_id", S),
    REQ("aware_at", T),
    REQ("description", S),
    OPT_ENUM("cause", enum_cause),
    OPT_ENUM("personal_data", enum_yes_no_unknown),
    OPT_LIST("categories", enum_categories),
    OPT("persons_affected", N),
    OPT("records_affected", N),
    OPT("unintelligible", B),
    OPT("processor", S),
    OPT("dedup_key", S),
    OPT_OBJ("reporter", schema_reporter),
    END,
};

/* personal_data here revises the reported value, so it takes the same
 * yes/no/unknown enum as nl.avg.breach.reported. */
static const validate_field fields_breach_assessed[] = {
    REQ("breach_id", S),
    REQ_ENUM("risk", enum_risk),
    REQ("rationale", S),
    OPT_ENUM("personal_data", enum_yes_no_unknown),
    OPT("persons_affected", N),
    END,
};

static const validate_field fields_breach_notified[] = {
    REQ("breach_id", S),
    REQ("reference", S),
    REQ("notified_at", T),
    OPT_ENUM("phase", enum_phase),
    OPT("delay_reasons", S),
    END,
};

static const validate_field fields_breach_withdrawn[] = {
    REQ("breach_id", S),
    REQ("rationale", S),
    END,
};

/* Data subjects are either informed (informed_at) or not, under one of the
 * GDPR art. 34(3) exceptions; one of the two must be stated. */
static const char *const subjects_informed_one_of[] = {"informed_at", "exception", NULL};
static const validate_field fields_breach_subjects_informed[] = {
    REQ("breach_id", S),
    OPT("informed_at", T),
    OPT("channel", S),
    OPT("count", N),
    OPT_ENUM("exception", enum_exception),
    OPT("rationale", S),
    END,
};

static const validate_field fields_breach_closed[] = {
    REQ("breach_id", S),
    REQ("measures", S),
    END,
};

static const validate_field fields_request_received[] = {
    REQ("request_id", S),
    REQ_ENUM("kind", enum_request_kind),
    REQ("client_id", S),
    REQ("received_at", T),
    END,
};

static const validate_field fields_request_extended[] = {
    REQ("request_id", S),
    REQ("reason", S),
    REQ("notified_at", T),
    END,
};

static const validate_field fields_request_completed[] = {
    REQ("request_id", S),
    REQ("completed_at", T),
    OPT_ENUM("outcome", enum_outcome_request),
    OPT("rationale", S),
    END,
};

static const validate_field fields_record_changed[] = {
    REQ("client_id", S),
    REQ("changed_at", T),
    END,
};

static const validate_field fields_record_destroyed[] = {
    REQ("client_id", S),
    REQ("destroyed_at", T),
    OPT_ENUM("basis", enum_basis),
    END,
};

static const validate_field fields_access[] = {
    REQ_OBJ("user", schema_user),
    REQ("client_id", S),
    REQ_ENUM("action", enum_action),
    REQ("system", S),
    OPT_ENUM("outcome", enum_outcome_access),
    OPT("on_behalf_of", S),
    OPT("treatment_relation", B),
    OPT("emergency", B),
    OPT("reason", S),
    OPT_ENUM("authentication", enum_authentication),
    OPT("vip", B),
    END,
};

/* Review periods are usually whole days, so a plain date is accepted. */
static const validate_field fields_review[] = {
    REQ("period_start", D),
    REQ("period_end", D),
    REQ("reviewer", S),
    OPT("findings", A),
    END,
};

static const validate_field fields_purge[] = {
    REQ("written_before", D),
    OPT("system", S),
    END,
};

static const validate_field fields_software_installed[] = {
    REQ("device_id", S),
    REQ("software", S),
    REQ("installed_by", S),
    REQ("approved", B),
    END,
};

static const validate_field fields_device_decommissioned[] = {
    REQ("device_id", S),
    REQ_ENUM("kind", enum_device_kind),
    REQ_ENUM("wipe", enum_wipe),
    END,
};

static const validate_field fields_message_sent[] = {
    REQ_ENUM("channel", enum_channel),
    REQ("personal_data", B),
    OPT("recipient", S),
    END,
};

/* region is "ISO country code or EU"; it is kept a plain string so that a
 * sender's spelling ("nl", "EU/EEA") reaches the rules rather than being
 * rejected here. */
static const validate_field fields_cloud_used[] = {
    REQ("service", S),
    REQ("provider", S),
    REQ("region", S),
    REQ("processing_agreement", B),
    OPT("personal_data", B),
    END,
};

static const validate_field fields_webform_checked[] = {
    REQ("url", S),
    REQ("tls", B),
    OPT("personal_data", B),
    END,
};

static const validate_field fields_backup_completed[] = {
    REQ("system", S),
    REQ("completed_at", T),
    END,
};

static const validate_field fields_wifi_checked[] = {
    REQ("network", S),
    REQ("guest", B),
    REQ("reaches_internal", B),
    END,
};

static const validate_field fields_checklist_reviewed[] = {
    REQ("meeting_at", T),
    OPT("attendees", A),
    END,
};

static const validate_field fields_ehealth_assessed[] = {
    REQ("application", S),
    REQ_OBJ("themes", schema_themes),
    END,
};

static const validate_field fields_ehealth_live[] = {
    REQ("application", S),
    END,
};

static const validate_field fields_incident_detected[] = {
    REQ("incident_id", S),
    REQ("aware_at", T),
    REQ("significant", B),
    END,
};

static const validate_field fields_incident_reported[] = {
    REQ("incident_id", S),
    REQ_ENUM("stage", enum_stage),
    REQ("reported_at", T),
    END,
};

static const struct {
    const char *type;
    validate_schema schema;
} validate_catalogue[] = {
    {"nl.avg.breach.reported", SCHEMA(fields_breach_reported)},
    {"nl.avg.breach.assessed", SCHEMA(fields_breach_assessed)},
    {"nl.avg.breach.notified", SCHEMA(fields_breach_notified)},
    {"nl.avg.breach.withdrawn", SCHEMA(fields_breach_withdrawn)},
    {"nl.avg.breach.subjects_informed",
     {.fields = fields_breach_subjects_informed,
      .one_of = subjects_informed_one_of,
      .one_of_named = "informed_at"}},
    {"nl.avg.breach.closed", SCHEMA(fields_breach_closed)},
    {"nl.avg.request.received", SCHEMA(fields_request_received)},
    {"nl.avg.request.extended", SCHEMA(fields_request_extended)},
    {"nl.avg.request.completed", SCHEMA(fields_request_completed)},
    {"nl.wgbo.record.changed", SCHEMA(fields_record_changed)},
    {"nl.wgbo.record.destroyed", SCHEMA(fields_record_destroyed)},
    {"nl.nen7513.access", SCHEMA(fields_access)},
    {"nl.nen7513.review", SCHEMA(fields_review)},
    {"nl.nen7513.purge", SCHEMA(fields_purge)},
    {"nl.ict.software.installed", SCHEMA(fields_software_installed)},
    {"nl.ict.device.decommissioned", SCHEMA(fields_device_decommissioned)},
    {"nl.ict.message.sent", SCHEMA(fields_message_sent)},
    {"nl.ict.cloud.used", SCHEMA(fields_cloud_used)},
    {"nl.ict.webform.checked", SCHEMA(fields_webform_checked)},
    {"nl.ict.backup.completed", SCHEMA(fields_backup_completed)},
    {"nl.ict.wifi.checked", SCHEMA(fields_wifi_checked)},
    {"nl.ict.checklist.reviewed", SCHEMA(fields_checklist_reviewed)},
    {"nl.igj.ehealth.assessed", SCHEMA(fields_ehealth_assessed)},
    {"nl.igj.ehealth.live", SCHEMA(fields_ehealth_live)},
    {"nl.cbw.incident.detected", SCHEMA(fields_incident_detected)},
    {"nl.cbw.incident.reported", SCHEMA(fields_incident_reported)},
};

/* clang-format on */

#undef S
#undef B
#undef N
#undef T
#undef D
#undef A

static const validate_schema *validate_lookup(const char *type)
{
    if (!type)
        return NULL;
    for (size_t i = 0; i < sizeof validate_catalogue / sizeof validate_catalogue[0]; i++)
        if (strcmp(validate_catalogue[i].type, type) == 0)
            return &validate_catalogue[i].schema;
    return NULL;
}

int validate_known_type(const char *type)
{
    return validate_lookup(type) != NULL;
}

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
#define VALIDATE_QUOTE_SIZE (VALIDATE_QUOTE_BYTES * 6 + 8)

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
            return; /* cannot happen with the static tables; stay safe */
        o += (size_t)w;
    }
}

static int validate_child_path(char out[VALIDATE_PATH_MAX], const char *parent, const char *name)
{
    int w = snprintf(out, VALIDATE_PATH_MAX, "%s.%s", parent, name);
    return w >= 0 && w < VALIDATE_PATH_MAX;
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

static int validate_object(const validate_schema *schema, const cJSON *obj, const char *path,
                           const char *type, validate_result *res);

static int validate_value(const validate_field *f, const cJSON *v, const char *path,
                          const char *type, validate_result *res)
{
    int rc;
    switch (f->kind) {
    case VALIDATE_STRING:
        if ((rc = validate_string(v, path, VALIDATE_MAX_STRING, res)))
            return rc;
        if (f->values)
            return validate_enum(v->valuestring, f->values, path, res);
        /* An empty identifier or description is a missing one in disguise. */
        if (f->required && v->valuestring[0] == '\0')
            return validate_fail(res, path, "%s must not be empty", path);
        return 0;
    case VALIDATE_BOOL:
        if (!cJSON_IsBool(v))
            return validate_fail(res, path, "%s must be true or false; got %s", path,
                                 validate_json_kind(v));
        return 0;
    case VALIDATE_COUNT:
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
    case VALIDATE_OBJECT:
        if (!cJSON_IsObject(v))
            return validate_fail(res, path, "%s must be an object; got %s", path,
                                 validate_json_kind(v));
        return validate_object(f->nested, v, path, type, res);
    case VALIDATE_ENUM_LIST: {
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
            if ((rc = validate_enum(e->valuestring, f->values, epath, res)))
                return rc;
        }
        return 0;
    }
    case VALIDATE_TIME:
        return validate_time(v, path, 0, res);
    case VALIDATE_DATE_OR_TIME:
        return validate_time(v, path, 1, res);
    case VALIDATE_ANY:
        return 0;
    }
    return 0;
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
 * engine (forward compatibility). */
static int validate_object(const validate_schema *schema, const cJSON *obj, const char *path,
                           const char *type, validate_result *res)
{
    for (const validate_field *f = schema->fields; f->name; f++) {
        char fpath[VALIDATE_PATH_MAX];
        if (!validate_child_path(fpath, path, f->name))
            return validate_fail(res, path, "%s is nested too deeply", path);
        const cJSON *v = validate_member(obj, f->name);
        if (!v) {
            if (f->required)
                return validate_fail(res, fpath, "%s is required for %s", fpath, type);
            continue;
        }
        int rc = validate_value(f, v, fpath, type, res);
        if (rc)
            return rc;
    }

    if (!schema->one_of)
        return 0;
    for (size_t i = 0; schema->one_of[i]; i++)
        if (validate_member(obj, schema->one_of[i]))
            return 0;
    char list[512];
    if (!schema->one_of_named) {
        validate_join(schema->one_of, "", ", ", list, sizeof list);
        return validate_fail(res, path, "%s must contain at least one of %s", path, list);
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
    if (!validate_child_path(named, path, schema->one_of_named) ||
        !validate_child_path(prefix, path, ""))
        return validate_fail(res, path, "%s is nested too deeply", path);
    validate_join(others, prefix, " or ", list, sizeof list);
    return validate_fail(res, named, "%s is required for %s unless %s is given", named, type, list);
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

int validate_event(const cJSON *event, int allow_unknown, validate_result *res)
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
    const validate_schema *schema = validate_lookup(type);
    if (!schema && !allow_unknown) {
        validate_quote(type, quoted);
        return validate_fail(res, "type",
                             "type %s is not in the v1 event catalogue, and unknown types are "
                             "not accepted by this configuration",
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

    /* Unknown types are journaled as they come: rules may match them, and
     * their data is theirs to interpret. */
    if (!schema)
        return 0;
    const cJSON *data = validate_member(event, "data");
    if (!data)
        return validate_fail(res, "data", "data is required for %s", type);
    if (!cJSON_IsObject(data))
        return validate_fail(res, "data", "data must be an object for %s; got %s", type,
                             validate_json_kind(data));
    return validate_object(schema, data, "data", type, res);
}
