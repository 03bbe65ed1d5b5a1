/*
 * etag.c - Polis etags (see etag.h) and JavaScript-compatible compact JSON.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common.h"
#include "etag.h"
#include "json.h"
#include "sha1.h"

void wbs_etag_of_bytes(char out[WBS_ETAG_MAX], const char *bytes, size_t len)
{
    unsigned char hash[WBS_SHA1_LEN];
    char b64[sodium_base64_ENCODED_LEN(WBS_SHA1_LEN, sodium_base64_VARIANT_ORIGINAL)];
    int n;

    wbs_sha1(hash, bytes, len);
    sodium_bin2base64(b64, sizeof(b64), hash, sizeof(hash), sodium_base64_VARIANT_ORIGINAL);
    n = snprintf(out, WBS_ETAG_MAX, "%zx-", len);
    if (n < 0 || n >= WBS_ETAG_MAX - 28) {
        out[0] = '\0';
        return;
    }
    memcpy(out + n, b64, 27);
    out[n + 27] = '\0';
}

static int wbs_etag__set(cJSON *meta, const char *value)
{
    cJSON *old = wb_json__get(meta, "etag");
    cJSON *item = cJSON_CreateString(value);

    if (!item)
        return -1;
    if (old) { /* in place: member order is part of the hashed text */
        if (cJSON_ReplaceItemInObjectCaseSensitive(meta, "etag", item))
            return 0;
        cJSON_Delete(item);
        return -1;
    }
    item->string = wb__strdup("etag");
    if (!item->string) {
        cJSON_Delete(item);
        return -1;
    }
    item->next = meta->child;
    if (meta->child) {
        item->prev = meta->child->prev;
        meta->child->prev = item;
    } else {
        item->prev = item;
    }
    meta->child = item;
    return 0;
}

char *wbs_etag_stamp(cJSON *env, char *etag_out)
{
    cJSON *meta = wb_json__get(env, "meta");
    char etag[WBS_ETAG_MAX];
    char *text;

    if (!cJSON_IsObject(meta) || wbs_etag__set(meta, "") < 0)
        return NULL;
    text = wb_json__print(env);
    if (!text)
        return NULL;
    wbs_etag_of_bytes(etag, text, strlen(text));
    wb__free(text);
    if (wbs_etag__set(meta, etag) < 0)
        return NULL;
    if (etag_out)
        memcpy(etag_out, etag, strlen(etag) + 1);
    return wb_json__print(env);
}

int wbs_etag_recompute(char out[WBS_ETAG_MAX], const cJSON *env)
{
    cJSON *copy = wb_json__dup(env);
    char *text;

    if (!copy)
        return -1;
    text = wbs_etag_stamp(copy, out);
    cJSON_Delete(copy);
    if (!text)
        return -1;
    wb__free(text);
    return 0;
}
