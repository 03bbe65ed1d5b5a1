/*
 * walklist.c - walk lists offline: the lists known to the store, their
 * doors, progress, and the K nearest doors not yet knocked.
 *
 * Next doors: walklist_geo indexes every door of every walk list by (walk
 * list, x, y, z), earth-centred coordinates in metres. The straight line
 * between two points is never longer than the geodesic, so the cube of
 * half-side r around the canvasser holds every door within geodesic
 * distance r. The search grows r until at least K doors lie within r (then
 * no door outside the cube can beat them), ranking candidates by the exact
 * geodesic distance. When a cube holds K or more doors but fewer within r,
 * the K-th candidate's distance is a radius that is sure to hold K doors,
 * so the next cube is the last.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geodesic.h"
#include "refdata.h"

/* A cube this big holds the whole ellipsoid whatever its centre. */
#define NEXT_R_MAX 1.3e7
#define NEXT_R_START 150.0
#define NEXT_K_MAX 1000u

/* "Knocked on this walk list": a live interaction at the household made on
 * the list or on none. ?1 is the walk list id. */
#define KNOCKED(extra)                                                                             \
    "EXISTS (SELECT 1 FROM interactions i WHERE i.household_id = m.household_id"                 \
    " AND i.deleted = 0 AND (i.walklist_id = ?1 OR i.walklist_id IS NULL)" extra ")"

/* A member of an interaction's data, opened first in an encrypted store
 * (wb_open is the identity in a plain one). */
#define OPEN_DATA(member)                                                                          \
    "json_extract(wb_open('interactions', 'data', i.local_id, i.data), '$." member "')"

#define OPEN_ADDRESS "wb_open('ref_households', 'address', h.id, h.address)"

typedef struct door {
    char id[WB_UUID_LEN + 1];
    double lat, lng, metres;
    char *address;
} door;

/* The k best doors so far, kept sorted by distance (k is small). */
typedef struct best {
    door *d;
    size_t n, k;
} best;

static void best_free(best *b)
{
    for (size_t i = 0; i < b->n; i++)
        wb__free(b->d[i].address);
    wb__free(b->d);
    b->d = NULL;
    b->n = 0;
}

/* Nearer first; equal distances in id order, so both searches agree. */
static int before(double m1, const char *id1, double m2, const char *id2)
{
    return m1 < m2 || (m1 == m2 && strcmp(id1, id2) < 0);
}

/* Offer a row (id, lat, lng, address) of st at distance metres. */
static int best_offer(best *b, sqlite3_stmt *st, double lat, double lng, double metres)
{
    const char *id = (const char *)sqlite3_column_text(st, 0);
    const char *addr = (const char *)sqlite3_column_text(st, 3);
    size_t pos;
    if (!id)
        return 0;
    if (b->n == b->k && !before(metres, id, b->d[b->n - 1].metres, b->d[b->n - 1].id))
        return 0;
    if (b->n == b->k) {
        wb__free(b->d[b->n - 1].address);
        b->n--;
    }
    pos = b->n;
    while (pos > 0 && before(metres, id, b->d[pos - 1].metres, b->d[pos - 1].id))
        pos--;
    memmove(&b->d[pos + 1], &b->d[pos], (b->n - pos) * sizeof(door));
    snprintf(b->d[pos].id, sizeof(b->d[pos].id), "%s", id);
    b->d[pos].lat = lat;
    b->d[pos].lng = lng;
    b->d[pos].metres = metres;
    b->d[pos].address = addr ? wb__strdup(addr) : NULL;
    b->n++;
    if (addr && !b->d[pos].address)
        return wb_error__oom();
    return 0;
}

/* Walk the rows of st (id, lat, lng, address), offering each; *within
 * counts the rows at most `radius` away. */
