/*
 * validate.h — the CloudEvents envelope and the v1 catalogue schemas
 * (DESIGN §1 and §3), checked in C before anything is journaled.
 *
 * Pure and thread-safe: the catalogue is static data.
 */
#ifndef OBLIGO_VALIDATE_H
#define OBLIGO_VALIDATE_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "clock.h"

/* What the validator says about one event. field is a JSON path such as
 * "data.user.id" or "time" (static or owned by the struct; use
 * validate_result_clear), message a sentence for a person. */
typedef struct validate_result {
    char *field;   /* owned */
    char *message; /* owned */
} validate_result;

/* Checks an event object: specversion "1.0"; id, source, type non-empty
 * strings; time RFC 3339 with offset; subject, when present, a string; data
 * an object for every catalogue type; then the type's schema: required
 * fields, types (string, bool, number, object, list of enum), enums, and
 * RFC 3339 times for the *_at fields (a plain date for
 * nen7513.purge.written_before and review period bounds).
 * Unknown types are accepted when allow_unknown is non-zero.
 * Returns 0, or OBLIGO_EINVAL with *res filled, or OBLIGO_ENOMEM. */
int validate_event(const cJSON *event, int allow_unknown, validate_result *res);

/* 1 when type is in the v1 catalogue. */
int validate_known_type(const char *type);

void validate_result_clear(validate_result *res);

#endif
