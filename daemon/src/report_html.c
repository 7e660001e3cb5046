/*
 * report_html: the monitoring report as one self-contained HTML page: no
 * script, no external resource; per indicator an inline SVG chart of the
 * value over the period with the decision criteria as coloured bands and
 * the target as a dashed line, and a state timeline. Print CSS keeps
 * sections and charts on one page each where they fit.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "report.h"
#include "report_calendar.h"

#define CW 720.0 /* chart width */
#define CH 170.0 /* chart height */
#define PL 56.0  /* plot left */
#define PR 12.0  /* right margin */
#define PT 10.0  /* plot top */
#define PB 24.0  /* bottom margin (axis labels) */

static const char css[] =
    "body{font:14px/1.45 -apple-system,'Segoe UI',Roboto,'DejaVu "
    "Sans',Arial,sans-serif;color:#1b1f24;max-width:1100px;margin:24px "
    "auto;padding:0 16px}\n"
    "h1{font-size:24px;margin:0 0 12px}h2{font-size:19px;border-bottom:2px "
    "solid #1b1f24;padding-bottom:3px;margin-top:28px}h3{font-size:16px}\n"
    "table{border-collapse:collapse;margin:8px 0;width:100%}th,td{border:1px "
    "solid #c8ccd1;padding:3px 6px;text-align:left;vertical-align:top}\n"
    "th{background:#eef1f4}td.n{text-align:right;font-variant-numeric:"
    "tabular-nums}table.control{width:auto}table.control th{width:260px}\n"
    "code{font-size:12px;word-break:break-all}.muted{color:#5a6370}\n"
    ".state{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;"
    "font-size:12px}.s-ok{background:#2eb886}.s-warn{background:#b58900}"
    ".s-breach{background:#d00000}.s-no_data{background:#808080}"
    ".s-not_evaluated{background:#b0b5ba}\n"
    ".card{border:1px solid #c8ccd1;border-radius:4px;padding:8px "
    "12px;margin:12px 0}.card h3{margin:4px 0}.legend span{margin-right:12px;"
    "font-size:12px}.legend i{display:inline-block;width:10px;height:10px;"
    "margin-right:4px;vertical-align:middle}\n"
    "svg{display:block;max-width:100%;height:auto}\n"
    "@page{size:A4 landscape;margin:12mm}\n"
    "@media print{body{max-width:none;margin:0;font-size:11px}"
    "section,.card,tr{break-inside:avoid}h2{break-after:avoid}"
    "a{color:inherit;text-decoration:none}}\n";

static void esc(FILE *o, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", o);
            break;
        case '<':
            fputs("&lt;", o);
            break;
        case '>':
            fputs("&gt;", o);
            break;
        case '"':
            fputs("&quot;", o);
            break;
        case '\'':
            fputs("&#39;", o);
            break;
        default:
            fputc(*s, o);
        }
    }
}

static void put_time(FILE *o, int64_t ms, const char *none)
{
    if (ms == VIGIL_ISTATE_NEVER || ms == VIGIL_REPORT_OPENED_UNKNOWN) {
        esc(o, none);
        return;
    }
    char buf[40];
    vigil_report_format_time(ms, buf, sizeof(buf));
    fputs(buf, o);
}

static const char *state_key(int s)
{
    return s == VIGIL_REPORT_UNKNOWN ? "not_evaluated"
                                     : vigil_state_name((enum vigil_state)s);
}

static const char *state_label(int s)
{
    return s == VIGIL_REPORT_UNKNOWN  ? "not evaluated"
           : s == VIGIL_STATE_NO_DATA ? "no data"
                                      : vigil_state_name((enum vigil_state)s);
}

static const char *state_colour(int s)
{
    switch (s) {
    case VIGIL_STATE_OK:
        return "#2eb886";
    case VIGIL_STATE_WARN:
        return "#f2c744";
    case VIGIL_STATE_BREACH:
        return "#d00000";
    case VIGIL_STATE_NO_DATA:
        return "#808080";
    default:
        return "#dfe2e5";
    }
}

static void badge(FILE *o, int s)
{
    fprintf(o, "<span class=\"state s-%s\">%s</span>", state_key(s),
            state_label(s));
}

/* ---- charts ---- */

struct scale {
    double lo, hi;
    int64_t t0, t1;
};

static double sx(const struct scale *s, int64_t t)
{
    double f = (double)(t - s->t0) / (double)(s->t1 - s->t0);
    return PL + f * (CW - PL - PR);
}

