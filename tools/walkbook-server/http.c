/*
 * http.c - libmicrohttpd glue: per-connection body accumulation with a cap,
 * routing, authentication and response building (see http.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "common.h"
#include "json.h"
#include "etag.h"
#include "http.h"

typedef struct wbs_route {
    char *method;
    char *pattern;
    unsigned flags;
    wbs_handler fn;
    void *userdata;
} wbs_route;

struct wbs_http {
    struct MHD_Daemon *daemon;
    wbs_auth *auth;
    int log;
    wbs_route *routes;
    size_t n_routes;
    wbs_http_hook hook;
    void *hook_userdata;
};

/* What we keep between the calls libmicrohttpd makes for one request. */
typedef struct wbs_conn_state {
    wb_buf body;
    int too_big;
    struct timespec start;
} wbs_conn_state;

wbs_http *wbs_http_new(wbs_auth *auth, int log)
{
    wbs_http *h = wb__calloc(1, sizeof(*h));
    if (h) {
        h->auth = auth;
        h->log = log;
    }
    return h;
}

void wbs_http_free(wbs_http *h)
{
    if (!h)
        return;
    wbs_http_stop(h);
    for (size_t i = 0; i < h->n_routes; i++) {
        wb__free(h->routes[i].method);
        wb__free(h->routes[i].pattern);
    }
    wb__free(h->routes);
    wb__free(h);
}

int wbs_http_route(wbs_http *h, const char *method, const char *pattern, unsigned flags,
                   wbs_handler fn, void *userdata)
{
    wbs_route *r = wb__realloc(h->routes, (h->n_routes + 1) * sizeof(*r));
    if (!r)
        return -1;
    h->routes = r;
    r = &h->routes[h->n_routes];
    r->method = wb__strdup(method);
    r->pattern = wb__strdup(pattern);
    r->flags = flags;
    r->fn = fn;
    r->userdata = userdata;
    if (!r->method || !r->pattern) {
        wb__free(r->method);
        wb__free(r->pattern);
        return -1;
    }
    h->n_routes++;
    return 0;
}

void wbs_http_set_hook(wbs_http *h, wbs_http_hook fn, void *userdata)
{
    h->hook = fn;
    h->hook_userdata = userdata;
}

/* Match path against pattern segment by segment; '*' matches one non-empty
 * segment, copied NUL-terminated into scratch (at least as long as the
 * path) and pointed to from req->captures. */
static int wbs_http__match(const char *pattern, const char *path, char *scratch,
                           wbs_request *req)
{
    const char *p = pattern, *s = path;
    size_t used = 0;

    req->n_captures = 0;
    for (;;) {
        size_t plen, slen;
        if (*p == '\0' || *s == '\0')
            return *p == '\0' && *s == '\0';
        if (*p != '/' || *s != '/')
            return 0;
        p++;
        s++;
        plen = strcspn(p, "/");
        slen = strcspn(s, "/");
        if (plen == 1 && *p == '*') {
            if (slen == 0 || req->n_captures == WBS_HTTP_MAX_CAPTURES)
                return 0;
            memcpy(scratch + used, s, slen);
            scratch[used + slen] = '\0';
            req->captures[req->n_captures++] = scratch + used;
            used += slen + 1;
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return 0;
        }
        p += plen;
        s += slen;
    }
}

/* ---- responses ------------------------------------------------------------ */

void wbs_respond_text(wbs_response *res, int status, char *json_text)
{
    wbs_respond_text_n(res, status, json_text, json_text ? strlen(json_text) : 0);
}

void wbs_respond_text_n(wbs_response *res, int status, char *json_text, size_t len)
{
    wb__free(res->body);
    res->status = status;
    res->body = json_text;
    res->len = json_text ? len : 0;
    if (!json_text && status != 204) {
        res->status = 500;
        res->body = wb__strdup("{\"name\":\"ServerError\",\"message\":\"out of memory\"}");
        res->len = res->body ? strlen(res->body) : 0;
    }
}

void wbs_respond_json(wbs_response *res, int status, const cJSON *body)
{
    wbs_respond_text(res, status, wb_json__print(body));
}

void wbs_respond_error(wbs_response *res, int status, const char *name, const char *message)
{
    wb_buf b = WB_BUF_INIT;
    wb_buf__puts(&b, "{\"name\":");
    wb_buf__put_json_string(&b, name);
    wb_buf__puts(&b, ",\"message\":");
    wb_buf__put_json_string(&b, message);
    wb_buf__putc(&b, '}');
    wbs_respond_text(res, status, wb_buf__detach(&b));
    wb_buf__free(&b);
}

