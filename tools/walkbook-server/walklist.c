/*
 * walklist.c - campaigns, surveys, lists and their contact-households,
 * households, contacts and statuses (see walklist.h). GET by id and the
 * lists are the shared ones of resource.c and listing.c; this file adds
 * the list → contact-households view and the two find-or-create routes.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "etag.h"
#include "json.h"
#include "listing.h"
#include "resource.h"
#include "timeutil.h"
#include "uuid.h"
#include "walklist.h"

typedef struct wbs_wl_route {
    struct wbs_walklist *wl;
    const char *resource;
} wbs_wl_route;

static const struct {
    const char *base;
    const char *resource;
} wbs_wl_resources[] = {
    {"/v1/campaigns", "campaigns"},   {"/v1/surveys", "surveys"},
    {"/v1/lists", "lists"},           {"/v2/households", "households"},
    {"/v2/contacts", "contacts"},     {"/v1/statuses", "statuses"},
};
#define WBS_WL_N (sizeof(wbs_wl_resources) / sizeof(wbs_wl_resources[0]))

struct wbs_walklist {
    wbs_records *records;
    wbs_wl_route routes[WBS_WL_N];
};

wbs_walklist *wbs_walklist_new(wbs_records *r)
{
    wbs_walklist *wl = wb__calloc(1, sizeof(*wl));
    if (!wl)
        return NULL;
    wl->records = r;
    for (size_t i = 0; i < WBS_WL_N; i++) {
        wl->routes[i].wl = wl;
        wl->routes[i].resource = wbs_wl_resources[i].resource;
    }
    return wl;
}

void wbs_walklist_free(wbs_walklist *wl)
{
    wb__free(wl);
}

static void wbs_wl__get(wbs_response *res, wbs_request *req, void *userdata)
{
    wbs_wl_route *rt = userdata;
    wbs_resource_get(res, req, rt->wl->records, rt->resource);
}

static void wbs_wl__list(wbs_response *res, wbs_request *req, void *userdata)
{
    wbs_wl_route *rt = userdata;
    wbs_list_respond(res, req, rt->wl->records, rt->resource);
}

/* Canvassers lack destroy@contacts and destroy@households (§5.10). */
static void wbs_wl__delete(wbs_response *res, wbs_request *req, void *userdata)
{
    wbs_wl_route *rt = userdata;
    wbs_resource_delete(res, req, rt->wl->records, rt->resource, 1u << WBS_ROLE_ADMIN);
}

/* ---- GET /v1/lists/{id}/contact-households -------------------------------- */

typedef struct wbs_wl_view {
    wbs_records *r;
    const char *customer;
    const char *list;
} wbs_wl_view;

/* A stored record of the customer as a tree, or NULL (absent, unreadable). */
static cJSON *wbs_wl__read(const wbs_wl_view *v, const char *resource, const cJSON *id)
{
    char *text = NULL;
    cJSON *env;
    if (!cJSON_IsString(id) || wbs_records_get(&text, v->r, resource, v->customer,
                                               id->valuestring) != 0)
        return NULL;
    env = cJSON_Parse(text);
    wb__free(text);
    return env;
}

/* Fold one record's meta into the newest modified and the deleted flag. */
static void wbs_wl__fold(const char **newest, int *deleted, const cJSON *env)
{
    const cJSON *meta = wb_json__get(env, "meta"), *m = wb_json__get(meta, "modified");
    if (cJSON_IsTrue(wb_json__get(meta, "isDeleted")))
        *deleted = 1;
    if (cJSON_IsString(m) && (!*newest || strcmp(m->valuestring, *newest) > 0))
        *newest = m->valuestring;
}

static int wbs_wl__set(cJSON *obj, const char *name, cJSON *item)
{
    if (!item)
        return -1;
    if (wb_json__get(obj, name) ? cJSON_ReplaceItemInObjectCaseSensitive(obj, name, item)
                                : cJSON_AddItemToObject(obj, name, item))
        return 0;
    cJSON_Delete(item);
    return -1;
}

