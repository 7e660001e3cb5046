#include "feed_dashboard.h"

#include <string.h>

#include "feed_dashboard_assets.h"

static const struct vigil_feed_asset assets[] = {
    {"/", "text/html; charset=utf-8", vigil_dashboard_html,
     sizeof(vigil_dashboard_html)},
    {"/dashboard.js", "text/javascript; charset=utf-8", vigil_dashboard_js,
     sizeof(vigil_dashboard_js)},
    {"/dashboard.css", "text/css; charset=utf-8", vigil_dashboard_css,
     sizeof(vigil_dashboard_css)},
};

const struct vigil_feed_asset *vigil_feed_dashboard_asset(const char *path)
{
    for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++)
        if (strcmp(assets[i].path, path) == 0)
            return &assets[i];
    return NULL;
}
