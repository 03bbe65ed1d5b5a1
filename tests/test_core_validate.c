/* test_core_validate.c - interaction data validation (Polis shapes). */
#include <dirent.h>
#include <math.h>

#include <cjson/cJSON.h>

#include "common.h"
#include "validate.h"
#include "wbtest.h"

#define Q1 "9826940d-76a8-4700-8c92-5743ce7bb728"
#define Q2 "cd6d2a75-df61-407c-8763-8d2c407c8196"
#define R1 "survey.responses." Q1
#define R2 "survey.responses." Q2
#define P1 "data.survey.responses." Q1
#define P2 "data.survey.responses." Q2

/* The v3 create example with every optional member present and answers of
 * every kind, so that each rule can be broken by changing one member. */
static const char base_json[] =
    "{\"campaignId\":\"61fbfbaa-5de8-4d17-ac2b-c47f2376265a\","
    "\"contactId\":\"0478dbbf-b6eb-4168-afa9-5ebab6fef4b6\","
    "\"householdId\":\"c15e3515-aabf-42da-8d1b-31679f738eae\","
    "\"contactHouseholdId\":\"d070b1dc-9611-4f29-9300-a32160d21baa\","
    "\"listId\":\"dc8b5229-ef66-41cc-b774-4a8e6a39c60b\","
    "\"timestamp\":\"2018-07-17T18:40:53.526Z\","
    "\"unavailable\":true,\"unavailableReason\":\"Come Back\",\"successful\":false,"
    "\"distance\":936.2361,"
    "\"walklistId\":\"237d47ad-d882-4abb-862c-19878f8423c7\","
    "\"statusId\":\"6430c7c8-364c-4fa5-b145-9dbaa2795f7d\","
    "\"turfId\":\"789bb27d-101d-4021-ba8d-06b02eaf736f\","
    "\"location\":{\"lat\":33.43174362182617,\"lng\":-84.18405151367188,\"confidence\":0},"
    "\"survey\":{\"surveyId\":\"375d437b-3b47-4940-b43d-be8daec4afff\",\"responses\":{"
    "\"" Q1 "\":{\"fields\":{\"available\":\"false\"},\"questionId\":\"" Q1 "\"},"
    "\"" Q2 "\":{\"fields\":{\"buypet\":[\"Horse\",\"Snake\"],\"catlikeness\":4,"
    "\"ok\":true,\"mothername\":\"\"},\"questionId\":\"" Q2 "\"}}}}";

static void setup(void)
{
    /* Points cJSON at the counting allocator, as the library does. */
    if (wb__global_init() != 0)
        abort();
}

/* Follow a dotted path of member names from root ("" is root itself). */
static cJSON *walk(cJSON *root, const char *path)
{
    char buf[256];
    char *p = buf, *dot;
    cJSON *cur = root;
    if (!*path)
        return root;
    snprintf(buf, sizeof(buf), "%s", path);
    for (;;) {
        dot = strchr(p, '.');
        if (dot)
            *dot = '\0';
        cur = cJSON_GetObjectItemCaseSensitive(cur, p);
        if (!cur || !dot)
            return cur;
        p = dot + 1;
    }
}

/* "INF", "-INF" and "NAN" stand for numbers JSON text cannot carry. */
static cJSON *make_value(const char *text)
{
    if (strcmp(text, "INF") == 0)
        return cJSON_CreateNumber(HUGE_VAL);
    if (strcmp(text, "-INF") == 0)
        return cJSON_CreateNumber(-HUGE_VAL);
    if (strcmp(text, "NAN") == 0)
        return cJSON_CreateNumber((double)NAN);
    return cJSON_Parse(text);
}

/* Validate the base document with member `name` of the object at `parent`
 * set to `value` (JSON text), or removed when value is NULL. Returns the
 * validator's result, or 999 when the test itself is wrong. The error
 * message survives the tree. */
