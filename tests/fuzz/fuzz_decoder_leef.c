/*
 * libFuzzer target for the LEEF decoder plugin
 * (plugins/decoder_leef/leef.c, linked in and registered through the
 * loader, so the host table is the real one).
 *
 * Each input is decoded as it is and behind valid LEEF 1.0 and 2.0
 * headers (to reach the attribute parser with any bytes), and the
 * contract is checked: a decoded event has the leef.* header fields (and
 * leef.delimiter exactly for 2.0) and `message`, the whole line without
 * its line ending; every other field name is non-empty, holds no '=' and
 * occurs in the line right before a '='; every value is a view into the
 * line; names and values are UTF-8; a failure leaves no fields and gives a
 * reason; decoding is deterministic. A violation aborts.
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
    "leef.version",         "leef.vendor",   "leef.product",
    "leef.product_version", "leef.event_id",
};

static struct vigil_decoder *decoder(void)
{
    static struct vigil_plugins *reg;
    static struct vigil_decoder *dec;
    if (dec)
        return dec;
    reg = vigil_plugins_create(NULL);
    struct vigil_diags d = {0};
    struct vigil_plugin_source src = {.path = "decoder_leef (linked in)"};
    CHECK(reg && vigil_plugins_add(reg, &vigil_plugin_v1, &src, &d) == 0);
    struct vigil_decode_options o = {.format = VIGIL_FORMAT_AUTO};
    dec = vigil_decoder_create(&o);
    CHECK(dec);
    vigil_decoder_set_custom(
        dec, vigil_plugin_decode,
        vigil_plugins_find(reg, VIGIL_PLUGIN_DECODER, "leef"));
    return dec;
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
    /* The header fields and message come last, in this order. */
    size_t n = ev->n_fields;
    CHECK(n >= 6);
    bool v2 = vigil_sv_eq(ev->fields[n - 2].name, VIGIL_SV("leef.delimiter"));
    size_t trailing = v2 ? 7 : 6;
    CHECK(n >= trailing);
    for (size_t i = 0; i < 5; i++)
        CHECK(vigil_sv_eq(ev->fields[n - trailing + i].name,
                          (struct vigil_sv){header[i], strlen(header[i])}));
    const struct vigil_field *v = &ev->fields[n - trailing];
    CHECK(v2 == (v->value.len > 0 && v->value.ptr[0] == '2'));
    CHECK(ev->fields[n - 1].name.ptr == m->name.ptr);
    for (size_t i = 0; i < ev->n_fields; i++) {
        const struct vigil_field *f = &ev->fields[i];
        CHECK(f->kind == VIGIL_FIELD_STRING && !f->escaped);
        CHECK(f->name.len > 0 && f->value.len <= line);
        CHECK(vigil_utf8_valid(f->name.ptr, f->name.len));
        CHECK(vigil_utf8_valid(f->value.ptr, f->value.len));
        if (i + trailing >= ev->n_fields)
            continue;
        CHECK(!memchr(f->name.ptr, '=', f->name.len));
        CHECK(f->name.ptr >= p && f->name.ptr + f->name.len < p + line);
        CHECK(f->name.ptr[f->name.len] == '=');
        /* An empty value need not point anywhere in particular. */
        CHECK(f->value.len == 0 ||
              f->value.ptr == f->name.ptr + f->name.len + 1);
        CHECK(f->value.ptr + f->value.len <= p + line);
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

    /* The same bytes as the attributes of valid headers. */
    static const char *const hdrs[] = {"LEEF:1.0|v|p|1|id|",
                                       "LEEF:2.0|v|p|1|id|^|"};
    for (size_t h = 0; h < 2; h++) {
        size_t hl = strlen(hdrs[h]);
        char *line = malloc(hl + size);
        CHECK(line);
        memcpy(line, hdrs[h], hl);
        if (size)
            memcpy(line + hl, p, size);
        rc = vigil_decode(dec, line, hl + size, 42, &ev, &reason);
        check(line, hl + size, &ev, rc, reason);
        if (rc < 0)
            CHECK(strcmp(reason, "not UTF-8") == 0 ||
                  strcmp(reason, "too many fields") == 0);
        free(line);
    }
    vigil_event_fini(&ev);
    return 0;
}
