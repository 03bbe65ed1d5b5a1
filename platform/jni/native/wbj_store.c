/*
 * wbj_store.c - natives of org.walkbook.Store (records, queries, conflicts)
 * and org.walkbook.Cursor.
 *
 * Handles travel as jlong. The Java classes serialise calls on one store
 * (a wb_store belongs to one thread at a time) and refuse calls on a closed
 * handle, so these functions only convert arguments, call walkbook and turn
 * a failure into an exception before returning.
 */
#include <stdlib.h>
#include <string.h>

#include "wbj.h"

#define STORE(h) ((wb_store *)(intptr_t)(h))
#define ITER(h) ((wb_iter *)(intptr_t)(h))

/* Indexes of Store.nativeOpen's int[] (StoreOptions.toNative). */
enum { SO_FLAGS, SO_BUSY_TIMEOUT, SO_DURABILITY, SO_MMAP, SO_ENCRYPTION, SO_COUNT };
enum { SL_KDF_OPS, SL_KDF_MEM, SL_COUNT };
/* Indexes of the query arrays (Query.toNative). */
enum { QS_CAMPAIGN, QS_CONTACT, QS_HOUSEHOLD, QS_WALKLIST, QS_SINCE, QS_UNTIL, QS_CURSOR, QS_COUNT };
enum { QI_STATES, QI_DELETED, QI_ORDER, QI_LIMIT, QI_COUNT };

int wbj_store_options(JNIEnv *env, jintArray jints, jlongArray jlongs, jbyteArray jkey,
                      jbyteArray jpass, wbj_store_opts *so)
{
    wb_store_options *o = &so->o;
    so->passphrase = NULL;
    if (wb_store_options_init(o, WB_STORE_OPTIONS_VERSION) < 0)
        return wbj_throw(env, WB_EINVALID);
    if (jints) {
        jint v[SO_COUNT];
        if ((*env)->GetArrayLength(env, jints) != SO_COUNT)
            return wbj_throw_msg(env, WB_EINVALID, WB_ERRCLASS_INVALID, "options: wrong length");
        (*env)->GetIntArrayRegion(env, jints, 0, SO_COUNT, v);
        o->flags = (unsigned int)v[SO_FLAGS];
        o->busy_timeout_ms = v[SO_BUSY_TIMEOUT];
        o->durability = v[SO_DURABILITY];
        o->mmap_mib = v[SO_MMAP];
        o->encryption = v[SO_ENCRYPTION];
    }
    if (jlongs) {
        jlong l[SL_COUNT];
        if ((*env)->GetArrayLength(env, jlongs) != SL_COUNT)
            return wbj_throw_msg(env, WB_EINVALID, WB_ERRCLASS_INVALID, "options: wrong length");
        (*env)->GetLongArrayRegion(env, jlongs, 0, SL_COUNT, l);
        if (l[SL_KDF_OPS] < 0 || l[SL_KDF_MEM] < 0)
            return wbj_throw_msg(env, WB_EINVALID, WB_ERRCLASS_INVALID,
                                 "kdfLimits: must not be negative");
        o->kdf_opslimit = (unsigned long long)l[SL_KDF_OPS];
        o->kdf_memlimit = (size_t)l[SL_KDF_MEM];
    }
    if (jkey) {
        if ((*env)->GetArrayLength(env, jkey) != WB_KEY_BYTES)
            return wbj_throw_msg(env, WB_EINVALID, WB_ERRCLASS_INVALID,
                                 "key: must be 32 bytes");
        (*env)->GetByteArrayRegion(env, jkey, 0, WB_KEY_BYTES, (jbyte *)so->key);
        o->key = so->key;
    }
    if (wbj_bytes_to_cstr(env, jpass, "passphrase", &so->passphrase) < 0)
        return WB_EINVALID;
    o->passphrase = so->passphrase;
    return 0;
}

void wbj_store_options_wipe(wbj_store_opts *so)
{
    wbj_wipe(so->key, sizeof(so->key));
    wbj_wipe_free(so->passphrase);
    so->passphrase = NULL;
    so->o.key = NULL;
    so->o.passphrase = NULL;
}

