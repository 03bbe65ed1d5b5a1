/*
 * sync_int.h - the sync engine's modules and the state they share.
 *
 *   sync.c            the wb_sync handle, a run, the report, one request
 *                     (headers, counters, token refresh on 401)
 *   polis.c           the Polis API mapping: URLs, bodies, list pages
 *   push.c            local changes to requests and responses to the store
 *   pull.c            incremental pull by meta.modified watermark
 *   pull_reference.c  the same for the walk-list reference data
 *   transport_curl.c  the default wb_transport on libcurl
 *
 * The decisions of push and pull (which request, what a response means,
 * how long to wait) are plain functions without I/O, unit-tested with a
 * stub transport; only wb_sync__send touches the transport.
 */
#ifndef WB_SYNC_INT_H
#define WB_SYNC_INT_H

#include <stdatomic.h>

#include "common.h"
#include "json.h"
#include "syncstore.h"

/* ---- the handle ------------------------------------------------------------ */

typedef struct wb_sync_report {
    uint64_t created, updated, deleted, rejected, deferred;        /* pushed */
    uint64_t inserted, pulled_updated, pulled_deleted, merged, conflicts,
        refused;                                                   /* pulled */
    uint64_t requests, bytes_sent, bytes_received;
    int64_t started_ms;
} wb_sync_report;

struct wb_sync {
    wb_store *store;
    wb_sync_options opts;   /* strings below replace the caller's pointers */
    char *base_url;         /* without a trailing '/' */
    char *token;            /* NULL or a wb__malloc'd copy, wiped on free */
    char *ca_file, *ca_path, *proxy;
    char scope[512];        /* watermark scope: flavour and base URL */
    wb_transport transport; /* the caller's, or the libcurl one */
    void *curl;             /* the libcurl transport's context, when ours */
    atomic_int cancel;
    int refreshed;          /* token_refresh used in this run */
    unsigned token_gen;     /* changes with the token */
    int save_pending;       /* use_saved_token: a refreshed token not yet saved */
    int running;
    wb_sync_report report;
    wb_clock clock;         /* the caller's; zero = system clock, nanosleep in slices */
    /* Also pull the walk-list reference data (wb_sync_pull_reference). */
    int pull_reference;
};

/* ---- sync.c ---------------------------------------------------------------- */

/* Request counters of one sender (the report's, or a push worker's). */
typedef struct wb_sync_counts {
    uint64_t requests, bytes_sent, bytes_received;
} wb_sync_counts;

/* One request on transport t, counted in *counts: no token refresh, no
 * report (safe on a push worker while the run's thread waits; s is only
 * read). Returns 0 when a response arrived (any status, 401 too), else
 * as wb_sync__send. */
int wb_sync__send_once(wb_sync *s, const wb_transport *t, wb_sync_counts *counts,
                       wb_http_response *resp, const char *method, const char *url,
                       const char *body, size_t body_len, const char *etag);

/* Send one request: Authorization, Accept, Content-Type (with a body) and
 * an etag header when etag is not NULL. Counts requests and bytes. A 401
 * asks opts.token_refresh once per run and sends again. Returns 0 when an
 * HTTP response arrived (any status other than a final 401), WB_EAUTH after
 * a final 401, WB_EOFFLINE when none arrived (resp->sent says whether the
 * request may have reached the server), WB_ERROR when cancelled. The
 * caller releases resp with wb_sync__response_free. */
int wb_sync__send(wb_sync *s, wb_http_response *resp, const char *method, const char *url,
                  const char *body, size_t body_len, const char *etag);
void wb_sync__response_free(wb_sync *s, wb_http_response *resp);
/* A request was answered 401: 0 when the host gave a new token (the first
 * time in a run: send it again), else WB_EAUTH with the error set. */
int wb_sync__token_refused(wb_sync *s);

/* 1 when a cancel was asked (wb_sync_cancel or the progress callback). */
int wb_sync__cancelled(wb_sync *s);
/* Set the cancellation error and return WB_ERROR. */
int wb_sync__cancel_error(void);
/* Now, in ms since the epoch, on the run's clock. */
int64_t wb_sync__now(const wb_sync *s);
/* Wait ms (interrupted by a cancel). */
void wb_sync__sleep(wb_sync *s, int64_t ms);
/* Count the outcome of applying a server version in the report. */
void wb_sync__count(wb_sync *s, enum wb_remote_outcome o);
/* Report progress; non-zero from the callback cancels the run. */
void wb_sync__progress(wb_sync *s, int phase, uint64_t done, uint64_t total);

