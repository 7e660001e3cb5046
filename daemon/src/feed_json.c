#include "feed_json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "num.h"

struct vigil_feed_item *
vigil_feed_item_create(const struct vigil_indicator_snapshot *s)
{
    struct vigil_feed_item *it = calloc(1, sizeof(*it));
    if (!it)
        return NULL;
    atomic_init(&it->refs, 1);
    it->ind = s->ind;
    it->at_ms = s->at_ms;
    it->outcome = s->outcome;
    it->has_value = s->has_value;
    it->value = s->value;
    it->state = s->state;
    it->since_ms = s->since_ms;
    if (s->view)
        it->view = *s->view;
    if (s->event)
        it->event = *s->event;
    if (s->n_top == 0)
        return it;
    it->top = calloc(s->n_top, sizeof(*it->top));
    if (!it->top)
        goto err_free_item;
    for (size_t i = 0; i < s->n_top; i++) {
        it->top[i].key = strndup(s->top[i].key, s->top[i].key_len);
        if (!it->top[i].key)
            goto err_free_item;
        it->top[i].count = s->top[i].count;
        it->n_top++;
    }
    return it;

err_free_item:
    vigil_feed_item_unref(it);
    return NULL;
}

struct vigil_feed_item *
vigil_feed_item_rebind(const struct vigil_feed_item *it,
                       const struct vigil_indicator *ind)
{
    struct vigil_feed_item *c = malloc(sizeof(*c));
    if (!c)
        return NULL;
    memcpy(c, it, sizeof(*c));
    atomic_init(&c->refs, 1);
    c->ind = ind;
    c->top = NULL;
    c->n_top = 0;
    if (it->n_top == 0)
        return c;
    c->top = calloc(it->n_top, sizeof(*c->top));
    if (!c->top)
        goto err_free_copy;
    for (size_t i = 0; i < it->n_top; i++) {
        c->top[i].key = strdup(it->top[i].key);
        if (!c->top[i].key)
            goto err_free_copy;
        c->top[i].count = it->top[i].count;
        c->n_top++;
    }
    return c;

err_free_copy:
    vigil_feed_item_unref(c);
    return NULL;
}

struct vigil_feed_item *vigil_feed_item_ref(struct vigil_feed_item *it)
{
    atomic_fetch_add_explicit(&it->refs, 1, memory_order_relaxed);
    return it;
}

