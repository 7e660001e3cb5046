/*
 * rule_load: YAML rule packs -> struct vigil_rule, each field checked and
 * every problem reported with its position. Cross-rule checks (duplicate
 * ids, counters, pairs) are in rule_link.c; the finished set is assembled
 * in rule_set.c.
 */
#include "rule_load.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "prefilter.h"
#include "yaml_scalar.h"

#define RULE_FILE_MAX (16u << 20) /* bytes; a rule file is not a data set */
#define NAME_MAX_LEN 128

bool vigil_rule_name_ok(const char *s, size_t len)
{
    if (len == 0 || len > NAME_MAX_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

/* True for a name PCRE2 could give a group: word characters only. */
static bool capture_like(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

static int find_capture(const struct vigil_rule *r, const char *s, size_t len)
{
    for (size_t i = 0; i < r->n_captures; i++) {
        if (strlen(r->captures[i].name) == len &&
            memcmp(r->captures[i].name, s, len) == 0)
            return (int)i;
    }
    return -1;
}

int vigil_rule_ref_resolve(struct vigil_yaml *y, struct fy_node *node,
                           const struct vigil_rule *r, const char *what,
                           const char *s, size_t len, struct vigil_ref *out)
{
    static const char prefix[] = "field:";
    const size_t plen = sizeof(prefix) - 1;
    memset(out, 0, sizeof(*out));
    if (len >= plen && memcmp(s, prefix, plen) == 0) {
        s += plen;
        len -= plen;
        if (len == 0) {
            vigil_yaml_error(y, node, "%s: 'field:' needs a field name", what);
            return -1;
        }
        out->kind = VIGIL_REF_FIELD;
    } else if (capture_like(s, len)) {
        int c = r->re ? find_capture(r, s, len) : 0;
        if (c < 0) {
            vigil_yaml_error(y, node,
                             "%s: '%.*s' is not a named capture of the "
                             "pattern of rule '%s' (an event field without "
                             "a dot is written 'field:%.*s')",
                             what, (int)len, s, r->id ? r->id : "?", (int)len,
                             s);
            return -1;
        }
        out->kind = VIGIL_REF_CAPTURE;
        out->capture = (uint32_t)c;
    } else if (len == 0) {
        vigil_yaml_error(y, node, "%s: empty name", what);
        return -1;
    } else {
        out->kind = VIGIL_REF_FIELD;
    }
    char *name = strndup(s, len);
    if (!name) {
        vigil_yaml_error(y, node, "out of memory");
        return -1;
    }
    out->name = (struct vigil_sv){name, len};
    return 0;
}

/* Reads a reference from a scalar node. */
static int ref_from_node(struct vigil_yaml *y, struct fy_node *node,
                         const struct vigil_rule *r, const char *what,
                         struct vigil_ref *out)
{
    size_t len;
    const char *s = vigil_yaml_scalar(y, node, what, &len);
    if (!s)
        return -1;
    return vigil_rule_ref_resolve(y, node, r, what, s, len, out);
}

/* Reports a PCRE2 compile error at its exact place in the scalar. */
static void regex_error(struct vigil_rule_file *lf, struct fy_node *node,
                        size_t skip, const struct vigil_regex_error *e,
                        const char *what)
{
    int line, col;
    vigil_yaml_scalar_pos(lf->text, lf->len, node, skip + e->offset, &line,
                          &col);
    vigil_diags_add(lf->y.diags, lf->y.file, line, col,
                    "%s does not compile: %s", what, e->msg);
    lf->y.errors++;
}

/* Named captures in pattern order, names used by several groups merged. */
static int load_captures(struct vigil_rule *r)
{
    size_t n = vigil_regex_name_count(r->re);
    if (n == 0)
        return 0;
    r->captures = calloc(n, sizeof(*r->captures));
    if (!r->captures)
        return -1;
    /* The name table is sorted by name: equal names are adjacent. */
    for (size_t i = 0; i < n;) {
        uint32_t g;
        const char *name = vigil_regex_name(r->re, i, &g);
        size_t k = i + 1;
        while (k < n && strcmp(vigil_regex_name(r->re, k, NULL), name) == 0)
            k++;
        struct vigil_capture_def *c = &r->captures[r->n_captures++];
        c->name = strdup(name);
        c->groups = calloc(k - i, sizeof(*c->groups));
        if (!c->name || !c->groups)
            return -1;
        for (size_t j = i; j < k; j++) {
            vigil_regex_name(r->re, j, &c->groups[c->n_groups]);
            c->n_groups++;
        }
        i = k;
    }
    /* Pattern order: by first group number (insertion sort, few names). */
    for (size_t i = 1; i < r->n_captures; i++) {
        struct vigil_capture_def tmp = r->captures[i];
        size_t j = i;
        while (j > 0 && r->captures[j - 1].groups[0] > tmp.groups[0]) {
            r->captures[j] = r->captures[j - 1];
            j--;
        }
        r->captures[j] = tmp;
    }
    return 0;
}

static int load_pattern(struct vigil_rule_file *lf, struct vigil_rule *r,
                        struct fy_node *node)
{
    size_t len;
    const char *s = vigil_yaml_scalar(&lf->y, node, "match", &len);
    if (!s)
        return -1;
    struct vigil_regex_error e;
    r->re = vigil_regex_compile(s, len, &e);
    if (!r->re) {
        regex_error(lf, node, 0, &e, "match: pattern");
        return -1;
    }
    if (load_captures(r) < 0) {
        vigil_yaml_error(&lf->y, node, "out of memory");
        return -1;
    }
    return 0;
}

/* when/unless: a mapping of reference -> "exact", "~regex" or "=exact". */
static int load_conds(struct vigil_rule_file *lf, struct vigil_rule *r,
                      struct fy_node *map, const char *what,
                      struct vigil_cond **out, size_t *n_out)
{
    struct vigil_yaml *y = &lf->y;
    if (!vigil_yaml_is_map(y, map, what))
        return -1;
    size_t cap = (size_t)fy_node_mapping_item_count(map);
    *out = calloc(cap ? cap : 1, sizeof(**out));
    if (!*out)
        return -1;
    int rc = 0;
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(map, &it)) != NULL && *n_out < cap) {
        struct fy_node *kn = fy_node_pair_key(p), *vn = fy_node_pair_value(p);
        struct vigil_cond *c = &(*out)[*n_out];
        size_t vlen;
        const char *v;
        if (ref_from_node(y, kn, r, what, &c->ref) < 0 ||
            !(v = vigil_yaml_scalar(y, vn, what, &vlen))) {
            free((char *)c->ref.name.ptr);
            memset(c, 0, sizeof(*c));
            rc = -1;
            continue;
        }
        (*n_out)++;
        if (vlen > 0 && v[0] == '~') {
            struct vigil_regex_error e;
            c->re = vigil_regex_compile(v + 1, vlen - 1, &e);
            if (!c->re) {
                char w[64];
                snprintf(w, sizeof(w), "%s: pattern", what);
                regex_error(lf, vn, 1, &e, w);
                rc = -1;
            }
            continue;
        }
        size_t skip = vlen > 0 && v[0] == '=' ? 1 : 0;
        c->exact = strndup(v + skip, vlen - skip);
        c->exact_len = vlen - skip;
        if (!c->exact)
            rc = -1;
    }
    return rc;
}

static int load_tests(struct vigil_rule_file *lf, struct vigil_rule *r,
                      struct fy_node *seq)
{
    struct vigil_yaml *y = &lf->y;
    if (!vigil_yaml_is_seq(y, seq, "tests"))
        return -1;
    size_t cap = (size_t)fy_node_sequence_item_count(seq);
    r->tests = calloc(cap ? cap : 1, sizeof(*r->tests));
    if (!r->tests)
        return -1;
    int rc = 0;
    void *it = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(seq, &it)) && r->n_tests < cap) {
        struct fy_node *line = NULL, *expect = NULL;
        const struct vigil_yaml_key keys[] = {{"line", &line, true},
                                              {"expect", &expect, false},
                                              {NULL, NULL, false}};
        struct vigil_rule_test *t = &r->tests[r->n_tests];
        if (vigil_yaml_map(y, item, "test", keys) < 0)
            rc = -1;
        if (!line)
            continue;
        r->n_tests++;
        vigil_yaml_mark(item, &t->line, &t->col);
        t->expect_match = true;
        if (vigil_yaml_str(y, line, "test line", &t->text) < 0) {
            rc = -1;
            continue;
        }
        t->text_len = strlen(t->text);
        if (!expect)
            continue;
        if (fy_node_is_scalar(expect)) {
            size_t len;
            const char *s = fy_node_get_scalar(expect, &len);
            if (s && len == 8 && memcmp(s, "no-match", 8) == 0) {
                t->expect_match = false;
                continue;
            }
        }
        if (!fy_node_is_mapping(expect)) {
            vigil_yaml_error(y, expect,
                             "expect must be no-match or a mapping of "
                             "captures (or fields) to values");
            rc = -1;
            continue;
        }
        size_t n = (size_t)fy_node_mapping_item_count(expect);
        t->expects = calloc(n ? n : 1, sizeof(*t->expects));
        if (!t->expects)
            return -1;
        void *eit = NULL;
        struct fy_node_pair *p;
        while ((p = fy_node_mapping_iterate(expect, &eit)) &&
               t->n_expects < n) {
            struct vigil_expect *e = &t->expects[t->n_expects];
            if (ref_from_node(y, fy_node_pair_key(p), r, "expect", &e->ref) <
                    0 ||
                vigil_yaml_str(y, fy_node_pair_value(p), "expect", &e->value) <
                    0) {
                free((char *)e->ref.name.ptr);
                memset(e, 0, sizeof(*e));
                rc = -1;
                continue;
            }
            e->value_len = strlen(e->value);
            t->n_expects++;
        }
    }
    return rc;
}