static int scan_rows(best *b, size_t *within, wb_store *store, sqlite3_stmt *st, double lat,
                     double lng, double radius)
{
    int rc, error = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        double hlat = sqlite3_column_double(st, 1), hlng = sqlite3_column_double(st, 2), m;
        if (wb_geodesic__inverse(lat, lng, hlat, hlng, &m) < 0)
            continue; /* a damaged cached coordinate is not a door */
        if (m <= radius)
            (*within)++;
        if ((error = best_offer(b, st, hlat, hlng, m)) < 0)
            break;
    }
    if (error == 0 && rc != SQLITE_DONE)
        error = wb_store__sqlite_error(store, rc, "next doors");
    sqlite3_reset(st);
    return error;
}

static int next_indexed(best *b, wb_store *store, int64_t wid, const char *walklist_id,
                        double lat, double lng)
{
    double c[3], r = NEXT_R_START;
    sqlite3_stmt *st;

    wb_ref__ecef(lat, lng, c);
    for (;;) {
        size_t within = 0;
        int error;
        best_free(b);
        if (!(b->d = wb__calloc(b->k + 1, sizeof(door))))
            return wb_error__oom();
        if ((error = wb_store__stmt(&st, store, WB_STMT_NEXT_BOX)) < 0)
            return error;
        sqlite3_bind_int64(st, 1, wid);
        for (int i = 0; i < 3; i++) {
            sqlite3_bind_double(st, 2 + 2 * i, c[i] - r);
            sqlite3_bind_double(st, 3 + 2 * i, c[i] + r);
        }
        sqlite3_bind_text(st, 8, walklist_id, -1, SQLITE_STATIC);
        if ((error = scan_rows(b, &within, store, st, lat, lng, r)) < 0)
            return error;
        if (within >= b->k || r >= NEXT_R_MAX)
            return 0;
        if (b->n == b->k)
            /* K doors are within the K-th one's distance: one more cube. */
            r = b->d[b->n - 1].metres * (1.0 + 1e-9) + 1e-3;
        else
            r *= 4.0;
        if (r > NEXT_R_MAX)
            r = NEXT_R_MAX;
    }
}

static int next_scan(best *b, wb_store *store, int64_t wid, const char *walklist_id, double lat,
                     double lng)
{
    sqlite3_stmt *st = NULL;
    size_t within = 0;
    int rc, error;
    if (!(b->d = wb__calloc(b->k + 1, sizeof(door))))
        return wb_error__oom();
    rc = sqlite3_prepare_v2(store->db,
                            "SELECT m.household_id, h.lat, h.lng, " OPEN_ADDRESS " FROM"
                            " ref_walklist_households m JOIN ref_households h"
                            " ON h.id = m.household_id WHERE m.wid = ?2 AND h.lat IS NOT NULL"
                            " AND NOT " KNOCKED(""),
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return wb_store__sqlite_error(store, rc, "next doors");
    sqlite3_bind_text(st, 1, walklist_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, wid);
    error = scan_rows(b, &within, store, st, lat, lng, INFINITY);
    sqlite3_finalize(st);
    return error;
}

static int find_walklist(int64_t *wid, wb_store *store, const char *walklist_id)
{
    int error;
    if (!wb_uuid__valid(walklist_id))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "walklist_id: must be a UUID");
    error = wb_ref__walklist_find(wid, store, walklist_id);
    if (error == WB_ENOTFOUND)
        return wb_error__set(WB_ENOTFOUND, WB_ERRCLASS_STORE, "walk list %s: not in the store",
                             walklist_id);
    return error;
}

static void put_number(wb_buf *b, double d)
{
    char num[WB_JSON_NUMBER_MAX];
    wb_json__format_number(num, d);
    wb_buf__puts(b, num);
}

static void put_text_or_null(wb_buf *b, const char *s)
{
    s ? wb_buf__put_json_string(b, s) : wb_buf__puts(b, "null");
}

