/*
 * crypt_bench.c - walkbook-crypt-bench: what encryption at rest costs.
 *
 *   walkbook-crypt-bench [--n N] [--read-n N] [--rekey-n N] [--runs R]
 *                        [--mmap MIB] [--quick] [--only PHASE]
 *
 * In one process, on the same generated bodies (the Polis v2 create
 * example), a plain store and an encrypted one take turns chunk by chunk, so
 * that machine noise hits both alike:
 *  1. record: one wb_interaction_record per body (one transaction each),
 *     durability NORMAL and FULL;
 *  2. batch: wb_interaction_record_batch, 1000 bodies per call;
 *  3. query: one campaign's records in time order (wb_interaction_query +
 *     wb_iter_next over every envelope), median of R runs;
 *  4. rekey: wb_store_rekey of an encrypted store of --rekey-n records.
 * Prints each phase's rate for both sides and the encrypted/plain time
 * ratio (target: at most 1.15). Beside the query it times the cipher alone:
 * one XChaCha20-Poly1305 open of a record's size per record read, which
 * bounds from below what an encrypted read that opens every record costs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "bench.h"
#include "walkbook.h"

#ifndef WB_BENCH_SEED
#define WB_BENCH_SEED "interaction-v3-create-request.json"
#endif

#define CUSTOMER_ID "5b0a3c8e-2f1d-4c6b-9a7e-1d2c3b4a5f60"
#define USER_ID "8e7d6c5b-4a39-4281-b7c6-d5e4f3a2b1c0"
#define GROUP_ID "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"
#define CHUNK 1000
#define CAMPAIGNS 10u
#define TARGET 1.15

static const unsigned char bench_key[WB_KEY_BYTES] = "walkbook-crypt-bench-key-0123456";

/* bench_now lives in bench.c beside walkbook-bench's main; this program
 * links only bodies.c. */
static double clock_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
    const wb_error *e = wb_error_last();
    fprintf(stderr, "walkbook-crypt-bench: %s: %d %s\n", what, rc, e ? e->message : "");
    exit(1);
}

static int mmap_mib = -1; /* --mmap; -1: the library's default */

static wb_store *open_store(const char *path, int encrypted, int durability)
{
    wb_store *s = NULL;
    wb_store_options o = WB_STORE_OPTIONS_INIT;
    if (mmap_mib >= 0)
        o.mmap_mib = mmap_mib;
    const char *groups[] = {GROUP_ID};
    int rc;
    o.durability = durability;
    if (encrypted)
        o.key = bench_key;
    else
        o.encryption = WB_ENCRYPTION_NONE;
    if ((rc = wb_store_open(&s, path, &o)) < 0)
        die("open", rc);
    if ((rc = wb_store_set_identity(s, CUSTOMER_ID, USER_ID, groups, 1)) < 0)
        die("identity", rc);
    return s;
}

