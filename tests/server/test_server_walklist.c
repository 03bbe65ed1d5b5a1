/*
 * test_server_walklist.c - the walk-list routes and --seed-demo through real
 * HTTP on 127.0.0.1: every read route's 200/400/404, paging, sorting and
 * filters on households and contacts, incremental pulls on meta.modified,
 * the list's contact-households with embedded coordinates, tenancy,
 * reproducibility of the seed, server-computed distance against a seeded
 * household, find-or-create and soft deletes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "etag.h"
#include "jsonpatch.h"
#include "seed.h"
#include "server_client.h"
#include "wbtest.h"

#define TOK WBS_SEED_TOKEN
#define CANV WBS_SEED_CANVASSER_TOKEN
#define OTHER_C "0face000-0000-4000-8000-000000000001"
#define OTHER_SG "0face000-0000-4000-8000-000000000002"
#define OTHER_U "0face000-0000-4000-8000-000000000003"
#define N_HH 50
#define NO_SUCH "6f1c2b4a-0000-4000-8000-00000000dead"

static srv seeded;

static const srv *seeded_srv(void)
{
    static const char *const args[] = {"--seed-demo", "--seed", "7", "--seed-households", "50",
                                       "--token", "other:" OTHER_C ":" OTHER_SG ":" OTHER_U,
                                       NULL};
    if (!seeded.pid && srv_start(&seeded, args) < 0)
        return NULL;
    return &seeded;
}

static void setup(void)
{
    if (wb__global_init() < 0) {
        fprintf(stderr, "cannot initialise walkbook\n");
        exit(2);
    }
}

static int page_len(const srv_reply *r)
{
    return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r->json, "data"));
}

static const cJSON *page_item(const srv_reply *r, int i)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r->json, "data"), i);
}

/* GET with a query built from parts; the filter is URL-encoded here. */
static long get_list(srv_reply *r, const srv *s, const char *token, const char *base,
                     const char *filter, const char *rest)
{
    char path[2048];
    size_t n = (size_t)snprintf(path, sizeof(path), "%s?limit=1000%s", base, rest ? rest : "");
    if (filter) {
        n += (size_t)snprintf(path + n, sizeof(path) - n, "&filter=");
        for (const unsigned char *p = (const unsigned char *)filter; *p && n + 4 < sizeof(path);
             p++) {
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                *p == '-' || *p == '.' || *p == '_')
                path[n++] = (char)*p;
            else
                n += (size_t)snprintf(path + n, sizeof(path) - n, "%%%02X", *p);
        }
        path[n] = '\0';
    }
    return srv_call(r, s, "GET", path, token, NULL, NULL, NULL);
}

/* ---- every read route ------------------------------------------------------ */

static void test_server_walklist__routes_200_400_404(void)
{
    static const char *const bases[] = {"/v1/campaigns", "/v1/surveys",  "/v1/lists",
                                        "/v2/households", "/v2/contacts", "/v1/statuses"};
    static const char *const resources[] = {"campaigns", "surveys", "lists",
                                            "households", "contacts", "statuses"};
    const srv *s = seeded_srv();
    WBT_ASSERT(s != NULL);
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        srv_reply l, g;
        char path[160], etag[WBS_ETAG_MAX];
        const cJSON *first;
        WBT_ASSERT_INT(get_list(&l, s, TOK, bases[i], NULL, NULL), 200);
        WBT_ASSERT(page_len(&l) >= 1);
        first = page_item(&l, 0);
        WBT_ASSERT_STR(srv_str(first, "/meta/resource"), resources[i]);
        WBT_ASSERT_STR(srv_str(first, "/customerId"), WBS_SEED_CUSTOMER);
        /* stored with an etag by the recipe */
        WBT_ASSERT(wbs_etag_recompute(etag, first) == 0);
        WBT_ASSERT_STR(srv_str(first, "/meta/etag"), etag);
        snprintf(path, sizeof(path), "%s/%s", bases[i], srv_str(first, "/id"));
        WBT_ASSERT_INT(srv_call(&g, s, "GET", path, TOK, NULL, NULL, NULL), 200);
        WBT_ASSERT(wb_json__equal(g.json, first));
        srv_reply_free(&g);
        srv_reply_free(&l);
        snprintf(path, sizeof(path), "%s/%s", bases[i], NO_SUCH);
        WBT_ASSERT_INT(srv_call(&g, s, "GET", path, TOK, NULL, NULL, NULL), 404);
        srv_reply_free(&g);
        snprintf(path, sizeof(path), "%s/not-a-uuid", bases[i]);
        WBT_ASSERT_INT(srv_call(&g, s, "GET", path, TOK, NULL, NULL, NULL), 400);
        srv_reply_free(&g);
        WBT_ASSERT_INT(srv_call(&g, s, "GET", bases[i], NULL, NULL, NULL, NULL), 401);
        srv_reply_free(&g);
        WBT_ASSERT_INT(srv_call(&g, s, "GET", bases[i], TOK, NULL, NULL, NULL), 400); /* no limit */
        srv_reply_free(&g);
    }
}

