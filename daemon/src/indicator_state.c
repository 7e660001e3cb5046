#include "indicator_state.h"

#include <string.h>

static const char *const state_names[VIGIL_STATE_COUNT] = {
    "ok",
    "warn",
    "breach",
    "no_data",
};

const char *vigil_state_name(enum vigil_state s)
{
    return (unsigned)s < VIGIL_STATE_COUNT ? state_names[s] : "?";
}

static bool word_is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

int vigil_state_parse(const char *s, size_t len, enum vigil_state *out)
{
    for (unsigned i = 0; i < VIGIL_STATE_COUNT; i++) {
        if (word_is(s, len, state_names[i])) {
            *out = (enum vigil_state)i;
            return 0;
        }
    }
    return -1;
}

static const char *const policy_names[] = {"keep", "ok", "no_data", "breach"};

const char *vigil_no_data_policy_name(enum vigil_no_data_policy p)
{
    return (unsigned)p < 4 ? policy_names[p] : "?";
}

int vigil_no_data_policy_parse(const char *s, size_t len,
                               enum vigil_no_data_policy *out)
{
    for (unsigned i = 0; i < 4; i++) {
        if (word_is(s, len, policy_names[i])) {
            *out = (enum vigil_no_data_policy)i;
            return 0;
        }
    }
    return -1;
}

const char *vigil_event_kind_name(enum vigil_event_kind k)
{
    switch (k) {
    case VIGIL_EVENT_NONE:
        return "none";
    case VIGIL_EVENT_OPENED:
        return "opened";
    case VIGIL_EVENT_RESOLVED:
        return "resolved";
    case VIGIL_EVENT_CHANGED:
        return "changed";
    }
    return "?";
}

void vigil_istate_init(struct vigil_istate *s)
{
    memset(s, 0, sizeof(*s));
    s->state = VIGIL_STATE_NO_DATA;
    s->raw = VIGIL_STATE_NO_DATA;
    s->since_ms = VIGIL_ISTATE_NEVER;
    s->last_eval_ms = VIGIL_ISTATE_NEVER;
    s->warn_run_ms = VIGIL_ISTATE_NEVER;
    s->breach_run_ms = VIGIL_ISTATE_NEVER;
    s->ok_run_ms = VIGIL_ISTATE_NEVER;
    s->calm_run_ms = VIGIL_ISTATE_NEVER;
    s->nodata_run_ms = VIGIL_ISTATE_NEVER;
    s->episode_ms = VIGIL_ISTATE_NEVER;
}

/* What the sample alone says, before timing. */
static enum vigil_state classify(const struct vigil_istate *s,
                                 const struct vigil_istate_params *p,
                                 bool has_value, double v, bool has_samples,
                                 double samples)
{
    bool too_few =
        p->min_samples > 0 && (!has_samples || !(samples >= p->min_samples));
    if (too_few || !has_value) {
        /* A breach never resolves because data went missing. */
        if (s->state == VIGIL_STATE_BREACH)
            return VIGIL_STATE_BREACH;
        if (too_few)
            return VIGIL_STATE_NO_DATA;
        switch (p->no_data) {
        case VIGIL_NO_DATA_KEEP:
            return s->raw;
        case VIGIL_NO_DATA_OK:
            return VIGIL_STATE_OK;
        case VIGIL_NO_DATA_BREACH:
            return VIGIL_STATE_BREACH;
        case VIGIL_NO_DATA_NO_DATA:
            break;
        }
        return VIGIL_STATE_NO_DATA;
    }
    enum vigil_state raw = VIGIL_STATE_OK;
    for (size_t i = 0; i < p->n_decision; i++) {
        if (vigil_threshold_holds(&p->decision[i].when, v)) {
            raw = p->decision[i].state;
            break;
        }
    }
    if (s->state == VIGIL_STATE_BREACH && raw != VIGIL_STATE_BREACH &&
        p->has_recover && !vigil_threshold_holds(&p->recover, v))
        raw = VIGIL_STATE_BREACH;
    return raw;
}

