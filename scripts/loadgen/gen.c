/* gen.c — event files for scripts/bench.
 *
 * Writes CloudEvents as NDJSON (one event a line, the input of
 * `obligo ingest`) and, on request, the same events as an SQL script for the
 * sqlite3 shell (the "floor" of scripts/bench: what storing the bare rows
 * costs). The event shapes are those of scripts/loadgen/events.lua, so
 * scripts/bench and scripts/bench-http judge the same events.
 *
 *   gen mix      --count N --tag T --now S [--out F] [--sql F]
 *       N events over the 24 hours before S (Unix seconds): per 50, one
 *       nl.avg.breach.reported, one nl.avg.request.received, one
 *       nl.ict.backup.completed and 47 nl.nen7513.access (94 %)
 *   gen requests --count N --tag T --now S [--out F]
 *       N nl.avg.request.received (each opens avg.respond_request, due one
 *       month after receipt) received over the 14 days before S
 *   gen breaches --count N --tag T --now S --due D [--out F]
 *       N nl.avg.breach.reported with aware_at = D - 72 h, so that every
 *       avg.notify_ap they open falls due at the same instant D; reported
 *       during the 5 hours before S but after D - 6 h, so that none of the
 *       48/24/6 h reminders lies between report and deadline (no reminder
 *       timers: exactly one timer per breach, at D)
 *   gen console  --count N --tag T --now S [--out F]
 *       N events over the 180 days before S for the console's benchmark
 *       (scripts/bench-console; ingest them with --clock events so that
 *       reminders and overdue deadlines fire as the days pass). Per 20:
 *       4 client requests (eight kinds; 3 of 4 completed 1 to 40 days
 *       later, so fulfilled, late, overdue and open ones mix), 2 record
 *       changes of new clients (wgbo.retention_review, due in 20 years),
 *       1 breach report (the datalekken register, avg.notify_ap) and 1
 *       notification of an earlier one (2 in 3 breaches, 1 to 4 days after
 *       the report), in some blocks a significant incident nobody reports
 *       (cbw.early_warning, cbw.notification) or an e-health application
 *       failing a theme (igj.ehealth_remediate), 4 events that raise an alert (access without a
 *       treatment relation, with a password only, in an emergency without
 *       a reason: warning; a laptop handed in unwiped: critical) and the
 *       rest record accesses that raise none. About 8 obligations and 11
 *       alerts (reminders and overdue ones included) per 20 events.
 *
 * Every event is unique by source + id (the source carries the tag), and so
 * is every breach_id and request_id. Times follow a working day: most events
 * between 08:00 and 18:00 Amsterdam time, few at night and, for requests,
 * fewer at weekends; within a file they never go backwards. They are written
 * with a fixed +01:00 offset, a valid representation of the instant in any
 * season (as events.lua does).
 *
 * The SQL script (--sql) creates one table events(seq, source, id, type,
 * time, raw, UNIQUE(source, id)) in WAL mode with synchronous=FULL, as the
 * engine's store does, and inserts the rows with one INSERT statement each,
 * 1,000 rows a transaction (as `obligo ingest` commits every 1,000 events).
 *
 * Build: cc -O2 -Wall -Wextra -Werror -o gen gen.c */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum kind { MIX, REQUESTS, BREACHES, CONSOLE };

static const char *const roles[] = {"arts", "verpleegkundige", "doktersassistent",
                                    "praktijkondersteuner"};
static const char *const systems[] = {"ecd", "his", "fileserver"};
static const char *const request_kinds[] = {"access",      "rectification", "erasure",
                                            "portability", "objection",     "electronic_copy",
                                            "log_overview"};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static void usage(void)
{
    fprintf(stderr, "usage: gen mix      --count N --tag T --now S [--out F] [--sql F]\n"
                    "       gen requests --count N --tag T --now S [--out F]\n"
                    "       gen breaches --count N --tag T --now S --due D [--out F]\n"
                    "       gen console  --count N --tag T --now S [--out F]\n"
                    "S and D are Unix seconds; F defaults to standard output.\n");
    exit(2);
}

static long long number(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0) {
        fprintf(stderr, "gen: %s needs a non-negative integer, not '%s'\n", opt, s);
        exit(2);
    }
    return v;
}

/* ---- when: a working-day profile ------------------------------------------- */

