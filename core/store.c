/*
 * store.c - opening, migrating and closing a store; transactions, cached
 * statements and SQLite error mapping.
 */
#include <string.h>

#include "crypto.h"
#include "envelope.h"
#include "schema.h"
#include "store_int.h"
#include "timeutil.h"

/* A local edit makes the record due again at once - except a create whose
 * outcome is unknown (marked): its next attempt stays where a lookup put
 * it (the mark's settle time is kept apart, in create_marks), before which
 * the server may still apply the POST in flight, and a lookup then would
 * find nothing and post it a second time. */
#define WB_NEXT_ATTEMPT_AFTER_EDIT                                                                \
    "next_attempt = CASE WHEN " WB_CREATE_MARKED " THEN next_attempt ELSE NULL END"

/* The SQL of each cached statement, indexed by enum wb_stmt_id. */
static const char *const stmt_sql[WB_STMT__COUNT] = {
    [WB_STMT_INSERT] =
        "INSERT INTO interactions (local_id, campaign_id, contact_id, household_id, walklist_id,"
        " ts, data, created, created_by, modified, modified_by, customer_id, security_group_id,"
        " state, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?8, ?9, ?10, ?11, 2, 1)",
    [WB_STMT_GET] =
        "SELECT " WB_ENVELOPE_COLUMNS ", state, base, server_id, version, base_etag,"
        " last_error, " WB_CREATE_MARKED " FROM interactions WHERE local_id = ?1"
        " AND " WB_TENANCY_FILTER
        " UNION ALL SELECT " WB_ENVELOPE_COLUMNS ", state, base, server_id, version, base_etag,"
        " last_error, " WB_CREATE_MARKED " FROM interactions WHERE " WB_SERVER_ID_IS("", "?1")
        " AND " WB_TENANCY_FILTER " LIMIT 1",
    [WB_STMT_UPDATE_DATA] =
        "UPDATE interactions SET " WB_BASE_KEEP_SQL ", data = ?2, campaign_id = ?3,"
        " contact_id = ?4, household_id = ?5, walklist_id = ?6, ts = ?7, modified = ?8,"
        " modified_by = ?9,"
        " state = ?10, version = version + 1, attempts = 0, " WB_NEXT_ATTEMPT_AFTER_EDIT ","
        " last_error = CASE WHEN ?10 = 32 THEN last_error ELSE NULL END WHERE local_id = ?1",
    [WB_STMT_DELETE] =
        "UPDATE interactions SET " WB_BASE_KEEP_SQL ", deleted = 1, deleted_at = ?2,"
        " modified = ?3, modified_by = ?4,"
        " state = ?5, version = version + 1, attempts = 0, " WB_NEXT_ATTEMPT_AFTER_EDIT ","
        " last_error = NULL WHERE local_id = ?1",
    [WB_STMT_LOG_LAST] = "SELECT seq, digest, signature IS NULL FROM interaction_log"
                         " ORDER BY seq DESC LIMIT 1",
    [WB_STMT_LOG_INSERT] =
        "INSERT INTO interaction_log (seq, local_id, kind, content, digest, signature)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [WB_STMT_LOG_SIGN] =
        "UPDATE interaction_log SET signature = ?2 WHERE seq = ?1 AND signature IS NULL",
    [WB_STMT_REF_MODIFIED] = "SELECT modified FROM ref_records WHERE resource = ?1 AND id = ?2",
    /* Envelopes and addresses are personal data: sealed in an encrypted
     * store (wb_seal is the identity in a plain one). */
    [WB_STMT_REF_PUT] = "INSERT OR REPLACE INTO ref_records (resource, id, envelope, modified,"
                        " deleted) VALUES (?1, ?2, wb_seal('ref_records', 'envelope', ?2, ?3),"
                        " ?4, ?5)",
    [WB_STMT_HH_PUT] = "INSERT OR REPLACE INTO ref_households (id, lat, lng, address) VALUES"
                       " (?1, ?2, ?3, wb_seal('ref_households', 'address', ?1, ?4))",
    [WB_STMT_HH_DELETE] = "DELETE FROM ref_households WHERE id = ?1",
    [WB_STMT_HH_GET] = "SELECT lat, lng FROM ref_households WHERE id = ?1",
    [WB_STMT_WL_GET] = "SELECT wid, campaign_id FROM ref_walklists WHERE id = ?1",
    [WB_STMT_MEMBER_PUT] =
        "INSERT OR IGNORE INTO ref_walklist_households (wid, household_id) VALUES (?1, ?2)",
    [WB_STMT_MEMBERS_OF_HH] =
        "SELECT rid, wid FROM ref_walklist_households WHERE household_id = ?1",
    /* The walk-list dimension gets a width of 0.5: with a width of 0 every
     * box has volume 0 and the R*Tree's split heuristics, which compare
     * volumes, degrade to a near scan (1.2 ms instead of 56 us per cube on
     * 20 000 doors). [wid, wid + 0.5] still never overlaps another list. */
    [WB_STMT_GEO_PUT] =
        "INSERT OR REPLACE INTO walklist_geo VALUES (?1, ?2, ?2 + 0.5, ?3, ?3, ?4, ?4, ?5, ?5)",
    [WB_STMT_GEO_DELETE] = "DELETE FROM walklist_geo WHERE rid = ?1",
    /* Doors of one walk list in a cube around a point, not yet knocked (a
     * live interaction at the household on this list or on none). */
    [WB_STMT_NEXT_BOX] =
        "SELECT m.household_id, h.lat, h.lng,"
        " wb_open('ref_households', 'address', h.id, h.address) FROM walklist_geo g"
        " JOIN ref_walklist_households m ON m.rid = g.rid"
        " JOIN ref_households h ON h.id = m.household_id"
        " WHERE g.w0 <= ?1 AND g.w1 >= ?1 AND g.x1 >= ?2 AND g.x0 <= ?3 AND g.y1 >= ?4"
        " AND g.y0 <= ?5 AND g.z1 >= ?6 AND g.z0 <= ?7 AND h.lat IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM interactions i WHERE i.household_id = m.household_id"
        " AND i.deleted = 0 AND (i.walklist_id = ?8 OR i.walklist_id IS NULL))",
};

