/*
 * interaction.c - recording, reading, patching and deleting interactions,
 * and the change tracking the sync engine consumes.
 *
 * Change tracking (DESIGN.md, "Local record model"): every local change bumps
 * `version` and moves `state` by these rules, so that a push never has to
 * read history:
 *
 *   change   | from state        | to state
 *   ---------+-------------------+------------------------------------------
 *   record   | (new)             | pending_create
 *   update   | pending_create    | pending_create (create+update = 1 create)
 *   update   | synced            | pending_update (base kept)
 *   update   | pending_update    | pending_update, or synced when the data
 *            |                   | is back to base (nothing left to send)
 *   update   | rejected          | pending_update with a base, else
 *            |                   | pending_create (the fix is retried)
 *   delete   | pending_create    | synced tombstone (create+delete = nothing),
 *            |                   | or pending_delete if a POST of it may
 *            |                   | have reached the server
 *   delete   | rejected, no base | synced tombstone
 *   delete   | synced, pending_  | pending_delete
 *            | update, rejected  |
 *   any      | conflict          | refused until the conflict is resolved
 *
 * A PATCH is computed at push time as diff(base, data), so several updates
 * coalesce into one request.
 */
#include <string.h>

#include "crypto.h"
#include "envelope.h"
#include "jsonpatch.h"
#include "store_int.h"
#include "timeutil.h"
#include "validate.h"

/* Columns of WB_STMT_GET after the envelope's. */
enum {
    GET_STATE = WB_ENVELOPE_NCOLS,
    GET_BASE,
    GET_SERVER_ID,
    GET_VERSION,
    GET_BASE_ETAG,
    GET_LAST_ERROR,
    GET_CREATE_ATTEMPTED
};

static const struct {
    int state;
    const char *name;
} state_names[] = {
    {WB_STATE_SYNCED, "synced"},
    {WB_STATE_PENDING_CREATE, "pending_create"},
    {WB_STATE_PENDING_UPDATE, "pending_update"},
    {WB_STATE_PENDING_DELETE, "pending_delete"},
    {WB_STATE_CONFLICT, "conflict"},
    {WB_STATE_REJECTED, "rejected"},
};

const char *wb_sync_state_name(int state)
{
    for (size_t i = 0; i < WB__ARRAY_SIZE(state_names); i++)
        if (state_names[i].state == state)
            return state_names[i].name;
    return NULL;
}

int wb_sync_state_from_name(const char *name)
{
    if (!name)
        return 0;
    for (size_t i = 0; i < WB__ARRAY_SIZE(state_names); i++)
        if (strcmp(state_names[i].name, name) == 0)
            return state_names[i].state;
    return 0;
}

