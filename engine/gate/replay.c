/*
 * replay.c — what-if replay of a recorded journal with a candidate rule set
 * (replay.h). Depends on the engine (an in-memory one judges), the store
 * (both databases are read with the same queries) and clock.
 *
 * Both outcomes are read by the same three queries, sorted by their keys
 * (SQLite's BINARY order is strcmp's), and compared by walking the two
 * sorted lists side by side, so the comparison is linear in the outcomes.
 */
#include "replay.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "alloc.h"
#include "engine.h"
#include "error.h"

#define REPLAY_ENGINE_SOURCE "urn:obligo:engine"
#define REPLAY_COMMIT_EVERY 1000
#define REPLAY_PROGRESS_EVERY 4096

int replay_type_matches(const char *pattern, const char *type)
{
    if (!pattern)
        return 1;
    size_t n = strlen(pattern);
    if (n && pattern[n - 1] == '*')
        return strncmp(pattern, type, n - 1) == 0;
    return strcmp(pattern, type) == 0;
}

/* ---- the candidate engine ----------------------------------------------------- */

/* Settings for the candidate engine: src's limits and intake rules, an
 * in-memory database, no alert sinks (a replay delivers nothing). */
static int replay_config(const config *src, config *dst)
{
    char *err = NULL;
    if (config_load(dst, NULL, &err)) {
        obligo_free(err);
        return OBLIGO_ENOMEM;
    }
    int rc = config_set(&dst->db_path, ":memory:");
    for (int i = 0; i < dst->nsinks; i++)
        obligo_free(dst->sinks[i]);
    dst->nsinks = 0;
    if (src) {
        dst->limits = src->limits;
        dst->allow_unknown_types = src->allow_unknown_types;
        dst->max_event_bytes = src->max_event_bytes;
    }
    if (rc) {
        config_free(dst);
        return OBLIGO_ENOMEM;
    }
    return 0;
}

static const char *replay_col(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? (const char *)t : "";
}

/* Notes a journaled revision in revs (in order of first appearance). */
static int replay_note_revision(cJSON *revs, const char *rev)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, revs)
    {
        if (strcmp(r->valuestring, rev) == 0)
            return 0;
    }
    return cJSON_AddItemToArray(revs, cJSON_CreateString(rev)) ? 0 : OBLIGO_ENOMEM;
}

/* ---- the rule sets as recorded (the self-check) ---------------------------------- */

/* A revision rebuilt from the sources the database keeps. */
typedef struct replay_set {
    char *revision;
    rules *set;    /* NULL for the revision "none" (no rules) or the fallback */
    cJSON *policy; /* what set was compiled with: it reads it while judging */
    int borrowed;  /* set is o->fallback */
} replay_set;

typedef struct replay_sets {
    replay_set *v;
    int n;
} replay_sets;

static void replay_sets_free(replay_sets *ss)
{
    for (int i = 0; i < ss->n; i++) {
        if (!ss->v[i].borrowed)
            rules_free(ss->v[i].set);
        cJSON_Delete(ss->v[i].policy);
        obligo_free(ss->v[i].revision);
    }
    obligo_free(ss->v);
    ss->v = NULL;
    ss->n = 0;
}

/* Reads the kept sources of revision rev from the recorded database into
 * src (paths within the rule directory, in load order) and *policy.
 * Returns 1 when the database keeps them, 0 when not, or < 0. */
static int replay_kept_sources(store *st, const char *rev, rules_sources *src, cJSON **policy)
{
    *policy = NULL;
    /* a database from before the sources were kept has no such table */
    sqlite3_stmt *s = store_stmt(st, "SELECT count(*) FROM sqlite_master WHERE name = 'rulesets'");
    if (!s)
        return OBLIGO_EDB;
    int step = sqlite3_step(s), kept = step == SQLITE_ROW && sqlite3_column_int(s, 0) > 0, rc = 0;
    sqlite3_reset(s);
    if (step != SQLITE_ROW)
        return store_error(step);
    if (!kept)
        return 0;
    s = store_stmt(st, "SELECT policy FROM rulesets WHERE revision = ?1");
    if (!s)
        return OBLIGO_EDB;
    sqlite3_bind_text(s, 1, rev, -1, SQLITE_STATIC);
    step = sqlite3_step(s);
    if (step == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL &&
        !(*policy = cJSON_Parse(replay_col(s, 0))))
        rc = OBLIGO_ENOMEM;
    sqlite3_reset(s);
    if (step != SQLITE_ROW)
        return step == SQLITE_DONE ? 0 : store_error(step);
    if (rc)
        return rc;
    s = store_stmt(st, "SELECT path, source FROM ruleset_files WHERE revision = ?1 ORDER BY path");
    if (!s)
        return OBLIGO_EDB;
    sqlite3_bind_text(s, 1, rev, -1, SQLITE_STATIC);
    while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
        rules_file *nf = obligo_realloc(src->files, ((size_t)src->n + 1) * sizeof *nf);
        if (!nf) {
            rc = OBLIGO_ENOMEM;
            break;
        }
        src->files = nf;
        size_t len = (size_t)sqlite3_column_bytes(s, 1);
        const void *text = sqlite3_column_blob(s, 1);
        rules_file *f = &nf[src->n];
        *f = (rules_file){.path = obligo_strdup(replay_col(s, 0)),
                          .text = obligo_malloc(len ? len : 1),
                          .len = len};
        if (!f->path || !f->text) {
            obligo_free(f->path);
            obligo_free(f->text);
            rc = OBLIGO_ENOMEM;
            break;
        }
        if (len)
            memcpy(f->text, text, len);
        src->n++;
    }
    if (!rc && step != SQLITE_DONE)
        rc = store_error(step);
    sqlite3_reset(s);
    return rc ? rc : 1;
}

