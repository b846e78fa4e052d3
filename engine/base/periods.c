/*
 * periods.c — legal periods: how deadlines are counted (periods.h).
 *
 * Depends on clock.h for the calendar and Europe/Amsterdam civil time; the
 * rules themselves are those of DOMAIN.md "How periods are counted": hours
 * are elapsed time, days and years keep the Amsterdam wall-clock time, and
 * months follow EU Regulation 1182/71 art. 3 with the Dutch public holidays
 * computed here (Easter by the anonymous Gregorian algorithm), not listed.
 *
 * A wall-clock time kept by days or years can land in a DST change. It is
 * turned back into an instant by clock_from_ams alone, so one rule holds
 * everywhere (periods.h, rules/README.md section 3): a time that occurs twice
 * in the autumn is its earlier, summer-time instant; a time that does not
 * exist in the spring moves forward by the skipped hour. The earlier of the
 * two autumn instants is the cautious choice for a deadline, and moving a
 * spring time forward keeps the period from ending before the wall clock has
 * shown its time. The wall-clock time of a start is itself read from an
 * instant, so it can be the second 02:30 of an autumn night; a period of
 * zero returns the start instead of letting the rule move it back an hour.
 *
 * Any n is accepted. Zero gives the start itself (hours, days, years) or the
 * end of the start day (months); negative n counts backwards, with the
 * month rule still rolling forward to a working day. A result that would
 * leave the int64 range, or fall more than YEAR_LIMIT years from year 0,
 * saturates to INT64_MAX or INT64_MIN instead of overflowing.
 */
#include "periods.h"

#include <limits.h>

#define SECS_PER_DAY INT64_C(86400)
#define YEAR_LIMIT INT64_C(1000000000) /* far beyond any deadline */

static obligo_time saturate(int positive)
{
    return positive ? INT64_MAX : INT64_MIN;
}

/* a + b, saturated. */
static obligo_time sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return saturate(b > 0);
    return r;
}

/* from + n hours, saturated. */
static obligo_time add_hours(obligo_time from, int64_t n)
{
    int64_t secs;
    if (__builtin_mul_overflow(n, INT64_C(3600), &secs))
        return saturate(n > 0);
    return sat_add(from, secs);
}

void periods_easter(int y, int *month, int *day)
{
    /* Anonymous Gregorian algorithm (Meeus/Jones/Butcher), with floor
     * division so that it stays well defined for any int year. */
    int64_t Y = y;
    int64_t a = clock_floor_mod(Y, 19);
    int64_t b = clock_floor_div(Y, 100);
    int64_t c = clock_floor_mod(Y, 100);
    int64_t d = clock_floor_div(b, 4);
    int64_t e = clock_floor_mod(b, 4);
    int64_t f = clock_floor_div(b + 8, 25);
    int64_t g = clock_floor_div(b - f + 1, 3);
    int64_t h = clock_floor_mod(19 * a + b - d - g + 15, 30);
    int64_t i = c / 4;
    int64_t k = c % 4;
    int64_t l = clock_floor_mod(32 + 2 * e + 2 * i - h - k, 7);
    int64_t m = (a + 11 * h + 22 * l) / 451;
    int64_t x = h + l - 7 * m + 114;
    if (month)
        *month = (int)(x / 31);
    if (day)
        *day = (int)(x % 31 + 1);
}

int periods_is_holiday(int y, int m, int d)
{
    if (m < 1 || m > 12 || d < 1 || d > clock_days_in_month(y, m))
        return 0;
    if ((m == 1 && d == 1) || (m == 5 && d == 5) || (m == 12 && (d == 25 || d == 26)))
        return 1; /* Nieuwjaarsdag, Bevrijdingsdag, both Christmas days */
    if (m == 4 && (d == 26 || d == 27)) {
        /* Koningsdag: 27 April, or the 26th when the 27th is a Sunday. */
        int sunday = clock_weekday(y, 4, 27) == 0;
        if ((d == 27 && !sunday) || (d == 26 && sunday))
            return 1;
    }
    int em, ed;
    periods_easter(y, &em, &ed);
    int64_t rel = clock_days_from_civil(y, m, d) - clock_days_from_civil(y, em, ed);
    switch (rel) {
    case -2: /* Goede Vrijdag */
    case 0:  /* Eerste Paasdag */
    case 1:  /* Tweede Paasdag */
    case 39: /* Hemelvaartsdag */
    case 49: /* Eerste Pinksterdag */
    case 50: /* Tweede Pinksterdag */
        return 1;
    default:
        return 0;
    }
}

int periods_is_non_working(int y, int m, int d)
{
    int wd = clock_weekday(y, m, d);
    return wd == 0 || wd == 6 || periods_is_holiday(y, m, d);
}

