/*
 * bench.c - walkbook-bench: how fast walkbook records and reads
 * interactions, next to raw SQLite doing the same work in the same run.
 *
 *   walkbook-bench [--n N] [--chunk C] [--runs R] [--quick] [--memcheck]
 *                  [--no-memcheck] [--only record|batch|read] [--seed FILE]
 *
 * Phases (each in fresh files of a temporary directory, removed at the end):
 *  1. record: one wb_interaction_record per body (one transaction each),
 *     durability FULL and NORMAL, beside one autocommit INSERT per body.
 *  2. batch: wb_interaction_record_batch per chunk, beside BEGIN; inserts;
 *     COMMIT per chunk.
 *  3. read: one campaign's records out of a 10-campaign store, in time
 *     order, through wb_interaction_query + wb_iter_next, beside a naive
 *     SELECT … ORDER BY ts over an index on campaign_id alone.
 *  4. memory: peak RSS after each phase, and (memcheck) the peak of child
 *     processes that run the walkbook side with N and 4N records.
 *
 * Bodies are made one chunk at a time outside the timed regions, and the
 * walkbook and baseline sides take turns chunk by chunk on the same bodies,
 * so that drift in the machine's load hits both alike.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench.h"
#include "walkbook.h"

#ifndef WB_BENCH_SEED
#define WB_BENCH_SEED "interaction-v3-create-request.json"
#endif

#define CUSTOMER_ID "5b0a3c8e-2f1d-4c6b-9a7e-1d2c3b4a5f60"
#define USER_ID "8e7d6c5b-4a39-4281-b7c6-d5e4f3a2b1c0"
#define GROUP_ID "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"

#define TARGET_RATIO 1.5
#define TARGET_READ_MS 20.0
#define READ_CAMPAIGNS 10u
#define MAX_RUNS 32

enum { PHASE_RECORD = 1, PHASE_BATCH = 2, PHASE_READ = 4, PHASE_ALL = 7 };

typedef struct bench_opts {
    size_t n;                 /* records for phases 1 and 2 */
    size_t chunk;             /* bodies per generated chunk and per batch call */
    size_t per_campaign;      /* phase 3: records per campaign */
    int runs;                 /* phase 3: timed reads */
    int memcheck;             /* 0 skip, 1 include, 2 memcheck only */
    unsigned phases;          /* PHASE_... bits to run */
    const char *seed;
} bench_opts;

typedef struct pair {
    double wb_s, bl_s; /* seconds spent in the measured calls */
    size_t n;
} pair;

typedef struct bench {
    bench_opts o;
    bench_bodies g;
    char dir[PATH_MAX];
    pair record_full, record_normal, batch, build;
    double read_wb_ms, read_bl_ms, read_wb_min_ms, read_bl_min_ms;
    size_t read_rows;
    long rss_record, rss_batch, rss_read;
    size_t mem_n[2];
    long mem_rss[2][3]; /* per size: after record, batch, read-all */
} bench;

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long bench_peak_rss_kib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss; /* KiB on Linux */
}

static int wb_fail(const char *what, int code)
{
    const wb_error *e = wb_error_last();
    fprintf(stderr, "walkbook-bench: %s: %s (%s)\n", what,
            e && e->message ? e->message : "no message", wb_error_name(code));
    return -1;
}

/* --- Files ------------------------------------------------------------- */

static void path_in(char *buf, size_t size, const bench *b, const char *name)
{
    int len = snprintf(buf, size, "%s/%s", b->dir, name);
    if (len < 0 || (size_t)len >= size)
        buf[0] = '\0'; /* cannot happen: dir is at most PATH_MAX - 1 */
}

/* Remove a database with its -wal and -shm files. */
static void remove_db(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char p[PATH_MAX + 16];
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
        unlink(p);
    }
}

