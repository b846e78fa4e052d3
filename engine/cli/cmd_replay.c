/*
 * cmd_replay.c — `obligo replay --rules DIR`: what a candidate rule set
 * would have decided over the recorded journal, and where that differs from
 * what the database holds (replay.h). The database is opened read-only and
 * never written; exit 0 when nothing differs, 1 when something does, 2 on
 * errors.
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "cli.h"
#include "cli_common.h"
#include "engine.h"
#include "error.h"
#include "replay.h"

static const char replay_usage[] =
    "usage: obligo replay --rules DIR [--db F] [--since T] [--until T] [--type PATTERN] [--json]\n"
    "                     [--quiet] [--config F] [--plugin-dir DIR]...\n"
    "Judges the journaled events again with the rules in DIR (compiled with the\n"
    "configured policy) on an in-memory engine and prints what would have been\n"
    "different; the database is only read. --until T judges the events up to T;\n"
    "--since T and --type PATTERN (a type, or a prefix ending in '*') narrow what\n"
    "is reported. A long run prints its progress on stderr every second; --quiet\n"
    "turns that off. Exit 0: no differences, 1: differences, 2: errors.\n";

/* Thousands separated by commas, as the summary prints counts. */
static void cmd_count(char *buf, size_t size, long n)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%ld", n < 0 ? 0 : n), o = 0;
    for (int i = 0; i < len && (size_t)o + 2 < size; i++) {
        if (i && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
}

/* The progress line on stderr, at most one a second (replay_options.progress). */
typedef struct cmd_progress {
    const char *who; /* "obligo replay", "obligo verify" */
    double last;     /* when the last line was printed */
    int printed;
} cmd_progress;

static void cmd_replay_progress(void *ud, const replay_progress *p)
{
    cmd_progress *cp = ud;
    int done = p->judged >= p->total;
    if (p->seconds - cp->last < 1.0 && !(done && cp->printed))
        return;
    if (done && !cp->printed)
        return; /* a replay that took less than a second says nothing */
    cp->last = p->seconds;
    cp->printed = 1;
    double rate = p->seconds > 0 ? (double)p->judged / p->seconds : 0;
    char judged[32], total[32], per[32];
    cmd_count(judged, sizeof judged, p->judged);
    cmd_count(total, sizeof total, p->total);
    cmd_count(per, sizeof per, (long)rate);
    fprintf(stderr, "%s: %s of %s events (%.0f %%), %s events/s, %ld decided differently so far",
            cp->who, judged, total, p->total ? 100.0 * (double)p->judged / (double)p->total : 100.0,
            per, p->differing);
    if (done)
        fputs(", judged; comparing the outcomes\n", stderr);
    else if (rate > 0)
        fprintf(stderr, ", about %.0f s left\n", (double)(p->total - p->judged) / rate);
    else
        fputc('\n', stderr);
}

static const char *cmd_text(const cJSON *o, const char *name)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
}

/* What one side of a difference says, for a person. */
static void cmd_replay_value(FILE *out, const char *label, const cJSON *v)
{
    fprintf(out, "  %-10s ", label);
    if (cJSON_IsNull(v)) {
        fputs("none\n", out);
        return;
    }
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(v, "count");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(v, "data");
    if (count) {
        fprintf(out, "%.0f raised\n", count->valuedouble);
    } else if (data) {
        char *text = cJSON_PrintUnformatted(data);
        fprintf(out, "%s\n", text ? text : "?");
        cJSON_free(text);
    } else {
        fprintf(out, "%s, due %s\n", cmd_text(v, "status"), cmd_text(v, "due_at"));
    }
}

