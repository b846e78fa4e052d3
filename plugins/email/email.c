/*
 * email.c — the "email" alert sink: each alert as one e-mail over SMTP, to
 * a named group of recipients.
 *
 * Configuration ("plugins": {"email": {...}}):
 *   url           string, required  smtp://HOST[:PORT] (STARTTLS, required
 *                                   unless allow_plain) or smtps://HOST[:PORT]
 *                                   (TLS from the first byte)
 *   from          string, required  the sender's address (envelope and From)
 *   recipients    object, required  named groups of addresses:
 *                                   {"fg": ["fg@praktijk.nl", ...], ...}
 *   username      string            AUTH (LOGIN, PLAIN, ... as the server
 *                                   offers) with password or password_file
 *   password      string
 *   password_file string            a file holding the password (a trailing
 *                                   newline is not part of it)
 *   ca_file       string            the CA certificates to trust instead of
 *                                   the system's (a test server's own CA)
 *   timeout_ms    count, default 30000  connect and total timeout of one mail
 *   allow_plain   bool, default false  smtp:// without STARTTLS (a loopback
 *                                   test server; never in production)
 *   public_url    string            the console's address; the mail links to
 *                                   <public_url>/console/#signalen
 *
 * The sink's argument names the group: "email:fg" in "sinks" mails group fg,
 * and "routes" ({"email:fg": {"kinds": [...], "min_severity": ...}}) says
 * which alerts it gets. A group that is empty or holds a bad address is an
 * error at init; a sink naming a group that is not configured is refused at
 * start-up through check_argument (ABI 1.1), and by deliver as a permanent
 * failure on a host that does not call it.
 *
 * The message itself (headers, MIME, Dutch text) is message.c's.
 *
 * Results: the server's 2xx is delivered (0). A connection failure, a
 * timeout, a TLS failure or a 4xx answer (421, 450, 451, 452: "try again
 * later") is OBLIGO_PLUGIN_RETRY: the host's outbox calls again later with
 * backoff. A 5xx answer (550, 553, 554, 535 authentication failed) is
 * OBLIGO_PLUGIN_ERROR, logged with the server's reply.
 *
 * Threads: as the webhook (webhook.c): deliver runs on the one outbox
 * thread, so the CURL handle is reused without a lock; curl_global_init and
 * curl_global_cleanup pair per instance in init and fini.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>

#include <obligo/plugin.h>

#include "../curl_sink.h"
#include "message.h"

#define EMAIL_DEFAULT_TIMEOUT_MS 30000
#define EMAIL_MAX_TIMEOUT_MS 600000 /* ten minutes: the outbox thread waits */
#define EMAIL_MAX_GROUP 64          /* addresses in one group */
#define EMAIL_REPLY_LEN 256         /* the server's last reply kept for the log */

typedef struct email_group {
    char *name;
    char **to;
    int nto;
} email_group;

typedef struct email {
    obligo_host *host;
    const obligo_host_api *api;
    char *url, *from, *username, *password, *ca_file, *public_url;
    long timeout_ms;
    int plain; /* smtp:// without STARTTLS */
    email_group *groups;
    int ngroups;
    CURL *curl;
    char curl_error[CURL_ERROR_SIZE];
    char reply[EMAIL_REPLY_LEN]; /* the server's last refusal */
} email;

/* The message of one deliver, read by libcurl in pieces. */
typedef struct upload {
    const char *text;
    size_t len, off;
} upload;

/* ---- helpers ------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static void log_line(const email *m, int level,
                                                           const char *fmt, ...)
{
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (m->api->log)
        m->api->log(m->host, level, buf);
}

static void free_secret(char *s)
{
    if (s)
        OPENSSL_cleanse(s, strlen(s));
    free(s);
}

static void free_email(email *m)
{
    if (!m)
        return;
    if (m->curl)
        curl_easy_cleanup(m->curl);
    for (int i = 0; i < m->ngroups; i++) {
        for (int j = 0; j < m->groups[i].nto; j++)
            free(m->groups[i].to[j]);
        free(m->groups[i].to);
        free(m->groups[i].name);
    }
    free(m->groups);
    free(m->url);
    free(m->from);
    free(m->username);
    free_secret(m->password);
    free(m->ca_file);
    free(m->public_url);
    m->api->free(m);
}

static const email_group *find_group(const email *m, const char *name)
{
    for (int i = 0; i < m->ngroups; i++)
        if (strcmp(m->groups[i].name, name) == 0)
            return &m->groups[i];
    return NULL;
}

/* ---- deliver ------------------------------------------------------------- */

