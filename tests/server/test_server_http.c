/*
 * test_server_http.c - walkbook-server through real HTTP on 127.0.0.1:
 * SHA-1 and the etag recipe (unit level), interaction create, get, patch,
 * delete, tenancy, roles, preconditions, malformed input, client ids, the
 * OAuth token route and token expiry. Listing cases: test_server_list.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "etag.h"
#include "json.h"
#include "jsonpatch.h"
#include "server_cases.h"
#include "sha1.h"
#include "uuid.h"
#include "wbtest.h"

#define CAMPAIGN "61fbfbaa-5de8-4d17-ac2b-c47f2376265a"

static srv main_server;

const srv *main_srv(void)
{
    static const char *const args[] = {
        "--token", "admin1:" T_C1 ":" T_SG1 ":" T_U1,
        "--token", "canv1:" T_C1 ":" T_SG1 ":" T_U2 ":canvasser",
        "--token", "admin2:" T_C2 ":" T_SG2 ":" T_U3,
        "--auth-code", "code1:" T_C1 ":" T_SG1 ":" T_U1,
        NULL};
    if (!main_server.pid && srv_start(&main_server, args) < 0)
        return NULL;
    return &main_server;
}

const char *ix_body(const char *campaign, const char *ts, int unavailable, const char *extra)
{
    static char buf[2048];
    snprintf(buf, sizeof(buf),
             "{\"campaignId\":\"%s\",\"contactId\":\"0478dbbf-b6eb-4168-afa9-5ebab6fef4b6\","
             "\"householdId\":\"c15e3515-aabf-42da-8d1b-31679f738eae\","
             "\"contactHouseholdId\":\"d070b1dc-9611-4f29-9300-a32160d21baa\","
             "\"timestamp\":\"%s\",\"unavailable\":%s,"
             "\"survey\":{\"surveyId\":\"375d437b-3b47-4940-b43d-be8daec4afff\"}%s}",
             campaign, ts ? ts : "2018-07-17T18:40:53.526Z", unavailable ? "true" : "false",
             extra ? extra : "");
    return buf;
}

long ix_create(srv_reply *r, const srv *s, const char *token, const char *campaign,
               const char *extra)
{
    return srv_call(r, s, "POST", "/v2/interactions", token, ix_body(campaign, NULL, 0, extra),
                    NULL, NULL);
}

static void setup(void)
{
    if (wb__global_init() < 0) {
        fprintf(stderr, "cannot initialise walkbook\n");
        exit(2);
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- units: SHA-1, number printing, the etag recipe ------------------------ */

static void hex(char *out, const unsigned char *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", in[i]);
}

/* The known answers, with the portable code and (where the processor
 * has them) the SHA instructions; then both agree on every length up to
 * a few blocks. */
static void sha1_known_answers(void);

static void test_server_etag__sha1_known_answers(void)
{
    unsigned char buf[300], a[WBS_SHA1_LEN], b[WBS_SHA1_LEN];
    wbs_sha1_hardware(1);
    sha1_known_answers();
    WBT_ASSERT_INT(wbs_sha1_hardware(0), 0);
    sha1_known_answers();
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i * 131u + 7u);
    for (size_t n = 0; n <= sizeof(buf); n++) {
        wbs_sha1_hardware(0);
        wbs_sha1(a, buf, n);
        wbs_sha1_hardware(1);
        wbs_sha1(b, buf, n);
        WBT_ASSERT(memcmp(a, b, sizeof(a)) == 0);
    }
}

