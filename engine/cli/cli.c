/*
 * cli.c — the reading commands (cli.h). The other commands live in
 * cmd_<command>.c.
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
#include <unistd.h>

#include "alloc.h"
#include "cli_common.h"
#include "cli_csv.h"
#include "engine.h"
#include "error.h"
#include "journal.h"
#include "obligations.h"
#include "outbox.h"
#include "registers.h"

/* Whether a command takes the option --name: --config and --plugin-dir
 * always; any other when its usage text names it — the usage is the one
 * list of what a command takes, so help and parsing cannot disagree. */
static int cli_takes(const char *usage_text, const char *name)
{
    /* every command takes these (README, Command line) */
    if (strcmp(name, "config") == 0 || strcmp(name, "plugin-dir") == 0)
        return 1;
    size_t n = strlen(name);
    for (const char *p = strstr(usage_text, "--"); p; p = strstr(p + 2, "--")) {
        if (strncmp(p + 2, name, n) != 0)
            continue; /* (and p[2 + n] may lie past the end) */
        char after = p[2 + n];
        if (!(after == '-' || (after >= 'a' && after <= 'z')))
            return 1;
    }
    return 0;
}

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
        {"clock-start", required_argument, NULL, 'T'},
        {"plugin-dir", required_argument, NULL, 'P'},
        {"format", required_argument, NULL, 'F'},
        {"run", required_argument, NULL, 'X'},
        {"min-coverage", required_argument, NULL, 'M'},
        {"type", required_argument, NULL, 'Y'},
        {"replay", no_argument, NULL, 'E'},
        {"quiet", no_argument, NULL, 'q'},
        {"within", required_argument, NULL, 'W'},
        {"now", required_argument, NULL, 'O'},
        {"bom", no_argument, NULL, 'B'},
        {"ap-form", required_argument, NULL, 'A'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    optind = 1;
    opterr = 0;
    int ch, index = -1;
    while ((ch = getopt_long(argc, argv, "h", longopts, &index)) != -1) {
        if (ch != '?' && ch != ':' && ch != 'h' && index >= 0 &&
            !cli_takes(usage_text, longopts[index].name)) {
            fprintf(stderr, "obligo %s: option --%s is not an option of this command\n%s", argv[0],
                    longopts[index].name, usage_text);
            return -1;
        }
        index = -1;
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
        case 'T':
            o->clock_start = optarg;
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
        case 'Y':
            o->type = optarg;
            break;
        case 'E':
            o->replay = 1;
            break;
        case 'q':
            o->quiet = 1;
            break;
        case 'W':
            o->within = optarg;
            break;
        case 'O':
            o->now = optarg;
            break;
        case 'B':
            o->bom = 1;
            break;
        case 'A':
            o->ap_form = optarg;
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

/* Without --config: obligo.json in systemd's ConfigurationDirectory= (the
 * first of its directories) when there is one; caller frees. */
static char *cli_default_config(void)
{
    const char *dir = getenv("CONFIGURATION_DIRECTORY");
    if (!dir || !*dir)
        return NULL;
    char *path = obligo_asprintf("%.*s/obligo.json", (int)strcspn(dir, ":"), dir);
    if (path && access(path, F_OK) == 0)
        return path;
    obligo_free(path);
    return NULL;
}

int cli_config(const cli_opts *o, config *cfg)
{
    char *err = NULL;
    char *implied = o->config ? NULL : cli_default_config();
    int rc = config_load(cfg, o->config ? o->config : implied, &err);
    obligo_free(implied);
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
/* The characters (UTF-8 code points) of s: what it takes on a terminal. */
static int cli_chars(const char *s)
{
    int chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        chars += (*p & 0xc0) != 0x80;
    return chars;
}

/* The widest value of member name among rows, and at least least. */
static int cli_widest(const cJSON *rows, const char *name, int least)
{
    int w = least;
    for (const cJSON *r = rows ? rows->child : NULL; r; r = r->next) {
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, name));
        int n = v ? cli_chars(v) : 0;
        if (n > w)
            w = n;
    }
    return w;
}

/* Prints s and pads it with spaces to width columns, counting characters
 * (UTF-8 code points), not bytes, so that a title with "cliënt" lines up
 * with one without; then the column's separating space. printf's %-Ns
 * pads by bytes. A longer s is printed whole. */
static void cli_cell(const char *s, int width)
{
    int chars = cli_chars(s);
    fputs(s, stdout);
    for (int i = chars; i < width; i++)
        putchar(' ');
    putchar(' ');
}

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

/* ---- obligations / alerts / register / verify ---------------------------- */

/* --json or --csv, not both; --bom only with --csv. 0, or -1 after a usage
 * error was printed. */
static int cli_formats(const char *cmd, const cli_opts *o, const char *usage_text)
{
    if ((o->json && o->csv) || (o->bom && !o->csv)) {
        fprintf(stderr, "obligo %s: %s\n%s", cmd,
                o->bom ? "--bom goes with --csv" : "--json or --csv, not both", usage_text);
        return -1;
    }
    return 0;
}

static const char obligations_usage[] =
    "usage: obligo obligations [--config F] [--db F] [--rules DIR] [--status S[,S...]]\n"
    "                          [--kind K] [--within DURATION] [--now T] [--json|--csv [--bom]]\n"
    "Lists obligations by due time, each with its duty's Dutch title and the time\n"
    "left as of --now T (RFC 3339; default: now). --status takes open, overdue,\n"
    "fulfilled, late and cancelled, several comma-separated; --within 7d (or 48h,\n"
    "30m) keeps those due within that span from now, overdue ones included.\n"
    "--json adds title and seconds_left (negative when overdue; null once closed).\n";

static const char *const obligation_statuses[] = {"open", "overdue", "fulfilled", "late",
                                                  "cancelled"};
#define NSTATUSES 5

/* "open,overdue" -> a bit per obligation_statuses entry; 0 for none given,
 * -1 after a usage error was printed. */
static int cli_statuses(const char *list)
{
    if (!list)
        return 0;
    int bits = 0;
    const char *p = list;
    for (;;) {
        size_t n = strcspn(p, ",");
        int found = -1;
        for (int i = 0; i < NSTATUSES; i++)
            if (strlen(obligation_statuses[i]) == n && strncmp(p, obligation_statuses[i], n) == 0)
                found = i;
        if (found < 0) {
            fprintf(stderr,
                    "obligo obligations: --status '%.*s' is not a status; the statuses are "
                    "open, overdue, fulfilled, late, cancelled\n%s",
                    (int)n, p, obligations_usage);
            return -1;
        }
        bits |= 1 << found;
        if (!p[n])
            return bits;
        p += n + 1;
    }
}

/* "7d", "48h", "30m", "1d12h" -> seconds; -1 when it is not one. */
static int64_t cli_duration(const char *s)
{
    int64_t total = 0;
    if (!*s)
        return -1;
    while (*s) {
        if (*s < '0' || *s > '9')
            return -1;
        int64_t n = 0;
        while (*s >= '0' && *s <= '9') {
            n = n * 10 + (*s++ - '0');
            if (n > 100000000)
                return -1;
        }
        int64_t unit = *s == 'd' ? 86400 : *s == 'h' ? 3600 : *s == 'm' ? 60 : 0;
        if (!unit)
            return -1;
        s++;
        total += n * unit;
    }
    return total;
}

/* Time left as an officer reads it: "nog 2 dagen 4 uur", "nog 3 uur",
 * "nog 20 minuten", "2 dagen te laat". Whole units, rounded down. */
static void cli_time_left(int64_t secs, char *buf, size_t n)
{
    int late = secs < 0;
    int64_t a = late ? -secs : secs;
    int64_t days = a / 86400, hours = a % 86400 / 3600, mins = a % 3600 / 60;
    char span[64];
    if (days && hours)
        snprintf(span, sizeof span, "%lld %s %lld uur", (long long)days,
                 days == 1 ? "dag" : "dagen", (long long)hours);
    else if (days)
        snprintf(span, sizeof span, "%lld %s", (long long)days, days == 1 ? "dag" : "dagen");
    else if (hours)
        snprintf(span, sizeof span, "%lld uur", (long long)hours);
    else
        snprintf(span, sizeof span, "%lld %s", (long long)mins, mins == 1 ? "minuut" : "minuten");
    if (late)
        snprintf(buf, n, "%s te laat", span);
    else
        snprintf(buf, n, "nog %s", span);
}

static int cli_due_cmp(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    obligo_time tx = 0, ty = 0;
    const cJSON *dx = cJSON_GetObjectItemCaseSensitive(x, "due_at");
    const cJSON *dy = cJSON_GetObjectItemCaseSensitive(y, "due_at");
    if (cJSON_IsString(dx))
        clock_parse_rfc3339(dx->valuestring, &tx);
    if (cJSON_IsString(dy))
        clock_parse_rfc3339(dy->valuestring, &ty);
    if (tx != ty)
        return tx < ty ? -1 : 1;
    double ix = cJSON_GetObjectItemCaseSensitive(x, "id")->valuedouble;
    double iy = cJSON_GetObjectItemCaseSensitive(y, "id")->valuedouble;
    return ix < iy ? -1 : ix > iy;
}

/* Keeps the rows of the statuses asked for (bits; 0: all) due up to
 * due_by (0: any), sorted by due time, with title and seconds_left. */
static cJSON *cli_obligations_view(cJSON *rows, int bits, obligo_time now, obligo_time due_by,
                                   const rules *r)
{
    int n = cJSON_GetArraySize(rows);
    cJSON **keep = obligo_calloc(n ? (size_t)n : 1, sizeof(cJSON *));
    cJSON *out = cJSON_CreateArray();
    if (!keep || !out) {
        obligo_free(keep);
        cJSON_Delete(out);
        cJSON_Delete(rows);
        return NULL;
    }
    int k = 0;
    while (rows->child) {
        cJSON *row = cJSON_DetachItemViaPointer(rows, rows->child);
        const char *status = cli_s(row, "status");
        int bit = 0;
        for (int i = 0; i < NSTATUSES; i++)
            if (strcmp(status, obligation_statuses[i]) == 0)
                bit = 1 << i;
        obligo_time due = 0;
        clock_parse_rfc3339(cli_s(row, "due_at"), &due);
        if ((bits && !(bits & bit)) || (due_by && due > due_by)) {
            cJSON_Delete(row);
            continue;
        }
        const rules_kind *kind = r ? rules_kind_find(r, cli_s(row, "kind")) : NULL;
        cJSON_AddStringToObject(row, "title",
                                kind && kind->title ? kind->title : cli_s(row, "kind"));
        if (strcmp(status, "open") == 0 || strcmp(status, "overdue") == 0)
            cJSON_AddNumberToObject(row, "seconds_left", (double)(due - now));
        else
            cJSON_AddNullToObject(row, "seconds_left");
        keep[k++] = row;
    }
    cJSON_Delete(rows);
    qsort((void *)keep, (size_t)k, sizeof(cJSON *), cli_due_cmp);
    for (int i = 0; i < k; i++)
        cJSON_AddItemToArray(out, keep[i]);
    obligo_free(keep);
    return out;
}

int cli_load_rules(const config *cfg, plugins **p, rules **r, char **err)
{
    *p = NULL;
    *r = NULL;
    int rc = engine_load_plugins(cfg, p, err);
    if (!rc)
        rc = rules_load(cfg->rules_dir, cfg->policy, &cfg->limits, *p, r, err);
    if (rc) {
        plugins_free(*p);
        *p = NULL;
    }
    return rc;
}

int cli_obligations(int argc, char **argv)
{
    cli_opts o;
    int prc = cli_parse(argc, argv, &o, obligations_usage);
    if (prc)
        return prc > 0 ? 0 : 2;
    if (o.nargs) {
        fprintf(stderr, "obligo obligations: unexpected argument '%s'\n%s", o.args[0],
                obligations_usage);
        return 2;
    }
    int bits = cli_statuses(o.status);
    if (bits < 0)
        return 2;
    obligo_time now = clock_now();
    if (o.now && clock_parse_rfc3339(o.now, &now)) {
        fprintf(stderr, "obligo obligations: --now '%s' is not an RFC 3339 time\n%s", o.now,
                obligations_usage);
        return 2;
    }
    int64_t within = o.within ? cli_duration(o.within) : 0;
    if (within < 0) {
        fprintf(stderr,
                "obligo obligations: --within '%s' is not a duration such as 7d, 48h or 30m\n%s",
                o.within, obligations_usage);
        return 2;
    }
    if (cli_formats("obligations", &o, obligations_usage))
        return 2;
    config cfg;
    engine e;
    if (cli_open(&o, &cfg, &e, 1))
        return 2;
    plugins *p = NULL;
    rules *r = NULL;
    char *err = NULL;
    if (cli_load_rules(&cfg, &p, &r, &err)) {
        fprintf(stderr,
                "obligo obligations: the rules in %s do not load (%s); showing kind names "
                "instead of titles\n",
                cfg.rules_dir ? cfg.rules_dir : "(none)", err ? err : "error");
        obligo_free(err);
    }
    obligations_filter f = {.kind = o.kind};
    cJSON *rows = obligations_list(&e.st, &f);
    rows = rows ? cli_obligations_view(rows, bits, now, o.within ? now + within : 0, r) : NULL;
    int rc = rows ? 0 : 2;
    if (!rows) {
        fprintf(stderr, "obligo obligations: cannot read %s\n", cfg.db_path);
    } else if (o.json) {
        cli_print_json(rows);
    } else if (o.csv) {
        static const char *const cols[] = {"id",          "kind",      "title",        "subject",
                                           "status",      "opened_at", "starts_at",    "due_at",
                                           "legal_limit", "closed_at", "seconds_left", "rationale"};
        cli_csv w;
        cli_csv_init(&w, stdout, o.bom);
        cli_csv_table(&w, rows, cols, (int)(sizeof cols / sizeof cols[0]));
    } else {
        /* the title and subject columns as wide as their widest value */
        int tw = cli_widest(rows, "title", 6), sw = cli_widest(rows, "subject", 7);
        printf("%-6s ", "ID");
        cli_cell("PLICHT", tw);
        cli_cell("BETREFT", sw);
        printf("%-9s %-17s %s\n", "STATUS", "UITERLIJK (AMS)", "RESTEREND");
        for (const cJSON *row = rows->child; row; row = row->next) {
            char due[32], left[96];
            cli_local(cli_s(row, "due_at"), due, sizeof due);
            const cJSON *secs = cJSON_GetObjectItemCaseSensitive(row, "seconds_left");
            if (cJSON_IsNumber(secs))
                cli_time_left((int64_t)secs->valuedouble, left, sizeof left);
            else
                snprintf(left, sizeof left, "-");
            printf("%-6d ", (int)cJSON_GetObjectItemCaseSensitive(row, "id")->valuedouble);
            cli_cell(cli_s(row, "title"), tw);
            cli_cell(cli_s(row, "subject"), sw);
            printf("%-9s %-17s %s\n", cli_s(row, "status"), due, left);
        }
    }
    cJSON_Delete(rows);
    rules_free(r);
    plugins_free(p);
    engine_close(&e);
    config_free(&cfg);
    return rc;
}

static const char alerts_usage[] =
    "usage: obligo alerts [--config F] [--db F] [--since T] [--kind K] [--json|--csv [--bom]]\n";

int cli_alerts(int argc, char **argv)
{
    cli_opts o;
    int prc = cli_parse(argc, argv, &o, alerts_usage);
    if (prc)
        return prc > 0 ? 0 : 2;
    if (cli_formats("alerts", &o, alerts_usage))
        return 2;
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
    } else if (o.csv) {
        static const char *const cols[] = {"id",      "at",   "severity",     "kind",     "subject",
                                           "message", "rule", "event.source", "event.id", "data"};
        cli_csv w;
        cli_csv_init(&w, stdout, o.bom);
        cli_csv_table(&w, rows, cols, (int)(sizeof cols / sizeof cols[0]));
    } else {
        printf("%-17s %-9s %-34s %-16s %s\n", "AT (AMSTERDAM)", "SEVERITY", "KIND", "SUBJECT",
               "MESSAGE");
        for (const cJSON *r = rows ? rows->child : NULL; r; r = r->next) {
            char at[32];
            cli_local(cli_s(r, "at"), at, sizeof at);
            printf("%-17s %-9s ", at, cli_s(r, "severity"));
            cli_cell(cli_s(r, "kind"), 34);
            cli_cell(cli_s(r, "subject"), 16);
            printf("%s\n", cli_s(r, "message"));
        }
    }
    cJSON_Delete(rows);
    engine_close(&e);
    config_free(&cfg);
    return 0;
}

