/*
 * decoder_leef, loaded from the built shared object: IBM's LEEF 1.0 and
 * 2.0 examples, delimiters, the syslog header, devTime and what is not
 * LEEF.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "plugin_loader.h"

static struct vigil_plugins *reg;
static struct vigil_decoder *dec;
static struct vigil_event ev;

static void setup(void)
{
    reg = vigil_plugins_create(NULL);
    struct vigil_diags d = {0};
    struct vigil_plugin_source src = {.path = VIGIL_PLUGIN_PATH_DECODER_LEEF};
    cr_assert_eq(vigil_plugins_open(reg, &src, &d), 0, "%s",
                 d.n ? d.v[0].msg : "");
    vigil_diags_fini(&d);
    struct vigil_decode_options o = {.format = VIGIL_FORMAT_AUTO,
                                     .time_field = "@timestamp"};
    dec = vigil_decoder_create(&o);
    vigil_decoder_set_custom(
        dec, vigil_plugin_decode,
        vigil_plugins_find(reg, VIGIL_PLUGIN_DECODER, "leef"));
    vigil_event_init(&ev);
}

static void teardown(void)
{
    vigil_event_fini(&ev);
    vigil_decoder_destroy(dec);
    vigil_plugins_destroy(reg);
}

TestSuite(plugin_leef, .init = setup, .fini = teardown);

/* Decodes line; every field but message as "name=value\n", in order. */
static char *fields(const char *line)
{
    const char *why = NULL;
    int rc = vigil_decode(dec, line, strlen(line), 7, &ev, &why);
    cr_assert_eq(rc, 0, "%s: %s", line, why ? why : "");
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    for (size_t i = 0; i < ev.n_fields; i++) {
        const struct vigil_field *fl = &ev.fields[i];
        if (vigil_sv_eq(fl->name, VIGIL_SV("message")))
            continue;
        fprintf(f, "%.*s=%.*s\n", (int)fl->name.len, fl->name.ptr,
                (int)fl->value.len, fl->value.ptr);
    }
    fclose(f);
    return out;
}

static void assert_fields(const char *line, const char *want)
{
    char *got = fields(line);
    cr_assert_str_eq(got, want, "line: %s", line);
    free(got);
}

static const char *reason(const char *line)
{
    const char *why = NULL;
    cr_assert_eq(vigil_decode(dec, line, strlen(line), 7, &ev, &why), -1);
    return why;
}

Test(plugin_leef, decodes_the_ibm_leef_1_0_example)
{
    const char *line =
        "LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst="
        "172.50.123.1\tsev=5\tcat=anomaly\tsrcPort=81\tdstPort=21\tusrName="
        "joe.black";
    assert_fields(line, "src=192.0.2.0\n"
                        "dst=172.50.123.1\n"
                        "sev=5\n"
                        "cat=anomaly\n"
                        "srcPort=81\n"
                        "dstPort=21\n"
                        "usrName=joe.black\n"
                        "leef.version=1.0\n"
                        "leef.vendor=Microsoft\n"
                        "leef.product=MSExchange\n"
                        "leef.product_version=4.0 SP1\n"
                        "leef.event_id=15345\n");
    const struct vigil_field *m = vigil_event_find(&ev, VIGIL_SV("message"));
    cr_assert(vigil_sv_eq(m->value, (struct vigil_sv){line, strlen(line)}));
    const struct vigil_field *f = vigil_event_find(&ev, VIGIL_SV("usrName"));
    cr_assert(f->value.ptr >= line && f->value.ptr < line + strlen(line),
              "attribute values are views into the line");
}

Test(plugin_leef, decodes_leef_2_0_with_a_caret_after_a_syslog_header)
{
    assert_fields("Jan 18 11:07:53 192.168.1.1 LEEF:2.0|Lancope|StealthWatch|"
                  "1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^srcPort=81^"
                  "dstPort=21",
                  "src=10.0.1.8\n"
                  "dst=10.0.0.5\n"
                  "sev=5\n"
                  "srcPort=81\n"
                  "dstPort=21\n"
                  "leef.version=2.0\n"
                  "leef.vendor=Lancope\n"
                  "leef.product=StealthWatch\n"
                  "leef.product_version=1.0\n"
                  "leef.event_id=41\n"
                  "leef.delimiter=^\n");
}