static int make_dir(bench *b)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    snprintf(b->dir, sizeof(b->dir), "%s/walkbook-bench.XXXXXX", tmp);
    if (!mkdtemp(b->dir)) {
        fprintf(stderr, "walkbook-bench: mkdtemp %s: cannot create\n", b->dir);
        b->dir[0] = '\0';
        return -1;
    }
    return 0;
}

/* The directory holds only files this program made; remove them all. */
static void remove_dir(bench *b)
{
    DIR *d;
    struct dirent *e;
    char p[PATH_MAX + 256];
    if (!b->dir[0] || !(d = opendir(b->dir)))
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", b->dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(b->dir);
}

static int open_store(wb_store **out, const char *path, int durability, int mmap_mib)
{
    wb_store_options opts = WB_STORE_OPTIONS_INIT;
    const char *groups[] = {GROUP_ID};
    wb_store *store = NULL;
    int error;

    opts.durability = durability;
    if (mmap_mib >= 0) /* else the default */
        opts.mmap_mib = mmap_mib;
    if ((error = wb_store_open(&store, path, &opts)) < 0)
        return wb_fail("wb_store_open", error);
    if ((error = wb_store_set_identity(store, CUSTOMER_ID, USER_ID, groups, 1)) < 0) {
        wb_fail("wb_store_set_identity", error);
        wb_store_free(store);
        return -1;
    }
    *out = store;
    return 0;
}

/* --- Phase 1: one transaction per record ------------------------------- */

static int record_chunk_wb(double *secs, wb_store *store, const bench_bodies *g, size_t count)
{
    double t0 = bench_now();
    for (size_t k = 0; k < count; k++) {
        int error = wb_interaction_record(NULL, store, g->ptrs[k]);
        if (error < 0)
            return wb_fail("wb_interaction_record", error);
    }
    *secs += bench_now() - t0;
    return 0;
}

static int record_chunk_bl(double *secs, bench_baseline *bl, const bench_bodies *g, size_t count)
{
    double t0 = bench_now();
    for (size_t k = 0; k < count; k++)
        if (bench_baseline_insert(bl, g->ptrs[k]) < 0)
            return -1;
    *secs += bench_now() - t0;
    return 0;
}

static int phase_record(bench *b, pair *r, int durability)
{
    const char *tag = durability == WB_DURABILITY_FULL ? "full" : "normal";
    char wb_path[PATH_MAX + 32], bl_path[PATH_MAX + 32], name[32];
    wb_store *store = NULL;
    bench_baseline *bl = NULL;
    int error = -1;

    snprintf(name, sizeof(name), "record-%s.wb", tag);
    path_in(wb_path, sizeof(wb_path), b, name);
    snprintf(name, sizeof(name), "record-%s.sqlite", tag);
    path_in(bl_path, sizeof(bl_path), b, name);
    memset(r, 0, sizeof(*r));
    if (open_store(&store, wb_path, durability, -1) < 0 ||
        bench_baseline_open(&bl, bl_path, durability == WB_DURABILITY_FULL,
                            BENCH_BASELINE_WALKBOOK) < 0)
        goto cleanup;
    for (size_t first = 0, k = 0; first < b->o.n; first += b->o.chunk, k++) {
        size_t count = b->o.n - first < b->o.chunk ? b->o.n - first : b->o.chunk;
        bench_bodies_fill(&b->g, first, count, READ_CAMPAIGNS);
        /* Take turns at going first. */
        if (k % 2 == 0 ? record_chunk_wb(&r->wb_s, store, &b->g, count) < 0 ||
                             record_chunk_bl(&r->bl_s, bl, &b->g, count) < 0
                       : record_chunk_bl(&r->bl_s, bl, &b->g, count) < 0 ||
                             record_chunk_wb(&r->wb_s, store, &b->g, count) < 0)
            goto cleanup;
        r->n += count;
    }
    error = 0;
cleanup:
    wb_store_free(store);
    bench_baseline_free(bl);
    remove_db(wb_path);
    remove_db(bl_path);
    return error;
}

/* --- Phase 2: batches -------------------------------------------------- */

