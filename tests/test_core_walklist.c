/* test_core_walklist.c - reference-data caches, imports, walk-list
 * progress, next doors (against a brute-force answer on random data), GPS
 * fixes and distance, fraud signals, validation modes and the breadcrumb
 * track, all through the public API. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fixtures.h"
#include "refdata.h"
#include "store_int.h"
#include "wbtest.h"

#define WL "5c1ce5e4-a374-493e-bab2-ce7c01999e27"
#define WL2 "6d2df6f5-b485-4a4f-8c6a-df8d02aaaf38"
#define HH1 "318dd74f-b495-48a9-8b83-a16d5e784033"
#define HH2 "8f14b905-efd3-4f8f-a292-211a27c5126a"
#define HH3 "a1b2c3d4-0000-4000-8000-000000000003"
#define CONTACT "0d8f66ce-2a6b-4caa-93f4-dd6f3996e09d"
#define CONTACT2 "1e9f77df-3b7c-4dbb-a4f5-ee07a4a7f1ae"
#define LINK "515cc15e-9ea3-43ca-ace1-e1ef616cdc51"
#define SURVEY "de9b9879-4d2a-460a-ac16-7356517c09d6"
#define Q_AVAIL "b20ac18e-b47f-494b-b2fe-6d2d2947f0c9"
#define Q_ISSUE "f8bdbde0-c0be-49ae-b663-fd8023e01bf5"
#define HH_LAT 42.3736
#define HH_LNG (-71.1097)

static wb_store *store;
static int64_t clock_ms;

static int64_t test_clock(void *ctx)
{
    (void)ctx;
    return clock_ms;
}

static void setup(void)
{
    store = fx_store("walklist.db");
    clock_ms = 1700000000000; /* 2023-11-14T22:13:20.000Z */
    if (store)
        wb_store__set_clock(store, test_clock, NULL);
}

static void teardown(void)
{
    wb_store_free(store);
    store = NULL;
}

static cJSON *parse_out(char *json)
{
    cJSON *j = cJSON_Parse(json);
    wb_free(json);
    return j;
}

static const char *household_env(const char *id, double lat, double lng, const char *modified)
{
    static char buf[4][1024];
    static int slot;
    char *b = buf[slot++ % 4];
    snprintf(b, sizeof(buf[0]),
             "{\"id\":\"%s\",\"data\":{\"unitNum\":\"\",\"address\":{\"data\":{\"city\":\"Cambridge\","
             "\"coords\":{\"lat\":%.9f,\"lng\":%.9f,\"confidence\":1}}},\"formattedAddress\":\"%s"
             " Street\"},\"meta\":{\"modified\":\"%s\",\"isDeleted\":false}}",
             id, lat, lng, id, modified);
    return b;
}

static const char survey_env[] =
    "{\"id\":\"" SURVEY "\",\"data\":{\"campaignId\":\"" FX_CAMPAIGN_A "\",\"name\":\"S\","
    "\"questions\":[{\"questionId\":\"" Q_AVAIL "\",\"tag\":\"available\",\"type\":\"availability\","
    "\"options\":[{\"text\":\"Unavailable\",\"value\":\"false\"},{\"text\":\"Available\",\"value\":"
    "\"true\"}]},{\"questionId\":\"" Q_ISSUE "\",\"tag\":\"top_issue\",\"type\":\"multi-choice\","
    "\"options\":[{\"text\":\"Housing\"},{\"text\":\"Transit\"}]}]},"
    "\"meta\":{\"modified\":\"2024-03-01T09:00:04.000Z\",\"isDeleted\":false}}";

/* The demo walk list: HH1 at the centre, HH2 ~150 m north, HH3 without
 * coordinates; CONTACT lives at HH1. */
static void load_walklist(void)
{
    WBT_OK(wb_ref_upsert(store, "households",
                         household_env(HH1, HH_LAT, HH_LNG, "2024-03-01T09:00:00.000Z")));
    WBT_OK(wb_ref_upsert(store, "households",
                         household_env(HH2, HH_LAT + 0.00135, HH_LNG, "2024-03-01T09:00:00.000Z")));
    WBT_OK(wb_ref_upsert(store, "households",
                         "{\"id\":\"" HH3 "\",\"data\":{\"unitNum\":\"2\"},\"meta\":{\"modified\":"
                         "\"2024-03-01T09:00:00.000Z\"}}"));
    WBT_OK(wb_ref_upsert(store, "contact-households",
                         "{\"id\":\"" LINK "\",\"data\":{\"contactId\":\"" CONTACT "\","
                         "\"householdId\":\"" HH1 "\"},\"meta\":{\"modified\":"
                         "\"2024-03-01T09:00:00.000Z\"}}"));
    WBT_OK(wb_ref_upsert(store, "surveys", survey_env));
    WBT_OK(wb_ref_upsert(store, "campaigns",
                         "{\"id\":\"" FX_CAMPAIGN_A "\",\"data\":{\"name\":\"C\",\"lists\":[{"
                         "\"listId\":\"" WL "\",\"type\":\"normal\"}]}}"));
    WBT_OK(wb_ref_upsert(store, "lists",
                         "{\"id\":\"" WL "\",\"data\":{\"name\":\"Demo walk list\"}}"));
    WBT_OK(wb_walklist_add_household(store, WL, NULL, HH1));
    WBT_OK(wb_walklist_add_household(store, WL, NULL, HH2));
    WBT_OK(wb_walklist_add_household(store, WL, NULL, HH3));
}

