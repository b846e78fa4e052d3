/*
 * test_clock.c — unit tests for clock.c: the calendar, RFC 3339 text and the
 * Europe/Amsterdam offset computed from the EU rule.
 *
 * Every expected value is worked out from the calendar, not printed by the
 * code under test: epoch seconds from known anchors (1970-01-01 = day 0,
 * 2000-01-01T00:00:00Z = 946684800) plus whole days, and the DST switch at
 * 01:00 UTC on the last Sundays of March and October.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"

#define DAY INT64_C(86400)
#define HOUR INT64_C(3600)

/* 2026-02-05T08:15:00Z: 2026-01-01 is day 20454, +35 days, +08:15. */
#define T_20260205_0815Z INT64_C(1770279300)

static obligo_time parse_ok(const char *s)
{
    obligo_time t = -12345;
    int rc = clock_parse_rfc3339(s, &t);
    if (rc != 0)
        fail_msg("rejected: %s", s);
    return t;
}

static void assert_rejected(const char *s)
{
    obligo_time t = 42;
    if (clock_parse_rfc3339(s, &t) != OBLIGO_EINVAL)
        fail_msg("accepted: %s", s ? s : "(null)");
    assert_int_equal(t, 42); /* untouched on failure */
}

/* ---- calendar --------------------------------------------------------- */