int wb_walklist_next(char **out_json, wb_store *store, const char *walklist_id, double lat,
                     double lng, unsigned int k, unsigned int flags)
{
    best b = {NULL, 0, 0};
    wb_buf out = WB_BUF_INIT;
    int64_t wid;
    int error;

    wb_error__reset();
    WB__CHECK_ARG(out_json);
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(walklist_id);
    *out_json = NULL;
    if ((error = wb_ref__check_point(lat, lng, "near")) < 0)
        return error;
    if (k < 1 || k > NEXT_K_MAX)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "k: must be between 1 and %u",
                             NEXT_K_MAX);
    if (flags & ~WB_NEXT_SCAN)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "flags: unknown bits");
    if ((error = find_walklist(&wid, store, walklist_id)) < 0)
        return error;
    b.k = k;
    error = (flags & WB_NEXT_SCAN) ? next_scan(&b, store, wid, walklist_id, lat, lng)
                                   : next_indexed(&b, store, wid, walklist_id, lat, lng);
    if (error < 0)
        goto cleanup;
    wb_buf__putc(&out, '[');
    for (size_t i = 0; i < b.n; i++) {
        wb_buf__puts(&out, i ? ",{\"id\":" : "{\"id\":");
        wb_buf__put_json_string(&out, b.d[i].id);
        wb_buf__puts(&out, ",\"address\":");
        put_text_or_null(&out, b.d[i].address);
        wb_buf__puts(&out, ",\"lat\":");
        put_number(&out, b.d[i].lat);
        wb_buf__puts(&out, ",\"lng\":");
        put_number(&out, b.d[i].lng);
        wb_buf__puts(&out, ",\"metres\":");
        put_number(&out, b.d[i].metres);
        wb_buf__putc(&out, '}');
    }
    wb_buf__putc(&out, ']');
    if (!(*out_json = wb_buf__detach(&out)))
        error = wb_error__oom();
cleanup:
    best_free(&b);
    wb_buf__free(&out);
    return error;
}

int wb_walklist_progress(char **out_json, wb_store *store, const char *walklist_id)
{
    sqlite3_stmt *st = NULL;
    wb_buf out = WB_BUF_INIT;
    int64_t wid;
    int error, rc;

    wb_error__reset();
    WB__CHECK_ARG(out_json);
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(walklist_id);
    *out_json = NULL;
    if ((error = find_walklist(&wid, store, walklist_id)) < 0)
        return error;
    rc = sqlite3_prepare_v2(
        store->db,
        "SELECT count(*), coalesce(sum(k), 0), coalesce(sum(s), 0), coalesce(sum(k AND NOT s AND"
        " NOT a), 0) FROM (SELECT " KNOCKED("") " AS k, " KNOCKED(" AND " OPEN_DATA(
            "successful") " = 1") " AS s, " KNOCKED(" AND " OPEN_DATA("unavailable") " = 0") " AS a"
        " FROM ref_walklist_households m WHERE m.wid = ?2)",
        -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, walklist_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, wid);
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_ROW) {
        error = wb_store__sqlite_error(store, rc, "walk-list progress");
        goto cleanup;
    }
    {
        long long total = sqlite3_column_int64(st, 0), knocked = sqlite3_column_int64(st, 1);
        wb_buf__puts(&out, "{\"walklistId\":");
        wb_buf__put_json_string(&out, walklist_id);
        wb_buf__printf(&out,
                       ",\"households\":%lld,\"knocked\":%lld,\"remaining\":%lld,"
                       "\"successful\":%lld,\"unavailable\":%lld}",
                       total, knocked, total - knocked, (long long)sqlite3_column_int64(st, 2),
                       (long long)sqlite3_column_int64(st, 3));
    }
    if (!(*out_json = wb_buf__detach(&out)))
        error = wb_error__oom();
cleanup:
    sqlite3_finalize(st);
    wb_buf__free(&out);
    return error;
}

/* A walk list's name from the cached list record, or NULL. */
#define WL_NAME                                                                                    \
    "(SELECT json_extract(wb_open('ref_records', 'envelope', r.id, r.envelope), '$.data.name')"  \
    " FROM ref_records r WHERE"                                                                    \
    " r.resource = 'lists' AND r.id = w.id AND r.deleted = 0)"

static void put_walklist_head(wb_buf *out, sqlite3_stmt *st)
{
    wb_buf__puts(out, "{\"id\":");
    put_text_or_null(out, (const char *)sqlite3_column_text(st, 0));
    wb_buf__puts(out, ",\"name\":");
    put_text_or_null(out, (const char *)sqlite3_column_text(st, 1));
    wb_buf__puts(out, ",\"campaignId\":");
    put_text_or_null(out, (const char *)sqlite3_column_text(st, 2));
}

