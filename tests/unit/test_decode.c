#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decode.h"

/* 2024-06-01T12:00:00Z */
#define FALLBACK INT64_C(1717243200000)

/*
 * Each test decodes through one decoder and one event. The payload is
 * copied into a heap buffer of exactly its length (no NUL after it), so
 * AddressSanitizer catches any read past the end.
 */
static struct vigil_decoder *dec;
static struct vigil_event ev;
static char *payload;
static const char *reason;

static void use(enum vigil_event_format format, const char *time_field,
                size_t max_bytes)
{
    vigil_decoder_destroy(dec);
    struct vigil_decode_options o = {format, time_field, max_bytes};
    dec = vigil_decoder_create(&o);
    cr_assert_not_null(dec);
}

static void setup(void)
{
    vigil_event_init(&ev);
    use(VIGIL_FORMAT_AUTO, "@timestamp", 0);
}

static void teardown(void)
{
    vigil_event_fini(&ev);
    vigil_decoder_destroy(dec);
    free(payload);
}

static int decode_at(const char *s, size_t len, int64_t fallback)
{
    free(payload);
    payload = malloc(len ? len : 1);
    cr_assert_not_null(payload);
    if (len)
        memcpy(payload, s, len);
    reason = "unset";
    return vigil_decode(dec, payload, len, fallback, &ev, &reason);
}

static int decode(const char *s)
{
    return decode_at(s, strlen(s), FALLBACK);
}

/* Asserts that s is rejected with the reason want. */
static void rejects(const char *s, const char *want)
{
    int rc = decode(s);
    cr_assert_eq(rc, -1, "accepted: %s", s);
    cr_assert_str_eq(reason, want, "%s", s);
    cr_assert_eq(ev.n_fields, 0);
}

/* The field's plain value, NUL-terminated in scratch. */
static const char *value_of(const char *name, enum vigil_field_kind kind)
{
    const struct vigil_field *f =
        vigil_event_find(&ev, (struct vigil_sv){name, strlen(name)});
    cr_assert_not_null(f, "no field %s", name);
    cr_assert_eq(f->kind, kind, "%s: kind %d", name, f->kind);
    struct vigil_sv v;
    cr_assert_eq(vigil_event_value(&ev, f, &v), 0);
    return vigil_event_scratch(&ev, v.ptr, v.len);
}

static void expect(const char *name, const char *want)
{
    cr_assert_str_eq(value_of(name, VIGIL_FIELD_STRING), want, "%s", name);
}

static void expect_kind(const char *name, enum vigil_field_kind kind,
                        const char *want)
{
    cr_assert_str_eq(value_of(name, kind), want, "%s", name);
}

static void expect_absent(const char *name)
{
    cr_assert_null(vigil_event_find(&ev, (struct vigil_sv){name, strlen(name)}),
                   "%s", name);
}

static const struct vigil_field *field(const char *name)
{
    const struct vigil_field *f =
        vigil_event_find(&ev, (struct vigil_sv){name, strlen(name)});
    cr_assert_not_null(f, "no field %s", name);
    return f;
}

static bool in_payload(struct vigil_sv v)
{
    return v.ptr >= payload && v.ptr + v.len <= payload + ev.len;
}

/* Epoch ms of a UTC time, computed by the C library for comparison. */
static int64_t utc_ms(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
    return (int64_t)timegm(&tm) * 1000;
}

TestSuite(decode, .init = setup, .fini = teardown);

/* ---- formats ------------------------------------------------------- */

Test(decode, parses_format_names)
{
    enum vigil_event_format f;
    cr_assert_eq(vigil_event_format_parse("auto", &f), 0);
    cr_assert_eq(f, VIGIL_FORMAT_AUTO);
    cr_assert_eq(vigil_event_format_parse("json", &f), 0);
    cr_assert_eq(f, VIGIL_FORMAT_JSON);
    cr_assert_eq(vigil_event_format_parse("syslog", &f), 0);
    cr_assert_eq(f, VIGIL_FORMAT_SYSLOG);
    cr_assert_eq(vigil_event_format_parse("raw", &f), 0);
    cr_assert_eq(f, VIGIL_FORMAT_RAW);
    cr_assert_eq(vigil_event_format_parse("JSON", &f), -1);
    cr_assert_eq(vigil_event_format_parse("", &f), -1);
    cr_assert_eq(vigil_event_format_parse(NULL, &f), -1);
}

/* ---- JSON ---------------------------------------------------------- */

Test(decode, json_fields_are_views_into_the_payload)
{
    use(VIGIL_FORMAT_JSON, "@timestamp", 0);
    cr_assert_eq(decode("{\"message\":\"hello\",\"n\":-12.5e3,\"ok\":true,"
                        "\"no\":false,\"nothing\":null}"),
                 0);
    cr_assert_null(reason);
    cr_assert_eq(ev.n_fields, 5);
    expect("message", "hello");
    expect_kind("n", VIGIL_FIELD_NUMBER, "-12.5e3");
    expect_kind("ok", VIGIL_FIELD_BOOL, "true");
    expect_kind("no", VIGIL_FIELD_BOOL, "false");
    expect_kind("nothing", VIGIL_FIELD_NULL, "null");
    for (size_t i = 0; i < ev.n_fields; i++) {
        cr_assert(in_payload(ev.fields[i].name));
        cr_assert(in_payload(ev.fields[i].value));
        cr_assert_not(ev.fields[i].escaped);
    }
    cr_assert_eq(ev.time_ms, FALLBACK);
}

Test(decode, json_flattens_nested_objects_to_dotted_names)
{
    cr_assert_eq(
        decode("{\"host\":{\"name\":\"bastion-1\",\"ip\":\"10.0.0.1\"},"
               "\"a\":{\"b\":{\"c\":{\"d\":4}}},\"z\":1}"),
        0);
    expect("host.name", "bastion-1");
    expect("host.ip", "10.0.0.1");
    expect_kind("a.b.c.d", VIGIL_FIELD_NUMBER, "4");
    expect_kind("z", VIGIL_FIELD_NUMBER, "1");
    /* A nested object is also a field: its raw text. */
    expect_kind("host", VIGIL_FIELD_OBJECT,
                "{\"name\":\"bastion-1\",\"ip\":\"10.0.0.1\"}");
    expect_kind("a.b", VIGIL_FIELD_OBJECT, "{\"c\":{\"d\":4}}");
    expect_absent("name");
    expect_absent("c.d");
}

