/*
 * plugin_loader: the ABI checks with purpose-built broken plugins
 * (tests/plugins/broken_*), the registry, the config checks, and the host
 * table as plugins see it (descriptors linked into this test).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "decode.h"
#include "plugin_loader.h"
#include "support.h"

#define CEF VIGIL_PLUGIN_PATH_DECODER_CEF
#define LEEF VIGIL_PLUGIN_PATH_DECODER_LEEF
#define TEAMS VIGIL_PLUGIN_PATH_NOTIFIER_TEAMS

static char *joined(const struct vigil_diags *d)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    cr_assert_not_null(f);
    vigil_diags_print(d, f);
    fclose(f);
    return out;
}

/* Opens path as if listed at vigil.yaml:7:11; returns the diagnostics. */
static char *open_error(struct vigil_plugins *r, const char *path,
                        const struct vigil_config_map *config)
{
    struct vigil_diags d = {0};
    struct vigil_plugin_source src = {
        .path = path, .config = config, .file = "vigil.yaml", .pos = {7, 11}};
    cr_assert_eq(vigil_plugins_open(r, &src, &d), -1, "%s loaded", path);
    char *out = joined(&d);
    vigil_diags_fini(&d);
    return out;
}

static void assert_open_error(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The one diagnostic of loading path, "vigil.yaml:7:11: <path>: <msg>". */
static void assert_open_error(const char *path, const char *fmt, ...)
{
    struct vigil_plugins *r = vigil_plugins_create(NULL);
    cr_assert_not_null(r);
    char *got = open_error(r, path, NULL);
    char *msg = NULL, *want = NULL;
    va_list ap;
    va_start(ap, fmt);
    cr_assert(vasprintf(&msg, fmt, ap) > 0);
    va_end(ap);
    cr_assert(asprintf(&want, "vigil.yaml:7:11: %s: %s\n", path, msg) > 0);
    cr_assert_str_eq(got, want);
    cr_assert_eq(vigil_plugins_count(r), 0);
    free(msg);
    free(want);
    free(got);
    vigil_plugins_destroy(r);
}

static struct vigil_plugins *registry_with(const char *const *paths)
{
    struct vigil_plugins *r = vigil_plugins_create(NULL);
    cr_assert_not_null(r);
    for (; *paths; paths++) {
        struct vigil_diags d = {0};
        struct vigil_plugin_source src = {.path = *paths};
        cr_assert_eq(vigil_plugins_open(r, &src, &d), 0, "%s: %s", *paths,
                     d.n ? d.v[0].msg : "");
        vigil_diags_fini(&d);
    }
    return r;
}

/* ---- ABI checks with real shared objects ------------------------------- */

Test(plugin_loader, rejects_another_abi_major)
{
    assert_open_error(VIGIL_PLUGIN_PATH_BROKEN_MAJOR,
                      "ABI major 2, this vigild speaks 1");
}

Test(plugin_loader, rejects_a_struct_smaller_than_abi_1_0_without_reading_it)
{
    /* Only 16 bytes exist: ASan would catch a read of any later field. */
    assert_open_error(VIGIL_PLUGIN_PATH_BROKEN_SHORT,
                      "struct too small (16 bytes, need at least %zu)",
                      sizeof(struct vigil_plugin_v1));
}

Test(plugin_loader, rejects_a_shared_object_without_the_symbol)
{
    assert_open_error(VIGIL_PLUGIN_PATH_BROKEN_NOSYM,
                      "not a vigil plugin: no symbol 'vigil_plugin_v1'");
}

Test(plugin_loader, rejects_a_decoder_without_decode)
{
    assert_open_error(VIGIL_PLUGIN_PATH_BROKEN_NOCALLBACK,
                      "missing decode callback");
}

Test(plugin_loader, rejects_a_duplicate_name_naming_both_files)
{
    const char *const paths[] = {CEF, NULL};
    struct vigil_plugins *r = registry_with(paths);
    char *got = open_error(r, VIGIL_PLUGIN_PATH_BROKEN_DUP, NULL);
    char *want = NULL;
    cr_assert(asprintf(&want,
                       "vigil.yaml:7:11: %s: duplicate plugin name 'cef' "
                       "(also in %s)\n",
                       VIGIL_PLUGIN_PATH_BROKEN_DUP, CEF) > 0);
    cr_assert_str_eq(got, want);
    cr_assert_eq(vigil_plugins_count(r), 1);
    free(got);
    free(want);
    vigil_plugins_destroy(r);
}

Test(plugin_loader, rejects_the_same_file_twice_as_a_duplicate)
{
    const char *const paths[] = {CEF, NULL};
    struct vigil_plugins *r = registry_with(paths);
    char *got = open_error(r, CEF, NULL);
    char *want = NULL;
    cr_assert(asprintf(&want,
                       "vigil.yaml:7:11: %s: duplicate plugin name 'cef' "
                       "(also in %s)\n",
                       CEF, CEF) > 0);
    cr_assert_str_eq(got, want);
    free(got);
    free(want);
    vigil_plugins_destroy(r);
}

Test(plugin_loader, reports_a_failed_init_with_the_plugins_message)
{
    struct vigil_config_kv kv[] = {{"mode", "strict"}, {"x", "1"}};
    struct vigil_config_map config = {kv, 2};
    struct vigil_plugins *r = vigil_plugins_create(NULL);
    char *got = open_error(r, VIGIL_PLUGIN_PATH_BROKEN_INIT, &config);
    char *want = NULL;
    cr_assert(asprintf(&want,
                       "vigil.yaml:7:11: %s: plugin 'badinit': init failed: "
                       "2 config keys, first 'mode'\n",
                       VIGIL_PLUGIN_PATH_BROKEN_INIT) > 0);
    cr_assert_str_eq(got, want);
    free(got);
    free(want);
    vigil_plugins_destroy(r);
}

Test(plugin_loader, reports_a_file_dlopen_cannot_load)
{
    char *dir = vigil_test_tmpdir("vigil-plugin");
    char *path = vigil_test_write_file(dir, "junk.so", "not an ELF file\n");
    struct vigil_plugins *r = vigil_plugins_create(NULL);
    char *got = open_error(r, path, NULL);
    char *prefix = NULL;
    cr_assert(asprintf(&prefix, "vigil.yaml:7:11: %s: cannot load: ", path) >
              0);
    cr_assert_eq(strncmp(got, prefix, strlen(prefix)), 0, "%s", got);
    free(prefix);
    free(got);
    vigil_plugins_destroy(r);
    vigil_test_rm_rf(dir);
    free(path);
    free(dir);
}

Test(plugin_loader, loads_the_shipped_plugins_with_their_names_and_kinds)
{
    const char *const paths[] = {CEF, LEEF, TEAMS, NULL};
    struct vigil_plugins *r = registry_with(paths);
    cr_assert_eq(vigil_plugins_count(r), 3);
    struct vigil_plugin *p = vigil_plugins_find(r, VIGIL_PLUGIN_DECODER, "cef");
    cr_assert_not_null(p);
    cr_assert_str_eq(vigil_plugin_path(p), CEF);
    cr_assert_str_eq(vigil_plugin_version(p), "1.0.0");
    cr_assert_eq(vigil_plugin_kind(p), VIGIL_PLUGIN_DECODER);
    cr_assert_not_null(vigil_plugins_find(r, VIGIL_PLUGIN_DECODER, "leef"));
    cr_assert_not_null(vigil_plugins_find(r, VIGIL_PLUGIN_NOTIFIER, "teams"));
    cr_assert_null(vigil_plugins_find(r, VIGIL_PLUGIN_DECODER, "teams"));
    cr_assert_str_eq(vigil_plugin_name(vigil_plugins_at(r, 2)), "teams");
    cr_assert_null(vigil_plugins_at(r, 3));
    vigil_plugins_destroy(r);
}

/* ---- the config: every problem at its position ------------------------- */

static struct vigil_config *config_of(const char *text, struct vigil_diags *d)
{
    return vigil_config_load_string("vigil.yaml", text, strlen(text),
                                    VIGIL_TESTS_DIR, d);
}

#define HEAD                                                                   \
    "redis: {url: \"redis://127.0.0.1:6379/0\"}\n"                             \
    "rules: [\"" VIGIL_TESTS_DIR "/config/good/rules/*.yaml\"]\n"

Test(plugin_loader, load_reports_every_broken_plugin_of_the_config)
{
    struct vigil_diags d = {0};
    struct vigil_config *cfg =
        config_of(HEAD "plugins:\n"
                       "  - path: " VIGIL_PLUGIN_PATH_BROKEN_MAJOR "\n"
                       "  - path: " CEF "\n"
                       "  - path: " VIGIL_PLUGIN_PATH_BROKEN_NOCALLBACK "\n",
                  &d);
    cr_assert_not_null(cfg, "%s", d.n ? d.v[0].msg : "");
    cr_assert_null(vigil_plugins_load(cfg, &d));
    char *got = joined(&d);
    char *want = NULL;
    cr_assert(asprintf(&want,
                       "vigil.yaml:4:11: %s: ABI major 2, this vigild speaks "
                       "1\n"
                       "vigil.yaml:6:11: %s: missing decode callback\n",
                       VIGIL_PLUGIN_PATH_BROKEN_MAJOR,
                       VIGIL_PLUGIN_PATH_BROKEN_NOCALLBACK) > 0);
    cr_assert_str_eq(got, want);
    free(got);
    free(want);
    vigil_diags_fini(&d);
    vigil_config_destroy(cfg);
}

static char *check_config(const char *text)
{
    struct vigil_diags d = {0};
    struct vigil_config *cfg = config_of(text, &d);
    cr_assert_not_null(cfg, "%s", d.n ? d.v[0].msg : "");
    struct vigil_plugins *r = vigil_plugins_load(cfg, &d);
    cr_assert_not_null(r, "%s", d.n ? d.v[0].msg : "");
    int rc = vigil_plugins_check_config(r, cfg, &d);
    char *got = joined(&d);
    cr_assert_eq(rc, d.n ? -1 : 0);
    vigil_plugins_destroy(r);
    vigil_diags_fini(&d);
    vigil_config_destroy(cfg);
    return got;
}

Test(plugin_loader, check_accepts_names_the_plugins_provide)
{
    char *got = check_config(HEAD "events: {format: cef}\n"
                                  "notifiers:\n"
                                  "  - name: soc\n"
                                  "    type: teams\n"
                                  "    url: https://example.invalid/hook\n"
                                  "plugins:\n"
                                  "  - path: " CEF "\n"
                                  "  - path: " TEAMS "\n");
    cr_assert_str_eq(got, "");
    free(got);
}

Test(plugin_loader, check_reports_unknown_and_wrong_kind_names_at_their_place)
{
    char *got = check_config(HEAD "events: {format: qradar}\n"
                                  "notifiers:\n"
                                  "  - name: soc\n"
                                  "    type: leef\n"
                                  "  - name: ops\n"
                                  "    type: opsgenie\n"
                                  "plugins:\n"
                                  "  - path: " CEF "\n"
                                  "  - path: " LEEF "\n");
    char *want = NULL;
    cr_assert(asprintf(&want,
                       "vigil.yaml:3:18: events.format: no decoder plugin "
                       "named 'qradar' is loaded (decoders: cef, leef)\n"
                       "vigil.yaml:6:11: notifiers[0].type: plugin 'leef' "
                       "(%s) is a decoder, not a notifier\n"
                       "vigil.yaml:8:11: notifiers[1].type: no notifier "
                       "plugin named 'opsgenie' is loaded (notifiers: none)\n",
                       LEEF) > 0);
    cr_assert_str_eq(got, want);
    free(got);
    free(want);
}

/* ---- descriptors linked in: name checks -------------------------------- */

static int nop_decode(void *state, const char *data, size_t len,
                      struct vigil_plugin_event *ev, const char **reason)
{
    (void)state, (void)data, (void)len, (void)ev, (void)reason;
    return 0;
}

static int nop_notify(void *state, const struct vigil_plugin_notification *n,
                      char *err, size_t errlen)
{
    (void)state, (void)n, (void)err, (void)errlen;
    return 0;
}

#define DESC(kind_, name_)                                                     \
    .abi_major = VIGIL_PLUGIN_ABI_MAJOR,                                       \
    .struct_size = sizeof(struct vigil_plugin_v1), .kind = (kind_),            \
    .name = (name_), .version = "1"

static char *add_error(const struct vigil_plugin_v1 *desc)
{
    struct vigil_plugins *r = vigil_plugins_create(NULL);
    struct vigil_diags d = {0};
    struct vigil_plugin_source src = {.path = "linked-in"};
    cr_assert_eq(vigil_plugins_add(r, desc, &src, &d), -1);
    cr_assert_eq(d.n, 1);
    char *out = strdup(d.v[0].msg);
    vigil_diags_fini(&d);
    vigil_plugins_destroy(r);
    return out;
}

Test(plugin_loader, rejects_bad_names_kinds_and_versions)
{
    static const struct vigil_plugin_v1 bad_name = {
        DESC(VIGIL_PLUGIN_DECODER, "c e f"), .decode = nop_decode};
    static const struct vigil_plugin_v1 no_name = {
        DESC(VIGIL_PLUGIN_DECODER, NULL), .decode = nop_decode};
    static const struct vigil_plugin_v1 no_version = {
        .abi_major = 1,
        .struct_size = sizeof(struct vigil_plugin_v1),
        .kind = VIGIL_PLUGIN_DECODER,
        .name = "x",
        .decode = nop_decode};
    static const struct vigil_plugin_v1 bad_kind = {DESC(9, "x"),
                                                    .decode = nop_decode};
    static const struct vigil_plugin_v1 json = {
        DESC(VIGIL_PLUGIN_DECODER, "json"), .decode = nop_decode};
    static const struct vigil_plugin_v1 slack = {
        DESC(VIGIL_PLUGIN_NOTIFIER, "slack"), .notify = nop_notify};
    static const struct vigil_plugin_v1 no_notify = {
        DESC(VIGIL_PLUGIN_NOTIFIER, "pager")};
    static const struct vigil_plugin_v1 no_enrich = {
        DESC(VIGIL_PLUGIN_ENRICHER, "geo")};
    const struct {
        const struct vigil_plugin_v1 *desc;
        const char *msg;
    } cases[] = {
        {&bad_name,
         "linked-in: the plugin name must be 1 to 64 of A-Z a-z 0-9 _ . -"},
        {&no_name,
         "linked-in: the plugin name must be 1 to 64 of A-Z a-z 0-9 _ . -"},
        {&no_version, "linked-in: plugin 'x' has no version"},
        {&bad_kind, "linked-in: plugin 'x' has an unknown kind 9"},
        {&json, "linked-in: plugin name 'json' is a built-in format"},
        {&slack, "linked-in: plugin name 'slack' is a built-in notifier type"},
        {&no_notify, "linked-in: missing notify callback"},
        {&no_enrich, "linked-in: missing enrich callback"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = add_error(cases[i].desc);
        cr_assert_str_eq(got, cases[i].msg);
        free(got);
    }
}

Test(plugin_loader, accepts_a_struct_larger_than_it_knows)
{
    /* A plugin built against a later 1.x header: more bytes, same start. */
    static struct {
        struct vigil_plugin_v1 v1;
        void (*later)(void);
    } newer = {{DESC(VIGIL_PLUGIN_DECODER, "newer"), .decode = nop_decode},
               NULL};
    newer.v1.struct_size = sizeof(newer);
    struct vigil_plugins *r = vigil_plugins_create(NULL);
    struct vigil_diags d = {0};
    struct vigil_plugin_source src = {.path = "linked-in"};
    cr_assert_eq(vigil_plugins_add(r, &newer.v1, &src, &d), 0);
    vigil_plugins_destroy(r);
    vigil_diags_fini(&d);
}

/* ---- the host table, as a decoder and an enricher see it -------------- */

struct probe {
    const struct vigil_host_api *host;
    const char *mode;
    char own[64]; /* the plugin's own buffer: must be copied */
    int64_t now;
    int reloads;
};

static struct probe probe;

static int probe_init(const struct vigil_host_api *host,
                      const struct vigil_plugin_kv *config, size_t n_config,
                      void **state, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    probe.host = host;
    probe.mode = n_config ? config[0].value : "fields";
    /* config is borrowed for the call: keep a copy of what matters. */
    probe.mode = strcmp(probe.mode, "utf8") == 0        ? "utf8"
                 : strcmp(probe.mode, "many") == 0      ? "many"
                 : strcmp(probe.mode, "reject") == 0    ? "reject"
                 : strcmp(probe.mode, "silent") == 0    ? "silent"
                 : strcmp(probe.mode, "emptyname") == 0 ? "emptyname"
                                                        : "fields";
    probe.now = host->now_ms(host);
    *state = &probe;
    return 0;
}

static int probe_decode(void *state, const char *data, size_t len,
                        struct vigil_plugin_event *ev, const char **reason)
{
    struct probe *p = state;
    const struct vigil_host_api *h = p->host;
    if (strcmp(p->mode, "reject") == 0) {
        *reason = "not probe format";
        return -1;
    }
    if (strcmp(p->mode, "silent") == 0)
        return -1;
    if (strcmp(p->mode, "utf8") == 0) {
        h->event_add(ev, "bad", 3, "\xff", 1);
        return 0;
    }
    if (strcmp(p->mode, "emptyname") == 0) {
        h->event_add(ev, "", 0, "x", 1);
        return 0;
    }
    if (strcmp(p->mode, "many") == 0) {
        for (int i = 0; i < VIGIL_EVENT_MAX_FIELDS + 1; i++)
            h->event_add(ev, "f", 1, data, len);
        return 0;
    }
    h->event_add(ev, "whole", 5, data, len);
    snprintf(p->own, sizeof(p->own), "own value");
    h->event_add(ev, "own", 3, p->own, strlen(p->own));
    char *buf = h->event_alloc(ev, 5);
    memcpy(buf, "alloc", 5);
    h->event_add(ev, "alloc", 5, buf, 5);
    h->event_set_time(ev, 1234);
    return 0;
}

static int probe_reload(void *state, char *err, size_t errlen)
{
    struct probe *p = state;
    p->reloads++;
    if (p->reloads > 1) {
        snprintf(err, errlen, "second reload refused");
        return -1;
    }
    return 0;
}

static const struct vigil_plugin_v1 probe_desc = {
    DESC(VIGIL_PLUGIN_DECODER, "probe"),
    .init = probe_init,
    .decode = probe_decode,
    .reload = probe_reload,
};

static int64_t fixed_clock(void *ctx)
{
    return *(int64_t *)ctx;
}

static struct vigil_plugins *probe_registry(const char *mode,
                                            struct vigil_plugin **out)
{
    static int64_t now = 1717243200000;
    struct vigil_plugins_options o = {.now_ms = fixed_clock, .clock_ctx = &now};
    struct vigil_plugins *r = vigil_plugins_create(&o);
    struct vigil_config_kv kv[] = {{"mode", (char *)mode}};
    struct vigil_config_map config = {kv, 1};
    struct vigil_plugin_source src = {.path = "probe", .config = &config};
    struct vigil_diags d = {0};
    cr_assert_eq(vigil_plugins_add(r, &probe_desc, &src, &d), 0);
    vigil_diags_fini(&d);
    *out = vigil_plugins_find(r, VIGIL_PLUGIN_DECODER, "probe");
    return r;
}

static struct vigil_decoder *decoder_for(struct vigil_plugin *p,
                                         const char *time_field)
{
    struct vigil_decode_options o = {.format = VIGIL_FORMAT_AUTO,
                                     .time_field = time_field};
    struct vigil_decoder *d = vigil_decoder_create(&o);
    cr_assert_not_null(d);
    vigil_decoder_set_custom(d, vigil_plugin_decode, p);
    return d;
}

Test(plugin_loader, host_references_input_and_alloc_and_copies_the_rest)
{
    struct vigil_plugin *p;
    struct vigil_plugins *r = probe_registry("fields", &p);
    cr_assert_eq(probe.now, 1717243200000);
    struct vigil_decoder *d = decoder_for(p, NULL);
    struct vigil_event ev;
    vigil_event_init(&ev);
    const char line[] = "some line";
    const char *why = NULL;
    cr_assert_eq(vigil_decode(d, line, 9, 99, &ev, &why), 0);
    cr_assert_null(why);
    cr_assert_eq(ev.n_fields, 3);
    const struct vigil_field *f = vigil_event_find(&ev, VIGIL_SV("whole"));
    cr_assert_eq(f->value.ptr, line, "a view into the input");
    f = vigil_event_find(&ev, VIGIL_SV("own"));
    cr_assert_neq(f->value.ptr, probe.own, "the plugin's buffer is copied");
    cr_assert(vigil_sv_eq(f->value, VIGIL_SV("own value")));
    memset(probe.own, 'X', sizeof(probe.own) - 1); /* reused at once */
    cr_assert(vigil_sv_eq(f->value, VIGIL_SV("own value")));
    f = vigil_event_find(&ev, VIGIL_SV("alloc"));
    cr_assert(vigil_sv_eq(f->value, VIGIL_SV("alloc")));
    cr_assert_eq(f->kind, VIGIL_FIELD_STRING);
    cr_assert_not(f->escaped);
    cr_assert_eq(ev.time_ms, 1234, "the decoder's time");
    vigil_event_fini(&ev);
    vigil_decoder_destroy(d);
    vigil_plugins_destroy(r);
}

static const char *decode_reason(const char *mode, size_t *n_fields)
{
    struct vigil_plugin *p;
    struct vigil_plugins *r = probe_registry(mode, &p);
    struct vigil_decoder *d = decoder_for(p, NULL);
    struct vigil_event ev;
    vigil_event_init(&ev);
    const char *why = NULL;
    cr_assert_eq(vigil_decode(d, "x", 1, 99, &ev, &why), -1);
    *n_fields = ev.n_fields;
    cr_assert_eq(ev.time_ms, 99);
    vigil_event_fini(&ev);
    vigil_decoder_destroy(d);
    vigil_plugins_destroy(r);
    return why;
}

Test(plugin_loader, decode_fails_with_the_plugins_or_the_hosts_reason)
{
    size_t n;
    cr_assert_str_eq(decode_reason("reject", &n), "not probe format");
    cr_assert_str_eq(decode_reason("silent", &n),
                     "rejected by the decoder plugin");
    cr_assert_str_eq(decode_reason("utf8", &n), "not UTF-8");
    cr_assert_eq(n, 0, "a failed decode leaves no fields");
    cr_assert_str_eq(decode_reason("emptyname", &n), "empty field name");
    cr_assert_str_eq(decode_reason("many", &n), "too many fields");
}

Test(plugin_loader, time_field_wins_over_the_decoders_time)
{
    struct vigil_plugin *p;
    struct vigil_plugins *r = probe_registry("fields", &p);
    struct vigil_decoder *d = decoder_for(p, "whole");
    struct vigil_event ev;
    vigil_event_init(&ev);
    const char *why = NULL;
    cr_assert_eq(vigil_decode(d, "2024-06-01T12:00:00Z", 20, 99, &ev, &why), 0);
    cr_assert_eq(ev.time_ms, 1717243200000);
    cr_assert_null(why);
    cr_assert_eq(vigil_decode(d, "yesterday", 9, 99, &ev, &why), 0);
    cr_assert_str_eq(why, "unparsable time field");
    cr_assert_eq(ev.time_ms, 1234, "the decoder's time stays");
    vigil_event_fini(&ev);
    vigil_decoder_destroy(d);
    vigil_plugins_destroy(r);
}

Test(plugin_loader, reload_calls_every_plugin_and_reports_failures)
{
    struct vigil_plugin *p;
    probe.reloads = 0;
    struct vigil_plugins *r = probe_registry("fields", &p);
    cr_assert_eq(vigil_plugins_reload(r), 0);
    cr_assert_eq(vigil_plugins_reload(r), -1);
    cr_assert_eq(probe.reloads, 2);
    vigil_plugins_destroy(r);
}

/* Enrichers: each appends its letter to "trail", which shows the order. */
struct tagger {
    const struct vigil_host_api *host;
    const char *letter;
    bool fail;
};

static struct tagger tag_a = {NULL, "a", false}, tag_b = {NULL, "b", true},
                     tag_c = {NULL, "c", false};

static int tag_init(struct tagger *t, const struct vigil_host_api *host,
                    void **state)
{
    t->host = host;
    *state = t;
    return 0;
}

#define TAG_INIT(x)                                                            \
    static int init_##x(const struct vigil_host_api *host,                     \
                        const struct vigil_plugin_kv *config, size_t n,        \
                        void **state, char *err, size_t errlen)                \
    {                                                                          \
        (void)config, (void)n, (void)err, (void)errlen;                        \
        return tag_init(&tag_##x, host, state);                                \
    }
TAG_INIT(a)
TAG_INIT(b)
TAG_INIT(c)

static int tag_enrich(void *state, struct vigil_plugin_event *ev)
{
    struct tagger *t = state;
    const struct vigil_host_api *h = t->host;
    const char *v = "";
    size_t n = 0;
    h->event_get(ev, "trail", 5, &v, &n);
    char buf[16];
    int w = snprintf(buf, sizeof(buf), "%.*s%s", (int)n, v, t->letter);
    h->event_add(ev, "trail", 5, buf, (size_t)w);
    return t->fail ? -1 : 0;
}

Test(plugin_loader, enrichers_run_in_loading_order_and_failures_are_counted)
{
    static const struct vigil_plugin_v1 a = {
        DESC(VIGIL_PLUGIN_ENRICHER, "a"), .init = init_a, .enrich = tag_enrich};
    static const struct vigil_plugin_v1 b = {
        DESC(VIGIL_PLUGIN_ENRICHER, "b"), .init = init_b, .enrich = tag_enrich};
    static const struct vigil_plugin_v1 c = {
        DESC(VIGIL_PLUGIN_ENRICHER, "c"), .init = init_c, .enrich = tag_enrich};
    struct vigil_plugins *r = vigil_plugins_create(NULL);
    cr_assert_not(vigil_plugins_has_enrichers(r));
    const struct vigil_plugin_v1 *descs[] = {&c, &a, &b};
    for (size_t i = 0; i < 3; i++) {
        struct vigil_diags d = {0};
        struct vigil_plugin_source src = {.path = "linked-in"};
        cr_assert_eq(vigil_plugins_add(r, descs[i], &src, &d), 0);
    }
    cr_assert(vigil_plugins_has_enrichers(r));
    struct vigil_event ev;
    vigil_event_init(&ev);
    vigil_event_reset(&ev, "line", 4);
    cr_assert_eq(vigil_event_add(&ev, VIGIL_SV("trail"), VIGIL_SV(">"),
                                 VIGIL_FIELD_STRING, false),
                 0);
    cr_assert_eq(vigil_plugins_enrich(r, &ev), -1);
    const struct vigil_field *f = vigil_event_find(&ev, VIGIL_SV("trail"));
    cr_assert(vigil_sv_eq(f->value, VIGIL_SV(">cab")), "%.*s",
              (int)f->value.len, f->value.ptr);
    cr_assert_eq(vigil_plugin_errors(vigil_plugins_at(r, 2)), 1);
    cr_assert_eq(vigil_plugin_errors(vigil_plugins_at(r, 0)), 0);
    vigil_event_fini(&ev);
    vigil_plugins_destroy(r);
}

Test(plugin_loader, pipeline_options_pick_the_decoder_and_the_enrichers)
{
    struct vigil_diags d = {0};
    struct vigil_config *cfg = config_of(HEAD "events: {format: leef}\n"
                                              "plugins:\n"
                                              "  - path: " CEF "\n"
                                              "  - path: " LEEF "\n",
                                         &d);
    cr_assert_not_null(cfg);
    struct vigil_plugins *r = vigil_plugins_load(cfg, &d);
    cr_assert_not_null(r);
    struct vigil_pipeline_options po = {0};
    cr_assert_eq(vigil_plugins_pipeline_options(r, cfg, &po), 0);
    cr_assert_eq(po.decode_custom, vigil_plugin_decode);
    cr_assert_eq(po.decode_ctx,
                 vigil_plugins_find(r, VIGIL_PLUGIN_DECODER, "leef"));
    cr_assert_null(po.enrich, "no enrichers loaded");
    vigil_plugins_destroy(r);
    /* The same config without its plugins: the decoder is missing. */
    cr_assert_eq(vigil_plugins_pipeline_options(NULL, cfg, &po), -1);
    vigil_config_destroy(cfg);
    vigil_diags_fini(&d);
}

/* ---- notifiers --------------------------------------------------------- */

static struct {
    char seen[512];
    int calls;
} note_log;

static int record_notify(void *state, const struct vigil_plugin_notification *n,
                         char *err, size_t errlen)
{
    (void)state;
    note_log.calls++;
    snprintf(note_log.seen, sizeof(note_log.seen),
             "%s %s %u h:%s=%s c:%s=%s %.*s", n->notifier, n->url,
             (unsigned)n->timeout_ms, n->headers[0].key, n->headers[0].value,
             n->config[0].key, n->config[0].value, (int)n->json_len, n->json);
    if (strstr(n->json, "fail")) {
        snprintf(err, errlen, "receiver said no");
        return -1;
    }
    return 0;
}

Test(plugin_loader, notify_hands_over_the_notifier_entry_and_the_json)
{
    static const struct vigil_plugin_v1 rec = {
        DESC(VIGIL_PLUGIN_NOTIFIER, "rec"), .notify = record_notify};
    struct vigil_plugins *r = vigil_plugins_create(NULL);
    struct vigil_diags d = {0};
    struct vigil_plugin_source src = {.path = "linked-in"};
    cr_assert_eq(vigil_plugins_add(r, &rec, &src, &d), 0);
    struct vigil_plugin *p =
        vigil_plugins_find(r, VIGIL_PLUGIN_NOTIFIER, "rec");
    struct vigil_config_kv h[] = {{"X-Team", "soc"}};
    struct vigil_config_kv c[] = {{"card", "adaptive"}};
    struct vigil_config_notifier n = {
        .name = "oncall",
        .url = "http://127.0.0.1:1/x",
        .timeout_ms = 2500,
        .headers = {h, 1},
        .config = {c, 1},
    };
    char err[64] = "unchanged";
    cr_assert_eq(vigil_plugin_notify(p, &n, "{\"a\":1}", 7, err, sizeof(err)),
                 0);
    cr_assert_str_eq(err, "");
    cr_assert_str_eq(note_log.seen, "oncall http://127.0.0.1:1/x 2500 "
                                    "h:X-Team=soc c:card=adaptive {\"a\":1}");
    cr_assert_eq(vigil_plugin_notify(p, &n, "\"fail\"", 6, err, sizeof(err)),
                 -1);
    cr_assert_str_eq(err, "receiver said no");
    cr_assert_eq(vigil_plugin_errors(p), 1);
    vigil_plugins_destroy(r);
}
