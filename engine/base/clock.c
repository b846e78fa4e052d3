/*
 * clock.c — instants, RFC 3339 text and Europe/Amsterdam civil time
 * (clock.h).
 *
 * Depends only on error.h. The calendar arithmetic is the days-from-civil
 * algorithm described by Howard Hinnant (proleptic Gregorian, eras of 400
 * years), written out in int64 so that no intermediate value overflows. The
 * Amsterdam offset comes from the EU rule computed here, never from tzdata,
 * the TZ environment variable or localtime(): deadlines must not change with
 * the machine they are computed on. The EU rule is applied to every year
 * (also before 1996, when the Netherlands used other dates).
 *
 * Out-of-range inputs saturate instead of overflowing: clock_civil_from_days
 * keeps the year within int, and the formatters clamp to the years 0000..9999
 * that their fixed-size output can hold.
 */
#include "clock.h"

#include <limits.h>
#include <stdatomic.h>
#include <time.h>

#include "error.h"

#define SECS_PER_DAY INT64_C(86400)

/* Seconds added to the system clock (clock_start_at); 0 in production. */
static _Atomic int64_t clock_offset;

obligo_time clock_now(void)
{
    return (obligo_time)time(NULL) + atomic_load(&clock_offset);
}

int64_t clock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + atomic_load(&clock_offset) * 1000;
}

void clock_start_at(obligo_time t)
{
    atomic_store(&clock_offset, t - (obligo_time)time(NULL));
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Hinnant's days_from_civil for a month 1..12; the day is added linearly, so
 * a day outside the month simply runs into the neighbouring months. */
static int64_t days_from_civil64(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = clock_floor_div(y, 400);
    int64_t yoe = y - era * 400;                                   /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

int64_t clock_days_from_civil(int y, int m, int d)
{
    /* Normalise the month so that any int input stays meaningful. */
    int64_t mm = (int64_t)m - 1;
    int64_t yy = (int64_t)y + clock_floor_div(mm, 12);
    return days_from_civil64(yy, clock_floor_mod(mm, 12) + 1, d);
}

void clock_civil_from_days(int64_t days, int *y, int *m, int *d, int *wday)
{
    /* Keep the year representable as int: the first and last days of the
     * int year range bound the input. */
    const int64_t lo = days_from_civil64(INT_MIN, 1, 1);
    const int64_t hi = days_from_civil64(INT_MAX, 12, 31);
    if (days < lo)
        days = lo;
    if (days > hi)
        days = hi;

    int64_t z = days + 719468;
    int64_t era = clock_floor_div(z, 146097);
    int64_t doe = z - era * 146097;                                      /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100); /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                      /* [0, 11] */
    int64_t dd = doy - (153 * mp + 2) / 5 + 1;             /* [1, 31] */
    int64_t mm = mp < 10 ? mp + 3 : mp - 9;                /* [1, 12] */
    yy += mm <= 2;

    if (y)
        *y = (int)yy;
    if (m)
        *m = (int)mm;
    if (d)
        *d = (int)dd;
    if (wday)
        *wday = (int)clock_floor_mod(days + 4, 7); /* 1970-01-01 was a Thursday */
}

int clock_days_in_month(int y, int m)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    if (m == 2 && is_leap(y))
        return 29;
    return len[m - 1];
}

int clock_weekday(int y, int m, int d)
{
    return (int)clock_floor_mod(clock_days_from_civil(y, m, d) + 4, 7);
}

/* ---- Europe/Amsterdam ------------------------------------------------- */

/* Days since the epoch of the last Sunday of month m (31 days long) in y. */
static int64_t last_sunday(int64_t y, int m)
{
    int64_t last = days_from_civil64(y, m, 31);
    return last - clock_floor_mod(last + 4, 7);
}

int clock_ams_offset(obligo_time t)
{
    int y;
    clock_civil_from_days(clock_floor_div(t, SECS_PER_DAY), &y, NULL, NULL, NULL);
    /* Summer time runs from 01:00 UTC on the last Sunday of March to 01:00
     * UTC on the last Sunday of October. */
    int64_t start = last_sunday(y, 3) * SECS_PER_DAY + 3600;
    int64_t end = last_sunday(y, 10) * SECS_PER_DAY + 3600;
    return (t >= start && t < end) ? 7200 : 3600;
}

/* Splits an instant plus an offset into civil fields without ever forming
 * t + offset (t may be near the int64 limits). */
static void split(obligo_time t, int offset, civil *out)
{
    int64_t days = clock_floor_div(t, SECS_PER_DAY);
    int64_t sod = clock_floor_mod(t, SECS_PER_DAY) + offset;
    if (sod >= SECS_PER_DAY) {
        sod -= SECS_PER_DAY;
        days++;
    } else if (sod < 0) {
        sod += SECS_PER_DAY;
        days--;
    }
    clock_civil_from_days(days, &out->year, &out->month, &out->day, NULL);
    out->hour = (int)(sod / 3600);
    out->min = (int)(sod / 60 % 60);
    out->sec = (int)(sod % 60);
}

