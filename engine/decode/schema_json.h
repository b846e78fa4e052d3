/*
 * schema_json.h — the catalogue's schemas as JSON Schema (draft 2020-12),
 * for integrators: the other reading of the obligo_schema data that
 * validate.c interprets, so that what a client's validator accepts is what
 * the engine accepts.
 *
 * A generated schema says what validate.c checks, kind by kind (README,
 * "Integrator's contract"): required members (present and not null; null is
 * taken for absent), the kinds, enums, lists of enums, nested objects,
 * at-least-one-of rules (anyOf), RFC 3339 date-times with an offset (format
 * date-time and a pattern of exactly the engine's grammar), dates, whole
 * numbers from 0 to 2^53 - 1, and members no schema names allowed
 * (additionalProperties true). What JSON Schema cannot say is in the
 * descriptions: lengths are bytes of UTF-8 to the engine and characters to
 * JSON Schema (maxLength is the same number, so a schema never refuses what
 * the engine takes), and data sent as data_base64 is decoded before it is
 * checked.
 *
 * Pure: no state, any thread. Depends on cJSON and obligo/plugin.h.
 */
#ifndef OBLIGO_SCHEMA_JSON_H
#define OBLIGO_SCHEMA_JSON_H

#include <cjson/cJSON.h>

#include "obligo/plugin.h"

#define SCHEMA_JSON_DIALECT "https://json-schema.org/draft/2020-12/schema"

/* The JSON Schema of one object checked against schema (a type's data, or
 * a nested object); NULL schema: any JSON value (the schema true, as {}).
 * Returns a new object (cJSON_Delete) or NULL when memory ran out. */
cJSON *schema_json_object(const obligo_schema *schema);

/* The JSON Schema of a whole CloudEvent of type et: the envelope as
 * validate_event checks it (specversion "1.0", id and source non-empty
 * strings of at most 1,024 bytes, type the constant et->type, time an RFC
 * 3339 date-time with an offset, subject a string) and data per the type's
 * schema (required for a type with a schema, or data_base64 instead, never
 * both). id is the schema's $id (borrowed; NULL: none); with plugin (may
 * be NULL) the schema names the plugin that registered the type.
 * Returns a new object (cJSON_Delete) or NULL when memory ran out. */
cJSON *schema_json_event(const obligo_event_type *et, const char *id, const char *plugin);

#endif