static jlong JNICALL store_open(JNIEnv *env, jclass c, jbyteArray jpath, jintArray jints,
                                jlongArray jlongs, jbyteArray jkey, jbyteArray jpass)
{
    wbj_store_opts so;
    wb_store *st = NULL;
    char *path = NULL;
    int rc;
    (void)c;
    if (wbj_bytes_to_cstr(env, jpath, "path", &path) < 0)
        return 0;
    if (wbj_store_options(env, jints, jlongs, jkey, jpass, &so) < 0) {
        wbj_store_options_wipe(&so);
        free(path);
        return 0;
    }
    rc = wb_store_open(&st, path, &so.o);
    wbj_store_options_wipe(&so);
    free(path);
    if (rc < 0) {
        wbj_throw(env, rc);
        return 0;
    }
    wbj_live_add(WBJ_LIVE_STORE, 1);
    return (jlong)(intptr_t)st;
}

static void JNICALL store_free(JNIEnv *env, jclass c, jlong h)
{
    (void)env;
    (void)c;
    if (!h)
        return;
    wb_store_free(STORE(h));
    wbj_live_add(WBJ_LIVE_STORE, -1);
}

/* wb_store_rekey or wb_store_encrypt with the keys of the Java options,
 * whose native copies are wiped after the call. */
static void with_keys(JNIEnv *env, jlong h, jintArray jints, jlongArray jlongs, jbyteArray jkey,
                      jbyteArray jpass, int (*op)(wb_store *, const wb_store_options *))
{
    wbj_store_opts so;
    int rc;
    if (wbj_store_options(env, jints, jlongs, jkey, jpass, &so) == 0 &&
        (rc = op(STORE(h), &so.o)) < 0)
        wbj_throw(env, rc);
    wbj_store_options_wipe(&so);
}

static void JNICALL store_rekey(JNIEnv *env, jclass c, jlong h, jintArray jints,
                                jlongArray jlongs, jbyteArray jkey, jbyteArray jpass)
{
    (void)c;
    with_keys(env, h, jints, jlongs, jkey, jpass, wb_store_rekey);
}

static void JNICALL store_encrypt(JNIEnv *env, jclass c, jlong h, jintArray jints,
                                  jlongArray jlongs, jbyteArray jkey, jbyteArray jpass)
{
    (void)c;
    with_keys(env, h, jints, jlongs, jkey, jpass, wb_store_encrypt);
}

static void JNICALL store_decrypt(JNIEnv *env, jclass c, jlong h)
{
    int rc;
    (void)c;
    if ((rc = wb_store_decrypt(STORE(h))) < 0)
        wbj_throw(env, rc);
}

/* The token arrives as UTF-8 in a byte[] the Java side wipes; the native
 * copy is wiped here. NULL forgets the saved token. */
static void JNICALL store_save_token(JNIEnv *env, jclass c, jlong h, jbyteArray jtoken)
{
    char *token = NULL;
    int rc;
    (void)c;
    if (jtoken && wbj_bytes_to_cstr(env, jtoken, "token", &token) < 0)
        return;
    if ((rc = wb_store_save_token(STORE(h), token)) < 0)
        wbj_throw(env, rc);
    wbj_wipe_free(token);
}

/* The saved token as UTF-8 (the Java side turns it into a char[] and wipes
 * the byte[]), or NULL when none is saved. */
static jbyteArray JNICALL store_saved_token(JNIEnv *env, jclass c, jlong h)
{
    char *token = NULL;
    jbyteArray res = NULL;
    int rc;
    (void)c;
    rc = wb_store_saved_token(&token, STORE(h));
    if (rc == WB_ENOTFOUND) {
        wb_error_clear();
        return NULL;
    }
    if (rc < 0)
        wbj_throw(env, rc);
    else
        res = wbj_cstr_to_bytes(env, token);
    wb_free_secret(token);
    return res;
}

static jboolean JNICALL store_encrypted(JNIEnv *env, jclass c, jlong h)
{
    (void)env;
    (void)c;
    return wb_store_encrypted(STORE(h)) ? JNI_TRUE : JNI_FALSE;
}

static jbyteArray JNICALL store_verify_log(JNIEnv *env, jclass c, jlong h)
{
    char *out = NULL;
    jbyteArray res = NULL;
    (void)c;
    /* On WB_ETAMPER the report is written too, but the exception (naming
     * the first broken link) is what the caller gets. */
    res = wbj_result_bytes(env, wb_log_verify(&out, STORE(h)), &out);
    return res;
}

static jint JNICALL store_schema_version(JNIEnv *env, jclass c, jlong h)
{
    (void)env;
    (void)c;
    return wb_store_schema_version(STORE(h));
}

