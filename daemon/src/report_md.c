/*
 * report_md: the monitoring report as Markdown (GitHub tables), the same
 * sections as the HTML report without the charts.
 */
#include <inttypes.h>
#include <string.h>

#include "report.h"
#include "report_calendar.h"

/* Text for a table cell: '|' escaped, line breaks as spaces. */
static void cell(FILE *o, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", o);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', o);
        else
            fputc(*s, o);
    }
}

static void put_time(FILE *o, int64_t ms, const char *none)
{
    if (ms == VIGIL_ISTATE_NEVER || ms == VIGIL_REPORT_OPENED_UNKNOWN) {
        fputs(none, o);
        return;
    }
    char buf[40];
    vigil_report_format_time(ms, buf, sizeof(buf));
    fputs(buf, o);
}

static const char *state_label(int s)
{
    return s == VIGIL_REPORT_UNKNOWN  ? "not evaluated"
           : s == VIGIL_STATE_NO_DATA ? "no data"
                                      : vigil_state_name((enum vigil_state)s);
}

static void control(FILE *o, const struct vigil_report *r)
{
    const struct vigil_config_reports *rc = &r->cfg->reports;
    char due[16];
    vigil_report_format_day(r->due_day, due, sizeof(due));
    fputs("## 1. Control\n\n| | |\n|---|---|\n| Report | ", o);
    cell(o, r->id);
    fputs(" |\n| Period | ", o);
    put_time(o, r->from_ms, "");
    fputs(" to ", o);
    put_time(o, r->to_ms, "");
    fputs(" (UTC, end excluded) |\n| Generated | ", o);
    put_time(o, r->generated_ms, "");
    fprintf(o,
            " |\n| Due to the ISMS steering committee | %s (%u working days "
            "after the period) |\n| Distribution | ",
            due, rc->due_working_days);
    if (rc->n_distribution == 0)
        fputs("-", o);
    for (size_t i = 0; i < rc->n_distribution; i++) {
        fputs(i ? "; " : "", o);
        cell(o, rc->distribution[i]);
    }
    fputs(" |\n| Namespace | ", o);
    cell(o, r->cfg->redis.ns);
    fputs(" |\n\n", o);
}

static void summary(FILE *o, const struct vigil_report *r)
{
    size_t met = 0;
    for (size_t i = 0; i < r->n_inds; i++)
        met += r->inds[i].target_met == 1;
    fprintf(o,
            "## 2. Executive summary\n\n"
            "- Indicators: %zu. At the end of the period: %zu ok, %zu warn, "
            "%zu breach, %zu no data, %zu not evaluated.\n"
            "- Targets met over the period: %zu of %zu.\n"
            "- Non-conformances: %zu (%zu still open at the end of the "
            "period, %zu not acknowledged).\n\n"
            "### Decisions needed\n\n",
            r->n_inds, r->by_state[VIGIL_STATE_OK],
            r->by_state[VIGIL_STATE_WARN], r->by_state[VIGIL_STATE_BREACH],
            r->by_state[VIGIL_STATE_NO_DATA], r->by_state[VIGIL_STATE_COUNT],
            met, r->n_inds, r->n_breaches, r->open_at_end, r->unacked);
    if (r->n_decisions == 0)
        fputs("No decisions needed.\n", o);
    for (size_t i = 0; i < r->n_decisions; i++)
        fprintf(o, "%zu. %s\n", i + 1, r->decisions[i]);
    fputc('\n', o);
}

