/*
 * test_conformance_jsonpatch.c - RFC 6902 JSON Patch and RFC 6901 JSON
 * Pointer (core/jsonpatch.c, core/jsonapi.c): the json-patch-tests suite and
 * the json-pointer syntax set read in place, error messages, atomicity, a
 * seeded property test of diff/apply, the public wrappers, and allocation
 * failures.
 */
#include "jsonpatch.h"
#include "walkbook.h"
#include "wbtest.h"

static int parse_str(cJSON **out, const char *text)
{
    return wb_json__parse(out, text, strlen(text), NULL, "test");
}

/* The suite files hold two disabled records whose operation objects repeat
 * "op" on purpose, which the strict parser refuses, so the files
 * themselves are read with cJSON directly. */
static cJSON *load_suite_file(const char *relative)
{
    char path[1024];
    size_t len = 0;
    char *text;
    cJSON *j;
    snprintf(path, sizeof(path), "%s/%s", wbt_testdata(), relative);
    text = wbt_read_file(path, &len);
    if (!text)
        return NULL;
    j = cJSON_ParseWithLength(text, len);
    free(text);
    return j;
}

typedef struct suite_counts {
    int passed, failed, disabled;
} suite_counts;

static void run_case(const cJSON *t, const char *file, int index, suite_counts *c)
{
    const cJSON *doc = wb_json__get(t, "doc"), *patch = wb_json__get(t, "patch");
    const cJSON *expected = wb_json__get(t, "expected"), *error = wb_json__get(t, "error");
    const cJSON *comment = wb_json__get(t, "comment");
    const char *what = cJSON_IsString(comment) ? comment->valuestring : "";
    cJSON *work = NULL, *diff = NULL, *again = NULL;
    char *doc_text = NULL, *patch_text = NULL, *out = NULL;
    int rc, ok = 1;

    if (cJSON_IsTrue(wb_json__get(t, "disabled"))) {
        c->disabled++;
        return;
    }
    if (!doc || !patch) {
        printf("    %s[%d] %s: record without doc or patch\n", file, index, what);
        c->failed++;
        return;
    }
    work = wb_json__dup(doc);
    rc = work ? wb_jsonpatch__apply(&work, patch) : WB_ENOMEM;
    if (error) {
        /* Must fail, and leave the document as it was. */
        if (rc != WB_EINVALID || !wb_json__equal(work, doc)) {
            printf("    %s[%d] %s: rc %d, expected an error (%s)\n", file, index, what, rc,
                   error->valuestring);
            ok = 0;
        } else if (!strstr(wb_error_last()->message, "patch")) {
            printf("    %s[%d]: message does not name the patch: %s\n", file, index,
                   wb_error_last()->message);
            ok = 0;
        }
    } else if (rc != 0) {
        printf("    %s[%d] %s: %s\n", file, index, what, wb_error_last()->message);
        ok = 0;
    } else if (expected && !wb_json__equal(work, expected)) {
        char *got = wb_json__print(work);
        printf("    %s[%d] %s: got %s\n", file, index, what, got ? got : "?");
        wb__free(got);
        ok = 0;
    }

    /* The same record through the public text API. */
    doc_text = wb_json__print(doc);
    patch_text = wb_json__print(patch);
    if (ok && doc_text && patch_text) {
        rc = wb_json_patch_apply(&out, doc_text, patch_text);
        if (error ? (rc != WB_EINVALID || out != NULL) : rc != 0) {
            printf("    %s[%d] %s: public API rc %d\n", file, index, what, rc);
            ok = 0;
        } else if (!error && expected &&
                   (parse_str(&again, out) != 0 || !wb_json__equal(again, expected))) {
            printf("    %s[%d] %s: public API gave %s\n", file, index, what, out);
            ok = 0;
        }
    }

    /* diff(doc, result) must reproduce the result. */
    if (ok && !error && rc == 0) {
        cJSON *result = expected ? wb_json__dup(expected) : NULL, *applied = NULL;
        if (result && wb_jsonpatch__diff(&diff, doc, result) == 0 &&
            (applied = wb_json__dup(doc)) != NULL && wb_jsonpatch__apply(&applied, diff) == 0 &&
            wb_json__equal(applied, result)) {
            /* fine */
        } else if (result) {
            printf("    %s[%d] %s: diff does not reproduce the result\n", file, index, what);
            ok = 0;
        }
        cJSON_Delete(result);
        cJSON_Delete(applied);
    }
    if (ok)
        c->passed++;
    else
        c->failed++;
    cJSON_Delete(work);
    cJSON_Delete(diff);
    cJSON_Delete(again);
    wb__free(doc_text);
    wb__free(patch_text);
    wb_free(out);
}

