/*
 * signatures.c - walkbookSignature on creates: parse, verify, store, and
 * keep each device's chain (see signatures.h; the formulas are the
 * client's, core/log.c, and README "Signatures on the wire").
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "common.h"
#include "crypto.h"
#include "json.h"
#include "signatures.h"
#include "timeutil.h"
#include "uuid.h"

#define WBS_SIG "walkbookSignature"
#define HASH WB_LOG_HASH_BYTES

struct wbs_signatures {
    wbs_records *records;
    int accept;
    wbs_admin *admin; /* for the admin route's token check */
};

typedef struct wbs_sig_link {
    int64_t seq;
    int kind;
    unsigned char content[HASH];
} wbs_sig_link;

struct wbs_sig {
    char local_id[WB_UUID_LEN + 1];
    char pk_hex[crypto_sign_PUBLICKEYBYTES * 2 + 1];
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    int64_t seq;
    int kind;
    unsigned char content[HASH], previous[HASH], digest[HASH];
    unsigned char signature[crypto_sign_BYTES];
    wbs_sig_link *links;
    size_t n_links;
    char *text; /* the object as received, compact */
    const char *status, *problem;
};

static const char wbs_sig__tables[] =
    "CREATE TABLE IF NOT EXISTS wbs_sig_devices (public_key TEXT PRIMARY KEY,"
    " customer TEXT NOT NULL, user TEXT NOT NULL, first_seen TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS wbs_sig_records (customer TEXT NOT NULL,"
    " record_id TEXT NOT NULL, public_key TEXT NOT NULL, seq INTEGER NOT NULL,"
    " kind INTEGER NOT NULL, local_id TEXT NOT NULL, status TEXT NOT NULL, problem TEXT,"
    " object TEXT NOT NULL, PRIMARY KEY (customer, record_id));"
    "CREATE TABLE IF NOT EXISTS wbs_sig_chain (public_key TEXT NOT NULL, seq INTEGER NOT NULL,"
    " kind INTEGER NOT NULL, content BLOB NOT NULL, digest BLOB, signed INTEGER NOT NULL,"
    " PRIMARY KEY (public_key, seq));"
    "CREATE TABLE IF NOT EXISTS wbs_sig_breaks (public_key TEXT NOT NULL,"
    " seq INTEGER NOT NULL, problem TEXT NOT NULL);";

wbs_signatures *wbs_signatures_new(wbs_records *r, int accept)
{
    wbs_signatures *m = wb__calloc(1, sizeof(*m));
    int rc = SQLITE_OK;
    if (!m)
        return NULL;
    m->records = r;
    m->accept = accept;
    if (accept) {
        wbs_records_lock(r);
        rc = sqlite3_exec(wbs_records_db(r), wbs_sig__tables, NULL, NULL, NULL);
        wbs_records_unlock(r);
    }
    if (rc != SQLITE_OK) {
        wb__free(m);
        return NULL;
    }
    return m;
}

void wbs_signatures_free(wbs_signatures *m)
{
    wb__free(m);
}

void wbs_sig_free(wbs_sig *sig)
{
    if (!sig)
        return;
    wb__free(sig->links);
    wb__free(sig->text);
    wb__free(sig);
}

/* ---- parsing ----------------------------------------------------------------- */

static int wbs_sig__bad(wbs_response *res, const char *member, const char *problem)
{
    char msg[160];
    snprintf(msg, sizeof(msg), WBS_SIG "%s%s: %s", member ? "." : "", member ? member : "",
             problem);
    wbs_respond_error(res, 400, "ValidationError", msg);
    return -1;
}

/* Exactly len bytes of lowercase or uppercase hex. */
static int wbs_sig__hex(unsigned char *out, size_t len, const cJSON *obj, const char *name,
                        wbs_response *res)
{
    const cJSON *v = wb_json__get(obj, name);
    size_t got = 0;
    const char *end = NULL;
    if (!v)
        return wbs_sig__bad(res, name, "required");
    if (!cJSON_IsString(v) || strlen(v->valuestring) != 2 * len ||
        sodium_hex2bin(out, len, v->valuestring, 2 * len, NULL, &got, &end) != 0 || got != len ||
        (end && *end))
        return wbs_sig__bad(res, name, len == HASH ? "must be 64 hexadecimal digits"
                                                   : "must be hexadecimal digits of the right "
                                                     "length");
    return 0;
}

