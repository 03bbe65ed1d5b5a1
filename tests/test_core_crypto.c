/*
 * test_core_crypto.c - encryption at rest: sealed personal fields, keys,
 * passphrases, tampering, row swaps, rekeying (also killed part way), and
 * the signed interaction log.
 */
#define _DEFAULT_SOURCE
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixtures.h"
#include "json.h"
#include "store_int.h"
#include "syncstore.h"
#include "wbtest.h"

/* Values that appear nowhere but in the records: the file scan looks for
 * them. */
#define SECRET_NAME "Zelda-Prufrock-7731"
#define SECRET_LAT "12.3456789"

static const unsigned char key_a[WB_KEY_BYTES] = "0123456789abcdef0123456789abcde";
static const unsigned char key_b[WB_KEY_BYTES] = "fedcba9876543210fedcba987654321";

static wb_store_options keyed(const unsigned char *key)
{
    wb_store_options o = WB_STORE_OPTIONS_INIT;
    o.key = key;
    return o;
}

static wb_store_options with_passphrase(const char *p)
{
    wb_store_options o = WB_STORE_OPTIONS_INIT;
    o.passphrase = p;
    /* The cheapest Argon2id libsodium allows: tests open many times. */
    o.kdf_opslimit = 1;
    o.kdf_memlimit = 8192;
    return o;
}

static const char *secret_body(int i)
{
    static char b[1024];
    snprintf(b, sizeof(b),
             "{\"campaignId\":\"%s\",\"contactId\":\"%s\",\"timestamp\":"
             "\"2024-05-01T10:%02d:%02d.000Z\",\"unavailable\":false,\"successful\":true,"
             "\"survey\":{\"surveyId\":\"375d437b-3b47-4940-b43d-be8daec4afff\",\"responses\":{"
             "\"9826940d-76a8-4700-8c92-5743ce7bb728\":{\"questionId\":"
             "\"9826940d-76a8-4700-8c92-5743ce7bb728\",\"fields\":{\"name\":\"" SECRET_NAME
             "\"}}}},\"location\":{\"lat\":" SECRET_LAT ",\"lng\":-84.1}}",
             FX_CAMPAIGN_A, fx_uuid((unsigned)i + 1), (i / 60) % 60, i % 60);
    return b;
}

static int open_identity(wb_store **s, const char *path, const wb_store_options *o)
{
    int rc = wb_store_open(s, path, o);
    if (rc == 0) {
        const char *groups[] = {FX_GROUP};
        rc = wb_store_set_identity(*s, FX_CUSTOMER, FX_USER, groups, 1);
    }
    return rc;
}

/* 1 when `needle` occurs in the file at path (a missing file has none). */
static int file_contains(const char *path, const char *needle)
{
    size_t len = 0, n = strlen(needle);
    char *data = wbt_read_file(path, &len);
    int found = 0;
    if (!data)
        return 0;
    for (size_t i = 0; i + n <= len && !found; i++)
        found = memcmp(data + i, needle, n) == 0;
    free(data);
    return found;
}

static int files_contain(const char *path, const char *needle)
{
    char wal[1024];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    return file_contains(path, needle) || file_contains(wal, needle);
}

/* A token that appears nowhere else: the file scans look for it. */
#define SECRET_TOKEN "tok-Quixotic-Marmalade-90210"

/* 1 when the saved token reads back as `want` (and is wiped and freed). */
static int token_is(wb_store *s, const char *want)
{
    char *got = NULL;
    int ok = wb_store_saved_token(&got, s) == 0 && strcmp(got, want) == 0;
    wb_free_secret(got);
    return ok;
}

static void test_core_crypto__round_trip_and_no_plaintext_on_disk(void)
{
    const char *path = wbt_path("enc.db");
    const char *plain_path = wbt_path("plain.db");
    wb_store *s = NULL;
    wb_store_options o = keyed(key_a);
    char *id = NULL, *json = NULL;
    wb_iter *it = NULL;
    const char *env;
    int n = 0;

    WBT_OK(open_identity(&s, path, &o));
    WBT_ASSERT_INT(wb_store_encrypted(s), 1);
    for (int i = 0; i < 20; i++)
        WBT_OK(wb_interaction_record(i == 0 ? &id : NULL, s, secret_body(i)));
    WBT_OK(wb_interaction_update(s, id,
                                 "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]"));
    WBT_OK(wb_interaction_get(&json, s, id, 0));
    WBT_ASSERT_CONTAINS(json, SECRET_NAME);
    WBT_ASSERT_CONTAINS(json, "\"successful\":false");
    wb_free(json);
    WBT_OK(wb_interaction_query(&it, s, NULL));
    while (wb_iter_next(&env, it) == 0) {
        WBT_ASSERT_CONTAINS(env, SECRET_NAME);
        n++;
    }
    wb_iter_free(it);
    WBT_ASSERT_INT(n, 20);

    /* With the store still open, the WAL holds the latest pages too. */
    WBT_ASSERT(!files_contain(path, SECRET_NAME));
    WBT_ASSERT(!files_contain(path, SECRET_LAT));
    WBT_ASSERT(!files_contain(path, "Prufrock"));
    wb_store_free(s);
    WBT_ASSERT(!files_contain(path, SECRET_NAME));

    /* The scan itself finds the values in a plain store. */
    s = NULL;
    WBT_OK(open_identity(&s, plain_path, NULL));
    WBT_ASSERT_INT(wb_store_encrypted(s), 0);
    WBT_OK(wb_interaction_record(NULL, s, secret_body(0)));
    WBT_ASSERT(files_contain(plain_path, SECRET_NAME));
    WBT_ASSERT(files_contain(plain_path, SECRET_LAT));
    wb_store_free(s);

    /* Reopened with the key: everything reads back. */
    s = NULL;
    WBT_OK(wb_store_open(&s, path, &o));
    WBT_OK(wb_interaction_get(&json, s, id, 0));
    WBT_ASSERT_CONTAINS(json, SECRET_NAME);
    wb_free(json);
    wb_store_free(s);
    wb_free(id);
}

static void test_core_crypto__wrong_or_missing_key_writes_nothing(void)
{
    const char *path = wbt_path("keys.db");
    char wal[1024];
    wb_store *s = NULL;
    wb_store_options o = keyed(key_a), wrong = keyed(key_b), none = WB_STORE_OPTIONS_INIT;
    size_t len1 = 0, len2 = 0, wlen1 = 0, wlen2 = 0;
    char *before, *after, *wbefore, *wafter;

    WBT_OK(open_identity(&s, path, &o));
    WBT_OK(wb_interaction_record(NULL, s, secret_body(1)));
    wb_store_free(s);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    before = wbt_read_file(path, &len1);
    wbefore = wbt_read_file(wal, &wlen1);

    s = NULL;
    WBT_FAILS(wb_store_open(&s, path, &wrong), WB_EKEY, "wrong key");
    WBT_ASSERT(s == NULL);
    WBT_FAILS(wb_store_open(&s, path, &none), WB_EKEY, "encrypted");
    none.encryption = WB_ENCRYPTION_NONE;
    WBT_FAILS(wb_store_open(&s, path, &none), WB_EKEY, "encrypted");
    {
        wb_store_options p = with_passphrase("a passphrase");
        WBT_FAILS(wb_store_open(&s, path, &p), WB_EKEY, "with a key");
    }
    after = wbt_read_file(path, &len2);
    wafter = wbt_read_file(wal, &wlen2);
    WBT_ASSERT(before && after && len1 == len2 && memcmp(before, after, len1) == 0);
    WBT_ASSERT(wlen1 == wlen2 && (!wlen1 || memcmp(wbefore, wafter, wlen1) == 0));
    free(before);
    free(after);
    free(wbefore);
    free(wafter);

    /* A plain store refuses a key, and a required encryption. */
    WBT_OK(open_identity(&s, wbt_path("plain2.db"), NULL));
    wb_store_free(s);
    s = NULL;
    WBT_FAILS(wb_store_open(&s, wbt_path("plain2.db"), &o), WB_EKEY, "not encrypted");
    none = (wb_store_options)WB_STORE_OPTIONS_INIT;
    none.encryption = WB_ENCRYPTION_REQUIRED;
    WBT_FAILS(wb_store_open(&s, wbt_path("plain2.db"), &none), WB_EKEY, "not encrypted");
    WBT_FAILS(wb_store_open(&s, wbt_path("new.db"), &none), WB_EKEY, "required");
    /* A key with "no encryption" is a contradiction. */
    o.encryption = WB_ENCRYPTION_NONE;
    WBT_FAILS(wb_store_open(&s, wbt_path("new2.db"), &o), WB_EINVALID, "WB_ENCRYPTION_NONE");
}

