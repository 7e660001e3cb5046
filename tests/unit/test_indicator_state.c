#include <criterion/criterion.h>
#include <string.h>

#include "indicator_state.h"

#define S 1000
#define M (60 * S)

/* breach >= 50, warn >= 20, ok < 20 (the DESIGN example). */
static struct vigil_decision decision[3];
static struct vigil_istate_params params;
static struct vigil_istate st;
static unsigned page;

static struct vigil_threshold th(enum vigil_threshold_op op, double v)
{
    return (struct vigil_threshold){.op = op, .value = v};
}

static void setup(void)
{
    decision[0] =
        (struct vigil_decision){VIGIL_STATE_BREACH, th(VIGIL_THRESHOLD_GE, 50)};
    decision[1] =
        (struct vigil_decision){VIGIL_STATE_WARN, th(VIGIL_THRESHOLD_GE, 20)};
    decision[2] =
        (struct vigil_decision){VIGIL_STATE_OK, th(VIGIL_THRESHOLD_LT, 20)};
    memset(&params, 0, sizeof(params));
    params.decision = decision;
    params.n_decision = 3;
    params.no_data = VIGIL_NO_DATA_NO_DATA;
    page = VIGIL_STATE_BIT(VIGIL_STATE_BREACH);
    vigil_istate_init(&st);
}

TestSuite(indicator_state, .init = setup);

static struct vigil_istate_event ev;
static struct vigil_istate_view view;

static enum vigil_event_kind at(int64_t t, double v)
{
    vigil_istate_step(&st, &params, page, t, true, v, false, 0, &ev, &view);
    return ev.kind;
}

static enum vigil_event_kind missing(int64_t t)
{
    vigil_istate_step(&st, &params, page, t, false, 0, false, 0, &ev, &view);
    return ev.kind;
}

Test(indicator_state, starts_in_no_data_and_enters_ok_at_once)
{
    cr_assert_eq(st.state, VIGIL_STATE_NO_DATA);
    params.for_ms = M;
    params.clear_for_ms = M;
    cr_assert_eq(at(0, 5), VIGIL_EVENT_CHANGED);
    cr_assert_eq(st.state, VIGIL_STATE_OK);
    cr_assert_eq(ev.previous, VIGIL_STATE_NO_DATA);
    cr_assert_eq(st.since_ms, 0);
}

Test(indicator_state, worse_state_is_pending_until_for_has_passed)
{
    params.for_ms = M;
    at(0, 0);
    cr_assert_eq(at(15 * S, 60), VIGIL_EVENT_NONE);
    cr_assert_eq(st.state, VIGIL_STATE_OK);
    cr_assert(view.pending);
    cr_assert_eq(view.pending_state, VIGIL_STATE_BREACH);
    cr_assert_eq(view.pending_since_ms, 15 * S);
    cr_assert_eq(at(60 * S, 60), VIGIL_EVENT_NONE);
    cr_assert_eq(at(75 * S, 60), VIGIL_EVENT_OPENED);
    cr_assert_eq(st.state, VIGIL_STATE_BREACH);
    cr_assert_eq(ev.previous, VIGIL_STATE_OK);
    cr_assert_eq(ev.since_ms, 75 * S);
    cr_assert_eq(ev.value, 60);
    cr_assert(ev.notify);
    cr_assert_eq(ev.episode_ms, 75 * S);
    cr_assert_not(view.pending);
}

Test(indicator_state, pending_is_cancelled_when_the_value_falls_back)
{
    params.for_ms = M;
    at(0, 0);
    at(15 * S, 60);
    at(30 * S, 5);
    cr_assert_not(view.pending);
    at(45 * S, 60);
    cr_assert_eq(at(90 * S, 60), VIGIL_EVENT_NONE);
    cr_assert_eq(view.pending_since_ms, 45 * S);
    cr_assert_eq(at(105 * S, 60), VIGIL_EVENT_OPENED);
}

Test(indicator_state, each_level_has_its_own_pending_clock)
{
    params.for_ms = M;
    at(0, 0);
    at(10 * S, 30); /* warn run starts */
    at(40 * S, 60); /* breach run starts; warn run continues */
    cr_assert_eq(view.pending_state, VIGIL_STATE_BREACH);
    cr_assert_eq(at(70 * S, 60), VIGIL_EVENT_CHANGED);
    cr_assert_eq(st.state, VIGIL_STATE_WARN);
    cr_assert_eq(view.pending_state, VIGIL_STATE_BREACH);
    cr_assert_eq(view.pending_since_ms, 40 * S);
    cr_assert_eq(at(100 * S, 60), VIGIL_EVENT_OPENED);
    cr_assert_eq(ev.previous, VIGIL_STATE_WARN);
}

