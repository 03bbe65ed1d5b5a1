/*
 * test_sync_engine.c - the sync engine's decisions without sockets: the
 * Polis mapping (URLs, bodies), push plans and response verdicts, backoff,
 * the reconcile match, watermark advance, and whole runs against a stub
 * wb_transport that answers from a script (retries, Retry-After, deferral,
 * 401 with and without a token refresh, rejection with the server's
 * message, exactly-once after a lost response).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "sync_int.h"
#include "wbtest.h"

static void setup(void)
{
    if (wb__global_init() < 0)
        exit(2);
}

/* ---- Polis mapping ------------------------------------------------------------ */

static void test_sync_engine__urls(void)
{
    wb_buf b = WB_BUF_INIT, f = WB_BUF_INIT;
    WBT_OK(wb_polis__pull_filter(&f, "2024-01-01T00:00:00.000Z"));
    WBT_ASSERT_STR(f.ptr, "/meta/modified gte \"2024-01-01T00:00:00.000Z\" and "
                          "/meta/isDeleted in [true,false]");
    WBT_OK(wb_polis__list_url(&b, "http://h", WB_API_V2, f.ptr, 200, 400));
    WBT_ASSERT_STR(b.ptr, "http://h/v2/interactions?filter=%2Fmeta%2Fmodified%20gte%20%22"
                          "2024-01-01T00%3A00%3A00.000Z%22%20and%20%2Fmeta%2FisDeleted%20in%20"
                          "%5Btrue%2Cfalse%5D&sort=%2Fmeta%2Fmodified&sort=ASC&sort=id&sort=ASC"
                          "&limit=200&skip=400");
    wb_buf__clear(&b);
    WBT_OK(wb_polis__list_url(&b, "http://h", WB_API_V1, "x", 5, 0));
    WBT_ASSERT_STR(b.ptr, "http://h/v1/interactions?filter=x&sort=%5B%22%2Fmeta%2Fmodified%22"
                          "%2C%22ASC%22%2C%22id%22%2C%22ASC%22%5D&limit=5&skip=0");
    wb_buf__clear(&b);
    wb_buf__clear(&f);
    WBT_OK(wb_polis__pull_filter(&f, ""));
    WBT_ASSERT_STR(f.ptr, "/meta/isDeleted in [true,false]");
    wb_buf__clear(&f);
    WBT_OK(wb_polis__reconcile_filter(&f, "c", "k"));
    WBT_ASSERT_STR(f.ptr, "/data/contactId eq \"c\" and /data/campaignId eq \"k\"");
    WBT_OK(wb_polis__record_url(&b, "http://h", WB_API_V1, "abc"));
    WBT_ASSERT_STR(b.ptr, "http://h/v1/interactions/abc");
    wb_buf__free(&b);
    wb_buf__free(&f);
}

static void test_sync_engine__bodies(void)
{
    wb_buf b = WB_BUF_INIT;
    size_t n = 0;
    WBT_OK(wb_polis__create_body(&b, WB_API_V2, "L", "{\"a\":1}"));
    WBT_ASSERT_STR(b.ptr, "{\"id\":\"L\",\"a\":1}");
    wb_buf__clear(&b);
    WBT_OK(wb_polis__create_body(&b, WB_API_V1, "L", "{\"a\":1}"));
    WBT_ASSERT_STR(b.ptr, "{\"id\":\"L\",\"data\":{\"a\":1}}");
    wb_buf__clear(&b);
    WBT_OK(wb_polis__create_body(&b, WB_API_V2, "L", "{}"));
    WBT_ASSERT_STR(b.ptr, "{\"id\":\"L\"}");
    wb_buf__clear(&b);
    /* PATCH paths relative to data. */
    WBT_OK(wb_polis__patch_body(&b, &n, "{\"a\":1,\"s\":{\"q\":1}}", "{\"a\":1,\"s\":{\"q\":2}}", 0));
    WBT_ASSERT_INT(n, 1);
    WBT_ASSERT_STR(b.ptr, "{\"data\":[{\"op\":\"replace\",\"path\":\"/s/q\",\"value\":2}]}");
    /* The older path base, under /data/. */
    wb_buf__clear(&b);
    WBT_OK(wb_polis__patch_body(&b, &n, "{\"a\":1,\"s\":{\"q\":1}}", "{\"s\":{\"q\":2}}", 1));
    WBT_ASSERT_INT(n, 2);
    WBT_ASSERT_CONTAINS(b.ptr, "\"path\":\"/data/s/q\"");
    WBT_ASSERT_CONTAINS(b.ptr, "\"path\":\"/data/a\"");
    wb_buf__free(&b);
}

/* An answer read from its text (the push's acknowledgement) only when it
 * echoes the data sent and the parser would take it; 0 sends it to the
 * parsed path. */
