/*
 * validate.h — the CloudEvents envelope (DESIGN §1) and the schema check of
 * an event's data, done in C before anything is journaled.
 *
 * The engine core knows no regulation: which event types exist and what
 * their data looks like comes from a catalogue (the regulation plugins'
 * registrations, DESIGN §3 and §6), handed in by the caller. The same schema
 * interpreter checks plugin configuration (validate_value).
 *
 * Pure and thread-safe as long as the catalogue's lookup is: no state of its
 * own.
 */
#ifndef OBLIGO_VALIDATE_H
#define OBLIGO_VALIDATE_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "obligo/plugin.h"

/* What the validator says about one event. field is a JSON path such as
 * "data.user.id" or "time", message a sentence for a person; both owned by
 * the struct (use validate_result_clear). */
typedef struct validate_result {
    char *field;   /* owned */
    char *message; /* owned */
} validate_result;

/* The event types the validator knows. lookup returns the registered type
 * named `type` (borrowed; it must outlive the call), or NULL when no plugin
 * registered it; ud is handed back to it unchanged (plugins_lookup over the
 * plugin registry is the usual pair). */
typedef struct validate_catalogue {
    const obligo_event_type *(*lookup)(const void *ud, const char *type);
    const void *ud;
    /* May be NULL. For a type lookup misses: the registered type it most
     * likely misspells when it lies in a namespace the catalogue owns
     * (plugins_closest_type), else NULL. Such a type is refused whatever
     * allow_unknown says: it would be accepted and never fire. */
    const char *(*closest)(const void *ud, const char *type);
} validate_catalogue;

/* Checks an event object: specversion "1.0"; id, source, type non-empty
 * strings; time RFC 3339 with offset; subject, when present, a string; then,
 * for a type the catalogue knows, its data against the type's schema:
 * required fields, kinds (string, bool, count, object, list of enum, time,
 * date or time), enums and one-of rules. A known type whose schema is NULL
 * takes any data, or none. A type the catalogue does not know is rejected
 * when it lies in a namespace the catalogue owns (closest, naming the
 * registered type it probably means), else accepted (with any data) when
 * allow_unknown is non-zero, else rejected. cat is
 * borrowed and may be NULL: then no type is known. Returns 0 with *res
 * empty, OBLIGO_EINVAL with *res filled (the first problem found), or
 * OBLIGO_ENOMEM with *res empty. res may be NULL when only the verdict
 * matters. Any thread. */
int validate_event(const cJSON *event, const validate_catalogue *cat, int allow_unknown,
                   validate_result *res);

/* Checks value, which must be an object, against schema (borrowed; NULL
 * accepts any value at all). Error fields are JSON paths prefixed with
 * path: "plugins.fhir" names a member "plugins.fhir.base_url", "" names it
 * "base_url". Used for events' data and for plugin configuration. Returns
 * as validate_event. Any thread. */
int validate_value(const cJSON *value, const obligo_schema *schema, const char *path,
                   validate_result *res);

/* Frees the strings of res and empties it; res may be NULL. */
void validate_result_clear(validate_result *res);

/* Offset of the first byte of the len bytes at s that is a NUL or does not
 * begin a well-formed UTF-8 character (RFC 3629), or -1 when there is none.
 * For text the engine did not parse itself, such as what rules produce. */
long validate_text_bad(const char *s, size_t len);

#endif
