/*
 * wgbo.c — the WGBO regulation plugin: the event types of a client's
 * medical record changing and being destroyed, with the schemas their data
 * must satisfy before the engine journals them.
 *
 * The WGBO (Wet op de geneeskundige behandelingsovereenkomst, Burgerlijk
 * Wetboek book 7) obliges a care provider to keep a client's record for
 * twenty years from its last change (BW 7:454 lid 3) and to destroy it
 * within three months when the client asks (BW 7:455). The rules beside
 * this plugin, rules/wgbo, keep those clocks; a destruction request itself
 * arrives as nl.avg.request.received from the avg plugin. This file only
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
#define T OBLIGO_FIELD_TIME

/* ---- enums ---- */

static const char *const enum_basis[] = {"retention_expired", "client_request", NULL};

/* ---- the record ---- */

static const obligo_field fields_record_changed[] = {
    REQ("client_id", S),
    REQ("changed_at", T),
    END,
};
static const obligo_schema schema_record_changed = SCHEMA(fields_record_changed);

static const obligo_field fields_record_destroyed[] = {
    REQ("client_id", S),
    REQ("destroyed_at", T),
    OPT_ENUM("basis", enum_basis),
    END,
};
static const obligo_schema schema_record_destroyed = SCHEMA(fields_record_destroyed);

/* ---- the types (DESIGN §3) ---- */

static const obligo_event_type wgbo_types[] = {
    TYPE("nl.wgbo.record.changed", schema_record_changed,
         "A client's record changed (BW 7:454 lid 3: the retention period restarts)"),
    TYPE("nl.wgbo.record.destroyed", schema_record_destroyed,
         "A client's record was destroyed (BW 7:454 lid 3 or 7:455)"),
};

#undef S
#undef T

/* clang-format on */

REGULATION_PLUGIN(wgbo, "wgbo", "WGBO: retention and destruction of medical records (BW 7:454-455)")
