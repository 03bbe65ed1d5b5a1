/*
 * gps.c - recording with the canvasser's GPS fix: the Polis `distance`
 * (geodesic statute miles from the fix to the cached household location,
 * DESIGN.md "GPS and distance"), the fraud signals stored with each
 * interaction, the checks against the cached reference data, and the
 * per-campaign settings that tune them.
 */
#include <math.h>
#include <string.h>

#include "crypto.h"
#include "geodesic.h"
#include "refcheck.h"
#include "refdata.h"
#include "timeutil.h"
#include "validate.h"

typedef struct settings {
    double near_m, far_m, stale_s, poor_m, max_speed;
    int mode; /* wb_check_mode, never DEFAULT */
} settings;

static const settings default_settings = {100.0, 300.0, 120.0, 50.0, 50.0, WB_CHECK_WARN};

static const struct {
    const char *name;
    size_t offset;
} number_settings[] = {
    {"nearMetres", offsetof(settings, near_m)},
    {"farMetres", offsetof(settings, far_m)},
    {"staleSeconds", offsetof(settings, stale_s)},
    {"poorAccuracyMetres", offsetof(settings, poor_m)},
    {"maxSpeedMps", offsetof(settings, max_speed)},
};

static const char *const mode_names[] = {"default", "strict", "warn", "off"};

/* Apply the members of a settings object; WB_EINVALID naming a bad one. */
static int settings_apply(settings *s, const cJSON *obj, const char *what)
{
    const cJSON *item;
    if (!cJSON_IsObject(obj))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "%s: must be an object", what);
    cJSON_ArrayForEach(item, obj)
    {
        size_t i;
        for (i = 0; i < WB__ARRAY_SIZE(number_settings); i++) {
            if (strcmp(item->string, number_settings[i].name) == 0)
                break;
        }
        if (i < WB__ARRAY_SIZE(number_settings)) {
            if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) || item->valuedouble <= 0)
                return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                                     "%s.%s: must be a positive number", what, item->string);
            *(double *)(void *)((char *)s + number_settings[i].offset) = item->valuedouble;
        } else if (strcmp(item->string, "validation") == 0) {
            int m;
            for (m = 1; m < 4; m++)
                if (cJSON_IsString(item) && strcmp(item->valuestring, mode_names[m]) == 0)
                    break;
            if (m == 4)
                return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                                     "%s.validation: must be \"strict\", \"warn\" or \"off\"",
                                     what);
            s->mode = m;
        } else {
            return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "%s.%s: unknown member", what,
                                 item->string);
        }
    }
    if (s->far_m < s->near_m)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "%s.farMetres: must not be less than nearMetres", what);
    return 0;
}

/* The stored settings text of a campaign into *out (NULL when none). */
static int settings_text(char **out, wb_store *store, const char *campaign_id)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db,
                                "SELECT settings FROM campaign_settings WHERE campaign_id = ?1", -1,
                                &st, NULL);
    *out = NULL;
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, campaign_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW && !(*out = wb__strdup((const char *)sqlite3_column_text(st, 0))))
        rc = SQLITE_NOMEM;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return wb_store__sqlite_error(store, rc, "campaign settings");
    return 0;
}

static int settings_load(settings *s, wb_store *store, const char *campaign_id)
{
    char *text = NULL;
    cJSON *obj = NULL;
    int error;
    *s = default_settings;
    if (!campaign_id || (error = settings_text(&text, store, campaign_id)) < 0 || !text)
        return campaign_id ? error : 0;
    if ((error = wb_json__parse(&obj, text, strlen(text), NULL, "campaign settings")) == 0)
        error = settings_apply(s, obj, "campaign settings");
    cJSON_Delete(obj);
    wb__free(text);
    return error;
}

static int check_campaign(const char *campaign_id)
{
    if (!wb_uuid__valid(campaign_id))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "campaign_id: must be a UUID");
    return 0;
}

