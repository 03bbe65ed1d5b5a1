/*
 * walkbook.h - the one public header of walkbook, the offline-first store
 * for door-to-door canvassing.
 *
 * Conventions (see docs/conventions.md):
 *  - Functions return int: 0 on success, a negative WB_E... code on failure.
 *    The message of the last failure on the calling thread is read with
 *    wb_error_last().
 *  - Outputs come first (`**out`), then the subject handle, then inputs.
 *    `*out` is set only on success.
 *  - Strings handed out through `char **out` are yours: free them with
 *    wb_free(), never with free().
 *  - Input strings are copied; the caller keeps ownership.
 *  - Records cross the API as JSON text in the Polis shapes: a create body for
 *    input, the full envelope ({"id","data","meta","customerId",
 *    "securityGroupId"}) for output.
 *  - Error tag "Fails:": never / oom / io / any.
 *
 * Threading contract (each function states its rule as "Threads:"):
 *  - "any": may be called from any thread at any time, concurrently with
 *    any other walkbook call. Such functions touch no handle, or only
 *    per-thread state (the last error), or process-wide set-up that runs
 *    once and is itself thread-safe (libsodium, libcurl): no init call is
 *    needed before the first use from several threads.
 *  - "owner": the call works on a handle (wb_store, wb_iter, wb_sync) that
 *    has no lock of its own. Calls on one handle must not overlap; they may
 *    come from different threads one after another when the app orders
 *    them (a mutex, a serial dispatch queue, a single-thread executor).
 *    An iterator shares its store's database connection: a store and its
 *    iterators count as one handle.
 *  - Different handles may be used concurrently from different threads,
 *    also handles opened on the same file: open one wb_store per thread.
 *    SQLite WAL lets readers proceed beside one writer; writers on one file
 *    take turns, waiting up to wb_store_options.busy_timeout_ms before
 *    WB_EBUSY.
 *  - A wb_sync opens the file on a connection of its own, so the app keeps
 *    recording and querying on its wb_store handles while wb_sync_run runs
 *    on a background thread. wb_sync_cancel is the one call that may be
 *    made on a wb_sync from another thread while it runs (never after
 *    wb_sync_free has started).
 *  - Callbacks (transport send/free_body, progress, token_refresh) run on
 *    the thread that called wb_sync_run, inside that call. They may call
 *    wb_sync_cancel and use other handles; they must not run or free the
 *    sync that called them.
 *  - wb_error_last() is per thread: read it on the thread that made the
 *    failing call, before that thread calls walkbook again.
 */
