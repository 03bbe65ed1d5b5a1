/*
 * log.c - the tamper-evident interaction log.
 *
 * Each change of an interaction's data on this device appends one entry:
 *
 *   content = BLAKE2b-256("walkbook-content/1\n" id \n timestamp \n lat \n
 *             lng \n distance \n accuracy \n BLAKE2b-256(data as stored))
 *   digest  = BLAKE2b-256("walkbook-log/1" | previous digest | seq (8 bytes,
 *             big endian) | kind (1 byte) | content)
 *   signature = Ed25519(device secret key, digest), or NULL (see below)
 *
 * The first entry's previous digest is BLAKE2b-256("walkbook-log/1 genesis"
 * | device public key). Numbers are printed with %.17g (exact for a
 * double), absent ones as "null"; a delete's content hashes only the id.
 * Whoever holds the public key can check that no entry was changed, removed
 * or moved, and (with the data) that a record is what the device signed.
 *
 * Which entries carry a signature (schema 009): each digest commits to the
 * whole chain before it, so one signature vouches for its entry and every
 * entry before it. A server version applied inside a transaction (kind 4:
 * a pull page applies hundreds in one) is stored unsigned, and
 * wb_store__commit signs the log's last entry before the transaction
 * commits (wb_log__sign_tail), so every committed log ends in a signed
 * entry: about one signature per page instead of one per record. The
 * device's own changes (kinds 1-3: record, update, delete) and any entry
 * appended outside a transaction are signed at once, as before 009.
 * wb_log_verify accepts an unsigned entry only when a later signed entry
 * covers it (every digest in between follows from the previous one); a
 * log ending in unsigned entries is reported broken at the first of them.
 *
 * wb_log__signature exports one entry for a create on the wire (README,
 * "Signatures on the wire"): the entry, its previous digest as the log
 * holds it, and as links the (seq, kind, content) of the entries since the
 * last one a server acknowledged, from which a verifier recomputes the
 * chain up to it. The exported entry is the latest SIGNED entry whose
 * content is the data being sent: a create (kind 1) or a local edit
 * (kind 2), which are always signed, so the wire format and what
 * walkbook-server verifies did not change; unsigned entries only ever
 * travel as links, which carry no signature anyway. walkbook-server
 * verifies with the same functions.
 */
#include <math.h>
#include <string.h>

#include "crypto.h"
#include "json.h"

#define HASH_BYTES 32

/* from_tree: the number comes from a tree the data text was printed from,
 * not from parsing that text: -0 prints as "0" and so reads back as 0. */
static void hash_number(crypto_generichash_state *h, const cJSON *item, int from_tree)
{
    char num[40];
    if (cJSON_IsNumber(item) && isfinite(item->valuedouble))
        snprintf(num, sizeof(num), "%.17g\n",
                 from_tree && item->valuedouble == 0 ? 0.0 : item->valuedouble);
    else
        snprintf(num, sizeof(num), "null\n");
    crypto_generichash_update(h, (const unsigned char *)num, strlen(num));
}

static void hash_str(crypto_generichash_state *h, const char *s)
{
    if (s)
        crypto_generichash_update(h, (const unsigned char *)s, strlen(s));
    crypto_generichash_update(h, (const unsigned char *)"\n", 1);
}

/* A number of compact data text (wb_json__compact_member's value), hashed
 * as hash_number hashes the parsed one. */
static void hash_number_text(crypto_generichash_state *h, const char *v, size_t n, int found)
{
    char num[40];
    double d;
    if (found && wb_json__compact_number_value(&d, v, n) && isfinite(d))
        snprintf(num, sizeof(num), "%.17g\n", d);
    else
        snprintf(num, sizeof(num), "null\n");
    crypto_generichash_update(h, (const unsigned char *)num, strlen(num));
}

/* The members of data the content hashes, read from its compact text
 * (wb_json__is_compact) as a tree of it would give them. */
