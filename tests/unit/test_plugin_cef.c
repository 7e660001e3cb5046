/*
 * decoder_cef, loaded from the built shared object: ArcSight's examples,
 * escaping in the header and the extension, values with spaces, the
 * syslog prefix, the event time and what is not CEF.
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
    struct vigil_plugin_source src = {.path = VIGIL_PLUGIN_PATH_DECODER_CEF};
    cr_assert_eq(vigil_plugins_open(reg, &src, &d), 0, "%s",
                 d.n ? d.v[0].msg : "");
    vigil_diags_fini(&d);
    struct vigil_decode_options o = {.format = VIGIL_FORMAT_AUTO,
                                     .time_field = "@timestamp"};
    dec = vigil_decoder_create(&o);
    vigil_decoder_set_custom(
        dec, vigil_plugin_decode,
        vigil_plugins_find(reg, VIGIL_PLUGIN_DECODER, "cef"));
    vigil_event_init(&ev);
}

static void teardown(void)
{
    vigil_event_fini(&ev);
    vigil_decoder_destroy(dec);
    vigil_plugins_destroy(reg);
}

TestSuite(plugin_cef, .init = setup, .fini = teardown);

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

#define HEADER(name, sev)                                                      \
    "cef.version=0\n"                                                          \
    "cef.device_vendor=security\n"                                             \
    "cef.device_product=threatmanager\n"                                       \
    "cef.device_version=1.0\n"                                                 \
    "cef.signature_id=100\n"                                                   \
    "cef.name=" name "\n"                                                      \
    "cef.severity=" sev "\n"

Test(plugin_cef, decodes_the_arcsight_example_after_a_syslog_prefix)
{
    const char *line = "Sep 19 08:26:10 host CEF:0|security|threatmanager|1.0|"
                       "100|worm successfully stopped|10|src=10.0.0.1 "
                       "dst=2.1.2.2 spt=1232";
    assert_fields(line, "src=10.0.0.1\n"
                        "dst=2.1.2.2\n"
                        "spt=1232\n" HEADER("worm successfully stopped", "10"));
    const struct vigil_field *m = vigil_event_find(&ev, VIGIL_SV("message"));
    cr_assert(vigil_sv_eq(m->value, (struct vigil_sv){line, strlen(line)}));
    cr_assert_eq(ev.time_ms, 7, "no rt: the fallback time");
}

Test(plugin_cef, unescapes_pipes_and_backslashes_in_the_header)
{
    assert_fields("CEF:0|security|threatmanager|1.0|100|detected a \\| in "
                  "message|10|src=10.0.0.1 act=blocked a | dst=1.1.1.1",
                  "src=10.0.0.1\n"
                  "act=blocked a |\n"
                  "dst=1.1.1.1\n" HEADER("detected a | in message", "10"));
    assert_fields("CEF:0|security|threatmanager|1.0|100|detected a \\\\ in "
                  "packet|10|src=10.0.0.1 act=blocked a \\\\ dst=1.1.1.1",
                  "src=10.0.0.1\n"
                  "act=blocked a \\\n"
                  "dst=1.1.1.1\n" HEADER("detected a \\ in packet", "10"));
}

Test(plugin_cef, unescapes_equals_and_line_breaks_in_values)
{
    assert_fields("CEF:0|security|threatmanager|1.0|100|detected an = in "
                  "message|10|src=10.0.0.1 act=blocked a \\= dst=1.1.1.1",
                  "src=10.0.0.1\n"
                  "act=blocked a =\n"
                  "dst=1.1.1.1\n" HEADER("detected an = in message", "10"));
    assert_fields("CEF:0|security|threatmanager|1.0|100|x|5|msg=Detected a "
                  "threat.\\n No action needed.\\r cs1=a\\=b",
                  "msg=Detected a threat.\n No action needed.\r\n"
                  "cs1=a=b\n" HEADER("x", "5"));
}

Test(plugin_cef, keeps_spaces_in_values_up_to_the_next_key)
{
    assert_fields(
        "CEF:0|security|threatmanager|1.0|100|login|Medium|suser=John Smith "
        "cs1Label=Policy Name cs1=Block all  outbound   "
        "request=https://example.com/a?b=c&d=e act= dpt=443",
        "suser=John Smith\n"
        "cs1Label=Policy Name\n"
        "cs1=Block all  outbound\n"
        "request=https://example.com/a?b=c&d=e\n"
        "act=\n"
        "dpt=443\n" HEADER("login", "Medium"));
}

Test(plugin_cef, takes_a_header_without_extension)
{
    assert_fields("CEF:0|security|threatmanager|1.0|100|no extension|Low|",
                  HEADER("no extension", "Low"));
    assert_fields("CEF:0|security|threatmanager|1.0|100|no pipe|Low",
                  HEADER("no pipe", "Low"));
}

Test(plugin_cef, takes_a_pri_prefix_and_drops_the_line_ending)
{
    assert_fields("<134>CEF:1|security|threatmanager|1.0|100|x|3|suser=bob\r\n",
                  "suser=bob\n"
                  "cef.version=1\n"
                  "cef.device_vendor=security\n"
                  "cef.device_product=threatmanager\n"
                  "cef.device_version=1.0\n"
                  "cef.signature_id=100\n"
                  "cef.name=x\n"
                  "cef.severity=3\n");
    const struct vigil_field *m = vigil_event_find(&ev, VIGIL_SV("message"));
    cr_assert(vigil_sv_eq(m->value, VIGIL_SV("<134>CEF:1|security|"
                                             "threatmanager|1.0|100|x|3|"
                                             "suser=bob")));
}

Test(plugin_cef, ignores_text_before_the_first_key_and_keeps_the_last_duplicate)
{
    char *got = fields(
        "CEF:0|security|threatmanager|1.0|100|x|3|junk here src=1 src=2");
    free(got);
    const struct vigil_field *f = vigil_event_find(&ev, VIGIL_SV("src"));
    cr_assert(vigil_sv_eq(f->value, VIGIL_SV("2")));
    cr_assert_null(vigil_event_find(&ev, VIGIL_SV("junk")));
}

Test(plugin_cef, header_fields_win_over_extension_keys_of_the_same_name)
{
    char *got = fields("CEF:0|v|p|1|sig|real name|3|cef.name=fake");
    free(got);
    const struct vigil_field *f = vigil_event_find(&ev, VIGIL_SV("cef.name"));
    cr_assert(vigil_sv_eq(f->value, VIGIL_SV("real name")));
}

Test(plugin_cef, sets_the_event_time_from_a_numeric_or_iso_rt)
{
    char *got = fields("CEF:0|v|p|1|sig|n|3|rt=1717243200123 src=1.2.3.4");
    free(got);
    cr_assert_eq(ev.time_ms, 1717243200123);
    got = fields("CEF:0|v|p|1|sig|n|3|rt=2024-06-01T12:00:00Z");
    free(got);
    cr_assert_eq(ev.time_ms, 1717243200000);
    got = fields("CEF:0|v|p|1|sig|n|3|rt=Jun 01 2024 12:00:00");
    free(got);
    cr_assert_eq(ev.time_ms, 7, "unparsed formats leave the fallback");
}

Test(plugin_cef, rejects_what_is_not_cef)
{
    cr_assert_str_eq(reason("Feb 25 14:34:10 belka sshd[1]: hello"),
                     "not CEF: no CEF: header");
    cr_assert_str_eq(reason("XCEF:0|a|b|c|d|e|f|"), "not CEF: no CEF: header");
    cr_assert_str_eq(reason("CEF:0|a|b|c|d|e"),
                     "not CEF: fewer than 7 header fields");
    cr_assert_str_eq(reason("CEF:|a|b|c|d|e|f|"), "not CEF: no version");
    cr_assert_str_eq(reason("CEF:zero|a|b|c|d|e|f|"), "not CEF: bad version");
    cr_assert_str_eq(reason("CEF:0|a|b|c|d|e|f|k=\xff"), "not UTF-8");
    cr_assert_eq(ev.n_fields, 0);
}

Test(plugin_cef, refuses_config_keys)
{
    struct vigil_plugins *r = vigil_plugins_create(NULL);
    struct vigil_config_kv kv[] = {{"strict", "yes"}};
    struct vigil_config_map m = {kv, 1};
    struct vigil_diags d = {0};
    struct vigil_plugin_source src = {.path = VIGIL_PLUGIN_PATH_DECODER_CEF,
                                      .config = &m};
    cr_assert_eq(vigil_plugins_open(r, &src, &d), -1);
    char *want = NULL;
    cr_assert(asprintf(&want,
                       "%s: plugin 'cef': init failed: unknown config key "
                       "'strict' (cef takes none)",
                       VIGIL_PLUGIN_PATH_DECODER_CEF) > 0);
    cr_assert_str_eq(d.v[0].msg, want);
    free(want);
    vigil_diags_fini(&d);
    vigil_plugins_destroy(r);
}
