/*
 * test_sync_integration.c - the sync engine against the real walkbook-server
 * on 127.0.0.1 (port 0), over real HTTP through the libcurl transport.
 *
 * After each case the invariants of issue 4 are checked: the server holds
 * exactly the device's live records (the dump's duplicate detector is
 * empty), and the stores that synced agree with the server record by
 * record.
 */
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "fixtures.h"
#include "json.h"
#include "server_client.h"
#include "wbtest.h"

#define C1 "c1c1c1c1-0000-4000-8000-000000000001"
#define SG1 "5e5e5e5e-0000-4000-8000-000000000001"
#define U1 "aaaaaaaa-0000-4000-8000-000000000001"
#define U2 "aaaaaaaa-0000-4000-8000-000000000002"
#define C2 "c2c2c2c2-0000-4000-8000-000000000002"
#define SG2 "5e5e5e5e-0000-4000-8000-000000000002"
#define U3 "aaaaaaaa-0000-4000-8000-000000000003"
#define CAMPAIGN "61fbfbaa-5de8-4d17-ac2b-c47f2376265a"
#define Q1 "9826940d-76a8-4700-8c92-5743ce7bb728"
#define Q2 "9826940d-76a8-4700-8c92-5743ce7bb729"
#define ADMIN_HDR "X-Admin-Token: adm-secret"

/* Store options of the current case (NULL = plain store), and its PATCH
 * path base. */
static const wb_store_options *case_store_opts;
static int case_patch_paths;
/* Push connections of the current case (0 = the default, one). */
static unsigned case_parallel;
/* Records a pull transaction applies (0: the library's default). 1 where a
 * case acts when one page is committed (progress at done == 3). */
static unsigned case_pull_txn;
/* 1: the test clock reads a second later each time (fast_clock). */
static int case_fast_clock;
/* The current case syncs on the token saved in the store (use_saved_token;
 * no token in the options unless its sync_cfg gives one). */
static int case_saved_token;

/* One server per case (fresh records, fresh fault counters). */
static srv server;
static int case_no;

static int start2(const char *extra, const char *extra2, const char *extra3);

static int start(const char *extra)
{
    return start2(extra, NULL, NULL);
}

static int start2(const char *extra, const char *extra2, const char *extra3)
{
    const char *args[20];
    int n = 0;
    args[n++] = "--admin";
    args[n++] = "adm-secret";
    args[n++] = "--token";
    args[n++] = "tokA:" C1 ":" SG1 ":" U1;
    args[n++] = "--token";
    args[n++] = "tokA2:" C1 ":" SG1 ":" U1;
    args[n++] = "--token";
    args[n++] = "tokB:" C1 ":" SG1 ":" U2;
    args[n++] = "--token";
    args[n++] = "tokCanv:" C1 ":" SG1 ":" U1 ":canvasser";
    args[n++] = "--token";
    args[n++] = "tokOther:" C2 ":" SG2 ":" U3;
    if (extra)
        args[n++] = extra;
    if (extra2)
        args[n++] = extra2;
    if (extra3)
        args[n++] = extra3;
    args[n] = NULL;
    return srv_start(&server, args);
}

static void setup(void)
{
    if (wb__global_init() < 0)
        exit(2);
    case_no++;
    memset(&server, 0, sizeof(server));
}

static void teardown(void)
{
    case_store_opts = NULL;
    case_patch_paths = WB_PATCH_PATHS_RELATIVE;
    case_parallel = 0;
    case_pull_txn = 0;
    case_fast_clock = 0;
    case_saved_token = 0;
    if (server.pid)
        srv_stop(&server);
    memset(&server, 0, sizeof(server));
}

static wb_store *open_store(const char *name, const char *user)
{
    char file[64];
    wb_store *st = NULL;
    const char *groups[] = {SG1}, *groups2[] = {SG2};
    int other = strcmp(user, U3) == 0; /* the user of the other customer */
    snprintf(file, sizeof(file), "%s-%d.db", name, case_no);
    if (wb_store_open(&st, wbt_path(file), case_store_opts ? case_store_opts : fx_store_options()) != 0)
        return NULL;
    if (wb_store_set_identity(st, other ? C2 : C1, user, other ? groups2 : groups, 1) != 0) {
        wb_store_free(st);
        return NULL;
    }
    return st;
}

static const char *store_file(const char *name)
{
    static char file[64];
    snprintf(file, sizeof(file), "%s-%d.db", name, case_no);
    return wbt_path(file);
}

static const char *body(int i)
{
    static char buf[1024];
    snprintf(buf, sizeof(buf),
             "{\"campaignId\":\"" CAMPAIGN "\",\"contactId\":\"0478dbbf-b6eb-4168-afa9-%012d\","
             "\"timestamp\":\"2024-05-01T10:00:%02d.%03dZ\",\"unavailable\":false,"
             "\"successful\":true,\"survey\":{\"surveyId\":\"375d437b-3b47-4940-b43d-be8daec4afff\","
             "\"responses\":{\"" Q1 "\":{\"questionId\":\"" Q1 "\",\"fields\":{\"answer\":\"yes\"}},"
             "\"" Q2 "\":{\"questionId\":\"" Q2 "\",\"fields\":{\"answer\":\"no\"}}}}}",
             i, i % 60, i);
    return buf;
}

typedef struct sync_cfg {
    int api;
    int policy;
    const char *token;
    int (*refresh)(char *buf, size_t size, void *ud);
    int timeout_ms; /* 0 = 5000 */
} sync_cfg;

static char last_report[2048];

/* The test clock: the real time plus an offset that waits move forward, so
 * backoff and Retry-After cost nothing and are observable, and a test can
 * make deferred records due by moving the offset. */
static int64_t clock_offset, slept_ms, sleep_calls;
static int64_t test_now(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + clock_offset;
}
static void test_sleep(void *ctx, int64_t ms)
{
    (void)ctx;
    slept_ms += ms;
    sleep_calls++;
    clock_offset += ms;
}
static const wb_clock test_clock = {WB_CLOCK_VERSION, test_now, test_sleep, NULL};
/* The same, a second later at every reading (case_fast_clock): a pull's
 * transaction is then always past its time limit. */
static int64_t fast_readings;
static int64_t fast_now(void *ctx)
{
    return test_now(ctx) + 1000 * ++fast_readings;
}
static const wb_clock fast_clock = {WB_CLOCK_VERSION, fast_now, test_sleep, NULL};

/* A real wait, for the server's sake. */
static void nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Progress calls of the last run, and an optional hook into them. */
static int progress_calls[3];
static int (*progress_hook)(const wb_sync_progress *p);
static int on_progress(const wb_sync_progress *p, void *ud)
{
    (void)ud;
    if (p->phase >= 1 && p->phase <= 2)
        progress_calls[p->phase]++;
    return progress_hook ? progress_hook(p) : 0;
}

/* The sync handle of a run in progress (for wb_sync_cancel from another
 * thread). */
static wb_sync *volatile running_sync;

/* One sync of the store file `name` (no other handle writes meanwhile). */
static int run_sync(const char *name, const sync_cfg *cfg)
{
    wb_sync_options o = WB_SYNC_OPTIONS_INIT;
    wb_sync *s = NULL;
    char url[64], *report = NULL;
    int rc;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", server.port);
    o.base_url = url;
    o.api = cfg->api;
    o.policy = cfg->policy;
    o.token = cfg->token ? cfg->token : case_saved_token ? NULL : "tokA";
    o.use_saved_token = case_saved_token;
    o.timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 5000;
    o.connect_timeout_ms = 2000;
    o.backoff_base_ms = 200;
    o.backoff_max_ms = 10000;
    o.page_size = 3; /* several pages with few records */
    o.token_refresh = cfg->refresh;
    o.clock = case_fast_clock ? &fast_clock : &test_clock;
    o.patch_paths = case_patch_paths;
    o.parallel = case_parallel;
    o.pull_txn_records = case_pull_txn;
    o.progress = on_progress;
    memset(progress_calls, 0, sizeof(progress_calls));
    if ((rc = wb_sync_new(&s, store_file(name), case_store_opts ? case_store_opts : fx_store_options(), &o)) != 0)
        return rc;
    running_sync = s;
    rc = wb_sync_run(&report, s);
    running_sync = NULL;
    snprintf(last_report, sizeof(last_report), "%s", report ? report : "");
    if (getenv("WBT_SYNC_REPORTS"))
        fprintf(stderr, "    report %s: %s\n", name, last_report);
    if (rc != 0 && wb_error_last())
        fprintf(stderr, "    sync %s: %d %s\n", name, rc, wb_error_last()->message);
    wb_free(report);
    wb_sync_free(s);
    return rc;
}

/* A number in the last report: "pushed.created" style. */
static long report_num(const char *group, const char *name)
{
    cJSON *j = NULL;
    long v = -1;
    if (wb_json__parse(&j, last_report, strlen(last_report), NULL, "report") == 0) {
        const cJSON *g = group ? wb_json__get(j, group) : j;
        const cJSON *n = wb_json__get(g, name);
        if (cJSON_IsNumber(n))
            v = (long)n->valuedouble;
    }
    cJSON_Delete(j);
    return v;
}

/* Live server records of C1: {serverId: data}; *dups = number of duplicate
 * groups in the dump. NULL on failure. */
static cJSON *server_map(int *dups)
{
    srv_reply r;
    cJSON *map = cJSON_CreateObject();
    const cJSON *env;
    *dups = -1;
    if (srv_call(&r, &server, "GET", "/__admin/dump", NULL, NULL, ADMIN_HDR, NULL) != 200 ||
        !r.json) {
        srv_reply_free(&r);
        cJSON_Delete(map);
        return NULL;
    }
    *dups = cJSON_GetArraySize(wb_json__get(r.json, "duplicates"));
    cJSON_ArrayForEach(env, wb_json__get(r.json, "data"))
    {
        const char *id = srv_str(env, "/id");
        if (!id || srv_is_true(env, "/meta/isDeleted") || strcmp(srv_str(env, "/customerId"), C1))
            continue;
        cJSON_AddItemToObject(map, id, cJSON_Duplicate(wb_json__get(env, "data"), 1));
    }
    srv_reply_free(&r);
    return map;
}

/* Live records of a store: {serverId: data}; *unsynced counts records not
 * in the synced state (or without a server id). */
