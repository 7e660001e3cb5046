#include "config.h"

#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report_config.h"
#include "yaml_doc.h"

/*
 * Every default of vigil.yaml, in one place. docs/CONFIG.md has the same
 * table for users: change both together.
 */
static const struct {
    const char *kafka_group;
    unsigned kafka_workers;
    size_t kafka_max_message_bytes;
    unsigned kafka_batch_events;
    int redis_port;
    int redis_db;
    const char *redis_namespace;
    uint64_t redis_connect_timeout_ms;
    uint64_t redis_command_timeout_ms;
    uint64_t redis_findings_max_len;
    const char *events_format;
    const char *events_time_field;
    uint64_t events_resolution_ms;
    const char *http_listen;
    uint64_t notifier_timeout_ms;
    const char *pagerduty_url;
    uint64_t route_repeat_ms;
    uint64_t route_group_wait_ms;
    bool route_continue;
    uint32_t match_limit;
    uint32_t depth_limit;
    bool vectorscan;
} defaults = {
    .kafka_group = "vigil",
    .kafka_workers = 1,
    .kafka_max_message_bytes = 1048576,
    .kafka_batch_events = 20000,
    .redis_port = 6379,
    .redis_db = 0,
    .redis_namespace = "default",
    .redis_connect_timeout_ms = 2000,
    .redis_command_timeout_ms = 5000,
    .redis_findings_max_len = 10000,
    .events_format = "auto",
    .events_time_field = "@timestamp",
    .events_resolution_ms = 10000,
    .http_listen = "127.0.0.1:8089",
    .notifier_timeout_ms = 10000,
    .pagerduty_url = "https://events.pagerduty.com/v2/enqueue",
    .route_repeat_ms = 4 * 3600000ULL,
    .route_group_wait_ms = 0,
    .route_continue = false,
    .match_limit = 100000,
    .depth_limit = 10000,
    .vectorscan = true,
};

/* Limits that are not defaults. */
enum {
    WORKERS_MAX = 64,
    MAX_MESSAGE_BYTES_MAX = 1000000000, /* librdkafka's own ceiling */
    NAME_MAX_LEN = 64,                  /* namespaces, notifier names */
    TOPIC_MAX_LEN = 249,                /* Kafka's */
    VALUE_FILE_MAX = 64 * 1024,         /* an @file holds a secret */
    ENV_NAME_MAX = 255,
};
#define RESOLUTION_MAX_MS 86400000ULL

/* State of one load; the document and the config being built. */
struct loader {
    struct vigil_yaml y;
    struct vigil_config *cfg;
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- errors ---- */

static void fail(struct loader *l, struct fy_node *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct loader *l, struct fy_node *node, const char *fmt, ...)
{
    int line, col;
    vigil_yaml_mark(node, &line, &col);
    va_list ap;
    va_start(ap, fmt);
    vigil_diags_vadd(l->y.diags, l->y.file, line, col, fmt, ap);
    va_end(ap);
    l->y.errors++;
}

static void fail_oom(struct loader *l)
{
    vigil_diags_add(l->y.diags, l->y.file, 0, 0, "out of memory");
    l->y.errors++;
}

static void mark_pos(struct fy_node *node, struct vigil_config_pos *pos)
{
    vigil_yaml_mark(node, &pos->line, &pos->col);
}

/* ---- small containers ---- */

struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

/* Appends s (owned) to the NULL-terminated array *v of *n strings. */
static int strv_push(char ***v, size_t *n, char *s)
{
    char **nv = realloc(*v, (*n + 2) * sizeof(*nv));
    if (!nv)
        return -1;
    nv[(*n)++] = s;
    nv[*n] = NULL;
    *v = nv;
    return 0;
}

static void map_fini(struct vigil_config_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].key);
        free(m->v[i].value);
    }
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

const char *vigil_config_map_get(const struct vigil_config_map *m,
                                 const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i].key, key) == 0)
            return m->v[i].value;
    return NULL;
}

/* ---- names and paths ---- */

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* [A-Za-z0-9_.-]{1,max} */
static bool is_name(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_name_char(s[i]))
            return false;
    return true;
}

static bool is_topic(const char *s)
{
    /* librdkafka subscribes to a regex when the name starts with '^'. */
    return (s[0] == '^' && s[1] != '\0') || is_name(s, TOPIC_MAX_LEN);
}

/* base/rel as a heap string; rel itself when absolute or base is ".". */
static char *resolve_path(const char *base, const char *rel)
{
    if (rel[0] == '/' || !base || strcmp(base, ".") == 0)
        return strdup(rel);
    char *out = NULL;
    size_t bl = strlen(base);
    const char *sep = bl && base[bl - 1] == '/' ? "" : "/";
    if (asprintf(&out, "%s%s%s", base, sep, rel) < 0)
        return NULL;
    return out;
}

/* The folder of path, as a heap string ("." when there is none). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* ---- string values: ${ENV} and @file ---- */

static bool is_env_name(const char *s, size_t n)
{
    if (n == 0 || n > ENV_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

/*
 * Expands ${NAME} in s[0..len) into a heap string; "$${" is a literal
 * "${". Reports every unset variable of the value, not only the first.
 */
static int expand_env(struct loader *l, struct fy_node *node, const char *what,
                      const char *s, size_t len, char **out)
{
    struct sbuf b = {0};
    int rc = 0;
    sb_add(&b, "", 0);
    size_t i = 0;
    while (i < len) {
        if (s[i] == '$' && i + 2 < len && s[i + 1] == '$' && s[i + 2] == '{') {
            sb_add(&b, "${", 2);
            i += 3;
            continue;
        }
        if (!(s[i] == '$' && i + 1 < len && s[i + 1] == '{')) {
            sb_add(&b, s + i, 1);
            i++;
            continue;
        }
        const char *name = s + i + 2;
        const char *close = memchr(name, '}', len - i - 2);
        if (!close) {
            fail(l, node,
                 "%s: unterminated '${' (write '$${' for a literal '${')",
                 what);
            rc = -1;
            break;
        }
        size_t nlen = (size_t)(close - name);
        if (!is_env_name(name, nlen)) {
            fail(l, node,
                 "%s: '${%.*s}' is not a valid environment variable name", what,
                 (int)nlen, name);
            rc = -1;
        } else {
            char buf[ENV_NAME_MAX + 1];
            memcpy(buf, name, nlen);
            buf[nlen] = '\0';
            const char *v = getenv(buf);
            if (!v) {
                fail(l, node, "%s: environment variable '%s' is not set", what,
                     buf);
                rc = -1;
            } else {
                sb_add(&b, v, strlen(v));
            }
        }
        i = (size_t)(close - s) + 1;
    }
    if (b.oom) {
        fail_oom(l);
        rc = -1;
    }
    if (rc < 0) {
        free(b.p);
        return -1;
    }
    *out = b.p;
    return 0;
}

/* Reads an @file value: one trailing newline stripped. */
static int read_value_file(struct loader *l, struct fy_node *node,
                           const char *what, const char *path, char **out)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        fail(l, node, "%s: cannot read '%s': %s", what, path, strerror(errno));
        return -1;
    }
    char *buf = malloc(VALUE_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        fail_oom(l);
        return -1;
    }
    size_t n = fread(buf, 1, VALUE_FILE_MAX + 1, f);
    int err = ferror(f) ? errno : 0;
    fclose(f);
    const char *problem = NULL;
    if (err) {
        fail(l, node, "%s: cannot read '%s': %s", what, path, strerror(err));
        goto err_free_buf;
    }
    if (n > VALUE_FILE_MAX)
        problem = "is larger than 64 KiB";
    if (n > 0 && buf[n - 1] == '\n') {
        n--;
        if (n > 0 && buf[n - 1] == '\r')
            n--;
    }
    if (!problem && memchr(buf, '\0', n))
        problem = "contains a NUL byte";
    if (!problem && n == 0)
        problem = "is empty";
    if (problem) {
        fail(l, node, "%s: '%s' %s", what, path, problem);
        goto err_free_buf;
    }
    buf[n] = '\0';
    *out = buf;
    return 0;

err_free_buf:
    free(buf);
    return -1;
}

