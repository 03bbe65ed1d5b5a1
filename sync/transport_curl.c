/*
 * transport_curl.c - the default wb_transport, on libcurl: one easy handle
 * per sync, reused so the connection stays alive between requests; TLS
 * verification on; CA file/path and proxy from the options; gzip answers
 * to GETs (list pages; an answer to a write is one small record, and
 * offering encodings cost a tenth of a push request's CPU); HTTP/2 over
 * TLS when the server offers it; a hard cap on the size of a response;
 * Retry-After read as seconds or an HTTP date.
 *
 * libcurl silently resends a request whose reused connection died before
 * any answer came; for a POST that is exactly the duplicate the engine must
 * avoid (the server may have applied the first one). A pre-request callback
 * counts the tries of each POST and aborts a second one, which the engine
 * treats as an unknown outcome and looks the record up. (A read callback
 * without a seek callback would stop the resend too, but libcurl then sends
 * the headers and the body in two writes, which costs both ends a wakeup
 * per request: a quarter of a push's time on loopback.)
 */
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "sync_int.h"

#define WB_CURL_MAX_RESPONSE (64u * 1024u * 1024u)

typedef struct curl_ctx {
    CURL *easy;
    const wb_sync *sync; /* options: timeouts, CA, proxy */
    /* The options of the last request are still set: a POST that
     * followed a POST (see curl_send). */
    int primed_post;
    int primed_timeout_ms;
    /* per request */
    wb_buf body;
    int too_big;
    long retry_after_s;
    /* The header list of the last request, kept while the next ones send
     * the same lines (a push's creates), and those lines as one text. */
    struct curl_slist *hdrs;
    wb_buf hdr_text;
    int tries;         /* pre-request callbacks so far */
    int no_resend;     /* a second try is aborted (POST) */
    int resend_caught; /* ... and it was */
    char errbuf[CURL_ERROR_SIZE];
} curl_ctx;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
    curl_ctx *c = userdata;
    size_t len = size * n;
    if (c->body.len + len > WB_CURL_MAX_RESPONSE) {
        c->too_big = 1;
        return 0; /* CURLE_WRITE_ERROR */
    }
    if (wb_buf__put(&c->body, data, len) < 0)
        return 0;
    return len;
}

/* Retry-After: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
static long parse_retry_after(const char *v, size_t len)
{
    char buf[64];
    long secs = 0;
    size_t i;
    time_t when;
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, v, len);
    buf[len] = '\0';
    for (i = 0; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
        if (secs > 86400L * 365)
            return 86400L * 365;
        secs = secs * 10 + (buf[i] - '0');
    }
    if (i == len)
        return secs;
    when = curl_getdate(buf, NULL);
    if (when < 0)
        return -1;
    secs = (long)(when - time(NULL));
    return secs < 0 ? 0 : secs;
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
    curl_ctx *c = userdata;
    size_t len = size * n, from = 12, to = len;
    if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        while (from < len && (data[from] == ' ' || data[from] == '\t'))
            from++;
        while (to > from && (data[to - 1] == '\r' || data[to - 1] == '\n' || data[to - 1] == ' '))
            to--;
        c->retry_after_s = parse_retry_after(data + from, to - from);
    }
    return len;
}

/* Called before each try of a request, on a new or a reused connection. */
static int on_prereq(void *userdata, char *primary_ip, char *local_ip, int primary_port,
                     int local_port)
{
    curl_ctx *c = userdata;
    (void)primary_ip;
    (void)local_ip;
    (void)primary_port;
    (void)local_port;
    if (++c->tries > 1 && c->no_resend) {
        c->resend_caught = 1;
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

/* 0 when the request certainly did not reach the server. */
static int maybe_sent(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
        return 0;
    default:
        return 1;
    }
}

static void set_common(curl_ctx *c, const wb_http_request *req)
{
    const wb_sync_options *o = &c->sync->opts;
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(req->timeout_ms > 0 ? req->timeout_ms : 30000));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (o->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
    if (o->ca_path)
        curl_easy_setopt(e, CURLOPT_CAPATH, o->ca_path);
    if (o->proxy)
        curl_easy_setopt(e, CURLOPT_PROXY, o->proxy);
    if (strcmp(req->method, "GET") == 0)
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, c);
}

/* A GET (a list page, possibly fetched ahead on another thread) stops as
 * soon as the sync is cancelled. Other methods run to their end: stopping
 * one half-way would only make its outcome unknown. */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    curl_ctx *c = userdata;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return atomic_load(&c->sync->cancel) != 0;
}

/* The lines hold the token: wiped before they are freed. */
static void free_headers(curl_ctx *c)
{
    for (struct curl_slist *h = c->hdrs; h; h = h->next)
        sodium_memzero(h->data, strlen(h->data));
    curl_slist_free_all(c->hdrs);
    c->hdrs = NULL;
    if (c->hdr_text.ptr)
        sodium_memzero(c->hdr_text.ptr, c->hdr_text.cap);
    wb_buf__clear(&c->hdr_text);
}

/* c->hdrs for req's headers; `text` is them as one text, a line each. */
static int set_headers(curl_ctx *c, const wb_http_request *req, wb_buf *text)
{
    char *line = text->ptr, *end;
    struct curl_slist *h;
    if (c->hdrs && text->len == c->hdr_text.len &&
        (text->len == 0 || memcmp(text->ptr, c->hdr_text.ptr, text->len) == 0))
        return 0;
    free_headers(c);
    for (size_t i = 0; i < req->n_headers; i++, line = end + 1) {
        end = strchr(line, '\n'); /* one per header: curl_send */
        *end = '\0';
        h = curl_slist_append(c->hdrs, line);
        *end = '\n';
        if (!h)
            goto oom;
        c->hdrs = h;
    }
    if (!(h = curl_slist_append(c->hdrs, "Expect:")))
        goto oom;
    c->hdrs = h;
    if (text->len > 0 && wb_buf__put(&c->hdr_text, text->ptr, text->len) < 0)
        goto oom;
    return 0;
oom:
    free_headers(c);
    return wb_error__oom();
}

