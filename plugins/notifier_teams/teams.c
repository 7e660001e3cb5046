/*
 * notifier_teams: delivers vigil's notifications to a Microsoft Teams
 * incoming webhook.
 *
 * The card is built from vigil's webhook JSON (the notification the
 * `webhook` notifier sends). Keys it reads, each optional: indicator (an
 * id string, or an object with id, name, unit, owner, target), id, name,
 * state, previous, value, unit, target or threshold, since, severity,
 * owner, summary, recommendation, top or top_offenders (an array of
 * {key, count} objects, [key, count] pairs or strings), dashboard or
 * dashboard_url or link. Unknown keys are ignored.
 *
 * Card formats, chosen with the notifier entry's `config: {card: ...}`:
 *   adaptive     (default) a message with one Adaptive Card attachment, as
 *                Teams Workflows ("Post to a channel when a webhook request
 *                is received") and the newer incoming webhooks take it
 *   messagecard  the legacy Office 365 connector MessageCard
 *
 * The notifier entry's `url` is the webhook URL (required), `headers` are
 * added to the request, `timeout` is the budget: the POST (libcurl easy,
 * synchronous) is given at most that long. 2xx is delivered; a legacy
 * connector's "200 Webhook message delivery failed ..." is not.
 */
#define _POSIX_C_SOURCE 200809L /* strncasecmp */

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <vigil/plugin.h>

#define BODY_KEEP 512 /* bytes of a response body kept for messages */

struct teams {
    const struct vigil_host_api *host;
};

static void fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- reading vigil's JSON ---------------------------------------------- */

/* The first of keys (NULL-terminated) that is a string or a number. */
static const char *text_of(const cJSON *obj, char *num, size_t numlen,
                           const char *const *keys)
{
    for (; obj && *keys; keys++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, *keys);
        if (cJSON_IsString(v) && v->valuestring && v->valuestring[0])
            return v->valuestring;
        if (cJSON_IsNumber(v)) {
            snprintf(num, numlen, "%.15g", v->valuedouble);
            return num;
        }
    }
    return NULL;
}

#define TEXT(obj, buf, ...)                                                    \
    text_of((obj), (buf), sizeof(buf), (const char *const[]){__VA_ARGS__, NULL})

struct note {
    const char *id, *name, *state, *previous, *value, *unit, *target;
    const char *since, *severity, *owner, *summary, *recommendation, *link;
    char top[512];
    char num[24][32]; /* numbers as text, one slot per key read */
    size_t used;
};

/* A fresh slot for a number's text. */
static char *num(struct note *n)
{
    return n->num[n->used < 23 ? n->used++ : 23];
}

static void read_top(const cJSON *arr, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        char kbuf[32], cbuf[32];
        const char *key = NULL, *count = NULL;
        if (cJSON_IsString(e)) {
            key = e->valuestring;
        } else if (cJSON_IsObject(e)) {
            key = TEXT(e, kbuf, "key", "value", "name");
            count = TEXT(e, cbuf, "count", "n");
        } else if (cJSON_IsArray(e)) {
            const cJSON *k = cJSON_GetArrayItem(e, 0);
            const cJSON *c = cJSON_GetArrayItem(e, 1);
            if (cJSON_IsString(k))
                key = k->valuestring;
            if (cJSON_IsNumber(c)) {
                snprintf(cbuf, sizeof(cbuf), "%.15g", c->valuedouble);
                count = cbuf;
            }
        }
        if (!key)
            continue;
        int w = count ? snprintf(out + used, size - used, "%s%s (%s)",
                                 used ? ", " : "", key, count)
                      : snprintf(out + used, size - used, "%s%s",
                                 used ? ", " : "", key);
        if (w < 0 || (size_t)w >= size - used) {
            out[used] = '\0';
            break;
        }
        used += (size_t)w;
    }
}

