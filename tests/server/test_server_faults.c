/*
 * test_server_faults.c - walkbook-server's fault injection and /__admin/
 * routes through real HTTP on 127.0.0.1: every fault kind as a client sees
 * it (status + Retry-After, delay, a connection dropped before or after the
 * request was applied, a truncated body, a non-JSON 200), count and seeded
 * probability, switching at start and at run time, the admin token, edits
 * as another user (a conflict made on purpose), the dump's duplicate
 * detector and token expiry on demand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "common.h"
#include "jsonpatch.h"
#include "server_cases.h"
#include "wbtest.h"

#define CAMPAIGN "61fbfbaa-5de8-4d17-ac2b-c47f2376265a"
#define ADMIN_HDR "X-Admin-Token: adm-secret"
#define TOKEN_HDR "Authorization: Bearer admin1"

static srv fault_server;

static const srv *fsrv(void)
{
    static const char *const args[] = {
        "--admin", "adm-secret",
        "--bench-routes",
        "--token", "admin1:" T_C1 ":" T_SG1 ":" T_U1,
        "--token", "admin2:" T_C2 ":" T_SG2 ":" T_U3,
        "--token", "doomed:" T_C1 ":" T_SG1 ":" T_U2,
        NULL};
    if (!fault_server.pid && srv_start(&fault_server, args) < 0)
        return NULL;
    return &fault_server;
}

static void setup(void)
{
    if (wb__global_init() < 0) {
        fprintf(stderr, "cannot initialise walkbook\n");
        exit(2);
    }
}

/* ---- a client that shows what the transport saw ----------------------------- */

typedef struct fr {
    CURLcode rc;
    long status;
    char *body; /* "" when nothing arrived */
    size_t len;
    cJSON *json;
    char retry_after[32];
    double ms;
} fr;

/* One more header line for the next fcall calls, or NULL. */
static const char *extra_hdr;

static size_t fr_write(char *data, size_t size, size_t n, void *userdata)
{
    fr *r = userdata;
    char *p = realloc(r->body, r->len + size * n + 1);
    if (!p)
        return 0;
    memcpy(p + r->len, data, size * n);
    r->body = p;
    r->len += size * n;
    p[r->len] = '\0';
    return size * n;
}

static size_t fr_header(char *data, size_t size, size_t n, void *userdata)
{
    fr *r = userdata;
    size_t len = size * n, from = 12, to = len;
    if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        while (from < len && data[from] == ' ')
            from++;
        while (to > from && (data[to - 1] == '\r' || data[to - 1] == '\n'))
            to--;
        if (to - from < sizeof(r->retry_after)) {
            memcpy(r->retry_after, data + from, to - from);
            r->retry_after[to - from] = '\0';
        }
    }
    return len;
}

/* One request on a fresh connection (a reused one could let libcurl
 * silently retry after a drop). Returns the HTTP status, or -1 when the
 * transfer failed (r->rc says how). */
static long fcall(fr *r, const srv *s, const char *method, const char *path, const char *h1,
                  const char *body)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    char url[2048];
    struct timespec t0, t1;

    memset(r, 0, sizeof(*r));
    r->status = -1;
    r->rc = CURLE_FAILED_INIT;
    if (!c || !s)
        goto done;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", s->port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fr_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, fr_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (h1)
        hdrs = curl_slist_append(hdrs, h1);
    if (extra_hdr)
        hdrs = curl_slist_append(hdrs, extra_hdr);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r->rc = curl_easy_perform(c);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (r->rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
done:
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    if (!r->body)
        r->body = strdup("");
    r->json = r->body && r->len ? cJSON_Parse(r->body) : NULL;
    return r->status;
}

static void fr_free(fr *r)
{
    free(r->body);
    cJSON_Delete(r->json);
    memset(r, 0, sizeof(*r));
}

