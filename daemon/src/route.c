#include "route.h"

#include <string.h>

bool vigil_route_matches(const struct vigil_config_route *r,
                         const struct vigil_notification *n)
{
    for (size_t i = 0; i < r->match.n; i++) {
        const char *v = vigil_notification_match_value(n, r->match.v[i].key);
        if (!v || strcmp(v, r->match.v[i].value) != 0)
            return false;
    }
    return true;
}

static size_t add(const struct vigil_config_route *r, size_t route,
                  struct vigil_route_target *out, size_t cap, size_t count)
{
    for (size_t k = 0; k < r->n_notify; k++) {
        size_t idx = r->notify_index[k];
        bool seen = false;
        for (size_t j = 0; j < count && j < cap; j++)
            seen = seen || out[j].notifier == idx;
        if (seen)
            continue;
        if (count < cap)
            out[count] = (struct vigil_route_target){route, idx};
        count++;
    }
    return count;
}

size_t vigil_route_decide(const struct vigil_config_route *routes,
                          size_t n_routes, const struct vigil_notification *n,
                          struct vigil_route_target *out, size_t cap)
{
    size_t count = 0;
    if (n->route >= 0) {
        if ((size_t)n->route < n_routes)
            count = add(&routes[n->route], (size_t)n->route, out, cap, 0);
        return count;
    }
    for (size_t i = 0; i < n_routes; i++) {
        if (!vigil_route_matches(&routes[i], n))
            continue;
        count = add(&routes[i], i, out, cap, count);
        if (!routes[i].cont)
            break;
    }
    return count;
}
