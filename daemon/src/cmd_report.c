/*
 * vigild report: the ISMS monitoring report of a period (docs/REPORTS.md)
 * from the records in Redis, as Markdown, HTML or JSON, on stdout or into
 * --out. Exit 0, 1 when the config, the indicator files, Redis or the
 * output fail, 2 on a usage error.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "commands.h"
#include "config.h"
#include "diag.h"
#include "indicator.h"
#include "redis_conn.h"
#include "report.h"
#include "report_calendar.h"
#include "report_writer.h"

static const char report_usage[] =
    "usage: vigild report [-c FILE] --from T --to T [--format md|html|json]\n"
    "                     [--out FILE] [--now T]\n"
    "\n"
    "Writes the ISMS monitoring report of the period [from, to) from the\n"
    "records in Redis: control block, executive summary, scope and data\n"
    "quality, results per indicator, non-conformances, analysis.\n"
    "\n"
    "  -c, --config FILE  the config file (default vigil.yaml)\n"
    "  --from T, --to T   the period: YYYY-MM-DD (00:00 UTC), RFC 3339 or\n"
    "                     epoch seconds; --to is excluded\n"
    "  --format F         md (default), html or json\n"
    "  --out FILE         write there instead of stdout\n"
    "  --now T            the report's time (default: the clock); records\n"
    "                     after it are ignored; for reproducible output\n";

struct report_options {
    const char *config;
    const char *from, *to, *now, *out;
    unsigned format;
};

static int take(int argc, char **argv, int *i, const char *name,
                const char **out)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) == 0 && a[n] == '=') {
        *out = a + n + 1;
        return 1;
    }
    if (strcmp(a, name) != 0)
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "vigild report: %s needs a value\n", name);
        return -1;
    }
    *out = argv[++*i];
    return 1;
}

static int parse_options(int argc, char **argv, struct report_options *o)
{
    memset(o, 0, sizeof(*o));
    o->config = "vigil.yaml";
    const char *format = "md";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int t;
        if ((t = take(argc, argv, &i, "-c", &o->config)) ||
            (t = take(argc, argv, &i, "--config", &o->config)) ||
            (t = take(argc, argv, &i, "--from", &o->from)) ||
            (t = take(argc, argv, &i, "--to", &o->to)) ||
            (t = take(argc, argv, &i, "--now", &o->now)) ||
            (t = take(argc, argv, &i, "--out", &o->out)) ||
            (t = take(argc, argv, &i, "--format", &format))) {
            if (t < 0)
                return -1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(report_usage, stdout);
            return 1;
        }
        fprintf(stderr, "vigild report: unexpected argument '%s'\n", a);
        return -1;
    }
    if (vigil_report_format_parse(format, &o->format) < 0) {
        fprintf(stderr, "vigild report: --format must be md, html or json\n");
        return -1;
    }
    if (!o->from || !o->to) {
        fprintf(stderr, "vigild report: --from and --to are required\n");
        return -1;
    }
    return 0;
}

static int parse_times(const struct report_options *o,
                       struct vigil_report_params *p)
{
    const char *bad = NULL;
    if (vigil_report_parse_time(o->from, &p->from_ms) < 0)
        bad = o->from;
    else if (vigil_report_parse_time(o->to, &p->to_ms) < 0)
        bad = o->to;
    else if (o->now && vigil_report_parse_time(o->now, &p->now_ms) < 0)
        bad = o->now;
    if (bad) {
        fprintf(stderr,
                "vigild report: '%s' is not a time (YYYY-MM-DD, RFC 3339 or "
                "epoch seconds)\n",
                bad);
        return -1;
    }
    if (p->to_ms <= p->from_ms) {
        fprintf(stderr, "vigild report: --to must be after --from\n");
        return -1;
    }
    if (!o->now) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        p->now_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    }
    return 0;
}

int vigil_cmd_report(int argc, char **argv)
{
    struct report_options o;
    int prc = parse_options(argc, argv, &o);
    if (prc != 0)
        return prc > 0 ? 0 : 2;
    struct vigil_report_params p = {0};
    if (parse_times(&o, &p) < 0)
        return 2;
    int rc = 1;
    struct vigil_diags diags = {0};
    struct vigil_config *cfg = vigil_config_load(o.config, &diags);
    if (!cfg) {
        vigil_diags_print(&diags, stderr);
        goto done;
    }
    struct vigil_indicator_set *set =
        vigil_indicator_set_load((const char *const *)cfg->indicator_files,
                                 cfg->n_indicator_files, NULL, &diags);
    if (!set) {
        vigil_diags_print(&diags, stderr);
        goto err_free_cfg;
    }
    char err[512];
    redisContext *c = vigil_redis_connect(&cfg->redis, err, sizeof(err));
    if (!c) {
        fprintf(stderr, "vigild report: redis: %s\n", err);
        goto err_free_set;
    }
    p.cfg = cfg;
    p.set = set;
    struct vigil_report *r = vigil_report_collect(c, &p, err, sizeof(err));
    if (!r) {
        fprintf(stderr, "vigild report: %s\n", err);
        goto err_free_redis;
    }
    if (o.out) {
        if (vigil_report_write_file(r, o.format, o.out, err, sizeof(err)) < 0) {
            fprintf(stderr, "vigild report: %s\n", err);
            goto err_free_report;
        }
    } else if (vigil_report_write(r, o.format, stdout) < 0 ||
               fflush(stdout) != 0) {
        fprintf(stderr, "vigild report: cannot write the report\n");
        goto err_free_report;
    }
    rc = 0;
err_free_report:
    vigil_report_destroy(r);
err_free_redis:
    redisFree(c);
err_free_set:
    vigil_indicator_set_destroy(set);
err_free_cfg:
    vigil_config_destroy(cfg);
done:
    vigil_diags_fini(&diags);
    return rc;
}