Test(decode, json_dotted_keys_and_nested_objects_name_alike)
{
    cr_assert_eq(decode("{\"host.name\":\"flat\",\"host\":{\"name\":\"x\"}}"),
                 0);
    expect("host.name", "x");
}

/* Found by fuzz_decode_json: an empty key is a name of its own. */
Test(decode, json_empty_keys_still_get_dotted_names)
{
    cr_assert_eq(decode("{\"\":{\"@timestamp\":\"x\",\"\":2}}"), 0);
    expect_kind("", VIGIL_FIELD_OBJECT, "{\"@timestamp\":\"x\",\"\":2}");
    expect(".@timestamp", "x");
    expect_kind(".", VIGIL_FIELD_NUMBER, "2");
    expect_absent("@timestamp");
    cr_assert_eq(ev.time_ms, FALLBACK);
}

Test(decode, json_marks_escaped_strings_and_unescapes_on_demand)
{
    cr_assert_eq(decode("{\"plain\":\"a/b c\",\"esc\":\"line\\nnext \\\"q\\\" "
                        "\\\\ \\/ \\t\\u00e9\\ud83d\\ude00\"}"),
                 0);
    cr_assert_not(field("plain")->escaped);
    cr_assert(field("esc")->escaped);
    expect("esc", "line\nnext \"q\" \\ / \t\xc3\xa9\xf0\x9f\x98\x80");
}

Test(decode, json_unescapes_keys_into_names)
{
    cr_assert_eq(decode("{\"ho\\u0073t\":{\"n\\u0061me\":\"x\"},"
                        "\"a\\\"b\":1}"),
                 0);
    expect("host.name", "x");
    expect_kind("a\"b", VIGIL_FIELD_NUMBER, "1");
}

Test(decode, json_accepts_utf8_and_unicode_escapes)
{
    cr_assert_eq(decode("{\"user\":\"J\xc3\xbcrgen\",\"city\":\"\xe6\x9d\xb1"
                        "\xe4\xba\xac\",\"emoji\":\"\xf0\x9f\x94\x91\","
                        "\"\xc3\xa9t\xc3\xa9\":\"\\u20ac\"}"),
                 0);
    expect("user", "J\xc3\xbcrgen");
    expect("city", "\xe6\x9d\xb1\xe4\xba\xac");
    expect("emoji", "\xf0\x9f\x94\x91");
    expect("\xc3\xa9t\xc3\xa9", "\xe2\x82\xac");
}

Test(decode, json_keeps_arrays_as_raw_text)
{
    cr_assert_eq(decode("{\"tags\":[\"a\",\"b\"],\"m\":[[1,2],{\"k\":\"v\"},"
                        "[]],\"e\":[ ],\"after\":\"x\"}"),
                 0);
    expect_kind("tags", VIGIL_FIELD_ARRAY, "[\"a\",\"b\"]");
    expect_kind("m", VIGIL_FIELD_ARRAY, "[[1,2],{\"k\":\"v\"},[]]");
    expect_kind("e", VIGIL_FIELD_ARRAY, "[ ]");
    expect("after", "x");
    expect_absent("k");
    expect_absent("m.k");
    cr_assert_eq(ev.n_fields, 4);
}

Test(decode, json_checks_array_elements)
{
    rejects("{\"a\":[1,]}", "invalid JSON");
    rejects("{\"a\":[1 2]}", "invalid JSON");
    rejects("{\"a\":[,1]}", "invalid JSON");
    rejects("{\"a\":[\"\xff\"]}", "not UTF-8");
    rejects("{\"a\":[{\"k\" 1}]}", "invalid JSON");
    rejects("{\"a\":[tru]}", "invalid JSON");
}

Test(decode, json_last_duplicate_key_wins)
{
    cr_assert_eq(decode("{\"user\":\"alice\",\"user\":\"bob\"}"), 0);
    cr_assert_eq(ev.n_fields, 2);
    expect("user", "bob");
}

Test(decode, json_empty_object_has_no_fields)
{
    cr_assert_eq(decode("{}"), 0);
    cr_assert_eq(ev.n_fields, 0);
    cr_assert_eq(decode(" \t{ \n }\r\n"), 0);
    cr_assert_eq(ev.n_fields, 0);
    cr_assert_eq(decode("{\"o\":{}}"), 0);
    expect_kind("o", VIGIL_FIELD_OBJECT, "{}");
}

Test(decode, json_allows_whitespace_between_tokens)
{
    cr_assert_eq(decode("\n { \"a\" : 1 ,\t\"b\"\r\n:\n[ 1 , 2 ] , \"c\" : "
                        "{ \"d\" : \"e\" } }\n"),
                 0);
    expect_kind("a", VIGIL_FIELD_NUMBER, "1");
    expect_kind("b", VIGIL_FIELD_ARRAY, "[ 1 , 2 ]");
    expect("c.d", "e");
}

Test(decode, json_rejects_values_other_than_objects_at_top)
{
    use(VIGIL_FORMAT_JSON, NULL, 0);
    rejects("[1,2]", "not a JSON object");
    rejects("\"s\"", "not a JSON object");
    rejects("42", "not a JSON object");
    rejects("", "invalid JSON");
    rejects("   ", "invalid JSON");
}

Test(decode, json_rejects_every_truncation)
{
    static const char doc[] =
        "{\"a\":{\"b\":[1,\"x\",{\"c\":null}]},\"s\":\"t\\u00e9\",\"n\":true}";
    cr_assert_eq(decode(doc), 0);
    for (size_t len = 1; len < sizeof(doc) - 1; len++) {
        cr_assert_eq(decode_at(doc, len, FALLBACK), -1, "prefix %zu", len);
        cr_assert_eq(ev.n_fields, 0);
    }
    rejects("{\"a\":1", "truncated JSON");
    rejects("{\"a\":\"unterminated}", "truncated JSON");
}

