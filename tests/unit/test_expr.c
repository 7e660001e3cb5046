#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "expr.h"

static struct vigil_expr *compile(const char *src)
{
    struct vigil_expr_error err;
    struct vigil_expr *e = vigil_expr_compile(src, strlen(src), &err);
    cr_assert_not_null(e, "'%s' failed at column %d: %s", src, err.col,
                       err.msg);
    return e;
}

/* Compiles src, which must fail at col with a message starting with msg. */
static void compile_fails(const char *src, int col, const char *msg)
{
    struct vigil_expr_error err;
    struct vigil_expr *e = vigil_expr_compile(src, strlen(src), &err);
    cr_assert_null(e, "'%s' compiled", src);
    cr_assert_eq(err.col, col, "'%s': column %d, want %d (%s)", src, err.col,
                 col, err.msg);
    cr_assert(strncmp(err.msg, msg, strlen(msg)) == 0,
              "'%s': message '%s', want '%s'", src, err.msg, msg);
}

/* Value of an expression that reads no counters. */
static double constant(const char *src)
{
    struct vigil_expr *e = compile(src);
    struct vigil_expr_value v;
    cr_assert_eq(vigil_expr_query_count(e), 0);
    vigil_expr_eval(e, NULL, NULL, &v);
    cr_assert(v.has_value, "'%s' has no value", src);
    vigil_expr_destroy(e);
    return v.value;
}

static bool constant_has_value(const char *src)
{
    struct vigil_expr *e = compile(src);
    struct vigil_expr_value v;
    vigil_expr_eval(e, NULL, NULL, &v);
    vigil_expr_destroy(e);
    return v.has_value;
}

static struct vigil_expr_qresult num(double v)
{
    return (struct vigil_expr_qresult){.has_value = true, .value = v};
}

static const struct vigil_expr_qresult NODATA = {.has_value = false};

static struct vigil_expr_value eval(struct vigil_expr *e,
                                    const struct vigil_expr_qresult *r)
{
    struct vigil_expr_value v;
    vigil_expr_eval(e, r, NULL, &v);
    return v;
}

static void query_is(const struct vigil_expr *e, size_t slot, const char *text)
{
    char buf[256];
    const struct vigil_expr_query *q = vigil_expr_query(e, slot);
    cr_assert_not_null(q);
    vigil_expr_query_format(q, buf, sizeof(buf));
    cr_assert_str_eq(buf, text);
}

static char *repeated(const char *head, const char *unit, size_t n,
                      const char *mid, const char *tail, size_t tail_n);

/* ---- arithmetic ---- */

Test(expr, reads_integers_and_decimals)
{
    cr_assert_eq(constant("42"), 42);
    cr_assert_eq(constant("99.5"), 99.5);
    cr_assert_eq(constant(".25"), 0.25);
    cr_assert_eq(constant("0.001"), 0.001);
}

Test(expr, multiplication_binds_tighter_than_addition)
{
    cr_assert_eq(constant("2 + 3 * 4"), 14);
    cr_assert_eq(constant("2 * 3 + 4"), 10);
    cr_assert_eq(constant("10 - 6 / 2"), 7);
    cr_assert_eq(constant("(2 + 3) * 4"), 20);
}

Test(expr, subtraction_and_division_are_left_associative)
{
    cr_assert_eq(constant("10 - 3 - 2"), 5);
    cr_assert_eq(constant("64 / 4 / 2"), 8);
    cr_assert_eq(constant("10 - (3 - 2)"), 9);
    cr_assert_eq(constant("2 * 3 / 4 * 8"), 12);
}

Test(expr, unary_minus_binds_tighter_than_everything)
{
    cr_assert_eq(constant("-3"), -3);
    cr_assert_eq(constant("--3"), 3);
    cr_assert_eq(constant("-2 * 3"), -6);
    cr_assert_eq(constant("2 * -3"), -6);
    cr_assert_eq(constant("1 - -1"), 2);
    cr_assert_eq(constant("-(1 + 2)"), -3);
    cr_assert_eq(constant("- 4 - 1"), -5);
}

Test(expr, comparisons_yield_one_or_zero)
{
    cr_assert_eq(constant("1 < 2"), 1);
    cr_assert_eq(constant("2 < 2"), 0);
    cr_assert_eq(constant("2 <= 2"), 1);
    cr_assert_eq(constant("3 > 2"), 1);
    cr_assert_eq(constant("2 >= 3"), 0);
    cr_assert_eq(constant("2 == 2"), 1);
    cr_assert_eq(constant("2 != 2"), 0);
    cr_assert_eq(constant("2 != 3"), 1);
}

Test(expr, comparisons_bind_looser_than_arithmetic)
{
    cr_assert_eq(constant("1 + 1 == 2"), 1);
    cr_assert_eq(constant("2 * 3 > 5 + 0"), 1);
    cr_assert_eq(constant("(1 < 2) + (3 < 4)"), 2);
}

Test(expr, division_by_zero_is_no_data)
{
    cr_assert_not(constant_has_value("1 / 0"));
    cr_assert_not(constant_has_value("0 / 0"));
    cr_assert_not(constant_has_value("ratio(1, 0)"));
    cr_assert_not(constant_has_value("pct(1, 0)"));
    cr_assert_not(constant_has_value("1 / (2 - 2) + 5"));
}