static void test_sync_engine__echo_read(void)
{
#define ECHO_ID "0b0b0b0b-0000-4000-8000-000000000001"
#define ECHO_META "\"meta\":{\"etag\":\"e1\",\"created\":\"2024-05-01T00:00:00.000Z\"," \
                  "\"modified\":\"2024-05-01T00:00:01.000Z\",\"createdBy\":\"u1\"," \
                  "\"isDeleted\":false,\"modifiedBy\":\"u2\"}"
    const char *sent = "{\"a\":1,\"s\":{\"q\":\"x\\\"y\"}}";
    const char *ok = "{\"id\":\"" ECHO_ID "\",\"data\":{\"a\":1,\"s\":{\"q\":\"x\\\"y\"}},"
                     ECHO_META ",\"customerId\":\"c\",\"securityGroupId\":\"g\"}";
    static const char *const not_read[] = {
        /* other data (the server filled a member): parsed */
        "{\"id\":\"" ECHO_ID "\",\"data\":{\"a\":2,\"s\":{\"q\":\"x\\\"y\"}}," ECHO_META "}",
        /* the same data spelled otherwise */
        "{\"id\":\"" ECHO_ID "\",\"data\":{\"a\":1, \"s\":{\"q\":\"x\\\"y\"}}," ECHO_META "}",
        /* a duplicate member, which the parser refuses */
        "{\"id\":\"" ECHO_ID "\",\"id\":\"" ECHO_ID "\",\"data\":{\"a\":1,\"s\":{\"q\":\"x\\\"y\"}},"
        ECHO_META "}",
        /* an escaped name (it might spell one read here) */
        "{\"\\u0069d\":\"" ECHO_ID "\",\"data\":{\"a\":1,\"s\":{\"q\":\"x\\\"y\"}}," ECHO_META "}",
        /* an escape in a string kept */
        "{\"id\":\"" ECHO_ID "\",\"data\":{\"a\":1,\"s\":{\"q\":\"x\\\"y\"}},\"meta\":{\"etag\":\"e\\n\"}}",
        /* an object of its own, which could hide a duplicate */
        "{\"id\":\"" ECHO_ID "\",\"x\":{\"k\":1,\"k\":2},\"data\":{\"a\":1,\"s\":{\"q\":\"x\\\"y\"}},"
        ECHO_META "}",
        /* no etag, an id that is no UUID, no meta */
        "{\"id\":\"" ECHO_ID "\",\"data\":{\"a\":1,\"s\":{\"q\":\"x\\\"y\"}},\"meta\":{}}",
        "{\"id\":\"x\",\"data\":{\"a\":1,\"s\":{\"q\":\"x\\\"y\"}}," ECHO_META "}",
        "{\"id\":\"" ECHO_ID "\",\"data\":{\"a\":1,\"s\":{\"q\":\"x\\\"y\"}}}",
        /* not JSON: cut, text after it, not an object */
        "{\"id\":\"" ECHO_ID "\",\"data\":{\"a\":1,\"s\":{\"q\":\"x\\\"y\"}}," ECHO_META,
        "{\"id\":\"" ECHO_ID "\",\"data\":{\"a\":1,\"s\":{\"q\":\"x\\\"y\"}}," ECHO_META "} x",
        "[1]",
        "",
    };
    wb_syncstore_echo e;
    WBT_ASSERT_INT(wb_polis__read_echo(&e, ok, strlen(ok), sent), 1);
    WBT_ASSERT_STR(e.id, ECHO_ID);
    WBT_ASSERT_STR(e.etag, "e1");
    WBT_ASSERT_STR(e.created, "2024-05-01T00:00:00.000Z");
    WBT_ASSERT_STR(e.modified, "2024-05-01T00:00:01.000Z");
    WBT_ASSERT_STR(e.created_by, "u1");
    WBT_ASSERT_STR(e.modified_by, "u2");
    WBT_ASSERT_STR(e.customer, "c");
    WBT_ASSERT_STR(e.group, "g");
    for (size_t i = 0; i < sizeof(not_read) / sizeof(not_read[0]); i++) {
        if (wb_polis__read_echo(&e, not_read[i], strlen(not_read[i]), sent) != 0)
            WBT_FAIL("case %zu read as an echo: %s", i, not_read[i]);
    }
    WBT_ASSERT(wb_error_last() == NULL);
#undef ECHO_ID
#undef ECHO_META
}