static void test_conformance_jsonpatch__suite(void)
{
    static const char *const files[] = {"json-patch-tests/tests.json",
                                        "json-patch-tests/spec_tests.json"};
    suite_counts c = {0, 0, 0};
    long live;
    WBT_OK(wb__global_init());
    live = wb__alloc_live();
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        cJSON *suite = load_suite_file(files[f]);
        int index = 0;
        if (!cJSON_IsArray(suite))
            WBT_FAIL("cannot read %s/%s", wbt_testdata(), files[f]);
        for (const cJSON *t = suite->child; t; t = t->next, index++)
            run_case(t, files[f], index, &c);
        cJSON_Delete(suite);
    }
    printf("    json-patch-tests: %d passed, %d failed, %d disabled\n", c.passed, c.failed,
           c.disabled);
    WBT_ASSERT_INT(c.failed, 0);
    WBT_ASSERT_INT(c.passed, 108);
    WBT_ASSERT_INT(c.disabled, 4);
    WBT_ASSERT_INT(wb__alloc_live(), live);
}

/* RFC 6901 syntax, from the JSON Schema test suite's json-pointer format. */
static void test_conformance_jsonpatch__pointer_syntax(void)
{
    cJSON *suite = load_suite_file("json-pointer/json-pointer.json");
    int checked = 0;
    if (!cJSON_IsArray(suite))
        WBT_FAIL("cannot read json-pointer.json");
    for (const cJSON *group = suite->child; group; group = group->next) {
        const cJSON *tests = wb_json__get(group, "tests");
        for (const cJSON *t = tests ? tests->child : NULL; t; t = t->next) {
            const cJSON *data = wb_json__get(t, "data");
            int valid = cJSON_IsTrue(wb_json__get(t, "valid"));
            if (!cJSON_IsString(data))
                continue; /* the format only constrains strings */
            if (wb_jsonptr__valid(data->valuestring) != valid) {
                cJSON_Delete(suite);
                WBT_FAIL("pointer \"%s\": expected %s", data->valuestring,
                         valid ? "valid" : "invalid");
            }
            checked++;
        }
    }
    cJSON_Delete(suite);
    printf("    %d pointer strings checked\n", checked);
    WBT_ASSERT(checked >= 30);
    WBT_ASSERT(!wb_jsonptr__valid(NULL));
}

/* RFC 6901 section 5 evaluation examples. */
static void test_conformance_jsonpatch__pointer_get(void)
{
    static const char doc_text[] =
        "{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,\"c%d\":2,\"e^f\":3,\"g|h\":4,"
        "\"i\\\\j\":5,\"k\\\"l\":6,\" \":7,\"m~n\":8}";
    static const struct {
        const char *pointer;
        double value;
    } numbers[] = {{"/", 0},     {"/a~1b", 1}, {"/c%d", 2}, {"/e^f", 3}, {"/g|h", 4},
                   {"/i\\j", 5}, {"/k\"l", 6}, {"/ ", 7},   {"/m~0n", 8}};
    cJSON *doc = NULL;
    const cJSON *v;
    WBT_OK(parse_str(&doc, doc_text));
    WBT_ASSERT(wb_jsonptr__get(doc, "") == doc);
    v = wb_jsonptr__get(doc, "/foo");
    WBT_ASSERT(cJSON_IsArray(v));
    WBT_ASSERT_STR(wb_jsonptr__get(doc, "/foo/0")->valuestring, "bar");
    WBT_ASSERT_STR(wb_jsonptr__get(doc, "/foo/1")->valuestring, "baz");
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        v = wb_jsonptr__get(doc, numbers[i].pointer);
        if (!cJSON_IsNumber(v) || v->valuedouble != numbers[i].value)
            WBT_FAIL("pointer %s", numbers[i].pointer);
    }
    WBT_ASSERT(wb_jsonptr__get(doc, "/foo/2") == NULL);
    WBT_ASSERT(wb_jsonptr__get(doc, "/foo/01") == NULL);
    WBT_ASSERT(wb_jsonptr__get(doc, "/foo/-") == NULL);
    WBT_ASSERT(wb_jsonptr__get(doc, "/foo/0/x") == NULL);
    WBT_ASSERT(wb_jsonptr__get(doc, "/FOO") == NULL);
    WBT_ASSERT(wb_jsonptr__get(doc, "foo") == NULL);
    WBT_ASSERT(wb_jsonptr__get(doc, "/m~2n") == NULL);
    WBT_ASSERT(wb_jsonptr__get(doc, "/foo/99999999999999999999") == NULL);
    cJSON_Delete(doc);
}

