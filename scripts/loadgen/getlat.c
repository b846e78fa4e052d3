/* getlat.c — per-request latency of GETs, for scripts/bench-console.
 *
 * For each PATH given, on one keep-alive connection to 127.0.0.1:PORT:
 * --warmup W requests that are not counted (the first touches of the
 * database's pages), then --count N requests one after the other, each
 * timed from the first byte sent to the last byte of the answer read
 * (CLOCK_MONOTONIC). One request in flight at a time, as one console page
 * asks: this measures what one officer waits, not the server's throughput.
 * Every answer must be 200 with a Content-Length body (the server's
 * answers are); anything else is counted as a failure and reported.
 *
 * Output, one line per path on stdout:
 *   RESULT path=PATH n=N fail=F bytes=B p50_ms=… p95_ms=… p99_ms=… max_ms=…
 * (bytes: the size of the last answer's body). Exit status 0 when every
 * request was answered 200, 1 when any failed, 2 on bad usage or when the
 * server cannot be reached.
 *
 * Safety: it only ever connects to 127.0.0.1 (the address is not an
 * option), and the work is bounded by the count and the paths given.
 *
 * Build: cc -O2 -Wall -Wextra -Werror -o getlat getlat.c */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {.tv_sec = 30};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The answer being read: its head and how much of the body is still due. */
typedef struct answer {
    char *buf;
    size_t len, cap;
} answer;

/* Sends one GET and reads its whole answer. Returns the HTTP status, or
 * -1 when the connection failed; *body gets the body's size. */
static int get(int fd, const char *path, answer *a, size_t *body)
{
    char req[4096];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (n < 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != n)
        return -1;
    a->len = 0;
    size_t head = 0, want = 0;
    int status = -1;
    for (;;) {
        if (a->cap - a->len < 65536) {
            a->cap = a->cap ? 2 * a->cap : 1 << 20;
            char *p = realloc(a->buf, a->cap);
            if (!p)
                return -1;
            a->buf = p;
        }
        ssize_t r = read(fd, a->buf + a->len, a->cap - a->len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        a->len += (size_t)r;
        a->buf[a->len] = '\0';
        if (!head) {
            char *end = strstr(a->buf, "\r\n\r\n");
            if (!end)
                continue;
            head = (size_t)(end - a->buf) + 4;
            if (sscanf(a->buf, "HTTP/1.1 %d", &status) != 1)
                return -1;
            const char *cl = strcasestr(a->buf, "\r\ncontent-length:");
            if (!cl || cl > end)
                return -1;
            want = head + strtoull(cl + 17, NULL, 10);
        }
        if (a->len >= want) {
            *body = want - head;
            return status;
        }
    }
}

static int cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* The q-quantile of sorted v[0..n) by the nearest-rank method. */
static double quantile(const double *v, int n, double q)
{
    int rank = (int)(q * n + 0.999999);
    if (rank < 1)
        rank = 1;
    return v[(rank > n ? n : rank) - 1];
}

static void usage(void)
{
    fprintf(stderr, "usage: getlat --port P [--count N] [--warmup W] PATH...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int port = 0, count = 200, warmup = 20, first = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
            count = atoi(argv[++i]);
        else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc)
            warmup = atoi(argv[++i]);
        else if (argv[i][0] == '/') {
            first = i;
            break;
        } else
            usage();
    }
    if (port <= 0 || port > 65535 || count < 1 || count > 1000000 || warmup < 0 || first >= argc)
        usage();
    double *lat = malloc((size_t)count * sizeof *lat);
    answer a = {0};
    int failed_any = 0;
    if (!lat)
        return 2;
    for (int p = first; p < argc; p++) {
        int fd = dial(port);
        if (fd < 0) {
            fprintf(stderr, "getlat: cannot connect to 127.0.0.1:%d: %s\n", port, strerror(errno));
            return 2;
        }
        int fail = 0, n = 0;
        size_t bytes = 0;
        for (int i = 0; i < warmup + count; i++) {
            double t0 = now_ms();
            int st = get(fd, argv[p], &a, &bytes);
            double t1 = now_ms();
            if (st < 0) {
                close(fd);
                if ((fd = dial(port)) < 0)
                    return 2;
            }
            if (st != 200) {
                fail++;
                if (fail == 1)
                    fprintf(stderr, "getlat: %s answered %d: %.200s\n", argv[p], st,
                            a.buf ? a.buf : "");
                continue;
            }
            if (i >= warmup)
                lat[n++] = t1 - t0;
        }
        close(fd);
        failed_any |= fail > 0;
        qsort(lat, (size_t)n, sizeof *lat, cmp);
        if (n == 0) {
            printf("RESULT path=%s n=0 fail=%d\n", argv[p], fail);
            continue;
        }
        printf("RESULT path=%s n=%d fail=%d bytes=%zu p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f "
               "max_ms=%.2f\n",
               argv[p], n, fail, bytes, quantile(lat, n, 0.50), quantile(lat, n, 0.95),
               quantile(lat, n, 0.99), lat[n - 1]);
        fflush(stdout);
    }
    free(lat);
    free(a.buf);
    return failed_any ? 1 : 0;
}
