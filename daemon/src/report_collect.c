/*
 * report_collect: reads a period's records from Redis and analyses them
 * into a struct vigil_report (report.h). Streams are read with XRANGE in
 * chunks, so a month of 15 s evaluations never sits in memory at once:
 * every sample goes through an accumulator (time per state, value stats,
 * chart buckets, the state timeline) and is dropped.
 */
#include <cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"
#include "report.h"
#include "report_calendar.h"
#include "report_digest.h"
#include "yaml_doc.h"

#define CHUNK 5000
/* How far before the period the breach records are read, to find the
 * opening of a breach that is still open (or resolves) in the period. */
#define LOOKBACK_MS (35 * VIGIL_DAY_MS)
#define MAX_PENDING 100000

/* ---- the accumulator ---- */

void vigil_report_acc_init(struct vigil_report_acc *a, int64_t from_ms,
                           int64_t end_ms, uint64_t cover_ms,
                           struct vigil_report_stats *st)
{
    memset(a, 0, sizeof(*a));
    memset(st, 0, sizeof(*st));
    a->from_ms = from_ms;
    a->end_ms = end_ms > from_ms ? end_ms : from_ms;
    a->cover_ms = cover_ms;
    a->cursor_ms = from_ms;
    a->last_ms = INT64_MIN;
    a->state = VIGIL_REPORT_UNKNOWN;
    a->st = st;
    st->span_ms = (uint64_t)(a->end_ms - from_ms);
}

static void add_segment(struct vigil_report_acc *a, int state, int64_t from,
                        int64_t to)
{
    if (!a->segments || a->oom)
        return;
    struct vigil_report_segment *v = *a->segments;
    size_t n = *a->n_segments;
    if (n > 0 && v[n - 1].state == state && v[n - 1].to_ms == from) {
        v[n - 1].to_ms = to;
        return;
    }
    if (n == a->cap_segments) {
        size_t cap = a->cap_segments ? a->cap_segments * 2 : 16;
        v = realloc(v, cap * sizeof(*v));
        if (!v) {
            a->oom = true;
            return;
        }
        *a->segments = v;
        a->cap_segments = cap;
    }
    v[n] = (struct vigil_report_segment){from, to, state};
    *a->n_segments = n + 1;
}

static void add_time(struct vigil_report_acc *a, int state, int64_t from,
                     int64_t to)
{
    if (to <= from)
        return;
    if (state == VIGIL_REPORT_UNKNOWN)
        a->st->unknown_ms += (uint64_t)(to - from);
    else
        a->st->state_ms[state] += (uint64_t)(to - from);
    add_segment(a, state, from, to);
}

/* Accounts [cursor, upto): the current state while its sample covers it,
 * then not evaluated. */
static void account(struct vigil_report_acc *a, int64_t upto)
{
    if (upto <= a->cursor_ms)
        return;
    int64_t covered = a->cursor_ms;
    if (a->state != VIGIL_REPORT_UNKNOWN) {
        int64_t reach = a->last_ms + (int64_t)a->cover_ms;
        covered = reach < upto ? reach : upto;
        if (covered < a->cursor_ms)
            covered = a->cursor_ms;
        add_time(a, a->state, a->cursor_ms, covered);
    }
    add_time(a, VIGIL_REPORT_UNKNOWN, covered, upto);
    a->cursor_ms = upto;
}

void vigil_report_acc_add(struct vigil_report_acc *a, int64_t at_ms, int state,
                          bool has_value, double value)
{
    if (at_ms >= a->end_ms)
        return;
    if (at_ms < a->from_ms) {
        a->state = state;
        a->last_ms = at_ms;
        return;
    }
    account(a, at_ms);
    a->state = state;
    a->last_ms = at_ms;
    struct vigil_report_stats *st = a->st;
    st->samples++;
    st->has_last = has_value;
    st->last_at_ms = at_ms;
    if (!has_value)
        return;
    st->last = value;
    if (st->valued == 0 || value < st->min)
        st->min = value;
    if (st->valued == 0 || value > st->max)
        st->max = value;
    st->valued++;
    a->sum += value;
    if (a->points && a->n_points > 0) {
        size_t i = (size_t)((double)(at_ms - a->from_ms) * (double)a->n_points /
                            (double)(a->end_ms - a->from_ms));
        if (i >= a->n_points)
            i = a->n_points - 1;
        struct vigil_report_point *p = &a->points[i];
        if (!p->has || value < p->min)
            p->min = value;
        if (!p->has || value > p->max)
            p->max = value;
        p->mean = (p->mean * (double)a->point_counts[i] + value) /
                  (double)(a->point_counts[i] + 1);
        a->point_counts[i]++;
        p->has = true;
    }
}

int vigil_report_acc_finish(struct vigil_report_acc *a)
{
    account(a, a->end_ms);
    if (a->st->valued)
        a->st->mean = a->sum / (double)a->st->valued;
    return a->oom ? -1 : 0;
}

