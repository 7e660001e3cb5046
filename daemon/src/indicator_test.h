/*
 * indicator_test: runs the tests: blocks of indicator files (vigild test),
 * like promtool's rule tests, with no Redis and no clock: the indicator
 * is evaluated at 0, frequency, 2 x frequency, ... and the state machine
 * (indicator_state.h) is stepped with those times.
 *
 * What a series point is: the ANSWER of a query at an evaluation. A
 * series keyed by a counter name answers every query on that counter
 * (count, top, distinct, sum, avg, pctl, within, open, whatever the
 * window); a series keyed by a call ("count(logins, 1h, offset=7d)")
 * answers that one query and wins over the counter's series. Point i
 * holds from i x interval to (i + 1) x interval (interval defaults to
 * the indicator's frequency); "_" and the time after the last point are
 * no data for that query. A counter without a series reads as an empty
 * window: 0, and no data for avg() and pctl(). So the DESIGN example
 * `top(auth_failures_by_src, 5m)` over "0+10x30" every 15s is 0, 10, 20,
 * ...: >= 50 from 75s, a breach after `for: 1m` at 135s.
 *
 * An expectation at time `at` is checked after the evaluation at `at`, or
 * the last one before it when `at` is not a multiple of the frequency;
 * `event` is that evaluation's transition. docs/INDICATORS.md has the
 * format. Main thread or any thread; the set is only read.
 */
#ifndef VIGIL_INDICATOR_TEST_H
#define VIGIL_INDICATOR_TEST_H

#include <stdio.h>

#include "indicator.h"

/*
 * Runs test t of ind. Writes one line per failed expectation to out
 * (NULL: silent) as "file:line:col: <id>: test <name>: at <at>: ...".
 * Returns the number of failed expectations (0: the test passed).
 */
unsigned vigil_indicator_test_run(const struct vigil_indicator *ind,
                                  const struct vigil_indicator_test *t,
                                  FILE *out);

/*
 * Runs every test of every indicator of set, counting tests (not
 * expectations) in *passed and *failed (added to, so several sets can
 * share counters). Failures go to out as above. Returns 0 when every test
 * passed, -1 otherwise. This is what `vigild test` calls for indicator
 * files.
 */
int vigil_indicator_tests_run(const struct vigil_indicator_set *set, FILE *out,
                              unsigned *passed, unsigned *failed);

#endif