static cJSON *store_map(wb_store *st, int *unsynced)
{
    wb_iter *it = NULL;
    const char *json;
    cJSON *map = cJSON_CreateObject();
    *unsynced = 0;
    if (wb_interaction_query(&it, st, NULL) != 0) {
        cJSON_Delete(map);
        return NULL;
    }
    while (wb_iter_next(&json, it) == 0) {
        cJSON *env = NULL, *info = NULL;
        char *info_text = NULL;
        const char *sid, *state;
        wb_json__parse(&env, json, strlen(json), NULL, "env");
        if (wb_interaction_sync_info(&info_text, st, srv_str(env, "/id")) == 0)
            wb_json__parse(&info, info_text, strlen(info_text), NULL, "info");
        sid = srv_str(info, "/serverId");
        state = srv_str(info, "/state");
        if (!sid || !state || strcmp(state, "synced") != 0)
            (*unsynced)++;
        if (sid)
            cJSON_AddItemToObject(map, sid, cJSON_Duplicate(wb_json__get(env, "data"), 1));
        wb_free(info_text);
        cJSON_Delete(info);
        cJSON_Delete(env);
    }
    wb_iter_free(it);
    return map;
}

/* The invariants: no duplicates on the server, the store holds exactly the
 * server's live records with the same data, everything synced. */
static int converged(const char *name, const char *user, int expect_live)
{
    wb_store *st = open_store(name, user);
    int dups = -1, unsynced = -1, ok;
    cJSON *s = server_map(&dups), *l = st ? store_map(st, &unsynced) : NULL;
    ok = s && l && dups == 0 && unsynced == 0 && wb_json__equal(s, l) &&
         (expect_live < 0 || cJSON_GetArraySize(s) == expect_live);
    if (!ok) {
        char *a = s ? cJSON_PrintUnformatted(s) : NULL, *b = l ? cJSON_PrintUnformatted(l) : NULL;
        fprintf(stderr, "    %s: dups=%d unsynced=%d expect=%d\n    server=%s\n    store=%s\n",
                name, dups, unsynced, expect_live, a ? a : "-", b ? b : "-");
        free(a);
        free(b);
    }
    cJSON_Delete(s);
    cJSON_Delete(l);
    wb_store_free(st);
    return ok;
}

static int put_faults(const char *rules)
{
    srv_reply r;
    long st = srv_call(&r, &server, "PUT", "/__admin/faults", NULL, rules, ADMIN_HDR, NULL);
    srv_reply_free(&r);
    return st == 200 ? 0 : -1;
}

/* Record n interactions into store `name`; ids (wb_free) into ids. */
static int record_n(const char *name, int n, int first, char **ids)
{
    wb_store *st = open_store(name, U1);
    int rc = 0;
    if (!st)
        return -1;
    for (int i = 0; i < n && rc == 0; i++)
        rc = wb_interaction_record(ids ? &ids[i] : NULL, st, body(first + i));
    wb_store_free(st);
    return rc;
}

static int edit_local(const char *name, const char *user, const char *id, const char *patch)
{
    wb_store *st = open_store(name, user);
    int rc = st ? wb_interaction_update(st, id, patch) : -1;
    wb_store_free(st);
    return rc;
}

static int delete_local(const char *name, const char *id)
{
    wb_store *st = open_store(name, U1);
    int rc = st ? wb_interaction_delete(st, id) : -1;
    wb_store_free(st);
    return rc;
}

/* The server id of a local record. */
static const char *server_id_of(const char *name, const char *id)
{
    static char out[40];
    wb_store *st = open_store(name, U1);
    char *info = NULL;
    const char *p;
    out[0] = '\0';
    if (st && wb_interaction_sync_info(&info, st, id) == 0 && (p = strstr(info, "\"serverId\":\"")))
        snprintf(out, sizeof(out), "%.36s", p + 12);
    wb_free(info);
    wb_store_free(st);
    return out;
}

static char *state_of(const char *name, const char *user, const char *id)
{
    static char out[32];
    wb_store *st = open_store(name, user);
    char *info = NULL;
    const char *p;
    out[0] = '\0';
    if (st && wb_interaction_sync_info(&info, st, id) == 0 && (p = strstr(info, "\"state\":\"")))
        snprintf(out, sizeof(out), "%.*s", (int)strcspn(p + 9, "\""), p + 9);
    wb_free(info);
    wb_store_free(st);
    return out;
}

static void free_ids(char **ids, int n)
{
    for (int i = 0; i < n; i++)
        wb_free(ids[i]);
}

/* ---- cases ----------------------------------------------------------------- */

static void round_trip(int api)
{
    sync_cfg a = {api, WB_POLICY_MERGE, "tokA", NULL, 0}, b = {api, WB_POLICY_MERGE, "tokB", NULL, 0};
    char *ids[4] = {NULL, NULL, NULL, NULL};
    const char *sid;

    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(record_n("a", 4, 1, ids));
    WBT_OK(run_sync("a", &a));
    WBT_ASSERT_INT(report_num("pushed", "created"), 4);
    WBT_ASSERT(converged("a", U1, 4));

    /* Update and delete on the device. */
    WBT_OK(edit_local("a", U1, ids[0], "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]"));
    WBT_OK(delete_local("a", ids[1]));
    WBT_OK(run_sync("a", &a));
    WBT_ASSERT_INT(report_num("pushed", "updated"), 1);
    WBT_ASSERT_INT(report_num("pushed", "deleted"), 1);
    WBT_ASSERT(converged("a", U1, 3));

    /* A second device of the same customer pulls everything (3 per page). */
    {
        wb_store *st = open_store("b", U2);
        WBT_ASSERT(st != NULL);
        wb_store_free(st);
    }
    WBT_OK(run_sync("b", &b));
    WBT_ASSERT_INT(report_num("pulled", "inserted"), 3);
    WBT_ASSERT(converged("b", U2, 3));

    /* It edits and deletes; the first device pulls the edit and the delete. */
    sid = server_id_of("a", ids[2]);
    WBT_ASSERT(sid[0]);
    WBT_OK(edit_local("b", U2, sid, "[{\"op\":\"replace\",\"path\":\"/survey/responses/" Q1 "/fields/answer\",\"value\":\"maybe\"}]"));
    sid = server_id_of("a", ids[3]);
    {
        wb_store *st = open_store("b", U2);
        WBT_ASSERT(st != NULL);
        WBT_OK(wb_interaction_delete(st, sid));
        wb_store_free(st);
    }
    WBT_OK(run_sync("b", &b));
    WBT_ASSERT(converged("b", U2, 2));
    WBT_OK(run_sync("a", &a));
    WBT_ASSERT_INT(report_num("pulled", "updated"), 1);
    WBT_ASSERT_INT(report_num("pulled", "deleted"), 1);
    WBT_ASSERT(converged("a", U1, 2));
    /* Nothing left: a further run sends nothing and changes nothing. */
    WBT_OK(run_sync("a", &a));
    WBT_ASSERT_INT(report_num("pushed", "created") + report_num("pushed", "updated"), 0);
    WBT_ASSERT_INT(report_num("pulled", "inserted") + report_num("pulled", "updated"), 0);
    free_ids(ids, 4);
}

static void test_sync_integration__round_trip_v2(void)
{
    round_trip(WB_API_V2);
}

static void test_sync_integration__round_trip_v1(void)
{
    /* With the older PATCH path base ("/data/…") as well. */
    case_patch_paths = WB_PATCH_PATHS_DATA;
    round_trip(WB_API_V1);
}

static void lost_response(const char *extra)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0};
    char *ids[3] = {NULL, NULL, NULL};
    WBT_ASSERT(start(extra) == 0);
    /* The second POST is applied, then its connection closes unanswered. */
    WBT_OK(put_faults("[{\"method\":\"POST\",\"path\":\"/v2/interactions\",\"action\":"
                      "\"drop_after\",\"count\":1}]"));
    WBT_OK(record_n("a", 3, 10, ids));
    WBT_OK(run_sync("a", &a));
    WBT_ASSERT_INT(report_num("pushed", "created"), 3);
    WBT_ASSERT(converged("a", U1, 3));
    free_ids(ids, 3);
}

static void test_sync_integration__lost_create_response_without_client_ids(void)
{
    lost_response(NULL);
}

static void test_sync_integration__lost_create_response_with_client_ids(void)
{
    lost_response("--client-ids");
}

static void test_sync_integration__retry_after_503(void)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0};
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(put_faults("[{\"method\":\"POST\",\"action\":\"status\",\"status\":503,"
                      "\"retryAfter\":1,\"count\":1}]"));
    WBT_OK(record_n("a", 2, 20, NULL));
    WBT_OK(run_sync("a", &a));
    WBT_ASSERT_INT(report_num("pushed", "created"), 2);
    WBT_ASSERT_INT(report_num("pushed", "deferred"), 0);
    WBT_ASSERT(report_num(NULL, "durationMs") >= 1000);
    WBT_ASSERT(converged("a", U1, 2));
}

static int refreshes;
static int give_token(char *buf, size_t size, void *ud)
{
    (void)ud;
    refreshes++;
    snprintf(buf, size, "tokA2");
    return 0;
}

static void test_sync_integration__token_refresh_after_401(void)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", give_token, 0};
    sync_cfg none = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0};
    srv_reply r;
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(record_n("a", 2, 30, NULL));
    WBT_ASSERT_INT(srv_call(&r, &server, "POST", "/__admin/tokens/expire", NULL,
                            "{\"token\":\"tokA\"}", ADMIN_HDR, NULL),
                   200);
    srv_reply_free(&r);
    /* Without a refresh callback the run stops with WB_EAUTH. */
    WBT_ASSERT_INT(run_sync("a", &none), WB_EAUTH);
    refreshes = 0;
    WBT_OK(run_sync("a", &a));
    WBT_ASSERT_INT(refreshes, 1);
    WBT_ASSERT_INT(report_num("pushed", "created"), 2);
    WBT_ASSERT(converged("a", U1, 2));
}

/* The token saved in store `name`, or "" (static). */
static const char *saved_token_of(const char *name)
{
    static char buf[64];
    wb_store *st = open_store(name, U1);
    char *t = NULL;
    buf[0] = '\0';
    if (st && wb_store_saved_token(&t, st) == 0)
        snprintf(buf, sizeof(buf), "%s", t);
    wb_free_secret(t);
    wb_store_free(st);
    return buf;
}

static int save_token_in(const char *name, const char *token)
{
    wb_store *st = open_store(name, U1);
    int rc = st ? wb_store_save_token(st, token) : -1;
    wb_store_free(st);
    return rc;
}

