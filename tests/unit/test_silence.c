/* silence: matching, activity windows, the stored JSON, times. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "silence.h"

static struct vigil_notification make(const char *action, const char *state,
                                      const char *previous)
{
    const char *f[] = {"action",     action,  "dedup",    "KPI-1:1",
                       "indicator",  "KPI-1", "severity", "high",
                       "state",      state,   "previous", previous,
                       "label.site", "fra"};
    size_t lens[14];
    for (size_t i = 0; i < 14; i++)
        lens[i] = strlen(f[i]);
    struct vigil_notification n;
    char err[128];
    cr_assert_eq(vigil_notification_parse(&n, f, lens, 14, err, sizeof(err)),
                 0);
    return n;
}

static struct vigil_silence silence(int64_t starts, int64_t ends)
{
    struct vigil_silence s = {0};
    snprintf(s.id, sizeof(s.id), "abc");
    s.starts_ms = starts;
    s.ends_ms = ends;
    s.author = strdup("alice");
    s.reason = strdup("maintenance");
    return s;
}

Test(silence, matches_while_active_when_every_matcher_holds)
{
    struct vigil_silence s = silence(1000, 2000);
    cr_assert_eq(vigil_silence_add_matcher(&s, "indicator=KPI-1"), 0);
    cr_assert_eq(vigil_silence_add_matcher(&s, "site=fra"), 0);
    struct vigil_notification n = make("trigger", "breach", "ok");
    cr_expect(vigil_silence_matches(&s, &n, 1000));
    cr_expect(vigil_silence_matches(&s, &n, 1999));
    cr_expect_not(vigil_silence_matches(&s, &n, 999));
    cr_expect_not(vigil_silence_matches(&s, &n, 2000));
    cr_assert_eq(vigil_silence_add_matcher(&s, "severity=critical"), 0);
    cr_expect_not(vigil_silence_matches(&s, &n, 1500));
    vigil_notification_fini(&n);
    vigil_silence_fini(&s);
}

Test(silence, a_resolve_matches_on_the_state_that_ends)
{
    struct vigil_silence s = silence(0, 10);
    cr_assert_eq(vigil_silence_add_matcher(&s, "state=breach"), 0);
    struct vigil_notification n = make("resolve", "ok", "breach");
    cr_expect(vigil_silence_matches(&s, &n, 5));
    vigil_notification_fini(&n);
    vigil_silence_fini(&s);
}

Test(silence, without_matchers_it_silences_nothing)
{
    struct vigil_silence s = silence(0, 10);
    struct vigil_notification n = make("trigger", "breach", "ok");
    cr_expect_not(vigil_silence_matches(&s, &n, 5));
    vigil_notification_fini(&n);
    vigil_silence_fini(&s);
}

Test(silence, matcher_syntax_is_key_equals_value)
{
    struct vigil_silence s = {0};
    cr_expect_eq(vigil_silence_add_matcher(&s, "novalue"),
                 VIGIL_SILENCE_INVALID);
    cr_expect_eq(vigil_silence_add_matcher(&s, "=x"), VIGIL_SILENCE_INVALID);
    cr_expect_eq(vigil_silence_add_matcher(&s, "k=a=b"), 0);
    cr_expect_str_eq(s.matchers[0].value, "a=b");
    cr_expect_eq(vigil_silence_add_matcher(&s, "empty="), 0);
    cr_expect_str_eq(s.matchers[1].value, "");
    vigil_silence_fini(&s);
}

Test(silence, json_round_trips)
{
    struct vigil_silence s = silence(1700000000000, 1700007200000);
    s.created_ms = 1699999999000;
    cr_assert_eq(vigil_silence_add_matcher(&s, "indicator=KPI-1"), 0);
    char *json = vigil_silence_to_json(&s);
    cr_assert_not_null(json);
    cr_expect_str_eq(json, "{\"matchers\":{\"indicator\":\"KPI-1\"},\"starts\":"
                           "\"2023-11-14T22:13:20.000Z\",\"ends\":"
                           "\"2023-11-15T00:13:20.000Z\",\"created\":"
                           "\"2023-11-14T22:13:19.000Z\",\"author\":\"alice\","
                           "\"reason\":\"maintenance\"}");
    struct vigil_silence back;
    char err[128];
    cr_assert_eq(
        vigil_silence_from_json(&back, "abc", json, strlen(json), err, 128), 0,
        "%s", err);
    cr_expect_eq(back.starts_ms, s.starts_ms);
    cr_expect_eq(back.ends_ms, s.ends_ms);
    cr_expect_eq(back.created_ms, s.created_ms);
    cr_expect_str_eq(back.matchers[0].key, "indicator");
    cr_expect_str_eq(back.author, "alice");
    free(json);
    vigil_silence_fini(&back);
    vigil_silence_fini(&s);
}

Test(silence, refuses_stored_json_that_is_not_a_silence)
{
    struct vigil_silence s;
    char err[128];
    const char *bad[] = {"", "[]", "{\"matchers\":[]}",
                         "{\"matchers\":{\"a\":1},\"starts\":\"x\"}",
                         "{\"matchers\":{},\"starts\":\"yesterday\","
                         "\"ends\":\"2023-11-14T22:13:20Z\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect_eq(vigil_silence_from_json(&s, "x", bad[i], strlen(bad[i]),
                                             err, sizeof(err)),
                     VIGIL_SILENCE_INVALID, "%s", bad[i]);
}

Test(silence, parses_rfc3339_and_epoch_seconds)
{
    int64_t ms;
    cr_assert_eq(vigil_silence_parse_time("2023-11-14T22:13:20Z", &ms), 0);
    cr_expect_eq(ms, 1700000000000);
    cr_assert_eq(vigil_silence_parse_time("2023-11-14T22:13:20.5Z", &ms), 0);
    cr_expect_eq(ms, 1700000000500);
    cr_assert_eq(vigil_silence_parse_time("1700000000", &ms), 0);
    cr_expect_eq(ms, 1700000000000);
    cr_expect_eq(vigil_silence_parse_time("2023-11-14 22:13:20", &ms), -1);
    cr_expect_eq(vigil_silence_parse_time("2023-13-14T22:13:20Z", &ms), -1);
    cr_expect_eq(vigil_silence_parse_time("2023-11-14T22:13:20+02:00", &ms),
                 -1);
    cr_expect_eq(vigil_silence_parse_time("", &ms), -1);
}

Test(silence, the_first_matching_silence_of_a_list_wins)
{
    struct vigil_silence v[2] = {silence(0, 10), silence(0, 10)};
    snprintf(v[1].id, sizeof(v[1].id), "second");
    cr_assert_eq(vigil_silence_add_matcher(&v[0], "site=ber"), 0);
    cr_assert_eq(vigil_silence_add_matcher(&v[1], "site=fra"), 0);
    struct vigil_silence_list l = {v, 2};
    struct vigil_notification n = make("trigger", "breach", "ok");
    const struct vigil_silence *m = vigil_silence_list_match(&l, &n, 5);
    cr_assert_not_null(m);
    cr_expect_str_eq(m->id, "second");
    cr_expect_null(vigil_silence_list_match(&l, &n, 10));
    vigil_notification_fini(&n);
    vigil_silence_fini(&v[0]);
    vigil_silence_fini(&v[1]);
}
