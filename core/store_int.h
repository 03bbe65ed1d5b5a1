/*
 * store_int.h - the wb_store handle and helpers shared by the store's
 * modules (store.c, identity.c, interaction.c, query.c) and by sync/.
 */
#ifndef WB_STORE_INT_H
#define WB_STORE_INT_H

#include <sqlite3.h>

#include "common.h"
#include "uuid.h"

/* PRAGMA application_id of every walkbook store: "WALK" in ASCII. */
#define WB_APPLICATION_ID 0x57414C4B

/* Tenancy: a record is visible when it has no security group or one of the
 * groups of the store's identity. Appended to every read of interactions
 * that the API hands out, so no query returns another group's records. */
#define WB_TENANCY_FILTER                                                                        \
    "(security_group_id IS NULL OR security_group_id IN"                                         \
    " (SELECT g.value FROM identity, json_each(identity.security_groups) AS g))"

/* interactions.base, the last version both sides agreed on (the base of
 * the next diff and merge). A pulled record's base is its data, and is not
 * stored twice: base NULL with a base_etag means "the same as data" (base
 * NULL without one: never acknowledged). Every read of the base goes
 * through WB_BASE_SQL; every statement that changes data or leaves the
 * synced state keeps the base with WB_BASE_KEEP_SQL (SET reads the old
 * data), so a base is only ever implied while data still equals it. */
#define WB_BASE_IMPLIED_SQL "(base IS NULL AND base_etag IS NOT NULL)"
#define WB_BASE_SQL                                                                              \
    "CASE WHEN " WB_BASE_IMPLIED_SQL " THEN wb_open('interactions', 'data', local_id, data)"    \
    " ELSE wb_open('interactions', 'base', local_id, base) END"
#define WB_BASE_KEEP_SQL                                                                         \
    "base = CASE WHEN " WB_BASE_IMPLIED_SQL " THEN wb_seal('interactions', 'base', local_id,"   \
    " wb_open('interactions', 'data', local_id, data)) ELSE base END"

/* 1 when a create of the interactions row may have reached the server:
 * the push marked it (schema 011, create_marks) and no server id came. */
#define WB_CREATE_MARKED                                                                         \
    "(server_id IS NULL AND EXISTS (SELECT 1 FROM create_marks AS m"                             \
    " WHERE m.local_id = interactions.local_id))"

/* The interactions row (t: "" or an alias with its dot) whose server id is
 * the parameter p, when that differs from its local id: the term SQLite
 * needs to use the partial index interactions_server_id (schema 012). A
 * row whose server id equals its local id is found by local_id = p. */
#define WB_SERVER_ID_IS(t, p) t "server_id = " p " AND " t "server_id <> " t "local_id"

/* Cached prepared statements, one slot each. */
enum wb_stmt_id {
    WB_STMT_INSERT,
    WB_STMT_GET,
    WB_STMT_UPDATE_DATA,
    WB_STMT_DELETE,
    WB_STMT_LOG_LAST,
    WB_STMT_LOG_INSERT,
    WB_STMT_LOG_SIGN,
    /* Reference data and walk lists (refdata.c, walklist.c). */
    WB_STMT_REF_MODIFIED,
    WB_STMT_REF_PUT,
    WB_STMT_HH_PUT,
    WB_STMT_HH_DELETE,
    WB_STMT_HH_GET,
    WB_STMT_WL_GET,
    WB_STMT_MEMBER_PUT,
    WB_STMT_MEMBERS_OF_HH,
    WB_STMT_GEO_PUT,
    WB_STMT_GEO_DELETE,
    WB_STMT_NEXT_BOX,
    WB_STMT__COUNT
};

struct wb_store {
    sqlite3 *db;
    int readonly;
    int schema_version;

    /* Identity, cached after it is read or set (empty strings: not set). */
    int has_identity;
    char customer_id[WB_UUID_LEN + 1];
    char user_id[WB_UUID_LEN + 1];
    char security_group_id[WB_UUID_LEN + 1]; /* group of new records, or "" */

    sqlite3_stmt *stmts[WB_STMT__COUNT];
    /* The sync engine's per-record statements, prepared once (syncstore.c,
     * keyed by the address of their SQL text). */
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } sync_stmts[16];

    /* Local meta.modified values are kept strictly increasing per handle, so
     * that two changes in one millisecond still order. */
    int64_t last_modified_ms;
    /* Clock; tests replace it. */
    int64_t (*now_ms)(void *ctx);
    void *now_ctx;

    /* Encryption at rest (crypto.c): keys in sodium_malloc'd memory. */
    int encrypted;
    struct wb_keys *keys;     /* NULL only while opening */
    struct wb_keys *rekey_to; /* the new keys during wb_store_rekey */

    /* The open transaction appended a log entry without a signature
     * (log.c): wb_store__commit signs the log's last entry first. */
    int log_unsigned;

    /* The log's last entry as this transaction appended it (log.c), so the
     * next append in the same transaction need not read it back. Forgotten
     * by the commit and rollback hooks (store.c), whatever ends the
     * transaction. */
    int log_tail_known;
    int64_t log_tail_seq;
    unsigned char log_tail_digest[32];

    /* Iterators alive; wb_store_free defers the close until they are gone. */
    int live_iters;
    int free_requested;
};

