/*
 * admin.c - the /__admin/ routes and the benchmark's trivial route (see
 * admin.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "admin.h"
#include "common.h"
#include "json.h"
#include "jsonpatch.h"
#include "resource.h"
#include "uuid.h"
#include "validate.h"

#define WBS_ADMIN_IX "interactions"
#define WBS_ADMIN_DEFAULT_USER "ad000000-0000-4000-8000-000000000000"

struct wbs_admin {
    char *token;
    wbs_records *records;
    wbs_auth *auth;
    wbs_faults *faults;
};

wbs_admin *wbs_admin_new(const char *token, wbs_records *r, wbs_auth *auth, wbs_faults *f)
{
    wbs_admin *a = wb__calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    if (!(a->token = wb__strdup(token))) {
        wb__free(a);
        return NULL;
    }
    a->records = r;
    a->auth = auth;
    a->faults = f;
    return a;
}

void wbs_admin_free(wbs_admin *a)
{
    if (!a)
        return;
    sodium_memzero(a->token, strlen(a->token));
    wb__free(a->token);
    wb__free(a);
}

/* 0 when the request carries the admin token; else -1 after 401/403. */
static int wbs_admin__check(wbs_response *res, const wbs_request *req, const wbs_admin *a)
{
    const char *t = wbs_request_header(req, "X-Admin-Token");
    size_t len = strlen(a->token);

    if (!t || !*t) {
        wbs_respond_error(res, 401, "NotAuthenticated", "X-Admin-Token: required");
        return -1;
    }
    if (strlen(t) != len || sodium_memcmp(t, a->token, len) != 0) {
        wbs_respond_error(res, 403, "ForbiddenError", "X-Admin-Token: not the admin token");
        return -1;
    }
    return 0;
}

int wbs_admin_check(wbs_response *res, const wbs_request *req, const wbs_admin *a)
{
    return wbs_admin__check(res, req, a);
}

/* ---- faults ---------------------------------------------------------------- */

static void wbs_admin__faults(wbs_response *res, wbs_request *req, void *userdata)
{
    wbs_admin *a = userdata;
    char err[256];

    if (wbs_admin__check(res, req, a) < 0)
        return;
    if (strcmp(req->method, "PUT") == 0 || strcmp(req->method, "POST") == 0) {
        if (wbs_faults_set(a->faults, req->body, req->body_len, err, sizeof(err)) < 0) {
            wbs_respond_error(res, 400, "ValidationError", err);
            return;
        }
    } else if (strcmp(req->method, "DELETE") == 0) {
        wbs_faults_clear(a->faults);
    }
    wbs_respond_text(res, 200, wbs_faults_describe(a->faults));
}

/* ---- edit as another user -------------------------------------------------- */

typedef struct wbs_admin_find {
    const char *id;
    char *text; /* the envelope whose id is `id` */
    int oom;
} wbs_admin_find;

static int wbs_admin__find_cb(const char *text, size_t len, void *userdata)
{
    wbs_admin_find *f = userdata;
    cJSON *env;
    const cJSON *id;

    if (!strstr(text, f->id)) /* cheap prefilter: most rows are not it */
        return 0;
    if (!(env = cJSON_ParseWithLength(text, len)))
        return 0;
    id = wb_json__get(env, "id");
    if (cJSON_IsString(id) && strcmp(id->valuestring, f->id) == 0) {
        cJSON_Delete(env);
        if (!(f->text = wb__strndup(text, len)))
            f->oom = 1;
        return 1;
    }
    cJSON_Delete(env);
    return 0;
}

static int wbs_admin__set_true(cJSON *obj, const char *name)
{
    cJSON *item = cJSON_CreateTrue();
    if (item && (wb_json__get(obj, name) ? cJSON_ReplaceItemInObjectCaseSensitive(obj, name, item)
                                         : cJSON_AddItemToObject(obj, name, item)))
        return 0;
    cJSON_Delete(item);
    return -1;
}