static void run(int64_t *start, bool in_run, int64_t now)
{
    if (!in_run)
        *start = VIGIL_ISTATE_NEVER;
    else if (*start == VIGIL_ISTATE_NEVER)
        *start = now;
}

/* Whether a run has lasted at least need_ms at now. */
static bool lasted(int64_t start, int64_t now, uint64_t need_ms)
{
    if (start == VIGIL_ISTATE_NEVER)
        return false;
    uint64_t d = now > start ? (uint64_t)now - (uint64_t)start : 0;
    return d >= need_ms;
}

/* Drops flap changes that fell out of the window ending at now. */
static void prune_flaps(struct vigil_istate *s,
                        const struct vigil_istate_params *p, int64_t now)
{
    size_t keep = 0;
    for (size_t i = 0; i < s->n_flaps; i++) {
        int64_t t = s->flaps[i];
        bool inside =
            now <= t || (uint64_t)now - (uint64_t)t < p->flap_window_ms;
        if (inside)
            s->flaps[keep++] = t;
    }
    s->n_flaps = keep;
    s->flapping = p->flap_changes > 0 && s->n_flaps > p->flap_changes;
}

static void record_flap(struct vigil_istate *s,
                        const struct vigil_istate_params *p, int64_t now)
{
    if (p->flap_changes == 0)
        return;
    if (s->n_flaps == VIGIL_ISTATE_MAX_FLAPS) {
        memmove(s->flaps, s->flaps + 1,
                (VIGIL_ISTATE_MAX_FLAPS - 1) * sizeof(s->flaps[0]));
        s->n_flaps--;
    }
    s->flaps[s->n_flaps++] = now;
    s->flapping = s->n_flaps > p->flap_changes;
}

/* The state timing enters at now, or s->state when none. */
static enum vigil_state decide(const struct vigil_istate *s,
                               const struct vigil_istate_params *p, int64_t now)
{
    enum vigil_state cur = s->state;
    bool low = cur == VIGIL_STATE_OK || cur == VIGIL_STATE_NO_DATA;
    if (cur != VIGIL_STATE_BREACH && lasted(s->breach_run_ms, now, p->for_ms))
        return VIGIL_STATE_BREACH;
    if (low && lasted(s->warn_run_ms, now, p->for_ms))
        return VIGIL_STATE_WARN;
    if (cur == VIGIL_STATE_NO_DATA && s->raw == VIGIL_STATE_OK)
        return VIGIL_STATE_OK;
    if ((cur == VIGIL_STATE_OK || cur == VIGIL_STATE_WARN) &&
        lasted(s->nodata_run_ms, now, p->for_ms))
        return VIGIL_STATE_NO_DATA;
    if ((cur == VIGIL_STATE_WARN || cur == VIGIL_STATE_BREACH) &&
        !s->flapping) {
        if (lasted(s->ok_run_ms, now, p->clear_for_ms))
            return VIGIL_STATE_OK;
        if (cur == VIGIL_STATE_BREACH &&
            lasted(s->calm_run_ms, now, p->clear_for_ms))
            return VIGIL_STATE_WARN;
    }
    return cur;
}

void vigil_istate_step(struct vigil_istate *s,
                       const struct vigil_istate_params *p, unsigned page,
                       int64_t now_ms, bool has_value, double v,
                       bool has_samples, double samples,
                       struct vigil_istate_event *ev,
                       struct vigil_istate_view *view)
{
    memset(ev, 0, sizeof(*ev));
    ev->kind = VIGIL_EVENT_NONE;
    ev->episode_ms = VIGIL_ISTATE_NEVER;
    bool fresh = s->since_ms == VIGIL_ISTATE_NEVER;