static void test_server_walklist__seed_contents(void)
{
    const srv *s = seeded_srv();
    srv_reply r;
    const cJSON *q, *item;
    static const char *const types[] = {"availability", "multi-choice", "scale", "text"};
    char campaign[37], list[37];
    long contacts;
    int i = 0;

    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(get_list(&r, s, TOK, "/v1/campaigns", NULL, NULL), 200);
    WBT_ASSERT_INT(page_len(&r), 1);
    item = page_item(&r, 0);
    WBT_ASSERT_STR(srv_str(item, "/data/name"), "Demo canvass");
    WBT_ASSERT_STR(srv_str(item, "/data/status"), "started");
    WBT_ASSERT(srv_str(item, "/data/organizationId") != NULL);
    snprintf(campaign, sizeof(campaign), "%s", srv_str(item, "/id"));
    snprintf(list, sizeof(list), "%s", srv_str(item, "/data/lists/0/listId"));
    srv_reply_free(&r);

    WBT_ASSERT_INT(get_list(&r, s, TOK, "/v1/surveys", "/data/campaignId eq \"", NULL), 400);
    srv_reply_free(&r);
    {
        char f[128];
        snprintf(f, sizeof(f), "/data/campaignId eq \"%s\"", campaign);
        WBT_ASSERT_INT(get_list(&r, s, TOK, "/v1/surveys", f, NULL), 200);
    }
    WBT_ASSERT_INT(page_len(&r), 1);
    cJSON_ArrayForEach(q, wb_jsonptr__get(page_item(&r, 0), "/data/questions"))
    {
        WBT_ASSERT(i < 4);
        WBT_ASSERT_STR(srv_str(q, "/type"), types[i]);
        WBT_ASSERT(srv_str(q, "/questionId") && srv_str(q, "/text") && srv_str(q, "/tag"));
        WBT_ASSERT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(q, "options")) >= 2);
        i++;
    }
    WBT_ASSERT_INT(i, 4);
    srv_reply_free(&r);

    WBT_ASSERT_INT(get_list(&r, s, TOK, "/v2/households", NULL, NULL), 200);
    WBT_ASSERT_INT(page_len(&r), N_HH);
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(r.json, "data"))
    {
        const cJSON *lat = wb_jsonptr__get(item, "/data/address/data/coords/lat");
        const cJSON *lng = wb_jsonptr__get(item, "/data/address/data/coords/lng");
        WBT_ASSERT(cJSON_IsNumber(lat) && fabs(lat->valuedouble - 42.3736) < 0.02);
        WBT_ASSERT(cJSON_IsNumber(lng) && fabs(lng->valuedouble + 71.1097) < 0.02);
        WBT_ASSERT_STR(srv_str(item, "/data/address/data/city"), "Cambridge");
        WBT_ASSERT(srv_str(item, "/data/address/data/streetName") != NULL);
        WBT_ASSERT(srv_str(item, "/data/unitNum") != NULL);
        WBT_ASSERT_STR(srv_str(item, "/meta/created"), srv_str(item, "/meta/modified"));
    }
    srv_reply_free(&r);

    WBT_ASSERT_INT(get_list(&r, s, TOK, "/v1/lists", NULL, NULL), 200);
    WBT_ASSERT_INT(page_len(&r), 1);
    WBT_ASSERT_STR(srv_str(page_item(&r, 0), "/id"), list);
    contacts = (long)cJSON_GetObjectItemCaseSensitive(page_item(&r, 0), "contactsCount")->valuedouble;
    srv_reply_free(&r);
    WBT_ASSERT(contacts >= N_HH && contacts <= 2 * N_HH);
    WBT_ASSERT_INT(get_list(&r, s, TOK, "/v2/contacts", NULL, NULL), 200);
    WBT_ASSERT_INT(page_len(&r), contacts);
    srv_reply_free(&r);
    WBT_ASSERT_INT(get_list(&r, s, TOK, "/v1/statuses", NULL, NULL), 200);
    WBT_ASSERT(page_len(&r) >= 3);
    WBT_ASSERT(srv_str(page_item(&r, 0), "/data/contactState") != NULL);
    srv_reply_free(&r);
}

/* ---- paging, sorting, filters --------------------------------------------- */

