#include "payload.h"

#include <cJSON.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OFFENDERS 10

/* Drops an incomplete UTF-8 sequence at the end of s (left there when
 * snprintf cut the text). */
static void utf8_trim_tail(char *s)
{
    size_t len = strlen(s);
    for (size_t back = 1; back <= 4 && back <= len; back++) {
        unsigned char c = (unsigned char)s[len - back];
        if ((c & 0xC0) == 0x80)
            continue; /* a continuation byte: look further back */
        size_t need = c < 0x80             ? 1
                      : (c & 0xE0) == 0xC0 ? 2
                      : (c & 0xF0) == 0xE0 ? 3
                      : (c & 0xF8) == 0xF0 ? 4
                                           : 1;
        if (need > back)
            s[len - back] = '\0';
        return;
    }
}

static void format_value(const struct vigil_notification *n, char *buf,
                         size_t size)
{
    if (n->has_value)
        snprintf(buf, size, "%.6g", n->value);
    else
        snprintf(buf, size, "no data");
}

static void upper(const char *s, char *buf, size_t size)
{
    size_t i = 0;
    for (; s[i] && i + 1 < size; i++)
        buf[i] = (char)toupper((unsigned char)s[i]);
    buf[i] = '\0';
}

void vigil_payload_summary(const struct vigil_notification *n, char *buf,
                           size_t size)
{
    char tag[64], value[32], rep[32] = "";
    if (size == 0)
        return;
    if (n->action == VIGIL_NOTIFY_RESOLVE)
        snprintf(tag, sizeof(tag), "RESOLVED");
    else
        upper(n->state, tag, sizeof(tag));
    if (n->repeat)
        snprintf(rep, sizeof(rep), ", repeat %u", n->repeat);
    format_value(n, value, sizeof(value));
    snprintf(buf, size, "[%s%s] %s %s: %s%s%s (target %s)", tag, rep,
             n->indicator, n->name, value,
             n->has_value && n->unit[0] ? " " : "", n->has_value ? n->unit : "",
             n->target);
    utf8_trim_tail(buf);
}

const char *vigil_payload_pd_severity(const char *severity)
{
    if (strcmp(severity, "critical") == 0)
        return "critical";
    if (strcmp(severity, "high") == 0)
        return "error";
    if (strcmp(severity, "medium") == 0 || strcmp(severity, "low") == 0)
        return "warning";
    return "info";
}

/* "<base>/?indicator=<id>", or NULL when there is no dashboard. */
static char *dashboard_link(const struct vigil_payload_env *env,
                            const char *indicator)
{
    if (!env->dashboard_url || !env->dashboard_url[0])
        return NULL;
    size_t bl = strlen(env->dashboard_url);
    while (bl > 0 && env->dashboard_url[bl - 1] == '/')
        bl--;
    size_t n = bl + strlen(indicator) + 16;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%.*s/?indicator=%s", (int)bl, env->dashboard_url,
                 indicator);
    return s;
}

/* The offenders as a JSON array of {"key","count"} (at most 10); an
 * unparsable field gives []. */
static cJSON *offenders(const struct vigil_notification *n)
{
    cJSON *out = cJSON_CreateArray();
    cJSON *in = cJSON_ParseWithLength(n->offenders, strlen(n->offenders));
    if (!out || !cJSON_IsArray(in)) {
        cJSON_Delete(in);
        return out;
    }
    const cJSON *o;
    int k = 0;
    cJSON_ArrayForEach(o, in)
    {
        const cJSON *key = cJSON_GetObjectItemCaseSensitive(o, "key");
        const cJSON *count = cJSON_GetObjectItemCaseSensitive(o, "count");
        if (!cJSON_IsString(key) || !cJSON_IsNumber(count))
            continue;
        if (k++ >= MAX_OFFENDERS)
            break;
        cJSON *c = cJSON_CreateObject();
        if (!c)
            break;
        cJSON_AddStringToObject(c, "key", key->valuestring);
        cJSON_AddNumberToObject(c, "count", count->valuedouble);
        cJSON_AddItemToArray(out, c);
    }
    cJSON_Delete(in);
    return out;
}

static void add_value(cJSON *o, const char *key,
                      const struct vigil_notification *n)
{
    if (n->has_value)
        cJSON_AddNumberToObject(o, key, n->value);
    else
        cJSON_AddNullToObject(o, key);
}

static void add_time(cJSON *o, const char *key, int64_t ms)
{
    char buf[40];
    vigil_notification_time(ms, buf, sizeof(buf));
    if (buf[0])
        cJSON_AddStringToObject(o, key, buf);
    else
        cJSON_AddNullToObject(o, key);
}

