/* crashtest-client.c — the load client of scripts/crashtest.
 *
 * Posts unique events to `obligo serve` on 127.0.0.1:PORT over several
 * keep-alive connections (one thread each), as fast as the server answers:
 * a mix of single CloudEvents (application/cloudevents+json) and small
 * NDJSON batches (application/x-ndjson) of 2-16 events. The events follow
 * the mix of scripts/loadgen/events.lua, with more that matter here:
 *
 *   2 %  nl.avg.breach.reported   opens avg.notify_ap "B-<id>" and a
 *                                 datalekken entry; a quarter of them were
 *                                 noticed almost 72 h ago, so their deadline
 *                                 falls during the run (obligo.obligation_overdue)
 *   2 %  nl.avg.request.received  opens avg.respond_request "R-<id>"
 *   2 %  nl.ict.backup.completed  re-arms ict.daily_backup
 *   5 %  nl.nen7513.access        without a treatment relation (an alert)
 *   3 %  nl.nen7513.access        with a password only (an alert)
 *  86 %  nl.nen7513.access        ordinary, no alert
 *
 * Every event is unique by source + id: the id is PREFIX-C-N-T (connection,
 * counter, a letter for the kind: a access, n no treatment relation,
 * w weak authentication, b breach, l breach due soon, q request, k backup),
 * so the checker can tell from an id what the event should have caused.
 *
 * After every answer (or a broken connection) one line is appended to the
 * log and written out before the next request:
 *
 *     STATUS COUNT ID ID ...
 *
 * STATUS is the HTTP status, or 0 when no answer came (connection refused,
 * reset or closed by a killed server): only 202 means acknowledged. COUNT is
 * the number of ids, so a line cut short would be noticed. The line goes out
 * in a single write(2) on an O_APPEND descriptor, so a client killed between
 * requests leaves whole lines only.
 *
 * It runs until --seconds pass or it is killed (scripts/crashtest kills it
 * together with the server). Only 127.0.0.1 is ever contacted.
 *
 * Build: cc -O2 -Wall -Wextra -Werror -pthread crashtest-client.c */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 64
#define MAX_BATCH 16
#define EVENT_CAP 1024
#define BODY_CAP (MAX_BATCH * EVENT_CAP)
#define RESP_CAP 8192
#define ID_CAP 64

static int port, conns = 6, log_fd = -1;
static double seconds = 600;
static const char *source, *prefix;
static unsigned long long seed;
static struct timespec started;

