/*
 * obligo.c — Obligo's own acts as events: what an officer does in the
 * console that the journal must show, beside what the care systems report.
 * One type today: an officer acknowledging an alert (who looked at it and
 * why), so that "who saw this signal, and what did they decide" is answered
 * from the journal like every other question.
 *
 * The rules beside this plugin, rules/obligo/acknowledgements.lua, keep the
 * acknowledgements in the register `signalen` (one entry per alert, a
 * version per acknowledgement), which GET /v1/alerts reads to show an alert
 * as acknowledged. This file only says what a well-formed acknowledgement
 * looks like.
 *
 * Built as a shared object against obligo/plugin.h alone, like the
 * regulation plugins (regulation.h).
 */
#include "../regulation.h"

#include <stddef.h>
#include <string.h>

/* clang-format off */

#define S OBLIGO_FIELD_STRING

/* alert_id is the id GET /v1/alerts gives; kind and subject repeat what the
 * alert was about, so the journal reads without the alerts table. by and
 * note are required: an acknowledgement without who and why proves
 * nothing. The event's own time is when it was acknowledged. */
static const obligo_field fields_acknowledged[] = {
    REQ("alert_id", S),
    OPT("kind", S),
    OPT("subject", S),
    REQ("by", S),
    REQ("note", S),
    END,
};
static const obligo_schema schema_acknowledged = SCHEMA(fields_acknowledged);

/* ---- the types (DESIGN §3) ---- */

static const obligo_event_type obligo_acts_types[] = {
    TYPE("nl.obligo.alert.acknowledged", schema_acknowledged,
         "An officer acknowledged an alert: who, and why (the journal shows who looked at what)"),
};

#undef S

/* clang-format on */

REGULATION_PLUGIN(obligo_acts, "obligo", "Obligo's own acts: an officer acknowledging an alert")
