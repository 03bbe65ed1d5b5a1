/*
 * sync.c - the wb_sync handle and one run: options, its own store
 * connection, the transport, push then pull, cancellation, progress, the
 * report, and the one place requests are sent (sync_int.h).
 */
#include <stddef.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "sync_int.h"
#include "timeutil.h"

#define WB_SYNC_TOKEN_MAX 4096

/* ---- secrets ----------------------------------------------------------------- */

static void wipe_free(char *s)
{
    if (s) {
        sodium_memzero(s, strlen(s));
        wb__free(s);
    }
}

static int dup_opt(char **out, const char *s)
{
    *out = NULL;
    if (!s)
        return 0;
    if (!(*out = wb__strdup(s)))
        return wb_error__oom();
    return 0;
}

/* ---- handle ------------------------------------------------------------------ */

static int check_options(const wb_sync_options *o)
{
    if (o->version < 1 || o->version > WB_SYNC_OPTIONS_VERSION)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "sync options: version %u unknown (1 to %d)", o->version,
                             WB_SYNC_OPTIONS_VERSION);
    if (!o->base_url || (strncmp(o->base_url, "http://", 7) != 0 &&
                         strncmp(o->base_url, "https://", 8) != 0))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "sync options: base_url must start with http:// or https://");
    if (o->api != WB_API_V1 && o->api != WB_API_V2)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "sync options: api %d unknown",
                             o->api);
    if (o->policy < WB_POLICY_MERGE || o->policy > WB_POLICY_MANUAL)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "sync options: policy %d unknown", o->policy);
    if (o->token && strlen(o->token) >= WB_SYNC_TOKEN_MAX)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "sync options: token too long");
    /* It goes into a header line: a line break would end that line. */
    if (o->token && wb_token__check(o->token) < 0)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "sync options: token has a control character");
    if (o->transport && (o->transport->version != WB_TRANSPORT_VERSION ||
                         !o->transport->send || !o->transport->free_body))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "sync options: transport version or functions missing");
    if (o->version >= 2 && o->clock && o->clock->version != WB_CLOCK_VERSION)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "sync options: clock version %u is not %d", o->clock->version,
                             WB_CLOCK_VERSION);
    if (o->version >= 2 && o->patch_paths != WB_PATCH_PATHS_RELATIVE &&
        o->patch_paths != WB_PATCH_PATHS_DATA)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "sync options: patch_paths %d unknown", o->patch_paths);
    if (o->version >= 5 && o->use_saved_token != 0 && o->use_saved_token != 1)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "sync options: use_saved_token must be 0 or 1");
    if (o->version >= 5 && o->use_saved_token && o->token)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "sync options: give token or use_saved_token, not both");
    if (o->version >= 4 && o->parallel > 16)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "sync options: parallel %u out of range (1 to 16)", o->parallel);
    if (o->timeout_ms < 0 || o->connect_timeout_ms < 0 || o->max_attempts < 0 ||
        o->backoff_base_ms < 0 || o->backoff_max_ms < 0)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "sync options: negative timeout, attempts or backoff");
    return 0;
}

int wb_sync_options_init(wb_sync_options *opts, unsigned int version)
{
    wb_sync_options def = WB_SYNC_OPTIONS_INIT;
    WB__CHECK_ARG(opts);
    if (version < 1 || version > WB_SYNC_OPTIONS_VERSION)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "sync options: version %u unknown", version);
    *opts = def;
    opts->version = version;
    return 0;
}