/* ---- polis.c --------------------------------------------------------------- */

/* "<base>/v2/interactions" (or /v1). */
int wb_polis__collection_url(wb_buf *b, const char *base, int api);
/* "<base>/v2/interactions/<id>". */
int wb_polis__record_url(wb_buf *b, const char *base, int api, const char *id);
/* A list URL: filter expression (URL-encoded; none when NULL or ""), sorted by /meta/modified then
 * id ascending (v2: repeated sort parameters; v1: a JSON array), limit, skip. */
int wb_polis__list_url(wb_buf *b, const char *base, int api, const char *filter, size_t limit,
                       size_t skip);
/* The same for another collection: "<base><path>?filter=…" (path such as
 * "/v1/campaigns"). */
int wb_polis__list_url_at(wb_buf *b, const char *base, const char *path, int api,
                          const char *filter, size_t limit, size_t skip);
/* `/meta/modified gte "<wm>" and /meta/isDeleted in [true,false]` (without
 * the first term when wm is ""). */
int wb_polis__pull_filter(wb_buf *b, const char *watermark);
/* `/data/contactId eq "<contact>" and /data/campaignId eq "<campaign>"`. */
int wb_polis__reconcile_filter(wb_buf *b, const char *contact, const char *campaign);
/* `/data/campaignId eq "<campaign>"` (the full re-pull of one campaign). */
int wb_polis__reconcile_filter_campaign(wb_buf *b, const char *campaign);
/* Create body: v2 flat data members, v1 {"data":{…}}; both with the local
 * id as a top-level "id" (a server honouring client ids makes a replay
 * harmless; others ignore it). data_text is a compact JSON object. */
int wb_polis__create_body(wb_buf *b, int api, const char *local_id, const char *data_text);
/* Add the member "walkbookSignature" (wb_log__signature) to a create body
 * built by wb_polis__create_body, and note the entry sent (007). A record
 * that no log entry signed goes out unchanged. */
int wb_polis__sign_create(wb_buf *body, wb_sync *s, const char *local_id, const char *data_text);
/* PATCH body {"data":[ops]} from base to data: paths relative to data, or
 * under "/data/" when data_prefixed. *n_ops receives the number of
 * operations. */
int wb_polis__patch_body(wb_buf *b, size_t *n_ops, const char *base_text, const char *data_text,
                         int data_prefixed);
/* Parse a list page {"data":[…]}: *root owns it, *items borrows the array. */
int wb_polis__parse_page(cJSON **root, const cJSON **items, const char *body, size_t len);
/* Parse one envelope body. */
int wb_polis__parse_envelope(cJSON **env, const char *body, size_t len);
/* An answer to a create or an update read without a tree: 1 when `body`
 * is an envelope whose data is, byte for byte, `sent` (the data text the
 * request carried: the server stored it as it came) and the strings the
 * store keeps are plain, with *out filled; 0 otherwise (the caller parses
 * the body, which also reports what is wrong with it). Refuses nothing
 * wb_polis__parse_envelope accepts with that data, accepts nothing it
 * refuses: when it cannot tell cheaply, it answers 0. */
int wb_polis__read_echo(wb_syncstore_echo *out, const char *body, size_t len, const char *sent);
/* 1 when a response says "changed remotely": 412, 409, or a 4xx whose body
 * names ConcurrencyError. */
int wb_polis__is_concurrency(const wb_http_response *r);
/* The server's message for a refusal: "HTTP 403: <message>" (the body's
 * "message" member, or its "name", else the status alone), cut to fit. */
void wb_polis__message(char *out, size_t size, const wb_http_response *r);

/* ---- push.c ---------------------------------------------------------------- */

