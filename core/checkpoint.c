/*
 * checkpoint.c - WAL checkpoints on a thread of their own while a long
 * writer (the pull) commits.
 *
 * A checkpoint copies the WAL's pages into the database file and syncs
 * both (two fsyncs, in WAL mode with synchronous NORMAL the only ones).
 * SQLite's automatic checkpoint runs them on the connection that committed,
 * so a pull of 100 000 records waited on the disk for about a third of its
 * wall time. Here the writer's connection does no automatic checkpoint;
 * after each of its commits (its WAL hook) it asks a thread with its own
 * connection to run a PASSIVE checkpoint once enough new frames are in the
 * WAL, and goes on applying while that thread waits on the disk.
 *
 * A PASSIVE checkpoint never blocks the writer, but the WAL only starts
 * again from its beginning when a write transaction begins with every
 * committed frame copied, which a checkpoint running beside a writer that
 * commits back to back almost never leaves behind. So past a hard limit the
 * writer copies what is left itself (the frames of the commits since the
 * thread's last pass: a few MiB), and its next transaction starts the WAL
 * again. The WAL file stays within that limit plus one transaction.
 *
 * Durability is SQLite's: a commit is in the WAL either way, and which
 * connection copies it to the database does not change what a crash keeps.
 *
 * Each pass begins with an fsync of the WAL (SQLite's rule: nothing is
 * copied before the frames are on disk), so the thread waits on the disk
 * for whatever the writer committed since its last pass; at the end of a
 * pull the last pass waits for the rest. On Linux the writer's hook also
 * asks the kernel to start writing the WAL's new pages after each commit
 * (sync_file_range without waiting, as databases that log heavily do with
 * their logs), so the disk works while the writer goes on and the fsyncs
 * find little left to write. It changes no ordering: durability is still
 * the fsyncs'.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sync_file_range */
#endif
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "store_int.h"

struct wb_ckpt {
    wb_store *store;
    sqlite3 *db; /* the thread's own connection */
    pthread_t thread;
    int started; /* 1: the thread runs; -1: it could not start */
    pthread_mutex_t mu;
    pthread_cond_t wake, idle;
    int soft, hard; /* in frames: wb_ckpt__start */
    int want, busy, stop;
    int copied; /* frames of the WAL copied by the last pass (either thread) */
    int passes; /* the thread's passes that copied something */
    int wal_fd; /* our own descriptor of the WAL file (Linux), -1 when none */
};

/* SQLite syncs the database file only at a checkpoint that finds nothing
 * committed after what it copied, which beside a busy writer is the
 * writer's own at the hard limit: it would then wait for every page the
 * thread copied since. So the thread syncs what it copied itself, through
 * its connection's file (the call SQLite makes; the WAL is synced before
 * any copy as always, this only adds a sync of the database after it; one
 * that finds nothing to write costs next to nothing). */
static void sync_db(sqlite3 *db)
{
    sqlite3_file *f = NULL;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) == SQLITE_OK && f &&
        f->pMethods && f->pMethods->xSync)
        f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
}

