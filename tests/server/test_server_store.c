/*
 * test_server_store.c - walkbook-server with a database file: the
 * server-computed distance from a stored household (G12), and records and
 * the modified clock surviving a restart.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "distance.h"
#include "jsonpatch.h"
#include "server_cases.h"
#include "wbtest.h"

#define HOUSEHOLD "c15e3515-aabf-42da-8d1b-31679f738eae"
#define CAMPAIGN "61fbfbaa-5de8-4d17-ac2b-c47f2376265a"
#define LIST "d276761e-54cb-492b-be7a-3a257dad5903"
#define LIST_HP "ffd8bd17-eafc-45ec-a975-23ecda1fa2e6"

/* The documentation's v2 example: this fix and the coordinates most
 * household examples carry are 936.236034 miles apart on WGS84, which the
 * example shows as 936.2361 (polis-api.md §2.4) and 4-decimal rounding
 * gives as 936.236: the test allows that last-digit difference. */
void test_server_store__distance_unit(void)
{
    cJSON *data = cJSON_Parse("{\"location\":{\"lat\":33.43174362182617,"
                              "\"lng\":-84.18405151367188,\"confidence\":0}}");
    cJSON *hh = cJSON_Parse("{\"id\":\"" HOUSEHOLD "\",\"data\":{\"unitNum\":\"\",\"address\":"
                            "{\"data\":{\"coords\":{\"lat\":42.3795514,\"lng\":-71.2525621,"
                            "\"confidence\":0}}}}}");
    cJSON *kept = cJSON_Parse("{\"distance\":1.5,\"location\":{\"lat\":1,\"lng\":2}}");
    const cJSON *d;
    WBT_ASSERT(data && hh && kept);
    WBT_ASSERT_INT(wbs_distance_fill(data, hh), 1);
    d = cJSON_GetObjectItemCaseSensitive(data, "distance");
    WBT_ASSERT(cJSON_IsNumber(d) && fabs(d->valuedouble - 936.2361) <= 1.01e-4);
    WBT_ASSERT_INT(wbs_distance_fill(kept, hh), 0); /* the client's value stays */
    WBT_ASSERT_INT(wbs_distance_fill(data, NULL), 0);
    cJSON_Delete(data);
    cJSON_Delete(hh);
    cJSON_Delete(kept);
}