void vigil_feed_item_unref(struct vigil_feed_item *it)
{
    if (!it ||
        atomic_fetch_sub_explicit(&it->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < it->n_top; i++)
        free(it->top[i].key);
    free(it->top);
    free(it);
}

void vigil_feed_json_time(int64_t ms, char *buf, size_t n)
{
    buf[0] = '\0';
    if (ms == VIGIL_ISTATE_NEVER)
        return;
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Adds a time as ISO 8601, or null. */
static void add_time(cJSON *o, const char *key, int64_t ms)
{
    char buf[40];
    vigil_feed_json_time(ms, buf, sizeof(buf));
    if (buf[0])
        cJSON_AddStringToObject(o, key, buf);
    else
        cJSON_AddNullToObject(o, key);
}

static void add_number(cJSON *o, const char *key, bool has, double v)
{
    if (has && isfinite(v))
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

static void add_pending(cJSON *o, const char *key, bool on, enum vigil_state st,
                        int64_t since)
{
    if (!on) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    cJSON *p = cJSON_AddObjectToObject(o, key);
    if (!p)
        return;
    cJSON_AddStringToObject(p, "state", vigil_state_name(st));
    add_time(p, "since", since);
}

static void add_definition(cJSON *o, const struct vigil_indicator *ind)
{
    cJSON_AddStringToObject(o, "id", ind->id);
    cJSON_AddStringToObject(o, "name", ind->name);
    cJSON_AddStringToObject(o, "unit", ind->unit);
    cJSON_AddStringToObject(o, "target", ind->target_text);
    cJSON_AddStringToObject(o, "owner", ind->owner);
    cJSON_AddStringToObject(o, "kind", vigil_indicator_kind_name(ind->kind));
    cJSON_AddStringToObject(o, "entity", ind->entity);
    cJSON_AddStringToObject(o, "severity", ind->severity);
    cJSON_AddNumberToObject(o, "frequency_s",
                            (double)ind->frequency_ms / 1000.0);
    cJSON_AddStringToObject(o, "information_need", ind->information_need);
    cJSON_AddStringToObject(o, "recommendation", ind->recommendation);
    cJSON *labels = cJSON_AddObjectToObject(o, "labels");
    for (size_t i = 0; labels && i < ind->n_labels; i++)
        cJSON_AddStringToObject(labels, ind->labels[i].key,
                                ind->labels[i].value);
}

cJSON *vigil_feed_json_indicator(const struct vigil_indicator *ind,
                                 const struct vigil_feed_item *item,
                                 unsigned flags)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    add_definition(o, ind);
    if (!item) {
        cJSON_AddNullToObject(o, "value");
        cJSON_AddNullToObject(o, "state");
        cJSON_AddNullToObject(o, "since");
        cJSON_AddNullToObject(o, "pending");
        cJSON_AddNullToObject(o, "recovering");
        cJSON_AddNullToObject(o, "evaluated_at");
        cJSON_AddArrayToObject(o, "top");
    } else {
        add_number(o, "value", item->has_value, item->value);
        cJSON_AddStringToObject(o, "state", vigil_state_name(item->state));
        add_time(o, "since", item->since_ms);
        add_pending(o, "pending", item->view.pending, item->view.pending_state,
                    item->view.pending_since_ms);
        add_pending(o, "recovering", item->view.recovering,
                    item->view.recovering_state,
                    item->view.recovering_since_ms);
        add_time(o, "evaluated_at", item->at_ms);
        cJSON *top = cJSON_AddArrayToObject(o, "top");
        for (size_t i = 0; top && i < item->n_top; i++) {
            cJSON *t = cJSON_CreateObject();
            if (!t || !cJSON_AddItemToArray(top, t)) {
                cJSON_Delete(t);
                break;
            }
            cJSON_AddStringToObject(t, "key", item->top[i].key);
            cJSON_AddNumberToObject(t, "count", item->top[i].count);
        }
    }
    if (flags & VIGIL_FEED_JSON_TRANSITION) {
        cJSON *tr = item ? vigil_feed_json_transition(item, NULL) : NULL;
        if (tr)
            cJSON_AddItemToObject(o, "transition", tr);
        else
            cJSON_AddNullToObject(o, "transition");
    }
    return o;
}

static void add_dedup(cJSON *o, const char *ind, int64_t episode)
{
    char buf[VIGIL_INDICATOR_MAX_ID + 32];
    snprintf(buf, sizeof(buf), "%s:%" PRId64, ind, episode);
    cJSON_AddStringToObject(o, "dedup", buf);
}

cJSON *vigil_feed_json_transition(const struct vigil_feed_item *item,
                                  const char *id)
{
    const struct vigil_istate_event *ev = &item->event;
    if (ev->kind == VIGIL_EVENT_NONE)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    if (id)
        cJSON_AddStringToObject(o, "id", id);
    else
        cJSON_AddNullToObject(o, "id");
    add_time(o, "at", ev->since_ms);
    cJSON_AddStringToObject(o, "indicator", item->ind->id);
    cJSON_AddStringToObject(o, "name", item->ind->name);
    cJSON_AddStringToObject(o, "event", vigil_event_kind_name(ev->kind));
    cJSON_AddStringToObject(o, "state", vigil_state_name(ev->state));
    cJSON_AddStringToObject(o, "previous", vigil_state_name(ev->previous));
    add_number(o, "value", ev->has_value, ev->value);
    add_time(o, "since", ev->since_ms);
    add_time(o, "previous_since", ev->previous_since_ms);
    int64_t d = ev->since_ms - ev->previous_since_ms;
    if (ev->previous_since_ms == VIGIL_ISTATE_NEVER || d < 0)
        d = 0;
    cJSON_AddNumberToObject(o, "duration_ms", (double)d);
    cJSON_AddStringToObject(o, "severity", item->ind->severity);
    if (ev->notify) {
        add_time(o, "episode", ev->episode_ms);
        add_dedup(o, item->ind->id, ev->episode_ms);
    } else {
        cJSON_AddNullToObject(o, "episode");
        cJSON_AddNullToObject(o, "dedup");
    }
    return o;
}

static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool vigil_feed_sid_parse(const char *s, size_t len, struct vigil_feed_sid *out)
{
    const char *dash = memchr(s, '-', len);
    struct vigil_feed_sid id = {0, 0};
    if (!dash) {
        if (!parse_u64(s, len, &id.ms))
            return false;
        *out = id;
        return true;
    }
    if (!parse_u64(s, (size_t)(dash - s), &id.ms) ||
        !parse_u64(dash + 1, len - (size_t)(dash - s) - 1, &id.seq))
        return false;
    *out = id;
    return true;
}

int vigil_feed_sid_cmp(struct vigil_feed_sid a, struct vigil_feed_sid b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}

void vigil_feed_sid_format(struct vigil_feed_sid s, char *buf, size_t n)
{
    snprintf(buf, n, "%" PRIu64 "-%" PRIu64, s.ms, s.seq);
}

bool vigil_feed_json_is_entry(const redisReply *r)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_ARRAY ||
        r->element[1]->elements % 2 != 0)
        return false;
    const redisReply *f = r->element[1];
    for (size_t i = 0; i < f->elements; i++)
        if (f->element[i]->type != REDIS_REPLY_STRING)
            return false;
    return true;
}