static void remember_secret(struct loader *l, const char *s)
{
    struct vigil_config *cfg = l->cfg;
    const char **v =
        realloc(cfg->secret_values, (cfg->n_secret_values + 1) * sizeof(*v));
    if (!v) {
        fail_oom(l);
        return;
    }
    v[cfg->n_secret_values++] = s;
    cfg->secret_values = v;
}

/* Frees a string from get_str that is not kept. */
static void drop_str(struct loader *l, char *s)
{
    struct vigil_config *cfg = l->cfg;
    for (size_t i = 0; i < cfg->n_secret_values; i++) {
        if (cfg->secret_values[i] == s) {
            cfg->secret_values[i] = cfg->secret_values[--cfg->n_secret_values];
            break;
        }
    }
    free(s);
}

/*
 * A string value: a scalar with ${ENV} expanded; "@path" is the contents
 * of that file (path expanded and resolved; "@@" is a literal '@') unless
 * at_file is false. *out is a heap string; errors are reported on node.
 */
static int get_str_at(struct loader *l, struct fy_node *node, const char *what,
                      bool at_file, char **out)
{
    size_t len;
    const char *s = vigil_yaml_scalar(&l->y, node, what, &len);
    if (!s)
        return -1;
    if (memchr(s, '\0', len)) {
        fail(l, node, "%s must not contain a NUL byte", what);
        return -1;
    }
    if (at_file && len >= 2 && s[0] == '@' && s[1] == '@')
        return expand_env(l, node, what, s + 1, len - 1, out);
    if (!at_file || len == 0 || s[0] != '@')
        return expand_env(l, node, what, s, len, out);

    char *rel;
    if (expand_env(l, node, what, s + 1, len - 1, &rel) < 0)
        return -1;
    if (rel[0] == '\0') {
        free(rel);
        fail(l, node, "%s: '@' must be followed by a file name", what);
        return -1;
    }
    char *path = resolve_path(l->cfg->base_dir, rel);
    free(rel);
    if (!path) {
        fail_oom(l);
        return -1;
    }
    int rc = read_value_file(l, node, what, path, out);
    free(path);
    if (rc == 0)
        remember_secret(l, *out);
    return rc;
}

static int get_str(struct loader *l, struct fy_node *node, const char *what,
                   char **out)
{
    return get_str_at(l, node, what, true, out);
}

/* For report_config.c: get_str of the loader that owns y. */
int vigil_config_get_str(struct vigil_yaml *y, struct fy_node *node,
                         const char *what, char **out)
{
    struct loader *l =
        (struct loader *)((char *)y - offsetof(struct loader, y));
    return get_str(l, node, what, out);
}

/* get_str, then rejects "". */
static int get_nonempty(struct loader *l, struct fy_node *node,
                        const char *what, char **out)
{
    if (get_str(l, node, what, out) < 0)
        return -1;
    if ((*out)[0] == '\0') {
        fail(l, node, "%s must not be empty", what);
        drop_str(l, *out);
        *out = NULL;
        return -1;
    }
    return 0;
}

/*
 * One string or a list of strings, each through get_str. *out is
 * NULL-terminated; *nodes_out (optional) gets each string's node, heap,
 * free() it. Returns -1 if any item failed (the others are still kept).
 */
static int get_strv(struct loader *l, struct fy_node *node, const char *what,
                    char ***out, size_t *n, struct fy_node ***nodes_out)
{
    char **v = NULL;
    size_t count = 0;
    struct fy_node **nodes = NULL;
    int rc = 0;
    struct fy_node *single[1] = {node};
    struct fy_node **items = single;
    size_t n_items = 1;
    struct fy_node **seq_items = NULL;

    if (node && fy_node_is_sequence(node)) {
        int c = fy_node_sequence_item_count(node);
        n_items = c > 0 ? (size_t)c : 0;
        seq_items = calloc(n_items + 1, sizeof(*seq_items));
        if (!seq_items)
            goto err_oom;
        void *it = NULL;
        struct fy_node *item;
        size_t i = 0;
        while (i < n_items && (item = fy_node_sequence_iterate(node, &it)))
            seq_items[i++] = item;
        n_items = i;
        items = seq_items;
    }
    v = calloc(1, sizeof(*v));
    nodes = calloc(n_items + 1, sizeof(*nodes));
    if (!v || !nodes)
        goto err_oom;
    for (size_t i = 0; i < n_items; i++) {
        char *s;
        if (get_str(l, items[i], what, &s) < 0) {
            rc = -1;
            continue;
        }
        if (strv_push(&v, &count, s) < 0) {
            free(s);
            goto err_oom;
        }
        nodes[count - 1] = items[i];
    }
    free(seq_items);
    *out = v;
    if (n)
        *n = count;
    if (nodes_out)
        *nodes_out = nodes;
    else
        free(nodes);
    return rc;

err_oom:
    fail_oom(l);
    free(seq_items);
    free(nodes);
    vigil_strv_free(v);
    *out = NULL;
    if (n)
        *n = 0;
    if (nodes_out)
        *nodes_out = NULL;
    return -1;
}

/* A mapping of string keys to string values (each through get_str). */
static int get_map(struct loader *l, struct fy_node *node, const char *what,
                   struct vigil_config_map *out)
{
    out->v = NULL;
    out->n = 0;
    if (!vigil_yaml_is_map(&l->y, node, what))
        return -1;
    int count = fy_node_mapping_item_count(node);
    out->v = calloc(count > 0 ? (size_t)count : 1, sizeof(*out->v));
    if (!out->v) {
        fail_oom(l);
        return -1;
    }
    int rc = 0;
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(node, &it)) != NULL &&
           out->n < (size_t)count) {
        struct fy_node *kn = fy_node_pair_key(p);
        size_t klen;
        const char *key =
            kn && fy_node_is_scalar(kn) ? fy_node_get_scalar(kn, &klen) : NULL;
        if (!key || klen == 0 || memchr(key, '\0', klen)) {
            fail(l, kn, "%s: keys must be non-empty strings", what);
            rc = -1;
            continue;
        }
        char vwhat[256];
        snprintf(vwhat, sizeof(vwhat), "%s.%.*s", what, (int)klen, key);
        char *value;
        if (get_str(l, fy_node_pair_value(p), vwhat, &value) < 0) {
            rc = -1;
            continue;
        }
        char *k = strndup(key, klen);
        if (!k) {
            drop_str(l, value);
            fail_oom(l);
            return -1;
        }
        out->v[out->n++] = (struct vigil_config_kv){k, value};
    }
    return rc;
}

/* A plain null ("key:", "~", "null"): the key is as good as absent. */
static bool is_null(struct fy_node *node)
{
    if (!fy_node_is_scalar(node) || fy_node_get_style(node) != FYNS_PLAIN)
        return false;
    size_t len;
    const char *s = fy_node_get_scalar(node, &len);
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    for (size_t i = 0; s && i < ARRAY_LEN(nulls); i++)
        if (strlen(nulls[i]) == len && memcmp(nulls[i], s, len) == 0)
            return true;
    return false;
}

/*
 * vigil_yaml_map(), then null values count as absent, so that defaults
 * apply ("dead_letter_topic: null"); a required key must have a value.
 */
static int load_map(struct loader *l, struct fy_node *node, const char *what,
                    const struct vigil_yaml_key *keys)
{
    int rc = vigil_yaml_map(&l->y, node, what, keys);
    for (const struct vigil_yaml_key *k = keys; k->name; k++) {
        if (!*k->out || !is_null(*k->out))
            continue;
        if (k->required) {
            fail(l, *k->out, "%s: '%s' has no value", what, k->name);
            rc = -1;
        }
        *k->out = NULL;
    }
    return rc;
}

/* A duration that must be more than zero. */
static int get_positive_duration(struct loader *l, struct fy_node *node,
                                 const char *what, uint64_t *ms)
{
    uint64_t v;
    if (vigil_yaml_duration(&l->y, node, what, &v) < 0)
        return -1;
    if (v == 0) {
        fail(l, node, "%s must be more than 0", what);
        return -1;
    }
    *ms = v;
    return 0;
}

/*
 * Globs (one string or a list), each resolved against the config's folder
 * and expanded with glob(3) into files, sorted per glob; a file matched by
 * two globs is listed once. A glob that matches no file is an error.
 */