Test(decode, json_rejects_trailing_data)
{
    rejects("{\"a\":1}x", "trailing data after JSON");
    rejects("{\"a\":1}{}", "trailing data after JSON");
    rejects("{\"a\":1} 2", "trailing data after JSON");
    cr_assert_eq(decode_at("{\"a\":1}\0", 8, FALLBACK), -1);
    cr_assert_str_eq(reason, "trailing data after JSON");
    cr_assert_eq(decode_at("{\"a\":\"x\0y\"}", 11, FALLBACK), -1);
}

Test(decode, json_rejects_grammar_errors)
{
    static const char *const bad[] = {
        "{\"a\":1 \"b\":2}",
        "{\"a\":1,,\"b\":2}",
        "{\"a\":1,}",
        "{,\"a\":1}",
        "{\"a\" 1}",
        "{\"a\"::1}",
        "{a:1}",
        "{'a':1}",
        "{\"a\":tru}",
        "{\"a\":True}",
        "{\"a\":nul}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":.5}",
        "{\"a\":-}",
        "{\"a\":1e}",
        "{\"a\":+1}",
        "{\"a\":0x10}",
        "{\"a\":1:2}",
        "{\"a\"}",
        "{1:2}",
        "{\"a\":1]",
        "{\"a\":[1}",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":'s'}",
        "{{}}",
        "{\"a\":{}:1}",
        "{:1}",
        "{\"a\":}",
        "{\"a\":1}}",
    };
    use(VIGIL_FORMAT_JSON, NULL, 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(decode(bad[i]), -1, "accepted: %s", bad[i]);
        cr_assert_eq(ev.n_fields, 0);
    }
}

Test(decode, json_accepts_number_forms)
{
    cr_assert_eq(decode("{\"a\":0,\"b\":-0,\"c\":1.25,\"d\":1e10,\"e\":-2E-3,"
                        "\"f\":12345678901234567890}"),
                 0);
    expect_kind("f", VIGIL_FIELD_NUMBER, "12345678901234567890");
    expect_kind("e", VIGIL_FIELD_NUMBER, "-2E-3");
}

Test(decode, json_tolerates_raw_control_characters_in_strings)
{
    cr_assert_eq(decode("{\"m\":\"a\tb\"}"), 0);
    expect("m", "a\tb");
}

Test(decode, json_rejects_invalid_utf8_anywhere)
{
    static const char *const bad[] = {
        "{\"m\":\"\xff\"}",             /* never valid */
        "{\"m\":\"\x80\"}",             /* lone continuation */
        "{\"m\":\"\xc0\x80\"}",         /* overlong NUL */
        "{\"m\":\"\xe0\x80\xaf\"}",     /* overlong '/' */
        "{\"m\":\"\xed\xa0\x80\"}",     /* UTF-16 surrogate */
        "{\"m\":\"\xf4\x90\x80\x80\"}", /* past U+10FFFF */
        "{\"m\":\"\xc3\"}",             /* cut short */
        "{\"m\":\"abcdefgh\xe2\x82\"}", /* cut short after a fast run */
        "{\"\xfe\":1}",                 /* in a key */
        "{\"m\":1}\xff",                /* after the object */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        rejects(bad[i], "not UTF-8");
}

/*
 * `levels` containers in all: {"a":{"a":...{"a":1}...}} with objects, or
 * {"a":[[...[1]...]]} with arrays inside the top object.
 */
static char *nested(int levels, bool arrays)
{
    char *s = malloc((size_t)levels * 8 + 16);
    size_t n = 0;
    s[n++] = '{';
    for (int i = 1; i < levels; i++) {
        if (!arrays || i == 1) {
            memcpy(s + n, "\"a\":", 4);
            n += 4;
        }
        s[n++] = arrays ? '[' : '{';
    }
    if (arrays) {
        s[n++] = '1';
    } else {
        memcpy(s + n, "\"a\":1", 5);
        n += 5;
    }
    for (int i = 1; i < levels; i++)
        s[n++] = arrays ? ']' : '}';
    s[n++] = '}';
    s[n] = '\0';
    return s;
}

Test(decode, json_limits_nesting_depth)
{
    char *ok = nested(VIGIL_EVENT_MAX_DEPTH, false);
    char *deep = nested(VIGIL_EVENT_MAX_DEPTH + 1, false);
    cr_assert_eq(decode(ok), 0);
    expect_kind("a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a", VIGIL_FIELD_NUMBER, "1");
    rejects(deep, "too deeply nested");
    free(ok);
    free(deep);
}

Test(decode, json_arrays_count_towards_depth)
{
    char *ok = nested(VIGIL_EVENT_MAX_DEPTH, true);
    char *deep = nested(VIGIL_EVENT_MAX_DEPTH + 1, true);
    cr_assert_eq(decode(ok), 0, "%s", ok);
    cr_assert_eq(field("a")->kind, VIGIL_FIELD_ARRAY);
    rejects(deep, "too deeply nested");
    free(ok);
    free(deep);
}

Test(decode, json_rejects_hostile_depth_without_recursing)
{
    size_t n = 200000;
    char *s = malloc(2 * n + 8);
    memcpy(s, "{\"a\":", 5);
    memset(s + 5, '[', n);
    memset(s + 5 + n, ']', n);
    s[5 + 2 * n] = '}';
    s[6 + 2 * n] = '\0';
    cr_assert_eq(decode(s), -1);
    free(s);
}

Test(decode, json_checks_depth_before_tokenizing_many_brackets)
{
    /* jsmn alone would spend depth squared steps on this. */
    size_t n = 8000;
    char *s = malloc(2 * n + 8);
    memcpy(s, "{\"a\":", 5);
    memset(s + 5, '[', n);
    memset(s + 5 + n, ']', n);
    s[5 + 2 * n] = '}';
    s[6 + 2 * n] = '\0';
    rejects(s, "too deeply nested");
    /* Objects count too. */
    for (size_t i = 0; i < n; i++)
        s[5 + i] = '{';
    rejects(s, "too deeply nested");
    free(s);
}

Test(decode, json_depth_check_skips_brackets_in_strings)
{
    char s[1024];
    size_t n = (size_t)snprintf(s, sizeof(s), "{\"m\":\"a\\\"");
    memset(s + n, '[', 300);
    n += 300;
    memset(s + n, '{', 300);
    n += 300;
    snprintf(s + n, sizeof(s) - n, "\",\"n\":[[{\"k\":\"{\"}]]}");
    cr_assert_eq(decode(s), 0, "%s", s);
    cr_assert_eq(value_of("m", VIGIL_FIELD_STRING)[1], '"');
    expect_kind("n", VIGIL_FIELD_ARRAY, "[[{\"k\":\"{\"}]]");
}

/* {"f0":0,"f1":1,...} with n members. */
static char *many_fields(int n)
{
    size_t cap = (size_t)n * 16 + 4;
    char *s = malloc(cap);
    size_t len = 0;
    s[len++] = '{';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s\"f%d\":%d",
                                i ? "," : "", i, i);
    s[len++] = '}';
    s[len] = '\0';
    return s;
}

