/* feed_metrics: the Prometheus text exposition of /metrics. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed_metrics.h"

static char *render(const struct vigil_feed_metrics *m)
{
    struct vigil_feed_buf b;
    vigil_feed_buf_init(&b);
    vigil_feed_metrics_render(m, &b);
    char *s = vigil_feed_buf_take(&b, NULL);
    cr_assert_not_null(s);
    return s;
}

static void assert_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p += n)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return;
    cr_assert_fail("no line '%s' in:\n%s", line, text);
}

static char *number(double v)
{
    struct vigil_feed_buf b;
    vigil_feed_buf_init(&b);
    vigil_feed_metrics_number(&b, v);
    return vigil_feed_buf_take(&b, NULL);
}

Test(feed_metrics, numbers_are_the_shortest_exact_decimal)
{
    const struct {
        double v;
        const char *s;
    } cases[] = {{0, "0"},     {1, "1"},           {0.1, "0.1"},
                 {2.5, "2.5"}, {-3, "-3"},         {1e21, "1e+21"},
                 {NAN, "NaN"}, {INFINITY, "+Inf"}, {-INFINITY, "-Inf"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *s = number(cases[i].v);
        cr_assert_str_eq(s, cases[i].s);
        free(s);
    }
    char *s = number(1.0 / 3);
    cr_assert_eq(strtod(s, NULL), 1.0 / 3);
    free(s);
}

Test(feed_metrics, label_values_escape_backslash_quote_and_newline)
{
    struct vigil_feed_buf b;
    vigil_feed_buf_init(&b);
    vigil_feed_metrics_escape(&b, "a\\b\"c\nd");
    char *s = vigil_feed_buf_take(&b, NULL);
    cr_assert_str_eq(s, "a\\\\b\\\"c\\nd");
    free(s);
}

Test(feed_metrics, every_family_has_help_and_type_even_without_samples)
{
    struct vigil_feed_metrics m = {0};
    char *s = render(&m);
    const char *families[] = {
        "vigil_events_total counter",
        "vigil_decode_errors_total counter",
        "vigil_rule_matches_total counter",
        "vigil_regex_limit_hits_total counter",
        "vigil_redis_flush_seconds histogram",
        "vigil_indicator_value gauge",
        "vigil_indicator_state gauge",
        "vigil_notifications_total counter",
    };
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        char line[128];
        snprintf(line, sizeof(line), "# TYPE %s", families[i]);
        assert_line(s, line);
        char help[64];
        snprintf(help, sizeof(help), "# HELP %.*s ",
                 (int)strcspn(families[i], " "), families[i]);
        cr_assert_not_null(strstr(s, help), "%s", help);
    }
    /* No lag provider: the family is left out. */
    cr_assert_null(strstr(s, "vigil_kafka_lag"));
    cr_assert_null(strstr(s, "vigil_events_total 0"));
    free(s);
}

Test(feed_metrics, renders_samples_of_every_family)
{
    struct vigil_feed_rule_sample rules[] = {
        {"sshd.auth_failure", true, 42, 1},
        {"odd\"rule", false, 0, 0},
    };
    struct vigil_feed_lag_sample lags[] = {{"security-events", 3, 17}};
    struct vigil_feed_indicator_sample inds[] = {
        {"KPI-1", true, true, 12.5, VIGIL_STATE_WARN},
        {"KPI-2", true, false, 0, VIGIL_STATE_NO_DATA},
        {"KPI-3", false, false, 0, VIGIL_STATE_OK},
    };
    struct vigil_feed_notification_sample notes[] = {{"oncall", "sent", 3},
                                                     {"", "unrouted", 1}};
    struct vigil_feed_histogram h = {0};
    struct vigil_feed_metrics m = {
        .has_pipeline = true,
        .events = 1000,
        .decode_errors = 2,
        .rules = rules,
        .n_rules = 2,
        .has_lag = true,
        .lags = lags,
        .n_lags = 1,
        .flush = &h,
        .indicators = inds,
        .n_indicators = 3,
        .notifications = notes,
        .n_notifications = 2,
    };
    char *s = render(&m);
    assert_line(s, "vigil_events_total 1000");
    assert_line(s, "vigil_decode_errors_total 2");
    assert_line(s, "vigil_rule_matches_total{rule=\"sshd.auth_failure\"} 42");
    cr_assert_null(strstr(s, "vigil_rule_matches_total{rule=\"odd"));
    assert_line(s, "vigil_regex_limit_hits_total{rule=\"odd\\\"rule\"} 0");
    assert_line(
        s, "vigil_kafka_lag{topic=\"security-events\",partition=\"3\"} 17");
    assert_line(s, "vigil_indicator_value{indicator=\"KPI-1\"} 12.5");
    cr_assert_null(strstr(s, "vigil_indicator_value{indicator=\"KPI-2\"}"));
    assert_line(s,
                "vigil_indicator_state{indicator=\"KPI-1\",state=\"warn\"} 1");
    assert_line(s, "vigil_indicator_state{indicator=\"KPI-1\",state=\"ok\"} 0");
    assert_line(
        s, "vigil_indicator_state{indicator=\"KPI-2\",state=\"no_data\"} 1");
    cr_assert_null(strstr(s, "KPI-3"));
    assert_line(
        s, "vigil_notifications_total{notifier=\"oncall\",result=\"sent\"} 3");
    assert_line(
        s, "vigil_notifications_total{notifier=\"\",result=\"unrouted\"} 1");
    free(s);
}

Test(feed_metrics, histogram_buckets_are_cumulative_and_agree_with_count)
{
    struct vigil_feed_histogram h = {0};
    vigil_feed_histogram_observe(&h, 0.0001); /* le 0.0005 */
    vigil_feed_histogram_observe(&h, 0.001);  /* le 0.001: bounds inclusive */
    vigil_feed_histogram_observe(&h, 0.3);    /* le 0.5 */
    vigil_feed_histogram_observe(&h, 60);     /* +Inf only */
    vigil_feed_histogram_observe(&h, -1);     /* counts as 0 */
    struct vigil_feed_metrics m = {.flush = &h};
    char *s = render(&m);
    assert_line(s, "vigil_redis_flush_seconds_bucket{le=\"0.0005\"} 2");
    assert_line(s, "vigil_redis_flush_seconds_bucket{le=\"0.001\"} 3");
    assert_line(s, "vigil_redis_flush_seconds_bucket{le=\"0.25\"} 3");
    assert_line(s, "vigil_redis_flush_seconds_bucket{le=\"0.5\"} 4");
    assert_line(s, "vigil_redis_flush_seconds_bucket{le=\"10\"} 4");
    assert_line(s, "vigil_redis_flush_seconds_bucket{le=\"+Inf\"} 5");
    assert_line(s, "vigil_redis_flush_seconds_count 5");
    const char *sum = strstr(s, "vigil_redis_flush_seconds_sum ");
    cr_assert_not_null(sum);
    double v = strtod(sum + strlen("vigil_redis_flush_seconds_sum "), NULL);
    cr_assert_float_eq(v, 60.3011, 1e-6);
    free(s);
}