static void wbs_admin__edit(wbs_response *res, wbs_request *req, void *userdata)
{
    wbs_admin *a = userdata;
    wbs_admin_find find = {NULL, NULL, 0};
    cJSON *body = NULL, *env = NULL, *data = NULL, *ops;
    const cJSON *user_item, *del, *customer, *meta;
    char id[37], user[37];
    const char *user_s;
    int rc;

    wb_error_clear();
    if (wbs_admin__check(res, req, a) < 0 || wbs_resource_id(id, res, req) < 0)
        return;
    if (wb_json__parse(&body, req->body, req->body_len, NULL, "body") < 0) {
        wbs_resource_fail(res, "BadRequestError", "body: not JSON");
        return;
    }
    if (!cJSON_IsObject(body)) {
        wbs_respond_error(res, 400, "ValidationError", "body: must be an object");
        goto cleanup;
    }
    user_item = wb_json__get(body, "user");
    user_s = cJSON_IsString(user_item) ? user_item->valuestring
                                        : wbs_request_header(req, "X-Wbs-User");
    if (!user_s)
        user_s = WBS_ADMIN_DEFAULT_USER;
    if ((user_item && !cJSON_IsString(user_item)) || !wb_uuid__valid(user_s)) {
        wbs_respond_error(res, 400, "ValidationError", "user: must be a UUID");
        goto cleanup;
    }
    for (size_t i = 0; i < 37; i++)
        user[i] = (user_s[i] >= 'A' && user_s[i] <= 'F') ? (char)(user_s[i] - 'A' + 'a')
                                                           : user_s[i];
    ops = wb_json__get(body, "data");
    del = wb_json__get(body, "delete");
    if ((ops && !cJSON_IsArray(ops)) || (del && !cJSON_IsBool(del)) ||
        (!ops && !cJSON_IsTrue(del))) {
        wbs_respond_error(res, 400, "ValidationError",
                          "body: give data (an array of JSON Patch operations) and/or "
                          "delete: true");
        goto cleanup;
    }
    if (ops && wb_validate__rebase_patch(ops) < 0) {
        wbs_resource_fail(res, "ValidationError", "patch: invalid");
        goto cleanup;
    }

    find.id = id;
    wbs_records_lock(a->records);
    rc = wbs_records_each_all(a->records, WBS_ADMIN_IX, wbs_admin__find_cb, &find);
    if (rc < 0 || find.oom) {
        wbs_respond_error(res, 500, "ServerError", find.oom ? "out of memory" : "storage error");
        goto unlock;
    }
    env = find.text ? cJSON_Parse(find.text) : NULL;
    meta = wb_json__get(env, "meta");
    customer = wb_json__get(env, "customerId");
    if (!env || !cJSON_IsObject(meta) || !cJSON_IsString(customer) ||
        cJSON_IsTrue(wb_json__get(meta, "isDeleted"))) {
        wbs_respond_error(res, 404, "NotFoundError", "no such record");
        goto unlock;
    }
    if (ops) {
        const cJSON *list_before = wb_json__get(wb_json__get(env, "data"), "listId");
        const cJSON *list_after;
        if (!(data = wb_json__dup(wb_json__get(env, "data")))) {
            wbs_respond_error(res, 500, "ServerError", "out of memory");
            goto unlock;
        }
        if (wb_jsonpatch__apply(&data, ops) < 0) {
            wbs_resource_fail(res, "ValidationError", "patch: cannot apply");
            goto unlock;
        }
        list_after = wb_json__get(data, "listId");
        if ((list_before || list_after) &&
            !(list_before && list_after && wb_json__equal(list_before, list_after))) {
            wbs_respond_error(res, 400, "ValidationError",
                              "data.listId: server-owned; it cannot be changed");
            goto unlock;
        }
        if (wb_validate__interaction(data) < 0) {
            wbs_resource_fail(res, "ValidationError", "data: invalid");
            goto unlock;
        }
        if (!cJSON_ReplaceItemInObjectCaseSensitive(env, "data", data)) {
            wbs_respond_error(res, 500, "ServerError", "out of memory");
            goto unlock;
        }
        data = NULL;
    }
    if (cJSON_IsTrue(del) && wbs_admin__set_true(wb_json__get(env, "meta"), "isDeleted") < 0) {
        wbs_respond_error(res, 500, "ServerError", "out of memory");
        goto unlock;
    }
    {
        char cust[37];
        snprintf(cust, sizeof(cust), "%s", customer->valuestring);
        wbs_resource_write(res, 200, a->records, WBS_ADMIN_IX, env, cust, id, user);
    }
unlock:
    wbs_records_unlock(a->records);
cleanup:
    wb__free(find.text);
    cJSON_Delete(data);
    cJSON_Delete(env);
    cJSON_Delete(body);
}