static size_t read_message(char *out, size_t size, size_t nmemb, void *userdata)
{
    upload *u = userdata;
    size_t n = size * nmemb, left = u->len - u->off;
    if (n > left)
        n = left;
    memcpy(out, u->text + u->off, n);
    u->off += n;
    return n;
}

/* Keeps the server's last 4xx or 5xx reply line (to the failing command)
 * for the log: libcurl's own error text names the command, not the reply. */
static int keep_reply(CURL *c, curl_infotype type, char *data, size_t size, void *userdata)
{
    (void)c;
    email *m = userdata;
    /* a refusal, not the 221 of the QUIT that follows it */
    if (type != CURLINFO_HEADER_IN || !size || (data[0] != '4' && data[0] != '5'))
        return 0;
    size_t n = size < sizeof m->reply ? size : sizeof m->reply - 1;
    memcpy(m->reply, data, n);
    while (n && (m->reply[n - 1] == '\n' || m->reply[n - 1] == '\r'))
        n--;
    m->reply[n] = '\0';
    return 0;
}

/* The message of one alert for group g, or NULL (logged). Caller frees. */
static char *build(const email *m, const email_group *g, const char *alert_id,
                   const char *alert_json)
{
    cJSON *a = cJSON_Parse(alert_json);
    email_alert al = {
        .id = alert_id,
        .kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "kind")),
        .severity = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "severity")),
        .subject = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "subject")),
        .at = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "at")),
        .message = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "message")),
    };
    email_head h = {.from = m->from,
                    .to = (const char *const *)g->to,
                    .nto = g->nto,
                    .public_url = m->public_url};
    char *error = NULL;
    char *text = email_message_build(&al, &h, &error);
    if (!text)
        log_line(m, OBLIGO_LOG_ERROR, "alert %s: %s; not sent", alert_id,
                 error ? error : "out of memory");
    free(error);
    cJSON_Delete(a);
    return text;
}

/* Sets up the transfer of u to the recipients rcpt; CURLE_OK or the first
 * option refused. */
static CURLcode set_options(email *m, struct curl_slist *rcpt, upload *u)
{
    CURL *c = m->curl;
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(c, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_ERRORBUFFER, m->curl_error);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    SET(CURLOPT_URL, m->url);
    SET(CURLOPT_CONNECTTIMEOUT_MS, m->timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, m->timeout_ms);
    SET(CURLOPT_USE_SSL, m->plain ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
    if (m->ca_file)
        SET(CURLOPT_CAINFO, m->ca_file);
    if (m->username) {
        SET(CURLOPT_USERNAME, m->username);
        SET(CURLOPT_PASSWORD, m->password ? m->password : "");
    }
    SET(CURLOPT_MAIL_FROM, m->from);
    SET(CURLOPT_MAIL_RCPT, rcpt);
    SET(CURLOPT_UPLOAD, 1L);
    SET(CURLOPT_READFUNCTION, read_message);
    SET(CURLOPT_READDATA, u);
    SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)u->len);
    SET(CURLOPT_DEBUGFUNCTION, keep_reply);
    SET(CURLOPT_DEBUGDATA, m);
    SET(CURLOPT_VERBOSE, 1L); /* feeds keep_reply; nothing is printed */
#undef SET
    return rc;
}

/* The result of a finished transfer, logged. */
static int result_of(email *m, const char *alert_id, const char *group, CURLcode rc, long code)
{
    const char *why = m->curl_error[0] ? m->curl_error : curl_easy_strerror(rc);
    if (rc == CURLE_OK && code >= 200 && code <= 299)
        return OBLIGO_PLUGIN_OK;
    if (code >= 500 && code <= 599) {
        log_line(m, OBLIGO_LOG_ERROR, "alert %s to %s: the mail server refused it (%s): %s",
                 alert_id, group, why, m->reply);
        return OBLIGO_PLUGIN_ERROR;
    }
    if (code >= 400 && code <= 499)
        log_line(m, OBLIGO_LOG_WARNING, "alert %s to %s: the mail server answered %s; will retry",
                 alert_id, group, m->reply);
    else if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT ||
             rc == CURLE_NOT_BUILT_IN) {
        log_line(m, OBLIGO_LOG_ERROR, "alert %s to %s: %s", alert_id, group, why);
        return OBLIGO_PLUGIN_ERROR;
    } else /* connection refused, DNS, TLS, timeout, reset: try again later */
        log_line(m, OBLIGO_LOG_WARNING, "alert %s to %s: %s; will retry", alert_id, group, why);
    return OBLIGO_PLUGIN_RETRY;
}