static void test_server_walklist__households_paging_sort_filter(void)
{
    const srv *s = seeded_srv();
    srv_reply all, pg, f;
    const char *prev = NULL;
    int got = 0;

    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(get_list(&all, s, TOK, "/v2/households", NULL,
                            "&sort=/data/address/data/streetName&sort=DESC"),
                   200);
    WBT_ASSERT_INT(page_len(&all), N_HH);
    for (int i = 0; i < N_HH; i++) {
        const char *st = srv_str(page_item(&all, i), "/data/address/data/streetName");
        WBT_ASSERT(st != NULL);
        WBT_ASSERT(!prev || strcmp(prev, st) >= 0);
        prev = st;
    }
    /* pages of 7 with skip, v1 sort spelling, reassemble the same order */
    for (int skip = 0; skip < N_HH + 7; skip += 7) {
        char path[256];
        snprintf(path, sizeof(path),
                 "/v2/households?limit=7&skip=%d&sort=%%5B%%22data%%2Faddress%%2Fdata%%2F"
                 "streetName%%22%%2C%%22DESC%%22%%5D",
                 skip);
        WBT_ASSERT_INT(srv_call(&pg, s, "GET", path, TOK, NULL, NULL, NULL), 200);
        for (int i = 0; i < page_len(&pg); i++)
            WBT_ASSERT_STR(srv_str(page_item(&pg, i), "/id"), srv_str(page_item(&all, skip + i), "/id"));
        got += page_len(&pg);
        WBT_ASSERT(page_len(&pg) <= 7);
        srv_reply_free(&pg);
    }
    WBT_ASSERT_INT(got, N_HH);

    /* expression filter, bracket filter, like */
    WBT_ASSERT_INT(get_list(&f, s, TOK, "/v2/households",
                            "/data/address/data/streetName eq \"Broadway\"", NULL),
                   200);
    WBT_ASSERT(page_len(&f) >= 2);
    for (int i = 0; i < page_len(&f); i++)
        WBT_ASSERT_STR(srv_str(page_item(&f, i), "/data/address/data/streetName"), "Broadway");
    got = page_len(&f);
    srv_reply_free(&f);
    WBT_ASSERT_INT(srv_call(&f, s, "GET",
                            "/v2/households?limit=100&filter%5B%2Fdata%2Faddress%2Fdata%2F"
                            "streetName%5D=Broadway",
                            TOK, NULL, NULL, NULL),
                   200);
    WBT_ASSERT_INT(page_len(&f), got);
    srv_reply_free(&f);
    WBT_ASSERT_INT(get_list(&f, s, TOK, "/v2/households",
                            "/data/address/data/streetName like \"*Street\" and "
                            "/data/address/data/coords/lat gt 42.3736",
                            NULL),
                   200);
    WBT_ASSERT(page_len(&f) >= 1 && page_len(&f) < N_HH);
    for (int i = 0; i < page_len(&f); i++)
        WBT_ASSERT(wb_jsonptr__get(page_item(&f, i), "/data/address/data/coords/lat")->valuedouble >
                   42.3736);
    srv_reply_free(&f);
    WBT_ASSERT_INT(get_list(&f, s, TOK, "/v2/households", "/data/address eq", NULL), 400);
    srv_reply_free(&f);
    srv_reply_free(&all);
}

static void test_server_walklist__contacts_sort_filter(void)
{
    const srv *s = seeded_srv();
    srv_reply all, f;
    char surname[64], filter[160];
    const char *prev = NULL;

    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(get_list(&all, s, TOK, "/v2/contacts", NULL,
                            "&sort=/data/profile/name/anglican/given&sort=ASC"),
                   200);
    for (int i = 0; i < page_len(&all); i++) {
        const char *g = srv_str(page_item(&all, i), "/data/profile/name/anglican/given");
        WBT_ASSERT(g != NULL && (!prev || strcmp(prev, g) <= 0));
        WBT_ASSERT(srv_str(page_item(&all, i), "/data/primaryHouseholdId") != NULL);
        prev = g;
    }
    snprintf(surname, sizeof(surname), "%s",
             srv_str(page_item(&all, 0), "/data/profile/name/anglican/surname"));
    snprintf(filter, sizeof(filter), "/data/profile/name/anglican/surname eq \"%s\"", surname);
    WBT_ASSERT_INT(get_list(&f, s, TOK, "/v2/contacts", filter, NULL), 200);
    WBT_ASSERT(page_len(&f) >= 1 && page_len(&f) < page_len(&all));
    for (int i = 0; i < page_len(&f); i++)
        WBT_ASSERT_STR(srv_str(page_item(&f, i), "/data/profile/name/anglican/surname"), surname);
    srv_reply_free(&f);
    WBT_ASSERT_INT(srv_call(&f, s, "GET", "/v2/contacts?limit=3&skip=2", TOK, NULL, NULL, NULL),
                   200);
    WBT_ASSERT_INT(page_len(&f), 3);
    srv_reply_free(&f);
    srv_reply_free(&all);
}

/* ---- incremental pulls ----------------------------------------------------- */

