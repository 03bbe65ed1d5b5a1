/* test_core_syncstore.c - the store side of sync: pending records,
 * acknowledgements with in-flight edits, rejections, retries, pulled
 * records under each policy, lost-response adoption and watermarks. */
#include <sqlite3.h>

#include "fixtures.h"
#include "syncstore.h"
#include "wbtest.h"

static wb_store *store;

static void setup(void)
{
    store = fx_store("syncstore.db");
}

static void teardown(void)
{
    wb_store_free(store);
    store = NULL;
}

static const char *state_of(const char *id)
{
    static char buf[64];
    char *info = NULL;
    const char *p;
    buf[0] = '\0';
    if (wb_interaction_sync_info(&info, store, id) != 0)
        return "error";
    if ((p = strstr(info, "\"state\":\""))) {
        p += 9;
        snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(p, "\""), p);
    }
    wb_free(info);
    return buf;
}

/* A server envelope for `data_json` with the given id and etag. */
static cJSON *envelope(const char *id, const char *data_json, const char *etag, int deleted,
                       const char *customer, const char *created_by)
{
    char text[4096];
    cJSON *env = NULL;
    snprintf(text, sizeof(text),
             "{\"id\":\"%s\",\"data\":%s,\"meta\":{\"etag\":\"%s\",\"created\":"
             "\"2024-01-01T00:00:00.000Z\",\"modified\":\"2024-01-01T00:00:01.000Z\","
             "\"resource\":\"interactions\",\"createdBy\":\"%s\",\"isDeleted\":%s,"
             "\"modifiedBy\":\"%s\"},\"customerId\":\"%s\",\"securityGroupId\":\"" FX_GROUP "\"}",
             id, data_json, etag, created_by, deleted ? "true" : "false", created_by, customer);
    if (wb_json__parse(&env, text, strlen(text), NULL, "test") != 0)
        return NULL;
    return env;
}

/* The data object of a stored record, as compact JSON (malloc'd via wb). */
static char *data_of(const char *id)
{
    char *env = NULL, *out = NULL;
    cJSON *j = NULL;
    if (wb_interaction_get(&env, store, id, 1) != 0)
        return NULL;
    if (wb_json__parse(&j, env, strlen(env), NULL, "t") == 0)
        out = wb_json__print(wb_json__get(j, "data"));
    cJSON_Delete(j);
    wb_free(env);
    return out;
}

static int pending_count(int64_t now)
{
    wb_pending *p = NULL;
    size_t n = 0;
    if (wb_syncstore__pending(&p, &n, store, now, 100) != 0)
        return -1;
    wb_syncstore__pending_free(p, n);
    return (int)n;
}

/* Record, then acknowledge as the server would: returns the local id. */
static char *record_synced(const char *server_id, const char *etag)
{
    char *id = NULL, *data = NULL;
    wb_pending *p = NULL;
    size_t n = 0;
    cJSON *env;
    if (wb_interaction_record(&id, store, fx_body(NULL, NULL, NULL)) != 0)
        return NULL;
    data = data_of(id);
    env = envelope(server_id, data, etag, 0, FX_CUSTOMER, FX_USER);
    wb_syncstore__pending(&p, &n, store, INT64_MAX, 100);
    for (size_t i = 0; i < n; i++)
        if (strcmp(p[i].local_id, id) == 0)
            wb_syncstore__ack_write(store, id, p[i].version, env);
    wb_syncstore__pending_free(p, n);
    cJSON_Delete(env);
    wb__free(data);
    return id;
}

#define SERVER_ID "aaaaaaaa-0000-4000-8000-000000000001"

static void test_core_syncstore__pending_and_ack_create(void)
{
    char *id = NULL, *env = NULL, *info = NULL;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&id, store, fx_body(NULL, NULL, NULL)));
    WBT_ASSERT_INT(pending_count(INT64_MAX), 1);
    wb__free(id);
    id = record_synced(SERVER_ID, "e-1");
    WBT_ASSERT(id != NULL);
    WBT_ASSERT_STR(state_of(id), "synced");
    WBT_OK(wb_interaction_sync_info(&info, store, id));
    WBT_ASSERT_CONTAINS(info, "\"serverId\":\"" SERVER_ID "\"");
    WBT_ASSERT_CONTAINS(info, "\"baseEtag\":\"e-1\"");
    WBT_OK(wb_interaction_get(&env, store, SERVER_ID, 0)); /* found by server id too */
    WBT_ASSERT_CONTAINS(env, "\"etag\":\"e-1\"");
    WBT_ASSERT_INT(pending_count(INT64_MAX), 1); /* the first record is still pending */
    wb_free(info);
    wb_free(env);
    wb_free(id);
}

/* An edit made while the upload was in flight is not lost. */
static void test_core_syncstore__ack_keeps_inflight_edit(void)
{
    char *id = NULL, *data = NULL, *after = NULL;
    wb_pending *p = NULL;
    size_t n = 0;
    cJSON *env;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&id, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_syncstore__pending(&p, &n, store, INT64_MAX, 10));
    WBT_ASSERT_INT(n, 1);
    WBT_OK(wb_syncstore__mark_create_attempt(store, id, 0));
    data = data_of(id);
    /* The app edits the record while the POST is on the wire. */
    WBT_OK(wb_interaction_update(store, id,
                                 "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]"));
    env = envelope(SERVER_ID, p[0].data, "e-1", 0, FX_CUSTOMER, FX_USER);
    WBT_OK(wb_syncstore__ack_write(store, id, p[0].version, env));
    WBT_ASSERT_STR(state_of(id), "pending_update");
    after = data_of(id);
    WBT_ASSERT_CONTAINS(after, "\"successful\":false");
    cJSON_Delete(env);
    wb_syncstore__pending_free(p, n);
    wb__free(data);
    wb__free(after);
    wb_free(id);
}

/* The base column as stored: "NULL", or its opened text. */
static char *stored_base(const char *id)
{
    sqlite3_stmt *q = NULL;
    char *out = NULL;
    sqlite3_prepare_v2(store->db,
                       "SELECT wb_open('interactions', 'base', local_id, base) FROM interactions"
                       " WHERE local_id = ?1",
                       -1, &q, NULL);
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW)
        out = wb__strdup(sqlite3_column_type(q, 0) == SQLITE_NULL
                             ? "NULL"
                             : (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    return out;
}

static const wb_pending *pending_of(const wb_pending *p, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(p[i].local_id, id) == 0)
            return &p[i];
    return NULL;
}

/* An answer read from its text (wb_syncstore_echo): synced when the row is
 * still at the version sent, an edit made meanwhile kept; pending_left
 * lists what is left in the order of pending_after, after a cursor. */