static int batch_chunk_wb(double *secs, wb_store *store, const bench_bodies *g, size_t count)
{
    double t0 = bench_now();
    int error = wb_interaction_record_batch(NULL, store, g->ptrs, count);
    if (error < 0)
        return wb_fail("wb_interaction_record_batch", error);
    *secs += bench_now() - t0;
    return 0;
}

static int batch_chunk_bl(double *secs, bench_baseline *bl, const bench_bodies *g, size_t count)
{
    double t0 = bench_now();
    if (bench_baseline_batch(bl, g->ptrs, count) < 0)
        return -1;
    *secs += bench_now() - t0;
    return 0;
}

/* Fill a walkbook store and a baseline database with n records in batches
 * of the chunk size, taking turns; either may be NULL. */
static int fill_batches(pair *r, bench *b, wb_store *store, bench_baseline *bl, size_t n)
{
    for (size_t first = 0, k = 0; first < n; first += b->o.chunk, k++) {
        size_t count = n - first < b->o.chunk ? n - first : b->o.chunk;
        int wb_first = k % 2 == 0;
        bench_bodies_fill(&b->g, first, count, READ_CAMPAIGNS);
        if (wb_first && store && batch_chunk_wb(&r->wb_s, store, &b->g, count) < 0)
            return -1;
        if (bl && batch_chunk_bl(&r->bl_s, bl, &b->g, count) < 0)
            return -1;
        if (!wb_first && store && batch_chunk_wb(&r->wb_s, store, &b->g, count) < 0)
            return -1;
        r->n += count;
    }
    return 0;
}

static int phase_batch(bench *b, pair *r)
{
    char wb_path[PATH_MAX + 32], bl_path[PATH_MAX + 32];
    wb_store *store = NULL;
    bench_baseline *bl = NULL;
    int error = -1;

    path_in(wb_path, sizeof(wb_path), b, "batch.wb");
    path_in(bl_path, sizeof(bl_path), b, "batch.sqlite");
    memset(r, 0, sizeof(*r));
    if (open_store(&store, wb_path, WB_DURABILITY_FULL, -1) < 0 ||
        bench_baseline_open(&bl, bl_path, 1, BENCH_BASELINE_WALKBOOK) < 0 ||
        fill_batches(r, b, store, bl, b->o.n) < 0)
        goto cleanup;
    error = 0;
cleanup:
    wb_store_free(store);
    bench_baseline_free(bl);
    remove_db(wb_path);
    remove_db(bl_path);
    return error;
}

/* --- Phase 3: reading one campaign ------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Read a campaign to the end; *bytes only when asked (strlen costs time). */
static int read_wb(size_t *rows, size_t *bytes, wb_store *store, const char *campaign_id)
{
    wb_query q = WB_QUERY_INIT;
    wb_iter *it = NULL;
    const char *json;
    int error;

    q.campaign_id = campaign_id;
    q.order = WB_ORDER_TIME_ASC;
    *rows = 0;
    if ((error = wb_interaction_query(&it, store, &q)) < 0)
        return wb_fail("wb_interaction_query", error);
    while ((error = wb_iter_next(&json, it)) == 0) {
        if (bytes)
            *bytes += strlen(json);
        (*rows)++;
    }
    wb_iter_free(it);
    if (error != WB_ITEROVER)
        return wb_fail("wb_iter_next", error);
    return 0;
}

