/*
 * periods.h — legal periods: how deadlines are counted (DOMAIN.md).
 *
 * - Hours are elapsed time; weekends, holidays and DST are never skipped.
 *   The legal outer limit of EU Regulation 1182/71 art. 3(1) does not count
 *   the hour in which the event happens: next full hour + the period.
 * - Days and years keep the Amsterdam wall-clock time (a year from
 *   29 February ends on 28 February). When that wall-clock time falls in a
 *   DST change on the day the period ends, one rule decides, the one
 *   clock_from_ams applies: a time that occurs twice (02:00 to 02:59 on the
 *   last Sunday of October) is the earlier instant, still summer time
 *   (+02:00), so the deadline is never the later of two readings; a time that
 *   does not exist (02:00 to 02:59 on the last Sunday of March) moves forward
 *   by the hour that is skipped (02:30 becomes 03:30 +02:00). Zero days or
 *   years give the start itself, also when it is the second 02:30 of an
 *   autumn night.
 * - Months follow 1182/71 art. 3: the day of the event is not counted; the
 *   period ends at 23:59:59 Amsterdam time on the same-numbered day of the
 *   target month, or on its last day when that day does not exist; when that
 *   day is a Saturday, Sunday or Dutch public holiday it runs to the end of
 *   the next working day.
 * Pure and thread-safe.
 */
#ifndef OBLIGO_PERIODS_H
#define OBLIGO_PERIODS_H

#include "clock.h"

typedef enum period_unit { PERIOD_HOURS, PERIOD_DAYS, PERIOD_MONTHS, PERIOD_YEARS } period_unit;

typedef struct period {
    period_unit unit;
    int64_t n;
} period;

/* Easter Sunday of year y (Gregorian; anonymous algorithm). */
void periods_easter(int y, int *month, int *day);
/* 1 when y-m-d is a Dutch public holiday: Nieuwjaarsdag, Goede Vrijdag, both
 * Easter days, Koningsdag (27 April, 26 April when the 27th is a Sunday),
 * Bevrijdingsdag (5 May), Hemelvaartsdag, both Pentecost days, both
 * Christmas days. */
int periods_is_holiday(int y, int m, int d);
/* 1 when y-m-d is a Saturday, Sunday or holiday. */
int periods_is_non_working(int y, int m, int d);

/* The due instant of a period starting at `from`. */
obligo_time periods_due(obligo_time from, period p);
/* The instant a period before `due`, for reminders: hours exactly, days,
 * months and years on the Amsterdam wall clock (a reminder two days before
 * a deadline at 16:00 is at 16:00, across a DST change too), a month's day
 * clamped to its last. A wall-clock time that does not occur or occurs
 * twice is resolved as for due dates (clock_from_ams). */
obligo_time periods_before(obligo_time due, period p);
/* The legal outer limit (1182/71 art. 3(1)): for hours, the next full hour
 * after `from` plus the period; for the other units the same as due. */
obligo_time periods_legal_limit(obligo_time from, period p);

#endif
