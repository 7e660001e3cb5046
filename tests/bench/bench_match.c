/*
 * bench_match: lines per second of decoding and matching a realistic mix
 * of security log lines (synth.h, the synthetic SIEM feed, fixed seed and
 * fixed clock, so every run sees the same bytes) against the shipped rule
 * packs (rules/packs/ *.yaml), with Vectorscan prefiltering + PCRE2
 * confirming, and with PCRE2 alone (rule set option no_prefilter), in the
 * same process. Both must find exactly the same matches per rule: a
 * difference is printed and fails the run (exit 1).
 *
 * The peer, in the same run: `mtail --one_shot` with the same regexes on
 * the same lines. mtail runs a regex on whole lines, so the program holds
 * the rules whose field is `message` (a text line is its own message) and
 * whose pattern RE2 takes (no lookarounds, backreferences, possessive or
 * atomic groups; named groups rewritten to (?P<name>...)); the others are
 * skipped and counted. Counts are compared for those of them without
 * when/unless conditions (where the semantics agree), against vigil's
 * matches on the text lines. mtail's start-up is timed on an empty log and
 * reported apart.
 *
 *   bench_match [LINES] [--no-peer] [--corpus FILE] [--profile]
 *                                                   (default 200000)
 *
 * --no-peer skips mtail; --corpus writes the lines to FILE and exits (to
 * profile `vigild replay` on exactly these lines). --profile makes one
 * pass of decode + Vectorscan + PCRE2 only, no peer, for
 * `valgrind --tool=callgrind --toggle-collect=run_pass` (instructions of
 * decoding and matching alone, without loading or the corpus).
 * VIGIL_RULES in the environment is another glob of rule files.
 *
 * Not part of the test suite; build with -DCMAKE_BUILD_TYPE=Release and
 * without sanitizers for meaningful figures.
 */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "decode.h"
#include "matcher.h"
#include "rule_set.h"
#include "support.h"
#include "synth.h"
#include "yaml_doc.h"

extern char **environ;

#define SEED 2026
#define CLOCK_MS INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */
#define ROUNDS 3

struct corpus {
    char *buf;
    size_t *off; /* line i is buf[off[i] .. off[i + 1] - 1), "\n" excluded */
    size_t n;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int make_corpus(struct corpus *c, size_t n)
{
    c->buf = malloc(n * 2048);
    c->off = calloc(n + 1, sizeof(*c->off));
    if (!c->buf || !c->off)
        return -1;
    struct vigil_synth s;
    vigil_synth_init(&s, SEED);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        c->off[i] = len;
        len += vigil_synth_next(&s, CLOCK_MS + (int64_t)i, c->buf + len, 2047);
        c->buf[len++] = '\n';
    }
    c->off[n] = len;
    c->n = n;
    return 0;
}

static bool is_json_line(const struct corpus *c, size_t i)
{
    return c->buf[c->off[i]] == '{';
}

struct counting {
    uint64_t *all;  /* per rule, every line */
    uint64_t *text; /* per rule, text lines only */
    bool text_line;
};

static int on_match(const struct vigil_match *m, void *user)
{
    struct counting *k = user;
    k->all[m->rule->index]++;
    if (k->text_line)
        k->text[m->rule->index]++;
    return 0;
}

/*
 * Decodes (and with set, matches) every line; returns the best seconds of
 * ROUNDS passes. Counts are those of the last pass.
 */
