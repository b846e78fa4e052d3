/*
 * test_replay_http.c — POST /v1/replay on a running `obligo serve`: events
 * ingested over HTTP (a backup and three VIP accesses, dated June 2026),
 * then replayed with the pack unchanged (no differences) and edited (the
 * expected difference), the rules sent as JSON and as a tar made by
 * /bin/tar; only admin tokens; bad bodies and filters 400 naming what is
 * wrong, rules that do not compile 422 naming file:line; one replay at a
 * time (409); a client gone mid-replay and SIGTERM mid-replay harm nothing.
 *
 * A running replay is made observable without timing: the server is
 * started with OBLIGO_TEST_REPLAY_HOLD naming a file, and while that file
 * exists a replay waits before it starts (serve_replay.c);
 * obligo_replay_running on /metrics says when one is under way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "support.h"

#define RULES OBLIGO_SOURCE_DIR "/rules"

#define EV(id, type, time, data)                                                                   \
    "{\"specversion\":\"1.0\",\"id\":\"" id "\",\"source\":\"urn:praktijk\",\"type\":\"" type      \
    "\",\"time\":\"" time "\",\"data\":" data "}\n"
#define VIP(id, user, time)                                                                        \
    EV(id, "nl.nen7513.access", time,                                                              \
       "{\"user\":{\"id\":\"" user "\"},\"client_id\":\"VIP1\",\"action\":\"read\","               \
       "\"system\":\"ecd\",\"vip\":true,\"treatment_relation\":true,\"authentication\":\"2fa\"}")

/* A backup on Tuesday 23:30 CEST (the pack's due: 24 h + 6 h grace) and
 * three users in a VIP record within 20 minutes (the pack's burst
 * threshold is 5 users). */
static const char journal[] =
    EV("k1", "nl.ict.backup.completed", "2026-06-09T23:30:00+02:00",
       "{\"system\":\"ecd\",\"completed_at\":\"2026-06-09T23:30:00+02:00\"}")
        VIP("v1", "U1", "2026-06-10T08:00:00+02:00") VIP("v2", "U2", "2026-06-10T08:10:00+02:00")
            VIP("v3", "U3", "2026-06-10T08:20:00+02:00");

typedef struct fx {
    char *dir;
    char db[512], log[512], hold[512];
    int port;
    pid_t pid;
    char *admin, *officer, *ingest;
} fx;