static void test_core_syncstore__echo_ack_and_pending_left(void)
{
    char *a = NULL, *b = NULL, *c = NULL, *info = NULL, *after = NULL;
    wb_pending *p = NULL, *q = NULL;
    size_t n = 0, m = 0;
    wb_syncstore_echo e1, e2;
    wb_syncstore_ack acks[2];
    const wb_pending *pa, *pb;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&a, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_interaction_record(&b, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_interaction_record(&c, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_syncstore__pending_after(&p, &n, store, INT64_MAX, 10, NULL));
    WBT_ASSERT_INT(n, 3);
    WBT_OK(wb_syncstore__pending_left(&q, &m, store, INT64_MAX, 10, NULL));
    WBT_ASSERT_INT(m, 3);
    for (size_t i = 0; i < 3; i++)
        WBT_ASSERT_STR(q[i].local_id, p[i].local_id);
    wb_syncstore__pending_free(q, m);
    WBT_OK(wb_syncstore__pending_left(&q, &m, store, INT64_MAX, 10, &p[0]));
    WBT_ASSERT_INT(m, 2);
    WBT_ASSERT_STR(q[0].local_id, p[1].local_id);
    WBT_ASSERT_STR(q[1].local_id, p[2].local_id);
    wb_syncstore__pending_free(q, m);
    WBT_OK(wb_syncstore__pending_left(&q, &m, store, 0, 10, NULL)); /* never deferred: due */
    WBT_ASSERT_INT(m, 3);
    wb_syncstore__pending_free(q, m);

    memset(&e1, 0, sizeof(e1));
    e1.id = SERVER_ID;
    e1.etag = "e-1";
    e1.created = "2024-01-01T00:00:00.000Z";
    e1.modified = "2024-01-01T00:00:01.000Z";
    e1.created_by = e1.modified_by = FX_USER;
    e2 = e1;
    e2.id = "aaaaaaaa-0000-4000-8000-000000000002";
    pa = pending_of(p, n, a);
    pb = pending_of(p, n, b);
    WBT_ASSERT(pa && pb);
    /* The app edits b while its POST is on the wire. */
    WBT_OK(wb_interaction_update(store, b,
                                 "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]"));
    /* With the rows' keys, as the push gives them: a is found by its key,
     * b (edited since) is not, and is looked up by local_id after. */
    acks[0] = (wb_syncstore_ack){pa->local_id, pa->version, NULL, pa->data, &e1,
                                 pa->campaign_id, pa->ts};
    acks[1] = (wb_syncstore_ack){pb->local_id, pb->version, NULL, pb->data, &e2,
                                 pb->campaign_id, pb->ts};
    WBT_OK(wb_syncstore__ack_group(store, acks, 2));
    WBT_ASSERT_STR(state_of(a), "synced");
    WBT_OK(wb_interaction_sync_info(&info, store, a));
    WBT_ASSERT_CONTAINS(info, "\"serverId\":\"" SERVER_ID "\"");
    WBT_ASSERT_CONTAINS(info, "\"baseEtag\":\"e-1\"");
    WBT_ASSERT_STR(state_of(b), "pending_update");
    after = data_of(b);
    WBT_ASSERT_CONTAINS(after, "\"successful\":false");
    WBT_OK(wb_syncstore__pending_left(&q, &m, store, INT64_MAX, 10, NULL));
    WBT_ASSERT_INT(m, 2); /* b (its edit, now a PATCH) and c */
    WBT_ASSERT(pending_of(q, m, b) && pending_of(q, m, c));
    WBT_ASSERT_STR(pending_of(q, m, b)->server_id, "aaaaaaaa-0000-4000-8000-000000000002");
    wb_syncstore__pending_free(q, m);
    /* a's data is what the server holds: its base is implied, not stored
     * again, and an edit then diffs against the version sent. */
    {
        char *sb = stored_base(a);
        WBT_ASSERT_STR(sb, "NULL");
        wb__free(sb);
    }
    WBT_OK(wb_interaction_update(store, a,
                                 "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]"));
    WBT_OK(wb_syncstore__pending_left(&q, &m, store, INT64_MAX, 10, NULL));
    {
        const wb_pending *qa = pending_of(q, m, a);
        WBT_ASSERT(qa != NULL);
        WBT_ASSERT_STR(qa->base, pa->data);
        WBT_ASSERT_STR(qa->base_etag, "e-1");
    }
    wb_syncstore__pending_free(q, m);
    wb_syncstore__pending_free(p, n);
    wb__free(after);
    wb_free(info);
    wb_free(a);
    wb_free(b);
    wb_free(c);
}

static void test_core_syncstore__reject_and_defer(void)
{
    char *a = NULL, *b = NULL, *info = NULL;
    wb_pending *p = NULL;
    size_t n = 0;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&a, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_interaction_record(&b, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_syncstore__pending(&p, &n, store, INT64_MAX, 10));
    WBT_ASSERT_INT(n, 2);
    WBT_OK(wb_syncstore__reject(store, a, p[0].version, "data.statusId: unknown status"));
    WBT_ASSERT_STR(state_of(a), "rejected");
    WBT_OK(wb_interaction_sync_info(&info, store, a));
    WBT_ASSERT_CONTAINS(info, "unknown status");
    /* A rejection of an outdated version does not hide the newer edit. */
    WBT_OK(wb_interaction_update(store, b,
                                 "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]"));
    WBT_OK(wb_syncstore__reject(store, b, p[1].version, "stale"));
    WBT_ASSERT_STR(state_of(b), "pending_create");
    /* Deferred: not due before its time. */
    WBT_OK(wb_syncstore__defer(store, b, 5000));
    WBT_ASSERT_INT(pending_count(4999), 0);
    WBT_ASSERT_INT(pending_count(5000), 1);
    wb_syncstore__pending_free(p, n);
    wb_free(info);
    wb_free(a);
    wb_free(b);
}

static void test_core_syncstore__ack_delete(void)
{
    char *id = record_synced(SERVER_ID, "e-1");
    wb_pending *p = NULL;
    size_t n = 0;
    WBT_ASSERT(id != NULL);
    WBT_OK(wb_interaction_delete(store, id));
    WBT_ASSERT_STR(state_of(id), "pending_delete");
    WBT_OK(wb_syncstore__pending(&p, &n, store, INT64_MAX, 10));
    WBT_ASSERT_INT(n, 1);
    WBT_ASSERT(p[0].deleted && p[0].base_etag && strcmp(p[0].base_etag, "e-1") == 0);
    WBT_OK(wb_syncstore__ack_delete(store, id, p[0].version));
    WBT_ASSERT_STR(state_of(id), "synced");
    wb_syncstore__pending_free(p, n);
    wb_free(id);
}

#define REMOTE_DATA(successful, unavailable)                                                     \
    "{\"campaignId\":\"" FX_CAMPAIGN_A "\",\"contactId\":\"0478dbbf-b6eb-4168-afa9-5ebab6fef4b6\"," \
    "\"timestamp\":\"2019-01-01T00:00:00.000Z\",\"unavailable\":" unavailable ","                \
    "\"successful\":" successful ",\"survey\":{\"surveyId\":\"375d437b-3b47-4940-b43d-be8daec4afff\"}}"

static void test_core_syncstore__pull_insert_update_delete(void)
{
    enum wb_remote_outcome o;
    cJSON *e1 = envelope(SERVER_ID, REMOTE_DATA("true", "false"), "r-1", 0, FX_CUSTOMER,
                         "11111111-1111-4111-8111-111111111111");
    cJSON *e2 = envelope(SERVER_ID, REMOTE_DATA("false", "false"), "r-2", 0, FX_CUSTOMER,
                         "11111111-1111-4111-8111-111111111111");
    cJSON *e3 = envelope(SERVER_ID, REMOTE_DATA("false", "false"), "r-3", 1, FX_CUSTOMER,
                         "11111111-1111-4111-8111-111111111111");
    cJSON *other = envelope("bbbbbbbb-0000-4000-8000-000000000002", REMOTE_DATA("true", "false"),
                            "x", 0, "99999999-9999-4999-8999-999999999999", FX_USER);
    char *d = NULL;
    WBT_ASSERT(store && e1 && e2 && e3 && other);
    WBT_OK(wb_syncstore__apply_remote(&o, store, e1, WB_POLICY_MERGE, 0));
    WBT_ASSERT_INT(o, WB_REMOTE_INSERTED);
    WBT_ASSERT_STR(state_of(SERVER_ID), "synced");
    WBT_OK(wb_syncstore__apply_remote(&o, store, e1, WB_POLICY_MERGE, 0));
    WBT_ASSERT_INT(o, WB_REMOTE_UNCHANGED);
    WBT_OK(wb_syncstore__apply_remote(&o, store, e2, WB_POLICY_MERGE, 0));
    WBT_ASSERT_INT(o, WB_REMOTE_UPDATED);
    d = data_of(SERVER_ID);
    WBT_ASSERT_CONTAINS(d, "\"successful\":false");
    wb__free(d);
    WBT_OK(wb_syncstore__apply_remote(&o, store, e3, WB_POLICY_MERGE, 0));
    WBT_ASSERT_INT(o, WB_REMOTE_DELETED);
    {
        char *env = NULL;
        WBT_FAILS(wb_interaction_get(&env, store, SERVER_ID, 0), WB_ENOTFOUND, "not found");
    }
    /* Another customer's record is refused and not stored. */
    WBT_OK(wb_syncstore__apply_remote(&o, store, other, WB_POLICY_MERGE, 0));
    WBT_ASSERT_INT(o, WB_REMOTE_REFUSED);
    {
        uint64_t n = 0;
        wb_query q = WB_QUERY_INIT;
        q.deleted = WB_DELETED_INCLUDE;
        WBT_OK(wb_interaction_count(&n, store, &q));
        WBT_ASSERT_INT(n, 1);
    }
    cJSON_Delete(e1);
    cJSON_Delete(e2);
    cJSON_Delete(e3);
    cJSON_Delete(other);
}

/* A pulled record's log entry is hashed from the envelope's tree, not from
 * its stored text parsed again: a fix at -0 (stored as 0) must hash the
 * same, or verify would call the record edited. Two records in one
 * transaction: the first entry is covered by the second's signature. */
static void test_core_syncstore__pulled_fix_hashes_as_stored(void)
{
    enum wb_remote_outcome o;
    static const char *fix_data =
        "{\"campaignId\":\"" FX_CAMPAIGN_A "\",\"contactId\":\"0478dbbf-b6eb-4168-afa9-5ebab6fef4b6\","
        "\"timestamp\":\"2019-01-01T00:00:00.000Z\",\"location\":{\"lat\":-0.0,\"lng\":-0,"
        "\"accuracy\":0.5},\"distance\":-0e3}";
    cJSON *e1 = envelope(SERVER_ID, fix_data, "f-1", 0, FX_CUSTOMER, FX_USER);
    cJSON *e2 = envelope("bbbbbbbb-0000-4000-8000-000000000003", REMOTE_DATA("true", "false"),
                         "f-2", 0, FX_CUSTOMER, FX_USER);
    cJSON *e3 = envelope(SERVER_ID, fix_data, "f-3", 0, FX_CUSTOMER, FX_USER);
    char *report = NULL;
    WBT_ASSERT(store && e1 && e2 && e3);
    WBT_OK(wb_store__begin(store));
    WBT_OK(wb_syncstore__apply_remote(&o, store, e1, WB_POLICY_MERGE, 0));
    WBT_ASSERT_INT(o, WB_REMOTE_INSERTED);
    WBT_OK(wb_syncstore__apply_remote(&o, store, e2, WB_POLICY_MERGE, 0));
    WBT_ASSERT_INT(o, WB_REMOTE_INSERTED);
    WBT_OK(wb_store__commit(store));
    /* A new server version of the first (written over the synced copy). */
    WBT_OK(wb_syncstore__apply_remote(&o, store, e3, WB_POLICY_MERGE, 0));
    WBT_ASSERT_INT(o, WB_REMOTE_UPDATED);
    WBT_OK(wb_log_verify(&report, store));
    WBT_ASSERT_CONTAINS(report, "\"entries\":3,\"signed\":2");
    wb_free(report);
    cJSON_Delete(e1);
    cJSON_Delete(e2);
    cJSON_Delete(e3);
}

/* A local edit and a remote edit of different fields both survive. */
static void test_core_syncstore__pull_merges_under_each_policy(void)
{
    static const int policies[] = {WB_POLICY_MERGE, WB_POLICY_SERVER_WINS, WB_POLICY_CLIENT_WINS,
                                   WB_POLICY_MANUAL};
    for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
        enum wb_remote_outcome o;
        char server_id[40], *d = NULL, *id;
        cJSON *remote;
        char *base_data;
        snprintf(server_id, sizeof(server_id), "aaaaaaaa-0000-4000-8000-00000000001%zu", i);
        id = record_synced(server_id, "e-1");
        WBT_ASSERT(id != NULL);
        base_data = data_of(id);
        /* local: successful true → false */
        WBT_OK(wb_interaction_update(
            store, id, "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]"));
        /* remote: unavailable false → true */
        {
            cJSON *b = NULL;
            WBT_OK(wb_json__parse(&b, base_data, strlen(base_data), NULL, "t"));
            cJSON_ReplaceItemInObjectCaseSensitive(b, "unavailable", cJSON_CreateTrue());
            char *rd = wb_json__print(b);
            remote = envelope(server_id, rd, "e-2", 0, FX_CUSTOMER, FX_USER);
            wb__free(rd);
            cJSON_Delete(b);
        }
        WBT_OK(wb_syncstore__apply_remote(&o, store, remote, policies[i], 0));
        d = data_of(id);
        switch (policies[i]) {
        case WB_POLICY_SERVER_WINS:
            WBT_ASSERT_INT(o, WB_REMOTE_UPDATED);
            WBT_ASSERT_CONTAINS(d, "\"successful\":true");
            WBT_ASSERT_CONTAINS(d, "\"unavailable\":true");
            WBT_ASSERT_STR(state_of(id), "synced");
            break;
        case WB_POLICY_CLIENT_WINS:
            WBT_ASSERT_INT(o, WB_REMOTE_MERGED);
            WBT_ASSERT_CONTAINS(d, "\"successful\":false");
            WBT_ASSERT_CONTAINS(d, "\"unavailable\":false");
            WBT_ASSERT_STR(state_of(id), "pending_update");
            break;
        default: /* merge; manual without overlapping fields merges too */
            WBT_ASSERT_INT(o, WB_REMOTE_MERGED);
            WBT_ASSERT_CONTAINS(d, "\"successful\":false");
            WBT_ASSERT_CONTAINS(d, "\"unavailable\":true");
            WBT_ASSERT_STR(state_of(id), "pending_update");
            break;
        }
        {
            char *info = NULL;
            WBT_OK(wb_interaction_sync_info(&info, store, id));
            WBT_ASSERT_CONTAINS(info, "\"baseEtag\":\"e-2\"");
            wb_free(info);
        }
        cJSON_Delete(remote);
        wb__free(d);
        wb__free(base_data);
        wb_free(id);
    }
}