/* A sync with no token in its options, only the one saved in the store. */
static void test_sync_integration__saved_token_only(void)
{
    sync_cfg saved = {WB_API_V2, WB_POLICY_MERGE, NULL, NULL, 0};
    sync_cfg both = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0};
    case_saved_token = 1;
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(record_n("a", 3, 40, NULL));
    /* Nothing saved yet: the run says so and sends nothing. */
    WBT_ASSERT_INT(run_sync("a", &saved), WB_ENOTFOUND);
    WBT_ASSERT_INT(report_num(NULL, "requests"), 0);
    WBT_ASSERT_INT(run_sync("a", &both), WB_EINVALID);
    WBT_OK(save_token_in("a", "tokA"));
    WBT_OK(run_sync("a", &saved));
    WBT_ASSERT_INT(report_num("pushed", "created"), 3);
    WBT_ASSERT(converged("a", U1, 3));
    /* The run leaves the saved token as it was. */
    WBT_ASSERT_STR(saved_token_of("a"), "tokA");
    /* A token of another user saved in its place is the one sent: that
     * user's second device pulls the three records. */
    {
        wb_store *st = open_store("b", U2);
        WBT_ASSERT(st != NULL);
        WBT_OK(wb_store_save_token(st, "tokB"));
        wb_store_free(st);
    }
    WBT_OK(run_sync("b", &saved));
    WBT_ASSERT_INT(report_num("pulled", "inserted"), 3);
    WBT_ASSERT(converged("b", U2, 3));
    /* Forgotten: the next run has no token again. */
    WBT_OK(save_token_in("a", NULL));
    WBT_ASSERT_INT(run_sync("a", &saved), WB_ENOTFOUND);
}

/* The saved token expired: the refresh callback's new token is used and
 * saved in its place, so the next run (without a callback) works. */
static void test_sync_integration__saved_token_refreshed_and_saved(void)
{
    sync_cfg refresh = {WB_API_V2, WB_POLICY_MERGE, NULL, give_token, 0};
    sync_cfg saved = {WB_API_V2, WB_POLICY_MERGE, NULL, NULL, 0};
    srv_reply r;
    case_saved_token = 1;
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(record_n("a", 2, 50, NULL));
    WBT_OK(save_token_in("a", "tokA"));
    WBT_ASSERT_INT(srv_call(&r, &server, "POST", "/__admin/tokens/expire", NULL,
                            "{\"token\":\"tokA\"}", ADMIN_HDR, NULL),
                   200);
    srv_reply_free(&r);
    WBT_ASSERT_INT(run_sync("a", &saved), WB_EAUTH);
    WBT_ASSERT_STR(saved_token_of("a"), "tokA"); /* nothing new to save */
    refreshes = 0;
    WBT_OK(run_sync("a", &refresh));
    WBT_ASSERT_INT(refreshes, 1);
    WBT_ASSERT_INT(report_num("pushed", "created"), 2);
    WBT_ASSERT_STR(saved_token_of("a"), "tokA2");
    WBT_OK(record_n("a", 1, 52, NULL));
    WBT_OK(run_sync("a", &saved));
    WBT_ASSERT_INT(report_num("pushed", "created"), 1);
    WBT_ASSERT(converged("a", U1, 3));
    /* A token given in the options is never saved, also when refreshed. */
    {
        sync_cfg given = {WB_API_V2, WB_POLICY_MERGE, "tokA", give_token, 0};
        case_saved_token = 0;
        WBT_OK(save_token_in("a", "tokB"));
        refreshes = 0;
        WBT_OK(run_sync("a", &given));
        WBT_ASSERT_INT(refreshes, 1);
        WBT_ASSERT_STR(saved_token_of("a"), "tokB");
    }
}

static int admin_edit(const char *server_id, const char *ops)
{
    char path[128], b[512];
    srv_reply r;
    long st;
    snprintf(path, sizeof(path), "/__admin/interactions/%s/edit", server_id);
    snprintf(b, sizeof(b), "{\"user\":\"" U2 "\",\"data\":%s}", ops);
    st = srv_call(&r, &server, "POST", path, NULL, b, ADMIN_HDR, NULL);
    srv_reply_free(&r);
    return st == 200 ? 0 : -1;
}

static void test_sync_integration__conflict_merge(void)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0};
    char *ids[1] = {NULL};
    char *env = NULL;
    wb_store *st;
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(record_n("a", 1, 40, ids));
    WBT_OK(run_sync("a", &a));
    /* Someone changes q1 on the server while the device changes q2. */
    WBT_OK(admin_edit(server_id_of("a", ids[0]),
                      "[{\"op\":\"replace\",\"path\":\"/survey/responses/" Q1 "/fields/answer\","
                      "\"value\":\"server\"}]"));
    WBT_OK(edit_local("a", U1, ids[0],
                      "[{\"op\":\"replace\",\"path\":\"/survey/responses/" Q2 "/fields/answer\","
                      "\"value\":\"device\"}]"));
    WBT_OK(run_sync("a", &a));
    WBT_ASSERT_INT(report_num("pushed", "updated"), 1);
    WBT_ASSERT(report_num("pulled", "merged") + report_num("pushed", "updated") >= 1);
    WBT_ASSERT(converged("a", U1, 1));
    st = open_store("a", U1);
    WBT_ASSERT(st != NULL);
    WBT_OK(wb_interaction_get(&env, st, ids[0], 0));
    wb_store_free(st);
    WBT_ASSERT_CONTAINS(env, "\"answer\":\"server\"");
    WBT_ASSERT_CONTAINS(env, "\"answer\":\"device\"");
    wb_free(env);
    wb_free(ids[0]);
}

static void conflict_manual(void);

static void test_sync_integration__conflict_manual(void)
{
    conflict_manual();
}

/* The same on a store encrypted at rest (the parked remote version is
 * sealed; meeting it again must still be recognised). */
static void test_sync_integration__conflict_manual_encrypted_store(void)
{
    static unsigned char key[WB_KEY_BYTES];
    static wb_store_options so = WB_STORE_OPTIONS_INIT;
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (unsigned char)(i * 7 + 1);
    so.key = key;
    so.encryption = WB_ENCRYPTION_REQUIRED;
    case_store_opts = &so;
    conflict_manual();
}

static void conflict_manual(void)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MANUAL, "tokA", NULL, 0};
    char *ids[1] = {NULL};
    char *json = NULL;
    wb_store *st;
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(record_n("a", 1, 50, ids));
    WBT_OK(run_sync("a", &a));
    /* Both change the same answer. */
    WBT_OK(admin_edit(server_id_of("a", ids[0]),
                      "[{\"op\":\"replace\",\"path\":\"/survey/responses/" Q1 "/fields/answer\","
                      "\"value\":\"server\"}]"));
    WBT_OK(edit_local("a", U1, ids[0],
                      "[{\"op\":\"replace\",\"path\":\"/survey/responses/" Q1 "/fields/answer\","
                      "\"value\":\"device\"}]"));
    WBT_OK(run_sync("a", &a));
    WBT_ASSERT_INT(report_num("pulled", "conflicts"), 1); /* the 412 fetch and the pull: one */
    WBT_ASSERT_STR(state_of("a", U1, ids[0]), "conflict");
    /* Resolved with the local side, the next run sends it. */
    st = open_store("a", U1);
    WBT_ASSERT(st != NULL);
    WBT_OK(wb_conflict_get(&json, st, ids[0]));
    WBT_ASSERT_CONTAINS(json, "/survey/responses/" Q1 "/fields/answer");
    wb_free(json);
    WBT_OK(wb_conflict_resolve(st, ids[0], WB_TAKE_LOCAL, NULL));
    wb_store_free(st);
    WBT_OK(run_sync("a", &a));
    WBT_ASSERT_INT(report_num("pushed", "updated"), 1);
    WBT_ASSERT(converged("a", U1, 1));
    st = open_store("a", U1);
    WBT_OK(wb_interaction_get(&json, st, ids[0], 0));
    wb_store_free(st);
    WBT_ASSERT_CONTAINS(json, "\"answer\":\"device\"");
    wb_free(json);
    wb_free(ids[0]);
}

/* ---- more helpers ---------------------------------------------------------- */

/* The server's data of one record (printed JSON, static buffer; "" when
 * absent or deleted). */
static const char *server_data(const char *sid)
{
    static char out[4096];
    int dups;
    cJSON *map = server_map(&dups);
    const cJSON *d = map ? wb_json__get(map, sid) : NULL;
    char *t = d ? cJSON_PrintUnformatted(d) : NULL;
    snprintf(out, sizeof(out), "%s", t ? t : "");
    free(t);
    cJSON_Delete(map);
    return out;
}

/* Total hits of the current fault rules (so a fault case cannot pass
 * without its fault). */
static long faults_fired(void)
{
    srv_reply r;
    long fired = 0;
    const cJSON *rule;
    if (srv_call(&r, &server, "GET", "/__admin/faults", NULL, NULL, ADMIN_HDR, NULL) == 200)
        cJSON_ArrayForEach(rule, wb_json__get(r.json, "rules"))
        {
            const cJSON *f = wb_json__get(rule, "fired");
            fired += cJSON_IsNumber(f) ? (long)f->valuedouble : 0;
        }
    srv_reply_free(&r);
    return fired;
}

/* Requests the current fault rules have matched so far. */
static long faults_seen(void)
{
    srv_reply r;
    long seen = 0;
    const cJSON *rule;
    if (srv_call(&r, &server, "GET", "/__admin/faults", NULL, NULL, ADMIN_HDR, NULL) == 200)
        cJSON_ArrayForEach(rule, wb_json__get(r.json, "rules"))
        {
            const cJSON *f = wb_json__get(rule, "seen");
            seen += cJSON_IsNumber(f) ? (long)f->valuedouble : 0;
        }
    srv_reply_free(&r);
    return seen;
}

/* Records of a store not synced (tombstones included). */
static long unsynced_count(const char *name, const char *user)
{
    wb_store *st = open_store(name, user);
    wb_query q = WB_QUERY_INIT;
    uint64_t n = 0;
    q.states = WB_STATE_PENDING | WB_STATE_CONFLICT | WB_STATE_REJECTED;
    q.deleted = WB_DELETED_INCLUDE;
    if (!st || wb_interaction_count(&n, st, &q) != 0)
        n = 999;
    wb_store_free(st);
    return (long)n;
}

/* Sync until nothing is left (at most 4 runs). Between runs the clock
 * moves an hour on (deferred records become due) and `pause_ms` of real
 * time passes (a delayed request lands on the server). */
static int sync_until_clean(const char *name, const char *user, const sync_cfg *cfg,
                            int pause_ms)
{
    for (int run = 0; run < 4; run++) {
        int rc = run_sync(name, cfg);
        if (rc != 0)
            return rc;
        if (unsynced_count(name, user) == 0)
            return 0;
        clock_offset += 3600 * 1000;
        if (pause_ms > 0)
            nap(pause_ms);
    }
    return -1;
}

#define ANSWER(q, v)                                                                             \
    "[{\"op\":\"replace\",\"path\":\"/survey/responses/" q "/fields/answer\",\"value\":\"" v       \
    "\"}]"

/* Every rule end to end under the given faults: 4 creates (faults
 * `create_rules`), then an update of two records and a delete (faults
 * `change_rules`), then a second device pulls with no faults. After each
 * step: no duplicates, store = server record by record, no edit lost, and
 * the faults did fire. */
