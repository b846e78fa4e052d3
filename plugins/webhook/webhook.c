/*
 * webhook.c — the "webhook" alert sink: POSTs each alert to one URL, as a
 * CloudEvent signed the Standard Webhooks way.
 *
 * Configuration ("plugins": {"webhook": {...}}):
 *   url         string, required   where alerts go; must start with https://
 *                                  unless allow_http is true
 *   secret      string, required   the HMAC-SHA256 key: "whsec_" and base64
 *                                  (the Standard Webhooks form: the key is
 *                                  the decoded bytes), or any other text
 *                                  (the key is its bytes)
 *   source      string, default "urn:obligo"  the CloudEvents source
 *   timeout_ms  count, default 5000  connect and total timeout of one POST
 *   allow_http  bool, default false  allow http:// (tests against a loopback
 *                                  receiver; never in production)
 *
 * Each delivery is one POST of the alert as a CloudEvent in structured mode
 * (CloudEvents JSON format):
 *   {"specversion":"1.0", "id": <the alert's stable id>, "source": source,
 *    "type": "nl.obligo.alert.<kind>", "time": <the alert's at>,
 *    "subject": <its subject>, "datacontenttype": "application/json",
 *    "data": <the alert: DESIGN.md §2 {id, kind, severity, subject, at,
 *            message, event, ...}>}
 * with the headers of the Standard Webhooks specification
 *   Content-Type: application/cloudevents+json
 *   webhook-id: <the alert's id>         the same on every retry: deduplicate
 *   webhook-timestamp: <Unix seconds at this attempt>
 *   webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">
 * so a receiver can refuse a delivery replayed later (the timestamp is
 * signed) and one not from Obligo; and, for receivers of before,
 *   X-Obligo-Alert-Id: <the alert's id>
 *   X-Obligo-Signature: sha256=<hex HMAC-SHA256 of the exact body>
 *   User-Agent: obligo-webhook/1.0
 * The sink's argument ("webhook:ARGUMENT" in "sinks") is not used.
 *
 * Results: a 2xx answer is delivered (0). A connection error, a timeout, 408,
 * 429 or 5xx is OBLIGO_PLUGIN_RETRY: the host's durable outbox calls again
 * later with exponential backoff, so this file never sleeps or loops. Any
 * other answer (4xx, and 3xx: redirects are never followed, so a webhook can
 * not be bounced to another host) is OBLIGO_PLUGIN_ERROR, logged with its
 * status.
 *
 * Threads: deliver is called by one host thread at a time (the outbox
 * thread, see plugin.h), so the one CURL easy handle in the state is reused
 * without a lock; curl_easy_reset before each use keeps its connection and
 * DNS caches. curl_global_init runs in init and curl_global_cleanup in fini:
 * both run on the host's main thread before and after the engine runs, when
 * no other thread uses libcurl, and libcurl counts the calls, so pairing them
 * per plugin instance is safe; the cleanup releases libcurl's global state so
 * that unloading the plugin leaves nothing behind (LeakSanitizer stays
 * clean).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <obligo/plugin.h>

#include "../curl_sink.h"

#define WEBHOOK_USER_AGENT "obligo-webhook/1.0"
#define WEBHOOK_DEFAULT_TIMEOUT_MS 5000
#define WEBHOOK_MAX_TIMEOUT_MS 600000 /* ten minutes: the outbox thread waits */

typedef struct webhook {
    obligo_host *host;
    const obligo_host_api *api;
    char *url;
    char *source;          /* the CloudEvents source of every delivery */
    unsigned char *secret; /* the HMAC key */
    size_t secret_len;
    long timeout_ms;
    int allow_http;
    CURL *curl;
    char curl_error[CURL_ERROR_SIZE];
} webhook;

/* ---- helpers ------------------------------------------------------------- */

