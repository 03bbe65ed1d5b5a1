/*
 * jsonpatch.c - RFC 6901 JSON Pointer, RFC 6902 JSON Patch apply, and a
 * structural diff that produces a patch.
 *
 * Pointers are resolved straight from their escaped text: a segment is
 * compared with member names by unescaping on the fly, so resolving never
 * allocates. Apply works on a deep copy and swaps it in only when every
 * operation succeeded, which makes a patch all-or-nothing (RFC 6902 §5,
 * RFC 5789 §2).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpatch.h"

/* Objects with more members than this get a sorted index in diff, so that
 * diffing two large objects is not quadratic. */
#define WB_JSONPATCH__SMALL_OBJECT 16

/* ---- pointers ----------------------------------------------------------- */

int wb_jsonptr__valid(const char *pointer)
{
    if (!pointer)
        return 0;
    if (pointer[0] == '\0')
        return 1;
    if (pointer[0] != '/')
        return 0;
    for (const char *p = pointer; *p; p++)
        if (*p == '~' && p[1] != '0' && p[1] != '1')
            return 0;
    return 1;
}

/* Does the escaped segment seg[0..n) name `name`? */
static int wb_jsonptr__seg_eq(const char *seg, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++, name++) {
        char c = seg[i];
        if (c == '~')
            c = seg[++i] == '0' ? '~' : '/';
        if (*name != c)
            return 0;
    }
    return *name == '\0';
}

static char *wb_jsonptr__unescape(const char *seg, size_t n)
{
    char *out = wb__malloc(n + 1), *q = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = seg[i];
        if (c == '~')
            c = seg[++i] == '0' ? '~' : '/';
        *q++ = c;
    }
    *q = '\0';
    return out;
}

/* RFC 6901 array index: "0" or digits without a leading zero, nothing
 * else ("-", "+1", "1e0", " 1" are not indices). 1 when valid. */
static int wb_jsonptr__index(const char *seg, size_t n, size_t *out)
{
    size_t v = 0;
    if (n == 0 || (seg[0] == '0' && n > 1))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (seg[i] < '0' || seg[i] > '9')
            return 0;
        v = v * 10 + (size_t)(seg[i] - '0');
        /* cJSON counts array items in an int. */
        if (v > (size_t)INT_MAX)
            return 0;
    }
    *out = v;
    return 1;
}

static size_t wb_jsonptr__array_size(const cJSON *array)
{
    size_t n = 0;
    for (const cJSON *c = array->child; c; c = c->next)
        n++;
    return n;
}

static cJSON *wb_jsonptr__child(const cJSON *parent, const char *seg, size_t n)
{
    cJSON *c;
    if (cJSON_IsObject(parent)) {
        for (c = parent->child; c; c = c->next)
            if (c->string && wb_jsonptr__seg_eq(seg, n, c->string))
                return c;
        return NULL;
    }
    if (cJSON_IsArray(parent)) {
        size_t index;
        if (!wb_jsonptr__index(seg, n, &index))
            return NULL;
        for (c = parent->child; c && index > 0; c = c->next)
            index--;
        return c;
    }
    return NULL;
}

/* Resolve the first len bytes of a syntactically valid pointer. */
static cJSON *wb_jsonptr__resolve(cJSON *doc, const char *pointer, size_t len)
{
    cJSON *cur = doc;
    size_t i = 0;
    while (cur && i < len) {
        size_t start = i + 1, end = start;
        while (end < len && pointer[end] != '/')
            end++;
        cur = wb_jsonptr__child(cur, pointer + start, end - start);
        i = end;
    }
    return cur;
}

cJSON *wb_jsonptr__get(const cJSON *doc, const char *pointer)
{
    if (!doc || !wb_jsonptr__valid(pointer))
        return NULL;
    /* The tree is not modified here; the result is non-const only because
     * callers of a mutable document want to change what they found. */
    return wb_jsonptr__resolve((cJSON *)(uintptr_t)doc, pointer, strlen(pointer));
}

