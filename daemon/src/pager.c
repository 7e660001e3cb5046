#include "pager.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <unistd.h>

#include "backoff.h"
#include "log.h"
#include "notifier.h"
#include "outbox.h"
#include "route.h"
#include "silence.h"

#define READ_COUNT 100
#define CLAIM_PAGES 4
#define MAX_HELD 1000
#define MAX_TARGETS 64
#define REPEAT_CHECK_MS 1000
#define TRIM_EVERY_MS 3600000
#define TRIM_KEEP_MS (7ULL * 86400000ULL)
#define RETRY_AFTER_MAX_MS 3600000ULL

enum result { R_SENT, R_RETRY, R_FAILED, R_SILENCED, N_RESULTS };
enum drop { D_INVALID, D_EXPIRED, D_UNROUTED, N_DROPS };
static const char *const result_names[] = {"sent", "retry", "failed",
                                           "silenced"};
static const char *const drop_names[] = {"invalid", "expired", "unrouted"};

struct entry {
    char id[48];
    struct vigil_notification n;
    uint64_t seq;
    unsigned pending; /* deliveries and group slots not finished */
    bool done;        /* to be acked */
    struct entry *next, *prev;
};

struct delivery {
    struct vigil_pager *p;
    size_t notifier;
    struct entry **entries;
    size_t n;
    uint64_t seq; /* the smallest of its entries' */
    unsigned attempt;
    bool in_flight, backing_off;
    ev_timer timer;
    struct delivery *next, *prev;
};

/* Triggers held for a route's group_wait, per (route, notifier). */
struct group {
    struct vigil_pager *p;
    size_t route, notifier;
    struct entry **entries;
    size_t n;
    ev_timer timer;
};

struct vigil_pager {
    const struct vigil_config *cfg;
    vigil_pager_connect_fn connect;
    void *connect_ctx;
    char *dashboard_url;
    char source[300];
    int64_t (*now_fn)(void *ctx);
    void *now_ctx;
    uint64_t poll_ms, claim_idle_ms, lease_ms, am_resend_ms, max_age_ms;
    struct vigil_plugins *plugins;
    struct vigil_backoff backoff;
    uint64_t rng;

    struct ev_loop *loop;
    ev_timer tick;
    redisContext *rc;
    bool group_ready, own_read;
    struct vigil_outbox *outbox;
    struct vigil_notifier **notifiers;
    struct group *groups; /* n_routes * n_notifiers */
    struct entry *entries;
    size_t n_entries;
    struct delivery *deliveries;
    uint64_t seq;
    char cursor[48];
    double last_claim, last_touch, last_repeat, last_trim; /* ev_now */
    double last_lease;
    struct vigil_silence_list silences;
    bool silences_loaded;

    _Atomic uint64_t *counts; /* n_notifiers * N_RESULTS */
    _Atomic uint64_t drops[N_DROPS];
    struct vigil_ratelimit rl;
};