static int wbs_sig__int(int64_t *out, const cJSON *obj, const char *name, int64_t lo, int64_t hi,
                        wbs_response *res)
{
    const cJSON *v = wb_json__get(obj, name);
    char msg[96];
    if (!v)
        return wbs_sig__bad(res, name, "required");
    /* Range first: casting an out-of-range double is undefined. */
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= (double)lo && v->valuedouble <= (double)hi) ||
        v->valuedouble != (double)(int64_t)v->valuedouble) {
        snprintf(msg, sizeof(msg), "must be an integer from %lld to %lld", (long long)lo,
                 (long long)hi);
        return wbs_sig__bad(res, name, msg);
    }
    *out = (int64_t)v->valuedouble;
    return 0;
}

static int wbs_sig__links(wbs_sig *sig, const cJSON *obj, wbs_response *res)
{
    const cJSON *v = wb_json__get(obj, "links");
    unsigned char *bin = NULL;
    size_t max, len = 0;
    int rc = -1;
    if (!v)
        return wbs_sig__bad(res, "links", "required");
    if (!cJSON_IsString(v))
        return wbs_sig__bad(res, "links", "must be a base64 string");
    max = strlen(v->valuestring) / 4 * 3 + 3;
    if (max > (size_t)WB_LOG_MAX_LINKS * WB_LOG_LINK_BYTES + 3)
        return wbs_sig__bad(res, "links", "more than 1000 links");
    if (!(bin = wb__malloc(max + 1))) {
        wbs_respond_error(res, 500, "ServerError", "out of memory");
        return -1;
    }
    if (sodium_base642bin(bin, max, v->valuestring, strlen(v->valuestring), NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len % WB_LOG_LINK_BYTES != 0) {
        wbs_sig__bad(res, "links", "must be base64 of 41-byte links");
        goto cleanup;
    }
    sig->n_links = len / WB_LOG_LINK_BYTES;
    if (sig->n_links > WB_LOG_MAX_LINKS) {
        wbs_sig__bad(res, "links", "more than 1000 links");
        goto cleanup;
    }
    if (sig->n_links && !(sig->links = wb__calloc(sig->n_links, sizeof(*sig->links)))) {
        wbs_respond_error(res, 500, "ServerError", "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < sig->n_links; i++) {
        const unsigned char *p = bin + i * WB_LOG_LINK_BYTES;
        uint64_t s = 0;
        for (int b = 0; b < 8; b++)
            s = s << 8 | p[b];
        if (s < 1 || s >= (uint64_t)sig->seq || (i > 0 && (int64_t)s <= sig->links[i - 1].seq)) {
            wbs_sig__bad(res, "links", "sequence numbers must rise and stay below seq");
            goto cleanup;
        }
        if (p[8] < 1 || p[8] > 4) {
            wbs_sig__bad(res, "links", "kind must be 1 to 4");
            goto cleanup;
        }
        sig->links[i].seq = (int64_t)s;
        sig->links[i].kind = p[8];
        memcpy(sig->links[i].content, p + 9, HASH);
    }
    rc = 0;
cleanup:
    wb__free(bin);
    return rc;
}

int wbs_sig_take(wbs_sig **out, const wbs_signatures *m, cJSON *body, const cJSON *client_id,
                 wbs_response *res)
{
    static const char *const members[] = {"algorithm", "publicKey", "seq",       "kind", "content",
                                          "previous",  "digest",    "signature", "links"};
    cJSON *obj = cJSON_DetachItemFromObjectCaseSensitive(body, WBS_SIG);
    wbs_sig *sig = NULL;
    const cJSON *alg, *c;
    int64_t kind = 0;
    int rc = -1;

    *out = NULL;
    if (!obj)
        return 0;
    if (!m || !m->accept) {
        wbs_sig__bad(res, NULL,
                     "this server does not accept signatures (walkbook-server "
                     "--accept-signatures)");
        goto cleanup;
    }
    if (!cJSON_IsObject(obj)) {
        wbs_sig__bad(res, NULL, "must be an object");
        goto cleanup;
    }
    for (c = obj->child; c; c = c->next) {
        size_t i = 0;
        while (i < WB__ARRAY_SIZE(members) && strcmp(members[i], c->string ? c->string : ""))
            i++;
        if (i == WB__ARRAY_SIZE(members)) {
            char name[48];
            snprintf(name, sizeof(name), "%.40s", c->string ? c->string : "");
            wbs_sig__bad(res, name, "unknown member");
            goto cleanup;
        }
    }
    if (!cJSON_IsString(client_id) || !wb_uuid__valid(client_id->valuestring)) {
        wbs_sig__bad(res, NULL, "needs the body's id (the device's record id, which it covers)");
        goto cleanup;
    }
    if (!(sig = wb__calloc(1, sizeof(*sig)))) {
        wbs_respond_error(res, 500, "ServerError", "out of memory");
        goto cleanup;
    }
    snprintf(sig->local_id, sizeof(sig->local_id), "%s", client_id->valuestring);
    alg = wb_json__get(obj, "algorithm");
    if (!alg) {
        wbs_sig__bad(res, "algorithm", "required");
        goto cleanup;
    }
    if (!cJSON_IsString(alg) || strcmp(alg->valuestring, WB_LOG_ALGORITHM) != 0) {
        wbs_sig__bad(res, "algorithm", "must be \"" WB_LOG_ALGORITHM "\"");
        goto cleanup;
    }
    if (wbs_sig__hex(sig->pk, sizeof(sig->pk), obj, "publicKey", res) < 0 ||
        wbs_sig__int(&sig->seq, obj, "seq", 1, (int64_t)1 << 53, res) < 0 ||
        wbs_sig__int(&kind, obj, "kind", 1, 4, res) < 0)
        goto cleanup;
    if (kind == 3) {
        wbs_sig__bad(res, "kind", "3 (a delete) signs no data");
        goto cleanup;
    }
    sig->kind = (int)kind;
    if (wbs_sig__hex(sig->content, HASH, obj, "content", res) < 0 ||
        wbs_sig__hex(sig->previous, HASH, obj, "previous", res) < 0 ||
        wbs_sig__hex(sig->digest, HASH, obj, "digest", res) < 0 ||
        wbs_sig__hex(sig->signature, sizeof(sig->signature), obj, "signature", res) < 0 ||
        wbs_sig__links(sig, obj, res) < 0)
        goto cleanup;
    sodium_bin2hex(sig->pk_hex, sizeof(sig->pk_hex), sig->pk, sizeof(sig->pk));
    if (!(sig->text = wb_json__print(obj))) {
        wbs_respond_error(res, 500, "ServerError", "out of memory");
        goto cleanup;
    }
    *out = sig;
    sig = NULL;
    rc = 0;
cleanup:
    wbs_sig_free(sig);
    cJSON_Delete(obj);
    return rc;
}

/* ---- verification ------------------------------------------------------------ */

void wbs_sig_check(wbs_sig *sig, const cJSON *data)
{
    unsigned char content[HASH], digest[HASH];
    char *text;

    sig->status = "verified";
    sig->problem = NULL;
    if (crypto_sign_verify_detached(sig->signature, sig->digest, HASH, sig->pk) != 0) {
        sig->status = "forged";
        sig->problem = "the signature does not verify under the device key";
        return;
    }
    wb_log__link(digest, sig->previous, sig->seq, sig->kind, sig->content);
    if (sodium_memcmp(digest, sig->digest, HASH) != 0) {
        sig->status = "misplaced";
        sig->problem = "the digest does not follow from previous, seq, kind and content (the "
                       "entry's chain position was changed)";
        return;
    }
    /* The data as received, printed the one canonical way (README). */
    text = wb_json__print(data);
    if (!text || wb_log__content(content, sig->local_id, text) < 0 ||
        sodium_memcmp(content, sig->content, HASH) != 0) {
        sig->status = "altered";
        sig->problem = text ? "the record received is not the data the device signed"
                            : "out of memory while checking the record";
    }
    wb__free(text);
}

/* ---- the device chain --------------------------------------------------------- */

static void wbs_sig__break(sqlite3 *db, const wbs_sig *sig, int64_t seq, const char *problem)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "INSERT INTO wbs_sig_breaks VALUES (?1, ?2, ?3)", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, sig->pk_hex, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, seq);
        sqlite3_bind_text(st, 3, problem, -1, SQLITE_STATIC);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
    fprintf(stderr, "walkbook-server: signature chain of device %.16s...: seq %lld: %s\n",
            sig->pk_hex, (long long)seq, problem);
}