static const char rejected_usage[] =
    "usage: obligo rejected [--config F] [--db F] [--since T] [--json|--csv [--bom]]\n"
    "Lists the refused input (dead letters), oldest first: when it came, where\n"
    "from (FILE:LINE, http[N]), the field and the reason. --json prints each\n"
    "with its bytes (raw, or raw_base64 for input that is not UTF-8 text), --csv\n"
    "as columns.\n";

int cli_rejected(int argc, char **argv)
{
    cli_opts o;
    int prc = cli_parse(argc, argv, &o, rejected_usage);
    if (prc)
        return prc > 0 ? 0 : 2;
    if (o.nargs) {
        fprintf(stderr, "obligo rejected: unexpected argument '%s'\n%s", o.args[0], rejected_usage);
        return 2;
    }
    if (cli_formats("rejected", &o, rejected_usage))
        return 2;
    obligo_time since = 0;
    if (o.since && clock_parse_any(o.since, &since)) {
        fprintf(stderr, "obligo rejected: --since '%s' is not an RFC 3339 time\n", o.since);
        return 2;
    }
    config cfg;
    engine e;
    if (cli_open(&o, &cfg, &e, 1))
        return 2;
    cJSON *rows = journal_rejected_list(&e.st, since, 0, 0);
    int rc = rows ? 0 : 2;
    if (!rows)
        fprintf(stderr, "obligo rejected: cannot read %s: %s\n", cfg.db_path,
                sqlite3_errmsg(e.st.db));
    else if (o.json)
        cli_print_json(rows);
    else if (o.csv) {
        static const char *const cols[] = {"seq",    "received_at", "origin", "field",
                                           "reason", "bytes",       "raw",    "raw_base64"};
        cli_csv w;
        cli_csv_init(&w, stdout, o.bom);
        cli_csv_table(&w, rows, cols, (int)(sizeof cols / sizeof cols[0]));
    } else {
        printf("%-17s %-16s %-24s %s\n", "AT (AMSTERDAM)", "ORIGIN", "FIELD", "REASON");
        for (const cJSON *r = rows->child; r; r = r->next) {
            char at[32];
            cli_local(cli_s(r, "received_at"), at, sizeof at);
            const char *field = cli_s(r, "field");
            printf("%-17s %-16s %-24s %s\n", at, cli_s(r, "origin"), *field ? field : "-",
                   cli_s(r, "reason"));
        }
    }
    cJSON_Delete(rows);
    engine_close(&e);
    config_free(&cfg);
    return rc;
}