static int wbs_wl__view(cJSON **out, const cJSON *entry, void *userdata)
{
    const wbs_wl_view *v = userdata;
    const cJSON *d = wb_json__get(entry, "data"), *list = wb_json__get(d, "listId");
    cJSON *ch = NULL, *contact = NULL, *household = NULL, *data = NULL, *meta;
    const char *newest = NULL;
    int deleted = 0, rc = 1;

    if (!cJSON_IsString(list) || strcmp(list->valuestring, v->list) != 0)
        return 1;
    if (!(ch = wbs_wl__read(v, "contact-households", wb_json__get(d, "contactHouseholdId"))))
        return 1;
    d = wb_json__get(ch, "data");
    contact = wbs_wl__read(v, "contacts", wb_json__get(d, "contactId"));
    household = wbs_wl__read(v, "households", wb_json__get(d, "householdId"));
    meta = wb_json__get(ch, "meta");
    if (!contact || !household || !cJSON_IsObject(meta))
        goto cleanup; /* a dangling entry is left out */
    wbs_wl__fold(&newest, &deleted, entry);
    wbs_wl__fold(&newest, &deleted, ch);
    wbs_wl__fold(&newest, &deleted, contact);
    wbs_wl__fold(&newest, &deleted, household);
    rc = -1;
    if (!(data = cJSON_CreateObject()) || !cJSON_AddItemToObject(data, "contact", contact))
        goto cleanup;
    contact = NULL;
    if (!cJSON_AddItemToObject(data, "household", household))
        goto cleanup;
    household = NULL;
    /* newest points into entry or the embedded records, all still alive */
    if ((newest && wbs_wl__set(meta, "modified", cJSON_CreateString(newest)) < 0) ||
        wbs_wl__set(meta, "isDeleted", cJSON_CreateBool(deleted)) < 0)
        goto cleanup;
    if (wbs_wl__set(ch, "data", data) < 0) {
        data = NULL;
        goto cleanup;
    }
    data = NULL;
    *out = ch;
    ch = NULL;
    rc = 0;
cleanup:
    cJSON_Delete(data);
    cJSON_Delete(ch);
    cJSON_Delete(contact);
    cJSON_Delete(household);
    return rc;
}

static void wbs_wl__list_entries(wbs_response *res, wbs_request *req, void *userdata)
{
    wbs_walklist *wl = userdata;
    char id[37], *text = NULL;
    cJSON *env = NULL;
    wbs_wl_view v;
    int rc;

    if (wbs_resource_id(id, res, req) < 0)
        return;
    wbs_records_lock(wl->records);
    rc = wbs_resource_load(&env, &text, res, wl->records, "lists", req->who.customer, id);
    wbs_records_unlock(wl->records);
    cJSON_Delete(env);
    wb__free(text);
    if (rc < 0)
        return;
    v.r = wl->records;
    v.customer = req->who.customer;
    v.list = id;
    wbs_list_respond_view(res, req, wl->records, "contact-household-lists", wbs_wl__view, &v);
}

/* ---- find-or-create ------------------------------------------------------- */

/* Same member in both (deep equality), or absent from both. */
static int wbs_wl__same(const cJSON *a, const cJSON *b, const char *name)
{
    const cJSON *x = wb_json__get(a, name), *y = wb_json__get(b, name);
    return (!x && !y) || (x && y && wb_json__equal(x, y));
}

typedef int (*wbs_wl_match_fn)(const cJSON *stored_data, const cJSON *data);

typedef struct wbs_wl_find {
    wbs_wl_match_fn match;
    const cJSON *data;
    char *found; /* envelope text of the match */
    int oom;
} wbs_wl_find;

static int wbs_wl__find_cb(const char *text, size_t len, void *userdata)
{
    wbs_wl_find *f = userdata;
    cJSON *env = cJSON_ParseWithLength(text, len);
    int hit = env && !cJSON_IsTrue(wb_json__get(wb_json__get(env, "meta"), "isDeleted")) &&
              f->match(wb_json__get(env, "data"), f->data);
    cJSON_Delete(env);
    if (!hit)
        return 0;
    if (!(f->found = wb__strndup(text, len)))
        f->oom = 1;
    return 1;
}

/* §5.1: identical title, given, middlename, surname, suffix and
 * primaryHouseholdId. */
