#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "indicator.h"

/* Counters of the tests, with the kinds the expression checker knows. */
static unsigned kind_of(void *ctx, const char *name)
{
    (void)ctx;
    static const struct {
        const char *name;
        unsigned kind;
    } counters[] = {
        {"auth_failures", VIGIL_EXPR_ON_PLAIN},
        {"auth_successes", VIGIL_EXPR_ON_PLAIN},
        {"auth_failures_by_src", VIGIL_EXPR_ON_BY},
        {"auth_failed_users", VIGIL_EXPR_ON_DISTINCT},
        {"fw_denied_bytes", VIGIL_EXPR_ON_SUM},
        {"containment_time", VIGIL_EXPR_ON_PAIR},
    };
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
        if (strcmp(counters[i].name, name) == 0)
            return counters[i].kind;
    return 0;
}

static const struct vigil_indicator_options opts = {
    .counter_kind = kind_of,
    .retention_ms = 8ULL * 86400000ULL,
};

static struct vigil_diags diags;

static void setup(void)
{
    vigil_diags_init(&diags);
}

static void teardown(void)
{
    vigil_diags_fini(&diags);
}

TestSuite(indicator, .init = setup, .fini = teardown);

static struct vigil_indicator_set *load(const char *text)
{
    struct vigil_indicator_source src = {"ind.yaml", text, strlen(text)};
    return vigil_indicator_set_load_sources(&src, 1, &opts, &diags);
}

/* The head of an indicator with every required field, then `rest`. */
#define HEAD(id, value)                                                        \
    "indicators:\n"                                                            \
    "  - id: " id "\n"                                                         \
    "    name: Test\n"                                                         \
    "    information_need: Is it fine?\n"                                      \
    "    kind: performance\n"                                                  \
    "    entity: Hosts\n"                                                      \
    "    owner: soc\n"                                                         \
    "    data_source: tests\n"                                                 \
    "    frequency: 1m\n"                                                      \
    "    unit: events\n"                                                       \
    "    target: \"< 10\"\n"                                                   \
    "    decision: { breach: \">= 10\", ok: \"< 10\" }\n"                      \
    "    value: " value "\n"

static char first[512];

/* Loads text, which must fail; first holds the first diagnostic. */
static void load_fails(const char *text)
{
    struct vigil_indicator_set *set = load(text);
    cr_assert_null(set, "loaded: %s", text);
    cr_assert_gt(diags.n, 0);
    vigil_diag_format(&diags.v[0], first, sizeof(first));
}

static void has_diag(const char *want)
{
    for (size_t i = 0; i < diags.n; i++) {
        char buf[512];
        vigil_diag_format(&diags.v[i], buf, sizeof(buf));
        if (strstr(buf, want))
            return;
    }
    for (size_t i = 0; i < diags.n; i++) {
        char buf[512];
        vigil_diag_format(&diags.v[i], buf, sizeof(buf));
        fprintf(stderr, "  %s\n", buf);
    }
    cr_assert_fail("no diagnostic contains '%s'", want);
}

