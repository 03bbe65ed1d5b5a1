/*
 * wbtest.h - a very small test harness.
 *
 * A test file defines `static void test_<module>_<file>__<case>(void)`
 * functions, lists them in a WBT_CASES table and ends with WBT_MAIN. The
 * program runs every case (or those whose name starts with argv[1]), prints
 * one line per case and a closing "N passed, N failed" line, and exits
 * non-zero on any failure. A failed assertion ends the current case.
 */
#ifndef WBTEST_H
#define WBTEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct wbt_case {
    const char *name;
    void (*fn)(void);
} wbt_case;

extern int wbt_failed_current;
int wbt_run(int argc, char **argv, const wbt_case *cases, size_t n, void (*setup)(void),
            void (*teardown)(void));
void wbt_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A fresh per-process scratch directory (removed at exit unless
 * WBT_KEEP_TMP is set); wbt_path returns a static-lifetime string. */
const char *wbt_tmpdir(void);
const char *wbt_path(const char *name);
/* Location of ../shared/testdata (env WB_TESTDATA overrides). */
const char *wbt_testdata(void);
/* Read a whole file into a malloc'd NUL-terminated buffer (NULL on error). */
char *wbt_read_file(const char *path, size_t *len);
int wbt_write_file(const char *path, const char *data, size_t len);

#define WBT_FAIL(...)                                                                            \
    do {                                                                                         \
        wbt_fail(__FILE__, __LINE__, __VA_ARGS__);                                               \
        return;                                                                                  \
    } while (0)

#define WBT_ASSERT(cond)                                                                         \
    do {                                                                                         \
        if (!(cond))                                                                             \
            WBT_FAIL("assertion failed: %s", #cond);                                             \
    } while (0)

#define WBT_ASSERT_INT(a, b)                                                                     \
    do {                                                                                         \
        long long wbt_a_ = (long long)(a), wbt_b_ = (long long)(b);                              \
        if (wbt_a_ != wbt_b_)                                                                    \
            WBT_FAIL("%s == %s: %lld != %lld", #a, #b, wbt_a_, wbt_b_);                          \
    } while (0)

#define WBT_ASSERT_STR(a, b)                                                                     \
    do {                                                                                         \
        const char *wbt_a_ = (a), *wbt_b_ = (b);                                                 \
        if (!wbt_a_ || !wbt_b_ || strcmp(wbt_a_, wbt_b_) != 0)                                   \
            WBT_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, wbt_a_ ? wbt_a_ : "(null)",           \
                     wbt_b_ ? wbt_b_ : "(null)");                                                \
    } while (0)

#define WBT_ASSERT_CONTAINS(hay, needle)                                                         \
    do {                                                                                         \
        const char *wbt_h_ = (hay), *wbt_n_ = (needle);                                          \
        if (!wbt_h_ || !strstr(wbt_h_, wbt_n_))                                                  \
            WBT_FAIL("%s does not contain \"%s\": \"%s\"", #hay, wbt_n_,                         \
                     wbt_h_ ? wbt_h_ : "(null)");                                                \
    } while (0)

/* Assert a walkbook call returns 0; print the last error otherwise. */
#define WBT_OK(call)                                                                             \
    do {                                                                                         \
        int wbt_rc_ = (call);                                                                    \
        if (wbt_rc_ != 0) {                                                                      \
            const wb_error *wbt_e_ = wb_error_last();                                            \
            WBT_FAIL("%s returned %d (%s)", #call, wbt_rc_,                                      \
                     wbt_e_ ? wbt_e_->message : "no message");                                   \
        }                                                                                        \
    } while (0)

/* Assert a walkbook call fails with `code` and its message contains `msg`. */
#define WBT_FAILS(call, code, msg)                                                               \
    do {                                                                                         \
        int wbt_rc_ = (call);                                                                    \
        const wb_error *wbt_e_ = wb_error_last();                                                \
        if (wbt_rc_ != (code))                                                                   \
            WBT_FAIL("%s returned %d, expected %d (%s)", #call, wbt_rc_, (int)(code),            \
                     wbt_e_ ? wbt_e_->message : "no message");                                   \
        if (!wbt_e_ || !strstr(wbt_e_->message, (msg)))                                         \
            WBT_FAIL("%s: message \"%s\" lacks \"%s\"", #call,                                   \
                     wbt_e_ ? wbt_e_->message : "(none)", (msg));                                \
    } while (0)

#define WBT_CASE(fn) {#fn, fn}
#define WBT_MAIN(cases, setup, teardown)                                                         \
    int main(int argc, char **argv)                                                              \
    {                                                                                            \
        return wbt_run(argc, argv, cases, sizeof(cases) / sizeof(cases[0]), setup, teardown);    \
    }

#endif
