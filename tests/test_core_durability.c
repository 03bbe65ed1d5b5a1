/*
 * test_core_durability.c - a record call that returned success survives
 * kill -9 of the process right after it.
 *
 * A child process records interactions in a loop and, after each call that
 * returned 0, writes the new id to a pipe. The parent kills the child with
 * SIGKILL at a random moment, many times over, on one file; then it checks
 * PRAGMA integrity_check and that every acknowledged id is in the store.
 */
#define _DEFAULT_SOURCE
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixtures.h"
#include "wbtest.h"

#define ROUNDS 24
#define MAX_ACKED 20000

static char acked[MAX_ACKED][37];
static int n_acked;

static void child_loop(const char *path, int durability, int fd)
{
    wb_store *s = NULL;
    wb_store_options o = WB_STORE_OPTIONS_INIT;
    o.durability = durability;
    if (wb_store_open(&s, path, &o) != 0)
        _exit(3);
    for (unsigned i = 0;; i++) {
        char *id = NULL;
        char line[38];
        char ts[32];
        snprintf(ts, sizeof(ts), "2021-03-%02uT10:%02u:%02u.%03uZ", 1 + i % 28, (i / 60) % 60,
                 i % 60, i % 1000);
        if (wb_interaction_record(&id, s, fx_body(NULL, fx_uuid(i), ts)) != 0)
            _exit(4);
        snprintf(line, sizeof(line), "%s\n", id);
        wb_free(id);
        /* One write of 37 bytes (< PIPE_BUF) is atomic: a line is whole or absent. */
        if (write(fd, line, 37) != 37)
            _exit(5);
    }
}

static void read_acks(int fd)
{
    char buf[37 * 64];
    size_t have = 0;
    ssize_t n;
    while ((n = read(fd, buf + have, sizeof(buf) - have)) > 0) {
        size_t off = 0;
        have += (size_t)n;
        while (have - off >= 37) {
            if (n_acked < MAX_ACKED) {
                memcpy(acked[n_acked], buf + off, 36);
                acked[n_acked][36] = '\0';
                n_acked++;
            }
            off += 37;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
    }
}

static void test_core_durability__kill9_loses_no_acknowledged_record(void)
{
    wb_store *s = fx_store("crash.db"); /* creates the file with an identity */
    const char *path = wbt_path("crash.db");
    unsigned seed = (unsigned)time(NULL);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int missing = 0;

    WBT_ASSERT(s != NULL);
    wb_store_free(s);
    srand(seed);
    for (int round = 0; round < ROUNDS; round++) {
        int fds[2], status;
        pid_t pid;
        WBT_ASSERT(pipe(fds) == 0);
        pid = fork();
        WBT_ASSERT(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child_loop(path, round % 2 ? WB_DURABILITY_NORMAL : WB_DURABILITY_FULL, fds[1]);
        }
        close(fds[1]);
        /* Once it has acknowledged a first record (up to 10 s: slow or
         * emulated machines start late), let it run 20-120 ms more, then
         * kill it without warning. */
        {
            struct pollfd p = {fds[0], POLLIN, 0};
            (void)poll(&p, 1, 10000);
        }
        usleep(20000 + (useconds_t)(rand() % 100000));
        kill(pid, SIGKILL);
        read_acks(fds[0]);
        close(fds[0]);
        WBT_ASSERT(waitpid(pid, &status, 0) == pid);
        WBT_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    }
    printf("    %d rounds, %d acknowledged records (seed %u)\n", ROUNDS, n_acked, seed);
    WBT_ASSERT(n_acked > ROUNDS);

    WBT_ASSERT_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    WBT_ASSERT_INT(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    WBT_ASSERT_INT(sqlite3_step(st), SQLITE_ROW);
    WBT_ASSERT_STR((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    WBT_ASSERT_INT(sqlite3_prepare_v2(db, "SELECT 1 FROM interactions WHERE local_id = ?", -1,
                                      &st, NULL),
                   SQLITE_OK);
    for (int i = 0; i < n_acked; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, acked[i], 36, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW)
            missing++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    WBT_ASSERT_INT(missing, 0);

    /* And the library still opens it and sees them all. */
    s = NULL;
    WBT_OK(wb_store_open(&s, path, NULL));
    {
        uint64_t n = 0;
        WBT_OK(wb_interaction_count(&n, s, NULL));
        WBT_ASSERT(n >= (uint64_t)n_acked);
    }
    wb_store_free(s);
}

static const wbt_case cases[] = {
    WBT_CASE(test_core_durability__kill9_loses_no_acknowledged_record),
};
WBT_MAIN(cases, NULL, NULL)
