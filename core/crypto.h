/*
 * crypto.h - sealing personal fields at rest, the store's keys and the
 * signed interaction log.
 *
 * A sealed value is a BLOB (the sealed columns are declared ANY since
 * migration 008; a plain store keeps TEXT there):  0x01 | nonce (24) |
 * XChaCha20-Poly1305 ciphertext and tag. Stores made before 008 kept the
 * same bytes as base64url TEXT; that migration decodes them once. The
 * associated data is "walkbook/1:<table>.<column>:
 * <row key>", so a ciphertext copied to another row or column fails to open
 * (reported as WB_ETAMPER, like any other modification).
 *
 * In a plain store (no key) seal and open copy the value unchanged, so the
 * callers need no branch. Any table can use these: pass its name, the
 * column and a stable row key (a UUID, never a rowid that VACUUM may
 * renumber).
 *
 * SQL functions registered on every connection of a store, for statements
 * that read or write sealed columns without a C round trip:
 *   wb_seal(table, column, row_key, value)   -> sealed BLOB (NULL stays NULL)
 *   wb_open(table, column, row_key, value)   -> plaintext TEXT
 * (in a plain store both return the value unchanged)
 * A failure inside them sets the walkbook error (WB_ETAMPER, WB_ENOMEM) and
 * makes the statement fail with SQLITE_AUTH; wb_store__sqlite_error then
 * passes that error through.
 */
#ifndef WB_CRYPTO_H
#define WB_CRYPTO_H

#include <cjson/cJSON.h>
#include <sodium.h>

#include "store_int.h"

#define WB_CRYPTO_VERSION_BYTE 0x01
#define WB_CRYPTO_OVERHEAD                                                                       \
    (1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES)

/* Key material of an open store, in guarded memory (sodium_malloc: locked,
 * not swapped, wiped on free). */
typedef struct wb_keys {
    unsigned char field[crypto_aead_xchacha20poly1305_ietf_KEYBYTES]; /* seals fields */
    unsigned char sign_sk[crypto_sign_SECRETKEYBYTES];
    unsigned char sign_pk[crypto_sign_PUBLICKEYBYTES];
    int has_sign;
} wb_keys;

/* Append the sealed form of plain[0..len) to out (NUL-terminated; binary
 * in an encrypted store, the text itself in a plain one). Bind it with
 * wb_crypto__bind_sealed. */
int wb_crypto__seal(wb_buf *out, const wb_store *store, const char *table, const char *column,
                    const char *row_key, const char *plain, size_t len);
/* Append the plaintext of a sealed value to out (NUL-terminated).
 * WB_ETAMPER when it does not authenticate (edited, truncated, moved from
 * another row or column, or plaintext where a sealed value belongs). */
int wb_crypto__open(wb_buf *out, const wb_store *store, const char *table, const char *column,
                    const char *row_key, const char *sealed, size_t len);

/* Bind what wb_crypto__seal made: a BLOB in an encrypted store, TEXT in a
 * plain one. SQLITE_STATIC: out must outlive the statement's step. */
int wb_crypto__bind_sealed(sqlite3_stmt *st, int idx, const wb_store *store, const wb_buf *sealed);
/* Open column col of the current row of st (sealed BLOB, or the TEXT of a
 * plain store), read without SQLite converting or copying it. */
int wb_crypto__open_column(wb_buf *out, const wb_store *store, const char *table,
                           const char *column, const char *row_key, sqlite3_stmt *st, int col);

/* Wipe then free plaintext: a heap string (set to NULL), or a buffer's
 * contents (the buffer stays usable, empty). */
void wb_crypto__wipe_free(char **text);
void wb_crypto__wipe_buf(wb_buf *b);

/* Register wb_seal/wb_open on the store's connection. */
int wb_crypto__register(wb_store *store);
/* Register what the migrations call (wb_unbase64, migration 008) on a
 * connection; returns an SQLite result code. */
