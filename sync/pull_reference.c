/*
 * pull_reference.c - the reference data a canvasser needs offline, pulled
 * after the interactions (issue 5): campaigns, their surveys, and for every
 * list of a cached campaign the list record and its contact-households with
 * the contact and the household embedded (the "download the walk list"
 * call, polis-api.md §5.2). Same rules as the interaction pull (pull.c):
 * a `gte` filter on meta.modified from a stored watermark, tombstones
 * included, sorted by modified then id, each page applied together with
 * its watermark in one transaction, ties kept as "id:etag" keys.
 *
 * A server without these routes (404, 405, 501) or a token without the
 * permission (403) leaves the cache as it is: recording never depends on
 * it, and the interaction sync has already run.
 */
#include <string.h>

#include "refdata.h"
#include "sync_int.h"
#include "timeutil.h"

/* The per-item callback of a pulled collection, in the page's transaction. */
typedef int (*ref_apply_fn)(wb_sync *s, const cJSON *env, void *ctx);

static const char *env_str(const cJSON *env, const char *a, const char *b)
{
    const cJSON *item = b ? wb_json__get(wb_json__get(env, a), b) : wb_json__get(env, a);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* 1 when the last error is a refusal that means "not offered here". */
static int unavailable(int error)
{
    const wb_error *e = wb_error_last();
    int st = e ? e->http_status : 0;
    return error == WB_ERROR && (st == 403 || st == 404 || st == 405 || st == 501);
}

static int seen_has(const cJSON *seen, const cJSON *env)
{
    const char *id = env_str(env, "id", NULL), *etag = env_str(env, "meta", "etag");
    const cJSON *item;
    char key[512];
    if (!id || !etag || snprintf(key, sizeof(key), "%s:%s", id, etag) >= (int)sizeof(key))
        return 0;
    cJSON_ArrayForEach(item, seen)
    {
        if (cJSON_IsString(item) && strcmp(item->valuestring, key) == 0)
            return 1;
    }
    return 0;
}

/* 1 when a page asked for with an offset starts with a row already
 * applied at the watermark value (pull.c, "Skipping"; a row without id or
 * etag counts as held, as there), else 0. */
static int skip_held(const cJSON *items, const char *modified, const char *seen)
{
    const cJSON *first = cJSON_GetArrayItem(items, 0);
    const char *m = env_str(first, "meta", "modified");
    cJSON *keys = NULL;
    int held;
    if (!first || !m || strcmp(m, modified) != 0)
        return 0;
    if (!env_str(first, "id", NULL) || !env_str(first, "meta", "etag"))
        return 1;
    if (!seen || !*seen)
        return 0;
    if (wb_json__parse(&keys, seen, strlen(seen), NULL, "watermark") < 0) {
        wb_error_clear();
        return 0;
    }
    held = seen_has(keys, first);
    cJSON_Delete(keys);
    return held;
}

static int apply_page(wb_sync *s, const cJSON *items, const char *resource, const char *scope,
                      char *modified, char **seen, ref_apply_fn fn, void *ctx)
{
    cJSON *seen_json = NULL;
    char *next_seen = NULL;
    const cJSON *env;
    int error;

    if (*seen && **seen &&
        (error = wb_json__parse(&seen_json, *seen, strlen(*seen), NULL, "watermark")) < 0)
        return error;
    if ((error = wb_store__begin(s->store)) < 0)
        goto cleanup;
    cJSON_ArrayForEach(env, items)
    {
        const char *m = env_str(env, "meta", "modified");
        if (m && strcmp(m, modified) == 0 && seen_has(seen_json, env))
            continue; /* already applied: a repeat of the gte */
        if ((error = fn(s, env, ctx)) < 0)
            break;
    }
    if (error >= 0 && (error = wb_pull__advance(modified, &next_seen, *seen, items)) >= 0)
        error = wb_syncstore__set_watermark(s->store, resource, scope, modified, next_seen);
    if (error < 0) {
        wb_store__rollback(s->store);
        goto cleanup;
    }
    if ((error = wb_store__commit(s->store)) < 0)
        goto cleanup;
    wb__free(*seen);
    *seen = next_seen;
    next_seen = NULL;
cleanup:
    wb__free(next_seen);
    cJSON_Delete(seen_json);
    return error;
}

/* Pull `path` incrementally under the watermark (resource, scope). */
static int pull_collection(wb_sync *s, const char *path, const char *resource, const char *scope,
                           ref_apply_fn fn, void *ctx)
{
    char modified[WB_TIMESTAMP_LEN + 1], before[WB_TIMESTAMP_LEN + 1];
    char *seen = NULL;
    wb_buf filter = WB_BUF_INIT, url = WB_BUF_INIT;
    wb_http_response r;
    cJSON *root = NULL;
    const cJSON *items;
    size_t skip = 0;
    int error, refused;

    memset(&r, 0, sizeof(r));
    if ((error = wb_syncstore__watermark(modified, &seen, s->store, resource, scope)) < 0)
        return error;
    for (;;) {
        size_t n;
        if (wb_sync__cancelled(s)) {
            error = wb_sync__cancel_error();
            break;
        }
        wb_buf__clear(&filter);
        wb_buf__clear(&url);
        if ((error = wb_polis__pull_filter(&filter, modified)) < 0 ||
            (error = wb_polis__list_url_at(&url, s->base_url, path, s->opts.api, filter.ptr,
                                           s->opts.page_size, skip)) < 0)
            break;
        if ((error = wb_pull__get_page(s, &r, url.ptr, &root, &items, &refused)) < 0)
            break;
        wb_sync__response_free(s, &r);
        if (skip > 0 && !skip_held(items, modified, seen)) {
            /* As pull.c ("Skipping"): rows at the watermark value moved
             * since the offset was counted; again from offset 0. */
            cJSON_Delete(root);
            root = NULL;
            skip = 0;
            continue;
        }
        n = (size_t)cJSON_GetArraySize(items);
        memcpy(before, modified, sizeof(before));
        if ((error = apply_page(s, items, resource, scope, modified, &seen, fn, ctx)) < 0)
            break;
        /* As pull.c: skip most of the rows the listing showed at the new
         * watermark value, reading at least one of them again. */
        {
            size_t confirmed = strcmp(before, modified) == 0 ? skip : 0;
            const cJSON *env;
            cJSON_ArrayForEach(env, items)
            {
                const char *m = env_str(env, "meta", "modified");
                confirmed += m && *modified && strcmp(m, modified) == 0;
            }
            if (!*modified)
                confirmed = 0;
            skip = wb_pull__next_skip(confirmed, s->opts.page_size);
        }
        cJSON_Delete(root);
        root = NULL;
        if (n < s->opts.page_size)
            break;
    }
    wb_sync__response_free(s, &r);
    cJSON_Delete(root);
    wb__free(seen);
    wb_buf__free(&filter);
    wb_buf__free(&url);
    return error;
}

/* ---- what each collection does with its items ---------------------------- */

static int apply_campaign(wb_sync *s, const cJSON *env, void *ctx)
{
    (void)ctx;
    return wb_ref__upsert(NULL, s->store, "campaigns", env);
}

/* Surveys of the campaigns in the cache only (the user's campaigns). */
static int apply_survey(wb_sync *s, const cJSON *env, void *ctx)
{
    const char *campaign = env_str(wb_json__get(env, "data"), "campaignId", NULL);
    cJSON *c = NULL;
    int error;
    (void)ctx;
    if (campaign && !cJSON_IsTrue(wb_json__get(wb_json__get(env, "meta"), "isDeleted"))) {
        error = wb_ref__get_tree(&c, s->store, "campaigns", campaign);
        cJSON_Delete(c);
        if (error == WB_ENOTFOUND)
            return 0;
        if (error < 0)
            return error;
    }
    return wb_ref__upsert(NULL, s->store, "surveys", env);
}

/* A list → contact-households item: {"id" (the link), "data":{"contact":
 * envelope, "household": envelope}, "meta"}. The contact, the household,
 * the link and the household's place on the walk list are kept. */
static int apply_list_entry(wb_sync *s, const cJSON *env, void *ctx)
{
    const int64_t *wid = ctx;
    const cJSON *data = wb_json__get(env, "data");
    const cJSON *contact = wb_json__get(data, "contact"), *household = wb_json__get(data, "household");
    const char *cid = env_str(contact, "id", NULL), *hid = env_str(household, "id", NULL);
    const char *id = env_str(env, "id", NULL);
    int deleted = cJSON_IsTrue(wb_json__get(wb_json__get(env, "meta"), "isDeleted"));
    cJSON *link = NULL, *ldata;
    int error;

    if (!id || !cid || !hid || !wb_uuid__valid(id) || !wb_uuid__valid(hid))
        return 0; /* not a contact-household of this shape: nothing to keep */
    if ((error = wb_ref__upsert(NULL, s->store, "contacts", contact)) < 0 ||
        (error = wb_ref__upsert(NULL, s->store, "households", household)) < 0)
        return error;
    if (!(link = cJSON_CreateObject()) || !cJSON_AddStringToObject(link, "id", id) ||
        !(ldata = cJSON_AddObjectToObject(link, "data")) ||
        !cJSON_AddStringToObject(ldata, "contactId", cid) ||
        !cJSON_AddStringToObject(ldata, "householdId", hid) ||
        !cJSON_AddItemToObject(link, "meta", wb_json__dup(wb_json__get(env, "meta")))) {
        cJSON_Delete(link);
        return wb_error__oom();
    }
    error = wb_ref__upsert(NULL, s->store, "contact-households", link);
    cJSON_Delete(link);
    if (error < 0)
        return error;
    return deleted ? wb_ref__member_remove(s->store, *wid, hid)
                   : wb_ref__member_add(s->store, *wid, hid);
}

/* The lists of the cached campaigns, as (walk list id) strings. */
static int campaign_lists(char (**out)[WB_UUID_LEN + 1], size_t *n, wb_store *store)
{
    sqlite3_stmt *st = NULL;
    char(*ids)[WB_UUID_LEN + 1] = NULL;
    size_t cap = 0;
    int rc;
    *n = 0;
    rc = sqlite3_prepare_v2(store->db,
                            "SELECT id FROM ref_walklists WHERE campaign_id IN (SELECT id FROM"
                            " ref_records WHERE resource = 'campaigns' AND deleted = 0) ORDER BY id",
                            -1, &st, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            void *p = wb__realloc(ids, ncap * sizeof(*ids));
            if (!p) {
                rc = SQLITE_NOMEM;
                break;
            }
            ids = p;
            cap = ncap;
        }
        snprintf(ids[(*n)++], WB_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 0));
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        wb__free(ids);
        return rc == SQLITE_NOMEM ? wb_error__oom() : wb_store__sqlite_error(store, rc, "walk lists");
    }
    *out = ids;
    return 0;
}

