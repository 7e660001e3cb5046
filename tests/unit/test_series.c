#include <criterion/criterion.h>
#include <string.h>

#include "series.h"

static struct vigil_series parse(const char *text)
{
    struct vigil_series s;
    struct vigil_expr_error err;
    cr_assert_eq(vigil_series_parse(&s, text, strlen(text), &err), 0,
                 "'%s': column %d: %s", text, err.col, err.msg);
    return s;
}

static void parse_fails(const char *text, int col, const char *msg)
{
    struct vigil_series s;
    struct vigil_expr_error err;
    cr_assert_eq(vigil_series_parse(&s, text, strlen(text), &err), -1, "%s",
                 text);
    cr_assert_eq(err.col, col, "'%s': column %d, want %d (%s)", text, err.col,
                 col, err.msg);
    cr_assert_str_eq(err.msg, msg);
    cr_assert_null(s.v);
    cr_assert_eq(s.n, 0);
}

/* Asserts the points; NAN-free: use has[] for missing ones. */
static void expect(const char *text, size_t n, const double *values,
                   const bool *has)
{
    struct vigil_series s = parse(text);
    cr_assert_eq(s.n, n, "'%s': %zu points, want %zu", text, s.n, n);
    for (size_t i = 0; i < n; i++) {
        bool want = has ? has[i] : true;
        cr_assert_eq(s.v[i].has_value, want, "'%s' point %zu", text, i);
        if (want)
            cr_assert_eq(s.v[i].value, values[i], "'%s' point %zu: %g", text, i,
                         s.v[i].value);
        else
            cr_assert_eq(s.v[i].value, 0);
    }
    vigil_series_fini(&s);
}

Test(series, start_plus_step_times_n_gives_n_plus_one_points)
{
    struct vigil_series s = parse("0+10x30");
    cr_assert_eq(s.n, 31);
    for (size_t i = 0; i < s.n; i++) {
        cr_assert(s.v[i].has_value);
        cr_assert_eq(s.v[i].value, 10.0 * (double)i);
    }
    vigil_series_fini(&s);
    cr_assert_null(s.v);
}

Test(series, value_times_n_repeats_it_n_plus_one_times)
{
    expect("5x3", 4, (double[]){5, 5, 5, 5}, NULL);
    expect("7x0", 1, (double[]){7}, NULL);
}

Test(series, plain_values)
{
    expect("1 2 3", 3, (double[]){1, 2, 3}, NULL);
    expect("42", 1, (double[]){42}, NULL);
    expect("1.5 -2 +3 0.25", 4, (double[]){1.5, -2, 3, 0.25}, NULL);
}

Test(series, underscore_is_a_missing_point)
{
    expect("1 _ 3", 3, (double[]){1, 0, 3}, (bool[]){true, false, true});
    expect("_x3", 3, (double[]){0, 0, 0}, (bool[]){false, false, false});
    expect("_", 1, (double[]){0}, (bool[]){false});
}

Test(series, terms_concatenate)
{
    struct vigil_series s = parse("1+0x10 100x5 _x3");
    cr_assert_eq(s.n, 11 + 6 + 3);
    for (size_t i = 0; i < 11; i++)
        cr_assert_eq(s.v[i].value, 1);
    for (size_t i = 11; i < 17; i++)
        cr_assert_eq(s.v[i].value, 100);
    for (size_t i = 17; i < 20; i++)
        cr_assert_not(s.v[i].has_value);
    vigil_series_fini(&s);
}

Test(series, steps_can_go_down_and_start_negative)
{
    expect("100-10x5", 6, (double[]){100, 90, 80, 70, 60, 50}, NULL);
    expect("-5+2x2", 3, (double[]){-5, -3, -1}, NULL);
    expect("-1-1x2", 3, (double[]){-1, -2, -3}, NULL);
    expect("0.5+0.25x2", 3, (double[]){0.5, 0.75, 1}, NULL);
}

Test(series, steps_do_not_drift)
{
    struct vigil_series s = parse("0+0.1x1000");
    cr_assert_eq(s.v[1000].value, 100);
    vigil_series_fini(&s);
}

Test(series, blanks_of_any_kind_separate_terms)
{
    expect("  1\t2\n3  ", 3, (double[]){1, 2, 3}, NULL);
}

Test(series, reports_errors_with_columns)
{
    parse_fails("", 1, "empty series");
    parse_fails("   ", 1, "empty series");
    parse_fails("1 x3", 3, "expected a number or '_'");
    parse_fails("1 2 abc", 5, "expected a number or '_'");
    parse_fails("1+2", 4, "expected 'x' and a count after the step");
    parse_fails("1+x3", 3, "expected a number or '_'");
    parse_fails("5x", 3, "expected a repeat count after 'x'");
    parse_fails("5x-1", 3, "expected a repeat count after 'x'");
    parse_fails("5x3y", 4, "unexpected character in series");
    parse_fails("1 _y", 4, "unexpected character after '_'");
    parse_fails("1.", 1, "expected a number or '_'");
    parse_fails("1+-2x3", 3, "expected a number or '_'");
    parse_fails("1,2", 2, "unexpected character in series");
}

Test(series, refuses_series_longer_than_the_limit)
{
    parse_fails("0+1x100000", 1, "series longer than 100000 points");
    parse_fails("0x99999 1 2", 9, "series longer than 100000 points");
    parse_fails("0x999999999999999999999", 3, "repeat count too large");
    struct vigil_series s = parse("0+1x99999");
    cr_assert_eq(s.n, VIGIL_SERIES_MAX_POINTS);
    vigil_series_fini(&s);
}

Test(series, reports_a_nul_byte)
{
    struct vigil_series s;
    struct vigil_expr_error err;
    cr_assert_eq(vigil_series_parse(&s, "1 \0 2", 5, &err), -1);
    cr_assert_eq(err.col, 3);
}
