/*
 * listing.c - list queries (see listing.h). One page is copied out verbatim
 * from the stored text.
 *
 * Stored resources (no view) push what SQL can answer down to storage
 * (records.h): a top-level `and`-ed `/data/campaignId eq "…"`, bounds on
 * `/meta/modified` given as strings, `/meta/isDeleted` asked to be
 * among booleans (the sync client's `in [true,false]`), the deleted-record rule, the sorts
 * `id` and `/meta/modified, id` and then skip/limit. The rest of the
 * filter is still evaluated with wbs_filter_match on the rows SQL returns,
 * so results are those of the full scan:
 *  - filter and sort all in SQL: SQL pages, nothing is parsed;
 *  - sort in SQL, some filter left: rows stream in order, each is parsed
 *    and matched, skip/limit are counted here, the scan stops at the page;
 *  - otherwise (another sort, or a view): the rows SQL narrows down (every
 *    row of the customer for a view) are parsed, filtered, sorted here.
 */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "json.h"
#include "listing.h"
#include "query.h"

#define WBS_LIST_MAX_PARAMS 32
#define WBS_MAX_SAFE_INTEGER 9007199254740991ULL

typedef struct wbs_list_item {
    cJSON *env;
    char *text;
} wbs_list_item;

typedef struct wbs_list_query {
    const char *sort[WBS_LIST_MAX_PARAMS];
    size_t n_sort;
    const char *filter;
    int n_filter;
    const char *eq_key[WBS_LIST_MAX_PARAMS], *eq_value[WBS_LIST_MAX_PARAMS];
    size_t n_eq;
    int too_many;
} wbs_list_query;

/* The streaming page writer (sort done by SQL). */
typedef struct wbs_list_page {
    const wbs_filter *filter; /* what SQL did not do; NULL/empty: nothing */
    unsigned long long skip, limit, seen, n;
    wb_buf *b;
} wbs_list_page;

typedef struct wbs_list_load {
    const wbs_filter *filter;
    int with_deleted;
    wbs_list_view_fn view;
    void *view_userdata;
    wbs_list_item *items;
    size_t n, cap;
    int oom;
} wbs_list_load;

static int wbs_list__param(const char *key, const char *value, void *userdata)
{
    wbs_list_query *q = userdata;
    size_t klen = strlen(key);

    if (strcmp(key, "sort") == 0) {
        if (q->n_sort == WBS_LIST_MAX_PARAMS)
            q->too_many = 1;
        else
            q->sort[q->n_sort++] = value;
    } else if (strcmp(key, "filter") == 0) {
        q->filter = value;
        q->n_filter++;
    } else if (klen > 8 && strncmp(key, "filter[", 7) == 0 && key[klen - 1] == ']') {
        if (q->n_eq == WBS_LIST_MAX_PARAMS) {
            q->too_many = 1;
        } else {
            q->eq_key[q->n_eq] = key;
            q->eq_value[q->n_eq++] = value;
        }
    }
    return 0;
}

/* A decimal integer in [min, WBS_MAX_SAFE_INTEGER]; -1 when not. */
static int wbs_list__integer(unsigned long long *out, const char *s, unsigned long long min)
{
    unsigned long long v = 0;
    size_t n = 0;

    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 16)
            return -1;
        v = v * 10 + (unsigned long long)(s[n] - '0');
    }
    if (n == 0 || v < min || v > WBS_MAX_SAFE_INTEGER)
        return -1;
    *out = v;
    return 0;
}

static int wbs_list__collect(const char *text, size_t len, void *userdata)
{
    wbs_list_load *l = userdata;
    cJSON *env = cJSON_ParseWithLength(text, len);
    const cJSON *deleted = wb_json__get(wb_json__get(env, "meta"), "isDeleted");

    if (!env)
        return 0; /* unreadable rows are skipped, not fatal */
    if (l->view) {
        cJSON *item = NULL;
        int rc = l->view(&item, env, l->view_userdata);
        cJSON_Delete(env);
        if (rc < 0) {
            l->oom = 1;
            return 1;
        }
        if (rc > 0 || !item)
            return 0;
        env = item;
        deleted = wb_json__get(wb_json__get(env, "meta"), "isDeleted");
    }
    if ((cJSON_IsTrue(deleted) && !l->with_deleted) || !wbs_filter_match(l->filter, env)) {
        cJSON_Delete(env);
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        wbs_list_item *items = wb__realloc(l->items, cap * sizeof(*items));
        if (!items) {
            cJSON_Delete(env);
            l->oom = 1;
            return 1;
        }
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n].env = env;
    l->items[l->n].text = l->view ? wb_json__print(env) : wb__strndup(text, len);
    if (!l->items[l->n].text) {
        cJSON_Delete(env);
        l->oom = 1;
        return 1;
    }
    l->n++;
    return 0;
}

