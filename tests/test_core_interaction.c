/* test_core_interaction.c - record, get, update, delete, batch, purge and
 * the change-tracking (coalescing) rules. */
#include <sqlite3.h>

#include "fixtures.h"
#include "store_int.h"
#include "wbtest.h"

static wb_store *store;

static void setup(void)
{
    store = fx_store("interaction.db");
}

static void teardown(void)
{
    wb_store_free(store);
    store = NULL;
}

static uint64_t count_all(void)
{
    wb_query q = WB_QUERY_INIT;
    uint64_t n = 0;
    q.deleted = WB_DELETED_INCLUDE;
    if (wb_interaction_count(&n, store, &q) != 0)
        return (uint64_t)-1;
    return n;
}

/* State name of a record, from wb_interaction_sync_info. */
static const char *state_of(const char *id)
{
    static char buf[64];
    char *info = NULL;
    const char *p;
    buf[0] = '\0';
    if (wb_interaction_sync_info(&info, store, id) != 0)
        return "error";
    p = strstr(info, "\"state\":\"");
    if (p) {
        p += 9;
        snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(p, "\""), p);
    }
    wb_free(info);
    return buf;
}

static long long version_of(const char *id)
{
    char *info = NULL;
    long long v = -1;
    const char *p;
    if (wb_interaction_sync_info(&info, store, id) != 0)
        return -1;
    if ((p = strstr(info, "\"version\":")))
        v = atoll(p + 10);
    wb_free(info);
    return v;
}

/* What the sync engine does when the server acknowledges a record: base =
 * data, state synced. Done here with SQL until the engine exists. */
static int pretend_synced(const char *id)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             /* base = data through the store's seal functions: a ciphertext
              * copied as-is to another column would not open there. */
             "UPDATE interactions SET state = 1, base = wb_seal('interactions', 'base', local_id,"
             " wb_open('interactions', 'data', local_id, data)), base_etag = 'e-1', etag = 'e-1',"
             " server_id = local_id WHERE local_id = '%s'",
             id);
    return sqlite3_exec(store->db, sql, NULL, NULL, NULL);
}

static int pretend_state(const char *id, int state)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "UPDATE interactions SET state = %d WHERE local_id = '%s'", state,
             id);
    return sqlite3_exec(store->db, sql, NULL, NULL, NULL);
}

static void test_core_interaction__record_flat_v2_example(void)
{
    char *body = fx_polis("interaction-v3-create-request.json");
    char *id = NULL, *env = NULL;
    WBT_ASSERT(store && body);
    WBT_OK(wb_interaction_record(&id, store, body));
    WBT_ASSERT_INT(strlen(id), 36);
    WBT_ASSERT(id[14] == '4');
    WBT_OK(wb_interaction_get(&env, store, id, 0));
    WBT_ASSERT(strncmp(env, "{\"id\":\"", 7) == 0);
    WBT_ASSERT_CONTAINS(env, "\"contactHouseholdId\":\"d070b1dc-9611-4f29-9300-a32160d21baa\"");
    WBT_ASSERT_CONTAINS(env, "\"lat\":33.43174362182617");
    WBT_ASSERT_CONTAINS(env, "\"resource\":\"interactions\"");
    WBT_ASSERT_CONTAINS(env, "\"isDeleted\":false");
    WBT_ASSERT_CONTAINS(env, "\"etag\":\"\"");
    WBT_ASSERT_CONTAINS(env, "\"createdBy\":\"" FX_USER "\"");
    WBT_ASSERT_STR(state_of(id), "pending_create");
    WBT_ASSERT_INT(version_of(id), 1);
    free(body);
    wb_free(id);
    wb_free(env);
}

static void test_core_interaction__record_wrapped_v1_example(void)
{
    char *body = fx_polis("interaction-v1-create-request.json");
    char *id = NULL, *env = NULL;
    WBT_ASSERT(store && body);
    WBT_OK(wb_interaction_record(&id, store, body));
    WBT_OK(wb_interaction_get(&env, store, id, 0));
    /* The stored data is the inner object, not the wrapper. */
    WBT_ASSERT_CONTAINS(env, "\"data\":{\"campaignId\":\"d545b1e1-8f97-4ae4-a164-1b4a4a87bc07\"");
    WBT_ASSERT(strstr(env, "\"data\":{\"data\"") == NULL);
    free(body);
    wb_free(id);
    wb_free(env);
}

