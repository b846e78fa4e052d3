/*
 * message.h — the e-mail of one alert, as RFC 5322 / MIME text (message.c).
 *
 * Pure functions: no I/O, no clock, no global state, so that the tests can
 * check every byte (tests/plugins/test_email_message.c). Times are the
 * engine's own Europe/Amsterdam arithmetic (engine/base/clock.c, compiled
 * into the plugin), so a mail says the same local time as the console. Everything returned
 * is malloc'd (the caller frees with free); NULL means out of memory or, for
 * the functions with an error argument, input that cannot become a message.
 */
#ifndef OBLIGO_EMAIL_MESSAGE_H
#define OBLIGO_EMAIL_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

/* The alert's own fields (DESIGN.md §2), borrowed. The message holds these
 * and nothing else about anyone. */
typedef struct email_alert {
    const char *id;       /* the stable id: Message-ID and MIME boundary */
    const char *kind;     /* e.g. "avg.late_notification" */
    const char *severity; /* info, warning or critical */
    const char *subject;  /* what the alert is about, e.g. a breach id */
    const char *at;       /* RFC 3339 in UTC, as the outbox gives it */
    const char *message;  /* the rule's text, Dutch, may hold newlines */
} email_alert;

/* Who sends it and to whom, borrowed. */
typedef struct email_head {
    const char *from;       /* an address (email_address_ok) */
    const char *const *to;  /* the group's addresses */
    int nto;                /* at least 1 */
    const char *public_url; /* the console's base URL, or NULL: no link */
} email_head;

/* 1 when s is an address this sink sends to: local@domain of dot-atoms
 * (RFC 5322 §3.4.1 without quoted strings, comments or literals), a domain
 * of at least two labels, at most 254 characters. */
int email_address_ok(const char *s);

/* The Dutch word for a severity ("Kritiek", "Waarschuwing", "Informatie");
 * an unknown severity is given as it is. */
const char *email_severity_nl(const char *severity);

/* The RFC 5322 date of t in Amsterdam time ("Thu, 05 Feb 2026 09:15:00
 * +0100"). out: at least 32 bytes. */
void email_rfc5322_date(int64_t t, char out[32]);

/* "<ID@obligo>": the alert id with every byte outside A-Z a-z 0-9 - _
 * written as =XX, so that any id gives a valid msg-id and two ids never give
 * the same one. */
char *email_message_id(const char *alert_id);

/* The header field "NAME: " and text as RFC 2047 encoded-words
 * (=?UTF-8?B?...?=), folded so that no line passes 78 characters and no
 * word splits a UTF-8 character; ends with CRLF. */
char *email_encoded_header(const char *name, const char *text);

/* text (UTF-8, lines ending in LF or CRLF) as quoted-printable (RFC 2045
 * §6.7): lines of at most 76 characters ending in CRLF, soft breaks where a
 * line is longer, '=' and bytes outside printable ASCII as =XX, a space or
 * tab before a line's end encoded, a lone CR as =0D. */
char *email_quoted_printable(const char *text);

/* text with & < > " ' as HTML entities. */
char *email_html_escape(const char *text);

/* The subject line's text: "[Obligo] <severity in Dutch>: <the message up
 * to the end of its first sentence or line>", cut at a character boundary
 * to at most 120 bytes of message with "…". */
char *email_subject_text(const email_alert *a);

/* The whole message, headers and body, lines ending in CRLF. NULL with
 * *error (malloc'd) when the alert lacks a field or its time is not RFC
 * 3339; NULL without *error when memory ran out. */
char *email_message_build(const email_alert *a, const email_head *h, char **error);

#endif
