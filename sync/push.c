/*
 * push.c - sending local changes (DESIGN.md "Sync contract"): for each
 * pending record, which request; for each response, what the store
 * records. Creates are exactly once: the attempt is committed before the
 * POST, and a create whose outcome is unknown is looked up on the server
 * (and adopted) before it is ever posted again.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "sync_int.h"
#include "timeutil.h"

/* ---- decisions (no I/O) ------------------------------------------------------ */

wb_push_op wb_push__plan(const wb_pending *p, int unknown_outcome)
{
    if (!p->server_id[0]) {
        if (unknown_outcome)
            return WB_PUSH_RECONCILE;
        return p->deleted ? WB_PUSH_NOTHING : WB_PUSH_CREATE;
    }
    return p->deleted ? WB_PUSH_DELETE : WB_PUSH_UPDATE;
}

wb_push_verdict wb_push__classify(wb_push_op op, int rc, const wb_http_response *r)
{
    int st = r->status;
    if (rc == WB_EAUTH)
        return WB_VERDICT_AUTH;
    if (rc == WB_EOFFLINE)
        return WB_VERDICT_RETRY;
    if (rc < 0)
        return WB_VERDICT_CANCEL; /* cancelled, or out of memory: stop */
    if (st >= 200 && st < 300)
        return WB_VERDICT_OK;
    /* Deleted on the server: done for a DELETE, a remote delete to merge
     * for a PATCH. */
    if ((op == WB_PUSH_DELETE || op == WB_PUSH_UPDATE) && (st == 404 || st == 410))
        return WB_VERDICT_GONE;
    if (st >= 500 || st == 408 || st == 429 || st < 200)
        return WB_VERDICT_RETRY;
    if ((op == WB_PUSH_UPDATE || op == WB_PUSH_DELETE) && wb_polis__is_concurrency(r))
        return WB_VERDICT_CONCURRENCY;
    return WB_VERDICT_REJECT;
}

int64_t wb_push__backoff_ms(int attempt, int base_ms, int max_ms, long retry_after_s,
                            uint32_t rnd)
{
    int64_t cap = base_ms > 0 ? base_ms : 1, wait;
    for (int i = 1; i < attempt && cap < max_ms; i++)
        cap *= 2;
    if (cap > max_ms)
        cap = max_ms;
    wait = (int64_t)(((uint64_t)rnd * (uint64_t)(cap + 1)) >> 32);
    if (retry_after_s >= 0 && retry_after_s * 1000 > wait)
        wait = (int64_t)retry_after_s * 1000;
    return wait;
}