static void test_core_interaction__record_timestamps_increase(void)
{
    char *a = NULL, *b = NULL, *ea = NULL, *eb = NULL;
    const char *ma, *mb;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&a, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_interaction_record(&b, store, fx_body(NULL, NULL, NULL)));
    WBT_ASSERT(strcmp(a, b) != 0);
    WBT_OK(wb_interaction_get(&ea, store, a, 0));
    WBT_OK(wb_interaction_get(&eb, store, b, 0));
    ma = strstr(ea, "\"modified\":\"");
    mb = strstr(eb, "\"modified\":\"");
    WBT_ASSERT(ma && mb);
    /* Two records in the same millisecond still get increasing modified. */
    WBT_ASSERT(strncmp(ma, mb, 12 + 24) < 0);
    wb_free(a);
    wb_free(b);
    wb_free(ea);
    wb_free(eb);
}

static void test_core_interaction__record_refuses_and_keeps_store(void)
{
    static const struct {
        const char *body;
        int code;
        const char *msg;
    } bad[] = {
        {"", WB_EINVALID, "body"},
        {"[1,2]", WB_EINVALID, "object"},
        {"{\"campaignId\":1} trailing", WB_EINVALID, "body"},
        {"{\"contactId\":\"0478dbbf-b6eb-4168-afa9-5ebab6fef4b6\"}", WB_EINVALID, "campaignId"},
        {"{\"data\":{},\"params\":{}}", WB_EINVALID, "params"},
    };
    char *id = NULL;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&id, store, fx_body(NULL, NULL, NULL)));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        WBT_FAILS(wb_interaction_record(NULL, store, bad[i].body), bad[i].code, bad[i].msg);
    WBT_FAILS(wb_interaction_record(NULL, store, fx_body(NULL, NULL, "2019-02-30T00:00:00.000Z")),
              WB_EINVALID, "timestamp");
    WBT_FAILS(wb_interaction_record(NULL, store, fx_body("not-a-uuid", NULL, NULL)), WB_EINVALID,
              "campaignId");
    WBT_FAILS(wb_interaction_record(NULL, store, NULL), WB_EINVALID, "body");
    WBT_ASSERT_INT(count_all(), 1);
    wb_free(id);
}

static void test_core_interaction__get_unknown_and_bad_id(void)
{
    char *env = NULL;
    WBT_ASSERT(store != NULL);
    WBT_FAILS(wb_interaction_get(&env, store, "11111111-1111-4111-8111-111111111111", 0),
              WB_ENOTFOUND, "not found");
    WBT_FAILS(wb_interaction_get(&env, store, "x';DROP TABLE interactions;--", 0), WB_EINVALID,
              "id");
    WBT_ASSERT(env == NULL);
}

static void test_core_interaction__update_paths_relative_and_prefixed(void)
{
    char *id = NULL, *env = NULL;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&id, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_interaction_update(store, id,
                                 "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]"));
    WBT_OK(wb_interaction_get(&env, store, id, 0));
    WBT_ASSERT_CONTAINS(env, "\"successful\":false");
    wb_free(env);
    WBT_OK(wb_interaction_update(
        store, id, "{\"data\":[{\"op\":\"replace\",\"path\":\"/data/unavailable\",\"value\":true},"
                   "{\"op\":\"add\",\"path\":\"/data/unavailableReason\",\"value\":\"Come Back\"}]}"));
    WBT_OK(wb_interaction_get(&env, store, id, 0));
    WBT_ASSERT_CONTAINS(env, "\"unavailable\":true");
    WBT_ASSERT_CONTAINS(env, "\"unavailableReason\":\"Come Back\"");
    wb_free(env);
    /* A survey answer, by pointer. */
    WBT_OK(wb_interaction_update(
        store, id,
        "[{\"op\":\"replace\",\"path\":\"/survey/responses/9826940d-76a8-4700-8c92-5743ce7bb728/"
        "fields/available\",\"value\":\"false\"}]"));
    WBT_OK(wb_interaction_get(&env, store, id, 0));
    WBT_ASSERT_CONTAINS(env, "\"fields\":{\"available\":\"false\"}");
    wb_free(env);
    wb_free(id);
}

