/*
 * vigild replay -c vigil.yaml [--dry-run] [--quiet] [--stats] FILE...:
 * feeds events from files (one per line, "-" = stdin) through the same
 * pipeline as `vigild run` (decode -> match -> aggregate, pipeline.h) and
 * writes the counters into Redis (counter_store.h): one script per batch
 * of REPLAY_BATCH_LINES lines, without a fence (files have no partitions
 * and no offsets). --dry-run decodes and matches only and touches no
 * Redis. Output (DESIGN.md section 2, a contract), the same in both modes:
 *   matches    one line per match (unless --quiet):
 *              {"n":<line>,"rule":"<id>","fields":{<captures>}}
 *              (n counts lines across all inputs, from 1; captures that did
 *              not participate are left out)
 *   --quiet    no match lines
 *   --stats    a last line {"events":N,"matched_events":N,
 *              "decode_errors":N,"late":N,"rules":{"<id>":count,...},
 *              "seconds":S}
 *              ("rules" lists the rules that matched, in rule-set order;
 *              "late" the matched events older than the retention, whose
 *              counter updates are dropped (with --dry-run: would be);
 *              "seconds" is the time spent replaying, after loading)
 * Lines that do not decode are counted and skipped; empty lines are
 * skipped. Matches of `record: true` rules are written to the findings
 * stream with the file and line they came from. Replaying a file twice
 * counts it twice (and records its findings twice): files carry no offsets
 * to fence with. The retention is the one `vigild run` uses: the longest window
 * the config's indicators read, plus slack (measures.h).
 *
 * Exit status: 0; 1 when an input cannot be read, Redis cannot be reached
 * or refuses a batch (stderr says up to which line everything was
 * written), or loading fails; 2 for usage errors.
 *
 * The rules, the event format, the time field and the match limits come
 * from the config; --rules FILE (repeatable, globs allowed), --format and
 * --time-field override it, and with --rules no config is needed. The
 * config's plugins are loaded: its decoder plugin (events.format, or
 * --format NAME) decodes and its enrichers run before matching.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "counter_store.h"
#include "decode.h"
#include "matcher.h"
#include "measures.h"
#include "pipeline.h"
#include "plugin_loader.h"
#include "redis_conn.h"
#include "replay_io.h"
#include "rule_set.h"
#include "yaml_doc.h"

/* Lines per batch, hence per Redis script (bench_batch: 20000 events per
 * batch cost 0.16 script calls per event). */
#define REPLAY_BATCH_LINES 20000

struct replay {
    struct vigil_rule_set *set;
    bool dry_run;
    /* --dry-run: decoding and matching only. */
    struct vigil_matcher *matcher;
    struct vigil_decoder *decoder;
    struct vigil_plugins *plugins;      /* NULL without a config */
    struct vigil_plugin *decode_plugin; /* NULL: the built-in format */
    bool enrich;
    struct vigil_event ev;
    /* Into Redis: the pipeline, the store and the connection. */
    struct vigil_pipeline pipeline;
    bool pipeline_ready;
    struct vigil_pipeline_stats pipeline_stats;
    struct vigil_counter_store *store;
    redisContext *redis;
    struct vigil_flush_result flushed;

    struct vigil_out out;
    bool print_matches;
    bool stop;        /* a batch could not be written: read no further */
    uint64_t n;       /* current line number, from 1 across inputs */
    const char *path; /* the current input ("-": stdin), borrowed */
    uint64_t events;
    uint64_t matched_events;
    uint64_t decode_errors;
    uint64_t late;
    uint64_t refused_ops; /* counter updates Redis refused (a key of
                             another type, an overflow) */
    uint64_t *rule_counts;
    bool event_late;       /* the current event is late */
    size_t in_batch;       /* lines read since the batch began */
    uint64_t written_upto; /* every line up to this one is in Redis */
    int64_t now_ms;        /* time of events that carry none */
    int64_t retention_s;   /* bucket lifetime and lateness cutoff */
    int64_t cutoff_ms;     /* events before this are late */
};

/* Begins a batch: the clock for lateness, as vigil_batch_reset's. */
static void begin_batch(struct replay *r)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    r->cutoff_ms = now - r->retention_s * 1000;
    r->in_batch = 0;
    if (r->pipeline_ready)
        vigil_batch_reset(r->pipeline.batch, now);
}

/*
 * Writes the batch (one script, no fence) and begins the next. -1
 * (reported, r->stop set) when Redis failed; whether that batch landed is
 * then unknown, so replay stops rather than risk counting it twice.
 */
