/*
 * test_server_run.c - running walkbook-server: tokens from --token-file
 * (and its errors, which name the file and line and never the token),
 * refreshing an expired access token, v1 listId from the campaign,
 * concurrent creates, --listen, start-up refusals, and a clean stop on
 * SIGINT as on SIGTERM. Everything goes through the built binary and real
 * HTTP on loopback.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include "etag.h"
#include "server_cases.h"
#include "wbtest.h"

#define SECRET "s3cr3t-token-value"
#define CAMPAIGN "61fbfbaa-5de8-4d17-ac2b-c47f2376265a"

static long create(srv_reply *r, const srv *s, const char *token)
{
    return srv_call(r, s, "POST", "/v2/interactions", token,
                    "{\"campaignId\":\"" CAMPAIGN "\","
                    "\"contactId\":\"0478dbbf-b6eb-4168-afa9-5ebab6fef4b6\","
                    "\"householdId\":\"c15e3515-aabf-42da-8d1b-31679f738eae\","
                    "\"contactHouseholdId\":\"d070b1dc-9611-4f29-9300-a32160d21baa\","
                    "\"timestamp\":\"2018-07-17T18:40:53.526Z\",\"unavailable\":false,"
                    "\"survey\":{\"surveyId\":\"375d437b-3b47-4940-b43d-be8daec4afff\"}}",
                    NULL, NULL);
}

/* Run the server with args expecting it to refuse to start: its exit
 * status (-1 when it had to be killed after 5 s), stderr in err. */
static int run_refused(const char *const *args, char *err, size_t errlen)
{
    static int counter;
    char log[1024];
    const char *argv[32];
    size_t n = 0, got;
    int status = -1;
    pid_t pid;
    FILE *f;

    snprintf(log, sizeof(log), "%s/refused-%d.log", wbt_tmpdir(), ++counter);
    argv[n++] = WBS_SERVER_BIN;
    argv[n++] = "--port";
    argv[n++] = "0";
    for (; *args && n < 31; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 2);
            close(fd);
        }
        execv(WBS_SERVER_BIN, (char *const *)(void *)argv);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) { /* up to 5 s */
        struct timespec ts = {0, 50 * 1000000L};
        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
        status = -1;
        nanosleep(&ts, NULL);
    }
    if (status == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    err[0] = '\0';
    if ((f = fopen(log, "r"))) {
        got = fread(err, 1, errlen - 1, f);
        err[got] = '\0';
        fclose(f);
    }
    return status == -1 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *write_tokens(const char *name, const char *text)
{
    const char *path = wbt_path(name);
    return wbt_write_file(path, text, strlen(text)) == 0 ? path : NULL;
}

static void test_server_run__token_file(void)
{
    const char *path = write_tokens(
        "tokens.conf", "# walkbook-server tokens\n"
                       "\n"
                       "   fileadmin:" T_C1 ":" T_SG1 ":" T_U1 "  \r\n"
                       "\t# an indented comment\n"
                       "filecanv:" T_C1 ":" T_SG1 ":" T_U2 ":canvasser\n"
                       "fileother:" T_C2 ":" T_SG2 ":" T_U3 ":admin"); /* no final newline */
    const char *args[] = {"--token-file", NULL, "--token", "cli:" T_C1 ":" T_SG1 ":" T_U1, NULL};
    srv s;
    srv_reply r, g;
    char p[128], etag[160];

    WBT_ASSERT(path != NULL);
    args[1] = path;
    WBT_ASSERT_INT(srv_start(&s, args), 0);
    /* every token of the file works, bound to its identity and role */
    WBT_ASSERT_INT(create(&r, &s, "fileadmin"), 201);
    WBT_ASSERT_STR(srv_str(r.json, "/meta/createdBy"), T_U1);
    WBT_ASSERT_STR(srv_str(r.json, "/customerId"), T_C1);
    snprintf(p, sizeof(p), "/v2/interactions/%s", srv_str(r.json, "/id"));
    snprintf(etag, sizeof(etag), "etag: %s", srv_str(r.json, "/meta/etag"));
    WBT_ASSERT_INT(srv_call(&g, &s, "GET", p, "filecanv", NULL, NULL, NULL), 200);
    srv_reply_free(&g);
    WBT_ASSERT_INT(srv_call(&g, &s, "DELETE", p, "filecanv", NULL, etag, NULL), 403);
    srv_reply_free(&g);
    WBT_ASSERT_INT(srv_call(&g, &s, "GET", p, "fileother", NULL, NULL, NULL), 404);
    srv_reply_free(&g);
    WBT_ASSERT_INT(srv_call(&g, &s, "GET", p, "cli", NULL, NULL, NULL), 200);
    srv_reply_free(&g);
    /* a comment is not a token, nor is a part of a line */
    WBT_ASSERT_INT(srv_call(&g, &s, "GET", p, "# walkbook-server tokens", NULL, NULL, NULL), 401);
    srv_reply_free(&g);
    WBT_ASSERT_INT(srv_call(&g, &s, "GET", p, "fileadmin:" T_C1, NULL, NULL, NULL), 401);
    srv_reply_free(&g);
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_stop(&s), 0);
}

