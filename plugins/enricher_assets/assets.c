/*
 * enricher_assets: adds what an asset inventory knows about the host an
 * event concerns.
 *
 * The inventory is a CSV file (RFC 4180: commas, "quoted" cells with ""
 * for a quote, LF or CRLF; lines starting with '#' and blank lines are
 * skipped). Its first line names the columns: `ip` and/or `hostname` are
 * the keys, every other column (owner, criticality, zone, ...) becomes a
 * field <prefix>.<column> of a matching event; empty cells add nothing.
 *
 *   ip,hostname,owner,criticality,zone
 *   10.0.0.5,db-1.corp,dba-team,high,dmz
 *
 * Config:
 *   path    the CSV file (required; relative to vigil.yaml's folder)
 *   fields  event fields to look up, in order, comma-separated; the first
 *           whose value is a known ip or hostname wins (default
 *           "src,src_ip,host.name")
 *   prefix  of the added fields (default "asset")
 * Keys compare case-insensitively (host names, IPv6).
 *
 * Threading: enrich runs on every worker at once and only reads the
 * current table, which it pins with a reference; reload (SIGHUP) builds a
 * whole new table and swaps it in, so a bad file keeps the old one.
 */
#define _POSIX_C_SOURCE 200809L /* strdup, strndup */

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vigil/plugin.h>

#define MAX_FILE_BYTES (256u << 20) /* 256 MiB */
#define MAX_KEY 255
#define MAX_COLUMNS 64
#define MAX_FIELDS 16

struct row {
    char **cells; /* n_cols, owned; NULL for key columns and empty cells */
};

struct entry {
    char *key; /* lower-cased; borrowed from the row's cells' twin */
    size_t len;
    size_t row;
};

struct table {
    size_t refs; /* under assets.lock */
    size_t n_cols;
    char **names; /* n_cols; "<prefix>.<column>", NULL for key columns */
    struct row *rows;
    size_t n_rows;
    char **keys; /* owned lower-cased keys */
    size_t n_keys;
    struct entry *slots; /* open addressing, cap a power of two */
    size_t cap;
};

struct assets {
    const struct vigil_host_api *host;
    char *path;
    char *prefix;
    char *fields[MAX_FIELDS];
    size_t n_fields;
    pthread_mutex_t lock;
    struct table *table; /* current; one reference held */
};

static void fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- table ------------------------------------------------------------- */

static void table_free(struct table *t)
{
    if (!t)
        return;
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t c = 0; c < t->n_cols; c++)
            free(t->rows[r].cells[c]);
        free(t->rows[r].cells);
    }
    free(t->rows);
    for (size_t c = 0; c < t->n_cols; c++)
        free(t->names[c]);
    free(t->names);
    for (size_t k = 0; k < t->n_keys; k++)
        free(t->keys[k]);
    free(t->keys);
    free(t->slots);
    free(t);
}

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211u;
    }
    return h;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* The row of key (already lower-cased), or SIZE_MAX. */
static size_t table_find(const struct table *t, const char *key, size_t n)
{
    if (!t->cap)
        return SIZE_MAX;
    for (size_t i = hash(key, n) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        const struct entry *e = &t->slots[i];
        if (!e->key)
            return SIZE_MAX;
        if (e->len == n && memcmp(e->key, key, n) == 0)
            return e->row;
    }
}

static void table_insert(struct table *t, char *key, size_t n, size_t row)
{
    size_t i = hash(key, n) & (t->cap - 1);
    while (t->slots[i].key)
        i = (i + 1) & (t->cap - 1);
    t->slots[i] = (struct entry){key, n, row};
}

/* ---- CSV --------------------------------------------------------------- */

/* Well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF). */
static bool utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

struct csv {
    const char *s;
    size_t len;
    size_t pos;
    size_t line; /* 1-based line of pos */
};

