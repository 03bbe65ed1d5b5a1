/*
 * crypto.c - sealing personal fields, the store's keys, rekeying. See
 * crypto.h for the format and README "Data at rest" for what is sealed.
 *
 * Key hierarchy: the host app's 32-byte key (or Argon2id of a passphrase)
 * is the store key K. It is never stored and never used directly:
 *   field key = crypto_kdf(K, 1, "wbfields")   seals every personal field
 *   check key = crypto_kdf(K, 2, "wbkcheck")   keyed BLAKE2b of a constant,
 *                                              stored to tell a wrong key
 * K itself is wiped as soon as the subkeys are made.
 */
#include <string.h>

#include "crypto.h"
#include "timeutil.h"

#define KDF_ALG "argon2id13"
#define AD_MAX 160

static void finish_compaction(wb_store *store);

/* Every sealed column of the store, for rekeying: table, row key column,
 * sealed column. Add a row here for each new sealed column. */
static const struct {
    const char *table, *key_column, *column;
} sealed_columns[] = {
    {"interactions", "local_id", "data"},
    {"interactions", "local_id", "base"},
    {"interactions", "local_id", "conflict_remote"},
    {"interactions", "local_id", "conflict_paths"},
    {"interactions", "local_id", "last_error"},
    {"store_keys", "id", "sign_secret"},
    {"ref_records", "id", "envelope"},
    {"ref_households", "id", "address"},
    {"interaction_fixes", "local_id", "fix"},
    {"breadcrumbs", "seq", "point"},
    {"saved_token", "id", "token"},
};

/* "walkbook/1:<table>.<column>:<row key>", built with copies: this runs
 * once per value read. */
static size_t make_ad(unsigned char *ad, const char *table, const char *column,
                      const char *row_key)
{
    static const char prefix[] = "walkbook/1:";
    const char *parts[5] = {table, ".", column, ":", row_key};
    size_t n = sizeof(prefix) - 1;
    memcpy(ad, prefix, n);
    for (int i = 0; i < 5; i++) {
        size_t len = strlen(parts[i]);
        if (len > AD_MAX - 1 - n)
            len = AD_MAX - 1 - n;
        memcpy(ad + n, parts[i], len);
        n += len;
    }
    return n;
}

/* Base64url (no padding) of the format before 008, decoded once by that
 * migration (wb_unbase64). Table-driven: ciphertext is not secret, so the
 * constant-time codec of libsodium is not needed. */
/* Value of each base64url character, 64 for anything else. */
static const unsigned char b64_table[256] = {
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 62, 64, 64,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 64, 64, 64, 64, 64, 64,
    64,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 64, 64, 64, 64, 63,
    64, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
};

static int b64_val(unsigned char c)
{
    return b64_table[c] == 64 ? -1 : b64_table[c];
}

/* Decode into out (room for len * 3 / 4 bytes); -1 on a bad character or
 * length. */
static long b64_decode(unsigned char *out, const char *in, size_t len)
{
    size_t o = 0, i = 0;
    if (len % 4 == 1)
        return -1;
    for (; i + 4 <= len; i += 4) {
        int a = b64_val((unsigned char)in[i]), b = b64_val((unsigned char)in[i + 1]);
        int c = b64_val((unsigned char)in[i + 2]), d = b64_val((unsigned char)in[i + 3]);
        if ((a | b | c | d) < 0)
            return -1;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        out[o++] = (unsigned char)(v >> 16);
        out[o++] = (unsigned char)(v >> 8);
        out[o++] = (unsigned char)v;
    }
    if (len - i >= 2) {
        int a = b64_val((unsigned char)in[i]), b = b64_val((unsigned char)in[i + 1]);
        int c = len - i == 3 ? b64_val((unsigned char)in[i + 2]) : 0;
        if ((a | b | c) < 0)
            return -1;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
        out[o++] = (unsigned char)(v >> 16);
        if (len - i == 3)
            out[o++] = (unsigned char)(v >> 8);
    }
    return (long)o;
}

static int seal_with(wb_buf *out, const unsigned char *key, const char *table,
                     const char *column, const char *row_key, const char *plain, size_t len)
{
    unsigned char ad[AD_MAX], *raw;
    size_t raw_len = len + WB_CRYPTO_OVERHEAD, ad_len;
    unsigned long long clen = 0;

    if (len > (size_t)INT32_MAX)
        return wb_error__set(WB_ETOOBIG, WB_ERRCLASS_CRYPTO, "%s.%s: value too large to seal",
                             table, column);
    /* Sealed straight into the caller's buffer: no staging copy. */
    if (wb_buf__grow(out, raw_len) < 0)
        return wb_error__oom();
    raw = (unsigned char *)out->ptr + out->len;
    ad_len = make_ad(ad, table, column, row_key);
    raw[0] = WB_CRYPTO_VERSION_BYTE;
    randombytes_buf(raw + 1, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        raw + 1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen,
        (const unsigned char *)plain, len, ad, ad_len, NULL, raw + 1, key);
    out->len += raw_len;
    out->ptr[out->len] = '\0';
    return 0;
}