static double run_pass(const struct corpus *c, struct vigil_rule_set *set,
                       struct counting *k, int rounds)
{
    struct vigil_decode_options o = {.format = VIGIL_FORMAT_AUTO,
                                     .time_field = "@timestamp"};
    struct vigil_decoder *d = vigil_decoder_create(&o);
    struct vigil_matcher *m = set ? vigil_matcher_create(set) : NULL;
    struct vigil_event ev;
    vigil_event_init(&ev);
    double best = 1e30;
    for (int round = 0; round < rounds; round++) {
        if (k) {
            size_t n = vigil_rule_set_size(set);
            memset(k->all, 0, n * sizeof(*k->all));
            memset(k->text, 0, n * sizeof(*k->text));
        }
        double t0 = now_s();
        for (size_t i = 0; i < c->n; i++) {
            const char *reason;
            if (vigil_decode(d, c->buf + c->off[i],
                             c->off[i + 1] - c->off[i] - 1, CLOCK_MS, &ev,
                             &reason) < 0)
                continue;
            if (m) {
                k->text_line = !is_json_line(c, i);
                vigil_matcher_run(m, &ev, on_match, k);
            }
        }
        double dt = now_s() - t0;
        if (dt < best)
            best = dt;
    }
    vigil_event_fini(&ev);
    vigil_matcher_destroy(m);
    vigil_decoder_destroy(d);
    return best;
}

static struct vigil_rule_set *load_packs(bool no_prefilter)
{
    /* VIGIL_RULES: another glob, to compare rule packs with one binary. */
    const char *glob = getenv("VIGIL_RULES") ? getenv("VIGIL_RULES")
                                             : VIGIL_SOURCE_DIR
                           "/rules/packs/*.yaml";
    struct vigil_diags diags;
    vigil_diags_init(&diags);
    char **paths = NULL;
    struct vigil_rule_set *set = NULL;
    struct vigil_rule_set_options opts = {.no_prefilter = no_prefilter};
    if (vigil_rule_paths_expand(&glob, 1, NULL, &paths, &diags) == 0) {
        size_t n = 0;
        while (paths[n])
            n++;
        set = vigil_rule_set_load((const char *const *)paths, n, &opts, &diags);
        vigil_strv_free(paths);
    }
    vigil_diags_print(&diags, stderr);
    vigil_diags_fini(&diags);
    return set;
}

/*
 * Rewrites a PCRE2 pattern for an mtail program (RE2 syntax inside
 * /.../): (?<name> becomes (?P<name>, "/" is escaped. Returns a heap
 * string, or NULL when RE2 cannot take the pattern (*why says why).
 */
static char *to_mtail_regex(const char *p, const char **why)
{
    size_t n = strlen(p);
    char *out = malloc(2 * n + 1);
    if (!out) {
        *why = "out of memory";
        return NULL;
    }
    size_t o = 0;
    bool in_class = false, after_quant = false;
    *why = NULL;
    for (size_t i = 0; i < n && !*why; i++) {
        char ch = p[i];
        bool quant = false;
        if (ch == '\\' && i + 1 < n) {
            char e = p[i + 1];
            if (strchr("123456789gkKGZRXhHvVNQEC", e))
                *why = "an escape RE2 lacks (backreference, \\K, \\G, ...)";
            if (e == '/') { /* "\/" stays "\/" */
                out[o++] = '\\';
                out[o++] = '/';
            } else {
                out[o++] = ch;
                out[o++] = e;
            }
            i++;
            after_quant = false;
            continue;
        }
        if (in_class) {
            if (ch == ']')
                in_class = false;
            if (ch == '/')
                out[o++] = '\\';
            out[o++] = ch;
            continue;
        }
        switch (ch) {
        case '[':
            in_class = true;
            /* A leading ']' (or '^]') is a literal member. */
            out[o++] = ch;
            if (i + 1 < n && p[i + 1] == '^')
                out[o++] = p[++i];
            if (i + 1 < n && p[i + 1] == ']')
                out[o++] = p[++i];
            after_quant = false;
            continue;
        case '(':
            if (i + 1 < n && p[i + 1] == '*') {
                *why = "a PCRE2 verb";
            } else if (i + 1 < n && p[i + 1] == '?') {
                const char *g = p + i + 2;
                if (strncmp(g, "<=", 2) == 0 || strncmp(g, "<!", 2) == 0 ||
                    *g == '=' || *g == '!')
                    *why = "a lookaround";
                else if (*g == '>')
                    *why = "an atomic group";
                else if (*g == '(' || *g == '|' || *g == 'R' || *g == '&' ||
                         (*g >= '0' && *g <= '9') || *g == '+' ||
                         strncmp(g, "P>", 2) == 0 || strncmp(g, "P=", 2) == 0)
                    *why = "a conditional, recursion or branch reset";
                else if (*g == '<') {
                    memcpy(out + o, "(?P<", 4);
                    o += 4;
                    i += 2;
                    after_quant = false;
                    continue;
                } else if (*g != ':' && *g != 'P') {
                    /* Inline flags: RE2 knows i, m, s, U. */
                    for (const char *f = g; *f && *f != ')' && *f != ':'; f++)
                        if (!strchr("imsU-", *f))
                            *why = "an inline flag RE2 lacks";
                }
            }
            break;
        case '*':
        case '+':
        case '?':
        case '}':
            if (after_quant && ch == '+')
                *why = "a possessive quantifier";
            quant = ch != '?' || !after_quant; /* "??" is lazy */
            break;
        case '/':
            out[o++] = '\\';
            break;
        default:
            break;
        }
        out[o++] = ch;
        after_quant = quant;
    }
    out[o] = '\0';
    if (*why) {
        free(out);
        return NULL;
    }
    return out;
}