/* ---- helpers ---- */

struct ctx {
    redisContext *c;
    char prefix[160];
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 2, 3))) static void fail(struct ctx *x,
                                                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->err, x->errlen, fmt, ap);
    va_end(ap);
}

static redisReply *command(struct ctx *x, int argc, const char **argv)
{
    redisReply *r = redisCommandArgv(x->c, argc, argv, NULL);
    if (!r) {
        fail(x, "redis: %s", x->c->errstr[0] ? x->c->errstr : "no reply");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        fail(x, "redis: %s: %s", argv[0], r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

static int64_t id_ms(const char *s)
{
    int64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        v = v * 10 + (*s - '0');
    return v;
}

/* The value of field name in a stream entry's flat field list. */
static const redisReply *field(const redisReply *kv, const char *name)
{
    if (!kv || kv->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < kv->elements; i += 2) {
        const redisReply *k = kv->element[i], *v = kv->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
            k->len == strlen(name) && memcmp(k->str, name, k->len) == 0)
            return v;
    }
    return NULL;
}

static bool field_is(const redisReply *kv, const char *name, const char *want)
{
    const redisReply *v = field(kv, name);
    return v && v->len == strlen(want) && memcmp(v->str, want, v->len) == 0;
}

static int64_t field_time(const redisReply *kv, const char *name)
{
    const redisReply *v = field(kv, name);
    int64_t t;
    return v && vigil_num_i64(v->str, v->len, &t) ? t : VIGIL_ISTATE_NEVER;
}

static char *field_dup(const redisReply *kv, const char *name)
{
    const redisReply *v = field(kv, name);
    return v ? strndup(v->str, v->len) : NULL;
}

typedef int (*entry_fn)(void *ctx, const char *id, const redisReply *kv);

/* XRANGE key over [start, end] (ids) in chunks, fn per entry. */
static int scan_stream(struct ctx *x, const char *key, const char *start,
                       const char *end, entry_fn fn, void *fctx)
{
    char from[64];
    snprintf(from, sizeof(from), "%s", start);
    for (;;) {
        const char *argv[] = {"XRANGE", key, from, end, "COUNT", "5000"};
        redisReply *r = command(x, 6, argv);
        if (!r)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            fail(x, "redis: XRANGE %s: not an array", key);
            return -1;
        }
        const char *last = NULL;
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *e = r->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
                e->element[0]->type != REDIS_REPLY_STRING)
                continue;
            last = e->element[0]->str;
            if (fn(fctx, last, e->element[1]) < 0) {
                freeReplyObject(r);
                return -1;
            }
        }
        size_t n = r->elements;
        if (last)
            snprintf(from, sizeof(from), "(%s", last);
        freeReplyObject(r);
        if (n < CHUNK || !last)
            return 0;
    }
}

/* ---- breaches ---- */

struct ack {
    char *indicator;
    int64_t episode_ms;
    char *by;
    int64_t at_ms;
    char *comment;
};

struct failure {
    char *dedup;
};

struct breach_scan {
    struct vigil_report *r;
    int64_t end_ms;
    struct vigil_report_breach *open; /* one per indicator at most */
    size_t n_open, cap_open;
    struct vigil_report_breach *done;
    size_t n_done, cap_done;
    struct ack *acks;
    size_t n_acks, cap_acks;
    struct failure *fails;
    size_t n_fails, cap_fails;
};

static void *grow(void *v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return v;
    size_t c = *cap ? *cap * 2 : 8;
    void *p = realloc(v, c * size);
    if (p)
        *cap = c;
    return p;
}

static void breach_free(struct vigil_report_breach *b)
{
    free(b->indicator);
    free(b->acked_by);
    free(b->ack_comment);
}

static int push_done(struct breach_scan *s, const struct vigil_report_breach *b)
{
    void *p = grow(s->done, &s->cap_done, s->n_done, sizeof(*s->done));
    if (!p)
        return -1;
    s->done = p;
    s->done[s->n_done++] = *b;
    return 0;
}