static void test_core_interaction__update_refused_changes_nothing(void)
{
    char *id = NULL, *before = NULL, *after = NULL;
    static const struct {
        const char *patch;
        int code;
        const char *msg;
    } bad[] = {
        /* Outside data: these resolve inside data, where they are unknown. */
        {"[{\"op\":\"replace\",\"path\":\"/meta/etag\",\"value\":\"x\"}]", WB_EINVALID,
         "patch[0]: path /meta/etag is outside data"},
        {"[{\"op\":\"add\",\"path\":\"/id\",\"value\":\"x\"}]", WB_EINVALID, "outside data"},
        {"[{\"op\":\"test\",\"path\":\"/successful\",\"value\":true},"
         "{\"op\":\"copy\",\"from\":\"/customerId\",\"path\":\"/x\"}]",
         WB_EINVALID, "patch[1]: from /customerId is outside data"},
        {"[{\"op\":\"add\",\"path\":\"/data/customerId\",\"value\":\"" FX_CUSTOMER "\"}]",
         WB_EINVALID, "data.customerId: unknown member"},
        /* Invalid result. */
        {"[{\"op\":\"replace\",\"path\":\"/location/lat\",\"value\":91}]", WB_EINVALID,
         "location.lat"},
        {"[{\"op\":\"remove\",\"path\":\"/campaignId\"}]", WB_EINVALID, "campaignId"},
        /* A failing test op, after a valid op: all or nothing. */
        {"[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false},"
         "{\"op\":\"test\",\"path\":\"/unavailable\",\"value\":true}]",
         WB_EINVALID, "test"},
        {"{\"ops\":[]}", WB_EINVALID, "patch"},
        {"[{\"op\":\"jump\",\"path\":\"/successful\"}]", WB_EINVALID, "patch[0]"},
        {"not json", WB_EINVALID, "patch"},
        {"[{\"op\":\"replace\",\"path\":\"\",\"value\":[]}]", WB_EINVALID, "data"},
    };
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&id, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_interaction_get(&before, store, id, 0));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        WBT_FAILS(wb_interaction_update(store, id, bad[i].patch), bad[i].code, bad[i].msg);
    WBT_OK(wb_interaction_get(&after, store, id, 0));
    WBT_ASSERT_STR(after, before);
    WBT_ASSERT_INT(version_of(id), 1);
    WBT_FAILS(wb_interaction_update(store, "11111111-1111-4111-8111-111111111111", "[]"),
              WB_ENOTFOUND, "not found");
    wb_free(before);
    wb_free(after);
    wb_free(id);
}

static void test_core_interaction__delete_and_tombstone(void)
{
    char *id = NULL, *env = NULL;
    wb_query q = WB_QUERY_INIT;
    uint64_t n = 0;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&id, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_interaction_delete(store, id));
    WBT_FAILS(wb_interaction_get(&env, store, id, 0), WB_ENOTFOUND, "not found");
    WBT_OK(wb_interaction_get(&env, store, id, 1));
    WBT_ASSERT_CONTAINS(env, "\"isDeleted\":true");
    wb_free(env);
    WBT_FAILS(wb_interaction_delete(store, id), WB_ENOTFOUND, "not found");
    WBT_FAILS(wb_interaction_update(store, id, "[]"), WB_ENOTFOUND, "not found");
    WBT_OK(wb_interaction_count(&n, store, NULL));
    WBT_ASSERT_INT(n, 0);
    q.deleted = WB_DELETED_ONLY;
    WBT_OK(wb_interaction_count(&n, store, &q));
    WBT_ASSERT_INT(n, 1);
    wb_free(id);
}

/* The coalescing table at the top of interaction.c, row by row. */
static void test_core_interaction__coalesce_create_then_updates(void)
{
    char *id = NULL;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&id, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_interaction_update(store, id,
                                 "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]"));
    WBT_OK(wb_interaction_update(store, id,
                                 "[{\"op\":\"replace\",\"path\":\"/unavailable\",\"value\":true}]"));
    /* create + updates = one create */
    WBT_ASSERT_STR(state_of(id), "pending_create");
    WBT_ASSERT_INT(version_of(id), 3);
    wb_free(id);
}

static void test_core_interaction__coalesce_synced_update_and_back(void)
{
    char *id = NULL;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&id, store, fx_body(NULL, NULL, NULL)));
    WBT_ASSERT_INT(pretend_synced(id), SQLITE_OK);
    WBT_ASSERT_STR(state_of(id), "synced");
    WBT_OK(wb_interaction_update(store, id,
                                 "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]"));
    WBT_ASSERT_STR(state_of(id), "pending_update");
    WBT_OK(wb_interaction_update(store, id,
                                 "[{\"op\":\"replace\",\"path\":\"/unavailable\",\"value\":true}]"));
    WBT_ASSERT_STR(state_of(id), "pending_update");
    /* Undo both edits: data equals base again, nothing left to send. */
    WBT_OK(wb_interaction_update(store, id,
                                 "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":true},"
                                 "{\"op\":\"replace\",\"path\":\"/unavailable\",\"value\":false}]"));
    WBT_ASSERT_STR(state_of(id), "synced");
    WBT_ASSERT_INT(version_of(id), 4);
    wb_free(id);
}