Test(expr, ratio_and_pct)
{
    cr_assert_eq(constant("ratio(1, 4)"), 0.25);
    cr_assert_eq(constant("pct(1, 4)"), 25);
    cr_assert_eq(constant("pct(3, 3)"), 100);
    cr_assert_eq(constant("ratio(2 + 2, 8) * 2"), 1);
}

Test(expr, overflow_to_infinity_is_no_data)
{
    /* 1e60 to the sixth power is past the largest double. */
    char *big = repeated("1", "0", 60, "",
                         " * 1000000000000000000000000000000"
                         "000000000000000000000000000000",
                         5);
    cr_assert_not(constant_has_value(big));
    free(big);
}

Test(expr, blanks_and_newlines_are_ignored)
{
    cr_assert_eq(constant(" \t1\n+\r\n2 "), 3);
}

/* ---- functions and queries ---- */

Test(expr, each_function_compiles_to_its_query)
{
    static const struct {
        const char *src;
        const char *query;
    } cases[] = {
        {"count(auth_failures, 5m)", "count(auth_failures, 5m)"},
        {"rate(auth_failures, 10s)", "count(auth_failures, 10s)"},
        {"top(by_src, 5m)", "topk(by_src, 5m, 5)"},
        {"topk(by_src, 1h, 10)", "topk(by_src, 1h, 10)"},
        {"distinct(users, 1d)", "distinct(users, 1d)"},
        {"sum(bytes_denied, 4h)", "sum(bytes_denied, 4h)"},
        {"avg(containment_time, 7d)", "avg(containment_time, 1w)"},
        {"pctl(containment_time, 30d, 90)", "pctl(containment_time, 4w2d, 90)"},
        {"pctl(t, 1d, 99.9)", "pctl(t, 1d, 99.9)"},
        {"within(containment_time, 30d)", "within(containment_time, 4w2d)"},
        {"open(containment_time)", "open(containment_time)"},
        {"count(c, 250ms)", "count(c, 250ms)"},
        {"count(c, 1h30m)", "count(c, 1h30m)"},
        {"count(web.http_5xx, 5m)", "count(web.http_5xx, 5m)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vigil_expr *e = compile(cases[i].src);
        cr_assert_eq(vigil_expr_query_count(e), 1, "%s", cases[i].src);
        query_is(e, 0, cases[i].query);
        vigil_expr_destroy(e);
    }
}

Test(expr, query_fields_are_exposed)
{
    struct vigil_expr *e =
        compile("topk(by_src, 5m, 3, offset=1d) + pctl(t, 1h, 95)");
    cr_assert_eq(vigil_expr_query_count(e), 2);
    const struct vigil_expr_query *q = vigil_expr_query(e, 0);
    cr_assert_eq(q->kind, VIGIL_EXPR_Q_TOPK);
    cr_assert_str_eq(q->counter, "by_src");
    cr_assert_eq(q->window_ms, 300000);
    cr_assert_eq(q->offset_ms, 86400000);
    cr_assert_eq(q->k, 3);
    cr_assert_eq(q->col, 1);
    q = vigil_expr_query(e, 1);
    cr_assert_eq(q->kind, VIGIL_EXPR_Q_PCTL);
    cr_assert_eq(q->p, 95);
    cr_assert_eq(q->col, 34);
    cr_assert_null(vigil_expr_query(e, 2));
    vigil_expr_destroy(e);
}

Test(expr, offset_names_a_window_in_the_past)
{
    struct vigil_expr *e =
        compile("ratio(count(logins, 1h), count(logins, 1h, offset=7d))");
    cr_assert_eq(vigil_expr_query_count(e), 2);
    query_is(e, 0, "count(logins, 1h)");
    query_is(e, 1, "count(logins, 1h, offset=1w)");
    cr_assert_eq(vigil_expr_max_reach_ms(e), 3600000ULL + 7 * 86400000ULL);
    vigil_expr_destroy(e);
}

Test(expr, offset_zero_is_the_same_query_as_no_offset)
{
    struct vigil_expr *e = compile("count(c, 5m) - count(c, 5m, offset=0s)");
    cr_assert_eq(vigil_expr_query_count(e), 1);
    vigil_expr_destroy(e);
}

Test(expr, duplicate_queries_share_one_slot)
{
    struct vigil_expr *e =
        compile("count(a, 5m) + count(a, 5m) * rate(a, 5m) - count(a, 10m)"
                " + count(b, 5m) + count(a, 5m, offset=1d)");
    cr_assert_eq(vigil_expr_query_count(e), 4);
    query_is(e, 0, "count(a, 5m)");
    query_is(e, 1, "count(a, 10m)");
    query_is(e, 2, "count(b, 5m)");
    query_is(e, 3, "count(a, 5m, offset=1d)");
    vigil_expr_destroy(e);
}

Test(expr, top_and_topk_share_a_query_asking_for_the_larger_k)
{
    struct vigil_expr *e =
        compile("top(s, 5m) + topk(s, 5m, 20) + topk(s, 5m, 2)");
    cr_assert_eq(vigil_expr_query_count(e), 1);
    cr_assert_eq(vigil_expr_query(e, 0)->k, 20);
    vigil_expr_destroy(e);
}

Test(expr, different_percentiles_are_different_queries)
{
    struct vigil_expr *e = compile("pctl(t, 1h, 50) - pctl(t, 1h, 90)");
    cr_assert_eq(vigil_expr_query_count(e), 2);
    vigil_expr_destroy(e);
}

Test(expr, lists_counters_in_order_of_first_use)
{
    struct vigil_expr *e = compile(
        "pct(count(denied, 5m), count(total, 5m)) + distinct(denied, 1h)");
    size_t n;
    const char *const *c = vigil_expr_counters(e, &n);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(c[0], "denied");
    cr_assert_str_eq(c[1], "total");
    cr_assert_str_eq(vigil_expr_source(e),
                     "pct(count(denied, 5m), count(total, 5m)) + "
                     "distinct(denied, 1h)");
    vigil_expr_destroy(e);
}

Test(expr, max_reach_is_the_longest_window_plus_offset)
{
    struct vigil_expr *e = compile("count(a, 1d) + count(a, 1h, offset=1d) + "
                                   "count(a, 4h) + open(a)");
    cr_assert_eq(vigil_expr_max_reach_ms(e), 25ULL * 3600000ULL);
    vigil_expr_destroy(e);
    e = compile("open(pairs) + 1");
    cr_assert_eq(vigil_expr_max_reach_ms(e), 0);
    vigil_expr_destroy(e);
    e = compile("7");
    cr_assert_eq(vigil_expr_max_reach_ms(e), 0);
    vigil_expr_destroy(e);
}

/* ---- evaluation from query results ---- */

Test(expr, evaluates_from_query_results)
{
    struct vigil_expr *e = compile("pct(count(denied, 5m), count(total, 5m))");
    struct vigil_expr_qresult r[2] = {num(5), num(20)};
    struct vigil_expr_value v = eval(e, r);
    cr_assert(v.has_value);
    cr_assert_eq(v.value, 25);
    cr_assert_null(v.top);
    vigil_expr_destroy(e);
}

Test(expr, rate_is_per_second_over_the_window)
{
    struct vigil_expr *e = compile("rate(c, 5m)");
    struct vigil_expr_qresult r[1] = {num(600)};
    cr_assert_eq(eval(e, r).value, 2);
    vigil_expr_destroy(e);
    e = compile("rate(c, 250ms)");
    r[0] = num(3);
    cr_assert_eq(eval(e, r).value, 12);
    vigil_expr_destroy(e);
}

Test(expr, rate_and_count_read_one_query)
{
    struct vigil_expr *e = compile("count(c, 1m) - rate(c, 1m)");
    struct vigil_expr_qresult r[1] = {num(120)};
    cr_assert_eq(vigil_expr_query_count(e), 1);
    cr_assert_eq(eval(e, r).value, 118);
    vigil_expr_destroy(e);
}

Test(expr, no_data_propagates_through_arithmetic)
{
    static const char *const srcs[] = {
        "count(c, 5m)",     "count(c, 5m) + 1",       "1 - count(c, 5m)",
        "2 * count(c, 5m)", "count(c, 5m) / 2",       "-count(c, 5m)",
        "(count(c, 5m))",   "ratio(count(c, 5m), 2)", "pct(1, count(c, 5m))",
    };
    struct vigil_expr_qresult r[1] = {NODATA};
    for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
        struct vigil_expr *e = compile(srcs[i]);
        struct vigil_expr_value v = eval(e, r);
        cr_assert_not(v.has_value, "%s has a value", srcs[i]);
        cr_assert_eq(v.value, 0);
        vigil_expr_destroy(e);
    }
}

