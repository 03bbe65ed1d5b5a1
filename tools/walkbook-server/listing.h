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

#endif