int wb_store__sqlite_error_db(sqlite3 *db, int rc, const char *what)
{
    int code;
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: code = WB_EBUSY; break;
    case SQLITE_NOMEM: code = WB_ENOMEM; break;
    case SQLITE_NOTADB: code = WB_ESCHEMA; break;
    case SQLITE_CORRUPT: code = WB_ECORRUPT; break;
    case SQLITE_READONLY: code = WB_EREADONLY; break;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM: code = WB_EIO; break;
    case SQLITE_CONSTRAINT: code = WB_EEXISTS; break;
    case SQLITE_AUTH:
        /* Raised by wb_seal/wb_open (crypto.c), which set the walkbook
         * error themselves: keep it. */
        if (wb_error_last() && wb_error_last()->klass == WB_ERRCLASS_CRYPTO)
            return wb_error_last()->code;
        code = WB_ERROR;
        break;
    default: code = WB_ERROR; break;
    }
    wb_error__set(code, WB_ERRCLASS_STORE, "%s: %s", what, msg);
    wb_error__set_sqlite(db ? sqlite3_extended_errcode(db) : rc);
    return code;
}

int wb_store__sqlite_error(wb_store *store, int rc, const char *what)
{
    return wb_store__sqlite_error_db(store ? store->db : NULL, rc, what);
}

