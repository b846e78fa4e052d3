/*
 * decode.h — bytes to a validated event: the text checked as JSON the
 * engine can keep faithfully (json.h), parsed as one value, checked for
 * duplicate names and numbers past a double, and validated against its
 * type's schema (validate.h). Every error names the byte or the field.
 */
#ifndef OBLIGO_DECODE_H
#define OBLIGO_DECODE_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "validate.h"

typedef struct decode_rules {
    size_t max_event_bytes;
    const validate_catalogue *catalogue; /* the event types known (NULL: none) */
    int allow_unknown_types;
} decode_rules;

/* Parses and validates one event. Returns the parsed event (caller frees
 * with cJSON_Delete), or NULL with *field (may be NULL: not JSON at all)
 * and *reason set (caller frees both).
 *
 * data_base64 (CloudEvents JSON format §3.1): an event may carry its data
 * as base64 instead of JSON, not both (refused, field data_base64). When
 * its datacontenttype is JSON (decode_media_is_json) or absent, the
 * decoded bytes must be JSON held to the same rules as the rest of the
 * event, and the returned event has them as `data` (data_base64 removed),
 * so that the schema and the rules read them as if sent as `data`; the raw
 * bytes stay as they are, so whoever decodes them again (obligo replay,
 * ingest) gets the same event. Any other datacontenttype leaves
 * data_base64 as it is: such an event is refused for a catalogue type
 * whose data has a schema (it needs JSON data), and taken as it is for
 * other types. */
cJSON *decode_event(const decode_rules *how, const char *raw, size_t len, char **field,
                    char **reason);

/* 1 when the media type (lower-case, parameters allowed after ';') is
 * JSON for CloudEvents: application/json, text/json or a +json suffix. */
int decode_media_is_json(const char *media_type);

/* Why JSON text cannot be taken as sent (a raw control character, or
 * \u0000 in a string), naming the byte; NULL when it can (or when the
 * reason could not be allocated: then *oom is set). Caller frees. */
char *decode_text_problem(const char *text, size_t len, int *oom);

/* decode_text_problem, then, for text that parses, json_tree_check: the
 * host's check of a JSON adapter document before the plugin reads it. NULL
 * when there is nothing to say (text that does not parse is the adapter's
 * to refuse); *field names the path when it can. Caller frees both. */
char *decode_json_problem(const char *text, size_t len, char **field, int *oom);

#endif
