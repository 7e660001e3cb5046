/*
 * The feed's JSON API (docs/API.md): indicators from the snapshot table;
 * history, breaches and findings from Redis streams; acks and silences
 * through the pager's callbacks. Runs on MHD connection threads.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feed_priv.h"
#include "feed_request.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000
#define HISTORY_MAX 10000
#define HISTORY_DEFAULT_MS (24LL * 3600 * 1000)

static bool parse_time(const struct vigil_feed *f, const char *s, int64_t *out)
{
    return vigil_feed_parse_time(s, vigil_feed_now(f), out);
}

static const char *arg(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

/* ?limit=: default def, at most max; false when malformed. */
static bool parse_limit(struct MHD_Connection *c, unsigned def, unsigned max,
                        unsigned *out)
{
    return vigil_feed_parse_limit(arg(c, "limit"), def, max, out);
}

/* The route's id as a C string. */
static void route_id(const struct vigil_feed_route *r, char *buf, size_t n)
{
    size_t len = r->arg_len < n - 1 ? r->arg_len : n - 1;
    memcpy(buf, r->arg, len);
    buf[len] = '\0';
}

/* ---- pool ---- */

redisContext *vigil_feed_pool_get(struct vigil_feed *f)
{
    if (!f->cfg.connect)
        return NULL;
    pthread_mutex_lock(&f->pool_mu);
    if (f->n_idle > 0) {
        redisContext *c = f->idle[--f->n_idle];
        pthread_mutex_unlock(&f->pool_mu);
        return c;
    }
    int64_t now = vigil_feed_now(f);
    bool wait = now < f->retry_at_ms;
    pthread_mutex_unlock(&f->pool_mu);
    if (wait)
        return NULL;
    redisContext *c = f->cfg.connect(f->cfg.connect_ctx);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        pthread_mutex_lock(&f->pool_mu);
        f->retry_at_ms = vigil_feed_now(f) + 1000;
        pthread_mutex_unlock(&f->pool_mu);
        vigil_log_rl(&f->rl, VIGIL_LOG_WARN, "feed: redis unreachable");
        return NULL;
    }
    return c;
}

void vigil_feed_pool_put(struct vigil_feed *f, redisContext *c, bool ok)
{
    if (!c)
        return;
    if (ok && !c->err) {
        pthread_mutex_lock(&f->pool_mu);
        if (f->n_idle < FEED_POOL) {
            f->idle[f->n_idle++] = c;
            c = NULL;
        }
        pthread_mutex_unlock(&f->pool_mu);
    }
    if (c)
        redisFree(c);
}

/* ---- table ---- */

struct vigil_feed_item **vigil_feed_table_copy(struct vigil_feed *f)
{
    struct vigil_feed_item **t = calloc(f->set->n + 1, sizeof(*t));
    if (!t)
        return NULL;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->set->n; i++)
        t[i] = f->table[i] ? vigil_feed_item_ref(f->table[i]) : NULL;
    pthread_mutex_unlock(&f->mu);
    return t;
}

void vigil_feed_table_free(struct vigil_feed *f, struct vigil_feed_item **t)
{
    if (!t)
        return;
    for (size_t i = 0; i < f->set->n; i++)
        vigil_feed_item_unref(t[i]);
    free(t);
}

/* ---- indicators ---- */

static enum MHD_Result serve_indicators(struct vigil_feed *f,
                                        struct MHD_Connection *c,
                                        const struct vigil_indicator *only)
{
    struct vigil_feed_item **t = vigil_feed_table_copy(f);
    if (!t)
        return vigil_feed_reply_error(c, 500, "out of memory");
    cJSON *root = NULL;
    if (only) {
        size_t i = (size_t)(only - f->set->v);
        root = vigil_feed_json_indicator(only, t[i], 0);
    } else {
        root = cJSON_CreateObject();
        cJSON *arr = root ? cJSON_AddArrayToObject(root, "indicators") : NULL;
        for (size_t i = 0; arr && i < f->set->n; i++) {
            cJSON *o = vigil_feed_json_indicator(&f->set->v[i], t[i], 0);
            if (!o || !cJSON_AddItemToArray(arr, o)) {
                cJSON_Delete(o);
                cJSON_Delete(root);
                root = NULL;
                break;
            }
        }
    }
    vigil_feed_table_free(f, t);
    return vigil_feed_reply_json(c, 200, root);
}