static void hash_fields_text(crypto_generichash_state *h, const char *text, size_t len)
{
    static const char *const data_names[] = {"timestamp", "location", "distance"};
    static const char *const loc_names[] = {"lat", "lng", "accuracy"};
    const char *d[3], *l[3] = {NULL, NULL, NULL};
    size_t d_n[3], l_n[3] = {0, 0, 0};
    wb_json__compact_members(text, len, data_names, 3, d, d_n);
    if (d[0] && *d[0] == '"')
        crypto_generichash_update(h, (const unsigned char *)d[0] + 1, d_n[0] - 2);
    crypto_generichash_update(h, (const unsigned char *)"\n", 1);
    if (d[1] && *d[1] == '{')
        wb_json__compact_members(d[1], d_n[1], loc_names, 3, l, l_n);
    hash_number_text(h, l[0], l_n[0], l[0] != NULL);
    hash_number_text(h, l[1], l_n[1], l[1] != NULL);
    hash_number_text(h, d[2], d_n[2], d[2] != NULL);
    hash_number_text(h, l[2], l_n[2], l[2] != NULL);
}

void wb_log__content_compact(unsigned char *out, const char *local_id, const char *data_text,
                             size_t len)
{
    crypto_generichash_state h;
    unsigned char data_hash[HASH_BYTES];
    crypto_generichash_init(&h, NULL, 0, HASH_BYTES);
    hash_str(&h, "walkbook-content/1");
    hash_str(&h, local_id);
    hash_fields_text(&h, data_text, len);
    crypto_generichash(data_hash, sizeof(data_hash), (const unsigned char *)data_text, len, NULL,
                       0);
    crypto_generichash_update(&h, data_hash, sizeof(data_hash));
    crypto_generichash_final(&h, out, HASH_BYTES);
}

int wb_log__content_of(unsigned char *out, const char *local_id, const char *data_text,
                       const cJSON *data)
{
    crypto_generichash_state h;

    crypto_generichash_init(&h, NULL, 0, HASH_BYTES);
    hash_str(&h, data_text ? "walkbook-content/1" : "walkbook-content/1 deleted");
    hash_str(&h, local_id);
    if (data_text) {
        unsigned char data_hash[HASH_BYTES];
        cJSON *parsed = NULL;
        const cJSON *loc, *ts;
        size_t len = strlen(data_text);
        int from_tree = data != NULL;
        /* Parsed here only when the caller has no tree of it and the text
         * is not compact (what the store keeps always is): a pulled record
         * stored from its text is hashed without a tree. */
        if (!data && wb_json__is_compact(data_text, len)) {
            wb_log__content_compact(out, local_id, data_text, len);
            return 0;
        }
        if (!data) {
            int error = wb_json__parse(&parsed, data_text, len, NULL, "stored data");
            if (error < 0)
                return error == WB_EINVALID
                           ? wb_error__set(WB_ECORRUPT, WB_ERRCLASS_STORE,
                                           "interaction %s: stored JSON is damaged", local_id)
                           : error;
            data = parsed;
        }
        ts = cJSON_GetObjectItemCaseSensitive(data, "timestamp");
        loc = cJSON_GetObjectItemCaseSensitive(data, "location");
        hash_str(&h, cJSON_IsString(ts) ? ts->valuestring : NULL);
        hash_number(&h, cJSON_GetObjectItemCaseSensitive(loc, "lat"), from_tree);
        hash_number(&h, cJSON_GetObjectItemCaseSensitive(loc, "lng"), from_tree);
        hash_number(&h, cJSON_GetObjectItemCaseSensitive(data, "distance"), from_tree);
        hash_number(&h, cJSON_GetObjectItemCaseSensitive(loc, "accuracy"), from_tree);
        crypto_generichash(data_hash, sizeof(data_hash), (const unsigned char *)data_text, len,
                           NULL, 0);
        crypto_generichash_update(&h, data_hash, sizeof(data_hash));
        cJSON_Delete(parsed);
    }
    crypto_generichash_final(&h, out, HASH_BYTES);
    return 0;
}

/* The content hash of a record whose data (compact JSON as stored) is
 * data_text, or of a delete when data_text is NULL. */
int wb_log__content(unsigned char *out, const char *local_id, const char *data_text)
{
    return wb_log__content_of(out, local_id, data_text, NULL);
}

void wb_log__genesis(unsigned char *out, const unsigned char *pk)
{
    static const char tag[] = "walkbook-log/1 genesis";
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, HASH_BYTES);
    crypto_generichash_update(&h, (const unsigned char *)tag, sizeof(tag) - 1);
    crypto_generichash_update(&h, pk, crypto_sign_PUBLICKEYBYTES);
    crypto_generichash_final(&h, out, HASH_BYTES);
}