static int deliver(void *state, const char *argument, const char *alert_id, const char *alert_json)
{
    email *m = state;
    if (!m || !m->curl || !argument || !alert_id || !alert_json)
        return OBLIGO_PLUGIN_ERROR;
    const email_group *g = find_group(m, argument);
    if (!g) {
        log_line(m, OBLIGO_LOG_ERROR,
                 "alert %s: no recipient group \"%s\" in plugins.email.recipients; not sent",
                 alert_id, argument);
        return OBLIGO_PLUGIN_ERROR;
    }
    char *text = build(m, g, alert_id, alert_json);
    if (!text)
        return OBLIGO_PLUGIN_ERROR;
    struct curl_slist *rcpt = NULL;
    int built = 1;
    for (int i = 0; built && i < g->nto; i++) {
        struct curl_slist *r = curl_slist_append(rcpt, g->to[i]);
        if (r)
            rcpt = r;
        else
            built = 0;
    }
    upload u = {.text = text, .len = strlen(text)};
    curl_easy_reset(m->curl);
    m->curl_error[0] = m->reply[0] = '\0';
    CURLcode rc = built ? set_options(m, rcpt, &u) : CURLE_OUT_OF_MEMORY;
    int result;
    if (rc != CURLE_OK) {
        log_line(m, OBLIGO_LOG_ERROR, "alert %s: cannot set up the mail: %s", alert_id,
                 curl_easy_strerror(rc));
        result = OBLIGO_PLUGIN_RETRY;
    } else {
        rc = curl_easy_perform(m->curl);
        long code = 0;
        curl_easy_getinfo(m->curl, CURLINFO_RESPONSE_CODE, &code);
        result = result_of(m, alert_id, g->name, rc, code);
    }
    /* Nothing borrowed may stay behind in the handle between calls. */
    curl_easy_setopt(m->curl, CURLOPT_MAIL_RCPT, (struct curl_slist *)NULL);
    curl_easy_setopt(m->curl, CURLOPT_READDATA, (void *)NULL);
    curl_slist_free_all(rcpt);
    free(text);
    return result;
}

/* ABI 1.1: a sink "email:GROUP" in "sinks" is checked at start-up. */
static int check_argument(void *state, const char *argument, char **error)
{
    email *m = state;
    if (argument && find_group(m, argument))
        return OBLIGO_PLUGIN_OK;
    curl_sink_error(m->api, error,
                    "plugins.email.recipients has no group \"%s\" (the sink \"email:%s\" mails it)",
                    argument ? argument : "", argument ? argument : "");
    return OBLIGO_PLUGIN_ERROR;
}

static const obligo_alert_sink email_sink = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_alert_sink),
    .name = "email",
    .deliver = deliver,
    .check_argument = check_argument,
};

/* ---- init and fini ------------------------------------------------------- */

/* A copy of the optional string member name of cfg into *out (NULL when
 * absent); 0, or OBLIGO_PLUGIN_ERROR with *error. */
static int opt_string(email *m, const cJSON *cfg, const char *name, char **out, char **error)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, name);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v) || !v->valuestring[0]) {
        curl_sink_error(m->api, error, "plugins.email.%s: must be a non-empty string", name);
        return OBLIGO_PLUGIN_ERROR;
    }
    for (const unsigned char *p = (const unsigned char *)v->valuestring; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            curl_sink_error(m->api, error, "plugins.email.%s: holds control characters", name);
            return OBLIGO_PLUGIN_ERROR;
        }
    if (!(*out = strdup(v->valuestring))) {
        curl_sink_error(m->api, error, "email: out of memory");
        return OBLIGO_PLUGIN_ERROR;
    }
    return 0;
}

/* The password from password_file: the file's first line. */
static int read_password_file(email *m, const char *path, char **error)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        curl_sink_error(m->api, error, "plugins.email.password_file: cannot read %s", path);
        return OBLIGO_PLUGIN_ERROR;
    }
    char line[1024];
    int ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    line[ok ? strcspn(line, "\r\n") : 0] = '\0';
    if (!ok || !line[0]) {
        OPENSSL_cleanse(line, sizeof line);
        curl_sink_error(m->api, error, "plugins.email.password_file: %s holds no password", path);
        return OBLIGO_PLUGIN_ERROR;
    }
    m->password = strdup(line);
    OPENSSL_cleanse(line, sizeof line);
    if (!m->password) {
        curl_sink_error(m->api, error, "email: out of memory");
        return OBLIGO_PLUGIN_ERROR;
    }
    return 0;
}

