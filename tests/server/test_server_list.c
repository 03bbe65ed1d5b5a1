/*
 * test_server_list.c - list queries of walkbook-server over HTTP: limit and
 * skip, both sort spellings, both filter forms, every filter operator, bad
 * filters, deleted records, stable pages under equal sort values, and the
 * strictly increasing meta.modified. All records here belong to customer
 * C2 ("admin2"), each case under its own campaign id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "jsonpatch.h"
#include "server_cases.h"
#include "wbtest.h"

#define K_PAGE "0a0a0a0a-0000-4000-8000-00000000000a"
#define K_SORT "0b0b0b0b-0000-4000-8000-00000000000b"
#define K_FORM "0c0c0c0c-0000-4000-8000-00000000000c"
#define K_OPS "0d0d0d0d-0000-4000-8000-00000000000d"
#define K_DEL "0e0e0e0e-0000-4000-8000-00000000000e"
#define K_EQ "0f0f0f0f-0000-4000-8000-00000000000f"

/* GET /vN/interactions?<query> as admin2; the number of items or -1. */
static long list_n(srv_reply *r, int version, const char *query)
{
    char path[6000];
    snprintf(path, sizeof(path), "/v%d/interactions?%s", version, query);
    if (srv_call(r, main_srv(), "GET", path, "admin2", NULL, NULL, NULL) != 200)
        return -1;
    return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r->json, "data"));
}

/* Items matching an expression filter (URL-encoded here). */
static long count_expr(int version, const char *expr)
{
    char q[5000];
    char *esc = curl_easy_escape(NULL, expr, 0);
    srv_reply r;
    long n;
    snprintf(q, sizeof(q), "limit=1000&filter=%s", esc);
    curl_free(esc);
    n = list_n(&r, version, q);
    if (n < 0)
        fprintf(stderr, "    filter %s: %ld %s\n", expr, r.status, r.body);
    srv_reply_free(&r);
    return n;
}

static int create_n(const char *campaign, int n, const char *extra)
{
    srv_reply r;
    for (int i = 0; i < n; i++) {
        long st = ix_create(&r, main_srv(), "admin2", campaign, extra);
        srv_reply_free(&r);
        if (st != 201)
            return -1;
    }
    return 0;
}

void test_server_list__limit_and_skip_errors(void)
{
    static const char *const bad[] = {"", "limit=0", "limit=-1", "limit=abc", "limit=9007199254740992",
                                      "limit=1&skip=-1", "limit=1&skip=x", "limit=1e3"};
    srv_reply r;
    WBT_ASSERT(main_srv() != NULL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        WBT_ASSERT_INT(list_n(&r, 2, bad[i]), -1);
        WBT_ASSERT_INT(r.status, 400);
        WBT_ASSERT(srv_str(r.json, "/message") != NULL);
        srv_reply_free(&r);
    }
    WBT_ASSERT(list_n(&r, 2, "limit=9007199254740991&skip=0&sort=%2Fdata%2Fid&sort=ASC") >= 0);
    WBT_ASSERT(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(r.json, "meta")));
    WBT_ASSERT(strstr(r.body, ",\"meta\":{}}") != NULL);
    srv_reply_free(&r);
}

void test_server_list__paging(void)
{
    srv_reply r;
    char q[512], seen[12][40];
    int n = 0;
    WBT_ASSERT(main_srv() != NULL);
    WBT_ASSERT(create_n(K_PAGE, 11, NULL) == 0);
    for (int skip = 0; skip < 15; skip += 4) {
        long got;
        snprintf(q, sizeof(q), "filter[/data/campaignId]=%s&limit=4&skip=%d&sort=id&sort=ASC",
                 K_PAGE, skip);
        got = list_n(&r, 2, q);
        WBT_ASSERT_INT(got, skip < 8 ? 4 : skip < 12 ? 3 : 0);
        for (long i = 0; i < got && n < 12; i++) {
            char ptr[32];
            snprintf(ptr, sizeof(ptr), "/data/%ld/id", i);
            snprintf(seen[n++], sizeof(seen[0]), "%s", srv_str(r.json, ptr));
        }
        srv_reply_free(&r);
    }
    WBT_ASSERT_INT(n, 11);
    for (int i = 1; i < n; i++)
        WBT_ASSERT(strcmp(seen[i - 1], seen[i]) < 0);
}

