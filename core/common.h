/*
 * common.h - internal helpers shared by every module of the core:
 * allocation, error reporting and small utilities. Not installed.
 */
#ifndef WB_COMMON_H
#define WB_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "walkbook.h"

#if defined(__GNUC__) || defined(__clang__)
#define WB__PRINTF(f, a) __attribute__((format(printf, f, a)))
#define WB__UNUSED __attribute__((unused))
#else
#define WB__PRINTF(f, a)
#define WB__UNUSED
#endif

#define WB__ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- allocation (alloc.c) ------------------------------------------------
 * Every allocation of the library goes through these, so that tests can fail
 * the Nth allocation and count live blocks. cJSON is pointed at them too. */
void *wb__malloc(size_t size);
void *wb__calloc(size_t n, size_t size);
void *wb__realloc(void *ptr, size_t size);
void wb__free(void *ptr);
char *wb__strdup(const char *s);
char *wb__strndup(const char *s, size_t n);
/* Process-wide setup (libsodium, cJSON hooks); idempotent, thread-safe. */
int wb__global_init(void);

/* Test hooks: fail the allocation numbered `n` from now (1 = the next one),
 * 0 disables; returns the number of live blocks. Not thread-safe by design:
 * used only by single-threaded failure-path tests. */
void wb__alloc_fail_at(long n);
long wb__alloc_live(void);

/* ---- errors (error.c) ----------------------------------------------------
 * wb_error__set stores a one-line message for the calling thread and returns
 * `code`, so that `return wb_error__set(...)` reads naturally. The first error
 * wins: the function that detects a problem sets it, and its callers pass the
 * code up without setting another message (cleanup that may fail saves and
 * restores it). */
int wb_error__set(int code, int klass, const char *fmt, ...) WB__PRINTF(3, 4);
int wb_error__vset(int code, int klass, const char *fmt, va_list ap) WB__PRINTF(3, 0);
int wb_error__oom(void);
/* Attach detail codes to the current error. */
void wb_error__set_sqlite(int sqlite_extended_code);
void wb_error__set_http(int status);
void wb_error__set_os(int os_error);
/* Clear at the start of an API call. */
void wb_error__reset(void);
/* Save and restore around cleanup that may itself fail. */
typedef struct wb_error_saved {
    int code, klass, sqlite_code, http_status, os_error;
    char message[512];
    int set;
} wb_error_saved;
void wb_error__save(wb_error_saved *saved);
void wb_error__restore(const wb_error_saved *saved);
/* Prefix the current message with "prefix" + ": " (used to add the index of
 * a batch item or the CLI's file name). */
void wb_error__prefix(const char *prefix);

/* Argument checks for public entry points: a programmer error is reported
 * as WB_EINVALID, never an abort. */
#define WB__CHECK_ARG(expr)                                                                      \
    do {                                                                                         \
        if (!(expr))                                                                             \
            return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "invalid argument: %s",      \
                                 #expr);                                                         \
    } while (0)

/* ---- growable byte buffer (buf.c) ---------------------------------------- */
typedef struct wb_buf {
    char *ptr;
    size_t len;
    size_t cap;
    int oom; /* sticky: once an append failed, every later one is a no-op */
} wb_buf;
#define WB_BUF_INIT {NULL, 0, 0, 0}
int wb_buf__grow(wb_buf *b, size_t extra);
int wb_buf__put(wb_buf *b, const char *data, size_t len);
int wb_buf__puts(wb_buf *b, const char *s);
int wb_buf__putc(wb_buf *b, char c);
int wb_buf__printf(wb_buf *b, const char *fmt, ...) WB__PRINTF(2, 3);
/* Append s as a JSON string literal with quotes and escapes. */
int wb_buf__put_json_string(wb_buf *b, const char *s);
/* Hand the NUL-terminated contents over (buffer is reset); NULL on oom. */
char *wb_buf__detach(wb_buf *b);
void wb_buf__clear(wb_buf *b);
void wb_buf__free(wb_buf *b);

#endif