/* One group of "recipients": a non-empty list of good addresses. */
static int read_group(email *m, const cJSON *list, char **error)
{
    const char *name = list->string;
    int n = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : -1;
    if (n < 1 || n > EMAIL_MAX_GROUP) {
        curl_sink_error(m->api, error,
                        "plugins.email.recipients.%s: must be a list of 1 to %d addresses%s", name,
                        EMAIL_MAX_GROUP, n == 0 ? " (it is empty)" : "");
        return OBLIGO_PLUGIN_ERROR;
    }
    email_group *g = &m->groups[m->ngroups];
    if (!(g->name = strdup(name)) || !(g->to = calloc((size_t)n, sizeof *g->to))) {
        free(g->name);
        curl_sink_error(m->api, error, "email: out of memory");
        return OBLIGO_PLUGIN_ERROR;
    }
    m->ngroups++;
    for (const cJSON *a = list->child; a; a = a->next) {
        const char *s = cJSON_GetStringValue(a);
        if (!s || !email_address_ok(s)) {
            curl_sink_error(m->api, error,
                            "plugins.email.recipients.%s[%d]: \"%s\" is not an e-mail address",
                            name, g->nto, s ? s : "(not a string)");
            return OBLIGO_PLUGIN_ERROR;
        }
        if (!(g->to[g->nto++] = strdup(s))) {
            curl_sink_error(m->api, error, "email: out of memory");
            return OBLIGO_PLUGIN_ERROR;
        }
    }
    return 0;
}

static int read_recipients(email *m, const cJSON *r, char **error)
{
    int n = cJSON_IsObject(r) ? cJSON_GetArraySize(r) : 0;
    if (n < 1) {
        curl_sink_error(
            m->api, error,
            "plugins.email.recipients: required, an object of named groups of addresses "
            "such as {\"fg\": [\"fg@praktijk.nl\"]}");
        return OBLIGO_PLUGIN_ERROR;
    }
    if (!(m->groups = calloc((size_t)n, sizeof *m->groups))) {
        curl_sink_error(m->api, error, "email: out of memory");
        return OBLIGO_PLUGIN_ERROR;
    }
    for (const cJSON *g = r->child; g; g = g->next)
        if (read_group(m, g, error))
            return OBLIGO_PLUGIN_ERROR;
    return 0;
}

static int read_transport(email *m, const cJSON *cfg, char **error)
{
    const cJSON *plain = cJSON_GetObjectItemCaseSensitive(cfg, "allow_plain");
    const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(cfg, "timeout_ms");
    m->plain = cJSON_IsTrue(plain);
    m->timeout_ms = EMAIL_DEFAULT_TIMEOUT_MS;
    if (timeout && !cJSON_IsNull(timeout)) {
        double t = cJSON_IsNumber(timeout) ? timeout->valuedouble : -1;
        if (!(t >= 1 && t <= EMAIL_MAX_TIMEOUT_MS) || t != (double)(long)t) {
            curl_sink_error(m->api, error,
                            "plugins.email.timeout_ms: must be a whole number from 1 to %d",
                            EMAIL_MAX_TIMEOUT_MS);
            return OBLIGO_PLUGIN_ERROR;
        }
        m->timeout_ms = (long)t;
    }
    if (opt_string(m, cfg, "url", &m->url, error) || opt_string(m, cfg, "from", &m->from, error) ||
        opt_string(m, cfg, "username", &m->username, error) ||
        opt_string(m, cfg, "password", &m->password, error) ||
        opt_string(m, cfg, "ca_file", &m->ca_file, error) ||
        opt_string(m, cfg, "public_url", &m->public_url, error))
        return OBLIGO_PLUGIN_ERROR;
    if (!m->url ||
        (strncasecmp(m->url, "smtp://", 7) != 0 && strncasecmp(m->url, "smtps://", 8) != 0)) {
        curl_sink_error(m->api, error,
                        "plugins.email.url: required, smtp://HOST[:PORT] or "
                        "smtps://HOST[:PORT]");
        return OBLIGO_PLUGIN_ERROR;
    }
    if (m->plain && strncasecmp(m->url, "smtps://", 8) == 0) {
        curl_sink_error(m->api, error, "plugins.email.allow_plain: an smtps:// url is always TLS");
        return OBLIGO_PLUGIN_ERROR;
    }
    if (!m->from || !email_address_ok(m->from)) {
        curl_sink_error(m->api, error,
                        "plugins.email.from: required, an e-mail address such as "
                        "obligo@praktijk.nl");
        return OBLIGO_PLUGIN_ERROR;
    }
    return 0;
}

