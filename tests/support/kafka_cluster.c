#include "kafka_cluster.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRODUCE_TIMEOUT 10000 /* ms for one message */
#define BATCH_TIMEOUT 30000   /* ms for a batch */

struct delivery {
    size_t ok;
    size_t failed;
    rd_kafka_resp_err_t last_err;
};

struct vigil_test_kafka {
    rd_kafka_t *host; /* owns the mock cluster; never used as a client */
    rd_kafka_mock_cluster_t *mock;
    char *bootstraps;
    rd_kafka_t *producer;
};

/*
 * The host handle has no bootstrap servers: it would warn about that
 * once. Everything else librdkafka has to say goes to stderr.
 */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
    if (strcmp(fac, "CONFWARN") == 0 || strcmp(fac, "NOBROKERS") == 0)
        return;
    fprintf(stderr, "rdkafka %d %s %s: %s\n", level, rd_kafka_name(rk), fac,
            buf);
}

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    struct delivery *d = m->_private;
    if (!d)
        return;
    if (m->err) {
        d->failed++;
        d->last_err = m->err;
    } else {
        d->ok++;
    }
}

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char errstr[256];
    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) ==
        RD_KAFKA_CONF_OK)
        return 0;
    fprintf(stderr, "vigil_test_kafka: %s=%s: %s\n", name, value, errstr);
    return -1;
}

static rd_kafka_t *new_client(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "vigil_test_kafka: rd_kafka_new: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

struct vigil_test_kafka *vigil_test_kafka_start(int brokers, const char *topic,
                                                int partitions)
{
    struct vigil_test_kafka *k = calloc(1, sizeof(*k));
    if (!k)
        return NULL;

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, log_cb);
    if (conf_set(conf, "client.id", "vigil-test-mock-host") < 0) {
        rd_kafka_conf_destroy(conf);
        goto err_free;
    }
    k->host = new_client(RD_KAFKA_PRODUCER, conf);
    if (!k->host)
        goto err_free;

    k->mock = rd_kafka_mock_cluster_new(k->host, brokers);
    if (!k->mock) {
        fprintf(stderr,
                "vigil_test_kafka: cannot create a mock cluster of "
                "%d brokers\n",
                brokers);
        goto err_destroy_host;
    }
    k->bootstraps = strdup(rd_kafka_mock_cluster_bootstraps(k->mock));
    if (!k->bootstraps)
        goto err_destroy_mock;

    if (topic && vigil_test_kafka_create_topic(k, topic, partitions) < 0)
        goto err_free_bootstraps;

    conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    if (conf_set(conf, "bootstrap.servers", k->bootstraps) < 0 ||
        conf_set(conf, "client.id", "vigil-test-producer") < 0 ||
        conf_set(conf, "linger.ms", "5") < 0 ||
        /* Tests send oversized messages on purpose (up to 8 MiB). */
        conf_set(conf, "message.max.bytes", "8388608") < 0 ||
        conf_set(conf, "message.timeout.ms", "10000") < 0 ||
        conf_set(conf, "topic.metadata.refresh.interval.ms", "1000") < 0) {
        rd_kafka_conf_destroy(conf);
        goto err_free_bootstraps;
    }
    k->producer = new_client(RD_KAFKA_PRODUCER, conf);
    if (!k->producer)
        goto err_free_bootstraps;
    return k;

err_free_bootstraps:
    free(k->bootstraps);
err_destroy_mock:
    rd_kafka_mock_cluster_destroy(k->mock);
err_destroy_host:
    rd_kafka_destroy(k->host);
err_free:
    free(k);
    return NULL;
}

void vigil_test_kafka_stop(struct vigil_test_kafka *k)
{
    if (!k)
        return;
    /* Clients first: they must not outlive the brokers they talk to. */
    if (k->producer) {
        rd_kafka_flush(k->producer, 1000);
        rd_kafka_destroy(k->producer);
    }
    rd_kafka_mock_cluster_destroy(k->mock);
    rd_kafka_destroy(k->host);
    free(k->bootstraps);
    free(k);
}

