/*
 * test_console_session.c — the console's session store
 * (engine/daemon/console_session.c): expiry, the CSRF check, cookie
 * parsing, ending a token's sessions, a full store, and the source the
 * console's events carry (the token's note, percent-encoded, or its id).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "console_session.h"

static const char hash_a[DIGEST_HEX_LEN] =
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char hash_b[DIGEST_HEX_LEN] =
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

static void cookie(char *buf, size_t n, const char *id)
{
    snprintf(buf, n, "theme=dark; " CONSOLE_SESSION_COOKIE "=%s; other=1", id);
}

static void expiry(void **state)
{
    console_sessions ss = {0};
    char id[CONSOLE_SESSION_HEX], csrf[CONSOLE_SESSION_HEX], c[200];
    assert_int_equal(
        console_session_start(&ss, &(console_signer){hash_a, "officer", "tok_0000abcd", NULL}, 100,
                              3600, id, csrf),
        0);
    assert_int_equal(strlen(id), 64);
    assert_string_not_equal(id, csrf);
    cookie(c, sizeof c, id);
    console_session *s = console_session_find(&ss, c, 3699);
    assert_non_null(s);
    assert_string_equal(s->role, "officer");
    assert_memory_equal(s->token_hash, hash_a, DIGEST_HEX_LEN);
    assert_null(strstr(s->id_hash, id));             /* the id itself is not kept */
    assert_null(console_session_find(&ss, c, 3700)); /* expired, and dropped */
    assert_int_equal(ss.n, 0);
    console_sessions_free(&ss);
}

static void csrf_check(void **state)
{
    console_sessions ss = {0};
    char id[CONSOLE_SESSION_HEX], csrf[CONSOLE_SESSION_HEX], c[200];
    assert_int_equal(console_session_start(&ss,
                                           &(console_signer){hash_a, "admin", "tok_0000abcd", NULL},
                                           0, 60, id, csrf),
                     0);
    cookie(c, sizeof c, id);
    console_session *s = console_session_find(&ss, c, 1);
    assert_true(console_session_csrf_ok(s, csrf));
    assert_false(console_session_csrf_ok(s, NULL));
    assert_false(console_session_csrf_ok(s, ""));
    assert_false(console_session_csrf_ok(s, id));
    char wrong[CONSOLE_SESSION_HEX];
    memcpy(wrong, csrf, sizeof wrong);
    wrong[63] = wrong[63] == '0' ? '1' : '0';
    assert_false(console_session_csrf_ok(s, wrong));
    assert_false(console_session_csrf_ok(NULL, csrf));
    console_sessions_free(&ss);
}

static void cookie_parsing(void **state)
{
    char buf[80];
    assert_string_equal(console_cookie_value("a=1; b=2", "b", buf, sizeof buf), "2");
    assert_string_equal(console_cookie_value("a=1;b=2", "a", buf, sizeof buf), "1");
    assert_string_equal(console_cookie_value("ab=1; b=\"q\"", "b", buf, sizeof buf), "q");
    assert_null(console_cookie_value("ab=1", "b", buf, sizeof buf));
    assert_null(console_cookie_value(NULL, "b", buf, sizeof buf));
    assert_null(console_cookie_value("", "b", buf, sizeof buf));
    assert_null(console_cookie_value("b=0123456789", "b", buf, 4)); /* does not fit */
    assert_string_equal(console_cookie_value("b=", "b", buf, sizeof buf), "");
    /* an unknown or malformed session id finds nothing */
    console_sessions ss = {0};
    assert_null(console_session_find(&ss, CONSOLE_SESSION_COOKIE "=x", 0));
    assert_null(console_session_find(&ss, "", 0));
}

