/*
 * indicator_state: the state machine of one indicator (DESIGN.md section
 * 5), pure: no clock, no Redis, no allocation. The caller passes the time
 * of each evaluation and the measured value; the machine says which state
 * the indicator is in and which transition, if any, just happened.
 *
 * States are ok, warn, breach and no_data. Each evaluation first
 * CLASSIFIES the sample (the "raw" state):
 *   - too few samples (min_samples) -> no_data, whatever no_data: says;
 *   - no value -> the no_data: policy (keep = the current state, ok,
 *     no_data or breach);
 *   - a value -> the first decision entry that holds (ok when none does);
 *   - hysteresis: while in breach, a value for which `recover` does not
 *     hold stays breach;
 *   - a breach never resolves because data went missing: while in
 *     breach, a sample without (enough) data is breach.
 * Then TIMING decides whether the raw state is entered:
 *   - a worse state (warn or breach above the current one, or anything
 *     but ok from no_data) is entered once the raw state has been at
 *     least that bad for `for` (per level: warn for 40s then breach for
 *     20s enters warn at 60s when for = 60s, and breach 60s after the
 *     breach began); until then it is PENDING;
 *   - no_data is entered from ok or warn once data has been missing for
 *     `for`; no_data -> ok is immediate;
 *   - a better state (from warn or breach) is entered once the raw state
 *     has been at most that bad for `clear_for`; until then it is
 *     RECOVERING;
 *   - more than flap_changes changes of state within flap_window make
 *     the indicator FLAPPING: while flapping, better states are held back
 *     (worse ones still go through), until the window holds no more than
 *     flap_changes changes.
 * Run starts ("since when has the raw state been at least breach") are
 * part of the state, so they survive restarts when the state is stored.
 *
 * Times are epoch milliseconds (any origin in tests); VIGIL_ISTATE_NEVER
 * marks "none". Any thread; a struct vigil_istate belongs to its caller.
 */
#ifndef VIGIL_INDICATOR_STATE_H
#define VIGIL_INDICATOR_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "expr.h"

enum vigil_state {
    VIGIL_STATE_OK,
    VIGIL_STATE_WARN,
    VIGIL_STATE_BREACH,
    VIGIL_STATE_NO_DATA,
};
#define VIGIL_STATE_COUNT 4

/* "ok", "warn", "breach", "no_data". */
const char *vigil_state_name(enum vigil_state s);

/* Parses a state name from s[0..len); -1 for anything else. */
int vigil_state_parse(const char *s, size_t len, enum vigil_state *out);

/* What an indicator does when its value is no data. */
enum vigil_no_data_policy {
    VIGIL_NO_DATA_KEEP,    /* stay in the current state */
    VIGIL_NO_DATA_OK,      /* count it as ok */
    VIGIL_NO_DATA_NO_DATA, /* the no_data state (the default) */
    VIGIL_NO_DATA_BREACH,  /* count it as a breach */
};

/* "keep", "ok", "no_data", "breach". */
const char *vigil_no_data_policy_name(enum vigil_no_data_policy p);
int vigil_no_data_policy_parse(const char *s, size_t len,
                               enum vigil_no_data_policy *out);

/* Most flap changes remembered; flap_changes is at most one less. */
#define VIGIL_ISTATE_MAX_FLAPS 64
/* "None" for every time field. */
#define VIGIL_ISTATE_NEVER INT64_MIN

struct vigil_decision {
    enum vigil_state state; /* ok, warn or breach */
    struct vigil_threshold when;
};

/* The decision criteria and timing of one indicator (borrowed). */
struct vigil_istate_params {
    const struct vigil_decision *decision; /* in order; first that holds */
    size_t n_decision;
    bool has_recover;
    struct vigil_threshold recover; /* leave breach only when this holds */
    uint64_t for_ms;
    uint64_t clear_for_ms;
    double min_samples; /* 0: no minimum */
    enum vigil_no_data_policy no_data;
    unsigned flap_changes; /* 0: no flap detection */
    uint64_t flap_window_ms;
};

