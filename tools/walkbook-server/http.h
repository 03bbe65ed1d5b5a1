/*
 * http.h - the HTTP layer of walkbook-server over libmicrohttpd: a routing
 * table that other modules add routes to, request bodies accumulated under
 * a hard cap (413 beyond it), bearer authentication for routes that ask for
 * it (401), query-string and header access, JSON responses.
 *
 * Threads: routes are added before wbs_http_start; handlers then run on
 * libmicrohttpd's worker threads, several at a time, so they must only
 * touch shared state under its own lock.
 */
#ifndef WBS_HTTP_H
#define WBS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "auth.h"

#define WBS_HTTP_MAX_BODY (1024u * 1024u) /* bytes; larger bodies get 413 */
#define WBS_HTTP_MAX_CAPTURES 4
#define WBS_HTTP_MAX_HEADERS 4

typedef struct wbs_http wbs_http;

typedef struct wbs_request {
    const char *method;
    const char *path; /* decoded, without the query string */
    const char *body; /* NUL-terminated copy; body_len excludes the NUL */
    size_t body_len;
    const char *captures[WBS_HTTP_MAX_CAPTURES]; /* the '*' segments of the pattern */
    size_t n_captures;
    wbs_principal who; /* filled for routes with WBS_ROUTE_AUTH */
    void *conn;        /* struct MHD_Connection */
} wbs_request;

/* How a response leaves the server; anything but NORMAL is fault
 * injection (faults.h), set by the hook before the handler runs. */
enum wbs_send {
    WBS_SEND_NORMAL = 0,
    WBS_SEND_CLOSE,    /* no response at all: the connection is closed */
    WBS_SEND_TRUNCATE, /* full Content-Length, half the body, then closed */
    WBS_SEND_GARBAGE   /* the handler's answer replaced by a 200 non-JSON body */
};

typedef struct wbs_response {
    int status;
    char *body; /* wb__malloc'd JSON text, or NULL for an empty body */
    size_t len;
    struct {
        const char *name; /* static string */
        char value[192];
    } headers[WBS_HTTP_MAX_HEADERS];
    size_t n_headers;
    int send;          /* enum wbs_send, WBS_SEND_NORMAL unless a hook says so */
    const char *fault; /* static label for the log line, or NULL */
} wbs_response;

typedef void (*wbs_handler)(wbs_response *res, wbs_request *req, void *userdata);

enum { WBS_ROUTE_PUBLIC = 0, WBS_ROUTE_AUTH = 1 };

/* Returns NULL on oom. auth may be NULL (then WBS_ROUTE_AUTH routes always
 * answer 401). log: one stderr line per request (method, path without the
 * query, status, duration), never headers, queries or bodies. */
wbs_http *wbs_http_new(wbs_auth *auth, int log);
void wbs_http_free(wbs_http *h); /* stops the server first if running */

/* pattern: literal segments, and a lone star segment that matches (and
 * captures) one segment, as in "/v2/interactions/" followed by a star.
 * Routes are tried in the order added. 0 or -1. */
int wbs_http_route(wbs_http *h, const char *method, const char *pattern, unsigned flags,
                   wbs_handler fn, void *userdata);

/* A hook run before routing (fault injection, admin switches): return 1
 * when it has answered the request in *res, 0 to continue. It may also set
 * res->send: with WBS_SEND_CLOSE and a return of 1 the request is dropped
 * unapplied; with a return of 0 the handler runs first, and then its answer
 * is dropped (CLOSE), cut short (TRUNCATE) or replaced (GARBAGE). */
typedef int (*wbs_http_hook)(wbs_response *res, wbs_request *req, void *userdata);
void wbs_http_set_hook(wbs_http *h, wbs_http_hook fn, void *userdata);

/* Listen on addr (IPv4 dotted quad; NULL = 127.0.0.1) and port (0 = any
 * free port); *bound_port gets the port. threads: worker threads (>= 1),
 * or 0 for a thread per connection (a handler that sleeps - the delay
 * fault - then holds up only its own connection). Returns 0, or -1 with
 * err set. */
int wbs_http_start(wbs_http *h, const char *addr, uint16_t port, unsigned threads,
                   uint16_t *bound_port, char *err, size_t errlen);
void wbs_http_stop(wbs_http *h);

/* Request access. Values are valid during the handler only. */
const char *wbs_request_header(const wbs_request *req, const char *name);
/* First value of a query parameter ("" when present without a value). */
const char *wbs_request_query(const wbs_request *req, const char *name);
/* Visit every query parameter in order (repeated ones included); stop when
 * fn returns non-zero, which is returned. */
typedef int (*wbs_query_fn)(const char *key, const char *value, void *userdata);
int wbs_request_query_each(const wbs_request *req, wbs_query_fn fn, void *userdata);

/* Responses. */
void wbs_respond_text(wbs_response *res, int status, char *json_text); /* takes ownership */
/* The same with the length of json_text known (a list page: no strlen of
 * it). */
void wbs_respond_text_n(wbs_response *res, int status, char *json_text, size_t len);
void wbs_respond_json(wbs_response *res, int status, const cJSON *body);
/* {"name": name, "message": message} */
void wbs_respond_error(wbs_response *res, int status, const char *name, const char *message);
void wbs_response_header(wbs_response *res, const char *name, const char *value);

#endif
