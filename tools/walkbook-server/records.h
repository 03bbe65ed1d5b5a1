/*
 * records.h - storage of walkbook-server: one SQLite table per resource
 * holding (customer, id, envelope text, modified), in a file (--db) or in
 * memory, and the server-wide clock that makes every write's meta.modified
 * strictly larger than the previous one.
 *
 * Beside each envelope the table keeps three columns derived from its text
 * when it is written, with indexes, so that the common list queries run in
 * SQL (wbs_records_select): data.campaignId and meta.modified (each only
 * when it is a JSON string, else NULL) and a state (0 when meta.isDeleted
 * is false, 1 when true, 3 when it is neither, 2 when the text is not
 * valid JSON). A file made
 * before these columns existed gets them, filled from the stored text, when
 * wbs_records_ensure first opens its table.
 *
 * Prepared statements are kept per table and query shape for the life of
 * the handle.
 *
 * Threads: one lock serialises everything. Take it with wbs_records_lock
 * around a whole read-check-write sequence (PATCH: read, compare etag,
 * write); every other function requires it held.
 */
#ifndef WBS_RECORDS_H
#define WBS_RECORDS_H

#include <stddef.h>

typedef struct wbs_records wbs_records;

/* path: a file name or ":memory:". Returns 0, or -1 with err set. */
int wbs_records_open(wbs_records **out, const char *path, char *err, size_t errlen);
void wbs_records_close(wbs_records *r);

void wbs_records_lock(wbs_records *r);
void wbs_records_unlock(wbs_records *r);

/* Create the table of a resource ("interactions", "campaigns", …: names
 * from code, never from a request) if needed, and move the clock past its
 * newest meta.modified. 0 or -1. */
int wbs_records_ensure(wbs_records *r, const char *resource);

/* The next meta.modified: now, or 1 ms after the previous value if the
 * clock has not moved past it. out holds 25 bytes. */
void wbs_records_next_modified(wbs_records *r, char out[25]);

/* Envelope text of (customer, id), deleted or not. 0 found (*out_text is
 * wb__malloc'd), 1 not found, -1 error. */
int wbs_records_get(char **out_text, wbs_records *r, const char *resource,
                    const char *customer, const char *id);

/* Insert or replace (customer, id). 0 or -1. */
int wbs_records_put(wbs_records *r, const char *resource, const char *customer,
                    const char *id, const char *text, const char *modified);

/* The same for a caller that has the envelope at hand and so knows the
 * derived columns (records.h, top): its data.campaignId when that is a
 * string (else NULL), its meta.modified (= modified, a string) and its
 * meta.isDeleted as deleted: 1 true, 0 false, -1 missing or not a boolean. Saves SQLite parsing the text. text
 * must be valid JSON. 0 or -1. */
int wbs_records_put_known(wbs_records *r, const char *resource, const char *customer,
                          const char *id, const char *text, const char *modified,
                          const char *campaign, int deleted);

/* Call fn for every record of a customer (in no particular order); a
 * non-zero return stops and is returned. -1 on a storage error. */
typedef int (*wbs_records_fn)(const char *text, size_t len, void *userdata);
int wbs_records_each(wbs_records *r, const char *resource, const char *customer,
                     wbs_records_fn fn, void *userdata);

/* The same over every customer's records (admin dump and edit). */
int wbs_records_each_all(wbs_records *r, const char *resource, wbs_records_fn fn,
                         void *userdata);

/* Orders wbs_records_select can produce. Both compare bytewise, as the
 * list sort does for strings (query.h); MODIFIED_ID is only the list sort
 * "/meta/modified then id" for records whose meta.modified is a string
 * (see wbs_records_modified_gaps). */
enum wbs_records_order {
    WBS_RECORDS_ORDER_NONE = 0, /* any order */
    WBS_RECORDS_ORDER_ID,       /* id */
    WBS_RECORDS_ORDER_MODIFIED_ID /* meta.modified, then id */
};

/* Values of meta.isDeleted a query may ask for (wbs_records_query.bools). */
enum { WBS_RECORDS_BOOL_TRUE = 1u, WBS_RECORDS_BOOL_FALSE = 2u };

/* A list query over the derived columns. Every condition given must hold;
 * NULL members are no condition. */
typedef struct wbs_records_query {
    const char *campaign;   /* data.campaignId is this string */
    const char *mod_lo;     /* meta.modified is a string >= mod_lo (> when strict) */
    int mod_lo_strict;
    const char *mod_hi;     /* meta.modified is a string <= mod_hi (< when strict) */
    int mod_hi_strict;
    int with_deleted;       /* 0: leave out records whose meta.isDeleted is true */
    unsigned bools;         /* WBS_RECORDS_BOOL_* bits: meta.isDeleted is one of
                             * these booleans (0: no condition) */
    int order;              /* enum wbs_records_order */
    int desc_first;         /* the first order key descending */
    int desc_id;            /* id descending (the second key of MODIFIED_ID) */
    long long offset;       /* rows left out before the first one given to fn */
    long long limit;        /* at most this many rows to fn; < 0: all */
} wbs_records_query;

/* Call fn for the customer's records that satisfy q, in q's order; records
 * whose text is not valid JSON are never given. A non-zero return of fn
 * stops and is returned; -1 on a storage error. */
int wbs_records_select(wbs_records *r, const char *resource, const char *customer,
                       const wbs_records_query *q, wbs_records_fn fn, void *userdata);

/* 1 when some readable record of the customer (deleted or not) has no
 * string meta.modified, so WBS_RECORDS_ORDER_MODIFIED_ID would not be the list
 * sort; 0 when none; -1 on a storage error. */
int wbs_records_modified_gaps(wbs_records *r, const char *resource, const char *customer);

/* The connection, for modules that keep tables of their own beside the
 * records (signatures.c). Use it with the lock held. */
struct sqlite3;
struct sqlite3 *wbs_records_db(wbs_records *r);

#endif
