/*
 * daemon: the only module that knows every other one. It wires the
 * configured workers (kafka_source.h) to the main thread's libev loop,
 * which handles signals and, as they are built, indicator evaluation,
 * notifications and the HTTP feed.
 */
#ifndef VIGIL_DAEMON_H
#define VIGIL_DAEMON_H

#include "config.h"
#include "indicator.h"
#include "rule_set.h"

/*
 * Runs the daemon on the calling (main) thread until SIGTERM or SIGINT:
 * starts cfg->kafka.workers workers and evaluates the indicators on the
 * main loop, then stops the workers cleanly (each flushes and commits its
 * batch). cfg, rules and indicators are borrowed. Returns the exit code:
 * 0 after a clean stop, 1 when the daemon could not start.
 */
int vigil_daemon_run(const struct vigil_config *cfg,
                     struct vigil_rule_set *rules,
                     const struct vigil_indicator_set *indicators);

#endif
