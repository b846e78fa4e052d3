/*
 * http_client.c — test HTTP client and server control (http_client.h).
 */
#define _GNU_SOURCE
#include "http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int client_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &len)) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static int client_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    return fd;
}

int client_request(int port, const char *method, const char *path, const char *content_type,
                   const char *body, size_t body_len, char **resp_body)
{
    return client_request_auth(port, method, path, content_type, body, body_len, NULL, resp_body);
}

int client_request_auth(int port, const char *method, const char *path, const char *content_type,
                        const char *body, size_t body_len, const char *token, char **resp_body)
{
    if (resp_body)
        *resp_body = NULL;
    int fd = client_connect(port);
    if (fd < 0)
        return -1;
    char head[2048], auth[512] = "";
    if (token)
        snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
    int n =
        snprintf(head, sizeof head,
                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
                 "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                 method, path, auth, content_type ? content_type : "application/json", body_len);
    if (write(fd, head, (size_t)n) != n ||
        (body_len && write(fd, body, body_len) != (ssize_t)body_len)) {
        close(fd);
        return -1;
    }
    size_t cap = 8192, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 15000) <= 0)
            break;
        ssize_t got = read(fd, buf + len, cap - len - 1);
        if (got <= 0)
            break;
        len += (size_t)got;
        if (len + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    close(fd);
    int status = -1;
    if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
        status = -1;
    char *sep = strstr(buf, "\r\n\r\n");
    if (resp_body && sep)
        *resp_body = strdup(sep + 4);
    free(buf);
    return status;
}

char *client_raw(int port, const char *raw, size_t len, size_t chunk, int timeout_ms)
{
    int fd = client_connect(port);
    if (fd < 0)
        return NULL;
    size_t off = 0;
    while (off < len) {
        size_t n = chunk && chunk < len - off ? chunk : len - off;
        if (write(fd, raw + off, n) != (ssize_t)n)
            break;
        off += n;
        if (chunk) {
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    size_t cap = 8192, got = 0;
    char *buf = malloc(cap);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0)
            break;
        ssize_t r = read(fd, buf + got, cap - got - 1);
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    buf[got] = '\0';
    close(fd);
    return buf;
}

int client_count(const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

pid_t client_start_server(const char *db, const char *rules, int port, const char *log)
{
    return client_start_server_args(db, rules, port, log, NULL);
}

pid_t client_start_server_args(const char *db, const char *rules, int port, const char *log,
                               char *const extra[])
{
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        char *argv[32] = {(char *)OBLIGO_BIN, "serve",       "--db",     (char *)db,
                          "--rules",          (char *)rules, "--listen", listen};
        int n = 8, clock_given = 0;
        for (int i = 0; extra && extra[i] && n < 29; i++) {
            clock_given |= strcmp(extra[i], "--clock-start") == 0;
            argv[n++] = extra[i];
        }
        if (!clock_given) { /* the same engine time on any date */
            argv[n++] = "--clock-start";
            argv[n++] = CLIENT_CLOCK_START;
        }
        argv[n] = NULL;
        execv(OBLIGO_BIN, argv);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        if (client_request(port, "GET", "/healthz", NULL, NULL, 0, NULL) == 200)
            return pid;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return -1;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

int client_stop_server(pid_t pid, int sig)
{
    int status = 0;
    kill(pid, sig);
    waitpid(pid, &status, 0);
    return status;
}
