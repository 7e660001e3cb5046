#include "notification.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "num.h"

#define MAX_VALUE_BYTES (64u * 1024u)
#define MAX_LABELS 64

static bool field_is(const char *f, size_t len, const char *name)
{
    return strlen(name) == len && memcmp(f, name, len) == 0;
}

/* A heap copy of s[0..len); a NUL inside ends the string. */
static char *copy(const char *s, size_t len)
{
    char *c = malloc(len + 1);
    if (!c)
        return NULL;
    memcpy(c, s, len);
    c[len] = '\0';
    return c;
}

/* Digits with an optional '-' -> epoch ms; NO_TIME for "" or junk. */
static int64_t parse_time(const char *s, size_t len)
{
    int64_t v;
    return vigil_num_i64(s, len, &v) ? v : VIGIL_NOTIFICATION_NO_TIME;
}

static bool parse_unsigned(const char *s, size_t len, unsigned *out)
{
    unsigned v = 0;
    if (len == 0 || len > 9)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* The string field slots, in the order of names[]. */
static char **slot(struct vigil_notification *n, size_t i)
{
    char **slots[] = {&n->dedup,     &n->indicator,      &n->event,
                      &n->state,     &n->previous,       &n->severity,
                      &n->name,      &n->unit,           &n->target,
                      &n->owner,     &n->recommendation, &n->offenders,
                      &n->value_text};
    return slots[i];
}

static const char *const names[] = {
    "dedup",          "indicator", "event", "state",  "previous",
    "severity",       "name",      "unit",  "target", "owner",
    "recommendation", "offenders", "value",
};
#define N_NAMES (sizeof(names) / sizeof(names[0]))

static int add_label(struct vigil_notification *n, const char *name,
                     size_t nlen, const char *value, size_t vlen)
{
    if (n->n_labels >= MAX_LABELS)
        return -1;
    struct vigil_notification_label *l =
        realloc(n->labels, (n->n_labels + 1) * sizeof(*l));
    if (!l)
        return -1;
    n->labels = l;
    char *k = copy(name, nlen), *v = copy(value, vlen);
    if (!k || !v) {
        free(k);
        free(v);
        return -1;
    }
    l[n->n_labels++] = (struct vigil_notification_label){k, v};
    return 0;
}

static int fill_defaults(struct vigil_notification *n)
{
    for (size_t i = 0; i < N_NAMES; i++) {
        char **s = slot(n, i);
        if (!*s) {
            const char *d = strcmp(names[i], "offenders") == 0 ? "[]" : "";
            *s = copy(d, strlen(d));
            if (!*s)
                return -1;
        }
    }
    return 0;
}

int vigil_notification_parse(struct vigil_notification *out,
                             const char *const *fields, const size_t *lens,
                             size_t n, char *err, size_t errlen)
{
    struct vigil_notification nt;
    memset(&nt, 0, sizeof(nt));
    nt.since_ms = nt.episode_ms = VIGIL_NOTIFICATION_NO_TIME;
    nt.route = -1;
    bool has_action = false;
    const char *why = NULL;
    if (n % 2) {
        why = "odd number of fields";
        goto err_free;
    }
    for (size_t i = 0; i < n; i += 2) {
        const char *f = fields[i], *v = fields[i + 1];
        size_t fl = lens[i], vl = lens[i + 1];
        if (vl > MAX_VALUE_BYTES || fl > 256) {
            why = "field too long";
            goto err_free;
        }
        if (field_is(f, fl, "action")) {
            if (field_is(v, vl, "trigger"))
                nt.action = VIGIL_NOTIFY_TRIGGER;
            else if (field_is(v, vl, "resolve"))
                nt.action = VIGIL_NOTIFY_RESOLVE;
            else {
                why = "action is neither trigger nor resolve";
                goto err_free;
            }
            has_action = true;
            continue;
        }
        if (field_is(f, fl, "since")) {
            nt.since_ms = parse_time(v, vl);
            continue;
        }
        if (field_is(f, fl, "episode")) {
            nt.episode_ms = parse_time(v, vl);
            continue;
        }
        if (field_is(f, fl, "duration_ms")) {
            int64_t d = parse_time(v, vl);
            nt.duration_ms = d == VIGIL_NOTIFICATION_NO_TIME ? 0 : d;
            continue;
        }
        if (field_is(f, fl, "repeat")) {
            if (!parse_unsigned(v, vl, &nt.repeat))
                nt.repeat = 0;
            continue;
        }
        if (field_is(f, fl, "route")) {
            unsigned r;
            if (parse_unsigned(v, vl, &r) && r < 100000)
                nt.route = (int)r;
            continue;
        }
        if (fl > 6 && memcmp(f, "label.", 6) == 0) {
            if (add_label(&nt, f + 6, fl - 6, v, vl) < 0) {
                why = "too many labels";
                goto err_free;
            }
            continue;
        }
        for (size_t k = 0; k < N_NAMES; k++) {
            if (!field_is(f, fl, names[k]))
                continue;
            char **s = slot(&nt, k);
            free(*s);
            *s = copy(v, vl);
            if (!*s) {
                why = "out of memory";
                goto err_free;
            }
            break;
        }
    }
    if (!has_action || !nt.dedup || !nt.dedup[0] || !nt.indicator ||
        !nt.indicator[0] || !nt.state || !nt.state[0]) {
        why = "missing action, dedup, indicator or state";
        goto err_free;
    }
    if (fill_defaults(&nt) < 0) {
        why = "out of memory";
        goto err_free;
    }
    nt.has_value =
        vigil_num_double(nt.value_text, strlen(nt.value_text), &nt.value);
    *out = nt;
    return 0;

err_free:
    vigil_notification_fini(&nt);
    snprintf(err, errlen, "%s", why);
    return -1;
}

void vigil_notification_fini(struct vigil_notification *n)
{
    for (size_t i = 0; i < N_NAMES; i++)
        free(*slot(n, i));
    for (size_t i = 0; i < n->n_labels; i++) {
        free(n->labels[i].name);
        free(n->labels[i].value);
    }
    free(n->labels);
    memset(n, 0, sizeof(*n));
}

int vigil_notification_copy(struct vigil_notification *dst,
                            const struct vigil_notification *src)
{
    struct vigil_notification c = *src;
    c.labels = NULL;
    c.n_labels = 0;
    for (size_t i = 0; i < N_NAMES; i++)
        *slot(&c, i) = NULL;
    for (size_t i = 0; i < N_NAMES; i++) {
        const char *s = *slot((struct vigil_notification *)src, i);
        *slot(&c, i) = copy(s ? s : "", s ? strlen(s) : 0);
        if (!*slot(&c, i))
            goto err_free;
    }
    for (size_t i = 0; i < src->n_labels; i++) {
        const struct vigil_notification_label *l = &src->labels[i];
        if (add_label(&c, l->name, strlen(l->name), l->value,
                      strlen(l->value)) < 0)
            goto err_free;
    }
    *dst = c;
    return 0;

err_free:
    vigil_notification_fini(&c);
    return -1;
}

const char *vigil_notification_label(const struct vigil_notification *n,
                                     const char *name)
{
    for (size_t i = 0; i < n->n_labels; i++)
        if (strcmp(n->labels[i].name, name) == 0)
            return n->labels[i].value;
    return NULL;
}

const char *vigil_notification_match_value(const struct vigil_notification *n,
                                           const char *key)
{
    if (strcmp(key, "severity") == 0)
        return n->severity;
    if (strcmp(key, "indicator") == 0)
        return n->indicator;
    if (strcmp(key, "state") == 0)
        return n->action == VIGIL_NOTIFY_RESOLVE ? n->previous : n->state;
    if (strcmp(key, "action") == 0)
        return vigil_notify_action_name(n->action);
    if (strcmp(key, "dedup") == 0)
        return n->dedup;
    return vigil_notification_label(n, key);
}

const char *vigil_notify_action_name(enum vigil_notify_action a)
{
    return a == VIGIL_NOTIFY_RESOLVE ? "resolve" : "trigger";
}

void vigil_notification_time(int64_t ms, char *buf, size_t n)
{
    if (n == 0)
        return;
    buf[0] = '\0';
    if (ms == VIGIL_NOTIFICATION_NO_TIME)
        return;
    int64_t s = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        s -= 1;
    }
    time_t t = (time_t)s;
    struct tm tm;
    char date[32];
    if (!gmtime_r(&t, &tm) ||
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        return;
    snprintf(buf, n, "%s.%03dZ", date, (int)frac);
}
