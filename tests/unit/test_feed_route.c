/* feed_route: methods and paths onto the feed's endpoints. */
#include <criterion/criterion.h>
#include <string.h>

#include "feed_route.h"

static struct vigil_feed_route route(const char *method, const char *path)
{
    struct vigil_feed_route r;
    vigil_feed_route(method, path, &r);
    return r;
}

static void assert_route(const char *method, const char *path,
                         enum vigil_feed_endpoint e, enum vigil_feed_access a)
{
    struct vigil_feed_route r = route(method, path);
    cr_assert_eq(r.endpoint, e, "%s %s: endpoint %d, want %d", method, path,
                 r.endpoint, e);
    cr_assert_eq(r.access, a, "%s %s: access %d, want %d", method, path,
                 r.access, a);
}

Test(feed_route, maps_every_endpoint_with_its_access)
{
    assert_route("GET", "/", VIGIL_FEED_DASHBOARD, VIGIL_FEED_PUBLIC);
    assert_route("GET", "/dashboard.js", VIGIL_FEED_ASSET, VIGIL_FEED_PUBLIC);
    assert_route("GET", "/dashboard.css", VIGIL_FEED_ASSET, VIGIL_FEED_PUBLIC);
    assert_route("GET", "/healthz", VIGIL_FEED_HEALTHZ, VIGIL_FEED_PUBLIC);
    assert_route("GET", "/readyz", VIGIL_FEED_READYZ, VIGIL_FEED_PUBLIC);
    assert_route("GET", "/metrics", VIGIL_FEED_METRICS, VIGIL_FEED_READ);
    assert_route("GET", "/api/v1/indicators", VIGIL_FEED_INDICATORS,
                 VIGIL_FEED_READ);
    assert_route("GET", "/api/v1/indicators/KPI-1", VIGIL_FEED_INDICATOR,
                 VIGIL_FEED_READ);
    assert_route("GET", "/api/v1/indicators/KPI-1/history", VIGIL_FEED_HISTORY,
                 VIGIL_FEED_READ);
    assert_route("GET", "/api/v1/stream", VIGIL_FEED_STREAM, VIGIL_FEED_READ);
    assert_route("GET", "/api/v1/breaches", VIGIL_FEED_BREACHES,
                 VIGIL_FEED_READ);
    assert_route("POST", "/api/v1/breaches/KPI-1:1700000000000/ack",
                 VIGIL_FEED_ACK, VIGIL_FEED_ADMIN);
    assert_route("GET", "/api/v1/silences", VIGIL_FEED_SILENCES,
                 VIGIL_FEED_READ);
    assert_route("POST", "/api/v1/silences", VIGIL_FEED_SILENCE_ADD,
                 VIGIL_FEED_ADMIN);
    assert_route("DELETE", "/api/v1/silences/0a1b2c3d", VIGIL_FEED_SILENCE_DEL,
                 VIGIL_FEED_ADMIN);
    assert_route("GET", "/api/v1/findings", VIGIL_FEED_FINDINGS,
                 VIGIL_FEED_READ);
    assert_route("POST", "/api/v1/session", VIGIL_FEED_SESSION_NEW,
                 VIGIL_FEED_PUBLIC);
    assert_route("DELETE", "/api/v1/session", VIGIL_FEED_SESSION_END,
                 VIGIL_FEED_PUBLIC);
}

Test(feed_route, head_is_routed_like_get)
{
    assert_route("HEAD", "/metrics", VIGIL_FEED_METRICS, VIGIL_FEED_READ);
}

Test(feed_route, the_id_is_a_view_into_the_path)
{
    const char *path = "/api/v1/indicators/KPI-AC.01/history";
    struct vigil_feed_route r = route("GET", path);
    cr_assert_eq(r.arg_len, strlen("KPI-AC.01"));
    cr_assert_eq(strncmp(r.arg, "KPI-AC.01", r.arg_len), 0);
    cr_assert(r.arg > path && r.arg < path + strlen(path));
}

Test(feed_route, a_wrong_method_on_a_known_path_is_405_with_allow)
{
    struct vigil_feed_route r = route("POST", "/api/v1/indicators");
    cr_assert_eq(r.endpoint, VIGIL_FEED_BAD_METHOD);
    cr_assert_str_eq(r.allow, "GET, HEAD");
    r = route("GET", "/api/v1/breaches/KPI-1/ack");
    cr_assert_eq(r.endpoint, VIGIL_FEED_BAD_METHOD);
    cr_assert_str_eq(r.allow, "POST");
    r = route("PUT", "/api/v1/silences");
    cr_assert_eq(r.endpoint, VIGIL_FEED_BAD_METHOD);
    cr_assert_str_eq(r.allow, "GET, HEAD, POST");
    r = route("GET", "/api/v1/silences/abc");
    cr_assert_eq(r.endpoint, VIGIL_FEED_BAD_METHOD);
    cr_assert_str_eq(r.allow, "DELETE");
}

Test(feed_route, unknown_paths_are_not_found)
{
    const char *paths[] = {
        "",
        "/index.html",
        "/metrics/",
        "/api/v1/indicators/",
        "/api/v1/indicatorsX",
        "/api/v1/indicators/KPI-1/",
        "/api/v1/indicators/KPI-1/history/x",
        "/api/v1/breaches/KPI-1",
        "/api/v1/breaches/KPI-1/ack/",
        "/api/v1/stream/x",
        "/API/V1/INDICATORS",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        cr_assert_eq(route("GET", paths[i]).endpoint, VIGIL_FEED_NOT_FOUND,
                     "%s", paths[i]);
}

Test(feed_route, ids_outside_the_alphabet_or_too_long_are_not_found)
{
    cr_assert_eq(route("GET", "/api/v1/indicators/..").endpoint,
                 VIGIL_FEED_NOT_FOUND);
    cr_assert_eq(route("GET", "/api/v1/indicators/.").endpoint,
                 VIGIL_FEED_NOT_FOUND);
    cr_assert_eq(route("GET", "/api/v1/indicators/a%2Fb").endpoint,
                 VIGIL_FEED_NOT_FOUND);
    cr_assert_eq(route("GET", "/api/v1/indicators/a b").endpoint,
                 VIGIL_FEED_NOT_FOUND);
    /* Indicator ids have no ':' (dedup keys do). */
    cr_assert_eq(route("GET", "/api/v1/indicators/a:1").endpoint,
                 VIGIL_FEED_NOT_FOUND);
    char path[600] = "/api/v1/indicators/";
    size_t n = strlen(path);
    memset(path + n, 'a', VIGIL_FEED_MAX_ID);
    path[n + VIGIL_FEED_MAX_ID] = '\0';
    cr_assert_eq(route("GET", path).endpoint, VIGIL_FEED_INDICATOR);
    path[n + VIGIL_FEED_MAX_ID] = 'a';
    path[n + VIGIL_FEED_MAX_ID + 1] = '\0';
    cr_assert_eq(route("GET", path).endpoint, VIGIL_FEED_NOT_FOUND);
}

Test(feed_route, unknown_methods_are_not_get)
{
    struct vigil_feed_route r = route("get", "/healthz");
    cr_assert_eq(r.endpoint, VIGIL_FEED_BAD_METHOD);
}
