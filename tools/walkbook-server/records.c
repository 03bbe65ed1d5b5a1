/*
 * records.c - SQLite storage and the modified clock (see records.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "common.h"
#include "records.h"
#include "timeutil.h"

struct wbs_records {
    sqlite3 *db;
    pthread_mutex_t lock;
    int64_t last_ms;
};

/* Table name of a resource: "r_" + name with '-' as '_'. Resource names
 * are constants of the server, checked here all the same. */
static int wbs_records__table(char out[64], const char *resource)
{
    size_t n = strlen(resource);
    if (n == 0 || n > 60)
        return -1;
    memcpy(out, "r_", 2);
    for (size_t i = 0; i < n; i++) {
        char c = resource[i];
        if (c == '-')
            c = '_';
        else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return -1;
        out[2 + i] = c;
    }
    out[2 + n] = '\0';
    return 0;
}

int wbs_records_open(wbs_records **out, const char *path, char *err, size_t errlen)
{
    wbs_records *r = wb__calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (sqlite3_open_v2(path, &r->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "--db: %s", r->db ? sqlite3_errmsg(r->db) : "cannot open");
        sqlite3_close(r->db);
        wb__free(r);
        return -1;
    }
    sqlite3_busy_timeout(r->db, 5000);
    /* The server is the file's only user; WAL keeps commits cheap. */
    sqlite3_exec(r->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return 0;
}

void wbs_records_close(wbs_records *r)
{
    if (!r)
        return;
    sqlite3_close(r->db);
    pthread_mutex_destroy(&r->lock);
    wb__free(r);
}

void wbs_records_lock(wbs_records *r)
{
    pthread_mutex_lock(&r->lock);
}

void wbs_records_unlock(wbs_records *r)
{
    pthread_mutex_unlock(&r->lock);
}

/* Prepare head + table of resource + tail. */
static int wbs_records__prepare(sqlite3_stmt **st, wbs_records *r, const char *head,
                                const char *resource, const char *tail)
{
    char table[64], sql[512];
    if (wbs_records__table(table, resource) < 0)
        return -1;
    snprintf(sql, sizeof(sql), "%s%s%s", head, table, tail);
    return sqlite3_prepare_v2(r->db, sql, -1, st, NULL) == SQLITE_OK ? 0 : -1;
}

int wbs_records_ensure(wbs_records *r, const char *resource)
{
    char table[64], sql[512];
    sqlite3_stmt *st = NULL;
    int64_t ms;

    if (wbs_records__table(table, resource) < 0)
        return -1;
    snprintf(sql, sizeof(sql),
             "CREATE TABLE IF NOT EXISTS %s (customer TEXT NOT NULL, id TEXT NOT NULL,"
             " envelope TEXT NOT NULL, modified TEXT NOT NULL, PRIMARY KEY (customer, id))"
             " WITHOUT ROWID",
             table);
    if (sqlite3_exec(r->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    if (wbs_records__prepare(&st, r, "SELECT max(modified) FROM ", resource, "") < 0)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) &&
        wb_time__parse(&ms, (const char *)sqlite3_column_text(st, 0), NULL) == 0 &&
        ms > r->last_ms)
        r->last_ms = ms;
    sqlite3_finalize(st);
    return 0;
}

void wbs_records_next_modified(wbs_records *r, char out[25])
{
    int64_t now = wb_time__now_ms();
    if (now <= r->last_ms)
        now = r->last_ms + 1;
    r->last_ms = now;
    wb_time__format(out, now);
}

int wbs_records_get(char **out_text, wbs_records *r, const char *resource,
                    const char *customer, const char *id)
{
    sqlite3_stmt *st = NULL;
    int rc, result = -1;

    if (wbs_records__prepare(&st, r, "SELECT envelope FROM ", resource,
                             " WHERE customer = ?1 AND id = ?2") < 0)
        return -1;
    sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out_text = wb__strdup((const char *)sqlite3_column_text(st, 0));
        result = *out_text ? 0 : -1;
    } else if (rc == SQLITE_DONE) {
        result = 1;
    }
    sqlite3_finalize(st);
    return result;
}

int wbs_records_put(wbs_records *r, const char *resource, const char *customer,
                    const char *id, const char *text, const char *modified)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (wbs_records__prepare(&st, r,
                             "INSERT OR REPLACE INTO ", resource,
                             " (customer, id, envelope, modified) VALUES (?1, ?2, ?3, ?4)") < 0)
        return -1;
    sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, modified, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int wbs_records_each(wbs_records *r, const char *resource, const char *customer,
                     wbs_records_fn fn, void *userdata)
{
    sqlite3_stmt *st = NULL;
    int rc, result = 0;

    if (wbs_records__prepare(&st, r, "SELECT envelope FROM ", resource,
                             " WHERE customer = ?1") < 0)
        return -1;
    sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        result = fn((const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                    userdata);
        if (result)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        result = -1;
    sqlite3_finalize(st);
    return result;
}

int wbs_records_each_all(wbs_records *r, const char *resource, wbs_records_fn fn,
                         void *userdata)
{
    sqlite3_stmt *st = NULL;
    int rc, result = 0;

    if (wbs_records__prepare(&st, r, "SELECT envelope FROM ", resource, "") < 0)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        result = fn((const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                    userdata);
        if (result)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        result = -1;
    sqlite3_finalize(st);
    return result;
}
