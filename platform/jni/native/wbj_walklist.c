/*
 * wbj_walklist.c - natives of org.walkbook.WalkLists (reference-data
 * caches, walk lists, next doors, campaign settings, breadcrumb track) and
 * the Store calls of the same group (record with a GPS fix, fraud signals).
 */
#include <stdlib.h>
#include <string.h>

#include "wbj.h"

#define STORE(h) ((wb_store *)(intptr_t)(h))

/* Indexes of RecordOptions.nativeDoubles / nativeInts. */
enum { RD_LAT, RD_LNG, RD_ACCURACY, RD_COUNT };
enum { RI_HAS_FIX, RI_CHECK, RI_COUNT };

/* Up to three string arguments converted, a call, its JSON result. The
 * strings a call does not use stay NULL. */
typedef struct wbj_args {
    char *s[3];
} wbj_args;

static int args_get(JNIEnv *env, wbj_args *a, jbyteArray j0, const char *n0, jbyteArray j1,
                    const char *n1, jbyteArray j2, const char *n2)
{
    a->s[0] = a->s[1] = a->s[2] = NULL;
    if (wbj_bytes_to_cstr(env, j0, n0, &a->s[0]) < 0 ||
        wbj_bytes_to_cstr(env, j1, n1, &a->s[1]) < 0 ||
        wbj_bytes_to_cstr(env, j2, n2, &a->s[2]) < 0)
        return WB_EINVALID;
    return 0;
}

static void args_free(wbj_args *a)
{
    for (int i = 0; i < 3; i++)
        free(a->s[i]);
}

/* The JSON result of a call that returned @p rc and wrote @p *out. It takes
 * the address, not the value: as an argument beside the call, the value
 * could be read before the call wrote it (unsequenced). */
static void JNICALL ref_upsert(JNIEnv *env, jclass c, jlong h, jbyteArray jres, jbyteArray jenv)
{
    wbj_args a;
    int rc;
    (void)c;
    if (args_get(env, &a, jres, "resource", jenv, "envelope", NULL, NULL) == 0 &&
        (rc = wb_ref_upsert(STORE(h), a.s[0], a.s[1])) < 0)
        wbj_throw(env, rc);
    args_free(&a);
}

static jbyteArray JNICALL ref_get(JNIEnv *env, jclass c, jlong h, jbyteArray jres, jbyteArray jid)
{
    wbj_args a;
    char *out = NULL;
    jbyteArray res = NULL;
    (void)c;
    if (args_get(env, &a, jres, "resource", jid, "id", NULL, NULL) == 0)
        res = wbj_result_bytes(env, wb_ref_get(&out, STORE(h), a.s[0], a.s[1]), &out);
    args_free(&a);
    return res;
}

static jbyteArray JNICALL ref_list(JNIEnv *env, jclass c, jlong h, jbyteArray jres)
{
    wbj_args a;
    char *out = NULL;
    jbyteArray res = NULL;
    (void)c;
    if (args_get(env, &a, jres, "resource", NULL, NULL, NULL, NULL) == 0)
        res = wbj_result_bytes(env, wb_ref_list(&out, STORE(h), a.s[0]), &out);
    args_free(&a);
    return res;
}

static jlong JNICALL ref_import(JNIEnv *env, jclass c, jlong h, jbyteArray jkind, jbyteArray jtext)
{
    wbj_args a;
    uint64_t n = 0;
    int rc;
    (void)c;
    if (args_get(env, &a, jkind, "kind", jtext, "text", NULL, NULL) == 0 &&
        (rc = wb_ref_import(&n, STORE(h), a.s[0], a.s[1], a.s[1] ? strlen(a.s[1]) : 0)) < 0)
        wbj_throw(env, rc);
    args_free(&a);
    return (jlong)n;
}

static void JNICALL walklist_add(JNIEnv *env, jclass c, jlong h, jbyteArray jwl, jbyteArray jcamp,
                                 jbyteArray jhh)
{
    wbj_args a;
    int rc;
    (void)c;
    if (args_get(env, &a, jwl, "walklistId", jcamp, "campaignId", jhh, "householdId") == 0 &&
        (rc = wb_walklist_add_household(STORE(h), a.s[0], a.s[1], a.s[2])) < 0)
        wbj_throw(env, rc);
    args_free(&a);
}

static jbyteArray JNICALL walklist_list(JNIEnv *env, jclass c, jlong h)
{
    char *out = NULL;
    (void)c;
    return wbj_result_bytes(env, wb_walklist_list(&out, STORE(h)), &out);
}