/* The register as flat CSV: its own columns, then one per data field
 * (the union of the entries' keys in first-seen order; a field named as
 * one of the register's own columns gets "data." in front). */
static void cli_register_csv(const cJSON *rows, int bom)
{
    static const char *const own[] = {"register", "key", "version", "at", "hash", "prev_hash"};
    enum { NOWN = sizeof own / sizeof own[0] };
    cJSON *fields = cJSON_CreateArray(); /* the data keys */
    for (const cJSON *r = rows ? rows->child : NULL; fields && r; r = r->next) {
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(r, "data");
        for (const cJSON *d = cJSON_IsObject(data) ? data->child : NULL; d; d = d->next) {
            int seen = 0;
            for (const cJSON *k = fields->child; k && !seen; k = k->next)
                seen = strcmp(k->valuestring, d->string) == 0;
            if (!seen)
                cJSON_AddItemToArray(fields, cJSON_CreateString(d->string));
        }
    }
    cli_csv w;
    cli_csv_init(&w, stdout, bom);
    for (int i = 0; i < NOWN; i++)
        cli_csv_cell(&w, own[i]);
    for (const cJSON *k = fields ? fields->child : NULL; k; k = k->next) {
        int clash = 0;
        for (int i = 0; i < NOWN; i++)
            clash |= strcmp(own[i], k->valuestring) == 0;
        if (clash) {
            char *name = obligo_asprintf("data.%s", k->valuestring);
            cli_csv_cell(&w, name);
            obligo_free(name);
        } else {
            cli_csv_cell(&w, k->valuestring);
        }
    }
    cli_csv_end_row(&w);
    for (const cJSON *r = rows ? rows->child : NULL; r; r = r->next) {
        for (int i = 0; i < NOWN; i++)
            cli_csv_json(&w, cJSON_GetObjectItemCaseSensitive(r, own[i]));
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(r, "data");
        for (const cJSON *k = fields ? fields->child : NULL; k; k = k->next)
            cli_csv_json(&w, cJSON_GetObjectItemCaseSensitive(data, k->valuestring));
        cli_csv_end_row(&w);
    }
    cJSON_Delete(fields);
}

