/*
 * The real vigild binary with the shipped plugins: `vigild replay
 * --dry-run` decoding CEF and LEEF through the decoder plugins and
 * enriching with enricher_assets before rules match on their fields, and
 * `vigild check` loading plugins and checking the names taken from them.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static char *tmp;

static void setup(void)
{
    tmp = vigil_test_tmpdir("vigil-plugins");
    cr_assert_not_null(tmp);
}

static void teardown(void)
{
    vigil_test_rm_rf(tmp);
    free(tmp);
}

TestSuite(plugins, .init = setup, .fini = teardown);

static int vigild(const char *stdin_text, char **out, char **err,
                  const char *const *args)
{
    char *argv[16] = {(char *)VIGILD_PATH};
    int n = 1;
    while (args[n - 1] && n < 15) {
        argv[n] = (char *)args[n - 1];
        n++;
    }
    argv[n] = NULL;
    return vigil_test_run(argv, stdin_text, out, err);
}

static const char rules[] =
    "pack: cef\n"
    "rules:\n"
    "  - id: vpn.admin_login\n"
    "    title: Administrator login on the VPN\n"
    "    severity: high\n"
    "    field: suser\n"
    "    match: '^(?<user>admin|root)$'\n"
    "    when: { cef.device_product: \"~^VPN\", field:act: login }\n"
    "    count:\n"
    "      - counter: vpn_admin_logins\n"
    "        by: field:src\n"
    "  - id: asset.critical_touched\n"
    "    title: Event on a critical asset\n"
    "    severity: medium\n"
    "    field: asset.criticality\n"
    "    match: '^(?<criticality>critical|high)$'\n"
    "    count:\n"
    "      - counter: critical_asset_events\n"
    "        by: field:asset.owner\n";

static const char cef_lines[] =
    "Sep 19 08:26:10 gw1 CEF:0|Acme|VPN Gateway|3.2|1001|User login|5|"
    "src=10.0.0.5 suser=admin act=login msg=Login from home office\n"
    "CEF:0|Acme|VPN Gateway|3.2|1001|User login|5|src=192.0.2.7 suser=bob "
    "act=login\n"
    "CEF:0|Acme|Firewall|9.1|deny|Blocked|7|src=10.0.0.6 suser=root "
    "act=login\n"
    "this line is not CEF\n"
    "CEF:0|Acme|VPN Gateway|3.2|1001|User login|5|src=192.0.2.9 suser=root "
    "act=login\\=retry\n";

static const char inventory[] = "ip,owner,criticality\n"
                                "10.0.0.5,net-team,high\n"
                                "10.0.0.6,dc-team,critical\n"
                                "192.0.2.9,guest,low\n";

/* Writes vigil.yaml (with the given extra text), rules and inventory. */
static char *write_config(const char *extra)
{
    free(vigil_test_write_file(tmp, "cef.yaml", rules));
    free(vigil_test_write_file(tmp, "assets.csv", inventory));
    char *text = NULL;
    cr_assert(asprintf(&text,
                       "redis: {url: \"redis://127.0.0.1:1/0\"}\n"
                       "rules: [\"cef.yaml\"]\n"
                       "%s",
                       extra) > 0);
    char *cfg = vigil_test_write_file(tmp, "vigil.yaml", text);
    free(text);
    return cfg;
}

Test(plugins, replay_decodes_cef_enriches_and_matches_plugin_fields)
{
    char *cfg = write_config("events: {format: cef}\n"
                             "plugins:\n"
                             "  - path: " VIGIL_PLUGIN_PATH_DECODER_CEF "\n"
                             "  - path: " VIGIL_PLUGIN_PATH_ENRICHER_ASSETS "\n"
                             "    config: {path: assets.csv}\n");
    char *out = NULL, *err = NULL;
    const char *args[] = {"replay",  "-c", cfg, "--dry-run",
                          "--stats", "-",  NULL};
    cr_assert_eq(vigild(cef_lines, &out, &err, args), 0, "%s", err);
    /* The stats line ends with the time taken: compare up to it. */
    const char *want =
        "{\"n\":1,\"rule\":\"vpn.admin_login\",\"fields\":{\"user\":"
        "\"admin\"}}\n"
        "{\"n\":1,\"rule\":\"asset.critical_touched\",\"fields\":{"
        "\"criticality\":\"high\"}}\n"
        "{\"n\":3,\"rule\":\"asset.critical_touched\",\"fields\":{"
        "\"criticality\":\"critical\"}}\n"
        "{\"events\":4,\"matched_events\":2,\"decode_errors\":1,\"late\":0,"
        "\"rules\":{"
        "\"vpn.admin_login\":1,\"asset.critical_touched\":2},\"seconds\":";
    cr_assert_eq(strncmp(out, want, strlen(want)), 0, "got:\n%s", out);
    free(out);
    free(err);
    free(cfg);
}

