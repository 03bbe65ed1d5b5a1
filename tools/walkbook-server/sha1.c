/*
 * sha1.c - SHA-1 as specified in FIPS 180-4 §6.1 (message schedule of 80
 * words, four rounds of 20 steps, big-endian length padding).
 */
#include <pthread.h>
#include <string.h>

#include "sha1.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define WBS_SHA1_NI 1
#endif

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

#ifdef WBS_SHA1_NI
/* The x86 SHA extensions (SHA-NI: AMD since Zen, Intel since Ice Lake and
 * Goldmont) do four steps per instruction: a block in ~100 instructions
 * instead of ~1 000, a fifth of a create's work on an envelope. The
 * sequence is the usual one (Intel's white paper "New Instructions
 * Supporting the Secure Hash Algorithm on Intel Architecture Processors"):
 * ABCD in one register, E added to the schedule words, the schedule
 * computed four words at a time. Group g does steps 4g..4g+3 with the
 * round function g / 5; the message registers rotate. */
#define WBS_SHA1_GROUP(g, e_in, e_out, m0, m1, m2, m3)                                     \
    do {                                                                                   \
        e_in = _mm_sha1nexte_epu32(e_in, m0);                                              \
        e_out = abcd;                                                                      \
        if ((g) < 19)                                                                      \
            m1 = _mm_sha1msg2_epu32(m1, m0);                                               \
        abcd = _mm_sha1rnds4_epu32(abcd, e_in, (g) / 5);                                   \
        if ((g) < 17)                                                                      \
            m3 = _mm_sha1msg1_epu32(m3, m0);                                               \
        if ((g) < 18)                                                                      \
            m2 = _mm_xor_si128(m2, m0);                                                    \
    } while (0)

__attribute__((target("sha,sse4.1,ssse3"))) static void
wbs_sha1__blocks_ni(uint32_t h[5], const unsigned char *p, size_t n)
{
    const __m128i order = _mm_set_epi64x(0x0001020304050607LL, 0x08090a0b0c0d0e0fLL);
    __m128i abcd, e0, e1, abcd_save, e0_save, m0, m1, m2, m3;

    abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)h), 0x1b);
    e0 = _mm_set_epi32((int)h[4], 0, 0, 0);
    for (; n; n--, p += 64) {
        abcd_save = abcd;
        e0_save = e0;
        /* Steps 0-15: the block's own words. */
        m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), order);
        e0 = _mm_add_epi32(e0, m0);
        e1 = abcd;
        abcd = _mm_sha1rnds4_epu32(abcd, e0, 0);
        m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16)), order);
        e1 = _mm_sha1nexte_epu32(e1, m1);
        e0 = abcd;
        abcd = _mm_sha1rnds4_epu32(abcd, e1, 0);
        m0 = _mm_sha1msg1_epu32(m0, m1);
        m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 32)), order);
        e0 = _mm_sha1nexte_epu32(e0, m2);
        e1 = abcd;
        abcd = _mm_sha1rnds4_epu32(abcd, e0, 0);
        m1 = _mm_sha1msg1_epu32(m1, m2);
        m0 = _mm_xor_si128(m0, m2);
        m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 48)), order);
        e1 = _mm_sha1nexte_epu32(e1, m3);
        e0 = abcd;
        m0 = _mm_sha1msg2_epu32(m0, m3);
        abcd = _mm_sha1rnds4_epu32(abcd, e1, 0);
        m2 = _mm_sha1msg1_epu32(m2, m3);
        m1 = _mm_xor_si128(m1, m3);
        /* Steps 16-79. */
        WBS_SHA1_GROUP(4, e0, e1, m0, m1, m2, m3);
        WBS_SHA1_GROUP(5, e1, e0, m1, m2, m3, m0);
        WBS_SHA1_GROUP(6, e0, e1, m2, m3, m0, m1);
        WBS_SHA1_GROUP(7, e1, e0, m3, m0, m1, m2);
        WBS_SHA1_GROUP(8, e0, e1, m0, m1, m2, m3);
        WBS_SHA1_GROUP(9, e1, e0, m1, m2, m3, m0);
        WBS_SHA1_GROUP(10, e0, e1, m2, m3, m0, m1);
        WBS_SHA1_GROUP(11, e1, e0, m3, m0, m1, m2);
        WBS_SHA1_GROUP(12, e0, e1, m0, m1, m2, m3);
        WBS_SHA1_GROUP(13, e1, e0, m1, m2, m3, m0);
        WBS_SHA1_GROUP(14, e0, e1, m2, m3, m0, m1);
        WBS_SHA1_GROUP(15, e1, e0, m3, m0, m1, m2);
        WBS_SHA1_GROUP(16, e0, e1, m0, m1, m2, m3);
        WBS_SHA1_GROUP(17, e1, e0, m1, m2, m3, m0);
        WBS_SHA1_GROUP(18, e0, e1, m2, m3, m0, m1);
        WBS_SHA1_GROUP(19, e1, e0, m3, m0, m1, m2);
        e0 = _mm_sha1nexte_epu32(e0, e0_save);
        abcd = _mm_add_epi32(abcd, abcd_save);
    }
    _mm_storeu_si128((__m128i *)(void *)h, _mm_shuffle_epi32(abcd, 0x1b));
    h[4] = (uint32_t)_mm_extract_epi32(e0, 3);
}

static int wbs_sha1__ni_present;
static int wbs_sha1__ni_off;
static pthread_once_t wbs_sha1__once = PTHREAD_ONCE_INIT;

static void wbs_sha1__detect(void)
{
    unsigned a, b, c, d;
    /* CPUID leaf 1: SSSE3 (ECX 9), SSE4.1 (ECX 19); leaf 7: SHA (EBX 29). */
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 9)) || !(c & (1u << 19)))
        return;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29)))
        wbs_sha1__ni_present = 1;
}
#endif

int wbs_sha1_hardware(int allow)
{
#ifdef WBS_SHA1_NI
    pthread_once(&wbs_sha1__once, wbs_sha1__detect);
    wbs_sha1__ni_off = !allow;
    return allow && wbs_sha1__ni_present;
#else
    (void)allow;
    return 0;
#endif
}

/* n whole blocks. */
static void wbs_sha1__blocks(uint32_t h[5], const unsigned char *p, size_t n)
{
#ifdef WBS_SHA1_NI
    pthread_once(&wbs_sha1__once, wbs_sha1__detect);
    if (wbs_sha1__ni_present && !wbs_sha1__ni_off) {
        wbs_sha1__blocks_ni(h, p, n);
        return;
    }
#endif
    for (; n; n--, p += 64)
        wbs_sha1__block(h, p);
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
        wbs_sha1__blocks(c->h, c->block, 1);
        c->used = 0;
    }
    if (len >= 64) {
        wbs_sha1__blocks(c->h, p, len / 64);
        p += len / 64 * 64;
        len %= 64;
    }
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
        wbs_sha1__blocks(c->h, c->block, 1);
        c->used = 0;
    }
    memset(c->block + c->used, 0, 56 - c->used);
    for (i = 0; i < 8; i++)
        c->block[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
    wbs_sha1__blocks(c->h, c->block, 1);
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