Test(decode, json_limits_the_number_of_fields)
{
    char *ok = many_fields(VIGIL_EVENT_MAX_FIELDS);
    char *over = many_fields(VIGIL_EVENT_MAX_FIELDS + 1);
    cr_assert_eq(decode(ok), 0);
    cr_assert_eq(ev.n_fields, VIGIL_EVENT_MAX_FIELDS);
    expect_kind("f511", VIGIL_FIELD_NUMBER, "511");
    rejects(over, "too many fields");
    free(ok);
    free(over);
}

Test(decode, json_nested_object_fields_count_towards_the_limit)
{
    /* 256 objects with one member each: 512 fields, then one more. */
    size_t cap = 256 * 24 + 32;
    char *s = malloc(cap);
    size_t len = 0;
    s[len++] = '{';
    for (int i = 0; i < 256; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s\"o%d\":{\"v\":1}",
                                i ? "," : "", i);
    s[len++] = '}';
    s[len] = '\0';
    cr_assert_eq(decode(s), 0);
    cr_assert_eq(ev.n_fields, 512);
    memcpy(s + len - 1, ",\"x\":1}", 8);
    rejects(s, "too many fields");
    free(s);
}

/* {"a":[1,1,...]}: one field, n + 3 tokens. */
static char *long_array(size_t n)
{
    char *s = malloc(2 * n + 16);
    memcpy(s, "{\"a\":[", 6);
    size_t len = 6;
    for (size_t i = 0; i < n; i++) {
        s[len++] = '1';
        s[len++] = ',';
    }
    s[len - 1] = ']';
    s[len++] = '}';
    s[len] = '\0';
    return s;
}

Test(decode, json_grows_tokens_up_to_the_bound)
{
    char *ok = long_array(VIGIL_DECODE_MAX_TOKENS - 3);
    char *over = long_array(VIGIL_DECODE_MAX_TOKENS - 2);
    cr_assert_eq(decode(ok), 0);
    cr_assert_eq(ev.n_fields, 1);
    rejects(over, "too many fields");
    free(ok);
    free(over);
    /* The decoder keeps working afterwards. */
    cr_assert_eq(decode("{\"a\":1}"), 0);
    expect_kind("a", VIGIL_FIELD_NUMBER, "1");
}

/* An RFC 5424 line whose structured data holds n parameters. */
static char *many_sd_params(int n)
{
    size_t cap = (size_t)n * 16 + 128;
    char *s = malloc(cap);
    size_t len = (size_t)snprintf(s, cap,
                                  "<34>1 2023-11-14T22:13:20Z host "
                                  "app - - [x");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, " p%d=\"v\"", i);
    snprintf(s + len, cap - len, "] hostile");
    return s;
}

Test(decode, syslog_structured_data_cannot_exceed_the_field_limit)
{
    use(VIGIL_FORMAT_SYSLOG, NULL, 0);
    char *flood = many_sd_params(VIGIL_EVENT_MAX_FIELDS * 4);
    rejects(flood, "too many fields");
    free(flood);
    /* The decoder keeps working afterwards. */
    char *fine = many_sd_params(8);
    cr_assert_eq(decode(fine), 0);
    expect("syslog.sd.x.p7", "v");
    free(fine);
}

Test(decode, rejects_messages_over_max_bytes)
{
    use(VIGIL_FORMAT_AUTO, NULL, 16);
    cr_assert_eq(decode("{\"m\":\"01234567\"}"), 0); /* 16 bytes */
    rejects("{\"m\":\"012345678\"}", "message too large");
    rejects("a raw line of more than sixteen bytes", "message too large");
    cr_assert_eq(decode("sixteen bytes ok"), 0);
}

Test(decode, reuses_event_and_decoder_across_messages)
{
    char *big = many_fields(300);
    for (int round = 0; round < 3; round++) {
        cr_assert_eq(decode(big), 0);
        cr_assert_eq(ev.n_fields, 300);
        cr_assert_eq(decode("{\"x\":{\"y\":\"z\"}}"), 0);
        cr_assert_eq(ev.n_fields, 2);
        expect("x.y", "z");
        expect_absent("f0");
        cr_assert_eq(decode("{\"x\":"), -1);
        cr_assert_eq(ev.n_fields, 0);
    }
    free(big);
}

/* ---- JSON event time ----------------------------------------------- */

Test(decode, json_time_from_rfc3339_string)
{
    cr_assert_eq(decode("{\"@timestamp\":\"2024-02-25T14:34:10.250Z\"}"), 0);
    cr_assert_null(reason);
    cr_assert_eq(ev.time_ms, utc_ms(2024, 2, 25, 14, 34, 10) + 250);
}

Test(decode, json_time_from_epoch_numbers)
{
    cr_assert_eq(decode("{\"@timestamp\":1700000000}"), 0);
    cr_assert_eq(ev.time_ms, INT64_C(1700000000000));
    cr_assert_eq(decode("{\"@timestamp\":1700000000.75}"), 0);
    cr_assert_eq(ev.time_ms, INT64_C(1700000000750));
    cr_assert_eq(decode("{\"@timestamp\":1700000000123}"), 0);
    cr_assert_eq(ev.time_ms, INT64_C(1700000000123));
    cr_assert_eq(decode("{\"@timestamp\":\"1700000000\"}"), 0);
    cr_assert_eq(ev.time_ms, INT64_C(1700000000000));
}