static const char *opt_string(const cJSON *data, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(data, name);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* Bind the indexed copies of data members (validated before). */
static void bind_index_columns(sqlite3_stmt *st, const cJSON *data, int campaign, int contact,
                               int household, int walklist, int ts)
{
    sqlite3_bind_text(st, campaign, opt_string(data, "campaignId"), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, contact, opt_string(data, "contactId"), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, household, opt_string(data, "householdId"), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, walklist, opt_string(data, "walklistId"), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, ts, opt_string(data, "timestamp"), -1, SQLITE_STATIC);
}

/* Validate one create body and insert it. `id` receives the new id. */
static int insert_one(wb_store *store, const char *body, char *id)
{
    cJSON *root = NULL;
    const cJSON *data;
    char *data_text = NULL;
    wb_buf sealed = WB_BUF_INIT;
    char now[WB_TIMESTAMP_LEN + 1];
    sqlite3_stmt *st;
    int error, rc;

    if ((error = wb_json__parse(&root, body, strlen(body), NULL, "body")) < 0)
        return error;
    if (!(data = wb_validate__create_data(root))) {
        error = WB_EINVALID;
        goto cleanup;
    }
    if ((error = wb_validate__interaction(data)) < 0)
        goto cleanup;
    if (!(data_text = wb_json__print(data))) {
        error = WB_ENOMEM;
        goto cleanup;
    }
    wb_uuid__v4(id);
    if ((error = wb_crypto__seal(&sealed, store, "interactions", "data", id, data_text,
                                 strlen(data_text))) < 0)
        goto cleanup;
    if ((error = wb_store__stmt(&st, store, WB_STMT_INSERT)) < 0)
        goto cleanup;
    wb_store__next_modified(store, now);
    sqlite3_bind_text(st, 1, id, WB_UUID_LEN, SQLITE_STATIC);
    bind_index_columns(st, data, 2, 3, 4, 5, 6);
    wb_crypto__bind_sealed(st, 7, store, &sealed);
    sqlite3_bind_text(st, 8, now, WB_TIMESTAMP_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, store->user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, store->customer_id, -1, SQLITE_STATIC);
    if (store->security_group_id[0])
        sqlite3_bind_text(st, 11, store->security_group_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        error = wb_store__sqlite_error(store, rc, "record");
    sqlite3_reset(st);
    if (error == 0)
        error = wb_log__append(store, id, WB_LOG_RECORD, data_text);
cleanup:
    wb_crypto__wipe_free(&data_text);
    wb_buf__free(&sealed);
    cJSON_Delete(root);
    return error;
}

int wb_interaction__insert(wb_store *store, const char *body, char *id)
{
    return insert_one(store, body, id);
}

static int check_writable(wb_store *store)
{
    if (store->readonly)
        return wb_error__set(WB_EREADONLY, WB_ERRCLASS_STORE, "store is read-only");
    return wb_store__require_identity(store);
}

int wb_interaction_record(char **out_id, wb_store *store, const char *body)
{
    char id[WB_UUID_LEN + 1];
    int error;

    wb_error__reset();
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(body);
    if (out_id)
        *out_id = NULL;
    if ((error = check_writable(store)) < 0)
        return error;
    /* The record and its signed log entry commit together. */
    if ((error = wb_store__begin(store)) < 0)
        return error;
    if ((error = insert_one(store, body, id)) < 0) {
        wb_store__rollback(store);
        return error;
    }
    if ((error = wb_store__commit(store)) < 0)
        return error;
    if (out_id && !(*out_id = wb__strdup(id)))
        return wb_error__oom(); /* stored; only the copy of the id failed */
    return 0;
}

int wb_interaction_record_batch(char **out_ids, wb_store *store, const char *const *bodies,
                                size_t n)
{
    char(*ids)[WB_UUID_LEN + 1] = NULL;
    int error = 0;
    size_t i;

    wb_error__reset();
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(bodies || n == 0);
    if (out_ids)
        for (i = 0; i < n; i++)
            out_ids[i] = NULL;
    if ((error = check_writable(store)) < 0)
        return error;
    if (n == 0)
        return 0;
    if (out_ids && !(ids = wb__calloc(n, sizeof(*ids))))
        return wb_error__oom();
    if ((error = wb_store__begin(store)) < 0)
        goto cleanup;
    for (i = 0; i < n; i++) {
        char id[WB_UUID_LEN + 1];
        if (!bodies[i]) {
            error = wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "records[%zu]: NULL body", i);
            break;
        }
        if ((error = insert_one(store, bodies[i], id)) < 0) {
            char prefix[40];
            snprintf(prefix, sizeof(prefix), "records[%zu]", i);
            wb_error__prefix(prefix);
            break;
        }
        if (ids)
            memcpy(ids[i], id, sizeof(id));
    }
    if (error < 0) {
        wb_store__rollback(store);
        goto cleanup;
    }
    if ((error = wb_store__commit(store)) < 0)
        goto cleanup;
    if (out_ids) {
        for (i = 0; i < n; i++) {
            if (!(out_ids[i] = wb__strdup(ids[i]))) {
                /* Stored; hand out nothing rather than a partial list. */
                for (size_t j = 0; j < i; j++) {
                    wb__free(out_ids[j]);
                    out_ids[j] = NULL;
                }
                error = wb_error__oom();
                break;
            }
        }
    }
cleanup:
    wb__free(ids);
    return error;
}

/* Position the cached GET statement on the record `id` (local or server id).
 * Deleted records count as absent unless include_deleted. */
static int find(sqlite3_stmt **out, wb_store *store, const char *id, int include_deleted)
{
    sqlite3_stmt *st;
    int error, rc;
    if ((error = wb_store__stmt(&st, store, WB_STMT_GET)) < 0)
        return error;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && (include_deleted || !sqlite3_column_int(st, 7))) {
        *out = st;
        return 0;
    }
    error = rc == SQLITE_ROW || rc == SQLITE_DONE
                ? wb_error__set(WB_ENOTFOUND, WB_ERRCLASS_STORE, "interaction %s: not found", id)
                : wb_store__sqlite_error(store, rc, "get");
    sqlite3_reset(st);
    return error;
}

