/*
 * framecost.c — what a WAL frame costs to write on this machine, as SQLite
 * writes it (two pwrite calls: the 24-byte frame header, then the page)
 * against the same bytes copied into one buffer and written with one call.
 * The difference is the price of a system call here, which on a virtual
 * machine can be several microseconds.
 *
 *   cc -O2 -o framecost scripts/loadgen/framecost.c
 *   ./framecost [FILE]      (default: ./framecost.tmp, removed at the end)
 *
 * Each round writes 20 frames of 16 KiB pages (the size of a small group
 * commit of `obligo serve`) at the start of the file, without syncing, so
 * only the system calls and the copy into the page cache are measured.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { PAGE = 16384, HEAD = 24, FRAMES = 20, ROUNDS = 2000, WARMUP = 200 };

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int split_round(int fd, const char *page)
{
    for (int f = 0; f < FRAMES; f++) {
        off_t at = (off_t)f * (HEAD + PAGE);
        if (pwrite(fd, page, HEAD, at) != HEAD || pwrite(fd, page, PAGE, at + HEAD) != PAGE)
            return -1;
    }
    return 0;
}

static int joined_round(int fd, const char *page, char *all)
{
    for (int f = 0; f < FRAMES; f++) {
        memcpy(all + (size_t)f * (HEAD + PAGE), page, HEAD);
        memcpy(all + (size_t)f * (HEAD + PAGE) + HEAD, page, PAGE);
    }
    size_t n = (size_t)FRAMES * (HEAD + PAGE);
    return pwrite(fd, all, n, 0) == (ssize_t)n ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "framecost.tmp";
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    char *page = malloc(PAGE), *all = malloc((size_t)FRAMES * (HEAD + PAGE));
    if (fd < 0 || !page || !all) {
        perror(path);
        return 1;
    }
    memset(page, 'x', PAGE);
    int rc = 0;
    for (int r = 0; r < WARMUP && !rc; r++)
        rc = split_round(fd, page);
    double t0 = now_us();
    for (int r = 0; r < ROUNDS && !rc; r++)
        rc = split_round(fd, page);
    double t1 = now_us();
    for (int r = 0; r < ROUNDS && !rc; r++)
        rc = joined_round(fd, page, all);
    double t2 = now_us();
    if (rc)
        perror("pwrite");
    else
        printf("per 16 KiB frame: two pwrite calls %.2f us, copied and written at once %.2f us\n",
               (t1 - t0) / ROUNDS / FRAMES, (t2 - t1) / ROUNDS / FRAMES);
    close(fd);
    unlink(path);
    free(page);
    free(all);
    return rc ? 1 : 0;
}