int wb_jsonptr__append_segment(wb_buf *b, const char *name)
{
    const char *run = name;
    wb_buf__putc(b, '/');
    for (const char *p = name; *p; p++) {
        if (*p != '~' && *p != '/')
            continue;
        wb_buf__put(b, run, (size_t)(p - run));
        wb_buf__puts(b, *p == '~' ? "~0" : "~1");
        run = p + 1;
    }
    wb_buf__puts(b, run);
    return b->oom ? wb_error__oom() : 0;
}

/* ---- apply -------------------------------------------------------------- */

typedef struct wb_jsonpatch__op {
    size_t index;
    const char *op;   /* NULL until known */
    const char *path; /* NULL until known */
} wb_jsonpatch__op;

static int wb_jsonpatch__fail(const wb_jsonpatch__op *o, const char *fmt, ...) WB__PRINTF(2, 3);

/* "patch[2] (replace /a/b): <problem>"; op and path are caller data, so
 * they are cut to keep the message one readable line. */
static int wb_jsonpatch__fail(const wb_jsonpatch__op *o, const char *fmt, ...)
{
    char problem[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem, sizeof(problem), fmt, ap);
    va_end(ap);
    if (o->op && o->path)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_JSON, "patch[%zu] (%.32s %.200s): %s",
                             o->index, o->op, o->path, problem);
    if (o->op)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_JSON, "patch[%zu] (%.32s): %s", o->index,
                             o->op, problem);
    return wb_error__set(WB_EINVALID, WB_ERRCLASS_JSON, "patch[%zu]: %s", o->index, problem);
}

/* Give value the member name `name` (owned), dropping any name it had. */
static void wb_jsonpatch__rename(cJSON *value, char *name)
{
    if (value->string && !(value->type & cJSON_StringIsConst))
        wb__free(value->string);
    value->string = name;
    value->type &= ~cJSON_StringIsConst;
}

/* Link item into parent's child list before `before` (NULL: at the end).
 * Done here rather than with cJSON_InsertItemInArray, whose Debian 1.7.15
 * build (CVE-2023-50471 fix) refuses a fresh item in the middle of an array.
 * cJSON's invariant: the head's prev is the tail, the tail's next is NULL. */
static void wb_jsonpatch__link_before(cJSON *parent, cJSON *before, cJSON *item)
{
    cJSON *head = parent->child;
    item->next = item->prev = NULL;
    if (!head) {
        parent->child = item;
        item->prev = item;
    } else if (!before) {
        cJSON *tail = head->prev;
        tail->next = item;
        item->prev = tail;
        head->prev = item;
    } else {
        item->next = before;
        item->prev = before->prev;
        if (before == head)
            parent->child = item;
        else
            before->prev->next = item;
        before->prev = item;
    }
}

/* Put value where old is, and free old. */
static void wb_jsonpatch__swap(cJSON *parent, cJSON *old, cJSON *value)
{
    cJSON *next = old->next;
    cJSON_Delete(cJSON_DetachItemViaPointer(parent, old));
    wb_jsonpatch__link_before(parent, next, value);
}

/* Split a non-empty valid pointer into the parent (resolved in root) and
 * the last, still escaped, segment. */
static cJSON *wb_jsonpatch__parent(cJSON *root, const char *path, const char **seg, size_t *n)
{
    size_t len = strlen(path), slash = len;
    while (slash > 0 && path[slash - 1] != '/')
        slash--;
    slash--; /* on the '/' that starts the last segment */
    *seg = path + slash + 1;
    *n = len - slash - 1;
    return wb_jsonptr__resolve(root, path, slash);
}

