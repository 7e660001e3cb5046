/*
 * decoder_leef: IBM QRadar Log Event Extended Format lines as vigil events.
 *
 *   [syslog prefix ]LEEF:1.0|Vendor|Product|Version|EventID|k=v<TAB>k=v...
 *   [syslog prefix ]LEEF:2.0|Vendor|Product|Version|EventID|Delim|k=v...
 *
 * Header fields become leef.version, leef.vendor, leef.product,
 * leef.product_version and leef.event_id ("\|" and "\\" unescaped), and
 * for 2.0 leef.delimiter (the delimiter field as written). Attributes are
 * separated by a tab (1.0) or by the 2.0 delimiter: one character, or its
 * code as xHH or 0xHH (x09 is a tab); empty means tab. Each attribute
 * `key=value` (split at the first '=') becomes a field named key (devTime,
 * src, dst, usrName, ...), its value verbatim; parts without '=' are
 * skipped. `message` is the whole line. A numeric or RFC 3339 devTime
 * sets the event time. Every value is a view into the line (zero-copy),
 * except header fields that held escapes.
 *
 * Stateless after init, so decode is thread-safe. README.md has examples.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vigil/plugin.h>

struct leef {
    const struct vigil_host_api *host;
};

static const char *const header_names[] = {
    "leef.vendor",
    "leef.product",
    "leef.product_version",
    "leef.event_id",
};
#define HEADER_FIELDS (sizeof(header_names) / sizeof(header_names[0]))

struct span {
    size_t from, to; /* data[from..to) */
    bool escaped;    /* holds a backslash */
};

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

/* Where "LEEF:" starts (at the start or after a non-word character). */
static size_t find_marker(const char *s, size_t len)
{
    for (size_t i = 0; i + 5 <= len; i++) {
        if (s[i] == 'L' && memcmp(s + i, "LEEF:", 5) == 0 &&
            (i == 0 || !is_alnum(s[i - 1])))
            return i;
    }
    return len;
}

/* The header field that starts at *i, up to an unescaped '|'. */
static bool header_field(const char *s, size_t len, size_t *i, struct span *out)
{
    *out = (struct span){*i, *i, false};
    size_t j = *i;
    while (j < len && s[j] != '|') {
        if (s[j] == '\\' && j + 1 < len) {
            out->escaped = true;
            j++;
        }
        j++;
    }
    out->to = j;
    *i = j < len ? j + 1 : len;
    return j < len; /* ended by '|' */
}

static void add_header(const struct vigil_host_api *h,
                       struct vigil_plugin_event *ev, const char *name,
                       const char *s, struct span sp)
{
    const char *v = s + sp.from;
    size_t n = sp.to - sp.from;
    if (sp.escaped) {
        char *buf = h->event_alloc(ev, n);
        if (!buf) {
            h->event_add(ev, name, strlen(name), NULL, 1); /* fails decode */
            return;
        }
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
            if (v[i] == '\\' && i + 1 < n &&
                (v[i + 1] == '|' || v[i + 1] == '\\'))
                i++;
            buf[o++] = v[i];
        }
        v = buf;
        n = o;
    }
    h->event_add(ev, name, strlen(name), v, n);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The 2.0 delimiter from its field: '\t' when empty; -1 when invalid. */
