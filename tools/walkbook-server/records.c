/*
 * records.c - SQLite storage and the modified clock (see records.h).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "common.h"
#include "records.h"
#include "timeutil.h"

/* Prepared statements kept for reuse: enough for every fixed statement of
 * every table plus the list shapes in common use. Beyond it (or when the
 * cached one is in use by an outer caller, as when a list view reads other
 * records while a scan steps) a statement is prepared for one use. */
#define WBS_RECORDS_CACHE 128

/* An in-memory database commits writes in batches of this many. SQLite's
 * :memory: pager spends time in proportion to the whole database on every
 * commit (a 16 000-record store: ~50 us per write), and a commit there
 * makes nothing durable that would otherwise be lost; the one connection
 * reads its own uncommitted writes. Files commit every write.
 *
 * An in-memory database also has no rollback journal (journal_mode OFF):
 * SQLite's in-memory journal copies every page a transaction first
 * touches in 1 KiB chunks, one allocation each, which cost a create ~35 us
 * (three b-trees with 16 KiB pages). What the journal bought: undoing a
 * statement that failed half-way, which for these writes (INSERT OR
 * REPLACE with every NOT NULL column bound) means running out of memory.
 * After a failed write such a store refuses every later request (storage
 * error) rather than serve a half-applied write. */
#define WBS_RECORDS_MEMORY_BATCH 256

typedef struct wbs_records_slot {
    uint32_t hash;
    char *sql;
    sqlite3_stmt *st;
    int busy;
} wbs_records_slot;

/* Statements found again without printing and hashing their text: the
 * fixed ones of wbs_records__prepare by the addresses of their head and
 * tail (string literals of this file), list queries by their shape
 * (wbs_records_select); both with the resource's name. */
#define WBS_RECORDS_KNOWN 64
typedef struct wbs_records_known {
    const char *head, *tail;
    unsigned shape;
    char resource[64];
    wbs_records_slot *slot;
} wbs_records_known;

struct wbs_records {
    sqlite3 *db;
    pthread_mutex_t lock;
    int64_t last_ms;
    wbs_records_slot cache[WBS_RECORDS_CACHE];
    size_t n_cache;
    wbs_records_known known[WBS_RECORDS_KNOWN];
    size_t n_known;
    int memory;     /* an in-memory database: batched commits, no journal */
    int broken;     /* a write failed on it: refuse everything */
    int in_batch;   /* a batch transaction is open */
    unsigned batch; /* writes in it */
};

/* A statement in use: the slot it came from, or none (finalize after). */
typedef struct wbs_records_use {
    sqlite3_stmt *st;
    wbs_records_slot *slot;
} wbs_records_use;

/* The derived columns (records.h), computed by SQLite from the envelope
 * text bound as ?3 on write, or from the envelope column on migration.
 * The CASEs keep json_type away from text that is not JSON, which would
 * be an SQL error. */
#define WBS_COL_CAMPAIGN(x)                                                                   \
    "CASE WHEN json_valid(" x ") THEN CASE WHEN json_type(" x ",'$.data.campaignId')='text' " \
    "THEN json_extract(" x ",'$.data.campaignId') END END"
#define WBS_COL_MODIFIED(x)                                                                \
    "CASE WHEN json_valid(" x ") THEN CASE WHEN json_type(" x ",'$.meta.modified')='text' " \
    "THEN json_extract(" x ",'$.meta.modified') END END"
#define WBS_COL_STATE(x)                                                                     \
    "CASE WHEN NOT json_valid(" x ") THEN 2 WHEN json_type(" x ",'$.meta.isDeleted')='true' " \
    "THEN 1 WHEN json_type(" x ",'$.meta.isDeleted')='false' THEN 0 ELSE 3 END"

/* Table name of a resource: "r_" + name with '-' as '_'. Resource names
 * are constants of the server, checked here all the same. */
static int wbs_records__table(char out[64], const char *resource)
{
    size_t n = strlen(resource);
    if (n == 0 || n > 60)
        return -1;
    memcpy(out, "r_", 2);
    for (size_t i = 0; i < n; i++) {
        char c = resource[i];
        if (c == '-')
            c = '_';
        else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return -1;
        out[2 + i] = c;
    }
    out[2 + n] = '\0';
    return 0;
}