static void test_conformance_jsonpatch__append_segment(void)
{
    wb_buf b = WB_BUF_INIT;
    WBT_OK(wb_jsonptr__append_segment(&b, "a/b~c"));
    WBT_OK(wb_jsonptr__append_segment(&b, ""));
    WBT_OK(wb_jsonptr__append_segment(&b, "~1"));
    WBT_ASSERT_STR(b.ptr, "/a~1b~0c//~01");
    wb_buf__free(&b);
}

/* Apply text patch to text doc; returns rc and the result printed. */
static int apply_texts(const char *doc_text, const char *patch_text, char **out)
{
    cJSON *doc = NULL, *patch = NULL;
    int rc;
    *out = NULL;
    if ((rc = parse_str(&doc, doc_text)) == 0 && (rc = parse_str(&patch, patch_text)) == 0 &&
        (rc = wb_jsonpatch__apply(&doc, patch)) == 0)
        *out = wb_json__print(doc);
    cJSON_Delete(doc);
    cJSON_Delete(patch);
    return rc;
}

static void expect_error(const char *doc_text, const char *patch_text, const char *message)
{
    char *out = NULL;
    int rc = apply_texts(doc_text, patch_text, &out);
    const wb_error *e = wb_error_last();
    wb__free(out);
    if (rc != WB_EINVALID)
        WBT_FAIL("%s: rc %d", patch_text, rc);
    if (!e || strcmp(e->message, message) != 0)
        WBT_FAIL("%s: message \"%s\", expected \"%s\"", patch_text, e ? e->message : "(none)",
                 message);
    WBT_ASSERT_INT(e->klass, WB_ERRCLASS_JSON);
}

static void expect_result(const char *doc_text, const char *patch_text, const char *result)
{
    char *out = NULL;
    int rc = apply_texts(doc_text, patch_text, &out);
    if (rc != 0)
        WBT_FAIL("%s: %s", patch_text, wb_error_last()->message);
    if (!out || strcmp(out, result) != 0) {
        WBT_FAIL("%s: got %s, expected %s", patch_text, out ? out : "(null)", result);
    }
    wb__free(out);
}