static int load_pair(struct vigil_rule_file *lf, struct vigil_count_draft *d,
                     struct fy_node *node)
{
    struct vigil_yaml *y = &lf->y;
    struct fy_node *within = NULL;
    const struct vigil_yaml_key keys[] = {{"start", &d->start_node, true},
                                          {"end", &d->end_node, true},
                                          {"key", &d->key_node, true},
                                          {"within", &within, true},
                                          {NULL, NULL, false}};
    int rc = vigil_yaml_map(y, node, "pair", keys);
    if (d->start_node &&
        vigil_yaml_str(y, d->start_node, "pair start", &d->start) < 0)
        rc = -1;
    if (d->end_node && vigil_yaml_str(y, d->end_node, "pair end", &d->end) < 0)
        rc = -1;
    if (d->key_node && vigil_yaml_str(y, d->key_node, "pair key", &d->key) < 0)
        rc = -1;
    if (within &&
        vigil_yaml_duration(y, within, "pair within", &d->within_ms) < 0)
        rc = -1;
    return rc;
}

static const char *const count_kinds[] = {
    [VIGIL_COUNT_BY] = "by",
    [VIGIL_COUNT_DISTINCT] = "distinct",
    [VIGIL_COUNT_SUM] = "sum",
    [VIGIL_COUNT_PAIR] = "pair",
};

