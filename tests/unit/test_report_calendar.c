/* Due dates across weekends and holidays, reporting periods, dates. */
#include <criterion/criterion.h>
#include <string.h>

#include "report_calendar.h"

static int64_t day(const char *s)
{
    int64_t z;
    cr_assert_eq(vigil_report_parse_date(s, strlen(s), &z), 0, "%s", s);
    return z;
}

static int64_t ms(const char *s)
{
    int64_t t;
    cr_assert_eq(vigil_report_parse_time(s, &t), 0, "%s", s);
    return t;
}

static void assert_due(const char *end, unsigned days, const int64_t *hol,
                       size_t n, const char *want)
{
    char got[16];
    vigil_report_format_day(vigil_report_due_day(ms(end), days, hol, n), got,
                            sizeof(got));
    cr_assert_str_eq(got, want, "end %s + %u working days", end, days);
}

Test(report_calendar, due_date_of_a_week_ending_sunday_is_the_next_wednesday)
{
    /* Monday 2024-05-06 to Monday 2024-05-13: the last day is Sunday. */
    assert_due("2024-05-13", 3, NULL, 0, "2024-05-15");
}

Test(report_calendar, due_date_skips_the_weekend)
{
    /* The period ends with Friday 2024-05-10. */
    assert_due("2024-05-11", 3, NULL, 0, "2024-05-15");
    /* Ends with Thursday: Fri, Mon, Tue. */
    assert_due("2024-05-10", 3, NULL, 0, "2024-05-14");
}

Test(report_calendar, due_date_skips_holidays_but_not_twice_on_a_weekend)
{
    int64_t hol[] = {day("2024-05-14"), day("2024-05-18")};
    /* Mon 13, (Tue 14 holiday), Wed 15, Thu 16; the Saturday holiday
     * changes nothing. */
    assert_due("2024-05-13", 3, hol, 2, "2024-05-16");
}

Test(report_calendar, due_date_across_the_year_end_and_consecutive_holidays)
{
    int64_t hol[] = {day("2025-01-01"), day("2024-12-25"), day("2024-12-26")};
    /* December ends on Tuesday 31: Wed 1 (holiday), Thu 2, Fri 3, Mon 6. */
    assert_due("2025-01-01", 3, hol, 3, "2025-01-06");
    /* A period ending on Christmas Eve: Wed 25 and Thu 26 are holidays. */
    assert_due("2024-12-25", 2, hol, 3, "2024-12-30");
}

Test(report_calendar, zero_working_days_is_the_last_day_of_the_period)
{
    assert_due("2024-05-13", 0, NULL, 0, "2024-05-12");
    assert_due("2024-05-08T12:00:00Z", 0, NULL, 0, "2024-05-08");
}

Test(report_calendar, last_weekly_period_is_monday_to_monday)
{
    int64_t from, to;
    cr_assert_eq(vigil_report_period_last(VIGIL_REPORT_PERIOD_WEEKLY,
                                          ms("2024-05-15T10:00:00Z"), &from,
                                          &to),
                 0);
    cr_assert_eq(from, ms("2024-05-06"));
    cr_assert_eq(to, ms("2024-05-13"));
    /* On Monday 00:00 the week that just ended is the last one. */
    cr_assert_eq(vigil_report_period_last(VIGIL_REPORT_PERIOD_WEEKLY,
                                          ms("2024-05-13"), &from, &to),
                 0);
    cr_assert_eq(to, ms("2024-05-13"));
    int64_t end;
    cr_assert_eq(vigil_report_period_current_end(VIGIL_REPORT_PERIOD_WEEKLY,
                                                 ms("2024-05-15"), &end),
                 0);
    cr_assert_eq(end, ms("2024-05-20"));
}

Test(report_calendar, last_monthly_period_crosses_the_year)
{
    int64_t from, to, end;
    cr_assert_eq(vigil_report_period_last(VIGIL_REPORT_PERIOD_MONTHLY,
                                          ms("2025-01-10T08:00:00Z"), &from,
                                          &to),
                 0);
    cr_assert_eq(from, ms("2024-12-01"));
    cr_assert_eq(to, ms("2025-01-01"));
    cr_assert_eq(vigil_report_period_current_end(VIGIL_REPORT_PERIOD_MONTHLY,
                                                 ms("2024-12-31T23:00:00Z"),
                                                 &end),
                 0);
    cr_assert_eq(end, ms("2025-01-01"));
    cr_assert_eq(
        vigil_report_period_last(VIGIL_REPORT_PERIOD_NONE, 0, &from, &to), -1);
}

Test(report_calendar, dates_are_checked_against_the_calendar)
{
    int64_t z;
    cr_assert_eq(vigil_report_parse_date("2024-02-29", 10, &z), 0);
    cr_assert_eq(vigil_report_parse_date("2023-02-29", 10, &z), -1);
    cr_assert_eq(vigil_report_parse_date("2024-13-01", 10, &z), -1);
    cr_assert_eq(vigil_report_parse_date("2024-1-01", 9, &z), -1);
    cr_assert_eq(vigil_report_parse_date("1970-01-01", 10, &z), 0);
    cr_assert_eq(z, 0);
    cr_assert_eq(vigil_report_weekday(z), 3, "a Thursday");
}

Test(report_calendar, times_parse_and_format_in_utc)
{
    cr_assert_eq(ms("2024-05-06"), 1714953600000LL);
    cr_assert_eq(ms("2024-05-06T02:00:00+02:00"), 1714953600000LL);
    cr_assert_eq(ms("1714953600"), 1714953600000LL);
    int64_t t;
    cr_assert_eq(vigil_report_parse_time("next week", &t), -1);
    char buf[40];
    vigil_report_format_time(1714953600123LL, buf, sizeof(buf));
    cr_assert_str_eq(buf, "2024-05-06T00:00:00.123Z");
    vigil_report_format_time(-1000, buf, sizeof(buf));
    cr_assert_str_eq(buf, "1969-12-31T23:59:59Z");
}