static char *dup_with(const obligo_host_api *api, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = api->alloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

__attribute__((format(printf, 3, 4))) static void log_line(const webhook *w, int level,
                                                           const char *fmt, ...)
{
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (w->api->log)
        w->api->log(w->host, level, buf);
}

static void free_webhook(webhook *w)
{
    if (!w)
        return;
    if (w->curl)
        curl_easy_cleanup(w->curl);
    if (w->secret) {
        OPENSSL_cleanse(w->secret, w->secret_len);
        w->api->free(w->secret);
    }
    w->api->free(w->url);
    w->api->free(w->source);
    w->api->free(w);
}

/* 1 when s starts with the scheme prefix p (schemes are case-insensitive). */
static int has_scheme(const char *s, const char *p)
{
    return strncasecmp(s, p, strlen(p)) == 0;
}

/* A header value must not be able to end its header line. */
static int header_safe(const char *s)
{
    if (!*s)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

static size_t discard_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    (void)data;
    (void)userdata;
    return size * nmemb;
}

/* ---- deliver ------------------------------------------------------------- */

/* The alert as a CloudEvent in structured mode (see the top); NULL when
 * alert_json is not a JSON object or memory ran out. Caller frees with
 * cJSON_free. */
static char *cloudevent(const webhook *w, const char *alert_id, const char *alert_json)
{
    cJSON *alert = cJSON_Parse(alert_json);
    if (!cJSON_IsObject(alert)) {
        cJSON_Delete(alert);
        return NULL;
    }
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(alert, "kind"));
    const char *at = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(alert, "at"));
    const char *subject = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(alert, "subject"));
    size_t tlen = sizeof "nl.obligo.alert." + (kind ? strlen(kind) : 0);
    char *type = malloc(tlen);
    cJSON *ce = cJSON_CreateObject();
    char *text = NULL;
    if (type && ce) {
        snprintf(type, tlen, "nl.obligo.alert%s%s", kind && *kind ? "." : "", kind ? kind : "");
        if (cJSON_AddStringToObject(ce, "specversion", "1.0") &&
            cJSON_AddStringToObject(ce, "id", alert_id) &&
            cJSON_AddStringToObject(ce, "source", w->source) &&
            cJSON_AddStringToObject(ce, "type", type) &&
            (!at || cJSON_AddStringToObject(ce, "time", at)) &&
            (!subject || !*subject || cJSON_AddStringToObject(ce, "subject", subject)) &&
            cJSON_AddStringToObject(ce, "datacontenttype", "application/json") &&
            cJSON_AddItemToObject(ce, "data", alert)) {
            alert = NULL; /* ce's now */
            text = cJSON_PrintUnformatted(ce);
        }
    }
    free(type);
    cJSON_Delete(alert);
    cJSON_Delete(ce);
    return text;
}

/* "v1," and the base64 HMAC-SHA256 of "id.timestamp.body" (Standard
 * Webhooks), into out (at least 3 + 44 + 1 bytes). 0, or -1. */
static int standard_signature(const webhook *w, const char *id, const char *timestamp,
                              const char *body, size_t body_len, char *out)
{
    size_t prefix = strlen(id) + 1 + strlen(timestamp) + 1, n = prefix + body_len;
    char *signed_content = malloc(n + 1);
    if (!signed_content)
        return -1;
    snprintf(signed_content, prefix + 1, "%s.%s.", id, timestamp);
    memcpy(signed_content + prefix, body, body_len);
    signed_content[n] = '\0';
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    int ok = HMAC(EVP_sha256(), w->secret, (int)w->secret_len, (unsigned char *)signed_content, n,
                  mac, &mac_len) &&
             mac_len == 32;
    free(signed_content);
    if (!ok)
        return -1;
    unsigned char b64[45]; /* 32 bytes are 44 base64 characters, and a NUL */
    EVP_EncodeBlock(b64, mac, (int)mac_len);
    snprintf(out, 3 + 44 + 1, "v1,%s", (const char *)b64);
    return 0;
}

