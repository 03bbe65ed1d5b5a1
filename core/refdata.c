/*
 * refdata.c - read-only caches of the server's reference records and the
 * walk-list membership with its geo index (schema 004).
 *
 * Envelopes are kept whole in ref_records; the few members the store
 * computes with are copied into side tables when an envelope is applied:
 * a household's coordinates (ref_households, walklist_geo), a
 * contact-household link's pair (ref_contact_households), a campaign's
 * lists (ref_walklists). A tombstone removes the copies but keeps the
 * envelope, so that an older page replayed later cannot revive it.
 */
#include <math.h>
#include <string.h>

#include "geodesic.h"
#include "refdata.h"
#include "timeutil.h"

static const char *const resources[] = {"campaigns", "surveys",  "lists",
                                        "households", "contacts", "contact-households"};

int wb_ref__known_resource(const char *resource)
{
    for (size_t i = 0; i < WB__ARRAY_SIZE(resources); i++)
        if (resource && strcmp(resources[i], resource) == 0)
            return 1;
    return 0;
}

static int check_resource(const char *resource)
{
    if (!wb_ref__known_resource(resource))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "resource: must be campaigns, surveys, lists, households, contacts"
                             " or contact-households");
    return 0;
}

void wb_ref__ecef(double lat, double lng, double xyz[3])
{
    const double e2 = WB_GEODESIC__F * (2.0 - WB_GEODESIC__F);
    const double deg = 3.14159265358979323846 / 180.0;
    double sp = sin(lat * deg), cp = cos(lat * deg);
    double n = WB_GEODESIC__A / sqrt(1.0 - e2 * sp * sp);
    xyz[0] = n * cp * cos(lng * deg);
    xyz[1] = n * cp * sin(lng * deg);
    xyz[2] = n * (1.0 - e2) * sp;
}

int wb_ref__check_point(double lat, double lng, const char *what)
{
    if (!isfinite(lat) || lat < -90.0 || lat > 90.0)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "%s.lat: must be between -90 and 90", what);
    if (!isfinite(lng) || lng < -180.0 || lng > 180.0)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "%s.lng: must be between -180 and 180", what);
    return 0;
}

