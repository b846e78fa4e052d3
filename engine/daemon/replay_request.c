/*
 * replay_request.c — the body of POST /v1/replay as rule sources and
 * filters (replay_request.h): a JSON object of files, or a tar read with
 * libarchive from memory. Nothing is written anywhere; a tar's entries are
 * only ever copied into memory, so a hostile name cannot reach the file
 * system, and is refused anyway so the client hears why.
 */
#include "replay_request.h"

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

/* Refuses the request: status, message (printf) and field (may be NULL).
 * Always -1. */
__attribute__((format(printf, 4, 5))) static int rq_refuse(replay_request *r, int status,
                                                           const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    obligo_free(r->error);
    r->error = obligo_vasprintf(fmt, ap);
    va_end(ap);
    obligo_free(r->field);
    r->field = field ? obligo_strdup(field) : NULL;
    r->status = status;
    return -1;
}

static int rq_ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Checks that path is a plain relative path: 0; 1 when it is hidden (a
 * component starts with '.', but none is "." or ".."); or -1 with *why. */
static int rq_path_check(const char *path, const char **why)
{
    if (!*path) {
        *why = "is empty";
        return -1;
    }
    if (path[0] == '/') {
        *why = "is absolute; paths are relative to the rule directory";
        return -1;
    }
    int hidden = 0, depth = 0;
    for (const char *p = path;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0) {
            *why = "has an empty component";
            return -1;
        }
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
            *why = "has a '.' or '..' component";
            return -1;
        }
        if (p[0] == '.')
            hidden = 1;
        if (!slash)
            break;
        if (++depth > REPLAY_REQUEST_MAX_DEPTH) {
            *why = "is more than 8 folders deep";
            return -1;
        }
        p = slash + 1;
    }
    for (const char *p = path; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == '\\') {
            *why = "holds a control character or a backslash";
            return -1;
        }
    }
    return hidden;
}

/* Adds a file (path and text copied), checking the limits. 0 or -1
 * (refused). */
static int rq_add(replay_request *r, int *cap, size_t *total, const char *path, const char *text,
                  size_t len)
{
    if (r->src.n >= REPLAY_REQUEST_MAX_FILES)
        return rq_refuse(r, 413, "rules", "more than %d rule files", REPLAY_REQUEST_MAX_FILES);
    if (len > REPLAY_REQUEST_MAX_FILE_BYTES)
        return rq_refuse(r, 413, "rules", "%s: more than %zu bytes (4 MiB) in one rule file", path,
                         REPLAY_REQUEST_MAX_FILE_BYTES);
    if (len > REPLAY_REQUEST_MAX_TOTAL_BYTES - *total)
        return rq_refuse(r, 413, "rules", "the rule files hold more than %zu bytes (16 MiB) in all",
                         REPLAY_REQUEST_MAX_TOTAL_BYTES);
    if (rules_sources_find(&r->src, path))
        return rq_refuse(r, 400, "rules", "%s: the same path twice", path);
    if (r->src.n == *cap) {
        int ncap = *cap ? *cap * 2 : 16;
        rules_file *nf = obligo_realloc(r->src.files, (size_t)ncap * sizeof *nf);
        if (!nf)
            return rq_refuse(r, 503, NULL, "out of memory");
        r->src.files = nf;
        *cap = ncap;
    }
    rules_file *f = &r->src.files[r->src.n];
    memset(f, 0, sizeof *f);
    f->path = obligo_strdup(path);
    f->text = obligo_malloc(len ? len : 1);
    if (!f->path || !f->text) {
        obligo_free(f->path);
        obligo_free(f->text);
        return rq_refuse(r, 503, NULL, "out of memory");
    }
    if (len)
        memcpy(f->text, text, len);
    f->len = len;
    f->is_test = rq_ends_with(path, "_test.lua");
    r->src.n++;
    *total += len;
    return 0;
}

static int rq_cmp_file(const void *a, const void *b)
{
    return strcmp(((const rules_file *)a)->path, ((const rules_file *)b)->path);
}

/* In path order, as rules_sources_read has them; at least one rule file. */
static int rq_finish_files(replay_request *r)
{
    int nrules = 0;
    for (int i = 0; i < r->src.n; i++)
        nrules += !r->src.files[i].is_test;
    if (!nrules)
        return rq_refuse(r, 400, "rules", "no rule file (*.lua, not *_test.lua) to replay with");
    qsort(r->src.files, (size_t)r->src.n, sizeof *r->src.files, rq_cmp_file);
    return 0;
}