static void test_sync_engine__verdicts(void)
{
    wb_http_response r = {0, NULL, 0, -1, 1, 0};
    char msg[128];
    char body412[] = "{\"name\":\"ConcurrencyError\",\"message\":\"stale\"}";
    char body403[] = "{\"name\":\"ForbiddenError\",\"message\":\"this role may not delete\"}";
    r.status = 201;
    WBT_ASSERT_INT(wb_push__classify(WB_PUSH_CREATE, 0, &r), WB_VERDICT_OK);
    r.status = 404;
    WBT_ASSERT_INT(wb_push__classify(WB_PUSH_DELETE, 0, &r), WB_VERDICT_GONE);
    r.status = 410;
    WBT_ASSERT_INT(wb_push__classify(WB_PUSH_DELETE, 0, &r), WB_VERDICT_GONE);
    r.status = 404;
    WBT_ASSERT_INT(wb_push__classify(WB_PUSH_UPDATE, 0, &r), WB_VERDICT_GONE);
    WBT_ASSERT_INT(wb_push__classify(WB_PUSH_CREATE, 0, &r), WB_VERDICT_REJECT);
    r.status = 412;
    WBT_ASSERT_INT(wb_push__classify(WB_PUSH_UPDATE, 0, &r), WB_VERDICT_CONCURRENCY);
    r.status = 409;
    WBT_ASSERT_INT(wb_push__classify(WB_PUSH_DELETE, 0, &r), WB_VERDICT_CONCURRENCY);
    r.status = 400;
    r.body = body412;
    r.body_len = strlen(body412);
    WBT_ASSERT_INT(wb_push__classify(WB_PUSH_UPDATE, 0, &r), WB_VERDICT_CONCURRENCY);
    WBT_ASSERT_INT(wb_push__classify(WB_PUSH_CREATE, 0, &r), WB_VERDICT_REJECT);
    r.status = 403;
    r.body = body403;
    r.body_len = strlen(body403);
    WBT_ASSERT_INT(wb_push__classify(WB_PUSH_DELETE, 0, &r), WB_VERDICT_REJECT);
    wb_polis__message(msg, sizeof(msg), &r);
    WBT_ASSERT_STR(msg, "HTTP 403: this role may not delete");
    r.body = NULL;
    r.body_len = 0;
    for (int st = 500; st < 600; st += 3) {
        r.status = st;
        WBT_ASSERT_INT(wb_push__classify(WB_PUSH_CREATE, 0, &r), WB_VERDICT_RETRY);
    }
    r.status = 408;
    WBT_ASSERT_INT(wb_push__classify(WB_PUSH_UPDATE, 0, &r), WB_VERDICT_RETRY);
    r.status = 429;
    WBT_ASSERT_INT(wb_push__classify(WB_PUSH_UPDATE, 0, &r), WB_VERDICT_RETRY);
    r.status = 0;
    WBT_ASSERT_INT(wb_push__classify(WB_PUSH_CREATE, WB_EOFFLINE, &r), WB_VERDICT_RETRY);
    WBT_ASSERT_INT(wb_push__classify(WB_PUSH_CREATE, WB_EAUTH, &r), WB_VERDICT_AUTH);
    WBT_ASSERT_INT(wb_push__classify(WB_PUSH_CREATE, WB_ERROR, &r), WB_VERDICT_CANCEL);
}

static void test_sync_engine__plans(void)
{
    wb_pending p;
    memset(&p, 0, sizeof(p));
    WBT_ASSERT_INT(wb_push__plan(&p, 0), WB_PUSH_CREATE);
    WBT_ASSERT_INT(wb_push__plan(&p, 1), WB_PUSH_RECONCILE);
    p.deleted = 1;
    WBT_ASSERT_INT(wb_push__plan(&p, 0), WB_PUSH_NOTHING);
    WBT_ASSERT_INT(wb_push__plan(&p, 1), WB_PUSH_RECONCILE);
    strcpy(p.server_id, "s");
    WBT_ASSERT_INT(wb_push__plan(&p, 1), WB_PUSH_DELETE);
    p.deleted = 0;
    WBT_ASSERT_INT(wb_push__plan(&p, 0), WB_PUSH_UPDATE);
}

static void test_sync_engine__backoff(void)
{
    /* Full jitter: 0 … min(max, base·2^(n-1)); Retry-After is a floor. */
    WBT_ASSERT_INT(wb_push__backoff_ms(1, 100, 10000, -1, 0), 0);
    WBT_ASSERT_INT(wb_push__backoff_ms(1, 100, 10000, -1, 0xffffffffu), 100);
    WBT_ASSERT_INT(wb_push__backoff_ms(3, 100, 10000, -1, 0xffffffffu), 400);
    WBT_ASSERT_INT(wb_push__backoff_ms(30, 100, 10000, -1, 0xffffffffu), 10000);
    WBT_ASSERT_INT(wb_push__backoff_ms(2, 100, 10000, -1, 0x80000000u), 100);
    WBT_ASSERT_INT(wb_push__backoff_ms(1, 100, 10000, 3, 0xffffffffu), 3000);
    WBT_ASSERT_INT(wb_push__backoff_ms(5, 100, 10000, 0, 0xffffffffu), 1600);
}

