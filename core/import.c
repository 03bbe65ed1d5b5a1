/*
 * import.c - households and contacts prepared on a desktop (CSV with a
 * header row, or GeoJSON Point features), imported into the reference
 * cache all or nothing, with errors naming the row and the field.
 *
 * Each input row becomes the envelope the server would send (households
 * with data.address.data.coords, contacts with profile.name.anglican, a
 * contact-household link when a contact names its household), stamped with
 * the import time as meta.modified so that it replaces older cached copies.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "refdata.h"
#include "timeutil.h"

/* Column names an import understands (case-insensitive in CSV headers). */
enum col { C_ID, C_LAT, C_LNG, C_ADDRESS, C_WALKLIST, C_CAMPAIGN, C_HOUSEHOLD, C_LINK, C_GIVEN,
           C_SURNAME, C__COUNT };
static const char *const col_names[C__COUNT] = {"id",          "lat",       "lng",
                                                "address",     "walklistId", "campaignId",
                                                "householdId", "contactHouseholdId", "given",
                                                "surname"};

/* One input row: borrowed strings (NULL when absent or empty). */
typedef struct row {
    const char *v[C__COUNT];
    int has_point;
    double lat, lng;
} row;

typedef struct importer {
    wb_store *store;
    int contacts; /* 0 households, 1 contacts */
    char now[WB_TIMESTAMP_LEN + 1];
    char where[64]; /* "line 4" or "features[2]" */
    uint64_t count;
} importer;

static int row_error(const importer *im, const char *field, const char *problem)
{
    return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "%s: %s: %s", im->where, field,
                         problem);
}

static int check_uuid(const importer *im, const row *r, enum col c, int required)
{
    if (!r->v[c])
        return required ? row_error(im, col_names[c], "required") : 0;
    if (!wb_uuid__valid(r->v[c]))
        return row_error(im, col_names[c], "must be a UUID");
    return 0;
}

static cJSON *meta_object(const importer *im, const char *resource)
{
    cJSON *meta = cJSON_CreateObject();
    if (meta && (!cJSON_AddStringToObject(meta, "modified", im->now) ||
                 !cJSON_AddFalseToObject(meta, "isDeleted") ||
                 !cJSON_AddStringToObject(meta, "resource", resource))) {
        cJSON_Delete(meta);
        meta = NULL;
    }
    return meta;
}

/* {"id","data","meta"}; takes data. */
static cJSON *envelope(const importer *im, const char *id, cJSON *data, const char *resource)
{
    cJSON *env = cJSON_CreateObject(), *meta = meta_object(im, resource);
    if (!env || !data || !meta || !cJSON_AddStringToObject(env, "id", id) ||
        !cJSON_AddItemToObject(env, "data", data)) {
        cJSON_Delete(env);
        cJSON_Delete(data);
        cJSON_Delete(meta);
        return NULL;
    }
    if (!cJSON_AddItemToObject(env, "meta", meta)) {
        cJSON_Delete(meta);
        cJSON_Delete(env);
        return NULL;
    }
    return env;
}

static int upsert(importer *im, const char *resource, cJSON *env)
{
    int error;
    if (!env)
        return wb_error__oom();
    error = wb_ref__upsert(NULL, im->store, resource, env);
    cJSON_Delete(env);
    if (error < 0)
        wb_error__prefix(im->where);
    return error;
}

static int add_to_walklist(importer *im, const row *r, const char *household)
{
    int64_t wid;
    int error;
    if (!r->v[C_WALKLIST] || !household)
        return 0;
    if ((error = wb_ref__walklist(&wid, im->store, r->v[C_WALKLIST], r->v[C_CAMPAIGN])) < 0)
        return error;
    return wb_ref__member_add(im->store, wid, household);
}