/* One entry of count: {counter: NAME[, by|distinct|sum|pair: ...]}. */
static int load_count(struct vigil_loader *l, struct vigil_rule_file *lf,
                      struct vigil_rule *r, struct fy_node *entry)
{
    struct vigil_yaml *y = &lf->y;
    if (!vigil_yaml_is_map(y, entry, "count entry"))
        return -1;
    struct vigil_count_draft d = {.file = lf, .rule = r, .entry = entry};
    struct fy_node *kind_key = NULL, *kind_value = NULL;
    int rc = 0;
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(entry, &it)) != NULL) {
        struct fy_node *kn = fy_node_pair_key(p);
        size_t len;
        const char *k = kn ? fy_node_get_scalar(kn, &len) : NULL;
        if (!k) {
            vigil_yaml_error(y, kn, "count entry: keys must be plain strings");
            rc = -1;
            continue;
        }
        if (len == 7 && memcmp(k, "counter", 7) == 0) {
            d.counter_node = fy_node_pair_value(p);
            continue;
        }
        int kind = -1;
        for (int i = VIGIL_COUNT_BY; i <= VIGIL_COUNT_PAIR; i++) {
            if (strlen(count_kinds[i]) == len &&
                memcmp(count_kinds[i], k, len) == 0)
                kind = i;
        }
        if (kind < 0) {
            vigil_yaml_error(y, kn,
                             "unknown count kind '%.*s': a count entry has "
                             "a counter and at most one of by, distinct, "
                             "sum, pair",
                             (int)len, k);
            rc = -1;
        } else if (kind_key) {
            vigil_yaml_error(y, kn,
                             "count entry has both '%s' and '%s': a counter "
                             "has exactly one kind",
                             count_kinds[d.kind], count_kinds[kind]);
            rc = -1;
        } else {
            kind_key = kn;
            kind_value = fy_node_pair_value(p);
            d.kind = (enum vigil_count_kind)kind;
        }
    }
    if (!d.counter_node) {
        vigil_yaml_error(y, entry,
                         "count entry: missing required key "
                         "'counter'");
        return -1;
    }
    size_t len;
    const char *name = vigil_yaml_scalar(y, d.counter_node, "counter", &len);
    if (!name)
        return -1;
    if (!vigil_rule_name_ok(name, len)) {
        vigil_yaml_error(y, d.counter_node,
                         "counter name '%.*s' must be 1 to %d letters, "
                         "digits, '_', '.' or '-'",
                         (int)len, name, NAME_MAX_LEN);
        return -1;
    }
    if (rc < 0)
        return -1;
    if (kind_key && d.kind == VIGIL_COUNT_PAIR) {
        if (load_pair(lf, &d, kind_value) < 0)
            rc = -1;
    } else if (kind_key) {
        if (ref_from_node(y, kind_value, r, count_kinds[d.kind], &d.ref) < 0)
            rc = -1;
    }
    d.counter = strndup(name, len);
    if (!d.counter || vigil_loader_add_count(l, &d) < 0) {
        vigil_count_draft_fini(&d);
        vigil_yaml_error(y, entry, "out of memory");
        return -1;
    }
    return rc;
}

