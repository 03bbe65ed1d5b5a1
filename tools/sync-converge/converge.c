/*
 * converge.c - one randomized convergence run (converge.h).
 *
 * Only the public API of walkbook is used on the device side; the server
 * side goes through walkbook-server's /__admin/ routes (dump with the
 * duplicate detector, edits as another user, fault rules).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "converge.h"
#include "walkbook.h"

#define C1 "c1c1c1c1-0000-4000-8000-0000000000c1"
#define SG1 "5e5e5e5e-0000-4000-8000-0000000000c1"
#define ADMIN_USER "adadadad-0000-4000-8000-0000000000ad"
#define ADMIN_TOKEN "conv-admin"
#define CAMPAIGN "61fbfbaa-5de8-4d17-ac2b-c47f2376265a"
#define SURVEY "375d437b-3b47-4940-b43d-be8daec4afff"
#define MAX_DEV 4
#define ADMIN_FIELD MAX_DEV /* the server-side editor's question */
#define MAX_CHILDREN MAX_DEV
#define FINAL_ROUNDS 10

/* ---- random ------------------------------------------------------------------ */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnd_next(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static int rnd_int(rng *r, int n)
{
    return n <= 1 ? 0 : (int)(rnd_next(r) % (uint64_t)n);
}

static int rnd_chance(rng *r, double p)
{
    return (double)(rnd_next(r) >> 11) * (1.0 / 9007199254740992.0) < p;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- the run's state ---------------------------------------------------------- */

/* One value written to a record's field: by device d (id = its local id) or
 * by the server-side editor (dev = ADMIN_FIELD, id = the server id). */
typedef struct write_rec {
    int dev;
    char id[40];
    int field;
    char value[24];
} write_rec;

typedef struct run {
    const wbc_opts *o;
    wbc_result *res;
    rng r;
    pid_t server_pid;
    unsigned port;
    char url[64];
    char store_path[MAX_DEV][1024];
    CURL *curl;
    int policy, api;
    int counter; /* unique contact ids, timestamps, values */
    write_rec *writes;
    size_t n_writes, cap_writes;
    int failed;
} run;

static int fail(run *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(run *c, const char *fmt, ...)
{
    va_list ap;
    if (!c->failed) {
        va_start(ap, fmt);
        vsnprintf(c->res->why, sizeof(c->res->why), fmt, ap);
        va_end(ap);
        c->failed = 1;
    }
    return -1;
}

static const char *user_of(int dev)
{
    static const char *const users[MAX_DEV] = {
        "aaaaaaaa-0000-4000-8000-0000000000c0", "aaaaaaaa-0000-4000-8000-0000000000c1",
        "aaaaaaaa-0000-4000-8000-0000000000c2", "aaaaaaaa-0000-4000-8000-0000000000c3"};
    return users[dev];
}

/* The survey question each writer owns (devices 0…3, then the editor). */
static const char *question(int field)
{
    static const char *const q[MAX_DEV + 1] = {
        "9826940d-76a8-4700-8c92-5743ce7bb7a0", "9826940d-76a8-4700-8c92-5743ce7bb7a1",
        "9826940d-76a8-4700-8c92-5743ce7bb7a2", "9826940d-76a8-4700-8c92-5743ce7bb7a3",
        "9826940d-76a8-4700-8c92-5743ce7bb7ad"};
    return q[field];
}

const char *wbc_policy_name(int policy)
{
    switch (policy) {
    case WB_POLICY_MERGE: return "merge";
    case WB_POLICY_SERVER_WINS: return "server-wins";
    case WB_POLICY_CLIENT_WINS: return "client-wins";
    default: return "?";
    }
}

static int add_write(run *c, int dev, const char *id, int field, const char *value)
{
    write_rec *w;
    if (c->n_writes == c->cap_writes) {
        size_t cap = c->cap_writes ? c->cap_writes * 2 : 64;
        write_rec *n = realloc(c->writes, cap * sizeof(*n));
        if (!n)
            return fail(c, "out of memory");
        c->writes = n;
        c->cap_writes = cap;
    }
    w = &c->writes[c->n_writes++];
    w->dev = dev;
    snprintf(w->id, sizeof(w->id), "%s", id);
    w->field = field;
    snprintf(w->value, sizeof(w->value), "%s", value);
    return 0;
}

/* ---- the server --------------------------------------------------------------- */

static int server_start(run *c, int client_ids)
{
    char portfile[1100], logfile[1100], tokens[MAX_DEV][160];
    const char *argv[32];
    int n = 0;
    pid_t pid;

    snprintf(portfile, sizeof(portfile), "%s/port", c->o->workdir);
    snprintf(logfile, sizeof(logfile), "%s/server.log", c->o->workdir);
    unlink(portfile);
    argv[n++] = c->o->server_bin;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--port-file";
    argv[n++] = portfile;
    argv[n++] = "--admin";
    argv[n++] = ADMIN_TOKEN;
    argv[n++] = "--log";
    for (int d = 0; d < c->o->devices; d++) {
        snprintf(tokens[d], sizeof(tokens[d]), "tok%d:" C1 ":" SG1 ":%s", d, user_of(d));
        argv[n++] = "--token";
        argv[n++] = tokens[d];
    }
    if (client_ids)
        argv[n++] = "--client-ids";
    argv[n] = NULL;
    if ((pid = fork()) < 0)
        return fail(c, "fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(logfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (fd >= 0) {
            dup2(fd, 2);
            close(fd);
        }
        execv(c->o->server_bin, (char *const *)(void *)argv);
        _exit(127);
    }
    c->server_pid = pid;
    for (int i = 0; i < 200; i++) { /* up to 10 s */
        FILE *f = fopen(portfile, "r");
        if (f) {
            unsigned port = 0;
            int ok = fscanf(f, "%u", &port) == 1;
            fclose(f);
            if (ok && port) {
                c->port = port;
                snprintf(c->url, sizeof(c->url), "http://127.0.0.1:%u", port);
                return 0;
            }
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            c->server_pid = 0;
            return fail(c, "walkbook-server exited at start (log %s)", logfile);
        }
        sleep_ms(50);
    }
    return fail(c, "walkbook-server wrote no port file in 10 s");
}

static void server_stop(run *c)
{
    int status;
    if (c->server_pid <= 0)
        return;
    kill(c->server_pid, SIGTERM);
    for (int i = 0; i < 60; i++) {
        if (waitpid(c->server_pid, &status, WNOHANG) == c->server_pid) {
            c->server_pid = 0;
            return;
        }
        sleep_ms(50);
    }
    kill(c->server_pid, SIGKILL);
    waitpid(c->server_pid, NULL, 0);
    c->server_pid = 0;
}

typedef struct membuf {
    char *p;
    size_t len;
} membuf;

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    membuf *b = ud;
    char *np = realloc(b->p, b->len + size * n + 1);
    if (!np)
        return 0;
    memcpy(np + b->len, data, size * n);
    b->len += size * n;
    np[b->len] = '\0';
    b->p = np;
    return size * n;
}

/* One admin request; *out (may be NULL) receives the parsed answer. The
 * HTTP status, or -1. */
static long admin_call(run *c, const char *method, const char *path, const char *body,
                       cJSON **out)
{
    char url[512];
    struct curl_slist *h = NULL;
    membuf b = {NULL, 0};
    long status = -1;
    if (out)
        *out = NULL;
    snprintf(url, sizeof(url), "%s%s", c->url, path);
    curl_easy_reset(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
    h = curl_slist_append(h, "X-Admin-Token: " ADMIN_TOKEN);
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
    if (body)
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &b);
    if (curl_easy_perform(c->curl) == CURLE_OK) {
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
        if (out && b.p)
            *out = cJSON_Parse(b.p);
    }
    curl_slist_free_all(h);
    free(b.p);
    return status;
}

/* Install the fault rules of this seed: each kind with an equal share of
 * the rate, each with a generator seeded from the run. */
static int set_faults(run *c, double rate, uint64_t seed)
{
    static const char *const kinds[] = {
        "\"action\":\"status\",\"status\":500",
        "\"action\":\"status\",\"status\":503,\"retryAfter\":1",
        "\"action\":\"status\",\"status\":429",
        "\"action\":\"drop_before\"",
        "\"action\":\"drop_after\"",
        "\"action\":\"truncate\"",
        "\"action\":\"garbage\"",
        "\"action\":\"delay\",\"ms\":120",
        "\"action\":\"delay\",\"ms\":1800", /* past the client's timeout: lost */
    };
    size_t nk = sizeof(kinds) / sizeof(kinds[0]);
    char body[4096];
    size_t len = 0;
    long st;
    len += (size_t)snprintf(body + len, sizeof(body) - len, "[");
    for (size_t i = 0; i < nk; i++)
        len += (size_t)snprintf(body + len, sizeof(body) - len,
                                "%s{\"path\":\"/v*/interactions*\",\"probability\":%.4f,"
                                "\"seed\":%llu,%s}",
                                i ? "," : "", rate / (double)nk,
                                (unsigned long long)((seed * 31 + i) % 9007199254740991ULL),
                                kinds[i]);
    snprintf(body + len, sizeof(body) - len, "]");
    st = admin_call(c, rate > 0 ? "PUT" : "DELETE", "/__admin/faults", rate > 0 ? body : NULL,
                    NULL);
    return st == 200 || st == 204 ? 0 : fail(c, "fault rules refused (HTTP %ld)", st);
}

static long faults_fired(run *c)
{
    cJSON *j = NULL;
    const cJSON *rule;
    long fired = 0;
    if (admin_call(c, "GET", "/__admin/faults", NULL, &j) != 200)
        return -1;
    cJSON_ArrayForEach(rule, cJSON_GetObjectItemCaseSensitive(j, "rules"))
    {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(rule, "fired");
        if (cJSON_IsNumber(f))
            fired += (long)f->valuedouble;
    }
    cJSON_Delete(j);
    return fired;
}

static const cJSON *ptr_get(const cJSON *j, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, a);
    return b ? cJSON_GetObjectItemCaseSensitive(x, b) : x;
}