static int phase_read(bench *b)
{
    char wb_path[PATH_MAX + 32], bl_path[PATH_MAX + 32], campaign[37];
    double wb_ms[MAX_RUNS], bl_ms[MAX_RUNS];
    size_t total = b->o.per_campaign * READ_CAMPAIGNS, rows, bl_rows, bytes = 0, bl_bytes = 0;
    wb_store *store = NULL;
    bench_baseline *bl = NULL;
    int error = -1;

    path_in(wb_path, sizeof(wb_path), b, "read.wb");
    path_in(bl_path, sizeof(bl_path), b, "read.sqlite");
    memset(&b->build, 0, sizeof(b->build));
    /* Build both with NORMAL durability: only the read is measured here. */
    if (open_store(&store, wb_path, WB_DURABILITY_NORMAL, -1) < 0 ||
        bench_baseline_open(&bl, bl_path, 0, BENCH_BASELINE_NAIVE) < 0 ||
        fill_batches(&b->build, b, store, bl, total) < 0)
        goto cleanup;
    /* Read through fresh connections, as an app would after a restart; the
     * first read warms SQLite's cache and checks the result. */
    wb_store_free(store);
    store = NULL;
    bench_baseline_free(bl);
    bl = NULL;
    if (open_store(&store, wb_path, WB_DURABILITY_NORMAL, -1) < 0 ||
        bench_baseline_open(&bl, bl_path, 0, BENCH_BASELINE_NAIVE) < 0)
        goto cleanup;
    bench_campaign_id(campaign, 3);
    if (read_wb(&rows, &bytes, store, campaign) < 0 ||
        bench_baseline_read(&bl_rows, &bl_bytes, bl, campaign) < 0)
        goto cleanup;
    if (rows != b->o.per_campaign || bl_rows != b->o.per_campaign) {
        fprintf(stderr, "walkbook-bench: read %zu (walkbook) and %zu (baseline) records, "
                "expected %zu\n", rows, bl_rows, b->o.per_campaign);
        goto cleanup;
    }
    for (int i = 0; i < b->o.runs; i++) {
        double t0;
        int wb_first = i % 2 == 0;
        if (wb_first) {
            t0 = bench_now();
            if (read_wb(&rows, NULL, store, campaign) < 0)
                goto cleanup;
            wb_ms[i] = (bench_now() - t0) * 1e3;
        }
        t0 = bench_now();
        if (bench_baseline_read(&bl_rows, &bl_bytes, bl, campaign) < 0)
            goto cleanup;
        bl_ms[i] = (bench_now() - t0) * 1e3;
        if (!wb_first) {
            t0 = bench_now();
            if (read_wb(&rows, NULL, store, campaign) < 0)
                goto cleanup;
            wb_ms[i] = (bench_now() - t0) * 1e3;
        }
    }
    b->read_rows = rows;
    b->read_wb_ms = median(wb_ms, b->o.runs);
    b->read_bl_ms = median(bl_ms, b->o.runs);
    b->read_wb_min_ms = wb_ms[0]; /* sorted by median() */
    b->read_bl_min_ms = bl_ms[0];
    error = 0;
cleanup:
    wb_store_free(store);
    bench_baseline_free(bl);
    remove_db(wb_path);
    remove_db(bl_path);
    return error;
}

/* --- Phase 4: memory against N ----------------------------------------- */

/* In a child: the walkbook side alone with n records, streaming; writes the
 * peak RSS after recording, batching and reading everything back. */
static int memcheck_child(bench *b, size_t n, int fd)
{
    char path[PATH_MAX + 32], name[48];
    long rss[3];
    wb_store *store = NULL;
    pair r = {0, 0, 0};
    size_t rows = 0;
    int error = -1;

    snprintf(name, sizeof(name), "memcheck-%zu.wb", n);
    path_in(path, sizeof(path), b, name);
    /* Memory-mapped file pages count in the RSS in proportion to the file,
     * which would hide what this check is for: walkbook's own memory. */
    if (open_store(&store, path, WB_DURABILITY_NORMAL, 0) < 0)
        goto cleanup;
    for (size_t first = 0; first < n; first += b->o.chunk) {
        size_t count = n - first < b->o.chunk ? n - first : b->o.chunk;
        bench_bodies_fill(&b->g, first, count, READ_CAMPAIGNS);
        if (record_chunk_wb(&r.wb_s, store, &b->g, count) < 0)
            goto cleanup;
    }
    rss[0] = bench_peak_rss_kib();
    if (fill_batches(&r, b, store, NULL, n) < 0)
        goto cleanup;
    rss[1] = bench_peak_rss_kib();
    {
        wb_iter *it = NULL;
        const char *json;
        if ((error = wb_interaction_query(&it, store, NULL)) < 0) {
            wb_fail("wb_interaction_query", error);
            goto cleanup;
        }
        while ((error = wb_iter_next(&json, it)) == 0)
            rows++;
        wb_iter_free(it);
        if (error != WB_ITEROVER || rows != 2 * n) {
            wb_fail("wb_iter_next", error);
            error = -1;
            goto cleanup;
        }
    }
    rss[2] = bench_peak_rss_kib();
    error = write(fd, rss, sizeof(rss)) == (ssize_t)sizeof(rss) ? 0 : -1;
cleanup:
    wb_store_free(store);
    remove_db(path);
    return error;
}