static void start_server(fx *f)
{
    /* the child inherits the test aid */
    setenv("OBLIGO_TEST_REPLAY_HOLD", f->hold, 1);
    char *extra[] = {"--clock-start", "2026-06-09T12:00:00+02:00", NULL};
    f->pid = client_start_server_args(f->db, RULES, f->port, f->log, extra);
    unsetenv("OBLIGO_TEST_REPLAY_HOLD");
    assert_true(f->pid > 0);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = support_tmpdir();
    snprintf(f->db, sizeof f->db, "%s/obligo.db", f->dir);
    snprintf(f->log, sizeof f->log, "%s/serve.log", f->dir);
    snprintf(f->hold, sizeof f->hold, "%s/hold", f->dir);
    f->port = client_free_port();
    f->admin = support_make_token(f->db, "admin");
    f->officer = support_make_token(f->db, "officer");
    f->ingest = support_make_token(f->db, "ingest");
    /* The journal is recorded as `ingest --clock events` records it, so
     * each event was judged at its own time (received_at): a replay's
     * instants are engine time, and these then are the events' times. */
    char *events = support_write(f->dir, "events.ndjson", journal);
    char *ingest[] = {(char *)OBLIGO_BIN, "ingest", "--db", f->db, "--rules", RULES,
                      "--clock",          "events", events, NULL};
    char *err = NULL;
    if (support_run(ingest, NULL, &err) != 0)
        fail_msg("ingest: %s", err ? err : "");
    free(err);
    free(events);
    start_server(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    unlink(f->hold); /* a failed test may have left a replay held */
    if (f->pid > 0)
        assert_int_equal(client_stop_server(f->pid, SIGTERM), 0);
    support_assert_clean_log(f->log);
    support_rmtree(f->dir);
    free(f->dir);
    free(f->admin);
    free(f->officer);
    free(f->ingest);
    free(f);
    return 0;
}

/* ---- the pack, as JSON and as a tar ------------------------------------------ */

static void spit(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* Adds every *.lua file under dir/rel to files, keyed by its path below
 * the rule directory. */
static void add_files(cJSON *files, const char *dir, const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s%s%s", dir, *rel ? "/" : "", rel);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *ent;
    while ((ent = readdir(d))) {
        if (ent->d_name[0] == '.')
            continue;
        char sub[1024], full[2048];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", ent->d_name);
        snprintf(full, sizeof full, "%s/%s", dir, sub);
        struct stat sb;
        assert_int_equal(stat(full, &sb), 0);
        if (S_ISDIR(sb.st_mode)) {
            add_files(files, dir, sub);
        } else if (strlen(sub) > 4 && strcmp(sub + strlen(sub) - 4, ".lua") == 0) {
            char *text = support_file(full);
            cJSON_AddStringToObject(files, sub, text);
            free(text);
        }
    }
    closedir(d);
}

/* {"rules": the pack} as a cJSON object the caller may change. */
static cJSON *pack_body(void)
{
    cJSON *b = cJSON_CreateObject();
    add_files(cJSON_AddObjectToObject(b, "rules"), RULES, "");
    return b;
}

/* Replaces the first `from` in the text of rule file `path` of body. */
static void edit(cJSON *body, const char *path, const char *from, const char *to)
{
    cJSON *files = cJSON_GetObjectItemCaseSensitive(body, "rules");
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(files, path));
    assert_non_null(text);
    const char *at = strstr(text, from);
    assert_non_null(at);
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    cJSON_ReplaceItemInObjectCaseSensitive(files, path, cJSON_CreateString(out));
    free(out);
}

/* POST /v1/replay with body (NUL-terminated JSON, or len bytes); returns the
 * status with the answer parsed into *out (may be NULL). */
static int replay_raw(fx *f, const char *token, const char *path, const char *type,
                      const char *body, size_t len, cJSON **out, char **text)
{
    char *resp = NULL;
    int st = client_request_auth(f->port, "POST", path, type, body, len, token, &resp);
    if (out)
        *out = resp ? cJSON_Parse(resp) : NULL;
    if (text)
        *text = resp;
    else
        free(resp);
    return st;
}

static int replay_json(fx *f, const cJSON *body, cJSON **out, char **text)
{
    char *b = cJSON_PrintUnformatted(body);
    int st = replay_raw(f, f->admin, "/v1/replay", "application/json", b, strlen(b), out, text);
    free(b);
    return st;
}

/* A copy of the pack in dir/name, tarred by /bin/tar from inside it into
 * dir/name.tar; returns the tar's bytes (*len). `prepare` may change the
 * copy first. */
static char *pack_tar(fx *f, const char *name, void (*prepare)(const char *copy), size_t *len)
{
    char copy[700], tarfile[800];
    snprintf(copy, sizeof copy, "%s/%s", f->dir, name);
    snprintf(tarfile, sizeof tarfile, "%s.tar", copy);
    char *cp[] = {"/bin/cp", "-r", RULES, copy, NULL};
    assert_int_equal(support_run(cp, NULL, NULL), 0);
    if (prepare)
        prepare(copy);
    char *tar[] = {"/bin/tar", "-C", copy, "-cf", tarfile, ".", NULL};
    assert_int_equal(support_run(tar, NULL, NULL), 0);
    FILE *fp = fopen(tarfile, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *len = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc(*len);
    assert_int_equal(fread(buf, 1, *len, fp), *len);
    fclose(fp);
    return buf;
}

static int count_of(const cJSON *result, const char *change)
{
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(result, "counts");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(counts, change);
    return n ? (int)n->valuedouble : 0;
}

/* The difference of that change, kind and subject, or fails. */
static const cJSON *difference(const cJSON *result, const char *change, const char *kind,
                               const char *subject)
{
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(result, "differences"))
    {
        if (strcmp(support_str(d, "change"), change) == 0 &&
            strcmp(support_str(d, "kind"), kind) == 0 &&
            strcmp(support_str(d, "subject"), subject) == 0)
            return d;
    }
    char *text = cJSON_PrintUnformatted(result);
    fail_msg("no %s %s \"%s\" in %s", change, kind, subject, text);
    return NULL;
}

static int ndiffs(const cJSON *result)
{
    return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(result, "differences"));
}

