/* fixtures.c - see fixtures.h. */
#include "fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wbtest.h"

const wb_store_options *fx_store_options(void)
{
    static const unsigned char key[WB_KEY_BYTES] = "fixture-key-for-encrypted-suite";
    static wb_store_options o = WB_STORE_OPTIONS_INIT;
    const char *e = getenv("WB_TEST_ENCRYPT");
    if (!e || strcmp(e, "1") != 0)
        return NULL;
    o.key = key;
    o.encryption = WB_ENCRYPTION_REQUIRED;
    return &o;
}

wb_store *fx_store(const char *name)
{
    wb_store *store = NULL;
    const char *path = wbt_path(name);
    const char *groups[] = {FX_GROUP};
    char side[1100];
    unlink(path);
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
    if (wb_store_open(&store, path, fx_store_options()) != 0) {
        fprintf(stderr, "fx_store: %s\n", wb_error_last()->message);
        return NULL;
    }
    if (wb_store_set_identity(store, FX_CUSTOMER, FX_USER, groups, 1) != 0) {
        fprintf(stderr, "fx_store: %s\n", wb_error_last()->message);
        wb_store_free(store);
        return NULL;
    }
    return store;
}

const char *fx_body(const char *campaign, const char *contact, const char *timestamp)
{
    static char bufs[8][2048];
    static int slot;
    char *b = bufs[slot++ % 8];
    snprintf(b, sizeof(bufs[0]),
             "{\"campaignId\":\"%s\",\"contactId\":\"%s\","
             "\"householdId\":\"c15e3515-aabf-42da-8d1b-31679f738eae\","
             "\"contactHouseholdId\":\"d070b1dc-9611-4f29-9300-a32160d21baa\","
             "\"timestamp\":\"%s\",\"unavailable\":false,\"successful\":true,"
             "\"survey\":{\"surveyId\":\"375d437b-3b47-4940-b43d-be8daec4afff\",\"responses\":{"
             "\"9826940d-76a8-4700-8c92-5743ce7bb728\":{\"questionId\":"
             "\"9826940d-76a8-4700-8c92-5743ce7bb728\",\"fields\":{\"available\":\"true\"}}}},"
             "\"location\":{\"lat\":33.43174362182617,\"lng\":-84.18405151367188,\"confidence\":5}}",
             campaign ? campaign : FX_CAMPAIGN_A,
             contact ? contact : "0478dbbf-b6eb-4168-afa9-5ebab6fef4b6",
             timestamp ? timestamp : "2018-07-17T18:40:53.526Z");
    return b;
}

char *fx_polis(const char *file)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/polis/%s", wbt_testdata(), file);
    return wbt_read_file(path, NULL);
}

const char *fx_uuid(unsigned i)
{
    static char bufs[8][37];
    static int slot;
    char *b = bufs[slot++ % 8];
    snprintf(b, 37, "%08x-0000-4000-8000-%012x", i * 2654435761u, i);
    return b;
}