/* RFC 6902 §4.1 add; takes ownership of value in every case. */
static int wb_jsonpatch__add(cJSON **root, const wb_jsonpatch__op *o, const char *path,
                             cJSON *value)
{
    cJSON *parent, *existing;
    const char *seg;
    size_t n, index;
    char *name = NULL;
    int error = 0;

    if (path[0] == '\0') {
        wb_jsonpatch__rename(value, NULL);
        cJSON_Delete(*root);
        *root = value;
        return 0;
    }
    parent = wb_jsonpatch__parent(*root, path, &seg, &n);
    if (!parent) {
        error = wb_jsonpatch__fail(o, "parent not found");
        goto cleanup;
    }
    if (cJSON_IsObject(parent)) {
        if (!(name = wb_jsonptr__unescape(seg, n))) {
            error = wb_error__oom();
            goto cleanup;
        }
        existing = wb_json__get(parent, name);
        wb_jsonpatch__rename(value, name);
        name = NULL;
        /* An existing member is replaced in place, keeping member order. */
        if (existing)
            wb_jsonpatch__swap(parent, existing, value);
        else
            wb_jsonpatch__link_before(parent, NULL, value);
        value = NULL;
    } else if (cJSON_IsArray(parent)) {
        size_t size = wb_jsonptr__array_size(parent);
        /* "-" names the position after the last element. */
        if (n != 1 || seg[0] != '-') {
            if (!wb_jsonptr__index(seg, n, &index)) {
                error = wb_jsonpatch__fail(o, "invalid array index");
                goto cleanup;
            }
            if (index > size) {
                error = wb_jsonpatch__fail(o, "array index %zu beyond the end (size %zu)", index,
                                           size);
                goto cleanup;
            }
        }
        wb_jsonpatch__rename(value, NULL);
        wb_jsonpatch__link_before(parent, wb_jsonptr__child(parent, seg, n), value);
        value = NULL;
    } else
        error = wb_jsonpatch__fail(o, "parent is a %s, not an object or array",
                                   wb_json__type_name(parent));
cleanup:
    wb__free(name);
    cJSON_Delete(value);
    return error;
}

/* Find the item at a non-empty path and its parent, or fail naming `which`. */
static int wb_jsonpatch__locate(cJSON *root, const wb_jsonpatch__op *o, const char *path,
                                const char *which, cJSON **parent, cJSON **item)
{
    const char *seg;
    size_t n;
    *parent = wb_jsonpatch__parent(root, path, &seg, &n);
    *item = *parent ? wb_jsonptr__child(*parent, seg, n) : NULL;
    if (!*item)
        return wb_jsonpatch__fail(o, "%s not found", which);
    return 0;
}

static int wb_jsonpatch__remove(cJSON **root, const wb_jsonpatch__op *o, const char *path)
{
    cJSON *parent, *item;
    int error;
    if (path[0] == '\0')
        return wb_jsonpatch__fail(o, "cannot remove the whole document");
    if ((error = wb_jsonpatch__locate(*root, o, path, "path", &parent, &item)) < 0)
        return error;
    cJSON_Delete(cJSON_DetachItemViaPointer(parent, item));
    return 0;
}

/* Takes ownership of value in every case. */
static int wb_jsonpatch__replace(cJSON **root, const wb_jsonpatch__op *o, const char *path,
                                 cJSON *value)
{
    cJSON *parent, *item;
    char *name = NULL;
    int error;
    if (path[0] == '\0') {
        wb_jsonpatch__rename(value, NULL);
        cJSON_Delete(*root);
        *root = value;
        return 0;
    }
    if ((error = wb_jsonpatch__locate(*root, o, path, "path", &parent, &item)) < 0)
        goto cleanup;
    if (item->string && !(name = wb__strdup(item->string))) {
        error = wb_error__oom();
        goto cleanup;
    }
    wb_jsonpatch__rename(value, name);
    wb_jsonpatch__swap(parent, item, value);
    value = NULL;
cleanup:
    cJSON_Delete(value);
    return error;
}