static void expand_globs(struct loader *l, struct fy_node *node,
                         const char *what, bool allow_empty, char ***files,
                         size_t *n_files)
{
    char **pats;
    size_t n_pats;
    struct fy_node **nodes;
    get_strv(l, node, what, &pats, &n_pats, &nodes);
    if (!pats)  /* then nodes is NULL too (get_strv) */
        return; // NOLINT(clang-analyzer-unix.Malloc): nodes is NULL here
    char **v = calloc(1, sizeof(*v));
    size_t n = 0;
    if (!v)
        goto err_oom;
    if (n_pats == 0 && !allow_empty && fy_node_is_sequence(node))
        fail(l, node, "%s must list at least one file or glob", what);
    for (size_t i = 0; i < n_pats; i++) {
        char *pattern = resolve_path(l->cfg->base_dir, pats[i]);
        if (!pattern)
            goto err_oom;
        glob_t g;
        int rc = glob(pattern, GLOB_MARK | GLOB_BRACE, NULL, &g);
        size_t added = 0;
        if (rc == 0) {
            for (size_t k = 0; k < g.gl_pathc; k++) {
                const char *path = g.gl_pathv[k];
                size_t plen = strlen(path);
                if (plen == 0 || path[plen - 1] == '/')
                    continue; /* a folder */
                added++;
                bool seen = false;
                for (size_t j = 0; j < n && !seen; j++)
                    seen = strcmp(v[j], path) == 0;
                if (seen)
                    continue;
                char *copy = strdup(path);
                if (!copy || strv_push(&v, &n, copy) < 0) {
                    free(copy);
                    globfree(&g);
                    free(pattern);
                    goto err_oom;
                }
            }
            globfree(&g);
        }
        if (rc == GLOB_NOSPACE) {
            free(pattern);
            goto err_oom;
        }
        if (rc == GLOB_ABORTED)
            fail(l, nodes[i], "%s: cannot list the files of '%s'", what,
                 pattern);
        else if (added == 0)
            fail(l, nodes[i], "%s: no file matches '%s'", what, pattern);
        free(pattern);
    }
    *files = v;
    *n_files = n;
    vigil_strv_free(pats);
    free(nodes);
    return;

err_oom:
    fail_oom(l);
    vigil_strv_free(v);
    vigil_strv_free(pats);
    free(nodes);
}

/* "host:port" or "[v6]:port"; port may be absent when default_port >= 0. */
static int split_host_port(const char *s, int default_port, char **host,
                           int *port)
{
    const char *h = s, *he, *rest;
    if (s[0] == '[') {
        he = strchr(s, ']');
        if (!he || he == s + 1)
            return -1;
        h = s + 1;
        rest = he + 1;
    } else {
        he = strrchr(s, ':');
        if (!he)
            he = s + strlen(s);
        if (memchr(s, ':', (size_t)(he - s)))
            return -1; /* an IPv6 address needs brackets */
        rest = he;
    }
    if (he == h)
        return -1;
    for (const char *c = h; c < he; c++)
        if (*c == ' ' || *c == '/' || *c == '@' || (unsigned char)*c < 0x21)
            return -1;
    long p = default_port;
    if (*rest == ':') {
        const char *d = rest + 1;
        size_t dl = strlen(d);
        if (dl == 0 || dl > 5 || strspn(d, "0123456789") != dl)
            return -1;
        p = strtol(d, NULL, 10);
        if (p > 65535)
            return -1;
    } else if (*rest != '\0' || default_port < 0) {
        return -1;
    }
    *host = strndup(h, (size_t)(he - h));
    if (!*host)
        return -1;
    *port = (int)p;
    return 0;
}

/* %XX-decoding of URL user info. */
static char *percent_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        unsigned v = 0;
        for (int k = 1; k <= 2; k++) {
            char c = i + (size_t)k < n ? s[i + (size_t)k] : '\0';
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0) {
                free(out);
                return NULL;
            }
            v = v * 16 + (unsigned)d;
        }
        if (v == 0) {
            free(out);
            return NULL;
        }
        out[o++] = (char)v;
        i += 2;
    }
    out[o] = '\0';
    return out;
}

/* A database number in s (all digits, 0..INT_MAX). */
static int parse_db(const char *s, size_t n, int *db)
{
    if (n == 0 || n > 9 || strspn(s, "0123456789") < n)
        return -1;
    char buf[16];
    memcpy(buf, s, n);
    buf[n] = '\0';
    *db = (int)strtol(buf, NULL, 10);
    return 0;
}

/*
 * redis://[[user]:password@]host[:port][/db] or unix://path[?db=N]. The url
 * may hold a password, so messages never quote it.
 */
static void parse_redis_url(struct loader *l, struct fy_node *node,
                            const char *url, struct vigil_config_redis *r)
{
    static const char usage[] = "redis.url must look like "
                                "redis://[:PASSWORD@]HOST[:PORT][/DB] or "
                                "unix:///PATH[?db=DB]";
    if (strncmp(url, "unix://", 7) == 0) {
        const char *p = url + 7;
        const char *q = strchr(p, '?');
        size_t plen = q ? (size_t)(q - p) : strlen(p);
        r->db = defaults.redis_db;
        if (q && (strncmp(q, "?db=", 4) != 0 ||
                  parse_db(q + 4, strlen(q + 4), &r->db) < 0)) {
            fail(l, node, "%s", usage);
            return;
        }
        if (plen == 0) {
            fail(l, node, "redis.url: the socket path is empty");
            return;
        }
        char *rel = strndup(p, plen);
        if (!rel) {
            fail_oom(l);
            return;
        }
        r->transport = VIGIL_REDIS_UNIX;
        r->socket_path = resolve_path(l->cfg->base_dir, rel);
        free(rel);
        if (!r->socket_path)
            fail_oom(l);
        return;
    }
    if (strncmp(url, "redis://", 8) != 0) {
        if (strncmp(url, "rediss://", 9) == 0)
            fail(l, node, "redis.url: TLS (rediss://) is not supported");
        else
            fail(l, node, "%s", usage);
        return;
    }
    const char *auth = url + 8;
    const char *at = strrchr(auth, '@');
    const char *hostpart = at ? at + 1 : auth;
    const char *slash = strchr(hostpart, '/');
    size_t hlen = slash ? (size_t)(slash - hostpart) : strlen(hostpart);
    if (at) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (!colon) {
            fail(l, node,
                 "redis.url: write the password after a colon, as in "
                 "redis://:PASSWORD@HOST");
            return;
        }
        if (colon > auth) {
            r->username = percent_decode(auth, (size_t)(colon - auth));
            if (!r->username) {
                fail(l, node, "redis.url: bad %%-escape in the user name");
                return;
            }
        }
        r->password = percent_decode(colon + 1, (size_t)(at - colon - 1));
        if (!r->password || r->password[0] == '\0') {
            fail(l, node, "redis.url: bad or empty password");
            return;
        }
    }
    char *hp = strndup(hostpart, hlen);
    if (!hp) {
        fail_oom(l);
        return;
    }
    int rc = split_host_port(hp, defaults.redis_port, &r->host, &r->port);
    free(hp);
    if (rc < 0 || r->port == 0) {
        fail(l, node, "%s", usage);
        return;
    }
    r->transport = VIGIL_REDIS_TCP;
    r->db = defaults.redis_db;
    if (slash && slash[1] != '\0' &&
        parse_db(slash + 1, strlen(slash + 1), &r->db) < 0)
        fail(l, node, "redis.url: the database must be a number, as in /0");
}

/* ---- sections ---- */