static void test_server_walklist__incremental_modified(void)
{
    const srv *s = seeded_srv();
    srv_reply all, f, c;
    char filter[128], since[32], body[512];

    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(get_list(&all, s, TOK, "/v2/households", NULL,
                            "&sort=/meta/modified&sort=ASC"),
                   200);
    WBT_ASSERT_INT(page_len(&all), N_HH);
    /* records made by the seed: strictly increasing modified */
    snprintf(since, sizeof(since), "%s", srv_str(page_item(&all, 39), "/meta/modified"));
    WBT_ASSERT(strcmp(srv_str(page_item(&all, 38), "/meta/modified"), since) < 0);
    snprintf(filter, sizeof(filter), "/meta/modified gte \"%s\"", since);
    WBT_ASSERT_INT(get_list(&f, s, TOK, "/v2/households", filter, NULL), 200);
    WBT_ASSERT_INT(page_len(&f), N_HH - 39);
    srv_reply_free(&f);

    /* a household made now shows in a pull from the newest seeded time */
    snprintf(since, sizeof(since), "%s", srv_str(page_item(&all, N_HH - 1), "/meta/modified"));
    snprintf(body, sizeof(body),
             "{\"data\":{\"unitNum\":\"\",\"address\":{\"data\":{\"number\":\"7\","
             "\"streetName\":\"Incremental Way\",\"city\":\"Cambridge\",\"coords\":"
             "{\"lat\":42.37,\"lng\":-71.11}}}}}");
    WBT_ASSERT_INT(srv_call(&c, s, "POST", "/v2/households", TOK, body, NULL, NULL), 201);
    snprintf(filter, sizeof(filter), "/meta/modified gt \"%s\"", since);
    WBT_ASSERT_INT(get_list(&f, s, TOK, "/v2/households", filter, NULL), 200);
    WBT_ASSERT(page_len(&f) >= 1);
    {
        int found = 0;
        for (int i = 0; i < page_len(&f); i++)
            found |= strcmp(srv_str(page_item(&f, i), "/id"), srv_str(c.json, "/id")) == 0;
        WBT_ASSERT(found);
    }
    srv_reply_free(&f);
    srv_reply_free(&c);
    srv_reply_free(&all);
}

/* ---- the list's contact-households ----------------------------------------- */

static void test_server_walklist__list_contact_households(void)
{
    const srv *s = seeded_srv();
    srv_reply l, r, g;
    char path[200], list[37];
    long count;
    const cJSON *item;

    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(get_list(&l, s, TOK, "/v1/lists", NULL, NULL), 200);
    snprintf(list, sizeof(list), "%s", srv_str(page_item(&l, 0), "/id"));
    count = (long)cJSON_GetObjectItemCaseSensitive(page_item(&l, 0), "contactsCount")->valuedouble;
    srv_reply_free(&l);
    snprintf(path, sizeof(path), "/v1/lists/%s/contact-households", list);
    WBT_ASSERT_INT(get_list(&r, s, TOK, path, NULL, NULL), 200);
    WBT_ASSERT_INT(page_len(&r), count);
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(r.json, "data"))
    {
        const cJSON *lat = wb_jsonptr__get(item, "/data/household/data/address/data/coords/lat");
        WBT_ASSERT_STR(srv_str(item, "/meta/resource"), "contact-households");
        WBT_ASSERT_STR(srv_str(item, "/data/contact/meta/resource"), "contacts");
        WBT_ASSERT_STR(srv_str(item, "/data/household/meta/resource"), "households");
        WBT_ASSERT(cJSON_IsNumber(lat));
        WBT_ASSERT(srv_str(item, "/data/contact/data/profile/name/anglican/given") != NULL);
        WBT_ASSERT_STR(srv_str(item, "/data/contact/data/primaryHouseholdId"),
                       srv_str(item, "/data/household/id"));
    }
    /* the embedded household is the stored one, verbatim */
    snprintf(path, sizeof(path), "/v2/households/%s",
             srv_str(page_item(&r, 0), "/data/household/id"));
    WBT_ASSERT_INT(srv_call(&g, s, "GET", path, TOK, NULL, NULL, NULL), 200);
    WBT_ASSERT(wb_json__equal(g.json, wb_jsonptr__get(page_item(&r, 0), "/data/household")));
    srv_reply_free(&g);
    srv_reply_free(&r);

    /* paging and sort by an embedded field */
    snprintf(path, sizeof(path),
             "/v1/lists/%s/contact-households?limit=5&skip=5&sort=%%2Fdata%%2Fcontact%%2Fdata"
             "%%2Fprofile%%2Fname%%2Fanglican%%2Fgiven&sort=ASC",
             list);
    WBT_ASSERT_INT(srv_call(&r, s, "GET", path, TOK, NULL, NULL, NULL), 200);
    WBT_ASSERT_INT(page_len(&r), 5);
    for (int i = 1; i < 5; i++)
        WBT_ASSERT(strcmp(srv_str(page_item(&r, i - 1), "/data/contact/data/profile/name/anglican/given"),
                          srv_str(page_item(&r, i), "/data/contact/data/profile/name/anglican/given")) <= 0);
    srv_reply_free(&r);

    snprintf(path, sizeof(path), "/v1/lists/%s/contact-households?limit=5", NO_SUCH);
    WBT_ASSERT_INT(srv_call(&r, s, "GET", path, TOK, NULL, NULL, NULL), 404);
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_call(&r, s, "GET", "/v1/lists/xyz/contact-households?limit=5", TOK, NULL,
                            NULL, NULL),
                   400);
    srv_reply_free(&r);
    snprintf(path, sizeof(path), "/v1/lists/%s/contact-households", list);
    WBT_ASSERT_INT(srv_call(&r, s, "GET", path, TOK, NULL, NULL, NULL), 400); /* no limit */
    srv_reply_free(&r);
}

