/*
 * bench.c - walkbook-server-bench: requests/s and latency of walkbook-server
 * on loopback, interaction routes beside a trivial route on the same server
 * in the same run (issue 3, "What it must show").
 *
 *   walkbook-server-bench [--server PATH] [--clients N] [--requests R]
 *                         [--list-requests L] [--server-threads T]
 *                         [--campaigns C] [--rounds K]
 *   walkbook-server-bench --pull-store N [--server PATH] [--page P]
 *
 * Starts PATH (default: the walkbook-server built beside it) with
 * --port 0 --bench-routes --threads T and one bearer token, then runs three
 * phases, each with N client threads (default 8) that each send a fixed
 * number of requests over one keep-alive connection:
 *   ping    GET /__bench/ping (answers {} without auth or storage): the
 *           baseline, R requests per client (default 2000)
 *   create  POST /v2/interactions, R per client, spread over C campaigns
 *   list    GET /v2/interactions?limit=50&filter[/data/campaignId]=…, L per
 *           client (default: R), over the store that create left
 * The phases take turns in K rounds (--rounds, default 20) of R/K requests
 * per client each, so that other load on the machine falls on the baseline
 * and the interaction routes alike. It prints, per phase, requests/s,
 * p50/p99 latency and the CPU time per request of the server (from /proc)
 * and of the client threads (steadier than requests/s on a machine with
 * other load), then the ratio of each interaction phase's requests/s to
 * the baseline's (target ≥ 50 %). The lines that
 * start with "bench:" are the figures. Exit status 1 when a request failed.
 *
 * --pull-store N instead fills a fresh server with N interactions (the
 * create phase's bodies, 8 clients) and then reads them all back as the
 * sync client's pull does, one request at a time: pages of P (default
 * 500) with the filter `/meta/modified gte "<last modified seen>" and
 * /meta/isDeleted in [true,false]`, sorted by /meta/modified then id,
 * skipping the records of the previous page at that modified value. It
 * prints the time per page (the client's wall time, and the server's CPU
 * time) and records per second.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#ifndef WBS_BENCH_SERVER
#define WBS_BENCH_SERVER "walkbook-server"
#endif

#define BENCH_TOKEN "bench-token"
#define BENCH_CUSTOMER "c0c0c0c0-0000-4000-8000-00000000be0c"
#define BENCH_SG "5e5e5e5e-0000-4000-8000-00000000be0c"
#define BENCH_USER "aaaaaaaa-0000-4000-8000-00000000be0c"
#define BENCH_MAX_CLIENTS 256
#define BENCH_MAX_CAMPAIGNS 1000

typedef struct bench_opts {
    const char *server;
    long clients, requests, list_requests, server_threads, campaigns, rounds;
    long pull_pages, page; /* --pull-store N (0: off), --page P */
} bench_opts;

enum { PHASE_PING, PHASE_CREATE, PHASE_LIST };
static const char *const phase_names[] = {"ping", "create", "list"};

typedef struct bench_client {
    int index;
    int phase;
    long n;
    long first; /* number of the first request (rounds continue the count) */
    unsigned port;
    const bench_opts *o;
    pthread_barrier_t *start;
    double *lat_ms; /* n entries */
    long errors;
    long first_error_status;
} bench_client;

typedef struct bench_result {
    double *lat_ms; /* every request's latency, over all rounds */
    double wall_ms, server_us, client_us; /* sums over all rounds */
    double rps, p50, p99, max;
    double server_cpu_us; /* server CPU time (user + system) per request */
    double client_cpu_us; /* this program's CPU time per request (the clients) */
    long requests, errors;
} bench_result;

/* CPU time the server process has used so far, in microseconds (from
 * /proc; -1 where that is not readable). Less sensitive to other load on
 * the machine than requests/s. */
