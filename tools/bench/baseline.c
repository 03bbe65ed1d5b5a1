/*
 * baseline.c - the raw-SQLite side of the benchmark.
 *
 * It does what a careful application would do without walkbook: the same
 * table and indexes as schema/001_init.sql + 002_campaign_time.sql, the
 * same JSON work per record (cJSON_ParseWithLength of the body,
 * cJSON_PrintUnformatted of the data), a random v4-shaped id, a timestamp,
 * one prepared INSERT reused, WAL and the same synchronous setting. It skips
 * what walkbook adds on purpose: strict parsing, validation, identity
 * checks, error reporting, change tracking.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "bench.h"
#include "schema.h"

struct bench_baseline {
    sqlite3 *db;
    sqlite3_stmt *insert;
    uint64_t rng;
};

/* The naive baseline's table: a plain rowid table and an index on the
 * campaign, as a first attempt would have it. (The "same shape" baseline runs walkbook's own migrations, see
 * create_tables, so it cannot drift from the real schema.) */
static const char table_sql[] =
    "CREATE TABLE interactions ("
    " rowid INTEGER PRIMARY KEY,"
    " local_id TEXT NOT NULL UNIQUE,"
    " server_id TEXT UNIQUE,"
    " campaign_id TEXT NOT NULL,"
    " contact_id TEXT NOT NULL,"
    " household_id TEXT,"
    " walklist_id TEXT,"
    " ts TEXT NOT NULL,"
    " data TEXT NOT NULL,"
    " base TEXT,"
    " base_etag TEXT,"
    " etag TEXT NOT NULL DEFAULT '',"
    " created TEXT NOT NULL,"
    " created_by TEXT NOT NULL,"
    " modified TEXT NOT NULL,"
    " modified_by TEXT NOT NULL,"
    " customer_id TEXT NOT NULL,"
    " security_group_id TEXT,"
    " deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),"
    " deleted_at INTEGER,"
    " state INTEGER NOT NULL CHECK (state IN (1, 2, 4, 8, 16, 32)),"
    " version INTEGER NOT NULL DEFAULT 1,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt INTEGER,"
    " last_error TEXT"
    ") STRICT;"
    /* What a first attempt would have: find a campaign's rows, sort them. */
    "CREATE INDEX interactions_campaign ON interactions (campaign_id);";

static const char insert_sql[] =
    "INSERT INTO interactions (local_id, campaign_id, contact_id, household_id, walklist_id,"
    " ts, data, created, created_by, modified, modified_by, customer_id, security_group_id,"
    " state, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?8, ?9, ?10, ?11, 2, 1)";

static const char read_sql[] =
    "SELECT local_id, data, etag, created, modified, created_by, modified_by, deleted,"
    " customer_id, security_group_id FROM interactions"
    " WHERE campaign_id = ?1 AND deleted = 0 ORDER BY ts, local_id";

#define CUSTOMER_ID "5b0a3c8e-2f1d-4c6b-9a7e-1d2c3b4a5f60"
#define USER_ID "8e7d6c5b-4a39-4281-b7c6-d5e4f3a2b1c0"
#define GROUP_ID "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"

static int fail(bench_baseline *bl, const char *what)
{
    fprintf(stderr, "walkbook-bench: baseline %s: %s\n", what,
            bl && bl->db ? sqlite3_errmsg(bl->db) : "out of memory");
    return -1;
}

