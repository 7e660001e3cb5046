/*
 * enricher_assets, loaded from the built shared object: lookups by the
 * configured fields, the CSV dialect, every load error, and reload
 * (also while workers enrich).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_loader.h"
#include "support.h"

#define ASSETS VIGIL_PLUGIN_PATH_ENRICHER_ASSETS

static char *tmp;
static struct vigil_plugins *reg;

static void setup(void)
{
    tmp = vigil_test_tmpdir("vigil-assets");
    cr_assert_not_null(tmp);
}

static void teardown(void)
{
    vigil_plugins_destroy(reg);
    reg = NULL;
    vigil_test_rm_rf(tmp);
    free(tmp);
}

TestSuite(plugin_assets, .init = setup, .fini = teardown);

static const char inventory[] =
    "# asset inventory\n"
    "ip,hostname,owner,criticality,zone\n"
    "10.0.0.5,db-1.corp,dba-team,high,dmz\n"
    "\n"
    "10.0.0.6,,\"Smith, J.\",low,\"lab \"\"B\"\"\"\r\n"
    ",Bastion-1,soc,critical,\n";

/* Loads the plugin with the given config pairs (key, value, ..., NULL). */
static int load(char **err, ...)
{
    struct vigil_config_kv kv[8];
    size_t n = 0;
    va_list ap;
    va_start(ap, err);
    const char *k;
    while (n < 8 && (k = va_arg(ap, const char *)) != NULL) {
        kv[n].key = (char *)k;
        kv[n].value = va_arg(ap, char *);
        n++;
    }
    va_end(ap);
    struct vigil_config_map m = {kv, n};
    struct vigil_plugins_options o = {.config_dir = tmp};
    reg = vigil_plugins_create(&o);
    struct vigil_diags d = {0};
    struct vigil_plugin_source src = {.path = ASSETS, .config = &m};
    int rc = vigil_plugins_open(reg, &src, &d);
    if (err)
        *err = d.n ? strdup(d.v[0].msg) : NULL;
    vigil_diags_fini(&d);
    return rc;
}

/* The init error without the "<path>: plugin 'assets': init failed: ". */
static char *load_error(const char *csv, const char *key, const char *value)
{
    if (csv)
        free(vigil_test_write_file(tmp, "assets.csv", csv));
    char *err = NULL;
    cr_assert_eq(load(&err, "path", "assets.csv", key, value, NULL), -1);
    const char *tail = strstr(err, "init failed: ");
    cr_assert_not_null(tail, "%s", err);
    char *out = strdup(tail + 13);
    free(err);
    vigil_plugins_destroy(reg);
    reg = NULL;
    return out;
}

/* Enriches an event with the given fields; the asset.* fields as text. */
static char *enrich(const char *name, const char *value, ...)
{
    struct vigil_event ev;
    vigil_event_init(&ev);
    vigil_event_reset(&ev, "line", 4);
    va_list ap;
    va_start(ap, value);
    while (name) {
        vigil_event_add(&ev, (struct vigil_sv){name, strlen(name)},
                        (struct vigil_sv){value, strlen(value)},
                        VIGIL_FIELD_STRING, false);
        name = va_arg(ap, const char *);
        if (name)
            value = va_arg(ap, const char *);
    }
    va_end(ap);
    size_t before = ev.n_fields;
    cr_assert_eq(vigil_plugins_enrich(reg, &ev), 0);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    for (size_t i = before; i < ev.n_fields; i++)
        fprintf(f, "%.*s=%.*s\n", (int)ev.fields[i].name.len,
                ev.fields[i].name.ptr, (int)ev.fields[i].value.len,
                ev.fields[i].value.ptr);
    fclose(f);
    vigil_event_fini(&ev);
    return out;
}

#define ASSERT_ENRICHED(want, ...)                                             \
    do {                                                                       \
        char *got_ = enrich(__VA_ARGS__, NULL);                                \
        cr_assert_str_eq(got_, want);                                          \
        free(got_);                                                            \
    } while (0)

Test(plugin_assets, adds_the_columns_of_the_asset_an_event_names)
{
    free(vigil_test_write_file(tmp, "assets.csv", inventory));
    cr_assert_eq(load(NULL, "path", "assets.csv", NULL), 0);
    ASSERT_ENRICHED("asset.owner=dba-team\n"
                    "asset.criticality=high\n"
                    "asset.zone=dmz\n",
                    "src", "10.0.0.5");
    ASSERT_ENRICHED("asset.owner=Smith, J.\n"
                    "asset.criticality=low\n"
                    "asset.zone=lab \"B\"\n",
                    "src_ip", "10.0.0.6");
    /* Host names compare without case; empty cells add nothing. */
    ASSERT_ENRICHED("asset.owner=soc\n"
                    "asset.criticality=critical\n",
                    "host.name", "BASTION-1");
    ASSERT_ENRICHED("asset.owner=dba-team\n"
                    "asset.criticality=high\n"
                    "asset.zone=dmz\n",
                    "host.name", "DB-1.corp");
    ASSERT_ENRICHED("", "src", "192.0.2.1", "user", "bob");
}

Test(plugin_assets, tries_the_fields_in_order_and_uses_the_first_known)
{
    free(vigil_test_write_file(tmp, "assets.csv", inventory));
    cr_assert_eq(load(NULL, "path", "assets.csv", NULL), 0);
    /* src is unknown, src_ip is known: src_ip's asset. */
    ASSERT_ENRICHED("asset.owner=dba-team\n"
                    "asset.criticality=high\n"
                    "asset.zone=dmz\n",
                    "src", "192.0.2.1", "src_ip", "10.0.0.5", "host.name",
                    "bastion-1");
}