static void test_core_crypto__passphrase(void)
{
    const char *path = wbt_path("pass.db");
    wb_store *s = NULL;
    wb_store_options o = with_passphrase("correct horse battery staple");
    wb_store_options bad = with_passphrase("correct horse battery stapler");
    wb_store_options k = keyed(key_a);
    char *id = NULL, *json = NULL;

    WBT_OK(open_identity(&s, path, &o));
    WBT_ASSERT_INT(wb_store_encrypted(s), 1);
    WBT_OK(wb_interaction_record(&id, s, secret_body(2)));
    wb_store_free(s);
    WBT_ASSERT(!files_contain(path, SECRET_NAME));
    WBT_ASSERT(!files_contain(path, "correct horse"));
    s = NULL;
    WBT_FAILS(wb_store_open(&s, path, &bad), WB_EKEY, "wrong passphrase");
    WBT_FAILS(wb_store_open(&s, path, &k), WB_EKEY, "passphrase, not a key");
    /* The cost stored at creation is used, not the one in the options. */
    o.kdf_opslimit = 0;
    o.kdf_memlimit = 0;
    WBT_OK(wb_store_open(&s, path, &o));
    WBT_OK(wb_interaction_get(&json, s, id, 0));
    WBT_ASSERT_CONTAINS(json, SECRET_NAME);
    wb_free(json);
    wb_free(id);
    wb_store_free(s);
}

