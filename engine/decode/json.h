/*
 * json.h — attaching to cJSON objects without leaking under out of memory,
 * and the JSON rules cJSON does not enforce: on the text (json_text_check)
 * and on the parsed tree (json_tree_check).
 *
 * cJSON_AddItemToObject copies the key, which can fail; the item is then
 * neither attached nor freed. json_put frees it in that case.
 */
#ifndef OBLIGO_JSON_H
#define OBLIGO_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <string.h>

/* What json_text_check finds in JSON text that cJSON would take but
 * could not keep as sent. */
typedef enum {
    JSON_TEXT_OK,
    /* A raw control character: JSON (RFC 8259) allows only blanks (space,
     * tab, CR, LF) between tokens and none at all inside strings, where
     * they are written escaped (\n, \t). A raw NUL cuts a string short. */
    JSON_TEXT_RAW_CONTROL,
    /* \u0000 inside a string: valid JSON, but cJSON's strings end at a NUL,
     * so the rest of the string would be lost without a word. */
    JSON_TEXT_ESCAPED_NUL,
} json_text_problem;

/* Returns the offset of the first problem in text[0..len) and sets *what,
 * or returns -1 (and JSON_TEXT_OK) when there is none. For an escaped NUL
 * the offset is that of its backslash. */
static inline long json_text_check(const char *text, size_t len, json_text_problem *what)
{
    int in_string = 0, escaped = 0;
    *what = JSON_TEXT_OK;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (in_string) {
            if (escaped) {
                escaped = 0;
                if (c == 'u' && len - i > 4 && memcmp(text + i + 1, "0000", 4) == 0) {
                    *what = JSON_TEXT_ESCAPED_NUL;
                    return (long)i - 1;
                }
            } else if (c == '\\') {
                escaped = 1;
            } else if (c == '"') {
                in_string = 0;
            }
            if (c < 0x20) {
                *what = JSON_TEXT_RAW_CONTROL;
                return (long)i;
            }
        } else if (c == '"') {
            in_string = 1;
        } else if (c < 0x20 && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            *what = JSON_TEXT_RAW_CONTROL;
            return (long)i;
        }
    }
    return -1;
}

/* What the parsed tree root holds that cJSON took but the engine could
 * not keep as it was sent (RFC 8259 leaves both to the implementation):
 *   - a member name twice in one object, at any depth: cJSON keeps both
 *     as siblings, lookups see the first, and a reader of the journaled
 *     text that keeps the last would see another event;
 *   - a number beyond a double's range (1e400): cJSON holds infinity and
 *     prints it back as null.
 * Returns 0; OBLIGO_EINVAL with *field, the JSON path of the offending
 * member ("data.user.id", "entry[2].resource.id"; NULL for the top of the
 * document), and *reason naming it ("data.user.id: duplicate member name
 * \"id\""), both new strings the caller frees with obligo_free; or
 * OBLIGO_ENOMEM with both NULL. The first problem found walking depth
 * first is named; in one object, duplicates before its members' values.
 * One walk of the tree, and O(m log m) for an object of m members (the
 * names are sorted). Any thread. Defined in json.c. */
int json_tree_check(const cJSON *root, char **field, char **reason);

/* Adds item (taken over, may be NULL) under key. 0, or -1 after freeing
 * item when it is NULL or could not be added. */
static inline int json_put(cJSON *obj, const char *key, cJSON *item)
{
    if (item && obj && cJSON_AddItemToObject(obj, key, item))
        return 0;
    cJSON_Delete(item);
    return -1;
}

/* Replaces the member key with item (taken over) in its place, or adds it
 * at the end. 0, or -1 after freeing item. */
static inline int json_set(cJSON *obj, const char *key, cJSON *item)
{
    cJSON *old = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!old || !item)
        return json_put(obj, key, item);
    size_t n = strlen(key) + 1;
    char *name = cJSON_malloc(n);
    if (!name) {
        cJSON_Delete(item);
        return -1;
    }
    memcpy(name, key, n);
    if (item->string && !(item->type & cJSON_StringIsConst))
        cJSON_free(item->string);
    item->type &= ~cJSON_StringIsConst;
    item->string = name;
    return cJSON_ReplaceItemViaPointer(obj, old, item) ? 0 : -1;
}

#endif
