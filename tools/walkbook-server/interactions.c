/*
 * interactions.c - interaction create and update, and the route table of
 * both API versions (see interactions.h). GET by id, DELETE and listing are
 * the shared ones of resource.c and listing.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "distance.h"
#include "etag.h"
#include "interactions.h"
#include "json.h"
#include "jsonpatch.h"
#include "listing.h"
#include "resource.h"
#include "signatures.h"
#include "timeutil.h"
#include "uuid.h"
#include "validate.h"

#define WBS_IX "interactions"

typedef struct wbs_ix_api {
    struct wbs_interactions *ix;
    int version; /* 1 or 2 */
} wbs_ix_api;

struct wbs_interactions {
    wbs_records *records;
    int client_ids;
    wbs_ix_api api[2];
    wbs_signatures *sigs; /* walkbookSignature on creates (signatures.h) */
};

wbs_interactions *wbs_interactions_new(wbs_records *r, int client_ids)
{
    wbs_interactions *ix = wb__calloc(1, sizeof(*ix));
    if (!ix)
        return NULL;
    ix->records = r;
    ix->client_ids = client_ids;
    for (int i = 0; i < 2; i++) {
        ix->api[i].ix = ix;
        ix->api[i].version = i + 1;
    }
    return ix;
}

void wbs_interactions_set_signatures(wbs_interactions *ix, wbs_signatures *sigs)
{
    ix->sigs = sigs;
}

void wbs_interactions_free(wbs_interactions *ix)
{
    wb__free(ix);
}

/* v1 interactions carry the list of the contact as a read-only listId
 * (§2.1). Without contact data the campaign's lists decide: its "normal"
 * list (or one without a type), else its first. Without campaign data
 * listId stays out. Lock held. */
static int wbs_ix__derive_list_id(cJSON *data, wbs_records *r, const char *customer)
{
    const cJSON *campaign = wb_json__get(data, "campaignId"), *lists, *l, *pick = NULL;
    cJSON *env = NULL;
    char *text = NULL;
    int rc = 0;

    if (!cJSON_IsString(campaign) ||
        wbs_records_get(&text, r, "campaigns", customer, campaign->valuestring) != 0)
        return 0;
    env = cJSON_Parse(text);
    lists = wb_json__get(wb_json__get(env, "data"), "lists");
    cJSON_ArrayForEach(l, lists)
    {
        const cJSON *type = wb_json__get(l, "type");
        if (!cJSON_IsString(wb_json__get(l, "listId")))
            continue;
        if (!pick)
            pick = l;
        if (!type || (cJSON_IsString(type) && strcmp(type->valuestring, "normal") == 0)) {
            pick = l;
            break;
        }
    }
    if (pick && !cJSON_AddStringToObject(data, "listId",
                                         wb_json__get(pick, "listId")->valuestring))
        rc = -1;
    cJSON_Delete(env);
    wb__free(text);
    return rc;
}

/* Server-side distance when the client sent none (G12): from the
 * household record of data.householdId, when there is one. Lock held. */
static int wbs_ix__fill_distance(cJSON *data, wbs_records *r, const char *customer)
{
    const cJSON *hh = wb_json__get(data, "householdId");
    cJSON *env = NULL;
    char *text = NULL;
    int rc;

    if (wb_json__get(data, "distance") || !cJSON_IsString(hh) ||
        wbs_records_get(&text, r, "households", customer, hh->valuestring) != 0)
        return 0;
    env = cJSON_Parse(text);
    rc = wbs_distance_fill(data, env);
    cJSON_Delete(env);
    wb__free(text);
    return rc < 0 ? -1 : 0;
}

/* With --client-ids: the id is taken. Same data (server-owned listId
 * aside) and same creator → 200 with the stored record; else 409. */
