/* feed_dashboard: the page, stylesheet and script embedded in the binary. */
#include <criterion/criterion.h>
#include <string.h>

#include "feed_dashboard.h"

static bool contains(const struct vigil_feed_asset *a, const char *needle)
{
    return memmem(a->data, a->len, needle, strlen(needle)) != NULL;
}

Test(feed_dashboard, serves_the_page_its_script_and_its_stylesheet)
{
    const struct vigil_feed_asset *page = vigil_feed_dashboard_asset("/");
    cr_assert_not_null(page);
    cr_assert_not_null(strstr(page->content_type, "text/html"));
    cr_assert(contains(page, "/dashboard.js"));
    const struct vigil_feed_asset *js =
        vigil_feed_dashboard_asset("/dashboard.js");
    cr_assert_not_null(js);
    cr_assert_not_null(strstr(js->content_type, "javascript"));
    cr_assert(contains(js, "new EventSource("));
    const struct vigil_feed_asset *css =
        vigil_feed_dashboard_asset("/dashboard.css");
    cr_assert_not_null(css);
    cr_assert_not_null(strstr(css->content_type, "text/css"));
}

Test(feed_dashboard, nothing_is_loaded_from_elsewhere_or_inline)
{
    const char *paths[] = {"/", "/dashboard.js", "/dashboard.css"};
    for (size_t i = 0; i < 3; i++) {
        const struct vigil_feed_asset *a = vigil_feed_dashboard_asset(paths[i]);
        /* (The SVG namespace URI is a name, not a fetch.) */
        const char *remote[] = {"src=\"http", "href=\"http",  "src=\"//",
                                "href=\"//",  "url(http",     "url(//",
                                "@import",    "fetch(\"http", "https://"};
        for (size_t k = 0; k < sizeof(remote) / sizeof(remote[0]); k++)
            cr_assert_not(contains(a, remote[k]), "%s: %s", paths[i],
                          remote[k]);
    }
    /* The CSP allows no inline script. */
    cr_assert_not(contains(vigil_feed_dashboard_asset("/"), "<script>"));
}

Test(feed_dashboard, unknown_paths_have_no_asset)
{
    cr_assert_null(vigil_feed_dashboard_asset("/index.html"));
    cr_assert_null(vigil_feed_dashboard_asset("/dashboard.js/"));
    cr_assert_null(vigil_feed_dashboard_asset(""));
}