Test(expr, no_data_propagates_through_comparisons)
{
    static const char *const srcs[] = {
        "count(c, 5m) > 3",  "count(c, 5m) < 3",  "count(c, 5m) == 0",
        "count(c, 5m) != 0", "3 >= count(c, 5m)", "3 <= count(c, 5m)",
    };
    struct vigil_expr_qresult r[1] = {NODATA};
    for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
        struct vigil_expr *e = compile(srcs[i]);
        cr_assert_not(eval(e, r).has_value, "%s has a value", srcs[i]);
        vigil_expr_destroy(e);
    }
}

Test(expr, ratio_and_pct_of_a_zero_denominator_are_no_data)
{
    struct vigil_expr *e = compile("pct(count(a, 5m), count(b, 5m))");
    struct vigil_expr_qresult r[2] = {num(0), num(0)};
    cr_assert_not(eval(e, r).has_value);
    r[1] = num(10);
    cr_assert(eval(e, r).has_value);
    cr_assert_eq(eval(e, r).value, 0);
    vigil_expr_destroy(e);
    e = compile("ratio(count(a, 5m), count(b, 5m))");
    r[0] = num(3);
    r[1] = num(0);
    cr_assert_not(eval(e, r).has_value);
    vigil_expr_destroy(e);
}

Test(expr, non_finite_query_results_are_no_data)
{
    struct vigil_expr *e = compile("count(c, 5m) * 0");
    struct vigil_expr_qresult r[1] = {num(INFINITY)};
    cr_assert_not(eval(e, r).has_value);
    r[0] = num(NAN);
    cr_assert_not(eval(e, r).has_value);
    vigil_expr_destroy(e);
}

Test(expr, map_translates_slots_into_a_shared_result_array)
{
    struct vigil_expr *e = compile("count(a, 5m) - count(b, 5m)");
    struct vigil_expr_qresult shared[4] = {num(100), num(7), num(1000), num(2)};
    size_t map[2] = {2, 1};
    struct vigil_expr_value v;
    vigil_expr_eval(e, shared, map, &v);
    cr_assert_eq(v.value, 993);
    vigil_expr_destroy(e);
}