static void sha1_known_answers(void)
{
    static const struct {
        const char *in;
        const char *out;
    } kat[] = {
        {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
    };
    unsigned char d[WBS_SHA1_LEN];
    char h[41];
    wbs_sha1_ctx c;
    char *million = malloc(1000000);

    for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
        wbs_sha1(d, kat[i].in, strlen(kat[i].in));
        hex(h, d, sizeof(d));
        WBT_ASSERT_STR(h, kat[i].out);
    }
    WBT_ASSERT(million != NULL);
    memset(million, 'a', 1000000);
    /* fed in uneven pieces to exercise the block buffer */
    wbs_sha1_init(&c);
    for (size_t off = 0; off < 1000000;) {
        size_t n = 1000000 - off < 997 ? 1000000 - off : 997;
        wbs_sha1_update(&c, million + off, n);
        off += n;
    }
    wbs_sha1_final(&c, d);
    free(million);
    hex(h, d, sizeof(d));
    WBT_ASSERT_STR(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

static void test_server_etag__javascript_numbers(void)
{
    static const struct {
        double d;
        const char *s;
    } cases[] = {{0.0, "0"},         {-0.0, "0"},          {1.0, "1"},
                 {-42.0, "-42"},     {0.1, "0.1"},          {936.2361, "936.2361"},
                 {1e21, "1e+21"},    {1e-7, "1e-7"},        {123e-20, "1.23e-18"},
                 {0.000001, "0.000001"}, {1e20, "100000000000000000000"},
                 {33.43174362182617, "33.43174362182617"}, {-84.18405151367188, "-84.18405151367188"},
                 {5e-324, "5e-324"}, {1.7976931348623157e308, "1.7976931348623157e+308"}};
    char out[WB_JSON_NUMBER_MAX];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wb_json__format_number(out, cases[i].d);
        WBT_ASSERT_STR(out, cases[i].s);
    }
}

/* Every envelope that testdata/polis/README.md marks "recomputes: yes"
 * gets exactly its documented etag back. */
static void test_server_etag__doc_examples_recompute(void)
{
    char path[1024], *readme, *line, *save = NULL;
    int checked = 0;

    snprintf(path, sizeof(path), "%s/polis/README.md", wbt_testdata());
    readme = wbt_read_file(path, NULL);
    WBT_ASSERT(readme != NULL);
    for (line = strtok_r(readme, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char file[256], pointer[256], etag[128], yes[16], got[WBS_ETAG_MAX];
        char *text;
        size_t len;
        cJSON *doc = NULL;
        const cJSON *env;
        if (sscanf(line, "| `%255[^`]` | `%255[^`]` | `%127[^`]` | %15s |", file, pointer, etag,
                   yes) != 4 ||
            strcmp(yes, "yes") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/polis/%s", wbt_testdata(), file);
        text = wbt_read_file(path, &len);
        if (!text) {
            free(readme);
            WBT_FAIL("cannot read %s", path);
        }
        if (wb_json__parse(&doc, text, len, NULL, file) < 0) {
            free(text);
            free(readme);
            WBT_FAIL("cannot parse %s", file);
        }
        free(text);
        env = wb_jsonptr__get(doc, strcmp(pointer, "(whole file)") == 0 ? "" : pointer);
        if (!env || wbs_etag_recompute(got, env) < 0 || strcmp(got, etag) != 0) {
            cJSON_Delete(doc);
            free(readme);
            WBT_FAIL("%s %s: etag %s, recomputed %s", file, pointer, etag, env ? got : "-");
        }
        cJSON_Delete(doc);
        checked++;
    }
    free(readme);
    WBT_ASSERT(checked >= 60); /* the README lists 65 at the time of writing */
}

/* ---- create ------------------------------------------------------------------ */

static void test_server_http__create_v2_flat(void)
{
    const srv *s = main_srv();
    srv_reply r;
    char etag[WBS_ETAG_MAX];
    const char *order;
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(ix_create(&r, s, "admin1", CAMPAIGN, NULL), 201);
    /* documented member order, server-set envelope */
    order = strstr(r.body, "\"meta\":{\"etag\":");
    WBT_ASSERT(strncmp(r.body, "{\"id\":", 6) == 0 && order != NULL);
    WBT_ASSERT(strstr(r.body, "\"created\":") < strstr(r.body, "\"modified\":"));
    WBT_ASSERT(strstr(r.body, "\"resource\":\"interactions\",\"createdBy\":\"" T_U1
                              "\",\"isDeleted\":false,\"modifiedBy\":\"" T_U1 "\"},"
                              "\"customerId\":\"" T_C1 "\",\"securityGroupId\":\"" T_SG1
                              "\"}") != NULL);
    WBT_ASSERT_STR(srv_str(r.json, "/data/campaignId"), CAMPAIGN);
    WBT_ASSERT(strstr(r.location, srv_str(r.json, "/id")) != NULL);
    /* a v7 id: the time it was made leads, the rest is random */
    WBT_ASSERT(wb_uuid__valid(srv_str(r.json, "/id")));
    WBT_ASSERT_INT(srv_str(r.json, "/id")[14], '7');
    /* the etag is the recipe's over the returned envelope */
    WBT_ASSERT(wbs_etag_recompute(etag, r.json) == 0);
    WBT_ASSERT_STR(etag, srv_str(r.json, "/meta/etag"));
    srv_reply_free(&r);
}

static void test_server_http__create_both_shapes_on_both_versions(void)
{
    const srv *s = main_srv();
    static const char *const paths[] = {"/v1/interactions", "/v2/interactions"};
    char wrapped[2600];
    srv_reply r;
    WBT_ASSERT(s != NULL);
    for (int v = 0; v < 2; v++) {
        snprintf(wrapped, sizeof(wrapped), "{\"data\":%s}", ix_body(CAMPAIGN, NULL, 1, NULL));
        WBT_ASSERT_INT(srv_call(&r, s, "POST", paths[v], "admin1", wrapped, NULL, NULL), 201);
        WBT_ASSERT(srv_is_true(r.json, "/data/unavailable"));
        /* no campaign record: v1 leaves listId out rather than invent one */
        WBT_ASSERT(wb_jsonptr__get(r.json, "/data/listId") == NULL);
        srv_reply_free(&r);
        WBT_ASSERT_INT(srv_call(&r, s, "POST", paths[v], "admin1", ix_body(CAMPAIGN, NULL, 0, NULL),
                                NULL, NULL),
                       201);
        srv_reply_free(&r);
    }
    /* the doc's own v1 request */
    {
        char p[1024], *text;
        snprintf(p, sizeof(p), "%s/polis/interaction-v1-create-request.json", wbt_testdata());
        text = wbt_read_file(p, NULL);
        WBT_ASSERT(text != NULL);
        srv_call(&r, s, "POST", "/v1/interactions", "admin1", text, NULL, NULL);
        free(text);
        WBT_ASSERT_INT(r.status, 201);
        srv_reply_free(&r);
    }
}

static void test_server_http__create_ignores_client_id_by_default(void)
{
    const srv *s = main_srv();
    srv_reply r;
    const char *mine = "0fdbdbe4-5bbf-4b3f-9c0e-7d3a06f3a1aa";
    char body[2600];
    WBT_ASSERT(s != NULL);
    snprintf(body, sizeof(body), "{\"id\":\"%s\",\"data\":%s}", mine, ix_body(CAMPAIGN, NULL, 0, NULL));
    WBT_ASSERT_INT(srv_call(&r, s, "POST", "/v1/interactions", "admin1", body, NULL, NULL), 201);
    WBT_ASSERT(strcmp(srv_str(r.json, "/id"), mine) != 0);
    srv_reply_free(&r);
}

static void test_server_http__validation_names_the_field(void)
{
    const srv *s = main_srv();
    srv_reply r;
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(srv_call(&r, s, "POST", "/v2/interactions", "admin1",
                            ix_body(CAMPAIGN, "2018-02-30T10:00:00.000Z", 0, NULL), NULL, NULL),
                   400);
    WBT_ASSERT_STR(srv_str(r.json, "/name"), "ValidationError");
    WBT_ASSERT_CONTAINS(srv_str(r.json, "/message"), "data.timestamp");
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_call(&r, s, "POST", "/v2/interactions", "admin1",
                            ix_body(CAMPAIGN, NULL, 0, ",\"color\":\"red\""), NULL, NULL),
                   400);
    WBT_ASSERT_CONTAINS(srv_str(r.json, "/message"), "data.color");
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_call(&r, s, "POST", "/v2/interactions", "admin1",
                            "{\"campaignId\":\"" CAMPAIGN "\"}", NULL, NULL),
                   400);
    WBT_ASSERT_CONTAINS(srv_str(r.json, "/message"), "required");
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_call(&r, s, "POST", "/v2/interactions", "admin1", "[1,2]", NULL, NULL),
                   400);
    srv_reply_free(&r);
}

