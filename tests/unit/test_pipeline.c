/*
 * pipeline: the findings a match of a `record: true` rule puts into the
 * batch (the counters are covered by the integration tests).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "pipeline.h"
#include "rule_set.h"

static const char rules[] =
    "pack: p\n"
    "rules:\n"
    "  - id: sshd.fail\n"
    "    title: SSH failure\n"
    "    severity: high\n"
    "    match: 'Failed password for (?<user>\\S+) from (?<src_ip>\\S+)"
    "(?: (?<topic>x))?(?<none>y)?'\n"
    "    count: [{counter: fails}]\n"
    "    record: true\n"
    "    tags: [attack.t1110, 'iso27001:A.8.5']\n"
    "  - id: sshd.fail_quiet\n"
    "    title: SSH failure, counted only\n"
    "    severity: low\n"
    "    match: 'Failed password'\n"
    "    count: [{counter: fails}]\n"
    "  - id: long\n"
    "    title: Long line\n"
    "    severity: info\n"
    "    match: '^long (?<rest>.*)'\n"
    "    record: true\n"
    "  - id: win.cleared\n"
    "    title: Audit log cleared\n"
    "    severity: critical\n"
    "    field: event.code\n"
    "    match: '^1102$'\n"
    "    count:\n"
    "      - counter: cleared_by_host\n"
    "        by: host.name\n"
    "      - counter: cleared_by\n"
    "        distinct: winlog.user_data.SubjectUserName\n"
    "    record: true\n";

static struct {
    struct vigil_rule_set *set;
    struct vigil_pipeline_stats stats;
    struct vigil_pipeline p;
} fx;

static void start(uint64_t findings_max_len)
{
    struct vigil_diags diags;
    vigil_diags_init(&diags);
    struct vigil_rule_source src = {"p.yaml", rules, strlen(rules)};
    fx.set = vigil_rule_set_load_sources(&src, 1, NULL, &diags);
    if (!fx.set)
        vigil_diags_print(&diags, stderr);
    vigil_diags_fini(&diags);
    cr_assert_not_null(fx.set);
    memset(&fx.stats, 0, sizeof(fx.stats));
    struct vigil_pipeline_options po = {
        .decode = {.format = VIGIL_FORMAT_JSON, .time_field = "@timestamp"},
        .retention_s = 86400,
        .resolution_s = 10,
        .findings_max_len = findings_max_len,
    };
    const char *why = NULL;
    cr_assert_eq(vigil_pipeline_init(&fx.p, fx.set, &po, &fx.stats, &why), 0,
                 "%s", why);
    vigil_batch_reset(fx.p.batch, 1700000000000);
}

static void stop(void)
{
    vigil_pipeline_fini(&fx.p);
    vigil_rule_set_unref(fx.set);
}

static int feed(const char *json)
{
    const char *reason = NULL;
    return vigil_pipeline_feed(&fx.p, json, strlen(json), 1700000000000,
                               &reason);
}

/* Finding i as "name=value|name=value|...". */
static const char *finding(size_t i)
{
    static char buf[4096];
    size_t len = 0;
    buf[0] = '\0';
    for (size_t j = 0; j < vigil_batch_finding_fields(fx.p.batch, i); j++) {
        struct vigil_batch_field f =
            vigil_batch_finding_field(fx.p.batch, i, j);
        int n = snprintf(buf + len, sizeof(buf) - len, "%s%.*s=%.*s",
                         j ? "|" : "", (int)f.name.len, f.name.ptr,
                         (int)f.value.len, f.value.ptr);
        len += (size_t)n;
    }
    return buf;
}

