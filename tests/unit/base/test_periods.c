/*
 * test_periods.c — unit tests for periods.c: Dutch public holidays and the
 * counting of hours, days, months and years (DOMAIN.md "How periods are
 * counted", EU Regulation 1182/71 art. 3).
 *
 * Every expected value is worked out by hand from the law and the calendar
 * (weekdays, Easter dates, the DST switch at 01:00 UTC on the last Sundays of
 * March and October) and written as UTC text; the RFC 3339 parser that reads
 * it is tested on its own in test_clock.c, and two anchors below are also
 * given as plain epoch seconds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "clock.h"
#include "periods.h"

static obligo_time at(const char *s)
{
    obligo_time t = 0;
    if (clock_parse_rfc3339(s, &t) != 0)
        fail_msg("bad test time %s", s);
    return t;
}

static period P(period_unit unit, int64_t n)
{
    period p = {unit, n};
    return p;
}

struct case_ {
    const char *from; /* any offset */
    period_unit unit;
    int64_t n;
    const char *due; /* UTC */
    const char *why;
};

static void check_due(const struct case_ *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        obligo_time got = periods_due(at(cases[i].from), P(cases[i].unit, cases[i].n));
        obligo_time want = at(cases[i].due);
        if (got != want) {
            char buf[CLOCK_RFC3339_LEN];
            clock_format_utc(got, buf);
            fail_msg("%s: %s + %lld -> %s, want %s", cases[i].why, cases[i].from,
                     (long long)cases[i].n, buf, cases[i].due);
        }
        /* Only hours have a separate outer limit. */
        if (cases[i].unit != PERIOD_HOURS)
            assert_int_equal(periods_legal_limit(at(cases[i].from), P(cases[i].unit, cases[i].n)),
                             want);
    }
}

/* ---- Easter and holidays ---------------------------------------------- */

static void test_easter(void **state)
{
    static const int known[][3] = {
        {2025, 4, 20}, {2026, 4, 5},  {2027, 3, 28}, {2028, 4, 16},
        {2029, 4, 1},  {2030, 4, 21}, {2031, 4, 13}, {2024, 3, 31},
        {2019, 4, 21}, {2000, 4, 23}, {2008, 3, 23}, {2038, 4, 25}, /* the latest possible date */
        {1943, 4, 25}, {1818, 3, 22},                               /* the earliest possible date */
        {2285, 3, 22}, {1961, 4, 2},  {1583, 4, 10},
    };
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
        int m = 0, d = 0;
        periods_easter(known[i][0], &m, &d);
        if (m != known[i][1] || d != known[i][2])
            fail_msg("Easter %d: got %d-%d", known[i][0], m, d);
    }
    /* Always a Sunday between 22 March and 25 April. */
    for (int y = 1583; y <= 4099; y++) {
        int m, d;
        periods_easter(y, &m, &d);
        assert_int_equal(clock_weekday(y, m, d), 0);
        assert_true((m == 3 && d >= 22) || (m == 4 && d <= 25));
    }
}

/* Every Dutch public holiday 2025-2030, computed by hand from the Easter
 * dates 2025-04-20, 2026-04-05, 2027-03-28, 2028-04-16, 2029-04-01 and
 * 2030-04-21: Good Friday -2, Easter Monday +1, Ascension +39, Pentecost
 * +49/+50. Koningsdag 2025 is the 26th (27 April 2025 is a Sunday). */
static const int holidays_2025_2030[][3] = {
    /* 2025 */
    {2025, 1, 1},
    {2025, 4, 18},
    {2025, 4, 20},
    {2025, 4, 21},
    {2025, 4, 26},
    {2025, 5, 5},
    {2025, 5, 29},
    {2025, 6, 8},
    {2025, 6, 9},
    {2025, 12, 25},
    {2025, 12, 26},
    /* 2026 */
    {2026, 1, 1},
    {2026, 4, 3},
    {2026, 4, 5},
    {2026, 4, 6},
    {2026, 4, 27},
    {2026, 5, 5},
    {2026, 5, 14},
    {2026, 5, 24},
    {2026, 5, 25},
    {2026, 12, 25},
    {2026, 12, 26},
    /* 2027 */
    {2027, 1, 1},
    {2027, 3, 26},
    {2027, 3, 28},
    {2027, 3, 29},
    {2027, 4, 27},
    {2027, 5, 5},
    {2027, 5, 6},
    {2027, 5, 16},
    {2027, 5, 17},
    {2027, 12, 25},
    {2027, 12, 26},
    /* 2028 */
    {2028, 1, 1},
    {2028, 4, 14},
    {2028, 4, 16},
    {2028, 4, 17},
    {2028, 4, 27},
    {2028, 5, 5},
    {2028, 5, 25},
    {2028, 6, 4},
    {2028, 6, 5},
    {2028, 12, 25},
    {2028, 12, 26},
    /* 2029 */
    {2029, 1, 1},
    {2029, 3, 30},
    {2029, 4, 1},
    {2029, 4, 2},
    {2029, 4, 27},
    {2029, 5, 5},
    {2029, 5, 10},
    {2029, 5, 20},
    {2029, 5, 21},
    {2029, 12, 25},
    {2029, 12, 26},
    /* 2030 */
    {2030, 1, 1},
    {2030, 4, 19},
    {2030, 4, 21},
    {2030, 4, 22},
    {2030, 4, 27},
    {2030, 5, 5},
    {2030, 5, 30},
    {2030, 6, 9},
    {2030, 6, 10},
    {2030, 12, 25},
    {2030, 12, 26},
};