static int flush_batch(struct replay *r)
{
    struct vigil_batch *b = r->pipeline.batch;
    if (r->pipeline_ready && !vigil_batch_is_empty(b)) {
        if (vigil_counter_store_flush(r->store, r->redis, b, &r->flushed) < 0 ||
            !r->flushed.accepted) {
            fprintf(stderr,
                    "vigild replay: redis: %s; every line up to %llu was "
                    "written, later lines were not\n",
                    r->flushed.accepted ? vigil_counter_store_error(r->store)
                                        : "batch rejected",
                    (unsigned long long)r->written_upto);
            r->stop = true;
            return -1;
        }
        vigil_pipeline_count_written(&r->pipeline_stats, b);
        if (vigil_batch_stats(b).findings_dropped)
            fprintf(stderr,
                    "vigild replay: %llu findings were not recorded (more "
                    "than %zu in one batch)\n",
                    (unsigned long long)vigil_batch_stats(b).findings_dropped,
                    r->pipeline.max_findings);
        if (r->flushed.failed_ops) {
            if (!r->refused_ops)
                fprintf(stderr,
                        "vigild replay: redis refused counter updates: %s\n",
                        r->flushed.first_error);
            r->refused_ops += (uint64_t)r->flushed.failed_ops;
        }
    }
    r->written_upto = r->n;
    begin_batch(r);
    return 0;
}

static int on_match(const struct vigil_match *m, void *user)
{
    struct replay *r = user;
    r->rule_counts[m->rule->index]++;
    if (m->rule->n_counts > 0) {
        const struct vigil_event *ev = r->dry_run ? &r->ev : &r->pipeline.ev;
        if (ev->time_ms < r->cutoff_ms)
            r->event_late = true;
    }
    if (!r->print_matches)
        return 0;
    struct vigil_out *o = &r->out;
    vigil_out_printf(o, "{\"n\":%llu,\"rule\":", (unsigned long long)r->n);
    vigil_out_json_string(o, m->rule->id, strlen(m->rule->id));
    vigil_out_put(o, ",\"fields\":{", 11);
    bool first = true;
    for (size_t i = 0; i < m->rule->n_captures; i++) {
        if (!m->captures[i].ptr)
            continue;
        if (!first)
            vigil_out_put(o, ",", 1);
        first = false;
        const char *name = m->rule->captures[i].name;
        vigil_out_json_string(o, name, strlen(name));
        vigil_out_put(o, ":", 1);
        vigil_out_json_string(o, m->captures[i].ptr, m->captures[i].len);
    }
    vigil_out_put(o, "}}\n", 3);
    return 0;
}

static void replay_line(struct replay *r, const char *line, size_t len)
{
    const char *reason = NULL;
    int matched;
    r->event_late = false;
    if (r->dry_run) {
        if (vigil_decode(r->decoder, line, len, r->now_ms, &r->ev, &reason) <
            0) {
            r->decode_errors++;
            return;
        }
        if (r->enrich)
            vigil_plugins_enrich(r->plugins, &r->ev);
        matched = vigil_matcher_run(r->matcher, &r->ev, on_match, r);
    } else {
        r->pipeline.origin = (struct vigil_pipeline_origin){
            .file = r->path,
            .line = r->n,
        };
        matched =
            vigil_pipeline_feed(&r->pipeline, line, len, r->now_ms, &reason);
        if (matched < 0) {
            r->decode_errors++;
            return;
        }
    }
    r->events++;
    if (matched > 0)
        r->matched_events++;
    if (r->event_late)
        r->late++;
}

/* Replays one input; -1 when it cannot be read. */
static int replay_input(struct replay *r, const char *path)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "vigild replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct vigil_line_reader lr;
    if (vigil_line_reader_init(&lr, fd) < 0) {
        if (fd != STDIN_FILENO)
            close(fd);
        fprintf(stderr, "vigild replay: out of memory\n");
        return -1;
    }
    int rc = 0;
    const char *line;
    size_t len;
    r->path = path;
    while (!r->stop && (rc = vigil_line_reader_next(&lr, &line, &len)) > 0) {
        r->n++;
        if (rc == VIGIL_LINE_TOO_LONG)
            r->decode_errors++;
        else if (len > 0)
            replay_line(r, line, len);
        /* Findings end a batch early: files have no fence, and none
         * should be dropped at the batch's cap. */
        bool full = ++r->in_batch >= REPLAY_BATCH_LINES ||
                    (r->pipeline_ready && r->pipeline.max_findings &&
                     vigil_batch_n_findings(r->pipeline.batch) >=
                         r->pipeline.max_findings / 2 + 1);
        if (full && flush_batch(r) < 0)
            break;
    }
    if (rc < 0)
        fprintf(stderr, "vigild replay: %s: %s\n", path, strerror(errno));
    vigil_line_reader_fini(&lr);
    if (fd != STDIN_FILENO)
        close(fd);
    return rc < 0 || r->stop ? -1 : 0;
}