static const struct vigil_expr_key_count offenders[] = {
    {"194.117.26.69", 13, 80}, {"10.0.0.1", 8, 40}, {"10.0.0.2", 8, 30},
    {"10.0.0.3", 8, 20},       {"10.0.0.4", 8, 10}, {"10.0.0.5", 8, 5},
    {"10.0.0.6", 8, 1},
};

Test(expr, top_level_topk_carries_its_offenders)
{
    struct vigil_expr *e = compile("topk(by_src, 5m, 3)");
    cr_assert_eq(vigil_expr_offenders_slot(e), 0);
    struct vigil_expr_qresult r[1] = {
        {.has_value = true, .value = 80, .top = offenders, .n_top = 3}};
    struct vigil_expr_value v = eval(e, r);
    cr_assert_eq(v.value, 80);
    cr_assert_eq(v.top, offenders);
    cr_assert_eq(v.n_top, 3);
    vigil_expr_destroy(e);
}

Test(expr, top_carries_five_offenders_even_when_the_store_sends_more)
{
    struct vigil_expr *e = compile("(top(by_src, 5m))");
    struct vigil_expr_qresult r[1] = {
        {.has_value = true, .value = 80, .top = offenders, .n_top = 7}};
    struct vigil_expr_value v = eval(e, r);
    cr_assert_eq(v.value, 80);
    cr_assert_eq(v.n_top, VIGIL_EXPR_TOP_OFFENDERS);
    cr_assert_eq(memcmp(v.top[0].key, "194.117.26.69", 13), 0);
    vigil_expr_destroy(e);
}

Test(expr, the_only_top_query_gives_offenders_to_a_larger_expression)
{
    struct vigil_expr *e = compile("pct(top(by_src, 1h), count(by_src, 1h))");
    cr_assert_eq(vigil_expr_offenders_slot(e), 0);
    struct vigil_expr_qresult r[2] = {
        {.has_value = true, .value = 80, .top = offenders, .n_top = 2},
        num(160)};
    struct vigil_expr_value v = eval(e, r);
    cr_assert_eq(v.value, 50);
    cr_assert_eq(v.n_top, 2);
    vigil_expr_destroy(e);
}

Test(expr, no_offenders_when_ambiguous_or_absent)
{
    struct vigil_expr *e = compile("top(a, 5m) + top(b, 5m)");
    cr_assert_eq(vigil_expr_offenders_slot(e), -1);
    vigil_expr_destroy(e);
    e = compile("count(a, 5m)");
    cr_assert_eq(vigil_expr_offenders_slot(e), -1);
    struct vigil_expr_qresult r[1] = {num(1)};
    cr_assert_null(eval(e, r).top);
    vigil_expr_destroy(e);
    /* The past's offenders are not today's. */
    e = compile("top(a, 5m) - top(a, 5m, offset=1d)");
    cr_assert_eq(vigil_expr_offenders_slot(e), 0);
    vigil_expr_destroy(e);
    e = compile("top(a, 5m, offset=1d) / 2");
    cr_assert_eq(vigil_expr_offenders_slot(e), -1);
    vigil_expr_destroy(e);
}

Test(expr, top_level_top_with_offset_still_carries_offenders)
{
    struct vigil_expr *e = compile("top(a, 5m, offset=1d)");
    cr_assert_eq(vigil_expr_offenders_slot(e), 0);
    vigil_expr_destroy(e);
}

Test(expr, topk_without_data_has_no_value_and_no_offenders)
{
    struct vigil_expr *e = compile("topk(by_src, 5m, 3)");
    struct vigil_expr_qresult r[1] = {NODATA};
    struct vigil_expr_value v = eval(e, r);
    cr_assert_not(v.has_value);
    cr_assert_null(v.top);
    cr_assert_eq(v.n_top, 0);
    vigil_expr_destroy(e);
}

/* ---- errors, with exact columns ---- */

Test(expr, reports_unknown_functions)
{
    compile_fails("cnt(a, 5m)", 1, "unknown function 'cnt' (did you mean");
    compile_fails("1 + frobnicate(a, 5m)", 5, "unknown function 'frobnicate'");
    compile_fails("max(a, 5m)", 1, "unknown function 'max'");
}

Test(expr, unknown_function_suggests_a_close_name)
{
    struct vigil_expr_error err;
    cr_assert_null(vigil_expr_compile("cnt(a, 5m)", 10, &err));
    cr_assert_str_eq(err.msg, "unknown function 'cnt' (did you mean 'count'?)");
    cr_assert_null(vigil_expr_compile("rates(a, 5m)", 12, &err));
    cr_assert_str_eq(err.msg,
                     "unknown function 'rates' (did you mean 'rate'?)");
}

