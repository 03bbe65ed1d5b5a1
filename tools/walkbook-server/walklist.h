/*
 * walklist.h - the walk-list routes of walkbook-server: what a canvassing
 * app downloads before going offline (polis-api.md §5).
 *
 *   GET /v1/campaigns, /v1/campaigns/{id}                  (§5.4)
 *   GET /v1/surveys, /v1/surveys/{id}     v1 shape, questions (§5.6, G18)
 *   GET /v1/lists, /v1/lists/{id}                          (§5.7)
 *   GET /v1/lists/{id}/contact-households                  (§5.2)
 *   GET /v2/households, /v2/households/{id}  embedded address + coords (§5.3)
 *   GET /v2/contacts, /v2/contacts/{id}                    (§5.1)
 *   GET /v1/statuses, /v1/statuses/{id}                    (§5.8)
 *   POST /v2/contacts     find-or-create: 201 new, 200 existing (§5.1)
 *   POST /v2/households   find-or-create: 201 new, 200 existing (§5.3)
 *   DELETE /v2/contacts/{id}, /v2/households/{id}  soft, etag header as for
 *                         interactions (resource.h); admin role only (403)
 *
 * Lists take limit/skip/sort/filter exactly as the interaction lists do
 * (listing.h), so `filter=/meta/modified gte "…"` pulls incrementally and
 * deleted records show only when the filter mentions /meta/isDeleted.
 * Every route needs a bearer token (401) and sees only the caller's
 * customer (another customer's record: 404). GET by id: 400 bad id, 404.
 *
 * List contact-households: one item per entry of the list (stored as
 * contact-household-lists), the contact-household envelope with its data
 * replaced by {"contact": envelope, "household": envelope}, as in
 * testdata/polis/list-v3-contact-households-response.json. Its meta is the
 * contact-household's, except that meta.modified is the newest of the
 * entry, the link, the contact and the household (so an incremental pull
 * sees edits of the embedded records) and meta.isDeleted is true when any
 * of them is deleted. 404 when the list is unknown, deleted or another
 * customer's.
 */
#ifndef WBS_WALKLIST_H
#define WBS_WALKLIST_H

#include "http.h"
#include "records.h"

typedef struct wbs_walklist wbs_walklist;

/* Returns NULL on oom. */
wbs_walklist *wbs_walklist_new(wbs_records *r);
void wbs_walklist_free(wbs_walklist *wl);

/* Create the tables and register the routes. 0 or -1. */
int wbs_walklist_routes(wbs_http *h, wbs_walklist *wl);

#endif