static int mutated(const char *parent, const char *name, const char *value)
{
    cJSON *root = cJSON_Parse(base_json), *obj;
    long live;
    int rc = 999;
    if (!root)
        return 999;
    obj = walk(root, parent);
    if (!cJSON_IsObject(obj))
        goto cleanup;
    if (value) {
        cJSON *v = make_value(value);
        if (!v)
            goto cleanup;
        if (cJSON_GetObjectItemCaseSensitive(obj, name))
            cJSON_ReplaceItemInObjectCaseSensitive(obj, name, v);
        else
            cJSON_AddItemToObject(obj, name, v);
    } else {
        if (!cJSON_GetObjectItemCaseSensitive(obj, name))
            goto cleanup;
        cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
    }
    wb_error_clear();
    live = wb__alloc_live();
    rc = wb_validate__interaction(root);
    /* Validation reads only: it must never allocate. */
    if (wb__alloc_live() != live)
        rc = 998;
cleanup:
    cJSON_Delete(root);
    return rc;
}

static void test_core_validate__base_is_valid(void)
{
    cJSON *root = cJSON_Parse(base_json);
    int rc;
    WBT_ASSERT(root != NULL);
    wb_error_clear();
    rc = wb_validate__interaction(root);
    cJSON_Delete(root);
    WBT_OK(rc);
}

/* ---- conformance examples ------------------------------------------------ */

enum example_kind { EX_CREATE, EX_ENVELOPE, EX_LIST, EX_PATCH };

static const struct {
    const char *file;
    int kind;
} examples[] = {
    {"interaction-v1-create-request.json", EX_CREATE},
    {"interaction-v1-create-response.json", EX_ENVELOPE},
    {"interaction-v1-hist20180718-create-request.json", EX_CREATE},
    {"interaction-v1-hist20180718-latest-by-canvasser-response.json", EX_LIST},
    {"interaction-v1-hist20180718-object.json", EX_ENVELOPE},
    {"interaction-v1-hist20180719-latest-by-canvasser-response.json", EX_LIST},
    {"interaction-v1-hist20180807-create-request.json", EX_CREATE},
    {"interaction-v1-object.json", EX_ENVELOPE},
    {"interaction-v1-update-request.json", EX_PATCH},
    {"interaction-v3-create-request.json", EX_CREATE},
    {"interaction-v3-hist20190528-update-request.json", EX_PATCH},
    {"interaction-v3-list-response.json", EX_LIST},
    {"interaction-v3-object.json", EX_ENVELOPE},
    {"interaction-v3-update-request.json", EX_PATCH},
    {"interaction-v3-update-response.json", EX_ENVELOPE},
};

static cJSON *load_example(const char *file)
{
    char path[1024];
    char *text;
    cJSON *doc;
    snprintf(path, sizeof(path), "%s/polis/%s", wbt_testdata(), file);
    text = wbt_read_file(path, NULL);
    if (!text)
        return NULL;
    doc = cJSON_Parse(text);
    free(text);
    return doc;
}

/* Returns the number of data objects validated, or -1 (message printed). */
static int check_example(const char *file, int kind)
{
    cJSON *doc = load_example(file);
    const cJSON *data, *el;
    int n = 0;
    const wb_error *e;

    if (!doc) {
        fprintf(stderr, "    cannot read or parse %s\n", file);
        return -1;
    }
    wb_error_clear();
    switch (kind) {
    case EX_CREATE:
        data = wb_validate__create_data(doc);
        if (!data || wb_validate__interaction(data) != 0)
            goto invalid;
        n = 1;
        break;
    case EX_ENVELOPE:
        if (wb_validate__interaction(cJSON_GetObjectItemCaseSensitive(doc, "data")) != 0)
            goto invalid;
        n = 1;
        break;
    case EX_LIST:
        cJSON_ArrayForEach(el, cJSON_GetObjectItemCaseSensitive(doc, "data"))
        {
            if (wb_validate__interaction(cJSON_GetObjectItemCaseSensitive(el, "data")) != 0)
                goto invalid;
            n++;
        }
        break;
    default:
        break;
    }
    cJSON_Delete(doc);
    return n;

invalid:
    e = wb_error_last();
    fprintf(stderr, "    %s: %s\n", file, e ? e->message : "no message");
    cJSON_Delete(doc);
    return -1;
}

static void test_core_validate__examples_valid(void)
{
    int total = 0;
    for (size_t i = 0; i < WB__ARRAY_SIZE(examples); i++) {
        int n = check_example(examples[i].file, examples[i].kind);
        if (n < 0)
            WBT_FAIL("example %s refused", examples[i].file);
        if (examples[i].kind != EX_PATCH && n == 0)
            WBT_FAIL("example %s held no data object", examples[i].file);
        total += n;
    }
    /* 4 create bodies, 5 envelopes, 3 lists of 2. */
    WBT_ASSERT_INT(total, 15);
}

