/* firewatch.c — watches deadlines fire, for scripts/bench.
 *
 *   firewatch --db F --t0 S --count N --sink FILE [--interval-ms 5] [--timeout 600]
 *
 * From now until N obligations are overdue (or the timeout), it asks the
 * database every interval, on a read-only connection of its own, how many
 * obligations are overdue (each query is a new read transaction, so it sees
 * the last commit, as any reader would), and it follows the alert sink FILE
 * (the engine's file: sink, one JSON alert a line) counting the lines of
 * kind obligo.obligation_overdue until N are there. Times are wall-clock
 * seconds relative to T0 (S, Unix seconds), the instant the deadlines fall
 * due.
 *
 * Output: every change of either count as "t count sink_lines" on stderr,
 * and one line on stdout for scripts/bench:
 *   RESULT first=T all=T before_all=T delivered=T overdue=N sink=N polls=N
 * first: the first poll that saw any overdue obligation; all: the first that
 * saw N; before_all: the poll before that (so the commit happened between
 * before_all and all); delivered: when the sink held N overdue lines. "-"
 * for what never happened. Exit 0 when both counts reached N, 1 otherwise,
 * 2 on bad usage.
 *
 * Build: cc -O2 -Wall -Wextra -Werror firewatch.c -lsqlite3 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fprintf(stderr, "usage: firewatch --db F --t0 S --count N --sink FILE [--interval-ms MS] "
                    "[--timeout S]\n");
    exit(2);
}

static const char needle[] = "\"kind\":\"obligo.obligation_overdue\"";

/* Follows a growing file and counts its complete lines that hold needle. */
typedef struct follower {
    const char *path;
    int fd;
    char line[65536];
    size_t len; /* a longer line is judged by its first 64 KiB */
    long count;
} follower;

static void follow(follower *f)
{
    if (f->fd < 0 && (f->fd = open(f->path, O_RDONLY | O_CLOEXEC)) < 0)
        return; /* not created yet */
    char buf[1 << 16];
    ssize_t n;
    while ((n = read(f->fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                f->line[f->len] = '\0';
                if (strstr(f->line, needle))
                    f->count++;
                f->len = 0;
            } else if (f->len + 1 < sizeof f->line) {
                f->line[f->len++] = buf[i];
            }
        }
    }
}

static void stamp(char *out, size_t n, double t, double t0)
{
    if (t == 0)
        snprintf(out, n, "-");
    else
        snprintf(out, n, "%.3f", t - t0);
}

int main(int argc, char **argv)
{
    const char *db = NULL, *sink = NULL;
    double t0 = -1, timeout = 600;
    long want = -1, interval_ms = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--db") == 0)
            db = argv[i + 1];
        else if (strcmp(argv[i], "--sink") == 0)
            sink = argv[i + 1];
        else if (strcmp(argv[i], "--t0") == 0)
            t0 = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--count") == 0)
            want = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--interval-ms") == 0)
            interval_ms = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--timeout") == 0)
            timeout = atof(argv[i + 1]);
        else
            usage();
    }
    if (argc % 2 == 0 || !db || !sink || t0 <= 0 || want < 1 || interval_ms < 1)
        usage();

    sqlite3 *h = NULL;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "firewatch: cannot open %s: %s\n", db, h ? sqlite3_errmsg(h) : "?");
        return 2;
    }
    sqlite3_busy_timeout(h, 1000);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(h, "SELECT count(*) FROM obligations WHERE status='overdue'", -1, &s,
                           NULL) != SQLITE_OK) {
        fprintf(stderr, "firewatch: %s\n", sqlite3_errmsg(h));
        return 2;
    }
    follower f = {.path = sink, .fd = -1};
    double first = 0, all = 0, before_all = 0, delivered = 0, prev_poll = 0;
    long overdue = 0, polls = 0, last_overdue = -1, last_sink = -1;
    double start = now();
    struct timespec pause = {interval_ms / 1000, (interval_ms % 1000) * 1000000L};
    for (;;) {
        double t = now();
        if (!all) {
            /* the time taken is the start of the query: its snapshot is at
             * least that recent */
            if (sqlite3_step(s) == SQLITE_ROW)
                overdue = (long)sqlite3_column_int64(s, 0);
            sqlite3_reset(s);
            polls++;
            if (overdue > 0 && !first)
                first = t;
            if (overdue >= want) {
                all = t;
                before_all = prev_poll;
            }
            prev_poll = t;
        }
        if (!delivered) {
            follow(&f);
            if (f.count >= want)
                delivered = now();
        }
        if (overdue != last_overdue || f.count != last_sink) {
            fprintf(stderr, "%.3f %ld %ld\n", t - t0, overdue, f.count);
            last_overdue = overdue;
            last_sink = f.count;
        }
        if ((all && delivered) || t - start > timeout)
            break;
        nanosleep(&pause, NULL);
    }
    sqlite3_finalize(s);
    sqlite3_close(h);
    if (f.fd >= 0)
        close(f.fd);
    char a[32], b[32], c[32], d[32];
    stamp(a, sizeof a, first, t0);
    stamp(b, sizeof b, all, t0);
    stamp(c, sizeof c, before_all, t0);
    stamp(d, sizeof d, delivered, t0);
    printf("RESULT first=%s all=%s before_all=%s delivered=%s overdue=%ld sink=%ld polls=%ld\n", a,
           b, c, d, overdue, f.count, polls);
    return all && delivered ? 0 : 1;
}