static void fault_scenario(const char *x1, const char *x2, const char *x3, const char *create_rules,
                           const char *change_rules, int timeout_ms, int pause_ms)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, timeout_ms};
    sync_cfg b = {WB_API_V2, WB_POLICY_MERGE, "tokB", NULL, timeout_ms};
    char *ids[4] = {NULL, NULL, NULL, NULL};
    char sid0[40], sid2[40];
    wb_store *st;

    WBT_ASSERT(start2(x1, x2, x3) == 0);
    WBT_OK(record_n("a", 4, 100, ids));
    if (create_rules)
        WBT_OK(put_faults(create_rules));
    WBT_OK(sync_until_clean("a", U1, &a, pause_ms));
    if (create_rules)
        WBT_ASSERT(faults_fired() >= 1);
    WBT_OK(put_faults("[]"));
    WBT_ASSERT(converged("a", U1, 4));

    WBT_OK(edit_local("a", U1, ids[0], ANSWER(Q1, "edited")));
    WBT_OK(edit_local("a", U1, ids[2], ANSWER(Q2, "changed")));
    WBT_OK(delete_local("a", ids[1]));
    if (change_rules)
        WBT_OK(put_faults(change_rules));
    WBT_OK(sync_until_clean("a", U1, &a, pause_ms));
    if (change_rules)
        WBT_ASSERT(faults_fired() >= 1);
    WBT_OK(put_faults("[]"));
    if (pause_ms > 0)
        nap(pause_ms); /* let a delayed request finish */
    WBT_ASSERT(converged("a", U1, 3));
    snprintf(sid0, sizeof(sid0), "%s", server_id_of("a", ids[0]));
    snprintf(sid2, sizeof(sid2), "%s", server_id_of("a", ids[2]));
    WBT_ASSERT_CONTAINS(server_data(sid0), "\"answer\":\"edited\"");
    WBT_ASSERT_CONTAINS(server_data(sid2), "\"answer\":\"changed\"");

    st = open_store("b", U2);
    WBT_ASSERT(st != NULL);
    wb_store_free(st);
    WBT_OK(run_sync("b", &b));
    WBT_ASSERT(converged("b", U2, 3));
    free_ids(ids, 4);
}

#define ON(method, action, extra)                                                                \
    "{\"method\":\"" method "\",\"path\":\"/v2/interactions*\",\"action\":\"" action "\"" extra "}"

/* ---- cases: faults ----------------------------------------------------------- */

static void test_sync_integration__fault_lost_update_and_delete_responses(void)
{
    /* PATCH and DELETE applied, their answers lost: the retry meets 412
     * (fetched, equal: synced) and 404 (already deleted). */
    fault_scenario(NULL, NULL, NULL, NULL,
                   "[" ON("PATCH", "drop_after", ",\"count\":1") "," ON("DELETE", "drop_after",
                                                                          ",\"count\":1") "]",
                   0, 0);
}

static void test_sync_integration__fault_drop_before_apply(void)
{
    fault_scenario(NULL, NULL, NULL, "[" ON("POST", "drop_before", ",\"count\":2") "]",
                   "[" ON("PATCH", "drop_before", ",\"count\":1") "," ON("DELETE", "drop_before",
                                                                           ",\"count\":1") "]",
                   0, 0);
}

static void test_sync_integration__fault_truncated_body(void)
{
    fault_scenario(NULL, NULL, NULL,
                   "[" ON("POST", "truncate", ",\"count\":2") "," ON("GET", "truncate",
                                                                       ",\"count\":1") "]",
                   "[" ON("PATCH", "truncate", ",\"count\":1") "," ON("DELETE", "truncate",
                                                                        ",\"count\":1") "]",
                   0, 0);
}

static void test_sync_integration__fault_garbage_body(void)
{
    fault_scenario(NULL, NULL, NULL,
                   "[" ON("POST", "garbage", ",\"count\":2") "," ON("GET", "garbage",
                                                                      ",\"count\":1") "]",
                   "[" ON("PATCH", "garbage", ",\"count\":2") "]", 0, 0);
}

static void test_sync_integration__fault_server_errors_5xx_408(void)
{
    fault_scenario(NULL, NULL, NULL,
                   "[" ON("POST", "status", ",\"status\":503,\"count\":2") "," ON(
                       "GET", "status", ",\"status\":500,\"count\":1") "]",
                   "[" ON("PATCH", "status", ",\"status\":500,\"count\":1") "," ON(
                       "DELETE", "status", ",\"status\":502,\"count\":1") "," ON(
                       "GET", "status", ",\"status\":408,\"count\":1") "]",
                   0, 0);
    /* Waited by the clock hook, not for real. */
    WBT_ASSERT(sleep_calls >= 1);
}

/* A POST held by the server longer than the client waits: the client
 * never posts it again while the first may still land (it looks for it in
 * a later run and adopts it). */
static void test_sync_integration__fault_delay_beyond_timeout_without_client_ids(void)
{
    fault_scenario("--threads", "4", NULL,
                   "[" ON("POST", "delay", ",\"ms\":900,\"count\":1") "]",
                   "[" ON("PATCH", "delay", ",\"ms\":900,\"count\":1") "]", 400, 1000);
}

static void test_sync_integration__fault_delay_beyond_timeout_with_client_ids(void)
{
    fault_scenario("--threads", "4", "--client-ids",
                   "[" ON("POST", "delay", ",\"ms\":900,\"count\":1") "]",
                   "[" ON("DELETE", "delay", ",\"ms\":900,\"count\":1") "]", 400, 1000);
}

static void test_sync_integration__fault_lost_create_response_and_garbage_mixed_v1(void)
{
    sync_cfg a = {WB_API_V1, WB_POLICY_MERGE, "tokA", NULL, 0};
    char *ids[3] = {NULL, NULL, NULL};
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(put_faults("[{\"method\":\"POST\",\"path\":\"/v1/interactions\",\"action\":"
                      "\"drop_after\",\"count\":1},{\"method\":\"POST\",\"path\":"
                      "\"/v1/interactions\",\"action\":\"garbage\",\"count\":1}]"));
    WBT_OK(record_n("a", 3, 150, ids));
    WBT_OK(sync_until_clean("a", U1, &a, 0));
    WBT_ASSERT_INT(faults_fired(), 2);
    WBT_ASSERT(converged("a", U1, 3));
    free_ids(ids, 3);
}

static void test_sync_integration__fault_429_retry_after_honoured(void)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0};
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(put_faults("[" ON("POST", "status", ",\"status\":429,\"retryAfter\":7,\"count\":1") "]"));
    WBT_OK(record_n("a", 2, 160, NULL));
    slept_ms = 0;
    WBT_OK(run_sync("a", &a));
    WBT_ASSERT_INT(faults_fired(), 1);
    WBT_ASSERT_INT(report_num("pushed", "created"), 2);
    /* Retry-After: 7 was waited (on the test clock: the run took no 7 s). */
    WBT_ASSERT(slept_ms >= 7000);
    WBT_ASSERT(converged("a", U1, 2));
}

/* One record the server keeps failing (500 on its every PATCH) does not
 * hold the others back: it is deferred with its next attempt stored, a run
 * before that time leaves it alone, a run after it sends it. */
static void test_sync_integration__poison_record_isolated_and_deferred(void)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0};
    char *ids[3] = {NULL, NULL, NULL};
    char rules[512];
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(record_n("a", 3, 170, ids));
    WBT_OK(run_sync("a", &a));
    for (int i = 0; i < 3; i++)
        WBT_OK(edit_local("a", U1, ids[i], ANSWER(Q2, "poison-test")));
    snprintf(rules, sizeof(rules),
             "[{\"method\":\"PATCH\",\"path\":\"/v2/interactions/%s\",\"action\":"
             "\"status\",\"status\":500}]",
             server_id_of("a", ids[1]));
    WBT_OK(put_faults(rules));
    WBT_OK(run_sync("a", &a));
    WBT_ASSERT_INT(report_num("pushed", "updated"), 2);
    WBT_ASSERT_INT(report_num("pushed", "deferred"), 1);
    WBT_ASSERT_INT(faults_fired(), 5); /* max_attempts */
    WBT_ASSERT_STR(state_of("a", U1, ids[1]), "pending_update");
    /* Not due yet: the next run does not touch it. */
    WBT_OK(run_sync("a", &a));
    WBT_ASSERT_INT(faults_fired(), 5);
    WBT_ASSERT_INT(report_num("pushed", "updated") + report_num("pushed", "deferred"), 0);
    /* Later, with the server well again. */
    WBT_OK(put_faults("[]"));
    clock_offset += 3600 * 1000;
    WBT_OK(run_sync("a", &a));
    WBT_ASSERT_INT(report_num("pushed", "updated"), 1);
    WBT_ASSERT(converged("a", U1, 3));
    for (int i = 0; i < 3; i++)
        WBT_ASSERT_CONTAINS(server_data(server_id_of("a", ids[i])), "poison-test");
    free_ids(ids, 3);
}

/* ---- cases: policies, deletes on the server ----------------------------------- */

/* Both sides change the same answer; the policy decides. */
static void same_field_conflict(int policy, const char *expect)
{
    sync_cfg a = {WB_API_V2, policy, "tokA", NULL, 0};
    char *ids[2] = {NULL, NULL};
    char *env = NULL;
    wb_store *st;
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(record_n("a", 2, 60, ids));
    WBT_OK(run_sync("a", &a));
    WBT_OK(admin_edit(server_id_of("a", ids[0]),
                      "[{\"op\":\"replace\",\"path\":\"/survey/responses/" Q1 "/fields/answer\","
                      "\"value\":\"server\"},{\"op\":\"replace\",\"path\":\"/successful\","
                      "\"value\":false}]"));
    WBT_OK(edit_local("a", U1, ids[0], ANSWER(Q1, "device")));
    WBT_OK(edit_local("a", U1, ids[1], ANSWER(Q2, "other")));
    WBT_OK(run_sync("a", &a));
    WBT_ASSERT(converged("a", U1, 2));
    st = open_store("a", U1);
    WBT_ASSERT(st != NULL);
    WBT_OK(wb_interaction_get(&env, st, ids[0], 0));
    wb_store_free(st);
    WBT_ASSERT_CONTAINS(env, expect);
    if (policy != WB_POLICY_CLIENT_WINS)
        WBT_ASSERT_CONTAINS(env, "\"successful\":false"); /* the server's one-sided change */
    wb_free(env);
    /* The record without a conflict kept its edit under every policy. */
    WBT_ASSERT_CONTAINS(server_data(server_id_of("a", ids[1])), "\"answer\":\"other\"");
    free_ids(ids, 2);
}

static void test_sync_integration__conflict_server_wins(void)
{
    same_field_conflict(WB_POLICY_SERVER_WINS, "\"answer\":\"server\"");
}

static void test_sync_integration__conflict_client_wins(void)
{
    same_field_conflict(WB_POLICY_CLIENT_WINS, "\"answer\":\"device\"");
}