Test(plugins, replay_takes_a_decoder_plugin_by_format_option)
{
    char *cfg = write_config("plugins:\n"
                             "  - path: " VIGIL_PLUGIN_PATH_DECODER_CEF "\n"
                             "  - path: " VIGIL_PLUGIN_PATH_DECODER_LEEF "\n");
    const char *leef = "LEEF:2.0|Acme|VPN Gateway|3.2|login|^|src=10.0.0.5^"
                       "suser=root^act=login\n"
                       "LEEF:1.0|Acme|VPN Gateway|3.2|login|suser=admin\t"
                       "act=login\n";
    /* LEEF's header fields are leef.*: the rule's cef.device_product
     * condition holds only for CEF, so match on suser alone. */
    free(vigil_test_write_file(tmp, "cef.yaml",
                               "pack: p\n"
                               "rules:\n"
                               "  - id: admin\n"
                               "    title: t\n"
                               "    severity: low\n"
                               "    field: suser\n"
                               "    match: '^(?<user>admin|root)$'\n"
                               "    when: { leef.vendor: Acme }\n"));
    char *out = NULL, *err = NULL;
    const char *args[] = {"replay",   "-c",   cfg, "--dry-run",
                          "--format", "leef", "-", NULL};
    cr_assert_eq(vigild(leef, &out, &err, args), 0, "%s", err);
    cr_assert_str_eq(out, "{\"n\":1,\"rule\":\"admin\",\"fields\":{\"user\":"
                          "\"root\"}}\n"
                          "{\"n\":2,\"rule\":\"admin\",\"fields\":{\"user\":"
                          "\"admin\"}}\n");
    free(out);
    free(err);
    const char *bad[] = {"replay",   "-c",     cfg, "--dry-run",
                         "--format", "qradar", "-", NULL};
    cr_assert_eq(vigild(leef, &out, &err, bad), 1);
    cr_assert_str_eq(err, "vigild replay: --format must be auto, json, "
                          "syslog, raw or a decoder plugin of the config, "
                          "not 'qradar'\n");
    free(out);
    free(err);
    free(cfg);
}

Test(plugins, check_loads_the_plugins_and_lists_them)
{
    char *cfg =
        write_config("events: {format: cef}\n"
                     "notifiers:\n"
                     "  - name: soc\n"
                     "    type: teams\n"
                     "    url: https://example.invalid/webhook\n"
                     "plugins:\n"
                     "  - path: " VIGIL_PLUGIN_PATH_DECODER_CEF "\n"
                     "  - path: " VIGIL_PLUGIN_PATH_ENRICHER_ASSETS "\n"
                     "    config: {path: assets.csv}\n"
                     "  - path: " VIGIL_PLUGIN_PATH_NOTIFIER_TEAMS "\n");
    char *out = NULL, *err = NULL;
    const char *args[] = {"check", "-c", cfg, NULL};
    cr_assert_eq(vigild(NULL, &out, &err, args), 0, "%s", err);
    cr_assert(strstr(out, "; plugins: cef 1.0.0 (decoder), assets 1.0.0 "
                          "(enricher), teams 1.0.0 (notifier)\n"),
              "%s", out);
    free(out);
    free(err);
    free(cfg);
}

Test(plugins, check_reports_plugin_problems_at_their_config_positions)
{
    char *cfg = write_config("events: {format: qradar}\n"
                             "notifiers:\n"
                             "  - name: soc\n"
                             "    type: cef\n"
                             "plugins:\n"
                             "  - path: " VIGIL_PLUGIN_PATH_DECODER_CEF "\n"
                             "  - path: " VIGIL_PLUGIN_PATH_ENRICHER_ASSETS "\n"
                             "    config: {path: missing.csv}\n");
    char *out = NULL, *err = NULL;
    const char *args[] = {"check", "-c", cfg, NULL};
    cr_assert_eq(vigild(NULL, &out, &err, args), 1);
    char *want = NULL;
    cr_assert(asprintf(&want,
                       "%s:9:11: %s: plugin 'assets': init failed: "
                       "%s/missing.csv: No such file or directory\n",
                       cfg, VIGIL_PLUGIN_PATH_ENRICHER_ASSETS, tmp) > 0);
    cr_assert_str_eq(err, want);
    free(want);
    free(out);
    free(err);

    /* With every plugin loading, the names are checked. */
    free(vigil_test_write_file(tmp, "missing.csv", inventory));
    cr_assert_eq(vigild(NULL, &out, &err, args), 1);
    cr_assert(asprintf(&want,
                       "%s:3:18: events.format: no decoder plugin named "
                       "'qradar' is loaded (decoders: cef)\n"
                       "%s:6:11: notifiers[0].type: plugin 'cef' (%s) is "
                       "a decoder, not a notifier\n",
                       cfg, cfg, VIGIL_PLUGIN_PATH_DECODER_CEF) > 0);
    cr_assert_str_eq(err, want);
    free(want);
    free(out);
    free(err);
    free(cfg);
}

Test(plugins, check_refuses_a_plugin_of_another_abi)
{
    char *cfg = write_config("plugins:\n"
                             "  - path: " VIGIL_PLUGIN_PATH_BROKEN_MAJOR "\n");
    char *out = NULL, *err = NULL;
    const char *args[] = {"check", "-c", cfg, NULL};
    cr_assert_eq(vigild(NULL, &out, &err, args), 1);
    char *want = NULL;
    cr_assert(asprintf(&want,
                       "%s:4:11: %s: ABI major 2, this vigild speaks 1\n", cfg,
                       VIGIL_PLUGIN_PATH_BROKEN_MAJOR) > 0);
    cr_assert_str_eq(err, want);
    free(want);
    free(out);
    free(err);
    free(cfg);
}