static void test_sync_engine__reconcile_match(void)
{
    wb_pending p;
    cJSON *items = NULL;
    const cJSON *m;
    const char *text =
        "[{\"id\":\"1\",\"data\":{\"timestamp\":\"T\",\"contactId\":\"C\",\"campaignId\":\"K\"},"
        "\"meta\":{\"createdBy\":\"other\",\"created\":\"1\",\"isDeleted\":false}},"
        "{\"id\":\"2\",\"data\":{\"timestamp\":\"T2\",\"contactId\":\"C\",\"campaignId\":\"K\"},"
        "\"meta\":{\"createdBy\":\"me\",\"created\":\"1\",\"isDeleted\":false}},"
        "{\"id\":\"3\",\"data\":{\"timestamp\":\"T\",\"contactId\":\"C\",\"campaignId\":\"K\"},"
        "\"meta\":{\"createdBy\":\"me\",\"created\":\"2\",\"isDeleted\":true}},"
        "{\"id\":\"5\",\"data\":{\"timestamp\":\"T\",\"contactId\":\"C\",\"campaignId\":\"K\"},"
        "\"meta\":{\"createdBy\":\"me\",\"created\":\"3\",\"isDeleted\":false}},"
        "{\"id\":\"4\",\"data\":{\"timestamp\":\"T\",\"contactId\":\"C\",\"campaignId\":\"K\"},"
        "\"meta\":{\"createdBy\":\"me\",\"created\":\"3\",\"isDeleted\":false}}]";
    memset(&p, 0, sizeof(p));
    strcpy(p.ts, "T");
    strcpy(p.contact_id, "C");
    strcpy(p.campaign_id, "K");
    WBT_OK(wb_json__parse(&items, text, strlen(text), NULL, "t"));
    m = wb_push__reconcile_match(items, &p, "me");
    WBT_ASSERT(m != NULL);
    WBT_ASSERT_STR(wb_json__get(m, "id")->valuestring, "4");
    WBT_ASSERT(wb_push__reconcile_match(items, &p, "nobody") == NULL);
    cJSON_Delete(items);
}

static void test_sync_engine__watermark_advance(void)
{
    char modified[WB_TIMESTAMP_LEN + 1] = "";
    char *seen = NULL, *seen2 = NULL;
    cJSON *page = NULL, *page2 = NULL;
    const char *p1 =
        "[{\"id\":\"a\",\"meta\":{\"etag\":\"1\",\"modified\":\"2024-01-01T00:00:00.000Z\"}},"
        "{\"id\":\"b\",\"meta\":{\"etag\":\"1\",\"modified\":\"2024-01-01T00:00:01.000Z\"}},"
        "{\"id\":\"c\",\"meta\":{\"etag\":\"1\",\"modified\":\"2024-01-01T00:00:01.000Z\"}}]";
    const char *p2 =
        "[{\"id\":\"c\",\"meta\":{\"etag\":\"1\",\"modified\":\"2024-01-01T00:00:01.000Z\"}},"
        "{\"id\":\"d\",\"meta\":{\"etag\":\"1\",\"modified\":\"2024-01-01T00:00:01.000Z\"}}]";
    WBT_OK(wb_json__parse(&page, p1, strlen(p1), NULL, "t"));
    WBT_OK(wb_json__parse(&page2, p2, strlen(p2), NULL, "t"));
    WBT_OK(wb_pull__advance(modified, &seen, NULL, page));
    WBT_ASSERT_STR(modified, "2024-01-01T00:00:01.000Z");
    WBT_ASSERT_STR(seen, "[\"b:1\",\"c:1\"]");
    /* Ties continue across pages; a repeated key is kept once. */
    WBT_OK(wb_pull__advance(modified, &seen2, seen, page2));
    WBT_ASSERT_STR(seen2, "[\"b:1\",\"c:1\",\"d:1\"]");
    wb__free(seen);
    wb__free(seen2);
    cJSON_Delete(page);
    cJSON_Delete(page2);
}

static void test_sync_engine__next_skip_reads_one_again(void)
{
    /* Pages of 3 with one row at the last value: nothing skipped, the row
     * is read again (skipping it made a page start past a row that moved
     * up when that one changed between the two queries). */
    WBT_ASSERT_INT((long)wb_pull__next_skip(1, 3), 0);
    WBT_ASSERT_INT((long)wb_pull__next_skip(3, 3), 2);
    WBT_ASSERT_INT((long)wb_pull__next_skip(0, 200), 0);
    /* A quarter of a page read again, at most all but one row of it. */
    WBT_ASSERT_INT((long)wb_pull__next_skip(500, 200), 450);
    WBT_ASSERT_INT((long)wb_pull__next_skip(10, 2), 9);
    WBT_ASSERT_INT((long)wb_pull__next_skip(10, 4), 9);
    WBT_ASSERT_INT((long)wb_pull__next_skip(10, 8), 8);
}

/* ---- whole runs against a scripted transport ------------------------------------ */

typedef struct stub {
    int statuses[16]; /* answers to POSTs in order; 0 = no response (sent) */
    int n, next;
    long retry_after;
    int posts, gets, auth401;
    char last_auth[64];
    char created_id[40];
    const char *pages[4]; /* answers to GETs in order, when set */
} stub;