/* Relative activity per hour of the Amsterdam day (taken as UTC+1). */
static const double hour_weight[24] = {1,  1,  1,  1,  1,  2,  4, 8, 12, 14, 14, 13,
                                       12, 13, 14, 13, 12, 10, 8, 6, 4,  3,  2,  1};

typedef struct profile {
    long long from; /* the first instant of the span */
    int hours;      /* the span in whole hours, from `from` */
    double *cum;    /* cum[h]: share of events before hour h of the span */
} profile;

static double weight_at(long long t, int weekends)
{
    long long local = t + 3600;
    int hour = (int)((local / 3600) % 24);
    int wday = (int)((local / 86400 + 4) % 7); /* 1970-01-01 was a Thursday: 0 = Sunday */
    double w = hour_weight[hour];
    if (weekends && (wday == 0 || wday == 6))
        w *= 0.3;
    return w;
}

static void profile_init(profile *p, long long from, int hours, int weekends)
{
    p->from = from;
    p->hours = hours;
    p->cum = calloc((size_t)hours + 1, sizeof *p->cum);
    if (!p->cum) {
        fprintf(stderr, "gen: out of memory\n");
        exit(1);
    }
    for (int h = 0; h < hours; h++)
        p->cum[h + 1] = p->cum[h] + weight_at(from + (long long)h * 3600 + 1800, weekends);
    for (int h = 1; h <= hours; h++)
        p->cum[h] /= p->cum[hours];
}

/* The instant of event i of n: the inverse of the profile's distribution
 * at (i + 0.5) / n, so times rise with i and crowd into working hours. */
static long long profile_time(const profile *p, long long i, long long n)
{
    double u = ((double)i + 0.5) / (double)n;
    int lo = 0, hi = p->hours; /* find h with cum[h] <= u < cum[h + 1] */
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (p->cum[mid] <= u)
            lo = mid;
        else
            hi = mid;
    }
    double span = p->cum[lo + 1] - p->cum[lo];
    double frac = span > 0 ? (u - p->cum[lo]) / span : 0;
    return p->from + (long long)lo * 3600 + (long long)(frac * 3600);
}

/* RFC 3339 with a fixed +01:00 offset. */
static void rfc3339(long long t, char out[32])
{
    time_t local = (time_t)(t + 3600);
    struct tm tm;
    gmtime_r(&local, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S+01:00", &tm);
}

/* ---- the events ------------------------------------------------------------- */

/* CONSOLE: what is to be completed, earliest first (a binary heap): a
 * request's completion or a breach's notification, at its planned time. */
typedef struct todo {
    long long at, n;
} todo;
typedef struct todos {
    todo *v;
    size_t len, cap;
} todos;

typedef struct gen {
    enum kind kind;
    const char *tag;
    char source[160];
    long long due; /* BREACHES: the common deadline */
    todos todo;    /* CONSOLE: completions planned */
    FILE *out, *sql;
    char *line;
    size_t cap;
} gen;

static void todo_push(todos *h, long long at, long long n)
{
    if (h->len == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 1024;
        h->v = realloc(h->v, h->cap * sizeof *h->v);
        if (!h->v) {
            fprintf(stderr, "gen: out of memory\n");
            exit(1);
        }
    }
    size_t i = h->len++;
    for (; i > 0 && h->v[(i - 1) / 2].at > at; i = (i - 1) / 2)
        h->v[i] = h->v[(i - 1) / 2];
    h->v[i] = (todo){at, n};
}

/* The earliest entry due by t, removed into *out: 1, or 0 when none is. */
static int todo_pop(todos *h, long long t, todo *out)
{
    if (!h->len || h->v[0].at > t)
        return 0;
    *out = h->v[0];
    todo last = h->v[--h->len];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->len)
            break;
        if (c + 1 < h->len && h->v[c + 1].at < h->v[c].at)
            c++;
        if (h->v[c].at >= last.at)
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->len)
        h->v[i] = last;
    return 1;
}

/* CONSOLE: event n of the mix described at the top, at time t, into
 * g->line; returns the line's length and sets *type. Requests and breaches
 * plan their completion in g->todo; the slots k 4, 5, 9 and 14 complete
 * the earliest one due, if any. */
