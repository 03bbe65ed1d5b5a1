/*
 * syncstore.c - the store side of sync: pending records, acknowledgements,
 * rejections, retries, pulled records and watermarks. See syncstore.h.
 */
#include <stddef.h>
#include <string.h>

#include "merge.h"
#include "syncstore.h"
#include "crypto.h"

/* ---- small helpers -------------------------------------------------------- */

static const char *col_text(sqlite3_stmt *st, int col)
{
    const char *s = (const char *)sqlite3_column_text(st, col);
    return s ? s : "";
}

static void copy_fixed(char *dst, size_t size, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= size)
        n = size - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

static char *dup_col(sqlite3_stmt *st, int col, int *oom)
{
    char *s;
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NULL;
    s = wb__strdup(col_text(st, col));
    if (!s)
        *oom = 1;
    return s;
}

static const char *member_string(const cJSON *obj, const char *name)
{
    const cJSON *item = wb_json__get(obj, name);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* Run `fn` in its own transaction unless the caller already opened one. */
static int begin_if_needed(wb_store *store, int *own)
{
    *own = sqlite3_get_autocommit(store->db);
    return *own ? wb_store__begin(store) : 0;
}

static int end_tx(wb_store *store, int own, int error)
{
    if (!own)
        return error;
    if (error < 0) {
        wb_store__rollback(store);
        return error;
    }
    return wb_store__commit(store);
}

static int step_done(wb_store *store, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return wb_store__sqlite_error(store, rc, what);
    return 0;
}

static int prepare(sqlite3_stmt **st, wb_store *store, const char *sql)
{
    int rc = sqlite3_prepare_v2(store->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK)
        return wb_store__sqlite_error(store, rc, "sync");
    return 0;
}

/* A statement run once per record (push acknowledgements, pulled records):
 * prepared once per store handle and kept, since parsing the SQL costs
 * more than running it. Give it back with release(). */
static int prepare_cached(sqlite3_stmt **st, wb_store *store, const char *sql)
{
    size_t n = sizeof(store->sync_stmts) / sizeof(store->sync_stmts[0]);
    int rc;
    for (size_t i = 0; i < n; i++) {
        if (store->sync_stmts[i].sql == sql) {
            *st = store->sync_stmts[i].st;
            sqlite3_reset(*st);
            sqlite3_clear_bindings(*st);
            return 0;
        }
        if (!store->sync_stmts[i].sql) {
            rc = sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
            if (rc != SQLITE_OK)
                return wb_store__sqlite_error(store, rc, "sync");
            store->sync_stmts[i].sql = sql;
            store->sync_stmts[i].st = *st;
            return 0;
        }
    }
    return prepare(st, store, sql); /* the cache is full: released by finalizing */
}

/* Done with a statement of prepare_cached (NULL is fine): reset, so that it
 * holds no lock, or finalized when it was not cached. */
static void release(wb_store *store, sqlite3_stmt *st)
{
    size_t n = sizeof(store->sync_stmts) / sizeof(store->sync_stmts[0]);
    if (!st)
        return;
    for (size_t i = 0; i < n; i++) {
        if (store->sync_stmts[i].st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return;
        }
    }
    sqlite3_finalize(st);
}

/* ---- pending -------------------------------------------------------------- */

#define PENDING_COLUMNS                                                                          \
    "SELECT local_id, server_id, campaign_id, contact_id, ts, state, version,"                   \
    " deleted, " WB_CREATE_MARKED ", attempts,"                                                  \
    " wb_open('interactions', 'data', local_id, data),"                                        \
    " " WB_BASE_SQL ", base_etag, modified FROM interactions"

/* Read up to `max` rows of a prepared PENDING_COLUMNS statement (released
 * here). */
static int read_pending(wb_pending **out, size_t *n, wb_store *store, sqlite3_stmt *st,
                        size_t max);

int wb_syncstore__pending(wb_pending **out, size_t *n, wb_store *store, int64_t now, size_t max)
{
    return wb_syncstore__pending_after(out, n, store, now, max, NULL);
}

/* Due at ?1: not deferred past it, and not a create whose request may
 * still be in flight (its mark's settle time, schema 011). */
#define PENDING_DUE                                                                              \
    "(next_attempt IS NULL OR next_attempt <= ?1) AND (server_id IS NOT NULL OR NOT EXISTS"      \
    " (SELECT 1 FROM create_marks AS m WHERE m.local_id = interactions.local_id"                 \
    " AND m.settle > ?1))"

static const char pending_first_sql[] =
    PENDING_COLUMNS " WHERE state IN (2, 4, 8) AND " PENDING_DUE
                    " ORDER BY modified, local_id LIMIT ?2";
static const char pending_after_sql[] =
    PENDING_COLUMNS " WHERE state IN (2, 4, 8) AND " PENDING_DUE
                    " AND (modified, local_id) > (?3, ?4) ORDER BY modified, local_id LIMIT ?2";
/* The state index holds only records that are not synced ("state <> 1"
 * lets SQLite use that partial index); the pending ones are sorted. */
static const char pending_left_sql[] =
    PENDING_COLUMNS " INDEXED BY interactions_state WHERE state <> 1 AND state IN (2, 4, 8)"
                    " AND " PENDING_DUE
                    " AND (?3 IS NULL OR (modified, local_id) > (?3, ?4))"
                    " ORDER BY modified, local_id LIMIT ?2";

/* Up to max pending records of a cached statement of the shape of
 * pending_*_sql, after the cursor `after` (none: from the start). */
static int pending_query(wb_pending **out, size_t *n, wb_store *store, const char *sql,
                         int64_t now, size_t max, const wb_pending *after)
{
    sqlite3_stmt *st = NULL;
    int error;

    *out = NULL;
    *n = 0;
    if (max == 0)
        return 0;
    if ((error = prepare_cached(&st, store, sql)) < 0)
        return error;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    if (after) {
        sqlite3_bind_text(st, 3, after->modified, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, after->local_id, -1, SQLITE_TRANSIENT);
    }
    return read_pending(out, n, store, st, max);
}

int wb_syncstore__pending_left(wb_pending **out, size_t *n, wb_store *store, int64_t now,
                               size_t max, const wb_pending *after)
{
    return pending_query(out, n, store, pending_left_sql, now, max, after);
}

int wb_syncstore__pending_after(wb_pending **out, size_t *n, wb_store *store, int64_t now,
                                size_t max, const wb_pending *after)
{
    /* The modified index is walked from the cursor: without it every batch
     * would step over all the records synced before it (quadratic in a
     * large push). Two statements, since "?3 IS NULL OR (…) > (…)" makes
     * SQLite scan the index from its start instead of seeking. Prepared
     * once per handle: a push reads a group of 64 at a time. */
    return pending_query(out, n, store, after ? pending_after_sql : pending_first_sql, now, max,
                         after);
}

int wb_syncstore__pending_one(wb_pending **out, size_t *n, wb_store *store, const char *local_id)
{
    sqlite3_stmt *st = NULL;
    int error;

    *out = NULL;
    *n = 0;
    if ((error = prepare(&st, store,
                         PENDING_COLUMNS " WHERE local_id = ?1 AND state IN (2, 4, 8)")) < 0)
        return error;
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_TRANSIENT);
    return read_pending(out, n, store, st, 1);
}

static int read_pending(wb_pending **out, size_t *n, wb_store *store, sqlite3_stmt *st,
                        size_t max)
{
    wb_pending *list = NULL;
    size_t count = 0;
    int error = 0, rc, oom = 0;

    if (!(list = wb__calloc(max, sizeof(*list)))) {
        error = wb_error__oom();
        goto cleanup;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && count < max) {
        wb_pending *p = &list[count++];
        copy_fixed(p->local_id, sizeof(p->local_id), col_text(st, 0));
        copy_fixed(p->server_id, sizeof(p->server_id), col_text(st, 1));
        copy_fixed(p->campaign_id, sizeof(p->campaign_id), col_text(st, 2));
        copy_fixed(p->contact_id, sizeof(p->contact_id), col_text(st, 3));
        copy_fixed(p->ts, sizeof(p->ts), col_text(st, 4));
        p->state = sqlite3_column_int(st, 5);
        p->version = sqlite3_column_int64(st, 6);
        p->deleted = sqlite3_column_int(st, 7);
        p->create_attempted = sqlite3_column_int(st, 8);
        p->attempts = sqlite3_column_int(st, 9);
        p->data = dup_col(st, 10, &oom);
        p->base = dup_col(st, 11, &oom);
        p->base_etag = dup_col(st, 12, &oom);
        copy_fixed(p->modified, sizeof(p->modified), col_text(st, 13));
        if (oom || !p->data) {
            error = oom ? wb_error__oom()
                        : wb_error__set(WB_ECORRUPT, WB_ERRCLASS_STORE, "interaction: no data");
            goto cleanup;
        }
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        error = wb_store__sqlite_error(store, rc, "pending");
        goto cleanup;
    }
    if (count > 0) { /* none: *out stays NULL */
        *out = list;
        *n = count;
        list = NULL;
        count = 0;
    }
cleanup:
    wb_syncstore__pending_free(list, count);
    release(store, st);
    return error;
}

