/*
 * synth: a deterministic synthetic SIEM feed. It writes realistic security
 * events (OpenSSH, sudo, web access, netfilter, Windows Security JSON,
 * antivirus, vulnerability scanner, change, incident, heartbeat and
 * phishing-simulation events) from a seeded PRNG, so that benchmarks and
 * the demo see the same mix of lines on every run.
 *
 * A struct vigil_synth is used by one thread at a time.
 */
#ifndef VIGIL_SYNTH_H
#define VIGIL_SYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vigil_synth_mode {
    VIGIL_SYNTH_STEADY, /* the everyday mix */
    VIGIL_SYNTH_BURST,  /* a brute-force attack: mostly sshd failures
                           from a handful of sources */
};

struct vigil_synth {
    uint64_t state; /* xorshift64* state; never 0 */
    enum vigil_synth_mode mode;
    uint64_t serial; /* events written so far */
};

/* Seeds the generator; the same seed gives the same sequence. */
void vigil_synth_init(struct vigil_synth *s, uint64_t seed);

/*
 * Writes the next event, without a trailing newline, into buf and returns
 * its length (< size). Text events carry a syslog header stamped with
 * now_ms; JSON events an "@timestamp" field. size must be at least 1024.
 */
size_t vigil_synth_next(struct vigil_synth *s, int64_t now_ms, char *buf,
                        size_t size);

#endif