void test_server_list__sort_spellings(void)
{
    srv_reply r;
    char q[512];
    const char *ts[] = {"2020-01-02T00:00:00.000Z", "2020-01-01T00:00:00.000Z",
                        "2020-01-03T00:00:00.000Z"};
    WBT_ASSERT(main_srv() != NULL);
    for (int i = 0; i < 3; i++) {
        WBT_ASSERT_INT(srv_call(&r, main_srv(), "POST", "/v2/interactions", "admin2",
                                ix_body(K_SORT, ts[i], 0, NULL), NULL, NULL),
                       201);
        srv_reply_free(&r);
    }
    /* v1 spelling: one JSON array */
    snprintf(q, sizeof(q),
             "limit=10&filter=%%2Fdata%%2FcampaignId%%20eq%%20%%22%s%%22"
             "&sort=%%5B%%22%%2Fdata%%2Ftimestamp%%22%%2C%%22DESC%%22%%5D",
             K_SORT);
    WBT_ASSERT_INT(list_n(&r, 1, q), 3);
    WBT_ASSERT_STR(srv_str(r.json, "/data/0/data/timestamp"), ts[2]);
    WBT_ASSERT_STR(srv_str(r.json, "/data/2/data/timestamp"), ts[1]);
    srv_reply_free(&r);
    /* v2 spelling: repeated parameters, field without its leading slash */
    snprintf(q, sizeof(q), "limit=10&filter[/data/campaignId]=%s&sort=data/timestamp&sort=ASC",
             K_SORT);
    WBT_ASSERT_INT(list_n(&r, 2, q), 3);
    WBT_ASSERT_STR(srv_str(r.json, "/data/0/data/timestamp"), ts[1]);
    WBT_ASSERT_STR(srv_str(r.json, "/data/2/data/timestamp"), ts[2]);
    srv_reply_free(&r);
    /* bad sorts */
    WBT_ASSERT_INT(list_n(&r, 2, "limit=1&sort=id&sort=SIDEWAYS"), -1);
    WBT_ASSERT_INT(r.status, 400);
    srv_reply_free(&r);
    WBT_ASSERT_INT(list_n(&r, 2, "limit=1&sort=%5B%22id%22"), -1);
    WBT_ASSERT_INT(r.status, 400);
    srv_reply_free(&r);
}

void test_server_list__filter_forms(void)
{
    srv_reply r;
    char q[512];
    WBT_ASSERT(main_srv() != NULL);
    WBT_ASSERT(create_n(K_FORM, 2, NULL) == 0);
    WBT_ASSERT(create_n(K_FORM, 1, ",\"successful\":true") == 0);
    for (int v = 1; v <= 2; v++) {
        snprintf(q, sizeof(q), "limit=10&filter%%5B%%2Fdata%%2FcampaignId%%5D=%s", K_FORM);
        WBT_ASSERT_INT(list_n(&r, v, q), 3);
        srv_reply_free(&r);
        /* expression form with + for spaces */
        snprintf(q, sizeof(q), "limit=10&filter=/data/campaignId+eq+%%22%s%%22", K_FORM);
        WBT_ASSERT_INT(list_n(&r, v, q), 3);
        srv_reply_free(&r);
        /* both forms together: and */
        snprintf(q, sizeof(q),
                 "limit=10&filter[/data/campaignId]=%s&filter=/data/successful+eq+true", K_FORM);
        WBT_ASSERT_INT(list_n(&r, v, q), 1);
        srv_reply_free(&r);
    }
    /* another customer sees none of them */
    snprintf(q, sizeof(q), "/v2/interactions?limit=10&filter[/data/campaignId]=%s", K_FORM);
    WBT_ASSERT_INT(srv_call(&r, main_srv(), "GET", q, "admin1", NULL, NULL, NULL), 200);
    WBT_ASSERT_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "data")), 0);
    srv_reply_free(&r);
}