void clock_to_ams(obligo_time t, civil *out)
{
    split(t, clock_ams_offset(t), out);
}

obligo_time clock_from_ams(const civil *c)
{
    /* The local time read as if it were UTC. Fields outside their usual
     * ranges are added linearly. Every term is far below the int64 limits. */
    int64_t local = clock_days_from_civil(c->year, c->month, c->day) * SECS_PER_DAY +
                    (int64_t)c->hour * 3600 + (int64_t)c->min * 60 + (int64_t)c->sec;
    obligo_time summer = local - 7200;
    obligo_time winter = local - 3600;
    if (clock_ams_offset(summer) == 7200)
        return summer; /* also the first of the two in the autumn overlap */
    /* Winter time, or the spring gap: there 02:MM does not exist, and the
     * same instant read back is 03:MM summer time. */
    return winter;
}

/* ---- RFC 3339 --------------------------------------------------------- */

/* Reads exactly n ASCII digits (no sign, no locale). */
static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

/* "YYYY-MM-DD" at s, validated as a real date. */
static int parse_ymd(const char *s, int *y, int *m, int *d)
{
    if (!digits(s, 4, y) || s[4] != '-' || !digits(s + 5, 2, m) || s[7] != '-' ||
        !digits(s + 8, 2, d))
        return 0;
    return *m >= 1 && *m <= 12 && *d >= 1 && *d <= clock_days_in_month(*y, *m);
}

int clock_parse_rfc3339(const char *s, obligo_time *out)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
    if (!s || !out)
        return OBLIGO_EINVAL;
    /* Each check stops at the first mismatch, so a short string (its NUL
     * never matches) is never read beyond its end. */
    if (!parse_ymd(s, &y, &mo, &d))
        return OBLIGO_EINVAL;
    if ((s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) || s[13] != ':' ||
        !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
        return OBLIGO_EINVAL;
    if (h > 23 || mi > 59 || sec > 59)
        return OBLIGO_EINVAL;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return OBLIGO_EINVAL;
        while (*p >= '0' && *p <= '9')
            p++; /* truncated */
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '+' ? 1 : -1;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
            return OBLIGO_EINVAL;
        if (oh > 23 || om > 59)
            return OBLIGO_EINVAL;
        p += 6;
    } else {
        return OBLIGO_EINVAL;
    }
    if (*p != '\0')
        return OBLIGO_EINVAL;
    *out = clock_days_from_civil(y, mo, d) * SECS_PER_DAY + (int64_t)h * 3600 + (int64_t)mi * 60 +
           sec - (int64_t)sign * (oh * 3600 + om * 60);
    return 0;
}

int clock_parse_date(const char *s, obligo_time *out)
{
    int y, m, d;
    if (!s || !out)
        return OBLIGO_EINVAL;
    if (!parse_ymd(s, &y, &m, &d) || s[10] != '\0')
        return OBLIGO_EINVAL;
    civil c = {y, m, d, 0, 0, 0};
    *out = clock_from_ams(&c);
    return 0;
}

int clock_parse_any(const char *s, obligo_time *out)
{
    if (clock_parse_rfc3339(s, out) == 0)
        return 0;
    return clock_parse_date(s, out);
}

/* ---- formatting ------------------------------------------------------- */

static char *put(char *p, int v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

/* Writes "YYYY-MM-DDTHH:MM:SS" (19 bytes, no NUL), clamped to 0000..9999. */
static char *put_civil(char *p, const civil *c)
{
    civil k = *c;
    if (k.year < 0)
        k = (civil){0, 1, 1, 0, 0, 0};
    else if (k.year > 9999)
        k = (civil){9999, 12, 31, 23, 59, 59};
    p = put(p, k.year, 4);
    *p++ = '-';
    p = put(p, k.month, 2);
    *p++ = '-';
    p = put(p, k.day, 2);
    *p++ = 'T';
    p = put(p, k.hour, 2);
    *p++ = ':';
    p = put(p, k.min, 2);
    *p++ = ':';
    return put(p, k.sec, 2);
}

void clock_format_utc(obligo_time t, char *buf)
{
    civil c;
    split(t, 0, &c);
    char *p = put_civil(buf, &c);
    *p++ = 'Z';
    *p = '\0';
}

void clock_format_local(obligo_time t, char *buf)
{
    civil c;
    int off = clock_ams_offset(t);
    split(t, off, &c);
    char *p = put_civil(buf, &c);
    *p++ = '+';
    p = put(p, off / 3600, 2);
    *p++ = ':';
    p = put(p, off / 60 % 60, 2);
    *p = '\0';
}