static void test_server_http__malformed_and_huge_bodies(void)
{
    const srv *s = main_srv();
    srv_reply r;
    size_t big = 1536 * 1024;
    char *huge;
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(srv_call(&r, s, "POST", "/v2/interactions", "admin1", "{\"campaignId\":", NULL,
                            NULL),
                   400);
    WBT_ASSERT_STR(srv_str(r.json, "/name"), "BadRequestError");
    WBT_ASSERT_CONTAINS(srv_str(r.json, "/message"), "body");
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_call_n(&r, s, "POST", "/v2/interactions", "admin1", "{\"a\":\"\0\"}", 8,
                              NULL, NULL),
                   400);
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_call(&r, s, "POST", "/v2/interactions", "admin1", "", NULL, NULL), 400);
    srv_reply_free(&r);
    huge = malloc(big);
    WBT_ASSERT(huge != NULL);
    memset(huge, ' ', big);
    huge[0] = '[';
    huge[big - 1] = ']';
    srv_call_n(&r, s, "POST", "/v2/interactions", "admin1", huge, big, NULL, NULL);
    free(huge);
    WBT_ASSERT_INT(r.status, 413);
    srv_reply_free(&r);
    /* and the server still answers */
    WBT_ASSERT_INT(srv_call(&r, s, "GET", "/v2/interactions?limit=1", "admin1", NULL, NULL, NULL),
                   200);
    srv_reply_free(&r);
}