/* ---- Redis reads ---- */

/* Runs one command on a pooled context; NULL (with 503 queued by the
 * caller) when Redis is unreachable or answers an error. */
static redisReply *command(struct vigil_feed *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static redisReply *command(struct vigil_feed *f, const char *fmt, ...)
{
    redisContext *rc = vigil_feed_pool_get(f);
    if (!rc)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(rc, fmt, ap);
    va_end(ap);
    vigil_feed_pool_put(f, rc, r != NULL);
    if (r && r->type == REDIS_REPLY_ERROR) {
        vigil_log_rl(&f->rl, VIGIL_LOG_WARN, "feed: redis: %s", r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* Entries of an XRANGE/XREVRANGE reply rendered by fn into a new array;
 * reverse: in the opposite order. */
static cJSON *entries(const redisReply *r, bool reverse,
                      cJSON *(*fn)(const redisReply *, const void *),
                      const void *ctx)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t k = 0; arr && r->type == REDIS_REPLY_ARRAY && k < r->elements;
         k++) {
        size_t i = reverse ? r->elements - 1 - k : k;
        cJSON *o = fn(r->element[i], ctx);
        if (o && !cJSON_AddItemToArray(arr, o))
            cJSON_Delete(o);
    }
    return arr;
}

static cJSON *sample_fn(const redisReply *e, const void *ctx)
{
    (void)ctx;
    return vigil_feed_json_sample(e);
}

static cJSON *breach_fn(const redisReply *e, const void *ctx)
{
    return vigil_feed_json_breach(e, ctx);
}

static cJSON *finding_fn(const redisReply *e, const void *ctx)
{
    (void)ctx;
    return vigil_feed_json_finding(e);
}

static enum MHD_Result serve_history(struct vigil_feed *f,
                                     struct MHD_Connection *c,
                                     const struct vigil_indicator *ind)
{
    int64_t now = vigil_feed_now(f);
    int64_t from = now - HISTORY_DEFAULT_MS, to = INT64_MAX;
    const char *s_from = arg(c, "from"), *s_to = arg(c, "to");
    unsigned limit;
    if ((s_from && !parse_time(f, s_from, &from)) ||
        (s_to && !parse_time(f, s_to, &to)) || from < 0 || to < from ||
        !parse_limit(c, HISTORY_MAX, HISTORY_MAX, &limit))
        return vigil_feed_reply_error(
            c, 400,
            "from/to: epoch ms, ISO 8601 UTC or -<duration>; limit: 1..10000");
    char end[32] = "+";
    if (to != INT64_MAX)
        snprintf(end, sizeof(end), "%" PRId64, to);
    /* Newest first, so that a truncated answer keeps the recent end. */
    redisReply *r = command(f, "XREVRANGE %shist:%s %s %" PRId64 " COUNT %u",
                            f->prefix, ind->id, end, from, limit);
    if (!r)
        return vigil_feed_reply_error(c, 503, "redis unavailable");
    cJSON *o = cJSON_CreateObject();
    if (o) {
        char buf[40];
        cJSON_AddStringToObject(o, "id", ind->id);
        vigil_feed_json_time(from, buf, sizeof(buf));
        cJSON_AddStringToObject(o, "from", buf);
        if (to != INT64_MAX) {
            vigil_feed_json_time(to, buf, sizeof(buf));
            cJSON_AddStringToObject(o, "to", buf);
        } else {
            cJSON_AddNullToObject(o, "to");
        }
        cJSON_AddBoolToObject(o, "truncated",
                              r->type == REDIS_REPLY_ARRAY &&
                                  r->elements >= limit);
        cJSON_AddItemToObject(o, "samples", entries(r, true, sample_fn, NULL));
    }
    freeReplyObject(r);
    return vigil_feed_reply_json(c, 200, o);
}

/* "open": per indicator, its newest opened/resolved record when that is
 * an opening; plus indicators in breach whose opening is older than the
 * page (id null). */
static cJSON *open_breaches(struct vigil_feed *f, const cJSON *records)
{
    cJSON *open = cJSON_CreateArray();
    bool *seen = calloc(f->set->n + 1, sizeof(*seen));
    struct vigil_feed_item **t = vigil_feed_table_copy(f);
    if (!open || !seen || !t)
        goto out;
    const cJSON *rec;
    cJSON_ArrayForEach(rec, records)
    {
        const char *ind =
            cJSON_GetStringValue(cJSON_GetObjectItem(rec, "indicator"));
        const char *ev =
            cJSON_GetStringValue(cJSON_GetObjectItem(rec, "event"));
        const struct vigil_indicator *def =
            ind ? vigil_indicator_set_find(f->set, ind) : NULL;
        if (!def || !ev ||
            (strcmp(ev, "opened") != 0 && strcmp(ev, "resolved") != 0))
            continue;
        size_t i = (size_t)(def - f->set->v);
        if (seen[i])
            continue;
        seen[i] = true;
        if (strcmp(ev, "opened") == 0)
            cJSON_AddItemToArray(open, cJSON_Duplicate(rec, true));
    }
    for (size_t i = 0; i < f->set->n; i++) {
        if (seen[i] || !t[i] || t[i]->state != VIGIL_STATE_BREACH)
            continue;
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(open, o)) {
            cJSON_Delete(o);
            break;
        }
        cJSON_AddNullToObject(o, "id");
        cJSON_AddStringToObject(o, "indicator", f->set->v[i].id);
        cJSON_AddStringToObject(o, "name", f->set->v[i].name);
        cJSON_AddStringToObject(o, "event", "opened");
        cJSON_AddStringToObject(o, "state", "breach");
        char since[40];
        vigil_feed_json_time(t[i]->since_ms, since, sizeof(since));
        cJSON_AddStringToObject(o, "since", since);
        cJSON_AddStringToObject(o, "severity", f->set->v[i].severity);
    }
out:
    vigil_feed_table_free(f, t);
    free(seen);
    return open;
}

static enum MHD_Result
serve_stream_page(struct vigil_feed *f, struct MHD_Connection *c, bool breaches)
{
    unsigned limit;
    if (!parse_limit(c, PAGE_DEFAULT, PAGE_MAX, &limit))
        return vigil_feed_reply_error(c, 400, "limit: 1..1000");
    const char *since = arg(c, "since");
    const char *key = breaches ? "breaches" : "findings";
    redisReply *r;
    bool newest_first = since == NULL;
    if (since) {
        /* A stream ID continues a page (exclusive); a time starts at it. */
        struct vigil_feed_sid sid;
        int64_t t;
        char start[64];
        if (strchr(since, '-') && since[0] != '-' &&
            vigil_feed_sid_parse(since, strlen(since), &sid)) {
            char id[48];
            vigil_feed_sid_format(sid, id, sizeof(id));
            snprintf(start, sizeof(start), "(%s", id);
        } else if (parse_time(f, since, &t) && t >= 0) {
            snprintf(start, sizeof(start), "%" PRId64, t);
        } else {
            return vigil_feed_reply_error(
                c, 400,
                "since: a stream ID, epoch ms, ISO 8601 or -<duration>");
        }
        r = command(f, "XRANGE %s%s %s + COUNT %u", f->prefix, key, start,
                    limit);
    } else {
        r = command(f, "XREVRANGE %s%s + - COUNT %u", f->prefix, key, limit);
    }
    if (!r)
        return vigil_feed_reply_error(c, 503, "redis unavailable");
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = entries(r, false, breaches ? breach_fn : finding_fn, f->set);
    if (o && arr) {
        cJSON_AddStringToObject(o, "order",
                                newest_first ? "newest first" : "oldest first");
        cJSON_AddItemToObject(o, key, arr);
        arr = NULL;
        if (breaches)
            cJSON_AddItemToObject(
                o, "open",
                open_breaches(f, cJSON_GetObjectItem(o, "breaches")));
    }
    cJSON_Delete(arr);
    freeReplyObject(r);
    return vigil_feed_reply_json(c, 200, o);
}

/* ---- writes through the pager ---- */

static enum MHD_Result pager_result(struct MHD_Connection *c, int rc,
                                    const char *err, cJSON *ok)
{
    if (rc == 0)
        return vigil_feed_reply_json(c, 200, ok);
    cJSON_Delete(ok);
    if (rc == -1)
        return vigil_feed_reply_error(
            c, strncmp(err, "not found", 9) == 0 ? 404 : 400,
            err[0] ? err : "refused");
    return vigil_feed_reply_error(c, 503, err[0] ? err : "unavailable");
}

static enum MHD_Result serve_ack(struct vigil_feed *f, struct MHD_Connection *c,
                                 const struct vigil_feed_route *r,
                                 const char *body, size_t len)
{
    if (!f->cfg.pager.ack)
        return vigil_feed_reply_error(c, 501, "acks are not available");
    struct vigil_feed_ack_req rq;
    if (vigil_feed_ack_parse(body, len, &rq) < 0)
        return vigil_feed_reply_error(
            c, 400, "body: {\"author\": string, \"comment\": string}");
    char id[VIGIL_FEED_MAX_ID + 1], err[256] = "";
    route_id(r, id, sizeof(id));
    int rc = f->cfg.pager.ack(f->cfg.pager.ctx, id, rq.author, rq.comment, err,
                              sizeof(err));
    cJSON *ok = cJSON_CreateObject();
    if (ok) {
        cJSON_AddStringToObject(ok, "acked", id);
        cJSON_AddStringToObject(ok, "author", rq.author);
    }
    vigil_feed_ack_req_fini(&rq);
    return pager_result(c, rc, err, ok);
}

static void on_silence(void *ectx, const struct vigil_feed_silence *s)
{
    cJSON *arr = ectx;
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        return;
    }
    char buf[40];
    cJSON_AddStringToObject(o, "id", s->id ? s->id : "");
    cJSON *m = cJSON_AddObjectToObject(o, "matcher");
    for (size_t i = 0; m && s->matcher && i < s->matcher->n; i++)
        cJSON_AddStringToObject(m, s->matcher->v[i].key,
                                s->matcher->v[i].value);
    vigil_feed_json_time(s->until_ms, buf, sizeof(buf));
    cJSON_AddStringToObject(o, "until", buf);
    if (s->created_ms) {
        vigil_feed_json_time(s->created_ms, buf, sizeof(buf));
        cJSON_AddStringToObject(o, "created", buf);
    } else {
        cJSON_AddNullToObject(o, "created");
    }
    cJSON_AddStringToObject(o, "author", s->author ? s->author : "");
    cJSON_AddStringToObject(o, "reason", s->reason ? s->reason : "");
}