/* Open raw sealed bytes into dst (room for len - WB_CRYPTO_OVERHEAD bytes);
 * the plaintext length in *plen. */
static int open_raw(unsigned char *dst, unsigned long long *plen, const unsigned char *key,
                    const char *table, const char *column, const char *row_key,
                    const unsigned char *raw, size_t len)
{
    unsigned char ad[AD_MAX];
    size_t ad_len;
    if (!raw || len < WB_CRYPTO_OVERHEAD || raw[0] != WB_CRYPTO_VERSION_BYTE)
        return wb_error__set(WB_ETAMPER, WB_ERRCLASS_CRYPTO,
                             "%s.%s of %s: not a sealed value (modified or written in clear)",
                             table, column, row_key);
    ad_len = make_ad(ad, table, column, row_key);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            dst, plen, NULL, raw + 1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
            (unsigned long long)len - 1 - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, ad,
            ad_len, raw + 1, key) != 0)
        return wb_error__set(WB_ETAMPER, WB_ERRCLASS_CRYPTO,
                             "%s.%s of %s: sealed value failed authentication (tampered, or "
                             "moved from another row or column)",
                             table, column, row_key);
    return 0;
}

static int open_with(wb_buf *out, const unsigned char *key, const char *table,
                     const char *column, const char *row_key, const char *sealed, size_t len)
{
    unsigned long long plen = 0;
    int error;
    /* Decrypted straight into the caller's buffer (an envelope being
     * built, on the read path): no staging copy. */
    if (wb_buf__grow(out, len) < 0)
        return wb_error__oom();
    if ((error = open_raw((unsigned char *)out->ptr + out->len, &plen, key, table, column,
                          row_key, (const unsigned char *)sealed, len)) < 0) {
        out->ptr[out->len] = '\0';
        return error;
    }
    out->len += (size_t)plen;
    out->ptr[out->len] = '\0';
    return 0;
}

int wb_crypto__seal(wb_buf *out, const wb_store *store, const char *table, const char *column,
                    const char *row_key, const char *plain, size_t len)
{
    if (!store->encrypted) {
        if (wb_buf__put(out, plain, len) < 0)
            return wb_error__oom();
        return 0;
    }
    return seal_with(out, store->keys->field, table, column, row_key, plain, len);
}

int wb_crypto__bind_sealed(sqlite3_stmt *st, int idx, const wb_store *store, const wb_buf *sealed)
{
    const char *p = sealed->ptr ? sealed->ptr : "";
    if (store->encrypted)
        return sqlite3_bind_blob64(st, idx, p, sealed->len, SQLITE_STATIC);
    return sqlite3_bind_text64(st, idx, p, sealed->len, SQLITE_STATIC, SQLITE_UTF8);
}

int wb_crypto__open_column(wb_buf *out, const wb_store *store, const char *table,
                           const char *column, const char *row_key, sqlite3_stmt *st, int col)
{
    /* column_blob hands out the stored bytes as they are; column_text on a
     * BLOB would first copy it to add a terminator. */
    const char *v = store->encrypted ? (const char *)sqlite3_column_blob(st, col)
                                     : (const char *)sqlite3_column_text(st, col);
    size_t len = (size_t)sqlite3_column_bytes(st, col);
    return wb_crypto__open(out, store, table, column, row_key, v ? v : "", len);
}

int wb_crypto__open(wb_buf *out, const wb_store *store, const char *table, const char *column,
                    const char *row_key, const char *sealed, size_t len)
{
    if (!store->encrypted) {
        if (wb_buf__put(out, sealed, len) < 0)
            return wb_error__oom();
        return 0;
    }
    return open_with(out, store->keys->field, table, column, row_key, sealed, len);
}

void wb_crypto__wipe_free(char **text)
{
    if (*text) {
        sodium_memzero(*text, strlen(*text));
        wb__free(*text);
        *text = NULL;
    }
}

void wb_crypto__wipe_buf(wb_buf *b)
{
    if (b->ptr)
        sodium_memzero(b->ptr, b->cap);
    b->len = 0;
}

/* ---- SQL functions -------------------------------------------------------- */

enum { FN_SEAL, FN_OPEN, FN_RESEAL };

/* Plaintext handed to SQLite as a function result: SQLite owns it without a
 * copy and frees it through this, which wipes it first. The length sits in
 * front of the text. */
static void free_wiped(void *p)
{
    unsigned char *base = (unsigned char *)p - sizeof(size_t);
    size_t len;
    memcpy(&len, base, sizeof(len));
    sodium_memzero(base, len + sizeof(size_t));
    sqlite3_free(base);
}