static int import_household(importer *im, const row *r)
{
    cJSON *data = NULL, *addr, *coords;
    int error;

    if ((error = check_uuid(im, r, C_ID, 1)) < 0 || (error = check_uuid(im, r, C_WALKLIST, 0)) < 0 ||
        (error = check_uuid(im, r, C_CAMPAIGN, 0)) < 0)
        return error;
    if (!r->has_point)
        return row_error(im, "lat", "required");
    if (!isfinite(r->lat) || r->lat < -90.0 || r->lat > 90.0)
        return row_error(im, "lat", "must be between -90 and 90");
    if (!isfinite(r->lng) || r->lng < -180.0 || r->lng > 180.0)
        return row_error(im, "lng", "must be between -180 and 180");
    if (!(data = cJSON_CreateObject()) || !cJSON_AddStringToObject(data, "unitNum", "") ||
        !(addr = cJSON_AddObjectToObject(cJSON_AddObjectToObject(data, "address"), "data")) ||
        !(coords = cJSON_AddObjectToObject(addr, "coords")) ||
        !cJSON_AddNumberToObject(coords, "lat", r->lat) ||
        !cJSON_AddNumberToObject(coords, "lng", r->lng) ||
        (r->v[C_ADDRESS] && !cJSON_AddStringToObject(data, "formattedAddress", r->v[C_ADDRESS]))) {
        cJSON_Delete(data);
        return wb_error__oom();
    }
    if ((error = upsert(im, "households", envelope(im, r->v[C_ID], data, "households"))) < 0)
        return error;
    return add_to_walklist(im, r, r->v[C_ID]);
}

static int import_contact(importer *im, const row *r)
{
    cJSON *data = NULL, *name;
    char link[WB_UUID_LEN + 1];
    int error;

    if ((error = check_uuid(im, r, C_ID, 1)) < 0 || (error = check_uuid(im, r, C_HOUSEHOLD, 0)) < 0 ||
        (error = check_uuid(im, r, C_LINK, 0)) < 0 || (error = check_uuid(im, r, C_WALKLIST, 0)) < 0 ||
        (error = check_uuid(im, r, C_CAMPAIGN, 0)) < 0)
        return error;
    if (r->v[C_LINK] && !r->v[C_HOUSEHOLD])
        return row_error(im, "householdId", "required with contactHouseholdId");
    if (!(data = cJSON_CreateObject()) || !cJSON_AddObjectToObject(data, "fields") ||
        !(name = cJSON_AddObjectToObject(
              cJSON_AddObjectToObject(cJSON_AddObjectToObject(data, "profile"), "name"),
              "anglican")) ||
        (r->v[C_GIVEN] && !cJSON_AddStringToObject(name, "given", r->v[C_GIVEN])) ||
        (r->v[C_SURNAME] && !cJSON_AddStringToObject(name, "surname", r->v[C_SURNAME])) ||
        (r->v[C_HOUSEHOLD] &&
         !cJSON_AddStringToObject(data, "primaryHouseholdId", r->v[C_HOUSEHOLD]))) {
        cJSON_Delete(data);
        return wb_error__oom();
    }
    if ((error = upsert(im, "contacts", envelope(im, r->v[C_ID], data, "contacts"))) < 0)
        return error;
    if (!r->v[C_HOUSEHOLD])
        return 0;
    if (r->v[C_LINK])
        snprintf(link, sizeof(link), "%s", r->v[C_LINK]);
    else
        wb_uuid__v4(link);
    if (!(data = cJSON_CreateObject()) || !cJSON_AddStringToObject(data, "contactId", r->v[C_ID]) ||
        !cJSON_AddStringToObject(data, "householdId", r->v[C_HOUSEHOLD])) {
        cJSON_Delete(data);
        return wb_error__oom();
    }
    if ((error = upsert(im, "contact-households",
                        envelope(im, link, data, "contact-households"))) < 0)
        return error;
    return add_to_walklist(im, r, r->v[C_HOUSEHOLD]);
}

static int import_row(importer *im, const row *r)
{
    int error = im->contacts ? import_contact(im, r) : import_household(im, r);
    if (error == 0)
        im->count++;
    return error;
}

/* ---- CSV (RFC 4180: quotes, doubled quotes, CRLF or LF) ----------------- */

#define CSV_MAX_FIELDS 64

typedef struct csv {
    char *p, *end;
    int line;
} csv;

/* Split the next record in place into fields (NUL-terminated, unquoted).
 * Returns the number of fields, 0 at the end, or WB_EINVALID. */
