/*
 * query.c - queries over interactions, keyset-paged by an opaque cursor.
 *
 * A cursor is "<order>:<sort key>,<local id>" of the last record returned;
 * the next page starts strictly after it. Keyset paging (unlike an offset)
 * neither skips nor repeats records when others are added meanwhile, and
 * costs the same on page 1 and page 1000.
 */
#include <string.h>

#include "envelope.h"
#include "store_int.h"
#include "timeutil.h"

struct wb_iter {
    wb_store *store;
    sqlite3_stmt *st;
    wb_buf envelope;
    int order;
    int done;
    char cursor[2 + WB_TIMESTAMP_LEN + 1 + WB_UUID_LEN + 1];
};

/* Column positions after the envelope columns. */
#define Q_TS WB_ENVELOPE_NCOLS

static int check_query(const wb_query *q, char *cursor_key, char *cursor_id)
{
    static const struct {
        size_t offset;
        const char *name;
    } ids[] = {
        {offsetof(wb_query, campaign_id), "query.campaign_id"},
        {offsetof(wb_query, contact_id), "query.contact_id"},
        {offsetof(wb_query, household_id), "query.household_id"},
        {offsetof(wb_query, walklist_id), "query.walklist_id"},
    };
    int64_t ms;
    const char *why;

    if (q->version != WB_QUERY_VERSION)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "query.version: unknown version %u",
                             q->version);
    for (size_t i = 0; i < WB__ARRAY_SIZE(ids); i++) {
        const char *v = *(const char *const *)(const void *)((const char *)q + ids[i].offset);
        if (v && !wb_uuid__valid(v))
            return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "%s: must be a UUID",
                                 ids[i].name);
    }
    if (q->states & ~WB_STATE_ANY)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "query.states: unknown state bits");
    if (q->deleted < WB_DELETED_EXCLUDE || q->deleted > WB_DELETED_ONLY)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "query.deleted: unknown value %d",
                             q->deleted);
    if (q->order < WB_ORDER_TIME_ASC || q->order > WB_ORDER_MODIFIED_DESC)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "query.order: unknown value %d",
                             q->order);
    if (q->since && wb_time__parse(&ms, q->since, &why) < 0)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "query.since: %s", why);
    if (q->until && wb_time__parse(&ms, q->until, &why) < 0)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "query.until: %s", why);
    if (q->cursor) {
        /* "<order digit>:<timestamp>,<uuid>" */
        const char *c = q->cursor;
        if (strlen(c) != 2 + WB_TIMESTAMP_LEN + 1 + WB_UUID_LEN || c[0] != '0' + q->order ||
            c[1] != ':' || c[2 + WB_TIMESTAMP_LEN] != ',')
            return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                                 "query.cursor: malformed or made for another order");
        memcpy(cursor_key, c + 2, WB_TIMESTAMP_LEN);
        cursor_key[WB_TIMESTAMP_LEN] = '\0';
        memcpy(cursor_id, c + 3 + WB_TIMESTAMP_LEN, WB_UUID_LEN + 1);
        if (wb_time__parse(&ms, cursor_key, NULL) < 0 || !wb_uuid__valid(cursor_id))
            return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "query.cursor: malformed");
    }
    return 0;
}

/* Build "FROM … WHERE …" with numbered parameters in a fixed order:
 * ?1 campaign ?2 contact ?3 household ?4 walklist ?5 since ?6 until
 * ?7 cursor key ?8 cursor id. */
