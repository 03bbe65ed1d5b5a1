/*
 * syncstore.h - what the sync engine reads from and writes to the store.
 *
 * Every function here is one short transaction, so the app keeps recording
 * on its own handle while a sync runs on another. Results of pushes are
 * applied with the version the request was built from: if the record
 * changed meanwhile (the app edited it while its upload was in flight), the
 * edit is kept and the record stays pending instead of being overwritten by
 * what the server acknowledged.
 */
#ifndef WB_SYNCSTORE_H
#define WB_SYNCSTORE_H

#include <stdint.h>

#include "json.h"
#include "store_int.h"
#include "timeutil.h"

/* One record with something to send. Strings are owned (wb__free through
 * wb_syncstore__pending_free). */
typedef struct wb_pending {
    char local_id[WB_UUID_LEN + 1];
    char server_id[WB_UUID_LEN + 1]; /* "" until acknowledged */
    char campaign_id[WB_UUID_LEN + 1];
    char contact_id[WB_UUID_LEN + 1];
    char ts[WB_TIMESTAMP_LEN + 1];
    int state;        /* WB_STATE_PENDING_* */
    int64_t version;  /* the version this snapshot was read at */
    int deleted;
    int create_attempted;
    int attempts;
    char *data;       /* current data, compact JSON */
    char *base;       /* NULL before the first acknowledgement */
    char *base_etag;  /* NULL likewise */
    char modified[WB_TIMESTAMP_LEN + 1]; /* local meta.modified: the order */
} wb_pending;

/* Up to `max` records in a pending state whose next attempt is due at `now`,
 * oldest change first. *out is an array of *n entries (free with
 * wb_syncstore__pending_free). */
int wb_syncstore__pending(wb_pending **out, size_t *n, wb_store *store, int64_t now, size_t max);
void wb_syncstore__pending_free(wb_pending *p, size_t n);
/* The same, after `after` in that order (NULL: from the start): a run walks
 * its batches with it, so that each one costs what it returns. Records
 * changed since they were passed come again (their modified moved on). */
int wb_syncstore__pending_after(wb_pending **out, size_t *n, wb_store *store, int64_t now,
                                size_t max, const wb_pending *after);
/* The same through the index of records not synced, sorted: for a pass
 * over what is left at the end of a push (few records). The modified
 * index does not suit it: an acknowledged record takes the server's
 * modified time, so the end of that index holds every record the run
 * acknowledged, and a walk from the start or the cursor steps over all
 * of them. */
int wb_syncstore__pending_left(wb_pending **out, size_t *n, wb_store *store, int64_t now,
                               size_t max, const wb_pending *after);
/* The record `local_id` when it is in a pending state, due or not: *n is 1
 * (free with wb_syncstore__pending_free), or 0 when it is not pending. */
int wb_syncstore__pending_one(wb_pending **out, size_t *n, wb_store *store, const char *local_id);

/* Remember, durably, that a POST of this record is about to be sent, and
 * that a later run must not look for it before `settle_ms` (epoch ms): a
 * run killed mid-request cannot know whether the server is still working
 * on it, and a lookup that runs before the server applies it finds
 * nothing and posts a duplicate. The acknowledgement clears it. */
int wb_syncstore__mark_create_attempt(wb_store *store, const char *local_id, int64_t settle_ms);

/* The same for a group of records about to be posted, in one transaction
 * (a push marks a group before sending any of it: one commit instead of
 * one per record). */
int wb_syncstore__mark_create_attempts(wb_store *store, const char *const *local_ids, size_t n,
                                       int64_t settle_ms);
/* Undo the mark of records whose POST was never handed to the transport
 * (the run stopped before their turn): no lookup is needed for them. */
int wb_syncstore__unmark_create_attempts(wb_store *store, const char *const *local_ids,
                                         size_t n);

/* Delete the marks of creates that got a server id (acknowledged by a
 * pull) or whose record is gone: a push runs this first. */
int wb_syncstore__sweep_marks(wb_store *store);

