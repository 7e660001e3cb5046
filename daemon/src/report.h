/*
 * report: the ISMS monitoring report of a period (DESIGN.md section 9,
 * docs/REPORTS.md), built from what the daemon stores in Redis
 * (docs/INDICATORS.md "What is stored", docs/NOTIFICATIONS.md):
 *   - vigil:{ns}:hist:<id>: one entry per evaluation (value, state); the
 *     entry id's milliseconds are the evaluation time;
 *   - vigil:{ns}:breaches: opened / resolved / changed transitions, acked
 *     records and notification_failed records;
 *   - vigil:{ns}:outbox (+ its consumer group's pending list): the
 *     notifications of each breach;
 *   - vigil:{ns}:reports: the reports written so far (the definitions
 *     hash of the last one, to tell whether the indicator files changed).
 *
 * vigil_report_collect() reads and analyses (blocking hiredis, one
 * thread); the writers (report_md.c, report_html.c, report_json.c) render
 * the same content in three formats. A report owns its data and borrows
 * the indicator set and the config it was built from.
 */
#ifndef VIGIL_REPORT_H
#define VIGIL_REPORT_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "indicator.h"

#define VIGIL_REPORT_CHART_POINTS 96 /* value buckets per indicator chart */
#define VIGIL_REPORT_UNKNOWN (-1)    /* state of time not evaluated */
/* A breach that opened before the records reach. */
#define VIGIL_REPORT_OPENED_UNKNOWN INT64_MIN

/* Values and time per state over one period. */
struct vigil_report_stats {
    size_t samples; /* evaluations recorded */
    size_t valued;  /* of which with a value */
    bool has_last;  /* the last evaluation had a value */
    double last, min, max, mean;
    int64_t last_at_ms;
    uint64_t state_ms[VIGIL_STATE_COUNT];
    uint64_t unknown_ms; /* not evaluated (no record within 3 x frequency) */
    uint64_t span_ms;    /* the period up to the report time */
};

/* One chart bucket; has is false when no sample had a value. */
struct vigil_report_point {
    int64_t at_ms; /* start of the bucket */
    bool has;
    double min, max, mean;
};

/* A run of one state (VIGIL_REPORT_UNKNOWN: not evaluated). */
struct vigil_report_segment {
    int64_t from_ms, to_ms;
    int state;
};

enum vigil_report_trend {
    VIGIL_TREND_UNKNOWN, /* no values in one of the periods */
    VIGIL_TREND_STABLE,
    VIGIL_TREND_BETTER,
    VIGIL_TREND_WORSE,
    VIGIL_TREND_CHANGED, /* moved, no better/worse for this target */
};

/* "n/a", "stable", "better", "worse", "changed". */
const char *vigil_report_trend_name(enum vigil_report_trend t);

struct vigil_report_indicator {
    const struct vigil_indicator *ind; /* borrowed from the set */
    struct vigil_report_stats cur, prev;
    enum vigil_report_trend trend;
    double delta;   /* cur.mean - prev.mean when trend is not UNKNOWN */
    int target_met; /* period mean meets the target: 1, 0, -1 no data */
    int end_state;  /* state at the end of the period, or UNKNOWN */
    size_t expected_samples;
    bool too_few_samples; /* fewer than half the expected evaluations */
    size_t n_breaches;    /* non-conformances in the period */
    struct vigil_report_point points[VIGIL_REPORT_CHART_POINTS];
    struct vigil_report_segment *segments;
    size_t n_segments;
};

struct vigil_report_breach {
    char *indicator;                         /* id as recorded; owned */
    const struct vigil_report_indicator *ri; /* NULL: not in the set */
    int64_t opened_ms;   /* VIGIL_REPORT_OPENED_UNKNOWN when unknown */
    int64_t resolved_ms; /* VIGIL_ISTATE_NEVER: still open at the end */
    int64_t duration_ms; /* to resolution, or to the end of the period */
    bool has_peak;
    double peak;        /* worst value seen (relative to the target) */
    int64_t episode_ms; /* VIGIL_ISTATE_NEVER: not paged */
    char *acked_by;     /* NULL: not acknowledged */
    int64_t acked_at_ms;
    char *ack_comment;
    unsigned notifications; /* outbox entries: trigger, repeats, resolve */
    unsigned repeats;
    unsigned failed;  /* notification_failed records */
    unsigned pending; /* still pending delivery */
};

