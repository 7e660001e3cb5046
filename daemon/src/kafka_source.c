#include "kafka_source.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "counter_store.h"
#include "log.h"
#include "redis_conn.h"

#define CONSUME_CHUNK 1024
#define TICK_S 0.1
#define BACKOFF_MIN_S 0.1
#define BACKOFF_MAX_S 5.0

/* What the worker knows of one assigned partition. */
struct part {
    char *topic;
    int32_t partition;
    int64_t resume;   /* offset resumed from: the fence's expectation */
    int64_t position; /* next offset to process */
    bool synced;      /* resume is known (stored offsets were read) */
};

struct vigil_worker {
    struct vigil_worker_config c;
    pthread_t thread;
    bool started;
    struct ev_loop *loop;
    ev_io kafka_io;
    ev_timer tick;
    ev_timer retry;
    ev_async stop;
    ev_async swap;
    int pipe_fd[2];

    rd_kafka_t *rk;
    rd_kafka_queue_t *queue;
    rd_kafka_t *dlq; /* dead-letter producer; NULL when not configured */

    redisContext *redis;
    struct vigil_counter_store *store;
    struct vigil_pipeline pipeline;
    struct vigil_pipeline_options popts;
    /* A reloaded rule set waiting for the end of the current batch. */
    _Atomic(struct vigil_rule_set *) next_set;
    size_t in_batch; /* messages in the current batch */
    bool blocked;    /* a batch waits for Redis: do not consume */
    double backoff_s;

    struct part *parts;
    size_t n_parts;