/* ---- dump and duplicate detector ------------------------------------------- */

typedef struct wbs_admin_row {
    char *text;
    cJSON *env;
    char *key;           /* duplicate key, NULL for deleted records */
    const char *created; /* into env */
    const char *id;      /* into env */
} wbs_admin_row;

typedef struct wbs_admin_rows {
    wbs_admin_row *rows;
    size_t n, cap;
    int oom;
} wbs_admin_rows;

static int wbs_admin__collect(const char *text, size_t len, void *userdata)
{
    wbs_admin_rows *l = userdata;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        wbs_admin_row *rows = wb__realloc(l->rows, cap * sizeof(*rows));
        if (!rows) {
            l->oom = 1;
            return 1;
        }
        l->rows = rows;
        l->cap = cap;
    }
    memset(&l->rows[l->n], 0, sizeof(l->rows[0]));
    if (!(l->rows[l->n].text = wb__strndup(text, len))) {
        l->oom = 1;
        return 1;
    }
    l->n++;
    return 0;
}

static const char *wbs_admin__str(const cJSON *env, const char *pointer)
{
    const cJSON *v = wb_jsonptr__get(env, pointer);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* The duplicate key of a live record: the fields G2 matches on, joined by
 * a separator that cannot occur in JSON text after parsing (U+0000 is
 * refused by the core parser; \x1f is rare enough and fields are UUIDs
 * and timestamps in valid records). NULL for deleted or unreadable rows. */
static int wbs_admin__key(wbs_admin_row *row)
{
    static const char *const fields[] = {"/customerId", "/data/contactId", "/data/campaignId",
                                         "/data/timestamp", "/meta/createdBy"};
    wb_buf b = WB_BUF_INIT;

    if (!(row->env = cJSON_Parse(row->text)))
        return 0;
    row->id = wbs_admin__str(row->env, "/id");
    row->created = wbs_admin__str(row->env, "/meta/created");
    if (cJSON_IsTrue(wb_jsonptr__get(row->env, "/meta/isDeleted")))
        return 0;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (i)
            wb_buf__putc(&b, '\x1f');
        wb_buf__puts(&b, wbs_admin__str(row->env, fields[i]));
    }
    row->key = wb_buf__detach(&b);
    wb_buf__free(&b);
    return row->key ? 0 : -1;
}

static int wbs_admin__row_cmp(const void *x, const void *y)
{
    const wbs_admin_row *a = x, *b = y;
    int c;
    if (!a->key || !b->key)
        return (a->key ? 0 : 1) - (b->key ? 0 : 1); /* live rows first */
    if ((c = strcmp(a->key, b->key)) != 0)
        return c;
    if ((c = strcmp(a->created, b->created)) != 0)
        return c;
    return strcmp(a->id, b->id);
}