static void test_conformance_jsonpatch__error_messages(void)
{
    const char *doc = "{\"a\":{\"b\":1},\"arr\":[1,2,3],\"s\":\"x\"}";
    expect_error(doc,
                 "[{\"op\":\"test\",\"path\":\"/a/b\",\"value\":1},"
                 "{\"op\":\"add\",\"path\":\"/c\",\"value\":2},"
                 "{\"op\":\"replace\",\"path\":\"/a/x\",\"value\":3}]",
                 "patch[2] (replace /a/x): path not found");
    expect_error(doc, "[{\"op\":\"remove\",\"path\":\"/zz\"}]",
                 "patch[0] (remove /zz): path not found");
    expect_error(doc, "[{\"op\":\"add\",\"path\":\"/q/r\",\"value\":1}]",
                 "patch[0] (add /q/r): parent not found");
    expect_error(doc, "[{\"op\":\"add\",\"path\":\"/s/r\",\"value\":1}]",
                 "patch[0] (add /s/r): parent is a string, not an object or array");
    expect_error(doc, "[{\"op\":\"add\",\"path\":\"/arr/01\",\"value\":1}]",
                 "patch[0] (add /arr/01): invalid array index");
    expect_error(doc, "[{\"op\":\"add\",\"path\":\"/arr/4\",\"value\":1}]",
                 "patch[0] (add /arr/4): array index 4 beyond the end (size 3)");
    expect_error(doc, "[{\"op\":\"remove\",\"path\":\"/arr/-\"}]",
                 "patch[0] (remove /arr/-): path not found");
    expect_error(doc, "[{\"op\":\"test\",\"path\":\"/a/b\",\"value\":\"1\"}]",
                 "patch[0] (test /a/b): test failed: the value differs");
    expect_error(doc, "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]",
                 "patch[0] (move /a/b/c): cannot move a value into one of its own children");
    expect_error(doc, "[{\"op\":\"move\",\"from\":\"/nope\",\"path\":\"/x\"}]",
                 "patch[0] (move /x): from not found");
    expect_error(doc, "[{\"op\":\"copy\",\"from\":\"/nope\",\"path\":\"/x\"}]",
                 "patch[0] (copy /x): from not found");
    expect_error(doc, "[{\"op\":\"copy\",\"path\":\"/x\"}]",
                 "patch[0] (copy /x): missing \"from\"");
    expect_error(doc, "[{\"op\":\"copy\",\"from\":\"a\",\"path\":\"/x\"}]",
                 "patch[0] (copy /x): \"from\" is not a JSON pointer");
    expect_error(doc, "[{\"op\":\"add\",\"path\":\"/x\"}]", "patch[0] (add /x): missing \"value\"");
    expect_error(doc, "[{\"op\":\"add\",\"value\":1}]", "patch[0] (add): missing \"path\"");
    expect_error(doc, "[{\"op\":\"add\",\"path\":null,\"value\":1}]",
                 "patch[0] (add): \"path\" is a null, not a string");
    expect_error(doc, "[{\"op\":\"add\",\"path\":\"x\",\"value\":1}]",
                 "patch[0] (add): \"path\" is not a JSON pointer");
    expect_error(doc, "[{\"op\":\"add\",\"path\":\"/~2\",\"value\":1}]",
                 "patch[0] (add): \"path\" is not a JSON pointer");
    expect_error(doc, "[{\"path\":\"/x\"}]", "patch[0]: missing \"op\"");
    expect_error(doc, "[{\"op\":1,\"path\":\"/x\"}]", "patch[0]: \"op\" is a number, not a string");
    expect_error(doc, "[{\"op\":\"spam\",\"path\":\"/x\"}]", "patch[0] (spam /x): unknown op");
    expect_error(doc, "[{\"op\":\"Add\",\"path\":\"/x\",\"value\":1}]",
                 "patch[0] (Add /x): unknown op");
    expect_error(doc, "[[]]", "patch[0]: operation is a array, not an object");
    expect_error(doc, "[{\"op\":\"remove\",\"path\":\"\"}]",
                 "patch[0] (remove ): cannot remove the whole document");
    expect_error(doc, "{\"op\":\"remove\",\"path\":\"/a\"}",
                 "patch: a object, not an array of operations");
}

