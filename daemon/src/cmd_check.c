/*
 * vigild check: validates vigil.yaml, the rule packs and the indicator
 * files it lists (counters and windows included), and loads its plugins
 * (checked and initialised as `vigild run` would) to check the names the
 * config takes from them (events.format, plugin notifier types). Every problem
 * is printed as "file:line:col: message" on stderr; exit 1 on any, 0 with a
 * one-line summary on stdout otherwise.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "diag.h"
#include "measures.h"
#include "plugin_loader.h"
#include "rule_set.h"

static const char check_usage[] =
    "usage: vigild check [-c FILE | --config FILE] [--print]\n"
    "\n"
    "Validates the config (default vigil.yaml) and prints every problem as\n"
    "file:line:col: message. Exit status: 0 valid, 1 invalid, 2 usage.\n"
    "\n"
    "  -c, --config FILE  the config file\n"
    "  --print            print the effective config (defaults filled in,\n"
    "                     globs expanded, secrets redacted) on stdout; the\n"
    "                     summary then goes to stderr\n";

struct check_options {
    const char *config;
    bool print;
};

/* Returns 0, 1 after --help, or -1 after a usage error. */
static int parse_options(int argc, char **argv, struct check_options *o)
{
    o->config = "vigil.yaml";
    o->print = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "vigild check: %s needs a file\n", a);
                return -1;
            }
            o->config = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            o->config = a + 9;
        } else if (strcmp(a, "--print") == 0) {
            o->print = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(check_usage, stdout);
            return 1;
        } else {
            fprintf(stderr, "vigild check: unexpected argument '%s'\n", a);
            return -1;
        }
    }
    if (o->config[0] == '\0') {
        fprintf(stderr, "vigild check: the config file name is empty\n");
        return -1;
    }
    return 0;
}

static void print_summary(const struct vigil_config *cfg,
                          const struct vigil_rule_set *rules,
                          const struct vigil_indicator_set *indicators,
                          const struct vigil_plugins *plugins, FILE *out)
{
    fprintf(out, "ok: %s: ", cfg->file);
    if (cfg->kafka.present)
        fprintf(out, "kafka %zu topic%s, %u worker%s; ", cfg->kafka.n_topics,
                cfg->kafka.n_topics == 1 ? "" : "s", cfg->kafka.workers,
                cfg->kafka.workers == 1 ? "" : "s");
    else
        fputs("no kafka section (vigild run needs one); ", out);
    if (cfg->redis.transport == VIGIL_REDIS_UNIX)
        fprintf(out, "redis unix:%s db %d", cfg->redis.socket_path,
                cfg->redis.db);
    else
        fprintf(out, "redis %s:%d db %d", cfg->redis.host, cfg->redis.port,
                cfg->redis.db);
    fprintf(out,
            " namespace %s; %zu rules (%zu counters) in %zu file%s, %zu "
            "indicator%s; %zu notifier%s, %zu route%s",
            cfg->redis.ns, vigil_rule_set_size(rules),
            vigil_rule_set_counter_count(rules), cfg->n_rule_files,
            cfg->n_rule_files == 1 ? "" : "s", indicators->n,
            indicators->n == 1 ? "" : "s", cfg->n_notifiers,
            cfg->n_notifiers == 1 ? "" : "s", cfg->n_routes,
            cfg->n_routes == 1 ? "" : "s");
    size_t n = vigil_plugins_count(plugins);
    for (size_t i = 0; i < n; i++) {
        const struct vigil_plugin *p = vigil_plugins_at(plugins, i);
        fprintf(out, "%s%s %s (%s)",
                i ? ", " : "; plugins: ", vigil_plugin_name(p),
                vigil_plugin_version(p),
                vigil_plugin_kind_name(vigil_plugin_kind(p)));
    }
    fputc('\n', out);
}

int vigil_cmd_check(int argc, char **argv)
{
    struct check_options opt;
    int rc = parse_options(argc, argv, &opt);
    if (rc != 0) {
        if (rc < 0)
            fputs(check_usage, stderr);
        return rc < 0 ? 2 : 0;
    }

    struct vigil_diags diags;
    vigil_diags_init(&diags);
    struct vigil_config *cfg = vigil_config_load(opt.config, &diags);

    /* What the config points to: rule packs, then the indicators that
     * read their counters; the plugins, and the names taken from them. */
    struct vigil_rule_set *rules = NULL;
    struct vigil_indicator_set *indicators = NULL;
    struct vigil_plugins *plugins = NULL;
    struct vigil_diags notes = {0};
    if (cfg && diags.n == 0) {
        rules = vigil_rule_set_load_config(cfg, &diags);
        if (rules) {
            vigil_rule_set_unfiltered(rules, &notes);
            indicators = vigil_measures_load_indicators(cfg, rules, &diags);
        }
        plugins = vigil_plugins_load(cfg, &diags);
        if (plugins)
            vigil_plugins_check_config(plugins, cfg, &diags);
    }
    /* Notes are not errors: patterns PCRE2 confirms on every event. */
    vigil_diags_print(&notes, stderr);
    vigil_diags_fini(&notes);

    if (!cfg || diags.n > 0 || !rules || !indicators || !plugins) {
        vigil_diags_print(&diags, stderr);
        if (cfg == NULL && diags.n == 0)
            fprintf(stderr, "%s: cannot load the config\n", opt.config);
        rc = 1;
        goto out_free;
    }
    if (opt.print) {
        if (vigil_config_print(cfg, stdout) < 0 || fflush(stdout) != 0) {
            fprintf(stderr, "vigild check: cannot write the config\n");
            rc = 1;
            goto out_free;
        }
        print_summary(cfg, rules, indicators, plugins, stderr);
    } else {
        print_summary(cfg, rules, indicators, plugins, stdout);
    }
    rc = 0;

out_free:
    vigil_plugins_destroy(plugins);
    vigil_indicator_set_destroy(indicators);
    if (rules)
        vigil_rule_set_unref(rules);
    vigil_config_destroy(cfg);
    vigil_diags_fini(&diags);
    return rc;
}
