/*
 * cmd_ingest.c — `obligo ingest`: NDJSON files, or the documents of an input
 * adapter, through the pipeline (cli.h).
 *
 * Two threads share the work on NDJSON. The reading thread (the caller's)
 * reads lines, parses and validates them — engine_decode reads only the
 * configuration and the catalogue — and hands them on in chunks of up to
 * INGEST_CHUNK lines. The engine thread journals and judges a chunk in one
 * transaction, commits it and hands it back; the reading thread frees it.
 * Parsing, validating and freeing the JSON is about a third of the work an
 * event costs, so on two cores the engine thread does the rest at once.
 * The engine is used by one thread at a time: the engine thread from its
 * start until it is joined, the caller before and after.
 *
 * A chunk first runs without a savepoint per event. Should one event fail
 * to apply (rare: the database refuses it), the chunk is rolled back and
 * runs again with a savepoint per event, so that event alone is rejected
 * and the good lines around it are kept. Messages about refused lines are
 * printed once their chunk is committed, in line order.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "alloc.h"
#include "cli.h"
#include "cli_common.h"
#include "engine.h"
#include "error.h"

/* Lines per chunk, and so per transaction: a large file is durable in
 * steps and a transaction stays small. */
#define INGEST_CHUNK 1000
/* Chunks handed to the engine thread and not yet taken: enough to keep it
 * busy while the reader parses the next, few enough to bound memory. */
#define INGEST_AHEAD 2
/* Internal: the optimistic pass met an event that must be rejected alone. */
#define INGEST_RETRY 1

static const char ingest_usage[] =
    "usage: obligo ingest [--config F] [--db F] [--rules DIR] [--plugin-dir DIR]...\n"
    "                     [--clock wall|events] [--until T] [--format ndjson|NAME] FILE...|-\n"
    "Runs NDJSON events (one per line) through the pipeline. Bad lines are reported as\n"
    "FILE:LINE: reason and kept in the rejected table; exit 1 when any was rejected.\n";

typedef struct ingest_item {
    long lineno;
    size_t off, len; /* the line in the chunk's text */
    cJSON *ev;       /* NULL: refused, reason says why */
    char *field, *reason;
    int failed;     /* valid but could not be applied: the error code */
    char *conflict; /* valid, but its source and id name another event: why */
} ingest_item;

typedef struct ingest_chunk {
    struct ingest_chunk *next;
    const char *name; /* the file as shown in messages */
    int n;
    char *text; /* the lines, each followed by a NUL */
    size_t text_len, text_cap;
    ingest_item items[INGEST_CHUNK];
} ingest_chunk;

typedef struct ingest_run {
    engine *e;
    int clock_events;
    long rejected;   /* by the engine's thread */
    long unreadable; /* files that could not be opened, by the reader */
    long lines;
} ingest_run;

/* ---- chunks --------------------------------------------------------------- */

static void ingest_chunk_free(ingest_chunk *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++) {
        cJSON_Delete(c->items[i].ev);
        obligo_free(c->items[i].field);
        obligo_free(c->items[i].reason);
        obligo_free(c->items[i].conflict);
    }
    obligo_free(c->text);
    obligo_free(c);
}

static void ingest_chunks_free(ingest_chunk *c)
{
    while (c) {
        ingest_chunk *next = c->next;
        ingest_chunk_free(c);
        c = next;
    }
}

static ingest_chunk *ingest_chunk_new(const char *name)
{
    ingest_chunk *c = obligo_malloc(sizeof *c);
    if (!c)
        return NULL;
    c->next = NULL;
    c->name = name;
    c->n = 0;
    c->text_len = 0;
    c->text_cap = (size_t)256 * 1024;
    if (!(c->text = obligo_malloc(c->text_cap))) {
        obligo_free(c);
        return NULL;
    }
    return c;
}

/* Adds a line: keeps a copy and decodes it, or records why it is refused
 * (truncated: only its first max_event_bytes were kept). */