static void test_sync_integration__conflict_merge_same_field_prefers_local(void)
{
    same_field_conflict(WB_POLICY_MERGE, "\"answer\":\"device\"");
}

static int admin_delete(const char *server_id)
{
    char path[128];
    srv_reply r;
    long st;
    snprintf(path, sizeof(path), "/__admin/interactions/%s/edit", server_id);
    st = srv_call(&r, &server, "POST", path, NULL, "{\"user\":\"" U2 "\",\"delete\":true}",
                  ADMIN_HDR, NULL);
    srv_reply_free(&r);
    return st == 200 ? 0 : -1;
}

/* A record edited on the device but deleted on the server: the PATCH gets
 * 404. Under merge the edit is parked as a conflict (never dropped); under
 * server-wins the delete is taken. */
static void test_sync_integration__update_of_record_deleted_on_server(void)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0};
    sync_cfg sw = {WB_API_V2, WB_POLICY_SERVER_WINS, "tokA", NULL, 0};
    char *ids[2] = {NULL, NULL};
    char *json = NULL;
    wb_store *st;
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(record_n("a", 2, 70, ids));
    WBT_OK(run_sync("a", &a));
    WBT_OK(admin_delete(server_id_of("a", ids[0])));
    WBT_OK(admin_delete(server_id_of("a", ids[1])));
    WBT_OK(edit_local("a", U1, ids[0], ANSWER(Q1, "kept")));
    WBT_OK(run_sync("a", &a));
    WBT_ASSERT_INT(report_num("pushed", "rejected"), 0);
    WBT_ASSERT_INT(report_num("pulled", "conflicts"), 1); /* counted once */
    WBT_ASSERT_INT(report_num("pulled", "deleted"), 1);   /* the unedited one */
    WBT_ASSERT_STR(state_of("a", U1, ids[0]), "conflict");
    st = open_store("a", U1);
    WBT_ASSERT(st != NULL);
    WBT_OK(wb_conflict_get(&json, st, ids[0]));
    WBT_ASSERT_CONTAINS(json, "\"answer\":\"kept\"");
    WBT_ASSERT_CONTAINS(json, "\"isDeleted\":true");
    wb_free(json);
    /* The user keeps their version: it goes back as a new record. */
    WBT_OK(wb_conflict_resolve(st, ids[0], WB_TAKE_LOCAL, NULL));
    wb_store_free(st);
    WBT_OK(run_sync("a", &a));
    WBT_ASSERT(converged("a", U1, 1));
    WBT_ASSERT_CONTAINS(server_data(server_id_of("a", ids[0])), "\"answer\":\"kept\"");

    /* Server-wins takes the delete. */
    WBT_OK(admin_delete(server_id_of("a", ids[0])));
    WBT_OK(edit_local("a", U1, ids[0], ANSWER(Q1, "again")));
    WBT_OK(run_sync("a", &sw));
    WBT_ASSERT(converged("a", U1, 0));
    free_ids(ids, 2);
}

/* ---- cases: auth, scope, permissions ------------------------------------------ */

static int stale_refreshes;
static int give_stale_token(char *buf, size_t size, void *ud)
{
    (void)ud;
    stale_refreshes++;
    snprintf(buf, size, "tokA2"); /* expired as well */
    return 0;
}

static void test_sync_integration__token_refresh_once_then_stop(void)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", give_stale_token, 0};
    srv_reply r;
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(record_n("a", 2, 80, NULL));
    WBT_ASSERT_INT(srv_call(&r, &server, "POST", "/__admin/tokens/expire", NULL,
                            "{\"token\":\"tokA\"}", ADMIN_HDR, NULL),
                   200);
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_call(&r, &server, "POST", "/__admin/tokens/expire", NULL,
                            "{\"token\":\"tokA2\"}", ADMIN_HDR, NULL),
                   200);
    srv_reply_free(&r);
    stale_refreshes = 0;
    WBT_ASSERT_INT(run_sync("a", &a), WB_EAUTH);
    WBT_ASSERT_INT(stale_refreshes, 1);
    WBT_ASSERT_INT(report_num(NULL, "requests"), 2); /* the first 401, the retry: then stop */
    /* Nothing was lost: both still pending, nothing on the server. */
    WBT_ASSERT_INT(unsynced_count("a", U1), 2);
    {
        int dups;
        cJSON *m = server_map(&dups);
        WBT_ASSERT(m && cJSON_GetArraySize(m) == 0);
        cJSON_Delete(m);
    }
}

static void test_sync_integration__canvasser_delete_rejected_with_message(void)
{
    sync_cfg c = {WB_API_V2, WB_POLICY_MERGE, "tokCanv", NULL, 0};
    char *ids[2] = {NULL, NULL};
    char *info = NULL;
    wb_store *st;
    char sid[40];
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(record_n("a", 2, 90, ids));
    WBT_OK(run_sync("a", &c));
    WBT_ASSERT(converged("a", U1, 2));
    WBT_OK(delete_local("a", ids[0]));
    WBT_OK(run_sync("a", &c));
    WBT_ASSERT_INT(report_num("pushed", "rejected"), 1);
    WBT_ASSERT_STR(state_of("a", U1, ids[0]), "rejected");
    st = open_store("a", U1);
    WBT_ASSERT(st != NULL);
    WBT_OK(wb_interaction_sync_info(&info, st, ids[0]));
    wb_store_free(st);
    WBT_ASSERT_CONTAINS(info, "HTTP 403: this role may not delete records");
    wb_free(info);
    /* The server still holds it; a later run does not send it again. */
    snprintf(sid, sizeof(sid), "%s", server_id_of("a", ids[0]));
    WBT_ASSERT(server_data(sid)[0] != '\0');
    WBT_OK(run_sync("a", &c));
    WBT_ASSERT_INT(report_num(NULL, "requests"), 1); /* the pull only */
    WBT_ASSERT_STR(state_of("a", U1, ids[0]), "rejected");
    free_ids(ids, 2);
}

static void test_sync_integration__other_customer_records_refused(void)
{
    /* A device of customer C2 syncs its records; a store of C1 configured
     * with C2's token must not take them. */
    sync_cfg other = {WB_API_V2, WB_POLICY_MERGE, "tokOther", NULL, 0};
    wb_store *st = open_store("c", U3);
    uint64_t n = 99;
    WBT_ASSERT(start(NULL) == 0);
    WBT_ASSERT(st != NULL);
    for (int i = 0; i < 4; i++)
        WBT_OK(wb_interaction_record(NULL, st, body(200 + i)));
    wb_store_free(st);
    WBT_OK(run_sync("c", &other));
    WBT_ASSERT_INT(report_num("pushed", "created"), 4);
    st = open_store("a", U1); /* a C1 store */
    WBT_ASSERT(st != NULL);
    wb_store_free(st);
    WBT_OK(run_sync("a", &other));
    WBT_ASSERT_INT(report_num("pulled", "refused"), 4);
    WBT_ASSERT_INT(report_num("pulled", "inserted"), 0);
    st = open_store("a", U1);
    WBT_ASSERT(st != NULL);
    WBT_OK(wb_interaction_count(&n, st, NULL));
    wb_store_free(st);
    WBT_ASSERT_INT(n, 0);
    /* With records to push, the first acknowledgement shows the token
     * belongs to another customer: the run stops there. */
    WBT_OK(record_n("a", 3, 210, NULL));
    WBT_ASSERT_INT(run_sync("a", &other), WB_EAUTH);
    WBT_ASSERT_INT(report_num(NULL, "requests"), 1);
    WBT_ASSERT_INT(unsynced_count("a", U1), 3);
}

/* ---- cases: pull ---------------------------------------------------------------- */

static void test_sync_integration__pull_filter_refused_full_repull(void)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0};
    sync_cfg b = {WB_API_V2, WB_POLICY_MERGE, "tokB", NULL, 0};
    char *ids[5] = {NULL, NULL, NULL, NULL, NULL};
    wb_store *st;
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(record_n("a", 5, 220, ids));
    WBT_OK(run_sync("a", &a));
    st = open_store("b", U2);
    WBT_ASSERT(st != NULL);
    wb_store_free(st);
    /* A fresh device against a server refusing the /meta filter: it lists
     * everything instead. */
    WBT_OK(put_faults("[" ON("GET", "status", ",\"status\":400,\"count\":1") "]"));
    WBT_OK(run_sync("b", &b));
    WBT_ASSERT_INT(faults_fired(), 1);
    WBT_ASSERT_INT(report_num("pulled", "inserted"), 5);
    WBT_ASSERT(converged("b", U2, 5));
    /* Then a change, a delete and a new record on the server side: the full
     * listing of the campaign finds all three (the delete by absence). */
    WBT_OK(edit_local("a", U1, ids[0], ANSWER(Q1, "changed")));
    WBT_OK(delete_local("a", ids[1]));
    WBT_OK(record_n("a", 1, 230, NULL));
    WBT_OK(run_sync("a", &a));
    WBT_OK(put_faults("[" ON("GET", "status", ",\"status\":400,\"count\":1") "]"));
    WBT_OK(run_sync("b", &b));
    WBT_ASSERT_INT(faults_fired(), 1);
    WBT_ASSERT_INT(report_num("pulled", "inserted"), 1);
    WBT_ASSERT_INT(report_num("pulled", "updated"), 1);
    WBT_ASSERT_INT(report_num("pulled", "deleted"), 1);
    WBT_ASSERT(converged("b", U2, 5));
    free_ids(ids, 5);
}

static void test_sync_integration__progress_per_record_and_page(void)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0};
    sync_cfg b = {WB_API_V2, WB_POLICY_MERGE, "tokB", NULL, 0};
    wb_store *st;
    case_pull_txn = 1;
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(record_n("a", 7, 240, NULL));
    WBT_OK(run_sync("a", &a));
    /* One at the start and one per record; the pull of 7 records in pages
     * of 3, a transaction each: one at the start and one per page (records
     * 1-3, 3-5, 5-7, 7: each page after the first reads the last one
     * applied again). */
    WBT_ASSERT_INT(progress_calls[1], 1 + 7);
    WBT_ASSERT_INT(progress_calls[2], 1 + 4);
    st = open_store("b", U2);
    WBT_ASSERT(st != NULL);
    wb_store_free(st);
    WBT_OK(run_sync("b", &b));
    WBT_ASSERT_INT(progress_calls[1], 1);
    WBT_ASSERT_INT(progress_calls[2], 1 + 4);
    WBT_ASSERT(converged("b", U2, 7));
}

/* ---- cases: pull prefetch ----------------------------------------------------- */

/* With the built-in transport the next page is fetched on another thread
 * while one is applied (sync/pull.c). These cases make the prefetched page,
 * or the page applied meanwhile, fail. */

static long live_count(const char *name, const char *user)
{
    wb_store *st = open_store(name, user);
    wb_query q = WB_QUERY_INIT;
    uint64_t n = 0;
    if (!st || wb_interaction_count(&n, st, &q) != 0)
        n = 999;
    wb_store_free(st);
    return (long)n;
}

