/*
 * test_sync_signatures.c - signed creates (wb_sync_options.send_signatures,
 * the walkbookSignature member) against walkbook-server on 127.0.0.1
 * (port 0) over real HTTP: verified when intact; a tampered record, a
 * forged signature, a removed or reordered log entry reported by the
 * server; malformed objects refused naming the member; nothing extra
 * without the client option; refused without the server option. A
 * pulled page leaves its log entries unsigned but for the last, whose
 * signature covers them (schema 009): verify passes, and an edited covered
 * entry or an unsigned tail is caught.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common.h"
#include "crypto.h"
#include "fixtures.h"
#include "json.h"
#include "server_client.h"
#include "uuid.h"
#include "wbtest.h"

#define ADMIN "X-Admin-Token: adm"
#define TOKEN "tokS"

static srv server;
static int case_no;
static char store_name[64];

static int start(int accept)
{
    const char *args[] = {"--admin", "adm", "--token",
                          TOKEN ":" FX_CUSTOMER ":" FX_GROUP ":" FX_USER,
                          "--token", "tokOther:" FX_CUSTOMER ":" FX_GROUP
                                     ":aaaaaaaa-0000-4000-8000-000000000009",
                          accept ? "--accept-signatures" : NULL, NULL};
    return srv_start(&server, args);
}

static void setup(void)
{
    if (wb__global_init() < 0)
        exit(2);
    case_no++;
    snprintf(store_name, sizeof(store_name), "sig-%d.db", case_no);
    memset(&server, 0, sizeof(server));
}

static void teardown(void)
{
    if (server.pid)
        srv_stop(&server);
    memset(&server, 0, sizeof(server));
}

static char last_report[2048];

static int sync_store(const char *name, int send_signatures)
{
    wb_sync_options o = WB_SYNC_OPTIONS_INIT;
    wb_sync *s = NULL;
    char url[64], *report = NULL;
    int rc;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", server.port);
    o.base_url = url;
    o.token = TOKEN;
    o.timeout_ms = 5000;
    o.connect_timeout_ms = 2000;
    o.max_attempts = 2;
    o.send_signatures = send_signatures;
    if ((rc = wb_sync_new(&s, wbt_path(name), fx_store_options(), &o)) != 0)
        return rc;
    rc = wb_sync_run(&report, s);
    snprintf(last_report, sizeof(last_report), "%s", report ? report : "");
    wb_free(report);
    wb_sync_free(s);
    return rc;
}

static int run_sync(int send_signatures)
{
    return sync_store(store_name, send_signatures);
}

static long report_num(const char *group, const char *name)
{
    cJSON *j = NULL;
    long v = -1;
    if (wb_json__parse(&j, last_report, strlen(last_report), NULL, "report") == 0) {
        const cJSON *n = wb_json__get(wb_json__get(j, group), name);
        if (cJSON_IsNumber(n))
            v = (long)n->valuedouble;
    }
    cJSON_Delete(j);
    return v;
}

/* GET /__admin/signatures, parsed (cJSON_Delete), or NULL. */
static cJSON *sig_report(void)
{
    srv_reply r;
    cJSON *j = NULL;
    if (srv_call(&r, &server, "GET", "/__admin/signatures", NULL, NULL, ADMIN, NULL) == 200) {
        j = r.json;
        r.json = NULL;
    } else {
        fprintf(stderr, "    /__admin/signatures: %ld %s\n", r.status, r.body);
    }
    srv_reply_free(&r);
    return j;
}

/* The server's verdict on the record made from local id `local`, or "". */
static const char *status_of(const cJSON *rep, const char *local)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, wb_json__get(rep, "records"))
    {
        const char *l = srv_str(r, "/localId");
        if (l && strcmp(l, local) == 0)
            return srv_str(r, "/status");
    }
    return "";
}

static wb_store *store_with(char ids[][WB_UUID_LEN + 1], int n)
{
    wb_store *st = fx_store(store_name);
    char ts[48], contact[64];
    for (int i = 0; st && i < n; i++) {
        char *id = NULL;
        snprintf(ts, sizeof(ts), "2024-05-01T10:00:%02d.000Z", i % 60);
        snprintf(contact, sizeof(contact), "0478dbbf-b6eb-4168-afa9-%012d", i % 1000);
        if (wb_interaction_record(&id, st, fx_body(NULL, contact, ts)) != 0) {
            wb_store_free(st);
            return NULL;
        }
        snprintf(ids[i], WB_UUID_LEN + 1, "%s", id);
        wb_free(id);
    }
    return st;
}