static void test_core_syncstore__manual_conflict_is_parked(void)
{
    enum wb_remote_outcome o;
    char *id = record_synced(SERVER_ID, "e-1"), *base_data;
    cJSON *b = NULL, *remote;
    char *rd;
    WBT_ASSERT(id != NULL);
    base_data = data_of(id);
    WBT_OK(wb_interaction_update(store, id,
                                 "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]"));
    WBT_OK(wb_json__parse(&b, base_data, strlen(base_data), NULL, "t"));
    cJSON_ReplaceItemInObjectCaseSensitive(b, "successful", cJSON_CreateNull());
    cJSON_DeleteItemFromObjectCaseSensitive(b, "successful");
    rd = wb_json__print(b);
    remote = envelope(SERVER_ID, rd, "e-2", 0, FX_CUSTOMER, FX_USER);
    WBT_OK(wb_syncstore__apply_remote(&o, store, remote, WB_POLICY_MANUAL, 0));
    WBT_ASSERT_INT(o, WB_REMOTE_CONFLICT);
    WBT_ASSERT_STR(state_of(id), "conflict");
    /* The local edit is intact while parked. */
    {
        char *d = data_of(id);
        WBT_ASSERT_CONTAINS(d, "\"successful\":false");
        wb__free(d);
    }
    /* A remote tombstone of a locally edited record parks it too (merge). */
    cJSON_Delete(remote);
    cJSON_Delete(b);
    wb__free(rd);
    wb__free(base_data);
    wb_free(id);
}

static void test_core_syncstore__remote_delete_of_local_edit_conflicts(void)
{
    enum wb_remote_outcome o;
    char *id = record_synced(SERVER_ID, "e-1"), *base_data;
    cJSON *tomb;
    WBT_ASSERT(id != NULL);
    base_data = data_of(id);
    WBT_OK(wb_interaction_update(store, id,
                                 "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]"));
    tomb = envelope(SERVER_ID, base_data, "e-2", 1, FX_CUSTOMER, FX_USER);
    WBT_OK(wb_syncstore__apply_remote(&o, store, tomb, WB_POLICY_MERGE, 0));
    WBT_ASSERT_INT(o, WB_REMOTE_CONFLICT);
    WBT_ASSERT_STR(state_of(id), "conflict");
    cJSON_Delete(tomb);
    wb__free(base_data);
    wb_free(id);
}

/* The POST reached the server, its response was lost, and the server does
 * not honour client ids: the pulled record (new server id) is adopted by
 * what identifies it, not inserted as a duplicate. */
static void test_core_syncstore__lost_response_create_is_adopted(void)
{
    enum wb_remote_outcome o;
    char *id = NULL, *data;
    cJSON *env;
    uint64_t n = 0;
    wb_query q = WB_QUERY_INIT;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&id, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_syncstore__mark_create_attempt(store, id, 0));
    data = data_of(id);
    env = envelope(SERVER_ID, data, "s-1", 0, FX_CUSTOMER, FX_USER);
    WBT_OK(wb_syncstore__apply_remote(&o, store, env, WB_POLICY_MERGE, 0));
    WBT_ASSERT_INT(o, WB_REMOTE_MERGED);
    WBT_ASSERT_STR(state_of(id), "synced");
    q.deleted = WB_DELETED_INCLUDE;
    WBT_OK(wb_interaction_count(&n, store, &q));
    WBT_ASSERT_INT(n, 1);
    /* Another user's record with the same identifying fields is not ours. */
    cJSON_Delete(env);
    wb__free(data);
    wb_free(id);
}

/* Deleted locally after a POST whose outcome is unknown: the delete stays
 * pending, so the server copy is found and deleted. */
static void test_core_syncstore__delete_after_unknown_create(void)
{
    enum wb_remote_outcome o;
    char *id = NULL, *data;
    cJSON *env;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&id, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_syncstore__mark_create_attempt(store, id, 0));
    data = data_of(id);
    WBT_OK(wb_interaction_delete(store, id));
    WBT_ASSERT_STR(state_of(id), "pending_delete");
    env = envelope(SERVER_ID, data, "s-1", 0, FX_CUSTOMER, FX_USER);
    WBT_OK(wb_syncstore__apply_remote(&o, store, env, WB_POLICY_MERGE, 0));
    WBT_ASSERT_STR(state_of(id), "pending_delete");
    {
        char *info = NULL;
        WBT_OK(wb_interaction_sync_info(&info, store, id));
        WBT_ASSERT_CONTAINS(info, "\"baseEtag\":\"s-1\"");
        WBT_ASSERT_CONTAINS(info, "\"serverId\":\"" SERVER_ID "\"");
        wb_free(info);
    }
    cJSON_Delete(env);
    wb__free(data);
    wb_free(id);
}

