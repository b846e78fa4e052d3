/* paced.c — open-loop HTTP load client for scripts/bench-http.
 *
 * wrk sends the next request only when the previous answer on that
 * connection arrived (a closed loop), so a slow server slows the client down
 * and the stall never shows in the latencies ("coordinated omission"). This
 * client instead fixes every request's send time in advance — request i is
 * due at start + i / rate — and measures latency from that scheduled instant
 * to the end of the answer. When all connections are busy, due requests
 * wait in a queue and the waiting counts as latency, as it would for a real
 * sender. The time from the actual send is reported too (service time), so
 * the two can be compared.
 *
 * It has two jobs:
 *   paced load   --rate R --duration D --conns N: single CloudEvents
 *                (application/cloudevents+json, the same mix as
 *                scripts/loadgen/events.lua) POSTed at R events/s in total
 *                over N keep-alive connections, one request in flight per
 *                connection;
 *   idle hold    --idle K --hold S: first opens K connections that send
 *                nothing, runs the paced load (if any) while they are held,
 *                keeps them until S seconds after they were opened, then asks
 *                GET /healthz on each to prove the server still has them.
 *
 * Safety: it only ever connects to 127.0.0.1 (the address is not an
 * option), the work is bounded by rate x duration, and every phase has a
 * deadline after which it gives up and reports, so it always stops by itself.
 *
 * Output: a readable summary on stderr, and one "RESULT key=value ..." line
 * on stdout for scripts/bench-http. Exit status 0 when it ran (whatever the
 * server answered), 2 on bad usage or a local failure.
 *
 * Linux only (epoll, timerfd). Build: cc -O2 -Wall -Wextra -Werror paced.c */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 10000          /* load connections */
#define MAX_IDLE 60000           /* idle connections */
#define MAX_REQUESTS 50000000ULL /* rate x duration */
#define CONNECT_WINDOW 256       /* idle connects in progress at once, under the listen backlog */
#define RBUF 8192                /* an answer of the server is well under this */
#define WBUF 2048                /* one request: headers and one event */
#define NS 1000000000ULL

/* C_NONE: never opened; C_READY: connected, nothing in flight; C_DONE: an
 * idle connection whose /healthz probe was answered. */
enum conn_state { C_NONE, C_CONNECTING, C_READY, C_BUSY, C_DONE, C_DEAD };

typedef struct conn {
    int fd;
    enum conn_state st;
    int idle;        /* one of the held idle connections */
    int in_ready;    /* on the ready stack of the paced load */
    uint32_t events; /* what epoll watches now */
    char wbuf[WBUF];
    size_t wlen, woff;
    char rbuf[RBUF];
    size_t rlen;
    uint64_t sched_ns, sent_ns; /* of the request in flight */
} conn;

/* Tallies for the report. */
static struct {
    uint64_t sent, answered, ok202, accepted, duplicates, non202;
    uint64_t status[600];
    uint64_t connect_err, closed_in_flight, bad_answer, reconnects;
    uint64_t idle_opened, idle_failed, idle_closed, probe_ok, probe_failed;
} st;

static int port;
static int ep;
static char host_hdr[32];
static char source[128];
static const char *tag; /* of this run: in the source and in breach and request ids */

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("paced: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* RFC 3339 with an offset, written as UTC shifted to a fixed +01:00 (valid
 * for any instant). Cached per second: formatting is not free at 10k/s. */
static const char *rfc3339(time_t shift)
{
    static char buf[2][40];
    static time_t last[2] = {-1, -1};
    int slot = shift != 0;
    time_t t = time(NULL) - shift;
    if (t != last[slot]) {
        time_t local = t + 3600;
        struct tm tm;
        gmtime_r(&local, &tm);
        strftime(buf[slot], sizeof buf[slot], "%Y-%m-%dT%H:%M:%S+01:00", &tm);
        last[slot] = t;
    }
    return buf[slot];
}

/* The n-th event of the run: the mix of scripts/loadgen/events.lua (94 %
 * record access, 2 % each breach report, client request, backup). */