static int load_counts(struct vigil_loader *l, struct vigil_rule_file *lf,
                       struct vigil_rule *r, struct fy_node *seq)
{
    if (!vigil_yaml_is_seq(&lf->y, seq, "count"))
        return -1;
    int rc = 0;
    void *it = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(seq, &it)) != NULL) {
        if (load_count(l, lf, r, item) < 0)
            rc = -1;
    }
    return rc;
}

static int load_severity(struct vigil_yaml *y, struct vigil_rule *r,
                         struct fy_node *node)
{
    size_t len;
    const char *s = vigil_yaml_scalar(y, node, "severity", &len);
    if (!s)
        return -1;
    if (vigil_severity_parse(s, len, &r->severity) < 0) {
        vigil_yaml_error(y, node,
                         "unknown severity '%.*s' (info, low, medium, high, "
                         "critical)",
                         (int)len, s);
        return -1;
    }
    return 0;
}

static int load_id(struct vigil_yaml *y, struct vigil_rule *r,
                   struct fy_node *node)
{
    if (vigil_yaml_str(y, node, "id", &r->id) < 0)
        return -1;
    if (!vigil_rule_name_ok(r->id, strlen(r->id))) {
        vigil_yaml_error(y, node,
                         "rule id '%s' must be 1 to %d letters, digits, "
                         "'_', '.' or '-'",
                         r->id, NAME_MAX_LEN);
        return -1;
    }
    return 0;
}

