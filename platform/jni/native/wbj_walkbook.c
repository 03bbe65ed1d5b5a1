/*
 * wbj_walkbook.c - natives of org.walkbook.Walkbook (version, live-object
 * counters), Geo (distance) and Json (patch helpers): calls that need no
 * handle.
 */
#include <stdlib.h>

#include "wbj.h"

static jstring JNICALL walkbook_version(JNIEnv *env, jclass c)
{
    (void)c;
    return (*env)->NewStringUTF(env, wb_version());
}

static jint JNICALL walkbook_version_number(JNIEnv *env, jclass c)
{
    (void)env;
    (void)c;
    return wb_version_number();
}

static jint JNICALL walkbook_schema_version(JNIEnv *env, jclass c)
{
    (void)env;
    (void)c;
    return wb_schema_version();
}

static jstring JNICALL walkbook_error_name(JNIEnv *env, jclass c, jint code)
{
    (void)c;
    return (*env)->NewStringUTF(env, wb_error_name(code));
}

static jlong JNICALL walkbook_live(JNIEnv *env, jclass c, jint kind)
{
    (void)env;
    (void)c;
    return wbj_live_get(kind);
}

static jdouble JNICALL geo_distance(JNIEnv *env, jclass c, jdouble lat1, jdouble lng1,
                                    jdouble lat2, jdouble lng2)
{
    double m = 0;
    int rc;
    (void)c;
    if ((rc = wb_geodesic_distance(&m, lat1, lng1, lat2, lng2)) < 0)
        wbj_throw(env, rc);
    return m;
}

static jdouble JNICALL geo_miles(JNIEnv *env, jclass c, jdouble metres)
{
    (void)env;
    (void)c;
    return wb_metres_to_miles(metres);
}

/* Both JSON helpers take two strings and return one. */
typedef int (*json2_fn)(char **out, const char *a, const char *b);

static jbyteArray json2(JNIEnv *env, json2_fn fn, jbyteArray a, const char *a_name, jbyteArray b,
                        const char *b_name)
{
    char *sa = NULL, *sb = NULL, *out = NULL;
    jbyteArray res = NULL;
    int rc;
    if (wbj_bytes_to_cstr(env, a, a_name, &sa) < 0 || wbj_bytes_to_cstr(env, b, b_name, &sb) < 0)
        goto cleanup;
    if ((rc = fn(&out, sa, sb)) < 0) {
        wbj_throw(env, rc);
        goto cleanup;
    }
    res = wbj_cstr_to_bytes(env, out);
cleanup:
    wb_free(out);
    free(sa);
    free(sb);
    return res;
}

static jbyteArray JNICALL json_patch_apply(JNIEnv *env, jclass c, jbyteArray doc, jbyteArray patch)
{
    (void)c;
    return json2(env, wb_json_patch_apply, doc, "document", patch, "patch");
}

static jbyteArray JNICALL json_diff(JNIEnv *env, jclass c, jbyteArray from, jbyteArray to)
{
    (void)c;
    return json2(env, wb_json_diff, from, "from", to, "to");
}

int wbj_walkbook__register(JNIEnv *env)
{
    const JNINativeMethod walkbook[] = {
        {WBJ_STR("version"), WBJ_STR("()Ljava/lang/String;"), WBJ_FN(walkbook_version)},
        {WBJ_STR("versionNumber"), WBJ_STR("()I"), WBJ_FN(walkbook_version_number)},
        {WBJ_STR("schemaVersion"), WBJ_STR("()I"), WBJ_FN(walkbook_schema_version)},
        {WBJ_STR("errorName"), WBJ_STR("(I)Ljava/lang/String;"), WBJ_FN(walkbook_error_name)},
        {WBJ_STR("nativeLive"), WBJ_STR("(I)J"), WBJ_FN(walkbook_live)},
    };
    const JNINativeMethod geo[] = {
        {WBJ_STR("nativeDistance"), WBJ_STR("(DDDD)D"), WBJ_FN(geo_distance)},
        {WBJ_STR("metresToMiles"), WBJ_STR("(D)D"), WBJ_FN(geo_miles)},
    };
    const JNINativeMethod json[] = {
        {WBJ_STR("nativePatchApply"), WBJ_STR("([B[B)[B"), WBJ_FN(json_patch_apply)},
        {WBJ_STR("nativeDiff"), WBJ_STR("([B[B)[B"), WBJ_FN(json_diff)},
    };
    if (wbj_register(env, "org/walkbook/Walkbook", walkbook, WBJ_COUNT(walkbook)) < 0 ||
        wbj_register(env, "org/walkbook/Geo", geo, WBJ_COUNT(geo)) < 0 ||
        wbj_register(env, "org/walkbook/Json", json, WBJ_COUNT(json)) < 0)
        return -1;
    return 0;
}
