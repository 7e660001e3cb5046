#include "evaluator.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

struct group {
    ev_timer timer; /* first: the callback finds its group from it */
    struct vigil_evaluator *owner;
    uint64_t frequency_ms;
    const struct vigil_indicator **inds;
    size_t n;
    struct vigil_indicator_eval *out;
};

struct vigil_evaluator {
    struct vigil_evaluator_config cfg;
    redisContext *ctx;
    struct group *groups;
    size_t n_groups;
    struct vigil_ratelimit rl;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int evaluate_group(struct vigil_evaluator *e, struct group *g)
{
    if (!e->ctx) {
        e->ctx = e->cfg.connect(e->cfg.connect_ctx);
        if (!e->ctx) {
            vigil_log_rl(&e->rl, VIGIL_LOG_WARN,
                         "evaluator: cannot connect to redis; indicators "
                         "wait for the next tick");
            return -1;
        }
    }
    int64_t now = e->cfg.now_ms ? e->cfg.now_ms(e->cfg.now_ctx) : wall_ms();
    int rc = vigil_indicator_store_evaluate(e->cfg.store, e->ctx, g->inds, g->n,
                                            now, g->out);
    if (rc < 0) {
        vigil_log_rl(&e->rl, VIGIL_LOG_WARN, "evaluator: %s",
                     vigil_indicator_store_error(e->cfg.store));
        /* The context may be broken mid-pipeline: start afresh. */
        redisFree(e->ctx);
        e->ctx = NULL;
    }
    for (size_t i = 0; i < g->n && e->cfg.on_snapshot; i++) {
        const struct vigil_indicator_eval *r = &g->out[i];
        if (r->outcome == VIGIL_EVAL_FAILED)
            continue;
        struct vigil_indicator_snapshot snap = {
            .ind = g->inds[i],
            .at_ms = now,
            .outcome = r->outcome,
            .has_value = r->has_value,
            .value = r->value,
            .state = r->state.state,
            .since_ms = r->state.since_ms,
            .view = &r->view,
            .event = &r->event,
            .top = r->top,
            .n_top = r->n_top,
        };
        e->cfg.on_snapshot(e->cfg.snapshot_ctx, &snap);
    }
    vigil_indicator_eval_fini(g->out, g->n);
    return rc;
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct group *g = (struct group *)w;
    evaluate_group(g->owner, g);
}

struct vigil_evaluator *
vigil_evaluator_create(const struct vigil_evaluator_config *cfg)
{
    struct vigil_evaluator *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->cfg = *cfg;
    e->rl = (struct vigil_ratelimit)VIGIL_RATELIMIT_INIT(60000, 5);
    const struct vigil_indicator_set *set = cfg->set;
    e->groups = calloc(set->n ? set->n : 1, sizeof(*e->groups));
    if (!e->groups)
        goto err_free_e;
    for (size_t i = 0; i < set->n; i++) {
        const struct vigil_indicator *ind = &set->v[i];
        struct group *g = NULL;
        for (size_t k = 0; k < e->n_groups && !g; k++)
            if (e->groups[k].frequency_ms == ind->frequency_ms)
                g = &e->groups[k];
        if (!g) {
            g = &e->groups[e->n_groups++];
            g->owner = e;
            g->frequency_ms = ind->frequency_ms;
            g->inds = calloc(set->n, sizeof(*g->inds));
            g->out = calloc(set->n, sizeof(*g->out));
            if (!g->inds || !g->out)
                goto err_free_groups;
        }
        /* A group found above was made here, with inds. */
        g->inds[g->n++] = ind; // NOLINT(clang-analyzer-core.NullDereference)
    }
    for (size_t k = 0; k < e->n_groups; k++)
        ev_timer_init(&e->groups[k].timer, on_timer, 0.,
                      (double)e->groups[k].frequency_ms / 1000.0);
    return e;

err_free_groups:
    for (size_t k = 0; k < e->n_groups; k++) {
        free(e->groups[k].inds);
        free(e->groups[k].out);
    }
    free(e->groups);
err_free_e:
    free(e);
    return NULL;
}

void vigil_evaluator_start(struct vigil_evaluator *e)
{
    for (size_t k = 0; k < e->n_groups; k++)
        ev_timer_start(e->cfg.loop, &e->groups[k].timer);
}

void vigil_evaluator_stop(struct vigil_evaluator *e)
{
    for (size_t k = 0; k < e->n_groups; k++)
        ev_timer_stop(e->cfg.loop, &e->groups[k].timer);
}

size_t vigil_evaluator_groups(const struct vigil_evaluator *e)
{
    return e->n_groups;
}

int vigil_evaluator_run_once(struct vigil_evaluator *e)
{
    int rc = 0;
    for (size_t k = 0; k < e->n_groups; k++)
        if (evaluate_group(e, &e->groups[k]) < 0)
            rc = -1;
    return rc;
}

void vigil_evaluator_destroy(struct vigil_evaluator *e)
{
    if (!e)
        return;
    vigil_evaluator_stop(e);
    for (size_t k = 0; k < e->n_groups; k++) {
        free(e->groups[k].inds);
        free(e->groups[k].out);
    }
    free(e->groups);
    if (e->ctx)
        redisFree(e->ctx);
    free(e);
}