static const char *fstr(const cJSON *j, const char *pointer)
{
    const cJSON *v = j ? wb_jsonptr__get(j, pointer) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Replace the rules; 200 expected. */
static long set_faults(const srv *s, const char *rules)
{
    fr r;
    long st = fcall(&r, s, "PUT", "/__admin/faults", ADMIN_HDR, rules);
    if (st != 200)
        fprintf(stderr, "    PUT /__admin/faults: %ld %s\n", st, r.body);
    fr_free(&r);
    return st;
}

/* A create body whose timestamp is unique to this test run, so that the
 * dump can tell whether that very request was applied. */
static const char *body_at(char *ts_out)
{
    static char buf[1024];
    static int n;
    unsigned k = (unsigned)n++ % 3600000u;
    snprintf(ts_out, 25, "2021-03-04T05:%02u:%02u.%03uZ", (k / 60000u) % 60u, (k / 1000u) % 60u,
             k % 1000u);
    snprintf(buf, sizeof(buf),
             "{\"campaignId\":\"" CAMPAIGN "\",\"contactId\":\"0478dbbf-b6eb-4168-afa9-5ebab6fef4b6\","
             "\"householdId\":\"c15e3515-aabf-42da-8d1b-31679f738eae\","
             "\"contactHouseholdId\":\"d070b1dc-9611-4f29-9300-a32160d21baa\","
             "\"timestamp\":\"%s\",\"unavailable\":false,"
             "\"survey\":{\"surveyId\":\"375d437b-3b47-4940-b43d-be8daec4afff\"}}",
             ts_out);
    return buf;
}

/* How many stored interactions (live or not) have data.timestamp == ts;
 * -1 when the dump fails. */
static int stored_with_timestamp(const srv *s, const char *ts)
{
    fr r;
    const cJSON *rec;
    int n = 0;
    if (fcall(&r, s, "GET", "/__admin/dump", ADMIN_HDR, NULL) != 200 ||
        !cJSON_IsArray(wb_jsonptr__get(r.json, "/data"))) {
        fr_free(&r);
        return -1;
    }
    cJSON_ArrayForEach(rec, wb_jsonptr__get(r.json, "/data")) {
        const char *t = fstr(rec, "/data/timestamp");
        n += t && strcmp(t, ts) == 0;
    }
    fr_free(&r);
    return n;
}

static int is_dropped(CURLcode rc)
{
    return rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR;
}

/* ---- admin access -------------------------------------------------------- */

static void test_server_faults__admin_absent_without_flag(void)
{
    static const char *const args[] = {"--token", "admin1:" T_C1 ":" T_SG1 ":" T_U1, NULL};
    srv plain;
    fr r;
    WBT_ASSERT(srv_start(&plain, args) == 0);
    WBT_ASSERT_INT(fcall(&r, &plain, "GET", "/__admin/faults", ADMIN_HDR, NULL), 404);
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, &plain, "GET", "/__admin/dump", ADMIN_HDR, NULL), 404);
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, &plain, "PUT", "/__admin/faults", ADMIN_HDR, "[]"), 404);
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, &plain, "GET", "/__bench/ping", NULL, NULL), 404);
    fr_free(&r);
    WBT_ASSERT_INT(srv_stop(&plain), 0);
}

static void test_server_faults__admin_token_required(void)
{
    const srv *s = fsrv();
    fr r;
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(fcall(&r, s, "GET", "/__admin/faults", NULL, NULL), 401);
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, s, "GET", "/__admin/faults", "X-Admin-Token: wrong", NULL), 403);
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, s, "GET", "/__admin/dump", TOKEN_HDR, NULL), 401);
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, s, "PUT", "/__admin/faults", "X-Admin-Token: adm-secreT",
                         "[{\"action\":\"drop_before\"}]"),
                   403);
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, s, "GET", "/__admin/faults", ADMIN_HDR, NULL), 200);
    WBT_ASSERT_INT(cJSON_GetArraySize(wb_jsonptr__get(r.json, "/rules")), 0);
    fr_free(&r);
}

/* ---- each fault kind ------------------------------------------------------- */

static void test_server_faults__status_with_retry_after(void)
{
    const srv *s = fsrv();
    static const int codes[] = {429, 500, 503};
    char rules[256], ts[25];
    fr r;
    WBT_ASSERT(s != NULL);
    for (size_t i = 0; i < 3; i++) {
        snprintf(rules, sizeof(rules),
                 "[{\"method\":\"POST\",\"path\":\"/v2/interactions\",\"count\":1,"
                 "\"action\":\"status\",\"status\":%d,\"retryAfter\":%zu}]",
                 codes[i], i + 1);
        WBT_ASSERT_INT(set_faults(s, rules), 200);
        WBT_ASSERT_INT(fcall(&r, s, "POST", "/v2/interactions", TOKEN_HDR, body_at(ts)),
                       codes[i]);
        WBT_ASSERT_INT(atoi(r.retry_after), (int)i + 1);
        WBT_ASSERT(fstr(r.json, "/name") != NULL);
        fr_free(&r);
        WBT_ASSERT_INT(stored_with_timestamp(s, ts), 0); /* not applied */
        WBT_ASSERT_INT(fcall(&r, s, "POST", "/v2/interactions", TOKEN_HDR, body_at(ts)), 201);
        WBT_ASSERT_STR(r.retry_after, "");
        fr_free(&r);
    }
    WBT_ASSERT_INT(set_faults(s, "[{\"action\":\"status\",\"status\":503,\"count\":1}]"), 200);
    WBT_ASSERT_INT(fcall(&r, s, "GET", "/v2/interactions?limit=1", TOKEN_HDR, NULL), 503);
    WBT_ASSERT_STR(r.retry_after, ""); /* no retryAfter, no header */
    WBT_ASSERT_STR(fstr(r.json, "/name"), "ServiceUnavailableError");
    fr_free(&r);
    WBT_ASSERT_INT(set_faults(s, "[]"), 200);
}

