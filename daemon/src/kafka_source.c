#include "kafka_source.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <hiredis/adapters/libev.h>
#include <hiredis/async.h>
#include <hiredis/sds.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <poll.h>
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
/* SIGTERM: everything must be written within this, exit within 10 s. */
#define STOP_BUDGET_S 8.0

/*
 * Redis traffic of a worker: hiredis' async API on the worker's own libev
 * loop, so that the worker decodes and matches the next batch while Redis
 * applies the previous one.
 *
 * The worker holds two batches: the current one, which the pipeline
 * fills, and at most one in flight (sent as one EVALSHA, or kept to be
 * sent again after a failure). When the current batch is full (or the
 * queue runs dry) and nothing is in flight, the two swap and the full one
 * is sent; when the current batch is full while one is in flight, the
 * worker stops consuming until the reply comes (two batches of memory at
 * most: nothing is buffered without bound).
 *
 * Why this keeps exactly-once: a batch claims, per partition, the offsets
 * [expected, next) and Redis applies it only if the stored offset of
 * every partition is still `expected` (the fence, counter_script.lua).
 * The current batch expects what the in-flight one ends at, so it must
 * not reach Redis before the in-flight one: it is sent only after the
 * in-flight batch's reply was read (one batch in flight per worker, not
 * only per partition). That reply decides what happens to the current
 * batch:
 *  - accepted: the current batch's expectations hold, it goes next;
 *  - rejected (another member wrote first): the worker seeks every
 *    partition of both batches back (to the stored offsets, or to where
 *    the current batch began) and drops the current batch: it would be
 *    rejected too, and nothing it holds has been counted;
 *  - rejected but every stored offset equals the batch's next offsets:
 *    an earlier attempt of this very batch had landed (its reply was
 *    lost with the connection); counted once, treated as accepted;
 *  - NOSCRIPT: SCRIPT LOAD and the same EVALSHA again, in that order on
 *    the same connection (Redis runs one connection's commands in order);
 *  - no reply (connection lost, timeout) or an error: both batches are
 *    kept, the partitions paused, and the in-flight batch is sent again
 *    on a new connection with capped exponential backoff. Whether or not
 *    the lost attempt had landed, the fence sorts it out (see above).
 * Revocation, SIGTERM and a rule swap wait synchronously (polling the
 * connection's socket, bounded by the timeouts) for the in-flight batch,
 * then write the current one the same way, before going on.
 * Stored offsets are read on assignment and after an outage over a
 * separate blocking connection: then nothing of those partitions is in
 * flight.
 */
enum inflight_state {
    INFLIGHT_NONE,   /* no batch in flight */
    INFLIGHT_SENT,   /* sent, waiting for the reply */
    INFLIGHT_FAILED, /* not written; kept, to send again */
};

/* What the worker knows of one assigned partition. */
struct part {
    char *topic;
    int32_t partition;
    int64_t resume;   /* where the next batch of it begins: the fence's
                         expectation */
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
    ev_timer redis_timeout; /* no reply (or no connection) in time */
    ev_idle resume;         /* a reply came: go on consuming */
    ev_async stop;
    ev_async swap;
    int pipe_fd[2];

    rd_kafka_t *rk;
    rd_kafka_queue_t *queue;
    rd_kafka_t *dlq; /* dead-letter producer; NULL when not configured */

    redisContext *redis;   /* blocking: stored offsets */
    redisAsyncContext *ac; /* on the loop: batches */
    struct vigil_counter_store *store;
    struct vigil_pipeline pipeline;
    /* Owns the second batch: spare.batch is the batch in flight (or the
     * empty one to swap in); its decoder and matcher are unused. */
    struct vigil_pipeline spare;
    struct vigil_pipeline_options popts;
    /* A reloaded rule set waiting for the end of the current batch. */
    _Atomic(struct vigil_rule_set *) next_set;
    size_t in_batch; /* messages in the current batch */
    bool blocked;    /* a batch waits for Redis: do not consume */
    double backoff_s;

    enum inflight_state inflight;
    size_t inflight_n; /* messages in the batch in flight */
    uintptr_t gen;     /* names the EVALSHA whose reply is awaited */
    double sent_at;    /* ev_time() when it was sent */
    unsigned noscript; /* NOSCRIPT replies to the batch in flight */
    bool in_sync;      /* a synchronous wait runs: no blocking */
    struct vigil_flush_result res;