static const char *str_get(const cJSON *j, const char *a, const char *b)
{
    const cJSON *x = ptr_get(j, a, b);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* The server's records of the customer: the dump's "data" array (owned by
 * *dump). *dups: number of duplicate groups. */
static int server_dump(run *c, cJSON **dump, const cJSON **items, int *dups)
{
    if (admin_call(c, "GET", "/__admin/dump", NULL, dump) != 200 || !*dump)
        return fail(c, "GET /__admin/dump failed");
    *items = cJSON_GetObjectItemCaseSensitive(*dump, "data");
    *dups = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(*dump, "duplicates"));
    return 0;
}

/* Edit or delete a random live record on the server as another user. */
static int admin_op(run *c)
{
    cJSON *dump = NULL;
    const cJSON *items, *env, *pick = NULL;
    int dups, live = 0, k;
    char path[128], body[1024], value[24];
    long st;

    if (server_dump(c, &dump, &items, &dups) < 0)
        return -1;
    cJSON_ArrayForEach(env, items) live += !cJSON_IsTrue(ptr_get(env, "meta", "isDeleted"));
    if (live == 0) {
        cJSON_Delete(dump);
        return 0;
    }
    k = rnd_int(&c->r, live);
    cJSON_ArrayForEach(env, items)
    {
        if (!cJSON_IsTrue(ptr_get(env, "meta", "isDeleted")) && k-- == 0) {
            pick = env;
            break;
        }
    }
    snprintf(path, sizeof(path), "/__admin/interactions/%s/edit", str_get(pick, "id", NULL));
    if (rnd_chance(&c->r, 0.12)) {
        snprintf(body, sizeof(body), "{\"user\":\"" ADMIN_USER "\",\"delete\":true}");
        st = admin_call(c, "POST", path, body, NULL);
        if (st == 200)
            c->res->admin_deletes++;
    } else {
        snprintf(value, sizeof(value), "a-%d", ++c->counter);
        snprintf(body, sizeof(body),
                 "{\"user\":\"" ADMIN_USER "\",\"data\":[{\"op\":\"add\",\"path\":"
                 "\"/survey/responses/%s\",\"value\":{\"questionId\":\"%s\",\"fields\":"
                 "{\"answer\":\"%s\"}}}%s]}",
                 question(ADMIN_FIELD), question(ADMIN_FIELD), value,
                 rnd_chance(&c->r, 0.3) ? ",{\"op\":\"replace\",\"path\":\"/successful\","
                                          "\"value\":false}"
                                        : "");
        st = admin_call(c, "POST", path, body, NULL);
        if (st == 200) {
            c->res->admin_edits++;
            if (add_write(c, ADMIN_FIELD, str_get(pick, "id", NULL), ADMIN_FIELD, value) < 0)
                st = -1;
        }
    }
    cJSON_Delete(dump);
    if (st != 200 && st != 404)
        return fail(c, "admin edit: HTTP %ld", st);
    return 0;
}

