/*
 * deploy/: what cannot run on the build machine (Docker, Compose,
 * Kubernetes, systemd) is at least checked here. Every YAML file parses;
 * the Kubernetes objects are complete and refer to each other correctly;
 * the vigil configs of the Compose file and of the ConfigMap pass
 * `vigild check`, with the shipped packs where the image installs them
 * (/usr/share/vigil/rules) mapped to the source tree's rules/.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "support.h"
#include "yaml_doc.h"

#define DEPLOY VIGIL_SOURCE_DIR "/deploy"
#define IMAGE_RULES "/usr/share/vigil/rules"

static struct {
    char *tmp;
    struct vigil_diags diags;
    struct vigil_yaml docs[4];
    size_t n_docs;
    int n_yaml; /* YAML files seen under deploy/ */
} fx;

static void setup(void)
{
    fx.tmp = vigil_test_tmpdir("vigil-deploy");
    cr_assert_not_null(fx.tmp);
    vigil_diags_init(&fx.diags);
}

static void teardown(void)
{
    for (size_t i = 0; i < fx.n_docs; i++)
        vigil_yaml_fini(&fx.docs[i]);
    vigil_diags_fini(&fx.diags);
    vigil_test_rm_rf(fx.tmp);
    free(fx.tmp);
}

TestSuite(deploy, .init = setup, .fini = teardown);

/* Loads a file under deploy/ and returns its root (kept until .fini). */
static struct fy_node *load(const char *rel)
{
    cr_assert_lt(fx.n_docs, sizeof(fx.docs) / sizeof(fx.docs[0]));
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", DEPLOY, rel);
    struct vigil_yaml *y = &fx.docs[fx.n_docs];
    int rc = vigil_yaml_load_file(y, path, &fx.diags);
    vigil_diags_print(&fx.diags, stderr);
    cr_assert_eq(rc, 0, "%s does not parse", rel);
    fx.n_docs++;
    struct fy_node *root = vigil_yaml_root(y);
    cr_assert_not_null(root, "%s is empty", rel);
    return root;
}

/* The value of key in mapping map, or NULL. */
static struct fy_node *get(struct fy_node *map, const char *key)
{
    if (!map || !fy_node_is_mapping(map))
        return NULL;
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(map, &it))) {
        const char *k = fy_node_get_scalar0(fy_node_pair_key(p));
        if (k && strcmp(k, key) == 0)
            return fy_node_pair_value(p);
    }
    return NULL;
}

/* get() along a path of keys, then the scalar (NULL when absent). */
static const char *str_at(struct fy_node *n, const char *const *keys)
{
    for (; n && *keys; keys++)
        n = get(n, *keys);
    return n && fy_node_is_scalar(n) ? fy_node_get_scalar0(n) : NULL;
}

#define STR(n, ...) str_at((n), (const char *const[]){__VA_ARGS__, NULL})

/* ---- every YAML file parses ---- */

static bool is_yaml(const char *path)
{
    size_t len = strlen(path);
    return (len > 5 && strcmp(path + len - 5, ".yaml") == 0) ||
           (len > 4 && strcmp(path + len - 4, ".yml") == 0);
}

/* nftw() has no context argument: the count goes to fx. */
static int parse_one(const char *path, const struct stat *st, int flag,
                     struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag != FTW_F || !is_yaml(path))
        return 0;
    fx.n_yaml++;
    struct vigil_diags diags;
    vigil_diags_init(&diags);
    struct vigil_yaml y;
    int rc = vigil_yaml_load_file(&y, path, &diags);
    vigil_diags_print(&diags, stderr);
    bool ok = rc == 0 && diags.n == 0 && vigil_yaml_root(&y);
    if (rc == 0)
        vigil_yaml_fini(&y);
    vigil_diags_fini(&diags);
    cr_expect(ok, "%s does not parse (or is empty)", path);
    return 0;
}

Test(deploy, every_yaml_file_parses)
{
    cr_assert_eq(nftw(DEPLOY, parse_one, 16, FTW_PHYS), 0);
    /* compose (3), kubernetes (8), the example configs (2). */
    cr_assert_geq(fx.n_yaml, 13, "only %d YAML files under deploy/", fx.n_yaml);
}

/* ---- Kubernetes ---- */

static const char *const k8s_files[] = {
    "namespace.yaml", "configmap.yaml", "secret.yaml",        "deployment.yaml",
    "service.yaml",   "pdb.yaml",       "servicemonitor.yaml"};