static int wbs_wl__contact_match(const cJSON *stored, const cJSON *data)
{
    static const char *const names[] = {"title", "given", "middlename", "surname", "suffix"};
    const cJSON *a = wb_json__get(wb_json__get(wb_json__get(stored, "profile"), "name"),
                                  "anglican");
    const cJSON *b = wb_json__get(wb_json__get(wb_json__get(data, "profile"), "name"),
                                  "anglican");
    if (!cJSON_IsObject(a) || !wbs_wl__same(stored, data, "primaryHouseholdId"))
        return 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!wbs_wl__same(a, b, names[i]))
            return 0;
    return 1;
}

/* §5.3 leaves "conflicting" open: the same externalId, or the same unit at
 * the same address (addressId, or number, street, city and postal code). */
static int wbs_wl__household_match(const cJSON *stored, const cJSON *data)
{
    static const char *const parts[] = {"number", "streetName", "city", "postalCode"};
    const cJSON *ext = wb_json__get(data, "externalId");
    const cJSON *sa, *da;

    if (cJSON_IsString(ext) && *ext->valuestring && wbs_wl__same(stored, data, "externalId"))
        return 1;
    if (!wbs_wl__same(stored, data, "unitNum"))
        return 0;
    if (wb_json__get(data, "addressId"))
        return wbs_wl__same(stored, data, "addressId");
    sa = wb_json__get(wb_json__get(stored, "address"), "data");
    da = wb_json__get(wb_json__get(data, "address"), "data");
    if (!cJSON_IsObject(sa) || !cJSON_IsObject(da))
        return 0;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        if (!wbs_wl__same(sa, da, parts[i]))
            return 0;
    return 1;
}

/* Checks of a contact's data; NULL when fine, else the message. */
static const char *wbs_wl__contact_invalid(const cJSON *data)
{
    static const char *const optional[] = {"title", "middlename", "suffix"};
    const cJSON *profile = wb_json__get(data, "profile"), *an, *v;

    if (!cJSON_IsObject(profile))
        return "data.profile: required, an object";
    an = wb_json__get(wb_json__get(profile, "name"), "anglican");
    if (!cJSON_IsObject(an))
        return "data.profile.name.anglican: required, an object";
    v = wb_json__get(an, "given");
    if (!cJSON_IsString(v) || !*v->valuestring)
        return "data.profile.name.anglican.given: required, a non-empty string";
    v = wb_json__get(an, "surname");
    if (!cJSON_IsString(v) || !*v->valuestring)
        return "data.profile.name.anglican.surname: required, a non-empty string";
    for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
        v = wb_json__get(an, optional[i]);
        if (v && !cJSON_IsString(v) && !cJSON_IsNull(v))
            return "data.profile.name.anglican: title, middlename and suffix must be strings";
    }
    v = wb_json__get(data, "fields");
    if (v && !cJSON_IsObject(v))
        return "data.fields: must be an object";
    v = wb_json__get(data, "primaryHouseholdId");
    if (v && !(cJSON_IsString(v) && wb_uuid__valid(v->valuestring)))
        return "data.primaryHouseholdId: must be a UUID";
    return NULL;
}

static const char *wbs_wl__household_invalid(const cJSON *data)
{
    const cJSON *v = wb_json__get(data, "unitNum"), *addr, *ad, *co, *lat, *lng;

    if (!cJSON_IsString(v))
        return "data.unitNum: required, a string (\"\" for none)";
    v = wb_json__get(data, "externalId");
    if (v && !cJSON_IsString(v))
        return "data.externalId: must be a string";
    v = wb_json__get(data, "addressId");
    addr = wb_json__get(data, "address");
    if ((v != NULL) == (addr != NULL))
        return "data: give either addressId or address";
    if (v)
        return cJSON_IsString(v) && wb_uuid__valid(v->valuestring)
                   ? NULL
                   : "data.addressId: must be a UUID";
    v = wb_json__get(addr, "id");
    if (v && !(cJSON_IsString(v) && wb_uuid__valid(v->valuestring)))
        return "data.address.id: must be a UUID";
    ad = wb_json__get(addr, "data");
    if (!cJSON_IsObject(ad))
        return "data.address.data: required, an object";
    v = wb_json__get(ad, "streetName");
    if (!cJSON_IsString(v) || !*v->valuestring)
        return "data.address.data.streetName: required, a non-empty string";
    v = wb_json__get(ad, "city");
    if (!cJSON_IsString(v) || !*v->valuestring)
        return "data.address.data.city: required, a non-empty string";
    co = wb_json__get(ad, "coords");
    if (co) {
        lat = wb_json__get(co, "lat");
        lng = wb_json__get(co, "lng");
        if (!cJSON_IsNumber(lat) || lat->valuedouble < -90 || lat->valuedouble > 90)
            return "data.address.data.coords.lat: required, a number from -90 to 90";
        if (!cJSON_IsNumber(lng) || lng->valuedouble < -180 || lng->valuedouble > 180)
            return "data.address.data.coords.lng: required, a number from -180 to 180";
    }
    return NULL;
}

