/*
 * payload: the exact JSON vigil sends to PagerDuty, Alertmanager, a
 * webhook and Slack for one fixed outbox entry, and the summary line.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"

static const char *const entry[] = {
    "indicator",
    "KPI-AC-02",
    "event",
    "opened",
    "state",
    "breach",
    "previous",
    "ok",
    "value",
    "52",
    "since",
    "1700000000000",
    "previous_since",
    "1699999000000",
    "duration_ms",
    "1000000",
    "severity",
    "high",
    "episode",
    "1700000000000",
    "action",
    "trigger",
    "dedup",
    "KPI-AC-02:1700000000000",
    "name",
    "SSH brute-force pressure",
    "unit",
    "failures per source per 5m",
    "target",
    "< 20",
    "owner",
    "soc-lead",
    "recommendation",
    "Block the top sources.",
    "offenders",
    "[{\"key\":\"194.117.26.69\",\"count\":60},{\"key\":\"10.0.0.1\","
    "\"count\":12}]",
    "label.iso27001",
    "A.8.5",
};

static const struct vigil_payload_env env = {
    .source = "vigil@test",
    .dashboard_url = "http://127.0.0.1:8089",
    .now_ms = 1700000060000,
    .am_valid_ms = 600000,
};

static struct vigil_notification fixed;

static void setup(void)
{
    size_t n = sizeof(entry) / sizeof(entry[0]);
    size_t lens[64];
    for (size_t i = 0; i < n; i++)
        lens[i] = strlen(entry[i]);
    char err[128];
    cr_assert_eq(
        vigil_notification_parse(&fixed, entry, lens, n, err, sizeof(err)), 0,
        "%s", err);
}

static void teardown(void)
{
    vigil_notification_fini(&fixed);
}

/* The fixed entry turned into the resolve of its episode. */
static void make_resolve(void)
{
    fixed.action = VIGIL_NOTIFY_RESOLVE;
    free(fixed.state);
    free(fixed.previous);
    fixed.state = strdup("ok");
    fixed.previous = strdup("breach");
    fixed.since_ms = 1700000030000;
}

static void expect(char *got, const char *want)
{
    cr_assert_not_null(got);
    cr_expect_str_eq(got, want);
    free(got);
}

TestSuite(payload, .init = setup, .fini = teardown);

Test(payload, pagerduty_trigger_has_every_field)
{
    expect(
        vigil_payload_pagerduty(&fixed, "R0UT1NG", &env),
        "{\"routing_key\":\"R0UT1NG\",\"event_action\":\"trigger\","
        "\"dedup_key\":\"KPI-AC-02:1700000000000\",\"payload\":{\"summary\":"
        "\"[BREACH] KPI-AC-02 SSH brute-force pressure: 52 failures per "
        "source per 5m (target < 20)\",\"severity\":\"error\",\"source\":"
        "\"vigil@test\",\"timestamp\":\"2023-11-14T22:13:20.000Z\","
        "\"component\":\"KPI-AC-02\",\"group\":\"soc-lead\",\"class\":"
        "\"breach\",\"custom_details\":{\"indicator\":\"KPI-AC-02\",\"name\":"
        "\"SSH brute-force pressure\",\"state\":\"breach\",\"previous\":"
        "\"ok\",\"value\":52,\"unit\":\"failures per source per 5m\","
        "\"threshold\":\"< 20\",\"severity\":\"high\",\"owner\":"
        "\"soc-lead\",\"since\":\"2023-11-14T22:13:20.000Z\",\"offenders\":"
        "[{\"key\":\"194.117.26.69\",\"count\":60},{\"key\":\"10.0.0.1\","
        "\"count\":12}],\"recommendation\":\"Block the top sources.\","
        "\"labels\":{\"iso27001\":\"A.8.5\"},\"dashboard\":"
        "\"http://127.0.0.1:8089/?indicator=KPI-AC-02\"}},\"links\":[{"
        "\"href\":\"http://127.0.0.1:8089/?indicator=KPI-AC-02\",\"text\":"
        "\"vigil dashboard\"}],\"client\":\"vigil\",\"client_url\":"
        "\"http://127.0.0.1:8089/?indicator=KPI-AC-02\"}");
}

Test(payload, pagerduty_resolve_carries_only_the_dedup_key)
{
    make_resolve();
    expect(vigil_payload_pagerduty(&fixed, "R0UT1NG", &env),
           "{\"routing_key\":\"R0UT1NG\",\"event_action\":\"resolve\","
           "\"dedup_key\":\"KPI-AC-02:1700000000000\"}");
}

Test(payload, pagerduty_severity_maps_five_levels_to_four)
{
    cr_expect_str_eq(vigil_payload_pd_severity("critical"), "critical");
    cr_expect_str_eq(vigil_payload_pd_severity("high"), "error");
    cr_expect_str_eq(vigil_payload_pd_severity("medium"), "warning");
    cr_expect_str_eq(vigil_payload_pd_severity("low"), "warning");
    cr_expect_str_eq(vigil_payload_pd_severity("info"), "info");
    cr_expect_str_eq(vigil_payload_pd_severity(""), "info");
}

