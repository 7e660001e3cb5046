#include "daemon.h"

#include <ev.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "ack.h"
#include "evaluator.h"
#include "feed_json.h"
#include "feed_route.h"
#include "feed_server.h"
#include "indicator_store.h"
#include "kafka_source.h"
#include "log.h"
#include "measures.h"
#include "pager.h"
#include "pipeline.h"
#include "redis_conn.h"
#include "report_writer.h"
#include "silence.h"

struct daemon {
    const struct vigil_config *cfg;
    struct vigil_daemon_options opts;
    struct vigil_rule_set *rules;
    struct vigil_indicator_store *store;
    struct vigil_evaluator *evaluator;
    struct vigil_pager *pager; /* paging: see start_pager() */
    struct vigil_worker **workers;
    size_t n_workers;
    struct vigil_pipeline_stats pipeline_stats;
    struct vigil_source_stats source_stats;
    struct vigil_feed *feed;             /* the HTTP feed, see start_feed() */
    struct vigil_report_writer *reports; /* see start_reports() */
    ev_signal sigterm;
    ev_signal sigint;
    ev_signal sighup;
    /* What the last successful reload loaded (owned; NULL before). */
    struct vigil_rule_set *own_rules;
    struct vigil_indicator_set *own_indicators;
    /* SIGHUP reloads that took effect and that were refused; read by
     * /metrics on HTTP threads. */
    _Atomic uint64_t reloads;
    _Atomic uint64_t reload_failures;
    ev_timer deadline;
    ev_timer report;
};

static void on_stop_signal(struct ev_loop *loop, ev_signal *s, int revents)
{
    (void)revents;
    vigil_info("signal %d: stopping", s->signum);
    ev_break(loop, EVBREAK_ALL);
}

static void on_report(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct daemon *d = t->data;
    vigil_info("events %llu, matched %llu, decode errors %llu, batches "
               "%llu accepted / %llu fenced, redis errors %llu",
               (unsigned long long)d->pipeline_stats.events,
               (unsigned long long)d->pipeline_stats.matched_events,
               (unsigned long long)d->pipeline_stats.decode_errors,
               (unsigned long long)d->source_stats.batches_accepted,
               (unsigned long long)d->source_stats.batches_rejected,
               (unsigned long long)d->source_stats.flush_errors);
}

static redisContext *connect_redis(void *ctx)
{
    const struct daemon *d = ctx;
    char err[256];
    redisContext *c = vigil_redis_connect(&d->cfg->redis, err, sizeof(err));
    if (!c)
        vigil_warn("evaluator: redis unreachable: %s", err);
    return c;
}

/* Logs transitions; the HTTP feed subscribes here as well. */
static void on_snapshot(void *ctx, const struct vigil_indicator_snapshot *s)
{
    struct daemon *d = ctx;
    vigil_feed_publish(d->feed, s);
    if (s->event && s->event->kind != VIGIL_EVENT_NONE)
        vigil_info("indicator %s: %s -> %s (value %g)", s->ind->id,
                   vigil_state_name(s->event->previous),
                   vigil_state_name(s->event->state),
                   s->has_value ? s->value : 0.0);
    if (d->opts.on_snapshot)
        d->opts.on_snapshot(d->opts.ctx, s);
}

static void on_deadline(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)t;
    (void)revents;
    vigil_info("duration reached: stopping");
    ev_break(loop, EVBREAK_ALL);
}

/* ---- HTTP feed (feed_server.h): /metrics, JSON API, SSE, dashboard ---- */

static redisContext *feed_connect(void *ctx)
{
    const struct daemon *d = ctx;
    char err[256];
    return vigil_redis_connect(&d->cfg->redis, err, sizeof(err));
}

/* Ready: every worker reaches Redis and the process holds partitions. */
static bool feed_ready(void *ctx, char *why, size_t len)
{
    const struct daemon *d = ctx;
    unsigned assigned = 0;
    for (size_t i = 0; i < d->n_workers; i++) {
        if (!vigil_worker_redis_ok(d->workers[i])) {
            snprintf(why, len, "worker %zu cannot reach redis", i);
            return false;
        }
        assigned += vigil_worker_assigned(d->workers[i]);
    }
    if (assigned == 0)
        snprintf(why, len, "no kafka partitions assigned");
    return assigned > 0;
}

