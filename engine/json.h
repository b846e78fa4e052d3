/*
 * json.h — attaching to cJSON objects without leaking under out of memory.
 *
 * cJSON_AddItemToObject copies the key, which can fail; the item is then
 * neither attached nor freed. json_put frees it in that case.
 */
#ifndef OBLIGO_JSON_H
#define OBLIGO_JSON_H

#include <cjson/cJSON.h>
#include <string.h>

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