int wb_walklist_list(char **out_json, wb_store *store)
{
    sqlite3_stmt *st = NULL;
    wb_buf out = WB_BUF_INIT;
    int error = 0, rc, first = 1;

    wb_error__reset();
    WB__CHECK_ARG(out_json);
    WB__CHECK_ARG(store);
    *out_json = NULL;
    rc = sqlite3_prepare_v2(store->db,
                            "SELECT w.id, " WL_NAME ", w.campaign_id, (SELECT count(*) FROM"
                            " ref_walklist_households m WHERE m.wid = w.wid) FROM ref_walklists w"
                            " ORDER BY w.id",
                            -1, &st, NULL);
    wb_buf__putc(&out, '[');
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!first)
            wb_buf__putc(&out, ',');
        first = 0;
        put_walklist_head(&out, st);
        wb_buf__printf(&out, ",\"households\":%lld}", (long long)sqlite3_column_int64(st, 3));
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE) {
        error = wb_store__sqlite_error(store, rc, "walk lists");
        goto cleanup;
    }
    wb_buf__putc(&out, ']');
    if (!(*out_json = wb_buf__detach(&out)))
        error = wb_error__oom();
cleanup:
    sqlite3_finalize(st);
    wb_buf__free(&out);
    return error;
}

int wb_walklist_show(char **out_json, wb_store *store, const char *walklist_id)
{
    sqlite3_stmt *st = NULL;
    wb_buf out = WB_BUF_INIT;
    int64_t wid;
    int error, rc, first = 1;

    wb_error__reset();
    WB__CHECK_ARG(out_json);
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(walklist_id);
    *out_json = NULL;
    if ((error = find_walklist(&wid, store, walklist_id)) < 0)
        return error;
    rc = sqlite3_prepare_v2(store->db,
                            "SELECT w.id, " WL_NAME ", w.campaign_id FROM ref_walklists w"
                            " WHERE w.wid = ?1",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, wid);
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_ROW) {
        error = wb_store__sqlite_error(store, rc, "walk list");
        goto cleanup;
    }
    put_walklist_head(&out, st);
    sqlite3_finalize(st);
    st = NULL;
    wb_buf__puts(&out, ",\"households\":[");
    rc = sqlite3_prepare_v2(store->db,
                            "SELECT m.household_id, h.lat, h.lng, " OPEN_ADDRESS ", " KNOCKED("")
                            " FROM ref_walklist_households m LEFT JOIN ref_households h"
                            " ON h.id = m.household_id WHERE m.wid = ?2 ORDER BY m.household_id",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, walklist_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, wid);
    }
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        wb_buf__puts(&out, first ? "{\"id\":" : ",{\"id\":");
        first = 0;
        put_text_or_null(&out, (const char *)sqlite3_column_text(st, 0));
        wb_buf__puts(&out, ",\"address\":");
        put_text_or_null(&out, (const char *)sqlite3_column_text(st, 3));
        if (sqlite3_column_type(st, 1) == SQLITE_NULL) {
            wb_buf__puts(&out, ",\"lat\":null,\"lng\":null");
        } else {
            wb_buf__puts(&out, ",\"lat\":");
            put_number(&out, sqlite3_column_double(st, 1));
            wb_buf__puts(&out, ",\"lng\":");
            put_number(&out, sqlite3_column_double(st, 2));
        }
        wb_buf__puts(&out, sqlite3_column_int(st, 4) ? ",\"knocked\":true}" : ",\"knocked\":false}");
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE) {
        error = wb_store__sqlite_error(store, rc, "walk list");
        goto cleanup;
    }
    wb_buf__puts(&out, "]}");
    if (!(*out_json = wb_buf__detach(&out)))
        error = wb_error__oom();
cleanup:
    sqlite3_finalize(st);
    wb_buf__free(&out);
    return error;
}