/* ---- devices ------------------------------------------------------------------- */

static int open_store(run *c, wb_store **st, int dev)
{
    const char *groups[] = {SG1};
    *st = NULL;
    if (wb_store_open(st, c->store_path[dev], NULL) != 0)
        return fail(c, "device %d: store does not open: %s", dev,
                    wb_error_last() ? wb_error_last()->message : "?");
    if (wb_store_set_identity(*st, C1, user_of(dev), groups, 1) != 0) {
        wb_store_free(*st);
        *st = NULL;
        return fail(c, "device %d: identity: %s", dev,
                    wb_error_last() ? wb_error_last()->message : "?");
    }
    return 0;
}

/* Ids of the live records of a store (malloc'd array of malloc'd strings). */
static int live_ids(run *c, wb_store *st, char ***ids, int *n)
{
    wb_iter *it = NULL;
    const char *json;
    int cap = 0;
    *ids = NULL;
    *n = 0;
    if (wb_interaction_query(&it, st, NULL) != 0)
        return fail(c, "query: %s", wb_error_last() ? wb_error_last()->message : "?");
    while (wb_iter_next(&json, it) == 0) {
        cJSON *env = cJSON_Parse(json);
        const char *id = str_get(env, "id", NULL);
        if (id) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 32;
                *ids = realloc(*ids, (size_t)cap * sizeof(**ids));
            }
            (*ids)[(*n)++] = strdup(id);
        }
        cJSON_Delete(env);
    }
    wb_iter_free(it);
    return 0;
}

