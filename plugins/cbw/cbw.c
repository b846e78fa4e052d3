/*
 * cbw.c — the Cbw regulation plugin: the event types of a cyber security
 * incident being detected and reported, with the schemas their data must
 * satisfy before the engine journals them.
 *
 * The Cyberbeveiligingswet (Cbw), the Dutch implementation of the NIS2
 * directive (EU) 2022/2555, makes an essential or important entity report
 * a significant incident to its CSIRT (for care: Z-CERT) in stages, per
 * NIS2 art. 23 lid 4: an early warning within 24 hours of becoming aware
 * (sub a), a notification within 72 hours (sub b) and a final report within
 * one month of the notification (sub d). The rules beside this plugin,
 * rules/cbw, open and close those duties; this file only says what a
 * well-formed event looks like, so that the rules can trust their input.
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
#define T OBLIGO_FIELD_TIME

/* ---- enums ---- */

static const char *const enum_stage[] = {"early_warning", "notification", "final", NULL};

/* ---- incidents ---- */

static const obligo_field fields_incident_detected[] = {
    REQ("incident_id", S),
    REQ("aware_at", T),
    REQ("significant", B),
    END,
};
static const obligo_schema schema_incident_detected = SCHEMA(fields_incident_detected);

static const obligo_field fields_incident_reported[] = {
    REQ("incident_id", S),
    REQ_ENUM("stage", enum_stage),
    REQ("reported_at", T),
    END,
};
static const obligo_schema schema_incident_reported = SCHEMA(fields_incident_reported);

/* ---- the types (DESIGN §3) ---- */

static const obligo_event_type cbw_types[] = {
    TYPE("nl.cbw.incident.detected", schema_incident_detected,
         "A cyber security incident was detected, significant or not (NIS2 art. 23; Cbw)"),
    TYPE("nl.cbw.incident.reported", schema_incident_reported,
         "A stage of an incident report reached the CSIRT (NIS2 art. 23 lid 4; Cbw)"),
};

#undef S
#undef B
#undef T

/* clang-format on */

REGULATION_PLUGIN(cbw, "cbw",
                  "Cyberbeveiligingswet (NIS2): staged reporting of significant incidents")
