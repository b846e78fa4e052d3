/*
 * serve_watch.c — watching the rule files (inotify through libuv): a change
 * to a .lua file under the rules directory asks for a reload
 * (serve_reload.c) once things have been quiet for half a second.
 *
 * Everything in this file runs on the loop thread.
 */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "serve_internal.h"

#define SERVE_RELOAD_QUIET_MS 500

static void serve_on_debounce(uv_timer_t *t)
{
    serve *s = t->data;
    if (s->stopping || !s->w)
        return;
    serve_reload_request(s, NULL);
}

static void serve_on_rules_changed(uv_fs_event_t *h, const char *filename, int events, int status)
{
    serve *s = h->data;
    /* Editors write temporary files beside the real one; only .lua files
     * count, and a burst of writes is one change. */
    size_t n = filename ? strlen(filename) : 0;
    if (status < 0 || s->stopping || (filename && (n < 4 || strcmp(filename + n - 4, ".lua") != 0)))
        return;
    uv_timer_start(&s->debounce, serve_on_debounce, SERVE_RELOAD_QUIET_MS, 0);
}

void serve_watch_dir(serve *s, const char *dir, int depth)
{
    uv_fs_event_t *h = obligo_calloc(1, sizeof *h);
    uv_fs_event_t **nw =
        h ? obligo_realloc(s->watches, sizeof(uv_fs_event_t *) * (size_t)(s->nwatches + 1)) : NULL;
    if (!nw) {
        obligo_free(h);
        return;
    }
    s->watches = nw;
    uv_fs_event_init(&s->loop, h);
    h->data = s;
    if (uv_fs_event_start(h, serve_on_rules_changed, dir, 0) != 0) {
        uv_close((uv_handle_t *)h, (uv_close_cb)obligo_free);
        return;
    }
    s->watches[s->nwatches++] = h;
    DIR *d = depth < 8 ? opendir(dir) : NULL;
    struct dirent *ent;
    while (d && (ent = readdir(d))) {
        if (ent->d_name[0] == '.')
            continue;
        char *p = obligo_asprintf("%s/%s", dir, ent->d_name);
        struct stat sb;
        if (p && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
            serve_watch_dir(s, p, depth + 1);
        obligo_free(p);
    }
    if (d)
        closedir(d);
}

void serve_watch_stop(serve *s)
{
    for (int i = 0; i < s->nwatches; i++)
        uv_close((uv_handle_t *)s->watches[i], (uv_close_cb)obligo_free);
    obligo_free(s->watches);
    s->watches = NULL;
    s->nwatches = 0;
    if (s->watching)
        uv_close((uv_handle_t *)&s->debounce, NULL);
    s->watching = 0;
}
