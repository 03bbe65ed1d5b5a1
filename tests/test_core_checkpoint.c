/*
 * test_core_checkpoint.c - WAL checkpoints on a thread of their own
 * (core/checkpoint.c), as the pull runs them, with small limits so that a
 * few thousand commits go through many of them: the WAL file stays within
 * its limit, an app handle writing at the same time loses nothing, and a
 * kill -9 in the middle loses no committed record.
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixtures.h"
#include "store_int.h"
#include "wbtest.h"

#define SOFT 16
#define HARD 128
/* A commit of one record writes about ten frames; one of 50 a few dozen. */
#define FRAME (16384 + 24)
#define WAL_BOUND (32 + (int64_t)(HARD + 256) * FRAME)

static int64_t wal_size(const char *path)
{
    char wal[1100];
    struct stat sb;
    snprintf(wal, sizeof(wal), "%s-wal", path);
    return stat(wal, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

/* A body of record i, into buf (fixtures.c's helpers share static
 * buffers, and two threads record here). Contact and time from i. */
static const char *body_of(char *buf, size_t size, unsigned i)
{
    snprintf(buf, size,
             "{\"campaignId\":\"" FX_CAMPAIGN_A "\",\"contactId\":"
             "\"%08x-0000-4000-8000-%012x\",\"timestamp\":"
             "\"2021-04-%02uT%02u:%02u:%02u.000Z\",\"unavailable\":false,\"successful\":true,"
             "\"survey\":{\"surveyId\":\"375d437b-3b47-4940-b43d-be8daec4afff\",\"responses\":{"
             "\"9826940d-76a8-4700-8c92-5743ce7bb728\":{\"questionId\":"
             "\"9826940d-76a8-4700-8c92-5743ce7bb728\",\"fields\":{\"available\":\"true\"}}}}}",
             i * 2654435761u, i, 1 + (i / 86400) % 28, (i / 3600) % 24, (i / 60) % 60, i % 60);
    return buf;
}

static int record_one(wb_store *s, unsigned i)
{
    char buf[1024], *id = NULL;
    int rc = wb_interaction_record(&id, s, body_of(buf, sizeof(buf), i));
    wb_free(id);
    return rc;
}

/* `batches` commits of 50 records each, numbered from `first`. */
static int record_batches(wb_store *s, unsigned first, unsigned batches)
{
    static char buf[50][1024];
    const char *bodies[50];
    int rc = 0;
    for (unsigned i = 0; i < batches && rc == 0; i++) {
        for (unsigned j = 0; j < 50; j++)
            bodies[j] = body_of(buf[j], sizeof(buf[j]), first + i * 50 + j);
        rc = wb_interaction_record_batch(NULL, s, bodies, 50);
    }
    return rc;
}

static int64_t count_of(const char *path)
{
    wb_store *s = NULL;
    uint64_t n = 0;
    if (wb_store_open(&s, path, NULL) != 0 || wb_interaction_count(&n, s, NULL) != 0)
        n = 0;
    wb_store_free(s);
    return (int64_t)n;
}

static const char *integrity(const char *path)
{
    static char out[256];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    snprintf(out, sizeof(out), "(no answer)");
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        snprintf(out, sizeof(out), "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

/* The app's handle, recording on its own thread meanwhile. */
typedef struct app {
    const char *path;
    int n, failed;
} app;

static void *app_main(void *arg)
{
    app *a = arg;
    wb_store *s = NULL;
    if (wb_store_open(&s, a->path, NULL) != 0) {
        a->failed = -1;
        return NULL;
    }
    for (int i = 0; i < a->n; i++)
        if (record_one(s, 1000000u + (unsigned)i) != 0)
            a->failed++;
    wb_store_free(s);
    return NULL;
}

static void test_core_checkpoint__wal_bounded_while_app_writes(void)
{
    wb_store *s = fx_store("ckpt.db");
    const char *path = wbt_path("ckpt.db");
    wb_ckpt *c = NULL;
    app a = {path, 300, 0};
    pthread_t th;
    int64_t max_wal = 0;
    int passes, failed = 0;

    WBT_ASSERT(s != NULL);
    WBT_OK(wb_store__exec(s, "PRAGMA journal_size_limit = -1"));
    WBT_OK(wb_ckpt__start(&c, s, SOFT, HARD));
    WBT_ASSERT(c != NULL);
    for (unsigned i = 0; i < 1000; i++) {
        int64_t w;
        WBT_OK(record_one(s, i));
        if ((w = wal_size(path)) > max_wal)
            max_wal = w;
    }
    /* Pages of 50 in one transaction each, as the pull commits them. */
    for (unsigned i = 0; i < 20; i++) {
        static char buf[50][1024];
        const char *bodies[50];
        int64_t w;
        for (unsigned j = 0; j < 50; j++)
            bodies[j] = body_of(buf[j], sizeof(buf[j]), 2000 + i * 50 + j);
        WBT_OK(wb_interaction_record_batch(NULL, s, bodies, 50));
        if ((w = wal_size(path)) > max_wal)
            max_wal = w;
    }
    passes = wb_ckpt__passes(c);
    printf("    WAL at most %lld bytes (bound %lld), %d passes of the thread\n",
           (long long)max_wal, (long long)WAL_BOUND, passes);
    /* Without the checkpoints the WAL would hold every frame: ~12 000. */
    WBT_ASSERT(max_wal > 0 && max_wal <= WAL_BOUND);
    WBT_ASSERT(passes > 0);

    /* The app records on its handle meanwhile (its connection checkpoints
     * as SQLite does by itself, every 1000 pages). */
    WBT_ASSERT_INT(pthread_create(&th, NULL, app_main, &a), 0);
    for (unsigned i = 0; i < 500; i++)
        failed += record_one(s, 5000 + i) != 0;
    pthread_join(th, NULL);
    wb_ckpt__stop(c);
    wb_store_free(s);
    WBT_ASSERT_INT(failed, 0);
    WBT_ASSERT_INT(a.failed, 0);
    WBT_ASSERT_INT(count_of(path), 1000 + 1000 + 500 + 300);
    WBT_ASSERT_STR(integrity(path), "ok");
}

/* After the writer's last commit (a small one, below the soft limit, so no
 * pass of the thread copies it), stopping makes a last pass: the WAL is
 * complete, and the app's next write transaction starts it again from
 * its first frame instead of appending to it (and then copying it all on
 * the app's thread at SQLite's 1000 pages). */
static int frames_after_commit;
static int on_app_commit(void *ud, sqlite3 *db, const char *name, int frames)
{
    (void)ud;
    (void)db;
    (void)name;
    frames_after_commit = frames;
    return SQLITE_OK;
}

static void test_core_checkpoint__stop_leaves_the_wal_complete(void)
{
    wb_store *s = fx_store("ckpt-stop.db");
    const char *path = wbt_path("ckpt-stop.db");
    wb_ckpt *c = NULL;
    sqlite3 *app_db = NULL;
    WBT_ASSERT(s != NULL);
    WBT_OK(wb_store__exec(s, "PRAGMA journal_size_limit = -1"));
    WBT_OK(wb_ckpt__start(&c, s, SOFT, HARD));
    WBT_ASSERT(c != NULL);
    wb_ckpt__start_thread(c);
    WBT_OK(record_batches(s, 7000, 10));
    WBT_OK(record_one(s, 9000));
    WBT_ASSERT(sqlite3_open(path, &app_db) == SQLITE_OK);
    wb_ckpt__stop(c);
    sqlite3_wal_hook(app_db, on_app_commit, NULL);
    frames_after_commit = -1;
    WBT_ASSERT(sqlite3_exec(app_db, "PRAGMA user_version = 7", NULL, NULL, NULL) == SQLITE_OK);
    printf("    the app's first commit after the stop left %d frames in the WAL\n",
           frames_after_commit);
    WBT_ASSERT(frames_after_commit >= 1 && frames_after_commit <= 2);
    sqlite3_close(app_db);
    wb_store_free(s);
    WBT_ASSERT_INT(count_of(path), 501);
    WBT_ASSERT_STR(integrity(path), "ok");
}

/* Descriptors this process has open (-1 when /proc cannot tell). */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own */
}

#ifdef __linux__
/* cachestat(2) (Linux 6.5): the page-cache state of a file's pages. Not in
 * this system's headers yet; the number is the same on every architecture. */
#define WBT_NR_CACHESTAT 451
typedef struct wbt_cachestat_range {
    uint64_t off, len;
} wbt_cachestat_range;
typedef struct wbt_cachestat {
    uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
} wbt_cachestat;
#endif

/* After each of the writer's commits the WAL's new pages are already on
 * their way to the disk (checkpoint.c, start_wal_writeback): with commits
 * that do not sync the WAL (durability NORMAL) and limits no commit
 * reaches, so that no checkpoint syncs it either, hardly a page of it is
 * left dirty. The descriptor that takes is closed by the stop. Where
 * cachestat(2) is missing (an older kernel, an emulator) the pages' state
 * cannot be read, and that part is skipped. */
static void test_core_checkpoint__wal_written_back_after_each_commit(void)
{
    wb_store *s = fx_store("ckpt-wb.db");
    const char *path = wbt_path("ckpt-wb.db");
    wb_ckpt *c = NULL;
    int fds_before;
    WBT_ASSERT(s != NULL);
    WBT_OK(wb_store__exec(s, "PRAGMA journal_size_limit = -1; PRAGMA synchronous = NORMAL"));
    fds_before = open_fds();
    WBT_OK(wb_ckpt__start(&c, s, 1 << 20, 1 << 21));
    WBT_ASSERT(c != NULL);
    WBT_OK(record_batches(s, 20000, 10));
#ifdef __linux__
    {
        char wal[1100];
        wbt_cachestat_range range = {0, 0};
        wbt_cachestat cs;
        int fd;
        snprintf(wal, sizeof(wal), "%s-wal", path);
        fd = open(wal, O_RDONLY | O_CLOEXEC);
        WBT_ASSERT(fd >= 0);
        memset(&cs, 0, sizeof(cs));
        if (syscall(WBT_NR_CACHESTAT, fd, &range, &cs, 0) != 0) {
            printf("    cachestat(2) is not available here (%s): the pages' state is not checked\n",
                   strerror(errno));
        } else {
            printf("    the WAL's pages: %llu in the page cache, %llu dirty, %llu being written\n",
                   (unsigned long long)cs.nr_cache, (unsigned long long)cs.nr_dirty,
                   (unsigned long long)cs.nr_writeback);
            WBT_ASSERT(cs.nr_cache >= 100);
            WBT_ASSERT(cs.nr_dirty <= 4);
        }
        close(fd);
    }
#endif
    wb_ckpt__stop(c);
    WBT_ASSERT_INT(open_fds(), fds_before);
    wb_store_free(s);
    WBT_ASSERT_INT(count_of(path), 500);
}

/* A store without a WAL (in memory): nothing to run, SQLite's own ways. */
static void test_core_checkpoint__no_wal_no_thread(void)
{
    wb_store *s = NULL;
    wb_ckpt *c = (wb_ckpt *)&s; /* set to NULL by the call */
    WBT_OK(wb_store_open(&s, ":memory:", NULL));
    WBT_OK(wb_ckpt__start(&c, s, SOFT, HARD));
    WBT_ASSERT(c == NULL);
    wb_ckpt__stop(c); /* accepts NULL */
    wb_store_free(s);
}

#define ROUNDS 8
#define MAX_ACKED 40000
static unsigned acked[MAX_ACKED];
static int n_acked;

static void child_loop(const char *path, unsigned first, int fd)
{
    wb_store *s = NULL;
    wb_ckpt *c = NULL;
    if (wb_store_open(&s, path, NULL) != 0 || wb_ckpt__start(&c, s, SOFT, HARD) != 0 || !c)
        _exit(3);
    for (unsigned i = first;; i++) {
        if (record_one(s, i) != 0)
            _exit(4);
        /* One write of 4 bytes (< PIPE_BUF) is atomic. */
        if (write(fd, &i, sizeof(i)) != (ssize_t)sizeof(i))
            _exit(5);
    }
}

static void read_acks(int fd)
{
    unsigned v;
    while (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
        if (n_acked < MAX_ACKED)
            acked[n_acked++] = v;
}

static void test_core_checkpoint__kill9_loses_no_committed_record(void)
{
    wb_store *s = fx_store("ckpt-kill.db");
    const char *path = wbt_path("ckpt-kill.db");
    unsigned seed = (unsigned)time(NULL), first = 0;
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
            child_loop(path, first, fds[1]);
        }
        close(fds[1]);
        {
            struct pollfd p = {fds[0], POLLIN, 0};
            (void)poll(&p, 1, 10000);
        }
        usleep(50000 + (useconds_t)(rand() % 150000));
        kill(pid, SIGKILL);
        read_acks(fds[0]);
        close(fds[0]);
        WBT_ASSERT(waitpid(pid, &status, 0) == pid);
        WBT_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        first = n_acked ? acked[n_acked - 1] + 100 : first + 100;
    }
    printf("    %d rounds, %d committed records (seed %u)\n", ROUNDS, n_acked, seed);
    WBT_ASSERT(n_acked > ROUNDS);
    WBT_ASSERT_STR(integrity(path), "ok");
    {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        WBT_ASSERT_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        WBT_ASSERT_INT(
            sqlite3_prepare_v2(db, "SELECT 1 FROM interactions WHERE contact_id = ?", -1, &st, NULL),
            SQLITE_OK);
        for (int i = 0; i < n_acked; i++) {
            char contact[37];
            snprintf(contact, sizeof(contact), "%08x-0000-4000-8000-%012x", acked[i] * 2654435761u,
                     acked[i]);
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, contact, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(st) != SQLITE_ROW)
                missing++;
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
    WBT_ASSERT_INT(missing, 0);
}

static const wbt_case cases[] = {
    WBT_CASE(test_core_checkpoint__wal_bounded_while_app_writes),
    WBT_CASE(test_core_checkpoint__stop_leaves_the_wal_complete),
    WBT_CASE(test_core_checkpoint__wal_written_back_after_each_commit),
    WBT_CASE(test_core_checkpoint__no_wal_no_thread),
    WBT_CASE(test_core_checkpoint__kill9_loses_no_committed_record),
};
WBT_MAIN(cases, NULL, NULL)
