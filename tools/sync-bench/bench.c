/*
 * bench.c - walkbook-sync-bench: push and pull throughput of the sync
 * engine against walkbook-server on loopback, beside a floor measured in
 * the same run on the same server (issue 4, "What it must show").
 *
 *   walkbook-sync-bench [--n N[,N…]] [--page-size P (default 500)] [--parallel C]
 *                       [--server PATH] [--tape-dir DIR] [--pull-runs K]
 *   walkbook-sync-bench --pull-replay STORE TAPE URL PAGE
 *
 * For each N (default 10000,100000), with a fresh server (in-memory
 * database, 4 threads):
 *   floor  N plain POSTs of the same create bodies over one keep-alive
 *          connection (one libcurl easy handle reused), to another
 *          customer of the same server so that the pull below does not see
 *          them: the fastest a client can create records one request each;
 *   push   a store holding N recorded interactions syncs (wb_sync_run):
 *          the push phase is timed up to the first pull progress report;
 *   pull   a second device of the same customer, in a child process of
 *          its own (exec'd afresh, so its peak RSS is its own), pulls the
 *          N records: records/s, requests, bytes, and the child's peak RSS
 *          (its VmHWM, read by the child itself from /proc/self/status at
 *          the end: the high-water mark of its own address space since
 *          exec, so nothing of the forking parent counts, and the server
 *          is another process; wait4's ru_maxrss is printed beside it; the
 *          store's file mapping off, since mapped file pages count in the
 *          RSS in proportion to the file while they are the OS page cache,
 *          not the engine's memory). The rate is of the child's whole life
 *          (exec, open, wb_sync_run, wb_sync_free with SQLite's last
 *          checkpoint, exit); the times of wb_sync_run and of the close
 *          are printed beside it, and the server's CPU time during it;
 *   client a third device pulls the same N records from memory: the
 *          pages are first fetched once (not timed) through a recording
 *          transport, then a fresh store pulls them from a replaying one:
 *          the client's own rate (parse and apply, no network or server
 *          time, no prefetch since the transport is not the built-in one).
 * --pull-runs K (1-16) repeats the pull K times, each into a fresh store of
 * the same server: one wall time is noisy, K of them show the spread.
 * --tape-dir DIR keeps the client pull's recorded pages as DIR/tape-N;
 * --pull-replay then pulls them into a fresh STORE alone (URL is the base
 * URL printed with the tape), for profiling the client's pull.
 * Lines starting with "bench:" carry the figures; ratios are to the floor
 * of the same run. Exit status 1 when a phase failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "walkbook.h"

#define WBB_MAX_PULL_RUNS 16

#ifndef WBB_SERVER_BIN
#define WBB_SERVER_BIN "walkbook-server"
#endif

#define CUST_A "c1c1c1c1-0000-4000-8000-0000000000b1"
#define CUST_B "c1c1c1c1-0000-4000-8000-0000000000b2"
#define SG_A "5e5e5e5e-0000-4000-8000-0000000000b1"
#define SG_B "5e5e5e5e-0000-4000-8000-0000000000b2"
#define USER_1 "aaaaaaaa-0000-4000-8000-0000000000b1"
#define USER_2 "aaaaaaaa-0000-4000-8000-0000000000b2"
#define USER_F "aaaaaaaa-0000-4000-8000-0000000000bf"
#define CAMPAIGN "61fbfbaa-5de8-4d17-ac2b-c47f2376265a"
#define Q1 "9826940d-76a8-4700-8c92-5743ce7bb728"
#define Q2 "9826940d-76a8-4700-8c92-5743ce7bb729"

static pid_t server_pid;

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* CPU time of the server so far, from /proc (0 where that cannot be read):
 * it tells whether a run waits on the server or on the client. */
