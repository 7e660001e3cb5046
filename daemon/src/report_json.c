/*
 * report_json: the monitoring report as one JSON document (cJSON). It
 * carries what the Markdown and HTML reports show, plus the chart data
 * (value buckets and the state timeline) for other tools.
 */
#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_calendar.h"

static void add_time(cJSON *o, const char *key, int64_t ms)
{
    if (ms == VIGIL_ISTATE_NEVER || ms == VIGIL_REPORT_OPENED_UNKNOWN) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    char buf[40];
    vigil_report_format_time(ms, buf, sizeof(buf));
    cJSON_AddStringToObject(o, key, buf);
}

static void add_num(cJSON *o, const char *key, bool has, double v)
{
    if (has)
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

static double round2(double v)
{
    return round(v * 100.0) / 100.0;
}

static const char *state_key(int s)
{
    return s == VIGIL_REPORT_UNKNOWN ? "not_evaluated"
                                     : vigil_state_name((enum vigil_state)s);
}

static void add_control(cJSON *root, const struct vigil_report *r)
{
    cJSON *o = cJSON_AddObjectToObject(root, "control");
    if (!o)
        return;
    cJSON_AddStringToObject(o, "report_id", r->id);
    cJSON_AddStringToObject(o, "title", r->cfg->reports.title);
    cJSON_AddStringToObject(o, "namespace", r->cfg->redis.ns);
    cJSON *p = cJSON_AddObjectToObject(o, "period");
    if (p) {
        add_time(p, "from", r->from_ms);
        add_time(p, "to", r->to_ms);
    }
    add_time(o, "generated_at", r->generated_ms);
    char day[16];
    vigil_report_format_day(r->due_day, day, sizeof(day));
    cJSON_AddStringToObject(o, "due", day);
    cJSON_AddNumberToObject(o, "due_working_days",
                            r->cfg->reports.due_working_days);
    cJSON *d = cJSON_AddArrayToObject(o, "distribution");
    for (size_t i = 0; d && i < r->cfg->reports.n_distribution; i++)
        cJSON_AddItemToArray(
            d, cJSON_CreateString(r->cfg->reports.distribution[i]));
}

static void add_summary(cJSON *root, const struct vigil_report *r)
{
    cJSON *o = cJSON_AddObjectToObject(root, "summary");
    if (!o)
        return;
    cJSON_AddNumberToObject(o, "indicators", (double)r->n_inds);
    cJSON *bs = cJSON_AddObjectToObject(o, "states_at_end");
    for (int s = 0; bs && s < VIGIL_STATE_COUNT; s++)
        cJSON_AddNumberToObject(bs, state_key(s), (double)r->by_state[s]);
    if (bs)
        cJSON_AddNumberToObject(bs, "not_evaluated",
                                (double)r->by_state[VIGIL_STATE_COUNT]);
    size_t met = 0;
    for (size_t i = 0; i < r->n_inds; i++)
        met += r->inds[i].target_met == 1;
    cJSON_AddNumberToObject(o, "targets_met", (double)met);
    cJSON_AddNumberToObject(o, "non_conformances", (double)r->n_breaches);
    cJSON_AddNumberToObject(o, "open_at_end", (double)r->open_at_end);
    cJSON_AddNumberToObject(o, "unacknowledged", (double)r->unacked);
    cJSON *d = cJSON_AddArrayToObject(o, "decisions_needed");
    for (size_t i = 0; d && i < r->n_decisions; i++)
        cJSON_AddItemToArray(d, cJSON_CreateString(r->decisions[i]));
}

static bool seen_source(const struct vigil_report *r, size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (strcmp(r->inds[k].ind->data_source, r->inds[i].ind->data_source) ==
            0)
            return true;
    return false;
}

static void add_scope(cJSON *root, const struct vigil_report *r)
{
    cJSON *o = cJSON_AddObjectToObject(root, "scope");
    if (!o)
        return;
    cJSON *src = cJSON_AddArrayToObject(o, "data_sources");
    for (size_t i = 0; src && i < r->n_inds; i++)
        if (!seen_source(r, i))
            cJSON_AddItemToArray(
                src, cJSON_CreateString(r->inds[i].ind->data_source));
    cJSON *files = cJSON_AddArrayToObject(o, "indicator_files");
    for (size_t i = 0; files && i < r->n_files; i++) {
        cJSON *f = cJSON_CreateObject();
        if (!f)
            break;
        cJSON_AddStringToObject(f, "file", r->files[i].name);
        cJSON_AddStringToObject(f, "sha256", r->files[i].sha256);
        cJSON_AddItemToArray(files, f);
    }
    cJSON_AddStringToObject(o, "definitions_sha256", r->definitions_sha256);
    if (r->previous_id)
        cJSON_AddStringToObject(o, "previous_report", r->previous_id);
    else
        cJSON_AddNullToObject(o, "previous_report");
    if (r->definitions_changed < 0)
        cJSON_AddNullToObject(o, "definitions_changed");
    else
        cJSON_AddBoolToObject(o, "definitions_changed",
                              r->definitions_changed == 1);
    cJSON *nd = cJSON_AddArrayToObject(o, "no_data");
    cJSON *few = cJSON_AddArrayToObject(o, "too_few_samples");
    for (size_t i = 0; nd && few && i < r->n_inds; i++) {
        const struct vigil_report_indicator *ri = &r->inds[i];
        if (ri->cur.valued == 0)
            cJSON_AddItemToArray(nd, cJSON_CreateString(ri->ind->id));
        else if (ri->too_few_samples)
            cJSON_AddItemToArray(few, cJSON_CreateString(ri->ind->id));
    }
    cJSON *in = cJSON_AddArrayToObject(o, "in_no_data_state");
    for (size_t i = 0; in && i < r->n_inds; i++) {
        const struct vigil_report_indicator *ri = &r->inds[i];
        if (ri->cur.state_ms[VIGIL_STATE_NO_DATA] == 0)
            continue;
        cJSON *e = cJSON_CreateObject();
        if (!e)
            break;
        cJSON_AddStringToObject(e, "id", ri->ind->id);
        cJSON_AddNumberToObject(
            e, "pct",
            round2(vigil_report_state_pct(&ri->cur, VIGIL_STATE_NO_DATA)));
        cJSON_AddItemToArray(in, e);
    }
    cJSON_AddBoolToObject(o, "notifications_unknown", r->notifications_unknown);
}

static void add_stats(cJSON *o, const struct vigil_report_stats *st)
{
    cJSON *v = cJSON_AddObjectToObject(o, "value");
    if (v) {
        add_num(v, "last", st->has_last, st->last);
        add_num(v, "min", st->valued > 0, st->min);
        add_num(v, "max", st->valued > 0, st->max);
        add_num(v, "mean", st->valued > 0, st->mean);
    }
    cJSON_AddNumberToObject(o, "samples", (double)st->samples);
    cJSON *t = cJSON_AddObjectToObject(o, "time_in_state_pct");
    for (int s = VIGIL_REPORT_UNKNOWN; t && s < VIGIL_STATE_COUNT; s++)
        cJSON_AddNumberToObject(t, state_key(s),
                                round2(vigil_report_state_pct(st, s)));
}

static void add_result(cJSON *arr, const struct vigil_report_indicator *ri)
{
    const struct vigil_indicator *ind = ri->ind;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return;
    cJSON_AddItemToArray(arr, o);
    cJSON_AddStringToObject(o, "id", ind->id);
    cJSON_AddStringToObject(o, "name", ind->name);
    cJSON_AddStringToObject(o, "information_need", ind->information_need);
    cJSON_AddStringToObject(o, "kind", vigil_indicator_kind_name(ind->kind));
    cJSON_AddStringToObject(o, "entity", ind->entity);
    cJSON_AddStringToObject(o, "owner", ind->owner);
    cJSON_AddStringToObject(o, "unit", ind->unit);
    cJSON_AddStringToObject(o, "target", ind->target_text);
    if (ri->target_met < 0)
        cJSON_AddNullToObject(o, "target_met");
    else
        cJSON_AddBoolToObject(o, "target_met", ri->target_met == 1);
    add_stats(o, &ri->cur);
    cJSON_AddNumberToObject(o, "expected_samples",
                            (double)ri->expected_samples);
    cJSON_AddStringToObject(o, "state_at_end", state_key(ri->end_state));
    cJSON *tr = cJSON_AddObjectToObject(o, "trend");
    if (tr) {
        cJSON_AddStringToObject(tr, "direction",
                                vigil_report_trend_name(ri->trend));
        add_num(tr, "previous_mean", ri->prev.valued > 0, ri->prev.mean);
        add_num(tr, "delta", ri->trend != VIGIL_TREND_UNKNOWN, ri->delta);
    }
    cJSON_AddNumberToObject(o, "non_conformances", (double)ri->n_breaches);
    cJSON *pts = cJSON_AddArrayToObject(o, "chart");
    for (size_t i = 0; pts && i < VIGIL_REPORT_CHART_POINTS; i++) {
        const struct vigil_report_point *p = &ri->points[i];
        if (!p->has)
            continue;
        cJSON *q = cJSON_CreateObject();
        if (!q)
            break;
        add_time(q, "at", p->at_ms);
        cJSON_AddNumberToObject(q, "min", p->min);
        cJSON_AddNumberToObject(q, "max", p->max);
        cJSON_AddNumberToObject(q, "mean", p->mean);
        cJSON_AddItemToArray(pts, q);
    }
    cJSON *tl = cJSON_AddArrayToObject(o, "timeline");
    for (size_t i = 0; tl && i < ri->n_segments; i++) {
        cJSON *q = cJSON_CreateObject();
        if (!q)
            break;
        add_time(q, "from", ri->segments[i].from_ms);
        add_time(q, "to", ri->segments[i].to_ms);
        cJSON_AddStringToObject(q, "state", state_key(ri->segments[i].state));
        cJSON_AddItemToArray(tl, q);
    }
}

static void add_breach(cJSON *arr, const struct vigil_report_breach *b)
{
    const struct vigil_indicator *ind = b->ri ? b->ri->ind : NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return;
    cJSON_AddItemToArray(arr, o);
    cJSON_AddStringToObject(o, "indicator", b->indicator);
    if (ind)
        cJSON_AddStringToObject(o, "name", ind->name);
    else
        cJSON_AddNullToObject(o, "name");
    add_time(o, "opened", b->opened_ms);
    add_time(o, "resolved", b->resolved_ms);
    cJSON_AddNumberToObject(o, "duration_s",
                            floor((double)b->duration_ms / 1000.0));
    add_num(o, "peak", b->has_peak, b->peak);
    if (b->acked_by) {
        cJSON_AddStringToObject(o, "acked_by", b->acked_by);
        add_time(o, "acked_at", b->acked_at_ms);
    } else {
        cJSON_AddNullToObject(o, "acked_by");
        cJSON_AddNullToObject(o, "acked_at");
    }
    cJSON *n = cJSON_AddObjectToObject(o, "notifications");
    if (n) {
        cJSON_AddNumberToObject(n, "total", b->notifications);
        cJSON_AddNumberToObject(n, "repeats", b->repeats);
        cJSON_AddNumberToObject(n, "failed", b->failed);
        cJSON_AddNumberToObject(n, "pending", b->pending);
    }
    cJSON_AddStringToObject(o, "severity", ind ? ind->severity : "");
    cJSON_AddStringToObject(o, "recommendation",
                            ind ? ind->recommendation : "");
}

int vigil_report_write_json(const struct vigil_report *r, FILE *out)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return -1;
    add_control(root, r);
    add_summary(root, r);
    add_scope(root, r);
    cJSON *res = cJSON_AddArrayToObject(root, "results");
    for (size_t i = 0; res && i < r->n_inds; i++)
        add_result(res, &r->inds[i]);
    cJSON *nc = cJSON_AddArrayToObject(root, "non_conformances");
    for (size_t i = 0; nc && i < r->n_breaches; i++)
        add_breach(nc, &r->breaches[i]);
    cJSON *an = cJSON_AddObjectToObject(root, "analysis");
    char text[2048];
    if (an) {
        vigil_report_kind_analysis(r, VIGIL_INDICATOR_PERFORMANCE, text,
                                   sizeof(text));
        cJSON_AddStringToObject(an, "performance", text);
        vigil_report_kind_analysis(r, VIGIL_INDICATOR_EFFECTIVENESS, text,
                                   sizeof(text));
        cJSON_AddStringToObject(an, "effectiveness", text);
    }
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    if (!s)
        return -1;
    fputs(s, out);
    fputc('\n', out);
    free(s);
    return ferror(out) ? -1 : 0;
}