struct vigil_report_file {
    char *name; /* relative to the config's folder when inside it */
    char sha256[65];
    bool readable;
};

/* What a report is asked for; everything is borrowed for the call. */
struct vigil_report_params {
    const struct vigil_config *cfg; /* redis.ns, reports, indicator files */
    const struct vigil_indicator_set *set;
    int64_t from_ms, to_ms; /* the period, [from, to) */
    int64_t now_ms;         /* generated at; not later data */
    const char *id;         /* NULL: derived from the period */
};

struct vigil_report {
    char id[160];
    const struct vigil_config *cfg;
    const struct vigil_indicator_set *set;
    int64_t from_ms, to_ms, generated_ms;
    int64_t due_day;             /* report_calendar.h day number */
    char definitions_sha256[65]; /* over every indicator file */
    struct vigil_report_file *files;
    size_t n_files;
    char *previous_id;       /* the last report recorded before; NULL */
    int definitions_changed; /* vs that report: 1, 0, -1 unknown */
    struct vigil_report_indicator *inds; /* set order */
    size_t n_inds;
    struct vigil_report_breach *breaches; /* by opening time */
    size_t n_breaches;
    char **decisions; /* for the steering committee, NULL-terminated */
    size_t n_decisions;
    size_t by_state[VIGIL_STATE_COUNT + 1]; /* at the end; [COUNT] unknown */
    size_t open_at_end, unacked;
    bool notifications_unknown; /* the outbox had no consumer group */
};

/*
 * Reads and analyses the period from Redis on c. Returns the report (free
 * with vigil_report_destroy) or NULL with the reason in err. Blocking.
 */
struct vigil_report *vigil_report_collect(redisContext *c,
                                          const struct vigil_report_params *p,
                                          char *err, size_t errlen);

void vigil_report_destroy(struct vigil_report *r);

/* The renderers; 0, or -1 on a write error (out's error flag). */
int vigil_report_write_md(const struct vigil_report *r, FILE *out);
int vigil_report_write_html(const struct vigil_report *r, FILE *out);
int vigil_report_write_json(const struct vigil_report *r, FILE *out);

/* "performance" / "effectiveness" analysis text, shared by md and html:
 * writes one paragraph for kind into buf. */
void vigil_report_kind_analysis(const struct vigil_report *r,
                                enum vigil_indicator_kind kind, char *buf,
                                size_t n);

/* Formats a value compactly ("12.5", "1e+06", "-" for none). */
void vigil_report_format_value(bool has, double v, char *buf, size_t n);

/* "2d 3h", "45m", "12s". */
void vigil_report_format_duration(int64_t ms, char *buf, size_t n);

/* Share of the period span in state s (VIGIL_REPORT_UNKNOWN allowed), %. */
double vigil_report_state_pct(const struct vigil_report_stats *st, int s);

/*
 * The analysis core, exposed for unit tests: feeds one evaluation (epoch
 * ms, state, value) in time order into the accumulator of [from, to) up to
 * end (min(to, now)). Samples before from set the state the period starts
 * in; samples at or after end are ignored.
 */
struct vigil_report_acc {
    int64_t from_ms, end_ms;
    uint64_t cover_ms; /* a sample stands for at most this long */
    int64_t cursor_ms; /* accounted up to here */
    int64_t last_ms;   /* time of the current state's sample */
    int state;         /* current state, or VIGIL_REPORT_UNKNOWN */
    double sum;
    struct vigil_report_stats *st;
    struct vigil_report_point *points; /* NULL: no chart */
    size_t n_points;
    size_t *point_counts;
    struct vigil_report_segment **segments; /* NULL: no timeline */
    size_t *n_segments, cap_segments;
    bool oom;
};

void vigil_report_acc_init(struct vigil_report_acc *a, int64_t from_ms,
                           int64_t end_ms, uint64_t cover_ms,
                           struct vigil_report_stats *st);
void vigil_report_acc_add(struct vigil_report_acc *a, int64_t at_ms, int state,
                          bool has_value, double value);
/* Accounts the time up to end; 0, or -1 when out of memory. */
int vigil_report_acc_finish(struct vigil_report_acc *a);

#endif