/* ---- cases ------------------------------------------------------------------ */

static void test_sync_signatures__verified(void)
{
    char ids[4][WB_UUID_LEN + 1];
    wb_store *st = store_with(ids, 3);
    cJSON *rep = NULL;
    const cJSON *dev;
    WBT_ASSERT(st != NULL);
    /* Edited before it first went out: the create carries the edit's entry. */
    WBT_OK(wb_interaction_update(st, ids[1], "[{\"op\":\"replace\",\"path\":\"/successful\","
                                             "\"value\":false}]"));
    WBT_OK(start(1));
    WBT_OK(run_sync(1));
    WBT_ASSERT_INT(report_num("pushed", "created"), 3);
    WBT_ASSERT_INT(report_num("pushed", "rejected"), 0);
    /* A later record: its links start after the acknowledged ones. */
    {
        char *id = NULL;
        WBT_OK(wb_interaction_record(&id, st, fx_body(NULL, NULL, "2024-05-01T11:00:00.000Z")));
        snprintf(ids[3], sizeof(ids[3]), "%s", id);
        wb_free(id);
    }
    WBT_OK(run_sync(1));
    WBT_ASSERT_INT(report_num("pushed", "created"), 1);
    WBT_ASSERT((rep = sig_report()) != NULL);
    for (int i = 0; i < 4; i++)
        WBT_ASSERT_STR(status_of(rep, ids[i]), "verified");
    dev = cJSON_GetArrayItem(wb_json__get(rep, "devices"), 0);
    WBT_ASSERT(dev != NULL);
    WBT_ASSERT_INT(cJSON_GetArraySize(wb_json__get(rep, "devices")), 1);
    WBT_ASSERT(srv_is_true(dev, "/ok"));
    WBT_ASSERT_INT(cJSON_GetArraySize(wb_json__get(dev, "gaps")), 0);
    WBT_ASSERT_INT(cJSON_GetArraySize(wb_json__get(dev, "breaks")), 0);
    WBT_ASSERT_INT((long)wb_json__get(dev, "firstSeq")->valuedouble, 1);
    WBT_ASSERT_INT((long)wb_json__get(dev, "signed")->valuedouble, 4);
    WBT_ASSERT_STR(srv_str(dev, "/userId"), FX_USER);
    {
        /* The edited one went out with its kind-2 entry. */
        const cJSON *r;
        int kinds[3] = {0, 0, 0};
        cJSON_ArrayForEach(r, wb_json__get(rep, "records"))
        {
            int k = (int)wb_json__get(r, "kind")->valuedouble;
            if (k >= 1 && k <= 2)
                kinds[k]++;
        }
        WBT_ASSERT_INT(kinds[1], 3);
        WBT_ASSERT_INT(kinds[2], 1);
    }
    cJSON_Delete(rep);
    wb_store_free(st);
}

static void test_sync_signatures__off_sends_nothing(void)
{
    char ids[2][WB_UUID_LEN + 1];
    wb_store *st = store_with(ids, 2);
    cJSON *rep;
    WBT_ASSERT(st != NULL);
    WBT_OK(start(1));
    WBT_OK(run_sync(0));
    WBT_ASSERT_INT(report_num("pushed", "created"), 2);
    WBT_ASSERT((rep = sig_report()) != NULL);
    WBT_ASSERT_INT(cJSON_GetArraySize(wb_json__get(rep, "records")), 0);
    WBT_ASSERT_INT(cJSON_GetArraySize(wb_json__get(rep, "devices")), 0);
    cJSON_Delete(rep);
    wb_store_free(st);
}

static void test_sync_signatures__server_without_option(void)
{
    char ids[1][WB_UUID_LEN + 1];
    wb_store *st = store_with(ids, 1);
    char *info = NULL;
    WBT_ASSERT(st != NULL);
    WBT_OK(start(0));
    WBT_ASSERT(run_sync(1) == 0);
    WBT_ASSERT_INT(report_num("pushed", "created"), 0);
    WBT_ASSERT_INT(report_num("pushed", "rejected"), 1);
    WBT_OK(wb_interaction_sync_info(&info, st, ids[0]));
    WBT_ASSERT_CONTAINS(info, "walkbookSignature");
    WBT_ASSERT_CONTAINS(info, "--accept-signatures");
    wb_free(info);
    {
        srv_reply r;
        WBT_ASSERT_INT(srv_call(&r, &server, "GET", "/__admin/signatures", NULL, NULL, ADMIN,
                                NULL),
                       404);
        srv_reply_free(&r);
    }
    wb_store_free(st);
}

