/*
 * nen7513.c — the NEN 7513 regulation plugin: the event types of access to
 * client records (the access log), its periodic review and its purging,
 * with the schemas their data must satisfy before the engine journals them.
 *
 * Care providers must log who opened which record, when and why: NEN 7513
 * (logging of access to electronic health records), made binding by the
 * Besluit elektronische gegevensverwerking door zorgaanbieders art. 3
 * together with NEN 7510, and the basis of a client's right to a log
 * overview (Wabvpz art. 15d). The logs must be reviewed and kept for at
 * least five years. The rules beside this plugin, rules/nen7513, judge the
 * accesses (no treatment relation, break-the-glass without a reason, weak
 * authentication, bursts on VIP records) and the purges; this file only
 * says what a well-formed event looks like, so that the rules can trust
 * their input.
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
#define D OBLIGO_FIELD_DATE_OR_TIME
#define A OBLIGO_FIELD_ANY

/* ---- enums ---- */

static const char *const enum_action[] = {"create", "read",   "update", "delete", "print",
                                          "copy",   "export", "search", "merge",  NULL};
static const char *const enum_outcome_access[] = {"success", "failure", NULL};
static const char *const enum_authentication[] = {"password", "2fa", "uzi", NULL};

/* ---- nested objects ---- */

static const obligo_field fields_user[] = {
    REQ("id", S),
    OPT("role", S),
    OPT("name", S),
    END,
};
static const obligo_schema schema_user = SCHEMA(fields_user);

/* ---- the log, its review and its purge ---- */

/* The event's own time is when the access happened. */
static const obligo_field fields_access[] = {
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
static const obligo_schema schema_access = SCHEMA(fields_access);

/* Review periods are usually whole days, so a plain date is accepted. */
static const obligo_field fields_review[] = {
    REQ("period_start", D),
    REQ("period_end", D),
    REQ("reviewer", S),
    OPT("findings", A),
    END,
};
static const obligo_schema schema_review = SCHEMA(fields_review);

static const obligo_field fields_purge[] = {
    REQ("written_before", D),
    OPT("system", S),
    END,
};
static const obligo_schema schema_purge = SCHEMA(fields_purge);

/* ---- the types (DESIGN §3) ---- */

static const obligo_event_type nen7513_types[] = {
    TYPE("nl.nen7513.access", schema_access,
         "A user accessed a client's record (one NEN 7513 log line)"),
    TYPE("nl.nen7513.review", schema_review,
         "The access log of a period was reviewed (NEN 7513; NEN 7510 9.4)"),
    TYPE("nl.nen7513.purge", schema_purge,
         "Log lines written before a date were purged (kept at least five years)"),
};

#undef S
#undef B
#undef D
#undef A

/* clang-format on */

REGULATION_PLUGIN(nen7513, "nen7513",
                  "NEN 7513: logging of access to client records, its review and purging")