static void sql_fn(sqlite3_context *ctx, int kind, sqlite3_value **argv)
{
    wb_store *store = sqlite3_user_data(ctx);
    const char *table = (const char *)sqlite3_value_text(argv[0]);
    const char *column = (const char *)sqlite3_value_text(argv[1]);
    const char *row_key = (const char *)sqlite3_value_text(argv[2]);
    const char *value;
    wb_buf out = WB_BUF_INIT, mid = WB_BUF_INIT;
    int error, type = sqlite3_value_type(argv[3]);

    if (type == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    if (kind == FN_RESEAL && !store->rekey_to)
        kind = FN_OPEN; /* decrypting: the plaintext goes back */
    if (!store->encrypted && kind != FN_RESEAL) {
        /* A plain store: both are the identity. */
        sqlite3_result_value(ctx, argv[3]);
        return;
    }
    /* Sealed values are BLOBs, plaintext is TEXT; either is read as the
     * bytes it holds (a TEXT where a sealed value belongs fails to open). */
    value = kind == FN_SEAL ? (const char *)sqlite3_value_text(argv[3])
                            : (const char *)sqlite3_value_blob(argv[3]);
    size_t len = (size_t)sqlite3_value_bytes(argv[3]);
    if (!table || !column || !row_key || (!value && len > 0)) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (!value)
        value = "";
    if (kind == FN_OPEN) {
        unsigned long long plen = 0;
        size_t cap = len + sizeof(size_t) + 1;
        unsigned char *base = sqlite3_malloc64(cap);
        if (!base) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
        error = open_raw(base + sizeof(size_t), &plen, store->keys->field, table, column,
                         row_key, (const unsigned char *)value, len);
        if (error < 0) {
            sqlite3_free(base);
            sqlite3_result_error(ctx, wb_error_last() ? wb_error_last()->message : "crypto", -1);
            sqlite3_result_error_code(ctx, SQLITE_AUTH);
            return;
        }
        size_t n = (size_t)plen;
        memcpy(base, &n, sizeof(n));
        base[sizeof(size_t) + n] = '\0';
        sqlite3_result_text64(ctx, (const char *)base + sizeof(size_t), n, free_wiped,
                              SQLITE_UTF8);
        return;
    }
    if (kind == FN_SEAL) {
        error = seal_with(&out, store->keys->field, table, column, row_key, value, len);
    } else {
        /* Rekey or encrypt: open under the current key (the identity in a
         * plain store), seal under the new one. */
        error = wb_crypto__open(&mid, store, table, column, row_key, value, len);
        if (error == 0)
            error = seal_with(&out, store->rekey_to->field, table, column, row_key,
                              mid.ptr ? mid.ptr : "", mid.len);
        if (mid.ptr)
            sodium_memzero(mid.ptr, mid.cap);
        wb_buf__free(&mid);
    }
    if (error < 0) {
        wb_buf__free(&out);
        sqlite3_result_error(ctx, wb_error_last() ? wb_error_last()->message : "crypto", -1);
        sqlite3_result_error_code(ctx, SQLITE_AUTH);
        return;
    }
    /* Ciphertext: SQLite frees the buffer itself, no copy. */
    sqlite3_result_blob64(ctx, out.ptr, out.len, wb__free);
}

static void sql_seal(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sql_fn(ctx, FN_SEAL, argv);
}

static void sql_open(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sql_fn(ctx, FN_OPEN, argv);
}

static void sql_reseal(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sql_fn(ctx, FN_RESEAL, argv);
}

/* wb_unbase64(x): migration 008. Base64url TEXT to its BLOB; anything else
 * (NULL, a BLOB, text that does not decode) comes back unchanged. */
static void sql_unbase64(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const char *in;
    size_t len;
    unsigned char *out;
    long n;
    (void)argc;
    if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
        sqlite3_result_value(ctx, argv[0]);
        return;
    }
    in = (const char *)sqlite3_value_text(argv[0]);
    len = (size_t)sqlite3_value_bytes(argv[0]);
    if (!in || !(out = sqlite3_malloc64(len / 4 * 3 + 3))) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    n = b64_decode(out, in, len);
    if (n < (long)WB_CRYPTO_OVERHEAD || out[0] != WB_CRYPTO_VERSION_BYTE) {
        sqlite3_free(out);
        sqlite3_result_value(ctx, argv[0]);
        return;
    }
    sqlite3_result_blob64(ctx, out, (sqlite3_uint64)n, sqlite3_free);
}

int wb_crypto__register_migration(sqlite3 *db)
{
    return sqlite3_create_function(db, "wb_unbase64", 1,
                                   SQLITE_UTF8 | SQLITE_DIRECTONLY | SQLITE_DETERMINISTIC, NULL,
                                   sql_unbase64, NULL, NULL);
}

