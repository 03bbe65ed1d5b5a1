/* test_core_query.c - filters, order, cursor paging and counts. */
#include "fixtures.h"
#include "wbtest.h"

static wb_store *store;
#define CONTACT_X "0478dbbf-b6eb-4168-afa9-5ebab6fef4b6"
#define CONTACT_Y "3e591604-059a-4726-a0b9-0af6316adfa6"

/* 30 records: campaign A for even i, B for odd; contact X for i < 10;
 * timestamps one second apart, recorded in a shuffled order. */
static char *ids[30];

static const char *ts_of(int i)
{
    static char bufs[4][32];
    static int slot;
    char *b = bufs[slot++ % 4];
    snprintf(b, 32, "2020-05-01T10:00:%02d.000Z", i);
    return b;
}

static void setup(void)
{
    store = fx_store("query.db");
    if (!store)
        return;
    for (int k = 0; k < 30; k++) {
        int i = (k * 7) % 30; /* a permutation of 0..29 */
        if (wb_interaction_record(&ids[i], store,
                                  fx_body(i % 2 ? FX_CAMPAIGN_B : FX_CAMPAIGN_A,
                                          i < 10 ? CONTACT_X : CONTACT_Y, ts_of(i))) != 0)
            fprintf(stderr, "setup: %s\n", wb_error_last()->message);
    }
}

static void teardown(void)
{
    for (int i = 0; i < 30; i++) {
        wb_free(ids[i]);
        ids[i] = NULL;
    }
    wb_store_free(store);
    store = NULL;
}

/* Run q to the end, collecting the record index of each result (by id). */
static int collect(const wb_query *q, int *out, int max)
{
    wb_iter *it = NULL;
    const char *env;
    int n = 0, rc;
    if (wb_interaction_query(&it, store, q) != 0)
        return -1;
    while ((rc = wb_iter_next(&env, it)) == 0 && n < max) {
        int found = -1;
        for (int i = 0; i < 30; i++)
            if (ids[i] && strncmp(env + 7, ids[i], 36) == 0)
                found = i;
        out[n++] = found;
    }
    wb_iter_free(it);
    return rc == WB_ITEROVER || n == max ? n : -1;
}

static void test_core_query__all_in_time_order(void)
{
    int got[40];
    WBT_ASSERT(store != NULL);
    WBT_ASSERT_INT(collect(NULL, got, 40), 30);
    for (int i = 0; i < 30; i++)
        WBT_ASSERT_INT(got[i], i);
}

static void test_core_query__desc_order(void)
{
    wb_query q = WB_QUERY_INIT;
    int got[40];
    WBT_ASSERT(store != NULL);
    q.order = WB_ORDER_TIME_DESC;
    WBT_ASSERT_INT(collect(&q, got, 40), 30);
    for (int i = 0; i < 30; i++)
        WBT_ASSERT_INT(got[i], 29 - i);
}

static void test_core_query__modified_order_is_recording_order(void)
{
    wb_query q = WB_QUERY_INIT;
    int got[40];
    WBT_ASSERT(store != NULL);
    q.order = WB_ORDER_MODIFIED_ASC;
    WBT_ASSERT_INT(collect(&q, got, 40), 30);
    for (int k = 0; k < 30; k++)
        WBT_ASSERT_INT(got[k], (k * 7) % 30);
}

static void test_core_query__filters(void)
{
    wb_query q = WB_QUERY_INIT;
    uint64_t n = 0;
    int got[40];
    WBT_ASSERT(store != NULL);
    q.campaign_id = FX_CAMPAIGN_A;
    WBT_OK(wb_interaction_count(&n, store, &q));
    WBT_ASSERT_INT(n, 15);
    WBT_ASSERT_INT(collect(&q, got, 40), 15);
    for (int i = 0; i < 15; i++)
        WBT_ASSERT_INT(got[i], 2 * i);
    q.contact_id = CONTACT_X;
    WBT_OK(wb_interaction_count(&n, store, &q));
    WBT_ASSERT_INT(n, 5);
    q.campaign_id = NULL;
    q.since = ts_of(5);
    q.until = ts_of(8);
    WBT_ASSERT_INT(collect(&q, got, 40), 3);
    WBT_ASSERT_INT(got[0], 5);
    WBT_ASSERT_INT(got[2], 7);
    q = (wb_query)WB_QUERY_INIT;
    q.household_id = "c15e3515-aabf-42da-8d1b-31679f738eae";
    WBT_OK(wb_interaction_count(&n, store, &q));
    WBT_ASSERT_INT(n, 30);
    q.household_id = "11111111-1111-4111-8111-111111111111";
    WBT_OK(wb_interaction_count(&n, store, &q));
    WBT_ASSERT_INT(n, 0);
    q = (wb_query)WB_QUERY_INIT;
    q.walklist_id = "11111111-1111-4111-8111-111111111111";
    WBT_OK(wb_interaction_count(&n, store, &q));
    WBT_ASSERT_INT(n, 0);
    WBT_OK(wb_interaction_update(store, ids[3],
                                 "[{\"op\":\"add\",\"path\":\"/walklistId\",\"value\":"
                                 "\"11111111-1111-4111-8111-111111111111\"}]"));
    WBT_OK(wb_interaction_count(&n, store, &q));
    WBT_ASSERT_INT(n, 1);
}

