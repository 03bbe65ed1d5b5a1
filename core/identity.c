/*
 * identity.c - the store's identity (customer, user, security groups), set
 * once, and the status summary.
 */
#include <string.h>

#include "store_int.h"
#include "timeutil.h"

int wb_store__load_identity(wb_store *store)
{
    sqlite3_stmt *st = NULL;
    int rc, error = 0;
    rc = sqlite3_prepare_v2(store->db,
                            "SELECT customer_id, user_id, json_extract(security_groups, '$[0]')"
                            " FROM identity WHERE id = 1",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return wb_store__sqlite_error(store, rc, "identity");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(st, 0);
        const char *u = (const char *)sqlite3_column_text(st, 1);
        const char *g = (const char *)sqlite3_column_text(st, 2);
        if (!c || !u || !wb_uuid__valid(c) || !wb_uuid__valid(u) || (g && !wb_uuid__valid(g))) {
            error = wb_error__set(WB_ECORRUPT, WB_ERRCLASS_STORE,
                                  "identity: stored ids are not UUIDs");
            goto cleanup;
        }
        memcpy(store->customer_id, c, WB_UUID_LEN + 1);
        memcpy(store->user_id, u, WB_UUID_LEN + 1);
        if (g)
            memcpy(store->security_group_id, g, WB_UUID_LEN + 1);
        else
            store->security_group_id[0] = '\0';
        store->has_identity = 1;
    } else if (rc != SQLITE_DONE) {
        error = wb_store__sqlite_error(store, rc, "identity");
    }
cleanup:
    sqlite3_finalize(st);
    return error;
}

int wb_store__require_identity(wb_store *store)
{
    if (store->has_identity)
        return 0;
    return wb_error__set(WB_ENOTFOUND, WB_ERRCLASS_STORE,
                         "identity: not set; set the customer and user first");
}


int wb_store_set_identity(wb_store *store, const char *customer_id, const char *user_id,
                          const char *const *security_groups, size_t n_security_groups)
{
    wb_buf groups = WB_BUF_INIT;
    sqlite3_stmt *st = NULL;
    char now[WB_TIMESTAMP_LEN + 1];
    int error = 0, rc;

    wb_error__reset();
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(customer_id);
    WB__CHECK_ARG(user_id);
    WB__CHECK_ARG(security_groups || n_security_groups == 0);
    if (store->readonly)
        return wb_error__set(WB_EREADONLY, WB_ERRCLASS_STORE, "identity: store is read-only");
    if (!wb_uuid__valid(customer_id))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "customerId: must be a UUID");
    if (!wb_uuid__valid(user_id))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "userId: must be a UUID");
    for (size_t i = 0; i < n_security_groups; i++) {
        if (!security_groups[i] || !wb_uuid__valid(security_groups[i]))
            return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                                 "securityGroupIds[%zu]: must be a UUID", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(security_groups[i], security_groups[j]) == 0)
                return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                                     "securityGroupIds[%zu]: duplicate", i);
    }

    if (store->has_identity) {
        /* Setting the same identity again is harmless (idempotent init). */
        const char *first = n_security_groups ? security_groups[0] : "";
        if (strcmp(store->customer_id, customer_id) == 0 &&
            strcmp(store->user_id, user_id) == 0 && strcmp(store->security_group_id, first) == 0)
            return 0;
        return wb_error__set(WB_EEXISTS, WB_ERRCLASS_STORE,
                             "identity: already set to another customer or user");
    }

    wb_buf__putc(&groups, '[');
    for (size_t i = 0; i < n_security_groups; i++) {
        if (i)
            wb_buf__putc(&groups, ',');
        wb_buf__put_json_string(&groups, security_groups[i]);
    }
    if (wb_buf__putc(&groups, ']') < 0) {
        error = wb_error__oom();
        goto cleanup;
    }
    wb_time__format(now, wb_store__now(store));
    rc = sqlite3_prepare_v2(store->db,
                            "INSERT INTO identity (id, customer_id, user_id, security_groups, created)"
                            " VALUES (1, ?1, ?2, ?3, ?4)",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, customer_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, groups.ptr, (int)groups.len, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_DONE) {
        /* Another handle may have set it meanwhile: report what is there. */
        error = wb_store__sqlite_error(store, rc, "identity");
        if (error == WB_EEXISTS)
            wb_error__set(WB_EEXISTS, WB_ERRCLASS_STORE, "identity: already set");
        goto cleanup;
    }
    error = wb_store__load_identity(store);