static int curl_send(void *ctx, const wb_http_request *req, wb_http_response *resp)
{
    curl_ctx *c = ctx;
    wb_buf line = WB_BUF_INIT;
    CURLcode rc;
    long status = 0;
    int error = 0;

    memset(resp, 0, sizeof(*resp));
    resp->retry_after_s = -1;
    wb_buf__clear(&c->body);
    c->too_big = 0;
    c->retry_after_s = -1;
    c->errbuf[0] = '\0';
    c->tries = 0;
    c->no_resend = strcmp(req->method, "POST") == 0;
    c->resend_caught = 0;
    if (c->primed_post && strcmp(req->method, "POST") == 0 &&
        req->timeout_ms == c->primed_timeout_ms) {
        /* A push posts one create after the other: the options of the
         * last POST stay, only its URL, headers and body change. */
        curl_easy_setopt(c->easy, CURLOPT_URL, req->url);
    } else {
        curl_easy_reset(c->easy); /* keeps the connection cache */
        set_common(c, req);
    }
    c->primed_post = 0;
    for (size_t i = 0; i < req->n_headers; i++) {
        const wb_http_header *hd = &req->headers[i];
        /* A line break in a name or value would split the line (and the
         * lines are kept as one text split at '\n'; see set_headers). */
        if (strpbrk(hd->name, "\r\n") || strpbrk(hd->value, "\r\n")) {
            error = wb_error__set(WB_EINVALID, WB_ERRCLASS_NET, "header %s: line break in it",
                                  strpbrk(hd->name, "\r\n") ? "name" : hd->name);
            goto cleanup;
        }
        if (wb_buf__puts(&line, hd->name) < 0 || wb_buf__put(&line, ": ", 2) < 0 ||
            wb_buf__puts(&line, hd->value) < 0 || wb_buf__putc(&line, '\n') < 0) {
            error = wb_error__oom();
            goto cleanup;
        }
    }
    if ((error = set_headers(c, req, &line)) < 0)
        goto cleanup;
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->hdrs);
    if (strcmp(req->method, "GET") == 0) {
        curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c->easy, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c->easy, CURLOPT_XFERINFODATA, c);
        curl_easy_setopt(c->easy, CURLOPT_NOPROGRESS, 0L);
    } else if (strcmp(req->method, "POST") == 0) {
        /* In one write with the headers (see the top of the file). */
        curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(req->body ? req->body_len : 0));
    } else {
        /* PATCH and DELETE carry an etag: a silent resend is answered 412
         * or 404, which the engine handles. */
        curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, req->method);
        if (req->body) {
            curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, req->body);
            curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        }
    }
    rc = curl_easy_perform(c->easy);
    if (rc != CURLE_OK) {
        resp->sent = maybe_sent(rc);
        /* The server may still be working on it (unlike a closed connection). */
        resp->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
        if (c->resend_caught)
            error = wb_error__set(WB_EOFFLINE, WB_ERRCLASS_NET,
                                  "%s: the connection closed before an answer came; "
                                  "not sent again",
                                  req->method);
        else if (c->too_big)
            error = wb_error__set(WB_EOFFLINE, WB_ERRCLASS_NET,
                                  "%s: response over %u MiB", req->method,
                                  WB_CURL_MAX_RESPONSE >> 20);
        else
            error = wb_error__set(WB_EOFFLINE, WB_ERRCLASS_NET, "%s: %s", req->method,
                                  c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
        wb_error__set_os((int)rc);
        goto cleanup;
    }
    c->primed_post = strcmp(req->method, "POST") == 0;
    c->primed_timeout_ms = req->timeout_ms;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    resp->status = (int)status;
    resp->sent = 1;
    resp->retry_after_s = c->retry_after_s;
    resp->body_len = c->body.len;
    if (c->body.len > 0) {
        if (!(resp->body = wb_buf__detach(&c->body))) {
            resp->body_len = 0;
            error = wb_error__oom();
        }
    }
cleanup:
    /* The Authorization line held the token. */
    if (line.ptr)
        sodium_memzero(line.ptr, line.cap);
    wb_buf__free(&line);
    wb_buf__clear(&c->body);
    return error;
}

static void curl_free_body(void *ctx, char *body)
{
    (void)ctx;
    wb__free(body);
}

int wb_transport_curl__new(wb_transport *out, void **ctx, const wb_sync *s)
{
    curl_ctx *c;
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK)
        return wb_error__set(WB_ERROR, WB_ERRCLASS_NET, "libcurl could not initialise");
    if (!(c = wb__calloc(1, sizeof(*c))))
        return wb_error__oom();
    if (!(c->easy = curl_easy_init())) {
        wb__free(c);
        return wb_error__set(WB_ERROR, WB_ERRCLASS_NET, "libcurl: no easy handle");
    }
    c->sync = s;
    out->version = WB_TRANSPORT_VERSION;
    out->send = curl_send;
    out->free_body = curl_free_body;
    out->ctx = c;
    *ctx = c;
    return 0;
}

void wb_transport_curl__free(void *ctx)
{
    curl_ctx *c = ctx;
    if (!c)
        return;
    curl_easy_cleanup(c->easy);
    free_headers(c);
    wb_buf__free(&c->hdr_text);
    wb_buf__free(&c->body);
    wb__free(c);
}