static void test_server_run__token_file_errors(void)
{
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"# ok\nok:" T_C1 ":" T_SG1 ":" T_U1 "\n" SECRET ":" T_C1 ":" T_SG1 "\n", "line 3"},
        {"\n\n" SECRET ":not-a-uuid:" T_SG1 ":" T_U1 "\n", "line 3: CUSTOMER must be a UUID"},
        {SECRET ":" T_C1 ":" T_SG1 ":" T_U1 ":root\n", "line 1: ROLE must be admin or canvasser"},
        {SECRET ":" T_C1 ":" T_SG1 ":zz\n", "line 1: USER must be a UUID"},
    };
    char err[4096], name[64];
    const char *args[] = {"--token-file", NULL, NULL};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(name, sizeof(name), "bad-%zu.conf", i);
        args[1] = write_tokens(name, bad[i].text);
        WBT_ASSERT(args[1] != NULL);
        WBT_ASSERT_INT(run_refused(args, err, sizeof(err)), 2);
        WBT_ASSERT_CONTAINS(err, name);
        WBT_ASSERT_CONTAINS(err, bad[i].want);
        if (strstr(err, SECRET))
            WBT_FAIL("the message repeats the token: %s", err);
    }
    /* a NUL byte and an over-long line name their line too */
    {
        static const char nul[] = "# x\nab\0cd:" T_C1 ":" T_SG1 ":" T_U1 "\n";
        char *longline = malloc(2048);
        WBT_ASSERT(longline != NULL);
        args[1] = wbt_path("nul.conf");
        WBT_ASSERT_INT(wbt_write_file(args[1], nul, sizeof(nul) - 1), 0);
        WBT_ASSERT_INT(run_refused(args, err, sizeof(err)), 2);
        WBT_ASSERT_CONTAINS(err, "nul.conf line 2");
        memset(longline, 'x', 2047);
        longline[2047] = '\0';
        args[1] = write_tokens("long.conf", longline);
        free(longline);
        WBT_ASSERT_INT(run_refused(args, err, sizeof(err)), 2);
        WBT_ASSERT_CONTAINS(err, "long.conf line 1: longer than");
    }
    args[1] = wbt_path("does-not-exist.conf");
    WBT_ASSERT_INT(run_refused(args, err, sizeof(err)), 2);
    WBT_ASSERT_CONTAINS(err, "does-not-exist.conf: cannot open it");
    /* a bad --token is refused the same way, without repeating it */
    {
        const char *targs[] = {"--token", SECRET ":" T_C1, NULL};
        WBT_ASSERT_INT(run_refused(targs, err, sizeof(err)), 2);
        WBT_ASSERT_CONTAINS(err, "--token: expected");
        if (strstr(err, SECRET))
            WBT_FAIL("the message repeats the token: %s", err);
    }
}

static void test_server_run__bad_options_refused(void)
{
    static const char *const unknown[] = {"--no-such-option", NULL};
    static const char *const port[] = {"--port", "70000", NULL};
    static const char *const listen[] = {"--listen", "localhost:80", NULL};
    char err[4096];
    WBT_ASSERT_INT(run_refused(unknown, err, sizeof(err)), 2);
    WBT_ASSERT_CONTAINS(err, "--no-such-option");
    WBT_ASSERT_INT(run_refused(port, err, sizeof(err)), 2);
    WBT_ASSERT_CONTAINS(err, "--port: bad value");
    WBT_ASSERT(run_refused(listen, err, sizeof(err)) > 0);
    WBT_ASSERT_CONTAINS(err, "--listen");
}

/* --listen moves the server off 127.0.0.1: with 127.0.0.2 (loopback too,
 * so the test stays on this machine) it answers there and not on
 * 127.0.0.1. */
static void test_server_run__listen(void)
{
    static const char *const args[] = {"--listen", "127.0.0.2", "--token",
                                       "t:" T_C1 ":" T_SG1 ":" T_U1, NULL};
    srv s;
    srv_reply r;
    WBT_ASSERT_INT(srv_start(&s, args), 0);
    s.host = "127.0.0.2";
    WBT_ASSERT_INT(srv_call(&r, &s, "GET", "/v2/interactions?limit=1", "t", NULL, NULL, NULL), 200);
    srv_reply_free(&r);
    s.host = NULL; /* 127.0.0.1 */
    WBT_ASSERT_INT(srv_call(&r, &s, "GET", "/v2/interactions?limit=1", "t", NULL, NULL, NULL), -1);
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_stop(&s), 0);
}

