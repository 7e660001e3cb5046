/*
 * config: vigil.yaml (DESIGN.md section 3) parsed once into an immutable
 * struct vigil_config. Reload builds a new one and swaps it whole.
 *
 * Loading reports every problem it finds, not only the first, each as
 * "file:line:col: message" in a struct vigil_diags. Every string value
 * expands ${ENV_VAR}; a value that starts with '@' is the contents of that
 * file; relative paths and globs resolve against the config file's folder.
 * docs/CONFIG.md describes every key and its default.
 *
 * Nothing here touches the network or Kafka/Redis: loading only reads the
 * config file, the @files it names and the folders its globs list.
 */
#ifndef VIGIL_CONFIG_H
#define VIGIL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "decode.h"
#include "diag.h"
#include "report_calendar.h"

/* Where a value was written, for problems found after loading. */
struct vigil_config_pos {
    int line; /* 1-based; 0 when the value is a default */
    int col;  /* 1-based; 0 when the value is a default */
};

/* A string -> string mapping in file order (keys are unique). */
struct vigil_config_kv {
    char *key;
    char *value;
};

struct vigil_config_map {
    struct vigil_config_kv *v;
    size_t n;
};

/* The value for key, or NULL. Borrowed from m. */
const char *vigil_config_map_get(const struct vigil_config_map *m,
                                 const char *key);

struct vigil_config_kafka {
    bool present;            /* false: no kafka section (fine for check) */
    char *brokers;           /* "host:port,host:port" */
    char **topics;           /* NULL-terminated */
    size_t n_topics;         /* >= 1 when present */
    char *group;             /* consumer group id */
    unsigned workers;        /* consumer threads, 1..64 */
    char *dead_letter_topic; /* NULL: undecodable messages are only counted */
    size_t max_message_bytes;
    unsigned batch_events; /* a worker writes to Redis after this many */
    struct vigil_config_map properties; /* verbatim to librdkafka */
};

enum vigil_redis_transport {
    VIGIL_REDIS_TCP,
    VIGIL_REDIS_UNIX,
};

struct vigil_config_redis {
    char *url; /* as written (after ${ENV} expansion); may hold a password */
    enum vigil_redis_transport transport;
    char *host;        /* TCP: host name or address, without [] */
    int port;          /* TCP */
    char *socket_path; /* UNIX: resolved path */
    int db;
    char *username; /* NULL: the default user */
    char *password; /* NULL: no AUTH; from the url or redis.password */
    char *ns;       /* namespace: keys live under vigil:{ns}: */
    uint64_t connect_timeout_ms;
    uint64_t command_timeout_ms;
    /* entries the findings stream keeps (XADD MAXLEN ~); 0: record none */
    uint64_t findings_max_len;
};

struct vigil_config_events {
    char *format_name;                  /* as written: "auto", "cef", ... */
    enum vigil_event_format format;     /* meaningful when !format_plugin */
    bool format_plugin;                 /* format_name names a decoder plugin */
    struct vigil_config_pos format_pos; /* to report an unknown plugin */
    char *time_field;                   /* "" = use the Kafka timestamp */
    uint64_t resolution_ms;             /* whole seconds, >= 1000 */
};

struct vigil_config_http {
    char *listen;      /* as written, "host:port" */
    char *host;        /* without [] */
    int port;          /* 0: pick a free port */
    char *read_token;  /* NULL: reads are open (loopback only) */
    char *admin_token; /* NULL: changes are refused */
};

enum vigil_notifier_type {
    VIGIL_NOTIFIER_WEBHOOK,
    VIGIL_NOTIFIER_PAGERDUTY,
    VIGIL_NOTIFIER_ALERTMANAGER,
    VIGIL_NOTIFIER_SLACK,
    VIGIL_NOTIFIER_EXEC,
    VIGIL_NOTIFIER_LOG,
    VIGIL_NOTIFIER_PLUGIN, /* type_name names a notifier plugin */
};

struct vigil_config_notifier {
    char *name;      /* unique among notifiers */
    char *type_name; /* as written */
    enum vigil_notifier_type type;
    struct vigil_config_pos pos;      /* the entry */
    struct vigil_config_pos type_pos; /* to report an unknown plugin */
    char *url;         /* webhook, pagerduty, alertmanager, slack, plugin */
    char *routing_key; /* pagerduty */
    char **argv;       /* exec: NULL-terminated, argv[0] the program */
    size_t argc;
    uint64_t timeout_ms;
    struct vigil_config_map headers; /* webhook, alertmanager, plugin */
    char *channel;                   /* slack; NULL: the webhook's own */
    struct vigil_config_map config;  /* plugin */
};