static int on_breach_entry(void *ctx, const char *id, const redisReply *kv)
{
    struct breach_scan *s = ctx;
    (void)id;
    const redisReply *ind = field(kv, "indicator");
    if (!ind)
        return 0;
    if (field_is(kv, "event", "opened")) {
        int64_t since = field_time(kv, "since");
        if (since == VIGIL_ISTATE_NEVER || since >= s->end_ms)
            return 0;
        for (size_t i = 0; i < s->n_open; i++)
            if (strcmp(s->open[i].indicator, ind->str) == 0)
                return 0; /* already open: keep the first opening */
        void *p = grow(s->open, &s->cap_open, s->n_open, sizeof(*s->open));
        if (!p)
            return -1;
        s->open = p;
        struct vigil_report_breach *b = &s->open[s->n_open];
        memset(b, 0, sizeof(*b));
        b->indicator = strndup(ind->str, ind->len);
        if (!b->indicator)
            return -1;
        b->opened_ms = since;
        b->resolved_ms = VIGIL_ISTATE_NEVER;
        b->episode_ms = field_time(kv, "episode");
        double v;
        const redisReply *val = field(kv, "value");
        if (val && vigil_num_double(val->str, val->len, &v)) {
            b->has_peak = true;
            b->peak = v;
        }
        s->n_open++;
    } else if (field_is(kv, "event", "resolved")) {
        int64_t since = field_time(kv, "since");
        if (since == VIGIL_ISTATE_NEVER || since >= s->end_ms)
            return 0;
        struct vigil_report_breach b;
        size_t i = 0;
        while (i < s->n_open && strcmp(s->open[i].indicator, ind->str) != 0)
            i++;
        if (i < s->n_open) {
            b = s->open[i];
            s->open[i] = s->open[--s->n_open];
        } else {
            memset(&b, 0, sizeof(b));
            b.indicator = strndup(ind->str, ind->len);
            if (!b.indicator)
                return -1;
            b.opened_ms = field_time(kv, "previous_since");
            if (b.opened_ms == VIGIL_ISTATE_NEVER)
                b.opened_ms = VIGIL_REPORT_OPENED_UNKNOWN;
            b.episode_ms = field_time(kv, "episode");
        }
        b.resolved_ms = since;
        if (since < s->r->from_ms) {
            breach_free(&b);
            return 0;
        }
        if (push_done(s, &b) < 0) {
            breach_free(&b);
            return -1;
        }
    } else if (field_is(kv, "event", "acked")) {
        void *p = grow(s->acks, &s->cap_acks, s->n_acks, sizeof(*s->acks));
        if (!p)
            return -1;
        s->acks = p;
        struct ack *a = &s->acks[s->n_acks];
        a->indicator = strndup(ind->str, ind->len);
        a->episode_ms = field_time(kv, "episode");
        a->by = field_dup(kv, "by");
        a->at_ms = field_time(kv, "at");
        a->comment = field_dup(kv, "comment");
        s->n_acks++;
    } else if (field_is(kv, "event", "notification_failed")) {
        void *p = grow(s->fails, &s->cap_fails, s->n_fails, sizeof(*s->fails));
        if (!p)
            return -1;
        s->fails = p;
        s->fails[s->n_fails].dedup = field_dup(kv, "dedup");
        s->n_fails++;
    }
    return 0;
}

static int cmp_breach(const void *a, const void *b)
{
    const struct vigil_report_breach *x = a, *y = b;
    if (x->opened_ms != y->opened_ms)
        return x->opened_ms < y->opened_ms ? -1 : 1;
    return strcmp(x->indicator, y->indicator);
}

static void breach_scan_fini(struct breach_scan *s)
{
    for (size_t i = 0; i < s->n_open; i++)
        breach_free(&s->open[i]);
    free(s->open);
    for (size_t i = 0; i < s->n_done; i++)
        breach_free(&s->done[i]);
    free(s->done);
    for (size_t i = 0; i < s->n_acks; i++) {
        free(s->acks[i].indicator);
        free(s->acks[i].by);
        free(s->acks[i].comment);
    }
    free(s->acks);
    for (size_t i = 0; i < s->n_fails; i++)
        free(s->fails[i].dedup);
    free(s->fails);
}

static int read_breaches(struct ctx *x, struct vigil_report *r, int64_t end_ms,
                         struct breach_scan *s)
{
    char key[200], start[32], end[32];
    snprintf(key, sizeof(key), "%sbreaches", x->prefix);
    int64_t from = r->from_ms - LOOKBACK_MS;
    snprintf(start, sizeof(start), "%" PRId64, from > 0 ? from : 0);
    snprintf(end, sizeof(end), "%" PRId64, end_ms - 1);
    s->r = r;
    s->end_ms = end_ms;
    if (scan_stream(x, key, start, end, on_breach_entry, s) < 0)
        return -1;
    /* Still open at the end of the period. */
    for (size_t i = 0; i < s->n_open; i++) {
        if (push_done(s, &s->open[i]) < 0)
            return -1;
        memset(&s->open[i], 0, sizeof(s->open[i])); /* moved */
    }
    s->n_open = 0;
    if (s->n_done > 1)
        qsort(s->done, s->n_done, sizeof(*s->done), cmp_breach);
    for (size_t i = 0; i < s->n_done; i++) {
        struct vigil_report_breach *b = &s->done[i];
        int64_t start_ms = b->opened_ms == VIGIL_REPORT_OPENED_UNKNOWN
                               ? r->from_ms
                               : b->opened_ms;
        int64_t stop =
            b->resolved_ms == VIGIL_ISTATE_NEVER ? end_ms : b->resolved_ms;
        b->duration_ms = stop > start_ms ? stop - start_ms : 0;
        for (size_t k = 0; k < s->n_acks && b->episode_ms != VIGIL_ISTATE_NEVER;
             k++) {
            const struct ack *a = &s->acks[k];
            if (a->indicator && a->episode_ms == b->episode_ms &&
                strcmp(a->indicator, b->indicator) == 0) {
                b->acked_by = a->by ? strdup(a->by) : strdup("");
                b->acked_at_ms = a->at_ms;
                b->ack_comment = a->comment ? strdup(a->comment) : NULL;
                break;
            }
        }
        if (b->episode_ms != VIGIL_ISTATE_NEVER) {
            char dedup[200];
            snprintf(dedup, sizeof(dedup), "%s:%" PRId64, b->indicator,
                     b->episode_ms);
            for (size_t k = 0; k < s->n_fails; k++)
                if (s->fails[k].dedup && strcmp(s->fails[k].dedup, dedup) == 0)
                    b->failed++;
        }
    }
    r->breaches = s->done;
    r->n_breaches = s->n_done;
    s->done = NULL;
    s->n_done = 0;
    return 0;
}

