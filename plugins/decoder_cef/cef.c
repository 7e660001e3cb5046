/*
 * decoder_cef: ArcSight Common Event Format lines as vigil events.
 *
 *   [syslog prefix ]CEF:Version|Device Vendor|Device Product|Device Version|
 *       Signature ID|Name|Severity|key=value key=value ...
 *
 * Header fields become cef.version, cef.device_vendor, cef.device_product,
 * cef.device_version, cef.signature_id, cef.name and cef.severity (with
 * "\|" and "\\" unescaped; any other backslash is kept); each extension
 * key becomes a field of that name (src, dst, suser, act, ...), its value
 * with "\=", "\\", "\n" and "\r" unescaped. A value may hold spaces: it
 * ends at the last space before the next `key=` (an unescaped '=' after a
 * run of [A-Za-z0-9_.-] that follows a space); trailing blanks are
 * dropped. `message` is the whole line. A numeric or RFC 3339 `rt` sets
 * the event time. Values are views into the line unless they held escapes.
 *
 * Stateless after init, so decode is thread-safe. README.md has examples.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vigil/plugin.h>

#define HEADER_FIELDS 7

struct cef {
    const struct vigil_host_api *host;
};

static const char *const header_names[HEADER_FIELDS] = {
    "cef.version",        "cef.device_vendor", "cef.device_product",
    "cef.device_version", "cef.signature_id",  "cef.name",
    "cef.severity",
};

struct span {
    size_t from, to; /* data[from..to) */
    bool escaped;    /* holds a backslash */
};

static bool is_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

/*
 * Where "CEF:" starts: at the beginning of the line or after a character
 * that cannot be part of a word (a syslog prefix ends in ' ' or ':').
 * len when there is none.
 */
static size_t find_marker(const char *s, size_t len)
{
    for (size_t i = 0; i + 4 <= len; i++) {
        if (s[i] == 'C' && memcmp(s + i, "CEF:", 4) == 0 &&
            (i == 0 || !is_alnum(s[i - 1])))
            return i;
    }
    return len;
}

/* Unescapes a header field: "\|" -> "|", "\\" -> "\", others kept. */
static size_t unescape_header(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n && (s[i + 1] == '|' || s[i + 1] == '\\'))
            i++;
        out[o++] = s[i];
    }
    return o;
}

/* Unescapes an extension value: \= \\ \n \r; others kept. */
static size_t unescape_value(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            char c = s[i + 1];
            if (c == '=' || c == '\\') {
                out[o++] = c;
                i++;
                continue;
            }
            if (c == 'n' || c == 'r') {
                out[o++] = c == 'n' ? '\n' : '\r';
                i++;
                continue;
            }
        }
        out[o++] = s[i];
    }
    return o;
}

/* Adds name = data[sp], unescaped when needed. */
static void add(const struct vigil_host_api *h, struct vigil_plugin_event *ev,
                const char *name, size_t name_len, const char *data,
                struct span sp, bool header)
{
    const char *v = data + sp.from;
    size_t n = sp.to - sp.from;
    if (sp.escaped) {
        char *buf = h->event_alloc(ev, n);
        if (!buf) {
            /* Refused on purpose, so the host fails the decode. */
            h->event_add(ev, name, name_len, NULL, 1);
            return;
        }
        n = header ? unescape_header(v, n, buf) : unescape_value(v, n, buf);
        v = buf;
    }
    h->event_add(ev, name, name_len, v, n);
}

/*
 * The key that ends at the unescaped '=' at eq, if it starts the next
 * pair: a run of key characters right after a space (or at from, the
 * extension's start). *key gets where the key starts.
 */
static bool key_before(const char *s, size_t from, size_t eq, size_t *key)
{
    size_t k = eq;
    while (k > from && is_key_char(s[k - 1]))
        k--;
    if (k == eq || (k > from && s[k - 1] != ' '))
        return false;
    *key = k;
    return true;
}

static size_t trim_end(const char *s, size_t from, size_t to)
{
    while (to > from && (s[to - 1] == ' ' || s[to - 1] == '\t'))
        to--;
    return to;
}

