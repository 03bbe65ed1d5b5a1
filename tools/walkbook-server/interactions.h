/*
 * interactions.h - the interaction routes of walkbook-server on /v1 and /v2
 * (polis-api.md §2, §3, G1, G5, G9–G13):
 *
 *   POST   /vN/interactions        201 + envelope; 400 ValidationError naming
 *                                  the field; with client ids: 200 replay,
 *                                  409 ExistsError
 *   GET    /vN/interactions        page {"data":[…],"meta":{}} (listing.h)
 *   GET    /vN/interactions/ID   200; 400 bad id; 404
 *   PATCH  /vN/interactions/{id}   200; 400; 404; 412; 428
 *   DELETE /vN/interactions/{id}   200 tombstone; 403 canvasser; 404; 412; 428
 *
 * Every route needs a bearer token (401) and sees only the caller's
 * customer's records.
 */
#ifndef WBS_INTERACTIONS_H
#define WBS_INTERACTIONS_H

#include "http.h"
#include "records.h"

typedef struct wbs_interactions wbs_interactions;

/* client_ids: honour a client-supplied top-level "id" on create (G1).
 * Returns NULL on oom. */
wbs_interactions *wbs_interactions_new(wbs_records *r, int client_ids);
void wbs_interactions_free(wbs_interactions *ix);

/* walkbookSignature on creates (signatures.h); without it the member is
 * refused. */
struct wbs_signatures;
void wbs_interactions_set_signatures(wbs_interactions *ix, struct wbs_signatures *sigs);

/* Create the tables and register the routes of both versions. 0 or -1. */
int wbs_interactions_routes(wbs_http *h, wbs_interactions *ix);

#endif
