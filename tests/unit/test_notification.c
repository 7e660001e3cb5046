/* notification: parsing outbox entries (hostile input) and match keys. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "notification.h"

static int parse(struct vigil_notification *n, const char *const *f,
                 size_t count, char *err)
{
    size_t lens[256];
    for (size_t i = 0; i < count; i++)
        lens[i] = strlen(f[i]);
    return vigil_notification_parse(n, f, lens, count, err, 128);
}

#define PARSE(n, err, ...)                                                     \
    parse(n, (const char *const[]){__VA_ARGS__},                               \
          sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *), err)

Test(notification, parses_a_minimal_entry_with_defaults)
{
    struct vigil_notification n;
    char err[128];
    cr_assert_eq(PARSE(&n, err, "action", "trigger", "dedup", "X:1",
                       "indicator", "X", "state", "breach"),
                 0, "%s", err);
    cr_expect_eq(n.action, VIGIL_NOTIFY_TRIGGER);
    cr_expect_str_eq(n.offenders, "[]");
    cr_expect_str_eq(n.owner, "");
    cr_expect_not(n.has_value);
    cr_expect_eq(n.route, -1);
    cr_expect_eq(n.repeat, 0);
    cr_expect_eq(n.since_ms, VIGIL_NOTIFICATION_NO_TIME);
    vigil_notification_fini(&n);
}

Test(notification, refuses_entries_without_required_fields)
{
    struct vigil_notification n;
    char err[128];
    cr_expect_eq(PARSE(&n, err, "action", "trigger", "indicator", "X", "state",
                       "breach"),
                 -1);
    cr_expect(strstr(err, "missing") != NULL);
    cr_expect_eq(PARSE(&n, err, "action", "page", "dedup", "X:1", "indicator",
                       "X", "state", "breach"),
                 -1);
    cr_expect_eq(PARSE(&n, err, "action"), -1);
}

Test(notification, reads_numbers_labels_repeat_and_route)
{
    struct vigil_notification n;
    char err[128];
    cr_assert_eq(PARSE(&n, err, "action", "resolve", "dedup", "X:5",
                       "indicator", "X", "state", "ok", "previous", "breach",
                       "value", "0.25", "since", "1700000000123", "episode",
                       "5", "label.team", "soc", "label.site", "fra", "repeat",
                       "3", "route", "2", "value", "junk"),
                 0, "%s", err);
    /* The last value wins and is not a number. */
    cr_expect_not(n.has_value);
    cr_expect_eq(n.since_ms, 1700000000123);
    cr_expect_eq(n.episode_ms, 5);
    cr_expect_eq(n.repeat, 3);
    cr_expect_eq(n.route, 2);
    cr_expect_str_eq(vigil_notification_label(&n, "site"), "fra");
    cr_expect_null(vigil_notification_label(&n, "nope"));
    vigil_notification_fini(&n);
}

Test(notification, match_state_of_a_resolve_is_the_state_that_ends)
{
    struct vigil_notification n;
    char err[128];
    cr_assert_eq(PARSE(&n, err, "action", "resolve", "dedup", "X:5",
                       "indicator", "X", "state", "ok", "previous", "breach",
                       "severity", "high", "label.team", "soc"),
                 0);
    cr_expect_str_eq(vigil_notification_match_value(&n, "state"), "breach");
    cr_expect_str_eq(vigil_notification_match_value(&n, "severity"), "high");
    cr_expect_str_eq(vigil_notification_match_value(&n, "indicator"), "X");
    cr_expect_str_eq(vigil_notification_match_value(&n, "action"), "resolve");
    cr_expect_str_eq(vigil_notification_match_value(&n, "team"), "soc");
    cr_expect_null(vigil_notification_match_value(&n, "site"));
    vigil_notification_fini(&n);
}

Test(notification, value_bytes_are_taken_by_length_not_by_nul)
{
    const char *f[] = {"action",    "trigger", "dedup", "X:1",
                       "indicator", "Xjunk",   "state", "breach"};
    size_t lens[] = {6, 7, 5, 3, 9, 1, 5, 6};
    struct vigil_notification n;
    char err[128];
    cr_assert_eq(vigil_notification_parse(&n, f, lens, 8, err, sizeof(err)), 0);
    cr_expect_str_eq(n.indicator, "X");
    vigil_notification_fini(&n);
}

Test(notification, refuses_oversized_values_and_too_many_labels)
{
    static char big[70000];
    memset(big, 'a', sizeof(big) - 1);
    struct vigil_notification n;
    char err[128];
    cr_expect_eq(PARSE(&n, err, "action", "trigger", "dedup", "X:1",
                       "indicator", "X", "state", "breach", "name", big),
                 -1);
    const char *f[2 * 70 + 8] = {"action",    "trigger", "dedup", "X:1",
                                 "indicator", "X",       "state", "breach"};
    char names[70][16];
    for (int i = 0; i < 70; i++) {
        snprintf(names[i], sizeof(names[i]), "label.l%d", i);
        f[8 + 2 * i] = names[i];
        f[9 + 2 * i] = "v";
    }
    cr_expect_eq(parse(&n, f, 8 + 140, err), -1);
}

Test(notification, formats_times_as_rfc3339_with_milliseconds)
{
    char buf[40];
    vigil_notification_time(1700000000123, buf, sizeof(buf));
    cr_expect_str_eq(buf, "2023-11-14T22:13:20.123Z");
    vigil_notification_time(VIGIL_NOTIFICATION_NO_TIME, buf, sizeof(buf));
    cr_expect_str_eq(buf, "");
}

Test(notification, copy_is_deep)
{
    struct vigil_notification n, c;
    char err[128];
    cr_assert_eq(PARSE(&n, err, "action", "trigger", "dedup", "X:1",
                       "indicator", "X", "state", "breach", "label.a", "b"),
                 0);
    cr_assert_eq(vigil_notification_copy(&c, &n), 0);
    vigil_notification_fini(&n);
    cr_expect_str_eq(c.dedup, "X:1");
    cr_expect_str_eq(vigil_notification_label(&c, "a"), "b");
    vigil_notification_fini(&c);
}