static double sy(const struct scale *s, double v)
{
    double f = (v - s->lo) / (s->hi - s->lo);
    if (f < 0)
        f = 0;
    if (f > 1)
        f = 1;
    return PT + (1 - f) * (CH - PT - PB);
}

static void widen(struct scale *s, double v, bool *any)
{
    if (!*any || v < s->lo)
        s->lo = v;
    if (!*any || v > s->hi)
        s->hi = v;
    *any = true;
}

/* The band where a criterion holds, clipped to the scale. */
static bool band(const struct scale *s, const struct vigil_threshold *th,
                 double *y0, double *y1)
{
    switch (th->op) {
    case VIGIL_THRESHOLD_LT:
    case VIGIL_THRESHOLD_LE:
        *y0 = sy(s, th->value);
        *y1 = sy(s, s->lo);
        return true;
    case VIGIL_THRESHOLD_GT:
    case VIGIL_THRESHOLD_GE:
        *y0 = sy(s, s->hi);
        *y1 = sy(s, th->value);
        return true;
    default:
        return false;
    }
}

static void value_chart(FILE *o, const struct vigil_report *r,
                        const struct vigil_report_indicator *ri, int64_t end)
{
    const struct vigil_indicator *ind = ri->ind;
    struct scale s = {.t0 = r->from_ms,
                      .t1 = end > r->from_ms ? end : r->from_ms + 1};
    bool any = false;
    for (size_t i = 0; i < VIGIL_REPORT_CHART_POINTS; i++) {
        if (!ri->points[i].has)
            continue;
        widen(&s, ri->points[i].min, &any);
        widen(&s, ri->points[i].max, &any);
    }
    widen(&s, ind->target.value, &any);
    for (size_t i = 0; i < ind->n_decision; i++)
        widen(&s, ind->decision[i].when.value, &any);
    if (s.hi - s.lo < 1e-9) {
        s.hi += 1;
        s.lo -= 1;
    }
    double pad = (s.hi - s.lo) * 0.08;
    s.hi += pad;
    if (s.lo < 0 || s.lo - pad >= 0)
        s.lo -= pad;
    else
        s.lo = 0;

    fprintf(o,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f "
            "%.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
            "aria-label=\"",
            CW, CH, CW, CH);
    esc(o, ind->id);
    fputs(" value over the period\">\n", o);
    fprintf(o,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            "fill=\"#fafbfc\" stroke=\"#c8ccd1\"/>\n",
            PL, PT, CW - PL - PR, CH - PT - PB);
    /* Decision bands: later entries first, so that the first entry that
     * holds (the state it names) is drawn on top. */
    for (size_t k = ind->n_decision; k-- > 0;) {
        const struct vigil_decision *d = &ind->decision[k];
        double y0, y1;
        if (d->state == VIGIL_STATE_OK || !band(&s, &d->when, &y0, &y1) ||
            y1 <= y0)
            continue;
        fprintf(o,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                "fill=\"%s\" fill-opacity=\"0.16\"><title>%s %s "
                "%.6g</title></rect>\n",
                PL, y0, CW - PL - PR, y1 - y0, state_colour((int)d->state),
                vigil_state_name(d->state), vigil_threshold_op_name(d->when.op),
                d->when.value);
    }
    /* Min-max envelope per bucket, then the mean line (broken by gaps). */
    for (size_t i = 0; i < VIGIL_REPORT_CHART_POINTS; i++) {
        const struct vigil_report_point *p = &ri->points[i];
        if (!p->has)
            continue;
        int64_t t1 =
            i + 1 < VIGIL_REPORT_CHART_POINTS ? ri->points[i + 1].at_ms : s.t1;
        double y0 = sy(&s, p->max), y1 = sy(&s, p->min);
        fprintf(o,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                "fill=\"#1f6feb\" fill-opacity=\"0.15\"/>\n",
                sx(&s, p->at_ms), y0, sx(&s, t1) - sx(&s, p->at_ms),
                y1 - y0 > 0.5 ? y1 - y0 : 0.5);
    }
    bool open = false;
    for (size_t i = 0; i < VIGIL_REPORT_CHART_POINTS; i++) {
        const struct vigil_report_point *p = &ri->points[i];
        if (!p->has) {
            if (open)
                fputs("\"/>\n", o);
            open = false;
            continue;
        }
        int64_t t1 =
            i + 1 < VIGIL_REPORT_CHART_POINTS ? ri->points[i + 1].at_ms : s.t1;
        double x = (sx(&s, p->at_ms) + sx(&s, t1)) / 2;
        if (!open)
            fputs("<polyline fill=\"none\" stroke=\"#1f6feb\" "
                  "stroke-width=\"1.6\" points=\"",
                  o);
        fprintf(o, "%s%.1f,%.1f", open ? " " : "", x, sy(&s, p->mean));
        open = true;
    }
    if (open)
        fputs("\"/>\n", o);
    double ty = sy(&s, ind->target.value);
    fprintf(o,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#1b1f24\" stroke-dasharray=\"5 4\"/>\n"
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\" "
            "fill=\"#1b1f24\">target ",
            PL, ty, CW - PR, ty, CW - PR - 2, ty - 3);
    esc(o, ind->target_text);
    fputs("</text>\n", o);
    /* Axes: the value range and the period. */
    fprintf(o,
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" "
            "text-anchor=\"end\">%.4g</text>\n"
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" "
            "text-anchor=\"end\">%.4g</text>\n",
            PL - 4, PT + 8, s.hi, PL - 4, CH - PB, s.lo);
    char a[40], b[40];
    vigil_report_format_time(s.t0, a, sizeof(a));
    vigil_report_format_time(s.t1, b, sizeof(b));
    fprintf(o,
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">%s</text>\n"
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" "
            "text-anchor=\"end\">%s</text>\n</svg>\n",
            PL, CH - 8, a, CW - PR, CH - 8, b);
}

