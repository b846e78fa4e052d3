/*
 * avg.c — the AVG (GDPR, Regulation (EU) 2016/679) regulation plugin: the
 * event types of personal data breaches and data subject requests, with the
 * schemas their data must satisfy before the engine journals them.
 *
 * The duties these events feed come from the AVG itself: art. 33 (notify the
 * Autoriteit Persoonsgegevens within 72 hours of becoming aware, and
 * document every breach, lid 5), art. 34 (inform the people affected unless
 * an exception of lid 3 applies) and art. 12 lid 3 (answer a request within
 * one month, extendable by two). What the duties are — deadlines, reminders,
 * registers — is written in the rules beside this plugin, rules/avg; this
 * file only says what a well-formed event looks like, so that the rules can
 * trust their input.
 *
 * Built as a shared object against obligo/plugin.h alone: the schemas are
 * static data the engine borrows for as long as the plugin is loaded, and
 * init only registers them.
 */
#include "../regulation.h"

#include <stddef.h>
#include <string.h>

/* Type shorthands for the tables below (the field shorthands are in
 * regulation.h). */
/* clang-format off */

#define S OBLIGO_FIELD_STRING
#define B OBLIGO_FIELD_BOOL
#define N OBLIGO_FIELD_COUNT
#define T OBLIGO_FIELD_TIME

/* ---- enums ---- */

static const char *const enum_cause[] = {"lost_device", "theft",       "hacking",
                                         "malware",     "misdirected", "employee_error",
                                         "processor",   "other",       NULL};
static const char *const enum_yes_no_unknown[] = {"yes", "no", "unknown", NULL};
static const char *const enum_categories[] = {"health", "bsn",     "contact", "financial",
                                              "login",  "id_copy", "other",   NULL};
static const char *const enum_risk[] = {"unlikely", "risk", "high", NULL};
static const char *const enum_phase[] = {"initial", "supplement", "complete", NULL};
/* The groups of people and the likely consequences the AP's notification
 * form asks to tick (several may apply). "clients" are the care's own
 * clients or patients; "relatives" their family and representatives. */
static const char *const enum_groups[] = {"clients",    "employees", "minors", "vulnerable",
                                          "relatives",  "other",     NULL};
static const char *const enum_consequences[] = {
    "stigmatisation_exclusion", "damage_to_health",    "identity_fraud", "spam_phishing",
    "financial_loss",           "reputational_damage", "other",          NULL};
static const char *const enum_exception[] = {"unintelligible", "risk_mitigated",
                                             "public_communication", NULL};
/* Besides the AVG rights (art. 15-21), the kinds carry the care-specific
 * requests a client makes through the same desk: an electronic copy and a
 * log overview (Wabvpz art. 15d) and destruction of the record (BW 7:455,
 * whose rules live in rules/wgbo). */
static const char *const enum_request_kind[] = {
    "access",    "rectification",   "erasure",      "restriction",        "portability",
    "objection", "electronic_copy", "log_overview", "record_destruction", NULL};
static const char *const enum_outcome_request[] = {"granted", "partial", "refused", NULL};

/* ---- nested objects ---- */

static const obligo_field fields_reporter[] = {
    OPT("name", S),
    OPT("role", S),
    OPT("phone", S),
    OPT("email", S),
    END,
};
static const obligo_schema schema_reporter = SCHEMA(fields_reporter);

/* ---- data breaches: AVG art. 33 and 34 ---- */

static const obligo_field fields_breach_reported[] = {
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
    /* what the AP's notification form asks beyond the above */
    OPT("started_at", T),
    OPT("ended_at", T),
    OPT("ongoing", B),
    OPT_LIST("groups", enum_groups),
    OPT_LIST("consequences", enum_consequences),
    OPT("consequences_note", S),
    OPT("measures_taken", S),
    OPT("measures_planned", S),
    OPT_ENUM("cross_border", enum_yes_no_unknown),
    OPT_LIST("countries", NULL),
    OPT("subjects_message", S),
    END,
};
static const obligo_schema schema_breach_reported = SCHEMA(fields_breach_reported);

/* personal_data here revises the reported value, so it takes the same
 * yes/no/unknown enum as nl.avg.breach.reported; so do the form's fields an
 * assessment may answer (or revise) later. */