static double server_cpu_s(void)
{
    char path[64], buf[1024];
    const char *p;
    unsigned long ut = 0, st = 0;
    size_t len;
    FILE *f;
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)server_pid);
    if (!(f = fopen(path, "r")))
        return 0;
    len = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[len] = '\0';
    /* Fields 14 and 15 (utime, stime) follow the name, which ends at the last ')'. */
    if (!(p = strrchr(buf, ')')) ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The data of interaction i (v2 create body without the id). */
static int data_of(char *buf, size_t size, long i)
{
    return snprintf(buf, size,
                    "{\"campaignId\":\"" CAMPAIGN "\",\"contactId\":"
                    "\"0478dbbf-b6eb-4168-afa9-%012ld\",\"timestamp\":"
                    "\"2024-05-01T%02ld:%02ld:%02ld.%03ldZ\",\"unavailable\":false,"
                    "\"successful\":true,\"survey\":{\"surveyId\":"
                    "\"375d437b-3b47-4940-b43d-be8daec4afff\",\"responses\":{\"" Q1 "\":"
                    "{\"questionId\":\"" Q1 "\",\"fields\":{\"answer\":\"yes\"}},\"" Q2 "\":"
                    "{\"questionId\":\"" Q2 "\",\"fields\":{\"answer\":\"no\"}}}}}",
                    i, (i / 3600000) % 24, (i / 60000) % 60, (i / 1000) % 60, i % 1000);
}

/* ---- the server ------------------------------------------------------------ */


static int start_server(unsigned *port, const char *server, const char *dir)
{
    char portfile[1100];
    const char *argv[16];
    int n = 0;
    snprintf(portfile, sizeof(portfile), "%s/port", dir);
    unlink(portfile);
    argv[n++] = server;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--port-file";
    argv[n++] = portfile;
    argv[n++] = "--token";
    argv[n++] = "tok1:" CUST_A ":" SG_A ":" USER_1;
    argv[n++] = "--token";
    argv[n++] = "tok2:" CUST_A ":" SG_A ":" USER_2;
    argv[n++] = "--token";
    argv[n++] = "tokf:" CUST_B ":" SG_B ":" USER_F;
    argv[n] = NULL;
    if ((server_pid = fork()) < 0)
        return -1;
    if (server_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execv(server, (char *const *)(void *)argv);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(portfile, "r");
        if (f) {
            int got = fscanf(f, "%u", port) == 1;
            fclose(f);
            if (got && *port)
                return 0;
        }
        if (waitpid(server_pid, NULL, WNOHANG) == server_pid)
            return -1;
        usleep(50000);
    }
    return -1;
}

static void stop_server(void)
{
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
        server_pid = 0;
    }
}

/* ---- floor: plain keep-alive POSTs -------------------------------------------- */

static size_t sink(char *d, size_t s, size_t n, void *u)
{
    size_t *bytes = u;
    (void)d;
    *bytes += s * n;
    return s * n;
}

static int floor_posts(double *secs, size_t *bytes_out, const char *url, long n)
{
    CURL *e = curl_easy_init();
    struct curl_slist *h = NULL;
    char body[2048], data[1900];
    size_t bytes = 0;
    double t0;
    int ok = 1;
    h = curl_slist_append(h, "Authorization: Bearer tokf");
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Accept: application/json");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &bytes);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    t0 = now_s();
    for (long i = 0; i < n && ok; i++) {
        long status = 0;
        int len;
        data_of(data, sizeof(data), i);
        /* Same shape as the engine's: the data members and a client id. */
        len = snprintf(body, sizeof(body), "{\"id\":\"f100f100-0000-4000-8000-%012ld\",%s", i,
                       data + 1);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
        if (curl_easy_perform(e) != CURLE_OK ||
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 201)
            ok = 0;
    }
    *secs = now_s() - t0;
    *bytes_out = bytes;
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return ok ? 0 : -1;
}

/* ---- devices -------------------------------------------------------------------- */

