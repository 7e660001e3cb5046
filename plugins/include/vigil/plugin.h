/*
 * vigil plugin ABI, major version 1 (DESIGN.md section 10).
 *
 * This header is the whole contract between vigild and a plugin: a plugin
 * includes nothing else of vigil. A plugin is a shared object that exports
 * exactly one symbol, `vigil_plugin_v1`, a struct vigil_plugin_v1 that
 * describes it: its name, its kind and its callbacks. The host calls back
 * into vigild only through the struct vigil_host_api it passes to init.
 *
 * Versioning (nginx and SQLite style):
 *  - Both structs start with { abi_major, struct_size }, in every major
 *    version. The host reads these two fields first and refuses a plugin
 *    whose abi_major differs from its own or whose struct_size is smaller
 *    than the ABI 1.0 struct, before it reads anything else.
 *  - Within a major version the structs are append-only: a field is never
 *    moved, removed or changed in type. A new callback takes a spare slot
 *    (so the size stays) or is appended at the end (struct_size grows).
 *    The host reads a field only when struct_size covers it and calls a
 *    callback only when it is not NULL; a plugin does the same with the
 *    host table (VIGIL_HOST_HAS).
 *  - Anything else is a new major version, with a new symbol name
 *    (vigil_plugin_v2).
 *
 * Kinds and their required callback:
 *  - decoder  (decode): payload bytes -> event fields. Chosen with
 *             `events.format: <name>` in vigil.yaml.
 *  - enricher (enrich): event -> extra fields. Every loaded enricher runs
 *             on every event after decoding and before matching, in the
 *             order of the `plugins` list.
 *  - notifier (notify): vigil's notification JSON -> a delivery. Chosen
 *             with `type: <name>` of an entry in `notifiers`.
 * init, destroy and reload are optional for every kind.
 *
 * Threading contract:
 *  - init, reload and destroy run on the main thread, never concurrently
 *    with each other. init runs once per process, before any other call;
 *    destroy runs once, after every other call has returned.
 *  - decode and enrich run on the worker threads, concurrently, all with
 *    the same state: they must be thread-safe. Keep the state read-only
 *    after init, or synchronise (see reload). The event handle they get
 *    belongs to the calling thread.
 *  - reload runs on the main thread (vigild's SIGHUP) while workers may be
 *    in decode or enrich: swap what it rebuilds under a lock (or an atomic
 *    pointer with deferred free). On failure it returns -1 and must keep
 *    the old data working.
 *  - notify runs on one host thread at a time (the main loop or the
 *    host's delivery thread, never a worker), never concurrently for one
 *    plugin. It is synchronous and blocks that thread: it must return
 *    within the notification's timeout_ms, the notifier's `timeout`
 *    (default 10 s). Pass the budget on to your I/O (e.g. a transfer
 *    timeout) rather than measuring it yourself.
 *
 * Memory: the host owns everything it passes in; a pointer is borrowed for
 * the duration of the call unless said otherwise. The strings of the
 * struct vigil_plugin_v1 itself (name, version) must live as long as the
 * shared object is loaded.
 *
 * Build plugins with -fvisibility=hidden and mark only the descriptor with
 * VIGIL_PLUGIN_EXPORT. plugins/README.md shows a complete plugin.
 */
#ifndef VIGIL_PLUGIN_H
#define VIGIL_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VIGIL_PLUGIN_ABI_MAJOR 1
#define VIGIL_PLUGIN_ABI_MINOR 0

/* The one symbol a plugin exports (a struct vigil_plugin_v1). */
#define VIGIL_PLUGIN_SYMBOL "vigil_plugin_v1"

#if defined(__GNUC__)
#define VIGIL_PLUGIN_EXPORT __attribute__((visibility("default")))
#define VIGIL_PLUGIN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define VIGIL_PLUGIN_EXPORT
#define VIGIL_PLUGIN_PRINTF(f, a)
#endif

enum vigil_plugin_kind {
    VIGIL_PLUGIN_DECODER = 1,
    VIGIL_PLUGIN_NOTIFIER = 2,
    VIGIL_PLUGIN_ENRICHER = 3,
};

/* Levels of host->log. */
enum vigil_plugin_log_level {
    VIGIL_PLUGIN_LOG_DEBUG = 0,
    VIGIL_PLUGIN_LOG_INFO = 1,
    VIGIL_PLUGIN_LOG_WARN = 2,
    VIGIL_PLUGIN_LOG_ERROR = 3,
};

