/*
 * vigild ack: acknowledges a breach (ack.h) so that it is not repeated.
 * ID is the breach's dedup key "<indicator>:<episode ms>" or an indicator
 * id (its open breach). Exit 0 when acked (or acked before), 1 when the
 * config or Redis fail or there is no such open breach, 2 on a usage
 * error.
 */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "ack.h"
#include "commands.h"
#include "config.h"
#include "diag.h"
#include "notification.h"
#include "redis_conn.h"

static const char ack_usage[] =
    "usage: vigild ack [-c FILE] [--by AUTHOR] [--comment TEXT] ID\n"
    "\n"
    "Acknowledges a breach: records who and when in the breaches stream\n"
    "and the indicator's state, and stops its repeated notifications.\n"
    "ID is the dedup key <indicator>:<episode ms> or an indicator id.\n"
    "\n"
    "  -c, --config FILE  the config file (default vigil.yaml)\n"
    "  --by AUTHOR        who acknowledges (default $USER)\n"
    "  --comment TEXT     a note kept with the ack\n";

struct ack_options {
    const char *config;
    const char *by;
    const char *comment;
    const char *id;
};

/* A value option: "--name VALUE" or "--name=VALUE". */
static int value_of(int argc, char **argv, int *i, const char *name,
                    const char **out)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *out = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "vigild ack: %s needs a value\n", name);
        return -1;
    }
    *out = argv[++*i];
    return 1;
}

static int parse_options(int argc, char **argv, struct ack_options *o)
{
    memset(o, 0, sizeof(*o));
    o->config = "vigil.yaml";
    o->by = getenv("USER");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(ack_usage, stdout);
            return 1;
        }
        int r = value_of(argc, argv, &i, "-c", &o->config);
        if (!r)
            r = value_of(argc, argv, &i, "--config", &o->config);
        if (!r)
            r = value_of(argc, argv, &i, "--by", &o->by);
        if (!r)
            r = value_of(argc, argv, &i, "--comment", &o->comment);
        if (r < 0)
            return -1;
        if (r > 0)
            continue;
        if (a[0] == '-' || o->id) {
            fprintf(stderr, "vigild ack: unexpected argument '%s'\n", a);
            return -1;
        }
        o->id = a;
    }
    if (!o->id) {
        fputs(ack_usage, stderr);
        return -1;
    }
    if (!o->by || !o->by[0]) {
        fprintf(stderr, "vigild ack: who acknowledges? give --by AUTHOR\n");
        return -1;
    }
    return 0;
}

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int vigil_cmd_ack(int argc, char **argv)
{
    struct ack_options o;
    int prc = parse_options(argc, argv, &o);
    if (prc != 0)
        return prc > 0 ? 0 : 2;
    struct vigil_diags diags = {0};
    struct vigil_config *cfg = vigil_config_load(o.config, &diags);
    if (!cfg) {
        vigil_diags_print(&diags, stderr);
        vigil_diags_fini(&diags);
        return 1;
    }
    vigil_diags_fini(&diags);
    int rc = 1;
    char err[256];
    redisContext *c = vigil_redis_connect(&cfg->redis, err, sizeof(err));
    if (!c) {
        fprintf(stderr, "vigild ack: redis: %s\n", err);
        goto out;
    }
    struct vigil_ack_result r;
    int arc = vigil_ack_breach(c, cfg->redis.ns, o.id, o.by, o.comment,
                               wall_ms(), &r, err, sizeof(err));
    if (arc == 0) {
        char at[40];
        vigil_notification_time(r.at_ms, at, sizeof(at));
        printf("%s %s:%" PRId64 " by %s at %s\n",
               r.already ? "already acknowledged" : "acknowledged", r.indicator,
               r.episode_ms, r.by, at);
        rc = 0;
    } else {
        fprintf(stderr, "vigild ack: %s\n", err);
        rc = arc == VIGIL_ACK_INVALID ? 2 : 1;
    }
    redisFree(c);
out:
    vigil_config_destroy(cfg);
    return rc;
}