static int console_event(gen *g, long long n, long long t, const char **type)
{
    char time_s[32], other[32];
    rfc3339(t, time_s);
    int k = (int)(n % 20);
    long long block = n / 20;
    todo due = {0, -1};
    if (k == 4 || k == 5 || k == 9 || k == 14)
        todo_pop(&g->todo, t, &due);
    static const char *const access[] = {
        "\"treatment_relation\":false,\"authentication\":\"2fa\"",
        "\"treatment_relation\":true,\"authentication\":\"password\"",
        "\"treatment_relation\":true,\"emergency\":true,\"authentication\":\"2fa\"",
        "\"treatment_relation\":true,\"authentication\":\"2fa\""};
    char data[512];
    if (k < 4) {
        /* 3 in 4 are completed 1 to 40 days later: fulfilled, or late
         * after a month; the k 3 ones never are */
        if (k < 3)
            todo_push(&g->todo, t + (1 + (n * 7) % 40) * 86400, n);
        *type = "nl.avg.request.received";
        snprintf(data, sizeof data,
                 "{\"request_id\":\"R-%s-%lld\",\"kind\":\"%s\",\"client_id\":\"c%lld\","
                 "\"received_at\":\"%s\"}",
                 g->tag, n, block % 8 == 7 ? "record_destruction" : request_kinds[block % 7],
                 (n * 7919) % 200000, time_s);
    } else if (due.n >= 0 && due.n % 20 < 4) {
        *type = "nl.avg.request.completed";
        snprintf(data, sizeof data,
                 "{\"request_id\":\"R-%s-%lld\",\"completed_at\":\"%s\",\"outcome\":\"granted\"}",
                 g->tag, due.n, time_s);
    } else if (due.n >= 0) {
        *type = "nl.avg.breach.notified";
        snprintf(data, sizeof data,
                 "{\"breach_id\":\"B-%s-%lld\",\"reference\":\"AP-%lld\",\"notified_at\":\"%s\"}",
                 g->tag, due.n, due.n, time_s);
    } else if (k == 6 || k == 7) {
        *type = "nl.wgbo.record.changed";
        snprintf(data, sizeof data, "{\"client_id\":\"cr-%s-%lld\",\"changed_at\":\"%s\"}", g->tag,
                 n, time_s);
    } else if (k == 8) {
        /* 2 in 3 are notified 1 to 4 days later: within the 72 hours or late */
        if (block % 3 != 0)
            todo_push(&g->todo, t + (1 + block % 4) * 86400 - 3600, n);
        *type = "nl.avg.breach.reported";
        rfc3339(t - 600, other);
        snprintf(data, sizeof data,
                 "{\"breach_id\":\"B-%s-%lld\",\"aware_at\":\"%s\",\"description\":\"e-mail met "
                 "diagnose naar verkeerde ontvanger\",\"cause\":\"misdirected\","
                 "\"personal_data\":\"yes\",\"categories\":[\"health\"],\"persons_affected\":%lld}",
                 g->tag, n, other, 1 + n % 40);
    } else if (k == 15 && block % 2 == 0) {
        /* a significant incident nobody reports: cbw.early_warning and
         * cbw.notification open, then overdue */
        *type = "nl.cbw.incident.detected";
        snprintf(data, sizeof data,
                 "{\"incident_id\":\"I-%s-%lld\",\"aware_at\":\"%s\",\"significant\":true}", g->tag,
                 n, time_s);
    } else if (k == 16 && block % 4 == 0) {
        /* an e-health application failing one theme: igj.ehealth_remediate */
        *type = "nl.igj.ehealth.assessed";
        snprintf(data, sizeof data,
                 "{\"application\":\"app-%s-%lld\",\"themes\":{\"governance\":\"pass\","
                 "\"implementation\":\"pass\",\"client_participation\":\"fail\","
                 "\"information_security\":\"pass\",\"chain_cooperation\":\"pass\"}}",
                 g->tag, n);
    } else if (k == 13) {
        *type = "nl.ict.device.decommissioned";
        snprintf(data, sizeof data,
                 "{\"device_id\":\"laptop-%lld\",\"kind\":\"laptop\",\"wipe\":\"none\"}", n % 5000);
    } else {
        /* k 10-12 raise an alert each; the rest are accesses as they should be */
        *type = "nl.nen7513.access";
        snprintf(data, sizeof data,
                 "{\"user\":{\"id\":\"u%lld\",\"role\":\"%s\"},\"client_id\":\"c%lld\","
                 "\"action\":\"read\",\"system\":\"ecd\",%s}",
                 n % 200, roles[n % N_OF(roles)], (n * 7919) % 200000,
                 access[k >= 10 && k <= 12 ? k - 10 : 3]);
    }
    return snprintf(g->line, g->cap,
                    "{\"specversion\":\"1.0\",\"id\":\"%lld\",\"source\":\"%s\",\"time\":\"%s\","
                    "\"type\":\"%s\",\"data\":%s}",
                    n, g->source, time_s, *type, data);
}

