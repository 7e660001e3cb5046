/*
 * kafka_cluster: librdkafka's mock cluster (rdkafka_mock.h) for tests.
 * The brokers listen on 127.0.0.1 TCP ports inside the test process;
 * clients reach them through vigil_test_kafka_bootstraps() over TCP, with
 * the real protocol: produce, fetch, consumer groups, offset commits. No
 * fake Kafka client.
 *
 * A struct vigil_test_kafka owns a dedicated rd_kafka_t that hosts the
 * cluster (the mock brokers run on their own librdkafka thread) and a
 * real producer that is an ordinary TCP client of it. Create, use and
 * stop it from one thread; clients of the cluster may live on any thread.
 * Stop every cluster from the test's .fini (tests/support/README.md).
 *
 * Errors are printed on stderr; functions return NULL or a negative value.
 */
#ifndef VIGIL_TEST_KAFKA_CLUSTER_H
#define VIGIL_TEST_KAFKA_CLUSTER_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stddef.h>
#include <stdint.h>

struct vigil_test_kafka;

/*
 * Starts a mock cluster of `brokers` brokers (ids 1..brokers) and, when
 * topic is not NULL, creates it with `partitions` partitions (leaders
 * spread over the brokers). Returns NULL on error with everything freed.
 * Free with _stop().
 */
struct vigil_test_kafka *vigil_test_kafka_start(int brokers, const char *topic,
                                                int partitions);

/* Frees the producer, the cluster and its host handle. NULL is fine. */
void vigil_test_kafka_stop(struct vigil_test_kafka *k);

/* Creates another topic (replication factor 1). 0 or -1. */
int vigil_test_kafka_create_topic(struct vigil_test_kafka *k, const char *topic,
                                  int partitions);

/* "127.0.0.1:PORT,..." for bootstrap.servers; owned by k. */
const char *vigil_test_kafka_bootstraps(const struct vigil_test_kafka *k);

/*
 * The mock cluster, borrowed, for fault injection:
 * rd_kafka_mock_push_request_errors(), rd_kafka_mock_broker_set_down(),
 * rd_kafka_mock_broker_set_rtt(), rd_kafka_mock_topic_set_error(), ...
 */
rd_kafka_mock_cluster_t *
vigil_test_kafka_mock(const struct vigil_test_kafka *k);

/*
 * Produces one message over TCP and waits until it is acknowledged.
 * partition -1 lets the partitioner choose (by key; random without key).
 * key may be NULL (no key); it is NUL-terminated. payload is copied.
 * 0, or -1 when the message could not be delivered within 10 s.
 */
int vigil_test_kafka_produce(struct vigil_test_kafka *k, const char *topic,
                             int32_t partition, const char *key,
                             const void *payload, size_t len);

struct vigil_test_kafka_msg {
    int32_t partition;   /* -1: partitioner */
    const char *key;     /* NUL-terminated, NULL: none */
    const void *payload; /* copied */
    size_t len;
};

/*
 * Produces n messages to topic in order, then flushes and waits until
 * every one is acknowledged. 0, or -1 when any was not delivered within
 * 30 s (the count is printed).
 */
int vigil_test_kafka_produce_batch(struct vigil_test_kafka *k,
                                   const char *topic,
                                   const struct vigil_test_kafka_msg *msgs,
                                   size_t n);

/*
 * A consumer configuration for this cluster: bootstrap.servers, group.id,
 * auto.offset.reset=earliest, session.timeout.ms=6000,
 * heartbeat.interval.ms=500, and fast metadata refresh. The caller owns it
 * (rd_kafka_new() takes it, else rd_kafka_conf_destroy()). NULL on error.
 */
rd_kafka_conf_t *
vigil_test_kafka_consumer_conf(const struct vigil_test_kafka *k,
                               const char *group);

#endif