int wb_store__stmt(sqlite3_stmt **out, wb_store *store, enum wb_stmt_id id)
{
    sqlite3_stmt *st = store->stmts[id];
    if (!st) {
        int rc = sqlite3_prepare_v3(store->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st,
                                    NULL);
        if (rc != SQLITE_OK)
            return wb_store__sqlite_error(store, rc, "prepare");
        store->stmts[id] = st;
    } else {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    *out = st;
    return 0;
}

int wb_store__exec(wb_store *store, const char *sql)
{
    int rc = sqlite3_exec(store->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return wb_store__sqlite_error(store, rc, "sql");
    return 0;
}

int wb_store__begin(wb_store *store)
{
    int rc = sqlite3_exec(store->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return wb_store__sqlite_error(store, rc, "begin");
    return 0;
}

int wb_store__commit(wb_store *store)
{
    int rc;
    if (store->log_unsigned) {
        /* The log's last entry is signed inside the transaction, so no
         * commit ever leaves an unsigned tail behind. */
        int error = wb_log__sign_tail(store);
        if (error < 0) {
            wb_store__rollback(store);
            return error;
        }
    }
    rc = sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        int code = wb_store__sqlite_error(store, rc, "commit");
        wb_store__rollback(store);
        return code;
    }
    return 0;
}

void wb_store__rollback(wb_store *store)
{
    /* Keep the error that made us roll back, whatever ROLLBACK says. */
    wb_error_saved saved;
    wb_error__save(&saved);
    store->log_unsigned = 0;
    if (!sqlite3_get_autocommit(store->db))
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
    wb_error__restore(&saved);
}

/* A transaction ends: the log tail log.c remembered may be undone. */
static int forget_log_tail(void *ctx)
{
    ((wb_store *)ctx)->log_tail_known = 0;
    return 0; /* the commit goes on */
}

static void forget_log_tail_rollback(void *ctx)
{
    forget_log_tail(ctx);
}

static int64_t default_clock(void *ctx)
{
    (void)ctx;
    return wb_time__now_ms();
}

void wb_store__set_clock(wb_store *store, int64_t (*now_ms)(void *ctx), void *ctx)
{
    store->now_ms = now_ms ? now_ms : default_clock;
    store->now_ctx = ctx;
}

int64_t wb_store__now(wb_store *store)
{
    return store->now_ms(store->now_ctx);
}

void wb_store__next_modified(wb_store *store, char *buf)
{
    int64_t now = wb_store__now(store);
    if (now <= store->last_modified_ms)
        now = store->last_modified_ms + 1;
    store->last_modified_ms = now;
    if (wb_time__format(buf, now) < 0)
        wb_time__format(buf, 0); /* a clock outside 0000-9999: keep a valid value */
}

static int pragma_int(sqlite3 *db, const char *sql, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int(st, 0);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            *out = 0;
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

int wb_store__migrate(sqlite3 *db, int target)
{
    int error = 0, rc, version = 0, latest;
    char sql[96];
    latest = wb_schema__migrations[wb_schema__migration_count - 1].number;
    if (target <= 0 || target > latest)
        target = latest;
    if ((rc = wb_crypto__register_migration(db)) != SQLITE_OK)
        return wb_store__sqlite_error_db(db, rc, "migrate");
    rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return wb_store__sqlite_error_db(db, rc, "migrate");
    /* Read again inside the transaction: another process may have migrated
     * the file between our first look and the lock. */
    if ((rc = pragma_int(db, "PRAGMA user_version", &version)) != SQLITE_OK) {
        error = wb_store__sqlite_error_db(db, rc, "migrate");
        goto cleanup;
    }
    for (size_t i = 0; i < wb_schema__migration_count; i++) {
        const wb_migration *m = &wb_schema__migrations[i];
        if (m->number <= version || m->number > target)
            continue;
        rc = sqlite3_exec(db, m->sql, NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            error = wb_store__sqlite_error_db(db, rc, m->name);
            goto cleanup;
        }
        version = m->number;
    }
    snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d",
             WB_APPLICATION_ID, version);
    rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        error = wb_store__sqlite_error_db(db, rc, "migrate");
        goto cleanup;
    }
    rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        error = wb_store__sqlite_error_db(db, rc, "migrate");
cleanup:
    if (error < 0 && !sqlite3_get_autocommit(db)) {
        wb_error_saved saved;
        wb_error__save(&saved);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        wb_error__restore(&saved);
    }
    return error;
}

/* Decide whether the opened file is a walkbook store (or a new, empty file)
 * and whether this library can use its schema. */
static int check_file(sqlite3 *db, int readonly, int *out_version)
{
    int rc, app_id = 0, version = 0, objects = 0;
    int latest = wb_schema__migrations[wb_schema__migration_count - 1].number;
    rc = pragma_int(db, "PRAGMA application_id", &app_id);
    if (rc == SQLITE_NOTADB)
        return wb_error__set(WB_ESCHEMA, WB_ERRCLASS_STORE,
                             "not a walkbook store: the file is not an SQLite database");
    if (rc != SQLITE_OK)
        return wb_store__sqlite_error_db(db, rc, "open");
    if ((rc = pragma_int(db, "PRAGMA user_version", &version)) != SQLITE_OK ||
        (rc = pragma_int(db, "SELECT count(*) FROM sqlite_master", &objects)) != SQLITE_OK)
        return wb_store__sqlite_error_db(db, rc, "open");
    if (app_id != WB_APPLICATION_ID && !(app_id == 0 && version == 0 && objects == 0))
        return wb_error__set(WB_ESCHEMA, WB_ERRCLASS_STORE,
                             "not a walkbook store: the database belongs to another application");
    if (version > latest)
        return wb_error__set(WB_ESCHEMA, WB_ERRCLASS_STORE,
                             "store schema version %d is newer than this library supports (%d)",
                             version, latest);
    if (version < latest && readonly)
        return wb_error__set(WB_EREADONLY, WB_ERRCLASS_STORE,
                             "store schema version %d needs migrating to %d, which a read-only "
                             "open cannot do",
                             version, latest);
    *out_version = version;
    return 0;
}

int wb_store_options_init(wb_store_options *opts, unsigned int version)
{
    static const wb_store_options defaults = WB_STORE_OPTIONS_INIT;
    WB__CHECK_ARG(opts);
    if (version != WB_STORE_OPTIONS_VERSION)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "wb_store_options: unknown version %u", version);
    *opts = defaults;
    return 0;
}

