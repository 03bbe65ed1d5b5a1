/*
 * refdata.h - the cache of reference records (campaigns, surveys, lists,
 * households, contacts, contact-household links) and walk-list membership,
 * shared by refdata.c, import.c, walklist.c, gps.c and the sync engine.
 */
#ifndef WB_REFDATA_H
#define WB_REFDATA_H

#include "json.h"
#include "store_int.h"

/* 1 when `resource` is one of the cached resources. */
int wb_ref__known_resource(const char *resource);

/* Apply one envelope (see wb_ref_upsert) inside the caller's transaction.
 * `what` prefixes messages ("households"). *out_applied (may be NULL) is 0
 * when the envelope was older than the cached copy. */
int wb_ref__upsert(int *out_applied, wb_store *store, const char *resource, const cJSON *env);

/* The walk list's integer key, made when missing; a non-NULL campaign
 * becomes its campaign. */
int wb_ref__walklist(int64_t *out_wid, wb_store *store, const char *walklist_id,
                     const char *campaign_id);
/* Look a walk list up without making it: 0 and *out_wid, or WB_ENOTFOUND
 * (no message set). */
int wb_ref__walklist_find(int64_t *out_wid, wb_store *store, const char *walklist_id);

/* Put a household on a walk list (and into the geo index when located). */
int wb_ref__member_add(wb_store *store, int64_t wid, const char *household_id);

/* Take a household off one walk list. */
int wb_ref__member_remove(wb_store *store, int64_t wid, const char *household_id);

/* Remove a household from every walk list (a tombstone). */
int wb_ref__member_drop_all(wb_store *store, const char *household_id);

/* The cached location of a household: 0 with *found = 1 and lat/lng, or
 * *found = 0 when unknown or without coordinates. */
int wb_ref__household_location(int *found, double *lat, double *lng, wb_store *store,
                               const char *household_id);

/* A live cached record as a tree (caller frees), or WB_ENOTFOUND without a
 * message. */
int wb_ref__get_tree(cJSON **out, wb_store *store, const char *resource, const char *id);

/* Earth-centred, earth-fixed coordinates (metres) of a point on the WGS84
 * ellipsoid. */
void wb_ref__ecef(double lat, double lng, double xyz[3]);

/* Check lat/lng are finite and in range; message "<what>.lat: …". */
int wb_ref__check_point(double lat, double lng, const char *what);

#endif