static void JNICALL store_set_identity(JNIEnv *env, jclass c, jlong h, jbyteArray jcustomer,
                                       jbyteArray juser, jobjectArray jgroups)
{
    char *customer = NULL, *user = NULL, **groups = NULL;
    jsize n = 0, i;
    int rc;
    (void)c;
    if (wbj_bytes_to_cstr(env, jcustomer, "customerId", &customer) < 0 ||
        wbj_bytes_to_cstr(env, juser, "userId", &user) < 0)
        goto cleanup;
    if (jgroups) {
        n = (*env)->GetArrayLength(env, jgroups);
        if (n > 0 && !(groups = calloc((size_t)n, sizeof(*groups)))) {
            wbj_throw_msg(env, WB_ENOMEM, WB_ERRCLASS_NOMEM, "out of memory");
            goto cleanup;
        }
        for (i = 0; i < n; i++)
            if (wbj_array_cstr(env, jgroups, i, "securityGroupIds", &groups[i]) < 0)
                goto cleanup;
    }
    if ((rc = wb_store_set_identity(STORE(h), customer, user, (const char *const *)groups,
                                    (size_t)n)) < 0)
        wbj_throw(env, rc);
cleanup:
    for (i = 0; groups && i < n; i++)
        free(groups[i]);
    free(groups);
    free(customer);
    free(user);
}

/* The calls that return one JSON text from the store alone. */
typedef int (*store_json_fn)(char **out, wb_store *st);

static jbyteArray store_json(JNIEnv *env, store_json_fn fn, jlong h)
{
    char *out = NULL;
    jbyteArray res = NULL;
    res = wbj_result_bytes(env, fn(&out, STORE(h)), &out);
    return res;
}

static jbyteArray JNICALL store_identity(JNIEnv *env, jclass c, jlong h)
{
    (void)c;
    return store_json(env, wb_store_identity, h);
}

static jbyteArray JNICALL store_status(JNIEnv *env, jclass c, jlong h)
{
    (void)c;
    return store_json(env, wb_store_status, h);
}

static jbyteArray JNICALL store_record(JNIEnv *env, jclass c, jlong h, jbyteArray jbody)
{
    char *body = NULL, *id = NULL;
    jbyteArray res = NULL;
    (void)c;
    if (wbj_bytes_to_cstr(env, jbody, "body", &body) < 0)
        return NULL;
    res = wbj_result_bytes(env, wb_interaction_record(&id, STORE(h), body), &id);
    free(body);
    return res;
}

static jobjectArray JNICALL store_record_batch(JNIEnv *env, jclass c, jlong h,
                                               jobjectArray jbodies)
{
    char **bodies = NULL, **ids = NULL;
    jobjectArray res = NULL;
    jclass bytes_class = NULL;
    jsize n, i;
    int rc;
    (void)c;
    if (!jbodies) {
        wbj_throw_msg(env, WB_EINVALID, WB_ERRCLASS_INVALID, "bodies: missing");
        return NULL;
    }
    n = (*env)->GetArrayLength(env, jbodies);
    bodies = calloc((size_t)n + 1, sizeof(*bodies));
    ids = calloc((size_t)n + 1, sizeof(*ids));
    if (!bodies || !ids) {
        wbj_throw_msg(env, WB_ENOMEM, WB_ERRCLASS_NOMEM, "out of memory");
        goto cleanup;
    }
    for (i = 0; i < n; i++) {
        if (wbj_array_cstr(env, jbodies, i, "bodies", &bodies[i]) < 0)
            goto cleanup;
    }
    if ((rc = wb_interaction_record_batch(ids, STORE(h), (const char *const *)bodies,
                                          (size_t)n)) < 0) {
        wbj_throw(env, rc);
        goto cleanup;
    }
    if (!(bytes_class = (*env)->FindClass(env, "[B")) ||
        !(res = (*env)->NewObjectArray(env, n, bytes_class, NULL)))
        goto cleanup;
    /* One local reference per id, released at once: a batch of thousands
     * must not exhaust the local reference table. */
    for (i = 0; i < n; i++) {
        jbyteArray id = wbj_cstr_to_bytes(env, ids[i]);
        if (!id) {
            (*env)->DeleteLocalRef(env, res);
            res = NULL;
            goto cleanup;
        }
        (*env)->SetObjectArrayElement(env, res, i, id);
        (*env)->DeleteLocalRef(env, id);
    }
cleanup:
    if (bytes_class)
        (*env)->DeleteLocalRef(env, bytes_class);
    for (i = 0; bodies && ids && i < n; i++) {
        free(bodies[i]);
        wb_free(ids[i]);
    }
    free(bodies);
    free(ids);
    return res;
}

