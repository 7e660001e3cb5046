/*
 * rule_test: runs the inline tests of rule files (the tests: blocks,
 * DESIGN.md section 4), like `promtool test rules`.
 *
 * Each test line is decoded as a live event would be (format auto: a JSON
 * object for JSON events, else syslog, else raw), then the whole rule set
 * runs on it. A test passes when the rule under test matched with the
 * expected values (other rules may match too), or did not match for
 * `expect: no-match`.
 */
#ifndef VIGIL_RULE_TEST_H
#define VIGIL_RULE_TEST_H

#include <stddef.h>
#include <stdio.h>

#include "rule_set.h"

struct vigil_rule_test_summary {
    size_t tests;
    size_t failed;
};

/*
 * Runs every test of every rule of set. Each failure is one line on out:
 * "file:line: rule ID: expected src_ip=1.2.3.4, got src_ip=5.6.7.8" (the
 * line of the test entry). Adds to *sum. Returns 0 when all passed, 1 when
 * any failed, -1 when out of memory. Main thread (it creates its own
 * matcher and decoder).
 */
int vigil_rule_test_run(struct vigil_rule_set *set, FILE *out,
                        struct vigil_rule_test_summary *sum);

#endif