static void free_ids(char **ids, int n)
{
    for (int i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

/* A few random local changes on one device. */
static int device_ops(run *c, int dev, int n_ops)
{
    wb_store *st = NULL;
    char **ids = NULL;
    int n = 0, error = 0;

    if (open_store(c, &st, dev) < 0)
        return -1;
    for (int i = 0; i < n_ops && error == 0; i++) {
        int what = rnd_int(&c->r, 10);
        if (n == 0 || what < 4) {
            char body[1024], *id = NULL;
            int k = ++c->counter;
            snprintf(body, sizeof(body),
                     "{\"campaignId\":\"" CAMPAIGN "\",\"contactId\":"
                     "\"0478dbbf-b6eb-4168-afa9-%012d\",\"timestamp\":"
                     "\"2024-05-%02dT%02d:%02d:%02d.%03dZ\",\"unavailable\":false,"
                     "\"successful\":true,\"survey\":{\"surveyId\":\"" SURVEY "\","
                     "\"responses\":{\"%s\":{\"questionId\":\"%s\",\"fields\":"
                     "{\"answer\":\"d%d-%d\"}}}}}",
                     k, 1 + dev, (k / 3600) % 24, (k / 60) % 60, k % 60, k % 1000,
                     question(dev), question(dev), dev, k);
            if (wb_interaction_record(&id, st, body) != 0) {
                error = fail(c, "device %d: record: %s", dev,
                             wb_error_last() ? wb_error_last()->message : "?");
                break;
            }
            c->res->records++;
            {
                char v[24];
                snprintf(v, sizeof(v), "d%d-%d", dev, k);
                error = add_write(c, dev, id, dev, v);
            }
            wb_free(id);
            if (error < 0)
                break;
            free_ids(ids, n);
            if ((error = live_ids(c, st, &ids, &n)) < 0)
                break;
        } else if (what < 9) {
            const char *id = ids[rnd_int(&c->r, n)];
            char patch[1024], v[24];
            int rc;
            snprintf(v, sizeof(v), "d%d-%d", dev, ++c->counter);
            snprintf(patch, sizeof(patch),
                     "[{\"op\":\"add\",\"path\":\"/survey/responses/%s\",\"value\":"
                     "{\"questionId\":\"%s\",\"fields\":{\"answer\":\"%s\"}}}%s]",
                     question(dev), question(dev), v,
                     rnd_chance(&c->r, 0.3) ? ",{\"op\":\"replace\",\"path\":\"/successful\","
                                              "\"value\":true}"
                                            : "");
            rc = wb_interaction_update(st, id, patch);
            if (rc == 0) {
                c->res->updates++;
                error = add_write(c, dev, id, dev, v);
            } else if (rc != WB_ECONFLICT && rc != WB_ENOTFOUND) {
                error = fail(c, "device %d: update %s: %s", dev, id,
                             wb_error_last() ? wb_error_last()->message : "?");
            }
        } else {
            int k = rnd_int(&c->r, n);
            int rc = wb_interaction_delete(st, ids[k]);
            if (rc == 0) {
                c->res->deletes++;
                free(ids[k]);
                ids[k] = ids[--n];
            } else if (rc != WB_ENOTFOUND && rc != WB_ECONFLICT) {
                error = fail(c, "device %d: delete: %s", dev,
                             wb_error_last() ? wb_error_last()->message : "?");
            }
        }
    }
    free_ids(ids, n);
    wb_store_free(st);
    return error;
}

/* ---- syncs ---------------------------------------------------------------------- */

/* One sync of a device in this process. 0, or the engine's code. */
static int sync_device(run *c, int dev, int faulty, char **report)
{
    wb_sync_options o;
    wb_sync *s = NULL;
    char token[16];
    int rc;
    if (report)
        *report = NULL;
    if (wb_sync_options_init(&o, WB_SYNC_OPTIONS_VERSION) != 0)
        return -1;
    snprintf(token, sizeof(token), "tok%d", dev);
    o.base_url = c->url;
    o.api = c->api;
    o.token = token;
    o.policy = c->policy;
    o.timeout_ms = faulty ? 1500 : 10000;
    o.connect_timeout_ms = 2000;
    o.max_attempts = 4;
    o.backoff_base_ms = 5;
    o.backoff_max_ms = 100;
    o.page_size = (unsigned)(3 + rnd_int(&c->r, 40));
    o.parallel = c->o->parallel;
    if ((rc = wb_sync_new(&s, c->store_path[dev], NULL, &o)) != 0)
        return rc;
    rc = wb_sync_run(report, s);
    wb_sync_free(s);
    return rc;
}

typedef struct child {
    pid_t pid;
    int dev;
    int64_t kill_at; /* 0 = let it finish */
    int killed;
} child;

/* Fork a child that syncs `dev` and exits: 0 ran, 1 the engine stopped
 * with an error (expected under faults), 2 it could not start. */
static pid_t fork_sync(run *c, int dev)
{
    pid_t pid;
    /* The child draws its page size from the same generator: advance the
     * parent's so that children of one round differ. */
    rnd_next(&c->r);
    pid = fork();
    if (pid == 0) {
        int rc = sync_device(c, dev, 1, NULL);
        if (rc != 0 && rc != WB_EOFFLINE && c->o->verbose)
            fprintf(stderr, "    device %d sync: %d %s\n", dev, rc,
                    wb_error_last() ? wb_error_last()->message : "?");
        _exit(rc == 0 ? 0 : (rc == WB_EINVALID ? 2 : 1));
    }
    return pid;
}

/* One round: changes, concurrent syncs (some killed), changes during them. */
static int round_once(run *c)
{
    child kids[MAX_CHILDREN];
    int n_kids = 0, busy = 0;
    int64_t started, deadline;

    for (int i = 0, n = 1 + rnd_int(&c->r, 3); i < n; i++)
        if (device_ops(c, rnd_int(&c->r, c->o->devices), 1 + rnd_int(&c->r, 5)) < 0)
            return -1;
    for (int i = 0, n = rnd_int(&c->r, 3); i < n; i++)
        if (admin_op(c) < 0)
            return -1;
    /* Which devices sync now (at least one), all at once. */
    for (int d = 0; d < c->o->devices; d++) {
        if (n_kids > 0 && !rnd_chance(&c->r, 0.5))
            continue;
        kids[n_kids].dev = d;
        kids[n_kids].killed = 0;
        kids[n_kids].kill_at =
            rnd_chance(&c->r, c->o->kill_rate) ? 1 + rnd_int(&c->r, 250) : 0;
        if ((kids[n_kids].pid = fork_sync(c, d)) < 0)
            return fail(c, "fork: %s", strerror(errno));
        n_kids++;
        c->res->syncs++;
    }
    started = now_ms();
    deadline = started + 60000;
    busy = n_kids;
    /* Meanwhile the app keeps recording and editing, and so does the
     * server side. */
    while (busy > 0) {
        int64_t t = now_ms() - started;
        for (int i = 0; i < n_kids; i++) {
            int status;
            if (kids[i].pid <= 0)
                continue;
            if (kids[i].kill_at && t >= kids[i].kill_at && !kids[i].killed) {
                kill(kids[i].pid, SIGKILL);
                kids[i].killed = 1;
            }
            if (waitpid(kids[i].pid, &status, WNOHANG) != kids[i].pid)
                continue;
            kids[i].pid = 0;
            busy--;
            if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && kids[i].killed) {
                c->res->kills++;
            } else if (WIFSIGNALED(status)) {
                return fail(c, "sync child of device %d died of signal %d", kids[i].dev,
                            WTERMSIG(status));
            } else if (WEXITSTATUS(status) == 1) {
                c->res->sync_errors++;
            } else if (WEXITSTATUS(status) != 0) {
                return fail(c, "sync child of device %d exited %d", kids[i].dev,
                            WEXITSTATUS(status));
            }
        }
        if (busy == 0)
            break;
        if (now_ms() > deadline) {
            for (int i = 0; i < n_kids; i++)
                if (kids[i].pid > 0) {
                    kill(kids[i].pid, SIGKILL);
                    waitpid(kids[i].pid, NULL, 0);
                }
            return fail(c, "a sync ran over 60 s");
        }
        if (rnd_chance(&c->r, 0.08)) {
            if (device_ops(c, rnd_int(&c->r, c->o->devices), 1 + rnd_int(&c->r, 2)) < 0 ||
                (rnd_chance(&c->r, 0.3) && admin_op(c) < 0)) {
                for (int i = 0; i < n_kids; i++)
                    if (kids[i].pid > 0) {
                        kill(kids[i].pid, SIGKILL);
                        waitpid(kids[i].pid, NULL, 0);
                    }
                return -1;
            }
        }
        sleep_ms(5);
    }
    return 0;
}

/* ---- the final sync and the checks ---------------------------------------------- */

static long report_total(const char *report)
{
    cJSON *j = cJSON_Parse(report ? report : "");
    const char *groups[] = {"pushed", "pulled"};
    long sum = 0;
    for (int g = 0; g < 2; g++) {
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(j, groups[g]))
        {
            if (cJSON_IsNumber(item))
                sum += (long)item->valuedouble;
        }
    }
    cJSON_Delete(j);
    return sum;
}

