/*
 * test_stress_threads.c - the threading contract of walkbook.h under load:
 * several threads record, update, delete and query, each on its own
 * wb_store handle to one file, while another thread syncs that file against
 * walkbook-server on 127.0.0.1 and a third cancels runs now and then. CI
 * runs it under ThreadSanitizer (tools/dev.sh, build-tsan); in the other
 * builds it checks the same outcome without the race detector.
 *
 * Bounded: a fixed number of records per thread and a deadline after which
 * the threads stop early. Afterwards one last sync must leave the store and
 * the server with the same live records, no duplicates, nothing pending.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server_client.h"
#include "walkbook.h"
#include "wbtest.h"

#define C1 "c1c1c1c1-0000-4000-8000-000000000001"
#define SG1 "5e5e5e5e-0000-4000-8000-000000000001"
#define U1 "aaaaaaaa-0000-4000-8000-000000000001"
#define CAMPAIGN "61fbfbaa-5de8-4d17-ac2b-c47f2376265a"
#define ADMIN_HDR "X-Admin-Token: adm-secret"

#define WRITERS 4
#define PER_WRITER 24
#define DEADLINE_S 60

static srv server;
static char db_path[512];
static char base_url[64];
static atomic_int writers_done;
static atomic_int stop_cancelling;
static time_t deadline;

typedef struct writer {
    pthread_t thread;
    int no;
    int recorded, deleted, updated, queried, busy;
    int errors;
    char what[256]; /* first failure */
} writer;

static void fail_once(writer *w, const char *step, int rc)
{
    const wb_error *e = wb_error_last();
    if (w->errors++ == 0)
        snprintf(w->what, sizeof(w->what), "writer %d %s: %d %s", w->no, step, rc,
                 e ? e->message : "");
}

static void make_body(char *buf, size_t size, int writer_no, int i)
{
    snprintf(buf, size,
             "{\"campaignId\":\"" CAMPAIGN "\",\"contactId\":\"0478dbbf-b6eb-4168-afa9-%06d%06d\","
             "\"timestamp\":\"2024-05-01T10:%02d:%02d.000Z\",\"unavailable\":false,"
             "\"successful\":true,\"survey\":{\"surveyId\":"
             "\"375d437b-3b47-4940-b43d-be8daec4afff\"}}",
             writer_no, i, writer_no, i % 60);
}

/* WB_EBUSY is a documented outcome when writers take turns past the busy
 * timeout: count it and try again (bounded). */
#define RETRY_BUSY(w, rc, call)                                                                  \
    do {                                                                                         \
        (rc) = (call);                                                                           \
        for (int try_ = 0; (rc) == WB_EBUSY && try_ < 20; try_++) {                              \
            (w)->busy++;                                                                         \
            (rc) = (call);                                                                       \
        }                                                                                        \
    } while (0)