/* ---- the answers ------------------------------------------------------------- */

static void unchanged_pack_as_json_differs_in_nothing(void **state)
{
    fx *f = *state;
    cJSON *body = pack_body(), *r = NULL;
    char *text = NULL;
    int st = replay_json(f, body, &r, &text);
    if (st != 200)
        fail_msg("%d %s", st, text);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(r, "events")->valuedouble, 4);
    assert_string_equal(support_str(r, "from"), "2026-06-09T21:30:00Z");
    assert_string_equal(support_str(r, "to"), "2026-06-10T06:20:00Z");
    assert_int_equal(ndiffs(r), 0);
    /* the same files are the same revision as the running set's */
    const cJSON *revs = cJSON_GetObjectItemCaseSensitive(r, "revisions");
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(revs, "recorded"), 0)->valuestring,
        support_str(revs, "candidate"));
    free(text);
    cJSON_Delete(r);
    cJSON_Delete(body);
}

static void lower_threshold_as_json_raises_the_burst(void **state)
{
    fx *f = *state;
    cJSON *body = pack_body(), *r = NULL;
    edit(body, "nen7513/access.lua", "policy(\"nen7513.vip_burst.users\", 5)",
         "policy(\"nen7513.vip_burst.users\", 3)");
    char *text = NULL;
    int st = replay_json(f, body, &r, &text);
    if (st != 200)
        fail_msg("%d %s", st, text);
    assert_int_equal(ndiffs(r), 1);
    assert_int_equal(count_of(r, "alert_raised"), 1);
    const cJSON *d = difference(r, "alert_raised", "nen7513.vip_burst", "VIP1");
    const cJSON *cause = cJSON_GetObjectItemCaseSensitive(d, "cause");
    assert_string_equal(support_str(cause, "id"), "v3");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(d, "recorded")));
    free(text);
    cJSON_Delete(r);

    /* filters in the body: reported since v3 and only access events still
     * show it; backups alone do not */
    cJSON_AddStringToObject(body, "since", "2026-06-10T08:20:00+02:00");
    cJSON_AddStringToObject(body, "type", "nl.nen7513.*");
    assert_int_equal(replay_json(f, body, &r, NULL), 200);
    assert_int_equal(ndiffs(r), 1);
    cJSON_Delete(r);
    cJSON_ReplaceItemInObjectCaseSensitive(body, "type",
                                           cJSON_CreateString("nl.ict.backup.completed"));
    assert_int_equal(replay_json(f, body, &r, NULL), 200);
    assert_int_equal(ndiffs(r), 0);
    cJSON_Delete(r);
    /* until before v3: three users never met, so no difference */
    cJSON_DeleteItemFromObjectCaseSensitive(body, "since");
    cJSON_DeleteItemFromObjectCaseSensitive(body, "type");
    cJSON_AddStringToObject(body, "until", "2026-06-10T08:15:00+02:00");
    assert_int_equal(replay_json(f, body, &r, NULL), 200);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(r, "events")->valuedouble, 3);
    assert_int_equal(ndiffs(r), 0);
    cJSON_Delete(r);
    cJSON_Delete(body);
}

static void more_grace(const char *copy)
{
    char path[800];
    snprintf(path, sizeof path, "%s/ict/practice.lua", copy);
    char *text = support_file(path);
    char *at = strstr(text, "\"ict.daily_backup.grace_hours\", 6");
    assert_non_null(at);
    at[strlen("\"ict.daily_backup.grace_hours\", ")] = '9';
    spit(path, text);
    free(text);
}