static void *ckpt_main(void *arg)
{
    wb_ckpt *c = arg;
    /* glibc gives a thread the first malloc arena free at its first
     * allocation. Taken here, at once, it is one nobody else uses; taken
     * at the first checkpoint it could be the arena a prefetch thread of
     * the pull had just left (its page buffers still touched), and the
     * next prefetch thread would grow a new one: 1.3 MB more peak RSS. */
    sqlite3_free(sqlite3_malloc(64));
    pthread_mutex_lock(&c->mu);
    for (;;) {
        int log = 0, copied = 0;
        while (!c->want && !c->stop)
            pthread_cond_wait(&c->wake, &c->mu);
        if (c->stop && !c->want)
            break;
        c->want = 0;
        c->busy = 1;
        pthread_mutex_unlock(&c->mu);
        /* SQLITE_BUSY (another checkpoint, or a reader holding frames) only
         * means less was copied: the next commit asks again. */
        sqlite3_wal_checkpoint_v2(c->db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
        if (copied > 0)
            sync_db(c->db);
        pthread_mutex_lock(&c->mu);
        if (copied > 0) {
            c->copied = copied;
            c->passes++;
        }
        c->busy = 0;
        pthread_cond_broadcast(&c->idle);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* The thread and its connection, when first needed: a pull of a few
 * pages never fills soft frames and costs neither. 0 when it runs. */
static int ckpt_thread_start(wb_ckpt *c)
{
    const char *path = sqlite3_db_filename(c->store->db, "main");
    pthread_attr_t attr;
    int rc;
    /* No lookaside (the 120 KB SQLite gives each connection by default):
     * this one only ever runs checkpoints. It reads no table, so it never
     * loads the schema either. */
    rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_db_config(c->db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 0, 0);
    /* A connection finds the WAL at its first read (until then a
     * checkpoint on it does nothing): a header value, not the schema. */
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(c->db, "PRAGMA user_version", NULL, NULL, NULL);
    if (rc == SQLITE_OK && (rc = pthread_attr_init(&attr)) == 0) {
        /* A checkpoint needs little stack; the default 8 MiB is address
         * space only, but keep it small anyway. */
        pthread_attr_setstacksize(&attr, 256 * 1024);
        rc = pthread_create(&c->thread, &attr, ckpt_main, c);
        pthread_attr_destroy(&attr);
    }
    if (rc != 0) {
        sqlite3_close(c->db);
        c->db = NULL;
        return -1;
    }
    return 0;
}

/* Start writing the WAL's dirty pages to disk, without waiting for them
 * (file comment). Advisory: any failure only leaves them to the fsyncs. */
static void start_wal_writeback(wb_ckpt *c, sqlite3 *db, const char *name)
{
#ifdef __linux__
    if (c->wal_fd == -1) {
        /* Opened at the first commit: the WAL exists from then on, and
         * SQLite removes it only when the last connection closes, after
         * wb_ckpt__stop. Any descriptor of the file reaches its pages. */
        const char *wal = sqlite3_filename_wal(sqlite3_db_filename(db, name));
        c->wal_fd = wal ? open(wal, O_RDONLY | O_CLOEXEC) : -1;
        if (c->wal_fd < 0)
            c->wal_fd = -2; /* not tried again */
    }
    if (c->wal_fd >= 0)
        (void)sync_file_range(c->wal_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#else
    (void)c;
    (void)db;
    (void)name;
#endif
}

/* The writer's WAL hook, after each of its commits; frames: the frames now
 * in the WAL. Always SQLITE_OK: the commit is done whatever happens here. */
static int ckpt_hook(void *ud, sqlite3 *db, const char *name, int frames)
{
    wb_ckpt *c = ud;
    int tail = 0;
    start_wal_writeback(c, db, name);
    if (c->started == 0 && frames >= c->soft)
        c->started = ckpt_thread_start(c) == 0 ? 1 : -1;
    if (c->started < 0) {
        /* No thread: the writer copies every soft frames itself, as
         * SQLite's own hook would. */
        if (frames >= c->soft)
            sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        return SQLITE_OK;
    }
    pthread_mutex_lock(&c->mu);
    if (frames < c->copied)
        c->copied = 0; /* the WAL started again */
    if (frames >= c->hard) {
        while (c->busy)
            pthread_cond_wait(&c->idle, &c->mu);
        c->want = 0;
        tail = 1;
    } else if (c->started && !c->busy && !c->want && frames - c->copied >= c->soft) {
        c->want = 1;
        pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->mu);
    if (tail) {
        int log = 0, copied = 0;
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
        pthread_mutex_lock(&c->mu);
        c->copied = copied;
        pthread_mutex_unlock(&c->mu);
    }
    return SQLITE_OK;
}

int wb_ckpt__start(wb_ckpt **out, wb_store *store, int soft_frames, int hard_frames)
{
    wb_ckpt *c = NULL;
    const char *path = sqlite3_db_filename(store->db, "main");
    sqlite3_stmt *st = NULL;
    int wal = 0;

    *out = NULL;
    if (!path || !*path || store->readonly)
        return 0; /* in memory or temporary: no WAL */
    if (sqlite3_prepare_v2(store->db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        wal = sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
    sqlite3_finalize(st);
    if (!wal)
        return 0;
    if (!(c = wb__calloc(1, sizeof(*c))))
        return wb_error__oom();
    c->store = store;
    c->wal_fd = -1;
    c->soft = soft_frames > 0 ? soft_frames : 1;
    c->hard = hard_frames > c->soft ? hard_frames : c->soft + 1;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->wake, NULL);
    pthread_cond_init(&c->idle, NULL);
    sqlite3_wal_hook(store->db, ckpt_hook, c);
    *out = c;
    return 0;
}

void wb_ckpt__start_thread(wb_ckpt *c)
{
    if (c && c->started == 0)
        c->started = ckpt_thread_start(c) == 0 ? 1 : -1;
}

int wb_ckpt__passes(wb_ckpt *c)
{
    int n;
    pthread_mutex_lock(&c->mu);
    n = c->passes;
    pthread_mutex_unlock(&c->mu);
    return n;
}

void wb_ckpt__stop(wb_ckpt *c)
{
    if (!c)
        return;
    /* SQLite's own hook again (every 1000 pages, its default). */
    sqlite3_wal_autocheckpoint(c->store->db, 1000);
    if (c->started > 0) {
        pthread_mutex_lock(&c->mu);
        /* A last pass, now that the writer is done: it copies the WAL's
         * tail, so the WAL is complete and the next write transaction, the
         * app's, starts it again from its beginning. Left behind, the tail
         * (up to a few MiB) would be copied and synced by SQLite's own
         * checkpoint on whichever connection commits next past 1000 pages
         * of WAL, which after a large pull is at once: the app's, on the
         * thread that records a visit. Here it costs the sync's thread
         * what the close would otherwise. */
        c->want = 1;
        c->stop = 1;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
    }
    pthread_cond_destroy(&c->idle);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->mu);
    sqlite3_close(c->db);
    if (c->wal_fd >= 0)
        close(c->wal_fd);
    wb__free(c);
}