static void scope(FILE *o, const struct vigil_report *r)
{
    fputs("## 3. Scope and data quality\n\nData sources:\n\n", o);
    for (size_t i = 0; i < r->n_inds; i++) {
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(r->inds[k].ind->data_source,
                          r->inds[i].ind->data_source) == 0;
        if (!seen)
            fprintf(o, "- %s\n", r->inds[i].ind->data_source);
    }
    fputs("\nIndicator definitions:\n\n| File | SHA-256 |\n|---|---|\n", o);
    for (size_t i = 0; i < r->n_files; i++) {
        fputs("| ", o);
        cell(o, r->files[i].name);
        fprintf(o, " | `%s` |\n", r->files[i].sha256);
    }
    fprintf(o, "\nDefinitions hash: `%s`", r->definitions_sha256);
    if (r->definitions_changed < 0)
        fputs(" (no earlier report recorded to compare with).\n", o);
    else
        fprintf(o, " (%s since report %s).\n",
                r->definitions_changed ? "**changed**" : "unchanged",
                r->previous_id);
    fputc('\n', o);
    size_t nd = 0, few = 0;
    for (size_t i = 0; i < r->n_inds; i++) {
        nd += r->inds[i].cur.valued == 0;
        few += r->inds[i].cur.valued > 0 && r->inds[i].too_few_samples;
    }
    fputs("- Indicators without data in the period: ", o);
    if (!nd)
        fputs("none", o);
    for (size_t i = 0, k = 0; i < r->n_inds; i++)
        if (r->inds[i].cur.valued == 0)
            fprintf(o, "%s%s", k++ ? ", " : "", r->inds[i].ind->id);
    fputs(".\n- Indicators with too few evaluations (under half the "
          "expected): ",
          o);
    if (!few)
        fputs("none", o);
    for (size_t i = 0, k = 0; i < r->n_inds; i++) {
        const struct vigil_report_indicator *ri = &r->inds[i];
        if (ri->cur.valued > 0 && ri->too_few_samples)
            fprintf(o, "%s%s (%zu of %zu)", k++ ? ", " : "", ri->ind->id,
                    ri->cur.samples, ri->expected_samples);
    }
    fputs(".\n- Indicators in the no_data state for part of the period "
          "(no value, or fewer samples than min_samples): ",
          o);
    size_t k = 0;
    for (size_t i = 0; i < r->n_inds; i++) {
        const struct vigil_report_indicator *ri = &r->inds[i];
        if (ri->cur.state_ms[VIGIL_STATE_NO_DATA] > 0)
            fprintf(o, "%s%s (%.1f%%)", k++ ? ", " : "", ri->ind->id,
                    vigil_report_state_pct(&ri->cur, VIGIL_STATE_NO_DATA));
    }
    if (!k)
        fputs("none", o);
    fputs(".\n- *Not evaluated* is time without an evaluation recorded "
          "within three times the indicator's frequency (daemon down or "
          "Redis unreachable).\n",
          o);
    fputs("- Notification counts come from the outbox, which keeps seven "
          "days.",
          o);
    if (r->notifications_unknown)
        fputs(" No pager has read the outbox yet: every notification "
              "counts as pending.",
              o);
    fputs("\n\n", o);
}

static void results(FILE *o, const struct vigil_report *r)
{
    fputs("## 4. Results\n\n"
          "| ID | Indicator | Kind | Last | Min | Max | Mean | Target | Met "
          "| ok % | warn % | breach % | no data % | not evaluated % | Trend |\n"
          "|---|---|---|--:|--:|--:|--:|---|---|--:|--:|--:|--:|--:|---|\n",
          o);
    for (size_t i = 0; i < r->n_inds; i++) {
        const struct vigil_report_indicator *ri = &r->inds[i];
        const struct vigil_indicator *ind = ri->ind;
        const struct vigil_report_stats *st = &ri->cur;
        char last[32], mn[32], mx[32], mean[32];
        vigil_report_format_value(st->has_last, st->last, last, sizeof(last));
        vigil_report_format_value(st->valued > 0, st->min, mn, sizeof(mn));
        vigil_report_format_value(st->valued > 0, st->max, mx, sizeof(mx));
        vigil_report_format_value(st->valued > 0, st->mean, mean, sizeof(mean));
        fprintf(o, "| %s | ", ind->id);
        cell(o, ind->name);
        fprintf(o, " | %s | %s | %s | %s | %s | ",
                vigil_indicator_kind_name(ind->kind), last, mn, mx, mean);
        cell(o, ind->target_text);
        fprintf(o, " | %s | %.1f | %.1f | %.1f | %.1f | %.1f | ",
                ri->target_met < 0 ? "n/a"
                : ri->target_met   ? "yes"
                                   : "no",
                vigil_report_state_pct(st, VIGIL_STATE_OK),
                vigil_report_state_pct(st, VIGIL_STATE_WARN),
                vigil_report_state_pct(st, VIGIL_STATE_BREACH),
                vigil_report_state_pct(st, VIGIL_STATE_NO_DATA),
                vigil_report_state_pct(st, VIGIL_REPORT_UNKNOWN));
        if (ri->trend == VIGIL_TREND_UNKNOWN) {
            fputs("n/a |\n", o);
        } else {
            char d[32];
            vigil_report_format_value(true, ri->delta, d, sizeof(d));
            fprintf(o, "%s (%s%s) |\n", vigil_report_trend_name(ri->trend),
                    ri->delta > 0 ? "+" : "", d);
        }
    }
    fputs("\nMin, max and mean are over the evaluations of the period; the "
          "trend compares the mean with the previous period of equal "
          "length.\n\n",
          o);
    for (size_t i = 0; i < r->n_inds; i++) {
        const struct vigil_report_indicator *ri = &r->inds[i];
        const struct vigil_indicator *ind = ri->ind;
        fprintf(o,
                "- **%s** %s (%s; entity: %s; owner: %s; unit: %s; "
                "%zu evaluations, state at the end: %s)\n",
                ind->id, ind->information_need,
                vigil_indicator_kind_name(ind->kind), ind->entity, ind->owner,
                ind->unit, ri->cur.samples, state_label(ri->end_state));
    }
    fputc('\n', o);
}