    _Atomic bool redis_ok;
    _Atomic unsigned assigned;
    struct vigil_ratelimit rl_decode;
    struct vigil_ratelimit rl_redis;
    struct vigil_ratelimit rl_kafka;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct part *find_part(struct vigil_worker *w, const char *topic,
                              int32_t partition)
{
    for (size_t i = 0; i < w->n_parts; i++) {
        if (w->parts[i].partition == partition &&
            strcmp(w->parts[i].topic, topic) == 0)
            return &w->parts[i];
    }
    return NULL;
}

static void clear_parts(struct vigil_worker *w)
{
    for (size_t i = 0; i < w->n_parts; i++)
        free(w->parts[i].topic);
    free(w->parts);
    w->parts = NULL;
    w->n_parts = 0;
    atomic_store(&w->assigned, 0);
}

static bool redis_connect(struct vigil_worker *w)
{
    if (w->redis)
        return true;
    char err[256];
    w->redis = vigil_redis_connect(&w->c.cfg->redis, err, sizeof(err));
    if (!w->redis) {
        vigil_log_rl(&w->rl_redis, VIGIL_LOG_WARN,
                     "worker %u: redis unreachable: %s", w->c.id, err);
        atomic_store(&w->redis_ok, false);
        return false;
    }
    atomic_store(&w->redis_ok, true);
    return true;
}

static void redis_drop(struct vigil_worker *w)
{
    if (w->redis)
        redisFree(w->redis);
    w->redis = NULL;
    atomic_store(&w->redis_ok, false);
}

/* Pauses or resumes every assigned partition. */
static void set_paused(struct vigil_worker *w, bool pause)
{
    if (!w->n_parts)
        return;
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new((int)w->n_parts);
    for (size_t i = 0; i < w->n_parts; i++)
        rd_kafka_topic_partition_list_add(l, w->parts[i].topic,
                                          w->parts[i].partition);
    if (pause)
        rd_kafka_pause_partitions(w->rk, l);
    else
        rd_kafka_resume_partitions(w->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

static void seek_to(struct vigil_worker *w, rd_kafka_topic_partition_list_t *l)
{
    rd_kafka_error_t *e = rd_kafka_seek_partitions(w->rk, l, 5000);
    if (e) {
        vigil_warn("worker %u: seek failed: %s", w->c.id,
                   rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
}

/*
 * Reads the stored offsets of every unsynced partition; with seek, also
 * moves the consumer there (re-sync after an outage). Returns false when
 * Redis could not answer; partitions read so far stay synced.
 */
static bool sync_offsets(struct vigil_worker *w, bool seek)
{
    const char *ns = w->c.cfg->redis.ns;
    const char *group = w->c.cfg->kafka.group;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
    bool ok = true;
    for (size_t i = 0; i < w->n_parts; i++) {
        struct part *p = &w->parts[i];
        if (p->synced)
            continue;
        int64_t stored;
        if (!redis_connect(w) ||
            vigil_counter_store_get_offsets(w->redis, ns, group, p->topic,
                                            &p->partition, 1, &stored) < 0) {
            redis_drop(w);
            ok = false;
            break;
        }
        atomic_fetch_add_explicit(&w->c.source_stats->redis_commands, 1,
                                  memory_order_relaxed);
        p->resume = stored;
        p->position = stored == VIGIL_OFFSET_UNSET ? 0 : stored;
        p->synced = true;
        /* Without a stored offset, begin at the start of the partition:
         * the fence then expects "unset" and counting stays exact. */
        rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset =
            stored == VIGIL_OFFSET_UNSET ? RD_KAFKA_OFFSET_BEGINNING : stored;
        vigil_debug("worker %u: %s[%" PRId32 "] resumes at %" PRId64, w->c.id,
                    p->topic, p->partition, stored);
    }
    if (seek && l->cnt)
        seek_to(w, l);
    rd_kafka_topic_partition_list_destroy(l);
    return ok;
}

static void commit_to_kafka(struct vigil_worker *w, const struct vigil_batch *b)
{
    size_t n = vigil_batch_n_partitions(b);
    if (!n)
        return;
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++) {
        const struct vigil_batch_partition *bp = vigil_batch_partition_at(b, i);
        rd_kafka_topic_partition_list_add(l, bp->topic, bp->partition)->offset =
            bp->next;
    }
    /* Only for lag tooling: Redis holds the offsets that count. */
    rd_kafka_commit(w->rk, l, 1);
    rd_kafka_topic_partition_list_destroy(l);
}

/*
 * Writes the batch. Returns 0 when the batch is done with (accepted, or
 * rejected and re-sought), -1 when Redis failed and the batch is kept.
 */
static int flush(struct vigil_worker *w)
{
    struct vigil_batch *b = w->pipeline.batch;
    if (vigil_batch_is_empty(b) && vigil_batch_n_partitions(b) == 0) {
        w->in_batch = 0;
        return 0;
    }
    if (!redis_connect(w))
        return -1;
    struct vigil_flush_result res = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int flushed = vigil_counter_store_flush(w->store, w->redis, b, &res);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    vigil_feed_histogram_observe(&w->c.source_stats->flush_seconds,
                                 (double)(t1.tv_sec - t0.tv_sec) +
                                     (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    if (flushed < 0) {
        vigil_log_rl(&w->rl_redis, VIGIL_LOG_WARN,
                     "worker %u: batch of %zu messages not written: %s",
                     w->c.id, w->in_batch, vigil_counter_store_error(w->store));
        atomic_fetch_add_explicit(&w->c.source_stats->flush_errors, 1,
                                  memory_order_relaxed);
        vigil_flush_result_fini(&res);
        redis_drop(w);
        return -1;
    }
    atomic_fetch_add_explicit(&w->c.source_stats->redis_commands, 1,
                              memory_order_relaxed);
    if (res.accepted) {
        atomic_fetch_add_explicit(&w->c.source_stats->batches_accepted, 1,
                                  memory_order_relaxed);
        if (res.failed_ops)
            vigil_log_rl(&w->rl_redis, VIGIL_LOG_WARN,
                         "worker %u: redis refused %" PRId64
                         " counter updates: %s",
                         w->c.id, res.failed_ops, res.first_error);
        for (size_t i = 0; i < vigil_batch_n_partitions(b); i++) {
            const struct vigil_batch_partition *bp =
                vigil_batch_partition_at(b, i);
            struct part *p = find_part(w, bp->topic, bp->partition);
            if (p)
                p->resume = bp->next;
        }
        commit_to_kafka(w, b);
    } else {
        /* Another member wrote first: re-read from where it stopped. */
        atomic_fetch_add_explicit(&w->c.source_stats->batches_rejected, 1,
                                  memory_order_relaxed);
        vigil_info("worker %u: batch fenced off, seeking back to the "
                   "stored offsets",
                   w->c.id);
        rd_kafka_topic_partition_list_t *l =
            rd_kafka_topic_partition_list_new((int)res.n_stored);
        for (size_t i = 0; i < res.n_stored; i++) {
            const struct vigil_stored_offset *so = &res.stored[i];
            struct part *p = find_part(w, so->topic, so->partition);
            if (!p)
                continue;
            p->resume = so->stored;
            p->position = so->stored == VIGIL_OFFSET_UNSET ? 0 : so->stored;
            rd_kafka_topic_partition_list_add(l, p->topic, p->partition)
                ->offset = so->stored == VIGIL_OFFSET_UNSET
                               ? RD_KAFKA_OFFSET_BEGINNING
                               : so->stored;
        }
        seek_to(w, l);
        rd_kafka_topic_partition_list_destroy(l);
        vigil_flush_result_fini(&res);
        vigil_batch_reset(b, now_ms());
        w->in_batch = 0;
        return 0;
    }
    vigil_flush_result_fini(&res);
    vigil_batch_reset(b, now_ms());
    w->in_batch = 0;
    return 0;
}

static void dead_letter(struct vigil_worker *w, const rd_kafka_message_t *m,
                        const char *reason)
{
    if (!w->dlq)
        return;
    char part[16], off[24];
    snprintf(part, sizeof(part), "%" PRId32, m->partition);
    snprintf(off, sizeof(off), "%" PRId64, m->offset);
    const char *topic = rd_kafka_topic_name(m->rkt);
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);
    rd_kafka_header_add(h, "vigil-error", -1, reason, -1);
    rd_kafka_header_add(h, "vigil-source-topic", -1, topic, -1);
    rd_kafka_header_add(h, "vigil-source-partition", -1, part, -1);
    rd_kafka_header_add(h, "vigil-source-offset", -1, off, -1);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        w->dlq, RD_KAFKA_V_TOPIC(w->c.cfg->kafka.dead_letter_topic),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_HEADERS(h),
        RD_KAFKA_V_END);
    if (err) {
        rd_kafka_headers_destroy(h);
        vigil_log_rl(&w->rl_kafka, VIGIL_LOG_WARN,
                     "worker %u: dead-letter produce failed: %s", w->c.id,
                     rd_kafka_err2str(err));
        return;
    }
    atomic_fetch_add_explicit(&w->c.source_stats->dead_lettered, 1,
                              memory_order_relaxed);
}

static void handle_message(struct vigil_worker *w, rd_kafka_message_t *m)
{
    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            vigil_log_rl(&w->rl_kafka, VIGIL_LOG_WARN,
                         "worker %u: consumer: %s", w->c.id,
                         rd_kafka_message_errstr(m));
        return;
    }
    const char *topic = rd_kafka_topic_name(m->rkt);
    struct part *p = find_part(w, topic, m->partition);
    /* Not ours any more, not positioned yet, or before where we resumed. */
    if (!p || !p->synced || m->offset < p->position)
        return;

    const char *reason = NULL;
    size_t max = w->c.cfg->kafka.max_message_bytes;
    if (max && m->len > max) {
        reason = "message too large";
        atomic_fetch_add_explicit(&w->c.source_stats->oversized, 1,
                                  memory_order_relaxed);
        atomic_fetch_add_explicit(&w->c.pipeline_stats->events, 1,
                                  memory_order_relaxed);
        atomic_fetch_add_explicit(&w->c.pipeline_stats->decode_errors, 1,
                                  memory_order_relaxed);
    } else {
        rd_kafka_timestamp_type_t tt;
        int64_t ts = rd_kafka_message_timestamp(m, &tt);
        if (ts <= 0)
            ts = now_ms();
        vigil_pipeline_feed(&w->pipeline, m->payload ? m->payload : "", m->len,
                            ts, &reason);
    }
    if (reason) {
        vigil_log_rl(&w->rl_decode, VIGIL_LOG_WARN,
                     "worker %u: %s[%" PRId32 "]@%" PRId64 ": %s", w->c.id,
                     topic, m->partition, m->offset, reason);
        dead_letter(w, m, reason);
    }
    vigil_batch_offset(w->pipeline.batch, p->topic, p->partition, p->resume,
                       m->offset + 1);
    p->position = m->offset + 1;
    w->in_batch++;
}

static void block_on_redis(struct vigil_worker *w)
{
    if (!w->blocked) {
        w->blocked = true;
        w->backoff_s = BACKOFF_MIN_S;
        set_paused(w, true);
    } else {
        w->backoff_s *= 2;
        if (w->backoff_s > BACKOFF_MAX_S)
            w->backoff_s = BACKOFF_MAX_S;
    }
    /* Jitter keeps many workers from retrying in lockstep. */
    double jitter = (double)(rand() % 1000) / 1000.0 * w->backoff_s * 0.2;
    ev_timer_stop(w->loop, &w->retry);
    ev_timer_set(&w->retry, w->backoff_s + jitter, 0.);
    ev_timer_start(w->loop, &w->retry);
}

/* Consumes what the queue holds and flushes full or final batches. */
static void drain(struct vigil_worker *w)
{
    rd_kafka_message_t *msgs[CONSUME_CHUNK];
    size_t limit = w->c.cfg->kafka.batch_events;
    while (!w->blocked) {
        ssize_t n =
            rd_kafka_consume_batch_queue(w->queue, 0, msgs, CONSUME_CHUNK);
        for (ssize_t i = 0; i < n; i++) {
            handle_message(w, msgs[i]);
            rd_kafka_message_destroy(msgs[i]);
        }
        if (w->in_batch >= limit || (n <= 0 && w->in_batch > 0)) {
            if (flush(w) < 0) {
                block_on_redis(w);
                return;
            }
        }
        if (n <= 0)
            return;
    }
}

static void on_kafka_io(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    (void)revents;
    struct vigil_worker *w = io->data;
    char buf[256];
    while (read(w->pipe_fd[0], buf, sizeof(buf)) > 0)
        ;
    drain(w);
}

/*
 * Moves to a reloaded rule set at a batch boundary: the batch built with
 * the old rules is written first, so that no message is lost or counted
 * twice across the swap. Retried from the tick while Redis is down.
 */
static void try_swap(struct vigil_worker *w)
{
    if (!atomic_load(&w->next_set) || w->blocked)
        return;
    if (w->in_batch && flush(w) < 0) {
        block_on_redis(w);
        return;
    }
    struct vigil_rule_set *set = atomic_exchange(&w->next_set, NULL);
    if (!set)
        return;
    struct vigil_pipeline fresh;
    const char *why = NULL;
    if (vigil_pipeline_init(&fresh, set, &w->popts, w->c.pipeline_stats, &why) <
        0) {
        vigil_error("worker %u: reloaded rules not applied: %s", w->c.id, why);
    } else {
        vigil_pipeline_fini(&w->pipeline);
        w->pipeline = fresh;
        vigil_info("worker %u: now matching with %zu rules", w->c.id,
                   vigil_rule_set_size(set));
    }
    vigil_rule_set_unref(set);
}

static void on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct vigil_worker *w = t->data;
    if (w->dlq)
        rd_kafka_poll(w->dlq, 0);
    /* The IO event fires only when the queue turns non-empty; the tick
     * also serves rebalances and anything left behind. */
    drain(w);
    try_swap(w);
}

static void on_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct vigil_worker *w = t->data;
    if (!sync_offsets(w, true) || flush(w) < 0) {
        block_on_redis(w);
        return;
    }
    vigil_info("worker %u: redis answers again, resuming", w->c.id);
    w->blocked = false;
    set_paused(w, false);
    drain(w);
}

static void on_swap(struct ev_loop *loop, ev_async *a, int revents)
{
    (void)loop;
    (void)revents;
    try_swap(a->data);
}

static void on_stop(struct ev_loop *loop, ev_async *a, int revents)
{
    (void)revents;
    struct vigil_worker *w = a->data;
    if (!w->blocked)
        drain(w);
    if (w->in_batch && flush(w) < 0)
        vigil_warn("worker %u: final batch of %zu messages not written; "
                   "they will be read again",
                   w->c.id, w->in_batch);
    ev_break(loop, EVBREAK_ALL);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct vigil_worker *w = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        clear_parts(w);
        w->parts = calloc((size_t)parts->cnt ? (size_t)parts->cnt : 1,
                          sizeof(*w->parts));
        for (int i = 0; w->parts && i < parts->cnt; i++) {
            struct part *p = &w->parts[w->n_parts];
            p->topic = strdup(parts->elems[i].topic);
            if (!p->topic)
                continue;
            p->partition = parts->elems[i].partition;
            p->resume = VIGIL_OFFSET_UNSET;
            w->n_parts++;
        }
        atomic_store(&w->assigned, (unsigned)w->n_parts);
        vigil_info("worker %u: assigned %d partitions", w->c.id, parts->cnt);
        /* Start where Redis says, not where Kafka's commits say. */
        bool synced = sync_offsets(w, false);
        for (int i = 0; i < parts->cnt; i++) {
            struct part *p =
                find_part(w, parts->elems[i].topic, parts->elems[i].partition);
            if (p && p->synced)
                parts->elems[i].offset = p->resume == VIGIL_OFFSET_UNSET
                                             ? RD_KAFKA_OFFSET_BEGINNING
                                             : p->resume;
        }
        rd_kafka_assign(rk, parts);
        if (!synced)
            block_on_redis(w); /* pauses; the retry syncs and seeks */
        else if (w->blocked)
            set_paused(w, true);
        return;
    }
    /* Revoked: write what we have while the partitions are still ours;
     * if Redis is down the next owner reads the messages again. */
    if (w->in_batch && flush(w) < 0)
        vigil_warn("worker %u: batch dropped on revocation; the next owner "
                   "reads it again",
                   w->c.id);
    vigil_batch_reset(w->pipeline.batch, now_ms());
    w->in_batch = 0;
    vigil_info("worker %u: partitions revoked", w->c.id);
    rd_kafka_assign(rk, NULL);
    clear_parts(w);
}

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[512];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        vigil_error("kafka property %s: %s", k, err);
        return -1;
    }
    return 0;
}