/* The server acknowledged a create or an update of `local_id` (sent at
 * `version`) with `envelope`: base and base etag become the server's, the
 * server id is recorded; if the record is unchanged since, its data becomes
 * the server's (which may have filled distance or listId) and it is synced;
 * otherwise the local edit stays, to be sent as a PATCH against the new
 * base (or a DELETE if it was deleted meanwhile). */
int wb_syncstore__ack_write(wb_store *store, const char *local_id, int64_t version,
                            const cJSON *envelope);

/* A create of unknown outcome was found on the server (a lookup by what
 * identifies it). Which local version it holds is unknown and others may
 * have edited it since: the two are merged over what both agree on (a
 * member only one side has is kept; values both have differently take
 * the remote side when prefer_remote). Synced when the result is the
 * server's version, else pending as an update (or a delete). */
int wb_syncstore__ack_found(wb_store *store, const char *local_id, const cJSON *envelope,
                            int prefer_remote);

/* What the store keeps of a server's answer that echoed, byte for byte,
 * the data a create or an update sent: the answer is read from its text,
 * not parsed (wb_polis__read_echo). NUL-terminated strings pointing into
 * `buf`; id and etag are set, the others NULL when absent. */
typedef struct wb_syncstore_echo {
    const char *id, *etag, *created, *modified, *created_by, *modified_by, *group;
    const char *customer; /* checked by the push, not stored */
    char buf[640];
} wb_syncstore_echo;

/* One acknowledgement of a group: a create or update (envelope, as
 * wb_syncstore__ack_write; `sent` is the data text the request carried,
 * so that an echo of it writes no data and no log entry), an answer that
 * echoed `sent` (echo set, envelope NULL: the same as an envelope whose
 * data is `sent`), or a delete (envelope and echo NULL, as
 * wb_syncstore__ack_delete). */
typedef struct wb_syncstore_ack {
    const char *local_id;
    int64_t version;
    const cJSON *envelope;
    const char *sent;
    const wb_syncstore_echo *echo;
    /* The row's key (campaign_id, ts) read with `version`, for an echo:
     * the row is then found through the table itself, not the local_id
     * index. NULL: found by local_id. */
    const char *campaign_id, *ts;
} wb_syncstore_ack;

/* Apply a group of acknowledgements in one short transaction. */
int wb_syncstore__ack_group(wb_store *store, const wb_syncstore_ack *acks, size_t n);

/* The server acknowledged the delete (or already had none). */
int wb_syncstore__ack_delete(wb_store *store, const char *local_id, int64_t version);

/* The server refused the record for good (a 4xx other than 401/409/412):
 * state rejected with the server's message, unless the app changed the
 * record since (then that change is the next attempt). */
int wb_syncstore__reject(wb_store *store, const char *local_id, int64_t version,
                         const char *message);

/* A transient failure: try again at `next_attempt_ms`; attempts counted. */
int wb_syncstore__defer(wb_store *store, const char *local_id, int64_t next_attempt_ms);

/* What applying one remote envelope did. */
enum wb_remote_outcome {
    WB_REMOTE_UNCHANGED = 0, /* already had this version */
    WB_REMOTE_INSERTED,      /* new record */
    WB_REMOTE_UPDATED,       /* local copy replaced (nothing local pending) */
    WB_REMOTE_DELETED,       /* remote tombstone applied */
    WB_REMOTE_MERGED,        /* local and remote edits merged, local part pending */
    WB_REMOTE_CONFLICT,      /* parked as conflict */
    WB_REMOTE_REPARKED,      /* already in conflict: the newer remote version parked */
    WB_REMOTE_REFUSED        /* another customer's, or not a valid interaction */
};

/* Apply one pulled envelope. `policy` is a WB_POLICY_*; `prefer_remote`
 * decides fields changed on both sides under the merge policy. Runs inside
 * the caller's transaction when one is open (a page and its watermark are
 * committed together), else in its own. */