static int wbs_list__page(const char *text, size_t len, void *userdata)
{
    wbs_list_page *pg = userdata;

    if (pg->filter) {
        cJSON *env = cJSON_ParseWithLength(text, len);
        int match = env && wbs_filter_match(pg->filter, env);
        cJSON_Delete(env);
        if (!match)
            return 0;
        if (pg->seen++ < pg->skip)
            return 0;
    }
    if (pg->n++)
        wb_buf__putc(pg->b, ',');
    wb_buf__put(pg->b, text, len);
    return pg->filter && pg->n >= pg->limit ? 1 : 0;
}

/* Which stored order the sort is, if any: 0 with q->order set, or -1. */
static int wbs_list__sql_order(wbs_records_query *q, const wbs_sort *s)
{
    if (s->n == 1 && strcmp(s->keys[0].path, "/id") == 0) {
        q->order = WBS_RECORDS_ORDER_ID;
        q->desc_first = s->keys[0].desc;
        return 0;
    }
    if (s->n == 2 && strcmp(s->keys[0].path, "/meta/modified") == 0 &&
        strcmp(s->keys[1].path, "/id") == 0) {
        q->order = WBS_RECORDS_ORDER_MODIFIED_ID;
        q->desc_first = s->keys[0].desc;
        q->desc_id = s->keys[1].desc;
        return 0;
    }
    return -1;
}

/* The terms of the filter SQL answers, taken out of it (query.h). */
static void wbs_list__sql_filter(wbs_records_query *q, wbs_filter *f)
{
    unsigned op;

    if (!f)
        return;
    wbs_filter_take(&q->campaign, f, "/data/campaignId", WBS_FILTER_EQ);
    op = wbs_filter_take(&q->mod_lo, f, "/meta/modified", WBS_FILTER_GT | WBS_FILTER_GTE);
    q->mod_lo_strict = op == WBS_FILTER_GT;
    op = wbs_filter_take(&q->mod_hi, f, "/meta/modified", WBS_FILTER_LT | WBS_FILTER_LTE);
    q->mod_hi_strict = op == WBS_FILTER_LT;
    op = wbs_filter_take_bools(f, "/meta/isDeleted");
    q->bools = (op & WBS_FILTER_TRUE ? WBS_RECORDS_BOOL_TRUE : 0u) |
               (op & WBS_FILTER_FALSE ? WBS_RECORDS_BOOL_FALSE : 0u);
}

/* Stable merge sort of items by the sort keys (tmp holds n items). */
static void wbs_list__sort(wbs_list_item *items, wbs_list_item *tmp, size_t n,
                           const wbs_sort *s)
{
    size_t mid = n / 2, i = 0, j = mid, o = 0;
    if (n < 2)
        return;
    wbs_list__sort(items, tmp, mid, s);
    wbs_list__sort(items + mid, tmp, n - mid, s);
    while (i < mid && j < n)
        tmp[o++] = wbs_sort_compare(s, items[j].env, items[i].env) < 0 ? items[j++] : items[i++];
    while (i < mid)
        tmp[o++] = items[i++];
    while (j < n)
        tmp[o++] = items[j++];
    memcpy(items, tmp, n * sizeof(*items));
}

void wbs_list_respond(wbs_response *res, wbs_request *req, wbs_records *r, const char *resource)
{
    wbs_list_respond_view(res, req, r, resource, NULL, NULL);
}

