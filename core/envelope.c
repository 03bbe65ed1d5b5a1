/* envelope.c - see envelope.h. */
#include "crypto.h"
#include "envelope.h"

/* A column we wrote as a UUID or timestamp needs no escaping; anything that
 * came from a server (etag) does. Escape all strings except data: cheap. */
static void put_text(wb_buf *b, sqlite3_stmt *st, int col)
{
    const char *s = (const char *)sqlite3_column_text(st, col);
    if (s)
        wb_buf__put_json_string(b, s);
    else
        wb_buf__puts(b, "null");
}

int wb_envelope__append(wb_buf *b, sqlite3_stmt *st, const wb_store *store)
{
    const char *id = (const char *)sqlite3_column_text(st, 0);
    size_t start = b->len;
    int error;
    if (sqlite3_column_type(st, 1) == SQLITE_NULL || !id)
        return wb_error__set(WB_ECORRUPT, WB_ERRCLASS_STORE, "interaction: missing id or data");
    wb_buf__puts(b, "{\"id\":");
    put_text(b, st, 0);
    wb_buf__puts(b, ",\"data\":");
    if ((error = wb_crypto__open_column(b, store, "interactions", "data", id, st, 1)) < 0) {
        if (b->ptr) {
            b->len = start;
            b->ptr[start] = '\0';
        }
        return error;
    }
    wb_buf__puts(b, ",\"meta\":{\"etag\":");
    put_text(b, st, 2);
    wb_buf__puts(b, ",\"created\":");
    put_text(b, st, 3);
    wb_buf__puts(b, ",\"modified\":");
    put_text(b, st, 4);
    wb_buf__puts(b, ",\"resource\":\"interactions\",\"createdBy\":");
    put_text(b, st, 5);
    wb_buf__puts(b, sqlite3_column_int(st, 7) ? ",\"isDeleted\":true" : ",\"isDeleted\":false");
    wb_buf__puts(b, ",\"modifiedBy\":");
    put_text(b, st, 6);
    wb_buf__puts(b, "},\"customerId\":");
    put_text(b, st, 8);
    wb_buf__puts(b, ",\"securityGroupId\":");
    put_text(b, st, 9);
    if (wb_buf__putc(b, '}') < 0)
        return wb_error__oom();
    return 0;
}