int wb_sync_new(wb_sync **out, const char *store_path, const wb_store_options *store_opts,
                const wb_sync_options *opts)
{
    wb_sync *s = NULL;
    size_t n;
    int error;

    wb_error__reset();
    WB__CHECK_ARG(out);
    *out = NULL;
    WB__CHECK_ARG(store_path);
    WB__CHECK_ARG(opts);
    if ((error = wb__global_init()) < 0 || (error = check_options(opts)) < 0)
        return error;
    if (!(s = wb__calloc(1, sizeof(*s))))
        return wb_error__oom();
    /* A version 1 caller's struct ends before `clock`, a version 2 one
     * before `send_signatures`, a version 3 one before `parallel`, a
     * version 4 one before `use_saved_token`, a version 5 one before
     * `pull_txn_records` (the rest stays 0: defaults). */
    memcpy(&s->opts, opts,
           opts->version >= 6   ? sizeof(*opts)
           : opts->version == 5 ? offsetof(wb_sync_options, pull_txn_records)
           : opts->version == 4 ? offsetof(wb_sync_options, use_saved_token)
           : opts->version == 3 ? offsetof(wb_sync_options, parallel)
           : opts->version == 2 ? offsetof(wb_sync_options, send_signatures)
                                : offsetof(wb_sync_options, clock));
    if (opts->version >= 2 && opts->clock)
        s->clock = *opts->clock;
    s->opts.clock = NULL; /* s->clock holds it */
    atomic_init(&s->cancel, 0);
    if ((error = dup_opt(&s->base_url, opts->base_url)) < 0 ||
        (error = dup_opt(&s->token, opts->token)) < 0 ||
        (error = dup_opt(&s->ca_file, opts->ca_file)) < 0 ||
        (error = dup_opt(&s->ca_path, opts->ca_path)) < 0 ||
        (error = dup_opt(&s->proxy, opts->proxy)) < 0)
        goto fail;
    n = strlen(s->base_url);
    while (n > 0 && s->base_url[n - 1] == '/')
        s->base_url[--n] = '\0';
    s->opts.base_url = s->base_url;
    s->opts.token = NULL; /* only s->token holds it */
    s->opts.ca_file = s->ca_file;
    s->opts.ca_path = s->ca_path;
    s->opts.proxy = s->proxy;
    if (s->opts.page_size == 0)
        s->opts.page_size = 200;
    /* A page of one could not both read a row again and move on (pull.c,
     * "Skipping"). */
    if (s->opts.page_size < 2)
        s->opts.page_size = 2;
    if (s->opts.page_size > 10000)
        s->opts.page_size = 10000;
    if (s->opts.pull_txn_records == 0)
        s->opts.pull_txn_records = 500;
    if (s->opts.pull_txn_records > 10000)
        s->opts.pull_txn_records = 10000;
    if (s->opts.timeout_ms == 0)
        s->opts.timeout_ms = 30000;
    if (s->opts.connect_timeout_ms == 0)
        s->opts.connect_timeout_ms = 10000;
    if (s->opts.max_attempts == 0)
        s->opts.max_attempts = 5;
    if (s->opts.backoff_max_ms == 0)
        s->opts.backoff_max_ms = 60000;
    snprintf(s->scope, sizeof(s->scope), "v%d %s", s->opts.api == WB_API_V1 ? 1 : 2,
             s->base_url);
    if ((error = wb_store_open(&s->store, store_path, store_opts)) < 0)
        goto fail;
    if ((error = wb_store__require_identity(s->store)) < 0)
        goto fail;
    if (opts->transport) {
        s->transport = *opts->transport;
    } else if ((error = wb_transport_curl__new(&s->transport, &s->curl, s)) < 0) {
        goto fail;
    }
    *out = s;
    return 0;
fail:
    wb_sync_free(s);
    return error;
}

void wb_sync_cancel(wb_sync *sync)
{
    if (sync)
        atomic_store(&sync->cancel, 1);
}

void wb_sync_free(wb_sync *sync)
{
    if (!sync)
        return;
    if (sync->curl)
        wb_transport_curl__free(sync->curl);
    wb_store_free(sync->store);
    wipe_free(sync->token);
    wb__free(sync->base_url);
    wb__free(sync->ca_file);
    wb__free(sync->ca_path);
    wb__free(sync->proxy);
    sodium_memzero(sync, sizeof(*sync));
    wb__free(sync);
}

/* ---- run helpers ------------------------------------------------------------- */

int wb_sync__cancelled(wb_sync *s)
{
    return atomic_load(&s->cancel) != 0;
}