/*
 * Reads one record into cells (heap strings; at most max), *n the count.
 * Returns 1 with a record, 0 at the end, -1 with err set.
 */
static int csv_record(struct csv *x, char **cells, size_t max, size_t *n,
                      size_t *line, char *err, size_t errlen)
{
    *n = 0;
    /* Skip blank and comment lines. */
    for (;;) {
        if (x->pos >= x->len)
            return 0;
        const char *p = x->s + x->pos;
        size_t rest = x->len - x->pos;
        const char *nl = memchr(p, '\n', rest);
        size_t l = nl ? (size_t)(nl - p) : rest;
        bool blank = l == 0 || (l == 1 && p[0] == '\r');
        if (!blank && p[0] != '#')
            break;
        x->pos += nl ? l + 1 : l;
        x->line++;
    }
    size_t start_line = x->line;
    *line = start_line;
    for (;;) {
        /* One cell. */
        size_t cap = 16, used = 0;
        char *cell = malloc(cap);
        if (!cell)
            goto err_nomem;
        bool quoted = x->pos < x->len && x->s[x->pos] == '"';
        if (quoted)
            x->pos++;
        for (;;) {
            if (x->pos >= x->len) {
                if (quoted) {
                    free(cell);
                    fail(err, errlen, "line %zu: unterminated quote",
                         start_line);
                    goto err;
                }
                break;
            }
            char c = x->s[x->pos];
            if (quoted) {
                if (c == '"') {
                    if (x->pos + 1 < x->len && x->s[x->pos + 1] == '"') {
                        x->pos++;
                    } else {
                        x->pos++;
                        quoted = false;
                        continue;
                    }
                } else if (c == '\n') {
                    x->line++;
                }
            } else if (c == ',' || c == '\n' ||
                       (c == '\r' && x->pos + 1 < x->len &&
                        x->s[x->pos + 1] == '\n') ||
                       (c == '\r' && x->pos + 1 == x->len)) {
                break;
            } else if (c == '"') {
                free(cell);
                fail(err, errlen, "line %zu: stray quote in a cell", x->line);
                goto err;
            }
            if (used + 1 >= cap) {
                char *nc = realloc(cell, cap *= 2);
                if (!nc) {
                    free(cell);
                    goto err_nomem;
                }
                cell = nc;
            }
            cell[used++] = c;
            x->pos++;
        }
        cell[used] = '\0';
        if (!utf8_ok((const unsigned char *)cell, used)) {
            free(cell);
            fail(err, errlen, "line %zu: not UTF-8", start_line);
            goto err;
        }
        if (*n == max) {
            free(cell);
            fail(err, errlen, "line %zu: more than %zu columns", start_line,
                 max);
            goto err;
        }
        cells[(*n)++] = cell;
        if (x->pos >= x->len)
            return 1;
        char c = x->s[x->pos++];
        if (c == ',')
            continue;
        if (c == '\r' && x->pos < x->len)
            x->pos++; /* the '\n' of CRLF */
        x->line++;
        return 1;
    }

err_nomem:
    fail(err, errlen, "out of memory");
err:
    for (size_t i = 0; i < *n; i++)
        free(cells[i]);
    *n = 0;
    return -1;
}

static void cells_free(char **cells, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(cells[i]);
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* Reads the whole file; NULL with err set. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, used = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fail(err, errlen, "out of memory");
            goto err_close;
        }
        used += fread(buf + used, 1, cap - used, f);
        if (used < cap)
            break;
        if (cap >= MAX_FILE_BYTES) {
            fail(err, errlen, "%s: larger than %u bytes", path, MAX_FILE_BYTES);
            goto err_free_buf;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb)
            free(buf);
        buf = nb;
        cap *= 2;
    }
    if (ferror(f)) {
        fail(err, errlen, "%s: read error", path);
        goto err_free_buf;
    }
    fclose(f);
    *len = used;
    return buf;

err_free_buf:
    free(buf);
