/* A shared object without vigil_plugin_v1 (it exports another name). */
#include <vigil/plugin.h>

VIGIL_PLUGIN_EXPORT const struct vigil_plugin_v1 vigil_plugin_v0 = {
    .abi_major = VIGIL_PLUGIN_ABI_MAJOR,
    .struct_size = sizeof(struct vigil_plugin_v1),
    .kind = VIGIL_PLUGIN_DECODER,
    .name = "nosym",
    .version = "1",
};