/* The local id of the GET row, which may have been found by its server id. */
static void copy_local_id(char *out, sqlite3_stmt *st)
{
    const char *id = (const char *)sqlite3_column_text(st, 0);
    snprintf(out, WB_UUID_LEN + 1, "%s", id ? id : "");
}

/* The plaintext of a sealed column of the GET row into out. */
static int open_column(wb_buf *out, wb_store *store, sqlite3_stmt *st, int col,
                       const char *column, const char *local_id)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return wb_error__set(WB_ECORRUPT, WB_ERRCLASS_STORE, "interaction %s: no %s", local_id,
                             column);
    return wb_crypto__open_column(out, store, "interactions", column, local_id, st, col);
}

static int check_id(const char *id)
{
    if (!wb_uuid__valid(id))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "id: must be a UUID");
    return 0;
}

int wb_interaction_get(char **out_json, wb_store *store, const char *id, int include_deleted)
{
    wb_buf b = WB_BUF_INIT;
    sqlite3_stmt *st;
    int error;

    wb_error__reset();
    WB__CHECK_ARG(out_json);
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(id);
    *out_json = NULL;
    if ((error = check_id(id)) < 0 || (error = find(&st, store, id, include_deleted)) < 0)
        return error;
    error = wb_envelope__append(&b, st, store);
    sqlite3_reset(st);
    if (error < 0)
        goto cleanup;
    if (!(*out_json = wb_buf__detach(&b)))
        error = wb_error__oom();
cleanup:
    wb_buf__free(&b);
    return error;
}

int wb_interaction_sync_info(char **out_json, wb_store *store, const char *id)
{
    wb_buf b = WB_BUF_INIT;
    sqlite3_stmt *st;
    const char *s;
    int error;

    wb_error__reset();
    WB__CHECK_ARG(out_json);
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(id);
    *out_json = NULL;
    if ((error = check_id(id)) < 0 || (error = find(&st, store, id, 1)) < 0)
        return error;
    wb_buf__puts(&b, "{\"id\":");
    wb_buf__put_json_string(&b, (const char *)sqlite3_column_text(st, 0));
    wb_buf__puts(&b, ",\"serverId\":");
    s = (const char *)sqlite3_column_text(st, GET_SERVER_ID);
    s ? wb_buf__put_json_string(&b, s) : wb_buf__puts(&b, "null");
    s = wb_sync_state_name(sqlite3_column_int(st, GET_STATE));
    wb_buf__puts(&b, ",\"state\":");
    wb_buf__put_json_string(&b, s ? s : "unknown");
    wb_buf__printf(&b, ",\"version\":%lld", (long long)sqlite3_column_int64(st, GET_VERSION));
    wb_buf__puts(&b, ",\"baseEtag\":");
    s = (const char *)sqlite3_column_text(st, GET_BASE_ETAG);
    s ? wb_buf__put_json_string(&b, s) : wb_buf__puts(&b, "null");
    wb_buf__puts(&b, sqlite3_column_int(st, 7) ? ",\"deleted\":true" : ",\"deleted\":false");
    wb_buf__puts(&b, ",\"lastError\":");
    if (sqlite3_column_type(st, GET_LAST_ERROR) == SQLITE_NULL) {
        wb_buf__puts(&b, "null");
    } else {
        wb_buf msg = WB_BUF_INIT;
        char local_id[WB_UUID_LEN + 1];
        copy_local_id(local_id, st);
        error = open_column(&msg, store, st, GET_LAST_ERROR, "last_error", local_id);
        if (error == 0)
            wb_buf__put_json_string(&b, msg.ptr ? msg.ptr : "");
        wb_buf__free(&msg);
    }
    wb_buf__putc(&b, '}');
    sqlite3_reset(st);
    if (error == 0 && !(*out_json = wb_buf__detach(&b)))
        error = wb_error__oom();
    wb_buf__free(&b);
    return error;
}

/* Parse a patch given as [ops] or {"data":[ops]}. */
static int parse_patch(cJSON **out, const char *text)
{
    cJSON *root = NULL, *ops;
    int error;
    if ((error = wb_json__parse(&root, text, strlen(text), NULL, "patch")) < 0)
        return error;
    if (cJSON_IsObject(root)) {
        ops = cJSON_GetObjectItemCaseSensitive(root, "data");
        if (!ops || root->child != ops || ops->next) {
            error = wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                                  "patch: must be an array of operations or {\"data\":[…]}");
            goto cleanup;
        }
        cJSON_DetachItemViaPointer(root, ops);
        cJSON_Delete(root);
        root = ops;
    }
    if (!cJSON_IsArray(root)) {
        error = wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                              "patch: must be an array of operations");
        goto cleanup;
    }
    if ((error = wb_validate__rebase_patch(root)) < 0)
        goto cleanup;
    *out = root;
    root = NULL;