/* ---- tenancy ----------------------------------------------------------------- */

static void test_server_walklist__tenancy(void)
{
    const srv *s = seeded_srv();
    srv_reply r, g;
    char path[200], hh[37], list[37];

    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(get_list(&r, s, TOK, "/v2/households", NULL, NULL), 200);
    snprintf(hh, sizeof(hh), "%s", srv_str(page_item(&r, 0), "/id"));
    srv_reply_free(&r);
    WBT_ASSERT_INT(get_list(&r, s, TOK, "/v1/lists", NULL, NULL), 200);
    snprintf(list, sizeof(list), "%s", srv_str(page_item(&r, 0), "/id"));
    srv_reply_free(&r);

    snprintf(path, sizeof(path), "/v2/households/%s", hh);
    WBT_ASSERT_INT(srv_call(&g, s, "GET", path, "other", NULL, NULL, NULL), 404);
    srv_reply_free(&g);
    WBT_ASSERT_INT(srv_call(&g, s, "GET", path, CANV, NULL, NULL, NULL), 200);
    srv_reply_free(&g);
    WBT_ASSERT_INT(get_list(&g, s, "other", "/v2/households", NULL, NULL), 200);
    WBT_ASSERT_INT(page_len(&g), 0);
    srv_reply_free(&g);
    WBT_ASSERT_INT(get_list(&g, s, "other", "/v1/campaigns", NULL, NULL), 200);
    WBT_ASSERT_INT(page_len(&g), 0);
    srv_reply_free(&g);
    snprintf(path, sizeof(path), "/v1/lists/%s/contact-households", list);
    WBT_ASSERT_INT(get_list(&g, s, "other", path, NULL, NULL), 404);
    srv_reply_free(&g);
    WBT_ASSERT_INT(get_list(&g, s, "nobody", "/v2/contacts", NULL, NULL), 401);
    srv_reply_free(&g);
}

/* ---- reproducibility --------------------------------------------------------- */

static void test_server_walklist__same_seed_same_records(void)
{
    static const char *const same[] = {"--seed-demo", "--seed", "7", "--seed-households", "50",
                                       NULL};
    static const char *const fewer[] = {"--seed-demo", "--seed", "7", "--seed-households", "10",
                                        NULL};
    static const char *const other[] = {"--seed-demo", "--seed", "8", "--seed-households", "50",
                                        NULL};
    const srv *s = seeded_srv();
    srv s2, s3, s4;
    srv_reply a, b, c, d;
    const char *seed_end = "&filter=%2Fmeta%2Fmodified%20lt%20%222025-01-01T00%3A00%3A00.000Z%22";

    WBT_ASSERT(s != NULL);
    WBT_ASSERT(srv_start(&s2, same) == 0);
    WBT_ASSERT(srv_start(&s3, fewer) == 0);
    WBT_ASSERT(srv_start(&s4, other) == 0);
    /* other cases may have added records to the shared server: compare the
     * seeded ones (all made before 2025) */
    WBT_ASSERT_INT(get_list(&a, s, TOK, "/v2/households", NULL, seed_end), 200);
    WBT_ASSERT_INT(get_list(&b, &s2, TOK, "/v2/households", NULL, seed_end), 200);
    WBT_ASSERT_INT(page_len(&a), N_HH);
    WBT_ASSERT_STR(a.body, b.body); /* byte-identical, etags included */
    srv_reply_free(&b);
    WBT_ASSERT_INT(get_list(&b, &s2, TOK, "/v1/surveys", NULL, NULL), 200);
    WBT_ASSERT_INT(get_list(&d, s, TOK, "/v1/surveys", NULL, NULL), 200);
    WBT_ASSERT_STR(b.body, d.body);
    srv_reply_free(&b);
    srv_reply_free(&d);

    /* household i does not depend on how many were made */
    WBT_ASSERT_INT(get_list(&c, &s3, TOK, "/v2/households", NULL, NULL), 200);
    WBT_ASSERT_INT(page_len(&c), 10);
    for (int i = 0; i < 10; i++) {
        int found = 0;
        for (int j = 0; j < N_HH && !found; j++)
            found = wb_json__equal(page_item(&c, i), page_item(&a, j));
        WBT_ASSERT(found);
    }
    srv_reply_free(&c);

    /* another seed, other records */
    WBT_ASSERT_INT(get_list(&d, &s4, TOK, "/v2/households", NULL, NULL), 200);
    WBT_ASSERT_INT(page_len(&d), N_HH);
    WBT_ASSERT(strcmp(srv_str(page_item(&d, 0), "/id"), srv_str(page_item(&a, 0), "/id")) != 0);
    srv_reply_free(&d);
    srv_reply_free(&a);
    WBT_ASSERT_INT(srv_stop(&s2), 0);
    WBT_ASSERT_INT(srv_stop(&s3), 0);
    WBT_ASSERT_INT(srv_stop(&s4), 0);
}

