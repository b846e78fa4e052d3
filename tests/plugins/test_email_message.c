/*
 * test_email_message.c — the e-mail sink's message module
 * (plugins/email/message.c), compiled into this test: addresses, the
 * Message-ID, the Amsterdam Date, RFC 2047 encoded-words (ü, ë; never a
 * character split between words; lines of at most 78), quoted-printable
 * (exact encodings, soft breaks, no bare LF, a trailing blank, a lone CR, a
 * line starting with '.'), HTML escaping, the Dutch subject line, and the
 * whole message (its headers, both parts decoded back by this file's own
 * decoders, the link into the console, the same bytes on a resend).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "message.h"

/* ---- independent decoders -------------------------------------------------- */

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes quoted-printable (CRLF lines) back to text with LF lines; fails
 * the test on anything RFC 2045 §6.7 forbids (a line over 76, bare LF or CR,
 * a lowercase or broken escape). Caller frees. */
static char *qp_decode(const char *qp)
{
    char *out = malloc(strlen(qp) + 1), *o = out;
    assert_non_null(out);
    const char *p = qp;
    while (*p) {
        const char *eol = strstr(p, "\r\n");
        assert_non_null(eol);
        size_t n = (size_t)(eol - p);
        assert_true(n <= 76);
        int soft = n > 0 && p[n - 1] == '=';
        for (size_t i = 0; i < n - (size_t)soft; i++) {
            assert_true(p[i] != '\r' && p[i] != '\n');
            if (p[i] == '=') {
                assert_true(i + 2 < n + 1);
                int hi = hexval(p[i + 1]), lo = hexval(p[i + 2]);
                assert_true(hi >= 0 && lo >= 0);
                *o++ = (char)(hi * 16 + lo);
                i += 2;
            } else
                *o++ = p[i];
        }
        if (!soft)
            *o++ = '\n';
        p = eol + 2;
    }
    *o = '\0';
    return out;
}

/* Every line of text ends in CRLF and has at most max characters. */
static void assert_lines(const char *text, size_t max)
{
    for (const char *p = text; *p;) {
        const char *eol = strstr(p, "\r\n");
        assert_non_null(eol);
        if ((size_t)(eol - p) > max)
            fail_msg("line longer than %zu: %.*s", max, (int)(eol - p), p);
        for (const char *q = p; q < eol; q++)
            assert_true(*q != '\n' && *q != '\r');
        p = eol + 2;
    }
}

static int count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, "\r\n")); p += 2)
        n++;
    return n;
}

/* 1 when s[0..n) is whole UTF-8: no character cut at either end. */
static int whole_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        int len = s[i] < 0x80 ? 1 : (s[i] & 0xe0) == 0xc0 ? 2 : (s[i] & 0xf0) == 0xe0 ? 3 : 4;
        if ((s[i] & 0xc0) == 0x80 || i + (size_t)len > n)
            return 0;
        for (int k = 1; k < len; k++)
            if ((s[i + (size_t)k] & 0xc0) != 0x80)
                return 0;
        i += (size_t)len;
    }
    return 1;
}

/* Decodes a header of encoded-words back to its text (caller frees),
 * checking that each word holds whole UTF-8 characters. */
static char *words_decode(const char *header, const char *name)
{
    size_t nl = strlen(name);
    assert_memory_equal(header, name, nl);
    assert_memory_equal(header + nl, ": ", 2);
    char *out = calloc(1, strlen(header) + 1);
    assert_non_null(out);
    size_t olen = 0;
    const char *p = header + nl + 2;
    while (*p) {
        assert_memory_equal(p, "=?UTF-8?B?", 10);
        const char *end = strstr(p + 10, "?=");
        assert_non_null(end);
        unsigned char dec[128];
        int n = EVP_DecodeBlock(dec, (const unsigned char *)p + 10, (int)(end - p - 10));
        assert_true(n >= 0);
        const char *b64end = end;
        while (b64end > p + 10 && b64end[-1] == '=') {
            n--;
            b64end--;
        }
        assert_true(whole_utf8(dec, (size_t)n));
        memcpy(out + olen, dec, (size_t)n);
        olen += (size_t)n;
        p = end + 2;
        if (strncmp(p, "\r\n ", 3) == 0)
            p += 3;
        else {
            assert_string_equal(p, "\r\n");
            break;
        }
    }
    out[olen] = '\0';
    return out;
}