static void test_holidays_2025_2030(void **state)
{
    size_t count = sizeof holidays_2025_2030 / sizeof *holidays_2025_2030;
    assert_int_equal(count, 66); /* 11 a year */
    for (size_t i = 0; i < count; i++) {
        const int *h = holidays_2025_2030[i];
        if (!periods_is_holiday(h[0], h[1], h[2]))
            fail_msg("%04d-%02d-%02d should be a holiday", h[0], h[1], h[2]);
        assert_true(periods_is_non_working(h[0], h[1], h[2]));
    }
    /* And no other day of those six years is one. */
    int found = 0;
    for (int y = 2025; y <= 2030; y++)
        for (int m = 1; m <= 12; m++)
            for (int d = 1; d <= clock_days_in_month(y, m); d++)
                if (periods_is_holiday(y, m, d)) {
                    found++;
                    int listed = 0;
                    for (size_t i = 0; i < count; i++)
                        if (holidays_2025_2030[i][0] == y && holidays_2025_2030[i][1] == m &&
                            holidays_2025_2030[i][2] == d)
                            listed = 1;
                    if (!listed)
                        fail_msg("%04d-%02d-%02d is not a holiday", y, m, d);
                }
    assert_int_equal(found, 66);
}

static void test_koningsdag(void **state)
{
    /* 27 April 2025 and 2031 are Sundays: Koningsdag moves to Saturday 26. */
    assert_true(periods_is_holiday(2025, 4, 26));
    assert_false(periods_is_holiday(2025, 4, 27));
    assert_true(periods_is_non_working(2025, 4, 27)); /* still a Sunday */
    assert_true(periods_is_holiday(2031, 4, 26));
    assert_false(periods_is_holiday(2031, 4, 27));
    assert_true(periods_is_holiday(2014, 4, 26)); /* the first one, also moved */
    assert_false(periods_is_holiday(2014, 4, 27));
    /* Otherwise the 27th, and the 26th is ordinary. */
    assert_true(periods_is_holiday(2026, 4, 27)); /* a Monday */
    assert_true(periods_is_non_working(2026, 4, 27));
    assert_false(periods_is_holiday(2026, 4, 26));
    assert_true(periods_is_holiday(2030, 4, 27)); /* a Saturday: not moved */
    assert_false(periods_is_holiday(2030, 4, 26));
    assert_false(periods_is_holiday(2026, 4, 28));
    assert_false(periods_is_holiday(2026, 4, 30)); /* the old Koninginnedag */
}

static void test_non_holidays(void **state)
{
    assert_false(periods_is_holiday(2026, 12, 24)); /* Christmas Eve */
    assert_false(periods_is_non_working(2026, 12, 24));
    assert_true(periods_is_holiday(2026, 12, 26)); /* Boxing Day */
    assert_false(periods_is_holiday(2026, 12, 31));
    assert_false(periods_is_holiday(2026, 1, 2));
    assert_false(periods_is_holiday(2026, 4, 2)); /* Maundy Thursday */
    assert_false(periods_is_holiday(2026, 4, 4)); /* Holy Saturday */
    assert_true(periods_is_non_working(2026, 4, 4));
    assert_false(periods_is_holiday(2026, 4, 7));
    assert_false(periods_is_holiday(2026, 5, 4));  /* Dodenherdenking */
    assert_false(periods_is_holiday(2026, 5, 15)); /* day after Ascension */
    assert_false(periods_is_holiday(2026, 5, 26));
    assert_false(periods_is_holiday(2026, 12, 5)); /* Sinterklaas */
    assert_false(periods_is_holiday(2025, 4, 22));
    /* Ordinary weekdays and weekend days. */
    assert_false(periods_is_non_working(2026, 2, 5)); /* Thursday */
    assert_false(periods_is_non_working(2026, 3, 2)); /* Monday */
    assert_true(periods_is_non_working(2026, 2, 28)); /* Saturday */
    assert_true(periods_is_non_working(2026, 3, 1));  /* Sunday */
    /* Impossible dates are no holidays. */
    assert_false(periods_is_holiday(2026, 13, 1));
    assert_false(periods_is_holiday(2026, 2, 30));
    assert_false(periods_is_holiday(2026, 0, 0));
}