void wb_log__link(unsigned char *out, const unsigned char *prev, int64_t seq, int kind,
                  const unsigned char *content)
{
    static const char tag[] = "walkbook-log/1";
    unsigned char be[9];
    crypto_generichash_state h;
    for (int i = 0; i < 8; i++)
        be[i] = (unsigned char)((uint64_t)seq >> (56 - 8 * i));
    be[8] = (unsigned char)kind;
    crypto_generichash_init(&h, NULL, 0, HASH_BYTES);
    crypto_generichash_update(&h, (const unsigned char *)tag, sizeof(tag) - 1);
    crypto_generichash_update(&h, prev, HASH_BYTES);
    crypto_generichash_update(&h, be, sizeof(be));
    crypto_generichash_update(&h, content, HASH_BYTES);
    crypto_generichash_final(&h, out, HASH_BYTES);
}

int wb_log__append(wb_store *store, const char *local_id, int kind, const char *data_text)
{
    return wb_log__append_of(store, local_id, kind, data_text, NULL);
}

static int append(wb_store *store, const char *local_id, int kind, const char *data_text,
                  const cJSON *data, const unsigned char *content_in);

int wb_log__append_of(wb_store *store, const char *local_id, int kind, const char *data_text,
                      const cJSON *data)
{
    return append(store, local_id, kind, data_text, data, NULL);
}

int wb_log__append_content(wb_store *store, const char *local_id, int kind,
                           const unsigned char *content)
{
    return append(store, local_id, kind, NULL, NULL, content);
}

static int append(wb_store *store, const char *local_id, int kind, const char *data_text,
                  const cJSON *data, const unsigned char *content_in)
{
    unsigned char content[HASH_BYTES], prev[HASH_BYTES], digest[HASH_BYTES];
    unsigned char sig[crypto_sign_BYTES];
    sqlite3_stmt *st;
    int64_t seq = 1;
    int error, rc, sign_now, in_tx;

    /* Stores opened read-only have no signing key and write nothing. */
    if (!store->keys || !store->keys->has_sign)
        return 0;
    if (content_in)
        memcpy(content, content_in, HASH_BYTES);
    else if ((error = wb_log__content_of(content, local_id, data_text, data)) < 0)
        return error;
    in_tx = !sqlite3_get_autocommit(store->db);
    if (in_tx && store->log_tail_known) {
        /* This transaction appended the last entry and holds the write
         * lock since: nothing else can have appended after it. */
        seq = store->log_tail_seq + 1;
        memcpy(prev, store->log_tail_digest, HASH_BYTES);
        goto link;
    }
    if ((error = wb_store__stmt(&st, store, WB_STMT_LOG_LAST)) < 0)
        return error;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 1) != HASH_BYTES) {
            sqlite3_reset(st);
            return wb_error__set(WB_ETAMPER, WB_ERRCLASS_CRYPTO,
                                 "interaction log: last entry has no digest");
        }
        seq = sqlite3_column_int64(st, 0) + 1;
        memcpy(prev, sqlite3_column_blob(st, 1), HASH_BYTES);
    } else if (rc == SQLITE_DONE) {
        wb_log__genesis(prev, store->keys->sign_pk);
    } else {
        error = wb_store__sqlite_error(store, rc, "interaction log");
        sqlite3_reset(st);
        return error;
    }
    sqlite3_reset(st);
link:
    wb_log__link(digest, prev, seq, kind, content);
    /* A server version applied inside a transaction (a pull page, a group
     * of acknowledgements) waits: the commit signs the last entry, whose
     * digest covers this one. The device's own changes are signed now,
     * since a create's entry goes to the server on its own. */
    sign_now = kind != WB_LOG_SYNC || sqlite3_get_autocommit(store->db);
    if (sign_now)
        crypto_sign_detached(sig, NULL, digest, sizeof(digest), store->keys->sign_sk);
    if ((error = wb_store__stmt(&st, store, WB_STMT_LOG_INSERT)) < 0)
        return error;
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_text(st, 2, local_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, kind);
    sqlite3_bind_blob(st, 4, content, sizeof(content), SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, digest, sizeof(digest), SQLITE_STATIC);
    if (sign_now)
        sqlite3_bind_blob(st, 6, sig, sizeof(sig), SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 6);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        store->log_tail_known = 0;
        return wb_store__sqlite_error(store, rc, "interaction log");
    }
    /* Signed: every entry before it is covered now. */
    store->log_unsigned = !sign_now;
    if ((store->log_tail_known = in_tx && !sqlite3_get_autocommit(store->db))) {
        store->log_tail_seq = seq;
        memcpy(store->log_tail_digest, digest, HASH_BYTES);
    }
    return 0;
}