/* librdkafka's own log lines, through vigil's log. */
static void on_kafka_log(const rd_kafka_t *rk, int level, const char *fac,
                         const char *buf)
{
    /* The dead-letter producer shares the consumer's properties: their
     * consumer-only keys are expected there. */
    if (strcmp(fac, "CONFWARN") == 0 && rd_kafka_type(rk) == RD_KAFKA_PRODUCER)
        return;
    enum vigil_log_level l = level <= 3   ? VIGIL_LOG_ERROR
                             : level <= 4 ? VIGIL_LOG_WARN
                             : level <= 6 ? VIGIL_LOG_INFO
                                          : VIGIL_LOG_DEBUG;
    vigil_log(l, "kafka %s: %s: %s", rd_kafka_name(rk), fac, buf);
}

static rd_kafka_conf_t *base_conf(struct vigil_worker *w, const char *role)
{
    const struct vigil_config_kafka *k = &w->c.cfg->kafka;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, on_kafka_log);
    char id[128], host[64] = "vigild";
    gethostname(host, sizeof(host) - 1);
    snprintf(id, sizeof(id), "vigild-%s-%d-%s%u", host, (int)getpid(), role,
             w->c.id);
    if (conf_set(conf, "bootstrap.servers", k->brokers) < 0 ||
        conf_set(conf, "client.id", id) < 0)
        goto err;
    for (size_t i = 0; i < k->properties.n; i++) {
        if (conf_set(conf, k->properties.v[i].key, k->properties.v[i].value) <
            0)
            goto err;
    }
    return conf;
err:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

static int kafka_open(struct vigil_worker *w)
{
    const struct vigil_config_kafka *k = &w->c.cfg->kafka;
    char err[512];
    rd_kafka_conf_t *conf = base_conf(w, "w");
    if (!conf)
        return -1;
    /* Offsets that count live in Redis; Kafka commits are for lag tools. */
    if (conf_set(conf, "group.id", k->group) < 0 ||
        conf_set(conf, "enable.auto.commit", "false") < 0 ||
        conf_set(conf, "enable.auto.offset.store", "false") < 0 ||
        conf_set(conf, "auto.offset.reset", "earliest") < 0 ||
        conf_set(conf, "fetch.wait.max.ms", "50") < 0) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_conf_set_opaque(conf, w);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    w->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!w->rk) {
        vigil_error("worker %u: kafka consumer: %s", w->c.id, err);
        return -1;
    }
    rd_kafka_poll_set_consumer(w->rk);
    rd_kafka_topic_partition_list_t *topics =
        rd_kafka_topic_partition_list_new((int)k->n_topics);
    for (size_t i = 0; i < k->n_topics; i++)
        rd_kafka_topic_partition_list_add(topics, k->topics[i],
                                          RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(w->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) {
        vigil_error("worker %u: subscribe: %s", w->c.id, rd_kafka_err2str(e));
        return -1;
    }
    w->queue = rd_kafka_queue_get_consumer(w->rk);
    rd_kafka_queue_io_event_enable(w->queue, w->pipe_fd[1], "1", 1);

    if (k->dead_letter_topic) {
        conf = base_conf(w, "dlq");
        /* Oversized originals go there too: let the broker decide. */
        if (!conf || conf_set(conf, "message.max.bytes", "1000000000") < 0) {
            if (conf)
                rd_kafka_conf_destroy(conf);
            return -1;
        }
        w->dlq = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!w->dlq) {
            vigil_error("worker %u: dead-letter producer: %s", w->c.id, err);
            return -1;
        }
    }
    return 0;
}

