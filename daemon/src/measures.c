#include "measures.h"

#include <stdlib.h>

#include "expr.h"

unsigned vigil_measures_counter_kind(void *ctx, const char *name)
{
    const struct vigil_counter *c =
        vigil_rule_set_find_counter((const struct vigil_rule_set *)ctx, name);
    if (!c)
        return 0;
    switch (c->kind) {
    case VIGIL_COUNT_PLAIN:
        return VIGIL_EXPR_ON_PLAIN;
    case VIGIL_COUNT_BY:
        return VIGIL_EXPR_ON_BY;
    case VIGIL_COUNT_DISTINCT:
        return VIGIL_EXPR_ON_DISTINCT;
    case VIGIL_COUNT_SUM:
        return VIGIL_EXPR_ON_SUM;
    case VIGIL_COUNT_PAIR:
        return VIGIL_EXPR_ON_PAIR;
    }
    return 0;
}

struct vigil_indicator_set *
vigil_measures_load_indicators(const struct vigil_config *cfg,
                               const struct vigil_rule_set *rules,
                               struct vigil_diags *diags)
{
    if (cfg->n_indicator_files == 0)
        return calloc(1, sizeof(struct vigil_indicator_set));
    struct vigil_indicator_options opts = {
        .counter_kind = vigil_measures_counter_kind,
        .counter_ctx = (void *)rules,
        .retention_ms = VIGIL_MAX_REACH_MS,
    };
    return vigil_indicator_set_load((const char *const *)cfg->indicator_files,
                                    cfg->n_indicator_files, &opts, diags);
}

int64_t vigil_measures_retention_s(const struct vigil_indicator_set *set)
{
    int64_t reach_s = set ? (int64_t)(set->max_reach_ms / 1000) : 0;
    int64_t r = reach_s + 3600;
    return r > VIGIL_DEFAULT_RETENTION_S ? r : VIGIL_DEFAULT_RETENTION_S;
}
