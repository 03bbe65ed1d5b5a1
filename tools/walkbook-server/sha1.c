/*
 * sha1.c - SHA-1 as specified in FIPS 180-4 §6.1 (message schedule of 80
 * words, four rounds of 20 steps, big-endian length padding).
 */
#include <string.h>

#include "sha1.h"

static uint32_t wbs_sha1__rol(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32u - n));
}

/* One step of round r: the schedule is kept in a ring of 16 words (w[i]
 * from i = 16 on overwrites w[i - 16]), and the rounds are four loops
 * without a branch on the step number: about half the instructions of
 * one loop that picks f and k per step. */
#define WBS_SHA1_W(i)                                                                       \
    (i < 16 ? w[i]                                                                          \
            : (w[i & 15] = wbs_sha1__rol(w[(i + 13) & 15] ^ w[(i + 8) & 15] ^               \
                                             w[(i + 2) & 15] ^ w[i & 15],                   \
                                         1)))
#define WBS_SHA1_STEP(f, k)                                                                 \
    do {                                                                                    \
        uint32_t t_ = wbs_sha1__rol(a, 5) + (f) + e + (k) + WBS_SHA1_W(i);                  \
        e = d;                                                                              \
        d = c;                                                                              \
        c = wbs_sha1__rol(b, 30);                                                           \
        b = a;                                                                              \
        a = t_;                                                                             \
    } while (0)

static void wbs_sha1__block(uint32_t h[5], const unsigned char *p)
{
    uint32_t w[16], a, b, c, d, e;
    unsigned i;

    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    a = h[0];
    b = h[1];
    c = h[2];
    d = h[3];
    e = h[4];
    for (i = 0; i < 20; i++)
        WBS_SHA1_STEP(d ^ (b & (c ^ d)), 0x5a827999u);
    for (; i < 40; i++)
        WBS_SHA1_STEP(b ^ c ^ d, 0x6ed9eba1u);
    for (; i < 60; i++)
        WBS_SHA1_STEP((b & c) | (d & (b | c)), 0x8f1bbcdcu);
    for (; i < 80; i++)
        WBS_SHA1_STEP(b ^ c ^ d, 0xca62c1d6u);
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void wbs_sha1_init(wbs_sha1_ctx *c)
{
    c->h[0] = 0x67452301u;
    c->h[1] = 0xefcdab89u;
    c->h[2] = 0x98badcfeu;
    c->h[3] = 0x10325476u;
    c->h[4] = 0xc3d2e1f0u;
    c->total = 0;
    c->used = 0;
}

void wbs_sha1_update(wbs_sha1_ctx *c, const void *data, size_t len)
{
    const unsigned char *p = data;

    c->total += len;
    if (c->used) {
        size_t take = 64 - c->used < len ? 64 - c->used : len;
        memcpy(c->block + c->used, p, take);
        c->used += take;
        p += take;
        len -= take;
        if (c->used < 64)
            return;
        wbs_sha1__block(c->h, c->block);
        c->used = 0;
    }
    for (; len >= 64; p += 64, len -= 64)
        wbs_sha1__block(c->h, p);
    memcpy(c->block, p, len);
    c->used = len;
}

void wbs_sha1_final(wbs_sha1_ctx *c, unsigned char out[WBS_SHA1_LEN])
{
    uint64_t bits = c->total * 8u;
    unsigned i;

    c->block[c->used++] = 0x80;
    if (c->used > 56) {
        memset(c->block + c->used, 0, 64 - c->used);
        wbs_sha1__block(c->h, c->block);
        c->used = 0;
    }
    memset(c->block + c->used, 0, 56 - c->used);
    for (i = 0; i < 8; i++)
        c->block[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
    wbs_sha1__block(c->h, c->block);
    for (i = 0; i < 20; i++)
        out[i] = (unsigned char)(c->h[i / 4] >> (24 - 8 * (i % 4)));
    memset(c, 0, sizeof(*c));
}

void wbs_sha1(unsigned char out[WBS_SHA1_LEN], const void *data, size_t len)
{
    wbs_sha1_ctx c;
    wbs_sha1_init(&c);
    wbs_sha1_update(&c, data, len);
    wbs_sha1_final(&c, out);
}