Test(indicator, loads_the_design_example_with_every_field)
{
    const char *path = VIGIL_TESTS_DIR "/indicators/design_example.yaml";
    struct vigil_indicator_set *set =
        vigil_indicator_set_load(&path, 1, &opts, &diags);
    cr_assert_not_null(set);
    cr_assert_eq(set->n, 1);
    const struct vigil_indicator *ind = &set->v[0];
    cr_assert_str_eq(ind->id, "KPI-AC-01");
    cr_assert_str_eq(ind->name, "SSH brute-force pressure");
    cr_assert_str_eq(ind->information_need,
                     "Are authentication controls resisting password "
                     "guessing?");
    cr_assert_eq(ind->kind, VIGIL_INDICATOR_EFFECTIVENESS);
    cr_assert_str_eq(ind->entity, "Bastion hosts");
    cr_assert_str_eq(ind->owner, "soc-lead");
    cr_assert_str_eq(ind->data_source, "security-events: sshd");
    cr_assert_eq(ind->frequency_ms, 15000);
    cr_assert_str_eq(vigil_expr_source(ind->value),
                     "top(auth_failures_by_src, 5m)");
    cr_assert_str_eq(ind->unit, "failures per source per 5m");
    cr_assert_str_eq(ind->target_text, "< 20");
    cr_assert_eq(ind->target.op, VIGIL_THRESHOLD_LT);
    cr_assert_eq(ind->n_decision, 3);
    cr_assert_eq(ind->decision[0].state, VIGIL_STATE_BREACH);
    cr_assert_eq(ind->decision[0].when.value, 50);
    cr_assert_eq(ind->decision[1].state, VIGIL_STATE_WARN);
    cr_assert_eq(ind->decision[2].state, VIGIL_STATE_OK);
    cr_assert_eq(ind->params.for_ms, 60000);
    cr_assert(ind->params.has_recover);
    cr_assert_eq(ind->params.recover.value, 15);
    cr_assert_eq(ind->params.no_data, VIGIL_NO_DATA_KEEP);
    cr_assert_eq(ind->page, VIGIL_STATE_BIT(VIGIL_STATE_BREACH));
    cr_assert_str_eq(ind->severity, "high");
    cr_assert_str_eq(ind->recommendation, "Block the top sources at the "
                                          "perimeter; move to key-only auth.");
    cr_assert_eq(ind->n_tests, 1);
    cr_assert_eq(ind->tests[0].interval_ms, 15000);
    cr_assert_eq(ind->tests[0].n_series, 1);
    cr_assert_eq(ind->tests[0].series[0].points.n, 31);
    cr_assert_eq(ind->tests[0].expects[0].at_ms, 300000);
    cr_assert_eq(ind->line, 3);
    cr_assert_eq(ind->col, 5);
    cr_assert_eq(set->max_reach_ms, 300000);
    cr_assert_not_null(vigil_indicator_set_find(set, "KPI-AC-01"));
    cr_assert_null(vigil_indicator_set_find(set, "nope"));
    vigil_indicator_set_destroy(set);
}

Test(indicator, optional_fields_take_their_defaults)
{
    struct vigil_indicator_set *set =
        load(HEAD("a", "count(auth_failures, 5m)"));
    cr_assert_not_null(set);
    const struct vigil_indicator *ind = &set->v[0];
    cr_assert_eq(ind->params.no_data, VIGIL_NO_DATA_NO_DATA);
    cr_assert_eq(ind->params.for_ms, 0);
    cr_assert_eq(ind->params.clear_for_ms, 0);
    cr_assert_not(ind->params.has_recover);
    cr_assert_eq(ind->page, VIGIL_STATE_BIT(VIGIL_STATE_BREACH));
    cr_assert_str_eq(ind->severity, "medium");
    cr_assert_str_eq(ind->recommendation, "");
    cr_assert_null(ind->samples);
    vigil_indicator_set_destroy(set);
}

Test(indicator, reads_labels_page_flapping_and_clear_for)
{
    struct vigil_indicator_set *set =
        load(HEAD("a", "count(auth_failures, 5m)") "    clear_for: 10m\n"
                                                   "    flap_changes: 4\n"
                                                   "    flap_window: 1h\n"
                                                   "    page: [warn, breach]\n"
                                                   "    labels: { team: soc, "
                                                   "iso27001: A.8.5 }\n");
    cr_assert_not_null(set);
    const struct vigil_indicator *ind = &set->v[0];
    cr_assert_eq(ind->params.clear_for_ms, 600000);
    cr_assert_eq(ind->params.flap_changes, 4);
    cr_assert_eq(ind->params.flap_window_ms, 3600000);
    cr_assert_eq(ind->page, VIGIL_STATE_BIT(VIGIL_STATE_WARN) |
                                VIGIL_STATE_BIT(VIGIL_STATE_BREACH));
    cr_assert_eq(ind->n_labels, 2);
    cr_assert_str_eq(ind->labels[1].key, "iso27001");
    cr_assert_str_eq(ind->labels[1].value, "A.8.5");
    vigil_indicator_set_destroy(set);
}

Test(indicator, min_samples_defaults_to_the_ratio_denominator)
{
    struct vigil_indicator_set *set = load(
        HEAD("a", "pct(count(auth_failures, 1h), count(auth_failures, 1h) + "
                  "count(auth_successes, 1h))") "    min_samples: 20\n");
    cr_assert_not_null(set);
    const struct vigil_indicator *ind = &set->v[0];
    cr_assert_not_null(ind->samples);
    cr_assert_str_eq(vigil_expr_source(ind->samples),
                     " count(auth_failures, 1h) + count(auth_successes, 1h)");
    cr_assert_eq(ind->params.min_samples, 20);
    vigil_indicator_set_destroy(set);
}

Test(indicator, min_samples_takes_an_explicit_samples_expression)
{
    struct vigil_indicator_set *set =
        load(HEAD("a", "top(auth_failures_by_src, 5m)") "    min_samples: 5\n"
                                                        "    samples: "
                                                        "count(auth_failures, "
                                                        "5m)\n");
    cr_assert_not_null(set);
    cr_assert_str_eq(vigil_expr_source(set->v[0].samples),
                     "count(auth_failures, 5m)");
    vigil_indicator_set_destroy(set);
}

