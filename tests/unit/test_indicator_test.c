#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "indicator_test.h"
#include "rule_set.h"

static struct vigil_diags diags;

static void setup(void)
{
    vigil_diags_init(&diags);
}

static void teardown(void)
{
    vigil_diags_fini(&diags);
}

TestSuite(indicator_test, .init = setup, .fini = teardown);

static struct vigil_indicator_set *load(const char *text)
{
    struct vigil_indicator_source src = {"t.yaml", text, strlen(text)};
    struct vigil_indicator_set *set =
        vigil_indicator_set_load_sources(&src, 1, NULL, &diags);
    if (!set)
        vigil_diags_print(&diags, stderr);
    cr_assert_not_null(set);
    return set;
}

/* Runs every test of text; *report gets what the runner printed. */
static int run(const char *text, unsigned *passed, unsigned *failed,
               char **report)
{
    struct vigil_indicator_set *set = load(text);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    cr_assert_not_null(out);
    *passed = *failed = 0;
    int rc = vigil_indicator_tests_run(set, out, passed, failed);
    fclose(out);
    vigil_indicator_set_destroy(set);
    *report = buf;
    return rc;
}

#define HEAD(value, extra)                                                     \
    "indicators:\n"                                                            \
    "  - id: T-1\n"                                                            \
    "    name: Test\n"                                                         \
    "    information_need: Is it fine?\n"                                      \
    "    kind: performance\n"                                                  \
    "    entity: Hosts\n"                                                      \
    "    owner: soc\n"                                                         \
    "    data_source: tests\n"                                                 \
    "    frequency: 15s\n"                                                     \
    "    unit: events\n"                                                       \
    "    target: \"< 20\"\n"                                                   \
    "    decision: { breach: \">= 50\", warn: \">= 20\", ok: \"< 20\" }\n"     \
    "    value: " value "\n" extra "    tests:\n"

Test(indicator_test, design_example_breaches_at_5m)
{
    const char *path = VIGIL_TESTS_DIR "/indicators/design_example.yaml";
    struct vigil_indicator_set *set =
        vigil_indicator_set_load(&path, 1, NULL, &diags);
    cr_assert_not_null(set);
    unsigned passed = 0, failed = 0;
    cr_assert_eq(vigil_indicator_tests_run(set, stderr, &passed, &failed), 0);
    cr_assert_eq(passed, 1);
    cr_assert_eq(failed, 0);
    vigil_indicator_set_destroy(set);
}

Test(indicator_test, pending_opened_recovering_and_resolved)
{
    /* 0+10x30 every 15s: >= 20 from 30s, so warn at 90s; >= 50 from
     * 75s, so breach at 135s (for: 1m). Then
     * the series ends at 7m30s: no data keeps the breach; the query
     * series brings it down at 10m; clear_for 1m resolves at 11m. */
    char *report;
    unsigned passed, failed;
    int rc =
        run(HEAD("top(auth_failures_by_src, 5m)",
                 "    for: 1m\n"
                 "    clear_for: 1m\n") "      - series:\n"
                                        "          auth_failures_by_src: "
                                        "\"0+10x30 _x9 0x20\"\n"
                                        "        expect:\n"
                                        "          - { at: 15s, state: ok, "
                                        "pending: none }\n"
                                        "          - { at: 60s, state: ok, "
                                        "pending: warn }\n"
                                        "          - { at: 75s, state: ok, "
                                        "pending: breach, value: 50 }\n"
                                        "          - { at: 90s, state: warn, "
                                        "event: changed }\n"
                                        "          - { at: 2m, state: warn, "
                                        "pending: breach }\n"
                                        "          - { at: 135s, state: "
                                        "breach, event: opened }\n"
                                        "          - { at: 150s, state: "
                                        "breach, event: none }\n"
                                        "          - { at: 8m, state: breach, "
                                        "value: _ }\n"
                                        "          - { at: 10m, state: breach, "
                                        "recovering: ok }\n"
                                        "          - { at: 10m45s, state: "
                                        "breach, recovering: ok }\n"
                                        "          - { at: 11m, state: ok, "
                                        "event: resolved }\n",
            &passed, &failed, &report);
    cr_assert_eq(rc, 0, "%s", report);
    cr_assert_eq(passed, 1);
    free(report);
}