void wb_syncstore__pending_free(wb_pending *p, size_t n)
{
    if (!p)
        return;
    for (size_t i = 0; i < n; i++) {
        wb__free(p[i].data);
        wb__free(p[i].base);
        wb__free(p[i].base_etag);
    }
    wb__free(p);
}

/* Runs a cached one-row UPDATE whose ?1 is the local id and ?2 a number. */
static int update_one(wb_store *store, const char *sql, const char *local_id, int64_t value,
                      const char *what)
{
    sqlite3_stmt *st = NULL;
    int error;
    if ((error = prepare_cached(&st, store, sql)) < 0)
        return error;
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, value);
    error = step_done(store, st, what);
    release(store, st);
    return error;
}

/* A row of its own (schema 011): an UPDATE of the two integers in the
 * interactions row rewrote the whole (~1 KB) row. */
#define MARK_SQL "INSERT OR REPLACE INTO create_marks (local_id, settle) VALUES (?1, ?2)"
#define UNMARK_SQL "DELETE FROM create_marks WHERE local_id = ?1"

int wb_syncstore__mark_create_attempt(wb_store *store, const char *local_id, int64_t settle_ms)
{
    return update_one(store, MARK_SQL, local_id, settle_ms, "mark");
}

int wb_syncstore__mark_create_attempts(wb_store *store, const char *const *local_ids, size_t n,
                                       int64_t settle_ms)
{
    int error, own;
    if (n == 0)
        return 0;
    if ((error = begin_if_needed(store, &own)) < 0)
        return error;
    for (size_t i = 0; i < n && error >= 0; i++)
        error = update_one(store, MARK_SQL, local_ids[i], settle_ms, "mark");
    return end_tx(store, own, error);
}

int wb_syncstore__unmark_create_attempts(wb_store *store, const char *const *local_ids,
                                         size_t n)
{
    int error, own;
    if (n == 0)
        return 0;
    if ((error = begin_if_needed(store, &own)) < 0)
        return error;
    /* update_one's ?2 is unused here. A record the pull adopted meanwhile
     * has a server id: its mark no longer counts anyway. */
    for (size_t i = 0; i < n && error >= 0; i++)
        error = update_one(store, UNMARK_SQL, local_ids[i], 0, "unmark");
    return end_tx(store, own, error);
}

int wb_syncstore__sweep_marks(wb_store *store)
{
    return wb_store__exec(store, "DELETE FROM create_marks WHERE NOT EXISTS (SELECT 1 FROM"
                                 " interactions AS i WHERE i.local_id = create_marks.local_id"
                                 " AND i.server_id IS NULL)");
}

/* ---- acknowledgements ----------------------------------------------------- */

/* The parts of a server envelope the store keeps. Borrowed pointers. */
typedef struct remote_env {
    const char *id, *etag, *created, *modified, *created_by, *modified_by, *customer, *group;
    const cJSON *data; /* NULL when read from text (wb_syncstore__read_remote) */
    /* The string members of data the row's columns take. */
    const char *campaign, *contact, *ts, *household, *walklist;
    int deleted;
    /* Read from text: data's compact text, its length and the log entry's
     * content hash (data NULL). */
    const char *data_text;
    size_t data_len;
    const unsigned char *content;
} remote_env;

static int read_envelope(remote_env *r, const cJSON *env)
{
    const cJSON *meta = wb_json__get(env, "meta");
    const cJSON *deleted = wb_json__get(meta, "isDeleted");
    memset(r, 0, sizeof(*r));
    r->id = member_string(env, "id");
    r->data = wb_json__get(env, "data");
    r->customer = member_string(env, "customerId");
    r->group = member_string(env, "securityGroupId");
    r->etag = member_string(meta, "etag");
    r->created = member_string(meta, "created");
    r->modified = member_string(meta, "modified");
    r->created_by = member_string(meta, "createdBy");
    r->modified_by = member_string(meta, "modifiedBy");
    r->deleted = cJSON_IsTrue(deleted);
    r->campaign = member_string(r->data, "campaignId");
    r->contact = member_string(r->data, "contactId");
    r->ts = member_string(r->data, "timestamp");
    r->household = member_string(r->data, "householdId");
    r->walklist = member_string(r->data, "walklistId");
    if (!r->id || !wb_uuid__valid(r->id))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_SYNC, "server envelope: id is not a UUID");
    if (!cJSON_IsObject(r->data))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_SYNC, "server envelope %s: no data object",
                             r->id);
    if (!r->etag)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_SYNC, "server envelope %s: no meta.etag",
                             r->id);
    return 0;
}

/* Write a server version into a row: base, etag, meta, server id, and when
 * `take_data` the data and its index columns too. */
/* The columns every server version sets; then the data and the columns
 * indexed from it, only in the statement that takes the data. SQLite
 * rewrites every index on a column named in SET, whatever its new value,
 * so a CASE keeping the old data still cost four index updates (contact,
 * household, walk list, time) on each acknowledgement that keeps it. */
#define WB_SERVER_VERSION_SET                                                                     \
    "UPDATE interactions SET server_id = ?2, base = wb_seal('interactions', 'base', ?1, ?3),"     \
    WB_SERVER_VERSION_META
#define WB_SERVER_VERSION_META                                                                    \
    " base_etag = ?4, etag = ?4,"                                                                 \
    " created = COALESCE(?5, created), created_by = COALESCE(?6, created_by),"                    \
    " modified = COALESCE(?7, modified), modified_by = COALESCE(?8, modified_by),"                \
    " security_group_id = COALESCE(?9, security_group_id),"                                       \
    " state = ?10, deleted = ?11,"                                                                \
    " deleted_at = CASE WHEN ?11 = 1 THEN COALESCE(deleted_at, ?12) ELSE NULL END,"              \
    " attempts = 0, next_attempt = NULL, last_error = NULL,"                                      \
    " conflict_remote = NULL, conflict_paths = NULL"

static const char write_server_version_keep_data[] =
    WB_SERVER_VERSION_SET " WHERE local_id = ?1";
static const char write_server_version_take_data[] =
    WB_SERVER_VERSION_SET ", data = wb_seal('interactions', 'data', ?1, ?3),"
                          " campaign_id = COALESCE(?13, campaign_id),"
                          " contact_id = COALESCE(?14, contact_id), ts = COALESCE(?15, ts),"
                          " household_id = ?16, walklist_id = ?17 WHERE local_id = ?1";

/* The parameters ?1 to ?12 of WB_SERVER_VERSION_SET. */
static void bind_server_version(sqlite3_stmt *st, wb_store *store, const char *local_id,
                                const remote_env *r, const char *data_text, int state,
                                int deleted)
{
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, data_text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->etag, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, r->created, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, r->created_by, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, r->modified, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, r->modified_by, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, r->group, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 10, state);
    sqlite3_bind_int(st, 11, deleted);
    sqlite3_bind_int64(st, 12, wb_store__now(store));
}

static int write_server_version(wb_store *store, const char *local_id, const remote_env *r,
                                const char *data_text, int take_data, int state, int deleted)
{
    sqlite3_stmt *st = NULL;
    int error;
    if ((error = prepare_cached(&st, store,
                                take_data ? write_server_version_take_data
                                          : write_server_version_keep_data)) < 0)
        return error;
    bind_server_version(st, store, local_id, r, data_text, state, deleted);
    if (take_data) {
        sqlite3_bind_text(st, 13, member_string(r->data, "campaignId"), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 14, member_string(r->data, "contactId"), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 15, member_string(r->data, "timestamp"), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 16, member_string(r->data, "householdId"), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 17, member_string(r->data, "walklistId"), -1, SQLITE_STATIC);
    }
    error = step_done(store, st, "sync write");
    release(store, st);
    /* Every caller passes data_text = wb_json__print(r->data). */
    if (error == 0 && take_data)
        error = wb_log__append_of(store, local_id, WB_LOG_SYNC, data_text, r->data);
    return error;
}