static const char *str_member(const cJSON *obj, const char *name)
{
    const cJSON *item = wb_json__get(obj, name);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

static int step_done(wb_store *store, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return wb_store__sqlite_error(store, rc, what);
    return 0;
}

int wb_ref__walklist_find(int64_t *out_wid, wb_store *store, const char *walklist_id)
{
    sqlite3_stmt *st;
    int error, rc;
    if ((error = wb_store__stmt(&st, store, WB_STMT_WL_GET)) < 0)
        return error;
    sqlite3_bind_text(st, 1, walklist_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out_wid = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return WB_ENOTFOUND;
    return wb_store__sqlite_error(store, rc, "walk list");
}

int wb_ref__walklist(int64_t *out_wid, wb_store *store, const char *walklist_id,
                     const char *campaign_id)
{
    sqlite3_stmt *st = NULL;
    int error, rc;

    error = wb_ref__walklist_find(out_wid, store, walklist_id);
    if (error == 0 && !campaign_id)
        return 0;
    if (error < 0 && error != WB_ENOTFOUND)
        return error;
    rc = sqlite3_prepare_v2(store->db,
                            error == 0 ? "UPDATE ref_walklists SET campaign_id = ?2 WHERE id = ?1"
                                       : "INSERT INTO ref_walklists (id, campaign_id) VALUES (?1, ?2)",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, walklist_id, -1, SQLITE_STATIC);
        if (campaign_id)
            sqlite3_bind_text(st, 2, campaign_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return wb_store__sqlite_error(store, rc, "walk list");
    if (error == WB_ENOTFOUND)
        *out_wid = sqlite3_last_insert_rowid(store->db);
    return 0;
}

int wb_ref__household_location(int *found, double *lat, double *lng, wb_store *store,
                               const char *household_id)
{
    sqlite3_stmt *st;
    int error, rc;
    *found = 0;
    if ((error = wb_store__stmt(&st, store, WB_STMT_HH_GET)) < 0)
        return error;
    sqlite3_bind_text(st, 1, household_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *lat = sqlite3_column_double(st, 0);
        *lng = sqlite3_column_double(st, 1);
        *found = 1;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return wb_store__sqlite_error(store, rc, "household");
    return 0;
}

/* Write (or remove) the geo index row of one membership. */
static int geo_put(wb_store *store, int64_t rid, int64_t wid, int located, double lat, double lng)
{
    sqlite3_stmt *st;
    int error;
    if ((error = wb_store__stmt(&st, store, located ? WB_STMT_GEO_PUT : WB_STMT_GEO_DELETE)) < 0)
        return error;
    sqlite3_bind_int64(st, 1, rid);
    if (located) {
        double xyz[3];
        wb_ref__ecef(lat, lng, xyz);
        sqlite3_bind_int64(st, 2, wid);
        sqlite3_bind_double(st, 3, xyz[0]);
        sqlite3_bind_double(st, 4, xyz[1]);
        sqlite3_bind_double(st, 5, xyz[2]);
    }
    return step_done(store, st, "geo index");
}

/* Re-index every membership of a household after its location changed. */
static int reindex_household(wb_store *store, const char *household_id)
{
    sqlite3_stmt *st;
    int64_t (*rows)[2] = NULL;
    size_t n = 0, cap = 0;
    double lat = 0.0, lng = 0.0;
    int error, rc, found;

    if ((error = wb_ref__household_location(&found, &lat, &lng, store, household_id)) < 0)
        return error;
    if ((error = wb_store__stmt(&st, store, WB_STMT_MEMBERS_OF_HH)) < 0)
        return error;
    sqlite3_bind_text(st, 1, household_id, -1, SQLITE_STATIC);
    /* Collect first: geo_put reuses cached statements. */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            void *p = wb__realloc(rows, ncap * sizeof(*rows));
            if (!p) {
                sqlite3_reset(st);
                wb__free(rows);
                return wb_error__oom();
            }
            rows = p;
            cap = ncap;
        }
        rows[n][0] = sqlite3_column_int64(st, 0);
        rows[n][1] = sqlite3_column_int64(st, 1);
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        error = wb_store__sqlite_error(store, rc, "walk list");
    for (size_t i = 0; error == 0 && i < n; i++)
        error = geo_put(store, rows[i][0], rows[i][1], found, lat, lng);
    wb__free(rows);
    return error;
}

int wb_ref__member_add(wb_store *store, int64_t wid, const char *household_id)
{
    sqlite3_stmt *st;
    double lat = 0.0, lng = 0.0;
    int error, found;

    if ((error = wb_store__stmt(&st, store, WB_STMT_MEMBER_PUT)) < 0)
        return error;
    sqlite3_bind_int64(st, 1, wid);
    sqlite3_bind_text(st, 2, household_id, -1, SQLITE_STATIC);
    if ((error = step_done(store, st, "walk list")) < 0)
        return error;
    if (sqlite3_changes(store->db) == 0)
        return 0; /* already on it */
    if ((error = wb_ref__household_location(&found, &lat, &lng, store, household_id)) < 0)
        return error;
    return found ? geo_put(store, sqlite3_last_insert_rowid(store->db), wid, 1, lat, lng) : 0;
}

static int exec_bind1(wb_store *store, const char *sql, const char *a, const char *b,
                      const char *c);

int wb_ref__member_drop_all(wb_store *store, const char *household_id)
{
    int error = exec_bind1(store,
                           "DELETE FROM walklist_geo WHERE rid IN (SELECT rid FROM"
                           " ref_walklist_households WHERE household_id = ?1)",
                           household_id, NULL, NULL);
    if (error == 0)
        error = exec_bind1(store, "DELETE FROM ref_walklist_households WHERE household_id = ?1",
                           household_id, NULL, NULL);
    return error;
}

int wb_ref__member_remove(wb_store *store, int64_t wid, const char *household_id)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db,
                                "DELETE FROM walklist_geo WHERE rid IN (SELECT rid FROM"
                                " ref_walklist_households WHERE wid = ?1 AND household_id = ?2)",
                                -1, &st, NULL);
    for (int round = 0; round < 2 && rc == SQLITE_OK; round++) {
        sqlite3_bind_int64(st, 1, wid);
        sqlite3_bind_text(st, 2, household_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        st = NULL;
        if (rc != SQLITE_DONE)
            break;
        rc = round ? SQLITE_DONE
                   : sqlite3_prepare_v2(store->db,
                                        "DELETE FROM ref_walklist_households WHERE wid = ?1 AND"
                                        " household_id = ?2",
                                        -1, &st, NULL);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return wb_store__sqlite_error(store, rc, "walk list");
    return 0;
}

/* Household side table from data.address.data.coords and
 * formattedAddress. */
static int apply_household(wb_store *store, const char *id, const cJSON *data)
{
    const cJSON *addr = wb_json__get(wb_json__get(data, "address"), "data");
    const cJSON *coords = wb_json__get(addr, "coords");
    const cJSON *lat = wb_json__get(coords, "lat"), *lng = wb_json__get(coords, "lng");
    const char *formatted = str_member(data, "formattedAddress");
    sqlite3_stmt *st;
    int error, located = cJSON_IsNumber(lat) && cJSON_IsNumber(lng);

    if (coords && !cJSON_IsObject(coords))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "households.data.address.data.coords: must be an object");
    if (located && (error = wb_ref__check_point(lat->valuedouble, lng->valuedouble,
                                                "households.data.address.data.coords")) < 0)
        return error;
    if ((error = wb_store__stmt(&st, store, WB_STMT_HH_PUT)) < 0)
        return error;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (located) {
        sqlite3_bind_double(st, 2, lat->valuedouble);
        sqlite3_bind_double(st, 3, lng->valuedouble);
    }
    if (formatted)
        sqlite3_bind_text(st, 4, formatted, -1, SQLITE_STATIC);
    if ((error = step_done(store, st, "household")) < 0)
        return error;
    return reindex_household(store, id);
}

static int exec_bind1(wb_store *store, const char *sql, const char *a, const char *b,
                      const char *c)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
        if (b)
            sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
        if (c)
            sqlite3_bind_text(st, 3, c, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return wb_store__sqlite_error(store, rc, "reference data");
    return 0;
}

static int apply_link(wb_store *store, const char *id, const cJSON *data, int deleted)
{
    const char *contact = str_member(data, "contactId"), *household = str_member(data, "householdId");
    if (deleted)
        return exec_bind1(store, "DELETE FROM ref_contact_households WHERE id = ?1", id, NULL,
                          NULL);
    if (!contact || !wb_uuid__valid(contact))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "contact-households.data.contactId: must be a UUID");
    if (!household || !wb_uuid__valid(household))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "contact-households.data.householdId: must be a UUID");
    return exec_bind1(store,
                      "INSERT OR REPLACE INTO ref_contact_households (id, contact_id, household_id)"
                      " VALUES (?1, ?2, ?3)",
                      id, contact, household);
}