static void read_note(const cJSON *root, struct note *n)
{
    memset(n, 0, sizeof(*n));
    const cJSON *ind = cJSON_GetObjectItemCaseSensitive(root, "indicator");
    const cJSON *io = cJSON_IsObject(ind) ? ind : NULL;
#define GET(obj, ...)                                                          \
    text_of((obj), num(n), sizeof(n->num[0]),                                  \
            (const char *const[]){__VA_ARGS__, NULL})
    /* Keys of the indicator object first, then of the notification. */
    if (!(n->id = GET(io, "id")))
        n->id = GET(root, "indicator", "id");
    if (!(n->name = GET(io, "name")))
        n->name = GET(root, "name", "title");
    if (!(n->unit = GET(io, "unit")))
        n->unit = GET(root, "unit");
    if (!(n->target = GET(io, "target")))
        n->target = GET(root, "target", "threshold");
    if (!(n->owner = GET(io, "owner")))
        n->owner = GET(root, "owner");
    n->state = GET(root, "state");
    n->previous = GET(root, "previous", "previous_state");
    n->value = GET(root, "value");
    n->since = GET(root, "since");
    n->severity = GET(root, "severity");
    n->summary = GET(root, "summary");
    n->recommendation = GET(root, "recommendation");
    n->link = GET(root, "dashboard", "dashboard_url", "link");
#undef GET
    const cJSON *top = cJSON_GetObjectItemCaseSensitive(root, "top");
    if (!top)
        top = cJSON_GetObjectItemCaseSensitive(root, "offenders");
    if (!cJSON_IsArray(top))
        top = cJSON_GetObjectItemCaseSensitive(root, "top_offenders");
    if (cJSON_IsArray(top))
        read_top(top, n->top, sizeof(n->top));
}

/* ---- building the card ------------------------------------------------- */

static const char *colour(const char *state, bool adaptive)
{
    if (state && strcmp(state, "breach") == 0)
        return adaptive ? "Attention" : "D13438";
    if (state && strcmp(state, "warn") == 0)
        return adaptive ? "Warning" : "FFB900";
    if (state && (strcmp(state, "ok") == 0 || strcmp(state, "resolved") == 0))
        return adaptive ? "Good" : "107C10";
    return adaptive ? "Default" : "8A8886";
}

/* "[BREACH] KPI-AC-01 SSH brute-force pressure" */
static void title(const struct note *n, char *out, size_t size)
{
    char state[32] = "NOTIFICATION";
    if (n->state) {
        size_t i = 0;
        for (; i < sizeof(state) - 1 && n->state[i]; i++) {
            char c = n->state[i];
            state[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
        }
        state[i] = '\0';
    }
    snprintf(out, size, "[%s] %s%s%s", state, n->id ? n->id : "vigil",
             n->name ? " " : "", n->name ? n->name : "");
}

/* Calls fact(name, value) for every fact the note has. */
static void facts(const struct note *n, cJSON *arr, const char *kname,
                  const char *kvalue)
{
    char buf[160];
    const char *names[8], *values[8];
    size_t k = 0;
    if (n->state) {
        if (n->previous)
            snprintf(buf, sizeof(buf), "%s -> %s", n->previous, n->state);
        names[k] = "State", values[k++] = n->previous ? buf : n->state;
    }
    char vbuf[160];
    if (n->value) {
        snprintf(vbuf, sizeof(vbuf), "%s%s%s", n->value, n->unit ? " " : "",
                 n->unit ? n->unit : "");
        names[k] = "Value", values[k++] = vbuf;
    }
    if (n->target)
        names[k] = "Target", values[k++] = n->target;
    if (n->since)
        names[k] = "Since", values[k++] = n->since;
    if (n->severity)
        names[k] = "Severity", values[k++] = n->severity;
    if (n->owner)
        names[k] = "Owner", values[k++] = n->owner;
    if (n->top[0])
        names[k] = "Top offenders", values[k++] = n->top;
    for (size_t i = 0; i < k; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, kname, names[i]);
        cJSON_AddStringToObject(f, kvalue, values[i]);
        cJSON_AddItemToArray(arr, f);
    }
}

static cJSON *text_block(const char *text, bool bold)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "type", "TextBlock");
    cJSON_AddStringToObject(b, "text", text);
    cJSON_AddBoolToObject(b, "wrap", true);
    if (bold) {
        cJSON_AddStringToObject(b, "weight", "Bolder");
        cJSON_AddStringToObject(b, "size", "Medium");
    }
    return b;
}