/* Lock held: 1 when (customer, id) of resource exists and is not deleted. */
static int wbs_wl__exists(wbs_records *r, const char *resource, const char *customer,
                          const char *id)
{
    char *text = NULL;
    cJSON *env;
    int live;
    if (wbs_records_get(&text, r, resource, customer, id) != 0)
        return 0;
    env = cJSON_Parse(text);
    live = env && !cJSON_IsTrue(wb_json__get(wb_json__get(env, "meta"), "isDeleted"));
    cJSON_Delete(env);
    wb__free(text);
    return live;
}

typedef struct wbs_wl_kind {
    const char *resource, *base;
    const char *(*invalid)(const cJSON *data);
    wbs_wl_match_fn match;
} wbs_wl_kind;

static const wbs_wl_kind wbs_wl_contacts = {"contacts", "/v2/contacts", wbs_wl__contact_invalid,
                                            wbs_wl__contact_match};
static const wbs_wl_kind wbs_wl_households = {"households", "/v2/households",
                                              wbs_wl__household_invalid,
                                              wbs_wl__household_match};

/* Server-side completion before storing: a household's embedded address
 * gets an id, params.externalId moves into data. 0 or -1 (oom). */
static int wbs_wl__complete(const wbs_wl_kind *k, cJSON *data, const cJSON *body)
{
    cJSON *addr;
    const cJSON *ext = wb_json__get(wb_json__get(body, "params"), "externalId");
    char id[WB_UUID_LEN + 1];

    if (k != &wbs_wl_households)
        return 0;
    if (cJSON_IsString(ext) && !wb_json__get(data, "externalId") &&
        !cJSON_AddStringToObject(data, "externalId", ext->valuestring))
        return -1;
    addr = wb_json__get(data, "address");
    if (addr && !wb_json__get(addr, "id")) {
        cJSON *item;
        wb_uuid__v4(id);
        /* the id leads, as in the examples: linked by hand, since
         * cJSON 1.7.15 will not insert before a first member */
        if (!(item = cJSON_CreateString(id)))
            return -1;
        if (!(item->string = wb__strdup("id"))) {
            cJSON_Delete(item);
            return -1;
        }
        item->next = addr->child;
        if (addr->child) {
            item->prev = addr->child->prev;
            addr->child->prev = item;
        } else {
            item->prev = item;
        }
        addr->child = item;
    }
    return 0;
}