static void print_stats(struct replay *r, double seconds)
{
    struct vigil_out *o = &r->out;
    vigil_out_printf(
        o,
        "{\"events\":%llu,\"matched_events\":%llu,"
        "\"decode_errors\":%llu,\"late\":%llu,\"rules\":{",
        (unsigned long long)r->events, (unsigned long long)r->matched_events,
        (unsigned long long)r->decode_errors, (unsigned long long)r->late);
    bool first = true;
    for (size_t i = 0; i < vigil_rule_set_size(r->set); i++) {
        if (!r->rule_counts[i])
            continue;
        const char *id = vigil_rule_set_rule(r->set, i)->id;
        if (!first)
            vigil_out_put(o, ",", 1);
        first = false;
        vigil_out_json_string(o, id, strlen(id));
        vigil_out_printf(o, ":%llu", (unsigned long long)r->rule_counts[i]);
    }
    vigil_out_printf(o, "},\"seconds\":%.3f}\n", seconds);
}

static double elapsed(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) +
           (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: vigild replay -c vigil.yaml [--dry-run] [--quiet] "
                 "[--stats] FILE...\n"
                 "  FILE: one event per line; - is stdin\n"
                 "  counters go to the config's Redis; one JSON line per "
                 "match is printed\n"
                 "  --dry-run          touch no Redis\n"
                 "  --quiet            print no matches\n"
                 "  --stats            end with one JSON line of counts\n"
                 "overrides of the config (with --dry-run, --rules needs no "
                 "config):\n"
                 "  --rules FILE       a rule file or glob (repeatable)\n"
                 "  --format F         auto (default), json, syslog, raw or\n"
                 "                     a decoder plugin of the config\n"
                 "  --time-field F     event time field (\"\" for none)\n"
                 "  --no-prefilter     match with PCRE2 alone\n");
}

struct replay_args {
    const char *config;
    const char **rules;
    size_t n_rules;
    bool dry_run, quiet, stats, no_prefilter;
    bool format_set, time_field_set;
    enum vigil_event_format format;
    const char *format_plugin; /* --format naming a decoder plugin */
    const char *time_field;
};

/* Parses argv; returns -1 (usage error printed), 0, or 1 for --help. */
static int parse_args(int argc, char **argv, struct replay_args *a)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"dry-run", no_argument, NULL, 'n'},
        {"quiet", no_argument, NULL, 'q'},
        {"stats", no_argument, NULL, 's'},
        {"rules", required_argument, NULL, 'r'},
        {"format", required_argument, NULL, 'f'},
        {"time-field", required_argument, NULL, 't'},
        {"no-prefilter", no_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    a->rules = calloc((size_t)argc, sizeof(*a->rules));
    if (!a->rules)
        return -1;
    a->time_field = "@timestamp";
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "c:nqsr:f:t:h", longopts, NULL)) !=
           -1) {
        switch (c) {
        case 'c':
            a->config = optarg;
            break;
        case 'n':
            a->dry_run = true;
            break;
        case 'q':
            a->quiet = true;
            break;
        case 's':
            a->stats = true;
            break;
        case 'r':
            a->rules[a->n_rules++] = optarg;
            break;
        case 'f':
            a->format_plugin = NULL;
            if (vigil_event_format_parse(optarg, &a->format) < 0)
                a->format_plugin = optarg; /* checked once loaded */
            a->format_set = true;
            break;
        case 't':
            a->time_field = optarg;
            a->time_field_set = true;
            break;
        case 'P':
            a->no_prefilter = true;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "vigild replay: no input (use - for stdin)\n");
        usage(stderr);
        return -1;
    }
    return 0;
}

/*
 * Loads the rule set: the --rules files, else the config's, with the
 * config's limits. NULL (reported) on failure.
 */