Test(decode, json_time_from_a_configured_nested_field)
{
    use(VIGIL_FORMAT_JSON, "event.created", 0);
    cr_assert_eq(decode("{\"@timestamp\":1,\"event\":{\"created\":"
                        "\"2024-01-01T01:00:00+01:00\"}}"),
                 0);
    cr_assert_eq(ev.time_ms, utc_ms(2024, 1, 1, 0, 0, 0));
}

Test(decode, json_time_unescapes_the_field)
{
    cr_assert_eq(decode("{\"@timestamp\":\"2024-01-01T00:00:00\\u002b01:00\"}"),
                 0);
    cr_assert_eq(ev.time_ms, utc_ms(2023, 12, 31, 23, 0, 0));
}

Test(decode, json_unparsable_time_falls_back_with_a_note)
{
    static const char *const bad[] = {
        "{\"@timestamp\":\"yesterday\"}", "{\"@timestamp\":-5}",
        "{\"@timestamp\":1e9}",           "{\"@timestamp\":true}",
        "{\"@timestamp\":{\"x\":1}}",     "{\"@timestamp\":[1]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(decode(bad[i]), 0, "%s", bad[i]);
        cr_assert_eq(ev.time_ms, FALLBACK);
        cr_assert_str_eq(reason, "unparsable time field");
    }
    cr_assert_eq(decode("{\"@timestamp\":null}"), 0);
    cr_assert_null(reason);
    cr_assert_eq(decode("{\"other\":1}"), 0);
    cr_assert_null(reason);
    cr_assert_eq(ev.time_ms, FALLBACK);
}

Test(decode, json_without_time_field_uses_fallback)
{
    use(VIGIL_FORMAT_JSON, NULL, 0);
    cr_assert_eq(decode("{\"@timestamp\":1700000000}"), 0);
    cr_assert_eq(ev.time_ms, FALLBACK);
    use(VIGIL_FORMAT_JSON, "", 0);
    cr_assert_eq(decode("{\"@timestamp\":1700000000}"), 0);
    cr_assert_eq(ev.time_ms, FALLBACK);
}

/* ---- syslog --------------------------------------------------------- */

#define SSHD_LINE                                                              \
    "Feb 25 14:34:10 belka sshd[31602]: Failed password for invalid user "     \
    "ROOT from 194.117.26.69 port 50273 ssh2"

Test(decode, syslog_3164_without_pri)
{
    cr_assert_eq(decode(SSHD_LINE "\n"), 0);
    cr_assert_null(reason);
    expect("message", SSHD_LINE);
    expect("@timestamp", "Feb 25 14:34:10");
    expect("host.name", "belka");
    expect("process.name", "sshd");
    expect_kind("process.pid", VIGIL_FIELD_NUMBER, "31602");
    expect_absent("syslog.facility");
    expect_absent("syslog.severity");
    cr_assert_eq(ev.time_ms, utc_ms(2024, 2, 25, 14, 34, 10));
    for (size_t i = 0; i < ev.n_fields; i++) {
        cr_assert(in_payload(ev.fields[i].value));
        cr_assert_not(ev.fields[i].escaped);
    }
}

Test(decode, syslog_3164_with_pri)
{
    cr_assert_eq(decode("<38>Feb 25 14:34:10 belka sshd[31602]: Accepted\r\n"),
                 0);
    expect("message", "<38>Feb 25 14:34:10 belka sshd[31602]: Accepted");
    expect_kind("syslog.facility", VIGIL_FIELD_NUMBER, "4");
    expect_kind("syslog.severity", VIGIL_FIELD_NUMBER, "6");
    expect("host.name", "belka");
    expect("process.name", "sshd");
    cr_assert_eq(decode("<191>Feb 25 14:34:10 h t: m"), 0);
    expect_kind("syslog.facility", VIGIL_FIELD_NUMBER, "23");
    expect_kind("syslog.severity", VIGIL_FIELD_NUMBER, "7");
    cr_assert_eq(decode("<0>Feb 25 14:34:10 h t: m"), 0);
    expect_kind("syslog.facility", VIGIL_FIELD_NUMBER, "0");
}

Test(decode, syslog_3164_without_pid)
{
    cr_assert_eq(decode("<4>Mar  3 01:02:03 fw kernel: [UFW BLOCK] IN=eth0"),
                 0);
    expect("@timestamp", "Mar  3 01:02:03");
    expect("host.name", "fw");
    expect("process.name", "kernel");
    expect_absent("process.pid");
    cr_assert_eq(ev.time_ms, utc_ms(2024, 3, 3, 1, 2, 3));
}

Test(decode, syslog_3164_without_host)
{
    cr_assert_eq(decode("Feb  5 10:00:00 sshd[7]: Server listening"), 0);
    expect_absent("host.name");
    expect("process.name", "sshd");
    expect_kind("process.pid", VIGIL_FIELD_NUMBER, "7");
}

Test(decode, syslog_3164_without_tag)
{
    cr_assert_eq(decode("Feb 5 10:00:00 router link down on ge-0/0/1"), 0);
    expect("host.name", "router");
    expect_absent("process.name");
    expect("@timestamp", "Feb 5 10:00:00");
    cr_assert_eq(decode("Feb 05 10:00:00.123 router"), 0);
    expect("host.name", "router");
    cr_assert_eq(ev.time_ms, utc_ms(2024, 2, 5, 10, 0, 0) + 123);
}

Test(decode, syslog_3164_non_numeric_pid_is_a_string)
{
    cr_assert_eq(decode("Feb 25 14:34:10 h app[main]: x"), 0);
    expect("process.pid", "main");
}

