#include "report_calendar.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"

const char *vigil_report_period_name(enum vigil_report_period p)
{
    switch (p) {
    case VIGIL_REPORT_PERIOD_WEEKLY:
        return "weekly";
    case VIGIL_REPORT_PERIOD_MONTHLY:
        return "monthly";
    case VIGIL_REPORT_PERIOD_NONE:
        break;
    }
    return "none";
}

/* The civil-calendar algorithms of H. Hinnant (days <-> y/m/d). */
int64_t vigil_report_day_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? (int64_t)m - 3 : (int64_t)m + 9) + 2) / 5 +
                  (int64_t)d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void vigil_report_civil_from_day(int64_t z, int64_t *y, unsigned *m,
                                 unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int64_t vigil_report_day_of(int64_t t_ms)
{
    int64_t q = t_ms / VIGIL_DAY_MS;
    if (t_ms % VIGIL_DAY_MS < 0)
        q--;
    return q;
}

unsigned vigil_report_weekday(int64_t z)
{
    /* 1970-01-01 was a Thursday (3). */
    int64_t w = (z + 3) % 7;
    return (unsigned)(w < 0 ? w + 7 : w);
}

static bool digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

int vigil_report_parse_date(const char *s, size_t len, int64_t *day)
{
    unsigned y, m, d;
    if (len != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4, &y) ||
        !digits(s + 5, 2, &m) || !digits(s + 8, 2, &d))
        return -1;
    if (m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    int64_t z = vigil_report_day_from_civil(y, m, d);
    int64_t ry;
    unsigned rm, rd;
    vigil_report_civil_from_day(z, &ry, &rm, &rd);
    if (ry != (int64_t)y || rm != m || rd != d)
        return -1;
    *day = z;
    return 0;
}

static bool is_holiday(int64_t z, const int64_t *holidays, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (holidays[i] == z)
            return true;
    return false;
}

int64_t vigil_report_due_day(int64_t end_ms, unsigned working_days,
                             const int64_t *holidays, size_t n)
{
    int64_t z = vigil_report_day_of(end_ms - 1);
    for (unsigned left = working_days; left > 0;) {
        z++;
        if (vigil_report_weekday(z) < 5 && !is_holiday(z, holidays, n))
            left--;
    }
    return z;
}

int vigil_report_period_last(enum vigil_report_period p, int64_t now_ms,
                             int64_t *from_ms, int64_t *to_ms)
{
    int64_t today = vigil_report_day_of(now_ms);
    switch (p) {
    case VIGIL_REPORT_PERIOD_WEEKLY: {
        int64_t monday = today - vigil_report_weekday(today);
        *to_ms = monday * VIGIL_DAY_MS;
        *from_ms = *to_ms - 7 * VIGIL_DAY_MS;
        return 0;
    }
    case VIGIL_REPORT_PERIOD_MONTHLY: {
        int64_t y;
        unsigned m, d;
        vigil_report_civil_from_day(today, &y, &m, &d);
        *to_ms = vigil_report_day_from_civil(y, m, 1) * VIGIL_DAY_MS;
        if (m == 1) {
            y--;
            m = 12;
        } else {
            m--;
        }
        *from_ms = vigil_report_day_from_civil(y, m, 1) * VIGIL_DAY_MS;
        return 0;
    }
    case VIGIL_REPORT_PERIOD_NONE:
        break;
    }
    return -1;
}

int vigil_report_period_current_end(enum vigil_report_period p, int64_t now_ms,
                                    int64_t *end_ms)
{
    int64_t from, to;
    if (vigil_report_period_last(p, now_ms, &from, &to) < 0)
        return -1;
    if (p == VIGIL_REPORT_PERIOD_WEEKLY) {
        *end_ms = to + 7 * VIGIL_DAY_MS;
        return 0;
    }
    int64_t y;
    unsigned m, d;
    vigil_report_civil_from_day(vigil_report_day_of(to), &y, &m, &d);
    if (m == 12) {
        y++;
        m = 1;
    } else {
        m++;
    }
    *end_ms = vigil_report_day_from_civil(y, m, 1) * VIGIL_DAY_MS;
    return 0;
}

int vigil_report_parse_time(const char *s, int64_t *ms)
{
    size_t len = strlen(s);
    int64_t day;
    if (vigil_report_parse_date(s, len, &day) == 0) {
        *ms = day * VIGIL_DAY_MS;
        return 0;
    }
    return vigil_parse_time(s, len, ms);
}

void vigil_report_format_time(int64_t ms, char *buf, size_t n)
{
    int64_t z = vigil_report_day_of(ms);
    int64_t in = ms - z * VIGIL_DAY_MS;
    int64_t y;
    unsigned m, d;
    vigil_report_civil_from_day(z, &y, &m, &d);
    unsigned h = (unsigned)(in / 3600000), mi = (unsigned)(in / 60000 % 60),
             s = (unsigned)(in / 1000 % 60), frac = (unsigned)(in % 1000);
    if (frac)
        snprintf(buf, n, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u.%03uZ", y, m,
                 d, h, mi, s, frac);
    else
        snprintf(buf, n, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02uZ", y, m, d, h,
                 mi, s);
}

void vigil_report_format_day(int64_t day, char *buf, size_t n)
{
    int64_t y;
    unsigned m, d;
    vigil_report_civil_from_day(day, &y, &m, &d);
    snprintf(buf, n, "%04" PRId64 "-%02u-%02u", y, m, d);
}