static void test_server_walklist__seed_survives_restart_with_db(void)
{
    const char *db = wbt_path("walklist.db");
    const char *const args[] = {"--db", db, "--seed-demo", "--seed-households", "5", NULL};
    srv s;
    srv_reply r, g;
    char path[200], etag[80];

    WBT_ASSERT(srv_start(&s, args) == 0);
    WBT_ASSERT_INT(get_list(&r, &s, TOK, "/v2/contacts", NULL, NULL), 200);
    WBT_ASSERT(page_len(&r) >= 5);
    snprintf(path, sizeof(path), "/v2/contacts/%s", srv_str(page_item(&r, 0), "/id"));
    snprintf(etag, sizeof(etag), "etag: %s", srv_str(page_item(&r, 0), "/meta/etag"));
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_call(&g, &s, "DELETE", path, TOK, NULL, etag, NULL), 200);
    srv_reply_free(&g);
    WBT_ASSERT_INT(srv_stop(&s), 0);
    /* seeding again leaves the deleted contact deleted */
    WBT_ASSERT(srv_start(&s, args) == 0);
    WBT_ASSERT_INT(srv_call(&g, &s, "GET", path, TOK, NULL, NULL, NULL), 404);
    srv_reply_free(&g);
    WBT_ASSERT_INT(srv_stop(&s), 0);
}

/* ---- distance (G12) against a seeded household ------------------------------ */

static void test_server_walklist__interaction_distance(void)
{
    const srv *s = seeded_srv();
    srv_reply l, c, ix;
    char body[1024], list[37];
    const cJSON *item, *d;
    double lat, lng;

    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(get_list(&l, s, TOK, "/v1/lists", NULL, NULL), 200);
    snprintf(list, sizeof(list), "%s", srv_str(page_item(&l, 0), "/id"));
    srv_reply_free(&l);
    snprintf(body, sizeof(body), "/v1/lists/%s/contact-households", list);
    WBT_ASSERT_INT(get_list(&c, s, TOK, body, NULL, NULL), 200);
    WBT_ASSERT_INT(get_list(&l, s, TOK, "/v1/campaigns", NULL, NULL), 200);
    item = page_item(&c, 0);
    lat = wb_jsonptr__get(item, "/data/household/data/address/data/coords/lat")->valuedouble;
    lng = wb_jsonptr__get(item, "/data/household/data/address/data/coords/lng")->valuedouble;
    /* the canvasser stands 0.01° of latitude north: about 0.69 miles */
    snprintf(body, sizeof(body),
             "{\"campaignId\":\"%s\",\"contactId\":\"%s\",\"householdId\":\"%s\","
             "\"contactHouseholdId\":\"%s\",\"timestamp\":\"2024-03-02T10:00:00.000Z\","
             "\"unavailable\":false,\"survey\":{\"surveyId\":\"%s\"},"
             "\"location\":{\"lat\":%.7f,\"lng\":%.7f,\"confidence\":5}}",
             srv_str(page_item(&l, 0), "/id"), srv_str(item, "/data/contact/id"),
             srv_str(item, "/data/household/id"), srv_str(item, "/id"), NO_SUCH, lat + 0.01, lng);
    WBT_ASSERT_INT(srv_call(&ix, s, "POST", "/v2/interactions", CANV, body, NULL, NULL), 201);
    d = wb_jsonptr__get(ix.json, "/data/distance");
    WBT_ASSERT(cJSON_IsNumber(d));
    WBT_ASSERT(fabs(d->valuedouble - 0.6902) < 0.005);
    srv_reply_free(&ix);
    srv_reply_free(&l);
    srv_reply_free(&c);
}

/* ---- find-or-create and deletes -------------------------------------------- */