/* A flat body at HH1 by CONTACT on WL; extra members appended. */
static const char *knock(const char *household, const char *ts, const char *extra)
{
    static char buf[4][2048];
    static int slot;
    char *b = buf[slot++ % 4];
    snprintf(b, sizeof(buf[0]),
             "{\"campaignId\":\"" FX_CAMPAIGN_A "\",\"contactId\":\"" CONTACT "\","
             "\"householdId\":\"%s\",\"walklistId\":\"" WL "\",\"timestamp\":\"%s\","
             "\"unavailable\":false,\"survey\":{\"surveyId\":\"" SURVEY "\"}%s}",
             household, ts, extra ? extra : "");
    return b;
}

static cJSON *signals_of(const char *id)
{
    char *json = NULL;
    if (wb_interaction_signals(&json, store, id) != 0)
        return NULL;
    return parse_out(json);
}

static int has_string(const cJSON *array, const char *s)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, array)
    {
        if (cJSON_IsString(item) && strcmp(item->valuestring, s) == 0)
            return 1;
    }
    return 0;
}

static int signal_count(const cJSON *sig)
{
    return cJSON_GetArraySize(cJSON_GetObjectItem(sig, "signals"));
}

static char *record_fix(double lat, double lng, double acc, const char *time, const char *body,
                        int check)
{
    wb_record_options o = WB_RECORD_OPTIONS_INIT;
    char *id = NULL;
    o.has_fix = 1;
    o.lat = lat;
    o.lng = lng;
    o.accuracy_m = acc;
    o.fix_time = time;
    o.check = check;
    if (wb_interaction_record_ex(&id, store, body, &o) != 0)
        return NULL;
    return id;
}

/* ---- reference caches ---------------------------------------------------- */

static void test_core_walklist__ref_upsert_get_list(void)
{
    char *json = NULL;
    cJSON *j;
    load_walklist();
    WBT_OK(wb_ref_get(&json, store, "surveys", SURVEY));
    j = parse_out(json);
    WBT_ASSERT(j != NULL);
    WBT_ASSERT_INT(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"),
                                                          "questions")),
                   2);
    cJSON_Delete(j);
    WBT_OK(wb_ref_list(&json, store, "households"));
    j = parse_out(json);
    WBT_ASSERT_INT(cJSON_GetArraySize(j), 3);
    cJSON_Delete(j);

    /* An older copy does not replace a newer one; a newer one does. */
    WBT_OK(wb_ref_upsert(store, "households",
                         household_env(HH1, 10.0, 10.0, "2024-01-01T00:00:00.000Z")));
    WBT_OK(wb_ref_get(&json, store, "households", HH1));
    WBT_ASSERT_CONTAINS(json, "42.3736");
    wb_free(json);
    WBT_OK(wb_ref_upsert(store, "households",
                         household_env(HH1, HH_LAT, HH_LNG + 0.001, "2024-04-01T00:00:00.000Z")));
    WBT_OK(wb_ref_get(&json, store, "households", HH1));
    WBT_ASSERT_CONTAINS(json, "-71.1087");
    wb_free(json);

    /* A tombstone hides the record and takes it off the walk list. */
    WBT_OK(wb_ref_upsert(store, "households",
                         "{\"id\":\"" HH2 "\",\"meta\":{\"modified\":\"2024-05-01T00:00:00.000Z\","
                         "\"isDeleted\":true}}"));
    WBT_FAILS(wb_ref_get(&json, store, "households", HH2), WB_ENOTFOUND, "not in the local cache");
    WBT_OK(wb_walklist_progress(&json, store, WL));
    WBT_ASSERT_CONTAINS(json, "\"households\":2");
    wb_free(json);

    WBT_FAILS(wb_ref_upsert(store, "turfs", "{}"), WB_EINVALID, "resource");
    WBT_FAILS(wb_ref_upsert(store, "households", "{\"id\":\"x\",\"data\":{}}"), WB_EINVALID,
              "households.id: must be a UUID");
    WBT_FAILS(wb_ref_upsert(store, "households",
                            household_env(HH3, 95.0, 0.0, "2025-01-01T00:00:00.000Z")),
              WB_EINVALID, "coords.lat: must be between -90 and 90");
    WBT_FAILS(wb_ref_upsert(store, "households", "{\"id\":"), WB_EINVALID, "households");
}