static void wbs_wl__find_or_create(wbs_response *res, wbs_request *req, wbs_walklist *wl,
                                   const wbs_wl_kind *k)
{
    wbs_records *r = wl->records;
    cJSON *body = NULL, *data = NULL, *env = NULL;
    const cJSON *cust, *phh;
    const char *why;
    char id[WB_UUID_LEN + 1], now[WB_TIMESTAMP_LEN + 1], location[96];
    char *text = NULL;
    wbs_wl_find f;
    int rc;

    wb_error_clear();
    if (wb_json__parse(&body, req->body, req->body_len, NULL, "body") < 0) {
        wbs_resource_fail(res, "BadRequestError", "body: not JSON");
        return;
    }
    if (!cJSON_IsObject(wb_json__get(body, "data"))) {
        wbs_respond_error(res, 400, "ValidationError", "data: required, an object");
        goto cleanup;
    }
    cust = wb_json__get(body, "customerId");
    if (cust && !(cJSON_IsString(cust) && strcasecmp(cust->valuestring, req->who.customer) == 0)) {
        wbs_respond_error(res, 403, "ForbiddenError", "customerId: not the caller's customer");
        goto cleanup;
    }
    if ((why = k->invalid(wb_json__get(body, "data")))) {
        wbs_respond_error(res, 400, "ValidationError", why);
        goto cleanup;
    }
    if (!(data = wb_json__dup(wb_json__get(body, "data"))) || wbs_wl__complete(k, data, body) < 0) {
        wbs_respond_error(res, 500, "ServerError", "out of memory");
        goto cleanup;
    }

    wbs_records_lock(r);
    phh = wb_json__get(data, "primaryHouseholdId");
    if (cJSON_IsString(phh) && !wbs_wl__exists(r, "households", req->who.customer,
                                               phh->valuestring)) {
        wbs_respond_error(res, 400, "ValidationError", "data.primaryHouseholdId: no such household");
        goto unlock;
    }
    memset(&f, 0, sizeof(f));
    f.match = k->match;
    f.data = data;
    rc = wbs_records_each(r, k->resource, req->who.customer, wbs_wl__find_cb, &f);
    if (f.found) {
        wbs_respond_text(res, 200, f.found);
        goto unlock;
    }
    if (rc < 0 || f.oom) {
        wbs_respond_error(res, 500, "ServerError", f.oom ? "out of memory" : "storage error");
        goto unlock;
    }
    wb_uuid__v7(id); /* time-ordered: see wbs_ix__create */
    wbs_records_next_modified(r, now);
    env = wbs_resource_new_envelope(id, data, &req->who, now, k->resource);
    data = NULL;
    if (!env || !(text = wbs_etag_stamp(env, NULL))) {
        wbs_respond_error(res, 500, "ServerError", "out of memory");
        goto unlock;
    }
    if (wbs_records_put(r, k->resource, req->who.customer, id, text, now) < 0) {
        wbs_respond_error(res, 500, "ServerError", "storage error");
        goto unlock;
    }
    wbs_respond_text(res, 201, text);
    text = NULL;
    snprintf(location, sizeof(location), "%s/%s", k->base, id);
    wbs_response_header(res, "Location", location);
unlock:
    wbs_records_unlock(r);
cleanup:
    wb__free(text);
    cJSON_Delete(env);
    cJSON_Delete(data);
    cJSON_Delete(body);
}

static void wbs_wl__contact_create(wbs_response *res, wbs_request *req, void *userdata)
{
    wbs_wl__find_or_create(res, req, userdata, &wbs_wl_contacts);
}

static void wbs_wl__household_create(wbs_response *res, wbs_request *req, void *userdata)
{
    wbs_wl__find_or_create(res, req, userdata, &wbs_wl_households);
}

int wbs_walklist_routes(wbs_http *h, wbs_walklist *wl)
{
    static const char *const tables[] = {"contact-households", "contact-household-lists"};
    char one[64];
    int rc = 0;

    wbs_records_lock(wl->records);
    for (size_t i = 0; i < WBS_WL_N; i++)
        rc |= wbs_records_ensure(wl->records, wbs_wl_resources[i].resource);
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
        rc |= wbs_records_ensure(wl->records, tables[i]);
    wbs_records_unlock(wl->records);
    if (rc < 0)
        return -1;
    if (wbs_http_route(h, "POST", "/v2/contacts", WBS_ROUTE_AUTH, wbs_wl__contact_create, wl) < 0 ||
        wbs_http_route(h, "POST", "/v2/households", WBS_ROUTE_AUTH, wbs_wl__household_create,
                       wl) < 0 ||
        wbs_http_route(h, "GET", "/v1/lists/*/contact-households", WBS_ROUTE_AUTH,
                       wbs_wl__list_entries, wl) < 0)
        return -1;
    for (size_t i = 0; i < WBS_WL_N; i++) {
        snprintf(one, sizeof(one), "%s/*", wbs_wl_resources[i].base);
        if (wbs_http_route(h, "GET", wbs_wl_resources[i].base, WBS_ROUTE_AUTH, wbs_wl__list,
                           &wl->routes[i]) < 0 ||
            wbs_http_route(h, "GET", one, WBS_ROUTE_AUTH, wbs_wl__get, &wl->routes[i]) < 0)
            return -1;
        if (wbs_wl_resources[i].base[2] == '2' && /* contacts, households */
            wbs_http_route(h, "DELETE", one, WBS_ROUTE_AUTH, wbs_wl__delete, &wl->routes[i]) < 0)
            return -1;
    }
    return 0;
}
