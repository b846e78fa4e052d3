/*
 * json.h — attaching to cJSON objects without leaking under out of memory,
 * and the JSON text rule cJSON does not enforce.
 *
 * cJSON_AddItemToObject copies the key, which can fail; the item is then
 * neither attached nor freed. json_put frees it in that case.
 */
#ifndef OBLIGO_JSON_H
#define OBLIGO_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <string.h>

/* JSON text holds no raw control characters (RFC 8259): outside strings
 * only blanks (space, tab, CR, LF), inside strings none at all — they are
 * written escaped (\n, \u0000). cJSON accepts them, and a raw NUL inside a
 * string silently cuts the string short. Returns the offset of the first
 * such byte in text[0..len), or -1 when there is none. */
static inline long json_raw_control(const char *text, size_t len)
{
    int in_string = 0, escaped = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (in_string) {
            if (escaped)
                escaped = 0;
            else if (c == '\\')
                escaped = 1;
            else if (c == '"')
                in_string = 0;
            if (c < 0x20)
                return (long)i;
        } else if (c == '"') {
            in_string = 1;
        } else if (c < 0x20 && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            return (long)i;
        }
    }
    return -1;
}

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