static enum MHD_Result serve_silences(struct vigil_feed *f,
                                      struct MHD_Connection *c)
{
    if (!f->cfg.pager.silence_list)
        return vigil_feed_reply_error(c, 501, "silences are not available");
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = o ? cJSON_AddArrayToObject(o, "silences") : NULL;
    if (!arr) {
        cJSON_Delete(o);
        return vigil_feed_reply_error(c, 500, "out of memory");
    }
    char err[256] = "";
    int rc = f->cfg.pager.silence_list(f->cfg.pager.ctx, on_silence, arr, err,
                                       sizeof(err));
    return pager_result(c, rc, err, o);
}

static enum MHD_Result serve_silence_add(struct vigil_feed *f,
                                         struct MHD_Connection *c,
                                         const char *body, size_t len)
{
    if (!f->cfg.pager.silence_add)
        return vigil_feed_reply_error(c, 501, "silences are not available");
    struct vigil_feed_silence_req rq;
    const char *why;
    int64_t now = vigil_feed_now(f);
    if (vigil_feed_silence_parse(body, len, now, &rq, &why) < 0)
        return vigil_feed_reply_error(c, 400, why);
    int64_t until = rq.until_ms;
    struct vigil_feed_silence s = {
        .matcher = &rq.matcher,
        .until_ms = until,
        .created_ms = now,
        .author = rq.author,
        .reason = rq.reason,
    };
    char id[VIGIL_FEED_MAX_ID + 1] = "", err[256] = "";
    int rc = f->cfg.pager.silence_add(f->cfg.pager.ctx, &s, id, sizeof(id), err,
                                      sizeof(err));
    cJSON *out = cJSON_CreateObject();
    if (out) {
        s.id = id;
        cJSON_AddStringToObject(out, "id", id);
        char buf[40];
        vigil_feed_json_time(until, buf, sizeof(buf));
        cJSON_AddStringToObject(out, "until", buf);
    }
    vigil_feed_silence_req_fini(&rq);
    return pager_result(c, rc, err, out);
}

