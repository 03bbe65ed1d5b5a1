/*
 * listing.h - list queries over a stored resource (polis-api.md §4, G5–G8):
 *
 *   limit   required, 1 … 9007199254740991
 *   skip    optional, default 0
 *   sort    repeated values or one JSON array (query.h); `id` ASC is always
 *           the final key, so pages are stable under equal values
 *   filter  expression form `filter=…` and bracket form `filter[/path]=v`,
 *           combined with `and`
 *
 * Deleted records are listed only when the filter mentions /meta/isDeleted.
 * Answer: {"data":[envelopes],"meta":{}}; 400 BadRequestError naming the
 * parameter otherwise.
 */
#ifndef WBS_LISTING_H
#define WBS_LISTING_H

#include "http.h"
#include "records.h"

void wbs_list_respond(wbs_response *res, wbs_request *req, wbs_records *r,
                      const char *resource);

/* A view over a stored resource: turn each stored envelope into the item
 * that is filtered, sorted and returned instead (list contact-households
 * embed their contact and household). Return 0 with *out (a new tree, the
 * caller's) to list it, 1 to leave the record out, -1 on oom. Runs with
 * the records lock held, so it may read other records but not lock. */
typedef int (*wbs_list_view_fn)(cJSON **out, const cJSON *stored, void *userdata);

/* wbs_list_respond over a view; fn NULL lists the stored envelopes. */
void wbs_list_respond_view(wbs_response *res, wbs_request *req, wbs_records *r,
                           const char *resource, wbs_list_view_fn fn, void *userdata);

#endif
