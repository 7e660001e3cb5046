/*
 * The feed's pump thread and the SSE stream (see feed_server.h).
 *
 * Frames live in a ring of FEED_RING slots; each SSE connection (its own
 * MHD thread) remembers the seq of the next frame it wants, copies frames
 * out under the lock and writes them without it. A client that falls a
 * whole ring behind is disconnected: its EventSource reconnects with
 * Last-Event-ID and catches up from Redis.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feed_priv.h"

/* ---- frames ---- */

/* Appends a frame (caller holds mu); takes text. */
static void ring_push(struct vigil_feed *f, struct vigil_feed_sid id,
                      char *text, size_t len)
{
    struct feed_frame *slot = &f->ring[f->next_seq % FEED_RING];
    free(slot->text);
    slot->seq = f->next_seq++;
    slot->id = id;
    slot->text = text;
    slot->len = len;
}

/* "event: <kind>\nid: <id>\ndata: <json>\n\n"; NULL when out of memory. */
static char *frame_text(const char *kind, struct vigil_feed_sid id,
                        const char *json, size_t *len)
{
    struct vigil_feed_buf b;
    vigil_feed_buf_init(&b);
    char sid[48];
    vigil_feed_sid_format(id, sid, sizeof(sid));
    vigil_feed_buf_fmt(&b, "event: %s\nid: %s\ndata: ", kind, sid);
    vigil_feed_buf_str(&b, json);
    vigil_feed_buf_add(&b, "\n\n", 2);
    return vigil_feed_buf_take(&b, len);
}

void vigil_feed_pump_push(struct vigil_feed *f, struct vigil_feed_item *it)
{
    if (f->n_queue == FEED_QUEUE_MAX) {
        /* The pump is stuck (Redis hanging): drop the oldest. */
        vigil_feed_item_unref(f->queue[0]);
        memmove(f->queue, f->queue + 1,
                (FEED_QUEUE_MAX - 1) * sizeof(*f->queue));
        f->n_queue--;
        f->dropped++;
    }
    f->queue[f->n_queue++] = it;
    pthread_cond_signal(&f->pump_cv);
}

void vigil_feed_stream_fini(struct vigil_feed *f)
{
    for (size_t i = 0; i < FEED_RING; i++) {
        free(f->ring[i].text);
        f->ring[i].text = NULL;
    }
    for (size_t i = 0; i < f->n_queue; i++)
        vigil_feed_item_unref(f->queue[i]);
    f->n_queue = 0;
}

/* ---- the pump ---- */

/* What Redis said about one item. */
struct resolved {
    bool has_hist;
    struct vigil_feed_sid hist;
    const redisReply *breach; /* the breaches entry of its transition */
};

static void newest_hist(const redisReply *r, struct resolved *out)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        !vigil_feed_json_is_entry(r->element[0]))
        return;
    const redisReply *id = r->element[0]->element[0];
    out->has_hist = vigil_feed_sid_parse(id->str, id->len, &out->hist);
}

/* The breaches entry (newest first in r) of item's transition. */
static const redisReply *find_breach(const redisReply *r,
                                     const struct vigil_feed_item *it)
{
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return NULL;
    char since[32];
    snprintf(since, sizeof(since), "%" PRId64, it->event.since_ms);
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (!vigil_feed_json_is_entry(e))
            continue;
        const redisReply *fv = e->element[1];
        bool ind = false, at = false;
        for (size_t j = 0; j + 1 < fv->elements; j += 2) {
            const char *k = fv->element[j]->str;
            const char *v = fv->element[j + 1]->str;
            if (strcmp(k, "indicator") == 0)
                ind = strcmp(v, it->ind->id) == 0;
            else if (strcmp(k, "since") == 0)
                at = strcmp(v, since) == 0;
        }
        if (ind && at)
            return e;
    }
    return NULL;
}

static char *print(cJSON *j)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return s;
}

