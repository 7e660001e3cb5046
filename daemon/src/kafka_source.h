/*
 * kafka_source: one worker = one thread = one librdkafka consumer in the
 * configured group (DESIGN.md section 1). The worker's libev loop wakes on
 * the consumer queue (rd_kafka_queue_io_event_enable), feeds messages
 * through its pipeline (decode, match, aggregate) and flushes each batch
 * with its partitions' offsets in one fenced Redis script
 * (counter_store.h). On assignment it seeks to the offsets stored in
 * Redis; a rejected batch makes it seek back to them. While Redis is
 * unreachable it pauses its partitions and retries with backoff, keeping
 * the batch it could not write; nothing is skipped.
 */
#ifndef VIGIL_KAFKA_SOURCE_H
#define VIGIL_KAFKA_SOURCE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "feed_metrics.h"
#include "pipeline.h"
#include "plugin_loader.h"
#include "rule_set.h"

/* Counters of all workers of a process (relaxed atomics). */
struct vigil_source_stats {
    _Atomic uint64_t batches_accepted;
    _Atomic uint64_t batches_rejected; /* fenced: another member was first */
    _Atomic uint64_t flush_errors;     /* Redis unreachable or failing */
    _Atomic uint64_t dead_lettered;    /* copied to the dead-letter topic */
    _Atomic uint64_t oversized;        /* larger than max_message_bytes */
    _Atomic uint64_t redis_commands;   /* sent by workers */
    /* Time each batch script took (vigil_redis_flush_seconds). */
    struct vigil_feed_histogram flush_seconds;
};

struct vigil_worker_config {
    const struct vigil_config *cfg; /* borrowed; outlives the worker */
    struct vigil_rule_set *set;     /* a reference is taken */
    struct vigil_pipeline_stats *pipeline_stats; /* borrowed */
    struct vigil_source_stats *source_stats;     /* borrowed */
    struct vigil_plugins *plugins; /* borrowed; outlives the worker; NULL */
    int64_t retention_s;
    unsigned id; /* 0-based worker number, for client.id and logs */
};

struct vigil_worker;

/* Creates a worker (no thread yet). NULL with a logged error. */
struct vigil_worker *vigil_worker_create(const struct vigil_worker_config *c);

/* Starts the worker's thread. Returns 0 or -1. */
int vigil_worker_start(struct vigil_worker *w);

/*
 * Asks the worker to stop: it stops fetching, flushes its batch, commits,
 * leaves the group and ends its thread; then joins it. Any thread.
 */
void vigil_worker_stop(struct vigil_worker *w);

void vigil_worker_destroy(struct vigil_worker *w);

/*
 * Hands the worker a reloaded rule set (a reference is taken). It moves to
 * it after writing its current batch. Any thread.
 */
void vigil_worker_swap_rules(struct vigil_worker *w,
                             struct vigil_rule_set *set);

/* True while Redis answers the worker. Any thread. */
bool vigil_worker_redis_ok(const struct vigil_worker *w);

/* Number of partitions assigned to the worker. Any thread. */
unsigned vigil_worker_assigned(const struct vigil_worker *w);

/* Receives one partition's consumer lag; topic borrowed for the call. */
typedef void (*vigil_worker_lag_fn)(void *ctx, const char *topic,
                                    int32_t partition, int64_t lag);

/*
 * Calls emit for every partition assigned to the worker whose position
 * and high watermark are known: lag = high watermark - position, in
 * messages (librdkafka's cached watermarks; never waits for a broker).
 * Any thread.
 */
void vigil_worker_lag(struct vigil_worker *w, vigil_worker_lag_fn emit,
                      void *ctx);

#endif
