/*
 * server_client.c - child server process and libcurl client for the
 * walkbook-server tests (see server_client.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "jsonpatch.h"
#include "server_client.h"
#include "wbtest.h"

#ifndef WBS_SERVER_BIN
#error "WBS_SERVER_BIN must name the walkbook-server binary"
#endif

#define SRV_MAX 8

static pid_t srv_pids[SRV_MAX];
static int srv_registered;

static void srv_kill_all(void)
{
    for (int i = 0; i < SRV_MAX; i++)
        if (srv_pids[i] > 0) {
            kill(srv_pids[i], SIGKILL);
            waitpid(srv_pids[i], NULL, 0);
            srv_pids[i] = 0;
        }
}

static void srv_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int srv_start(srv *s, const char *const *args)
{
    static int counter;
    char portfile[1024], logfile[1024];
    const char *argv[64];
    size_t n = 0;
    pid_t pid;
    int slot = -1;

    if (!srv_registered) {
        wbt_tmpdir(); /* its atexit runs after ours: kill first, then remove */
        curl_global_init(CURL_GLOBAL_DEFAULT);
        atexit(srv_kill_all);
        srv_registered = 1;
    }
    for (int i = 0; i < SRV_MAX; i++)
        if (srv_pids[i] <= 0) {
            slot = i;
            break;
        }
    if (slot < 0)
        return -1;
    snprintf(portfile, sizeof(portfile), "%s/port-%d", wbt_tmpdir(), ++counter);
    snprintf(logfile, sizeof(logfile), "%s/server-%d.log", wbt_tmpdir(), counter);
    argv[n++] = WBS_SERVER_BIN;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--port-file";
    argv[n++] = portfile;
    argv[n++] = "--log";
    for (; args && *args && n < 62; args++)
        argv[n++] = *args;
    argv[n] = NULL;

    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(logfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
        if (fd >= 0) {
            dup2(fd, 2);
            close(fd);
        }
        execv(WBS_SERVER_BIN, (char *const *)(void *)argv);
        _exit(127);
    }
    srv_pids[slot] = pid;
    s->pid = pid;
    s->port = 0;
    s->host = NULL;
    for (int i = 0; i < 100; i++) { /* up to 5 s */
        FILE *f = fopen(portfile, "r");
        if (f) {
            unsigned port = 0;
            int ok = fscanf(f, "%u", &port) == 1;
            fclose(f);
            if (ok && port) {
                s->port = port;
                return 0;
            }
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            srv_pids[slot] = 0;
            fprintf(stderr, "    server exited early; log: %s\n", logfile);
            return -1;
        }
        srv_sleep_ms(50);
    }
    fprintf(stderr, "    server did not write its port file in 5 s\n");
    return -1;
}

int srv_stop(srv *s)
{
    return srv_stop_signal(s, SIGTERM);
}

int srv_stop_signal(srv *s, int sig)
{
    int status = -1;
    if (s->pid <= 0)
        return -1;
    kill(s->pid, sig);
    for (int i = 0; i < 60; i++) { /* up to 3 s */
        if (waitpid(s->pid, &status, WNOHANG) == s->pid)
            break;
        status = -1;
        srv_sleep_ms(50);
    }
    if (status == -1) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    for (int i = 0; i < SRV_MAX; i++)
        if (srv_pids[i] == s->pid)
            srv_pids[i] = 0;
    s->pid = 0;
    return status == -1 ? -1 : (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

typedef struct srv_buf {
    char *p;
    size_t len;
} srv_buf;

static size_t srv_write(char *data, size_t size, size_t n, void *userdata)
{
    srv_buf *b = userdata;
    char *p = realloc(b->p, b->len + size * n + 1);
    if (!p)
        return 0;
    memcpy(p + b->len, data, size * n);
    b->p = p;
    b->len += size * n;
    p[b->len] = '\0';
    return size * n;
}

static size_t srv_header(char *data, size_t size, size_t n, void *userdata)
{
    srv_reply *r = userdata;
    size_t len = size * n;
    if (len > 10 && strncasecmp(data, "Location:", 9) == 0) {
        size_t from = 9, to = len;
        while (from < len && data[from] == ' ')
            from++;
        while (to > from && (data[to - 1] == '\r' || data[to - 1] == '\n'))
            to--;
        if (to - from < sizeof(r->location)) {
            memcpy(r->location, data + from, to - from);
            r->location[to - from] = '\0';
        }
    }
    return len;
}

long srv_call_n(srv_reply *r, const srv *s, const char *method, const char *path,
                const char *token, const char *body, size_t len, const char *h1,
                const char *h2)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    char url[8192], auth[512];
    srv_buf b = {NULL, 0};
    CURLcode rc;

    memset(r, 0, sizeof(*r));
    r->status = -1;
    if (!c)
        return -1;
    snprintf(url, sizeof(url), "http://%s:%u%s", s->host ? s->host : "127.0.0.1", s->port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, srv_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, srv_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    if (h1)
        hdrs = curl_slist_append(hdrs, h1);
    if (h2)
        hdrs = curl_slist_append(hdrs, h2);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        free(b.p);
        b.p = strdup(curl_easy_strerror(rc));
    }
    r->body = b.p ? b.p : strdup("");
    r->json = r->body ? cJSON_Parse(r->body) : NULL;
    return r->status;
}

long srv_call(srv_reply *r, const srv *s, const char *method, const char *path,
              const char *token, const char *body, const char *h1, const char *h2)
{
    return srv_call_n(r, s, method, path, token, body, body ? strlen(body) : 0, h1, h2);
}

void srv_reply_free(srv_reply *r)
{
    free(r->body);
    cJSON_Delete(r->json);
    memset(r, 0, sizeof(*r));
}

const char *srv_str(const cJSON *j, const char *pointer)
{
    const cJSON *v = j ? wb_jsonptr__get(j, pointer) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int srv_is_true(const cJSON *j, const char *pointer)
{
    return j && cJSON_IsTrue(wb_jsonptr__get(j, pointer));
}