/* The instant of wall-clock time c on the given day, or a saturated value
 * when the day lies outside the supported range. */
static obligo_time at_day(int64_t days, const civil *wall)
{
    const int64_t lim = YEAR_LIMIT * 366;
    if (days > lim || days < -lim)
        return saturate(days > 0);
    civil c = *wall;
    clock_civil_from_days(days, &c.year, &c.month, &c.day, NULL);
    return clock_from_ams(&c);
}

static obligo_time add_days(obligo_time from, int64_t n)
{
    if (n == 0)
        return from; /* not the first 02:30 when the start is the second */
    civil c;
    clock_to_ams(from, &c);
    int64_t start = clock_days_from_civil(c.year, c.month, c.day);
    int64_t days;
    if (__builtin_add_overflow(start, n, &days))
        return saturate(n > 0);
    return at_day(days, &c);
}

static obligo_time add_years(obligo_time from, int64_t n)
{
    if (n == 0)
        return from; /* not the first 02:30 when the start is the second */
    civil c;
    clock_to_ams(from, &c);
    int64_t y;
    if (__builtin_add_overflow((int64_t)c.year, n, &y))
        return saturate(n > 0);
    if (y > YEAR_LIMIT || y < -YEAR_LIMIT)
        return saturate(y > 0);
    c.year = (int)y;
    if (c.month == 2 && c.day == 29 && clock_days_in_month(c.year, 2) == 28)
        c.day = 28;
    return clock_from_ams(&c);
}

static obligo_time add_months(obligo_time from, int64_t n)
{
    civil c;
    clock_to_ams(from, &c);
    int64_t total = (int64_t)c.year * 12 + (c.month - 1);
    if (__builtin_add_overflow(total, n, &total))
        return saturate(n > 0);
    int64_t y = clock_floor_div(total, 12);
    if (y > YEAR_LIMIT || y < -YEAR_LIMIT)
        return saturate(y > 0);
    int m = (int)clock_floor_mod(total, 12) + 1;
    int d = c.day;
    int last = clock_days_in_month((int)y, m);
    if (d > last)
        d = last;
    /* Roll past Saturdays, Sundays and holidays: at most four days
     * (Good Friday to Easter Monday). */
    int64_t days = clock_days_from_civil((int)y, m, d);
    civil end = {(int)y, m, d, 23, 59, 59};
    while (periods_is_non_working(end.year, end.month, end.day))
        clock_civil_from_days(++days, &end.year, &end.month, &end.day, NULL);
    return clock_from_ams(&end);
}

obligo_time periods_due(obligo_time from, period p)
{
    switch (p.unit) {
    case PERIOD_HOURS:
        return add_hours(from, p.n);
    case PERIOD_DAYS:
        return add_days(from, p.n);
    case PERIOD_MONTHS:
        return add_months(from, p.n);
    case PERIOD_YEARS:
        return add_years(from, p.n);
    }
    return from; /* not a unit: no period */
}

/* Months back on the wall clock, the day clamped to the month's last; no
 * roll past non-working days (a reminder is not a due date). */
static obligo_time sub_months(obligo_time due, int64_t n)
{
    if (n == 0)
        return due;
    civil c;
    clock_to_ams(due, &c);
    int64_t total = (int64_t)c.year * 12 + (c.month - 1);
    if (__builtin_sub_overflow(total, n, &total))
        return saturate(n < 0);
    int64_t y = clock_floor_div(total, 12);
    if (y > YEAR_LIMIT || y < -YEAR_LIMIT)
        return saturate(y > 0);
    c.year = (int)y;
    c.month = (int)clock_floor_mod(total, 12) + 1;
    int last = clock_days_in_month(c.year, c.month);
    if (c.day > last)
        c.day = last;
    return clock_from_ams(&c);
}

obligo_time periods_before(obligo_time due, period p)
{
    if (p.n == INT64_MIN)
        return saturate(1);
    switch (p.unit) {
    case PERIOD_HOURS:
        return add_hours(due, -p.n);
    case PERIOD_DAYS:
        return add_days(due, -p.n);
    case PERIOD_MONTHS:
        return sub_months(due, p.n);
    case PERIOD_YEARS:
        return add_years(due, -p.n);
    }
    return due;
}

obligo_time periods_legal_limit(obligo_time from, period p)
{
    if (p.unit != PERIOD_HOURS)
        return periods_due(from, p);
    /* The hour in which the event happens is not counted: start at the next
     * full hour (an event exactly on the hour starts the one after it). */
    int64_t hour = clock_floor_div(from, 3600);
    if (hour >= INT64_MAX / 3600)
        return INT64_MAX;
    return add_hours((hour + 1) * 3600, p.n);
}