int wb_store_open(wb_store **out, const char *path, const wb_store_options *opts)
{
    static const wb_store_options defaults = WB_STORE_OPTIONS_INIT;
    wb_store *store = NULL;
    int error = 0, rc, flags, version = 0;
    char sql[128];

    wb_error__reset();
    WB__CHECK_ARG(out);
    WB__CHECK_ARG(path);
    *out = NULL;
    if (!opts)
        opts = &defaults;
    if (opts->version != WB_STORE_OPTIONS_VERSION && opts->version != 1)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "wb_store_options.version: unknown version %u", opts->version);
    if (opts->mmap_mib < 0 || opts->mmap_mib > 1024)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "wb_store_options.mmap_mib: must be between 0 and 1024");
    if (opts->durability != WB_DURABILITY_FULL && opts->durability != WB_DURABILITY_NORMAL)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "wb_store_options.durability: unknown value %d", opts->durability);
    if ((error = wb__global_init()) < 0)
        return error;

    store = wb__calloc(1, sizeof(*store));
    if (!store)
        return wb_error__oom();
    store->now_ms = default_clock;
    store->readonly = (opts->flags & WB_OPEN_READONLY) != 0;

    /* One handle serves one thread at a time (documented), so SQLite's own
     * per-connection mutex is not needed. */
    flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
    if (store->readonly)
        flags |= SQLITE_OPEN_READONLY;
    else
        flags |= SQLITE_OPEN_READWRITE | ((opts->flags & WB_OPEN_CREATE) ? SQLITE_OPEN_CREATE : 0);
    rc = sqlite3_open_v2(path, &store->db, flags, NULL);
    if (rc != SQLITE_OK) {
        error = wb_store__sqlite_error_db(store->db, rc, "open");
        goto cleanup;
    }
    sqlite3_extended_result_codes(store->db, 1);
    /* Whatever ends a transaction (COMMIT, ROLLBACK, or SQLite rolling
     * back by itself on an error) ends what log.c remembers of it. */
    sqlite3_commit_hook(store->db, forget_log_tail, store);
    sqlite3_rollback_hook(store->db, forget_log_tail_rollback, store);
    sqlite3_busy_timeout(store->db, opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : 0);

    if ((error = check_file(store->db, store->readonly, &version)) < 0)
        goto cleanup;

    if (!store->readonly && version == 0) {
        /* A new file. Rows of the clustered interactions table are about a
         * kilobyte; with 4 KiB pages SQLite would spill each into an overflow
         * page (a WITHOUT ROWID table keeps at most ~1000 bytes per row on
         * its leaf), doubling the pages a campaign read touches. 16 KiB pages
         * keep rows whole. Must be set before WAL and the first table. */
        if ((error = wb_store__exec(store, "PRAGMA page_size = 16384")) < 0)
            goto cleanup;
    }
    if (!store->readonly) {
        /* WAL lets readers (the UI) run while a writer (sync) commits. For
         * ":memory:" the mode stays "memory", which is fine. */
        if ((error = wb_store__exec(store, "PRAGMA journal_mode = WAL")) < 0)
            goto cleanup;
    }
    /* Memory-mapped reads avoid a read() system call and a copy per page on
     * long scans; SQLite maps only what the file holds and falls back to
     * read() where the platform refuses. */
    snprintf(sql, sizeof(sql),
             "PRAGMA synchronous = %s; PRAGMA foreign_keys = ON; PRAGMA mmap_size = %d",
             opts->durability == WB_DURABILITY_NORMAL ? "NORMAL" : "FULL",
             opts->mmap_mib * 1024 * 1024);
    if ((error = wb_store__exec(store, sql)) < 0)
        goto cleanup;

    /* Nothing is written to a store that is already current (a wrong key
     * must fail before anything is written). */
    if (!store->readonly && version < wb_schema__migrations[wb_schema__migration_count - 1].number &&
        (error = wb_store__migrate(store->db, 0)) < 0)
        goto cleanup;
    if ((error = pragma_int(store->db, "PRAGMA user_version", &store->schema_version)) != 0) {
        error = wb_store__sqlite_error(store, error, "open");
        goto cleanup;
    }
    if ((error = wb_crypto__register(store)) < 0 ||
        (error = wb_crypto__open_keys(store, opts)) < 0)
        goto cleanup;
    if ((error = wb_store__load_identity(store)) < 0)
        goto cleanup;

    *out = store;
    store = NULL;