#ifndef WALKBOOK_H
#define WALKBOOK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup wb_macros Export, nullability and result macros
 *  @{ */
#if defined(_WIN32) && defined(WB_SHARED_BUILD)
#define WB_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define WB_API __attribute__((visibility("default")))
#else
#define WB_API
#endif

#if defined(__GNUC__) || defined(__clang__)
#define WB_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define WB_WARN_UNUSED
#endif

#if defined(__clang__)
/* Nullability qualifiers are a clang extension; -Wpedantic would flag every
 * use in a strict build of the host app, so the header silences that one
 * warning for itself (popped at the end of the header). */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wnullability-extension"
#pragma clang diagnostic ignored "-Wfixed-enum-extension"
#define WB_NULLABLE _Nullable
#define WB_NONNULL _Nonnull
#define WB_ASSUME_NONNULL_BEGIN _Pragma("clang assume_nonnull begin")
#define WB_ASSUME_NONNULL_END _Pragma("clang assume_nonnull end")
#else
#define WB_NULLABLE
#define WB_NONNULL
#define WB_ASSUME_NONNULL_BEGIN
#define WB_ASSUME_NONNULL_END
#endif

/** An enum with a fixed underlying type where the compiler allows it, so
 *  Swift imports it as a proper enum: open (values may be appended), hence
 *  a Swift switch over it needs `@unknown default`. WB_FLAG_ENUM marks an
 *  enum whose values are bits: Swift imports it as an OptionSet. */
#if defined(__clang__) && defined(__has_feature)
#if __has_feature(objc_fixed_enum) || __has_extension(cxx_fixed_enum)
#if __has_attribute(enum_extensibility) && __has_attribute(flag_enum)
#define WB_ENUM(name) enum __attribute__((enum_extensibility(open))) name : int
#define WB_FLAG_ENUM(name) enum __attribute__((flag_enum, enum_extensibility(open))) name : int
#else
#define WB_ENUM(name) enum name : int
#endif
#endif
#endif
#ifndef WB_ENUM
#define WB_ENUM(name) enum name
#endif
#ifndef WB_FLAG_ENUM
#define WB_FLAG_ENUM(name) WB_ENUM(name)
#endif
/** @} */

WB_ASSUME_NONNULL_BEGIN

/** @defgroup wb_version Version
 *  @{ */
#define WB_VERSION "0.1.0"
#define WB_VERSION_MAJOR 0
#define WB_VERSION_MINOR 1
#define WB_VERSION_PATCH 0
/** MAJOR*1000000 + MINOR*1000 + PATCH. */
#define WB_VERSION_NUMBER 1000

/** Version of the linked library as text. Threads: any. Fails: never. */
WB_API const char *wb_version(void);
/** Version of the linked library as WB_VERSION_NUMBER. Threads: any. Fails: never. */
WB_API int wb_version_number(void);
/** Highest store schema version this library understands. Threads: any.
 *  Fails: never. */
WB_API int wb_schema_version(void);
/** @} */

/** @defgroup wb_errors Errors
 *  Numbers are never reused; new codes are only appended.
 *  @{ */
WB_ENUM(wb_error_code){
    WB_OK = 0,
    WB_ERROR = -1,      /**< generic failure; see the message */
    WB_EINVALID = -2,   /**< bad argument or invalid input (names the field) */
    WB_ENOTFOUND = -3,  /**< no such record */
    WB_ECONFLICT = -4,  /**< the record is in conflict or was changed meanwhile */
    WB_EBUSY = -5,      /**< the database is locked by another writer */
    WB_EAUTH = -6,      /**< the server refused the credentials */
    WB_EOFFLINE = -7,   /**< the server could not be reached */
    WB_ENOMEM = -8,     /**< out of memory */
    WB_EIO = -9,        /**< the file system or SQLite reported an I/O error */
    WB_ESCHEMA = -10,   /**< not a walkbook store, or a newer schema */
    WB_ECORRUPT = -11,  /**< the file or a stored value is damaged */
    WB_EEXISTS = -12,   /**< already set or already present */
    WB_ETOOBIG = -13,   /**< input over a size or depth limit */
    WB_EREADONLY = -14, /**< the store was opened read-only */
    WB_EKEY = -15,      /**< wrong key or passphrase, or a key missing for an
                             encrypted store (or given for a plain one) */
    WB_ETAMPER = -16,   /**< a sealed value or the signed interaction log
                             failed verification (modified, moved, removed) */
    WB_ITEROVER = -31   /**< iteration finished (not an error) */
};

WB_ENUM(wb_error_class){
    WB_ERRCLASS_NONE = 0,
    WB_ERRCLASS_STORE = 1,  /**< SQLite file, schema, records */
    WB_ERRCLASS_SYNC = 2,   /**< sync engine */
    WB_ERRCLASS_NET = 3,    /**< transport, HTTP */
    WB_ERRCLASS_CRYPTO = 4, /**< keys, encryption */
    WB_ERRCLASS_JSON = 5,   /**< JSON text, JSON Patch, JSON Pointer */
    WB_ERRCLASS_INVALID = 6,/**< arguments and validation of records */
    WB_ERRCLASS_NOMEM = 7,  /**< allocation */
    WB_ERRCLASS_OS = 8      /**< operating system */
};

/** The last error of the calling thread. */
typedef struct wb_error {
    int code;            /**< WB_E... code */
    int klass;           /**< wb_error_class */
    const char *message; /**< one line naming the field and the problem */
    int sqlite_code;     /**< SQLite extended result code, or 0 */
    int http_status;     /**< HTTP status, or 0 */
    int os_error;        /**< errno or CURLcode, or 0 */
} wb_error;

/** The last error set on this thread, or NULL when none was set since the
 *  last wb_error_clear(). Valid until the next walkbook call on this thread.
 *  Threads: any (per-thread). Fails: never. */
WB_API const wb_error *WB_NULLABLE wb_error_last(void);
/** Forget the last error of this thread. Threads: any. Fails: never. */
WB_API void wb_error_clear(void);
/** Short constant name of a code ("WB_ENOTFOUND"). Threads: any. Fails: never. */
WB_API const char *wb_error_name(int code);
/** @} */

/** @defgroup wb_memory Memory
 *  @{ */
/** Free a string or buffer returned by walkbook. NULL is fine.
 *  Threads: any. Fails: never. */
WB_API void wb_free(void *WB_NULLABLE ptr);
/** Wipe (sodium_memzero over its length) then free a secret string
 *  returned by walkbook, such as wb_store_saved_token's. NULL is fine.
 *  Threads: any. Fails: never. */
WB_API void wb_free_secret(char *WB_NULLABLE secret);
/** @} */

/** @defgroup wb_store Store
 *  @{ */
typedef struct wb_store wb_store;

/** Flags for wb_store_options.flags. */
#define WB_OPEN_CREATE 0x1u   /**< create the file if missing (default) */
#define WB_OPEN_READONLY 0x2u /**< open without write access */

/** Durability of each commit (SQLite synchronous). */
WB_ENUM(wb_durability){
    WB_DURABILITY_FULL = 0,  /**< fsync every commit: survives power loss (default) */
    WB_DURABILITY_NORMAL = 1 /**< survives a killed process; may lose the last
                                  commits on power loss */
};

/** Encryption at rest of personal fields (wb_store_options.encryption). */
WB_ENUM(wb_encryption){
    WB_ENCRYPTION_DEFAULT = 0,  /**< a new store is encrypted when a key or
                                     passphrase is given; an existing store
                                     is what it was created as */
    WB_ENCRYPTION_REQUIRED = 1, /**< refuse (WB_EKEY) to create or open a
                                     store that is not encrypted */
    WB_ENCRYPTION_NONE = 2      /**< explicitly plain: no key may be given */
};

/** Bytes of a store key (XChaCha20-Poly1305). */
#define WB_KEY_BYTES 32

#define WB_STORE_OPTIONS_VERSION 2
typedef struct wb_store_options {
    unsigned int version;    /**< WB_STORE_OPTIONS_VERSION (1 is still accepted
                                  and means: no key) */
    unsigned int flags;      /**< WB_OPEN_... */
    int busy_timeout_ms;     /**< wait for another writer; default 5000 */
    int durability;          /**< wb_durability */
    int mmap_mib;            /**< memory-map up to this many MiB of the file for
                                  reads (default 256; 0 = off, e.g. on 32-bit
                                  devices with little address space). Mapped
                                  pages are the OS page cache: clean and
                                  reclaimable, but they count in the RSS. */
    /* Version 2: encryption at rest (see the README, "Data at rest"). */
    const unsigned char *WB_NULLABLE key; /**< WB_KEY_BYTES from the platform
                                  keystore, or NULL. Read during the call only;
                                  the store keeps a derived key in locked memory
                                  and wipes it on wb_store_free. */
    const char *WB_NULLABLE passphrase; /**< instead of key: stretched with
                                  Argon2id, salt and cost stored in the store */
    int encryption;          /**< wb_encryption */
    unsigned long long kdf_opslimit; /**< Argon2id cost for a new passphrase
                                  (0: libsodium's "interactive" cost) */
    size_t kdf_memlimit;     /**< bytes; 0: "interactive" (64 MiB) */
} wb_store_options;
#define WB_STORE_OPTIONS_INIT                                                                     \
    {WB_STORE_OPTIONS_VERSION, WB_OPEN_CREATE, 5000, WB_DURABILITY_FULL, 256, NULL, NULL,         \
     WB_ENCRYPTION_DEFAULT, 0, 0}

/** Fill @p opts with defaults for @p version. Returns WB_EINVALID for an
 *  unknown version. Threads: any. Fails: never (bad version only). */
WB_API int wb_store_options_init(wb_store_options *opts, unsigned int version);

/** Open (and create, and migrate) the store at @p path.
 *  @param[out] out  the new handle, set only on success
 *  @param path      file name; ":memory:" gives a private in-memory store
 *  @param opts      NULL for defaults
 *  @return 0, WB_EINVALID, WB_ESCHEMA (not a walkbook store, or its schema is
 *          newer than this library), WB_EIO, WB_EBUSY, WB_ENOMEM
 *  Threads: any; the handle then belongs to one thread at a time. Fails: any. */
WB_API WB_WARN_UNUSED int wb_store_open(wb_store *WB_NULLABLE *WB_NONNULL out, const char *path,
                                        const wb_store_options *WB_NULLABLE opts);

/** Re-encrypt every sealed value of the store under a new key or
 *  passphrase (@p new_keys: its key or passphrase, kdf_opslimit and
 *  kdf_memlimit; other members ignored), in one transaction: a crash leaves
 *  the store wholly under the old key or wholly under the new one. Also
 *  encrypts a plain store that has no records yet.
 *  @return 0; WB_EINVALID (no new key given); WB_EKEY (the store is plain and
 *          has records: use wb_store_encrypt); WB_ETAMPER (a sealed value did
 *          not authenticate: nothing changed); WB_EBUSY (iterators of this
 *          handle are open), WB_EIO.
 *  Threads: owner; other handles on the file must be reopened with the new
 *  key. Fails: any. */
WB_API WB_WARN_UNUSED int wb_store_rekey(wb_store *store, const wb_store_options *new_keys);

/** Encrypt a plain store that already holds records, under the key or
 *  passphrase of @p keys (as for wb_store_rekey). Every personal field is
 *  sealed in one transaction with the keys row (a crash leaves the store
 *  wholly plain or wholly encrypted), then the file is rewritten (VACUUM)
 *  and the WAL emptied, so no page that held a plaintext value is left in
 *  the file or its WAL. A crash during that rewrite leaves it pending: the
 *  next writable open finishes it (also when another connection kept the
 *  checkpoint from completing).
 *  @return 0; WB_EINVALID (no key given, or already encrypted); WB_ETAMPER
 *          never (nothing is opened); WB_EBUSY (iterators of this handle are
 *          open, or another connection writes), WB_EIO.
 *  Threads: owner; other handles on the file must be reopened with the key.
 *  Fails: any. */
WB_API WB_WARN_UNUSED int wb_store_encrypt(wb_store *store, const wb_store_options *keys);

/** The reverse of wb_store_encrypt: open every sealed value and store it in
 *  clear, in one transaction (a crash leaves the store wholly encrypted or
 *  wholly plain); the store then opens without a key.
 *  @return 0; WB_EINVALID (not encrypted); WB_ETAMPER (a sealed value did not
 *          authenticate: nothing changed); WB_EBUSY, WB_EIO.
 *  Threads: owner; other handles on the file must be reopened without the
 *  key. Fails: any. */
WB_API WB_WARN_UNUSED int wb_store_decrypt(wb_store *store);

/** 1 when the store's personal fields are encrypted, 0 when not.
 *  Threads: owner. Fails: never. */
WB_API int wb_store_encrypted(const wb_store *store);

/** Keep a bearer token in the store, for syncs with
 *  wb_sync_options.use_saved_token (tokens otherwise live in memory only).
 *  In an encrypted store it is sealed like a personal field (table
 *  saved_token, bound to its column and row: never on disk in clear, and
 *  re-sealed by wb_store_rekey, wb_store_encrypt and wb_store_decrypt); in
 *  a plain store it is kept in clear like the plain store's other values.
 *  One token per store: a new one replaces the old.
 *  @param token  printable text under 4096 bytes; NULL or "" forgets the
 *                saved token (no error when none was saved)
 *  @return 0; WB_EINVALID (too long, a control character; the message never
 *          quotes the token); WB_EREADONLY; WB_EBUSY, WB_EIO.
 *  Threads: owner. Fails: io. */
WB_API WB_WARN_UNUSED int wb_store_save_token(wb_store *store, const char *WB_NULLABLE token);

/** The token saved with wb_store_save_token.
 *  @param[out] out  a copy of the token: wipe and free it with
 *                   wb_free_secret()
 *  @return 0; WB_ENOTFOUND when none is saved; WB_ETAMPER when the sealed
 *          value does not authenticate (edited, or copied from another
 *          column); WB_ECORRUPT (a plain store holds something else there);
 *          WB_EIO.
 *  Threads: owner. Fails: oom, io. */
WB_API WB_WARN_UNUSED int wb_store_saved_token(char *WB_NULLABLE *WB_NONNULL out,
                                               wb_store *store);

/** Verify the signed interaction log: every entry's Ed25519 signature under
 *  the store's device key, the chain of digests (each entry names the one
 *  before it), that an entry without a signature (a server version applied
 *  inside a transaction, schema 009) is covered by a later signed entry,
 *  and that each record's current data is the data its latest entry holds.
 *  @param[out] out_json  NULL, or a report {"entries","signed" (entries
 *         that carry a signature),"records","ok","publicKey",
 *         "firstBroken":{"seq","id","problem"}|null} (wb_free)
 *  @return 0 when intact; WB_ETAMPER naming the first broken link (the
 *          report is still written); WB_EKEY, WB_EIO.
 *  Threads: owner. Fails: any. */
WB_API WB_WARN_UNUSED int wb_log_verify(char *WB_NULLABLE *WB_NULLABLE out_json, wb_store *store);

/** The signature object of a record as it would travel with its create
 *  (README, "Signatures on the wire"): the device public key, the seq,
 *  kind, content, previous digest, digest and Ed25519 signature of the
 *  latest log entry that signed the record's current data, and the links
 *  (hashes of the entries before it since the last entry a server
 *  acknowledged). Over the plaintext on encrypted stores; no key leaves.
 *  @param[out] out_json  the object (wb_free)
 *  @return 0; WB_ENOTFOUND (no such record, or no entry signed its current
 *          data); WB_EKEY (no device key); WB_EIO.
 *  Threads: owner. Fails: any. */
WB_API WB_WARN_UNUSED int wb_log_signature(char *WB_NULLABLE *WB_NONNULL out_json, wb_store *store,
                                           const char *id);

/** Close the store. NULL is fine. Iterators still open keep the connection
 *  until the last is freed.
 *  Threads: owner; no other call on the store or its iterators may overlap.
 *  Fails: never. */
WB_API void wb_store_free(wb_store *WB_NULLABLE store);

/** Schema version of the opened file. Threads: owner. Fails: never. */
WB_API int wb_store_schema_version(const wb_store *store);

/** Set the store's identity, once: the customer (tenant), the user recording
 *  (createdBy/modifiedBy of every record) and the security groups the store
 *  may see (the first is the group new records get; may be empty).
 *  @return 0; WB_EEXISTS when an identity is already set (setting the same
 *          identity again returns 0); WB_EINVALID naming a bad UUID.
 *  Threads: owner. Fails: io. */
WB_API WB_WARN_UNUSED int wb_store_set_identity(wb_store *store, const char *customer_id,
                                                const char *user_id,
                                                const char *WB_NONNULL const *WB_NULLABLE security_groups,
                                                size_t n_security_groups);

/** The identity as JSON: {"customerId","userId","securityGroupIds":[…]}.
 *  @return 0; WB_ENOTFOUND when no identity is set yet.
 *  Threads: owner. Fails: oom, io. */
WB_API WB_WARN_UNUSED int wb_store_identity(char *WB_NULLABLE *WB_NONNULL out_json,
                                            wb_store *store);

/** A status summary as JSON: {"schemaVersion", "fileSize", "interactions":
 *  {"total","live","tombstones","synced","pendingCreate","pendingUpdate",
 *  "pendingDelete","conflict","rejected"}}.
 *  Threads: owner. Fails: oom, io. */
WB_API WB_WARN_UNUSED int wb_store_status(char *WB_NULLABLE *WB_NONNULL out_json, wb_store *store);
/** @} */

/** @defgroup wb_interaction Interactions
 *  @{ */

/** Sync state of a record. Values are bits so that queries can ask for
 *  several at once. */
WB_FLAG_ENUM(wb_sync_state){
    WB_STATE_SYNCED = 1,          /**< nothing to send */
    WB_STATE_PENDING_CREATE = 2,  /**< never acknowledged by the server */
    WB_STATE_PENDING_UPDATE = 4,  /**< local edits to send as one PATCH */
    WB_STATE_PENDING_DELETE = 8,  /**< local delete to send */
    WB_STATE_CONFLICT = 16,       /**< parked for manual resolution */
    WB_STATE_REJECTED = 32        /**< the server refused it (4xx); kept */
};
#define WB_STATE_ANY 63u
#define WB_STATE_PENDING (WB_STATE_PENDING_CREATE | WB_STATE_PENDING_UPDATE | WB_STATE_PENDING_DELETE)

/** Name of a single state ("pending_create"), or NULL. Threads: any.
 *  Fails: never. */
WB_API const char *WB_NULLABLE wb_sync_state_name(int state);
/** Parse a state name; 0 when unknown. Threads: any. Fails: never. */
WB_API int wb_sync_state_from_name(const char *name);

/** Record an interaction.
 *  @param[out] out_id  the new record's id (UUID v4), wb_free() it; may be
 *                      NULL when the id is not wanted
 *  @param body  a Polis create body, flat (v2) or {"data":{…}} (v1), with
 *               the fields campaignId, contactId, householdId,
 *               contactHouseholdId, timestamp, survey, unavailable,
 *               unavailableReason, successful, distance, location,
 *               walklistId, statusId, turfId. Required: campaignId,
 *               contactId, timestamp, survey, unavailable.
 *  @return 0; WB_EINVALID naming the field and the problem (nothing is
 *          stored); WB_ENOTFOUND when no identity is set; WB_EIO, WB_EBUSY.
 *  The record is durable when this returns 0.
 *  Threads: owner. Fails: any. */
WB_API WB_WARN_UNUSED int wb_interaction_record(char *WB_NULLABLE *WB_NULLABLE out_id,
                                                wb_store *store, const char *body);

/** Record many interactions in one transaction: all or none.
 *  @param bodies  n create bodies
 *  @param[out] out_ids  NULL, or an array of n pointers that receive the new
 *                       ids (each to wb_free())
 *  @return as wb_interaction_record; the message names the index of the
 *          refused body ("records[3].timestamp: …").
 *  Threads: owner. Fails: any. */
WB_API WB_WARN_UNUSED int wb_interaction_record_batch(char *WB_NULLABLE *WB_NULLABLE out_ids,
                                                      wb_store *store,
                                                      const char *WB_NONNULL const *WB_NONNULL bodies,
                                                      size_t n);

/** The full envelope of a record as JSON.
 *  @return 0; WB_ENOTFOUND (also for deleted records unless
 *          @p include_deleted is non-zero).
 *  Threads: owner. Fails: oom, io. */
WB_API WB_WARN_UNUSED int wb_interaction_get(char *WB_NULLABLE *WB_NONNULL out_json,
                                             wb_store *store, const char *id,
                                             int include_deleted);

/** Sync bookkeeping of one record as JSON: {"id","serverId","state",
 *  "version","baseEtag","deleted","lastError"}.
 *  Threads: owner. Fails: oom, io. */
WB_API WB_WARN_UNUSED int wb_interaction_sync_info(char *WB_NULLABLE *WB_NONNULL out_json,
                                                   wb_store *store, const char *id);

/** Change a record with an RFC 6902 JSON Patch: a JSON array of operations,
 *  or {"data":[…]}. Paths are relative to `data` (`/successful`); a leading
 *  `/data/` is accepted and stripped. Nothing outside `data` can change. The
 *  patched record must still be valid. All operations apply or none.
 *  A patch that leaves the record as it was changes nothing.
 *  @return 0; WB_EINVALID (bad patch, failed `test`, invalid result, naming
 *          the operation and field); WB_ENOTFOUND; WB_ECONFLICT when a
 *          delete of the record is pending.
 *  Threads: owner. Fails: any. */
WB_API WB_WARN_UNUSED int wb_interaction_update(wb_store *store, const char *id,
                                                const char *patch);

/** Soft-delete a record. The tombstone stays until purged.
 *  @return 0; WB_ENOTFOUND (unknown or already deleted).
 *  Threads: owner. Fails: io. */
WB_API WB_WARN_UNUSED int wb_interaction_delete(wb_store *store, const char *id);

/** Order of query results. */
WB_ENUM(wb_order){
    WB_ORDER_TIME_ASC = 0,     /**< data.timestamp, then id (default) */
    WB_ORDER_TIME_DESC = 1,
    WB_ORDER_MODIFIED_ASC = 2, /**< meta.modified, then id */
    WB_ORDER_MODIFIED_DESC = 3
};

/** Which tombstones a query returns. */
WB_ENUM(wb_deleted_filter){
    WB_DELETED_EXCLUDE = 0, /**< live records only (default) */
    WB_DELETED_INCLUDE = 1, /**< live records and tombstones */
    WB_DELETED_ONLY = 2     /**< tombstones only */
};

#define WB_QUERY_VERSION 1
/** A query. NULL strings and zero numbers mean "no constraint". */
typedef struct wb_query {
    unsigned int version;                  /**< WB_QUERY_VERSION */
    const char *WB_NULLABLE campaign_id;
    const char *WB_NULLABLE contact_id;
    const char *WB_NULLABLE household_id;
    const char *WB_NULLABLE walklist_id;
    unsigned int states;                   /**< WB_STATE_... bits; 0 = any */
    int deleted;                           /**< wb_deleted_filter */
    const char *WB_NULLABLE since;         /**< timestamp >= since (inclusive) */
    const char *WB_NULLABLE until;         /**< timestamp < until (exclusive) */
    int order;                             /**< wb_order */
    unsigned int limit;                    /**< page size; 0 = no limit */
    const char *WB_NULLABLE cursor;        /**< from wb_iter_cursor() of the
                                                previous page, or NULL */
} wb_query;
#define WB_QUERY_INIT {WB_QUERY_VERSION, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0, 0, NULL}

/** An iterator over query results. */
typedef struct wb_iter wb_iter;

/** Run a query. @p query NULL means all live records in time order.
 *  @return 0; WB_EINVALID naming the bad member (UUID, timestamp, cursor).
 *  Threads: owner. The iterator belongs to the store's thread; free it
 *  before or after the store (a store freed first is closed when its last
 *  iterator goes). Fails: any. */
WB_API WB_WARN_UNUSED int wb_interaction_query(wb_iter *WB_NULLABLE *WB_NONNULL out,
                                               wb_store *store,
                                               const wb_query *WB_NULLABLE query);

/** The next envelope. @p *out_json is borrowed: valid until the next call
 *  on the iterator.
 *  @return 0; WB_ITEROVER at the end; an error code otherwise.
 *  Threads: owner. Fails: oom, io. */
WB_API WB_WARN_UNUSED int wb_iter_next(const char *WB_NULLABLE *WB_NONNULL out_json,
                                       wb_iter *iter);

/** An opaque cursor that continues after the last record returned, for the
 *  next page's wb_query.cursor; NULL before the first record. Borrowed:
 *  valid until the next call on the iterator. Threads: owner. Fails: never. */
WB_API const char *WB_NULLABLE wb_iter_cursor(const wb_iter *iter);

/** Free an iterator. NULL is fine. Threads: owner. Fails: never. */
WB_API void wb_iter_free(wb_iter *WB_NULLABLE iter);

/** Count the records a query would return (limit and cursor ignored).
 *  Threads: owner. Fails: io. */
WB_API WB_WARN_UNUSED int wb_interaction_count(uint64_t *out, wb_store *store,
                                               const wb_query *WB_NULLABLE query);

/** Remove tombstones whose delete the server has acknowledged (or that never
 *  reached the server) and that are older than @p older_than_ms.
 *  @param[out] out_purged  number removed; may be NULL
 *  Threads: owner. Fails: io. */
WB_API WB_WARN_UNUSED int wb_interaction_purge(uint64_t *WB_NULLABLE out_purged, wb_store *store,
                                               int64_t older_than_ms);
/** @} */

/** @defgroup wb_sync Sync with a Polis server
 *  The engine pushes local changes (exactly once per create, even against a
 *  server that ignores client ids), pulls remote changes incrementally and
 *  merges. It works on its own connection to the store file, so the app
 *  keeps recording on its handle while a sync runs on another thread.
 *  @{ */

/** Route version and body shapes of the server. */
WB_ENUM(wb_api_flavour){
    WB_API_V2 = 0, /**< /v2/interactions, flat create body (newest docs) */
    WB_API_V1 = 1  /**< /v1/interactions, {"data":{…}} create body */
};

/** What happens when a record changed on both sides. */
WB_ENUM(wb_sync_policy){
    WB_POLICY_MERGE = 0,       /**< three-way merge per JSON Pointer (default);
                                    a field changed on both sides takes
                                    wb_sync_options.prefer_remote's side */
    WB_POLICY_SERVER_WINS = 1, /**< the server's version replaces local edits */
    WB_POLICY_CLIENT_WINS = 2, /**< local values are written over the server's */
    WB_POLICY_MANUAL = 3       /**< records with overlapping edits are parked as
                                    conflict for wb_conflict_resolve */
};

/** One HTTP header. */
typedef struct wb_http_header {
    const char *name;
    const char *value;
} wb_http_header;

/** A request the engine asks the transport to send. */
typedef struct wb_http_request {
    const char *method;              /**< "GET", "POST", "PATCH", "DELETE" */
    const char *url;                 /**< absolute */
    const wb_http_header *headers;   /**< Authorization, Content-Type, etag… */
    size_t n_headers;
    const char *WB_NULLABLE body;    /**< JSON text or NULL */
    size_t body_len;
    int timeout_ms;
} wb_http_request;

/** What the transport fills in. */
typedef struct wb_http_response {
    int status;                   /**< HTTP status; 0 when no response came */
    char *WB_NULLABLE body;       /**< allocated by the transport; released
                                       with its free_body */
    size_t body_len;
    long retry_after_s;           /**< Retry-After in seconds, or -1 */
    int sent;                     /**< 1 when the request may have reached the
                                       server (a lost response), 0 when it
                                       certainly did not (connect failed) */
    int timed_out;                /**< 1 when no answer came within the timeout:
                                       the server may still be working on the
                                       request (the engine zeroes it; transports
                                       that cannot tell leave it 0) */
} wb_http_response;

#define WB_TRANSPORT_VERSION 1
/** A pluggable HTTP transport (the default is libcurl). */
typedef struct wb_transport {
    unsigned int version; /**< WB_TRANSPORT_VERSION */
    /** Send one request and wait for the answer. Return 0 when an HTTP
     *  response arrived (any status), WB_EOFFLINE when none did (fill
     *  `sent`). Called on the sync thread. */
    int (*send)(void *WB_NULLABLE ctx, const wb_http_request *req, wb_http_response *resp);
    /** Release a response body. */
    void (*free_body)(void *WB_NULLABLE ctx, char *WB_NULLABLE body);
    void *WB_NULLABLE ctx;
} wb_transport;

/** Progress of a run: reported once at the start of each phase (done 0),
 *  after every pushed record, and after each commit of pulled pages (one
 *  or more pages: wb_sync_options.pull_txn_records). */
typedef struct wb_sync_progress {
    int phase;         /**< 1 push, 2 pull */
    uint64_t done;     /**< records handled in this phase */
    uint64_t total;    /**< records to push (push), or 0 when unknown (pull) */
} wb_sync_progress;

#define WB_CLOCK_VERSION 1
/** Time for the engine's waits and retry schedule. The default is the
 *  system clock and a real sleep that a cancel interrupts within 50 ms;
 *  hosts and tests plug their own (a test clock makes backoff and
 *  Retry-After waits instant and observable). */
typedef struct wb_clock {
    unsigned int version; /**< WB_CLOCK_VERSION */
    /** Milliseconds since 1970-01-01 UTC; when the next attempt of a
     *  deferred record is due and the report's duration. NULL = system. */
    int64_t (*WB_NULLABLE now_ms)(void *WB_NULLABLE ctx);
    /** Wait @p ms (backoff, Retry-After). NULL = real sleep. Called on the
     *  sync thread; should return early once wb_sync_cancel was called. */
    void (*WB_NULLABLE sleep_ms)(void *WB_NULLABLE ctx, int64_t ms);
    void *WB_NULLABLE ctx;
} wb_clock;

/** Where PATCH operation paths start (polis-api.md G10). */
WB_ENUM(wb_patch_paths){
    WB_PATCH_PATHS_RELATIVE = 0, /**< relative to data: "/successful" (newest docs) */
    WB_PATCH_PATHS_DATA = 1      /**< under data: "/data/successful" (2019-2020 docs) */
};

/** 2 added `clock` and `patch_paths`; 3 added `send_signatures`, 4 `parallel`,
 *  5 `use_saved_token`, 6 `pull_txn_records`. Older structs (without them)
 *  are still accepted. */
#define WB_SYNC_OPTIONS_VERSION 6
typedef struct wb_sync_options {
    unsigned int version;            /**< WB_SYNC_OPTIONS_VERSION */
    const char *WB_NULLABLE base_url;/**< e.g. "https://api.polisapp.com" (required) */
    int api;                         /**< wb_api_flavour */
    const char *WB_NULLABLE token;   /**< bearer token; copied, wiped on free */
    int policy;                      /**< wb_sync_policy */
    int prefer_remote;               /**< side of fields changed on both sides (merge) */
    unsigned int page_size;          /**< pull page size; default 200, at least 2 */
    int timeout_ms;                  /**< per request; default 30000 */
    int connect_timeout_ms;          /**< default 10000 */
    int max_attempts;                /**< per record per run before deferring; default 5 */
    int backoff_base_ms;             /**< first retry delay; default 500 */
    int backoff_max_ms;              /**< cap; default 60000 */
    const char *WB_NULLABLE ca_file; /**< CA bundle (Android has no system one for curl) */
    const char *WB_NULLABLE ca_path;
    const char *WB_NULLABLE proxy;
    const wb_transport *WB_NULLABLE transport; /**< NULL = libcurl */
    /** Progress; non-zero return cancels the run. May be NULL. Called on
     *  the thread running wb_sync_run. */
    int (*WB_NULLABLE progress)(const wb_sync_progress *p, void *WB_NULLABLE userdata);
    /** Asked once per run after a 401: write a new token (the engine copies
     *  it) and return 0, or non-zero to stop. May be NULL. Called on the
     *  thread running wb_sync_run. */
    int (*WB_NULLABLE token_refresh)(char *buf, size_t buf_size, void *WB_NULLABLE userdata);
    void *WB_NULLABLE userdata;
    /* ---- version 2 ---- */
    const wb_clock *WB_NULLABLE clock; /**< NULL = system clock, real sleep (copied) */
    int patch_paths;                 /**< wb_patch_paths; default relative to data */
    /* ---- version 3 ---- */
    /** 1: each create carries its signed log entry in the optional
     *  `walkbookSignature` member (README, "Signatures on the wire"). Only
     *  for a server configured to accept it (walkbook-server
     *  --accept-signatures); others refuse or store the unknown member.
     *  Default 0: nothing extra is sent. */
    int send_signatures;
    /* ---- version 4 ---- */
    /** Connections the push sends on at once (1 to 16; 0 = 1). Each record
     *  still goes out exactly once and its own requests in order; only
     *  different records overlap. With a caller's transport the push uses
     *  one connection (its send may not be safe on several threads). */
    unsigned int parallel;
    /* ---- version 5 ---- */
    /** 1: `token` must be NULL; each wb_sync_run reads the token saved in
     *  the store (wb_store_save_token) when it starts (WB_ENOTFOUND when
     *  none is), and a new token that `token_refresh` gives during the run
     *  is saved in its place at once. Default 0: the token is `token`,
     *  held in memory only. */
    int use_saved_token;
    /* ---- version 6 ---- */
    /** Records the pull applies in one transaction: 0 = 500, at most
     *  10 000. Pages that follow each other share a transaction while the
     *  next one is already in (the write lock is never held while waiting
     *  on the network) and for at most about 50 ms (the app's writes wait
     *  for it), each page moving the watermark with its records; a page is
     *  never split. Fewer commits write less to the WAL. 1 = a transaction
     *  per page. */
    unsigned int pull_txn_records;
} wb_sync_options;
#define WB_SYNC_OPTIONS_INIT                                                                      \
    {WB_SYNC_OPTIONS_VERSION, NULL, WB_API_V2, NULL, WB_POLICY_MERGE, 0, 200, 30000, 10000, 5,   \
     500, 60000, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, WB_PATCH_PATHS_RELATIVE, 0, 1,  \
     0, 0}

/** Fill @p opts with defaults for @p version (as WB_SYNC_OPTIONS_INIT).
 *  @return 0; WB_EINVALID for an unknown version. Threads: any. Fails: never. */
WB_API int wb_sync_options_init(wb_sync_options *opts, unsigned int version);

typedef struct wb_sync wb_sync;

/** Prepare a sync of the store file at @p store_path (opened again, on a
 *  connection of the sync's own). @p store_opts may be NULL.
 *  @return 0; WB_EINVALID naming the option; errors of wb_store_open.
 *  Threads: any; the handle is then owner-only (one call at a time), except
 *  wb_sync_cancel. Fails: any. */
WB_API WB_WARN_UNUSED int wb_sync_new(wb_sync *WB_NULLABLE *WB_NONNULL out, const char *store_path,
                                      const wb_store_options *WB_NULLABLE store_opts,
                                      const wb_sync_options *opts);

/** Run one sync: push, then pull. Blocks; run it on a background thread.
 *  @param[out] out_report  NULL, or a JSON report (wb_free), also after a
 *      failed run: {"pushed":{created,updated,deleted,rejected,deferred},
 *      "pulled":{inserted,updated,deleted,merged,conflicts,refused},
 *      "requests","bytesSent","bytesReceived","durationMs"}.
 *  @return 0 when it ran to the end (records may remain pending, rejected or
 *  in conflict: see the report); WB_EAUTH (401 after one refresh, or a
 *  token of another customer than the store's);
 *  WB_EOFFLINE (server unreachable); WB_ERROR (cancelled, see message).
 *  Threads: owner of the sync handle; wb_store handles on the same file
 *  may be used on other threads meanwhile. Callbacks run on this thread.
 *  Fails: any. */
WB_API WB_WARN_UNUSED int wb_sync_run(char *WB_NULLABLE *WB_NULLABLE out_report, wb_sync *sync);

/** Ask a running wb_sync_run to stop at the next request boundary.
 *  Threads: any, also while wb_sync_run runs on another thread (but not
 *  concurrently with or after wb_sync_free). Fails: never. */
WB_API void wb_sync_cancel(wb_sync *sync);

/** Also pull, after the interactions, the reference data a canvasser needs
 *  offline (off by default): campaigns, their surveys, and for each list of
 *  a cached campaign the list and its contact-households with the contact
 *  and the household (walk lists, see wb_walklist_next), incrementally by
 *  meta.modified watermark with tombstones, like the interactions. A server
 *  without these routes leaves the caches as they are.
 *  @return 0; WB_EINVALID while the sync runs. Threads: owner of the sync.
 *  Fails: never (bad argument only). */
WB_API int wb_sync_pull_reference(wb_sync *sync, int enable);

/** Free a sync handle (not while it runs). NULL is fine. Threads: owner;
 *  no wb_sync_cancel may overlap it. Fails: never. */
WB_API void wb_sync_free(wb_sync *WB_NULLABLE sync);

/** What to keep when resolving a conflict. */
WB_ENUM(wb_resolution){
    WB_TAKE_LOCAL = 0,   /**< this device's values for the fields changed on
                              both sides; one-sided changes of either side kept */
    WB_TAKE_REMOTE = 1,  /**< the server's values for the fields changed on both
                              sides; one-sided changes of either side kept */
    WB_TAKE_DOCUMENT = 2 /**< a caller-edited data object */
};

/** A parked conflict as JSON: {"id","local":{data},"remote":{envelope},
 *  "paths":[{"path","base","local","remote"}…]}.
 *  @return 0; WB_ENOTFOUND when the record is not in conflict.
 *  Threads: owner of the store. Fails: oom, io. */
WB_API WB_WARN_UNUSED int wb_conflict_get(char *WB_NULLABLE *WB_NONNULL out_json, wb_store *store,
                                          const char *id);

/** Resolve a conflict. @p document is the data object for
 *  WB_TAKE_DOCUMENT (validated like a record), else NULL.
 *  @return 0; WB_ENOTFOUND; WB_EINVALID naming the field.
 *  Threads: owner of the store. Fails: any. */
WB_API WB_WARN_UNUSED int wb_conflict_resolve(wb_store *store, const char *id, int resolution,
                                              const char *WB_NULLABLE document);
/** @} */

/** @defgroup wb_geo Geodesy
 *  @{ */
/** Geodesic distance on the WGS84 ellipsoid between two points given in
 *  degrees, in metres (Karney's method: accurate to well under a millimetre,
 *  and finite for nearly antipodal points).
 *  @return 0; WB_EINVALID naming the argument out of range or not finite.
 *  Threads: any. Fails: never (bad input only). */
WB_API WB_WARN_UNUSED int wb_geodesic_distance(double *out_metres, double lat1, double lng1,
                                               double lat2, double lng2);
/** Metres to statute miles (1 mile = 1609.344 m). Threads: any. Fails: never. */
WB_API double wb_metres_to_miles(double metres);
/** @} */

/** @defgroup wb_walk Walk lists offline: reference data, GPS fixes, fraud signals
 *  A canvasser downloads a walk list before leaving signal. The store keeps
 *  read-only copies of the reference records it needs (campaigns, surveys
 *  with their questions, lists, households with address and location,
 *  contacts, contact-household links), turns the phone's GPS fix into the
 *  Polis `distance` (geodesic statute miles from the fix to the household)
 *  and flags knocks that look wrong. Missing GPS never blocks recording.
 *  @{ */

/** Cache (or replace) one reference record.
 *  @param resource  "campaigns", "surveys", "lists", "households",
 *                   "contacts" or "contact-households"
 *  @param envelope  {"id","data","meta"} as the server returns it; with
 *                   meta.isDeleted true it is a tombstone (the record leaves
 *                   every walk list). An envelope whose meta.modified is
 *                   older than the cached copy's is ignored.
 *  Households keep data.address.data.coords {lat,lng} for distances and the
 *  geo index; a link's data {contactId, householdId} feeds the contact
 *  check; a campaign's data.lists[].listId become walk lists of it.
 *  @return 0; WB_EINVALID naming the member ("households.data.address.
 *          data.coords.lat: must be between -90 and 90").
 *  Threads: owner. Fails: any. */
WB_API WB_WARN_UNUSED int wb_ref_upsert(wb_store *store, const char *resource,
                                        const char *envelope);

/** One cached reference record's envelope.
 *  @return 0; WB_ENOTFOUND (also for tombstones); WB_EINVALID.
 *  Threads: owner. Fails: oom, io. */
WB_API WB_WARN_UNUSED int wb_ref_get(char *WB_NULLABLE *WB_NONNULL out_json, wb_store *store,
                                     const char *resource, const char *id);

/** Every live cached record of a resource, as a JSON array of envelopes in
 *  id order. Threads: owner. Fails: oom, io. */
WB_API WB_WARN_UNUSED int wb_ref_list(char *WB_NULLABLE *WB_NONNULL out_json, wb_store *store,
                                      const char *resource);

/** Put a cached household on a walk list (idempotent). @p campaign_id may be
 *  NULL; when given it becomes the walk list's campaign.
 *  @return 0; WB_EINVALID naming a bad UUID. Threads: owner. Fails: io. */
WB_API WB_WARN_UNUSED int wb_walklist_add_household(wb_store *store, const char *walklist_id,
                                                    const char *WB_NULLABLE campaign_id,
                                                    const char *household_id);

/** Import households or contacts prepared on a desktop, all or nothing in
 *  one transaction.
 *  @param kind  "households" or "contacts"
 *  @param text  CSV with a header row, or a GeoJSON FeatureCollection of
 *               Point features ([lng, lat]) with `id` in their properties.
 *               Households: id, lat, lng required; address, walklistId,
 *               campaignId optional. Contacts: id required; householdId,
 *               contactHouseholdId, given, surname, walklistId optional.
 *  @param[out] out_count  records imported; may be NULL
 *  @return 0; WB_EINVALID with the row and field ("line 4: lat: must be
 *          between -90 and 90", "features[2].properties.id: required");
 *          nothing is stored then. Threads: owner. Fails: any. */
WB_API WB_WARN_UNUSED int wb_ref_import(uint64_t *WB_NULLABLE out_count, wb_store *store,
                                        const char *kind, const char *text, size_t len);

/** Walk lists known to the store: [{"id","name","campaignId","households"}].
 *  Threads: owner. Fails: oom, io. */
WB_API WB_WARN_UNUSED int wb_walklist_list(char *WB_NULLABLE *WB_NONNULL out_json,
                                           wb_store *store);

/** One walk list: {"id","name","campaignId","households":[{"id","address",
 *  "lat","lng","knocked"}…]} (households in id order).
 *  @return 0; WB_ENOTFOUND. Threads: owner. Fails: oom, io. */
WB_API WB_WARN_UNUSED int wb_walklist_show(char *WB_NULLABLE *WB_NONNULL out_json, wb_store *store,
                                           const char *walklist_id);

/** Progress of a walk list: {"walklistId","households","knocked",
 *  "remaining","successful","unavailable"}. A household is knocked when a
 *  live interaction has its householdId and this walklistId (or none);
 *  successful when one of them has successful true; unavailable when it is
 *  knocked, not successful, and every knock had unavailable true.
 *  @return 0; WB_ENOTFOUND. Threads: owner. Fails: io. */
WB_API WB_WARN_UNUSED int wb_walklist_progress(char *WB_NULLABLE *WB_NONNULL out_json,
                                               wb_store *store, const char *walklist_id);

/** wb_walklist_next flag: scan every household instead of using the index
 *  (the baseline for benchmarks and checks; same answer, slower). */
#define WB_NEXT_SCAN 0x1u

/** The @p k nearest not-yet-knocked households of a walk list to a point,
 *  nearest first: [{"id","address","lat","lng","metres"}…] (fewer when
 *  fewer remain; households without coordinates are never "next"). Uses
 *  the R*Tree index: cost grows with k, not with the list.
 *  @return 0; WB_EINVALID (lat, lng, k 1..1000); WB_ENOTFOUND.
 *  Threads: owner. Fails: oom, io. */
WB_API WB_WARN_UNUSED int wb_walklist_next(char *WB_NULLABLE *WB_NONNULL out_json, wb_store *store,
                                           const char *walklist_id, double lat, double lng,
                                           unsigned int k, unsigned int flags);

/** How recording checks an interaction against the cached reference data
 *  (survey questions and allowed answers, contact belonging to the
 *  household, household on the walk list). A reference missing from the
 *  cache is only ever a warning: the phone's copy may be stale. */
WB_ENUM(wb_check_mode){
    WB_CHECK_DEFAULT = 0, /**< the campaign's setting ("validation"), else warn */
    WB_CHECK_STRICT = 1,  /**< refuse (WB_EINVALID) what contradicts the cache */
    WB_CHECK_WARN = 2,    /**< record, and store the findings as warnings */
    WB_CHECK_OFF = 3      /**< no checks */
};

#define WB_RECORD_OPTIONS_VERSION 1
/** The canvasser's fix and the checks for wb_interaction_record_ex. */
typedef struct wb_record_options {
    unsigned int version;           /**< WB_RECORD_OPTIONS_VERSION */
    int has_fix;                    /**< 0: no fix (flagged missing_fix) */
    double lat, lng;                /**< degrees, WGS84 */
    double accuracy_m;              /**< horizontal accuracy in metres; < 0 unknown */
    const char *WB_NULLABLE fix_time; /**< Polis timestamp of the fix; NULL unknown */
    int check;                      /**< wb_check_mode */
} wb_record_options;
#define WB_RECORD_OPTIONS_INIT {WB_RECORD_OPTIONS_VERSION, 0, 0.0, 0.0, -1.0, NULL, WB_CHECK_DEFAULT}

/** Fill @p opts with defaults. @return 0; WB_EINVALID for an unknown
 *  version. Threads: any. Fails: never. */
WB_API int wb_record_options_init(wb_record_options *opts, unsigned int version);

/** Record an interaction with the canvasser's GPS fix (as
 *  wb_interaction_record otherwise). With a fix, data.location becomes
 *  {lat, lng, confidence: accuracy}; without one, a location in the body
 *  is taken as the fix. When the body names a householdId whose location
 *  is cached, data.distance = geodesic statute miles from the fix to it.
 *  Fraud signals are stored with the record (see wb_interaction_signals):
 *  missing_fix, far_from_door (beyond the campaign's nearMetres, default
 *  100), very_far_from_door (beyond farMetres, default 300), stale_fix (fix
 *  older than staleSeconds, default 120, when recorded), poor_accuracy
 *  (beyond poorAccuracyMetres, default 50), implausible_speed (faster than
 *  maxSpeedMps, default 50, from this canvasser's previous fixed knock),
 *  no_household_location. @p opts NULL: no fix, default checks.
 *  @return 0; WB_EINVALID naming the field (also "fix.lat", and cache
 *          contradictions in strict mode); as wb_interaction_record.
 *  Threads: owner. Fails: any. */
WB_API WB_WARN_UNUSED int wb_interaction_record_ex(char *WB_NULLABLE *WB_NULLABLE out_id,
                                                   wb_store *store, const char *body,
                                                   const wb_record_options *WB_NULLABLE opts);

/** The fix, distance, signals and warnings of one interaction:
 *  {"id","fix":{"lat","lng","accuracy","time"}|null,"distanceMetres"|null,
 *  "signals":[…],"warnings":[…]}. Records made without
 *  wb_interaction_record_ex have none: {"id","fix":null,…,"signals":[]}.
 *  @return 0; WB_ENOTFOUND. Threads: owner. Fails: oom, io. */
WB_API WB_WARN_UNUSED int wb_interaction_signals(char *WB_NULLABLE *WB_NONNULL out_json,
                                                 wb_store *store, const char *id);

/** Live interactions raising @p signal (NULL: any signal), as a JSON array
 *  of wb_interaction_signals objects in id order.
 *  Threads: owner. Fails: oom, io. */
WB_API WB_WARN_UNUSED int wb_interaction_flagged(char *WB_NULLABLE *WB_NONNULL out_json,
                                                 wb_store *store,
                                                 const char *WB_NULLABLE signal);

/** Set a campaign's thresholds and validation mode from a JSON object with
 *  any of nearMetres, farMetres, staleSeconds, poorAccuracyMetres,
 *  maxSpeedMps (positive numbers) and validation ("strict", "warn",
 *  "off"); members not given keep their value.
 *  @return 0; WB_EINVALID naming the member. Threads: owner. Fails: io. */
WB_API WB_WARN_UNUSED int wb_campaign_settings_set(wb_store *store, const char *campaign_id,
                                                   const char *json);

/** A campaign's effective settings (defaults filled in) as JSON.
 *  Threads: owner. Fails: oom, io. */
WB_API WB_WARN_UNUSED int wb_campaign_settings_get(char *WB_NULLABLE *WB_NONNULL out_json,
                                                   wb_store *store, const char *campaign_id);

/** Add a fix to the canvasser's breadcrumb track. A point closer than
 *  @p min_spacing_m to the last kept one is dropped (*out_kept = 0).
 *  @param time  Polis timestamp; NULL = now
 *  @return 0; WB_EINVALID naming lat, lng, accuracy or time.
 *  Threads: owner. Fails: io. */
WB_API WB_WARN_UNUSED int wb_track_add(int *WB_NULLABLE out_kept, wb_store *store, double lat,
                                       double lng, double accuracy_m,
                                       const char *WB_NULLABLE time, double min_spacing_m);

/** The track between @p since (inclusive) and @p until (exclusive), NULL =
 *  open: {"points":N,"metres":M,"miles":MI,"coordinates":[[lng,lat]…]}
 *  (total distance walked along the kept points).
 *  Threads: owner. Fails: oom, io. */
WB_API WB_WARN_UNUSED int wb_track_get(char *WB_NULLABLE *WB_NONNULL out_json, wb_store *store,
                                       const char *WB_NULLABLE since,
                                       const char *WB_NULLABLE until);

/** Delete track points older than @p before (NULL: all).
 *  Threads: owner. Fails: io. */
WB_API WB_WARN_UNUSED int wb_track_purge(uint64_t *WB_NULLABLE out_purged, wb_store *store,
                                         const char *WB_NULLABLE before);
/** @} */

/** @defgroup wb_json JSON helpers
 *  @{ */
/** Apply an RFC 6902 JSON Patch to a JSON document (whole-document paths).
 *  @return 0; WB_EINVALID naming the failing operation.
 *  Threads: any. Fails: oom. */
WB_API WB_WARN_UNUSED int wb_json_patch_apply(char *WB_NULLABLE *WB_NONNULL out_json,
                                              const char *document, const char *patch);
/** A JSON Patch that turns @p from into @p to.
 *  Threads: any. Fails: oom. */
WB_API WB_WARN_UNUSED int wb_json_diff(char *WB_NULLABLE *WB_NONNULL out_patch, const char *from,
                                       const char *to);
/** @} */

WB_ASSUME_NONNULL_END

#if defined(__clang__)
#pragma clang diagnostic pop
#endif

#ifdef __cplusplus
}
#endif
#endif /* WALKBOOK_H */
