/*
 * test_core_crypto.c - encryption at rest: sealed personal fields, keys,
 * passphrases, tampering, row swaps, rekeying (also killed part way), and
 * the signed interaction log.
 */
#define _DEFAULT_SOURCE
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixtures.h"
#include "json.h"
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
    /* Record 0: one character of its ciphertext changed. */
    snprintf(sql, sizeof(sql),
             "UPDATE interactions SET data = substr(data, 1, 40) ||"
             " CASE substr(data, 41, 1) WHEN 'A' THEN 'B' ELSE 'A' END || substr(data, 42)"
             " WHERE local_id = '%s'",
             ids[0]);
    WBT_ASSERT_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
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
        WBT_ASSERT_INT(sqlite3_prepare_v2(db, "SELECT length(sign_secret) FROM store_keys", -1,
                                          &st, NULL),
                       SQLITE_OK);
        WBT_ASSERT_INT(sqlite3_step(st), SQLITE_ROW);
        WBT_ASSERT(sqlite3_column_int(st, 0) > 128); /* base64 of 1+24+64+16 bytes */
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

static const wbt_case cases[] = {
    WBT_CASE(test_core_crypto__round_trip_and_no_plaintext_on_disk),
    WBT_CASE(test_core_crypto__wrong_or_missing_key_writes_nothing),
    WBT_CASE(test_core_crypto__passphrase),
    WBT_CASE(test_core_crypto__tampered_and_swapped_values),
    WBT_CASE(test_core_crypto__rekey),
    WBT_CASE(test_core_crypto__rekey_killed_at_many_points),
    WBT_CASE(test_core_crypto__log_catches_edits_deletes_and_reorders),
    WBT_CASE(test_core_crypto__log_in_encrypted_store),
    WBT_CASE(test_core_crypto__tenancy),
};
WBT_MAIN(cases, NULL, NULL)