/* ---- auth, tenancy, get -------------------------------------------------------- */

static void test_server_http__unauthenticated_401(void)
{
    const srv *s = main_srv();
    srv_reply r;
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(srv_call(&r, s, "GET", "/v2/interactions?limit=1", NULL, NULL, NULL, NULL), 401);
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_call(&r, s, "GET", "/v2/interactions?limit=1", "nope", NULL, NULL, NULL), 401);
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_call(&r, s, "POST", "/v1/interactions", NULL,
                            ix_body(CAMPAIGN, NULL, 0, NULL), "Authorization: Basic YTpi", NULL),
                   401);
    srv_reply_free(&r);
}

static void test_server_http__get_and_tenancy(void)
{
    const srv *s = main_srv();
    srv_reply r, g;
    char path[128];
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(ix_create(&r, s, "admin1", CAMPAIGN, NULL), 201);
    snprintf(path, sizeof(path), "/v2/interactions/%s", srv_str(r.json, "/id"));
    WBT_ASSERT_INT(srv_call(&g, s, "GET", path, "canv1", NULL, NULL, NULL), 200);
    WBT_ASSERT_STR(g.body, r.body);
    srv_reply_free(&g);
    path[2] = '1'; /* same record through /v1 */
    WBT_ASSERT_INT(srv_call(&g, s, "GET", path, "admin1", NULL, NULL, NULL), 200);
    srv_reply_free(&g);
    /* another customer does not see it at all */
    WBT_ASSERT_INT(srv_call(&g, s, "GET", path, "admin2", NULL, NULL, NULL), 404);
    srv_reply_free(&g);
    WBT_ASSERT_INT(srv_call(&g, s, "PATCH", path, "admin2", "{\"data\":[]}", "etag: x", NULL), 404);
    srv_reply_free(&g);
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_call(&g, s, "GET", "/v2/interactions/0b9d1e0c-7a43-4c4c-9d0e-6f4a7c1d2e3f",
                            "admin1", NULL, NULL, NULL),
                   404);
    WBT_ASSERT_STR(srv_str(g.json, "/name"), "NotFoundError");
    srv_reply_free(&g);
    WBT_ASSERT_INT(srv_call(&g, s, "GET", "/v2/interactions/not-a-uuid", "admin1", NULL, NULL, NULL),
                   400);
    srv_reply_free(&g);
    WBT_ASSERT_INT(srv_call(&g, s, "GET", "/v2/interactions/%27%20or%201%3D1", "admin1", NULL, NULL,
                            NULL),
                   400);
    srv_reply_free(&g);
    WBT_ASSERT_INT(srv_call(&g, s, "GET", "/v3/nothing", "admin1", NULL, NULL, NULL), 404);
    srv_reply_free(&g);
    WBT_ASSERT_INT(srv_call(&g, s, "PUT", "/v2/interactions", "admin1", "{}", NULL, NULL), 405);
    srv_reply_free(&g);
}

/* ---- patch --------------------------------------------------------------------- */

static void test_server_http__patch_both_path_styles(void)
{
    const srv *s = main_srv();
    srv_reply c, p;
    char path[128], etag[160], etag2[160];
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(ix_create(&c, s, "admin1", CAMPAIGN, NULL), 201);
    snprintf(path, sizeof(path), "/v2/interactions/%s", srv_str(c.json, "/id"));
    snprintf(etag, sizeof(etag), "etag: %s", srv_str(c.json, "/meta/etag"));
    WBT_ASSERT_INT(srv_call(&p, s, "PATCH", path, "canv1",
                            "{\"data\":[{\"op\":\"replace\",\"path\":\"/unavailable\",\"value\":true},"
                            "{\"op\":\"add\",\"path\":\"/successful\",\"value\":false}]}",
                            etag, NULL),
                   200);
    WBT_ASSERT(srv_is_true(p.json, "/data/unavailable"));
    WBT_ASSERT(strcmp(srv_str(p.json, "/meta/etag"), srv_str(c.json, "/meta/etag")) != 0);
    WBT_ASSERT(strcmp(srv_str(p.json, "/meta/modified"), srv_str(c.json, "/meta/modified")) > 0);
    WBT_ASSERT_STR(srv_str(p.json, "/meta/modifiedBy"), T_U2);
    WBT_ASSERT_STR(srv_str(p.json, "/meta/createdBy"), T_U1);
    WBT_ASSERT_STR(srv_str(p.json, "/meta/created"), srv_str(c.json, "/meta/created"));
    snprintf(etag2, sizeof(etag2), "ETag: %s", srv_str(p.json, "/meta/etag"));
    srv_reply_free(&p);
    /* the 2019 drafts' /data/ prefix, and the v1 route */
    path[2] = '1';
    WBT_ASSERT_INT(srv_call(&p, s, "PATCH", path, "admin1",
                            "{\"data\":[{\"op\":\"replace\",\"path\":\"/data/unavailable\","
                            "\"value\":false}]}",
                            etag2, NULL),
                   200);
    WBT_ASSERT(!srv_is_true(p.json, "/data/unavailable"));
    srv_reply_free(&p);
    srv_reply_free(&c);
}