static void test_core_walklist__import_csv(void)
{
    const char good[] = "id,lat,lng,address,walklistId,campaignId\r\n"
                        HH1 ",42.3736,-71.1097,\"1 Main St, Apt \"\"B\"\"\"," WL "," FX_CAMPAIGN_A "\r\n"
                        HH2 ",42.3750,-71.1100,2 Main St," WL ",\n";
    const char bad[] = "id,lat,lng\n" HH3 ",42.0,-71.0\n"
                       "a1b2c3d4-0000-4000-8000-000000000004,91,-71.0\n";
    uint64_t n = 0;
    char *json = NULL;
    cJSON *j;

    WBT_OK(wb_ref_import(&n, store, "households", good, strlen(good)));
    WBT_ASSERT_INT((int)n, 2);
    WBT_OK(wb_ref_get(&json, store, "households", HH1));
    WBT_ASSERT_CONTAINS(json, "1 Main St, Apt \\\"B\\\"");
    wb_free(json);
    WBT_OK(wb_walklist_list(&json, store));
    j = parse_out(json);
    WBT_ASSERT_INT(cJSON_GetArraySize(j), 1);
    WBT_ASSERT_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0),
                                                            "campaignId")),
                   FX_CAMPAIGN_A);
    WBT_ASSERT_INT(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "households")->valueint, 2);
    cJSON_Delete(j);

    /* Row-numbered errors, and nothing of a refused file is kept. */
    WBT_FAILS(wb_ref_import(&n, store, "households", bad, strlen(bad)), WB_EINVALID,
              "line 3: lat: must be between -90 and 90");
    WBT_FAILS(wb_ref_get(&json, store, "households", HH3), WB_ENOTFOUND, "not in the local cache");
    WBT_FAILS(wb_ref_import(&n, store, "households", "id,lat\n", 7), WB_EINVALID,
              "line 1: columns lat and lng are required");
    WBT_FAILS(wb_ref_import(&n, store, "households", "id,lat,lng\nnope,1,2\n", strlen("id,lat,lng\nnope,1,2\n")), WB_EINVALID,
              "line 2: id: must be a UUID");
    WBT_FAILS(wb_ref_import(&n, store, "households", "id,lat,lng\n" HH3 ",x,2\n", strlen("id,lat,lng\n" HH3 ",x,2\n")),
              WB_EINVALID, "line 2: lat: must be a number");
    WBT_FAILS(wb_ref_import(&n, store, "households", "id,lat,lng\n" HH3 ",1\n", strlen("id,lat,lng\n" HH3 ",1\n")), WB_EINVALID,
              "line 2: 2 columns, the header has 3");
    WBT_FAILS(wb_ref_import(&n, store, "households", "id,lat,lng\n\"" HH3 ",1,2\n", strlen("id,lat,lng\n\"" HH3 ",1,2\n")),
              WB_EINVALID, "unterminated quoted field");
    WBT_FAILS(wb_ref_import(&n, store, "streets", "", 0), WB_EINVALID, "kind");

    /* Contacts with their household link. */
    {
        const char contacts[] = "id,householdId,contactHouseholdId,given,surname\n" CONTACT "," HH1
                                "," LINK ",Jordan,Garcia\n" CONTACT2 ",,,Sam,\n";
        WBT_OK(wb_ref_import(&n, store, "contacts", contacts, strlen(contacts)));
        WBT_ASSERT_INT((int)n, 2);
        WBT_OK(wb_ref_get(&json, store, "contact-households", LINK));
        WBT_ASSERT_CONTAINS(json, HH1);
        wb_free(json);
        WBT_OK(wb_ref_get(&json, store, "contacts", CONTACT2));
        WBT_ASSERT_CONTAINS(json, "\"given\":\"Sam\"");
        wb_free(json);
    }
}

static void test_core_walklist__import_geojson(void)
{
    const char good[] =
        "{\"type\":\"FeatureCollection\",\"features\":["
        "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[-71.1097,42.3736]},"
        "\"properties\":{\"id\":\"" HH1 "\",\"address\":\"1 Main St\",\"walklistId\":\"" WL "\"}},"
        "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[-71.11,42.375]},"
        "\"properties\":{\"id\":\"" HH2 "\",\"walklistId\":\"" WL "\"}}]}";
    const char bad[] =
        "{\"type\":\"FeatureCollection\",\"features\":["
        "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[-71.1097,42.3736]},"
        "\"properties\":{\"id\":\"" HH3 "\"}},"
        "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[-71.11,42.375]},"
        "\"properties\":{\"name\":\"no id\"}}]}";
    uint64_t n = 0;
    char *json = NULL;
    double lat, lng;
    int found = 0;

    WBT_OK(wb_ref_import(&n, store, "households", good, strlen(good)));
    WBT_ASSERT_INT((int)n, 2);
    WBT_OK(wb_ref__household_location(&found, &lat, &lng, store, HH2));
    WBT_ASSERT(found && lat == 42.375 && lng == -71.11);
    WBT_OK(wb_walklist_show(&json, store, WL));
    WBT_ASSERT_CONTAINS(json, "\"address\":\"1 Main St\"");
    wb_free(json);
    WBT_FAILS(wb_ref_import(&n, store, "households", bad, strlen(bad)), WB_EINVALID,
              "features[1]: properties.id: required");
    WBT_FAILS(wb_ref_get(&json, store, "households", HH3), WB_ENOTFOUND, "");
#define LINE_FEATURE                                                                               \
    "{\"features\":[{\"geometry\":{\"type\":\"LineString\"},\"properties\":{\"id\":\"" HH3 "\"}}]}"
    WBT_FAILS(wb_ref_import(&n, store, "households", LINE_FEATURE, strlen(LINE_FEATURE)),
              WB_EINVALID, "features[0]: geometry.type: must be \"Point\"");
}

/* ---- GPS fix, distance, signals ------------------------------------------ */