/* Rebuilds revision rev for the event at seq into a new entry of ss. */
static int replay_rebuild(const replay_options *o, replay_sets *ss, const char *rev, int64_t seq,
                          char **err)
{
    replay_set *nv = obligo_realloc(ss->v, ((size_t)ss->n + 1) * sizeof *nv);
    if (!nv)
        return OBLIGO_ENOMEM;
    ss->v = nv;
    replay_set *set = &nv[ss->n];
    *set = (replay_set){.revision = obligo_strdup(rev)};
    if (!set->revision)
        return OBLIGO_ENOMEM;
    ss->n++;
    if (strcmp(rev, "none") == 0)
        return 0; /* judged without rules */
    rules_sources src = {0};
    int rc = replay_kept_sources(o->recorded, rev, &src, &set->policy);
    if (rc == 0) {
        if (o->fallback && strcmp(rules_revision(o->fallback), rev) == 0) {
            set->set = o->fallback;
            set->borrowed = 1;
        } else {
            *err = obligo_asprintf("event %lld was judged by rule-set revision %s, whose sources "
                                   "%s does not keep (it was recorded before Obligo kept them), "
                                   "and the configured rules are revision %s: it cannot be "
                                   "rebuilt",
                                   (long long)seq, rev, o->recorded->path,
                                   o->fallback ? rules_revision(o->fallback) : "(none loaded)");
            rc = OBLIGO_EINVAL;
        }
    } else if (rc > 0) {
        char *why = NULL;
        rc = rules_load_sources(&src, set->policy, o->cfg ? &o->cfg->limits : NULL, o->plugins,
                                &set->set, &why);
        if (rc) {
            *err = obligo_asprintf("rule-set revision %s (first used by event %lld), rebuilt from "
                                   "the sources %s keeps, does not compile: %s",
                                   rev, (long long)seq, o->recorded->path, why ? why : "?");
            rc = rc == OBLIGO_ENOMEM ? rc : OBLIGO_EINVAL;
        } else if (strcmp(rules_revision(set->set), rev) != 0) {
            *err = obligo_asprintf("the sources %s keeps for rule-set revision %s are revision "
                                   "%s: they were altered after they were kept",
                                   o->recorded->path, rev, rules_revision(set->set));
            rc = OBLIGO_EINVAL;
        }
        obligo_free(why);
    }
    rules_sources_free(&src);
    return rc;
}

/* Puts the set recorded as revision rev to work on e (the self-check). */
static int replay_use(const replay_options *o, replay_sets *ss, engine *e, const char *rev,
                      int64_t seq, char **err)
{
    const char *now = e->rules ? rules_revision(e->rules) : "none";
    if (strcmp(now, rev) == 0)
        return 0;
    for (int i = 0; i < ss->n; i++) {
        if (strcmp(ss->v[i].revision, rev) == 0) {
            e->rules = ss->v[i].set;
            return 0;
        }
    }
    int rc = replay_rebuild(o, ss, rev, seq, err);
    if (!rc)
        e->rules = ss->v[ss->n - 1].set;
    return rc;
}

/* ---- judging -------------------------------------------------------------------- */

static double replay_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What a replay judges: the journal's rows up to `last` (its last seq
 * when the replay began) received at or before `end`; `total` of them are
 * client events. */
typedef struct replay_bounds {
    obligo_time end;
    int64_t last;
    long total;
} replay_bounds;

static int replay_read_begin(store *st, char **err)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, "BEGIN", NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    *err = obligo_asprintf("cannot read %s: %s", st->path, msg ? msg : "?");
    sqlite3_free(msg);
    return OBLIGO_EDB;
}

static void replay_read_end(store *st)
{
    sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
}

/* The journal's last seq (0 when it is empty). */
static int replay_last_seq(store *st, int64_t *last)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT coalesce(max(seq), 0) FROM events");
    if (!s)
        return OBLIGO_EDB;
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        *last = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return step == SQLITE_ROW ? 0 : store_error(step);
}

/* How many client events b bounds. */
static int replay_total(store *st, const replay_bounds *b, long *total)
{
    sqlite3_stmt *s =
        store_stmt(st, "SELECT count(*) FROM events WHERE source <> '" REPLAY_ENGINE_SOURCE
                       "' AND received_at <= ?1 AND seq <= ?2");
    if (!s)
        return OBLIGO_EDB;
    sqlite3_bind_int64(s, 1, b->end);
    sqlite3_bind_int64(s, 2, b->last);

    int step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        *total = (long)sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return step == SQLITE_ROW ? 0 : store_error(step);
}

/* Judges every journaled client event up to end on e, in journal order.
 * The engine's own journaled events are not judged (e fires its own
 * deadlines) but mark where the recorded engine fired: what was due by
 * then fires then, with the rule set in force then. As recorded
 * (o->recorded_rules) deadlines fire only there, so a client event judged
 * before a due deadline had fired (between two ticks of a server, or
 * before a kill) is judged so again; what-if, the deadlines due before
 * each event fire first too, and at the end what is due by the end.
 * *judged gets the count,
 * *differing how many of them caused another number of decisions than
 * recorded, *first the first event's time; revs the recorded revisions. */
/* ---- reading and decoding, on two threads ---------------------------------------- */

