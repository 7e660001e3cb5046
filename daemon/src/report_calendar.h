/*
 * report_calendar: the dates of the ISMS records (docs/REPORTS.md):
 * reporting periods (weekly: Monday to Monday, monthly: the 1st to the
 * 1st, both 00:00 UTC), the due date of a report (the day the period ends
 * plus N working days, weekends and holidays excluded) and the time
 * arguments of `vigild report`. Everything is UTC and pure: no clock, no
 * time zone, any thread.
 */
#ifndef VIGIL_REPORT_CALENDAR_H
#define VIGIL_REPORT_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIGIL_DAY_MS 86400000LL

enum vigil_report_period {
    VIGIL_REPORT_PERIOD_NONE, /* no periodic reports */
    VIGIL_REPORT_PERIOD_WEEKLY,
    VIGIL_REPORT_PERIOD_MONTHLY,
};

/* "weekly", "monthly", "none". */
const char *vigil_report_period_name(enum vigil_report_period p);

/* Days since 1970-01-01 of the civil date y-m-d (proleptic Gregorian;
 * m 1..12, d 1..31, not checked against the month). */
int64_t vigil_report_day_from_civil(int64_t y, unsigned m, unsigned d);

/* The civil date of day number z (days since 1970-01-01). */
void vigil_report_civil_from_day(int64_t z, int64_t *y, unsigned *m,
                                 unsigned *d);

/* The day number containing epoch ms t (floor, also before 1970). */
int64_t vigil_report_day_of(int64_t t_ms);

/* 0 Monday .. 6 Sunday of day number z. */
unsigned vigil_report_weekday(int64_t z);

/*
 * Parses "YYYY-MM-DD" from s[0..len) into a day number; -1 for anything
 * else, including dates that do not exist (2023-02-29).
 */
int vigil_report_parse_date(const char *s, size_t len, int64_t *day);

/*
 * The due date (a day number) of a report whose period ends at end_ms
 * (exclusive): starting from the last day of the period, the
 * working_days-th following day that is neither a Saturday, a Sunday nor
 * one of holidays[0..n) (day numbers, any order). working_days 0: the
 * last day of the period itself.
 */
int64_t vigil_report_due_day(int64_t end_ms, unsigned working_days,
                             const int64_t *holidays, size_t n);

/*
 * The latest complete period of kind p that ends at or before now_ms:
 * *from_ms inclusive, *to_ms exclusive. -1 for VIGIL_REPORT_PERIOD_NONE.
 */
int vigil_report_period_last(enum vigil_report_period p, int64_t now_ms,
                             int64_t *from_ms, int64_t *to_ms);

/*
 * The end (exclusive) of the period of kind p that contains now_ms, i.e.
 * when the report now under way is written. -1 for NONE.
 */
int vigil_report_period_current_end(enum vigil_report_period p, int64_t now_ms,
                                    int64_t *end_ms);

/*
 * A time argument: "YYYY-MM-DD" (00:00 UTC), RFC 3339
 * ("2024-05-06T00:00:00Z", with an optional fraction and zone) or epoch
 * seconds/milliseconds (decode.h's vigil_parse_time). NUL-terminated s.
 */
int vigil_report_parse_time(const char *s, int64_t *ms);

/* "2024-05-06T00:00:00Z" (with ".mmm" when ms is not whole seconds). */
void vigil_report_format_time(int64_t ms, char *buf, size_t n);

/* "2024-05-06". */
void vigil_report_format_day(int64_t day, char *buf, size_t n);

#endif