Test(expr, reports_wrong_argument_counts_at_the_function)
{
    compile_fails("count(a)", 1, "count() takes 2 arguments");
    compile_fails("count(a, 5m, 3)", 1, "count() takes 2 arguments");
    compile_fails("count()", 1, "count() takes 2 arguments");
    compile_fails("1 + topk(a, 5m)", 5, "topk() takes 3 arguments");
    compile_fails("pctl(a, 5m)", 1, "pctl() takes 3 arguments");
    compile_fails("open(a, 5m)", 1, "open() takes 1 argument: open(counter)");
    compile_fails("open()", 1, "open() takes 1 argument");
    compile_fails("ratio(1)", 1, "ratio() takes 2 arguments: ratio(a, b)");
    compile_fails("pct(1, 2, 3)", 1, "pct() takes 2 arguments");
    compile_fails("pct()", 1, "pct() takes 2 arguments");
}

Test(expr, arity_message_shows_the_usage)
{
    struct vigil_expr_error err;
    cr_assert_null(vigil_expr_compile("count(a)", 8, &err));
    cr_assert_str_eq(err.msg, "count() takes 2 arguments: "
                              "count(counter, window[, offset=D])");
}

Test(expr, reports_wrong_argument_kinds)
{
    compile_fails("count(5, 5m)", 7,
                  "count() needs a counter name as "
                  "argument 1");
    compile_fails("count(count(a, 5m), 5m)", 7,
                  "count() needs a counter name as argument 1");
    compile_fails("count(a, 300)", 10,
                  "window must be a duration such as 5m, not a number");
    compile_fails("count(a, b)", 10,
                  "count() needs a window such as 5m as argument 2");
    compile_fails("count(a, 0s)", 10, "window must be longer than 0");
    compile_fails("count(a, 401d)", 10, "window longer than 400d");
    compile_fails("topk(a, 5m, 0)", 13, "k must be a whole number from 1");
    compile_fails("topk(a, 5m, 101)", 13, "k must be a whole number");
    compile_fails("topk(a, 5m, 2.5)", 13, "k must be a whole number");
    compile_fails("topk(a, 5m, -1)", 13, "k must be a whole number");
    compile_fails("pctl(a, 5m, 101)", 13, "p must be a number from 0 to 100");
    compile_fails("pctl(a, 5m, x)", 13, "p must be a number");
    compile_fails("count(a + 1, 5m)", 9, "expected ',' or ')'");
    compile_fails("count(a, 5m + 1m)", 13, "expected ',' or ')'");
}

Test(expr, accepts_percentile_bounds)
{
    struct vigil_expr *e = compile("pctl(a, 5m, 0) + pctl(a, 5m, 100)");
    vigil_expr_destroy(e);
}

Test(expr, reports_offset_problems)
{
    compile_fails("count(a, 5m, offset=3)", 21,
                  "offset= needs a duration such as 1d");
    compile_fails("count(a, 5m, offst=1d)", 14,
                  "unknown named argument 'offst'");
    compile_fails("count(a, 5m, offset=1d, offset=2d)", 25,
                  "offset= given twice");
    compile_fails("count(a, offset=1d, 5m)", 21, "offset= must come last");
    compile_fails("open(a, offset=1d)", 9, "open() takes no offset=");
    compile_fails("ratio(1, offset=1d)", 10, "ratio() takes no named");
    compile_fails("count(a, 5m, offset=401d)", 21, "offset longer than 400d");
    compile_fails("topk(a, 5m, offset=1d)", 1, "topk() takes 3 arguments");
}

Test(expr, a_counter_named_offset_is_still_a_counter)
{
    struct vigil_expr *e = compile("count(offset, 5m, offset=1h)");
    cr_assert_str_eq(vigil_expr_query(e, 0)->counter, "offset");
    vigil_expr_destroy(e);
}

Test(expr, reports_unbalanced_parentheses)
{
    compile_fails("(1 + 2", 7, "expected ')' to close the '(' at column 1");
    compile_fails("1 + 2)", 6, "unmatched ')'");
    compile_fails("count(a, 5m", 12, "expected ',' or ')'");
    compile_fails("((1)", 5, "expected ')' to close the '(' at column 1");
    compile_fails("()", 2, "expected a number, a function or '(', found ')'");
}

Test(expr, reports_missing_operands_and_trailing_text)
{
    compile_fails("", 1, "empty expression");
    compile_fails("   ", 1, "empty expression");
    compile_fails("1 +", 4, "expected a number, a function or '(', found end");
    compile_fails("* 2", 1, "expected a number, a function or '(', found '*'");
    compile_fails("1 2", 3, "unexpected '2': expected an operator or the end");
    compile_fails("count(a, 5m) count(b, 5m)", 14, "unexpected 'count'");
    compile_fails("+1", 1, "expected a number, a function or '('");
    compile_fails("count(a, 5m,)", 13, "expected an argument after ','");
    compile_fails("ratio(1, 2,)", 12, "expected an argument after ','");
    compile_fails("count(, 5m)", 7, "count() needs a counter name");
}

Test(expr, reports_bad_tokens)
{
    compile_fails("1 + $", 5, "unexpected character '$'");
    compile_fails("1 ! 2", 3, "unexpected '!' (did you mean '!='?)");
    compile_fails("count(a, 5m) = 3", 14, "unexpected '=' (compare with '==')");
    compile_fails("1.", 1, "invalid number '1.'");
    compile_fails("1.2.3", 1, "invalid number '1.2.3'");
    compile_fails("count(a, 1.5h)", 10, "invalid duration '1.5h'");
    compile_fails("count(a, 5y)", 10, "invalid duration '5y'");
    compile_fails("1e6", 1, "invalid duration '1e6'");
    compile_fails("5m", 1, "a duration is only allowed as a window");
    compile_fails("1 + \x01", 5, "unexpected byte 0x01");
    compile_fails("1 + \xc3\xa9", 5, "unexpected byte 0xc3");
}

