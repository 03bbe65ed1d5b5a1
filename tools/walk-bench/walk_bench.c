/*
 * walk_bench.c - walkbook-walk-bench: how fast "next doors" and distances
 * are.
 *
 *   walkbook-walk-bench [--households N] [--queries Q] [--scans S] [-k K]
 *
 * Builds a store with one walk list of N households (default 100 000)
 * spread over a 30 km x 30 km town, a tenth of them already knocked, then
 * asks for the K nearest doors not yet knocked to Q random points with the
 * index (wb_walklist_next) and to S of those points with the brute-force
 * scan (WB_NEXT_SCAN), interleaved so that machine noise hits both alike,
 * checks that both give the same answer, and prints p50/p99 of each and
 * their ratio. Then counts wb_geodesic_distance calls per second on
 * door-knocking distances (0-2 km) and on worldwide pairs.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <walkbook.h>

#define CENTER_LAT 42.3736
#define CENTER_LNG (-71.1097)
#define WALKLIST "5c1ce5e4-a374-493e-bab2-ce7c01999e27"
#define CAMPAIGN "61fbfbaa-5de8-4d17-ac2b-c47f2376265a"

static uint64_t rng = 88172645463325252ULL;
static double rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void uuid_of(char out[37], unsigned i)
{
    snprintf(out, 37, "%08x-0000-4000-8000-%012x", i * 2654435761u, i);
}

static int die(const char *what)
{
    const wb_error *e = wb_error_last();
    fprintf(stderr, "walkbook-walk-bench: %s: %s\n", what, e ? e->message : "failed");
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/* A point in the town: ±15 km around the centre. */
static void town_point(double *lat, double *lng)
{
    *lat = CENTER_LAT + (rnd() - 0.5) * 0.27;
    *lng = CENTER_LNG + (rnd() - 0.5) * 0.365;
}

static int build(wb_store **out, const char *path, unsigned n)
{
    const char *groups[] = {"e822d07f-5972-4ff2-bc75-dbd68d6d79bf"};
    wb_store_options so = WB_STORE_OPTIONS_INIT;
    wb_store *store = NULL;
    size_t cap = (size_t)n * 160 + 128, len = 0;
    char *csv = malloc(cap), id[37];
    uint64_t imported = 0;
    double t0;

    if (!csv)
        return die("out of memory");
    so.durability = WB_DURABILITY_NORMAL;
    if (wb_store_open(&store, path, &so) != 0) {
        free(csv);
        return die("open");
    }
    if (wb_store_set_identity(store, "cfa8df1b-baf1-446b-b06c-3177063faed7",
                              "0651e380-d556-49bd-acdd-2bd813b16430", groups, 1) != 0) {
        free(csv);
        wb_store_free(store);
        return die("identity");
    }
    len += (size_t)snprintf(csv, cap, "id,lat,lng,walklistId,campaignId\n");
    for (unsigned i = 0; i < n; i++) {
        double lat, lng;
        town_point(&lat, &lng);
        uuid_of(id, i + 1);
        len += (size_t)snprintf(csv + len, cap - len, "%s,%.7f,%.7f,%s,%s\n", id, lat, lng,
                                WALKLIST, CAMPAIGN);
    }
    t0 = now_s();
    if (wb_ref_import(&imported, store, "households", csv, len) != 0)
        return die("import");
    printf("import: %u households in %.2f s (%.0f/s)\n", n, now_s() - t0,
           (double)n / (now_s() - t0));
    free(csv);
    /* A tenth already knocked, in one transaction. */
    {
        unsigned k = n / 10;
        char **bodies = calloc(k ? k : 1, sizeof(*bodies));
        for (unsigned i = 0; i < k; i++) {
            bodies[i] = malloc(512);
            uuid_of(id, i * 10 + 1);
            snprintf(bodies[i], 512,
                     "{\"campaignId\":\"" CAMPAIGN "\",\"contactId\":\"0478dbbf-b6eb-4168-afa9-"
                     "5ebab6fef4b6\",\"householdId\":\"%s\",\"walklistId\":\"" WALKLIST "\","
                     "\"timestamp\":\"2026-01-10T10:00:00.000Z\",\"unavailable\":false,"
                     "\"survey\":{\"surveyId\":\"375d437b-3b47-4940-b43d-be8daec4afff\"}}",
                     id);
        }
        if (k && wb_interaction_record_batch(NULL, store, (const char *const *)bodies, k) != 0)
            return die("knock");
        for (unsigned i = 0; i < k; i++)
            free(bodies[i]);
        free(bodies);
    }
    *out = store;
    return 0;
}

