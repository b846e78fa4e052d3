/*
 * cmd_serve.c — `obligo serve`: the command line of the daemon. Parses the
 * options, starts engine time at --clock-start (a test aid), opens the
 * engine and refuses a listen address off this machine unless
 * --allow-insecure-listen says a TLS proxy is in front; then
 * serve_run (engine/daemon/serve.h) runs the daemon until it is stopped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"
#include "clock.h"
#include "engine.h"
#include "error.h"
#include "serve.h"

static int serve_split_listen(const char *listen, char *host, size_t n, int *port)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || (size_t)(colon - listen) >= n)
        return OBLIGO_EINVAL;
    const char *h = listen;
    size_t hl = (size_t)(colon - listen);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || p < 0 || p > 65535)
        return OBLIGO_EINVAL;
    *port = (int)p;
    return 0;
}

static int serve_is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
           strcmp(host, "localhost") == 0;
}

static const char serve_usage[] =
    "usage: obligo serve [--config F] [--db F] [--rules DIR] [--listen ADDR:PORT]\n"
    "                    [--allow-insecure-listen] [--clock-start T]\n"
    "Runs the daemon: POST /v1/events, GET /v1/obligations, /v1/alerts,\n"
    "/v1/registers/NAME, /v1/events/SOURCE/ID, /metrics, /healthz, POST /v1/rules/reload;\n"
    "fires deadlines. Defaults: --db var/obligo.db, --rules rules, --listen 127.0.0.1:8787.\n"
    "A listen address off this machine needs TLS in front (see the README) and\n"
    "--allow-insecure-listen to acknowledge that Obligo itself speaks plain HTTP.\n"
    "--clock-start T (a test aid): engine time starts at T and runs from there.\n";

int cli_serve(int argc, char **argv)
{
    cli_opts o;
    int prc = cli_parse(argc, argv, &o, serve_usage);
    if (prc)
        return prc > 0 ? 0 : 2;
    if (o.clock_start) {
        obligo_time start;
        if (clock_parse_rfc3339(o.clock_start, &start)) {
            fprintf(stderr,
                    "obligo serve: --clock-start '%s' is not an RFC 3339 time with offset\n",
                    o.clock_start);
            return 2;
        }
        clock_start_at(start);
    }
    config cfg;
    engine e;
    if (cli_open(&o, &cfg, &e, 0))
        return 2;
    if (o.allow_insecure)
        cfg.allow_insecure_listen = 1;

    char host[128];
    int port, rc = 2;
    if (serve_split_listen(cfg.listen, host, sizeof host, &port)) {
        fprintf(stderr, "obligo serve: --listen '%s' is not ADDR:PORT\n", cfg.listen);
        goto out;
    }
    if (!serve_is_loopback(host) && !cfg.allow_insecure_listen) {
        fprintf(stderr,
                "obligo serve: refusing to listen on %s without TLS: health data would cross "
                "the network in clear text. Put a TLS proxy in front (README: \"TLS\") and "
                "listen on 127.0.0.1, or pass --allow-insecure-listen if the proxy is on another "
                "interface.\n",
                cfg.listen);
        goto out;
    }
    rc = serve_run(&cfg, &e, host, port) ? 2 : 0;
out:
    engine_deliver(&e);
    engine_close(&e);
    config_free(&cfg);
    return rc;
}