/* ---- the filters ------------------------------------------------------------ */

/* since, until and type (each may be NULL), checked as `obligo replay`
 * checks its options. */
static int rq_filters(replay_request *r, const char *since, const char *until, const char *type)
{
    if (since && clock_parse_any(since, &r->since))
        return rq_refuse(r, 400, "since", "since '%s' is not an RFC 3339 time", since);
    if (until && clock_parse_any(until, &r->until))
        return rq_refuse(r, 400, "until", "until '%s' is not an RFC 3339 time", until);
    if (since && until && r->since > r->until)
        return rq_refuse(r, 400, "since", "since %s is after until %s", since, until);
    if (type && !*type)
        return rq_refuse(r, 400, "type", "type needs a type or a prefix ending in '*'");
    if (type && !(r->type = obligo_strdup(type)))
        return rq_refuse(r, 503, NULL, "out of memory");
    return 0;
}

static int rq_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes n bytes at s into a new string; NULL when malformed
 * (a bad escape, or one that decodes to NUL) or out of memory (*oom). */
static char *rq_decode(const char *s, size_t n, int *oom)
{
    char *out = obligo_malloc(n + 1);
    if (!out) {
        *oom = 1;
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        int hi = i + 2 < n ? rq_hex(s[i + 1]) : -1;
        int lo = i + 2 < n ? rq_hex(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            obligo_free(out);
            return NULL;
        }
        out[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[o] = '\0';
    return out;
}

/* The filters of a tar request from its query string: since, until and
 * type, each at most once; anything else is refused. */
static int rq_query(replay_request *r, const char *query)
{
    static const char *const names[] = {"since", "until", "type"};
    char *vals[3] = {NULL, NULL, NULL};
    int rc = 0;
    for (const char *p = query; !rc && p && *p;) {
        const char *amp = strchr(p, '&');
        const char *end = amp ? amp : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        size_t nlen = (size_t)((eq ? eq : end) - p);
        int k = -1;
        for (int i = 0; i < 3; i++)
            if (nlen == strlen(names[i]) && strncmp(p, names[i], nlen) == 0)
                k = i;
        if (nlen == 0 && end == p) {
            /* an empty piece ("a=1&&b=2"): nothing */
        } else if (k < 0) {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(nlen < 60 ? nlen : 60), p);
            rc = rq_refuse(r, 400, name,
                           "unknown parameter '%s'; a tar request takes since, until and type",
                           name);
        } else if (vals[k]) {
            rc = rq_refuse(r, 400, names[k], "%s is given twice", names[k]);
        } else {
            int oom = 0;
            const char *v = eq ? eq + 1 : end;
            vals[k] = rq_decode(v, (size_t)(end - v), &oom);
            if (!vals[k])
                rc = oom ? rq_refuse(r, 503, NULL, "out of memory")
                         : rq_refuse(r, 400, names[k], "%s is not percent-encoded correctly",
                                     names[k]);
        }
        p = amp ? amp + 1 : NULL;
    }
    if (!rc)
        rc = rq_filters(r, vals[0], vals[1], vals[2]);
    for (int i = 0; i < 3; i++)
        obligo_free(vals[i]);
    return rc;
}

static int rq_start(replay_request *r)
{
    memset(r, 0, sizeof *r);
    r->src.dir = obligo_strdup("");
    return r->src.dir ? 0 : rq_refuse(r, 503, NULL, "out of memory");
}

/* ---- application/json --------------------------------------------------------- */

static int rq_json_string(replay_request *r, const cJSON *o, const char *name, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    *out = NULL;
    if (!v)
        return 0;
    if (!cJSON_IsString(v))
        return rq_refuse(r, 400, name, "%s must be a string", name);
    *out = v->valuestring;
    return 0;
}

static int rq_json_body(replay_request *r, const cJSON *body)
{
    if (!cJSON_IsObject(body))
        return rq_refuse(r, 400, NULL,
                         "the body must be a JSON object: {\"rules\": {\"path.lua\": \"source\", "
                         "...}, \"since\", \"until\", \"type\"}");
    const cJSON *m;
    cJSON_ArrayForEach(m, body)
    {
        if (strcmp(m->string, "rules") != 0 && strcmp(m->string, "since") != 0 &&
            strcmp(m->string, "until") != 0 && strcmp(m->string, "type") != 0)
            return rq_refuse(r, 400, m->string,
                             "unknown member '%s'; the body takes rules, since, until and type",
                             m->string);
        for (const cJSON *n = m->next; n; n = n->next)
            if (strcmp(n->string, m->string) == 0)
                return rq_refuse(r, 400, m->string, "%s is given twice", m->string);
    }
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(body, "rules");
    if (!files)
        return rq_refuse(r, 400, "rules",
                         "rules is required: an object of rule files, {\"path.lua\": \"source\"}");
    if (!cJSON_IsObject(files) || !files->child)
        return rq_refuse(
            r, 400, "rules",
            "rules must be a non-empty object of rule files, {\"path.lua\": \"source\"}");
    int cap = 0;
    size_t total = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, files)
    {
        const char *why = NULL;
        int kind = rq_path_check(f->string, &why);
        if (kind < 0)
            return rq_refuse(r, 400, "rules", "rule file '%s' %s", f->string, why);
        if (kind > 0)
            return rq_refuse(r, 400, "rules",
                             "rule file '%s' is hidden (a name starts with '.'), which a rule "
                             "directory's reading would skip",
                             f->string);
        if (!rq_ends_with(f->string, ".lua"))
            return rq_refuse(r, 400, "rules", "rule file '%s' does not end in .lua", f->string);
        if (!cJSON_IsString(f))
            return rq_refuse(r, 400, "rules", "rule file '%s' must be a string (its source)",
                             f->string);
        if (rq_add(r, &cap, &total, f->string, f->valuestring, strlen(f->valuestring)))
            return -1;
    }
    const char *since, *until, *type;
    if (rq_json_string(r, body, "since", &since) || rq_json_string(r, body, "until", &until) ||
        rq_json_string(r, body, "type", &type))
        return -1;
    if (rq_filters(r, since, until, type))
        return -1;
    return rq_finish_files(r);
}