Test(decode, syslog_3164_year_comes_from_fallback)
{
    int64_t fb = utc_ms(2025, 1, 1, 0, 10, 0);
    cr_assert_eq(decode_at("Dec 31 23:59:00 h t: m", 22, fb), 0);
    cr_assert_eq(ev.time_ms, utc_ms(2024, 12, 31, 23, 59, 0));
    /* Within a day ahead: still this year (sender clock ahead). */
    fb = utc_ms(2024, 6, 1, 12, 0, 0);
    cr_assert_eq(decode_at("Jun  2 11:00:00 h t: m", 22, fb), 0);
    cr_assert_eq(ev.time_ms, utc_ms(2024, 6, 2, 11, 0, 0));
    /* More than a day ahead: last year. */
    cr_assert_eq(decode_at("Jun  2 13:00:00 h t: m", 22, fb), 0);
    cr_assert_eq(ev.time_ms, utc_ms(2023, 6, 2, 13, 0, 0));
    /* Just after New Year by the sender's clock: next year. */
    fb = utc_ms(2024, 12, 31, 23, 59, 50);
    cr_assert_eq(decode_at("Jan  1 00:00:10 h t: m", 22, fb), 0);
    cr_assert_eq(ev.time_ms, utc_ms(2025, 1, 1, 0, 0, 10));
    /* Any later date is more than a day ahead next year: this year. */
    cr_assert_eq(decode_at("Jan  2 00:00:10 h t: m", 22, fb), 0);
    cr_assert_eq(ev.time_ms, utc_ms(2024, 1, 2, 0, 0, 10));
    cr_assert_eq(decode_at("Dec 31 23:59:59 h t: m", 22, fb), 0);
    cr_assert_eq(ev.time_ms, utc_ms(2024, 12, 31, 23, 59, 59));
}

Test(decode, syslog_3164_leap_day_of_last_year)
{
    int64_t fb = utc_ms(2025, 3, 1, 0, 0, 0);
    cr_assert_eq(decode_at("Feb 29 12:00:00 h t: m", 22, fb), 0);
    cr_assert_eq(ev.time_ms, utc_ms(2024, 2, 29, 12, 0, 0));
}

Test(decode, syslog_3164_impossible_date_keeps_header_and_falls_back)
{
    cr_assert_eq(decode("Feb 30 12:00:00 h t: m"), 0);
    cr_assert_str_eq(reason, "unparsable time field");
    cr_assert_eq(ev.time_ms, FALLBACK);
    expect("host.name", "h");
    expect("@timestamp", "Feb 30 12:00:00");
}

Test(decode, syslog_3164_with_rfc3339_timestamp)
{
    cr_assert_eq(decode("<86>2024-02-25T14:34:10.123456+01:00 belka "
                        "sshd[5]: Failed password"),
                 0);
    expect("@timestamp", "2024-02-25T14:34:10.123456+01:00");
    expect("host.name", "belka");
    expect("process.name", "sshd");
    expect_kind("syslog.facility", VIGIL_FIELD_NUMBER, "10");
    cr_assert_eq(ev.time_ms, utc_ms(2024, 2, 25, 13, 34, 10) + 123);
    /* Without PRI (rsyslog's file format) it needs a tag. */
    cr_assert_eq(decode("2024-02-25T14:34:10Z belka sshd[5]: x"), 0);
    expect("process.name", "sshd");
    cr_assert_eq(decode("2024-02-25T14:34:10Z worker started"), 0);
    expect_absent("host.name");
    expect_absent("@timestamp");
    cr_assert_eq(ev.time_ms, FALLBACK);
    cr_assert_eq(ev.n_fields, 1);
}

Test(decode, syslog_5424_with_structured_data)
{
    static const char line[] =
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 "
        "ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Appl\\\"ic\\]ation\" "
        "eventID=\"1011\"][examplePriority@32473 class=\"high\"] "
        "\xef\xbb\xbf"
        "An application event log entry";
    cr_assert_eq(decode(line), 0);
    cr_assert_null(reason);
    expect("message", line);
    expect("@timestamp", "2003-10-11T22:14:15.003Z");
    cr_assert_eq(ev.time_ms, utc_ms(2003, 10, 11, 22, 14, 15) + 3);
    expect("host.name", "mymachine.example.com");
    expect("process.name", "evntslog");
    expect_kind("process.pid", VIGIL_FIELD_NUMBER, "1234");
    expect("syslog.msgid", "ID47");
    expect_kind("syslog.facility", VIGIL_FIELD_NUMBER, "20");
    expect_kind("syslog.severity", VIGIL_FIELD_NUMBER, "5");
    expect("syslog.sd.exampleSDID@32473.iut", "3");
    expect("syslog.sd.exampleSDID@32473.eventSource", "Appl\"ic]ation");
    expect("syslog.sd.examplePriority@32473.class", "high");
    expect("syslog.structured_data",
           "[exampleSDID@32473 iut=\"3\" eventSource=\"Appl\\\"ic\\]ation\" "
           "eventID=\"1011\"][examplePriority@32473 class=\"high\"]");
}

Test(decode, syslog_5424_nilvalues_are_left_out)
{
    cr_assert_eq(decode("<34>1 - - - - - -"), 0);
    cr_assert_null(reason);
    expect("message", "<34>1 - - - - - -");
    expect_kind("syslog.facility", VIGIL_FIELD_NUMBER, "4");
    expect_absent("@timestamp");
    expect_absent("host.name");
    expect_absent("process.name");
    expect_absent("process.pid");
    expect_absent("syslog.msgid");
    expect_absent("syslog.structured_data");
    cr_assert_eq(ev.time_ms, FALLBACK);
    cr_assert_eq(ev.n_fields, 3);

    cr_assert_eq(decode("<13>1 2024-02-25T14:34:10-05:00 h - 77 - - su: ok"),
                 0);
    cr_assert_eq(ev.time_ms, utc_ms(2024, 2, 25, 19, 34, 10));
    expect("host.name", "h");
    expect_absent("process.name");
    expect_kind("process.pid", VIGIL_FIELD_NUMBER, "77");
}

Test(decode, syslog_5424_unparsable_timestamp_notes_and_falls_back)
{
    cr_assert_eq(decode("<13>1 2024-99-99T00:00:00Z h a - - - m"), 0);
    cr_assert_str_eq(reason, "unparsable time field");
    cr_assert_eq(ev.time_ms, FALLBACK);
    expect("host.name", "h");
}