static void *writer_main(void *arg)
{
    writer *w = arg;
    wb_store *st = NULL;
    wb_store_options so = WB_STORE_OPTIONS_INIT;
    char *ids[PER_WRITER] = {0};
    char body[512], contact[64];
    int rc;

    so.durability = WB_DURABILITY_NORMAL;
    so.busy_timeout_ms = 10000;
    if ((rc = wb_store_open(&st, db_path, &so)) != 0) {
        fail_once(w, "open", rc);
        return NULL;
    }
    for (int i = 0; i < PER_WRITER && time(NULL) < deadline; i++) {
        wb_query q = WB_QUERY_INIT;
        wb_iter *it = NULL;
        const char *row;
        char *json = NULL;
        uint64_t n = 0;
        int rows = 0;

        make_body(body, sizeof(body), w->no, i);
        RETRY_BUSY(w, rc, wb_interaction_record(&ids[i], st, body));
        if (rc != 0) {
            fail_once(w, "record", rc);
            break;
        }
        w->recorded++;

        /* The last error is per thread: this thread's refusal names its
         * field, whatever the other threads are doing. */
        rc = wb_interaction_record(NULL, st, "{\"campaignId\":\"x\"}");
        if (rc != WB_EINVALID || !wb_error_last() ||
            !strstr(wb_error_last()->message, "campaignId"))
            fail_once(w, "error record", rc);

        if (i % 3 == 1) {
            RETRY_BUSY(w, rc,
                       wb_interaction_update(st, ids[i - 1],
                                             "[{\"op\":\"replace\",\"path\":\"/successful\","
                                             "\"value\":false}]"));
            if (rc != 0)
                fail_once(w, "update", rc);
            else
                w->updated++;
        }
        if (i % 5 == 4) {
            RETRY_BUSY(w, rc, wb_interaction_delete(st, ids[i - 2]));
            if (rc != 0)
                fail_once(w, "delete", rc);
            else
                w->deleted++;
        }

        /* Read back: the own record by id and by contact, and a page of all. */
        if ((rc = wb_interaction_get(&json, st, ids[i], 0)) != 0 || !strstr(json, ids[i]))
            fail_once(w, "get", rc);
        wb_free(json);
        snprintf(contact, sizeof(contact), "0478dbbf-b6eb-4168-afa9-%06d%06d", w->no, i);
        q.contact_id = contact;
        if ((rc = wb_interaction_count(&n, st, &q)) != 0 || n != 1)
            fail_once(w, "count by contact", rc ? rc : (int)n);
        q.contact_id = NULL;
        q.limit = 10;
        q.order = WB_ORDER_MODIFIED_DESC;
        if ((rc = wb_interaction_query(&it, st, &q)) == 0) {
            while ((rc = wb_iter_next(&row, it)) == 0)
                rows++;
        }
        if (rc != WB_ITEROVER || rows < 1 || rows > 10)
            fail_once(w, "query", rc);
        wb_iter_free(it);
        w->queried++;
    }
    for (int i = 0; i < PER_WRITER; i++)
        wb_free(ids[i]);
    wb_store_free(st);
    return NULL;
}

typedef struct syncer {
    pthread_t thread;
    wb_sync *sync;
    int runs, cancelled, errors;
    char what[256];
} syncer;

static int new_sync(wb_sync **out)
{
    wb_sync_options o = WB_SYNC_OPTIONS_INIT;
    wb_store_options so = WB_STORE_OPTIONS_INIT;
    so.durability = WB_DURABILITY_NORMAL;
    so.busy_timeout_ms = 10000;
    o.base_url = base_url;
    o.token = "tokA";
    o.timeout_ms = 5000;
    o.connect_timeout_ms = 2000;
    o.backoff_base_ms = 20;
    o.backoff_max_ms = 500;
    o.page_size = 7;
    return wb_sync_new(out, db_path, &so, &o);
}

/* Sync runs back to back until the writers are done. A run stopped by the
 * canceller returns WB_ERROR; any other failure is an error. */
static void *syncer_main(void *arg)
{
    syncer *s = arg;
    while (!atomic_load(&writers_done) && time(NULL) < deadline) {
        char *report = NULL;
        int rc = wb_sync_run(&report, s->sync);
        s->runs++;
        if (rc == WB_ERROR && wb_error_last() && strstr(wb_error_last()->message, "cancel"))
            s->cancelled++;
        else if (rc != 0 && s->errors++ == 0)
            snprintf(s->what, sizeof(s->what), "sync run %d: %d %s", s->runs, rc,
                     wb_error_last() ? wb_error_last()->message : "");
        wb_free(report);
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    return NULL;
}

/* wb_sync_cancel is the one call allowed on a running sync from another
 * thread. */
static void *canceller_main(void *arg)
{
    wb_sync *sync = arg;
    while (!atomic_load(&stop_cancelling) && time(NULL) < deadline) {
        nanosleep(&(struct timespec){0, 150 * 1000 * 1000}, NULL);
        wb_sync_cancel(sync);
    }
    return NULL;
}

static long server_live(int *dups)
{
    srv_reply r;
    long live = 0;
    const cJSON *env;
    *dups = -1;
    if (srv_call(&r, &server, "GET", "/__admin/dump", NULL, NULL, ADMIN_HDR, NULL) != 200 ||
        !r.json) {
        srv_reply_free(&r);
        return -1;
    }
    *dups = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "duplicates"));
    cJSON_ArrayForEach(env, cJSON_GetObjectItemCaseSensitive(r.json, "data"))
    {
        if (!srv_is_true(env, "/meta/isDeleted"))
            live++;
    }
    srv_reply_free(&r);
    return live;
}