static int deliver(void *state, const char *argument, const char *alert_id, const char *alert_json)
{
    webhook *w = state;
    (void)argument;
    if (!w || !w->curl || !alert_id || !alert_json)
        return OBLIGO_PLUGIN_ERROR;
    if (!header_safe(alert_id)) {
        log_line(w, OBLIGO_LOG_ERROR, "alert id is empty or holds control characters; not sent");
        return OBLIGO_PLUGIN_ERROR;
    }
    char *body = cloudevent(w, alert_id, alert_json);
    if (!body) {
        log_line(w, OBLIGO_LOG_ERROR, "alert %s: not a JSON object, or out of memory; not sent",
                 alert_id);
        return OBLIGO_PLUGIN_ERROR;
    }
    size_t body_len = strlen(body);

    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    char timestamp[24];
    snprintf(timestamp, sizeof timestamp, "%lld", (long long)time(NULL));
    char standard[sizeof "webhook-signature: v1," + 64];
    memcpy(standard, "webhook-signature: ", sizeof "webhook-signature: ");
    if (!HMAC(EVP_sha256(), w->secret, (int)w->secret_len, (const unsigned char *)body, body_len,
              mac, &mac_len) ||
        standard_signature(w, alert_id, timestamp, body, body_len,
                           standard + sizeof "webhook-signature: " - 1)) {
        log_line(w, OBLIGO_LOG_ERROR, "alert %s: HMAC-SHA256 failed", alert_id);
        cJSON_free(body);
        return OBLIGO_PLUGIN_RETRY;
    }
    char signature[sizeof "X-Obligo-Signature: sha256=" + (size_t)2 * EVP_MAX_MD_SIZE];
    int off = snprintf(signature, sizeof signature, "X-Obligo-Signature: sha256=");
    for (unsigned int i = 0; i < mac_len; i++)
        off += snprintf(signature + off, sizeof signature - (size_t)off, "%02x", mac[i]);

    size_t id_len = strlen(alert_id) + sizeof "X-Obligo-Alert-Id: ";
    char *id_header = malloc(id_len), *wid_header = malloc(id_len);
    char ts_header[sizeof "webhook-timestamp: " + sizeof timestamp];
    snprintf(ts_header, sizeof ts_header, "webhook-timestamp: %s", timestamp);
    struct curl_slist *headers = NULL, *h;
    int built = id_header && wid_header;
    if (built) {
        snprintf(id_header, id_len, "X-Obligo-Alert-Id: %s", alert_id);
        snprintf(wid_header, id_len, "webhook-id: %s", alert_id);
        const char *lines[] = {"Content-Type: application/cloudevents+json",
                               wid_header,
                               ts_header,
                               standard,
                               id_header,
                               signature,
                               "Expect:" /* no 100-continue round trip */};
        for (size_t i = 0; built && i < sizeof lines / sizeof lines[0]; i++) {
            h = curl_slist_append(headers, lines[i]);
            if (h)
                headers = h;
            else
                built = 0;
        }
    }
    free(id_header); /* curl_slist_append copied them */
    free(wid_header);
    if (!built) {
        curl_slist_free_all(headers);
        cJSON_free(body);
        return OBLIGO_PLUGIN_RETRY;
    }

    CURL *c = w->curl;
    curl_easy_reset(c);
    w->curl_error[0] = '\0';
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(c, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_ERRORBUFFER, w->curl_error);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L); /* never follow a redirect, to any host */
    SET(CURLOPT_CONNECTTIMEOUT_MS, w->timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, w->timeout_ms);
    SET(CURLOPT_URL, w->url);
    SET(CURLOPT_USERAGENT, WEBHOOK_USER_AGENT);
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_POSTFIELDS, body); /* borrowed for the duration of perform */
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    SET(CURLOPT_WRITEFUNCTION, discard_body);
#undef SET
    if (rc != CURLE_OK) {
        curl_slist_free_all(headers);
        cJSON_free(body);
        log_line(w, OBLIGO_LOG_ERROR, "alert %s: cannot set up the request: %s", alert_id,
                 curl_easy_strerror(rc));
        return OBLIGO_PLUGIN_ERROR;
    }

    rc = curl_easy_perform(c);
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    /* Nothing borrowed may stay behind in the handle between calls. */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)NULL);
    curl_slist_free_all(headers);
    cJSON_free(body);

    if (rc != CURLE_OK) {
        const char *why = w->curl_error[0] ? w->curl_error : curl_easy_strerror(rc);
        switch (rc) {
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_NOT_BUILT_IN:
            log_line(w, OBLIGO_LOG_ERROR, "alert %s: %s", alert_id, why);
            return OBLIGO_PLUGIN_ERROR;
        default: /* connection refused, DNS, TLS, timeout, reset: try again later */
            log_line(w, OBLIGO_LOG_WARNING, "alert %s: %s; will retry", alert_id, why);
            return OBLIGO_PLUGIN_RETRY;
        }
    }
    if (status >= 200 && status <= 299)
        return OBLIGO_PLUGIN_OK;
    if (status == 408 || status == 429 || (status >= 500 && status <= 599)) {
        log_line(w, OBLIGO_LOG_WARNING, "alert %s: the receiver answered %ld; will retry", alert_id,
                 status);
        return OBLIGO_PLUGIN_RETRY;
    }
    if (status >= 300 && status <= 399)
        log_line(w, OBLIGO_LOG_ERROR,
                 "alert %s: the receiver answered %ld (redirects are not followed)", alert_id,
                 status);
    else
        log_line(w, OBLIGO_LOG_ERROR, "alert %s: the receiver answered %ld", alert_id, status);
    return OBLIGO_PLUGIN_ERROR;
}