static void test_days_from_civil(void **state)
{
    assert_int_equal(clock_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(clock_days_from_civil(1970, 1, 2), 1);
    assert_int_equal(clock_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(clock_days_from_civil(2000, 1, 1), 10957); /* 946684800 / 86400 */
    assert_int_equal(clock_days_from_civil(2000, 3, 1), 11017); /* +31 +29 */
    /* 56 years of 365 days, leap days 1972..2024 (14), then 31 + 4. */
    assert_int_equal(clock_days_from_civil(2026, 2, 5), 20489);
    assert_int_equal(clock_days_from_civil(1, 1, 1), -719162);
    assert_int_equal(clock_days_from_civil(0, 3, 1), -719468);
    assert_int_equal(clock_days_from_civil(0, 1, 1), -719528);
}

static void test_civil_from_days(void **state)
{
    int y, m, d, wd;
    clock_civil_from_days(0, &y, &m, &d, &wd);
    assert_int_equal(y, 1970);
    assert_int_equal(m, 1);
    assert_int_equal(d, 1);
    assert_int_equal(wd, 4); /* Thursday */
    clock_civil_from_days(-1, &y, &m, &d, &wd);
    assert_int_equal(y, 1969);
    assert_int_equal(m, 12);
    assert_int_equal(d, 31);
    assert_int_equal(wd, 3); /* Wednesday */
    clock_civil_from_days(11016, &y, &m, &d, &wd);
    assert_int_equal(y, 2000);
    assert_int_equal(m, 2);
    assert_int_equal(d, 29);
    assert_int_equal(wd, 2); /* Tuesday */
    clock_civil_from_days(-719468, &y, &m, &d, NULL);
    assert_int_equal(y, 0);
    assert_int_equal(m, 3);
    assert_int_equal(d, 1);
    clock_civil_from_days(20489, NULL, NULL, NULL, &wd);
    assert_int_equal(wd, 4); /* 2026-02-05 is a Thursday */
}

static void test_civil_round_trip(void **state)
{
    /* Every day from 1600-01-01 to 2400-12-31 maps back to itself, and the
     * dates step through the calendar one day at a time. */
    int64_t first = clock_days_from_civil(1600, 1, 1);
    int64_t last = clock_days_from_civil(2400, 12, 31);
    int py = 1599, pm = 12, pd = 31;
    for (int64_t n = first; n <= last; n++) {
        int y, m, d, wd;
        clock_civil_from_days(n, &y, &m, &d, &wd);
        assert_int_equal(clock_days_from_civil(y, m, d), n);
        assert_int_equal(clock_weekday(y, m, d), wd);
        if (pd < clock_days_in_month(py, pm)) {
            assert_true(y == py && m == pm && d == pd + 1);
        } else if (pm < 12) {
            assert_true(y == py && m == pm + 1 && d == 1);
        } else {
            assert_true(y == py + 1 && m == 1 && d == 1);
        }
        py = y, pm = m, pd = d;
    }
}

static void test_civil_from_days_extremes(void **state)
{
    int y, m, d, wd;
    /* Far outside the int year range: saturates, no overflow. */
    clock_civil_from_days(INT64_MAX, &y, &m, &d, &wd);
    assert_true(y > 2000000000);
    assert_true(m >= 1 && m <= 12 && d >= 1 && d <= 31 && wd >= 0 && wd <= 6);
    clock_civil_from_days(INT64_MIN, &y, &m, &d, &wd);
    assert_true(y < -2000000000);
    assert_true(m >= 1 && m <= 12 && d >= 1 && d <= 31 && wd >= 0 && wd <= 6);
}

static void test_days_in_month(void **state)
{
    assert_int_equal(clock_days_in_month(2025, 1), 31);
    assert_int_equal(clock_days_in_month(2025, 2), 28);
    assert_int_equal(clock_days_in_month(2024, 2), 29);
    assert_int_equal(clock_days_in_month(2028, 2), 29);
    assert_int_equal(clock_days_in_month(1900, 2), 28);
    assert_int_equal(clock_days_in_month(2000, 2), 29);
    assert_int_equal(clock_days_in_month(2100, 2), 28);
    assert_int_equal(clock_days_in_month(2026, 4), 30);
    assert_int_equal(clock_days_in_month(2026, 6), 30);
    assert_int_equal(clock_days_in_month(2026, 9), 30);
    assert_int_equal(clock_days_in_month(2026, 11), 30);
    assert_int_equal(clock_days_in_month(2026, 7), 31);
    assert_int_equal(clock_days_in_month(2026, 8), 31);
    assert_int_equal(clock_days_in_month(2026, 12), 31);
    assert_int_equal(clock_days_in_month(2026, 0), 0);
    assert_int_equal(clock_days_in_month(2026, 13), 0);
}

static void test_weekday(void **state)
{
    assert_int_equal(clock_weekday(1970, 1, 1), 4);   /* Thursday */
    assert_int_equal(clock_weekday(2026, 1, 30), 5);  /* Friday */
    assert_int_equal(clock_weekday(2026, 2, 28), 6);  /* Saturday */
    assert_int_equal(clock_weekday(2026, 3, 1), 0);   /* Sunday */
    assert_int_equal(clock_weekday(2026, 3, 2), 1);   /* Monday */
    assert_int_equal(clock_weekday(2028, 2, 29), 2);  /* Tuesday */
    assert_int_equal(clock_weekday(2025, 4, 27), 0);  /* Sunday */
    assert_int_equal(clock_weekday(2000, 1, 1), 6);   /* Saturday */
    assert_int_equal(clock_weekday(1969, 12, 31), 3); /* Wednesday */
}

/* ---- parsing ---------------------------------------------------------- */

static void test_parse_offsets(void **state)
{
    assert_int_equal(parse_ok("2026-02-05T08:15:00Z"), T_20260205_0815Z);
    assert_int_equal(parse_ok("2026-02-05T08:15:00+00:00"), T_20260205_0815Z);
    assert_int_equal(parse_ok("2026-02-05T08:15:00-00:00"), T_20260205_0815Z);
    assert_int_equal(parse_ok("2026-02-05T09:15:00+01:00"), T_20260205_0815Z);
    assert_int_equal(parse_ok("2026-02-05T10:15:00+02:00"), T_20260205_0815Z);
    assert_int_equal(parse_ok("2026-02-05T03:15:00-05:00"), T_20260205_0815Z);
    assert_int_equal(parse_ok("2026-02-05T13:45:00+05:30"), T_20260205_0815Z);
    /* Offsets move the date: 23:15-09:00 on the 4th is 08:15Z on the 5th. */
    assert_int_equal(parse_ok("2026-02-04T23:15:00-09:00"), T_20260205_0815Z);
    assert_int_equal(parse_ok("2026-02-06T08:14:00+23:59"), T_20260205_0815Z);
    assert_int_equal(parse_ok("2026-02-04T08:16:00-23:59"), T_20260205_0815Z);
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_ok("1970-01-01T01:00:00+01:00"), 0);
    assert_int_equal(parse_ok("1969-12-31T23:59:59Z"), -1);
    assert_int_equal(parse_ok("2000-01-01T00:00:00Z"), 946684800);
    assert_int_equal(parse_ok("2038-01-19T03:14:07Z"), INT64_C(2147483647));
    assert_int_equal(parse_ok("2038-01-19T03:14:08Z"), INT64_C(2147483648));
}

static void test_parse_lowercase_and_fraction(void **state)
{
    assert_int_equal(parse_ok("2026-02-05t08:15:00z"), T_20260205_0815Z);
    assert_int_equal(parse_ok("2026-02-05t09:15:00+01:00"), T_20260205_0815Z);
    /* Fractions are truncated, never rounded. */
    assert_int_equal(parse_ok("2026-02-05T08:15:00.0Z"), T_20260205_0815Z);
    assert_int_equal(parse_ok("2026-02-05T08:15:00.5Z"), T_20260205_0815Z);
    assert_int_equal(parse_ok("2026-02-05T08:15:00.999Z"), T_20260205_0815Z);
    assert_int_equal(parse_ok("2026-02-05T08:15:00.999999999+00:00"), T_20260205_0815Z);
    assert_int_equal(parse_ok("2026-02-05T09:15:00.123456+01:00"), T_20260205_0815Z);
    assert_int_equal(parse_ok("2026-02-05T08:15:59.9999Z"), T_20260205_0815Z + 59);
    assert_int_equal(parse_ok("1969-12-31T23:59:59.999Z"), -1);
}

static void test_parse_calendar_limits(void **state)
{
    /* Leap days: 2024 and 2000 have one, 2100 does not. */
    assert_int_equal(parse_ok("2024-02-29T12:00:00Z"), INT64_C(1709208000));
    assert_int_equal(parse_ok("2000-02-29T00:00:00Z"), 946684800 + 59 * DAY);
    assert_int_equal(parse_ok("2026-12-31T23:59:59Z"),
                     (clock_days_from_civil(2027, 1, 1)) * DAY - 1);
    assert_int_equal(parse_ok("2027-01-01T00:00:00Z"), INT64_C(1798761600));
    assert_int_equal(parse_ok("0000-01-01T00:00:00Z"), INT64_C(-62167219200));
    assert_int_equal(parse_ok("0001-01-01T00:00:00Z"), INT64_C(-62135596800));
    assert_int_equal(parse_ok("9999-12-31T23:59:59Z"), INT64_C(253402300799));
    assert_int_equal(parse_ok("2026-02-05T23:59:59Z"), T_20260205_0815Z + 15 * HOUR + 44 * 60 + 59);
}

static void test_parse_rejects(void **state)
{
    assert_rejected(NULL);
    assert_rejected("");
    assert_rejected("2026");
    assert_rejected("2026-02-05");
    assert_rejected("2026-02-05T");
    assert_rejected("2026-02-05T08:15");
    assert_rejected("2026-02-05T08:15Z");
    assert_rejected("2026-02-05T08:15:00");       /* missing offset */
    assert_rejected("2026-02-05 08:15:00Z");      /* space for T */
    assert_rejected("2026-02-05x08:15:00Z");      /* neither T nor t */
    assert_rejected("2026-02-30T00:00:00Z");      /* no 30 February */
    assert_rejected("2025-02-29T00:00:00Z");      /* 2025 is not a leap year */
    assert_rejected("2100-02-29T00:00:00Z");      /* nor is 2100 */
    assert_rejected("2026-04-31T00:00:00Z");      /* April has 30 days */
    assert_rejected("2026-13-01T00:00:00Z");      /* month 13 */
    assert_rejected("2026-00-01T00:00:00Z");      /* month 0 */
    assert_rejected("2026-01-00T00:00:00Z");      /* day 0 */
    assert_rejected("2026-01-32T00:00:00Z");      /* day 32 */
    assert_rejected("2026-02-05T24:00:00Z");      /* hour 24 */
    assert_rejected("2026-02-05T08:60:00Z");      /* minute 60 */
    assert_rejected("2026-02-05T08:15:60Z");      /* second 60 (no leap seconds) */
    assert_rejected("2026-02-05T08:15:61Z");      /* second 61 */
    assert_rejected("2026-02-05T08:15:00+24:00"); /* offset beyond ±23:59 */
    assert_rejected("2026-02-05T08:15:00-24:00");
    assert_rejected("2026-02-05T08:15:00+23:60");
    assert_rejected("2026-02-05T08:15:00+0100"); /* no colon */
    assert_rejected("2026-02-05T08:15:00+01");
    assert_rejected("2026-02-05T08:15:00+1:00");
    assert_rejected("2026-02-05T08:15:00 +01:00");
    assert_rejected("2026-02-05T08:15:00Zx"); /* trailing garbage */
    assert_rejected("2026-02-05T08:15:00Z ");
    assert_rejected("2026-02-05T08:15:00+01:00 ");
    assert_rejected("2026-02-05T08:15:00+01:000");
    assert_rejected("2026-02-05T08:15:00ZZ");
    assert_rejected("2026-02-05T08:15:00.Z"); /* a dot without digits */
    assert_rejected("2026-02-05T08:15:00,5Z");
    assert_rejected("2026-02-05T08:15:00.5");
    assert_rejected("26-02-05T08:15:00Z"); /* year not 4 digits */
    assert_rejected("20260-02-05T08:15:00Z");
    assert_rejected("+2026-02-05T08:15:00Z");
    assert_rejected("-0001-02-05T08:15:00Z");
    assert_rejected("2026-2-05T08:15:00Z");
    assert_rejected("2026-02-5T08:15:00Z");
    assert_rejected("2026-02-05T8:15:00Z");
    assert_rejected("2026/02/05T08:15:00Z");
    assert_rejected("2026-02-05T08-15-00Z");
    assert_rejected(" 2026-02-05T08:15:00Z");
    assert_rejected("2026-0a-05T08:15:00Z");
    assert_rejected("2026-02-05T08:15:00+0a:00");

    obligo_time t;
    assert_int_equal(clock_parse_rfc3339("2026-02-05T08:15:00Z", NULL), OBLIGO_EINVAL);
    assert_int_equal(clock_parse_date("2026-02-05", NULL), OBLIGO_EINVAL);
    assert_int_equal(clock_parse_any(NULL, &t), OBLIGO_EINVAL);
}

static void test_parse_date(void **state)
{
    obligo_time t = 0;
    /* Midnight CET is 23:00 UTC the day before. */
    assert_int_equal(clock_parse_date("2026-02-05", &t), 0);
    assert_int_equal(t, INT64_C(1770246000));
    assert_int_equal(t, T_20260205_0815Z - 8 * HOUR - 15 * 60 - HOUR);
    /* Midnight CEST is 22:00 UTC the day before. */
    assert_int_equal(clock_parse_date("2026-07-01", &t), 0);
    assert_int_equal(t, clock_days_from_civil(2026, 7, 1) * DAY - 2 * HOUR);
    /* On the switch days midnight still has the old offset. */
    assert_int_equal(clock_parse_date("2026-03-29", &t), 0);
    assert_int_equal(t, clock_days_from_civil(2026, 3, 29) * DAY - HOUR);
    assert_int_equal(clock_parse_date("2025-10-26", &t), 0);
    assert_int_equal(t, clock_days_from_civil(2025, 10, 26) * DAY - 2 * HOUR);
    assert_int_equal(clock_parse_date("2024-02-29", &t), 0);
    assert_int_equal(t, INT64_C(1709208000) - 13 * HOUR);

    t = 42;
    assert_int_equal(clock_parse_date(NULL, &t), OBLIGO_EINVAL);
    assert_int_equal(clock_parse_date("", &t), OBLIGO_EINVAL);
    assert_int_equal(clock_parse_date("2026-02-30", &t), OBLIGO_EINVAL);
    assert_int_equal(clock_parse_date("2025-02-29", &t), OBLIGO_EINVAL);
    assert_int_equal(clock_parse_date("2026-13-01", &t), OBLIGO_EINVAL);
    assert_int_equal(clock_parse_date("2026-02-05T", &t), OBLIGO_EINVAL);
    assert_int_equal(clock_parse_date("2026-02-05Z", &t), OBLIGO_EINVAL);
    assert_int_equal(clock_parse_date("2026-02-05 ", &t), OBLIGO_EINVAL);
    assert_int_equal(clock_parse_date("2026-02-0", &t), OBLIGO_EINVAL);
    assert_int_equal(clock_parse_date("2026-02-05T08:15:00Z", &t), OBLIGO_EINVAL);
    assert_int_equal(t, 42);
}

static void test_parse_any(void **state)
{
    obligo_time t = 0;
    assert_int_equal(clock_parse_any("2026-02-05T09:15:00+01:00", &t), 0);
    assert_int_equal(t, T_20260205_0815Z);
    assert_int_equal(clock_parse_any("2026-02-05", &t), 0);
    assert_int_equal(t, INT64_C(1770246000));
    t = 42;
    assert_int_equal(clock_parse_any("", &t), OBLIGO_EINVAL);
    assert_int_equal(clock_parse_any("2026-02-30", &t), OBLIGO_EINVAL);
    assert_int_equal(clock_parse_any("2026-02-05T08:15:00", &t), OBLIGO_EINVAL);
    assert_int_equal(clock_parse_any("2026-02-05 08:15:00Z", &t), OBLIGO_EINVAL);
    assert_int_equal(clock_parse_any("2026-02-05x", &t), OBLIGO_EINVAL);
    assert_int_equal(t, 42);
}

/* ---- formatting ------------------------------------------------------- */

static void test_format(void **state)
{
    char utc[CLOCK_RFC3339_LEN];
    char local[26];
    clock_format_utc(T_20260205_0815Z, utc);
    assert_string_equal(utc, "2026-02-05T08:15:00Z");
    clock_format_local(T_20260205_0815Z, local);
    assert_string_equal(local, "2026-02-05T09:15:00+01:00");

    clock_format_utc(0, utc);
    assert_string_equal(utc, "1970-01-01T00:00:00Z");
    clock_format_utc(-1, utc);
    assert_string_equal(utc, "1969-12-31T23:59:59Z");
    clock_format_local(-1, local);
    assert_string_equal(local, "1970-01-01T00:59:59+01:00");

    /* Summer time: 2026-07-01T10:00:00Z is noon CEST. */
    obligo_time summer = clock_days_from_civil(2026, 7, 1) * DAY + 10 * HOUR;
    clock_format_utc(summer, utc);
    assert_string_equal(utc, "2026-07-01T10:00:00Z");
    clock_format_local(summer, local);
    assert_string_equal(local, "2026-07-01T12:00:00+02:00");

    /* A local date differing from the UTC date. */
    clock_format_local(clock_days_from_civil(2026, 12, 31) * DAY + 23 * HOUR + 30 * 60, local);
    assert_string_equal(local, "2027-01-01T00:30:00+01:00");
}

static void test_format_clamps(void **state)
{
    /* Exactly sized buffers: ASan catches any byte written past them. */
    char *utc = malloc(CLOCK_RFC3339_LEN);
    char *local = malloc(26);
    assert_non_null(utc);
    assert_non_null(local);
    clock_format_utc(INT64_C(253402300799), utc);
    assert_string_equal(utc, "9999-12-31T23:59:59Z");
    clock_format_utc(INT64_C(-62167219200), utc);
    assert_string_equal(utc, "0000-01-01T00:00:00Z");
    clock_format_utc(INT64_MAX, utc);
    assert_string_equal(utc, "9999-12-31T23:59:59Z");
    clock_format_utc(INT64_MIN, utc);
    assert_string_equal(utc, "0000-01-01T00:00:00Z");
    clock_format_local(INT64_MAX, local);
    assert_int_equal(strlen(local), 25);
    assert_memory_equal(local, "9999-12-31T23:59:59", 19);
    clock_format_local(INT64_MIN, local);
    assert_int_equal(strlen(local), 25);
    assert_memory_equal(local, "0000-01-01T00:00:00", 19);
    free(utc);
    free(local);
}

static void test_round_trip(void **state)
{
    static const char *const utc_texts[] = {
        "2026-02-05T08:15:00Z", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
        "2000-02-29T12:34:56Z", "2025-10-26T00:59:59Z", "2025-10-26T01:00:00Z",
        "2026-03-29T01:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
    };
    char buf[CLOCK_RFC3339_LEN];
    for (size_t i = 0; i < sizeof utc_texts / sizeof *utc_texts; i++) {
        clock_format_utc(parse_ok(utc_texts[i]), buf);
        assert_string_equal(buf, utc_texts[i]);
    }
    static const char *const local_texts[] = {
        "2026-02-05T09:15:00+01:00", "2026-07-01T12:00:00+02:00",
        "2025-10-26T02:30:00+02:00", /* first 02:30 of the overlap */
        "2025-10-26T02:30:00+01:00", /* second 02:30 */
        "2026-03-29T01:59:59+01:00", "2026-03-29T03:00:00+02:00",
        "2026-12-31T23:59:59+01:00",
    };
    char lbuf[26];
    for (size_t i = 0; i < sizeof local_texts / sizeof *local_texts; i++) {
        clock_format_local(parse_ok(local_texts[i]), lbuf);
        assert_string_equal(lbuf, local_texts[i]);
    }
    /* And every hour for ten years: parse(format(t)) == t both ways. */
    for (obligo_time t = parse_ok("2024-01-01T00:00:00Z"); t < parse_ok("2034-01-01T00:00:00Z");
         t += HOUR + 7) {
        obligo_time back;
        clock_format_utc(t, buf);
        assert_int_equal(clock_parse_rfc3339(buf, &back), 0);
        assert_int_equal(back, t);
        clock_format_local(t, lbuf);
        assert_int_equal(clock_parse_rfc3339(lbuf, &back), 0);
        assert_int_equal(back, t);
    }
}

/* ---- Europe/Amsterdam ------------------------------------------------- */

static void test_dst_offsets(void **state)
{
    /* 2025: last Sundays are 30 March and 26 October. */
    obligo_time spring25 = INT64_C(1743296400); /* 2025-03-30T01:00:00Z */
    obligo_time autumn25 = INT64_C(1761440400); /* 2025-10-26T01:00:00Z */
    assert_int_equal(spring25, clock_days_from_civil(2025, 3, 30) * DAY + HOUR);
    assert_int_equal(autumn25, clock_days_from_civil(2025, 10, 26) * DAY + HOUR);
    assert_int_equal(clock_ams_offset(spring25 - 1), 3600);
    assert_int_equal(clock_ams_offset(spring25), 7200);
    assert_int_equal(clock_ams_offset(autumn25 - 1), 7200);
    assert_int_equal(clock_ams_offset(autumn25), 3600);
    /* 2026: 29 March and 25 October. */
    obligo_time spring26 = INT64_C(1774746000); /* 2026-03-29T01:00:00Z */
    obligo_time autumn26 = INT64_C(1792890000); /* 2026-10-25T01:00:00Z */
    assert_int_equal(clock_ams_offset(spring26 - 1), 3600);
    assert_int_equal(clock_ams_offset(spring26), 7200);
    assert_int_equal(clock_ams_offset(autumn26 - 1), 7200);
    assert_int_equal(clock_ams_offset(autumn26), 3600);
    /* A week either side is unaffected: 2026-03-22 and 2026-11-01. */
    assert_int_equal(clock_ams_offset(spring26 - 7 * DAY), 3600);
    assert_int_equal(clock_ams_offset(spring26 + 7 * DAY), 7200);
    assert_int_equal(clock_ams_offset(autumn26 + 7 * DAY), 3600);
    /* Winter, summer, new year's midnight on both sides. */
    assert_int_equal(clock_ams_offset(T_20260205_0815Z), 3600);
    assert_int_equal(clock_ams_offset(clock_days_from_civil(2026, 7, 1) * DAY), 7200);
    assert_int_equal(clock_ams_offset(clock_days_from_civil(2027, 1, 1) * DAY - 1), 3600);
    assert_int_equal(clock_ams_offset(0), 3600);
    /* 2027: 28 March and 31 October (a 31st). */
    assert_int_equal(clock_ams_offset(clock_days_from_civil(2027, 3, 28) * DAY + HOUR - 1), 3600);
    assert_int_equal(clock_ams_offset(clock_days_from_civil(2027, 3, 28) * DAY + HOUR), 7200);
    assert_int_equal(clock_ams_offset(clock_days_from_civil(2027, 10, 31) * DAY + HOUR - 1), 7200);
    assert_int_equal(clock_ams_offset(clock_days_from_civil(2027, 10, 31) * DAY + HOUR), 3600);
    /* Extremes do not overflow. */
    int off = clock_ams_offset(INT64_MAX);
    assert_true(off == 3600 || off == 7200);
    off = clock_ams_offset(INT64_MIN);
    assert_true(off == 3600 || off == 7200);
}

static void assert_civil(const civil *c, int y, int mo, int d, int h, int mi, int s)
{
    assert_int_equal(c->year, y);
    assert_int_equal(c->month, mo);
    assert_int_equal(c->day, d);
    assert_int_equal(c->hour, h);
    assert_int_equal(c->min, mi);
    assert_int_equal(c->sec, s);
}

static void test_to_ams(void **state)
{
    civil c;
    clock_to_ams(INT64_C(1743296400) - 1, &c); /* 2025-03-30T00:59:59Z */
    assert_civil(&c, 2025, 3, 30, 1, 59, 59);
    clock_to_ams(INT64_C(1743296400), &c); /* clocks jump to 03:00 */
    assert_civil(&c, 2025, 3, 30, 3, 0, 0);
    clock_to_ams(INT64_C(1761440400) - 1, &c); /* 2025-10-26T00:59:59Z */
    assert_civil(&c, 2025, 10, 26, 2, 59, 59);
    clock_to_ams(INT64_C(1761440400), &c); /* back to 02:00 */
    assert_civil(&c, 2025, 10, 26, 2, 0, 0);
    clock_to_ams(T_20260205_0815Z, &c);
    assert_civil(&c, 2026, 2, 5, 9, 15, 0);
    clock_to_ams(-1, &c);
    assert_civil(&c, 1970, 1, 1, 0, 59, 59);
    /* 2026-06-30T22:00:00Z is midnight 1 July. */
    clock_to_ams(clock_days_from_civil(2026, 7, 1) * DAY - 2 * HOUR, &c);
    assert_civil(&c, 2026, 7, 1, 0, 0, 0);
    clock_to_ams(INT64_MAX, &c); /* no overflow */
    clock_to_ams(INT64_MIN, &c);
}

static void test_from_ams(void **state)
{
    civil c = {2026, 2, 5, 9, 15, 0};
    assert_int_equal(clock_from_ams(&c), T_20260205_0815Z);
    c = (civil){2026, 7, 1, 12, 0, 0};
    assert_int_equal(clock_from_ams(&c), clock_days_from_civil(2026, 7, 1) * DAY + 10 * HOUR);

    /* Spring gap 2026-03-29: 02:30 does not exist, it becomes 03:30 CEST. */
    obligo_time d0329 = clock_days_from_civil(2026, 3, 29) * DAY;
    c = (civil){2026, 3, 29, 2, 30, 0};
    assert_int_equal(clock_from_ams(&c), d0329 + HOUR + 30 * 60); /* 01:30Z */
    c = (civil){2026, 3, 29, 2, 0, 0};
    assert_int_equal(clock_from_ams(&c), d0329 + HOUR); /* 03:00 CEST */
    c = (civil){2026, 3, 29, 1, 59, 59};
    assert_int_equal(clock_from_ams(&c), d0329 + 59 * 60 + 59); /* still CET */
    c = (civil){2026, 3, 29, 3, 0, 0};
    assert_int_equal(clock_from_ams(&c), d0329 + HOUR);
    c = (civil){2026, 3, 29, 3, 30, 0};
    assert_int_equal(clock_from_ams(&c), d0329 + HOUR + 30 * 60);

    /* Autumn overlap 2025-10-26: 02:30 happens twice; the first is taken. */
    obligo_time d1026 = clock_days_from_civil(2025, 10, 26) * DAY;
    c = (civil){2025, 10, 26, 2, 30, 0};
    assert_int_equal(clock_from_ams(&c), d1026 + 30 * 60); /* 00:30Z, CEST */
    c = (civil){2025, 10, 26, 2, 0, 0};
    assert_int_equal(clock_from_ams(&c), d1026); /* 00:00Z, CEST */
    c = (civil){2025, 10, 26, 2, 59, 59};
    assert_int_equal(clock_from_ams(&c), d1026 + 59 * 60 + 59);
    c = (civil){2025, 10, 26, 3, 0, 0};
    assert_int_equal(clock_from_ams(&c), d1026 + 2 * HOUR); /* CET */
    c = (civil){2025, 10, 26, 1, 59, 59};
    assert_int_equal(clock_from_ams(&c), d1026 - 1); /* 23:59:59Z the day before */
    /* The 2026 overlap on 25 October. */
    c = (civil){2026, 10, 25, 2, 30, 0};
    assert_int_equal(clock_from_ams(&c), clock_days_from_civil(2026, 10, 25) * DAY + 30 * 60);

    /* Every non-gap local time of a year survives the round trip. */
    for (obligo_time t = clock_days_from_civil(2025, 1, 1) * DAY;
         t < clock_days_from_civil(2026, 1, 1) * DAY; t += 15 * 60) {
        clock_to_ams(t, &c);
        obligo_time back = clock_from_ams(&c);
        if (t >= d1026 + HOUR && t < d1026 + 2 * HOUR)
            assert_int_equal(back, t - HOUR); /* second 02:xx maps to the first */
        else
            assert_int_equal(back, t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days_from_civil),
        cmocka_unit_test(test_civil_from_days),
        cmocka_unit_test(test_civil_round_trip),
        cmocka_unit_test(test_civil_from_days_extremes),
        cmocka_unit_test(test_days_in_month),
        cmocka_unit_test(test_weekday),
        cmocka_unit_test(test_parse_offsets),
        cmocka_unit_test(test_parse_lowercase_and_fraction),
        cmocka_unit_test(test_parse_calendar_limits),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_parse_date),
        cmocka_unit_test(test_parse_any),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_clamps),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_dst_offsets),
        cmocka_unit_test(test_to_ams),
        cmocka_unit_test(test_from_ams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