static void wbs_admin__dump(wbs_response *res, wbs_request *req, void *userdata)
{
    wbs_admin *a = userdata;
    wbs_admin_rows l = {NULL, 0, 0, 0};
    const char *with = wbs_request_query(req, "data");
    int with_data = !(with && strcmp(with, "false") == 0);
    size_t live = 0, groups = 0;
    wb_buf b = WB_BUF_INIT;
    int rc;

    if (wbs_admin__check(res, req, a) < 0)
        return;
    wbs_records_lock(a->records);
    rc = wbs_records_each_all(a->records, WBS_ADMIN_IX, wbs_admin__collect, &l);
    wbs_records_unlock(a->records);
    if (rc < 0 || l.oom) {
        wbs_respond_error(res, 500, "ServerError", l.oom ? "out of memory" : "storage error");
        goto cleanup;
    }
    for (size_t i = 0; i < l.n; i++) {
        if (wbs_admin__key(&l.rows[i]) < 0) {
            wbs_respond_error(res, 500, "ServerError", "out of memory");
            goto cleanup;
        }
        live += l.rows[i].key != NULL;
    }
    /* The data array keeps the stored order (customer, id); grouping
     * works on a sorted shallow copy of the rows. */
    {
        wbs_admin_row *sorted = l.n ? wb__malloc(l.n * sizeof(*sorted)) : NULL;
        if (l.n && !sorted) {
            wbs_respond_error(res, 500, "ServerError", "out of memory");
            goto cleanup;
        }
        if (l.n) {
            memcpy(sorted, l.rows, l.n * sizeof(*sorted));
            qsort(sorted, l.n, sizeof(*sorted), wbs_admin__row_cmp);
        }
        wb_buf__printf(&b, "{\"records\":%zu,\"live\":%zu,\"duplicates\":[", l.n, live);
        for (size_t i = 0; i < l.n && sorted[i].key;) {
            size_t j = i + 1;
            while (j < l.n && sorted[j].key && strcmp(sorted[j].key, sorted[i].key) == 0)
                j++;
            if (j - i > 1) {
                wb_buf__puts(&b, groups++ ? ",[" : "[");
                for (size_t k = i; k < j; k++) {
                    if (k > i)
                        wb_buf__putc(&b, ',');
                    wb_buf__put_json_string(&b, sorted[k].id);
                }
                wb_buf__putc(&b, ']');
            }
            i = j;
        }
        wb__free(sorted); /* shallow copies: the rows still own everything */
    }
    wb_buf__putc(&b, ']');
    if (with_data) {
        wb_buf__puts(&b, ",\"data\":[");
        for (size_t i = 0; i < l.n; i++) {
            if (i)
                wb_buf__putc(&b, ',');
            wb_buf__puts(&b, l.rows[i].text);
        }
        wb_buf__putc(&b, ']');
    }
    wb_buf__putc(&b, '}');
    wbs_respond_text(res, 200, wb_buf__detach(&b));
cleanup:
    for (size_t i = 0; i < l.n; i++) {
        wb__free(l.rows[i].text);
        wb__free(l.rows[i].key);
        cJSON_Delete(l.rows[i].env);
    }
    wb__free(l.rows);
    wb_buf__free(&b);
}

/* ---- tokens ---------------------------------------------------------------- */

static void wbs_admin__expire(wbs_response *res, wbs_request *req, void *userdata)
{
    wbs_admin *a = userdata;
    cJSON *body = NULL;
    const cJSON *token;

    if (wbs_admin__check(res, req, a) < 0)
        return;
    if (wb_json__parse(&body, req->body, req->body_len, NULL, "body") < 0 ||
        !cJSON_IsString(token = wb_json__get(body, "token")) || !*token->valuestring) {
        wbs_respond_error(res, 400, "ValidationError", "body: {\"token\":\"…\"} expected");
    } else if (!a->auth || wbs_auth_expire(a->auth, token->valuestring) < 0) {
        wbs_respond_error(res, 404, "NotFoundError", "no live token with that value");
    } else {
        wbs_respond_text(res, 200, wb__strdup("{\"expired\":true}"));
    }
    cJSON_Delete(body);
}

int wbs_admin_routes(wbs_http *h, wbs_admin *a)
{
    static const char *const fault_methods[] = {"GET", "PUT", "POST", "DELETE"};
    wbs_records_lock(a->records);
    int rc = wbs_records_ensure(a->records, WBS_ADMIN_IX);
    wbs_records_unlock(a->records);
    if (rc < 0)
        return -1;
    for (size_t i = 0; i < sizeof(fault_methods) / sizeof(fault_methods[0]); i++)
        if (wbs_http_route(h, fault_methods[i], "/__admin/faults", WBS_ROUTE_PUBLIC,
                           wbs_admin__faults, a) < 0)
            return -1;
    if (wbs_http_route(h, "POST", "/__admin/interactions/*/edit", WBS_ROUTE_PUBLIC,
                       wbs_admin__edit, a) < 0 ||
        wbs_http_route(h, "GET", "/__admin/dump", WBS_ROUTE_PUBLIC, wbs_admin__dump, a) < 0 ||
        wbs_http_route(h, "POST", "/__admin/tokens/expire", WBS_ROUTE_PUBLIC, wbs_admin__expire,
                       a) < 0)
        return -1;
    return 0;
}

static void wbs_admin__ping(wbs_response *res, wbs_request *req, void *userdata)
{
    (void)req;
    (void)userdata;
    wbs_respond_text(res, 200, wb__strdup("{}"));
}

int wbs_admin_bench_routes(wbs_http *h)
{
    return wbs_http_route(h, "GET", "/__bench/ping", WBS_ROUTE_PUBLIC, wbs_admin__ping, NULL);
}