static char *stub_env(const char *id, const char *data)
{
    char *b = malloc(strlen(data) + 512);
    sprintf(b,
            "{\"id\":\"%s\",\"data\":%s,\"meta\":{\"etag\":\"e1\",\"created\":"
            "\"2024-01-01T00:00:00.000Z\",\"modified\":\"2024-01-01T00:00:00.000Z\","
            "\"createdBy\":\"" FX_USER "\",\"modifiedBy\":\"" FX_USER "\",\"isDeleted\":false},"
            "\"customerId\":\"" FX_CUSTOMER "\"}",
            id, data);
    return b;
}

static int stub_send(void *ctx, const wb_http_request *req, wb_http_response *resp)
{
    stub *s = ctx;
    memset(resp, 0, sizeof(*resp));
    resp->retry_after_s = -1;
    resp->sent = 1;
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcmp(req->headers[i].name, "Authorization") == 0)
            snprintf(s->last_auth, sizeof(s->last_auth), "%s", req->headers[i].value);
    if (s->auth401 > 0) {
        s->auth401--;
        resp->status = 401;
        return 0;
    }
    if (strcmp(req->method, "GET") == 0) {
        const char *page = s->gets < 4 && s->pages[s->gets] ? s->pages[s->gets] : NULL;
        s->gets++;
        resp->status = 200;
        resp->body = strdup(page ? page : "{\"data\":[],\"meta\":{}}");
        resp->body_len = strlen(resp->body);
        return 0;
    }
    s->posts++;
    resp->status = s->next < s->n ? s->statuses[s->next++] : 201;
    if (resp->status == 0)
        return wb_error__set(WB_EOFFLINE, WB_ERRCLASS_NET, "dropped");
    resp->retry_after_s = resp->status == 503 ? s->retry_after : -1;
    if (resp->status == 201) {
        /* Echo the body as the stored data (minus the client id). */
        cJSON *b = NULL;
        char *data;
        wb_json__parse(&b, req->body, req->body_len, NULL, "b");
        cJSON_DeleteItemFromObjectCaseSensitive(b, "id");
        data = cJSON_PrintUnformatted(b);
        snprintf(s->created_id, sizeof(s->created_id), "%s", fx_uuid(7000 + (unsigned)s->posts));
        resp->body = stub_env(s->created_id, data);
        resp->body_len = strlen(resp->body);
        cJSON_free(data);
        cJSON_Delete(b);
    } else if (resp->status == 403) {
        resp->body = strdup("{\"name\":\"ForbiddenError\",\"message\":\"no campaign access\"}");
        resp->body_len = strlen(resp->body);
    }
    return 0;
}

static void stub_free(void *ctx, char *body)
{
    (void)ctx;
    free(body);
}

/* The test clock: waits are instant and move the clock. */
static int64_t slept_total, sleeps, fake_now = 1700000000000;
static void fake_sleep(void *ctx, int64_t ms)
{
    (void)ctx;
    slept_total += ms;
    sleeps++;
    fake_now += ms;
}

static int64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static const wb_clock test_clock = {WB_CLOCK_VERSION, fake_clock, fake_sleep, NULL};

static int new_token(char *buf, size_t size, void *ud)
{
    (void)ud;
    snprintf(buf, size, "fresh");
    return 0;
}

/* A refresh that gives what cannot go into a header line. */
static int bad_token(char *buf, size_t size, void *ud)
{
    (void)ud;
    snprintf(buf, size, "fresh\r\nX-Other: 1");
    return 0;
}

/* One record, one run against the stub; the sync handle is returned for
 * inspection of its report (freed by the caller). */
static int stub_run(wb_sync **out, stub *st, int max_attempts, int with_refresh,
                    const char *store_name, char **local_id)
{
    static wb_transport t;
    wb_sync_options o = WB_SYNC_OPTIONS_INIT;
    wb_store *store = fx_store(store_name);
    int rc;
    if (!store)
        return -100;
    rc = wb_interaction_record(local_id, store, fx_body(NULL, NULL, NULL));
    wb_store_free(store);
    if (rc != 0)
        return rc;
    t.version = WB_TRANSPORT_VERSION;
    t.send = stub_send;
    t.free_body = stub_free;
    t.ctx = st;
    o.base_url = "http://stub";
    o.token = "old";
    o.transport = &t;
    o.max_attempts = max_attempts;
    o.backoff_base_ms = 100;
    o.backoff_max_ms = 5000;
    o.token_refresh = with_refresh == 2 ? bad_token : with_refresh ? new_token : NULL;
    o.clock = &test_clock;
    if ((rc = wb_sync_new(out, wbt_path(store_name), fx_store_options(), &o)) != 0)
        return rc;
    slept_total = 0;
    sleeps = 0;
    return wb_sync_run(NULL, *out);
}

