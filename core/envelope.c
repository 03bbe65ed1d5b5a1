/* envelope.c - see envelope.h. */
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

int wb_envelope__append(wb_buf *b, sqlite3_stmt *st)
{
    const char *data = (const char *)sqlite3_column_text(st, 1);
    int data_len = sqlite3_column_bytes(st, 1);
    if (!data || !sqlite3_column_text(st, 0))
        return wb_error__set(WB_ECORRUPT, WB_ERRCLASS_STORE, "interaction: missing id or data");
    wb_buf__puts(b, "{\"id\":");
    put_text(b, st, 0);
    wb_buf__puts(b, ",\"data\":");
    wb_buf__put(b, data, (size_t)data_len);
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