static void test_core_syncstore__watermarks(void)
{
    char modified[WB_TIMESTAMP_LEN + 1];
    char *seen = NULL;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_syncstore__watermark(modified, &seen, store, "interactions", FX_CAMPAIGN_A));
    WBT_ASSERT_STR(modified, "");
    WBT_ASSERT(seen == NULL);
    WBT_OK(wb_syncstore__set_watermark(store, "interactions", FX_CAMPAIGN_A,
                                       "2024-01-01T00:00:01.000Z", "[\"a:e\"]"));
    WBT_OK(wb_syncstore__set_watermark(store, "interactions", FX_CAMPAIGN_A,
                                       "2024-01-01T00:00:02.000Z", "[\"b:e\"]"));
    WBT_OK(wb_syncstore__watermark(modified, &seen, store, "interactions", FX_CAMPAIGN_A));
    WBT_ASSERT_STR(modified, "2024-01-01T00:00:02.000Z");
    WBT_ASSERT_STR(seen, "[\"b:e\"]");
    wb__free(seen);
    WBT_OK(wb_syncstore__watermark(modified, &seen, store, "interactions", FX_CAMPAIGN_B));
    WBT_ASSERT_STR(modified, "");
}


/* Park a conflict (local successful→false, remote removed successful):
 * returns the local id. */
static char *make_conflict(const char *server_id, int remote_deleted)
{
    enum wb_remote_outcome o;
    char *id = record_synced(server_id, "e-1"), *base_data, *rd;
    cJSON *b = NULL, *remote;
    if (!id)
        return NULL;
    base_data = data_of(id);
    if (wb_interaction_update(store, id,
                              "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]") != 0 ||
        wb_json__parse(&b, base_data, strlen(base_data), NULL, "t") != 0) {
        wb__free(base_data);
        return id;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(b, "successful");
    rd = wb_json__print(b);
    remote = envelope(server_id, rd, "e-2", remote_deleted, FX_CUSTOMER, FX_USER);
    if (wb_syncstore__apply_remote(&o, store, remote, remote_deleted ? WB_POLICY_MERGE : WB_POLICY_MANUAL, 0) != 0)
        fprintf(stderr, "make_conflict: %s\n", wb_error_last()->message);
    cJSON_Delete(remote);
    cJSON_Delete(b);
    wb__free(rd);
    wb__free(base_data);
    return id;
}

static void test_core_syncstore__conflict_get_and_resolve(void)
{
    char *a = make_conflict("aaaaaaaa-0000-4000-8000-000000000021", 0);
    char *b = make_conflict("aaaaaaaa-0000-4000-8000-000000000022", 0);
    char *c = make_conflict("aaaaaaaa-0000-4000-8000-000000000023", 0);
    char *json = NULL, *d = NULL, *info = NULL;
    WBT_ASSERT(a && b && c);
    WBT_ASSERT_STR(state_of(a), "conflict");
    WBT_OK(wb_conflict_get(&json, store, a));
    WBT_ASSERT_CONTAINS(json, "\"local\":{");
    WBT_ASSERT_CONTAINS(json, "\"remote\":{\"id\":\"aaaaaaaa-0000-4000-8000-000000000021\"");
    WBT_ASSERT_CONTAINS(json, "\"path\":\"/successful\"");
    wb_free(json);
    /* remote wins: the server's version, synced */
    WBT_OK(wb_conflict_resolve(store, a, WB_TAKE_REMOTE, NULL));
    WBT_ASSERT_STR(state_of(a), "synced");
    d = data_of(a);
    WBT_ASSERT(strstr(d, "successful") == NULL);
    wb__free(d);
    WBT_FAILS(wb_conflict_get(&json, store, a), WB_ENOTFOUND, "not in conflict");
    /* local wins: pending against the server's etag */
    WBT_OK(wb_conflict_resolve(store, b, WB_TAKE_LOCAL, NULL));
    WBT_ASSERT_STR(state_of(b), "pending_update");
    WBT_OK(wb_interaction_sync_info(&info, store, b));
    WBT_ASSERT_CONTAINS(info, "\"baseEtag\":\"e-2\"");
    wb_free(info);
    d = data_of(b);
    WBT_ASSERT_CONTAINS(d, "\"successful\":false");
    wb__free(d);
    /* an edited document: validated like a record; a bad one changes nothing */
    WBT_FAILS(wb_conflict_resolve(store, c, WB_TAKE_DOCUMENT, "{\"campaignId\":1}"), WB_EINVALID,
              "campaignId");
    WBT_ASSERT_STR(state_of(c), "conflict");
    WBT_FAILS(wb_conflict_resolve(store, c, WB_TAKE_DOCUMENT, NULL), WB_EINVALID, "document");
    WBT_FAILS(wb_conflict_resolve(store, c, 9, NULL), WB_EINVALID, "resolution");
    WBT_OK(wb_conflict_resolve(store, c, WB_TAKE_DOCUMENT, fx_body(NULL, NULL, "2020-02-02T02:02:02.000Z")));
    WBT_ASSERT_STR(state_of(c), "pending_update");
    d = data_of(c);
    WBT_ASSERT_CONTAINS(d, "2020-02-02T02:02:02.000Z");
    wb__free(d);
    wb_free(a);
    wb_free(b);
    wb_free(c);
}

static void test_core_syncstore__conflict_with_remote_delete_take_local(void)
{
    char *a = make_conflict("aaaaaaaa-0000-4000-8000-000000000031", 1);
    char *info = NULL;
    WBT_ASSERT(a != NULL);
    WBT_ASSERT_STR(state_of(a), "conflict");
    WBT_OK(wb_conflict_resolve(store, a, WB_TAKE_LOCAL, NULL));
    /* deleted on the server, kept by the user: created again */
    WBT_ASSERT_STR(state_of(a), "pending_create");
    WBT_OK(wb_interaction_sync_info(&info, store, a));
    WBT_ASSERT_CONTAINS(info, "\"serverId\":null");
    wb_free(info);
    wb_free(a);
}

static void test_core_syncstore__pending_one(void)
{
    wb_pending *p = NULL;
    size_t n = 9;
    char *id = record_synced("aaaaaaaa-0000-4000-8000-000000000031", "e-1");
    WBT_ASSERT(id != NULL);
    WBT_OK(wb_syncstore__pending_one(&p, &n, store, id)); /* synced: not pending */
    WBT_ASSERT_INT(n, 0);
    WBT_ASSERT(p == NULL);
    WBT_OK(wb_interaction_update(store, id,
                                 "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]"));
    /* Pending even when deferred into the future. */
    WBT_OK(wb_syncstore__defer(store, id, INT64_MAX));
    WBT_OK(wb_syncstore__pending_one(&p, &n, store, id));
    WBT_ASSERT_INT(n, 1);
    WBT_ASSERT_STR(p[0].local_id, id);
    WBT_ASSERT_STR(p[0].server_id, "aaaaaaaa-0000-4000-8000-000000000031");
    WBT_ASSERT_STR(p[0].base_etag, "e-1");
    WBT_ASSERT_INT(p[0].state, WB_STATE_PENDING_UPDATE);
    wb_syncstore__pending_free(p, n);
    WBT_OK(wb_syncstore__pending_one(&p, &n, store, "00000000-0000-4000-8000-000000000000"));
    WBT_ASSERT_INT(n, 0);
    wb_free(id);
}

/* A parked conflict that meets the same remote version again (a pull after
 * the push found it) keeps the conflicting paths and is not counted as a
 * new conflict. */
static void test_core_syncstore__conflict_reparked_keeps_paths(void)
{
    char *a = make_conflict("aaaaaaaa-0000-4000-8000-000000000032", 0);
    char *json = NULL, *env_text = NULL;
    cJSON *env = NULL;
    const cJSON *remote;
    enum wb_remote_outcome o;
    WBT_ASSERT(a != NULL);
    WBT_OK(wb_conflict_get(&json, store, a));
    WBT_OK(wb_json__parse(&env, json, strlen(json), NULL, "t"));
    remote = wb_json__get(env, "remote");
    WBT_OK(wb_syncstore__apply_remote(&o, store, remote, WB_POLICY_MANUAL, 0));
    WBT_ASSERT_INT(o, WB_REMOTE_UNCHANGED);
    WBT_OK(wb_conflict_get(&env_text, store, a));
    WBT_ASSERT_CONTAINS(env_text, "\"path\":\"/successful\"");
    cJSON_Delete(env);
    wb_free(json);
    wb_free(env_text);
    wb_free(a);
}

/* A create found on the server after a lost response, while the device
 * edited it since the POST and the server filled a member in (or a manager
 * edited it there): both kept, the local part pending as an update. Once
 * the server's copy was taken whole, dropping the local edit. */
static void test_core_syncstore__found_create_keeps_both_sides(void)
{
    char *id = NULL, *sent, *after;
    cJSON *env, *data = NULL;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&id, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_syncstore__mark_create_attempt(store, id, 0));
    sent = data_of(id);
    WBT_OK(wb_interaction_update(store, id,
                                 "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]"));
    WBT_OK(wb_json__parse(&data, sent, strlen(sent), NULL, "t"));
    cJSON_AddStringToObject(data, "listId", "7e57ab1e-0000-4000-8000-000000000001");
    {
        char *text = wb_json__print(data);
        env = envelope(SERVER_ID, text, "s-1", 0, FX_CUSTOMER, FX_USER);
        wb__free(text);
    }
    WBT_OK(wb_syncstore__ack_found(store, id, env, 0));
    WBT_ASSERT_STR(state_of(id), "pending_update");
    after = data_of(id);
    WBT_ASSERT_CONTAINS(after, "\"successful\":false");
    WBT_ASSERT_CONTAINS(after, "\"listId\":\"7e57ab1e-0000-4000-8000-000000000001\"");
    wb__free(after);
    cJSON_Delete(env);
    cJSON_Delete(data);
    wb__free(sent);
    wb_free(id);
}