    struct part *parts;
    size_t n_parts;

    /* Idle time of the loop (measured in the release/acquire callbacks
     * around its blocking poll), from the first message consumed. */
    bool waiting_redis; /* the loop waits for a reply, not for Kafka */
    double idle_from;   /* when the loop blocked; 0 when it is not */
    double first_msg, last_msg;
    double idle_kafka, idle_redis;       /* since first_msg */
    double idle_kafka_at, idle_redis_at; /* as they were at last_msg */

    _Atomic bool redis_ok;
    _Atomic unsigned assigned;
    struct vigil_ratelimit rl_decode;
    struct vigil_ratelimit rl_redis;
    struct vigil_ratelimit rl_kafka;
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

/* ---- the batch in flight (see the comment at the top) ------------------ */

static void block_on_redis(struct vigil_worker *w);

/* Closes the async connection; callbacks of commands still pending run
 * with a NULL reply (the batch in flight fails). */
static void ac_drop(struct vigil_worker *w)
{
    redisAsyncContext *ac = w->ac;
    if (!ac)
        return;
    w->ac = NULL;
    ev_timer_stop(w->loop, &w->redis_timeout);
    atomic_store(&w->redis_ok, false);
    redisAsyncFree(ac);
}

static void on_ac_connect(const redisAsyncContext *ac, int status)
{
    struct vigil_worker *w = ac->data;
    if (status == REDIS_OK) {
        atomic_store(&w->redis_ok, true);
        return;
    }
    vigil_log_rl(&w->rl_redis, VIGIL_LOG_WARN,
                 "worker %u: redis unreachable: %s", w->c.id,
                 ac->errstr ? ac->errstr : "connect failed");
    /* hiredis frees it when this returns. */
    if (w->ac == ac)
        w->ac = NULL;
    atomic_store(&w->redis_ok, false);
}

static void on_ac_disconnect(const redisAsyncContext *ac, int status)
{
    (void)status;
    struct vigil_worker *w = ac->data;
    if (w->ac == ac) {
        w->ac = NULL;
        ev_timer_stop(w->loop, &w->redis_timeout);
    }
    atomic_store(&w->redis_ok, false);
}

/* Replies to AUTH, SELECT and SCRIPT LOAD, sent ahead of batches. */
static void on_setup_reply(redisAsyncContext *ac, void *reply, void *what)
{
    struct vigil_worker *w = ac->data;
    const redisReply *r = reply;
    if (!r || w->ac != ac)
        return; /* the connection is going; the batch's reply says so */
    bool ok = r->type != REDIS_REPLY_ERROR;
    if (ok && strcmp(what, "SCRIPT LOAD") == 0)
        ok = vigil_counter_store_parse_load(w->store, r) == 0;
    if (!ok) {
        vigil_log_rl(&w->rl_redis, VIGIL_LOG_WARN, "worker %u: redis %s: %s",
                     w->c.id, (const char *)what,
                     r->type == REDIS_REPLY_ERROR
                         ? r->str
                         : vigil_counter_store_error(w->store));
        ac_drop(w);
    }
}

static bool ac_send(struct vigil_worker *w, redisCallbackFn *fn, void *priv,
                    const struct vigil_counter_store_cmd *cmd)
{
    return redisAsyncCommandArgv(w->ac, fn, priv, cmd->argc, cmd->argv,
                                 cmd->argvlen) == REDIS_OK;
}

static bool ac_send_load(struct vigil_worker *w)
{
    struct vigil_counter_store_cmd cmd;
    return vigil_counter_store_build_load(w->store, &cmd) == 0 &&
           ac_send(w, on_setup_reply, "SCRIPT LOAD", &cmd);
}

/* Opens the async connection: AUTH, SELECT and SCRIPT LOAD are queued
 * at once, ahead of any batch. False when it cannot even start. */
static bool ac_connect(struct vigil_worker *w)
{
    if (w->ac)
        return true;
    const struct vigil_config_redis *r = &w->c.cfg->redis;
    redisAsyncContext *ac = r->transport == VIGIL_REDIS_UNIX
                                ? redisAsyncConnectUnix(r->socket_path)
                                : redisAsyncConnect(r->host, r->port);
    if (!ac || ac->err) {
        vigil_log_rl(&w->rl_redis, VIGIL_LOG_WARN,
                     "worker %u: redis unreachable: %s", w->c.id,
                     ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        return false;
    }
    ac->data = w;
    if (redisLibevAttach(w->loop, ac) != REDIS_OK ||
        redisAsyncSetConnectCallback(ac, on_ac_connect) != REDIS_OK ||
        redisAsyncSetDisconnectCallback(ac, on_ac_disconnect) != REDIS_OK) {
        redisAsyncFree(ac);
        return false;
    }
    w->ac = ac;
    bool ok = true;
    if (r->password) {
        const char *auth[] = {"AUTH", r->username ? r->username : r->password,
                              r->password};
        ok = redisAsyncCommandArgv(ac, on_setup_reply, "AUTH",
                                   r->username ? 3 : 2, auth, NULL) == REDIS_OK;
    }
    if (ok && r->db != 0) {
        char db[16];
        snprintf(db, sizeof(db), "%d", r->db);
        const char *select[] = {"SELECT", db};
        ok = redisAsyncCommandArgv(ac, on_setup_reply, "SELECT", 2, select,
                                   NULL) == REDIS_OK;
    }
    if (ok)
        ok = ac_send_load(w);
    if (!ok) {
        ac_drop(w);
        return false;
    }
    return true;
}

/* Writes what hiredis holds for the socket now, without blocking (the
 * loop's write watcher does the rest). Not from a hiredis callback. */
static void ac_push(struct vigil_worker *w)
{
    if (w->ac && sdslen(w->ac->c.obuf) > 0)
        redisAsyncHandleWrite(w->ac);
}

static void arm_redis_timeout(struct vigil_worker *w)
{
    const struct vigil_config_redis *r = &w->c.cfg->redis;
    double s = (double)r->command_timeout_ms / 1000.0;
    if (w->ac && !(w->ac->c.flags & REDIS_CONNECTED))
        s += (double)r->connect_timeout_ms / 1000.0;
    ev_timer_stop(w->loop, &w->redis_timeout);
    ev_timer_set(&w->redis_timeout, s, 0.);
    ev_timer_start(w->loop, &w->redis_timeout);
}

static void on_batch_reply(redisAsyncContext *ac, void *reply, void *gen);

/* Sends the batch in flight (spare.batch). False when it could not be
 * queued; the caller fails it. */
static bool send_inflight(struct vigil_worker *w)
{
    struct vigil_counter_store_cmd cmd;
    if (!ac_connect(w) ||
        vigil_counter_store_build(w->store, w->spare.batch, &cmd) < 0)
        return false;
    w->gen++;
    if (!ac_send(w, on_batch_reply, (void *)w->gen, &cmd)) {
        ac_drop(w);
        return false;
    }
    w->inflight = INFLIGHT_SENT;
    w->sent_at = ev_time(); /* vigil_redis_flush_seconds */
    atomic_fetch_add_explicit(&w->c.source_stats->redis_commands, 1,
                              memory_order_relaxed);
    arm_redis_timeout(w);
    return true;
}

/* The batch in flight was not written: keep it, pause, retry later. */
static void inflight_failed(struct vigil_worker *w, const char *why)
{
    w->inflight = INFLIGHT_FAILED;
    w->gen++; /* whatever else arrives for it is stale */
    vigil_log_rl(&w->rl_redis, VIGIL_LOG_WARN,
                 "worker %u: batch of %zu messages not written: %s", w->c.id,
                 w->inflight_n, why);
    atomic_fetch_add_explicit(&w->c.source_stats->flush_errors, 1,
                              memory_order_relaxed);
    ac_drop(w);
    if (!w->in_sync)
        block_on_redis(w);
}

/* Swaps the full current batch in flight and sends it. */
static void start_flush(struct vigil_worker *w)
{
    struct vigil_batch *b = w->pipeline.batch;
    w->pipeline.batch = w->spare.batch;
    w->spare.batch = b;
    vigil_batch_reset(w->pipeline.batch, now_ms());
    w->inflight_n = w->in_batch;
    w->in_batch = 0;
    w->noscript = 0;
    /* The next batch of each partition begins where this one ends. */
    for (size_t i = 0; i < vigil_batch_n_partitions(b); i++) {
        const struct vigil_batch_partition *bp = vigil_batch_partition_at(b, i);
        struct part *p = find_part(w, bp->topic, bp->partition);
        if (p)
            p->resume = bp->next;
    }
    if (!send_inflight(w)) {
        inflight_failed(w, w->ac ? vigil_counter_store_error(w->store)
                                 : "no connection");
        return;
    }
    ac_push(w);
}

static void add_seek(rd_kafka_topic_partition_list_t *l, struct part *p,
                     int64_t offset)
{
    p->resume = offset;
    p->position = offset == VIGIL_OFFSET_UNSET ? 0 : offset;
    int64_t to =
        offset == VIGIL_OFFSET_UNSET ? RD_KAFKA_OFFSET_BEGINNING : offset;
    rd_kafka_topic_partition_t *e =
        rd_kafka_topic_partition_list_find(l, p->topic, p->partition);
    if (!e)
        e = rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
    e->offset = to;
}

/* The batch in flight was fenced off: seek back, drop the current batch. */
static void inflight_rejected(struct vigil_worker *w)
{
    atomic_fetch_add_explicit(&w->c.source_stats->batches_rejected, 1,
                              memory_order_relaxed);
    vigil_info("worker %u: batch fenced off, seeking back to the "
               "stored offsets",
               w->c.id);
    struct vigil_batch *cur = w->pipeline.batch;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    /* The current batch was built on the rejected one: re-read it. */
    for (size_t i = 0; i < vigil_batch_n_partitions(cur); i++) {
        const struct vigil_batch_partition *bp =
            vigil_batch_partition_at(cur, i);
        struct part *p = find_part(w, bp->topic, bp->partition);
        if (p)
            add_seek(l, p, bp->expected);
    }
    for (size_t i = 0; i < w->res.n_stored; i++) {
        const struct vigil_stored_offset *so = &w->res.stored[i];
        struct part *p = find_part(w, so->topic, so->partition);
        if (p)
            add_seek(l, p, so->stored);
    }
    if (l->cnt)
        seek_to(w, l);
    rd_kafka_topic_partition_list_destroy(l);
    vigil_batch_reset(cur, now_ms());
    w->in_batch = 0;
}

/* A rejection whose stored offsets are all this batch's next offsets:
 * an earlier attempt of the same batch had landed. */
static bool inflight_had_landed(const struct vigil_worker *w)
{
    if (w->res.n_stored == 0)
        return false;
    for (size_t i = 0; i < w->res.n_stored; i++) {
        const struct vigil_batch_partition *bp =
            vigil_batch_partition_at(w->spare.batch, i);
        if (w->res.stored[i].stored != bp->next)
            return false;
    }
    return true;
}

static void on_batch_reply(redisAsyncContext *ac, void *reply, void *gen)
{
    struct vigil_worker *w = ac->data;
    if ((uintptr_t)gen != w->gen || w->inflight != INFLIGHT_SENT)
        return; /* stale: a batch given up on revocation or shutdown */
    ev_timer_stop(w->loop, &w->redis_timeout);
    if (reply)
        vigil_feed_histogram_observe(&w->c.source_stats->flush_seconds,
                                     ev_time() - w->sent_at);
    struct vigil_batch *b = w->spare.batch;
    int rc = vigil_counter_store_parse_reply(w->store, b, reply, &w->res);
    if (rc == VIGIL_COUNTER_STORE_NOSCRIPT && w->noscript++ == 0 &&
        w->ac == ac) {
        /* Same connection, in this order: the load runs first. */
        if (ac_send_load(w) && send_inflight(w)) {
            vigil_log_rl(&w->rl_redis, VIGIL_LOG_INFO,
                         "worker %u: redis lost the script (NOSCRIPT); "
                         "loaded it again",
                         w->c.id);
            return;
        }
        rc = -1;
    }
    if (rc != 0) {
        inflight_failed(
            w, reply ? vigil_counter_store_error(w->store)
                     : (ac->errstr[0] ? ac->errstr : "connection lost"));
        return;
    }
    if (w->res.accepted || inflight_had_landed(w)) {
        atomic_fetch_add_explicit(&w->c.source_stats->batches_accepted, 1,
                                  memory_order_relaxed);
        if (w->res.failed_ops)
            vigil_log_rl(&w->rl_redis, VIGIL_LOG_WARN,
                         "worker %u: redis refused %" PRId64
                         " counter updates: %s",
                         w->c.id, w->res.failed_ops, w->res.first_error);
        vigil_pipeline_count_written(w->c.pipeline_stats, b);
        if (vigil_batch_stats(b).findings_dropped)
            vigil_log_rl(&w->rl_redis, VIGIL_LOG_WARN,
                         "worker %u: a batch had more than %zu findings; "
                         "%" PRIu64 " were not recorded "
                         "(vigil_findings_dropped_total)",
                         w->c.id, vigil_batch_n_findings(b),
                         vigil_batch_stats(b).findings_dropped);
        commit_to_kafka(w, b);
    } else {
        inflight_rejected(w);
    }
    vigil_batch_reset(b, now_ms());
    w->inflight = INFLIGHT_NONE;
    w->inflight_n = 0;
    /* Consuming goes on from the loop, not from inside hiredis. */
    if (!w->in_sync)
        ev_idle_start(w->loop, &w->resume);
}

/* Reads the connection until the batch in flight is answered, or until
 * deadline (mono_s), when the connection is given up. */
static void wait_inflight(struct vigil_worker *w, double deadline)
{
    while (w->inflight == INFLIGHT_SENT && w->ac) {
        redisContext *c = &w->ac->c;
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        if (!(c->flags & REDIS_CONNECTED) || sdslen(c->obuf) > 0)
            pfd.events |= POLLOUT;
        double left = deadline - mono_s();
        if (left <= 0) {
            vigil_log_rl(&w->rl_redis, VIGIL_LOG_WARN,
                         "worker %u: no reply from redis in time", w->c.id);
            ac_drop(w);
            break;
        }
        int n = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (n < 0 && errno != EINTR) {
            ac_drop(w);
            break;
        }
        if (n > 0 && (pfd.revents & (POLLOUT | POLLERR | POLLHUP)))
            redisAsyncHandleWrite(w->ac);
        if (n > 0 && w->ac && (pfd.revents & (POLLIN | POLLERR | POLLHUP)))
            redisAsyncHandleRead(w->ac);
    }
    if (w->inflight == INFLIGHT_SENT)
        inflight_failed(w, "connection lost");
}

static double redis_wait_s(const struct vigil_worker *w)
{
    const struct vigil_config_redis *r = &w->c.cfg->redis;
    return (double)(r->connect_timeout_ms + r->command_timeout_ms) / 1000.0;
}

/*
 * Synchronously writes the batch in flight, then the current batch,
 * before deadline (mono_s). Returns 0 when both are done with (accepted,
 * or rejected and re-sought), -1 when Redis failed (what is left is kept;
 * the caller blocks or gives it up). One attempt per batch.
 */
static int settle(struct vigil_worker *w, double deadline)
{
    bool was = w->in_sync;
    w->in_sync = true;
    int rc = 0;
    for (;;) {
        if (w->inflight == INFLIGHT_NONE) {
            if (w->in_batch == 0 &&
                vigil_batch_n_partitions(w->pipeline.batch) == 0)
                break;
            start_flush(w);
        } else if (w->inflight == INFLIGHT_FAILED) {
            w->noscript = 0;
            if (!send_inflight(w))
                inflight_failed(w, "no connection");
        }
        if (w->inflight == INFLIGHT_SENT) {
            double d = mono_s() + redis_wait_s(w);
            wait_inflight(w, d < deadline ? d : deadline);
        }
        if (w->inflight == INFLIGHT_FAILED) {
            rc = -1;
            break;
        }
    }
    w->in_sync = was;
    return rc;
}

/* Forgets both batches (revoked partitions: the next owner re-reads). */
static void give_up_batches(struct vigil_worker *w)
{
    w->gen++;
    w->inflight = INFLIGHT_NONE;
    w->inflight_n = 0;
    vigil_batch_reset(w->spare.batch, now_ms());
    vigil_batch_reset(w->pipeline.batch, now_ms());
    w->in_batch = 0;
}

static void on_redis_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct vigil_worker *w = t->data;
    vigil_log_rl(&w->rl_redis, VIGIL_LOG_WARN,
                 "worker %u: no reply from redis in time", w->c.id);
    ac_drop(w); /* the pending reply callback fails the batch */
    if (w->inflight == INFLIGHT_SENT)
        inflight_failed(w, "no reply in time");
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
        w->pipeline.origin = (struct vigil_pipeline_origin){
            .topic = p->topic,
            .partition = m->partition,
            .offset = m->offset,
        };
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

/*
 * Consumes what the queue holds into the current batch; a full batch (or
 * the last one when the queue runs dry) is sent when nothing is in
 * flight, else consuming waits for the reply (on_resume).
 */
static void drain(struct vigil_worker *w)
{
    rd_kafka_message_t *msgs[CONSUME_CHUNK];
    size_t limit = w->c.cfg->kafka.batch_events;
    w->waiting_redis = false;
    while (!w->blocked) {
        /* A batch also ends at half its findings cap, so that the
         * findings of a burst go into the next batch rather than beyond
         * the cap (vigil_findings_dropped_total). */
        size_t fcap = w->pipeline.max_findings;
        size_t nf = fcap ? vigil_batch_n_findings(w->pipeline.batch) : 0;
        if (w->in_batch >= limit || (fcap && nf >= fcap / 2 + 1)) {
            if (w->inflight != INFLIGHT_NONE) {
                w->waiting_redis = true;
                return;
            }
            start_flush(w);
            continue;
        }
        /* No more than the batch takes: batch_events holds. */
        size_t room = limit - w->in_batch;
        if (fcap && room > fcap - nf)
            room = fcap - nf;
        ssize_t n = rd_kafka_consume_batch_queue(
            w->queue, 0, msgs, room < CONSUME_CHUNK ? room : CONSUME_CHUNK);
        for (ssize_t i = 0; i < n; i++) {
            handle_message(w, msgs[i]);
            rd_kafka_message_destroy(msgs[i]);
        }
        if (n > 0) {
            w->last_msg = mono_s();
            if (w->first_msg == 0)
                w->first_msg = w->last_msg;
            w->idle_kafka_at = w->idle_kafka;
            w->idle_redis_at = w->idle_redis;
        }
        /* A large EVALSHA may not have fit in the socket at once. */
        ac_push(w);
        if (n <= 0) {
            if (w->in_batch > 0 && w->inflight == INFLIGHT_NONE && !w->blocked)
                start_flush(w);
            return;
        }
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
 * Moves to a reloaded rule set at a batch boundary: the batches built
 * with the old rules are written first, so that no message is lost or
 * counted twice across the swap. Retried from the tick while Redis is
 * down.
 */
static void try_swap(struct vigil_worker *w)
{
    if (!atomic_load(&w->next_set) || w->blocked)
        return;
    if (settle(w, mono_s() + 2 * redis_wait_s(w)) < 0) {
        block_on_redis(w);
        return;
    }
    struct vigil_rule_set *set = atomic_exchange(&w->next_set, NULL);
    if (!set)
        return;
    struct vigil_pipeline fresh, spare;
    const char *why = NULL;
    if (vigil_pipeline_init(&fresh, set, &w->popts, w->c.pipeline_stats, &why) <
        0) {
        vigil_error("worker %u: reloaded rules not applied: %s", w->c.id, why);
    } else if (vigil_pipeline_init(&spare, set, &w->popts, w->c.pipeline_stats,
                                   &why) < 0) {
        vigil_pipeline_fini(&fresh);
        vigil_error("worker %u: reloaded rules not applied: %s", w->c.id, why);
    } else {
        vigil_pipeline_fini(&w->pipeline);
        vigil_pipeline_fini(&w->spare);
        w->pipeline = fresh;
        w->spare = spare;
        vigil_info("worker %u: now matching with %zu rules", w->c.id,
                   vigil_rule_set_size(set));
    }
    vigil_rule_set_unref(set);
}

static void on_resume(struct ev_loop *loop, ev_idle *i, int revents)
{
    (void)revents;
    ev_idle_stop(loop, i);
    struct vigil_worker *w = i->data;
    drain(w);
    try_swap(w);
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
    if (!sync_offsets(w, true) ||
        settle(w, mono_s() + 2 * redis_wait_s(w)) < 0) {
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
    /* Stop fetching; write what was read (the in-flight batch first). */
    size_t n = w->inflight_n + w->in_batch;
    if (settle(w, mono_s() + STOP_BUDGET_S) < 0)
        vigil_warn("worker %u: final batches of %zu messages not written; "
                   "they will be read again",
                   w->c.id, n);
    give_up_batches(w); /* the revocation on close has nothing left */
    ev_break(loop, EVBREAK_ALL);
}

/* libev calls these around its blocking poll: the worker's idle time. */
static void on_loop_release(struct ev_loop *loop)
{
    struct vigil_worker *w = ev_userdata(loop);
    w->idle_from = w->first_msg > 0 ? mono_s() : 0;
}

static void on_loop_acquire(struct ev_loop *loop)
{
    struct vigil_worker *w = ev_userdata(loop);
    if (w->idle_from > 0) {
        double d = mono_s() - w->idle_from;
        if (w->waiting_redis)
            w->idle_redis += d;
        else
            w->idle_kafka += d;
    }
    w->idle_from = 0;
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
    /* Revoked: write what we have (the batch in flight first) while the
     * partitions are still ours; if Redis is down the next owner reads
     * the messages again. */
    if (settle(w, mono_s() + 2 * redis_wait_s(w)) < 0)
        vigil_warn("worker %u: batches dropped on revocation; the next owner "
                   "reads them again",
                   w->c.id);
    give_up_batches(w);
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

/* A client's settings: defaults (NULL-terminated key, value pairs, or
 * NULL), then kafka.properties, which may override them. */
static rd_kafka_conf_t *base_conf(struct vigil_worker *w, const char *role,
                                  const char *const *defaults)
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
    for (size_t i = 0; defaults && defaults[i]; i += 2) {
        if (conf_set(conf, defaults[i], defaults[i + 1]) < 0)
            goto err;
    }
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

/*
 * Consumer settings of vigil, before kafka.properties (which may override
 * them). docs/PERFORMANCE.md has the measurements behind them.
 */
static const char *const consumer_defaults[] = {
    "fetch.wait.max.ms",
    "50",
    NULL,
};

static int kafka_open(struct vigil_worker *w)
{
    const struct vigil_config_kafka *k = &w->c.cfg->kafka;
    char err[512];
    rd_kafka_conf_t *conf = base_conf(w, "w", consumer_defaults);
    if (!conf)
        return -1;
    /* Offsets that count live in Redis; Kafka commits are for lag tools. */
    if (conf_set(conf, "group.id", k->group) < 0 ||
        conf_set(conf, "enable.auto.commit", "false") < 0 ||
        conf_set(conf, "enable.auto.offset.store", "false") < 0 ||
        conf_set(conf, "auto.offset.reset", "earliest") < 0) {
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
        conf = base_conf(w, "dlq", NULL);
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
    ac_drop(w);
    if (w->last_msg > w->first_msg)
        vigil_info("worker %u: idle %.3f s waiting for Kafka and %.3f s "
                   "waiting for Redis in the %.3f s from its first message "
                   "to its last",
                   w->c.id, w->idle_kafka_at, w->idle_redis_at,
                   w->last_msg - w->first_msg);
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
        .findings_max_len = cfg->redis.findings_max_len,
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
    if (vigil_pipeline_init(&w->spare, c->set, &w->popts, c->pipeline_stats,
                            &why) < 0) {
        vigil_error("worker %u: %s", c->id, why);
        goto err_fini_pipeline;
    }
    struct vigil_counter_store_config sc = {cfg->redis.ns, cfg->kafka.group,
                                            cfg->redis.findings_max_len};
    w->store = vigil_counter_store_create(&sc);
    if (!w->store)
        goto err_fini_spare;
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
    ev_timer_init(&w->redis_timeout, on_redis_timeout, 1., 0.);
    ev_idle_init(&w->resume, on_resume);
    ev_async_init(&w->stop, on_stop);
    ev_async_init(&w->swap, on_swap);
    w->kafka_io.data = w->tick.data = w->retry.data = w->stop.data =
        w->swap.data = w->redis_timeout.data = w->resume.data = w;
    ev_set_userdata(w->loop, w);
    ev_set_loop_release_cb(w->loop, on_loop_release, on_loop_acquire);
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
err_fini_spare:
    vigil_pipeline_fini(&w->spare);
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
    give_up_batches(w);
    ac_drop(w);
    ev_loop_destroy(w->loop);
    close(w->pipe_fd[0]);
    close(w->pipe_fd[1]);
    redis_drop(w);
    vigil_counter_store_destroy(w->store);
    vigil_flush_result_fini(&w->res);
    vigil_pipeline_fini(&w->spare);
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
