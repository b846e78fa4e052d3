/*
 * stallwatch — how long the machine itself stops running programs.
 *
 *   stallwatch [--threshold-ms T]     runs until SIGINT or SIGTERM
 *
 * A benchmark's latency tail is only the server's fault if the machine was
 * running. This program sleeps 1 ms at a time under the real-time scheduler
 * (SCHED_FIFO, when permitted: then no program on this machine can keep it
 * from running) and counts each wake-up that comes more than T ms (default
 * 2) late: a stall of the whole machine, such as a virtual machine paused by
 * its host once it has used its share of CPU time. Without SCHED_FIFO a
 * late wake-up may also be a busy CPU here, and the output says so.
 *
 * Hosts that cap a virtual machine's CPU time do so per period (often
 * 100 ms), so their pauses end at the same point of every period. The
 * output gives the share of stalls that end in the busiest 5 ms slot of a
 * 100 ms cycle: near 100 % is that cap; spread out (near 5 %) is not.
 *
 * On exit it prints one line for scripts/bench-http:
 *   RESULT secs=S stalls=N stalled_ms=X max_ms=M periodic_pct=P fifo=0|1
 * Uses only the C library; CPU cost is about 1,000 wake-ups a second.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    double threshold = 0.002;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threshold-ms") == 0 && i + 1 < argc) {
            threshold = atof(argv[++i]) / 1000.0;
        } else {
            fprintf(stderr, "usage: stallwatch [--threshold-ms T]\n");
            return 2;
        }
    }
    if (threshold <= 0) {
        fprintf(stderr, "stallwatch: --threshold-ms must be positive\n");
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct sched_param sp = {.sched_priority = 1};
    int fifo = sched_setscheduler(0, SCHED_FIFO, &sp) == 0;
    if (!fifo)
        fprintf(stderr, "stallwatch: no SCHED_FIFO (%s): late wake-ups may be a busy CPU\n",
                strerror(errno));

    enum { SLOTS = 20 }; /* 5 ms slots of a 100 ms cycle */
    long slot[SLOTS] = {0};
    long stalls = 0;
    double stalled = 0, worst = 0;
    const double tick = 0.001;
    double start = now_s(), next = start + tick;
    while (!stop) {
        struct timespec ts = {.tv_sec = (time_t)next,
                              .tv_nsec = (long)((next - (double)(time_t)next) * 1e9)};
        if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            continue;
        double t = now_s(), late = t - next;
        if (late > threshold) {
            stalls++;
            stalled += late;
            if (late > worst)
                worst = late;
            /* where in a 100 ms cycle of the clock the stall ended */
            long ms = (long)(t * 1000.0);
            slot[(ms % 100) / 5]++;
        }
        next += tick;
        if (next < t) /* after a stall, keep ticking from now */
            next = t + tick;
    }

    long top = 0;
    for (int i = 0; i < SLOTS; i++)
        if (slot[i] > top)
            top = slot[i];
    printf("RESULT secs=%.1f stalls=%ld stalled_ms=%.0f max_ms=%.1f periodic_pct=%.0f fifo=%d\n",
           now_s() - start, stalls, stalled * 1000.0, worst * 1000.0,
           stalls ? 100.0 * (double)top / (double)stalls : 0.0, fifo);
    return 0;
}