cleanup:
    if (store) {
        wb_error_saved saved;
        wb_error__save(&saved);
        sqlite3_close_v2(store->db);
        wb_crypto__close(store);
        wb__free(store);
        wb_error__restore(&saved);
    }
    return error;
}

static void store_close(wb_store *store)
{
    for (int i = 0; i < WB_STMT__COUNT; i++)
        sqlite3_finalize(store->stmts[i]);
    for (size_t i = 0; i < sizeof(store->sync_stmts) / sizeof(store->sync_stmts[0]); i++)
        sqlite3_finalize(store->sync_stmts[i].st);
    /* close_v2 defers until statements of open iterators are finalized, but
     * we already wait for those ourselves. */
    sqlite3_close_v2(store->db);
    wb_crypto__close(store);
    wb__free(store);
}

void wb_store_free(wb_store *store)
{
    if (!store)
        return;
    if (store->live_iters > 0) {
        store->free_requested = 1;
        return;
    }
    store_close(store);
}

void wb_store__iter_opened(wb_store *store)
{
    store->live_iters++;
}

void wb_store__iter_closed(wb_store *store)
{
    if (--store->live_iters == 0 && store->free_requested)
        store_close(store);
}

int wb_store_schema_version(const wb_store *store)
{
    return store ? store->schema_version : 0;
}