static void test_server_faults__delay(void)
{
    const srv *s = fsrv();
    char ts[25];
    fr r;
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(set_faults(s, "[{\"method\":\"POST\",\"path\":\"/v2/interactions\","
                                 "\"count\":1,\"action\":\"delay\",\"ms\":200}]"),
                   200);
    WBT_ASSERT_INT(fcall(&r, s, "POST", "/v2/interactions", TOKEN_HDR, body_at(ts)), 201);
    WBT_ASSERT(r.ms >= 150.0);
    WBT_ASSERT(r.ms < 5000.0);
    fr_free(&r);
    WBT_ASSERT_INT(stored_with_timestamp(s, ts), 1);
    WBT_ASSERT_INT(fcall(&r, s, "POST", "/v2/interactions", TOKEN_HDR, body_at(ts)), 201);
    WBT_ASSERT(r.ms < 150.0); /* count spent */
    fr_free(&r);
    WBT_ASSERT_INT(set_faults(s, "[]"), 200);
}

static void test_server_faults__drop_after_applies(void)
{
    const srv *s = fsrv();
    char ts[25];
    fr r;
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(set_faults(s, "[{\"method\":\"POST\",\"path\":\"/v2/interactions*\","
                                 "\"count\":1,\"action\":\"drop_after\"}]"),
                   200);
    WBT_ASSERT_INT(fcall(&r, s, "POST", "/v2/interactions", TOKEN_HDR, body_at(ts)), -1);
    if (!is_dropped(r.rc))
        WBT_FAIL("expected no response, got curl %d (%s)", (int)r.rc, curl_easy_strerror(r.rc));
    WBT_ASSERT_INT(r.len, 0);
    fr_free(&r);
    WBT_ASSERT_INT(stored_with_timestamp(s, ts), 1); /* the lost-response case */
    WBT_ASSERT_INT(set_faults(s, "[]"), 200);
}

static void test_server_faults__drop_before_does_not_apply(void)
{
    const srv *s = fsrv();
    char ts[25];
    fr r;
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(set_faults(s, "[{\"method\":\"POST\",\"path\":\"/v2/interactions*\","
                                 "\"count\":1,\"action\":\"drop_before\"}]"),
                   200);
    WBT_ASSERT_INT(fcall(&r, s, "POST", "/v2/interactions", TOKEN_HDR, body_at(ts)), -1);
    if (!is_dropped(r.rc))
        WBT_FAIL("expected no response, got curl %d (%s)", (int)r.rc, curl_easy_strerror(r.rc));
    fr_free(&r);
    WBT_ASSERT_INT(stored_with_timestamp(s, ts), 0);
    WBT_ASSERT_INT(set_faults(s, "[]"), 200);
}

static void test_server_faults__truncate(void)
{
    const srv *s = fsrv();
    char ts[25];
    fr r;
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(set_faults(s, "[{\"method\":\"POST\",\"count\":1,\"action\":\"truncate\"}]"),
                   200);
    WBT_ASSERT_INT(fcall(&r, s, "POST", "/v2/interactions", TOKEN_HDR, body_at(ts)), -1);
    WBT_ASSERT_INT(r.rc, CURLE_PARTIAL_FILE);
    WBT_ASSERT(r.len > 0);           /* the head of the envelope arrived */
    WBT_ASSERT(r.json == NULL);      /* and it does not parse */
    WBT_ASSERT(strncmp(r.body, "{\"id\":", 6) == 0);
    fr_free(&r);
    WBT_ASSERT_INT(stored_with_timestamp(s, ts), 1); /* applied all the same */
    WBT_ASSERT_INT(set_faults(s, "[]"), 200);
}