/* The sync bookkeeping of one record. */
static cJSON *sync_info(wb_store *st, const char *id)
{
    char *text = NULL;
    cJSON *j = NULL;
    if (wb_interaction_sync_info(&text, st, id) == 0)
        j = cJSON_Parse(text);
    wb_free(text);
    return j;
}

/* Resolve conflicts with the remote side; *pending: records still to send. */
static int settle(run *c, int dev, int *resolved, int *pending)
{
    wb_store *st = NULL;
    wb_iter *it = NULL;
    wb_query q = WB_QUERY_INIT;
    const char *json;
    char **ids = NULL;
    int n = 0, cap = 0, error = 0;
    uint64_t count = 0;

    *resolved = 0;
    *pending = 0;
    if (open_store(c, &st, dev) < 0)
        return -1;
    q.states = WB_STATE_CONFLICT;
    q.deleted = WB_DELETED_INCLUDE;
    if (wb_interaction_query(&it, st, &q) != 0) {
        wb_store_free(st);
        return fail(c, "device %d: conflict query failed", dev);
    }
    while (wb_iter_next(&json, it) == 0) {
        cJSON *env = cJSON_Parse(json);
        const char *id = str_get(env, "id", NULL);
        if (id && n == cap) {
            char **grown = realloc(ids, (size_t)(cap ? cap * 2 : 8) * sizeof(*ids));
            if (!grown) {
                cJSON_Delete(env);
                error = fail(c, "device %d: out of memory", dev);
                break;
            }
            ids = grown;
            cap = cap ? cap * 2 : 8;
        }
        if (id && !(ids[n] = strdup(id))) {
            cJSON_Delete(env);
            error = fail(c, "device %d: out of memory", dev);
            break;
        }
        if (id)
            n++;
        cJSON_Delete(env);
    }
    wb_iter_free(it);
    for (int i = 0; i < n && error == 0; i++) {
        if (wb_conflict_resolve(st, ids[i], WB_TAKE_REMOTE, NULL) != 0)
            error = fail(c, "device %d: resolve %s: %s", dev, ids[i],
                         wb_error_last() ? wb_error_last()->message : "?");
        else
            (*resolved)++;
    }
    free_ids(ids, n);
    q = (wb_query)WB_QUERY_INIT;
    q.states = WB_STATE_PENDING_CREATE | WB_STATE_PENDING_UPDATE | WB_STATE_PENDING_DELETE;
    q.deleted = WB_DELETED_INCLUDE;
    if (error == 0 && wb_interaction_count(&count, st, &q) != 0)
        error = fail(c, "device %d: count failed", dev);
    *pending = (int)count;
    wb_store_free(st);
    return error;
}

