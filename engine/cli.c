/*
 * cli.c — the reading commands and `ingest` (cli.h). `serve` lives in
 * serve.c.
 *
 * Reading commands open the database read-only and print either a table for
 * people or, with --json, exactly one JSON array of the shapes of DESIGN §2.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "cli_common.h"
#include "engine.h"
#include "error.h"
#include "journal.h"
#include "obligations.h"
#include "outbox.h"
#include "registers.h"

int cli_parse(int argc, char **argv, cli_opts *o, const char *usage_text)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"db", required_argument, NULL, 'd'},
        {"rules", required_argument, NULL, 'r'},
        {"clock", required_argument, NULL, 'k'},
        {"until", required_argument, NULL, 'u'},
        {"status", required_argument, NULL, 's'},
        {"kind", required_argument, NULL, 'K'},
        {"since", required_argument, NULL, 'S'},
        {"listen", required_argument, NULL, 'l'},
        {"json", no_argument, NULL, 'j'},
        {"csv", no_argument, NULL, 'C'},
        {"history", no_argument, NULL, 'H'},
        {"role", required_argument, NULL, 'R'},
        {"note", required_argument, NULL, 'N'},
        {"allow-insecure-listen", no_argument, NULL, 'I'},
        {"plugin-dir", required_argument, NULL, 'P'},
        {"format", required_argument, NULL, 'F'},
        {"run", required_argument, NULL, 'X'},
        {"min-coverage", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            o->config = optarg;
            break;
        case 'd':
            o->db = optarg;
            break;
        case 'r':
            o->rules = optarg;
            break;
        case 'k':
            o->clock = optarg;
            break;
        case 'u':
            o->until = optarg;
            break;
        case 's':
            o->status = optarg;
            break;
        case 'K':
            o->kind = optarg;
            break;
        case 'S':
            o->since = optarg;
            break;
        case 'l':
            o->listen = optarg;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'C':
            o->csv = 1;
            break;
        case 'H':
            o->history = 1;
            break;
        case 'R':
            o->role = optarg;
            break;
        case 'N':
            o->note = optarg;
            break;
        case 'I':
            o->allow_insecure = 1;
            break;
        case 'P':
            if (o->nplugin_dirs == 8) {
                fprintf(stderr, "obligo %s: at most 8 --plugin-dir options\n", argv[0]);
                return -1;
            }
            o->plugin_dirs[o->nplugin_dirs++] = optarg;
            break;
        case 'F':
            o->format = optarg;
            break;
        case 'X':
            o->run = optarg;
            break;
        case 'M':
            o->min_coverage = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 1;
        default:
            fprintf(stderr, "obligo %s: unknown or incomplete option '%s'\n%s", argv[0],
                    argv[optind - 1], usage_text);
            return -1;
        }
    }
    o->args = argv + optind;
    o->nargs = argc - optind;
    return 0;
}

int cli_config(const cli_opts *o, config *cfg)
{
    char *err = NULL;
    int rc = config_load(cfg, o->config, &err);
    if (rc) {
        fprintf(stderr, "obligo: %s\n", err ? err : obligo_strerror(rc));
        obligo_free(err);
        return rc;
    }
    /* --plugin-dir replaces the configured directories */
    if (o->nplugin_dirs) {
        for (int i = 0; i < cfg->nplugin_dirs; i++)
            obligo_free(cfg->plugin_dirs[i]);
        cfg->nplugin_dirs = 0;
        for (int i = 0; i < o->nplugin_dirs; i++) {
            if (config_add_plugin_dir(cfg, o->plugin_dirs[i])) {
                config_free(cfg);
                return OBLIGO_ENOMEM;
            }
        }
    }
    if ((o->db && config_set(&cfg->db_path, o->db)) ||
        (o->rules && config_set(&cfg->rules_dir, o->rules)) ||
        (o->listen && config_set(&cfg->listen, o->listen))) {
        config_free(cfg);
        return OBLIGO_ENOMEM;
    }
    return 0;
}