static void load_kafka(struct loader *l, struct fy_node *node)
{
    struct vigil_config_kafka *k = &l->cfg->kafka;
    struct fy_node *brokers, *topics, *group, *workers, *dlq, *max_bytes,
        *batch, *props;
    const struct vigil_yaml_key keys[] = {
        {"brokers", &brokers, true},
        {"topics", &topics, true},
        {"group", &group, false},
        {"workers", &workers, false},
        {"dead_letter_topic", &dlq, false},
        {"max_message_bytes", &max_bytes, false},
        {"batch_events", &batch, false},
        {"properties", &props, false},
        {NULL, NULL, false},
    };
    k->present = true;
    load_map(l, node, "kafka", keys);

    if (brokers) {
        char **list;
        size_t n;
        struct fy_node **nodes;
        get_strv(l, brokers, "kafka.brokers", &list, &n, &nodes);
        struct sbuf b = {0};
        for (size_t i = 0; list && i < n; i++) {
            if (list[i][0] == '\0')
                fail(l, nodes[i], "kafka.brokers must not be empty");
            sb_add(&b, ",", i > 0);
            sb_add(&b, list[i], strlen(list[i]));
        }
        if (list && n == 0)
            fail(l, brokers, "kafka.brokers must list at least one broker");
        if (b.oom)
            fail_oom(l);
        k->brokers = b.p;
        vigil_strv_free(list);
        free(nodes);
    }
    if (topics) {
        struct fy_node **nodes;
        get_strv(l, topics, "kafka.topics", &k->topics, &k->n_topics, &nodes);
        for (size_t i = 0; k->topics && i < k->n_topics; i++)
            if (!is_topic(k->topics[i]))
                fail(l, nodes[i],
                     "kafka.topics: '%s' is not a topic name (letters, "
                     "digits, '.', '_', '-'; at most 249)",
                     k->topics[i]);
        if (k->topics && k->n_topics == 0)
            fail(l, topics, "kafka.topics must list at least one topic");
        free(nodes);
    }
    if (group)
        get_nonempty(l, group, "kafka.group", &k->group);
    else if (!(k->group = strdup(defaults.kafka_group)))
        fail_oom(l);
    long long v;
    k->workers = defaults.kafka_workers;
    if (workers && vigil_yaml_int(&l->y, workers, "kafka.workers", 1,
                                  WORKERS_MAX, &v) == 0)
        k->workers = (unsigned)v;
    k->max_message_bytes = defaults.kafka_max_message_bytes;
    if (max_bytes && vigil_yaml_int(&l->y, max_bytes, "kafka.max_message_bytes",
                                    1, MAX_MESSAGE_BYTES_MAX, &v) == 0)
        k->max_message_bytes = (size_t)v;
    k->batch_events = defaults.kafka_batch_events;
    if (batch &&
        vigil_yaml_int(&l->y, batch, "kafka.batch_events", 1, 1000000, &v) == 0)
        k->batch_events = (unsigned)v;
    if (dlq && get_str(l, dlq, "kafka.dead_letter_topic",
                       &k->dead_letter_topic) == 0) {
        if (!is_topic(k->dead_letter_topic) || k->dead_letter_topic[0] == '^')
            fail(l, dlq, "kafka.dead_letter_topic: '%s' is not a topic name",
                 k->dead_letter_topic);
        for (size_t i = 0; k->topics && i < k->n_topics; i++)
            if (strcmp(k->topics[i], k->dead_letter_topic) == 0)
                fail(l, dlq,
                     "kafka.dead_letter_topic must not be one of "
                     "kafka.topics");
    }
    if (props && get_map(l, props, "kafka.properties", &k->properties) == 0) {
        static const struct {
            const char *property, *key;
        } owned[] = {{"group.id", "group"},
                     {"bootstrap.servers", "brokers"},
                     {"metadata.broker.list", "brokers"}};
        for (size_t i = 0; i < ARRAY_LEN(owned); i++) {
            struct fy_node_pair *p = fy_node_mapping_lookup_pair_by_string(
                props, owned[i].property, FY_NT);
            if (p)
                fail(l, fy_node_pair_key(p),
                     "kafka.properties: set '%s' with kafka.%s instead",
                     owned[i].property, owned[i].key);
        }
    }
}

static void load_redis(struct loader *l, struct fy_node *node)
{
    struct vigil_config_redis *r = &l->cfg->redis;
    struct fy_node *url, *ns, *password, *connect_timeout, *command_timeout,
        *findings_max_len;
    const struct vigil_yaml_key keys[] = {
        {"url", &url, true},
        {"namespace", &ns, false},
        {"password", &password, false},
        {"connect_timeout", &connect_timeout, false},
        {"command_timeout", &command_timeout, false},
        {"findings_max_len", &findings_max_len, false},
        {NULL, NULL, false},
    };
    load_map(l, node, "redis", keys);

    if (url && get_nonempty(l, url, "redis.url", &r->url) == 0)
        parse_redis_url(l, url, r->url, r);
    if (password) {
        char *pw;
        if (get_nonempty(l, password, "redis.password", &pw) < 0) {
            /* reported */
        } else if (r->password) {
            fail(l, password, "redis.password: redis.url has a password too");
            drop_str(l, pw);
        } else {
            r->password = pw;
        }
    }
    if (ns) {
        if (get_str(l, ns, "redis.namespace", &r->ns) == 0 &&
            !is_name(r->ns, NAME_MAX_LEN))
            fail(l, ns,
                 "redis.namespace may only contain letters, digits, '_', '.' "
                 "and '-' (1 to 64), not '%s'",
                 r->ns);
    } else if (!(r->ns = strdup(defaults.redis_namespace))) {
        fail_oom(l);
    }
    r->connect_timeout_ms = defaults.redis_connect_timeout_ms;
    if (connect_timeout)
        get_positive_duration(l, connect_timeout, "redis.connect_timeout",
                              &r->connect_timeout_ms);
    r->command_timeout_ms = defaults.redis_command_timeout_ms;
    if (command_timeout)
        get_positive_duration(l, command_timeout, "redis.command_timeout",
                              &r->command_timeout_ms);
    r->findings_max_len = defaults.redis_findings_max_len;
    long long v;
    if (findings_max_len &&
        vigil_yaml_int(&l->y, findings_max_len, "redis.findings_max_len", 0,
                       100000000, &v) == 0)
        r->findings_max_len = (uint64_t)v;
}

static void load_events(struct loader *l, struct fy_node *node)
{
    struct vigil_config_events *e = &l->cfg->events;
    struct fy_node *format = NULL, *time_field = NULL, *resolution = NULL;
    const struct vigil_yaml_key keys[] = {
        {"format", &format, false},
        {"time_field", &time_field, false},
        {"resolution", &resolution, false},
        {NULL, NULL, false},
    };
    if (node)
        load_map(l, node, "events", keys);

    e->format = VIGIL_FORMAT_AUTO;
    if (format) {
        mark_pos(format, &e->format_pos);
        if (get_str(l, format, "events.format", &e->format_name) == 0 &&
            vigil_event_format_parse(e->format_name, &e->format) < 0) {
            if (!is_name(e->format_name, NAME_MAX_LEN))
                fail(l, format,
                     "events.format must be json, syslog, raw, auto or a "
                     "decoder plugin's name, not '%s'",
                     e->format_name);
            else if (l->cfg->n_plugins == 0)
                fail(l, format,
                     "events.format: '%s' is not json, syslog, raw or auto, "
                     "and no plugins are configured to provide it",
                     e->format_name);
            e->format_plugin = true;
        }
    } else if (!(e->format_name = strdup(defaults.events_format))) {
        fail_oom(l);
    }
    /* A field name, where '@' is common (@timestamp): never an @file. */
    if (time_field)
        get_str_at(l, time_field, "events.time_field", false, &e->time_field);
    else if (!(e->time_field = strdup(defaults.events_time_field)))
        fail_oom(l);
    e->resolution_ms = defaults.events_resolution_ms;
    uint64_t ms;
    if (resolution &&
        vigil_yaml_duration(&l->y, resolution, "events.resolution", &ms) == 0) {
        if (ms < 1000 || ms % 1000 != 0)
            fail(l, resolution,
                 "events.resolution must be a whole number of seconds, at "
                 "least 1s");
        else if (ms > RESOLUTION_MAX_MS)
            fail(l, resolution, "events.resolution must be at most 1d");
        else
            e->resolution_ms = ms;
    }
}

static int parse_listen(struct loader *l, struct fy_node *node,
                        struct vigil_config_http *h)
{
    if (split_host_port(h->listen, -1, &h->host, &h->port) == 0)
        return 0;
    fail(l, node,
         "http.listen must be HOST:PORT such as 127.0.0.1:8089 or [::1]:0, "
         "not '%s'",
         h->listen);
    return -1;
}