static void test_conformance_jsonpatch__operations(void)
{
    const char *doc = "{\"a\":{\"b\":1},\"arr\":[1,2,3]}";
    expect_result(doc, "[]", "{\"a\":{\"b\":1},\"arr\":[1,2,3]}");
    /* add replaces an existing member in place, keeping member order. */
    expect_result(doc, "[{\"op\":\"add\",\"path\":\"/a\",\"value\":5}]", "{\"a\":5,\"arr\":[1,2,3]}");
    expect_result(doc, "[{\"op\":\"add\",\"path\":\"/arr/0\",\"value\":0}]",
                  "{\"a\":{\"b\":1},\"arr\":[0,1,2,3]}");
    expect_result(doc, "[{\"op\":\"add\",\"path\":\"/arr/3\",\"value\":4}]",
                  "{\"a\":{\"b\":1},\"arr\":[1,2,3,4]}");
    expect_result(doc, "[{\"op\":\"add\",\"path\":\"/arr/-\",\"value\":[]}]",
                  "{\"a\":{\"b\":1},\"arr\":[1,2,3,[]]}");
    expect_result(doc, "[{\"op\":\"add\",\"path\":\"/a/~1~0\",\"value\":null}]",
                  "{\"a\":{\"b\":1,\"/~\":null},\"arr\":[1,2,3]}");
    expect_result(doc, "[{\"op\":\"add\",\"path\":\"/\",\"value\":true}]",
                  "{\"a\":{\"b\":1},\"arr\":[1,2,3],\"\":true}");
    expect_result(doc, "[{\"op\":\"remove\",\"path\":\"/arr/1\"}]", "{\"a\":{\"b\":1},\"arr\":[1,3]}");
    expect_result(doc, "[{\"op\":\"replace\",\"path\":\"/arr/1\",\"value\":{\"z\":1}}]",
                  "{\"a\":{\"b\":1},\"arr\":[1,{\"z\":1},3]}");
    expect_result(doc, "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":7}]", "{\"a\":7,\"arr\":[1,2,3]}");
    expect_result(doc, "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1]}]", "[1]");
    expect_result(doc, "[{\"op\":\"move\",\"from\":\"/a/b\",\"path\":\"/arr/0\"}]",
                  "{\"a\":{},\"arr\":[1,1,2,3]}");
    expect_result(doc, "[{\"op\":\"move\",\"from\":\"/arr/0\",\"path\":\"/arr/2\"}]",
                  "{\"a\":{\"b\":1},\"arr\":[2,3,1]}");
    expect_result(doc, "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a\"}]",
                  "{\"a\":{\"b\":1},\"arr\":[1,2,3]}");
    expect_result(doc, "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/ab\"}]",
                  "{\"arr\":[1,2,3],\"ab\":{\"b\":1}}");
    expect_result(doc, "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/a/c\"}]",
                  "{\"a\":{\"b\":1,\"c\":{\"b\":1}},\"arr\":[1,2,3]}");
    expect_result(doc, "[{\"op\":\"copy\",\"from\":\"\",\"path\":\"/arr/-\"}]",
                  "{\"a\":{\"b\":1},\"arr\":[1,2,3,{\"a\":{\"b\":1},\"arr\":[1,2,3]}]}");
    expect_result(doc, "[{\"op\":\"test\",\"path\":\"\",\"value\":{\"arr\":[1,2,3],\"a\":{\"b\":1.0}}}]",
                  "{\"a\":{\"b\":1},\"arr\":[1,2,3]}");
    /* Unknown members of an operation are ignored (RFC 6902 section 4). */
    expect_result(doc, "[{\"op\":\"remove\",\"path\":\"/a\",\"value\":1,\"x\":2}]",
                  "{\"arr\":[1,2,3]}");
    expect_result("5", "[{\"op\":\"add\",\"path\":\"\",\"value\":{\"k\":\"v\"}}]", "{\"k\":\"v\"}");
}

/* A failed patch leaves the document exactly as it was. */
static void test_conformance_jsonpatch__atomic(void)
{
    cJSON *doc = NULL, *before = NULL, *patch = NULL;
    cJSON *orig;
    WBT_OK(parse_str(&doc, "{\"a\":1,\"list\":[1,2]}"));
    orig = doc;
    before = wb_json__dup(doc);
    WBT_OK(parse_str(&patch, "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},"
                             "{\"op\":\"remove\",\"path\":\"/list/0\"},"
                             "{\"op\":\"replace\",\"path\":\"\",\"value\":null},"
                             "{\"op\":\"test\",\"path\":\"\",\"value\":false}]"));
    WBT_FAILS(wb_jsonpatch__apply(&doc, patch), WB_EINVALID,
              "patch[3] (test ): test failed: the value differs");
    WBT_ASSERT(doc == orig);
    WBT_ASSERT(wb_json__equal(doc, before));
    cJSON_Delete(doc);
    cJSON_Delete(before);
    cJSON_Delete(patch);
}