void test_server_list__filter_operators(void)
{
    static const struct {
        const char *expr;
        long want;
    } ops[] = {
        {"/data/distance eq 3", 1},
        {"/data/distance neq 3", 4},
        {"/data/distance gt 3", 2},
        {"/data/distance gte 3", 3},
        {"/data/distance lt 3", 2},
        {"/data/distance lte 3", 3},
        {"/data/distance in [1,5,7]", 2},
        {"/data/distance nin [1,5]", 3},
        {"/data/distance between 2,4", 3},
        {"/data/unavailableReason like \"Come*\"", 2},
        {"/data/unavailableReason eq \"Not Home\"", 1},
        {"(/data/distance lt 2 or /data/distance gt 4) and /data/unavailable eq false", 2},
        {"/data/distance eq 1 or /data/distance eq 2 and /data/distance eq 3", 1},
        {"/meta/modified gte \"2000-01-01T00:00:00.000Z\"", 5},
        {"/meta/createdBy eq \"" T_U3 "\"", 5},
    };
    static const char *const reasons[] = {"\"Come Back\"", "\"Come Later\"", "\"Not Home\"",
                                          "null", "\"Moved\""};
    char extra[200], expr[600];
    WBT_ASSERT(main_srv() != NULL);
    for (int i = 0; i < 5; i++) {
        snprintf(extra, sizeof(extra), ",\"distance\":%d,\"unavailableReason\":%s", i + 1,
                 reasons[i]);
        WBT_ASSERT(create_n(K_OPS, 1, extra) == 0);
    }
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        long got;
        snprintf(expr, sizeof(expr), "/data/campaignId eq \"%s\" and (%s)", K_OPS, ops[i].expr);
        got = count_expr(i % 2 ? 1 : 2, expr);
        if (got != ops[i].want)
            WBT_FAIL("%s: %ld items, expected %ld", ops[i].expr, got, ops[i].want);
    }
    /* nil: the record whose reason is null is among the matches, the
     * "Come Back" one is not */
    snprintf(expr, sizeof(expr),
             "/data/campaignId eq \"%s\" and /data/unavailableReason eq nil and /data/distance eq 4",
             K_OPS);
    WBT_ASSERT_INT(count_expr(2, expr), 1);
    snprintf(expr, sizeof(expr),
             "/data/campaignId eq \"%s\" and /data/unavailableReason eq nil and /data/distance eq 1",
             K_OPS);
    WBT_ASSERT_INT(count_expr(2, expr), 0);
}

void test_server_list__bad_filter(void)
{
    static const char *const bad[] = {"/data/distance equals 3", "(/data/distance eq 3",
                                      "/data/distance eq", "/data/x eq \"unterminated",
                                      "/data/distance between 1"};
    char q[600];
    srv_reply r;
    WBT_ASSERT(main_srv() != NULL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *esc = curl_easy_escape(NULL, bad[i], 0);
        snprintf(q, sizeof(q), "limit=5&filter=%s", esc);
        curl_free(esc);
        WBT_ASSERT_INT(list_n(&r, 1 + (int)(i % 2), q), -1);
        if (r.status != 400)
            WBT_FAIL("%s: status %ld", bad[i], r.status);
        WBT_ASSERT_STR(srv_str(r.json, "/name"), "BadRequestError");
        WBT_ASSERT_CONTAINS(srv_str(r.json, "/message"), "filter");
        srv_reply_free(&r);
    }
    WBT_ASSERT_INT(list_n(&r, 2, "limit=5&filter=a&filter=b"), -1);
    WBT_ASSERT_INT(r.status, 400);
    srv_reply_free(&r);
}

