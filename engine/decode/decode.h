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
 * and *reason set (caller frees both). */
cJSON *decode_event(const decode_rules *how, const char *raw, size_t len, char **field,
                    char **reason);

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