static const obligo_field fields_breach_assessed[] = {
    REQ("breach_id", S),
    REQ_ENUM("risk", enum_risk),
    REQ("rationale", S),
    OPT_ENUM("personal_data", enum_yes_no_unknown),
    OPT("persons_affected", N),
    OPT("records_affected", N),
    OPT_LIST("groups", enum_groups),
    OPT_LIST("consequences", enum_consequences),
    OPT("consequences_note", S),
    OPT("measures_planned", S),
    OPT_ENUM("cross_border", enum_yes_no_unknown),
    OPT_LIST("countries", NULL),
    END,
};
static const obligo_schema schema_breach_assessed = SCHEMA(fields_breach_assessed);

static const obligo_field fields_breach_notified[] = {
    REQ("breach_id", S),
    REQ("reference", S),
    REQ("notified_at", T),
    OPT_ENUM("phase", enum_phase),
    OPT("delay_reasons", S),
    END,
};
static const obligo_schema schema_breach_notified = SCHEMA(fields_breach_notified);

static const obligo_field fields_breach_withdrawn[] = {
    REQ("breach_id", S),
    REQ("rationale", S),
    END,
};
static const obligo_schema schema_breach_withdrawn = SCHEMA(fields_breach_withdrawn);

/* Data subjects are either informed (informed_at) or not, under one of the
 * GDPR art. 34(3) exceptions; one of the two must be stated. */
static const char *const subjects_informed_one_of[] = {"informed_at", "exception", NULL};
static const obligo_field fields_breach_subjects_informed[] = {
    REQ("breach_id", S),
    OPT("informed_at", T),
    OPT("channel", S),
    OPT("count", N),
    OPT_ENUM("exception", enum_exception),
    OPT("rationale", S),
    OPT("message", S), /* what the people were told */
    END,
};
static const obligo_schema schema_breach_subjects_informed = {
    .fields = fields_breach_subjects_informed,
    .one_of = subjects_informed_one_of,
    .one_of_named = "informed_at",
};

static const obligo_field fields_breach_closed[] = {
    REQ("breach_id", S),
    REQ("measures", S),
    END,
};
static const obligo_schema schema_breach_closed = SCHEMA(fields_breach_closed);

/* ---- data subject requests: AVG art. 12 lid 3 ---- */

static const obligo_field fields_request_received[] = {
    REQ("request_id", S),
    REQ_ENUM("kind", enum_request_kind),
    REQ("client_id", S),
    REQ("received_at", T),
    END,
};
static const obligo_schema schema_request_received = SCHEMA(fields_request_received);

static const obligo_field fields_request_extended[] = {
    REQ("request_id", S),
    REQ("reason", S),
    REQ("notified_at", T),
    END,
};
static const obligo_schema schema_request_extended = SCHEMA(fields_request_extended);

static const obligo_field fields_request_completed[] = {
    REQ("request_id", S),
    REQ("completed_at", T),
    OPT_ENUM("outcome", enum_outcome_request),
    OPT("rationale", S),
    END,
};
static const obligo_schema schema_request_completed = SCHEMA(fields_request_completed);

/* ---- the types (DESIGN §3) ---- */

static const obligo_event_type avg_types[] = {
    TYPE("nl.avg.breach.reported", schema_breach_reported,
         "A personal data breach became known (AVG art. 33 lid 1: the 72 hours start)"),
    TYPE("nl.avg.breach.assessed", schema_breach_assessed,
         "The risk of a breach to the people affected was assessed (AVG art. 33-34)"),
    TYPE("nl.avg.breach.notified", schema_breach_notified,
         "A breach was notified to the Autoriteit Persoonsgegevens (AVG art. 33)"),
    TYPE("nl.avg.breach.withdrawn", schema_breach_withdrawn,
         "A reported breach turned out not to be one"),
    TYPE("nl.avg.breach.subjects_informed", schema_breach_subjects_informed,
         "The people affected were informed, or an art. 34 lid 3 exception applies"),
    TYPE("nl.avg.breach.closed", schema_breach_closed,
         "A breach was handled and documented with its measures (AVG art. 33 lid 5)"),
    TYPE("nl.avg.request.received", schema_request_received,
         "A client made a request under AVG art. 15-21, Wabvpz art. 15d or BW 7:455"),
    TYPE("nl.avg.request.extended", schema_request_extended,
         "The answer to a request was extended and the client told why (AVG art. 12 lid 3)"),
    TYPE("nl.avg.request.completed", schema_request_completed,
         "A request was answered (AVG art. 12 lid 3)"),
};

#undef S
#undef B
#undef N
#undef T

/* clang-format on */

REGULATION_PLUGIN(
    avg, "avg",
    "AVG (GDPR): personal data breaches (art. 33-34) and data subject requests (art. 12)")