static void *worker_main(void *arg)
{
    struct vigil_worker *w = arg;
    ev_run(w->loop, 0);

    rd_kafka_queue_io_event_enable(w->queue, -1, NULL, 0);
    rd_kafka_queue_destroy(w->queue);
    w->queue = NULL;
    rd_kafka_consumer_close(w->rk);
    if (w->dlq)
        rd_kafka_flush(w->dlq, 5000);
    return NULL;
}

struct vigil_worker *vigil_worker_create(const struct vigil_worker_config *c)
{
    struct vigil_worker *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->c = *c;
    w->pipe_fd[0] = w->pipe_fd[1] = -1;
    w->rl_decode = (struct vigil_ratelimit)VIGIL_RATELIMIT_INIT(10000, 5);
    w->rl_redis = (struct vigil_ratelimit)VIGIL_RATELIMIT_INIT(10000, 3);
    w->rl_kafka = (struct vigil_ratelimit)VIGIL_RATELIMIT_INIT(10000, 5);

    const struct vigil_config *cfg = c->cfg;
    w->popts = (struct vigil_pipeline_options){
        .decode = {.format = cfg->events.format,
                   .time_field = cfg->events.time_field,
                   .max_bytes = cfg->kafka.max_message_bytes},
        .retention_s = c->retention_s,
        .resolution_s = (int64_t)(cfg->events.resolution_ms / 1000),
    };
    if (vigil_plugins_pipeline_options(c->plugins, cfg, &w->popts) < 0) {
        vigil_error("worker %u: the decoder plugin '%s' is not loaded", c->id,
                    cfg->events.format_name);
        goto err_free;
    }
    const char *why = NULL;
    if (vigil_pipeline_init(&w->pipeline, c->set, &w->popts, c->pipeline_stats,
                            &why) < 0) {
        vigil_error("worker %u: %s", c->id, why);
        goto err_free;
    }
    struct vigil_counter_store_config sc = {cfg->redis.ns, cfg->kafka.group};
    w->store = vigil_counter_store_create(&sc);
    if (!w->store)
        goto err_fini_pipeline;
    if (pipe2(w->pipe_fd, O_NONBLOCK | O_CLOEXEC) < 0) {
        vigil_error("worker %u: pipe: %s", c->id, strerror(errno));
        goto err_free_store;
    }
    w->loop = ev_loop_new(EVFLAG_AUTO);
    if (!w->loop)
        goto err_close_pipe;
    if (kafka_open(w) < 0)
        goto err_close_kafka;