static cJSON *adaptive_card(const struct note *n)
{
    char t[256];
    title(n, t, sizeof(t));
    cJSON *card = cJSON_CreateObject();
    cJSON_AddStringToObject(
        card, "$schema", "http://adaptivecards.io/schemas/adaptive-card.json");
    cJSON_AddStringToObject(card, "type", "AdaptiveCard");
    cJSON_AddStringToObject(card, "version", "1.4");
    cJSON *body = cJSON_AddArrayToObject(card, "body");
    cJSON *head = text_block(t, true);
    cJSON_AddStringToObject(head, "color", colour(n->state, true));
    cJSON_AddItemToArray(body, head);
    if (n->summary)
        cJSON_AddItemToArray(body, text_block(n->summary, false));
    cJSON *fs = cJSON_CreateObject();
    cJSON_AddStringToObject(fs, "type", "FactSet");
    facts(n, cJSON_AddArrayToObject(fs, "facts"), "title", "value");
    cJSON_AddItemToArray(body, fs);
    if (n->recommendation)
        cJSON_AddItemToArray(body, text_block(n->recommendation, false));
    if (n->link) {
        cJSON *actions = cJSON_AddArrayToObject(card, "actions");
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "type", "Action.OpenUrl");
        cJSON_AddStringToObject(a, "title", "Open dashboard");
        cJSON_AddStringToObject(a, "url", n->link);
        cJSON_AddItemToArray(actions, a);
    }
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "type", "message");
    cJSON *atts = cJSON_AddArrayToObject(msg, "attachments");
    cJSON *att = cJSON_CreateObject();
    cJSON_AddStringToObject(att, "contentType",
                            "application/vnd.microsoft.card.adaptive");
    cJSON_AddNullToObject(att, "contentUrl");
    cJSON_AddItemToObject(att, "content", card);
    cJSON_AddItemToArray(atts, att);
    return msg;
}

static cJSON *message_card(const struct note *n)
{
    char t[256];
    title(n, t, sizeof(t));
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "@type", "MessageCard");
    cJSON_AddStringToObject(c, "@context", "https://schema.org/extensions");
    cJSON_AddStringToObject(c, "summary", t);
    cJSON_AddStringToObject(c, "themeColor", colour(n->state, false));
    cJSON_AddStringToObject(c, "title", t);
    if (n->summary)
        cJSON_AddStringToObject(c, "text", n->summary);
    cJSON *sections = cJSON_AddArrayToObject(c, "sections");
    cJSON *s = cJSON_CreateObject();
    facts(n, cJSON_AddArrayToObject(s, "facts"), "name", "value");
    if (n->recommendation)
        cJSON_AddStringToObject(s, "text", n->recommendation);
    cJSON_AddItemToArray(sections, s);
    if (n->link) {
        cJSON *actions = cJSON_AddArrayToObject(c, "potentialAction");
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "@type", "OpenUri");
        cJSON_AddStringToObject(a, "name", "Open dashboard");
        cJSON *targets = cJSON_AddArrayToObject(a, "targets");
        cJSON *tg = cJSON_CreateObject();
        cJSON_AddStringToObject(tg, "os", "default");
        cJSON_AddStringToObject(tg, "uri", n->link);
        cJSON_AddItemToArray(targets, tg);
        cJSON_AddItemToArray(actions, a);
    }
    return c;
}

/* ---- delivery ---------------------------------------------------------- */

struct body {
    char text[BODY_KEEP + 1];
    size_t len;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *user)
{
    struct body *b = user;
    size_t n = size * nmemb;
    size_t room = BODY_KEEP - b->len;
    size_t take = n < room ? n : room;
    memcpy(b->text + b->len, p, take);
    b->len += take;
    b->text[b->len] = '\0';
    return n;
}

