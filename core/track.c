/*
 * track.c - the canvasser's breadcrumb track during a shift: fixes closer
 * than a minimum spacing to the last kept one are dropped (a phone standing
 * at a door reports the same place every second), the walked distance is
 * the geodesic length of the kept points, and old points can be purged.
 */
#include <math.h>
#include <string.h>

#include "crypto.h"
#include "geodesic.h"
#include "refdata.h"
#include "timeutil.h"

/* lat and lng of a point's opened JSON text; 0, or -1 when unreadable. */
static int point_of(sqlite3_stmt *st, int col, double *lat, double *lng)
{
    cJSON *p = cJSON_ParseWithLength((const char *)sqlite3_column_text(st, col),
                                     (size_t)sqlite3_column_bytes(st, col));
    const cJSON *a = wb_json__get(p, "lat"), *b = wb_json__get(p, "lng");
    int ok = cJSON_IsNumber(a) && cJSON_IsNumber(b);
    if (ok) {
        *lat = a->valuedouble;
        *lng = b->valuedouble;
    }
    cJSON_Delete(p);
    return ok ? 0 : -1;
}

static int time_arg(int64_t *ms, const char *s, const char *name)
{
    const char *why = NULL;
    if (s && wb_time__parse(ms, s, &why) < 0)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "%s: %s", name, why);
    return 0;
}

int wb_track_add(int *out_kept, wb_store *store, double lat, double lng, double accuracy_m,
                 const char *time, double min_spacing_m)
{
    sqlite3_stmt *st = NULL;
    int64_t at_ms = 0;
    double step = 0.0;
    int error, rc, in_tx = 0;

    wb_error__reset();
    WB__CHECK_ARG(store);
    if (out_kept)
        *out_kept = 0;
    if ((error = wb_ref__check_point(lat, lng, "track")) < 0 ||
        (error = time_arg(&at_ms, time, "time")) < 0)
        return error;
    if (!isfinite(accuracy_m))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "accuracy: must be a finite number");
    if (!isfinite(min_spacing_m) || min_spacing_m < 0)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "min_spacing: must be a number >= 0");
    if (store->readonly)
        return wb_error__set(WB_EREADONLY, WB_ERRCLASS_STORE, "store is read-only");
    if ((error = wb_store__require_identity(store)) < 0)
        return error;
    if (!time)
        at_ms = wb_store__now(store);
    if ((error = wb_store__begin(store)) < 0)
        return error;
    in_tx = 1;
    rc = sqlite3_prepare_v2(store->db,
                            "SELECT wb_open('breadcrumbs', 'point', seq, point) FROM breadcrumbs"
                            " WHERE user_id = ?1 AND at_ms <= ?2 ORDER BY at_ms DESC, seq DESC"
                            " LIMIT 1",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, store->user_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, at_ms);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW) {
        double plat = 0.0, plng = 0.0;
        if (point_of(st, 0, &plat, &plng) < 0 ||
            wb_geodesic__inverse(plat, plng, lat, lng, &step) < 0)
            step = 0.0;
        rc = SQLITE_DONE;
        if (step < min_spacing_m) {
            sqlite3_finalize(st);
            return wb_store__commit(store); /* too close: not kept */
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == SQLITE_DONE) {
        /* The point is sealed under its row number, chosen up front. */
        char point[3 * WB_JSON_NUMBER_MAX + 40], a[WB_JSON_NUMBER_MAX], b[WB_JSON_NUMBER_MAX],
            c[WB_JSON_NUMBER_MAX];
        wb_json__format_number(a, lat);
        wb_json__format_number(b, lng);
        wb_json__format_number(c, accuracy_m);
        snprintf(point, sizeof(point), "{\"lat\":%s,\"lng\":%s,\"accuracy\":%s}", a, b,
                 accuracy_m >= 0 ? c : "null");
        rc = sqlite3_prepare_v2(store->db,
                                "INSERT INTO breadcrumbs (seq, user_id, at_ms, point) VALUES"
                                " ((SELECT coalesce(max(seq), 0) + 1 FROM breadcrumbs), ?1, ?2,"
                                " wb_seal('breadcrumbs', 'point', (SELECT coalesce(max(seq), 0) + 1"
                                " FROM breadcrumbs), ?3))",
                                -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(st, 1, store->user_id, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, at_ms);
            sqlite3_bind_text(st, 3, point, -1, SQLITE_STATIC);
            rc = sqlite3_step(st);
        }
        sqlite3_finalize(st);
        sodium_memzero(point, sizeof(point));
    }
    if (rc != SQLITE_DONE) {
        error = wb_store__sqlite_error(store, rc, "track");
        goto cleanup;
    }
    in_tx = 0;
    if ((error = wb_store__commit(store)) == 0 && out_kept)
        *out_kept = 1;
cleanup:
    if (in_tx)
        wb_store__rollback(store);
    return error;
}