/* Formats one event into g->line; returns its type. */
static const char *event(gen *g, long long n, long long t)
{
    char time_s[32], other[32];
    rfc3339(t, time_s);
    int k = (int)(n % 50);
    const char *type;
    int len;
    if (g->kind == CONSOLE) {
        len = console_event(g, n, t, &type);
    } else if (g->kind == BREACHES || (g->kind == MIX && k == 0)) {
        /* a breach report: a datalekken register entry and avg.notify_ap, due
         * 72 h after aware_at */
        type = "nl.avg.breach.reported";
        rfc3339(g->kind == BREACHES ? g->due - 72 * 3600 : t - 600, other);
        len = snprintf(g->line, g->cap,
                       "{\"specversion\":\"1.0\",\"id\":\"%lld\",\"source\":\"%s\",\"time\":\"%s\","
                       "\"type\":\"%s\",\"data\":{\"breach_id\":\"B-%s-%lld\",\"aware_at\":\"%s\","
                       "\"description\":\"e-mail met diagnose naar verkeerde ontvanger\","
                       "\"cause\":\"misdirected\",\"personal_data\":\"yes\","
                       "\"categories\":[\"health\"],\"persons_affected\":1}}",
                       n, g->source, time_s, type, g->tag, n, other);
    } else if (g->kind == REQUESTS || k == 1) {
        /* a client's request: avg.respond_request, due one month after receipt */
        type = "nl.avg.request.received";
        const char *rk = g->kind == REQUESTS ? request_kinds[n % N_OF(request_kinds)] : "access";
        len = snprintf(g->line, g->cap,
                       "{\"specversion\":\"1.0\",\"id\":\"%lld\",\"source\":\"%s\",\"time\":\"%s\","
                       "\"type\":\"%s\",\"data\":{\"request_id\":\"R-%s-%lld\",\"kind\":\"%s\","
                       "\"client_id\":\"c%lld\",\"received_at\":\"%s\"}}",
                       n, g->source, time_s, type, g->tag, n, rk, (n * 7919) % 50000, time_s);
    } else if (k == 2) {
        /* a backup confirmation: re-arms the periodic ict.daily_backup */
        type = "nl.ict.backup.completed";
        len = snprintf(g->line, g->cap,
                       "{\"specversion\":\"1.0\",\"id\":\"%lld\",\"source\":\"%s\",\"time\":\"%s\","
                       "\"type\":\"%s\",\"data\":{\"system\":\"%s\",\"completed_at\":\"%s\"}}",
                       n, g->source, time_s, type, systems[n % N_OF(systems)], time_s);
    } else {
        /* a record access with a treatment relation and 2FA (no alert) */
        type = "nl.nen7513.access";
        len = snprintf(g->line, g->cap,
                       "{\"specversion\":\"1.0\",\"id\":\"%lld\",\"source\":\"%s\",\"time\":\"%s\","
                       "\"type\":\"%s\",\"data\":{\"user\":{\"id\":\"u%lld\",\"role\":\"%s\"},"
                       "\"client_id\":\"c%lld\",\"action\":\"read\",\"system\":\"ecd\","
                       "\"treatment_relation\":true,\"authentication\":\"2fa\"}}",
                       n, g->source, time_s, type, n % 200, roles[n % N_OF(roles)],
                       (n * 7919) % 50000);
    }
    if (len < 0 || (size_t)len >= g->cap) {
        fprintf(stderr, "gen: event %lld does not fit the line buffer\n", n);
        exit(1);
    }
    return type;
}

