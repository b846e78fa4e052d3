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

static const char rejected_usage[] =
    "usage: obligo rejected [--config F] [--db F] [--since T] [--json]\n"
    "Lists the refused input (dead letters), oldest first: when it came, where\n"
    "from (FILE:LINE, http[N]), the field and the reason. --json prints each\n"
    "with its bytes (raw, or raw_base64 for input that is not UTF-8 text).\n";

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
    else {
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