/* The known digest at seq into out: 1 known, 0 unknown, -1 storage. */
static int wbs_sig__digest_at(unsigned char *out, sqlite3 *db, const wbs_sig *sig, int64_t seq)
{
    sqlite3_stmt *st = NULL;
    int rc, known = 0;
    if (seq == 0) {
        wb_log__genesis(out, sig->pk);
        return 1;
    }
    rc = sqlite3_prepare_v2(db, "SELECT digest FROM wbs_sig_chain WHERE public_key = ?1 AND seq = ?2",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, sig->pk_hex, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, seq);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == HASH) {
        memcpy(out, sqlite3_column_blob(st, 0), HASH);
        known = 1;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? known : -1;
}

/* Record position seq (digest NULL when unknown); a different entry already
 * there is a break. 0 or -1. */
static int wbs_sig__position(sqlite3 *db, const wbs_sig *sig, int64_t seq, int kind,
                             const unsigned char *content, const unsigned char *digest,
                             int is_signed)
{
    sqlite3_stmt *st = NULL;
    int rc, error = 0;
    rc = sqlite3_prepare_v2(db,
                            "SELECT kind, content, digest FROM wbs_sig_chain"
                            " WHERE public_key = ?1 AND seq = ?2",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, sig->pk_hex, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, seq);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW) {
        int same = sqlite3_column_int(st, 0) == kind && sqlite3_column_bytes(st, 1) == HASH &&
                   memcmp(sqlite3_column_blob(st, 1), content, HASH) == 0;
        int had_digest = sqlite3_column_bytes(st, 2) == HASH;
        int digest_differs =
            had_digest && digest && memcmp(sqlite3_column_blob(st, 2), digest, HASH) != 0;
        sqlite3_finalize(st);
        st = NULL;
        if (!same) {
            wbs_sig__break(db, sig, seq,
                           "two different entries at this position (a forked or replayed log)");
            return 0;
        }
        if (digest_differs) {
            wbs_sig__break(db, sig, seq,
                           "the entries before this one differ from those received earlier");
            return 0;
        }
        rc = sqlite3_prepare_v2(db,
                                "UPDATE wbs_sig_chain SET digest = coalesce(digest, ?3),"
                                " signed = max(signed, ?4) WHERE public_key = ?1 AND seq = ?2",
                                -1, &st, NULL);
    } else if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        st = NULL;
        rc = sqlite3_prepare_v2(db, "INSERT INTO wbs_sig_chain VALUES (?1, ?2, ?5, ?6, ?3, ?4)",
                                -1, &st, NULL);
    }
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, sig->pk_hex, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, seq);
        if (digest)
            sqlite3_bind_blob(st, 3, digest, HASH, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, is_signed);
        sqlite3_bind_int(st, 5, kind);
        sqlite3_bind_blob(st, 6, content, HASH, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_DONE)
        error = -1;
    sqlite3_finalize(st);
    return error;
}