/* ---- property test: apply(diff(a, b), a) == b ---------------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    /* xorshift64*: fixed seed, so a failure reproduces. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static unsigned rng_below(unsigned n)
{
    return (unsigned)(rng_next() >> 33) % n;
}

static const char *const key_pool[] = {
    "a", "b", "c", "", "/", "~", "~0", "~1", "a/b", "a~b", "/~/", "x y", "\xc3\xa9", "0", "-",
    "1", "key",
};

static cJSON *random_scalar(void)
{
    static const double numbers[] = {0, -0.0, 1, -1, 0.5, 1e300, -2.5e-300, 123456789, 0.1};
    static const char *const strings[] = {"", "s", "with \"quotes\"", "tab\t", "\xe2\x82\xac",
                                          "/~"};
    switch (rng_below(6)) {
    case 0: return cJSON_CreateNull();
    case 1: return cJSON_CreateBool(rng_below(2));
    case 2: return cJSON_CreateNumber(numbers[rng_below(sizeof(numbers) / sizeof(numbers[0]))]);
    case 3: return cJSON_CreateNumber((double)(int)rng_below(2000) - 1000.0);
    case 4: return cJSON_CreateNumber((double)rng_below(100000) / 7.0);
    default: return cJSON_CreateString(strings[rng_below(sizeof(strings) / sizeof(strings[0]))]);
    }
}

static cJSON *random_value(int depth)
{
    unsigned kind = depth <= 0 ? 0 : rng_below(5);
    cJSON *v;
    if (kind < 2)
        return random_scalar();
    if (kind == 2) {
        unsigned n = rng_below(5);
        v = cJSON_CreateArray();
        for (unsigned i = 0; i < n; i++)
            cJSON_AddItemToArray(v, random_value(depth - 1));
        return v;
    }
    v = cJSON_CreateObject();
    /* Now and then a big object, to take the sorted-lookup paths. */
    if (rng_below(10) == 0) {
        unsigned n = 17 + rng_below(20);
        for (unsigned i = 0; i < n; i++) {
            char name[16];
            snprintf(name, sizeof(name), "m%u", rng_below(60));
            if (!wb_json__get(v, name))
                cJSON_AddItemToObject(v, name, random_value(depth - 1));
        }
        return v;
    }
    for (unsigned i = 0, n = rng_below(6); i < n; i++) {
        const char *name = key_pool[rng_below(sizeof(key_pool) / sizeof(key_pool[0]))];
        if (!wb_json__get(v, name))
            cJSON_AddItemToObject(v, name, random_value(depth - 1));
    }
    return v;
}

/* Small random edits, so that b shares most of its structure with a. */
static void mutate(cJSON *v, int depth)
{
    cJSON *c;
    unsigned n = 0;
    for (c = v->child; c; c = c->next)
        n++;
    if (cJSON_IsObject(v)) {
        if (n && rng_below(3) == 0)
            cJSON_Delete(cJSON_DetachItemViaPointer(v, cJSON_GetArrayItem(v, (int)rng_below(n))));
        if (rng_below(3) == 0) {
            const char *name = key_pool[rng_below(sizeof(key_pool) / sizeof(key_pool[0]))];
            if (!wb_json__get(v, name))
                cJSON_AddItemToObject(v, name, random_value(depth));
        }
    } else if (cJSON_IsArray(v)) {
        if (n && rng_below(3) == 0)
            cJSON_Delete(cJSON_DetachItemFromArray(v, (int)rng_below(n)));
        if (rng_below(3) == 0)
            cJSON_AddItemToArray(v, random_value(depth));
    }
    for (c = v->child; c; c = c->next) {
        if (rng_below(4) == 0 && !cJSON_IsObject(c) && !cJSON_IsArray(c)) {
            cJSON *r = random_value(depth);
            if (cJSON_IsObject(v))
                cJSON_ReplaceItemInObjectCaseSensitive(v, c->string, r);
            else
                cJSON_ReplaceItemViaPointer(v, c, r);
            c = r;
        } else if (cJSON_IsObject(c) || cJSON_IsArray(c))
            mutate(c, depth - 1);
    }
}

static void test_conformance_jsonpatch__property_diff_apply(void)
{
    int pairs = 0;
    long live;
    WBT_OK(wb__global_init());
    live = wb__alloc_live();
    rng_state = 0x9E3779B97F4A7C15ull;
    for (int round = 0; round < 3000; round++) {
        cJSON *a = random_value(4), *b, *patch = NULL, *applied = NULL, *reparsed = NULL;
        char *text = NULL;
        int ok;
        if (round % 2) {
            b = random_value(4);
        } else {
            b = wb_json__dup(a);
            mutate(b, 3);
        }
        WBT_ASSERT(a && b);
        WBT_OK(wb_jsonpatch__diff(&patch, a, b));
        applied = wb_json__dup(a);
        WBT_ASSERT(applied);
        if (wb_jsonpatch__apply(&applied, patch) != 0)
            WBT_FAIL("round %d: %s", round, wb_error_last()->message);
        ok = wb_json__equal(applied, b);
        if (ok && round % 10 == 0) {
            /* The printed patch is strict JSON that parses back equal. */
            text = wb_json__print(patch);
            ok = text && parse_str(&reparsed, text) == 0 && wb_json__equal(reparsed, patch);
        }
        if (!ok) {
            char *sa = wb_json__print(a), *sb = wb_json__print(b), *sp = wb_json__print(patch);
            printf("    round %d\n    a = %s\n    b = %s\n    patch = %s\n", round, sa, sb, sp);
            wb__free(sa);
            wb__free(sb);
            wb__free(sp);
            WBT_FAIL("apply(diff(a, b), a) != b");
        }
        if (wb_json__equal(a, b))
            WBT_ASSERT_INT(cJSON_GetArraySize(patch), 0);
        pairs++;
        wb__free(text);
        cJSON_Delete(reparsed);
        cJSON_Delete(a);
        cJSON_Delete(b);
        cJSON_Delete(patch);
        cJSON_Delete(applied);
    }
    WBT_ASSERT(pairs >= 2000);
    WBT_ASSERT_INT(wb__alloc_live(), live);
}