static int make_store_of(const char *path, const char *customer, const char *group,
                         const char *user, long n)
{
    wb_store *st = NULL;
    const char *groups[] = {group};
    wb_store_options so;
    int rc;
    if (wb_store_options_init(&so, WB_STORE_OPTIONS_VERSION) != 0)
        return -1;
    so.durability = WB_DURABILITY_NORMAL;
    if (wb_store_open(&st, path, &so) != 0 || wb_store_set_identity(st, customer, user, groups, 1))
        return -1;
    rc = 0;
    for (long i = 0; i < n && rc == 0; i += 1000) {
        static char bufs[1000][1900];
        const char *bodies[1000];
        size_t k = 0;
        for (long j = i; j < n && j < i + 1000; j++, k++) {
            data_of(bufs[k], sizeof(bufs[k]), j);
            bodies[k] = bufs[k];
        }
        rc = wb_interaction_record_batch(NULL, st, bodies, k);
    }
    wb_store_free(st);
    return rc;
}

static int make_store(const char *path, const char *user, long n)
{
    return make_store_of(path, CUST_A, SG_A, user, n);
}

typedef struct run_stats {
    double push_end; /* time of the first pull progress report */
    double push_cpu; /* process CPU time then */
    double push_srv; /* the server's CPU time then */
    int push_only;   /* cancel the run there (the pull is not measured) */
} run_stats;

static int on_progress(const wb_sync_progress *p, void *ud)
{
    run_stats *r = ud;
    if (p->phase == 2 && r->push_end == 0) {
        r->push_end = now_s();
        r->push_cpu = cpu_s();
        r->push_srv = server_cpu_s();
    }
    return p->phase == 2 && r->push_only;
}

/* The number after `key` in text (a report's JSON, or a child's lines);
 * -1 when it is not there. */
static double num_after(const char *text, const char *key)
{
    const char *p = text ? strstr(text, key) : NULL;
    return p ? atof(p + strlen(key)) : -1;
}

static long json_num(const char *report, const char *key)
{
    return (long)num_after(report, key);
}

/* One sync of the store file at path. times: NULL, or the seconds that
 * wb_sync_run and wb_sync_free took (times[0], times[1]). */
static int sync_store(char **report, const char *path, const char *url, const char *token,
                      unsigned page, run_stats *rs, int mmap_mib, unsigned parallel,
                      double *times)
{
    double t0, t1;
    wb_sync_options o;
    wb_store_options so;
    wb_sync *s = NULL;
    int rc;
    if (wb_sync_options_init(&o, WB_SYNC_OPTIONS_VERSION) != 0 ||
        wb_store_options_init(&so, WB_STORE_OPTIONS_VERSION) != 0)
        return -1;
    so.durability = WB_DURABILITY_NORMAL;
    /* Mapped file pages are the OS page cache, not the engine's memory,
     * but they count in the RSS in proportion to the file: off, so that
     * the peak RSS of the pull shows what the engine holds. */
    so.mmap_mib = mmap_mib;
    o.base_url = url;
    o.token = token;
    o.page_size = page;
    o.parallel = parallel;
    o.progress = rs ? on_progress : NULL;
    o.userdata = rs;
    if ((rc = wb_sync_new(&s, path, &so, &o)) != 0)
        return rc;
    t0 = now_s();
    rc = wb_sync_run(report, s);
    t1 = now_s();
    if (rc != 0 && rs && rs->push_only && rs->push_end != 0)
        rc = 0; /* cancelled where the pull began, as asked */
    if (rc != 0)
        fprintf(stderr, "sync: %d %s\n", rc, wb_error_last() ? wb_error_last()->message : "?");
    wb_sync_free(s);
    if (times) {
        times[0] = t1 - t0;
        times[1] = now_s() - t1;
    }
    return rc;
}

/* The peak RSS of this process since exec, kB (-1 when unknown). */
static long vm_hwm_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = atol(line + 6);
    fclose(f);
    return kb;
}

/* ---- client-only pull: record the pages once, replay them ------------------------- */