static void feed_kafka_lag(void *ctx, vigil_feed_lag_emit_fn emit, void *ectx)
{
    const struct daemon *d = ctx;
    for (size_t i = 0; i < d->n_workers; i++)
        vigil_worker_lag(d->workers[i], emit, ectx);
}

static void feed_reloads(void *ctx, uint64_t *ok, uint64_t *failed)
{
    struct daemon *d = ctx;
    *ok = atomic_load(&d->reloads);
    *failed = atomic_load(&d->reload_failures);
}

static void feed_notifications(void *ctx, vigil_feed_notification_emit_fn emit,
                               void *ectx)
{
    const struct daemon *d = ctx;
    if (!d->pager)
        return;
    size_t n = vigil_pager_counts(d->pager, NULL, 0);
    struct vigil_pager_count *v = calloc(n + 1, sizeof(*v));
    if (!v)
        return;
    n = vigil_pager_counts(d->pager, v, n);
    for (size_t i = 0; i < n; i++)
        emit(ectx, v[i].notifier, v[i].result, v[i].value);
    free(v);
}

static int64_t feed_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A Redis context for one write of the API (the caller frees it); NULL
 * with err filled. */
static redisContext *feed_write_context(const struct daemon *d, char *err,
                                        size_t errlen)
{
    char why[200];
    redisContext *c = vigil_redis_connect(&d->cfg->redis, why, sizeof(why));
    if (!c)
        snprintf(err, errlen, "redis unavailable: %s", why);
    return c;
}

static bool is_stream_id(const char *s)
{
    const char *dash = strchr(s, '-');
    if (!dash || dash == s || dash[1] == '\0')
        return false;
    for (const char *p = s; *p; p++)
        if (p != dash && (*p < '0' || *p > '9'))
            return false;
    return true;
}

/* The dedup key "<indicator>:<episode>" of the breaches entry sid, into
 * out; 0, -1 when there is no such entry (err says so), -2 Redis. */
static int breach_dedup(redisContext *c, const char *ns, const char *sid,
                        char *out, size_t outlen, char *err, size_t errlen)
{
    redisReply *r =
        redisCommand(c, "XRANGE vigil:{%s}:breaches %s %s", ns, sid, sid);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errlen, "redis: %s",
                 r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
        if (r)
            freeReplyObject(r);
        return -2;
    }
    const char *ind = NULL, *episode = NULL;
    if (r->elements == 1 && vigil_feed_json_is_entry(r->element[0])) {
        const redisReply *fv = r->element[0]->element[1];
        for (size_t i = 0; i + 1 < fv->elements; i += 2) {
            if (strcmp(fv->element[i]->str, "indicator") == 0)
                ind = fv->element[i + 1]->str;
            else if (strcmp(fv->element[i]->str, "episode") == 0)
                episode = fv->element[i + 1]->str;
        }
    }
    int rc = 0;
    if (ind && episode && episode[0])
        snprintf(out, outlen, "%s:%s", ind, episode);
    else
        rc = -1;
    if (rc < 0)
        snprintf(err, errlen, "not found: no paged breach %s", sid);
    freeReplyObject(r);
    return rc;
}

/* POST /api/v1/breaches/<id>/ack: id is a dedup key, an indicator id or
 * a breaches stream ID. */