/*
 * The state of one indicator; plain data, so that indicator_store can
 * write every field to Redis and read it back. Zero is not a valid
 * state: start from vigil_istate_init().
 */
struct vigil_istate {
    enum vigil_state state;
    int64_t since_ms;     /* when state was entered; NEVER before the first */
    enum vigil_state raw; /* what the last sample alone said */
    bool has_value;       /* of the last evaluation */
    double value;         /* 0 when !has_value */
    int64_t last_eval_ms; /* NEVER before the first evaluation */
    uint64_t version;     /* the store's CAS version; the machine keeps it */
    /* Run starts of the raw state, NEVER when not in such a run. */
    int64_t warn_run_ms;   /* raw has been warn or breach since */
    int64_t breach_run_ms; /* raw has been breach since */
    int64_t ok_run_ms;     /* raw has been ok since */
    int64_t calm_run_ms;   /* raw has been ok or warn since */
    int64_t nodata_run_ms; /* raw has been no_data since */
    /* The current paged episode (see vigil_istate_step's page mask). */
    int64_t episode_ms;
    bool flapping;
    size_t n_flaps;                        /* changes in flaps[] */
    int64_t flaps[VIGIL_ISTATE_MAX_FLAPS]; /* times of changes, oldest first */
};

/* The fresh state: no_data, never evaluated. */
void vigil_istate_init(struct vigil_istate *s);

/* What happened in one evaluation. */
enum vigil_event_kind {
    VIGIL_EVENT_NONE,
    VIGIL_EVENT_OPENED,   /* entered breach */
    VIGIL_EVENT_RESOLVED, /* left breach */
    VIGIL_EVENT_CHANGED,  /* any other change of state */
};

/* "none", "opened", "resolved", "changed". */
const char *vigil_event_kind_name(enum vigil_event_kind k);

struct vigil_istate_event {
    enum vigil_event_kind kind;
    enum vigil_state state;    /* entered */
    enum vigil_state previous; /* left */
    int64_t since_ms;          /* when state was entered: the evaluation */
    int64_t previous_since_ms; /* when previous had been entered */
    bool has_value;
    double value;
    /* Paging (states in the page mask): */
    bool notify;        /* entered a paged state, or left one (a resolve) */
    int64_t episode_ms; /* opening of the paged episode (dedup key) */
};

/* What the indicator looks like after an evaluation. */
struct vigil_istate_view {
    enum vigil_state raw; /* what the sample alone says */
    bool pending;         /* a worse state waits for `for` */
    enum vigil_state pending_state;
    int64_t pending_since_ms;
    bool recovering; /* a better state waits for `clear_for` */
    enum vigil_state recovering_state;
    int64_t recovering_since_ms;
};

/* A bit per state for page masks: VIGIL_STATE_BIT(VIGIL_STATE_BREACH). */
#define VIGIL_STATE_BIT(s) (1u << (unsigned)(s))

/*
 * One evaluation at now_ms with the value v (has_value false: no data) and
 * the sample count samples (ignored when p->min_samples is 0; no data
 * counts as too few). Updates *s, fills *ev (kind NONE when the state did
 * not change) and, when view is not NULL, *view. page is a mask of
 * VIGIL_STATE_BIT()s: entering a paged state from an unpaged one opens an
 * episode (ev->notify, ev->episode_ms = now), moving between paged states
 * keeps it, leaving to an unpaged state notifies a resolve with the same
 * episode. An evaluation at or before s->last_eval_ms is still applied
 * (time never runs backwards inside the machine: durations clamp at 0).
 */
void vigil_istate_step(struct vigil_istate *s,
                       const struct vigil_istate_params *p, unsigned page,
                       int64_t now_ms, bool has_value, double v,
                       bool has_samples, double samples,
                       struct vigil_istate_event *ev,
                       struct vigil_istate_view *view);

/* The view of s at now_ms without evaluating (for status and snapshots). */
void vigil_istate_view(const struct vigil_istate *s,
                       const struct vigil_istate_params *p,
                       struct vigil_istate_view *view);

#endif