static void more_grace_as_tar_moves_the_due_date(void **state)
{
    fx *f = *state;
    size_t len = 0;
    cJSON *r = NULL;
    char *text = NULL;
    /* unchanged, as a tar: nothing */
    char *tar = pack_tar(f, "same", NULL, &len);
    int st = replay_raw(f, f->admin, "/v1/replay", "application/x-tar", tar, len, &r, &text);
    if (st != 200)
        fail_msg("%d %s", st, text);
    assert_int_equal(ndiffs(r), 0);
    free(text);
    free(tar);
    cJSON_Delete(r);

    /* 9 h grace instead of 6: due three hours later */
    tar = pack_tar(f, "grace", more_grace, &len);
    st = replay_raw(f, f->admin, "/v1/replay", "application/tar", tar, len, &r, &text);
    if (st != 200)
        fail_msg("%d %s", st, text);
    assert_int_equal(ndiffs(r), 1);
    const cJSON *d = difference(r, "obligation_due", "ict.daily_backup", "ecd");
    assert_string_equal(support_str(cJSON_GetObjectItemCaseSensitive(d, "recorded"), "due_at"),
                        "2026-06-11T03:30:00Z");
    assert_string_equal(support_str(cJSON_GetObjectItemCaseSensitive(d, "candidate"), "due_at"),
                        "2026-06-11T06:30:00Z");
    free(text);
    cJSON_Delete(r);
    /* the filters from the query string, percent-decoded */
    assert_int_equal(replay_raw(f, f->admin, "/v1/replay?type=nl.nen7513.%2A", "application/x-tar",
                                tar, len, &r, NULL),
                     200);
    assert_int_equal(ndiffs(r), 0);
    cJSON_Delete(r);
    assert_int_equal(replay_raw(f, f->admin,
                                "/v1/replay?since=2026-06-09T21%3A00%3A00Z&type=nl.ict.%2A",
                                "application/x-tar", tar, len, &r, NULL),
                     200);
    assert_int_equal(ndiffs(r), 1);
    cJSON_Delete(r);
    free(tar);
}

static void admin_tokens_only(void **state)
{
    fx *f = *state;
    const char *b = "{\"rules\":{\"a.lua\":\"\"}}";
    assert_int_equal(
        replay_raw(f, NULL, "/v1/replay", "application/json", b, strlen(b), NULL, NULL), 401);
    assert_int_equal(
        replay_raw(f, "obl_nope", "/v1/replay", "application/json", b, strlen(b), NULL, NULL), 401);
    assert_int_equal(
        replay_raw(f, f->ingest, "/v1/replay", "application/json", b, strlen(b), NULL, NULL), 403);
    assert_int_equal(
        replay_raw(f, f->officer, "/v1/replay", "application/json", b, strlen(b), NULL, NULL), 403);
    char *resp = NULL;
    assert_int_equal(
        client_request_auth(f->port, "GET", "/v1/replay", NULL, NULL, 0, f->admin, &resp), 405);
    free(resp);
}

/* Expects status with an error containing want and the field (NULL: none). */
static void expect_refusal(fx *f, const char *path, const char *type, const char *body, size_t len,
                           int status, const char *want, const char *field)
{
    cJSON *r = NULL;
    char *text = NULL;
    int st = replay_raw(f, f->admin, path, type, body, len ? len : strlen(body), &r, &text);
    if (st != status || !support_str(r, "error") || !strstr(support_str(r, "error"), want))
        fail_msg("expected %d with '%s', got %d %s", status, want, st, text ? text : "");
    if (field)
        assert_string_equal(support_str(r, "field"), field);
    free(text);
    cJSON_Delete(r);
}

static void add_symlink(const char *copy)
{
    char path[800];
    snprintf(path, sizeof path, "%s/ict/link.lua", copy);
    assert_int_equal(symlink("/etc/passwd", path), 0);
}