static const char *state_in(wb_sync *s, const char *id)
{
    static char buf[64];
    char *info = NULL;
    const char *p;
    buf[0] = '\0';
    if (wb_interaction_sync_info(&info, s->store, id) == 0 && (p = strstr(info, "\"state\":\"")))
        snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(p + 9, "\""), p + 9);
    wb_free(info);
    return buf;
}

static void test_sync_engine__retries_then_succeeds(void)
{
    stub st = {{503, 500, 201}, 3, 0, 2, 0, 0, 0, "", "", {NULL}};
    wb_sync *s = NULL;
    char *id = NULL;
    WBT_OK(stub_run(&s, &st, 5, 0, "e1.db", &id));
    WBT_ASSERT_INT(st.posts, 3);
    WBT_ASSERT_INT(s->report.created, 1);
    /* The 503 said Retry-After: 2, so at least 2 s were waited. */
    WBT_ASSERT(slept_total >= 2000);
    WBT_ASSERT_STR(state_in(s, id), "synced");
    wb_sync_free(s);
    wb_free(id);
}

static void test_sync_engine__deferred_after_max_attempts(void)
{
    stub st = {{500, 500, 500, 500}, 4, 0, -1, 0, 0, 0, "", "", {NULL}};
    wb_sync *s = NULL;
    char *id = NULL;
    WBT_OK(stub_run(&s, &st, 3, 0, "e2.db", &id));
    WBT_ASSERT_INT(st.posts, 3);
    WBT_ASSERT_INT(s->report.deferred, 1);
    WBT_ASSERT_STR(state_in(s, id), "pending_create");
    wb_sync_free(s);
    wb_free(id);
}

static void test_sync_engine__long_retry_after_defers(void)
{
    stub st = {{503}, 1, 0, 3600, 0, 0, 0, "", "", {NULL}};
    wb_sync *s = NULL;
    char *id = NULL;
    WBT_OK(stub_run(&s, &st, 5, 0, "e3.db", &id));
    WBT_ASSERT_INT(st.posts, 1);
    WBT_ASSERT_INT(s->report.deferred, 1);
    WBT_ASSERT_INT(slept_total, 0);
    wb_sync_free(s);
    wb_free(id);
}

static void test_sync_engine__rejected_with_message(void)
{
    stub st = {{403}, 1, 0, -1, 0, 0, 0, "", "", {NULL}};
    wb_sync *s = NULL;
    char *id = NULL, *info = NULL;
    WBT_OK(stub_run(&s, &st, 5, 0, "e4.db", &id));
    WBT_ASSERT_INT(s->report.rejected, 1);
    WBT_ASSERT_STR(state_in(s, id), "rejected");
    WBT_OK(wb_interaction_sync_info(&info, s->store, id));
    WBT_ASSERT_CONTAINS(info, "no campaign access");
    wb_free(info);
    wb_sync_free(s);
    wb_free(id);
}

static void test_sync_engine__lost_response_reconciles_before_posting(void)
{
    /* The POST's answer is lost; the list finds nothing (the stub lists
     * nothing), so it is posted again - once. */
    stub st = {{0, 201}, 2, 0, -1, 0, 0, 0, "", "", {NULL}};
    wb_sync *s = NULL;
    char *id = NULL;
    WBT_OK(stub_run(&s, &st, 5, 0, "e5.db", &id));
    WBT_ASSERT_INT(st.posts, 2);
    WBT_ASSERT(st.gets >= 1); /* the reconcile query came between */
    WBT_ASSERT_STR(state_in(s, id), "synced");
    wb_sync_free(s);
    wb_free(id);
}

static void test_sync_engine__auth_refresh_once(void)
{
    stub st = {{201}, 1, 0, -1, 0, 0, 1, "", "", {NULL}};
    stub st2 = {{201}, 1, 0, -1, 0, 0, 5, "", "", {NULL}};
    wb_sync *s = NULL;
    char *id = NULL;
    WBT_OK(stub_run(&s, &st, 5, 1, "e6.db", &id));
    WBT_ASSERT_STR(st.last_auth, "Bearer fresh");
    WBT_ASSERT_STR(state_in(s, id), "synced");
    wb_sync_free(s);
    wb_free(id);
    id = NULL;
    s = NULL;
    WBT_ASSERT_INT(stub_run(&s, &st2, 5, 1, "e7.db", &id), WB_EAUTH);
    WBT_ASSERT(wb_error_last() && !strstr(wb_error_last()->message, "fresh"));
    wb_sync_free(s);
    wb_free(id);
    {
        /* A refreshed token with a line break counts as none: it is never
         * sent, and the run stops on the 401. */
        stub st3 = {{201}, 1, 0, -1, 0, 0, 1, "", "", {NULL}};
        id = NULL;
        s = NULL;
        WBT_ASSERT_INT(stub_run(&s, &st3, 5, 2, "e7b.db", &id), WB_EAUTH);
        WBT_ASSERT_STR(st3.last_auth, "Bearer old");
        wb_sync_free(s);
        wb_free(id);
    }
}