int wb_campaign_settings_set(wb_store *store, const char *campaign_id, const char *json)
{
    char *old = NULL, *text = NULL;
    cJSON *merged = NULL, *update = NULL, *item;
    settings s = default_settings;
    sqlite3_stmt *st = NULL;
    int error, rc;

    wb_error__reset();
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(campaign_id);
    WB__CHECK_ARG(json);
    if ((error = check_campaign(campaign_id)) < 0)
        return error;
    if (store->readonly)
        return wb_error__set(WB_EREADONLY, WB_ERRCLASS_STORE, "store is read-only");
    if ((error = wb_json__parse(&update, json, strlen(json), NULL, "settings")) < 0)
        return error;
    if ((error = settings_apply(&s, update, "settings")) < 0)
        goto cleanup;
    if ((error = wb_store__begin(store)) < 0)
        goto cleanup;
    if ((error = settings_text(&old, store, campaign_id)) < 0)
        goto rollback;
    if (old) {
        if ((error = wb_json__parse(&merged, old, strlen(old), NULL, "campaign settings")) < 0)
            goto rollback;
    } else if (!(merged = cJSON_CreateObject())) {
        error = wb_error__oom();
        goto rollback;
    }
    /* Members given replace the stored ones; the rest stay. */
    while ((item = update->child)) {
        cJSON_DetachItemViaPointer(update, item);
        cJSON_DeleteItemFromObjectCaseSensitive(merged, item->string);
        cJSON_AddItemToObject(merged, item->string, item);
    }
    s = default_settings;
    if ((error = settings_apply(&s, merged, "settings")) < 0)
        goto rollback;
    if (!(text = wb_json__print(merged))) {
        error = WB_ENOMEM;
        goto rollback;
    }
    rc = sqlite3_prepare_v2(store->db,
                            "INSERT OR REPLACE INTO campaign_settings VALUES (?1, ?2)", -1, &st,
                            NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, campaign_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        error = wb_store__sqlite_error(store, rc, "campaign settings");
        goto rollback;
    }
    error = wb_store__commit(store);
    goto cleanup;
rollback:
    wb_store__rollback(store);
cleanup:
    wb__free(old);
    wb__free(text);
    cJSON_Delete(merged);
    cJSON_Delete(update);
    return error;
}

static void put_number(wb_buf *b, double d)
{
    char num[WB_JSON_NUMBER_MAX];
    wb_json__format_number(num, d);
    wb_buf__puts(b, num);
}

int wb_campaign_settings_get(char **out_json, wb_store *store, const char *campaign_id)
{
    settings s;
    wb_buf b = WB_BUF_INIT;
    int error;

    wb_error__reset();
    WB__CHECK_ARG(out_json);
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(campaign_id);
    *out_json = NULL;
    if ((error = check_campaign(campaign_id)) < 0 ||
        (error = settings_load(&s, store, campaign_id)) < 0)
        return error;
    wb_buf__puts(&b, "{\"campaignId\":");
    wb_buf__put_json_string(&b, campaign_id);
    for (size_t i = 0; i < WB__ARRAY_SIZE(number_settings); i++) {
        wb_buf__printf(&b, ",\"%s\":", number_settings[i].name);
        put_number(&b, *(const double *)(const void *)((const char *)&s +
                                                        number_settings[i].offset));
    }
    wb_buf__printf(&b, ",\"validation\":\"%s\"}", mode_names[s.mode]);
    if (!(*out_json = wb_buf__detach(&b)))
        error = wb_error__oom();
    wb_buf__free(&b);
    return error;
}

int wb_record_options_init(wb_record_options *opts, unsigned int version)
{
    wb_record_options def = WB_RECORD_OPTIONS_INIT;
    if (!opts || version != WB_RECORD_OPTIONS_VERSION)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "record options: unknown version %u", version);
    *opts = def;
    return 0;
}

/* What recording knows about the fix. */
typedef struct fix {
    int has;
    double lat, lng, accuracy; /* accuracy < 0: unknown */
    const char *time;
    int64_t time_ms;           /* valid when time */
} fix;