Test(indicator_test, reports_each_failed_expectation_with_its_position)
{
    char *report;
    unsigned passed, failed;
    int rc =
        run(HEAD("count(auth_failures, 5m)",
                 "") "      - name: wrong\n"
                     "        series: { auth_failures: \"60\" }\n"
                     "        expect:\n"
                     "          - { at: 0s, state: ok }\n"
                     "          - { at: 0s, event: resolved, pending: warn }\n"
                     "          - { at: 15s, value: 3 }\n",
            &passed, &failed, &report);
    cr_assert_eq(rc, -1);
    cr_assert_eq(failed, 1);
    cr_assert(strstr(report, "t.yaml:18:13: T-1: test 'wrong': at 0s: state "
                             "is breach (value 60), expected ok\n"),
              "%s", report);
    cr_assert(strstr(report, "t.yaml:19:13: T-1: test 'wrong': at 0s: event "
                             "is opened (state breach), expected resolved\n"),
              "%s", report);
    cr_assert(strstr(report, "at 0s: pending is none (value 60), expected "
                             "warn\n"),
              "%s", report);
    cr_assert(strstr(report, "t.yaml:20:13: T-1: test 'wrong': at 15s: value "
                             "is no data, expected 3\n"),
              "%s", report);
    free(report);
}

Test(indicator_test, no_data_policy_and_unnamed_counters)
{
    char *report;
    unsigned passed, failed;
    /* avg() of a pair with no series is no data; pct() of 0 is no data. */
    int rc = run(
        HEAD("pct(count(auth_failures, 1h), count(auth_total, 1h))",
             "") "      - series: { auth_failures: \"1x10\" }\n"
                 "        expect:\n"
                 "          - { at: 0s, state: no_data, value: _ }\n"
                 "      - series: { auth_failures: \"1x10\", auth_total: "
                 "\"100x10\" }\n"
                 "        expect:\n"
                 "          - { at: 15s, state: ok, value: 1, event: none }\n"
                 "          - { at: 0s, state: ok, event: changed }\n",
        &passed, &failed, &report);
    cr_assert_eq(rc, 0, "%s", report);
    cr_assert_eq(passed, 2);
    free(report);
}

Test(indicator_test, query_series_win_over_counter_series)
{
    char *report;
    unsigned passed, failed;
    int rc =
        run(HEAD("ratio(count(logins, 1h), count(logins, 1h, offset=7d))",
                 "") "      - interval: 1m\n"
                     "        series:\n"
                     "          logins: \"100 200 300\"\n"
                     "          \"count(logins, 1h, offset=7d)\": \"50 50 _\"\n"
                     "        expect:\n"
                     "          - { at: 0s, value: 2 }\n"
                     "          - { at: 45s, value: 2 }\n"
                     "          - { at: 1m, value: 4 }\n"
                     "          - { at: 2m, value: _ }\n",
            &passed, &failed, &report);
    cr_assert_eq(rc, 0, "%s", report);
    free(report);
}

Test(indicator_test, min_samples_and_flapping_in_tests)
{
    char *report;
    unsigned passed, failed;
    int rc = run(
        HEAD(
            "pct(count(fails, 1h), count(tries, 1h))",
            "    min_samples: 10\n"
            "    flap_changes: 2\n"
            "    flap_window: 10m\n") "      - series: { fails: \"5 5 5 0 5 0 "
                                      "0\", tries: \"5 10 10 "
                                      "10 10 10 10\" }\n"
                                      "        expect:\n"
                                      "          - { at: 0s, state: no_data, "
                                      "value: 100 }\n"
                                      "          - { at: 15s, state: breach }\n"
                                      "          - { at: 45s, state: ok }\n"
                                      "          - { at: 60s, state: breach, "
                                      "flapping: true }\n"
                                      "          - { at: 90s, state: breach, "
                                      "recovering: ok }\n",
        &passed, &failed, &report);
    cr_assert_eq(rc, 0, "%s", report);
    free(report);
}

/*
 * Counter kinds of the shipped rule packs, from the generated table in
 * rules/packs/README.md ("| `name` | kind | fed by |").
 */
struct pack_counters {
    char names[256][64];
    unsigned kinds[256];
    size_t n;
};

static unsigned pack_kind(void *ctx, const char *name)
{
    const struct pack_counters *pc = ctx;
    for (size_t i = 0; i < pc->n; i++)
        if (strcmp(pc->names[i], name) == 0)
            return pc->kinds[i];
    return 0;
}