/* A create body for record `id` (its data as stored, or with `successful`
 * flipped) carrying `sig` (text). */
static char *signed_body(wb_store *st, const char *id, const char *sig, int alter)
{
    char *env_text = NULL, *out = NULL;
    cJSON *env = NULL, *body, *s = NULL;
    if (wb_interaction_get(&env_text, st, id, 0) != 0 ||
        wb_json__parse(&env, env_text, strlen(env_text), NULL, "env") != 0)
        goto done;
    body = cJSON_DetachItemFromObjectCaseSensitive(env, "data");
    cJSON_AddStringToObject(body, "id", id);
    if (alter)
        cJSON_ReplaceItemInObjectCaseSensitive(body, "successful", cJSON_CreateFalse());
    if (sig && wb_json__parse(&s, sig, strlen(sig), NULL, "sig") == 0)
        cJSON_AddItemToObject(body, "walkbookSignature", s);
    out = wb_json__print(body);
    cJSON_Delete(body);
done:
    cJSON_Delete(env);
    wb_free(env_text);
    return out;
}

static long post(srv_reply *r, const char *body)
{
    return srv_call(r, &server, "POST", "/v2/interactions", TOKEN, body, NULL, NULL);
}

static void test_sync_signatures__tampered_and_forged(void)
{
    char ids[3][WB_UUID_LEN + 1];
    wb_store *st = store_with(ids, 3);
    char *sig = NULL, *body = NULL;
    cJSON *rep;
    srv_reply r;
    WBT_ASSERT(st != NULL);
    WBT_OK(start(1));
    /* Intact, for reference. */
    WBT_OK(wb_log_signature(&sig, st, ids[0]));
    WBT_ASSERT((body = signed_body(st, ids[0], sig, 0)) != NULL);
    WBT_ASSERT_INT(post(&r, body), 201);
    srv_reply_free(&r);
    wb_free(sig);
    wb_free(body);
    /* The data changed on the way: stored, and flagged. */
    WBT_OK(wb_log_signature(&sig, st, ids[1]));
    WBT_ASSERT((body = signed_body(st, ids[1], sig, 1)) != NULL);
    WBT_ASSERT_INT(post(&r, body), 201);
    srv_reply_free(&r);
    wb_free(sig);
    wb_free(body);
    /* A signature made up (one digit changed). */
    WBT_OK(wb_log_signature(&sig, st, ids[2]));
    {
        char *p = strstr(sig, "\"signature\":\"");
        WBT_ASSERT(p != NULL);
        p += 13;
        *p = *p == '0' ? '1' : '0';
    }
    WBT_ASSERT((body = signed_body(st, ids[2], sig, 0)) != NULL);
    WBT_ASSERT_INT(post(&r, body), 201);
    srv_reply_free(&r);
    wb_free(sig);
    wb_free(body);
    WBT_ASSERT((rep = sig_report()) != NULL);
    WBT_ASSERT_STR(status_of(rep, ids[0]), "verified");
    WBT_ASSERT_STR(status_of(rep, ids[1]), "altered");
    WBT_ASSERT_STR(status_of(rep, ids[2]), "forged");
    WBT_ASSERT(!srv_is_true(cJSON_GetArrayItem(wb_json__get(rep, "devices"), 0), "/ok"));
    cJSON_Delete(rep);
    /* Another user presenting this device's key: stored, untrusted. */
    WBT_OK(wb_log_signature(&sig, st, ids[0]));
    WBT_ASSERT((body = signed_body(st, ids[0], sig, 0)) != NULL);
    WBT_ASSERT_INT(srv_call(&r, &server, "POST", "/v2/interactions", "tokOther", body, NULL,
                            NULL),
                   201);
    {
        const char *rid = srv_str(r.json, "/id");
        cJSON *rep2 = sig_report();
        const cJSON *x;
        int found = 0;
        WBT_ASSERT(rep2 != NULL && rid != NULL);
        cJSON_ArrayForEach(x, wb_json__get(rep2, "records"))
        {
            if (strcmp(srv_str(x, "/id"), rid) == 0) {
                WBT_ASSERT_STR(srv_str(x, "/status"), "untrusted");
                found = 1;
            }
        }
        WBT_ASSERT(found);
        cJSON_Delete(rep2);
    }
    srv_reply_free(&r);
    wb_free(sig);
    wb_free(body);
    wb_store_free(st);
}

