/*
 * libFuzzer target for the rule loader: the input is one rule file. It is
 * loaded (YAML, schema, regex compile, error positions inside scalars,
 * cross-rule links), every diagnostic is formatted, and when the set
 * loads, its patterns run on the input itself as an event's message.
 *
 * The Vectorscan prefilter is left out: its compile time for large bounded
 * repeats is Vectorscan's own matter, and it would turn into timeouts here.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "matcher.h"
#include "rule_set.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/*
 * libfyaml 0.7.12 leaks the text buffer of a quoted scalar with many ''
 * escapes once fy_node_get_scalar() has formatted it (reproduced without
 * vigil: a key of 60 '' pairs leaks 4 KiB). Only leaks allocated inside
 * libfyaml are ignored; vigil's own are still reported.
 */
const char *__lsan_default_suppressions(void)
{
    return "leak:libfyaml.so\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vigil_diags diags;
    vigil_diags_init(&diags);
    struct vigil_rule_source src = {"fuzz.yaml", (const char *)data, size};
    struct vigil_rule_set_options opts = {.no_prefilter = true};
    struct vigil_rule_set *set =
        vigil_rule_set_load_sources(&src, 1, &opts, &diags);
    char buf[512];
    for (size_t i = 0; i < diags.n; i++)
        vigil_diag_format(&diags.v[i], buf, sizeof(buf));
    vigil_diags_fini(&diags);
    if (!set)
        return 0;

    struct vigil_matcher *m = vigil_matcher_create(set);
    struct vigil_event ev;
    vigil_event_init(&ev);
    vigil_event_reset(&ev, (const char *)data, size);
    vigil_event_add(&ev, VIGIL_SV("message"),
                    (struct vigil_sv){(const char *)data, size},
                    VIGIL_FIELD_STRING, false);
    if (m)
        vigil_matcher_run(m, &ev, NULL, NULL);
    vigil_event_fini(&ev);
    vigil_matcher_destroy(m);
    vigil_rule_set_unref(set);
    return 0;
}