/* The entry's field value, or NULL. */
static const redisReply *field(const redisReply *entry, const char *name)
{
    const redisReply *f = entry->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2)
        if (strcmp(f->element[i]->str, name) == 0)
            return f->element[i + 1];
    return NULL;
}

/* A number field: "" is null, anything unparsable a string. */
static void add_number_field(cJSON *o, const char *key, const redisReply *v)
{
    if (!v || v->len == 0) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    double d;
    if (vigil_num_double(v->str, v->len, &d))
        cJSON_AddNumberToObject(o, key, d);
    else
        cJSON_AddStringToObject(o, key, v->str);
}

/* A time field in epoch ms: "" is null. */
static void add_time_field(cJSON *o, const char *key, const redisReply *v)
{
    struct vigil_feed_sid t;
    if (!v || v->len == 0 || v->str[0] == '-' ||
        !vigil_feed_sid_parse(v->str, v->len, &t) || t.seq != 0 ||
        t.ms > (uint64_t)INT64_MAX) {
        if (v && v->len)
            cJSON_AddStringToObject(o, key, v->str);
        else
            cJSON_AddNullToObject(o, key);
        return;
    }
    add_time(o, key, (int64_t)t.ms);
}

/* The object every entry starts with: {"id", "at"} (+ t when with_t). */
static cJSON *entry_object(const redisReply *entry, bool with_t)
{
    if (!vigil_feed_json_is_entry(entry))
        return NULL;
    const redisReply *id = entry->element[0];
    struct vigil_feed_sid sid;
    if (!vigil_feed_sid_parse(id->str, id->len, &sid) ||
        sid.ms > (uint64_t)INT64_MAX)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", id->str);
    if (with_t)
        cJSON_AddNumberToObject(o, "t", (double)sid.ms);
    else
        add_time(o, "at", (int64_t)sid.ms);
    return o;
}