/* GET /v1/lists/{id}: its name; kept like any other reference record. One
 * attempt: the name is optional, and the next run asks again. */
static int fetch_list(wb_sync *s, const char *list_id)
{
    wb_buf url = WB_BUF_INIT;
    wb_http_response r;
    cJSON *env = NULL;
    int error;

    memset(&r, 0, sizeof(r));
    if ((error = wb_buf__printf(&url, "%s/v1/lists/%s", s->base_url, list_id)) < 0)
        goto cleanup;
    if ((error = wb_sync__send(s, &r, "GET", url.ptr, NULL, 0, NULL)) < 0)
        goto cleanup;
    if (r.status < 200 || r.status >= 300 ||
        wb_polis__parse_envelope(&env, r.body, r.body_len) < 0)
        goto cleanup; /* error 0: no name this time */
    if ((error = wb_store__begin(s->store)) < 0)
        goto cleanup;
    if ((error = wb_ref__upsert(NULL, s->store, "lists", env)) < 0)
        wb_store__rollback(s->store);
    else
        error = wb_store__commit(s->store);
cleanup:
    wb_sync__response_free(s, &r);
    cJSON_Delete(env);
    wb_buf__free(&url);
    return error;
}

int wb_sync_pull_reference(wb_sync *sync, int enable)
{
    wb_error__reset();
    WB__CHECK_ARG(sync);
    WB__CHECK_ARG(!sync->running);
    sync->pull_reference = enable != 0;
    return 0;
}