/* The row's version, state and deleted flag; WB_ENOTFOUND when gone. */
static int row_status(wb_store *store, const char *local_id, int64_t *version, int *state,
                      int *deleted)
{
    sqlite3_stmt *st = NULL;
    int error, rc;
    if ((error = prepare_cached(&st, store,
                         "SELECT version, state, deleted FROM interactions WHERE local_id = ?1")) <
        0)
        return error;
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *version = sqlite3_column_int64(st, 0);
        *state = sqlite3_column_int(st, 1);
        *deleted = sqlite3_column_int(st, 2);
    } else if (rc == SQLITE_DONE) {
        error = wb_error__set(WB_ENOTFOUND, WB_ERRCLASS_SYNC, "interaction %s: gone", local_id);
    } else {
        error = wb_store__sqlite_error(store, rc, "sync");
    }
    release(store, st);
    return error;
}

/* Adopt a server version of a record we sent: see wb_syncstore__ack_write.
 * `sent` is the data text the request carried (NULL when unknown). */
static int adopt(wb_store *store, const char *local_id, int64_t version, const remote_env *r,
                 const char *sent)
{
    int64_t cur = 0;
    int state = 0, deleted = 0, error;
    char *data_text = NULL;
    if ((error = row_status(store, local_id, &cur, &state, &deleted)) < 0)
        return error;
    if (!(data_text = wb_json__print(r->data)))
        return WB_ENOMEM;
    if (cur == version && !deleted)
        /* The server echoing exactly what we sent changes no data: no data
         * write and no log entry (the log records changes of the data; the
         * last entry already covers this one). */
        error = write_server_version(store, local_id, r, data_text,
                                     !sent || strcmp(sent, data_text) != 0, WB_STATE_SYNCED, 0);
    else
        /* Changed while the request was in flight: keep the change, now
         * relative to the server's version. */
        error = write_server_version(store, local_id, r, data_text, 0,
                                     deleted ? WB_STATE_PENDING_DELETE : WB_STATE_PENDING_UPDATE,
                                     deleted);
    wb__free(data_text);
    return error;
}

/* An answer that echoed the data sent, for a row still at the version
 * sent and not deleted (nearly always): synced, its data kept, in one
 * statement that checks the version itself. The row's data is then what
 * the server holds, so its base is implied (NULL with a base_etag, see
 * WB_BASE_SQL) rather than a second copy of the data. */
static const char write_echo_synced[] =
    "UPDATE interactions SET server_id = ?2, base = NULL," WB_SERVER_VERSION_META
    " WHERE local_id = ?1 AND version = ?18 AND deleted = 0";
/* The same with the row's primary key: one b-tree search instead of two
 * (the local_id index, then the table). SQLite's planner takes the
 * unique local_id index even when the whole key is given, hence NOT
 * INDEXED. */
static const char write_echo_synced_by_key[] =
    "UPDATE interactions NOT INDEXED SET server_id = ?2, base = NULL," WB_SERVER_VERSION_META
    " WHERE campaign_id = ?19 AND ts = ?20 AND local_id = ?1 AND version = ?18 AND deleted = 0";

/* adopt() for an answer that echoed what was sent (wb_syncstore_echo): no
 * tree, no print, no data write, no log entry. */
static int adopt_echo(wb_store *store, const wb_syncstore_ack *a)
{
    const wb_syncstore_echo *e = a->echo;
    remote_env r;
    sqlite3_stmt *st = NULL;
    int64_t cur = 0;
    int state = 0, deleted = 0, error, changed;

    if (!e->id || !wb_uuid__valid(e->id) || !e->etag || !a->sent)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_SYNC, "server answer: no id or etag");
    memset(&r, 0, sizeof(r));
    r.id = e->id;
    r.etag = e->etag;
    r.created = e->created;
    r.modified = e->modified;
    r.created_by = e->created_by;
    r.modified_by = e->modified_by;
    r.group = e->group;
    if ((error = prepare_cached(&st, store,
                                a->campaign_id && a->ts ? write_echo_synced_by_key
                                                        : write_echo_synced)) < 0)
        return error;
    bind_server_version(st, store, a->local_id, &r, a->sent, WB_STATE_SYNCED, 0);
    sqlite3_bind_int64(st, 18, a->version);
    if (a->campaign_id && a->ts) {
        sqlite3_bind_text(st, 19, a->campaign_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 20, a->ts, -1, SQLITE_STATIC);
    }
    error = step_done(store, st, "sync write");
    changed = sqlite3_changes(store->db);
    release(store, st);
    if (error < 0 || changed > 0)
        return error;
    /* Edited or deleted while the request was in flight (or gone): as
     * adopt() does, the change is kept, now relative to the server's
     * version. */
    if ((error = row_status(store, a->local_id, &cur, &state, &deleted)) < 0)
        return error;
    if (cur == a->version && !deleted)
        return write_server_version(store, a->local_id, &r, a->sent, 0, WB_STATE_SYNCED, 0);
    return write_server_version(store, a->local_id, &r, a->sent, 0,
                                deleted ? WB_STATE_PENDING_DELETE : WB_STATE_PENDING_UPDATE,
                                deleted);
}

/* What two versions of a record agree on: the members both have, objects
 * member by member, other values only where equal. It stands in for the
 * unknown common ancestor of our create and the server's copy of it. */
static cJSON *common_part(const cJSON *a, const cJSON *b)
{
    cJSON *out;
    const cJSON *m;
    if (!cJSON_IsObject(a) || !cJSON_IsObject(b))
        return wb_json__equal(a, b) ? wb_json__dup(a) : NULL;
    if (!(out = cJSON_CreateObject()))
        return NULL;
    cJSON_ArrayForEach(m, a)
    {
        const cJSON *other = wb_json__get(b, m->string);
        cJSON *c;
        if (!other || (!cJSON_IsObject(m) && !wb_json__equal(m, other)))
            continue;
        if (!(c = common_part(m, other)))
            continue;
        if (!cJSON_AddItemToObject(out, m->string, c)) {
            cJSON_Delete(c);
            cJSON_Delete(out);
            return NULL;
        }
    }
    return out;
}

/* Our create found on the server without knowing which of our versions it
 * holds (a lookup after a lost response, or a pull before the
 * acknowledgement), while others may have edited it there since. Merged
 * three ways over what both agree on: a member only one side has is kept
 * (added here after the POST, or there by someone else), a value both
 * have differently takes the preferred side. Synced when the result is
 * the server's version, else pending as an update (or as a delete). */
static int adopt_unknown(wb_store *store, const char *local_id, const char *local_data,
                         int deleted, const remote_env *r, int prefer_remote)
{
    cJSON *local = NULL, *base = NULL;
    wb_merge_result m = {NULL, NULL, 0};
    char *remote_text = NULL, *merged_text = NULL;
    sqlite3_stmt *st = NULL;
    int error;

    if (!(remote_text = wb_json__print(r->data)))
        return WB_ENOMEM;
    if (deleted) {
        error = write_server_version(store, local_id, r, remote_text, 0, WB_STATE_PENDING_DELETE,
                                     1);
        goto cleanup;
    }
    if ((error = wb_json__parse(&local, local_data, strlen(local_data), NULL, "stored data")) <
        0)
        goto cleanup;
    if (!(base = common_part(local, r->data))) {
        error = WB_ENOMEM;
        goto cleanup;
    }
    if ((error = wb_merge__three_way(&m, base, local, r->data,
                                     prefer_remote ? WB_MERGE_PREFER_REMOTE
                                                   : WB_MERGE_PREFER_LOCAL)) < 0)
        goto cleanup;
    if (wb_json__equal(m.merged, r->data)) {
        error = write_server_version(store, local_id, r, remote_text, 1, WB_STATE_SYNCED, 0);
        goto cleanup;
    }
    if (!(merged_text = wb_json__print(m.merged))) {
        error = WB_ENOMEM;
        goto cleanup;
    }
    if ((error = write_server_version(store, local_id, r, remote_text, 0,
                                      WB_STATE_PENDING_UPDATE, 0)) < 0 ||
        (error = prepare(&st, store,
                         "UPDATE interactions SET data = wb_seal('interactions', 'data', ?1, ?2),"
                         " version = version + 1 WHERE local_id = ?1")) < 0)
        goto cleanup;
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, merged_text, -1, SQLITE_STATIC);
    if ((error = step_done(store, st, "adopt")) == 0)
        error = wb_log__append(store, local_id, WB_LOG_SYNC, merged_text);
cleanup:
    sqlite3_finalize(st);
    wb_merge__result_free(&m);
    cJSON_Delete(base);
    cJSON_Delete(local);
    wb__free(remote_text);
    wb__free(merged_text);
    return error;
}

