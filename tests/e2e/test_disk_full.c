/*
 * test_disk_full.c — end to end: `obligo serve` with its database on a small
 * tmpfs that fills up, and on storage that turns read-only, while it runs.
 *
 * A full disk: POSTs are answered 202 until the events no longer fit, then
 * 503 with Retry-After (never another 5xx), /healthz says 503, the server
 * stays up; every event answered 202 is in the journal and none answered
 * 503 is. When the space returns, the same server answers 202 and /healthz
 * 200 again.
 *
 * Read-only storage: the same, with every write of the server's failing
 * with EROFS. Linux refuses `mount -o remount,ro` (EBUSY) while a process
 * holds files open for writing on the filesystem — as the server always
 * does — so when the remount is refused, the test makes the server's
 * writes fail as a read-only filesystem would: strace attached to the
 * server turns its write system calls (pwrite64, fsync, fdatasync,
 * ftruncate, fallocate) into EROFS, and detaching it is the remount rw.
 * Without strace, or where ptrace is not allowed, that test is skipped.
 *
 * Mounting needs CAP_SYS_ADMIN. Without it the program exits 77 (skipped;
 * the CMake test needs SKIP_RETURN_CODE 77 to show it so). The mounts live
 * in a private mount namespace of this process and the server, so they go
 * away with them even when a test crashes; teardown also unmounts.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "support.h"

#define RULES OBLIGO_SOURCE_DIR "/rules"
#define STRACE "/usr/bin/strace"
#define TMPFS_SIZE "size=8m"
#define BATCH 20       /* events per POST */
#define MAX_POSTS 400  /* the disk is full long before */
#define SKIP_STATUS 77 /* ctest's SKIP_RETURN_CODE */

typedef struct fx {
    char *dir; /* on the ordinary filesystem: the server's log */
    char mnt[512], db[600], filler[600], log[600];
    int mounted, port;
    pid_t server, strace;
    /* every POST: its batch name and number, and the answer */
    struct {
        char name[16];
        int n, status;
    } posts[MAX_POSTS + 64];
    int nposts;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    snprintf(f->mnt, sizeof f->mnt, "%s/mnt", f->dir);
    snprintf(f->db, sizeof f->db, "%s/obligo.db", f->mnt);
    snprintf(f->filler, sizeof f->filler, "%s/filler", f->mnt);
    snprintf(f->log, sizeof f->log, "%s/serve.log", f->dir);
    f->port = client_free_port();
    *state = f;
    if (mkdir(f->mnt, 0700) != 0 ||
        mount("obligo-test", f->mnt, "tmpfs", MS_NOSUID | MS_NODEV, TMPFS_SIZE ",mode=0700")) {
        fprintf(stderr, "cannot mount a tmpfs on %s: %s\n", f->mnt, strerror(errno));
        return -1;
    }
    f->mounted = 1;
    return 0;
}

static void stop_strace(fx *f);