static struct vigil_rule_set *load_rules(const struct replay_args *a,
                                         const struct vigil_config *cfg)
{
    struct vigil_diags diags;
    vigil_diags_init(&diags);
    struct vigil_rule_set_options opts = {0};
    if (cfg)
        vigil_rule_set_options_from_config(cfg, &opts);
    if (a->no_prefilter)
        opts.no_prefilter = true;
    struct vigil_rule_set *set = NULL;
    if (a->n_rules == 0) {
        set = vigil_rule_set_load((const char *const *)cfg->rule_files,
                                  cfg->n_rule_files, &opts, &diags);
    } else {
        char **paths = NULL;
        if (vigil_rule_paths_expand(a->rules, a->n_rules, NULL, &paths,
                                    &diags) == 0) {
            size_t n = 0;
            while (paths[n])
                n++;
            set = vigil_rule_set_load((const char *const *)paths, n, &opts,
                                      &diags);
            vigil_strv_free(paths);
        }
    }
    vigil_diags_print(&diags, stderr);
    vigil_diags_fini(&diags);
    return set;
}

/*
 * Takes the event format and time field from the config unless given on
 * the command line.
 */
static void settings_from_config(struct replay_args *a,
                                 const struct vigil_config *cfg)
{
    if (!cfg)
        return;
    if (!a->format_set) {
        a->format = cfg->events.format;
        if (cfg->events.format_plugin)
            a->format_plugin = cfg->events.format_name;
    }
    if (!a->time_field_set)
        a->time_field = cfg->events.time_field;
}

/*
 * Loads the config's plugins into r and picks the decoder plugin, if any.
 * Returns 0, or -1 (reported) when a plugin does not load or the format
 * names no decoder plugin.
 */
static int load_plugins(struct replay *r, const struct replay_args *a,
                        const struct vigil_config *cfg)
{
    struct vigil_diags diags;
    vigil_diags_init(&diags);
    int rc = -1;
    if (cfg) {
        r->plugins = vigil_plugins_load(cfg, &diags);
        if (!r->plugins ||
            vigil_plugins_check_config(r->plugins, cfg, &diags) < 0)
            goto out;
    }
    r->enrich = vigil_plugins_has_enrichers(r->plugins);
    if (a->format_plugin) {
        struct vigil_plugin *p = vigil_plugins_find(
            r->plugins, VIGIL_PLUGIN_DECODER, a->format_plugin);
        if (!p) {
            fprintf(stderr,
                    "vigild replay: --format must be auto, json, syslog, raw "
                    "or a decoder plugin of the config, not '%s'\n",
                    a->format_plugin);
            goto out;
        }
        r->decode_plugin = p;
    }
    rc = 0;
out:
    vigil_diags_print(&diags, stderr);
    vigil_diags_fini(&diags);
    return rc;
}

/*
 * The retention `vigild run` would use: from the config's indicators, the
 * default without a config. -1 (reported) when the indicators do not load.
 */
static int load_retention(const struct vigil_config *cfg,
                          const struct vigil_rule_set *set, int64_t *out)
{
    *out = vigil_measures_retention_s(NULL);
    if (!cfg)
        return 0;
    struct vigil_diags diags;
    vigil_diags_init(&diags);
    struct vigil_indicator_set *ind =
        vigil_measures_load_indicators(cfg, set, &diags);
    vigil_diags_print(&diags, stderr);
    vigil_diags_fini(&diags);
    if (!ind)
        return -1;
    *out = vigil_measures_retention_s(ind);
    vigil_indicator_set_destroy(ind);
    return 0;
}

/* Sets up decoding and matching alone (--dry-run). */
static int open_dry_run(struct replay *r,
                        const struct vigil_decode_options *dopts)
{
    r->matcher = vigil_matcher_create(r->set);
    r->decoder = vigil_decoder_create(dopts);
    if (!r->matcher || !r->decoder) {
        fprintf(stderr, "vigild replay: out of memory\n");
        return -1;
    }
    if (r->decode_plugin)
        vigil_decoder_set_custom(r->decoder, vigil_plugin_decode,
                                 r->decode_plugin);
    return 0;
}

