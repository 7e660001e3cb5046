/*
 * vigild silence add|list|expire: manages the silences of
 * vigil:{ns}:silences (silence.h). `add` prints the new id; `list` prints
 * a table (or --json) of the silences that are active or pending (--all:
 * also the expired ones); `expire` ends one now. Exit 0, 1 when the
 * config or Redis fail or the id is unknown, 2 on a usage error.
 */
#include <cJSON.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "commands.h"
#include "config.h"
#include "diag.h"
#include "redis_conn.h"
#include "silence.h"
#include "yaml_doc.h"

static const char silence_usage[] =
    "usage: vigild silence add [-c FILE] --match KEY=VALUE... (--for D | "
    "--until T)\n"
    "                          [--starts T] [--author A] [--reason R]\n"
    "       vigild silence list [-c FILE] [--json] [--all]\n"
    "       vigild silence expire [-c FILE] ID\n"
    "\n"
    "A silence mutes the notifications that every matcher holds for\n"
    "(keys: severity, indicator, state, action, dedup, or a label name);\n"
    "they are still recorded. Times are RFC 3339 UTC\n"
    "(2024-05-16T09:00:00Z) or epoch seconds; D is a duration (2h, 1h30m).\n"
    "\n"
    "  -c, --config FILE  the config file (default vigil.yaml)\n"
    "  --author A         who silences (default $USER)\n";

struct silence_options {
    const char *verb;
    const char *config;
    const char *for_;
    const char *until;
    const char *starts;
    const char *author;
    const char *reason;
    const char *id;
    const char **matchers;
    size_t n_matchers;
    bool json, all;
};

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
        fprintf(stderr, "vigild silence: %s needs a value\n", name);
        return -1;
    }
    *out = argv[++*i];
    return 1;
}

static int parse_options(int argc, char **argv, struct silence_options *o)
{
    o->config = "vigil.yaml";
    o->author = getenv("USER");
    o->reason = "";
    o->matchers = calloc((size_t)argc + 1, sizeof(*o->matchers));
    if (!o->matchers)
        return -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(silence_usage, stdout);
            return 1;
        }
        if (strcmp(a, "--json") == 0) {
            o->json = true;
            continue;
        }
        if (strcmp(a, "--all") == 0) {
            o->all = true;
            continue;
        }
        const char *m = NULL;
        static const char *const names[] = {"-c",       "--config", "--for",
                                            "--until",  "--starts", "--author",
                                            "--reason", "--match"};
        const char **slots[] = {&o->config, &o->config, &o->for_,   &o->until,
                                &o->starts, &o->author, &o->reason, &m};
        int r = 0;
        for (size_t k = 0; k < 8 && r == 0; k++)
            r = value_of(argc, argv, &i, names[k], slots[k]);
        if (r < 0)
            return -1;
        if (m)
            o->matchers[o->n_matchers++] = m;
        if (r > 0)
            continue;
        if (a[0] == '-') {
            fprintf(stderr, "vigild silence: unexpected argument '%s'\n", a);
            return -1;
        }
        if (!o->verb)
            o->verb = a;
        else if (!o->id)
            o->id = a;
        else {
            fprintf(stderr, "vigild silence: unexpected argument '%s'\n", a);
            return -1;
        }
    }
    if (!o->verb) {
        fputs(silence_usage, stderr);
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

/* Builds the silence of `add` from the options; 0 or 2 (usage). */
static int build(const struct silence_options *o, int64_t now,
                 struct vigil_silence *s)
{
    memset(s, 0, sizeof(*s));
    if (o->n_matchers == 0) {
        fprintf(stderr, "vigild silence add: give at least one --match "
                        "KEY=VALUE\n");
        return 2;
    }
    for (size_t i = 0; i < o->n_matchers; i++) {
        int r = vigil_silence_add_matcher(s, o->matchers[i]);
        if (r != 0) {
            fprintf(stderr,
                    "vigild silence add: bad matcher '%s' (want "
                    "KEY=VALUE)\n",
                    o->matchers[i]);
            return 2;
        }
    }
    s->starts_ms = now;
    if (o->starts && vigil_silence_parse_time(o->starts, &s->starts_ms) < 0) {
        fprintf(stderr, "vigild silence add: bad --starts '%s'\n", o->starts);
        return 2;
    }
    if (!o->for_ == !o->until) {
        fprintf(stderr, "vigild silence add: give one of --for or --until\n");
        return 2;
    }
    uint64_t d;
    if (o->for_) {
        if (vigil_parse_duration(o->for_, strlen(o->for_), &d) < 0 || d == 0) {
            fprintf(stderr, "vigild silence add: bad --for '%s'\n", o->for_);
            return 2;
        }
        s->ends_ms = s->starts_ms + (int64_t)d;
    } else if (vigil_silence_parse_time(o->until, &s->ends_ms) < 0) {
        fprintf(stderr, "vigild silence add: bad --until '%s'\n", o->until);
        return 2;
    }
    if (!o->author || !o->author[0]) {
        fprintf(stderr, "vigild silence add: who silences? give --author\n");
        return 2;
    }
    s->author = strdup(o->author);
    s->reason = strdup(o->reason);
    return s->author && s->reason ? 0 : 1;
}

static const char *status_of(const struct vigil_silence *s, int64_t now)
{
    if (vigil_silence_is_active(s, now))
        return "active";
    return s->starts_ms > now ? "pending" : "expired";
}

static void matchers_text(const struct vigil_silence *s, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < s->n_matchers && off < n; i++)
        off += (size_t)snprintf(buf + off, n - off, "%s%s=%s", i ? "," : "",
                                s->matchers[i].key, s->matchers[i].value);
}