static void test_server_walklist__contact_find_or_create(void)
{
    const srv *s = seeded_srv();
    srv_reply l, r;
    char body[1024], hh[37], id[37];
    const cJSON *first;

    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(get_list(&l, s, TOK, "/v2/contacts", "/meta/created lt \"2025\"", NULL), 200);
    first = page_item(&l, 0);
    snprintf(hh, sizeof(hh), "%s", srv_str(first, "/data/primaryHouseholdId"));
    /* identical name fields and household: the existing contact, 200 */
    snprintf(body, sizeof(body),
             "{\"data\":{\"profile\":{\"name\":{\"anglican\":{\"given\":\"%s\",\"surname\":"
             "\"%s\"}}},\"fields\":{},\"primaryHouseholdId\":\"%s\"}}",
             srv_str(first, "/data/profile/name/anglican/given"),
             srv_str(first, "/data/profile/name/anglican/surname"), hh);
    WBT_ASSERT_INT(srv_call(&r, s, "POST", "/v2/contacts", CANV, body, NULL, NULL), 200);
    WBT_ASSERT_STR(srv_str(r.json, "/id"), srv_str(first, "/id"));
    srv_reply_free(&r);
    /* a new name: 201, then the same again: 200 with that one */
    snprintf(body, sizeof(body),
             "{\"data\":{\"profile\":{\"name\":{\"anglican\":{\"given\":\"Zed\",\"middlename\":"
             "\"Q\",\"surname\":\"Newcomer\"}}},\"fields\":{},\"primaryHouseholdId\":\"%s\"},"
             "\"customerId\":\"" WBS_SEED_CUSTOMER "\"}",
             hh);
    WBT_ASSERT_INT(srv_call(&r, s, "POST", "/v2/contacts", TOK, body, NULL, NULL), 201);
    WBT_ASSERT_CONTAINS(r.location, "/v2/contacts/");
    snprintf(id, sizeof(id), "%s", srv_str(r.json, "/id"));
    WBT_ASSERT(strcmp(id, srv_str(first, "/id")) != 0);
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_call(&r, s, "POST", "/v2/contacts", TOK, body, NULL, NULL), 200);
    WBT_ASSERT_STR(srv_str(r.json, "/id"), id);
    srv_reply_free(&r);
    srv_reply_free(&l);
    /* refusals name the field */
    WBT_ASSERT_INT(srv_call(&r, s, "POST", "/v2/contacts", TOK,
                            "{\"data\":{\"profile\":{\"name\":{\"anglican\":{\"given\":\"A\"}}}}}",
                            NULL, NULL),
                   400);
    WBT_ASSERT_CONTAINS(r.body, "surname");
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_call(&r, s, "POST", "/v2/contacts", TOK,
                            "{\"data\":{\"profile\":{\"name\":{\"anglican\":{\"given\":\"A\","
                            "\"surname\":\"B\"}}},\"primaryHouseholdId\":\"" NO_SUCH "\"}}",
                            NULL, NULL),
                   400);
    WBT_ASSERT_CONTAINS(r.body, "primaryHouseholdId");
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_call(&r, s, "POST", "/v2/contacts", TOK, "{\"data\":", NULL, NULL), 400);
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_call(&r, s, "POST", "/v2/contacts", TOK,
                            "{\"data\":{\"profile\":{\"name\":{\"anglican\":{\"given\":\"A\","
                            "\"surname\":\"B\"}}}},\"customerId\":\"" OTHER_C "\"}",
                            NULL, NULL),
                   403);
    srv_reply_free(&r);
}

static void test_server_walklist__household_find_or_create_and_delete(void)
{
    const srv *s = seeded_srv();
    srv_reply l, r, g;
    char body[1024], path[200], etag[80], id[37], filter[128];
    const cJSON *first;

    WBT_ASSERT(s != NULL);
    /* a seeded household (earlier cases add some with random ids) */
    WBT_ASSERT_INT(get_list(&l, s, TOK, "/v2/households", "/meta/created lt \"2025\"", NULL),
                   200);
    first = page_item(&l, 0);
    WBT_ASSERT(srv_str(first, "/data/address/data/postalCode") != NULL);
    /* the same unit at the same address: the existing household */
    snprintf(body, sizeof(body),
             "{\"data\":{\"unitNum\":\"%s\",\"address\":{\"data\":{\"number\":\"%s\","
             "\"streetName\":\"%s\",\"city\":\"Cambridge\",\"postalCode\":\"%s\"}}},"
             "\"customerId\":\"" WBS_SEED_CUSTOMER "\"}",
             srv_str(first, "/data/unitNum"), srv_str(first, "/data/address/data/number"),
             srv_str(first, "/data/address/data/streetName"),
             srv_str(first, "/data/address/data/postalCode"));
    WBT_ASSERT_INT(srv_call(&r, s, "POST", "/v2/households", TOK, body, NULL, NULL), 200);
    WBT_ASSERT_STR(srv_str(r.json, "/id"), srv_str(first, "/id"));
    srv_reply_free(&r);
    srv_reply_free(&l);
    /* a new one gets an address id; its externalId then finds it */
    WBT_ASSERT_INT(srv_call(&r, s, "POST", "/v2/households", TOK,
                            "{\"data\":{\"unitNum\":\"2R\",\"address\":{\"data\":{\"number\":\"99\","
                            "\"streetName\":\"Test Lane\",\"city\":\"Cambridge\"}}},"
                            "\"params\":{\"externalId\":\"ext-1\"}}",
                            NULL, NULL),
                   201);
    WBT_ASSERT(srv_str(r.json, "/data/address/id") != NULL);
    WBT_ASSERT_STR(srv_str(r.json, "/data/externalId"), "ext-1");
    snprintf(id, sizeof(id), "%s", srv_str(r.json, "/id"));
    snprintf(etag, sizeof(etag), "etag: %s", srv_str(r.json, "/meta/etag"));
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_call(&r, s, "POST", "/v2/households", TOK,
                            "{\"data\":{\"unitNum\":\"\",\"addressId\":\"" NO_SUCH "\","
                            "\"externalId\":\"ext-1\"}}",
                            NULL, NULL),
                   200);
    WBT_ASSERT_STR(srv_str(r.json, "/id"), id);
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_call(&r, s, "POST", "/v2/households", TOK,
                            "{\"data\":{\"unitNum\":\"\",\"address\":{\"data\":{\"city\":\"X\"}}}}",
                            NULL, NULL),
                   400);
    WBT_ASSERT_CONTAINS(r.body, "streetName");
    srv_reply_free(&r);

    /* soft delete: admin only, etag required, then hidden unless asked for */
    snprintf(path, sizeof(path), "/v2/households/%s", id);
    WBT_ASSERT_INT(srv_call(&g, s, "DELETE", path, CANV, NULL, etag, NULL), 403);
    srv_reply_free(&g);
    WBT_ASSERT_INT(srv_call(&g, s, "DELETE", path, TOK, NULL, NULL, NULL), 428);
    srv_reply_free(&g);
    WBT_ASSERT_INT(srv_call(&g, s, "DELETE", path, TOK, NULL, etag, NULL), 200);
    WBT_ASSERT(srv_is_true(g.json, "/meta/isDeleted"));
    srv_reply_free(&g);
    WBT_ASSERT_INT(srv_call(&g, s, "GET", path, TOK, NULL, NULL, NULL), 404);
    srv_reply_free(&g);
    snprintf(filter, sizeof(filter), "/id eq \"%s\"", id);
    WBT_ASSERT_INT(get_list(&g, s, TOK, "/v2/households", filter, NULL), 200);
    WBT_ASSERT_INT(page_len(&g), 0);
    srv_reply_free(&g);
    snprintf(filter, sizeof(filter), "/id eq \"%s\" and /meta/isDeleted eq true", id);
    WBT_ASSERT_INT(get_list(&g, s, TOK, "/v2/households", filter, NULL), 200);
    WBT_ASSERT_INT(page_len(&g), 1);
    srv_reply_free(&g);
}