/* ---- notifications (outbox) ---- */

struct outbox_scan {
    struct vigil_report *r;
    char **pending; /* sorted ids */
    size_t n_pending;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int on_outbox_entry(void *ctx, const char *id, const redisReply *kv)
{
    struct outbox_scan *s = ctx;
    const redisReply *dedup = field(kv, "dedup");
    if (!dedup)
        return 0;
    const char *colon = memchr(dedup->str, ':', dedup->len);
    int64_t ep;
    if (!colon)
        return 0;
    const char *last = colon;
    while ((colon = memchr(last + 1, ':',
                           dedup->len - (size_t)(last + 1 - dedup->str))))
        last = colon;
    if (!vigil_num_i64(last + 1, dedup->len - (size_t)(last + 1 - dedup->str),
                       &ep))
        return 0;
    size_t idlen = (size_t)(last - dedup->str);
    bool pending = s->n_pending > 0 && bsearch(&id, s->pending, s->n_pending,
                                               sizeof(char *), cmp_str) != NULL;
    const redisReply *rep = field(kv, "repeat");
    bool repeat = rep && !(rep->len == 1 && rep->str[0] == '0');
    for (size_t i = 0; i < s->r->n_breaches; i++) {
        struct vigil_report_breach *b = &s->r->breaches[i];
        if (b->episode_ms != ep || strlen(b->indicator) != idlen ||
            memcmp(b->indicator, dedup->str, idlen) != 0)
            continue;
        b->notifications++;
        b->repeats += repeat;
        b->pending += pending;
    }
    return 0;
}

static int read_notifications(struct ctx *x, struct vigil_report *r,
                              int64_t end_ms)
{
    int64_t first = INT64_MAX;
    for (size_t i = 0; i < r->n_breaches; i++)
        if (r->breaches[i].episode_ms != VIGIL_ISTATE_NEVER &&
            r->breaches[i].episode_ms < first)
            first = r->breaches[i].episode_ms;
    if (first == INT64_MAX)
        return 0;
    char key[200], start[32], end[32];
    snprintf(key, sizeof(key), "%soutbox", x->prefix);
    struct outbox_scan s = {.r = r};
    const char *pargv[] = {"XPENDING", key, "notifiers", "-", "+", "100000"};
    redisReply *p = redisCommandArgv(x->c, 6, pargv, NULL);
    if (!p) {
        fail(x, "redis: %s", x->c->errstr);
        return -1;
    }
    int rc = -1;
    if (p->type == REDIS_REPLY_ERROR) {
        r->notifications_unknown = true; /* no pager has read the outbox */
    } else if (p->type == REDIS_REPLY_ARRAY) {
        s.pending = calloc(p->elements + 1, sizeof(*s.pending));
        if (!s.pending) {
            fail(x, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < p->elements; i++) {
            const redisReply *e = p->element[i];
            if (e->type == REDIS_REPLY_ARRAY && e->elements >= 1 &&
                e->element[0]->type == REDIS_REPLY_STRING)
                s.pending[s.n_pending++] = e->element[0]->str;
        }
        qsort(s.pending, s.n_pending, sizeof(*s.pending), cmp_str);
    }
    snprintf(start, sizeof(start), "%" PRId64, first);
    snprintf(end, sizeof(end), "%" PRId64, end_ms - 1);
    rc = scan_stream(x, key, start, end, on_outbox_entry, &s);
    if (r->notifications_unknown)
        for (size_t i = 0; i < r->n_breaches; i++)
            r->breaches[i].pending = r->breaches[i].notifications;
out:
    free(s.pending);
    freeReplyObject(p);
    return rc;
}

/* ---- history ---- */

/* Whether lower values are better for this target (or -1: neither). */
static int lower_is_better(const struct vigil_indicator *ind)
{
    switch (ind->target.op) {
    case VIGIL_THRESHOLD_LT:
    case VIGIL_THRESHOLD_LE:
        return 1;
    case VIGIL_THRESHOLD_GT:
    case VIGIL_THRESHOLD_GE:
        return 0;
    default:
        return -1;
    }
}

/* Whether a is worse than b against ind's target. */
static bool worse(const struct vigil_indicator *ind, double a, double b)
{
    switch (lower_is_better(ind)) {
    case 1:
        return a > b;
    case 0:
        return a < b;
    default:
        if (ind->target.op == VIGIL_THRESHOLD_EQ)
            return fabs(a - ind->target.value) > fabs(b - ind->target.value);
        return a > b;
    }
}

struct hist_scan {
    struct vigil_report *r;
    struct vigil_report_indicator *ri;
    struct vigil_report_acc cur, prev;
};

static int on_hist_entry(void *ctx, const char *id, const redisReply *kv)
{
    struct hist_scan *s = ctx;
    int64_t t = id_ms(id);
    const redisReply *sv = field(kv, "state"), *vv = field(kv, "value");
    enum vigil_state st;
    if (!sv || vigil_state_parse(sv->str, sv->len, &st) < 0)
        return 0;
    double v = 0;
    bool has = vv && vigil_num_double(vv->str, vv->len, &v);
    vigil_report_acc_add(&s->cur, t, (int)st, has, v);
    vigil_report_acc_add(&s->prev, t, (int)st, has, v);
    if (!has)
        return 0;
    const struct vigil_indicator *ind = s->ri->ind;
    for (size_t i = 0; i < s->r->n_breaches; i++) {
        struct vigil_report_breach *b = &s->r->breaches[i];
        if (b->ri != s->ri)
            continue;
        int64_t start = b->opened_ms == VIGIL_REPORT_OPENED_UNKNOWN
                            ? INT64_MIN
                            : b->opened_ms;
        int64_t stop =
            b->resolved_ms == VIGIL_ISTATE_NEVER ? INT64_MAX : b->resolved_ms;
        if (t < start || t >= stop || st != VIGIL_STATE_BREACH)
            continue;
        if (!b->has_peak || worse(ind, v, b->peak)) {
            b->peak = v;
            b->has_peak = true;
        }
    }
    return 0;
}

static void analyse_trend(struct vigil_report_indicator *ri)
{
    const struct vigil_indicator *ind = ri->ind;
    ri->trend = VIGIL_TREND_UNKNOWN;
    ri->target_met =
        ri->cur.valued ? vigil_threshold_holds(&ind->target, ri->cur.mean) : -1;
    if (!ri->cur.valued || !ri->prev.valued)
        return;
    double a = ri->cur.mean, b = ri->prev.mean;
    ri->delta = a - b;
    double scale = fmax(fabs(a), fabs(b));
    if (fabs(a - b) <= 0.01 * scale || scale == 0) {
        ri->trend = VIGIL_TREND_STABLE;
        return;
    }
    if (lower_is_better(ind) < 0 && ind->target.op != VIGIL_THRESHOLD_EQ) {
        ri->trend = VIGIL_TREND_CHANGED;
        return;
    }
    ri->trend = worse(ind, a, b) ? VIGIL_TREND_WORSE : VIGIL_TREND_BETTER;
}

static int read_history(struct ctx *x, struct vigil_report *r,
                        struct vigil_report_indicator *ri, int64_t end_ms)
{
    const struct vigil_indicator *ind = ri->ind;
    uint64_t cover = 3 * ind->frequency_ms;
    int64_t len = r->to_ms - r->from_ms;
    struct hist_scan s = {.r = r, .ri = ri};
    vigil_report_acc_init(&s.cur, r->from_ms, end_ms, cover, &ri->cur);
    size_t counts[VIGIL_REPORT_CHART_POINTS] = {0};
    s.cur.points = ri->points;
    s.cur.n_points = VIGIL_REPORT_CHART_POINTS;
    s.cur.point_counts = counts;
    s.cur.segments = &ri->segments;
    s.cur.n_segments = &ri->n_segments;
    int64_t step = (end_ms - r->from_ms) / VIGIL_REPORT_CHART_POINTS;
    for (size_t i = 0; i < VIGIL_REPORT_CHART_POINTS; i++)
        ri->points[i].at_ms = r->from_ms + (int64_t)i * step;
    vigil_report_acc_init(&s.prev, r->from_ms - len, r->from_ms, cover,
                          &ri->prev);
    char key[400], start[32], end[32];
    snprintf(key, sizeof(key), "%shist:%s", x->prefix, ind->id);
    int64_t from = r->from_ms - len - (int64_t)cover;
    snprintf(start, sizeof(start), "%" PRId64, from > 0 ? from : 0);
    snprintf(end, sizeof(end), "%" PRId64, end_ms - 1);
    if (scan_stream(x, key, start, end, on_hist_entry, &s) < 0)
        return -1;
    if (vigil_report_acc_finish(&s.cur) < 0 ||
        vigil_report_acc_finish(&s.prev) < 0) {
        fail(x, "out of memory");
        return -1;
    }
    ri->end_state = s.cur.state != VIGIL_REPORT_UNKNOWN &&
                            s.cur.last_ms + (int64_t)cover >= end_ms
                        ? s.cur.state
                        : VIGIL_REPORT_UNKNOWN;
    ri->expected_samples = (size_t)(ri->cur.span_ms / ind->frequency_ms);
    ri->too_few_samples = ri->cur.samples * 2 < ri->expected_samples;
    analyse_trend(ri);
    return 0;
}

/* ---- definitions and the previous report ---- */

static int hash_files(struct vigil_report *r, struct ctx *x)
{
    const struct vigil_config *cfg = r->cfg;
    r->files = calloc(cfg->n_indicator_files + 1, sizeof(*r->files));
    if (!r->files) {
        fail(x, "out of memory");
        return -1;
    }
    struct vigil_sha256 all;
    vigil_sha256_init(&all);
    size_t blen = strlen(cfg->base_dir);
    for (size_t i = 0; i < cfg->n_indicator_files; i++) {
        const char *path = cfg->indicator_files[i];
        struct vigil_report_file *f = &r->files[r->n_files++];
        const char *name = path;
        if (strncmp(path, cfg->base_dir, blen) == 0 && path[blen] == '/')
            name = path + blen + 1;
        f->name = strdup(name);
        if (!f->name) {
            fail(x, "out of memory");
            return -1;
        }
        f->readable = vigil_sha256_file(path, f->sha256) == 0;
        if (!f->readable)
            snprintf(f->sha256, sizeof(f->sha256), "%s", "unreadable");
        vigil_sha256_update(&all, f->sha256, strlen(f->sha256));
        vigil_sha256_update(&all, "  ", 2);
        vigil_sha256_update(&all, f->name, strlen(f->name));
        vigil_sha256_update(&all, "\n", 1);
    }
    vigil_sha256_final_hex(&all, r->definitions_sha256);
    return 0;
}

static int read_previous(struct ctx *x, struct vigil_report *r)
{
    char key[200];
    snprintf(key, sizeof(key), "%sreports", x->prefix);
    const char *argv[] = {"HGETALL", key};
    redisReply *rep = command(x, 2, argv);
    if (!rep)
        return -1;
    r->definitions_changed = -1;
    int64_t best = INT64_MIN;
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements;
         i += 2) {
        const redisReply *k = rep->element[i], *v = rep->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            strcmp(k->str, r->id) == 0)
            continue;
        cJSON *o = cJSON_ParseWithLength(v->str, v->len);
        const cJSON *to = cJSON_GetObjectItemCaseSensitive(o, "to_ms");
        const cJSON *defs = cJSON_GetObjectItemCaseSensitive(o, "definitions");
        if (cJSON_IsNumber(to) && cJSON_IsString(defs) &&
            to->valuedouble <= (double)r->from_ms && to->valuedouble > best) {
            best = (int64_t)to->valuedouble;
            free(r->previous_id);
            r->previous_id = strdup(k->str);
            r->definitions_changed =
                strcmp(defs->valuestring, r->definitions_sha256) != 0;
        }
        cJSON_Delete(o);
    }
    freeReplyObject(rep);
    return 0;
}