static void test_core_interaction__coalesce_noop_update(void)
{
    char *id = NULL;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&id, store, fx_body(NULL, NULL, NULL)));
    WBT_ASSERT_INT(pretend_synced(id), SQLITE_OK);
    WBT_OK(wb_interaction_update(store, id,
                                 "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":true}]"));
    WBT_OK(wb_interaction_update(store, id, "[]"));
    WBT_ASSERT_STR(state_of(id), "synced");
    WBT_ASSERT_INT(version_of(id), 1);
    wb_free(id);
}

static void test_core_interaction__coalesce_create_then_delete(void)
{
    char *id = NULL;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&id, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_interaction_delete(store, id));
    /* Nothing to send, but the tombstone stays until purged. */
    WBT_ASSERT_STR(state_of(id), "synced");
    WBT_ASSERT_INT(count_all(), 1);
    wb_free(id);
}

static void test_core_interaction__coalesce_synced_delete(void)
{
    char *a = NULL, *b = NULL;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&a, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_interaction_record(&b, store, fx_body(NULL, NULL, NULL)));
    WBT_ASSERT_INT(pretend_synced(a), SQLITE_OK);
    WBT_ASSERT_INT(pretend_synced(b), SQLITE_OK);
    WBT_OK(wb_interaction_delete(store, a));
    WBT_ASSERT_STR(state_of(a), "pending_delete");
    /* update then delete: the delete wins, the update need not be sent */
    WBT_OK(wb_interaction_update(store, b,
                                 "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]"));
    WBT_OK(wb_interaction_delete(store, b));
    WBT_ASSERT_STR(state_of(b), "pending_delete");
    wb_free(a);
    wb_free(b);
}