static const char *str_at(const cJSON *obj, const char *a, const char *b)
{
    const cJSON *item = wb_json__get(wb_json__get(obj, a), b);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

static int eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

const cJSON *wb_push__reconcile_match(const cJSON *items, const wb_pending *p, const char *user)
{
    const cJSON *env, *best = NULL;
    cJSON_ArrayForEach(env, items)
    {
        const cJSON *id = wb_json__get(env, "id");
        const char *created;
        if (!cJSON_IsString(id) || cJSON_IsTrue(wb_json__get(wb_json__get(env, "meta"), "isDeleted")))
            continue;
        if (!eq(str_at(env, "data", "timestamp"), p->ts) ||
            !eq(str_at(env, "data", "contactId"), p->contact_id) ||
            !eq(str_at(env, "data", "campaignId"), p->campaign_id) ||
            !eq(str_at(env, "meta", "createdBy"), user))
            continue;
        if (!best) {
            best = env;
            continue;
        }
        created = str_at(env, "meta", "created");
        {
            const char *bc = str_at(best, "meta", "created");
            int c = strcmp(created ? created : "", bc ? bc : "");
            if (c < 0 || (c == 0 && strcmp(id->valuestring,
                                           wb_json__get(best, "id")->valuestring) < 0))
                best = env;
        }
    }
    return best;
}

/* ---- one record -------------------------------------------------------------- */

typedef struct push_visit {
    int attempts;        /* failed tries in this visit */
    int unknown_outcome; /* a POST of it may have reached the server */
    int timed_out;       /* ...and the server may still be working on it */
    int concurrency;     /* a 412 was merged in this visit */
} push_visit;

/* Count what applying a server version did, as the pull does. */
void wb_sync__count(wb_sync *s, enum wb_remote_outcome o)
{
    switch (o) {
    case WB_REMOTE_INSERTED: s->report.inserted++; break;
    case WB_REMOTE_UPDATED: s->report.pulled_updated++; break;
    case WB_REMOTE_DELETED: s->report.pulled_deleted++; break;
    case WB_REMOTE_MERGED: s->report.merged++; break;
    case WB_REMOTE_CONFLICT: s->report.conflicts++; break;
    case WB_REMOTE_REFUSED: s->report.refused++; break;
    default: break; /* unchanged, or a conflict parked again */
    }
}

/* Read one record back after the store changed it; 0 when it is no longer
 * pending (or no longer due). */
static int reload(wb_pending *p, wb_sync *s, int *still_pending)
{
    wb_pending *list = NULL;
    size_t n = 0;
    int error;
    *still_pending = 0;
    if ((error = wb_syncstore__pending_one(&list, &n, s->store, p->local_id)) < 0)
        return error;
    if (n == 1) {
        wb__free(p->data);
        wb__free(p->base);
        wb__free(p->base_etag);
        *p = list[0];
        wb__free(list);
        *still_pending = 1;
        return 0;
    }
    wb_syncstore__pending_free(list, n);
    return 0;
}

/* A PATCH met 404/410: the record was deleted on the server. The
 * tombstone is looked up (a filtered list that includes deleted records,
 * so the real etag and modified time are kept and the pull later sees
 * nothing new) and applied under the policy like a pulled one: the local
 * edit is parked as a conflict, never dropped, except under server-wins.
 * A server that keeps no tombstone gets one made from what we know. */
static int remote_deleted(wb_sync *s, const wb_pending *p, wb_http_response *rp,
                          int *verdict_out)
{
    wb_buf filter = WB_BUF_INIT, url = WB_BUF_INIT;
    cJSON *root = NULL, *made = NULL;
    const cJSON *items = NULL, *env, *tomb = NULL;
    enum wb_remote_outcome outcome;
    int rc, error = 0;

    if ((error = wb_buf__printf(&filter,
                                "/id eq \"%s\" and /data/campaignId eq \"%s\" and "
                                "/meta/isDeleted in [true,false]",
                                p->server_id, p->campaign_id)) < 0 ||
        (error = wb_polis__list_url(&url, s->base_url, s->opts.api, filter.ptr, 10, 0)) < 0)
        goto cleanup;
    rc = wb_sync__send(s, rp, "GET", url.ptr, NULL, 0, NULL);
    *verdict_out = wb_push__classify(WB_PUSH_RECONCILE, rc, rp);
    if (*verdict_out == WB_VERDICT_AUTH || *verdict_out == WB_VERDICT_CANCEL ||
        *verdict_out == WB_VERDICT_RETRY)
        goto cleanup;
    *verdict_out = WB_VERDICT_OK;
    if (rp->status >= 200 && rp->status < 300 &&
        wb_polis__parse_page(&root, &items, rp->body, rp->body_len) == 0) {
        cJSON_ArrayForEach(env, items)
        {
            const cJSON *id = wb_json__get(env, "id");
            if (cJSON_IsString(id) && strcmp(id->valuestring, p->server_id) == 0 &&
                cJSON_IsTrue(wb_json__get(wb_json__get(env, "meta"), "isDeleted")))
                tomb = env;
        }
    }
    wb_error_clear();
    if (!tomb) {
        wb_syncstore_ref ref;
        memcpy(ref.server_id, p->server_id, sizeof(ref.server_id));
        ref.data = p->base ? p->base : p->data;
        if ((error = wb_syncstore__tombstone_of(&made, s->store, &ref)) < 0)
            goto cleanup;
        tomb = made;
    }
    if ((error = wb_syncstore__apply_remote(&outcome, s->store, tomb, s->opts.policy,
                                            s->opts.prefer_remote)) >= 0)
        wb_sync__count(s, outcome);
cleanup:
    cJSON_Delete(root);
    cJSON_Delete(made);
    wb_buf__free(&filter);
    wb_buf__free(&url);
    return error;
}

/* GET the record by server id and merge it in (412 on PATCH or DELETE). */
static int fetch_and_merge(wb_sync *s, const wb_pending *p, wb_http_response *rp,
                           int *verdict_out)
{
    wb_buf url = WB_BUF_INIT;
    cJSON *env = NULL;
    enum wb_remote_outcome outcome;
    int rc, error = 0;

    if ((error = wb_polis__record_url(&url, s->base_url, s->opts.api, p->server_id)) < 0)
        goto cleanup;
    rc = wb_sync__send(s, rp, "GET", url.ptr, NULL, 0, NULL);
    *verdict_out = wb_push__classify(WB_PUSH_UPDATE, rc, rp);
    if (*verdict_out == WB_VERDICT_OK) {
        if ((error = wb_polis__parse_envelope(&env, rp->body, rp->body_len)) < 0) {
            *verdict_out = WB_VERDICT_RETRY;
            error = 0;
        } else if ((error = wb_syncstore__apply_remote(&outcome, s->store, env, s->opts.policy,
                                                       s->opts.prefer_remote)) >= 0) {
            wb_sync__count(s, outcome);
        }
    } else if (*verdict_out == WB_VERDICT_GONE) {
        /* Deleted on the server since the 412. */
        wb_sync__response_free(s, rp);
        if (p->deleted) {
            error = wb_syncstore__ack_delete(s->store, p->local_id, p->version);
            s->report.deleted++;
        } else {
            error = remote_deleted(s, p, rp, verdict_out);
        }
    } else if (*verdict_out == WB_VERDICT_CONCURRENCY) {
        *verdict_out = WB_VERDICT_REJECT; /* a GET answered 409: treat as refusal */
    }
    if (*verdict_out == WB_VERDICT_REJECT) {
        char msg[256];
        wb_polis__message(msg, sizeof(msg), rp);
        error = wb_syncstore__reject(s->store, p->local_id, p->version, msg);
        s->report.rejected++;
    }
cleanup:
    cJSON_Delete(env);
    wb_buf__free(&url);
    return error;
}

/* Look for a create of unknown outcome on the server. *found: 1 adopted. */
static int reconcile(wb_sync *s, const wb_pending *p, wb_http_response *rp, int *found,
                     int *verdict_out)
{
    wb_buf filter = WB_BUF_INIT, url = WB_BUF_INIT;
    cJSON *root = NULL;
    const cJSON *items = NULL, *match;
    int rc, error;

    *found = 0;
    if ((error = wb_polis__reconcile_filter(&filter, p->contact_id, p->campaign_id)) < 0 ||
        (error = wb_polis__list_url(&url, s->base_url, s->opts.api, filter.ptr, 1000, 0)) < 0)
        goto cleanup;
    rc = wb_sync__send(s, rp, "GET", url.ptr, NULL, 0, NULL);
    *verdict_out = wb_push__classify(WB_PUSH_RECONCILE, rc, rp);
    if (*verdict_out == WB_VERDICT_OK) {
        if (wb_polis__parse_page(&root, &items, rp->body, rp->body_len) < 0) {
            *verdict_out = WB_VERDICT_RETRY;
        } else if ((match = wb_push__reconcile_match(items, p, s->store->user_id))) {
            if ((error = wb_syncstore__ack_found(
                     s->store, p->local_id, match,
                     s->opts.policy == WB_POLICY_SERVER_WINS ||
                         (s->opts.policy != WB_POLICY_CLIENT_WINS && s->opts.prefer_remote))) >= 0)
                *found = 1;
        }
    } else if (*verdict_out == WB_VERDICT_REJECT) {
        /* The server cannot answer the question (e.g. 400 on the filter):
         * posting again could duplicate, so wait for a later run. */
        *verdict_out = WB_VERDICT_RETRY;
    }
cleanup:
    cJSON_Delete(root);
    wb_buf__free(&filter);
    wb_buf__free(&url);
    return error;
}

/* How long after a POST left the server may still apply it. A request
 * that timed out may still be running there (a slow server, a queue): a
 * lookup before it is applied finds nothing, and the POST after it makes a
 * duplicate. We assume a server finishes (or drops) a request within one
 * client timeout after the client gave up: two timeouts from the start. */
static int64_t settle_ms(const wb_sync *s)
{
    return 2 * (int64_t)s->opts.timeout_ms;
}

/* The URL, body and method of op for p. */
static int build_request(wb_sync *s, const wb_pending *p, wb_push_op op, wb_buf *url,
                         wb_buf *body, const char **method)
{
    size_t n_ops = 0;
    int error;
    *method = "POST";
    if (op == WB_PUSH_CREATE) {
        if ((error = wb_polis__collection_url(url, s->base_url, s->opts.api)) < 0 ||
            (error = wb_polis__create_body(body, s->opts.api, p->local_id, p->data)) < 0)
            return error;
        return s->opts.send_signatures ? wb_polis__sign_create(body, s, p->local_id, p->data) : 0;
    }
    if ((error = wb_polis__record_url(url, s->base_url, s->opts.api, p->server_id)) < 0)
        return error;
    if (op == WB_PUSH_DELETE) {
        *method = "DELETE";
        return 0;
    }
    *method = "PATCH";
    return wb_polis__patch_body(body, &n_ops, p->base ? p->base : "{}", p->data,
                                s->opts.patch_paths == WB_PATCH_PATHS_DATA);
}

/* The etag header of op's request. */
static const char *etag_of(const wb_pending *p, wb_push_op op)
{
    return op == WB_PUSH_CREATE ? NULL : (p->base_etag ? p->base_etag : "");
}

/* Build and send the request of op; *verdict_out as classified. */
static int send_op(wb_sync *s, const wb_pending *p, wb_push_op op, wb_http_response *r,
                   int *verdict_out)
{
    wb_buf url = WB_BUF_INIT, body = WB_BUF_INIT;
    const char *method;
    int rc, error = 0;

    memset(r, 0, sizeof(*r));
    if ((error = build_request(s, p, op, &url, &body, &method)) < 0)
        goto cleanup;
    /* Durable before the request leaves: a crash from here on makes the
     * next run look for the record before posting it again, and not
     * before the server is surely done with this request (settle_ms). */
    if (op == WB_PUSH_CREATE &&
        (error = wb_syncstore__mark_create_attempt(s->store, p->local_id,
                                                   wb_sync__now(s) + settle_ms(s))) < 0)
        goto cleanup;
    rc = wb_sync__send(s, r, method, url.ptr, body.ptr, body.len, etag_of(p, op));
    *verdict_out = wb_push__classify(op, rc, r);
cleanup:
    wb_buf__free(&url);
    wb_buf__free(&body);
    return error;
}

/* Back off or defer after a failed try. *stop: give up on this record. */
static int after_failure(wb_sync *s, const wb_pending *p, push_visit *v,
                         const wb_http_response *r, int *stop)
{
    int64_t wait;
    v->attempts++;
    wait = wb_push__backoff_ms(v->attempts, s->opts.backoff_base_ms, s->opts.backoff_max_ms,
                               r->retry_after_s, randombytes_random());
    if (v->attempts >= s->opts.max_attempts || wait > s->opts.backoff_max_ms) {
        /* Persist when to try again; never sooner than a second, so that a
         * run does not pick the record up again. */
        int64_t next = wb_sync__now(s) + (wait > 1000 ? wait : 1000);
        *stop = 1;
        s->report.deferred++;
        return wb_syncstore__defer(s->store, p->local_id, next);
    }
    *stop = 0;
    wb_sync__sleep(s, wait);
    return 0;
}

/* The first request of one record in a group (see push_grp): built on
 * the run's thread, sent on whichever connection is free, its response
 * read on the run's thread again. */
typedef struct push_job {
    wb_pending *p;
    wb_push_op op;
    const char *method;
    wb_buf url, body;
    wb_http_response r;
    int rc;     /* of wb_sync__send_once */
    int handed; /* given to a transport: a response or a failure came back */
    int visited; /* push_one took the record over */
    unsigned token_gen; /* of the token it was sent with */
    wb_sync_counts counts;
    struct push_grp *g; /* its group */
} push_job;

/* Push one record until it is acknowledged, refused, deferred, or the run
 * stops. `first`: the response to its first request when a group sent it
 * (NULL: send it here). Returns < 0 only for errors that stop the run. */
static int push_one(wb_sync *s, wb_pending *p, push_job *first)
{
    push_visit v = {0, p->create_attempted, 0, 0};
    wb_http_response r;
    int error = 0;

    for (int guard = 0; guard < 64; guard++) {
        wb_push_op op = wb_push__plan(p, v.unknown_outcome);
        int verdict = WB_VERDICT_OK, stop = 0, found = 0, still = 0;
        cJSON *env = NULL;

        memset(&r, 0, sizeof(r));
        r.retry_after_s = -1;
        if (wb_sync__cancelled(s))
            return wb_sync__cancel_error();
        if (op == WB_PUSH_NOTHING)
            return wb_syncstore__ack_delete(s->store, p->local_id, p->version);
        if (op == WB_PUSH_RECONCILE) {
            if ((error = reconcile(s, p, &r, &found, &verdict)) < 0) {
                wb_sync__response_free(s, &r);
                return error;
            }
            if (verdict == WB_VERDICT_OK) {
                wb_sync__response_free(s, &r);
                if (!found && v.timed_out) {
                    /* Not there yet, but a POST that timed out may still be
                     * running on the server: posting again now could make a
                     * second copy. Ask again in a later run (the pull of
                     * this one adopts it if it lands meanwhile). */
                    s->report.deferred++;
                    return wb_syncstore__defer(
                        s->store, p->local_id,
                        wb_sync__now(s) + 2 * (int64_t)s->opts.timeout_ms + 1000);
                }
                v.unknown_outcome = 0;
                if (found)
                    s->report.created++;
                else if (p->deleted)
                    /* Never reached the server and deleted since: done. */
                    return wb_syncstore__ack_delete(s->store, p->local_id, p->version);
                if (found && (error = reload(p, s, &still)) < 0)
                    return error;
                if (found && !still)
                    return 0;
                continue; /* a PATCH/DELETE of later edits, or the POST */
            }
        } else {
            if (first && first->op == op) {
                r = first->r; /* the response is ours now */
                memset(&first->r, 0, sizeof(first->r));
                verdict = wb_push__classify(op, first->rc, &r);
                first = NULL;
            } else if ((error = send_op(s, p, op, &r, &verdict)) < 0) {
                return error;
            }
            if (op == WB_PUSH_CREATE && verdict == WB_VERDICT_RETRY && r.status == 0 && r.sent) {
                v.unknown_outcome = 1;
                v.timed_out = r.timed_out;
            } else if (op == WB_PUSH_CREATE && verdict != WB_VERDICT_OK &&
                       (r.status != 0 || !r.sent) &&
                       (error = wb_syncstore__mark_create_attempt(s->store, p->local_id, 0)) <
                           0) {
                /* Answered (or never sent): nothing is in flight, no settle
                 * time. */
                wb_sync__response_free(s, &r);
                return error;
            }
        }
        switch (verdict) {
        case WB_VERDICT_OK:
            if (op == WB_PUSH_DELETE) {
                error = wb_syncstore__ack_delete(s->store, p->local_id, p->version);
                s->report.deleted++;
                break;
            }
            if ((error = wb_polis__parse_envelope(&env, r.body, r.body_len)) < 0) {
                /* A 2xx with an unreadable body (truncated, garbage): the
                 * write happened; a create is looked up, an update fetched
                 * by the pull. */
                error = 0;
                if (op == WB_PUSH_CREATE)
                    v.unknown_outcome = 1;
                if ((error = after_failure(s, p, &v, &r, &stop)) < 0 || stop)
                    break;
                wb_sync__response_free(s, &r);
                continue;
            }
            {
                /* The server files records under the token's customer: one
                 * that is not this store's means a token of another
                 * customer. Stop before sending it anything more. */
                const cJSON *cust = wb_json__get(env, "customerId");
                if (cJSON_IsString(cust) && strcmp(cust->valuestring, s->store->customer_id)) {
                    error = wb_error__set(WB_EAUTH, WB_ERRCLASS_SYNC,
                                          "the token belongs to another customer than the "
                                          "store's (the server filed the record under %s)",
                                          cust->valuestring);
                    cJSON_Delete(env);
                    break;
                }
            }
            error = wb_syncstore__ack_write(s->store, p->local_id, p->version, env);
            cJSON_Delete(env);
            if (op == WB_PUSH_CREATE)
                s->report.created++;
            else
                s->report.updated++;
            break;
        case WB_VERDICT_GONE:
            if (op == WB_PUSH_DELETE) {
                error = wb_syncstore__ack_delete(s->store, p->local_id, p->version);
                s->report.deleted++;
                break;
            }
            wb_sync__response_free(s, &r);
            if ((error = remote_deleted(s, p, &r, &verdict)) < 0)
                break;
            if (verdict == WB_VERDICT_AUTH)
                error = WB_EAUTH;
            else if (verdict == WB_VERDICT_CANCEL)
                error = wb_sync__cancel_error();
            else if (verdict == WB_VERDICT_RETRY &&
                     (error = after_failure(s, p, &v, &r, &stop)) >= 0 && !stop) {
                wb_sync__response_free(s, &r);
                continue;
            }
            break;
        case WB_VERDICT_REJECT: {
            char msg[256];
            wb_polis__message(msg, sizeof(msg), &r);
            error = wb_syncstore__reject(s->store, p->local_id, p->version, msg);
            s->report.rejected++;
            break;
        }
        case WB_VERDICT_CONCURRENCY:
            if (v.concurrency) {
                /* Changed again under us: leave it for a later run. */
                s->report.deferred++;
                error = wb_syncstore__defer(s->store, p->local_id, wb_sync__now(s) + 1000);
                break;
            }
            v.concurrency = 1;
            wb_sync__response_free(s, &r);
            error = fetch_and_merge(s, p, &r, &verdict);
            if (error >= 0 && verdict == WB_VERDICT_RETRY)
                error = after_failure(s, p, &v, &r, &stop);
            wb_sync__response_free(s, &r);
            if (error < 0)
                return error;
            if (verdict == WB_VERDICT_AUTH)
                return WB_EAUTH;
            if (verdict == WB_VERDICT_CANCEL)
                return wb_sync__cancel_error();
            if (verdict == WB_VERDICT_REJECT || stop)
                return 0;
            if ((error = reload(p, s, &still)) < 0 || !still)
                return error;
            continue;
        case WB_VERDICT_RETRY:
            if ((error = after_failure(s, p, &v, &r, &stop)) < 0)
                break;
            if (stop) {
                /* A server that cannot even be reached fails every record:
                 * end the run instead of waiting once per record. */
                if (r.status == 0 && !r.sent)
                    error = wb_error__set(WB_EOFFLINE, WB_ERRCLASS_NET,
                                          "server unreachable after %d attempts", v.attempts);
                break;
            }
            wb_sync__response_free(s, &r);
            continue;
        case WB_VERDICT_AUTH:
            error = WB_EAUTH;
            break;
        default:
            error = wb_sync__cancel_error();
            break;
        }
        wb_sync__response_free(s, &r);
        return error;
    }
    wb_sync__response_free(s, &r);
    return wb_syncstore__defer(s->store, p->local_id, wb_sync__now(s) + 1000);
}

/* ---- groups and parallel connections -------------------------------------- */

/*
 * A run takes pending records in groups of WB_PUSH_GROUP. The creates of a
 * group are marked attempted in one transaction before any of them is
 * sent; then the first request of each record is sent, and the plain 2xx
 * answers are acknowledged in transactions of several answers each (see
 * WB_PUSH_ACKS), each short (the app writes on its own handle meanwhile).
 * The first answer that is not a plain 2xx (a failure, a 401, a 412, a
 * lost response, a record filed under another customer) stops the
 * sending: that record and the rest of its group (and of the group read
 * ahead, below) go on one by one through push_one, as before. A run
 * killed between the mark and the acknowledgements leaves creates of the
 * group marked: the next run looks each one up before posting it again
 * (reconcile), so none is created twice. Creates never handed to a
 * transport (the run was cancelled first) are unmarked.
 *
 * Connections: with the libcurl transport the requests are sent by
 * wb_sync_options.parallel sender threads (one by default), each with an
 * easy handle and so a connection of its own, while the run's thread
 * reads the answers and writes the store. The run's thread keeps the
 * senders busy: while a group's requests are out it reads and marks the
 * next group (queued behind them, so a sender goes on to it without a
 * pause) and writes the acknowledgements that came, so the store work
 * overlaps the round trips instead of following them (walkbook-sync-bench,
 * README "Push"). The group read ahead leaves out the records of the group
 * in flight (an edit made meanwhile moves a record behind the cursor): the
 * pass over what is left at the end picks them up, when nothing is in
 * flight. Threads rather than a libcurl multi handle, because sending is
 * the engine's transport hook (a blocking wb_transport.send): the same
 * code serves a platform transport, and the senders run nothing but
 * wb_sync__send_once, which reads the token and the options only.
 * Everything that touches the store, the report and the callbacks stays
 * on the run's thread; push_one (which may ask for a new token) only runs
 * while no sender is busy. A record is in one group at a time and its next
 * request is only built after its previous one was answered, so its
 * create, updates and delete never overlap or reorder. A caller's
 * transport may not be safe on other threads: its requests are sent on
 * the run's thread, one at a time, one group after the other.
 */
#define WB_PUSH_GROUP 64
/* Acknowledgements are written when this many came (a group's worth), or
 * what came within WB_PUSH_ACK_MS: a commit writes each page it touched
 * whole, so fewer and larger ones cost less (16 a commit ran slower). */
#define WB_PUSH_ACKS 64
#define WB_PUSH_ACK_MS 50
/* The run's thread is woken per this many answers: reading and marking
 * the group ahead still ends long before the senders reach it, and on a
 * two-core device each wake-up takes a share of a core from the sender or
 * the server (8 ran 4-13 % slower, walkbook-sync-bench). */
#define WB_PUSH_WAKE 32
#define WB_PUSH_PARALLEL_MAX 16

/* The answers of one group being read on the run's thread. */
typedef struct push_acks {
    wb_syncstore_ack *acks;
    size_t *which; /* job index of each ack */
    cJSON **envs;  /* per job */
    wb_syncstore_echo *echoes; /* per job */
    unsigned char *acked;
    size_t n;
    int64_t since; /* when the oldest unwritten one came */
} push_acks;

/* One group on its way: its records, their first requests, the answers. */
typedef struct push_grp {
    wb_pending *list; /* owned */
    size_t n;
    push_job *jobs;
    size_t n_jobs, n_taken; /* answers read */
    const char **ids;
    push_acks a;
    int64_t send_until; /* no first request leaves after this */
} push_grp;

typedef struct push_worker {
    struct push_pool *pool;
    pthread_t thread;
    wb_transport transport;
    void *ctx;
    int started;
} push_worker;

/* The senders and the first requests they take, in order: those of the
 * group in flight, then those of the group read ahead. */
typedef struct push_pool {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    push_job **queue;
    size_t n_queued, limit, next, busy; /* jobs before `limit` may leave */
    push_job **finished; /* in the order they came back */
    size_t n_finished, seen; /* `seen`: read by the run's thread */
    int halt, quit;
    wb_sync *s;
    push_worker *workers;
    size_t n_workers;
} push_pool;

static void job_send(wb_sync *s, const wb_transport *t, push_job *j)
{
    j->rc = wb_sync__send_once(s, t, &j->counts, &j->r, j->method, j->url.ptr, j->body.ptr,
                               j->body.len, etag_of(j->p, j->op));
    j->handed = 1;
}

static void *worker_main(void *arg)
{
    push_worker *w = arg;
    push_pool *pool = w->pool;
    pthread_mutex_lock(&pool->mu);
    for (;;) {
        push_job *j;
        while (!pool->quit &&
               (pool->halt || pool->next >= pool->limit || wb_sync__cancelled(pool->s)))
            pthread_cond_wait(&pool->wake, &pool->mu);
        if (pool->quit)
            break;
        j = pool->queue[pool->next++];
        pool->busy++;
        pthread_mutex_unlock(&pool->mu);
        job_send(pool->s, &w->transport, j);
        pthread_mutex_lock(&pool->mu);
        pool->busy--;
        pool->finished[pool->n_finished++] = j;
        /* Wake the run's thread for a batch of answers, not for each: on a
         * two-core device each wake-up costs the sender and the server a
         * share of a core. At once when it must act. */
        if (pool->n_finished - pool->seen >= WB_PUSH_WAKE || j->rc != 0 || j->r.status < 200 ||
            j->r.status >= 300 || pool->next >= pool->limit || pool->halt)
            pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

static void pool_free(push_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->mu);
    pool->quit = 1;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
    for (size_t i = 0; i < pool->n_workers; i++) {
        if (pool->workers[i].started)
            pthread_join(pool->workers[i].thread, NULL);
        wb_transport_curl__free(pool->workers[i].ctx);
    }
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    pthread_mutex_destroy(&pool->mu);
    wb__free(pool->workers);
    wb__free(pool->queue);
    wb__free(pool->finished);
    wb__free(pool);
}

/* The sender threads: NULL when the caller's transport is used. */
static int pool_new(push_pool **out, wb_sync *s)
{
    unsigned n = s->opts.parallel == 0                    ? 1
                 : s->opts.parallel > WB_PUSH_PARALLEL_MAX ? WB_PUSH_PARALLEL_MAX
                                                           : s->opts.parallel;
    push_pool *pool;
    int error = 0;
    *out = NULL;
    if (!s->curl)
        return 0;
    if (!(pool = wb__calloc(1, sizeof(*pool))))
        return wb_error__oom();
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    pool->s = s;
    if (!(pool->workers = wb__calloc(n, sizeof(*pool->workers))) ||
        !(pool->queue = wb__calloc(2 * WB_PUSH_GROUP, sizeof(*pool->queue))) ||
        !(pool->finished = wb__calloc(2 * WB_PUSH_GROUP, sizeof(*pool->finished)))) {
        pool_free(pool);
        return wb_error__oom();
    }
    pool->n_workers = n;
    for (size_t i = 0; i < n && error >= 0; i++) {
        push_worker *w = &pool->workers[i];
        w->pool = pool;
        if ((error = wb_transport_curl__new(&w->transport, &w->ctx, s)) < 0)
            break;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            error = wb_error__set(WB_ERROR, WB_ERRCLASS_SYNC, "sync: cannot start a push thread");
        else
            w->started = 1;
    }
    if (error < 0) {
        pool_free(pool);
        return error;
    }
    *out = pool;
    return 0;
}

/* Queue the first requests of g behind what is queued; `probe`: the first
 * of them leaves alone (a token of another customer or a refused token
 * shows there). Under pool->mu. */
static void pool_enqueue(push_pool *pool, push_grp *g, int probe)
{
    int open = pool->limit == pool->n_queued;
    for (size_t k = 0; k < g->n_jobs; k++)
        pool->queue[pool->n_queued++] = &g->jobs[k];
    if (probe && g->n_jobs > 0)
        pool->limit = pool->next + 1;
    else if (open)
        pool->limit = pool->n_queued;
    pthread_cond_broadcast(&pool->wake);
}

/* Forget the jobs of a group whose answers were all read (the first
 * `count` queued). Under pool->mu. */
static void pool_drop(push_pool *pool, size_t count)
{
    size_t left = pool->n_finished - pool->seen;
    memmove(pool->queue, pool->queue + count, (pool->n_queued - count) * sizeof(*pool->queue));
    pool->n_queued -= count;
    pool->next -= count;
    pool->limit -= count;
    memmove(pool->finished, pool->finished + pool->seen, left * sizeof(*pool->finished));
    pool->n_finished = left;
    pool->seen = 0;
}

/* Write the acknowledgements collected so far, then report their progress. */
static int flush_acks(wb_sync *s, push_grp *g, uint64_t *done, uint64_t total)
{
    push_acks *a = &g->a;
    int error;
    if (a->n == 0)
        return 0;
    if ((error = wb_syncstore__ack_group(s->store, a->acks, a->n)) < 0)
        return error;
    for (size_t i = 0; i < a->n; i++) {
        size_t k = a->which[i];
        if (g->jobs[k].op == WB_PUSH_CREATE)
            s->report.created++;
        else if (g->jobs[k].op == WB_PUSH_UPDATE)
            s->report.updated++;
        else
            s->report.deleted++;
        a->acked[k] = 1;
        (*done)++;
        wb_sync__progress(s, 1, *done, total > *done ? total : *done);
    }
    a->n = 0;
    return 0;
}

/* One answer: 1 when it is a plain 2xx (queued for acknowledgement), 0
 * when push_one must handle it. */
static int take_answer(wb_sync *s, push_job *j)
{
    push_grp *g = j->g;
    push_acks *a = &g->a;
    size_t k = (size_t)(j - g->jobs);
    const wb_syncstore_echo *echo = NULL;
    const cJSON *cust;
    g->n_taken++;
    s->report.requests += j->counts.requests;
    s->report.bytes_sent += j->counts.bytes_sent;
    s->report.bytes_received += j->counts.bytes_received;
    if (wb_push__classify(j->op, j->rc, &j->r) != WB_VERDICT_OK)
        return 0;
    if (j->op != WB_PUSH_DELETE &&
        wb_polis__read_echo(&a->echoes[k], j->r.body, j->r.body_len, j->p->data)) {
        /* The server stored the data as sent (the usual answer): what the
         * acknowledgement needs is read from the text, no tree built. */
        echo = &a->echoes[k];
        if (echo->customer && strcmp(echo->customer, s->store->customer_id))
            return 0; /* push_one stops the run */
    } else if (j->op != WB_PUSH_DELETE) {
        if (wb_polis__parse_envelope(&a->envs[k], j->r.body, j->r.body_len) < 0) {
            wb_error_clear(); /* push_one handles the unreadable body */
            return 0;
        }
        cust = wb_json__get(a->envs[k], "customerId");
        if (cJSON_IsString(cust) && strcmp(cust->valuestring, s->store->customer_id))
            return 0; /* push_one stops the run */
    }
    if (a->n == 0)
        a->since = wb_sync__now(s);
    a->acks[a->n] = (wb_syncstore_ack){j->p->local_id, j->p->version, a->envs[k],
                                       j->op == WB_PUSH_DELETE ? NULL : j->p->data, echo,
                                       j->p->campaign_id, j->p->ts};
    a->which[a->n++] = k;
    return 1;
}

/* 1 when the collected acknowledgements are due to be written. */
static int acks_due(wb_sync *s, const push_acks *a)
{
    return a->n >= WB_PUSH_ACKS || (a->n > 0 && wb_sync__now(s) - a->since >= WB_PUSH_ACK_MS);
}

/* Build the first requests of the records of list (taken over, also on
 * failure) and mark its creates attempted. */
static int grp_prepare(wb_sync *s, push_grp *g, wb_pending *list, size_t n)
{
    size_t n_ids = 0;
    int64_t now;
    int error;

    memset(g, 0, sizeof(*g));
    g->list = list;
    g->n = n;
    g->jobs = wb__calloc(n, sizeof(*g->jobs));
    g->ids = wb__calloc(n, sizeof(*g->ids));
    g->a = (push_acks){wb__calloc(n, sizeof(*g->a.acks)), wb__calloc(n, sizeof(*g->a.which)),
                       wb__calloc(n, sizeof(*g->a.envs)), wb__malloc(n * sizeof(*g->a.echoes)),
                       wb__calloc(n, 1), 0, 0};
    if (!g->jobs || !g->ids || !g->a.acks || !g->a.which || !g->a.envs || !g->a.echoes ||
        !g->a.acked)
        return wb_error__oom();
    for (size_t i = 0; i < n; i++) {
        wb_push_op op = wb_push__plan(&list[i], list[i].create_attempted);
        push_job *j;
        if (op != WB_PUSH_CREATE && op != WB_PUSH_UPDATE && op != WB_PUSH_DELETE)
            continue; /* a lookup or a local acknowledgement: push_one */
        j = &g->jobs[g->n_jobs++];
        j->p = &list[i];
        j->op = op;
        j->g = g;
        j->token_gen = s->token_gen;
        if ((error = build_request(s, j->p, op, &j->url, &j->body, &j->method)) < 0)
            return error;
        if (op == WB_PUSH_CREATE)
            g->ids[n_ids++] = j->p->local_id;
    }
    /* Durable before any request leaves (see send_op). The settle time
     * must follow the last request of the group, not the mark: the group's
     * first requests leave only within one settle time of the mark, and the
     * mark gives them two more. What is left unsent then goes one by one,
     * each marked as it leaves. */
    now = wb_sync__now(s);
    g->send_until = now + settle_ms(s);
    return wb_syncstore__mark_create_attempts(s->store, g->ids, n_ids, now + 3 * settle_ms(s));
}

/* The end of a group: write the acknowledgements left, go on one by one
 * with the records not acknowledged, clean up, free. `error` < 0: the run
 * stops (cleanup only), returned. *probe: push_one ran (the token may have
 * changed). Senders must be idle unless every record was acknowledged. */
static int grp_finish(wb_sync *s, push_grp *g, int error, uint64_t *done, uint64_t total,
                      int *probe)
{
    push_job *jobs = g->jobs;
    size_t n_ids = 0;

    if (error >= 0)
        error = flush_acks(s, g, done, total);
    /* The rest, one by one, in the group's order. */
    for (size_t i = 0, k = 0; jobs && i < g->n && error >= 0 && !wb_sync__cancelled(s); i++) {
        push_job *first = NULL;
        while (k < g->n_jobs && jobs[k].p < &g->list[i])
            k++;
        if (k < g->n_jobs && jobs[k].p == &g->list[i]) {
            if (g->a.acked[k])
                continue;
            jobs[k].visited = 1;
            if (jobs[k].handed)
                first = &jobs[k];
            if (first && first->rc == 0 && first->r.status == 401) {
                /* As wb_sync__send does: a new token once per run (asked on
                 * this thread), and the request again; else stop. */
                wb_sync__response_free(s, &first->r);
                if (jobs[k].token_gen == s->token_gen &&
                    (error = wb_sync__token_refused(s)) < 0) {
                    jobs[k].visited = 0; /* left answered: see below */
                    break;
                }
                first = NULL;
            }
        }
        *probe = 1; /* the token may have changed: probe the next group */
        if ((error = push_one(s, &g->list[i], first)) >= 0) {
            (*done)++;
            wb_sync__progress(s, 1, *done, total > *done ? total : *done);
        }
    }
    if (error >= 0 && wb_sync__cancelled(s))
        error = wb_sync__cancel_error();
    /* Creates marked but never handed to a transport (the run stopped
     * first) need no lookup: unmarked. push_one marks again what it sends. */
    for (size_t k = 0; jobs && g->ids && k < g->n_jobs; k++)
        if (!jobs[k].handed && !jobs[k].visited && jobs[k].op == WB_PUSH_CREATE)
            g->ids[n_ids++] = jobs[k].p->local_id;
    if (jobs && g->ids) {
        wb_error_saved saved;
        int uerr = 0;
        wb_error__save(&saved);
        uerr = wb_syncstore__unmark_create_attempts(s->store, g->ids, n_ids);
        /* Answered but left (the run stopped): nothing is in flight, due
         * again at once, looked up first as push_one leaves them. */
        for (size_t k = 0; k < g->n_jobs && uerr >= 0; k++)
            if (jobs[k].handed && !jobs[k].visited && !g->a.acked[k] &&
                jobs[k].op == WB_PUSH_CREATE && jobs[k].rc == 0 && jobs[k].r.status != 0)
                uerr = wb_syncstore__mark_create_attempt(s->store, jobs[k].p->local_id, 0);
        if (uerr < 0 && error >= 0)
            error = uerr;
        else
            wb_error__restore(&saved);
    }
    for (size_t k = 0; jobs && k < g->n_jobs; k++) {
        wb_sync__response_free(s, &jobs[k].r);
        wb_buf__free(&jobs[k].url);
        wb_buf__free(&jobs[k].body);
        cJSON_Delete(g->a.envs ? g->a.envs[k] : NULL);
    }
    wb__free(jobs);
    wb__free(g->ids);
    wb__free(g->a.acks);
    wb__free(g->a.which);
    wb__free(g->a.envs);
    wb__free(g->a.echoes);
    wb__free(g->a.acked);
    wb_syncstore__pending_free(g->list, g->n);
    memset(g, 0, sizeof(*g));
    return error;
}

/* Where the run is in the pending records. */
typedef struct push_reader {
    int64_t started;
    wb_pending cursor;
    int have_cursor, restarted;
    uint64_t visits, total;
} push_reader;

/* The next group's records (*n 0: none left). Due at the start of the run:
 * records deferred in this run are not picked up again. Groups follow a
 * cursor on the modified index until one comes short (the rest of that
 * index is what the run acknowledged); one pass from the start over the
 * records left then picks up what is still pending behind the cursor.
 * That pass may meet the records of a group in flight: `may_restart` 0
 * (reading ahead) stops before it. */
static int next_list(wb_sync *s, push_reader *rd, wb_pending **list, size_t *n, int may_restart)
{
    int error;
    *list = NULL;
    *n = 0;
    /* Every visit ends acknowledged, refused, deferred or edited again;
     * the bound only guards against an app editing without pause. */
    if (rd->visits > 4 * rd->total + 1024)
        return 0;
    for (;;) {
        if (rd->restarted && !may_restart)
            return 0;
        if ((error = rd->restarted
                         ? wb_syncstore__pending_left(list, n, s->store, rd->started,
                                                      WB_PUSH_GROUP,
                                                      rd->have_cursor ? &rd->cursor : NULL)
                         : wb_syncstore__pending_after(list, n, s->store, rd->started,
                                                       WB_PUSH_GROUP,
                                                       rd->have_cursor ? &rd->cursor : NULL)) < 0)
            return error;
        if (*n == 0) {
            wb_syncstore__pending_free(*list, 0);
            *list = NULL;
            if (rd->have_cursor && !rd->restarted) {
                rd->have_cursor = 0;
                rd->restarted = 1;
                continue;
            }
            return 0;
        }
        memcpy(rd->cursor.modified, (*list)[*n - 1].modified, sizeof(rd->cursor.modified));
        memcpy(rd->cursor.local_id, (*list)[*n - 1].local_id, sizeof(rd->cursor.local_id));
        rd->have_cursor = 1;
        if (!rd->restarted && *n < WB_PUSH_GROUP) {
            rd->have_cursor = 0;
            rd->restarted = 1;
        }
        rd->visits += *n;
        return 0;
    }
}

/* One group with the caller's transport: the first requests one after the
 * other on the run's thread, until all are sent or one is not plain. */
static int push_serial(wb_sync *s, wb_pending *list, size_t n, uint64_t *done, uint64_t total)
{
    push_grp g;
    int error, probe = 0;

    if ((error = grp_prepare(s, &g, list, n)) >= 0) {
        for (size_t k = 0; k < g.n_jobs && error >= 0 && !wb_sync__cancelled(s); k++) {
            if (wb_sync__now(s) > g.send_until)
                break; /* the rest one by one, each marked as it leaves */
            job_send(s, &s->transport, &g.jobs[k]);
            if (!take_answer(s, &g.jobs[k]))
                break;
            if (acks_due(s, &g.a))
                error = flush_acks(s, &g, done, total);
        }
    }
    return grp_finish(s, &g, error, done, total, &probe);
}

/* Read the answers that came back (under pool->mu, released while one is
 * read), writing acknowledgements when a group holds many; an answer that
 * is not plain halts the senders. */
static int pool_take(wb_sync *s, push_pool *pool, uint64_t *done, uint64_t total)
{
    int error = 0;
    while (pool->seen < pool->n_finished) {
        push_job *j = pool->finished[pool->seen++];
        int plain;
        pthread_mutex_unlock(&pool->mu);
        plain = take_answer(s, j);
        if (plain && acks_due(s, &j->g->a))
            error = flush_acks(s, j->g, done, total);
        pthread_mutex_lock(&pool->mu);
        if (!plain || error < 0) {
            pool->halt = 1; /* nothing more leaves */
        } else if (pool->limit < pool->n_queued && pool->limit == pool->next) {
            pool->limit = pool->n_queued; /* the probe went through */
            pthread_cond_broadcast(&pool->wake);
        }
        if (error < 0)
            return error;
    }
    return 0;
}

/* Wait for an answer, at most 5 ms. Under pool->mu. */
static void pool_wait(push_pool *pool)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 5 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&pool->done, &pool->mu, &ts);
}