static void sign_out_and_revoked_token(void **state)
{
    console_sessions ss = {0};
    char a1[CONSOLE_SESSION_HEX], a2[CONSOLE_SESSION_HEX], b1[CONSOLE_SESSION_HEX];
    char csrf[CONSOLE_SESSION_HEX], c[200];
    assert_int_equal(
        console_session_start(&ss, &(console_signer){hash_a, "officer", "tok_0000abcd", NULL}, 0,
                              60, a1, csrf),
        0);
    assert_int_equal(
        console_session_start(&ss, &(console_signer){hash_a, "officer", "tok_0000abcd", NULL}, 0,
                              60, a2, csrf),
        0);
    assert_int_equal(console_session_start(&ss,
                                           &(console_signer){hash_b, "admin", "tok_0000abcd", NULL},
                                           0, 60, b1, csrf),
                     0);
    cookie(c, sizeof c, a1);
    console_session_end(&ss, console_session_find(&ss, c, 1));
    assert_null(console_session_find(&ss, c, 1));
    console_session_end(&ss, NULL);
    console_session_end_token(&ss, hash_a);
    cookie(c, sizeof c, a2);
    assert_null(console_session_find(&ss, c, 1));
    cookie(c, sizeof c, b1);
    assert_non_null(console_session_find(&ss, c, 1));
    console_sessions_free(&ss);
}

static void a_full_store_drops_the_oldest(void **state)
{
    console_sessions ss = {0};
    char first[CONSOLE_SESSION_HEX], id[CONSOLE_SESSION_HEX], csrf[CONSOLE_SESSION_HEX], c[200];
    assert_int_equal(
        console_session_start(&ss, &(console_signer){hash_a, "officer", "tok_0000abcd", NULL}, 0,
                              1e6, first, csrf),
        0);
    for (int i = 1; i < CONSOLE_SESSION_MAX + 5; i++)
        assert_int_equal(
            console_session_start(&ss, &(console_signer){hash_a, "officer", "tok_0000abcd", NULL},
                                  i, 1e6, id, csrf),
            0);
    assert_int_equal(ss.n, CONSOLE_SESSION_MAX);
    cookie(c, sizeof c, first);
    assert_null(console_session_find(&ss, c, 10));
    cookie(c, sizeof c, id);
    assert_non_null(console_session_find(&ss, c, 10));
    console_sessions_free(&ss);
}

static void the_source_names_the_note_or_the_token(void **state)
{
    char *s = console_source("A. Jansen (FG)", "tok_0000abcd");
    assert_string_equal(s, "urn:obligo:console:A.%20Jansen%20%28FG%29");
    obligo_free(s);
    s = console_source("cliënt~zorg_1-a", "tok_0000abcd"); /* UTF-8 bytes each encoded */
    assert_string_equal(s, "urn:obligo:console:cli%C3%ABnt~zorg_1-a");
    obligo_free(s);
    s = console_source("a/b:c?d#e%", "tok_0000abcd");
    assert_string_equal(s, "urn:obligo:console:a%2Fb%3Ac%3Fd%23e%25");
    obligo_free(s);
    s = console_source(NULL, "tok_0000abcd");
    assert_string_equal(s, "urn:obligo:console:tok_0000abcd");
    obligo_free(s);
    s = console_source("", "tok_0000abcd");
    assert_string_equal(s, "urn:obligo:console:tok_0000abcd");
    obligo_free(s);
    /* a session keeps its own copy of the note and its source */
    console_sessions ss = {0};
    char id[CONSOLE_SESSION_HEX], csrf[CONSOLE_SESSION_HEX], c[200], note[] = "FG";
    console_signer who = {hash_a, "officer", "tok_0000abcd", note};
    assert_int_equal(console_session_start(&ss, &who, 0, 60, id, csrf), 0);
    note[0] = 'x';
    cookie(c, sizeof c, id);
    console_session *cs = console_session_find(&ss, c, 1);
    assert_string_equal(cs->note, "FG");
    assert_string_equal(cs->source, "urn:obligo:console:FG");
    console_sessions_free(&ss);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(expiry),
        cmocka_unit_test(csrf_check),
        cmocka_unit_test(cookie_parsing),
        cmocka_unit_test(sign_out_and_revoked_token),
        cmocka_unit_test(a_full_store_drops_the_oldest),
        cmocka_unit_test(the_source_names_the_note_or_the_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