static int seed_household(const char *db)
{
    sqlite3 *h = NULL;
    int rc = sqlite3_open(db, &h) == SQLITE_OK &&
             sqlite3_exec(h,
                          "CREATE TABLE r_households (customer TEXT NOT NULL, id TEXT NOT NULL,"
                          " envelope TEXT NOT NULL, modified TEXT NOT NULL,"
                          " PRIMARY KEY (customer, id)) WITHOUT ROWID;"
                          "INSERT INTO r_households VALUES ('" T_C1 "', '" HOUSEHOLD "',"
                          " '{\"id\":\"" HOUSEHOLD "\",\"data\":{\"unitNum\":\"\",\"address\":"
                          "{\"data\":{\"coords\":{\"lat\":42.3795514,\"lng\":-71.2525621,"
                          "\"confidence\":0}}}},\"meta\":{\"etag\":\"\",\"isDeleted\":false}}',"
                          " '2019-01-01T00:00:00.000Z');"
                          "CREATE TABLE r_campaigns (customer TEXT NOT NULL, id TEXT NOT NULL,"
                          " envelope TEXT NOT NULL, modified TEXT NOT NULL,"
                          " PRIMARY KEY (customer, id)) WITHOUT ROWID;"
                          "INSERT INTO r_campaigns VALUES ('" T_C1 "', '" CAMPAIGN "',"
                          " '{\"id\":\"" CAMPAIGN "\",\"data\":{\"name\":\"C\",\"lists\":["
                          "{\"type\":\"high-priority\",\"listId\":\"" LIST_HP "\"},"
                          "{\"type\":\"normal\",\"listId\":\"" LIST "\"}]},"
                          "\"meta\":{\"etag\":\"\",\"isDeleted\":false}}',"
                          " '2019-01-01T00:00:00.000Z');",
                          NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_close(h);
    return rc ? 0 : -1;
}

void test_server_store__db_distance_and_restart(void)
{
    const char *db = wbt_path("server.db");
    const char *const args[] = {"--db", db, "--token", "t:" T_C1 ":" T_SG1 ":" T_U1, NULL};
    const char *loc = ",\"location\":{\"lat\":33.43174362182617,\"lng\":-84.18405151367188,"
                      "\"confidence\":0}";
    char extra[300], path[128], modified[32];
    srv s;
    srv_reply r, g;
    const cJSON *d;

    WBT_ASSERT(seed_household(db) == 0);
    WBT_ASSERT(srv_start(&s, args) == 0);
    WBT_ASSERT_INT(ix_create(&r, &s, "t", "61fbfbaa-5de8-4d17-ac2b-c47f2376265a", loc), 201);
    d = wb_jsonptr__get(r.json, "/data/distance");
    WBT_ASSERT(cJSON_IsNumber(d) && fabs(d->valuedouble - 936.2361) <= 1.01e-4);
    WBT_ASSERT(strstr(r.body, "\"distance\":936.236}") != NULL);
    snprintf(path, sizeof(path), "/v2/interactions/%s", srv_str(r.json, "/id"));
    snprintf(modified, sizeof(modified), "%s", srv_str(r.json, "/meta/modified"));
    srv_reply_free(&r);
    /* a client-sent distance is kept */
    snprintf(extra, sizeof(extra), "%s,\"distance\":0.25", loc);
    WBT_ASSERT_INT(ix_create(&r, &s, "t", "61fbfbaa-5de8-4d17-ac2b-c47f2376265a", extra), 201);
    d = wb_jsonptr__get(r.json, "/data/distance");
    WBT_ASSERT(cJSON_IsNumber(d) && d->valuedouble == 0.25);
    snprintf(modified, sizeof(modified), "%s", srv_str(r.json, "/meta/modified"));
    srv_reply_free(&r);
    /* v1 derives the read-only listId from the campaign (the normal list);
     * v2 has none; nobody may write it */
    WBT_ASSERT_INT(srv_call(&r, &s, "POST", "/v1/interactions", "t",
                            ix_body(CAMPAIGN, NULL, 0, ",\"listId\":\"" LIST_HP "\""), NULL,
                            NULL),
                   201);
    WBT_ASSERT_STR(srv_str(r.json, "/data/listId"), LIST);
    {
        char p1[128], h[200];
        snprintf(p1, sizeof(p1), "/v1/interactions/%s", srv_str(r.json, "/id"));
        snprintf(h, sizeof(h), "etag: %s", srv_str(r.json, "/meta/etag"));
        WBT_ASSERT_INT(srv_call(&g, &s, "PATCH", p1, "t",
                                "{\"data\":[{\"op\":\"replace\",\"path\":\"/listId\","
                                "\"value\":\"" LIST_HP "\"}]}",
                                h, NULL),
                       400);
        WBT_ASSERT_CONTAINS(srv_str(g.json, "/message"), "listId");
        srv_reply_free(&g);
        WBT_ASSERT_INT(srv_call(&g, &s, "PATCH", p1, "t",
                                "{\"data\":[{\"op\":\"remove\",\"path\":\"/data/listId\"}]}",
                                h, NULL),
                       400);
        srv_reply_free(&g);
    }
    srv_reply_free(&r);
    WBT_ASSERT_INT(ix_create(&r, &s, "t", CAMPAIGN, NULL), 201);
    WBT_ASSERT(wb_jsonptr__get(r.json, "/data/listId") == NULL);
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_stop(&s), 0);

    /* restart on the same file: the record is there, the clock moves on */
    WBT_ASSERT(srv_start(&s, args) == 0);
    WBT_ASSERT_INT(srv_call(&g, &s, "GET", path, "t", NULL, NULL, NULL), 200);
    srv_reply_free(&g);
    WBT_ASSERT_INT(ix_create(&r, &s, "t", "61fbfbaa-5de8-4d17-ac2b-c47f2376265a", NULL), 201);
    WBT_ASSERT(strcmp(srv_str(r.json, "/meta/modified"), modified) > 0);
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_stop(&s), 0);
}