static void read_pack_counters(struct pack_counters *pc)
{
    FILE *f = fopen(VIGIL_SOURCE_DIR "/rules/packs/README.md", "r");
    cr_assert_not_null(f);
    static const struct {
        const char *word;
        unsigned bit;
    } kinds[] = {{"plain", VIGIL_EXPR_ON_PLAIN},
                 {"by", VIGIL_EXPR_ON_BY},
                 {"distinct", VIGIL_EXPR_ON_DISTINCT},
                 {"sum", VIGIL_EXPR_ON_SUM},
                 {"pair", VIGIL_EXPR_ON_PAIR}};
    char line[4096];
    pc->n = 0;
    while (fgets(line, sizeof(line), f) && pc->n < 256) {
        char name[64], kind[16];
        if (sscanf(line, "| `%63[^`]` | %15[a-z] |", name, kind) != 2)
            continue;
        for (size_t k = 0; k < 5; k++) {
            if (strcmp(kind, kinds[k].word) == 0) {
                snprintf(pc->names[pc->n], sizeof(pc->names[0]), "%s", name);
                pc->kinds[pc->n++] = kinds[k].bit;
            }
        }
    }
    fclose(f);
    cr_assert_gt(pc->n, 50, "counter table not found");
}

Test(indicator_test, shipped_packs_load_against_the_rule_counters_and_pass)
{
    static const char *const files[] = {
        "antimalware.yaml",  "authentication.yaml", "awareness.yaml",
        "change.yaml",       "incident.yaml",       "logging.yaml",
        "vulnerability.yaml"};
    size_t n = sizeof(files) / sizeof(files[0]);
    char paths[7][512];
    const char *pv[7];
    for (size_t i = 0; i < n; i++) {
        snprintf(paths[i], sizeof(paths[i]), "%s/rules/indicators/%s",
                 VIGIL_SOURCE_DIR, files[i]);
        pv[i] = paths[i];
    }
    static struct pack_counters pc;
    read_pack_counters(&pc);
    struct vigil_indicator_options o = {
        .counter_kind = pack_kind,
        .counter_ctx = &pc,
        .retention_ms = 8ULL * 86400000ULL,
    };
    struct vigil_indicator_set *set =
        vigil_indicator_set_load(pv, n, &o, &diags);
    if (!set)
        vigil_diags_print(&diags, stderr);
    cr_assert_not_null(set);
    cr_assert_geq(set->n, 12);
    unsigned passed = 0, failed = 0;
    int rc = vigil_indicator_tests_run(set, stderr, &passed, &failed);
    cr_assert_eq(rc, 0, "%u failed", failed);
    for (size_t i = 0; i < set->n; i++) {
        const struct vigil_indicator *ind = &set->v[i];
        cr_assert_gt(ind->n_tests, 0, "%s has no tests", ind->id);
        cr_assert_neq(ind->recommendation[0], '\0', "%s", ind->id);
        cr_assert_gt(ind->n_labels, 0, "%s has no labels", ind->id);
    }
    vigil_indicator_set_destroy(set);
}

/*
 * The counter table of rules/packs/README.md is what indicator authors
 * read: it must list every counter the shipped packs feed, with its
 * kind, and nothing else.
 */
Test(indicator_test, the_pack_counter_table_lists_every_shipped_counter)
{
    static const char text[] = "redis: { url: \"redis://127.0.0.1:1/0\" }\n"
                               "rules: [\"rules/packs/*.yaml\"]\n";
    struct vigil_config *cfg = vigil_config_load_string(
        "shipped.yaml", text, strlen(text), VIGIL_SOURCE_DIR, &diags);
    struct vigil_rule_set *rules =
        cfg ? vigil_rule_set_load_config(cfg, &diags) : NULL;
    vigil_diags_print(&diags, stderr);
    cr_assert_not_null(rules);
    static struct pack_counters pc;
    read_pack_counters(&pc);
    static const unsigned bit[] = {
        [VIGIL_COUNT_PLAIN] = VIGIL_EXPR_ON_PLAIN,
        [VIGIL_COUNT_BY] = VIGIL_EXPR_ON_BY,
        [VIGIL_COUNT_DISTINCT] = VIGIL_EXPR_ON_DISTINCT,
        [VIGIL_COUNT_SUM] = VIGIL_EXPR_ON_SUM,
        [VIGIL_COUNT_PAIR] = VIGIL_EXPR_ON_PAIR,
    };
    size_t n = vigil_rule_set_counter_count(rules);
    for (size_t i = 0; i < n; i++) {
        const struct vigil_counter *c = vigil_rule_set_counter(rules, i);
        unsigned kind = pack_kind(&pc, c->name);
        cr_expect_neq(kind, 0, "%s is missing from rules/packs/README.md",
                      c->name);
        cr_expect(kind == 0 || kind == bit[c->kind],
                  "%s is a %s counter, the table says otherwise", c->name,
                  vigil_count_kind_name(c->kind));
    }
    for (size_t i = 0; i < pc.n; i++)
        cr_expect_not_null(vigil_rule_set_find_counter(rules, pc.names[i]),
                           "the table lists %s, no pack feeds it", pc.names[i]);
    vigil_rule_set_unref(rules);
    vigil_config_destroy(cfg);
}