/* ---- hours ------------------------------------------------------------ */

static void test_hours(void **state)
{
    static const struct case_ cases[] = {
        {"2025-10-24T18:00:00+02:00", PERIOD_HOURS, 72, "2025-10-27T16:00:00Z",
         "autumn DST: Fri 18:00 CEST + 72 h = Mon 17:00 CET"},
        {"2026-03-27T18:00:00+01:00", PERIOD_HOURS, 72, "2026-03-30T17:00:00Z",
         "spring DST: Fri 18:00 CET + 72 h = Mon 19:00 CEST"},
        {"2026-02-02T09:15:00+01:00", PERIOD_HOURS, 72, "2026-02-05T08:15:00Z", "plain 72 h"},
        {"2026-04-02T12:00:00+02:00", PERIOD_HOURS, 72, "2026-04-05T10:00:00Z",
         "holidays are not skipped (Good Friday, Easter)"},
        {"2026-02-02T09:15:00+01:00", PERIOD_HOURS, 24, "2026-02-03T08:15:00Z", "NIS2 24 h"},
        {"2026-02-02T09:15:00+01:00", PERIOD_HOURS, 0, "2026-02-02T08:15:00Z", "zero"},
        {"2026-02-02T09:15:00+01:00", PERIOD_HOURS, -2, "2026-02-02T06:15:00Z", "negative"},
    };
    check_due(cases, sizeof cases / sizeof *cases);
    /* The same in plain epoch seconds: 2025-10-24T16:00:00Z + 259200. */
    assert_int_equal(periods_due(INT64_C(1761321600), P(PERIOD_HOURS, 72)), INT64_C(1761580800));
}

static void test_hours_legal_limit(void **state)
{
    /* Awareness 09:15 CET: due 72 h later; the outer limit starts at 10:00. */
    obligo_time aware = at("2026-02-02T09:15:00+01:00");
    assert_int_equal(periods_due(aware, P(PERIOD_HOURS, 72)), at("2026-02-05T08:15:00Z"));
    assert_int_equal(periods_legal_limit(aware, P(PERIOD_HOURS, 72)), at("2026-02-05T09:00:00Z"));
    /* 21:40 -> 22:00 + 72 h. */
    assert_int_equal(periods_legal_limit(at("2026-02-02T21:40:00+01:00"), P(PERIOD_HOURS, 72)),
                     at("2026-02-05T21:00:00Z"));
    assert_int_equal(periods_legal_limit(at("2026-02-02T21:40:00.999+01:00"), P(PERIOD_HOURS, 72)),
                     at("2026-02-05T21:00:00Z"));
    /* Exactly 21:00:00: that hour is the event's own, so 22:00 + 72 h. */
    assert_int_equal(periods_legal_limit(at("2026-02-02T21:00:00+01:00"), P(PERIOD_HOURS, 72)),
                     at("2026-02-05T21:00:00Z"));
    assert_int_equal(periods_legal_limit(at("2026-02-02T21:59:59+01:00"), P(PERIOD_HOURS, 72)),
                     at("2026-02-05T21:00:00Z"));
    /* Across the autumn change: 18:00 CEST -> 19:00 CEST + 72 h = 18:00 CET. */
    assert_int_equal(periods_legal_limit(at("2025-10-24T18:00:00+02:00"), P(PERIOD_HOURS, 72)),
                     at("2025-10-27T17:00:00Z"));
    /* Zero hours: the next full hour. Before the epoch, floor not truncate. */
    assert_int_equal(periods_legal_limit(at("2026-02-02T09:15:00+01:00"), P(PERIOD_HOURS, 0)),
                     at("2026-02-02T09:00:00Z"));
    assert_int_equal(periods_legal_limit(-1, P(PERIOD_HOURS, 0)), 0);
    assert_int_equal(periods_legal_limit(-3600, P(PERIOD_HOURS, 0)), 0);
    assert_int_equal(periods_legal_limit(-3601, P(PERIOD_HOURS, 0)), -3600);
    assert_int_equal(periods_legal_limit(0, P(PERIOD_HOURS, 1)), 7200);
}