static int phase_memcheck(bench *b)
{
    b->mem_n[0] = b->o.n;
    b->mem_n[1] = 4 * b->o.n;
    for (int i = 0; i < 2; i++) {
        int fds[2], status = 0;
        pid_t pid;
        ssize_t got;
        if (pipe(fds) != 0) {
            fprintf(stderr, "walkbook-bench: pipe: cannot create\n");
            return -1;
        }
        fflush(NULL);
        if ((pid = fork()) < 0) {
            fprintf(stderr, "walkbook-bench: fork: cannot create a child\n");
            close(fds[0]);
            close(fds[1]);
            return -1;
        }
        if (pid == 0) {
            close(fds[0]);
            _exit(memcheck_child(b, b->mem_n[i], fds[1]) < 0 ? 1 : 0);
        }
        close(fds[1]);
        got = read(fds[0], b->mem_rss[i], sizeof(b->mem_rss[i]));
        close(fds[0]);
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
            got != (ssize_t)sizeof(b->mem_rss[i])) {
            fprintf(stderr, "walkbook-bench: memcheck child for N=%zu failed\n", b->mem_n[i]);
            return -1;
        }
    }
    return 0;
}

/* --- Report ------------------------------------------------------------ */

static double per_s(size_t n, double secs)
{
    return secs > 0 ? (double)n / secs : 0;
}

static const char *verdict(int ok)
{
    return ok ? "ok" : "MISSED";
}

static void print_pair(const char *label, const pair *p)
{
    double ratio = p->bl_s > 0 ? p->wb_s / p->bl_s : 0;
    printf("%-34s %11.0f/s %11.0f/s %7.2fx   <= %.1fx %s\n", label, per_s(p->n, p->wb_s),
           per_s(p->n, p->bl_s), ratio, TARGET_RATIO, verdict(ratio <= TARGET_RATIO));
}

static void print_machine_pair(const char *name, const pair *p)
{
    printf("bench: %s walkbook=%.0f baseline=%.0f ratio=%.3f n=%zu\n", name,
           per_s(p->n, p->wb_s), per_s(p->n, p->bl_s), p->bl_s > 0 ? p->wb_s / p->bl_s : 0,
           p->n);
}