/* What one pending record needs next. */
typedef enum wb_push_op {
    WB_PUSH_NOTHING = 0,  /* deleted before it ever reached the server: local ack */
    WB_PUSH_RECONCILE,    /* a create of unknown outcome: look for it first */
    WB_PUSH_CREATE,       /* POST */
    WB_PUSH_UPDATE,       /* PATCH diff(base, data) with the base etag */
    WB_PUSH_DELETE        /* DELETE with the base etag */
} wb_push_op;

/* How a response (or its absence) is handled. */
typedef enum wb_push_verdict {
    WB_VERDICT_OK = 0,      /* 2xx: acknowledge */
    WB_VERDICT_GONE,        /* DELETE 404/410: already deleted; PATCH: deleted remotely */
    WB_VERDICT_CONCURRENCY, /* PATCH/DELETE 412/409/ConcurrencyError: fetch, merge, retry */
    WB_VERDICT_REJECT,      /* other 4xx: rejected with the server's message */
    WB_VERDICT_RETRY,       /* 5xx, 408, 429, no response: back off and retry */
    WB_VERDICT_AUTH,        /* a final 401: stop the run */
    WB_VERDICT_CANCEL       /* the run was cancelled */
} wb_push_verdict;

/* The next operation for p; unknown_outcome is 1 when an earlier POST of it
 * may have reached the server (p->create_attempted, or a lost response in
 * this run). */
wb_push_op wb_push__plan(const wb_pending *p, int unknown_outcome);

/* Classify what wb_sync__send returned (rc) and the response. */
wb_push_verdict wb_push__classify(wb_push_op op, int rc, const wb_http_response *r);

/* The wait before retry number `attempt` (1 = first retry): full jitter,
 * uniform in [0, min(max_ms, base_ms * 2^(attempt-1))], and at least the
 * server's Retry-After (seconds, -1 = none). `rnd` is a uniform random
 * 32-bit value. */
int64_t wb_push__backoff_ms(int attempt, int base_ms, int max_ms, long retry_after_s,
                            uint32_t rnd);

/* Among listed envelopes, the create p made: same data.timestamp,
 * data.contactId and data.campaignId, meta.createdBy = user, not deleted;
 * the oldest when several (by meta.created, then id). NULL when none. */
const cJSON *wb_push__reconcile_match(const cJSON *items, const wb_pending *p, const char *user);

/* Push every due pending record. 0, or WB_EAUTH / WB_EOFFLINE / WB_ERROR
 * (cancelled, store errors) which stop the run. */
int wb_push__run(wb_sync *s);

/* ---- pull.c ---------------------------------------------------------------- */

/* The watermark after applying a page: the last row's meta.modified, and the
 * "id:etag" keys of rows at exactly that value (continuing `seen` when the
 * value did not move). Exposed for tests. `seen` and *out_seen are JSON
 * array texts. */
int wb_pull__advance(char *modified /* in/out, WB_TIMESTAMP_LEN + 1 */, char **out_seen,
                     const char *seen, const cJSON *items);

/* Rows the next page's query skips when the listing's first `confirmed`
 * rows at the watermark value are applied ones: all but a quarter of a page
 * (at least one row, at most page_size - 1), so that the next page starts
 * with a row it can check (pull.c, "Skipping"). Exposed for tests. */
size_t wb_pull__next_skip(size_t confirmed, unsigned page_size);

/* Pull every change since the watermark. 0, or an error that stops the run. */
int wb_pull__run(wb_sync *s);

/* GET one list page and parse it (*root owns it, *items borrows its data
 * array), retrying transient failures with backoff; a final 4xx is
 * WB_ERROR with the HTTP status attached (*refused_400 for a 400). */
int wb_pull__get_page(wb_sync *s, wb_http_response *r, const char *url, cJSON **root,
                      const cJSON **items, int *refused_400);

/* ---- pull_reference.c ------------------------------------------------------ */

/* Pull the reference data of the user's campaigns into the store's caches
 * (campaigns, surveys, lists and their contact-households), incrementally.
 * A server without these routes leaves the caches as they are (0). */
int wb_pull__reference_run(wb_sync *s);

/* ---- transport_curl.c ------------------------------------------------------ */

/* The libcurl transport: *ctx is its state (one reused easy handle). */
int wb_transport_curl__new(wb_transport *out, void **ctx, const wb_sync *s);
void wb_transport_curl__free(void *ctx);

#endif