static void nonconformances(FILE *o, const struct vigil_report *r)
{
    fputs("## 5. Non-conformances\n\n", o);
    if (r->n_breaches == 0) {
        fputs("No indicator breached in the period.\n\n", o);
        return;
    }
    fputs("| # | Indicator | Opened | Resolved | Duration | Peak | Acked by "
          "| Acked at | Notifications |\n"
          "|--:|---|---|---|--:|--:|---|---|---|\n",
          o);
    for (size_t i = 0; i < r->n_breaches; i++) {
        const struct vigil_report_breach *b = &r->breaches[i];
        char dur[32], peak[32];
        vigil_report_format_duration(b->duration_ms, dur, sizeof(dur));
        vigil_report_format_value(b->has_peak, b->peak, peak, sizeof(peak));
        fprintf(o, "| %zu | %s | ", i + 1, b->indicator);
        put_time(o, b->opened_ms, "before the records");
        fputs(" | ", o);
        put_time(o, b->resolved_ms, "open");
        fprintf(o, " | %s%s | %s | ",
                b->resolved_ms == VIGIL_ISTATE_NEVER ? "≥ " : "", dur, peak);
        if (b->acked_by) {
            cell(o, b->acked_by);
            fputs(" | ", o);
            put_time(o, b->acked_at_ms, "-");
        } else {
            fputs("- | -", o);
        }
        fprintf(o, " | %u (repeats %u, failed %u, pending %u) |\n",
                b->notifications, b->repeats, b->failed, b->pending);
    }
    fputs("\nRecommendations:\n\n", o);
    for (size_t i = 0; i < r->n_inds; i++) {
        const struct vigil_report_indicator *ri = &r->inds[i];
        if (ri->n_breaches == 0)
            continue;
        fprintf(o, "- **%s** %s: %s\n", ri->ind->id, ri->ind->name,
                ri->ind->recommendation[0] ? ri->ind->recommendation
                                           : "(none written)");
    }
    fputc('\n', o);
}

int vigil_report_write_md(const struct vigil_report *r, FILE *o)
{
    char text[2048];
    fprintf(o, "# %s\n\n", r->cfg->reports.title);
    control(o, r);
    summary(o, r);
    scope(o, r);
    results(o, r);
    nonconformances(o, r);
    fputs("## 6. Analysis\n\n### Performance indicators\n\n", o);
    vigil_report_kind_analysis(r, VIGIL_INDICATOR_PERFORMANCE, text,
                               sizeof(text));
    fprintf(o, "%s\n\n### Effectiveness indicators\n\n", text);
    vigil_report_kind_analysis(r, VIGIL_INDICATOR_EFFECTIVENESS, text,
                               sizeof(text));
    fprintf(o, "%s\n", text);
    return ferror(o) ? -1 : 0;
}