/* The journal is read in batches on the replaying thread (the recorded
 * store is its alone: SQLite connections here are opened without a mutex),
 * each batch in a short read transaction of its own (replay_batch_fetch),
 * and a decoder thread parses and validates each batch's client events
 * (engine_decode reads only the configuration and the catalogue, as
 * cmd_ingest.c's reading thread does) while the replaying thread judges the
 * batch before. The decoder also frees the judged batches. Events are
 * judged in journal order whatever thread decoded them, and an event the
 * candidate configuration refuses stops the replay at its turn. */
#define REPLAY_BATCH 512
#define REPLAY_BATCH_TEXT "512"
#define REPLAY_AHEAD 3 /* batches read and not yet judged */

/* One journal row: seq, raw, received_at, ruleset, source, id, the
 * recorded count of decisions and time; texts as offsets into the batch's
 * text. */
typedef struct replay_item {
    int64_t seq;
    obligo_time at;   /* received_at: the engine time it was judged at */
    obligo_time time; /* its own time */
    int decisions;
    int own;  /* the engine's own event: it only marks time */
    int null; /* raw is NULL */
    size_t raw, raw_len, rev, source, id;
    cJSON *ev; /* decoded, or NULL with reason (NULL too: out of memory) */
    char *field, *reason;
} replay_item;

typedef struct replay_batch {
    struct replay_batch *next;
    int n;
    int decoded;
    char *text;
    size_t len, cap;
    replay_item items[REPLAY_BATCH];
} replay_batch;

static void replay_batch_free(replay_batch *b)
{
    while (b) {
        replay_batch *next = b->next;
        for (int i = 0; i < b->n; i++) {
            cJSON_Delete(b->items[i].ev);
            obligo_free(b->items[i].field);
            obligo_free(b->items[i].reason);
        }
        obligo_free(b->text);
        obligo_free(b);
        b = next;
    }
}

/* Appends column i of s, NUL-terminated, to b's text; *off gets where. */
static int replay_batch_text(replay_batch *b, sqlite3_stmt *s, int i, size_t *off)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    size_t n = t ? (size_t)sqlite3_column_bytes(s, i) : 0;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : (size_t)64 * 1024;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *nt = obligo_realloc(b->text, cap);
        if (!nt)
            return OBLIGO_ENOMEM;
        b->text = nt;
        b->cap = cap;
    }
    *off = b->len;
    if (n)
        memcpy(b->text + b->len, t, n);
    b->text[b->len + n] = '\0';
    b->len += n + 1;
    return 0;
}

/* Reads up to REPLAY_BATCH rows of s into a new *out (NULL when there was
 * none); *eof is set once s is done (stepping it again would start it
 * over). */