static void timeline(FILE *o, const struct vigil_report *r,
                     const struct vigil_report_indicator *ri, int64_t end)
{
    struct scale s = {.t0 = r->from_ms,
                      .t1 = end > r->from_ms ? end : r->from_ms + 1};
    fprintf(o,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f "
            "22\" width=\"%.0f\" height=\"22\" role=\"img\" aria-label=\"",
            CW, CW);
    esc(o, ri->ind->id);
    fputs(" state timeline\">\n", o);
    fprintf(o,
            "<text x=\"%.1f\" y=\"15\" font-size=\"10\" "
            "text-anchor=\"end\">state</text>\n",
            PL - 4);
    for (size_t i = 0; i < ri->n_segments; i++) {
        const struct vigil_report_segment *g = &ri->segments[i];
        double x0 = sx(&s, g->from_ms), x1 = sx(&s, g->to_ms);
        fprintf(o,
                "<rect x=\"%.2f\" y=\"3\" width=\"%.2f\" height=\"16\" "
                "fill=\"%s\"><title>%s</title></rect>\n",
                x0, x1 - x0 > 0.3 ? x1 - x0 : 0.3, state_colour(g->state),
                state_label(g->state));
    }
    fputs("</svg>\n", o);
}

/* ---- sections ---- */

static void control(FILE *o, const struct vigil_report *r)
{
    const struct vigil_config_reports *rc = &r->cfg->reports;
    char due[16];
    vigil_report_format_day(r->due_day, due, sizeof(due));
    fputs("<section><h2>1. Control</h2><table class=\"control\">\n"
          "<tr><th>Report</th><td>",
          o);
    esc(o, r->id);
    fputs("</td></tr>\n<tr><th>Period</th><td>", o);
    put_time(o, r->from_ms, "");
    fputs(" to ", o);
    put_time(o, r->to_ms, "");
    fputs(" (UTC, end excluded)</td></tr>\n<tr><th>Generated</th><td>", o);
    put_time(o, r->generated_ms, "");
    fprintf(o,
            "</td></tr>\n<tr><th>Due to the ISMS steering "
            "committee</th><td><strong>%s</strong> (%u working days after "
            "the period)</td></tr>\n<tr><th>Distribution</th><td>",
            due, rc->due_working_days);
    if (rc->n_distribution == 0)
        fputs("-", o);
    for (size_t i = 0; i < rc->n_distribution; i++) {
        fputs(i ? "<br>" : "", o);
        esc(o, rc->distribution[i]);
    }
    fputs("</td></tr>\n<tr><th>Namespace</th><td>", o);
    esc(o, r->cfg->redis.ns);
    fputs("</td></tr>\n</table></section>\n", o);
}