static const char *prefetch_faults; /* put when the first page is applied */
static int fault_after_first_page(const wb_sync_progress *p)
{
    if (p->phase == 2 && p->done == 3 && prefetch_faults)
        put_faults(prefetch_faults);
    return 0;
}

static void test_sync_integration__pull_prefetched_page_fails_then_refetched(void)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0};
    sync_cfg b = {WB_API_V2, WB_POLICY_MERGE, "tokB", NULL, 0};
    wb_store *st;
    case_pull_txn = 1; /* acts when the first page is committed */
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(record_n("a", 10, 280, NULL));
    WBT_OK(run_sync("a", &a));
    st = open_store("b", U2);
    WBT_ASSERT(st != NULL);
    wb_store_free(st);
    /* Every GET after the first page is a prefetch or its retry: the next
     * two answers are a 503 and a cut body. */
    prefetch_faults = "[" ON("GET", "status", ",\"status\":503,\"count\":1") "," ON(
        "GET", "truncate", ",\"count\":1") "]";
    progress_hook = fault_after_first_page;
    WBT_OK(run_sync("b", &b));
    progress_hook = NULL;
    prefetch_faults = NULL;
    WBT_ASSERT_INT(faults_fired(), 2);
    WBT_OK(put_faults("[]"));
    WBT_ASSERT_INT(report_num("pulled", "inserted"), 10);
    WBT_ASSERT(converged("b", U2, 10));
}

/* The app holds the write lock when the second page is to be applied (its
 * successor already prefetched): the run stops with the first page and its
 * watermark committed, and the next run pulls exactly the rest. */
static sqlite3 *lock_holder;
static int lock_after_first_page(const wb_sync_progress *p)
{
    if (p->phase == 2 && p->done == 3 && !lock_holder) {
        if (sqlite3_open(store_file("b"), &lock_holder) != SQLITE_OK ||
            sqlite3_exec(lock_holder, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
            sqlite3_close(lock_holder);
            lock_holder = NULL;
        }
    }
    return 0;
}

static void test_sync_integration__pull_page_fails_after_next_prefetched(void)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0};
    sync_cfg b = {WB_API_V2, WB_POLICY_MERGE, "tokB", NULL, 0};
    wb_store_options so = WB_STORE_OPTIONS_INIT;
    wb_store *st;
    int rc;
    if (fx_store_options())
        so = *fx_store_options();
    so.busy_timeout_ms = 200;
    case_store_opts = &so;
    case_pull_txn = 1; /* acts when the first page is committed */
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(record_n("a", 10, 300, NULL));
    WBT_OK(run_sync("a", &a));
    st = open_store("b", U2);
    WBT_ASSERT(st != NULL);
    wb_store_free(st);
    progress_hook = lock_after_first_page;
    rc = run_sync("b", &b);
    progress_hook = NULL;
    WBT_ASSERT(lock_holder != NULL);
    sqlite3_exec(lock_holder, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(lock_holder);
    lock_holder = NULL;
    WBT_ASSERT(rc < 0);
    WBT_ASSERT_INT(report_num("pulled", "inserted"), 3);
    WBT_ASSERT_INT(live_count("b", U2), 3);
    WBT_OK(run_sync("b", &b));
    WBT_ASSERT_INT(report_num("pulled", "inserted"), 7);
    WBT_ASSERT(converged("b", U2, 10));
}

/* Cancelled while the next page is held 6 s by the server: the run ends
 * without waiting for it, with the pages applied before committed. The
 * hold starts once the first page is applied; which page is in flight when
 * the cancel comes 300 ms later (the prefetch of the second or the third)
 * depends on the machine's speed. */
static int64_t cancel_at_ms;
static void *cancel_in_300ms(void *arg)
{
    struct timespec ts;
    (void)arg;
    nap(300);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    cancel_at_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (running_sync)
        wb_sync_cancel(running_sync);
    return NULL;
}

static pthread_t canceller;
static int canceller_started;
static int hold_then_cancel(const wb_sync_progress *p)
{
    if (p->phase == 2 && p->done == 3 && !canceller_started) {
        put_faults("[" ON("GET", "delay", ",\"ms\":6000") "]");
        canceller_started = pthread_create(&canceller, NULL, cancel_in_300ms, NULL) == 0;
    }
    return 0;
}

static void test_sync_integration__pull_cancel_during_prefetch(void)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0};
    sync_cfg b = {WB_API_V2, WB_POLICY_MERGE, "tokB", NULL, 10000};
    struct timespec ts;
    wb_store *st;
    int64_t took;
    long applied;
    int rc;
    case_pull_txn = 1; /* acts when the first page is committed */
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(record_n("a", 10, 320, NULL));
    WBT_OK(run_sync("a", &a));
    st = open_store("b", U2);
    WBT_ASSERT(st != NULL);
    wb_store_free(st);
    cancel_at_ms = 0;
    canceller_started = 0;
    progress_hook = hold_then_cancel;
    rc = run_sync("b", &b);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    progress_hook = NULL;
    if (canceller_started)
        pthread_join(canceller, NULL);
    took = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - cancel_at_ms;
    WBT_OK(put_faults("[]"));
    WBT_ASSERT(canceller_started);
    WBT_ASSERT_INT(rc, WB_ERROR);
    WBT_ASSERT(cancel_at_ms > 0);
    /* The held GET is dropped within libcurl's progress interval (about a
     * second), not after the server's 6 s. */
    WBT_ASSERT(took < 4500);
    applied = live_count("b", U2);
    /* Records 1-3, or also 4-5 (the second page starts with record 3). */
    WBT_ASSERT(applied == 3 || applied == 5);
    WBT_OK(run_sync("b", &b));
    WBT_ASSERT_INT(report_num("pulled", "inserted"), 10 - applied);
    WBT_ASSERT(converged("b", U2, 10));
}

/* Pages share a transaction while the next one is already in, up to
 * pull_txn_records records and for at most about 50 ms. The app holds the write lock when the pull is about to
 * apply its first page, so the second page is in by the time the first is
 * applied: the first commit holds both (6 records with the page of 3 that
 * reads the first page's last record again), no commit holds more than the
 * limit, and the records are those of a pull that commits page by page. */
static sqlite3 *app_writer;
static uint64_t first_commit, largest_commit, last_done;
static void *release_in_300ms(void *arg)
{
    (void)arg;
    nap(300);
    sqlite3_exec(app_writer, "COMMIT", NULL, NULL, NULL);
    return NULL;
}

static pthread_t releaser;
static int releaser_started;
static int lock_at_pull_start(const wb_sync_progress *p)
{
    if (p->phase != 2)
        return 0;
    if (p->done == 0 && !releaser_started && app_writer &&
        sqlite3_exec(app_writer, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK)
        releaser_started = pthread_create(&releaser, NULL, release_in_300ms, NULL) == 0;
    if (p->done > 0) {
        if (!first_commit)
            first_commit = p->done;
        if (p->done - last_done > largest_commit)
            largest_commit = p->done - last_done;
        last_done = p->done;
    }
    return 0;
}

static void pull_with_writer_at_start(const char *name, unsigned txn_records)
{
    sync_cfg b = {WB_API_V2, WB_POLICY_MERGE, "tokB", NULL, 0};
    wb_store *st = open_store(name, U2);
    WBT_ASSERT(st != NULL);
    wb_store_free(st);
    WBT_ASSERT(sqlite3_open(store_file(name), &app_writer) == SQLITE_OK);
    first_commit = largest_commit = last_done = 0;
    releaser_started = 0;
    case_pull_txn = txn_records;
    progress_hook = lock_at_pull_start;
    WBT_OK(run_sync(name, &b));
    progress_hook = NULL;
    if (releaser_started)
        pthread_join(releaser, NULL);
    sqlite3_close(app_writer);
    app_writer = NULL;
    WBT_ASSERT(releaser_started);
    WBT_ASSERT_INT(report_num("pulled", "inserted"), 10);
    WBT_ASSERT(converged(name, U2, 10));
}

static void test_sync_integration__pull_pages_share_transactions(void)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0};
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(record_n("a", 10, 380, NULL));
    WBT_OK(run_sync("a", &a));
    /* A transaction per page: the first commit is the first page. */
    pull_with_writer_at_start("b", 1);
    WBT_ASSERT_INT((long)first_commit, 3);
    WBT_ASSERT_INT((long)largest_commit, 3);
    /* Up to 6 records: the first two pages together. */
    pull_with_writer_at_start("c", 6);
    WBT_ASSERT_INT((long)first_commit, 6);
    WBT_ASSERT(largest_commit <= 6);
    /* The same, but the transaction is past its time limit (50 ms) when
     * the second page could join: a page a commit again. */
    case_fast_clock = 1;
    pull_with_writer_at_start("d", 6);
    WBT_ASSERT_INT((long)first_commit, 3);
    WBT_ASSERT_INT((long)largest_commit, 3);
}

/* The server id of the record at position `nth` (0 first) in the list
 * order, meta.modified then id, deleted ones included; "" when there is
 * none. */
static int cmp_modified_id(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    int c = strcmp(srv_str(x, "/meta/modified"), srv_str(y, "/meta/modified"));
    return c ? c : strcmp(srv_str(x, "/id"), srv_str(y, "/id"));
}

static const char *nth_by_modified(int nth)
{
    static char out[40];
    const cJSON *list[64], *env;
    srv_reply r;
    int n = 0;
    out[0] = '\0';
    if (srv_call(&r, &server, "GET", "/__admin/dump", NULL, NULL, ADMIN_HDR, NULL) == 200)
        cJSON_ArrayForEach(env, wb_json__get(r.json, "data"))
        {
            if (n < 64 && srv_str(env, "/id") && srv_str(env, "/meta/modified"))
                list[n++] = env;
        }
    qsort(list, (size_t)n, sizeof(list[0]), cmp_modified_id);
    if (nth < n)
        snprintf(out, sizeof(out), "%s", srv_str(list[nth], "/id"));
    srv_reply_free(&r);
    return out;
}

/* Applying a record fails in the middle of the pull (a trigger of the
 * test's refuses its insert): whatever pages shared the failed transaction
 * are rolled back, the report counts only what was committed, and the next
 * run pulls exactly the rest. With the default pull_txn_records, so the
 * pages before the failure may or may not have shared its transaction. */