static void test_server_faults__garbage(void)
{
    const srv *s = fsrv();
    char ts[25];
    fr r;
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(set_faults(s, "[{\"method\":\"POST\",\"count\":1,\"action\":\"garbage\"}]"),
                   200);
    WBT_ASSERT_INT(fcall(&r, s, "POST", "/v2/interactions", TOKEN_HDR, body_at(ts)), 200);
    WBT_ASSERT_INT(r.rc, CURLE_OK);
    WBT_ASSERT(r.len > 0);
    WBT_ASSERT(r.json == NULL);
    fr_free(&r);
    WBT_ASSERT_INT(stored_with_timestamp(s, ts), 1);
    WBT_ASSERT_INT(set_faults(s, "[]"), 200);
}

/* ---- selection: count, probability and seed, method and path ------------------ */

static void test_server_faults__count_first_n(void)
{
    const srv *s = fsrv();
    fr r;
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(set_faults(s, "[{\"method\":\"GET\",\"path\":\"/__bench/*\",\"count\":3,"
                                 "\"action\":\"status\",\"status\":500}]"),
                   200);
    for (int i = 0; i < 6; i++) {
        WBT_ASSERT_INT(fcall(&r, s, "GET", "/__bench/ping", NULL, NULL), i < 3 ? 500 : 200);
        fr_free(&r);
    }
    /* other methods and paths are not matched */
    WBT_ASSERT_INT(set_faults(s, "[{\"method\":\"POST\",\"path\":\"/__bench/ping\","
                                 "\"action\":\"status\",\"status\":500},"
                                 "{\"method\":\"get\",\"path\":\"/v2/*\","
                                 "\"action\":\"status\",\"status\":500}]"),
                   200);
    WBT_ASSERT_INT(fcall(&r, s, "GET", "/__bench/ping", NULL, NULL), 200);
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, s, "GET", "/v2/interactions?limit=1", TOKEN_HDR, NULL), 500);
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, s, "GET", "/v1/interactions?limit=1", TOKEN_HDR, NULL), 200);
    fr_free(&r);
    WBT_ASSERT_INT(set_faults(s, "[]"), 200);
}

/* The hit pattern of n pings as a string of '1' (faulted) and '0'. */
static int ping_pattern(char *out, size_t n, const srv *s)
{
    fr r;
    for (size_t i = 0; i < n; i++) {
        long st = fcall(&r, s, "GET", "/__bench/ping", NULL, NULL);
        fr_free(&r);
        if (st != 200 && st != 503)
            return -1;
        out[i] = st == 503 ? '1' : '0';
    }
    out[n] = '\0';
    return 0;
}

#define PROB_RULES(seed)                                                                         \
    "{\"rules\":[{\"path\":\"/__bench/ping\",\"probability\":0.5,\"seed\":" seed                  \
    ",\"action\":\"status\",\"status\":503}]}"

static void test_server_faults__probability_reproducible(void)
{
    static const char *const args[] = {"--admin", "adm-secret", "--bench-routes", "--faults",
                                       NULL, NULL};
    const char *argv2[6];
    const srv *s = fsrv();
    char a[65], b[65], c[65], d[65];
    const char *file = wbt_path("prob-faults.json");
    size_t ones = 0;
    srv other;

    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(set_faults(s, PROB_RULES("42")), 200);
    WBT_ASSERT(ping_pattern(a, 64, s) == 0);
    WBT_ASSERT_INT(set_faults(s, PROB_RULES("42")), 200); /* replacing resets the generator */
    WBT_ASSERT(ping_pattern(b, 64, s) == 0);
    WBT_ASSERT_STR(a, b);
    for (size_t i = 0; i < 64; i++)
        ones += a[i] == '1';
    WBT_ASSERT(ones >= 16 && ones <= 48); /* about half */
    WBT_ASSERT_INT(set_faults(s, PROB_RULES("43")), 200);
    WBT_ASSERT(ping_pattern(c, 64, s) == 0);
    WBT_ASSERT(strcmp(a, c) != 0);

    /* a second server process given the same rules in a file: same run */
    WBT_ASSERT(wbt_write_file(file, PROB_RULES("42"), strlen(PROB_RULES("42"))) == 0);
    memcpy(argv2, args, sizeof(args));
    argv2[4] = file;
    WBT_ASSERT(srv_start(&other, argv2) == 0);
    WBT_ASSERT(ping_pattern(d, 64, &other) == 0);
    WBT_ASSERT_INT(srv_stop(&other), 0);
    WBT_ASSERT_STR(a, d);
    WBT_ASSERT_INT(set_faults(s, "[]"), 200);
}

