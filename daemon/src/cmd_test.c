/*
 * vigild test [-c vigil.yaml] [--verbose] [FILES...]: runs the tests:
 * blocks of rule files (rule_test.h) and indicator files (indicator_test.h),
 * checking indicators against the counters of the rules given with them;
 * prints one line per failure and
 * a summary "N tests, N failed". Exit 0 when all passed, 1 on a failure or
 * a load error, 2 on a usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "indicator_test.h"
#include "measures.h"
#include "config.h"
#include "rule_set.h"
#include "rule_test.h"
#include "yaml_doc.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: vigild test [-c vigil.yaml] [--verbose] [FILES...]\n"
                 "  runs the tests: blocks of the rule files given (or, once\n"
                 "  configs can be read, of the config's rule files)\n"
                 "  -v, --verbose  list the rules and the patterns Vectorscan\n"
                 "                 cannot prefilter\n");
}

/* True when path is an indicator file (a top-level `indicators` key). */
static bool is_indicator_file(const char *path)
{
    struct vigil_diags d;
    vigil_diags_init(&d);
    struct vigil_yaml y;
    bool found = false;
    if (vigil_yaml_load_file(&y, path, &d) == 0) {
        struct fy_node *root = vigil_yaml_root(&y);
        found = root && fy_node_is_mapping(root) &&
                fy_node_mapping_lookup_by_string(root, "indicators", FY_NT);
        vigil_yaml_fini(&y);
    }
    vigil_diags_fini(&d);
    return found;
}

static void describe(const struct vigil_rule_set *set)
{
    for (size_t i = 0; i < vigil_rule_set_size(set); i++) {
        const struct vigil_rule *r = vigil_rule_set_rule(set, i);
        fprintf(stderr, "%s:%d:%d: rule %s: %zu test%s%s\n", r->file, r->line,
                r->col, r->id, r->n_tests, r->n_tests == 1 ? "" : "s",
                r->n_tests ? "" : " (consider adding some)");
    }
    struct vigil_diags notes;
    vigil_diags_init(&notes);
    vigil_rule_set_unfiltered(set, &notes);
    vigil_diags_print(&notes, stderr);
    vigil_diags_fini(&notes);
}

int vigil_cmd_test(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    bool verbose = false;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    int n_files = argc - optind;
    if (n_files == 0 && !config) {
        usage(stderr);
        return 2;
    }
    struct vigil_diags diags;
    vigil_diags_init(&diags);
    struct vigil_config *cfg = NULL;
    if (config) {
        cfg = vigil_config_load(config, &diags);
        if (!cfg) {
            vigil_diags_print(&diags, stderr);
            vigil_diags_fini(&diags);
            fprintf(stderr, "vigild test: %s did not load\n", config);
            return 1;
        }
    }
    /* The files given, else every rule and indicator file of the config. */
    size_t n_paths = n_files > 0 ? (size_t)n_files
                     : cfg       ? cfg->n_rule_files + cfg->n_indicator_files
                                 : 0;
    const char **paths = calloc(n_paths + 1, sizeof(*paths));
    const char **rules = calloc(n_paths + 1, sizeof(*rules));
    if (!paths || !rules) {
        free(paths);
        free(rules);
        vigil_config_destroy(cfg);
        vigil_diags_fini(&diags);
        return 1;
    }
    for (size_t i = 0; i < n_paths; i++) {
        if (n_files > 0)
            paths[i] = argv[optind + (int)i];
        else if (i < cfg->n_rule_files)
            paths[i] = cfg->rule_files[i];
        else
            paths[i] = cfg->indicator_files[i - cfg->n_rule_files];
    }
    size_t n_rules = 0, n_ind = 0;
    const char **inds = calloc(n_paths + 1, sizeof(*inds));
    for (size_t i = 0; inds && i < n_paths; i++) {
        if (is_indicator_file(paths[i]))
            inds[n_ind++] = paths[i];
        else
            rules[n_rules++] = paths[i];
    }
    struct vigil_rule_set_options opts = {0};
    if (cfg)
        vigil_rule_set_options_from_config(cfg, &opts);
    struct vigil_rule_set *set =
        n_rules || !n_ind ? vigil_rule_set_load(rules, n_rules, &opts, &diags)
                          : NULL;
    /* Indicators read the counters of the rules tested with them. */
    struct vigil_indicator_options iopts = {
        .counter_kind = vigil_measures_counter_kind,
        .counter_ctx = set,
        .retention_ms = VIGIL_MAX_REACH_MS,
    };
    struct vigil_indicator_set *ind =
        n_ind
            ? vigil_indicator_set_load(inds, n_ind, set ? &iopts : NULL, &diags)
            : NULL;
    free(inds);
    free(rules);
    free(paths);
    vigil_config_destroy(cfg);
    vigil_diags_print(&diags, stderr);
    vigil_diags_fini(&diags);
    bool load_failed = (n_rules && !set) || (n_ind && !ind);
    if (load_failed) {
        fprintf(stderr, "vigild test: the files did not load\n");
        if (set)
            vigil_rule_set_unref(set);
        vigil_indicator_set_destroy(ind);
        return 1;
    }
    if (verbose && set)
        describe(set);
    struct vigil_rule_test_summary sum = {0, 0};
    int rc = set ? vigil_rule_test_run(set, stdout, &sum) : 0;
    unsigned ind_passed = 0, ind_failed = 0;
    if (ind &&
        vigil_indicator_tests_run(ind, stdout, &ind_passed, &ind_failed) < 0 &&
        rc == 0)
        rc = 1;
    if (set)
        vigil_rule_set_unref(set);
    vigil_indicator_set_destroy(ind);
    printf("%zu tests, %zu failed\n", sum.tests + ind_passed + ind_failed,
           sum.failed + ind_failed);
    if (rc < 0) {
        fprintf(stderr, "vigild test: out of memory\n");
        return 1;
    }
    return rc == 0 ? 0 : 1;
}