static int csv_record(csv *c, char **fields, int *line_of_record)
{
    int n = 0;
    if (c->p >= c->end)
        return 0;
    *line_of_record = c->line;
    for (;;) {
        char *out = c->p, *start = c->p;
        if (n == CSV_MAX_FIELDS)
            return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                                 "line %d: more than %d columns", c->line, CSV_MAX_FIELDS);
        if (c->p < c->end && *c->p == '"') {
            c->p++;
            for (;;) {
                if (c->p >= c->end)
                    return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                                         "line %d: unterminated quoted field", *line_of_record);
                if (*c->p == '"') {
                    if (c->p + 1 < c->end && c->p[1] == '"') {
                        *out++ = '"';
                        c->p += 2;
                        continue;
                    }
                    c->p++;
                    break;
                }
                if (*c->p == '\n')
                    c->line++;
                *out++ = *c->p++;
            }
            if (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
                return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                                     "line %d: text after a closing quote", c->line);
        } else {
            while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
                out++, c->p++;
        }
        fields[n++] = start;
        if (c->p < c->end && *c->p == ',') {
            *out = '\0';
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == '\r')
            c->p++;
        if (c->p < c->end && *c->p == '\n')
            c->p++;
        *out = '\0';
        c->line++;
        return n;
    }
}

static int parse_number(double *out, const char *s)
{
    char *end;
    if (!s)
        return -1;
    *out = strtod(s, &end);
    while (*end == ' ')
        end++;
    return end == s || *end ? -1 : 0;
}

static int import_csv(importer *im, char *text, size_t len)
{
    csv c = {text, text + len, 1};
    char *fields[CSV_MAX_FIELDS];
    int map[C__COUNT], n_head, n, line, error;

    for (int i = 0; i < C__COUNT; i++)
        map[i] = -1;
    if ((n_head = csv_record(&c, fields, &line)) <= 0)
        return n_head < 0 ? n_head
                          : wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                                          "line 1: a header row is required");
    for (int f = 0; f < n_head; f++) {
        for (int i = 0; i < C__COUNT; i++) {
            if (strcasecmp(fields[f], col_names[i]) == 0) {
                if (map[i] >= 0)
                    return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                                         "line 1: column %s appears twice", col_names[i]);
                map[i] = f;
            }
        }
    }
    if (map[C_ID] < 0)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "line 1: column id is required");
    if (!im->contacts && (map[C_LAT] < 0 || map[C_LNG] < 0))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "line 1: columns lat and lng are required");
    while ((n = csv_record(&c, fields, &line)) > 0) {
        row r;
        memset(&r, 0, sizeof(r));
        if (n == 1 && fields[0][0] == '\0')
            continue; /* blank line */
        snprintf(im->where, sizeof(im->where), "line %d", line);
        if (n != n_head)
            return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                                 "line %d: %d columns, the header has %d", line, n, n_head);
        for (int i = 0; i < C__COUNT; i++)
            if (map[i] >= 0 && fields[map[i]][0])
                r.v[i] = fields[map[i]];
        if (r.v[C_LAT] || r.v[C_LNG]) {
            if (parse_number(&r.lat, r.v[C_LAT]) < 0)
                return row_error(im, "lat", r.v[C_LAT] ? "must be a number" : "required");
            if (parse_number(&r.lng, r.v[C_LNG]) < 0)
                return row_error(im, "lng", r.v[C_LNG] ? "must be a number" : "required");
            r.has_point = 1;
        }
        if ((error = import_row(im, &r)) < 0)
            return error;
    }
    return n;
}

/* ---- GeoJSON ------------------------------------------------------------- */