Test(plugin_assets, takes_other_fields_and_prefix_and_an_absolute_path)
{
    char *path = vigil_test_write_file(tmp, "inv.csv",
                                       "hostname,owner\nweb-1,web-team\n");
    cr_assert_eq(load(NULL, "path", path, "fields", "dst, dhost", "prefix",
                      "dst_asset", NULL),
                 0);
    ASSERT_ENRICHED("dst_asset.owner=web-team\n", "dhost", "web-1");
    ASSERT_ENRICHED("", "src", "web-1");
    free(path);
}

Test(plugin_assets, reports_every_kind_of_bad_inventory)
{
    char *e;
    e = load_error(NULL, "fields", "src");
    cr_assert(strstr(e, "/assets.csv: No such file or directory"), "%s", e);
    free(e);
    const struct {
        const char *csv, *want;
    } cases[] = {
        {"", "{}: no header line"},
        {"owner,zone\nx,y\n",
         "{}: the header names no 'ip' or 'hostname' column"},
        {"ip,owner\n1.1.1.1\n", "{}: line 2: 1 columns, the header has 2"},
        {"ip,owner\n\n1.1.1.1,a\n1.1.1.1,b\n",
         "{}: line 4: duplicate key '1.1.1.1'"},
        {"ip,hostname,owner\n1.1.1.1,H,a\n2.2.2.2,h,b\n",
         "{}: line 3: duplicate key 'h'"},
        {"ip,owner\n,a\n", "{}: line 2: no ip or hostname"},
        {"ip,owner\n1.1.1.1,\"open\n", "{}: line 2: unterminated quote"},
        {"ip,owner\n1.1.1.1,a\"b\n", "{}: line 2: stray quote in a cell"},
        {"ip,own er\n", "{}: header: column 2: a column name is 1 or more "
                        "of A-Z a-z 0-9 _ . -"},
        {"ip,owner,owner\n", "{}: duplicate column 'owner'"},
        {"ip,owner\n1.1.1.1,\xff\n", "{}: line 2: not UTF-8"},
    };
    char *file = NULL;
    cr_assert(asprintf(&file, "%s/assets.csv", tmp) > 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        e = load_error(cases[i].csv, "fields", "src");
        const char *rest = strstr(cases[i].want, "{}") + 2;
        char *want = NULL;
        cr_assert(asprintf(&want, "%s%s", file, rest) > 0);
        cr_assert_str_eq(e, want, "case %zu", i);
        free(want);
        free(e);
    }
    free(file);
}

Test(plugin_assets, reports_config_mistakes)
{
    char *err = NULL;
    cr_assert_eq(load(&err, NULL), -1);
    cr_assert(strstr(err, "config: 'path' (the CSV inventory) is required"),
              "%s", err);
    free(err);
    vigil_plugins_destroy(reg);
    free(vigil_test_write_file(tmp, "assets.csv", inventory));
    err = load_error(NULL, "colour", "red");
    cr_assert_str_eq(err, "unknown config key 'colour' (path, fields, prefix)");
    free(err);
    err = load_error(NULL, "fields", " , ");
    cr_assert_str_eq(err, "fields: no field named");
    free(err);
}

Test(plugin_assets, reload_swaps_in_a_new_file_and_keeps_the_old_on_errors)
{
    free(vigil_test_write_file(tmp, "assets.csv", inventory));
    cr_assert_eq(load(NULL, "path", "assets.csv", NULL), 0);
    free(vigil_test_write_file(tmp, "assets.csv",
                               "ip,owner\n10.0.0.5,new-team\n"));
    cr_assert_eq(vigil_plugins_reload(reg), 0);
    ASSERT_ENRICHED("asset.owner=new-team\n", "src", "10.0.0.5");
    ASSERT_ENRICHED("", "host.name", "bastion-1");
    free(vigil_test_write_file(tmp, "assets.csv", "ip,owner\n\"broken\n"));
    cr_assert_eq(vigil_plugins_reload(reg), -1);
    ASSERT_ENRICHED("asset.owner=new-team\n", "src", "10.0.0.5");
}

static void *enrich_loop(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        char *got = enrich("src", "10.0.0.5", NULL);
        if (strcmp(got, "asset.owner=a\n") != 0 &&
            strcmp(got, "asset.owner=b\n") != 0) {
            free(got);
            return (void *)1;
        }
        free(got);
    }
    return NULL;
}

Test(plugin_assets, workers_enrich_while_the_main_thread_reloads)
{
    char *a = vigil_test_write_file(tmp, "a.csv", "ip,owner\n10.0.0.5,a\n");
    char *b = vigil_test_write_file(tmp, "b.csv", "ip,owner\n10.0.0.5,b\n");
    free(vigil_test_write_file(tmp, "assets.csv", "ip,owner\n10.0.0.5,a\n"));
    cr_assert_eq(load(NULL, "path", "assets.csv", NULL), 0);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, enrich_loop, NULL), 0);
    for (int i = 0; i < 50; i++) {
        char *text = vigil_test_read_file(i % 2 ? a : b, NULL);
        free(vigil_test_write_file(tmp, "assets.csv", text));
        free(text);
        cr_assert_eq(vigil_plugins_reload(reg), 0);
    }
    for (int i = 0; i < 3; i++) {
        void *rc;
        pthread_join(t[i], &rc);
        cr_assert_null(rc, "a worker saw a torn table");
    }
    free(a);
    free(b);
}