static int final_sync(run *c)
{
    /* Rounds, and time: records whose create timed out wait out their
     * settle time (two client timeouts) before they are looked up. */
    int64_t until = now_ms() + 30000;
    for (int round = 0; round < FINAL_ROUNDS || now_ms() < until; round++) {
        int quiet = 1, wait = 0;
        c->res->final_rounds = round + 1;
        for (int d = 0; d < c->o->devices; d++) {
            char *report = NULL;
            int rc = sync_device(c, d, 0, &report), resolved = 0, pending = 0;
            if (rc != 0) {
                fail(c, "final sync of device %d: %d %s", d, rc,
                     wb_error_last() ? wb_error_last()->message : "?");
                wb_free(report);
                return -1;
            }
            if (report_total(report) > 0)
                quiet = 0;
            wb_free(report);
            if (settle(c, d, &resolved, &pending) < 0)
                return -1;
            c->res->conflicts_resolved += resolved;
            if (resolved > 0)
                quiet = 0;
            if (pending > 0) {
                quiet = 0;
                wait = 1; /* deferred to a time not yet due */
            }
        }
        if (quiet)
            return 0;
        if (wait)
            sleep_ms(1100);
    }
    return fail(c, "still changing after %d final rounds", c->res->final_rounds);
}

/* The answer of a question in a data object, or NULL. */
static const char *answer_of(const cJSON *data, int field)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(data, "survey"),
                                         "responses"),
        question(field));
    return str_get(cJSON_GetObjectItemCaseSensitive(r, "fields"), "answer", NULL);
}