static int ingest_chunk_add(ingest_chunk *c, engine *e, long lineno, const char *line, size_t len,
                            int truncated)
{
    if (c->text_len + len + 1 > c->text_cap) {
        size_t cap = c->text_cap;
        while (c->text_len + len + 1 > cap)
            cap *= 2;
        char *t = obligo_realloc(c->text, cap);
        if (!t)
            return OBLIGO_ENOMEM;
        c->text = t;
        c->text_cap = cap;
    }
    ingest_item *it = &c->items[c->n];
    memset(it, 0, sizeof *it);
    it->lineno = lineno;
    it->off = c->text_len;
    it->len = len;
    memcpy(c->text + c->text_len, line, len);
    c->text[c->text_len + len] = '\0';
    c->text_len += len + 1;
    if (truncated)
        it->reason =
            obligo_asprintf("event is larger than the limit of %zu bytes", e->cfg->max_event_bytes);
    else
        it->ev = engine_decode(e, c->text + it->off, len, &it->field, &it->reason);
    if (!it->ev && !it->reason) {
        obligo_free(it->field);
        return OBLIGO_ENOMEM;
    }
    c->n++;
    return 0;
}

/* ---- the engine's side ------------------------------------------------------ */

/* An event whose source and id were journaled with other content: kept
 * in rejected with both digests, and reported like any refused line. */
static int ingest_conflict(ingest_run *r, ingest_item *it, const char *origin, const char *raw)
{
    obligo_free(it->conflict);
    it->conflict = engine_conflict_reason(r->e, raw, it->len);
    if (!it->conflict)
        return OBLIGO_ENOMEM;
    r->rejected++;
    return engine_reject(r->e, origin, raw, it->len, "id", it->conflict);
}

/* Runs the chunk's lines inside the open transaction. careful: a savepoint
 * per event, and an event that cannot be applied is rejected alone;
 * otherwise such an event stops the pass with INGEST_RETRY. */
static int ingest_chunk_apply(ingest_run *r, ingest_chunk *c, int careful)
{
    engine *e = r->e;
    int rc = 0;
    for (int i = 0; i < c->n && !rc; i++) {
        ingest_item *it = &c->items[i];
        const char *raw = c->text + it->off;
        char origin[512];
        snprintf(origin, sizeof origin, "%s:%ld", c->name, it->lineno);
        it->failed = 0;
        obligo_free(it->conflict);
        it->conflict = NULL;
        if (!it->ev) {
            rc = engine_reject(e, origin, raw, it->len, it->field, it->reason);
            r->rejected++;
            continue;
        }
        if (r->clock_events) {
            obligo_time t;
            const cJSON *ts = cJSON_GetObjectItemCaseSensitive(it->ev, "time");
            if (clock_parse_rfc3339(ts->valuestring, &t) == 0 && t > e->now)
                rc = engine_fire_due(e, t, 0, NULL);
        } else {
            e->now = (obligo_time)time(NULL);
        }
        if (rc)
            break;
        int dup = 0;
        if (!careful) {
            rc = engine_event(e, it->ev, raw, it->len, &dup);
            if (rc && rc != OBLIGO_EFULL && rc != OBLIGO_ENOMEM)
                rc = INGEST_RETRY;
            if (!rc && dup == JOURNAL_CONFLICT)
                rc = ingest_conflict(r, it, origin, raw);
            continue;
        }
        if ((rc = store_savepoint(&e->st)))
            break;
        rc = engine_event(e, it->ev, raw, it->len, &dup);
        if (!rc) {
            rc = store_release(&e->st);
            if (!rc && dup == JOURNAL_CONFLICT)
                rc = ingest_conflict(r, it, origin, raw);
        } else {
            store_rollback_savepoint(&e->st);
            if (rc != OBLIGO_EFULL && rc != OBLIGO_ENOMEM) {
                it->failed = rc;
                rc = engine_reject(e, origin, raw, it->len, NULL, obligo_strerror(rc));
                r->rejected++;
            }
        }
    }
    return rc;
}