/* The pull reads a page as text, element by element: members around
 * "data", brackets and quotes inside strings; a page cut inside an element
 * is unreadable and asked again. */
static void test_sync_engine__pull_page_text(void)
{
    stub st;
    wb_sync *s = NULL;
    char *e1, *e2, page[4096];
    const char *data = "{\"campaignId\":\"c]1\",\"contactId\":\"k\\\"[2\",\"timestamp\":"
                       "\"2024-01-01T00:00:00.000Z\",\"note\":\"}{][\\\\\"}";
    memset(&st, 0, sizeof(st));
    e1 = stub_env(fx_uuid(8001), data);
    e2 = stub_env(fx_uuid(8002), data);
    snprintf(page, sizeof(page),
             " { \"meta\" : {\"n\":[1,2,{\"k\":\"}]\"}]}, \"data\" : [ %s ,\n%s ] , "
             "\"x\":\"a\\\"b\", \"t\":true } ",
             e1, e2);
    st.pages[0] = "{\"data\":[{\"id\":\"x\",\"data\":{\"a\":\"]\"}";
    st.pages[1] = page;
    WBT_OK(stub_run(&s, &st, 5, 0, "pagetext.db", NULL));
    WBT_ASSERT_INT(st.gets, 2);
    WBT_ASSERT_INT(s->report.inserted, 2);
    /* One backoff before the second GET; full jitter draws it from 0 to
     * 100 ms, and a wait of 0 sleeps not at all (about 1 run in 100). */
    WBT_ASSERT(sleeps <= 1 && slept_total <= 100);
    wb_sync_free(s);
    free(e1);
    free(e2);
}

/* A page's keys (id, meta.etag, meta.modified) are read from its checked
 * text; member names or values with escapes are read as cJSON reads them
 * (the element is parsed for them), members in any order. */
static void test_sync_engine__pull_page_keys(void)
{
    stub st;
    wb_sync *s = NULL;
    char *e[4], page[8192], id3[64], escaped[80], modified[WB_TIMESTAMP_LEN + 1], *seen = NULL,
                                                  key[96];
    const char *data = "{\"campaignId\":\"c1\",\"contactId\":\"k2\",\"timestamp\":"
                       "\"2024-01-01T00:00:00.000Z\"}";
    memset(&st, 0, sizeof(st));
    e[0] = stub_env(fx_uuid(8101), data);
    /* The member name "id" spelled with an escape, members in another order. */
    e[1] = malloc(1024);
    sprintf(e[1],
            "{\"meta\":{\"modified\":\"2024-01-01T00:00:00.000Z\",\"etag\":\"e1\","
            "\"isDeleted\":false,\"createdBy\":\"" FX_USER "\"},\"customerId\":\"" FX_CUSTOMER
            "\",\"data\":%s,\"\\u0069d\":\"%s\"}",
            data, fx_uuid(8102));
    /* The id value with an escape: stored under the id it spells. */
    snprintf(id3, sizeof(id3), "%s", fx_uuid(8103));
    snprintf(escaped, sizeof(escaped), "\\u00%02x%s", (unsigned char)id3[0], id3 + 1);
    e[2] = stub_env(escaped, data);
    /* The etag with an escape ("e\u0031" is "e1"). */
    e[3] = malloc(1024);
    sprintf(e[3],
            "{\"id\":\"%s\",\"data\":%s,\"meta\":{\"etag\":\"e\\u0031\",\"modified\":"
            "\"2024-01-01T00:00:00.000Z\",\"isDeleted\":false,\"createdBy\":\"" FX_USER "\"},"
            "\"customerId\":\"" FX_CUSTOMER "\"}",
            fx_uuid(8104), data);
    snprintf(page, sizeof(page), "{\"data\":[%s,%s,%s,%s]}", e[0], e[1], e[2], e[3]);
    st.pages[0] = page;
    WBT_OK(stub_run(&s, &st, 5, 0, "pagekeys.db", NULL));
    WBT_ASSERT_INT(st.gets, 1);
    WBT_ASSERT_INT(s->report.inserted, 4);
    WBT_ASSERT_INT(s->report.refused, 0);
    WBT_ASSERT_STR(state_in(s, fx_uuid(8102)), "synced");
    WBT_ASSERT_STR(state_in(s, id3), "synced");
    /* The watermark holds each key as decoded. */
    WBT_OK(wb_syncstore__watermark(modified, &seen, s->store, "interactions", s->scope));
    WBT_ASSERT_STR(modified, "2024-01-01T00:00:00.000Z");
    for (unsigned i = 0; i < 4; i++) {
        snprintf(key, sizeof(key), "\"%s:e1\"", i == 2 ? id3 : fx_uuid(8101 + i));
        WBT_ASSERT_CONTAINS(seen, key);
    }
    wb__free(seen);
    wb_sync_free(s);
    for (int i = 0; i < 4; i++)
        free(e[i]);
}