static double server_cpu_us(pid_t pid)
{
    char path[64], buf[1024];
    unsigned long long ut, st;
    const char *p;
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the command name, which is in parentheses. */
    if (!(p = strrchr(buf, ')')) ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

/* CPU time this process (the client threads) has used, in microseconds. */
static double self_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static size_t discard(char *data, size_t size, size_t n, void *userdata)
{
    (void)data;
    (void)userdata;
    return size * n;
}

static void campaign_id(char out[37], long i)
{
    snprintf(out, 37, "ca000000-0000-4000-8000-%012ld", i);
}

static void *bench_client_run(void *arg)
{
    bench_client *c = arg;
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    char url[512], body[1024], campaign[37];
    long status;

    hdrs = curl_slist_append(hdrs, "Authorization: Bearer " BENCH_TOKEN);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (!h || !hdrs) {
        c->errors = c->n;
        pthread_barrier_wait(c->start);
        goto done;
    }
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    campaign_id(campaign, c->index % c->o->campaigns);
    pthread_barrier_wait(c->start);
    for (long i = 0; i < c->n; i++) {
        double t0;
        CURLcode rc;
        switch (c->phase) {
        case PHASE_PING:
            snprintf(url, sizeof(url), "http://127.0.0.1:%u/__bench/ping", c->port);
            curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
            break;
        case PHASE_CREATE:
            snprintf(url, sizeof(url), "http://127.0.0.1:%u/v2/interactions", c->port);
            snprintf(body, sizeof(body),
                     "{\"campaignId\":\"%s\",\"contactId\":\"0478dbbf-b6eb-4168-afa9-5ebab6fef4b6\","
                     "\"householdId\":\"c15e3515-aabf-42da-8d1b-31679f738eae\","
                     "\"contactHouseholdId\":\"d070b1dc-9611-4f29-9300-a32160d21baa\","
                     "\"timestamp\":\"2024-05-%02dT%02ld:%02ld:%02ld.%03ldZ\",\"unavailable\":false,"
                     "\"survey\":{\"surveyId\":\"375d437b-3b47-4940-b43d-be8daec4afff\","
                     "\"responses\":{}}}",
                     campaign, 1 + c->index % 28, ((c->first + i) / 3600000) % 24,
                     ((c->first + i) / 60000) % 60, ((c->first + i) / 1000) % 60,
                     (c->first + i) % 1000);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
            break;
        default:
            snprintf(url, sizeof(url),
                     "http://127.0.0.1:%u/v2/interactions?limit=50"
                     "&filter%%5B%%2Fdata%%2FcampaignId%%5D=%s",
                     c->port, campaign);
            curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
            break;
        }
        curl_easy_setopt(h, CURLOPT_URL, url);
        t0 = now_ms();
        rc = curl_easy_perform(h);
        c->lat_ms[i] = now_ms() - t0;
        status = 0;
        if (rc == CURLE_OK)
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (status != (c->phase == PHASE_CREATE ? 201 : 200)) {
            if (!c->errors)
                c->first_error_status = rc == CURLE_OK ? status : -(long)rc;
            c->errors++;
        }
    }
done:
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One round of a phase: per_client requests from each client; adds to
 * out (latencies, wall time, CPU times, errors). 0 or -1 (oom). */
static int bench_phase(bench_result *out, int phase, long per_client, long first, unsigned port,
                       pid_t server, const bench_opts *o)
{
    bench_client *cs = calloc((size_t)o->clients, sizeof(*cs));
    pthread_t *ts = calloc((size_t)o->clients, sizeof(*ts));
    double *lat = realloc(out->lat_ms,
                          (size_t)(out->requests + o->clients * per_client) * sizeof(double));
    pthread_barrier_t start;
    double t0, cpu0, self0;
    long total = o->clients * per_client, k = 0;
    int ok = -1;

    if (lat)
        out->lat_ms = lat;
    if (!cs || !ts || !lat || pthread_barrier_init(&start, NULL, (unsigned)o->clients + 1) != 0)
        goto cleanup;
    for (long i = 0; i < o->clients; i++) {
        cs[i].index = (int)i;
        cs[i].phase = phase;
        cs[i].n = per_client;
        cs[i].first = first;
        cs[i].port = port;
        cs[i].o = o;
        cs[i].start = &start;
        cs[i].lat_ms = out->lat_ms + out->requests + i * per_client;
        if (pthread_create(&ts[i], NULL, bench_client_run, &cs[i]) != 0) {
            fprintf(stderr, "walkbook-server-bench: cannot start a client thread\n");
            exit(2); /* the barrier would never open */
        }
    }
    cpu0 = server_cpu_us(server);
    self0 = self_cpu_us();
    pthread_barrier_wait(&start);
    t0 = now_ms();
    for (long i = 0; i < o->clients; i++)
        pthread_join(ts[i], NULL);
    out->wall_ms += now_ms() - t0;
    out->server_us = cpu0 < 0 || out->server_us < 0 ? -1 : out->server_us + server_cpu_us(server) - cpu0;
    out->client_us += self_cpu_us() - self0;
    pthread_barrier_destroy(&start);
    for (long i = 0; i < o->clients; i++) {
        out->errors += cs[i].errors;
        if (cs[i].errors && k++ == 0)
            fprintf(stderr, "walkbook-server-bench: %s: %ld failed requests (first: %s %ld)\n",
                    phase_names[phase], cs[i].errors,
                    cs[i].first_error_status < 0 ? "curl error" : "HTTP",
                    labs(cs[i].first_error_status));
    }
    out->requests += total;
    ok = 0;
cleanup:
    free(cs);
    free(ts);
    return ok;
}

/* The figures of a phase from its rounds. */
static void bench_finish(bench_result *r)
{
    if (!r->requests)
        return;
    qsort(r->lat_ms, (size_t)r->requests, sizeof(double), cmp_double);
    r->rps = (double)r->requests / (r->wall_ms / 1e3);
    r->p50 = r->lat_ms[(size_t)((double)r->requests * 0.50)];
    r->p99 = r->lat_ms[(size_t)((double)r->requests * 0.99)];
    r->max = r->lat_ms[r->requests - 1];
    r->server_cpu_us = r->server_us < 0 ? -1 : r->server_us / (double)r->requests;
    r->client_cpu_us = r->client_us / (double)r->requests;
}

/* Start the server; 0 with *pid and *port, or -1. */
static int start_server(pid_t *pid, unsigned *port, const bench_opts *o, const char *dir)
{
    char portfile[512], threads[16];
    const char *argv[20];
    size_t n = 0;

    snprintf(portfile, sizeof(portfile), "%s/port", dir);
    snprintf(threads, sizeof(threads), "%ld", o->server_threads);
    argv[n++] = o->server;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--port-file";
    argv[n++] = portfile;
    argv[n++] = "--bench-routes";
    argv[n++] = "--threads";
    argv[n++] = threads;
    argv[n++] = "--token";
    argv[n++] = BENCH_TOKEN ":" BENCH_CUSTOMER ":" BENCH_SG ":" BENCH_USER;
    argv[n] = NULL;
    *pid = fork();
    if (*pid < 0)
        return -1;
    if (*pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            close(fd);
        }
        execv(o->server, (char *const *)(void *)argv);
        fprintf(stderr, "walkbook-server-bench: cannot run %s\n", o->server);
        _exit(127);
    }
    for (int i = 0; i < 600; i++) { /* up to 30 s (a loaded machine, valgrind) */
        FILE *f = fopen(portfile, "r");
        if (f) {
            int got = fscanf(f, "%u", port) == 1;
            fclose(f);
            if (got && *port)
                return 0;
        }
        if (waitpid(*pid, NULL, WNOHANG) == *pid)
            return -1;
        sleep_ms(50);
    }
    return -1;
}

static void stop_server(pid_t pid, const char *dir)
{
    char portfile[512];
    int status;
    kill(pid, SIGTERM);
    for (int i = 0; i < 60; i++) { /* up to 3 s */
        if (waitpid(pid, &status, WNOHANG) == pid)
            goto removed;
        sleep_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
removed:
    snprintf(portfile, sizeof(portfile), "%s/port", dir);
    remove(portfile);
    rmdir(dir);
}

/* The response body of one request, kept. */
typedef struct bench_body {
    char *p;
    size_t len, cap;
} bench_body;

static size_t keep(char *data, size_t size, size_t n, void *userdata)
{
    bench_body *b = userdata;
    size_t add = size * n;
    if (b->len + add + 1 > b->cap) {
        size_t cap = (b->len + add + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, add);
    b->len += add;
    b->p[b->len] = '\0';
    return add;
}

/* The pull-shaped read (--pull-store, see the top of the file). 0, or 1
 * when a request failed. */
static int bench_pull(const bench_opts *o, unsigned port, pid_t server)
{
    bench_result fill;
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = curl_slist_append(NULL, "Authorization: Bearer " BENCH_TOKEN);
    bench_body body = {NULL, 0, 0};
    char url[1024], filter[256], modified[32] = "2000-01-01T00:00:00.000Z";
    double *page_ms = NULL, t0, cpu_total = 0, wall_total = 0;
    long pages = 0, records = 0, skip = 0, status = 0, per_client;
    int failed = 0;

    memset(&fill, 0, sizeof(fill));
    per_client = (o->pull_pages + o->clients - 1) / o->clients;
    t0 = now_ms();
    if (bench_phase(&fill, PHASE_CREATE, per_client, 0, port, server, o) < 0 || fill.errors) {
        fprintf(stderr, "walkbook-server-bench: filling the store failed\n");
        failed = 1;
        goto done;
    }
    printf("walkbook-server-bench: %ld interactions created in %.1f s; reading them back in "
           "pages of %ld\n",
           fill.requests, (now_ms() - t0) / 1e3, o->page);
    fflush(stdout);
    page_ms = calloc((size_t)(fill.requests / o->page + 2), sizeof(double));
    if (!h || !hdrs || !page_ms) {
        failed = 1;
        goto done;
    }
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    for (;;) {
        char *esc, *last;
        long n = 0, at_last = 0;
        double start, cpu;

        snprintf(filter, sizeof(filter),
                 "/meta/modified gte \"%s\" and /meta/isDeleted in [true,false]", modified);
        esc = curl_easy_escape(h, filter, 0);
        snprintf(url, sizeof(url),
                 "http://127.0.0.1:%u/v2/interactions?filter=%s&sort=%%2Fmeta%%2Fmodified"
                 "&sort=ASC&sort=id&sort=ASC&limit=%ld&skip=%ld",
                 port, esc ? esc : "", o->page, skip);
        curl_free(esc);
        curl_easy_setopt(h, CURLOPT_URL, url);
        body.len = 0;
        cpu = server_cpu_us(server);
        start = now_ms();
        if (curl_easy_perform(h) != CURLE_OK ||
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200 ||
            !body.p) {
            fprintf(stderr, "walkbook-server-bench: page %ld failed (HTTP %ld)\n", pages, status);
            failed = 1;
            break;
        }
        page_ms[pages] = now_ms() - start;
        wall_total += page_ms[pages];
        cpu_total += server_cpu_us(server) - cpu;
        /* Items and the last meta.modified: every envelope has one
         * "etag" and ends its meta with a "modified" after "created". */
        for (const char *q = body.p; (q = strstr(q, "\"etag\":")); q++)
            n++;
        last = NULL;
        for (char *q = body.p; (q = strstr(q, "\"modified\":\"")); q++)
            last = q;
        pages++;
        records += n;
        if (n < o->page || !last)
            break;
        if (strncmp(last + 12, modified, 24) != 0) {
            memcpy(modified, last + 12, 24);
            skip = 0;
        }
        /* the page's records at that value come first next time */
        for (char *q = body.p; (q = strstr(q, "\"modified\":\"")); q++)
            if (strncmp(q + 12, modified, 24) == 0)
                at_last++;
        skip += at_last;
        if (pages > fill.requests / o->page + 1)
            break; /* no progress: the loop is bounded */
    }
    if (pages) {
        qsort(page_ms, (size_t)pages, sizeof(double), cmp_double);
        printf("bench: pull   pages=%ld records=%ld page_size=%ld ms_per_page=%.2f "
               "p50_ms=%.2f max_ms=%.2f server_cpu_ms_per_page=%.2f records_per_s=%.0f\n",
               pages, records, o->page, wall_total / (double)pages, page_ms[pages / 2],
               page_ms[pages - 1], cpu_total / 1e3 / (double)pages,
               (double)records / (wall_total / 1e3));
    }
    if (records != fill.requests) {
        fprintf(stderr, "walkbook-server-bench: read %ld of %ld records\n", records,
                fill.requests);
        failed = 1;
    }
done:
    free(fill.lat_ms);
    free(page_ms);
    free(body.p);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return failed;
}

static int number(long *out, const char *s, long min, long max)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    bench_opts o = {WBS_BENCH_SERVER, 8, 2000, -1, 4, 8, 20, 0, 500};
    bench_result r[3];
    char dir[] = "/tmp/wbs-bench-XXXXXX";
    unsigned port = 0;
    pid_t pid;
    int failed = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = !v;
        if (!bad && strcmp(a, "--server") == 0)
            o.server = v;
        else if (!bad && strcmp(a, "--clients") == 0)
            bad = number(&o.clients, v, 1, BENCH_MAX_CLIENTS);
        else if (!bad && strcmp(a, "--requests") == 0)
            bad = number(&o.requests, v, 1, 1000000);
        else if (!bad && strcmp(a, "--list-requests") == 0)
            bad = number(&o.list_requests, v, 1, 1000000);
        else if (!bad && strcmp(a, "--server-threads") == 0)
            bad = number(&o.server_threads, v, 1, 64);
        else if (!bad && strcmp(a, "--rounds") == 0)
            bad = number(&o.rounds, v, 1, 1000);
        else if (!bad && strcmp(a, "--campaigns") == 0)
            bad = number(&o.campaigns, v, 1, BENCH_MAX_CAMPAIGNS);
        else if (!bad && strcmp(a, "--pull-store") == 0)
            bad = number(&o.pull_pages, v, 1, 10000000);
        else if (!bad && strcmp(a, "--page") == 0)
            bad = number(&o.page, v, 1, 100000);
        else
            bad = 1;
        if (bad) {
            fprintf(stderr,
                    "usage: walkbook-server-bench [--server PATH] [--clients N] [--requests R]\n"
                    "         [--list-requests L] [--server-threads T] [--campaigns C]\n"
                    "         [--rounds K]\n"
                    "       walkbook-server-bench --pull-store N [--server PATH] [--page P]\n");
            return 2;
        }
        i++;
    }
    if (o.list_requests < 0)
        o.list_requests = o.requests;
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "walkbook-server-bench: cannot create a temporary directory\n");
        return 2;
    }
    if (start_server(&pid, &port, &o, dir) < 0) {
        fprintf(stderr, "walkbook-server-bench: %s did not start\n", o.server);
        rmdir(dir);
        return 2;
    }
    if (o.pull_pages) {
        failed = bench_pull(&o, port, pid);
        stop_server(pid, dir);
        curl_global_cleanup();
        return failed;
    }
    printf("walkbook-server-bench: server %s on 127.0.0.1:%u, %ld server threads, %ld clients "
           "(keep-alive), %ld requests per client (list: %ld), %ld campaigns, %ld rounds\n",
           o.server, port, o.server_threads, o.clients, o.requests, o.list_requests, o.campaigns,
           o.rounds);
    fflush(stdout);
    /* The phases take turns, K rounds of R/K requests per client each, so
     * that load from elsewhere on the machine falls on all of them alike. */
    memset(r, 0, sizeof(r));
    for (long k = 0, first = 0; k < o.rounds; k++, first += o.requests / o.rounds) {
        long n = o.requests / o.rounds + (k == o.rounds - 1 ? o.requests % o.rounds : 0);
        long nl = o.list_requests / o.rounds + (k == o.rounds - 1 ? o.list_requests % o.rounds : 0);
        for (int p = 0; p < 3; p++) {
            long count = p == PHASE_LIST ? nl : n;
            if (count && bench_phase(&r[p], p, count, first, port, pid, &o) < 0) {
                fprintf(stderr, "walkbook-server-bench: out of memory\n");
                stop_server(pid, dir);
                return 2;
            }
        }
    }
    stop_server(pid, dir);
    for (int p = 0; p < 3; p++)
        bench_finish(&r[p]);
    for (int p = 0; p < 3; p++) {
        printf("bench: %-6s requests=%ld errors=%ld rps=%.0f p50_ms=%.3f p99_ms=%.3f "
               "max_ms=%.3f server_cpu_us=%.1f client_cpu_us=%.1f\n",
               phase_names[p], r[p].requests, r[p].errors, r[p].rps, r[p].p50, r[p].p99,
               r[p].max, r[p].server_cpu_us, r[p].client_cpu_us);
        failed |= r[p].errors != 0;
    }
    for (int p = PHASE_CREATE; p <= PHASE_LIST; p++) {
        double ratio = 100.0 * r[p].rps / r[PHASE_PING].rps;
        printf("bench: ratio %s/ping=%.1f%% of the baseline's requests/s (target >= 50%%: %s)\n",
               phase_names[p], ratio, ratio >= 50.0 ? "met" : "NOT met");
    }
    /* What the ratio would be on cores with nothing else to run, when
     * server and clients together are CPU-bound: the inverse ratio of
     * their CPU time per request. Other load moves it much less. */
    for (int p = PHASE_CREATE; p <= PHASE_LIST; p++)
        if (r[p].server_cpu_us > 0 && r[PHASE_PING].server_cpu_us > 0)
            printf("bench: cpu-bound ratio %s/ping=%.1f%% (server + client CPU per request)\n",
                   phase_names[p],
                   100.0 * (r[PHASE_PING].server_cpu_us + r[PHASE_PING].client_cpu_us) /
                       (r[p].server_cpu_us + r[p].client_cpu_us));
    printf("bench: list pages read a store growing to %ld interactions in %ld campaigns\n",
           o.clients * o.requests, o.campaigns);
    for (int p = 0; p < 3; p++)
        free(r[p].lat_ms);
    curl_global_cleanup();
    return failed;
}