int wb_pull__reference_run(wb_sync *s)
{
    char(*lists)[WB_UUID_LEN + 1] = NULL;
    size_t n = 0;
    int error;

    error = pull_collection(s, "/v1/campaigns", "ref:campaigns", s->scope, apply_campaign, NULL);
    if (error == 0)
        error = pull_collection(s, "/v1/surveys", "ref:surveys", s->scope, apply_survey, NULL);
    if (error == 0)
        error = campaign_lists(&lists, &n, s->store);
    for (size_t i = 0; error == 0 && i < n; i++) {
        char path[128], scope[sizeof(s->scope) + WB_UUID_LEN + 2];
        int64_t wid;
        if ((error = fetch_list(s, lists[i])) < 0 && error != WB_EAUTH &&
            !wb_sync__cancelled(s))
            error = 0; /* the list record is optional: its name only */
        if (error < 0 || (error = wb_ref__walklist_find(&wid, s->store, lists[i])) < 0)
            break;
        snprintf(path, sizeof(path), "/v1/lists/%s/contact-households", lists[i]);
        snprintf(scope, sizeof(scope), "%s|%s", s->scope, lists[i]);
        error = pull_collection(s, path, "ref:list-households", scope, apply_list_entry, &wid);
    }
    wb__free(lists);
    if (error < 0 && unavailable(error)) {
        wb_error__reset();
        return 0;
    }
    return error;
}