/* Adds every key=value pair of data[from..len). */
static void extension(const struct vigil_host_api *h,
                      struct vigil_plugin_event *ev, const char *s, size_t from,
                      size_t len)
{
    bool have = false;      /* a pair is open */
    size_t key = 0, eq = 0; /* of the open pair */
    bool escaped = false;   /* its value holds a backslash */
    for (size_t i = from; i <= len; i++) {
        size_t k = 0;
        bool next = i == len;
        if (!next && s[i] == '\\') {
            escaped = true;
            if (i + 1 < len)
                i++; /* the escaped character never delimits */
            continue;
        }
        if (!next && s[i] == '=')
            next = key_before(s, from, i, &k);
        if (!next)
            continue;
        if (have) {
            /* The value ends at the space before the next key. */
            size_t end = i == len ? len : k - 1;
            if (end < eq + 1)
                end = eq + 1;
            struct span v = {eq + 1, trim_end(s, eq + 1, end), escaped};
            add(h, ev, s + key, eq - key, s, v, false);
        }
        have = i < len;
        key = k;
        eq = i;
        escaped = false;
    }
}

static int cef_decode(void *state, const char *data, size_t len,
                      struct vigil_plugin_event *ev, const char **reason)
{
    const struct vigil_host_api *h = ((struct cef *)state)->host;
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    size_t start = find_marker(data, len);
    if (start == len) {
        *reason = "not CEF: no CEF: header";
        return -1;
    }
    struct span hdr[HEADER_FIELDS];
    size_t i = start + 4, ext = len;
    for (size_t f = 0; f < HEADER_FIELDS; f++) {
        hdr[f] = (struct span){i, i, false};
        while (i < len && data[i] != '|') {
            if (data[i] == '\\' && i + 1 < len) {
                hdr[f].escaped = true;
                i++;
            }
            i++;
        }
        hdr[f].to = i;
        if (i == len && f < HEADER_FIELDS - 1) {
            *reason = "not CEF: fewer than 7 header fields";
            return -1;
        }
        i++; /* past '|' (or past the end after the severity) */
    }
    ext = i < len ? i : len;
    struct span v = hdr[0];
    if (v.from == v.to) {
        *reason = "not CEF: no version";
        return -1;
    }
    for (size_t k = v.from; k < v.to; k++) {
        if (!(data[k] >= '0' && data[k] <= '9') && data[k] != '.') {
            *reason = "not CEF: bad version";
            return -1;
        }
    }

    /* Extension first, so that a key cannot shadow a header field. */
    extension(h, ev, data, ext, len);
    for (size_t f = 0; f < HEADER_FIELDS; f++)
        add(h, ev, header_names[f], strlen(header_names[f]), data, hdr[f],
            true);
    h->event_add(ev, "message", 7, data, len);

    const char *rt;
    size_t rt_len;
    int64_t ms;
    if (h->event_get(ev, "rt", 2, &rt, &rt_len) == 0 &&
        h->parse_time(rt, rt_len, &ms) == 0)
        h->event_set_time(ev, ms);
    return 0;
}

static int cef_init(const struct vigil_host_api *host,
                    const struct vigil_plugin_kv *config, size_t n_config,
                    void **state, char *err, size_t errlen)
{
    if (n_config > 0) {
        /* Nothing to configure: a key is a mistake worth reporting. */
        snprintf(err, errlen, "unknown config key '%s' (cef takes none)",
                 config[0].key);
        return -1;
    }
    struct cef *c = malloc(sizeof(*c));
    if (!c)
        return -1;
    c->host = host;
    *state = c;
    return 0;
}

static void cef_destroy(void *state)
{
    free(state);
}

VIGIL_PLUGIN_EXPORT const struct vigil_plugin_v1 vigil_plugin_v1 = {
    .abi_major = VIGIL_PLUGIN_ABI_MAJOR,
    .struct_size = sizeof(struct vigil_plugin_v1),
    .abi_minor = VIGIL_PLUGIN_ABI_MINOR,
    .kind = VIGIL_PLUGIN_DECODER,
    .name = "cef",
    .version = "1.0.0",
    .init = cef_init,
    .destroy = cef_destroy,
    .decode = cef_decode,
};