int cli_open(const cli_opts *o, config *cfg, engine *e, int read_only)
{
    if (cli_config(o, cfg))
        return 2;
    char *err = NULL;
    int rc = engine_open(e, cfg, read_only, &err);
    if (rc) {
        fprintf(stderr, "obligo: %s\n", err ? err : obligo_strerror(rc));
        obligo_free(err);
        config_free(cfg);
        return 2;
    }
    return 0;
}

static void cli_print_json(cJSON *arr)
{
    char *text = cJSON_PrintUnformatted(arr ? arr : cJSON_CreateArray());
    if (text)
        puts(text);
    cJSON_free(text);
}

static const char *cli_s(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* "2026-02-05T08:15:00Z" -> "05-02-2026 09:15" Amsterdam, for tables. */
static void cli_local(const char *utc, char *buf, size_t n)
{
    obligo_time t;
    civil c;
    if (!*utc || clock_parse_rfc3339(utc, &t)) {
        snprintf(buf, n, "-");
        return;
    }
    clock_to_ams(t, &c);
    snprintf(buf, n, "%04d-%02d-%02d %02d:%02d", c.year, c.month, c.day, c.hour, c.min);
}

/* ---- ingest --------------------------------------------------------------- */

static const char ingest_usage[] =
    "usage: obligo ingest [--config F] [--db F] [--rules DIR] [--plugin-dir DIR]...\n"
    "                     [--clock wall|events] [--until T] [--format ndjson|NAME] FILE...|-\n"
    "Runs NDJSON events (one per line) through the pipeline. Bad lines are reported as\n"
    "FILE:LINE: reason and kept in the rejected table; exit 1 when any was rejected.\n";

typedef struct ingest_run {
    engine *e;
    int clock_events;
    long rejected, lines;
    int in_txn, batch;
} ingest_run;

/* Commits every 1,000 events so a large file is durable in steps and the
 * transaction stays small; alerts are delivered after each commit. */
static int ingest_checkpoint(ingest_run *r, int force)
{
    if (!r->in_txn || (!force && r->batch < 1000))
        return 0;
    int rc = engine_commit(r->e);
    if (rc) {
        engine_rollback(r->e);
        return rc;
    }
    r->in_txn = 0;
    r->batch = 0;
    engine_deliver(r->e);
    return 0;
}

static int ingest_ensure_txn(ingest_run *r)
{
    if (r->in_txn)
        return 0;
    int rc = engine_begin(r->e);
    if (!rc)
        r->in_txn = 1;
    return rc;
}

static int ingest_line(ingest_run *r, const char *name, long lineno, const char *line, size_t len,
                       int truncated)
{
    char origin[512];
    snprintf(origin, sizeof origin, "%s:%ld", name, lineno);
    int rc = ingest_ensure_txn(r);
    if (rc)
        return rc;
    r->batch++;
    char *field = NULL, *reason = NULL;
    cJSON *ev = NULL;
    if (truncated)
        reason = obligo_asprintf("event is larger than the limit of %zu bytes",
                                 r->e->cfg->max_event_bytes);
    else
        ev = engine_decode(r->e, line, len, &field, &reason);
    if (!ev) {
        fprintf(stderr, "%s: %s%s%s\n", origin, field ? field : "", field ? ": " : "",
                reason ? reason : "invalid event");
        rc = engine_reject(r->e, origin, line, len, field, reason ? reason : "invalid event");
        r->rejected++;
        obligo_free(field);
        obligo_free(reason);
        return rc;
    }
    if (r->clock_events) {
        obligo_time t;
        const cJSON *ts = cJSON_GetObjectItemCaseSensitive(ev, "time");
        if (clock_parse_rfc3339(ts->valuestring, &t) == 0 && t > r->e->now)
            rc = engine_fire_due(r->e, t, 0, NULL);
    } else {
        r->e->now = (obligo_time)time(NULL);
    }
    /* A savepoint per event: an event that cannot be stored is rejected
     * alone, and the good lines around it are kept. */
    if (!rc)
        rc = store_savepoint(&r->e->st);
    if (!rc) {
        int dup = 0;
        rc = engine_event(r->e, ev, line, len, &dup);
        if (rc == OBLIGO_EFULL || rc == OBLIGO_ENOMEM) {
            store_rollback_savepoint(&r->e->st);
        } else if (rc) {
            store_rollback_savepoint(&r->e->st);
            fprintf(stderr, "%s: could not be applied: %s\n", origin, obligo_strerror(rc));
            rc = engine_reject(r->e, origin, line, len, NULL, obligo_strerror(rc));
            r->rejected++;
        } else {
            rc = store_release(&r->e->st);
        }
    }
    cJSON_Delete(ev);
    if (!rc)
        rc = ingest_checkpoint(r, 0);
    return rc;
}

/* Reads lines of any length but keeps at most max bytes of each, so a
 * hostile file cannot make the engine hold a gigabyte line. fgets reads a
 * block at a time; a line longer than the buffer arrives in pieces. */
static int ingest_stream(ingest_run *r, FILE *fp, const char *name)
{
    size_t max = r->e->cfg->max_event_bytes, cap = 65536, len = 0;
    char *buf = obligo_malloc(cap);
    if (!buf)
        return OBLIGO_ENOMEM;
    char chunk[16384];
    long lineno = 0;
    int truncated = 0, rc = 0, at_eof = 0;
    while (!rc && !at_eof) {
        size_t n = 0;
        int complete = 0;
        if (fgets(chunk, sizeof chunk, fp)) {
            n = strlen(chunk);
            complete = n > 0 && chunk[n - 1] == '\n';
            if (complete)
                n--;
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
            memcpy(buf + len, chunk, n);
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
            buf[len] = '\0';
            rc = ingest_line(r, name, lineno, buf + start, len - start, truncated);
        }
        len = 0;
        truncated = 0;
    }
    r->lines += lineno;
    obligo_free(buf);
    return rc;
}

typedef struct ingest_doc {
    char **raws;
    size_t *lens;
    int n, cap;
} ingest_doc;

static int ingest_emit(void *ctx, const char *event_json, size_t len)
{
    ingest_doc *d = ctx;
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 16;
        char **nr = obligo_realloc(d->raws, (size_t)cap * sizeof *nr);
        if (nr)
            d->raws = nr;
        size_t *nl = nr ? obligo_realloc(d->lens, (size_t)cap * sizeof *nl) : NULL;
        if (nl)
            d->lens = nl;
        if (!nr || !nl)
            return -1;
        d->cap = cap;
    }
    if (!(d->raws[d->n] = obligo_strndup(event_json, len)))
        return -1;
    d->lens[d->n++] = len;
    return 0;
}

