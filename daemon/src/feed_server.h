/*
 * feed_server: the live feed for the SOC (DESIGN.md section 7,
 * docs/API.md): /healthz, /readyz, /metrics, the JSON API, the SSE stream
 * and the dashboard, served by libmicrohttpd on its own threads (one per
 * connection, so that a slow client or a blocking Redis read never holds
 * up another).
 *
 * The main thread hands every evaluation over with vigil_feed_publish():
 * the snapshot is copied into an immutable item and swapped into the
 * feed's table under a short lock; HTTP threads take references and
 * render without any lock. A pump thread of the feed gives each
 * evaluation its Redis stream ID (the newest hist:<id> entry, the
 * breaches entry of a transition), PUBLISHes the indicator JSON on
 * vigil:{ns}:feed and wakes the SSE clients. Neither the main thread nor
 * the workers ever wait for the feed.
 *
 * SSE event ids are Redis stream IDs, so a client that reconnects with
 * Last-Event-ID gets what it missed from the hist:<id> and breaches
 * streams (or `event: reset` when that is too much or Redis is down).
 */
#ifndef VIGIL_FEED_SERVER_H
#define VIGIL_FEED_SERVER_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "evaluator.h"
#include "feed_metrics.h"
#include "indicator.h"
#include "pipeline.h"
#include "rule_set.h"

/* Returns a new blocking Redis context (the feed frees it) or NULL. Called
 * from the feed's threads, possibly several at once. */
typedef redisContext *(*vigil_feed_connect_fn)(void *ctx);

/* Emitters handed to the metric providers; strings are borrowed for the
 * call. */
typedef void (*vigil_feed_lag_emit_fn)(void *ectx, const char *topic,
                                       int32_t partition, int64_t lag);
typedef void (*vigil_feed_notification_emit_fn)(void *ectx,
                                                const char *notifier,
                                                const char *result,
                                                uint64_t count);

/* A silence as the pager keeps it; every pointer borrowed. */
struct vigil_feed_silence {
    const char *id;
    const struct vigil_config_map *matcher; /* label -> value, all must equal */
    int64_t until_ms;                       /* epoch ms */
    int64_t created_ms;                     /* epoch ms; 0: unknown */
    const char *author;
    const char *reason;
};

typedef void (*vigil_feed_silence_emit_fn)(void *ectx,
                                           const struct vigil_feed_silence *s);

/*
 * What the pager provides for the write side (all may be NULL: the
 * endpoint then answers 501). Each is called on an HTTP thread (several
 * may run at once) and may block briefly. err[0..errlen) takes a short
 * reason for the client. Return 0; -1 for a request the pager refuses
 * (400, e.g. an unknown breach: 404 when the reason starts with "not
 * found"); -2 when it cannot serve now (503).
 */
struct vigil_feed_pager {
    void *ctx;
    /* Acknowledges the breach `id` (a breaches stream ID or the dedup key
     * "<indicator>:<episode ms>"; the client's choice, passed verbatim). */
    int (*ack)(void *ctx, const char *id, const char *author,
               const char *comment, char *err, size_t errlen);
    /* Adds a silence; s->id is NULL, the new id goes to id_out. */
    int (*silence_add)(void *ctx, const struct vigil_feed_silence *s,
                       char *id_out, size_t id_len, char *err, size_t errlen);
    /* Calls emit for every active silence. */
    int (*silence_list)(void *ctx, vigil_feed_silence_emit_fn emit, void *ectx,
                        char *err, size_t errlen);
    /* Ends the silence `id` now. */
    int (*silence_expire)(void *ctx, const char *id, const char *author,
                          char *err, size_t errlen);
};

struct vigil_feed_config {
    const char *host;        /* listen address (name or numeric); copied */
    int port;                /* 0: a free port (see vigil_feed_port) */
    const char *read_token;  /* NULL: reads open, loopback only; copied */
    const char *admin_token; /* NULL: writes refused (403); copied */
    const char *ns;          /* Redis keys vigil:{ns}:...; copied */
    const struct vigil_indicator_set *indicators; /* borrowed; outlives */
    vigil_feed_connect_fn connect; /* Redis; NULL: the feed has none */
    void *connect_ctx;

