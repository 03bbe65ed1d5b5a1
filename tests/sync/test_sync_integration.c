/*
 * test_sync_integration.c - the sync engine against the real walkbook-server
 * on 127.0.0.1 (port 0), over real HTTP through the libcurl transport.
 *
 * After each case the invariants of issue 4 are checked: the server holds
 * exactly the device's live records (the dump's duplicate detector is
 * empty), and the stores that synced agree with the server record by
 * record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "json.h"
#include "server_client.h"
#include "wbtest.h"

#define C1 "c1c1c1c1-0000-4000-8000-000000000001"
#define SG1 "5e5e5e5e-0000-4000-8000-000000000001"
#define U1 "aaaaaaaa-0000-4000-8000-000000000001"
#define U2 "aaaaaaaa-0000-4000-8000-000000000002"
#define CAMPAIGN "61fbfbaa-5de8-4d17-ac2b-c47f2376265a"
#define Q1 "9826940d-76a8-4700-8c92-5743ce7bb728"
#define Q2 "9826940d-76a8-4700-8c92-5743ce7bb729"
#define ADMIN_HDR "X-Admin-Token: adm-secret"

/* One server per case (fresh records, fresh fault counters). */
static srv server;
static int case_no;

static int start(const char *extra)
{
    const char *args[16];
    int n = 0;
    args[n++] = "--admin";
    args[n++] = "adm-secret";
    args[n++] = "--token";
    args[n++] = "tokA:" C1 ":" SG1 ":" U1;
    args[n++] = "--token";
    args[n++] = "tokA2:" C1 ":" SG1 ":" U1;
    args[n++] = "--token";
    args[n++] = "tokB:" C1 ":" SG1 ":" U2;
    if (extra)
        args[n++] = extra;
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
    if (server.pid)
        srv_stop(&server);
    memset(&server, 0, sizeof(server));
}

static wb_store *open_store(const char *name, const char *user)
{
    char file[64];
    wb_store *st = NULL;
    const char *groups[] = {SG1};
    snprintf(file, sizeof(file), "%s-%d.db", name, case_no);
    if (wb_store_open(&st, wbt_path(file), NULL) != 0)
        return NULL;
    if (wb_store_set_identity(st, C1, user, groups, 1) != 0) {
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
} sync_cfg;

static char last_report[2048];

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
    o.token = cfg->token ? cfg->token : "tokA";
    o.timeout_ms = 5000;
    o.connect_timeout_ms = 2000;
    o.backoff_base_ms = 20;
    o.backoff_max_ms = 3000;
    o.page_size = 3; /* several pages with few records */
    o.token_refresh = cfg->refresh;
    if ((rc = wb_sync_new(&s, store_file(name), NULL, &o)) != 0)
        return rc;
    rc = wb_sync_run(&report, s);
    snprintf(last_report, sizeof(last_report), "%s", report ? report : "");
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
    sync_cfg a = {api, WB_POLICY_MERGE, "tokA", NULL}, b = {api, WB_POLICY_MERGE, "tokB", NULL};
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
    round_trip(WB_API_V1);
}

static void lost_response(const char *extra)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL};
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
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL};
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
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", give_token};
    sync_cfg none = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL};
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
    sync_cfg a = {WB_API_V2, WB_POLICY_MERGE, "tokA", NULL};
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

static void test_sync_integration__conflict_manual(void)
{
    sync_cfg a = {WB_API_V2, WB_POLICY_MANUAL, "tokA", NULL};
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
    WBT_ASSERT(report_num("pulled", "conflicts") >= 1);
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

static const wbt_case cases[] = {
    WBT_CASE(test_sync_integration__round_trip_v2),
    WBT_CASE(test_sync_integration__round_trip_v1),
    WBT_CASE(test_sync_integration__lost_create_response_without_client_ids),
    WBT_CASE(test_sync_integration__lost_create_response_with_client_ids),
    WBT_CASE(test_sync_integration__retry_after_503),
    WBT_CASE(test_sync_integration__token_refresh_after_401),
    WBT_CASE(test_sync_integration__conflict_merge),
    WBT_CASE(test_sync_integration__conflict_manual),
};

WBT_MAIN(cases, setup, teardown)