static int feed_ack(void *ctx, const char *id, const char *author,
                    const char *comment, char *err, size_t errlen)
{
    const struct daemon *d = ctx;
    redisContext *c = feed_write_context(d, err, errlen);
    if (!c)
        return -2;
    char dedup[VIGIL_FEED_MAX_ID + 64];
    int rc = 0;
    if (is_stream_id(id))
        rc = breach_dedup(c, d->cfg->redis.ns, id, dedup, sizeof(dedup), err,
                          errlen);
    else
        snprintf(dedup, sizeof(dedup), "%s", id);
    if (rc == 0) {
        struct vigil_ack_result res;
        int arc = vigil_ack_breach(c, d->cfg->redis.ns, dedup, author,
                                   comment && comment[0] ? comment : NULL,
                                   feed_wall_ms(), &res, err, errlen);
        if (arc == VIGIL_ACK_NOT_OPEN) {
            char why[200];
            snprintf(why, sizeof(why), "%s", err);
            snprintf(err, errlen, "not found: %s", why);
        }
        rc = arc == 0 ? 0 : arc == -1 ? -2 : -1;
    }
    redisFree(c);
    return rc;
}

static int feed_silence_add(void *ctx, const struct vigil_feed_silence *fs,
                            char *id_out, size_t id_len, char *err,
                            size_t errlen)
{
    const struct daemon *d = ctx;
    int64_t now = feed_wall_ms();
    struct vigil_silence s = {
        .starts_ms = now,
        .ends_ms = fs->until_ms,
        .author = strdup(fs->author ? fs->author : "api"),
        .reason = strdup(fs->reason ? fs->reason : ""),
    };
    int rc = s.author && s.reason ? 0 : -2;
    size_t n = fs->matcher ? fs->matcher->n : 0;
    s.matchers = calloc(n + 1, sizeof(*s.matchers));
    if (!s.matchers)
        rc = -2;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        s.matchers[i].key = strdup(fs->matcher->v[i].key);
        s.matchers[i].value = strdup(fs->matcher->v[i].value);
        s.n_matchers++;
        if (!s.matchers[i].key || !s.matchers[i].value)
            rc = -2;
    }
    if (rc < 0)
        snprintf(err, errlen, "out of memory");
    redisContext *c = rc == 0 ? feed_write_context(d, err, errlen) : NULL;
    if (rc == 0 && !c)
        rc = -2;
    if (c) {
        int src = vigil_silence_add(c, d->cfg->redis.ns, &s, now, err, errlen);
        rc = src == 0 ? 0 : src == VIGIL_SILENCE_INVALID ? -1 : -2;
        if (rc == 0)
            snprintf(id_out, id_len, "%s", s.id);
        redisFree(c);
    }
    vigil_silence_fini(&s);
    return rc;
}

static int feed_silence_list(void *ctx, vigil_feed_silence_emit_fn emit,
                             void *ectx, char *err, size_t errlen)
{
    const struct daemon *d = ctx;
    redisContext *c = feed_write_context(d, err, errlen);
    if (!c)
        return -2;
    struct vigil_silence_list l = {0};
    int rc = vigil_silence_load(c, d->cfg->redis.ns, &l, err, errlen);
    redisFree(c);
    if (rc < 0)
        return -2;
    int64_t now = feed_wall_ms();
    for (size_t i = 0; i < l.n; i++) {
        const struct vigil_silence *s = &l.v[i];
        if (s->ends_ms <= now)
            continue;
        struct vigil_config_kv *kv = calloc(s->n_matchers + 1, sizeof(*kv));
        if (!kv)
            continue;
        for (size_t k = 0; k < s->n_matchers; k++)
            kv[k] = (struct vigil_config_kv){s->matchers[k].key,
                                             s->matchers[k].value};
        struct vigil_config_map m = {kv, s->n_matchers};
        struct vigil_feed_silence fs = {
            .id = s->id,
            .matcher = &m,
            .until_ms = s->ends_ms,
            .created_ms = s->created_ms,
            .author = s->author,
            .reason = s->reason,
        };
        emit(ectx, &fs);
        free(kv);
    }
    vigil_silence_list_fini(&l);
    return 0;
}