int wb_log__sign_tail(wb_store *store)
{
    unsigned char digest[HASH_BYTES], sig[crypto_sign_BYTES];
    sqlite3_stmt *st;
    int64_t seq;
    int error, rc;

    if (!store->keys || !store->keys->has_sign) {
        store->log_unsigned = 0;
        return 0;
    }
    /* The log's last entry as it is now, not as remembered: whatever the
     * transaction did since, that is the one that must carry a signature. */
    if ((error = wb_store__stmt(&st, store, WB_STMT_LOG_LAST)) < 0)
        return error;
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE || (rc == SQLITE_ROW && sqlite3_column_int(st, 2) == 0)) {
        sqlite3_reset(st);
        store->log_unsigned = 0;
        return 0; /* empty, or already signed */
    }
    if (rc != SQLITE_ROW) {
        error = wb_store__sqlite_error(store, rc, "interaction log");
        sqlite3_reset(st);
        return error;
    }
    if (sqlite3_column_bytes(st, 1) != HASH_BYTES) {
        sqlite3_reset(st);
        return wb_error__set(WB_ETAMPER, WB_ERRCLASS_CRYPTO,
                             "interaction log: last entry has no digest");
    }
    seq = sqlite3_column_int64(st, 0);
    memcpy(digest, sqlite3_column_blob(st, 1), HASH_BYTES);
    sqlite3_reset(st);
    crypto_sign_detached(sig, NULL, digest, sizeof(digest), store->keys->sign_sk);
    if ((error = wb_store__stmt(&st, store, WB_STMT_LOG_SIGN)) < 0)
        return error;
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_blob(st, 2, sig, sizeof(sig), SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return wb_store__sqlite_error(store, rc, "interaction log");
    store->log_unsigned = 0;
    return 0;
}

/* The plaintext data of the record local_id into plain; *found = 0 when
 * there is no such row. */
static int read_data(wb_buf *plain, int *found, wb_store *store, const char *local_id)
{
    sqlite3_stmt *st = NULL;
    int error = 0, rc;
    *found = 0;
    rc = sqlite3_prepare_v2(store->db, "SELECT data FROM interactions WHERE local_id = ?1", -1,
                            &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW) {
        *found = 1;
        error = wb_crypto__open(plain, store, "interactions", "data", local_id,
                                (const char *)sqlite3_column_text(st, 0),
                                (size_t)sqlite3_column_bytes(st, 0));
    } else if (rc != SQLITE_DONE) {
        error = wb_store__sqlite_error(store, rc, "interaction log");
    }
    sqlite3_finalize(st);
    return error;
}

int wb_log__append_current(wb_store *store, const char *local_id, int kind)
{
    wb_buf plain = WB_BUF_INIT;
    int error, found;
    if (!store->keys || !store->keys->has_sign)
        return 0;
    error = read_data(&plain, &found, store, local_id);
    if (error == 0 && found)
        error = wb_log__append(store, local_id, kind, plain.ptr ? plain.ptr : "");
    wb_crypto__wipe_buf(&plain);
    wb_buf__free(&plain);
    return error;
}

/* ---- verification ---------------------------------------------------------- */

typedef struct broken {
    int64_t seq; /* 0: no entry */
    char id[WB_UUID_LEN + 1];
    char problem[160];
} broken;

static void set_broken(broken *b, int64_t seq, const char *id, const char *problem)
{
    if (b->problem[0])
        return; /* the first broken link wins */
    b->seq = seq;
    snprintf(b->id, sizeof(b->id), "%s", id ? id : "");
    snprintf(b->problem, sizeof(b->problem), "%s", problem);
}