static int read_auth(email *m, const cJSON *cfg, char **error)
{
    char *file = NULL;
    if (opt_string(m, cfg, "password_file", &file, error))
        return OBLIGO_PLUGIN_ERROR;
    int rc = 0;
    if (file && m->password) {
        curl_sink_error(m->api, error, "plugins.email: give password or password_file, not both");
        rc = OBLIGO_PLUGIN_ERROR;
    } else if (file)
        rc = read_password_file(m, file, error);
    free(file);
    if (!rc && m->password && !m->username) {
        curl_sink_error(m->api, error, "plugins.email.username: required with a password");
        rc = OBLIGO_PLUGIN_ERROR;
    }
    return rc;
}

/* Reads the configuration into m; 0 or OBLIGO_PLUGIN_ERROR with *error. The
 * host has checked the schema; this checks what the schema cannot say. */
static int read_config(email *m, const char *config_json, char **error)
{
    cJSON *cfg = cJSON_Parse(config_json ? config_json : "");
    int rc = OBLIGO_PLUGIN_ERROR;
    if (!cJSON_IsObject(cfg))
        curl_sink_error(m->api, error, "email: the configuration is not a JSON object");
    else if (!read_transport(m, cfg, error) && !read_auth(m, cfg, error) &&
             !read_recipients(m, cJSON_GetObjectItemCaseSensitive(cfg, "recipients"), error))
        rc = 0;
    const cJSON *pw = cJSON_GetObjectItemCaseSensitive(cfg, "password");
    if (cJSON_IsString(pw))
        OPENSSL_cleanse(pw->valuestring, strlen(pw->valuestring));
    cJSON_Delete(cfg);
    return rc;
}

static int email_init(obligo_host *host, const obligo_host_api *api, const char *config_json,
                      void **state, char **error)
{
    *state = NULL;
    if (curl_sink_begin(api, "email", error))
        return OBLIGO_PLUGIN_ERROR;
    email *m = api->alloc(sizeof *m);
    if (!m)
        curl_sink_error(api, error, "email: out of memory");
    else {
        memset(m, 0, sizeof *m);
        m->host = host;
        m->api = api;
        if (read_config(m, config_json, error) == 0 &&
            curl_sink_finish(host, api, &email_sink, &m->curl, error) == 0) {
            *state = m;
            return OBLIGO_PLUGIN_OK;
        }
    }
    free_email(m);
    curl_global_cleanup();
    return OBLIGO_PLUGIN_ERROR;
}

static void email_fini(void *state)
{
    if (!state)
        return;
    free_email(state);
    curl_global_cleanup(); /* pairs with the curl_global_init of a successful init */
}

/* ---- the description ----------------------------------------------------- */

static const obligo_field config_fields[] = {
    {.name = "url", .kind = OBLIGO_FIELD_STRING, .required = 1},
    {.name = "from", .kind = OBLIGO_FIELD_STRING, .required = 1},
    {.name = "recipients", .kind = OBLIGO_FIELD_ANY, .required = 1},
    {.name = "username", .kind = OBLIGO_FIELD_STRING},
    {.name = "password", .kind = OBLIGO_FIELD_STRING},
    {.name = "password_file", .kind = OBLIGO_FIELD_STRING},
    {.name = "ca_file", .kind = OBLIGO_FIELD_STRING},
    {.name = "timeout_ms", .kind = OBLIGO_FIELD_COUNT},
    {.name = "allow_plain", .kind = OBLIGO_FIELD_BOOL},
    {.name = "public_url", .kind = OBLIGO_FIELD_STRING},
    {.name = NULL},
};

static const obligo_schema config_schema = {.fields = config_fields};

static const obligo_plugin email_plugin = {
    .abi_version = OBLIGO_ABI_CURRENT,
    .struct_size = sizeof(obligo_plugin),
    .name = "email",
    .version = "1.0.0",
    .description = "alert sink: each alert as a Dutch e-mail (MIME, text and HTML) over SMTP "
                   "with STARTTLS or TLS, to a named group of recipients",
    .config_schema = &config_schema,
    .init = email_init,
    .fini = email_fini,
};

OBLIGO_PLUGIN_EXPORT const obligo_plugin *obligo_plugin_entry(void)
{
    return &email_plugin;
}