static int check_fix(fix *f, const wb_record_options *o)
{
    const char *why = NULL;
    int error;
    f->has = o->has_fix != 0;
    f->accuracy = -1.0;
    f->time = NULL;
    if (!f->has)
        return 0;
    if ((error = wb_ref__check_point(o->lat, o->lng, "fix")) < 0)
        return error;
    if (!isfinite(o->accuracy_m))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "fix.accuracy: must be a finite number");
    f->lat = o->lat;
    f->lng = o->lng;
    f->accuracy = o->accuracy_m;
    if (o->fix_time) {
        if (wb_time__parse(&f->time_ms, o->fix_time, &why) < 0)
            return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "fix.time: %s", why);
        f->time = o->fix_time;
    }
    return 0;
}

static int add_string(cJSON *array, const char *s)
{
    cJSON *item = cJSON_CreateString(s);
    if (!item || !cJSON_AddItemToArray(array, item)) {
        cJSON_Delete(item);
        return wb_error__oom();
    }
    return 0;
}

static int set_member(cJSON *obj, const char *name, cJSON *item)
{
    if (!item)
        return wb_error__oom();
    cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
    if (!cJSON_AddItemToObject(obj, name, item)) {
        cJSON_Delete(item);
        return wb_error__oom();
    }
    return 0;
}

/* data.location from the fix (the fix wins over a location in the body). */
static int put_location(cJSON *data, const fix *f)
{
    cJSON *loc = cJSON_CreateObject();
    if (!loc || !cJSON_AddNumberToObject(loc, "lat", f->lat) ||
        !cJSON_AddNumberToObject(loc, "lng", f->lng) ||
        (f->accuracy >= 0 && !cJSON_AddNumberToObject(loc, "confidence", f->accuracy))) {
        cJSON_Delete(loc);
        return wb_error__oom();
    }
    return set_member(data, "location", loc);
}

/* The canvasser's previous fixed knock before at_ms: implausible speed? */
static int speed_check(int *implausible, wb_store *store, const fix *f, int64_t at_ms,
                       const settings *s)
{
    sqlite3_stmt *st = NULL;
    cJSON *prev = NULL;
    int rc;
    *implausible = 0;
    rc = sqlite3_prepare_v2(store->db,
                            "SELECT wb_open('interaction_fixes', 'fix', f.local_id, f.fix), f.at_ms"
                            " FROM interaction_fixes f JOIN interactions i ON i.local_id ="
                            " f.local_id WHERE f.user_id = ?1 AND f.at_ms <= ?2 AND f.fix IS NOT"
                            " NULL AND i.deleted = 0 ORDER BY f.at_ms DESC LIMIT 1",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, store->user_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, at_ms);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW) {
        double m = 0.0, dt = (double)(at_ms - sqlite3_column_int64(st, 1)) / 1000.0;
        const cJSON *lat, *lng;
        prev = cJSON_ParseWithLength((const char *)sqlite3_column_text(st, 0),
                                     (size_t)sqlite3_column_bytes(st, 0));
        lat = wb_json__get(prev, "lat");
        lng = wb_json__get(prev, "lng");
        if (cJSON_IsNumber(lat) && cJSON_IsNumber(lng) &&
            wb_geodesic__inverse(lat->valuedouble, lng->valuedouble, f->lat, f->lng, &m) == 0) {
            /* Two places at one instant: only beyond the "near" radius, so
             * that GPS jitter between doors of one building is no alarm. */
            if (dt <= 0.0)
                *implausible = m > s->near_m;
            else
                *implausible = m / dt > s->max_speed;
        }
        rc = SQLITE_DONE;
    }
    cJSON_Delete(prev);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return wb_store__sqlite_error(store, rc, "speed check");
    return 0;
}

/* The fix as the JSON text stored (sealed) with the record. */
static char *fix_json(const fix *f, double distance_m)
{
    wb_buf b = WB_BUF_INIT;
    wb_buf__puts(&b, "{\"lat\":");
    put_number(&b, f->lat);
    wb_buf__puts(&b, ",\"lng\":");
    put_number(&b, f->lng);
    wb_buf__puts(&b, ",\"accuracy\":");
    if (f->accuracy >= 0)
        put_number(&b, f->accuracy);
    else
        wb_buf__puts(&b, "null");
    wb_buf__puts(&b, ",\"time\":");
    f->time ? wb_buf__put_json_string(&b, f->time) : wb_buf__puts(&b, "null");
    wb_buf__puts(&b, ",\"distanceMetres\":");
    if (distance_m >= 0)
        put_number(&b, distance_m);
    else
        wb_buf__puts(&b, "null");
    wb_buf__putc(&b, '}');
    return wb_buf__detach(&b);
}