/* Walk the chain in order: contiguous sequence, digests, signatures. An
 * entry without a signature is accepted when a later signed entry covers
 * it (every digest between them follows from the one before, and the
 * signature is over the last); a log that ends in unsigned entries is
 * broken at the first of them. */
static int check_chain(int64_t *entries, int64_t *signed_entries, broken *b, wb_store *store)
{
    unsigned char prev[HASH_BYTES], digest[HASH_BYTES];
    sqlite3_stmt *st = NULL;
    int64_t expect = 1, uncovered = 0, last = 0;
    char uncovered_id[WB_UUID_LEN + 1] = "";
    int rc;

    wb_log__genesis(prev, store->keys->sign_pk);
    rc = sqlite3_prepare_v2(store->db,
                            "SELECT seq, local_id, kind, content, digest, signature"
                            " FROM interaction_log ORDER BY seq",
                            -1, &st, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        const char *id = (const char *)sqlite3_column_text(st, 1);
        int is_signed = sqlite3_column_type(st, 5) != SQLITE_NULL;
        (*entries)++;
        last = seq;
        if (sqlite3_column_bytes(st, 3) != HASH_BYTES ||
            sqlite3_column_bytes(st, 4) != HASH_BYTES ||
            (is_signed && sqlite3_column_bytes(st, 5) != crypto_sign_BYTES)) {
            set_broken(b, seq, id, "entry is malformed");
            rc = SQLITE_OK;
            continue;
        }
        if (seq != expect)
            set_broken(b, expect, NULL, "entry missing (the sequence has a gap)");
        wb_log__link(digest, prev, seq, sqlite3_column_int(st, 2), sqlite3_column_blob(st, 3));
        if (sodium_memcmp(digest, sqlite3_column_blob(st, 4), HASH_BYTES) != 0)
            set_broken(b, seq, id,
                       "digest does not follow from the previous entry (edited, removed or "
                       "reordered entries)");
        else if (is_signed && crypto_sign_verify_detached(sqlite3_column_blob(st, 5), digest,
                                                          HASH_BYTES, store->keys->sign_pk) != 0)
            set_broken(b, seq, id, "signature does not verify under the device key");
        if (is_signed) {
            (*signed_entries)++;
            uncovered = 0;
        } else if (!uncovered) {
            uncovered = seq;
            snprintf(uncovered_id, sizeof(uncovered_id), "%s", id ? id : "");
        }
        /* Continue from the stored digest, so one edit reports one link. */
        memcpy(prev, sqlite3_column_blob(st, 4), HASH_BYTES);
        expect = seq + 1;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_OK)
        return wb_store__sqlite_error(store, rc, "verify");
    if (uncovered) {
        char problem[160];
        snprintf(problem, sizeof(problem),
                 "entry is unsigned and no later signed entry covers it (the log ends in "
                 "unsigned entries %lld to %lld)",
                 (long long)uncovered, (long long)last);
        set_broken(b, uncovered, uncovered_id, problem);
    }
    return 0;
}