static void summary(FILE *o, const struct vigil_report *r)
{
    size_t met = 0;
    for (size_t i = 0; i < r->n_inds; i++)
        met += r->inds[i].target_met == 1;
    fprintf(o,
            "<section><h2>2. Executive summary</h2><ul>\n"
            "<li>Indicators: %zu. At the end of the period: %zu ok, %zu "
            "warn, %zu breach, %zu no data, %zu not evaluated.</li>\n"
            "<li>Targets met over the period: %zu of %zu.</li>\n"
            "<li>Non-conformances: %zu (%zu still open at the end of the "
            "period, %zu not acknowledged).</li>\n</ul>\n"
            "<h3>Decisions needed</h3>\n",
            r->n_inds, r->by_state[VIGIL_STATE_OK],
            r->by_state[VIGIL_STATE_WARN], r->by_state[VIGIL_STATE_BREACH],
            r->by_state[VIGIL_STATE_NO_DATA], r->by_state[VIGIL_STATE_COUNT],
            met, r->n_inds, r->n_breaches, r->open_at_end, r->unacked);
    if (r->n_decisions == 0)
        fputs("<p>No decisions needed.</p>\n", o);
    else
        fputs("<ol>\n", o);
    for (size_t i = 0; i < r->n_decisions; i++) {
        fputs("<li>", o);
        esc(o, r->decisions[i]);
        fputs("</li>\n", o);
    }
    if (r->n_decisions)
        fputs("</ol>\n", o);
    fputs("</section>\n", o);
}

static void scope(FILE *o, const struct vigil_report *r)
{
    fputs("<section><h2>3. Scope and data quality</h2>\n<p>Data "
          "sources:</p><ul>\n",
          o);
    for (size_t i = 0; i < r->n_inds; i++) {
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(r->inds[k].ind->data_source,
                          r->inds[i].ind->data_source) == 0;
        if (seen)
            continue;
        fputs("<li>", o);
        esc(o, r->inds[i].ind->data_source);
        fputs("</li>\n", o);
    }
    fputs("</ul>\n<p>Indicator definitions:</p>\n<table><tr><th>File</th>"
          "<th>SHA-256</th></tr>\n",
          o);
    for (size_t i = 0; i < r->n_files; i++) {
        fputs("<tr><td>", o);
        esc(o, r->files[i].name);
        fprintf(o, "</td><td><code>%s</code></td></tr>\n", r->files[i].sha256);
    }
    fprintf(o, "</table>\n<p>Definitions hash: <code>%s</code> ",
            r->definitions_sha256);
    if (r->definitions_changed < 0) {
        fputs("(no earlier report recorded to compare with).", o);
    } else {
        fprintf(o, "(%s since report ",
                r->definitions_changed ? "<strong>changed</strong>"
                                       : "unchanged");
        esc(o, r->previous_id);
        fputs(").", o);
    }
    fputs("</p>\n<ul>\n<li>Indicators without data in the period: ", o);
    size_t k = 0;
    for (size_t i = 0; i < r->n_inds; i++)
        if (r->inds[i].cur.valued == 0)
            fprintf(o, "%s%s", k++ ? ", " : "", r->inds[i].ind->id);
    fputs(k ? ".</li>\n" : "none.</li>\n", o);
    fputs("<li>Indicators with too few evaluations (under half the "
          "expected): ",
          o);
    k = 0;
    for (size_t i = 0; i < r->n_inds; i++) {
        const struct vigil_report_indicator *ri = &r->inds[i];
        if (ri->cur.valued > 0 && ri->too_few_samples)
            fprintf(o, "%s%s (%zu of %zu)", k++ ? ", " : "", ri->ind->id,
                    ri->cur.samples, ri->expected_samples);
    }
    fputs(k ? ".</li>\n" : "none.</li>\n", o);
    fputs("<li>Indicators in the no_data state for part of the period (no "
          "value, or fewer samples than min_samples): ",
          o);
    k = 0;
    for (size_t i = 0; i < r->n_inds; i++) {
        const struct vigil_report_indicator *ri = &r->inds[i];
        if (ri->cur.state_ms[VIGIL_STATE_NO_DATA] > 0)
            fprintf(o, "%s%s (%.1f%%)", k++ ? ", " : "", ri->ind->id,
                    vigil_report_state_pct(&ri->cur, VIGIL_STATE_NO_DATA));
    }
    fputs(k ? ".</li>\n" : "none.</li>\n", o);
    fputs("<li><em>Not evaluated</em> is time without an evaluation "
          "recorded within three times the indicator's frequency (daemon "
          "down or Redis unreachable).</li>\n<li>Notification counts come "
          "from the outbox, which keeps seven days.",
          o);
    if (r->notifications_unknown)
        fputs(" No pager has read the outbox yet: every notification "
              "counts as pending.",
              o);
    fputs("</li>\n</ul></section>\n", o);
}