/* The calls that take one id and return JSON. */
typedef int (*id_json_fn)(char **out, wb_store *st, const char *id);

static jbyteArray id_json(JNIEnv *env, id_json_fn fn, jlong h, jbyteArray jid, const char *name)
{
    wbj_args a;
    char *out = NULL;
    jbyteArray res = NULL;
    if (args_get(env, &a, jid, name, NULL, NULL, NULL, NULL) == 0)
        res = wbj_result_bytes(env, fn(&out, STORE(h), a.s[0]), &out);
    args_free(&a);
    return res;
}

static jbyteArray JNICALL walklist_show(JNIEnv *env, jclass c, jlong h, jbyteArray jwl)
{
    (void)c;
    return id_json(env, wb_walklist_show, h, jwl, "walklistId");
}

static jbyteArray JNICALL walklist_progress(JNIEnv *env, jclass c, jlong h, jbyteArray jwl)
{
    (void)c;
    return id_json(env, wb_walklist_progress, h, jwl, "walklistId");
}

static jbyteArray JNICALL walklist_next(JNIEnv *env, jclass c, jlong h, jbyteArray jwl, jdouble lat,
                                        jdouble lng, jint k)
{
    wbj_args a;
    char *out = NULL;
    jbyteArray res = NULL;
    (void)c;
    if (k < 0) {
        wbj_throw_msg(env, WB_EINVALID, WB_ERRCLASS_INVALID, "k: must be between 1 and 1000");
        return NULL;
    }
    if (args_get(env, &a, jwl, "walklistId", NULL, NULL, NULL, NULL) == 0)
        res = wbj_result_bytes(
            env, wb_walklist_next(&out, STORE(h), a.s[0], lat, lng, (unsigned int)k, 0), &out);
    args_free(&a);
    return res;
}

static void JNICALL settings_set(JNIEnv *env, jclass c, jlong h, jbyteArray jcamp,
                                 jbyteArray jjson)
{
    wbj_args a;
    int rc;
    (void)c;
    if (args_get(env, &a, jcamp, "campaignId", jjson, "settings", NULL, NULL) == 0 &&
        (rc = wb_campaign_settings_set(STORE(h), a.s[0], a.s[1])) < 0)
        wbj_throw(env, rc);
    args_free(&a);
}

static jbyteArray JNICALL settings_get(JNIEnv *env, jclass c, jlong h, jbyteArray jcamp)
{
    (void)c;
    return id_json(env, wb_campaign_settings_get, h, jcamp, "campaignId");
}

static jboolean JNICALL track_add(JNIEnv *env, jclass c, jlong h, jdouble lat, jdouble lng,
                                  jdouble accuracy, jbyteArray jtime, jdouble spacing)
{
    wbj_args a;
    int kept = 0, rc;
    (void)c;
    if (args_get(env, &a, jtime, "time", NULL, NULL, NULL, NULL) == 0 &&
        (rc = wb_track_add(&kept, STORE(h), lat, lng, accuracy, a.s[0], spacing)) < 0)
        wbj_throw(env, rc);
    args_free(&a);
    return kept ? JNI_TRUE : JNI_FALSE;
}

static jbyteArray JNICALL track_get(JNIEnv *env, jclass c, jlong h, jbyteArray jsince,
                                    jbyteArray juntil)
{
    wbj_args a;
    char *out = NULL;
    jbyteArray res = NULL;
    (void)c;
    if (args_get(env, &a, jsince, "since", juntil, "until", NULL, NULL) == 0)
        res = wbj_result_bytes(env, wb_track_get(&out, STORE(h), a.s[0], a.s[1]), &out);
    args_free(&a);
    return res;
}

static jlong JNICALL track_purge(JNIEnv *env, jclass c, jlong h, jbyteArray jbefore)
{
    wbj_args a;
    uint64_t n = 0;
    int rc;
    (void)c;
    if (args_get(env, &a, jbefore, "before", NULL, NULL, NULL, NULL) == 0 &&
        (rc = wb_track_purge(&n, STORE(h), a.s[0])) < 0)
        wbj_throw(env, rc);
    args_free(&a);
    return (jlong)n;
}