static void test_conformance_jsonpatch__diff_shape(void)
{
    cJSON *a = NULL, *b = NULL, *patch = NULL;
    char *text;
    WBT_OK(parse_str(&a, "{\"x\":1,\"gone\":true,\"arr\":[1,2,3],\"o\":{\"k/~\":1}}"));
    WBT_OK(parse_str(&b, "{\"x\":2,\"arr\":[1,5],\"o\":{\"k/~\":1,\"n\":[]},\"new\":null}"));
    WBT_OK(wb_jsonpatch__diff(&patch, a, b));
    text = wb_json__print(patch);
    WBT_ASSERT_STR(text, "[{\"op\":\"remove\",\"path\":\"/gone\"},"
                         "{\"op\":\"replace\",\"path\":\"/x\",\"value\":2},"
                         "{\"op\":\"replace\",\"path\":\"/arr/1\",\"value\":5},"
                         "{\"op\":\"remove\",\"path\":\"/arr/2\"},"
                         "{\"op\":\"add\",\"path\":\"/o/n\",\"value\":[]},"
                         "{\"op\":\"add\",\"path\":\"/new\",\"value\":null}]");
    wb__free(text);
    cJSON_Delete(patch);
    patch = NULL;
    /* Different types at the root: one replace of the whole document. */
    WBT_OK(wb_jsonpatch__diff(&patch, a, cJSON_GetObjectItemCaseSensitive(b, "arr")));
    text = wb_json__print(patch);
    WBT_ASSERT_STR(text, "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1,5]}]");
    wb__free(text);
    cJSON_Delete(patch);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static void test_conformance_jsonpatch__public_api(void)
{
    char *out = (char *)1;
    WBT_OK(wb_json_patch_apply(&out, "{\"a\":[1,2]}",
                               "[{\"op\":\"add\",\"path\":\"/a/-\",\"value\":{\"b\":\"c\"}}]"));
    WBT_ASSERT_STR(out, "{\"a\":[1,2,{\"b\":\"c\"}]}");
    wb_free(out);

    WBT_FAILS(wb_json_patch_apply(&out, "{\"a\":1}",
                                  "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":2}]"),
              WB_EINVALID, "patch[0] (replace /b): path not found");
    WBT_ASSERT(out == NULL);
    WBT_FAILS(wb_json_patch_apply(&out, "{\"a\":1,\"a\":2}", "[]"), WB_EINVALID,
              "document: duplicate member \"a\" at byte 7");
    WBT_FAILS(wb_json_patch_apply(&out, "{}", "[] x"), WB_EINVALID,
              "patch: unexpected bytes after the value at byte 3");
    WBT_FAILS(wb_json_patch_apply(&out, "{}", "{}"), WB_EINVALID, "not an array of operations");
    /* A variable, not a literal NULL: the header marks out_json nonnull
     * for clang, and the check under test is the run-time one. */
    {
        char **no_out = NULL;
        WBT_FAILS(wb_json_patch_apply(no_out, "{}", "[]"), WB_EINVALID, "invalid argument");
    }

    WBT_OK(wb_json_diff(&out, "{\"a\":1,\"b\":[1]}", "{\"a\":1,\"b\":[1,{\"c\":2}]}"));
    WBT_ASSERT_STR(out, "[{\"op\":\"add\",\"path\":\"/b/1\",\"value\":{\"c\":2}}]");
    {
        char *applied = NULL;
        WBT_OK(wb_json_patch_apply(&applied, "{\"a\":1,\"b\":[1]}", out));
        WBT_ASSERT_STR(applied, "{\"a\":1,\"b\":[1,{\"c\":2}]}");
        wb_free(applied);
    }
    wb_free(out);
    WBT_OK(wb_json_diff(&out, "[1]", "[1]"));
    WBT_ASSERT_STR(out, "[]");
    wb_free(out);
    WBT_FAILS(wb_json_diff(&out, "[1]", "[1,]"), WB_EINVALID, "to: unexpected character ']' at byte 3");
    WBT_ASSERT(out == NULL);
    WBT_FAILS(wb_json_diff(&out, "nope", "[]"), WB_EINVALID, "from: unexpected character 'n'");
    /* A successful call clears the previous error. */
    WBT_OK(wb_json_diff(&out, "1", "2"));
    WBT_ASSERT(wb_error_last() == NULL);
    wb_free(out);
}