typedef struct tape {
    FILE *f;
    CURL *easy;
    int replay;
} tape;

static size_t tape_body(char *d, size_t s, size_t n, void *u)
{
    return fwrite(d, s, n, (FILE *)u) == n ? s * n : 0;
}

/* Record: GET with libcurl; the tape holds url, status, length and body. */
static int tape_send(void *ctx, const wb_http_request *req, wb_http_response *resp)
{
    tape *t = ctx;
    char url[4096];
    size_t len;
    long status = 0;
    memset(resp, 0, sizeof(*resp));
    resp->retry_after_s = -1;
    resp->sent = 1;
    if (!t->replay) {
        struct curl_slist *h = NULL;
        FILE *mem = tmpfile();
        char hdr[512];
        for (size_t i = 0; i < req->n_headers; i++) {
            snprintf(hdr, sizeof(hdr), "%s: %s", req->headers[i].name, req->headers[i].value);
            h = curl_slist_append(h, hdr);
        }
        curl_easy_setopt(t->easy, CURLOPT_URL, req->url);
        curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, tape_body);
        curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, mem);
        if (!mem || curl_easy_perform(t->easy) != CURLE_OK) {
            curl_slist_free_all(h);
            if (mem)
                fclose(mem);
            return WB_EOFFLINE;
        }
        curl_slist_free_all(h);
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        len = (size_t)ftell(mem);
        rewind(mem);
        resp->body = malloc(len + 1);
        if (!resp->body || fread(resp->body, 1, len, mem) != len) {
            fclose(mem);
            return WB_EOFFLINE;
        }
        fclose(mem);
        resp->body[len] = '\0';
        resp->body_len = len;
        resp->status = (int)status;
        fprintf(t->f, "%s\n%ld %zu\n", req->url, status, len);
        fwrite(resp->body, 1, len, t->f);
        return 0;
    }
    /* Replay: the same requests in the same order. */
    if (!fgets(url, sizeof(url), t->f) || fscanf(t->f, "%ld %zu", &status, &len) != 2 ||
        fgetc(t->f) != '\n')
        return WB_EOFFLINE;
    url[strcspn(url, "\n")] = '\0';
    if (strcmp(url, req->url) != 0) {
        fprintf(stderr, "replay: asked %s, recorded %s\n", req->url, url);
        return WB_EOFFLINE;
    }
    if (!(resp->body = malloc(len + 1)) || fread(resp->body, 1, len, t->f) != len)
        return WB_EOFFLINE;
    resp->body[len] = '\0';
    resp->body_len = len;
    resp->status = (int)status;
    return 0;
}

static void tape_free_body(void *ctx, char *body)
{
    (void)ctx;
    free(body);
}

static int pull_with(char **report, const char *path, const char *url, unsigned page,
                     wb_transport *tr)
{
    wb_sync_options o;
    wb_store_options so;
    wb_sync *s = NULL;
    int rc;
    if (wb_sync_options_init(&o, WB_SYNC_OPTIONS_VERSION) != 0 ||
        wb_store_options_init(&so, WB_STORE_OPTIONS_VERSION) != 0)
        return -1;
    so.durability = WB_DURABILITY_NORMAL;
    o.base_url = url;
    o.token = "tok2";
    o.page_size = page;
    o.transport = tr;
    if ((rc = wb_sync_new(&s, path, &so, &o)) != 0)
        return rc;
    rc = wb_sync_run(report, s);
    if (rc != 0)
        fprintf(stderr, "sync: %d %s\n", rc, wb_error_last() ? wb_error_last()->message : "?");
    wb_sync_free(s);
    return rc;
}

/* --pull-client-only STORE1 STORE2 TAPE URL PAGE: record into STORE1 (not
 * timed), replay into STORE2; prints "client <seconds> <report>". */