cleanup:
    sqlite3_finalize(st);
    wb_buf__free(&groups);
    return error;
}

int wb_store_identity(char **out_json, wb_store *store)
{
    sqlite3_stmt *st = NULL;
    wb_buf b = WB_BUF_INIT;
    int error = 0, rc;

    wb_error__reset();
    WB__CHECK_ARG(out_json);
    WB__CHECK_ARG(store);
    *out_json = NULL;
    rc = sqlite3_prepare_v2(store->db,
                            "SELECT customer_id, user_id, security_groups FROM identity WHERE id = 1",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return wb_store__sqlite_error(store, rc, "identity");
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        error = wb_error__set(WB_ENOTFOUND, WB_ERRCLASS_STORE, "identity: not set");
        goto cleanup;
    }
    if (rc != SQLITE_ROW) {
        error = wb_store__sqlite_error(store, rc, "identity");
        goto cleanup;
    }
    wb_buf__puts(&b, "{\"customerId\":");
    wb_buf__put_json_string(&b, (const char *)sqlite3_column_text(st, 0));
    wb_buf__puts(&b, ",\"userId\":");
    wb_buf__put_json_string(&b, (const char *)sqlite3_column_text(st, 1));
    wb_buf__puts(&b, ",\"securityGroupIds\":");
    /* Stored as a JSON array we wrote ourselves. */
    wb_buf__puts(&b, (const char *)sqlite3_column_text(st, 2));
    wb_buf__putc(&b, '}');
    if (!(*out_json = wb_buf__detach(&b)))
        error = wb_error__oom();
cleanup:
    sqlite3_finalize(st);
    wb_buf__free(&b);
    return error;
}

int wb_store_status(char **out_json, wb_store *store)
{
    static const struct {
        int state;
        const char *name;
    } states[] = {{WB_STATE_SYNCED, "synced"},
                  {WB_STATE_PENDING_CREATE, "pendingCreate"},
                  {WB_STATE_PENDING_UPDATE, "pendingUpdate"},
                  {WB_STATE_PENDING_DELETE, "pendingDelete"},
                  {WB_STATE_CONFLICT, "conflict"},
                  {WB_STATE_REJECTED, "rejected"}};
    sqlite3_stmt *st = NULL;
    wb_buf b = WB_BUF_INIT;
    int64_t per_state[6] = {0}, total = 0, tombstones = 0, page_count = 0, page_size = 0;
    int error = 0, rc;

    wb_error__reset();
    WB__CHECK_ARG(out_json);
    WB__CHECK_ARG(store);
    *out_json = NULL;
    rc = sqlite3_prepare_v2(store->db,
                            "SELECT state, deleted, count(*) FROM interactions GROUP BY state, deleted",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return wb_store__sqlite_error(store, rc, "status");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int state = sqlite3_column_int(st, 0);
        int64_t n = sqlite3_column_int64(st, 2);
        total += n;
        if (sqlite3_column_int(st, 1))
            tombstones += n;
        for (size_t i = 0; i < WB__ARRAY_SIZE(states); i++)
            if (states[i].state == state)
                per_state[i] += n;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc != SQLITE_DONE)
        return wb_store__sqlite_error(store, rc, "status");
    rc = sqlite3_prepare_v2(store->db,
                            "SELECT page_count, page_size FROM pragma_page_count, pragma_page_size",
                            -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        page_count = sqlite3_column_int64(st, 0);
        page_size = sqlite3_column_int64(st, 1);
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK) {
        error = wb_store__sqlite_error(store, rc, "status");
        goto cleanup;
    }
    wb_buf__printf(&b,
                   "{\"schemaVersion\":%d,\"fileSize\":%lld,\"hasIdentity\":%s,"
                   "\"interactions\":{\"total\":%lld,\"live\":%lld,\"tombstones\":%lld",
                   store->schema_version, (long long)(page_count * page_size),
                   store->has_identity ? "true" : "false", (long long)total,
                   (long long)(total - tombstones), (long long)tombstones);
    for (size_t i = 0; i < WB__ARRAY_SIZE(states); i++)
        wb_buf__printf(&b, ",\"%s\":%lld", states[i].name, (long long)per_state[i]);
    wb_buf__puts(&b, "}}");
    if (!(*out_json = wb_buf__detach(&b)))
        error = wb_error__oom();
cleanup:
    sqlite3_finalize(st);
    wb_buf__free(&b);
    return error;
}
