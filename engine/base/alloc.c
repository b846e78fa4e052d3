/*
 * alloc.c — the allocator family of alloc.h, with an out-of-memory hook for
 * tests.
 */
#include "alloc.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_countdown; /* 0: hook off */
static atomic_int failed;          /* the hook made one fail */

static int should_fail(void)
{
    long left = atomic_load(&fail_countdown);
    if (left == 0)
        return 0;
    if (left == 1) {
        atomic_store(&failed, 1);
        return 1; /* stay at 1: every later allocation fails too */
    }
    atomic_fetch_sub(&fail_countdown, 1);
    return 0;
}

void alloc_fail_after(long n)
{
    atomic_store(&fail_countdown, n < 0 ? 0 : n);
    atomic_store(&failed, 0);
}

int alloc_failed(void)
{
    return atomic_load(&failed);
}

void *obligo_malloc(size_t n)
{
    return should_fail() ? NULL : malloc(n ? n : 1);
}

void *obligo_calloc(size_t count, size_t n)
{
    return should_fail() ? NULL : calloc(count ? count : 1, n ? n : 1);
}

void *obligo_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : realloc(p, n ? n : 1);
}

void obligo_free(void *p)
{
    free(p);
}

char *obligo_strndup(const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *d = obligo_malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *obligo_strdup(const char *s)
{
    return s ? obligo_strndup(s, strlen(s)) : NULL;
}

char *obligo_vasprintf(const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return NULL;
    char *s = obligo_malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

char *obligo_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = obligo_vasprintf(fmt, ap);
    va_end(ap);
    return s;
}