/* The same seen by a pull before the acknowledgement (a server honouring
 * client ids, or the lookup by identifying fields). */
static void test_core_syncstore__pulled_own_create_keeps_both_sides(void)
{
    enum wb_remote_outcome o;
    char *id = NULL, *sent, *after, *text;
    cJSON *env, *data = NULL;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&id, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_syncstore__mark_create_attempt(store, id, 0));
    sent = data_of(id);
    WBT_OK(wb_interaction_update(store, id,
                                 "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]"));
    WBT_OK(wb_json__parse(&data, sent, strlen(sent), NULL, "t"));
    /* A manager answered another question on the server meanwhile. */
    {
        cJSON *q = NULL;
        const char *answer = "{\"questionId\":\"9826940d-76a8-4700-8c92-5743ce7bb7ad\","
                             "\"fields\":{\"answer\":\"manager\"}}";
        WBT_OK(wb_json__parse(&q, answer, strlen(answer), NULL, "t"));
        cJSON_AddItemToObject(wb_json__get(wb_json__get(data, "survey"), "responses"),
                              "9826940d-76a8-4700-8c92-5743ce7bb7ad", q);
    }
    text = wb_json__print(data);
    env = envelope(SERVER_ID, text, "s-1", 0, FX_CUSTOMER, FX_USER);
    WBT_OK(wb_syncstore__apply_remote(&o, store, env, WB_POLICY_MERGE, 0));
    WBT_ASSERT_INT(o, WB_REMOTE_MERGED);
    WBT_ASSERT_STR(state_of(id), "pending_update");
    after = data_of(id);
    WBT_ASSERT_CONTAINS(after, "\"successful\":false"); /* ours, made after the POST */
    WBT_ASSERT_CONTAINS(after, "\"answer\":\"manager\""); /* theirs */
    wb__free(after);
    wb__free(text);
    cJSON_Delete(env);
    cJSON_Delete(data);
    wb__free(sent);
    wb_free(id);
}

/* The settle time recorded with a create attempt keeps the record out of
 * runs until it passed (a killed run cannot know whether the server is
 * still applying the POST). */
static void test_core_syncstore__create_attempt_settles(void)
{
    char *id = NULL;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&id, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_syncstore__mark_create_attempt(store, id, 5000));
    WBT_ASSERT_INT(pending_count(4999), 0);
    WBT_ASSERT_INT(pending_count(5000), 1);
    WBT_OK(wb_syncstore__mark_create_attempt(store, id, 0));
    WBT_ASSERT_INT(pending_count(1), 1);
    wb_free(id);
}

/* An edit (or a delete) while a create's outcome is unknown keeps its
 * settle time: the POST may still be applied on the server until then. */
static void test_core_syncstore__edit_keeps_create_settle_time(void)
{
    char *id = NULL;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&id, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_syncstore__mark_create_attempt(store, id, 5000));
    WBT_OK(wb_interaction_update(store, id, "[{\"op\":\"replace\",\"path\":\"/successful\","
                                            "\"value\":false}]"));
    WBT_ASSERT_INT(pending_count(4999), 0);
    WBT_ASSERT_INT(pending_count(5000), 1);
    WBT_OK(wb_interaction_delete(store, id));
    WBT_ASSERT_INT(pending_count(4999), 0);
    WBT_ASSERT_INT(pending_count(5000), 1);
    wb_free(id);
}

/* Rows of create_marks (schema 011), read on the store's own file. */
static int marks_count(void)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = -1;
    if (sqlite3_open_v2(wbt_path("syncstore.db"), &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM create_marks", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* A create's mark lives in a table of its own (schema 011): an
 * acknowledgement or a refusal deletes it; a mark left on a record the
 * pull acknowledged (it has a server id) neither delays its next update
 * nor makes it a lookup, and the push's sweep deletes it. */
static void test_core_syncstore__create_marks_cleared(void)
{
    enum wb_remote_outcome o;
    char *a = NULL, *b = NULL, *c = NULL, *sent;
    wb_pending *p = NULL;
    size_t n = 0;
    cJSON *env;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&a, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_interaction_record(&b, store, fx_body(NULL, "0478dbbf-b6eb-4168-afa9-000000000781",
                                                    NULL)));
    WBT_OK(wb_interaction_record(&c, store, fx_body(NULL, "0478dbbf-b6eb-4168-afa9-000000000782",
                                                    NULL)));
    WBT_OK(wb_syncstore__mark_create_attempt(store, a, 5000));
    WBT_OK(wb_syncstore__mark_create_attempt(store, b, 5000));
    WBT_OK(wb_syncstore__mark_create_attempt(store, c, 5000));
    WBT_ASSERT_INT(marks_count(), 3);
    WBT_ASSERT_INT(pending_count(4999), 0);
    /* Acknowledged. */
    sent = data_of(a);
    env = envelope(SERVER_ID, sent, "s-1", 0, FX_CUSTOMER, FX_USER);
    WBT_OK(wb_syncstore__ack_write(store, a, 1, env));
    cJSON_Delete(env);
    wb__free(sent);
    WBT_ASSERT_STR(state_of(a), "synced");
    WBT_ASSERT_INT(marks_count(), 2);
    /* Refused. */
    WBT_OK(wb_syncstore__reject(store, b, 1, "refused"));
    WBT_ASSERT_INT(marks_count(), 1);
    /* Adopted by a pull (the answer to its POST was lost), then edited. */
    sent = data_of(c);
    env = envelope("aaaaaaaa-0000-4000-8000-000000000003", sent, "s-3", 0, FX_CUSTOMER, FX_USER);
    WBT_OK(wb_syncstore__apply_remote(&o, store, env, WB_POLICY_MERGE, 0));
    cJSON_Delete(env);
    wb__free(sent);
    WBT_ASSERT_STR(state_of(c), "synced");
    WBT_OK(wb_interaction_update(store, c, "[{\"op\":\"replace\",\"path\":\"/successful\","
                                           "\"value\":false}]"));
    WBT_OK(wb_syncstore__pending(&p, &n, store, 1, 10));
    WBT_ASSERT_INT((int)n, 1);
    WBT_ASSERT_STR(p[0].local_id, c);
    WBT_ASSERT_INT(p[0].create_attempted, 0);
    wb_syncstore__pending_free(p, n);
    WBT_ASSERT_INT(marks_count(), 1);
    WBT_OK(wb_syncstore__sweep_marks(store));
    WBT_ASSERT_INT(marks_count(), 0);
    wb_free(a);
    wb_free(b);
    wb_free(c);
}

/* A store of schema 010 with a create of unknown outcome (marked in its
 * row): migration 011 moves the mark and its settle time to create_marks. */
static void test_core_syncstore__migration_011_moves_marks(void)
{
    char *id = NULL, sql[256];
    sqlite3 *db = NULL;
    wb_pending *p = NULL;
    size_t n = 0;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&id, store, fx_body(NULL, NULL, NULL)));
    wb_store_free(store);
    store = NULL;
    snprintf(sql, sizeof(sql),
             "DROP TABLE create_marks; UPDATE interactions SET create_attempted = 1,"
             " next_attempt = 5000 WHERE local_id = '%s'; PRAGMA user_version = 10",
             id);
    WBT_ASSERT_INT(sqlite3_open(wbt_path("syncstore.db"), &db), SQLITE_OK);
    WBT_ASSERT_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    WBT_OK(wb_store_open(&store, wbt_path("syncstore.db"), fx_store_options()));
    WBT_ASSERT(wb_store_schema_version(store) >= 11);
    WBT_ASSERT_INT(marks_count(), 1);
    WBT_ASSERT_INT(pending_count(4999), 0);
    WBT_OK(wb_syncstore__pending(&p, &n, store, 5000, 10));
    WBT_ASSERT_INT((int)n, 1);
    WBT_ASSERT_INT(p[0].create_attempted, 1);
    wb_syncstore__pending_free(p, n);
    wb_free(id);
}