static int feed_silence_expire(void *ctx, const char *id, const char *author,
                               char *err, size_t errlen)
{
    (void)author;
    const struct daemon *d = ctx;
    redisContext *c = feed_write_context(d, err, errlen);
    if (!c)
        return -2;
    int rc = vigil_silence_expire(c, d->cfg->redis.ns, id, feed_wall_ms(), err,
                                  errlen);
    redisFree(c);
    if (rc == VIGIL_SILENCE_NOT_FOUND) {
        snprintf(err, errlen, "not found: no silence %s", id);
        return -1;
    }
    return rc == 0 ? 0 : rc == VIGIL_SILENCE_INVALID ? -1 : -2;
}

static int start_feed(struct daemon *d,
                      const struct vigil_indicator_set *indicators)
{
    static const struct vigil_indicator_set none = {0};
    struct vigil_feed_config fc = {
        .host = d->cfg->http.host,
        .port = d->cfg->http.port,
        .read_token = d->cfg->http.read_token,
        .admin_token = d->cfg->http.admin_token,
        .ns = d->cfg->redis.ns,
        .indicators = indicators ? indicators : &none,
        .connect = feed_connect,
        .connect_ctx = d,
        .pipeline_stats = &d->pipeline_stats,
        .rules = d->rules,
        .flush_seconds = &d->source_stats.flush_seconds,
        .kafka_lag = feed_kafka_lag,
        .notifications = feed_notifications,
        .reloads = feed_reloads,
        .metrics_ctx = d,
        .ready = feed_ready,
        .ready_ctx = d,
        .pager = {.ctx = d,
                  .ack = feed_ack,
                  .silence_add = feed_silence_add,
                  .silence_list = feed_silence_list,
                  .silence_expire = feed_silence_expire},
    };
    char err[256];
    d->feed = vigil_feed_create(&fc, err, sizeof(err));
    if (!d->feed || vigil_feed_start(d->feed, err, sizeof(err)) < 0) {
        vigil_error("%s", err);
        return -1;
    }
    return 0;
}

/* ---- end of the HTTP feed ---- */

/* Evaluation of the indicators on the main loop, if there are any. */
static int start_evaluator(struct daemon *d, struct ev_loop *loop,
                           const struct vigil_indicator_set *indicators)
{
    if (!indicators || indicators->n == 0)
        return 0;
    struct vigil_indicator_store_config sc = {
        .ns = d->cfg->redis.ns,
        .counter_kind = vigil_measures_counter_kind,
        .counter_ctx = d->rules,
        .resolution_s = (int64_t)(d->cfg->events.resolution_ms / 1000),
    };
    d->store = vigil_indicator_store_create(&sc);
    if (!d->store)
        return -1;
    struct vigil_evaluator_config ec = {
        .loop = loop,
        .set = indicators,
        .store = d->store,
        .connect = connect_redis,
        .connect_ctx = d,
        .on_snapshot = on_snapshot,
        .snapshot_ctx = d,
    };
    d->evaluator = vigil_evaluator_create(&ec);
    if (!d->evaluator)
        return -1;
    vigil_evaluator_start(d->evaluator);
    vigil_info("evaluating %zu indicators", indicators->n);
    return 0;
}

/*
 * SIGHUP: loads the config's rules and indicators again. Only a set that
 * loads without any error replaces the running one; otherwise the error
 * is logged and counted and nothing changes.
 */