/* ---- days ------------------------------------------------------------- */

static void test_days(void **state)
{
    static const struct case_ cases[] = {
        {"2026-05-05T10:00:00+02:00", PERIOD_DAYS, 14, "2026-05-19T08:00:00Z", "14 days"},
        {"2026-03-20T10:00:00+01:00", PERIOD_DAYS, 14, "2026-04-03T08:00:00Z",
         "across spring DST: still 10:00 local, Good Friday not skipped"},
        {"2025-10-20T10:00:00+02:00", PERIOD_DAYS, 7, "2025-10-27T09:00:00Z",
         "across autumn DST: still 10:00 local"},
        {"2026-01-30T11:00:00+01:00", PERIOD_DAYS, 30, "2026-03-01T10:00:00Z",
         "weekends are not skipped"},
        {"2026-02-27T23:30:00Z", PERIOD_DAYS, 1, "2026-02-28T23:30:00Z",
         "Amsterdam date Feb 28 00:30 -> Mar 1 00:30"},
        {"2026-12-31T12:00:00+01:00", PERIOD_DAYS, 1, "2027-01-01T11:00:00Z", "year wrap"},
        {"2026-03-28T02:30:00+01:00", PERIOD_DAYS, 1, "2026-03-29T01:30:00Z",
         "02:30 in the gap becomes 03:30 CEST"},
        {"2025-10-25T02:30:00+02:00", PERIOD_DAYS, 1, "2025-10-26T00:30:00Z",
         "02:30 in the overlap: the first (CEST)"},
        {"2026-04-03T10:00:00+02:00", PERIOD_DAYS, -14, "2026-03-20T09:00:00Z", "negative"},
        {"2026-04-03T10:00:00+02:00", PERIOD_DAYS, 0, "2026-04-03T08:00:00Z", "zero"},
        {"2026-02-05T09:15:00+01:00", PERIOD_DAYS, 365, "2027-02-05T08:15:00Z", "a year"},
    };
    check_due(cases, sizeof cases / sizeof *cases);
}

/* ---- months ----------------------------------------------------------- */

static void test_months_domain_example(void **state)
{
    /* DOMAIN.md: received Fri 2026-01-30; 30 February does not exist, 28
     * February is a Saturday, so Monday 2 March 23:59:59 CET. */
    obligo_time from = at("2026-01-30T11:00:00+01:00");
    obligo_time want = at("2026-03-02T22:59:59Z");
    assert_int_equal(periods_due(from, P(PERIOD_MONTHS, 1)), want);
    assert_int_equal(periods_legal_limit(from, P(PERIOD_MONTHS, 1)), want);
    assert_int_equal(want, INT64_C(1772492399)); /* 2026-03-03T00:00:00Z - 3601 */
}

