/*
 * buf.c - a growable byte buffer with a sticky out-of-memory flag, so that
 * a long run of appends needs one check at the end.
 */
#include <stdio.h>
#include <string.h>

#include "common.h"

int wb_buf__grow(wb_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;
    if (b->oom)
        return WB_ENOMEM;
    if (extra > SIZE_MAX - b->len - 1)
        goto oom;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    p = wb__realloc(b->ptr, cap);
    if (!p)
        goto oom;
    b->ptr = p;
    b->cap = cap;
    return 0;
oom:
    b->oom = 1;
    return WB_ENOMEM;
}

int wb_buf__put(wb_buf *b, const char *data, size_t len)
{
    if (wb_buf__grow(b, len) < 0)
        return WB_ENOMEM;
    if (len)
        memcpy(b->ptr + b->len, data, len);
    b->len += len;
    b->ptr[b->len] = '\0';
    return 0;
}

int wb_buf__puts(wb_buf *b, const char *s)
{
    return wb_buf__put(b, s, strlen(s));
}

int wb_buf__putc(wb_buf *b, char c)
{
    return wb_buf__put(b, &c, 1);
}

int wb_buf__printf(wb_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    char small[128];
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return WB_ERROR;
    if ((size_t)n < sizeof(small))
        return wb_buf__put(b, small, (size_t)n);
    if (wb_buf__grow(b, (size_t)n) < 0)
        return WB_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int wb_buf__put_json_string(wb_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *run = p;
    wb_buf__putc(b, '"');
    for (; *p; p++) {
        const char *esc = NULL;
        char u[7];
        if (*p >= 0x20 && *p != '"' && *p != '\\')
            continue;
        wb_buf__put(b, (const char *)run, (size_t)(p - run));
        switch (*p) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            u[0] = '\\';
            u[1] = 'u';
            u[2] = '0';
            u[3] = '0';
            u[4] = hex[*p >> 4];
            u[5] = hex[*p & 15];
            u[6] = '\0';
            esc = u;
        }
        wb_buf__puts(b, esc);
        run = p + 1;
    }
    wb_buf__put(b, (const char *)run, (size_t)(p - run));
    return wb_buf__putc(b, '"');
}

char *wb_buf__detach(wb_buf *b)
{
    char *p;
    if (b->oom) {
        wb_buf__free(b);
        return NULL;
    }
    if (!b->ptr && wb_buf__grow(b, 0) < 0)
        return NULL;
    p = b->ptr;
    b->ptr = NULL;
    b->len = b->cap = 0;
    return p;
}

void wb_buf__clear(wb_buf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

void wb_buf__free(wb_buf *b)
{
    wb__free(b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}