static int bench_next(wb_store *store, unsigned queries, unsigned scans, unsigned k)
{
    double *ti = calloc(queries, sizeof(double)), *ts = calloc(scans ? scans : 1, sizeof(double));
    unsigned every = scans ? (queries + scans - 1) / scans : 0, si = 0, mismatches = 0;
    if (!ti || !ts)
        return die("out of memory");
    for (unsigned q = 0; q < queries; q++) {
        double lat, lng, t0;
        char *a = NULL, *b = NULL;
        town_point(&lat, &lng);
        t0 = now_s();
        if (wb_walklist_next(&a, store, WALKLIST, lat, lng, k, 0) != 0)
            return die("next");
        ti[q] = now_s() - t0;
        if (every && q % every == 0 && si < scans) {
            t0 = now_s();
            if (wb_walklist_next(&b, store, WALKLIST, lat, lng, k, WB_NEXT_SCAN) != 0)
                return die("next (scan)");
            ts[si++] = now_s() - t0;
            mismatches += strcmp(a, b) != 0;
        }
        wb_free(a);
        wb_free(b);
    }
    qsort(ti, queries, sizeof(double), cmp_double);
    qsort(ts, si, sizeof(double), cmp_double);
    printf("next doors, k = %u, %u indexed queries, %u scans:\n", k, queries, si);
    printf("  index (R*Tree):    p50 %8.3f ms   p99 %8.3f ms\n", pct(ti, queries, 0.5) * 1e3,
           pct(ti, queries, 0.99) * 1e3);
    if (si) {
        printf("  brute-force scan:  p50 %8.3f ms   p99 %8.3f ms\n", pct(ts, si, 0.5) * 1e3,
               pct(ts, si, 0.99) * 1e3);
        printf("  speed-up: p50 %.0fx, p99 %.0fx (target >= 50x); answers differ: %u\n",
               pct(ts, si, 0.5) / pct(ti, queries, 0.5), pct(ts, si, 0.99) / pct(ti, queries, 0.99),
               mismatches);
    }
    free(ti);
    free(ts);
    return mismatches ? 1 : 0;
}

static void bench_distance(const char *label, int door)
{
    enum { N = 4096 };
    static double p[N][4];
    double sink = 0.0, t0, t;
    long calls = 0;
    for (int i = 0; i < N; i++) {
        if (door) {
            double r = rnd() * 2000.0, b = rnd() * 6.283185307179586;
            town_point(&p[i][0], &p[i][1]);
            p[i][2] = p[i][0] + r * cos(b) / 111000.0;
            p[i][3] = p[i][1] + r * sin(b) / 82000.0;
        } else {
            p[i][0] = asin(2 * rnd() - 1) * 57.29577951308232;
            p[i][1] = 360 * rnd() - 180;
            p[i][2] = asin(2 * rnd() - 1) * 57.29577951308232;
            p[i][3] = 360 * rnd() - 180;
        }
    }
    t0 = now_s();
    do {
        for (int i = 0; i < N; i++) {
            double m = 0.0;
            if (wb_geodesic_distance(&m, p[i][0], p[i][1], p[i][2], p[i][3]) == 0)
                sink += m;
        }
        calls += N;
        t = now_s() - t0;
    } while (t < 1.0);
    printf("  %-28s %10.0f /s  (%.3f us each)%s\n", label, (double)calls / t, t / (double)calls * 1e6,
           sink < 0 ? "!" : "");
}

int main(int argc, char **argv)
{
    unsigned n = 100000, queries = 2000, scans = 40, k = 10;
    char path[256];
    wb_store *store = NULL;
    int rc;

    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--households") == 0 && v)
            n = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--queries") == 0 && v)
            queries = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--scans") == 0 && v)
            scans = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "-k") == 0 && v)
            k = (unsigned)strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: walkbook-walk-bench [--households N] [--queries Q] [--scans S] "
                            "[-k K]\n");
            return 2;
        }
    }
    if (n < 10 || queries < 1 || k < 1 || k > 1000) {
        fprintf(stderr, "walkbook-walk-bench: need N >= 10, Q >= 1, 1 <= K <= 1000\n");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/walkbook-walk-bench-%ld.db",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
    printf("walkbook %s, SQLite store %s, %u households on one walk list\n", wb_version(), path, n);
    if ((rc = build(&store, path, n)) != 0)
        return rc;
    rc = bench_next(store, queries, scans, k);
    printf("geodesic distance (wb_geodesic_distance, Karney):\n");
    bench_distance("door-knocking pairs 0-2 km", 1);
    bench_distance("worldwide pairs", 0);
    wb_store_free(store);
    unlink(path);
    {
        char side[300];
        snprintf(side, sizeof(side), "%s-wal", path);
        unlink(side);
        snprintf(side, sizeof(side), "%s-shm", path);
        unlink(side);
    }
    return rc;
}
