/* A well-formed decoder that takes the name of the shipped CEF decoder. */
#include <vigil/plugin.h>

static int decode(void *state, const char *data, size_t len,
                  struct vigil_plugin_event *ev, const char **reason)
{
    (void)state, (void)data, (void)len, (void)ev, (void)reason;
    return 0;
}

VIGIL_PLUGIN_EXPORT const struct vigil_plugin_v1 vigil_plugin_v1 = {
    .abi_major = VIGIL_PLUGIN_ABI_MAJOR,
    .struct_size = sizeof(struct vigil_plugin_v1),
    .abi_minor = VIGIL_PLUGIN_ABI_MINOR,
    .kind = VIGIL_PLUGIN_DECODER,
    .name = "cef",
    .version = "0.0.1",
    .decode = decode,
};
