/*
 * wbj_common.c - library load, exceptions, UTF-8 byte arrays, thread
 * attachment and live-object counters of the JNI bridge.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wbj.h"

JavaVM *wbj_vm;

static jclass exception_class;  /* org.walkbook.WalkbookException (global) */
static jmethodID exception_ctor; /* (IILjava/lang/String;III)V */
static atomic_long live[WBJ_LIVE_KINDS];

void wbj_live_add(int kind, int delta)
{
    atomic_fetch_add(&live[kind], delta);
}

long wbj_live_get(int kind)
{
    return kind >= 0 && kind < WBJ_LIVE_KINDS ? atomic_load(&live[kind]) : -1;
}

jobject wbj_global_new(JNIEnv *env, jobject obj)
{
    jobject ref = (*env)->NewGlobalRef(env, obj);
    if (ref)
        wbj_live_add(WBJ_LIVE_GLOBALREF, 1);
    return ref;
}

void wbj_global_delete(JNIEnv *env, jobject ref)
{
    if (!ref)
        return;
    (*env)->DeleteGlobalRef(env, ref);
    wbj_live_add(WBJ_LIVE_GLOBALREF, -1);
}

int wbj_throw_saved(JNIEnv *env, int code, int klass, const char *message, int sqlite_code,
                    int http_status, int os_error)
{
    jstring msg;
    jthrowable ex;
    if ((*env)->ExceptionCheck(env))
        return code; /* the first exception wins */
    msg = (*env)->NewStringUTF(env, message ? message : wb_error_name(code));
    if (!msg)
        return code; /* OutOfMemoryError pending */
    ex = (jthrowable)(*env)->NewObject(env, exception_class, exception_ctor, (jint)code,
                                       (jint)klass, msg, (jint)sqlite_code, (jint)http_status,
                                       (jint)os_error);
    (*env)->DeleteLocalRef(env, msg);
    if (ex) {
        (*env)->Throw(env, ex);
        (*env)->DeleteLocalRef(env, ex);
    }
    return code;
}

int wbj_throw(JNIEnv *env, int rc)
{
    const wb_error *e = wb_error_last();
    if (e && e->code == rc)
        return wbj_throw_saved(env, rc, e->klass, e->message, e->sqlite_code, e->http_status,
                               e->os_error);
    return wbj_throw_saved(env, rc, WB_ERRCLASS_NONE, wb_error_name(rc), 0, 0, 0);
}

int wbj_throw_msg(JNIEnv *env, int code, int klass, const char *message)
{
    return wbj_throw_saved(env, code, klass, message, 0, 0, 0);
}

int wbj_bytes_to_cstr(JNIEnv *env, jbyteArray arr, const char *field, char **out)
{
    jsize n;
    char *s;
    *out = NULL;
    if (!arr)
        return 0;
    n = (*env)->GetArrayLength(env, arr);
    if (!(s = malloc((size_t)n + 1)))
        return wbj_throw_msg(env, WB_ENOMEM, WB_ERRCLASS_NOMEM, "out of memory");
    (*env)->GetByteArrayRegion(env, arr, 0, n, (jbyte *)s);
    s[n] = '\0';
    if (memchr(s, '\0', (size_t)n)) {
        char msg[128];
        wbj_wipe(s, (size_t)n); /* it may be a secret */
        free(s);
        snprintf(msg, sizeof(msg), "%s: contains a NUL character", field);
        return wbj_throw_msg(env, WB_EINVALID, WB_ERRCLASS_INVALID, msg);
    }
    *out = s;
    return 0;
}

int wbj_array_cstr(JNIEnv *env, jobjectArray arr, jsize i, const char *field, char **out)
{
    jbyteArray el = (jbyteArray)(*env)->GetObjectArrayElement(env, arr, i);
    int rc;
    *out = NULL;
    if ((*env)->ExceptionCheck(env))
        return WB_EINVALID;
    rc = wbj_bytes_to_cstr(env, el, field, out);
    (*env)->DeleteLocalRef(env, el);
    return rc;
}

