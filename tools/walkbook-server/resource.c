/*
 * resource.c - shared request steps for stored resources (see resource.h).
 */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "etag.h"
#include "json.h"
#include "resource.h"
#include "uuid.h"

int wbs_resource_id(char out[37], wbs_response *res, const wbs_request *req)
{
    const char *id = req->n_captures ? req->captures[0] : "";
    if (!wb_uuid__valid(id)) {
        wbs_respond_error(res, 400, "BadRequestError", "id: must be a UUID");
        return -1;
    }
    for (size_t i = 0; i < 37; i++)
        out[i] = (id[i] >= 'A' && id[i] <= 'F') ? (char)(id[i] - 'A' + 'a') : id[i];
    return 0;
}

int wbs_resource_precondition(char *out, size_t outlen, wbs_response *res,
                              const wbs_request *req)
{
    const char *v = wbs_request_header(req, "etag");
    size_t n;

    if (!v || !*v)
        v = wbs_request_header(req, "If-Match");
    if (v)
        while (*v == ' ' || *v == '\t')
            v++;
    if (!v || !*v) {
        wbs_respond_error(res, 428, "PreconditionRequiredError",
                          "send the record's meta.etag in an etag header");
        return -1;
    }
    if (v[0] == 'W' && v[1] == '/')
        v += 2;
    n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    if (n >= outlen)
        n = outlen - 1; /* longer than any etag: cannot match, and says so below */
    memcpy(out, v, n);
    out[n] = '\0';
    return 0;
}

int wbs_resource_load(cJSON **env, char **text, wbs_response *res, wbs_records *r,
                      const char *resource, const char *customer, const char *id)
{
    const cJSON *meta;
    int rc;

    *env = NULL;
    *text = NULL;
    rc = wbs_records_get(text, r, resource, customer, id);

    if (rc < 0) {
        wbs_respond_error(res, 500, "ServerError", "storage error");
        return -1;
    }
    if (rc == 1) {
        wbs_respond_error(res, 404, "NotFoundError", "no such record");
        return -1;
    }
    *env = cJSON_Parse(*text);
    meta = wb_json__get(*env, "meta");
    if (!*env || !cJSON_IsObject(meta)) {
        cJSON_Delete(*env);
        wb__free(*text);
        *env = NULL;
        *text = NULL;
        wbs_respond_error(res, 500, "ServerError", "stored record unreadable");
        return -1;
    }
    if (cJSON_IsTrue(wb_json__get(meta, "isDeleted"))) {
        cJSON_Delete(*env);
        wb__free(*text);
        *env = NULL;
        *text = NULL;
        wbs_respond_error(res, 404, "NotFoundError", "no such record");
        return -1;
    }
    return 0;
}

int wbs_resource_check_etag(wbs_response *res, const cJSON *env, const char *text,
                            const char *want)
{
    const cJSON *etag = wb_json__get(wb_json__get(env, "meta"), "etag");
    wb_buf b = WB_BUF_INIT;

    if (strcmp(want, "*") == 0 ||
        (cJSON_IsString(etag) && strcmp(etag->valuestring, want) == 0))
        return 0;
    wb_buf__puts(&b, "{\"name\":\"ConcurrencyError\",\"message\":\"" WBS_CONCURRENCY_MESSAGE
                     "\",\"data\":");
    wb_buf__puts(&b, text);
    wb_buf__putc(&b, '}');
    wbs_respond_text(res, 412, wb_buf__detach(&b));
    wb_buf__free(&b);
    return -1;
}

static int wbs_resource__set_string(cJSON *obj, const char *name, const char *value)
{
    cJSON *item = cJSON_CreateString(value), *old = wb_json__get(obj, name);
    if (!item)
        return -1;
    if (old ? cJSON_ReplaceItemInObjectCaseSensitive(obj, name, item)
            : cJSON_AddItemToObject(obj, name, item))
        return 0;
    cJSON_Delete(item);
    return -1;
}