/* SIGINT stops it as cleanly as SIGTERM (exit status 0), with a file
 * database whose records are all there on the next start. */
static void test_server_run__sigint_keeps_records(void)
{
    const char *db = wbt_path("sigint.db");
    const char *args[] = {"--db", db, "--token", "t:" T_C1 ":" T_SG1 ":" T_U1, NULL};
    srv s;
    srv_reply r;
    long status = 0;
    int i;

    WBT_ASSERT_INT(srv_start(&s, args), 0);
    for (i = 0; i < 20 && status != -1; i++) {
        status = create(&r, &s, "t") == 201 ? 0 : -1;
        srv_reply_free(&r);
    }
    WBT_ASSERT_INT(status, 0);
    WBT_ASSERT_INT(srv_stop_signal(&s, SIGINT), 0);
    WBT_ASSERT_INT(srv_start(&s, args), 0);
    WBT_ASSERT_INT(srv_call(&r, &s, "GET", "/v2/interactions?limit=100", "t", NULL, NULL, NULL), 200);
    WBT_ASSERT_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "data")), 20);
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_stop(&s), 0);
}

/* Creates from several connections at once (they print their envelopes
 * in parallel, outside the storage lock): every one is stored, with a
 * distinct meta.modified, created = modified, and the recipe's etag. */
#define RACE_THREADS 4
#define RACE_EACH 25

typedef struct race {
    const srv *s;
    int failed;
} race;

static void *race_run(void *arg)
{
    race *r = arg;
    for (int i = 0; i < RACE_EACH; i++) {
        srv_reply rep;
        if (create(&rep, r->s, "t") != 201)
            r->failed++;
        srv_reply_free(&rep);
    }
    return NULL;
}

static void test_server_run__concurrent_creates(void)
{
    static const char *const args[] = {"--threads", "4", "--token",
                                       "t:" T_C1 ":" T_SG1 ":" T_U1, NULL};
    srv s;
    srv_reply r;
    race rs[RACE_THREADS];
    pthread_t ts[RACE_THREADS];
    const cJSON *item;
    char prev[32] = "", etag[WBS_ETAG_MAX];
    int n = 0;

    WBT_ASSERT_INT(srv_start(&s, args), 0);
    for (int i = 0; i < RACE_THREADS; i++) {
        rs[i].s = &s;
        rs[i].failed = 0;
        WBT_ASSERT_INT(pthread_create(&ts[i], NULL, race_run, &rs[i]), 0);
    }
    for (int i = 0; i < RACE_THREADS; i++) {
        pthread_join(ts[i], NULL);
        WBT_ASSERT_INT(rs[i].failed, 0);
    }
    WBT_ASSERT_INT(srv_call(&r, &s, "GET", "/v2/interactions?limit=1000&sort=meta/modified&sort=ASC",
                            "t", NULL, NULL, NULL),
                   200);
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(r.json, "data"))
    {
        const char *m = srv_str(item, "/meta/modified");
        n++;
        WBT_ASSERT(m != NULL && strcmp(m, prev) > 0);
        WBT_ASSERT_STR(srv_str(item, "/meta/created"), m);
        snprintf(prev, sizeof(prev), "%s", m);
        WBT_ASSERT(wbs_etag_recompute(etag, item) == 0);
        WBT_ASSERT_STR(etag, srv_str(item, "/meta/etag"));
    }
    WBT_ASSERT_INT(n, RACE_THREADS * RACE_EACH);
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_stop(&s), 0);
}

/* An access token that expired is renewed with the refresh token of its
 * grant: the new one works, the old one stays refused, the refresh token
 * is spent. */
