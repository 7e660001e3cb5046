/*
 * plugin_loader: the plugins of vigil.yaml's `plugins` list, loaded once at
 * start (vigild run, replay and check) into a registry, and the host side
 * of the plugin ABI (plugins/include/vigil/plugin.h).
 *
 * Loading a plugin: dlopen(RTLD_NOW | RTLD_LOCAL), dlsym("vigil_plugin_v1"),
 * then, before any other field is read, the ABI major and the struct
 * size; then name, version, kind, the kind's callback, clashes with
 * built-in names and with the plugins loaded before it; then init with
 * its config map. Each problem is one diagnostic at the plugin's `path` in
 * the config, naming the shared object:
 *   "<path>: ABI major 2, this vigild speaks 1"
 *   "<path>: struct too small (16 bytes, need at least 120)"
 *   "<path>: missing decode callback"
 *   "<path>: duplicate plugin name 'cef' (also in <other path>)"
 *
 * Threading (the contract of plugin.h): the registry is built and
 * destroyed on the main thread, and is read-only in between. Decoders and
 * enrichers are called on worker threads concurrently through
 * vigil_plugin_decode and vigil_plugins_enrich; notifiers through
 * vigil_plugin_notify, which serialises the calls of one plugin; reload
 * on the main thread. The registry outlives every pipeline that uses it.
 */
#ifndef VIGIL_PLUGIN_LOADER_H
#define VIGIL_PLUGIN_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vigil/plugin.h>

#include "config.h"
#include "decode.h"
#include "diag.h"
#include "event.h"
#include "pipeline.h"

struct vigil_plugins; /* the registry */
struct vigil_plugin;  /* one loaded plugin */

struct vigil_plugins_options {
    /* Relative paths in plugin configs resolve here; NULL: ".". Copied. */
    const char *config_dir;
    /* The host's clock for plugins (tests inject one); NULL: real time. */
    int64_t (*now_ms)(void *ctx);
    void *clock_ctx;
};

/* An empty registry (opts may be NULL). NULL when out of memory. */
struct vigil_plugins *
vigil_plugins_create(const struct vigil_plugins_options *opts);

/*
 * Unloads every plugin in reverse order of loading: destroy, then dlclose.
 * Call after every user of the registry has stopped. NULL is fine. Main
 * thread.
 */
void vigil_plugins_destroy(struct vigil_plugins *r);

/* Where a plugin comes from, for loading and for messages. */
struct vigil_plugin_source {
    const char *path;                      /* the shared object (borrowed) */
    const struct vigil_config_map *config; /* NULL: empty */
    const char *file;            /* config file for messages; NULL: none */
    struct vigil_config_pos pos; /* of the plugin's path in file */
};

/*
 * Loads the shared object src->path, checks it and initialises it (see
 * the head of this file). Returns 0, or -1 with one diagnostic in diags
 * (the registry is unchanged). Main thread.
 */
int vigil_plugins_open(struct vigil_plugins *r,
                       const struct vigil_plugin_source *src,
                       struct vigil_diags *diags);

/*
 * The same for a descriptor linked into the program (tests, fuzz
 * targets): src->path is only the name used in messages. desc must
 * outlive the registry.
 */
int vigil_plugins_add(struct vigil_plugins *r,
                      const struct vigil_plugin_v1 *desc,
                      const struct vigil_plugin_source *src,
                      struct vigil_diags *diags);

/*
 * Loads every plugin of cfg->plugins in order, reporting every problem at
 * its position in cfg->file. Returns the registry (empty without plugins;
 * free with vigil_plugins_destroy), or NULL when any plugin failed (those
 * that loaded are unloaded again) or out of memory. Main thread.
 */
struct vigil_plugins *vigil_plugins_load(const struct vigil_config *cfg,
                                         struct vigil_diags *diags);

/*
 * Checks the names cfg takes from plugins against r: events.format (when
 * it is not a built-in format) must name a decoder, and the type of each
 * plugin notifier a notifier. Problems go to diags at the name's position
 * (events.format, notifiers[i].type). Returns 0 or -1.
 */
int vigil_plugins_check_config(const struct vigil_plugins *r,
                               const struct vigil_config *cfg,
                               struct vigil_diags *diags);

/* The loaded plugins, in loading order. */
size_t vigil_plugins_count(const struct vigil_plugins *r);
struct vigil_plugin *vigil_plugins_at(const struct vigil_plugins *r, size_t i);

/* The plugin of this kind and name, or NULL. */
struct vigil_plugin *vigil_plugins_find(const struct vigil_plugins *r,
                                        enum vigil_plugin_kind kind,
                                        const char *name);

/* Borrowed from the registry. */
const char *vigil_plugin_name(const struct vigil_plugin *p);
const char *vigil_plugin_version(const struct vigil_plugin *p);
const char *vigil_plugin_path(const struct vigil_plugin *p);
enum vigil_plugin_kind vigil_plugin_kind(const struct vigil_plugin *p);

/* "decoder", "notifier", "enricher" ("unknown" otherwise). */
const char *vigil_plugin_kind_name(enum vigil_plugin_kind kind);

/*
 * Calls of the plugin's enrich or notify that failed, and fields it added
 * that were refused (relaxed; any thread).
 */
uint64_t vigil_plugin_errors(const struct vigil_plugin *p);

/*
 * Wires r into the options of a pipeline for cfg: the decoder plugin that
 * cfg->events.format names (when it names one) and the enrichers. r may
 * be NULL when cfg needs no plugins. Returns 0, or -1 when the decoder is
 * not loaded (vigil_plugins_check_config reports that first).
 */
int vigil_plugins_pipeline_options(struct vigil_plugins *r,
                                   const struct vigil_config *cfg,
                                   struct vigil_pipeline_options *po);

/*
 * A vigil_decode_fn: decodes with the decoder plugin ctx (a struct
 * vigil_plugin). Fails with the plugin's reason, or with the host's when
 * a field it added was refused ("not UTF-8", "too many fields", ...).
 * Worker threads, concurrently.
 */
int vigil_plugin_decode(void *ctx, const char *data, size_t len,
                        struct vigil_event *ev, const char **reason);

/* True when r holds at least one enricher. */
bool vigil_plugins_has_enrichers(const struct vigil_plugins *r);

/*
 * A vigil_enrich_fn (pipeline.h): runs every enricher of ctx (a struct
 * vigil_plugins) on ev, in loading order. A failing enricher is counted
 * (vigil_plugin_errors) and logged rate-limited; the others still run.
 * Returns 0, or -1 when any failed. Worker threads, concurrently.
 */
int vigil_plugins_enrich(void *ctx, struct vigil_event *ev);

/*
 * Delivers json[0..len) (NUL-terminated) with the notifier plugin p, for
 * the `notifiers` entry n (its name, url, timeout as the budget, headers
 * and config are handed over). Blocks up to about n->timeout_ms; calls for
 * one plugin are serialised. Returns 0 when delivered, or -1 with a
 * message in err[0..errlen). Any thread but a worker (main loop or a
 * delivery thread).
 */
int vigil_plugin_notify(struct vigil_plugin *p,
                        const struct vigil_config_notifier *n, const char *json,
                        size_t len, char *err, size_t errlen);

/*
 * Calls every plugin's reload (SIGHUP), logging each result. Returns 0, or
 * -1 when any failed (those keep their previous data). Main thread.
 */
int vigil_plugins_reload(struct vigil_plugins *r);

#endif
