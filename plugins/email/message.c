/*
 * message.c — the e-mail of one alert (message.h): RFC 5322 headers, a
 * multipart/alternative body of a text/plain and a text/html part, both
 * UTF-8 in quoted-printable, in Dutch.
 *
 * The message depends only on the alert and the configuration, never on the
 * moment it is sent: the Date is the alert's time and the Message-ID and
 * the MIME boundary come from its stable id, so a resend after a crash or a
 * refusal is the same message, byte for byte, and mail clients treat it as
 * one.
 *
 * The boundary starts with "=_": quoted-printable writes every '=' as =3D,
 * so no line of either part can ever hold it (RFC 2045 §6.7, the usual
 * trick). SMTP's dot-stuffing (RFC 5321 §4.5.2) is not done here: libcurl
 * does it while sending, and the end-to-end test checks that a line starting
 * with '.' arrives intact.
 */
#include "message.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

#define SUBJECT_MAX_MESSAGE 120 /* bytes of the alert's message in Subject */
#define WORD_MAX_BYTES 39       /* bytes per encoded-word: 52 base64 characters */
#define QP_MAX_LINE 76          /* RFC 2045 §6.7 rule 5, the soft break's '=' included */

/* ---- a growing string ---------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t len, cap;
    int failed; /* out of memory once: every later append is a no-op */
} buf;

static void buf_add(buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void buf_fmt(buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        buf_add(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf_add(b, big, (size_t)n);
    free(big);
}

/* The text built, or NULL (and nothing left behind) when memory ran out. */
static char *buf_done(buf *b)
{
    if (b->failed || !b->p) {
        free(b->p);
        return b->failed ? NULL : calloc(1, 1);
    }
    return b->p;
}

/* ---- addresses, words, dates --------------------------------------------- */

static int atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

/* 1 when s[0..n) is dot-atom text: runs of atext joined by single dots
 * (the domain's characters are checked by the caller, a subset of atext). */
static int dot_atom(const char *s, size_t n)
{
    if (!n || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.' ? s[i + 1] == '.' : !atext((unsigned char)s[i]))
            return 0;
    return 1;
}

int email_address_ok(const char *s)
{
    const char *at = s ? strrchr(s, '@') : NULL;
    if (!at || strlen(s) > 254)
        return 0;
    const char *domain = at + 1;
    for (const char *p = domain; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.'))
            return 0;
    return dot_atom(s, (size_t)(at - s)) && dot_atom(domain, strlen(domain)) &&
           strchr(domain, '.') != NULL;
}

const char *email_severity_nl(const char *severity)
{
    if (strcmp(severity, "critical") == 0)
        return "Kritiek";
    if (strcmp(severity, "warning") == 0)
        return "Waarschuwing";
    if (strcmp(severity, "info") == 0)
        return "Informatie";
    return severity;
}

void email_rfc5322_date(int64_t t, char out[32])
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    civil c;
    clock_to_ams(t, &c);
    int wday = clock_weekday(c.year, c.month, c.day);
    int hours = clock_ams_offset(t) / 3600;
    snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d +%02d00", days[wday], c.day,
             months[c.month - 1], c.year, c.hour, c.min, c.sec, hours);
}

char *email_message_id(const char *alert_id)
{
    buf b = {0};
    buf_str(&b, "<");
    for (const unsigned char *p = (const unsigned char *)alert_id; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_')
            buf_add(&b, (const char *)p, 1);
        else
            buf_fmt(&b, "=%02X", *p);
    }
    buf_str(&b, "@obligo>");
    return buf_done(&b);
}

static void base64(buf *b, const unsigned char *s, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
                     (i + 2 < n ? s[i + 2] : 0);
        char q[4] = {abc[v >> 18 & 63], abc[v >> 12 & 63], abc[v >> 6 & 63], abc[v & 63]};
        if (i + 1 >= n)
            q[2] = '=';
        if (i + 2 >= n)
            q[3] = '=';
        buf_add(b, q, 4);
    }
}

char *email_encoded_header(const char *name, const char *text)
{
    buf b = {0};
    buf_fmt(&b, "%s:", name);
    const unsigned char *p = (const unsigned char *)text;
    size_t left = strlen(text);
    do {
        size_t n = left < WORD_MAX_BYTES ? left : WORD_MAX_BYTES;
        while (n < left && n > 0 && (p[n] & 0xc0) == 0x80)
            n--; /* never split a UTF-8 character between two words */
        buf_str(&b, p == (const unsigned char *)text ? " =?UTF-8?B?" : "\r\n =?UTF-8?B?");
        base64(&b, p, n);
        buf_str(&b, "?=");
        p += n;
        left -= n;
    } while (left > 0);
    buf_str(&b, "\r\n");
    return buf_done(&b);
}

/* ---- bodies -------------------------------------------------------------- */

char *email_quoted_printable(const char *text)
{
    buf b = {0};
    const char *line = text;
    while (*line) {
        size_t n = strcspn(line, "\n");
        const char *next = line[n] ? line + n + 1 : line + n;
        if (n && line[n] == '\n' && line[n - 1] == '\r')
            n--; /* CRLF: the CR belongs to the line end */
        size_t col = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)line[i];
            int blank_at_end = (c == ' ' || c == '\t') && i + 1 == n;
            int encode = c == '=' || c > 126 || (c < 32 && c != '\t') || blank_at_end;
            size_t width = encode ? 3 : 1;
            /* room for this piece and, unless it ends the line, a soft break */
            if (col + width > (i + 1 == n ? QP_MAX_LINE : QP_MAX_LINE - 1)) {
                buf_str(&b, "=\r\n");
                col = 0;
            }
            if (encode)
                buf_fmt(&b, "=%02X", c);
            else
                buf_add(&b, (const char *)&c, 1);
            col += width;
        }
        buf_str(&b, "\r\n");
        line = next;
    }
    return buf_done(&b);
}