static void cmd_replay_print(FILE *out, const cJSON *r, const char *db, const cli_opts *o)
{
    const cJSON *revs = cJSON_GetObjectItemCaseSensitive(r, "revisions"), *x;
    const cJSON *diffs = cJSON_GetObjectItemCaseSensitive(r, "differences");
    int verify = strcmp(cmd_text(revs, "candidate"), "recorded") == 0;
    fprintf(out, "replay of %s: %.0f events judged, %s to %s\n", db,
            cJSON_GetObjectItemCaseSensitive(r, "events")->valuedouble, cmd_text(r, "from"),
            cmd_text(r, "to"));
    double decided =
        cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "events_decided_differently"));
    if (decided > 0)
        fprintf(out, "events that caused another number of decisions than recorded: %.0f\n",
                decided);
    fputs("rules: recorded", out);
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(revs, "recorded"))
    {
        fprintf(out, " %s", x->valuestring);
    }
    if (verify)
        fputs(", each event judged again with the revision recorded for it\n", out);
    else
        fprintf(out, " -> candidate %s\n", cmd_text(revs, "candidate"));
    if (o->since || o->type)
        fprintf(out, "reported: %s%s%s%s\n", o->since ? "since " : "", o->since ? o->since : "",
                o->type ? (o->since ? ", type " : "type ") : "", o->type ? o->type : "");
    fprintf(out, "differences: %d", cJSON_GetArraySize(diffs));
    const char *sep = " (";
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(r, "counts"))
    {
        fprintf(out, "%s%s %.0f", sep, x->string, x->valuedouble);
        sep = ", ";
    }
    fputs(*sep == ',' ? ")\n" : "\n", out);
    cJSON_ArrayForEach(x, diffs)
    {
        const char *reg = cmd_text(x, "register");
        const cJSON *cause = cJSON_GetObjectItemCaseSensitive(x, "cause");
        fprintf(out, "\n%s %s \"%s\"\n", cmd_text(x, "change"), reg ? reg : cmd_text(x, "kind"),
                reg ? cmd_text(x, "key") : cmd_text(x, "subject"));
        cmd_replay_value(out, "recorded:", cJSON_GetObjectItemCaseSensitive(x, "recorded"));
        cmd_replay_value(out, verify ? "replayed:" : "candidate:",
                         cJSON_GetObjectItemCaseSensitive(x, "candidate"));
        fprintf(out, "  %-10s %s %s/%s at %s\n", "cause:", cmd_text(cause, "type"),
                cmd_text(cause, "source"), cmd_text(cause, "id"), cmd_text(cause, "time"));
    }
}

/* Prints the result (as JSON with --json); returns how many differences it
 * holds. */
static int cmd_replay_show(const cJSON *result, const char *db, const cli_opts *o)
{
    if (o->json) {
        char *text = cJSON_PrintUnformatted(result);
        if (text)
            printf("%s\n", text);
        cJSON_free(text);
    } else {
        cmd_replay_print(stdout, result, db, o);
    }
    return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(result, "differences"));
}

/* Checks the options and fills the times of ro; 0, or 2 after saying why. */
static int cmd_replay_times(const cli_opts *o, replay_options *ro)
{
    if (!o->rules || o->nargs) {
        fprintf(stderr, "obligo replay: %s\n%s",
                o->nargs ? "unexpected argument" : "--rules DIR is required (the candidate rules)",
                replay_usage);
        return 2;
    }
    if (o->since && clock_parse_any(o->since, &ro->since)) {
        fprintf(stderr, "obligo replay: --since '%s' is not an RFC 3339 time\n", o->since);
        return 2;
    }
    if (o->until && clock_parse_any(o->until, &ro->until)) {
        fprintf(stderr, "obligo replay: --until '%s' is not an RFC 3339 time\n", o->until);
        return 2;
    }
    if (o->since && o->until && ro->since > ro->until) {
        fprintf(stderr, "obligo replay: --since %s is after --until %s\n", o->since, o->until);
        return 2;
    }
    if (o->type && !*o->type) {
        fprintf(stderr, "obligo replay: --type needs a type or a prefix ending in '*'\n");
        return 2;
    }
    return 0;
}

