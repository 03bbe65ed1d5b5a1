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

int wbs_etag_text_print(wbs_etag_text *t, cJSON *env)
{
    cJSON *meta = wb_json__get(env, "meta"), *etag;
    const cJSON *c;

    memset(t, 0, sizeof(*t));
    if (!cJSON_IsObject(meta) || wbs_etag__set(meta, "") < 0)
        return -1;
    etag = wb_json__get(meta, "etag");
    /* wb_json__print_buf member by member, as it prints a whole object,
     * to note where meta's etag and times fall. */
    wb_buf__putc(&t->b, '{');
    for (c = env->child; c; c = c->next) {
        if (c != env->child)
            wb_buf__putc(&t->b, ',');
        wb_buf__put_json_string(&t->b, c->string ? c->string : "");
        wb_buf__putc(&t->b, ':');
        if (c != meta) {
            wb_json__print_buf(&t->b, c);
            continue;
        }
        wb_buf__putc(&t->b, '{');
        for (const cJSON *m = meta->child; m; m = m->next) {
            const char *name = m->string ? m->string : "";
            size_t at;
            if (m != meta->child)
                wb_buf__putc(&t->b, ',');
            wb_buf__put_json_string(&t->b, name);
            wb_buf__putc(&t->b, ':');
            at = t->b.len;
            wb_json__print_buf(&t->b, m);
            if (m == etag)
                t->etag_at = at;
            /* A time is replaceable where it prints as 24 plain bytes. */
            else if (cJSON_IsString(m) && t->b.len - at == 26 && !strcmp(name, "modified"))
                t->modified_at = t->modified_at ? t->modified_at : at + 1;
            else if (cJSON_IsString(m) && t->b.len - at == 26 && !strcmp(name, "created"))
                t->created_at = t->created_at ? t->created_at : at + 1;
        }
        wb_buf__putc(&t->b, '}');
    }
    wb_buf__putc(&t->b, '}');
    if (t->b.oom) {
        wb_buf__free(&t->b);
        return -1;
    }
    return 0;
}

char *wbs_etag_text_finish(wbs_etag_text *t, const char *modified, const char *created,
                           char *etag_out)
{
    char etag[WBS_ETAG_MAX], *out;
    size_t n, tail;

    if ((modified && (!t->modified_at || strlen(modified) != 24)) ||
        (created && (!t->created_at || strlen(created) != 24)))
        return NULL;
    if (modified)
        memcpy(t->b.ptr + t->modified_at, modified, 24);
    if (created)
        memcpy(t->b.ptr + t->created_at, created, 24);
    wbs_etag_of_bytes(etag, t->b.ptr, t->b.len);
    /* The text with "" at etag_at becomes the text with "<etag>" there:
     * the same bytes a print of the stamped envelope gives. */
    n = strlen(etag);
    tail = t->b.len - t->etag_at - 1; /* from the closing quote on */
    if (!(out = wb__malloc(t->b.len + n + 1)))
        return NULL;
    memcpy(out, t->b.ptr, t->etag_at + 1);
    memcpy(out + t->etag_at + 1, etag, n);
    memcpy(out + t->etag_at + 1 + n, t->b.ptr + t->etag_at + 1, tail);
    out[t->b.len + n] = '\0';
    if (etag_out)
        memcpy(etag_out, etag, n + 1);
    return out;
}

void wbs_etag_text_free(wbs_etag_text *t)
{
    wb_buf__free(&t->b);
}

char *wbs_etag_stamp(cJSON *env, char *etag_out)
{
    wbs_etag_text t;
    char etag[WBS_ETAG_MAX];
    char *text;

    /* One print: the text with an empty etag is hashed, then the etag is
     * copied into it (a second print would give the same bytes). */
    if (wbs_etag_text_print(&t, env) < 0)
        return NULL;
    text = wbs_etag_text_finish(&t, NULL, NULL, etag);
    wbs_etag_text_free(&t);
    if (!text || wbs_etag__set(wb_json__get(env, "meta"), etag) < 0) {
        wb__free(text);
        return NULL;
    }
    if (etag_out)
        memcpy(etag_out, etag, strlen(etag) + 1);
    return text;
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
