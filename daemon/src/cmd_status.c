/*
 * vigild status: the indicators of the config's indicator files with their
 * states read from Redis (vigil:{ns}:state:<id>), as a table or, with
 * --json, as {"indicators":[{"id","name","value","unit","state","since",
 * "target","owner",...}]}. Exit 0, 1 when the config, the indicator files
 * or Redis fail, 2 on a usage error.
 */
#include <cJSON.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "commands.h"
#include "redis_conn.h"
#include "config.h"
#include "diag.h"
#include "indicator.h"
#include "indicator_store.h"

static const char status_usage[] =
    "usage: vigild status [-c FILE | --config FILE] [--json]\n"
    "\n"
    "Prints every indicator of the config's indicator files with its state\n"
    "from Redis: id, value, unit, state, since, target, owner.\n"
    "\n"
    "  -c, --config FILE  the config file (default vigil.yaml)\n"
    "  --json             {\"indicators\":[{...}]} on stdout\n";

struct status_options {
    const char *config;
    bool json;
};

static int parse_options(int argc, char **argv, struct status_options *o)
{
    o->config = "vigil.yaml";
    o->json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "vigild status: %s needs a file\n", a);
                return -1;
            }
            o->config = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            o->config = a + 9;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(status_usage, stdout);
            return 1;
        } else {
            fprintf(stderr, "vigild status: unexpected argument '%s'\n", a);
            return -1;
        }
    }
    return 0;
}

/* Connects, authenticates and selects the database of cfg. */
static redisContext *connect_redis(const struct vigil_config_redis *r)
{
    char err[256];
    redisContext *c = vigil_redis_connect(r, err, sizeof(err));
    if (!c)
        fprintf(stderr, "vigild status: redis: %s\n", err);
    return c;
}

/* "2024-05-16T09:00:00Z", or "" for NEVER. */
static void format_time(int64_t ms, char *buf, size_t n)
{
    buf[0] = '\0';
    if (ms == VIGIL_ISTATE_NEVER)
        return;
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void format_value(const struct vigil_istate *st, char *buf, size_t n)
{
    if (st->has_value)
        snprintf(buf, n, "%.6g", st->value);
    else
        snprintf(buf, n, "-");
}

/* The state with what is under way: "ok (pending breach)". */
static void format_state(const struct vigil_istate *st,
                         const struct vigil_istate_view *v, bool found,
                         char *buf, size_t n)
{
    if (!found) {
        snprintf(buf, n, "unknown");
        return;
    }
    size_t off = (size_t)snprintf(buf, n, "%s", vigil_state_name(st->state));
    if (v->pending && off < n)
        off += (size_t)snprintf(buf + off, n - off, " (pending %s)",
                                vigil_state_name(v->pending_state));
    else if (v->recovering && off < n)
        off += (size_t)snprintf(buf + off, n - off, " (recovering %s)",
                                vigil_state_name(v->recovering_state));
    if (st->flapping && off < n)
        snprintf(buf + off, n - off, " flapping");
}

static void print_table(const struct vigil_indicator_set *set,
                        const struct vigil_istate *states, const bool *found)
{
    printf("%-14s %12s  %-28s %-26s %-20s %-8s %s\n", "ID", "VALUE", "UNIT",
           "STATE", "SINCE", "TARGET", "OWNER");
    for (size_t i = 0; i < set->n; i++) {
        const struct vigil_indicator *ind = &set->v[i];
        struct vigil_istate_view v;
        vigil_istate_view(&states[i], &ind->params, &v);
        char value[32], since[32], state[64];
        format_value(&states[i], value, sizeof(value));
        format_time(states[i].since_ms, since, sizeof(since));
        format_state(&states[i], &v, found[i], state, sizeof(state));
        printf("%-14s %12s  %-28.28s %-26s %-20s %-8s %s\n", ind->id, value,
               ind->unit, state, since[0] ? since : "-", ind->target_text,
               ind->owner);
    }
}

static void add_time(cJSON *o, const char *key, int64_t ms)
{
    char buf[32];
    format_time(ms, buf, sizeof(buf));
    if (buf[0])
        cJSON_AddStringToObject(o, key, buf);
    else
        cJSON_AddNullToObject(o, key);
}

static int print_json(const struct vigil_indicator_set *set,
                      const struct vigil_istate *states, const bool *found)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = root ? cJSON_AddArrayToObject(root, "indicators") : NULL;
    if (!arr) {
        cJSON_Delete(root);
        return -1;
    }
    for (size_t i = 0; i < set->n; i++) {
        const struct vigil_indicator *ind = &set->v[i];
        const struct vigil_istate *st = &states[i];
        struct vigil_istate_view v;
        vigil_istate_view(st, &ind->params, &v);
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddItemToArray(arr, o);
        cJSON_AddStringToObject(o, "id", ind->id);
        cJSON_AddStringToObject(o, "name", ind->name);
        if (st->has_value)
            cJSON_AddNumberToObject(o, "value", st->value);
        else
            cJSON_AddNullToObject(o, "value");
        cJSON_AddStringToObject(o, "unit", ind->unit);
        if (found[i])
            cJSON_AddStringToObject(o, "state", vigil_state_name(st->state));
        else
            cJSON_AddNullToObject(o, "state");
        add_time(o, "since", st->since_ms);
        cJSON_AddStringToObject(o, "target", ind->target_text);
        cJSON_AddStringToObject(o, "owner", ind->owner);
        cJSON_AddStringToObject(o, "kind",
                                vigil_indicator_kind_name(ind->kind));
        cJSON_AddStringToObject(o, "entity", ind->entity);
        cJSON_AddStringToObject(o, "severity", ind->severity);
        if (v.pending)
            cJSON_AddStringToObject(o, "pending",
                                    vigil_state_name(v.pending_state));
        else
            cJSON_AddNullToObject(o, "pending");
        add_time(o, "pending_since", v.pending_since_ms);
        if (v.recovering)
            cJSON_AddStringToObject(o, "recovering",
                                    vigil_state_name(v.recovering_state));
        else
            cJSON_AddNullToObject(o, "recovering");
        cJSON_AddBoolToObject(o, "flapping", st->flapping);
        add_time(o, "last_evaluated", st->last_eval_ms);
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s)
        return -1;
    puts(s);
    free(s);
    return 0;
}

