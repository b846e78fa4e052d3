/*
 * alloc.h — the engine's one allocator family.
 *
 * All engine memory goes through these wrappers so tests can make the Nth
 * allocation fail (alloc_fail_after) and prove that out-of-memory paths
 * neither crash nor leak. Any thread may call them; the failure hook is a
 * test facility and is not meant to be changed while threads allocate.
 */
#ifndef OBLIGO_ALLOC_H
#define OBLIGO_ALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *obligo_malloc(size_t n);
void *obligo_calloc(size_t count, size_t n);
void *obligo_realloc(void *p, size_t n);
void obligo_free(void *p);
/* Returns a copy the caller owns, or NULL (also when s is NULL). */
char *obligo_strdup(const char *s);
char *obligo_strndup(const char *s, size_t n);
/* printf into a new string the caller owns; NULL on failure. */
char *obligo_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *obligo_vasprintf(const char *fmt, va_list ap);

/* Test hook: allocation number n (counted from this call, 1-based) and every
 * one after it fail. n = 0 switches the hook off. */
void alloc_fail_after(long n);
/* Test hook: 1 when an allocation has failed by the hook since the last
 * alloc_fail_after. */
int alloc_failed(void);

#endif