/* Sets up the pipeline, the counter store and the Redis connection. */
static int open_redis(struct replay *r, const struct vigil_config *cfg,
                      const struct vigil_decode_options *dopts)
{
    struct vigil_pipeline_options po = {
        .decode = *dopts,
        .retention_s = r->retention_s,
        .resolution_s = (int64_t)(cfg->events.resolution_ms / 1000),
        .findings_max_len = cfg->redis.findings_max_len,
    };
    if (r->decode_plugin) {
        po.decode_custom = vigil_plugin_decode;
        po.decode_ctx = r->decode_plugin;
    }
    if (r->enrich) {
        po.enrich = vigil_plugins_enrich;
        po.enrich_ctx = r->plugins;
    }
    const char *why = NULL;
    if (vigil_pipeline_init(&r->pipeline, r->set, &po, &r->pipeline_stats,
                            &why) < 0) {
        fprintf(stderr, "vigild replay: %s\n", why);
        return -1;
    }
    r->pipeline_ready = true;
    r->pipeline.observe = on_match;
    r->pipeline.observe_ctx = r;
    /* The group only names the offsets hash, which a batch without
     * partitions never touches. */
    const char *group = cfg->kafka.group ? cfg->kafka.group : "vigil";
    struct vigil_counter_store_config sc = {cfg->redis.ns, group,
                                            cfg->redis.findings_max_len};
    r->store = vigil_counter_store_create(&sc);
    if (!r->store) {
        fprintf(stderr, "vigild replay: out of memory\n");
        return -1;
    }
    char err[256];
    r->redis = vigil_redis_connect(&cfg->redis, err, sizeof(err));
    if (!r->redis) {
        if (cfg->redis.transport == VIGIL_REDIS_UNIX)
            fprintf(stderr, "vigild replay: redis at %s: %s\n",
                    cfg->redis.socket_path, err);
        else
            fprintf(stderr, "vigild replay: redis at %s:%d: %s\n",
                    cfg->redis.host, cfg->redis.port, err);
        return -1;
    }
    return 0;
}

int vigil_cmd_replay(int argc, char **argv)
{
    struct replay_args a = {0};
    int prc = parse_args(argc, argv, &a);
    if (prc != 0) {
        free(a.rules);
        return prc > 0 ? 0 : 2;
    }
    int rc = 2;
    if (!a.config && (a.n_rules == 0 || !a.dry_run)) {
        fprintf(stderr, "vigild replay: -c vigil.yaml is needed (--rules "
                        "FILE without it only with --dry-run)\n");
        goto out_args;
    }

    struct timespec start;
    struct replay r = {.print_matches = !a.quiet,
                       .dry_run = a.dry_run,
                       .now_ms = (int64_t)time(NULL) * 1000};
    rc = 1;
    struct vigil_config *cfg = NULL;
    if (a.config) {
        struct vigil_diags diags;
        vigil_diags_init(&diags);
        cfg = vigil_config_load(a.config, &diags);
        vigil_diags_print(&diags, stderr);
        vigil_diags_fini(&diags);
        if (!cfg)
            goto out_args;
    }
    settings_from_config(&a, cfg);
    r.set = load_rules(&a, cfg);
    if (!r.set)
        goto out_config;
    if (load_retention(cfg, r.set, &r.retention_s) < 0)
        goto out_free;
    if (a.time_field && !a.time_field[0])
        a.time_field = NULL; /* "": no time field */
    struct vigil_decode_options dopts = {.format = a.format,
                                         .time_field = a.time_field};
    vigil_event_init(&r.ev);
    r.rule_counts =
        calloc(vigil_rule_set_size(r.set) + 1, sizeof(*r.rule_counts));
    if (!r.rule_counts || vigil_out_init(&r.out, stdout) < 0) {
        fprintf(stderr, "vigild replay: out of memory\n");
        goto out_free;
    }
    if (load_plugins(&r, &a, cfg) < 0)
        goto out_free;
    if (a.dry_run ? open_dry_run(&r, &dopts) < 0
                  : open_redis(&r, cfg, &dopts) < 0)
        goto out_free;

    rc = 0;
    clock_gettime(CLOCK_MONOTONIC, &start); /* replay time, not loading */
    begin_batch(&r);
    for (int i = optind; i < argc && !r.stop; i++) {
        if (replay_input(&r, argv[i]) < 0)
            rc = 1;
    }
    if (!r.stop && flush_batch(&r) < 0)
        rc = 1;
    if (r.refused_ops)
        rc = 1;
    if (a.stats)
        print_stats(&r, elapsed(&start));
    if (vigil_out_flush(&r.out) < 0) {
        fprintf(stderr, "vigild replay: cannot write the output\n");
        rc = 1;
    }

out_free:
    if (r.redis)
        redisFree(r.redis);
    vigil_flush_result_fini(&r.flushed);
    vigil_counter_store_destroy(r.store);
    if (r.pipeline_ready)
        vigil_pipeline_fini(&r.pipeline);
    vigil_out_fini(&r.out);
    vigil_event_fini(&r.ev);
    free(r.rule_counts);
    vigil_decoder_destroy(r.decoder);
    vigil_matcher_destroy(r.matcher);
    vigil_plugins_destroy(r.plugins);
    vigil_rule_set_unref(r.set);
out_config:
    vigil_config_destroy(cfg);
out_args:
    free(a.rules);
    return rc;
}