err_close:
    fclose(f);
    return NULL;
}

/* Reads the header; sets *ip and *host to key column indexes or -1. */
static int load_header(const struct assets *a, struct table *t, char **cells,
                       size_t n, int *ip, int *host, char *err, size_t errlen)
{
    *ip = *host = -1;
    t->n_cols = n;
    t->names = calloc(n, sizeof(*t->names));
    if (!t->names) {
        fail(err, errlen, "out of memory");
        return -1;
    }
    for (size_t c = 0; c < n; c++) {
        const char *name = cells[c];
        size_t len = strlen(name);
        bool ok = len > 0;
        for (size_t i = 0; i < len; i++)
            ok = ok && is_name_char(name[i]);
        if (!ok) {
            fail(err, errlen,
                 "%s: header: column %zu: a column name is 1 or more of "
                 "A-Z a-z 0-9 _ . -",
                 a->path, c + 1);
            return -1;
        }
        for (size_t d = 0; d < c; d++) {
            if (strcmp(cells[d], name) == 0) {
                fail(err, errlen, "%s: duplicate column '%s'", a->path, name);
                return -1;
            }
        }
        if (strcmp(name, "ip") == 0) {
            *ip = (int)c;
        } else if (strcmp(name, "hostname") == 0) {
            *host = (int)c;
        } else {
            size_t size = strlen(a->prefix) + 1 + len + 1;
            t->names[c] = malloc(size);
            if (!t->names[c]) {
                fail(err, errlen, "out of memory");
                return -1;
            }
            snprintf(t->names[c], size, "%s.%s", a->prefix, name);
        }
    }
    if (*ip < 0 && *host < 0) {
        fail(err, errlen, "%s: the header names no 'ip' or 'hostname' column",
             a->path);
        return -1;
    }
    return 0;
}

