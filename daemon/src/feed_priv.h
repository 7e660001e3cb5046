/*
 * feed_priv: the inside of struct vigil_feed, shared by feed_server.c
 * (lifecycle, HTTP dispatch, health, metrics, sessions), feed_api.c (the
 * JSON API over the snapshot table and Redis) and feed_stream.c (the pump
 * thread and the SSE stream). Not for other modules.
 */
#ifndef VIGIL_FEED_PRIV_H
#define VIGIL_FEED_PRIV_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "feed_auth.h"
#include "feed_buf.h"
#include "feed_json.h"
#include "feed_route.h"
#include "feed_server.h"
#include "log.h"

#define FEED_RING 1024      /* SSE frames kept for live clients */
#define FEED_QUEUE_MAX 8192 /* evaluations waiting for the pump */
#define FEED_POOL 4         /* idle Redis contexts kept */
#define FEED_BODY_MAX 16384 /* bytes of a request body */
#define FEED_URL_MAX 2048   /* bytes of a request path */

/* One SSE frame ("event: ...\nid: ...\ndata: ...\n\n"). */
struct feed_frame {
    uint64_t seq; /* position in the stream of frames, from 1 */
    struct vigil_feed_sid id;
    char *text; /* owned */
    size_t len;
};

struct vigil_feed {
    /* Configuration (copies; immutable after create). */
    struct vigil_feed_config cfg; /* its strings point at the copies */
    char *host;
    char *read_token;
    char *admin_token;
    char *ns;
    char prefix[160];  /* "vigil:{ns}:" */
    char channel[170]; /* "vigil:{ns}:feed" */
    /* The indicator set and the table: read under set_lock (shared) by
     * HTTP threads and the pump; swapped under it (exclusive, then mu). */
    pthread_rwlock_t set_lock;
    const struct vigil_indicator_set *set;

    struct MHD_Daemon *mhd;
    int port;
    struct vigil_feed_sessions *sessions;
    struct vigil_ratelimit rl;

    /* Under mu: the table, the pump's queue, the frame ring. */
    pthread_mutex_t mu;
    pthread_cond_t pump_cv;         /* queue not empty, or stopping */
    pthread_cond_t ring_cv;         /* a new frame, or stopping */
    struct vigil_feed_item **table; /* [set->n]: newest item, or NULL */
    struct vigil_feed_item **queue;
    size_t n_queue;
    uint64_t dropped; /* evaluations the pump never saw (queue full) */
    struct feed_frame ring[FEED_RING];
    uint64_t next_seq;            /* the seq the next frame gets */
    struct vigil_feed_sid cursor; /* newest id given to a frame */
    bool stopping;
    pthread_t pump;
    bool pump_running;

    pthread_mutex_t rules_mu;
    struct vigil_rule_set *rules; /* one reference */

    pthread_mutex_t pool_mu;
    redisContext *idle[FEED_POOL];
    size_t n_idle;
    int64_t retry_at_ms; /* no new connection before this (backoff) */
};

/* Epoch ms from the configured clock. */
int64_t vigil_feed_now(const struct vigil_feed *f);

/* A Redis context from the pool (connecting when none is idle), or NULL
 * when Redis is unreachable or not configured. Any thread. */
redisContext *vigil_feed_pool_get(struct vigil_feed *f);

/* Returns c to the pool; ok false (an error happened on it) frees it. */
void vigil_feed_pool_put(struct vigil_feed *f, redisContext *c, bool ok);

/* References to the newest item per indicator (NULL entries: never
 * evaluated), in set order; unref each and free the array. NULL when out
 * of memory. Any thread. */
struct vigil_feed_item **vigil_feed_table_copy(struct vigil_feed *f);
void vigil_feed_table_free(struct vigil_feed *f, struct vigil_feed_item **t);

/* Queues a response with the feed's security headers and no caching;
 * takes the body (free()d by MHD; may be NULL when len is 0). */
enum MHD_Result vigil_feed_reply(struct MHD_Connection *c, unsigned status,
                                 const char *content_type, char *body,
                                 size_t len);

/* Queues r (destroyed here) with the same headers. */
enum MHD_Result vigil_feed_reply_response(struct MHD_Connection *c,
                                          unsigned status,
                                          struct MHD_Response *r,
                                          const char *content_type);

/* {"error": msg} with status. */
enum MHD_Result vigil_feed_reply_error(struct MHD_Connection *c,
                                       unsigned status, const char *msg);

/* cJSON tree as the body (deleted here); 500 when it cannot print. */
enum MHD_Result vigil_feed_reply_json(struct MHD_Connection *c, unsigned status,
                                      cJSON *json);

/* The JSON API (feed_api.c). body is the request body (NUL-terminated,
 * may be empty). */
enum MHD_Result vigil_feed_api(struct vigil_feed *f, struct MHD_Connection *c,
                               const struct vigil_feed_route *r,
                               const char *body, size_t body_len);

/* The pump thread (feed_stream.c): started by _start, joined by _stop. */
int vigil_feed_pump_start(struct vigil_feed *f);
void vigil_feed_pump_stop(struct vigil_feed *f);

/* Queues an item for the pump (caller holds mu; takes the reference). */
void vigil_feed_pump_push(struct vigil_feed *f, struct vigil_feed_item *it);

/* Frees the ring's frames and the queue (after the pump stopped). */
void vigil_feed_stream_fini(struct vigil_feed *f);

/* GET /api/v1/stream. */
enum MHD_Result vigil_feed_stream(struct vigil_feed *f,
                                  struct MHD_Connection *c);

#endif
