/*
 * libFuzzer target for the CEF decoder plugin (plugins/decoder_cef/cef.c,
 * linked in and registered through the loader, so the host table is the
 * real one).
 *
 * Each input is decoded as it is and behind a valid CEF header (to reach
 * the extension parser with any bytes), and the contract is checked: a
 * decoded event has the seven cef.* header fields and `message`, the
 * whole line without its line ending; every other field name is a key
 * ([A-Za-z0-9_.-]+) that occurs in the line right before a '='; no value
 * is longer than the line; every name and value is UTF-8; a failure
 * leaves no fields and gives a reason; decoding is deterministic. A
 * violation aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "plugin_loader.h"
#include "prefilter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct vigil_plugin_v1 vigil_plugin_v1;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

static const char *const header[] = {
    "cef.version",        "cef.device_vendor", "cef.device_product",
    "cef.device_version", "cef.signature_id",  "cef.name",
    "cef.severity",
};

static struct vigil_decoder *decoder(void)
{
    static struct vigil_plugins *reg;
    static struct vigil_decoder *dec;
    if (dec)
        return dec;
    reg = vigil_plugins_create(NULL);
    struct vigil_diags d = {0};
    struct vigil_plugin_source src = {.path = "decoder_cef (linked in)"};
    CHECK(reg && vigil_plugins_add(reg, &vigil_plugin_v1, &src, &d) == 0);
    struct vigil_decode_options o = {.format = VIGIL_FORMAT_AUTO};
    dec = vigil_decoder_create(&o);
    CHECK(dec);
    vigil_decoder_set_custom(
        dec, vigil_plugin_decode,
        vigil_plugins_find(reg, VIGIL_PLUGIN_DECODER, "cef"));
    return dec;
}

static bool is_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* True when s[0..n) contains needle[0..m) followed by '='. */
static bool has_key(const char *s, size_t n, const char *needle, size_t m)
{
    for (size_t i = 0; i + m < n; i++)
        if (memcmp(s + i, needle, m) == 0 && s[i + m] == '=')
            return true;
    return false;
}

static void check(const char *p, size_t size, struct vigil_event *ev, int rc,
                  const char *reason)
{
    if (rc < 0) {
        CHECK(reason && ev->n_fields == 0);
        return;
    }
    size_t line = size;
    while (line > 0 && (p[line - 1] == '\n' || p[line - 1] == '\r'))
        line--;
    const struct vigil_field *m = vigil_event_find(ev, VIGIL_SV("message"));
    CHECK(m && m->value.ptr == p && m->value.len == line);
    for (size_t i = 0; i < 7; i++)
        CHECK(vigil_event_find(
            ev, (struct vigil_sv){header[i], strlen(header[i])}));
    for (size_t i = 0; i < ev->n_fields; i++) {
        const struct vigil_field *f = &ev->fields[i];
        CHECK(f->kind == VIGIL_FIELD_STRING && !f->escaped);
        CHECK(f->name.len > 0 && f->value.len <= line);
        CHECK(vigil_utf8_valid(f->name.ptr, f->name.len));
        CHECK(vigil_utf8_valid(f->value.ptr, f->value.len));
        if (i + 8 >= ev->n_fields)
            continue; /* the header fields and message come last */
        for (size_t k = 0; k < f->name.len; k++)
            CHECK(is_key_char(f->name.ptr[k]));
        CHECK(has_key(p, line, f->name.ptr, f->name.len));
    }
}

/* The fields as one comparable string. */
static char *snapshot(const struct vigil_event *ev)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    CHECK(f);
    for (size_t i = 0; i < ev->n_fields; i++) {
        fwrite(ev->fields[i].name.ptr, 1, ev->fields[i].name.len, f);
        fputc(0, f);
        fwrite(ev->fields[i].value.ptr, 1, ev->fields[i].value.len, f);
        fputc(0, f);
    }
    fprintf(f, "%lld", (long long)ev->time_ms);
    fclose(f);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vigil_decoder *dec = decoder();
    const char *p = (const char *)data;
    struct vigil_event ev;
    vigil_event_init(&ev);

    const char *reason = NULL;
    int rc = vigil_decode(dec, p, size, 42, &ev, &reason);
    check(p, size, &ev, rc, reason);
    char *first = snapshot(&ev);
    rc = vigil_decode(dec, p, size, 42, &ev, &reason);
    char *second = snapshot(&ev);
    CHECK(strcmp(first, second) == 0);
    free(first);
    free(second);

    /* The same bytes as the extension of a valid header. */
    static const char hdr[] = "CEF:0|v|p|1|sig|name|5|";
    char *line = malloc(sizeof(hdr) - 1 + size);
    CHECK(line);
    memcpy(line, hdr, sizeof(hdr) - 1);
    if (size)
        memcpy(line + sizeof(hdr) - 1, p, size);
    size_t n = sizeof(hdr) - 1 + size;
    rc = vigil_decode(dec, line, n, 42, &ev, &reason);
    check(line, n, &ev, rc, reason);
    if (rc < 0)
        CHECK(strcmp(reason, "not UTF-8") == 0 ||
              strcmp(reason, "too many fields") == 0);
    free(line);
    vigil_event_fini(&ev);
    return 0;
}