static void load_http(struct loader *l, struct fy_node *node)
{
    struct vigil_config_http *h = &l->cfg->http;
    struct fy_node *listen = NULL, *read_token = NULL, *admin_token = NULL;
    const struct vigil_yaml_key keys[] = {
        {"listen", &listen, false},
        {"read_token", &read_token, false},
        {"admin_token", &admin_token, false},
        {NULL, NULL, false},
    };
    if (node)
        load_map(l, node, "http", keys);

    if (listen) {
        if (get_str(l, listen, "http.listen", &h->listen) == 0)
            parse_listen(l, listen, h);
    } else if (!(h->listen = strdup(defaults.http_listen))) {
        fail_oom(l);
    } else {
        parse_listen(l, NULL, h);
    }
    if (read_token)
        get_nonempty(l, read_token, "http.read_token", &h->read_token);
    if (admin_token)
        get_nonempty(l, admin_token, "http.admin_token", &h->admin_token);
}

/* ---- notifiers ---- */

#define NT(x) (1u << VIGIL_NOTIFIER_##x)
#define NT_ALL                                                                 \
    (NT(WEBHOOK) | NT(PAGERDUTY) | NT(ALERTMANAGER) | NT(SLACK) | NT(EXEC) |   \
     NT(LOG) | NT(PLUGIN))

static const char *const notifier_type_names[] = {
    [VIGIL_NOTIFIER_WEBHOOK] = "webhook",
    [VIGIL_NOTIFIER_PAGERDUTY] = "pagerduty",
    [VIGIL_NOTIFIER_ALERTMANAGER] = "alertmanager",
    [VIGIL_NOTIFIER_SLACK] = "slack",
    [VIGIL_NOTIFIER_EXEC] = "exec",
    [VIGIL_NOTIFIER_LOG] = "log",
    [VIGIL_NOTIFIER_PLUGIN] = "plugin",
};

const char *vigil_notifier_type_name(enum vigil_notifier_type type)
{
    if ((size_t)type < ARRAY_LEN(notifier_type_names))
        return notifier_type_names[type];
    return "?";
}

/* The schema of a notifier: which keys each type takes and needs. */
enum {
    NK_NAME,
    NK_TYPE,
    NK_URL,
    NK_ROUTING_KEY,
    NK_ARGV,
    NK_TIMEOUT,
    NK_HEADERS,
    NK_CHANNEL,
    NK_CONFIG,
    NK_COUNT,
};

static const struct {
    const char *name;
    unsigned applies;  /* NT() bits of the types that take the key */
    unsigned required; /* NT() bits of the types that need it */
} notifier_keys[NK_COUNT] = {
    [NK_NAME] = {"name", NT_ALL, NT_ALL},
    [NK_TYPE] = {"type", NT_ALL, NT_ALL},
    [NK_URL] = {"url",
                NT(WEBHOOK) | NT(PAGERDUTY) | NT(ALERTMANAGER) | NT(SLACK) |
                    NT(PLUGIN),
                NT(WEBHOOK) | NT(ALERTMANAGER) | NT(SLACK)},
    [NK_ROUTING_KEY] = {"routing_key", NT(PAGERDUTY), NT(PAGERDUTY)},
    [NK_ARGV] = {"argv", NT(EXEC), NT(EXEC)},
    [NK_TIMEOUT] = {"timeout", NT_ALL & ~NT(LOG), 0},
    [NK_HEADERS] = {"headers", NT(WEBHOOK) | NT(ALERTMANAGER) | NT(PLUGIN), 0},
    [NK_CHANNEL] = {"channel", NT(SLACK), 0},
    [NK_CONFIG] = {"config", NT(PLUGIN), 0},
};

static bool is_http_url(const char *s)
{
    size_t skip = strncmp(s, "https://", 8) == 0  ? 8
                  : strncmp(s, "http://", 7) == 0 ? 7
                                                  : 0;
    if (skip == 0 || s[skip] == '\0' || s[skip] == '/')
        return false;
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f)
            return false;
    return true;
}

/* RFC 9110 token characters. */
static bool is_header_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!(is_name_char(*s) || strchr("!#$%&'*+^`|~", *s)))
            return false;
    return true;
}

static void check_headers(struct loader *l, struct fy_node *node,
                          const char *what, const struct vigil_config_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        struct fy_node_pair *p =
            fy_node_mapping_lookup_pair_by_string(node, m->v[i].key, FY_NT);
        struct fy_node *at = p ? fy_node_pair_key(p) : node;
        if (!is_header_name(m->v[i].key))
            fail(l, at, "%s: '%s' is not a valid header name", what,
                 m->v[i].key);
        else if (strpbrk(m->v[i].value, "\r\n"))
            fail(l, at, "%s.%s must not contain a line break", what,
                 m->v[i].key);
    }
}

static int parse_notifier_type(struct loader *l, struct fy_node *node,
                               const char *what,
                               struct vigil_config_notifier *n)
{
    if (get_str(l, node, what, &n->type_name) < 0)
        return -1;
    for (size_t t = 0; t < ARRAY_LEN(notifier_type_names); t++) {
        if (t != VIGIL_NOTIFIER_PLUGIN &&
            strcmp(n->type_name, notifier_type_names[t]) == 0) {
            n->type = (enum vigil_notifier_type)t;
            return 0;
        }
    }
    if (!is_name(n->type_name, NAME_MAX_LEN)) {
        fail(l, node,
             "%s must be webhook, pagerduty, alertmanager, slack, exec, log "
             "or a notifier plugin's name, not '%s'",
             what, n->type_name);
        return -1;
    }
    if (l->cfg->n_plugins == 0) {
        fail(l, node,
             "%s: '%s' is not webhook, pagerduty, alertmanager, slack, exec "
             "or log, and no plugins are configured to provide it",
             what, n->type_name);
        return -1;
    }
    n->type = VIGIL_NOTIFIER_PLUGIN;
    return 0;
}

static void load_notifier(struct loader *l, struct fy_node *node, size_t idx,
                          struct vigil_config_notifier *n)
{
    char what[64], key[96], mwhat[96];
    snprintf(what, sizeof(what), "notifiers[%zu]", idx);
    if (!vigil_yaml_is_map(&l->y, node, what))
        return;
    mark_pos(node, &n->pos);
    n->timeout_ms = defaults.notifier_timeout_ms;

    /* The type decides the schema, so read it first. */
    unsigned mask = NT_ALL;
    snprintf(mwhat, sizeof(mwhat), "%s", what);
    struct fy_node *type = fy_node_mapping_lookup_by_string(node, "type", 4);
    if (type && !is_null(type)) {
        mark_pos(type, &n->type_pos);
        snprintf(key, sizeof(key), "%s.type", what);
        if (parse_notifier_type(l, type, key, n) == 0) {
            mask = 1u << n->type;
            snprintf(mwhat, sizeof(mwhat), "%s (%s)", what,
                     n->type == VIGIL_NOTIFIER_PLUGIN
                         ? "plugin"
                         : notifier_type_names[n->type]);
        }
    }
    struct fy_node *val[NK_COUNT] = {0};
    struct vigil_yaml_key keys[NK_COUNT + 1];
    size_t nk = 0;
    for (size_t k = 0; k < NK_COUNT; k++) {
        if (!(notifier_keys[k].applies & mask))
            continue;
        keys[nk++] =
            (struct vigil_yaml_key){notifier_keys[k].name, &val[k],
                                    (notifier_keys[k].required & mask) == mask};
    }
    keys[nk] = (struct vigil_yaml_key){NULL, NULL, false};
    load_map(l, node, mwhat, keys);