/* Halt the senders and read every answer of what they had taken. Under
 * pool->mu; afterwards no sender is busy until the queue is reset. */
static void pool_drain(wb_sync *s, push_pool *pool)
{
    pool->halt = 1;
    while (pool->busy > 0 || pool->seen < pool->n_finished) {
        if (pool->seen < pool->n_finished) {
            push_job *j = pool->finished[pool->seen++];
            pthread_mutex_unlock(&pool->mu);
            take_answer(s, j);
            pthread_mutex_lock(&pool->mu);
            continue;
        }
        pool_wait(pool);
    }
}

/* Forget every queued job; the senders wait for the next group. Under
 * pool->mu, the senders idle. */
static void pool_reset(push_pool *pool)
{
    pool->n_queued = pool->limit = pool->next = 0;
    pool->n_finished = pool->seen = 0;
    pool->halt = 0;
}

/* Leave out of list the records of g (edited while in flight). */
static void drop_in_flight(wb_pending *list, size_t *n, const push_grp *g)
{
    size_t kept = 0;
    for (size_t i = 0; i < *n; i++) {
        int in = 0;
        for (size_t j = 0; j < g->n && !in; j++)
            in = strcmp(list[i].local_id, g->list[j].local_id) == 0;
        if (in) {
            wb__free(list[i].data);
            wb__free(list[i].base);
            wb__free(list[i].base_etag);
        } else {
            list[kept++] = list[i];
        }
    }
    *n = kept;
}

