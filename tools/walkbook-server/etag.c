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

/* Shortest decimal digits of d (no sign, no trailing zeros) and the
 * exponent n such that d = 0.DIGITS * 10^n, as ECMAScript Number#toString
 * defines them (§7.1.12.1). */
static size_t wbs_json__digits(char digits[24], int *n, double d)
{
    char tmp[48];
    int p, exp10 = 0;
    size_t k = 0;
    const char *s;

    for (p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof(tmp), "%.*e", p - 1, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    /* tmp is "D[<point>DDD]e±XX"; the point depends on the locale, so it
     * is skipped by position rather than by value. */
    s = tmp;
    digits[k++] = *s++;
    if (*s != 'e')
        s++;
    while (*s >= '0' && *s <= '9' && k < 20)
        digits[k++] = *s++;
    if (*s == 'e')
        exp10 = atoi(s + 1);
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = '\0';
    *n = exp10 + 1;
    return k;
}

void wbs_json_number(char out[32], double d)
{
    char digits[24];
    size_t k, o = 0;
    int n, i;

    if (!isfinite(d)) {
        strcpy(out, "null");
        return;
    }
    if (d == 0) {
        strcpy(out, "0"); /* -0 too, as in JavaScript */
        return;
    }
    if (d < 0) {
        out[o++] = '-';
        d = -d;
    }
    k = wbs_json__digits(digits, &n, d);
    if ((int)k <= n && n <= 21) {
        memcpy(out + o, digits, k);
        o += k;
        for (i = (int)k; i < n; i++)
            out[o++] = '0';
    } else if (0 < n && n <= 21) {
        memcpy(out + o, digits, (size_t)n);
        o += (size_t)n;
        out[o++] = '.';
        memcpy(out + o, digits + n, k - (size_t)n);
        o += k - (size_t)n;
    } else if (-6 < n && n <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (i = 0; i < -n; i++)
            out[o++] = '0';
        memcpy(out + o, digits, k);
        o += k;
    } else {
        out[o++] = digits[0];
        if (k > 1) {
            out[o++] = '.';
            memcpy(out + o, digits + 1, k - 1);
            o += k - 1;
        }
        o += (size_t)snprintf(out + o, 32 - o, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
    }
    out[o] = '\0';
}

/* Turn every number of a private copy into a raw literal holding its
 * JavaScript text; the core printer copies raw literals verbatim. */
static int wbs_json__rawify(cJSON *item)
{
    cJSON *c;
    char num[32];

    if (cJSON_IsNumber(item)) {
        wbs_json_number(num, item->valuedouble);
        item->valuestring = wb__strdup(num);
        if (!item->valuestring)
            return -1;
        item->type = cJSON_Raw;
        return 0;
    }
    for (c = item->child; c; c = c->next)
        if (wbs_json__rawify(c) < 0)
            return -1;
    return 0;
}

char *wbs_json_print(const cJSON *item)
{
    cJSON *copy = wb_json__dup(item);
    char *text = NULL;

    if (copy && wbs_json__rawify(copy) == 0)
        text = wb_json__print(copy);
    cJSON_Delete(copy);
    return text;
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
    text = wbs_json_print(env);
    if (!text)
        return NULL;
    wbs_etag_of_bytes(etag, text, strlen(text));
    wb__free(text);
    if (wbs_etag__set(meta, etag) < 0)
        return NULL;
    if (etag_out)
        memcpy(etag_out, etag, strlen(etag) + 1);
    return wbs_json_print(env);
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