int vigil_test_kafka_create_topic(struct vigil_test_kafka *k, const char *topic,
                                  int partitions)
{
    rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(k->mock, topic, partitions, 1);
    if (err) {
        fprintf(stderr,
                "vigil_test_kafka: create topic %s (%d partitions): "
                "%s\n",
                topic, partitions, rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

const char *vigil_test_kafka_bootstraps(const struct vigil_test_kafka *k)
{
    return k->bootstraps;
}

rd_kafka_mock_cluster_t *vigil_test_kafka_mock(const struct vigil_test_kafka *k)
{
    return k->mock;
}

/* Enqueues one message; its delivery report updates d. 0 or -1. */
static int enqueue(struct vigil_test_kafka *k, const char *topic,
                   const struct vigil_test_kafka_msg *m, struct delivery *d)
{
    int32_t partition = m->partition < 0 ? RD_KAFKA_PARTITION_UA : m->partition;
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            k->producer, RD_KAFKA_V_TOPIC(topic),
            RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(m->key, m->key ? strlen(m->key) : 0),
            RD_KAFKA_V_VALUE((void *)m->payload, m->len), RD_KAFKA_V_OPAQUE(d),
            RD_KAFKA_V_END);
        if (!err)
            return 0;
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "vigil_test_kafka: produce to %s [%d]: %s\n", topic,
                    (int)m->partition, rd_kafka_err2str(err));
            return -1;
        }
        /* The local queue is full: serve delivery reports, then retry. */
        rd_kafka_poll(k->producer, 100);
    }
}

/* Flushes and checks that every one of `want` messages was delivered. */
static int wait_delivered(struct vigil_test_kafka *k, const char *topic,
                          struct delivery *d, size_t want, int timeout_ms)
{
    rd_kafka_resp_err_t err = rd_kafka_flush(k->producer, timeout_ms);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && d->ok == want)
        return 0;
    fprintf(stderr,
            "vigil_test_kafka: %zu of %zu messages to %s delivered, %zu "
            "failed (%s)%s\n",
            d->ok, want, topic, d->failed,
            d->failed ? rd_kafka_err2str(d->last_err) : "no error",
            err ? ", flush timed out" : "");
    /*
     * Undelivered messages still point at d: purge them so that no report
     * arrives after d is gone.
     */
    rd_kafka_purge(k->producer,
                   RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(k->producer, 0);
    return -1;
}

int vigil_test_kafka_produce(struct vigil_test_kafka *k, const char *topic,
                             int32_t partition, const char *key,
                             const void *payload, size_t len)
{
    struct vigil_test_kafka_msg m = {partition, key, payload, len};
    return vigil_test_kafka_produce_batch(k, topic, &m, 1);
}

int vigil_test_kafka_produce_batch(struct vigil_test_kafka *k,
                                   const char *topic,
                                   const struct vigil_test_kafka_msg *msgs,
                                   size_t n)
{
    struct delivery d = {0};
    size_t queued = 0;
    int rc = 0;
    for (; queued < n; queued++) {
        if (enqueue(k, topic, &msgs[queued], &d) < 0) {
            rc = -1;
            break;
        }
    }
    int timeout = n == 1 ? PRODUCE_TIMEOUT : BATCH_TIMEOUT;
    if (wait_delivered(k, topic, &d, queued, timeout) < 0)
        rc = -1;
    return rc;
}

rd_kafka_conf_t *
vigil_test_kafka_consumer_conf(const struct vigil_test_kafka *k,
                               const char *group)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf)
        return NULL;
    rd_kafka_conf_set_log_cb(conf, log_cb);
    if (conf_set(conf, "bootstrap.servers", k->bootstraps) < 0 ||
        conf_set(conf, "group.id", group) < 0 ||
        conf_set(conf, "auto.offset.reset", "earliest") < 0 ||
        conf_set(conf, "session.timeout.ms", "6000") < 0 ||
        conf_set(conf, "heartbeat.interval.ms", "500") < 0 ||
        conf_set(conf, "topic.metadata.refresh.interval.ms", "1000") < 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}