    /* /metrics providers; every one may be NULL. Read on HTTP threads. */
    const struct vigil_pipeline_stats *pipeline_stats; /* borrowed */
    /* vigil_rule_matches_total and vigil_regex_limit_hits_total come
     * from the set's own counters (a reference is taken). */
    struct vigil_rule_set *rules;
    const struct vigil_feed_histogram *flush_seconds; /* borrowed */
    /* Emits consumer lag per partition; NULL: no vigil_kafka_lag. */
    void (*kafka_lag)(void *ctx, vigil_feed_lag_emit_fn emit, void *ectx);
    /* Emits notification counts per notifier and result. */
    void (*notifications)(void *ctx, vigil_feed_notification_emit_fn emit,
                          void *ectx);
    /* SIGHUP reloads so far: taken into effect, refused. */
    void (*reloads)(void *ctx, uint64_t *ok, uint64_t *failed);
    void *metrics_ctx;

    /* /readyz: true when the workers are ready (Redis reachable,
     * partitions assigned); why takes the reason otherwise. NULL: only
     * the feed's own Redis PING decides. Any HTTP thread. */
    bool (*ready)(void *ctx, char *why, size_t len);
    void *ready_ctx;

    struct vigil_feed_pager pager;

    /* Tuning; 0 picks the default. */
    unsigned heartbeat_ms;      /* SSE comment when idle; default 15000 */
    unsigned max_connections;   /* default 128 */
    unsigned replay_max_events; /* per stream; default 2000 */
    /* Epoch ms (sessions, default history window); NULL: wall clock. */
    int64_t (*now_ms)(void *ctx);
    void *now_ctx;
};

struct vigil_feed;

/*
 * Checks cfg and builds the feed (nothing listens until _start).
 * Refuses (NULL, reason logged and in err) a listen address that is not
 * loopback while no read token is configured, and a missing indicator
 * set. Main thread.
 */
struct vigil_feed *vigil_feed_create(const struct vigil_feed_config *cfg,
                                     char *err, size_t errlen);

/* Binds, starts the HTTP and pump threads. 0, or -1 with err filled (the
 * address in use, ...). Main thread. */
int vigil_feed_start(struct vigil_feed *f, char *err, size_t errlen);

/*
 * Serves one already connected stream socket fd (e.g. one end of a
 * socketpair) as if it had been accepted from 127.0.0.1: for tests and
 * the HTTP fuzz target, which drive the whole request handling without
 * any network. The feed takes fd (closes it). 0, or -1 (fd closed).
 * Any thread, after _start.
 */
int vigil_feed_add_connection(struct vigil_feed *f, int fd);

/* The bound port (after _start; the chosen one when cfg->port was 0). */
int vigil_feed_port(const struct vigil_feed *f);

/*
 * Hands one evaluation to the feed: copies *snap (borrowed for the call)
 * and returns at once; never blocks on Redis or on clients. Call on the
 * main thread from the evaluator's snapshot callback, for evaluations of
 * indicators of cfg->indicators only (others are ignored).
 */
void vigil_feed_publish(struct vigil_feed *f,
                        const struct vigil_indicator_snapshot *snap);

/* Swaps the rule set /metrics reports (SIGHUP reload); a reference is
 * taken, the old one dropped. Main thread. */
void vigil_feed_set_rules(struct vigil_feed *f, struct vigil_rule_set *rules);

/*
 * SIGHUP reload: the feed moves to a new indicator set (borrowed; must
 * outlive the feed or the next swap) and rule set (a reference is taken).
 * Waits until no HTTP thread or the pump still reads the old set, so the
 * caller may free the old set as soon as this returns. The newest
 * evaluation of an indicator that keeps its id is carried over;
 * evaluations queued for the pump are dropped. Never fails (out of
 * memory leaves the feed with no indicators until the next swap). Main
 * thread, with no evaluator publishing into the old set any more.
 */
void vigil_feed_swap(struct vigil_feed *f, struct vigil_rule_set *rules,
                     const struct vigil_indicator_set *indicators);

/* Ends every SSE stream, stops the HTTP and pump threads (joins them).
 * Idempotent. Main thread. */
void vigil_feed_stop(struct vigil_feed *f);

/* Stops if needed and frees everything. NULL is fine. */
void vigil_feed_destroy(struct vigil_feed *f);

/* Whether the listen host resolves only to loopback addresses. */
bool vigil_feed_host_is_loopback(const char *host);

#endif