int wb_track_get(char **out_json, wb_store *store, const char *since, const char *until)
{
    sqlite3_stmt *st = NULL;
    wb_buf coords = WB_BUF_INIT, out = WB_BUF_INIT;
    int64_t from = INT64_MIN, to = INT64_MAX;
    double total = 0.0, plat = 0.0, plng = 0.0;
    long long n = 0;
    int error, rc;
    char num[WB_JSON_NUMBER_MAX];

    wb_error__reset();
    WB__CHECK_ARG(out_json);
    WB__CHECK_ARG(store);
    *out_json = NULL;
    if ((error = time_arg(&from, since, "since")) < 0 || (error = time_arg(&to, until, "until")) < 0)
        return error;
    if ((error = wb_store__require_identity(store)) < 0)
        return error;
    rc = sqlite3_prepare_v2(store->db,
                            "SELECT wb_open('breadcrumbs', 'point', seq, point) FROM breadcrumbs"
                            " WHERE user_id = ?1 AND at_ms >= ?2 AND at_ms < ?3"
                            " ORDER BY at_ms, seq",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, store->user_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, from);
        sqlite3_bind_int64(st, 3, to);
    }
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        double lat = 0.0, lng = 0.0, m;
        if (point_of(st, 0, &lat, &lng) < 0) {
            error = wb_error__set(WB_ECORRUPT, WB_ERRCLASS_STORE, "track: a stored point is"
                                                                  " damaged");
            break;
        }
        if (n > 0 && wb_geodesic__inverse(plat, plng, lat, lng, &m) == 0)
            total += m;
        wb_buf__puts(&coords, n ? ",[" : "[");
        wb_json__format_number(num, lng);
        wb_buf__puts(&coords, num);
        wb_buf__putc(&coords, ',');
        wb_json__format_number(num, lat);
        wb_buf__puts(&coords, num);
        wb_buf__putc(&coords, ']');
        plat = lat;
        plng = lng;
        n++;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (error == 0 && rc != SQLITE_DONE)
        error = wb_store__sqlite_error(store, rc, "track");
    if (error < 0)
        goto cleanup;
    wb_buf__printf(&out, "{\"points\":%lld,\"metres\":", n);
    wb_json__format_number(num, total);
    wb_buf__puts(&out, num);
    wb_buf__puts(&out, ",\"miles\":");
    wb_json__format_number(num, wb_geodesic__metres_to_miles(total));
    wb_buf__puts(&out, num);
    wb_buf__puts(&out, ",\"coordinates\":[");
    if (coords.len)
        wb_buf__put(&out, coords.ptr, coords.len);
    wb_buf__puts(&out, "]}");
    if (coords.oom || !(*out_json = wb_buf__detach(&out)))
        error = wb_error__oom();
cleanup:
    wb_buf__free(&coords);
    wb_buf__free(&out);
    return error;
}

int wb_track_purge(uint64_t *out_purged, wb_store *store, const char *before)
{
    sqlite3_stmt *st = NULL;
    int64_t to = INT64_MAX;
    int error, rc;

    wb_error__reset();
    WB__CHECK_ARG(store);
    if (out_purged)
        *out_purged = 0;
    if ((error = time_arg(&to, before, "before")) < 0)
        return error;
    if (store->readonly)
        return wb_error__set(WB_EREADONLY, WB_ERRCLASS_STORE, "store is read-only");
    rc = sqlite3_prepare_v2(store->db, "DELETE FROM breadcrumbs WHERE at_ms < ?1", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, to);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return wb_store__sqlite_error(store, rc, "track purge");
    if (out_purged)
        *out_purged = (uint64_t)sqlite3_changes64(store->db);
    return 0;
}