/* Walk the links from the last position known before them to the entry:
 * each link's digest follows from the one before; the entry's previous
 * digest must be where the walk arrives. */
static int wbs_sig__extend(sqlite3 *db, const wbs_sig *sig)
{
    unsigned char d[HASH];
    int64_t expect = sig->n_links ? sig->links[0].seq : sig->seq;
    int known = wbs_sig__digest_at(d, db, sig, expect - 1);

    if (known < 0)
        return -1;
    for (size_t i = 0; i < sig->n_links; i++) {
        const wbs_sig_link *l = &sig->links[i];
        if (l->seq != expect)
            known = 0; /* a hole in the links: the gap shows in the report */
        if (known)
            wb_log__link(d, d, l->seq, l->kind, l->content);
        if (wbs_sig__position(db, sig, l->seq, l->kind, l->content, known ? d : NULL, 0) < 0)
            return -1;
        expect = l->seq + 1;
    }
    if (expect != sig->seq)
        known = 0;
    if (known && sodium_memcmp(d, sig->previous, HASH) != 0)
        wbs_sig__break(db, sig, sig->seq,
                       "the previous digest does not follow from the entries before it (an "
                       "entry was changed, removed or moved)");
    return wbs_sig__position(db, sig, sig->seq, sig->kind, sig->content, sig->digest, 1);
}