int wb_syncstore__ack_found(wb_store *store, const char *local_id, const cJSON *envelope,
                            int prefer_remote)
{
    remote_env r;
    sqlite3_stmt *st = NULL;
    char *data = NULL;
    int error, own, deleted = 0, rc;
    if ((error = read_envelope(&r, envelope)) < 0)
        return error;
    if ((error = begin_if_needed(store, &own)) < 0)
        return error;
    if ((error = prepare(&st, store,
                         "SELECT wb_open('interactions', 'data', local_id, data), deleted"
                         " FROM interactions WHERE local_id = ?1")) < 0)
        goto done;
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        deleted = sqlite3_column_int(st, 1);
        if (!(data = wb__strdup((const char *)sqlite3_column_text(st, 0))))
            error = wb_error__oom();
    } else if (rc == SQLITE_DONE) {
        error = wb_error__set(WB_ENOTFOUND, WB_ERRCLASS_SYNC, "interaction %s: gone", local_id);
    } else {
        error = wb_store__sqlite_error(store, rc, "sync");
    }
    sqlite3_finalize(st);
    if (error >= 0)
        error = adopt_unknown(store, local_id, data, deleted, &r, prefer_remote);
    if (error >= 0)
        error = update_one(store, UNMARK_SQL, local_id, 0, "unmark");
done:
    wb__free(data);
    return end_tx(store, own, error);
}

int wb_syncstore__ack_write(wb_store *store, const char *local_id, int64_t version,
                            const cJSON *envelope)
{
    remote_env r;
    int error, own;
    if ((error = read_envelope(&r, envelope)) < 0)
        return error;
    if ((error = begin_if_needed(store, &own)) < 0)
        return error;
    if ((error = adopt(store, local_id, version, &r, NULL)) >= 0)
        error = update_one(store, UNMARK_SQL, local_id, 0, "unmark");
    return end_tx(store, own, error);
}

int wb_syncstore__ack_group(wb_store *store, const wb_syncstore_ack *acks, size_t n)
{
    int error = 0, own;
    if (n == 0)
        return 0;
    if ((error = begin_if_needed(store, &own)) < 0)
        return error;
    for (size_t i = 0; i < n && error >= 0; i++) {
        remote_env r;
        if (acks[i].echo)
            error = adopt_echo(store, &acks[i]);
        else if (!acks[i].envelope)
            error = wb_syncstore__ack_delete(store, acks[i].local_id, acks[i].version);
        else if ((error = read_envelope(&r, acks[i].envelope)) >= 0)
            error = adopt(store, acks[i].local_id, acks[i].version, &r, acks[i].sent);
        /* The record has its server id: the create's mark is done. */
        if (error >= 0 && (acks[i].echo || acks[i].envelope))
            error = update_one(store, UNMARK_SQL, acks[i].local_id, 0, "unmark");
    }
    return end_tx(store, own, error);
}

int wb_syncstore__ack_delete(wb_store *store, const char *local_id, int64_t version)
{
    sqlite3_stmt *st = NULL;
    int error;
    if ((error = prepare(&st, store,
                         "UPDATE interactions SET state = 1, attempts = 0, next_attempt = NULL,"
                         " last_error = NULL, deleted_at = COALESCE(deleted_at, ?3)"
                         " WHERE local_id = ?1 AND version = ?2 AND deleted = 1")) < 0)
        return error;
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, version);
    sqlite3_bind_int64(st, 3, wb_store__now(store));
    error = step_done(store, st, "ack delete");
    sqlite3_finalize(st);
    return error;
}

int wb_syncstore__reject(wb_store *store, const char *local_id, int64_t version,
                         const char *message)
{
    sqlite3_stmt *st = NULL;
    int error;
    if ((error = prepare(&st, store,
                         "UPDATE interactions SET state = 32,"
                         " last_error = wb_seal('interactions', 'last_error', ?1, ?3), attempts = 0,"
                         " next_attempt = NULL WHERE local_id = ?1 AND version = ?2")) < 0)
        return error;
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, version);
    sqlite3_bind_text(st, 3, message ? message : "refused by the server", -1, SQLITE_STATIC);
    error = step_done(store, st, "reject");
    /* A refused create was not made: no lookup before it is sent again. */
    if (error >= 0 && sqlite3_changes(store->db) > 0)
        error = update_one(store, UNMARK_SQL, local_id, 0, "unmark");
    sqlite3_finalize(st);
    return error;
}

int wb_syncstore__defer(wb_store *store, const char *local_id, int64_t next_attempt_ms)
{
    return update_one(store,
                      "UPDATE interactions SET attempts = attempts + 1, next_attempt = ?2"
                      " WHERE local_id = ?1",
                      local_id, next_attempt_ms, "defer");
}

/* ---- pulled records ------------------------------------------------------- */

/* A local row matched to a remote envelope. */
typedef struct local_row {
    char local_id[WB_UUID_LEN + 1];
    int state, deleted, create_attempted;
    int64_t version;
    char *data, *base, *base_etag;
    char *conflict_etag; /* etag of the parked remote version, when in conflict */
    int conflict_deleted;
} local_row;

static void local_row_free(local_row *l)
{
    wb__free(l->data);
    wb__free(l->base);
    wb__free(l->base_etag);
    wb__free(l->conflict_etag);
}

#define CONFLICT_COLS "wb_open('interactions', 'conflict_remote', local_id, conflict_remote)"

/* The etag and deleted flag of a parked remote envelope (text as stored);
 * left NULL when there is none or it cannot be read. */
static int parked_version(local_row *out, const char *text, int len)
{
    cJSON *env = NULL;
    const cJSON *meta;
    const char *etag;
    if (!text || len <= 0 || wb_json__parse(&env, text, (size_t)len, NULL, "parked") < 0) {
        wb_error_clear();
        return 0;
    }
    meta = wb_json__get(env, "meta");
    etag = member_string(meta, "etag");
    out->conflict_deleted = cJSON_IsTrue(wb_json__get(meta, "isDeleted"));
    if (etag && !(out->conflict_etag = wb__strdup(etag))) {
        cJSON_Delete(env);
        return WB_ENOMEM;
    }
    cJSON_Delete(env);
    return 0;
}

#define FIND_COLUMNS                                                                             \
    "SELECT local_id, state, deleted, " WB_CREATE_MARKED ", version,"                          \
    " wb_open('interactions', 'data', local_id, data),"                                        \
    " " WB_BASE_SQL ", base_etag, " CONFLICT_COLS                                             \
    " FROM interactions WHERE "

/* One lookup of find_local: 1 found (out filled), 0 not, < 0 error. */
static int find_by(local_row *out, wb_store *store, const char *sql, const remote_env *r,
                   const char *campaign, const char *ts, const char *contact)
{
    sqlite3_stmt *st = NULL;
    int error, rc, oom = 0, found = 0;
    if ((error = prepare_cached(&st, store, sql)) < 0)
        return error;
    sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
    if (campaign) {
        sqlite3_bind_text(st, 2, campaign, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, ts, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, contact, -1, SQLITE_STATIC);
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        copy_fixed(out->local_id, sizeof(out->local_id), col_text(st, 0));
        out->state = sqlite3_column_int(st, 1);
        out->deleted = sqlite3_column_int(st, 2);
        out->create_attempted = sqlite3_column_int(st, 3);
        out->version = sqlite3_column_int64(st, 4);
        out->data = dup_col(st, 5, &oom);
        out->base = dup_col(st, 6, &oom);
        out->base_etag = dup_col(st, 7, &oom);
        if (out->state == WB_STATE_CONFLICT &&
            parked_version(out, (const char *)sqlite3_column_text(st, 8),
                           sqlite3_column_bytes(st, 8)) < 0)
            oom = 1;
        found = 1;
        if (oom)
            error = wb_error__oom();
    } else if (rc != SQLITE_DONE) {
        error = wb_store__sqlite_error(store, rc, "sync find");
    }
    release(store, st);
    if (error < 0) {
        local_row_free(out);
        return error;
    }
    return found;
}

/* Find the local copy of a remote record: by server id, by local id (a
 * server that honours client ids), or - for a create whose response was
 * lost - by what identifies an interaction (campaign, contact, time,
 * creator = this store's user). 1 found, 0 not found, < 0 error. Three
 * index lookups in that order rather than one UNION ordered by rank: the
 * pull runs this once per record, and the compound query made SQLite open
 * two temporary b-trees each time (about a tenth of a pulled record's
 * cost). */
