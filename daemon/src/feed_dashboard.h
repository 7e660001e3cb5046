/*
 * feed_dashboard: the live dashboard (GET /): one HTML page, its
 * stylesheet and its script, embedded in the binary at build time from
 * daemon/src/feed_dashboard.{html,css,js} (daemon/CMakeLists.txt). The
 * page loads nothing from elsewhere; the script is a separate file so
 * that the Content-Security-Policy needs no inline script.
 */
#ifndef VIGIL_FEED_DASHBOARD_H
#define VIGIL_FEED_DASHBOARD_H

#include <stddef.h>

struct vigil_feed_asset {
    const char *path; /* "/", "/dashboard.js", "/dashboard.css" */
    const char *content_type;
    const unsigned char *data; /* static */
    size_t len;
};

/* The asset served at path, or NULL. Any thread. */
const struct vigil_feed_asset *vigil_feed_dashboard_asset(const char *path);

#endif