/* What was refused in a committed chunk, as FILE:LINE: reason. */
static void ingest_chunk_report(const ingest_chunk *c)
{
    for (int i = 0; i < c->n; i++) {
        const ingest_item *it = &c->items[i];
        if (!it->ev)
            fprintf(stderr, "%s:%ld: %s%s%s\n", c->name, it->lineno, it->field ? it->field : "",
                    it->field ? ": " : "", it->reason);
        else if (it->failed)
            fprintf(stderr, "%s:%ld: could not be applied: %s\n", c->name, it->lineno,
                    obligo_strerror(it->failed));
        else if (it->conflict)
            fprintf(stderr, "%s:%ld: id: %s\n", c->name, it->lineno, it->conflict);
    }
}

/* One chunk, one transaction; alerts are delivered after the commit. */
static int ingest_chunk_run(ingest_run *r, ingest_chunk *c)
{
    engine *e = r->e;
    engine_stats stats = e->stats;
    long rejected = r->rejected;
    obligo_time now = e->now;
    int rc = engine_begin(e);
    if (!rc && (rc = ingest_chunk_apply(r, c, 0)) == INGEST_RETRY) {
        engine_rollback(e);
        e->stats = stats;
        e->now = now;
        r->rejected = rejected;
        if (!(rc = engine_begin(e)))
            rc = ingest_chunk_apply(r, c, 1);
    }
    if (!rc)
        rc = engine_commit(e);
    if (rc) {
        engine_rollback(e);
        return rc;
    }
    engine_deliver(e);
    ingest_chunk_report(c);
    return 0;
}

/* ---- the hand-over between the threads --------------------------------------- */

typedef struct ingest_pipe {
    ingest_run *r;
    uv_mutex_t lock;
    uv_cond_t cond;
    ingest_chunk *todo, *todo_tail; /* for the engine thread */
    int ntodo;
    ingest_chunk *done; /* for the reader to free */
    int closed;         /* the reader has handed on its last chunk */
    int rc;             /* why the engine thread stopped, or 0 */
} ingest_pipe;

static void ingest_engine_main(void *arg)
{
    ingest_pipe *p = arg;
    uv_mutex_lock(&p->lock);
    for (;;) {
        while (!p->todo && !p->closed)
            uv_cond_wait(&p->cond, &p->lock);
        ingest_chunk *c = p->todo;
        if (!c)
            break;
        if (!(p->todo = c->next))
            p->todo_tail = NULL;
        p->ntodo--;
        uv_mutex_unlock(&p->lock);
        int rc = ingest_chunk_run(p->r, c);
        uv_mutex_lock(&p->lock);
        c->next = p->done;
        p->done = c;
        uv_cond_broadcast(&p->cond);
        if (rc) {
            p->rc = rc;
            break;
        }
    }
    uv_mutex_unlock(&p->lock);
}

/* Hands c on (NULL: only collect finished chunks); waits while the engine
 * thread has INGEST_AHEAD chunks waiting. Frees finished chunks. Returns
 * the engine thread's error, if it stopped. */
static int ingest_pipe_push(ingest_pipe *p, ingest_chunk *c)
{
    uv_mutex_lock(&p->lock);
    while (c && p->ntodo >= INGEST_AHEAD && !p->rc)
        uv_cond_wait(&p->cond, &p->lock);
    int rc = p->rc;
    if (c && !rc) {
        if (p->todo_tail)
            p->todo_tail->next = c;
        else
            p->todo = c;
        p->todo_tail = c;
        p->ntodo++;
        uv_cond_broadcast(&p->cond);
        c = NULL;
    }
    ingest_chunk *done = p->done;
    p->done = NULL;
    uv_mutex_unlock(&p->lock);
    ingest_chunk_free(c); /* not taken: the engine thread has stopped */
    ingest_chunks_free(done);
    return rc;
}