static int wb_jsonpatch__move(cJSON **root, const wb_jsonpatch__op *o, const char *from,
                              const char *path)
{
    size_t flen = strlen(from);
    cJSON *parent, *item;
    int error;
    if (strcmp(from, path) == 0) {
        /* Moving onto itself changes nothing, but the source must exist. */
        if (!wb_jsonptr__resolve(*root, from, flen))
            return wb_jsonpatch__fail(o, "from not found");
        return 0;
    }
    /* Pointers have one spelling per location (~0 and ~1 are the only
     * escapes), so a textual prefix test finds every descendant. */
    if (strncmp(path, from, flen) == 0 && path[flen] == '/')
        return wb_jsonpatch__fail(o, "cannot move a value into one of its own children");
    if ((error = wb_jsonpatch__locate(*root, o, from, "from", &parent, &item)) < 0)
        return error;
    item = cJSON_DetachItemViaPointer(parent, item);
    return wb_jsonpatch__add(root, o, path, item);
}

static int wb_jsonpatch__pointer_member(const cJSON *op, const wb_jsonpatch__op *o,
                                        const char *member, const char **out)
{
    const cJSON *m = wb_json__get(op, member);
    if (!m)
        return wb_jsonpatch__fail(o, "missing \"%s\"", member);
    if (!cJSON_IsString(m) || !m->valuestring)
        return wb_jsonpatch__fail(o, "\"%s\" is a %s, not a string", member,
                                  wb_json__type_name(m));
    if (!wb_jsonptr__valid(m->valuestring))
        return wb_jsonpatch__fail(o, "\"%s\" is not a JSON pointer", member);
    *out = m->valuestring;
    return 0;
}

static int wb_jsonpatch__value_copy(const cJSON *op, const wb_jsonpatch__op *o, cJSON **out)
{
    const cJSON *m = wb_json__get(op, "value");
    if (!m)
        return wb_jsonpatch__fail(o, "missing \"value\"");
    if (!(*out = wb_json__dup(m)))
        return WB_ENOMEM;
    return 0;
}

static int wb_jsonpatch__apply_one(cJSON **root, const cJSON *op, size_t index)
{
    wb_jsonpatch__op o = {index, NULL, NULL};
    const cJSON *name;
    const char *from = NULL;
    cJSON *value = NULL, *target;
    int error;

    if (!cJSON_IsObject(op))
        return wb_jsonpatch__fail(&o, "operation is a %s, not an object",
                                  wb_json__type_name(op));
    name = wb_json__get(op, "op");
    if (!name)
        return wb_jsonpatch__fail(&o, "missing \"op\"");
    if (!cJSON_IsString(name) || !name->valuestring)
        return wb_jsonpatch__fail(&o, "\"op\" is a %s, not a string", wb_json__type_name(name));
    o.op = name->valuestring;
    if ((error = wb_jsonpatch__pointer_member(op, &o, "path", &o.path)) < 0)
        return error;

    if (strcmp(o.op, "add") == 0) {
        if ((error = wb_jsonpatch__value_copy(op, &o, &value)) < 0)
            return error;
        return wb_jsonpatch__add(root, &o, o.path, value);
    }
    if (strcmp(o.op, "remove") == 0)
        return wb_jsonpatch__remove(root, &o, o.path);
    if (strcmp(o.op, "replace") == 0) {
        if ((error = wb_jsonpatch__value_copy(op, &o, &value)) < 0)
            return error;
        return wb_jsonpatch__replace(root, &o, o.path, value);
    }
    if (strcmp(o.op, "move") == 0) {
        if ((error = wb_jsonpatch__pointer_member(op, &o, "from", &from)) < 0)
            return error;
        return wb_jsonpatch__move(root, &o, from, o.path);
    }
    if (strcmp(o.op, "copy") == 0) {
        if ((error = wb_jsonpatch__pointer_member(op, &o, "from", &from)) < 0)
            return error;
        target = wb_jsonptr__resolve(*root, from, strlen(from));
        if (!target)
            return wb_jsonpatch__fail(&o, "from not found");
        if (!(value = wb_json__dup(target)))
            return WB_ENOMEM;
        return wb_jsonpatch__add(root, &o, o.path, value);
    }
    if (strcmp(o.op, "test") == 0) {
        const cJSON *expected = wb_json__get(op, "value");
        if (!expected)
            return wb_jsonpatch__fail(&o, "missing \"value\"");
        target = wb_jsonptr__resolve(*root, o.path, strlen(o.path));
        if (!target)
            return wb_jsonpatch__fail(&o, "path not found");
        if (!wb_json__equal(target, expected))
            return wb_jsonpatch__fail(&o, "test failed: the value differs");
        return 0;
    }
    return wb_jsonpatch__fail(&o, "unknown op");
}