static jbyteArray JNICALL store_record_ex(JNIEnv *env, jclass c, jlong h, jbyteArray jbody,
                                          jdoubleArray jd, jintArray ji, jbyteArray jtime)
{
    wb_record_options o;
    wbj_args a;
    char *id = NULL;
    jdouble d[RD_COUNT];
    jint v[RI_COUNT];
    int rc;
    (void)c;
    if (!jd || !ji || (*env)->GetArrayLength(env, jd) != RD_COUNT ||
        (*env)->GetArrayLength(env, ji) != RI_COUNT) {
        wbj_throw_msg(env, WB_EINVALID, WB_ERRCLASS_INVALID, "options: wrong shape");
        return NULL;
    }
    (*env)->GetDoubleArrayRegion(env, jd, 0, RD_COUNT, d);
    (*env)->GetIntArrayRegion(env, ji, 0, RI_COUNT, v);
    if (args_get(env, &a, jbody, "body", jtime, "fixTime", NULL, NULL) < 0) {
        args_free(&a);
        return NULL;
    }
    wb_record_options_init(&o, WB_RECORD_OPTIONS_VERSION);
    o.has_fix = v[RI_HAS_FIX];
    o.lat = d[RD_LAT];
    o.lng = d[RD_LNG];
    o.accuracy_m = d[RD_ACCURACY];
    o.fix_time = a.s[1];
    o.check = v[RI_CHECK];
    rc = wb_interaction_record_ex(&id, STORE(h), a.s[0], &o);
    args_free(&a);
    return wbj_result_bytes(env, rc, &id);
}

static jbyteArray JNICALL store_signals(JNIEnv *env, jclass c, jlong h, jbyteArray jid)
{
    (void)c;
    return id_json(env, wb_interaction_signals, h, jid, "id");
}

static jbyteArray JNICALL store_flagged(JNIEnv *env, jclass c, jlong h, jbyteArray jsignal)
{
    wbj_args a;
    char *out = NULL;
    jbyteArray res = NULL;
    (void)c;
    if (args_get(env, &a, jsignal, "signal", NULL, NULL, NULL, NULL) == 0)
        res = wbj_result_bytes(env, wb_interaction_flagged(&out, STORE(h), a.s[0]), &out);
    args_free(&a);
    return res;
}

int wbj_walklist__register(JNIEnv *env)
{
    const JNINativeMethod walk[] = {
        {WBJ_STR("nativeRefUpsert"), WBJ_STR("(J[B[B)V"), WBJ_FN(ref_upsert)},
        {WBJ_STR("nativeRefGet"), WBJ_STR("(J[B[B)[B"), WBJ_FN(ref_get)},
        {WBJ_STR("nativeRefList"), WBJ_STR("(J[B)[B"), WBJ_FN(ref_list)},
        {WBJ_STR("nativeRefImport"), WBJ_STR("(J[B[B)J"), WBJ_FN(ref_import)},
        {WBJ_STR("nativeAddHousehold"), WBJ_STR("(J[B[B[B)V"), WBJ_FN(walklist_add)},
        {WBJ_STR("nativeList"), WBJ_STR("(J)[B"), WBJ_FN(walklist_list)},
        {WBJ_STR("nativeShow"), WBJ_STR("(J[B)[B"), WBJ_FN(walklist_show)},
        {WBJ_STR("nativeProgress"), WBJ_STR("(J[B)[B"), WBJ_FN(walklist_progress)},
        {WBJ_STR("nativeNext"), WBJ_STR("(J[BDDI)[B"), WBJ_FN(walklist_next)},
        {WBJ_STR("nativeSettingsSet"), WBJ_STR("(J[B[B)V"), WBJ_FN(settings_set)},
        {WBJ_STR("nativeSettingsGet"), WBJ_STR("(J[B)[B"), WBJ_FN(settings_get)},
        {WBJ_STR("nativeTrackAdd"), WBJ_STR("(JDDD[BD)Z"), WBJ_FN(track_add)},
        {WBJ_STR("nativeTrackGet"), WBJ_STR("(J[B[B)[B"), WBJ_FN(track_get)},
        {WBJ_STR("nativeTrackPurge"), WBJ_STR("(J[B)J"), WBJ_FN(track_purge)},
    };
    const JNINativeMethod store[] = {
        {WBJ_STR("nativeRecordEx"), WBJ_STR("(J[B[D[I[B)[B"), WBJ_FN(store_record_ex)},
        {WBJ_STR("nativeSignals"), WBJ_STR("(J[B)[B"), WBJ_FN(store_signals)},
        {WBJ_STR("nativeFlagged"), WBJ_STR("(J[B)[B"), WBJ_FN(store_flagged)},
    };
    if (wbj_register(env, "org/walkbook/WalkLists", walk, WBJ_COUNT(walk)) < 0 ||
        wbj_register(env, "org/walkbook/Store", store, WBJ_COUNT(store)) < 0)
        return -1;
    return 0;
}
