/*
 * vigild run: the daemon (DESIGN.md sections 1 and 2). Loads the config,
 * the rules, the indicators and the plugins, then runs until stopped.
 */
#include <getopt.h>
#include <stdio.h>

#include "commands.h"
#include "config.h"
#include "daemon.h"
#include "diag.h"
#include "measures.h"
#include "plugin_loader.h"

int vigil_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0},
    };
    const char *path = "vigil.yaml";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (c != 'c') {
            fprintf(stderr, "usage: vigild run -c vigil.yaml\n");
            return 2;
        }
        path = optarg;
    }

    struct vigil_diags diags = {0};
    int rc = 1;
    struct vigil_config *cfg = vigil_config_load(path, &diags);
    if (!cfg || vigil_config_require_kafka(cfg, &diags) < 0)
        goto out;
    struct vigil_rule_set *set = vigil_rule_set_load_config(cfg, &diags);
    if (!set)
        goto out;
    struct vigil_indicator_set *ind =
        vigil_measures_load_indicators(cfg, set, &diags);
    /* Plugins stay loaded until every worker has stopped. */
    struct vigil_plugins *plugins =
        ind ? vigil_plugins_load(cfg, &diags) : NULL;
    if (plugins && vigil_plugins_check_config(plugins, cfg, &diags) == 0) {
        vigil_diags_print(&diags, stderr);
        vigil_diags_fini(&diags);
        struct vigil_daemon_options o = {.plugins = plugins};
        rc = vigil_daemon_run(cfg, set, ind, &o);
    }
    vigil_plugins_destroy(plugins);
    vigil_indicator_set_destroy(ind);
    vigil_rule_set_unref(set);
out:
    vigil_diags_print(&diags, stderr);
    vigil_diags_fini(&diags);
    vigil_config_destroy(cfg);
    return rc;
}
