/*
 * evaluator: the indicators evaluated continuously on the main libev loop
 * (DESIGN.md section 1). One ev_timer per distinct frequency fires first
 * at start and then every `frequency`; each tick evaluates the whole
 * group through indicator_store (one read pipeline, one CAS pipeline) and
 * hands every indicator's result to the snapshot callback (the HTTP feed,
 * /metrics, SSE). Nothing is kept in memory between ticks: every tick
 * starts from the state stored in Redis, so a restarted daemon resumes
 * exactly (a pending keeps its start, a breach stays a breach).
 *
 * Redis is reached with a blocking hiredis context owned by the
 * evaluator, made by the caller's connect callback; after an error the
 * context is dropped and the next tick connects again (the error is
 * logged rate-limited). Main thread only.
 */
#ifndef VIGIL_EVALUATOR_H
#define VIGIL_EVALUATOR_H

#include <ev.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>

#include "indicator.h"
#include "indicator_store.h"

/* What the feed gets for one indicator after one evaluation. */
struct vigil_indicator_snapshot {
    const struct vigil_indicator *ind; /* id, name, unit, target_text,
                                          owner, kind, entity, ... */
    int64_t at_ms;                     /* the evaluation's time */
    enum vigil_eval_outcome outcome;
    bool has_value;
    double value;
    enum vigil_state state;
    int64_t since_ms;
    const struct vigil_istate_view *view;   /* pending, recovering */
    const struct vigil_istate_event *event; /* kind NONE: no transition */
    const struct vigil_expr_key_count *top; /* top offenders, n_top */
    size_t n_top;
};

/* Called for every indicator of every tick; *snap is borrowed until the
 * callback returns. */
typedef void (*vigil_evaluator_snapshot_fn)(
    void *ctx, const struct vigil_indicator_snapshot *snap);

/* Returns a new blocking context (the evaluator frees it) or NULL. */
typedef redisContext *(*vigil_evaluator_connect_fn)(void *ctx);

struct vigil_evaluator_config {
    struct ev_loop *loop; /* borrowed */
    const struct vigil_indicator_set
        *set;                            /* borrowed, outlives the evaluator */
    struct vigil_indicator_store *store; /* borrowed */
    vigil_evaluator_connect_fn connect;
    void *connect_ctx;
    vigil_evaluator_snapshot_fn on_snapshot; /* may be NULL */
    void *snapshot_ctx;
    /* Epoch ms of an evaluation; NULL: the wall clock. */
    int64_t (*now_ms)(void *ctx);
    void *now_ctx;
};

struct vigil_evaluator;

/* NULL when out of memory. Nothing runs until _start. */
struct vigil_evaluator *
vigil_evaluator_create(const struct vigil_evaluator_config *cfg);

/* Stops the timers and frees everything (the Redis context too). */
void vigil_evaluator_destroy(struct vigil_evaluator *e);

/* Starts one timer per frequency group; the first tick is immediate. */
void vigil_evaluator_start(struct vigil_evaluator *e);

/* Stops every timer; the loop may then end. */
void vigil_evaluator_stop(struct vigil_evaluator *e);

/* Number of frequency groups (timers). */
size_t vigil_evaluator_groups(const struct vigil_evaluator *e);

/* Evaluates every indicator now, outside the timers (tests, SIGHUP).
 * Returns 0, or -1 when Redis failed for some group. */
int vigil_evaluator_run_once(struct vigil_evaluator *e);

#endif