int vigil_cmd_status(int argc, char **argv)
{
    struct status_options o;
    int prc = parse_options(argc, argv, &o);
    if (prc != 0)
        return prc > 0 ? 0 : 2;
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
    struct vigil_indicator_store_config sc = {
        .ns = cfg->redis.ns,
        .resolution_s = (int64_t)(cfg->events.resolution_ms / 1000),
    };
    struct vigil_indicator_store *store = vigil_indicator_store_create(&sc);
    redisContext *ctx = store ? connect_redis(&cfg->redis) : NULL;
    const char **ids = calloc(set->n + 1, sizeof(*ids));
    struct vigil_istate *states = calloc(set->n + 1, sizeof(*states));
    bool *found = calloc(set->n + 1, sizeof(*found));
    if (!store || !ctx || !ids || !states || !found) {
        if (!store || !ids || !states || !found)
            fprintf(stderr, "vigild status: out of memory\n");
        goto err_free_all;
    }
    for (size_t i = 0; i < set->n; i++)
        ids[i] = set->v[i].id;
    if (vigil_indicator_store_read_states(store, ctx, ids, set->n, states,
                                          found) < 0) {
        fprintf(stderr, "vigild status: %s\n",
                vigil_indicator_store_error(store));
        goto err_free_all;
    }
    if (o.json) {
        if (print_json(set, states, found) < 0) {
            fprintf(stderr, "vigild status: out of memory\n");
            goto err_free_all;
        }
    } else {
        print_table(set, states, found);
    }
    rc = 0;
err_free_all:
    free(ids);
    free(states);
    free(found);
    if (ctx)
        redisFree(ctx);
    vigil_indicator_store_destroy(store);
    vigil_indicator_set_destroy(set);
err_free_cfg:
    vigil_config_destroy(cfg);
done:
    vigil_diags_fini(&diags);
    return rc;
}