static void test_server_faults__faults_file_at_start(void)
{
    static const char rules[] =
        "[{\"method\":\"GET\",\"path\":\"/v2/interactions*\",\"count\":1,"
        "\"action\":\"status\",\"status\":429,\"retryAfter\":7}]";
    const char *file = wbt_path("start-faults.json");
    const char *args[] = {"--faults", file, "--token", "admin1:" T_C1 ":" T_SG1 ":" T_U1, NULL};
    const char *bad[] = {"--faults", NULL, NULL};
    srv s2;
    fr r;

    WBT_ASSERT(wbt_write_file(file, rules, strlen(rules)) == 0);
    WBT_ASSERT(srv_start(&s2, args) == 0);
    WBT_ASSERT_INT(fcall(&r, &s2, "GET", "/v2/interactions?limit=1", TOKEN_HDR, NULL), 429);
    WBT_ASSERT_STR(r.retry_after, "7");
    WBT_ASSERT_STR(fstr(r.json, "/name"), "TooManyRequestsError");
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, &s2, "GET", "/v2/interactions?limit=1", TOKEN_HDR, NULL), 200);
    fr_free(&r);
    /* no --admin: the rules cannot be changed over HTTP */
    WBT_ASSERT_INT(fcall(&r, &s2, "DELETE", "/__admin/faults", ADMIN_HDR, NULL), 404);
    fr_free(&r);
    WBT_ASSERT_INT(srv_stop(&s2), 0);

    /* a bad rules file stops the server at start */
    file = wbt_path("bad-faults.json");
    WBT_ASSERT(wbt_write_file(file, "[{\"action\":\"status\"}]", 21) == 0);
    bad[1] = file;
    WBT_ASSERT(srv_start(&s2, bad) < 0);
}

/* ---- switching at run time --------------------------------------------------- */

static void test_server_faults__runtime_switching(void)
{
    const srv *s = fsrv();
    fr r;
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(set_faults(s, "[{\"path\":\"/__bench/ping\",\"action\":\"status\","
                                 "\"status\":500}]"),
                   200);
    WBT_ASSERT_INT(fcall(&r, s, "GET", "/__bench/ping", NULL, NULL), 500);
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, s, "GET", "/__admin/faults", ADMIN_HDR, NULL), 200);
    WBT_ASSERT(cJSON_GetNumberValue(wb_jsonptr__get(r.json, "/rules/0/fired")) == 1.0);
    WBT_ASSERT(cJSON_GetNumberValue(wb_jsonptr__get(r.json, "/rules/0/seen")) == 1.0);
    fr_free(&r);

    /* a bad rule set is refused by name and the old rules stay */
    WBT_ASSERT_INT(fcall(&r, s, "PUT", "/__admin/faults", ADMIN_HDR,
                         "[{\"action\":\"delay\",\"ms\":10},{\"action\":\"status\",\"status\":500,"
                         "\"probabilty\":0.5}]"),
                   400);
    WBT_ASSERT_CONTAINS(fstr(r.json, "/message"), "rules[1].probabilty");
    fr_free(&r);
    static const char *const bad[] = {
        "not json", "{}", "{\"rules\":[],\"x\":1}", "[{\"action\":\"explode\"}]",
        "[{\"action\":\"status\"}]", "[{\"action\":\"status\",\"status\":200}]",
        "[{\"action\":\"delay\"}]", "[{\"action\":\"delay\",\"ms\":60001}]",
        "[{\"action\":\"drop_after\",\"probability\":1.5}]",
        "[{\"action\":\"drop_after\",\"count\":-1}]", "[{\"action\":\"drop_after\",\"seed\":0.5}]",
        "[{\"action\":\"garbage\",\"path\":\"nope\"}]",
        "[{\"action\":\"garbage\",\"retryAfter\":3}]", "[1]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        WBT_ASSERT_INT(fcall(&r, s, "PUT", "/__admin/faults", ADMIN_HDR, bad[i]), 400);
        fr_free(&r);
    }
    WBT_ASSERT_INT(fcall(&r, s, "GET", "/__bench/ping", NULL, NULL), 500);
    fr_free(&r);

    /* POST replaces too; DELETE clears */
    WBT_ASSERT_INT(fcall(&r, s, "POST", "/__admin/faults", ADMIN_HDR,
                         "{\"rules\":[{\"method\":\"*\",\"path\":\"/__bench/*\",\"action\":"
                         "\"status\",\"status\":503}]}"),
                   200);
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, s, "GET", "/__bench/ping", NULL, NULL), 503);
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, s, "DELETE", "/__admin/faults", ADMIN_HDR, NULL), 200);
    WBT_ASSERT_INT(cJSON_GetArraySize(wb_jsonptr__get(r.json, "/rules")), 0);
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, s, "GET", "/__bench/ping", NULL, NULL), 200);
    fr_free(&r);
}

