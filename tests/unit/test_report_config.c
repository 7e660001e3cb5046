/* The reports: section of vigil.yaml (report_config.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "support.h"

#define GOOD VIGIL_TESTS_DIR "/config/good"
#define BASE                                                                   \
    "redis: { url: \"redis://127.0.0.1:6379/0\" }\n"                           \
    "rules: [\"rules/*.yaml\"]\n"                                              \
    "notifiers: [{name: log, type: log}]\n"

static char *joined(const struct vigil_diags *d)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    cr_assert_not_null(f);
    vigil_diags_print(d, f);
    fclose(f);
    return out;
}

static struct vigil_config *load(const char *text, struct vigil_diags *d)
{
    return vigil_config_load_string("inline.yaml", text, strlen(text), GOOD, d);
}

static void assert_errors(const char *text, const char *expected)
{
    struct vigil_diags d = {0};
    struct vigil_config *cfg = load(text, &d);
    cr_assert_null(cfg);
    char *got = joined(&d);
    cr_assert_str_eq(got, expected);
    free(got);
    vigil_diags_fini(&d);
}

Test(report_config, absent_section_gives_the_defaults)
{
    struct vigil_diags d = {0};
    struct vigil_config *cfg = load(BASE, &d);
    cr_assert_not_null(cfg);
    const struct vigil_config_reports *r = &cfg->reports;
    cr_assert_not(r->present);
    cr_assert_str_eq(r->title, "ISMS monitoring report");
    cr_assert_eq(r->due_working_days, 3);
    cr_assert_eq(r->n_distribution, 0);
    cr_assert_eq(r->period, VIGIL_REPORT_PERIOD_NONE);
    cr_assert_null(r->directory);
    vigil_config_destroy(cfg);
    vigil_diags_fini(&d);
}

Test(report_config, full_section_is_parsed)
{
    setenv("VIGIL_TEST_REPORT_DIR", "/var/lib/vigil/reports", 1);
    struct vigil_diags d = {0};
    struct vigil_config *cfg =
        load(BASE "reports:\n"
                  "  title: Monthly ISMS report\n"
                  "  distribution: [Steering committee, CISO]\n"
                  "  holidays: [\"2024-12-26\", \"2024-12-25\"]\n"
                  "  due_working_days: 5\n"
                  "  period: monthly\n"
                  "  formats: [html, json]\n"
                  "  directory: \"${VIGIL_TEST_REPORT_DIR}\"\n"
                  "  notifier: log\n",
             &d);
    char *errs = joined(&d);
    cr_assert_not_null(cfg, "%s", errs);
    const struct vigil_config_reports *r = &cfg->reports;
    cr_assert(r->present);
    cr_assert_str_eq(r->title, "Monthly ISMS report");
    cr_assert_eq(r->n_distribution, 2);
    cr_assert_str_eq(r->distribution[1], "CISO");
    cr_assert_eq(r->n_holidays, 2);
    cr_assert_lt(r->holidays[0], r->holidays[1], "sorted");
    cr_assert_eq(r->due_working_days, 5);
    cr_assert_eq(r->period, VIGIL_REPORT_PERIOD_MONTHLY);
    cr_assert_eq(r->formats,
                 VIGIL_REPORT_FORMAT_HTML | VIGIL_REPORT_FORMAT_JSON);
    cr_assert_str_eq(r->directory, "/var/lib/vigil/reports");
    cr_assert_str_eq(r->notifier, "log");
    cr_assert_eq(r->notifier_index, 0);

    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    cr_assert_eq(vigil_config_print(cfg, f), 0);
    fclose(f);
    cr_assert_not_null(strstr(out,
                              "reports:\n  title: \"Monthly ISMS report\"\n"
                              "  distribution: [\"Steering committee\", "
                              "\"CISO\"]\n  holidays: [2024-12-25, "
                              "2024-12-26]\n"),
                       "%s", out);
    cr_assert_not_null(strstr(out, "  period: monthly\n  formats: [html, "
                                   "json]\n"),
                       "%s", out);
    free(out);
    free(errs);
    vigil_config_destroy(cfg);
    vigil_diags_fini(&d);
}

Test(report_config, errors_name_file_line_and_column)
{
    assert_errors(BASE "reports:\n"
                       "  period: daily\n"
                       "  formats: [md, pdf]\n"
                       "  holidays: [2024-02-30]\n"
                       "  due_working_days: 99\n"
                       "  notifier: pager\n"
                       "  directory: out\n"
                       "  colour: blue\n",
                  "inline.yaml:5:11: reports.period: 'daily' is not weekly or "
                  "monthly\n"
                  "inline.yaml:6:17: reports.formats: 'pdf' is not md, html or "
                  "json\n"
                  "inline.yaml:7:14: reports.holidays: '2024-02-30' is not a "
                  "date (YYYY-MM-DD)\n"
                  "inline.yaml:8:21: reports.due_working_days must be between "
                  "0 and 60\n"
                  "inline.yaml:9:13: reports.notifier: no notifier named "
                  "'pager'\n"
                  "inline.yaml:11:3: reports: unknown key 'colour'\n");
}

Test(report_config, period_and_directory_go_together)
{
    assert_errors(BASE "reports:\n  period: weekly\n",
                  "inline.yaml:5:11: reports: 'period' needs 'directory' "
                  "(where the daemon writes the reports)\n");
    assert_errors(BASE "reports:\n  directory: out\n  notifier: log\n",
                  "inline.yaml:5:14: reports: 'directory' needs 'period' "
                  "(weekly or monthly)\n"
                  "inline.yaml:6:13: reports: 'notifier' needs 'period' (it "
                  "announces the periodic reports)\n");
}