cJSON *vigil_feed_json_sample(const redisReply *entry)
{
    cJSON *o = entry_object(entry, true);
    if (!o)
        return NULL;
    add_number_field(o, "value", field(entry, "value"));
    const redisReply *st = field(entry, "state");
    if (st)
        cJSON_AddStringToObject(o, "state", st->str);
    else
        cJSON_AddNullToObject(o, "state");
    return o;
}

static bool is_one_of(const char *s, const char *const *names)
{
    for (size_t i = 0; names[i]; i++)
        if (strcmp(s, names[i]) == 0)
            return true;
    return false;
}

cJSON *vigil_feed_json_breach(const redisReply *entry,
                              const struct vigil_indicator_set *set)
{
    static const char *const times[] = {"since", "previous_since", "episode",
                                        NULL};
    static const char *const numbers[] = {"value", "duration_ms", NULL};
    cJSON *o = entry_object(entry, false);
    if (!o)
        return NULL;
    const redisReply *ind = field(entry, "indicator");
    if (ind) {
        cJSON_AddStringToObject(o, "indicator", ind->str);
        const struct vigil_indicator *def =
            set ? vigil_indicator_set_find(set, ind->str) : NULL;
        if (def)
            cJSON_AddStringToObject(o, "name", def->name);
    }
    const redisReply *f = entry->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const char *key = f->element[i]->str;
        const redisReply *v = f->element[i + 1];
        if (f->element[i]->type != REDIS_REPLY_STRING || !v ||
            v->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(key, "indicator") == 0 || strcmp(key, "id") == 0 ||
            strcmp(key, "at") == 0 || strcmp(key, "name") == 0 ||
            strcmp(key, "dedup") == 0 || cJSON_HasObjectItem(o, key))
            continue;
        if (is_one_of(key, times))
            add_time_field(o, key, v);
        else if (is_one_of(key, numbers))
            add_number_field(o, key, v);
        else
            cJSON_AddStringToObject(o, key, v->str);
    }
    const redisReply *episode = field(entry, "episode");
    if (ind && episode && episode->len > 0) {
        char buf[VIGIL_INDICATOR_MAX_ID + 48];
        snprintf(buf, sizeof(buf), "%s:%s", ind->str, episode->str);
        cJSON_AddStringToObject(o, "dedup", buf);
    }
    /* The same keys as a live transition, also when a record lacks one. */
    static const char *const keys[] = {
        "indicator", "event",   "state",          "previous",
        "value",     "since",   "previous_since", "duration_ms",
        "severity",  "episode", "dedup",          NULL};
    for (size_t i = 0; keys[i]; i++)
        if (!cJSON_HasObjectItem(o, keys[i]))
            cJSON_AddNullToObject(o, keys[i]);
    return o;
}

/* A time as the API writes it: "2023-11-14T22:13:20Z" (".mmm" allowed). */
static bool is_api_time(const redisReply *v)
{
    if (!v || v->type != REDIS_REPLY_STRING || v->len < 20 || v->len > 24 ||
        v->str[v->len - 1] != 'Z' || v->str[10] != 'T')
        return false;
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    for (size_t i = 0; i + 1 < sizeof(shape); i++)
        if (shape[i] == 'd' ? v->str[i] < '0' || v->str[i] > '9'
                            : v->str[i] != shape[i])
            return false;
    return true;
}

cJSON *vigil_feed_json_finding(const redisReply *entry)
{
    cJSON *o = entry_object(entry, false);
    if (!o)
        return NULL;
    /* "at" is the event's time as the finding recorded it; "recorded"
     * when Redis took it (the id's time, what `since` pages by). */
    cJSON *recorded = cJSON_Duplicate(cJSON_GetObjectItem(o, "at"), false);
    const redisReply *at = field(entry, "at");
    if (is_api_time(at))
        cJSON_ReplaceItemInObject(o, "at", cJSON_CreateString(at->str));
    if (recorded && !cJSON_AddItemToObject(o, "recorded", recorded))
        cJSON_Delete(recorded);
    const redisReply *f = entry->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const char *key = f->element[i]->str;
        if (strcmp(key, "id") != 0 && strcmp(key, "at") != 0 &&
            !cJSON_HasObjectItem(o, key))
            cJSON_AddStringToObject(o, key, f->element[i + 1]->str);
    }
    return o;
}