Test(deploy, kubernetes_objects_are_complete_and_listed_in_kustomization)
{
    struct fy_node *kust = load("kubernetes/kustomization.yaml");
    struct fy_node *resources = get(kust, "resources");
    cr_assert(resources && fy_node_is_sequence(resources));
    for (size_t i = 0; i < sizeof(k8s_files) / sizeof(k8s_files[0]); i++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "kubernetes/%s", k8s_files[i]);
        struct vigil_diags diags;
        vigil_diags_init(&diags);
        struct vigil_yaml y;
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", DEPLOY, rel);
        cr_assert_eq(vigil_yaml_load_file(&y, path, &diags), 0, "%s", rel);
        struct fy_node *root = vigil_yaml_root(&y);
        cr_expect_not_null(STR(root, "apiVersion"), "%s: no apiVersion", rel);
        cr_expect_not_null(STR(root, "kind"), "%s: no kind", rel);
        cr_expect_not_null(STR(root, "metadata", "name"), "%s: no name", rel);
        vigil_yaml_fini(&y);
        vigil_diags_fini(&diags);
        bool listed = false;
        void *it = NULL;
        struct fy_node *r;
        while ((r = fy_node_sequence_iterate(resources, &it)))
            listed |= strcmp(fy_node_get_scalar0(r), k8s_files[i]) == 0;
        cr_expect(listed, "%s is not in kustomization.yaml", k8s_files[i]);
    }
}

Test(deploy, deployment_probes_feed_and_refers_to_the_config_and_secret)
{
    struct fy_node *dep = load("kubernetes/deployment.yaml");
    struct fy_node *cm = load("kubernetes/configmap.yaml");
    struct fy_node *sec = load("kubernetes/secret.yaml");
    struct fy_node *pdb = load("kubernetes/pdb.yaml");
    cr_assert_str_eq(STR(dep, "kind"), "Deployment");
    cr_assert_not_null(STR(dep, "spec", "replicas"));
    struct fy_node *spec = get(get(get(dep, "spec"), "template"), "spec");
    struct fy_node *c =
        fy_node_sequence_get_by_index(get(spec, "containers"), 0);
    cr_assert_not_null(c);
    cr_assert_str_eq(STR(c, "livenessProbe", "httpGet", "path"), "/healthz");
    cr_assert_str_eq(STR(c, "readinessProbe", "httpGet", "path"), "/readyz");
    cr_assert_str_eq(STR(c, "securityContext", "allowPrivilegeEscalation"),
                     "false");
    cr_assert_str_eq(STR(spec, "securityContext", "runAsNonRoot"), "true");
    struct fy_node *env = fy_node_sequence_get_by_index(get(c, "envFrom"), 0);
    cr_assert_str_eq(STR(env, "secretRef", "name"),
                     STR(sec, "metadata", "name"));
    struct fy_node *vol =
        fy_node_sequence_get_by_index(get(spec, "volumes"), 0);
    cr_assert_str_eq(STR(vol, "configMap", "name"),
                     STR(cm, "metadata", "name"));
    /* The PDB selects the Deployment's pods. */
    cr_assert_str_eq(
        STR(pdb, "spec", "selector", "matchLabels", "app.kubernetes.io/name"),
        STR(dep, "spec", "selector", "matchLabels", "app.kubernetes.io/name"));
}

/* Writes text to fx.tmp/name with the image's rules path mapped to the
 * source tree's; returns the path (free it). */
static char *write_mapped(const char *name, const char *text)
{
    size_t cap = strlen(text) * 2 + 1024, len = 0;
    char *out = malloc(cap);
    cr_assert_not_null(out);
    const char *p = text, *hit;
    const char *to = VIGIL_SOURCE_DIR "/rules";
    while ((hit = strstr(p, IMAGE_RULES))) {
        size_t n = (size_t)(hit - p);
        cr_assert_lt(len + n + strlen(to), cap);
        memcpy(out + len, p, n);
        memcpy(out + len + n, to, strlen(to));
        len += n + strlen(to);
        p = hit + strlen(IMAGE_RULES);
    }
    cr_assert_lt(len + strlen(p), cap);
    memcpy(out + len, p, strlen(p) + 1);
    char *path = vigil_test_write_file(fx.tmp, name, out);
    free(out);
    cr_assert_not_null(path);
    return path;
}

/* Sets every stringData entry of the Secret as an environment variable,
 * as envFrom does. */
static void export_secret(struct fy_node *sec)
{
    struct fy_node *data = get(sec, "stringData");
    cr_assert(data && fy_node_is_mapping(data));
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(data, &it)))
        setenv(fy_node_get_scalar0(fy_node_pair_key(p)),
               fy_node_get_scalar0(fy_node_pair_value(p)), 1);
}

