#include "report_config.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_TITLE "ISMS monitoring report"
#define DEFAULT_DUE_DAYS 3
#define MAX_DUE_DAYS 60
#define MAX_LIST 1000

static bool is_null(struct fy_node *node)
{
    if (!node || !fy_node_is_scalar(node) ||
        fy_node_get_style(node) != FYNS_PLAIN)
        return false;
    size_t len;
    const char *s = fy_node_get_scalar(node, &len);
    return s && (len == 0 || (len == 1 && s[0] == '~') ||
                 (len == 4 &&
                  (memcmp(s, "null", 4) == 0 || memcmp(s, "Null", 4) == 0 ||
                   memcmp(s, "NULL", 4) == 0)));
}

/* The items of a sequence node (reported when it is not one). */
static size_t seq_items(struct vigil_yaml *y, struct fy_node *node,
                        const char *what, struct fy_node **items, size_t max)
{
    if (!vigil_yaml_is_seq(y, node, what))
        return 0;
    size_t n = 0;
    void *it = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(node, &it)) != NULL) {
        if (n == max) {
            vigil_yaml_error(y, item, "%s: more than %zu entries", what, max);
            break;
        }
        items[n++] = item;
    }
    return n;
}

static int cmp_day(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void load_holidays(struct vigil_yaml *y, struct vigil_config_reports *r,
                          struct fy_node *node)
{
    struct fy_node **items = calloc(MAX_LIST, sizeof(*items));
    r->holidays = calloc(MAX_LIST, sizeof(*r->holidays));
    if (!items || !r->holidays) {
        vigil_yaml_error(y, node, "out of memory");
        free(items);
        return;
    }
    size_t n = seq_items(y, node, "reports.holidays", items, MAX_LIST);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *s =
            vigil_yaml_scalar(y, items[i], "reports.holidays[]", &len);
        int64_t day;
        if (!s)
            continue;
        if (vigil_report_parse_date(s, len, &day) < 0) {
            vigil_yaml_error(y, items[i],
                             "reports.holidays: '%.*s' is not a date "
                             "(YYYY-MM-DD)",
                             (int)(len > 64 ? 64 : len), s);
            continue;
        }
        r->holidays[r->n_holidays++] = day;
    }
    qsort(r->holidays, r->n_holidays, sizeof(*r->holidays), cmp_day);
    free(items);
}

static void load_distribution(struct vigil_yaml *y, struct vigil_config *cfg,
                              struct fy_node *node)
{
    struct vigil_config_reports *r = &cfg->reports;
    struct fy_node *items[256];
    size_t n = seq_items(y, node, "reports.distribution", items, 256);
    char **v = calloc(n + 1, sizeof(*v));
    if (!v) {
        vigil_yaml_error(y, node, "out of memory");
        return;
    }
    r->distribution = v;
    for (size_t i = 0; i < n; i++) {
        char *s;
        if (vigil_config_get_str(y, items[i], "reports.distribution[]", &s) < 0)
            continue;
        if (!s[0]) {
            vigil_yaml_error(y, items[i],
                             "reports.distribution: an entry is empty");
            free(s);
            continue;
        }
        v[r->n_distribution++] = s;
    }
}

static void load_formats(struct vigil_yaml *y, struct vigil_config_reports *r,
                         struct fy_node *node)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"md", VIGIL_REPORT_FORMAT_MD},
                 {"html", VIGIL_REPORT_FORMAT_HTML},
                 {"json", VIGIL_REPORT_FORMAT_JSON}};
    struct fy_node *one[1] = {node};
    struct fy_node *items[16];
    struct fy_node **list = one;
    size_t n = 1;
    if (fy_node_is_sequence(node)) {
        n = seq_items(y, node, "reports.formats", items, 16);
        list = items;
        if (n == 0)
            vigil_yaml_error(y, node,
                             "reports.formats: name at least one of "
                             "md, html, json");
    }
    r->formats = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *s = vigil_yaml_scalar(y, list[i], "reports.formats", &len);
        if (!s)
            continue;
        bool known = false;
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
            if (strlen(names[k].name) == len &&
                memcmp(names[k].name, s, len) == 0) {
                r->formats |= names[k].bit;
                known = true;
            }
        }
        if (!known)
            vigil_yaml_error(y, list[i],
                             "reports.formats: '%.*s' is not md, html or json",
                             (int)(len > 64 ? 64 : len), s);
    }
}

static void load_period(struct vigil_yaml *y, struct vigil_config_reports *r,
                        struct fy_node *node)
{
    size_t len;
    const char *s = vigil_yaml_scalar(y, node, "reports.period", &len);
    if (!s)
        return;
    if (len == 6 && memcmp(s, "weekly", 6) == 0)
        r->period = VIGIL_REPORT_PERIOD_WEEKLY;
    else if (len == 7 && memcmp(s, "monthly", 7) == 0)
        r->period = VIGIL_REPORT_PERIOD_MONTHLY;
    else
        vigil_yaml_error(y, node,
                         "reports.period: '%.*s' is not weekly or monthly",
                         (int)(len > 64 ? 64 : len), s);
}

static void load_notifier(struct vigil_yaml *y, struct vigil_config *cfg,
                          struct fy_node *node)
{
    struct vigil_config_reports *r = &cfg->reports;
    char *name;
    if (vigil_config_get_str(y, node, "reports.notifier", &name) < 0)
        return;
    for (size_t i = 0; i < cfg->n_notifiers; i++) {
        if (cfg->notifiers[i].name &&
            strcmp(cfg->notifiers[i].name, name) == 0) {
            r->notifier = name;
            r->notifier_index = i;
            return;
        }
    }
    vigil_yaml_error(y, node, "reports.notifier: no notifier named '%s'", name);
    free(name);
}

