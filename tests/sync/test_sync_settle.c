/*
 * test_sync_settle.c - regressions found by the randomized convergence run
 * (tools/sync-converge), against walkbook-server on 127.0.0.1 with its
 * fault injection:
 *
 *   - a create whose POST timed out while the server was still working on
 *     it was looked up at once, not found, and posted again: a duplicate.
 *     It is now looked up again only after the server is surely done;
 *   - an unreadable pull page (a 2xx with a garbage body) ended the run
 *     with an error; it is now asked again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "json.h"
#include "server_client.h"
#include "wbtest.h"

#define C1 "c1c1c1c1-0000-4000-8000-000000000001"
#define SG1 "5e5e5e5e-0000-4000-8000-000000000001"
#define U1 "aaaaaaaa-0000-4000-8000-000000000001"
#define U2 "aaaaaaaa-0000-4000-8000-000000000002"
#define ADMIN_HDR "X-Admin-Token: adm-secret"

static srv server;
static int case_no;

static void setup(void)
{
    const char *args[] = {"--admin", "adm-secret", "--token", "tokA:" C1 ":" SG1 ":" U1,
                          "--token", "tokB:" C1 ":" SG1 ":" U2, NULL};
    case_no++;
    memset(&server, 0, sizeof(server));
    if (wb__global_init() < 0 || srv_start(&server, args) != 0)
        exit(2);
}

static void teardown(void)
{
    srv_stop(&server);
}

static const char *store_file(const char *name)
{
    static char file[64];
    snprintf(file, sizeof(file), "%s-%d.db", name, case_no);
    return wbt_path(file);
}

static int record_one(const char *name, const char *user)
{
    wb_store *st = NULL;
    const char *groups[] = {SG1};
    int rc = wb_store_open(&st, store_file(name), NULL);
    if (rc == 0)
        rc = wb_store_set_identity(st, C1, user, groups, 1);
    if (rc == 0 && user[strlen(user) - 1] == '1')
        rc = wb_interaction_record(
            NULL, st,
            "{\"campaignId\":\"61fbfbaa-5de8-4d17-ac2b-c47f2376265a\",\"contactId\":"
            "\"0478dbbf-b6eb-4168-afa9-000000000001\",\"timestamp\":\"2024-05-01T10:00:00.000Z\","
            "\"unavailable\":false,\"successful\":true,\"survey\":{\"surveyId\":"
            "\"375d437b-3b47-4940-b43d-be8daec4afff\",\"responses\":{}}}");
    wb_store_free(st);
    return rc;
}

static char report[1024];

static int sync_once(const char *name, const char *token, int timeout_ms)
{
    wb_sync_options o = WB_SYNC_OPTIONS_INIT;
    wb_sync *s = NULL;
    char url[64], *r = NULL;
    int rc;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", server.port);
    o.base_url = url;
    o.token = token;
    o.timeout_ms = timeout_ms;
    o.backoff_base_ms = 10;
    o.backoff_max_ms = 100;
    if ((rc = wb_sync_new(&s, store_file(name), NULL, &o)) != 0)
        return rc;
    rc = wb_sync_run(&r, s);
    snprintf(report, sizeof(report), "%s", r ? r : "");
    wb_free(r);
    wb_sync_free(s);
    return rc;
}

static int put_faults(const char *rules)
{
    srv_reply r;
    long st = srv_call(&r, &server, "PUT", "/__admin/faults", NULL, rules, ADMIN_HDR, NULL);
    srv_reply_free(&r);
    return st == 200 ? 0 : -1;
}

/* Records on the server; *dups duplicate groups. */
static int server_records(int *dups)
{
    srv_reply r;
    int n = -1;
    *dups = -1;
    if (srv_call(&r, &server, "GET", "/__admin/dump", NULL, NULL, ADMIN_HDR, NULL) == 200 &&
        r.json) {
        n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "data"));
        *dups = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "duplicates"));
    }
    srv_reply_free(&r);
    return n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_sync_settle__timed_out_create_is_not_posted_again(void)
{
    int dups;
    WBT_OK(record_one("a", U1));
    /* The POST is applied 1500 ms late; the client gives up after 1000. */
    WBT_OK(put_faults("[{\"method\":\"POST\",\"path\":\"/v2/interactions\",\"action\":"
                      "\"delay\",\"ms\":1500,\"count\":1}]"));
    WBT_OK(sync_once("a", "tokA", 1000));
    WBT_ASSERT_CONTAINS(report, "\"created\":0");
    WBT_ASSERT_CONTAINS(report, "\"deferred\":1");
    /* Within the settle time (2 x 1000 ms from the attempt) it is neither
     * looked up nor posted: the pull is the only request. */
    WBT_OK(sync_once("a", "tokA", 1000));
    WBT_ASSERT_CONTAINS(report, "\"requests\":1,");
    sleep_ms(1200); /* the late POST landed; the settle time passed */
    WBT_ASSERT_INT(server_records(&dups), 1);
    /* Then it is adopted (found by a lookup, or by the pull), not posted
     * again; nothing stays pending. */
    WBT_OK(sync_once("a", "tokA", 1000));
    WBT_ASSERT_INT(server_records(&dups), 1);
    sleep_ms(1500); /* past any deferral */
    WBT_OK(sync_once("a", "tokA", 1000));
    WBT_ASSERT_CONTAINS(report, "\"requests\":1,");
    WBT_ASSERT_INT(server_records(&dups), 1);
    WBT_ASSERT_INT(dups, 0);
}

static void test_sync_settle__garbage_pull_page_is_asked_again(void)
{
    WBT_OK(record_one("a", U1));
    WBT_OK(sync_once("a", "tokA", 5000));
    WBT_OK(record_one("b", U2));
    WBT_OK(put_faults("[{\"method\":\"GET\",\"path\":\"/v2/interactions\",\"action\":"
                      "\"garbage\",\"count\":1}]"));
    WBT_OK(sync_once("b", "tokB", 5000));
    WBT_ASSERT_CONTAINS(report, "\"inserted\":1");
}

static const wbt_case cases[] = {
    WBT_CASE(test_sync_settle__timed_out_create_is_not_posted_again),
    WBT_CASE(test_sync_settle__garbage_pull_page_is_asked_again),
};

WBT_MAIN(cases, setup, teardown)
