/* A decoder without its decode callback. */
#include <vigil/plugin.h>

VIGIL_PLUGIN_EXPORT const struct vigil_plugin_v1 vigil_plugin_v1 = {
    .abi_major = VIGIL_PLUGIN_ABI_MAJOR,
    .struct_size = sizeof(struct vigil_plugin_v1),
    .abi_minor = VIGIL_PLUGIN_ABI_MINOR,
    .kind = VIGIL_PLUGIN_DECODER,
    .name = "nocallback",
    .version = "1",
};
