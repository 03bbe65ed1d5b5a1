/*
 * merge.c - three-way merge of JSON documents at JSON Pointer granularity
 * (the rules are in merge.h).
 *
 * One recursive walk over local and remote, looking members up in the other
 * documents by name. Objects with more than a few members get a sorted index
 * for those lookups, so that merging two large objects is not quadratic. The
 * pointer of the current position is kept in one buffer, extended and
 * truncated as the walk descends and returns, and copied into a conflict
 * record only when there is one.
 */
#include <stdlib.h>
#include <string.h>

#include "jsonpatch.h"
#include "merge.h"

/* Objects with more members than this get a sorted index. */
#define WB_MERGE__SMALL_OBJECT 16

typedef struct wb_merge__ctx {
    wb_merge_side prefer;
    cJSON *conflicts;
    size_t n_conflicts;
    wb_buf path;
} wb_merge__ctx;

/* Members of one object for lookup by name: the object itself (linear
 * lookup) or a sorted array of its members. */
typedef struct wb_merge__index {
    const cJSON *obj; /* NULL: no object, every lookup misses */
    const cJSON **sorted;
    size_t n;
} wb_merge__index;

static int wb_merge__name_cmp(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    return strcmp(x->string, y->string);
}

static void wb_merge__index_free(wb_merge__index *idx)
{
    wb__free(idx->sorted);
    idx->sorted = NULL;
}

static int wb_merge__duplicate(const wb_merge__ctx *ctx, const char *which, const char *name)
{
    return wb_error__set(WB_EINVALID, WB_ERRCLASS_JSON,
                         "merge: %s has a duplicate member \"%s\" in the object at \"%s\"", which,
                         name, ctx->path.ptr ? ctx->path.ptr : "");
}

/* Index obj (which may be NULL) and refuse nameless or duplicate members:
 * a duplicate would be merged twice and appear twice in the result. */
static int wb_merge__index_init(wb_merge__index *idx, const wb_merge__ctx *ctx, const cJSON *obj,
                                const char *which)
{
    const cJSON *m, *o;
    size_t i;

    idx->obj = obj;
    idx->sorted = NULL;
    idx->n = 0;
    if (!obj)
        return 0;
    for (m = obj->child; m; m = m->next) {
        if (!m->string)
            return wb_error__set(WB_EINVALID, WB_ERRCLASS_JSON,
                                 "merge: %s has a member without a name in the object at \"%s\"",
                                 which, ctx->path.ptr ? ctx->path.ptr : "");
        idx->n++;
    }
    if (idx->n <= WB_MERGE__SMALL_OBJECT) {
        for (m = obj->child; m; m = m->next)
            for (o = m->next; o; o = o->next)
                if (strcmp(m->string, o->string) == 0)
                    return wb_merge__duplicate(ctx, which, m->string);
        return 0;
    }
    if (!(idx->sorted = wb__malloc(idx->n * sizeof(*idx->sorted))))
        return wb_error__oom();
    for (i = 0, m = obj->child; m; m = m->next)
        idx->sorted[i++] = m;
    qsort(idx->sorted, idx->n, sizeof(*idx->sorted), wb_merge__name_cmp);
    for (i = 1; i < idx->n; i++)
        if (strcmp(idx->sorted[i - 1]->string, idx->sorted[i]->string) == 0) {
            int error = wb_merge__duplicate(ctx, which, idx->sorted[i]->string);
            wb_merge__index_free(idx);
            return error;
        }
    return 0;
}