static void bad_requests_are_refused(void **state)
{
    fx *f = *state;
    const char *json = "application/json";
    expect_refusal(f, "/v1/replay", json, "{\"rules\":{\"../x.lua\":\"\"}}", 0, 400,
                   "rule file '../x.lua' has a '.' or '..' component", "rules");
    expect_refusal(f, "/v1/replay", json, "{\"rules\":{\"/etc/x.lua\":\"\"}}", 0, 400,
                   "is absolute", "rules");
    expect_refusal(f, "/v1/replay", json, "{\"rules\":{\"x.txt\":\"\"}}", 0, 400,
                   "does not end in .lua", "rules");
    expect_refusal(f, "/v1/replay", json, "{\"rules\":{}}", 0, 400, "non-empty object", "rules");
    expect_refusal(f, "/v1/replay", json, "{\"rules\":{\"x.lua\":1}}", 0, 400, "must be a string",
                   "rules");
    expect_refusal(f, "/v1/replay", json, "{\"since\":\"2026-06-10T00:00:00Z\"}", 0, 400,
                   "rules is required", "rules");
    expect_refusal(f, "/v1/replay", json, "{\"rules\":{\"x.lua\":\"\"},\"dry\":true}", 0, 400,
                   "unknown member 'dry'", "dry");
    expect_refusal(f, "/v1/replay", json,
                   "{\"rules\":{\"x.lua\":\"\"},\"since\":\"2026-06-11T00:00:00Z\","
                   "\"until\":\"2026-06-10T00:00:00Z\"}",
                   0, 400, "since 2026-06-11T00:00:00Z is after until 2026-06-10T00:00:00Z",
                   "since");
    expect_refusal(f, "/v1/replay", json, "{\"rules\":{\"x.lua\":\"\"},\"until\":\"yesterday\"}", 0,
                   400, "until 'yesterday' is not an RFC 3339 time", "until");
    expect_refusal(f, "/v1/replay", json, "{\"rules\":", 0, 400, "not valid JSON", NULL);
    expect_refusal(f, "/v1/replay?since=2026-06-10T00:00:00Z", json, "{\"rules\":{\"x.lua\":\"\"}}",
                   0, 400, "takes no query parameters", NULL);
    expect_refusal(f, "/v1/replay", "text/plain", "{}", 0, 415,
                   "use application/json or application/x-tar", NULL);

    size_t len = 0;
    char *tar = pack_tar(f, "plain", NULL, &len);
    expect_refusal(f, "/v1/replay?since=2026-06-11T00:00:00Z&until=2026-06-10T00:00:00Z",
                   "application/x-tar", tar, len, 400, "is after until", "since");
    expect_refusal(f, "/v1/replay?kind=x", "application/x-tar", tar, len, 400,
                   "unknown parameter 'kind'", "kind");
    free(tar);
    tar = pack_tar(f, "linked", add_symlink, &len);
    expect_refusal(f, "/v1/replay", "application/x-tar", tar, len, 400,
                   "tar entry './ict/link.lua' is a link", "rules");
    free(tar);
    expect_refusal(f, "/v1/replay", "application/x-tar", "not a tar at all, surely", 0, 400,
                   "not a tar archive", NULL);
}

static void rules_that_do_not_compile_are_422(void **state)
{
    fx *f = *state;
    cJSON *body = pack_body();
    edit(body, "ict/practice.lua", "obligation", "obligation (");
    cJSON *r = NULL;
    char *text = NULL;
    int st = replay_json(f, body, &r, &text);
    if (st != 422 || !strstr(support_str(r, "error"), "ict/practice.lua:"))
        fail_msg("expected 422 naming ict/practice.lua:LINE, got %d %s", st, text);
    assert_string_equal(support_str(r, "field"), "rules");
    free(text);
    cJSON_Delete(r);
    cJSON_Delete(body);
}

/* ---- a replay under way ---------------------------------------------------------- */

/* Sends POST /v1/replay (the unchanged pack) on a connection of its own
 * without reading the answer; returns the socket. */
static int send_replay(fx *f)
{
    cJSON *body = pack_body();
    char *b = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    size_t n = strlen(b);
    size_t cap = n + 512;
    char *req = malloc(cap);
    int head =
        snprintf(req, cap,
                 "POST /v1/replay HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n",
                 f->admin, n);
    memcpy(req + head, b, n);
    free(b);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    size_t off = 0, total = (size_t)head + n;
    while (off < total) {
        ssize_t w = write(fd, req + off, total - off);
        assert_true(w > 0);
        off += (size_t)w;
    }
    free(req);
    return fd;
}

/* Reads the answer on fd until the server closes (up to 60 s); returns
 * its status with the body in *body. */
static int read_answer(int fd, char **body)
{
    size_t cap = 1 << 16, got = 0;
    char *buf = malloc(cap);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (poll(&p, 1, 60000) > 0) {
        ssize_t r = read(fd, buf + got, cap - got - 1);
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got + 1 >= cap)
            buf = realloc(buf, cap *= 2);
    }
    buf[got] = '\0';
    close(fd);
    int status = -1;
    sscanf(buf, "HTTP/1.1 %d", &status);
    char *sep = strstr(buf, "\r\n\r\n");
    *body = strdup(sep ? sep + 4 : "");
    free(buf);
    return status;
}

