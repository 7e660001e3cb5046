/*
 * report_digest: SHA-256 (FIPS 180-4), for the hash of the indicator files
 * that a monitoring report quotes so that a reader can tell whether the
 * definitions changed between two reports. Any thread.
 */
#ifndef VIGIL_REPORT_DIGEST_H
#define VIGIL_REPORT_DIGEST_H

#include <stddef.h>
#include <stdint.h>

struct vigil_sha256 {
    uint32_t h[8];
    uint64_t len; /* bytes hashed so far */
    unsigned char buf[64];
    size_t n; /* bytes in buf */
};

void vigil_sha256_init(struct vigil_sha256 *c);
void vigil_sha256_update(struct vigil_sha256 *c, const void *data, size_t len);
/* Writes 64 lowercase hex digits and a NUL into hex. */
void vigil_sha256_final_hex(struct vigil_sha256 *c, char hex[65]);

/* The hash of a whole file into hex; 0, or -1 when it cannot be read. */
int vigil_sha256_file(const char *path, char hex[65]);

#endif