int wb_crypto__register_migration(sqlite3 *db);

/* At open, after the migrations: check or set up the keys according to the
 * options (WB_EKEY for a wrong, missing or unexpected key). */
int wb_crypto__open_keys(wb_store *store, const wb_store_options *opts);
/* Wipe and release the key material. */
void wb_crypto__close(wb_store *store);

/* Interaction log (log.c): append an entry for the record `local_id`
 * whose data is now `data_text` (NULL for a delete). Runs inside the
 * caller's transaction when one is open. Signed at once, except a server
 * version (WB_LOG_SYNC) inside a transaction: wb_store__commit signs the
 * transaction's last entry, which covers the ones before it. */
enum wb_log_kind {
    WB_LOG_RECORD = 1, /* recorded on this device */
    WB_LOG_UPDATE = 2, /* changed on this device */
    WB_LOG_DELETE = 3, /* deleted on this device */
    WB_LOG_SYNC = 4    /* data replaced by or merged with the server's version */
};
int wb_log__append(wb_store *store, const char *local_id, int kind, const char *data_text);
/* The same when the caller holds the parsed data: data_text must be
 * wb_json__print(data) (so nothing is parsed again). */
int wb_log__append_of(wb_store *store, const char *local_id, int kind, const char *data_text,
                      const cJSON *data);
/* The same with the content hash computed beforehand (wb_log__content_compact). */
int wb_log__append_content(wb_store *store, const char *local_id, int kind,
                           const unsigned char *content);
/* The same with the record's data as it now is in the store (after the sync
 * engine wrote it); nothing when the record does not exist. */
int wb_log__append_current(wb_store *store, const char *local_id, int kind);
/* Sign the log's last entry if it has no signature yet (wb_store__commit,
 * inside the transaction). */
int wb_log__sign_tail(wb_store *store);

/* ---- the log on the wire (log.c; walkbook-server verifies with these) ----
 * The formulas are in log.c's header comment and README ("Signatures on
 * the wire"). */
#define WB_LOG_HASH_BYTES 32
#define WB_LOG_ALGORITHM "walkbook-log/1"
/* A create carries at most this many links (entries before its own). */
#define WB_LOG_MAX_LINKS 1000
/* One link: seq (8 bytes, big endian) | kind (1) | content (32). */
#define WB_LOG_LINK_BYTES (8 + 1 + WB_LOG_HASH_BYTES)

/* content of a record whose data (compact JSON) is data_text, NULL for a
 * delete. WB_ECORRUPT when data_text is not JSON. */
int wb_log__content(unsigned char *out, const char *local_id, const char *data_text);
/* The same from a tree data_text was printed from (wb_json__print), or
 * from data_text parsed when data is NULL. */
/* wb_log__content of compact data text (wb_json__is_compact) of len bytes. */
void wb_log__content_compact(unsigned char *out, const char *local_id, const char *data_text,
                             size_t len);
int wb_log__content_of(unsigned char *out, const char *local_id, const char *data_text,
                       const cJSON *data);
/* The previous digest of entry 1. */
void wb_log__genesis(unsigned char *out, const unsigned char *public_key);
/* digest = BLAKE2b-256("walkbook-log/1" | prev | seq | kind | content). */
void wb_log__link(unsigned char *out, const unsigned char *prev, int64_t seq, int kind,
                  const unsigned char *content);
/* Append the signature object of record local_id whose data is data_text
 * (the latest entry that signed exactly that data, and the links since
 * the last entry a server acknowledged) to out; *out_seq receives the
 * entry's seq. WB_ENOTFOUND when no entry signed this data; WB_EKEY
 * without a device key. */
int wb_log__signature(wb_buf *out, int64_t *out_seq, wb_store *store, const char *local_id,
                      const char *data_text);
/* Note that the create of local_id went out with entry seq (007). */
int wb_log__signature_sent(wb_store *store, const char *local_id, int64_t seq);

#endif
