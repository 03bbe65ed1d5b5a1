/*
 * wbj_sync.c - natives of org.walkbook.Sync: a sync run on the calling Java
 * thread (run) or on a native thread of its own (start / await), with the
 * progress listener and the token-refresh callback called back into Java
 * from whichever thread runs the sync.
 *
 * A native thread is attached to the VM for the length of its run and
 * detached before it ends. The Java Sync object is held by a global
 * reference only while a run may call back; the thread that completes the
 * run (or joins the native thread) deletes it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wbj.h"

/* Indexes of Sync's option arrays (SyncOptions.toNative). */
enum { SS_BASE_URL, SS_TOKEN, SS_CA_FILE, SS_CA_PATH, SS_PROXY, SS_COUNT };
enum {
    SI_API,
    SI_POLICY,
    SI_PREFER_REMOTE,
    SI_PAGE_SIZE,
    SI_TIMEOUT,
    SI_CONNECT_TIMEOUT,
    SI_MAX_ATTEMPTS,
    SI_BACKOFF_BASE,
    SI_BACKOFF_MAX,
    SI_HAS_PROGRESS,
    SI_HAS_REFRESH,
    SI_PULL_REFERENCE,
    SI_USE_SAVED_TOKEN,
    SI_SEND_SIGNATURES,
    SI_PARALLEL,
    SI_PULL_TXN_RECORDS,
    SI_COUNT
};

typedef struct wbj_sync {
    wb_sync *sync;
    jobject owner; /* global ref to the Java Sync during a run, else NULL */
    int callbacks; /* a listener or a refresher is set */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int thread_live; /* started and not yet joined */
    int done;        /* the background run finished */
    /* Outcome of a background run, read on its own thread (wb_error_last
     * is per thread) and handed to await(). */
    int rc, klass, sqlite_code, http_status, os_error;
    char *message;
    char *report;
} wbj_sync;

#define SYNC(h) ((wbj_sync *)(intptr_t)(h))

static jmethodID mid_progress; /* Sync.dispatchProgress(IJJ)Z */
static jmethodID mid_refresh;  /* Sync.dispatchTokenRefresh()[B */

static int on_progress(const wb_sync_progress *p, void *userdata)
{
    wbj_sync *s = userdata;
    int attached, stop = 1;
    JNIEnv *env = wbj_env_acquire(&attached, "walkbook-sync");
    if (!env || !s->owner)
        return 1; /* no way to ask Java: stop rather than run blind */
    jboolean go = (*env)->CallBooleanMethod(env, s->owner, mid_progress, (jint)p->phase,
                                            (jlong)p->done, (jlong)p->total);
    if ((*env)->ExceptionCheck(env))
        (*env)->ExceptionClear(env); /* Sync.dispatchProgress keeps listener errors */
    else
        stop = go ? 0 : 1;
    wbj_env_release(attached);
    return stop;
}

static int on_token_refresh(char *buf, size_t size, void *userdata)
{
    wbj_sync *s = userdata;
    int attached, rc = 1;
    jbyteArray tok;
    JNIEnv *env = wbj_env_acquire(&attached, "walkbook-sync");
    if (!env || !s->owner)
        return 1;
    tok = (jbyteArray)(*env)->CallObjectMethod(env, s->owner, mid_refresh);
    if ((*env)->ExceptionCheck(env)) {
        (*env)->ExceptionClear(env);
        tok = NULL;
    }
    if (tok) {
        jsize n = (*env)->GetArrayLength(env, tok);
        if (n > 0 && (size_t)n < size) {
            (*env)->GetByteArrayRegion(env, tok, 0, n, (jbyte *)buf);
            buf[n] = '\0';
            rc = memchr(buf, '\0', (size_t)n) ? 1 : 0;
        }
        /* The token's Java copy is wiped (the String the app returned is
         * beyond reach; the byte[] is ours). */
        jbyte *b = (*env)->GetByteArrayElements(env, tok, NULL);
        if (b) {
            memset(b, 0, (size_t)n);
            (*env)->ReleaseByteArrayElements(env, tok, b, 0);
        }
        (*env)->DeleteLocalRef(env, tok);
    }
    wbj_env_release(attached);
    return rc;
}

static void sync_result_clear(wbj_sync *s)
{
    free(s->message);
    s->message = NULL;
    wb_free(s->report);
    s->report = NULL;
}