static void value_cell(FILE *o, bool has, double v)
{
    char buf[32];
    vigil_report_format_value(has, v, buf, sizeof(buf));
    fprintf(o, "<td class=\"n\">%s</td>", buf);
}

static void results(FILE *o, const struct vigil_report *r, int64_t end)
{
    fputs("<section><h2>4. Results</h2>\n<table><tr><th>ID</th>"
          "<th>Indicator</th><th>Kind</th><th>Last</th><th>Min</th>"
          "<th>Max</th><th>Mean</th><th>Target</th><th>Met</th><th>ok "
          "%</th><th>warn %</th><th>breach %</th><th>no data %</th><th>not "
          "evaluated %</th><th>Trend</th></tr>\n",
          o);
    for (size_t i = 0; i < r->n_inds; i++) {
        const struct vigil_report_indicator *ri = &r->inds[i];
        const struct vigil_indicator *ind = ri->ind;
        const struct vigil_report_stats *st = &ri->cur;
        fputs("<tr><td><a href=\"#ind-", o);
        esc(o, ind->id);
        fputs("\">", o);
        esc(o, ind->id);
        fputs("</a></td><td>", o);
        esc(o, ind->name);
        fprintf(o, "</td><td>%s</td>", vigil_indicator_kind_name(ind->kind));
        value_cell(o, st->has_last, st->last);
        value_cell(o, st->valued > 0, st->min);
        value_cell(o, st->valued > 0, st->max);
        value_cell(o, st->valued > 0, st->mean);
        fputs("<td>", o);
        esc(o, ind->target_text);
        fprintf(o,
                "</td><td>%s</td><td class=\"n\">%.1f</td><td "
                "class=\"n\">%.1f</td><td class=\"n\">%.1f</td><td "
                "class=\"n\">%.1f</td><td class=\"n\">%.1f</td><td>",
                ri->target_met < 0 ? "n/a"
                : ri->target_met   ? "yes"
                                   : "no",
                vigil_report_state_pct(st, VIGIL_STATE_OK),
                vigil_report_state_pct(st, VIGIL_STATE_WARN),
                vigil_report_state_pct(st, VIGIL_STATE_BREACH),
                vigil_report_state_pct(st, VIGIL_STATE_NO_DATA),
                vigil_report_state_pct(st, VIGIL_REPORT_UNKNOWN));
        if (ri->trend == VIGIL_TREND_UNKNOWN) {
            fputs("n/a", o);
        } else {
            char d[32];
            vigil_report_format_value(true, ri->delta, d, sizeof(d));
            fprintf(o, "%s (%s%s)", vigil_report_trend_name(ri->trend),
                    ri->delta > 0 ? "+" : "", d);
        }
        fputs("</td></tr>\n", o);
    }
    fputs("</table>\n<p class=\"muted\">Min, max and mean are over the "
          "evaluations of the period; the trend compares the mean with the "
          "previous period of equal length.</p>\n"
          "<p class=\"legend\"><span><i style=\"background:#2eb886\"></i>ok"
          "</span><span><i style=\"background:#f2c744\"></i>warn</span>"
          "<span><i style=\"background:#d00000\"></i>breach</span><span><i "
          "style=\"background:#808080\"></i>no data</span><span><i "
          "style=\"background:#dfe2e5\"></i>not evaluated</span><span><i "
          "style=\"background:#1f6feb\"></i>value (mean, min-max)</span>"
          "</p>\n",
          o);
    for (size_t i = 0; i < r->n_inds; i++) {
        const struct vigil_report_indicator *ri = &r->inds[i];
        const struct vigil_indicator *ind = ri->ind;
        fputs("<div class=\"card\" id=\"ind-", o);
        esc(o, ind->id);
        fputs("\"><h3>", o);
        esc(o, ind->id);
        fputs(" ", o);
        esc(o, ind->name);
        fputs(" ", o);
        badge(o, ri->end_state);
        fputs("</h3>\n<p>", o);
        esc(o, ind->information_need);
        fputs("<br><span class=\"muted\">", o);
        fprintf(o, "%s; entity: ", vigil_indicator_kind_name(ind->kind));
        esc(o, ind->entity);
        fputs("; owner: ", o);
        esc(o, ind->owner);
        fputs("; unit: ", o);
        esc(o, ind->unit);
        fprintf(o, "; %zu evaluations</span></p>\n", ri->cur.samples);
        value_chart(o, r, ri, end);
        timeline(o, r, ri, end);
        fputs("</div>\n", o);
    }
    fputs("</section>\n", o);
}