int replay_request_json(const char *body, size_t len, const char *query, replay_request *out)
{
    if (rq_start(out))
        return -1;
    if (query && *query)
        return rq_refuse(out, 400, NULL,
                         "a JSON request takes no query parameters: since, until and type go in "
                         "its body");
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!j) {
        /* cJSON says NULL for bad JSON and for no memory alike */
        return rq_refuse(out, 400, NULL, "the body is not valid JSON");
    }
    int rc = rq_json_body(out, j);
    cJSON_Delete(j);
    return rc;
}

/* ---- application/x-tar ------------------------------------------------------------ */

/* Reads the entry's data (at most REPLAY_REQUEST_MAX_FILE_BYTES + 1 bytes,
 * so a file that is too big is seen to be) into *buf. */
static int rq_tar_data(replay_request *r, struct archive *a, const char *name, char **buf,
                       size_t *len)
{
    size_t cap = 8192, n = 0;
    char *b = obligo_malloc(cap);
    if (!b)
        return rq_refuse(r, 503, NULL, "out of memory");
    for (;;) {
        if (n == cap) {
            if (cap > REPLAY_REQUEST_MAX_FILE_BYTES) {
                obligo_free(b);
                return rq_refuse(r, 413, "rules",
                                 "%s: more than %zu bytes (4 MiB) in one rule file", name,
                                 REPLAY_REQUEST_MAX_FILE_BYTES);
            }
            char *nb = obligo_realloc(b, cap * 2);
            if (!nb) {
                obligo_free(b);
                return rq_refuse(r, 503, NULL, "out of memory");
            }
            b = nb;
            cap *= 2;
        }
        la_ssize_t got = archive_read_data(a, b + n, cap - n);
        if (got < 0) {
            obligo_free(b);
            return rq_refuse(r, 400, "rules", "%s: cannot read the entry: %s", name,
                             archive_error_string(a) ? archive_error_string(a) : "?");
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    *buf = b;
    *len = n;
    return 0;
}

/* One entry of the tar: skipped, added, or the request refused. */
static int rq_tar_entry(replay_request *r, struct archive *a, struct archive_entry *e, int *cap,
                        size_t *total)
{
    const char *raw = archive_entry_pathname(e);
    if (!raw)
        return rq_refuse(r, 400, "rules", "a tar entry has no name (or one not in UTF-8)");
    const char *name = strncmp(raw, "./", 2) == 0 ? raw + 2 : raw;
    mode_t type = archive_entry_filetype(e);
    const char *link = archive_entry_hardlink(e);
    if (!link)
        link = archive_entry_symlink(e);
    if (link || type == AE_IFLNK)
        return rq_refuse(r, 400, "rules",
                         "tar entry '%s' is a link (to '%s'); only regular files are taken", raw,
                         link ? link : "?");
    /* the directory itself: "." or "./" */
    if (type == AE_IFDIR && (!*name || strcmp(name, ".") == 0 || strcmp(raw, ".") == 0))
        return 0;
    size_t nl = strlen(name);
    char *path = obligo_strndup(name, type == AE_IFDIR && nl && name[nl - 1] == '/' ? nl - 1 : nl);
    if (!path)
        return rq_refuse(r, 503, NULL, "out of memory");
    const char *why = NULL;
    int kind = rq_path_check(path, &why);
    int rc = 0;
    if (kind < 0) {
        rc = rq_refuse(r, 400, "rules", "tar entry '%s' %s", raw, why);
    } else if (type != AE_IFDIR && type != AE_IFREG) {
        rc = rq_refuse(r, 400, "rules",
                       "tar entry '%s' is not a regular file or a folder (a device, FIFO or "
                       "socket); only regular files are taken",
                       raw);
    } else if (type == AE_IFDIR || kind > 0 || !rq_ends_with(path, ".lua")) {
        /* folders, hidden entries and files that are not rules: skipped, as
         * reading a directory skips them */
    } else if (archive_entry_size_is_set(e) &&
               archive_entry_size(e) > (la_int64_t)REPLAY_REQUEST_MAX_FILE_BYTES) {
        rc = rq_refuse(r, 413, "rules", "%s: more than %zu bytes (4 MiB) in one rule file", path,
                       REPLAY_REQUEST_MAX_FILE_BYTES);
    } else {
        char *text = NULL;
        size_t len = 0;
        rc = rq_tar_data(r, a, path, &text, &len);
        if (!rc)
            rc = rq_add(r, cap, total, path, text, len);
        obligo_free(text);
    }
    obligo_free(path);
    return rc;
}

int replay_request_tar(const char *body, size_t len, const char *query, replay_request *out)
{
    if (rq_start(out))
        return -1;
    if (rq_query(out, query))
        return -1;
    struct archive *a = archive_read_new();
    if (!a)
        return rq_refuse(out, 503, NULL, "out of memory");
    /* tar only (ustar, pax, GNU); no compression: the media type is a tar */
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    int rc = 0, entries = 0;
    if (archive_read_open_memory(a, body, len) != ARCHIVE_OK) {
        rc = rq_refuse(out, 400, NULL, "the body is not a tar archive: %s",
                       archive_error_string(a) ? archive_error_string(a) : "?");
    }
    int cap = 0;
    size_t total = 0;
    while (!rc) {
        struct archive_entry *e = NULL;
        int st = archive_read_next_header(a, &e);
        if (st == ARCHIVE_EOF)
            break;
        if (st != ARCHIVE_OK && st != ARCHIVE_WARN) {
            rc = rq_refuse(out, 400, NULL, "the body is not a tar archive: %s",
                           archive_error_string(a) ? archive_error_string(a) : "?");
            break;
        }
        /* bounds the work a tar of many tiny or empty entries can cause */
        if (++entries > 4 * REPLAY_REQUEST_MAX_FILES) {
            rc = rq_refuse(out, 413, "rules", "more than %d entries in the tar",
                           4 * REPLAY_REQUEST_MAX_FILES);
            break;
        }
        rc = rq_tar_entry(out, a, e, &cap, &total);
    }
    archive_read_free(a);
    if (!rc)
        rc = rq_finish_files(out);
    return rc;
}

void replay_request_free(replay_request *r)
{
    rules_sources_free(&r->src);
    obligo_free(r->type);
    obligo_free(r->error);
    obligo_free(r->field);
    memset(r, 0, sizeof *r);
}
