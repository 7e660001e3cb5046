#include "yaml_doc.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static struct fy_diag *collecting_diag(void)
{
    struct fy_diag_cfg dc;
    fy_diag_cfg_default(&dc);
    dc.fp = NULL;
    dc.colorize = false;
    struct fy_diag *d = fy_diag_create(&dc);
    if (d)
        fy_diag_set_collect_errors(d, true);
    return d;
}

/* Moves libfyaml's collected errors into y's diags. */
static void take_fy_errors(struct vigil_yaml *y, struct fy_diag *d)
{
    void *it = NULL;
    struct fy_diag_error *e;
    while ((e = fy_diag_errors_iterate(d, &it)) != NULL) {
        vigil_diags_add(y->diags, y->file, e->line, e->column, "%s", e->msg);
        y->errors++;
    }
}

/*
 * A document's root, or NULL when the document is empty: libfyaml gives an
 * empty document ("---" and nothing else) a null scalar without a token.
 */
static struct fy_node *doc_root(struct fy_document *doc)
{
    struct fy_node *root = doc ? fy_document_root(doc) : NULL;
    if (root && fy_node_is_scalar(root) && !fy_node_get_scalar_token(root))
        return NULL;
    return root;
}

/* Files larger than this are not configuration. */
#define YAML_MAX_BYTES (16u * 1024 * 1024)

/* Reads path into a heap buffer (NUL-terminated); NULL with errno set. */
static char *read_whole_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    errno = 0;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            if (cap > YAML_MAX_BYTES) {
                errno = EFBIG;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) {
            if (ferror(f))
                break;
            fclose(f);
            buf[n] = '\0';
            *len = n;
            return buf;
        }
    }
    int err = errno ? errno : ENOMEM;
    free(buf);
    fclose(f);
    errno = err;
    return NULL;
}

/*
 * Offset of the first NUL byte or invalid UTF-8 sequence in s[0..len), or
 * len. libfyaml silently ends the stream at some of them, which would drop
 * the rest of the file without a word.
 */
static size_t first_bad_byte(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        if (c == 0)
            return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return i;
        }
        if (i + n >= len)
            return i;
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return i;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += n + 1;
    }
    return len;
}

