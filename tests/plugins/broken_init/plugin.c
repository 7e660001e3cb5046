/* A decoder whose init fails with a message (and allocates nothing). */
#include <stdio.h>

#include <vigil/plugin.h>

static int init(const struct vigil_host_api *host,
                const struct vigil_plugin_kv *config, size_t n_config,
                void **state, char *err, size_t errlen)
{
    (void)host, (void)state;
    snprintf(err, errlen, "%zu config keys, first '%s'", n_config,
             n_config ? config[0].key : "");
    return -1;
}

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
    .name = "badinit",
    .version = "1",
    .init = init,
    .decode = decode,
};