static int find_local(local_row *out, wb_store *store, const remote_env *r)
{
    const char *campaign = r->campaign, *contact = r->contact, *ts = r->ts;
    int found;
    memset(out, 0, sizeof(*out));
    /* By server id, else by local id: one statement, two index probes. */
    if ((found = find_by(out, store,
                         FIND_COLUMNS "local_id = COALESCE((SELECT local_id FROM interactions"
                                      " WHERE " WB_SERVER_ID_IS("", "?1") "), ?1)",
                         r, NULL, NULL, NULL)) != 0)
        return found;
    if (!r->created_by || strcmp(r->created_by, store->user_id) != 0 || !campaign || !contact ||
        !ts)
        return 0;
    /* ?1 is bound but unused here: find_by binds the same way for all. */
    return find_by(out, store,
                   FIND_COLUMNS "?1 IS NOT NULL AND " WB_CREATE_MARKED
                                " AND campaign_id = ?2 AND ts = ?3 AND contact_id = ?4 LIMIT 1",
                   r, campaign, ts, contact);
}

/* data_text: wb_json__print(r->data), or r->data_text (read from text).
 * The base is the data (WB_BASE_SQL): not stored a second time. */
static int insert_remote(wb_store *store, const remote_env *r, const char *data_text)
{
    sqlite3_stmt *st = NULL;
    int error;
if ((error = prepare_cached(
             &st, store,
             "INSERT INTO interactions (local_id, server_id, campaign_id, contact_id, household_id,"
             " walklist_id, ts, data, base, base_etag, etag, created, created_by, modified,"
             " modified_by, customer_id, security_group_id, state, version)"
             " VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, wb_seal('interactions', 'data', ?1, ?7),"
             " NULL, ?8, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 1, 1)")) < 0)
        return error;
    sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->campaign, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r->contact, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->household, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, r->walklist, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, r->ts, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, data_text, r->data ? -1 : (int)r->data_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, r->etag, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, r->created ? r->created : r->modified, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, r->created_by ? r->created_by : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, r->modified ? r->modified : r->created, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 12, r->modified_by ? r->modified_by : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, r->customer, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 14, r->group, -1, SQLITE_STATIC);
    error = step_done(store, st, "sync insert");
    release(store, st);
    if (error == 0)
        error = r->data ? wb_log__append_of(store, r->id, WB_LOG_SYNC, data_text, r->data)
                        : wb_log__append_content(store, r->id, WB_LOG_SYNC, r->content);
    return error;
}

static int park_conflict(wb_store *store, const char *local_id, const cJSON *envelope,
                         const cJSON *paths)
{
    sqlite3_stmt *st = NULL;
    char *env_text = wb_json__print(envelope), *paths_text = paths ? wb_json__print(paths) : NULL;
    int error;
    if (!env_text || (paths && !paths_text)) {
        error = WB_ENOMEM;
        goto cleanup;
    }
    if ((error = prepare(&st, store,
                         "UPDATE interactions SET state = 16,"
                         " conflict_remote = wb_seal('interactions', 'conflict_remote', ?1, ?2),"
                         " conflict_paths = wb_seal('interactions', 'conflict_paths', ?1, ?3)"
                         " WHERE local_id = ?1")) < 0)
        goto cleanup;
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, env_text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, paths_text, -1, SQLITE_STATIC);
    error = step_done(store, st, "conflict");
cleanup:
    sqlite3_finalize(st);
    wb__free(env_text);
    wb__free(paths_text);
    return error;
}

/* A record already parked meets a newer remote version: park that one,
 * with the paths that now conflict (base and local are unchanged). */
static int repark_conflict(wb_store *store, const local_row *l, const remote_env *r,
                           const cJSON *envelope)
{
    cJSON *base = NULL, *local = NULL;
    wb_merge_result m = {NULL, NULL, 0};
    int error;
    if ((error = wb_json__parse(&local, l->data, strlen(l->data), NULL, "stored data")) < 0 ||
        (l->base &&
         (error = wb_json__parse(&base, l->base, strlen(l->base), NULL, "stored base")) < 0) ||
        (error = wb_merge__three_way(&m, base, local, r->data, WB_MERGE_PREFER_LOCAL)) < 0)
        goto cleanup;
    error = park_conflict(store, l->local_id, envelope, m.conflicts);
cleanup:
    wb_merge__result_free(&m);
    cJSON_Delete(base);
    cJSON_Delete(local);
    return error;
}

/* Local edits pending against `base`, remote changed: merge per policy. */
static int merge_into(enum wb_remote_outcome *outcome, wb_store *store, const local_row *l,
                      const remote_env *r, const cJSON *envelope, int policy, int prefer_remote)
{
    cJSON *base = NULL, *local = NULL;
    wb_merge_result m = {NULL, NULL, 0};
    char *remote_text = NULL, *merged_text = NULL;
    int error;

    if (!(remote_text = wb_json__print(r->data)))
        return WB_ENOMEM;
    if (policy == WB_POLICY_SERVER_WINS) {
        error = write_server_version(store, l->local_id, r, remote_text, 1, WB_STATE_SYNCED, 0);
        *outcome = WB_REMOTE_UPDATED;
        goto cleanup;
    }
    if ((error = wb_json__parse(&local, l->data, strlen(l->data), NULL, "stored data")) < 0 ||
        (l->base &&
         (error = wb_json__parse(&base, l->base, strlen(l->base), NULL, "stored base")) < 0))
        goto cleanup;
    if (policy == WB_POLICY_CLIENT_WINS) {
        /* Keep every local value; the next PATCH (diff from the new base)
         * writes them over the server's. */
        error = write_server_version(store, l->local_id, r, remote_text, 0,
                                     wb_json__equal(local, r->data) ? WB_STATE_SYNCED
                                                                    : WB_STATE_PENDING_UPDATE,
                                     0);
        *outcome = WB_REMOTE_MERGED;
        goto cleanup;
    }
    if ((error = wb_merge__three_way(&m, base, local, r->data,
                                     prefer_remote ? WB_MERGE_PREFER_REMOTE
                                                   : WB_MERGE_PREFER_LOCAL)) < 0)
        goto cleanup;
    if (policy == WB_POLICY_MANUAL && m.n_conflicts > 0) {
        error = park_conflict(store, l->local_id, envelope, m.conflicts);
        *outcome = WB_REMOTE_CONFLICT;
        goto cleanup;
    }
    if (!(merged_text = wb_json__print(m.merged))) {
        error = WB_ENOMEM;
        goto cleanup;
    }
    /* Base becomes the server's version; data the merge. */
    if ((error = write_server_version(store, l->local_id, r, remote_text, 0,
                                      wb_json__equal(m.merged, r->data) ? WB_STATE_SYNCED
                                                                        : WB_STATE_PENDING_UPDATE,
                                      0)) < 0)
        goto cleanup;
    {
        sqlite3_stmt *st = NULL;
        if ((error = prepare(&st, store,
                             "UPDATE interactions SET data = wb_seal('interactions', 'data', ?1, ?2),"
                             " version = version + 1 WHERE local_id = ?1")) < 0)
            goto cleanup;
        sqlite3_bind_text(st, 1, l->local_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, merged_text, -1, SQLITE_STATIC);
        error = step_done(store, st, "merge");
        sqlite3_finalize(st);
        if (error == 0)
            error = wb_log__append_of(store, l->local_id, WB_LOG_SYNC, merged_text, m.merged);
    }
    *outcome = WB_REMOTE_MERGED;
cleanup:
    wb_merge__result_free(&m);
    cJSON_Delete(base);
    cJSON_Delete(local);
    wb__free(remote_text);
    wb__free(merged_text);
    return error;
}

/* The version we hold already (and nothing of ours is waiting on it). */
static int remote_unchanged(const local_row *l, const remote_env *r)
{
    return l->base_etag && strcmp(l->base_etag, r->etag) == 0 && !r->deleted == !l->deleted &&
           l->state != WB_STATE_PENDING_CREATE;
}