static void test_sync_signatures__malformed_refused(void)
{
    static const struct {
        const char *from, *to, *member;
    } cases[] = {
        {"\"digest\":\"", "\"digestX\":\"", "walkbookSignature.digestX: unknown member"},
        {"\"publicKey\":\"", "\"publicKey\":\"zz", "walkbookSignature.publicKey"},
        {"\"seq\":", "\"seq\":-", "walkbookSignature.seq"},
        {"\"seq\":", "\"seq\":0.5", "walkbookSignature.seq: must be an integer"},
        {"\"seq\":", "\"seq\":1e20", "walkbookSignature.seq: must be an integer"},
        {"\"algorithm\":\"walkbook-log/1\"", "\"algorithm\":\"rsa\"",
         "walkbookSignature.algorithm"},
        {"\"links\":\"", "\"links\":\"!!", "walkbookSignature.links"},
        {"\"kind\":", "\"kind\":3", "walkbookSignature.kind"},
    };
    char ids[2][WB_UUID_LEN + 1];
    wb_store *st = store_with(ids, 2);
    char *sig = NULL, *body = NULL;
    srv_reply r;
    WBT_ASSERT(st != NULL);
    WBT_OK(start(1));
    WBT_OK(wb_log_signature(&sig, st, ids[1]));
    for (size_t i = 0; i < WB__ARRAY_SIZE(cases); i++) {
        char bad[4096];
        const char *p = strstr(sig, cases[i].from);
        size_t pre;
        WBT_ASSERT(p != NULL);
        pre = (size_t)(p - sig);
        snprintf(bad, sizeof(bad), "%.*s%s%s", (int)pre, sig, cases[i].to,
                 p + strlen(cases[i].from) + (strcmp(cases[i].to, "\"kind\":3") == 0 ? 1 : 0));
        WBT_ASSERT((body = signed_body(st, ids[1], bad, 0)) != NULL);
        WBT_ASSERT_INT(post(&r, body), 400);
        WBT_ASSERT_CONTAINS(r.body, cases[i].member);
        srv_reply_free(&r);
        wb_free(body);
    }
    /* Not an object; no body id. */
    WBT_ASSERT((body = signed_body(st, ids[1], "[]", 0)) != NULL);
    WBT_ASSERT_INT(post(&r, body), 400);
    WBT_ASSERT_CONTAINS(r.body, "walkbookSignature: must be an object");
    srv_reply_free(&r);
    wb_free(body);
    {
        char nobody[4200];
        snprintf(nobody, sizeof(nobody), "%s", fx_body(NULL, NULL, NULL));
        nobody[strlen(nobody) - 1] = '\0';
        snprintf(nobody + strlen(nobody), sizeof(nobody) - strlen(nobody),
                 ",\"walkbookSignature\":%s}", sig);
        WBT_ASSERT_INT(post(&r, nobody), 400);
        WBT_ASSERT_CONTAINS(r.body, "body's id");
        srv_reply_free(&r);
    }
    /* Nothing was stored by the refusals. */
    {
        cJSON *rep = sig_report();
        WBT_ASSERT(rep != NULL);
        WBT_ASSERT_INT(cJSON_GetArraySize(wb_json__get(rep, "records")), 0);
        cJSON_Delete(rep);
    }
    wb_free(sig);
    wb_store_free(st);
}