/* --format NAME: the whole file is one document of an input adapter
 * (e.g. a FHIR AuditEvent or Bundle); its events go through the pipeline
 * like NDJSON lines. A document the adapter refuses is rejected whole. */
static int ingest_document(ingest_run *r, const plugins_adapter *a, FILE *fp, const char *name)
{
    size_t cap = 65536, len = 0, max = r->e->cfg->max_body_bytes;
    char *buf = obligo_malloc(cap);
    int rc = 0;
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
            if (!nb) {
                obligo_free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    if (!buf)
        return OBLIGO_ENOMEM;
    buf[len] = '\0';
    ingest_doc d = {0};
    char *path = NULL, *error = NULL, *body = NULL;
    if (a->adapter.convert(a->state, buf, len, ingest_emit, &d, &path, &error, &body) != 0) {
        fprintf(stderr, "%s: %s%s%s\n", name, path ? path : "", path ? ": " : "",
                error ? error : "the document could not be converted");
        if (!(rc = ingest_ensure_txn(r)))
            rc = engine_reject(r->e, name, buf, len, path, error ? error : "not converted");
        r->rejected++;
    } else {
        for (int i = 0; i < d.n && !rc; i++)
            rc = ingest_line(r, name, i + 1, d.raws[i], d.lens[i], 0);
    }
    for (int i = 0; i < d.n; i++)
        obligo_free(d.raws[i]);
    obligo_free(d.raws);
    obligo_free(d.lens);
    obligo_free(path);
    obligo_free(error);
    obligo_free(body);
    obligo_free(buf);
    return rc;
}

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
    for (int i = 0; i < o.nargs && !rc; i++) {
        const char *name = o.args[i];
        FILE *fp = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");
        if (!fp) {
            fprintf(stderr, "obligo ingest: cannot open %s\n", name);
            r.rejected++;
            continue;
        }
        const char *shown = strcmp(name, "-") == 0 ? "<stdin>" : name;
        rc = adapter ? ingest_document(&r, adapter, fp, shown) : ingest_stream(&r, fp, shown);
        if (fp != stdin)
            fclose(fp);
    }
    if (!rc) {
        /* Deadlines up to --until (or now, on the wall clock) fire before
         * the last commit. */
        obligo_time end = o.until ? until : clock_events ? e.now : (obligo_time)time(NULL);
        if (!(rc = ingest_ensure_txn(&r)))
            rc = engine_fire_due(&e, end, clock_events ? 0 : (obligo_time)time(NULL) - 60, NULL);
    }
    if (!rc)
        rc = ingest_checkpoint(&r, 1);
    else if (r.in_txn)
        engine_rollback(&e);
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

/* ---- obligations / alerts / register / verify ---------------------------- */

static const char obligations_usage[] =
    "usage: obligo obligations [--config F] [--db F] [--status S] [--kind K] [--json]\n";

int cli_obligations(int argc, char **argv)
{
    cli_opts o;
    int prc = cli_parse(argc, argv, &o, obligations_usage);
    if (prc)
        return prc > 0 ? 0 : 2;
    config cfg;
    engine e;
    if (cli_open(&o, &cfg, &e, 1))
        return 2;
    obligations_filter f = {.status = o.status, .kind = o.kind};
    cJSON *rows = obligations_list(&e.st, &f);
    if (o.json) {
        cli_print_json(rows);
    } else {
        printf("%-6s %-28s %-20s %-10s %-17s %s\n", "ID", "KIND", "SUBJECT", "STATUS",
               "DUE (AMSTERDAM)", "CLOSED");
        for (const cJSON *r = rows ? rows->child : NULL; r; r = r->next) {
            char due[32], closed[32];
            cli_local(cli_s(r, "due_at"), due, sizeof due);
            cli_local(cli_s(r, "closed_at"), closed, sizeof closed);
            printf("%-6d %-28s %-20s %-10s %-17s %s\n",
                   (int)cJSON_GetObjectItemCaseSensitive(r, "id")->valuedouble, cli_s(r, "kind"),
                   cli_s(r, "subject"), cli_s(r, "status"), due, closed);
        }
    }
    cJSON_Delete(rows);
    engine_close(&e);
    config_free(&cfg);
    return 0;
}

static const char alerts_usage[] =
    "usage: obligo alerts [--config F] [--db F] [--since T] [--kind K] [--json]\n";

int cli_alerts(int argc, char **argv)
{
    cli_opts o;
    int prc = cli_parse(argc, argv, &o, alerts_usage);
    if (prc)
        return prc > 0 ? 0 : 2;
    outbox_filter f = {.kind = o.kind};
    if (o.since && clock_parse_any(o.since, &f.since)) {
        fprintf(stderr, "obligo alerts: --since '%s' is not an RFC 3339 time\n", o.since);
        return 2;
    }
    config cfg;
    engine e;
    if (cli_open(&o, &cfg, &e, 1))
        return 2;
    cJSON *rows = outbox_list(&e.st, &f);
    if (o.json) {
        cli_print_json(rows);
    } else {
        printf("%-17s %-9s %-34s %-16s %s\n", "AT (AMSTERDAM)", "SEVERITY", "KIND", "SUBJECT",
               "MESSAGE");
        for (const cJSON *r = rows ? rows->child : NULL; r; r = r->next) {
            char at[32];
            cli_local(cli_s(r, "at"), at, sizeof at);
            printf("%-17s %-9s %-34s %-16s %s\n", at, cli_s(r, "severity"), cli_s(r, "kind"),
                   cli_s(r, "subject"), cli_s(r, "message"));
        }
    }
    cJSON_Delete(rows);
    engine_close(&e);
    config_free(&cfg);
    return 0;
}

static void cli_csv_field(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static const char register_usage[] =
    "usage: obligo register NAME [--config F] [--db F] [--history] [--json|--csv]\n";

int cli_register(int argc, char **argv)
{
    cli_opts o;
    int prc = cli_parse(argc, argv, &o, register_usage);
    if (prc)
        return prc > 0 ? 0 : 2;
    if (o.nargs != 1) {
        fprintf(stderr, "obligo register: name one register, e.g. datalekken\n%s", register_usage);
        return 2;
    }
    config cfg;
    engine e;
    if (cli_open(&o, &cfg, &e, 1))
        return 2;
    cJSON *rows = registers_list(&e.st, o.args[0], o.history);
    if (o.json) {
        cli_print_json(rows);
    } else if (o.csv) {
        puts("register,key,version,at,data,hash,prev_hash");
        for (const cJSON *r = rows ? rows->child : NULL; r; r = r->next) {
            char *data = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r, "data"));
            printf("%s,", cli_s(r, "register"));
            cli_csv_field(cli_s(r, "key"));
            printf(",%d,%s,", (int)cJSON_GetObjectItemCaseSensitive(r, "version")->valuedouble,
                   cli_s(r, "at"));
            cli_csv_field(data ? data : "");
            printf(",%s,%s\n", cli_s(r, "hash"), cli_s(r, "prev_hash"));
            cJSON_free(data);
        }
    } else {
        printf("%-20s %-4s %-17s %s\n", "KEY", "VER", "AT (AMSTERDAM)", "DATA");
        for (const cJSON *r = rows ? rows->child : NULL; r; r = r->next) {
            char at[32];
            char *data = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r, "data"));
            cli_local(cli_s(r, "at"), at, sizeof at);
            printf("%-20s %-4d %-17s %s\n", cli_s(r, "key"),
                   (int)cJSON_GetObjectItemCaseSensitive(r, "version")->valuedouble, at,
                   data ? data : "");
            cJSON_free(data);
        }
    }
    cJSON_Delete(rows);
    engine_close(&e);
    config_free(&cfg);
    return 0;
}