void wbj_wipe(void *p, size_t n)
{
    /* A volatile pointer keeps the compiler from dropping the stores to
     * memory that is freed or goes out of scope right after. */
    for (volatile unsigned char *v = p; n > 0; n--)
        *v++ = 0;
}

void wbj_wipe_free(char *s)
{
    if (!s)
        return;
    wbj_wipe(s, strlen(s));
    free(s);
}

jbyteArray wbj_cstr_to_bytes(JNIEnv *env, const char *s)
{
    jbyteArray arr;
    size_t n;
    if (!s)
        return NULL;
    n = strlen(s);
    if (n > 0x7fffffff) {
        wbj_throw_msg(env, WB_ETOOBIG, WB_ERRCLASS_INVALID, "result: over 2 GiB");
        return NULL;
    }
    if (!(arr = (*env)->NewByteArray(env, (jsize)n)))
        return NULL;
    (*env)->SetByteArrayRegion(env, arr, 0, (jsize)n, (const jbyte *)s);
    return arr;
}

jbyteArray wbj_result_bytes(JNIEnv *env, int rc, char **out)
{
    jbyteArray res = NULL;
    if (rc < 0)
        wbj_throw(env, rc);
    else
        res = wbj_cstr_to_bytes(env, *out);
    wb_free(*out);
    *out = NULL;
    return res;
}

JNIEnv *wbj_env_acquire(int *attached, const char *thread_name)
{
    JNIEnv *env = NULL;
    JavaVMAttachArgs args;
    jint rc;
    *attached = 0;
    if (!wbj_vm)
        return NULL;
    rc = (*wbj_vm)->GetEnv(wbj_vm, (void **)&env, JNI_VERSION_1_6);
    if (rc == JNI_OK)
        return env;
    if (rc != JNI_EDETACHED)
        return NULL;
    args.version = JNI_VERSION_1_6;
    args.name = (char *)(uintptr_t)thread_name; /* jni.h's field is not const */
    args.group = NULL;
    /* The Android NDK declares the first argument as JNIEnv**, the JDK as
     * void**; going through a void* satisfies both. */
    {
        void *penv = NULL;
        if ((*wbj_vm)->AttachCurrentThread(wbj_vm, (void *)&penv, &args) != JNI_OK)
            return NULL;
        env = penv;
    }
    *attached = 1;
    return env;
}

void wbj_env_release(int attached)
{
    if (attached && wbj_vm)
        (*wbj_vm)->DetachCurrentThread(wbj_vm);
}

int wbj_register(JNIEnv *env, const char *class_name, const JNINativeMethod *methods, int n)
{
    jclass c = (*env)->FindClass(env, class_name);
    int rc;
    if (!c)
        return -1;
    rc = (*env)->RegisterNatives(env, c, methods, n) == 0 ? 0 : -1;
    (*env)->DeleteLocalRef(env, c);
    return rc;
}

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved)
{
    JNIEnv *env = NULL;
    jclass c;
    (void)reserved;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_6) != JNI_OK)
        return JNI_ERR;
    wbj_vm = vm;
    if (!(c = (*env)->FindClass(env, "org/walkbook/WalkbookException")))
        return JNI_ERR;
    exception_class = (jclass)(*env)->NewGlobalRef(env, c);
    (*env)->DeleteLocalRef(env, c);
    if (!exception_class)
        return JNI_ERR;
    exception_ctor =
        (*env)->GetMethodID(env, exception_class, "<init>", "(IILjava/lang/String;III)V");
    if (!exception_ctor)
        return JNI_ERR;
    if (wbj_walkbook__register(env) < 0 || wbj_store__register(env) < 0 ||
        wbj_sync__register(env) < 0 || wbj_walklist__register(env) < 0)
        return JNI_ERR;
    return JNI_VERSION_1_6;
}

JNIEXPORT void JNICALL JNI_OnUnload(JavaVM *vm, void *reserved)
{
    JNIEnv *env = NULL;
    (void)reserved;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_6) != JNI_OK)
        return;
    if (exception_class)
        (*env)->DeleteGlobalRef(env, exception_class);
    exception_class = NULL;
    wbj_vm = NULL;
}
