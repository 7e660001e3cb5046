/*
 * notifier: one configured notifier (vigil.yaml `notifiers`,
 * docs/NOTIFICATIONS.md) that delivers notifications: pagerduty,
 * alertmanager, webhook and slack POST JSON through their own
 * http_client on the loop; exec runs a program with the webhook JSON on
 * stdin (exec_runner.h); log writes one log line; a notifier plugin
 * gets the webhook JSON on a thread of its own (its call blocks, up to
 * the notifier's timeout). An alertmanager
 * notifier also re-posts its firing alerts every resend interval so that
 * Alertmanager does not expire them.
 *
 * A delivery ends in one of three results: SENT (2xx, exit 0), RETRY (a
 * transport error, a timeout, 429, 408, 5xx, an exec exit other than 0
 * and 65) or FAILED (any other status, exec exit 65 = EX_DATAERR, a
 * program that cannot be started, an unsupported type): never retried.
 *
 * Loop thread only. Every callback comes from the loop, never from
 * inside vigil_notifier_send().
 */
#ifndef VIGIL_NOTIFIER_H
#define VIGIL_NOTIFIER_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "notification.h"

struct vigil_plugins;

enum vigil_delivery {
    VIGIL_DELIVERY_SENT,
    VIGIL_DELIVERY_RETRY,
    VIGIL_DELIVERY_FAILED,
};

struct vigil_notifier_outcome {
    enum vigil_delivery result;
    long status;             /* HTTP status or exit code; -1: none */
    uint64_t retry_after_ms; /* asked for by the receiver (429); 0: none */
    char detail[512];        /* transport error or response excerpt */
};

/* *o is borrowed until the callback returns. */
typedef void (*vigil_notifier_done_fn)(void *ctx,
                                       const struct vigil_notifier_outcome *o);

struct vigil_notifier_env {
    struct ev_loop *loop;         /* borrowed */
    const char *source;           /* "vigil@host"; copied */
    const char *dashboard_url;    /* copied; NULL: no links */
    int64_t (*now_ms)(void *ctx); /* NULL: the wall clock */
    void *now_ctx;
    uint64_t am_resend_ms;         /* alertmanager re-post interval; 0: 150 s */
    struct vigil_plugins *plugins; /* notifier plugins (plugin_loader.h);
                                      borrowed; NULL: none */
};

struct vigil_notifier;

/* A notifier for cfg (borrowed; must outlive it). NULL when out of
 * memory. */
struct vigil_notifier *
vigil_notifier_create(const struct vigil_config_notifier *cfg,
                      const struct vigil_notifier_env *env);

/* Aborts what is under way without callbacks (kills exec children) and
 * frees n. NULL is fine. */
void vigil_notifier_destroy(struct vigil_notifier *n);

const char *vigil_notifier_name(const struct vigil_notifier *n);

/* Whether one delivery may carry several notifications (webhook, slack). */
bool vigil_notifier_groups(const struct vigil_notifier *n);

/*
 * Delivers v[0..count) (count > 1 only when _groups()); v is borrowed for
 * the call only. done(ctx, outcome) is called once from the loop, unless
 * n is destroyed first. Returns 0, or -1 when nothing could be started
 * (out of memory; done is not called then).
 */
int vigil_notifier_send(struct vigil_notifier *n,
                        const struct vigil_notification *const *v, size_t count,
                        vigil_notifier_done_fn done, void *ctx);

/* Alertmanager alerts this notifier keeps re-posting (tests, metrics). */
size_t vigil_notifier_firing(const struct vigil_notifier *n);

#endif