struct vigil_config_route {
    struct vigil_config_map match; /* all must equal; empty: every breach */
    char **notify;                 /* notifier names, NULL-terminated */
    size_t *notify_index;          /* index into vigil_config.notifiers */
    size_t n_notify;               /* >= 1 */
    uint64_t repeat_ms;            /* re-notify an open breach; 0: never */
    uint64_t group_wait_ms;        /* wait before the first notification */
    bool cont;                     /* `continue`: keep matching after this */
    struct vigil_config_pos pos;
};

struct vigil_config_plugin {
    char *path;                     /* resolved */
    struct vigil_config_map config; /* handed to the plugin verbatim */
    struct vigil_config_pos pos;    /* of path, for dlopen errors */
};

struct vigil_config_matching {
    uint32_t match_limit; /* PCRE2 match limit per pattern run */
    uint32_t depth_limit; /* PCRE2 depth limit per pattern run */
    bool vectorscan;      /* prefilter with Vectorscan when built in */
};

/* Report formats (bits of vigil_config_reports.formats). */
#define VIGIL_REPORT_FORMAT_MD 1u
#define VIGIL_REPORT_FORMAT_HTML 2u
#define VIGIL_REPORT_FORMAT_JSON 4u

/* `reports:` (docs/REPORTS.md): what every report says, and the optional
 * periodic reports the daemon writes. Parsed by report_config.c. */
struct vigil_config_reports {
    bool present;
    char *title;         /* "ISMS monitoring report" by default */
    char **distribution; /* NULL-terminated, may be empty */
    size_t n_distribution;
    int64_t *holidays; /* day numbers (report_calendar.h), sorted */
    size_t n_holidays;
    unsigned due_working_days;       /* 3 by default */
    enum vigil_report_period period; /* NONE: no periodic reports */
    unsigned formats;                /* VIGIL_REPORT_FORMAT_* bits */
    char *directory;                 /* resolved; set when period is */
    char *notifier;                  /* announces a report; NULL: none */
    size_t notifier_index;           /* into vigil_config.notifiers */
    struct vigil_config_pos pos;
};

struct vigil_config {
    char *file;     /* the config file as given; the name in messages */
    char *base_dir; /* relative paths resolve against this */
    struct vigil_config_pos root_pos;

    struct vigil_config_kafka kafka;
    struct vigil_config_redis redis;
    struct vigil_config_events events;
    char **rule_files; /* globs expanded, sorted per glob, NULL-terminated */
    size_t n_rule_files;
    char **indicator_files; /* likewise; may be empty */
    size_t n_indicator_files;
    struct vigil_config_http http;
    struct vigil_config_notifier *notifiers;
    size_t n_notifiers;
    struct vigil_config_route *routes; /* in order; first match wins */
    size_t n_routes;
    struct vigil_config_plugin *plugins;
    size_t n_plugins;
    struct vigil_config_matching matching;
    struct vigil_config_reports reports;

    /* Private to config.c: values read from @files, for redaction. */
    const char **secret_values;
    size_t n_secret_values;
};

/*
 * Loads the config file at path. Every problem is appended to diags (which
 * stays the caller's). Returns the config (free with vigil_config_destroy)
 * or NULL when there was any problem. Reads the environment and the file
 * system; call from the main thread.
 */
struct vigil_config *vigil_config_load(const char *path,
                                       struct vigil_diags *diags);

/*
 * Same from memory (tests, the demo's embedded config). name is the file
 * name used in messages; text[0..len) is borrowed for the call only;
 * base_dir is where relative paths resolve (NULL: the working directory).
 */
struct vigil_config *vigil_config_load_string(const char *name,
                                              const char *text, size_t len,
                                              const char *base_dir,
                                              struct vigil_diags *diags);

/* Frees cfg and everything in it; NULL is fine. */
void vigil_config_destroy(struct vigil_config *cfg);

/*
 * For commands that read from Kafka (run): 0 when cfg has a kafka section,
 * else -1 with "config: missing required key 'kafka'" at the root's
 * position in diags.
 */
int vigil_config_require_kafka(const struct vigil_config *cfg,
                               struct vigil_diags *diags);

/*
 * Writes the effective config (defaults filled in, globs expanded, paths
 * resolved) as YAML to out, with every secret (passwords, tokens, routing
 * keys, Slack webhook URLs, secret-looking properties and headers, and
 * anything read from an @file) shown as "<redacted>". Returns 0, or -1 on
 * a write error.
 */
int vigil_config_print(const struct vigil_config *cfg, FILE *out);

/* The name of a notifier type ("webhook", ...; "plugin" for plugins). */
const char *vigil_notifier_type_name(enum vigil_notifier_type type);

#endif