static int apply_to_local(enum wb_remote_outcome *outcome, wb_store *store, const local_row *l,
                          const remote_env *r, const cJSON *envelope, int policy,
                          int prefer_remote)
{
    char *text = NULL;
    int error = 0;

    if (remote_unchanged(l, r)) {
        *outcome = WB_REMOTE_UNCHANGED;
        return 0;
    }
    if (!l->base_etag && l->deleted && !r->deleted) {
        /* Our create reached the server although we deleted the record
         * meanwhile (its response was lost): the server copy must go. */
        if (!(text = wb_json__print(r->data)))
            return WB_ENOMEM;
        error = write_server_version(store, l->local_id, r, text, 0, WB_STATE_PENDING_DELETE, 1);
        wb__free(text);
        *outcome = WB_REMOTE_MERGED;
        return error;
    }
    switch (l->state) {
    case WB_STATE_PENDING_CREATE:
        if (r->deleted && !l->deleted) {
            /* Our create reached the server and was deleted there before we
             * heard back. Nothing changed here since: the delete stands;
             * changed: as an edit of a record deleted elsewhere. */
            cJSON *local = NULL;
            int same;
            if ((error = wb_json__parse(&local, l->data, strlen(l->data), NULL,
                                        "stored data")) < 0)
                return error;
            same = wb_json__equal(local, r->data);
            cJSON_Delete(local);
            if (same || policy == WB_POLICY_SERVER_WINS) {
                if (!(text = wb_json__print(r->data)))
                    return WB_ENOMEM;
                error = write_server_version(store, l->local_id, r, text, 1, WB_STATE_SYNCED, 1);
                *outcome = WB_REMOTE_DELETED;
            } else {
                error = park_conflict(store, l->local_id, envelope, NULL);
                *outcome = WB_REMOTE_CONFLICT;
            }
            break;
        }
        /* Our own create, seen before its acknowledgement: which version
         * was posted is unknown, and others may have edited it since. */
        error = adopt_unknown(store, l->local_id, l->data, l->deleted, r,
                              policy == WB_POLICY_SERVER_WINS ||
                                  (policy != WB_POLICY_CLIENT_WINS && prefer_remote));
        *outcome = WB_REMOTE_MERGED;
        return error;
    case WB_STATE_CONFLICT:
        /* Already parked: the same remote version again (the pull meeting
         * what a push's 412 fetched) changes nothing and is not a new
         * conflict; a newer one replaces the parked version. */
        if (l->conflict_etag && strcmp(l->conflict_etag, r->etag) == 0 &&
            !l->conflict_deleted == !r->deleted) {
            *outcome = WB_REMOTE_UNCHANGED;
            return 0;
        }
        *outcome = WB_REMOTE_REPARKED;
        if (r->deleted)
            return park_conflict(store, l->local_id, envelope, NULL);
        return repark_conflict(store, l, r, envelope);
    case WB_STATE_PENDING_DELETE:
        if (!(text = wb_json__print(r->data)))
            return WB_ENOMEM;
        if (r->deleted) {
            error = write_server_version(store, l->local_id, r, text, 0, WB_STATE_SYNCED, 1);
            *outcome = WB_REMOTE_DELETED;
        } else if (policy == WB_POLICY_SERVER_WINS) {
            error = write_server_version(store, l->local_id, r, text, 1, WB_STATE_SYNCED, 0);
            *outcome = WB_REMOTE_UPDATED;
        } else {
            /* The delete stays pending, now against the current etag. */
            error =
                write_server_version(store, l->local_id, r, text, 0, WB_STATE_PENDING_DELETE, 1);
            *outcome = WB_REMOTE_MERGED;
        }
        break;
    case WB_STATE_PENDING_UPDATE:
    case WB_STATE_REJECTED:
        if (r->deleted) {
            if (policy == WB_POLICY_SERVER_WINS) {
                if (!(text = wb_json__print(r->data)))
                    return WB_ENOMEM;
                error = write_server_version(store, l->local_id, r, text, 0, WB_STATE_SYNCED, 1);
                *outcome = WB_REMOTE_DELETED;
            } else {
                /* A local edit of a record deleted elsewhere cannot be
                 * merged; never drop the edit silently. */
                error = park_conflict(store, l->local_id, envelope, NULL);
                *outcome = WB_REMOTE_CONFLICT;
            }
            break;
        }
        error = merge_into(outcome, store, l, r, envelope, policy, prefer_remote);
        break;
    default: /* synced */
        if (!(text = wb_json__print(r->data)))
            return WB_ENOMEM;
        error = write_server_version(store, l->local_id, r, text, 1, WB_STATE_SYNCED, r->deleted);
        /* Our own acknowledged delete coming back is not a remote change. */
        *outcome = r->deleted ? (l->deleted ? WB_REMOTE_UNCHANGED : WB_REMOTE_DELETED)
                              : WB_REMOTE_UPDATED;
        break;
    }
    wb__free(text);
    return error;
}

int wb_syncstore__apply_remote(enum wb_remote_outcome *outcome, wb_store *store,
                               const cJSON *envelope, int policy, int prefer_remote)
{
    remote_env r;
    local_row l;
    char *text = NULL;
    int error, own, found;

    *outcome = WB_REMOTE_REFUSED;
    if ((error = read_envelope(&r, envelope)) < 0)
        return 0; /* refused, counted by the caller; the rest of the page goes on */
    if (!r.customer || !store->has_identity || strcmp(r.customer, store->customer_id) != 0)
        return 0;
    if ((error = begin_if_needed(store, &own)) < 0)
        return error;
    if ((found = find_local(&l, store, &r)) < 0) {
        error = found;
        goto done;
    }
    if (!found) {
        if (r.deleted) {
            *outcome = WB_REMOTE_UNCHANGED; /* a tombstone of something we never had */
            goto done;
        }
        if (!member_string(r.data, "campaignId") || !member_string(r.data, "contactId") ||
            !member_string(r.data, "timestamp")) {
            goto done; /* refused: not an interaction we can index */
        }
        if (!(text = wb_json__print(r.data))) {
            error = WB_ENOMEM;
            goto done;
        }
        error = insert_remote(store, &r, text);
        *outcome = WB_REMOTE_INSERTED;
        goto done;
    }
    error = apply_to_local(outcome, store, &l, &r, envelope, policy, prefer_remote);
    local_row_free(&l);
done:
    wb__free(text);
    return end_tx(store, own, error);
}

/* The slots of wb_remote_read's strings. */
enum {
    RS_ID, RS_CUSTOMER, RS_GROUP, RS_ETAG, RS_CREATED, RS_MODIFIED, RS_CREATED_BY,
    RS_MODIFIED_BY, RS_CAMPAIGN, RS_CONTACT, RS_TS, RS_HOUSEHOLD, RS_WALKLIST
};

/* A member value of compact text, when it is a string, into slot i (its
 * bytes without the quotes); else the slot says absent (as member_string). */
static void read_str(wb_remote_read *rd, int i, const char *text, const char *v, size_t n)
{
    if (v && *v == '"') {
        rd->off[i] = (uint32_t)(v + 1 - text);
        rd->len[i] = (uint32_t)(n - 2);
    } else {
        rd->len[i] = UINT32_MAX;
    }
}

void wb_syncstore__read_remote(wb_remote_read *rd, const char *text, size_t len)
{
    static const char *const env_names[] = {"id", "customerId", "securityGroupId", "data",
                                            "meta"};
    static const char *const meta_names[] = {"etag",      "created",    "modified",
                                             "createdBy", "modifiedBy", "isDeleted"};
    static const char *const data_names[] = {"campaignId", "contactId", "timestamp",
                                             "householdId", "walklistId"};
    const char *e[5], *m[6], *d[5];
    size_t e_n[5], m_n[6], d_n[5];
    char id[WB_UUID_LEN + 1];
    memset(rd, 0, sizeof(*rd));
    /* Not compact: printing its tree would not give back its data's text. */
    if (len >= UINT32_MAX || !wb_json__is_compact(text, len))
        return;
    wb_json__compact_members(text, len, env_names, 5, e, e_n);
    if (!e[3] || *e[3] != '{' || !e[4] || *e[4] != '{')
        return; /* parsed when applied, and refused there */
    wb_json__compact_members(e[4], e_n[4], meta_names, 6, m, m_n);
    wb_json__compact_members(e[3], e_n[3], data_names, 5, d, d_n);
    for (int i = 0; i < 3; i++)
        read_str(rd, RS_ID + i, text, e[i], e_n[i]);
    for (int i = 0; i < 5; i++)
        read_str(rd, RS_ETAG + i, text, m[i], m_n[i]);
    for (int i = 0; i < 5; i++)
        read_str(rd, RS_CAMPAIGN + i, text, d[i], d_n[i]);
    rd->deleted = m[5] && m_n[5] == 4 && memcmp(m[5], "true", 4) == 0;
    if (rd->len[RS_ID] != WB_UUID_LEN || rd->len[RS_ETAG] == UINT32_MAX)
        return;
    memcpy(id, text + rd->off[RS_ID], WB_UUID_LEN);
    id[WB_UUID_LEN] = '\0';
    if (!wb_uuid__valid(id))
        return;
    rd->data_off = (uint32_t)(e[3] - text);
    rd->data_len = (uint32_t)e_n[3];
    /* A new record's log entry (insert_remote: its local id is the id). */
    wb_log__content_compact(rd->content, id, e[3], e_n[3]);
    rd->compact = 1;
}