static int event_json(char *out, size_t cap, uint64_t n)
{
    static const char *roles[] = {"arts", "verpleegkundige", "doktersassistent",
                                  "praktijkondersteuner"};
    static const char *systems[] = {"ecd", "his", "fileserver"};
    const char *now = rfc3339(0);
    unsigned client = (unsigned)((n * 7919) % 50000);
    int h = snprintf(out, cap,
                     "{\"specversion\":\"1.0\",\"id\":\"p-%llu\",\"source\":\"%s\","
                     "\"time\":\"%s\",",
                     (unsigned long long)n, source, now);
    if (h < 0 || (size_t)h >= cap)
        return -1;
    int b;
    switch (n % 50) {
    case 0:
        b = snprintf(out + h, cap - (size_t)h,
                     "\"type\":\"nl.avg.breach.reported\",\"data\":{\"breach_id\":\"B-%s-p%llu\","
                     "\"aware_at\":\"%s\",\"description\":\"e-mail met diagnose naar verkeerde "
                     "ontvanger\",\"cause\":\"misdirected\",\"personal_data\":\"yes\","
                     "\"categories\":[\"health\"],\"persons_affected\":1}}",
                     tag, (unsigned long long)n, rfc3339(600));
        break;
    case 1:
        b = snprintf(out + h, cap - (size_t)h,
                     "\"type\":\"nl.avg.request.received\",\"data\":{\"request_id\":\"R-%s-p%llu\","
                     "\"kind\":\"access\",\"client_id\":\"c%u\",\"received_at\":\"%s\"}}",
                     tag, (unsigned long long)n, client, now);
        break;
    case 2:
        b = snprintf(out + h, cap - (size_t)h,
                     "\"type\":\"nl.ict.backup.completed\",\"data\":{\"system\":\"%s\","
                     "\"completed_at\":\"%s\"}}",
                     systems[n % 3], now);
        break;
    default:
        b = snprintf(out + h, cap - (size_t)h,
                     "\"type\":\"nl.nen7513.access\",\"data\":{\"user\":{\"id\":\"u%u\","
                     "\"role\":\"%s\"},\"client_id\":\"c%u\",\"action\":\"read\","
                     "\"system\":\"ecd\",\"treatment_relation\":true,\"authentication\":\"2fa\"}}",
                     (unsigned)(n % 200), roles[n % 4], client);
    }
    if (b < 0 || (size_t)b >= cap - (size_t)h)
        return -1;
    return h + b;
}

static void watch(conn *c, uint32_t events)
{
    if (c->events == events)
        return;
    struct epoll_event e = {.events = events, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e))
        die("epoll_ctl: %s", strerror(errno));
    c->events = events;
}

/* Starts a nonblocking connect to 127.0.0.1:port; the connection reports
 * through epoll (EPOLLOUT) when it is established or failed. */
static int conn_open(conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->st = C_CONNECTING;
    c->rlen = c->wlen = c->woff = 0;
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) && errno != EINPROGRESS) {
        int err = -errno;
        close(c->fd);
        c->fd = -1;
        c->st = C_DEAD;
        return err;
    }
    c->events = EPOLLOUT;
    struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e))
        die("epoll_ctl: %s", strerror(errno));
    return 0;
}

static void conn_close(conn *c)
{
    if (c->fd >= 0)
        close(c->fd); /* also leaves the epoll set */
    c->fd = -1;
    c->st = C_DEAD;
}

/* Writes what is left of the request; waits for EPOLLOUT when the socket
 * is full. Returns -1 when the connection broke. */
static int conn_flush(conn *c)
{
    while (c->woff < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            watch(c, EPOLLIN | EPOLLOUT);
            return 0;
        }
        if (n <= 0)
            return -1;
        c->woff += (size_t)n;
    }
    watch(c, EPOLLIN);
    return 0;
}

/* Whether the header value starting at v (ending at CRLF) contains word. */
static int header_has(const char *v, const char *word)
{
    size_t n = strlen(word);
    for (; *v && *v != '\r'; v++)
        if (!strncasecmp(v, word, n))
            return 1;
    return 0;
}

/* Looks for one complete answer in rbuf, framed by Content-Length (the
 * server always sends it). Returns its length, 0 when more bytes are
 * needed, -1 when it is not HTTP we understand. */