static int replay_batch_rows(sqlite3_stmt *s, replay_batch **out, int *eof)
{
    *out = NULL;
    replay_batch *b = obligo_malloc(sizeof *b);
    if (!b)
        return OBLIGO_ENOMEM;
    b->next = NULL;
    b->n = 0;
    b->decoded = 0;
    b->text = NULL;
    b->len = b->cap = 0;
    int rc = 0, step = SQLITE_ROW;
    while (b->n < REPLAY_BATCH && (step = sqlite3_step(s)) == SQLITE_ROW) {
        replay_item *it = &b->items[b->n];
        memset(it, 0, sizeof *it);
        it->seq = sqlite3_column_int64(s, 0);
        it->at = sqlite3_column_int64(s, 2);
        it->time = sqlite3_column_int64(s, 7);
        it->decisions = sqlite3_column_int(s, 6);
        it->null = sqlite3_column_type(s, 1) == SQLITE_NULL;
        if ((rc = replay_batch_text(b, s, 1, &it->raw)) ||
            (rc = replay_batch_text(b, s, 3, &it->rev)) ||
            (rc = replay_batch_text(b, s, 4, &it->source)) ||
            (rc = replay_batch_text(b, s, 5, &it->id)))
            break;
        it->raw_len = it->rev - it->raw - 1;
        it->own = strcmp(b->text + it->source, REPLAY_ENGINE_SOURCE) == 0;
        b->n++;
    }
    if (!rc && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = store_error(step);
    if (step != SQLITE_ROW)
        *eof = 1;
    if (rc || b->n == 0) {
        replay_batch_free(b);
        return rc;
    }
    *out = b;
    return 0;
}

/* The next batch of the journal after seq *after, within bounds, read in a
 * short read transaction of its own: the journal's rows never change, and
 * one transaction for the whole replay would keep SQLite from recycling the
 * write-ahead log under a running server, whose every commit then grows the
 * file. *out is NULL at the end; *eof says no batch follows this one. */
static int replay_batch_fetch(store *st, const replay_bounds *bounds, int64_t *after,
                              replay_batch **out, int *eof, char **err)
{
    *out = NULL;
    int rc = replay_read_begin(st, err);
    if (rc)
        return rc;
    sqlite3_stmt *s =
        store_stmt(st, "SELECT seq, raw, received_at, ruleset, source, id, "
                       "(SELECT count(*) FROM decisions d WHERE d.event = events.seq), time "
                       "FROM events WHERE seq > ?1 AND seq <= ?2 AND received_at <= ?3 "
                       "ORDER BY seq LIMIT " REPLAY_BATCH_TEXT);
    if (!s) {
        replay_read_end(st);
        return OBLIGO_EDB;
    }
    sqlite3_bind_int64(s, 1, *after);
    sqlite3_bind_int64(s, 2, bounds->last);
    sqlite3_bind_int64(s, 3, bounds->end);
    int done = 0;
    rc = replay_batch_rows(s, out, &done);
    sqlite3_reset(s);
    replay_read_end(st);
    /* a full batch may have a next one; a short one is the last */
    *eof = rc || !*out || (*out)->n < REPLAY_BATCH;
    if (*out)
        *after = (*out)->items[(*out)->n - 1].seq;
    return rc;
}

/* Decodes b's client events (not marked decoded: the caller does). */
static void replay_batch_decode(engine *e, replay_batch *b)
{
    for (int i = 0; i < b->n; i++) {
        replay_item *it = &b->items[i];
        if (!it->own && !it->null)
            it->ev = engine_decode(e, b->text + it->raw, it->raw_len, &it->field, &it->reason);
    }
}

typedef struct replay_pipe {
    engine *e;
    uv_mutex_t lock;
    uv_cond_t cond;
    replay_batch *todo, *todo_tail; /* read, to be decoded, in order */
    replay_batch *done;             /* judged, to be freed */
    int closed;                     /* the replaying thread wants no more: it frees
                                       what is left once the decoder is joined */
} replay_pipe;

static void replay_decoder_main(void *arg)
{
    replay_pipe *p = arg;
    uv_mutex_lock(&p->lock);
    while (!p->closed) {
        replay_batch *b = p->todo;
        while (b && b->decoded)
            b = b->next;
        replay_batch *done = p->done;
        p->done = NULL;
        if (!b && !done) {
            uv_cond_wait(&p->cond, &p->lock);
            continue;
        }
        uv_mutex_unlock(&p->lock);
        replay_batch_free(done);
        /* b stays on the list; only this thread decodes, and the replaying
         * thread takes it once it is marked decoded */
        if (b)
            replay_batch_decode(p->e, b);
        uv_mutex_lock(&p->lock);
        if (b) {
            b->decoded = 1;
            uv_cond_broadcast(&p->cond);
        }
    }
    uv_mutex_unlock(&p->lock);
}

/* Judges one journaled client event (decoded as it) on e. The deadlines
 * that fall before it fire first, in order, unless as_recorded: then they
 * fire only where the recorded engine fired them (replay_judge). */
static int replay_one(engine *e, const replay_batch *b, const replay_item *it, int as_recorded,
                      char **err)
{
    int rc = 0;
    if (it->at > e->now && !as_recorded && (rc = engine_fire_due(e, it->at, 0, NULL)))
        return rc;
    if (it->at > e->now)
        e->now = it->at; /* what is due stays due until the next firing */
    if (!it->ev) {
        *err = obligo_asprintf("journal event %lld (source %s, id %s) is refused by the candidate "
                               "configuration: %s%s%s",
                               (long long)it->seq, b->text + it->source, b->text + it->id,
                               it->field ? it->field : "", it->field ? ": " : "",
                               it->reason ? it->reason : "out of memory");
        return it->reason ? OBLIGO_EINVAL : OBLIGO_ENOMEM;
    }
    int dup = 0;
    return engine_event(e, it->ev, b->text + it->raw, it->raw_len, &dup);
}

/* Judges every journaled client event within bounds on e, in journal
 * order. The engine's own journaled events are not judged (e fires its own
 * deadlines) but mark where the recorded engine fired: what was due by then
 * fires then, with the rule set in force then. As recorded
 * (o->recorded_rules) deadlines fire only there, so a client event judged
 * before a due deadline had fired (between two ticks of a server, or before
 * a kill) is judged so again; what-if, the deadlines due before each event
 * fire first too, and at the end what is due by the end. *judged gets the
 * count, *differing how many of them caused another number of decisions
 * than recorded, *first the first event's time; revs the recorded
 * revisions. */
static int replay_judge(const replay_options *o, engine *e, const replay_bounds *bounds,
                        cJSON *revs, long *judged, long *differing, obligo_time *first, char **err)
{
    replay_progress pg = {.total = bounds->total};
    double t0 = replay_seconds();
    replay_sets sets = {0};
    replay_pipe p = {.e = e};
    uv_thread_t decoder;
    int threaded = 0, ahead = 0, eof = 0;
    int64_t after = 0;
    if (!uv_mutex_init(&p.lock)) {
        if (!uv_cond_init(&p.cond)) {
            threaded = uv_thread_create(&decoder, replay_decoder_main, &p) == 0;
            if (!threaded)
                uv_cond_destroy(&p.cond);
        }
        if (!threaded)
            uv_mutex_destroy(&p.lock);
    }
    int rc = engine_begin(e);
    while (!rc) {
        /* read ahead while the decoder works */
        while (!rc && !eof && ahead < REPLAY_AHEAD) {
            replay_batch *nb = NULL;
            if ((rc = replay_batch_fetch(o->recorded, bounds, &after, &nb, &eof, err)) || !nb)
                break;
            if (!threaded) {
                replay_batch_decode(e, nb);
                nb->decoded = 1;
            } else {
                uv_mutex_lock(&p.lock);
            }
            if (p.todo_tail)
                p.todo_tail->next = nb;
            else
                p.todo = nb;
            p.todo_tail = nb;
            ahead++;
            if (threaded) {
                uv_cond_broadcast(&p.cond);
                uv_mutex_unlock(&p.lock);
            }
        }
        if (rc || !ahead)
            break;
        if (threaded) {
            uv_mutex_lock(&p.lock);
            while (!p.todo->decoded)
                uv_cond_wait(&p.cond, &p.lock);
        }
        replay_batch *b = p.todo;
        if (!(p.todo = b->next))
            p.todo_tail = NULL;
        b->next = NULL;
        ahead--;
        if (threaded)
            uv_mutex_unlock(&p.lock);
        for (int i = 0; !rc && i < b->n; i++) {
            const replay_item *it = &b->items[i];
            const char *rev = b->text + it->rev;
            if (o->cancel && atomic_load_explicit(o->cancel, memory_order_relaxed)) {
                *err = obligo_strdup("the replay was cancelled");
                rc = OBLIGO_EBUSY;
                break;
            }
            if (o->recorded_rules && (rc = replay_use(o, &sets, e, rev, it->seq, err)))
                break;
            if (it->own) {
                rc = engine_fire_due(e, it->at, 0, NULL);
                continue;
            }
            if (*judged == 0)
                *first = it->time;
            if ((rc = replay_note_revision(revs, rev)) ||
                (rc = replay_one(e, b, it, o->recorded_rules, err)))
                break;
            if (e->last_decisions != it->decisions)
                pg.differing++;
            /* an in-memory database: a commit now and then only bounds the
             * transaction's memory */
            if (++*judged % REPLAY_COMMIT_EVERY == 0 && !(rc = engine_commit(e)))
                rc = engine_begin(e);
            if (o->progress && *judged % REPLAY_PROGRESS_EVERY == 0) {
                pg.judged = *judged;
                pg.seconds = replay_seconds() - t0;
                o->progress(o->progress_ud, &pg);
            }
        }
        if (!threaded) {
            replay_batch_free(b);
            continue;
        }
        uv_mutex_lock(&p.lock);
        b->next = p.done;
        p.done = b;
        uv_cond_broadcast(&p.cond);
        uv_mutex_unlock(&p.lock);
    }
    if (threaded) {
        uv_mutex_lock(&p.lock);
        p.closed = 1;
        uv_cond_broadcast(&p.cond);
        uv_mutex_unlock(&p.lock);
        uv_thread_join(&decoder);
        uv_cond_destroy(&p.cond);
        uv_mutex_destroy(&p.lock);
    }
    replay_batch_free(p.todo); /* left when judging stopped early */
    replay_batch_free(p.done);
    /* what-if: what would have fallen due by the end fires; as recorded,
     * only what the recorded engine fired (at its journaled events) */
    if (!rc && !o->recorded_rules)
        rc = engine_fire_due(e, bounds->end, 0, NULL);
    if (!rc)
        rc = engine_commit(e);
    if (rc)
        engine_rollback(e);
    *differing = pg.differing;
    if (!rc && o->progress) {
        pg.judged = *judged;
        pg.seconds = replay_seconds() - t0;
        o->progress(o->progress_ud, &pg);
    }
    /* the sets judged with go now; the outcome is read from the database */
    if (o->recorded_rules)
        e->rules = NULL;
    replay_sets_free(&sets);
    return rc;
}

/* ---- the outcomes, read the same way from either database ---------------------- */

/* A row's cause: {"source", "id", "time", "type"} from columns i.. of s. */
static cJSON *replay_cause(sqlite3_stmt *s, int i)
{
    char when[CLOCK_RFC3339_LEN];
    clock_format_utc(sqlite3_column_int64(s, i + 2), when);
    cJSON *c = cJSON_CreateObject();
    if (!c || !cJSON_AddStringToObject(c, "source", replay_col(s, i)) ||
        !cJSON_AddStringToObject(c, "id", replay_col(s, i + 1)) ||
        !cJSON_AddStringToObject(c, "time", when) ||
        !cJSON_AddStringToObject(c, "type", replay_col(s, i + 3))) {
        cJSON_Delete(c);
        return NULL;
    }
    return c;
}

/* A new row {"a", "b", "t", "cause"} keyed by columns 0 and 1. */
static cJSON *replay_row(sqlite3_stmt *s, obligo_time t, int cause_col)
{
    cJSON *row = cJSON_CreateObject(), *cause = replay_cause(s, cause_col);
    if (!row || !cause || !cJSON_AddItemToObject(row, "cause", cause)) {
        cJSON_Delete(row);
        cJSON_Delete(cause);
        return NULL;
    }
    if (!cJSON_AddStringToObject(row, "a", replay_col(s, 0)) ||
        !cJSON_AddStringToObject(row, "b", replay_col(s, 1)) ||
        !cJSON_AddNumberToObject(row, "t", (double)t)) {
        cJSON_Delete(row);
        return NULL;
    }
    return row;
}

static const char *replay_text(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name)->valuestring;
}

