#include "daemon.h"

#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evaluator.h"
#include "feed_server.h"
#include "indicator_store.h"
#include "kafka_source.h"
#include "log.h"
#include "measures.h"
#include "pager.h"
#include "pipeline.h"
#include "redis_conn.h"
#include "report_writer.h"

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
    uint64_t reloads;
    uint64_t reload_failures;
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
        .ready = feed_ready,
        .ready_ctx = d,
        /* Still to plug in: .flush_seconds (observe in kafka_source.c
         * around the batch script), .rule_matches, .kafka_lag,
         * .notifications and .pager (the pager's ack and silences). */
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
        d->reload_failures++;
        vigil_error("reload failed (%llu so far): the running rules and "
                    "indicators stay in effect",
                    (unsigned long long)d->reload_failures);
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
    if (start_evaluator(d, loop, inds) < 0)
        vigil_error("reload: cannot restart the indicator evaluator");
    vigil_indicator_set_destroy(d->own_indicators);
    if (d->own_rules)
        vigil_rule_set_unref(d->own_rules);
    d->own_rules = rules;
    d->own_indicators = inds;
    d->reloads++;
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
    if (start_feed(&d, indicators) < 0)
        goto out;
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
    vigil_report_writer_destroy(d.reports); /* periodic reports */
    vigil_pager_destroy(d.pager); /* paging: stops before the evaluator */
    if (d.evaluator) {
        vigil_evaluator_stop(d.evaluator);
        vigil_evaluator_destroy(d.evaluator);
    }
    vigil_indicator_store_destroy(d.store);
    vigil_feed_destroy(d.feed);
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