static jlong JNICALL sync_new(JNIEnv *env, jclass c, jbyteArray jpath, jintArray jstore_ints,
                              jlongArray jstore_longs, jbyteArray jkey, jbyteArray jpass,
                              jobjectArray jstrs, jintArray jints)
{
    static const char *const names[SS_COUNT] = {"baseUrl", "token", "caFile", "caPath", "proxy"};
    wbj_store_opts so;
    wb_sync_options o;
    char *path = NULL, *strs[SS_COUNT] = {NULL};
    jint v[SI_COUNT];
    wbj_sync *s = NULL;
    int rc, i;
    (void)c;
    memset(&so, 0, sizeof(so));
    if (!jstrs || !jints || (*env)->GetArrayLength(env, jstrs) != SS_COUNT ||
        (*env)->GetArrayLength(env, jints) != SI_COUNT) {
        wbj_throw_msg(env, WB_EINVALID, WB_ERRCLASS_INVALID, "options: wrong shape");
        return 0;
    }
    if (wbj_bytes_to_cstr(env, jpath, "storePath", &path) < 0 ||
        wbj_store_options(env, jstore_ints, jstore_longs, jkey, jpass, &so) < 0)
        goto cleanup;
    for (i = 0; i < SS_COUNT; i++)
        if (wbj_array_cstr(env, jstrs, i, names[i], &strs[i]) < 0)
            goto cleanup;
    (*env)->GetIntArrayRegion(env, jints, 0, SI_COUNT, v);
    if (!(s = calloc(1, sizeof(*s)))) {
        wbj_throw_msg(env, WB_ENOMEM, WB_ERRCLASS_NOMEM, "out of memory");
        goto cleanup;
    }
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        s = NULL;
        wbj_throw_msg(env, WB_ERROR, WB_ERRCLASS_OS, "sync: cannot create a mutex");
        goto cleanup;
    }
    if (pthread_cond_init(&s->cv, NULL) != 0) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        s = NULL;
        wbj_throw_msg(env, WB_ERROR, WB_ERRCLASS_OS, "sync: cannot create a condition");
        goto cleanup;
    }
    wb_sync_options_init(&o, WB_SYNC_OPTIONS_VERSION);
    o.base_url = strs[SS_BASE_URL];
    o.token = strs[SS_TOKEN];
    o.ca_file = strs[SS_CA_FILE];
    o.ca_path = strs[SS_CA_PATH];
    o.proxy = strs[SS_PROXY];
    o.api = v[SI_API];
    o.policy = v[SI_POLICY];
    o.prefer_remote = v[SI_PREFER_REMOTE];
    o.page_size = (unsigned int)v[SI_PAGE_SIZE];
    o.timeout_ms = v[SI_TIMEOUT];
    o.connect_timeout_ms = v[SI_CONNECT_TIMEOUT];
    o.max_attempts = v[SI_MAX_ATTEMPTS];
    o.backoff_base_ms = v[SI_BACKOFF_BASE];
    o.backoff_max_ms = v[SI_BACKOFF_MAX];
    o.use_saved_token = v[SI_USE_SAVED_TOKEN];
    o.send_signatures = v[SI_SEND_SIGNATURES];
    o.parallel = (unsigned int)v[SI_PARALLEL];
    o.pull_txn_records = (unsigned int)v[SI_PULL_TXN_RECORDS]; /* not negative: SyncOptions */
    o.progress = v[SI_HAS_PROGRESS] ? on_progress : NULL;
    o.token_refresh = v[SI_HAS_REFRESH] ? on_token_refresh : NULL;
    o.userdata = s;
    s->callbacks = v[SI_HAS_PROGRESS] || v[SI_HAS_REFRESH];
    if ((rc = wb_sync_new(&s->sync, path, &so.o, &o)) < 0) {
        wbj_throw(env, rc);
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s);
        s = NULL;
        goto cleanup;
    }
    if (v[SI_PULL_REFERENCE])
        (void)wb_sync_pull_reference(s->sync, 1); /* fails only while running */
    wbj_live_add(WBJ_LIVE_SYNC, 1);
cleanup:
    wbj_store_options_wipe(&so);
    free(path);
    for (i = 0; i < SS_COUNT; i++) {
        if (i == SS_TOKEN)
            wbj_wipe_free(strs[i]);
        else
            free(strs[i]);
    }
    return (jlong)(intptr_t)s;
}

/* A run on the calling Java thread: callbacks come back on this thread. */
static jbyteArray JNICALL sync_run(JNIEnv *env, jobject self, jlong h)
{
    wbj_sync *s = SYNC(h);
    char *report = NULL;
    jbyteArray res = NULL;
    int rc;
    if (s->callbacks && !(s->owner = wbj_global_new(env, self)))
        return NULL; /* OutOfMemoryError pending */
    rc = wb_sync_run(&report, s->sync);
    /* The error is read here, on the thread that ran, before any other
     * walkbook call (a global reference delete is not one). */
    if (rc < 0)
        wbj_throw(env, rc);
    wbj_global_delete(env, s->owner);
    s->owner = NULL;
    if (rc == 0)
        res = wbj_cstr_to_bytes(env, report ? report : "");
    wb_free(report);
    return res;
}