static void test_server_http__patch_preconditions(void)
{
    const srv *s = main_srv();
    srv_reply c, p;
    char path[128], h[200];
    const char *op = "{\"data\":[{\"op\":\"replace\",\"path\":\"/unavailable\",\"value\":true}]}";
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(ix_create(&c, s, "admin1", CAMPAIGN, NULL), 201);
    snprintf(path, sizeof(path), "/v2/interactions/%s", srv_str(c.json, "/id"));
    /* missing */
    WBT_ASSERT_INT(srv_call(&p, s, "PATCH", path, "admin1", op, NULL, NULL), 428);
    srv_reply_free(&p);
    /* stale: 412 with the current envelope */
    WBT_ASSERT_INT(srv_call(&p, s, "PATCH", path, "admin1", op, "etag: 3e8-SIMIS22pStVskqOe/o51Wzx9bbk",
                            NULL),
                   412);
    WBT_ASSERT_STR(srv_str(p.json, "/name"), "ConcurrencyError");
    WBT_ASSERT_STR(srv_str(p.json, "/message"), "The provided version does not match the current value.");
    WBT_ASSERT_STR(srv_str(p.json, "/data/id"), srv_str(c.json, "/id"));
    WBT_ASSERT_STR(srv_str(p.json, "/data/meta/etag"), srv_str(c.json, "/meta/etag"));
    srv_reply_free(&p);
    /* If-Match, quoted */
    snprintf(h, sizeof(h), "If-Match: \"%s\"", srv_str(c.json, "/meta/etag"));
    WBT_ASSERT_INT(srv_call(&p, s, "PATCH", path, "admin1", op, h, NULL), 200);
    /* If-Match, weak form, of the new version */
    snprintf(h, sizeof(h), "If-Match: W/\"%s\"", srv_str(p.json, "/meta/etag"));
    srv_reply_free(&p);
    WBT_ASSERT_INT(srv_call(&p, s, "PATCH", path, "admin1", op, h, NULL), 200);
    srv_reply_free(&p);
    /* the etag of the first version is stale now */
    snprintf(h, sizeof(h), "etag: %s", srv_str(c.json, "/meta/etag"));
    WBT_ASSERT_INT(srv_call(&p, s, "PATCH", path, "admin1", op, h, NULL), 412);
    srv_reply_free(&p);
    srv_reply_free(&c);
}