    enum vigil_state raw = classify(s, p, has_value, v, has_samples, samples);
    s->raw = raw;
    s->has_value = has_value;
    s->value = has_value ? v : 0;
    s->last_eval_ms = now_ms;
    run(&s->warn_run_ms, raw == VIGIL_STATE_WARN || raw == VIGIL_STATE_BREACH,
        now_ms);
    run(&s->breach_run_ms, raw == VIGIL_STATE_BREACH, now_ms);
    run(&s->ok_run_ms, raw == VIGIL_STATE_OK, now_ms);
    run(&s->calm_run_ms, raw == VIGIL_STATE_OK || raw == VIGIL_STATE_WARN,
        now_ms);
    run(&s->nodata_run_ms, raw == VIGIL_STATE_NO_DATA, now_ms);
    prune_flaps(s, p, now_ms);
    if (fresh)
        s->since_ms = now_ms;

    enum vigil_state next = decide(s, p, now_ms);
    if (next != s->state) {
        enum vigil_state prev = s->state;
        ev->kind = next == VIGIL_STATE_BREACH   ? VIGIL_EVENT_OPENED
                   : prev == VIGIL_STATE_BREACH ? VIGIL_EVENT_RESOLVED
                                                : VIGIL_EVENT_CHANGED;
        ev->state = next;
        ev->previous = prev;
        ev->since_ms = now_ms;
        ev->previous_since_ms = s->since_ms;
        bool paged_next = (page & VIGIL_STATE_BIT(next)) != 0;
        bool paged_prev = (page & VIGIL_STATE_BIT(prev)) != 0;
        if (paged_next && !paged_prev)
            s->episode_ms = now_ms;
        ev->notify = paged_next || paged_prev;
        ev->episode_ms = ev->notify ? s->episode_ms : VIGIL_ISTATE_NEVER;
        if (!paged_next)
            s->episode_ms = VIGIL_ISTATE_NEVER;
        s->state = next;
        s->since_ms = now_ms;
        /* Leaving the never-evaluated state is not a flap. */
        if (!fresh)
            record_flap(s, p, now_ms);
    }
    ev->has_value = s->has_value;
    ev->value = s->value;
    if (view)
        vigil_istate_view(s, p, view);
}

void vigil_istate_view(const struct vigil_istate *s,
                       const struct vigil_istate_params *p,
                       struct vigil_istate_view *view)
{
    (void)p;
    memset(view, 0, sizeof(*view));
    view->raw = s->raw;
    view->pending_since_ms = VIGIL_ISTATE_NEVER;
    view->recovering_since_ms = VIGIL_ISTATE_NEVER;
    enum vigil_state cur = s->state;
    bool low = cur == VIGIL_STATE_OK || cur == VIGIL_STATE_NO_DATA;
    if (cur != VIGIL_STATE_BREACH && s->breach_run_ms != VIGIL_ISTATE_NEVER) {
        view->pending = true;
        view->pending_state = VIGIL_STATE_BREACH;
        view->pending_since_ms = s->breach_run_ms;
    } else if (low && s->warn_run_ms != VIGIL_ISTATE_NEVER) {
        view->pending = true;
        view->pending_state = VIGIL_STATE_WARN;
        view->pending_since_ms = s->warn_run_ms;
    } else if ((cur == VIGIL_STATE_OK || cur == VIGIL_STATE_WARN) &&
               s->nodata_run_ms != VIGIL_ISTATE_NEVER) {
        view->pending = true;
        view->pending_state = VIGIL_STATE_NO_DATA;
        view->pending_since_ms = s->nodata_run_ms;
    }
    if (cur == VIGIL_STATE_WARN || cur == VIGIL_STATE_BREACH) {
        if (s->ok_run_ms != VIGIL_ISTATE_NEVER) {
            view->recovering = true;
            view->recovering_state = VIGIL_STATE_OK;
            view->recovering_since_ms = s->ok_run_ms;
        } else if (cur == VIGIL_STATE_BREACH &&
                   s->calm_run_ms != VIGIL_ISTATE_NEVER) {
            view->recovering = true;
            view->recovering_state = VIGIL_STATE_WARN;
            view->recovering_since_ms = s->calm_run_ms;
        }
    }
}