int wb_syncstore__apply_remote_read(enum wb_remote_outcome *outcome, wb_store *store,
                                    const wb_remote_read *rd, const char *text, size_t len,
                                    int policy, int prefer_remote)
{
    remote_env r, rt;
    local_row l;
    /* Where each RS_ slot goes in r. */
    static const size_t slot[WB_REMOTE_READ_STRINGS] = {
        offsetof(remote_env, id),          offsetof(remote_env, customer),
        offsetof(remote_env, group),       offsetof(remote_env, etag),
        offsetof(remote_env, created),     offsetof(remote_env, modified),
        offsetof(remote_env, created_by),  offsetof(remote_env, modified_by),
        offsetof(remote_env, campaign),    offsetof(remote_env, contact),
        offsetof(remote_env, ts),          offsetof(remote_env, household),
        offsetof(remote_env, walklist)};
    char small[1024], *buf, *cur;
    size_t need = 0;
    cJSON *env = NULL;
    int error = 0, own = 0, found;

    *outcome = WB_REMOTE_REFUSED;
    if (!rd->compact) {
        if ((error = wb_json__parse_checked(&env, text, len, "server list page")) == 0)
            error = wb_syncstore__apply_remote(outcome, store, env, policy, prefer_remote);
        cJSON_Delete(env);
        return error;
    }
    memset(&r, 0, sizeof(r));
    for (int i = 0; i < WB_REMOTE_READ_STRINGS; i++)
        if (rd->len[i] != UINT32_MAX)
            need += rd->len[i] + 1;
    if (need <= sizeof(small))
        buf = small;
    else if (!(buf = wb__malloc(need)))
        return wb_error__oom();
    cur = buf;
    for (int i = 0; i < WB_REMOTE_READ_STRINGS; i++) {
        if (rd->len[i] == UINT32_MAX)
            continue;
        memcpy(cur, text + rd->off[i], rd->len[i]);
        cur[rd->len[i]] = '\0';
        *(const char **)((char *)&r + slot[i]) = cur;
        cur += rd->len[i] + 1;
    }
    r.deleted = rd->deleted;
    r.data_text = text + rd->data_off;
    r.data_len = rd->data_len;
    r.content = rd->content;
    if (!r.customer || !store->has_identity || strcmp(r.customer, store->customer_id) != 0)
        goto cleanup; /* refused, as apply_remote */
    if ((error = begin_if_needed(store, &own)) < 0)
        goto cleanup;
    if ((found = find_local(&l, store, &r)) < 0) {
        error = found;
        goto done;
    }
    if (!found) {
        if (r.deleted)
            *outcome = WB_REMOTE_UNCHANGED; /* a tombstone of something we never had */
        else if (r.campaign && r.contact && r.ts) {
            error = insert_remote(store, &r, r.data_text);
            *outcome = WB_REMOTE_INSERTED;
        }
        goto done;
    }
    if (remote_unchanged(&l, &r)) {
        *outcome = WB_REMOTE_UNCHANGED;
    } else if ((error = wb_json__parse_checked(&env, text, len, "server list page")) == 0) {
        /* A local copy to change (merge, conflict): with the tree. */
        if (read_envelope(&rt, env) < 0) {
            wb_error_clear();
            *outcome = WB_REMOTE_REFUSED;
        } else {
            error = apply_to_local(outcome, store, &l, &rt, env, policy, prefer_remote);
        }
    }
    local_row_free(&l);
done:
    error = end_tx(store, own, error);
cleanup:
    cJSON_Delete(env);
    if (buf != small)
        wb__free(buf);
    return error;
}

int wb_syncstore__apply_remote_text(enum wb_remote_outcome *outcome, wb_store *store,
                                    const char *text, size_t len, int policy, int prefer_remote)
{
    wb_remote_read rd;
    wb_syncstore__read_remote(&rd, text, len);
    return wb_syncstore__apply_remote_read(outcome, store, &rd, text, len, policy, prefer_remote);
}

/* ---- watermarks ----------------------------------------------------------- */

int wb_syncstore__watermark(char *modified, char **seen, wb_store *store, const char *resource,
                            const char *scope)
{
    sqlite3_stmt *st = NULL;
    int error, rc;
    modified[0] = '\0';
    *seen = NULL;
    if ((error = prepare(&st, store,
                         "SELECT modified, seen FROM sync_watermarks WHERE resource = ?1"
                         " AND scope = ?2")) < 0)
        return error;
    sqlite3_bind_text(st, 1, resource, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, scope ? scope : "", -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        copy_fixed(modified, WB_TIMESTAMP_LEN + 1, col_text(st, 0));
        if (!(*seen = wb__strdup(col_text(st, 1))))
            error = wb_error__oom();
    } else if (rc != SQLITE_DONE) {
        error = wb_store__sqlite_error(store, rc, "watermark");
    }
    sqlite3_finalize(st);
    return error;
}

int wb_syncstore__set_watermark(wb_store *store, const char *resource, const char *scope,
                                const char *modified, const char *seen)
{
    sqlite3_stmt *st = NULL;
    int error;
    if ((error = prepare(&st, store,
                         "INSERT INTO sync_watermarks (resource, scope, modified, seen)"
                         " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (resource, scope) DO UPDATE"
                         " SET modified = excluded.modified, seen = excluded.seen")) < 0)
        return error;
    sqlite3_bind_text(st, 1, resource, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, scope ? scope : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, modified, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, seen ? seen : "[]", -1, SQLITE_STATIC);
    error = step_done(store, st, "watermark");
    sqlite3_finalize(st);
    return error;
}

/* ---- full re-pull ---------------------------------------------------------- */

int wb_syncstore__live_refs(wb_syncstore_ref **out, size_t *n, wb_store *store,
                            const char *campaign)
{
    sqlite3_stmt *st = NULL;
    wb_syncstore_ref *refs = NULL;
    size_t count = 0, cap = 0;
    int error, rc, oom = 0;

    *out = NULL;
    *n = 0;
    if ((error = prepare(&st, store,
                         "SELECT server_id, COALESCE(" WB_BASE_SQL ","
                         " wb_open('interactions', 'data', local_id, data)) FROM interactions"
                         " WHERE server_id IS NOT NULL AND deleted = 0"
                         " AND (?1 IS NULL OR campaign_id = ?1)")) < 0)
        return error;
    sqlite3_bind_text(st, 1, campaign, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            wb_syncstore_ref *grown = wb__realloc(refs, ncap * sizeof(*refs));
            if (!grown) {
                error = wb_error__oom();
                goto cleanup;
            }
            refs = grown;
            cap = ncap;
        }
        copy_fixed(refs[count].server_id, sizeof(refs[count].server_id), col_text(st, 0));
        refs[count].data = dup_col(st, 1, &oom);
        count++;
        if (oom) {
            error = wb_error__oom();
            goto cleanup;
        }
    }
    if (rc != SQLITE_DONE) {
        error = wb_store__sqlite_error(store, rc, "live records");
        goto cleanup;
    }
    *out = refs;
    *n = count;
    refs = NULL;
    count = 0;
cleanup:
    sqlite3_finalize(st);
    wb_syncstore__refs_free(refs, count);
    return error;
}

void wb_syncstore__refs_free(wb_syncstore_ref *refs, size_t n)
{
    if (!refs)
        return;
    for (size_t i = 0; i < n; i++)
        wb__free(refs[i].data);
    wb__free(refs);
}

int wb_syncstore__tombstone_of(cJSON **out, wb_store *store, const wb_syncstore_ref *ref)
{
    cJSON *env = NULL, *meta, *data = NULL;
    int error;
    *out = NULL;
    if ((error = wb_json__parse(&data, ref->data ? ref->data : "{}",
                                ref->data ? strlen(ref->data) : 2, NULL, "stored base")) < 0)
        return error;
    if (!(env = cJSON_CreateObject()) || !cJSON_AddStringToObject(env, "id", ref->server_id) ||
        !cJSON_AddStringToObject(env, "customerId", store->customer_id) ||
        !(meta = cJSON_AddObjectToObject(env, "meta")) ||
        !cJSON_AddStringToObject(meta, "etag", "") || !cJSON_AddTrueToObject(meta, "isDeleted") ||
        !cJSON_AddItemToObject(env, "data", data)) {
        cJSON_Delete(data);
        cJSON_Delete(env);
        return wb_error__oom();
    }
    *out = env;
    return 0;
}