static int store_fix(wb_store *store, const char *id, const fix *f, int64_t at_ms,
                     double distance_m, const cJSON *signals, const cJSON *warnings)
{
    sqlite3_stmt *st = NULL;
    char *sig = wb_json__print(signals), *warn = wb_json__print(warnings);
    char *fj = f->has ? fix_json(f, distance_m) : NULL;
    const cJSON *item;
    int rc = SQLITE_NOMEM, error = 0;

    if (sig && warn && (fj || !f->has))
        rc = sqlite3_prepare_v2(store->db,
                                "INSERT INTO interaction_fixes (local_id, user_id, at_ms, fix,"
                                " signals, warnings) VALUES (?1, ?2, ?3,"
                                " wb_seal('interaction_fixes', 'fix', ?1, ?4), ?5, ?6)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, store->user_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, at_ms);
        if (fj)
            sqlite3_bind_text(st, 4, fj, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, sig, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, warn, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc != SQLITE_DONE) {
        error = rc == SQLITE_NOMEM ? wb_error__oom()
                                   : wb_store__sqlite_error(store, rc, "record fix");
        goto cleanup;
    }
    cJSON_ArrayForEach(item, signals)
    {
        rc = sqlite3_prepare_v2(store->db, "INSERT OR IGNORE INTO interaction_signals VALUES (?1, ?2)",
                                -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(st, 1, item->valuestring, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
            rc = sqlite3_step(st);
        }
        sqlite3_finalize(st);
        st = NULL;
        if (rc != SQLITE_DONE) {
            error = wb_store__sqlite_error(store, rc, "record signals");
            break;
        }
    }
cleanup:
    if (fj)
        wb_crypto__wipe_free(&fj);
    wb__free(sig);
    wb__free(warn);
    return error;
}

int wb_interaction_record_ex(char **out_id, wb_store *store, const char *body,
                             const wb_record_options *opts)
{
    wb_record_options def = WB_RECORD_OPTIONS_INIT;
    cJSON *root = NULL, *data, *signals = NULL;
    wb_refcheck check = {NULL, ""};
    char *text = NULL, id[WB_UUID_LEN + 1];
    settings s;
    fix f;
    double hlat = 0.0, hlng = 0.0, distance_m = -1.0;
    int64_t at_ms = 0, now;
    int error, found = 0, mode, implausible = 0, in_tx = 0;
    const char *household, *why;

    wb_error__reset();
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(body);
    if (out_id)
        *out_id = NULL;
    if (!opts)
        opts = &def;
    if (opts->version != WB_RECORD_OPTIONS_VERSION)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "record options: unknown version %u", opts->version);
    if (opts->check < WB_CHECK_DEFAULT || opts->check > WB_CHECK_OFF)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "check: unknown mode %d",
                             opts->check);
    if (store->readonly)
        return wb_error__set(WB_EREADONLY, WB_ERRCLASS_STORE, "store is read-only");
    if ((error = wb_store__require_identity(store)) < 0 || (error = check_fix(&f, opts)) < 0)
        return error;
    if ((error = wb_json__parse(&root, body, strlen(body), NULL, "body")) < 0)
        return error;
    /* The data object inside the caller's body (flat or wrapped), edited in
     * place: the body is then recorded as usual. */
    if (!(data = (cJSON *)(uintptr_t)wb_validate__create_data(root))) {
        error = WB_EINVALID;
        goto cleanup;
    }
    if ((error = wb_validate__interaction(data)) < 0)
        goto cleanup;
    if ((error = settings_load(&s, store, cJSON_GetStringValue(wb_json__get(data, "campaignId")))) <
        0)
        goto cleanup;
    mode = opts->check == WB_CHECK_DEFAULT ? s.mode : opts->check;

    if (f.has) {
        if ((error = put_location(data, &f)) < 0)
            goto cleanup;
    } else {
        /* No fix given: a location in the body is the fix. */
        const cJSON *loc = wb_json__get(data, "location");
        const cJSON *lat = wb_json__get(loc, "lat"), *lng = wb_json__get(loc, "lng");
        const cJSON *conf = wb_json__get(loc, "confidence");
        if (cJSON_IsNumber(lat) && cJSON_IsNumber(lng)) {
            f.has = 1;
            f.lat = lat->valuedouble;
            f.lng = lng->valuedouble;
            f.accuracy = cJSON_IsNumber(conf) ? conf->valuedouble : -1.0;
        }
    }

    if (!(signals = cJSON_CreateArray()) || !(check.warnings = cJSON_CreateArray())) {
        error = wb_error__oom();
        goto cleanup;
    }
    household = cJSON_GetStringValue(wb_json__get(data, "householdId"));
    if (household &&
        (error = wb_ref__household_location(&found, &hlat, &hlng, store, household)) < 0)
        goto cleanup;
    if (f.has && found) {
        if ((error = wb_geodesic__inverse(f.lat, f.lng, hlat, hlng, &distance_m)) < 0 ||
            (error = set_member(data, "distance",
                                cJSON_CreateNumber(wb_geodesic__metres_to_miles(distance_m)))) <
                0)
            goto cleanup;
    }

    now = wb_store__now(store);
    if (f.time)
        at_ms = f.time_ms;
    else if (wb_time__parse(&at_ms, cJSON_GetStringValue(wb_json__get(data, "timestamp")), &why) <
             0)
        at_ms = now; /* validated above: unreachable */
    if (!f.has) {
        error = add_string(signals, "missing_fix");
    } else {
        if (household && !found)
            error = add_string(signals, "no_household_location");
        if (error == 0 && distance_m > s.far_m)
            error = add_string(signals, "very_far_from_door");
        else if (error == 0 && distance_m > s.near_m)
            error = add_string(signals, "far_from_door");
        if (error == 0 && f.time && now - f.time_ms > (int64_t)(s.stale_s * 1000.0))
            error = add_string(signals, "stale_fix");
        if (error == 0 && f.accuracy > s.poor_m)
            error = add_string(signals, "poor_accuracy");
    }
    if (error < 0)
        goto cleanup;

    if (mode != WB_CHECK_OFF) {
        if ((error = wb_refcheck__run(&check, store, data)) < 0)
            goto cleanup;
        if (mode == WB_CHECK_STRICT && check.first_contradiction[0]) {
            error = wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "%s",
                                  check.first_contradiction);
            goto cleanup;
        }
    }
    if (!(text = wb_json__print(root))) {
        error = WB_ENOMEM;
        goto cleanup;
    }
    if ((error = wb_store__begin(store)) < 0)
        goto cleanup;
    in_tx = 1;
    if (f.has && (error = speed_check(&implausible, store, &f, at_ms, &s)) < 0)
        goto cleanup;
    if (implausible && (error = add_string(signals, "implausible_speed")) < 0)
        goto cleanup;
    if ((error = wb_interaction__insert(store, text, id)) < 0 ||
        (error = store_fix(store, id, &f, at_ms, distance_m, signals, check.warnings)) < 0)
        goto cleanup;
    in_tx = 0;
    if ((error = wb_store__commit(store)) < 0)
        goto cleanup;
    if (out_id && !(*out_id = wb__strdup(id)))
        error = wb_error__oom(); /* stored; only the copy of the id failed */