Test(decode, syslog_malformed_5424_is_raw)
{
    static const char *const bad[] = {
        "<13>1 2024-02-25T14:34:10Z h a p m [unclosed",
        "<13>1 2024-02-25T14:34:10Z h a p m [id x=\"1]",
        "<13>1 2024-02-25T14:34:10Z h a p m [id x=1]",
        "<13>1 2024-02-25T14:34:10Z h a p m nosd",
        "<13>1 2024-02-25T14:34:10Z h a p m [id]x",
        "<13>1 2024-02-25T14:34:10Z h a p",
        "<13>1 2024-02-25T14:34:10Z h a p m [] msg",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(decode(bad[i]), 0, "%s", bad[i]);
        cr_assert_eq(ev.n_fields, 1, "%s", bad[i]);
        expect("message", bad[i]);
        cr_assert_eq(ev.time_ms, FALLBACK);
    }
}

Test(decode, syslog_rejects_bad_pri_as_header)
{
    static const char *const bad[] = {
        "<192>Feb 25 14:34:10 h t: m", "<01>Feb 25 14:34:10 h t: m",
        "<>Feb 25 14:34:10 h t: m",    "<1234>Feb 25 14:34:10 h t: m",
        "<13Feb 25 14:34:10 h t: m",   "Foo 25 14:34:10 h t: m",
        "Feb 25 14:34 h t: m",         "Feb 25 14:34:1x h t: m",
        "Feb25 14:34:10 h t: m",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(decode(bad[i]), 0, "%s", bad[i]);
        cr_assert_eq(ev.n_fields, 1, "%s", bad[i]);
    }
}

Test(decode, syslog_format_takes_headerless_lines_as_raw_with_a_note)
{
    use(VIGIL_FORMAT_SYSLOG, NULL, 0);
    cr_assert_eq(decode("just some text\n"), 0);
    cr_assert_str_eq(reason, "no syslog header");
    cr_assert_eq(ev.n_fields, 1);
    expect("message", "just some text");
    /* The syslog format never tries JSON. */
    cr_assert_eq(decode("{\"a\":1}"), 0);
    expect("message", "{\"a\":1}");
    cr_assert_eq(decode(SSHD_LINE), 0);
    cr_assert_null(reason);
    expect("process.name", "sshd");
}

Test(decode, text_lines_must_be_utf8)
{
    rejects("Feb 25 14:34:10 belka sshd[1]: user \xe9t\xe9", "not UTF-8");
    use(VIGIL_FORMAT_RAW, NULL, 0);
    rejects("caf\xc3", "not UTF-8");
    cr_assert_eq(decode("caf\xc3\xa9"), 0);
}

Test(decode, utf8_check_covers_every_offset)
{
    /* Lines of every length up to 80 (the check reads 16 and 8 bytes at a
     * time), a bad byte, a cut sequence or a good one at every offset. */
    use(VIGIL_FORMAT_RAW, NULL, 0);
    char line[96];
    for (size_t len = 2; len <= 80; len++) {
        for (size_t at = 0; at + 2 <= len; at++) {
            memset(line, 'a', len);
            line[at] = '\xff';
            cr_assert_eq(decode_at(line, len, FALLBACK), -1, "%zu/%zu", at,
                         len);
            cr_assert_str_eq(reason, "not UTF-8");
            line[at] = '\xc3';
            line[at + 1] = 'a';
            cr_assert_eq(decode_at(line, len, FALLBACK), -1, "%zu/%zu", at,
                         len);
            line[at + 1] = '\xa9';
            cr_assert_eq(decode_at(line, len, FALLBACK), 0, "%zu/%zu", at, len);
            cr_assert_eq(ev.fields[0].value.len, len);
        }
    }
}

Test(decode, json_finds_escapes_at_every_offset)
{
    /* {"m":"aaa...\naaa"}: the string's backslash at every offset. */
    char js[128], want[128];
    for (size_t len = 1; len <= 70; len++) {
        for (size_t at = 0; at < len; at++) {
            memset(want, 'a', len);
            want[at] = '\n';
            want[len] = '\0';
            size_t n = (size_t)snprintf(js, sizeof(js), "{\"m\":\"%.*s\\n%s\"}",
                                        (int)at, want, want + at + 1);
            cr_assert_eq(decode_at(js, n, FALLBACK), 0, "%s", js);
            cr_assert(field("m")->escaped, "%s", js);
            expect("m", want);
        }
    }
}

/* ---- raw and auto --------------------------------------------------- */

Test(decode, raw_message_is_the_whole_line)
{
    use(VIGIL_FORMAT_RAW, "@timestamp", 0);
    cr_assert_eq(decode(SSHD_LINE "\r\n"), 0);
    cr_assert_eq(ev.n_fields, 1);
    expect("message", SSHD_LINE);
    cr_assert_eq(ev.time_ms, FALLBACK);
    cr_assert_eq(decode("{\"a\":1}"), 0);
    expect("message", "{\"a\":1}");
    cr_assert_eq(decode("\n"), 0);
    expect("message", "");
    cr_assert_eq(vigil_decode(dec, NULL, 0, FALLBACK, &ev, &reason), 0);
    expect("message", "");
}

Test(decode, auto_detects_the_format)
{
    cr_assert_eq(decode("  \t{\"message\":\"m\"}"), 0);
    expect("message", "m");
    expect_absent("host.name");
    cr_assert_eq(decode(SSHD_LINE), 0);
    expect("host.name", "belka");
    expect("message", SSHD_LINE);
    cr_assert_eq(decode("plain text [not syslog]"), 0);
    cr_assert_null(reason);
    cr_assert_eq(ev.n_fields, 1);
    expect("message", "plain text [not syslog]");
    cr_assert_eq(decode(""), 0);
    expect("message", "");
    /* A '{' commits to JSON: broken JSON is an error, not raw text. */
    rejects("{broken}", "invalid JSON");
    rejects(" {\"a\":", "truncated JSON");
}

/* ---- vigil_parse_time ----------------------------------------------- */

