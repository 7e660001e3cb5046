#include "schedule.h"

#include <cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report_calendar.h"

int vigil_schedule_format_parse(const char *s, enum vigil_schedule_format *f)
{
    if (strcmp(s, "md") == 0 || strcmp(s, "markdown") == 0)
        *f = VIGIL_SCHEDULE_MD;
    else if (strcmp(s, "csv") == 0)
        *f = VIGIL_SCHEDULE_CSV;
    else if (strcmp(s, "json") == 0)
        *f = VIGIL_SCHEDULE_JSON;
    else
        return -1;
    return 0;
}

void vigil_schedule_format_duration(uint64_t ms, char *buf, size_t n)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {
        {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
    size_t off = 0;
    buf[0] = '\0';
    if (ms == 0) {
        snprintf(buf, n, "0s");
        return;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && off < n; i++) {
        if (ms < units[i].ms)
            continue;
        off += (size_t)snprintf(buf + off, n - off, "%" PRIu64 "%s",
                                ms / units[i].ms, units[i].unit);
        ms %= units[i].ms;
    }
}

/* One row, the strings borrowed or in the row's buffers. */
struct row {
    const struct vigil_indicator *ind;
    char frequency[32];
    char report[160];
    char due[16];
};

static void fill_row(const struct vigil_config *cfg,
                     const struct vigil_indicator *ind, int64_t now_ms,
                     struct row *r)
{
    const struct vigil_config_reports *rc = &cfg->reports;
    r->ind = ind;
    vigil_schedule_format_duration(ind->frequency_ms, r->frequency,
                                   sizeof(r->frequency));
    int64_t end;
    if (vigil_report_period_current_end(rc->period, now_ms, &end) == 0) {
        vigil_report_format_day(vigil_report_due_day(end, rc->due_working_days,
                                                     rc->holidays,
                                                     rc->n_holidays),
                                r->due, sizeof(r->due));
        snprintf(r->report, sizeof(r->report), "%s monitoring report%s",
                 vigil_report_period_name(rc->period),
                 ind->page ? "; breach notification" : "");
    } else {
        snprintf(r->due, sizeof(r->due), "on request");
        snprintf(r->report, sizeof(r->report),
                 "monitoring report on "
                 "request%s",
                 ind->page ? "; breach notification" : "");
    }
}

static void md_cell(FILE *o, const char *s)
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

static void csv_field(FILE *o, const char *s, bool last)
{
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote) {
        fputc('"', o);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', o);
            fputc(*s, o);
        }
        fputc('"', o);
    } else {
        fputs(s, o);
    }
    fputs(last ? "\r\n" : ",", o);
}

int vigil_schedule_write(const struct vigil_config *cfg,
                         const struct vigil_indicator_set *set, int64_t now_ms,
                         enum vigil_schedule_format f, FILE *o)
{
    static const char *const heads[] = {
        "Entity", "Indicator",   "Name",        "Kind",           "Frequency",
        "Owner",  "Data source", "Report type", "Next report due"};
    static const char *const keys[] = {
        "entity", "indicator",   "name",        "kind",           "frequency",
        "owner",  "data_source", "report_type", "next_report_due"};
    if (f == VIGIL_SCHEDULE_JSON) {
        cJSON *root = cJSON_CreateObject();
        cJSON *arr = root ? cJSON_AddArrayToObject(root, "schedule") : NULL;
        if (!arr) {
            cJSON_Delete(root);
            return -1;
        }
        char now[40];
        vigil_report_format_time(now_ms, now, sizeof(now));
        cJSON_AddStringToObject(root, "generated_at", now);
        for (size_t i = 0; i < set->n; i++) {
            struct row r;
            fill_row(cfg, &set->v[i], now_ms, &r);
            const char *vals[] = {r.ind->entity,
                                  r.ind->id,
                                  r.ind->name,
                                  vigil_indicator_kind_name(r.ind->kind),
                                  r.frequency,
                                  r.ind->owner,
                                  r.ind->data_source,
                                  r.report,
                                  r.due};
            cJSON *e = cJSON_CreateObject();
            if (!e)
                break;
            for (size_t k = 0; k < 9; k++)
                cJSON_AddStringToObject(e, keys[k], vals[k]);
            cJSON_AddItemToArray(arr, e);
        }
        char *s = cJSON_Print(root);
        cJSON_Delete(root);
        if (!s)
            return -1;
        fprintf(o, "%s\n", s);
        free(s);
        return ferror(o) ? -1 : 0;
    }
    if (f == VIGIL_SCHEDULE_MD) {
        char now[40];
        vigil_report_format_time(now_ms, now, sizeof(now));
        fprintf(o,
                "# Monitoring schedule\n\nGenerated %s from %zu "
                "indicator%s.\n\n|",
                now, set->n, set->n == 1 ? "" : "s");
        for (size_t k = 0; k < 9; k++)
            fprintf(o, " %s |", heads[k]);
        fputs("\n|", o);
        for (size_t k = 0; k < 9; k++)
            fputs("---|", o);
        fputc('\n', o);
    } else {
        for (size_t k = 0; k < 9; k++)
            csv_field(o, keys[k], k == 8);
    }
    for (size_t i = 0; i < set->n; i++) {
        struct row r;
        fill_row(cfg, &set->v[i], now_ms, &r);
        const char *vals[] = {r.ind->entity,
                              r.ind->id,
                              r.ind->name,
                              vigil_indicator_kind_name(r.ind->kind),
                              r.frequency,
                              r.ind->owner,
                              r.ind->data_source,
                              r.report,
                              r.due};
        if (f == VIGIL_SCHEDULE_MD) {
            fputc('|', o);
            for (size_t k = 0; k < 9; k++) {
                fputc(' ', o);
                md_cell(o, vals[k]);
                fputs(" |", o);
            }
            fputc('\n', o);
        } else {
            for (size_t k = 0; k < 9; k++)
                csv_field(o, vals[k], k == 8);
        }
    }
    return ferror(o) ? -1 : 0;
}