int wb_crypto__register(wb_store *store)
{
    /* DIRECTONLY: a trigger or view planted in the file cannot call them. */
    int flags = SQLITE_UTF8 | SQLITE_DIRECTONLY;
    int rc = sqlite3_create_function(store->db, "wb_seal", 4, flags, store, sql_seal, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(store->db, "wb_open", 4, flags, store, sql_open, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(store->db, "wb_reseal", 4, flags, store, sql_reseal, NULL,
                                     NULL);
    if (rc != SQLITE_OK)
        return wb_store__sqlite_error(store, rc, "register functions");
    return 0;
}

/* ---- keys ------------------------------------------------------------------ */

typedef struct key_params {
    int has_kdf;
    unsigned char salt[crypto_pwhash_SALTBYTES];
    unsigned long long opslimit;
    size_t memlimit;
} key_params;

/* The store key K from the options (raw key or passphrase with params). */
static int store_key(unsigned char *k, const wb_store_options *opts, const key_params *p)
{
    if (p->has_kdf) {
        if (!opts->passphrase)
            return wb_error__set(WB_EKEY, WB_ERRCLASS_CRYPTO,
                                 "key: this store is locked with a passphrase, not a key");
        if (crypto_pwhash(k, WB_KEY_BYTES, opts->passphrase, strlen(opts->passphrase), p->salt,
                          p->opslimit, p->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
            return wb_error__set(WB_ENOMEM, WB_ERRCLASS_CRYPTO,
                                 "passphrase: Argon2id needs more memory than is available");
        return 0;
    }
    if (!opts->key)
        return wb_error__set(WB_EKEY, WB_ERRCLASS_CRYPTO,
                             "key: this store is locked with a key, not a passphrase");
    memcpy(k, opts->key, WB_KEY_BYTES);
    return 0;
}

/* Subkeys of K into keys->field and check[32]; wipes nothing (caller does). */
static void subkeys(wb_keys *keys, unsigned char *check, const unsigned char *k)
{
    unsigned char ck[crypto_generichash_KEYBYTES];
    static const char check_msg[] = "walkbook key check v1";
    crypto_kdf_derive_from_key(keys->field, sizeof(keys->field), 1, "wbfields", k);
    crypto_kdf_derive_from_key(ck, sizeof(ck), 2, "wbkcheck", k);
    crypto_generichash(check, 32, (const unsigned char *)check_msg, sizeof(check_msg) - 1, ck,
                       sizeof(ck));
    sodium_memzero(ck, sizeof(ck));
}

static int new_params(key_params *p, const wb_store_options *opts)
{
    memset(p, 0, sizeof(*p));
    if (!opts->passphrase)
        return 0;
    p->has_kdf = 1;
    randombytes_buf(p->salt, sizeof(p->salt));
    p->opslimit = opts->kdf_opslimit ? opts->kdf_opslimit : crypto_pwhash_OPSLIMIT_INTERACTIVE;
    p->memlimit = opts->kdf_memlimit ? opts->kdf_memlimit : crypto_pwhash_MEMLIMIT_INTERACTIVE;
    if (p->opslimit < crypto_pwhash_OPSLIMIT_MIN || p->opslimit > crypto_pwhash_OPSLIMIT_MAX)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "wb_store_options.kdf_opslimit: out of Argon2id's range");
    if (p->memlimit < crypto_pwhash_MEMLIMIT_MIN || p->memlimit > crypto_pwhash_MEMLIMIT_MAX)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "wb_store_options.kdf_memlimit: out of Argon2id's range");
    return 0;
}

static int has_key(const wb_store_options *opts)
{
    return opts->version >= 2 && (opts->key || opts->passphrase);
}

static int check_options(const wb_store_options *opts)
{
    if (opts->version < 2)
        return 0;
    if (opts->key && opts->passphrase)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "wb_store_options: give a key or a passphrase, not both");
    if (opts->passphrase && !opts->passphrase[0])
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "wb_store_options.passphrase: empty");
    if (opts->encryption < WB_ENCRYPTION_DEFAULT || opts->encryption > WB_ENCRYPTION_NONE)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "wb_store_options.encryption: unknown value %d", opts->encryption);
    if (opts->encryption == WB_ENCRYPTION_NONE && has_key(opts))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "wb_store_options: a key was given with WB_ENCRYPTION_NONE");
    return 0;
}

