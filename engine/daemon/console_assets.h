/*
 * console_assets.h — the web console's files (engine/console/), embedded
 * into the binary at build time by cmake/embed_console.cmake, so the
 * binary serves the console of its own version wherever it runs and
 * nothing is read from disk or the internet at run time. The same files
 * are installed as share/obligo/console/ for reading.
 */
#ifndef OBLIGO_CONSOLE_ASSETS_H
#define OBLIGO_CONSOLE_ASSETS_H

#include <stddef.h>

typedef struct console_asset {
    const char *name;          /* "index.html", "app.js", ... */
    const char *type;          /* the Content-Type */
    const unsigned char *data; /* len bytes (and a NUL) */
    size_t len;
    const char *etag; /* a strong ETag, quotes included */
} console_asset;

extern const console_asset console_assets[];
extern const int console_nassets;

#endif