static cJSON *labels_object(const struct vigil_notification *n)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < n->n_labels; i++)
        cJSON_AddStringToObject(o, n->labels[i].name, n->labels[i].value);
    return o;
}

static char *print(cJSON *root)
{
    char *s = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return s;
}

char *vigil_payload_pagerduty(const struct vigil_notification *n,
                              const char *routing_key,
                              const struct vigil_payload_env *env)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddStringToObject(root, "routing_key", routing_key);
    cJSON_AddStringToObject(root, "event_action",
                            vigil_notify_action_name(n->action));
    cJSON_AddStringToObject(root, "dedup_key", n->dedup);
    if (n->action == VIGIL_NOTIFY_RESOLVE)
        return print(root);

    char summary[VIGIL_PAYLOAD_SUMMARY_MAX + 1];
    vigil_payload_summary(n, summary, sizeof(summary));
    char *link = dashboard_link(env, n->indicator);
    cJSON *p = cJSON_AddObjectToObject(root, "payload");
    if (p) {
        cJSON_AddStringToObject(p, "summary", summary);
        cJSON_AddStringToObject(p, "severity",
                                vigil_payload_pd_severity(n->severity));
        cJSON_AddStringToObject(p, "source", env->source);
        add_time(p, "timestamp", n->since_ms);
        cJSON_AddStringToObject(p, "component", n->indicator);
        cJSON_AddStringToObject(p, "group", n->owner);
        cJSON_AddStringToObject(p, "class", n->state);
        cJSON *d = cJSON_AddObjectToObject(p, "custom_details");
        if (d) {
            cJSON_AddStringToObject(d, "indicator", n->indicator);
            cJSON_AddStringToObject(d, "name", n->name);
            cJSON_AddStringToObject(d, "state", n->state);
            cJSON_AddStringToObject(d, "previous", n->previous);
            add_value(d, "value", n);
            cJSON_AddStringToObject(d, "unit", n->unit);
            cJSON_AddStringToObject(d, "threshold", n->target);
            cJSON_AddStringToObject(d, "severity", n->severity);
            cJSON_AddStringToObject(d, "owner", n->owner);
            add_time(d, "since", n->since_ms);
            cJSON_AddItemToObject(d, "offenders", offenders(n));
            cJSON_AddStringToObject(d, "recommendation", n->recommendation);
            cJSON_AddItemToObject(d, "labels", labels_object(n));
            if (link)
                cJSON_AddStringToObject(d, "dashboard", link);
            if (n->repeat)
                cJSON_AddNumberToObject(d, "repeat", n->repeat);
        }
    }
    if (link) {
        cJSON *links = cJSON_AddArrayToObject(root, "links");
        cJSON *l = cJSON_CreateObject();
        if (links && l) {
            cJSON_AddStringToObject(l, "href", link);
            cJSON_AddStringToObject(l, "text", "vigil dashboard");
            cJSON_AddItemToArray(links, l);
        } else {
            cJSON_Delete(l);
        }
    }
    cJSON_AddStringToObject(root, "client", "vigil");
    if (link)
        cJSON_AddStringToObject(root, "client_url", link);
    free(link);
    return print(root);
}

/* Alertmanager label names are [a-zA-Z_][a-zA-Z0-9_]*. */
static void label_name(const char *in, char *buf, size_t size)
{
    size_t i = 0;
    for (; in[i] && i + 1 < size; i++) {
        unsigned char c = (unsigned char)in[i];
        bool ok = isalpha(c) || c == '_' || (i > 0 && isdigit(c));
        buf[i] = ok ? (char)c : '_';
    }
    buf[i] = '\0';
}

