/*
 * test_server_pushdown.c - list queries that walkbook-server answers in
 * SQL (campaign equality, /meta/modified bounds, the deleted rule, the
 * sorts id and /meta/modified then id, skip/limit) give the same pages as
 * the full scan. Each query is asked twice, page by page: once in the form
 * the server pushes down, once in an equivalent form it cannot (`in [x]`
 * for `eq x`, an `or` that never holds, a constant extra sort key), and
 * the answers must be byte-identical.
 *
 * The store is a database file in the layout of an older server (no
 * derived columns; or, second case, a rowid table with derived columns,
 * list indexes that lead to the row, and one state for every record not
 * deleted), so the server's migration fills the columns from the stored
 * text. It holds what
 * the server never writes itself: many records with one meta.modified
 * value, one without meta.modified, one whose meta.modified is a number, a
 * row that is not JSON, and two records whose meta.isDeleted is null or
 * missing (visible as live, never among `in [true,false]`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sqlite3.h>

#include "server_cases.h"
#include "wbtest.h"

#define P_CAMPAIGN "9a9a9a9a-0000-4000-8000-00000000009a"
#define P_OTHER "9b9b9b9b-0000-4000-8000-00000000009b"
#define P_THIRD "9c9c9c9c-0000-4000-8000-00000000009c"
#define P_RECORDS 40

/* A record id that does not sort like its number. */
static void p_id(char out[37], int i)
{
    snprintf(out, 37, "%08x-0000-4000-8000-%012d", (unsigned)(i * 2654435761u), i);
}

/* The stored envelope of record i ("modified" NULL: no meta.modified;
 * "#": a number there; deleted 2: meta.isDeleted null, 3: none). */
static void p_envelope(char *out, size_t len, int i, const char *campaign, const char *modified,
                       int deleted)
{
    char id[37], mod[64];
    p_id(id, i);
    if (!modified)
        mod[0] = '\0';
    else if (strcmp(modified, "#") == 0)
        snprintf(mod, sizeof(mod), "\"modified\":1234,");
    else
        snprintf(mod, sizeof(mod), "\"modified\":\"%s\",", modified);
    snprintf(out, len,
             "{\"id\":\"%s\",\"data\":{\"campaignId\":\"%s\",\"distance\":%d},"
             "\"meta\":{\"etag\":\"e%d\",\"created\":\"2021-01-01T00:00:00.000Z\",%s"
             "\"resource\":\"interactions\"%s%s},"
             "\"customerId\":\"" T_C1 "\",\"securityGroupId\":\"" T_SG1 "\"}",
             id, campaign, i % 7, i, mod, deleted == 3 ? "" : ",\"isDeleted\":",
             deleted == 3 ? "" : deleted == 2 ? "null" : deleted ? "true" : "false");
}

/* The derived columns and list indexes of the previous layout (a rowid
 * table with them), added to its table. */
#define P_PREVIOUS_LAYOUT                                                                       \
    "ALTER TABLE r_interactions ADD COLUMN x_campaign TEXT;"                                    \
    "ALTER TABLE r_interactions ADD COLUMN x_modified TEXT;"                                    \
    "ALTER TABLE r_interactions ADD COLUMN x_state INTEGER NOT NULL DEFAULT 0;"                 \
    "UPDATE r_interactions SET"                                                                 \
    " x_campaign = CASE WHEN json_valid(envelope) THEN CASE WHEN"                               \
    " json_type(envelope, '$.data.campaignId') = 'text' THEN"                                   \
    " json_extract(envelope, '$.data.campaignId') END END,"                                     \
    " x_modified = CASE WHEN json_valid(envelope) THEN CASE WHEN"                               \
    " json_type(envelope, '$.meta.modified') = 'text' THEN"                                     \
    " json_extract(envelope, '$.meta.modified') END END,"                                       \
    " x_state = CASE WHEN NOT json_valid(envelope) THEN 2 WHEN"                                 \
    " json_type(envelope, '$.meta.isDeleted') = 'true' THEN 1 ELSE 0 END;"                      \
    "CREATE INDEX r_interactions_x_campaign_id ON r_interactions"                               \
    " (customer, x_campaign, id, x_state);"                                                     \
    "CREATE INDEX r_interactions_x_campaign_modified ON r_interactions"                         \
    " (customer, x_campaign, x_modified, id, x_state);"                                         \
    "CREATE INDEX r_interactions_x_modified_id ON r_interactions (customer, x_modified, id, x_state);"