static void test_core_walklist__fix_distance(void)
{
    double fix_lat = HH_LAT + 0.0002, fix_lng = HH_LNG + 0.0001, m = 0.0;
    char *id, *json = NULL;
    cJSON *env, *data, *loc, *sig;

    load_walklist();
    id = record_fix(fix_lat, fix_lng, 8.5, "2023-11-14T22:13:10.000Z",
                    knock(HH1, "2023-11-14T22:13:15.000Z", NULL), WB_CHECK_DEFAULT);
    WBT_ASSERT(id != NULL);
    WBT_OK(wb_interaction_get(&json, store, id, 0));
    env = parse_out(json);
    data = cJSON_GetObjectItem(env, "data");
    loc = cJSON_GetObjectItem(data, "location");
    WBT_ASSERT(cJSON_GetObjectItem(loc, "lat")->valuedouble == fix_lat);
    WBT_ASSERT(cJSON_GetObjectItem(loc, "lng")->valuedouble == fix_lng);
    WBT_ASSERT(cJSON_GetObjectItem(loc, "confidence")->valuedouble == 8.5);
    WBT_OK(wb_geodesic_distance(&m, fix_lat, fix_lng, HH_LAT, HH_LNG));
    WBT_ASSERT(fabs(cJSON_GetObjectItem(data, "distance")->valuedouble - m / 1609.344) < 1e-12);
    printf("    fix %.2f m from the door = %.6f mi\n", m,
           cJSON_GetObjectItem(data, "distance")->valuedouble);
    cJSON_Delete(env);
    sig = signals_of(id);
    WBT_ASSERT(sig != NULL);
    WBT_ASSERT_INT(signal_count(sig), 0);
    WBT_ASSERT(fabs(cJSON_GetObjectItem(sig, "distanceMetres")->valuedouble - m) < 1e-9);
    WBT_ASSERT_STR(cJSON_GetStringValue(
                       cJSON_GetObjectItem(cJSON_GetObjectItem(sig, "fix"), "time")),
                   "2023-11-14T22:13:10.000Z");
    cJSON_Delete(sig);
    wb_free(id);

    /* No fix: recorded anyway, flagged, no distance added. */
    {
        char *id2 = NULL;
        WBT_OK(wb_interaction_record_ex(&id2, store, knock(HH1, "2023-11-14T22:20:00.000Z", NULL),
                                        NULL));
        sig = signals_of(id2);
        WBT_ASSERT(has_string(cJSON_GetObjectItem(sig, "signals"), "missing_fix"));
        WBT_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(sig, "fix")));
        cJSON_Delete(sig);
        WBT_OK(wb_interaction_get(&json, store, id2, 0));
        WBT_ASSERT(strstr(json, "\"distance\"") == NULL);
        wb_free(json);
        wb_free(id2);
    }
    /* A bad fix names the field and stores nothing. */
    {
        wb_record_options o = WB_RECORD_OPTIONS_INIT;
        uint64_t before = 0, after = 0;
        WBT_OK(wb_interaction_count(&before, store, NULL));
        o.has_fix = 1;
        o.lat = 91.0;
        WBT_FAILS(wb_interaction_record_ex(NULL, store, knock(HH1, "2023-11-14T22:21:00.000Z", NULL),
                                           &o),
                  WB_EINVALID, "fix.lat: must be between -90 and 90");
        o.lat = 1.0;
        o.fix_time = "yesterday";
        WBT_FAILS(wb_interaction_record_ex(NULL, store, knock(HH1, "2023-11-14T22:21:00.000Z", NULL),
                                           &o),
                  WB_EINVALID, "fix.time");
        WBT_OK(wb_interaction_count(&after, store, NULL));
        WBT_ASSERT(before == after);
    }
}

static void test_core_walklist__signals(void)
{
    char *id, *json = NULL;
    cJSON *sig, *list;

    load_walklist();
    /* ~111 m north: beyond "near" (100 m), within "far" (300 m). */
    id = record_fix(HH_LAT + 0.001, HH_LNG, 5.0, NULL, knock(HH1, "2023-11-14T10:00:00.000Z", NULL),
                    WB_CHECK_DEFAULT);
    sig = signals_of(id);
    WBT_ASSERT(has_string(cJSON_GetObjectItem(sig, "signals"), "far_from_door"));
    WBT_ASSERT_INT(signal_count(sig), 1);
    cJSON_Delete(sig);
    wb_free(id);
    /* ~556 m: beyond "far". */
    id = record_fix(HH_LAT + 0.005, HH_LNG, 5.0, NULL, knock(HH1, "2023-11-14T10:30:00.000Z", NULL),
                    WB_CHECK_DEFAULT);
    sig = signals_of(id);
    WBT_ASSERT(has_string(cJSON_GetObjectItem(sig, "signals"), "very_far_from_door"));
    WBT_ASSERT(!has_string(cJSON_GetObjectItem(sig, "signals"), "far_from_door"));
    cJSON_Delete(sig);
    wb_free(id);
    /* Stale fix (older than 120 s when recorded) and poor accuracy (> 50 m). */
    id = record_fix(HH_LAT, HH_LNG, 75.0, "2023-11-14T22:00:00.000Z",
                    knock(HH1, "2023-11-14T22:13:00.000Z", NULL), WB_CHECK_DEFAULT);
    sig = signals_of(id);
    WBT_ASSERT(has_string(cJSON_GetObjectItem(sig, "signals"), "stale_fix"));
    WBT_ASSERT(has_string(cJSON_GetObjectItem(sig, "signals"), "poor_accuracy"));
    WBT_ASSERT_INT(signal_count(sig), 2);
    cJSON_Delete(sig);
    wb_free(id);
    /* 10 km in one minute after the previous fixed knock: implausible speed. */
    id = record_fix(HH_LAT + 0.09, HH_LNG, 5.0, "2023-11-14T22:01:00.000Z",
                    knock(HH2, "2023-11-14T22:13:15.000Z", NULL), WB_CHECK_DEFAULT);
    sig = signals_of(id);
    WBT_ASSERT(has_string(cJSON_GetObjectItem(sig, "signals"), "implausible_speed"));
    cJSON_Delete(sig);
    wb_free(id);
    /* A household without coordinates: no distance, flagged. */
    id = record_fix(HH_LAT + 0.09, HH_LNG, 5.0, "2023-11-14T22:13:16.000Z",
                    knock(HH3, "2023-11-14T22:13:16.000Z", NULL), WB_CHECK_DEFAULT);
    sig = signals_of(id);
    WBT_ASSERT(has_string(cJSON_GetObjectItem(sig, "signals"), "no_household_location"));
    WBT_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(sig, "distanceMetres")));
    cJSON_Delete(sig);
    wb_free(id);

    /* Queryable: by signal, and any signal. */
    WBT_OK(wb_interaction_flagged(&json, store, "poor_accuracy"));
    list = parse_out(json);
    WBT_ASSERT_INT(cJSON_GetArraySize(list), 1);
    cJSON_Delete(list);
    WBT_OK(wb_interaction_flagged(&json, store, NULL));
    list = parse_out(json);
    WBT_ASSERT_INT(cJSON_GetArraySize(list), 5);
    cJSON_Delete(list);

    /* Per-campaign thresholds: 1 km "near" makes 556 m unremarkable. */
    WBT_OK(wb_campaign_settings_set(store, FX_CAMPAIGN_A,
                                    "{\"nearMetres\":1000,\"farMetres\":2000}"));
    WBT_OK(wb_campaign_settings_set(store, FX_CAMPAIGN_A, "{\"staleSeconds\":3600}"));
    WBT_OK(wb_campaign_settings_get(&json, store, FX_CAMPAIGN_A));
    WBT_ASSERT_CONTAINS(json, "\"nearMetres\":1000,\"farMetres\":2000,\"staleSeconds\":3600");
    wb_free(json);
    id = record_fix(HH_LAT + 0.005, HH_LNG, 5.0, "2023-11-14T22:00:00.000Z",
                    knock(HH1, "2023-11-14T23:30:00.000Z", NULL), WB_CHECK_DEFAULT);
    sig = signals_of(id);
    WBT_ASSERT_INT(signal_count(sig), 0);
    cJSON_Delete(sig);
    wb_free(id);
    WBT_FAILS(wb_campaign_settings_set(store, FX_CAMPAIGN_A, "{\"nearMetres\":-1}"), WB_EINVALID,
              "settings.nearMetres: must be a positive number");
    WBT_FAILS(wb_campaign_settings_set(store, FX_CAMPAIGN_A, "{\"farMetres\":10}"), WB_EINVALID,
              "farMetres: must not be less than nearMetres");
    WBT_FAILS(wb_campaign_settings_set(store, FX_CAMPAIGN_A, "{\"validation\":\"loud\"}"),
              WB_EINVALID, "settings.validation");
}