/* Reads lines of any length but keeps at most max bytes of each, so a
 * hostile file cannot make the engine hold a gigabyte line. fgets reads a
 * block at a time; a line longer than the buffer arrives in pieces. */
static int ingest_stream(ingest_run *r, ingest_pipe *p, FILE *fp, const char *name)
{
    size_t max = r->e->cfg->max_event_bytes, cap = 65536, len = 0;
    char *buf = obligo_malloc(cap);
    if (!buf)
        return OBLIGO_ENOMEM;
    /* Read in blocks and split at '\n' by length, not as C strings: a NUL
     * byte inside a line must make that line invalid, not hide its end and
     * glue the next line (a good event) onto it. */
    char chunk[16384];
    size_t have = 0, pos = 0;
    long lineno = 0;
    int truncated = 0, rc = 0, at_eof = 0;
    ingest_chunk *c = NULL;
    while (!rc && !at_eof) {
        size_t n = 0;
        int complete = 0;
        const char *piece = chunk;
        if (pos == have) {
            have = fread(chunk, 1, sizeof chunk, fp);
            pos = 0;
        }
        if (have > pos) {
            piece = chunk + pos;
            const char *nl = memchr(piece, '\n', have - pos);
            n = nl ? (size_t)(nl - piece) : have - pos;
            complete = nl != NULL;
            pos += n + (size_t)complete;
        } else {
            at_eof = 1;
            if (len == 0 && !truncated)
                break;
            complete = 1; /* the last line had no newline */
        }
        if (!truncated && len + n > max) {
            truncated = 1;
        } else if (!truncated && n) {
            if (len + n + 1 > cap) {
                size_t ncap = cap;
                while (len + n + 1 > ncap)
                    ncap *= 2;
                char *nb = obligo_realloc(buf, ncap);
                if (!nb) {
                    rc = OBLIGO_ENOMEM;
                    break;
                }
                buf = nb;
                cap = ncap;
            }
            memcpy(buf + len, piece, n);
            len += n;
        }
        if (!complete)
            continue;
        lineno++;
        while (len > 0 && (buf[len - 1] == '\r' || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
            len--;
        size_t start = 0;
        while (start < len && (buf[start] == ' ' || buf[start] == '\t'))
            start++;
        if (len > start || truncated) {
            if (!c && !(c = ingest_chunk_new(name)))
                rc = OBLIGO_ENOMEM;
            else if (!(rc = ingest_chunk_add(c, r->e, lineno, buf + start, len - start,
                                             truncated)) &&
                     c->n == INGEST_CHUNK) {
                rc = ingest_pipe_push(p, c);
                c = NULL;
            }
        }
        len = 0;
        truncated = 0;
    }
    if (c && !rc)
        rc = ingest_pipe_push(p, c);
    else
        ingest_chunk_free(c);
    r->lines += lineno;
    obligo_free(buf);
    return rc;
}

/* Every NDJSON file through the two threads. */
static int ingest_files(ingest_run *r, char **names, int n)
{
    ingest_pipe p = {.r = r};
    if (uv_mutex_init(&p.lock))
        return OBLIGO_ENOMEM;
    if (uv_cond_init(&p.cond)) {
        uv_mutex_destroy(&p.lock);
        return OBLIGO_ENOMEM;
    }
    uv_thread_t thread;
    if (uv_thread_create(&thread, ingest_engine_main, &p)) {
        uv_cond_destroy(&p.cond);
        uv_mutex_destroy(&p.lock);
        return OBLIGO_ENOMEM;
    }
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        const char *name = names[i];
        FILE *fp = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");
        if (!fp) {
            fprintf(stderr, "obligo ingest: cannot open %s\n", name);
            r->unreadable++;
            continue;
        }
        rc = ingest_stream(r, &p, fp, strcmp(name, "-") == 0 ? "<stdin>" : name);
        if (fp != stdin)
            fclose(fp);
    }
    uv_mutex_lock(&p.lock);
    p.closed = 1;
    uv_cond_broadcast(&p.cond);
    uv_mutex_unlock(&p.lock);
    uv_thread_join(&thread);
    int erc = ingest_pipe_push(&p, NULL);
    ingest_chunks_free(p.todo); /* left when the engine thread stopped early */
    uv_cond_destroy(&p.cond);
    uv_mutex_destroy(&p.lock);
    return erc ? erc : rc;
}

/* ---- --format NAME ------------------------------------------------------------- */

typedef struct ingest_doc {
    ingest_run *r;
    const char *name;
    ingest_chunk *c; /* never NULL */
    long emitted;
    int rc;
} ingest_doc;

/* An event of the document: run a full chunk first, then add it. */
static int ingest_emit(void *ctx, const char *event_json, size_t len)
{
    ingest_doc *d = ctx;
    if (!d->rc && d->c->n == INGEST_CHUNK) {
        ingest_chunk *fresh = ingest_chunk_new(d->name);
        d->rc = fresh ? ingest_chunk_run(d->r, d->c) : OBLIGO_ENOMEM;
        if (fresh) {
            ingest_chunk_free(d->c);
            d->c = fresh;
        }
    }
    if (!d->rc)
        d->rc = ingest_chunk_add(d->c, d->r->e, ++d->emitted, event_json, len, 0);
    return d->rc ? -1 : 0;
}

/* Keeps a whole document the adapter refused. */
static int ingest_reject_document(ingest_run *r, const char *name, const char *buf, size_t len,
                                  const char *path, const char *error)
{
    int rc = engine_begin(r->e);
    if (!rc && !(rc = engine_reject(r->e, name, buf, len, path, error)))
        rc = engine_commit(r->e);
    if (rc)
        engine_rollback(r->e);
    r->rejected++;
    return rc;
}

/* The whole file is one document of an input adapter (e.g. a FHIR
 * AuditEvent or Bundle); its events go through the pipeline like NDJSON
 * lines, numbered by their place in the document. A document the adapter
 * refuses is rejected whole. */
static int ingest_document(ingest_run *r, const plugins_adapter *a, FILE *fp, const char *name)
{
    size_t cap = 65536, len = 0, max = r->e->cfg->max_body_bytes;
    char *buf = obligo_malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len - 1, fp);
        len += got;
        if (got == 0)
            break;
        if (len + 1 == cap) {
            if (cap > max) {
                fprintf(stderr, "%s: larger than the limit of %zu bytes\n", name, max);
                obligo_free(buf);
                r->rejected++;
                return 0;
            }
            char *nb = obligo_realloc(buf, cap *= 2);
            if (!nb)
                obligo_free(buf);
            buf = nb;
        }
    }
    if (!buf)
        return OBLIGO_ENOMEM;
    buf[len] = '\0';
    ingest_doc d = {.r = r, .name = name, .c = ingest_chunk_new(name)};
    int rc = d.c ? 0 : OBLIGO_ENOMEM;
    char *path = NULL, *error = NULL, *body = NULL;
    int oom = 0;
    char *problem_field = NULL;
    char *problem = !rc && plugins_adapter_takes_json(a)
                        ? engine_json_problem(buf, len, &problem_field, &oom)
                        : NULL;
    if (oom) {
        rc = OBLIGO_ENOMEM;
    } else if (problem) {
        fprintf(stderr, "%s: %s\n", name, problem);
        rc = ingest_reject_document(r, name, buf, len, problem_field, problem);
    } else if (!rc &&
               a->adapter.convert(a->state, buf, len, ingest_emit, &d, &path, &error, &body) != 0) {
        if (d.rc) {
            rc = d.rc;
        } else {
            fprintf(stderr, "%s: %s%s%s\n", name, path ? path : "", path ? ": " : "",
                    error ? error : "the document could not be converted");
            rc = ingest_reject_document(r, name, buf, len, path, error ? error : "not converted");
        }
    } else if (!rc && d.c->n) {
        rc = ingest_chunk_run(r, d.c);
    }
    ingest_chunk_free(d.c);
    obligo_free(problem);
    obligo_free(problem_field);
    obligo_free(path);
    obligo_free(error);
    obligo_free(body);
    obligo_free(buf);
    return rc;
}