/* One batch of items: ids from Redis, PUBLISH, frames for the clients. */
static void pump_batch(struct vigil_feed *f, struct vigil_feed_item **items,
                       size_t n)
{
    char **json = calloc(n, sizeof(*json));
    struct resolved *res = calloc(n, sizeof(*res));
    /* Up to three commands per item: hist, breaches, PUBLISH. */
    redisReply **replies = calloc(3 * n + 1, sizeof(*replies));
    size_t n_replies = 0;
    if (!json || !res || !replies)
        goto out;
    for (size_t i = 0; i < n; i++)
        json[i] = print(vigil_feed_json_indicator(items[i]->ind, items[i],
                                                  VIGIL_FEED_JSON_TRANSITION));
    redisContext *rc = vigil_feed_pool_get(f);
    bool ok = rc != NULL;
    size_t sent = 0;
    for (size_t i = 0; ok && i < n; i++) {
        redisAppendCommand(rc, "XREVRANGE %shist:%s + - COUNT 1", f->prefix,
                           items[i]->ind->id);
        sent++;
        if (items[i]->event.kind != VIGIL_EVENT_NONE) {
            redisAppendCommand(rc, "XREVRANGE %sbreaches + - COUNT 64",
                               f->prefix);
            sent++;
        }
        if (json[i]) {
            redisAppendCommand(rc, "PUBLISH %s %s", f->channel, json[i]);
            sent++;
        }
    }
    for (size_t k = 0; ok && k < sent; k++) {
        void *r = NULL;
        if (redisGetReply(rc, &r) != REDIS_OK) {
            ok = false;
            break;
        }
        replies[n_replies++] = r;
    }
    if (rc && !ok)
        vigil_log_rl(&f->rl, VIGIL_LOG_WARN, "feed: redis: %s", rc->errstr);
    vigil_feed_pool_put(f, rc, ok);
    if (ok) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            newest_hist(replies[k++], &res[i]);
            if (items[i]->event.kind != VIGIL_EVENT_NONE)
                res[i].breach = find_breach(replies[k++], items[i]);
            if (json[i])
                k++;
        }
    }

    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < n; i++) {
        if (res[i].has_hist && vigil_feed_sid_cmp(res[i].hist, f->cursor) > 0)
            f->cursor = res[i].hist;
        size_t len;
        char *text =
            json[i] ? frame_text("indicator", f->cursor, json[i], &len) : NULL;
        if (text)
            ring_push(f, f->cursor, text, len);
        if (items[i]->event.kind == VIGIL_EVENT_NONE)
            continue;
        cJSON *bj;
        if (res[i].breach) {
            const redisReply *id = res[i].breach->element[0];
            struct vigil_feed_sid sid;
            if (vigil_feed_sid_parse(id->str, id->len, &sid) &&
                vigil_feed_sid_cmp(sid, f->cursor) > 0)
                f->cursor = sid;
            bj = vigil_feed_json_breach(res[i].breach, f->set);
        } else {
            bj = vigil_feed_json_transition(items[i], NULL);
        }
        char *bs = print(bj);
        text = bs ? frame_text("breach", f->cursor, bs, &len) : NULL;
        free(bs);
        if (text)
            ring_push(f, f->cursor, text, len);
    }
    pthread_cond_broadcast(&f->ring_cv);
    pthread_mutex_unlock(&f->mu);

out:
    for (size_t k = 0; k < n_replies; k++)
        freeReplyObject(replies[k]);
    for (size_t i = 0; json && i < n; i++)
        free(json[i]);
    free(replies);
    free(res);
    free(json);
}

static void *pump_main(void *arg)
{
    struct vigil_feed *f = arg;
    struct vigil_feed_item **batch = calloc(FEED_QUEUE_MAX, sizeof(*batch));
    if (!batch)
        return NULL;
    for (;;) {
        pthread_mutex_lock(&f->mu);
        while (f->n_queue == 0 && !f->stopping)
            pthread_cond_wait(&f->pump_cv, &f->mu);
        bool stop = f->stopping;
        pthread_mutex_unlock(&f->mu);
        if (stop)
            break;
        /* The items point into the indicator set: hold it (a reload
         * drops what is queued while it has the lock). */
        pthread_rwlock_rdlock(&f->set_lock);
        pthread_mutex_lock(&f->mu);
        size_t n = f->n_queue;
        memcpy(batch, f->queue, n * sizeof(*batch));
        f->n_queue = 0;
        pthread_mutex_unlock(&f->mu);
        if (n > 0)
            pump_batch(f, batch, n);
        for (size_t i = 0; i < n; i++)
            vigil_feed_item_unref(batch[i]);
        pthread_rwlock_unlock(&f->set_lock);
    }
    free(batch);
    return NULL;
}

int vigil_feed_pump_start(struct vigil_feed *f)
{
    if (pthread_create(&f->pump, NULL, pump_main, f) != 0)
        return -1;
    f->pump_running = true;
    return 0;
}

void vigil_feed_pump_stop(struct vigil_feed *f)
{
    if (!f->pump_running)
        return;
    pthread_mutex_lock(&f->mu);
    f->stopping = true;
    pthread_cond_broadcast(&f->pump_cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->pump, NULL);
    f->pump_running = false;
}