/* Waits (up to 60 s) until /metrics says obligo_replay_running is want. */
static void wait_running(fx *f, int want)
{
    char line[64];
    snprintf(line, sizeof line, "\nobligo_replay_running %d\n", want);
    for (int i = 0; i < 1200; i++) {
        char *resp = NULL;
        int st = client_request_auth(f->port, "GET", "/metrics", NULL, NULL, 0, f->officer, &resp);
        int ok = st == 200 && resp && strstr(resp, line);
        free(resp);
        if (ok)
            return;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("obligo_replay_running never became %d", want);
}

static void one_replay_at_a_time(void **state)
{
    fx *f = *state;
    spit(f->hold, "");
    int fd = send_replay(f);
    wait_running(f, 1);
    cJSON *body = pack_body(), *r = NULL;
    char *text = NULL;
    int st = replay_json(f, body, &r, &text);
    if (st != 409 || !strstr(support_str(r, "error"), "a replay is running"))
        fail_msg("expected 409 while a replay runs, got %d %s", st, text);
    free(text);
    cJSON_Delete(r);
    /* the rest of the server goes on meanwhile */
    assert_int_equal(client_request(f->port, "GET", "/healthz", NULL, NULL, 0, NULL), 200);
    unlink(f->hold);
    char *answer = NULL;
    assert_int_equal(read_answer(fd, &answer), 200);
    assert_non_null(strstr(answer, "\"differences\":[]"));
    free(answer);
    wait_running(f, 0);
    /* and the next one runs */
    assert_int_equal(replay_json(f, body, NULL, NULL), 200);
    char *resp = NULL;
    assert_int_equal(
        client_request_auth(f->port, "GET", "/metrics", NULL, NULL, 0, f->officer, &resp), 200);
    assert_non_null(strstr(resp, "\nobligo_replays_total "));
    free(resp);
    cJSON_Delete(body);
}

static void a_client_gone_mid_replay_harms_nothing(void **state)
{
    fx *f = *state;
    spit(f->hold, "");
    int fd = send_replay(f);
    wait_running(f, 1);
    close(fd);
    unlink(f->hold);
    wait_running(f, 0);
    assert_int_equal(client_request(f->port, "GET", "/healthz", NULL, NULL, 0, NULL), 200);
    cJSON *body = pack_body();
    assert_int_equal(replay_json(f, body, NULL, NULL), 200);
    cJSON_Delete(body);
}

static void sigterm_mid_replay_cancels_it(void **state)
{
    fx *f = *state;
    spit(f->hold, ""); /* held until the server stops: only cancelling ends it */
    int fd = send_replay(f);
    wait_running(f, 1);
    kill(f->pid, SIGTERM);
    char *answer = NULL;
    int st = read_answer(fd, &answer);
    if (st != 503 || !strstr(answer, "cancelled")) {
        kill(f->pid, SIGKILL); /* the teardown must not wait for it */
        waitpid(f->pid, NULL, 0);
        f->pid = 0;
        fail_msg("expected 503 (cancelled), got %d %s", st, answer);
    }
    free(answer);
    /* the server exits 0 on its own, well within 60 s */
    int status = -1;
    pid_t got = 0;
    for (int i = 0; i < 1200 && got == 0; i++) {
        got = waitpid(f->pid, &status, WNOHANG);
        if (got == 0) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    if (got != f->pid) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, NULL, 0);
        f->pid = 0;
        fail_msg("the server did not stop within 60 s of SIGTERM during a replay");
    }
    f->pid = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    unlink(f->hold);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(unchanged_pack_as_json_differs_in_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(lower_threshold_as_json_raises_the_burst, setup, teardown),
        cmocka_unit_test_setup_teardown(more_grace_as_tar_moves_the_due_date, setup, teardown),
        cmocka_unit_test_setup_teardown(admin_tokens_only, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_requests_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(rules_that_do_not_compile_are_422, setup, teardown),
        cmocka_unit_test_setup_teardown(one_replay_at_a_time, setup, teardown),
        cmocka_unit_test_setup_teardown(a_client_gone_mid_replay_harms_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(sigterm_mid_replay_cancels_it, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