/* ---- summary ---- */

static int add_decision(struct vigil_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int add_decision(struct vigil_report *r, const char *fmt, ...)
{
    char **v = realloc(r->decisions, (r->n_decisions + 2) * sizeof(*v));
    if (!v)
        return -1;
    r->decisions = v;
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    v[r->n_decisions++] = s;
    v[r->n_decisions] = NULL;
    return 0;
}

static int summarise(struct vigil_report *r)
{
    int rc = 0;
    for (size_t i = 0; i < r->n_inds; i++) {
        int s = r->inds[i].end_state;
        r->by_state[s == VIGIL_REPORT_UNKNOWN ? VIGIL_STATE_COUNT
                                              : (size_t)s]++;
    }
    for (size_t i = 0; i < r->n_breaches; i++) {
        const struct vigil_report_breach *b = &r->breaches[i];
        bool open = b->resolved_ms == VIGIL_ISTATE_NEVER;
        r->open_at_end += open;
        r->unacked += !b->acked_by;
        if (!open)
            continue;
        char t[40];
        if (b->opened_ms == VIGIL_REPORT_OPENED_UNKNOWN)
            snprintf(t, sizeof(t), "before the period");
        else
            vigil_report_format_time(b->opened_ms, t, sizeof(t));
        const struct vigil_indicator *ind = b->ri ? b->ri->ind : NULL;
        const char *rec = ind ? ind->recommendation : "";
        int rlen = (int)strlen(rec);
        while (rlen > 0 && rec[rlen - 1] == '.')
            rlen--;
        rc |= add_decision(
            r,
            "%s%s%s is in breach since %s%s: decide on the corrective "
            "action%s%.*s.",
            b->indicator, ind ? " " : "", ind ? ind->name : "", t,
            b->acked_by ? "" : " and nobody has acknowledged it",
            rlen ? "; recommended: " : "", rlen, rec);
    }
    for (size_t i = 0; i < r->n_inds; i++) {
        const struct vigil_report_indicator *ri = &r->inds[i];
        const struct vigil_indicator *ind = ri->ind;
        if (ri->n_breaches >= 2)
            rc |= add_decision(r,
                               "%s %s: %zu non-conformances in the period: "
                               "review whether the control for %s is "
                               "adequate.",
                               ind->id, ind->name, ri->n_breaches, ind->entity);
        if (ri->target_met == 0 && ri->n_breaches == 0) {
            char v[32];
            vigil_report_format_value(true, ri->cur.mean, v, sizeof(v));
            rc |= add_decision(r,
                               "%s %s: the period's mean %s misses the target "
                               "%s without a breach: confirm the target or "
                               "plan an improvement.",
                               ind->id, ind->name, v, ind->target_text);
        }
        if (ri->cur.valued == 0 || ri->too_few_samples)
            rc |= add_decision(r,
                               "%s %s: %s (%zu evaluations, about %zu "
                               "expected): check the data source (%s) and "
                               "the daemon.",
                               ind->id, ind->name,
                               ri->cur.valued == 0 ? "no data in the period"
                                                   : "too few evaluations",
                               ri->cur.samples, ri->expected_samples,
                               ind->data_source);
    }
    if (r->definitions_changed == 1)
        rc |= add_decision(r,
                           "The indicator definitions changed since report "
                           "%s: approve the change.",
                           r->previous_id);
    return rc;
}

/* ---- the report ---- */

struct vigil_report *vigil_report_collect(redisContext *c,
                                          const struct vigil_report_params *p,
                                          char *err, size_t errlen)
{
    struct ctx x = {.c = c, .err = err, .errlen = errlen};
    err[0] = '\0';
    if (p->to_ms <= p->from_ms) {
        fail(&x, "the period is empty: --to must be after --from");
        return NULL;
    }
    snprintf(x.prefix, sizeof(x.prefix), "vigil:{%s}:", p->cfg->redis.ns);
    struct vigil_report *r = calloc(1, sizeof(*r));
    if (!r) {
        fail(&x, "out of memory");
        return NULL;
    }
    r->cfg = p->cfg;
    r->set = p->set;
    r->from_ms = p->from_ms;
    r->to_ms = p->to_ms;
    r->generated_ms = p->now_ms;
    const struct vigil_config_reports *rc = &p->cfg->reports;
    r->due_day = vigil_report_due_day(p->to_ms, rc->due_working_days,
                                      rc->holidays, rc->n_holidays);
    if (p->id) {
        snprintf(r->id, sizeof(r->id), "%s", p->id);
    } else {
        char a[16], b[16];
        vigil_report_format_day(vigil_report_day_of(p->from_ms), a, sizeof(a));
        vigil_report_format_day(vigil_report_day_of(p->to_ms - 1), b,
                                sizeof(b));
        snprintf(r->id, sizeof(r->id), "MR-%s-%.10s-%.10s", p->cfg->redis.ns, a,
                 b);
    }
    int64_t end_ms = p->to_ms < p->now_ms ? p->to_ms : p->now_ms;
    if (end_ms <= p->from_ms)
        end_ms = p->from_ms + 1;
    r->inds = calloc(p->set->n + 1, sizeof(*r->inds));
    if (!r->inds) {
        fail(&x, "out of memory");
        goto err_destroy;
    }
    r->n_inds = p->set->n;
    for (size_t i = 0; i < p->set->n; i++)
        r->inds[i].ind = &p->set->v[i];
    if (hash_files(r, &x) < 0 || read_previous(&x, r) < 0)
        goto err_destroy;
    struct breach_scan bs = {0};
    int brc = read_breaches(&x, r, end_ms, &bs);
    breach_scan_fini(&bs);
    if (brc < 0) {
        if (!err[0])
            fail(&x, "out of memory");
        goto err_destroy;
    }
    for (size_t i = 0; i < r->n_breaches; i++) {
        struct vigil_report_breach *b = &r->breaches[i];
        for (size_t k = 0; k < r->n_inds; k++) {
            if (strcmp(r->inds[k].ind->id, b->indicator) == 0) {
                b->ri = &r->inds[k];
                r->inds[k].n_breaches++;
            }
        }
    }
    if (read_notifications(&x, r, end_ms) < 0)
        goto err_destroy;
    for (size_t i = 0; i < r->n_inds; i++)
        if (read_history(&x, r, &r->inds[i], end_ms) < 0)
            goto err_destroy;
    if (summarise(r) != 0) {
        fail(&x, "out of memory");
        goto err_destroy;
    }
    return r;

err_destroy:
    vigil_report_destroy(r);
    return NULL;
}

void vigil_report_destroy(struct vigil_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->inds && i < r->n_inds; i++)
        free(r->inds[i].segments);
    free(r->inds);
    for (size_t i = 0; i < r->n_breaches; i++)
        breach_free(&r->breaches[i]);
    free(r->breaches);
    for (size_t i = 0; i < r->n_files; i++)
        free(r->files[i].name);
    free(r->files);
    vigil_strv_free(r->decisions);
    free(r->previous_id);
    free(r);
}