/* The body of the part of msg whose Content-Type starts with type,
 * QP-decoded (caller frees). */
static char *part_text(const char *msg, const char *type)
{
    char needle[80];
    snprintf(needle, sizeof needle,
             "Content-Type: %s; charset=UTF-8\r\n"
             "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
             type);
    const char *start = strstr(msg, needle);
    assert_non_null(start);
    start += strlen(needle);
    const char *end = strstr(start, "\r\n--=_obligo_");
    assert_non_null(end);
    size_t n = (size_t)(end - start) + 2;
    char *qp = malloc(n + 1);
    assert_non_null(qp);
    memcpy(qp, start, n);
    qp[n] = '\0';
    char *text = qp_decode(qp);
    free(qp);
    return text;
}

/* ---- the pieces ---------------------------------------------------------- */

static void addresses(void **state)
{
    (void)state;
    assert_true(email_address_ok("fg@praktijk.nl"));
    assert_true(email_address_ok("plaats.vervanger+obligo@mail.praktijk-3.nl"));
    assert_false(email_address_ok("fg@localhost"));     /* one label */
    assert_false(email_address_ok("fg.@praktijk.nl"));  /* a dot at the end */
    assert_false(email_address_ok("f..g@praktijk.nl")); /* two dots */
    assert_false(email_address_ok("f g@praktijk.nl"));
    assert_false(email_address_ok("fg@prak_tijk.nl"));
    assert_false(email_address_ok("<fg@praktijk.nl>"));
    assert_false(email_address_ok("fg@praktijk.nl\r\nBcc: x@y.nl"));
    assert_false(email_address_ok("praktijk.nl"));
    assert_false(email_address_ok("@praktijk.nl"));
    assert_false(email_address_ok(""));
}

static void severities_in_dutch(void **state)
{
    (void)state;
    assert_string_equal(email_severity_nl("critical"), "Kritiek");
    assert_string_equal(email_severity_nl("warning"), "Waarschuwing");
    assert_string_equal(email_severity_nl("info"), "Informatie");
}

static void message_id_is_a_valid_msg_id(void **state)
{
    (void)state;
    char *id = email_message_id("al-0123456789abcdef");
    assert_string_equal(id, "<al-0123456789abcdef@obligo>");
    free(id);
    id = email_message_id("a.b@c d>=");
    assert_string_equal(id, "<a=2Eb=40c=20d=3E=3D@obligo>");
    free(id);
}

static void date_in_amsterdam_time(void **state)
{
    (void)state;
    char d[32];
    email_rfc5322_date(1770279300, d); /* 2026-02-05T08:15:00Z */
    assert_string_equal(d, "Thu, 05 Feb 2026 09:15:00 +0100");
    email_rfc5322_date(1782900000, d); /* 2026-07-01T10:00:00Z */
    assert_string_equal(d, "Wed, 01 Jul 2026 12:00:00 +0200");
    email_rfc5322_date(1774745999, d); /* a second before summer time */
    assert_string_equal(d, "Sun, 29 Mar 2026 01:59:59 +0100");
    email_rfc5322_date(1774746000, d);
    assert_string_equal(d, "Sun, 29 Mar 2026 03:00:00 +0200");
}

static void encoded_words(void **state)
{
    (void)state;
    char *h = email_encoded_header("Subject", "\xc3\xbc"); /* ü */
    assert_string_equal(h, "Subject: =?UTF-8?B?w7w=?=\r\n");
    free(h);
    /* long, with two-byte characters at every offset: words never split one */
    static const char text[] = "[Obligo] Kritiek: cli\xc3\xabnt \xc3\xbc \xc3\xab\xc3\xab\xc3\xab"
                               "\xc3\xab\xc3\xab\xc3\xab\xc3\xab\xc3\xab\xc3\xab\xc3\xab\xc3\xab"
                               "\xc3\xab\xc3\xab\xc3\xab\xc3\xab\xc3\xab\xc3\xab\xc3\xab\xc3\xab"
                               "\xc3\xab\xc3\xab\xc3\xab\xc3\xab\xc3\xab\xc3\xab\xc3\xab\xc3\xab"
                               " en nog wat tekst erachter, lang genoeg voor drie woorden";
    h = email_encoded_header("Subject", text);
    assert_lines(h, 78);
    assert_true(count_lines(h) >= 3);
    char *back = words_decode(h, "Subject");
    assert_string_equal(back, text);
    free(back);
    free(h);
}

