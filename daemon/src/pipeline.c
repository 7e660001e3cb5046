#include "pipeline.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "num.h"

static enum vigil_counter_kind batch_kind(enum vigil_count_kind k)
{
    switch (k) {
    case VIGIL_COUNT_BY:
        return VIGIL_COUNTER_BY_KEY;
    case VIGIL_COUNT_DISTINCT:
        return VIGIL_COUNTER_DISTINCT;
    case VIGIL_COUNT_SUM:
        return VIGIL_COUNTER_SUM;
    case VIGIL_COUNT_PAIR:
        return VIGIL_COUNTER_PAIR;
    case VIGIL_COUNT_PLAIN:
        break;
    }
    return VIGIL_COUNTER_COUNT;
}

int vigil_pipeline_init(struct vigil_pipeline *p, struct vigil_rule_set *set,
                        const struct vigil_pipeline_options *opts,
                        struct vigil_pipeline_stats *stats, const char **why)
{
    memset(p, 0, sizeof(*p));
    p->stats = stats;
    p->enrich = opts->enrich;
    p->enrich_ctx = opts->enrich_ctx;
    vigil_event_init(&p->ev);

    size_t n = vigil_rule_set_counter_count(set);
    struct vigil_counter_def *defs = calloc(n ? n : 1, sizeof(*defs));
    if (!defs) {
        *why = "out of memory";
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const struct vigil_counter *c = vigil_rule_set_counter(set, i);
        defs[i] = (struct vigil_counter_def){
            .name = c->name,
            .kind = batch_kind(c->kind),
            .resolution_s = opts->resolution_s,
            .within_ms = (int64_t)c->within_ms,
        };
    }
    p->max_findings = opts->findings_max_len < VIGIL_PIPELINE_BATCH_FINDINGS
                          ? (size_t)opts->findings_max_len
                          : VIGIL_PIPELINE_BATCH_FINDINGS;
    struct vigil_batch_config bc = {defs, n, opts->retention_s,
                                    p->max_findings};
    p->batch = vigil_batch_create(&bc, why);
    free(defs);
    if (!p->batch)
        goto err;
    p->decoder = vigil_decoder_create(&opts->decode);
    if (!p->decoder) {
        *why = "out of memory";
        goto err_free_batch;
    }
    if (opts->decode_custom)
        vigil_decoder_set_custom(p->decoder, opts->decode_custom,
                                 opts->decode_ctx);
    p->matcher = vigil_matcher_create(set);
    if (!p->matcher) {
        *why = "out of memory";
        goto err_free_decoder;
    }
    p->set = vigil_rule_set_ref(set);
    return 0;

err_free_decoder:
    vigil_decoder_destroy(p->decoder);
err_free_batch:
    vigil_batch_destroy(p->batch);
err:
    vigil_event_fini(&p->ev);
    return -1;
}

void vigil_pipeline_fini(struct vigil_pipeline *p)
{
    vigil_matcher_destroy(p->matcher);
    vigil_decoder_destroy(p->decoder);
    vigil_batch_destroy(p->batch);
    vigil_event_fini(&p->ev);
    if (p->set)
        vigil_rule_set_unref(p->set);
    memset(p, 0, sizeof(*p));
}

static int apply_count(struct vigil_pipeline *p, const struct vigil_match *m,
                       const struct vigil_count_spec *spec)
{
    uint32_t id = (uint32_t)spec->counter->index;
    int64_t ts = p->ev.time_ms;
    struct vigil_sv v = {NULL, 0};
    if (spec->ref.kind != VIGIL_REF_NONE &&
        (vigil_match_ref(m, &p->ev, &spec->ref, &v) < 0 || !v.ptr))
        return 0; /* no value for this event: nothing to count */

    switch (spec->counter->kind) {
    case VIGIL_COUNT_PLAIN:
        return vigil_batch_count(p->batch, id, ts, 1);
    case VIGIL_COUNT_BY:
        return vigil_batch_count_key(p->batch, id, ts, v, 1);
    case VIGIL_COUNT_DISTINCT:
        return vigil_batch_distinct(p->batch, id, ts, v);
    case VIGIL_COUNT_SUM: {
        double d;
        if (!vigil_num_double(v.ptr, v.len, &d))
            return -1;
        return vigil_batch_sum(p->batch, id, ts, d);
    }
    case VIGIL_COUNT_PAIR:
        if (spec->role == VIGIL_PAIR_START)
            return vigil_batch_pair_start(p->batch, id, ts, v);
        return vigil_batch_pair_end(p->batch, id, ts, v);
    }
    return -1;
}

static struct vigil_batch_field field_str(const char *name, const char *value)
{
    return (struct vigil_batch_field){{name, strlen(name)},
                                      {value, value ? strlen(value) : 0}};
}