static void report(const bench *b)
{
    unsigned ph = b->o.memcheck == 2 ? 0 : b->o.phases;
    char label[64];

    printf("\nwalkbook-bench: walkbook %s, SQLite %s, N=%zu, chunk=%zu, body=%zu bytes\n",
           wb_version(), sqlite3_libversion(), b->o.n, b->o.chunk, b->g.seed_len);
    printf("ratio = walkbook time / baseline time (= baseline rec/s / walkbook rec/s)\n\n");
    if (ph)
        printf("%-34s %13s %13s %8s   %s\n", "phase", "walkbook", "baseline", "ratio", "target");
    if (ph & PHASE_RECORD) {
        print_pair("record, 1 tx each, FULL", &b->record_full);
        print_pair("record, 1 tx each, NORMAL", &b->record_normal);
    }
    if (ph & PHASE_BATCH) {
        snprintf(label, sizeof(label), "batch import, %zu per call, FULL", b->o.chunk);
        print_pair(label, &b->batch);
    }
    if (ph & PHASE_READ) {
        snprintf(label, sizeof(label), "build %zu-record store, NORMAL", b->build.n);
        printf("%-34s %11.2f s  %11.2f s  %7.2fx   (baseline: 1 index, walkbook: 7)\n", label,
               b->build.wb_s, b->build.bl_s, b->build.bl_s > 0 ? b->build.wb_s / b->build.bl_s : 0);
        snprintf(label, sizeof(label), "read %zu of %zu, median of %d", b->read_rows,
                 b->build.n, b->o.runs);
        printf("%-34s %10.2f ms  %10.2f ms  %7.2fx   < %.0f ms %s\n", label, b->read_wb_ms,
               b->read_bl_ms, b->read_bl_ms > 0 ? b->read_wb_ms / b->read_bl_ms : 0,
               TARGET_READ_MS, verdict(b->read_wb_ms < TARGET_READ_MS));
        printf("%-34s %10.2f ms  %10.2f ms\n", "  (fastest run)", b->read_wb_min_ms,
               b->read_bl_min_ms);
    }
    if (ph)
        printf("\npeak RSS of this process (both sides, cumulative) after record %ld KiB,"
               " batch %ld KiB, read %ld KiB\n", b->rss_record, b->rss_batch, b->rss_read);
    if (b->o.memcheck) {
        printf("memcheck, walkbook alone in a child, file mapping off (record N, batch N, read all 2N):\n");
        for (int i = 0; i < 2; i++)
            printf("  N=%-8zu peak RSS %ld KiB after record, %ld after batch, %ld after read\n",
                   b->mem_n[i], b->mem_rss[i][0], b->mem_rss[i][1], b->mem_rss[i][2]);
    }
    printf("\n");
    if (ph & PHASE_RECORD) {
        print_machine_pair("record_full", &b->record_full);
        print_machine_pair("record_normal", &b->record_normal);
    }
    if (ph & PHASE_BATCH)
        print_machine_pair("batch", &b->batch);
    if (ph & PHASE_READ) {
        printf("bench: build_read_store walkbook_s=%.3f baseline_s=%.3f n=%zu\n", b->build.wb_s,
               b->build.bl_s, b->build.n);
        printf("bench: read_campaign walkbook_ms=%.3f baseline_ms=%.3f ratio=%.3f rows=%zu "
               "of=%zu runs=%d\n", b->read_wb_ms, b->read_bl_ms,
               b->read_bl_ms > 0 ? b->read_wb_ms / b->read_bl_ms : 0, b->read_rows, b->build.n,
               b->o.runs);
    }
    if (ph)
        printf("bench: peak_rss record_kib=%ld batch_kib=%ld read_kib=%ld\n", b->rss_record,
               b->rss_batch, b->rss_read);
    if (b->o.memcheck)
        printf("bench: memcheck n1=%zu peak1_kib=%ld n2=%zu peak2_kib=%ld\n", b->mem_n[0],
               b->mem_rss[0][2], b->mem_n[1], b->mem_rss[1][2]);
}