cleanup:
    if (in_tx)
        wb_store__rollback(store);
    wb__free(text);
    cJSON_Delete(signals);
    cJSON_Delete(check.warnings);
    cJSON_Delete(root);
    return error;
}

/* ---- reading signals --------------------------------------------------- */

#define SIGNAL_COLUMNS                                                                             \
    "SELECT i.local_id, wb_open('interaction_fixes', 'fix', f.local_id, f.fix), f.signals,"      \
    " f.warnings FROM interactions i LEFT JOIN interaction_fixes f ON f.local_id = i.local_id"

static void put_member_or_null(wb_buf *b, const cJSON *obj, const char *name)
{
    const cJSON *v = wb_json__get(obj, name);
    if (v)
        wb_json__print_buf(b, v);
    else
        wb_buf__puts(b, "null");
}

static void put_signal_object(wb_buf *b, sqlite3_stmt *st)
{
    const char *s = (const char *)sqlite3_column_text(st, 1);
    cJSON *fj = s ? cJSON_ParseWithLength(s, (size_t)sqlite3_column_bytes(st, 1)) : NULL;
    wb_buf__puts(b, "{\"id\":");
    wb_buf__put_json_string(b, (const char *)sqlite3_column_text(st, 0));
    if (!cJSON_IsObject(fj)) {
        wb_buf__puts(b, ",\"fix\":null,\"distanceMetres\":null");
    } else {
        wb_buf__puts(b, ",\"fix\":{\"lat\":");
        put_member_or_null(b, fj, "lat");
        wb_buf__puts(b, ",\"lng\":");
        put_member_or_null(b, fj, "lng");
        wb_buf__puts(b, ",\"accuracy\":");
        put_member_or_null(b, fj, "accuracy");
        wb_buf__puts(b, ",\"time\":");
        put_member_or_null(b, fj, "time");
        wb_buf__puts(b, "},\"distanceMetres\":");
        put_member_or_null(b, fj, "distanceMetres");
    }
    cJSON_Delete(fj);
    /* Stored by us as compact JSON arrays. */
    s = (const char *)sqlite3_column_text(st, 2);
    wb_buf__puts(b, ",\"signals\":");
    wb_buf__puts(b, s ? s : "[]");
    s = (const char *)sqlite3_column_text(st, 3);
    wb_buf__puts(b, ",\"warnings\":");
    wb_buf__puts(b, s ? s : "[]");
    wb_buf__putc(b, '}');
}

