/*
 * conflict.c - the public conflict API: read a parked conflict, resolve it
 * with the local side, the remote side or an edited document.
 */
#include <string.h>

#include "syncstore.h"
#include "validate.h"

int wb_conflict_get(char **out_json, wb_store *store, const char *id)
{
    wb_error__reset();
    WB__CHECK_ARG(out_json);
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(id);
    *out_json = NULL;
    if (!wb_uuid__valid(id))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "id: must be a UUID");
    return wb_syncstore__conflict_json(out_json, store, id);
}

int wb_conflict_resolve(wb_store *store, const char *id, int resolution, const char *document)
{
    cJSON *doc = NULL;
    int error;

    wb_error__reset();
    WB__CHECK_ARG(store);
    WB__CHECK_ARG(id);
    if (!wb_uuid__valid(id))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "id: must be a UUID");
    if (resolution != WB_TAKE_LOCAL && resolution != WB_TAKE_REMOTE &&
        resolution != WB_TAKE_DOCUMENT)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "resolution: unknown value %d",
                             resolution);
    if (store->readonly)
        return wb_error__set(WB_EREADONLY, WB_ERRCLASS_STORE, "store is read-only");
    if (resolution == WB_TAKE_DOCUMENT) {
        const cJSON *data;
        if (!document)
            return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                                 "document: required to resolve with a document");
        if ((error = wb_json__parse(&doc, document, strlen(document), NULL, "document")) < 0)
            return error;
        /* The document may be a data object or a {"data":…} wrapper. */
        if (!(data = wb_validate__create_data(doc)) || wb_validate__interaction(data) < 0) {
            error = WB_EINVALID;
            goto cleanup;
        }
        error = wb_syncstore__resolve(store, id, resolution, data);
        goto cleanup;
    }
    error = wb_syncstore__resolve(store, id, resolution, NULL);
cleanup:
    cJSON_Delete(doc);
    return error;
}
