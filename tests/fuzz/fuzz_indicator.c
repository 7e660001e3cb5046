/*
 * libFuzzer target for indicator files: every input is loaded as one
 * indicator file (YAML, every field, expressions, criteria, tests); a set
 * that loads has its inline tests run (when they are short) and every
 * state that comes out is checked for consistency.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "indicator.h"
#include "indicator_test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Any name is a counter; its kind comes from its first letter. */
static unsigned any_kind(void *ctx, const char *name)
{
    (void)ctx;
    static const unsigned kinds[] = {VIGIL_EXPR_ON_PLAIN, VIGIL_EXPR_ON_BY,
                                     VIGIL_EXPR_ON_DISTINCT, VIGIL_EXPR_ON_SUM,
                                     VIGIL_EXPR_ON_PAIR};
    return kinds[(unsigned char)name[0] % 5];
}

static bool short_tests(const struct vigil_indicator *ind)
{
    for (size_t t = 0; t < ind->n_tests; t++)
        for (size_t x = 0; x < ind->tests[t].n_expects; x++)
            if (ind->tests[t].expects[x].at_ms / ind->frequency_ms > 2000)
                return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vigil_diags diags = {0};
    struct vigil_indicator_source src = {"fuzz.yaml", (const char *)data, size};
    struct vigil_indicator_options opts = {.counter_kind = any_kind,
                                           .retention_ms = 8ULL * 86400000ULL};
    struct vigil_indicator_set *set =
        vigil_indicator_set_load_sources(&src, 1, &opts, &diags);
    if (!set && diags.n == 0)
        abort(); /* a failure must say why */
    for (size_t i = 0; i < diags.n; i++) {
        char buf[512];
        vigil_diag_format(&diags.v[i], buf, sizeof(buf));
    }
    vigil_diags_fini(&diags);
    if (!set)
        return 0;
    for (size_t i = 0; i < set->n; i++) {
        const struct vigil_indicator *ind = &set->v[i];
        if (!ind->id || !ind->value || ind->frequency_ms == 0 ||
            ind->n_decision == 0)
            abort();
        if (short_tests(ind))
            for (size_t t = 0; t < ind->n_tests; t++)
                vigil_indicator_test_run(ind, &ind->tests[t], NULL);
    }
    vigil_indicator_set_destroy(set);
    return 0;
}