    if (val[NK_NAME]) {
        snprintf(key, sizeof(key), "%s.name", what);
        if (get_str(l, val[NK_NAME], key, &n->name) == 0) {
            if (!is_name(n->name, NAME_MAX_LEN))
                fail(l, val[NK_NAME],
                     "%s may only contain letters, digits, '_', '.' and '-' "
                     "(1 to 64), not '%s'",
                     key, n->name);
            struct vigil_config *cfg = l->cfg;
            for (size_t i = 0; i < cfg->n_notifiers; i++) {
                if (cfg->notifiers[i].name &&
                    strcmp(cfg->notifiers[i].name, n->name) == 0) {
                    fail(l, val[NK_NAME],
                         "%s: duplicate notifier name '%s' (first defined at "
                         "line %d)",
                         key, n->name, cfg->notifiers[i].pos.line);
                    break;
                }
            }
        }
    }
    if (val[NK_URL]) {
        snprintf(key, sizeof(key), "%s.url", what);
        if (get_str(l, val[NK_URL], key, &n->url) == 0 && !is_http_url(n->url))
            fail(l, val[NK_URL], "%s must be an http:// or https:// URL", key);
    } else if (mask == NT(PAGERDUTY) &&
               !(n->url = strdup(defaults.pagerduty_url))) {
        fail_oom(l);
    }
    if (val[NK_ROUTING_KEY]) {
        snprintf(key, sizeof(key), "%s.routing_key", what);
        get_nonempty(l, val[NK_ROUTING_KEY], key, &n->routing_key);
    }
    if (val[NK_ARGV]) {
        snprintf(key, sizeof(key), "%s.argv", what);
        get_strv(l, val[NK_ARGV], key, &n->argv, &n->argc, NULL);
        if (n->argv && n->argc == 0) {
            fail(l, val[NK_ARGV], "%s must name a program", key);
        } else if (n->argv && n->argv[0][0] == '\0') {
            fail(l, val[NK_ARGV], "%s: the program must not be empty", key);
        } else if (n->argv && n->argv[0][0] != '/' && strchr(n->argv[0], '/')) {
            /* A bare name is looked up in PATH; a relative path is ours. */
            char *p = resolve_path(l->cfg->base_dir, n->argv[0]);
            if (!p) {
                fail_oom(l);
            } else {
                drop_str(l, n->argv[0]);
                n->argv[0] = p;
            }
        }
    }
    if (val[NK_TIMEOUT]) {
        snprintf(key, sizeof(key), "%s.timeout", what);
        get_positive_duration(l, val[NK_TIMEOUT], key, &n->timeout_ms);
    }
    if (val[NK_HEADERS]) {
        snprintf(key, sizeof(key), "%s.headers", what);
        if (get_map(l, val[NK_HEADERS], key, &n->headers) == 0)
            check_headers(l, val[NK_HEADERS], key, &n->headers);
    }
    if (val[NK_CHANNEL]) {
        snprintf(key, sizeof(key), "%s.channel", what);
        get_nonempty(l, val[NK_CHANNEL], key, &n->channel);
    }
    if (val[NK_CONFIG]) {
        snprintf(key, sizeof(key), "%s.config", what);
        get_map(l, val[NK_CONFIG], key, &n->config);
    }
}

static void load_notifiers(struct loader *l, struct fy_node *node)
{
    struct vigil_config *cfg = l->cfg;
    if (!vigil_yaml_is_seq(&l->y, node, "notifiers"))
        return;
    int count = fy_node_sequence_item_count(node);
    cfg->notifiers =
        calloc(count > 0 ? (size_t)count : 1, sizeof(*cfg->notifiers));
    if (!cfg->notifiers) {
        fail_oom(l);
        return;
    }
    void *it = NULL;
    struct fy_node *item;
    while (cfg->n_notifiers < (size_t)count &&
           (item = fy_node_sequence_iterate(node, &it)) != NULL) {
        /* Counted before loading, so a duplicate finds only earlier ones. */
        struct vigil_config_notifier *n = &cfg->notifiers[cfg->n_notifiers];
        load_notifier(l, item, cfg->n_notifiers, n);
        cfg->n_notifiers++;
    }
}

/* ---- routes ---- */

static void load_route(struct loader *l, struct fy_node *node, size_t idx,
                       struct vigil_config_route *r)
{
    char what[64], key[96];
    snprintf(what, sizeof(what), "route[%zu]", idx);
    struct fy_node *match, *notify, *repeat, *group_wait, *cont;
    const struct vigil_yaml_key keys[] = {
        {"match", &match, false},   {"notify", &notify, true},
        {"repeat", &repeat, false}, {"group_wait", &group_wait, false},
        {"continue", &cont, false}, {NULL, NULL, false},
    };
    r->repeat_ms = defaults.route_repeat_ms;
    r->group_wait_ms = defaults.route_group_wait_ms;
    r->cont = defaults.route_continue;
    if (load_map(l, node, what, keys) < 0 && !fy_node_is_mapping(node))
        return;
    mark_pos(node, &r->pos);

    if (match) {
        snprintf(key, sizeof(key), "%s.match", what);
        get_map(l, match, key, &r->match);
    }
    if (notify) {
        snprintf(key, sizeof(key), "%s.notify", what);
        struct fy_node **nodes;
        get_strv(l, notify, key, &r->notify, &r->n_notify, &nodes);
        if (r->notify && r->n_notify == 0)
            fail(l, notify, "%s must name at least one notifier", key);
        r->notify_index = calloc(r->n_notify + 1, sizeof(*r->notify_index));
        if (!r->notify_index)
            fail_oom(l);
        const struct vigil_config *cfg = l->cfg;
        for (size_t i = 0; r->notify_index && i < r->n_notify; i++) {
            size_t k = 0;
            while (k < cfg->n_notifiers &&
                   !(cfg->notifiers[k].name &&
                     strcmp(cfg->notifiers[k].name, r->notify[i]) == 0))
                k++;
            if (k == cfg->n_notifiers)
                fail(l, nodes[i], "%s: no notifier named '%s'", key,
                     r->notify[i]);
            r->notify_index[i] = k;
        }
        free(nodes);
    }
    if (repeat) {
        snprintf(key, sizeof(key), "%s.repeat", what);
        vigil_yaml_duration(&l->y, repeat, key, &r->repeat_ms);
    }
    if (group_wait) {
        snprintf(key, sizeof(key), "%s.group_wait", what);
        vigil_yaml_duration(&l->y, group_wait, key, &r->group_wait_ms);
    }
    if (cont) {
        snprintf(key, sizeof(key), "%s.continue", what);
        vigil_yaml_bool(&l->y, cont, key, &r->cont);
    }
}

static void load_routes(struct loader *l, struct fy_node *node)
{
    struct vigil_config *cfg = l->cfg;
    if (!vigil_yaml_is_seq(&l->y, node, "route"))
        return;
    int count = fy_node_sequence_item_count(node);
    cfg->routes = calloc(count > 0 ? (size_t)count : 1, sizeof(*cfg->routes));
    if (!cfg->routes) {
        fail_oom(l);
        return;
    }
    void *it = NULL;
    struct fy_node *item;
    while (cfg->n_routes < (size_t)count &&
           (item = fy_node_sequence_iterate(node, &it)) != NULL) {
        load_route(l, item, cfg->n_routes, &cfg->routes[cfg->n_routes]);
        cfg->n_routes++;
    }
}

/* ---- plugins, matching ---- */

static void load_plugins(struct loader *l, struct fy_node *node)
{
    struct vigil_config *cfg = l->cfg;
    if (!vigil_yaml_is_seq(&l->y, node, "plugins"))
        return;
    int count = fy_node_sequence_item_count(node);
    cfg->plugins = calloc(count > 0 ? (size_t)count : 1, sizeof(*cfg->plugins));
    if (!cfg->plugins) {
        fail_oom(l);
        return;
    }
    void *it = NULL;
    struct fy_node *item;
    while (cfg->n_plugins < (size_t)count &&
           (item = fy_node_sequence_iterate(node, &it)) != NULL) {
        struct vigil_config_plugin *p = &cfg->plugins[cfg->n_plugins];
        char what[64], key[96];
        snprintf(what, sizeof(what), "plugins[%zu]", cfg->n_plugins);
        cfg->n_plugins++;
        struct fy_node *path, *config;
        const struct vigil_yaml_key keys[] = {
            {"path", &path, true},
            {"config", &config, false},
            {NULL, NULL, false},
        };
        load_map(l, item, what, keys);
        char *rel;
        snprintf(key, sizeof(key), "%s.path", what);
        if (path && get_nonempty(l, path, key, &rel) == 0) {
            mark_pos(path, &p->pos);
            p->path = resolve_path(cfg->base_dir, rel);
            drop_str(l, rel);
            if (!p->path)
                fail_oom(l);
            else if (access(p->path, R_OK) < 0)
                fail(l, path, "%s: cannot read '%s': %s", key, p->path,
                     strerror(errno));
        }
        snprintf(key, sizeof(key), "%s.config", what);
        if (config)
            get_map(l, config, key, &p->config);
    }
}