static jbyteArray JNICALL store_get(JNIEnv *env, jclass c, jlong h, jbyteArray jid,
                                    jboolean include_deleted)
{
    char *id = NULL, *out = NULL;
    jbyteArray res = NULL;
    (void)c;
    if (wbj_bytes_to_cstr(env, jid, "id", &id) < 0)
        return NULL;
    res = wbj_result_bytes(env, wb_interaction_get(&out, STORE(h), id, include_deleted ? 1 : 0),
                           &out);
    free(id);
    return res;
}

/* The calls that take an id and return one JSON text. */
typedef int (*id_json_fn)(char **out, wb_store *st, const char *id);

static jbyteArray id_json(JNIEnv *env, id_json_fn fn, jlong h, jbyteArray jid)
{
    char *id = NULL, *out = NULL;
    jbyteArray res = NULL;
    if (wbj_bytes_to_cstr(env, jid, "id", &id) < 0)
        return NULL;
    res = wbj_result_bytes(env, fn(&out, STORE(h), id), &out);
    free(id);
    return res;
}

static jbyteArray JNICALL store_sync_info(JNIEnv *env, jclass c, jlong h, jbyteArray jid)
{
    (void)c;
    return id_json(env, wb_interaction_sync_info, h, jid);
}

static jbyteArray JNICALL store_conflict_get(JNIEnv *env, jclass c, jlong h, jbyteArray jid)
{
    (void)c;
    return id_json(env, wb_conflict_get, h, jid);
}

static void JNICALL store_update(JNIEnv *env, jclass c, jlong h, jbyteArray jid,
                                 jbyteArray jpatch)
{
    char *id = NULL, *patch = NULL;
    int rc;
    (void)c;
    if (wbj_bytes_to_cstr(env, jid, "id", &id) == 0 &&
        wbj_bytes_to_cstr(env, jpatch, "patch", &patch) == 0 &&
        (rc = wb_interaction_update(STORE(h), id, patch)) < 0)
        wbj_throw(env, rc);
    free(id);
    free(patch);
}

static void JNICALL store_delete(JNIEnv *env, jclass c, jlong h, jbyteArray jid)
{
    char *id = NULL;
    int rc;
    (void)c;
    if (wbj_bytes_to_cstr(env, jid, "id", &id) == 0 &&
        (rc = wb_interaction_delete(STORE(h), id)) < 0)
        wbj_throw(env, rc);
    free(id);
}

static void JNICALL store_conflict_resolve(JNIEnv *env, jclass c, jlong h, jbyteArray jid,
                                           jint resolution, jbyteArray jdoc)
{
    char *id = NULL, *doc = NULL;
    int rc;
    (void)c;
    if (wbj_bytes_to_cstr(env, jid, "id", &id) == 0 &&
        wbj_bytes_to_cstr(env, jdoc, "document", &doc) == 0 &&
        (rc = wb_conflict_resolve(STORE(h), id, resolution, doc)) < 0)
        wbj_throw(env, rc);
    free(id);
    free(doc);
}

/* A wb_query from Query.toNative()'s arrays; the strings are owned by strs. */
static int query_from(JNIEnv *env, wb_query *q, char **strs, jobjectArray jstrs, jintArray jints)
{
    static const char *const names[QS_COUNT] = {"campaignId", "contactId", "householdId",
                                                "walklistId", "since", "until", "cursor"};
    wb_query init = WB_QUERY_INIT;
    jint v[QI_COUNT];
    *q = init;
    if (!jstrs || !jints || (*env)->GetArrayLength(env, jstrs) != QS_COUNT ||
        (*env)->GetArrayLength(env, jints) != QI_COUNT)
        return wbj_throw_msg(env, WB_EINVALID, WB_ERRCLASS_INVALID, "query: wrong shape");
    for (int i = 0; i < QS_COUNT; i++)
        if (wbj_array_cstr(env, jstrs, i, names[i], &strs[i]) < 0)
            return WB_EINVALID;
    (*env)->GetIntArrayRegion(env, jints, 0, QI_COUNT, v);
    q->campaign_id = strs[QS_CAMPAIGN];
    q->contact_id = strs[QS_CONTACT];
    q->household_id = strs[QS_HOUSEHOLD];
    q->walklist_id = strs[QS_WALKLIST];
    q->since = strs[QS_SINCE];
    q->until = strs[QS_UNTIL];
    q->cursor = strs[QS_CURSOR];
    q->states = (unsigned int)v[QI_STATES];
    q->deleted = v[QI_DELETED];
    q->order = v[QI_ORDER];
    q->limit = (unsigned int)v[QI_LIMIT];
    return 0;
}