static void on_reload(struct ev_loop *loop, ev_signal *sig, int revents)
{
    (void)revents;
    struct daemon *d = sig->data;
    /* Plugins re-read their own data (the plugin list itself is fixed
     * at start); a failing one keeps its previous data. */
    vigil_plugins_reload(d->opts.plugins);
    struct vigil_diags diags = {0};
    struct vigil_config *cfg = vigil_config_load(d->cfg->file, &diags);
    struct vigil_rule_set *rules =
        cfg ? vigil_rule_set_load_config(cfg, &diags) : NULL;
    struct vigil_indicator_set *inds =
        rules ? vigil_measures_load_indicators(cfg, rules, &diags) : NULL;
    vigil_config_destroy(cfg);
    if (!inds || diags.n > 0) {
        char line[1024];
        for (size_t i = 0; i < diags.n; i++) {
            vigil_diag_format(&diags.v[i], line, sizeof(line));
            vigil_error("reload: %s", line);
        }
        uint64_t failures = atomic_fetch_add(&d->reload_failures, 1) + 1;
        vigil_error("reload failed (%llu so far): the running rules and "
                    "indicators stay in effect",
                    (unsigned long long)failures);
        vigil_indicator_set_destroy(inds);
        if (rules)
            vigil_rule_set_unref(rules);
        vigil_diags_fini(&diags);
        return;
    }
    vigil_diags_fini(&diags);
    for (size_t i = 0; i < d->n_workers; i++)
        vigil_worker_swap_rules(d->workers[i], rules);
    if (d->evaluator) {
        vigil_evaluator_stop(d->evaluator);
        vigil_evaluator_destroy(d->evaluator);
        d->evaluator = NULL;
    }
    vigil_indicator_store_destroy(d->store);
    d->store = NULL;
    d->rules = rules;
    /* The feed must be off the old set before it is freed below. */
    vigil_feed_swap(d->feed, rules, inds);
    if (start_evaluator(d, loop, inds) < 0)
        vigil_error("reload: cannot restart the indicator evaluator");
    vigil_indicator_set_destroy(d->own_indicators);
    if (d->own_rules)
        vigil_rule_set_unref(d->own_rules);
    d->own_rules = rules;
    d->own_indicators = inds;
    atomic_fetch_add(&d->reloads, 1);
    vigil_info("reloaded: %zu rules, %zu indicators",
               vigil_rule_set_size(rules), inds->n);
}

/* ---- paging (pager.h): notifiers deliver the outbox ---- */

static redisContext *pager_connect(void *ctx)
{
    const struct daemon *d = ctx;
    char err[256];
    redisContext *c = vigil_redis_connect(&d->cfg->redis, err, sizeof(err));
    if (!c)
        vigil_warn("pager: redis unreachable: %s", err);
    return c;
}

static int start_pager(struct daemon *d, struct ev_loop *loop)
{
    if (d->cfg->n_notifiers == 0)
        return 0;
    const struct vigil_config_http *h = &d->cfg->http;
    char dashboard[300] = "";
    if (h->host && h->port > 0)
        snprintf(dashboard, sizeof(dashboard),
                 strchr(h->host, ':') ? "http://[%s]:%d" : "http://%s:%d",
                 h->host, h->port);
    struct vigil_pager_config pc = {
        .cfg = d->cfg,
        .connect = pager_connect,
        .connect_ctx = d,
        .dashboard_url = dashboard[0] ? dashboard : NULL,
        .plugins = d->opts.plugins,
    };
    d->pager = vigil_pager_create(&pc);
    return d->pager ? vigil_pager_start(d->pager, loop) : -1;
}

/* ---- end of paging ---- */

/* ---- periodic reports (report_writer.h): reports: with a period ---- */

static redisContext *reports_connect(void *ctx)
{
    const struct daemon *d = ctx;
    char err[256];
    redisContext *c = vigil_redis_connect(&d->cfg->redis, err, sizeof(err));
    if (!c)
        vigil_warn("reports: redis unreachable: %s", err);
    return c;
}

static int start_reports(struct daemon *d, struct ev_loop *loop)
{
    if (d->cfg->reports.period == VIGIL_REPORT_PERIOD_NONE)
        return 0;
    char owner[300], host[256] = "";
    gethostname(host, sizeof(host) - 1);
    snprintf(owner, sizeof(owner), "%s:%ld", host, (long)getpid());
    struct vigil_report_writer_config rc = {
        .cfg = d->cfg,
        .connect = reports_connect,
        .connect_ctx = d,
        .owner = owner,
        .loop = loop,
    };
    d->reports = vigil_report_writer_create(&rc);
    if (!d->reports)
        return -1;
    vigil_report_writer_start(d->reports);
    vigil_info("reports: %s reports into %s",
               vigil_report_period_name(d->cfg->reports.period),
               d->cfg->reports.directory);
    return 0;
}

/* ---- end of periodic reports ---- */