static int post(const struct vigil_plugin_notification *n, const char *json,
                char *err, size_t errlen)
{
    int rc = -1;
    CURL *c = curl_easy_init();
    if (!c) {
        fail(err, errlen, "cannot create a libcurl handle");
        return -1;
    }
    struct curl_slist *hdrs =
        curl_slist_append(NULL, "Content-Type: application/json");
    for (size_t i = 0; hdrs && i < n->n_headers; i++) {
        char line[1024];
        snprintf(line, sizeof(line), "%s: %s", n->headers[i].key,
                 n->headers[i].value);
        struct curl_slist *h2 = curl_slist_append(hdrs, line);
        if (!h2) {
            curl_slist_free_all(hdrs);
            hdrs = NULL;
        }
        hdrs = h2;
    }
    if (!hdrs) {
        fail(err, errlen, "out of memory");
        goto out_cleanup;
    }
    struct body body = {.len = 0};
    char curl_err[CURL_ERROR_SIZE] = "";
    long timeout = n->timeout_ms ? (long)n->timeout_ms : 10000;
    curl_easy_setopt(c, CURLOPT_URL, n->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(json));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "vigil-notifier-teams/1.0");
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        fail(err, errlen, "POST failed: %s",
             curl_err[0] ? curl_err : curl_easy_strerror(cc));
        goto out_free_headers;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        fail(err, errlen, "HTTP %ld: %s", status, body.text);
        goto out_free_headers;
    }
    /* Legacy connectors answer 200 with an error text instead of "1". */
    if (strncasecmp(body.text, "Webhook message delivery failed", 31) == 0) {
        fail(err, errlen, "HTTP %ld: %s", status, body.text);
        goto out_free_headers;
    }
    rc = 0;

out_free_headers:
    curl_slist_free_all(hdrs);
out_cleanup:
    curl_easy_cleanup(c);
    return rc;
}

static int teams_notify(void *state, const struct vigil_plugin_notification *n,
                        char *err, size_t errlen)
{
    (void)state;
    if (!n->url || !n->url[0]) {
        fail(err, errlen, "notifier '%s': no url (the Teams webhook URL)",
             n->notifier);
        return -1;
    }
    bool adaptive = true;
    for (size_t i = 0; i < n->n_config; i++) {
        const char *k = n->config[i].key, *v = n->config[i].value;
        if (strcmp(k, "card") == 0 && strcmp(v, "adaptive") == 0) {
            adaptive = true;
        } else if (strcmp(k, "card") == 0 && strcmp(v, "messagecard") == 0) {
            adaptive = false;
        } else {
            fail(err, errlen,
                 "notifier '%s': config %s: '%s' (card: adaptive or "
                 "messagecard)",
                 n->notifier, k, v);
            return -1;
        }
    }
    cJSON *in = cJSON_ParseWithLength(n->json, n->json_len);
    if (!cJSON_IsObject(in)) {
        cJSON_Delete(in);
        fail(err, errlen, "the notification is not a JSON object");
        return -1;
    }
    /* vigil's webhook JSON wraps the notification: {"version":1, ...,
     * "notifications":[{...}]}; a bare notification object is read as is. */
    const cJSON *one = in;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(in, "notifications");
    if (cJSON_IsArray(list) && cJSON_IsObject(cJSON_GetArrayItem(list, 0)))
        one = cJSON_GetArrayItem(list, 0);
    struct note note;
    read_note(one, &note);
    cJSON *card = adaptive ? adaptive_card(&note) : message_card(&note);
    char *json = cJSON_PrintUnformatted(card);
    cJSON_Delete(card);
    cJSON_Delete(in); /* note points into it */
    if (!json) {
        fail(err, errlen, "out of memory");
        return -1;
    }
    int rc = post(n, json, err, errlen);
    cJSON_free(json);
    return rc;
}

static int teams_init(const struct vigil_host_api *host,
                      const struct vigil_plugin_kv *config, size_t n_config,
                      void **state, char *err, size_t errlen)
{
    if (n_config > 0) {
        fail(err, errlen,
             "unknown config key '%s' (settings go in the notifier entry)",
             config[0].key);
        return -1;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fail(err, errlen, "cannot initialise libcurl");
        return -1;
    }
    struct teams *t = malloc(sizeof(*t));
    if (!t) {
        curl_global_cleanup();
        fail(err, errlen, "out of memory");
        return -1;
    }
    t->host = host;
    *state = t;
    return 0;
}

static void teams_destroy(void *state)
{
    free(state);
    curl_global_cleanup();
}

VIGIL_PLUGIN_EXPORT const struct vigil_plugin_v1 vigil_plugin_v1 = {
    .abi_major = VIGIL_PLUGIN_ABI_MAJOR,
    .struct_size = sizeof(struct vigil_plugin_v1),
    .abi_minor = VIGIL_PLUGIN_ABI_MINOR,
    .kind = VIGIL_PLUGIN_NOTIFIER,
    .name = "teams",
    .version = "1.0.0",
    .init = teams_init,
    .destroy = teams_destroy,
    .notify = teams_notify,
};