/* ---- shared formatting ---- */

const char *vigil_report_trend_name(enum vigil_report_trend t)
{
    static const char *const names[] = {"n/a", "stable", "better", "worse",
                                        "changed"};
    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "n/a";
}

void vigil_report_format_value(bool has, double v, char *buf, size_t n)
{
    if (!has) {
        snprintf(buf, n, "-");
        return;
    }
    if (v == 0)
        v = 0; /* no "-0" */
    snprintf(buf, n, "%.4g", v);
}

void vigil_report_format_duration(int64_t ms, char *buf, size_t n)
{
    int64_t s = ms / 1000;
    int64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
    if (d > 0)
        snprintf(buf, n, "%" PRId64 "d %" PRId64 "h", d, h);
    else if (h > 0)
        snprintf(buf, n, "%" PRId64 "h %" PRId64 "m", h, m);
    else if (m > 0)
        snprintf(buf, n, "%" PRId64 "m %" PRId64 "s", m, sec);
    else
        snprintf(buf, n, "%" PRId64 "s", sec);
}

double vigil_report_state_pct(const struct vigil_report_stats *st, int s)
{
    if (st->span_ms == 0)
        return 0;
    uint64_t t = s == VIGIL_REPORT_UNKNOWN ? st->unknown_ms : st->state_ms[s];
    return 100.0 * (double)t / (double)st->span_ms;
}