/* Every interaction example on disk is in the table above, so a new one
 * cannot be skipped silently. */
static void test_core_validate__examples_all_listed(void)
{
    char dir[1024];
    DIR *d;
    struct dirent *ent;
    int found = 0, missing = 0;
    snprintf(dir, sizeof(dir), "%s/polis", wbt_testdata());
    d = opendir(dir);
    WBT_ASSERT(d != NULL);
    while ((ent = readdir(d)) != NULL) {
        size_t i, len = strlen(ent->d_name);
        if (strncmp(ent->d_name, "interaction-", 12) != 0 || len < 5 ||
            strcmp(ent->d_name + len - 5, ".json") != 0)
            continue;
        found++;
        for (i = 0; i < WB__ARRAY_SIZE(examples); i++)
            if (strcmp(examples[i].file, ent->d_name) == 0)
                break;
        if (i == WB__ARRAY_SIZE(examples)) {
            fprintf(stderr, "    not in the table: %s\n", ent->d_name);
            missing++;
        }
    }
    closedir(d);
    WBT_ASSERT_INT(missing, 0);
    WBT_ASSERT_INT(found, (int)WB__ARRAY_SIZE(examples));
}

/* ---- one failure per rule ------------------------------------------------ */

static const struct {
    const char *parent, *name, *value, *expect;
} rejects[] = {
    /* required members */
    {"", "campaignId", NULL, "data.campaignId: required"},
    {"", "contactId", NULL, "data.contactId: required"},
    {"", "timestamp", NULL, "data.timestamp: required"},
    {"", "survey", NULL, "data.survey: required"},
    {"", "unavailable", NULL, "data.unavailable: required"},
    {"survey", "surveyId", NULL, "data.survey.surveyId: required"},
    {R1, "questionId", NULL, P1 ".questionId: required"},
    {R1, "fields", NULL, P1 ".fields: required"},
    /* unknown members, at every level */
    {"", "colour", "\"red\"", "data.colour: unknown member"},
    {"", "id", "\"d545b1e1-8f97-4ae4-a164-1b4a4a87bc07\"", "data.id: unknown member"},
    {"", "campaignID", "\"d545b1e1-8f97-4ae4-a164-1b4a4a87bc07\"",
     "data.campaignID: unknown member"},
    {"location", "alt", "12", "data.location.alt: unknown member"},
    {"survey", "name", "\"x\"", "data.survey.name: unknown member"},
    {R1, "answer", "\"x\"", P1 ".answer: unknown member"},
    /* ids */
    {"", "campaignId", "\"not-a-uuid\"", "data.campaignId: must be a UUID"},
    {"", "contactId", "\"a930ds08-8f97-4ae4-a164-1b4a4a87bc07\"",
     "data.contactId: must be a UUID"},
    {"", "householdId", "42", "data.householdId: must be a UUID"},
    {"", "contactHouseholdId", "null", "data.contactHouseholdId: must be a UUID"},
    {"", "listId", "\"\"", "data.listId: must be a UUID"},
    {"", "walklistId", "\"237d47ad-d882-4abb-862c-19878f8423c\"",
     "data.walklistId: must be a UUID"},
    {"", "statusId", "{}", "data.statusId: must be a UUID"},
    {"", "turfId", "[\"789bb27d-101d-4021-ba8d-06b02eaf736f\"]", "data.turfId: must be a UUID"},
    {"survey", "surveyId", "\"375d437b3b474940b43dbe8daec4afff\"",
     "data.survey.surveyId: must be a UUID"},
    {R1, "questionId", "7", P1 ".questionId: must be a UUID"},
    /* timestamp */
    {"", "timestamp", "\"2019-02-30T00:00:00.000Z\"",
     "data.timestamp: not a real calendar date (2019-02-30T00:00:00.000Z)"},
    {"", "timestamp", "\"2019-02-29T00:00:00.000Z\"",
     "data.timestamp: not a real calendar date (2019-02-29T00:00:00.000Z)"},
    {"", "timestamp", "\"2019-13-01T00:00:00.000Z\"", "data.timestamp: not a real calendar date"},
    {"", "timestamp", "\"2019-02-03T24:00:00.000Z\"", "data.timestamp: not a real time of day"},
    {"", "timestamp", "\"2019-02-03\"", "data.timestamp: must be YYYY-MM-DDTHH:MM:SS.mmmZ"},
    {"", "timestamp", "\"2018-07-17T18:40:53.526+00:00\"",
     "data.timestamp: must be YYYY-MM-DDTHH:MM:SS.mmmZ"},
    {"", "timestamp", "1531852853526", "data.timestamp: must be YYYY-MM-DDTHH:MM:SS.mmmZ"},
    {"", "timestamp", "null", "data.timestamp: must be YYYY-MM-DDTHH:MM:SS.mmmZ"},
    /* booleans */
    {"", "unavailable", "\"false\"", "data.unavailable: must be a boolean"},
    {"", "unavailable", "0", "data.unavailable: must be a boolean"},
    {"", "successful", "null", "data.successful: must be a boolean"},
    {"", "successful", "\"true\"", "data.successful: must be a boolean"},
    /* unavailableReason */
    {"", "unavailableReason", "5", "data.unavailableReason: must be a string or null"},
    {"", "unavailableReason", "[\"Come Back\"]",
     "data.unavailableReason: must be a string or null"},
    /* distance */
    {"", "distance", "-0.5", "data.distance: must be >= 0"},
    {"", "distance", "\"9.97\"", "data.distance: must be a number"},
    {"", "distance", "null", "data.distance: must be a number"},
    {"", "distance", "INF", "data.distance: must be a finite number"},
    {"", "distance", "NAN", "data.distance: must be a finite number"},
    /* location */
    {"", "location", "[33.4,-84.1]", "data.location: must be an object"},
    {"", "location", "null", "data.location: must be an object"},
    {"location", "lat", "91", "data.location.lat: must be between -90 and 90"},
    {"location", "lat", "-90.000001", "data.location.lat: must be between -90 and 90"},
    {"location", "lat", "\"33.4\"", "data.location.lat: must be a number"},
    {"location", "lat", "null", "data.location.lat: must be a number"},
    {"location", "lat", "NAN", "data.location.lat: must be a finite number"},
    {"location", "lng", "180.5", "data.location.lng: must be between -180 and 180"},
    {"location", "lng", "-181", "data.location.lng: must be between -180 and 180"},
    {"location", "lng", "-INF", "data.location.lng: must be a finite number"},
    {"location", "confidence", "-1", "data.location.confidence: must be >= 0"},
    {"location", "confidence", "true", "data.location.confidence: must be a number"},
    {"location", "confidence", "INF", "data.location.confidence: must be a finite number"},
    /* survey */
    {"", "survey", "\"375d437b-3b47-4940-b43d-be8daec4afff\"", "data.survey: must be an object"},
    {"", "survey", "null", "data.survey: must be an object"},
    {"survey", "responses", "[]", "data.survey.responses: must be an object"},
    {"survey", "responses", "null", "data.survey.responses: must be an object"},
    {"survey.responses", Q1, "\"false\"", P1 ": must be an object"},
    {"survey.responses", Q1, "null", P1 ": must be an object"},
    {R1, "questionId", "\"" Q2 "\"", P1 ".questionId: must equal its key"},
    {R1, "questionId", "\"9826940D-76A8-4700-8C92-5743CE7BB728\"",
     P1 ".questionId: must equal its key"},
    {R1, "fields", "[]", P1 ".fields: must be an object"},
    {R1, "fields", "null", P1 ".fields: must be an object"},
    {R1 ".fields", "x", "{}",
     P1 ".fields.x: must be a string, number, boolean or an array of those"},
    {R1 ".fields", "x", "null",
     P1 ".fields.x: must be a string, number, boolean or an array of those"},
    {R1 ".fields", "x", "[[\"Horse\"]]",
     P1 ".fields.x: must be a string, number, boolean or an array of those"},
    {R1 ".fields", "x", "[\"Horse\",{}]",
     P1 ".fields.x: must be a string, number, boolean or an array of those"},
    {R1 ".fields", "x", "[null]",
     P1 ".fields.x: must be a string, number, boolean or an array of those"},
    {R1 ".fields", "x", "INF",
     P1 ".fields.x: must be a string, number, boolean or an array of those"},
    {R2 ".fields", "available", "NAN",
     P2 ".fields.available: must be a string, number, boolean or an array of those"},
};