int wb_sync__cancel_error(void)
{
    return wb_error__set(WB_ERROR, WB_ERRCLASS_SYNC, "sync cancelled");
}

int64_t wb_sync__now(const wb_sync *s)
{
    return s->clock.now_ms ? s->clock.now_ms(s->clock.ctx) : wb_time__now_ms();
}

void wb_sync__sleep(wb_sync *s, int64_t ms)
{
    if (ms <= 0)
        return;
    if (s->clock.sleep_ms) {
        s->clock.sleep_ms(s->clock.ctx, ms);
        return;
    }
    /* In slices, so that a cancel is seen within 50 ms. */
    while (ms > 0 && !wb_sync__cancelled(s)) {
        int64_t slice = ms < 50 ? ms : 50;
        struct timespec ts = {(time_t)(slice / 1000), (long)(slice % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        ms -= slice;
    }
}

void wb_sync__progress(wb_sync *s, int phase, uint64_t done, uint64_t total)
{
    wb_sync_progress p;
    if (!s->opts.progress)
        return;
    p.phase = phase;
    p.done = done;
    p.total = total;
    if (s->opts.progress(&p, s->opts.userdata) != 0)
        atomic_store(&s->cancel, 1);
}

void wb_sync__response_free(wb_sync *s, wb_http_response *resp)
{
    if (resp->body)
        s->transport.free_body(s->transport.ctx, resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}

/* Ask the host for a new token; 0 when it gave one. */
static int refresh_token(wb_sync *s)
{
    char *buf;
    int rc;
    if (!s->opts.token_refresh || s->refreshed)
        return -1;
    s->refreshed = 1;
    if (!(buf = wb__calloc(1, WB_SYNC_TOKEN_MAX)))
        return -1;
    rc = s->opts.token_refresh(buf, WB_SYNC_TOKEN_MAX, s->opts.userdata);
    buf[WB_SYNC_TOKEN_MAX - 1] = '\0';
    /* One that could not go into a header line counts as none given. */
    if (rc == 0 && buf[0] && wb_token__check(buf) < 0) {
        wb_error_clear();
        rc = -1;
    }
    if (rc == 0 && buf[0]) {
        wipe_free(s->token);
        s->token = wb__strdup(buf);
        s->token_gen++;
        rc = s->token ? 0 : -1;
        /* A run on the saved token keeps the new one in its place, at
         * once (the next run, or a crash, must not fall back to the token
         * the server refused). Requests are never sent inside one of the
         * engine's transactions, so this commits on its own; if it fails
         * (another writer holds the lock) the end of the run tries again. */
        if (rc == 0 && s->opts.use_saved_token) {
            wb_error_saved saved;
            wb_error__save(&saved);
            s->save_pending = wb_store__save_token(s->store, s->token) < 0;
            wb_error__restore(&saved);
        }
    } else {
        rc = -1;
    }
    sodium_memzero(buf, WB_SYNC_TOKEN_MAX);
    wb__free(buf);
    return rc;
}

int wb_sync__send_once(wb_sync *s, const wb_transport *t, wb_sync_counts *counts,
                       wb_http_response *resp, const char *method, const char *url,
                       const char *body, size_t body_len, const char *etag)
{
    wb_http_header headers[4];
    wb_http_request req;
    wb_buf auth = WB_BUF_INIT;
    size_t n = 0;
    int rc;

    if (wb_sync__cancelled(s))
        return wb_sync__cancel_error();
    memset(resp, 0, sizeof(*resp));
    resp->retry_after_s = -1;
    resp->sent = 1;
    if (s->token && wb_buf__printf(&auth, "Bearer %s", s->token) < 0)
        return wb_error__oom();
    headers[n++] = (wb_http_header){"Accept", "application/json"};
    if (s->token)
        headers[n++] = (wb_http_header){"Authorization", auth.ptr};
    if (body)
        headers[n++] = (wb_http_header){"Content-Type", "application/json"};
    if (etag)
        headers[n++] = (wb_http_header){"etag", etag};
    req.method = method;
    req.url = url;
    req.headers = headers;
    req.n_headers = n;
    req.body = body;
    req.body_len = body ? body_len : 0;
    req.timeout_ms = s->opts.timeout_ms;
    counts->requests++;
    counts->bytes_sent += req.body_len;
    rc = t->send(t->ctx, &req, resp);
    counts->bytes_received += resp->body_len;
    if (rc != 0) {
        if (rc != WB_EOFFLINE && rc != WB_ENOMEM)
            rc = WB_EOFFLINE;
        if (rc == WB_EOFFLINE && (!wb_error_last() || wb_error_last()->code != WB_EOFFLINE))
            wb_error__set(WB_EOFFLINE, WB_ERRCLASS_NET, "%s %s: no response", method, url);
    }
    if (auth.ptr)
        sodium_memzero(auth.ptr, auth.cap);
    wb_buf__free(&auth);
    return rc;
}

int wb_sync__token_refused(wb_sync *s)
{
    if (refresh_token(s) == 0)
        return 0;
    wb_error__set(WB_EAUTH, WB_ERRCLASS_NET, "server refused the token (HTTP 401)");
    wb_error__set_http(401);
    return WB_EAUTH;
}

int wb_sync__send(wb_sync *s, wb_http_response *resp, const char *method, const char *url,
                  const char *body, size_t body_len, const char *etag)
{
    wb_sync_counts counts = {0, 0, 0};
    int rc = 0;

    for (int round = 0; round < 2; round++) {
        rc = wb_sync__send_once(s, &s->transport, &counts, resp, method, url, body, body_len,
                                etag);
        if (rc != 0 || resp->status != 401)
            break;
        wb_sync__response_free(s, resp);
        if (round == 0 && refresh_token(s) == 0)
            continue;
        rc = wb_error__set(WB_EAUTH, WB_ERRCLASS_NET, "server refused the token (HTTP 401)");
        wb_error__set_http(401);
        break;
    }
    s->report.requests += counts.requests;
    s->report.bytes_sent += counts.bytes_sent;
    s->report.bytes_received += counts.bytes_received;
    return rc;
}

/* ---- a run ------------------------------------------------------------------- */

static int report_json(char **out, const wb_sync *s)
{
    const wb_sync_report *r = &s->report;
    wb_buf b = WB_BUF_INIT;
    wb_buf__printf(&b,
                   "{\"pushed\":{\"created\":%llu,\"updated\":%llu,\"deleted\":%llu,"
                   "\"rejected\":%llu,\"deferred\":%llu},",
                   (unsigned long long)r->created, (unsigned long long)r->updated,
                   (unsigned long long)r->deleted, (unsigned long long)r->rejected,
                   (unsigned long long)r->deferred);
    wb_buf__printf(&b,
                   "\"pulled\":{\"inserted\":%llu,\"updated\":%llu,\"deleted\":%llu,"
                   "\"merged\":%llu,\"conflicts\":%llu,\"refused\":%llu},",
                   (unsigned long long)r->inserted, (unsigned long long)r->pulled_updated,
                   (unsigned long long)r->pulled_deleted, (unsigned long long)r->merged,
                   (unsigned long long)r->conflicts, (unsigned long long)r->refused);
    wb_buf__printf(&b,
                   "\"requests\":%llu,\"bytesSent\":%llu,\"bytesReceived\":%llu,"
                   "\"durationMs\":%lld}",
                   (unsigned long long)r->requests, (unsigned long long)r->bytes_sent,
                   (unsigned long long)r->bytes_received,
                   (long long)(wb_sync__now(s) - r->started_ms));
    if (!(*out = wb_buf__detach(&b)))
        return wb_error__oom();
    return 0;
}

/* With use_saved_token: the token saved in the store now (the host may
 * have saved a new one since the last run). */
static int load_saved_token(wb_sync *s)
{
    char *token = NULL;
    int error;
    if (!s->opts.use_saved_token)
        return 0;
    if ((error = wb_store__saved_token(&token, s->store)) < 0) {
        if (error == WB_ENOTFOUND)
            wb_error__set(WB_ENOTFOUND, WB_ERRCLASS_SYNC,
                          "sync: use_saved_token, but no token is saved in the store "
                          "(wb_store_save_token)");
        return error;
    }
    if (!s->token || strcmp(s->token, token) != 0)
        s->token_gen++;
    wipe_free(s->token);
    s->token = token;
    return 0;
}

/* The WAL is copied into the database on a thread of its own while the
 * push and the pull commit (core/checkpoint.c): the syncing thread does
 * not wait on the two fsyncs of each checkpoint, and the push's senders
 * do not wait for a next group that a checkpoint held up. The WAL file
 * keeps its size when it starts again (cutting it back cost 0.13-0.2 s of
 * the syncing thread each time); it is cut back to 16 MiB after the run.
 * When that thread cannot run (no WAL, no thread), the sync's connection
 * checkpoints every 64 MiB itself instead of SQLite's 16 MiB: a page
 * rewritten by many commits in between is copied once. Best effort either
 * way. */
static wb_ckpt *ckpt_begin(wb_sync *s)
{
    wb_ckpt *ckpt = NULL;
    if (wb_ckpt__start(&ckpt, s->store, WB_CKPT_SOFT_FRAMES, WB_CKPT_HARD_FRAMES) < 0)
        wb_error_clear();
    /* With the built-in transport, sender and prefetch threads come and
     * go: the checkpoint thread starts before the first of them
     * (core/checkpoint.c, ckpt_main). A platform's transport starts no
     * thread of ours, and the checkpoint thread then only when the WAL
     * first holds 4 MiB. */
    if (s->curl)
        wb_ckpt__start_thread(ckpt);
    if (wb_store__exec(s->store, ckpt ? "PRAGMA journal_size_limit = -1"
                                      : "PRAGMA journal_size_limit = 16777216;"
                                        " PRAGMA wal_autocheckpoint = 4096") < 0)
        wb_error_clear();
    return ckpt;
}

/* SQLite's own checkpoints again; the run's error stays. */
static void ckpt_end(wb_sync *s, wb_ckpt *ckpt)
{
    wb_error_saved saved;
    wb_error__save(&saved);
    wb_ckpt__stop(ckpt);
    if (wb_store__exec(s->store, "PRAGMA journal_size_limit = 16777216;"
                                 " PRAGMA wal_autocheckpoint = 1000") < 0)
        wb_error_clear();
    wb_error__restore(&saved);
}

int wb_sync_run(char **out_report, wb_sync *sync)
{
    wb_error_saved saved;
    char *report = NULL;
    int error, rerr;

    wb_error__reset();
    if (out_report)
        *out_report = NULL;
    WB__CHECK_ARG(sync);
    if (sync->running)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_SYNC, "sync: already running");
    sync->running = 1;
    sync->refreshed = 0;
    memset(&sync->report, 0, sizeof(sync->report));
    sync->report.started_ms = wb_sync__now(sync);
    sync->save_pending = 0;
    /* A stale cancel from before the run does not stop this one. */
    atomic_store(&sync->cancel, 0);
    if ((error = load_saved_token(sync)) >= 0 &&
        (error = wb_store__load_identity(sync->store)) >= 0) {
        wb_ckpt *ckpt = ckpt_begin(sync);
        if ((error = wb_push__run(sync)) >= 0 && (error = wb_pull__run(sync)) >= 0 &&
            sync->pull_reference)
            error = wb_pull__reference_run(sync);
        ckpt_end(sync, ckpt);
    }
    if (sync->save_pending && sync->token) {
        /* The refreshed token could not be saved during the run. */
        int serr;
        wb_error__save(&saved);
        serr = wb_store__save_token(sync->store, sync->token);
        if (serr < 0 && error >= 0)
            error = serr;
        else
            wb_error__restore(&saved);
        sync->save_pending = 0;
    }
    wb_error__save(&saved);
    if (out_report && (rerr = report_json(&report, sync)) < 0 && error >= 0)
        error = rerr;
    else
        wb_error__restore(&saved);
    if (out_report)
        *out_report = report;
    sync->running = 0;
    return error;
}