static void test_core_walklist__validation_modes(void)
{
    const char *bad_answer = ",\"survey\":{\"surveyId\":\"" SURVEY "\",\"responses\":{\"" Q_ISSUE
                             "\":{\"questionId\":\"" Q_ISSUE "\",\"fields\":{\"top_issue\":"
                             "\"Parking\"}}}}";
    const char *good_answer = ",\"survey\":{\"surveyId\":\"" SURVEY "\",\"responses\":{\"" Q_ISSUE
                              "\":{\"questionId\":\"" Q_ISSUE "\",\"fields\":{\"top_issue\":"
                              "\"Housing\"}}}}";
    const char *NO_ANSWERS = ",\"survey\":{\"surveyId\":\"" SURVEY "\"}";
    char body[2048], *id;
    cJSON *sig;
    uint64_t n0 = 0, n1 = 0;

    load_walklist();
    /* The knock() body already has a survey member: build these by hand. */
#define BODY(hh, contact, survey)                                                                  \
    (snprintf(body, sizeof(body),                                                                  \
              "{\"campaignId\":\"" FX_CAMPAIGN_A "\",\"contactId\":\"%s\",\"householdId\":\"%s\"," \
              "\"walklistId\":\"" WL "\",\"timestamp\":\"2023-11-14T22:13:00.000Z\","             \
              "\"unavailable\":false%s}",                                                         \
              contact, hh, survey),                                                                \
     body)

    /* Good against every check: no warning in strict mode. */
    id = record_fix(HH_LAT, HH_LNG, 5, NULL, BODY(HH1, CONTACT, good_answer), WB_CHECK_STRICT);
    WBT_ASSERT(id != NULL);
    sig = signals_of(id);
    WBT_ASSERT_INT(cJSON_GetArraySize(cJSON_GetObjectItem(sig, "warnings")), 0);
    cJSON_Delete(sig);
    wb_free(id);

    WBT_OK(wb_interaction_count(&n0, store, NULL));
    /* Strict: an answer that is not an option, a contact at another door, a
     * household not on the walk list are refused, naming the field. */
    WBT_ASSERT(record_fix(HH_LAT, HH_LNG, 5, NULL, BODY(HH1, CONTACT, bad_answer),
                          WB_CHECK_STRICT) == NULL);
    WBT_ASSERT_CONTAINS(wb_error_last()->message,
                        "data.survey.responses." Q_ISSUE ".fields.top_issue: not one of the"
                        " question's options");
    WBT_ASSERT(record_fix(HH_LAT, HH_LNG, 5, NULL, BODY(HH2, CONTACT, good_answer),
                          WB_CHECK_STRICT) == NULL);
    WBT_ASSERT_CONTAINS(wb_error_last()->message,
                        "data.householdId: the contact does not belong to this household");
    WBT_OK(wb_ref_upsert(store, "households",
                         household_env(fx_uuid(77), HH_LAT, HH_LNG, "2024-03-01T09:00:00.000Z")));
    WBT_ASSERT(record_fix(HH_LAT, HH_LNG, 5, NULL, BODY(fx_uuid(77), CONTACT2, NO_ANSWERS),
                          WB_CHECK_STRICT) == NULL);
    WBT_ASSERT_CONTAINS(wb_error_last()->message, "data.householdId: not on walk list " WL);
    {
        const char *unknown_q = ",\"survey\":{\"surveyId\":\"" SURVEY "\",\"responses\":{\""
                                HH3 "\":{\"questionId\":\"" HH3 "\",\"fields\":{}}}}";
        WBT_ASSERT(record_fix(HH_LAT, HH_LNG, 5, NULL, BODY(HH1, CONTACT, unknown_q),
                              WB_CHECK_STRICT) == NULL);
        WBT_ASSERT_CONTAINS(wb_error_last()->message, "not a question of survey");
    }
    WBT_OK(wb_interaction_count(&n1, store, NULL));
    WBT_ASSERT(n0 == n1);

    /* Warn (the default): recorded, the finding stored with the record. */
    id = record_fix(HH_LAT, HH_LNG, 5, NULL, BODY(HH1, CONTACT, bad_answer), WB_CHECK_DEFAULT);
    WBT_ASSERT(id != NULL);
    sig = signals_of(id);
    WBT_ASSERT_INT(cJSON_GetArraySize(cJSON_GetObjectItem(sig, "warnings")), 1);
    WBT_ASSERT_CONTAINS(cJSON_GetArrayItem(cJSON_GetObjectItem(sig, "warnings"), 0)->valuestring,
                        "not one of the question's options");
    /* Personal values are never quoted in findings. */
    WBT_ASSERT(strstr(cJSON_GetArrayItem(cJSON_GetObjectItem(sig, "warnings"), 0)->valuestring,
                      "Parking") == NULL);
    cJSON_Delete(sig);
    wb_free(id);

    /* Off: recorded, nothing checked. */
    id = record_fix(HH_LAT, HH_LNG, 5, NULL, BODY(HH2, CONTACT, bad_answer), WB_CHECK_OFF);
    sig = signals_of(id);
    WBT_ASSERT_INT(cJSON_GetArraySize(cJSON_GetObjectItem(sig, "warnings")), 0);
    cJSON_Delete(sig);
    wb_free(id);

    /* Strict chosen per campaign; a reference missing from the cache is
     * only a warning even then (the phone's copy may be stale). */
    WBT_OK(wb_campaign_settings_set(store, FX_CAMPAIGN_A, "{\"validation\":\"strict\"}"));
    WBT_ASSERT(record_fix(HH_LAT, HH_LNG, 5, NULL, BODY(HH1, CONTACT, bad_answer),
                          WB_CHECK_DEFAULT) == NULL);
    id = record_fix(HH_LAT, HH_LNG, 5, NULL, BODY(HH1, CONTACT2, NO_ANSWERS), WB_CHECK_DEFAULT);
    WBT_ASSERT(id != NULL);
    sig = signals_of(id);
    WBT_ASSERT_CONTAINS(cJSON_GetArrayItem(cJSON_GetObjectItem(sig, "warnings"), 0)->valuestring,
                        "has no household in the local cache");
    cJSON_Delete(sig);
    wb_free(id);
#undef BODY
}