static cJSON *am_alert(const struct vigil_notification *n, const char *state,
                       bool ended, const struct vigil_payload_env *env)
{
    cJSON *a = cJSON_CreateObject();
    if (!a)
        return NULL;
    cJSON *labels = cJSON_AddObjectToObject(a, "labels");
    if (labels) {
        cJSON_AddStringToObject(labels, "alertname", n->indicator);
        cJSON_AddStringToObject(labels, "severity", n->severity);
        cJSON_AddStringToObject(labels, "state", state);
        for (size_t i = 0; i < n->n_labels; i++) {
            char name[128];
            label_name(n->labels[i].name, name, sizeof(name));
            if (!name[0] || cJSON_GetObjectItemCaseSensitive(labels, name))
                continue;
            cJSON_AddStringToObject(labels, name, n->labels[i].value);
        }
    }
    char summary[VIGIL_PAYLOAD_SUMMARY_MAX + 1], value[32];
    vigil_payload_summary(n, summary, sizeof(summary));
    format_value(n, value, sizeof(value));
    char *link = dashboard_link(env, n->indicator);
    cJSON *ann = cJSON_AddObjectToObject(a, "annotations");
    if (ann) {
        cJSON_AddStringToObject(ann, "summary", summary);
        cJSON_AddStringToObject(ann, "name", n->name);
        cJSON_AddStringToObject(ann, "value", value);
        cJSON_AddStringToObject(ann, "unit", n->unit);
        cJSON_AddStringToObject(ann, "target", n->target);
        cJSON_AddStringToObject(ann, "owner", n->owner);
        cJSON_AddStringToObject(ann, "recommendation", n->recommendation);
        cJSON *arr = offenders(n);
        char *off = arr ? cJSON_PrintUnformatted(arr) : NULL;
        cJSON_Delete(arr);
        cJSON_AddStringToObject(ann, "offenders", off ? off : "[]");
        free(off);
        cJSON_AddStringToObject(ann, "dedup_key", n->dedup);
    }
    add_time(a, "startsAt",
             n->episode_ms != VIGIL_NOTIFICATION_NO_TIME ? n->episode_ms
                                                         : n->since_ms);
    add_time(a, "endsAt",
             ended ? env->now_ms : env->now_ms + (int64_t)env->am_valid_ms);
    if (link)
        cJSON_AddStringToObject(a, "generatorURL", link);
    free(link);
    return a;
}

char *vigil_payload_alertmanager(const struct vigil_notification *const *v,
                                 size_t n, const struct vigil_payload_env *env)
{
    cJSON *root = cJSON_CreateArray();
    if (!root)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const struct vigil_notification *x = v[i];
        bool resolve = x->action == VIGIL_NOTIFY_RESOLVE;
        /* A resolve ends the alert of the paged state that ends. */
        const char *state = resolve ? x->previous : x->state;
        bool moved = !resolve && x->episode_ms != VIGIL_NOTIFICATION_NO_TIME &&
                     x->since_ms != x->episode_ms && x->previous[0] &&
                     strcmp(x->previous, x->state) != 0;
        if (moved)
            cJSON_AddItemToArray(root, am_alert(x, x->previous, true, env));
        cJSON_AddItemToArray(root, am_alert(x, state, resolve, env));
    }
    return print(root);
}

static cJSON *webhook_item(const struct vigil_notification *n,
                           const struct vigil_payload_env *env)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char summary[VIGIL_PAYLOAD_SUMMARY_MAX + 1];
    vigil_payload_summary(n, summary, sizeof(summary));
    cJSON_AddStringToObject(o, "action", vigil_notify_action_name(n->action));
    cJSON_AddStringToObject(o, "dedup_key", n->dedup);
    cJSON_AddStringToObject(o, "summary", summary);
    cJSON_AddStringToObject(o, "indicator", n->indicator);
    cJSON_AddStringToObject(o, "name", n->name);
    cJSON_AddStringToObject(o, "state", n->state);
    cJSON_AddStringToObject(o, "previous", n->previous);
    add_value(o, "value", n);
    cJSON_AddStringToObject(o, "unit", n->unit);
    cJSON_AddStringToObject(o, "threshold", n->target);
    add_time(o, "since", n->since_ms);
    add_time(o, "episode_start", n->episode_ms);
    cJSON_AddStringToObject(o, "severity", n->severity);
    cJSON_AddStringToObject(o, "owner", n->owner);
    cJSON_AddItemToObject(o, "offenders", offenders(n));
    cJSON_AddStringToObject(o, "recommendation", n->recommendation);
    cJSON_AddItemToObject(o, "labels", labels_object(n));
    char *link = dashboard_link(env, n->indicator);
    if (link)
        cJSON_AddStringToObject(o, "dashboard", link);
    else
        cJSON_AddNullToObject(o, "dashboard");
    free(link);
    cJSON_AddNumberToObject(o, "repeat", n->repeat);
    return o;
}

char *vigil_payload_webhook(const struct vigil_notification *const *v, size_t n,
                            const struct vigil_payload_env *env)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON_AddStringToObject(root, "source", env->source);
    cJSON_AddBoolToObject(root, "grouped", n > 1);
    cJSON *arr = cJSON_AddArrayToObject(root, "notifications");
    for (size_t i = 0; arr && i < n; i++)
        cJSON_AddItemToArray(arr, webhook_item(v[i], env));
    return print(root);
}

