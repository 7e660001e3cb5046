/*
 * counter_store: a struct vigil_batch (batch.h) into Redis, exactly once.
 *
 * One batch is ONE EVALSHA of counter_script.lua: the script checks, for
 * every partition of the batch, that the offset stored in
 * vigil:{ns}:offsets:<group> is still the one the worker resumed from (the
 * fence); if any is not, it writes nothing and returns the stored offsets
 * so that the worker can seek there; else it applies every counter delta,
 * sets every key's expiry, appends the batch's findings to the capped
 * stream vigil:{ns}:findings and stores the partitions' next offsets, all
 * atomically: a fenced-off batch writes no finding, an accepted one each
 * finding once. docs/REDIS.md has the key layout.
 *
 * The command is built apart from the transport: vigil_counter_store_build
 * gives argv/argvlen for redisCommandArgv or redisAsyncCommandArgv, and
 * vigil_counter_store_parse_reply reads the reply. The synchronous
 * vigil_counter_store_flush does both on a blocking redisContext.
 *
 * A struct vigil_counter_store belongs to one thread (one per worker).
 *
 * Retrying is safe: when a flush fails in transport (timeout, lost
 * connection) the batch may or may not have landed. Flush the same batch
 * again on a new connection: if it had landed, it is rejected and the
 * stored offsets equal the batch's next offsets.
 */
#ifndef VIGIL_COUNTER_STORE_H
#define VIGIL_COUNTER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "batch.h"

struct vigil_counter_store_config {
    const char *ns;    /* namespace: keys are vigil:{ns}:...; copied */
    const char *group; /* Kafka consumer group, names the offsets hash */
    /* Entries the findings stream vigil:{ns}:findings keeps (XADD MAXLEN
     * ~); 0: VIGIL_COUNTER_STORE_FINDINGS_MAX_LEN. */
    uint64_t findings_max_len;
};

#define VIGIL_COUNTER_STORE_FINDINGS_MAX_LEN 10000

/* Command for redisCommandArgv / redisAsyncCommandArgv. Views owned by the
 * store, valid until its next _build or _destroy. */
struct vigil_counter_store_cmd {
    int argc;
    const char **argv;
    const size_t *argvlen;
    size_t n_keys;       /* KEYS of the script */
    size_t script_calls; /* redis.call()s of an accepted batch, at most */
    size_t bytes;        /* sum of argvlen */
};

/* One partition of a rejected batch (same order as the batch's). */
struct vigil_stored_offset {
    const char *topic; /* borrowed from the batch */
    int32_t partition;
    int64_t expected; /* what the batch expected */
    int64_t stored;   /* what Redis holds; VIGIL_OFFSET_UNSET when none */
};

/* What a flush did; caller's storage, zero-initialised, reused across
 * flushes, freed with vigil_flush_result_fini. */
struct vigil_flush_result {
    bool accepted; /* applied; else nothing was written */
    /* Accepted: ops Redis refused (a key of another type, an overflow).
     * They were skipped, everything else applied. */
    int64_t failed_ops;
    char first_error[128]; /* of those, the first; "" when none */
    /* Rejected: every partition of the batch with its stored offset. */
    struct vigil_stored_offset *stored;
    size_t n_stored, cap_stored;
};

void vigil_flush_result_fini(struct vigil_flush_result *r);

/* vigil_counter_store_parse_reply: the script is not loaded (SCRIPT
 * FLUSH, failover): load it and send the batch again. */
#define VIGIL_COUNTER_STORE_NOSCRIPT (-2)

struct vigil_counter_store;

/* NULL when out of memory or when ns or group is empty or holds '{', '}'
 * or control bytes. */
struct vigil_counter_store *
vigil_counter_store_create(const struct vigil_counter_store_config *cfg);
void vigil_counter_store_destroy(struct vigil_counter_store *s);

/* The last error of the store (transport, reply, script), or "". */
const char *vigil_counter_store_error(const struct vigil_counter_store *s);

/* The script's SHA1 (hex) and text, embedded at build time. */
const char *vigil_counter_store_script_sha(void);
const char *vigil_counter_store_script(size_t *len);

/*
 * Builds the EVALSHA of batch b into *cmd. The batch is only read and
 * must not change while *cmd is used. Returns 0, or -1 when out of memory
 * (the store's error says so).
 */
int vigil_counter_store_build(struct vigil_counter_store *s,
                              const struct vigil_batch *b,
                              struct vigil_counter_store_cmd *cmd);

/*
 * Builds SCRIPT LOAD <script> into *cmd (same lifetime as _build's);
 * check its reply with vigil_counter_store_parse_load.
 */
int vigil_counter_store_build_load(struct vigil_counter_store *s,
                                   struct vigil_counter_store_cmd *cmd);

/* 0 when reply is the script's SHA1, else -1 (the store's error). */
int vigil_counter_store_parse_load(struct vigil_counter_store *s,
                                   const redisReply *reply);

/*
 * Reads the reply to the EVALSHA of batch b (the same, unchanged batch)
 * into *res. Returns 0 (res->accepted tells), VIGIL_COUNTER_STORE_NOSCRIPT,
 * or -1 for any other error reply or a malformed one (NULL reply
 * included); the store's error says which.
 */
int vigil_counter_store_parse_reply(struct vigil_counter_store *s,
                                    const struct vigil_batch *b,
                                    const redisReply *reply,
                                    struct vigil_flush_result *res);

/*
 * Synchronous flush of b on ctx (blocking; its timeouts apply): loads the
 * script on first use and again after NOSCRIPT, sends the batch, reads
 * the reply. ctx is borrowed. Returns 0 (res->accepted tells) or -1
 * (the store's error says why; after a transport error ctx is unusable
 * and the caller reconnects).
 */
int vigil_counter_store_flush(struct vigil_counter_store *s, redisContext *ctx,
                              const struct vigil_batch *b,
                              struct vigil_flush_result *res);

/*
 * Connects to host:port with timeout_ms for the connect and for every
 * later command. Returns a context (free with redisFree) or NULL, with
 * the reason in errbuf.
 */
redisContext *vigil_counter_store_connect(const char *host, int port,
                                          int timeout_ms, char *errbuf,
                                          size_t errlen);

/*
 * Reads the stored offsets of topic's partitions[0..n) into offsets[0..n)
 * (VIGIL_OFFSET_UNSET where none is stored), for seeking on assignment.
 * Blocking on ctx (borrowed). Returns 0 or -1.
 */
int vigil_counter_store_get_offsets(redisContext *ctx, const char *ns,
                                    const char *group, const char *topic,
                                    const int32_t *partitions, size_t n,
                                    int64_t *offsets);

#endif
