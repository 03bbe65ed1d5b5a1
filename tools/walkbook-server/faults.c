/*
 * faults.c - fault injection rules and the request hook (see faults.h).
 *
 * The rules live in one array under a mutex; the hook decides under the
 * lock and acts (sleeps, answers, marks the response) outside it.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common.h"
#include "faults.h"
#include "json.h"

#define WBS_FAULTS_MAX_FILE (1024L * 1024L)
#define WBS_FAULTS_MAX_SEED 9007199254740992.0 /* 2^53: exact in a double */

enum wbs_fault_action {
    WBS_FAULT_STATUS,
    WBS_FAULT_DELAY,
    WBS_FAULT_DROP_BEFORE,
    WBS_FAULT_DROP_AFTER,
    WBS_FAULT_TRUNCATE,
    WBS_FAULT_GARBAGE
};

static const char *const wbs_fault_names[] = {"status",      "delay",    "drop_before",
                                              "drop_after",  "truncate", "garbage"};

typedef struct wbs_fault_rule {
    cJSON *spec;  /* the rule as given, for describe */
    char *method; /* NULL = any */
    char *path;   /* glob; NULL = any */
    double probability;
    long long count; /* -1 = no limit */
    uint64_t seed, rng;
    int action;
    int status;
    long retry_after; /* -1 = no header */
    long ms;
    long long seen, fired;
} wbs_fault_rule;

struct wbs_faults {
    pthread_mutex_t lock;
    wbs_fault_rule *rules;
    size_t n;
};

wbs_faults *wbs_faults_new(void)
{
    wbs_faults *f = wb__calloc(1, sizeof(*f));
    if (f)
        pthread_mutex_init(&f->lock, NULL);
    return f;
}

static void wbs_faults__free_rules(wbs_fault_rule *rules, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cJSON_Delete(rules[i].spec);
        wb__free(rules[i].method);
        wb__free(rules[i].path);
    }
    wb__free(rules);
}

void wbs_faults_free(wbs_faults *f)
{
    if (!f)
        return;
    wbs_faults__free_rules(f->rules, f->n);
    pthread_mutex_destroy(&f->lock);
    wb__free(f);
}