static double replay_num(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name)->valuedouble;
}

static int replay_same_key(const cJSON *row, sqlite3_stmt *s)
{
    return row && strcmp(replay_text(row, "a"), replay_col(s, 0)) == 0 &&
           strcmp(replay_text(row, "b"), replay_col(s, 1)) == 0;
}

/* Appends row to rows, or replaces the last one when it has the same key
 * (the later row wins: the latest obligation, the current register
 * version). */
static int replay_put(cJSON *rows, cJSON *row, int same)
{
    if (!row)
        return OBLIGO_ENOMEM;
    if (same)
        return cJSON_ReplaceItemInArray(rows, cJSON_GetArraySize(rows) - 1, row) ? 0
                                                                                 : OBLIGO_ENOMEM;
    return cJSON_AddItemToArray(rows, row) ? 0 : OBLIGO_ENOMEM;
}

/* The latest obligation per (kind, subject) among those opened by events up
 * to end, with its status as of end: one closed by a later event was still
 * open then (or overdue, once its due instant had passed). */
static int replay_obligations(store *st, obligo_time end, cJSON *rows)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT o.kind, o.subject, o.status, o.due_at, "
                                     "cb.received_at, ev.source, ev.id, ev.time, ev.type, "
                                     "ev.received_at FROM obligations o "
                                     "JOIN events ev ON ev.seq = o.source_event "
                                     "LEFT JOIN events cb ON cb.seq = o.closed_by "
                                     "WHERE ev.received_at <= ?1 "
                                     "ORDER BY o.kind, o.subject, o.id");
    if (!s)
        return OBLIGO_EDB;
    sqlite3_bind_int64(s, 1, end);
    int rc = 0, step;
    cJSON *last = NULL;
    while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
        const char *status = replay_col(s, 2);
        obligo_time due = sqlite3_column_int64(s, 3), t = sqlite3_column_int64(s, 9);
        int closed = sqlite3_column_type(s, 4) != SQLITE_NULL;
        if (closed && sqlite3_column_int64(s, 4) > end)
            status = due <= end ? "overdue" : "open";
        else if (closed)
            t = sqlite3_column_int64(s, 4);
        else if (strcmp(status, "overdue") == 0 && due > end)
            status = "open";
        else if (strcmp(status, "open") == 0 && due <= end)
            status = "overdue"; /* due by the end, whether or not it fired yet */
        if (strcmp(status, "overdue") == 0 && due > t)
            t = due;
        char when[CLOCK_RFC3339_LEN];
        clock_format_utc(due, when);
        cJSON *row = replay_row(s, t, 5);
        if (row && (!cJSON_AddStringToObject(row, "status", status) ||
                    !cJSON_AddStringToObject(row, "due_at", when))) {
            cJSON_Delete(row);
            row = NULL;
        }
        int same = replay_same_key(last, s);
        rc = replay_put(rows, row, same);
        last = row;
    }
    if (!rc && step != SQLITE_DONE)
        rc = store_error(step);
    sqlite3_reset(s);
    return rc;
}