void wbs_list_respond_view(wbs_response *res, wbs_request *req, wbs_records *r,
                           const char *resource, wbs_list_view_fn fn, void *userdata)
{
    wbs_list_query q;
    wbs_list_load l;
    wbs_filter *filter = NULL;
    wbs_sort sort = {NULL, 0};
    wbs_list_item *tmp = NULL;
    unsigned long long limit, skip = 0;
    const char *v;
    char err[256], path[256];
    wb_buf b = WB_BUF_INIT;
    int rc;

    memset(&q, 0, sizeof(q));
    memset(&l, 0, sizeof(l));
    v = wbs_request_query(req, "limit");
    if (!v || wbs_list__integer(&limit, v, 1) < 0) {
        wbs_respond_error(res, 400, "BadRequestError",
                          "limit: required, a positive integer up to 9007199254740991");
        return;
    }
    v = wbs_request_query(req, "skip");
    if (v && wbs_list__integer(&skip, v, 0) < 0) {
        wbs_respond_error(res, 400, "BadRequestError",
                          "skip: must be an integer from 0 to 9007199254740991");
        return;
    }
    wbs_request_query_each(req, wbs_list__param, &q);
    if (q.too_many || q.n_filter > 1) {
        wbs_respond_error(res, 400, "BadRequestError",
                          q.too_many ? "sort/filter: too many parameters"
                                     : "filter: give one expression (combine with and)");
        return;
    }
    if (q.filter && *q.filter && wbs_filter_parse(&filter, q.filter, err, sizeof(err)) < 0)
        goto bad;
    for (size_t i = 0; i < q.n_eq; i++) {
        size_t klen = strlen(q.eq_key[i]) - 8; /* between "filter[" and "]" */
        if (klen >= sizeof(path)) {
            snprintf(err, sizeof(err), "filter[…]: path too long");
            goto bad;
        }
        memcpy(path, q.eq_key[i] + 7, klen);
        path[klen] = '\0';
        if (wbs_filter_add_eq(&filter, path, q.eq_value[i], err, sizeof(err)) < 0)
            goto bad;
    }
    if (wbs_sort_parse(&sort, q.sort, q.n_sort, err, sizeof(err)) < 0)
        goto bad;

    l.filter = filter;
    l.view = fn;
    l.view_userdata = userdata;
    l.with_deleted = filter && wbs_filter_mentions(filter, "/meta/isDeleted");
    wbs_records_lock(r);
    if (!fn) {
        wbs_records_query sq;
        memset(&sq, 0, sizeof(sq));
        sq.with_deleted = l.with_deleted;
        sq.limit = -1;
        wbs_list__sql_filter(&sq, filter);
        if (wbs_list__sql_order(&sq, &sort) == 0 && sq.order == WBS_RECORDS_ORDER_MODIFIED_ID &&
            !sq.mod_lo && !sq.mod_hi &&
            (rc = wbs_records_modified_gaps(r, resource, req->who.customer)) != 0)
            sq.order = rc < 0 ? -1 : WBS_RECORDS_ORDER_NONE; /* a record sorts by rank */
        if (sq.order > 0) {
            wbs_list_page pg;
            size_t n;
            memset(&pg, 0, sizeof(pg));
            pg.b = &b;
            pg.skip = skip;
            pg.limit = limit;
            if (wbs_filter_empty(filter)) {
                sq.offset = (long long)skip;
                sq.limit = (long long)limit;
            } else {
                pg.filter = filter;
            }
            /* Room for a typical page up front: no copying as it grows. */
            wb_buf__grow(&b, limit < 64 ? (size_t)limit * 1024 : 64 * 1024);
            wb_buf__puts(&b, "{\"data\":[");
            rc = wbs_records_select(r, resource, req->who.customer, &sq, wbs_list__page, &pg);
            wbs_records_unlock(r);
            wb_buf__puts(&b, "],\"meta\":{}}");
            if (rc < 0 || b.oom) {
                wbs_respond_error(res, 500, "ServerError", rc < 0 ? "storage error" : "out of memory");
                goto cleanup;
            }
            n = b.len;
            wbs_respond_text_n(res, 200, wb_buf__detach(&b), n);
            goto cleanup;
        }
        rc = sq.order < 0 ? -1
                          : wbs_records_select(r, resource, req->who.customer, &sq,
                                               wbs_list__collect, &l);
    } else {
        rc = wbs_records_each(r, resource, req->who.customer, wbs_list__collect, &l);
    }
    wbs_records_unlock(r);
    if (rc < 0 || l.oom || (l.n && !(tmp = wb__malloc(l.n * sizeof(*tmp))))) {
        wbs_respond_error(res, 500, "ServerError", l.oom || rc >= 0 ? "out of memory" : "storage error");
        goto cleanup;
    }
    wbs_list__sort(l.items, tmp, l.n, &sort);
    wb_buf__puts(&b, "{\"data\":[");
    for (unsigned long long i = skip; i < l.n && i - skip < limit; i++) {
        if (i != skip)
            wb_buf__putc(&b, ',');
        wb_buf__puts(&b, l.items[i].text);
    }
    wb_buf__puts(&b, "],\"meta\":{}}");
    wbs_respond_text(res, 200, wb_buf__detach(&b));
    goto cleanup;
bad:
    wbs_respond_error(res, 400, "BadRequestError", err);
cleanup:
    for (size_t i = 0; i < l.n; i++) {
        cJSON_Delete(l.items[i].env);
        wb__free(l.items[i].text);
    }
    wb__free(l.items);
    wb__free(tmp);
    wb_buf__free(&b);
    wbs_filter_free(filter);
    wbs_sort_free(&sort);
}