static void test_core_query__state_and_deleted(void)
{
    wb_query q = WB_QUERY_INIT;
    uint64_t n = 0;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_delete(store, ids[0])); /* becomes a synced tombstone */
    WBT_OK(wb_interaction_count(&n, store, NULL));
    WBT_ASSERT_INT(n, 29);
    q.states = WB_STATE_PENDING_CREATE;
    WBT_OK(wb_interaction_count(&n, store, &q));
    WBT_ASSERT_INT(n, 29);
    q.states = WB_STATE_SYNCED;
    WBT_OK(wb_interaction_count(&n, store, &q));
    WBT_ASSERT_INT(n, 0);
    q.deleted = WB_DELETED_INCLUDE;
    WBT_OK(wb_interaction_count(&n, store, &q));
    WBT_ASSERT_INT(n, 1);
    q.states = 0;
    WBT_OK(wb_interaction_count(&n, store, &q));
    WBT_ASSERT_INT(n, 30);
    q.deleted = WB_DELETED_ONLY;
    WBT_OK(wb_interaction_count(&n, store, &q));
    WBT_ASSERT_INT(n, 1);
}

static void test_core_query__cursor_paging(void)
{
    wb_query q = WB_QUERY_INIT;
    char cursor[128] = "";
    int seen = 0, pages = 0;
    WBT_ASSERT(store != NULL);
    q.limit = 7;
    q.order = WB_ORDER_TIME_DESC;
    for (;;) {
        wb_iter *it = NULL;
        const char *env;
        int n = 0;
        q.cursor = cursor[0] ? cursor : NULL;
        WBT_OK(wb_interaction_query(&it, store, &q));
        while (wb_iter_next(&env, it) == 0) {
            WBT_ASSERT(strncmp(env + 7, ids[29 - seen], 36) == 0);
            seen++;
            n++;
        }
        if (wb_iter_cursor(it))
            snprintf(cursor, sizeof(cursor), "%s", wb_iter_cursor(it));
        wb_iter_free(it);
        pages++;
        /* A record added between pages at an earlier time shows up later,
         * nothing is skipped or repeated. */
        if (n < 7 || pages > 10)
            break;
    }
    WBT_ASSERT_INT(seen, 30);
    WBT_ASSERT_INT(pages, 5);
}

static void test_core_query__bad_queries(void)
{
    wb_query q = WB_QUERY_INIT;
    wb_iter *it = NULL;
    uint64_t n;
    WBT_ASSERT(store != NULL);
    q.campaign_id = "abc";
    WBT_FAILS(wb_interaction_query(&it, store, &q), WB_EINVALID, "query.campaign_id");
    q = (wb_query)WB_QUERY_INIT;
    q.since = "yesterday";
    WBT_FAILS(wb_interaction_count(&n, store, &q), WB_EINVALID, "query.since");
    q = (wb_query)WB_QUERY_INIT;
    q.cursor = "0:garbage";
    WBT_FAILS(wb_interaction_query(&it, store, &q), WB_EINVALID, "query.cursor");
    q.cursor = "1:2020-05-01T10:00:05.000Z,11111111-1111-4111-8111-111111111111";
    WBT_FAILS(wb_interaction_query(&it, store, &q), WB_EINVALID, "another order");
    q = (wb_query)WB_QUERY_INIT;
    q.version = 42;
    WBT_FAILS(wb_interaction_query(&it, store, &q), WB_EINVALID, "query.version");
    q = (wb_query)WB_QUERY_INIT;
    q.states = 64;
    WBT_FAILS(wb_interaction_query(&it, store, &q), WB_EINVALID, "query.states");
    WBT_ASSERT(it == NULL);
}

/* Freeing the store while an iterator is open is deferred, not a crash. */
static void test_core_query__store_freed_before_iterator(void)
{
    wb_iter *it = NULL;
    const char *env;
    int n = 0;
    WBT_ASSERT(store != NULL);
    WBT_OK(wb_interaction_query(&it, store, NULL));
    WBT_OK(wb_iter_next(&env, it));
    wb_store_free(store);
    store = NULL;
    n = 1;
    while (wb_iter_next(&env, it) == 0)
        n++;
    WBT_ASSERT_INT(n, 30);
    wb_iter_free(it);
}

static const wbt_case cases[] = {
    WBT_CASE(test_core_query__all_in_time_order),
    WBT_CASE(test_core_query__desc_order),
    WBT_CASE(test_core_query__modified_order_is_recording_order),
    WBT_CASE(test_core_query__filters),
    WBT_CASE(test_core_query__state_and_deleted),
    WBT_CASE(test_core_query__cursor_paging),
    WBT_CASE(test_core_query__bad_queries),
    WBT_CASE(test_core_query__store_freed_before_iterator),
};
WBT_MAIN(cases, setup, teardown)