static void test_core_validate__rejects_each_rule(void)
{
    for (size_t i = 0; i < WB__ARRAY_SIZE(rejects); i++) {
        int rc = mutated(rejects[i].parent, rejects[i].name, rejects[i].value);
        const wb_error *e = wb_error_last();
        if (rc != WB_EINVALID)
            WBT_FAIL("case %zu (%s.%s = %s): returned %d (%s)", i, rejects[i].parent,
                     rejects[i].name, rejects[i].value ? rejects[i].value : "(removed)", rc,
                     e ? e->message : "no message");
        if (!e || !strstr(e->message, rejects[i].expect))
            WBT_FAIL("case %zu: message \"%s\" lacks \"%s\"", i, e ? e->message : "(none)",
                     rejects[i].expect);
        WBT_ASSERT_INT(e->code, WB_EINVALID);
        WBT_ASSERT_INT(e->klass, WB_ERRCLASS_INVALID);
        /* The message starts with the path: nothing in front of it. */
        WBT_ASSERT(strncmp(e->message, "data", 4) == 0);
    }
}

/* Values the rules allow, at their edges. */
static const struct {
    const char *parent, *name, *value;
} accepts[] = {
    {"", "unavailableReason", "null"},
    {"", "unavailableReason", "\"\""},
    {"", "unavailableReason", NULL},
    {"", "successful", "true"},
    {"", "successful", NULL},
    {"", "householdId", NULL},
    {"", "contactHouseholdId", NULL},
    {"", "listId", NULL},
    {"", "walklistId", NULL},
    {"", "statusId", NULL},
    {"", "turfId", NULL},
    {"", "campaignId", "\"61FBFBAA-5DE8-4D17-AC2B-C47F2376265A\""},
    {"", "contactId", "\"6ba7b810-9dad-11d1-80b4-00c04fd430c8\""}, /* v1 UUID */
    {"", "timestamp", "\"2000-02-29T23:59:59.999Z\""},
    {"", "timestamp", "\"1969-12-31T23:59:59.999Z\""},
    {"", "distance", "0"},
    {"", "distance", "-0"},
    {"", "distance", "1e300"},
    {"", "distance", NULL},
    {"", "location", NULL},
    {"", "location", "{}"},
    {"location", "lat", "90"},
    {"location", "lat", "-90"},
    {"location", "lng", "180"},
    {"location", "lng", "-180"},
    {"location", "confidence", "0"},
    {"location", "confidence", "25.5"},
    {"survey", "responses", NULL},
    {"survey", "responses", "{}"},
    {R1, "fields", "{}"},
    {R1 ".fields", "x", "\"\""},
    {R1 ".fields", "x", "-3.5"},
    {R1 ".fields", "x", "false"},
    {R1 ".fields", "x", "[]"},
    {R1 ".fields", "x", "[\"a\",1,true]"},
};

