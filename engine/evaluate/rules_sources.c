/*
 * rules_sources.c — reading a rule directory into memory (rules_sources_read,
 * rules.h): every *.lua file under it, in path order, read once, so the
 * bytes that are hashed, checked and tested are the bytes compiled.
 *
 * The first step of loading, before any Lua: depends only on the file
 * system and alloc.h.
 */
#include "rules.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "error.h"

typedef struct rules_files {
    char **path;
    int n, cap;
} rules_files;

static int rules_ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int rules_scan(const char *dir, rules_files *f, int depth)
{
    if (depth > 8)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return OBLIGO_EIO;
    struct dirent *ent;
    int rc = 0;
    while (!rc && (ent = readdir(d))) {
        if (ent->d_name[0] == '.')
            continue;
        char *p = obligo_asprintf("%s/%s", dir, ent->d_name);
        if (!p) {
            rc = OBLIGO_ENOMEM;
            break;
        }
        struct stat sb;
        if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            rc = rules_scan(p, f, depth + 1);
            obligo_free(p);
        } else if (rules_ends_with(p, ".lua")) {
            if (f->n == f->cap) {
                int cap = f->cap ? f->cap * 2 : 16;
                char **np = obligo_realloc(f->path, (size_t)cap * sizeof *np);
                if (!np) {
                    obligo_free(p);
                    rc = OBLIGO_ENOMEM;
                    break;
                }
                f->path = np;
                f->cap = cap;
            }
            f->path[f->n++] = p;
        } else {
            obligo_free(p);
        }
    }
    closedir(d);
    return rc;
}

static int rules_cmp_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The whole of a rule file, read once: the bytes hashed into the revision
 * are the bytes compiled. Returns 0, OBLIGO_EIO or OBLIGO_ENOMEM. */
#define RULES_MAX_FILE_BYTES ((size_t)4 << 20)
static int rules_read_file(const char *path, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return OBLIGO_EIO;
    size_t cap = 8192, n = 0;
    char *buf = obligo_malloc(cap);
    int rc = buf ? 0 : OBLIGO_ENOMEM;
    while (!rc) {
        if (n == cap) {
            char *nb = cap < RULES_MAX_FILE_BYTES ? obligo_realloc(buf, cap * 2) : NULL;
            if (!nb) {
                rc = cap < RULES_MAX_FILE_BYTES ? OBLIGO_ENOMEM : OBLIGO_EIO;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0) {
            rc = ferror(fp) ? OBLIGO_EIO : 0;
            break;
        }
    }
    fclose(fp);
    if (rc) {
        obligo_free(buf);
        return rc;
    }
    *out = buf;
    *len = n;
    return 0;
}

int rules_sources_read(const char *dir, rules_sources *out, char **err)
{
    memset(out, 0, sizeof *out);
    *err = NULL;
    /* "rules/" and "rules" are the same directory; keep paths in messages
     * free of "//" */
    char *clean = obligo_strdup(dir);
    if (!clean)
        return OBLIGO_ENOMEM;
    for (size_t n = strlen(clean); n > 1 && clean[n - 1] == '/'; n--)
        clean[n - 1] = '\0';
    rules_files files = {0};
    int rc = rules_scan(clean, &files, 0);
    out->dir = clean;
    if (rc == OBLIGO_EIO)
        *err = obligo_asprintf("%s: cannot read the rules directory", dir);
    if (!rc && files.n) {
        qsort(files.path, (size_t)files.n, sizeof *files.path, rules_cmp_path);
        out->files = obligo_calloc((size_t)files.n, sizeof *out->files);
        rc = out->files ? 0 : OBLIGO_ENOMEM;
    }
    for (int i = 0; !rc && i < files.n; i++) {
        rules_file *f = &out->files[out->n++];
        f->path = files.path[i];
        files.path[i] = NULL;
        f->is_test = rules_ends_with(f->path, "_test.lua");
        rc = rules_read_file(f->path, &f->text, &f->len);
        if (rc == OBLIGO_EIO)
            *err = obligo_asprintf("%s: cannot read the rule file", f->path);
    }
    for (int i = 0; i < files.n; i++)
        obligo_free(files.path[i]);
    obligo_free(files.path);
    if (rc)
        rules_sources_free(out);
    return rc;
}

void rules_sources_free(rules_sources *s)
{
    for (int i = 0; i < s->n; i++) {
        obligo_free(s->files[i].path);
        obligo_free(s->files[i].text);
    }
    obligo_free(s->files);
    obligo_free(s->dir);
    memset(s, 0, sizeof *s);
}

const rules_file *rules_sources_find(const rules_sources *s, const char *path)
{
    for (int i = 0; path && i < s->n; i++)
        if (strcmp(s->files[i].path, path) == 0)
            return &s->files[i];
    return NULL;
}