/* ---- the command ------------------------------------------------------------------ */

int cli_ingest(int argc, char **argv)
{
    cli_opts o;
    int prc = cli_parse(argc, argv, &o, ingest_usage);
    if (prc)
        return prc > 0 ? 0 : 2;
    if (o.nargs < 1) {
        fprintf(stderr, "obligo ingest: name at least one FILE, or - for standard input\n%s",
                ingest_usage);
        return 2;
    }
    int clock_events = 0;
    if (o.clock && strcmp(o.clock, "events") == 0)
        clock_events = 1;
    else if (o.clock && strcmp(o.clock, "wall") != 0) {
        fprintf(stderr, "obligo ingest: --clock must be wall or events, not '%s'\n", o.clock);
        return 2;
    }
    obligo_time until = 0;
    if (o.until && clock_parse_any(o.until, &until)) {
        fprintf(stderr, "obligo ingest: --until '%s' is not an RFC 3339 time with offset\n",
                o.until);
        return 2;
    }
    config cfg;
    engine e;
    if (cli_open(&o, &cfg, &e, 0))
        return 2;
    ingest_run r = {.e = &e, .clock_events = clock_events};
    const plugins_adapter *adapter = NULL;
    if (o.format && strcmp(o.format, "ndjson") != 0 &&
        !(adapter = plugins_find_adapter(e.plugins, o.format))) {
        fprintf(stderr,
                "obligo ingest: --format %s: no loaded plugin reads that format (see "
                "'obligo plugins')\n",
                o.format);
        engine_close(&e);
        config_free(&cfg);
        return 2;
    }
    if (!clock_events)
        e.now = (obligo_time)time(NULL);
    int rc = 0;
    if (!adapter) {
        rc = ingest_files(&r, o.args, o.nargs);
    } else {
        for (int i = 0; i < o.nargs && !rc; i++) {
            const char *name = o.args[i];
            FILE *fp = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");
            if (!fp) {
                fprintf(stderr, "obligo ingest: cannot open %s\n", name);
                r.unreadable++;
                continue;
            }
            rc = ingest_document(&r, adapter, fp, strcmp(name, "-") == 0 ? "<stdin>" : name);
            if (fp != stdin)
                fclose(fp);
        }
    }
    if (!rc) {
        /* Deadlines up to --until (or now, on the wall clock) fire in a
         * last transaction. */
        obligo_time end = o.until ? until : clock_events ? e.now : (obligo_time)time(NULL);
        if (!(rc = engine_begin(&e)) &&
            !(rc = engine_fire_due(&e, end, clock_events ? 0 : (obligo_time)time(NULL) - 60, NULL)))
            rc = engine_commit(&e);
        if (rc)
            engine_rollback(&e);
        else
            engine_deliver(&e);
    }
    r.rejected += r.unreadable;
    if (rc)
        fprintf(stderr,
                "obligo ingest: stopped: %s; events after the last commit were not "
                "stored\n",
                obligo_strerror(rc));
    fprintf(stderr,
            "obligo ingest: %ld lines, %ld accepted, %ld duplicates, %ld rejected, %ld rule "
            "errors, %ld deadlines fired\n",
            r.lines, e.stats.accepted, e.stats.duplicates, r.rejected, e.stats.rule_errors,
            e.stats.fired);
    engine_close(&e);
    config_free(&cfg);
    return rc ? 2 : r.rejected ? 1 : 0;
}