Test(payload, pagerduty_summary_is_cut_at_1024_bytes_on_a_utf8_boundary)
{
    free(fixed.name);
    fixed.name = malloc(3001);
    cr_assert_not_null(fixed.name);
    for (size_t i = 0; i < 3000; i += 2)
        memcpy(fixed.name + i, "\xc3\xa9", 2); /* é */
    fixed.name[3000] = '\0';
    char buf[VIGIL_PAYLOAD_SUMMARY_MAX + 1];
    vigil_payload_summary(&fixed, buf, sizeof(buf));
    size_t len = strlen(buf);
    cr_expect_leq(len, 1024);
    cr_expect_geq(len, 1022);
    /* The last byte ends a character: no dangling lead byte. */
    cr_expect_neq((unsigned char)buf[len - 1], 0xc3);
}

Test(payload, alertmanager_trigger_fires_until_the_validity_ends)
{
    const struct vigil_notification *v[] = {&fixed};
    expect(
        vigil_payload_alertmanager(v, 1, &env),
        "[{\"labels\":{\"alertname\":\"KPI-AC-02\",\"severity\":\"high\","
        "\"state\":\"breach\",\"iso27001\":\"A.8.5\"},\"annotations\":{"
        "\"summary\":\"[BREACH] KPI-AC-02 SSH brute-force pressure: 52 "
        "failures per source per 5m (target < 20)\",\"name\":\"SSH "
        "brute-force pressure\",\"value\":\"52\",\"unit\":\"failures per "
        "source per 5m\",\"target\":\"< 20\",\"owner\":\"soc-lead\","
        "\"recommendation\":\"Block the top sources.\",\"offenders\":"
        "\"[{\\\"key\\\":\\\"194.117.26.69\\\",\\\"count\\\":60},{\\\"key\\\":"
        "\\\"10.0.0.1\\\",\\\"count\\\":12}]\",\"dedup_key\":"
        "\"KPI-AC-02:1700000000000\"},\"startsAt\":"
        "\"2023-11-14T22:13:20.000Z\",\"endsAt\":\"2023-11-14T22:24:20.000Z\","
        "\"generatorURL\":\"http://127.0.0.1:8089/?indicator=KPI-AC-02\"}]");
}

Test(payload, alertmanager_resolve_ends_the_alert_of_the_paged_state_now)
{
    make_resolve();
    const struct vigil_notification *v[] = {&fixed};
    char *s = vigil_payload_alertmanager(v, 1, &env);
    cr_assert_not_null(s);
    cr_expect(strstr(s, "\"state\":\"breach\"") != NULL, "%s", s);
    cr_expect(strstr(s, "\"endsAt\":\"2023-11-14T22:14:20.000Z\"") != NULL,
              "%s", s);
    cr_expect(strstr(s, "\"summary\":\"[RESOLVED] KPI-AC-02") != NULL, "%s", s);
    free(s);
}

Test(payload, alertmanager_move_between_paged_states_ends_the_old_alert)
{
    free(fixed.previous);
    fixed.previous = strdup("warn");
    fixed.since_ms = 1700000030000; /* later than the episode's start */
    const struct vigil_notification *v[] = {&fixed};
    char *s = vigil_payload_alertmanager(v, 1, &env);
    cr_assert_not_null(s);
    const char *warn = strstr(s, "\"state\":\"warn\"");
    const char *breach = strstr(s, "\"state\":\"breach\"");
    cr_expect(warn && breach && warn < breach, "%s", s);
    /* The warn alert ends now, the breach alert is valid for 10 min. */
    cr_expect(strstr(s, "\"endsAt\":\"2023-11-14T22:14:20.000Z\"") != NULL);
    cr_expect(strstr(s, "\"endsAt\":\"2023-11-14T22:24:20.000Z\"") != NULL);
    free(s);
}

Test(payload, alertmanager_label_names_are_sanitised_and_never_override)
{
    struct vigil_notification_label extra[] = {
        {"team-name", "soc"}, {"severity", "low"}, {"9lives", "x"}};
    fixed.labels = realloc(fixed.labels, 4 * sizeof(*fixed.labels));
    for (size_t i = 0; i < 3; i++) {
        fixed.labels[1 + i].name = strdup(extra[i].name);
        fixed.labels[1 + i].value = strdup(extra[i].value);
    }
    fixed.n_labels = 4;
    const struct vigil_notification *v[] = {&fixed};
    char *s = vigil_payload_alertmanager(v, 1, &env);
    cr_assert_not_null(s);
    cr_expect(strstr(s, "\"team_name\":\"soc\"") != NULL, "%s", s);
    cr_expect(strstr(s, "\"_lives\":\"x\"") != NULL, "%s", s);
    cr_expect(strstr(s, "\"severity\":\"low\"") == NULL, "%s", s);
    free(s);
}