/* Each record against its latest entry; records with no entry. */
static int check_records(int64_t *records, broken *b, wb_store *store)
{
    sqlite3_stmt *st = NULL;
    wb_buf plain = WB_BUF_INIT;
    int rc, error = 0;

    rc = sqlite3_prepare_v2(
        store->db,
        "SELECT l.seq, l.local_id, l.kind, l.content, i.data, i.local_id IS NOT NULL"
        " FROM interaction_log l LEFT JOIN interactions i ON i.local_id = l.local_id"
        " WHERE l.seq = (SELECT max(seq) FROM interaction_log m WHERE m.local_id = l.local_id)"
        " UNION ALL SELECT NULL, local_id, 0, NULL, NULL, 1 FROM interactions"
        " WHERE local_id NOT IN (SELECT local_id FROM interaction_log)"
        " ORDER BY 1 NULLS LAST",
        -1, &st, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        const char *id = (const char *)sqlite3_column_text(st, 1);
        int kind = sqlite3_column_int(st, 2), exists = sqlite3_column_int(st, 5);
        unsigned char content[HASH_BYTES];
        rc = SQLITE_OK;
        if (!id)
            continue;
        if (exists)
            (*records)++;
        if (kind == 0) {
            set_broken(b, 0, id, "record is not in the log (not recorded through walkbook)");
            continue;
        }
        if (kind == WB_LOG_DELETE)
            continue; /* deleted, maybe purged since: nothing to compare */
        if (!exists) {
            set_broken(b, seq, id, "record was removed from the store");
            continue;
        }
        wb_buf__clear(&plain);
        error = wb_crypto__open(&plain, store, "interactions", "data", id,
                                (const char *)sqlite3_column_text(st, 4),
                                (size_t)sqlite3_column_bytes(st, 4));
        if (error == WB_ETAMPER) {
            set_broken(b, seq, id, "record's sealed data does not authenticate");
            error = 0;
            continue;
        }
        if (error < 0)
            break;
        error = wb_log__content(content, id, plain.ptr ? plain.ptr : "");
        if (error == WB_ECORRUPT) {
            set_broken(b, seq, id, "record's data is damaged");
            error = 0;
            continue;
        }
        if (error < 0)
            break;
        if (sqlite3_column_bytes(st, 3) != HASH_BYTES ||
            sodium_memcmp(content, sqlite3_column_blob(st, 3), HASH_BYTES) != 0)
            set_broken(b, seq, id, "record differs from what the device signed (edited)");
    }
    if (error == 0 && rc != SQLITE_DONE && rc != SQLITE_OK)
        error = wb_store__sqlite_error(store, rc, "verify");
    sqlite3_finalize(st);
    wb_crypto__wipe_buf(&plain);
    wb_buf__free(&plain);
    return error;
}

int wb_log_verify(char **out_json, wb_store *store)
{
    broken b;
    wb_buf out = WB_BUF_INIT;
    int64_t entries = 0, signed_entries = 0, records = 0;
    char pk_hex[crypto_sign_PUBLICKEYBYTES * 2 + 1];
    int error;

    wb_error__reset();
    WB__CHECK_ARG(store);
    if (out_json)
        *out_json = NULL;
    if (!store->keys || !store->keys->has_sign)
        return wb_error__set(WB_EKEY, WB_ERRCLASS_CRYPTO,
                             "verify: this store has no device key (opened read-only before "
                             "its keys were made)");
    memset(&b, 0, sizeof(b));
    /* One read transaction: a consistent snapshot of log and records. */
    if ((error = wb_store__exec(store, "BEGIN")) < 0)
        return error;
    if ((error = check_chain(&entries, &signed_entries, &b, store)) == 0)
        error = check_records(&records, &b, store);
    wb_store__rollback(store);
    if (error < 0)
        goto cleanup;
    sodium_bin2hex(pk_hex, sizeof(pk_hex), store->keys->sign_pk, crypto_sign_PUBLICKEYBYTES);
    wb_buf__printf(&out, "{\"entries\":%lld,\"signed\":%lld,\"records\":%lld,\"ok\":%s,"
                         "\"publicKey\":\"%s\",\"firstBroken\":",
                   (long long)entries, (long long)signed_entries, (long long)records,
                   b.problem[0] ? "false" : "true", pk_hex);
    if (b.problem[0]) {
        if (b.seq > 0)
            wb_buf__printf(&out, "{\"seq\":%lld,\"id\":", (long long)b.seq);
        else
            wb_buf__puts(&out, "{\"seq\":null,\"id\":");
        if (b.id[0])
            wb_buf__put_json_string(&out, b.id);
        else
            wb_buf__puts(&out, "null");
        wb_buf__puts(&out, ",\"problem\":");
        wb_buf__put_json_string(&out, b.problem);
        wb_buf__puts(&out, "}}");
    } else {
        wb_buf__puts(&out, "null}");
    }
    if (out.oom) {
        error = wb_error__oom();
        goto cleanup;
    }
    if (out_json)
        *out_json = wb_buf__detach(&out);
    if (b.problem[0]) {
        if (b.seq > 0)
            error = wb_error__set(WB_ETAMPER, WB_ERRCLASS_CRYPTO,
                                  "interaction log: entry %lld (%s): %s", (long long)b.seq,
                                  b.id[0] ? b.id : "-", b.problem);
        else
            error = wb_error__set(WB_ETAMPER, WB_ERRCLASS_CRYPTO, "interaction log: %s: %s",
                                  b.id, b.problem);
    }
cleanup:
    wb_buf__free(&out);
    return error;
}