int wb_jsonpatch__apply(cJSON **doc, const cJSON *patch)
{
    cJSON *work = NULL;
    const cJSON *op;
    size_t index = 0;
    int error = 0;

    if (!doc || !*doc || !patch)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "invalid argument: %s",
                             !doc || !*doc ? "doc" : "patch");
    if (!cJSON_IsArray(patch))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_JSON,
                             "patch: a %s, not an array of operations", wb_json__type_name(patch));
    if (!(work = wb_json__dup(*doc)))
        return WB_ENOMEM;
    for (op = patch->child; op; op = op->next, index++)
        if ((error = wb_jsonpatch__apply_one(&work, op, index)) < 0)
            goto cleanup;
    cJSON_Delete(*doc);
    *doc = work;
    work = NULL;
cleanup:
    cJSON_Delete(work);
    return error;
}

/* ---- diff --------------------------------------------------------------- */

typedef struct wb_jsonpatch__members {
    const cJSON *obj;
    const cJSON **sorted; /* NULL for small objects: linear lookup */
    size_t n;
} wb_jsonpatch__members;

static int wb_jsonpatch__name_cmp(const void *a, const void *b)
{
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

static int wb_jsonpatch__members_init(wb_jsonpatch__members *m, const cJSON *obj)
{
    const cJSON *c;
    size_t i = 0;
    m->obj = obj;
    m->sorted = NULL;
    m->n = 0;
    for (c = obj->child; c; c = c->next)
        m->n++;
    if (m->n <= WB_JSONPATCH__SMALL_OBJECT)
        return 0;
    if (!(m->sorted = wb__malloc(m->n * sizeof(*m->sorted))))
        return wb_error__oom();
    for (c = obj->child; c; c = c->next)
        m->sorted[i++] = c;
    qsort(m->sorted, m->n, sizeof(*m->sorted), wb_jsonpatch__name_cmp);
    return 0;
}

static const cJSON *wb_jsonpatch__members_find(const wb_jsonpatch__members *m, const char *name)
{
    size_t lo = 0, hi = m->n;
    if (!m->sorted)
        return wb_json__get(m->obj, name);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->sorted[mid]->string, name);
        if (c == 0)
            return m->sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int wb_jsonpatch__emit(cJSON *patch, const char *op, const wb_buf *path,
                              const cJSON *value)
{
    cJSON *o = cJSON_CreateObject(), *copy = NULL;
    int error;
    if (!o || !cJSON_AddStringToObject(o, "op", op) ||
        !cJSON_AddStringToObject(o, "path", path->ptr ? path->ptr : ""))
        goto oom;
    if (value) {
        if (!(copy = cJSON_Duplicate(value, 1)))
            goto oom;
        if (!cJSON_AddItemToObject(o, "value", copy))
            goto oom;
        copy = NULL;
    }
    wb_jsonpatch__link_before(patch, NULL, o);
    return 0;
oom:
    error = wb_error__oom();
    cJSON_Delete(copy);
    cJSON_Delete(o);
    return error;
}

static void wb_jsonpatch__truncate(wb_buf *b, size_t len)
{
    b->len = len;
    if (b->ptr)
        b->ptr[len] = '\0';
}

static int wb_jsonpatch__diff_at(cJSON *patch, wb_buf *path, const cJSON *from,
                                 const cJSON *to);

static int wb_jsonpatch__diff_objects(cJSON *patch, wb_buf *path, const cJSON *from,
                                      const cJSON *to)
{
    wb_jsonpatch__members fm = {NULL, NULL, 0}, tm = {NULL, NULL, 0};
    size_t saved = path->len;
    const cJSON *c, *other;
    int error;

    if ((error = wb_jsonpatch__members_init(&fm, from)) < 0 ||
        (error = wb_jsonpatch__members_init(&tm, to)) < 0)
        goto cleanup;
    for (c = from->child; c; c = c->next) {
        if (wb_jsonpatch__members_find(&tm, c->string))
            continue;
        if ((error = wb_jsonptr__append_segment(path, c->string)) < 0 ||
            (error = wb_jsonpatch__emit(patch, "remove", path, NULL)) < 0)
            goto cleanup;
        wb_jsonpatch__truncate(path, saved);
    }
    for (c = to->child; c; c = c->next) {
        if ((error = wb_jsonptr__append_segment(path, c->string)) < 0)
            goto cleanup;
        other = wb_jsonpatch__members_find(&fm, c->string);
        if (other)
            error = wb_jsonpatch__diff_at(patch, path, other, c);
        else
            error = wb_jsonpatch__emit(patch, "add", path, c);
        if (error < 0)
            goto cleanup;
        wb_jsonpatch__truncate(path, saved);
    }
cleanup:
    wb__free(fm.sorted);
    wb__free(tm.sorted);
    return error;
}

static int wb_jsonpatch__diff_arrays(cJSON *patch, wb_buf *path, const cJSON *from,
                                     const cJSON *to)
{
    size_t saved = path->len, i = 0, nfrom = wb_jsonptr__array_size(from);
    const cJSON *f = from->child, *t = to->child;
    int error;

    for (; f && t; f = f->next, t = t->next, i++) {
        if (wb_buf__printf(path, "/%zu", i) < 0)
            return wb_error__oom();
        if ((error = wb_jsonpatch__diff_at(patch, path, f, t)) < 0)
            return error;
        wb_jsonpatch__truncate(path, saved);
    }
    /* Extra elements are appended in order, missing ones removed from the
     * end backwards, so that every index is valid when it is applied. */
    for (; t; t = t->next, i++) {
        if (wb_buf__printf(path, "/%zu", i) < 0)
            return wb_error__oom();
        if ((error = wb_jsonpatch__emit(patch, "add", path, t)) < 0)
            return error;
        wb_jsonpatch__truncate(path, saved);
    }
    while (nfrom > i) {
        nfrom--;
        if (wb_buf__printf(path, "/%zu", nfrom) < 0)
            return wb_error__oom();
        if ((error = wb_jsonpatch__emit(patch, "remove", path, NULL)) < 0)
            return error;
        wb_jsonpatch__truncate(path, saved);
    }
    return 0;
}

/* Recursion follows the documents' nesting, which the parser bounds. */
static int wb_jsonpatch__diff_at(cJSON *patch, wb_buf *path, const cJSON *from, const cJSON *to)
{
    int type = from->type & 0xFF;
    if (type == (to->type & 0xFF)) {
        if (type == cJSON_Object)
            return wb_jsonpatch__diff_objects(patch, path, from, to);
        if (type == cJSON_Array)
            return wb_jsonpatch__diff_arrays(patch, path, from, to);
        if (wb_json__equal(from, to))
            return 0;
    }
    return wb_jsonpatch__emit(patch, "replace", path, to);
}

int wb_jsonpatch__diff(cJSON **out_patch, const cJSON *from, const cJSON *to)
{
    wb_buf path = WB_BUF_INIT;
    cJSON *patch = NULL;
    int error;

    if (!out_patch || !from || !to)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "invalid argument: %s",
                             !out_patch ? "out_patch" : !from ? "from" : "to");
    *out_patch = NULL;
    if (!(patch = cJSON_CreateArray())) {
        error = wb_error__oom();
        goto cleanup;
    }
    if ((error = wb_jsonpatch__diff_at(patch, &path, from, to)) < 0)
        goto cleanup;
    *out_patch = patch;
    patch = NULL;
cleanup:
    cJSON_Delete(patch);
    wb_buf__free(&path);
    return error;
}