/* How many alerts per (kind, subject) were raised at or after since by
 * events up to end whose cause matches type. An alert raised by a
 * deadline (an engine event) is caused by the event that opened the
 * obligation. The engine's notes about itself are left out. */
static int replay_alerts(store *st, const replay_options *o, obligo_time end, cJSON *rows)
{
    sqlite3_stmt *s =
        store_stmt(st, "SELECT a.kind, a.subject, ev.received_at, "
                       "coalesce(root.source, ev.source), coalesce(root.id, ev.id), "
                       "coalesce(root.time, ev.time), coalesce(root.type, ev.type) "
                       "FROM alerts a JOIN events ev ON ev.seq = a.event "
                       "LEFT JOIN obligations ob ON ev.source = '" REPLAY_ENGINE_SOURCE "' "
                       "  AND ob.id = json_extract(ev.raw, '$.data.obligation') "
                       "LEFT JOIN events root ON root.seq = ob.source_event "
                       "WHERE ev.type <> 'obligo.engine.note' AND ev.received_at <= ?1 "
                       "ORDER BY a.kind, a.subject, a.seq");
    if (!s)
        return OBLIGO_EDB;
    sqlite3_bind_int64(s, 1, end);
    int rc = 0, step;
    cJSON *last = NULL;
    while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
        obligo_time t = sqlite3_column_int64(s, 2);
        if (t < o->since || !replay_type_matches(o->type, replay_col(s, 6)))
            continue;
        if (replay_same_key(last, s)) {
            cJSON *n = cJSON_GetObjectItemCaseSensitive(last, "count");
            cJSON_SetNumberHelper(n, n->valuedouble + 1);
            continue;
        }
        cJSON *row = replay_row(s, t, 3);
        if (row && !cJSON_AddNumberToObject(row, "count", 1)) {
            cJSON_Delete(row);
            row = NULL;
        }
        rc = replay_put(rows, row, 0);
        last = row;
    }
    if (!rc && step != SQLITE_DONE)
        rc = store_error(step);
    sqlite3_reset(s);
    return rc;
}

/* The current version of each register entry as of end. */
static int replay_registers(store *st, obligo_time end, cJSON *rows)
{
    sqlite3_stmt *s =
        store_stmt(st, "SELECT r.register, r.key, r.data, ev.source, ev.id, ev.time, ev.type, "
                       "ev.received_at "
                       "FROM registers r JOIN events ev ON ev.seq = r.event "
                       "WHERE ev.received_at <= ?1 ORDER BY r.register, r.key, r.version");
    if (!s)
        return OBLIGO_EDB;
    sqlite3_bind_int64(s, 1, end);
    int rc = 0, step;
    cJSON *last = NULL;
    while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
        cJSON *row = replay_row(s, sqlite3_column_int64(s, 7), 3);
        if (row && !cJSON_AddStringToObject(row, "data", replay_col(s, 2))) {
            cJSON_Delete(row);
            row = NULL;
        }
        int same = replay_same_key(last, s);
        rc = replay_put(rows, row, same);
        last = row;
    }
    if (!rc && step != SQLITE_DONE)
        rc = store_error(step);
    sqlite3_reset(s);
    return rc;
}

/* The three outcomes of st: {"obligations", "alerts", "registers"}, each
 * an array of rows sorted by key. */
static int replay_outcome(store *st, const replay_options *o, obligo_time end, cJSON **out)
{
    cJSON *x = cJSON_CreateObject(), *ob = NULL, *al = NULL, *rg = NULL;
    int rc = !x || !(ob = cJSON_AddArrayToObject(x, "obligations")) ||
                     !(al = cJSON_AddArrayToObject(x, "alerts")) ||
                     !(rg = cJSON_AddArrayToObject(x, "registers"))
                 ? OBLIGO_ENOMEM
                 : 0;
    if (!rc)
        rc = replay_obligations(st, end, ob);
    if (!rc)
        rc = replay_alerts(st, o, end, al);
    if (!rc)
        rc = replay_registers(st, end, rg);
    if (rc) {
        cJSON_Delete(x);
        x = NULL;
    }
    *out = x;
    return rc;
}

/* ---- the comparison ----------------------------------------------------------- */