int wb_interaction_signals(char **out_json, wb_store *store, const char *id)
{
    sqlite3_stmt *st = NULL;
    wb_buf b = WB_BUF_INIT;
    int error = 0, rc;

    wb_error__reset();
    WB__CHECK_ARG(out_json);
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(id);
    *out_json = NULL;
    if (!wb_uuid__valid(id))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "id: must be a UUID");
    rc = sqlite3_prepare_v2(store->db,
                            SIGNAL_COLUMNS
                            " WHERE i.local_id = ?1 OR (" WB_SERVER_ID_IS("i.", "?1") ") LIMIT 1",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW)
        put_signal_object(&b, st);
    else if (rc == SQLITE_DONE)
        error = wb_error__set(WB_ENOTFOUND, WB_ERRCLASS_STORE, "interaction %s: not found", id);
    else
        error = wb_store__sqlite_error(store, rc, "signals");
    sqlite3_finalize(st);
    if (error == 0 && !(*out_json = wb_buf__detach(&b)))
        error = wb_error__oom();
    wb_buf__free(&b);
    return error;
}

int wb_interaction_flagged(char **out_json, wb_store *store, const char *signal)
{
    sqlite3_stmt *st = NULL;
    wb_buf b = WB_BUF_INIT;
    int error = 0, rc, first = 1;

    wb_error__reset();
    WB__CHECK_ARG(out_json);
    WB__CHECK_ARG(store);
    *out_json = NULL;
    rc = sqlite3_prepare_v2(store->db,
                            SIGNAL_COLUMNS " WHERE i.deleted = 0 AND i.local_id IN (SELECT local_id"
                                           " FROM interaction_signals WHERE ?1 IS NULL OR signal"
                                           " = ?1) ORDER BY i.local_id",
                            -1, &st, NULL);
    if (rc == SQLITE_OK && signal)
        sqlite3_bind_text(st, 1, signal, -1, SQLITE_STATIC);
    wb_buf__putc(&b, '[');
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!first)
            wb_buf__putc(&b, ',');
        first = 0;
        put_signal_object(&b, st);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        error = wb_store__sqlite_error(store, rc, "signals");
    wb_buf__putc(&b, ']');
    if (error == 0 && !(*out_json = wb_buf__detach(&b)))
        error = wb_error__oom();
    wb_buf__free(&b);
    return error;
}