static void test_server_http__patch_refusals(void)
{
    const srv *s = main_srv();
    srv_reply c, p, g;
    char path[128], h[200];
    static const char *const bad[] = {
        "{\"data\":[{\"op\":\"replace\",\"path\":\"/meta/etag\",\"value\":\"x\"}]}",
        "{\"data\":[{\"op\":\"replace\",\"path\":\"/customerId\",\"value\":\"x\"}]}",
        "{\"data\":[{\"op\":\"replace\",\"path\":\"/id\",\"value\":\"x\"}]}",
        "{\"data\":[{\"op\":\"add\",\"path\":\"/listId\",\"value\":\"" CAMPAIGN "\"}]}",
        "{\"data\":[{\"op\":\"replace\",\"path\":\"/timestamp\",\"value\":\"yesterday\"}]}",
        "{\"data\":[{\"op\":\"replace\",\"path\":\"/nothing/here\",\"value\":1}]}",
        /* atomic: the first operation must not stick when the second fails */
        "{\"data\":[{\"op\":\"replace\",\"path\":\"/unavailable\",\"value\":true},"
        "{\"op\":\"test\",\"path\":\"/unavailable\",\"value\":false}]}",
        "{\"data\":{\"op\":\"replace\"}}",
        "{\"data\":[",
    };
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(ix_create(&c, s, "admin1", CAMPAIGN, NULL), 201);
    snprintf(path, sizeof(path), "/v2/interactions/%s", srv_str(c.json, "/id"));
    snprintf(h, sizeof(h), "etag: %s", srv_str(c.json, "/meta/etag"));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        srv_call(&p, s, "PATCH", path, "admin1", bad[i], h, NULL);
        if (p.status != 400)
            WBT_FAIL("patch %zu: status %ld: %s", i, p.status, p.body);
        WBT_ASSERT(srv_str(p.json, "/message") != NULL);
        if (i == 4)
            WBT_ASSERT_CONTAINS(srv_str(p.json, "/message"), "data.timestamp");
        if (i < 3)
            WBT_ASSERT_CONTAINS(srv_str(p.json, "/message"), "outside data");
        srv_reply_free(&p);
    }
    /* nothing changed */
    WBT_ASSERT_INT(srv_call(&g, s, "GET", path, "admin1", NULL, NULL, NULL), 200);
    WBT_ASSERT_STR(g.body, c.body);
    srv_reply_free(&g);
    WBT_ASSERT_INT(srv_call(&p, s, "PATCH", "/v2/interactions/0b9d1e0c-7a43-4c4c-9d0e-6f4a7c1d2e3f",
                            "admin1", bad[4], h, NULL),
                   404);
    srv_reply_free(&p);
    srv_reply_free(&c);
}

/* ---- delete -------------------------------------------------------------------- */

static void test_server_http__delete(void)
{
    const srv *s = main_srv();
    srv_reply c, d;
    char path[128], h[200];
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(ix_create(&c, s, "admin1", CAMPAIGN, NULL), 201);
    snprintf(path, sizeof(path), "/v2/interactions/%s", srv_str(c.json, "/id"));
    snprintf(h, sizeof(h), "etag: %s", srv_str(c.json, "/meta/etag"));
    WBT_ASSERT_INT(srv_call(&d, s, "DELETE", path, "canv1", NULL, h, NULL), 403);
    WBT_ASSERT_STR(srv_str(d.json, "/name"), "ForbiddenError");
    srv_reply_free(&d);
    WBT_ASSERT_INT(srv_call(&d, s, "DELETE", path, "admin1", NULL, NULL, NULL), 428);
    srv_reply_free(&d);
    WBT_ASSERT_INT(srv_call(&d, s, "DELETE", path, "admin1", NULL, "etag: stale", NULL), 412);
    WBT_ASSERT_STR(srv_str(d.json, "/name"), "ConcurrencyError");
    srv_reply_free(&d);
    WBT_ASSERT_INT(srv_call(&d, s, "DELETE", path, "admin2", NULL, h, NULL), 404);
    srv_reply_free(&d);
    WBT_ASSERT_INT(srv_call(&d, s, "DELETE", path, "admin1", NULL, h, NULL), 200);
    WBT_ASSERT(srv_is_true(d.json, "/meta/isDeleted"));
    WBT_ASSERT(strcmp(srv_str(d.json, "/meta/etag"), srv_str(c.json, "/meta/etag")) != 0);
    WBT_ASSERT(strcmp(srv_str(d.json, "/meta/modified"), srv_str(c.json, "/meta/modified")) > 0);
    srv_reply_free(&d);
    WBT_ASSERT_INT(srv_call(&d, s, "GET", path, "admin1", NULL, NULL, NULL), 404);
    srv_reply_free(&d);
    WBT_ASSERT_INT(srv_call(&d, s, "DELETE", path, "admin1", NULL, h, NULL), 404);
    srv_reply_free(&d);
    WBT_ASSERT_INT(srv_call(&d, s, "PATCH", path, "admin1", "{\"data\":[]}", h, NULL), 404);
    srv_reply_free(&d);
    srv_reply_free(&c);
}

/* ---- client ids -------------------------------------------------------------- */