/* splitmix64: small, fast, and the same sequence on every platform. */
static uint64_t wbs_faults__next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A uniform double in [0, 1). */
static double wbs_faults__draw(uint64_t *state)
{
    return (double)(wbs_faults__next(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* Glob: '*' matches any run of characters ('/' included), everything
 * else itself. Iterative with one backtrack point, so linear in practice
 * and never recursive on hostile input. */
static int wbs_faults__glob(const char *pat, const char *s)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (*pat == *s) {
            pat++;
            s++;
        } else if (star) {
            pat = star + 1;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

/* A JSON number that is an integer in [min, max]. */
static int wbs_faults__int(long long *out, const cJSON *v, double min, double max)
{
    double d;
    if (!cJSON_IsNumber(v))
        return -1;
    d = v->valuedouble;
    if (!(d >= min && d <= max) || d != (double)(long long)d)
        return -1;
    *out = (long long)d;
    return 0;
}

static int wbs_faults__parse_rule(wbs_fault_rule *r, const cJSON *spec, size_t idx, char *err,
                                  size_t errlen)
{
    static const char *const known[] = {"method", "path", "probability", "count", "seed",
                                        "action", "status", "retryAfter", "ms"};
    const cJSON *m;
    long long v;
    size_t a;

    memset(r, 0, sizeof(*r));
    r->probability = 1.0;
    r->count = -1;
    r->seed = 1;
    r->retry_after = -1;
    if (!cJSON_IsObject(spec)) {
        snprintf(err, errlen, "rules[%zu]: must be an object", idx);
        return -1;
    }
    cJSON_ArrayForEach(m, spec) {
        size_t k;
        for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
            if (m->string && strcmp(m->string, known[k]) == 0)
                break;
        if (k == sizeof(known) / sizeof(known[0])) {
            snprintf(err, errlen, "rules[%zu].%.64s: unknown member", idx,
                     m->string ? m->string : "");
            return -1;
        }
    }
    m = wb_json__get(spec, "action");
    if (!cJSON_IsString(m)) {
        snprintf(err, errlen, "rules[%zu].action: required, a string", idx);
        return -1;
    }
    for (a = 0; a < sizeof(wbs_fault_names) / sizeof(wbs_fault_names[0]); a++)
        if (strcmp(m->valuestring, wbs_fault_names[a]) == 0)
            break;
    if (a == sizeof(wbs_fault_names) / sizeof(wbs_fault_names[0])) {
        snprintf(err, errlen,
                 "rules[%zu].action: one of status, delay, drop_before, drop_after, truncate, "
                 "garbage",
                 idx);
        return -1;
    }
    r->action = (int)a;

    if ((m = wb_json__get(spec, "method")) != NULL) {
        if (!cJSON_IsString(m) || !*m->valuestring || strlen(m->valuestring) > 16) {
            snprintf(err, errlen, "rules[%zu].method: a method name or \"*\"", idx);
            return -1;
        }
        if (strcmp(m->valuestring, "*") != 0 && !(r->method = wb__strdup(m->valuestring)))
            goto oom;
    }
    if ((m = wb_json__get(spec, "path")) != NULL) {
        if (!cJSON_IsString(m) || m->valuestring[0] != '/' || strlen(m->valuestring) > 1024) {
            snprintf(err, errlen, "rules[%zu].path: a glob starting with '/'", idx);
            return -1;
        }
        if (!(r->path = wb__strdup(m->valuestring)))
            goto oom;
    }
    if ((m = wb_json__get(spec, "probability")) != NULL) {
        if (!cJSON_IsNumber(m) || !(m->valuedouble >= 0.0 && m->valuedouble <= 1.0)) {
            snprintf(err, errlen, "rules[%zu].probability: a number from 0 to 1", idx);
            return -1;
        }
        r->probability = m->valuedouble;
    }
    if ((m = wb_json__get(spec, "count")) != NULL) {
        if (wbs_faults__int(&r->count, m, 0, WBS_FAULTS_MAX_SEED) < 0) {
            snprintf(err, errlen, "rules[%zu].count: a non-negative integer", idx);
            return -1;
        }
    }
    if ((m = wb_json__get(spec, "seed")) != NULL) {
        if (wbs_faults__int(&v, m, 0, WBS_FAULTS_MAX_SEED) < 0) {
            snprintf(err, errlen, "rules[%zu].seed: an integer from 0 to 2^53", idx);
            return -1;
        }
        r->seed = (uint64_t)v;
    }
    r->rng = r->seed;

    m = wb_json__get(spec, "status");
    if (r->action == WBS_FAULT_STATUS) {
        if (wbs_faults__int(&v, m, 400, 599) < 0) {
            snprintf(err, errlen, "rules[%zu].status: required, an integer from 400 to 599", idx);
            return -1;
        }
        r->status = (int)v;
    } else if (m) {
        snprintf(err, errlen, "rules[%zu].status: only with action \"status\"", idx);
        return -1;
    }
    if ((m = wb_json__get(spec, "retryAfter")) != NULL) {
        if (r->action != WBS_FAULT_STATUS || wbs_faults__int(&v, m, 0, 86400) < 0) {
            snprintf(err, errlen,
                     "rules[%zu].retryAfter: seconds from 0 to 86400, with action \"status\"",
                     idx);
            return -1;
        }
        r->retry_after = (long)v;
    }
    m = wb_json__get(spec, "ms");
    if (r->action == WBS_FAULT_DELAY) {
        if (wbs_faults__int(&v, m, 0, 60000) < 0) {
            snprintf(err, errlen, "rules[%zu].ms: required, an integer from 0 to 60000", idx);
            return -1;
        }
        r->ms = (long)v;
    } else if (m) {
        snprintf(err, errlen, "rules[%zu].ms: only with action \"delay\"", idx);
        return -1;
    }
    if (!(r->spec = wb_json__dup(spec)))
        goto oom;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

int wbs_faults_set(wbs_faults *f, const char *json, size_t len, char *err, size_t errlen)
{
    cJSON *doc = NULL;
    const cJSON *list, *spec;
    wbs_fault_rule *rules = NULL, *old;
    size_t n = 0, count, old_n;
    int error = -1;

    if (wb_json__parse(&doc, json, len, NULL, "faults") < 0) {
        const wb_error *e = wb_error_last();
        snprintf(err, errlen, "%s", e && e->message ? e->message : "faults: not JSON");
        goto cleanup;
    }
    list = cJSON_IsObject(doc) ? wb_json__get(doc, "rules") : doc;
    if (!cJSON_IsArray(list)) {
        snprintf(err, errlen, "faults: an array of rules, or {\"rules\":[…]}");
        goto cleanup;
    }
    if (cJSON_IsObject(doc) && cJSON_GetArraySize(doc) != 1) {
        snprintf(err, errlen, "faults: only a \"rules\" member is allowed");
        goto cleanup;
    }
    count = (size_t)cJSON_GetArraySize(list);
    if (count > WBS_FAULTS_MAX_RULES) {
        snprintf(err, errlen, "faults: at most %d rules", WBS_FAULTS_MAX_RULES);
        goto cleanup;
    }
    if (count && !(rules = wb__calloc(count, sizeof(*rules)))) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    cJSON_ArrayForEach(spec, list) {
        if (wbs_faults__parse_rule(&rules[n], spec, n, err, errlen) < 0) {
            n++; /* free what the failed rule holds too */
            goto cleanup;
        }
        n++;
    }
    pthread_mutex_lock(&f->lock);
    old = f->rules;
    old_n = f->n;
    f->rules = rules;
    f->n = n;
    pthread_mutex_unlock(&f->lock);
    rules = old;
    n = old_n;
    error = 0;
cleanup:
    wbs_faults__free_rules(rules, n);
    cJSON_Delete(doc);
    return error;
}

int wbs_faults_load_file(wbs_faults *f, const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    wb_buf b = WB_BUF_INIT;
    char chunk[4096];
    size_t got;
    int rc;

    if (!fp) {
        snprintf(err, errlen, "--faults: cannot open the file");
        return -1;
    }
    while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        if (b.len + got > (size_t)WBS_FAULTS_MAX_FILE) {
            fclose(fp);
            wb_buf__free(&b);
            snprintf(err, errlen, "--faults: file over 1 MiB");
            return -1;
        }
        wb_buf__put(&b, chunk, got);
    }
    fclose(fp);
    if (b.oom) {
        wb_buf__free(&b);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc = wbs_faults_set(f, b.ptr ? b.ptr : "", b.len, err, errlen);
    wb_buf__free(&b);
    return rc;
}

void wbs_faults_clear(wbs_faults *f)
{
    wbs_fault_rule *old;
    size_t n;
    pthread_mutex_lock(&f->lock);
    old = f->rules;
    n = f->n;
    f->rules = NULL;
    f->n = 0;
    pthread_mutex_unlock(&f->lock);
    wbs_faults__free_rules(old, n);
}

char *wbs_faults_describe(wbs_faults *f)
{
    cJSON *out = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(out, "rules");
    char *text = NULL;

    if (!out || !list)
        goto cleanup;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->n; i++) {
        cJSON *r = wb_json__dup(f->rules[i].spec);
        if (!r || !cJSON_AddItemToArray(list, r) ||
            !cJSON_AddNumberToObject(r, "seen", (double)f->rules[i].seen) ||
            !cJSON_AddNumberToObject(r, "fired", (double)f->rules[i].fired)) {
            pthread_mutex_unlock(&f->lock);
            goto cleanup;
        }
    }
    pthread_mutex_unlock(&f->lock);
    text = wb_json__print(out);
cleanup:
    cJSON_Delete(out);
    return text;
}

static const char *wbs_faults__error_name(int status)
{
    switch (status) {
    case 429:
        return "TooManyRequestsError";
    case 500:
        return "ServerError";
    case 502:
        return "BadGatewayError";
    case 503:
        return "ServiceUnavailableError";
    case 504:
        return "GatewayTimeoutError";
    default:
        return status < 500 ? "BadRequestError" : "ServerError";
    }
}

static void wbs_faults__sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static int wbs_faults__hook(wbs_response *res, wbs_request *req, void *userdata)
{
    wbs_faults *f = userdata;
    wbs_fault_rule hit;
    int found = 0;

    memset(&hit, 0, sizeof(hit));
    if (strncmp(req->path, "/__admin/", 9) == 0)
        return 0;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->n && !found; i++) {
        wbs_fault_rule *r = &f->rules[i];
        if ((r->method && strcasecmp(r->method, req->method) != 0) ||
            (r->path && !wbs_faults__glob(r->path, req->path)))
            continue;
        r->seen++;
        if (r->count >= 0 && r->fired >= r->count)
            continue;
        if (r->probability < 1.0 && !(wbs_faults__draw(&r->rng) < r->probability))
            continue;
        r->fired++;
        hit = *r;
        found = 1;
    }
    pthread_mutex_unlock(&f->lock);
    if (!found)
        return 0;

    res->fault = wbs_fault_names[hit.action];
    switch (hit.action) {
    case WBS_FAULT_STATUS:
        wbs_respond_error(res, hit.status, wbs_faults__error_name(hit.status),
                          "injected fault");
        if (hit.retry_after >= 0) {
            char v[24];
            snprintf(v, sizeof(v), "%ld", hit.retry_after);
            wbs_response_header(res, "Retry-After", v);
        }
        return 1;
    case WBS_FAULT_DELAY:
        wbs_faults__sleep_ms(hit.ms);
        return 0;
    case WBS_FAULT_DROP_BEFORE:
        res->send = WBS_SEND_CLOSE;
        return 1;
    case WBS_FAULT_DROP_AFTER:
        res->send = WBS_SEND_CLOSE;
        return 0;
    case WBS_FAULT_TRUNCATE:
        res->send = WBS_SEND_TRUNCATE;
        return 0;
    default:
        res->send = WBS_SEND_GARBAGE;
        return 0;
    }
}

void wbs_faults_install(wbs_http *h, wbs_faults *f)
{
    wbs_http_set_hook(h, wbs_faults__hook, f);
}