static int teardown(void **state)
{
    fx *f = *state;
    stop_strace(f);
    if (f->server > 0) {
        kill(f->server, SIGKILL);
        waitpid(f->server, NULL, 0);
    }
    /* what was committed around the full disk reproduces */
    support_assert_replays(f->db);
    if (f->mounted && umount2(f->mnt, 0) != 0)
        umount2(f->mnt, MNT_DETACH);
    support_assert_clean_log(f->log);
    support_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- HTTP ----------------------------------------------------------------- */

typedef struct answer {
    int status; /* -1: no answer */
    int retry_after;
} answer;

/* One request on its own connection (Connection: close), with the headers
 * of the answer looked at. */
static answer request(fx *f, const char *method, const char *path, const char *body)
{
    size_t blen = body ? strlen(body) : 0;
    char *raw = malloc(blen + 512);
    int h = snprintf(raw, 512,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     "Content-Type: application/x-ndjson\r\nContent-Length: %zu\r\n\r\n",
                     method, path, blen);
    if (blen)
        memcpy(raw + h, body, blen);
    char *resp = client_raw(f->port, raw, (size_t)h + blen, 0, 20000);
    free(raw);
    answer a = {-1, 0};
    char *end = resp ? strstr(resp, "\r\n\r\n") : NULL;
    if (end && sscanf(resp, "HTTP/1.1 %d", &a.status) == 1) {
        *end = '\0';
        a.retry_after = strcasestr(resp, "\r\nRetry-After: ") != NULL;
    } else {
        a.status = -1;
    }
    free(resp);
    return a;
}

/* POSTs batch `name` number n: BATCH record-access events with ids
 * name-n-0 ... name-n-19, one in four without a treatment relation (an
 * alert, so alerts and outbox rows are written too). Keeps the answer. */
static answer post_batch(fx *f, const char *name, int n)
{
    char *body = malloc(BATCH * 512), *p = body;
    for (int i = 0; i < BATCH; i++)
        p += sprintf(p,
                     "{\"specversion\":\"1.0\",\"id\":\"%s-%d-%d\",\"source\":\"urn:test:disk\","
                     "\"type\":\"nl.nen7513.access\",\"time\":\"2026-02-02T09:15:00+01:00\","
                     "\"data\":{\"user\":{\"id\":\"u%d\",\"role\":\"arts\"},\"client_id\":\"c%d\","
                     "\"action\":\"read\",\"system\":\"ecd\",\"treatment_relation\":%s,"
                     "\"authentication\":\"2fa\"}}\n",
                     name, n, i, i % 7, n * BATCH + i, i % 4 ? "true" : "false");
    answer a = request(f, "POST", "/v1/events", body);
    free(body);
    assert_true(f->nposts < (int)(sizeof f->posts / sizeof f->posts[0]));
    snprintf(f->posts[f->nposts].name, sizeof f->posts[0].name, "%s", name);
    f->posts[f->nposts].n = n;
    f->posts[f->nposts].status = a.status;
    f->nposts++;
    /* the only answers a sound server gives here */
    if (a.status != 202 && a.status != 503)
        fail_msg("POST %s-%d answered %d (only 202 or 503 may come)", name, n, a.status);
    if (a.status == 503 && !a.retry_after)
        fail_msg("POST %s-%d: 503 without Retry-After", name, n);
    return a;
}

static int healthz(fx *f)
{
    answer a = request(f, "GET", "/healthz", NULL);
    if (a.status == 503 && !a.retry_after)
        fail_msg("/healthz: 503 without Retry-After");
    return a.status;
}

/* /healthz until it answers `want` (a few seconds at most: the health write
 * is a writer job behind whatever is queued). */
static void expect_health(fx *f, int want)
{
    int got = -1;
    for (int i = 0; i < 50 && (got = healthz(f)) != want; i++)
        sleep_ms(100);
    if (got != want)
        fail_msg("/healthz answered %d, expected %d", got, want);
}

static void assert_server_alive(fx *f)
{
    int status;
    pid_t r = waitpid(f->server, &status, WNOHANG);
    if (r == f->server) {
        f->server = 0;
        fail_msg("the server died (status %d); see %s", status, f->log);
    }
}

static void start_server(fx *f)
{
    f->server = client_start_server(f->db, RULES, f->port, f->log);
    assert_true(f->server > 0);
}

/* SIGTERM: answers what is in flight and exits 0. */
static void stop_server(fx *f)
{
    int status = client_stop_server(f->server, SIGTERM);
    f->server = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- the journal afterwards --------------------------------------------------- */

/* With the server stopped: each batch answered 202 is in the journal whole,
 * each answered 503 not at all; then `obligo verify`. */
static void check_journal(fx *f)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    long long total = 0;
    int refused = 0;
    for (int i = 0; i < f->nposts; i++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM events WHERE source='urn:test:disk' AND id LIKE '%s-%d-%%'",
                 f->posts[i].name, f->posts[i].n);
        long long n = support_sql_int(db, sql);
        long long want = f->posts[i].status == 202 ? BATCH : 0;
        if (n != want)
            fail_msg("batch %s-%d was answered %d but %lld of its %d events are in the journal",
                     f->posts[i].name, f->posts[i].n, f->posts[i].status, n, BATCH);
        total += want;
        refused += f->posts[i].status == 503;
    }
    assert_int_equal(
        support_sql_int(db, "SELECT count(*) FROM events WHERE source='urn:test:disk'"), total);
    assert_true(refused > 0);
    sqlite3_close(db);
    char *argv[] = {(char *)OBLIGO_BIN, "verify", "--db", f->db, NULL};
    char *out = NULL;
    int rc = support_run(argv, &out, NULL);
    if (rc != 0)
        fail_msg("obligo verify exited %d: %s", rc, out ? out : "");
    free(out);
}