/* ---- walk-list progress and next doors ------------------------------------ */

/* Progress reads each knock's outcome: in an encrypted store too. */
static void test_core_walklist__progress_encrypted(void)
{
    static const unsigned char key[WB_KEY_BYTES] = {7, 7, 7};
    wb_store_options o = WB_STORE_OPTIONS_INIT;
    const char *groups[] = {FX_GROUP};
    wb_store *enc = NULL;
    char *json = NULL;
    o.key = key;
    WBT_OK(wb_store_open(&enc, wbt_path("walklist-encrypted.db"), &o));
    WBT_OK(wb_store_set_identity(enc, FX_CUSTOMER, FX_USER, groups, 1));
    WBT_OK(wb_ref_upsert(enc, "households",
                         household_env(HH1, HH_LAT, HH_LNG, "2024-03-01T09:00:00.000Z")));
    WBT_OK(wb_walklist_add_household(enc, WL, NULL, HH1));
    WBT_OK(wb_interaction_record(NULL, enc,
                                 knock(HH1, "2023-11-14T10:00:00.000Z", ",\"successful\":true")));
    WBT_OK(wb_walklist_progress(&json, enc, WL));
    WBT_ASSERT_CONTAINS(json, "\"households\":1,\"knocked\":1,\"remaining\":0,\"successful\":1");
    wb_free(json);

    /* Addresses, cached envelopes, fixes and breadcrumbs are sealed at rest
     * and read back in clear through the API. */
    {
        wb_record_options ro = WB_RECORD_OPTIONS_INIT;
        char *id = NULL;
        int kept = 0;
        ro.has_fix = 1;
        ro.lat = 42.37371;
        ro.lng = HH_LNG;
        ro.accuracy_m = 7;
        WBT_OK(wb_interaction_record_ex(&id, enc, knock(HH1, "2023-11-14T11:00:00.000Z", NULL),
                                        &ro));
        WBT_OK(wb_track_add(&kept, enc, 42.37371, HH_LNG, 5, "2023-11-14T11:00:00.000Z", 0));
        WBT_OK(wb_interaction_signals(&json, enc, id));
        WBT_ASSERT_CONTAINS(json, "\"lat\":42.37371");
        wb_free(json);
        WBT_OK(wb_track_get(&json, enc, NULL, NULL));
        WBT_ASSERT_CONTAINS(json, "42.37371");
        wb_free(json);
        WBT_OK(wb_walklist_show(&json, enc, WL));
        WBT_ASSERT_CONTAINS(json, " Street");
        wb_free(json);
        WBT_OK(wb_ref_get(&json, enc, "households", HH1));
        WBT_ASSERT_CONTAINS(json, "Cambridge");
        wb_free(json);
        {
            static const char *const raw[] = {
                "SELECT address FROM ref_households", "SELECT envelope FROM ref_records",
                "SELECT fix FROM interaction_fixes", "SELECT point FROM breadcrumbs"};
            for (size_t i = 0; i < WB__ARRAY_SIZE(raw); i++) {
                sqlite3_stmt *st = NULL;
                WBT_ASSERT_INT(sqlite3_prepare_v2(enc->db, raw[i], -1, &st, NULL), SQLITE_OK);
                while (sqlite3_step(st) == SQLITE_ROW) {
                    const char *v = (const char *)sqlite3_column_text(st, 0);
                    if (v && (strstr(v, "Street") || strstr(v, "Cambridge") || strstr(v, "42.37")))
                        WBT_FAIL("%s: stored in clear", raw[i]);
                }
                sqlite3_finalize(st);
            }
        }
        wb_free(id);
    }
    wb_store_free(enc);
}

