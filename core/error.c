/*
 * error.c - the per-thread last error (wb_error_last).
 *
 * Each thread keeps one wb_error and a fixed message buffer: no allocation
 * happens while reporting an error, so even out-of-memory can be reported.
 */
#include <stdio.h>
#include <string.h>

#include "common.h"

#define WB_ERROR_MSG_MAX 512

typedef struct wb_thread_error {
    wb_error err;
    int set;
    char message[WB_ERROR_MSG_MAX];
} wb_thread_error;

static _Thread_local wb_thread_error tls_error;

int wb_error__vset(int code, int klass, const char *fmt, va_list ap)
{
    wb_thread_error *te = &tls_error;
    int n = vsnprintf(te->message, sizeof(te->message), fmt, ap);
    if (n < 0)
        te->message[0] = '\0';
    /* One line: newlines from any source would break log parsing. */
    for (char *p = te->message; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    te->err.code = code;
    te->err.klass = klass;
    te->err.message = te->message;
    te->err.sqlite_code = 0;
    te->err.http_status = 0;
    te->err.os_error = 0;
    te->set = 1;
    return code;
}

int wb_error__set(int code, int klass, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wb_error__vset(code, klass, fmt, ap);
    va_end(ap);
    return code;
}

int wb_error__oom(void)
{
    return wb_error__set(WB_ENOMEM, WB_ERRCLASS_NOMEM, "out of memory");
}

void wb_error__set_sqlite(int sqlite_extended_code)
{
    tls_error.err.sqlite_code = sqlite_extended_code;
}

void wb_error__set_http(int status)
{
    tls_error.err.http_status = status;
}

void wb_error__set_os(int os_error)
{
    tls_error.err.os_error = os_error;
}

void wb_error__reset(void)
{
    tls_error.set = 0;
}

void wb_error__save(wb_error_saved *saved)
{
    const wb_thread_error *te = &tls_error;
    saved->set = te->set;
    saved->code = te->err.code;
    saved->klass = te->err.klass;
    saved->sqlite_code = te->err.sqlite_code;
    saved->http_status = te->err.http_status;
    saved->os_error = te->err.os_error;
    memcpy(saved->message, te->message, sizeof(saved->message));
}

void wb_error__restore(const wb_error_saved *saved)
{
    wb_thread_error *te = &tls_error;
    te->set = saved->set;
    te->err.code = saved->code;
    te->err.klass = saved->klass;
    te->err.sqlite_code = saved->sqlite_code;
    te->err.http_status = saved->http_status;
    te->err.os_error = saved->os_error;
    memcpy(te->message, saved->message, sizeof(te->message));
    te->err.message = te->message;
}

void wb_error__prefix(const char *prefix)
{
    wb_thread_error *te = &tls_error;
    char old[WB_ERROR_MSG_MAX];
    if (!te->set)
        return;
    memcpy(old, te->message, sizeof(old));
    /* Truncation is fine: the message stays one readable line. */
    size_t plen = strlen(prefix);
    if (plen > sizeof(te->message) - 3)
        plen = sizeof(te->message) - 3;
    memcpy(te->message, prefix, plen);
    memcpy(te->message + plen, ": ", 2);
    size_t rest = sizeof(te->message) - plen - 3;
    size_t olen = strnlen(old, rest);
    memcpy(te->message + plen + 2, old, olen);
    te->message[plen + 2 + olen] = '\0';
}

const wb_error *wb_error_last(void)
{
    return tls_error.set ? &tls_error.err : NULL;
}

void wb_error_clear(void)
{
    tls_error.set = 0;
}

const char *wb_error_name(int code)
{
    switch (code) {
    case WB_OK: return "WB_OK";
    case WB_ERROR: return "WB_ERROR";
    case WB_EINVALID: return "WB_EINVALID";
    case WB_ENOTFOUND: return "WB_ENOTFOUND";
    case WB_ECONFLICT: return "WB_ECONFLICT";
    case WB_EBUSY: return "WB_EBUSY";
    case WB_EAUTH: return "WB_EAUTH";
    case WB_EOFFLINE: return "WB_EOFFLINE";
    case WB_ENOMEM: return "WB_ENOMEM";
    case WB_EIO: return "WB_EIO";
    case WB_ESCHEMA: return "WB_ESCHEMA";
    case WB_ECORRUPT: return "WB_ECORRUPT";
    case WB_EEXISTS: return "WB_EEXISTS";
    case WB_ETOOBIG: return "WB_ETOOBIG";
    case WB_EREADONLY: return "WB_EREADONLY";
    case WB_EKEY: return "WB_EKEY";
    case WB_ETAMPER: return "WB_ETAMPER";
    case WB_ITEROVER: return "WB_ITEROVER";
    default: return "WB_E?";
    }
}