/* Reports s[off] as "file:line:col: message" (col in bytes). */
static void report_at_offset(struct vigil_yaml *y, const char *s, size_t off,
                             const char *msg)
{
    int line = 1, col = 1;
    for (size_t i = 0; i < off; i++) {
        if (s[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    vigil_diags_add(y->diags, y->file, line, col, "%s", msg);
    y->errors++;
}

/*
 * Parses exactly one document from buf[0..len) (heap; always consumed).
 * An empty stream (nothing but blanks and comments) gives an empty
 * document whose root is NULL; a second document is an error, since
 * silently ignoring it would drop configuration.
 */
static int yaml_parse(struct vigil_yaml *y, char *buf, size_t len)
{
    size_t bad = first_bad_byte(buf, len);
    if (bad < len) {
        report_at_offset(y, buf, bad,
                         buf[bad] ? "invalid UTF-8" : "NUL byte in YAML");
        free(buf);
        return -1;
    }
    struct fy_diag *d = collecting_diag();
    if (!d) {
        free(buf);
        goto err_oom;
    }
    struct fy_parse_cfg pc = {.flags = FYPCF_QUIET, .diag = d};
    struct fy_parser *fyp = fy_parser_create(&pc);
    if (!fyp) {
        free(buf);
        fy_diag_destroy(d);
        goto err_oom;
    }
    /* The parser's input owns buf from here on, also on error. */
    if (fy_parser_set_malloc_string(fyp, buf, len) < 0) {
        free(buf);
        fy_parser_destroy(fyp);
        fy_diag_destroy(d);
        goto err_oom;
    }
    y->doc = fy_parse_load_document(fyp);
    bool failed = fy_parser_get_stream_error(fyp) || fy_diag_got_error(d);
    if (!y->doc && !failed)
        y->doc = fy_document_create(&pc);
    if (y->doc && !failed && doc_root(y->doc)) {
        /* Empty trailing documents ("---" at the end) are harmless. */
        struct fy_document *extra;
        while ((extra = fy_parse_load_document(fyp)) != NULL) {
            struct fy_node *root = doc_root(extra);
            if (root)
                vigil_yaml_error(y, root,
                                 "only one YAML document is allowed per file");
            fy_parse_document_destroy(fyp, extra);
            if (root)
                break;
        }
        failed = fy_parser_get_stream_error(fyp) || fy_diag_got_error(d);
    }
    fy_parser_destroy(fyp);
    if (!y->doc || failed || y->errors) {
        take_fy_errors(y, d);
        if (!y->errors)
            vigil_diags_add(y->diags, y->file, 0, 0, "cannot parse YAML");
        if (y->doc)
            fy_document_destroy(y->doc);
        y->doc = NULL;
        fy_diag_destroy(d);
        return -1;
    }
    fy_diag_destroy(d);
    return 0;

err_oom:
    vigil_diags_add(y->diags, y->file, 0, 0, "out of memory");
    return -1;
}

static int yaml_load(struct vigil_yaml *y, const char *name, const char *path,
                     const char *text, size_t len, struct vigil_diags *diags)
{
    memset(y, 0, sizeof(*y));
    y->diags = diags;
    y->file = strdup(name);
    if (!y->file)
        return -1;
    char *buf;
    if (path) {
        buf = read_whole_file(path, &len);
        if (!buf) {
            if (errno == EFBIG)
                vigil_diags_add(diags, name, 0, 0, "larger than 16 MiB");
            else
                vigil_diags_add(diags, name, 0, 0, "cannot open: %s",
                                strerror(errno));
            goto err_free_file;
        }
    } else {
        buf = malloc(len + 1);
        if (!buf) {
            vigil_diags_add(diags, name, 0, 0, "out of memory");
            goto err_free_file;
        }
        if (len)
            memcpy(buf, text, len);
        buf[len] = '\0';
    }
    /* yaml_parse owns buf from here on, also when it fails. */
    if (yaml_parse(y, buf, len) < 0)
        goto err_free_file; // NOLINT(clang-analyzer-unix.Malloc)
    return 0;               // NOLINT(clang-analyzer-unix.Malloc)

err_free_file:
    free(y->file); // NOLINT(clang-analyzer-unix.Malloc): libfyaml owns buf
    y->file = NULL;
    return -1;
}

int vigil_yaml_load_file(struct vigil_yaml *y, const char *path,
                         struct vigil_diags *diags)
{
    return yaml_load(y, path, path, NULL, 0, diags);
}

int vigil_yaml_load_string(struct vigil_yaml *y, const char *name,
                           const char *text, size_t len,
                           struct vigil_diags *diags)
{
    return yaml_load(y, name, NULL, text, len, diags);
}

void vigil_yaml_fini(struct vigil_yaml *y)
{
    if (y->doc)
        fy_document_destroy(y->doc);
    free(y->file);
    y->doc = NULL;
    y->file = NULL;
}

struct fy_node *vigil_yaml_root(const struct vigil_yaml *y)
{
    return doc_root(y->doc);
}

/* The mark libfyaml's node reporter gives a collection; 0, 0 if none. */
static void reported_mark(struct fy_node *node, int *line, int *col)
{
    struct fy_diag *d = collecting_diag();
    if (!d)
        return;
    fy_diag_node_report(d, node, FYET_ERROR, "mark");
    void *it = NULL;
    struct fy_diag_error *e = fy_diag_errors_iterate(d, &it);
    if (e) {
        *line = e->line;
        *col = e->column;
    }
    fy_diag_destroy(d);
}

void vigil_yaml_mark(struct fy_node *node, int *line, int *col)
{
    *line = 0;
    *col = 0;
    if (!node)
        return;
    struct fy_token *t = fy_node_get_scalar_token(node);
    if (t) {
        const struct fy_mark *m = fy_token_start_mark(t);
        if (m) {
            *line = m->line + 1;
            *col = m->column + 1;
            /* libfyaml marks a quoted scalar's text; the node starts at
             * its opening quote. */
            enum fy_node_style style = fy_node_get_style(node);
            if ((style == FYNS_SINGLE_QUOTED || style == FYNS_DOUBLE_QUOTED) &&
                *col > 1)
                (*col)--;
        }
        return;
    }
    /*
     * libfyaml 0.7 has no public start mark for collections; its node
     * reporter knows it, so ask it through a collecting diag. It gives up
     * when the collection ends in an empty value ("a:"); a block
     * collection starts where its first entry does, so use that then.
     */
    if (fy_node_is_mapping(node) || fy_node_is_sequence(node)) {
        reported_mark(node, line, col);
        if (*line > 0)
            return;
        struct fy_node *first = NULL;
        if (fy_node_is_mapping(node)) {
            struct fy_node_pair *p = fy_node_mapping_get_by_index(node, 0);
            first = p ? fy_node_pair_key(p) : NULL;
        } else {
            first = fy_node_sequence_get_by_index(node, 0);
        }
        if (first)
            vigil_yaml_mark(first, line, col);
        return;
    }
    /* An empty value ("key:" and nothing) has no token: use its key. */
    struct fy_node *parent = fy_node_get_parent(node);
    if (parent && fy_node_is_mapping(parent)) {
        void *it = NULL;
        struct fy_node_pair *p;
        while ((p = fy_node_mapping_iterate(parent, &it)) != NULL) {
            if (fy_node_pair_value(p) == node) {
                vigil_yaml_mark(fy_node_pair_key(p), line, col);
                return;
            }
        }
    }
}

void vigil_yaml_error(struct vigil_yaml *y, struct fy_node *node,
                      const char *fmt, ...)
{
    int line, col;
    vigil_yaml_mark(node, &line, &col);
    va_list ap;
    va_start(ap, fmt);
    vigil_diags_vadd(y->diags, y->file, line, col, fmt, ap);
    va_end(ap);
    y->errors++;
}

bool vigil_yaml_is_map(struct vigil_yaml *y, struct fy_node *node,
                       const char *what)
{
    if (node && fy_node_is_mapping(node))
        return true;
    vigil_yaml_error(y, node, "%s must be a mapping", what);
    return false;
}

bool vigil_yaml_is_seq(struct vigil_yaml *y, struct fy_node *node,
                       const char *what)
{
    if (node && fy_node_is_sequence(node))
        return true;
    vigil_yaml_error(y, node, "%s must be a list", what);
    return false;
}

int vigil_yaml_map(struct vigil_yaml *y, struct fy_node *map, const char *what,
                   const struct vigil_yaml_key *keys)
{
    for (const struct vigil_yaml_key *k = keys; k->name; k++)
        *k->out = NULL;
    if (!vigil_yaml_is_map(y, map, what))
        return -1;

    int rc = 0;
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(map, &it)) != NULL) {
        struct fy_node *kn = fy_node_pair_key(p);
        size_t klen;
        const char *key = kn ? fy_node_get_scalar(kn, &klen) : NULL;
        if (!key) {
            vigil_yaml_error(y, kn, "%s: keys must be plain strings", what);
            rc = -1;
            continue;
        }
        const struct vigil_yaml_key *k = keys;
        while (k->name &&
               !(strlen(k->name) == klen && memcmp(k->name, key, klen) == 0))
            k++;
        if (!k->name) {
            vigil_yaml_error(y, kn, "%s: unknown key '%.*s'", what, (int)klen,
                             key);
            rc = -1;
            continue;
        }
        *k->out = fy_node_pair_value(p);
    }
    for (const struct vigil_yaml_key *k = keys; k->name; k++) {
        if (k->required && !*k->out) {
            vigil_yaml_error(y, map, "%s: missing required key '%s'", what,
                             k->name);
            rc = -1;
        }
    }
    return rc;
}

const char *vigil_yaml_scalar(struct vigil_yaml *y, struct fy_node *node,
                              const char *what, size_t *len)
{
    const char *s = NULL;
    if (node && fy_node_is_scalar(node))
        s = fy_node_get_scalar(node, len);
    if (!s) {
        vigil_yaml_error(y, node, "%s must be a single value", what);
        return NULL;
    }
    return s;
}

int vigil_yaml_str(struct vigil_yaml *y, struct fy_node *node, const char *what,
                   char **out)
{
    size_t len;
    const char *s = vigil_yaml_scalar(y, node, what, &len);
    if (!s)
        return -1;
    *out = strndup(s, len);
    return *out ? 0 : -1;
}

/* Copies a scalar into buf as a C string; -1 when it does not fit. */
static int scalar_cstr(struct vigil_yaml *y, struct fy_node *node,
                       const char *what, char *buf, size_t size)
{
    size_t len;
    const char *s = vigil_yaml_scalar(y, node, what, &len);
    if (!s)
        return -1;
    if (len >= size) {
        vigil_yaml_error(y, node, "%s: value too long", what);
        return -1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    return 0;
}

int vigil_yaml_int(struct vigil_yaml *y, struct fy_node *node, const char *what,
                   long long min, long long max, long long *out)
{
    char buf[64];
    if (scalar_cstr(y, node, what, buf, sizeof(buf)) < 0)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || end == buf || *end) {
        vigil_yaml_error(y, node, "%s must be an integer, not '%s'", what, buf);
        return -1;
    }
    if (v < min || v > max) {
        vigil_yaml_error(y, node, "%s must be between %lld and %lld", what, min,
                         max);
        return -1;
    }
    *out = v;
    return 0;
}

int vigil_yaml_double(struct vigil_yaml *y, struct fy_node *node,
                      const char *what, double *out)
{
    char buf[64];
    if (scalar_cstr(y, node, what, buf, sizeof(buf)) < 0)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (errno || end == buf || *end || !isfinite(v)) {
        vigil_yaml_error(y, node, "%s must be a number, not '%s'", what, buf);
        return -1;
    }
    *out = v;
    return 0;
}

int vigil_yaml_bool(struct vigil_yaml *y, struct fy_node *node,
                    const char *what, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", NULL};
    static const char *const no[] = {"false", "no", "off", NULL};
    char buf[16];
    if (scalar_cstr(y, node, what, buf, sizeof(buf)) < 0)
        return -1;
    for (int i = 0; yes[i]; i++) {
        if (strcasecmp(buf, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(buf, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    vigil_yaml_error(y, node, "%s must be true or false, not '%s'", what, buf);
    return -1;
}

int vigil_parse_duration(const char *s, size_t len, uint64_t *ms)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {{"ms", 1},      {"s", 1000},     {"m", 60000},
                 {"h", 3600000}, {"d", 86400000}, {"w", 604800000},
                 {NULL, 0}};
    uint64_t total = 0;
    size_t i = 0;
    if (len == 0)
        return -1;
    while (i < len) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        uint64_t n = 0;
        while (i < len && isdigit((unsigned char)s[i])) {
            if (n > UINT64_MAX / 10 - 10)
                return -1;
            n = n * 10 + (uint64_t)(s[i++] - '0');
        }
        size_t u = i;
        while (i < len && isalpha((unsigned char)s[i]))
            i++;
        int k = 0;
        while (units[k].unit && !(strlen(units[k].unit) == i - u &&
                                  memcmp(units[k].unit, s + u, i - u) == 0))
            k++;
        if (!units[k].unit || n > (UINT64_MAX - total) / units[k].ms)
            return -1;
        total += n * units[k].ms;
    }
    *ms = total;
    return 0;
}

int vigil_yaml_duration(struct vigil_yaml *y, struct fy_node *node,
                        const char *what, uint64_t *ms)
{
    size_t len;
    const char *s = vigil_yaml_scalar(y, node, what, &len);
    if (!s)
        return -1;
    if (vigil_parse_duration(s, len, ms) < 0) {
        vigil_yaml_error(y, node,
                         "%s must be a duration such as 10s, 5m, 4h or 7d, "
                         "not '%.*s'",
                         what, (int)len, s);
        return -1;
    }
    return 0;
}

void vigil_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

int vigil_yaml_strv(struct vigil_yaml *y, struct fy_node *node,
                    const char *what, char ***out, size_t *n)
{
    size_t count = 1;
    bool seq = node && fy_node_is_sequence(node);
    if (seq)
        count = (size_t)fy_node_sequence_item_count(node);
    char **v = calloc(count + 1, sizeof(*v));
    if (!v)
        return -1;
    if (!seq) {
        if (vigil_yaml_str(y, node, what, &v[0]) < 0)
            goto err_free;
    } else {
        void *it = NULL;
        struct fy_node *item;
        size_t i = 0;
        while ((item = fy_node_sequence_iterate(node, &it)) && i < count) {
            if (vigil_yaml_str(y, item, what, &v[i]) < 0)
                goto err_free;
            i++;
        }
    }
    *out = v;
    if (n)
        *n = count;
    return 0;

err_free:
    vigil_strv_free(v);
    return -1;
}