/* The one integer a query gives on the test's store; -1 when it fails. */
static int count_of(const char *sql)
{
    sqlite3_stmt *q = NULL;
    int n = -1;
    if (sqlite3_prepare_v2(store->db, sql, -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return n;
}

/* Entries of the partial index interactions_server_id, counted through it
 * (-1 when SQLite cannot use it for that: not the index of schema 012). */
#define SERVER_ID_ENTRIES                                                                        \
    "SELECT count(*) FROM interactions INDEXED BY interactions_server_id"                        \
    " WHERE server_id <> local_id"

#define PULLED_ID "bbbbbbbb-0000-4000-8000-000000000012"

/* Schema 012: only a record whose server id differs from its local id has
 * an entry in the server-id index. A store of schema 011 (every
 * acknowledged record indexed) migrates, and each record is still found by
 * its server id: by the API, and by the pull, which updates it. */
static void test_core_syncstore__migration_012_indexes_differing_server_ids(void)
{
    enum wb_remote_outcome o;
    char *acked, *env = NULL;
    cJSON *pulled = envelope(PULLED_ID, REMOTE_DATA("true", "false"), "p-1", 0, FX_CUSTOMER,
                             "11111111-1111-4111-8111-111111111111");
    cJSON *again = envelope(SERVER_ID, REMOTE_DATA("false", "false"), "e-2", 0, FX_CUSTOMER,
                            "11111111-1111-4111-8111-111111111111");
    sqlite3 *db = NULL;
    WBT_ASSERT(store && pulled && again);
    acked = record_synced(SERVER_ID, "e-1"); /* a server that assigns its own ids */
    WBT_ASSERT(acked != NULL);
    WBT_OK(wb_syncstore__apply_remote(&o, store, pulled, WB_POLICY_MERGE, 0));
    WBT_ASSERT_INT(o, WB_REMOTE_INSERTED); /* its local id is the server's */
    WBT_ASSERT_INT(count_of(SERVER_ID_ENTRIES), 1);

    /* Back to schema 011: the index of every acknowledged record. */
    wb_store_free(store);
    store = NULL;
    WBT_ASSERT_INT(sqlite3_open(wbt_path("syncstore.db"), &db), SQLITE_OK);
    WBT_ASSERT_INT(sqlite3_exec(db,
                                "DROP INDEX interactions_server_id;"
                                " CREATE UNIQUE INDEX interactions_server_id ON interactions"
                                " (server_id) WHERE server_id IS NOT NULL;"
                                " PRAGMA user_version = 11",
                                NULL, NULL, NULL),
                   SQLITE_OK);
    sqlite3_close(db);
    WBT_OK(wb_store_open(&store, wbt_path("syncstore.db"), fx_store_options()));
    WBT_ASSERT(wb_store_schema_version(store) >= 12);
    WBT_ASSERT_INT(count_of(SERVER_ID_ENTRIES), 1);

    WBT_OK(wb_interaction_get(&env, store, SERVER_ID, 0));
    WBT_ASSERT_CONTAINS(env, acked);
    wb_free(env);
    env = NULL;
    WBT_OK(wb_interaction_get(&env, store, PULLED_ID, 0));
    WBT_ASSERT_CONTAINS(env, "\"etag\":\"p-1\"");
    /* The next version of the acknowledged record updates it in place. */
    WBT_OK(wb_syncstore__apply_remote(&o, store, again, WB_POLICY_MERGE, 0));
    WBT_ASSERT_INT(o, WB_REMOTE_UPDATED);
    WBT_ASSERT_STR(state_of(acked), "synced");
    WBT_ASSERT_INT(count_of("SELECT count(*) FROM interactions"), 2);
    /* Two records are still never given the same differing server id. */
    WBT_ASSERT_INT(sqlite3_exec(store->db,
                                "UPDATE interactions SET server_id = '" SERVER_ID "'"
                                " WHERE local_id = '" PULLED_ID "'",
                                NULL, NULL, NULL),
                   SQLITE_CONSTRAINT_UNIQUE);
    wb_free(env);
    wb_free(acked);
    cJSON_Delete(pulled);
    cJSON_Delete(again);
}

/* Every lookup by server id goes through the partial index: the term
 * WB_SERVER_ID_IS gives SQLite what the index's WHERE needs. Without it
 * each lookup would read the whole table. */
static void test_core_syncstore__server_id_lookups_use_the_index(void)
{
    static const char *const queries[] = {
        "SELECT local_id FROM interactions WHERE " WB_SERVER_ID_IS("", "?1"),
        "SELECT data FROM interactions WHERE local_id = ?1 OR (" WB_SERVER_ID_IS("", "?1") ")",
        "SELECT i.data FROM interactions i WHERE i.local_id = ?1 OR (" WB_SERVER_ID_IS("i.", "?1")
        ")",
    };
    WBT_ASSERT(store != NULL);
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        char sql[512];
        sqlite3_stmt *q = NULL;
        wb_buf plan = WB_BUF_INIT;
        snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", queries[i]);
        WBT_ASSERT_INT(sqlite3_prepare_v2(store->db, sql, -1, &q, NULL), SQLITE_OK);
        while (sqlite3_step(q) == SQLITE_ROW) {
            wb_buf__puts(&plan, (const char *)sqlite3_column_text(q, 3));
            wb_buf__puts(&plan, "; ");
        }
        sqlite3_finalize(q);
        WBT_ASSERT(plan.ptr != NULL);
        WBT_ASSERT_CONTAINS(plan.ptr, "INDEX interactions_server_id (server_id=?)");
        WBT_ASSERT(strstr(plan.ptr, "SCAN") == NULL);
        wb_buf__free(&plan);
    }
}

/* Our create reached the server and was deleted there before the device
 * heard back; the pull brings the tombstone first. Unchanged here: the
 * delete stands (once it was written as a live synced record). */
static void test_core_syncstore__pulled_own_create_deleted_remotely(void)
{
    enum wb_remote_outcome o;
    char *id = NULL, *sent, *info = NULL;
    cJSON *env;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&id, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_syncstore__mark_create_attempt(store, id, 0));
    sent = data_of(id);
    env = envelope(SERVER_ID, sent, "s-2", 1, FX_CUSTOMER, FX_USER);
    WBT_OK(wb_syncstore__apply_remote(&o, store, env, WB_POLICY_MERGE, 0));
    WBT_ASSERT_INT(o, WB_REMOTE_DELETED);
    WBT_OK(wb_interaction_sync_info(&info, store, id));
    WBT_ASSERT_CONTAINS(info, "\"deleted\":true");
    WBT_ASSERT_STR(state_of(id), "synced");
    wb_free(info);
    cJSON_Delete(env);
    /* Edited here since: parked, never dropped silently. */
    wb_free(id);
    id = NULL;
    WBT_OK(wb_interaction_record(&id, store, fx_body(NULL, "0478dbbf-b6eb-4168-afa9-000000000777",
                                                     NULL)));
    WBT_OK(wb_syncstore__mark_create_attempt(store, id, 0));
    wb__free(sent);
    sent = data_of(id);
    WBT_OK(wb_interaction_update(store, id,
                                 "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]"));
    env = envelope("aaaaaaaa-0000-4000-8000-000000000002", sent, "s-3", 1, FX_CUSTOMER, FX_USER);
    WBT_OK(wb_syncstore__apply_remote(&o, store, env, WB_POLICY_MERGE, 0));
    WBT_ASSERT_INT(o, WB_REMOTE_CONFLICT);
    WBT_ASSERT_STR(state_of(id), "conflict");
    cJSON_Delete(env);
    wb__free(sent);
    wb_free(id);
}

/* The text of an envelope as envelope() writes it, with `space` after
 * each ':' of its own members (0: compact). */
