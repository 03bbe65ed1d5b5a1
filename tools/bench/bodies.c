/*
 * bodies.c - distinct create bodies made from the seed document.
 *
 * Each body is the seed text with three values overwritten in place by
 * values of the same length, so every body has the seed's exact size and
 * layout and both sides of the benchmark parse the very same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define UUID_LEN 36
#define TIMESTAMP_LEN 24 /* 2018-07-17T18:40:53.526Z */

/* 2024-01-01T00:00:00Z; timestamps spread over the half year after it. */
#define BASE_SECONDS 1704067200LL
#define SPREAD_MS (180LL * 24 * 3600 * 1000)

static uint64_t mix(uint64_t x)
{
    /* splitmix64: distinct inputs give well spread outputs. */
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Offset of the string value of member `name`, which must be `len` long. */
static int find_value(size_t *out, const char *seed, const char *name, size_t len)
{
    char key[64];
    const char *p;
    snprintf(key, sizeof(key), "\"%s\"", name);
    if (!(p = strstr(seed, key)))
        goto bad;
    p += strlen(key);
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ':')
        p++;
    if (*p != '"' || strlen(p + 1) < len + 1 || p[1 + len] != '"')
        goto bad;
    *out = (size_t)(p + 1 - seed);
    return 0;
bad:
    fprintf(stderr, "walkbook-bench: seed: member \"%s\" must be a string of %zu characters\n",
            name, len);
    return -1;
}

int bench_bodies_init(bench_bodies *g, const char *path, size_t cap)
{
    FILE *f = NULL;
    long size;
    int error = -1;

    memset(g, 0, sizeof(*g));
    if (!(f = fopen(path, "rb")) || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "walkbook-bench: %s: cannot read the seed document\n", path);
        goto cleanup;
    }
    g->seed_len = (size_t)size;
    if (!(g->seed = malloc(g->seed_len + 1)) || fread(g->seed, 1, g->seed_len, f) != g->seed_len) {
        fprintf(stderr, "walkbook-bench: %s: cannot read the seed document\n", path);
        goto cleanup;
    }
    g->seed[g->seed_len] = '\0';
    if (find_value(&g->off_campaign, g->seed, "campaignId", UUID_LEN) < 0 ||
        find_value(&g->off_contact, g->seed, "contactId", UUID_LEN) < 0 ||
        find_value(&g->off_timestamp, g->seed, "timestamp", TIMESTAMP_LEN) < 0)
        goto cleanup;
    g->cap = cap;
    if (!(g->buf = malloc(cap * (g->seed_len + 1))) || !(g->ptrs = calloc(cap, sizeof(*g->ptrs)))) {
        fprintf(stderr, "walkbook-bench: out of memory for %zu bodies\n", cap);
        goto cleanup;
    }
    error = 0;
cleanup:
    if (f)
        fclose(f);
    if (error < 0)
        bench_bodies_free(g);
    return error;
}

void bench_bodies_free(bench_bodies *g)
{
    free(g->seed);
    free(g->buf);
    free((void *)g->ptrs);
    memset(g, 0, sizeof(*g));
}

/* The formatters below write into a roomy buffer and copy the fixed-length
 * result, so no format can truncate. */
void bench_campaign_id(char *buf, unsigned c)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "ca%06x-0000-4000-8000-%012x", c & 0xffffffu, c);
    memcpy(buf, tmp, UUID_LEN + 1);
}

static void contact_id(char *buf, uint64_t i)
{
    uint64_t h = mix(i);
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%08x-%04x-4%03x-8%03x-%012llx", (unsigned)(h >> 32),
             (unsigned)(h >> 16) & 0xffffu, (unsigned)h & 0xfffu, (unsigned)(h >> 4) & 0xfffu,
             (unsigned long long)(i & 0xffffffffffffULL));
    memcpy(buf, tmp, UUID_LEN + 1);
}

/* A time in the half year after BASE_SECONDS, scattered so that insertion
 * order is not time order (reads in time order then really need an index
 * or a sort). */
static void timestamp(char *buf, uint64_t i)
{
    int64_t ms = (int64_t)(mix(i ^ 0x5eedULL) % (uint64_t)SPREAD_MS);
    time_t secs = (time_t)(BASE_SECONDS + ms / 1000);
    struct tm tm;
    char tmp[96];
    gmtime_r(&secs, &tm);
    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    memcpy(buf, tmp, TIMESTAMP_LEN + 1);
}

void bench_bodies_fill(bench_bodies *g, size_t first, size_t count, unsigned campaigns)
{
    char value[UUID_LEN + 1];
    if (count > g->cap)
        count = g->cap;
    for (size_t k = 0; k < count; k++) {
        size_t i = first + k;
        char *body = g->buf + k * (g->seed_len + 1);
        memcpy(body, g->seed, g->seed_len + 1);
        bench_campaign_id(value, (unsigned)(i % (campaigns ? campaigns : 1)));
        memcpy(body + g->off_campaign, value, UUID_LEN);
        contact_id(value, i);
        memcpy(body + g->off_contact, value, UUID_LEN);
        timestamp(value, i);
        memcpy(body + g->off_timestamp, value, TIMESTAMP_LEN);
        g->ptrs[k] = body;
    }
}