static void load_rule(struct vigil_loader *l, struct vigil_rule_file *lf,
                      const char *pack, struct fy_node *node)
{
    struct vigil_yaml *y = &lf->y;
    struct fy_node *id, *title, *severity, *field, *match, *when, *unless,
        *count, *record, *tags, *tests;
    const struct vigil_yaml_key keys[] = {{"id", &id, true},
                                          {"title", &title, true},
                                          {"severity", &severity, true},
                                          {"field", &field, false},
                                          {"match", &match, true},
                                          {"when", &when, false},
                                          {"unless", &unless, false},
                                          {"count", &count, false},
                                          {"record", &record, false},
                                          {"tags", &tags, false},
                                          {"tests", &tests, false},
                                          {NULL, NULL, false}};
    vigil_yaml_map(y, node, "rule", keys);
    if (!fy_node_is_mapping(node))
        return;

    struct vigil_rule *r = calloc(1, sizeof(*r));
    if (!r || vigil_loader_add_rule(l, r, lf, id) < 0) {
        free(r);
        vigil_yaml_error(y, node, "out of memory");
        return;
    }
    vigil_yaml_mark(node, &r->line, &r->col);
    r->file = strdup(y->file);
    r->pack = strdup(pack ? pack : "");
    if (!r->file || !r->pack)
        vigil_yaml_error(y, node, "out of memory");
    if (id)
        load_id(y, r, id);
    if (title)
        vigil_yaml_str(y, title, "title", &r->title);
    if (severity)
        load_severity(y, r, severity);
    if (field) {
        if (vigil_yaml_str(y, field, "field", &r->field) == 0 &&
            r->field[0] == '\0')
            vigil_yaml_error(y, field, "field must not be empty");
    } else {
        r->field = strdup("message");
    }
    if (match)
        load_pattern(lf, r, match);
    if (when)
        load_conds(lf, r, when, "when", &r->when, &r->n_when);
    if (unless)
        load_conds(lf, r, unless, "unless", &r->unless, &r->n_unless);
    if (count)
        load_counts(l, lf, r, count);
    if (record)
        vigil_yaml_bool(y, record, "record", &r->record);
    if (tags && vigil_yaml_strv(y, tags, "tags", &r->tags, &r->n_tags) < 0)
        r->tags = NULL;
    if (tests)
        load_tests(lf, r, tests);
}

/* Reads a whole file (bounded) into a NUL-terminated heap buffer. */
static char *read_file(const char *path, size_t *len, const char **why)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *why = strerror(errno);
        return NULL;
    }
    struct stat st;
    char *buf = NULL;
    if (fstat(fileno(f), &st) < 0) {
        *why = strerror(errno);
        goto out_close;
    }
    if (!S_ISREG(st.st_mode)) {
        *why = "not a regular file";
        goto out_close;
    }
    if ((unsigned long long)st.st_size > RULE_FILE_MAX) {
        *why = "file too large for a rule file";
        goto out_close;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        *why = "out of memory";
        goto out_close;
    }
    *len = fread(buf, 1, (size_t)st.st_size, f);
    if (ferror(f)) {
        *why = "read error";
        free(buf);
        buf = NULL;
        goto out_close;
    }
    buf[*len] = '\0';
out_close:
    fclose(f);
    return buf;
}

int vigil_rule_file_read(struct vigil_rule_file *lf, const char *path,
                         struct vigil_diags *diags)
{
    const char *why = NULL;
    lf->text = read_file(path, &lf->len, &why);
    if (!lf->text) {
        vigil_diags_add(diags, path, 0, 0, "cannot read rule file: %s", why);
        return -1;
    }
    return 0;
}

/*
 * Offset of the first byte of text that is not well-formed UTF-8, or len.
 * libfyaml 0.7.12 loops forever on some malformed input (a directive line
 * with a 0xff byte), and YAML is UTF-8 anyway: such files are refused
 * before parsing.
 */
static size_t utf8_prefix(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)text[i];
        size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (n > len - i || !vigil_utf8_valid(text + i, n))
            return i;
        i += n;
    }
    return len;
}