/* Every store against the server, record by record. */
static int check_stores(run *c, const cJSON *items)
{
    for (int d = 0; d < c->o->devices; d++) {
        wb_store *st = NULL;
        wb_iter *it = NULL;
        wb_query q = WB_QUERY_INIT;
        const char *json;
        const cJSON *env;
        cJSON *seen = cJSON_CreateObject();
        int error = 0;

        if (open_store(c, &st, d) < 0) {
            cJSON_Delete(seen);
            return -1;
        }
        q.deleted = WB_DELETED_INCLUDE;
        if (wb_interaction_query(&it, st, &q) != 0) {
            wb_store_free(st);
            cJSON_Delete(seen);
            return fail(c, "device %d: query failed", d);
        }
        while (error == 0 && wb_iter_next(&json, it) == 0) {
            cJSON *local = cJSON_Parse(json), *info = NULL;
            const char *id = str_get(local, "id", NULL), *sid, *state;
            const cJSON *remote = NULL, *e;
            int deleted;
            info = id ? sync_info(st, id) : NULL;
            sid = str_get(info, "serverId", NULL);
            state = str_get(info, "state", NULL);
            deleted = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info, "deleted"));
            if (!info || !state) {
                error = fail(c, "device %d: no sync info for %s", d, id ? id : "?");
            } else if (strcmp(state, "synced") != 0) {
                error = fail(c, "device %d: record %s left %s (%s)", d, id, state,
                             str_get(info, "lastError", NULL) ? str_get(info, "lastError", NULL)
                                                              : "-");
            } else if (!sid || !sid[0]) {
                if (!deleted)
                    error = fail(c, "device %d: live record %s has no server id", d, id);
            } else {
                cJSON_ArrayForEach(e, items)
                {
                    const char *eid = str_get(e, "id", NULL);
                    if (eid && strcmp(eid, sid) == 0) {
                        remote = e;
                        break;
                    }
                }
                if (!remote) {
                    error = fail(c, "device %d: record %s (server %s) not on the server", d, id,
                                 sid);
                } else if (!cJSON_IsTrue(ptr_get(remote, "meta", "isDeleted")) != !deleted) {
                    error = fail(c, "device %d: record %s deleted=%d, server deleted=%d", d, sid,
                                 deleted, !deleted);
                } else if (!deleted && !cJSON_Compare(cJSON_GetObjectItemCaseSensitive(local,
                                                                                       "data"),
                                                      cJSON_GetObjectItemCaseSensitive(remote,
                                                                                       "data"),
                                                      1)) {
                    char *a = cJSON_PrintUnformatted(ptr_get(local, "data", NULL));
                    char *b = cJSON_PrintUnformatted(ptr_get(remote, "data", NULL));
                    error = fail(c, "device %d: record %s differs: store %s server %s", d, sid,
                                 a ? a : "?", b ? b : "?");
                    free(a);
                    free(b);
                } else if (cJSON_GetObjectItemCaseSensitive(seen, sid)) {
                    error = fail(c, "device %d: server record %s held twice", d, sid);
                } else {
                    cJSON_AddTrueToObject(seen, sid);
                }
            }
            cJSON_Delete(info);
            cJSON_Delete(local);
        }
        wb_iter_free(it);
        /* Every live server record is in the store. */
        if (error == 0) {
            cJSON_ArrayForEach(env, items)
            {
                const char *eid = str_get(env, "id", NULL);
                if (!cJSON_IsTrue(ptr_get(env, "meta", "isDeleted")) && eid &&
                    !cJSON_GetObjectItemCaseSensitive(seen, eid)) {
                    error = fail(c, "device %d: server record %s missing", d, eid);
                    if (c->o->verbose) {
                        char *t = cJSON_PrintUnformatted(env);
                        fprintf(stderr, "    %s\n", t ? t : "?");
                        free(t);
                    }
                    break;
                }
            }
        }
        cJSON_Delete(seen);
        wb_store_free(st);
        if (error < 0)
            return -1;
    }
    return 0;
}

/* No edit lost: under merge the last value each writer gave its field is
 * there; under the other policies every value is one that was written. */
static int check_writes(run *c, const cJSON *items)
{
    wb_store *st[MAX_DEV] = {NULL};
    int error = 0;
    char (*sids)[40] = calloc(c->n_writes ? c->n_writes : 1, sizeof(*sids));
    if (!sids)
        return fail(c, "out of memory");
    for (int d = 0; d < c->o->devices && error == 0; d++)
        error = open_store(c, &st[d], d);
    /* Server ids of every write. */
    for (size_t i = 0; i < c->n_writes && error == 0; i++) {
        const write_rec *w = &c->writes[i];
        if (w->dev == ADMIN_FIELD) {
            snprintf(sids[i], sizeof(sids[i]), "%s", w->id);
        } else {
            cJSON *info = sync_info(st[w->dev], w->id);
            const char *sid = str_get(info, "serverId", NULL);
            snprintf(sids[i], sizeof(sids[i]), "%s", sid ? sid : "");
            cJSON_Delete(info);
        }
    }
    for (size_t i = 0; i < c->n_writes && error == 0; i++) {
        const write_rec *w = &c->writes[i];
        const cJSON *env, *remote = NULL;
        const char *final;
        size_t last = i;
        int written = 0;
        if (!sids[i][0])
            continue; /* never reached the server: deleted before */
        cJSON_ArrayForEach(env, items)
        {
            const char *eid = str_get(env, "id", NULL);
            if (eid && strcmp(eid, sids[i]) == 0) {
                remote = env;
                break;
            }
        }
        if (!remote) {
            error = fail(c, "write %s of %s: server record %s unknown", w->value, w->id, sids[i]);
            break;
        }
        if (cJSON_IsTrue(ptr_get(remote, "meta", "isDeleted")))
            continue;
        for (size_t k = i + 1; k < c->n_writes; k++)
            if (c->writes[k].field == w->field && strcmp(sids[k], sids[i]) == 0)
                last = k;
        if (last != i)
            continue; /* judged at the last write */
        final = answer_of(ptr_get(remote, "data", NULL), w->field);
        if (c->policy == WB_POLICY_MERGE) {
            if (!final || strcmp(final, w->value) != 0)
                error = fail(c, "record %s: %s's last answer %s lost (now %s)", sids[i],
                             w->dev == ADMIN_FIELD ? "the server editor" : "a device", w->value,
                             final ? final : "absent");
            continue;
        }
        for (size_t k = 0; k < c->n_writes && final; k++)
            if (c->writes[k].field == w->field && strcmp(sids[k], sids[i]) == 0 &&
                strcmp(c->writes[k].value, final) == 0)
                written = 1;
        if (final && !written)
            error = fail(c, "record %s: answer %s was never written", sids[i], final);
    }
    for (int d = 0; d < c->o->devices; d++)
        wb_store_free(st[d]);
    free(sids);
    return error;
}