/* A deleted contact drops out of the list's contact-households, and shows
 * as a tombstone to a pull that asks for deleted records. */
static void test_server_walklist__list_entry_of_deleted_contact(void)
{
    const srv *s = seeded_srv();
    srv_reply l, r, g;
    char path[200], cpath[200], etag[80], list[37], filter[160];
    int before;

    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(get_list(&l, s, TOK, "/v1/lists", NULL, NULL), 200);
    snprintf(list, sizeof(list), "%s", srv_str(page_item(&l, 0), "/id"));
    srv_reply_free(&l);
    snprintf(path, sizeof(path), "/v1/lists/%s/contact-households", list);
    WBT_ASSERT_INT(get_list(&r, s, TOK, path, NULL, "&sort=id&sort=DESC"), 200);
    before = page_len(&r);
    snprintf(cpath, sizeof(cpath), "/v2/contacts/%s", srv_str(page_item(&r, 0), "/data/contact/id"));
    snprintf(etag, sizeof(etag), "etag: %s", srv_str(page_item(&r, 0), "/data/contact/meta/etag"));
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_call(&g, s, "DELETE", cpath, TOK, NULL, etag, NULL), 200);
    srv_reply_free(&g);
    WBT_ASSERT_INT(get_list(&r, s, TOK, path, NULL, NULL), 200);
    WBT_ASSERT_INT(page_len(&r), before - 1);
    srv_reply_free(&r);
    snprintf(filter, sizeof(filter), "/meta/isDeleted eq true and /meta/modified gte \"2025\"");
    WBT_ASSERT_INT(get_list(&r, s, TOK, path, filter, NULL), 200);
    WBT_ASSERT_INT(page_len(&r), 1);
    WBT_ASSERT(srv_is_true(page_item(&r, 0), "/data/contact/meta/isDeleted"));
    srv_reply_free(&r);
}

static void test_server_walklist__zz_clean_shutdown(void)
{
    WBT_ASSERT(seeded_srv() != NULL);
    WBT_ASSERT_INT(srv_stop(&seeded), 0);
}

static const wbt_case cases[] = {
    WBT_CASE(test_server_walklist__routes_200_400_404),
    WBT_CASE(test_server_walklist__seed_contents),
    WBT_CASE(test_server_walklist__households_paging_sort_filter),
    WBT_CASE(test_server_walklist__contacts_sort_filter),
    WBT_CASE(test_server_walklist__list_contact_households),
    WBT_CASE(test_server_walklist__tenancy),
    WBT_CASE(test_server_walklist__same_seed_same_records),
    WBT_CASE(test_server_walklist__incremental_modified),
    WBT_CASE(test_server_walklist__interaction_distance),
    WBT_CASE(test_server_walklist__contact_find_or_create),
    WBT_CASE(test_server_walklist__household_find_or_create_and_delete),
    WBT_CASE(test_server_walklist__list_entry_of_deleted_contact),
    WBT_CASE(test_server_walklist__seed_survives_restart_with_db),
    WBT_CASE(test_server_walklist__zz_clean_shutdown),
};

WBT_MAIN(cases, setup, NULL)
