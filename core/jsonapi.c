/*
 * jsonapi.c - the public JSON helpers (wb_json_patch_apply, wb_json_diff):
 * strict parsing of the caller's text, then the internal patch code.
 */
#include <string.h>

#include "jsonpatch.h"

int wb_json_patch_apply(char **out_json, const char *document, const char *patch)
{
    cJSON *doc = NULL, *ops = NULL;
    char *text;
    int error;

    wb_error__reset();
    WB__CHECK_ARG(out_json);
    *out_json = NULL;
    WB__CHECK_ARG(document);
    WB__CHECK_ARG(patch);
    if ((error = wb_json__parse(&doc, document, strlen(document), NULL, "document")) < 0 ||
        (error = wb_json__parse(&ops, patch, strlen(patch), NULL, "patch")) < 0 ||
        (error = wb_jsonpatch__apply(&doc, ops)) < 0)
        goto cleanup;
    if (!(text = wb_json__print(doc))) {
        error = WB_ENOMEM;
        goto cleanup;
    }
    *out_json = text;
cleanup:
    cJSON_Delete(doc);
    cJSON_Delete(ops);
    return error;
}

int wb_json_diff(char **out_patch, const char *from, const char *to)
{
    cJSON *a = NULL, *b = NULL, *patch = NULL;
    char *text;
    int error;

    wb_error__reset();
    WB__CHECK_ARG(out_patch);
    *out_patch = NULL;
    WB__CHECK_ARG(from);
    WB__CHECK_ARG(to);
    if ((error = wb_json__parse(&a, from, strlen(from), NULL, "from")) < 0 ||
        (error = wb_json__parse(&b, to, strlen(to), NULL, "to")) < 0 ||
        (error = wb_jsonpatch__diff(&patch, a, b)) < 0)
        goto cleanup;
    if (!(text = wb_json__print(patch))) {
        error = WB_ENOMEM;
        goto cleanup;
    }
    *out_patch = text;
cleanup:
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(patch);
    return error;
}