static int delimiter(const char *s, size_t n)
{
    if (n == 0)
        return '\t';
    if (n == 1)
        return s[0] == '=' || (unsigned char)s[0] >= 0x80 ? -1 : s[0];
    size_t i = 0;
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        i = 2;
    else if (s[0] == 'x' || s[0] == 'X')
        i = 1;
    else
        return -1;
    if (n - i > 2)
        return -1;
    int v = 0;
    for (; i < n; i++) {
        int d = hex_digit(s[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v == 0 || v == '=' || v >= 0x80 ? -1 : v;
}

static void attributes(const struct vigil_host_api *h,
                       struct vigil_plugin_event *ev, const char *s,
                       size_t from, size_t len, char delim)
{
    size_t i = from;
    while (i < len) {
        size_t end = i;
        while (end < len && s[end] != delim)
            end++;
        const char *eq = memchr(s + i, '=', end - i);
        if (eq && eq > s + i) {
            size_t k = (size_t)(eq - s);
            h->event_add(ev, s + i, k - i, eq + 1, end - k - 1);
        }
        i = end + 1;
    }
}

static int leef_decode(void *state, const char *data, size_t len,
                       struct vigil_plugin_event *ev, const char **reason)
{
    const struct vigil_host_api *h = ((struct leef *)state)->host;
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    size_t start = find_marker(data, len);
    if (start == len) {
        *reason = "not LEEF: no LEEF: header";
        return -1;
    }
    size_t i = start + 5;
    struct span version;
    if (!header_field(data, len, &i, &version)) {
        *reason = "not LEEF: fewer than 5 header fields";
        return -1;
    }
    const char *v = data + version.from;
    size_t vn = version.to - version.from;
    bool v2;
    if ((vn == 3 && memcmp(v, "1.0", 3) == 0) || (vn == 1 && v[0] == '1'))
        v2 = false;
    else if ((vn == 3 && memcmp(v, "2.0", 3) == 0) || (vn == 1 && v[0] == '2'))
        v2 = true;
    else {
        *reason = "not LEEF: unsupported version";
        return -1;
    }
    struct span hdr[HEADER_FIELDS];
    for (size_t f = 0; f < HEADER_FIELDS; f++) {
        if (!header_field(data, len, &i, &hdr[f]) && f < HEADER_FIELDS - 1) {
            *reason = "not LEEF: fewer than 5 header fields";
            return -1;
        }
    }
    char delim = '\t';
    struct span dspan = {i, i, false};
    if (v2) {
        /*
         * Without a further '|', or when what precedes it holds a '=' (an
         * attribute), there is no delimiter field: tabs.
         */
        size_t j = i;
        if (i < len && memchr(data + i, '|', len - i) &&
            header_field(data, len, &j, &dspan) &&
            !memchr(data + dspan.from, '=', dspan.to - dspan.from)) {
            int d = delimiter(data + dspan.from, dspan.to - dspan.from);
            if (d < 0) {
                *reason = "not LEEF: invalid 2.0 delimiter";
                return -1;
            }
            delim = (char)d;
            i = j;
        }
    }

    attributes(h, ev, data, i, len, delim);
    h->event_add(ev, "leef.version", 12, v, vn);
    for (size_t f = 0; f < HEADER_FIELDS; f++)
        add_header(h, ev, header_names[f], data, hdr[f]);
    if (v2)
        h->event_add(ev, "leef.delimiter", 14, data + dspan.from,
                     dspan.to - dspan.from);
    h->event_add(ev, "message", 7, data, len);

    const char *t;
    size_t tn;
    int64_t ms;
    if (h->event_get(ev, "devTime", 7, &t, &tn) == 0 &&
        h->parse_time(t, tn, &ms) == 0)
        h->event_set_time(ev, ms);
    return 0;
}

static int leef_init(const struct vigil_host_api *host,
                     const struct vigil_plugin_kv *config, size_t n_config,
                     void **state, char *err, size_t errlen)
{
    if (n_config > 0) {
        snprintf(err, errlen, "unknown config key '%s' (leef takes none)",
                 config[0].key);
        return -1;
    }
    struct leef *l = malloc(sizeof(*l));
    if (!l)
        return -1;
    l->host = host;
    *state = l;
    return 0;
}

static void leef_destroy(void *state)
{
    free(state);
}

VIGIL_PLUGIN_EXPORT const struct vigil_plugin_v1 vigil_plugin_v1 = {
    .abi_major = VIGIL_PLUGIN_ABI_MAJOR,
    .struct_size = sizeof(struct vigil_plugin_v1),
    .abi_minor = VIGIL_PLUGIN_ABI_MINOR,
    .kind = VIGIL_PLUGIN_DECODER,
    .name = "leef",
    .version = "1.0.0",
    .init = leef_init,
    .destroy = leef_destroy,
    .decode = leef_decode,
};
