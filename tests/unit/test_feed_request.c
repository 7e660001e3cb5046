/* feed_request: query-string values and the bodies of the write
 * endpoints. */
#include <criterion/criterion.h>
#include <string.h>

#include "feed_request.h"

#define NOW 1700000000000LL

Test(feed_request, durations_add_their_parts)
{
    int64_t d;
    cr_assert(vigil_feed_parse_duration("90s", &d));
    cr_assert_eq(d, 90000);
    cr_assert(vigil_feed_parse_duration("1h30m", &d));
    cr_assert_eq(d, 5400000);
    cr_assert(vigil_feed_parse_duration("2w", &d));
    cr_assert_eq(d, 14LL * 86400000);
}

Test(feed_request, malformed_or_huge_durations_are_refused)
{
    int64_t d;
    const char *bad[] = {"",     "5", "h", "5x", "-5m", "1h ", "99999999999s",
                         "4000d"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_not(vigil_feed_parse_duration(bad[i], &d), "%s", bad[i]);
}

Test(feed_request, times_are_epoch_ms_iso_8601_or_relative)
{
    int64_t t;
    cr_assert(vigil_feed_parse_time("1600000000000", NOW, &t));
    cr_assert_eq(t, 1600000000000LL);
    cr_assert(vigil_feed_parse_time("2023-11-14T22:13:20Z", NOW, &t));
    cr_assert_eq(t, NOW);
    cr_assert(vigil_feed_parse_time("2023-11-14T22:13:20.25Z", NOW, &t));
    cr_assert_eq(t, NOW + 250);
    cr_assert(vigil_feed_parse_time("-1h", NOW, &t));
    cr_assert_eq(t, NOW - 3600000);
}

Test(feed_request, times_without_utc_or_with_junk_are_refused)
{
    int64_t t;
    const char *bad[] = {"",
                         "2023-11-14T22:13:20",
                         "2023-11-14T22:13:20+01:00",
                         "2023-11-14",
                         "yesterday",
                         "1-2",
                         "2023-11-14T22:13:20Zjunk"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_not(vigil_feed_parse_time(bad[i], NOW, &t), "%s", bad[i]);
}

Test(feed_request, limits_default_clamp_and_refuse_zero)
{
    unsigned n;
    cr_assert(vigil_feed_parse_limit(NULL, 100, 1000, &n));
    cr_assert_eq(n, 100);
    cr_assert(vigil_feed_parse_limit("5", 100, 1000, &n));
    cr_assert_eq(n, 5);
    cr_assert(vigil_feed_parse_limit("99999999", 100, 1000, &n));
    cr_assert_eq(n, 1000);
    cr_assert_not(vigil_feed_parse_limit("0", 100, 1000, &n));
    cr_assert_not(vigil_feed_parse_limit("-1", 100, 1000, &n));
    cr_assert_not(vigil_feed_parse_limit("ten", 100, 1000, &n));
}

Test(feed_request, an_ack_body_is_optional_and_has_defaults)
{
    struct vigil_feed_ack_req a;
    cr_assert_eq(vigil_feed_ack_parse("", 0, &a), 0);
    cr_assert_str_eq(a.author, "api");
    cr_assert_str_eq(a.comment, "");
    vigil_feed_ack_req_fini(&a);
    const char *b = "{\"author\":\"alice\",\"comment\":\"on it\"}";
    cr_assert_eq(vigil_feed_ack_parse(b, strlen(b), &a), 0);
    cr_assert_str_eq(a.author, "alice");
    cr_assert_str_eq(a.comment, "on it");
    vigil_feed_ack_req_fini(&a);
}

Test(feed_request, ack_bodies_of_the_wrong_shape_are_refused)
{
    struct vigil_feed_ack_req a;
    char long_author[300] = "{\"author\":\"";
    memset(long_author + strlen(long_author), 'a', 200);
    strcat(long_author, "\"}");
    const char *bad[] = {"[]", "{\"author\":5}", "{", "null", long_author};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(vigil_feed_ack_parse(bad[i], strlen(bad[i]), &a), -1, "%s",
                     bad[i]);
}

Test(feed_request, a_silence_has_matchers_and_an_end_in_the_future)
{
    struct vigil_feed_silence_req s;
    const char *why;
    const char *b = "{\"matcher\":{\"indicator\":\"KPI-1\",\"severity\":"
                    "\"high\"},\"duration\":\"2h\",\"author\":\"bob\"}";
    cr_assert_eq(vigil_feed_silence_parse(b, strlen(b), NOW, &s, &why), 0);
    cr_assert_eq(s.matcher.n, 2);
    cr_assert_str_eq(s.matcher.v[1].key, "severity");
    cr_assert_str_eq(s.matcher.v[1].value, "high");
    cr_assert_eq(s.until_ms, NOW + 7200000);
    cr_assert_str_eq(s.author, "bob");
    cr_assert_str_eq(s.reason, "");
    vigil_feed_silence_req_fini(&s);
    b = "{\"matcher\":{\"a\":\"b\"},\"until\":\"2030-01-01T00:00:00Z\"}";
    cr_assert_eq(vigil_feed_silence_parse(b, strlen(b), NOW, &s, &why), 0);
    cr_assert_eq(s.until_ms, 1893456000000LL);
    vigil_feed_silence_req_fini(&s);
}

Test(feed_request, silences_without_matchers_or_end_or_in_the_past_are_refused)
{
    struct vigil_feed_silence_req s;
    const char *why;
    const char *bad[] = {
        "",
        "{}",
        "{\"matcher\":{},\"duration\":\"1h\"}",
        "{\"matcher\":{\"a\":\"b\"}}",
        "{\"matcher\":{\"a\":1},\"duration\":\"1h\"}",
        "{\"matcher\":{\"\":\"b\"},\"duration\":\"1h\"}",
        "{\"matcher\":[\"a\"],\"duration\":\"1h\"}",
        "{\"matcher\":{\"a\":\"b\"},\"duration\":\"soon\"}",
        "{\"matcher\":{\"a\":\"b\"},\"until\":\"-1h\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(
            vigil_feed_silence_parse(bad[i], strlen(bad[i]), NOW, &s, &why), -1,
            "%s", bad[i]);
        cr_assert_not_null(why);
    }
    const char *past = "{\"matcher\":{\"a\":\"b\"},\"until\":\"-1h\"}";
    vigil_feed_silence_parse(past, strlen(past), NOW, &s, &why);
    cr_assert_str_eq(why, "until is past");
}

Test(feed_request, at_most_32_matchers)
{
    char b[2048] = "{\"matcher\":{";
    for (int i = 0; i < 33; i++)
        snprintf(b + strlen(b), sizeof(b) - strlen(b), "%s\"k%d\":\"v\"",
                 i ? "," : "", i);
    strcat(b, "},\"duration\":\"1h\"}");
    struct vigil_feed_silence_req s;
    const char *why;
    cr_assert_eq(vigil_feed_silence_parse(b, strlen(b), NOW, &s, &why), -1);
}
