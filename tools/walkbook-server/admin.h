/*
 * admin.h - the /__admin/ routes of walkbook-server, for tests and demos
 * only, registered when the server runs with --admin TOKEN. Every route
 * wants the header `X-Admin-Token: TOKEN`: 401 without it, 403 with
 * another value. Without --admin the routes do not exist (404).
 *
 *   GET    /__admin/faults         the fault rules with counters (faults.h)
 *   PUT    /__admin/faults         replace the rules (POST too); 400 naming
 *                                  the rule and field
 *   DELETE /__admin/faults         no rules
 *   POST   /__admin/interactions/{id}/edit
 *          body {"user":"<uuid>", "data":[RFC 6902 ops]} and/or
 *          "delete":true; the user may come from an `X-Wbs-User` header
 *          instead (default ad000000-0000-4000-8000-000000000000). The
 *          patch follows the PATCH route's rules (paths relative to data or
 *          under /data/, atomic, validated); the record of whatever
 *          customer gets a new etag, meta.modified and meta.modifiedBy =
 *          user, so a client holding the old etag meets 412: a conflict
 *          made on purpose. 200 + envelope; 400; 404 unknown or deleted.
 *   GET    /__admin/dump[?data=false]
 *          {"records":N,"live":L,"duplicates":[[id,id,…],…],"data":[…]}:
 *          every interaction of every customer (deleted ones too), and
 *          the groups of live records sharing (customerId, data.contactId,
 *          data.campaignId, data.timestamp, meta.createdBy) - records a
 *          sync engine created twice, oldest first in each group (by
 *          meta.created, then id).
 *   POST   /__admin/tokens/expire  body {"token":"…"}: that token (static,
 *          issued or refresh) is refused from now on (G15). 200; 404 when
 *          no live token has that value. The token travels in the body,
 *          not the path, so that the request log never shows it.
 *
 * With --bench-routes, wbs_admin_bench_routes adds GET /__bench/ping
 * answering {} without authentication: the trivial handler the load check
 * compares the real routes with.
 */
#ifndef WBS_ADMIN_H
#define WBS_ADMIN_H

#include "auth.h"
#include "faults.h"
#include "http.h"
#include "records.h"

typedef struct wbs_admin wbs_admin;

/* token: the admin secret (copied). NULL on oom. */
wbs_admin *wbs_admin_new(const char *token, wbs_records *r, wbs_auth *auth, wbs_faults *f);
void wbs_admin_free(wbs_admin *a); /* accepts NULL */

/* Register the /__admin/ routes. 0 or -1. */
int wbs_admin_routes(wbs_http *h, wbs_admin *a);

/* 0 when the request carries the admin token; else -1 after answering
 * 401/403 (for admin routes registered by other modules). */
int wbs_admin_check(wbs_response *res, const wbs_request *req, const wbs_admin *a);

/* Register GET /__bench/ping. 0 or -1. */
int wbs_admin_bench_routes(wbs_http *h);

#endif
