/*
 * pipeline: the per-worker hot path shared by `vigild run` (Kafka) and
 * `vigild replay` (files): decode -> match -> aggregate into a batch, and
 * a finding into the batch for each match of a `record: true` rule.
 *
 * A struct vigil_pipeline belongs to one thread. It borrows the rule set
 * (holding a reference) and owns its decoder, event, matcher and batch.
 * Counters of the rule set map 1:1 onto the batch's counter ids.
 */
#ifndef VIGIL_PIPELINE_H
#define VIGIL_PIPELINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "decode.h"
#include "event.h"
#include "matcher.h"
#include "rule_set.h"

/* Process-wide counters, shared by all pipelines (relaxed atomics). */
struct vigil_pipeline_stats {
    _Atomic uint64_t events;         /* messages seen */
    _Atomic uint64_t matched_events; /* events at least one rule matched */
    _Atomic uint64_t matches;        /* rule matches */
    _Atomic uint64_t decode_errors;  /* undecodable or oversized messages */
    _Atomic uint64_t late;           /* counter updates older than retention */
    _Atomic uint64_t update_errors;  /* counter updates the batch refused */
    /* Findings of `record: true` rules in batches Redis accepted, and
     * those left out of such batches (beyond a batch's cap, or out of
     * memory); see vigil_pipeline_count_written(). */
    _Atomic uint64_t findings;
    _Atomic uint64_t findings_dropped;
};

/*
 * Adds fields to a decoded event before it is matched (the enricher
 * plugins, plugin_loader.h). Returns 0, or -1 when something failed that
 * the hook has counted; the event is matched either way. Called on the
 * pipeline's thread.
 */
typedef int (*vigil_enrich_fn)(void *ctx, struct vigil_event *ev);

struct vigil_pipeline_options {
    struct vigil_decode_options decode;
    vigil_decode_fn decode_custom; /* NULL: decode.format (decode.h) */
    void *decode_ctx;              /* borrowed; passed to decode_custom */
    vigil_enrich_fn enrich;        /* NULL: none */
    void *enrich_ctx;              /* borrowed; passed to enrich */
    int64_t retention_s;           /* bucket lifetime and lateness cutoff */
    int64_t resolution_s;          /* bucket width of every counter */
    /* Entries the findings stream keeps (redis.findings_max_len); 0: no
     * findings are gathered. A batch holds at most
     * VIGIL_PIPELINE_BATCH_FINDINGS of them, and never more than this. */
    uint64_t findings_max_len;
};

#define VIGIL_PIPELINE_BATCH_FINDINGS 1000

/*
 * Where the message being fed came from, written into its findings as
 * provenance: from Kafka (topic set) or from a file (file set, by
 * `vigild replay`); all NULL: none. Strings borrowed until the next
 * vigil_pipeline_feed returns.
 */
struct vigil_pipeline_origin {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const char *file; /* "-" for stdin */
    uint64_t line;    /* 1-based */
};

struct vigil_pipeline {
    struct vigil_rule_set *set; /* one reference held */
    struct vigil_decoder *decoder;
    struct vigil_matcher *matcher;
    struct vigil_batch *batch;
    struct vigil_event ev;
    struct vigil_pipeline_stats *stats; /* borrowed */
    vigil_enrich_fn enrich;             /* NULL: none */
    void *enrich_ctx;                   /* borrowed */
    size_t matched;                     /* matches of the current event */
    size_t max_findings; /* findings a batch holds; 0: gather none */
    /* Set by the owner before each vigil_pipeline_feed (see above). */
    struct vigil_pipeline_origin origin;
    /*
     * Optional, set by the owner after _init: called for every match of
     * the event being fed, after its counter updates were aggregated
     * (`vigild replay` prints and counts matches with it). Its return
     * value is ignored; m is borrowed for the call.
     */
    vigil_match_fn observe;
    void *observe_ctx;
};

/*
 * Builds a pipeline over set (a reference is taken). stats is borrowed and
 * must outlive the pipeline. Returns 0, or -1 with *why set to a static
 * reason.
 */
int vigil_pipeline_init(struct vigil_pipeline *p, struct vigil_rule_set *set,
                        const struct vigil_pipeline_options *opts,
                        struct vigil_pipeline_stats *stats, const char **why);
void vigil_pipeline_fini(struct vigil_pipeline *p);

/*
 * Decodes, enriches, matches and aggregates one message into p->batch.
 * fallback_ms is the event time when the event carries none. Returns the number
 * of rules that matched (>= 0) with *reason NULL, or -1 when the message could
 * not be decoded (*reason says why; counted in stats.decode_errors).
 */
int vigil_pipeline_feed(struct vigil_pipeline *p, const char *data, size_t len,
                        int64_t fallback_ms, const char **reason);

/*
 * Counts what batch b, which Redis has just accepted, wrote into stats:
 * its findings and the findings it had to leave out. Any thread (relaxed
 * atomics).
 */
void vigil_pipeline_count_written(struct vigil_pipeline_stats *stats,
                                  const struct vigil_batch *b);

#endif