static const char verify_usage[] = "usage: obligo verify [--config F] [--db F]\n"
                                   "Checks the journal's and the registers' hash chains and the "
                                   "database's integrity; exit 1 on any finding.\n";

int cli_verify(int argc, char **argv)
{
    cli_opts o;
    int prc = cli_parse(argc, argv, &o, verify_usage);
    if (prc)
        return prc > 0 ? 0 : 2;
    config cfg;
    engine e;
    if (cli_open(&o, &cfg, &e, 1))
        return 2;
    long findings = 0;
    sqlite3_stmt *s = store_stmt(&e.st, "PRAGMA integrity_check");
    while (s && sqlite3_step(s) == SQLITE_ROW) {
        const char *msg = (const char *)sqlite3_column_text(s, 0);
        if (strcmp(msg, "ok") != 0) {
            fprintf(stderr, "database: %s\n", msg);
            findings++;
        }
    }
    if (s)
        sqlite3_reset(s);
    long j = journal_verify(&e.st), r = registers_verify(&e.st);
    findings += (j < 0 ? 1 : j) + (r < 0 ? 1 : r);
    if (findings)
        fprintf(stderr, "obligo verify: %ld finding(s)\n", findings);
    else
        printf("obligo verify: journal and registers intact\n");
    engine_close(&e);
    config_free(&cfg);
    return findings ? 1 : 0;
}