static const obligo_alert_sink webhook_sink = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_alert_sink),
    .name = "webhook",
    .deliver = deliver,
};

/* ---- init and fini ------------------------------------------------------- */

/* The HMAC key of secret: the bytes that base64 after "whsec_" decodes to
 * (the Standard Webhooks form, as its libraries take it), or else the
 * secret's own bytes. 0, or OBLIGO_PLUGIN_ERROR with *error. */
static int read_secret(webhook *w, const char *secret, char **error)
{
    static const char prefix[] = "whsec_";
    size_t n = strlen(secret);
    if (strncmp(secret, prefix, sizeof prefix - 1) != 0) {
        w->secret = (unsigned char *)dup_with(w->api, secret);
        w->secret_len = n;
        return w->secret ? 0 : OBLIGO_PLUGIN_ERROR;
    }
    const char *b64 = secret + sizeof prefix - 1;
    size_t bl = n - (sizeof prefix - 1);
    w->secret = w->api->alloc(bl / 4 * 3 + 3);
    if (!w->secret)
        return OBLIGO_PLUGIN_ERROR;
    int got =
        bl && bl % 4 == 0 ? EVP_DecodeBlock(w->secret, (const unsigned char *)b64, (int)bl) : -1;
    if (got < 0) {
        curl_sink_error(
            w->api, error,
            "webhook.secret: after whsec_ must come base64 (a length that is a multiple "
            "of 4, characters A-Z a-z 0-9 + / and = padding)");
        return OBLIGO_PLUGIN_ERROR;
    }
    /* EVP_DecodeBlock counts the padding as bytes */
    size_t len = (size_t)got;
    if (bl >= 1 && b64[bl - 1] == '=')
        len--;
    if (bl >= 2 && b64[bl - 2] == '=')
        len--;
    w->secret_len = len;
    if (!len) {
        curl_sink_error(w->api, error, "webhook.secret: the key after whsec_ is empty");
        return OBLIGO_PLUGIN_ERROR;
    }
    return 0;
}

/* Reads the configuration into w; 0 or OBLIGO_PLUGIN_ERROR with *error. The
 * host has checked it against the schema already; this checks again what
 * the schema cannot say. */
