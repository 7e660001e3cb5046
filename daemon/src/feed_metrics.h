/*
 * feed_metrics: the Prometheus text exposition (format 0.0.4) of
 * GET /metrics, and the latency histogram the workers update.
 *
 * Rendering is pure: the caller (feed_server.c) gathers a struct
 * vigil_feed_metrics from the stats structs and the feed's snapshot table,
 * and vigil_feed_metrics_render() writes every family with its # HELP and
 * # TYPE lines, label values escaped, in a fixed order.
 */
#ifndef VIGIL_FEED_METRICS_H
#define VIGIL_FEED_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feed_buf.h"
#include "indicator_state.h"

/* Upper bounds of vigil_redis_flush_seconds, in seconds (+Inf implied). */
#define VIGIL_FEED_HISTOGRAM_BOUNDS                                            \
    {                                                                          \
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,    \
            2.5, 5, 10                                                         \
    }
#define VIGIL_FEED_HISTOGRAM_BUCKETS 14

/*
 * A latency histogram updated lock-free from any thread (relaxed
 * atomics): zero-initialise it (static or calloc storage) and call
 * vigil_feed_histogram_observe(). buckets[i] counts observations in
 * (bound[i-1], bound[i]]; the last slot counts those above every bound.
 */
struct vigil_feed_histogram {
    _Atomic uint64_t buckets[VIGIL_FEED_HISTOGRAM_BUCKETS + 1];
    _Atomic uint64_t count;
    _Atomic uint64_t sum_ns; /* sum of observations, nanoseconds */
};

/* Records one observation of `seconds` (negative counts as 0). Any
 * thread; never blocks. */
void vigil_feed_histogram_observe(struct vigil_feed_histogram *h,
                                  double seconds);

/* One rule's counters; `rule` borrowed. */
struct vigil_feed_rule_sample {
    const char *rule;
    bool has_matches; /* false: no per-rule match count is known */
    uint64_t matches;
    uint64_t limit_hits;
};

/* Consumer lag of one partition; `topic` borrowed. */
struct vigil_feed_lag_sample {
    const char *topic;
    int32_t partition;
    int64_t lag; /* messages */
};

/* One indicator as last evaluated; `id` borrowed. */
struct vigil_feed_indicator_sample {
    const char *id;
    bool evaluated; /* false: nothing known yet, no sample is written */
    bool has_value;
    double value;
    enum vigil_state state;
};

/* Notifications of one notifier with one result ("delivered", "failed",
 * ...); strings borrowed. */
struct vigil_feed_notification_sample {
    const char *notifier;
    const char *result;
    uint64_t count;
};

/* Everything /metrics shows; every pointer borrowed for the render. */
struct vigil_feed_metrics {
    bool has_pipeline; /* false: the event counters have no sample */
    uint64_t events;
    uint64_t decode_errors;
    uint64_t findings;         /* written to the findings stream */
    uint64_t findings_dropped; /* left out at a batch's findings cap */
    const struct vigil_feed_rule_sample *rules;
    size_t n_rules;
    bool has_lag; /* false: vigil_kafka_lag is left out entirely */
    const struct vigil_feed_lag_sample *lags;
    size_t n_lags;
    const struct vigil_feed_histogram *flush; /* NULL: no sample */
    const struct vigil_feed_indicator_sample *indicators;
    size_t n_indicators;
    const struct vigil_feed_notification_sample *notifications;
    size_t n_notifications;
    bool has_reloads; /* false: vigil_reloads_total is left out */
    uint64_t reloads_ok;
    uint64_t reloads_failed;
};

/* Appends the exposition text of m to out. Any thread. */
void vigil_feed_metrics_render(const struct vigil_feed_metrics *m,
                               struct vigil_feed_buf *out);

/* Appends s as an escaped label value (\\, \", \n), without quotes. */
void vigil_feed_metrics_escape(struct vigil_feed_buf *out, const char *s);

/* Appends a sample value as Prometheus writes it: the shortest decimal
 * that reads back exactly, NaN, +Inf or -Inf. */
void vigil_feed_metrics_number(struct vigil_feed_buf *out, double v);

#endif