/* The run with sender threads: the group in flight (cur) and the one read
 * ahead behind it (ahead). */
static int push_pipeline(wb_sync *s, push_pool *pool, push_reader *rd, uint64_t *done,
                         uint64_t total)
{
    push_grp slots[2], *cur = NULL, *ahead = NULL;
    int error = 0, probe = 1;

    memset(slots, 0, sizeof(slots));
    for (;;) {
        int halted;
        if (!cur) {
            wb_pending *list;
            size_t n;
            if ((error = next_list(s, rd, &list, &n, 1)) < 0 || n == 0)
                break;
            cur = &slots[0];
            if ((error = grp_prepare(s, cur, list, n)) < 0) {
                error = grp_finish(s, cur, error, done, total, &probe);
                break;
            }
            pthread_mutex_lock(&pool->mu);
            pool_reset(pool);
            pool_enqueue(pool, cur, probe);
            pthread_mutex_unlock(&pool->mu);
            probe = 0;
        }
        pthread_mutex_lock(&pool->mu);
        for (;;) {
            if ((error = pool_take(s, pool, done, total)) < 0)
                break;
            if (pool->halt || wb_sync__cancelled(s)) {
                if (pool->busy == 0 && pool->seen == pool->n_finished)
                    break;
            } else if (cur->n_taken == cur->n_jobs) {
                break; /* cur answered; ahead's requests keep the senders busy */
            }
            if (!pool->halt && pool->next < pool->n_queued &&
                wb_sync__now(s) > pool->queue[pool->next]->g->send_until)
                pool->halt = 1; /* the rest one by one, each marked as it leaves */
            if (!pool->halt && !ahead && cur->n == WB_PUSH_GROUP && !rd->restarted &&
                pool->limit == pool->n_queued) {
                /* Read and mark the next group while cur is out. */
                wb_pending *list;
                size_t n;
                pthread_mutex_unlock(&pool->mu);
                if ((error = next_list(s, rd, &list, &n, 0)) >= 0 && n > 0) {
                    drop_in_flight(list, &n, cur);
                    if (n == 0) {
                        wb_syncstore__pending_free(list, 0);
                    } else {
                        ahead = cur == &slots[0] ? &slots[1] : &slots[0];
                        error = grp_prepare(s, ahead, list, n);
                    }
                }
                pthread_mutex_lock(&pool->mu);
                if (error < 0) {
                    pool->halt = 1;
                    break;
                }
                if (ahead)
                    pool_enqueue(pool, ahead, 0);
                continue;
            }
            if (acks_due(s, &cur->a) || (ahead && acks_due(s, &ahead->a))) {
                pthread_mutex_unlock(&pool->mu);
                error = flush_acks(s, cur, done, total);
                if (error >= 0 && ahead)
                    error = flush_acks(s, ahead, done, total);
                pthread_mutex_lock(&pool->mu);
                if (error < 0) {
                    pool->halt = 1;
                    break;
                }
                continue;
            }
            pool_wait(pool);
        }
        halted = pool->halt || error < 0 || wb_sync__cancelled(s) || cur->n_jobs < cur->n;
        if (!halted) {
            /* Everything of cur was plain: its last acknowledgements are
             * written while the senders go on with ahead's requests. */
            pool_drop(pool, cur->n_jobs);
            pthread_mutex_unlock(&pool->mu);
            if ((error = grp_finish(s, cur, 0, done, total, &probe)) >= 0) {
                cur = ahead;
                ahead = NULL;
                continue;
            }
            cur = NULL;
            pthread_mutex_lock(&pool->mu);
        }
        /* Stopped, or records of cur need push_one: nothing may be in flight
         * (push_one may change the token); cur and ahead go on one by one. */
        pool_drain(s, pool);
        pool_reset(pool);
        pthread_mutex_unlock(&pool->mu);
        if (cur)
            error = grp_finish(s, cur, error, done, total, &probe);
        if (ahead)
            error = grp_finish(s, ahead, error, done, total, &probe);
        cur = ahead = NULL;
        probe = 1;
        if (error < 0)
            break;
    }
    return error;
}

int wb_push__run(wb_sync *s)
{
    uint64_t done = 0;
    push_reader rd;
    push_pool *pool = NULL;
    wb_query q = WB_QUERY_INIT;
    int error = 0;

    memset(&rd, 0, sizeof(rd));
    rd.started = wb_sync__now(s);
    q.states = WB_STATE_PENDING;
    q.deleted = WB_DELETED_INCLUDE;
    if ((error = wb_interaction_count(&rd.total, s->store, &q)) < 0 ||
        (error = wb_syncstore__sweep_marks(s->store)) < 0)
        return error;
    wb_sync__progress(s, 1, 0, rd.total);
    if (rd.total > 0 && (error = pool_new(&pool, s)) < 0)
        return error;
    if (pool) {
        error = push_pipeline(s, pool, &rd, &done, rd.total);
        pool_free(pool);
        return error;
    }
    for (;;) {
        wb_pending *list = NULL;
        size_t n = 0;
        if ((error = next_list(s, &rd, &list, &n, 1)) < 0 || n == 0)
            break;
        if ((error = push_serial(s, list, n, &done, rd.total)) < 0)
            break;
    }
    return error;
}
