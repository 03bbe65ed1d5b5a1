/*
 * resource.h - request steps shared by every resource route of
 * walkbook-server: the id in the path, the etag precondition, reading a
 * stored envelope, stale-version answers, GET by id and soft DELETE.
 *
 * Status codes (polis-api.md §9.2, G3, G5, G20): 400 bad id, 404 unknown,
 * deleted or another customer's, 428 no etag, 412 stale etag with a
 * ConcurrencyError body carrying the current envelope, 403 role.
 */
#ifndef WBS_RESOURCE_H
#define WBS_RESOURCE_H

#include <cjson/cJSON.h>

#include "auth.h"
#include "http.h"
#include "records.h"

#define WBS_CONCURRENCY_MESSAGE "The provided version does not match the current value."

/* The UUID of capture 0, lowercased into out. 0, or -1 after answering 400. */
int wbs_resource_id(char out[37], wbs_response *res, const wbs_request *req);

/* The etag precondition: the `etag` header, else `If-Match`, without
 * surrounding blanks, a W/ prefix or quotes. 0 with out set, or -1 after
 * answering 428. */
int wbs_resource_precondition(char *out, size_t outlen, wbs_response *res,
                              const wbs_request *req);

/* Load (customer, id) with the records lock held. 0 with *env and *text
 * (free with cJSON_Delete / wb__free); -1 after answering 404 (unknown or
 * deleted) or 500. */
int wbs_resource_load(cJSON **env, char **text, wbs_response *res, wbs_records *r,
                      const char *resource, const char *customer, const char *id);

/* 0 when the stored meta.etag equals want (or want is "*"); else -1 after
 * answering 412 with the current envelope text. */
int wbs_resource_check_etag(wbs_response *res, const cJSON *env, const char *text,
                            const char *want);

/* Set meta.modified (next server clock value) and meta.modifiedBy, stamp
 * the etag, store the record and answer `status` with it. Lock held. */
void wbs_resource_write(wbs_response *res, int status, wbs_records *r, const char *resource,
                        cJSON *env, const char *customer, const char *id, const char *user);

/* Answer 400 ValidationError / BadRequestError with the calling thread's
 * last walkbook error message (or fallback). */
void wbs_resource_fail(wbs_response *res, const char *name, const char *fallback);

/* GET /…/{id} and DELETE /…/{id} for any resource. delete_roles: bit mask
 * of roles (1 << WBS_ROLE_…) allowed to delete; others get 403. */
void wbs_resource_get(wbs_response *res, wbs_request *req, wbs_records *r, const char *resource);
void wbs_resource_delete(wbs_response *res, wbs_request *req, wbs_records *r,
                         const char *resource, unsigned delete_roles);

/* A new envelope in the documented member order (interaction-v3-object):
 * id, data (taken over, also on failure), meta {etag "", created, modified,
 * resource, createdBy, isDeleted false, modifiedBy}, customerId,
 * securityGroupId of `who`. NULL on oom. */
cJSON *wbs_resource_new_envelope(const char *id, cJSON *data, const wbs_principal *who,
                                 const char *now, const char *resource);

#endif