int wbs_sig_store(wbs_signatures *m, wbs_sig *sig, const wbs_principal *who,
                  const char *record_id)
{
    sqlite3 *db = wbs_records_db(m->records);
    sqlite3_stmt *st = NULL;
    char now[WB_TIMESTAMP_LEN + 1];
    int rc;

    /* Trust on first use: the first user to present a key owns it. */
    rc = sqlite3_prepare_v2(db,
                            "INSERT INTO wbs_sig_devices VALUES (?1, ?2, ?3, ?4)"
                            " ON CONFLICT (public_key) DO NOTHING",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        wb_time__format(now, wb_time__now_ms());
        sqlite3_bind_text(st, 1, sig->pk_hex, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, who->customer, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, who->user, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db,
                                "SELECT 1 FROM wbs_sig_devices WHERE public_key = ?1"
                                " AND customer = ?2 AND user = ?3",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, sig->pk_hex, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, who->customer, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, who->user, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE && strcmp(sig->status, "forged") != 0) {
            sig->status = "untrusted";
            sig->problem = "the device key was registered to another user";
        }
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db,
                                "INSERT OR REPLACE INTO wbs_sig_records VALUES"
                                " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, who->customer, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, record_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, sig->pk_hex, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, sig->seq);
        sqlite3_bind_int(st, 5, sig->kind);
        sqlite3_bind_text(st, 6, sig->local_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, sig->status, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, sig->problem, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, sig->text, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return -1;
    if (strcmp(sig->status, "verified") != 0) {
        /* Ids and the key's first digits only: nothing personal. */
        fprintf(stderr, "walkbook-server: signature of record %s (device %.16s..., seq %lld): %s: %s\n",
                record_id, sig->pk_hex, (long long)sig->seq, sig->status, sig->problem);
        return 0; /* an entry that does not verify joins no chain */
    }
    return wbs_sig__extend(db, sig);
}

/* ---- the admin report ----------------------------------------------------------- */

static int wbs_sig__device(cJSON *dev, sqlite3 *db, const char *pk)
{
    sqlite3_stmt *st = NULL;
    cJSON *gaps = cJSON_AddArrayToObject(dev, "gaps"), *breaks = cJSON_AddArrayToObject(dev, "breaks");
    int64_t first = 0, last = 0, positions = 0, n_signed = 0, flagged = 0;
    int rc;

    if (!gaps || !breaks)
        return -1;
    rc = sqlite3_prepare_v2(db, "SELECT seq, signed FROM wbs_sig_chain WHERE public_key = ?1"
                                " ORDER BY seq",
                            -1, &st, NULL);
    if (rc == SQLITE_OK)
        sqlite3_bind_text(st, 1, pk, -1, SQLITE_STATIC);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        if (positions > 0 && seq != last + 1) {
            cJSON *g = cJSON_CreateArray();
            cJSON_AddItemToArray(gaps, g);
            cJSON_AddItemToArray(g, cJSON_CreateNumber((double)(last + 1)));
            cJSON_AddItemToArray(g, cJSON_CreateNumber((double)(seq - 1)));
        }
        if (positions++ == 0)
            first = seq;
        last = seq;
        n_signed += sqlite3_column_int(st, 1) != 0;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc != SQLITE_DONE)
        return -1;
    rc = sqlite3_prepare_v2(db, "SELECT seq, problem FROM wbs_sig_breaks WHERE public_key = ?1"
                                " ORDER BY seq, rowid",
                            -1, &st, NULL);
    if (rc == SQLITE_OK)
        sqlite3_bind_text(st, 1, pk, -1, SQLITE_STATIC);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddItemToArray(breaks, b);
        cJSON_AddNumberToObject(b, "seq", (double)sqlite3_column_int64(st, 0));
        cJSON_AddStringToObject(b, "problem", (const char *)sqlite3_column_text(st, 1));
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc != SQLITE_DONE)
        return -1;
    rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM wbs_sig_records WHERE public_key = ?1"
                                " AND status <> 'verified'",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, pk, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    flagged = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return -1;
    cJSON_AddNumberToObject(dev, "positions", (double)positions);
    cJSON_AddNumberToObject(dev, "flagged", (double)flagged);
    cJSON_AddNumberToObject(dev, "signed", (double)n_signed);
    cJSON_AddNumberToObject(dev, "firstSeq", (double)first);
    cJSON_AddNumberToObject(dev, "lastSeq", (double)last);
    cJSON_AddBoolToObject(dev, "ok",
                          cJSON_GetArraySize(gaps) == 0 && cJSON_GetArraySize(breaks) == 0 &&
                              flagged == 0);
    return 0;
}