static void test_server_faults__admin_routes_never_faulted(void)
{
    const srv *s = fsrv();
    fr r;
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(set_faults(s, "[{\"action\":\"drop_before\"}]"), 200); /* everything */
    WBT_ASSERT_INT(fcall(&r, s, "GET", "/__bench/ping", NULL, NULL), -1);
    WBT_ASSERT(is_dropped(r.rc));
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, s, "GET", "/__admin/dump?data=false", ADMIN_HDR, NULL), 200);
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, s, "DELETE", "/__admin/faults", ADMIN_HDR, NULL), 200);
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, s, "GET", "/__bench/ping", NULL, NULL), 200);
    fr_free(&r);
}

/* ---- edit as another user ------------------------------------------------------ */

static void test_server_faults__edit_as_other_user_conflicts(void)
{
    const srv *s = fsrv();
    char ts[25], id[37], etag[64], path[128], hdr[128];
    fr r;
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(fcall(&r, s, "POST", "/v2/interactions", TOKEN_HDR, body_at(ts)), 201);
    snprintf(id, sizeof(id), "%s", fstr(r.json, "/id"));
    snprintf(etag, sizeof(etag), "%s", fstr(r.json, "/meta/etag"));
    fr_free(&r);

    snprintf(path, sizeof(path), "/__admin/interactions/%s/edit", id);
    WBT_ASSERT_INT(fcall(&r, s, "POST", path, ADMIN_HDR,
                         "{\"user\":\"" T_U3 "\",\"data\":[{\"op\":\"replace\","
                         "\"path\":\"/unavailable\",\"value\":true}]}"),
                   200);
    WBT_ASSERT_STR(fstr(r.json, "/meta/modifiedBy"), T_U3);
    WBT_ASSERT_STR(fstr(r.json, "/meta/createdBy"), T_U1);
    WBT_ASSERT(strcmp(fstr(r.json, "/meta/etag"), etag) != 0);
    WBT_ASSERT(cJSON_IsTrue(wb_jsonptr__get(r.json, "/data/unavailable")));
    fr_free(&r);

    /* the client still holds the old etag */
    snprintf(path, sizeof(path), "/v2/interactions/%s", id);
    snprintf(hdr, sizeof(hdr), "etag: %s", etag);
    {
        CURL *c = curl_easy_init();
        struct curl_slist *h = NULL;
        char url[256];
        long status = 0;
        WBT_ASSERT(c != NULL);
        snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", s->port, path);
        h = curl_slist_append(h, TOKEN_HDR);
        h = curl_slist_append(h, hdr);
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PATCH");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS,
                         "{\"data\":[{\"op\":\"replace\",\"path\":\"/unavailable\","
                         "\"value\":false}]}");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fr_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
        memset(&r, 0, sizeof(r));
        if (curl_easy_perform(c) == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        r.json = r.body ? cJSON_Parse(r.body) : NULL;
        WBT_ASSERT_INT(status, 412);
        WBT_ASSERT_STR(fstr(r.json, "/name"), "ConcurrencyError");
        WBT_ASSERT_STR(fstr(r.json, "/data/meta/modifiedBy"), T_U3);
        fr_free(&r);
    }

    /* the user from a header, and a delete as that user */
    snprintf(path, sizeof(path), "/__admin/interactions/%s/edit", id);
    extra_hdr = "X-Wbs-User: " T_U2;
    WBT_ASSERT_INT(fcall(&r, s, "POST", path, ADMIN_HDR, "{\"delete\":true}"), 200);
    extra_hdr = NULL;
    WBT_ASSERT(cJSON_IsTrue(wb_jsonptr__get(r.json, "/meta/isDeleted")));
    WBT_ASSERT_STR(fstr(r.json, "/meta/modifiedBy"), T_U2);
    fr_free(&r);
    snprintf(path, sizeof(path), "/v2/interactions/%s", id);
    WBT_ASSERT_INT(fcall(&r, s, "GET", path, TOKEN_HDR, NULL), 404);
    fr_free(&r);
    snprintf(path, sizeof(path), "/__admin/interactions/%s/edit", id);
    WBT_ASSERT_INT(fcall(&r, s, "POST", path, ADMIN_HDR, "{\"delete\":true}"), 404);
    fr_free(&r);
}