static void envelope_text(char *out, size_t size, const char *id, const char *data_json,
                          const char *etag, int deleted, const char *customer, int space)
{
    const char *sp = space ? " " : "";
    snprintf(out, size,
             "{\"id\":%s\"%s\",\"data\":%s%s,\"meta\":{\"etag\":\"%s\",\"created\":"
             "\"2024-01-01T00:00:00.000Z\",\"modified\":\"2024-01-01T00:00:01.000Z\","
             "\"resource\":\"interactions\",\"createdBy\":\"" FX_USER "\",\"isDeleted\":%s,"
             "\"modifiedBy\":\"" FX_USER "\"},\"customerId\":\"%s\",\"securityGroupId\":\""
             FX_GROUP "\"}",
             sp, id, sp, data_json, etag, deleted ? "true" : "false", customer);
}

/* Every column of a record (sealed ones opened: an encrypted store seals
 * with a fresh nonce each time), and the content hashes of its log entries. */
static char *row_dump(wb_store *st, const char *id)
{
    sqlite3 *db = st->db;
    sqlite3_stmt *q = NULL;
    wb_buf b = WB_BUF_INIT;
    char *out;
    wb_buf__puts(&b, "row:");
    sqlite3_prepare_v2(db,
                       "SELECT campaign_id, ts, local_id, server_id, contact_id, household_id,"
                       " walklist_id, wb_open('interactions', 'data', local_id, data),"
                       " wb_open('interactions', 'base', local_id, base), base_etag, etag, created, created_by, modified,"
                       " modified_by, customer_id, security_group_id, deleted, state, version"
                       " FROM interactions WHERE local_id = ?1",
                       -1, &q, NULL);
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    while (sqlite3_step(q) == SQLITE_ROW)
        for (int c = 0; c < sqlite3_column_count(q); c++)
            wb_buf__printf(&b, "%s|", sqlite3_column_type(q, c) == SQLITE_NULL
                                          ? "NULL"
                                          : (const char *)sqlite3_column_text(q, c));
    sqlite3_finalize(q);
    sqlite3_prepare_v2(db, "SELECT kind, hex(content) FROM interaction_log WHERE local_id = ?1"
                           " ORDER BY seq", -1, &q, NULL);
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    while (sqlite3_step(q) == SQLITE_ROW)
        wb_buf__printf(&b, "log %d %s|", sqlite3_column_int(q, 0),
                       (const char *)sqlite3_column_text(q, 1));
    sqlite3_finalize(q);
    out = wb_buf__detach(&b);
    return out ? out : wb__strdup("");
}

/* A pull page's element applied from its text (the pull's way) stores
 * exactly what the parsed envelope stores: the same row, the same log
 * content hash, the same outcome, for compact envelopes (read from the
 * text) and others (parsed), new records, repeats, updates, refusals. */
static void test_core_syncstore__apply_text_same_as_tree(void)
{
    static const char *loc_data =
        "{\"campaignId\":\"" FX_CAMPAIGN_A "\",\"contactId\":\"0478dbbf-b6eb-4168-afa9-5ebab6fef4b6\","
        "\"timestamp\":\"2019-01-01T00:00:00.000Z\",\"householdId\":\"h1\",\"location\":{\"lat\":"
        "52.1234567,\"lng\":-1.5,\"accuracy\":12},\"distance\":0.25,\"unavailable\":false}";
    static const char *esc_data =
        "{\"campaignId\":\"" FX_CAMPAIGN_A "\",\"contactId\":\"0478dbbf-b6eb-4168-afa9-5ebab6fef4b6\","
        "\"timestamp\":\"2019-01-01T00:00:02.000Z\",\"note\":\"say \\\"hi\\\"\\n\"}";
    static const char *odd_data = /* a number the printer writes otherwise */
        "{\"campaignId\":\"" FX_CAMPAIGN_A "\",\"contactId\":\"0478dbbf-b6eb-4168-afa9-5ebab6fef4b6\","
        "\"timestamp\":\"2019-01-01T00:00:03.000Z\",\"distance\":1.50}";
    static const char *no_campaign = "{\"contactId\":\"c\",\"timestamp\":\"t\"}";
    static const struct {
        const char *id, *data, *etag;
        int deleted, other_customer, space;
        enum wb_remote_outcome outcome;
    } steps[] = {
        {"aaaaaaaa-0000-4000-8000-000000000011", NULL, "t-1", 0, 0, 0, WB_REMOTE_INSERTED},
        {"aaaaaaaa-0000-4000-8000-000000000011", NULL, "t-1", 0, 0, 0, WB_REMOTE_UNCHANGED},
        {"aaaaaaaa-0000-4000-8000-000000000011", NULL, "t-2", 0, 0, 0, WB_REMOTE_UPDATED},
        {"aaaaaaaa-0000-4000-8000-000000000012", NULL, "t-1", 0, 0, 1, WB_REMOTE_INSERTED},
        {"aaaaaaaa-0000-4000-8000-000000000013", "esc", "t-1", 0, 0, 0, WB_REMOTE_INSERTED},
        {"aaaaaaaa-0000-4000-8000-000000000014", "odd", "t-1", 0, 0, 0, WB_REMOTE_INSERTED},
        {"aaaaaaaa-0000-4000-8000-000000000015", NULL, "t-1", 1, 0, 0, WB_REMOTE_UNCHANGED},
        {"aaaaaaaa-0000-4000-8000-000000000016", NULL, "t-1", 0, 1, 0, WB_REMOTE_REFUSED},
        {"aaaaaaaa-0000-4000-8000-000000000017", "none", "t-1", 0, 0, 0, WB_REMOTE_REFUSED},
        {"not-a-uuid", NULL, "t-1", 0, 0, 0, WB_REMOTE_REFUSED},
        {"aaaaaaaa-0000-4000-8000-000000000011", NULL, "t-3", 1, 0, 0, WB_REMOTE_DELETED},
    };
    wb_store *tree_store = fx_store("syncstore-tree.db");
    char *report = NULL;
    WBT_ASSERT(store && tree_store);
    WBT_OK(wb_store__begin(store));
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        char text[4096];
        const char *data = !steps[i].data                        ? loc_data
                           : strcmp(steps[i].data, "esc") == 0   ? esc_data
                           : strcmp(steps[i].data, "odd") == 0   ? odd_data
                                                                  : no_campaign;
        enum wb_remote_outcome o_text, o_tree;
        cJSON *env = NULL;
        char *a, *b;
        envelope_text(text, sizeof(text), steps[i].id, data, steps[i].etag, steps[i].deleted,
                      steps[i].other_customer ? "99999999-9999-4999-8999-999999999999"
                                              : FX_CUSTOMER,
                      steps[i].space);
        WBT_OK(wb_json__check(text, strlen(text), NULL, "t"));
        /* Whitespace, an escape, a number written otherwise: parsed. */
        WBT_ASSERT_INT(wb_json__is_compact(text, strlen(text)),
                       !steps[i].space && data != esc_data && data != odd_data);
        WBT_OK(wb_syncstore__apply_remote_text(&o_text, store, text, strlen(text),
                                               WB_POLICY_MERGE, 0));
        WBT_OK(wb_json__parse(&env, text, strlen(text), NULL, "t"));
        WBT_OK(wb_syncstore__apply_remote(&o_tree, tree_store, env, WB_POLICY_MERGE, 0));
        cJSON_Delete(env);
        WBT_ASSERT_INT(o_text, steps[i].outcome);
        WBT_ASSERT_INT(o_tree, steps[i].outcome);
        a = row_dump(store, steps[i].id);
        b = row_dump(tree_store, steps[i].id);
        if (strcmp(a, b) != 0)
            WBT_FAIL("step %zu: text %s\n  tree %s", i, a, b);
        WBT_ASSERT((strlen(a) > 4) == (steps[i].outcome != WB_REMOTE_REFUSED &&
                                   !(steps[i].outcome == WB_REMOTE_UNCHANGED && steps[i].deleted)));
        wb__free(a);
        wb__free(b);
    }
    WBT_OK(wb_store__commit(store));
    WBT_OK(wb_log_verify(&report, store));
    WBT_ASSERT_CONTAINS(report, "\"ok\":true");
    wb_free(report);
    wb_store_free(tree_store);
}

/* A pulled record's base is its data, stored once (store_int.h,
 * WB_BASE_SQL). An edit keeps the pulled version as the base of its diff,
 * a delete keeps it too, a merge reads it; rekeying an encrypted store
 * keeps all of it. */
