/*
 * pager: delivers the outbox (DESIGN.md sections 6 and 8,
 * docs/NOTIFICATIONS.md). On the main libev loop it polls the stream
 * vigil:{ns}:outbox as a member of the consumer group `notifiers`
 * (outbox.h), routes each entry (route.h), drops silenced ones
 * (silence.h), holds triggers of routes with group_wait, hands the rest
 * to the notifiers (notifier.h), retries transient failures with capped
 * exponential backoff and jitter (backoff.h), and XACKs an entry only
 * when every notifier it routes to has accepted it or failed for good.
 * Entries of dead pagers (whose lease in Redis ran out) are taken over,
 * and any entry idle for too long is reclaimed with XAUTOCLAIM; repeats of
 * open, unacked breaches are scheduled in Redis, so any pager fires them.
 *
 * Per notifier, deliveries of one dedup key keep their order (a resolve
 * never overtakes its trigger in this daemon). Delivery is at least once:
 * a pager that dies after the receiver accepted but before XACK has the
 * entry delivered again by another one (the receivers dedup by key).
 *
 * Redis is reached with a blocking context made by the connect callback
 * (like the evaluator's); after an error it is dropped and made again on
 * the next poll. Main (loop) thread only, except vigil_pager_counts().
 */
#ifndef VIGIL_PAGER_H
#define VIGIL_PAGER_H

#include <ev.h>
#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct vigil_plugins;

/* Returns a new blocking context (the pager frees it) or NULL. */
typedef redisContext *(*vigil_pager_connect_fn)(void *ctx);

struct vigil_pager_config {
    const struct vigil_config *cfg; /* notifiers, route, redis.namespace;
                                       borrowed, outlives the pager */
    vigil_pager_connect_fn connect;
    void *connect_ctx;
    const char *consumer;         /* copied; NULL: "<host>:<pid>" */
    const char *dashboard_url;    /* copied; NULL: notifications carry no
                                     dashboard link */
    int64_t (*now_ms)(void *ctx); /* epoch ms; NULL: the wall clock */
    void *now_ctx;
    uint64_t poll_ms;         /* outbox poll interval; 0: 250 */
    uint64_t claim_idle_ms;   /* XAUTOCLAIM min-idle; 0: 60000 */
    uint64_t lease_ms;        /* liveness lease, renewed every fifth of it;
                                 a dead pager's entries are taken over once
                                 it ran out (outbox.h); 0: 10000 */
    uint64_t backoff_base_ms; /* first retry after ~this; 0: 1000 */
    uint64_t backoff_cap_ms;  /* retries at most this far apart; 0: 300000 */
    uint64_t am_resend_ms;    /* Alertmanager re-post; 0: 150000 */
    uint64_t max_age_ms;      /* older undelivered entries are dropped as
                                 expired; 0: 24 h */
    uint64_t seed;            /* jitter seed; 0: from getrandom */
    struct vigil_plugins *plugins; /* notifier plugins; borrowed, outlive
                                      the pager; NULL: none */
};

struct vigil_pager;

/* NULL when out of memory. Nothing runs until _start. */
struct vigil_pager *vigil_pager_create(const struct vigil_pager_config *cfg);

/* Creates the notifiers on loop (borrowed until _stop) and starts polling
 * (the first poll is immediate). 0, or -1 when a notifier cannot be made
 * (out of memory) or the pager is already started. */
int vigil_pager_start(struct vigil_pager *p, struct ev_loop *loop);

/* Stops polling and every delivery under way (exec children are killed);
 * what was not acked stays pending in Redis for any pager to reclaim. The
 * loop may end afterwards. */
void vigil_pager_stop(struct vigil_pager *p);

/* Stops (if needed) and frees p. NULL is fine. */
void vigil_pager_destroy(struct vigil_pager *p);

/*
 * vigil_notifications_total{notifier,result}: result is sent, retry (a
 * transient failure, retried), failed (never retried), silenced; rows
 * with notifier "" count entries that went nowhere: invalid (unparsable),
 * expired (older than max_age), unrouted (no route matched).
 */
struct vigil_pager_count {
    const char *notifier; /* borrowed from the config */
    const char *result;   /* static */
    uint64_t value;
};

/* Fills out[0..cap) and returns the number of rows (every notifier x
 * every result, then the "" rows). Any thread (counters are atomic). */
size_t vigil_pager_counts(const struct vigil_pager *p,
                          struct vigil_pager_count *out, size_t cap);

/* Entries held in memory (being delivered or waiting to be acked). */
size_t vigil_pager_held(const struct vigil_pager *p);

#endif