/* --- Main -------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: walkbook-bench [--n N] [--chunk C] [--runs R] [--quick]\n"
               "                      [--memcheck | --no-memcheck] [--only PHASE] [--seed FILE]\n"
               "  --n N         records for the record and batch phases (default 10000)\n"
               "  --chunk C     bodies per batch call (default 1000)\n"
               "  --runs R      timed reads of one campaign, median printed (default 5)\n"
               "  --quick       a small run: N=500, 10 x 1000 records to read, 3 runs\n"
               "  --memcheck    only the memory check: walkbook with N and 4N records\n"
               "  --no-memcheck skip the memory check\n"
               "  --only PHASE  run one phase (record, batch or read) and no memory check,\n"
               "                e.g. to profile it\n"
               "  --seed FILE   the create body to copy (default: the Polis v3 example)\n");
}

static int parse_size(size_t *out, const char *s)
{
    char *end;
    unsigned long long v;
    if (!s || *s < '0' || *s > '9')
        return -1;
    v = strtoull(s, &end, 10);
    if (*end || v == 0 || v > 100000000ULL)
        return -1;
    *out = (size_t)v;
    return 0;
}

static int parse_args(bench_opts *o, int argc, char **argv)
{
    size_t v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--quick") == 0) {
            o->n = 500;
            o->per_campaign = 1000;
            o->runs = 3;
        } else if (strcmp(a, "--memcheck") == 0) {
            o->memcheck = 2;
        } else if (strcmp(a, "--no-memcheck") == 0) {
            o->memcheck = 0;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (i + 1 < argc && strcmp(a, "--only") == 0) {
            const char *p = argv[++i];
            o->memcheck = 0;
            if (strcmp(p, "record") == 0)
                o->phases = PHASE_RECORD;
            else if (strcmp(p, "batch") == 0)
                o->phases = PHASE_BATCH;
            else if (strcmp(p, "read") == 0)
                o->phases = PHASE_READ;
            else {
                fprintf(stderr, "walkbook-bench: --only %s: unknown phase\n", p);
                return -1;
            }
        } else if (i + 1 < argc && strcmp(a, "--seed") == 0) {
            o->seed = argv[++i];
        } else if (i + 1 < argc && strcmp(a, "--n") == 0 && parse_size(&v, argv[i + 1]) == 0) {
            o->n = v;
            i++;
        } else if (i + 1 < argc && strcmp(a, "--chunk") == 0 &&
                   parse_size(&v, argv[i + 1]) == 0) {
            o->chunk = v;
            i++;
        } else if (i + 1 < argc && strcmp(a, "--runs") == 0 && parse_size(&v, argv[i + 1]) == 0 &&
                   v <= MAX_RUNS) {
            o->runs = (int)v;
            i++;
        } else {
            fprintf(stderr, "walkbook-bench: %s: unknown option or bad value\n", a);
            usage(stderr);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static bench b; /* large: keep it off the stack */
    int status = 1;

    b.o.n = 10000;
    b.o.chunk = 1000;
    b.o.per_campaign = 10000;
    b.o.runs = 5;
    b.o.memcheck = 1;
    b.o.phases = PHASE_ALL;
    b.o.seed = WB_BENCH_SEED;
    if (parse_args(&b.o, argc, argv) < 0)
        return 2;
    if (bench_bodies_init(&b.g, b.o.seed, b.o.chunk) < 0 || make_dir(&b) < 0)
        goto cleanup;

    /* The memory check forks first, while this process is still small. */
    if (b.o.memcheck && phase_memcheck(&b) < 0)
        goto cleanup;
    if (b.o.memcheck != 2) {
        if (b.o.phases & PHASE_RECORD) {
            fprintf(stderr, "walkbook-bench: record (FULL)...\n");
            if (phase_record(&b, &b.record_full, WB_DURABILITY_FULL) < 0)
                goto cleanup;
            fprintf(stderr, "walkbook-bench: record (NORMAL)...\n");
            if (phase_record(&b, &b.record_normal, WB_DURABILITY_NORMAL) < 0)
                goto cleanup;
            b.rss_record = bench_peak_rss_kib();
        }
        if (b.o.phases & PHASE_BATCH) {
            fprintf(stderr, "walkbook-bench: batch...\n");
            if (phase_batch(&b, &b.batch) < 0)
                goto cleanup;
            b.rss_batch = bench_peak_rss_kib();
        }
        if (b.o.phases & PHASE_READ) {
            fprintf(stderr, "walkbook-bench: read (building the store)...\n");
            if (phase_read(&b) < 0)
                goto cleanup;
            b.rss_read = bench_peak_rss_kib();
        }
    }
    report(&b);
    status = 0;
cleanup:
    remove_dir(&b);
    bench_bodies_free(&b.g);
    return status;
}