static int import_geojson(importer *im, const char *text, size_t len)
{
    cJSON *doc = NULL;
    const cJSON *features, *f;
    int error, i = 0;

    if ((error = wb_json__parse(&doc, text, len, NULL, "GeoJSON")) < 0)
        return error;
    features = wb_json__get(doc, "features");
    if (!cJSON_IsArray(features)) {
        error = wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                              "features: a FeatureCollection with a features array is required");
        goto cleanup;
    }
    cJSON_ArrayForEach(f, features)
    {
        const cJSON *props = wb_json__get(f, "properties"), *geom = wb_json__get(f, "geometry");
        const cJSON *coords = wb_json__get(geom, "coordinates");
        row r;
        memset(&r, 0, sizeof(r));
        snprintf(im->where, sizeof(im->where), "features[%d]", i++);
        if (!cJSON_IsObject(props)) {
            error = row_error(im, "properties", "must be an object");
            goto cleanup;
        }
        for (int c = 0; c < C__COUNT; c++) {
            const cJSON *v = wb_json__get(props, col_names[c]);
            if (c == C_LAT || c == C_LNG || !v || cJSON_IsNull(v))
                continue;
            if (!cJSON_IsString(v)) {
                char field[64];
                snprintf(field, sizeof(field), "properties.%s", col_names[c]);
                error = row_error(im, field, "must be a string");
                goto cleanup;
            }
            if (v->valuestring[0])
                r.v[c] = v->valuestring;
        }
        if (geom && !cJSON_IsNull(geom)) {
            const cJSON *type = wb_json__get(geom, "type");
            if (!cJSON_IsString(type) || strcmp(type->valuestring, "Point") != 0) {
                error = row_error(im, "geometry.type", "must be \"Point\"");
                goto cleanup;
            }
            if (cJSON_GetArraySize(coords) < 2 ||
                !cJSON_IsNumber(cJSON_GetArrayItem(coords, 0)) ||
                !cJSON_IsNumber(cJSON_GetArrayItem(coords, 1))) {
                error = row_error(im, "geometry.coordinates", "must be [lng, lat]");
                goto cleanup;
            }
            r.lng = cJSON_GetArrayItem(coords, 0)->valuedouble;
            r.lat = cJSON_GetArrayItem(coords, 1)->valuedouble;
            r.has_point = 1;
        } else if (!im->contacts) {
            error = row_error(im, "geometry", "a Point is required");
            goto cleanup;
        }
        if (!r.v[C_ID]) {
            error = row_error(im, "properties.id", "required");
            goto cleanup;
        }
        if ((error = import_row(im, &r)) < 0)
            goto cleanup;
    }
cleanup:
    cJSON_Delete(doc);
    return error;
}

int wb_ref_import(uint64_t *out_count, wb_store *store, const char *kind, const char *text,
                  size_t len)
{
    importer im;
    char *copy = NULL;
    size_t skip = 0;
    int error;

    wb_error__reset();
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(kind);
    WB__CHECK_ARG(text);
    if (out_count)
        *out_count = 0;
    memset(&im, 0, sizeof(im));
    im.store = store;
    if (strcmp(kind, "households") == 0)
        im.contacts = 0;
    else if (strcmp(kind, "contacts") == 0)
        im.contacts = 1;
    else
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "kind: must be \"households\" or \"contacts\"");
    if (store->readonly)
        return wb_error__set(WB_EREADONLY, WB_ERRCLASS_STORE, "store is read-only");
    if (memchr(text, '\0', len))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "input: contains a NUL byte");
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        skip = 3; /* a UTF-8 byte order mark from a spreadsheet */
    wb_store__next_modified(store, im.now);
    if ((error = wb_store__begin(store)) < 0)
        return error;
    {
        size_t k = skip;
        while (k < len && (text[k] == ' ' || text[k] == '\t' || text[k] == '\r' || text[k] == '\n'))
            k++;
        if (k < len && text[k] == '{') {
            error = import_geojson(&im, text + skip, len - skip);
        } else if (!(copy = wb__malloc(len - skip + 1))) {
            error = wb_error__oom();
        } else {
            memcpy(copy, text + skip, len - skip);
            copy[len - skip] = '\0';
            error = import_csv(&im, copy, len - skip);
        }
    }
    if (error < 0) {
        wb_store__rollback(store);
        goto cleanup;
    }
    if ((error = wb_store__commit(store)) < 0)
        goto cleanup;
    if (out_count)
        *out_count = im.count;
cleanup:
    wb__free(copy);
    return error;
}
