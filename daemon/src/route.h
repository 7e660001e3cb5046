/*
 * route: which notifiers a notification goes to (vigil.yaml `route`,
 * docs/NOTIFICATIONS.md "Routing"). Routes are tried in order; a route
 * matches when every `match` pair equals the notification's value for
 * that key (severity, indicator, state, action, dedup or a label name;
 * for a resolve, `state` is the paged state that ends). The first
 * matching route wins unless it has `continue: true`. A repeat (the
 * notification names its route) goes to that route's notifiers only.
 *
 * Pure functions over the immutable config; any thread.
 */
#ifndef VIGIL_ROUTE_H
#define VIGIL_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "notification.h"

/* One delivery: a notifier (index into vigil_config.notifiers) reached
 * through a route (index into vigil_config.routes). */
struct vigil_route_target {
    size_t route;
    size_t notifier;
};

/* Whether every match pair of r holds for n. */
bool vigil_route_matches(const struct vigil_config_route *r,
                         const struct vigil_notification *n);

/*
 * Fills out[0..cap) with the deliveries of n, each notifier at most once
 * (through the first route that names it) and returns how many there
 * are (which may exceed cap: only cap were written). 0: no route
 * matches.
 */
size_t vigil_route_decide(const struct vigil_config_route *routes,
                          size_t n_routes, const struct vigil_notification *n,
                          struct vigil_route_target *out, size_t cap);

#endif
