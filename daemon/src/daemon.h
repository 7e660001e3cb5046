/*
 * daemon: the only module that knows every other one. It wires the
 * configured workers (kafka_source.h) to the main thread's libev loop,
 * which handles signals and, as they are built, indicator evaluation,
 * notifications and the HTTP feed.
 */
#ifndef VIGIL_DAEMON_H
#define VIGIL_DAEMON_H

#include <ev.h>

#include "config.h"
#include "evaluator.h"
#include "indicator.h"
#include "plugin_loader.h"
#include "rule_set.h"

/* Extras for embedders such as `vigild demo`; all optional. */
struct vigil_daemon_options {
    double duration_s; /* stop after this long; 0: until SIGTERM/SIGINT */
    /* Called on the main thread once the daemon runs, to add watchers to
     * its loop (the caller stops them in on_stop). */
    void (*on_start)(struct ev_loop *loop, void *ctx);
    void (*on_stop)(struct ev_loop *loop, void *ctx);
    /* Sees every indicator snapshot after the daemon's own handling. */
    vigil_evaluator_snapshot_fn on_snapshot;
    void *ctx;
    /* The loaded plugins (plugin_loader.h): the workers' decoder and
     * enrichers; reloaded on SIGHUP. Borrowed; NULL: none. */
    struct vigil_plugins *plugins;
};

/*
 * Runs the daemon on the calling (main) thread until SIGTERM or SIGINT:
 * starts cfg->kafka.workers workers and evaluates the indicators on the
 * main loop, then stops the workers cleanly (each flushes and commits its
 * batch). cfg, rules, indicators and opts (may be NULL) are borrowed.
 * Returns the exit code:
 * 0 after a clean stop, 1 when the daemon could not start.
 */
int vigil_daemon_run(const struct vigil_config *cfg,
                     struct vigil_rule_set *rules,
                     const struct vigil_indicator_set *indicators,
                     const struct vigil_daemon_options *opts);

#endif