static int read_config(webhook *w, const char *config_json, char **error)
{
    const obligo_host_api *api = w->api;
    cJSON *cfg = cJSON_Parse(config_json ? config_json : "");
    if (!cJSON_IsObject(cfg)) {
        cJSON_Delete(cfg);
        curl_sink_error(api, error, "webhook: the configuration is not a JSON object");
        return OBLIGO_PLUGIN_ERROR;
    }
    int rc = OBLIGO_PLUGIN_ERROR;
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(cfg, "url");
    const cJSON *secret = cJSON_GetObjectItemCaseSensitive(cfg, "secret");
    const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(cfg, "timeout_ms");
    const cJSON *allow_http = cJSON_GetObjectItemCaseSensitive(cfg, "allow_http");
    const cJSON *source = cJSON_GetObjectItemCaseSensitive(cfg, "source");

    if (allow_http && !cJSON_IsNull(allow_http)) {
        if (!cJSON_IsBool(allow_http)) {
            curl_sink_error(api, error, "webhook.allow_http: must be true or false");
            goto out;
        }
        w->allow_http = cJSON_IsTrue(allow_http);
    }
    w->timeout_ms = WEBHOOK_DEFAULT_TIMEOUT_MS;
    if (timeout && !cJSON_IsNull(timeout)) {
        double t = cJSON_IsNumber(timeout) ? timeout->valuedouble : -1;
        if (!(t >= 1 && t <= WEBHOOK_MAX_TIMEOUT_MS) || t != (double)(long)t) {
            curl_sink_error(api, error, "webhook.timeout_ms: must be a whole number from 1 to %d",
                            WEBHOOK_MAX_TIMEOUT_MS);
            goto out;
        }
        w->timeout_ms = (long)t;
    }
    if (!cJSON_IsString(url) || !url->valuestring[0]) {
        curl_sink_error(api, error, "webhook.url: required (a string)");
        goto out;
    }
    if (!has_scheme(url->valuestring, "https://") &&
        !(w->allow_http && has_scheme(url->valuestring, "http://"))) {
        curl_sink_error(api, error,
                        w->allow_http ? "webhook.url: must start with https:// or http://"
                                      : "webhook.url: must start with https:// (http:// only with "
                                        "allow_http: true)");
        goto out;
    }
    if (!header_safe(url->valuestring)) {
        curl_sink_error(api, error, "webhook.url: holds control characters");
        goto out;
    }
    if (!cJSON_IsString(secret) || !secret->valuestring[0]) {
        curl_sink_error(api, error, "webhook.secret: required (a non-empty string)");
        goto out;
    }
    if (source && !cJSON_IsNull(source) &&
        (!cJSON_IsString(source) || !source->valuestring[0] || !header_safe(source->valuestring))) {
        curl_sink_error(api, error, "webhook.source: must be a non-empty string (a URI reference)");
        goto out;
    }
    w->url = dup_with(api, url->valuestring);
    w->source =
        dup_with(api, source && cJSON_IsString(source) ? source->valuestring : "urn:obligo");
    if (!w->url || !w->source || read_secret(w, secret->valuestring, error)) {
        curl_sink_error(api, error, "webhook: out of memory");
        goto out;
    }
    rc = 0;
out:
    if (cJSON_IsString(secret))
        OPENSSL_cleanse(secret->valuestring, strlen(secret->valuestring));
    cJSON_Delete(cfg);
    return rc;
}

static int webhook_init(obligo_host *host, const obligo_host_api *api, const char *config_json,
                        void **state, char **error)
{
    *state = NULL;
    if (curl_sink_begin(api, "webhook", error))
        return OBLIGO_PLUGIN_ERROR;
    webhook *w = api->alloc(sizeof *w);
    if (!w)
        curl_sink_error(api, error, "webhook: out of memory");
    else {
        memset(w, 0, sizeof *w);
        w->host = host;
        w->api = api;
        if (read_config(w, config_json, error) == 0 &&
            curl_sink_finish(host, api, &webhook_sink, &w->curl, error) == 0) {
            *state = w;
            return OBLIGO_PLUGIN_OK;
        }
    }
    free_webhook(w);
    curl_global_cleanup();
    return OBLIGO_PLUGIN_ERROR;
}

static void webhook_fini(void *state)
{
    webhook *w = state;
    if (!w)
        return;
    free_webhook(w);
    curl_global_cleanup(); /* pairs with the curl_global_init of a successful init */
}

/* ---- the description ----------------------------------------------------- */

static const obligo_field config_fields[] = {
    {.name = "url", .kind = OBLIGO_FIELD_STRING, .required = 1},
    {.name = "secret", .kind = OBLIGO_FIELD_STRING, .required = 1},
    {.name = "timeout_ms", .kind = OBLIGO_FIELD_COUNT, .required = 0},
    {.name = "allow_http", .kind = OBLIGO_FIELD_BOOL, .required = 0},
    {.name = "source", .kind = OBLIGO_FIELD_STRING, .required = 0},
    {.name = NULL},
};

static const obligo_schema config_schema = {.fields = config_fields};

static const obligo_plugin webhook_plugin = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_plugin),
    .name = "webhook",
    .version = "1.0.0",
    .description = "alert sink: each alert as a CloudEvent, HTTPS POST signed per Standard "
                   "Webhooks (HMAC-SHA256)",
    .config_schema = &config_schema,
    .init = webhook_init,
    .fini = webhook_fini,
};

OBLIGO_PLUGIN_EXPORT const obligo_plugin *obligo_plugin_entry(void)
{
    return &webhook_plugin;
}