char *email_html_escape(const char *text)
{
    buf b = {0};
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '&':
            buf_str(&b, "&amp;");
            break;
        case '<':
            buf_str(&b, "&lt;");
            break;
        case '>':
            buf_str(&b, "&gt;");
            break;
        case '"':
            buf_str(&b, "&quot;");
            break;
        case '\'':
            buf_str(&b, "&#39;");
            break;
        default:
            buf_add(&b, p, 1);
        }
    }
    return buf_done(&b);
}

char *email_subject_text(const email_alert *a)
{
    const char *m = a->message;
    size_t n = strcspn(m, "\r\n");
    const char *stop = strstr(m, ". ");
    if (stop && (size_t)(stop - m) < n)
        n = (size_t)(stop - m);
    if (n && m[n - 1] == '.')
        n--;
    int cut = n > SUBJECT_MAX_MESSAGE;
    if (cut) {
        n = SUBJECT_MAX_MESSAGE;
        while (n > 0 && ((unsigned char)m[n] & 0xc0) == 0x80)
            n--;
    }
    buf b = {0};
    buf_fmt(&b, "[Obligo] %s: ", email_severity_nl(a->severity));
    for (size_t i = 0; i < n; i++) /* a tab or other control byte: a space */
        buf_add(&b, (unsigned char)m[i] < 32 ? " " : m + i, 1);
    if (cut)
        buf_str(&b, "\xe2\x80\xa6"); /* … */
    return buf_done(&b);
}

/* The facts both parts state, as label and value; value NULL ends. */
typedef struct fact {
    const char *label, *value;
} fact;

/* The console page of the alerts, or NULL when no public_url is set. */
static char *console_link(const char *public_url)
{
    if (!public_url || !*public_url)
        return NULL;
    size_t n = strlen(public_url);
    while (n && public_url[n - 1] == '/')
        n--;
    buf b = {0};
    buf_add(&b, public_url, n);
    buf_str(&b, "/console/#signalen");
    return buf_done(&b);
}

static char *text_part(const fact *facts, const char *message, const char *link)
{
    buf b = {0};
    buf_str(&b, "Obligo meldt een signaal.\n\n");
    for (const fact *f = facts; f->label; f++)
        buf_fmt(&b, "%-9s %s\n", f->label, f->value);
    buf_fmt(&b, "\n%s\n\n", message);
    if (link)
        buf_fmt(&b, "Bekijk de signalen in de console: %s\n\n", link);
    buf_str(&b, "Dit bericht is automatisch verstuurd door Obligo; antwoorden wordt niet "
                "gelezen.\n");
    return buf_done(&b);
}

/* s escaped and appended; 0, or -1 when memory ran out. */
static int html_add(buf *b, const char *s)
{
    char *e = email_html_escape(s);
    if (!e) {
        b->failed = 1;
        return -1;
    }
    buf_str(b, e);
    free(e);
    return 0;
}