Test(expr, reports_a_nul_byte_at_its_column)
{
    struct vigil_expr_error err;
    cr_assert_null(vigil_expr_compile("1 +\0 2", 6, &err));
    cr_assert_eq(err.col, 4);
    cr_assert_str_eq(err.msg, "unexpected byte 0x00");
}

Test(expr, reports_a_counter_used_without_a_function)
{
    compile_fails("auth_failures > 3", 1,
                  "'auth_failures' alone is not a value: read counters "
                  "through a function such as count(auth_failures, 5m)");
    compile_fails("ratio(a, b)", 7, "'a' alone is not a value");
}

Test(expr, comparisons_do_not_chain)
{
    compile_fails("1 < 2 < 3", 7, "comparisons do not chain");
    cr_assert_eq(constant("(1 < 2) < 3"), 1);
}

Test(expr, durations_of_every_unit)
{
    static const struct {
        const char *d;
        uint64_t ms;
    } cases[] = {
        {"250ms", 250},    {"10s", 10000},     {"5m", 300000},
        {"4h", 14400000},  {"1d", 86400000},   {"7d", 604800000},
        {"1w", 604800000}, {"1h30m", 5400000}, {"1m500ms", 60500},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char src[64];
        snprintf(src, sizeof(src), "count(c, %s)", cases[i].d);
        struct vigil_expr *e = compile(src);
        cr_assert_eq(vigil_expr_query(e, 0)->window_ms, cases[i].ms, "%s",
                     cases[i].d);
        vigil_expr_destroy(e);
    }
}

/* ---- limits ---- */

static void append(char *s, size_t *at, const char *part)
{
    size_t n = strlen(part);
    memcpy(s + *at, part, n);
    *at += n;
}

/* head, unit n times, mid, tail tail_n times; free() it. */
static char *repeated(const char *head, const char *unit, size_t n,
                      const char *mid, const char *tail, size_t tail_n)
{
    size_t len = strlen(head) + strlen(unit) * n + strlen(mid) +
                 strlen(tail) * tail_n + 1;
    char *s = malloc(len);
    size_t at = 0;
    cr_assert_not_null(s);
    append(s, &at, head);
    for (size_t i = 0; i < n; i++)
        append(s, &at, unit);
    append(s, &at, mid);
    for (size_t i = 0; i < tail_n; i++)
        append(s, &at, tail);
    s[at] = '\0';
    return s;
}

Test(expr, nesting_up_to_the_limit_is_accepted)
{
    char *s =
        repeated("", "(", VIGIL_EXPR_MAX_DEPTH, "1", ")", VIGIL_EXPR_MAX_DEPTH);
    cr_assert_eq(constant(s), 1);
    free(s);
    s = repeated("", "-", VIGIL_EXPR_MAX_DEPTH, "1", "", 0);
    cr_assert_eq(constant(s), 1);
    free(s);
}

Test(expr, nesting_past_the_limit_is_rejected_at_the_offending_column)
{
    char *s = repeated("", "(", VIGIL_EXPR_MAX_DEPTH + 1, "1", ")",
                       VIGIL_EXPR_MAX_DEPTH + 1);
    compile_fails(s, VIGIL_EXPR_MAX_DEPTH + 1,
                  "expression nested too deeply (more than 32 levels)");
    free(s);
    s = repeated("", "-", 100, "1", "", 0);
    compile_fails(s, VIGIL_EXPR_MAX_DEPTH + 1, "expression nested too deeply");
    free(s);
    s = repeated("", "ratio(1, ", 40, "1", ")", 40);
    compile_fails(s, 9 * VIGIL_EXPR_MAX_DEPTH + 1,
                  "expression nested too deeply");
    free(s);
}

Test(expr, long_flat_expressions_are_fine)
{
    char *s = repeated("0", " + 1", 1000, "", "", 0);
    cr_assert_eq(constant(s), 1000);
    free(s);
}

Test(expr, deep_right_operands_stay_within_the_stack)
{
    /* Every level leaves three operands waiting: the worst case. */
    char *s = repeated("", "1 < 1 + 1 * (", VIGIL_EXPR_MAX_DEPTH - 1, "1", ")",
                       VIGIL_EXPR_MAX_DEPTH - 1);
    struct vigil_expr *e = compile(s);
    struct vigil_expr_value v;
    vigil_expr_eval(e, NULL, NULL, &v);
    cr_assert(v.has_value);
    vigil_expr_destroy(e);
    free(s);
}

Test(expr, source_longer_than_the_limit_is_rejected)
{
    char *s = repeated("0", " + 1", 1100, "", "", 0);
    struct vigil_expr_error err;
    cr_assert_null(vigil_expr_compile(s, strlen(s), &err));
    cr_assert_eq(err.col, VIGIL_EXPR_MAX_LEN + 1);
    cr_assert_str_eq(err.msg, "expression longer than 4096 bytes");
    free(s);
}

Test(expr, names_longer_than_the_limit_are_rejected)
{
    char *s = repeated("count(", "a", VIGIL_EXPR_MAX_NAME + 1, ", 5m)", "", 0);
    compile_fails(s, 7, "name longer than 200 bytes");
    free(s);
}