static void test_core_interaction__coalesce_rejected_and_conflict(void)
{
    char *a = NULL, *b = NULL, *c = NULL;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_record(&a, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_interaction_record(&b, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_interaction_record(&c, store, fx_body(NULL, NULL, NULL)));
    /* Rejected before the server ever took it: a fix retries the create. */
    WBT_ASSERT_INT(pretend_state(a, WB_STATE_REJECTED), SQLITE_OK);
    WBT_OK(wb_interaction_update(store, a,
                                 "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]"));
    WBT_ASSERT_STR(state_of(a), "pending_create");
    /* Rejected update of a synced record: the fix is a new update. */
    WBT_ASSERT_INT(pretend_synced(b), SQLITE_OK);
    WBT_ASSERT_INT(pretend_state(b, WB_STATE_REJECTED), SQLITE_OK);
    WBT_OK(wb_interaction_update(store, b,
                                 "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]"));
    WBT_ASSERT_STR(state_of(b), "pending_update");
    /* Conflicts are resolved first, never edited over. */
    WBT_ASSERT_INT(pretend_state(c, WB_STATE_CONFLICT), SQLITE_OK);
    WBT_FAILS(wb_interaction_update(store, c,
                                    "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]"),
              WB_ECONFLICT, "conflict");
    WBT_FAILS(wb_interaction_delete(store, c), WB_ECONFLICT, "conflict");
    WBT_ASSERT_STR(state_of(c), "conflict");
    wb_free(a);
    wb_free(b);
    wb_free(c);
}

static void test_core_interaction__batch_all_or_nothing(void)
{
    const char *bodies[4];
    char *ids[4] = {0};
    WBT_ASSERT(store != NULL);
    bodies[0] = fx_body(NULL, NULL, "2020-01-01T00:00:00.000Z");
    bodies[1] = fx_body(NULL, NULL, "2020-01-01T00:00:01.000Z");
    bodies[2] = fx_body(NULL, NULL, "2020-13-01T00:00:01.000Z");
    bodies[3] = fx_body(NULL, NULL, "2020-01-01T00:00:03.000Z");
    WBT_FAILS(wb_interaction_record_batch(ids, store, bodies, 4), WB_EINVALID, "records[2]");
    WBT_ASSERT(ids[0] == NULL && ids[3] == NULL);
    WBT_ASSERT_INT(count_all(), 0);
    bodies[2] = fx_body(NULL, NULL, "2020-01-01T00:00:02.000Z");
    WBT_OK(wb_interaction_record_batch(ids, store, bodies, 4));
    WBT_ASSERT_INT(count_all(), 4);
    for (int i = 0; i < 4; i++) {
        WBT_ASSERT(ids[i] != NULL);
        WBT_ASSERT_STR(state_of(ids[i]), "pending_create");
        wb_free(ids[i]);
    }
    WBT_OK(wb_interaction_record_batch(NULL, store, bodies, 0));
}

static int64_t fake_now = 1600000000000;
static int64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static void test_core_interaction__purge_only_settled_tombstones(void)
{
    char *a = NULL, *b = NULL, *c = NULL;
    uint64_t purged = 99;
    WBT_ASSERT(store != NULL);
    wb_store__set_clock(store, fake_clock, NULL);
    WBT_OK(wb_interaction_record(&a, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_interaction_record(&b, store, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_interaction_record(&c, store, fx_body(NULL, NULL, NULL)));
    WBT_ASSERT_INT(pretend_synced(b), SQLITE_OK);
    WBT_OK(wb_interaction_delete(store, a)); /* never sent: settled at once */
    WBT_OK(wb_interaction_delete(store, b)); /* pending_delete: must stay */
    WBT_OK(wb_interaction_purge(&purged, store, 1000));
    WBT_ASSERT_INT(purged, 0); /* too recent */
    fake_now += 5000;
    WBT_OK(wb_interaction_purge(&purged, store, 1000));
    WBT_ASSERT_INT(purged, 1);
    WBT_ASSERT_INT(count_all(), 2);
    WBT_ASSERT_STR(state_of(b), "pending_delete");
    WBT_FAILS(wb_interaction_purge(NULL, store, -1), WB_EINVALID, "older_than_ms");
    wb_free(a);
    wb_free(b);
    wb_free(c);
}

static void test_core_interaction__state_names(void)
{
    WBT_ASSERT_STR(wb_sync_state_name(WB_STATE_PENDING_DELETE), "pending_delete");
    WBT_ASSERT(wb_sync_state_name(3) == NULL);
    WBT_ASSERT_INT(wb_sync_state_from_name("rejected"), WB_STATE_REJECTED);
    WBT_ASSERT_INT(wb_sync_state_from_name("Rejected"), 0);
}

/* Every allocation of a record+get+update cycle fails once in turn: the
 * call reports WB_ENOMEM (or succeeds), nothing leaks, and the store still
 * holds exactly what succeeded. */
static void test_core_interaction__alloc_failures(void)
{
    long base;
    int n, ok = 0;
    WBT_ASSERT(store != NULL);
    base = wb__alloc_live();
    for (n = 1; n < 400 && !ok; n++) {
        char *id = NULL;
        int rc;
        wb__alloc_fail_at(n);
        rc = wb_interaction_record(&id, store, fx_body(NULL, NULL, NULL));
        wb__alloc_fail_at(0);
        WBT_ASSERT(rc == 0 || rc == WB_ENOMEM);
        if (rc == 0 && id)
            ok = 1;
        wb_free(id);
        WBT_ASSERT_INT(wb__alloc_live(), base);
    }
    WBT_ASSERT(ok);
}

static const wbt_case cases[] = {
    WBT_CASE(test_core_interaction__record_flat_v2_example),
    WBT_CASE(test_core_interaction__record_wrapped_v1_example),
    WBT_CASE(test_core_interaction__record_timestamps_increase),
    WBT_CASE(test_core_interaction__record_refuses_and_keeps_store),
    WBT_CASE(test_core_interaction__get_unknown_and_bad_id),
    WBT_CASE(test_core_interaction__update_paths_relative_and_prefixed),
    WBT_CASE(test_core_interaction__update_refused_changes_nothing),
    WBT_CASE(test_core_interaction__delete_and_tombstone),
    WBT_CASE(test_core_interaction__coalesce_create_then_updates),
    WBT_CASE(test_core_interaction__coalesce_synced_update_and_back),
    WBT_CASE(test_core_interaction__coalesce_noop_update),
    WBT_CASE(test_core_interaction__coalesce_create_then_delete),
    WBT_CASE(test_core_interaction__coalesce_synced_delete),
    WBT_CASE(test_core_interaction__coalesce_rejected_and_conflict),
    WBT_CASE(test_core_interaction__batch_all_or_nothing),
    WBT_CASE(test_core_interaction__purge_only_settled_tombstones),
    WBT_CASE(test_core_interaction__state_names),
    WBT_CASE(test_core_interaction__alloc_failures),
};
WBT_MAIN(cases, setup, teardown)