    ev_io_init(&w->kafka_io, on_kafka_io, w->pipe_fd[0], EV_READ);
    ev_timer_init(&w->tick, on_tick, TICK_S, TICK_S);
    ev_timer_init(&w->retry, on_retry, BACKOFF_MIN_S, 0.);
    ev_async_init(&w->stop, on_stop);
    ev_async_init(&w->swap, on_swap);
    w->kafka_io.data = w->tick.data = w->retry.data = w->stop.data =
        w->swap.data = w;
    ev_io_start(w->loop, &w->kafka_io);
    ev_timer_start(w->loop, &w->tick);
    ev_async_start(w->loop, &w->stop);
    ev_async_start(w->loop, &w->swap);
    return w;

err_close_kafka:
    if (w->queue)
        rd_kafka_queue_destroy(w->queue);
    if (w->rk)
        rd_kafka_destroy(w->rk);
    if (w->dlq)
        rd_kafka_destroy(w->dlq);
    ev_loop_destroy(w->loop);
err_close_pipe:
    close(w->pipe_fd[0]);
    close(w->pipe_fd[1]);
err_free_store:
    vigil_counter_store_destroy(w->store);
err_fini_pipeline:
    vigil_pipeline_fini(&w->pipeline);
err_free:
    free(w);
    return NULL;
}