/* Map an SQLite result code to a WB_E… code with a message "<what>: <sqlite
 * message>", attaching the extended code. Returns the WB code. */
int wb_store__sqlite_error(wb_store *store, int rc, const char *what);
int wb_store__sqlite_error_db(sqlite3 *db, int rc, const char *what);

/* Prepared statement from the cache (reset, bindings cleared). */
int wb_store__stmt(sqlite3_stmt **out, wb_store *store, enum wb_stmt_id id);

/* Transactions. begin is BEGIN IMMEDIATE: the write lock is taken up front,
 * so a read-modify-write never fails half way with SQLITE_BUSY. commit
 * signs the interaction log's last entry when the transaction left it
 * unsigned (log.c): a transaction that appends to the log must end with
 * wb_store__commit, never a bare COMMIT. */
int wb_store__begin(wb_store *store);
int wb_store__commit(wb_store *store);
void wb_store__rollback(wb_store *store);

/* Run one SQL statement without results. */
int wb_store__exec(wb_store *store, const char *sql);

/* WAL checkpoints of store's connection on a thread of their own
 * (checkpoint.c) until wb_ckpt__stop, for a long run of commits (the
 * pull): the thread copies the WAL whenever soft_frames new frames are in
 * it; past hard_frames the connection copies what is left itself, so that
 * the WAL starts again. The thread starts when the WAL first holds
 * soft_frames; if it cannot, the connection copies every soft_frames
 * itself. *out is NULL (SQLite's own checkpoints stay) when the store has
 * no WAL. 0 or WB_ENOMEM. A sync run's limits: 4 MiB and 128 MiB of 16 KiB
 * pages (with 8 MiB, a pull of 10 000 records ran 8 % slower and the
 * close had more left to copy: walkbook-sync-bench). */
#define WB_CKPT_SOFT_FRAMES 256
#define WB_CKPT_HARD_FRAMES 8192
typedef struct wb_ckpt wb_ckpt;
int wb_ckpt__start(wb_ckpt **out, wb_store *store, int soft_frames, int hard_frames);
/* Start the thread now rather than at soft_frames (before other threads
 * of the caller come and go: checkpoint.c, ckpt_main). */
void wb_ckpt__start_thread(wb_ckpt *c);
/* The thread's checkpoints that copied something so far. */
int wb_ckpt__passes(wb_ckpt *c);
/* Stop (NULL is fine). When the thread runs, it first makes a last pass:
 * the WAL is then complete, and the next writer starts it again. */
void wb_ckpt__stop(wb_ckpt *c);

/* The next local modification time (strictly increasing) as text. */
void wb_store__next_modified(wb_store *store, char *buf /* WB_TIMESTAMP_LEN + 1 */);
int64_t wb_store__now(wb_store *store);

/* Require an identity; WB_ENOTFOUND with a message otherwise. */
int wb_store__require_identity(wb_store *store);
/* Load the identity row into the cache; 0 also when none is set. */
int wb_store__load_identity(wb_store *store);

/* Migrate an open database to schema version `target` (all migrations when
 * target <= 0) in one transaction. Exposed for tests that make stores of an
 * older schema. */
int wb_store__migrate(sqlite3 *db, int target);

/* Replace the clock (tests). */
void wb_store__set_clock(wb_store *store, int64_t (*now_ms)(void *ctx), void *ctx);

/* Validate one interaction create body and insert it in the caller's
 * transaction (or autocommit); id receives the new local id
 * (WB_UUID_LEN + 1 bytes). interaction.c. */
int wb_interaction__insert(wb_store *store, const char *body, char *id);

/* The saved bearer token (token.c, schema 010): save (NULL or "" forgets
 * it) in one statement, inside the caller's transaction when one is open;
 * read into a wb__malloc'd string the caller wipes (wb_free_secret).
 * Neither resets the last error nor quotes the token in a message. */
int wb_store__save_token(wb_store *store, const char *token);
int wb_store__saved_token(char **out, wb_store *store);
/* 0 when token fits in a header line (no control character) and is not
 * too long; else WB_EINVALID with a message that does not quote it. */
int wb_token__check(const char *token);

/* Called by iterators. */
void wb_store__iter_opened(wb_store *store);
void wb_store__iter_closed(wb_store *store);

#endif
