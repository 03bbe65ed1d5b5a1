/*
 * A client of the walkbook clang module: compiled as Objective-C with
 * `clang -fmodules` and `@import walkbook;` (tests/apple/module_test.sh), the
 * way an iOS app's Objective-C reaches the library, and close to what Swift's
 * importer sees. It uses the enums, flag enum, options structs, nullable
 * outputs and the error record through the module, against the built
 * shared library.
 */
@import walkbook;

#include <stdio.h>
#include <string.h>

static int passed, failed;

static void check(const char *name, int ok)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", name);
    if (ok)
        passed++;
    else
        failed++;
}

static const char *body =
    "{\"campaignId\":\"61fbfbaa-5de8-4d17-ac2b-c47f2376265a\",\"contactId\":"
    "\"0478dbbf-b6eb-4168-afa9-5ebab6fef4b6\",\"timestamp\":\"2018-07-17T18:40:53.526Z\","
    "\"unavailable\":false,\"survey\":{\"surveyId\":\"375d437b-3b47-4940-b43d-be8daec4afff\"}}";

int main(int argc, char **argv)
{
    wb_store *store = NULL;
    wb_iter *iter = NULL;
    char *id = NULL, *json = NULL;
    const char *row = NULL;
    uint64_t n = 0;
    int rc, rows = 0;
    if (argc < 2)
        return 2;
    remove(argv[1]);

    check("test_apple_module__version", wb_version_number() == WB_VERSION_NUMBER &&
                                             strcmp(wb_version(), WB_VERSION) == 0);

    wb_store_options so = WB_STORE_OPTIONS_INIT;
    so.durability = WB_DURABILITY_NORMAL;
    rc = wb_store_open(&store, argv[1], &so);
    check("test_apple_module__open", rc == WB_OK && store != NULL);
    if (!store)
        goto cleanup;
    rc = wb_store_set_identity(store, "cfa8df1b-baf1-446b-b06c-3177063faed7",
                               "0651e380-d556-49bd-acdd-2bd813b16430", NULL, 0);
    check("test_apple_module__identity", rc == WB_OK);

    rc = wb_interaction_record(&id, store, body);
    check("test_apple_module__record", rc == WB_OK && id != NULL && strlen(id) == 36);
    rc = id ? wb_interaction_get(&json, store, id, 0) : WB_ERROR;
    check("test_apple_module__get", rc == WB_OK && json && strstr(json, id) &&
                                        strstr(json, "\"campaignId\""));

    /* The flag enum: states combine as bits in wb_query.states. */
    enum wb_sync_state pending = WB_STATE_PENDING_CREATE;
    wb_query q = WB_QUERY_INIT;
    q.states = (unsigned int)(pending | WB_STATE_PENDING_UPDATE);
    q.order = WB_ORDER_TIME_DESC;
    rc = wb_interaction_query(&iter, store, &q);
    while (rc == WB_OK && (rc = wb_iter_next(&row, iter)) == WB_OK)
        rows++;
    check("test_apple_module__query", rc == WB_ITEROVER && rows == 1);
    q.states = WB_STATE_SYNCED;
    rc = wb_interaction_count(&n, store, &q);
    check("test_apple_module__count_by_state", rc == WB_OK && n == 0);

    /* Errors: the code, its name, and the per-thread record naming the field. */
    rc = wb_interaction_record(NULL, store, "{\"campaignId\":\"nope\"}");
    const wb_error *e = wb_error_last();
    check("test_apple_module__error", rc == WB_EINVALID && e && e->code == WB_EINVALID &&
                                          e->klass == WB_ERRCLASS_INVALID &&
                                          strstr(e->message, "campaignId") &&
                                          strcmp(wb_error_name(rc), "WB_EINVALID") == 0);

    /* Options structs with a version field and a callback slot. */
    wb_sync_options opts;
    wb_sync *sync = NULL;
    rc = wb_sync_options_init(&opts, WB_SYNC_OPTIONS_VERSION);
    opts.policy = WB_POLICY_MANUAL;
    opts.base_url = "ftp://example.invalid";
    rc = rc == WB_OK ? wb_sync_new(&sync, argv[1], NULL, &opts) : rc;
    check("test_apple_module__sync_options", rc == WB_EINVALID && sync == NULL &&
                                                  strstr(wb_error_last()->message, "base_url"));

    double m = 0;
    rc = wb_geodesic_distance(&m, 51.5, -0.12, 48.85, 2.35);
    check("test_apple_module__geodesic", rc == WB_OK && m > 340000 && m < 345000);

cleanup:
    wb_iter_free(iter);
    wb_free(json);
    wb_free(id);
    wb_store_free(store);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