static void query_strs_free(char **strs)
{
    for (int i = 0; i < QS_COUNT; i++)
        free(strs[i]);
}

static jlong JNICALL store_query(JNIEnv *env, jclass c, jlong h, jobjectArray jstrs,
                                 jintArray jints)
{
    char *strs[QS_COUNT] = {NULL};
    wb_query q;
    wb_iter *it = NULL;
    (void)c;
    if (query_from(env, &q, strs, jstrs, jints) == 0) {
        int rc = wb_interaction_query(&it, STORE(h), &q);
        if (rc < 0)
            wbj_throw(env, rc);
        else
            wbj_live_add(WBJ_LIVE_CURSOR, 1);
    }
    query_strs_free(strs);
    return (jlong)(intptr_t)it;
}

static jlong JNICALL store_count(JNIEnv *env, jclass c, jlong h, jobjectArray jstrs,
                                 jintArray jints)
{
    char *strs[QS_COUNT] = {NULL};
    wb_query q;
    uint64_t n = 0;
    int rc;
    (void)c;
    if (query_from(env, &q, strs, jstrs, jints) == 0 &&
        (rc = wb_interaction_count(&n, STORE(h), &q)) < 0)
        wbj_throw(env, rc);
    query_strs_free(strs);
    return (jlong)n;
}

static jlong JNICALL store_purge(JNIEnv *env, jclass c, jlong h, jlong older_than_ms)
{
    uint64_t n = 0;
    int rc;
    (void)c;
    if ((rc = wb_interaction_purge(&n, STORE(h), older_than_ms)) < 0)
        wbj_throw(env, rc);
    return (jlong)n;
}

static jbyteArray JNICALL cursor_next(JNIEnv *env, jclass c, jlong h)
{
    const char *json = NULL;
    int rc;
    (void)c;
    rc = wb_iter_next(&json, ITER(h));
    if (rc == WB_ITEROVER)
        return NULL;
    if (rc < 0) {
        wbj_throw(env, rc);
        return NULL;
    }
    return wbj_cstr_to_bytes(env, json);
}

/* Up to @p max envelopes in one call (fewer at the end; empty when done).
 * wb_iter_next's text is borrowed until the next step, so each one is
 * copied into a Java array before stepping on. */
static jobjectArray JNICALL cursor_next_page(JNIEnv *env, jclass c, jlong h, jint max)
{
    jobjectArray page = NULL, res = NULL;
    jclass bytes_class;
    jsize n = 0;
    int rc = 0;
    (void)c;
    if (max <= 0) {
        wbj_throw_msg(env, WB_EINVALID, WB_ERRCLASS_INVALID, "max: must be positive");
        return NULL;
    }
    if (!(bytes_class = (*env)->FindClass(env, "[B")))
        return NULL;
    if (!(page = (*env)->NewObjectArray(env, max, bytes_class, NULL)))
        goto cleanup;
    while (n < max) {
        const char *json = NULL;
        jbyteArray one;
        if ((rc = wb_iter_next(&json, ITER(h))) == WB_ITEROVER)
            break;
        if (rc < 0) {
            wbj_throw(env, rc);
            goto cleanup;
        }
        if (!(one = wbj_cstr_to_bytes(env, json)))
            goto cleanup;
        (*env)->SetObjectArrayElement(env, page, n++, one);
        (*env)->DeleteLocalRef(env, one);
    }
    if (n == max) {
        res = page;
        page = NULL;
        goto cleanup;
    }
    /* The last page is shorter: copy it into an array of its length. */
    if (!(res = (*env)->NewObjectArray(env, n, bytes_class, NULL)))
        goto cleanup;
    for (jsize i = 0; i < n; i++) {
        jobject one = (*env)->GetObjectArrayElement(env, page, i);
        (*env)->SetObjectArrayElement(env, res, i, one);
        (*env)->DeleteLocalRef(env, one);
    }
cleanup:
    if (page)
        (*env)->DeleteLocalRef(env, page);
    (*env)->DeleteLocalRef(env, bytes_class);
    return res;
}