void test_server_list__deleted_only_on_request(void)
{
    srv_reply c, d;
    char path[128], h[200], expr[300];
    WBT_ASSERT(main_srv() != NULL);
    WBT_ASSERT(create_n(K_DEL, 2, NULL) == 0);
    WBT_ASSERT_INT(ix_create(&c, main_srv(), "admin2", K_DEL, NULL), 201);
    snprintf(path, sizeof(path), "/v2/interactions/%s", srv_str(c.json, "/id"));
    snprintf(h, sizeof(h), "etag: %s", srv_str(c.json, "/meta/etag"));
    WBT_ASSERT_INT(srv_call(&d, main_srv(), "DELETE", path, "admin2", NULL, h, NULL), 200);
    srv_reply_free(&d);
    srv_reply_free(&c);
    snprintf(expr, sizeof(expr), "/data/campaignId eq \"%s\"", K_DEL);
    WBT_ASSERT_INT(count_expr(2, expr), 2);
    snprintf(expr, sizeof(expr), "/data/campaignId eq \"%s\" and /meta/isDeleted in [true,false]",
             K_DEL);
    WBT_ASSERT_INT(count_expr(1, expr), 3);
    snprintf(expr, sizeof(expr), "/data/campaignId eq \"%s\" and /meta/isDeleted eq true", K_DEL);
    WBT_ASSERT_INT(count_expr(2, expr), 1);
}

/* 23 records share every sort value but id: pages of 5 sorted by that
 * value (and by modified then id) must cover each record exactly once. */
void test_server_list__stable_pages_with_equal_values(void)
{
    static const char *const sorts[] = {
        "sort=%2Fdata%2FcampaignId&sort=ASC",
        "sort=%5B%22%2Fmeta%2Fmodified%22%2C%22ASC%22%2C%22id%22%2C%22ASC%22%5D",
        "sort=data%2Ftimestamp&sort=DESC"};
    char q[600], ids[30][40];
    srv_reply r;
    WBT_ASSERT(main_srv() != NULL);
    WBT_ASSERT(create_n(K_EQ, 23, NULL) == 0);
    for (size_t s = 0; s < sizeof(sorts) / sizeof(sorts[0]); s++) {
        int n = 0;
        for (int skip = 0; skip < 30; skip += 5) {
            long got;
            snprintf(q, sizeof(q), "limit=5&skip=%d&filter[/data/campaignId]=%s&%s", skip, K_EQ,
                     sorts[s]);
            got = list_n(&r, 2, q);
            WBT_ASSERT(got >= 0);
            for (long i = 0; i < got && n < 30; i++) {
                char ptr[32];
                snprintf(ptr, sizeof(ptr), "/data/%ld/id", i);
                snprintf(ids[n++], sizeof(ids[0]), "%s", srv_str(r.json, ptr));
            }
            srv_reply_free(&r);
        }
        WBT_ASSERT_INT(n, 23);
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                if (strcmp(ids[i], ids[j]) == 0)
                    WBT_FAIL("sort %zu: %s repeated", s, ids[i]);
        if (s != 1) /* equal values: id ASC decides */
            for (int i = 1; i < n; i++)
                WBT_ASSERT(strcmp(ids[i - 1], ids[i]) < 0);
    }
}

void test_server_list__modified_strictly_increases(void)
{
    char prev[32] = "";
    srv_reply r;
    WBT_ASSERT(main_srv() != NULL);
    for (int i = 0; i < 40; i++) { /* many writes within one millisecond */
        WBT_ASSERT_INT(ix_create(&r, main_srv(), "admin2", K_EQ, NULL), 201);
        if (strcmp(srv_str(r.json, "/meta/modified"), prev) <= 0)
            WBT_FAIL("modified %s after %s", srv_str(r.json, "/meta/modified"), prev);
        snprintf(prev, sizeof(prev), "%s", srv_str(r.json, "/meta/modified"));
        WBT_ASSERT_STR(srv_str(r.json, "/meta/created"), prev);
        srv_reply_free(&r);
    }
}