cleanup:
    cJSON_Delete(root);
    return error;
}

int wb_interaction_update(wb_store *store, const char *id, const char *patch_text)
{
    cJSON *patch = NULL, *doc = NULL, *base = NULL;
    char *data_text = NULL;
    wb_buf plain = WB_BUF_INIT, sealed = WB_BUF_INIT;
    char now[WB_TIMESTAMP_LEN + 1];
    char local_id[WB_UUID_LEN + 1];
    sqlite3_stmt *st;
    int error, rc, state, new_state, in_tx = 0;

    wb_error__reset();
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(id);
    WB__CHECK_ARG(patch_text);
    if ((error = check_id(id)) < 0 || (error = check_writable(store)) < 0)
        return error;
    if ((error = parse_patch(&patch, patch_text)) < 0)
        return error;
    /* Read and write under one write lock: the sync engine may be changing
     * the same row from another connection. */
    if ((error = wb_store__begin(store)) < 0)
        goto cleanup;
    in_tx = 1;
    if ((error = find(&st, store, id, 0)) < 0)
        goto cleanup;
    state = sqlite3_column_int(st, GET_STATE);
    copy_local_id(local_id, st);
    if (state == WB_STATE_CONFLICT) {
        sqlite3_reset(st);
        error = wb_error__set(WB_ECONFLICT, WB_ERRCLASS_STORE,
                              "interaction %s: in conflict; resolve it first", id);
        goto cleanup;
    }
    error = open_column(&plain, store, st, 1, "data", local_id);
    if (error == 0)
        error = wb_json__parse(&doc, plain.ptr, plain.len, NULL, "stored data");
    if (error == 0 && sqlite3_column_type(st, GET_BASE) != SQLITE_NULL) {
        wb_crypto__wipe_buf(&plain);
        error = open_column(&plain, store, st, GET_BASE, "base", local_id);
        if (error == 0)
            error = wb_json__parse(&base, plain.ptr, plain.len, NULL, "stored base");
    } else if (error == 0 && sqlite3_column_type(st, GET_BASE_ETAG) != SQLITE_NULL &&
               !(base = wb_json__dup(doc))) {
        error = WB_ENOMEM; /* the base is the data (store_int.h, WB_BASE_SQL) */
    }
    wb_crypto__wipe_buf(&plain);
    sqlite3_reset(st);
    if (error < 0) {
        if (error == WB_EINVALID)
            error = wb_error__set(WB_ECORRUPT, WB_ERRCLASS_STORE,
                                  "interaction %s: stored JSON is damaged", id);
        goto cleanup;
    }

    {
        cJSON *before = wb_json__dup(doc);
        if (!before) {
            error = WB_ENOMEM;
            goto cleanup;
        }
        error = wb_jsonpatch__apply(&doc, patch);
        if (error == 0 && !cJSON_IsObject(doc))
            error = wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "data: must be an object");
        if (error == 0)
            error = wb_validate__interaction(doc);
        if (error == 0 && wb_json__equal(before, doc)) {
            /* Nothing changed: no new version, nothing to send. */
            cJSON_Delete(before);
            goto cleanup;
        }
        cJSON_Delete(before);
        if (error < 0)
            goto cleanup;
    }

    switch (state) {
    case WB_STATE_PENDING_CREATE: new_state = WB_STATE_PENDING_CREATE; break;
    case WB_STATE_REJECTED:
        new_state = base ? WB_STATE_PENDING_UPDATE : WB_STATE_PENDING_CREATE;
        break;
    default: new_state = WB_STATE_PENDING_UPDATE; break;
    }
    if (new_state == WB_STATE_PENDING_UPDATE && base && wb_json__equal(base, doc))
        new_state = WB_STATE_SYNCED; /* edited back to what the server has */

    if (!(data_text = wb_json__print(doc))) {
        error = WB_ENOMEM;
        goto cleanup;
    }
    if ((error = wb_crypto__seal(&sealed, store, "interactions", "data", local_id, data_text,
                                 strlen(data_text))) < 0)
        goto cleanup;
    if ((error = wb_store__stmt(&st, store, WB_STMT_UPDATE_DATA)) < 0)
        goto cleanup;
    wb_store__next_modified(store, now);
    sqlite3_bind_text(st, 1, local_id, WB_UUID_LEN, SQLITE_STATIC);
    wb_crypto__bind_sealed(st, 2, store, &sealed);
    bind_index_columns(st, doc, 3, 4, 5, 6, 7);
    sqlite3_bind_text(st, 8, now, WB_TIMESTAMP_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, store->user_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 10, new_state);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        error = wb_store__sqlite_error(store, rc, "update");
        goto cleanup;
    }
    if ((error = wb_log__append(store, local_id, WB_LOG_UPDATE, data_text)) < 0)
        goto cleanup;
    in_tx = 0;
    error = wb_store__commit(store);