Test(indicator, min_samples_without_a_denominator_is_an_error)
{
    load_fails(HEAD("a", "count(auth_failures, 5m)") "    min_samples: 5\n");
    cr_assert(strstr(first, "ind.yaml:13:12: min_samples needs samples:"), "%s",
              first);
}

Test(indicator, expression_errors_point_into_the_file)
{
    load_fails(HEAD("a", "count(auth_failures, 5m) + cnt(x, 5m)"));
    cr_assert_str_eq(first, "ind.yaml:13:39: value: unknown function 'cnt' "
                            "(did you mean 'count'?)");
}

Test(indicator, expression_errors_in_quoted_and_folded_scalars)
{
    load_fails(HEAD("a", "\"count(auth_failures, 5m) + cnt(x, 5m)\""));
    cr_assert_str_eq(first, "ind.yaml:13:40: value: unknown function 'cnt' "
                            "(did you mean 'count'?)");
    vigil_diags_fini(&diags);
    load_fails(HEAD("a", ">\n      count(auth_failures, 5m) +\n"
                         "      cnt(x, 5m)"));
    cr_assert(
        strncmp(first, "ind.yaml:15:7: value: unknown function 'cnt'", 44) == 0,
        "%s", first);
}

Test(indicator, unknown_counter_is_reported_at_its_call)
{
    load_fails(HEAD("a", "count(auth_failures, 5m) / count(nope, 5m)"));
    cr_assert_str_eq(first, "ind.yaml:13:39: value: unknown counter 'nope'");
}

Test(indicator, wrong_counter_kind_is_reported)
{
    load_fails(HEAD("a", "top(auth_failures, 5m)"));
    cr_assert(strstr(first, "ind.yaml:13:12: value: top() needs"), "%s", first);
}

Test(indicator, window_longer_than_retention_is_an_error)
{
    load_fails(HEAD("a", "count(auth_failures, 1h, offset=8d)"));
    cr_assert_str_eq(first, "ind.yaml:13:12: value reads 1w1d1h back (window + "
                            "offset) but counters are kept 1w1d (retention)");
}

Test(indicator, duplicate_ids_name_the_first_definition)
{
    const char *a = HEAD("dup", "count(auth_failures, 5m)");
    const char *b = HEAD("dup", "count(auth_failures, 10m)");
    struct vigil_indicator_source srcs[2] = {{"a.yaml", a, strlen(a)},
                                             {"b.yaml", b, strlen(b)}};
    struct vigil_indicator_set *set =
        vigil_indicator_set_load_sources(srcs, 2, &opts, &diags);
    cr_assert_null(set);
    has_diag("b.yaml:2:5: duplicate indicator id 'dup' (first defined at "
             "a.yaml:2:5)");
}

Test(indicator, unknown_keys_are_errors)
{
    load_fails(HEAD("a", "count(auth_failures, 5m)") "    treshold: 3\n");
    cr_assert_str_eq(first, "ind.yaml:14:5: indicator: unknown key "
                            "'treshold'");
}

Test(indicator, missing_required_fields_are_each_reported)
{
    load_fails("indicators:\n  - id: x\n    name: y\n");
    has_diag("missing required key 'information_need'");
    has_diag("missing required key 'owner'");
    has_diag("missing required key 'decision'");
    has_diag("missing required key 'value'");
}

Test(indicator, rejects_bad_values_with_positions)
{
    load_fails(HEAD("a b", "count(auth_failures, 5m)"));
    cr_assert(strstr(first, "ind.yaml:2:9: id 'a b' must be"), "%s", first);
    vigil_diags_fini(&diags);

    load_fails("indicators:\n"
               "  - id: a\n"
               "    name: Test\n"
               "    information_need: Is it fine?\n"
               "    kind: efficiency\n"
               "    entity: Hosts\n"
               "    owner: soc\n"
               "    data_source: tests\n"
               "    frequency: 100ms\n"
               "    unit: events\n"
               "    target: \"= 10\"\n"
               "    decision: { breach: \">= 10\", critical: \"> 99\" }\n"
               "    value: count(auth_failures, 5m)\n"
               "    no_data: skip\n"
               "    page: [breach, red]\n"
               "    severity: urgent\n"
               "    flap_changes: 3\n");
    has_diag("ind.yaml:5:11: kind must be performance or effectiveness");
    has_diag("ind.yaml:9:16: frequency must be at least 1s");
    has_diag("ind.yaml:11:14: target: '=' is not a comparison");
    has_diag("ind.yaml:12:34: decision: 'critical' is not a state");
    has_diag("ind.yaml:14:14: no_data must be keep, ok, no_data or breach");
    has_diag("ind.yaml:15:20: page: 'red' is not a state");
    has_diag("ind.yaml:16:15: severity must be info");
    has_diag("ind.yaml:17:19: flap_changes and flap_window go together");
}