static sqlite3 *raw_db(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

/* Flip one bit of byte `at` of interactions.data of `id`, keeping it a BLOB. */
static int flip_bit(sqlite3 *db, const char *id, int at)
{
    sqlite3_stmt *st = NULL;
    unsigned char buf[4096];
    int n = 0, rc;
    rc = sqlite3_prepare_v2(db, "SELECT data FROM interactions WHERE local_id = ?1", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if ((rc = sqlite3_step(st)) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_BLOB &&
            (n = sqlite3_column_bytes(st, 0)) > at && n <= (int)sizeof(buf)) {
            memcpy(buf, sqlite3_column_blob(st, 0), (size_t)n);
            rc = SQLITE_OK;
        } else {
            rc = SQLITE_MISMATCH;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc != SQLITE_OK)
        return rc;
    buf[at] ^= 0x04;
    rc = sqlite3_prepare_v2(db, "UPDATE interactions SET data = ?2 WHERE local_id = ?1", -1, &st,
                            NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, buf, n, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    return rc;
}

static void test_core_crypto__tampered_and_swapped_values(void)
{
    const char *path = wbt_path("tamper.db");
    wb_store *s = NULL;
    wb_store_options o = keyed(key_a);
    char *ids[4] = {NULL}, *json = NULL, sql[512];
    wb_iter *it = NULL;
    const char *env;
    int ok = 0, tampered = 0, rc;
    sqlite3 *db;

    WBT_OK(open_identity(&s, path, &o));
    for (int i = 0; i < 4; i++)
        WBT_OK(wb_interaction_record(&ids[i], s, secret_body(10 + i)));
    wb_store_free(s);

    db = raw_db(path);
    WBT_ASSERT(db);
    /* Record 0: one bit of its ciphertext flipped (the value stays a BLOB
     * of the same length). */
    WBT_ASSERT_INT(flip_bit(db, ids[0], 40), SQLITE_OK);
    /* Records 1 and 2: ciphertexts swapped (through a copy, so that the
     * second assignment does not see the first). */
    snprintf(sql, sizeof(sql),
             "CREATE TEMP TABLE saved AS SELECT local_id, data FROM interactions"
             " WHERE local_id IN ('%s', '%s');"
             " UPDATE interactions SET data = (SELECT data FROM saved"
             " WHERE saved.local_id <> interactions.local_id)"
             " WHERE local_id IN ('%s', '%s')",
             ids[1], ids[2], ids[1], ids[2]);
    WBT_ASSERT_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    WBT_OK(wb_store_open(&s, path, &o));
    WBT_FAILS(wb_interaction_get(&json, s, ids[0], 0), WB_ETAMPER, "failed authentication");
    WBT_FAILS(wb_interaction_get(&json, s, ids[1], 0), WB_ETAMPER, ids[1]);
    WBT_FAILS(wb_interaction_get(&json, s, ids[2], 0), WB_ETAMPER, "another row");
    WBT_ASSERT(wb_error_last()->klass == WB_ERRCLASS_CRYPTO);
    /* The rest of the store reads. */
    WBT_OK(wb_interaction_get(&json, s, ids[3], 0));
    WBT_ASSERT_CONTAINS(json, SECRET_NAME);
    wb_free(json);
    /* A query reports each bad row and goes on with the next. */
    WBT_OK(wb_interaction_query(&it, s, NULL));
    while ((rc = wb_iter_next(&env, it)) != WB_ITEROVER) {
        if (rc == 0)
            ok++;
        else if (rc == WB_ETAMPER)
            tampered++;
        else
            break;
    }
    wb_iter_free(it);
    WBT_ASSERT_INT(ok, 1);
    WBT_ASSERT_INT(tampered, 3);
    /* Updating a tampered record is refused, not silently overwritten. */
    WBT_FAILS(wb_interaction_update(s, ids[0], "[{\"op\":\"replace\",\"path\":\"/successful\","
                                               "\"value\":false}]"),
              WB_ETAMPER, "interactions.data");
    /* Rekeying refuses too, and changes nothing. */
    {
        wb_store_options nk = keyed(key_b);
        WBT_FAILS(wb_store_rekey(s, &nk), WB_ETAMPER, "interactions.data");
    }
    wb_store_free(s);
    s = NULL;
    WBT_OK(wb_store_open(&s, path, &o));
    WBT_OK(wb_interaction_get(&json, s, ids[3], 0));
    wb_free(json);
    wb_store_free(s);

    /* Plaintext written into an encrypted store is refused as well. */
    db = raw_db(path);
    WBT_ASSERT(db);
    snprintf(sql, sizeof(sql), "UPDATE interactions SET data = '{}' WHERE local_id = '%s'", ids[3]);
    WBT_ASSERT_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    s = NULL;
    WBT_OK(wb_store_open(&s, path, &o));
    WBT_FAILS(wb_interaction_get(&json, s, ids[3], 0), WB_ETAMPER, "not a sealed value");
    wb_store_free(s);
    for (int i = 0; i < 4; i++)
        wb_free(ids[i]);
}

static int count_all(wb_store *s, int *bad)
{
    wb_iter *it = NULL;
    const char *env;
    int n = 0, rc;
    *bad = 0;
    if (wb_interaction_query(&it, s, NULL) < 0)
        return -1;
    while ((rc = wb_iter_next(&env, it)) != WB_ITEROVER) {
        if (rc == 0 && strstr(env, SECRET_NAME))
            n++;
        else
            (*bad)++;
    }
    wb_iter_free(it);
    return n;
}

static void test_core_crypto__rekey(void)
{
    const char *path = wbt_path("rekey.db");
    wb_store *s = NULL;
    wb_store_options a = keyed(key_a), b = keyed(key_b), p = with_passphrase("new words");
    int bad = 0;

    WBT_OK(open_identity(&s, path, &a));
    for (int i = 0; i < 50; i++)
        WBT_OK(wb_interaction_record(NULL, s, secret_body(i)));
    WBT_OK(wb_store_rekey(s, &b));
    /* The handle goes on under the new key. */
    WBT_ASSERT_INT(count_all(s, &bad), 50);
    WBT_ASSERT_INT(bad, 0);
    WBT_OK(wb_interaction_record(NULL, s, secret_body(50)));
    wb_store_free(s);
    s = NULL;
    WBT_FAILS(wb_store_open(&s, path, &a), WB_EKEY, "wrong key");
    WBT_OK(wb_store_open(&s, path, &b));
    WBT_ASSERT_INT(count_all(s, &bad), 51);
    WBT_OK(wb_log_verify(NULL, s));
    /* To a passphrase. */
    WBT_OK(wb_store_rekey(s, &p));
    wb_store_free(s);
    s = NULL;
    WBT_FAILS(wb_store_open(&s, path, &b), WB_EKEY, "passphrase");
    WBT_OK(wb_store_open(&s, path, &p));
    WBT_ASSERT_INT(count_all(s, &bad), 51);
    WBT_ASSERT_INT(bad, 0);
    WBT_OK(wb_log_verify(NULL, s));
    wb_store_free(s);
    WBT_ASSERT(!files_contain(path, SECRET_NAME));

    /* A plain store with no records can be encrypted; one with records not. */
    s = NULL;
    WBT_OK(open_identity(&s, wbt_path("rekey-plain.db"), NULL));
    WBT_OK(wb_store_rekey(s, &a));
    WBT_OK(wb_interaction_record(NULL, s, secret_body(1)));
    wb_store_free(s);
    WBT_ASSERT(!files_contain(wbt_path("rekey-plain.db"), SECRET_NAME));
    s = NULL;
    WBT_OK(wb_store_open(&s, wbt_path("rekey-plain.db"), &a));
    WBT_ASSERT_INT(count_all(s, &bad), 1);
    wb_store_free(s);
    s = NULL;
    WBT_OK(open_identity(&s, wbt_path("rekey-plain2.db"), NULL));
    WBT_OK(wb_interaction_record(NULL, s, secret_body(1)));
    WBT_FAILS(wb_store_rekey(s, &a), WB_EKEY, "in clear");
    wb_store_free(s);
}

#define KILL_RECORDS 3000
#define KILL_ROUNDS 24

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Kill the rotation with SIGKILL at many points: afterwards the store opens
 * with exactly one of the two keys and every record reads under it. */
static void test_core_crypto__rekey_killed_at_many_points(void)
{
    const char *path = wbt_path("rekey-kill.db");
    const unsigned char *cur = key_a, *other = key_b;
    wb_store *s = NULL;
    wb_store_options o = keyed(key_a);
    static char *owned[KILL_RECORDS];
    const char *bodies[KILL_RECORDS];
    double t0, full;
    int bad = 0, switched = 0, kept = 0;
    unsigned seed = (unsigned)time(NULL);

    WBT_OK(open_identity(&s, path, &o));
    for (int i = 0; i < KILL_RECORDS; i++)
        bodies[i] = owned[i] = strdup(secret_body(i));
    WBT_OK(wb_interaction_record_batch(NULL, s, bodies, KILL_RECORDS));
    for (int i = 0; i < KILL_RECORDS; i++)
        free(owned[i]);
    WBT_OK(wb_store_save_token(s, SECRET_TOKEN)); /* re-sealed with the records */
    /* How long one full rotation takes here (there and back). */
    t0 = now_s();
    {
        wb_store_options nb = keyed(key_b);
        WBT_OK(wb_store_rekey(s, &nb));
        WBT_OK(wb_store_rekey(s, &o));
    }
    full = (now_s() - t0) / 2;
    wb_store_free(s);
    srand(seed);

    for (int round = 0; round < KILL_ROUNDS; round++) {
        pid_t pid = fork();
        if (pid == 0) {
            wb_store *c = NULL;
            wb_store_options co = keyed(cur), cn = keyed(other);
            if (wb_store_open(&c, path, &co) != 0)
                _exit(2);
            _exit(wb_store_rekey(c, &cn) == 0 ? 0 : 3);
        }
        WBT_ASSERT(pid > 0);
        /* Points spread over opening, the UPDATEs and the commit; some
         * rounds let it finish. */
        if (round % 4 == 3)
            usleep((useconds_t)((full * 4 + 0.2) * 1e6)); /* let this one finish */
        else if (round % 4 != 0) /* round % 4 == 0: killed before it starts */
            usleep((useconds_t)((double)rand() / RAND_MAX * (full * 1.6 + 0.01) * 1e6));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);

        {
            wb_store_options oc = keyed(cur), on = keyed(other);
            int rc_cur, rc_new;
            wb_store *sc = NULL, *sn = NULL;
            rc_cur = wb_store_open(&sc, path, &oc);
            rc_new = wb_store_open(&sn, path, &on);
            if (!((rc_cur == 0) ^ (rc_new == 0)))
                WBT_FAIL("round %d: opens with old key %d, new key %d", round, rc_cur, rc_new);
            if (rc_cur != 0)
                WBT_ASSERT_INT(rc_cur, WB_EKEY);
            if (rc_new != 0)
                WBT_ASSERT_INT(rc_new, WB_EKEY);
            WBT_ASSERT_INT(count_all(sc ? sc : sn, &bad), KILL_RECORDS);
            WBT_ASSERT_INT(bad, 0);
            WBT_ASSERT(token_is(sc ? sc : sn, SECRET_TOKEN));
            if (sn) {
                const unsigned char *t = cur;
                cur = other;
                other = t;
                switched++;
            } else {
                kept++;
            }
            wb_store_free(sc);
            wb_store_free(sn);
        }
    }
    printf("  rekey of %d records: %.0f ms; %d kills left the old key, %d the new (seed %u)\n",
           KILL_RECORDS, full * 1000, kept, switched, seed);
    /* The kills must have hit both sides of the commit to mean anything. */
    WBT_ASSERT(kept > 0);
    WBT_ASSERT(switched > 0);
}

/* ---- migration 008: stores made in the format before it ------------------------ */

/* Seal like the library did until schema 005: base64url (no padding) TEXT
 * of 0x01 | nonce | XChaCha20-Poly1305(plain, AD) under the field key. */
static void old_seal(char *out, size_t cap, const unsigned char *field, const char *table,
                     const char *column, const char *row_key, const char *plain)
{
    unsigned char raw[2048], ad[160];
    unsigned long long clen = 0;
    size_t len = strlen(plain);
    int ad_len = snprintf((char *)ad, sizeof(ad), "walkbook/1:%s.%s:%s", table, column, row_key);
    raw[0] = 0x01;
    randombytes_buf(raw + 1, 24);
    crypto_aead_xchacha20poly1305_ietf_encrypt(raw + 25, &clen, (const unsigned char *)plain,
                                               len, ad, (unsigned long long)ad_len, NULL,
                                               raw + 1, field);
    sodium_bin2base64(out, cap, raw, 25 + (size_t)clen,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* A schema-5 store written the way the 005 library wrote it: the keys row,
 * `n` interactions and a breadcrumb; encrypted under key_a, or plain. The
 * sealed data of records 0 and 1 is damaged when `damage`. */
static int make_v5_store(const char *path, int encrypted, int n, int damage)
{
    sqlite3 *db = raw_db(path);
    sqlite3_stmt *st = NULL;
    unsigned char field[32], ck[32], check[32], pk[crypto_sign_PUBLICKEYBYTES],
        sk[crypto_sign_SECRETKEYBYTES];
    static char sealed[4096];
    char hex[sizeof(sk) * 2 + 1], id[40];
    int rc;
    if (!db)
        return SQLITE_CANTOPEN;
    if (sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK ||
        wb_store__migrate(db, 5) < 0) {
        sqlite3_close(db);
        return SQLITE_ERROR;
    }
    static const char check_msg[] = "walkbook key check v1";
    crypto_kdf_derive_from_key(field, sizeof(field), 1, "wbfields", key_a);
    crypto_kdf_derive_from_key(ck, sizeof(ck), 2, "wbkcheck", key_a);
    crypto_generichash(check, 32, (const unsigned char *)check_msg, sizeof(check_msg) - 1, ck,
                       sizeof(ck));
    crypto_sign_keypair(pk, sk);
    rc = sqlite3_prepare_v2(db,
                            "INSERT INTO store_keys (id, encrypted, key_check, sign_public,"
                            " sign_secret, created) VALUES (1, ?1, ?2, ?3, ?4,"
                            " '2024-05-01T10:00:00.000Z')",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(st, 1, encrypted);
        if (encrypted) {
            sqlite3_bind_blob(st, 2, check, sizeof(check), SQLITE_STATIC);
            /* The secret key is binary: sealed from its bytes. */
            {
                unsigned char raw[200], ad[64];
                unsigned long long clen = 0;
                int ad_len = snprintf((char *)ad, sizeof(ad), "walkbook/1:store_keys.sign_secret:1");
                raw[0] = 0x01;
                randombytes_buf(raw + 1, 24);
                crypto_aead_xchacha20poly1305_ietf_encrypt(raw + 25, &clen, sk, sizeof(sk), ad,
                                                           (unsigned long long)ad_len, NULL,
                                                           raw + 1, field);
                sodium_bin2base64(sealed, sizeof(sealed), raw, 25 + (size_t)clen,
                                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
            }
            sqlite3_bind_text(st, 4, sealed, -1, SQLITE_TRANSIENT);
        } else {
            sodium_bin2hex(hex, sizeof(hex), sk, sizeof(sk));
            sqlite3_bind_text(st, 4, hex, -1, SQLITE_TRANSIENT);
        }
        sqlite3_bind_blob(st, 3, pk, sizeof(pk), SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(
            db,
            "INSERT INTO interactions (campaign_id, ts, local_id, contact_id, data, created,"
            " created_by, modified, modified_by, customer_id, security_group_id, state)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?2, ?6, ?2, ?6, ?7, ?8, 2)",
            -1, &st, NULL);
    for (int i = 0; i < n && rc == SQLITE_OK; i++) {
        char ts[32];
        const char *body = secret_body(i);
        snprintf(id, sizeof(id), "%s", fx_uuid(1000u + (unsigned)i));
        snprintf(ts, sizeof(ts), "2024-05-01T10:%02d:%02d.000Z", (i / 60) % 60, i % 60);
        /* The body is the compact data object the library stores. */
        if (encrypted)
            old_seal(sealed, sizeof(sealed), field, "interactions", "data", id, body);
        else
            snprintf(sealed, sizeof(sealed), "%s", body);
        if (damage && i == 0) /* still base64: decodes, fails to open */
            sealed[30] = sealed[30] == 'A' ? 'B' : 'A';
        if (damage && i == 1) /* no longer base64: stays TEXT, fails to open */
            sealed[30] = '*';
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, FX_CAMPAIGN_A, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, ts, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, fx_uuid((unsigned)i + 1), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, sealed, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 6, FX_USER, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, FX_CUSTOMER, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, FX_GROUP, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db,
                                "INSERT INTO breadcrumbs (seq, user_id, at_ms, point)"
                                " VALUES (1, ?1, 1714557600000, ?2)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        const char *point = "{\"lat\":" SECRET_LAT ",\"lng\":-84.1,\"accuracy\":5}";
        if (encrypted)
            old_seal(sealed, sizeof(sealed), field, "breadcrumbs", "point", "1", point);
        else
            snprintf(sealed, sizeof(sealed), "%s", point);
        sqlite3_bind_text(st, 1, FX_USER, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, sealed, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    sodium_memzero(field, sizeof(field));
    sodium_memzero(sk, sizeof(sk));
    sqlite3_close(db);
    return rc;
}

/* What SQL says about a value of the raw file. */
static void raw_text(char *out, size_t cap, const char *path, const char *sql)
{
    sqlite3 *db = raw_db(path);
    sqlite3_stmt *st = NULL;
    out[0] = '\0';
    if (db && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_core_crypto__migration_008_converts_old_stores(void)
{
    const char *enc = wbt_path("v5-enc.db"), *plain = wbt_path("v5-plain.db");
    wb_store *s = NULL;
    wb_store_options o = keyed(key_a);
    char *json = NULL, *report = NULL, got[64];
    int bad = 0;

    /* Encrypted: every value becomes the BLOB of the bytes its base64
     * spelled, and reads back; the damaged one stays damaged. */
    WBT_ASSERT_INT(make_v5_store(enc, 1, 30, 1), SQLITE_OK);
    raw_text(got, sizeof(got), enc, "SELECT typeof(data) FROM interactions LIMIT 1");
    WBT_ASSERT_STR(got, "text");
    raw_text(got, sizeof(got), enc, "PRAGMA user_version");
    WBT_ASSERT_STR(got, "5");
    WBT_OK(open_identity(&s, enc, &o));
    WBT_ASSERT(wb_store_schema_version(s) >= 6);
    WBT_ASSERT_INT(count_all(s, &bad), 28);
    WBT_ASSERT_INT(bad, 2);
    WBT_OK(wb_interaction_get(&json, s, fx_uuid(1002), 0));
    WBT_ASSERT_CONTAINS(json, SECRET_NAME);
    wb_free(json);
    WBT_FAILS(wb_interaction_get(&json, s, fx_uuid(1000), 0), WB_ETAMPER, "authentication");
    WBT_FAILS(wb_interaction_get(&json, s, fx_uuid(1001), 0), WB_ETAMPER, "not a sealed value");
    {
        /* The breadcrumb and the device key (sealed too) open. */
        char *track = NULL;
        WBT_OK(wb_track_get(&track, s, NULL, NULL));
        WBT_ASSERT_CONTAINS(track, "\"points\":1");
        WBT_ASSERT_CONTAINS(track, "12.345");
        wb_free(track);
    }
    /* New records go next to the converted ones, in the new format, and
     * are signed with the device key (opened from its converted seal). */
    WBT_OK(wb_interaction_record(NULL, s, secret_body(99)));
    WBT_ASSERT_INT(wb_log_verify(&report, s), WB_ETAMPER); /* the 30 were never logged */
    WBT_ASSERT_CONTAINS(report, "\"entries\":1");
    wb_free(report);
    wb_store_free(s);
    s = NULL;
    raw_text(got, sizeof(got), enc,
             "SELECT group_concat(DISTINCT typeof(data)) FROM interactions");
    WBT_ASSERT_STR(got, "blob,text"); /* the one that was not base64 */
    raw_text(got, sizeof(got), enc,
             "SELECT typeof(sign_secret) || ',' || typeof(point) FROM store_keys, breadcrumbs");
    WBT_ASSERT_STR(got, "blob,blob");
    /* The raw bytes (version byte 0x01 first), not the base64 as a BLOB. */
    raw_text(got, sizeof(got), enc,
             "SELECT count(*) FROM interactions WHERE typeof(data) = 'blob'"
             " AND substr(data, 1, 1) = x'01'");
    WBT_ASSERT_STR(got, "30"); /* 29 converted and the new one */
    WBT_ASSERT(!files_contain(enc, SECRET_NAME));

    /* Plain: the values stay TEXT and read as before. */
    WBT_ASSERT_INT(make_v5_store(plain, 0, 5, 0), SQLITE_OK);
    WBT_OK(open_identity(&s, plain, NULL));
    WBT_ASSERT_INT(wb_store_encrypted(s), 0);
    WBT_ASSERT_INT(count_all(s, &bad), 5);
    WBT_ASSERT_INT(bad, 0);
    WBT_OK(wb_interaction_get(&json, s, fx_uuid(1004), 0));
    WBT_ASSERT_CONTAINS(json, SECRET_NAME);
    wb_free(json);
    wb_store_free(s);
    raw_text(got, sizeof(got), plain,
             "SELECT group_concat(DISTINCT typeof(data)) FROM interactions");
    WBT_ASSERT_STR(got, "text");
}

/* ---- encrypting a plain store, and back ---------------------------------------- */

static void test_core_crypto__encrypt_and_decrypt_existing_store(void)
{
    const char *path = wbt_path("to-encrypt.db");
    wb_store *s = NULL;
    wb_store_options o = keyed(key_a), none = WB_STORE_OPTIONS_INIT;
    char *id = NULL, *json = NULL, *report = NULL;
    wb_iter *it = NULL;
    int bad = 0, kept = 0;

    WBT_OK(open_identity(&s, path, NULL));
    for (int i = 0; i < 40; i++)
        WBT_OK(wb_interaction_record(i == 0 ? &id : NULL, s, secret_body(i)));
    WBT_OK(wb_interaction_update(s, id,
                                 "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]"));
    WBT_OK(wb_track_add(&kept, s, 12.3456789, -84.1, 5, NULL, 0));
    WBT_ASSERT(files_contain(path, SECRET_NAME));
    /* rekey is for encrypted stores (or empty ones). */
    {
        wb_store_options nk = keyed(key_a);
        WBT_FAILS(wb_store_rekey(s, &nk), WB_EKEY, "wb_store_encrypt");
    }
    WBT_FAILS(wb_store_encrypt(s, &none), WB_EINVALID, "give the new key");
    WBT_FAILS(wb_store_decrypt(s), WB_EINVALID, "not encrypted");
    /* Not under an open iterator of the handle (VACUUM could not run). */
    WBT_OK(wb_interaction_query(&it, s, NULL));
    WBT_FAILS(wb_store_encrypt(s, &o), WB_EBUSY, "iterators");
    wb_iter_free(it);

    WBT_OK(wb_store_encrypt(s, &o));
    WBT_ASSERT_INT(wb_store_encrypted(s), 1);
    WBT_FAILS(wb_store_encrypt(s, &o), WB_EINVALID, "already encrypted");
    /* The same handle reads on; the log still verifies (same data). */
    WBT_ASSERT_INT(count_all(s, &bad), 40);
    WBT_ASSERT_INT(bad, 0);
    WBT_OK(wb_interaction_get(&json, s, id, 0));
    WBT_ASSERT_CONTAINS(json, "\"successful\":false");
    wb_free(json);
    WBT_OK(wb_log_verify(&report, s));
    wb_free(report);
    /* No plaintext left in the file or the WAL, with the handle open (the
     * old pages were rewritten, not just freed) and after closing. */
    WBT_ASSERT(!files_contain(path, SECRET_NAME));
    WBT_ASSERT(!files_contain(path, SECRET_LAT));
    WBT_OK(wb_interaction_record(NULL, s, secret_body(77)));
    wb_store_free(s);
    s = NULL;
    WBT_ASSERT(!files_contain(path, SECRET_NAME));
    WBT_ASSERT(!files_contain(path, "Prufrock"));

    WBT_FAILS(wb_store_open(&s, path, &none), WB_EKEY, "encrypted");
    WBT_OK(wb_store_open(&s, path, &o));
    WBT_ASSERT_INT(count_all(s, &bad), 41);
    WBT_ASSERT_INT(bad, 0);
    {
        char *track = NULL;
        WBT_OK(wb_track_get(&track, s, NULL, NULL));
        WBT_ASSERT_CONTAINS(track, "12.345");
        wb_free(track);
    }

    /* And back: plain again, opens without the key, reads the same. */
    WBT_OK(wb_store_decrypt(s));
    WBT_ASSERT_INT(wb_store_encrypted(s), 0);
    WBT_ASSERT_INT(count_all(s, &bad), 41);
    wb_store_free(s);
    s = NULL;
    WBT_FAILS(wb_store_open(&s, path, &o), WB_EKEY, "not encrypted");
    WBT_OK(wb_store_open(&s, path, &none));
    WBT_OK(wb_interaction_get(&json, s, id, 0));
    WBT_ASSERT_CONTAINS(json, SECRET_NAME);
    wb_free(json);
    WBT_OK(wb_log_verify(&report, s));
    wb_free(report);
    /* A passphrase works as well as a key. */
    {
        wb_store_options p = with_passphrase("a long enough passphrase");
        WBT_OK(wb_store_encrypt(s, &p));
        wb_store_free(s);
        s = NULL;
        WBT_OK(wb_store_open(&s, path, &p));
        WBT_ASSERT_INT(count_all(s, &bad), 41);
    }
    wb_store_free(s);
    wb_free(id);
}

#define FLIP_RECORDS 1500
#define FLIP_ROUNDS 20

/* 1 when the store's compaction is pending (read from the raw file). */
static int compact_pending(const char *path)
{
    char got[16];
    raw_text(got, sizeof(got), path, "SELECT compact_pending FROM store_keys");
    return strcmp(got, "1") == 0;
}

/* Encrypt and decrypt in turn, killed with SIGKILL at many points: each
 * time the store opens either plain or with the key, never both or
 * neither, every record reads, and an encrypted store's file and WAL hold
 * no plaintext once it has been opened again. */
static void test_core_crypto__encrypt_killed_at_many_points(void)
{
    const char *path = wbt_path("flip-kill.db");
    wb_store *s = NULL;
    wb_store_options o = keyed(key_a), none = WB_STORE_OPTIONS_INIT;
    static char *owned[FLIP_RECORDS];
    const char *bodies[FLIP_RECORDS];
    double t0, full;
    int bad = 0, encrypted = 0, flipped = 0, kept = 0, pending = 0;
    unsigned seed = (unsigned)time(NULL) ^ 0x5a5a;

    WBT_OK(open_identity(&s, path, NULL));
    for (int i = 0; i < FLIP_RECORDS; i++)
        bodies[i] = owned[i] = strdup(secret_body(i));
    WBT_OK(wb_interaction_record_batch(NULL, s, bodies, FLIP_RECORDS));
    for (int i = 0; i < FLIP_RECORDS; i++)
        free(owned[i]);
    WBT_OK(wb_store_save_token(s, SECRET_TOKEN));
    t0 = now_s();
    WBT_OK(wb_store_encrypt(s, &o));
    WBT_OK(wb_store_decrypt(s));
    full = now_s() - t0; /* one encrypt and one decrypt */
    wb_store_free(s);
    srand(seed);

    for (int round = 0; round < FLIP_ROUNDS; round++) {
        pid_t pid = fork();
        if (pid == 0) {
            wb_store *c = NULL;
            wb_store_options co = encrypted ? keyed(key_a) : (wb_store_options)WB_STORE_OPTIONS_INIT;
            if (wb_store_open(&c, path, &co) != 0)
                _exit(2);
            _exit((encrypted ? wb_store_decrypt(c) : wb_store_encrypt(c, &o)) == 0 ? 0 : 3);
        }
        WBT_ASSERT(pid > 0);
        if (round % 4 == 3) /* let this one finish (one direction is half of full) */
            usleep((useconds_t)((full * 2 + 0.2) * 1e6));
        else if (round % 4 != 0) /* round % 4 == 0: killed before it starts */
            usleep((useconds_t)((double)rand() / RAND_MAX * (full * 0.8 + 0.01) * 1e6));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);

        pending += compact_pending(path);
        {
            wb_store *sp = NULL, *se = NULL;
            int rc_plain = wb_store_open(&sp, path, &none);
            int rc_enc = wb_store_open(&se, path, &o);
            if (!((rc_plain == 0) ^ (rc_enc == 0)))
                WBT_FAIL("round %d: opens plain %d, with the key %d", round, rc_plain, rc_enc);
            WBT_ASSERT_INT(rc_plain == 0 ? rc_enc : rc_plain, WB_EKEY);
            WBT_ASSERT_INT(count_all(sp ? sp : se, &bad), FLIP_RECORDS);
            WBT_ASSERT_INT(bad, 0);
            WBT_ASSERT(token_is(sp ? sp : se, SECRET_TOKEN));
            if ((se != NULL) != encrypted)
                flipped++;
            else
                kept++;
            encrypted = se != NULL;
            wb_store_free(sp);
            wb_store_free(se);
        }
        /* The open above finished any rewrite the kill interrupted. */
        if (encrypted) {
            WBT_ASSERT(!compact_pending(path));
            WBT_ASSERT(!files_contain(path, SECRET_NAME));
            WBT_ASSERT(!files_contain(path, SECRET_TOKEN));
        }
    }
    printf("  encrypt+decrypt of %d records: %.0f ms; %d kills left it as it was, %d changed, "
           "%d with the rewrite pending (seed %u)\n",
           FLIP_RECORDS, full * 1000, kept, flipped, pending, seed);
    WBT_ASSERT(kept > 0);
    WBT_ASSERT(flipped > 0);
}

/* ---- signed log ------------------------------------------------------------ */

static void exec_raw(const char *path, const char *sql)
{
    sqlite3 *db = raw_db(path);
    if (db) {
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
            fprintf(stderr, "raw sql failed: %s\n", sqlite3_errmsg(db));
        sqlite3_close(db);
    }
}

/* A plain store with 5 records (one updated, one deleted) and a copy. */
static int log_fixture(const char *path, char **ids)
{
    wb_store *s = NULL;
    int rc = open_identity(&s, path, NULL);
    for (int i = 0; rc == 0 && i < 5; i++)
        rc = wb_interaction_record(&ids[i], s, secret_body(i));
    if (rc == 0)
        rc = wb_interaction_update(
            s, ids[1], "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]");
    if (rc == 0)
        rc = wb_interaction_delete(s, ids[2]);
    wb_store_free(s);
    return rc;
}

static int verify(const char *path, char **report)
{
    wb_store *s = NULL;
    int rc = wb_store_open(&s, path, NULL);
    if (rc == 0)
        rc = wb_log_verify(report, s);
    wb_store_free(s);
    return rc;
}

static void test_core_crypto__log_catches_edits_deletes_and_reorders(void)
{
    char *ids[5] = {NULL}, *report = NULL, sql[512];
    const char *p;

    p = wbt_path("log-ok.db");
    WBT_OK(log_fixture(p, ids));
    WBT_OK(verify(p, &report));
    WBT_ASSERT_CONTAINS(report, "\"entries\":7");
    WBT_ASSERT_CONTAINS(report, "\"ok\":true");
    wb_free(report);
    {
        /* The device's own changes, each in its transaction: all signed. */
        char got[32];
        raw_text(got, sizeof(got), p,
                 "SELECT count(*) FROM interaction_log WHERE length(signature) = 64");
        WBT_ASSERT_STR(got, "7");
    }
    for (int i = 0; i < 5; i++)
        wb_free(ids[i]);

    /* An edited record (its data changed behind walkbook's back). */
    p = wbt_path("log-edit.db");
    WBT_OK(log_fixture(p, ids));
    snprintf(sql, sizeof(sql),
             "UPDATE interactions SET data = json_set(data, '$.successful', json('false'))"
             " WHERE local_id = '%s'",
             ids[3]);
    exec_raw(p, sql);
    WBT_FAILS(verify(p, &report), WB_ETAMPER, "edited");
    WBT_ASSERT_CONTAINS(report, ids[3]);
    WBT_ASSERT_CONTAINS(report, "\"seq\":4");
    wb_free(report);
    for (int i = 0; i < 5; i++)
        wb_free(ids[i]);

    /* An edited time (moving a record in the order). */
    p = wbt_path("log-ts.db");
    WBT_OK(log_fixture(p, ids));
    snprintf(sql, sizeof(sql),
             "UPDATE interactions SET data = json_set(data, '$.timestamp',"
             " '2024-04-01T10:00:00.000Z'), ts = '2024-04-01T10:00:00.000Z' WHERE local_id = '%s'",
             ids[4]);
    exec_raw(p, sql);
    WBT_FAILS(verify(p, &report), WB_ETAMPER, "edited");
    wb_free(report);
    for (int i = 0; i < 5; i++)
        wb_free(ids[i]);

    /* A deleted record row. */
    p = wbt_path("log-del.db");
    WBT_OK(log_fixture(p, ids));
    snprintf(sql, sizeof(sql), "DELETE FROM interactions WHERE local_id = '%s'", ids[0]);
    exec_raw(p, sql);
    WBT_FAILS(verify(p, &report), WB_ETAMPER, "removed");
    WBT_ASSERT_CONTAINS(report, "\"seq\":1");
    wb_free(report);
    for (int i = 0; i < 5; i++)
        wb_free(ids[i]);

    /* A deleted log entry (record and entry both gone). */
    p = wbt_path("log-gap.db");
    WBT_OK(log_fixture(p, ids));
    snprintf(sql, sizeof(sql),
             "DELETE FROM interactions WHERE local_id = '%s';"
             " DELETE FROM interaction_log WHERE local_id = '%s'",
             ids[4], ids[4]);
    exec_raw(p, sql);
    WBT_FAILS(verify(p, &report), WB_ETAMPER, "entry 5");
    WBT_ASSERT_CONTAINS(report, "gap");
    wb_free(report);
    for (int i = 0; i < 5; i++)
        wb_free(ids[i]);

    /* Two entries reordered (their contents swapped between positions). */
    p = wbt_path("log-reorder.db");
    WBT_OK(log_fixture(p, ids));
    exec_raw(p, "UPDATE interaction_log SET seq = -seq WHERE seq IN (2, 3);"
                " UPDATE interaction_log SET seq = 3 WHERE seq = -2;"
                " UPDATE interaction_log SET seq = 2 WHERE seq = -3");
    WBT_FAILS(verify(p, &report), WB_ETAMPER, "entry 2");
    WBT_ASSERT_CONTAINS(report, "reordered");
    wb_free(report);
    for (int i = 0; i < 5; i++)
        wb_free(ids[i]);

    /* A record added behind walkbook's back (a fabricated visit). */
    p = wbt_path("log-forged.db");
    WBT_OK(log_fixture(p, ids));
    snprintf(sql, sizeof(sql),
             "INSERT INTO interactions (local_id, campaign_id, contact_id, ts, data, created,"
             " created_by, modified, modified_by, customer_id, state)"
             " SELECT '%s', campaign_id, contact_id, '2024-06-01T00:00:00.000Z', data, created,"
             " created_by, modified, modified_by, customer_id, 2 FROM interactions"
             " WHERE local_id = '%s'",
             fx_uuid(999), ids[0]);
    exec_raw(p, sql);
    WBT_FAILS(verify(p, &report), WB_ETAMPER, "not in the log");
    wb_free(report);
    for (int i = 0; i < 5; i++)
        wb_free(ids[i]);

    /* A forged signature. */
    p = wbt_path("log-sig.db");
    WBT_OK(log_fixture(p, ids));
    exec_raw(p, "UPDATE interaction_log SET signature = zeroblob(64) WHERE seq = 6");
    WBT_FAILS(verify(p, &report), WB_ETAMPER, "signature");
    wb_free(report);
    for (int i = 0; i < 5; i++)
        wb_free(ids[i]);
}

/* A schema-8 store (every entry signed, signature NOT NULL) migrates to 009:
 * the entries are kept as they were, the column takes NULL, the log
 * verifies, and new entries chain on; interactions keeps its rows and
 * accepts exactly the states it did. */
static void test_core_crypto__migration_009_keeps_the_log(void)
{
    const char *p = wbt_path("v8-log.db");
    char *ids[5] = {NULL}, *report = NULL, got[160], before[160];
    wb_store *s = NULL;
    sqlite3 *db;

    WBT_OK(log_fixture(p, ids));
    raw_text(before, sizeof(before), p, "SELECT hex(signature) FROM interaction_log WHERE seq = 3");
    /* Back to the 008 definition of the table. */
    WBT_ASSERT((db = raw_db(p)) != NULL);
    WBT_ASSERT_INT(sqlite3_exec(db,
                                "BEGIN;"
                                " CREATE TABLE log8 (seq INTEGER PRIMARY KEY, local_id TEXT NOT NULL,"
                                " kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 4),"
                                " content BLOB NOT NULL, digest BLOB NOT NULL,"
                                " signature BLOB NOT NULL) STRICT;"
                                " INSERT INTO log8 SELECT * FROM interaction_log;"
                                " DROP TABLE interaction_log;"
                                " ALTER TABLE log8 RENAME TO interaction_log;"
                                " CREATE INDEX interaction_log_local_id ON interaction_log"
                                " (local_id, seq);"
                                " PRAGMA user_version = 8; COMMIT",
                                NULL, NULL, NULL),
                   SQLITE_OK);
    sqlite3_close(db);
    raw_text(got, sizeof(got), p,
             "SELECT \"notnull\" FROM pragma_table_info('interaction_log') WHERE name = 'signature'");
    WBT_ASSERT_STR(got, "1");

    WBT_OK(wb_store_open(&s, p, NULL));
    WBT_ASSERT(wb_store_schema_version(s) >= 9);
    WBT_OK(wb_log_verify(&report, s));
    WBT_ASSERT_CONTAINS(report, "\"entries\":7");
    wb_free(report);
    WBT_OK(wb_interaction_record(NULL, s, secret_body(7)));
    WBT_OK(wb_log_verify(&report, s));
    WBT_ASSERT_CONTAINS(report, "\"entries\":8");
    wb_free(report);
    wb_store_free(s);
    raw_text(got, sizeof(got), p,
             "SELECT \"notnull\" FROM pragma_table_info('interaction_log') WHERE name = 'signature'");
    WBT_ASSERT_STR(got, "0");
    raw_text(got, sizeof(got), p, "SELECT hex(signature) FROM interaction_log WHERE seq = 3");
    WBT_ASSERT_STR(got, before);
    /* interactions was rebuilt with its rows, its trigger and the same
     * set of states (now checked by arithmetic, not an IN list). */
    raw_text(got, sizeof(got), p, "SELECT count(*) FROM interactions");
    WBT_ASSERT_STR(got, "6");
    raw_text(got, sizeof(got), p,
             "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
             " AND name = 'interactions_purge_fixes'");
    WBT_ASSERT_STR(got, "1");
    WBT_ASSERT((db = raw_db(p)) != NULL);
    for (int state = -1; state <= 65; state++) {
        char sql[160];
        int valid = state == 1 || state == 2 || state == 4 || state == 8 || state == 16 ||
                    state == 32;
        snprintf(sql, sizeof(sql),
                 "SAVEPOINT s; UPDATE interactions SET state = %d WHERE local_id = '%s';"
                 " ROLLBACK TO s; RELEASE s",
                 state, ids[0]);
        if ((sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK) != valid)
            WBT_FAIL("state %d: %s", state, valid ? "refused" : "accepted");
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_close(db);
    for (int i = 0; i < 5; i++)
        wb_free(ids[i]);
}

static void test_core_crypto__log_in_encrypted_store(void)
{
    const char *path = wbt_path("log-enc.db");
    wb_store *s = NULL;
    wb_store_options o = keyed(key_a);
    char *report = NULL, *id = NULL;

    WBT_OK(open_identity(&s, path, &o));
    for (int i = 0; i < 10; i++)
        WBT_OK(wb_interaction_record(i == 3 ? &id : NULL, s, secret_body(i)));
    WBT_OK(wb_interaction_delete(s, id));
    WBT_OK(wb_log_verify(&report, s));
    WBT_ASSERT_CONTAINS(report, "\"entries\":11");
    wb_free(report);
    wb_store_free(s);
    wb_free(id);
    /* The device's secret key is sealed, not stored in clear. */
    {
        sqlite3 *db = raw_db(path);
        sqlite3_stmt *st = NULL;
        WBT_ASSERT(db);
        WBT_ASSERT_INT(sqlite3_prepare_v2(db,
                                          "SELECT typeof(sign_secret), length(sign_secret)"
                                          " FROM store_keys",
                                          -1, &st, NULL),
                       SQLITE_OK);
        WBT_ASSERT_INT(sqlite3_step(st), SQLITE_ROW);
        WBT_ASSERT_STR((const char *)sqlite3_column_text(st, 0), "blob");
        WBT_ASSERT_INT(sqlite3_column_int(st, 1), 1 + 24 + 64 + 16); /* version, nonce, tag */
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
}

/* ---- tenancy ---------------------------------------------------------------- */

static cJSON *remote_envelope(const char *id, const char *customer, const char *group)
{
    char text[4096];
    cJSON *env = NULL;
    snprintf(text, sizeof(text),
             "{\"id\":\"%s\",\"data\":%s,\"meta\":{\"etag\":\"e1\",\"created\":"
             "\"2024-01-01T00:00:00.000Z\",\"modified\":\"2024-01-01T00:00:01.000Z\","
             "\"resource\":\"interactions\",\"createdBy\":\"%s\",\"isDeleted\":false,"
             "\"modifiedBy\":\"%s\"},\"customerId\":\"%s\",\"securityGroupId\":\"%s\"}",
             id, secret_body(7), fx_uuid(77), fx_uuid(77), customer, group);
    if (wb_json__parse(&env, text, strlen(text), NULL, "test") != 0)
        return NULL;
    return env;
}

static void test_core_crypto__tenancy(void)
{
    const char *path = wbt_path("tenancy.db");
    const char *other_group = "0b0b0b0b-0000-4000-8000-00000000000b";
    const char *mine_id = "aaaaaaaa-0000-4000-8000-000000000001";
    const char *theirs_id = "aaaaaaaa-0000-4000-8000-000000000002";
    const char *foreign_id = "aaaaaaaa-0000-4000-8000-000000000003";
    wb_store *s = NULL;
    wb_store_options o = keyed(key_a);
    enum wb_remote_outcome out;
    cJSON *mine = remote_envelope(mine_id, FX_CUSTOMER, FX_GROUP);
    cJSON *theirs = remote_envelope(theirs_id, FX_CUSTOMER, other_group);
    cJSON *foreign = remote_envelope(foreign_id, "99999999-9999-4999-8999-999999999999", FX_GROUP);
    char *json = NULL;
    uint64_t n = 0;
    int bad = 0;

    WBT_ASSERT(mine && theirs && foreign);
    WBT_OK(open_identity(&s, path, &o));
    WBT_OK(wb_interaction_record(NULL, s, secret_body(1)));
    WBT_OK(wb_syncstore__apply_remote(&out, s, mine, WB_POLICY_MERGE, 0));
    WBT_ASSERT_INT(out, WB_REMOTE_INSERTED);
    /* Another customer's record is refused on pull (and counted by the
     * engine as refused). */
    WBT_OK(wb_syncstore__apply_remote(&out, s, foreign, WB_POLICY_MERGE, 0));
    WBT_ASSERT_INT(out, WB_REMOTE_REFUSED);
    /* A record of a group this store may not see (a server that sent it
     * anyway) is kept for sync bookkeeping but never returned. */
    WBT_OK(wb_syncstore__apply_remote(&out, s, theirs, WB_POLICY_MERGE, 0));
    WBT_ASSERT_INT(count_all(s, &bad), 2);
    WBT_ASSERT_INT(bad, 0);
    WBT_OK(wb_interaction_count(&n, s, NULL));
    WBT_ASSERT_INT(n, 2);
    WBT_OK(wb_interaction_get(&json, s, mine_id, 0));
    wb_free(json);
    WBT_FAILS(wb_interaction_get(&json, s, theirs_id, 0), WB_ENOTFOUND, "not found");
    WBT_FAILS(wb_interaction_get(&json, s, foreign_id, 0), WB_ENOTFOUND, "not found");
    {
        wb_query q = WB_QUERY_INIT;
        q.deleted = WB_DELETED_INCLUDE;
        q.states = WB_STATE_ANY;
        WBT_OK(wb_interaction_count(&n, s, &q));
        WBT_ASSERT_INT(n, 2);
    }
    wb_store_free(s);
    cJSON_Delete(mine);
    cJSON_Delete(theirs);
    cJSON_Delete(foreign);
}

/* ---- the saved bearer token (schema 010) ---------------------------------------- */


/* The last error names no part of the token. */
static int error_is_clean(void)
{
    return !wb_error_last() || !strstr(wb_error_last()->message, "Quixotic");
}

/* Overwrite saved_token.token with bytes of the raw file: one bit of
 * byte `at` flipped (at >= 0), or the first n bytes only (at < 0). */
static int damage_token(const char *path, int at, int n)
{
    sqlite3 *db = raw_db(path);
    sqlite3_stmt *st = NULL;
    unsigned char buf[512];
    int len = 0, rc = SQLITE_ERROR;
    if (!db)
        return rc;
    if (sqlite3_prepare_v2(db, "SELECT token FROM saved_token", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_BLOB &&
        (len = sqlite3_column_bytes(st, 0)) > at && len <= (int)sizeof(buf)) {
        memcpy(buf, sqlite3_column_blob(st, 0), (size_t)len);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == SQLITE_OK) {
        if (at >= 0)
            buf[at] ^= 0x10;
        else
            len = n;
        rc = sqlite3_prepare_v2(db, "UPDATE saved_token SET token = ?1", -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_blob(st, 1, buf, len, SQLITE_STATIC);
            rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return rc;
}

static void test_core_crypto__saved_token_round_trip_and_forget(void)
{
    const char *path = wbt_path("token.db"), *plain_path = wbt_path("token-plain.db");
    wb_store *s = NULL;
    wb_store_options o = keyed(key_a);
    static char untouched[] = "untouched";
    char *got = untouched, bad[64], *longer;

    WBT_OK(open_identity(&s, path, &o));
    WBT_FAILS(wb_store_saved_token(&got, s), WB_ENOTFOUND, "none saved");
    WBT_ASSERT(got == NULL);
    WBT_OK(wb_store_save_token(s, SECRET_TOKEN));
    WBT_ASSERT(token_is(s, SECRET_TOKEN));
    /* A new one replaces it. */
    WBT_OK(wb_store_save_token(s, SECRET_TOKEN "-2"));
    WBT_ASSERT(token_is(s, SECRET_TOKEN "-2"));
    WBT_OK(wb_store_save_token(s, SECRET_TOKEN));
    /* Bad tokens are refused without quoting them, and change nothing. */
    snprintf(bad, sizeof(bad), "%s\r\nX-Evil: 1", SECRET_TOKEN);
    WBT_FAILS(wb_store_save_token(s, bad), WB_EINVALID, "control character");
    WBT_ASSERT(error_is_clean());
    longer = malloc(5000);
    WBT_ASSERT(longer != NULL);
    memset(longer, 'Q', 4999);
    longer[4999] = '\0';
    WBT_FAILS(wb_store_save_token(s, longer), WB_EINVALID, "too long");
    free(longer);
    WBT_ASSERT(token_is(s, SECRET_TOKEN));
    /* Only ciphertext in the file and its WAL, with the handle open and
     * after closing. */
    WBT_ASSERT(!files_contain(path, SECRET_TOKEN));
    WBT_ASSERT(!files_contain(path, "Quixotic"));
    wb_store_free(s);
    s = NULL;
    WBT_ASSERT(!files_contain(path, "Quixotic"));
    /* The wrong key cannot open the store, so cannot read the token. */
    {
        wb_store_options wrong = keyed(key_b);
        WBT_FAILS(wb_store_open(&s, path, &wrong), WB_EKEY, "wrong key");
        WBT_ASSERT(s == NULL);
    }
    WBT_OK(wb_store_open(&s, path, &o));
    WBT_ASSERT(token_is(s, SECRET_TOKEN));
    /* Forget: NULL and "" both; forgetting twice is fine. */
    WBT_OK(wb_store_save_token(s, NULL));
    WBT_FAILS(wb_store_saved_token(&got, s), WB_ENOTFOUND, "none saved");
    WBT_OK(wb_store_save_token(s, SECRET_TOKEN));
    WBT_OK(wb_store_save_token(s, ""));
    WBT_FAILS(wb_store_saved_token(&got, s), WB_ENOTFOUND, "none saved");
    WBT_OK(wb_store_save_token(s, ""));
    wb_store_free(s);

    /* A plain store keeps it in clear, like its other values (the scan
     * above would have found it). */
    s = NULL;
    WBT_OK(open_identity(&s, plain_path, NULL));
    WBT_OK(wb_store_save_token(s, SECRET_TOKEN));
    WBT_ASSERT(token_is(s, SECRET_TOKEN));
    WBT_ASSERT(files_contain(plain_path, SECRET_TOKEN));
    wb_store_free(s);
    /* A read-only handle reads it and cannot change it. */
    {
        wb_store_options ro = WB_STORE_OPTIONS_INIT;
        ro.flags = WB_OPEN_READONLY;
        s = NULL;
        WBT_OK(wb_store_open(&s, plain_path, &ro));
        WBT_ASSERT(token_is(s, SECRET_TOKEN));
        WBT_FAILS(wb_store_save_token(s, "other"), WB_EREADONLY, "read-only");
        wb_store_free(s);
    }
}

static void test_core_crypto__saved_token_tampered_or_swapped(void)
{
    const char *path = wbt_path("token-tamper.db");
    wb_store *s = NULL;
    wb_store_options o = keyed(key_a);
    char *got = NULL, *id = NULL, *json = NULL;

    WBT_OK(open_identity(&s, path, &o));
    WBT_OK(wb_interaction_record(&id, s, secret_body(3)));
    WBT_OK(wb_store_save_token(s, SECRET_TOKEN));
    wb_store_free(s);

    /* One bit of the ciphertext flipped. */
    WBT_ASSERT_INT(damage_token(path, 40, 0), SQLITE_OK);
    s = NULL;
    WBT_OK(wb_store_open(&s, path, &o));
    WBT_FAILS(wb_store_saved_token(&got, s), WB_ETAMPER, "saved_token.token");
    WBT_ASSERT(got == NULL && error_is_clean());
    /* The rest of the store reads; a new save replaces the damaged value. */
    WBT_OK(wb_interaction_get(&json, s, id, 0));
    wb_free(json);
    WBT_OK(wb_store_save_token(s, SECRET_TOKEN));
    WBT_ASSERT(token_is(s, SECRET_TOKEN));
    wb_store_free(s);

    /* Truncated. */
    WBT_ASSERT_INT(damage_token(path, -1, 30), SQLITE_OK);
    s = NULL;
    WBT_OK(wb_store_open(&s, path, &o));
    WBT_FAILS(wb_store_saved_token(&got, s), WB_ETAMPER, "saved_token.token");
    WBT_OK(wb_store_save_token(s, SECRET_TOKEN));
    wb_store_free(s);

    /* Swapped: another sealed value of the same store (same key) moved in,
     * and the token's ciphertext moved into a record. */
    exec_raw(path, "UPDATE saved_token SET token = (SELECT sign_secret FROM store_keys)");
    s = NULL;
    WBT_OK(wb_store_open(&s, path, &o));
    WBT_FAILS(wb_store_saved_token(&got, s), WB_ETAMPER, "another row or column");
    WBT_OK(wb_store_save_token(s, SECRET_TOKEN));
    wb_store_free(s);
    exec_raw(path, "UPDATE interactions SET data = (SELECT token FROM saved_token)");
    s = NULL;
    WBT_OK(wb_store_open(&s, path, &o));
    WBT_FAILS(wb_interaction_get(&json, s, id, 0), WB_ETAMPER, "interactions.data");
    WBT_ASSERT(error_is_clean());
    WBT_ASSERT(token_is(s, SECRET_TOKEN));
    wb_store_free(s);

    /* Plaintext written in. */
    exec_raw(path, "UPDATE saved_token SET token = '" SECRET_TOKEN "'");
    s = NULL;
    WBT_OK(wb_store_open(&s, path, &o));
    WBT_FAILS(wb_store_saved_token(&got, s), WB_ETAMPER, "not a sealed value");
    WBT_ASSERT(error_is_clean());
    wb_store_free(s);
    wb_free(id);
}

static void test_core_crypto__saved_token_survives_rekey_encrypt_decrypt(void)
{
    const char *path = wbt_path("token-rekey.db");
    wb_store *s = NULL;
    wb_store_options a = keyed(key_a), b = keyed(key_b), none = WB_STORE_OPTIONS_INIT;
    int bad = 0;

    /* Plain, with records and the token in clear. */
    WBT_OK(open_identity(&s, path, NULL));
    for (int i = 0; i < 10; i++)
        WBT_OK(wb_interaction_record(NULL, s, secret_body(i)));
    WBT_OK(wb_store_save_token(s, SECRET_TOKEN));
    WBT_ASSERT(files_contain(path, SECRET_TOKEN));
    /* Encrypt: sealed with the rest, and no page keeps it in clear. */
    WBT_OK(wb_store_encrypt(s, &a));
    WBT_ASSERT(token_is(s, SECRET_TOKEN));
    WBT_ASSERT(!files_contain(path, "Quixotic"));
    wb_store_free(s);
    s = NULL;
    WBT_ASSERT(!files_contain(path, "Quixotic"));
    WBT_OK(wb_store_open(&s, path, &a));
    WBT_ASSERT(token_is(s, SECRET_TOKEN));
    /* Rekey: the same handle and a new one read it under the new key. */
    WBT_OK(wb_store_rekey(s, &b));
    WBT_ASSERT(token_is(s, SECRET_TOKEN));
    wb_store_free(s);
    s = NULL;
    WBT_FAILS(wb_store_open(&s, path, &a), WB_EKEY, "wrong key");
    WBT_OK(wb_store_open(&s, path, &b));
    WBT_ASSERT(token_is(s, SECRET_TOKEN));
    WBT_ASSERT_INT(count_all(s, &bad), 10);
    WBT_ASSERT(!files_contain(path, "Quixotic"));
    /* Decrypt: in clear again, readable without a key. */
    WBT_OK(wb_store_decrypt(s));
    WBT_ASSERT(token_is(s, SECRET_TOKEN));
    wb_store_free(s);
    s = NULL;
    WBT_OK(wb_store_open(&s, path, &none));
    WBT_ASSERT(token_is(s, SECRET_TOKEN));
    WBT_ASSERT(files_contain(path, SECRET_TOKEN));
    wb_store_free(s);

    /* An empty plain store rekeyed into an encrypted one seals it too. */
    s = NULL;
    WBT_OK(open_identity(&s, wbt_path("token-rekey-empty.db"), NULL));
    WBT_OK(wb_store_save_token(s, SECRET_TOKEN));
    WBT_OK(wb_store_rekey(s, &a));
    WBT_ASSERT(token_is(s, SECRET_TOKEN));
    wb_store_free(s);
    s = NULL;
    WBT_OK(wb_store_open(&s, wbt_path("token-rekey-empty.db"), &a));
    WBT_ASSERT(token_is(s, SECRET_TOKEN));
    wb_store_free(s);
}

/* A schema-9 store (before the saved token) migrates to 010: no token, and
 * one can be saved. */
static void test_core_crypto__migration_010_adds_the_saved_token(void)
{
    const char *path = wbt_path("v9.db");
    wb_store *s = NULL;
    sqlite3 *db = NULL;
    char *got = NULL, ver[16];

    WBT_ASSERT_INT(sqlite3_open(path, &db), SQLITE_OK);
    WBT_OK(wb_store__migrate(db, 9));
    sqlite3_close(db);
    raw_text(ver, sizeof(ver), path, "PRAGMA user_version");
    WBT_ASSERT_STR(ver, "9");
    WBT_OK(open_identity(&s, path, NULL));
    WBT_ASSERT(wb_store_schema_version(s) >= 10);
    WBT_FAILS(wb_store_saved_token(&got, s), WB_ENOTFOUND, "none saved");
    WBT_OK(wb_store_save_token(s, SECRET_TOKEN));
    WBT_ASSERT(token_is(s, SECRET_TOKEN));
    wb_store_free(s);
}

static const wbt_case cases[] = {
    WBT_CASE(test_core_crypto__round_trip_and_no_plaintext_on_disk),
    WBT_CASE(test_core_crypto__wrong_or_missing_key_writes_nothing),
    WBT_CASE(test_core_crypto__passphrase),
    WBT_CASE(test_core_crypto__tampered_and_swapped_values),
    WBT_CASE(test_core_crypto__rekey),
    WBT_CASE(test_core_crypto__rekey_killed_at_many_points),
    WBT_CASE(test_core_crypto__migration_008_converts_old_stores),
    WBT_CASE(test_core_crypto__encrypt_and_decrypt_existing_store),
    WBT_CASE(test_core_crypto__encrypt_killed_at_many_points),
    WBT_CASE(test_core_crypto__log_catches_edits_deletes_and_reorders),
    WBT_CASE(test_core_crypto__log_in_encrypted_store),
    WBT_CASE(test_core_crypto__migration_009_keeps_the_log),
    WBT_CASE(test_core_crypto__tenancy),
    WBT_CASE(test_core_crypto__saved_token_round_trip_and_forget),
    WBT_CASE(test_core_crypto__saved_token_tampered_or_swapped),
    WBT_CASE(test_core_crypto__saved_token_survives_rekey_encrypt_decrypt),
    WBT_CASE(test_core_crypto__migration_010_adds_the_saved_token),
};
WBT_MAIN(cases, NULL, NULL)