int wb_syncstore__campaigns(char ***out, size_t *n, wb_store *store)
{
    sqlite3_stmt *st = NULL;
    char **list = NULL;
    size_t count = 0, cap = 0;
    int error, rc;

    *out = NULL;
    *n = 0;
    if ((error = prepare(&st, store,
                         "SELECT DISTINCT campaign_id FROM interactions"
                         " WHERE server_id IS NOT NULL AND campaign_id IS NOT NULL")) < 0)
        return error;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            char **grown = wb__realloc(list, ncap * sizeof(*list));
            if (!grown) {
                error = wb_error__oom();
                goto cleanup;
            }
            list = grown;
            cap = ncap;
        }
        if (!(list[count] = wb__strdup(col_text(st, 0)))) {
            error = wb_error__oom();
            goto cleanup;
        }
        count++;
    }
    if (rc != SQLITE_DONE) {
        error = wb_store__sqlite_error(store, rc, "campaigns");
        goto cleanup;
    }
    *out = list;
    *n = count;
    list = NULL;
    count = 0;
cleanup:
    sqlite3_finalize(st);
    for (size_t i = 0; i < count; i++)
        wb__free(list[i]);
    wb__free(list);
    return error;
}

/* ---- conflict resolution -------------------------------------------------- */

int wb_syncstore__conflict_json(char **out, wb_store *store, const char *id)
{
    sqlite3_stmt *st = NULL;
    wb_buf b = WB_BUF_INIT;
    int error, rc;
    *out = NULL;
    if ((error = prepare(&st, store,
                         "SELECT local_id, wb_open('interactions', 'data', local_id, data),"
                         " wb_open('interactions', 'conflict_remote', local_id, conflict_remote),"
                         " wb_open('interactions', 'conflict_paths', local_id, conflict_paths)"
                         " FROM interactions"
                         " WHERE (local_id = ?1 OR (" WB_SERVER_ID_IS("", "?1") "))"
                         " AND state = 16 LIMIT 1")) < 0)
        return error;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        error = wb_error__set(WB_ENOTFOUND, WB_ERRCLASS_STORE, "interaction %s: not in conflict",
                              id);
        goto cleanup;
    }
    if (rc != SQLITE_ROW) {
        error = wb_store__sqlite_error(store, rc, "conflict");
        goto cleanup;
    }
    /* All stored texts are compact JSON we wrote. */
    wb_buf__puts(&b, "{\"id\":");
    wb_buf__put_json_string(&b, col_text(st, 0));
    wb_buf__puts(&b, ",\"local\":");
    wb_buf__puts(&b, col_text(st, 1));
    wb_buf__puts(&b, ",\"remote\":");
    wb_buf__puts(&b, sqlite3_column_type(st, 2) == SQLITE_NULL ? "null" : col_text(st, 2));
    wb_buf__puts(&b, ",\"paths\":");
    wb_buf__puts(&b, sqlite3_column_type(st, 3) == SQLITE_NULL ? "[]" : col_text(st, 3));
    wb_buf__putc(&b, '}');
    if (!(*out = wb_buf__detach(&b)))
        error = wb_error__oom();
cleanup:
    sqlite3_finalize(st);
    wb_buf__free(&b);
    return error;
}

/* Set data (and bump the version) after write_server_version. */
static int set_data(wb_store *store, const char *local_id, const char *data_text, int state)
{
    sqlite3_stmt *st = NULL;
    int error;
    if ((error = prepare(&st, store,
                         "UPDATE interactions SET data = wb_seal('interactions', 'data', ?1, ?2),"
                         " state = ?3, version = version + 1 WHERE local_id = ?1")) < 0)
        return error;
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, data_text, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, state);
    error = step_done(store, st, "resolve");
    sqlite3_finalize(st);
    if (error == 0)
        error = wb_log__append(store, local_id, WB_LOG_UPDATE, data_text);
    return error;
}

/* The server deleted the record but the user keeps their version: it goes
 * to the server again as a new record. */
static int recreate(wb_store *store, const char *local_id, const char *data_text)
{
    sqlite3_stmt *st = NULL;
    int error;
    if ((error = prepare(&st, store,
                         "UPDATE interactions SET data = wb_seal('interactions', 'data', ?1, ?2),"
                         " state = 2, version = version + 1,"
                         " server_id = NULL, base = NULL, base_etag = NULL, etag = '',"
                         " deleted = 0, deleted_at = NULL,"
                         " conflict_remote = NULL, conflict_paths = NULL WHERE local_id = ?1")) < 0)
        return error;
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, data_text, -1, SQLITE_STATIC);
    error = step_done(store, st, "resolve");
    sqlite3_finalize(st);
    /* A new create: the old one's mark must not make it a lookup. */
    if (error == 0)
        error = update_one(store, UNMARK_SQL, local_id, 0, "unmark");
    if (error == 0)
        error = wb_log__append(store, local_id, WB_LOG_UPDATE, data_text);
    return error;
}

int wb_syncstore__resolve(wb_store *store, const char *id, int resolution,
                          const cJSON *document)
{
    sqlite3_stmt *st = NULL;
    cJSON *env = NULL, *local = NULL, *base = NULL;
    wb_merge_result m = {NULL, NULL, 0};
    const cJSON *chosen;
    char local_id[WB_UUID_LEN + 1];
    char *remote_text = NULL, *chosen_text = NULL;
    remote_env r;
    int error, rc, own = 0, in_tx = 0;

    if ((error = wb_store__begin(store)) < 0)
        return error;
    in_tx = own = 1;
    if ((error = prepare(&st, store,
                         "SELECT local_id, wb_open('interactions', 'data', local_id, data),"
                         " wb_open('interactions', 'conflict_remote', local_id, conflict_remote),"
                         " " WB_BASE_SQL " FROM interactions"
                         " WHERE (local_id = ?1 OR (" WB_SERVER_ID_IS("", "?1") "))"
                         " AND state = 16 LIMIT 1")) < 0)
        goto cleanup;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        error = rc == SQLITE_DONE ? wb_error__set(WB_ENOTFOUND, WB_ERRCLASS_STORE,
                                                  "interaction %s: not in conflict", id)
                                  : wb_store__sqlite_error(store, rc, "resolve");
        goto cleanup;
    }
    copy_fixed(local_id, sizeof(local_id), col_text(st, 0));
    if (sqlite3_column_type(st, 3) != SQLITE_NULL &&
        (error = wb_json__parse(&base, col_text(st, 3), (size_t)sqlite3_column_bytes(st, 3), NULL,
                                "stored base")) < 0) {
        error = wb_error__set(WB_ECORRUPT, WB_ERRCLASS_STORE,
                              "interaction %s: stored base is damaged", id);
        goto cleanup;
    }
    if ((error = wb_json__parse(&local, col_text(st, 1), (size_t)sqlite3_column_bytes(st, 1),
                                NULL, "stored data")) < 0 ||
        (error = wb_json__parse(&env, col_text(st, 2), (size_t)sqlite3_column_bytes(st, 2), NULL,
                                "stored remote")) < 0 ||
        (error = read_envelope(&r, env)) < 0) {
        error = wb_error__set(WB_ECORRUPT, WB_ERRCLASS_STORE,
                              "interaction %s: stored conflict is damaged", id);
        goto cleanup;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!(remote_text = wb_json__print(r.data))) {
        error = WB_ENOMEM;
        goto cleanup;
    }
    if (resolution == WB_TAKE_REMOTE && r.deleted) {
        error = write_server_version(store, local_id, &r, remote_text, 1, WB_STATE_SYNCED, 1);
        goto cleanup;
    }
    if (resolution == WB_TAKE_DOCUMENT) {
        chosen = document;
    } else if (r.deleted) {
        chosen = local;
    } else {
        /* Local or remote decides the fields both sides changed; a change
         * only one side made is kept either way (the manager's new status
         * survives the canvasser keeping their answer, and vice versa). */
        if ((error = wb_merge__three_way(&m, base, local, r.data,
                                         resolution == WB_TAKE_REMOTE ? WB_MERGE_PREFER_REMOTE
                                                                      : WB_MERGE_PREFER_LOCAL)) <
            0)
            goto cleanup;
        chosen = m.merged;
    }
    if (!(chosen_text = wb_json__print(chosen))) {
        error = WB_ENOMEM;
        goto cleanup;
    }
    if (r.deleted) {
        error = recreate(store, local_id, chosen_text);
        goto cleanup;
    }
    /* Base becomes the server's version; the chosen data is sent over it. */
    if ((error = write_server_version(store, local_id, &r, remote_text, 0, WB_STATE_PENDING_UPDATE,
                                      0)) < 0)
        goto cleanup;
    error = set_data(store, local_id, chosen_text,
                     wb_json__equal(chosen, r.data) ? WB_STATE_SYNCED : WB_STATE_PENDING_UPDATE);
cleanup:
    sqlite3_finalize(st);
    wb_merge__result_free(&m);
    cJSON_Delete(env);
    cJSON_Delete(local);
    cJSON_Delete(base);
    wb__free(remote_text);
    wb__free(chosen_text);
    if (in_tx)
        return end_tx(store, own, error);
    return error;
}