Test(pipeline, a_record_rule_match_becomes_one_finding_with_provenance)
{
    start(10000);
    fx.p.origin = (struct vigil_pipeline_origin){
        .topic = "security-events", .partition = 3, .offset = 41};
    cr_assert_eq(feed("{\"@timestamp\":\"2023-11-14T22:13:20Z\","
                      "\"host\":{\"name\":\"bastion-1\"},"
                      "\"message\":\"Failed password for root from "
                      "203.0.113.7 x\"}"),
                 2);
    cr_assert_eq(vigil_batch_n_findings(fx.p.batch), 1,
                 "only the record: true rule");
    /* The capture named like a finding field (topic) is left out, the one
     * that did not participate too. */
    cr_assert_str_eq(finding(0),
                     "rule=sshd.fail|title=SSH failure|severity=high|"
                     "at=2023-11-14T22:13:20Z|user=root|src_ip=203.0.113.7|"
                     "host.name=bastion-1|tags=attack.t1110,iso27001:A.8.5|"
                     "topic=security-events|partition=3|offset=41");

    fx.p.origin = (struct vigil_pipeline_origin){.file = "old.log", .line = 7};
    cr_assert_eq(feed("{\"message\":\"Failed password for bob from ::1\"}"), 2);
    cr_assert_str_eq(finding(1),
                     "rule=sshd.fail|title=SSH failure|severity=high|"
                     "at=2023-11-14T22:13:20Z|user=bob|src_ip=::1|"
                     "tags=attack.t1110,iso27001:A.8.5|file=old.log|line=7");
    stop();
}

Test(pipeline, cuts_long_captures_and_keeps_no_findings_when_disabled)
{
    start(10000);
    char msg[1200] = "{\"message\":\"long ";
    size_t n = strlen(msg);
    memset(msg + n, 'z', 1000);
    memcpy(msg + n + 1000, "\"}", 3);
    cr_assert_eq(feed(msg), 1);
    struct vigil_batch_field f = vigil_batch_finding_field(fx.p.batch, 0, 4);
    cr_assert_eq(f.name.len, 4);
    cr_assert_eq(memcmp(f.name.ptr, "rest", 4), 0);
    cr_assert_eq(f.value.len, VIGIL_BATCH_FINDING_VALUE_MAX);
    stop();

    start(0);
    cr_assert_eq(feed("{\"message\":\"Failed password for a from b\"}"), 2);
    cr_assert_eq(vigil_batch_n_findings(fx.p.batch), 0);
    cr_assert_eq(vigil_batch_stats(fx.p.batch).findings_dropped, 0,
                 "turned off is not dropped");
    stop();
}

Test(pipeline, caps_findings_per_batch_and_counts_the_rest_when_written)
{
    start(4); /* the stream keeps 4: no batch holds more */
    cr_assert_eq(fx.p.max_findings, 4);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(feed("{\"message\":\"Failed password for a from b\"}"), 2);
    cr_assert_eq(vigil_batch_n_findings(fx.p.batch), 4);
    cr_assert_eq(vigil_batch_stats(fx.p.batch).findings_dropped, 2);
    cr_assert_eq(fx.stats.findings, 0, "nothing is written yet");
    vigil_pipeline_count_written(&fx.stats, fx.p.batch);
    cr_assert_eq(fx.stats.findings, 4);
    cr_assert_eq(fx.stats.findings_dropped, 2);
    stop();

    start(1000000);
    cr_assert_eq(fx.p.max_findings, VIGIL_PIPELINE_BATCH_FINDINGS);
    stop();
}

Test(pipeline, a_finding_names_the_event_fields_its_rule_counts_by)
{
    start(10000);
    cr_assert_eq(feed("{\"@timestamp\":\"2024-05-14T22:03:11.000Z\","
                      "\"event\":{\"code\":\"1102\"},\"winlog\":{"
                      "\"user_data\":{\"SubjectUserName\":\"mal\\u006cory\"}},"
                      "\"host\":{\"name\":\"fs-02\"}}"),
                 1);
    /* host.name once, though counted by and always added; the escaped
     * value unescaped. */
    cr_assert_str_eq(finding(0), "rule=win.cleared|title=Audit log cleared|"
                                 "severity=critical|at=2024-05-14T22:03:11Z|"
                                 "host.name=fs-02|"
                                 "winlog.user_data.SubjectUserName=mallory");
    stop();
}