static void test_server_faults__edit_refusals(void)
{
    const srv *s = fsrv();
    char ts[25], id[37], path[128];
    fr r;
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(fcall(&r, s, "POST", "/v2/interactions", TOKEN_HDR, body_at(ts)), 201);
    snprintf(id, sizeof(id), "%s", fstr(r.json, "/id"));
    fr_free(&r);
    snprintf(path, sizeof(path), "/__admin/interactions/%s/edit", id);
    static const char *const bad[] = {
        "", "nope", "[]", "{}", "{\"data\":{}}", "{\"user\":\"bob\",\"data\":[]}",
        "{\"user\":7,\"data\":[]}", "{\"delete\":1}",
        "{\"data\":[{\"op\":\"replace\",\"path\":\"/meta/etag\",\"value\":\"x\"}]}",
        "{\"data\":[{\"op\":\"replace\",\"path\":\"/campaignId\",\"value\":42}]}",
        "{\"data\":[{\"op\":\"remove\",\"path\":\"/nothere\"}]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (fcall(&r, s, "POST", path, ADMIN_HDR, bad[i]) != 400)
            WBT_FAIL("body %zu (%s): %ld %s", i, bad[i], r.status, r.body);
        fr_free(&r);
    }
    WBT_ASSERT_INT(fcall(&r, s, "POST", "/__admin/interactions/not-a-uuid/edit", ADMIN_HDR,
                         "{\"data\":[]}"),
                   400);
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, s, "POST",
                         "/__admin/interactions/00000000-0000-4000-8000-000000000000/edit",
                         ADMIN_HDR, "{\"data\":[]}"),
                   404);
    fr_free(&r);
    /* an empty patch is a write all the same: new etag, modifiedBy from the header */
    WBT_ASSERT_INT(fcall(&r, s, "POST", path, "X-Admin-Token: adm-secret", "{\"data\":[]}"), 200);
    WBT_ASSERT_STR(fstr(r.json, "/meta/modifiedBy"), "ad000000-0000-4000-8000-000000000000");
    fr_free(&r);
}

/* ---- dump and duplicates ------------------------------------------------------ */