static void test_sync_engine__options_checked(void)
{
    wb_sync_options o;
    wb_sync *s = NULL;
    WBT_OK(wb_sync_options_init(&o, WB_SYNC_OPTIONS_VERSION));
    WBT_ASSERT_INT(o.page_size, 200);
    WBT_FAILS(wb_sync_new(&s, wbt_path("e8.db"), NULL, &o), WB_EINVALID, "base_url");
    o.base_url = "ftp://x";
    WBT_FAILS(wb_sync_new(&s, wbt_path("e8.db"), NULL, &o), WB_EINVALID, "base_url");
    o.base_url = "http://x";
    o.policy = 9;
    WBT_FAILS(wb_sync_new(&s, wbt_path("e8.db"), NULL, &o), WB_EINVALID, "policy");
    WBT_ASSERT(s == NULL);
    o.policy = WB_POLICY_MERGE;
    o.token = "abc\r\nX-Other: 1";
    WBT_FAILS(wb_sync_new(&s, wbt_path("e8.db"), NULL, &o), WB_EINVALID, "token has a control");
    WBT_ASSERT(strstr(wb_error_last()->message, "abc") == NULL); /* never quoted */
    o.token = NULL;
    o.version = WB_SYNC_OPTIONS_VERSION + 1;
    WBT_FAILS(wb_sync_new(&s, wbt_path("e8.db"), NULL, &o), WB_EINVALID, "version");
    {
        /* Version 2 checks its clock; a version 1 struct ends before it. */
        wb_clock bad = {99, NULL, NULL, NULL};
        wb_store *st = fx_store("e8.db");
        WBT_ASSERT(st != NULL);
        wb_store_free(st);
        o.version = 2;
        o.clock = &bad;
        WBT_FAILS(wb_sync_new(&s, wbt_path("e8.db"), NULL, &o), WB_EINVALID, "clock");
        WBT_OK(wb_sync_options_init(&o, 1));
        WBT_ASSERT_INT(o.version, 1);
        o.base_url = "http://x";
        o.clock = &bad; /* not read: not part of a version 1 struct */
        WBT_OK(wb_sync_new(&s, wbt_path("e8.db"), fx_store_options(), &o));
        WBT_ASSERT(s->clock.now_ms == NULL);
        WBT_ASSERT_INT(s->opts.pull_txn_records, 500);
        wb_sync_free(s);
        s = NULL;
        /* Version 6: records a pull transaction applies; 0 is the default,
         * too many are cut to 10 000; a version 5 struct ends before it. */
        WBT_OK(wb_sync_options_init(&o, WB_SYNC_OPTIONS_VERSION));
        WBT_ASSERT_INT(o.pull_txn_records, 0);
        o.base_url = "http://x";
        o.pull_txn_records = 1000000;
        WBT_OK(wb_sync_new(&s, wbt_path("e8.db"), fx_store_options(), &o));
        WBT_ASSERT_INT(s->opts.pull_txn_records, 10000);
        wb_sync_free(s);
        o.pull_txn_records = 1;
        WBT_OK(wb_sync_new(&s, wbt_path("e8.db"), fx_store_options(), &o));
        WBT_ASSERT_INT(s->opts.pull_txn_records, 1);
        wb_sync_free(s);
        o.version = 5;
        WBT_OK(wb_sync_new(&s, wbt_path("e8.db"), fx_store_options(), &o));
        WBT_ASSERT_INT(s->opts.pull_txn_records, 500);
        wb_sync_free(s);
        s = NULL;
    }
    wb_sync_free(NULL);
}

static const wbt_case cases[] = {
    WBT_CASE(test_sync_engine__urls),
    WBT_CASE(test_sync_engine__bodies),
    WBT_CASE(test_sync_engine__echo_read),
    WBT_CASE(test_sync_engine__verdicts),
    WBT_CASE(test_sync_engine__plans),
    WBT_CASE(test_sync_engine__backoff),
    WBT_CASE(test_sync_engine__reconcile_match),
    WBT_CASE(test_sync_engine__watermark_advance),
    WBT_CASE(test_sync_engine__next_skip_reads_one_again),
    WBT_CASE(test_sync_engine__retries_then_succeeds),
    WBT_CASE(test_sync_engine__deferred_after_max_attempts),
    WBT_CASE(test_sync_engine__long_retry_after_defers),
    WBT_CASE(test_sync_engine__rejected_with_message),
    WBT_CASE(test_sync_engine__lost_response_reconciles_before_posting),
    WBT_CASE(test_sync_engine__auth_refresh_once),
    WBT_CASE(test_sync_engine__pull_page_text),
    WBT_CASE(test_sync_engine__pull_page_keys),
    WBT_CASE(test_sync_engine__options_checked),
};

WBT_MAIN(cases, setup, NULL)