/* Replaces o's key by the time in v (epoch ms; "" or absent: null). */
static void replace_time(cJSON *o, const char *key, const redisReply *v)
{
    cJSON *tmp = cJSON_CreateObject();
    if (!tmp)
        return;
    add_time_field(tmp, key, v);
    cJSON *t = cJSON_DetachItemFromObject(tmp, key);
    if (t && !cJSON_ReplaceItemInObject(o, key, t))
        cJSON_Delete(t);
    cJSON_Delete(tmp);
}

/* Replaces o's key by {"state", "since"} from the entry's fields key and
 * key_since, when key names a state. */
static void replace_pending(cJSON *o, const redisReply *entry, const char *key,
                            const char *key_since)
{
    const redisReply *st = field(entry, key);
    enum vigil_state s;
    if (!st || st->type != REDIS_REPLY_STRING ||
        vigil_state_parse(st->str, st->len, &s) < 0)
        return;
    cJSON *p = cJSON_CreateObject();
    if (!p)
        return;
    cJSON_AddStringToObject(p, "state", vigil_state_name(s));
    add_time_field(p, "since", field(entry, key_since));
    if (!cJSON_ReplaceItemInObject(o, key, p))
        cJSON_Delete(p);
}

/* Replaces o's "top" by the entry's offenders ([{"key", "count"}]), kept
 * only when every element has that shape. */
static void replace_top(cJSON *o, const redisReply *entry)
{
    const redisReply *v = field(entry, "top");
    if (!v || v->type != REDIS_REPLY_STRING)
        return;
    cJSON *top = cJSON_ParseWithLength(v->str, v->len);
    bool ok = cJSON_IsArray(top);
    const cJSON *e;
    cJSON_ArrayForEach(e, top)
    {
        ok = ok && cJSON_IsString(cJSON_GetObjectItem(e, "key")) &&
             cJSON_IsNumber(cJSON_GetObjectItem(e, "count"));
    }
    if (!ok || !cJSON_ReplaceItemInObject(o, "top", top))
        cJSON_Delete(top);
}

cJSON *vigil_feed_json_replayed(const struct vigil_indicator *ind,
                                const redisReply *entry,
                                const redisReply *breach,
                                const struct vigil_indicator_set *set)
{
    cJSON *o = vigil_feed_json_indicator(ind, NULL, VIGIL_FEED_JSON_TRANSITION);
    cJSON *smp = vigil_feed_json_sample(entry);
    if (!o || !smp) {
        cJSON_Delete(o);
        cJSON_Delete(smp);
        return NULL;
    }
    cJSON *v = cJSON_DetachItemFromObject(smp, "value");
    cJSON *st = cJSON_DetachItemFromObject(smp, "state");
    if (v && !cJSON_ReplaceItemInObject(o, "value", v))
        cJSON_Delete(v);
    if (st && !cJSON_ReplaceItemInObject(o, "state", st))
        cJSON_Delete(st);
    replace_time(o, "since", field(entry, "since"));
    replace_pending(o, entry, "pending", "pending_since");
    replace_pending(o, entry, "recovering", "recovering_since");
    char at[40];
    vigil_feed_json_time(
        (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(smp, "t")), at,
        sizeof(at));
    cJSON_ReplaceItemInObject(o, "evaluated_at", cJSON_CreateString(at));
    cJSON_Delete(smp);
    replace_top(o, entry);
    cJSON *tr = breach ? vigil_feed_json_breach(breach, set) : NULL;
    if (tr && !cJSON_ReplaceItemInObject(o, "transition", tr))
        cJSON_Delete(tr);
    cJSON_AddBoolToObject(o, "replayed", true);
    return o;
}
