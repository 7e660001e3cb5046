/*
 * vigild schedule: the monitoring schedule (measurement matrix) from the
 * config's indicator files (schedule.h), as Markdown, CSV or JSON. Exit
 * 0, 1 when the config or the indicator files fail, 2 on a usage error.
 */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "commands.h"
#include "config.h"
#include "diag.h"
#include "indicator.h"
#include "report_calendar.h"
#include "schedule.h"

static const char schedule_usage[] =
    "usage: vigild schedule [-c FILE] [--format md|csv|json] [--now T]\n"
    "\n"
    "Prints the monitoring schedule from the indicator files: entity,\n"
    "indicator, kind, frequency, owner, data source, report type, next\n"
    "report due (from the config's reports: section).\n"
    "\n"
    "  -c, --config FILE  the config file (default vigil.yaml)\n"
    "  --format F         md (default), csv or json\n"
    "  --now T            the date the schedule is computed for\n";

int vigil_cmd_schedule(int argc, char **argv)
{
    const char *config = "vigil.yaml", *format = "md", *now = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0)
            dst = &config;
        else if (strcmp(a, "--format") == 0)
            dst = &format;
        else if (strcmp(a, "--now") == 0)
            dst = &now;
        else if (strncmp(a, "--config=", 9) == 0)
            config = a + 9;
        else if (strncmp(a, "--format=", 9) == 0)
            format = a + 9;
        else if (strncmp(a, "--now=", 6) == 0)
            now = a + 6;
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(schedule_usage, stdout);
            return 0;
        } else {
            fprintf(stderr, "vigild schedule: unexpected argument '%s'\n", a);
            return 2;
        }
        if (dst) {
            if (i + 1 >= argc) {
                fprintf(stderr, "vigild schedule: %s needs a value\n", a);
                return 2;
            }
            *dst = argv[++i];
        }
    }
    enum vigil_schedule_format f;
    if (vigil_schedule_format_parse(format, &f) < 0) {
        fprintf(stderr, "vigild schedule: --format must be md, csv or json\n");
        return 2;
    }
    int64_t now_ms;
    if (now) {
        if (vigil_report_parse_time(now, &now_ms) < 0) {
            fprintf(stderr, "vigild schedule: '%s' is not a time\n", now);
            return 2;
        }
    } else {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        now_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    }
    int rc = 1;
    struct vigil_diags diags = {0};
    struct vigil_config *cfg = vigil_config_load(config, &diags);
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
    if (vigil_schedule_write(cfg, set, now_ms, f, stdout) < 0 ||
        fflush(stdout) != 0)
        fprintf(stderr, "vigild schedule: cannot write the schedule\n");
    else
        rc = 0;
    vigil_indicator_set_destroy(set);
err_free_cfg:
    vigil_config_destroy(cfg);
done:
    vigil_diags_fini(&diags);
    return rc;
}