static void build_where(wb_buf *sql, const wb_query *q, int with_cursor)
{
    int desc = q->order == WB_ORDER_TIME_DESC || q->order == WB_ORDER_MODIFIED_DESC;
    const char *key = q->order <= WB_ORDER_TIME_DESC ? "ts" : "modified";
    wb_buf__puts(sql, " FROM interactions WHERE " WB_TENANCY_FILTER);
    if (q->campaign_id)
        wb_buf__puts(sql, " AND campaign_id = ?1");
    if (q->contact_id)
        wb_buf__puts(sql, " AND contact_id = ?2");
    if (q->household_id)
        wb_buf__puts(sql, " AND household_id = ?3");
    if (q->walklist_id)
        wb_buf__puts(sql, " AND walklist_id = ?4");
    if (q->since)
        wb_buf__puts(sql, " AND ts >= ?5");
    if (q->until)
        wb_buf__puts(sql, " AND ts < ?6");
    if (q->deleted == WB_DELETED_EXCLUDE)
        wb_buf__puts(sql, " AND deleted = 0");
    else if (q->deleted == WB_DELETED_ONLY)
        wb_buf__puts(sql, " AND deleted = 1");
    if (q->states && q->states != WB_STATE_ANY) {
        int first = 1;
        wb_buf__puts(sql, " AND state IN (");
        for (int bit = 1; bit <= 32; bit <<= 1) {
            if (q->states & (unsigned)bit) {
                wb_buf__printf(sql, first ? "%d" : ",%d", bit);
                first = 0;
            }
        }
        wb_buf__putc(sql, ')');
    }
    if (with_cursor && q->cursor)
        wb_buf__printf(sql, " AND (%s, local_id) %s (?7, ?8)", key, desc ? "<" : ">");
}

static void bind_query(sqlite3_stmt *st, const wb_query *q, const char *cursor_key,
                       const char *cursor_id)
{
    /* Unused numbered parameters stay unbound, which SQLite allows. */
    if (q->campaign_id)
        sqlite3_bind_text(st, 1, q->campaign_id, -1, SQLITE_TRANSIENT);
    if (q->contact_id)
        sqlite3_bind_text(st, 2, q->contact_id, -1, SQLITE_TRANSIENT);
    if (q->household_id)
        sqlite3_bind_text(st, 3, q->household_id, -1, SQLITE_TRANSIENT);
    if (q->walklist_id)
        sqlite3_bind_text(st, 4, q->walklist_id, -1, SQLITE_TRANSIENT);
    if (q->since)
        sqlite3_bind_text(st, 5, q->since, -1, SQLITE_TRANSIENT);
    if (q->until)
        sqlite3_bind_text(st, 6, q->until, -1, SQLITE_TRANSIENT);
    if (q->cursor) {
        sqlite3_bind_text(st, 7, cursor_key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 8, cursor_id, -1, SQLITE_TRANSIENT);
    }
}

static int prepare(sqlite3_stmt **out, wb_store *store, wb_buf *sql)
{
    int rc;
    if (sql->oom)
        return wb_error__oom();
    rc = sqlite3_prepare_v2(store->db, sql->ptr, (int)sql->len, out, NULL);
    if (rc != SQLITE_OK)
        return wb_store__sqlite_error(store, rc, "query");
    return 0;
}

int wb_interaction_query(wb_iter **out, wb_store *store, const wb_query *query)
{
    static const wb_query all = WB_QUERY_INIT;
    char cursor_key[WB_TIMESTAMP_LEN + 1] = "", cursor_id[WB_UUID_LEN + 1] = "";
    wb_buf sql = WB_BUF_INIT;
    wb_iter *it = NULL;
    int error, desc;
    const char *key;

    wb_error__reset();
    WB__CHECK_ARG(out);
    WB__CHECK_ARG(store);
    *out = NULL;
    if (!query)
        query = &all;
    if ((error = check_query(query, cursor_key, cursor_id)) < 0)
        return error;
    if (!(it = wb__calloc(1, sizeof(*it))))
        return wb_error__oom();
    it->order = query->order;
    desc = query->order == WB_ORDER_TIME_DESC || query->order == WB_ORDER_MODIFIED_DESC;
    key = query->order <= WB_ORDER_TIME_DESC ? "ts" : "modified";
    wb_buf__printf(&sql, "SELECT " WB_ENVELOPE_COLUMNS ", %s", key);
    build_where(&sql, query, 1);
    wb_buf__printf(&sql, " ORDER BY %s %s, local_id %s", key, desc ? "DESC" : "ASC",
                   desc ? "DESC" : "ASC");
    if (query->limit)
        wb_buf__printf(&sql, " LIMIT %u", query->limit);
    if ((error = prepare(&it->st, store, &sql)) < 0)
        goto cleanup;
    bind_query(it->st, query, cursor_key, cursor_id);
    it->store = store;
    wb_store__iter_opened(store);
    *out = it;
    it = NULL;
cleanup:
    wb_buf__free(&sql);
    if (it) {
        sqlite3_finalize(it->st);
        wb__free(it);
    }
    return error;
}