typedef enum { REPLAY_OBLIGATIONS, REPLAY_ALERTS, REPLAY_REGISTERS } replay_what;

/* What a row says, as the difference shows it (NULL row: JSON null). */
static cJSON *replay_value(replay_what what, const cJSON *row)
{
    if (!row)
        return cJSON_CreateNull();
    cJSON *v = cJSON_CreateObject();
    int ok = v != NULL;
    if (ok && what == REPLAY_OBLIGATIONS)
        ok = cJSON_AddStringToObject(v, "status", replay_text(row, "status")) &&
             cJSON_AddStringToObject(v, "due_at", replay_text(row, "due_at"));
    else if (ok && what == REPLAY_ALERTS)
        ok = cJSON_AddNumberToObject(v, "count", replay_num(row, "count")) != NULL;
    else if (ok) {
        cJSON *data = cJSON_Parse(replay_text(row, "data"));
        ok = data && cJSON_AddItemToObject(v, "data", data);
        if (!ok)
            cJSON_Delete(data);
    }
    if (!ok) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

/* The change between rec and cand (either may be NULL), or NULL when none. */
static const char *replay_change(replay_what what, const cJSON *rec, const cJSON *cand)
{
    static const char *const names[3][3] = {
        {"obligation_opened", "obligation_not_opened", NULL},
        {"alert_raised", "alert_not_raised", "alert_count"},
        {"register_added", "register_missing", "register_data"},
    };
    if (!rec)
        return names[what][0];
    if (!cand)
        return names[what][1];
    if (what == REPLAY_OBLIGATIONS) {
        if (strcmp(replay_text(rec, "status"), replay_text(cand, "status")) != 0)
            return "obligation_status";
        return strcmp(replay_text(rec, "due_at"), replay_text(cand, "due_at")) != 0
                   ? "obligation_due"
                   : NULL;
    }
    if (what == REPLAY_ALERTS)
        return replay_num(rec, "count") != replay_num(cand, "count") ? names[what][2] : NULL;
    return strcmp(replay_text(rec, "data"), replay_text(cand, "data")) != 0 ? names[what][2] : NULL;
}

/* Whether a row lies in what is reported: changed at or after since, and
 * caused by an event of the type asked for. (Alerts were counted within
 * it already.) */
static int replay_reported(const replay_options *o, const cJSON *row)
{
    if (!row)
        return 0;
    const cJSON *cause = cJSON_GetObjectItemCaseSensitive(row, "cause");
    return (obligo_time)replay_num(row, "t") >= o->since &&
           replay_type_matches(o->type, replay_text(cause, "type"));
}

/* Adds item (taken over; NULL: memory ran out) to o as name. */
static int replay_add(cJSON *o, const char *name, cJSON *item)
{
    if (item && cJSON_AddItemToObject(o, name, item))
        return 0;
    cJSON_Delete(item);
    return OBLIGO_ENOMEM;
}

/* Adds the difference between rec and cand (same key; either may be NULL)
 * to diffs and counts, when there is one. */
static int replay_differ(const replay_options *o, replay_what what, const cJSON *rec,
                         const cJSON *cand, cJSON *diffs, cJSON *counts)
{
    const char *change = replay_change(what, rec, cand);
    if (!change || (what != REPLAY_ALERTS && !replay_reported(o, rec) && !replay_reported(o, cand)))
        return 0;
    const cJSON *row = cand ? cand : rec;
    int reg = what == REPLAY_REGISTERS;
    cJSON *d = cJSON_CreateObject();
    if (!d || !cJSON_AddItemToArray(diffs, d)) {
        cJSON_Delete(d);
        return OBLIGO_ENOMEM;
    }
    /* d belongs to diffs now: whatever is added below is freed with it */
    if (!cJSON_AddStringToObject(d, "change", change) ||
        !cJSON_AddStringToObject(d, reg ? "register" : "kind", replay_text(row, "a")) ||
        !cJSON_AddStringToObject(d, reg ? "key" : "subject", replay_text(row, "b")) ||
        replay_add(d, "recorded", replay_value(what, rec)) ||
        replay_add(d, "candidate", replay_value(what, cand)) ||
        replay_add(d, "cause", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(row, "cause"), 1)))
        return OBLIGO_ENOMEM;
    cJSON *n = cJSON_GetObjectItemCaseSensitive(counts, change);
    if (n) {
        cJSON_SetNumberHelper(n, n->valuedouble + 1);
        return 0;
    }
    return cJSON_AddNumberToObject(counts, change, 1) ? 0 : OBLIGO_ENOMEM;
}

static int replay_key_cmp(const cJSON *x, const cJSON *y)
{
    int c = strcmp(replay_text(x, "a"), replay_text(y, "a"));
    return c ? c : strcmp(replay_text(x, "b"), replay_text(y, "b"));
}

/* Walks the two sorted lists side by side. */
static int replay_compare(const replay_options *o, replay_what what, const cJSON *rec,
                          const cJSON *cand, cJSON *diffs, cJSON *counts)
{
    const cJSON *x = rec->child, *y = cand->child;
    int rc = 0;
    while (!rc && (x || y)) {
        int c = !x ? 1 : !y ? -1 : replay_key_cmp(x, y);
        rc = replay_differ(o, what, c <= 0 ? x : NULL, c >= 0 ? y : NULL, diffs, counts);
        if (c <= 0)
            x = x->next;
        if (c >= 0)
            y = y->next;
    }
    return rc;
}

/* ---- the whole replay --------------------------------------------------------- */