static void test_months(void **state)
{
    static const struct case_ cases[] = {
        /* Same-numbered day. */
        {"2026-02-05T09:15:00+01:00", PERIOD_MONTHS, 1, "2026-03-05T22:59:59Z", "Thu Mar 5"},
        {"2026-05-05T10:00:00+02:00", PERIOD_MONTHS, 1, "2026-06-05T21:59:59Z",
         "Fri Jun 5, CEST (23:59:59+02:00)"},
        {"2026-03-02T23:59:59+01:00", PERIOD_MONTHS, 1, "2026-04-02T21:59:59Z",
         "from the last second of a day, result in CEST"},
        /* Day missing in the target month: its last day. */
        {"2025-01-31T10:00:00+01:00", PERIOD_MONTHS, 1, "2025-02-28T22:59:59Z",
         "Jan 31 -> Fri Feb 28 2025"},
        {"2028-01-31T10:00:00+01:00", PERIOD_MONTHS, 1, "2028-02-29T22:59:59Z",
         "Jan 31 -> Tue Feb 29 2028 (leap)"},
        {"2027-01-31T10:00:00+01:00", PERIOD_MONTHS, 1, "2027-03-01T22:59:59Z",
         "Jan 31 -> Feb 28 2027 is a Sunday -> Mon Mar 1"},
        {"2026-03-31T10:00:00+02:00", PERIOD_MONTHS, 1, "2026-04-30T21:59:59Z",
         "Mar 31 -> Thu Apr 30, CEST"},
        {"2026-08-31T10:00:00+02:00", PERIOD_MONTHS, 1, "2026-09-30T21:59:59Z",
         "Aug 31 -> Wed Sep 30"},
        {"2026-10-31T10:00:00+01:00", PERIOD_MONTHS, 1, "2026-11-30T22:59:59Z",
         "Oct 31 -> Mon Nov 30"},
        /* The Amsterdam date counts, not the UTC date: Feb 28 00:30 local. */
        {"2026-02-27T23:30:00Z", PERIOD_MONTHS, 1, "2026-03-30T21:59:59Z",
         "Mar 28 Sat, 29 Sun (DST) -> Mon Mar 30 CEST"},
        {"2026-02-27T22:30:00Z", PERIOD_MONTHS, 1, "2026-03-27T22:59:59Z",
         "Feb 27 23:30 local -> Fri Mar 27 CET"},
        /* Holidays roll to the next working day. */
        {"2026-03-27T10:00:00+01:00", PERIOD_MONTHS, 1, "2026-04-28T21:59:59Z",
         "Koningsdag Mon Apr 27 -> Tue Apr 28"},
        {"2025-03-26T10:00:00+01:00", PERIOD_MONTHS, 1, "2025-04-28T21:59:59Z",
         "Koningsdag Sat Apr 26 2025, Sun -> Mon Apr 28"},
        {"2028-03-27T10:00:00+02:00", PERIOD_MONTHS, 1, "2028-04-28T21:59:59Z",
         "Koningsdag Thu Apr 27 2028 -> Fri Apr 28"},
        {"2026-04-14T10:00:00+02:00", PERIOD_MONTHS, 1, "2026-05-15T21:59:59Z",
         "Ascension Thu May 14 -> Fri May 15"},
        {"2026-04-05T10:00:00+02:00", PERIOD_MONTHS, 1, "2026-05-06T21:59:59Z",
         "Bevrijdingsdag Tue May 5 -> Wed May 6"},
        {"2026-04-25T10:00:00+02:00", PERIOD_MONTHS, 1, "2026-05-26T21:59:59Z",
         "Pentecost Monday May 25 -> Tue May 26"},
        {"2026-03-06T10:00:00+01:00", PERIOD_MONTHS, 1, "2026-04-07T21:59:59Z",
         "Easter Monday Apr 6 -> Tue Apr 7"},
        {"2025-03-21T10:00:00+01:00", PERIOD_MONTHS, 1, "2025-04-22T21:59:59Z",
         "Easter Monday Apr 21 2025 -> Tue Apr 22"},
        {"2027-02-26T10:00:00+01:00", PERIOD_MONTHS, 1, "2027-03-30T21:59:59Z",
         "Good Friday Mar 26 2027, Sat, Easter Sun (DST), Easter Mon -> Tue Mar 30"},
        {"2026-11-25T10:00:00+01:00", PERIOD_MONTHS, 1, "2026-12-28T22:59:59Z",
         "Christmas Fri Dec 25, Sat 26, Sun 27 -> Mon Dec 28"},
        {"2025-11-25T10:00:00+01:00", PERIOD_MONTHS, 1, "2025-12-29T22:59:59Z",
         "Christmas Thu 25, Fri 26, weekend -> Mon Dec 29"},
        /* Year wrap into Nieuwjaarsdag. */
        {"2025-12-01T10:00:00+01:00", PERIOD_MONTHS, 1, "2026-01-02T22:59:59Z",
         "Nieuwjaarsdag Thu Jan 1 2026 -> Fri Jan 2"},
        {"2026-12-01T10:00:00+01:00", PERIOD_MONTHS, 1, "2027-01-04T22:59:59Z",
         "Nieuwjaarsdag Fri Jan 1 2027, weekend -> Mon Jan 4"},
        {"2026-12-31T10:00:00+01:00", PERIOD_MONTHS, 1, "2027-02-01T22:59:59Z",
         "Dec 31 -> Jan 31 2027 is a Sunday -> Mon Feb 1"},
        /* Extension by two months: three months from receipt. */
        {"2026-01-30T11:00:00+01:00", PERIOD_MONTHS, 3, "2026-04-30T21:59:59Z",
         "3 months: Thu Apr 30, CEST"},
        {"2025-11-30T10:00:00+01:00", PERIOD_MONTHS, 3, "2026-03-02T22:59:59Z",
         "3 months across the year: Feb 28 2026 Sat -> Mon Mar 2"},
        {"2026-01-30T11:00:00+01:00", PERIOD_MONTHS, 12, "2027-02-01T22:59:59Z",
         "12 months: Jan 30 2027 Sat -> Mon Feb 1"},
        {"2026-01-30T11:00:00+01:00", PERIOD_MONTHS, 24, "2028-01-31T22:59:59Z",
         "24 months: Jan 30 2028 Sun -> Mon Jan 31"},
        /* Zero and negative n. */
        {"2026-01-30T11:00:00+01:00", PERIOD_MONTHS, 0, "2026-01-30T22:59:59Z",
         "zero: end of the day"},
        {"2026-03-31T10:00:00+02:00", PERIOD_MONTHS, -1, "2026-03-02T22:59:59Z",
         "minus one: Feb 28 Sat -> Mon Mar 2"},
        {"2026-03-05T10:00:00+01:00", PERIOD_MONTHS, -14, "2025-01-06T22:59:59Z",
         "minus 14: Sun Jan 5 2025 -> Mon Jan 6"},
    };
    check_due(cases, sizeof cases / sizeof *cases);
}