/* An SQL string literal: single quotes doubled. */
static void sql_text(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

static FILE *open_out(const char *path)
{
    if (!path || strcmp(path, "-") == 0)
        return stdout;
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "gen: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    return f;
}

static void close_out(FILE *f, const char *path)
{
    if (fflush(f) != 0 || ferror(f) || (f != stdout && fclose(f) != 0)) {
        fprintf(stderr, "gen: writing %s failed: %s\n", path ? path : "standard output",
                strerror(errno));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    gen g = {0};
    if (strcmp(argv[1], "mix") == 0)
        g.kind = MIX;
    else if (strcmp(argv[1], "requests") == 0)
        g.kind = REQUESTS;
    else if (strcmp(argv[1], "breaches") == 0)
        g.kind = BREACHES;
    else if (strcmp(argv[1], "console") == 0)
        g.kind = CONSOLE;
    else
        usage();
    long long count = -1, now = -1, due = -1;
    const char *out_path = NULL, *sql_path = NULL;
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i];
        if (i + 1 >= argc)
            usage();
        const char *val = argv[++i];
        if (strcmp(opt, "--count") == 0)
            count = number(opt, val);
        else if (strcmp(opt, "--tag") == 0)
            g.tag = val;
        else if (strcmp(opt, "--now") == 0)
            now = number(opt, val);
        else if (strcmp(opt, "--due") == 0)
            due = number(opt, val);
        else if (strcmp(opt, "--out") == 0)
            out_path = val;
        else if (strcmp(opt, "--sql") == 0)
            sql_path = val;
        else
            usage();
    }
    if (count < 1 || !g.tag || now < 0 || (g.kind == BREACHES) != (due >= 0) ||
        (sql_path && g.kind != MIX))
        usage();
    if (strlen(g.tag) > 64 || strpbrk(g.tag, "\"\\'")) {
        fprintf(stderr, "gen: --tag: at most 64 characters, no quotes or backslashes\n");
        return 2;
    }
    g.due = due;
    snprintf(g.source, sizeof g.source, "urn:ecd:bench:%s", g.tag);
    g.cap = 1024;
    g.line = malloc(g.cap);
    if (!g.line)
        return 1;

    profile p;
    if (g.kind == MIX) {
        profile_init(&p, now - 24 * 3600, 24, 0);
    } else if (g.kind == REQUESTS) {
        profile_init(&p, now - 14 * 86400, 14 * 24, 1);
    } else if (g.kind == CONSOLE) {
        profile_init(&p, now - 180 * 86400, 180 * 24, 1);
    } else {
        /* reported after due - 6 h, the last reminder, and within 5 h of now */
        long long from = now - 5 * 3600;
        if (from <= due - 6 * 3600)
            from = due - 6 * 3600 + 60;
        if (from >= now) {
            fprintf(stderr, "gen: --due must lie less than 6 hours after --now\n");
            return 2;
        }
        if (due <= now) {
            fprintf(stderr, "gen: --due must lie after --now\n");
            return 2;
        }
        profile_init(&p, from, (int)((now - from + 3599) / 3600), 0);
    }

    g.out = open_out(out_path);
    static char obuf[1 << 20], sbuf[1 << 20];
    setvbuf(g.out, obuf, _IOFBF, sizeof obuf);
    if (sql_path) {
        g.sql = open_out(sql_path);
        setvbuf(g.sql, sbuf, _IOFBF, sizeof sbuf);
        fputs("PRAGMA journal_mode=WAL;\nPRAGMA synchronous=FULL;\n"
              "CREATE TABLE events(seq INTEGER PRIMARY KEY, source TEXT NOT NULL, "
              "id TEXT NOT NULL, type TEXT NOT NULL, time INTEGER NOT NULL, raw TEXT NOT NULL, "
              "UNIQUE(source, id));\n",
              g.sql);
    }
    for (long long n = 0; n < count; n++) {
        long long t = profile_time(&p, n, count);
        if (t > now)
            t = now;
        const char *type = event(&g, n, t);
        fputs(g.line, g.out);
        fputc('\n', g.out);
        if (g.sql) {
            if (n % 1000 == 0)
                fputs("BEGIN;\n", g.sql);
            fprintf(g.sql,
                    "INSERT INTO events(source,id,type,time,raw) VALUES('%s','%lld','%s',%lld,",
                    g.source, n, type, t);
            sql_text(g.sql, g.line);
            fputs(");\n", g.sql);
            if (n % 1000 == 999 || n == count - 1)
                fputs("COMMIT;\n", g.sql);
        }
    }
    close_out(g.out, out_path);
    if (g.sql)
        close_out(g.sql, sql_path);
    free(p.cum);
    free(g.line);
    free(g.todo.v);
    return 0;
}