static void test_server_http__client_ids_replay(void)
{
    static const char *const args[] = {"--client-ids", "--token", "a:" T_C1 ":" T_SG1 ":" T_U1,
                                       "--token", "b:" T_C1 ":" T_SG1 ":" T_U2, NULL};
    const char *id = "0fdbdbe4-5bbf-4b3f-9c0e-7d3a06f3a1aa";
    srv s2;
    srv_reply r, again;
    char body[2600];
    WBT_ASSERT(srv_start(&s2, args) == 0);
    snprintf(body, sizeof(body), "{\"id\":\"%s\",\"data\":%s}", id, ix_body(CAMPAIGN, NULL, 0, NULL));
    WBT_ASSERT_INT(srv_call(&r, &s2, "POST", "/v1/interactions", "a", body, NULL, NULL), 201);
    WBT_ASSERT_STR(srv_str(r.json, "/id"), id);
    /* the same record again: 200 and the stored envelope, nothing new */
    WBT_ASSERT_INT(srv_call(&again, &s2, "POST", "/v1/interactions", "a", body, NULL, NULL), 200);
    WBT_ASSERT_STR(again.body, r.body);
    srv_reply_free(&again);
    /* flat form of the same data, on v2, with the id in upper case */
    snprintf(body, sizeof(body), "%s", ix_body(CAMPAIGN, NULL, 0, ",\"id\":\"0FDBDBE4-5BBF-4B3F-9C0E-7D3A06F3A1AA\""));
    WBT_ASSERT_INT(srv_call(&again, &s2, "POST", "/v2/interactions", "a", body, NULL, NULL), 200);
    srv_reply_free(&again);
    /* different data under that id, or another user's post: 409 */
    snprintf(body, sizeof(body), "{\"id\":\"%s\",\"data\":%s}", id, ix_body(CAMPAIGN, NULL, 1, NULL));
    WBT_ASSERT_INT(srv_call(&again, &s2, "POST", "/v1/interactions", "a", body, NULL, NULL), 409);
    WBT_ASSERT_STR(srv_str(again.json, "/name"), "ExistsError");
    srv_reply_free(&again);
    snprintf(body, sizeof(body), "{\"id\":\"%s\",\"data\":%s}", id, ix_body(CAMPAIGN, NULL, 0, NULL));
    WBT_ASSERT_INT(srv_call(&again, &s2, "POST", "/v1/interactions", "b", body, NULL, NULL), 409);
    srv_reply_free(&again);
    WBT_ASSERT_INT(srv_call(&again, &s2, "POST", "/v1/interactions", "a",
                            "{\"id\":\"no\",\"data\":{}}", NULL, NULL),
                   400);
    srv_reply_free(&again);
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_stop(&s2), 0);
}

/* ---- OAuth token route and expiry ------------------------------------------- */

static void test_server_http__oauth_token_route(void)
{
    const srv *s = main_srv();
    srv_reply t, r, u;
    char body[512], token[256];
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(srv_call(&t, s, "POST", "/auth/oauth2/token", NULL,
                            "{\"client_id\":\"app\",\"client_secret\":\"s\",\"code\":\"code1\","
                            "\"grant_type\":\"authorization_code\"}",
                            NULL, NULL),
                   200);
    WBT_ASSERT_STR(srv_str(t.json, "/token_type"), "bearer");
    WBT_ASSERT(srv_str(t.json, "/access_token") && srv_str(t.json, "/refresh_token"));
    snprintf(token, sizeof(token), "%s", srv_str(t.json, "/access_token"));
    WBT_ASSERT_INT(ix_create(&r, s, token, CAMPAIGN, NULL), 201);
    WBT_ASSERT_STR(srv_str(r.json, "/customerId"), T_C1);
    srv_reply_free(&r);
    /* refresh: a new access token; the refresh token is single-use */
    snprintf(body, sizeof(body), "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"%s\"}",
             srv_str(t.json, "/refresh_token"));
    WBT_ASSERT_INT(srv_call(&u, s, "POST", "/auth/oauth2/token", NULL, body, NULL, NULL), 200);
    WBT_ASSERT(strcmp(srv_str(u.json, "/access_token"), token) != 0);
    WBT_ASSERT_INT(ix_create(&r, s, srv_str(u.json, "/access_token"), CAMPAIGN, NULL), 201);
    srv_reply_free(&r);
    srv_reply_free(&u);
    WBT_ASSERT_INT(srv_call(&u, s, "POST", "/auth/oauth2/token", NULL, body, NULL, NULL), 400);
    WBT_ASSERT_STR(srv_str(u.json, "/error"), "invalid_grant");
    srv_reply_free(&u);
    srv_reply_free(&t);
    WBT_ASSERT_INT(srv_call(&u, s, "POST", "/auth/oauth2/token", NULL,
                            "{\"code\":\"wrong\",\"grant_type\":\"authorization_code\"}", NULL, NULL),
                   400);
    WBT_ASSERT_STR(srv_str(u.json, "/error"), "invalid_grant");
    srv_reply_free(&u);
    WBT_ASSERT_INT(srv_call(&u, s, "POST", "/auth/oauth2/token", NULL,
                            "{\"grant_type\":\"password\"}", NULL, NULL),
                   400);
    WBT_ASSERT_STR(srv_str(u.json, "/error"), "unsupported_grant_type");
    srv_reply_free(&u);
    WBT_ASSERT_INT(srv_call(&u, s, "POST", "/auth/oauth2/token", NULL, "code=code1", NULL, NULL), 400);
    WBT_ASSERT_STR(srv_str(u.json, "/error"), "invalid_request");
    srv_reply_free(&u);
    /* an authorization code is not an access token */
    WBT_ASSERT_INT(srv_call(&u, s, "GET", "/v2/interactions?limit=1", "code1", NULL, NULL, NULL), 401);
    srv_reply_free(&u);
}