/*
 * Offset of the first block-context explicit key ("? key" at the start of
 * a line, possibly after "- "), or len. libfyaml 0.7.12 crashes in
 * fy_parser_destroy() on "? b:\t? :" (reproduced without vigil); rule
 * files never need explicit keys, so they are refused before parsing.
 */
static size_t explicit_key(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t k = i;
        while (k < len && (text[k] == ' ' || text[k] == '-') &&
               (text[k] == ' ' ||
                (k + 1 < len && (text[k + 1] == ' ' || text[k + 1] == '\t'))))
            k++;
        if (k < len && text[k] == '?' &&
            (k + 1 == len || text[k + 1] == ' ' || text[k + 1] == '\t' ||
             text[k + 1] == '\n' || text[k + 1] == '\r'))
            return k;
        const char *nl = memchr(text + i, '\n', len - i);
        if (!nl)
            break;
        i = (size_t)(nl - text) + 1;
    }
    return len;
}

/* Reports a problem at byte offset at of the text. */
static void text_error(struct vigil_loader *l, struct vigil_rule_file *lf,
                       const char *name, size_t at, const char *msg)
{
    int line = 1, col = 1;
    for (size_t i = 0; i < at; i++) {
        if (lf->text[i] == '\n') {
            line++;
            col = 1;
        } else if ((lf->text[i] & 0xC0) != 0x80) {
            col++;
        }
    }
    vigil_diags_add(l->diags, name, line, col, "%s", msg);
    l->failed = true;
}

/* True when text holds nothing but blanks and comments. */
static bool blank(const char *text, size_t len)
{
    bool comment = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '\n')
            comment = false;
        else if (c == '#')
            comment = true;
        else if (!comment && c != ' ' && c != '\t' && c != '\r')
            return false;
    }
    return true;
}

void vigil_rule_file_load(struct vigil_loader *l, struct vigil_rule_file *lf,
                          const char *name)
{
    size_t bad = utf8_prefix(lf->text, lf->len);
    if (bad < lf->len) {
        char msg[64];
        snprintf(msg, sizeof(msg), "not valid UTF-8 (byte 0x%02x)",
                 (unsigned char)lf->text[bad]);
        text_error(l, lf, name, bad, msg);
        return;
    }
    bad = explicit_key(lf->text, lf->len);
    if (bad < lf->len) {
        text_error(l, lf, name, bad,
                   "explicit keys ('? key') are not supported in rule files");
        return;
    }
    if (blank(lf->text, lf->len)) {
        vigil_diags_add(l->diags, name, 1, 1,
                        "empty rule file: expected pack and rules");
        l->failed = true;
        return;
    }
    if (vigil_yaml_load_string(&lf->y, name, lf->text, lf->len, l->diags) < 0) {
        l->failed = true;
        return;
    }
    lf->parsed = true;
    struct vigil_yaml *y = &lf->y;
    struct fy_node *root = vigil_yaml_root(y);
    if (!root) {
        vigil_diags_add(l->diags, name, 1, 1,
                        "empty rule file: expected pack and rules");
        y->errors++;
        return;
    }
    struct fy_node *pack, *description, *rules;
    const struct vigil_yaml_key keys[] = {{"pack", &pack, true},
                                          {"description", &description, false},
                                          {"rules", &rules, true},
                                          {NULL, NULL, false}};
    vigil_yaml_map(y, root, "rule file", keys);
    char *pack_name = NULL;
    if (pack && vigil_yaml_str(y, pack, "pack", &pack_name) == 0 &&
        !vigil_rule_name_ok(pack_name, strlen(pack_name)))
        vigil_yaml_error(y, pack,
                         "pack name '%s' must be 1 to %d letters, digits, "
                         "'_', '.' or '-'",
                         pack_name, NAME_MAX_LEN);
    if (description) {
        size_t len;
        vigil_yaml_scalar(y, description, "description", &len);
    }
    if (rules && vigil_yaml_is_seq(y, rules, "rules")) {
        void *it = NULL;
        struct fy_node *item;
        while ((item = fy_node_sequence_iterate(rules, &it)) != NULL)
            load_rule(l, lf, pack_name, item);
    }
    free(pack_name);
}