static void *sync_thread(void *arg)
{
    wbj_sync *s = arg;
    const wb_error *e;
    char *report = NULL;
    int attached = 0, rc;
    /* Attached once for the whole run, so each callback finds its JNIEnv
     * without attaching again; only needed when Java is called back. */
    if (s->callbacks)
        (void)wbj_env_acquire(&attached, "walkbook-sync");
    rc = wb_sync_run(&report, s->sync);
    e = rc < 0 ? wb_error_last() : NULL;
    pthread_mutex_lock(&s->mu);
    s->rc = rc;
    if (e && e->code == rc) {
        s->klass = e->klass;
        s->sqlite_code = e->sqlite_code;
        s->http_status = e->http_status;
        s->os_error = e->os_error;
        s->message = e->message ? strdup(e->message) : NULL;
    }
    s->report = report;
    s->done = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    wbj_env_release(attached);
    return NULL;
}

static void JNICALL sync_start(JNIEnv *env, jobject self, jlong h)
{
    wbj_sync *s = SYNC(h);
    int err;
    sync_result_clear(s);
    s->done = 0;
    s->rc = 0;
    s->klass = s->sqlite_code = s->http_status = s->os_error = 0;
    if (s->callbacks && !(s->owner = wbj_global_new(env, self)))
        return;
    if ((err = pthread_create(&s->thread, NULL, sync_thread, s)) != 0) {
        wbj_global_delete(env, s->owner);
        s->owner = NULL;
        wbj_throw_saved(env, WB_ERROR, WB_ERRCLASS_OS, "sync: cannot start a thread", 0, 0, err);
        return;
    }
    s->thread_live = 1;
}

/* Join a finished or cancelled background thread (the caller holds no lock)
 * and drop the global reference it used. */
static void sync_join(JNIEnv *env, wbj_sync *s)
{
    if (!s->thread_live)
        return;
    pthread_join(s->thread, NULL);
    s->thread_live = 0;
    wbj_global_delete(env, s->owner);
    s->owner = NULL;
}

/* Wait up to timeout_ms for a background run: its report (empty when it
 * gave none), an exception for its error, or NULL while it still runs. */
static jbyteArray JNICALL sync_await(JNIEnv *env, jclass c, jlong h, jlong timeout_ms)
{
    wbj_sync *s = SYNC(h);
    struct timespec until;
    jbyteArray res = NULL;
    int done;
    (void)c;
    if (!s->thread_live) {
        wbj_throw_msg(env, WB_EINVALID, WB_ERRCLASS_INVALID, "sync: no background run to await");
        return NULL;
    }
    clock_gettime(CLOCK_REALTIME, &until);
    if (timeout_ms < 0)
        timeout_ms = 0;
    until.tv_sec += (time_t)(timeout_ms / 1000);
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (!s->done)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT)
            break;
    done = s->done;
    pthread_mutex_unlock(&s->mu);
    if (!done)
        return NULL;
    sync_join(env, s);
    if (s->rc < 0)
        wbj_throw_saved(env, s->rc, s->klass, s->message, s->sqlite_code, s->http_status,
                        s->os_error);
    else
        res = wbj_cstr_to_bytes(env, s->report ? s->report : "");
    sync_result_clear(s);
    return res;
}

static void JNICALL sync_cancel(JNIEnv *env, jclass c, jlong h)
{
    (void)env;
    (void)c;
    if (h)
        wb_sync_cancel(SYNC(h)->sync);
}

static void JNICALL sync_free(JNIEnv *env, jclass c, jlong h)
{
    wbj_sync *s = SYNC(h);
    (void)c;
    if (!s)
        return;
    if (s->thread_live) {
        wb_sync_cancel(s->sync);
        sync_join(env, s);
    }
    wb_sync_free(s->sync);
    sync_result_clear(s);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
    wbj_live_add(WBJ_LIVE_SYNC, -1);
}

int wbj_sync__register(JNIEnv *env)
{
    const JNINativeMethod sync[] = {
        {WBJ_STR("nativeNew"), WBJ_STR("([B[I[J[B[B[[B[I)J"), WBJ_FN(sync_new)},
        {WBJ_STR("nativeRun"), WBJ_STR("(J)[B"), WBJ_FN(sync_run)},
        {WBJ_STR("nativeStart"), WBJ_STR("(J)V"), WBJ_FN(sync_start)},
        {WBJ_STR("nativeAwait"), WBJ_STR("(JJ)[B"), WBJ_FN(sync_await)},
        {WBJ_STR("nativeCancel"), WBJ_STR("(J)V"), WBJ_FN(sync_cancel)},
        {WBJ_STR("nativeFree"), WBJ_STR("(J)V"), WBJ_FN(sync_free)},
    };
    jclass cls = (*env)->FindClass(env, "org/walkbook/Sync");
    if (!cls)
        return -1;
    mid_progress = (*env)->GetMethodID(env, cls, "dispatchProgress", "(IJJ)Z");
    mid_refresh = (*env)->GetMethodID(env, cls, "dispatchTokenRefresh", "()[B");
    (*env)->DeleteLocalRef(env, cls);
    if (!mid_progress || !mid_refresh)
        return -1;
    return wbj_register(env, "org/walkbook/Sync", sync, WBJ_COUNT(sync));
}