static void test_core_validate__accepts_edges(void)
{
    for (size_t i = 0; i < WB__ARRAY_SIZE(accepts); i++) {
        int rc = mutated(accepts[i].parent, accepts[i].name, accepts[i].value);
        const wb_error *e = wb_error_last();
        if (rc != 0)
            WBT_FAIL("case %zu (%s.%s = %s): returned %d (%s)", i, accepts[i].parent,
                     accepts[i].name, accepts[i].value ? accepts[i].value : "(removed)", rc,
                     e ? e->message : "no message");
    }
}

/* Answers, free text and positions never appear in messages. */
static void test_core_validate__no_personal_values(void)
{
    static const struct {
        const char *parent, *name, *value, *secret;
    } cases[] = {
        {R1 ".fields", "mothername", "{\"name\":\"Jane Doe\"}", "Jane"},
        {R1 ".fields", "mothername", "[\"Jane Doe\",null]", "Jane"},
        {"", "unavailableReason", "{\"why\":\"Dog bit me\"}", "Dog"},
        {"", "unavailableReason", "31415926", "31415"},
        {"location", "lat", "91.123456", "91.12"},
        {"location", "lng", "-200.98765", "200.98"},
        {"location", "lat", "\"Elm Street 4\"", "Elm"},
        {"", "distance", "-2.71828", "2.718"},
        {"", "contactId", "\"Jane Doe\"", "Jane"},
        {"", "timestamp", "\"Jane Doe at noon\"", "Jane"},
    };
    for (size_t i = 0; i < WB__ARRAY_SIZE(cases); i++) {
        const wb_error *e;
        WBT_ASSERT_INT(mutated(cases[i].parent, cases[i].name, cases[i].value), WB_EINVALID);
        e = wb_error_last();
        WBT_ASSERT(e != NULL);
        if (strstr(e->message, cases[i].secret))
            WBT_FAIL("case %zu leaks a value: %s", i, e->message);
    }
}