/* Write the store_keys row of a new (or pre-encryption) store. */
static int create_keys(wb_store *store, const wb_store_options *opts)
{
    unsigned char k[WB_KEY_BYTES], check[32];
    char now[WB_TIMESTAMP_LEN + 1];
    wb_buf sealed_sk = WB_BUF_INIT;
    sqlite3_stmt *st = NULL;
    key_params p;
    int error, rc, exists = 0, rows = 0, encrypt = has_key(opts);

    if ((error = new_params(&p, opts)) < 0)
        return error;
    if ((error = wb_store__begin(store)) < 0)
        return error;
    /* Another process may have set the keys up meanwhile: then the caller
     * reads them again. */
    rc = sqlite3_prepare_v2(store->db,
                            "SELECT (SELECT count(*) FROM store_keys),"
                            " (SELECT count(*) FROM (SELECT 1 FROM interactions LIMIT 1))",
                            -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        exists = sqlite3_column_int(st, 0);
        rows = sqlite3_column_int(st, 1);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc != SQLITE_OK) {
        error = wb_store__sqlite_error(store, rc, "keys");
        goto cleanup;
    }
    if (exists) {
        error = 1;
        goto cleanup;
    }
    if (encrypt && rows) {
        error = wb_error__set(WB_EKEY, WB_ERRCLASS_CRYPTO,
                              "key: this store holds records in clear and was not created "
                              "encrypted; create a new encrypted store and import them");
        goto cleanup;
    }
    crypto_sign_keypair(store->keys->sign_pk, store->keys->sign_sk);
    store->keys->has_sign = 1;
    if (encrypt) {
        if ((error = store_key(k, opts, &p)) < 0)
            goto cleanup;
        subkeys(store->keys, check, k);
        sodium_memzero(k, sizeof(k));
        store->encrypted = 1;
    }
    if ((error = wb_crypto__seal(&sealed_sk, store, "store_keys", "sign_secret", "1",
                                 (const char *)store->keys->sign_sk,
                                 sizeof(store->keys->sign_sk))) < 0)
        goto cleanup;
    wb_time__format(now, wb_store__now(store));
    rc = sqlite3_prepare_v2(store->db,
                            "INSERT INTO store_keys (id, encrypted, kdf, kdf_salt, kdf_opslimit,"
                            " kdf_memlimit, key_check, sign_public, sign_secret, created)"
                            " VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(st, 1, encrypt);
        if (p.has_kdf) {
            sqlite3_bind_text(st, 2, KDF_ALG, -1, SQLITE_STATIC);
            sqlite3_bind_blob(st, 3, p.salt, sizeof(p.salt), SQLITE_STATIC);
            sqlite3_bind_int64(st, 4, (sqlite3_int64)p.opslimit);
            sqlite3_bind_int64(st, 5, (sqlite3_int64)p.memlimit);
        }
        if (encrypt)
            sqlite3_bind_blob(st, 6, check, sizeof(check), SQLITE_STATIC);
        sqlite3_bind_blob(st, 7, store->keys->sign_pk, sizeof(store->keys->sign_pk),
                          SQLITE_STATIC);
        /* Raw secret key bytes in a plain store are not text: store them as
         * hex there, like any other clear value. */
        if (encrypt) {
            sqlite3_bind_blob(st, 8, sealed_sk.ptr, (int)sealed_sk.len, SQLITE_STATIC);
        } else {
            char hex[crypto_sign_SECRETKEYBYTES * 2 + 1];
            sodium_bin2hex(hex, sizeof(hex), store->keys->sign_sk, sizeof(store->keys->sign_sk));
            sqlite3_bind_text(st, 8, hex, -1, SQLITE_TRANSIENT);
            sodium_memzero(hex, sizeof(hex));
        }
        sqlite3_bind_text(st, 9, now, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_DONE) {
        error = wb_store__sqlite_error(store, rc, "keys");
        goto cleanup;
    }
    error = wb_store__commit(store);
    sqlite3_finalize(st);
    st = NULL;
    if (error < 0)
        goto cleanup;
    wb_buf__free(&sealed_sk);
    return 0;
cleanup:
    sqlite3_finalize(st);
    wb_store__rollback(store);
    wb_buf__free(&sealed_sk);
    sodium_memzero(k, sizeof(k));
    if (error < 0) {
        store->encrypted = 0;
        sodium_memzero(store->keys, sizeof(*store->keys));
    }
    return error;
}

static int read_params(key_params *p, sqlite3_stmt *st, int col)
{
    memset(p, 0, sizeof(*p));
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return 0;
    const char *alg = (const char *)sqlite3_column_text(st, col);
    if (!alg || strcmp(alg, KDF_ALG) != 0 || sqlite3_column_bytes(st, col + 1) != sizeof(p->salt))
        return wb_error__set(WB_ECORRUPT, WB_ERRCLASS_CRYPTO,
                             "store_keys: unknown key derivation or bad salt");
    p->has_kdf = 1;
    memcpy(p->salt, sqlite3_column_blob(st, col + 1), sizeof(p->salt));
    p->opslimit = (unsigned long long)sqlite3_column_int64(st, col + 2);
    p->memlimit = (size_t)sqlite3_column_int64(st, col + 3);
    if (p->opslimit < crypto_pwhash_OPSLIMIT_MIN || p->opslimit > crypto_pwhash_OPSLIMIT_MAX ||
        p->memlimit < crypto_pwhash_MEMLIMIT_MIN || p->memlimit > crypto_pwhash_MEMLIMIT_MAX)
        return wb_error__set(WB_ECORRUPT, WB_ERRCLASS_CRYPTO,
                             "store_keys: Argon2id cost out of range");
    return 0;
}

/* Read the keys row; 1 when there is none. */
static int load_keys(wb_store *store, const wb_store_options *opts)
{
    sqlite3_stmt *st = NULL;
    unsigned char k[WB_KEY_BYTES], check[32];
    wb_buf sk = WB_BUF_INIT;
    key_params p;
    int error = 0, rc;
    const char *what = "key";

    rc = sqlite3_prepare_v2(store->db,
                            "SELECT encrypted, key_check, sign_public, sign_secret, kdf, kdf_salt,"
                            " kdf_opslimit, kdf_memlimit FROM store_keys WHERE id = 1",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return wb_store__sqlite_error(store, rc, "keys");
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        return 1;
    }
    if (rc != SQLITE_ROW) {
        error = wb_store__sqlite_error(store, rc, "keys");
        goto cleanup;
    }
    if (sqlite3_column_bytes(st, 2) != crypto_sign_PUBLICKEYBYTES) {
        error = wb_error__set(WB_ECORRUPT, WB_ERRCLASS_CRYPTO, "store_keys: bad public key");
        goto cleanup;
    }
    memcpy(store->keys->sign_pk, sqlite3_column_blob(st, 2), crypto_sign_PUBLICKEYBYTES);
    if (sqlite3_column_int(st, 0)) {
        if (!has_key(opts) || opts->encryption == WB_ENCRYPTION_NONE) {
            error = wb_error__set(WB_EKEY, WB_ERRCLASS_CRYPTO,
                                  "key: the store is encrypted; give its key or passphrase");
            goto cleanup;
        }
        if ((error = read_params(&p, st, 4)) < 0 || (error = store_key(k, opts, &p)) < 0)
            goto cleanup;
        what = p.has_kdf ? "passphrase" : "key";
        subkeys(store->keys, check, k);
        sodium_memzero(k, sizeof(k));
        if (sqlite3_column_bytes(st, 1) != (int)sizeof(check) ||
            sodium_memcmp(check, sqlite3_column_blob(st, 1), sizeof(check)) != 0) {
            error = wb_error__set(WB_EKEY, WB_ERRCLASS_CRYPTO,
                                  "%s: wrong %s for this store", what, what);
            goto cleanup;
        }
        store->encrypted = 1;
        error = wb_crypto__open_column(&sk, store, "store_keys", "sign_secret", "1", st, 3);
        if (error < 0)
            goto cleanup;
        if (sk.len != crypto_sign_SECRETKEYBYTES) {
            error = wb_error__set(WB_ECORRUPT, WB_ERRCLASS_CRYPTO, "store_keys: bad secret key");
            goto cleanup;
        }
        memcpy(store->keys->sign_sk, sk.ptr, sk.len);
    } else {
        const char *hex = (const char *)sqlite3_column_text(st, 3);
        size_t bin_len = 0;
        if (has_key(opts) || opts->encryption == WB_ENCRYPTION_REQUIRED) {
            error = wb_error__set(WB_EKEY, WB_ERRCLASS_CRYPTO,
                                  "key: the store is not encrypted%s",
                                  has_key(opts) ? "; open it without a key" : "");
            goto cleanup;
        }
        if (!hex || sodium_hex2bin(store->keys->sign_sk, sizeof(store->keys->sign_sk), hex,
                                   strlen(hex), NULL, &bin_len, NULL) != 0 ||
            bin_len != crypto_sign_SECRETKEYBYTES) {
            error = wb_error__set(WB_ECORRUPT, WB_ERRCLASS_CRYPTO, "store_keys: bad secret key");
            goto cleanup;
        }
    }
    store->keys->has_sign = 1;
cleanup:
    sqlite3_finalize(st);
    if (sk.ptr)
        sodium_memzero(sk.ptr, sk.len);
    wb_buf__free(&sk);
    if (error < 0) {
        store->encrypted = 0;
        sodium_memzero(store->keys, sizeof(*store->keys));
    }
    return error;
}

int wb_crypto__open_keys(wb_store *store, const wb_store_options *opts)
{
    int error;
    if ((error = check_options(opts)) < 0)
        return error;
    if (!(store->keys = sodium_malloc(sizeof(*store->keys))))
        return wb_error__oom();
    sodium_memzero(store->keys, sizeof(*store->keys));
    if (store->schema_version < 5) {
        /* A read-only open of an older schema cannot have keys. */
        if (has_key(opts) || (opts->version >= 2 && opts->encryption == WB_ENCRYPTION_REQUIRED))
            return wb_error__set(WB_EKEY, WB_ERRCLASS_CRYPTO, "key: the store is not encrypted");
        return 0;
    }
    if ((error = load_keys(store, opts)) != 1) {
        if (error == 0)
            finish_compaction(store);
        return error;
    }
    /* No keys row: a new store, or one made before encryption existed. */
    if (!has_key(opts) && opts->version >= 2 && opts->encryption == WB_ENCRYPTION_REQUIRED)
        return wb_error__set(WB_EKEY, WB_ERRCLASS_CRYPTO,
                             "key: encryption is required; give a key or passphrase");
    if (store->readonly) {
        if (has_key(opts))
            return wb_error__set(WB_EKEY, WB_ERRCLASS_CRYPTO, "key: the store is not encrypted");
        return 0; /* no log signing on a read-only handle */
    }
    if ((error = create_keys(store, opts)) != 1)
        return error;
    /* Set up by another process meanwhile: read what it wrote. */
    if ((error = load_keys(store, opts)) == 1)
        return wb_error__set(WB_ECORRUPT, WB_ERRCLASS_CRYPTO, "store_keys: row vanished");
    return error;
}

void wb_crypto__close(wb_store *store)
{
    if (store->keys)
        sodium_free(store->keys); /* wipes */
    if (store->rekey_to)
        sodium_free(store->rekey_to);
    store->keys = NULL;
    store->rekey_to = NULL;
}

int wb_store_encrypted(const wb_store *store)
{
    return store && store->encrypted;
}

/* ---- rekey, encrypt, decrypt ---------------------------------------------- */

enum reseal_mode { RESEAL_REKEY, RESEAL_ENCRYPT, RESEAL_DECRYPT };

/* Rewrite every page of the file so that no page that held a plaintext
 * value survives: VACUUM builds a fresh copy (from the sealed values only)
 * and copies all of it back through the WAL; the TRUNCATE checkpoint writes
 * it over the old pages, cuts the file to its new size and empties the
 * WAL. compact_pending is cleared only then, so a crash before leaves it
 * set and the next writable open does it again. 1 when another connection
 * kept the checkpoint from finishing (still pending). */
static int compact(wb_store *store)
{
    int rc, log_frames = -1, done_frames = -1;
    if (store->live_iters > 0)
        return 1; /* VACUUM cannot run under an open statement */
    rc = sqlite3_exec(store->db, "VACUUM", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_wal_checkpoint_v2(store->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log_frames,
                                       &done_frames);
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ||
        (rc == SQLITE_OK && log_frames > 0))
        return 1;
    if (rc != SQLITE_OK)
        return wb_store__sqlite_error(store, rc, "encrypt: compact");
    rc = sqlite3_exec(store->db, "UPDATE store_keys SET compact_pending = 0", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return wb_store__sqlite_error(store, rc, "encrypt: compact");
    sqlite3_wal_checkpoint_v2(store->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    return 0;
}

/* At a writable open: finish a compaction that a crash interrupted. Best
 * effort: the store is already wholly encrypted, and what is left (pages
 * that held plaintext) is retried at the next open. */
static void finish_compaction(wb_store *store)
{
    sqlite3_stmt *st = NULL;
    int pending = 0;
    if (store->readonly || store->schema_version < 8)
        return;
    if (sqlite3_prepare_v2(store->db, "SELECT compact_pending FROM store_keys WHERE id = 1", -1,
                           &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        pending = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (pending) {
        wb_error_saved saved;
        wb_error__save(&saved);
        (void)compact(store);
        wb_error__restore(&saved);
    }
}

/* Re-seal every sealed column in one transaction: under new keys (rekey),
 * from clear (encrypt) or to clear (decrypt), together with the keys row,
 * so that a crash leaves the store wholly as it was or wholly as asked. */
static int reseal_store(wb_store *store, const wb_store_options *new_keys, int mode)
{
    static const char *const what[] = {"rekey", "encrypt", "decrypt"};
    unsigned char k[WB_KEY_BYTES], check[32];
    char now[WB_TIMESTAMP_LEN + 1];
    wb_buf sql = WB_BUF_INIT, sk = WB_BUF_INIT;
    sqlite3_stmt *st = NULL;
    key_params p;
    int error = 0, rc, in_tx = 0, was_encrypted = store->encrypted;

    memset(&p, 0, sizeof(p));
    if (store->readonly)
        return wb_error__set(WB_EREADONLY, WB_ERRCLASS_STORE, "%s: store is read-only",
                             what[mode]);
    if (!store->keys || !store->keys->has_sign || store->schema_version < 8)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_CRYPTO, "%s: store has no keys",
                             what[mode]);
    if (store->live_iters > 0)
        return wb_error__set(WB_EBUSY, WB_ERRCLASS_STORE,
                             "%s: free the open iterators of this handle first", what[mode]);
    if (mode == RESEAL_ENCRYPT && was_encrypted)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_CRYPTO,
                             "encrypt: the store is already encrypted (rekey changes its key)");
    if (mode == RESEAL_DECRYPT && !was_encrypted)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_CRYPTO, "decrypt: the store is not encrypted");
    if (mode != RESEAL_DECRYPT) {
        if (!has_key(new_keys))
            return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                                 "%s: give the new key or passphrase", what[mode]);
        if ((error = check_options(new_keys)) < 0 || (error = new_params(&p, new_keys)) < 0)
            return error;
        if (!(store->rekey_to = sodium_malloc(sizeof(*store->rekey_to))))
            return wb_error__oom();
        sodium_memzero(store->rekey_to, sizeof(*store->rekey_to));
        if ((error = store_key(k, new_keys, &p)) < 0)
            goto cleanup;
        subkeys(store->rekey_to, check, k);
        sodium_memzero(k, sizeof(k));
    }

    if ((error = wb_store__begin(store)) < 0)
        goto cleanup;
    in_tx = 1;
    if (mode == RESEAL_REKEY && !was_encrypted) {
        uint64_t n = 0;
        if ((error = wb_interaction_count(&n, store, &(wb_query)WB_QUERY_INIT)) < 0)
            goto cleanup;
        if (n > 0) {
            error = wb_error__set(WB_EKEY, WB_ERRCLASS_CRYPTO,
                                  "rekey: this store holds records in clear; encrypt it with "
                                  "wb_store_encrypt (walkbook encrypt)");
            goto cleanup;
        }
    }
    /* One UPDATE per sealed column: each value is opened under the current
     * key (taken as it is in a plain store) and sealed under the new one, or
     * left open when decrypting, inside SQLite (wb_reseal). Any value that
     * fails to open aborts the statement and the transaction. The signing
     * key of a plain store is hex: it is sealed from its bytes below. */
    for (size_t i = 0; i < WB__ARRAY_SIZE(sealed_columns); i++) {
        if ((!was_encrypted || mode == RESEAL_DECRYPT) &&
            strcmp(sealed_columns[i].table, "store_keys") == 0)
            continue;
        wb_buf__clear(&sql);
        wb_buf__printf(&sql,
                       "UPDATE %s SET %s = wb_reseal('%s', '%s', %s, %s) WHERE %s IS NOT NULL",
                       sealed_columns[i].table, sealed_columns[i].column, sealed_columns[i].table,
                       sealed_columns[i].column, sealed_columns[i].key_column,
                       sealed_columns[i].column, sealed_columns[i].column);
        if (sql.oom) {
            error = wb_error__oom();
            goto cleanup;
        }
        rc = sqlite3_exec(store->db, sql.ptr, NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            error = wb_store__sqlite_error(store, rc, what[mode]);
            goto cleanup;
        }
    }
    wb_time__format(now, wb_store__now(store));
    rc = sqlite3_prepare_v2(store->db,
                            "UPDATE store_keys SET encrypted = ?8, kdf = ?1, kdf_salt = ?2,"
                            " kdf_opslimit = ?3, kdf_memlimit = ?4, key_check = ?5, rekeyed = ?6,"
                            " sign_secret = CASE WHEN ?7 IS NULL THEN sign_secret ELSE ?7 END,"
                            " compact_pending = ?9 WHERE id = 1",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        if (p.has_kdf) {
            sqlite3_bind_text(st, 1, KDF_ALG, -1, SQLITE_STATIC);
            sqlite3_bind_blob(st, 2, p.salt, sizeof(p.salt), SQLITE_STATIC);
            sqlite3_bind_int64(st, 3, (sqlite3_int64)p.opslimit);
            sqlite3_bind_int64(st, 4, (sqlite3_int64)p.memlimit);
        }
        if (mode != RESEAL_DECRYPT)
            sqlite3_bind_blob(st, 5, check, sizeof(check), SQLITE_STATIC);
        sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
        if (mode == RESEAL_DECRYPT) {
            /* Clear again: the signing key as hex, like any plain store. */
            char hex[crypto_sign_SECRETKEYBYTES * 2 + 1];
            sodium_bin2hex(hex, sizeof(hex), store->keys->sign_sk, sizeof(store->keys->sign_sk));
            sqlite3_bind_text(st, 7, hex, -1, SQLITE_TRANSIENT);
            sodium_memzero(hex, sizeof(hex));
        } else if (!was_encrypted) {
            if ((error = seal_with(&sk, store->rekey_to->field, "store_keys", "sign_secret", "1",
                                   (const char *)store->keys->sign_sk,
                                   sizeof(store->keys->sign_sk))) < 0)
                goto cleanup;
            sqlite3_bind_blob(st, 7, sk.ptr, (int)sk.len, SQLITE_STATIC);
        }
        sqlite3_bind_int(st, 8, mode != RESEAL_DECRYPT);
        /* Values that were clear in this file: rewrite its pages. */
        sqlite3_bind_int(st, 9, !was_encrypted);
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_DONE) {
        error = wb_store__sqlite_error(store, rc, what[mode]);
        goto cleanup;
    }
    sqlite3_finalize(st);
    st = NULL;
    in_tx = 0;
    if ((error = wb_store__commit(store)) < 0)
        goto cleanup;
    /* Committed: the new key (or none) is the store's. */
    if (mode == RESEAL_DECRYPT) {
        sodium_memzero(store->keys->field, sizeof(store->keys->field));
        store->encrypted = 0;
    } else {
        memcpy(store->keys->field, store->rekey_to->field, sizeof(store->keys->field));
        store->encrypted = 1;
    }
    if (!was_encrypted && (error = compact(store)) > 0)
        error = 0; /* pending: the next open finishes it */
cleanup:
    sqlite3_finalize(st);
    if (in_tx)
        wb_store__rollback(store);
    wb_buf__free(&sql);
    wb_buf__free(&sk);
    sodium_memzero(k, sizeof(k));
    if (store->rekey_to) {
        sodium_free(store->rekey_to);
        store->rekey_to = NULL;
    }
    return error;
}

int wb_store_rekey(wb_store *store, const wb_store_options *new_keys)
{
    wb_error__reset();
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(new_keys);
    WB__CHECK_ARG(new_keys->version == WB_STORE_OPTIONS_VERSION);
    return reseal_store(store, new_keys, RESEAL_REKEY);
}

int wb_store_encrypt(wb_store *store, const wb_store_options *keys)
{
    wb_error__reset();
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(keys);
    WB__CHECK_ARG(keys->version == WB_STORE_OPTIONS_VERSION);
    return reseal_store(store, keys, RESEAL_ENCRYPT);
}

int wb_store_decrypt(wb_store *store)
{
    static const wb_store_options no_keys = WB_STORE_OPTIONS_INIT;
    wb_error__reset();
    WB__CHECK_ARG(store);
    return reseal_store(store, &no_keys, RESEAL_DECRYPT);
}