/* Runs vigild with args (NULL-terminated) and asserts exit 0. */
static void assert_vigild(const char *what, char *const args[])
{
    char *argv[8] = {VIGILD_PATH};
    size_t n = 1;
    for (; args[n - 1] && n < 7; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    char *out = NULL, *err = NULL;
    int status = vigil_test_run(argv, NULL, &out, &err);
    cr_assert_eq(status, 0, "vigild %s on %s: exit %d\n%s%s", args[0], what,
                 status, out, err);
    free(out);
    free(err);
}

Test(deploy, configmap_config_passes_vigild_check_with_the_secret)
{
    struct fy_node *cm = load("kubernetes/configmap.yaml");
    struct fy_node *sec = load("kubernetes/secret.yaml");
    const char *config = STR(cm, "data", "vigil.yaml");
    const char *site = STR(cm, "data", "site-rules.yaml");
    cr_assert(config && site);
    export_secret(sec);
    char *site_path = write_mapped("site-rules.yaml", site);
    char *config_path = write_mapped("vigil.yaml", config);
    assert_vigild("the ConfigMap's vigil.yaml",
                  (char *const[]){"check", "-c", config_path, NULL});
    assert_vigild("the ConfigMap's site-rules.yaml",
                  (char *const[]){"test", site_path, NULL});
    free(site_path);
    free(config_path);
}

/* ---- Compose ---- */

Test(deploy, compose_runs_kafka_redis_with_aof_alertmanager_and_two_vigild)
{
    struct fy_node *compose = load("compose.yaml");
    struct fy_node *services = get(compose, "services");
    static const char *const names[] = {
        "kafka", "kafka-init", "redis", "alertmanager", "vigild-1", "vigild-2"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        cr_expect_not_null(get(services, names[i]), "no service %s", names[i]);
    cr_assert_str_eq(
        STR(services, "kafka", "environment", "KAFKA_PROCESS_ROLES"),
        "broker,controller");
    /* Redis: --appendonly yes. */
    struct fy_node *cmd = get(get(services, "redis"), "command");
    bool aof = false;
    for (int i = 0; cmd && i + 1 < fy_node_sequence_item_count(cmd); i++) {
        const char *a =
            fy_node_get_scalar0(fy_node_sequence_get_by_index(cmd, i));
        const char *b =
            fy_node_get_scalar0(fy_node_sequence_get_by_index(cmd, i + 1));
        aof |=
            a && b && strcmp(a, "--appendonly") == 0 && strcmp(b, "yes") == 0;
    }
    cr_assert(aof, "redis runs without --appendonly yes");
    /* Both vigild come from one template that mounts one config. */
    struct fy_node *vols = get(get(compose, "x-vigild"), "volumes");
    const char *vol =
        fy_node_get_scalar0(fy_node_sequence_get_by_index(vols, 0));
    cr_assert_str_eq(vol, "./compose/vigil.yaml:/etc/vigil/vigil.yaml:ro");
}

Test(deploy, compose_config_passes_vigild_check)
{
    setenv("REDIS_PASSWORD", "compose-test", 1);
    setenv("VIGIL_READ_TOKEN", "compose-test", 1);
    setenv("VIGIL_ADMIN_TOKEN", "compose-test", 1);
    char path[512];
    snprintf(path, sizeof(path), "%s/compose/vigil.yaml", DEPLOY);
    char *text = vigil_test_read_file(path, NULL);
    cr_assert_not_null(text);
    char *mapped = write_mapped("vigil.yaml", text);
    free(text);
    assert_vigild("deploy/compose/vigil.yaml",
                  (char *const[]){"check", "-c", mapped, NULL});
    free(mapped);
}

/* ---- systemd and the image: what a text check can say ---- */

Test(deploy, systemd_unit_reloads_with_sighup_as_a_dedicated_user)
{
    char *unit = vigil_test_read_file(DEPLOY "/vigild.service", NULL);
    cr_assert_not_null(unit);
    cr_expect_not_null(strstr(unit, "\nType=simple\n"));
    cr_expect_not_null(strstr(unit, "\nUser=vigil\n"));
    cr_expect_not_null(strstr(unit, "\nExecReload=/bin/kill -HUP $MAINPID\n"));
    cr_expect_not_null(strstr(unit, "\nNoNewPrivileges=yes\n"));
    cr_expect_not_null(strstr(unit, "\nProtectSystem=strict\n"));
    free(unit);
}

Test(deploy, image_builds_on_debian_12_and_runs_as_non_root)
{
    char *df = vigil_test_read_file(DEPLOY "/Dockerfile", NULL);
    cr_assert_not_null(df);
    cr_expect_not_null(strstr(df, "\nFROM debian:12 AS build\n"));
    cr_expect_not_null(strstr(df, "\nFROM debian:12-slim\n"));
    cr_expect_not_null(strstr(df, "\nUSER 10001:10001\n"));
    cr_expect_not_null(strstr(df, "COPY rules/ " IMAGE_RULES "/"));
    free(df);
}

Test(deploy, compose_alertmanager_config_passes_amtool)
{
    /* install-deps.sh --test installs prometheus-alertmanager. */
    if (access("/usr/bin/amtool", X_OK) != 0)
        cr_skip_test("amtool is not installed");
    char *argv[] = {"/usr/bin/amtool", "check-config",
                    DEPLOY "/compose/alertmanager.yml", NULL};
    char *out = NULL, *err = NULL;
    int status = vigil_test_run(argv, NULL, &out, &err);
    cr_assert_eq(status, 0, "amtool: %s%s", out, err);
    free(out);
    free(err);
}