static void test_core_walklist__progress(void)
{
    char *json = NULL, *id = NULL;
    load_walklist();
    WBT_OK(wb_walklist_progress(&json, store, WL));
    WBT_ASSERT_CONTAINS(json, "\"households\":3,\"knocked\":0,\"remaining\":3,\"successful\":0,"
                              "\"unavailable\":0");
    wb_free(json);
    /* HH1: not home; HH2: successful after a not-home. */
    WBT_OK(wb_interaction_record(NULL, store,
                                 knock(HH1, "2023-11-14T10:00:00.000Z", ",\"successful\":false")));
    WBT_OK(wb_interaction_record(&id, store, knock(HH2, "2023-11-14T10:05:00.000Z", NULL)));
    WBT_OK(wb_interaction_update(store, id, "[{\"op\":\"replace\",\"path\":\"/unavailable\","
                                            "\"value\":true}]"));
    wb_free(id);
    WBT_OK(wb_interaction_record(NULL, store,
                                 knock(HH2, "2023-11-14T11:00:00.000Z", ",\"successful\":true")));
    WBT_OK(wb_walklist_progress(&json, store, WL));
    WBT_ASSERT_CONTAINS(json, "\"households\":3,\"knocked\":2,\"remaining\":1,\"successful\":1,"
                              "\"unavailable\":0");
    wb_free(json);
    /* An unavailable-only household counts as unavailable; a deleted knock
     * does not count at all. */
    WBT_OK(wb_interaction_record(&id, store,
                                 knock(HH3, "2023-11-14T12:00:00.000Z", NULL)));
    WBT_OK(wb_interaction_update(store, id, "[{\"op\":\"replace\",\"path\":\"/unavailable\","
                                            "\"value\":true}]"));
    WBT_OK(wb_walklist_progress(&json, store, WL));
    WBT_ASSERT_CONTAINS(json, "\"knocked\":3,\"remaining\":0,\"successful\":1,\"unavailable\":1");
    wb_free(json);
    WBT_OK(wb_interaction_delete(store, id));
    wb_free(id);
    WBT_OK(wb_walklist_progress(&json, store, WL));
    WBT_ASSERT_CONTAINS(json, "\"knocked\":2,\"remaining\":1,\"successful\":1,\"unavailable\":0");
    wb_free(json);
    WBT_FAILS(wb_walklist_progress(&json, store, WL2), WB_ENOTFOUND, "walk list");
    WBT_FAILS(wb_walklist_progress(&json, store, "nope"), WB_EINVALID, "walklist_id");
}