static int apply_campaign(wb_store *store, const char *id, const cJSON *data)
{
    const cJSON *lists = wb_json__get(data, "lists"), *item;
    int error = 0;
    cJSON_ArrayForEach(item, lists)
    {
        const char *list = str_member(item, "listId");
        int64_t wid;
        if (list && wb_uuid__valid(list) && (error = wb_ref__walklist(&wid, store, list, id)) < 0)
            break;
    }
    return error;
}

int wb_ref__upsert(int *out_applied, wb_store *store, const char *resource, const cJSON *env)
{
    const char *id = str_member(env, "id");
    const cJSON *meta = wb_json__get(env, "meta"), *data = wb_json__get(env, "data");
    const char *modified = str_member(meta, "modified");
    int deleted = cJSON_IsTrue(wb_json__get(meta, "isDeleted"));
    char *text = NULL;
    sqlite3_stmt *st;
    int error, rc;

    if (out_applied)
        *out_applied = 0;
    if (!cJSON_IsObject(env))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "%s: must be an object", resource);
    if (!id || !wb_uuid__valid(id))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "%s.id: must be a UUID", resource);
    if (!deleted && !cJSON_IsObject(data))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "%s.data: must be an object",
                             resource);
    if (meta && !cJSON_IsObject(meta))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "%s.meta: must be an object",
                             resource);
    if (!modified)
        modified = "";
    /* An older copy than the one cached changes nothing. */
    if ((error = wb_store__stmt(&st, store, WB_STMT_REF_MODIFIED)) < 0)
        return error;
    sqlite3_bind_text(st, 1, resource, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), modified) > 0) {
        sqlite3_reset(st);
        return 0;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return wb_store__sqlite_error(store, rc, "reference data");

    if (strcmp(resource, "households") == 0) {
        if (deleted) {
            if ((error = wb_ref__member_drop_all(store, id)) < 0 ||
                (error = wb_store__stmt(&st, store, WB_STMT_HH_DELETE)) < 0)
                return error;
            sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
            error = step_done(store, st, "household");
        } else {
            error = apply_household(store, id, data);
        }
    } else if (strcmp(resource, "contact-households") == 0) {
        error = apply_link(store, id, data, deleted);
    } else if (strcmp(resource, "campaigns") == 0 && !deleted) {
        error = apply_campaign(store, id, data);
    } else if (strcmp(resource, "lists") == 0 && !deleted) {
        int64_t wid;
        error = wb_ref__walklist(&wid, store, id, NULL);
    }
    if (error < 0)
        return error;

    if (!(text = wb_json__print(env)))
        return WB_ENOMEM;
    if ((error = wb_store__stmt(&st, store, WB_STMT_REF_PUT)) < 0)
        goto cleanup;
    sqlite3_bind_text(st, 1, resource, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, modified, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, deleted);
    if ((error = step_done(store, st, "reference data")) < 0)
        goto cleanup;
    if (out_applied)
        *out_applied = 1;
cleanup:
    wb__free(text);
    return error;
}