static char *resolve(const char *base, const char *rel)
{
    if (rel[0] == '/')
        return strdup(rel);
    size_t n = strlen(base) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", base, rel);
    return p;
}

void vigil_config_load_reports(struct vigil_yaml *y, struct vigil_config *cfg,
                               struct fy_node *node)
{
    struct vigil_config_reports *r = &cfg->reports;
    memset(r, 0, sizeof(*r));
    r->due_working_days = DEFAULT_DUE_DAYS;
    r->formats = VIGIL_REPORT_FORMAT_MD | VIGIL_REPORT_FORMAT_HTML |
                 VIGIL_REPORT_FORMAT_JSON;
    struct fy_node *title = NULL, *distribution = NULL, *holidays = NULL,
                   *due = NULL, *period = NULL, *formats = NULL,
                   *directory = NULL, *notifier = NULL;
    const struct vigil_yaml_key keys[] = {
        {"title", &title, false},
        {"distribution", &distribution, false},
        {"holidays", &holidays, false},
        {"due_working_days", &due, false},
        {"period", &period, false},
        {"formats", &formats, false},
        {"directory", &directory, false},
        {"notifier", &notifier, false},
        {NULL, NULL, false},
    };
    if (node && !is_null(node)) {
        r->present = true;
        vigil_yaml_mark(node, &r->pos.line, &r->pos.col);
        vigil_yaml_map(y, node, "reports", keys);
        for (const struct vigil_yaml_key *k = keys; k->name; k++)
            if (is_null(*k->out))
                *k->out = NULL;
    }
    if (title)
        vigil_config_get_str(y, title, "reports.title", &r->title);
    if (!r->title)
        r->title = strdup(DEFAULT_TITLE);
    if (distribution)
        load_distribution(y, cfg, distribution);
    if (!r->distribution)
        r->distribution = calloc(1, sizeof(*r->distribution));
    if (holidays)
        load_holidays(y, r, holidays);
    long long v;
    if (due && vigil_yaml_int(y, due, "reports.due_working_days", 0,
                              MAX_DUE_DAYS, &v) == 0)
        r->due_working_days = (unsigned)v;
    if (period)
        load_period(y, r, period);
    if (formats)
        load_formats(y, r, formats);
    if (notifier)
        load_notifier(y, cfg, notifier);
    if (directory) {
        char *rel;
        if (vigil_config_get_str(y, directory, "reports.directory", &rel) ==
            0) {
            if (!rel[0])
                vigil_yaml_error(y, directory,
                                 "reports.directory must not be empty");
            else if (!(r->directory = resolve(cfg->base_dir, rel)))
                vigil_yaml_error(y, directory, "out of memory");
            free(rel);
        }
    }
    if (!r->title || !r->distribution)
        vigil_yaml_error(y, node, "out of memory");
    if (period && !directory)
        vigil_yaml_error(y, period,
                         "reports: 'period' needs 'directory' (where "
                         "the daemon writes the reports)");
    if (directory && !period)
        vigil_yaml_error(y, directory,
                         "reports: 'directory' needs 'period' (weekly or "
                         "monthly)");
    if (notifier && !period)
        vigil_yaml_error(y, notifier,
                         "reports: 'notifier' needs 'period' (it announces "
                         "the periodic reports)");
}

void vigil_config_reports_fini(struct vigil_config_reports *r)
{
    free(r->title);
    vigil_strv_free(r->distribution);
    free(r->holidays);
    free(r->directory);
    free(r->notifier);
    memset(r, 0, sizeof(*r));
}

static void put_quoted(FILE *o, const char *s)
{
    fputc('"', o);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(o, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(o, "\\x%02x", c);
        else
            fputc(c, o);
    }
    fputc('"', o);
}

void vigil_config_reports_print(const struct vigil_config_reports *r, FILE *o)
{
    if (!r->present)
        return;
    fputs("reports:\n  title: ", o);
    put_quoted(o, r->title);
    fputs("\n  distribution: [", o);
    for (size_t i = 0; i < r->n_distribution; i++) {
        fputs(i ? ", " : "", o);
        put_quoted(o, r->distribution[i]);
    }
    fputs("]\n  holidays: [", o);
    for (size_t i = 0; i < r->n_holidays; i++) {
        char day[16];
        vigil_report_format_day(r->holidays[i], day, sizeof(day));
        fprintf(o, "%s%s", i ? ", " : "", day);
    }
    fprintf(o, "]\n  due_working_days: %u\n", r->due_working_days);
    if (r->period == VIGIL_REPORT_PERIOD_NONE)
        return;
    fprintf(o, "  period: %s\n  formats: [",
            vigil_report_period_name(r->period));
    const char *sep = "";
    if (r->formats & VIGIL_REPORT_FORMAT_MD) {
        fputs("md", o);
        sep = ", ";
    }
    if (r->formats & VIGIL_REPORT_FORMAT_HTML) {
        fprintf(o, "%shtml", sep);
        sep = ", ";
    }
    if (r->formats & VIGIL_REPORT_FORMAT_JSON)
        fprintf(o, "%sjson", sep);
    fputs("]\n  directory: ", o);
    put_quoted(o, r->directory);
    fputc('\n', o);
    if (r->notifier) {
        fputs("  notifier: ", o);
        put_quoted(o, r->notifier);
        fputc('\n', o);
    }
}
