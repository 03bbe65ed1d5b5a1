/* wbtest.c - the harness behind wbtest.h. */
#define _XOPEN_SOURCE 700
#include "wbtest.h"

#include <ftw.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

int wbt_failed_current;
static char tmpdir[512];
static char pathbuf[8][1024];
static int pathslot;

void wbt_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    wbt_failed_current = 1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tmpdir(void)
{
    if (tmpdir[0] && !getenv("WBT_KEEP_TMP"))
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *wbt_tmpdir(void)
{
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof(tmpdir), "%s/wbtest-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(2);
        }
        atexit(rm_tmpdir);
    }
    return tmpdir;
}

const char *wbt_path(const char *name)
{
    char *p = pathbuf[pathslot++ % 8];
    snprintf(p, sizeof(pathbuf[0]), "%s/%s", wbt_tmpdir(), name);
    return p;
}

const char *wbt_testdata(void)
{
    const char *env = getenv("WB_TESTDATA");
    return env && *env ? env : WB_TESTDATA_DIR;
}

char *wbt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto done;
    buf = malloc((size_t)n + 1);
    if (!buf)
        goto done;
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
        goto done;
    }
    buf[n] = '\0';
    if (len)
        *len = (size_t)n;
done:
    fclose(f);
    return buf;
}

int wbt_write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok;
    if (!f)
        return -1;
    ok = fwrite(data, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    return ok ? 0 : -1;
}

int wbt_run(int argc, char **argv, const wbt_case *cases, size_t n, void (*setup)(void),
            void (*teardown)(void))
{
    const char *prefix = argc > 1 ? argv[1] : "";
    int passed = 0, failed = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < n; i++) {
        if (strncmp(cases[i].name, prefix, strlen(prefix)) != 0)
            continue;
        wbt_failed_current = 0;
        if (setup)
            setup();
        cases[i].fn();
        if (teardown)
            teardown();
        if (wbt_failed_current) {
            failed++;
            printf("FAIL %s\n", cases[i].name);
        } else {
            passed++;
            printf("ok   %s\n", cases[i].name);
        }
        fflush(stderr);
    }
    printf("%d passed, %d failed\n", passed, failed);
    if (passed + failed == 0) {
        fprintf(stderr, "no test matched \"%s\"\n", prefix);
        return 1;
    }
    return failed ? 1 : 0;
}