static void test_server_http__token_expiry(void)
{
    static const char *const args[] = {"--token-lifetime", "1", "--auth-code",
                                       "c:" T_C1 ":" T_SG1 ":" T_U1, NULL};
    srv s2;
    srv_reply t, r;
    char token[256];
    long status = 0;
    WBT_ASSERT(srv_start(&s2, args) == 0);
    WBT_ASSERT_INT(srv_call(&t, &s2, "POST", "/auth/oauth2/token", NULL,
                            "{\"code\":\"c\",\"grant_type\":\"authorization_code\"}", NULL, NULL),
                   200);
    WBT_ASSERT(cJSON_IsNumber(wb_jsonptr__get(t.json, "/expires_in")));
    snprintf(token, sizeof(token), "%s", srv_str(t.json, "/access_token"));
    srv_reply_free(&t);
    WBT_ASSERT_INT(srv_call(&r, &s2, "GET", "/v2/interactions?limit=1", token, NULL, NULL, NULL), 200);
    srv_reply_free(&r);
    for (int i = 0; i < 12 && status != 401; i++) { /* at most 3 s */
        sleep_ms(250);
        status = srv_call(&r, &s2, "GET", "/v2/interactions?limit=1", token, NULL, NULL, NULL);
        srv_reply_free(&r);
    }
    WBT_ASSERT_INT(status, 401);
    WBT_ASSERT_INT(srv_stop(&s2), 0);
}

static void test_server_http__zz_clean_shutdown(void)
{
    WBT_ASSERT(main_srv() != NULL);
    WBT_ASSERT_INT(srv_stop(&main_server), 0);
}

static const wbt_case cases[] = {
    WBT_CASE(test_server_etag__sha1_known_answers),
    WBT_CASE(test_server_etag__javascript_numbers),
    WBT_CASE(test_server_etag__doc_examples_recompute),
    WBT_CASE(test_server_http__create_v2_flat),
    WBT_CASE(test_server_http__create_both_shapes_on_both_versions),
    WBT_CASE(test_server_http__create_ignores_client_id_by_default),
    WBT_CASE(test_server_http__validation_names_the_field),
    WBT_CASE(test_server_http__malformed_and_huge_bodies),
    WBT_CASE(test_server_http__unauthenticated_401),
    WBT_CASE(test_server_http__get_and_tenancy),
    WBT_CASE(test_server_http__patch_both_path_styles),
    WBT_CASE(test_server_http__patch_preconditions),
    WBT_CASE(test_server_http__patch_refusals),
    WBT_CASE(test_server_http__delete),
    WBT_CASE(test_server_list__limit_and_skip_errors),
    WBT_CASE(test_server_list__paging),
    WBT_CASE(test_server_list__sort_spellings),
    WBT_CASE(test_server_list__filter_forms),
    WBT_CASE(test_server_list__filter_operators),
    WBT_CASE(test_server_list__bad_filter),
    WBT_CASE(test_server_list__deleted_only_on_request),
    WBT_CASE(test_server_list__stable_pages_with_equal_values),
    WBT_CASE(test_server_list__modified_strictly_increases),
    WBT_CASE(test_server_store__distance_unit),
    WBT_CASE(test_server_store__db_distance_and_restart),
    WBT_CASE(test_server_pushdown__same_as_scan),
    WBT_CASE(test_server_pushdown__same_as_scan_previous_layout),
    WBT_CASE(test_server_pushdown__written_records),
    WBT_CASE(test_server_http__client_ids_replay),
    WBT_CASE(test_server_http__oauth_token_route),
    WBT_CASE(test_server_http__token_expiry),
    WBT_CASE(test_server_http__zz_clean_shutdown),
};

WBT_MAIN(cases, setup, NULL)