void vigil_report_kind_analysis(const struct vigil_report *r,
                                enum vigil_indicator_kind kind, char *buf,
                                size_t n)
{
    size_t count = 0, met = 0, missed = 0, nodata = 0, breaches = 0, open = 0;
    double ok_pct = 0;
    const struct vigil_report_indicator *worst = NULL;
    size_t off = 0;
    for (size_t i = 0; i < r->n_inds; i++) {
        const struct vigil_report_indicator *ri = &r->inds[i];
        if (ri->ind->kind != kind)
            continue;
        count++;
        met += ri->target_met == 1;
        missed += ri->target_met == 0;
        nodata += ri->target_met < 0;
        breaches += ri->n_breaches;
        ok_pct += vigil_report_state_pct(&ri->cur, VIGIL_STATE_OK);
        double b = vigil_report_state_pct(&ri->cur, VIGIL_STATE_BREACH);
        if (b > 0 && (!worst || b > vigil_report_state_pct(&worst->cur,
                                                           VIGIL_STATE_BREACH)))
            worst = ri;
    }
    for (size_t i = 0; i < r->n_breaches; i++)
        if (r->breaches[i].ri && r->breaches[i].ri->ind->kind == kind &&
            r->breaches[i].resolved_ms == VIGIL_ISTATE_NEVER)
            open++;
    if (count == 0) {
        snprintf(buf, n, "No %s indicators are defined.",
                 vigil_indicator_kind_name(kind));
        return;
    }
#define PUT(...)                                                               \
    do {                                                                       \
        if (off < n)                                                           \
            off += (size_t)snprintf(buf + off, n - off, __VA_ARGS__);          \
    } while (0)
    PUT("%zu %s indicator%s: %zu met the target over the period, %zu "
        "missed it, %zu had no data. %zu non-conformance%s (%zu still "
        "open at the end). On average %.1f%% of the period was ok.",
        count, vigil_indicator_kind_name(kind), count == 1 ? "" : "s", met,
        missed, nodata, breaches, breaches == 1 ? "" : "s", open,
        ok_pct / (double)count);
    if (worst)
        PUT(" Most time in breach: %s %s (%.1f%%).", worst->ind->id,
            worst->ind->name,
            vigil_report_state_pct(&worst->cur, VIGIL_STATE_BREACH));
    for (int pass = 0; pass < 2; pass++) {
        enum vigil_report_trend want =
            pass ? VIGIL_TREND_WORSE : VIGIL_TREND_BETTER;
        size_t k = 0;
        for (size_t i = 0; i < r->n_inds; i++) {
            const struct vigil_report_indicator *ri = &r->inds[i];
            if (ri->ind->kind != kind || ri->trend != want)
                continue;
            PUT("%s%s",
                k++ ? ", "
                    : (pass ? " Worse than the previous period: "
                            : " Better than the previous "
                              "period: "),
                ri->ind->id);
        }
        if (k)
            PUT(".");
    }
#undef PUT
}