/* Adds key cell (lower-cased) of row r; -1 with err on a duplicate. */
static int add_key(const struct assets *a, struct table *t, const char *cell,
                   size_t r, size_t line, char *err, size_t errlen)
{
    size_t n = strlen(cell);
    if (n == 0)
        return 0;
    if (n > MAX_KEY) {
        fail(err, errlen, "%s: line %zu: a key longer than %d bytes", a->path,
             line, MAX_KEY);
        return -1;
    }
    char *k = malloc(n + 1);
    if (!k) {
        fail(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        k[i] = lower(cell[i]);
    k[n] = '\0';
    if (table_find(t, k, n) != SIZE_MAX) {
        fail(err, errlen, "%s: line %zu: duplicate key '%s'", a->path, line,
             cell);
        free(k);
        return -1;
    }
    t->keys[t->n_keys++] = k;
    table_insert(t, k, n, r);
    return 0;
}

/* Builds a table from a->path; NULL with err set. */
static struct table *table_load(const struct assets *a, char *err,
                                size_t errlen)
{
    size_t len;
    char *buf = read_file(a->path, &len, err, errlen);
    if (!buf)
        return NULL;
    struct table *t = calloc(1, sizeof(*t));
    if (!t) {
        fail(err, errlen, "out of memory");
        goto err_free_buf;
    }
    t->refs = 1;
    /* Every line is at most one row: size the arrays once. */
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    t->rows = calloc(lines, sizeof(*t->rows));
    t->keys = calloc(2 * lines, sizeof(*t->keys));
    t->cap = 16;
    while (t->cap < 4 * lines)
        t->cap *= 2;
    t->slots = calloc(t->cap, sizeof(*t->slots));
    if (!t->rows || !t->keys || !t->slots) {
        fail(err, errlen, "out of memory");
        goto err_free_table;
    }

    struct csv x = {buf, len, 0, 1};
    char *cells[MAX_COLUMNS];
    size_t n, line;
    char sub[256];
    int rc = csv_record(&x, cells, MAX_COLUMNS, &n, &line, sub, sizeof(sub));
    if (rc <= 0) {
        if (rc == 0)
            fail(err, errlen, "%s: no header line", a->path);
        else
            fail(err, errlen, "%s: %s", a->path, sub);
        goto err_free_table;
    }
    int ip, host;
    rc = load_header(a, t, cells, n, &ip, &host, err, errlen);
    cells_free(cells, n);
    if (rc < 0)
        goto err_free_table;
    for (;;) {
        rc = csv_record(&x, cells, MAX_COLUMNS, &n, &line, sub, sizeof(sub));
        if (rc == 0)
            break;
        if (rc < 0) {
            fail(err, errlen, "%s: %s", a->path, sub);
            goto err_free_table;
        }
        if (n != t->n_cols) {
            fail(err, errlen, "%s: line %zu: %zu columns, the header has %zu",
                 a->path, line, n, t->n_cols);
            cells_free(cells, n);
            goto err_free_table;
        }
        size_t r = t->n_rows;
        struct row *row = &t->rows[r];
        row->cells = calloc(n, sizeof(*row->cells));
        if (!row->cells) {
            fail(err, errlen, "out of memory");
            cells_free(cells, n);
            goto err_free_table;
        }
        t->n_rows++;
        bool keyed = false;
        rc = 0;
        for (size_t c = 0; c < n; c++) {
            if ((int)c == ip || (int)c == host) {
                keyed = keyed || cells[c][0] != '\0';
                if (rc == 0)
                    rc = add_key(a, t, cells[c], r, line, err, errlen);
                free(cells[c]);
            } else if (cells[c][0] == '\0') {
                free(cells[c]);
            } else {
                row->cells[c] = cells[c];
            }
        }
        if (rc < 0)
            goto err_free_table;
        if (!keyed) {
            fail(err, errlen, "%s: line %zu: no ip or hostname", a->path, line);
            goto err_free_table;
        }
    }
    free(buf);
    return t;

err_free_table:
    table_free(t);
err_free_buf:
    free(buf);
    return NULL;
}

/* ---- plugin ------------------------------------------------------------ */

static struct table *table_pin(struct assets *a)
{
    pthread_mutex_lock(&a->lock);
    struct table *t = a->table;
    t->refs++;
    pthread_mutex_unlock(&a->lock);
    return t;
}

static void table_unpin(struct assets *a, struct table *t)
{
    pthread_mutex_lock(&a->lock);
    bool last = --t->refs == 0;
    pthread_mutex_unlock(&a->lock);
    if (last)
        table_free(t);
}

static int assets_enrich(void *state, struct vigil_plugin_event *ev)
{
    struct assets *a = state;
    const struct vigil_host_api *h = a->host;
    struct table *t = table_pin(a);
    int rc = 0;
    for (size_t f = 0; f < a->n_fields; f++) {
        const char *v;
        size_t n;
        if (h->event_get(ev, a->fields[f], strlen(a->fields[f]), &v, &n) < 0 ||
            n == 0 || n > MAX_KEY)
            continue;
        char key[MAX_KEY];
        for (size_t i = 0; i < n; i++)
            key[i] = lower(v[i]);
        size_t r = table_find(t, key, n);
        if (r == SIZE_MAX)
            continue;
        for (size_t c = 0; c < t->n_cols; c++) {
            const char *cell = t->rows[r].cells[c];
            if (cell && h->event_add(ev, t->names[c], strlen(t->names[c]), cell,
                                     strlen(cell)) < 0)
                rc = -1;
        }
        break;
    }
    table_unpin(a, t);
    return rc;
}

static int assets_reload(void *state, char *err, size_t errlen)
{
    struct assets *a = state;
    struct table *t = table_load(a, err, errlen);
    if (!t)
        return -1;
    pthread_mutex_lock(&a->lock);
    struct table *old = a->table;
    a->table = t;
    pthread_mutex_unlock(&a->lock);
    table_unpin(a, old);
    a->host->log(a->host, VIGIL_PLUGIN_LOG_INFO, "%s: %zu assets", a->path,
                 t->n_rows);
    return 0;
}

static void assets_destroy(void *state)
{
    struct assets *a = state;
    if (!a)
        return;
    table_free(a->table);
    for (size_t i = 0; i < a->n_fields; i++)
        free(a->fields[i]);
    free(a->path);
    free(a->prefix);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

/* Splits "a, b,c" into a->fields. */
static int parse_fields(struct assets *a, const char *s, char *err,
                        size_t errlen)
{
    while (*s) {
        while (*s == ' ' || *s == ',')
            s++;
        const char *e = s;
        while (*e && *e != ',' && *e != ' ')
            e++;
        if (e == s)
            break;
        if (a->n_fields == MAX_FIELDS) {
            fail(err, errlen, "fields: more than %d", MAX_FIELDS);
            return -1;
        }
        a->fields[a->n_fields] = strndup(s, (size_t)(e - s));
        if (!a->fields[a->n_fields]) {
            fail(err, errlen, "out of memory");
            return -1;
        }
        a->n_fields++;
        s = e;
    }
    if (a->n_fields == 0) {
        fail(err, errlen, "fields: no field named");
        return -1;
    }
    return 0;
}

static int assets_init(const struct vigil_host_api *host,
                       const struct vigil_plugin_kv *config, size_t n_config,
                       void **state, char *err, size_t errlen)
{
    struct assets *a = calloc(1, sizeof(*a));
    if (!a) {
        fail(err, errlen, "out of memory");
        return -1;
    }
    a->host = host;
    if (pthread_mutex_init(&a->lock, NULL) != 0) {
        free(a);
        fail(err, errlen, "cannot create a mutex");
        return -1;
    }
    const char *path = NULL, *fields = "src,src_ip,host.name",
               *prefix = "asset";
    for (size_t i = 0; i < n_config; i++) {
        const char *k = config[i].key, *v = config[i].value;
        if (strcmp(k, "path") == 0) {
            path = v;
        } else if (strcmp(k, "fields") == 0) {
            fields = v;
        } else if (strcmp(k, "prefix") == 0) {
            prefix = v;
        } else {
            fail(err, errlen, "unknown config key '%s' (path, fields, prefix)",
                 k);
            goto err;
        }
    }
    if (!path || !*path) {
        fail(err, errlen, "config: 'path' (the CSV inventory) is required");
        goto err;
    }
    if (!*prefix) {
        fail(err, errlen, "config: 'prefix' must not be empty");
        goto err;
    }
    if (path[0] == '/') {
        a->path = strdup(path);
    } else {
        size_t size = strlen(host->config_dir) + 1 + strlen(path) + 1;
        a->path = malloc(size);
        if (a->path)
            snprintf(a->path, size, "%s/%s", host->config_dir, path);
    }
    a->prefix = strdup(prefix);
    if (!a->path || !a->prefix) {
        fail(err, errlen, "out of memory");
        goto err;
    }
    if (parse_fields(a, fields, err, errlen) < 0)
        goto err;
    a->table = table_load(a, err, errlen);
    if (!a->table)
        goto err;
    *state = a;
    return 0;

err:
    assets_destroy(a);
    return -1;
}

VIGIL_PLUGIN_EXPORT const struct vigil_plugin_v1 vigil_plugin_v1 = {
    .abi_major = VIGIL_PLUGIN_ABI_MAJOR,
    .struct_size = sizeof(struct vigil_plugin_v1),
    .abi_minor = VIGIL_PLUGIN_ABI_MINOR,
    .kind = VIGIL_PLUGIN_ENRICHER,
    .name = "assets",
    .version = "1.0.0",
    .init = assets_init,
    .destroy = assets_destroy,
    .reload = assets_reload,
    .enrich = assets_enrich,
};
