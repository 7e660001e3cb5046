#include "feed_metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const double bounds[VIGIL_FEED_HISTOGRAM_BUCKETS] =
    VIGIL_FEED_HISTOGRAM_BOUNDS;

void vigil_feed_histogram_observe(struct vigil_feed_histogram *h,
                                  double seconds)
{
    if (!(seconds > 0))
        seconds = 0;
    size_t i = 0;
    while (i < VIGIL_FEED_HISTOGRAM_BUCKETS && seconds > bounds[i])
        i++;
    double ns = seconds * 1e9;
    uint64_t add = ns < 1.8e19 ? (uint64_t)ns : UINT64_MAX / 2;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, add, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

void vigil_feed_metrics_escape(struct vigil_feed_buf *out, const char *s)
{
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '\\':
            vigil_feed_buf_add(out, "\\\\", 2);
            break;
        case '"':
            vigil_feed_buf_add(out, "\\\"", 2);
            break;
        case '\n':
            vigil_feed_buf_add(out, "\\n", 2);
            break;
        default:
            vigil_feed_buf_add(out, p, 1);
        }
    }
}

void vigil_feed_metrics_number(struct vigil_feed_buf *out, double v)
{
    if (isnan(v)) {
        vigil_feed_buf_str(out, "NaN");
        return;
    }
    if (isinf(v)) {
        vigil_feed_buf_str(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    vigil_feed_buf_str(out, buf);
}

static void family(struct vigil_feed_buf *out, const char *name,
                   const char *type, const char *help)
{
    vigil_feed_buf_fmt(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                       type);
}

static void counter_sample(struct vigil_feed_buf *out, const char *name,
                           uint64_t v)
{
    vigil_feed_buf_fmt(out, "%s %" PRIu64 "\n", name, v);
}

static void label(struct vigil_feed_buf *out, const char *sep, const char *key,
                  const char *value)
{
    vigil_feed_buf_fmt(out, "%s%s=\"", sep, key);
    vigil_feed_metrics_escape(out, value);
    vigil_feed_buf_add(out, "\"", 1);
}

static void render_rules(const struct vigil_feed_metrics *m,
                         struct vigil_feed_buf *out)
{
    family(out, "vigil_rule_matches_total", "counter",
           "Events each rule matched.");
    for (size_t i = 0; i < m->n_rules; i++) {
        if (!m->rules[i].has_matches)
            continue;
        vigil_feed_buf_str(out, "vigil_rule_matches_total");
        label(out, "{", "rule", m->rules[i].rule);
        vigil_feed_buf_fmt(out, "} %" PRIu64 "\n", m->rules[i].matches);
    }
    family(out, "vigil_regex_limit_hits_total", "counter",
           "Matches of each rule stopped at a PCRE2 match, depth or heap "
           "limit.");
    for (size_t i = 0; i < m->n_rules; i++) {
        vigil_feed_buf_str(out, "vigil_regex_limit_hits_total");
        label(out, "{", "rule", m->rules[i].rule);
        vigil_feed_buf_fmt(out, "} %" PRIu64 "\n", m->rules[i].limit_hits);
    }
}

static void render_flush(const struct vigil_feed_histogram *h,
                         struct vigil_feed_buf *out)
{
    const char *name = "vigil_redis_flush_seconds";
    family(out, name, "histogram",
           "Time a worker's batch script took in Redis, seconds.");
    if (!h)
        return;
    /* _count is the buckets' total, so the two always agree. */
    uint64_t cum = 0;
    uint64_t b[VIGIL_FEED_HISTOGRAM_BUCKETS + 1];
    for (size_t i = 0; i <= VIGIL_FEED_HISTOGRAM_BUCKETS; i++)
        b[i] = atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
    for (size_t i = 0; i < VIGIL_FEED_HISTOGRAM_BUCKETS; i++) {
        cum += b[i];
        vigil_feed_buf_fmt(out, "%s_bucket{le=\"", name);
        vigil_feed_metrics_number(out, bounds[i]);
        vigil_feed_buf_fmt(out, "\"} %" PRIu64 "\n", cum);
    }
    cum += b[VIGIL_FEED_HISTOGRAM_BUCKETS];
    vigil_feed_buf_fmt(out, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
    uint64_t sum_ns = atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
    vigil_feed_buf_fmt(out, "%s_sum ", name);
    vigil_feed_metrics_number(out, (double)sum_ns / 1e9);
    vigil_feed_buf_fmt(out, "\n%s_count %" PRIu64 "\n", name, cum);
}

static void render_indicators(const struct vigil_feed_metrics *m,
                              struct vigil_feed_buf *out)
{
    family(out, "vigil_indicator_value", "gauge",
           "Last evaluated value of each indicator (absent: no data).");
    for (size_t i = 0; i < m->n_indicators; i++) {
        const struct vigil_feed_indicator_sample *s = &m->indicators[i];
        if (!s->evaluated || !s->has_value)
            continue;
        vigil_feed_buf_str(out, "vigil_indicator_value");
        label(out, "{", "indicator", s->id);
        vigil_feed_buf_add(out, "} ", 2);
        vigil_feed_metrics_number(out, s->value);
        vigil_feed_buf_add(out, "\n", 1);
    }
    family(out, "vigil_indicator_state", "gauge",
           "1 for the state each indicator is in, 0 for the others.");
    for (size_t i = 0; i < m->n_indicators; i++) {
        const struct vigil_feed_indicator_sample *s = &m->indicators[i];
        if (!s->evaluated)
            continue;
        for (int st = 0; st < VIGIL_STATE_COUNT; st++) {
            vigil_feed_buf_str(out, "vigil_indicator_state");
            label(out, "{", "indicator", s->id);
            label(out, ",", "state", vigil_state_name((enum vigil_state)st));
            vigil_feed_buf_fmt(out, "} %d\n", (int)s->state == st);
        }
    }
}

void vigil_feed_metrics_render(const struct vigil_feed_metrics *m,
                               struct vigil_feed_buf *out)
{
    family(out, "vigil_events_total", "counter",
           "Messages the workers consumed.");
    if (m->has_pipeline)
        counter_sample(out, "vigil_events_total", m->events);
    family(out, "vigil_decode_errors_total", "counter",
           "Messages that could not be decoded or were too large.");
    if (m->has_pipeline)
        counter_sample(out, "vigil_decode_errors_total", m->decode_errors);
    family(out, "vigil_findings_total", "counter",
           "Findings of record: true rules written to the findings stream.");
    if (m->has_pipeline)
        counter_sample(out, "vigil_findings_total", m->findings);
    family(out, "vigil_findings_dropped_total", "counter",
           "Findings left out because a batch held too many.");
    if (m->has_pipeline)
        counter_sample(out, "vigil_findings_dropped_total",
                       m->findings_dropped);
    render_rules(m, out);
    if (m->has_lag) {
        family(out, "vigil_kafka_lag", "gauge",
               "Messages behind the end of each partition.");
        for (size_t i = 0; i < m->n_lags; i++) {
            vigil_feed_buf_str(out, "vigil_kafka_lag");
            label(out, "{", "topic", m->lags[i].topic);
            vigil_feed_buf_fmt(out, ",partition=\"%" PRId32 "\"} %" PRId64 "\n",
                               m->lags[i].partition, m->lags[i].lag);
        }
    }
    render_flush(m->flush, out);
    render_indicators(m, out);
    family(out, "vigil_notifications_total", "counter",
           "Notifications sent, per notifier and result.");
    for (size_t i = 0; i < m->n_notifications; i++) {
        const struct vigil_feed_notification_sample *s = &m->notifications[i];
        vigil_feed_buf_str(out, "vigil_notifications_total");
        label(out, "{", "notifier", s->notifier);
        label(out, ",", "result", s->result);
        vigil_feed_buf_fmt(out, "} %" PRIu64 "\n", s->count);
    }
    if (m->has_reloads) {
        family(out, "vigil_reloads_total", "counter",
               "SIGHUP reloads by result: ok took effect, error was refused "
               "and the running rules stayed.");
        vigil_feed_buf_fmt(out,
                           "vigil_reloads_total{result=\"ok\"} %" PRIu64 "\n"
                           "vigil_reloads_total{result=\"error\"} %" PRIu64
                           "\n",
                           m->reloads_ok, m->reloads_failed);
    }
}