/* The end of the replay: o->until, or the time of the journal's last event. */
static int replay_end(const replay_options *o, obligo_time *end, char **err)
{
    if (o->until) {
        *end = o->until;
        return 0;
    }
    sqlite3_stmt *s = store_stmt(o->recorded, "SELECT max(received_at) FROM events");
    if (!s)
        return OBLIGO_EDB;
    int step = sqlite3_step(s),
        none = step == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_NULL;
    if (step == SQLITE_ROW)
        *end = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (step != SQLITE_ROW)
        return store_error(step);
    if (none) {
        *err = obligo_asprintf("the journal of %s holds no events: nothing to replay",
                               o->recorded->path);
        return OBLIGO_EINVAL;
    }
    return 0;
}

/* Judges the journal on a fresh engine and compares: the recorded outcome
 * and the journal's extent read in one short read transaction, the
 * journal then in chunks (replay_judge). */
static int replay_in_snapshot(const replay_options *o, cJSON *out, char **err)
{
    obligo_time first = 0;
    long judged = 0, differing = 0;
    replay_bounds bounds = {0};
    cJSON *rec = NULL;
    /* What the database holds, and up to where the journal is judged: one
     * short read transaction, so both are the same moment of a server that
     * writes on meanwhile (the journal's rows up to it never change). */
    int rc = replay_read_begin(o->recorded, err);
    if (rc)
        return rc;
    rc = replay_end(o, &bounds.end, err);
    if (!rc)
        rc = replay_last_seq(o->recorded, &bounds.last);
    if (!rc && o->progress)
        rc = replay_total(o->recorded, &bounds, &bounds.total);
    if (!rc)
        rc = replay_outcome(o->recorded, o, bounds.end, &rec);
    replay_read_end(o->recorded);
    obligo_time end = bounds.end;
    config cfg;
    if (rc || (rc = replay_config(o->cfg, &cfg))) {
        cJSON_Delete(rec);
        return rc;
    }
    engine e;
    cJSON *revs = cJSON_CreateArray(), *cand = NULL, *counts = NULL, *diffs = NULL;
    if (!revs) {
        cJSON_Delete(rec);
        config_free(&cfg);
        return OBLIGO_ENOMEM;
    }
    if ((rc = engine_open_with(&e, &cfg, o->plugins, o->candidate, err))) {
        cJSON_Delete(rec);
        cJSON_Delete(revs);
        config_free(&cfg);
        return rc;
    }
    e.light_journal = 1; /* its journal is compared by the outcome queries alone */
    /* The CHECK on obligations.status (a list of five) makes SQLite build a
     * temporary table for every insert and status change: ~20 us each. The
     * engine writes only its own literal statuses, so on this throwaway
     * database the check can only ever pass. */
    if (sqlite3_exec(e.st.db, "PRAGMA ignore_check_constraints=ON", NULL, NULL, NULL) !=
        SQLITE_OK) {
        engine_close(&e);
        cJSON_Delete(rec);
        cJSON_Delete(revs);
        config_free(&cfg);
        return OBLIGO_EDB;
    }
    rc = replay_judge(o, &e, &bounds, revs, &judged, &differing, &first, err);
    if (!rc && judged == 0) {
        char when[CLOCK_RFC3339_LEN];
        clock_format_utc(end, when);
        *err = obligo_asprintf("the journal of %s holds no client event at or before %s: "
                               "nothing to replay",
                               o->recorded->path, when);
        rc = OBLIGO_EINVAL;
    }
    if (!rc)
        rc = replay_outcome(&e.st, o, end, &cand);
    char from[CLOCK_RFC3339_LEN], to[CLOCK_RFC3339_LEN];
    clock_format_utc(first, from);
    clock_format_utc(end, to);
    cJSON *rv = NULL;
    if (!rc &&
        (!cJSON_AddNumberToObject(out, "events", (double)judged) ||
         !cJSON_AddNumberToObject(out, "events_decided_differently", (double)differing) ||
         !cJSON_AddStringToObject(out, "from", from) || !cJSON_AddStringToObject(out, "to", to) ||
         !(rv = cJSON_AddObjectToObject(out, "revisions")) ||
         !cJSON_AddItemToObject(rv, "recorded", revs) ||
         !cJSON_AddStringToObject(rv, "candidate",
                                  o->recorded_rules ? "recorded" : rules_revision(o->candidate)) ||
         !(counts = cJSON_AddObjectToObject(out, "counts")) ||
         !(diffs = cJSON_AddArrayToObject(out, "differences"))))
        rc = OBLIGO_ENOMEM;
    if (rv && cJSON_GetObjectItemCaseSensitive(rv, "recorded") == revs)
        revs = NULL; /* taken over by out */
    static const char *const parts[] = {"obligations", "alerts", "registers"};
    for (int i = 0; !rc && i < 3; i++)
        rc = replay_compare(o, (replay_what)i, cJSON_GetObjectItemCaseSensitive(rec, parts[i]),
                            cJSON_GetObjectItemCaseSensitive(cand, parts[i]), diffs, counts);
    cJSON_Delete(revs);
    cJSON_Delete(rec);
    cJSON_Delete(cand);
    engine_close(&e);
    config_free(&cfg);
    return rc;
}

int replay_run(const replay_options *o, cJSON **out, char **err)
{
    *out = NULL;
    *err = NULL;
    cJSON *res = cJSON_CreateObject();
    int rc = res ? replay_in_snapshot(o, res, err) : OBLIGO_ENOMEM;
    if (rc) {
        cJSON_Delete(res);
        if (!*err && rc == OBLIGO_EDB)
            *err = obligo_asprintf("cannot read %s: %s", o->recorded->path,
                                   sqlite3_errmsg(o->recorded->db));
        return rc;
    }
    *out = res;
    return 0;
}