static int64_t must_parse(const char *s)
{
    int64_t ms = 0;
    cr_assert_eq(vigil_parse_time(s, strlen(s), &ms), 0, "%s", s);
    return ms;
}

Test(decode, parse_time_rfc3339_variants)
{
    int64_t base = utc_ms(2024, 2, 25, 14, 34, 10);
    cr_assert_eq(must_parse("2024-02-25T14:34:10Z"), base);
    cr_assert_eq(must_parse("2024-02-25t14:34:10z"), base);
    cr_assert_eq(must_parse("2024-02-25 14:34:10"), base);
    cr_assert_eq(must_parse("2024-02-25T14:34:10"), base);
    cr_assert_eq(must_parse("2024-02-25T14:34:10.5Z"), base + 500);
    cr_assert_eq(must_parse("2024-02-25T14:34:10,25Z"), base + 250);
    cr_assert_eq(must_parse("2024-02-25T14:34:10.123Z"), base + 123);
    cr_assert_eq(must_parse("2024-02-25T14:34:10.123999999Z"), base + 123);
    cr_assert_eq(must_parse("2024-02-25T14:34:10+01:00"), base - 3600000);
    cr_assert_eq(must_parse("2024-02-25T14:34:10-05:30"),
                 base + 5 * 3600000 + 30 * 60000);
    cr_assert_eq(must_parse("2024-02-25T14:34:10+0100"), base - 3600000);
    cr_assert_eq(must_parse("2024-02-25T14:34:10.75+00:00"), base + 750);
    cr_assert_eq(must_parse("1970-01-01T00:00:00Z"), 0);
    cr_assert_eq(must_parse("1969-12-31T23:59:59Z"), -1000);
    cr_assert_eq(must_parse("2024-02-29T00:00:00Z"),
                 utc_ms(2024, 2, 29, 0, 0, 0));
    cr_assert_eq(must_parse("2000-02-29T00:00:00Z"),
                 utc_ms(2000, 2, 29, 0, 0, 0));
    cr_assert_eq(must_parse("9999-12-31T23:59:59Z"),
                 utc_ms(9999, 12, 31, 23, 59, 59));
}

Test(decode, parse_time_matches_timegm_over_many_dates)
{
    /* Every 7th day and an odd hour from 1900 to 2100. */
    for (int64_t day = -25567; day < 47482; day += 7) {
        time_t t = (time_t)(day * 86400 + 13 * 3600 + 7 * 60 + 9);
        struct tm tm;
        gmtime_r(&t, &tm);
        char s[32];
        strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
        cr_assert_eq(must_parse(s), (int64_t)t * 1000, "%s", s);
    }
}

Test(decode, parse_time_ignores_the_process_time_zone)
{
    setenv("TZ", "America/New_York", 1);
    tzset();
    cr_assert_eq(must_parse("2024-07-01T00:00:00"),
                 utc_ms(2024, 7, 1, 0, 0, 0));
    cr_assert_eq(must_parse("2024-07-01T00:00:00Z"), INT64_C(1719792000000));
}

Test(decode, parse_time_epoch_seconds_and_milliseconds)
{
    cr_assert_eq(must_parse("0"), 0);
    cr_assert_eq(must_parse("1700000000"), INT64_C(1700000000000));
    cr_assert_eq(must_parse("1700000000.5"), INT64_C(1700000000500));
    cr_assert_eq(must_parse("1700000000.123456"), INT64_C(1700000000123));
    cr_assert_eq(must_parse("99999999999"), INT64_C(99999999999000));
    cr_assert_eq(must_parse("100000000000"), INT64_C(100000000000));
    cr_assert_eq(must_parse("1700000000123"), INT64_C(1700000000123));
    cr_assert_eq(must_parse("1700000000123.9"), INT64_C(1700000000123));
    cr_assert_eq(must_parse("999999999999999999"), INT64_C(999999999999999999));
}

Test(decode, parse_time_rejects_malformed_input)
{
    static const char *const bad[] = {
        "",
        "abc",
        "-5",
        "1e9",
        "12.",
        ".5",
        "1 ",
        " 1",
        "1234567890123456789",
        "2024-02-25",
        "2024-02-25T14:34",
        "2024-13-01T00:00:00Z",
        "2024-00-01T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2024-02-25T24:00:00Z",
        "2024-02-25T14:60:00Z",
        "2024-02-25T14:34:61Z",
        "2024-02-25T14:34:10+25:00",
        "2024-02-25T14:34:10+01:60",
        "2024-02-25T14:34:10+01",
        "2024-02-25T14:34:10+01:00:00",
        "2024-02-25T14:34:10Zjunk",
        "2024-02-25T14:34:10.Z",
        "2024-02-25X14:34:10Z",
        "2024-2-25T14:34:10Z",
        "20x4-02-25T14:34:10Z",
        "2024-02-25T14:34:10 Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms;
        cr_assert_eq(vigil_parse_time(bad[i], strlen(bad[i]), &ms), -1, "%s",
                     bad[i]);
    }
}

Test(decode, parse_time_reads_only_len_bytes)
{
    int64_t ms;
    cr_assert_eq(vigil_parse_time("2024-02-25T14:34:10Zgarbage", 20, &ms), 0);
    cr_assert_eq(ms, utc_ms(2024, 2, 25, 14, 34, 10));
    cr_assert_eq(vigil_parse_time("17000000009", 10, &ms), 0);
    cr_assert_eq(ms, INT64_C(1700000000000));
}

Test(decode, marks_what_it_decoded_as_utf8_until_a_field_is_added)
{
    cr_assert_eq(decode("{\"message\": \"caf\\u00e9 \\ud800\"}"), 0);
    cr_assert(ev.utf8);
    cr_assert_eq(decode("Feb 25 14:34:10 h sshd[1]: caf\xc3\xa9"), 0);
    cr_assert(ev.utf8);
    vigil_event_add(&ev, VIGIL_SV("x"), VIGIL_SV("\xff"), VIGIL_FIELD_STRING,
                    false);
    cr_assert_not(ev.utf8);
    cr_assert_eq(decode("{\"message\": \"\xff\"}"), -1);
    cr_assert_not(ev.utf8);
}