void wbs_response_header(wbs_response *res, const char *name, const char *value)
{
    if (res->n_headers == WBS_HTTP_MAX_HEADERS)
        return;
    res->headers[res->n_headers].name = name;
    snprintf(res->headers[res->n_headers].value, sizeof(res->headers[0].value), "%s", value);
    res->n_headers++;
}

/* ---- request access ------------------------------------------------------- */

const char *wbs_request_header(const wbs_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *wbs_request_query(const wbs_request *req, const char *name)
{
    const char *v;
    if (MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name), &v,
                                      NULL) != MHD_YES)
        return NULL;
    return v ? v : "";
}

typedef struct wbs_query_iter {
    wbs_query_fn fn;
    void *userdata;
    int rc;
} wbs_query_iter;

static enum MHD_Result wbs_http__query_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                          const char *value)
{
    wbs_query_iter *it = cls;
    (void)kind;
    it->rc = it->fn(key, value ? value : "", it->userdata);
    return it->rc ? MHD_NO : MHD_YES;
}

int wbs_request_query_each(const wbs_request *req, wbs_query_fn fn, void *userdata)
{
    wbs_query_iter it = {fn, userdata, 0};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, wbs_http__query_cb, &it);
    return it.rc;
}

/* ---- dispatch ------------------------------------------------------------- */

static void wbs_http__dispatch(wbs_http *h, wbs_response *res, wbs_request *req)
{
    char scratch[1024];
    int path_matched = 0;

    if (h->hook && h->hook(res, req, h->hook_userdata))
        return;
    if (strlen(req->path) >= sizeof(scratch)) {
        wbs_respond_error(res, 414, "BadRequestError", "path: too long");
        return;
    }
    for (size_t i = 0; i < h->n_routes; i++) {
        const wbs_route *r = &h->routes[i];
        if (!wbs_http__match(r->pattern, req->path, scratch, req))
            continue;
        path_matched = 1;
        if (strcmp(r->method, req->method) != 0)
            continue;
        if ((r->flags & WBS_ROUTE_AUTH) &&
            (!h->auth ||
             wbs_auth_check(h->auth, wbs_request_header(req, "Authorization"), &req->who) < 0)) {
            wbs_respond_error(res, 401, "NotAuthenticated", "missing, unknown or expired bearer token");
            wbs_response_header(res, "WWW-Authenticate", "Bearer");
            return;
        }
        r->fn(res, req, r->userdata);
        return;
    }
    if (path_matched)
        wbs_respond_error(res, 405, "MethodNotAllowedError", "method not supported on this path");
    else
        wbs_respond_error(res, 404, "NotFoundError", "no such route");
}

static enum MHD_Result wbs_http__queue(struct MHD_Connection *conn, wbs_response *res)
{
    struct MHD_Response *r;
    enum MHD_Result ok;

    r = MHD_create_response_from_buffer_with_free_callback(res->len, res->body, wb__free);
    if (!r) {
        wb__free(res->body);
        return MHD_NO;
    }
    res->body = NULL;
    if (res->len)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    for (size_t i = 0; i < res->n_headers; i++)
        MHD_add_response_header(r, res->headers[i].name, res->headers[i].value);
    ok = MHD_queue_response(conn, (unsigned)res->status, r);
    MHD_destroy_response(r);
    return ok;
}

/* A cut-short body (fault injection): Content-Length promises the whole
 * body, half of it is sent, then the reader reports an error and
 * libmicrohttpd closes the connection. */
typedef struct wbs_truncated {
    char *body;
    size_t limit;
} wbs_truncated;

static ssize_t wbs_http__truncated_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    wbs_truncated *t = cls;
    size_t n;
    if (pos >= t->limit)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    n = t->limit - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(buf, t->body + pos, n);
    return (ssize_t)n;
}

static void wbs_http__truncated_free(void *cls)
{
    wbs_truncated *t = cls;
    wb__free(t->body);
    wb__free(t);
}

static enum MHD_Result wbs_http__queue_truncated(struct MHD_Connection *conn, wbs_response *res)
{
    struct MHD_Response *r;
    wbs_truncated *t = wb__calloc(1, sizeof(*t));
    size_t declared = res->len ? res->len : 1;
    enum MHD_Result ok;

