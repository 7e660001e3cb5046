/*
 * measures: the link between base measures (the rule set's counters) and
 * indicators (ISO/IEC 27004's measurement construct). It answers the
 * indicator loader's and the evaluator's questions about counters, loads
 * a config's indicators against its rules, and says how long counter
 * buckets must live for the windows the indicators read.
 */
#ifndef VIGIL_MEASURES_H
#define VIGIL_MEASURES_H

#include <stdint.h>

#include "config.h"
#include "diag.h"
#include "indicator.h"
#include "rule_set.h"

/* Longest window (plus offset) an indicator may read, ms. */
#define VIGIL_MAX_REACH_MS (35ULL * 86400000ULL)

/* Bucket lifetime when no indicator is loaded (replay, tests), s. */
#define VIGIL_DEFAULT_RETENTION_S (26 * 3600)

/*
 * Counter lookup over a rule set (ctx: const struct vigil_rule_set *):
 * the counter's kind as one VIGIL_EXPR_ON_* bit, 0 when unknown. Fits
 * vigil_expr_counter_kind_fn.
 */
unsigned vigil_measures_counter_kind(void *ctx, const char *name);

/*
 * Loads cfg's indicator files, checking their counters against rules
 * (borrowed). Problems go to diags. Returns the set (free with
 * vigil_indicator_set_destroy), an empty set when cfg lists none, or NULL.
 */
struct vigil_indicator_set *
vigil_measures_load_indicators(const struct vigil_config *cfg,
                               const struct vigil_rule_set *rules,
                               struct vigil_diags *diags);

/*
 * How long counter buckets live so that every indicator of set (may be
 * NULL) can read its windows: the longest reach plus one hour of slack
 * for late events and clock skew, at least VIGIL_DEFAULT_RETENTION_S. s.
 */
int64_t vigil_measures_retention_s(const struct vigil_indicator_set *set);

#endif