Test(payload, webhook_is_vigils_documented_json)
{
    const struct vigil_notification *v[] = {&fixed};
    expect(
        vigil_payload_webhook(v, 1, &env),
        "{\"version\":1,\"source\":\"vigil@test\",\"grouped\":false,"
        "\"notifications\":[{\"action\":\"trigger\",\"dedup_key\":"
        "\"KPI-AC-02:1700000000000\",\"summary\":\"[BREACH] KPI-AC-02 SSH "
        "brute-force pressure: 52 failures per source per 5m (target < 20)\","
        "\"indicator\":\"KPI-AC-02\",\"name\":\"SSH brute-force pressure\","
        "\"state\":\"breach\",\"previous\":\"ok\",\"value\":52,\"unit\":"
        "\"failures per source per 5m\",\"threshold\":\"< 20\",\"since\":"
        "\"2023-11-14T22:13:20.000Z\",\"episode_start\":"
        "\"2023-11-14T22:13:20.000Z\",\"severity\":\"high\",\"owner\":"
        "\"soc-lead\",\"offenders\":[{\"key\":\"194.117.26.69\",\"count\":60},"
        "{\"key\":\"10.0.0.1\",\"count\":12}],\"recommendation\":\"Block the "
        "top sources.\",\"labels\":{\"iso27001\":\"A.8.5\"},\"dashboard\":"
        "\"http://127.0.0.1:8089/?indicator=KPI-AC-02\",\"repeat\":0}]}");
}

Test(payload, webhook_groups_several_notifications_in_one_body)
{
    const struct vigil_notification *v[] = {&fixed, &fixed};
    char *s = vigil_payload_webhook(v, 2, &env);
    cr_assert_not_null(s);
    cr_expect(strstr(s, "\"grouped\":true") != NULL);
    const char *first = strstr(s, "\"dedup_key\"");
    cr_expect(first && strstr(first + 1, "\"dedup_key\"") != NULL);
    free(s);
}

Test(payload, slack_message_has_a_coloured_attachment_and_escapes)
{
    const struct vigil_notification *v[] = {&fixed};
    expect(
        vigil_payload_slack(v, 1, "#soc", &env),
        "{\"channel\":\"#soc\",\"text\":\"[BREACH] KPI-AC-02 SSH brute-force "
        "pressure: 52 failures per source per 5m (target &lt; 20)\","
        "\"attachments\":[{\"color\":\"#d00000\",\"title\":\"KPI-AC-02 SSH "
        "brute-force pressure\",\"title_link\":"
        "\"http://127.0.0.1:8089/?indicator=KPI-AC-02\",\"text\":\"Block the "
        "top sources.\",\"fields\":[{\"title\":\"State\",\"value\":\"breach "
        "(was ok)\",\"short\":true},{\"title\":\"Value\",\"value\":\"52 "
        "failures per source per 5m\",\"short\":true},{\"title\":\"Target\","
        "\"value\":\"&lt; 20\",\"short\":true},{\"title\":\"Owner\","
        "\"value\":\"soc-lead\",\"short\":true},{\"title\":\"Top "
        "offenders\",\"value\":\"194.117.26.69 (60), 10.0.0.1 (12)\","
        "\"short\":false}],\"ts\":1700000000}]}");
}

Test(payload, slack_resolve_is_green_and_grouped_text_counts)
{
    make_resolve();
    struct vigil_notification other;
    cr_assert_eq(vigil_notification_copy(&other, &fixed), 0);
    other.action = VIGIL_NOTIFY_TRIGGER;
    const struct vigil_notification *v[] = {&fixed, &other};
    char *s = vigil_payload_slack(v, 2, NULL, &env);
    cr_assert_not_null(s);
    cr_expect(strstr(s, "\"channel\"") == NULL);
    cr_expect(strstr(s, "2 notifications: 1 firing, 1 resolved") != NULL, "%s",
              s);
    cr_expect(strstr(s, "#2eb886") != NULL);
    free(s);
    vigil_notification_fini(&other);
}

Test(payload, no_dashboard_means_no_links)
{
    struct vigil_payload_env e = env;
    e.dashboard_url = NULL;
    char *s = vigil_payload_pagerduty(&fixed, "K", &e);
    cr_assert_not_null(s);
    cr_expect(strstr(s, "links") == NULL);
    cr_expect(strstr(s, "dashboard") == NULL);
    free(s);
}

Test(payload, value_without_data_is_null_and_said_in_the_summary)
{
    fixed.has_value = false;
    const struct vigil_notification *v[] = {&fixed};
    char *s = vigil_payload_webhook(v, 1, &env);
    cr_assert_not_null(s);
    cr_expect(strstr(s, "\"value\":null") != NULL);
    cr_expect(strstr(s, "pressure: no data (target") != NULL, "%s", s);
    free(s);
}