static void test_sync_integration__pull_failure_rolls_back_its_pages(void)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0};
    sync_cfg b = {WB_API_V2, WB_POLICY_MERGE, "tokB", NULL, 0};
    char sql[256];
    sqlite3 *h = NULL;
    wb_store *st;
    long inserted, live;
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(record_n("a", 10, 400, NULL));
    WBT_OK(run_sync("a", &a));
    st = open_store("b", U2);
    WBT_ASSERT(st != NULL);
    wb_store_free(st);
    /* The 9th record listed: the last of the fourth page of 3 (records
     * 7-9, 7 read again), applied after the 8th (a page is applied in id
     * order), which the report must then not count. */
    snprintf(sql, sizeof(sql),
             "CREATE TRIGGER refuse_one BEFORE INSERT ON interactions"
             " WHEN NEW.server_id = '%s' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
             nth_by_modified(8));
    WBT_ASSERT(sqlite3_open(store_file("b"), &h) == SQLITE_OK);
    WBT_ASSERT(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK);
    WBT_ASSERT(run_sync("b", &b) < 0);
    inserted = report_num("pulled", "inserted");
    live = live_count("b", U2);
    WBT_ASSERT_INT(inserted, live);
    WBT_ASSERT(live <= 7);
    WBT_ASSERT(sqlite3_exec(h, "DROP TRIGGER refuse_one", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h);
    WBT_OK(run_sync("b", &b));
    WBT_ASSERT_INT(report_num("pulled", "inserted"), 10 - live);
    WBT_ASSERT(converged("b", U2, 10));
}

/* The record the first page ended with is edited on the server between
 * that page and the next one: it leaves its place at the watermark value
 * and the next page must start right after the page just applied. */
static int edited_after_first_page;
static int edit_last_of_first_page(const wb_sync_progress *p)
{
    if (p->phase == 2 && p->done == 3 && !edited_after_first_page)
        edited_after_first_page =
            admin_edit(nth_by_modified(2),
                       "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]") == 0
                ? 1
                : -1;
    return 0;
}

static void test_sync_integration__pull_page_end_record_edited_between_pages(void)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0};
    sync_cfg b = {WB_API_V2, WB_POLICY_CLIENT_WINS, "tokB", NULL, 0};
    wb_store *st;
    case_pull_txn = 1; /* acts when the first page is committed */
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(record_n("a", 6, 340, NULL));
    WBT_OK(run_sync("a", &a));
    st = open_store("b", U2);
    WBT_ASSERT(st != NULL);
    wb_store_free(st);
    /* The first GET passes (a delay of 0), the second - the prefetch of
     * the next page, sent before the first page is applied - fails, so the
     * next page is asked for again once the edit below is made: the order
     * of the two does not depend on timing. */
    WBT_OK(put_faults("[" ON("GET", "delay", ",\"ms\":0,\"count\":1") "," ON(
        "GET", "status", ",\"status\":503,\"count\":1") "]"));
    edited_after_first_page = 0;
    progress_hook = edit_last_of_first_page;
    WBT_OK(run_sync("b", &b));
    progress_hook = NULL;
    WBT_ASSERT_INT(edited_after_first_page, 1);
    WBT_ASSERT_INT(faults_fired(), 2);
    WBT_OK(put_faults("[]"));
    /* All six, the edited one in its new version: none skipped. */
    WBT_ASSERT(converged("b", U2, 6));
    WBT_OK(run_sync("b", &b));
    WBT_ASSERT_INT(report_num("pulled", "inserted") + report_num("pulled", "updated"), 0);
}

/* Ties: records sharing one meta.modified (walkbook-server never makes
 * them, other servers do: its file is rewritten while it is stopped). The
 * first page holds three of a group of seven; two of those three change
 * before the next page is asked for, so the offset counted on the first
 * listing would pass a record never seen. The page that does not start
 * with an applied record is asked for again from offset 0. */
static char tie_ids[2][40];
static int tie_edits;
static int edit_two_of_first_page(const wb_sync_progress *p)
{
    if (p->phase == 2 && p->done == 3 && tie_edits == 0) {
        snprintf(tie_ids[0], sizeof(tie_ids[0]), "%s", nth_by_modified(0));
        snprintf(tie_ids[1], sizeof(tie_ids[1]), "%s", nth_by_modified(1));
        for (int i = 0; i < 2; i++)
            tie_edits += admin_edit(tie_ids[i], "[{\"op\":\"replace\",\"path\":"
                                                "\"/successful\",\"value\":false}]") == 0;
    }
    return 0;
}

static void test_sync_integration__pull_ties_changed_between_pages(void)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0};
    sync_cfg b = {WB_API_V2, WB_POLICY_MERGE, "tokB", NULL, 0};
    char db[256];
    sqlite3 *h = NULL;
    wb_store *st;
    case_pull_txn = 1; /* acts when the first page is committed */
    snprintf(db, sizeof(db), "%s", wbt_path("ties-server.db"));
    WBT_ASSERT(start2("--db", db, NULL) == 0);
    WBT_OK(record_n("a", 7, 360, NULL));
    WBT_OK(run_sync("a", &a));
    srv_stop(&server);
    memset(&server, 0, sizeof(server));
    WBT_ASSERT(sqlite3_open(db, &h) == SQLITE_OK);
    WBT_ASSERT(sqlite3_exec(h,
                            "UPDATE r_interactions SET modified = '2026-01-01T00:00:00.000Z',"
                            " x_modified = '2026-01-01T00:00:00.000Z', envelope = json_set("
                            "envelope, '$.meta.modified', '2026-01-01T00:00:00.000Z')",
                            NULL, NULL, NULL) == SQLITE_OK);
    WBT_ASSERT_INT(sqlite3_changes(h), 7);
    sqlite3_close(h);
    WBT_ASSERT(start2("--db", db, NULL) == 0);
    st = open_store("b", U2);
    WBT_ASSERT(st != NULL);
    wb_store_free(st);
    /* As above: the prefetch of the second page fails, so that page is
     * asked for once the edits are made. */
    WBT_OK(put_faults("[" ON("GET", "delay", ",\"ms\":0,\"count\":1") "," ON(
        "GET", "status", ",\"status\":503,\"count\":1") "]"));
    tie_edits = 0;
    progress_hook = edit_two_of_first_page;
    WBT_OK(run_sync("b", &b));
    progress_hook = NULL;
    WBT_ASSERT_INT(tie_edits, 2);
    WBT_ASSERT_INT(faults_fired(), 2);
    WBT_OK(put_faults("[]"));
    WBT_ASSERT_INT(report_num("pulled", "inserted"), 7);
    WBT_ASSERT(converged("b", U2, 7));
    WBT_OK(run_sync("b", &b));
    WBT_ASSERT_INT(report_num("pulled", "inserted") + report_num("pulled", "updated"), 0);
}

/* ---- cases: threads ------------------------------------------------------------ */

static volatile int pushed_so_far;
static int count_pushes(const wb_sync_progress *p)
{
    if (p->phase == 1)
        pushed_so_far = (int)p->done;
    return 0;
}

static void *cancel_after_three(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000 && pushed_so_far < 3; i++)
        nap(1);
    if (running_sync)
        wb_sync_cancel(running_sync);
    return NULL;
}

static void test_sync_integration__cancel_from_another_thread(void)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0};
    char *ids[8];
    pthread_t t;
    int rc;
    long pushed;
    WBT_ASSERT(start(NULL) == 0);
    /* Every request takes 60 ms, so the cancel lands mid-push. */
    WBT_OK(put_faults("[" ON("*", "delay", ",\"ms\":60") "]"));
    WBT_OK(record_n("a", 8, 250, ids));
    pushed_so_far = 0;
    progress_hook = count_pushes;
    WBT_ASSERT(pthread_create(&t, NULL, cancel_after_three, NULL) == 0);
    rc = run_sync("a", &a);
    pthread_join(t, NULL);
    progress_hook = NULL;
    WBT_ASSERT_INT(rc, WB_ERROR);
    pushed = report_num("pushed", "created");
    WBT_ASSERT(pushed >= 3 && pushed < 8);
    /* Consistent: exactly what was acknowledged is synced, the rest pending. */
    WBT_ASSERT_INT(unsynced_count("a", U1), 8 - pushed);
    WBT_OK(put_faults("[]"));
    WBT_OK(run_sync("a", &a));
    WBT_ASSERT_INT(report_num("pushed", "created"), 8 - pushed);
    WBT_ASSERT(converged("a", U1, 8));
    free_ids(ids, 8);
}

/* The app records and edits on its own handle while a sync runs on another
 * thread; one edit hits a record whose upload is in flight. */
typedef struct sync_thread_arg {
    sync_cfg cfg;
    int rc;
} sync_thread_arg;

static void *sync_thread(void *arg)
{
    sync_thread_arg *a = arg;
    a->rc = run_sync("a", &a->cfg);
    return NULL;
}

static void test_sync_integration__record_and_edit_during_sync(void)
{
    sync_thread_arg arg = {{WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0}, -1};
    char *ids[3] = {NULL, NULL, NULL}, *more[3] = {NULL, NULL, NULL};
    wb_store *st;
    pthread_t t;
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(record_n("a", 3, 260, ids));
    /* The first POST is held 3 s by the server: long enough that the edit
     * below lands while it is in flight even on a loaded machine under
     * sanitizers (600 ms was not), well inside the client's 5 s timeout. */
    WBT_OK(put_faults("[" ON("POST", "delay", ",\"ms\":3000,\"count\":1") "]"));
    /* The app's handle is open before the sync starts: opening a store (an
     * encrypted one derives its key) can take longer than the hold under
     * sanitizers on a loaded machine, and an edit made after the answer is
     * no longer one made in flight. */
    st = open_store("a", U1);
    WBT_ASSERT(st != NULL);
    WBT_ASSERT(pthread_create(&t, NULL, sync_thread, &arg) == 0);
    /* Wait until the server holds it (the rule has seen it). The sync
     * thread opens the store and marks the group first, which took over a
     * second on a loaded machine: an edit made before the POST leaves is
     * not one made in flight, so the wait is long and checked. */
    for (int i = 0; i < 5000 && faults_seen() < 1; i++)
        nap(2);
    WBT_ASSERT(faults_seen() >= 1);
    /* The record in flight is the oldest one: ids[0]. */
    WBT_OK(wb_interaction_update(st, ids[0], ANSWER(Q1, "while-in-flight")));
    for (int i = 0; i < 3; i++)
        WBT_OK(wb_interaction_record(&more[i], st, body(270 + i)));
    wb_store_free(st);
    pthread_join(t, NULL);
    WBT_OK(arg.rc);
    WBT_ASSERT_INT(faults_fired(), 1);
    /* The acknowledgement of the POST did not overwrite the edit made
     * meanwhile: the record still holds it, and it went out as a PATCH in
     * this same run (its acknowledged version comes after the run's cursor),
     * as did the records made during the run. */
    WBT_ASSERT_INT(report_num("pushed", "updated"), 1);
    WBT_ASSERT_INT(report_num("pushed", "created"), 6);
    st = open_store("a", U1);
    WBT_ASSERT(st != NULL);
    {
        char *env = NULL;
        int grc = wb_interaction_get(&env, st, ids[0], 0);
        wb_store_free(st);
        WBT_OK(grc);
        WBT_ASSERT_CONTAINS(env, "\"answer\":\"while-in-flight\"");
        wb_free(env);
    }
    WBT_OK(sync_until_clean("a", U1, &arg.cfg, 0));
    WBT_ASSERT(converged("a", U1, 6));
    WBT_ASSERT_CONTAINS(server_data(server_id_of("a", ids[0])), "\"answer\":\"while-in-flight\"");
    free_ids(ids, 3);
    free_ids(more, 3);
}