static enum MHD_Result serve_silence_del(struct vigil_feed *f,
                                         struct MHD_Connection *c,
                                         const struct vigil_feed_route *r)
{
    if (!f->cfg.pager.silence_expire)
        return vigil_feed_reply_error(c, 501, "silences are not available");
    char id[VIGIL_FEED_MAX_ID + 1], err[256] = "";
    route_id(r, id, sizeof(id));
    int rc = f->cfg.pager.silence_expire(f->cfg.pager.ctx, id, "api", err,
                                         sizeof(err));
    cJSON *ok = cJSON_CreateObject();
    if (ok)
        cJSON_AddStringToObject(ok, "expired", id);
    return pager_result(c, rc, err, ok);
}

enum MHD_Result vigil_feed_api(struct vigil_feed *f, struct MHD_Connection *c,
                               const struct vigil_feed_route *r,
                               const char *body, size_t body_len)
{
    const struct vigil_indicator *ind = NULL;
    if (r->endpoint == VIGIL_FEED_INDICATOR ||
        r->endpoint == VIGIL_FEED_HISTORY) {
        char id[VIGIL_FEED_MAX_ID + 1];
        route_id(r, id, sizeof(id));
        ind = vigil_indicator_set_find(f->set, id);
        if (!ind)
            return vigil_feed_reply_error(c, 404, "no such indicator");
    }
    switch (r->endpoint) {
    case VIGIL_FEED_INDICATORS:
    case VIGIL_FEED_INDICATOR:
        return serve_indicators(f, c, ind);
    case VIGIL_FEED_HISTORY:
        return serve_history(f, c, ind);
    case VIGIL_FEED_BREACHES:
        return serve_stream_page(f, c, true);
    case VIGIL_FEED_FINDINGS:
        return serve_stream_page(f, c, false);
    case VIGIL_FEED_ACK:
        return serve_ack(f, c, r, body, body_len);
    case VIGIL_FEED_SILENCES:
        return serve_silences(f, c);
    case VIGIL_FEED_SILENCE_ADD:
        return serve_silence_add(f, c, body, body_len);
    case VIGIL_FEED_SILENCE_DEL:
        return serve_silence_del(f, c, r);
    default:
        return vigil_feed_reply_error(c, 404, "not found");
    }
}