void wbs_resource_write(wbs_response *res, int status, wbs_records *r, const char *resource,
                        cJSON *env, const char *customer, const char *id, const char *user)
{
    cJSON *meta = wb_json__get(env, "meta");
    const cJSON *campaign;
    char modified[25];
    char *text;

    wbs_records_next_modified(r, modified);
    if (wbs_resource__set_string(meta, "modified", modified) < 0 ||
        wbs_resource__set_string(meta, "modifiedBy", user) < 0 ||
        !(text = wbs_etag_stamp(env, NULL))) {
        wbs_respond_error(res, 500, "ServerError", "out of memory");
        return;
    }
    campaign = wb_json__get(wb_json__get(env, "data"), "campaignId");
    if (wbs_records_put_known(r, resource, customer, id, text, modified,
                              cJSON_IsString(campaign) ? campaign->valuestring : NULL,
                              cJSON_IsTrue(wb_json__get(meta, "isDeleted"))    ? 1
                              : cJSON_IsFalse(wb_json__get(meta, "isDeleted")) ? 0
                                                                               : -1) < 0) {
        wb__free(text);
        wbs_respond_error(res, 500, "ServerError", "storage error");
        return;
    }
    wbs_respond_text(res, status, text);
}

void wbs_resource_fail(wbs_response *res, const char *name, const char *fallback)
{
    const wb_error *e = wb_error_last();
    wbs_respond_error(res, 400, name, e && e->message && *e->message ? e->message : fallback);
}

void wbs_resource_get(wbs_response *res, wbs_request *req, wbs_records *r, const char *resource)
{
    char id[37];
    char *text = NULL;
    cJSON *env = NULL;

    if (wbs_resource_id(id, res, req) < 0)
        return;
    wbs_records_lock(r);
    if (wbs_resource_load(&env, &text, res, r, resource, req->who.customer, id) == 0) {
        wbs_respond_text(res, 200, text);
        cJSON_Delete(env);
    }
    wbs_records_unlock(r);
}

void wbs_resource_delete(wbs_response *res, wbs_request *req, wbs_records *r,
                         const char *resource, unsigned delete_roles)
{
    char id[37], want[WBS_ETAG_MAX + 2];
    char *text = NULL;
    cJSON *env = NULL, *flag;

    if (!(delete_roles & (1u << req->who.role))) {
        wbs_respond_error(res, 403, "ForbiddenError", "this role may not delete records");
        return;
    }
    if (wbs_resource_id(id, res, req) < 0 ||
        wbs_resource_precondition(want, sizeof(want), res, req) < 0)
        return;
    wbs_records_lock(r);
    if (wbs_resource_load(&env, &text, res, r, resource, req->who.customer, id) < 0)
        goto unlock;
    if (wbs_resource_check_etag(res, env, text, want) < 0)
        goto cleanup;
    flag = cJSON_CreateTrue();
    if (!flag || !cJSON_ReplaceItemInObjectCaseSensitive(wb_json__get(env, "meta"), "isDeleted",
                                                         flag)) {
        cJSON_Delete(flag);
        wbs_respond_error(res, 500, "ServerError", "stored record lacks meta.isDeleted");
        goto cleanup;
    }
    wbs_resource_write(res, 200, r, resource, env, req->who.customer, id, req->who.user);
cleanup:
    cJSON_Delete(env);
    wb__free(text);
unlock:
    wbs_records_unlock(r);
}

cJSON *wbs_resource_new_envelope(const char *id, cJSON *data, const wbs_principal *who,
                               const char *now, const char *resource)
{
    cJSON *env = cJSON_CreateObject(), *meta = NULL;
    int ok = env != NULL;

    ok = ok && cJSON_AddStringToObject(env, "id", id);
    if (ok && cJSON_AddItemToObject(env, "data", data))
        data = NULL;
    else
        ok = 0;
    ok = ok && (meta = cJSON_AddObjectToObject(env, "meta")) != NULL;
    ok = ok && cJSON_AddStringToObject(meta, "etag", "");
    ok = ok && cJSON_AddStringToObject(meta, "created", now);
    ok = ok && cJSON_AddStringToObject(meta, "modified", now);
    ok = ok && cJSON_AddStringToObject(meta, "resource", resource);
    ok = ok && cJSON_AddStringToObject(meta, "createdBy", who->user);
    ok = ok && cJSON_AddFalseToObject(meta, "isDeleted");
    ok = ok && cJSON_AddStringToObject(meta, "modifiedBy", who->user);
    ok = ok && cJSON_AddStringToObject(env, "customerId", who->customer);
    ok = ok && cJSON_AddStringToObject(env, "securityGroupId", who->security_group);
    cJSON_Delete(data);
    if (!ok) {
        cJSON_Delete(env);
        return NULL;
    }
    return env;
}