/* Duplicate members built in code (the strict parser refuses them in text)
 * cannot smuggle a second, unchecked copy. */
static void test_core_validate__duplicate_member(void)
{
    cJSON *root = cJSON_Parse(base_json);
    cJSON *loc;
    int rc;
    WBT_ASSERT(root != NULL);
    cJSON_AddItemToObject(root, "campaignId", cJSON_CreateString("not a uuid"));
    wb_error_clear();
    rc = wb_validate__interaction(root);
    cJSON_Delete(root);
    WBT_FAILS(rc, WB_EINVALID, "data.campaignId: duplicate member");

    root = cJSON_Parse(base_json);
    WBT_ASSERT(root != NULL);
    loc = cJSON_GetObjectItemCaseSensitive(root, "location");
    cJSON_AddItemToObject(loc, "lat", cJSON_CreateNumber(500));
    rc = wb_validate__interaction(root);
    cJSON_Delete(root);
    WBT_FAILS(rc, WB_EINVALID, "data.location.lat: duplicate member");
}

static void test_core_validate__data_not_object(void)
{
    cJSON *arr = cJSON_Parse("[1]");
    int rc;
    WBT_FAILS(wb_validate__interaction(NULL), WB_EINVALID, "data: must be a JSON object");
    rc = wb_validate__interaction(arr);
    cJSON_Delete(arr);
    WBT_FAILS(rc, WB_EINVALID, "data: must be a JSON object");
}

/* Odd member names are shortened and made printable: the message stays one
 * short line. */
