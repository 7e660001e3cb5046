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
    VIGIL_SYNTH_STEADY, /* the benchmarks' mix: busy and noisy (many failed
                           logins, uncleared malware, an occasional
                           audit-log clearing) */
    VIGIL_SYNTH_CALM,   /* a healthy site, as `vigild demo` shows it: the
                           same sources, but every shipped indicator is
                           within its target */
    VIGIL_SYNTH_BURST,  /* the calm site under a brute-force attack: mostly
                           sshd failures from a handful of sources */
};

/* The event sources of the mix, for vigil_synth_next_kind(). */
enum vigil_synth_kind {
    VIGIL_SYNTH_ANY, /* the mix of the mode */
    VIGIL_SYNTH_SSHD,
    VIGIL_SYNTH_SUDO,
    VIGIL_SYNTH_WEB,
    VIGIL_SYNTH_FIREWALL,
    VIGIL_SYNTH_WINDOWS,
    VIGIL_SYNTH_AV,
    VIGIL_SYNTH_VULN,
    VIGIL_SYNTH_CHANGE,
    VIGIL_SYNTH_INCIDENT,
    VIGIL_SYNTH_HEARTBEAT,
    VIGIL_SYNTH_PHISHING,
    VIGIL_SYNTH_N_KINDS
};

struct vigil_synth {
    uint64_t state; /* xorshift64* state; never 0 */
    enum vigil_synth_mode mode;
    uint64_t serial;       /* events written so far */
    unsigned quarantines;  /* calm: detections whose quarantine is due */
    int64_t quarantine_ms; /* calm: the time of that detection */
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

/* As vigil_synth_next(), but an event of one source only (VIGIL_SYNTH_ANY:
 * the mix). */
size_t vigil_synth_next_kind(struct vigil_synth *s, enum vigil_synth_kind kind,
                             int64_t now_ms, char *buf, size_t size);

/* The share (0..1) of kind in the everyday mix (STEADY and CALM alike). */
double vigil_synth_share(enum vigil_synth_kind kind);

#endif