/* Edit a store's log behind walkbook's back. */
static void raw_sql_on(const char *name, const char *sql)
{
    sqlite3 *db = NULL;
    char *err = NULL;
    WBT_ASSERT(sqlite3_open(wbt_path(name), &db) == SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        WBT_FAIL("sql: %s", err ? err : "?");
    sqlite3_free(err);
    sqlite3_close(db);
}

static void raw_sql(const char *sql)
{
    raw_sql_on(store_name, sql);
}

static void test_sync_signatures__removed_entry_is_flagged(void)
{
    char ids[3][WB_UUID_LEN + 1];
    wb_store *st = store_with(ids, 3);
    cJSON *rep;
    const cJSON *dev;
    WBT_ASSERT(st != NULL);
    wb_store_free(st);
    /* The second interaction and its entry vanish from the device. */
    {
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "DELETE FROM interaction_log WHERE seq = 2; DELETE FROM interactions"
                 " WHERE local_id = '%s'",
                 ids[1]);
        raw_sql(sql);
    }
    WBT_OK(start(1));
    WBT_OK(run_sync(1));
    WBT_ASSERT_INT(report_num("pushed", "created"), 2);
    WBT_ASSERT((rep = sig_report()) != NULL);
    WBT_ASSERT_STR(status_of(rep, ids[0]), "verified");
    /* Entry 3 names entry 2's digest, which no longer follows. */
    WBT_ASSERT_STR(status_of(rep, ids[2]), "misplaced");
    dev = cJSON_GetArrayItem(wb_json__get(rep, "devices"), 0);
    WBT_ASSERT(dev && !srv_is_true(dev, "/ok"));
    WBT_ASSERT_INT((long)wb_json__get(dev, "flagged")->valuedouble, 1);
    cJSON_Delete(rep);
}

static void test_sync_signatures__reordered_entries(void)
{
    char ids[4][WB_UUID_LEN + 1];
    wb_store *st = store_with(ids, 4);
    cJSON *rep;
    const cJSON *dev;
    WBT_ASSERT(st != NULL);
    wb_store_free(st);
    /* Entries 2 and 3 swap places. */
    raw_sql("UPDATE interaction_log SET seq = -seq WHERE seq IN (2, 3);"
            "UPDATE interaction_log SET seq = 5 - (-seq) WHERE seq IN (-2, -3);");
    WBT_OK(start(1));
    WBT_OK(run_sync(1));
    WBT_ASSERT_INT(report_num("pushed", "created"), 4);
    WBT_ASSERT((rep = sig_report()) != NULL);
    WBT_ASSERT_STR(status_of(rep, ids[0]), "verified");
    WBT_ASSERT_STR(status_of(rep, ids[1]), "misplaced");
    WBT_ASSERT_STR(status_of(rep, ids[2]), "misplaced");
    /* Entry 4 names entry 3's digest: after the swap that is entry 2's. */
    WBT_ASSERT_STR(status_of(rep, ids[3]), "misplaced");
    dev = cJSON_GetArrayItem(wb_json__get(rep, "devices"), 0);
    WBT_ASSERT(dev && !srv_is_true(dev, "/ok"));
    WBT_ASSERT_INT((long)wb_json__get(dev, "flagged")->valuedouble, 3);
    cJSON_Delete(rep);
}

static void test_sync_signatures__edited_entry_is_a_break(void)
{
    char ids[3][WB_UUID_LEN + 1];
    wb_store *st = store_with(ids, 3);
    cJSON *rep;
    const cJSON *dev, *brk;
    WBT_ASSERT(st != NULL);
    wb_store_free(st);
    /* Entry 2's content hash rewritten: its record no longer matches any
     * entry (it goes out unsigned); entry 3 is intact, but the hashes
     * before it no longer lead to the previous digest it signed. */
    raw_sql("UPDATE interaction_log SET content = zeroblob(32) WHERE seq = 2");
    WBT_OK(start(1));
    WBT_OK(run_sync(1));
    WBT_ASSERT_INT(report_num("pushed", "created"), 3);
    WBT_ASSERT((rep = sig_report()) != NULL);
    WBT_ASSERT_STR(status_of(rep, ids[0]), "verified");
    WBT_ASSERT_STR(status_of(rep, ids[1]), ""); /* unsigned */
    WBT_ASSERT_STR(status_of(rep, ids[2]), "verified");
    dev = cJSON_GetArrayItem(wb_json__get(rep, "devices"), 0);
    WBT_ASSERT(dev && !srv_is_true(dev, "/ok"));
    brk = cJSON_GetArrayItem(wb_json__get(dev, "breaks"), 0);
    WBT_ASSERT(brk != NULL);
    WBT_ASSERT_INT((long)wb_json__get(brk, "seq")->valuedouble, 3);
    WBT_ASSERT_CONTAINS(srv_str(brk, "/problem"), "does not follow");
    cJSON_Delete(rep);
}