Test(indicator_state, better_state_is_recovering_until_clear_for)
{
    params.clear_for_ms = 2 * M;
    at(0, 60);
    cr_assert_eq(st.state, VIGIL_STATE_BREACH);
    cr_assert_eq(at(M, 5), VIGIL_EVENT_NONE);
    cr_assert(view.recovering);
    cr_assert_eq(view.recovering_state, VIGIL_STATE_OK);
    cr_assert_eq(view.recovering_since_ms, M);
    cr_assert_eq(at(2 * M, 5), VIGIL_EVENT_NONE);
    cr_assert_eq(at(3 * M, 5), VIGIL_EVENT_RESOLVED);
    cr_assert_eq(st.state, VIGIL_STATE_OK);
    cr_assert_eq(ev.previous, VIGIL_STATE_BREACH);
    cr_assert_eq(ev.previous_since_ms, 0);
    cr_assert(ev.notify);
    cr_assert_eq(ev.episode_ms, 0, "a resolve carries the opening time");
    cr_assert_eq(st.episode_ms, VIGIL_ISTATE_NEVER);
}

Test(indicator_state, breach_recovers_to_warn_when_only_warn_holds_long_enough)
{
    params.clear_for_ms = M;
    at(0, 60);
    at(10 * S, 30);
    cr_assert_eq(view.recovering_state, VIGIL_STATE_WARN);
    cr_assert_eq(at(70 * S, 30), VIGIL_EVENT_RESOLVED);
    cr_assert_eq(st.state, VIGIL_STATE_WARN);
}

Test(indicator_state, hysteresis_leaves_breach_only_when_recover_holds)
{
    params.has_recover = true;
    params.recover = th(VIGIL_THRESHOLD_LT, 15);
    at(0, 60);
    cr_assert_eq(at(S, 17), VIGIL_EVENT_NONE);
    cr_assert_eq(st.state, VIGIL_STATE_BREACH);
    cr_assert_eq(view.raw, VIGIL_STATE_BREACH);
    cr_assert_eq(at(2 * S, 14), VIGIL_EVENT_RESOLVED);
    cr_assert_eq(st.state, VIGIL_STATE_OK);
    /* Below breach and above recover, an ok indicator goes by decision. */
    at(3 * S, 17);
    cr_assert_eq(st.state, VIGIL_STATE_OK);
}

Test(indicator_state, breach_never_resolves_because_data_went_missing)
{
    params.no_data = VIGIL_NO_DATA_OK;
    at(0, 60);
    cr_assert_eq(missing(M), VIGIL_EVENT_NONE);
    cr_assert_eq(missing(10 * M), VIGIL_EVENT_NONE);
    cr_assert_eq(st.state, VIGIL_STATE_BREACH);
    cr_assert_not(st.has_value);
    cr_assert_eq(at(11 * M, 1), VIGIL_EVENT_RESOLVED);
}

Test(indicator_state, no_data_policies)
{
    at(0, 5);
    cr_assert_eq(missing(S), VIGIL_EVENT_CHANGED);
    cr_assert_eq(st.state, VIGIL_STATE_NO_DATA);
    cr_assert_eq(at(2 * S, 5), VIGIL_EVENT_CHANGED, "no_data -> ok at once");

    params.no_data = VIGIL_NO_DATA_OK;
    at(3 * S, 30);
    cr_assert_eq(st.state, VIGIL_STATE_WARN);
    missing(4 * S);
    cr_assert_eq(st.state, VIGIL_STATE_OK);

    params.no_data = VIGIL_NO_DATA_BREACH;
    cr_assert_eq(missing(5 * S), VIGIL_EVENT_OPENED);

    vigil_istate_init(&st);
    params.no_data = VIGIL_NO_DATA_KEEP;
    at(0, 30);
    cr_assert_eq(missing(S), VIGIL_EVENT_NONE);
    cr_assert_eq(st.state, VIGIL_STATE_WARN);
}

Test(indicator_state, keep_holds_a_pending_run)
{
    params.no_data = VIGIL_NO_DATA_KEEP;
    params.for_ms = M;
    at(0, 0);
    at(10 * S, 60);
    missing(40 * S);
    cr_assert(view.pending);
    cr_assert_eq(at(70 * S, 60), VIGIL_EVENT_OPENED);
}

Test(indicator_state, entering_no_data_waits_for_for)
{
    params.for_ms = M;
    at(0, 5);
    missing(S);
    cr_assert_eq(st.state, VIGIL_STATE_OK);
    cr_assert(view.pending);
    cr_assert_eq(view.pending_state, VIGIL_STATE_NO_DATA);
    cr_assert_eq(missing(61 * S), VIGIL_EVENT_CHANGED);
    cr_assert_eq(st.state, VIGIL_STATE_NO_DATA);
}

