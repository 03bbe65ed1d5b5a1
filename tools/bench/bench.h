/*
 * bench.h - shared pieces of walkbook-bench: the body generator, the clock
 * and the raw-SQLite baseline that walkbook is measured against.
 *
 * The walkbook side of the benchmark goes through walkbook.h only; the
 * baseline does the same work (same table, same indexes, same JSON work) with
 * SQLite and cJSON directly, so the ratio between the two is the cost of
 * walkbook itself.
 */
#ifndef WB_BENCH_H
#define WB_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* Seconds of CLOCK_MONOTONIC. */
double bench_now(void);

/* Peak resident set size of this process so far, in KiB (ru_maxrss). */
long bench_peak_rss_kib(void);

/* --- Bodies ------------------------------------------------------------ */

/* Create bodies made from the seed document: every body has the seed's
 * exact size and shape; contactId, timestamp and campaignId differ. The
 * generator holds one chunk of bodies at a time so that memory does not grow
 * with N; callers time only what they do with a chunk, never its making. */
typedef struct bench_bodies {
    char *seed;       /* the seed document */
    size_t seed_len;
    size_t off_campaign, off_contact, off_timestamp; /* value offsets in seed */
    char *buf;        /* cap slots of seed_len + 1 bytes */
    const char **ptrs; /* the bodies of the current chunk */
    size_t cap;
} bench_bodies;

/* Load the seed from `path` and make room for `cap` bodies per chunk.
 * Returns 0, or -1 with a message on stderr. */
int bench_bodies_init(bench_bodies *g, const char *path, size_t cap);
void bench_bodies_free(bench_bodies *g);

/* Fill ptrs[0..count) with bodies number first..first+count-1; body i goes
 * to campaign i % campaigns. count <= cap. */
void bench_bodies_fill(bench_bodies *g, size_t first, size_t count, unsigned campaigns);

/* The campaign id bodies of campaign c carry. buf: 37 bytes. */
void bench_campaign_id(char *buf, unsigned c);

/* --- Raw-SQLite baseline ---------------------------------------------- */

typedef struct bench_baseline bench_baseline;

/* Indexes of the baseline table. */
enum bench_baseline_indexes {
    BENCH_BASELINE_WALKBOOK = 0, /* the indexes of schema/001 + 002 */
    BENCH_BASELINE_NAIVE = 1     /* one index, on campaign_id only */
};

/* Create a fresh database at `path` in WAL mode with the interactions table
 * of schema/001_init.sql. synchronous_full: 1 FULL, 0 NORMAL.
 * Returns 0, or -1 with a message on stderr. */
int bench_baseline_open(bench_baseline **out, const char *path, int synchronous_full,
                        int indexes);
void bench_baseline_free(bench_baseline *bl);

/* One body as one autocommit INSERT: parse, print data, id, timestamp. */
int bench_baseline_insert(bench_baseline *bl, const char *body);

/* BEGIN; n INSERTs; COMMIT. */
int bench_baseline_batch(bench_baseline *bl, const char *const *bodies, size_t n);

/* SELECT the envelope columns of one campaign's live records ordered by
 * time, stepping through every row and touching every column, building
 * nothing. */
int bench_baseline_read(size_t *out_rows, size_t *out_bytes, bench_baseline *bl,
                        const char *campaign_id);

/* SQLite's message for the last failure (also printed on stderr). */
const char *bench_baseline_errmsg(const bench_baseline *bl);

#endif