int wb_iter_next(const char **out_json, wb_iter *it)
{
    int rc, error;
    wb_error__reset();
    WB__CHECK_ARG(out_json);
    WB__CHECK_ARG(it);
    *out_json = NULL;
    if (it->done)
        return WB_ITEROVER;
    rc = sqlite3_step(it->st);
    if (rc == SQLITE_DONE) {
        it->done = 1;
        return WB_ITEROVER;
    }
    if (rc != SQLITE_ROW)
        return wb_store__sqlite_error_db(sqlite3_db_handle(it->st), rc, "query");
    wb_buf__clear(&it->envelope);
    if ((error = wb_envelope__append(&it->envelope, it->st, it->store)) < 0)
        return error;
    {
        /* The cursor of every row, built with two fixed-size copies: this runs
         * once per record of a possibly long read, so no printf. */
        const char *k = (const char *)sqlite3_column_text(it->st, Q_TS);
        const char *id = (const char *)sqlite3_column_text(it->st, 0);
        if (!k || !id || sqlite3_column_bytes(it->st, Q_TS) != WB_TIMESTAMP_LEN ||
            sqlite3_column_bytes(it->st, 0) != WB_UUID_LEN)
            return wb_error__set(WB_ECORRUPT, WB_ERRCLASS_STORE,
                                 "interaction: malformed id or time in the store");
        it->cursor[0] = (char)('0' + it->order);
        it->cursor[1] = ':';
        memcpy(it->cursor + 2, k, WB_TIMESTAMP_LEN);
        it->cursor[2 + WB_TIMESTAMP_LEN] = ',';
        memcpy(it->cursor + 3 + WB_TIMESTAMP_LEN, id, WB_UUID_LEN + 1);
    }
    *out_json = it->envelope.ptr;
    return 0;
}

const char *wb_iter_cursor(const wb_iter *it)
{
    return it && it->cursor[0] ? it->cursor : NULL;
}

void wb_iter_free(wb_iter *it)
{
    if (!it)
        return;
    sqlite3_finalize(it->st);
    wb_buf__free(&it->envelope);
    if (it->store)
        wb_store__iter_closed(it->store);
    wb__free(it);
}

int wb_interaction_count(uint64_t *out, wb_store *store, const wb_query *query)
{
    static const wb_query all = WB_QUERY_INIT;
    char cursor_key[WB_TIMESTAMP_LEN + 1] = "", cursor_id[WB_UUID_LEN + 1] = "";
    wb_buf sql = WB_BUF_INIT;
    sqlite3_stmt *st = NULL;
    int error, rc;

    wb_error__reset();
    WB__CHECK_ARG(out);
    WB__CHECK_ARG(store);
    if (!query)
        query = &all;
    if ((error = check_query(query, cursor_key, cursor_id)) < 0)
        return error;
    wb_buf__puts(&sql, "SELECT count(*)");
    build_where(&sql, query, 0);
    if ((error = prepare(&st, store, &sql)) < 0)
        goto cleanup;
    bind_query(st, query, cursor_key, cursor_id);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        error = wb_store__sqlite_error(store, rc, "count");
        goto cleanup;
    }
    *out = (uint64_t)sqlite3_column_int64(st, 0);
cleanup:
    sqlite3_finalize(st);
    wb_buf__free(&sql);
    return error;
}
