/*
 * jsonpatch.h - RFC 6901 JSON Pointer, RFC 6902 JSON Patch (apply) and a
 * diff that produces a patch from one document to another.
 */
#ifndef WB_JSONPATCH_H
#define WB_JSONPATCH_H

#include "json.h"

/* Resolve an RFC 6901 pointer ("" = the whole document). Returns the item or
 * NULL when absent or the pointer is malformed. */
cJSON *wb_jsonptr__get(const cJSON *doc, const char *pointer);

/* Validate pointer syntax (RFC 6901 string form): 1 valid, 0 not. */
int wb_jsonptr__valid(const char *pointer);

/* Apply a patch (a JSON array of operation objects) to *doc, atomically: on
 * any failure *doc is unchanged. The root may be replaced, hence cJSON **.
 * Errors: WB_EINVALID with "patch[2] (replace /a/b): path not found" style
 * messages; WB_ENOMEM. */
int wb_jsonpatch__apply(cJSON **doc, const cJSON *patch);

/* Produce a patch (JSON array) that turns `from` into `to`. Objects are
 * diffed member by member (recursively), arrays element by element with
 * add/remove at the end, scalars by replace. Never emits `test`.
 * apply(diff(a, b), a) == b holds for every pair of documents. */
int wb_jsonpatch__diff(cJSON **out_patch, const cJSON *from, const cJSON *to);

/* Escape a member name as one pointer segment ("~" -> "~0", "/" -> "~1")
 * appended to b with a leading '/'. */
int wb_jsonptr__append_segment(wb_buf *b, const char *name);

#endif