/* ---- SSE ---- */

struct sse {
    struct vigil_feed *f;
    uint64_t next; /* seq of the next frame to send */
    bool has_from; /* replay from `from` (Last-Event-ID) */
    struct vigil_feed_sid from;
    bool has_after; /* skip live frames older than `after` (replayed) */
    struct vigil_feed_sid after;
    bool started;
    bool end; /* send what is buffered, then end the stream */
    struct vigil_feed_buf out;
    size_t off;
};

/* One replayed entry. */
struct rep {
    struct vigil_feed_sid id;
    int kind; /* 0 hist (indicator), 1 breach */
    const struct vigil_indicator *ind;
    const redisReply *e;
};

static int rep_cmp(const void *a, const void *b)
{
    const struct rep *x = a, *y = b;
    int c = vigil_feed_sid_cmp(x->id, y->id);
    return c ? c : x->kind - y->kind;
}

static void add_frame(struct vigil_feed_buf *out, const char *kind,
                      struct vigil_feed_sid id, cJSON *json)
{
    char *s = print(json);
    size_t len;
    char *text = s ? frame_text(kind, id, s, &len) : NULL;
    free(s);
    if (text)
        vigil_feed_buf_add(out, text, len);
    free(text);
}

/* Field name of stream entry e as a string reply, or NULL. */
static const redisReply *entry_field(const redisReply *e, const char *name)
{
    const redisReply *kv = e->element[1];
    for (size_t i = 0; i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING &&
            kv->element[i + 1]->type == REDIS_REPLY_STRING &&
            strcmp(kv->element[i]->str, name) == 0)
            return kv->element[i + 1];
    return NULL;
}

static bool same_field(const redisReply *a, const redisReply *b,
                       const char *name)
{
    const redisReply *x = entry_field(a, name), *y = entry_field(b, name);
    return x && y && x->len == y->len && memcmp(x->str, y->str, x->len) == 0;
}

/*
 * The breaches entry (among breaches, replayed in the same reply) of the
 * transition that the hist:<id> entry h of indicator ind records, or
 * NULL: the evaluator writes both in one script, the hist entry with the
 * transition's kind (event) and the new state's since, the breaches entry
 * with the same.
 */
static const redisReply *transition_of(const struct vigil_indicator *ind,
                                       const redisReply *h,
                                       const redisReply *breaches)
{
    if (!entry_field(h, "event"))
        return NULL;
    for (size_t i = 0; i < breaches->elements; i++) {
        const redisReply *b = breaches->element[i];
        if (!vigil_feed_json_is_entry(b))
            continue;
        const redisReply *id = entry_field(b, "indicator");
        if (id && strcmp(id->str, ind->id) == 0 && same_field(h, b, "event") &&
            same_field(h, b, "since"))
            return b;
    }
    return NULL;
}

/* Replays hist:<id> and breaches from s->from; false: the client must
 * reload (Redis down, or more than replay_max_events in a stream). */
static bool replay(struct sse *s)
{
    struct vigil_feed *f = s->f;
    size_t n = f->set->n + 1;
    char from[48];
    vigil_feed_sid_format(s->from, from, sizeof(from));
    redisReply **r = calloc(n, sizeof(*r));
    redisContext *rc = r ? vigil_feed_pool_get(f) : NULL;
    bool ok = rc != NULL;
    unsigned max = f->cfg.replay_max_events;
    for (size_t i = 0; ok && i < f->set->n; i++)
        redisAppendCommand(rc, "XRANGE %shist:%s (%s + COUNT %u", f->prefix,
                           f->set->v[i].id, from, max);
    if (ok)
        redisAppendCommand(rc, "XRANGE %sbreaches (%s + COUNT %u", f->prefix,
                           from, max);
    bool io_ok = ok;
    size_t total = 0;
    for (size_t i = 0; io_ok && i < n; i++) {
        void *x = NULL;
        io_ok = redisGetReply(rc, &x) == REDIS_OK;
        r[i] = x;
        /* A full page means more is missing: the client must reload. */
        ok = ok && io_ok && r[i]->type == REDIS_REPLY_ARRAY &&
             r[i]->elements < max;
        total += ok ? r[i]->elements : 0;
    }
    vigil_feed_pool_put(f, rc, io_ok);
    struct rep *v = ok ? calloc(total + 1, sizeof(*v)) : NULL;
    ok = ok && v;
    size_t nv = 0;
    for (size_t i = 0; ok && i < n; i++) {
        for (size_t j = 0; j < r[i]->elements; j++) {
            const redisReply *e = r[i]->element[j];
            struct vigil_feed_sid id;
            if (!vigil_feed_json_is_entry(e) ||
                !vigil_feed_sid_parse(e->element[0]->str, e->element[0]->len,
                                      &id))
                continue;
            v[nv++] = (struct rep){id, i == n - 1,
                                   i < n - 1 ? &f->set->v[i] : NULL, e};
        }
    }
    if (ok) {
        qsort(v, nv, sizeof(*v), rep_cmp);
        s->after = s->from;
        for (size_t i = 0; i < nv; i++) {
            if (v[i].kind == 0)
                add_frame(&s->out, "indicator", v[i].id,
                          vigil_feed_json_replayed(
                              v[i].ind, v[i].e,
                              transition_of(v[i].ind, v[i].e, r[n - 1]),
                              f->set));
            else
                add_frame(&s->out, "breach", v[i].id,
                          vigil_feed_json_breach(v[i].e, f->set));
            s->after = v[i].id;
        }
        s->has_after = true;
    }
    free(v);
    for (size_t i = 0; r && i < n; i++)
        if (r[i])
            freeReplyObject(r[i]);
    free(r);
    return ok;
}

