/*
 * push.c - sending local changes (DESIGN.md "Sync contract"): for each
 * pending record, which request; for each response, what the store
 * records. Creates are exactly once: the attempt is committed before the
 * POST, and a create whose outcome is unknown is looked up on the server
 * (and adopted) before it is ever posted again.
 */
#include <string.h>

#include <sodium.h>

#include "sync_int.h"
#include "timeutil.h"

#define WB_PUSH_BATCH 64

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

/* Build and send the request of op; *verdict_out as classified. */
static int send_op(wb_sync *s, const wb_pending *p, wb_push_op op, wb_http_response *r,
                   int *verdict_out, int *nothing_to_send)
{
    wb_buf url = WB_BUF_INIT, body = WB_BUF_INIT;
    const char *method = "POST";
    size_t n_ops = 0;
    int rc, error = 0;

    *nothing_to_send = 0;
    memset(r, 0, sizeof(*r));
    if (op == WB_PUSH_CREATE) {
        if ((error = wb_polis__collection_url(&url, s->base_url, s->opts.api)) < 0 ||
            (error = wb_polis__create_body(&body, s->opts.api, p->local_id, p->data)) < 0 ||
            (s->opts.send_signatures &&
             (error = wb_polis__sign_create(&body, s, p->local_id, p->data)) < 0))
            goto cleanup;
        /* Durable before the request leaves: a crash from here on makes the
         * next run look for the record before posting it again, and not
         * before the server is surely done with this request (settle_ms). */
        if ((error = wb_syncstore__mark_create_attempt(s->store, p->local_id,
                                                       wb_sync__now(s) + settle_ms(s))) < 0)
            goto cleanup;
    } else {
        if ((error = wb_polis__record_url(&url, s->base_url, s->opts.api, p->server_id)) < 0)
            goto cleanup;
        if (op == WB_PUSH_UPDATE) {
            method = "PATCH";
            if ((error = wb_polis__patch_body(&body, &n_ops, p->base ? p->base : "{}", p->data,
                                              s->opts.patch_paths == WB_PATCH_PATHS_DATA)) <
                0)
                goto cleanup;
        } else {
            method = "DELETE";
        }
    }
    rc = wb_sync__send(s, r, method, url.ptr, body.ptr, body.len,
                       op == WB_PUSH_CREATE ? NULL : (p->base_etag ? p->base_etag : ""));
    *verdict_out = wb_push__classify(op, rc, r);
    (void)n_ops;
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

/* Push one record until it is acknowledged, refused, deferred, or the run
 * stops. Returns < 0 only for errors that stop the run. */
static int push_one(wb_sync *s, wb_pending *p)
{
    push_visit v = {0, p->create_attempted, 0, 0};
    wb_http_response r;
    int error = 0;

    for (int guard = 0; guard < 64; guard++) {
        wb_push_op op = wb_push__plan(p, v.unknown_outcome);
        int verdict = WB_VERDICT_OK, nothing = 0, stop = 0, found = 0, still = 0;
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
            if ((error = send_op(s, p, op, &r, &verdict, &nothing)) < 0)
                return error;
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

int wb_push__run(wb_sync *s)
{
    int64_t started = wb_sync__now(s);
    uint64_t done = 0, total = 0, visits = 0;
    wb_query q = WB_QUERY_INIT;
    wb_pending cursor;
    int error = 0, have_cursor = 0, restarted = 0;

    memset(&cursor, 0, sizeof(cursor));
    q.states = WB_STATE_PENDING;
    q.deleted = WB_DELETED_INCLUDE;
    if ((error = wb_interaction_count(&total, s->store, &q)) < 0)
        return error;
    wb_sync__progress(s, 1, 0, total);
    for (;;) {
        wb_pending *list = NULL;
        size_t n = 0;
        /* Due at the start of the run: records deferred in this run are not
         * picked up again. Batches follow a cursor; one pass from the start
         * at the end picks up what is still pending behind it. */
        if ((error = wb_syncstore__pending_after(&list, &n, s->store, started, WB_PUSH_BATCH,
                                                 have_cursor ? &cursor : NULL)) < 0)
            return error;
        if (n == 0) {
            wb_syncstore__pending_free(list, n);
            if (have_cursor && !restarted) {
                have_cursor = 0;
                restarted = 1;
                continue;
            }
            break;
        }
        memcpy(cursor.modified, list[n - 1].modified, sizeof(cursor.modified));
        memcpy(cursor.local_id, list[n - 1].local_id, sizeof(cursor.local_id));
        have_cursor = 1;
        for (size_t i = 0; i < n && error >= 0; i++) {
            if ((error = push_one(s, &list[i])) >= 0) {
                done++;
                wb_sync__progress(s, 1, done, total > done ? total : done);
            }
        }
        wb_syncstore__pending_free(list, n);
        /* Every visit ends acknowledged, refused, deferred or edited again;
         * the bound only guards against an app editing without pause. */
        visits += n;
        if (error < 0 || visits > 4 * total + 1024)
            break;
    }
    return error;
}