static void test_stress_threads__record_query_sync(void)
{
    const char *args[] = {"--admin", "adm-secret", "--token", "tokA:" C1 ":" SG1 ":" U1, NULL};
    const char *groups[] = {SG1};
    writer w[WRITERS];
    syncer s;
    pthread_t canceller;
    wb_store *st = NULL;
    wb_query q = WB_QUERY_INIT;
    uint64_t live = 0, unsettled = 0;
    int recorded = 0, deleted = 0, dups = -1, rc;
    char *report = NULL;

    memset(w, 0, sizeof(w));
    memset(&s, 0, sizeof(s));
    WBT_ASSERT_INT(srv_start(&server, args), 0);
    snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%u", server.port);
    snprintf(db_path, sizeof(db_path), "%s", wbt_path("stress.db"));
    deadline = time(NULL) + DEADLINE_S;

    WBT_ASSERT_INT(wb_store_open(&st, db_path, NULL), 0);
    rc = wb_store_set_identity(st, C1, U1, groups, 1);
    wb_store_free(st);
    st = NULL;
    WBT_ASSERT_INT(rc, 0);

    WBT_ASSERT_INT(new_sync(&s.sync), 0);
    WBT_ASSERT_INT(pthread_create(&s.thread, NULL, syncer_main, &s), 0);
    WBT_ASSERT_INT(pthread_create(&canceller, NULL, canceller_main, s.sync), 0);
    for (int i = 0; i < WRITERS; i++) {
        w[i].no = i + 1;
        WBT_ASSERT_INT(pthread_create(&w[i].thread, NULL, writer_main, &w[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(w[i].thread, NULL);
        recorded += w[i].recorded;
        deleted += w[i].deleted;
        printf("    writer %d: %d recorded, %d updated, %d deleted, %d queried, %d busy%s%s\n",
               w[i].no, w[i].recorded, w[i].updated, w[i].deleted, w[i].queried, w[i].busy,
               w[i].errors ? "; " : "", w[i].what);
    }
    atomic_store(&writers_done, 1);
    atomic_store(&stop_cancelling, 1);
    pthread_join(canceller, NULL);
    pthread_join(s.thread, NULL);
    printf("    sync: %d runs, %d cancelled%s%s\n", s.runs, s.cancelled, s.errors ? "; " : "",
           s.what);

    /* One last run, nobody cancelling, nobody writing: everything settles. */
    rc = wb_sync_run(&report, s.sync);
    if (rc != 0)
        printf("    final sync: %d %s\n", rc, wb_error_last() ? wb_error_last()->message : "");
    wb_free(report);
    wb_sync_free(s.sync);
    WBT_ASSERT_INT(rc, 0);
    for (int i = 0; i < WRITERS; i++)
        WBT_ASSERT_INT(w[i].errors, 0);
    WBT_ASSERT_INT(s.errors, 0);
    /* Whether a run beat the 150 ms canceller depends on the machine's speed
     * (under sanitizers all may be cut short); the final run above, which
     * nobody cancels, is the one that must go to the end. */
    WBT_ASSERT(recorded > 0 && s.runs > 0);
    if (time(NULL) < deadline) /* not cut short by a slow machine */
        WBT_ASSERT_INT(recorded, WRITERS * PER_WRITER);

    WBT_ASSERT_INT(wb_store_open(&st, db_path, NULL), 0);
    rc = wb_interaction_count(&live, st, NULL);
    q.states = WB_STATE_PENDING | WB_STATE_CONFLICT | WB_STATE_REJECTED;
    q.deleted = WB_DELETED_INCLUDE;
    if (rc == 0)
        rc = wb_interaction_count(&unsettled, st, &q);
    wb_store_free(st);
    WBT_ASSERT_INT(rc, 0);
    WBT_ASSERT_INT(live, recorded - deleted);
    WBT_ASSERT_INT(unsettled, 0);
    WBT_ASSERT_INT(server_live(&dups), recorded - deleted);
    WBT_ASSERT_INT(dups, 0);
}

static void teardown(void)
{
    if (server.pid)
        srv_stop(&server);
}

static const wbt_case cases[] = {
    {"test_stress_threads__record_query_sync", test_stress_threads__record_query_sync},
};

WBT_MAIN(cases, NULL, teardown)