static const char register_usage[] =
    "usage: obligo register NAME [--config F] [--db F] [--history] [--json|--csv [--bom]]\n"
    "       obligo register datalekken --ap-form KEY [--config F] [--db F] [--json|--csv [--bom]]\n"
    "Shows a register's current entries, or every version with --history. --csv\n"
    "has one column per data field. --ap-form KEY shows what the Autoriteit\n"
    "Persoonsgegevens' notification form asks about breach KEY, each unanswered\n"
    "question marked.\n";

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
    if (cli_formats("register", &o, register_usage))
        return 2;
    if (o.ap_form && (strcmp(o.args[0], "datalekken") != 0 || o.history)) {
        fprintf(stderr, "obligo register: --ap-form goes with the register datalekken%s\n%s",
                o.history ? ", without --history" : "", register_usage);
        return 2;
    }
    config cfg;
    engine e;
    if (cli_open(&o, &cfg, &e, 1))
        return 2;
    if (o.ap_form) {
        int rc = cli_ap_form(&o, &e.st, o.ap_form);
        engine_close(&e);
        config_free(&cfg);
        return rc;
    }
    cJSON *rows = registers_list(&e.st, o.args[0], o.history);
    if (o.json) {
        cli_print_json(rows);
    } else if (o.csv) {
        cli_register_csv(rows, o.bom);
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

/* A broken link of a chain, on stderr after the prefix ud. */
static void cli_say_finding(void *ud, const char *finding)
{
    fprintf(stderr, "%s%s\n", (const char *)ud, finding);
}

static const char verify_usage[] =
    "usage: obligo verify [--config F] [--db F]\n"
    "                     [--replay [--rules DIR] [--quiet] [--json] [--plugin-dir DIR]...]\n"
    "Checks the journal's and the registers' hash chains and the database's\n"
    "integrity. --replay also judges the whole journal again, each event with\n"
    "the rule set recorded for it (rebuilt from the sources the database keeps;\n"
    "a revision recorded before they were kept is taken from the configured rules\n"
    "or --rules DIR when that is the same revision), and reports every outcome\n"
    "that does not reproduce; --json prints that replay's result. Exit 1 on any\n"
    "finding, 2 when it cannot check (an error, a revision it cannot rebuild).\n";

int cli_verify(int argc, char **argv)
{
    cli_opts o;
    int prc = cli_parse(argc, argv, &o, verify_usage);
    if (prc)
        return prc > 0 ? 0 : 2;
    if (!o.replay && (o.json || o.quiet || o.rules)) {
        fprintf(stderr, "obligo verify: --%s goes with --replay\n%s",
                o.json    ? "json"
                : o.quiet ? "quiet"
                          : "rules",
                verify_usage);
        return 2;
    }
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
    long j = journal_verify(&e.st, cli_say_finding, "journal: ");
    long r = registers_verify(&e.st, cli_say_finding, "");
    findings += (j < 0 ? 1 : j) + (r < 0 ? 1 : r);
    int status = findings ? 1 : 0;
    if (o.replay) {
        /* the replay reports on stdout (or as --json); the chains' findings
         * stay on stderr */
        long differ = 0;
        int rrc = cli_replay_recorded(&o, &cfg, &e.st, &differ);
        if (rrc)
            status = 2;
        findings += differ;
    }
    if (status != 2 && findings)
        fprintf(stderr, "obligo verify: %ld finding(s)\n", findings);
    else if (status != 2 && !o.json)
        printf("obligo verify: journal and registers intact%s\n",
               o.replay ? ", every recorded outcome reproduces" : "");
    engine_close(&e);
    config_free(&cfg);
    return status == 2 ? 2 : findings ? 1 : 0;
}
