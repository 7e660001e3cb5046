/*
 * A descriptor shorter than the ABI 1.0 struct: only 16 bytes exist, so a
 * loader that read past struct_size would trip AddressSanitizer.
 */
#include <stdint.h>

#include <vigil/plugin.h>

struct short_desc {
    uint32_t abi_major;
    uint32_t struct_size;
    const char *name;
};

VIGIL_PLUGIN_EXPORT const struct short_desc vigil_plugin_v1 = {
    .abi_major = VIGIL_PLUGIN_ABI_MAJOR,
    .struct_size = sizeof(struct short_desc),
    .name = "short",
};