/* ---- years ------------------------------------------------------------ */

static void test_years(void **state)
{
    static const struct case_ cases[] = {
        {"2027-01-24T10:00:00+01:00", PERIOD_YEARS, 20, "2047-01-24T09:00:00Z",
         "20-year retention keeps 10:00 local"},
        {"2028-02-29T10:00:00+01:00", PERIOD_YEARS, 1, "2029-02-28T09:00:00Z", "Feb 29 -> Feb 28"},
        {"2028-02-29T10:00:00+01:00", PERIOD_YEARS, 4, "2032-02-29T09:00:00Z", "leap to leap"},
        {"2028-02-29T10:00:00+01:00", PERIOD_YEARS, -1, "2027-02-28T09:00:00Z", "backwards"},
        {"2026-07-01T12:00:00+02:00", PERIOD_YEARS, 1, "2027-07-01T10:00:00Z", "summer"},
        {"2026-02-05T09:15:00+01:00", PERIOD_YEARS, 1, "2027-02-05T08:15:00Z", "winter"},
        {"2026-03-28T02:30:00+01:00", PERIOD_YEARS, 1, "2027-03-28T01:30:00Z",
         "lands in the 2027 spring gap: 03:30 CEST"},
        {"2026-02-28T10:00:00+01:00", PERIOD_YEARS, 1, "2027-02-28T09:00:00Z",
         "no working-day roll (a Sunday)"},
        {"2026-02-05T09:15:00+01:00", PERIOD_YEARS, 0, "2026-02-05T08:15:00Z", "zero"},
    };
    check_due(cases, sizeof cases / sizeof *cases);
}

/* ---- days and years across a DST change ------------------------------ */

/* The rule of periods.h: a wall-clock time that occurs twice (02:00-02:59 on
 * the last Sunday of October) is its earlier, summer-time instant; one that
 * does not exist (02:00-02:59 on the last Sunday of March) moves forward by
 * the skipped hour. In 2046 those Sundays are 25 March and 28 October, twenty
 * years after Wednesdays 25 March and 28 October 2026 (before and after the
 * 2026 changes of 29 March and 25 October, so both starts are CET). */