cleanup:
    if (in_tx) {
        if (error < 0)
            wb_store__rollback(store);
        else
            error = wb_store__commit(store); /* nothing changed: end the read */
    }
    wb_crypto__wipe_free(&data_text);
    wb_crypto__wipe_buf(&plain);
    wb_buf__free(&plain);
    wb_buf__free(&sealed);
    cJSON_Delete(patch);
    cJSON_Delete(doc);
    cJSON_Delete(base);
    return error;
}

int wb_interaction_delete(wb_store *store, const char *id)
{
    char now[WB_TIMESTAMP_LEN + 1];
    char local_id[WB_UUID_LEN + 1];
    sqlite3_stmt *st;
    int error, rc, state, new_state, has_base;

    wb_error__reset();
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(id);
    if ((error = check_id(id)) < 0 || (error = check_writable(store)) < 0)
        return error;
    if ((error = wb_store__begin(store)) < 0)
        return error;
    if ((error = find(&st, store, id, 0)) < 0)
        goto cleanup;
    state = sqlite3_column_int(st, GET_STATE);
    copy_local_id(local_id, st);
    /* A create that may have reached the server (sent, outcome unknown)
     * counts as known to it: the engine must find and delete that copy. */
    has_base = sqlite3_column_type(st, GET_BASE) != SQLITE_NULL ||
               sqlite3_column_type(st, GET_BASE_ETAG) != SQLITE_NULL ||
               sqlite3_column_int(st, GET_CREATE_ATTEMPTED) != 0;
    sqlite3_reset(st);
    if (state == WB_STATE_CONFLICT) {
        error = wb_error__set(WB_ECONFLICT, WB_ERRCLASS_STORE,
                              "interaction %s: in conflict; resolve it first", id);
        goto cleanup;
    }
    /* The server never saw a record without a base: nothing to send. */
    new_state = has_base ? WB_STATE_PENDING_DELETE : WB_STATE_SYNCED;
    if ((error = wb_store__stmt(&st, store, WB_STMT_DELETE)) < 0)
        goto cleanup;
    wb_store__next_modified(store, now);
    sqlite3_bind_text(st, 1, local_id, WB_UUID_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, store->last_modified_ms);
    sqlite3_bind_text(st, 3, now, WB_TIMESTAMP_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, store->user_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, new_state);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        error = wb_store__sqlite_error(store, rc, "delete");
        goto cleanup;
    }
    if ((error = wb_log__append(store, local_id, WB_LOG_DELETE, NULL)) < 0)
        goto cleanup;
    return wb_store__commit(store);
cleanup:
    wb_store__rollback(store);
    return error;
}

int wb_interaction_purge(uint64_t *out_purged, wb_store *store, int64_t older_than_ms)
{
    sqlite3_stmt *st = NULL;
    int error = 0, rc;

    wb_error__reset();
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(older_than_ms >= 0);
    if (out_purged)
        *out_purged = 0;
    if (store->readonly)
        return wb_error__set(WB_EREADONLY, WB_ERRCLASS_STORE, "store is read-only");
    /* Only tombstones with nothing left to send (state synced) may go. */
    rc = sqlite3_prepare_v2(store->db,
                            "DELETE FROM interactions WHERE deleted = 1 AND state = 1"
                            " AND deleted_at <= ?1",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, wb_store__now(store) - older_than_ms);
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_DONE)
        error = wb_store__sqlite_error(store, rc, "purge");
    else if (out_purged)
        *out_purged = (uint64_t)sqlite3_changes64(store->db);
    sqlite3_finalize(st);
    return error;
}