static void wbs_sig__admin(wbs_response *res, wbs_request *req, void *userdata)
{
    wbs_signatures *m = userdata;
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    cJSON *out = NULL, *devices, *records;
    int rc;

    if (wbs_admin_check(res, req, m->admin) < 0)
        return;
    if (!m->accept) {
        wbs_respond_error(res, 404, "NotFound", "signatures are off (--accept-signatures)");
        return;
    }
    out = cJSON_CreateObject();
    devices = cJSON_AddArrayToObject(out, "devices");
    records = cJSON_AddArrayToObject(out, "records");
    wbs_records_lock(m->records);
    db = wbs_records_db(m->records);
    rc = sqlite3_prepare_v2(db, "SELECT public_key, customer, user FROM wbs_sig_devices"
                                " ORDER BY first_seen, public_key",
                            -1, &st, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *dev = cJSON_CreateObject();
        const char *pk = (const char *)sqlite3_column_text(st, 0);
        cJSON_AddItemToArray(devices, dev);
        cJSON_AddStringToObject(dev, "publicKey", pk);
        cJSON_AddStringToObject(dev, "customerId", (const char *)sqlite3_column_text(st, 1));
        cJSON_AddStringToObject(dev, "userId", (const char *)sqlite3_column_text(st, 2));
        rc = wbs_sig__device(dev, db, pk) < 0 ? SQLITE_ERROR : SQLITE_OK;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == SQLITE_DONE)
        rc = sqlite3_prepare_v2(db, "SELECT record_id, customer, public_key, seq, kind, local_id,"
                                    " status, problem FROM wbs_sig_records"
                                    " ORDER BY public_key, seq, record_id",
                                -1, &st, NULL);
    else
        rc = SQLITE_ERROR;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddItemToArray(records, r);
        cJSON_AddStringToObject(r, "id", (const char *)sqlite3_column_text(st, 0));
        cJSON_AddStringToObject(r, "customerId", (const char *)sqlite3_column_text(st, 1));
        cJSON_AddStringToObject(r, "publicKey", (const char *)sqlite3_column_text(st, 2));
        cJSON_AddNumberToObject(r, "seq", (double)sqlite3_column_int64(st, 3));
        cJSON_AddNumberToObject(r, "kind", sqlite3_column_int(st, 4));
        cJSON_AddStringToObject(r, "localId", (const char *)sqlite3_column_text(st, 5));
        cJSON_AddStringToObject(r, "status", (const char *)sqlite3_column_text(st, 6));
        if (sqlite3_column_type(st, 7) == SQLITE_NULL)
            cJSON_AddNullToObject(r, "problem");
        else
            cJSON_AddStringToObject(r, "problem", (const char *)sqlite3_column_text(st, 7));
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    wbs_records_unlock(m->records);
    if (rc != SQLITE_DONE)
        wbs_respond_error(res, 500, "ServerError", "storage error");
    else
        wbs_respond_json(res, 200, out);
    cJSON_Delete(out);
}

int wbs_signatures_admin_routes(wbs_http *h, wbs_signatures *m, wbs_admin *a)
{
    m->admin = a;
    return wbs_http_route(h, "GET", "/__admin/signatures", WBS_ROUTE_PUBLIC, wbs_sig__admin, m);
}
