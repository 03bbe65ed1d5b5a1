/*
 * uuid.c - UUID v4 and v7 generation and syntax checks.
 *
 * Randomness comes from libsodium's randombytes_buf (the OS CSPRNG): record
 * ids made on many phones offline must never collide, so a seeded PRNG is
 * not good enough.
 */
#include <stdint.h>
#include <time.h>

#include <sodium.h>

#include "common.h"
#include "uuid.h"

static const char wb_uuid__hex[] = "0123456789abcdef";

/* The 16 bytes in 8-4-4-4-12 lowercase form, with the RFC 4122 variant
 * (10xx) set in byte 8. */
static void wb_uuid__format(char *buf, unsigned char b[16])
{
    size_t o = 0;
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            buf[o++] = '-';
        buf[o++] = wb_uuid__hex[b[i] >> 4];
        buf[o++] = wb_uuid__hex[b[i] & 0x0f];
    }
    buf[o] = '\0';
}

void wb_uuid__v4(char *buf)
{
    unsigned char b[16];

    /* sodium_init makes the generator's set-up thread-safe; if it ever
     * failed, randombytes_buf still initialises itself lazily, so the
     * result is deliberately ignored and this function cannot fail. */
    (void)wb__global_init();
    randombytes_buf(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    wb_uuid__format(buf, b);
}

void wb_uuid__v7(char *buf)
{
    unsigned char b[16];
    struct timespec ts;
    uint64_t ms;

    (void)wb__global_init();
    randombytes_buf(b, sizeof(b));
    clock_gettime(CLOCK_REALTIME, &ts);
    ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x70); /* version 7 */
    wb_uuid__format(buf, b);
}

static int wb_uuid__is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int wb_uuid__valid(const char *s)
{
    size_t i;

    if (!s)
        return 0;
    /* Stop at the NUL: every position is checked before the next is read. */
    for (i = 0; i < WB_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!wb_uuid__is_hex(s[i])) {
            return 0;
        }
    }
    return s[WB_UUID_LEN] == '\0';
}
