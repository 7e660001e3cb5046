/*
 * indicator: indicator files (rules/indicators/ files, DESIGN.md section
 * 5) loaded and validated into an immutable struct vigil_indicator_set.
 *
 * Every field of the ISO/IEC 27004 measurement construct is kept as
 * written (information need, kind, entity, owner, data source, frequency,
 * value, unit, target, decision criteria, ...); the expressions and
 * criteria are compiled (expr.h); the timing and decision parameters are
 * ready for the state machine (indicator_state.h). docs/INDICATORS.md
 * describes the format, every key and its default.
 *
 * Loading reports every problem it finds, each as "file:line:col:
 * message" (an error inside an expression points at its byte in the
 * file), and yields a set only when there was none. Counters are checked
 * through a lookup callback (name -> kind), so the loader does not depend
 * on the rule set; windows are checked against the counters' retention.
 *
 * A loaded set is never modified: any thread may read it.
 */
#ifndef VIGIL_INDICATOR_H
#define VIGIL_INDICATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "expr.h"
#include "indicator_state.h"
#include "series.h"

/* Hostile-input limits. */
#define VIGIL_INDICATOR_MAX_ID 128           /* bytes of an id */
#define VIGIL_INDICATOR_MAX_FILE (16u << 20) /* bytes of one file */
#define VIGIL_INDICATOR_MIN_FREQUENCY_MS 1000
#define VIGIL_INDICATOR_MAX_TEST_STEPS 100000 /* evaluations per test */

enum vigil_indicator_kind {
    VIGIL_INDICATOR_PERFORMANCE,
    VIGIL_INDICATOR_EFFECTIVENESS,
};

/* "performance", "effectiveness". */
const char *vigil_indicator_kind_name(enum vigil_indicator_kind k);

struct vigil_indicator_label {
    char *key;
    char *value;
};

/* One synthetic series of a test: a counter's, or one query's. */
struct vigil_indicator_series {
    char *name;               /* the key as written */
    struct vigil_expr *query; /* a call: answers this query only; NULL for
                                 a counter name (answers all its queries) */
    struct vigil_series points;
    int line, col;
};

/* One expectation of a test; only the has_ fields are checked. */
struct vigil_indicator_expect {
    uint64_t at_ms;
    bool has_state;
    enum vigil_state state;
    bool has_pending; /* pending: <state> or none */
    bool pending;
    enum vigil_state pending_state;
    bool has_recovering; /* recovering: <state> or none */
    bool recovering;
    enum vigil_state recovering_state;
    bool has_flapping;
    bool flapping;
    bool has_event; /* the event of the evaluation at (or just before) at */
    enum vigil_event_kind event;
    bool has_value; /* value: a number, or "_" for no data */
    bool value_is_none;
    double value;
    int line, col;
};

struct vigil_indicator_test {
    char *name;           /* NULL when the test has none */
    uint64_t interval_ms; /* time between series points; default frequency */
    struct vigil_indicator_series *series;
    size_t n_series;
    struct vigil_indicator_expect *expects;
    size_t n_expects;
    int line, col;
};

struct vigil_indicator {
    char *id; /* [A-Za-z0-9_.-]+, unique in the set */
    char *name;
    char *information_need;
    enum vigil_indicator_kind kind;
    char *entity;
    char *owner;
    char *data_source;
    uint64_t frequency_ms;
    struct vigil_expr *value;
    char *unit;
    char *target_text; /* as written ("< 20") */
    struct vigil_threshold target;
    struct vigil_decision *decision; /* in order */
    size_t n_decision;
    char *recover_text; /* NULL when absent */
    /* min_samples: the sample count is samples (written, or the
     * denominator of a top-level ratio()/pct() value); NULL when
     * params.min_samples is 0. */
    struct vigil_expr *samples;
    struct vigil_istate_params params; /* points into this indicator */
    unsigned page;                     /* VIGIL_STATE_BIT()s */
    char *severity;                    /* info|low|medium|high|critical */
    char *recommendation;              /* "" when absent */
    struct vigil_indicator_label *labels;
    size_t n_labels;
    struct vigil_indicator_test *tests;
    size_t n_tests;
    char *file; /* where it is defined */
    int line, col;
};

struct vigil_indicator_set {
    struct vigil_indicator *v;
    size_t n;
    uint64_t max_reach_ms; /* longest window + offset any indicator reads */
};

/* One indicator file already in memory (tests, fuzzing). */
struct vigil_indicator_source {
    const char *name; /* used in messages */
    const char *text;
    size_t len;
};

struct vigil_indicator_options {
    /*
     * Counter lookup (name -> one VIGIL_EXPR_ON_* bit, 0 when unknown),
     * e.g. over the rule set. NULL: counters are not checked (vigild test
     * on indicator files alone).
     */
    vigil_expr_counter_kind_fn counter_kind;
    void *counter_ctx;
    /* How long counter buckets live, ms; a window (plus offset) longer
     * than this is an error. 0: not checked. */
    uint64_t retention_ms;
};

/*
 * Loads the indicator files at paths[0..n) into one set. Every problem
 * goes to diags; NULL when there was any (or out of memory). opts may be
 * NULL (no counter or retention checks). Free with
 * vigil_indicator_set_destroy. Reads files; any thread.
 */
struct vigil_indicator_set *
vigil_indicator_set_load(const char *const *paths, size_t n,
                         const struct vigil_indicator_options *opts,
                         struct vigil_diags *diags);

/* Same from memory; the texts are borrowed for the call only. */
struct vigil_indicator_set *vigil_indicator_set_load_sources(
    const struct vigil_indicator_source *srcs, size_t n,
    const struct vigil_indicator_options *opts, struct vigil_diags *diags);

void vigil_indicator_set_destroy(struct vigil_indicator_set *set);

/* The indicator with this id, or NULL; borrowed from set. */
const struct vigil_indicator *
vigil_indicator_set_find(const struct vigil_indicator_set *set, const char *id);

/* Whether s is a severity name (info, low, medium, high, critical). */
bool vigil_indicator_severity_valid(const char *s);

#endif