static jbyteArray JNICALL cursor_position(JNIEnv *env, jclass c, jlong h)
{
    (void)c;
    return wbj_cstr_to_bytes(env, wb_iter_cursor(ITER(h)));
}

static void JNICALL cursor_free(JNIEnv *env, jclass c, jlong h)
{
    (void)env;
    (void)c;
    if (!h)
        return;
    wb_iter_free(ITER(h));
    wbj_live_add(WBJ_LIVE_CURSOR, -1);
}

int wbj_store__register(JNIEnv *env)
{
    const JNINativeMethod store[] = {
        {WBJ_STR("nativeOpen"), WBJ_STR("([B[I[J[B[B)J"), WBJ_FN(store_open)},
        {WBJ_STR("nativeRekey"), WBJ_STR("(J[I[J[B[B)V"), WBJ_FN(store_rekey)},
        {WBJ_STR("nativeEncrypted"), WBJ_STR("(J)Z"), WBJ_FN(store_encrypted)},
        {WBJ_STR("nativeEncrypt"), WBJ_STR("(J[I[J[B[B)V"), WBJ_FN(store_encrypt)},
        {WBJ_STR("nativeDecrypt"), WBJ_STR("(J)V"), WBJ_FN(store_decrypt)},
        {WBJ_STR("nativeSaveToken"), WBJ_STR("(J[B)V"), WBJ_FN(store_save_token)},
        {WBJ_STR("nativeSavedToken"), WBJ_STR("(J)[B"), WBJ_FN(store_saved_token)},
        {WBJ_STR("nativeVerifyLog"), WBJ_STR("(J)[B"), WBJ_FN(store_verify_log)},
        {WBJ_STR("nativeFree"), WBJ_STR("(J)V"), WBJ_FN(store_free)},
        {WBJ_STR("nativeSchemaVersion"), WBJ_STR("(J)I"), WBJ_FN(store_schema_version)},
        {WBJ_STR("nativeSetIdentity"), WBJ_STR("(J[B[B[[B)V"), WBJ_FN(store_set_identity)},
        {WBJ_STR("nativeIdentity"), WBJ_STR("(J)[B"), WBJ_FN(store_identity)},
        {WBJ_STR("nativeStatus"), WBJ_STR("(J)[B"), WBJ_FN(store_status)},
        {WBJ_STR("nativeRecord"), WBJ_STR("(J[B)[B"), WBJ_FN(store_record)},
        {WBJ_STR("nativeRecordBatch"), WBJ_STR("(J[[B)[[B"), WBJ_FN(store_record_batch)},
        {WBJ_STR("nativeGet"), WBJ_STR("(J[BZ)[B"), WBJ_FN(store_get)},
        {WBJ_STR("nativeSyncInfo"), WBJ_STR("(J[B)[B"), WBJ_FN(store_sync_info)},
        {WBJ_STR("nativeUpdate"), WBJ_STR("(J[B[B)V"), WBJ_FN(store_update)},
        {WBJ_STR("nativeDelete"), WBJ_STR("(J[B)V"), WBJ_FN(store_delete)},
        {WBJ_STR("nativeQuery"), WBJ_STR("(J[[B[I)J"), WBJ_FN(store_query)},
        {WBJ_STR("nativeCount"), WBJ_STR("(J[[B[I)J"), WBJ_FN(store_count)},
        {WBJ_STR("nativePurge"), WBJ_STR("(JJ)J"), WBJ_FN(store_purge)},
        {WBJ_STR("nativeConflictGet"), WBJ_STR("(J[B)[B"), WBJ_FN(store_conflict_get)},
        {WBJ_STR("nativeConflictResolve"), WBJ_STR("(J[BI[B)V"), WBJ_FN(store_conflict_resolve)},
    };
    const JNINativeMethod cursor[] = {
        {WBJ_STR("nativeNext"), WBJ_STR("(J)[B"), WBJ_FN(cursor_next)},
        {WBJ_STR("nativeNextPage"), WBJ_STR("(JI)[[B"), WBJ_FN(cursor_next_page)},
        {WBJ_STR("nativePosition"), WBJ_STR("(J)[B"), WBJ_FN(cursor_position)},
        {WBJ_STR("nativeFree"), WBJ_STR("(J)V"), WBJ_FN(cursor_free)},
    };
    if (wbj_register(env, "org/walkbook/Store", store, WBJ_COUNT(store)) < 0 ||
        wbj_register(env, "org/walkbook/Cursor", cursor, WBJ_COUNT(cursor)) < 0)
        return -1;
    return 0;
}