static void wbs_ix__replay(wbs_response *res, const char *text, const cJSON *data,
                           const wbs_principal *who)
{
    cJSON *env = cJSON_Parse(text), *stored;
    const cJSON *meta = wb_json__get(env, "meta"), *by = wb_json__get(meta, "createdBy");
    cJSON *mine = wb_json__dup(data);

    stored = wb_json__dup(wb_json__get(env, "data"));
    cJSON_DeleteItemFromObjectCaseSensitive(stored, "listId");
    cJSON_DeleteItemFromObjectCaseSensitive(mine, "listId");
    if (!env || !stored || !mine) {
        wbs_respond_error(res, 500, "ServerError", "stored record unreadable");
    } else if (!cJSON_IsTrue(wb_json__get(meta, "isDeleted")) && cJSON_IsString(by) &&
               strcmp(by->valuestring, who->user) == 0 && wb_json__equal(stored, mine)) {
        wbs_respond_text(res, 200, wb__strdup(text));
    } else {
        wbs_respond_error(res, 409, "ExistsError", "a different record already has this id");
    }
    cJSON_Delete(env);
    cJSON_Delete(stored);
    cJSON_Delete(mine);
}

/* The times of a new envelope while it is printed outside the lock; the
 * real ones replace them in the text under it (etag.h). */
#define WBS_IX_TIME_PLACEHOLDER "1970-01-01T00:00:00.000Z"

