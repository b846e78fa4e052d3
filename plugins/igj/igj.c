/*
 * igj.c — the IGJ e-health regulation plugin: the event types of assessing
 * an e-health application and of taking it live, with the schemas their
 * data must satisfy before the engine journals them.
 *
 * The Inspectie Gezondheidszorg en Jeugd judges e-health by its
 * Toetsingskader e-health: five themes (governance, implementation, client
 * participation, information security, chain cooperation), each of which a
 * provider should have assessed before an application goes live and
 * remedied where it falls short. The rules beside this plugin, rules/igj,
 * open the remediation duties and warn about a go-live without an
 * assessment; this file only says what a well-formed event looks like, so
 * that the rules can trust their input.
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

/* ---- enums ---- */

static const char *const enum_theme_result[] = {"pass", "partial", "fail", NULL};

/* ---- nested objects ---- */

static const char *const theme_names[] = {"governance",           "implementation",
                                          "client_participation", "information_security",
                                          "chain_cooperation",    NULL};
static const obligo_field fields_themes[] = {
    OPT_ENUM("governance", enum_theme_result),
    OPT_ENUM("implementation", enum_theme_result),
    OPT_ENUM("client_participation", enum_theme_result),
    OPT_ENUM("information_security", enum_theme_result),
    OPT_ENUM("chain_cooperation", enum_theme_result),
    END,
};
/* An assessment that scores no theme at all says nothing; other members are
 * allowed so that later IGJ themes do not break older engines. */
static const obligo_schema schema_themes = {
    .fields = fields_themes, .one_of = theme_names, .one_of_named = NULL};

/* ---- e-health ---- */

static const obligo_field fields_ehealth_assessed[] = {
    REQ("application", S),
    REQ_OBJ("themes", schema_themes),
    END,
};
static const obligo_schema schema_ehealth_assessed = SCHEMA(fields_ehealth_assessed);

static const obligo_field fields_ehealth_live[] = {
    REQ("application", S),
    END,
};
static const obligo_schema schema_ehealth_live = SCHEMA(fields_ehealth_live);

/* ---- the types (DESIGN §3) ---- */

static const obligo_event_type igj_types[] = {
    TYPE("nl.igj.ehealth.assessed", schema_ehealth_assessed,
         "An e-health application was assessed on the IGJ Toetsingskader themes"),
    TYPE("nl.igj.ehealth.live", schema_ehealth_live,
         "An e-health application went live"),
};

#undef S

/* clang-format on */

REGULATION_PLUGIN(igj, "igj", "IGJ Toetsingskader e-health: assessment of e-health applications")
