/*
 * indicator_store: the indicators' side of Redis (DESIGN.md section 6,
 * docs/REDIS.md, docs/INDICATORS.md).
 *
 * One evaluation tick for a batch of indicators is two round trips on a
 * blocking hiredis context:
 *   1. one pipeline with every distinct query of every indicator (each a
 *      read script that walks the window's buckets inside Redis and
 *      answers one number, or the top keys) and every indicator's state
 *      hash vigil:{ns}:state:<id>;
 *   2. one pipeline with one compare-and-set script per indicator: it
 *      writes the new state only if the hash's `version` is still the one
 *      read in 1, and in the same atomic script XADDs the sample to
 *      vigil:{ns}:hist:<id> (value and state, and what the live feed
 *      frame shows besides: since, pending, recovering, the first
 *      offenders, the transition's kind; trimmed by MINID to the history
 *      retention),
 *      a transition to vigil:{ns}:breaches, and a notification for a paged
 *      state to vigil:{ns}:outbox. With several daemons evaluating the
 *      same indicator, exactly one records each transition; the others
 *      lose the CAS and drop their evaluation (the next tick starts from
 *      the stored state). An evaluation less than min_interval after the
 *      stored one is skipped the same way, so several daemons do not
 *      multiply the history.
 * Both scripts are loaded with SCRIPT LOAD (again after NOSCRIPT).
 *
 * A store belongs to one thread (the main loop's); the context is the
 * caller's.
 */
#ifndef VIGIL_INDICATOR_STORE_H
#define VIGIL_INDICATOR_STORE_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "expr.h"
#include "indicator.h"
#include "indicator_state.h"

struct vigil_indicator_store_config {
    const char *ns; /* keys are vigil:{ns}:...; copied */
    /* Counter kinds (one VIGIL_EXPR_ON_* bit; 0 unknown: no data). */
    vigil_expr_counter_kind_fn counter_kind;
    void *counter_ctx;
    int64_t resolution_s; /* bucket width of the counters, > 0 */
    /* A counter's own bucket width in seconds, or 0 for resolution_s;
     * NULL: every counter uses resolution_s. Same ctx as counter_kind. */
    int64_t (*counter_resolution)(void *ctx, const char *name);
    uint64_t hist_retention_ms; /* history kept per indicator; 0: 30d */
    uint64_t min_interval_ms;   /* see above; 0: no guard */
};

/* Offenders an evaluation's hist:<id> entry keeps (its field "top", for
 * replayed SSE frames): the first this many of the value's top keys. */
#define VIGIL_INDICATOR_STORE_HIST_TOP 5

struct vigil_indicator_store;

/* NULL when out of memory or ns is empty or holds '{', '}' or control
 * bytes, or resolution_s <= 0. */
struct vigil_indicator_store *
vigil_indicator_store_create(const struct vigil_indicator_store_config *cfg);
void vigil_indicator_store_destroy(struct vigil_indicator_store *s);

/* The last error (transport, reply, script), or "". */
const char *vigil_indicator_store_error(const struct vigil_indicator_store *s);

enum vigil_eval_outcome {
    VIGIL_EVAL_FAILED,   /* not evaluated (Redis error): nothing known */
    VIGIL_EVAL_RECORDED, /* this evaluation was written (CAS won) */
    VIGIL_EVAL_LOST,     /* another evaluator wrote first; nothing written */
    VIGIL_EVAL_SKIPPED,  /* within min_interval of the stored evaluation */
};

/* The result for one indicator; caller's storage, see _eval_fini. */
struct vigil_indicator_eval {
    enum vigil_eval_outcome outcome;
    struct vigil_istate state;       /* after the evaluation (RECORDED) or
                                        as read (LOST, SKIPPED) */
    struct vigil_istate_view view;   /* of state */
    struct vigil_istate_event event; /* kind NONE unless RECORDED */
    bool has_value;
    double value;
    /* Offenders of the value (top/topk), owned (see _eval_fini). */
    struct vigil_expr_key_count *top;
    size_t n_top;
};

/* Frees the offenders of evals[0..n). */
void vigil_indicator_eval_fini(struct vigil_indicator_eval *evals, size_t n);

/*
 * Evaluates inds[0..n) at now_ms (epoch ms; windows end at now minus
 * their offset): fetches, steps the state machines, writes with CAS.
 * Fills out[0..n) (call vigil_indicator_eval_fini on it afterwards, also
 * after an error). Returns 0, or -1 on a transport or protocol error
 * (nothing of this tick was written for the indicators whose outcome is
 * not RECORDED; after a transport error ctx is unusable). Blocking.
 */
int vigil_indicator_store_evaluate(struct vigil_indicator_store *s,
                                   redisContext *ctx,
                                   const struct vigil_indicator *const *inds,
                                   size_t n, int64_t now_ms,
                                   struct vigil_indicator_eval *out);

/*
 * Reads the stored states of the indicators with ids[0..n) in one
 * pipeline into states[0..n) (vigil_istate_init() for an indicator
 * without a stored state; found[i] says which). Blocking; 0 or -1.
 */
int vigil_indicator_store_read_states(struct vigil_indicator_store *s,
                                      redisContext *ctx, const char *const *ids,
                                      size_t n, struct vigil_istate *states,
                                      bool *found);

/*
 * Parses a state hash (HGETALL reply: field, value, ...) into *st.
 * Missing fields keep vigil_istate_init()'s values. Returns 0, or -1
 * for a reply that is not a flat array of strings. Any thread.
 */
int vigil_indicator_state_parse(const redisReply *r, struct vigil_istate *st);

#endif
