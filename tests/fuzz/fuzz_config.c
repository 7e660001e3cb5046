/*
 * libFuzzer target for the config loader: any bytes as vigil.yaml. The
 * loader must report problems as diags and never crash, leak or hang.
 * Relative paths resolve against a folder that does not exist, so globs
 * and @files find nothing.
 */
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vigil_diags diags = {0};
    struct vigil_config *cfg =
        vigil_config_load_string("fuzz.yaml", (const char *)data, size,
                                 "/nonexistent-vigil-fuzz", &diags);
    vigil_config_destroy(cfg);
    vigil_diags_fini(&diags);
    return 0;
}