/* ---- the signature object that travels with a create ----------------------- */

static int log_step(sqlite3_stmt *st, wb_store *store)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return rc;
    return wb_store__sqlite_error(store, rc, "interaction log");
}

/* Prepare sql into *st, bind seq as ?1 and step once: SQLITE_ROW,
 * SQLITE_DONE, or a negative error. The caller finalizes *st. */
static int log_step_seq(sqlite3_stmt **st, wb_store *store, const char *sql, int64_t seq)
{
    int rc = sqlite3_prepare_v2(store->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK)
        return wb_store__sqlite_error(store, rc, "interaction log");
    sqlite3_bind_int64(*st, 1, seq);
    return log_step(*st, store);
}

static void put_hex(wb_buf *b, const char *name, const void *bin, size_t len)
{
    char hex[crypto_sign_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof(hex), bin, len);
    wb_buf__printf(b, ",\"%s\":\"%s\"", name, hex);
}

int wb_log__signature(wb_buf *out, int64_t *out_seq, wb_store *store, const char *local_id,
                      const char *data_text)
{
    unsigned char content[HASH_BYTES], prev[HASH_BYTES], digest[HASH_BYTES];
    unsigned char sig[crypto_sign_BYTES];
    sqlite3_stmt *st = NULL;
    wb_buf links = WB_BUF_INIT;
    char *b64 = NULL;
    int64_t seq = 0, anchor = 0, from;
    int kind = 0, rc, error = 0;

    if (!store->keys || !store->keys->has_sign)
        return wb_error__set(WB_EKEY, WB_ERRCLASS_CRYPTO,
                             "signature: this store has no device key");
    if ((error = wb_log__content(content, local_id, data_text)) < 0)
        return error;
    /* The latest entry that signed exactly this data: the record as made at
     * the door, or as edited on this device before it first went out (the
     * device's own changes are always signed; a server version applied
     * inside a transaction may not be, and is not exported). */
    rc = sqlite3_prepare_v2(store->db,
                            "SELECT seq, kind, digest, signature FROM interaction_log"
                            " WHERE local_id = ?1 AND content = ?2 AND signature IS NOT NULL"
                            " ORDER BY seq DESC LIMIT 1",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        error = wb_store__sqlite_error(store, rc, "interaction log");
        goto cleanup;
    }
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, content, sizeof(content), SQLITE_STATIC);
    if ((rc = log_step(st, store)) < 0) {
        error = rc;
        goto cleanup;
    }
    if (rc == SQLITE_DONE || sqlite3_column_bytes(st, 2) != HASH_BYTES ||
        sqlite3_column_bytes(st, 3) != crypto_sign_BYTES) {
        error = wb_error__set(WB_ENOTFOUND, WB_ERRCLASS_CRYPTO,
                              "interaction %s: no log entry signed its current data", local_id);
        goto cleanup;
    }
    seq = sqlite3_column_int64(st, 0);
    kind = sqlite3_column_int(st, 1);
    memcpy(digest, sqlite3_column_blob(st, 2), HASH_BYTES);
    memcpy(sig, sqlite3_column_blob(st, 3), crypto_sign_BYTES);
    sqlite3_finalize(st);
    st = NULL;

    /* The previous digest as the log holds it (a verifier recomputes the
     * digest from it: a removed or moved entry shows there). */
    wb_log__genesis(prev, store->keys->sign_pk);
    rc = log_step_seq(&st, store,
                      "SELECT digest FROM interaction_log WHERE seq < ?1"
                      " ORDER BY seq DESC LIMIT 1",
                      seq);
    if (rc < 0) {
        error = rc;
        goto cleanup;
    }
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == HASH_BYTES)
        memcpy(prev, sqlite3_column_blob(st, 0), HASH_BYTES);
    sqlite3_finalize(st);
    st = NULL;

    /* Links start after the newest entry a server acknowledged (007). */
    rc = log_step_seq(&st, store,
                      "SELECT max(u.seq) FROM signature_uploads u JOIN interactions i"
                      " ON i.local_id = u.local_id"
                      " WHERE i.server_id IS NOT NULL AND u.seq < ?1",
                      seq);
    if (rc < 0) {
        error = rc;
        goto cleanup;
    }
    if (rc == SQLITE_ROW)
        anchor = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    from = anchor + 1;
    if (seq - from > WB_LOG_MAX_LINKS)
        from = seq - WB_LOG_MAX_LINKS;

    rc = sqlite3_prepare_v2(store->db,
                            "SELECT seq, kind, content FROM interaction_log"
                            " WHERE seq >= ?1 AND seq < ?2 ORDER BY seq",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        error = wb_store__sqlite_error(store, rc, "interaction log");
        goto cleanup;
    }
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, seq);
    while ((rc = log_step(st, store)) == SQLITE_ROW) {
        unsigned char rec[WB_LOG_LINK_BYTES];
        uint64_t s = (uint64_t)sqlite3_column_int64(st, 0);
        if (sqlite3_column_bytes(st, 2) != HASH_BYTES)
            continue; /* a damaged entry: the verifier sees the hole */
        for (int i = 0; i < 8; i++)
            rec[i] = (unsigned char)(s >> (56 - 8 * i));
        rec[8] = (unsigned char)sqlite3_column_int(st, 1);
        memcpy(rec + 9, sqlite3_column_blob(st, 2), HASH_BYTES);
        wb_buf__put(&links, (const char *)rec, sizeof(rec));
    }
    if (rc < 0) {
        error = rc;
        goto cleanup;
    }
    if (links.oom) {
        error = wb_error__oom();
        goto cleanup;
    }
    {
        size_t b64_len = sodium_base64_ENCODED_LEN(links.len, sodium_base64_VARIANT_ORIGINAL);
        if (!(b64 = wb__malloc(b64_len))) {
            error = wb_error__oom();
            goto cleanup;
        }
        sodium_bin2base64(b64, b64_len, (const unsigned char *)(links.ptr ? links.ptr : ""),
                          links.len, sodium_base64_VARIANT_ORIGINAL);
    }
    wb_buf__printf(out, "{\"algorithm\":\"%s\"", WB_LOG_ALGORITHM);
    put_hex(out, "publicKey", store->keys->sign_pk, crypto_sign_PUBLICKEYBYTES);
    wb_buf__printf(out, ",\"seq\":%lld,\"kind\":%d", (long long)seq, kind);
    put_hex(out, "content", content, HASH_BYTES);
    put_hex(out, "previous", prev, HASH_BYTES);
    put_hex(out, "digest", digest, HASH_BYTES);
    put_hex(out, "signature", sig, crypto_sign_BYTES);
    wb_buf__printf(out, ",\"links\":\"%s\"}", b64);
    if (out->oom)
        error = wb_error__oom();
    else if (out_seq)
        *out_seq = seq;