static void nonconformances(FILE *o, const struct vigil_report *r)
{
    fputs("<section><h2>5. Non-conformances</h2>\n", o);
    if (r->n_breaches == 0) {
        fputs("<p>No indicator breached in the period.</p></section>\n", o);
        return;
    }
    fputs("<table><tr><th>#</th><th>Indicator</th><th>Opened</th>"
          "<th>Resolved</th><th>Duration</th><th>Peak</th><th>Acked by</th>"
          "<th>Acked at</th><th>Notifications</th></tr>\n",
          o);
    for (size_t i = 0; i < r->n_breaches; i++) {
        const struct vigil_report_breach *b = &r->breaches[i];
        char dur[32], peak[32];
        vigil_report_format_duration(b->duration_ms, dur, sizeof(dur));
        vigil_report_format_value(b->has_peak, b->peak, peak, sizeof(peak));
        fprintf(o, "<tr><td class=\"n\">%zu</td><td>", i + 1);
        esc(o, b->indicator);
        fputs("</td><td>", o);
        put_time(o, b->opened_ms, "before the records");
        fputs("</td><td>", o);
        if (b->resolved_ms == VIGIL_ISTATE_NEVER)
            fputs("<span class=\"state s-breach\">open</span>", o);
        else
            put_time(o, b->resolved_ms, "");
        fprintf(o, "</td><td class=\"n\">%s%s</td><td class=\"n\">%s</td><td>",
                b->resolved_ms == VIGIL_ISTATE_NEVER ? "≥ " : "", dur, peak);
        if (b->acked_by) {
            esc(o, b->acked_by);
            fputs("</td><td>", o);
            put_time(o, b->acked_at_ms, "-");
        } else {
            fputs("-</td><td>-", o);
        }
        fprintf(o,
                "</td><td>%u (repeats %u, failed %u, pending "
                "%u)</td></tr>\n",
                b->notifications, b->repeats, b->failed, b->pending);
    }
    fputs("</table>\n<p>Recommendations:</p><ul>\n", o);
    for (size_t i = 0; i < r->n_inds; i++) {
        const struct vigil_report_indicator *ri = &r->inds[i];
        if (ri->n_breaches == 0)
            continue;
        fputs("<li><strong>", o);
        esc(o, ri->ind->id);
        fputs("</strong> ", o);
        esc(o, ri->ind->name);
        fputs(": ", o);
        esc(o, ri->ind->recommendation[0] ? ri->ind->recommendation
                                          : "(none written)");
        fputs("</li>\n", o);
    }
    fputs("</ul></section>\n", o);
}

int vigil_report_write_html(const struct vigil_report *r, FILE *o)
{
    int64_t end = r->to_ms < r->generated_ms ? r->to_ms : r->generated_ms;
    char text[2048];
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
          "charset=\"utf-8\">\n<meta name=\"viewport\" "
          "content=\"width=device-width,initial-scale=1\">\n<title>",
          o);
    esc(o, r->cfg->reports.title);
    fputs(" ", o);
    esc(o, r->id);
    fprintf(o, "</title>\n<style>\n%s</style></head><body>\n<h1>", css);
    esc(o, r->cfg->reports.title);
    fputs("</h1>\n", o);
    control(o, r);
    summary(o, r);
    scope(o, r);
    results(o, r, end);
    nonconformances(o, r);
    fputs("<section><h2>6. Analysis</h2>\n<h3>Performance indicators</h3>"
          "\n<p>",
          o);
    vigil_report_kind_analysis(r, VIGIL_INDICATOR_PERFORMANCE, text,
                               sizeof(text));
    esc(o, text);
    fputs("</p>\n<h3>Effectiveness indicators</h3>\n<p>", o);
    vigil_report_kind_analysis(r, VIGIL_INDICATOR_EFFECTIVENESS, text,
                               sizeof(text));
    esc(o, text);
    fputs("</p></section>\n</body></html>\n", o);
    return ferror(o) ? -1 : 0;
}