static int check(run *c)
{
    cJSON *dump = NULL;
    const cJSON *items, *env;
    int dups = 0, error = 0;
    if (server_dump(c, &dump, &items, &dups) < 0)
        return -1;
    cJSON_ArrayForEach(env, items)
    {
        if (cJSON_IsTrue(ptr_get(env, "meta", "isDeleted")))
            c->res->server_deleted++;
        else
            c->res->server_live++;
    }
    if (dups != 0) {
        char *d = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(dump, "duplicates"));
        error = fail(c, "server holds %d duplicate group(s): %s", dups, d ? d : "?");
        free(d);
        if (c->o->verbose) {
            const cJSON *g, *id;
            cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(dump, "duplicates"))
            {
                cJSON_ArrayForEach(id, g)
                {
                    cJSON_ArrayForEach(env, items)
                    {
                        if (cJSON_IsString(id) &&
                            strcmp(str_get(env, "id", NULL), id->valuestring) == 0) {
                            char *t = cJSON_PrintUnformatted(env);
                            fprintf(stderr, "    %s\n", t ? t : "?");
                            free(t);
                        }
                    }
                }
            }
        }
    }
    if (error == 0)
        error = check_stores(c, items);
    if (error == 0)
        error = check_writes(c, items);
    cJSON_Delete(dump);
    return error;
}

/* ---- a run ------------------------------------------------------------------------ */

int wbc_run_seed(wbc_result *res, unsigned long seed, const wbc_opts *o)
{
    run c;
    int error = 0;

    memset(res, 0, sizeof(*res));
    memset(&c, 0, sizeof(c));
    c.o = o;
    c.res = res;
    c.r.s = (uint64_t)seed * 0x2545f4914f6cdd1dULL + 1;
    if (o->devices < 1 || o->devices > MAX_DEV) {
        snprintf(res->why, sizeof(res->why), "devices: 1…%d", MAX_DEV);
        return -1;
    }
    c.policy = o->policy >= 0 ? o->policy : (int)(seed % 3);
    c.api = rnd_chance(&c.r, 0.5) ? WB_API_V1 : WB_API_V2;
    res->policy = c.policy;
    res->api = c.api;
    res->client_ids = rnd_chance(&c.r, 0.5);
    for (int d = 0; d < o->devices; d++) {
        snprintf(c.store_path[d], sizeof(c.store_path[d]), "%s/device-%d.db", o->workdir, d);
        unlink(c.store_path[d]);
        {
            char side[1100];
            snprintf(side, sizeof(side), "%s-wal", c.store_path[d]);
            unlink(side);
            snprintf(side, sizeof(side), "%s-shm", c.store_path[d]);
            unlink(side);
        }
    }
    if (!(c.curl = curl_easy_init())) {
        snprintf(res->why, sizeof(res->why), "libcurl: no easy handle");
        return -1;
    }
    if (server_start(&c, res->client_ids) < 0) {
        curl_easy_cleanup(c.curl);
        return -1;
    }
    for (int d = 0; d < o->devices && error == 0; d++) {
        wb_store *st = NULL;
        if ((error = open_store(&c, &st, d)) == 0)
            wb_store_free(st);
    }
    if (error == 0)
        error = set_faults(&c, o->fault_rate, (uint64_t)seed);
    for (int r = 0; r < o->rounds && error == 0; r++)
        error = round_once(&c);
    if (error == 0) {
        res->faults_fired = faults_fired(&c);
        error = set_faults(&c, 0, 0);
    }
    if (error == 0)
        error = final_sync(&c);
    if (error == 0)
        check(&c);
    res->ok = !c.failed;
    server_stop(&c);
    curl_easy_cleanup(c.curl);
    free(c.writes);
    return 0;
}
