/*
 * validate.h - validation of interaction `data` objects (Polis shapes).
 */
#ifndef WB_VALIDATE_H
#define WB_VALIDATE_H

#include "json.h"

/* Check an interaction's data object. On failure returns WB_EINVALID with a
 * message naming the field by its path and the problem, e.g.
 *   "data.location.lat: must be between -90 and 90" (values of personal
 *   fields are never quoted)
 *   "data.campaignId: required"
 *   "data.survey.responses.<qid>.questionId: must equal its key"
 *   "data.color: unknown member"
 * Rules: required campaignId, contactId, timestamp, survey, unavailable;
 * known members only (campaignId contactId householdId contactHouseholdId
 * listId timestamp survey unavailable unavailableReason successful distance
 * location walklistId statusId turfId); ids are UUIDs; timestamp in the
 * Polis format and a real calendar instant; booleans are booleans;
 * unavailableReason a string (or null); distance a finite number >= 0;
 * location an object with optional finite lat in [-90,90], lng in [-180,180],
 * confidence >= 0 and no other members; survey {surveyId (UUID, required),
 * responses (object, optional)}, each response {questionId equal to its key,
 * fields (object) whose values are string, number, boolean or arrays of
 * those}, no other members. */
int wb_validate__interaction(const cJSON *data);

/* Normalise a create body into its data object: a flat body is the data; a
 * body whose top level has an object member "data" and no "campaignId" is
 * the wrapped form. Returns a borrowed pointer into body, or NULL with
 * WB_EINVALID set when the body is not an object. */
const cJSON *wb_validate__create_data(const cJSON *body);

/* Make the paths ("path" and "from") of a JSON Patch relative to an
 * envelope's `data`: "/data/x" becomes "/x" and "/data" becomes "" (the
 * Polis docs used both bases); paths without the prefix already are. A path
 * into the envelope outside data ("/meta/…", "/id", "/customerId",
 * "/securityGroupId") is refused with WB_EINVALID naming the operation:
 * "patch[1]: from /customerId is outside data; only data can change".
 * Operations are changed in place. */
int wb_validate__rebase_patch(cJSON *patch);

#endif