static int list(const struct vigil_silence_list *l, bool json, bool all,
                int64_t now)
{
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    if (json && !arr)
        return 1;
    if (!json)
        printf("%-16s %-8s %-24s %-24s %-12s %-30s %s\n", "ID", "STATUS",
               "STARTS", "ENDS", "AUTHOR", "MATCHERS", "REASON");
    for (size_t i = 0; i < l->n; i++) {
        const struct vigil_silence *s = &l->v[i];
        const char *st = status_of(s, now);
        if (!all && strcmp(st, "expired") == 0)
            continue;
        if (json) {
            char *text = vigil_silence_to_json(s);
            cJSON *o = text ? cJSON_Parse(text) : NULL;
            free(text);
            if (!o)
                continue;
            cJSON_AddStringToObject(o, "id", s->id);
            cJSON_AddStringToObject(o, "status", st);
            cJSON_AddItemToArray(arr, o);
            continue;
        }
        char starts[40], ends[40], m[256];
        vigil_notification_time(s->starts_ms, starts, sizeof(starts));
        vigil_notification_time(s->ends_ms, ends, sizeof(ends));
        matchers_text(s, m, sizeof(m));
        printf("%-16s %-8s %-24s %-24s %-12s %-30s %s\n", s->id, st, starts,
               ends, s->author, m, s->reason);
    }
    if (json) {
        cJSON *root = cJSON_CreateObject();
        if (!root) {
            cJSON_Delete(arr);
            return 1;
        }
        cJSON_AddItemToObject(root, "silences", arr);
        char *out = cJSON_PrintUnformatted(root);
        cJSON_Delete(root);
        if (!out)
            return 1;
        puts(out);
        free(out);
    }
    return 0;
}

static int run(const struct silence_options *o, const struct vigil_config *cfg,
               redisContext *c)
{
    int64_t now = wall_ms();
    char err[256];
    const char *ns = cfg->redis.ns;
    if (strcmp(o->verb, "add") == 0) {
        struct vigil_silence s;
        int rc = build(o, now, &s);
        if (rc == 0) {
            int arc = vigil_silence_add(c, ns, &s, now, err, sizeof(err));
            if (arc == 0)
                printf("%s\n", s.id);
            else
                fprintf(stderr, "vigild silence add: %s\n", err);
            rc = arc == 0 ? 0 : arc == VIGIL_SILENCE_INVALID ? 2 : 1;
        }
        vigil_silence_fini(&s);
        return rc;
    }
    if (strcmp(o->verb, "list") == 0) {
        struct vigil_silence_list l;
        if (vigil_silence_load(c, ns, &l, err, sizeof(err)) < 0) {
            fprintf(stderr, "vigild silence list: %s\n", err);
            return 1;
        }
        int rc = list(&l, o->json, o->all, now);
        vigil_silence_list_fini(&l);
        return rc;
    }
    int rc = vigil_silence_expire(c, ns, o->id, now, err, sizeof(err));
    if (rc == 0) {
        printf("expired %s\n", o->id);
        return 0;
    }
    fprintf(stderr, "vigild silence expire: %s\n", err);
    return 1;
}

int vigil_cmd_silence(int argc, char **argv)
{
    struct silence_options o = {0};
    int rc = parse_options(argc, argv, &o);
    if (rc != 0) {
        free(o.matchers);
        return rc > 0 ? 0 : 2;
    }
    bool add = strcmp(o.verb, "add") == 0, lst = strcmp(o.verb, "list") == 0,
         exp = strcmp(o.verb, "expire") == 0;
    if ((!add && !lst && !exp) || (exp != (o.id != NULL))) {
        fputs(silence_usage, stderr);
        free(o.matchers);
        return 2;
    }
    struct vigil_diags diags = {0};
    struct vigil_config *cfg = vigil_config_load(o.config, &diags);
    if (!cfg) {
        vigil_diags_print(&diags, stderr);
        vigil_diags_fini(&diags);
        free(o.matchers);
        return 1;
    }
    vigil_diags_fini(&diags);
    char err[256];
    redisContext *c = vigil_redis_connect(&cfg->redis, err, sizeof(err));
    if (!c) {
        fprintf(stderr, "vigild silence: redis: %s\n", err);
        rc = 1;
    } else {
        rc = run(&o, cfg, c);
        redisFree(c);
    }
    vigil_config_destroy(cfg);
    free(o.matchers);
    return rc;
}