static void test_years_dst(void **state)
{
    static const struct case_ cases[] = {
        /* autumn 2046: 02:30 happens at 00:30Z (+02:00) and at 01:30Z (+01:00) */
        {"2026-10-28T02:30:00+01:00", PERIOD_YEARS, 20, "2046-10-28T00:30:00Z",
         "20 years into the autumn repeat: the first 02:30, +02:00"},
        {"2026-10-28T02:00:00+01:00", PERIOD_YEARS, 20, "2046-10-28T00:00:00Z",
         "02:00, the repeat's first second: +02:00"},
        {"2026-10-28T02:59:59+01:00", PERIOD_YEARS, 20, "2046-10-28T00:59:59Z",
         "02:59:59, the repeat's last second: +02:00"},
        {"2026-10-28T01:30:00+01:00", PERIOD_YEARS, 20, "2046-10-27T23:30:00Z",
         "01:30 before the repeat: plain summer time"},
        {"2026-10-28T03:00:00+01:00", PERIOD_YEARS, 20, "2046-10-28T02:00:00Z",
         "03:00 after the repeat: plain winter time"},
        /* spring 2046: the clock jumps from 02:00 CET to 03:00 CEST at 01:00Z */
        {"2026-03-25T02:30:00+01:00", PERIOD_YEARS, 20, "2046-03-25T01:30:00Z",
         "20 years into the spring gap: 02:30 becomes 03:30 +02:00"},
        {"2026-03-25T02:00:00+01:00", PERIOD_YEARS, 20, "2046-03-25T01:00:00Z",
         "02:00, the gap's first second, becomes 03:00 +02:00"},
        {"2026-03-25T01:59:59+01:00", PERIOD_YEARS, 20, "2046-03-25T00:59:59Z",
         "01:59:59 before the gap: plain winter time"},
        {"2026-03-25T03:00:00+01:00", PERIOD_YEARS, 20, "2046-03-25T01:00:00Z",
         "03:00 after the gap: plain summer time"},
        {"2026-03-25T03:30:00+01:00", PERIOD_YEARS, 20, "2046-03-25T01:30:00Z",
         "03:30 after the gap: the same instant as 02:30 in the gap"},
        /* from either 02:30 of the 2025 autumn night to an ordinary day */
        {"2025-10-26T02:30:00+02:00", PERIOD_YEARS, 20, "2045-10-26T00:30:00Z",
         "from the first 02:30 to a summer-time Thursday"},
        {"2025-10-26T02:30:00+01:00", PERIOD_YEARS, 20, "2045-10-26T00:30:00Z",
         "from the second 02:30: the same wall-clock time"},
        {"2026-10-25T02:30:00+01:00", PERIOD_YEARS, 0, "2026-10-25T01:30:00Z",
         "zero years from the second 02:30: the start itself"},
    };
    check_due(cases, sizeof cases / sizeof *cases);
}

/* The same rule for days, on the 2026 changes: 29 March and 25 October. */
static void test_days_dst(void **state)
{
    static const struct case_ cases[] = {
        /* autumn: 25 October 2026 */
        {"2026-10-24T02:30:00+02:00", PERIOD_DAYS, 1, "2026-10-25T00:30:00Z",
         "a day into the repeat: the first 02:30, +02:00"},
        {"2026-10-18T02:30:00+02:00", PERIOD_DAYS, 7, "2026-10-25T00:30:00Z",
         "a week into the repeat: the first 02:30"},
        {"2026-10-26T02:30:00+01:00", PERIOD_DAYS, -1, "2026-10-25T00:30:00Z",
         "a day back into the repeat: the first 02:30 as well"},
        {"2026-10-24T01:30:00+02:00", PERIOD_DAYS, 1, "2026-10-24T23:30:00Z",
         "01:30 before the repeat: plain summer time"},
        {"2026-10-24T03:30:00+02:00", PERIOD_DAYS, 1, "2026-10-25T02:30:00Z",
         "03:30 after the repeat: plain winter time"},
        {"2026-10-18T10:00:00+02:00", PERIOD_DAYS, 7, "2026-10-25T09:00:00Z",
         "10:00 on the day of the change: winter time"},
        {"2026-10-25T02:30:00+01:00", PERIOD_DAYS, 1, "2026-10-26T01:30:00Z",
         "from the second 02:30 to an ordinary 02:30 CET"},
        {"2026-10-25T02:30:00+01:00", PERIOD_DAYS, 0, "2026-10-25T01:30:00Z",
         "zero days from the second 02:30: the start, not the first 02:30"},
        {"2026-10-25T02:30:00+02:00", PERIOD_DAYS, 0, "2026-10-25T00:30:00Z",
         "zero days from the first 02:30: the start"},
        /* spring: 29 March 2026 */
        {"2026-03-15T02:15:00+01:00", PERIOD_DAYS, 14, "2026-03-29T01:15:00Z",
         "two weeks into the gap: 02:15 becomes 03:15 +02:00"},
        {"2026-03-28T02:00:00+01:00", PERIOD_DAYS, 1, "2026-03-29T01:00:00Z",
         "02:00, the gap's first second, becomes 03:00 +02:00"},
        {"2026-03-30T02:30:00+02:00", PERIOD_DAYS, -1, "2026-03-29T01:30:00Z",
         "a day back into the gap: also forward, 03:30 +02:00"},
        {"2026-03-28T01:59:59+01:00", PERIOD_DAYS, 1, "2026-03-29T00:59:59Z",
         "01:59:59 before the gap: plain winter time"},
        {"2026-03-28T03:00:00+01:00", PERIOD_DAYS, 1, "2026-03-29T01:00:00Z",
         "03:00 after the gap: plain summer time"},
        {"2026-03-29T03:30:00+02:00", PERIOD_DAYS, 1, "2026-03-30T01:30:00Z",
         "from the day of the change to an ordinary 03:30 CEST"},
    };
    check_due(cases, sizeof cases / sizeof *cases);
}