static uint64_t rng_state;
static double rnd(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Next doors with the index against the scan, on random households
 * (worldwide, a dense town, near a pole, across the antimeridian), some
 * knocked, for many random points and k. */
static void test_core_walklist__next_matches_brute_force(void)
{
    char csv[600000];
    size_t off;
    uint64_t n = 0;
    int queries = 0, compared = 0;

    rng_state = 20260601;
    off = (size_t)snprintf(csv, sizeof(csv), "id,lat,lng,walklistId\n");
    for (unsigned i = 0; i < 3000; i++) {
        double lat, lng;
        switch (i % 4) {
        case 0: lat = asin(2 * rnd() - 1) * 180 / 3.14159265358979; lng = 360 * rnd() - 180; break;
        case 1: lat = HH_LAT + (rnd() - 0.5) * 0.05; lng = HH_LNG + (rnd() - 0.5) * 0.05; break;
        case 2: lat = 89.0 + rnd(); lng = 360 * rnd() - 180; break;
        default: lat = -17.0 + (rnd() - 0.5); lng = rnd() < 0.5 ? 179.5 + rnd() * 0.5 : -180 + rnd() * 0.5;
        }
        off += (size_t)snprintf(csv + off, sizeof(csv) - off, "%s,%.7f,%.7f,%s\n", fx_uuid(i + 1000),
                                lat, lng, WL);
    }
    WBT_OK(wb_ref_import(&n, store, "households", csv, off));
    WBT_ASSERT_INT((int)n, 3000);
    /* Knock every 7th household (one transaction). */
    {
        static char bodies[429][1024];
        const char *ptrs[429];
        for (unsigned i = 0; i < 429; i++) {
            snprintf(bodies[i], sizeof(bodies[i]), "%s",
                     knock(fx_uuid(i * 7 + 1000), "2023-11-14T10:00:00.000Z", NULL));
            ptrs[i] = bodies[i];
        }
        WBT_OK(wb_interaction_record_batch(NULL, store, ptrs, 429));
    }
    for (int q = 0; q < 120; q++) {
        double lat, lng;
        unsigned k = 1 + (unsigned)(rnd() * (q % 3 == 0 ? 40 : 8));
        char *a = NULL, *b = NULL;
        switch (q % 4) {
        case 0: lat = asin(2 * rnd() - 1) * 180 / 3.14159265358979; lng = 360 * rnd() - 180; break;
        case 1: lat = HH_LAT + (rnd() - 0.5) * 0.06; lng = HH_LNG + (rnd() - 0.5) * 0.06; break;
        case 2: lat = 88.5 + rnd() * 1.5; lng = 360 * rnd() - 180; break;
        default: lat = -17.0 + (rnd() - 0.5); lng = rnd() < 0.5 ? 179.9 : -179.9;
        }
        WBT_OK(wb_walklist_next(&a, store, WL, lat, lng, k, 0));
        WBT_OK(wb_walklist_next(&b, store, WL, lat, lng, k, WB_NEXT_SCAN));
        if (strcmp(a, b) != 0) {
            WBT_FAIL("query %d (%.6f, %.6f, k=%u): index %.300s, scan %.300s", q, lat, lng, k, a, b);
        }
        {
            cJSON *arr = cJSON_Parse(a), *item;
            WBT_ASSERT_INT(cJSON_GetArraySize(arr), (int)k);
            /* Never a knocked household. */
            cJSON_ArrayForEach(item, arr)
            {
                unsigned idx = (unsigned)strtoul(cJSON_GetStringValue(cJSON_GetObjectItem(item, "id")) + 24, NULL, 16) - 1000;
                WBT_ASSERT(idx % 7 != 0);
            }
            cJSON_Delete(arr);
        }
        compared++;
        wb_free(a);
        wb_free(b);
        queries++;
    }
    printf("    %d queries, index and scan agree on all %d\n", queries, compared);
    /* More than are left: everything not knocked, nearest first. */
    {
        char *a = NULL;
        cJSON *arr;
        WBT_OK(wb_walklist_next(&a, store, WL, 0.0, 0.0, 1000, 0));
        arr = parse_out(a);
        WBT_ASSERT_INT(cJSON_GetArraySize(arr), 1000);
        cJSON_Delete(arr);
    }
    {
        char *a = NULL;
        WBT_FAILS(wb_walklist_next(&a, store, WL, 0.0, 0.0, 0, 0), WB_EINVALID, "k");
        WBT_FAILS(wb_walklist_next(&a, store, WL, 0.0, 200.0, 1, 0), WB_EINVALID, "near.lng");
        WBT_FAILS(wb_walklist_next(&a, store, WL2, 0.0, 0.0, 1, 0), WB_ENOTFOUND, "walk list");
    }
}

/* ---- breadcrumbs ----------------------------------------------------------- */

static void test_core_walklist__track(void)
{
    int kept = -1;
    uint64_t purged = 0;
    char *json = NULL;
    cJSON *t;
    double m1 = 0, m2 = 0;

    WBT_OK(wb_track_add(&kept, store, HH_LAT, HH_LNG, 5, "2023-11-14T10:00:00.000Z", 10));
    WBT_ASSERT_INT(kept, 1);
    /* ~3 m later: dropped. */
    WBT_OK(wb_track_add(&kept, store, HH_LAT + 0.00003, HH_LNG, 5, "2023-11-14T10:00:05.000Z", 10));
    WBT_ASSERT_INT(kept, 0);
    WBT_OK(wb_track_add(&kept, store, HH_LAT + 0.001, HH_LNG, 5, "2023-11-14T10:01:00.000Z", 10));
    WBT_ASSERT_INT(kept, 1);
    WBT_OK(wb_track_add(&kept, store, HH_LAT + 0.001, HH_LNG + 0.001, -1, "2023-11-14T10:02:00.000Z",
                        10));
    WBT_OK(wb_track_get(&json, store, NULL, NULL));
    t = parse_out(json);
    WBT_ASSERT_INT(cJSON_GetObjectItem(t, "points")->valueint, 3);
    WBT_OK(wb_geodesic_distance(&m1, HH_LAT, HH_LNG, HH_LAT + 0.001, HH_LNG));
    WBT_OK(wb_geodesic_distance(&m2, HH_LAT + 0.001, HH_LNG, HH_LAT + 0.001, HH_LNG + 0.001));
    WBT_ASSERT(fabs(cJSON_GetObjectItem(t, "metres")->valuedouble - (m1 + m2)) < 1e-6);
    cJSON_Delete(t);
    WBT_OK(wb_track_get(&json, store, "2023-11-14T10:00:30.000Z", NULL));
    WBT_ASSERT_CONTAINS(json, "\"points\":2");
    wb_free(json);
    WBT_OK(wb_track_purge(&purged, store, "2023-11-14T10:01:30.000Z"));
    WBT_ASSERT_INT((int)purged, 2);
    WBT_OK(wb_track_purge(&purged, store, NULL));
    WBT_ASSERT_INT((int)purged, 1);
    WBT_FAILS(wb_track_add(&kept, store, 95, 0, 5, NULL, 10), WB_EINVALID, "track.lat");
    WBT_FAILS(wb_track_get(&json, store, "noon", NULL), WB_EINVALID, "since");
}

static const wbt_case cases[] = {
    WBT_CASE(test_core_walklist__ref_upsert_get_list),
    WBT_CASE(test_core_walklist__import_csv),
    WBT_CASE(test_core_walklist__import_geojson),
    WBT_CASE(test_core_walklist__fix_distance),
    WBT_CASE(test_core_walklist__signals),
    WBT_CASE(test_core_walklist__validation_modes),
    WBT_CASE(test_core_walklist__progress),
    WBT_CASE(test_core_walklist__progress_encrypted),
    WBT_CASE(test_core_walklist__next_matches_brute_force),
    WBT_CASE(test_core_walklist__track),
};

WBT_MAIN(cases, setup, teardown)