int wb_ref__get_tree(cJSON **out, wb_store *store, const char *resource, const char *id)
{
    sqlite3_stmt *st = NULL;
    int rc, error = WB_ENOTFOUND;
    rc = sqlite3_prepare_v2(store->db,
                            "SELECT wb_open('ref_records', 'envelope', id, envelope) FROM"
                            " ref_records WHERE resource = ?1 AND id = ?2 AND deleted = 0",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, resource, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW)
        error = wb_json__parse(out, (const char *)sqlite3_column_text(st, 0),
                               (size_t)sqlite3_column_bytes(st, 0), NULL, "cached envelope");
    else if (rc != SQLITE_DONE)
        error = wb_store__sqlite_error(store, rc, "reference data");
    sqlite3_finalize(st);
    return error;
}

static int check_writable(wb_store *store)
{
    if (store->readonly)
        return wb_error__set(WB_EREADONLY, WB_ERRCLASS_STORE, "store is read-only");
    return 0;
}

int wb_ref_upsert(wb_store *store, const char *resource, const char *envelope)
{
    cJSON *env = NULL;
    int error;

    wb_error__reset();
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(envelope);
    if ((error = check_resource(resource)) < 0 || (error = check_writable(store)) < 0)
        return error;
    if ((error = wb_json__parse(&env, envelope, strlen(envelope), NULL, resource)) < 0)
        return error;
    if ((error = wb_store__begin(store)) < 0)
        goto cleanup;
    if ((error = wb_ref__upsert(NULL, store, resource, env)) < 0) {
        wb_store__rollback(store);
        goto cleanup;
    }
    error = wb_store__commit(store);
cleanup:
    cJSON_Delete(env);
    return error;
}

int wb_ref_get(char **out_json, wb_store *store, const char *resource, const char *id)
{
    cJSON *env = NULL;
    int error;

    wb_error__reset();
    WB__CHECK_ARG(out_json);
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(id);
    *out_json = NULL;
    if ((error = check_resource(resource)) < 0)
        return error;
    if (!wb_uuid__valid(id))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "id: must be a UUID");
    error = wb_ref__get_tree(&env, store, resource, id);
    if (error == WB_ENOTFOUND)
        return wb_error__set(WB_ENOTFOUND, WB_ERRCLASS_STORE, "%s %s: not in the local cache",
                             resource, id);
    if (error < 0)
        return error;
    if (!(*out_json = wb_json__print(env)))
        error = WB_ENOMEM;
    cJSON_Delete(env);
    return error;
}

int wb_ref_list(char **out_json, wb_store *store, const char *resource)
{
    wb_buf b = WB_BUF_INIT;
    sqlite3_stmt *st = NULL;
    int error, rc, first = 1;

    wb_error__reset();
    WB__CHECK_ARG(out_json);
    WB__CHECK_ARG(store);
    *out_json = NULL;
    if ((error = check_resource(resource)) < 0)
        return error;
    rc = sqlite3_prepare_v2(store->db,
                            "SELECT wb_open('ref_records', 'envelope', id, envelope) FROM"
                            " ref_records WHERE resource = ?1 AND deleted = 0 ORDER BY id",
                            -1, &st, NULL);
    if (rc == SQLITE_OK)
        sqlite3_bind_text(st, 1, resource, -1, SQLITE_STATIC);
    wb_buf__putc(&b, '[');
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!first)
            wb_buf__putc(&b, ',');
        first = 0;
        wb_buf__put(&b, (const char *)sqlite3_column_text(st, 0),
                    (size_t)sqlite3_column_bytes(st, 0));
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        error = wb_store__sqlite_error(store, rc, "reference data");
        goto cleanup;
    }
    wb_buf__putc(&b, ']');
    if (!(*out_json = wb_buf__detach(&b)))
        error = wb_error__oom();
cleanup:
    wb_buf__free(&b);
    return error;
}

int wb_walklist_add_household(wb_store *store, const char *walklist_id, const char *campaign_id,
                              const char *household_id)
{
    int64_t wid;
    int error;

    wb_error__reset();
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(walklist_id);
    WB__CHECK_ARG(household_id);
    if (!wb_uuid__valid(walklist_id))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "walklist_id: must be a UUID");
    if (campaign_id && !wb_uuid__valid(campaign_id))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "campaign_id: must be a UUID");
    if (!wb_uuid__valid(household_id))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "household_id: must be a UUID");
    if ((error = check_writable(store)) < 0 || (error = wb_store__begin(store)) < 0)
        return error;
    if ((error = wb_ref__walklist(&wid, store, walklist_id, campaign_id)) < 0 ||
        (error = wb_ref__member_add(store, wid, household_id)) < 0) {
        wb_store__rollback(store);
        return error;
    }
    return wb_store__commit(store);
}
