/* test_core_store.c - opening, migrations, identity and status. */
#include <sqlite3.h>
#include <unistd.h>

#include "fixtures.h"
#include "schema.h"
#include "store_int.h"
#include "wbtest.h"

static void test_core_store__open_creates_and_reopens(void)
{
    wb_store *s = NULL;
    const char *path = wbt_path("open.db");
    unlink(path);
    WBT_OK(wb_store_open(&s, path, NULL));
    WBT_ASSERT(s != NULL);
    WBT_ASSERT_INT(wb_store_schema_version(s), wb_schema_version());
    wb_store_free(s);
    s = NULL;
    WBT_OK(wb_store_open(&s, path, NULL));
    WBT_ASSERT_INT(wb_store_schema_version(s), wb_schema_version());
    wb_store_free(s);
}

static void test_core_store__open_sets_wal_and_durability(void)
{
    wb_store *s = NULL;
    wb_store_options o;
    sqlite3_stmt *st;
    const char *path = wbt_path("wal.db");
    unlink(path);
    WBT_OK(wb_store_options_init(&o, WB_STORE_OPTIONS_VERSION));
    o.durability = WB_DURABILITY_NORMAL;
    WBT_OK(wb_store_open(&s, path, &o));
    WBT_ASSERT_INT(sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    WBT_ASSERT_INT(sqlite3_step(st), SQLITE_ROW);
    WBT_ASSERT_STR((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    WBT_ASSERT_INT(sqlite3_prepare_v2(s->db, "PRAGMA synchronous", -1, &st, NULL), SQLITE_OK);
    WBT_ASSERT_INT(sqlite3_step(st), SQLITE_ROW);
    WBT_ASSERT_INT(sqlite3_column_int(st, 0), 1); /* NORMAL */
    sqlite3_finalize(st);
    WBT_ASSERT_INT(sqlite3_prepare_v2(s->db, "PRAGMA foreign_keys", -1, &st, NULL), SQLITE_OK);
    WBT_ASSERT_INT(sqlite3_step(st), SQLITE_ROW);
    WBT_ASSERT_INT(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    /* New stores get 16 KiB pages, so ~1 KiB rows stay whole on their leaf. */
    WBT_ASSERT_INT(sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &st, NULL), SQLITE_OK);
    WBT_ASSERT_INT(sqlite3_step(st), SQLITE_ROW);
    WBT_ASSERT_INT(sqlite3_column_int(st, 0), 16384);
    sqlite3_finalize(st);
    WBT_ASSERT_INT(sqlite3_prepare_v2(s->db, "PRAGMA mmap_size", -1, &st, NULL), SQLITE_OK);
    WBT_ASSERT_INT(sqlite3_step(st), SQLITE_ROW);
    WBT_ASSERT_INT(sqlite3_column_int64(st, 0), 256 * 1024 * 1024);
    sqlite3_finalize(st);
    wb_store_free(s);
}

static void test_core_store__open_rejects_bad_arguments(void)
{
    wb_store *s = NULL;
    wb_store_options o = WB_STORE_OPTIONS_INIT;
    WBT_FAILS(wb_store_open(&s, NULL, NULL), WB_EINVALID, "path");
    o.version = 99;
    WBT_FAILS(wb_store_open(&s, wbt_path("x.db"), &o), WB_EINVALID, "version");
    o.version = WB_STORE_OPTIONS_VERSION;
    o.durability = 7;
    WBT_FAILS(wb_store_open(&s, wbt_path("x.db"), &o), WB_EINVALID, "durability");
    o.durability = WB_DURABILITY_FULL;
    o.mmap_mib = -1;
    WBT_FAILS(wb_store_open(&s, wbt_path("x.db"), &o), WB_EINVALID, "mmap_mib");
    WBT_FAILS(wb_store_options_init(&o, WB_STORE_OPTIONS_VERSION + 1), WB_EINVALID, "version");
    WBT_ASSERT(s == NULL);
}

static void test_core_store__open_refuses_text_file(void)
{
    wb_store *s = NULL;
    const char *path = wbt_path("notes.txt");
    const char text[] = "these are not the records you are looking for, not at all, no.\n"
                        "padding padding padding padding padding padding padding padding\n";
    WBT_ASSERT_INT(wbt_write_file(path, text, sizeof(text) - 1), 0);
    WBT_FAILS(wb_store_open(&s, path, NULL), WB_ESCHEMA, "not a walkbook store");
    WBT_ASSERT(s == NULL);
}

static void test_core_store__open_refuses_foreign_database(void)
{
    wb_store *s = NULL;
    sqlite3 *db;
    const char *path = wbt_path("foreign.db");
    unlink(path);
    WBT_ASSERT_INT(sqlite3_open(path, &db), SQLITE_OK);
    WBT_ASSERT_INT(sqlite3_exec(db, "CREATE TABLE songs (title TEXT)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    WBT_FAILS(wb_store_open(&s, path, NULL), WB_ESCHEMA, "another application");
    /* The foreign file is left as it was. */
    WBT_ASSERT_INT(sqlite3_open(path, &db), SQLITE_OK);
    WBT_ASSERT_INT(sqlite3_exec(db, "SELECT title FROM songs", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_core_store__open_refuses_newer_schema(void)
{
    wb_store *s = NULL;
    sqlite3 *db;
    char sql[64];
    const char *path = wbt_path("newer.db");
    unlink(path);
    WBT_OK(wb_store_open(&s, path, NULL));
    wb_store_free(s);
    s = NULL;
    WBT_ASSERT_INT(sqlite3_open(path, &db), SQLITE_OK);
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", wb_schema_version() + 1);
    WBT_ASSERT_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    WBT_FAILS(wb_store_open(&s, path, NULL), WB_ESCHEMA, "newer than this library");
}

static void test_core_store__readonly_open(void)
{
    wb_store *s = NULL;
    wb_store_options o = WB_STORE_OPTIONS_INIT;
    const char *path = wbt_path("ro.db");
    s = fx_store("ro.db");
    WBT_ASSERT(s != NULL);
    WBT_OK(wb_interaction_record(NULL, s, fx_body(NULL, NULL, NULL)));
    wb_store_free(s);
    s = NULL;
    o.flags = WB_OPEN_READONLY;
    WBT_OK(wb_store_open(&s, path, &o));
    WBT_FAILS(wb_interaction_record(NULL, s, fx_body(NULL, NULL, NULL)), WB_EREADONLY, "read-only");
    {
        uint64_t n = 0;
        WBT_OK(wb_interaction_count(&n, s, NULL));
        WBT_ASSERT_INT(n, 1);
    }
    wb_store_free(s);
    /* Without CREATE, a missing file is an error, not a new store. */
    s = NULL;
    o.flags = 0;
    WBT_FAILS(wb_store_open(&s, wbt_path("missing.db"), &o), WB_EIO, "open");
}

/* A store made by schema version 1 opens with the current library: the later
 * migrations run, and the data recorded under version 1 is intact. */
static void test_core_store__migrates_version1_store(void)
{
    wb_store *s = NULL;
    sqlite3 *db;
    const char *path = wbt_path("v1.db");
    char *env = NULL;
    uint64_t n = 0;
    wb_query q = WB_QUERY_INIT;
    WBT_ASSERT(wb_schema__migration_count >= 2);
    unlink(path);
    WBT_ASSERT_INT(sqlite3_open(path, &db), SQLITE_OK);
    WBT_OK(wb_store__migrate(db, 1));
    WBT_ASSERT_INT(
        sqlite3_exec(db,
                     "INSERT INTO identity VALUES (1, '" FX_CUSTOMER "', '" FX_USER "', '[]',"
                     " '2020-01-01T00:00:00.000Z');"
                     "INSERT INTO interactions (local_id, campaign_id, contact_id, ts, data,"
                     " created, created_by, modified, modified_by, customer_id, state) VALUES"
                     " ('11111111-1111-4111-8111-111111111111', '" FX_CAMPAIGN_A "',"
                     " '0478dbbf-b6eb-4168-afa9-5ebab6fef4b6', '2018-07-17T18:40:53.526Z',"
                     " '{\"campaignId\":\"" FX_CAMPAIGN_A "\",\"contactId\":"
                     "\"0478dbbf-b6eb-4168-afa9-5ebab6fef4b6\",\"timestamp\":"
                     "\"2018-07-17T18:40:53.526Z\",\"unavailable\":false,\"survey\":{\"surveyId\":"
                     "\"375d437b-3b47-4940-b43d-be8daec4afff\"}}',"
                     " '2020-01-01T00:00:00.000Z', '" FX_USER "', '2020-01-01T00:00:00.000Z', '" FX_USER
                     "', '" FX_CUSTOMER "', 2)",
                     NULL, NULL, NULL),
        SQLITE_OK);
    {
        sqlite3_stmt *st;
        sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
        sqlite3_step(st);
        WBT_ASSERT_INT(sqlite3_column_int(st, 0), 1);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);

    WBT_OK(wb_store_open(&s, path, NULL));
    WBT_ASSERT_INT(wb_store_schema_version(s), wb_schema_version());
    WBT_OK(wb_interaction_get(&env, s, "11111111-1111-4111-8111-111111111111", 0));
    WBT_ASSERT_CONTAINS(env, "\"createdBy\":\"" FX_USER "\"");
    wb_free(env);
    q.campaign_id = FX_CAMPAIGN_A;
    WBT_OK(wb_interaction_count(&n, s, &q));
    WBT_ASSERT_INT(n, 1);
    /* The index added by migration 2 exists now. */
    {
        sqlite3_stmt *st;
        sqlite3_prepare_v2(s->db,
                           "SELECT count(*) FROM sqlite_master WHERE name = 'interactions_tombstones'",
                           -1, &st, NULL);
        sqlite3_step(st);
        WBT_ASSERT_INT(sqlite3_column_int(st, 0), 1);
        sqlite3_finalize(st);
    }
    WBT_OK(wb_interaction_record(NULL, s, fx_body(NULL, NULL, NULL)));
    wb_store_free(s);
}

static void test_core_store__identity_set_once(void)
{
    wb_store *s = NULL;
    char *json = NULL;
    const char *groups[] = {FX_GROUP, "5f0b3a4e-3f0b-4c1e-9d4c-2f64a1f1e001"};
    const char *bad[] = {"nope"};
    const char *dup[] = {FX_GROUP, FX_GROUP};
    const char *path = wbt_path("identity.db");
    unlink(path);
    WBT_OK(wb_store_open(&s, path, NULL));
    WBT_FAILS(wb_store_identity(&json, s), WB_ENOTFOUND, "not set");
    WBT_FAILS(wb_interaction_record(NULL, s, fx_body(NULL, NULL, NULL)), WB_ENOTFOUND, "identity");
    WBT_FAILS(wb_store_set_identity(s, "x", FX_USER, NULL, 0), WB_EINVALID, "customerId");
    WBT_FAILS(wb_store_set_identity(s, FX_CUSTOMER, "y", NULL, 0), WB_EINVALID, "userId");
    WBT_FAILS(wb_store_set_identity(s, FX_CUSTOMER, FX_USER, bad, 1), WB_EINVALID,
              "securityGroupIds[0]");
    WBT_FAILS(wb_store_set_identity(s, FX_CUSTOMER, FX_USER, dup, 2), WB_EINVALID, "duplicate");
    WBT_OK(wb_store_set_identity(s, FX_CUSTOMER, FX_USER, groups, 2));
    WBT_OK(wb_store_set_identity(s, FX_CUSTOMER, FX_USER, groups, 2)); /* same again: fine */
    WBT_FAILS(wb_store_set_identity(s, FX_CUSTOMER, FX_CUSTOMER, NULL, 0), WB_EEXISTS, "already");
    WBT_OK(wb_store_identity(&json, s));
    WBT_ASSERT_STR(json, "{\"customerId\":\"" FX_CUSTOMER "\",\"userId\":\"" FX_USER
                         "\",\"securityGroupIds\":[\"" FX_GROUP
                         "\",\"5f0b3a4e-3f0b-4c1e-9d4c-2f64a1f1e001\"]}");
    wb_free(json);
    wb_store_free(s);
    /* It persists. */
    s = NULL;
    WBT_OK(wb_store_open(&s, path, NULL));
    WBT_FAILS(wb_store_set_identity(s, FX_CUSTOMER, FX_CUSTOMER, NULL, 0), WB_EEXISTS, "already");
    {
        char *id = NULL, *env = NULL;
        WBT_OK(wb_interaction_record(&id, s, fx_body(NULL, NULL, NULL)));
        WBT_OK(wb_interaction_get(&env, s, id, 0));
        WBT_ASSERT_CONTAINS(env, "\"customerId\":\"" FX_CUSTOMER "\"");
        WBT_ASSERT_CONTAINS(env, "\"securityGroupId\":\"" FX_GROUP "\"");
        WBT_ASSERT_CONTAINS(env, "\"modifiedBy\":\"" FX_USER "\"");
        wb_free(id);
        wb_free(env);
    }
    wb_store_free(s);
}

static void test_core_store__status_counts(void)
{
    wb_store *s = fx_store("status.db");
    char *json = NULL, *a = NULL, *b = NULL;
    WBT_ASSERT(s != NULL);
    WBT_OK(wb_interaction_record(&a, s, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_interaction_record(&b, s, fx_body(NULL, NULL, NULL)));
    WBT_OK(wb_interaction_delete(s, b));
    WBT_OK(wb_store_status(&json, s));
    WBT_ASSERT_CONTAINS(json, "\"total\":2,\"live\":1,\"tombstones\":1");
    WBT_ASSERT_CONTAINS(json, "\"pendingCreate\":1");
    WBT_ASSERT_CONTAINS(json, "\"synced\":1");
    WBT_ASSERT_CONTAINS(json, "\"schemaVersion\":");
    WBT_ASSERT(strstr(json, "\"fileSize\":0") == NULL);
    wb_free(json);
    wb_free(a);
    wb_free(b);
    wb_store_free(s);
}

static void test_core_store__free_null_and_errors(void)
{
    wb_store_free(NULL);
    wb_iter_free(NULL);
    wb_free(NULL);
    wb_error_clear();
    WBT_ASSERT(wb_error_last() == NULL);
    WBT_ASSERT_STR(wb_error_name(WB_ENOTFOUND), "WB_ENOTFOUND");
    WBT_ASSERT_STR(wb_version(), WB_VERSION);
    WBT_ASSERT_INT(wb_version_number(), WB_VERSION_NUMBER);
}

static const wbt_case cases[] = {
    WBT_CASE(test_core_store__open_creates_and_reopens),
    WBT_CASE(test_core_store__open_sets_wal_and_durability),
    WBT_CASE(test_core_store__open_rejects_bad_arguments),
    WBT_CASE(test_core_store__open_refuses_text_file),
    WBT_CASE(test_core_store__open_refuses_foreign_database),
    WBT_CASE(test_core_store__open_refuses_newer_schema),
    WBT_CASE(test_core_store__readonly_open),
    WBT_CASE(test_core_store__migrates_version1_store),
    WBT_CASE(test_core_store__identity_set_once),
    WBT_CASE(test_core_store__status_counts),
    WBT_CASE(test_core_store__free_null_and_errors),
};
WBT_MAIN(cases, NULL, NULL)