/* ---- filling the disk --------------------------------------------------------- */

/* Appends to the filler file until the filesystem is full, then gives
 * `leave` bytes back. */
static void fill(fx *f, off_t leave)
{
    int fd = open(f->filler, O_WRONLY | O_CREAT | O_APPEND, 0600);
    assert_true(fd >= 0);
    static char chunk[64 * 1024];
    memset(chunk, 'x', sizeof chunk);
    for (size_t n = sizeof chunk; n >= 1;) {
        ssize_t w = write(fd, chunk, n);
        if (w < 0 && errno != ENOSPC)
            fail_msg("filling %s: %s", f->filler, strerror(errno));
        if (w <= 0)
            n /= 2; /* take the last pages too */
    }
    struct stat sb;
    assert_int_equal(fstat(fd, &sb), 0);
    if (leave)
        assert_int_equal(ftruncate(fd, sb.st_size > leave ? sb.st_size - leave : 0), 0);
    close(fd);
}

static void full_disk_is_503_and_space_coming_back_heals(void **state)
{
    fx *f = *state;
    start_server(f);
    for (int i = 0; i < 3; i++)
        assert_int_equal(post_batch(f, "before", i).status, 202);

    /* nearly full: a few batches still fit */
    fill(f, 256 * 1024);
    int n = 0, refused = 0;
    for (; n < MAX_POSTS && !refused; n++)
        refused = post_batch(f, "full", n).status == 503;
    if (!refused)
        fail_msg("%d batches on a full disk were all answered 202", MAX_POSTS);
    assert_true(n > 1); /* 256 KiB held at least one */

    /* the last bytes gone too: whatever is answered is 202 or 503 and true */
    fill(f, 0);
    for (int i = 0; i < 5; i++)
        post_batch(f, "full", n++);
    expect_health(f, 503);
    assert_server_alive(f);

    /* the space returns: the same server takes events again */
    assert_int_equal(unlink(f->filler), 0);
    expect_health(f, 200);
    for (int i = 0; i < 3; i++)
        assert_int_equal(post_batch(f, "after", i).status, 202);
    assert_server_alive(f);
    stop_server(f);
    check_journal(f);
}

/* ---- read-only storage ------------------------------------------------------------ */

/* How many of the server's threads are traced (and how many it has). */
static int traced_threads(pid_t pid, int *total)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    int traced = 0;
    *total = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char status[320], line[256];
        snprintf(status, sizeof status, "/proc/%d/task/%s/status", (int)pid, e->d_name);
        FILE *fp = fopen(status, "r");
        if (!fp)
            continue;
        (*total)++;
        while (fgets(line, sizeof line, fp))
            if (strncmp(line, "TracerPid:", 10) == 0 && atoi(line + 10) != 0)
                traced++;
        fclose(fp);
    }
    if (d)
        closedir(d);
    return traced;
}

static void stop_strace(fx *f)
{
    if (f->strace <= 0)
        return;
    kill(f->strace, SIGINT); /* detaches from every thread, which run on */
    waitpid(f->strace, NULL, 0);
    f->strace = 0;
    int total;
    for (int i = 0; i < 100 && f->server > 0 && traced_threads(f->server, &total) > 0; i++)
        sleep_ms(50);
}