Test(expr, numbers_that_are_too_long_or_too_large_are_rejected)
{
    char *s = repeated("", "9", 80, "", "", 0);
    compile_fails(s, 1, "number '99999999999999999999...' is too long");
    free(s);
}

/* ---- checking counters ---- */

static unsigned lookup(void *ctx, const char *name)
{
    (void)ctx;
    if (strcmp(name, "plain") == 0)
        return VIGIL_EXPR_ON_PLAIN;
    if (strcmp(name, "by_src") == 0)
        return VIGIL_EXPR_ON_BY;
    if (strcmp(name, "users") == 0)
        return VIGIL_EXPR_ON_DISTINCT;
    if (strcmp(name, "bytes") == 0)
        return VIGIL_EXPR_ON_SUM;
    if (strcmp(name, "pairs") == 0)
        return VIGIL_EXPR_ON_PAIR;
    return 0;
}

static void check_fails(const char *src, int col, const char *msg)
{
    struct vigil_expr *e = compile(src);
    struct vigil_expr_error err;
    cr_assert_eq(vigil_expr_check_counters(e, lookup, NULL, &err), -1, "%s",
                 src);
    cr_assert_eq(err.col, col, "%s: column %d", src, err.col);
    cr_assert_str_eq(err.msg, msg);
    vigil_expr_destroy(e);
}

Test(expr, check_accepts_functions_on_their_counter_kinds)
{
    struct vigil_expr *e =
        compile("count(plain, 5m) + count(by_src, 5m) + rate(pairs, 1h) + "
                "top(by_src, 5m) + distinct(users, 1d) + sum(bytes, 1h) + "
                "avg(pairs, 1d) + pctl(pairs, 1d, 90) + within(pairs, 1d) + "
                "open(pairs)");
    struct vigil_expr_error err;
    cr_assert_eq(vigil_expr_check_counters(e, lookup, NULL, &err), 0, "%s",
                 err.msg);
    vigil_expr_destroy(e);
}

Test(expr, check_reports_unknown_counters_and_wrong_kinds)
{
    check_fails("1 + count(nope, 5m)", 5, "unknown counter 'nope'");
    check_fails("top(plain, 5m)", 1,
                "top() needs a per-key count (by:) counter; 'plain' is a "
                "plain count");
    check_fails("count(plain, 1m) + rate(users, 5m)", 20,
                "rate() needs a plain count, a per-key count (by:) or a "
                "pair counter; 'users' is a distinct count");
    check_fails("avg(bytes, 1h)", 1,
                "avg() needs a pair counter; 'bytes' is a sum");
    check_fails("distinct(plain, 1h)", 1,
                "distinct() needs a distinct count counter; 'plain' is a "
                "plain count");
}

/* ---- query identity and formatting ---- */

Test(expr, query_identity_ignores_k_and_column)
{
    struct vigil_expr *a = compile("topk(s, 5m, 3)");
    struct vigil_expr *b = compile("1 + topk(s, 5m, 9)");
    struct vigil_expr *c = compile("topk(s, 5m, 3, offset=1m)");
    const struct vigil_expr_query *qa = vigil_expr_query(a, 0);
    const struct vigil_expr_query *qb = vigil_expr_query(b, 0);
    const struct vigil_expr_query *qc = vigil_expr_query(c, 0);
    cr_assert(vigil_expr_query_same(qa, qb));
    cr_assert_eq(vigil_expr_query_hash(qa), vigil_expr_query_hash(qb));
    cr_assert_not(vigil_expr_query_same(qa, qc));
    cr_assert_neq(vigil_expr_query_hash(qa), vigil_expr_query_hash(qc));
    vigil_expr_destroy(a);
    vigil_expr_destroy(b);
    vigil_expr_destroy(c);
}

Test(expr, formats_durations_as_the_shortest_combination)
{
    static const struct {
        uint64_t ms;
        const char *text;
    } cases[] = {{0, "0s"},          {250, "250ms"},    {1000, "1s"},
                 {5400000, "1h30m"}, {604800000, "1w"}, {691200000, "1w1d"},
                 {61001, "1m1s1ms"}};
    char buf[32];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vigil_expr_format_duration(cases[i].ms, buf, sizeof(buf));
        cr_assert_str_eq(buf, cases[i].text);
    }
}

Test(expr, query_format_truncates_safely_and_reports_the_length)
{
    struct vigil_expr *e = compile("count(auth_failures, 5m, offset=1d)");
    char small[8];
    size_t n =
        vigil_expr_query_format(vigil_expr_query(e, 0), small, sizeof(small));
    cr_assert_eq(n, strlen("count(auth_failures, 5m, offset=1d)"));
    cr_assert_str_eq(small, "count(a");
    vigil_expr_destroy(e);
}

Test(expr, kind_names)
{
    cr_assert_str_eq(vigil_expr_query_kind_name(VIGIL_EXPR_Q_COUNT), "count");
    cr_assert_str_eq(vigil_expr_query_kind_name(VIGIL_EXPR_Q_OPEN), "open");
}

/* ---- decision criteria ---- */

static struct vigil_threshold threshold(const char *s)
{
    struct vigil_threshold th;
    struct vigil_expr_error err;
    cr_assert_eq(vigil_threshold_parse(s, strlen(s), &th, &err), 0,
                 "'%s': column %d: %s", s, err.col, err.msg);
    return th;
}