/* Tallies, for the summary on stderr at the end. */
static pthread_mutex_t tally_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long n_requests, n_events, n_acked, n_unanswered, n_status[600];

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("crashtest-client: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static double elapsed(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - started.tv_sec) + (double)(now.tv_nsec - started.tv_nsec) / 1e9;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

/* xorshift64*: each thread has its own state. */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* RFC 3339 with an offset: UTC shifted to a fixed +01:00 (valid for any
 * instant), `ago` seconds before now. */
static void rfc3339(char *out, size_t cap, long ago)
{
    time_t t = time(NULL) - ago + 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%S+01:00", &tm);
}

/* One event as a single line of JSON; its id goes to `id`. Returns the
 * length, or -1 when it did not fit. */
static int event_json(char *out, size_t cap, char *id, int conn, unsigned long long n, uint64_t *rs)
{
    static const char *const roles[] = {"arts", "verpleegkundige", "doktersassistent",
                                        "praktijkondersteuner"};
    static const char *const systems[] = {"ecd", "his", "fileserver"};
    unsigned k = (unsigned)(rnd(rs) % 100);
    unsigned client = (unsigned)(rnd(rs) % 50000), user = (unsigned)(rnd(rs) % 200);
    char kind = k < 2    ? (rnd(rs) % 4 == 0 ? 'l' : 'b')
                : k < 4  ? 'q'
                : k < 6  ? 'k'
                : k < 11 ? 'n'
                : k < 14 ? 'w'
                         : 'a';
    snprintf(id, ID_CAP, "%s-%d-%llu-%c", prefix, conn, n, kind);
    char now[40], aware[40];
    rfc3339(now, sizeof now, 0);
    int h = snprintf(out, cap,
                     "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"%s\","
                     "\"time\":\"%s\",",
                     id, source, now);
    if (h < 0 || (size_t)h >= cap)
        return -1;
    int b;
    switch (kind) {
    case 'b':
    case 'l':
        /* 'l': noticed 72 h minus 2-21 s ago, so avg.notify_ap falls due
         * while the server runs (or while it is down, and fires late) */
        rfc3339(aware, sizeof aware, kind == 'l' ? 72 * 3600 - 2 - (long)(rnd(rs) % 20) : 600);
        b = snprintf(out + h, cap - (size_t)h,
                     "\"type\":\"nl.avg.breach.reported\",\"data\":{\"breach_id\":\"B-%s\","
                     "\"aware_at\":\"%s\",\"description\":\"e-mail met diagnose naar verkeerde "
                     "ontvanger\",\"cause\":\"misdirected\",\"personal_data\":\"yes\","
                     "\"categories\":[\"health\"],\"persons_affected\":1}}",
                     id, aware);
        break;
    case 'q':
        b = snprintf(out + h, cap - (size_t)h,
                     "\"type\":\"nl.avg.request.received\",\"data\":{\"request_id\":\"R-%s\","
                     "\"kind\":\"access\",\"client_id\":\"c%u\",\"received_at\":\"%s\"}}",
                     id, client, now);
        break;
    case 'k':
        b = snprintf(out + h, cap - (size_t)h,
                     "\"type\":\"nl.ict.backup.completed\",\"data\":{\"system\":\"%s\","
                     "\"completed_at\":\"%s\"}}",
                     systems[rnd(rs) % 3], now);
        break;
    default:
        b = snprintf(out + h, cap - (size_t)h,
                     "\"type\":\"nl.nen7513.access\",\"data\":{\"user\":{\"id\":\"u%u\","
                     "\"role\":\"%s\"},\"client_id\":\"c%u\",\"action\":\"read\","
                     "\"system\":\"ecd\",\"treatment_relation\":%s,\"authentication\":\"%s\"}}",
                     user, roles[user % 4], client, kind == 'n' ? "false" : "true",
                     kind == 'w' ? "password" : "2fa");
    }
    if (b < 0 || (size_t)b >= cap - (size_t)h)
        return -1;
    return h + b;
}

static int connect_server(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {30, 0}; /* a group commit never takes this long */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one answer (framed by Content-Length, which the server always
 * sends). Returns its status, or 0 when none came; *close_after is set when
 * the server will close the connection. */
static int read_answer(int fd, int *close_after)
{
    char buf[RESP_CAP];
    size_t len = 0;
    *close_after = 0;
    for (;;) {
        ssize_t r = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        len += (size_t)r;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) {
            if (len >= sizeof buf - 1)
                return 0;
            continue;
        }
        if (strncmp(buf, "HTTP/1.", 7) || len < 12)
            return 0;
        int status = atoi(buf + 9);
        long clen = -1;
        for (char *line = strstr(buf, "\r\n") + 2; line < end;) {
            char *eol = strstr(line, "\r\n");
            *eol = '\0';
            if (!strncasecmp(line, "Content-Length:", 15))
                clen = strtol(line + 15, NULL, 10);
            else if (!strncasecmp(line, "Connection:", 11) && strcasestr(line, "close"))
                *close_after = 1;
            *eol = '\r';
            line = eol + 2;
        }
        if (clen < 0 || status < 100 || status > 599)
            return 0;
        size_t total = (size_t)(end + 4 - buf) + (size_t)clen;
        if (total >= sizeof buf)
            return 0;
        if (len >= total)
            return status;
    }
}

/* Appends "STATUS COUNT ID..." in one write. */
static void log_request(int status, char ids[][ID_CAP], int n)
{
    char line[64 + MAX_BATCH * (ID_CAP + 1)];
    int o = snprintf(line, sizeof line, "%d %d", status, n);
    for (int i = 0; i < n; i++)
        o += snprintf(line + o, sizeof line - (size_t)o, " %s", ids[i]);
    line[o++] = '\n';
    ssize_t w;
    while ((w = write(log_fd, line, (size_t)o)) < 0 && errno == EINTR)
        ;
    if (w != o)
        die("cannot write the log: %s", w < 0 ? strerror(errno) : "short write");
}

static void *worker(void *arg)
{
    int conn = (int)(intptr_t)arg;
    uint64_t rs = seed * 1000003ULL + (uint64_t)conn * 7919ULL + 1;
    for (int i = 0; i < 8; i++)
        rnd(&rs);
    char body[BODY_CAP], events[MAX_BATCH][EVENT_CAP], ids[MAX_BATCH][ID_CAP], head[256];
    unsigned long long counter = 0;
    int fd = -1;
    while (elapsed() < seconds) {
        if (fd < 0 && (fd = connect_server()) < 0) {
            pause_ms(20); /* the server is down or starting */
            continue;
        }
        /* 60 %: one event; 40 %: an NDJSON batch of 2-16 */
        int n = rnd(&rs) % 10 < 6 ? 1 : 2 + (int)(rnd(&rs) % (MAX_BATCH - 1));
        size_t blen = 0;
        for (int i = 0; i < n; i++) {
            int len = event_json(events[i], EVENT_CAP, ids[i], conn, counter++, &rs);
            if (len < 0)
                die("an event does not fit in %d bytes", EVENT_CAP);
            memcpy(body + blen, events[i], (size_t)len);
            blen += (size_t)len;
            if (n > 1)
                body[blen++] = '\n';
        }
        int hlen =
            snprintf(head, sizeof head,
                     "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                     "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                     port, n > 1 ? "application/x-ndjson" : "application/cloudevents+json", blen);
        int close_after = 0, status = 0;
        if (send_all(fd, head, (size_t)hlen) == 0 && send_all(fd, body, blen) == 0)
            status = read_answer(fd, &close_after);
        log_request(status, ids, n);
        pthread_mutex_lock(&tally_lock);
        n_requests++;
        n_events += (unsigned long long)n;
        if (status == 202)
            n_acked += (unsigned long long)n;
        if (status == 0)
            n_unanswered++;
        n_status[status]++;
        pthread_mutex_unlock(&tally_lock);
        if (status == 0 || close_after) {
            close(fd);
            fd = -1;
        }
        if (status == 503)
            pause_ms(50); /* back-pressure: come back shortly */
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static void usage(void)
{
    fprintf(stderr, "usage: crashtest-client --port P --log FILE --source URI --prefix P\n"
                    "                        [--conns N] [--seconds S] [--seed N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *log_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (!strcmp(a, "--port"))
            port = atoi(v);
        else if (!strcmp(a, "--log"))
            log_path = v;
        else if (!strcmp(a, "--source"))
            source = v;
        else if (!strcmp(a, "--prefix"))
            prefix = v;
        else if (!strcmp(a, "--conns"))
            conns = atoi(v);
        else if (!strcmp(a, "--seconds"))
            seconds = atof(v);
        else if (!strcmp(a, "--seed"))
            seed = strtoull(v, NULL, 10);
        else
            usage();
        i++;
    }
    if (port <= 0 || port > 65535 || !log_path || !source || !prefix || conns < 1 ||
        conns > MAX_CONNS || seconds <= 0)
        usage();
    log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0)
        die("%s: %s", log_path, strerror(errno));
    clock_gettime(CLOCK_MONOTONIC, &started);
    pthread_t threads[MAX_CONNS];
    for (int i = 0; i < conns; i++)
        if (pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i))
            die("cannot start a thread");
    for (int i = 0; i < conns; i++)
        pthread_join(threads[i], NULL);
    fprintf(stderr,
            "crashtest-client: %llu requests, %llu events, %llu acknowledged, %llu unanswered, "
            "%llu answered 503\n",
            n_requests, n_events, n_acked, n_unanswered, n_status[503]);
    return 0;
}