static void test_server_faults__dump_finds_duplicates(void)
{
    const srv *s = fsrv();
    char ts[25], ts2[25], id1[37], id2[37], id3[37], other[37], body[1024];
    const cJSON *g, *found = NULL;
    fr r;
    int groups_with_id3 = 0;
    WBT_ASSERT(s != NULL);

    snprintf(body, sizeof(body), "%s", body_at(ts));
    WBT_ASSERT_INT(fcall(&r, s, "POST", "/v2/interactions", TOKEN_HDR, body), 201);
    snprintf(id1, sizeof(id1), "%s", fstr(r.json, "/id"));
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, s, "POST", "/v2/interactions", TOKEN_HDR, body), 201); /* again */
    snprintf(id2, sizeof(id2), "%s", fstr(r.json, "/id"));
    fr_free(&r);
    /* the same body from another customer is not a duplicate of those */
    WBT_ASSERT_INT(fcall(&r, s, "POST", "/v2/interactions", "Authorization: Bearer admin2", body),
                   201);
    snprintf(other, sizeof(other), "%s", fstr(r.json, "/id"));
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, s, "POST", "/v2/interactions", TOKEN_HDR, body_at(ts2)), 201);
    snprintf(id3, sizeof(id3), "%s", fstr(r.json, "/id"));
    fr_free(&r);

    WBT_ASSERT_INT(fcall(&r, s, "GET", "/__admin/dump", ADMIN_HDR, NULL), 200);
    WBT_ASSERT(cJSON_IsNumber(wb_jsonptr__get(r.json, "/records")));
    WBT_ASSERT_INT(cJSON_GetNumberValue(wb_jsonptr__get(r.json, "/records")),
                   cJSON_GetArraySize(wb_jsonptr__get(r.json, "/data")));
    cJSON_ArrayForEach(g, wb_jsonptr__get(r.json, "/duplicates")) {
        const cJSON *id;
        cJSON_ArrayForEach(id, g) {
            if (cJSON_IsString(id) && strcmp(id->valuestring, id1) == 0)
                found = g;
            if (cJSON_IsString(id) && (strcmp(id->valuestring, id3) == 0 ||
                                       strcmp(id->valuestring, other) == 0))
                groups_with_id3++;
        }
    }
    WBT_ASSERT(found != NULL);
    WBT_ASSERT_INT(cJSON_GetArraySize(found), 2);
    WBT_ASSERT_STR(cJSON_GetArrayItem(found, 0)->valuestring, id1); /* oldest first */
    WBT_ASSERT_STR(cJSON_GetArrayItem(found, 1)->valuestring, id2);
    WBT_ASSERT_INT(groups_with_id3, 0);
    fr_free(&r);

    /* a deleted duplicate no longer counts */
    {
        char path[128];
        snprintf(path, sizeof(path), "/__admin/interactions/%s/edit", id2);
        WBT_ASSERT_INT(fcall(&r, s, "POST", path, ADMIN_HDR, "{\"delete\":true}"), 200);
        fr_free(&r);
    }
    WBT_ASSERT_INT(fcall(&r, s, "GET", "/__admin/dump?data=false", ADMIN_HDR, NULL), 200);
    WBT_ASSERT(wb_jsonptr__get(r.json, "/data") == NULL);
    WBT_ASSERT(cJSON_GetNumberValue(wb_jsonptr__get(r.json, "/live")) <
               cJSON_GetNumberValue(wb_jsonptr__get(r.json, "/records")));
    found = NULL;
    cJSON_ArrayForEach(g, wb_jsonptr__get(r.json, "/duplicates")) {
        const cJSON *id;
        cJSON_ArrayForEach(id, g) if (cJSON_IsString(id) && strcmp(id->valuestring, id1) == 0)
            found = g;
    }
    WBT_ASSERT(found == NULL);
    fr_free(&r);
}

/* ---- tokens -------------------------------------------------------------------- */

static void test_server_faults__expire_token(void)
{
    const srv *s = fsrv();
    fr r;
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(fcall(&r, s, "GET", "/v2/interactions?limit=1", "Authorization: Bearer doomed",
                         NULL),
                   200);
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, s, "POST", "/__admin/tokens/expire", ADMIN_HDR,
                         "{\"token\":\"doomed\"}"),
                   200);
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, s, "GET", "/v2/interactions?limit=1", "Authorization: Bearer doomed",
                         NULL),
                   401);
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, s, "POST", "/__admin/tokens/expire", ADMIN_HDR,
                         "{\"token\":\"doomed\"}"),
                   404);
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, s, "POST", "/__admin/tokens/expire", ADMIN_HDR, "{\"tok\":1}"), 400);
    fr_free(&r);
    WBT_ASSERT_INT(fcall(&r, s, "GET", "/v2/interactions?limit=1", TOKEN_HDR, NULL), 200);
    fr_free(&r);
}

static void test_server_faults__zz_clean_shutdown(void)
{
    WBT_ASSERT(fsrv() != NULL);
    WBT_ASSERT_INT(srv_stop(&fault_server), 0);
}

static const wbt_case cases[] = {
    WBT_CASE(test_server_faults__admin_absent_without_flag),
    WBT_CASE(test_server_faults__admin_token_required),
    WBT_CASE(test_server_faults__status_with_retry_after),
    WBT_CASE(test_server_faults__delay),
    WBT_CASE(test_server_faults__drop_after_applies),
    WBT_CASE(test_server_faults__drop_before_does_not_apply),
    WBT_CASE(test_server_faults__truncate),
    WBT_CASE(test_server_faults__garbage),
    WBT_CASE(test_server_faults__count_first_n),
    WBT_CASE(test_server_faults__probability_reproducible),
    WBT_CASE(test_server_faults__faults_file_at_start),
    WBT_CASE(test_server_faults__runtime_switching),
    WBT_CASE(test_server_faults__admin_routes_never_faulted),
    WBT_CASE(test_server_faults__edit_as_other_user_conflicts),
    WBT_CASE(test_server_faults__edit_refusals),
    WBT_CASE(test_server_faults__dump_finds_duplicates),
    WBT_CASE(test_server_faults__expire_token),
    WBT_CASE(test_server_faults__zz_clean_shutdown),
};

WBT_MAIN(cases, setup, NULL)