static void remove_store(const char *path)
{
    char p[2200];
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

static void report(const char *phase, size_t n, double t_plain, double t_enc, const char *unit)
{
    double ratio = t_enc / t_plain;
    printf("| %s | %.0f %s | %.0f %s | %.3f | %s |\n", phase, (double)n / t_plain, unit,
           (double)n / t_enc, unit, ratio, ratio <= TARGET ? "met" : "not met");
}

/* Phase 1 and 2: record n bodies into both stores, alternating per chunk. */
static void record_phase(const char *dir, bench_bodies *g, size_t n, int durability, int batch)
{
    char p_plain[1024], p_enc[1024];
    double t[2] = {0, 0};
    wb_store *s[2];
    snprintf(p_plain, sizeof(p_plain), "%s/plain-%d-%d.db", dir, durability, batch);
    snprintf(p_enc, sizeof(p_enc), "%s/enc-%d-%d.db", dir, durability, batch);
    s[0] = open_store(p_plain, 0, durability);
    s[1] = open_store(p_enc, 1, durability);
    for (size_t first = 0; first < n; first += CHUNK) {
        size_t count = n - first < CHUNK ? n - first : CHUNK;
        bench_bodies_fill(g, first, count, CAMPAIGNS);
        /* Alternate which side goes first, too. */
        for (int k = 0; k < 2; k++) {
            int side = (int)((first / CHUNK + (size_t)k) % 2);
            double t0 = clock_s();
            if (batch) {
                int rc = wb_interaction_record_batch(NULL, s[side], g->ptrs, count);
                if (rc < 0)
                    die("batch", rc);
            } else {
                for (size_t i = 0; i < count; i++) {
                    int rc = wb_interaction_record(NULL, s[side], g->ptrs[i]);
                    if (rc < 0)
                        die("record", rc);
                }
            }
            t[side] += clock_s() - t0;
        }
    }
    wb_store_free(s[0]);
    wb_store_free(s[1]);
    remove_store(p_plain);
    remove_store(p_enc);
    {
        char phase[96];
        snprintf(phase, sizeof(phase), "%s, %s", batch ? "batch import, 1000 per call"
                                                       : "record, one transaction each",
                 durability == WB_DURABILITY_FULL ? "durability FULL" : "durability NORMAL");
        report(phase, n, t[0], t[1], "rec/s");
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double read_campaign(wb_store *s, const char *campaign, size_t *rows)
{
    wb_query q = WB_QUERY_INIT;
    wb_iter *it = NULL;
    const char *env;
    size_t n = 0, bytes = 0;
    double t0 = clock_s();
    int rc;
    q.campaign_id = campaign;
    if ((rc = wb_interaction_query(&it, s, &q)) < 0)
        die("query", rc);
    while ((rc = wb_iter_next(&env, it)) == 0) {
        n++;
        bytes += strlen(env);
    }
    if (rc != WB_ITEROVER)
        die("iter", rc);
    wb_iter_free(it);
    *rows = n;
    return bytes ? clock_s() - t0 : 0;
}

/* The time of `count` XChaCha20-Poly1305 opens of `len` bytes with a
 * 19-byte associated data, as the store opens a record's data: the cipher
 * alone, without SQLite, JSON or copies. */
static double open_alone(size_t len, size_t count)
{
    unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
    static const unsigned char ad[] = "interactions/data/1";
    unsigned char *plain = malloc(len + 1), *sealed = malloc(len + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    unsigned long long sealed_len = 0, plain_len = 0;
    double t0, t = 0;
    if (!plain || !sealed)
        die("cipher alone: out of memory", -1);
    randombytes_buf(key, sizeof(key));
    randombytes_buf(nonce, sizeof(nonce));
    randombytes_buf(plain, len);
    crypto_aead_xchacha20poly1305_ietf_encrypt(sealed, &sealed_len, plain, len, ad, sizeof(ad) - 1,
                                               NULL, nonce, key);
    t0 = clock_s();
    for (size_t i = 0; i < count; i++)
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plain_len, NULL, sealed, sealed_len,
                                                       ad, sizeof(ad) - 1, nonce, key) != 0)
            die("cipher alone: open failed", -1);
    t = clock_s() - t0;
    free(plain);
    free(sealed);
    return t;
}

/* As open_alone with libsodium's AES-256-GCM (only where the CPU has
 * AES-NI): what another AEAD would cost. 0 when it is not available. */
static double open_aes_alone(size_t len, size_t count)
{
    unsigned char key[crypto_aead_aes256gcm_KEYBYTES];
    unsigned char nonce[crypto_aead_aes256gcm_NPUBBYTES];
    static const unsigned char ad[] = "interactions/data/1";
    crypto_aead_aes256gcm_state st;
    unsigned char *plain, *sealed;
    unsigned long long sealed_len = 0, plain_len = 0;
    double t0, t = 0;
    if (!crypto_aead_aes256gcm_is_available())
        return 0;
    plain = malloc(len + 1);
    sealed = malloc(len + crypto_aead_aes256gcm_ABYTES);
    if (!plain || !sealed)
        die("aes alone: out of memory", -1);
    randombytes_buf(key, sizeof(key));
    randombytes_buf(nonce, sizeof(nonce));
    randombytes_buf(plain, len);
    crypto_aead_aes256gcm_beforenm(&st, key);
    crypto_aead_aes256gcm_encrypt_afternm(sealed, &sealed_len, plain, len, ad, sizeof(ad) - 1,
                                          NULL, nonce, &st);
    t0 = clock_s();
    for (size_t i = 0; i < count; i++)
        if (crypto_aead_aes256gcm_decrypt_afternm(plain, &plain_len, NULL, sealed, sealed_len, ad,
                                                  sizeof(ad) - 1, nonce, &st) != 0)
            die("aes alone: open failed", -1);
    t = clock_s() - t0;
    sodium_memzero(&st, sizeof(st));
    free(plain);
    free(sealed);
    return t;
}

/* The size of a body's data as the store keeps it (compact JSON). */
static size_t stored_data_len(const bench_bodies *g)
{
    cJSON *body = cJSON_Parse(g->seed), *data = cJSON_GetObjectItemCaseSensitive(body, "data");
    char *text = cJSON_PrintUnformatted(data ? data : body);
    size_t len = text ? strlen(text) : g->seed_len;
    cJSON_free(text);
    cJSON_Delete(body);
    return len;
}

static void query_phase(const char *dir, bench_bodies *g, size_t n, int runs)
{
    size_t data_len = stored_data_len(g);
    char path[2][1024], campaign[40];
    wb_store *s[2];
    double times[2][64], cipher[64], fixed[64], aes[64];
    size_t rows = 0;
    for (int side = 0; side < 2; side++) {
        snprintf(path[side], sizeof(path[side]), "%s/query-%d.db", dir, side);
        s[side] = open_store(path[side], side, WB_DURABILITY_NORMAL);
        for (size_t first = 0; first < n; first += CHUNK) {
            size_t count = n - first < CHUNK ? n - first : CHUNK;
            int rc;
            bench_bodies_fill(g, first, count, CAMPAIGNS);
            if ((rc = wb_interaction_record_batch(NULL, s[side], g->ptrs, count)) < 0)
                die("batch", rc);
        }
    }
    /* Close and reopen: the last close checkpoints the WAL into the file,
     * so both sides read their pages from the (mapped) file, not some from
     * the WAL. */
    for (int side = 0; side < 2; side++) {
        wb_store_free(s[side]);
        s[side] = open_store(path[side], side, WB_DURABILITY_NORMAL);
    }
    bench_campaign_id(campaign, 3);
    for (int side = 0; side < 2; side++) /* warm the page cache */
        read_campaign(s[side], campaign, &rows);
    for (int r = 0; r < runs; r++)
        for (int k = 0; k < 2; k++) {
            int side = (r + k) % 2;
            times[side][r] = read_campaign(s[side], campaign, &rows);
        }
    for (int r = 0; r < runs; r++) {
        cipher[r] = open_alone(data_len, rows);
        fixed[r] = open_alone(0, rows);
        aes[r] = open_aes_alone(data_len, rows);
    }
    qsort(times[0], (size_t)runs, sizeof(double), cmp_double);
    qsort(times[1], (size_t)runs, sizeof(double), cmp_double);
    {
        double tp = times[0][runs / 2], te = times[1][runs / 2];
        printf("| query: one campaign's %zu records of %zu, time order (median of %d) | %.1f ms |"
               " %.1f ms | %.3f | %s |\n",
               rows, n, runs, tp * 1000, te * 1000, te / tp, te / tp <= TARGET ? "met" : "not met");
        qsort(cipher, (size_t)runs, sizeof(double), cmp_double);
        printf("| the cipher alone: %zu XChaCha20-Poly1305 opens of %zu bytes (median of %d) | |"
               " %.1f ms | lowest reachable: %.3f | %s |\n",
               rows, data_len, runs, cipher[runs / 2] * 1000, (tp + cipher[runs / 2]) / tp,
               (tp + cipher[runs / 2]) / tp <= TARGET ? "within target" : "above target");
        /* What an open costs whatever the record's size (HChaCha20, the
         * Poly1305 key block, the tag): no smaller record, compression or
         * projection of fields can go below it while each record read is
         * opened. */
        qsort(fixed, (size_t)runs, sizeof(double), cmp_double);
        printf("| the cipher's fixed cost: %zu opens of 0 bytes (median of %d) | |"
               " %.1f ms | lowest reachable: %.3f | %s |\n",
               rows, runs, fixed[runs / 2] * 1000, (tp + fixed[runs / 2]) / tp,
               (tp + fixed[runs / 2]) / tp <= TARGET ? "within target" : "above target");
        qsort(aes, (size_t)runs, sizeof(double), cmp_double);
        if (aes[runs / 2] > 0)
            printf("| for comparison, AES-256-GCM (AES-NI): %zu opens of %zu bytes (median of %d)"
                   " | | %.1f ms | lowest reachable: %.3f | %s |\n",
                   rows, data_len, runs, aes[runs / 2] * 1000, (tp + aes[runs / 2]) / tp,
                   (tp + aes[runs / 2]) / tp <= TARGET ? "within target" : "above target");
    }
    for (int side = 0; side < 2; side++) {
        wb_store_free(s[side]);
        remove_store(path[side]);
    }
}

static void rekey_phase(const char *dir, bench_bodies *g, size_t n)
{
    char path[1024];
    wb_store *s;
    wb_store_options nk = WB_STORE_OPTIONS_INIT;
    static const unsigned char new_key[WB_KEY_BYTES] = "another-walkbook-bench-key-98765";
    double t0;
    int rc;
    snprintf(path, sizeof(path), "%s/rekey.db", dir);
    s = open_store(path, 1, WB_DURABILITY_FULL);
    for (size_t first = 0; first < n; first += CHUNK) {
        size_t count = n - first < CHUNK ? n - first : CHUNK;
        bench_bodies_fill(g, first, count, CAMPAIGNS);
        if ((rc = wb_interaction_record_batch(NULL, s, g->ptrs, count)) < 0)
            die("batch", rc);
    }
    nk.key = new_key;
    t0 = clock_s();
    if ((rc = wb_store_rekey(s, &nk)) < 0)
        die("rekey", rc);
    printf("\nrekey of %zu interactions (one transaction, durability FULL): %.2f s (%.0f rec/s)\n",
           n, clock_s() - t0, (double)n / (clock_s() - t0));
    wb_store_free(s);
    remove_store(path);
}

int main(int argc, char **argv)
{
    size_t n = 10000, rekey_n = 100000, read_n = 100000;
    int runs = 5;
    const char *only = NULL; /* --only record|batch|query|rekey */
    const char *seed = WB_BENCH_SEED;
    char dir[] = "/tmp/walkbook-crypt-bench.XXXXXX";
    bench_bodies g;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--n") == 0 && i + 1 < argc)
            n = (size_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--rekey-n") == 0 && i + 1 < argc)
            rekey_n = (size_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--mmap") == 0 && i + 1 < argc)
            mmap_mib = atoi(argv[++i]);
        else if (strcmp(argv[i], "--read-n") == 0 && i + 1 < argc)
            read_n = (size_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--quick") == 0) {
            n = 1000;
            rekey_n = 5000;
            read_n = 10000;
            runs = 3;
        } else {
            fprintf(stderr, "usage: walkbook-crypt-bench [--n N] [--read-n N] [--rekey-n N] "
                            "[--runs R] [--mmap MIB] [--quick]\n"
                            "       [--only record|batch|query|rekey]   one phase, for a profiler\n");
            return 1;
        }
    }
    if (runs < 1 || runs > 64 || n == 0) {
        fprintf(stderr, "walkbook-crypt-bench: --runs 1..64, --n > 0\n");
        return 1;
    }
    if (!mkdtemp(dir) || bench_bodies_init(&g, seed, CHUNK) < 0)
        return 1;
    printf("walkbook-crypt-bench: %s, N = %zu, bodies of %zu bytes, mmap %d MiB\n\n",
           wb_version(), n, g.seed_len, mmap_mib < 0 ? 256 : mmap_mib);
    printf("| phase | plain | encrypted | ratio (time) | target <= %.2f |\n|---|---|---|---|---|\n",
           TARGET);
#define PHASE(name) (!only || strcmp(only, name) == 0)
    if (PHASE("record")) {
        record_phase(dir, &g, n, WB_DURABILITY_NORMAL, 0);
        record_phase(dir, &g, n, WB_DURABILITY_FULL, 0);
    }
    if (PHASE("batch"))
        record_phase(dir, &g, n * 4, WB_DURABILITY_FULL, 1);
    if (PHASE("query"))
        query_phase(dir, &g, read_n, runs);
    if (PHASE("rekey"))
        rekey_phase(dir, &g, rekey_n);
#undef PHASE
    bench_bodies_free(&g);
    rmdir(dir);
    return 0;
}