static bool replay_locked(struct sse *s)
{
    pthread_rwlock_rdlock(&s->f->set_lock);
    bool ok = replay(s);
    pthread_rwlock_unlock(&s->f->set_lock);
    return ok;
}

static void sse_begin(struct sse *s)
{
    vigil_feed_buf_str(&s->out, "retry: 2000\n: vigil feed\n\n");
    if (s->has_from && !replay_locked(s))
        vigil_feed_buf_str(&s->out, "event: reset\ndata: {}\n\n");
}

/* Waits for frames (up to the heartbeat) and buffers them. */
static void sse_fill(struct sse *s)
{
    struct vigil_feed *f = s->f;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += f->cfg.heartbeat_ms / 1000;
    deadline.tv_nsec += (long)(f->cfg.heartbeat_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    bool sent = false;
    pthread_mutex_lock(&f->mu);
    while (!f->stopping && f->next_seq == s->next)
        if (pthread_cond_timedwait(&f->ring_cv, &f->mu, &deadline) != 0)
            break;
    if (f->stopping) {
        s->end = true;
    } else if (f->next_seq - s->next > FEED_RING) {
        /* Fell a whole ring behind: reconnecting replays from Redis. */
        s->end = true;
    } else {
        for (int k = 0; k < 64 && s->next < f->next_seq; k++, s->next++) {
            const struct feed_frame *fr = &f->ring[s->next % FEED_RING];
            if (s->has_after && vigil_feed_sid_cmp(fr->id, s->after) <= 0)
                continue;
            vigil_feed_buf_add(&s->out, fr->text, fr->len);
            sent = true;
        }
    }
    pthread_mutex_unlock(&f->mu);
    if (!sent && !s->end && s->out.len == 0)
        vigil_feed_buf_str(&s->out, ": heartbeat\n\n");
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct sse *s = cls;
    for (;;) {
        if (s->out.failed)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (s->off < s->out.len) {
            size_t n = s->out.len - s->off;
            if (n > max)
                n = max;
            memcpy(buf, s->out.data + s->off, n);
            s->off += n;
            if (s->off == s->out.len) {
                s->out.len = 0;
                s->off = 0;
            }
            return (ssize_t)n;
        }
        if (s->end)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (!s->started) {
            s->started = true;
            sse_begin(s);
        } else {
            sse_fill(s);
        }
    }
}

static void sse_free(void *cls)
{
    struct sse *s = cls;
    vigil_feed_buf_fini(&s->out);
    free(s);
}

enum MHD_Result vigil_feed_stream(struct vigil_feed *f,
                                  struct MHD_Connection *c)
{
    struct sse *s = calloc(1, sizeof(*s));
    if (!s)
        return MHD_NO;
    s->f = f;
    vigil_feed_buf_init(&s->out);
    const char *last =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
    if (!last)
        last = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                           "last_event_id");
    if (last && vigil_feed_sid_parse(last, strlen(last), &s->from))
        s->has_from = true;
    pthread_mutex_lock(&f->mu);
    s->next = f->next_seq;
    pthread_mutex_unlock(&f->mu);
    struct MHD_Response *r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 16384, sse_read, s, sse_free);
    if (!r) {
        sse_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    return vigil_feed_reply_response(c, 200, r,
                                     "text/event-stream; charset=utf-8");
}