/* One key/value pair of a config map, both NUL-terminated. */
struct vigil_plugin_kv {
    const char *key;
    const char *value;
};

/*
 * An event being decoded or enriched. Opaque: read and change it only
 * through the host table. Valid for the duration of the decode or enrich
 * call; it belongs to the calling thread.
 */
struct vigil_plugin_event;

/*
 * What the host offers a plugin, passed to init. Valid until destroy
 * returns: keep the pointer in your state. Every function may be called
 * from any thread (the event functions with the calling thread's event).
 */
struct vigil_host_api {
    uint32_t abi_major;   /* VIGIL_PLUGIN_ABI_MAJOR of the host */
    uint32_t struct_size; /* sizeof(struct vigil_host_api) of the host */

    /* ABI 1.0 */

    /*
     * The folder of vigild's config file: resolve relative paths in the
     * plugin's config against it. Never NULL.
     */
    const char *config_dir;

    /* Logs one line, prefixed with the plugin's name. Never blocks long. */
    void (*log)(const struct vigil_host_api *host, int level, const char *fmt,
                ...) VIGIL_PLUGIN_PRINTF(3, 4);

    /* Wall-clock time, epoch milliseconds (the host's clock). */
    int64_t (*now_ms)(const struct vigil_host_api *host);

    /*
     * vigild's timestamp parser: RFC 3339 ("2024-06-01T12:00:00.5+02:00",
     * zone optional = UTC), epoch seconds (< 1e11) or epoch milliseconds.
     * s[0..len) need not be NUL-terminated. Returns 0 and *ms, or -1.
     */
    int (*parse_time)(const char *s, size_t len, int64_t *ms);

    /*
     * The value of the event's field name[0..name_len) (the last one when
     * the name occurs more than once), as plain text (JSON escapes undone;
     * nested objects and arrays as their JSON text): *value[0..*value_len)
     * is valid UTF-8, not NUL-terminated, valid until the call on the event
     * returns. Returns 0, or -1 when the event has no such field.
     */
    int (*event_get)(struct vigil_plugin_event *ev, const char *name,
                     size_t name_len, const char **value, size_t *value_len);

    /* The number of fields of the event. */
    size_t (*event_count)(struct vigil_plugin_event *ev);

    /*
     * Field i (0-based, in the order added) as name and plain-text value,
     * with the same lifetime as event_get's. Returns 0, or -1 when i is out
     * of range.
     */
    int (*event_at)(struct vigil_plugin_event *ev, size_t i, const char **name,
                    size_t *name_len, const char **value, size_t *value_len);

    /*
     * Adds the field name[0..name_len) = value[0..value_len) to the event
     * (a later field of the same name shadows an earlier one). Both are
     * copied into the event unless they lie inside the data being decoded
     * or inside the last block that event_alloc returned, which are then
     * referenced in place: the plugin may reuse its own buffers as soon as
     * this returns. The name must not be empty; both must be valid UTF-8.
     * Returns 0, or -1 when the field is refused (not UTF-8, empty name,
     * too many fields, out of memory). A refused field fails the decode
     * (the host drops the event with the reason), so a decoder may ignore
     * the result; an enricher's refused field is counted and skipped.
     */
    int (*event_add)(struct vigil_plugin_event *ev, const char *name,
                     size_t name_len, const char *value, size_t value_len);

    /*
     * len + 1 bytes of scratch memory owned by the event, valid until the
     * call on the event returns (and as field values, as long as the
     * event): unescape into it, then event_add without a further copy.
     * NULL when out of memory.
     */
    char *(*event_alloc)(struct vigil_plugin_event *ev, size_t len);

    /*
     * Sets the event's time (epoch ms), e.g. from a timestamp field of the
     * format. The field `events.time_field` names, when the event has it
     * and it parses, still takes precedence; without either, the time is
     * the Kafka message's (or now for replay).
     */
    void (*event_set_time)(struct vigil_plugin_event *ev, int64_t ms);
};

/* True when the host table has member m (a newer host may have more). */
#define VIGIL_HOST_HAS(host, m)                                                \
    ((host)->struct_size >=                                                    \
     offsetof(struct vigil_host_api, m) + sizeof((host)->m))

/*
 * One notification for a notifier plugin: the JSON that vigil's webhook
 * notifier would send, and the settings of the `notifiers` entry that
 * chose this plugin. Everything is borrowed for the call.
 */