Test(plugin_leef, reads_hex_delimiters_and_defaults_to_tab)
{
    const char *const lines[] = {
        "LEEF:2.0|V|P|1|E|x09|a=1\tb=x y", "LEEF:2.0|V|P|1|E|0x09|a=1\tb=x y",
        "LEEF:2.0|V|P|1|E||a=1\tb=x y",    "LEEF:2.0|V|P|1|E|a=1\tb=x y",
        "LEEF:2|V|P|1|E|\t|a=1\tb=x y",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        char *got = fields(lines[i]);
        cr_assert_eq(strncmp(got, "a=1\nb=x y\nleef.version=", 22), 0,
                     "%s -> %s", lines[i], got);
        free(got);
    }
    char *got = fields("LEEF:2.0|V|P|1|E|0x5E|a=1^b=2");
    cr_assert_eq(strncmp(got, "a=1\nb=2\n", 8), 0, "%s", got);
    free(got);
}

Test(plugin_leef, splits_attributes_at_the_first_equals_and_skips_junk)
{
    char *got = fields("LEEF:1.0|V|P|1|E|url=http://a/?b=c\t\tjunk\t=x\tk=");
    cr_assert_eq(strncmp(got, "url=http://a/?b=c\nk=\nleef.version=1.0\n", 37),
                 0, "%s", got);
    free(got);
}

Test(plugin_leef, unescapes_the_header_and_takes_a_header_without_attributes)
{
    assert_fields("LEEF:1.0|Ven\\|dor|P\\\\Q|1|E|", "leef.version=1.0\n"
                                                    "leef.vendor=Ven|dor\n"
                                                    "leef.product=P\\Q\n"
                                                    "leef.product_version=1\n"
                                                    "leef.event_id=E\n");
    assert_fields("LEEF:1.0|V|P|1|E\r\n", "leef.version=1.0\n"
                                          "leef.vendor=V\n"
                                          "leef.product=P\n"
                                          "leef.product_version=1\n"
                                          "leef.event_id=E\n");
}

Test(plugin_leef, sets_the_event_time_from_devtime)
{
    char *got = fields("LEEF:2.0|IBM|QRadar|7.5.0|NewEvent|^|devTime="
                       "1783085000000^src=203.0.113.66");
    free(got);
    cr_assert_eq(ev.time_ms, 1783085000000);
    got = fields("LEEF:1.0|V|P|1|E|devTime=Jan 18 2019 11:07:53\tsrc=1");
    free(got);
    cr_assert_eq(ev.time_ms, 7, "devTimeFormat patterns are not read");
}

Test(plugin_leef, rejects_what_is_not_leef)
{
    cr_assert_str_eq(reason("CEF:0|a|b|c|d|e|f|"), "not LEEF: no LEEF: header");
    cr_assert_str_eq(reason("LEEF:3.0|V|P|1|E|"),
                     "not LEEF: unsupported version");
    cr_assert_str_eq(reason("LEEF:1.0|V|P"),
                     "not LEEF: fewer than 5 header fields");
    cr_assert_str_eq(reason("LEEF:1.0"),
                     "not LEEF: fewer than 5 header fields");
    cr_assert_str_eq(reason("LEEF:2.0|V|P|1|E|ab|a=1"),
                     "not LEEF: invalid 2.0 delimiter");
    cr_assert_str_eq(reason("LEEF:2.0|V|P|1|E|x3D|a=1"),
                     "not LEEF: invalid 2.0 delimiter");
    cr_assert_str_eq(reason("LEEF:1.0|V|P|1|E|k=\xc3"), "not UTF-8");
}