static void load_matching(struct loader *l, struct fy_node *node)
{
    struct vigil_config_matching *m = &l->cfg->matching;
    struct fy_node *match_limit = NULL, *depth_limit = NULL, *vectorscan = NULL;
    const struct vigil_yaml_key keys[] = {
        {"match_limit", &match_limit, false},
        {"depth_limit", &depth_limit, false},
        {"vectorscan", &vectorscan, false},
        {NULL, NULL, false},
    };
    if (node)
        load_map(l, node, "matching", keys);
    m->match_limit = defaults.match_limit;
    m->depth_limit = defaults.depth_limit;
    m->vectorscan = defaults.vectorscan;
    long long v;
    if (match_limit &&
        vigil_yaml_int(&l->y, match_limit, "matching.match_limit", 1,
                       UINT32_MAX, &v) == 0)
        m->match_limit = (uint32_t)v;
    if (depth_limit &&
        vigil_yaml_int(&l->y, depth_limit, "matching.depth_limit", 1,
                       UINT32_MAX, &v) == 0)
        m->depth_limit = (uint32_t)v;
    if (vectorscan)
        vigil_yaml_bool(&l->y, vectorscan, "matching.vectorscan",
                        &m->vectorscan);
}

static void load_root(struct loader *l)
{
    struct vigil_config *cfg = l->cfg;
    struct fy_node *root = vigil_yaml_root(&l->y);
    if (!root) {
        vigil_diags_add(l->y.diags, l->y.file, 1, 1,
                        "the configuration is empty; 'rules' and 'redis' are "
                        "required");
        l->y.errors++;
        return;
    }
    mark_pos(root, &cfg->root_pos);
    struct fy_node *kafka, *redis, *events, *rules, *indicators, *http,
        *notifiers, *route, *plugins, *matching, *reports;
    const struct vigil_yaml_key keys[] = {
        {"kafka", &kafka, false},
        {"redis", &redis, true},
        {"events", &events, false},
        {"rules", &rules, true},
        {"indicators", &indicators, false},
        {"http", &http, false},
        {"notifiers", &notifiers, false},
        {"route", &route, false},
        {"plugins", &plugins, false},
        {"matching", &matching, false},
        {"reports", &reports, false}, /* report_config.c */
        {NULL, NULL, false},
    };
    if (load_map(l, root, "config", keys) < 0 && !fy_node_is_mapping(root))
        return;

    /* Plugins first: events.format and notifier types may name them. */
    if (plugins)
        load_plugins(l, plugins);
    if (kafka)
        load_kafka(l, kafka);
    if (redis)
        load_redis(l, redis);
    load_events(l, events);
    if (rules)
        expand_globs(l, rules, "rules", false, &cfg->rule_files,
                     &cfg->n_rule_files);
    if (indicators)
        expand_globs(l, indicators, "indicators", true, &cfg->indicator_files,
                     &cfg->n_indicator_files);
    load_http(l, http);
    if (notifiers)
        load_notifiers(l, notifiers);
    if (route)
        load_routes(l, route);
    load_matching(l, matching);
    vigil_config_load_reports(&l->y, cfg, reports); /* report_config.c */
}

/* Orders diags[first..) by line and column (stable): file order. */
static void sort_diags(struct vigil_diags *d, size_t first)
{
    for (size_t i = first + 1; i < d->n; i++) {
        struct vigil_diag e = d->v[i];
        size_t j = i;
        while (j > first &&
               (d->v[j - 1].line > e.line ||
                (d->v[j - 1].line == e.line && d->v[j - 1].col > e.col))) {
            d->v[j] = d->v[j - 1];
            j--;
        }
        d->v[j] = e;
    }
}

static struct vigil_config *config_load(const char *name, const char *path,
                                        const char *text, size_t len,
                                        char *base_dir,
                                        struct vigil_diags *diags)
{
    size_t first = diags->n;
    struct loader l = {0};
    struct vigil_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg || !base_dir || !(cfg->file = strdup(name))) {
        vigil_diags_add(diags, name, 0, 0, "out of memory");
        free(base_dir);
        goto err_destroy;
    }
    cfg->base_dir = base_dir;
    l.cfg = cfg;
    int rc = path ? vigil_yaml_load_file(&l.y, path, diags)
                  : vigil_yaml_load_string(&l.y, name, text, len, diags);
    if (rc < 0)
        goto err_destroy;
    load_root(&l);
    unsigned errors = l.y.errors;
    vigil_yaml_fini(&l.y);
    sort_diags(diags, first);
    if (errors)
        goto err_destroy;
    return cfg;

err_destroy:
    vigil_config_destroy(cfg);
    return NULL;
}

struct vigil_config *vigil_config_load(const char *path,
                                       struct vigil_diags *diags)
{
    return config_load(path, path, NULL, 0, dir_of(path), diags);
}

struct vigil_config *vigil_config_load_string(const char *name,
                                              const char *text, size_t len,
                                              const char *base_dir,
                                              struct vigil_diags *diags)
{
    return config_load(name, NULL, text, len, strdup(base_dir ? base_dir : "."),
                       diags);
}

void vigil_config_destroy(struct vigil_config *cfg)
{
    if (!cfg)
        return;
    struct vigil_config_kafka *k = &cfg->kafka;
    free(k->brokers);
    vigil_strv_free(k->topics);
    free(k->group);
    free(k->dead_letter_topic);
    map_fini(&k->properties);

    struct vigil_config_redis *r = &cfg->redis;
    free(r->url);
    free(r->host);
    free(r->socket_path);
    free(r->username);
    free(r->password);
    free(r->ns);

    free(cfg->events.format_name);
    free(cfg->events.time_field);
    vigil_strv_free(cfg->rule_files);
    vigil_strv_free(cfg->indicator_files);

    free(cfg->http.listen);
    free(cfg->http.host);
    free(cfg->http.read_token);
    free(cfg->http.admin_token);

    for (size_t i = 0; i < cfg->n_notifiers; i++) {
        struct vigil_config_notifier *n = &cfg->notifiers[i];
        free(n->name);
        free(n->type_name);
        free(n->url);
        free(n->routing_key);
        vigil_strv_free(n->argv);
        map_fini(&n->headers);
        free(n->channel);
        map_fini(&n->config);
    }
    free(cfg->notifiers);
    for (size_t i = 0; i < cfg->n_routes; i++) {
        map_fini(&cfg->routes[i].match);
        vigil_strv_free(cfg->routes[i].notify);
        free(cfg->routes[i].notify_index);
    }
    free(cfg->routes);
    for (size_t i = 0; i < cfg->n_plugins; i++) {
        free(cfg->plugins[i].path);
        map_fini(&cfg->plugins[i].config);
    }
    free(cfg->plugins);
    vigil_config_reports_fini(&cfg->reports); /* report_config.c */
    free(cfg->secret_values);
    free(cfg->file);
    free(cfg->base_dir);
    free(cfg);
}

int vigil_config_require_kafka(const struct vigil_config *cfg,
                               struct vigil_diags *diags)
{
    if (cfg->kafka.present)
        return 0;
    vigil_diags_add(diags, cfg->file, cfg->root_pos.line, cfg->root_pos.col,
                    "config: missing required key 'kafka' (vigild run "
                    "consumes from Kafka)");
    return -1;
}

/* ---- printing ---- */

static const char redacted[] = "<redacted>";

static bool is_secret_value(const struct vigil_config *cfg, const char *s)
{
    for (size_t i = 0; i < cfg->n_secret_values; i++)
        if (cfg->secret_values[i] == s)
            return true;
    return false;
}

/* Keys whose values are credentials (properties, headers, plugin config). */
static bool is_secret_name(const char *k)
{
    static const char *const words[] = {"password",   "passwd", "secret",
                                        "token",      "key",    "auth",
                                        "credential", "cookie"};
    for (size_t i = 0; i < ARRAY_LEN(words); i++)
        if (strcasestr(k, words[i]))
            return true;
    return false;
}

static void put_quoted(FILE *o, const char *s)
{
    fputc('"', o);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(o, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", o);
        else if (*p == '\t')
            fputs("\\t", o);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(o, "\\x%02x", *p);
        else
            fputc(*p, o);
    }
    fputc('"', o);
}

