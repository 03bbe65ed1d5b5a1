/*
 * signatures.h - the optional `walkbookSignature` member of an interaction
 * create (README, "Signatures on the wire"): the device's signed log entry
 * for the record, with the hashes of the log entries before it.
 *
 * With --accept-signatures the create route takes the member out of the
 * body before validation, refuses a malformed one (400 naming the member),
 * checks it against the data as received (before the server derives
 * listId or distance), stores the object and its verdict with the record
 * and extends the device's chain (trust on first use: a device key belongs
 * to the first user who presents it). A record is never refused because
 * its signature does not verify: it is stored and flagged, and the problem
 * is logged on stderr and listed by GET /__admin/signatures. Without the
 * option a create carrying the member is refused (400), so a client never
 * believes a server kept what it did not.
 *
 * Verdicts: "verified"; "forged" (the signature does not verify under the
 * key); "misplaced" (the digest does not follow from previous, seq, kind
 * and content: the entry's chain position was changed); "altered" (the
 * data received is not what the device signed); "untrusted" (the key was
 * registered to another user). Chain problems per device: gaps (positions
 * never received) and breaks (an entry whose previous digest does not
 * follow from the entries before it; two different entries at one
 * position).
 *
 * Threads: wbs_sig_take and wbs_sig_check touch no shared state;
 * wbs_sig_store and the admin route need the records lock (records.h),
 * which the route takes.
 */
#ifndef WBS_SIGNATURES_H
#define WBS_SIGNATURES_H

#include <cjson/cJSON.h>

#include "admin.h"
#include "auth.h"
#include "http.h"
#include "records.h"

typedef struct wbs_signatures wbs_signatures;
typedef struct wbs_sig wbs_sig;

/* accept: --accept-signatures. Creates the tables (lock taken inside).
 * NULL on oom or a storage error. */
wbs_signatures *wbs_signatures_new(wbs_records *r, int accept);
void wbs_signatures_free(wbs_signatures *m); /* accepts NULL */

/* Take "walkbookSignature" out of a create body. 0 with *out NULL: none;
 * 0 with *out set: parsed (wbs_sig_free); -1 after answering 400 (not
 * accepted, malformed, or no body id: the signature covers it). m may be
 * NULL (not accepted). client_id: the body's "id", already taken out. */
int wbs_sig_take(wbs_sig **out, const wbs_signatures *m, cJSON *body, const cJSON *client_id,
                 wbs_response *res);

/* Check the signature against the data object as received. No I/O. */
void wbs_sig_check(wbs_sig *sig, const cJSON *data);

/* Store it for record_id of who's customer and extend the device chain.
 * Records lock held. 0 or -1 (storage). */
int wbs_sig_store(wbs_signatures *m, wbs_sig *sig, const wbs_principal *who,
                  const char *record_id);

void wbs_sig_free(wbs_sig *sig); /* accepts NULL */

/* GET /__admin/signatures (admin token as the other admin routes):
 * {"devices":[{"publicKey","customerId","userId","positions","signed",
 *   "firstSeq","lastSeq","gaps":[[from,to],…],"breaks":[{"seq","problem"}],
 *   "ok"}],
 *  "records":[{"id","customerId","publicKey","seq","kind","localId",
 *   "status","problem"}]}. 0 or -1. */
int wbs_signatures_admin_routes(wbs_http *h, wbs_signatures *m, wbs_admin *a);

#endif
