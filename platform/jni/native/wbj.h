/*
 * wbj.h - shared helpers of the JNI bridge (platform/jni/native).
 *
 * The bridge uses only the public header. Strings cross the boundary as
 * byte[] holding UTF-8: GetStringUTFChars would hand walkbook "modified
 * UTF-8" (surrogate pairs for emoji, 0xC0 0x80 for NUL), which is not valid
 * UTF-8 JSON. The Java classes encode and decode with StandardCharsets.UTF_8.
 *
 * Every error is turned into a WalkbookException inside the native call
 * that saw it, because wb_error_last() is per thread and the next walkbook
 * call on this thread would overwrite it.
 */
#ifndef WBJ_H
#define WBJ_H

#include <jni.h>
#include <stddef.h>
#include <stdint.h>

#include "walkbook.h"

/* Kinds of native objects counted for Walkbook.liveNativeObjects(). */
enum { WBJ_LIVE_STORE, WBJ_LIVE_CURSOR, WBJ_LIVE_SYNC, WBJ_LIVE_GLOBALREF, WBJ_LIVE_KINDS };

/* The VM, cached by JNI_OnLoad (a callback on a thread the VM does not know
 * needs it to attach). */
extern JavaVM *wbj_vm;

void wbj_live_add(int kind, int delta);
long wbj_live_get(int kind);

/* Global references made through these are counted, so a test can prove none
 * is left after close. */
jobject wbj_global_new(JNIEnv *env, jobject obj);
void wbj_global_delete(JNIEnv *env, jobject ref);

/* Throw a WalkbookException for @p rc from wb_error_last() of this thread.
 * Returns rc so callers can `return wbj_throw(env, rc);`. */
int wbj_throw(JNIEnv *env, int rc);
/* Throw a WalkbookException with an explicit code, class and message (for
 * errors the bridge itself detects). */
int wbj_throw_msg(JNIEnv *env, int code, int klass, const char *message);
/* Throw from saved error fields (errors read on another thread). */
int wbj_throw_saved(JNIEnv *env, int code, int klass, const char *message, int sqlite_code,
                    int http_status, int os_error);

/* Copy a byte[] of UTF-8 into a NUL-terminated malloc'd string. A NULL array
 * gives *out = NULL and 0 (walkbook then reports the missing argument). An
 * embedded NUL is refused with WB_EINVALID naming @p field. On failure an
 * exception is pending and the return is negative. */
int wbj_bytes_to_cstr(JNIEnv *env, jbyteArray arr, const char *field, char **out);
/* As wbj_bytes_to_cstr for element @p i of a byte[][]. */
int wbj_array_cstr(JNIEnv *env, jobjectArray arr, jsize i, const char *field, char **out);
/* Overwrite and free a string that held a secret. */
void wbj_wipe_free(char *s);
/* A new byte[] with the bytes of @p s, or NULL for a NULL @p s. NULL with a
 * pending OutOfMemoryError when the VM cannot allocate it. */
jbyteArray wbj_cstr_to_bytes(JNIEnv *env, const char *s);
/* The result of a library call that returns a string through @p out: the
 * string as a new byte[] when @p rc is not negative, else NULL with the
 * call's exception pending. Frees *out with wb_free either way. */
jbyteArray wbj_result_bytes(JNIEnv *env, int rc, char **out);

/* wb_store_options with the copies of its secrets, wiped by
 * wbj_store_options_wipe once the call that needed them returns. */
typedef struct wbj_store_opts {
    wb_store_options o;
    unsigned char key[WB_KEY_BYTES];
    char *passphrase;
} wbj_store_opts;

/* wbj_store_opts from StoreOptions' arrays (ints NULL: defaults; key and
 * passphrase NULL: none). Negative with an exception pending on a malformed
 * array or a key of the wrong size. Wipe it in every case. */
int wbj_store_options(JNIEnv *env, jintArray jints, jlongArray jlongs, jbyteArray jkey,
                      jbyteArray jpass, wbj_store_opts *so);
void wbj_store_options_wipe(wbj_store_opts *so);
/* Overwrite @p n bytes that held a secret. */
void wbj_wipe(void *p, size_t n);

/* The JNIEnv of the calling thread, attaching it to the VM when it is a
 * native thread. *attached is set to 1 when the caller must detach with
 * wbj_env_release() once it has finished calling Java. NULL when the thread
 * cannot be attached. */
JNIEnv *wbj_env_acquire(int *attached, const char *thread_name);
void wbj_env_release(int attached);

/* JNINativeMethod's fields are `char *` in the JDK's jni.h (const in the
 * NDK's): literals and function pointers go in through an integer so that
 * neither -Wwrite-strings nor -Wcast-qual nor -Wpedantic object. */
#define WBJ_STR(s) ((char *)(uintptr_t)(s))
#define WBJ_FN(f) ((void *)(uintptr_t)(f))
#define WBJ_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Registration of each class's native methods (one file per class group). */
int wbj_register(JNIEnv *env, const char *class_name, const JNINativeMethod *methods, int n);
int wbj_walkbook__register(JNIEnv *env);
int wbj_store__register(JNIEnv *env);
int wbj_sync__register(JNIEnv *env);
int wbj_walklist__register(JNIEnv *env);

#endif /* WBJ_H */