static void test_server_run__refresh_after_expiry(void)
{
    static const char *const args[] = {"--token-lifetime", "1", "--auth-code",
                                       "c:" T_C1 ":" T_SG1 ":" T_U1, NULL};
    srv s;
    srv_reply t, r;
    char old[256], body[512];
    long status = 200;

    WBT_ASSERT_INT(srv_start(&s, args), 0);
    WBT_ASSERT_INT(srv_call(&t, &s, "POST", "/auth/oauth2/token", NULL,
                            "{\"code\":\"c\",\"grant_type\":\"authorization_code\"}", NULL, NULL),
                   200);
    WBT_ASSERT(srv_str(t.json, "/access_token") && srv_str(t.json, "/refresh_token"));
    snprintf(old, sizeof(old), "%s", srv_str(t.json, "/access_token"));
    snprintf(body, sizeof(body), "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"%s\"}",
             srv_str(t.json, "/refresh_token"));
    srv_reply_free(&t);
    for (int i = 0; i < 16 && status != 401; i++) { /* at most 4 s */
        struct timespec ts = {0, 250 * 1000000L};
        nanosleep(&ts, NULL);
        status = srv_call(&r, &s, "GET", "/v2/interactions?limit=1", old, NULL, NULL, NULL);
        srv_reply_free(&r);
    }
    WBT_ASSERT_INT(status, 401);
    WBT_ASSERT_INT(srv_call(&t, &s, "POST", "/auth/oauth2/token", NULL, body, NULL, NULL), 200);
    WBT_ASSERT(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(t.json, "expires_in")));
    WBT_ASSERT_INT(create(&r, &s, srv_str(t.json, "/access_token")), 201);
    WBT_ASSERT_STR(srv_str(r.json, "/meta/createdBy"), T_U1);
    srv_reply_free(&r);
    srv_reply_free(&t);
    WBT_ASSERT_INT(srv_call(&r, &s, "GET", "/v2/interactions?limit=1", old, NULL, NULL, NULL), 401);
    srv_reply_free(&r);
    WBT_ASSERT_INT(srv_call(&t, &s, "POST", "/auth/oauth2/token", NULL, body, NULL, NULL), 400);
    WBT_ASSERT_STR(srv_str(t.json, "/error"), "invalid_grant");
    srv_reply_free(&t);
    WBT_ASSERT_INT(srv_stop(&s), 0);
}

/* v1 interactions carry the listId of their campaign (§2.1): derived from
 * the stored campaign's "normal" list whatever the client sends; v2 ones
 * carry none. */
static void test_server_run__v1_list_id_from_campaign(void)
{
    static const char *const args[] = {"--seed-demo", "--seed-households", "3", NULL};
    const char *tok = "walkbook-demo"; /* WBS_SEED_TOKEN */
    srv s;
    srv_reply c, r;
    char body[1024], campaign[37], list[37];

    WBT_ASSERT_INT(srv_start(&s, args), 0);
    WBT_ASSERT_INT(srv_call(&c, &s, "GET", "/v1/campaigns?limit=1", tok, NULL, NULL, NULL), 200);
    WBT_ASSERT(srv_str(c.json, "/data/0/id") && srv_str(c.json, "/data/0/data/lists/0/listId"));
    WBT_ASSERT_STR(srv_str(c.json, "/data/0/data/lists/0/type"), "normal");
    snprintf(campaign, sizeof(campaign), "%s", srv_str(c.json, "/data/0/id"));
    snprintf(list, sizeof(list), "%s", srv_str(c.json, "/data/0/data/lists/0/listId"));
    srv_reply_free(&c);
    for (int v = 1; v <= 2; v++) {
        char path[32];
        snprintf(path, sizeof(path), "/v%d/interactions", v);
        snprintf(body, sizeof(body),
                 "{\"campaignId\":\"%s\",\"listId\":\"0b9d1e0c-7a43-4c4c-9d0e-6f4a7c1d2e3f\","
                 "\"contactId\":\"0478dbbf-b6eb-4168-afa9-5ebab6fef4b6\","
                 "\"householdId\":\"c15e3515-aabf-42da-8d1b-31679f738eae\","
                 "\"contactHouseholdId\":\"d070b1dc-9611-4f29-9300-a32160d21baa\","
                 "\"timestamp\":\"2024-03-01T10:00:00.000Z\",\"unavailable\":false,"
                 "\"survey\":{\"surveyId\":\"375d437b-3b47-4940-b43d-be8daec4afff\"}}",
                 campaign);
        WBT_ASSERT_INT(srv_call(&r, &s, "POST", path, tok, body, NULL, NULL), 201);
        if (v == 1)
            WBT_ASSERT_STR(srv_str(r.json, "/data/listId"), list);
        else
            WBT_ASSERT(srv_str(r.json, "/data/listId") == NULL);
        srv_reply_free(&r);
    }
    WBT_ASSERT_INT(srv_stop(&s), 0);
}

static const wbt_case cases[] = {
    WBT_CASE(test_server_run__refresh_after_expiry),
    WBT_CASE(test_server_run__v1_list_id_from_campaign),
    WBT_CASE(test_server_run__concurrent_creates),
    WBT_CASE(test_server_run__token_file),
    WBT_CASE(test_server_run__token_file_errors),
    WBT_CASE(test_server_run__bad_options_refused),
    WBT_CASE(test_server_run__listen),
    WBT_CASE(test_server_run__sigint_keeps_records),
};

WBT_MAIN(cases, NULL, NULL)