static int64_t now_ms(const struct vigil_pager *p)
{
    if (p->now_fn)
        return p->now_fn(p->now_ctx);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void count(struct vigil_pager *p, size_t notifier, enum result r)
{
    atomic_fetch_add(&p->counts[notifier * N_RESULTS + r], 1);
}

static void drop_redis(struct vigil_pager *p, const char *what)
{
    vigil_log_rl(&p->rl, VIGIL_LOG_WARN, "pager: %s: %s", what,
                 vigil_outbox_error(p->outbox));
    if (p->rc)
        redisFree(p->rc);
    p->rc = NULL;
    p->group_ready = false;
}

/* ---- Entries ---- */

static struct entry *find_entry(struct vigil_pager *p, const char *id)
{
    for (struct entry *e = p->entries; e; e = e->next)
        if (strcmp(e->id, id) == 0)
            return e;
    return NULL;
}

static void free_entry(struct vigil_pager *p, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        p->entries = e->next;
    if (e->next)
        e->next->prev = e->prev;
    p->n_entries--;
    vigil_notification_fini(&e->n);
    free(e);
}

/* XACKs every finished entry; on a Redis error they wait for the next
 * poll. */
static void flush_acks(struct vigil_pager *p)
{
    if (!p->rc)
        return;
    const char *ids[64];
    struct entry *batch[64];
    size_t n = 0;
    for (struct entry *e = p->entries; e; e = e->next) {
        if (!e->done)
            continue;
        batch[n] = e;
        ids[n++] = e->id;
        if (n == 64)
            break;
    }
    if (n == 0)
        return;
    if (vigil_outbox_ack(p->outbox, p->rc, ids, n) < 0) {
        drop_redis(p, "XACK");
        return;
    }
    for (size_t i = 0; i < n; i++)
        free_entry(p, batch[i]);
    if (n == 64)
        flush_acks(p);
}

/* Acks an entry that is not held (dropped or silenced). */
static void ack_now(struct vigil_pager *p, const char *id)
{
    if (p->rc && vigil_outbox_ack(p->outbox, p->rc, &id, 1) < 0)
        drop_redis(p, "XACK");
}

static void entry_finished(struct vigil_pager *p, struct entry *e)
{
    (void)p;
    if (e->pending > 0 && --e->pending == 0)
        e->done = true;
}

/* ---- Deliveries ---- */

static bool shares_dedup(struct entry *const *a, size_t na,
                         struct entry *const *b, size_t nb)
{
    for (size_t i = 0; i < na; i++)
        for (size_t k = 0; k < nb; k++)
            if (strcmp(a[i]->n.dedup, b[k]->n.dedup) == 0)
                return true;
    return false;
}

/* An earlier delivery (or held group) of the same dedup to the same
 * notifier is not finished: d must wait to keep the order. */
static bool blocked(struct vigil_pager *p, const struct delivery *d)
{
    for (const struct delivery *o = p->deliveries; o; o = o->next)
        if (o != d && o->notifier == d->notifier && o->seq < d->seq &&
            shares_dedup(o->entries, o->n, d->entries, d->n))
            return true;
    size_t nn = p->cfg->n_notifiers;
    for (size_t r = 0; r < p->cfg->n_routes; r++) {
        const struct group *g = &p->groups[r * nn + d->notifier];
        for (size_t i = 0; i < g->n; i++)
            if (g->entries[i]->seq < d->seq &&
                shares_dedup(&g->entries[i], 1, d->entries, d->n))
                return true;
    }
    return false;
}

static void free_delivery(struct vigil_pager *p, struct delivery *d)
{
    ev_timer_stop(p->loop, &d->timer);
    if (d->prev)
        d->prev->next = d->next;
    else
        p->deliveries = d->next;
    if (d->next)
        d->next->prev = d->prev;
    free(d->entries);
    free(d);
}

static void send_delivery(struct vigil_pager *p, struct delivery *d);

static void pump(struct vigil_pager *p)
{
    for (struct delivery *d = p->deliveries; d; d = d->next)
        if (!d->in_flight && !d->backing_off && !blocked(p, d))
            send_delivery(p, d);
}

static void on_backoff(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct delivery *d = w->data;
    d->backing_off = false;
    pump(d->p);
}

static void retry_later(struct vigil_pager *p, struct delivery *d,
                        uint64_t retry_after_ms)
{
    d->attempt++;
    uint64_t wait = vigil_backoff_delay(&p->backoff, d->attempt,
                                        vigil_backoff_random(&p->rng));
    if (retry_after_ms > wait)
        wait = retry_after_ms < RETRY_AFTER_MAX_MS ? retry_after_ms
                                                   : RETRY_AFTER_MAX_MS;
    d->backing_off = true;
    ev_timer_init(&d->timer, on_backoff, (double)wait / 1000., 0.);
    d->timer.data = d;
    ev_timer_start(p->loop, &d->timer);
}

static void record_failure(struct vigil_pager *p, struct delivery *d,
                           const struct vigil_notifier_outcome *o)
{
    const char *name = p->cfg->notifiers[d->notifier].name;
    for (size_t i = 0; i < d->n; i++) {
        vigil_error("notification %s to %s failed for good (status %ld): %s",
                    d->entries[i]->n.dedup, name, o->status, o->detail);
        if (p->rc && vigil_outbox_record_failure(
                         p->outbox, p->rc, &d->entries[i]->n, name, o->status,
                         o->detail, now_ms(p)) < 0)
            drop_redis(p, "recording a failed notification");
    }
}

static void on_delivered(void *ctx, const struct vigil_notifier_outcome *o)
{
    struct delivery *d = ctx;
    struct vigil_pager *p = d->p;
    d->in_flight = false;
    const char *name = p->cfg->notifiers[d->notifier].name;
    switch (o->result) {
    case VIGIL_DELIVERY_SENT:
        count(p, d->notifier, R_SENT);
        break;
    case VIGIL_DELIVERY_FAILED:
        count(p, d->notifier, R_FAILED);
        record_failure(p, d, o);
        break;
    case VIGIL_DELIVERY_RETRY:
        count(p, d->notifier, R_RETRY);
        vigil_log_rl(&p->rl, VIGIL_LOG_WARN,
                     "notification %s to %s: attempt %u failed (status "
                     "%ld), retrying: %s",
                     d->entries[0]->n.dedup, name, d->attempt + 1, o->status,
                     o->detail);
        retry_later(p, d, o->retry_after_ms);
        pump(p);
        return;
    }
    for (size_t i = 0; i < d->n; i++)
        entry_finished(p, d->entries[i]);
    free_delivery(p, d);
    flush_acks(p);
    pump(p);
}

static void send_delivery(struct vigil_pager *p, struct delivery *d)
{
    const struct vigil_notification *v[READ_COUNT];
    size_t n = d->n < READ_COUNT ? d->n : READ_COUNT;
    for (size_t i = 0; i < n; i++)
        v[i] = &d->entries[i]->n;
    d->in_flight = true;
    if (vigil_notifier_send(p->notifiers[d->notifier], v, n, on_delivered, d) <
        0) {
        d->in_flight = false;
        retry_later(p, d, 0);
    }
}

static struct delivery *new_delivery(struct vigil_pager *p, size_t notifier,
                                     struct entry **entries, size_t n)
{
    struct delivery *d = calloc(1, sizeof(*d));
    struct entry **v = calloc(n, sizeof(*v));
    if (!d || !v) {
        free(d);
        free(v);
        return NULL;
    }
    memcpy(v, entries, n * sizeof(*v));
    d->p = p;
    d->notifier = notifier;
    d->entries = v;
    d->n = n;
    d->seq = UINT64_MAX;
    for (size_t i = 0; i < n; i++)
        if (v[i]->seq < d->seq)
            d->seq = v[i]->seq;
    /* Append: the list stays in arrival order. */
    struct delivery **tail = &p->deliveries;
    struct delivery *prev = NULL;
    while (*tail) {
        prev = *tail;
        tail = &(*tail)->next;
    }
    d->prev = prev;
    *tail = d;
    return d;
}

/* ---- Groups (group_wait) ---- */

static void on_group(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct group *g = w->data;
    struct vigil_pager *p = g->p;
    struct entry **v = g->entries;
    size_t n = g->n;
    g->entries = NULL;
    g->n = 0;
    if (vigil_notifier_groups(p->notifiers[g->notifier])) {
        if (!new_delivery(p, g->notifier, v, n))
            for (size_t i = 0; i < n; i++)
                entry_finished(p, v[i]);
    } else {
        for (size_t i = 0; i < n; i++)
            if (!new_delivery(p, g->notifier, &v[i], 1))
                entry_finished(p, v[i]);
    }
    free(v);
    pump(p);
}

static int group_add(struct vigil_pager *p, size_t route, size_t notifier,
                     struct entry *e)
{
    struct group *g = &p->groups[route * p->cfg->n_notifiers + notifier];
    struct entry **v = realloc(g->entries, (g->n + 1) * sizeof(*v));
    if (!v)
        return -1;
    g->entries = v;
    v[g->n++] = e;
    if (g->n == 1) {
        double wait = (double)p->cfg->routes[route].group_wait_ms / 1000.;
        ev_timer_init(&g->timer, on_group, wait, 0.);
        g->timer.data = g;
        ev_timer_start(p->loop, &g->timer);
    }
    return 0;
}

/* ---- Taking entries ---- */

static void load_silences(struct vigil_pager *p)
{
    if (p->silences_loaded || !p->rc)
        return;
    char err[256];
    vigil_silence_list_fini(&p->silences);
    if (vigil_silence_load(p->rc, p->cfg->redis.ns, &p->silences, err,
                           sizeof(err)) < 0) {
        vigil_log_rl(&p->rl, VIGIL_LOG_WARN, "pager: silences: %s", err);
        return;
    }
    p->silences_loaded = true;
}

/* Repeat schedules: a trigger (re)arms its routes' repeats, a resolve
 * cancels them; repeats re-arm themselves in Redis. */
static void bookkeep_repeats(struct vigil_pager *p, const char *id,
                             const struct vigil_notification *n,
                             const struct vigil_route_target *t, size_t nt)
{
    if (!p->rc || n->route >= 0)
        return;
    if (n->action == VIGIL_NOTIFY_RESOLVE) {
        if (vigil_outbox_cancel_repeats(p->outbox, p->rc, n->dedup) < 0)
            drop_redis(p, "cancelling repeats");
        return;
    }
    for (size_t i = 0; i < nt && p->rc; i++) {
        bool seen = false;
        for (size_t k = 0; k < i; k++)
            seen = seen || t[k].route == t[i].route;
        uint64_t every = p->cfg->routes[t[i].route].repeat_ms;
        if (seen || every == 0)
            continue;
        if (vigil_outbox_schedule_repeat(p->outbox, p->rc, t[i].route, n, id,
                                         now_ms(p) + (int64_t)every) < 0)
            drop_redis(p, "scheduling a repeat");
    }
}

static void take(struct vigil_pager *p, struct vigil_outbox_entry *x)
{
    if (find_entry(p, x->id))
        return;
    if (!x->valid) {
        vigil_log_rl(&p->rl, VIGIL_LOG_WARN, "pager: outbox entry %s: %s",
                     x->id, x->error);
        atomic_fetch_add(&p->drops[D_INVALID], 1);
        ack_now(p, x->id);
        return;
    }
    int64_t now = now_ms(p), at = vigil_outbox_id_ms(x->id);
    if (at >= 0 && now - at > (int64_t)p->max_age_ms) {
        vigil_warn("pager: notification %s (%s) is older than the max age: "
                   "dropped",
                   x->n.dedup, x->id);
        atomic_fetch_add(&p->drops[D_EXPIRED], 1);
        ack_now(p, x->id);
        return;
    }
    struct vigil_route_target t[MAX_TARGETS];
    size_t nt = vigil_route_decide(p->cfg->routes, p->cfg->n_routes, &x->n, t,
                                   MAX_TARGETS);
    if (nt > MAX_TARGETS)
        nt = MAX_TARGETS;
    if (nt == 0) {
        vigil_debug("pager: no route for %s", x->n.dedup);
        atomic_fetch_add(&p->drops[D_UNROUTED], 1);
        ack_now(p, x->id);
        return;
    }
    load_silences(p);
    bookkeep_repeats(p, x->id, &x->n, t, nt);
    const struct vigil_silence *s =
        vigil_silence_list_match(&p->silences, &x->n, now);
    if (s) {
        vigil_info("notification %s silenced by %s (%s)", x->n.dedup, s->id,
                   s->author);
        for (size_t i = 0; i < nt; i++)
            count(p, t[i].notifier, R_SILENCED);
        ack_now(p, x->id);
        return;
    }
    struct entry *e = calloc(1, sizeof(*e));
    if (!e)
        return; /* stays pending; reclaimed later */
    memcpy(e->id, x->id, sizeof(e->id));
    e->n = x->n;
    memset(&x->n, 0, sizeof(x->n));
    e->seq = ++p->seq;
    e->next = p->entries;
    if (p->entries)
        p->entries->prev = e;
    p->entries = e;
    p->n_entries++;
    for (size_t i = 0; i < nt; i++) {
        e->pending++;
        const struct vigil_config_route *r = &p->cfg->routes[t[i].route];
        bool wait = e->n.action == VIGIL_NOTIFY_TRIGGER && e->n.repeat == 0 &&
                    r->group_wait_ms > 0;
        int rc = wait ? group_add(p, t[i].route, t[i].notifier, e)
                      : (new_delivery(p, t[i].notifier, &e, 1) ? 0 : -1);
        if (rc < 0)
            e->pending--;
    }
    if (e->pending == 0)
        e->done = true;
}

static void take_batch(struct vigil_pager *p, struct vigil_outbox_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        take(p, &b->v[i]);
    vigil_outbox_batch_fini(b);
    pump(p);
}

/* ---- The poll ---- */

static bool ensure_redis(struct vigil_pager *p)
{
    if (!p->rc) {
        p->rc = p->connect(p->connect_ctx);
        if (!p->rc)
            return false;
    }
    if (!p->group_ready) {
        if (vigil_outbox_ensure_group(p->outbox, p->rc) < 0) {
            drop_redis(p, "creating the consumer group");
            return false;
        }
        p->group_ready = true;
    }
    return true;
}

static uint64_t route_repeat(void *ctx, size_t route)
{
    const struct vigil_pager *p = ctx;
    return route < p->cfg->n_routes ? p->cfg->routes[route].repeat_ms : 0;
}

static void touch_held(struct vigil_pager *p)
{
    const char *ids[MAX_HELD];
    size_t n = 0;
    for (struct entry *e = p->entries; e && n < MAX_HELD; e = e->next)
        ids[n++] = e->id;
    if (n && vigil_outbox_touch(p->outbox, p->rc, ids, n) < 0)
        drop_redis(p, "XCLAIM (keeping held entries)");
}

static void claim(struct vigil_pager *p)
{
    for (int page = 0; page < CLAIM_PAGES && p->rc; page++) {
        struct vigil_outbox_batch b;
        if (vigil_outbox_claim(p->outbox, p->rc, p->claim_idle_ms, READ_COUNT,
                               p->cursor, &b) < 0) {
            drop_redis(p, "XAUTOCLAIM");
            return;
        }
        if (b.n)
            vigil_info("pager: reclaimed %zu notifications of dead pagers",
                       b.n);
        take_batch(p, &b);
        if (strcmp(p->cursor, "0-0") == 0)
            return;
    }
}

/*
 * Renews this pager's lease and takes over the entries of pagers whose
 * lease ran out (killed, or cut off from Redis for a whole lease).
 */
static void lease(struct vigil_pager *p)
{
    if (vigil_outbox_heartbeat(p->outbox, p->rc, p->lease_ms) < 0) {
        drop_redis(p, "SET (lease)");
        return;
    }
    if (p->n_entries >= MAX_HELD)
        return;
    struct vigil_outbox_batch b;
    if (vigil_outbox_claim_dead(p->outbox, p->rc, 1000, READ_COUNT, &b) < 0) {
        drop_redis(p, "XCLAIM (dead pagers)");
        return;
    }
    if (b.n)
        vigil_info("pager: took over %zu notifications of dead pagers", b.n);
    take_batch(p, &b);
}

static void poll_once(struct vigil_pager *p)
{
    if (!ensure_redis(p))
        return;
    p->silences_loaded = false;
    flush_acks(p);
    double mono = ev_now(p->loop);
    if (p->rc && mono - p->last_lease >= (double)p->lease_ms / 5000.) {
        p->last_lease = mono;
        lease(p);
    }
    if (p->rc && !p->own_read) {
        struct vigil_outbox_batch b;
        if (vigil_outbox_read(p->outbox, p->rc, "0", MAX_HELD, &b) < 0) {
            drop_redis(p, "XREADGROUP");
            return;
        }
        p->own_read = true;
        take_batch(p, &b);
    }
    while (p->rc && p->n_entries < MAX_HELD) {
        struct vigil_outbox_batch b;
        if (vigil_outbox_read(p->outbox, p->rc, ">", READ_COUNT, &b) < 0) {
            drop_redis(p, "XREADGROUP");
            return;
        }
        size_t got = b.n;
        take_batch(p, &b);
        if (got < READ_COUNT)
            break;
    }
    double claim_every = (double)p->claim_idle_ms / 2000.;
    if (p->rc && mono - p->last_claim >= claim_every) {
        p->last_claim = mono;
        claim(p);
    }
    if (p->rc && mono - p->last_touch >= claim_every / 1.5) {
        p->last_touch = mono;
        touch_held(p);
    }
    if (p->rc && mono - p->last_repeat >= REPEAT_CHECK_MS / 1000.) {
        p->last_repeat = mono;
        size_t fired;
        if (vigil_outbox_fire_repeats(p->outbox, p->rc, now_ms(p), 50,
                                      route_repeat, p, &fired) < 0)
            drop_redis(p, "firing repeats");
    }
    if (p->rc && mono - p->last_trim >= TRIM_EVERY_MS / 1000.) {
        p->last_trim = mono;
        if (vigil_outbox_trim(p->outbox, p->rc, now_ms(p), TRIM_KEEP_MS) < 0)
            drop_redis(p, "XTRIM");
    }
    flush_acks(p);
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    poll_once(w->data);
}

/* ---- Lifecycle ---- */

struct vigil_pager *vigil_pager_create(const struct vigil_pager_config *c)
{
    struct vigil_pager *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->cfg = c->cfg;
    p->connect = c->connect;
    p->connect_ctx = c->connect_ctx;
    p->now_fn = c->now_ms;
    p->now_ctx = c->now_ctx;
    p->poll_ms = c->poll_ms ? c->poll_ms : 250;
    p->claim_idle_ms = c->claim_idle_ms ? c->claim_idle_ms : 60000;
    p->lease_ms = c->lease_ms ? c->lease_ms : 10000;
    p->plugins = c->plugins;
    p->am_resend_ms = c->am_resend_ms;
    p->max_age_ms = c->max_age_ms ? c->max_age_ms : 86400000ULL;
    p->backoff.base_ms = c->backoff_base_ms ? c->backoff_base_ms : 1000;
    p->backoff.cap_ms = c->backoff_cap_ms ? c->backoff_cap_ms : 300000;
    p->rng = c->seed;
    if (!p->rng && getrandom(&p->rng, sizeof(p->rng), 0) < 0)
        p->rng = (uint64_t)getpid();
    p->rl = (struct vigil_ratelimit)VIGIL_RATELIMIT_INIT(60000, 10);
    snprintf(p->cursor, sizeof(p->cursor), "0-0");
    char host[256] = "localhost";
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    snprintf(p->source, sizeof(p->source), "vigil@%s", host);
    char consumer[300];
    if (c->consumer)
        snprintf(consumer, sizeof(consumer), "%s", c->consumer);
    else
        snprintf(consumer, sizeof(consumer), "%s:%ld", host, (long)getpid());
    p->outbox = vigil_outbox_create(c->cfg->redis.ns, consumer);
    p->dashboard_url = c->dashboard_url ? strdup(c->dashboard_url) : NULL;
    p->counts = calloc(c->cfg->n_notifiers * N_RESULTS + 1, sizeof(*p->counts));
    if (!p->outbox || !p->counts || (c->dashboard_url && !p->dashboard_url)) {
        vigil_pager_destroy(p);
        return NULL;
    }
    return p;
}

int vigil_pager_start(struct vigil_pager *p, struct ev_loop *loop)
{
    if (p->loop)
        return -1;
    const struct vigil_config *cfg = p->cfg;
    p->loop = loop;
    p->notifiers = calloc(cfg->n_notifiers + 1, sizeof(*p->notifiers));
    p->groups =
        calloc(cfg->n_routes * cfg->n_notifiers + 1, sizeof(*p->groups));
    if (!p->notifiers || !p->groups)
        goto err_stop;
    struct vigil_notifier_env env = {
        .loop = loop,
        .source = p->source,
        .dashboard_url = p->dashboard_url,
        .now_ms = p->now_fn,
        .now_ctx = p->now_ctx,
        .am_resend_ms = p->am_resend_ms,
        .plugins = p->plugins,
    };
    for (size_t i = 0; i < cfg->n_notifiers; i++) {
        p->notifiers[i] = vigil_notifier_create(&cfg->notifiers[i], &env);
        if (!p->notifiers[i]) {
            vigil_error("notifier %s: cannot be created",
                        cfg->notifiers[i].name);
            goto err_stop;
        }
    }
    for (size_t i = 0; i < cfg->n_routes * cfg->n_notifiers; i++) {
        p->groups[i].p = p;
        p->groups[i].route = i / cfg->n_notifiers;
        p->groups[i].notifier = i % cfg->n_notifiers;
    }
    double every = (double)p->poll_ms / 1000.;
    ev_timer_init(&p->tick, on_tick, 0., every);
    p->tick.data = p;
    ev_timer_start(loop, &p->tick);
    p->last_claim = p->last_touch = p->last_repeat = p->last_lease =
        ev_now(loop) - 1e6;
    p->last_trim = ev_now(loop) - 1e6;
    vigil_info("pager: delivering the outbox of namespace '%s' as %s to %zu "
               "notifiers",
               cfg->redis.ns, vigil_outbox_consumer(p->outbox),
               cfg->n_notifiers);
    return 0;

err_stop:
    vigil_pager_stop(p);
    return -1;
}

void vigil_pager_stop(struct vigil_pager *p)
{
    if (!p || !p->loop)
        return;
    ev_timer_stop(p->loop, &p->tick);
    flush_acks(p);
    /* Notifiers first: they drop their callbacks into the deliveries. */
    for (size_t i = 0; p->notifiers && i < p->cfg->n_notifiers; i++)
        vigil_notifier_destroy(p->notifiers[i]);
    free(p->notifiers);
    p->notifiers = NULL;
    while (p->deliveries)                /* free_delivery unlinks the head */
        free_delivery(p, p->deliveries); // NOLINT(clang-analyzer-unix.Malloc)
    for (size_t i = 0; p->groups && i < p->cfg->n_routes * p->cfg->n_notifiers;
         i++) {
        ev_timer_stop(p->loop, &p->groups[i].timer);
        free(p->groups[i].entries);
    }
    free(p->groups);
    p->groups = NULL;
    while (p->entries)             /* free_entry unlinks the head */
        free_entry(p, p->entries); // NOLINT(clang-analyzer-unix.Malloc)
    vigil_silence_list_fini(&p->silences);
    if (p->rc) {
        /* Gone: what this pager still held is taken over at once. */
        vigil_outbox_heartbeat(p->outbox, p->rc, 1);
        redisFree(p->rc);
    }
    p->rc = NULL;
    p->group_ready = p->own_read = false;
    p->loop = NULL;
}

void vigil_pager_destroy(struct vigil_pager *p)
{
    if (!p)
        return;
    vigil_pager_stop(p);
    vigil_outbox_destroy(p->outbox);
    free(p->dashboard_url);
    free(p->counts);
    free(p);
}

size_t vigil_pager_counts(const struct vigil_pager *p,
                          struct vigil_pager_count *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < p->cfg->n_notifiers; i++)
        for (size_t r = 0; r < N_RESULTS; r++, n++)
            if (n < cap)
                out[n] = (struct vigil_pager_count){
                    p->cfg->notifiers[i].name, result_names[r],
                    atomic_load(&p->counts[i * N_RESULTS + r])};
    for (size_t d = 0; d < N_DROPS; d++, n++)
        if (n < cap)
            out[n] = (struct vigil_pager_count){"", drop_names[d],
                                                atomic_load(&p->drops[d])};
    return n;
}

size_t vigil_pager_held(const struct vigil_pager *p)
{
    return p->n_entries;
}