int cli_replay(int argc, char **argv)
{
    cli_opts o;
    int prc = cli_parse(argc, argv, &o, replay_usage);
    if (prc)
        return prc > 0 ? 0 : 2;
    replay_options ro = {.type = o.type};
    if (cmd_replay_times(&o, &ro))
        return 2;
    config cfg;
    if (cli_config(&o, &cfg))
        return 2;
    /* The same steps as the reload gate: plugins once, the directory read
     * once and compiled with the configured policy. */
    plugins *p = NULL;
    rules_sources src = {0};
    rules *set = NULL;
    store st = {0};
    cJSON *result = NULL;
    char *err = NULL;
    int rc = engine_load_plugins(&cfg, &p, &err);
    if (!rc)
        rc = rules_sources_read(cfg.rules_dir, &src, &err);
    if (!rc)
        rc = rules_load_sources(&src, cfg.policy, &cfg.limits, p, &set, &err);
    if (!rc)
        rc = store_open(&st, cfg.db_path, 1, &err);
    cmd_progress cp = {.who = "obligo replay"};
    if (!rc) {
        ro.cfg = &cfg;
        ro.plugins = p;
        ro.candidate = set;
        ro.recorded = &st;
        ro.progress = o.quiet ? NULL : cmd_replay_progress;
        ro.progress_ud = &cp;
        rc = replay_run(&ro, &result, &err);
    }
    int status = 2;
    if (rc)
        fprintf(stderr, "obligo replay: %s\n", err ? err : obligo_strerror(rc));
    else
        status = cmd_replay_show(result, cfg.db_path, &o) ? 1 : 0;
    cJSON_Delete(result);
    store_close(&st);
    obligo_free(err);
    rules_free(set);
    rules_sources_free(&src);
    plugins_free(p);
    config_free(&cfg);
    return status;
}

int cli_replay_recorded(const cli_opts *o, const config *cfg, store *st, long *differences)
{
    *differences = 0;
    plugins *p = NULL;
    rules *fallback = NULL;
    cJSON *result = NULL;
    char *err = NULL;
    /* an empty journal reproduces trivially */
    sqlite3_stmt *s = store_stmt(st, "SELECT count(*) FROM events WHERE source <> "
                                     "'urn:obligo:engine'");
    long events = s && sqlite3_step(s) == SQLITE_ROW ? (long)sqlite3_column_int64(s, 0) : -1;
    if (s)
        sqlite3_reset(s);
    if (events == 0) {
        if (!o->json)
            printf("replay of %s: the journal holds no client event; nothing to judge\n",
                   cfg->db_path);
        return 0;
    }
    int rc = engine_load_plugins(cfg, &p, &err);
    if (!rc) {
        /* The configured rules stand in for a revision recorded before the
         * database kept rule sources, when they are that revision; that
         * they do not load is no error here (every kept revision may be
         * enough). */
        char *why = NULL;
        if (rules_load(cfg->rules_dir, cfg->policy, &cfg->limits, p, &fallback, &why))
            fallback = NULL;
        obligo_free(why);
        cmd_progress cp = {.who = "obligo verify"};
        replay_options ro = {.cfg = cfg,
                             .plugins = p,
                             .recorded = st,
                             .recorded_rules = 1,
                             .fallback = fallback,
                             .progress = o->quiet ? NULL : cmd_replay_progress,
                             .progress_ud = &cp};
        rc = replay_run(&ro, &result, &err);
    }
    if (!rc) {
        long n = cmd_replay_show(result, cfg->db_path, o);
        long decided = (long)cJSON_GetNumberValue(
            cJSON_GetObjectItemCaseSensitive(result, "events_decided_differently"));
        *differences = n + decided;
    } else {
        fprintf(stderr, "obligo verify: replay: %s\n", err ? err : obligo_strerror(rc));
    }
    cJSON_Delete(result);
    obligo_free(err);
    rules_free(fallback);
    plugins_free(p);
    return rc ? 2 : 0;
}