/* Every allocation of apply and diff, through the public wrappers. */
static int alloc_scenario(void)
{
    char *out = NULL, *diff = NULL;
    int rc;
    const char *from = "{\"a\":{\"b\":[1,2,3]},\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,"
                       "\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":10,\"k11\":11,\"k12\":12,"
                       "\"k13\":13,\"k14\":14,\"k15\":15,\"k16\":16,\"k17\":17}";
    const char *to = "{\"a\":{\"b\":[1,9]},\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,"
                     "\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":10,\"k11\":11,\"k12\":12,"
                     "\"k13\":13,\"k14\":14,\"k15\":15,\"k16\":16,\"new/~\":{\"x\":null}}";
    rc = wb_json_diff(&diff, from, to);
    if (rc == 0)
        rc = wb_json_patch_apply(&out, from, diff);
    wb_free(out);
    out = NULL;
    if (rc == 0)
        rc = wb_json_patch_apply(&out, "{\"m\":[1,2]}",
                                 "[{\"op\":\"move\",\"from\":\"/m/0\",\"path\":\"/n\"},"
                                 "{\"op\":\"copy\",\"from\":\"/n\",\"path\":\"/m/-\"},"
                                 "{\"op\":\"replace\",\"path\":\"/n\",\"value\":[true]},"
                                 "{\"op\":\"add\",\"path\":\"/m/0\",\"value\":\"s\"},"
                                 "{\"op\":\"remove\",\"path\":\"/m/1\"},"
                                 "{\"op\":\"test\",\"path\":\"/n\",\"value\":[true]}]");
    wb_free(out);
    wb_free(diff);
    return rc;
}

static void test_conformance_jsonpatch__alloc_failures(void)
{
    long start, n;
    int rc = -1;
    WBT_OK(wb__global_init());
    start = wb__alloc_live();
    for (n = 1; n < 100000 && rc != 0; n++) {
        wb__alloc_fail_at(n);
        rc = alloc_scenario();
        wb__alloc_fail_at(0);
        if (rc != 0 && rc != WB_ENOMEM)
            WBT_FAIL("failing allocation %ld: rc %d (%s)", n, rc,
                     wb_error_last() ? wb_error_last()->message : "no message");
        if (rc != 0 && (!wb_error_last() || wb_error_last()->code != WB_ENOMEM))
            WBT_FAIL("failing allocation %ld: error %s", n,
                     wb_error_last() ? wb_error_last()->message : "not set");
        if (wb__alloc_live() != start)
            WBT_FAIL("failing allocation %ld: %ld blocks leaked", n, wb__alloc_live() - start);
    }
    WBT_ASSERT_INT(rc, 0);
    WBT_ASSERT(n > 20);
}

static const wbt_case cases[] = {
    WBT_CASE(test_conformance_jsonpatch__suite),
    WBT_CASE(test_conformance_jsonpatch__pointer_syntax),
    WBT_CASE(test_conformance_jsonpatch__pointer_get),
    WBT_CASE(test_conformance_jsonpatch__append_segment),
    WBT_CASE(test_conformance_jsonpatch__error_messages),
    WBT_CASE(test_conformance_jsonpatch__operations),
    WBT_CASE(test_conformance_jsonpatch__atomic),
    WBT_CASE(test_conformance_jsonpatch__property_diff_apply),
    WBT_CASE(test_conformance_jsonpatch__diff_shape),
    WBT_CASE(test_conformance_jsonpatch__public_api),
    WBT_CASE(test_conformance_jsonpatch__alloc_failures),
};

WBT_MAIN(cases, NULL, NULL)
