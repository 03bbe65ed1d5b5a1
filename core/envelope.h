/*
 * envelope.h - the Polis envelope of a stored interaction, assembled from
 * its columns without re-parsing `data`: the stored data is compact JSON we
 * wrote ourselves, so it is copied verbatim. This keeps reading a campaign's
 * thousands of records a matter of memcpy.
 */
#ifndef WB_ENVELOPE_H
#define WB_ENVELOPE_H

#include <sqlite3.h>

#include "common.h"

/* The columns wb_envelope__append reads, in this order, from column 0. */
#define WB_ENVELOPE_COLUMNS                                                                      \
    "local_id, data, etag, created, modified, created_by, modified_by, deleted, customer_id,"   \
    " security_group_id"
#define WB_ENVELOPE_NCOLS 10

/* Append {"id","data","meta":{…},"customerId","securityGroupId"} of the
 * current row of st, opening `data` when the store is encrypted. Returns 0,
 * WB_ENOMEM, WB_ETAMPER (b is then left as it was), or WB_ECORRUPT when a
 * column is missing. */
int wb_envelope__append(wb_buf *b, sqlite3_stmt *st, const struct wb_store *store);

#endif