int vigil_daemon_run(const struct vigil_config *cfg,
                     struct vigil_rule_set *rules,
                     const struct vigil_indicator_set *indicators,
                     const struct vigil_daemon_options *opts)
{
    struct daemon d = {.cfg = cfg, .rules = rules};
    if (opts)
        d.opts = *opts;
    struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
    int rc = 1;

    signal(SIGPIPE, SIG_IGN);
    d.workers = calloc(cfg->kafka.workers, sizeof(*d.workers));
    if (!d.workers)
        return 1;
    for (unsigned i = 0; i < cfg->kafka.workers; i++) {
        struct vigil_worker_config wc = {
            .cfg = cfg,
            .set = rules,
            .pipeline_stats = &d.pipeline_stats,
            .source_stats = &d.source_stats,
            .plugins = d.opts.plugins,
            .retention_s = vigil_measures_retention_s(indicators),
            .id = i,
        };
        d.workers[i] = vigil_worker_create(&wc);
        if (!d.workers[i])
            goto out;
        d.n_workers++;
    }
    for (size_t i = 0; i < d.n_workers; i++) {
        if (vigil_worker_start(d.workers[i]) < 0) {
            vigil_error("cannot start worker %zu", i);
            goto out;
        }
    }
    vigil_info("vigild running: %zu workers in group '%s' on %s", d.n_workers,
               cfg->kafka.group, cfg->kafka.brokers);
    if (start_evaluator(&d, loop, indicators) < 0) {
        vigil_error("cannot start the indicator evaluator");
        goto out;
    }
    if (start_pager(&d, loop) < 0) { /* paging */
        vigil_error("cannot start the notifiers");
        goto out;
    }
    if (start_reports(&d, loop) < 0) { /* periodic reports */
        vigil_error("cannot start the periodic reports");
        goto out;
    }
    /* The feed last: its threads read the pager and the workers. */
    if (start_feed(&d, indicators) < 0)
        goto out;

    ev_signal_init(&d.sigterm, on_stop_signal, SIGTERM);
    ev_signal_init(&d.sigint, on_stop_signal, SIGINT);
    ev_signal_init(&d.sighup, on_reload, SIGHUP);
    d.sighup.data = &d;
    ev_timer_init(&d.report, on_report, 60., 60.);
    d.report.data = &d;
    ev_signal_start(loop, &d.sigterm);
    ev_signal_start(loop, &d.sigint);
    ev_signal_start(loop, &d.sighup);
    ev_timer_start(loop, &d.report);
    if (d.opts.duration_s > 0) {
        ev_timer_init(&d.deadline, on_deadline, d.opts.duration_s, 0.);
        ev_timer_start(loop, &d.deadline);
    }
    if (d.opts.on_start)
        d.opts.on_start(loop, d.opts.ctx);
    ev_run(loop, 0);
    if (d.opts.on_stop)
        d.opts.on_stop(loop, d.opts.ctx);
    ev_signal_stop(loop, &d.sigterm);
    ev_signal_stop(loop, &d.sigint);
    ev_signal_stop(loop, &d.sighup);
    ev_timer_stop(loop, &d.report);
    ev_timer_stop(loop, &d.deadline);
    rc = 0;

out:
    vigil_feed_destroy(d.feed); /* first: its threads read the others */
    vigil_report_writer_destroy(d.reports); /* periodic reports */
    vigil_pager_destroy(d.pager); /* paging: stops before the evaluator */
    if (d.evaluator) {
        vigil_evaluator_stop(d.evaluator);
        vigil_evaluator_destroy(d.evaluator);
    }
    vigil_indicator_store_destroy(d.store);
    for (size_t i = 0; i < d.n_workers; i++)
        vigil_worker_stop(d.workers[i]);
    for (size_t i = 0; i < d.n_workers; i++)
        vigil_worker_destroy(d.workers[i]);
    free(d.workers);
    vigil_indicator_set_destroy(d.own_indicators);
    if (d.own_rules)
        vigil_rule_set_unref(d.own_rules);
    on_report(loop, &d.report, 0);
    return rc;
}