static int pull_client_only(const char *st1, const char *st2, const char *tape_path,
                            const char *url, const char *page)
{
    tape t = {NULL, NULL, 0};
    wb_transport tr = {WB_TRANSPORT_VERSION, tape_send, tape_free_body, &t};
    char *report = NULL;
    double t0, secs;
    int rc;
    if (!(t.f = fopen(tape_path, "w+")) || !(t.easy = curl_easy_init()))
        return 1;
    curl_easy_setopt(t.easy, CURLOPT_NOSIGNAL, 1L);
    rc = pull_with(&report, st1, url, (unsigned)atol(page), &tr);
    wb_free(report);
    report = NULL;
    curl_easy_cleanup(t.easy);
    rewind(t.f);
    t.replay = 1;
    t0 = now_s();
    if (rc == 0)
        rc = pull_with(&report, st2, url, (unsigned)atol(page), &tr);
    secs = now_s() - t0;
    fclose(t.f);
    if (rc == 0)
        printf("client %.3f %s\n", secs, report);
    wb_free(report);
    return rc == 0 ? 0 : 1;
}

/* --pull-replay STORE TAPE URL PAGE: a fresh store (made here) pulls the
 * pages of a tape kept by --tape-dir; prints "client <seconds> <report>".
 * For profiling the client alone, e.g. under
 * valgrind --tool=callgrind --toggle-collect=wb_sync_run. */
static int pull_replay(const char *st, const char *tape_path, const char *url, const char *page)
{
    tape t = {NULL, NULL, 1};
    wb_transport tr = {WB_TRANSPORT_VERSION, tape_send, tape_free_body, &t};
    char *report = NULL;
    double t0, secs;
    int rc;
    if (make_store(st, USER_2, 0) != 0 || !(t.f = fopen(tape_path, "r")))
        return 1;
    t0 = now_s();
    rc = pull_with(&report, st, url, (unsigned)atol(page), &tr);
    secs = now_s() - t0;
    fclose(t.f);
    if (rc == 0)
        printf("client %.3f %s\n", secs, report);
    wb_free(report);
    return rc == 0 ? 0 : 1;
}

/* The pull child: --pull-child STORE URL PAGE. Prints its report. */
static int pull_child(const char *path, const char *url, const char *page)
{
    char *report = NULL;
    int rc;
    prctl(PR_SET_NAME, "wb-pull"); /* tells it apart in perf */
    double times[2];
    rc = sync_store(&report, path, url, "tok2", (unsigned)atol(page), NULL, 0, 1, times);
    if (rc == 0)
        printf("%s\nvmhwm %ld\nrun %.6f\nclose %.6f\n", report, vm_hwm_kb(), times[0], times[1]);
    wb_free(report);
    return rc == 0 ? 0 : 1;
}

/* Run `self` with args, its stdout into out; its rusage into *ru. 0 when it
 * exited 0. */
