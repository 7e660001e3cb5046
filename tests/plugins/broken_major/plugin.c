/* A plugin built for ABI major 2: the loader must refuse it unread. */
#include <vigil/plugin.h>

static int decode(void *state, const char *data, size_t len,
                  struct vigil_plugin_event *ev, const char **reason)
{
    (void)state, (void)data, (void)len, (void)ev, (void)reason;
    return 0;
}

VIGIL_PLUGIN_EXPORT const struct vigil_plugin_v1 vigil_plugin_v1 = {
    .abi_major = 2,
    .struct_size = sizeof(struct vigil_plugin_v1),
    .kind = VIGIL_PLUGIN_DECODER,
    .name = "major",
    .version = "1",
    .decode = decode,
};