static const char *slack_color(const struct vigil_notification *n)
{
    if (n->action == VIGIL_NOTIFY_RESOLVE)
        return "#2eb886";
    if (strcmp(n->state, "breach") == 0)
        return "#d00000";
    if (strcmp(n->state, "warn") == 0)
        return "#f2c744";
    return "#808080";
}

/* Slack's mrkdwn reserves &, < and >. */
static char *slack_escape(const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += *p == '&' ? 5 : (*p == '<' || *p == '>') ? 4 : 1;
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *p = s; *p; p++) {
        const char *rep = *p == '&'   ? "&amp;"
                          : *p == '<' ? "&lt;"
                          : *p == '>' ? "&gt;"
                                      : NULL;
        if (rep) {
            memcpy(o, rep, strlen(rep));
            o += strlen(rep);
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

static void add_escaped(cJSON *o, const char *key, const char *s)
{
    char *e = slack_escape(s);
    cJSON_AddStringToObject(o, key, e ? e : "");
    free(e);
}

static void slack_field(cJSON *fields, const char *title, const char *value,
                        bool is_short)
{
    cJSON *f = cJSON_CreateObject();
    if (!f)
        return;
    cJSON_AddStringToObject(f, "title", title);
    add_escaped(f, "value", value);
    cJSON_AddBoolToObject(f, "short", is_short);
    cJSON_AddItemToArray(fields, f);
}

static cJSON *slack_attachment(const struct vigil_notification *n,
                               const struct vigil_payload_env *env)
{
    cJSON *a = cJSON_CreateObject();
    if (!a)
        return NULL;
    char title[600], value[96], num[32];
    snprintf(title, sizeof(title), "%s %s", n->indicator, n->name);
    format_value(n, num, sizeof(num));
    snprintf(value, sizeof(value), "%s%s%s", num,
             n->has_value && n->unit[0] ? " " : "",
             n->has_value ? n->unit : "");
    cJSON_AddStringToObject(a, "color", slack_color(n));
    add_escaped(a, "title", title);
    char *link = dashboard_link(env, n->indicator);
    if (link)
        cJSON_AddStringToObject(a, "title_link", link);
    free(link);
    add_escaped(a, "text", n->recommendation);
    cJSON *fields = cJSON_AddArrayToObject(a, "fields");
    if (fields) {
        char state[80];
        snprintf(state, sizeof(state), "%s (was %s)", n->state, n->previous);
        slack_field(fields, "State", state, true);
        slack_field(fields, "Value", value, true);
        slack_field(fields, "Target", n->target, true);
        slack_field(fields, "Owner", n->owner, true);
        cJSON *off = offenders(n);
        if (cJSON_GetArraySize(off) > 0) {
            char text[512] = "";
            size_t used = 0;
            const cJSON *o;
            cJSON_ArrayForEach(o, off)
            {
                const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "key");
                const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "count");
                int w =
                    snprintf(text + used, sizeof(text) - used, "%s%s (%g)",
                             used ? ", " : "", k->valuestring, c->valuedouble);
                if (w < 0 || (size_t)w >= sizeof(text) - used)
                    break;
                used += (size_t)w;
            }
            slack_field(fields, "Top offenders", text, false);
        }
        cJSON_Delete(off);
    }
    if (n->since_ms != VIGIL_NOTIFICATION_NO_TIME) {
        int64_t whole_seconds = n->since_ms / 1000; /* Slack's ts */
        cJSON_AddNumberToObject(a, "ts", (double)whole_seconds);
    }
    return a;
}

char *vigil_payload_slack(const struct vigil_notification *const *v, size_t n,
                          const char *channel,
                          const struct vigil_payload_env *env)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    if (channel && channel[0])
        cJSON_AddStringToObject(root, "channel", channel);
    char text[VIGIL_PAYLOAD_SUMMARY_MAX + 1];
    if (n == 1) {
        vigil_payload_summary(v[0], text, sizeof(text));
    } else {
        size_t open = 0;
        for (size_t i = 0; i < n; i++)
            open += v[i]->action == VIGIL_NOTIFY_TRIGGER;
        snprintf(text, sizeof(text),
                 "[vigil] %zu notifications: %zu firing, %zu resolved", n, open,
                 n - open);
    }
    add_escaped(root, "text", text);
    cJSON *arr = cJSON_AddArrayToObject(root, "attachments");
    for (size_t i = 0; arr && i < n; i++)
        cJSON_AddItemToArray(arr, slack_attachment(v[i], env));
    return print(root);
}