static void threshold_fails(const char *s, int col, const char *msg)
{
    struct vigil_threshold th;
    struct vigil_expr_error err;
    cr_assert_eq(vigil_threshold_parse(s, strlen(s), &th, &err), -1, "%s", s);
    cr_assert_eq(err.col, col, "'%s': column %d, want %d", s, err.col, col);
    cr_assert(strncmp(err.msg, msg, strlen(msg)) == 0, "'%s': '%s'", s,
              err.msg);
}

Test(threshold, parses_every_operator)
{
    struct vigil_threshold th = threshold("< 20");
    cr_assert_eq(th.op, VIGIL_THRESHOLD_LT);
    cr_assert_eq(th.value, 20);
    cr_assert_eq(threshold(">= 50").op, VIGIL_THRESHOLD_GE);
    cr_assert_eq(threshold("<= 1").op, VIGIL_THRESHOLD_LE);
    cr_assert_eq(threshold("> 99.5").value, 99.5);
    cr_assert_eq(threshold("== 0").op, VIGIL_THRESHOLD_EQ);
    cr_assert_eq(threshold("!= 1").op, VIGIL_THRESHOLD_NE);
    cr_assert_eq(threshold("<1").value, 1);
    cr_assert_eq(threshold("  >=   -2.5  ").value, -2.5);
    cr_assert_eq(threshold("> .5").value, 0.5);
}

Test(threshold, holds_compares_the_value)
{
    struct vigil_threshold lt = threshold("< 20");
    cr_assert(vigil_threshold_holds(&lt, 19.9));
    cr_assert_not(vigil_threshold_holds(&lt, 20));
    struct vigil_threshold ge = threshold(">= 50");
    cr_assert(vigil_threshold_holds(&ge, 50));
    cr_assert_not(vigil_threshold_holds(&ge, 49));
    struct vigil_threshold le = threshold("<= 1");
    cr_assert(vigil_threshold_holds(&le, 1));
    cr_assert_not(vigil_threshold_holds(&le, 1.01));
    struct vigil_threshold gt = threshold("> 99.5");
    cr_assert(vigil_threshold_holds(&gt, 99.6));
    cr_assert_not(vigil_threshold_holds(&gt, 99.5));
    struct vigil_threshold eq = threshold("== 0");
    cr_assert(vigil_threshold_holds(&eq, 0));
    cr_assert_not(vigil_threshold_holds(&eq, 0.0001));
    struct vigil_threshold ne = threshold("!= 1");
    cr_assert(vigil_threshold_holds(&ne, 2));
    cr_assert_not(vigil_threshold_holds(&ne, 1));
}

Test(threshold, reports_errors_with_columns)
{
    threshold_fails("20", 1, "expected a comparison");
    threshold_fails("", 1, "expected a comparison");
    threshold_fails("= 3", 1, "'=' is not a comparison; use '=='");
    threshold_fails("< ", 3, "expected a number after the comparison");
    threshold_fails(">= abc", 4, "expected a number after the comparison");
    threshold_fails("< 20 ms", 6, "unexpected text after the number");
    threshold_fails("< 1.", 3, "expected a number");
    threshold_fails("=> 3", 1, "'=' is not a comparison");
    threshold_fails("<< 3", 2, "expected a number");
}

Test(threshold, formats_back_to_text)
{
    char buf[32];
    struct vigil_threshold th = threshold(">=99.5");
    vigil_threshold_format(&th, buf, sizeof(buf));
    cr_assert_str_eq(buf, ">= 99.5");
    th = threshold("< 0.1");
    vigil_threshold_format(&th, buf, sizeof(buf));
    cr_assert_str_eq(buf, "< 0.1");
    th = threshold("> 0.0000001");
    vigil_threshold_format(&th, buf, sizeof(buf));
    cr_assert_str_eq(buf, "> 0.0000001");
    cr_assert_str_eq(vigil_threshold_op_name(VIGIL_THRESHOLD_NE), "!=");
}

Test(expr, worst_case_stack_growth_is_an_error_not_an_overflow)
{
    /* Four operands wait at each of 32 levels, then one more value. */
    char *s = repeated("", "1 < 1 + 1 * pct(1, ", VIGIL_EXPR_MAX_DEPTH, "1",
                       ")", VIGIL_EXPR_MAX_DEPTH);
    struct vigil_expr_error err;
    cr_assert_null(vigil_expr_compile(s, strlen(s), &err));
    cr_assert_str_eq(err.msg, "expression too complex");
    free(s);
}

Test(expr, formatted_queries_compile_back_to_the_same_query)
{
    static const char *const srcs[] = {
        "pctl(t, 1h, 0.00001)", "pctl(t, 1h, 99.99)",
        "topk(s, 1h30m, 7, offset=1w1d)", "rate(c, 61001ms)"};
    for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
        struct vigil_expr *e = compile(srcs[i]);
        char buf[256];
        vigil_expr_query_format(vigil_expr_query(e, 0), buf, sizeof(buf));
        struct vigil_expr *again = compile(buf);
        cr_assert(vigil_expr_query_same(vigil_expr_query(e, 0),
                                        vigil_expr_query(again, 0)),
                  "%s -> %s", srcs[i], buf);
        vigil_expr_destroy(again);
        vigil_expr_destroy(e);
    }
}