static int p_seed(const char *db, int previous_layout)
{
    static const char *const mods[] = {"2021-03-01T00:00:00.000Z", "2021-03-01T00:00:00.000Z",
                                       "2021-03-01T00:00:00.000Z", "2021-03-02T00:00:00.000Z",
                                       "2021-03-02T00:00:00.000Z", "2021-03-03T00:00:00.000Z"};
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    char env[1024], id[37];
    int ok;

    ok = sqlite3_open(db, &h) == SQLITE_OK &&
         sqlite3_exec(h,
                      previous_layout
                          ? "CREATE TABLE r_interactions (customer TEXT NOT NULL, id TEXT NOT NULL,"
                            " envelope TEXT NOT NULL, modified TEXT NOT NULL, UNIQUE (customer, id))"
                          : "CREATE TABLE r_interactions (customer TEXT NOT NULL, id TEXT NOT NULL,"
                            " envelope TEXT NOT NULL, modified TEXT NOT NULL,"
                            " PRIMARY KEY (customer, id)) WITHOUT ROWID",
                      NULL, NULL, NULL) == SQLITE_OK &&
         sqlite3_prepare_v2(h, "INSERT INTO r_interactions VALUES (?1, ?2, ?3, ?4)", -1, &st,
                            NULL) == SQLITE_OK;
    for (int i = 0; ok && i < P_RECORDS + 6; i++) {
        const char *customer = T_C1, *campaign = i % 5 == 4 ? P_OTHER : P_CAMPAIGN;
        const char *mod = mods[i % 6];
        int deleted = i % 4 == 1 && i < P_RECORDS;
        p_id(id, i);
        if (i == P_RECORDS) /* no meta.modified */
            mod = NULL;
        else if (i == P_RECORDS + 1) /* a number */
            mod = "#";
        else if (i == P_RECORDS + 2) /* another customer's */
            customer = T_C2;
        if (i >= P_RECORDS + 4) { /* meta.isDeleted null, then missing */
            campaign = P_THIRD;
            mod = "2021-03-04T00:00:00.000Z";
            deleted = i - P_RECORDS - 2;
        }
        p_envelope(env, sizeof(env), i, campaign, mod, deleted);
        if (i == P_RECORDS + 3) /* not JSON */
            snprintf(env, sizeof(env), "{\"id\":\"%s\",\"data\":{\"campaignId\":\"%s\"", id,
                     P_CAMPAIGN);
        ok = sqlite3_bind_text(st, 1, customer, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
             sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
             sqlite3_bind_text(st, 3, env, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
             sqlite3_bind_text(st, 4, mods[i % 6], -1, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_step(st) == SQLITE_DONE && sqlite3_reset(st) == SQLITE_OK;
    }
    sqlite3_finalize(st);
    ok = ok && (!previous_layout || sqlite3_exec(h, P_PREVIOUS_LAYOUT, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h);
    return ok ? 0 : -1;
}

/* GET /v2/interactions?<query>&limit=…&skip=… (filter and sort given
 * unescaped here); the body, or NULL after reporting. *n: items. */
static char *p_page(const srv *s, const char *filter, const char *sort, int limit, int skip,
                    long *n)
{
    char path[4096];
    char *f = curl_easy_escape(NULL, filter ? filter : "", 0);
    char *o = curl_easy_escape(NULL, sort ? sort : "", 0);
    srv_reply r;
    char *body = NULL;

    snprintf(path, sizeof(path), "/v2/interactions?limit=%d&skip=%d%s%s%s%s", limit, skip,
             filter ? "&filter=" : "", filter ? f : "", sort ? "&sort=" : "", sort ? o : "");
    curl_free(f);
    curl_free(o);
    if (srv_call(&r, s, "GET", path, "t", NULL, NULL, NULL) == 200) {
        body = strdup(r.body);
        *n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "data"));
    } else {
        fprintf(stderr, "    %s: %ld %s\n", path, r.status, r.body);
    }
    srv_reply_free(&r);
    return body;
}

/* Every page of both forms is identical; the total number of items
 * (whole list, one page) is returned, or -1. */
static long p_same(const srv *s, const char *pushed_filter, const char *pushed_sort,
                   const char *scan_filter, const char *scan_sort)
{
    static const int limits[] = {1, 3, 7, 100};
    long total = -1;

    for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
        long seen = 0;
        for (int skip = 0; skip <= P_RECORDS + 5; skip += limits[l]) {
            long n1 = -1, n2 = -1;
            char *a = p_page(s, pushed_filter, pushed_sort, limits[l], skip, &n1);
            char *b = p_page(s, scan_filter, scan_sort, limits[l], skip, &n2);
            int same = a && b && strcmp(a, b) == 0;
            if (!same)
                fprintf(stderr, "    limit %d skip %d:\n      pushed %s\n      scan   %s\n",
                        limits[l], skip, a ? a : "(failed)", b ? b : "(failed)");
            free(a);
            free(b);
            if (!same)
                return -1;
            seen += n1;
        }
        if (total >= 0 && seen != total)
            return -1;
        total = seen;
    }
    return total;
}

#define P_IN "/data/campaignId in [\"" P_CAMPAIGN "\"]"
#define P_EQ "/data/campaignId eq \"" P_CAMPAIGN "\""
#define P_NEVER " or /data/campaignId eq \"never\""
#define P_MOD_SORT "[\"/meta/modified\",\"ASC\"]"
#define P_MOD_SORT_SCAN "[\"/meta/modified\",\"ASC\",\"/customerId\",\"ASC\",\"id\",\"ASC\"]"
#define P_ID_SORT_SCAN "[\"/customerId\",\"ASC\",\"id\",\"ASC\"]"
#define P_BOTH "/meta/isDeleted in [true,false]"
#define P_BOTH_SCAN "(/meta/isDeleted in [true,false]" P_NEVER ")"
#define P_PULL_FROM "/meta/modified gte \"2021-03-02T00:00:00.000Z\""

static void p_same_as_scan(const char *name, int previous_layout)
{
    const char *db = wbt_path(name);
    const char *const args[] = {"--db", db, "--token", "t:" T_C1 ":" T_SG1 ":" T_U1, NULL};
    srv s;
    long n;

    WBT_ASSERT(p_seed(db, previous_layout) == 0);
    WBT_ASSERT(srv_start(&s, args) == 0);

    /* campaign, id order (the benchmark's query): 32 of the campaign's
     * records, less the 8 deleted, plus the two odd ones */
    n = p_same(&s, P_EQ, NULL, P_IN, "[\"/customerId\",\"ASC\",\"id\",\"ASC\"]");
    WBT_ASSERT_INT(n, 26);
    /* the same in id DESC */
    WBT_ASSERT_INT(p_same(&s, P_EQ, "[\"id\",\"DESC\"]", P_IN,
                          "[\"/customerId\",\"ASC\",\"id\",\"DESC\"]"),
                   26);
    /* deleted records shown: the filter mentions /meta/isDeleted (kept
     * for the rows SQL returns) */
    WBT_ASSERT_INT(p_same(&s, P_EQ " and " P_BOTH, NULL, P_IN " and " P_BOTH_SCAN,
                          P_ID_SORT_SCAN),
                   34);
    WBT_ASSERT_INT(p_same(&s, P_EQ " and /meta/isDeleted eq true", NULL,
                          P_IN " and (/meta/isDeleted eq true" P_NEVER ")", P_ID_SORT_SCAN),
                   8);
    WBT_ASSERT_INT(p_same(&s, P_EQ " and /meta/isDeleted in [false]", NULL,
                          P_IN " and (/meta/isDeleted in [false]" P_NEVER ")", P_ID_SORT_SCAN),
                   26);
    /* meta.isDeleted null or missing: live, but not a boolean */
    WBT_ASSERT_INT(p_same(&s, "/data/campaignId eq \"" P_THIRD "\"", NULL,
                          "/data/campaignId in [\"" P_THIRD "\"]", P_ID_SORT_SCAN),
                   2);
    WBT_ASSERT_INT(p_same(&s, "/data/campaignId eq \"" P_THIRD "\" and " P_BOTH, NULL,
                          "/data/campaignId in [\"" P_THIRD "\"] and " P_BOTH_SCAN,
                          P_ID_SORT_SCAN),
                   0);
    /* the sync client's pull: a bound on meta.modified, deleted records
     * too, modified order (all of it in SQL) */
    WBT_ASSERT_INT(p_same(&s, P_PULL_FROM " and " P_BOTH,
                          "[\"/meta/modified\",\"ASC\",\"id\",\"ASC\"]",
                          "(" P_PULL_FROM P_NEVER ") and " P_BOTH_SCAN, P_MOD_SORT_SCAN),
                   19);
    /* a term SQL cannot answer: streamed, skip and limit counted after it */
    WBT_ASSERT(p_same(&s, P_EQ " and /data/distance gt 2", NULL, P_IN " and /data/distance gt 2",
                      "[\"/customerId\",\"ASC\",\"id\",\"ASC\"]") > 0);
    /* equal meta.modified values: id decides, pages neither skip nor
     * repeat; bounds of both kinds */
    n = p_same(&s, P_EQ " and /meta/modified gte \"2021-03-01T00:00:00.000Z\"", P_MOD_SORT,
               P_IN " and (/meta/modified gte \"2021-03-01T00:00:00.000Z\"" P_NEVER ")",
               P_MOD_SORT_SCAN);
    WBT_ASSERT_INT(n, 24); /* the two odd ones have no string modified */
    WBT_ASSERT_INT(p_same(&s, "/meta/modified gt \"2021-03-01T00:00:00.000Z\" and "
                              "/meta/modified lte \"2021-03-02T00:00:00.000Z\"",
                          "[\"/meta/modified\",\"DESC\",\"id\",\"DESC\"]",
                          "(/meta/modified gt \"2021-03-01T00:00:00.000Z\" and "
                          "/meta/modified lte \"2021-03-02T00:00:00.000Z\")" P_NEVER,
                          "[\"/meta/modified\",\"DESC\",\"/customerId\",\"ASC\",\"id\",\"DESC\"]"),
                   10);
    WBT_ASSERT_INT(p_same(&s, "/meta/modified lt \"2021-03-03T00:00:00.000Z\"", P_MOD_SORT,
                          "/meta/modified lt \"2021-03-03T00:00:00.000Z\"" P_NEVER,
                          P_MOD_SORT_SCAN),
                   27);
    /* modified order without a bound: a record without a string
     * meta.modified sorts before every string, as the scan has it */
    WBT_ASSERT_INT(p_same(&s, NULL, P_MOD_SORT, NULL, P_MOD_SORT_SCAN), 34);
    WBT_ASSERT_INT(p_same(&s, NULL, NULL, NULL, "[\"/customerId\",\"ASC\",\"id\",\"ASC\"]"), 34);
    /* another customer's record and the unreadable row never show */
    WBT_ASSERT_INT(p_same(&s, "/data/campaignId eq \"" P_OTHER "\"", NULL,
                          "/data/campaignId in [\"" P_OTHER "\"]",
                          "[\"/customerId\",\"ASC\",\"id\",\"ASC\"]"),
                   6);
    WBT_ASSERT_INT(srv_stop(&s), 0);
}

void test_server_pushdown__same_as_scan(void)
{
    p_same_as_scan("pushdown.db", 0);
}

/* The same over a file of the previous layout, whose states and indexes
 * the server brings up to date. */
void test_server_pushdown__same_as_scan_previous_layout(void)
{
    p_same_as_scan("pushdown-previous.db", 1);
}

/* Records written through the server (create, PATCH, DELETE) list the
 * same both ways, before and after a restart on the same file. */
void test_server_pushdown__written_records(void)
{
    const char *db = wbt_path("pushdown-written.db");
    const char *const args[] = {"--db", db, "--token", "t:" T_C1 ":" T_SG1 ":" T_U1, NULL};
    char path[128], h[200], since[32] = "";
    srv s;
    srv_reply r, d;

    WBT_ASSERT(srv_start(&s, args) == 0);
    for (int i = 0; i < 12; i++) {
        WBT_ASSERT_INT(ix_create(&r, &s, "t", i % 3 ? P_CAMPAIGN : P_OTHER, NULL), 201);
        if (i == 5)
            snprintf(since, sizeof(since), "%s", srv_str(r.json, "/meta/modified"));
        if (i % 4 == 0) {
            snprintf(path, sizeof(path), "/v2/interactions/%s", srv_str(r.json, "/id"));
            snprintf(h, sizeof(h), "etag: %s", srv_str(r.json, "/meta/etag"));
            WBT_ASSERT_INT(srv_call(&d, &s, "DELETE", path, "t", NULL, h, NULL), 200);
            srv_reply_free(&d);
        } else if (i % 4 == 1) {
            snprintf(path, sizeof(path), "/v2/interactions/%s", srv_str(r.json, "/id"));
            snprintf(h, sizeof(h), "etag: %s", srv_str(r.json, "/meta/etag"));
            WBT_ASSERT_INT(srv_call(&d, &s, "PATCH", path, "t",
                                    "{\"data\":[{\"op\":\"replace\",\"path\":\"/campaignId\","
                                    "\"value\":\"" P_OTHER "\"}]}",
                                    h, NULL),
                           200);
            srv_reply_free(&d);
        }
        srv_reply_free(&r);
    }
    for (int round = 0; round < 2; round++) {
        char pushed[200], scan[260];
        WBT_ASSERT_INT(p_same(&s, P_EQ, NULL, P_IN, "[\"/customerId\",\"ASC\",\"id\",\"ASC\"]"),
                       4);
        WBT_ASSERT_INT(p_same(&s, "/data/campaignId eq \"" P_OTHER "\"", P_MOD_SORT,
                              "/data/campaignId in [\"" P_OTHER "\"]", P_MOD_SORT_SCAN),
                       5);
        snprintf(pushed, sizeof(pushed), "/meta/modified gte \"%s\"", since);
        snprintf(scan, sizeof(scan), "/meta/modified gte \"%s\"" P_NEVER, since);
        WBT_ASSERT_INT(p_same(&s, pushed, P_MOD_SORT, scan, P_MOD_SORT_SCAN), 6);
        WBT_ASSERT_INT(srv_stop(&s), 0);
        if (round == 0)
            WBT_ASSERT(srv_start(&s, args) == 0);
    }
}
