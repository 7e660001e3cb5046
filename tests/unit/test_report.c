/* The report's analysis core: time per state, values, gaps. */
#include <criterion/criterion.h>
#include <math.h>

#include "report.h"

#define MIN 60000LL

Test(report, time_in_state_follows_the_evaluations)
{
    struct vigil_report_stats st;
    struct vigil_report_acc a;
    vigil_report_acc_init(&a, 0, 60 * MIN, 3 * MIN, &st);
    /* ok from 0, breach from 10 min, ok again from 40 min. */
    for (int64_t t = 0; t < 60 * MIN; t += MIN) {
        int s =
            t >= 10 * MIN && t < 40 * MIN ? VIGIL_STATE_BREACH : VIGIL_STATE_OK;
        vigil_report_acc_add(&a, t, s, true, (double)(t / MIN));
    }
    cr_assert_eq(vigil_report_acc_finish(&a), 0);
    cr_assert_eq(st.samples, 60);
    cr_assert_eq(st.state_ms[VIGIL_STATE_OK], 30 * MIN);
    cr_assert_eq(st.state_ms[VIGIL_STATE_BREACH], 30 * MIN);
    cr_assert_eq(st.unknown_ms, 0);
    cr_assert_float_eq(vigil_report_state_pct(&st, VIGIL_STATE_BREACH), 50.0,
                       1e-9);
    cr_assert_float_eq(st.min, 0, 1e-9);
    cr_assert_float_eq(st.max, 59, 1e-9);
    cr_assert_float_eq(st.mean, 29.5, 1e-9);
    cr_assert(st.has_last);
    cr_assert_float_eq(st.last, 59, 1e-9);
}

Test(report, a_gap_longer_than_the_cover_is_not_evaluated)
{
    struct vigil_report_stats st;
    struct vigil_report_acc a;
    vigil_report_acc_init(&a, 0, 60 * MIN, 3 * MIN, &st);
    vigil_report_acc_add(&a, 0, VIGIL_STATE_OK, true, 1);
    /* Nothing from 0 to 30 min: 3 min covered, 27 not evaluated. */
    vigil_report_acc_add(&a, 30 * MIN, VIGIL_STATE_WARN, false, 0);
    cr_assert_eq(vigil_report_acc_finish(&a), 0);
    cr_assert_eq(st.state_ms[VIGIL_STATE_OK], 3 * MIN);
    cr_assert_eq(st.unknown_ms, 27 * MIN + 27 * MIN);
    cr_assert_eq(st.state_ms[VIGIL_STATE_WARN], 3 * MIN);
    cr_assert_eq(st.valued, 1);
    cr_assert_not(st.has_last, "the last evaluation had no value");
}

Test(report, the_state_before_the_period_carries_in_and_later_ones_are_ignored)
{
    struct vigil_report_stats st;
    struct vigil_report_acc a;
    struct vigil_report_segment *segs = NULL;
    size_t n_segs = 0;
    vigil_report_acc_init(&a, 10 * MIN, 20 * MIN, 5 * MIN, &st);
    a.segments = &segs;
    a.n_segments = &n_segs;
    vigil_report_acc_add(&a, 8 * MIN, VIGIL_STATE_BREACH, true, 99);
    vigil_report_acc_add(&a, 12 * MIN, VIGIL_STATE_OK, true, 1);
    vigil_report_acc_add(&a, 25 * MIN, VIGIL_STATE_BREACH, true, 99);
    cr_assert_eq(vigil_report_acc_finish(&a), 0);
    /* breach 10-12 (carried in), ok 12-17 (cover), not evaluated 17-20. */
    cr_assert_eq(st.state_ms[VIGIL_STATE_BREACH], 2 * MIN);
    cr_assert_eq(st.state_ms[VIGIL_STATE_OK], 5 * MIN);
    cr_assert_eq(st.unknown_ms, 3 * MIN);
    cr_assert_eq(st.samples, 1);
    cr_assert_float_eq(st.max, 1, 1e-9);
    cr_assert_eq(n_segs, 3);
    cr_assert_eq(segs[0].state, VIGIL_STATE_BREACH);
    cr_assert_eq(segs[1].state, VIGIL_STATE_OK);
    cr_assert_eq(segs[2].state, VIGIL_REPORT_UNKNOWN);
    cr_assert_eq(segs[2].to_ms, 20 * MIN);
    free(segs);
}

Test(report, durations_and_values_format_compactly)
{
    char buf[32];
    vigil_report_format_duration(90 * MIN, buf, sizeof(buf));
    cr_assert_str_eq(buf, "1h 30m");
    vigil_report_format_duration(2 * 86400000LL + 3 * 3600000LL, buf,
                                 sizeof(buf));
    cr_assert_str_eq(buf, "2d 3h");
    vigil_report_format_duration(45000, buf, sizeof(buf));
    cr_assert_str_eq(buf, "45s");
    vigil_report_format_value(true, -0.0, buf, sizeof(buf));
    cr_assert_str_eq(buf, "0");
    vigil_report_format_value(false, 1, buf, sizeof(buf));
    cr_assert_str_eq(buf, "-");
}