static int exec(bench_baseline *bl, const char *sql)
{
    if (sqlite3_exec(bl->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return fail(bl, sql);
    return 0;
}

static int create_tables(bench_baseline *bl, int indexes)
{
    if (indexes == BENCH_BASELINE_NAIVE)
        return exec(bl, table_sql);
    /* The same page size walkbook gives a new store (store.c). The journal
     * mode is already WAL here, where SQLite ignores a new page size, so it
     * is applied with a VACUUM of the still-empty file. */
    if (exec(bl, "PRAGMA journal_mode = DELETE; PRAGMA page_size = 16384; VACUUM;"
                 " PRAGMA journal_mode = WAL") < 0)
        return -1;
    for (size_t i = 0; i < wb_schema__migration_count; i++)
        if (exec(bl, wb_schema__migrations[i].sql) < 0)
            return -1;
    return 0;
}

int bench_baseline_open(bench_baseline **out, const char *path, int synchronous_full,
                        int indexes)
{
    bench_baseline *bl;
    int rc;

    *out = NULL;
    if (!(bl = calloc(1, sizeof(*bl))))
        return fail(NULL, "open");
    bl->rng = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL | 1;
    rc = sqlite3_open_v2(path, &bl->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    if (exec(bl, "PRAGMA journal_mode = WAL") < 0 ||
        exec(bl, synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL") <
            0)
        goto cleanup;
    /* An existing file (reopened for reading) already has its table. */
    if (sqlite3_exec(bl->db, "SELECT 1 FROM interactions LIMIT 0", NULL, NULL, NULL) != SQLITE_OK &&
        create_tables(bl, indexes) < 0)
        goto cleanup;
    rc = sqlite3_prepare_v3(bl->db, insert_sql, -1, SQLITE_PREPARE_PERSISTENT, &bl->insert, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    *out = bl;
    return 0;
fail:
    fail(bl, "open");
cleanup:
    bench_baseline_free(bl);
    return -1;
}

void bench_baseline_free(bench_baseline *bl)
{
    if (!bl)
        return;
    sqlite3_finalize(bl->insert);
    sqlite3_close_v2(bl->db);
    free(bl);
}

const char *bench_baseline_errmsg(const bench_baseline *bl)
{
    return bl && bl->db ? sqlite3_errmsg(bl->db) : "out of memory";
}

/* A v4-shaped id from a cheap generator: the baseline's stand-in for a
 * real UUID source. */
static void make_id(bench_baseline *bl, char *buf)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    size_t o = 0;
    for (size_t i = 0; i < sizeof(b); i += 8) {
        uint64_t x;
        bl->rng ^= bl->rng << 13; /* xorshift64 */
        bl->rng ^= bl->rng >> 7;
        bl->rng ^= bl->rng << 17;
        x = bl->rng;
        for (size_t j = 0; j < 8; j++)
            b[i + j] = (unsigned char)(x >> (8 * j));
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    for (size_t i = 0; i < sizeof(b); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            buf[o++] = '-';
        buf[o++] = hex[b[i] >> 4];
        buf[o++] = hex[b[i] & 0x0f];
    }
    buf[o] = '\0';
}

/* The wall clock in the Polis format. buf: 25 bytes. */
static void make_timestamp(char *buf)
{
    struct timespec now;
    struct tm tm;
    time_t secs;
    char tmp[96];
    clock_gettime(CLOCK_REALTIME, &now);
    secs = now.tv_sec;
    gmtime_r(&secs, &tm);
    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(now.tv_nsec / 1000000));
    memcpy(buf, tmp, 25); /* the year stays within 4 digits */
}

static const char *member(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

int bench_baseline_insert(bench_baseline *bl, const char *body)
{
    cJSON *root;
    char *data;
    char id[37], now[25];
    sqlite3_stmt *st = bl->insert;
    int rc;

    if (!(root = cJSON_ParseWithLength(body, strlen(body)))) {
        fprintf(stderr, "walkbook-bench: baseline: body is not JSON\n");
        return -1;
    }
    if (!(data = cJSON_PrintUnformatted(root))) {
        cJSON_Delete(root);
        return fail(NULL, "print");
    }
    make_id(bl, id);
    make_timestamp(now);
    sqlite3_bind_text(st, 1, id, 36, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, member(root, "campaignId"), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, member(root, "contactId"), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, member(root, "householdId"), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, member(root, "walklistId"), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, member(root, "timestamp"), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, data, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, now, 24, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, USER_ID, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, CUSTOMER_ID, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, GROUP_ID, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    cJSON_free(data);
    cJSON_Delete(root);
    if (rc != SQLITE_DONE)
        return fail(bl, "insert");
    return 0;
}

int bench_baseline_batch(bench_baseline *bl, const char *const *bodies, size_t n)
{
    if (exec(bl, "BEGIN IMMEDIATE") < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (bench_baseline_insert(bl, bodies[i]) < 0) {
            sqlite3_exec(bl->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    return exec(bl, "COMMIT");
}

int bench_baseline_read(size_t *out_rows, size_t *out_bytes, bench_baseline *bl,
                        const char *campaign_id)
{
    sqlite3_stmt *st = NULL;
    size_t rows = 0, bytes = 0;
    int rc;

    /* Prepared per read, as walkbook prepares per query. */
    if (sqlite3_prepare_v2(bl->db, read_sql, -1, &st, NULL) != SQLITE_OK)
        return fail(bl, "read");
    sqlite3_bind_text(st, 1, campaign_id, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < 10; c++) {
            if (c == 7) {
                bytes += (size_t)sqlite3_column_int(st, c);
                continue;
            }
            if (sqlite3_column_text(st, c))
                bytes += (size_t)sqlite3_column_bytes(st, c);
        }
        rows++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return fail(bl, "read");
    *out_rows = rows;
    *out_bytes = bytes;
    return 0;
}