    if (!t) {
        wb__free(res->body);
        return MHD_NO;
    }
    t->body = res->body;
    t->limit = res->len / 2;
    res->body = NULL;
    r = MHD_create_response_from_callback(declared, 4096, wbs_http__truncated_read, t,
                                          wbs_http__truncated_free);
    if (!r) {
        wbs_http__truncated_free(t);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    for (size_t i = 0; i < res->n_headers; i++)
        MHD_add_response_header(r, res->headers[i].name, res->headers[i].value);
    ok = MHD_queue_response(conn, (unsigned)res->status, r);
    MHD_destroy_response(r);
    return ok;
}

/* What a captive portal or a misconfigured proxy answers: 200, labelled
 * JSON, and not JSON. */
static void wbs_http__garbage(wbs_response *res)
{
    wbs_respond_text(res, 200,
                     wb__strdup("<html><head><title>Sign in</title></head>"
                                "<body>Please sign in to use this network.</body></html>"));
    res->n_headers = 0;
}

static enum MHD_Result wbs_http__access(void *cls, struct MHD_Connection *conn, const char *url,
                                        const char *method, const char *version,
                                        const char *upload_data, size_t *upload_data_size,
                                        void **con_cls)
{
    wbs_http *h = cls;
    wbs_conn_state *st = *con_cls;
    wbs_request req;
    wbs_response res;
    struct timespec end;
    enum MHD_Result ok;
    (void)version;

    if (!st) {
        const char *cl;
        st = wb__calloc(1, sizeof(*st));
        if (!st)
            return MHD_NO;
        clock_gettime(CLOCK_MONOTONIC, &st->start);
        cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strlen(cl) > 9) /* more than 999,999,999 bytes */
            st->too_big = 1;
        else if (cl && strtoul(cl, NULL, 10) > WBS_HTTP_MAX_BODY)
            st->too_big = 1;
        *con_cls = st;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!st->too_big) {
            if (st->body.len + *upload_data_size > WBS_HTTP_MAX_BODY) {
                st->too_big = 1;
                wb_buf__free(&st->body);
            } else {
                wb_buf__put(&st->body, upload_data, *upload_data_size);
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    memset(&req, 0, sizeof(req));
    memset(&res, 0, sizeof(res));
    req.method = method;
    req.path = url;
    req.conn = conn;
    wb_buf__putc(&st->body, '\0');
    if (st->body.oom) {
        wbs_respond_error(&res, 500, "ServerError", "out of memory");
    } else if (st->too_big) {
        wbs_respond_error(&res, 413, "PayloadTooLargeError", "body: over 1 MiB");
    } else {
        req.body = st->body.ptr;
        req.body_len = st->body.len - 1;
        wbs_http__dispatch(h, &res, &req);
    }
    if (!res.status && res.send != WBS_SEND_CLOSE)
        wbs_respond_error(&res, 500, "ServerError", "no response");
    if (h->log) {
        clock_gettime(CLOCK_MONOTONIC, &end);
        fprintf(stderr, "%s %s %d %.1fms%s%s\n", method, url, res.status,
                (double)(end.tv_sec - st->start.tv_sec) * 1e3 +
                    (double)(end.tv_nsec - st->start.tv_nsec) / 1e6,
                res.fault ? " fault=" : "", res.fault ? res.fault : "");
    }
    switch (res.send) {
    case WBS_SEND_CLOSE: /* libmicrohttpd closes the connection on MHD_NO */
        wb__free(res.body);
        return MHD_NO;
    case WBS_SEND_TRUNCATE:
        return wbs_http__queue_truncated(conn, &res);
    case WBS_SEND_GARBAGE:
        wbs_http__garbage(&res);
        break;
    default:
        break;
    }
    ok = wbs_http__queue(conn, &res);
    return ok;
}

static void wbs_http__completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                                enum MHD_RequestTerminationCode toe)
{
    wbs_conn_state *st = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (st) {
        wb_buf__free(&st->body);
        wb__free(st);
        *con_cls = NULL;
    }
}

int wbs_http_start(wbs_http *h, const char *addr, uint16_t port, unsigned threads,
                   uint16_t *bound_port, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, addr ? addr : "127.0.0.1", &sa.sin_addr) != 1) {
        snprintf(err, errlen, "--listen: not an IPv4 address");
        return -1;
    }
    if (threads == 0)
        h->daemon = MHD_start_daemon(
            MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG,
            port, NULL, NULL, wbs_http__access, h, MHD_OPTION_SOCK_ADDR,
            (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)512, MHD_OPTION_NOTIFY_COMPLETED,
            wbs_http__completed, h, MHD_OPTION_END);
    else
        h->daemon = MHD_start_daemon(
            MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, port, NULL, NULL, wbs_http__access,
            h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
            threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30, MHD_OPTION_CONNECTION_LIMIT,
            (unsigned int)512, MHD_OPTION_NOTIFY_COMPLETED, wbs_http__completed, h,
            MHD_OPTION_END);
    if (!h->daemon) {
        snprintf(err, errlen, "cannot listen on %s:%u", addr ? addr : "127.0.0.1",
                 (unsigned)port);
        return -1;
    }
    info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : port;
    return 0;
}

void wbs_http_stop(wbs_http *h)
{
    if (h && h->daemon) {
        MHD_stop_daemon(h->daemon);
        h->daemon = NULL;
    }
}