Test(indicator_state, min_samples_keeps_no_data)
{
    params.min_samples = 10;
    params.no_data = VIGIL_NO_DATA_OK; /* does not apply to too few */
    vigil_istate_step(&st, &params, page, 0, true, 90, true, 3, &ev, &view);
    cr_assert_eq(st.state, VIGIL_STATE_NO_DATA);
    cr_assert_eq(view.raw, VIGIL_STATE_NO_DATA);
    vigil_istate_step(&st, &params, page, S, true, 90, false, 0, &ev, &view);
    cr_assert_eq(st.state, VIGIL_STATE_NO_DATA, "no sample count is too few");
    vigil_istate_step(&st, &params, page, 2 * S, true, 90, true, 10, &ev,
                      &view);
    cr_assert_eq(st.state, VIGIL_STATE_BREACH);
    vigil_istate_step(&st, &params, page, 3 * S, true, 0, true, 1, &ev, &view);
    cr_assert_eq(st.state, VIGIL_STATE_BREACH,
                 "too few samples never resolve a breach");
}

Test(indicator_state, flapping_holds_resolves_back_until_stable)
{
    params.flap_changes = 3;
    params.flap_window_ms = 10 * M;
    int64_t t = 0;
    at(t, 0); /* fresh -> ok: not a flap */
    at(t += M, 60);
    at(t += M, 0);
    at(t += M, 60);
    cr_assert_eq(st.n_flaps, 3);
    cr_assert_not(st.flapping);
    at(t += M, 0); /* fourth change */
    cr_assert(st.flapping);
    cr_assert_eq(st.state, VIGIL_STATE_OK);
    at(t += M, 60); /* worse still goes through */
    cr_assert_eq(st.state, VIGIL_STATE_BREACH);
    cr_assert_eq(at(t += M, 0), VIGIL_EVENT_NONE, "resolve held back");
    cr_assert(view.recovering);
    /* The first change (at 1m) leaves the window at 11m: 4 remain. */
    cr_assert_eq(at(11 * M, 0), VIGIL_EVENT_NONE);
    cr_assert(st.flapping);
    cr_assert_eq(at(12 * M, 0), VIGIL_EVENT_RESOLVED);
    cr_assert_eq(st.n_flaps, 4, "3, 4, 5 and 12 minutes");
}

Test(indicator_state, page_mask_opens_keeps_and_closes_an_episode)
{
    page =
        VIGIL_STATE_BIT(VIGIL_STATE_WARN) | VIGIL_STATE_BIT(VIGIL_STATE_BREACH);
    at(0, 0);
    cr_assert_not(ev.notify);
    at(S, 30);
    cr_assert(ev.notify);
    cr_assert_eq(ev.episode_ms, S);
    at(2 * S, 60);
    cr_assert(ev.notify);
    cr_assert_eq(ev.kind, VIGIL_EVENT_OPENED);
    cr_assert_eq(ev.episode_ms, S, "escalation keeps the episode");
    at(3 * S, 0);
    cr_assert(ev.notify);
    cr_assert_eq(ev.kind, VIGIL_EVENT_RESOLVED);
    cr_assert_eq(ev.episode_ms, S);
    at(4 * S, 30);
    cr_assert_eq(ev.episode_ms, 4 * S, "a new episode");
}

Test(indicator_state, unmatched_value_is_ok_and_first_entry_wins)
{
    struct vigil_decision only[2] = {
        {VIGIL_STATE_BREACH, th(VIGIL_THRESHOLD_LT, 1)},
        {VIGIL_STATE_WARN, th(VIGIL_THRESHOLD_LT, 5)},
    };
    params.decision = only;
    params.n_decision = 2;
    at(0, 0);
    cr_assert_eq(st.state, VIGIL_STATE_BREACH);
    at(S, 3);
    cr_assert_eq(st.state, VIGIL_STATE_WARN);
    at(2 * S, 9);
    cr_assert_eq(st.state, VIGIL_STATE_OK);
}

Test(indicator_state, a_copied_state_resumes_exactly)
{
    params.for_ms = M;
    at(0, 0);
    at(10 * S, 60);
    struct vigil_istate saved = st; /* what the store keeps */
    vigil_istate_init(&st);
    st = saved;
    cr_assert_eq(at(70 * S, 60), VIGIL_EVENT_OPENED,
                 "the pending start survives");
}

Test(indicator_state, names_round_trip)
{
    for (unsigned i = 0; i < VIGIL_STATE_COUNT; i++) {
        enum vigil_state s;
        const char *n = vigil_state_name((enum vigil_state)i);
        cr_assert_eq(vigil_state_parse(n, strlen(n), &s), 0);
        cr_assert_eq((unsigned)s, i);
    }
    enum vigil_state s;
    cr_assert_eq(vigil_state_parse("okay", 4, &s), -1);
    enum vigil_no_data_policy p;
    cr_assert_eq(vigil_no_data_policy_parse("keep", 4, &p), 0);
    cr_assert_eq(p, VIGIL_NO_DATA_KEEP);
    cr_assert_eq(vigil_no_data_policy_parse("none", 4, &p), -1);
}