static void wbs_ix__create(wbs_response *res, wbs_request *req, void *userdata)
{
    wbs_ix_api *api = userdata;
    wbs_records *r = api->ix->records;
    cJSON *body = NULL, *client_id = NULL, *data = NULL, *env = NULL;
    const cJSON *d, *campaign;
    char id[WB_UUID_LEN + 1], now[WB_TIMESTAMP_LEN + 1], location[96];
    char *text = NULL, *existing = NULL;
    wbs_sig *sig = NULL;
    wbs_etag_text t;
    int rc, replay;

    memset(&t, 0, sizeof(t));
    wb_error_clear();
    if (wb_json__parse(&body, req->body, req->body_len, NULL, "body") < 0) {
        wbs_resource_fail(res, "BadRequestError", "body: not JSON");
        return;
    }
    /* A top-level id is not part of either body shape: take it out first. */
    client_id = cJSON_DetachItemFromObjectCaseSensitive(body, "id");
    /* So is walkbookSignature (a 400 when refused or malformed). */
    if (wbs_sig_take(&sig, api->ix->sigs, body, client_id, res) < 0)
        goto cleanup;
    replay = api->ix->client_ids && client_id;
    if (replay) {
        if (!cJSON_IsString(client_id) || !wb_uuid__valid(client_id->valuestring)) {
            wbs_respond_error(res, 400, "ValidationError", "id: must be a UUID");
            goto cleanup;
        }
        for (size_t i = 0; i <= WB_UUID_LEN; i++) {
            char c = client_id->valuestring[i];
            id[i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
        }
    } else {
        /* A v7 id starts with the time: new records go to the end of the
         * (customer, id) table and of each campaign's index range instead
         * of a random leaf page, which made the b-tree inserts the largest
         * cost of a create (README, "walkbook-server under load"). */
        wb_uuid__v7(id);
    }
    if (!(d = wb_validate__create_data(body))) {
        wbs_resource_fail(res, "ValidationError", "body: not an interaction");
        goto cleanup;
    }
    if (sig)
        wbs_sig_check(sig, d); /* the data as received, before listId and distance */
    /* The data is taken out of the body rather than copied. */
    if (d == body) {
        data = body;
        body = NULL;
    } else {
        data = cJSON_DetachItemViaPointer(body, (cJSON *)(uintptr_t)d);
    }
    /* listId is server-owned (§2.1): whatever the client sent is dropped. */
    cJSON_DeleteItemFromObjectCaseSensitive(data, "listId");
    if (wb_validate__interaction(data) < 0) {
        wbs_resource_fail(res, "ValidationError", "data: invalid");
        goto cleanup;
    }

    /* The lock is held twice, briefly: to read the campaign and household
     * the record derives from, then to stamp its time and store it. The
     * envelope is printed between the two, so concurrent creates print in
     * parallel; meta.modified is taken in the same hold as the write, so
     * records are stored in the order of their meta.modified (incremental
     * pulls by modified miss nothing). */
    wbs_records_lock(r);
    rc = (api->version == 1 && wbs_ix__derive_list_id(data, r, req->who.customer) < 0) ||
         wbs_ix__fill_distance(data, r, req->who.customer) < 0;
    wbs_records_unlock(r);
    if (rc) {
        wbs_respond_error(res, 500, "ServerError", "out of memory");
        goto cleanup;
    }
    env = wbs_resource_new_envelope(id, data, &req->who, WBS_IX_TIME_PLACEHOLDER, WBS_IX);
    data = NULL;
    if (!env || wbs_etag_text_print(&t, env) < 0) {
        wbs_respond_error(res, 500, "ServerError", "out of memory");
        goto cleanup;
    }
    campaign = wb_json__get(wb_json__get(env, "data"), "campaignId");

    wbs_records_lock(r);
    /* With --client-ids the id may be taken; checked in the same hold as
     * the write, so two posts of one id cannot both create it. */
    rc = replay ? wbs_records_get(&existing, r, WBS_IX, req->who.customer, id) : 1;
    if (rc == 0) {
        wbs_ix__replay(res, existing, wb_json__get(env, "data"), &req->who);
        goto unlock;
    }
    if (rc < 0) {
        wbs_respond_error(res, 500, "ServerError", "storage error");
        goto unlock;
    }
    wbs_records_next_modified(r, now);
    if (!(text = wbs_etag_text_finish(&t, now, now, NULL))) {
        wbs_respond_error(res, 500, "ServerError", "out of memory");
        goto unlock;
    }
    if (wbs_records_put_known(r, WBS_IX, req->who.customer, id, text, now,
                              cJSON_IsString(campaign) ? campaign->valuestring : NULL, 0) < 0 ||
        (sig && wbs_sig_store(api->ix->sigs, sig, &req->who, id) < 0)) {
        wbs_respond_error(res, 500, "ServerError", "storage error");
        goto unlock;
    }
    wbs_records_unlock(r);
    wbs_respond_text(res, 201, text);
    text = NULL;
    snprintf(location, sizeof(location), "/v%d/interactions/%s", api->version, id);
    wbs_response_header(res, "Location", location);
    goto cleanup;
unlock:
    wbs_records_unlock(r);
cleanup:
    wbs_etag_text_free(&t);
    wb__free(text);
    wb__free(existing);
    cJSON_Delete(env);
    cJSON_Delete(data);
    cJSON_Delete(client_id);
    cJSON_Delete(body);
    wbs_sig_free(sig);
}

/* Paths relative to data, the "/data/" base stripped, writes outside data
 * refused by name: the same rule the store applies to local edits. */
static int wbs_ix__rebase(wbs_response *res, cJSON *ops)
{
    if (wb_validate__rebase_patch(ops) < 0) {
        const wb_error *e = wb_error_last();
        if (e && e->code == WB_ENOMEM)
            wbs_respond_error(res, 500, "ServerError", "out of memory");
        else
            wbs_resource_fail(res, "ValidationError", "patch: invalid");
        return -1;
    }
    return 0;
}

static int wbs_ix__same_member(const cJSON *a, const cJSON *b, const char *name)
{
    const cJSON *x = wb_json__get(a, name), *y = wb_json__get(b, name);
    return (!x && !y) || (x && y && wb_json__equal(x, y));
}

static void wbs_ix__patch(wbs_response *res, wbs_request *req, void *userdata)
{
    wbs_ix_api *api = userdata;
    wbs_records *r = api->ix->records;
    char id[37], want[WBS_ETAG_MAX + 2];
    cJSON *body = NULL, *env = NULL, *data = NULL;
    cJSON *ops;
    char *text = NULL;

    wb_error_clear();
    if (wbs_resource_id(id, res, req) < 0 ||
        wbs_resource_precondition(want, sizeof(want), res, req) < 0)
        return;
    if (wb_json__parse(&body, req->body, req->body_len, NULL, "body") < 0) {
        wbs_resource_fail(res, "BadRequestError", "body: not JSON");
        return;
    }
    ops = wb_json__get(body, "data");
    if (!cJSON_IsArray(ops)) {
        wbs_respond_error(res, 400, "ValidationError",
                          "body.data: must be an array of JSON Patch operations");
        goto cleanup;
    }
    if (wbs_ix__rebase(res, ops) < 0)
        goto cleanup;

    wbs_records_lock(r);
    if (wbs_resource_load(&env, &text, res, r, WBS_IX, req->who.customer, id) < 0)
        goto unlock;
    if (wbs_resource_check_etag(res, env, text, want) < 0)
        goto unlock;
    if (!(data = wb_json__dup(wb_json__get(env, "data")))) {
        wbs_respond_error(res, 500, "ServerError", "out of memory");
        goto unlock;
    }
    if (wb_jsonpatch__apply(&data, ops) < 0) {
        wbs_resource_fail(res, "ValidationError", "patch: cannot apply");
        goto unlock;
    }
    if (!wbs_ix__same_member(data, wb_json__get(env, "data"), "listId")) {
        wbs_respond_error(res, 400, "ValidationError",
                          "data.listId: server-owned; it cannot be changed");
        goto unlock;
    }
    if (wb_validate__interaction(data) < 0) {
        wbs_resource_fail(res, "ValidationError", "data: invalid");
        goto unlock;
    }
    if (wbs_ix__fill_distance(data, r, req->who.customer) < 0) {
        wbs_respond_error(res, 500, "ServerError", "out of memory");
        goto unlock;
    }
    if (!cJSON_ReplaceItemInObjectCaseSensitive(env, "data", data)) {
        wbs_respond_error(res, 500, "ServerError", "out of memory");
        goto unlock;
    }
    data = NULL;
    wbs_resource_write(res, 200, r, WBS_IX, env, req->who.customer, id, req->who.user);
unlock:
    wbs_records_unlock(r);
cleanup:
    wb__free(text);
    cJSON_Delete(data);
    cJSON_Delete(env);
    cJSON_Delete(body);
}

static void wbs_ix__get(wbs_response *res, wbs_request *req, void *userdata)
{
    wbs_ix_api *api = userdata;
    wbs_resource_get(res, req, api->ix->records, WBS_IX);
}

static void wbs_ix__delete(wbs_response *res, wbs_request *req, void *userdata)
{
    wbs_ix_api *api = userdata;
    /* Canvassers lack destroy@interactions (§3.5). */
    wbs_resource_delete(res, req, api->ix->records, WBS_IX, 1u << WBS_ROLE_ADMIN);
}

static void wbs_ix__list(wbs_response *res, wbs_request *req, void *userdata)
{
    wbs_ix_api *api = userdata;
    wbs_list_respond(res, req, api->ix->records, WBS_IX);
}

int wbs_interactions_routes(wbs_http *h, wbs_interactions *ix)
{
    static const char *const base[] = {"/v1/interactions", "/v2/interactions"};
    char one[64];

    wbs_records_lock(ix->records);
    int rc = wbs_records_ensure(ix->records, WBS_IX) | wbs_records_ensure(ix->records, "campaigns") |
             wbs_records_ensure(ix->records, "households");
    wbs_records_unlock(ix->records);
    if (rc < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        snprintf(one, sizeof(one), "%s/*", base[i]);
        if (wbs_http_route(h, "POST", base[i], WBS_ROUTE_AUTH, wbs_ix__create, &ix->api[i]) < 0 ||
            wbs_http_route(h, "GET", base[i], WBS_ROUTE_AUTH, wbs_ix__list, &ix->api[i]) < 0 ||
            wbs_http_route(h, "GET", one, WBS_ROUTE_AUTH, wbs_ix__get, &ix->api[i]) < 0 ||
            wbs_http_route(h, "PATCH", one, WBS_ROUTE_AUTH, wbs_ix__patch, &ix->api[i]) < 0 ||
            wbs_http_route(h, "DELETE", one, WBS_ROUTE_AUTH, wbs_ix__delete, &ix->api[i]) < 0)
            return -1;
    }
    return 0;
}