static const cJSON *wb_merge__index_get(const wb_merge__index *idx, const char *name)
{
    size_t lo = 0, hi = idx->n;
    if (!idx->obj)
        return NULL;
    if (!idx->sorted)
        return wb_json__get(idx->obj, name);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, idx->sorted[mid]->string);
        if (c == 0)
            return idx->sorted[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* A deep copy of v into *out; NULL (absent) stays absent. */
static int wb_merge__take(cJSON **out, const cJSON *v)
{
    *out = NULL;
    if (v && !(*out = wb_json__dup(v)))
        return WB_ENOMEM;
    return 0;
}

/* Add a copy of v (when present) to obj under name. */
static int wb_merge__add_copy(cJSON *obj, const char *name, const cJSON *v)
{
    cJSON *copy;
    if (!v)
        return 0;
    if (!(copy = wb_json__dup(v)))
        return WB_ENOMEM;
    if (!cJSON_AddItemToObject(obj, name, copy)) {
        cJSON_Delete(copy);
        return wb_error__oom();
    }
    return 0;
}

/* Record a conflict at the current pointer and take the preferred side. */
static int wb_merge__conflict(wb_merge__ctx *ctx, cJSON **out, const cJSON *b, const cJSON *l,
                              const cJSON *r)
{
    cJSON *rec = NULL, *path = NULL;
    int error = 0;

    if (!(rec = cJSON_CreateObject()) ||
        !(path = cJSON_CreateString(ctx->path.ptr ? ctx->path.ptr : ""))) {
        error = wb_error__oom();
        goto cleanup;
    }
    if (!cJSON_AddItemToObject(rec, "path", path)) {
        error = wb_error__oom();
        goto cleanup;
    }
    path = NULL;
    if ((error = wb_merge__add_copy(rec, "base", b)) < 0 ||
        (error = wb_merge__add_copy(rec, "local", l)) < 0 ||
        (error = wb_merge__add_copy(rec, "remote", r)) < 0 ||
        (error = wb_merge__take(out, ctx->prefer == WB_MERGE_PREFER_LOCAL ? l : r)) < 0)
        goto cleanup;
    /* Adding to an array links the item in; it cannot fail. */
    cJSON_AddItemToArray(ctx->conflicts, rec);
    rec = NULL;
    ctx->n_conflicts++;
cleanup:
    cJSON_Delete(path);
    cJSON_Delete(rec);
    return error;
}

static int wb_merge__node(wb_merge__ctx *ctx, cJSON **out, const cJSON *b, const cJSON *l,
                          const cJSON *r, int base_known, int depth);

/* Merge one member, found in local or remote, into obj. */
static int wb_merge__member(wb_merge__ctx *ctx, cJSON *obj, const char *name, const cJSON *b,
                            const cJSON *l, const cJSON *r, int base_known, int depth)
{
    size_t saved = ctx->path.len;
    cJSON *v = NULL;
    int error;

    if ((error = wb_jsonptr__append_segment(&ctx->path, name)) < 0 ||
        (error = wb_merge__node(ctx, &v, b, l, r, base_known, depth)) < 0)
        goto cleanup;
    if (v && !cJSON_AddItemToObject(obj, name, v)) {
        error = wb_error__oom();
        goto cleanup;
    }
    v = NULL;
cleanup:
    cJSON_Delete(v);
    ctx->path.len = saved;
    if (ctx->path.ptr)
        ctx->path.ptr[saved] = '\0';
    return error;
}

/* Merge local and remote objects member by member; b is the base object,
 * or NULL when base_known is 0. */
static int wb_merge__objects(wb_merge__ctx *ctx, cJSON **out, const cJSON *b, const cJSON *l,
                             const cJSON *r, int base_known, int depth)
{
    wb_merge__index bi = {NULL, NULL, 0}, li = {NULL, NULL, 0}, ri = {NULL, NULL, 0};
    const cJSON *m;
    cJSON *obj = NULL;
    int error;

    if (depth >= WB_MERGE_MAX_DEPTH)
        return wb_error__set(WB_ETOOBIG, WB_ERRCLASS_JSON,
                             "merge: objects nested deeper than %d at \"%s\"", WB_MERGE_MAX_DEPTH,
                             ctx->path.ptr ? ctx->path.ptr : "");
    if ((error = wb_merge__index_init(&bi, ctx, b, "base")) < 0 ||
        (error = wb_merge__index_init(&li, ctx, l, "local")) < 0 ||
        (error = wb_merge__index_init(&ri, ctx, r, "remote")) < 0)
        goto cleanup;
    if (!(obj = cJSON_CreateObject())) {
        error = wb_error__oom();
        goto cleanup;
    }
    for (m = l->child; m; m = m->next)
        if ((error = wb_merge__member(ctx, obj, m->string, wb_merge__index_get(&bi, m->string), m,
                                      wb_merge__index_get(&ri, m->string), base_known, depth + 1)) <
            0)
            goto cleanup;
    for (m = r->child; m; m = m->next) {
        if (wb_merge__index_get(&li, m->string))
            continue;
        if ((error = wb_merge__member(ctx, obj, m->string, wb_merge__index_get(&bi, m->string),
                                      NULL, m, base_known, depth + 1)) < 0)
            goto cleanup;
    }
    *out = obj;
    obj = NULL;
cleanup:
    cJSON_Delete(obj);
    wb_merge__index_free(&bi);
    wb_merge__index_free(&li);
    wb_merge__index_free(&ri);
    return error;
}

/* Merge the values at one pointer (each NULL when absent there) into *out
 * (NULL when the result is absent). base_known is 0 below a pointer with no
 * common ancestor, where b is always NULL. */
static int wb_merge__node(wb_merge__ctx *ctx, cJSON **out, const cJSON *b, const cJSON *l,
                          const cJSON *r, int base_known, int depth)
{
    *out = NULL;
    /* Added on both sides: the two values have no common ancestor, exactly
     * as when there is no base document at all. */
    if (base_known && !b && l && r)
        base_known = 0;
    if (base_known) {
        if (wb_json__equal(l, b))
            return wb_merge__take(out, r);
        if (wb_json__equal(r, b))
            return wb_merge__take(out, l);
    }
    if (wb_json__equal(l, r))
        return wb_merge__take(out, l);
    if (cJSON_IsObject(l) && cJSON_IsObject(r) && (!base_known || cJSON_IsObject(b)))
        return wb_merge__objects(ctx, out, b, l, r, base_known, depth);
    return wb_merge__conflict(ctx, out, b, l, r);
}

int wb_merge__three_way(wb_merge_result *out, const cJSON *base, const cJSON *local,
                        const cJSON *remote, wb_merge_side prefer)
{
    wb_merge__ctx ctx;
    cJSON *merged = NULL;
    int error;

    WB__CHECK_ARG(out);
    memset(out, 0, sizeof(*out));
    WB__CHECK_ARG(local);
    WB__CHECK_ARG(remote);
    WB__CHECK_ARG(prefer == WB_MERGE_PREFER_LOCAL || prefer == WB_MERGE_PREFER_REMOTE);

    memset(&ctx, 0, sizeof(ctx));
    ctx.prefer = prefer;
    if (!(ctx.conflicts = cJSON_CreateArray())) {
        error = wb_error__oom();
        goto cleanup;
    }
    if ((error = wb_merge__node(&ctx, &merged, base, local, remote, base != NULL, 0)) < 0)
        goto cleanup;
    out->merged = merged;
    out->conflicts = ctx.conflicts;
    out->n_conflicts = ctx.n_conflicts;
    merged = NULL;
    ctx.conflicts = NULL;
cleanup:
    cJSON_Delete(merged);
    cJSON_Delete(ctx.conflicts);
    wb_buf__free(&ctx.path);
    return error;
}

void wb_merge__result_free(wb_merge_result *r)
{
    if (!r)
        return;
    cJSON_Delete(r->merged);
    cJSON_Delete(r->conflicts);
    memset(r, 0, sizeof(*r));
}