static long answer_length(conn *c, int *status, int *close_after)
{
    c->rbuf[c->rlen] = '\0';
    char *end = strstr(c->rbuf, "\r\n\r\n");
    if (!end)
        return c->rlen >= RBUF - 1 ? -1 : 0;
    if (strncmp(c->rbuf, "HTTP/1.", 7) || c->rlen < 12)
        return -1;
    *status = atoi(c->rbuf + 9);
    long clen = -1;
    *close_after = 0;
    for (char *line = strstr(c->rbuf, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
        if (!strncasecmp(line, "Content-Length:", 15))
            clen = strtol(line + 15, NULL, 10);
        else if (!strncasecmp(line, "Connection:", 11) && header_has(line + 11, "close"))
            *close_after = 1;
    }
    if (clen < 0 || *status < 100 || *status > 599)
        return -1;
    long total = (long)(end + 4 - c->rbuf) + clen;
    if (total >= RBUF)
        return -1;
    return c->rlen >= (size_t)total ? total : 0;
}

/* ---- the paced load ---------------------------------------------------- */

static struct {
    uint64_t rate, total;    /* events/s, requests in the whole schedule */
    uint64_t start;          /* ns: request i is due at start + i * NS / rate */
    uint64_t released, next; /* due so far; next to send (released - next wait) */
    uint64_t *lat, *svc;     /* per answered request: from schedule, from send */
    uint64_t nlat, nsvc;
    uint64_t open_end;  /* requests still waiting at the deadline (in lat, not svc) */
    uint64_t sent_open; /* of those, sent: the server may still commit them */
    conn **ready;       /* load connections free for a request */
    size_t nready;
} L;

static uint64_t due_at(uint64_t i)
{
    return L.start + (uint64_t)((unsigned __int128)i * NS / L.rate);
}

static void load_reconnect(conn *c);

/* Sends due requests, oldest first, on free connections. */
static void pump(void)
{
    while (L.next < L.released && L.nready > 0) {
        conn *c = L.ready[--L.nready];
        c->in_ready = 0;
        if (c->st != C_READY)
            continue; /* broke and is reconnecting; it comes back when ready */
        char body[WBUF - 256];
        int blen = event_json(body, sizeof body, L.next);
        if (blen < 0)
            die("event too long");
        int h = snprintf(c->wbuf, WBUF,
                         "POST /v1/events HTTP/1.1\r\nHost: %s\r\n"
                         "Content-Type: application/cloudevents+json\r\n"
                         "Content-Length: %d\r\n\r\n",
                         host_hdr, blen);
        memcpy(c->wbuf + h, body, (size_t)blen);
        c->wlen = (size_t)h + (size_t)blen;
        c->woff = 0;
        c->rlen = 0;
        c->sched_ns = due_at(L.next);
        c->sent_ns = now_ns();
        c->st = C_BUSY;
        L.next++;
        st.sent++;
        if (conn_flush(c)) {
            st.closed_in_flight++;
            load_reconnect(c);
        }
    }
}

/* Marks a load connection free. A connection is on the stack at most once
 * (in_ready), so the stack never holds more than --conns entries. */
static void load_ready(conn *c)
{
    c->st = C_READY;
    if (!c->in_ready) {
        c->in_ready = 1;
        L.ready[L.nready++] = c;
    }
}

/* A load connection that broke is replaced, so that a server closing
 * connections shows as errors and not as a client that runs out of them.
 * Bounded, so a server that refuses everything cannot make this spin. */
static void load_reconnect(conn *c)
{
    conn_close(c);
    if (st.reconnects >= 10000)
        return;
    st.reconnects++;
    if (conn_open(c))
        st.connect_err++;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(uint64_t *v, uint64_t n, double p)
{
    if (n == 0)
        return 0.0;
    uint64_t i = (uint64_t)(p / 100.0 * (double)n + 0.999999);
    if (i == 0)
        i = 1;
    if (i > n)
        i = n;
    return (double)v[i - 1] / 1e6;
}

/* ---- events from epoll -------------------------------------------------- */

static void on_event(conn *c, uint32_t ev)
{
    if (c->st == C_DEAD || c->st == C_NONE)
        return;
    if (c->st == C_CONNECTING) {
        if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return; /* a stale event of the descriptor this one replaced */
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err || (ev & (EPOLLERR | EPOLLHUP))) {
            if (c->idle) {
                st.idle_failed++;
                conn_close(c);
            } else {
                st.connect_err++;
                load_reconnect(c);
            }
            return;
        }
        watch(c, EPOLLIN);
        if (c->idle) {
            c->st = C_READY;
            st.idle_opened++;
        } else {
            load_ready(c);
        }
        return;
    }
    if ((ev & EPOLLOUT) && c->st == C_BUSY && c->woff < c->wlen) {
        if (conn_flush(c)) {
            if (c->idle) {
                st.probe_failed++;
                conn_close(c);
            } else {
                st.closed_in_flight++;
                load_reconnect(c);
            }
            return;
        }
    }
    if (!(ev & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        return;
    ssize_t n = recv(c->fd, c->rbuf + c->rlen, RBUF - 1 - c->rlen, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        /* The server closed the connection (or reset it). */
        if (c->idle) {
            if (c->st == C_BUSY)
                st.probe_failed++;
            else
                st.idle_closed++;
            conn_close(c);
        } else {
            if (c->st == C_BUSY)
                st.closed_in_flight++;
            load_reconnect(c);
        }
        return;
    }
    c->rlen += (size_t)n;
    if (c->st != C_BUSY) {
        /* Bytes nobody asked for, e.g. a 408 on an idle connection. */
        st.bad_answer++;
        c->rlen = 0;
        return;
    }
    int status = 0, close_after = 0;
    long len = answer_length(c, &status, &close_after);
    if (len == 0)
        return;
    if (len < 0) {
        st.bad_answer++;
        if (c->idle) {
            st.probe_failed++;
            conn_close(c);
        } else {
            load_reconnect(c);
        }
        return;
    }
    uint64_t t = now_ns();
    if (c->idle) {
        /* The /healthz probe of a held connection. */
        if (status == 200)
            st.probe_ok++;
        else
            st.probe_failed++;
        c->st = C_DONE;
        return;
    }
    st.answered++;
    st.status[status]++;
    if (status == 202) {
        st.ok202++;
        char *a = strstr(c->rbuf + len - (len < 200 ? len : 200), "\"accepted\":");
        char *d = strstr(c->rbuf + len - (len < 200 ? len : 200), "\"duplicates\":");
        if (a)
            st.accepted += strtoull(a + 11, NULL, 10);
        if (d)
            st.duplicates += strtoull(d + 13, NULL, 10);
    } else {
        st.non202++;
    }
    if (L.nlat < L.total) { /* always true; the arrays hold L.total entries */
        L.lat[L.nlat++] = t - c->sched_ns;
        L.svc[L.nsvc++] = t - c->sent_ns;
    }
    c->rlen = 0;
    if (close_after)
        load_reconnect(c);
    else
        load_ready(c);
}

/* Runs the loop until done() says so or the deadline passes. tfd, when
 * not -1, is the timerfd that releases scheduled requests. */
static void run(int tfd, int (*done)(void), uint64_t deadline)
{
    struct epoll_event evs[256];
    while (!done()) {
        uint64_t t = now_ns();
        if (t >= deadline)
            return;
        int ms = (int)((deadline - t) / 1000000) + 1;
        int n = epoll_wait(ep, evs, 256, ms > 1000 ? 1000 : ms);
        if (n < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                /* The schedule timer: release everything now due, re-arm
                 * for the next request. */
                uint64_t exp;
                if (read(tfd, &exp, sizeof exp) < 0 && errno != EAGAIN)
                    die("timerfd read: %s", strerror(errno));
                uint64_t now = now_ns();
                while (L.released < L.total && due_at(L.released) <= now)
                    L.released++;
                struct itimerspec its = {0};
                if (L.released < L.total) {
                    uint64_t at = due_at(L.released);
                    its.it_value.tv_sec = (time_t)(at / NS);
                    its.it_value.tv_nsec = (long)(at % NS);
                }
                timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
            } else {
                on_event(evs[i].data.ptr, evs[i].events);
            }
        }
        pump();
    }
}

static conn *idle_conns;
static size_t n_idle, idle_started;

static int idle_connected(void)
{
    /* Keep CONNECT_WINDOW connects in flight until all were started. */
    size_t settled = st.idle_opened + st.idle_failed;
    while (idle_started < n_idle && idle_started - settled < CONNECT_WINDOW) {
        conn *c = &idle_conns[idle_started++];
        c->idle = 1;
        if (conn_open(c)) {
            st.idle_failed++;
            settled++;
        }
    }
    return st.idle_opened + st.idle_failed >= n_idle;
}

static int load_finished(void)
{
    return L.next >= L.total && st.answered + st.closed_in_flight >= L.total;
}

static int never(void)
{
    return 0;
}

static int probes_answered(void)
{
    return st.probe_ok + st.probe_failed >= st.idle_opened - st.idle_closed;
}

static void usage(void)
{
    fputs("usage: paced --port P [--rate EVENTS_PER_S --duration S] [--conns N]\n"
          "             [--idle K --hold S] [--tag T] [--drain S]\n"
          "Open-loop load on http://127.0.0.1:P/v1/events; see the top of paced.c.\n",
          stderr);
    exit(2);
}

static uint64_t num(const char *s, uint64_t lo, uint64_t hi, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s ? s : "", &end, 10);
    if (!s || errno || *end || v < lo || v > hi)
        die("%s must be a number from %llu to %llu", what, (unsigned long long)lo,
            (unsigned long long)hi);
    return v;
}

int main(int argc, char **argv)
{
    uint64_t rate = 0, duration = 0, conns = 64, idle = 0, hold = 0, drain = 10;
    /* Every option takes a value: walk the arguments in pairs. */
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--port"))
            port = (int)num(v, 1, 65535, "--port");
        else if (!strcmp(a, "--rate"))
            rate = num(v, 1, 1000000, "--rate");
        else if (!strcmp(a, "--duration"))
            duration = num(v, 1, 600, "--duration");
        else if (!strcmp(a, "--conns"))
            conns = num(v, 1, MAX_CONNS, "--conns");
        else if (!strcmp(a, "--idle"))
            idle = num(v, 1, MAX_IDLE, "--idle");
        else if (!strcmp(a, "--hold"))
            hold = num(v, 0, 600, "--hold");
        else if (!strcmp(a, "--drain"))
            drain = num(v, 1, 120, "--drain");
        else if (!strcmp(a, "--tag") && v && strlen(v) < 64)
            tag = v;
        else
            usage();
    }
    if (!port || (!rate != !duration) || (!rate && !idle))
        usage();
    if (rate * duration > MAX_REQUESTS)
        die("--rate x --duration is over %llu requests", (unsigned long long)MAX_REQUESTS);

    /* Each connection is a descriptor: use the whole hard limit. */
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl)) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur != RLIM_INFINITY && idle + conns + 16 > rl.rlim_cur)
            die("%llu connections need more descriptors than the limit %llu (ulimit -n)",
                (unsigned long long)(idle + conns), (unsigned long long)rl.rlim_cur);
    }
    snprintf(host_hdr, sizeof host_hdr, "127.0.0.1:%d", port);
    if (!tag) {
        static char deftag[32];
        snprintf(deftag, sizeof deftag, "%lld-%d", (long long)time(NULL), (int)getpid());
        tag = deftag;
    }
    snprintf(source, sizeof source, "urn:ecd:bench:%s", tag);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1: %s", strerror(errno));

    /* 1. Idle connections: opened first and held through everything else. */
    uint64_t idle_t0 = now_ns(), idle_ready_ns = 0;
    if (idle) {
        n_idle = idle;
        idle_conns = calloc(n_idle, sizeof *idle_conns);
        if (!idle_conns)
            die("out of memory");
        run(-1, idle_connected, idle_t0 + 60 * NS);
        idle_ready_ns = now_ns() - idle_t0;
        fprintf(stderr, "paced: %llu of %llu idle connections open in %.2f s (%llu failed)\n",
                (unsigned long long)st.idle_opened, (unsigned long long)idle,
                (double)idle_ready_ns / 1e9, (unsigned long long)st.idle_failed);
    }

    /* 2. The paced load, on its own connections. */
    conn *lc = NULL;
    uint64_t wall_ns = 0;
    if (rate) {
        L.rate = rate;
        L.total = rate * duration;
        L.lat = malloc(L.total * sizeof *L.lat);
        L.svc = malloc(L.total * sizeof *L.svc);
        L.ready = calloc(conns, sizeof *L.ready);
        lc = calloc(conns, sizeof *lc);
        if (!L.lat || !L.svc || !L.ready || !lc)
            die("out of memory");
        for (uint64_t i = 0; i < conns; i++)
            if (conn_open(&lc[i]))
                st.connect_err++;
        /* Wait (bounded) for the connections before the clock starts, so
         * connection setup is not counted as latency. */
        L.total = 0;
        uint64_t t0 = now_ns();
        while (L.nready + st.connect_err < conns && now_ns() - t0 < 10 * NS)
            run(-1, never, now_ns() + 10000000);
        L.total = rate * duration;

        int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (tfd < 0)
            die("timerfd_create: %s", strerror(errno));
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
        epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &e);
        L.start = now_ns() + 1000000;
        struct itimerspec its = {.it_value = {(time_t)(L.start / NS), (long)(L.start % NS)}};
        timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
        run(tfd, load_finished, L.start + (duration + drain) * NS);
        uint64_t end = now_ns();
        wall_ns = end - L.start;
        close(tfd);
        /* Requests still waiting at the deadline (in flight, or never sent
         * because every connection was busy) go into the latencies with
         * the time they had waited so far: leaving them out would hide
         * exactly the stall this client is for. Those are lower bounds. */
        for (uint64_t i = 0; i < conns; i++)
            if (lc[i].st == C_BUSY) {
                L.lat[L.nlat++] = end - lc[i].sched_ns;
                L.open_end++;
                L.sent_open++;
            }
        for (uint64_t i = L.next; i < L.total; i++) {
            L.lat[L.nlat++] = end - due_at(i);
            L.open_end++;
        }
        /* The load is over: its connections go, so that a late answer
         * cannot be counted twice while the idle connections are probed. */
        for (uint64_t i = 0; i < conns; i++)
            conn_close(&lc[i]);
    }

    /* 3. Hold the idle connections to the end of --hold, then ask each for
     * /healthz: an answer proves the server kept it. */
    if (idle) {
        uint64_t until = idle_t0 + hold * NS;
        if (now_ns() < until)
            run(-1, never, until);
        for (size_t i = 0; i < n_idle; i++) {
            conn *c = &idle_conns[i];
            if (c->st != C_READY)
                continue;
            c->wlen = (size_t)snprintf(c->wbuf, WBUF, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n",
                                       host_hdr);
            c->woff = c->rlen = 0;
            c->st = C_BUSY;
            if (conn_flush(c)) {
                st.probe_failed++;
                conn_close(c);
            }
        }
        run(-1, probes_answered, now_ns() + 20 * NS);
    }

    /* Report. */
    uint64_t unanswered = rate ? L.total - st.answered - st.closed_in_flight : 0;
    double p50 = 0, p90 = 0, p99 = 0, p999 = 0, pmax = 0, s50 = 0, s99 = 0, smax = 0;
    if (L.nlat) {
        qsort(L.lat, L.nlat, sizeof *L.lat, cmp_u64);
        qsort(L.svc, L.nsvc, sizeof *L.svc, cmp_u64);
        p50 = pct_ms(L.lat, L.nlat, 50);
        p90 = pct_ms(L.lat, L.nlat, 90);
        p99 = pct_ms(L.lat, L.nlat, 99);
        p999 = pct_ms(L.lat, L.nlat, 99.9);
        pmax = (double)L.lat[L.nlat - 1] / 1e6;
    }
    if (L.nsvc) {
        s50 = pct_ms(L.svc, L.nsvc, 50);
        s99 = pct_ms(L.svc, L.nsvc, 99);
        smax = (double)L.svc[L.nsvc - 1] / 1e6;
    }
    if (rate) {
        fprintf(
            stderr,
            "paced: %llu requests scheduled at %llu/s over %llu connections; %llu answered "
            "(%llu x 202, %llu other), %llu unanswered, %llu closed in flight, %llu connect "
            "errors\n"
            "paced: achieved %.0f answers/s\n"
            "paced: latency from schedule ms: p50 %.3f p90 %.3f p99 %.3f p99.9 %.3f max %.3f%s\n"
            "paced: service time ms:          p50 %.3f p99 %.3f max %.3f\n",
            (unsigned long long)L.total, (unsigned long long)rate, (unsigned long long)conns,
            (unsigned long long)st.answered, (unsigned long long)st.ok202,
            (unsigned long long)st.non202, (unsigned long long)unanswered,
            (unsigned long long)st.closed_in_flight, (unsigned long long)st.connect_err,
            wall_ns ? (double)st.answered * 1e9 / (double)wall_ns : 0.0, p50, p90, p99, p999, pmax,
            L.open_end ? " (unanswered included as lower bounds)" : "", s50, s99, smax);
        for (int s = 100; s < 600; s++)
            if (st.status[s] && s != 202)
                fprintf(stderr, "paced: status %d: %llu answers\n", s,
                        (unsigned long long)st.status[s]);
    }
    if (idle)
        fprintf(stderr,
                "paced: idle: %llu opened, %llu failed to open, %llu closed by the server while "
                "held, %llu answered /healthz after the hold, %llu did not\n",
                (unsigned long long)st.idle_opened, (unsigned long long)st.idle_failed,
                (unsigned long long)st.idle_closed, (unsigned long long)st.probe_ok,
                (unsigned long long)st.probe_failed);
    printf("RESULT scheduled=%llu rate=%llu secs=%.3f achieved_per_s=%.0f answered=%llu "
           "ok202=%llu non202=%llu "
           "unanswered=%llu waiting_at_end=%llu in_flight_at_end=%llu accepted=%llu "
           "duplicates=%llu closed_in_flight=%llu "
           "connect_err=%llu bad_answer=%llu p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f "
           "p999_ms=%.3f max_ms=%.3f svc_p50_ms=%.3f svc_p99_ms=%.3f idle=%llu "
           "idle_opened=%llu idle_failed=%llu idle_open_secs=%.2f idle_closed=%llu "
           "idle_probe_ok=%llu idle_probe_failed=%llu\n",
           (unsigned long long)L.total, (unsigned long long)rate, (double)wall_ns / 1e9,
           wall_ns ? (double)st.answered * 1e9 / (double)wall_ns : 0.0,
           (unsigned long long)st.answered, (unsigned long long)st.ok202,
           (unsigned long long)st.non202, (unsigned long long)unanswered,
           (unsigned long long)L.open_end, (unsigned long long)L.sent_open,
           (unsigned long long)st.accepted, (unsigned long long)st.duplicates,
           (unsigned long long)st.closed_in_flight, (unsigned long long)st.connect_err,
           (unsigned long long)st.bad_answer, p50, p90, p99, p999, pmax, s50, s99,
           (unsigned long long)idle, (unsigned long long)st.idle_opened,
           (unsigned long long)st.idle_failed, (double)idle_ready_ns / 1e9,
           (unsigned long long)st.idle_closed, (unsigned long long)st.probe_ok,
           (unsigned long long)st.probe_failed);

    /* Close everything (the process exit would too; this keeps valgrind and
     * ASan quiet when the client itself is checked). */
    for (size_t i = 0; i < n_idle; i++)
        if (idle_conns[i].st != C_NONE && idle_conns[i].st != C_DEAD)
            close(idle_conns[i].fd);
    for (uint64_t i = 0; rate && i < conns; i++)
        if (lc[i].st != C_DEAD)
            close(lc[i].fd);
    free(idle_conns);
    free(lc);
    free(L.lat);
    free(L.svc);
    free(L.ready);
    close(ep);
    return 0;
}