static char *html_part(const fact *facts, const char *message, const char *link, const char *title)
{
    buf b = {0};
    buf_str(&b, "<!DOCTYPE html>\n<html lang=\"nl\">\n<head><meta charset=\"utf-8\"><title>");
    html_add(&b, title);
    buf_str(&b, "</title></head>\n<body>\n<p>Obligo meldt een signaal.</p>\n<table>\n");
    for (const fact *f = facts; f->label; f++) {
        buf_str(&b, "<tr><th align=\"left\">");
        html_add(&b, f->label);
        buf_str(&b, "</th><td>");
        html_add(&b, f->value);
        buf_str(&b, "</td></tr>\n");
    }
    buf_str(&b, "</table>\n<p style=\"white-space: pre-line\">");
    html_add(&b, message);
    buf_str(&b, "</p>\n");
    if (link) {
        buf_str(&b, "<p><a href=\"");
        html_add(&b, link);
        buf_str(&b, "\">Bekijk de signalen in de console</a></p>\n");
    }
    buf_str(&b, "<p>Dit bericht is automatisch verstuurd door Obligo; antwoorden wordt niet "
                "gelezen.</p>\n</body>\n</html>\n");
    return buf_done(&b);
}

/* One part of the multipart body: its headers and its text in QP. */
static void add_part(buf *b, const char *boundary, const char *type, const char *body)
{
    char *qp = body ? email_quoted_printable(body) : NULL;
    if (!qp) {
        b->failed = 1;
        return;
    }
    buf_fmt(b,
            "--%s\r\nContent-Type: %s; charset=UTF-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
            boundary, type);
    buf_str(b, qp);
    free(qp);
}

static void add_headers(buf *b, const email_head *h, const char *date, const char *msgid,
                        const char *subject, const char *boundary)
{
    buf_fmt(b, "From: Obligo <%s>\r\nTo: ", h->from);
    for (int i = 0; i < h->nto; i++)
        buf_fmt(b, "%s%s", i ? ",\r\n " : "", h->to[i]);
    buf_str(b, "\r\n");
    char *s = email_encoded_header("Subject", subject);
    if (!s)
        b->failed = 1;
    else
        buf_str(b, s);
    free(s);
    buf_fmt(b,
            "Date: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n"
            "Auto-Submitted: auto-generated\r\nContent-Language: nl\r\n"
            "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n\r\n",
            date, msgid, boundary);
}

char *email_message_build(const email_alert *a, const email_head *h, char **error)
{
    *error = NULL;
    int64_t at = 0;
    if (!a->id || !*a->id || !a->kind || !a->severity || !a->subject || !a->message || !a->at) {
        *error = strdup("the alert lacks one of id, kind, severity, subject, at, message");
        return NULL;
    }
    if (clock_parse_rfc3339(a->at, &at) != 0) {
        *error = strdup("the alert's \"at\" is not an RFC 3339 time");
        return NULL;
    }
    char date[32], when[48];
    email_rfc5322_date(at, date);
    civil c;
    clock_to_ams(at, &c);
    snprintf(when, sizeof when, "%02d-%02d-%04d %02d:%02d (Europe/Amsterdam)", c.day, c.month,
             c.year, c.hour, c.min);
    fact facts[] = {{"Ernst:", email_severity_nl(a->severity)},
                    {"Soort:", a->kind},
                    {"Betreft:", a->subject},
                    {"Tijdstip:", when},
                    {"Kenmerk:", a->id},
                    {NULL, NULL}};
    char *msgid = email_message_id(a->id), *subject = email_subject_text(a);
    char *link = console_link(h->public_url);
    char *text = text_part(facts, a->message, link);
    char *html = subject ? html_part(facts, a->message, link, subject) : NULL;
    buf b = {0};
    char boundary[64];
    /* the id part of the Message-ID: only A-Z a-z 0-9 - _ = from here on */
    snprintf(boundary, sizeof boundary, "=_obligo_%.40s", msgid ? msgid + 1 : "");
    boundary[strcspn(boundary, "@")] = '\0';
    if (!msgid || !subject || !text || !html || (h->public_url && *h->public_url && !link))
        b.failed = 1;
    else {
        add_headers(&b, h, date, msgid, subject, boundary);
        buf_str(&b, "Dit bericht bevat platte tekst en HTML.\r\n\r\n");
        add_part(&b, boundary, "text/plain", text);
        buf_str(&b, "\r\n");
        add_part(&b, boundary, "text/html", html);
        buf_fmt(&b, "\r\n--%s--\r\n", boundary);
    }
    free(msgid);
    free(subject);
    free(link);
    free(text);
    free(html);
    return buf_done(&b);
}