static void test_core_validate__odd_names_shown_safely(void)
{
    char name[300];
    const wb_error *e;
    memset(name, 'k', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    name[3] = '\n';
    name[5] = '\x01';
    name[7] = (char)0xc3;
    WBT_ASSERT_INT(mutated("", name, "1"), WB_EINVALID);
    e = wb_error_last();
    WBT_ASSERT(e != NULL);
    WBT_ASSERT_CONTAINS(e->message, "data.kkk?k?k?kk");
    WBT_ASSERT_CONTAINS(e->message, "...: unknown member");
    WBT_ASSERT(strchr(e->message, '\n') == NULL);
    WBT_ASSERT(strlen(e->message) < 100);

    WBT_ASSERT_INT(mutated(R1 ".fields", "", "{}"), WB_EINVALID);
    WBT_ASSERT_CONTAINS(wb_error_last()->message, P1 ".fields.: must be");

    /* A response key that is not a UUID: questionId may not copy it. */
    WBT_ASSERT_INT(mutated("survey.responses", "q1", "{\"questionId\":\"q1\",\"fields\":{}}"),
                   WB_EINVALID);
    WBT_ASSERT_CONTAINS(wb_error_last()->message,
                        "data.survey.responses.q1.questionId: must be a UUID");
}

/* ---- create bodies ------------------------------------------------------- */

static void test_core_validate__create_flat(void)
{
    cJSON *body = cJSON_Parse(base_json);
    const cJSON *data;
    WBT_ASSERT(body != NULL);
    data = wb_validate__create_data(body);
    WBT_ASSERT(data == body);
    WBT_ASSERT_INT(wb_validate__interaction(data), 0);
    cJSON_Delete(body);
}

static void test_core_validate__create_wrapped(void)
{
    char text[4096];
    cJSON *body;
    const cJSON *data;
    int rc;

    snprintf(text, sizeof(text), "{\"data\":%s}", base_json);
    body = cJSON_Parse(text);
    WBT_ASSERT(body != NULL);
    data = wb_validate__create_data(body);
    rc = data == cJSON_GetObjectItemCaseSensitive(body, "data") ? wb_validate__interaction(data)
                                                                 : 999;
    cJSON_Delete(body);
    WBT_OK(rc);
}

/* Parse text, run create_data and return 1 if it refused the body (its
 * message is then the last error), 0 if it returned the body itself, 2 if
 * it returned the "data" member. */
static int create_outcome(const char *text)
{
    cJSON *body = cJSON_Parse(text);
    const cJSON *data;
    int outcome;
    if (!body)
        return 999;
    wb_error_clear();
    data = wb_validate__create_data(body);
    outcome = !data ? 1 : data == body ? 0 : 2;
    cJSON_Delete(body);
    return outcome;
}

static void test_core_validate__create_wrapped_extra_member(void)
{
    char text[4096];
    /* No other top-level member is allowed beside "data", before or after. */
    snprintf(text, sizeof(text), "{\"data\":%s,\"params\":{}}", base_json);
    WBT_ASSERT_INT(create_outcome(text), 1);
    WBT_ASSERT_STR(wb_error_last()->message, "body.params: unknown member");
    WBT_ASSERT_INT(wb_error_last()->code, WB_EINVALID);
    WBT_ASSERT_INT(wb_error_last()->klass, WB_ERRCLASS_INVALID);

    snprintf(text, sizeof(text), "{\"meta\":{},\"data\":%s}", base_json);
    WBT_ASSERT_INT(create_outcome(text), 1);
    WBT_ASSERT_STR(wb_error_last()->message, "body.meta: unknown member");

    snprintf(text, sizeof(text), "{\"data\":%s,\"data\":{}}", base_json);
    WBT_ASSERT_INT(create_outcome(text), 1);
    WBT_ASSERT_STR(wb_error_last()->message, "body.data: duplicate member");
}

/* A body with campaignId at the top is flat even if it has a "data" object;
 * a "data" that is not an object does not make a wrapped body. Validation
 * of the flat body then names the stray member. */
static void test_core_validate__create_flat_with_data_member(void)
{
    static const char *texts[] = {
        "{\"campaignId\":\"61fbfbaa-5de8-4d17-ac2b-c47f2376265a\",\"data\":{}}",
        "{\"data\":[]}",
        "{\"data\":null}",
        "{}",
    };
    static const char *expect[] = {
        "data.data: unknown member",
        "data.data: unknown member",
        "data.data: unknown member",
        "data.campaignId: required",
    };
    for (size_t i = 0; i < WB__ARRAY_SIZE(texts); i++) {
        cJSON *body = cJSON_Parse(texts[i]);
        const cJSON *data;
        int rc;
        WBT_ASSERT(body != NULL);
        data = wb_validate__create_data(body);
        rc = data == body ? wb_validate__interaction(data) : 999;
        cJSON_Delete(body);
        WBT_FAILS(rc, WB_EINVALID, expect[i]);
    }
}

static void test_core_validate__create_not_object(void)
{
    static const char *texts[] = {"[]", "\"data\"", "42", "null", "true"};
    for (size_t i = 0; i < WB__ARRAY_SIZE(texts); i++) {
        WBT_ASSERT_INT(create_outcome(texts[i]), 1);
        WBT_ASSERT_STR(wb_error_last()->message, "body: must be a JSON object");
        WBT_ASSERT_INT(wb_error_last()->code, WB_EINVALID);
    }
    wb_error_clear();
    WBT_ASSERT(wb_validate__create_data(NULL) == NULL);
    WBT_ASSERT_STR(wb_error_last()->message, "body: must be a JSON object");
}

static const wbt_case cases[] = {
    WBT_CASE(test_core_validate__base_is_valid),
    WBT_CASE(test_core_validate__examples_valid),
    WBT_CASE(test_core_validate__examples_all_listed),
    WBT_CASE(test_core_validate__rejects_each_rule),
    WBT_CASE(test_core_validate__accepts_edges),
    WBT_CASE(test_core_validate__no_personal_values),
    WBT_CASE(test_core_validate__duplicate_member),
    WBT_CASE(test_core_validate__data_not_object),
    WBT_CASE(test_core_validate__odd_names_shown_safely),
    WBT_CASE(test_core_validate__create_flat),
    WBT_CASE(test_core_validate__create_wrapped),
    WBT_CASE(test_core_validate__create_wrapped_extra_member),
    WBT_CASE(test_core_validate__create_flat_with_data_member),
    WBT_CASE(test_core_validate__create_not_object),
};

WBT_MAIN(cases, setup, NULL)