int wb_syncstore__apply_remote(enum wb_remote_outcome *outcome, wb_store *store,
                               const cJSON *envelope, int policy, int prefer_remote);

/* wb_syncstore__apply_remote of an envelope's text that wb_json__check
 * accepted (a pull page's element). A compact envelope (wb_json__is_compact)
 * that is new here, or unchanged, is stored from its text without a tree;
 * anything else is parsed and applied as above. Same outcomes and errors
 * as parsing it (wb_json__parse_checked) and calling apply_remote. */
int wb_syncstore__apply_remote_text(enum wb_remote_outcome *outcome, wb_store *store,
                                    const char *text, size_t len, int policy, int prefer_remote);

/* apply_remote_text in two steps. wb_syncstore__read_remote reads what it
 * needs of the text without the store (the pull does it on its prefetch
 * thread while the page before is applied): the string members as spans
 * of the text and the log entry's content hash. It cannot fail: an
 * envelope it cannot read so (not compact, no valid id or etag) has
 * compact = 0 and is parsed when applied. wb_syncstore__apply_remote_read
 * then applies it; text and len are those given to read_remote. */
#define WB_REMOTE_READ_STRINGS 13
typedef struct wb_remote_read {
    int compact, deleted;
    uint32_t off[WB_REMOTE_READ_STRINGS], len[WB_REMOTE_READ_STRINGS]; /* len UINT32_MAX: absent */
    uint32_t data_off, data_len;
    unsigned char content[32];
} wb_remote_read;
void wb_syncstore__read_remote(wb_remote_read *rd, const char *text, size_t len);
int wb_syncstore__apply_remote_read(enum wb_remote_outcome *outcome, wb_store *store,
                                    const wb_remote_read *rd, const char *text, size_t len,
                                    int policy, int prefer_remote);

/* Pull watermarks. `modified` is "" when none is stored; `seen` is the JSON
 * array text of "id:etag" strings applied at exactly `modified` (caller
 * frees with wb__free; NULL when none). */
int wb_syncstore__watermark(char *modified /* WB_TIMESTAMP_LEN + 1 */, char **seen,
                            wb_store *store, const char *resource, const char *scope);
int wb_syncstore__set_watermark(wb_store *store, const char *resource, const char *scope,
                                const char *modified, const char *seen);

/* A live local record known to the server (the full re-pull's deletion
 * check). */
typedef struct wb_syncstore_ref {
    char server_id[WB_UUID_LEN + 1];
    char *data; /* the base (else the data), compact JSON */
} wb_syncstore_ref;

/* Live records with a server id, of one campaign (NULL = all). */
int wb_syncstore__live_refs(wb_syncstore_ref **out, size_t *n, wb_store *store,
                            const char *campaign);
void wb_syncstore__refs_free(wb_syncstore_ref *refs, size_t n);
/* A tombstone envelope for ref: what applying a server-side delete needs
 * when the server keeps none to list (etag ""). */
int wb_syncstore__tombstone_of(cJSON **out, wb_store *store, const wb_syncstore_ref *ref);
/* The distinct campaigns of records the server knows (wb__free each and
 * the array). */
int wb_syncstore__campaigns(char ***out, size_t *n, wb_store *store);

/* A parked conflict as JSON {"id","local","remote","paths"}
 * (wb_conflict_get). WB_ENOTFOUND when `id` is not in conflict. */
int wb_syncstore__conflict_json(char **out, wb_store *store, const char *id);

/* Resolve a parked conflict with a wb_resolution; `document` is the data
 * for WB_TAKE_DOCUMENT (validated by the caller). Local or remote: a
 * three-way merge (base, local, server) where that side decides the fields
 * both changed and one-sided changes are kept. The server's version becomes
 * the base; the result is synced when it equals the server's, else pending
 * as an update. A record the server deleted: remote keeps it deleted; local
 * or a document sends it again as a new create. */
int wb_syncstore__resolve(wb_store *store, const char *id, int resolution,
                          const cJSON *document);

#endif
