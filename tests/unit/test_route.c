/* route: which notifiers a notification reaches. */
#include <criterion/criterion.h>
#include <string.h>

#include "route.h"

/* Notifiers 0 oncall, 1 soc-webhook, 2 slack, 3 audit-log. */
static struct vigil_config_kv m_crit[] = {{"severity", "critical"}};
static struct vigil_config_kv m_team[] = {{"team", "identity"},
                                          {"state", "breach"}};
static struct vigil_config_kv m_ind[] = {{"indicator", "KPI-9"}};
static size_t n_oncall[] = {0};
static size_t n_webhook_slack[] = {1, 2};
static size_t n_slack_log[] = {2, 3};
static size_t n_log[] = {3};

static struct vigil_config_route routes[] = {
    {.match = {m_ind, 1}, .notify_index = n_log, .n_notify = 1},
    {.match = {m_crit, 1},
     .notify_index = n_oncall,
     .n_notify = 1,
     .cont = true},
    {.match = {m_team, 2}, .notify_index = n_webhook_slack, .n_notify = 2},
    {.match = {NULL, 0}, .notify_index = n_slack_log, .n_notify = 2},
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

static struct vigil_notification make(const char *action, const char *ind,
                                      const char *severity, const char *state,
                                      const char *previous, const char *team)
{
    const char *f[] = {"action",     action, "dedup",    "d:1",
                       "indicator",  ind,    "severity", severity,
                       "state",      state,  "previous", previous,
                       "label.team", team};
    size_t lens[14];
    for (size_t i = 0; i < 14; i++)
        lens[i] = strlen(f[i]);
    struct vigil_notification n;
    char err[128];
    cr_assert_eq(vigil_notification_parse(&n, f, lens, 14, err, sizeof(err)),
                 0);
    return n;
}

static size_t decide(const struct vigil_notification *n,
                     struct vigil_route_target *t)
{
    return vigil_route_decide(routes, N_ROUTES, n, t, 8);
}

Test(route, first_match_wins)
{
    struct vigil_notification n =
        make("trigger", "KPI-9", "critical", "breach", "ok", "identity");
    struct vigil_route_target t[8];
    cr_assert_eq(decide(&n, t), 1);
    cr_expect_eq(t[0].route, 0);
    cr_expect_eq(t[0].notifier, 3);
    vigil_notification_fini(&n);
}

Test(route, continue_keeps_matching_and_a_notifier_is_reached_once)
{
    struct vigil_notification n =
        make("trigger", "KPI-1", "critical", "breach", "ok", "identity");
    struct vigil_route_target t[8];
    cr_assert_eq(decide(&n, t), 3);
    cr_expect_eq(t[0].notifier, 0);
    cr_expect_eq(t[0].route, 1);
    cr_expect_eq(t[1].notifier, 1);
    cr_expect_eq(t[2].notifier, 2);
    cr_expect_eq(t[2].route, 2);
    vigil_notification_fini(&n);
}

Test(route, labels_and_state_must_all_match)
{
    struct vigil_notification n =
        make("trigger", "KPI-1", "high", "warn", "ok", "identity");
    struct vigil_route_target t[8];
    /* state warn fails route 2: falls through to the catch-all. */
    cr_assert_eq(decide(&n, t), 2);
    cr_expect_eq(t[0].route, 3);
    cr_expect_eq(t[0].notifier, 2);
    cr_expect_eq(t[1].notifier, 3);
    vigil_notification_fini(&n);
}

Test(route, a_resolve_routes_like_the_trigger_it_ends)
{
    struct vigil_notification n =
        make("resolve", "KPI-1", "high", "ok", "breach", "identity");
    struct vigil_route_target t[8];
    cr_assert_eq(decide(&n, t), 2);
    cr_expect_eq(t[0].route, 2);
    vigil_notification_fini(&n);
}

Test(route, no_route_means_no_delivery)
{
    struct vigil_notification n =
        make("trigger", "KPI-1", "high", "warn", "ok", "identity");
    struct vigil_route_target t[8];
    cr_expect_eq(vigil_route_decide(routes, 3, &n, t, 8), 0);
    vigil_notification_fini(&n);
}

Test(route, a_repeat_goes_to_its_own_route_only)
{
    struct vigil_notification n =
        make("trigger", "KPI-1", "critical", "breach", "ok", "identity");
    n.route = 2;
    struct vigil_route_target t[8];
    cr_assert_eq(decide(&n, t), 2);
    cr_expect_eq(t[0].notifier, 1);
    cr_expect_eq(t[1].notifier, 2);
    n.route = 17; /* a route that no longer exists */
    cr_expect_eq(decide(&n, t), 0);
    vigil_notification_fini(&n);
}

Test(route, reports_how_many_even_beyond_the_capacity)
{
    struct vigil_notification n =
        make("trigger", "KPI-1", "critical", "breach", "ok", "identity");
    struct vigil_route_target t[1];
    cr_expect_eq(vigil_route_decide(routes, N_ROUTES, &n, t, 1), 3);
    cr_expect_eq(t[0].notifier, 0);
    vigil_notification_fini(&n);
}