/* Runs argv with stdout and stderr to files; wall and CPU seconds. */
static int run_timed(char *const argv[], const char *out_path,
                     const char *err_path, double *wall, double *cpu)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    double t0 = now_s();
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0)
        return -1;
    *wall = now_s() - t0;
    *cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The value of mtail's counter `name` in its one-shot JSON; 0 if absent. */
static double mtail_counter(const cJSON *root, const char *name)
{
    const cJSON *metric =
        cJSON_GetArrayItem(cJSON_GetObjectItem(root, name), 0);
    const cJSON *lv =
        cJSON_GetArrayItem(cJSON_GetObjectItem(metric, "LabelValues"), 0);
    const cJSON *v =
        cJSON_GetObjectItem(cJSON_GetObjectItem(lv, "Value"), "Value");
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/*
 * The mtail peer: returns 0, or -1 when it could not run. Prints its own
 * lines. vigil_s is vigil's best decode + match time on the same lines.
 */
static int mtail_peer(const struct corpus *c, struct vigil_rule_set *set,
                      const struct counting *k, double vigil_s)
{
    size_t n_rules = vigil_rule_set_size(set);
    char *dir = vigil_test_tmpdir("vigil-bench-match");
    char *progs = NULL, *logs = NULL, *empty = NULL, *prog = NULL, *out = NULL,
         *err = NULL;
    if (!dir || asprintf(&progs, "%s/progs", dir) < 0 ||
        asprintf(&logs, "%s/lines.log", dir) < 0 ||
        asprintf(&empty, "%s/empty.log", dir) < 0 ||
        asprintf(&prog, "%s/progs/rules.mtail", dir) < 0 ||
        asprintf(&out, "%s/out.json", dir) < 0 ||
        asprintf(&err, "%s/err.log", dir) < 0 || mkdir(progs, 0755) < 0)
        return -1;

    bool *in_prog = calloc(n_rules, sizeof(*in_prog));
    FILE *f = fopen(prog, "w");
    size_t n_in = 0, n_field = 0, n_syntax = 0;
    for (size_t i = 0; f && in_prog && i < n_rules; i++) {
        const struct vigil_rule *r = vigil_rule_set_rule(set, i);
        if (strcmp(r->field, "message") != 0) {
            n_field++;
            continue;
        }
        size_t len;
        const char *why;
        char *re = to_mtail_regex(vigil_regex_pattern(r->re, &len), &why);
        if (!re) {
            n_syntax++;
            printf("  mtail: skipped %s: %s\n", r->id, why);
            continue;
        }
        fprintf(f, "counter rule_%zu\n/%s/ {\n  rule_%zu++\n}\n", i, re, i);
        free(re);
        in_prog[i] = true;
        n_in++;
    }
    if (f)
        fclose(f);
    FILE *lf = fopen(logs, "w");
    FILE *ef = fopen(empty, "w");
    if (lf)
        fwrite(c->buf, 1, c->off[c->n], lf);
    if (lf)
        fclose(lf);
    if (ef)
        fclose(ef);

    int rc = -1;
    char *argv_empty[] = {"mtail",   "--one_shot", "--one_shot_format",
                          "json",    "--logs",     empty,
                          "--progs", progs,        NULL};
    char *argv_run[] = {"mtail",   "--one_shot", "--one_shot_format",
                        "json",    "--logs",     logs,
                        "--progs", progs,        NULL};
    double start_wall, start_cpu, wall = 1e30, cpu = 0;
    int src = run_timed(argv_empty, out, err, &start_wall, &start_cpu);
    if (src < 0) {
        printf("  mtail: not installed (deploy/install-deps.sh --bench); "
               "no peer\n");
        goto out_free;
    }
    if (src != 0) {
        char *e = vigil_test_read_file(err, NULL);
        printf("  mtail: failed: %s\n", e ? e : "?");
        free(e);
        goto out_free;
    }
    for (int round = 0; round < ROUNDS; round++) {
        double w, cp;
        if (run_timed(argv_run, out, err, &w, &cp) != 0) {
            printf("  mtail: failed on the lines\n");
            goto out_free;
        }
        if (w < wall) {
            wall = w;
            cpu = cp;
        }
    }
    char *json = vigil_test_read_file(out, NULL);
    cJSON *root = json ? cJSON_Parse(json) : NULL;
    free(json);
    if (!root) {
        printf("  mtail: its JSON output does not parse\n");
        goto out_free;
    }

    size_t compared = 0, agree = 0;
    for (size_t i = 0; i < n_rules; i++) {
        const struct vigil_rule *r = vigil_rule_set_rule(set, i);
        if (!in_prog[i] || r->n_when || r->n_unless)
            continue;
        char name[32];
        snprintf(name, sizeof(name), "rule_%zu", i);
        double got = mtail_counter(root, name);
        compared++;
        if (got == (double)k->text[i])
            agree++;
        else
            printf("  mtail: %s: mtail %.0f, vigil %llu on text lines\n", r->id,
                   got, (unsigned long long)k->text[i]);
    }
    cJSON_Delete(root);

    double net = wall - start_wall;
    double lps = (double)c->n / wall;
    printf("  mtail --one_shot (peer): %zu of %zu rules in its program "
           "(%zu on other fields, %zu not RE2)\n",
           n_in, n_rules, n_field, n_syntax);
    printf("    mtail:                  %10.0f lines/s (wall %.2f s, of "
           "which start-up %.2f s; CPU %.2f s)\n",
           lps, wall, start_wall, cpu);
    printf("    mtail without start-up: %10.0f lines/s\n",
           net > 0 ? (double)c->n / net : 0.0);
    printf("    vigil / mtail:          %10.1f x (vigil: all %zu rules, "
           "one core)\n",
           wall / vigil_s, n_rules);
    printf("    per-rule counts agree:  %zu of %zu compared rules (no "
           "when/unless; vigil on text lines)\n",
           agree, compared);
    rc = 0;

out_free:
    vigil_test_rm_rf(dir);
    free(in_prog);
    free(dir);
    free(progs);
    free(logs);
    free(empty);
    free(prog);
    free(out);
    free(err);
    return rc;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000;
    bool peer = true, profile = false;
    const char *corpus_path = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--no-peer") == 0)
            peer = false;
        else if (strcmp(argv[i], "--corpus") == 0 && i + 1 < argc)
            corpus_path = argv[++i];
        else if (strcmp(argv[i], "--profile") == 0)
            profile = true;
    }
    struct corpus c = {0};
    if (n == 0 || make_corpus(&c, n) < 0) {
        fprintf(stderr, "bench_match: bad line count or out of memory\n");
        return 2;
    }
    if (corpus_path) {
        FILE *f = fopen(corpus_path, "w");
        for (size_t i = 0; f && i < c.n; i++) {
            fwrite(c.buf + c.off[i], 1, c.off[i + 1] - 1 - c.off[i], f);
            fputc('\n', f);
        }
        int rc = f && fclose(f) == 0 ? 0 : 1;
        free(c.buf);
        free(c.off);
        return rc;
    }
    struct vigil_rule_set *pf = load_packs(false);
    if (pf && profile) {
        size_t nr = vigil_rule_set_size(pf);
        struct counting k = {calloc(nr, sizeof(uint64_t)),
                             calloc(nr, sizeof(uint64_t)), false};
        int rc = 1;
        if (k.all && k.text) {
            double t = run_pass(&c, pf, &k, 1);
            uint64_t matches = 0;
            for (size_t i = 0; i < nr; i++)
                matches += k.all[i];
            printf("bench_match --profile: %zu lines, %zu rules, %llu "
                   "matches, %.0f lines/s (one pass)\n",
                   c.n, nr, (unsigned long long)matches, c.n / t);
            rc = 0;
        }
        free(k.all);
        free(k.text);
        vigil_rule_set_unref(pf);
        free(c.buf);
        free(c.off);
        return rc;
    }
    struct vigil_rule_set *pcre = load_packs(true);
    if (!pf || !pcre)
        return 1;
    size_t n_rules = vigil_rule_set_size(pf);
    struct counting kpf = {calloc(n_rules, sizeof(uint64_t)),
                           calloc(n_rules, sizeof(uint64_t)), false};
    struct counting kpc = {calloc(n_rules, sizeof(uint64_t)),
                           calloc(n_rules, sizeof(uint64_t)), false};
    if (!kpf.all || !kpf.text || !kpc.all || !kpc.text)
        return 1;

    struct vigil_diags notes;
    vigil_diags_init(&notes);
    size_t unfiltered = vigil_rule_set_unfiltered(pf, &notes);
    vigil_diags_fini(&notes);
    size_t json_lines = 0;
    for (size_t i = 0; i < c.n; i++)
        json_lines += is_json_line(&c, i);

    double t_decode = run_pass(&c, NULL, NULL, ROUNDS);
    double t_pf = run_pass(&c, pf, &kpf, ROUNDS);
    double t_pcre = run_pass(&c, pcre, &kpc, ROUNDS);

    uint64_t matches = 0;
    size_t mismatches = 0;
    for (size_t i = 0; i < n_rules; i++) {
        matches += kpf.all[i];
        if (kpf.all[i] != kpc.all[i]) {
            mismatches++;
            printf("  MISMATCH %s: vectorscan+pcre2 %llu, pcre2 %llu\n",
                   vigil_rule_set_rule(pf, i)->id,
                   (unsigned long long)kpf.all[i],
                   (unsigned long long)kpc.all[i]);
        }
    }

    printf("bench_match: %zu lines (synth seed %d; %zu JSON, %zu text), %zu "
           "rules (%zu not prefiltered by Vectorscan), best of %d\n",
           c.n, SEED, json_lines, c.n - json_lines, n_rules, unfiltered,
           ROUNDS);
    printf("  decode only:               %10.0f lines/s\n", c.n / t_decode);
    printf("  decode + Vectorscan+PCRE2: %10.0f lines/s  (matching %.0f "
           "ns/line)\n",
           c.n / t_pf, (t_pf - t_decode) / (double)c.n * 1e9);
    printf("  decode + PCRE2 alone:      %10.0f lines/s  (matching %.0f "
           "ns/line)\n",
           c.n / t_pcre, (t_pcre - t_decode) / (double)c.n * 1e9);
    printf("  prefilter speed-up:        %10.2f x\n", t_pcre / t_pf);
    printf("  per-rule matches equal:    %s (%llu matches)\n",
           mismatches ? "NO" : "yes", (unsigned long long)matches);

    if (peer)
        mtail_peer(&c, pf, &kpf, t_pf);

    free(kpf.all);
    free(kpf.text);
    free(kpc.all);
    free(kpc.text);
    vigil_rule_set_unref(pf);
    vigil_rule_set_unref(pcre);
    free(c.buf);
    free(c.off);
    return mismatches ? 1 : 0;
}