cleanup:
    sqlite3_finalize(st);
    wb_buf__free(&links);
    wb__free(b64);
    return error;
}

int wb_log__signature_sent(wb_store *store, const char *local_id, int64_t seq)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db,
                                "INSERT INTO signature_uploads (local_id, seq) VALUES (?1, ?2)"
                                " ON CONFLICT (local_id) DO UPDATE SET seq = excluded.seq",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, seq);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : wb_store__sqlite_error(store, rc, "signature uploads");
}

int wb_log_signature(char **out_json, wb_store *store, const char *id)
{
    wb_buf plain = WB_BUF_INIT, out = WB_BUF_INIT;
    int error, found = 0;

    wb_error__reset();
    WB__CHECK_ARG(out_json);
    *out_json = NULL;
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(id);
    /* One read transaction: the record and the log as of one moment. */
    if ((error = wb_store__exec(store, "BEGIN")) < 0)
        return error;
    error = read_data(&plain, &found, store, id);
    if (error == 0 && !found)
        error = wb_error__set(WB_ENOTFOUND, WB_ERRCLASS_STORE, "interaction %s: not found", id);
    if (error == 0)
        error = wb_log__signature(&out, NULL, store, id, plain.ptr ? plain.ptr : "");
    wb_store__rollback(store);
    if (error == 0 && !(*out_json = wb_buf__detach(&out)))
        error = wb_error__oom();
    wb_crypto__wipe_buf(&plain);
    wb_buf__free(&plain);
    wb_buf__free(&out);
    return error;
}