Test(indicator, threshold_errors_point_into_the_criterion)
{
    load_fails(HEAD("a", "count(auth_failures, 5m)") "    recover: \"< x\"\n");
    cr_assert(strncmp(first, "ind.yaml:14:17: recover: ", 25) == 0, "%s",
              first);
}

Test(indicator, recover_needs_a_breach_entry)
{
    load_fails("indicators:\n"
               "  - id: a\n"
               "    name: Test\n"
               "    information_need: Is it fine?\n"
               "    kind: performance\n"
               "    entity: Hosts\n"
               "    owner: soc\n"
               "    data_source: tests\n"
               "    frequency: 1m\n"
               "    unit: events\n"
               "    target: \"< 10\"\n"
               "    decision: { warn: \">= 10\" }\n"
               "    recover: \"< 5\"\n"
               "    value: count(auth_failures, 5m)\n");
    /* The node's mark: its quote or its text, as yaml_doc decides. */
    cr_assert(strncmp(first, "ind.yaml:13:1", 13) == 0, "%s", first);
    cr_assert(strstr(first, ": recover needs a breach entry in decision"), "%s",
              first);
}

Test(indicator, test_blocks_are_validated)
{
    load_fails(HEAD(
        "a",
        "count(auth_failures, 5m)") "    tests:\n"
                                    "      - series: { auth_successes: \"1 "
                                    "2\", "
                                    "\"count(auth_failures, 1h)\": \"1\" }\n"
                                    "        expect: [{ at: 1m, state: red }, "
                                    "{ at: 2m }]\n"
                                    "      - series: { auth_failures: \"1+x\" "
                                    "}\n"
                                    "        expect: [{ at: 1m, event: opened "
                                    "}]\n");
    has_diag("ind.yaml:15:19: series 'auth_successes': the indicator does "
             "not read this counter");
    has_diag("series 'count(auth_failures, 1h)' must be a counter name or "
             "one query");
    has_diag("ind.yaml:16:35: state must be ok, warn, breach or no_data");
    has_diag("ind.yaml:16:42: expect: give at least one of");
    has_diag("ind.yaml:17:37: series: ");
}

Test(indicator, series_may_name_one_query)
{
    struct vigil_indicator_set *set = load(
        HEAD("a", "ratio(count(auth_failures, 1h), count(auth_failures, 1h, "
                  "offset=7d))") "    tests:\n"
                                 "      - series:\n"
                                 "          auth_failures: \"10x5\"\n"
                                 "          \"count(auth_failures, 1h, "
                                 "offset=7d)\": \"5x5\"\n"
                                 "        expect: [{ at: 1m, value: 2 }]\n");
    cr_assert_not_null(set);
    cr_assert_eq(set->v[0].tests[0].n_series, 2);
    cr_assert_not_null(set->v[0].tests[0].series[1].query);
    vigil_indicator_set_destroy(set);
}

Test(indicator, file_errors)
{
    const char *path = VIGIL_TESTS_DIR "/indicators/does-not-exist.yaml";
    cr_assert_null(vigil_indicator_set_load(&path, 1, &opts, &diags));
    has_diag("does-not-exist.yaml: cannot open");
    vigil_diags_fini(&diags);
    load_fails("indicators: [\n");
    cr_assert(strncmp(first, "ind.yaml:", 9) == 0, "%s", first);
    vigil_diags_fini(&diags);
    load_fails("# nothing\n");
    vigil_diags_fini(&diags);
    load_fails("indicators: {}\n");
    cr_assert(strstr(first, "ind.yaml:1:13: indicators must be"), "%s", first);
}

Test(indicator, without_a_lookup_counters_are_not_checked)
{
    const char *t = HEAD("a", "count(anything, 5m)");
    struct vigil_indicator_source src = {"ind.yaml", t, strlen(t)};
    struct vigil_indicator_set *set =
        vigil_indicator_set_load_sources(&src, 1, NULL, &diags);
    cr_assert_not_null(set);
    vigil_indicator_set_destroy(set);
}
