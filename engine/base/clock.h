/*
 * clock.h — instants, RFC 3339 text and Europe/Amsterdam civil time.
 *
 * Instants are seconds since the Unix epoch, UTC (obligo_time). People see
 * Europe/Amsterdam: CET (UTC+1) in winter, CEST (UTC+2) from 01:00 UTC on the
 * last Sunday of March to 01:00 UTC on the last Sunday of October (the EU
 * rule since 1996). The rule is computed here rather than read from tzdata so
 * that deadlines do not depend on the machine's time-zone files.
 * All functions are pure and thread-safe.
 */
#ifndef OBLIGO_CLOCK_H
#define OBLIGO_CLOCK_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t obligo_time;

/* A civil (wall-clock) date and time, no zone attached. */
typedef struct civil {
    int year, month, day; /* month 1..12, day 1..31 */
    int hour, min, sec;
} civil;

/* Floor division and modulo for a positive divisor b (C's / and %
 * truncate toward zero: -1 / 86400 is 0, the day before is -1). */
static inline int64_t clock_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b) != 0 && a < 0)
        q--;
    return q;
}

static inline int64_t clock_floor_mod(int64_t a, int64_t b)
{
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
int64_t clock_days_from_civil(int y, int m, int d);
/* The inverse; *wday gets 0 = Sunday .. 6 = Saturday when non-NULL. */
void clock_civil_from_days(int64_t days, int *y, int *m, int *d, int *wday);
int clock_days_in_month(int y, int m);
/* 0 = Sunday .. 6 = Saturday */
int clock_weekday(int y, int m, int d);

/* Parses an RFC 3339 date-time with a mandatory offset ("Z" or ±HH:MM),
 * optional fractional seconds (truncated). Rejects impossible dates such as
 * 2026-02-30, hours > 23, offsets beyond ±23:59, and anything trailing.
 * Returns 0 or OBLIGO_EINVAL. */
int clock_parse_rfc3339(const char *s, obligo_time *out);

/* The engine's wall clock: the system's, unless clock_start_at moved it —
 * a test aid (`obligo serve --clock-start T`), so that a test dates its
 * events relative to a known instant whatever today's date is. The clock
 * then runs at the system's pace from T. Any thread. */
obligo_time clock_now(void);
/* The same in milliseconds, for timers armed to the millisecond. */
int64_t clock_now_ms(void);
/* From now on clock_now() reads T at this moment. Call before threads start. */
void clock_start_at(obligo_time t);
/* Parses a plain date "YYYY-MM-DD" as 00:00 Europe/Amsterdam that day.
 * Returns 0 or OBLIGO_EINVAL. */
int clock_parse_date(const char *s, obligo_time *out);
/* Accepts either form above. */
int clock_parse_any(const char *s, obligo_time *out);

#define CLOCK_RFC3339_LEN 21 /* "2026-02-05T08:15:00Z" plus NUL */
/* Writes t as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least CLOCK_RFC3339_LEN). */
void clock_format_utc(obligo_time t, char *buf);
/* Writes t as Amsterdam local time with its offset, "2026-02-05T09:15:00+01:00"
 * (buf at least 26 bytes). */
void clock_format_local(obligo_time t, char *buf);

/* Seconds east of UTC in Europe/Amsterdam at instant t: 3600 or 7200. */
int clock_ams_offset(obligo_time t);
void clock_to_ams(obligo_time t, civil *out);
/* Local Amsterdam civil time to an instant. In the autumn overlap the first
 * (summer-time) instant is taken; a time in the spring gap is moved forward
 * by the hour that does not exist. */
obligo_time clock_from_ams(const civil *c);

#endif