static int run_child(char *out, size_t size, struct rusage *ru, const char *self,
                     const char **args)
{
    int pipefd[2], status = 0;
    ssize_t got, len = 0;
    pid_t pid;
    if (pipe(pipefd) != 0)
        return -1;
    if ((pid = fork()) == 0) {
        dup2(pipefd[1], 1);
        close(pipefd[0]);
        execv(self, (char *const *)(void *)args);
        _exit(127);
    }
    close(pipefd[1]);
    while ((got = read(pipefd[0], out + len, size - 1 - (size_t)len)) > 0)
        len += got;
    out[len] = '\0';
    close(pipefd[0]);
    wait4(pid, &status, 0, ru);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* One pull by a child process into the fresh store `path`: its wall time,
 * peak RSS (kB) and CPU. 0 when it pulled all n records. */
typedef struct pull_figs {
    double secs;       /* the child's whole life: exec, open, run, close, exit */
    double run, close; /* of which wb_sync_run, and wb_sync_free */
    double cpu, srv; /* the child's CPU, and the server's meanwhile */
    long hwm_kb, maxrss_kb;
} pull_figs;

static int pull_once(pull_figs *f, const char *self, const char *path, const char *url,
                     const char *pg, long n, char *out, size_t size)
{
    const char *args[] = {self, "--pull-child", path, url, pg, NULL};
    struct rusage ru;
    double s0 = server_cpu_s(), t0 = now_s();
    int rc = run_child(out, size, &ru, self, args);
    f->secs = now_s() - t0;
    f->srv = server_cpu_s() - s0;
    if (rc != 0 || json_num(out, "\"inserted\":") != n)
        return -1;
    f->hwm_kb = (long)num_after(out, "\nvmhwm ");
    f->run = num_after(out, "\nrun ");
    f->close = num_after(out, "\nclose ");
    f->maxrss_kb = ru.ru_maxrss;
    f->cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
             (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return 0;
}

/* The figures of one pull after its rate: its times, peak RSS and CPU. */
static void print_pull_tail(long n, const pull_figs *f)
{
    printf("%.2f s (wb_sync_run %.2f s: %.0f records/s; close %.2f s)  peak RSS %.1f MB "
           "(ru_maxrss %.1f MB)  cpu %.2f s  server cpu %.2f s\n",
           f->secs, f->run, (double)n / f->run, f->close, (double)f->hwm_kb / 1024.0,
           (double)f->maxrss_kb / 1024.0, f->cpu, f->srv);
}

static int bench_n(const char *self, const char *server, const char *dir, long n, unsigned page,
                   unsigned parallel, unsigned pull_runs, const char *tape_dir)
{
    char url[64], coll[96], path1[1100], path2[1100], path3[1100], path4[1100],
        tape_path[1100], pg[16], *report = NULL, child_out[4096], client_out[4096];
    unsigned port = 0;
    double floor_s = 0, t0, push_s, c0, floor_cpu, push_cpu, client_s = 0;
    double s0, floor_srv, push_srv, par_srv = 0;
    size_t floor_bytes = 0;
    run_stats rs = {0}, prs = {0, 0, 0, 1};
    char path5[1100], *preport = NULL;
    double par_s = 0, par_cpu = 0;
    pull_figs pull = {0};
    int pull_rc;
    /* Further pulls (--pull-runs): the same pages into fresh stores. */
    pull_figs more_pulls[WBB_MAX_PULL_RUNS];
    unsigned more = 0;

    snprintf(path1, sizeof(path1), "%s/push-%ld.db", dir, n);
    snprintf(path2, sizeof(path2), "%s/pull-%ld.db", dir, n);
    snprintf(path5, sizeof(path5), "%s/parallel-%ld.db", dir, n);
    if (make_store(path1, USER_1, n) != 0 || make_store(path2, USER_2, 0) != 0 ||
        (parallel > 1 && make_store_of(path5, CUST_B, SG_B, USER_F, n) != 0)) {
        fprintf(stderr, "cannot make the stores\n");
        return -1;
    }
    if (start_server(&port, server, dir) != 0) {
        fprintf(stderr, "cannot start %s\n", server);
        return -1;
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
    snprintf(coll, sizeof(coll), "%s/v2/interactions", url);

    c0 = cpu_s();
    s0 = server_cpu_s();
    if (floor_posts(&floor_s, &floor_bytes, coll, n) != 0) {
        fprintf(stderr, "floor POSTs failed\n");
        stop_server();
        return -1;
    }
    floor_cpu = cpu_s() - c0;
    floor_srv = server_cpu_s() - s0;
    c0 = cpu_s();
    s0 = server_cpu_s();
    t0 = now_s();
    if (sync_store(&report, path1, url, "tok1", page, &rs, 256, 1, NULL) != 0 ||
        json_num(report, "\"created\":") != n) {
        fprintf(stderr, "push failed: %s\n", report ? report : "-");
        wb_free(report);
        stop_server();
        return -1;
    }
    push_s = (rs.push_end ? rs.push_end : now_s()) - t0;
    push_cpu = (rs.push_end ? rs.push_cpu : cpu_s()) - c0;
    push_srv = (rs.push_end ? rs.push_srv : server_cpu_s()) - s0;

    /* The same push on `parallel` connections, from a device of the floor's
     * customer (the pull below does not see its records either); its run
     * stops where the pull would begin. */
    if (parallel > 1) {
        c0 = cpu_s();
        s0 = server_cpu_s();
        t0 = now_s();
        if (sync_store(&preport, path5, url, "tokf", page, &prs, 256, parallel, NULL) != 0 ||
            json_num(preport, "\"created\":") != n) {
            fprintf(stderr, "parallel push failed: %s\n", preport ? preport : "-");
            wb_free(report);
            wb_free(preport);
            stop_server();
            return -1;
        }
        par_s = prs.push_end - t0;
        par_cpu = prs.push_cpu - c0;
        par_srv = prs.push_srv - s0;
    }

    snprintf(pg, sizeof(pg), "%u", page);
    snprintf(path3, sizeof(path3), "%s/tape-%ld.db", dir, n);
    snprintf(path4, sizeof(path4), "%s/client-%ld.db", dir, n);
    snprintf(tape_path, sizeof(tape_path), "%s/tape-%ld", dir, n);
    pull_rc = pull_once(&pull, self, path2, url, pg, n, child_out, sizeof(child_out));
    for (unsigned k = 1; pull_rc == 0 && k < pull_runs; k++) {
        char path6[1100], out[4096];
        snprintf(path6, sizeof(path6), "%s/pull-%ld-%u.db", dir, n, k);
        if (make_store(path6, USER_2, 0) != 0 ||
            pull_once(&more_pulls[more], self, path6, url, pg, n, out, sizeof(out)) != 0) {
            fprintf(stderr, "pull %u failed: %s\n", k + 1, out);
            pull_rc = -1;
            break;
        }
        more++;
    }
    if (pull_rc == 0 &&
        make_store(path3, USER_2, 0) == 0 && make_store(path4, USER_2, 0) == 0) {
        const char *args[] = {self, "--pull-client-only", path3, path4, tape_path, url, pg, NULL};
        struct rusage ru2;
        if (run_child(client_out, sizeof(client_out), &ru2, self, args) == 0 &&
            json_num(client_out, "\"inserted\":") == n)
            client_s = atof(client_out + 7);
    }
    stop_server();
    if (tape_dir && client_s > 0) {
        char kept[1100];
        snprintf(kept, sizeof(kept), "%s/tape-%ld", tape_dir, n);
        if (rename(tape_path, kept) == 0)
            printf("bench: N=%ld tape kept: %s (base URL %s)\n", n, kept, url);
        else
            fprintf(stderr, "could not keep the tape as %s: %s\n", kept, strerror(errno));
    }
    if (pull_rc != 0) {
        fprintf(stderr, "pull failed: %s\n", child_out);
        wb_free(report);
        wb_free(preport);
        return -1;
    }
    printf("bench: N=%ld floor  %8.0f records/s  %ld requests  %.1f MB received  %.2f s  "
           "client cpu %.0f us/record  server cpu %.0f us/record\n",
           n, (double)n / floor_s, n, (double)floor_bytes / 1e6, floor_s, floor_cpu * 1e6 / (double)n,
           floor_srv * 1e6 / (double)n);
    printf("bench: N=%ld push   %8.0f records/s  %ld requests  %.1f MB sent  %.2f s  "
           "ratio to floor %.2f  client cpu %.0f us/record  server cpu %.0f us/record\n",
           n, (double)n / push_s, json_num(report, "\"requests\":"),
           (double)json_num(report, "\"bytesSent\":") / 1e6, push_s, floor_s / push_s,
           push_cpu * 1e6 / (double)n, push_srv * 1e6 / (double)n);
    if (parallel > 1)
        printf("bench: N=%ld push%-2u %8.0f records/s  %ld requests  %.1f MB sent  %.2f s  "
               "ratio to floor %.2f  client cpu %.0f us/record  server cpu %.0f us/record  "
               "(%u connections)\n",
               n, parallel, (double)n / par_s, json_num(preport, "\"requests\":"),
               (double)json_num(preport, "\"bytesSent\":") / 1e6, par_s, floor_s / par_s,
               par_cpu * 1e6 / (double)n, par_srv * 1e6 / (double)n, parallel);
    printf("bench: N=%ld pull   %8.0f records/s  %ld requests  %.1f MB received  page %u  ", n,
           (double)n / pull.secs, json_num(child_out, "\"requests\":"),
           (double)json_num(child_out, "\"bytesReceived\":") / 1e6, page);
    print_pull_tail(n, &pull);
    for (unsigned k = 0; k < more; k++) {
        printf("bench: N=%ld pull   %8.0f records/s  run %u of %u  ", n,
               (double)n / more_pulls[k].secs, k + 2, pull_runs);
        print_pull_tail(n, &more_pulls[k]);
    }
    if (client_s > 0)
        printf("bench: N=%ld client %8.0f records/s  pull of the same pages from memory  "
               "%.2f s  end-to-end / client %.2f\n",
               n, (double)n / client_s, client_s, client_s / pull.secs);
    else
        printf("bench: N=%ld client  (the client-only pull failed: %s)\n", n, client_out);
    fflush(stdout);
    wb_free(report);
    wb_free(preport);
    return 0;
}

int main(int argc, char **argv)
{
    const char *server = WBB_SERVER_BIN, *ns = "10000,100000", *tape_dir = NULL;
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[1024], self[1024], cmd[1100];
    unsigned page = 500, parallel = 4, pull_runs = 1;
    ssize_t sl;
    int failed = 0;

    if (argc == 5 && strcmp(argv[1], "--pull-child") == 0)
        return pull_child(argv[2], argv[3], argv[4]);
    if (argc == 7 && strcmp(argv[1], "--pull-client-only") == 0)
        return pull_client_only(argv[2], argv[3], argv[4], argv[5], argv[6]);
    if (argc == 6 && strcmp(argv[1], "--pull-replay") == 0)
        return pull_replay(argv[2], argv[3], argv[4], argv[5]);
    for (int i = 1; i < argc; i += 2) {
        const char *flag = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (value && strcmp(flag, "--n") == 0)
            ns = value;
        else if (value && strcmp(flag, "--parallel") == 0)
            parallel = (unsigned)atol(value);
        else if (value && strcmp(flag, "--page-size") == 0)
            page = (unsigned)atol(value);
        else if (value && strcmp(flag, "--server") == 0)
            server = value;
        else if (value && strcmp(flag, "--tape-dir") == 0)
            tape_dir = value;
        else if (value && strcmp(flag, "--pull-runs") == 0 && atol(value) >= 1 &&
                 atol(value) <= WBB_MAX_PULL_RUNS)
            pull_runs = (unsigned)atol(value);
        else {
            fprintf(stderr, "usage: walkbook-sync-bench [--n N[,N...]] [--page-size P] "
                            "[--parallel C] [--server PATH] [--tape-dir DIR]\n"
                            "                           [--pull-runs K (1-16)]\n"
                            "       walkbook-sync-bench --pull-replay STORE TAPE URL PAGE\n");
            return 2;
        }
    }
    if ((sl = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
        return 2;
    self[sl] = '\0';
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (const char *p = ns; *p;) {
        char *end;
        long n = strtol(p, &end, 10);
        p = end;
        snprintf(dir, sizeof(dir), "%s/wb-sync-bench-XXXXXX", tmp);
        if (n <= 0 || !mkdtemp(dir))
            return 2;
        if (bench_n(self, server, dir, n, page, parallel, pull_runs, tape_dir) != 0)
            failed = 1;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
        if (*p == ',')
            p++;
    }
    curl_global_cleanup();
    return failed;
}