/* Names a capture may not take in a finding: the finding's own fields. */
static bool is_reserved(const char *name)
{
    static const char *const names[] = {
        "id",   "at",    "recorded",  "rule",   "title", "severity",
        "tags", "topic", "partition", "offset", "file",  "line",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

static bool has_field(const struct vigil_batch_field *f, size_t n,
                      struct vigil_sv name)
{
    for (size_t i = 0; i < n; i++)
        if (vigil_sv_eq(f[i].name, name))
            return true;
    return false;
}

/* Epoch ms as ISO 8601 UTC to the second, as the HTTP API writes times. */
static void format_time(int64_t ms, char *buf, size_t n)
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    buf[0] = '\0';
    if (gmtime_r(&t, &tm))
        strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Joins the rule's tags with commas, as far as a finding value goes. */
static void join_tags(const struct vigil_rule *r, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < r->n_tags && len + 1 < n; i++) {
        int w = snprintf(buf + len, n - len, "%s%s", i ? "," : "", r->tags[i]);
        if (w < 0)
            break;
        len += (size_t)w < n - len ? (size_t)w : n - len - 1;
    }
}

/*
 * The finding of a `record: true` rule's match: rule, title, severity,
 * event time, the named captures, the event fields its counters read,
 * host.name, tags and where the message came from (docs/API.md,
 * Findings).
 */
static void record_finding(struct vigil_pipeline *p,
                           const struct vigil_match *m)
{
    /* Fields after the captures: host.name, tags, and three of origin. */
    enum { TAIL = 5 };
    const struct vigil_rule *r = m->rule;
    struct vigil_batch_field f[VIGIL_BATCH_FINDING_FIELDS_MAX];
    char at[32], tags[VIGIL_BATCH_FINDING_VALUE_MAX + 1], part[16], off[24];
    size_t n = 0;
    f[n++] = field_str("rule", r->id);
    f[n++] = field_str("title", r->title);
    f[n++] = field_str("severity", vigil_severity_name(r->severity));
    format_time(p->ev.time_ms, at, sizeof(at));
    f[n++] = field_str("at", at);
    for (size_t i = 0; i < r->n_captures; i++) {
        const char *name = r->captures[i].name;
        if (!m->captures[i].ptr || is_reserved(name) ||
            n + TAIL >= VIGIL_BATCH_FINDING_FIELDS_MAX)
            continue;
        f[n++] =
            (struct vigil_batch_field){{name, strlen(name)}, m->captures[i]};
    }
    /* The event fields the rule counts by: what its findings are about
     * when the pattern captures nothing (winlog.event_data.*). */
    for (size_t i = 0; i < r->n_counts; i++) {
        const struct vigil_ref *ref = &r->counts[i].ref;
        struct vigil_sv v;
        if (ref->kind != VIGIL_REF_FIELD ||
            n + TAIL >= VIGIL_BATCH_FINDING_FIELDS_MAX ||
            has_field(f, n, ref->name) || is_reserved(ref->name.ptr) ||
            vigil_match_ref(m, &p->ev, ref, &v) < 0 || !v.ptr)
            continue;
        f[n++] = (struct vigil_batch_field){ref->name, v};
    }
    const struct vigil_field *host =
        vigil_event_find(&p->ev, VIGIL_SV("host.name"));
    struct vigil_sv hv;
    if (host && !has_field(f, n, VIGIL_SV("host.name")) &&
        vigil_event_value(&p->ev, host, &hv) == 0)
        f[n++] = (struct vigil_batch_field){VIGIL_SV("host.name"), hv};
    if (r->n_tags > 0) {
        join_tags(r, tags, sizeof(tags));
        f[n++] = field_str("tags", tags);
    }
    const struct vigil_pipeline_origin *o = &p->origin;
    if (o->topic) {
        snprintf(part, sizeof(part), "%" PRId32, o->partition);
        snprintf(off, sizeof(off), "%" PRId64, o->offset);
        f[n++] = field_str("topic", o->topic);
        f[n++] = field_str("partition", part);
        f[n++] = field_str("offset", off);
    } else if (o->file) {
        snprintf(off, sizeof(off), "%" PRIu64, o->line);
        f[n++] = field_str("file", o->file);
        f[n++] = field_str("line", off);
    }
    if (vigil_batch_finding(p->batch, f, n) < 0)
        atomic_fetch_add_explicit(&p->stats->update_errors, 1,
                                  memory_order_relaxed);
}

static int on_match(const struct vigil_match *m, void *user)
{
    struct vigil_pipeline *p = user;
    p->matched++;
    vigil_rule_set_count_match(p->set, m->rule->index);
    for (size_t i = 0; i < m->rule->n_counts; i++) {
        int rc = apply_count(p, m, &m->rule->counts[i]);
        if (rc == VIGIL_BATCH_LATE)
            atomic_fetch_add_explicit(&p->stats->late, 1, memory_order_relaxed);
        else if (rc < 0)
            atomic_fetch_add_explicit(&p->stats->update_errors, 1,
                                      memory_order_relaxed);
    }
    if (m->rule->record && p->max_findings)
        record_finding(p, m);
    if (p->observe)
        p->observe(m, p->observe_ctx);
    return 0;
}

int vigil_pipeline_feed(struct vigil_pipeline *p, const char *data, size_t len,
                        int64_t fallback_ms, const char **reason)
{
    atomic_fetch_add_explicit(&p->stats->events, 1, memory_order_relaxed);
    if (vigil_decode(p->decoder, data, len, fallback_ms, &p->ev, reason) < 0) {
        atomic_fetch_add_explicit(&p->stats->decode_errors, 1,
                                  memory_order_relaxed);
        return -1;
    }
    /* A decoded event may carry a note (an unparsable time): not an
     * error, so the caller sees none. */
    *reason = NULL;
    if (p->enrich)
        p->enrich(p->enrich_ctx, &p->ev);
    p->matched = 0;
    vigil_matcher_run(p->matcher, &p->ev, on_match, p);
    if (p->matched) {
        atomic_fetch_add_explicit(&p->stats->matched_events, 1,
                                  memory_order_relaxed);
        atomic_fetch_add_explicit(&p->stats->matches, p->matched,
                                  memory_order_relaxed);
    }
    return (int)p->matched;
}

void vigil_pipeline_count_written(struct vigil_pipeline_stats *stats,
                                  const struct vigil_batch *b)
{
    size_t n = vigil_batch_n_findings(b);
    uint64_t dropped = vigil_batch_stats(b).findings_dropped;
    if (n)
        atomic_fetch_add_explicit(&stats->findings, n, memory_order_relaxed);
    if (dropped)
        atomic_fetch_add_explicit(&stats->findings_dropped, dropped,
                                  memory_order_relaxed);
}
