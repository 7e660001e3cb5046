/*
 * rule_config: the bridge from vigil.yaml (config.h) to the rule set, so
 * that rule_set.c itself needs no config.
 */
#include <string.h>

#include "config.h"
#include "rule_set.h"

void vigil_rule_set_options_from_config(const struct vigil_config *cfg,
                                        struct vigil_rule_set_options *out)
{
    memset(out, 0, sizeof(*out));
    out->limits.match_limit = cfg->matching.match_limit;
    out->limits.depth_limit = cfg->matching.depth_limit;
    out->no_prefilter = !cfg->matching.vectorscan;
}

struct vigil_rule_set *
vigil_rule_set_load_config(const struct vigil_config *cfg,
                           struct vigil_diags *diags)
{
    struct vigil_rule_set_options opts;
    vigil_rule_set_options_from_config(cfg, &opts);
    return vigil_rule_set_load((const char *const *)cfg->rule_files,
                               cfg->n_rule_files, &opts, diags);
}