/* ---- extremes --------------------------------------------------------- */

/* Reminders count back on the wall clock: two days before 16:00 is 16:00,
 * also when the clocks changed in between. */
static void test_before(void **state)
{
    (void)state;
    /* spring: due Mon 30 March 2026 16:00 CEST, two days before is Sat 28
     * March 16:00 CET (15:00Z), not 48 hours before (14:00Z) */
    assert_int_equal(periods_before(at("2026-03-30T16:00:00+02:00"), P(PERIOD_DAYS, 2)),
                     at("2026-03-28T16:00:00+01:00"));
    /* autumn (the clocks go back on Sunday 25 October): due Mon 26 October
     * 2026 09:00 CET, two days before is Sat 24 October 09:00 CEST */
    assert_int_equal(periods_before(at("2026-10-26T09:00:00+01:00"), P(PERIOD_DAYS, 2)),
                     at("2026-10-24T09:00:00+02:00"));
    /* hours are exact hours whatever the clock does */
    assert_int_equal(periods_before(at("2026-03-29T04:00:00+02:00"), P(PERIOD_HOURS, 3)),
                     at("2026-03-29T00:00:00+01:00"));
    /* a month before 31 March is the last of February; no working-day roll */
    assert_int_equal(periods_before(at("2026-03-31T23:59:59+02:00"), P(PERIOD_MONTHS, 1)),
                     at("2026-02-28T23:59:59+01:00"));
    assert_int_equal(periods_before(at("2026-01-15T12:00:00+01:00"), P(PERIOD_MONTHS, 13)),
                     at("2024-12-15T12:00:00+01:00"));
    /* a year before 29 February is 28 February */
    assert_int_equal(periods_before(at("2028-02-29T10:00:00+01:00"), P(PERIOD_YEARS, 1)),
                     at("2027-02-28T10:00:00+01:00"));
    assert_int_equal(periods_before(at("2026-06-01T10:00:00+02:00"), P(PERIOD_DAYS, 0)),
                     at("2026-06-01T10:00:00+02:00"));
}

static void test_saturation(void **state)
{
    obligo_time from = at("2026-02-05T09:15:00+01:00");
    assert_int_equal(periods_due(from, P(PERIOD_HOURS, INT64_MAX)), INT64_MAX);
    assert_int_equal(periods_due(from, P(PERIOD_HOURS, INT64_MIN)), INT64_MIN);
    assert_int_equal(periods_due(INT64_MAX - 10, P(PERIOD_HOURS, 1)), INT64_MAX);
    assert_int_equal(periods_due(INT64_MIN + 10, P(PERIOD_HOURS, -1)), INT64_MIN);
    assert_int_equal(periods_legal_limit(INT64_MAX, P(PERIOD_HOURS, 0)), INT64_MAX);
    assert_int_equal(periods_legal_limit(from, P(PERIOD_HOURS, INT64_MAX)), INT64_MAX);
    for (int u = PERIOD_DAYS; u <= PERIOD_YEARS; u++) {
        assert_int_equal(periods_due(from, P((period_unit)u, INT64_MAX)), INT64_MAX);
        assert_int_equal(periods_due(from, P((period_unit)u, INT64_MIN)), INT64_MIN);
        assert_int_equal(periods_due(INT64_MAX, P((period_unit)u, 1)), INT64_MAX);
        assert_int_equal(periods_due(INT64_MIN, P((period_unit)u, -1)), INT64_MIN);
    }
    /* Long but representable periods stay exact: 1000 years. */
    assert_int_equal(periods_due(from, P(PERIOD_YEARS, 1000)), at("3026-02-05T08:15:00Z"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_easter),     cmocka_unit_test(test_holidays_2025_2030),
        cmocka_unit_test(test_koningsdag), cmocka_unit_test(test_non_holidays),
        cmocka_unit_test(test_hours),      cmocka_unit_test(test_hours_legal_limit),
        cmocka_unit_test(test_days),       cmocka_unit_test(test_months_domain_example),
        cmocka_unit_test(test_months),     cmocka_unit_test(test_years),
        cmocka_unit_test(test_years_dst),  cmocka_unit_test(test_days_dst),
        cmocka_unit_test(test_before),     cmocka_unit_test(test_saturation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