int wbs_records_open(wbs_records **out, const char *path, char *err, size_t errlen)
{
    wbs_records *r = wb__calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (sqlite3_open_v2(path, &r->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "--db: %s", r->db ? sqlite3_errmsg(r->db) : "cannot open");
        sqlite3_close(r->db);
        wb__free(r);
        return -1;
    }
    r->memory = strcmp(path, ":memory:") == 0 || *path == '\0';
    sqlite3_busy_timeout(r->db, 5000);
    /* The server is the file's only user; WAL keeps commits cheap. (In
     * memory: no journal, see WBS_RECORDS_MEMORY_BATCH.) */
    /* A new database gets 16 KiB pages: the list indexes carry whole
     * envelopes (wbs_records__migrate), and an index entry longer than
     * about a quarter of a page spills to overflow pages (~1 000 bytes
     * with 4 KiB pages). No effect on an existing file. */
    sqlite3_exec(r->db,
                 r->memory ? "PRAGMA page_size=16384; PRAGMA journal_mode=OFF;"
                           : "PRAGMA page_size=16384; PRAGMA journal_mode=WAL;"
                             " PRAGMA synchronous=NORMAL;",
                 NULL, NULL, NULL);
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return 0;
}

/* Commit the open batch, if any. 0 or -1. */
static int wbs_records__flush(wbs_records *r)
{
    if (!r->in_batch)
        return 0;
    r->in_batch = 0;
    r->batch = 0;
    if (sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    r->broken = 1;
    return -1;
}

void wbs_records_close(wbs_records *r)
{
    if (!r)
        return;
    wbs_records__flush(r);
    for (size_t i = 0; i < r->n_cache; i++) {
        sqlite3_finalize(r->cache[i].st);
        wb__free(r->cache[i].sql);
    }
    sqlite3_close(r->db);
    pthread_mutex_destroy(&r->lock);
    wb__free(r);
}

void wbs_records_lock(wbs_records *r)
{
    pthread_mutex_lock(&r->lock);
}

void wbs_records_unlock(wbs_records *r)
{
    pthread_mutex_unlock(&r->lock);
}

static uint32_t wbs_records__hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The statement for sql: the cached one when it is free, else a new one
 * (cached when there is room). 0 or -1. */
static int wbs_records__get_stmt(wbs_records_use *u, wbs_records *r, const char *sql)
{
    uint32_t h = wbs_records__hash(sql);
    wbs_records_slot *free_slot = NULL;
    int reentered = 0;

    u->st = NULL;
    u->slot = NULL;
    if (r->broken)
        return -1;
    for (size_t i = 0; i < r->n_cache; i++) {
        wbs_records_slot *s = &r->cache[i];
        if (s->hash == h && strcmp(s->sql, sql) == 0) {
            if (s->busy) {
                reentered = 1; /* prepare one for this use only */
                break;
            }
            s->busy = 1;
            u->st = s->st;
            u->slot = s;
            return 0;
        }
    }
    if (sqlite3_prepare_v2(r->db, sql, -1, &u->st, NULL) != SQLITE_OK) {
        sqlite3_finalize(u->st);
        u->st = NULL;
        return -1;
    }
    if (!reentered && r->n_cache < WBS_RECORDS_CACHE) {
        free_slot = &r->cache[r->n_cache];
        free_slot->sql = wb__strdup(sql);
        if (free_slot->sql) {
            free_slot->hash = h;
            free_slot->st = u->st;
            free_slot->busy = 1;
            u->slot = free_slot;
            r->n_cache++;
        }
    }
    return 0;
}

/* Done with a statement: reset (so no read transaction stays open) and
 * keep it, or finalize it when it was for one use. */
static void wbs_records__put_stmt(wbs_records_use *u)
{
    if (!u->st)
        return;
    if (u->slot) {
        sqlite3_reset(u->st);
        sqlite3_clear_bindings(u->st);
        u->slot->busy = 0;
    } else {
        sqlite3_finalize(u->st);
    }
    u->st = NULL;
    u->slot = NULL;
}

/* The cached statement known by (head, tail, shape, resource), when it is
 * free: 0 with u set, else -1. */
static int wbs_records__known_find(wbs_records_use *u, wbs_records *r, const char *head,
                                   const char *tail, unsigned shape, const char *resource)
{
    for (size_t i = 0; i < r->n_known && !r->broken; i++) {
        wbs_records_known *k = &r->known[i];
        if (k->head == head && k->tail == tail && k->shape == shape && !k->slot->busy &&
            strcmp(k->resource, resource) == 0) {
            k->slot->busy = 1;
            u->st = k->slot->st;
            u->slot = k->slot;
            return 0;
        }
    }
    return -1;
}

/* Remember the statement u holds under that key, when it is a cached one
 * (resource: checked by wbs_records__table, under 61 bytes). */
static void wbs_records__known_add(const wbs_records_use *u, wbs_records *r, const char *head,
                                   const char *tail, unsigned shape, const char *resource)
{
    wbs_records_known *k;
    if (!u->slot || r->n_known == WBS_RECORDS_KNOWN)
        return;
    k = &r->known[r->n_known++];
    k->head = head;
    k->tail = tail;
    k->shape = shape;
    memcpy(k->resource, resource, strlen(resource) + 1);
    k->slot = u->slot;
}

/* The statement head + table of resource + tail. 0 or -1. */
static int wbs_records__prepare(wbs_records_use *u, wbs_records *r, const char *head,
                                const char *resource, const char *tail)
{
    char table[64], sql[1024];

    if (wbs_records__known_find(u, r, head, tail, 0, resource) == 0)
        return 0;
    if (wbs_records__table(table, resource) < 0)
        return -1;
    snprintf(sql, sizeof(sql), "%s%s%s", head, table, tail);
    if (wbs_records__get_stmt(u, r, sql) < 0)
        return -1;
    wbs_records__known_add(u, r, head, tail, 0, resource);
    return 0;
}

/* Does the table have the derived columns? 1, 0, or -1. */
static int wbs_records__has_columns(wbs_records *r, const char *table)
{
    char sql[128];
    sqlite3_stmt *st = NULL;
    int found = 0, rc;

    snprintf(sql, sizeof(sql), "PRAGMA table_info(%s)", table);
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return -1;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *name = sqlite3_column_text(st, 1);
        if (name && strcmp((const char *)name, "x_state") == 0)
            found = 1;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? found : -1;
}

/* The table as this server makes it: clustered on (customer, id), so a
 * get is one search, a customer's records by id are one range, and a
 * write updates three b-trees (the table and the two list indexes, which
 * carry their own copy of the envelope: wbs_records__migrate). */
#define WBS_RECORDS_COLUMNS                                                          \
    "(customer TEXT NOT NULL, id TEXT NOT NULL, envelope TEXT NOT NULL,"            \
    " modified TEXT NOT NULL, x_campaign TEXT, x_modified TEXT,"                    \
    " x_state INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (customer, id)) WITHOUT ROWID"

/* Is the table in this server's layout: derived columns, clustered, and
 * the list indexes of wbs_records__migrate? 1, 0, or -1. */
static int wbs_records__current(wbs_records *r, const char *table)
{
    sqlite3_stmt *st = NULL;
    char index[96];
    int rc, has = wbs_records__has_columns(r, table);

    if (has <= 0)
        return has;
    snprintf(index, sizeof(index), "%s_l_modified", table);
    if (sqlite3_prepare_v2(r->db,
                           "SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                           " AND name = ?1 AND sql LIKE '%WITHOUT ROWID%') +"
                           " (SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?2)",
                           -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, index, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) == 2 : -1;
    sqlite3_finalize(st);
    return rc;
}

/* Bring a table up to WBS_RECORDS_COLUMNS: create it, or rebuild one that
 * an older server made (no derived columns; or a rowid table with list
 * indexes that lead to the row, and state 0 for every record not deleted)
 * with the columns filled from the stored text; then the indexes. One
 * transaction. 0 or -1.
 *
 * Two list indexes, each walked in its order (wbs_records_select): a
 * campaign's records by id, and records by meta.modified then id (the
 * incremental pull; a campaign's records in that order are found on it
 * too, by x_campaign in the entries). x_state follows the order keys, so
 * with and without deleted records use the same index. Both carry the
 * envelope: a page is read from the index alone, entry after entry,
 * instead of one search of the table per record (~2 800 SQLite
 * instructions and a few cache misses each). The price is the text stored
 * three times. */
static int wbs_records__migrate(wbs_records *r, const char *table)
{
    char sql[2048];
    int has;

    if (sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    snprintf(sql, sizeof(sql), "CREATE TABLE IF NOT EXISTS %s " WBS_RECORDS_COLUMNS, table);
    if (sqlite3_exec(r->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
        (has = wbs_records__current(r, table)) < 0)
        goto fail;
    if (!has) {
        snprintf(sql, sizeof(sql),
                 "DROP TABLE IF EXISTS x_migrate; CREATE TABLE x_migrate " WBS_RECORDS_COLUMNS ";"
                 "INSERT INTO x_migrate (customer, id, envelope, modified, x_campaign,"
                 " x_modified, x_state) SELECT customer, id, envelope, modified, "
                 WBS_COL_CAMPAIGN("envelope") ", " WBS_COL_MODIFIED("envelope") ", "
                 WBS_COL_STATE("envelope") " FROM %s;"
                 "DROP TABLE %s; ALTER TABLE x_migrate RENAME TO %s;",
                 table, table, table);
        if (sqlite3_exec(r->db, sql, NULL, NULL, NULL) != SQLITE_OK)
            goto fail;
    }
    snprintf(sql, sizeof(sql),
             "CREATE INDEX IF NOT EXISTS %s_l_campaign_id ON %s"
             " (customer, x_campaign, id, x_state, envelope);"
             "CREATE INDEX IF NOT EXISTS %s_l_modified ON %s"
             " (customer, x_modified, id, x_state, x_campaign, envelope);",
             table, table, table, table);
    if (sqlite3_exec(r->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    return 0;
fail:
    if (r->memory)
        r->broken = 1; /* no journal: ROLLBACK would be undefined */
    else
        sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

int wbs_records_ensure(wbs_records *r, const char *resource)
{
    char table[64], sql[512];
    sqlite3_stmt *st = NULL;
    int64_t ms;

    if (wbs_records__table(table, resource) < 0 || wbs_records__flush(r) < 0 ||
        wbs_records__migrate(r, table) < 0)
        return -1;
    snprintf(sql, sizeof(sql), "SELECT max(modified) FROM %s", table);
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return -1;
    }
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) &&
        wb_time__parse(&ms, (const char *)sqlite3_column_text(st, 0), NULL) == 0 &&
        ms > r->last_ms)
        r->last_ms = ms;
    sqlite3_finalize(st);
    return 0;
}

void wbs_records_next_modified(wbs_records *r, char out[25])
{
    int64_t now = wb_time__now_ms();
    if (now <= r->last_ms)
        now = r->last_ms + 1;
    r->last_ms = now;
    wb_time__format(out, now);
}

int wbs_records_get(char **out_text, wbs_records *r, const char *resource,
                    const char *customer, const char *id)
{
    wbs_records_use u;
    int rc, result = -1;

    if (wbs_records__prepare(&u, r, "SELECT envelope FROM ", resource,
                             " WHERE customer = ?1 AND id = ?2") < 0)
        return -1;
    sqlite3_bind_text(u.st, 1, customer, -1, SQLITE_STATIC);
    sqlite3_bind_text(u.st, 2, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(u.st);
    if (rc == SQLITE_ROW) {
        *out_text = wb__strdup((const char *)sqlite3_column_text(u.st, 0));
        result = *out_text ? 0 : -1;
    } else if (rc == SQLITE_DONE) {
        result = 1;
    }
    wbs_records__put_stmt(&u);
    return result;
}

/* Open the batch transaction of an in-memory database if none is open.
 * 0 or -1. */
static int wbs_records__batch_begin(wbs_records *r)
{
    if (!r->memory || r->in_batch)
        return 0;
    if (sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    r->in_batch = 1;
    return 0;
}

/* Step a bound INSERT, then count it in the batch. 0 or -1. */
static int wbs_records__write(wbs_records *r, wbs_records_use *u)
{
    int rc = sqlite3_step(u->st);
    wbs_records__put_stmt(u);
    if (rc != SQLITE_DONE && r->memory)
        r->broken = 1; /* nothing to roll it back with */
    if (r->in_batch && ++r->batch >= WBS_RECORDS_MEMORY_BATCH && wbs_records__flush(r) < 0)
        return -1;
    return rc == SQLITE_DONE ? 0 : -1;
}

int wbs_records_put(wbs_records *r, const char *resource, const char *customer,
                    const char *id, const char *text, const char *modified)
{
    wbs_records_use u;

    if (wbs_records__batch_begin(r) < 0 ||
        wbs_records__prepare(&u, r, "INSERT OR REPLACE INTO ", resource,
                             " (customer, id, envelope, modified, x_campaign, x_modified,"
                             " x_state) VALUES (?1, ?2, ?3, ?4, " WBS_COL_CAMPAIGN("?3") ", "
                             WBS_COL_MODIFIED("?3") ", " WBS_COL_STATE("?3") ")") < 0)
        return -1;
    sqlite3_bind_text(u.st, 1, customer, -1, SQLITE_STATIC);
    sqlite3_bind_text(u.st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(u.st, 3, text, -1, SQLITE_STATIC);
    sqlite3_bind_text(u.st, 4, modified, -1, SQLITE_STATIC);
    return wbs_records__write(r, &u);
}

int wbs_records_put_known(wbs_records *r, const char *resource, const char *customer,
                          const char *id, const char *text, const char *modified,
                          const char *campaign, int deleted)
{
    wbs_records_use u;

    if (wbs_records__batch_begin(r) < 0 ||
        wbs_records__prepare(&u, r, "INSERT OR REPLACE INTO ", resource,
                             " (customer, id, envelope, modified, x_campaign, x_modified,"
                             " x_state) VALUES (?1, ?2, ?3, ?4, ?5, ?4, ?6)") < 0)
        return -1;
    sqlite3_bind_text(u.st, 1, customer, -1, SQLITE_STATIC);
    sqlite3_bind_text(u.st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(u.st, 3, text, -1, SQLITE_STATIC);
    sqlite3_bind_text(u.st, 4, modified, -1, SQLITE_STATIC);
    if (campaign)
        sqlite3_bind_text(u.st, 5, campaign, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(u.st, 5);
    sqlite3_bind_int(u.st, 6, deleted > 0 ? 1 : deleted == 0 ? 0 : 3);
    return wbs_records__write(r, &u);
}

/* Step a bound statement, giving column 0 to fn. */
static int wbs_records__run(wbs_records_use *u, wbs_records_fn fn, void *userdata)
{
    int rc, result = 0;

    while ((rc = sqlite3_step(u->st)) == SQLITE_ROW) {
        result = fn((const char *)sqlite3_column_text(u->st, 0),
                    (size_t)sqlite3_column_bytes(u->st, 0), userdata);
        if (result)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        result = -1;
    wbs_records__put_stmt(u);
    return result;
}

int wbs_records_each(wbs_records *r, const char *resource, const char *customer,
                     wbs_records_fn fn, void *userdata)
{
    wbs_records_use u;

    if (wbs_records__prepare(&u, r, "SELECT envelope FROM ", resource, " WHERE customer = ?1") < 0)
        return -1;
    sqlite3_bind_text(u.st, 1, customer, -1, SQLITE_STATIC);
    return wbs_records__run(&u, fn, userdata);
}

int wbs_records_each_all(wbs_records *r, const char *resource, wbs_records_fn fn,
                         void *userdata)
{
    wbs_records_use u;

    if (wbs_records__prepare(&u, r, "SELECT envelope FROM ", resource, "") < 0)
        return -1;
    return wbs_records__run(&u, fn, userdata);
}

int wbs_records_select(wbs_records *r, const char *resource, const char *customer,
                       const wbs_records_query *q, wbs_records_fn fn, void *userdata)
{
    char table[64], sql[1024];
    const char *states;
    size_t n;
    wbs_records_use u;
    const char *first = q->desc_first ? " DESC" : "", *id = q->desc_id ? " DESC" : "";
    const char *index = NULL;
    static const char select_head[] = "select";
    /* Everything the text below depends on besides the resource. */
    unsigned shape = (q->campaign ? 1u : 0u) | (q->mod_lo ? 2u : 0u) |
                     (q->mod_lo_strict ? 4u : 0u) | (q->mod_hi ? 8u : 0u) |
                     (q->mod_hi_strict ? 16u : 0u) | (q->with_deleted ? 32u : 0u) |
                     (q->bools & 3u) << 6 | ((unsigned)q->order & 3u) << 8 |
                     (q->desc_first ? 1u << 10 : 0u) | (q->desc_id ? 1u << 11 : 0u) |
                     (q->limit >= 0 || q->offset > 0 ? 1u << 12 : 0u);

    if (wbs_records__known_find(&u, r, select_head, NULL, shape, resource) == 0)
        goto bind;
    if (wbs_records__table(table, resource) < 0)
        return -1;
    /* The index is named: without statistics the planner would rather
     * walk the primary key in id order than sort a campaign's rows. */
    if (q->order == WBS_RECORDS_ORDER_MODIFIED_ID || q->mod_lo || q->mod_hi)
        index = "_l_modified";
    else if (q->campaign)
        index = "_l_campaign_id";
    /* States (records.h, top): 0 meta.isDeleted false, 1 true, 3 neither;
     * 2 (not JSON) is never listed. */
    if (q->bools == (WBS_RECORDS_BOOL_FALSE | WBS_RECORDS_BOOL_TRUE))
        states = " AND x_state IN (0, 1)";
    else if (q->bools == WBS_RECORDS_BOOL_TRUE)
        states = " AND x_state = 1";
    else if (q->bools == WBS_RECORDS_BOOL_FALSE)
        states = " AND x_state = 0";
    else
        states = q->with_deleted ? " AND x_state IN (0, 1, 3)" : " AND x_state IN (0, 3)";
    n = (size_t)snprintf(sql, sizeof(sql),
                         "SELECT envelope FROM %s%s%s%s WHERE customer = ?1%s%s%s%s", table,
                         index ? " INDEXED BY " : "", index ? table : "", index ? index : "",
                         q->campaign ? " AND x_campaign = ?2" : "",
                         !q->mod_lo ? "" : q->mod_lo_strict ? " AND x_modified > ?3"
                                                           : " AND x_modified >= ?3",
                         !q->mod_hi ? "" : q->mod_hi_strict ? " AND x_modified < ?4"
                                                           : " AND x_modified <= ?4",
                         states);
    if (q->order == WBS_RECORDS_ORDER_ID)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " ORDER BY id%s", first);
    else if (q->order == WBS_RECORDS_ORDER_MODIFIED_ID)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " ORDER BY x_modified%s, id%s", first, id);
    if (q->limit >= 0 || q->offset > 0)
        snprintf(sql + n, sizeof(sql) - n, " LIMIT ?5 OFFSET ?6");
    if (wbs_records__get_stmt(&u, r, sql) < 0)
        return -1;
    wbs_records__known_add(&u, r, select_head, NULL, shape, resource);
bind:
    sqlite3_bind_text(u.st, 1, customer, -1, SQLITE_STATIC);
    if (q->campaign)
        sqlite3_bind_text(u.st, 2, q->campaign, -1, SQLITE_STATIC);
    if (q->mod_lo)
        sqlite3_bind_text(u.st, 3, q->mod_lo, -1, SQLITE_STATIC);
    if (q->mod_hi)
        sqlite3_bind_text(u.st, 4, q->mod_hi, -1, SQLITE_STATIC);
    if (q->limit >= 0 || q->offset > 0) {
        sqlite3_bind_int64(u.st, 5, q->limit >= 0 ? q->limit : -1);
        sqlite3_bind_int64(u.st, 6, q->offset > 0 ? q->offset : 0);
    }
    return wbs_records__run(&u, fn, userdata);
}

int wbs_records_modified_gaps(wbs_records *r, const char *resource, const char *customer)
{
    wbs_records_use u;
    int rc;

    /* Unreadable rows (state 2) are never listed. */
    if (wbs_records__prepare(&u, r, "SELECT 1 FROM ", resource,
                             " WHERE customer = ?1 AND x_modified IS NULL"
                             " AND x_state <> 2 LIMIT 1") < 0)
        return -1;
    sqlite3_bind_text(u.st, 1, customer, -1, SQLITE_STATIC);
    rc = sqlite3_step(u.st);
    wbs_records__put_stmt(&u);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

sqlite3 *wbs_records_db(wbs_records *r)
{
    return r->db;
}