static void quoted_printable(void **state)
{
    (void)state;
    char *q = email_quoted_printable("caf\xc3\xa9 = \xc3\xab\n");
    assert_string_equal(q, "caf=C3=A9 =3D =C3=AB\r\n");
    free(q);
    q = email_quoted_printable("a \nb\t\r\nc\rd\n.begint met een punt\n");
    assert_string_equal(q, "a=20\r\nb=09\r\nc=0Dd\r\n.begint met een punt\r\n");
    free(q);
    char long_line[301];
    for (int i = 0; i < 300; i++)
        long_line[i] = i % 7 == 3 ? '=' : i % 5 == 1 ? '\xc3' : i % 5 == 2 ? '\xab' : 'x';
    long_line[300] = '\0';
    q = email_quoted_printable(long_line);
    assert_lines(q, 76);
    char *back = qp_decode(q);
    size_t n = strlen(back);
    assert_true(n == 301 && back[300] == '\n');
    back[300] = '\0';
    assert_string_equal(back, long_line);
    free(back);
    free(q);
}

static void html_escaping(void **state)
{
    (void)state;
    char *h = email_html_escape("<a href=\"x\">&'</a>");
    assert_string_equal(h, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
    free(h);
}

static void subject_line(void **state)
{
    (void)state;
    email_alert a = {.severity = "critical",
                     .message = "Datalek DL-2026-7 is nog niet gemeld bij de AP. Meld het "
                                "vandaag nog."};
    char *s = email_subject_text(&a);
    assert_string_equal(s, "[Obligo] Kritiek: Datalek DL-2026-7 is nog niet gemeld bij de AP");
    free(s);
    a.severity = "warning";
    a.message = "Eerste regel\tmet tab\nTweede regel";
    s = email_subject_text(&a);
    assert_string_equal(s, "[Obligo] Waarschuwing: Eerste regel met tab");
    free(s);
    char many[401];
    for (int i = 0; i < 400; i += 2)
        memcpy(many + i, "\xc3\xab", 2);
    many[400] = '\0';
    a.message = many;
    s = email_subject_text(&a);
    const char *m = s + strlen("[Obligo] Waarschuwing: ");
    size_t n = strlen(m);
    assert_true(n <= 120 + 3);
    assert_string_equal(m + n - 3, "\xe2\x80\xa6");
    assert_true(whole_utf8((const unsigned char *)m, n));
    free(s);
}

/* ---- the whole message --------------------------------------------------- */

static const char *const group_fg[] = {"fg@praktijk.nl", "plaatsvervanger@praktijk.nl"};

static const email_alert breach = {
    .id = "al-0123456789abcdef",
    .kind = "avg.late_notification",
    .severity = "critical",
    .subject = "DL-2026-7",
    .at = "2026-02-05T08:15:00Z",
    .message = "Datalek DL-2026-7 is nog niet gemeld bij de AP. De cli\xc3\xabnt is "
               "ge\xc3\xafnformeerd; <b>geen</b> HTML & geen \"opmaak\".\n"
               ".Deze regel begint met een punt.",
};

static void whole_message(void **state)
{
    (void)state;
    email_head h = {.from = "obligo@praktijk.nl",
                    .to = group_fg,
                    .nto = 2,
                    .public_url = "https://obligo.example.nl/"};
    char *err = NULL;
    char *msg = email_message_build(&breach, &h, &err);
    assert_non_null(msg);
    assert_null(err);
    assert_lines(msg, 78);
    assert_memory_equal(msg, "From: Obligo <obligo@praktijk.nl>\r\n", 35);
    assert_non_null(strstr(msg, "\r\nTo: fg@praktijk.nl,\r\n plaatsvervanger@praktijk.nl\r\n"));
    assert_non_null(strstr(msg, "\r\nDate: Thu, 05 Feb 2026 09:15:00 +0100\r\n"));
    assert_non_null(strstr(msg, "\r\nMessage-ID: <al-0123456789abcdef@obligo>\r\n"));
    assert_non_null(strstr(msg, "\r\nMIME-Version: 1.0\r\n"));
    assert_non_null(strstr(msg, "\r\nContent-Type: multipart/alternative;\r\n boundary=\""
                                "=_obligo_al-0123456789abcdef\"\r\n"));
    assert_non_null(strstr(msg, "\r\n--=_obligo_al-0123456789abcdef--\r\n"));
    const char *subj = strstr(msg, "\r\nSubject: ");
    assert_non_null(subj);
    const char *subj_end = strstr(subj + 2, "\r\nDate: ");
    char header[512];
    snprintf(header, sizeof header, "%.*s\r\n", (int)(subj_end - subj - 2), subj + 2);
    char *decoded = words_decode(header, "Subject");
    assert_string_equal(decoded,
                        "[Obligo] Kritiek: Datalek DL-2026-7 is nog niet gemeld bij de AP");
    free(decoded);

    char *text = part_text(msg, "text/plain");
    assert_non_null(strstr(text, "Ernst:    Kritiek\n"));
    assert_non_null(strstr(text, "Soort:    avg.late_notification\n"));
    assert_non_null(strstr(text, "Betreft:  DL-2026-7\n"));
    assert_non_null(strstr(text, "Tijdstip: 05-02-2026 09:15 (Europe/Amsterdam)\n"));
    assert_non_null(strstr(text, "De cli\xc3\xabnt is ge\xc3\xafnformeerd; <b>geen</b>"));
    assert_non_null(strstr(text, "\n.Deze regel begint met een punt.\n"));
    assert_non_null(strstr(text, "https://obligo.example.nl/console/#signalen\n"));
    free(text);
    char *html = part_text(msg, "text/html");
    assert_non_null(strstr(html, "<th align=\"left\">Ernst:</th><td>Kritiek</td>"));
    assert_non_null(strstr(html, "ge\xc3\xafnformeerd; &lt;b&gt;geen&lt;/b&gt; HTML &amp; geen "
                                 "&quot;opmaak&quot;."));
    assert_null(strstr(html, "<b>"));
    assert_non_null(strstr(html, "<a href=\"https://obligo.example.nl/console/#signalen\">"));
    free(html);

    /* a resend is the same message, byte for byte */
    char *again = email_message_build(&breach, &h, &err);
    assert_string_equal(again, msg);
    free(again);
    free(msg);
}

static void no_link_without_public_url(void **state)
{
    (void)state;
    email_head h = {.from = "obligo@praktijk.nl", .to = group_fg, .nto = 1};
    char *err = NULL;
    char *msg = email_message_build(&breach, &h, &err);
    assert_non_null(msg);
    assert_null(strstr(msg, "console"));
    assert_non_null(strstr(msg, "\r\nTo: fg@praktijk.nl\r\nSubject: "));
    free(msg);
}

static void refuses_an_alert_it_cannot_write(void **state)
{
    (void)state;
    email_head h = {.from = "obligo@praktijk.nl", .to = group_fg, .nto = 1};
    email_alert a = breach;
    a.at = "5 februari";
    char *err = NULL;
    assert_null(email_message_build(&a, &h, &err));
    assert_non_null(err);
    assert_non_null(strstr(err, "\"at\""));
    free(err);
    a = breach;
    a.message = NULL;
    err = NULL;
    assert_null(email_message_build(&a, &h, &err));
    assert_non_null(strstr(err, "message"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(addresses),
        cmocka_unit_test(severities_in_dutch),
        cmocka_unit_test(message_id_is_a_valid_msg_id),
        cmocka_unit_test(date_in_amsterdam_time),
        cmocka_unit_test(encoded_words),
        cmocka_unit_test(quoted_printable),
        cmocka_unit_test(html_escaping),
        cmocka_unit_test(subject_line),
        cmocka_unit_test(whole_message),
        cmocka_unit_test(no_link_without_public_url),
        cmocka_unit_test(refuses_an_alert_it_cannot_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