/* A string value, redacted when secret or read from an @file. */
static void put_value(FILE *o, const struct vigil_config *cfg, const char *s,
                      bool secret)
{
    if (!s)
        fputs("null", o);
    else if (secret || is_secret_value(cfg, s))
        put_quoted(o, redacted);
    else
        put_quoted(o, s);
}

static void put_kv(FILE *o, const struct vigil_config *cfg, int indent,
                   const char *key, const char *s, bool secret)
{
    fprintf(o, "%*s%s: ", indent, "", key);
    put_value(o, cfg, s, secret);
    fputc('\n', o);
}

static void put_duration(FILE *o, int indent, const char *key, uint64_t ms)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {{"w", 604800000}, {"d", 86400000}, {"h", 3600000},
                 {"m", 60000},     {"s", 1000},     {"ms", 1}};
    fprintf(o, "%*s%s: ", indent, "", key);
    if (ms == 0)
        fputs("0s", o);
    for (size_t i = 0; i < ARRAY_LEN(units); i++) {
        if (ms >= units[i].ms) {
            fprintf(o, "%" PRIu64 "%s", ms / units[i].ms, units[i].unit);
            ms %= units[i].ms;
        }
    }
    fputc('\n', o);
}

static void put_strv_flow(FILE *o, const struct vigil_config *cfg, int indent,
                          const char *key, char *const *v, size_t n)
{
    fprintf(o, "%*s%s: [", indent, "", key);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ", " : "", o);
        put_value(o, cfg, v[i], false);
    }
    fputs("]\n", o);
}

/* key at first_indent (0 after a "- "), entries below it at indent + 2. */
static void put_map(FILE *o, const struct vigil_config *cfg, int first_indent,
                    int indent, const char *key,
                    const struct vigil_config_map *m, bool secret_names)
{
    fprintf(o, "%*s%s:%s\n", first_indent, "", key, m->n ? "" : " {}");
    for (size_t i = 0; i < m->n; i++) {
        fprintf(o, "%*s", indent + 2, "");
        put_quoted(o, m->v[i].key);
        fputs(": ", o);
        put_value(o, cfg, m->v[i].value,
                  secret_names && is_secret_name(m->v[i].key));
        fputc('\n', o);
    }
}

static void put_files(FILE *o, const char *key, char *const *v, size_t n)
{
    fprintf(o, "%s:%s\n", key, n ? "" : " []");
    for (size_t i = 0; i < n; i++) {
        fputs("  - ", o);
        put_quoted(o, v[i]);
        fputc('\n', o);
    }
}

/* redis.url with the password replaced. */
static void put_redis_url(FILE *o, const struct vigil_config *cfg)
{
    const struct vigil_config_redis *r = &cfg->redis;
    const char *at = strrchr(r->url, '@');
    fputs("  url: ", o);
    if (is_secret_value(cfg, r->url)) {
        put_quoted(o, redacted);
    } else if (r->transport == VIGIL_REDIS_TCP && at) {
        char *shown = NULL;
        if (asprintf(&shown, "redis://%s:%s%s", r->username ? r->username : "",
                     redacted, at) < 0) {
            put_quoted(o, redacted);
        } else {
            put_quoted(o, shown);
            free(shown);
        }
    } else {
        put_quoted(o, r->url);
    }
    fputc('\n', o);
}

int vigil_config_print(const struct vigil_config *cfg, FILE *o)
{
    fprintf(o, "# effective configuration of %s (secrets redacted)\n",
            cfg->file);
    const struct vigil_config_kafka *k = &cfg->kafka;
    if (k->present) {
        fputs("kafka:\n", o);
        put_kv(o, cfg, 2, "brokers", k->brokers, false);
        put_strv_flow(o, cfg, 2, "topics", k->topics, k->n_topics);
        put_kv(o, cfg, 2, "group", k->group, false);
        fprintf(o, "  workers: %u\n", k->workers);
        put_kv(o, cfg, 2, "dead_letter_topic", k->dead_letter_topic, false);
        fprintf(o, "  max_message_bytes: %zu\n", k->max_message_bytes);
        fprintf(o, "  batch_events: %u\n", k->batch_events);
        put_map(o, cfg, 2, 2, "properties", &k->properties, true);
    } else {
        fputs("# kafka: not configured (only vigild run needs it)\n", o);
    }

    const struct vigil_config_redis *r = &cfg->redis;
    fputs("redis:\n", o);
    put_redis_url(o, cfg);
    put_kv(o, cfg, 2, "namespace", r->ns, false);
    if (r->password)
        put_kv(o, cfg, 2, "password", r->password, true);
    put_duration(o, 2, "connect_timeout", r->connect_timeout_ms);
    put_duration(o, 2, "command_timeout", r->command_timeout_ms);
    fprintf(o, "  findings_max_len: %" PRIu64 "\n", r->findings_max_len);

    const struct vigil_config_events *e = &cfg->events;
    fputs("events:\n", o);
    put_kv(o, cfg, 2, "format", e->format_name, false);
    put_kv(o, cfg, 2, "time_field", e->time_field, false);
    put_duration(o, 2, "resolution", e->resolution_ms);

    put_files(o, "rules", cfg->rule_files, cfg->n_rule_files);
    put_files(o, "indicators", cfg->indicator_files, cfg->n_indicator_files);

    fputs("http:\n", o);
    put_kv(o, cfg, 2, "listen", cfg->http.listen, false);
    if (cfg->http.read_token)
        put_kv(o, cfg, 2, "read_token", cfg->http.read_token, true);
    if (cfg->http.admin_token)
        put_kv(o, cfg, 2, "admin_token", cfg->http.admin_token, true);

    fprintf(o, "notifiers:%s\n", cfg->n_notifiers ? "" : " []");
    for (size_t i = 0; i < cfg->n_notifiers; i++) {
        const struct vigil_config_notifier *n = &cfg->notifiers[i];
        fputs("  - name: ", o);
        put_value(o, cfg, n->name, false);
        fputc('\n', o);
        put_kv(o, cfg, 4, "type", n->type_name, false);
        if (n->url)
            put_kv(o, cfg, 4, "url", n->url, n->type == VIGIL_NOTIFIER_SLACK);
        if (n->routing_key)
            put_kv(o, cfg, 4, "routing_key", n->routing_key, true);
        if (n->argv)
            put_strv_flow(o, cfg, 4, "argv", n->argv, n->argc);
        if (n->type != VIGIL_NOTIFIER_LOG)
            put_duration(o, 4, "timeout", n->timeout_ms);
        if (n->headers.n)
            put_map(o, cfg, 4, 4, "headers", &n->headers, true);
        if (n->channel)
            put_kv(o, cfg, 4, "channel", n->channel, false);
        if (n->config.n)
            put_map(o, cfg, 4, 4, "config", &n->config, true);
    }

    fprintf(o, "route:%s\n", cfg->n_routes ? "" : " []");
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const struct vigil_config_route *rt = &cfg->routes[i];
        fputs("  - ", o);
        put_map(o, cfg, 0, 4, "match", &rt->match, false);
        put_strv_flow(o, cfg, 4, "notify", rt->notify, rt->n_notify);
        put_duration(o, 4, "repeat", rt->repeat_ms);
        put_duration(o, 4, "group_wait", rt->group_wait_ms);
        fprintf(o, "    continue: %s\n", rt->cont ? "true" : "false");
    }

    fprintf(o, "plugins:%s\n", cfg->n_plugins ? "" : " []");
    for (size_t i = 0; i < cfg->n_plugins; i++) {
        fputs("  - path: ", o);
        put_value(o, cfg, cfg->plugins[i].path, false);
        fputc('\n', o);
        put_map(o, cfg, 4, 4, "config", &cfg->plugins[i].config, true);
    }

    fputs("matching:\n", o);
    fprintf(o, "  match_limit: %" PRIu32 "\n", cfg->matching.match_limit);
    fprintf(o, "  depth_limit: %" PRIu32 "\n", cfg->matching.depth_limit);
    fprintf(o, "  vectorscan: %s\n",
            cfg->matching.vectorscan ? "true" : "false");
    vigil_config_reports_print(&cfg->reports, o); /* report_config.c */
    return ferror(o) ? -1 : 0;
}