/* Makes the database's storage read-only under the running server: 1 when
 * remounted, 2 when the server's writes fail with EROFS through strace, 0
 * when neither can be done here. */
static int make_read_only(fx *f)
{
    if (mount(NULL, f->mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0)
        return 1;
    if (errno != EBUSY)
        fail_msg("remount,ro %s: %s", f->mnt, strerror(errno));
    /* EBUSY: the server holds the database open for writing */
    if (access(STRACE, X_OK) != 0) {
        fprintf(stderr, "remount,ro is refused while the server runs and %s is missing\n", STRACE);
        return 0;
    }
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int)f->server);
    f->strace = fork();
    if (f->strace == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        execl(STRACE, STRACE, "-f", "-qq", "-o", "/dev/null", "-p", pid, "-e",
              "trace=pwrite64,pwritev,pwritev2,fsync,fdatasync,ftruncate,fallocate", "-e",
              "inject=pwrite64,pwritev,pwritev2,fsync,fdatasync,ftruncate,fallocate:error=EROFS",
              (char *)NULL);
        _exit(127);
    }
    assert_true(f->strace > 0);
    /* strace attaches to each thread in turn */
    for (int i = 0; i < 200; i++) {
        int total, traced = traced_threads(f->server, &total);
        if (total > 0 && traced == total)
            return 2;
        if (waitpid(f->strace, NULL, WNOHANG) == f->strace) {
            f->strace = 0;
            fprintf(stderr, "strace could not attach to the server (ptrace not allowed?)\n");
            return 0;
        }
        sleep_ms(25);
    }
    stop_strace(f);
    fprintf(stderr, "strace did not attach to every thread of the server within 5 s\n");
    return 0;
}

static void make_writable(fx *f, int how)
{
    if (how == 1)
        assert_int_equal(mount(NULL, f->mnt, NULL, MS_REMOUNT, NULL), 0);
    else
        stop_strace(f);
}

static void read_only_storage_is_503_and_writable_again_heals(void **state)
{
    fx *f = *state;
    start_server(f);
    for (int i = 0; i < 2; i++)
        assert_int_equal(post_batch(f, "before", i).status, 202);

    int how = make_read_only(f);
    if (!how) {
        stop_server(f);
        skip();
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(post_batch(f, "ro", i).status, 503);
    expect_health(f, 503);
    assert_server_alive(f);

    make_writable(f, how);
    expect_health(f, 200);
    for (int i = 0; i < 2; i++)
        assert_int_equal(post_batch(f, "after", i).status, 202);
    assert_server_alive(f);
    stop_server(f);
    check_journal(f);
}

/* Whether this process may mount: it moves into a mount namespace of its
 * own (inherited by the server it starts) whose mounts do not propagate to
 * the rest of the machine, and tries a tmpfs there. */
static int can_mount(void)
{
    if (unshare(CLONE_NEWNS) != 0) {
        fprintf(stderr, "test_disk_full: skipped: no mount namespace (%s); needs CAP_SYS_ADMIN\n",
                strerror(errno));
        return 0;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        fprintf(stderr, "test_disk_full: skipped: cannot make mounts private: %s\n",
                strerror(errno));
        return 0;
    }
    char *dir = support_tmpdir();
    int ok = dir && mount("obligo-probe", dir, "tmpfs", 0, "size=64k") == 0;
    if (!ok)
        fprintf(stderr, "test_disk_full: skipped: cannot mount a tmpfs: %s\n", strerror(errno));
    else
        umount2(dir, 0);
    if (dir)
        rmdir(dir);
    free(dir);
    return ok;
}

int main(void)
{
    if (!can_mount())
        return SKIP_STATUS;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(full_disk_is_503_and_space_coming_back_heals, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(read_only_storage_is_503_and_writable_again_heals, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