static void test_core_syncstore__pulled_base_is_data(void)
{
    static const char *ids[] = {"aaaaaaaa-0000-4000-8000-000000000031",
                                "aaaaaaaa-0000-4000-8000-000000000032",
                                "aaaaaaaa-0000-4000-8000-000000000033",
                                "aaaaaaaa-0000-4000-8000-000000000034"};
    enum wb_remote_outcome o;
    char text[4096], *pulled = NULL, *b = NULL;
    wb_pending *p = NULL;
    size_t n = 0;
    WBT_ASSERT(store);
    for (int i = 0; i < 4; i++) {
        envelope_text(text, sizeof(text), ids[i], REMOTE_DATA("true", "false"), "p-1", 0,
                      FX_CUSTOMER, 0);
        WBT_OK(wb_syncstore__apply_remote_text(&o, store, text, strlen(text), WB_POLICY_MERGE,
                                               0));
        WBT_ASSERT_INT(o, WB_REMOTE_INSERTED);
        b = stored_base(ids[i]);
        WBT_ASSERT_STR(b, "NULL"); /* not stored twice */
        wb__free(b);
    }
    pulled = data_of(ids[0]);
    WBT_ASSERT(pulled != NULL);

    /* An edit: the diff's base is the pulled version, now stored. */
    WBT_OK(wb_interaction_update(store, ids[0], "[{\"op\":\"replace\",\"path\":"
                                                "\"/successful\",\"value\":false}]"));
    WBT_ASSERT_STR(state_of(ids[0]), "pending_update");
    b = stored_base(ids[0]);
    WBT_ASSERT_STR(b, pulled);
    wb__free(b);
    /* A delete: its base too. */
    WBT_OK(wb_interaction_delete(store, ids[1]));
    WBT_ASSERT_STR(state_of(ids[1]), "pending_delete");
    b = stored_base(ids[1]);
    WBT_ASSERT_STR(b, pulled);
    wb__free(b);
    /* What the push reads: base = the pulled version, data = the edit. */
    WBT_OK(wb_syncstore__pending(&p, &n, store, INT64_MAX, 100));
    WBT_ASSERT_INT(n, 2);
    for (size_t i = 0; i < n; i++) {
        WBT_ASSERT(p[i].base != NULL);
        WBT_ASSERT_STR(p[i].base, pulled);
        WBT_ASSERT_STR(p[i].base_etag, "p-1");
    }
    wb_syncstore__pending_free(p, n);

    /* An edit back to the pulled version: synced again, nothing to send. */
    WBT_OK(wb_interaction_update(store, ids[0], "[{\"op\":\"replace\",\"path\":"
                                                "\"/successful\",\"value\":true}]"));
    WBT_ASSERT_STR(state_of(ids[0]), "synced");

    /* A remote change of the untouched one merges against its implied
     * base: an edit on each side of different fields keeps both. */
    WBT_OK(wb_interaction_update(store, ids[2], "[{\"op\":\"replace\",\"path\":"
                                                "\"/unavailable\",\"value\":true}]"));
    envelope_text(text, sizeof(text), ids[2], REMOTE_DATA("false", "false"), "p-2", 0,
                  FX_CUSTOMER, 0);
    WBT_OK(wb_syncstore__apply_remote_text(&o, store, text, strlen(text), WB_POLICY_MERGE, 0));
    WBT_ASSERT_INT(o, WB_REMOTE_MERGED);
    b = data_of(ids[2]);
    WBT_ASSERT_CONTAINS(b, "\"successful\":false");
    WBT_ASSERT_CONTAINS(b, "\"unavailable\":true");
    wb__free(b);

    /* Sealed anew (encrypt, or rekey an encrypted store), then opened
     * again (decrypt): the implied bases stay implied, the stored one
     * reads back, and so does what the push reads. */
    {
        static const unsigned char key2[WB_KEY_BYTES] = "another-key-for-the-base-case-1";
        wb_store_options k = WB_STORE_OPTIONS_INIT;
        k.key = key2;
        if (wb_store_encrypted(store))
            WBT_OK(wb_store_rekey(store, &k));
        else
            WBT_OK(wb_store_encrypt(store, &k));
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < 2; i++) {
                b = stored_base(ids[i]); /* edited back, deleted: stored */
                WBT_ASSERT_STR(b, pulled);
                wb__free(b);
            }
            b = stored_base(ids[3]); /* untouched: still the data */
            WBT_ASSERT_STR(b, "NULL");
            wb__free(b);
            b = data_of(ids[3]);
            WBT_ASSERT_STR(b, pulled);
            wb__free(b);
            WBT_OK(wb_syncstore__pending(&p, &n, store, INT64_MAX, 100));
            WBT_ASSERT_INT(n, 2);
            for (size_t i = 0; i < n; i++)
                if (strcmp(p[i].local_id, ids[1]) == 0)
                    WBT_ASSERT_STR(p[i].base, pulled);
            wb_syncstore__pending_free(p, n);
            if (round == 0)
                WBT_OK(wb_store_decrypt(store));
        }
    }
    wb__free(pulled);
}

/* Entries appended in a transaction that is rolled back leave nothing
 * behind: the next transaction's entries follow the log as committed (the
 * last entry is remembered within a transaction only). */
static void test_core_syncstore__log_after_rollback(void)
{
    enum wb_remote_outcome o;
    char text[4096], *report = NULL;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_store__begin(store));
    for (int i = 0; i < 2; i++) {
        char id[64];
        snprintf(id, sizeof(id), "aaaaaaaa-0000-4000-8000-00000000002%d", i);
        envelope_text(text, sizeof(text), id, REMOTE_DATA("true", "false"), "r", 0, FX_CUSTOMER,
                      0);
        WBT_OK(wb_syncstore__apply_remote_text(&o, store, text, strlen(text), WB_POLICY_MERGE, 0));
        WBT_ASSERT_INT(o, WB_REMOTE_INSERTED);
    }
    wb_store__rollback(store);
    WBT_OK(wb_store__begin(store));
    for (int i = 0; i < 3; i++) {
        char id[64];
        snprintf(id, sizeof(id), "aaaaaaaa-0000-4000-8000-00000000003%d", i);
        envelope_text(text, sizeof(text), id, REMOTE_DATA("true", "false"), "r", 0, FX_CUSTOMER,
                      0);
        WBT_OK(wb_syncstore__apply_remote_text(&o, store, text, strlen(text), WB_POLICY_MERGE, 0));
    }
    WBT_OK(wb_store__commit(store));
    WBT_OK(wb_log_verify(&report, store));
    WBT_ASSERT_CONTAINS(report, "\"entries\":3,\"signed\":1");
    WBT_ASSERT_CONTAINS(report, "\"ok\":true");
    wb_free(report);
}

static const wbt_case cases[] = {
    WBT_CASE(test_core_syncstore__pulled_base_is_data),
    WBT_CASE(test_core_syncstore__pending_and_ack_create),
    WBT_CASE(test_core_syncstore__ack_keeps_inflight_edit),
    WBT_CASE(test_core_syncstore__echo_ack_and_pending_left),
    WBT_CASE(test_core_syncstore__reject_and_defer),
    WBT_CASE(test_core_syncstore__ack_delete),
    WBT_CASE(test_core_syncstore__pull_insert_update_delete),
    WBT_CASE(test_core_syncstore__apply_text_same_as_tree),
    WBT_CASE(test_core_syncstore__log_after_rollback),
    WBT_CASE(test_core_syncstore__pulled_fix_hashes_as_stored),
    WBT_CASE(test_core_syncstore__pull_merges_under_each_policy),
    WBT_CASE(test_core_syncstore__manual_conflict_is_parked),
    WBT_CASE(test_core_syncstore__remote_delete_of_local_edit_conflicts),
    WBT_CASE(test_core_syncstore__lost_response_create_is_adopted),
    WBT_CASE(test_core_syncstore__delete_after_unknown_create),
    WBT_CASE(test_core_syncstore__watermarks),
    WBT_CASE(test_core_syncstore__conflict_get_and_resolve),
    WBT_CASE(test_core_syncstore__conflict_with_remote_delete_take_local),
    WBT_CASE(test_core_syncstore__pending_one),
    WBT_CASE(test_core_syncstore__conflict_reparked_keeps_paths),
    WBT_CASE(test_core_syncstore__found_create_keeps_both_sides),
    WBT_CASE(test_core_syncstore__pulled_own_create_keeps_both_sides),
    WBT_CASE(test_core_syncstore__create_attempt_settles),
    WBT_CASE(test_core_syncstore__edit_keeps_create_settle_time),
    WBT_CASE(test_core_syncstore__create_marks_cleared),
    WBT_CASE(test_core_syncstore__migration_011_moves_marks),
    WBT_CASE(test_core_syncstore__migration_012_indexes_differing_server_ids),
    WBT_CASE(test_core_syncstore__server_id_lookups_use_the_index),
    WBT_CASE(test_core_syncstore__pulled_own_create_deleted_remotely),
};
WBT_MAIN(cases, setup, teardown)
