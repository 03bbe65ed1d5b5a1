/*
 * records.h - storage of walkbook-server: one SQLite table per resource
 * holding (customer, id, envelope text, modified), in a file (--db) or in
 * memory, and the server-wide clock that makes every write's meta.modified
 * strictly larger than the previous one.
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

/* Call fn for every record of a customer (in no particular order); a
 * non-zero return stops and is returned. -1 on a storage error. */
typedef int (*wbs_records_fn)(const char *text, size_t len, void *userdata);
int wbs_records_each(wbs_records *r, const char *resource, const char *customer,
                     wbs_records_fn fn, void *userdata);

/* The same over every customer's records (admin dump and edit). */
int wbs_records_each_all(wbs_records *r, const char *resource, wbs_records_fn fn,
                         void *userdata);

#endif