static void test_sync_signatures__gap_in_links(void)
{
    char ids[3][WB_UUID_LEN + 1];
    wb_store *st = store_with(ids, 3);
    char *sig = NULL, *body = NULL;
    cJSON *rep;
    const cJSON *dev, *gap;
    srv_reply r;
    WBT_ASSERT(st != NULL);
    WBT_OK(start(1));
    WBT_OK(wb_log_signature(&sig, st, ids[0]));
    WBT_ASSERT((body = signed_body(st, ids[0], sig, 0)) != NULL);
    WBT_ASSERT_INT(post(&r, body), 201);
    srv_reply_free(&r);
    wb_free(sig);
    wb_free(body);
    /* The third without the hashes of the second: the server sees a hole. */
    WBT_OK(wb_log_signature(&sig, st, ids[2]));
    {
        char *p = strstr(sig, "\"links\":\"");
        WBT_ASSERT(p != NULL);
        strcpy(p, "\"links\":\"\"}");
    }
    WBT_ASSERT((body = signed_body(st, ids[2], sig, 0)) != NULL);
    WBT_ASSERT_INT(post(&r, body), 201);
    srv_reply_free(&r);
    wb_free(sig);
    wb_free(body);
    WBT_ASSERT((rep = sig_report()) != NULL);
    WBT_ASSERT_STR(status_of(rep, ids[2]), "verified"); /* the entry itself is sound */
    dev = cJSON_GetArrayItem(wb_json__get(rep, "devices"), 0);
    WBT_ASSERT(dev && !srv_is_true(dev, "/ok"));
    gap = cJSON_GetArrayItem(wb_json__get(dev, "gaps"), 0);
    WBT_ASSERT(gap != NULL);
    WBT_ASSERT_INT((long)cJSON_GetArrayItem(gap, 0)->valuedouble, 2);
    WBT_ASSERT_INT((long)cJSON_GetArrayItem(gap, 1)->valuedouble, 2);
    cJSON_Delete(rep);
    wb_store_free(st);
}

/* ---- a pulled page: one signature covers it (schema 009) -------------------- */

#define PULLED 6

/* A second device pulls the PULLED records of the first into store `name`. */
static int pull_into(const char *name)
{
    wb_store *st = fx_store(name);
    if (!st)
        return -1;
    wb_store_free(st);
    if (sync_store(name, 0) != 0 || report_num("pulled", "inserted") != PULLED)
        return -1;
    return 0;
}