int vigil_worker_start(struct vigil_worker *w)
{
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        return -1;
    w->started = true;
    return 0;
}

void vigil_worker_stop(struct vigil_worker *w)
{
    if (!w->started)
        return;
    ev_async_send(w->loop, &w->stop);
    pthread_join(w->thread, NULL);
    w->started = false;
}

void vigil_worker_destroy(struct vigil_worker *w)
{
    if (!w)
        return;
    vigil_worker_stop(w);
    if (w->queue)
        rd_kafka_queue_destroy(w->queue);
    rd_kafka_destroy(w->rk);
    if (w->dlq)
        rd_kafka_destroy(w->dlq);
    ev_loop_destroy(w->loop);
    close(w->pipe_fd[0]);
    close(w->pipe_fd[1]);
    redis_drop(w);
    vigil_counter_store_destroy(w->store);
    vigil_pipeline_fini(&w->pipeline);
    struct vigil_rule_set *pending = atomic_exchange(&w->next_set, NULL);
    if (pending)
        vigil_rule_set_unref(pending);
    clear_parts(w);
    free(w);
}

void vigil_worker_swap_rules(struct vigil_worker *w, struct vigil_rule_set *set)
{
    struct vigil_rule_set *old =
        atomic_exchange(&w->next_set, vigil_rule_set_ref(set));
    if (old)
        vigil_rule_set_unref(old);
    if (w->started)
        ev_async_send(w->loop, &w->swap);
}

bool vigil_worker_redis_ok(const struct vigil_worker *w)
{
    return atomic_load(&((struct vigil_worker *)w)->redis_ok);
}

unsigned vigil_worker_assigned(const struct vigil_worker *w)
{
    return atomic_load(&((struct vigil_worker *)w)->assigned);
}

void vigil_worker_lag(struct vigil_worker *w, vigil_worker_lag_fn emit,
                      void *ctx)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    if (!w->rk || rd_kafka_assignment(w->rk, &l) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    rd_kafka_position(w->rk, l);
    for (int i = 0; i < l->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &l->elems[i];
        int64_t lo = -1, hi = -1;
        if (tp->offset < 0 ||
            rd_kafka_get_watermark_offsets(w->rk, tp->topic, tp->partition, &lo,
                                           &hi) != RD_KAFKA_RESP_ERR_NO_ERROR ||
            hi < 0)
            continue;
        emit(ctx, tp->topic, tp->partition,
             hi > tp->offset ? hi - tp->offset : 0);
    }
    rd_kafka_topic_partition_list_destroy(l);
}
