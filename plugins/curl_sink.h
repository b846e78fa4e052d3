/*
 * curl_sink.h — what the alert sinks built on libcurl (webhook, email)
 * share: the error message handed back to the host, and the start of init
 * (a host that can take an alert sink, and libcurl's global state).
 * Header-only, as regulation.h, so each plugin stays one shared object
 * built from its own folder against obligo/plugin.h alone.
 */
#ifndef OBLIGO_CURL_SINK_H
#define OBLIGO_CURL_SINK_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include <obligo/plugin.h>

/* Sets *error, when not set yet, to a message allocated with api->alloc
 * (the host frees it). */
__attribute__((format(printf, 3, 4), unused)) static void
curl_sink_error(const obligo_host_api *api, char **error, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (!error || *error)
        return;
    size_t n = strlen(buf) + 1;
    if ((*error = api->alloc(n)))
        memcpy(*error, buf, n);
}

/* The first step of a curl sink's init: the host's table has what an alert
 * sink needs, and curl_global_init ran (pair a 0 with curl_global_cleanup,
 * in fini or when init fails later: init and fini run on the main thread
 * when no other thread uses libcurl, and libcurl counts the calls). 0, or
 * OBLIGO_PLUGIN_ERROR with *error when the host can take one. */
__attribute__((unused)) static int curl_sink_begin(const obligo_host_api *api, const char *plugin,
                                                   char **error)
{
    if (!api || api->struct_size < offsetof(obligo_host_api, free) + sizeof api->free ||
        !api->alloc || !api->free)
        return OBLIGO_PLUGIN_ERROR; /* no way to hand back a message */
    if (OBLIGO_ABI_MAJOR_OF(api->abi_version) != OBLIGO_ABI_MAJOR ||
        !OBLIGO_HOST_HAS(api, register_alert_sink) || !api->register_alert_sink) {
        curl_sink_error(api, error, "%s: the host has no register_alert_sink", plugin);
        return OBLIGO_PLUGIN_ERROR;
    }
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        curl_sink_error(api, error, "%s: curl_global_init: %s", plugin, curl_easy_strerror(rc));
        return OBLIGO_PLUGIN_ERROR;
    }
    return 0;
}

/* The last step of a curl sink's init, once its configuration is read: a
 * handle in *curl (the sink's to clean up) and the sink registered. 0, or
 * OBLIGO_PLUGIN_ERROR with *error. */
__attribute__((unused)) static int curl_sink_finish(obligo_host *host, const obligo_host_api *api,
                                                    const obligo_alert_sink *sink, CURL **curl,
                                                    char **error)
{
    if (!(*curl = curl_easy_init())) {
        curl_sink_error(api, error, "%s: curl_easy_init failed", sink->name);
        return OBLIGO_PLUGIN_ERROR;
    }
    if (api->register_alert_sink(host, sink)) {
        curl_sink_error(api, error, "%s: registering the alert sink \"%s\" failed", sink->name,
                        sink->name);
        return OBLIGO_PLUGIN_ERROR;
    }
    return 0;
}

#endif
