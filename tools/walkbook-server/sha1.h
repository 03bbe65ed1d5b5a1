/*
 * sha1.h - SHA-1 (FIPS 180-4), only for the Polis etag format: libsodium
 * has no SHA-1, and the etags of the documentation are SHA-1 based. Not for
 * anything where collisions matter.
 */
#ifndef WBS_SHA1_H
#define WBS_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define WBS_SHA1_LEN 20

typedef struct wbs_sha1_ctx {
    uint32_t h[5];
    uint64_t total; /* bytes hashed so far */
    unsigned char block[64];
    size_t used; /* bytes waiting in block */
} wbs_sha1_ctx;

void wbs_sha1_init(wbs_sha1_ctx *c);
void wbs_sha1_update(wbs_sha1_ctx *c, const void *data, size_t len);
void wbs_sha1_final(wbs_sha1_ctx *c, unsigned char out[WBS_SHA1_LEN]);

/* The x86 SHA instructions are used where the processor has them. For
 * tests: allow 0 makes every later hash use the portable code, 1 (the
 * default) the instructions when present; returns 1 when they will be
 * used. Not to be called while other threads hash. */
int wbs_sha1_hardware(int allow);

/* One call: out = SHA-1(data[0..len)). */
void wbs_sha1(unsigned char out[WBS_SHA1_LEN], const void *data, size_t len);

#endif