/* The push reads the next group while one is in flight. Seventy synced
 * records are edited (a group of 64 PATCHes and one of 6); eight of the
 * first group are edited again while its first PATCH is held: the group
 * read ahead then meets them (the edit moved them behind the cursor,
 * beside the six of the second group) and must leave them out while their
 * PATCHes may be out, so that a record's requests never overlap or
 * reorder. Their second edits go out after, in this same run. */
static void test_sync_integration__edit_while_first_group_in_flight(void)
{
    sync_thread_arg arg = {{WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0}, -1};
    char *ids[70];
    wb_store *st;
    pthread_t t;
    WBT_ASSERT(start(NULL) == 0);
    WBT_OK(record_n("a", 70, 600, ids));
    WBT_OK(run_sync("a", &arg.cfg));
    WBT_ASSERT_INT(report_num("pushed", "created"), 70);
    st = open_store("a", U1);
    WBT_ASSERT(st != NULL);
    for (int i = 0; i < 70; i++)
        WBT_OK(wb_interaction_update(st, ids[i], ANSWER(Q1, "first-edit")));
    WBT_OK(put_faults("[" ON("PATCH", "delay", ",\"ms\":3000,\"count\":1") "]"));
    WBT_ASSERT(pthread_create(&t, NULL, sync_thread, &arg) == 0);
    for (int i = 0; i < 5000 && faults_seen() < 1; i++)
        nap(2);
    WBT_ASSERT(faults_seen() >= 1);
    for (int i = 0; i < 8; i++)
        WBT_OK(wb_interaction_update(st, ids[i], ANSWER(Q2, "second-edit")));
    wb_store_free(st);
    pthread_join(t, NULL);
    WBT_OK(arg.rc);
    WBT_ASSERT_INT(faults_fired(), 1);
    WBT_ASSERT_INT(report_num("pushed", "updated"), 78);
    /* The rule saw every PATCH: one per edit, none sent while another
     * PATCH of its record was out (that one would be refused with 412). */
    WBT_ASSERT_INT(faults_seen(), 78);
    WBT_ASSERT_INT(unsynced_count("a", U1), 0);
    WBT_ASSERT(converged("a", U1, 70));
    for (int i = 0; i < 10; i++) {
        const char *d = server_data(server_id_of("a", ids[i]));
        WBT_ASSERT_CONTAINS(d, "\"answer\":\"first-edit\"");
        if (i < 8)
            WBT_ASSERT_CONTAINS(d, "\"answer\":\"second-edit\"");
    }
    free_ids(ids, 70);
}

/* ---- cases: parallel push ---------------------------------------------------- */

/* Many records pushed on 4 connections under faults (answers lost after
 * the server applied the POST, 5xx): still exactly once, store = server,
 * and the second device sees the same. */
static void parallel_faults(const char *extra)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0};
    sync_cfg b = {WB_API_V2, WB_POLICY_MERGE, "tokB", NULL, 0};
    char *ids[40];
    wb_store *st;
    WBT_ASSERT(start2("--threads", "4", extra) == 0);
    case_parallel = 4;
    WBT_OK(record_n("a", 40, 400, ids));
    WBT_OK(put_faults("[" ON("POST", "drop_after", ",\"count\":3") "," ON(
        "POST", "status", ",\"status\":503,\"count\":3") "]"));
    WBT_OK(sync_until_clean("a", U1, &a, 0));
    WBT_ASSERT(faults_fired() >= 4);
    WBT_OK(put_faults("[]"));
    WBT_ASSERT(converged("a", U1, 40));
    /* Edits and deletes of many records on 4 connections, answers lost. */
    for (int i = 0; i < 20; i++)
        WBT_OK(edit_local("a", U1, ids[i], ANSWER(Q1, "edited")));
    for (int i = 20; i < 30; i++)
        WBT_OK(delete_local("a", ids[i]));
    WBT_OK(put_faults("[" ON("PATCH", "drop_after", ",\"count\":2") "," ON(
        "DELETE", "status", ",\"status\":500,\"count\":2") "]"));
    WBT_OK(sync_until_clean("a", U1, &a, 0));
    WBT_ASSERT(faults_fired() >= 2);
    WBT_OK(put_faults("[]"));
    WBT_ASSERT(converged("a", U1, 30));
    for (int i = 0; i < 20; i += 7)
        WBT_ASSERT_CONTAINS(server_data(server_id_of("a", ids[i])), "\"answer\":\"edited\"");
    st = open_store("b", U2);
    WBT_ASSERT(st != NULL);
    wb_store_free(st);
    WBT_OK(run_sync("b", &b));
    WBT_ASSERT(converged("b", U2, 30));
    free_ids(ids, 40);
}

static void test_sync_integration__parallel_push_faults_without_client_ids(void)
{
    parallel_faults(NULL);
}

static void test_sync_integration__parallel_push_faults_with_client_ids(void)
{
    parallel_faults("--client-ids");
}

/* A sync killed after its group of creates was marked attempted and some
 * POSTs were applied, before any acknowledgement: the next run looks each
 * one up and posts only what the server does not hold. */
static void killed_between_mark_and_acks(const char *extra, int parallel)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL, 0};
    char *ids[12];
    pid_t pid;
    int status = 0;
    long seen = 0, unsynced;
    WBT_ASSERT(start(extra) == 0);
    case_parallel = parallel;
    WBT_OK(record_n("a", 12, 500, ids));
    /* Every POST is held 1.5 s: the answers come long after the kill. */
    WBT_OK(put_faults("[" ON("POST", "delay", ",\"ms\":1500") "]"));
    pid = fork();
    WBT_ASSERT(pid >= 0);
    if (pid == 0)
        _exit(run_sync("a", &a) == 0 ? 0 : 1);
    for (int i = 0; i < 2500 && (seen = faults_seen()) < 2; i++)
        nap(2);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    WBT_ASSERT(seen >= 2);
    WBT_ASSERT(WIFSIGNALED(status));
    unsynced = unsynced_count("a", U1);
    WBT_ASSERT(unsynced > 0);
    WBT_OK(put_faults("[]"));
    nap(1700); /* a held POST the server still applies lands meanwhile */
    /* Not before the settle time: the next run right away sends nothing
     * for the marked ones. */
    clock_offset += 3600 * 1000;
    WBT_OK(sync_until_clean("a", U1, &a, 0));
    WBT_ASSERT(converged("a", U1, 12));
    free_ids(ids, 12);
}

static void test_sync_integration__kill_between_group_mark_and_acks(void)
{
    killed_between_mark_and_acks(NULL, 1);
}

static void test_sync_integration__kill_between_group_mark_and_acks_parallel(void)
{
    killed_between_mark_and_acks(NULL, 4);
}

static void test_sync_integration__kill_between_group_mark_and_acks_client_ids(void)
{
    killed_between_mark_and_acks("--client-ids", 4);
}

static const wbt_case cases[] = {
    WBT_CASE(test_sync_integration__round_trip_v2),
    WBT_CASE(test_sync_integration__round_trip_v1),
    WBT_CASE(test_sync_integration__lost_create_response_without_client_ids),
    WBT_CASE(test_sync_integration__lost_create_response_with_client_ids),
    WBT_CASE(test_sync_integration__retry_after_503),
    WBT_CASE(test_sync_integration__token_refresh_after_401),
    WBT_CASE(test_sync_integration__saved_token_only),
    WBT_CASE(test_sync_integration__saved_token_refreshed_and_saved),
    WBT_CASE(test_sync_integration__conflict_merge),
    WBT_CASE(test_sync_integration__conflict_manual),
    WBT_CASE(test_sync_integration__conflict_manual_encrypted_store),
    WBT_CASE(test_sync_integration__conflict_server_wins),
    WBT_CASE(test_sync_integration__conflict_client_wins),
    WBT_CASE(test_sync_integration__conflict_merge_same_field_prefers_local),
    WBT_CASE(test_sync_integration__update_of_record_deleted_on_server),
    WBT_CASE(test_sync_integration__fault_lost_update_and_delete_responses),
    WBT_CASE(test_sync_integration__fault_drop_before_apply),
    WBT_CASE(test_sync_integration__fault_truncated_body),
    WBT_CASE(test_sync_integration__fault_garbage_body),
    WBT_CASE(test_sync_integration__fault_server_errors_5xx_408),
    WBT_CASE(test_sync_integration__fault_delay_beyond_timeout_without_client_ids),
    WBT_CASE(test_sync_integration__fault_delay_beyond_timeout_with_client_ids),
    WBT_CASE(test_sync_integration__fault_lost_create_response_and_garbage_mixed_v1),
    WBT_CASE(test_sync_integration__fault_429_retry_after_honoured),
    WBT_CASE(test_sync_integration__poison_record_isolated_and_deferred),
    WBT_CASE(test_sync_integration__token_refresh_once_then_stop),
    WBT_CASE(test_sync_integration__canvasser_delete_rejected_with_message),
    WBT_CASE(test_sync_integration__other_customer_records_refused),
    WBT_CASE(test_sync_integration__pull_filter_refused_full_repull),
    WBT_CASE(test_sync_integration__progress_per_record_and_page),
    WBT_CASE(test_sync_integration__pull_prefetched_page_fails_then_refetched),
    WBT_CASE(test_sync_integration__pull_page_fails_after_next_prefetched),
    WBT_CASE(test_sync_integration__pull_cancel_during_prefetch),
    WBT_CASE(test_sync_integration__pull_pages_share_transactions),
    WBT_CASE(test_sync_integration__pull_failure_rolls_back_its_pages),
    WBT_CASE(test_sync_integration__pull_page_end_record_edited_between_pages),
    WBT_CASE(test_sync_integration__pull_ties_changed_between_pages),
    WBT_CASE(test_sync_integration__cancel_from_another_thread),
    WBT_CASE(test_sync_integration__record_and_edit_during_sync),
    WBT_CASE(test_sync_integration__edit_while_first_group_in_flight),
    WBT_CASE(test_sync_integration__parallel_push_faults_without_client_ids),
    WBT_CASE(test_sync_integration__parallel_push_faults_with_client_ids),
    WBT_CASE(test_sync_integration__kill_between_group_mark_and_acks),
    WBT_CASE(test_sync_integration__kill_between_group_mark_and_acks_parallel),
    WBT_CASE(test_sync_integration__kill_between_group_mark_and_acks_client_ids),
};

WBT_MAIN(cases, setup, teardown)