static long count_of(const char *name, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long n = -1;
    if (sqlite3_open(wbt_path(name), &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* wb_log_verify on the store file `name`: its return code, the report. */
static int verify_store(const char *name, char **report)
{
    wb_store *st = NULL;
    int rc = wb_store_open(&st, wbt_path(name), fx_store_options());
    *report = NULL;
    if (rc == 0)
        rc = wb_log_verify(report, st);
    wb_store_free(st);
    return rc;
}

/* What a forger without the device key can do to a covered entry: change
 * its content and recompute every digest after it, up to the log's end. */
static void rechain_from(const char *name, int64_t from)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL, *up = NULL;
    unsigned char prev[WB_LOG_HASH_BYTES], digest[WB_LOG_HASH_BYTES];
    int have_prev = 0;
    WBT_ASSERT(sqlite3_open(wbt_path(name), &db) == SQLITE_OK);
    WBT_ASSERT(sqlite3_prepare_v2(db, "SELECT seq, kind, content, digest FROM interaction_log"
                                      " ORDER BY seq",
                                  -1, &st, NULL) == SQLITE_OK);
    WBT_ASSERT(sqlite3_prepare_v2(db, "UPDATE interaction_log SET digest = ?2 WHERE seq = ?1",
                                  -1, &up, NULL) == SQLITE_OK);
    while (st && up && sqlite3_step(st) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        if (seq >= from && have_prev) {
            wb_log__link(digest, prev, seq, sqlite3_column_int(st, 1), sqlite3_column_blob(st, 2));
            sqlite3_reset(up);
            sqlite3_bind_int64(up, 1, seq);
            sqlite3_bind_blob(up, 2, digest, sizeof(digest), SQLITE_TRANSIENT);
            WBT_ASSERT(sqlite3_step(up) == SQLITE_DONE);
            memcpy(prev, digest, sizeof(prev));
        } else {
            memcpy(prev, sqlite3_column_blob(st, 3), sizeof(prev));
        }
        have_prev = 1;
    }
    sqlite3_finalize(st);
    sqlite3_finalize(up);
    sqlite3_close(db);
}

static void test_sync_signatures__pulled_page_is_covered(void)
{
    char ids[PULLED][WB_UUID_LEN + 1], name[96], *report = NULL;
    wb_store *st = store_with(ids, PULLED);
    WBT_ASSERT(st != NULL);
    wb_store_free(st);
    WBT_OK(start(1));
    WBT_OK(run_sync(0));
    WBT_ASSERT_INT(report_num("pushed", "created"), PULLED);
    /* The device's own records: each entry signed. */
    WBT_ASSERT_INT(count_of(store_name, "SELECT count(*) FROM interaction_log"
                                        " WHERE signature IS NULL"),
                   0);

    /* One page, one transaction: PULLED server versions, the last signed. */
    snprintf(name, sizeof(name), "%s-pull.db", store_name);
    WBT_OK(pull_into(name));
    WBT_ASSERT_INT(count_of(name, "SELECT count(*) FROM interaction_log WHERE kind = 4"), PULLED);
    WBT_ASSERT_INT(count_of(name, "SELECT count(*) FROM interaction_log"
                                  " WHERE signature IS NULL"),
                   PULLED - 1);
    WBT_ASSERT_INT(count_of(name, "SELECT length(signature) FROM interaction_log"
                                  " ORDER BY seq DESC LIMIT 1"),
                   64);
    WBT_OK(verify_store(name, &report));
    WBT_ASSERT_CONTAINS(report, "\"ok\":true");
    WBT_ASSERT_CONTAINS(report, "\"entries\":6,\"signed\":1");
    wb_free(report);

    /* A covered entry's content edited: its digest no longer follows. */
    snprintf(name, sizeof(name), "%s-edit.db", store_name);
    WBT_OK(pull_into(name));
    raw_sql_on(name, "UPDATE interaction_log SET content = zeroblob(32) WHERE seq = 2");
    WBT_ASSERT_INT(verify_store(name, &report), WB_ETAMPER);
    WBT_ASSERT_CONTAINS(report, "\"seq\":2");
    WBT_ASSERT_CONTAINS(report, "does not follow");
    WBT_ASSERT_CONTAINS(wb_error_last()->message, "entry 2");
    wb_free(report);

    /* The same edit with every digest after it recomputed: the chain holds
     * together up to the signed entry, whose signature then fails. */
    snprintf(name, sizeof(name), "%s-rechain.db", store_name);
    WBT_OK(pull_into(name));
    raw_sql_on(name, "UPDATE interaction_log SET content = zeroblob(32) WHERE seq = 2");
    rechain_from(name, 2);
    WBT_ASSERT_INT(verify_store(name, &report), WB_ETAMPER);
    WBT_ASSERT_CONTAINS(report, "\"seq\":6");
    WBT_ASSERT_CONTAINS(report, "signature does not verify");
    wb_free(report);

    /* The last entry's signature removed: nothing covers the page. */
    snprintf(name, sizeof(name), "%s-tail.db", store_name);
    WBT_OK(pull_into(name));
    raw_sql_on(name, "UPDATE interaction_log SET signature = NULL WHERE seq = 6");
    WBT_ASSERT_INT(verify_store(name, &report), WB_ETAMPER);
    WBT_ASSERT_CONTAINS(report, "\"seq\":1");
    WBT_ASSERT_CONTAINS(report, "no later signed entry covers it");
    WBT_ASSERT_CONTAINS(report, "entries 1 to 6");
    wb_free(report);
}

static const wbt_case cases[] = {
    WBT_CASE(test_sync_signatures__verified),
    WBT_CASE(test_sync_signatures__off_sends_nothing),
    WBT_CASE(test_sync_signatures__server_without_option),
    WBT_CASE(test_sync_signatures__tampered_and_forged),
    WBT_CASE(test_sync_signatures__malformed_refused),
    WBT_CASE(test_sync_signatures__removed_entry_is_flagged),
    WBT_CASE(test_sync_signatures__reordered_entries),
    WBT_CASE(test_sync_signatures__edited_entry_is_a_break),
    WBT_CASE(test_sync_signatures__gap_in_links),
    WBT_CASE(test_sync_signatures__pulled_page_is_covered),
};

WBT_MAIN(cases, setup, teardown)