struct vigil_plugin_notification {
    uint32_t struct_size; /* sizeof(struct vigil_plugin_notification) */
    uint32_t timeout_ms;  /* the budget: return within it */
    const char *notifier; /* the entry's `name` */
    const char *url;      /* its `url`; NULL when not set */
    const struct vigil_plugin_kv *headers; /* its `headers` */
    size_t n_headers;
    const struct vigil_plugin_kv *config; /* its `config` */
    size_t n_config;
    const char *json; /* the notification, NUL-terminated */
    size_t json_len;
};

/*
 * The descriptor a plugin exports as `vigil_plugin_v1`. Initialise it with
 * designated initialisers so that spare slots and callbacks you do not
 * provide are NULL:
 *
 *   VIGIL_PLUGIN_EXPORT const struct vigil_plugin_v1 vigil_plugin_v1 = {
 *       .abi_major = VIGIL_PLUGIN_ABI_MAJOR,
 *       .struct_size = sizeof(struct vigil_plugin_v1),
 *       .abi_minor = VIGIL_PLUGIN_ABI_MINOR,
 *       .kind = VIGIL_PLUGIN_DECODER,
 *       .name = "cef",
 *       .version = "1.0.0",
 *       .decode = cef_decode,
 *   };
 */
struct vigil_plugin_v1 {
    /* The same two fields in every major version. */
    uint32_t abi_major;   /* VIGIL_PLUGIN_ABI_MAJOR */
    uint32_t struct_size; /* sizeof(struct vigil_plugin_v1) */

    /* ABI 1.0 */
    uint32_t abi_minor; /* VIGIL_PLUGIN_ABI_MINOR the plugin was built with */
    uint32_t kind;      /* enum vigil_plugin_kind */
    /*
     * The name vigil.yaml uses ([A-Za-z0-9_.-], 1..64 characters); unique
     * among the loaded plugins, and not a built-in format or notifier type.
     */
    const char *name;
    const char *version; /* free text, e.g. "1.2.0"; not NULL */

    /*
     * Optional. Called once on the main thread with the plugin's `config`
     * map from vigil.yaml (borrowed for the call: copy what you keep). Sets
     * *state (NULL is fine), which every later callback gets. Returns 0, or
     * -1 with a message in err[0..errlen) (NUL-terminated, no newline)
     * after freeing what it allocated (destroy is not called then); vigild
     * then refuses to start (and `vigild check` reports it).
     */
    int (*init)(const struct vigil_host_api *host,
                const struct vigil_plugin_kv *config, size_t n_config,
                void **state, char *err, size_t errlen);

    /* Optional. Frees state; called once on the main thread at exit. */
    void (*destroy)(void *state);

    /*
     * Optional. Re-reads what the plugin loaded at init (vigild's SIGHUP),
     * on the main thread while decode and enrich may run on workers. Returns
     * 0, or -1 with a message in err, having kept the previous data.
     */
    int (*reload)(void *state, char *err, size_t errlen);

    /*
     * Decoders. Turns data[0..len) (one Kafka message or one replayed line,
     * without its line ending; not NUL-terminated; hostile) into fields
     * with host->event_add. Returns 0, or -1 when the data is not in the
     * plugin's format, with *reason a short static string (it ends up in
     * the dead-letter header; NULL gives a generic one). Worker threads,
     * concurrently.
     */
    int (*decode)(void *state, const char *data, size_t len,
                  struct vigil_plugin_event *ev, const char **reason);

    /*
     * Enrichers. Reads fields with host->event_get and adds more with
     * host->event_add. Returns 0 (also when it added nothing), or -1 on an
     * error worth counting; the event is matched either way. Worker
     * threads, concurrently.
     */
    int (*enrich)(void *state, struct vigil_plugin_event *ev);

    /*
     * Notifiers. Delivers n->json. Returns 0 once the receiver accepted
     * it, or -1 with a message in err[0..errlen); the host retries later
     * with backoff, so a delivery may be repeated. Synchronous, within
     * n->timeout_ms; one call at a time (see the threading contract).
     */
    int (*notify)(void *state, const struct vigil_plugin_notification *n,
                  char *err, size_t errlen);

    /* For ABI 1.x additions; must be NULL. */
    void (*spare[8])(void);
};

#ifdef __cplusplus
}
#endif

#endif
