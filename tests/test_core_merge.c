/*
 * test_core_merge.c - the three-way merge (core/merge.c): edits on one side,
 * on both sides, conflicts under each preference, survey answers per
 * question and per field, removals, atomic arrays, type changes, no common
 * ancestor, escaped pointers, the depth guard, a property test over random
 * documents and every allocation failure of a merge.
 */
#include <stdint.h>

#include "jsonpatch.h"
#include "merge.h"
#include "walkbook.h"
#include "wbtest.h"

#define Q1 "9826940d-76a8-4700-8c92-5743ce7bb728"
#define Q2 "1c0f6b1e-2d3a-4e5f-8a9b-0c1d2e3f4a5b"
#define Q3 "7e8f9a0b-1c2d-4e3f-9a4b-5c6d7e8f9a0b"

/* One merge of three documents given as text (base may be NULL). */
typedef struct mcase {
    cJSON *b, *l, *r;
    wb_merge_result res;
} mcase;

static cJSON *parse(const char *text)
{
    cJSON *j = NULL;
    if (wb_json__parse(&j, text, strlen(text), NULL, "test") < 0)
        return NULL;
    return j;
}

static void mcase_free(mcase *m)
{
    cJSON_Delete(m->b);
    cJSON_Delete(m->l);
    cJSON_Delete(m->r);
    wb_merge__result_free(&m->res);
    memset(m, 0, sizeof(*m));
}

static int mcase_run(mcase *m, const char *base, const char *local, const char *remote,
                     wb_merge_side prefer)
{
    memset(m, 0, sizeof(*m));
    if ((base && !(m->b = parse(base))) || !(m->l = parse(local)) || !(m->r = parse(remote)))
        return WB_EINVALID;
    return wb_merge__three_way(&m->res, m->b, m->l, m->r, prefer);
}

/* 1 when item equals the JSON text (NULL text: item must be absent). */
static int json_is(const cJSON *item, const char *text)
{
    cJSON *want;
    int eq;
    if (!text)
        return item == NULL;
    if (!(want = parse(text)))
        return 0;
    eq = wb_json__equal(item, want);
    cJSON_Delete(want);
    return eq;
}

static const cJSON *conflict(const mcase *m, int i)
{
    return cJSON_GetArrayItem(m->res.conflicts, i);
}

/* The conflict record `c` has this path and these values (NULL: absent). */
static int conflict_is(const cJSON *c, const char *path, const char *base, const char *local,
                       const char *remote)
{
    const cJSON *p = wb_json__get(c, "path");
    return cJSON_IsString(p) && strcmp(p->valuestring, path) == 0 &&
           json_is(wb_json__get(c, "base"), base) && json_is(wb_json__get(c, "local"), local) &&
           json_is(wb_json__get(c, "remote"), remote);
}

static const char *INTERACTION_BASE =
    "{\"contactId\":\"c1\",\"unavailable\":false,\"successful\":false,"
    "\"unavailableReason\":\"\",\"notes\":\"first\","
    "\"survey\":{\"surveyId\":\"s1\",\"responses\":{"
    "\"" Q1 "\":{\"questionId\":\"" Q1 "\",\"fields\":{\"available\":\"false\",\"dogliker\":true}},"
    "\"" Q2 "\":{\"questionId\":\"" Q2 "\",\"fields\":{\"bestpet\":[\"cat\"]}}}}}";

/* ---- one side, both sides --------------------------------------------- */

static void test_core_merge__non_overlapping(void)
{
    mcase m;
    WBT_OK(mcase_run(&m, "{\"unavailable\":false,\"successful\":false,\"notes\":\"n\"}",
                     "{\"unavailable\":false,\"successful\":true,\"notes\":\"n\"}",
                     "{\"unavailable\":true,\"successful\":false,\"notes\":\"n\"}",
                     WB_MERGE_PREFER_LOCAL));
    WBT_ASSERT(json_is(m.res.merged, "{\"unavailable\":true,\"successful\":true,\"notes\":\"n\"}"));
    WBT_ASSERT_INT(m.res.n_conflicts, 0);
    WBT_ASSERT(cJSON_IsArray(m.res.conflicts));
    WBT_ASSERT_INT(cJSON_GetArraySize(m.res.conflicts), 0);
    mcase_free(&m);
}

static void test_core_merge__same_change_no_conflict(void)
{
    mcase m;
    WBT_OK(mcase_run(&m, "{\"notes\":\"old\",\"successful\":false}",
                     "{\"notes\":\"same\",\"successful\":true}",
                     "{\"successful\":true,\"notes\":\"same\"}", WB_MERGE_PREFER_REMOTE));
    WBT_ASSERT(json_is(m.res.merged, "{\"notes\":\"same\",\"successful\":true}"));
    WBT_ASSERT_INT(m.res.n_conflicts, 0);
    mcase_free(&m);

    /* A whole survey answer added identically on both sides. */
    WBT_OK(mcase_run(
        &m, "{\"responses\":{}}", "{\"responses\":{\"" Q1 "\":{\"fields\":{\"a\":[1,2]}}}}",
        "{\"responses\":{\"" Q1 "\":{\"fields\":{\"a\":[1,2]}}}}", WB_MERGE_PREFER_LOCAL));
    WBT_ASSERT_INT(m.res.n_conflicts, 0);
    WBT_ASSERT(wb_json__equal(m.res.merged, m.l));
    mcase_free(&m);
}

static void check_field_conflict(wb_merge_side prefer)
{
    mcase m;
    WBT_OK(mcase_run(&m, "{\"unavailableReason\":\"\",\"notes\":\"n\"}",
                     "{\"unavailableReason\":\"Come Back\",\"notes\":\"n\"}",
                     "{\"unavailableReason\":\"Moved\",\"notes\":\"n\"}", prefer));
    WBT_ASSERT_INT(m.res.n_conflicts, 1);
    WBT_ASSERT_INT(cJSON_GetArraySize(m.res.conflicts), 1);
    WBT_ASSERT(
        conflict_is(conflict(&m, 0), "/unavailableReason", "\"\"", "\"Come Back\"", "\"Moved\""));
    WBT_ASSERT(json_is(m.res.merged, prefer == WB_MERGE_PREFER_LOCAL
                                         ? "{\"unavailableReason\":\"Come Back\",\"notes\":\"n\"}"
                                         : "{\"unavailableReason\":\"Moved\",\"notes\":\"n\"}"));
    mcase_free(&m);
}

static void test_core_merge__conflict_prefer_local(void)
{
    check_field_conflict(WB_MERGE_PREFER_LOCAL);
}

static void test_core_merge__conflict_prefer_remote(void)
{
    check_field_conflict(WB_MERGE_PREFER_REMOTE);
}

/* ---- survey answers ----------------------------------------------------- */

static const char *INTERACTION_LOCAL_Q1 =
    "{\"contactId\":\"c1\",\"unavailable\":false,\"successful\":false,"
    "\"unavailableReason\":\"\",\"notes\":\"first\","
    "\"survey\":{\"surveyId\":\"s1\",\"responses\":{"
    "\"" Q1 "\":{\"questionId\":\"" Q1 "\",\"fields\":{\"available\":\"true\",\"dogliker\":true}},"
    "\"" Q2 "\":{\"questionId\":\"" Q2 "\",\"fields\":{\"bestpet\":[\"cat\"]}}}}}";

static const char *INTERACTION_REMOTE_Q2 =
    "{\"contactId\":\"c1\",\"unavailable\":false,\"successful\":false,"
    "\"unavailableReason\":\"\",\"notes\":\"first\","
    "\"survey\":{\"surveyId\":\"s1\",\"responses\":{"
    "\"" Q1 "\":{\"questionId\":\"" Q1 "\",\"fields\":{\"available\":\"false\",\"dogliker\":true}},"
    "\"" Q2 "\":{\"questionId\":\"" Q2 "\",\"fields\":{\"bestpet\":[\"dog\",\"fish\"]}}}}}";

static void test_core_merge__survey_different_questions(void)
{
    mcase m;
    /* Local answers Q1 differently, remote answers Q2 differently. */
    WBT_OK(mcase_run(&m, INTERACTION_BASE, INTERACTION_LOCAL_Q1, INTERACTION_REMOTE_Q2,
                     WB_MERGE_PREFER_LOCAL));
    WBT_ASSERT_INT(m.res.n_conflicts, 0);
    WBT_ASSERT(json_is(wb_jsonptr__get(m.res.merged, "/survey/responses/" Q1 "/fields"),
                       "{\"available\":\"true\",\"dogliker\":true}"));
    WBT_ASSERT(json_is(wb_jsonptr__get(m.res.merged, "/survey/responses/" Q2 "/fields"),
                       "{\"bestpet\":[\"dog\",\"fish\"]}"));
    WBT_ASSERT(json_is(wb_jsonptr__get(m.res.merged, "/notes"), "\"first\""));
    WBT_ASSERT(json_is(wb_jsonptr__get(m.res.merged, "/survey/surveyId"), "\"s1\""));
    mcase_free(&m);
}

static void test_core_merge__survey_same_question_different_fields(void)
{
    mcase m;
    WBT_OK(mcase_run(
        &m,
        "{\"responses\":{\"" Q1 "\":{\"questionId\":\"" Q1 "\","
        "\"fields\":{\"available\":\"false\",\"dogliker\":true}}}}",
        "{\"responses\":{\"" Q1 "\":{\"questionId\":\"" Q1 "\","
        "\"fields\":{\"available\":\"true\",\"dogliker\":true}}}}",
        "{\"responses\":{\"" Q1 "\":{\"questionId\":\"" Q1 "\","
        "\"fields\":{\"available\":\"false\",\"dogliker\":false,\"mothername\":\"Ann\"}}}}",
        WB_MERGE_PREFER_REMOTE));
    WBT_ASSERT_INT(m.res.n_conflicts, 0);
    WBT_ASSERT(json_is(m.res.merged, "{\"responses\":{\"" Q1 "\":{\"questionId\":\"" Q1 "\","
                                     "\"fields\":{\"available\":\"true\",\"dogliker\":false,"
                                     "\"mothername\":\"Ann\"}}}}"));
    mcase_free(&m);
}

static void test_core_merge__survey_same_field_conflict(void)
{
    static const wb_merge_side sides[] = {WB_MERGE_PREFER_LOCAL, WB_MERGE_PREFER_REMOTE};
    for (size_t i = 0; i < 2; i++) {
        mcase m;
        WBT_OK(mcase_run(&m,
                         "{\"survey\":{\"responses\":{\"" Q1 "\":{\"fields\":"
                         "{\"catlikeness\":3,\"dogliker\":true}}}}}",
                         "{\"survey\":{\"responses\":{\"" Q1 "\":{\"fields\":"
                         "{\"catlikeness\":5,\"dogliker\":true}}}}}",
                         "{\"survey\":{\"responses\":{\"" Q1 "\":{\"fields\":"
                         "{\"catlikeness\":1,\"dogliker\":false}}}}}",
                         sides[i]));
        WBT_ASSERT_INT(m.res.n_conflicts, 1);
        WBT_ASSERT(conflict_is(conflict(&m, 0), "/survey/responses/" Q1 "/fields/catlikeness", "3",
                               "5", "1"));
        WBT_ASSERT(json_is(wb_jsonptr__get(m.res.merged, "/survey/responses/" Q1 "/fields"),
                           sides[i] == WB_MERGE_PREFER_LOCAL
                               ? "{\"catlikeness\":5,\"dogliker\":false}"
                               : "{\"catlikeness\":1,\"dogliker\":false}"));
        mcase_free(&m);
    }
}

static void test_core_merge__survey_question_added_each_side(void)
{
    mcase m;
    const cJSON *responses, *q;
    WBT_OK(mcase_run(&m, "{\"responses\":{\"" Q1 "\":{\"fields\":{\"a\":1}}}}",
                     "{\"responses\":{\"" Q1 "\":{\"fields\":{\"a\":1}},"
                     "\"" Q2 "\":{\"questionId\":\"" Q2 "\",\"fields\":{\"b\":2}}}}",
                     "{\"responses\":{\"" Q3 "\":{\"questionId\":\"" Q3 "\",\"fields\":{\"c\":3}},"
                     "\"" Q1 "\":{\"fields\":{\"a\":1}}}}",
                     WB_MERGE_PREFER_LOCAL));
    WBT_ASSERT_INT(m.res.n_conflicts, 0);
    responses = wb_json__get(m.res.merged, "responses");
    WBT_ASSERT(json_is(responses, "{\"" Q1 "\":{\"fields\":{\"a\":1}},"
                                  "\"" Q2 "\":{\"questionId\":\"" Q2 "\",\"fields\":{\"b\":2}},"
                                  "\"" Q3 "\":{\"questionId\":\"" Q3 "\",\"fields\":{\"c\":3}}}"));
    /* Deterministic order: local's members, then remote-only ones. */
    q = responses->child;
    WBT_ASSERT_STR(q->string, Q1);
    WBT_ASSERT_STR(q->next->string, Q2);
    WBT_ASSERT_STR(q->next->next->string, Q3);
    mcase_free(&m);
}

/* The same question answered on both sides with no answer in the base: no
 * common ancestor there, so fields that agree merge and each differing field
 * (present on one side only, or with different values) is its own conflict,
 * without a "base". */
static void test_core_merge__survey_same_question_added_both_sides(void)
{
    mcase m;
    WBT_OK(mcase_run(&m, "{\"responses\":{}}",
                     "{\"responses\":{\"" Q1 "\":{\"questionId\":\"" Q1 "\","
                     "\"fields\":{\"a\":1,\"b\":\"x\"}}}}",
                     "{\"responses\":{\"" Q1 "\":{\"questionId\":\"" Q1 "\","
                     "\"fields\":{\"a\":1,\"b\":\"y\",\"c\":true}}}}",
                     WB_MERGE_PREFER_LOCAL));
    WBT_ASSERT_INT(m.res.n_conflicts, 2);
    WBT_ASSERT(conflict_is(conflict(&m, 0), "/responses/" Q1 "/fields/b", NULL, "\"x\"", "\"y\""));
    WBT_ASSERT(conflict_is(conflict(&m, 1), "/responses/" Q1 "/fields/c", NULL, NULL, "true"));
    /* The preferred side wherever they differ: here, local as it is. */
    WBT_ASSERT(wb_json__equal(m.res.merged, m.l));
    mcase_free(&m);
}

/* ---- removals ------------------------------------------------------------ */

static void test_core_merge__removal_vs_edit(void)
{
    mcase m;
    /* Local removed "notes", remote edited it. */
    WBT_OK(mcase_run(&m, "{\"notes\":\"a\",\"k\":1}", "{\"k\":1}", "{\"notes\":\"b\",\"k\":1}",
                     WB_MERGE_PREFER_LOCAL));
    WBT_ASSERT_INT(m.res.n_conflicts, 1);
    WBT_ASSERT(conflict_is(conflict(&m, 0), "/notes", "\"a\"", NULL, "\"b\""));
    WBT_ASSERT(json_is(m.res.merged, "{\"k\":1}"));
    mcase_free(&m);

    WBT_OK(mcase_run(&m, "{\"notes\":\"a\",\"k\":1}", "{\"k\":1}", "{\"notes\":\"b\",\"k\":1}",
                     WB_MERGE_PREFER_REMOTE));
    WBT_ASSERT_INT(m.res.n_conflicts, 1);
    WBT_ASSERT(json_is(m.res.merged, "{\"k\":1,\"notes\":\"b\"}"));
    mcase_free(&m);

    /* Remote removed a whole survey answer that local edited. */
    WBT_OK(mcase_run(&m, "{\"responses\":{\"" Q1 "\":{\"fields\":{\"a\":1}}}}",
                     "{\"responses\":{\"" Q1 "\":{\"fields\":{\"a\":2}}}}", "{\"responses\":{}}",
                     WB_MERGE_PREFER_REMOTE));
    WBT_ASSERT_INT(m.res.n_conflicts, 1);
    WBT_ASSERT(conflict_is(conflict(&m, 0), "/responses/" Q1, "{\"fields\":{\"a\":1}}",
                           "{\"fields\":{\"a\":2}}", NULL));
    WBT_ASSERT(json_is(m.res.merged, "{\"responses\":{}}"));
    mcase_free(&m);
}

static void test_core_merge__removal_one_side(void)
{
    mcase m;
    WBT_OK(mcase_run(&m, "{\"a\":1,\"b\":2,\"c\":3}", "{\"a\":1,\"c\":3}", "{\"a\":1,\"b\":2}",
                     WB_MERGE_PREFER_LOCAL));
    WBT_ASSERT_INT(m.res.n_conflicts, 0);
    WBT_ASSERT(json_is(m.res.merged, "{\"a\":1}"));
    mcase_free(&m);

    /* Removed on both sides: stays removed, no conflict. */
    WBT_OK(mcase_run(&m, "{\"a\":1,\"b\":2}", "{\"a\":1}", "{\"a\":1}", WB_MERGE_PREFER_REMOTE));
    WBT_ASSERT_INT(m.res.n_conflicts, 0);
    WBT_ASSERT(json_is(m.res.merged, "{\"a\":1}"));
    mcase_free(&m);

    /* Removed on one side, the other edited something else. */
    WBT_OK(mcase_run(&m, "{\"a\":1,\"b\":2}", "{\"a\":5,\"b\":2}", "{\"a\":1}",
                     WB_MERGE_PREFER_REMOTE));
    WBT_ASSERT_INT(m.res.n_conflicts, 0);
    WBT_ASSERT(json_is(m.res.merged, "{\"a\":5}"));
    mcase_free(&m);
}

/* ---- atomic values -------------------------------------------------------- */

static void test_core_merge__arrays_replaced_whole(void)
{
    mcase m;
    /* Both changed a multi-select answer: no element-wise union. */
    WBT_OK(mcase_run(&m, "{\"fields\":{\"bestpet\":[\"cat\",\"dog\"]}}",
                     "{\"fields\":{\"bestpet\":[\"cat\",\"dog\",\"fish\"]}}",
                     "{\"fields\":{\"bestpet\":[\"dog\"]}}", WB_MERGE_PREFER_REMOTE));
    WBT_ASSERT_INT(m.res.n_conflicts, 1);
    WBT_ASSERT(conflict_is(conflict(&m, 0), "/fields/bestpet", "[\"cat\",\"dog\"]",
                           "[\"cat\",\"dog\",\"fish\"]", "[\"dog\"]"));
    WBT_ASSERT(json_is(m.res.merged, "{\"fields\":{\"bestpet\":[\"dog\"]}}"));
    mcase_free(&m);

    /* One side changed it: that array, whole. */
    WBT_OK(mcase_run(&m, "{\"x\":[1,{\"a\":1},3]}", "{\"x\":[1,{\"a\":1},3]}",
                     "{\"x\":[{\"a\":2}]}", WB_MERGE_PREFER_LOCAL));
    WBT_ASSERT_INT(m.res.n_conflicts, 0);
    WBT_ASSERT(json_is(m.res.merged, "{\"x\":[{\"a\":2}]}"));
    mcase_free(&m);

    /* Objects inside arrays are not merged either. */
    WBT_OK(mcase_run(&m, "[{\"a\":1,\"b\":1}]", "[{\"a\":2,\"b\":1}]", "[{\"a\":1,\"b\":2}]",
                     WB_MERGE_PREFER_LOCAL));
    WBT_ASSERT_INT(m.res.n_conflicts, 1);
    WBT_ASSERT(conflict_is(conflict(&m, 0), "", "[{\"a\":1,\"b\":1}]", "[{\"a\":2,\"b\":1}]",
                           "[{\"a\":1,\"b\":2}]"));
    WBT_ASSERT(json_is(m.res.merged, "[{\"a\":2,\"b\":1}]"));
    mcase_free(&m);
}

static void test_core_merge__type_change(void)
{
    mcase m;
    /* Object on one side, scalar on the other. */
    WBT_OK(mcase_run(&m, "{\"location\":{\"lat\":1,\"lng\":2}}",
                     "{\"location\":{\"lat\":1.5,\"lng\":2}}", "{\"location\":null}",
                     WB_MERGE_PREFER_LOCAL));
    WBT_ASSERT_INT(m.res.n_conflicts, 1);
    WBT_ASSERT(conflict_is(conflict(&m, 0), "/location", "{\"lat\":1,\"lng\":2}",
                           "{\"lat\":1.5,\"lng\":2}", "null"));
    WBT_ASSERT(json_is(m.res.merged, "{\"location\":{\"lat\":1.5,\"lng\":2}}"));
    mcase_free(&m);

    /* A scalar base replaced by an object on each side: not merged inside. */
    WBT_OK(mcase_run(&m, "{\"v\":\"x\"}", "{\"v\":{\"a\":1}}", "{\"v\":{\"b\":1}}",
                     WB_MERGE_PREFER_REMOTE));
    WBT_ASSERT_INT(m.res.n_conflicts, 1);
    WBT_ASSERT(conflict_is(conflict(&m, 0), "/v", "\"x\"", "{\"a\":1}", "{\"b\":1}"));
    WBT_ASSERT(json_is(m.res.merged, "{\"v\":{\"b\":1}}"));
    mcase_free(&m);

    /* A type change on one side only is an ordinary change. */
    WBT_OK(mcase_run(&m, "{\"v\":{\"a\":1},\"w\":1}", "{\"v\":[1],\"w\":1}",
                     "{\"v\":{\"a\":1},\"w\":2}", WB_MERGE_PREFER_REMOTE));
    WBT_ASSERT_INT(m.res.n_conflicts, 0);
    WBT_ASSERT(json_is(m.res.merged, "{\"v\":[1],\"w\":2}"));
    mcase_free(&m);

    /* Numbers compare by value and true/false are different values. */
    WBT_OK(mcase_run(&m, "{\"n\":1,\"t\":true}", "{\"n\":1.0,\"t\":false}",
                     "{\"n\":10e-1,\"t\":true}", WB_MERGE_PREFER_REMOTE));
    WBT_ASSERT_INT(m.res.n_conflicts, 0);
    WBT_ASSERT(json_is(m.res.merged, "{\"n\":1,\"t\":false}"));
    mcase_free(&m);
}

/* ---- no common ancestor --------------------------------------------------- */

static void test_core_merge__base_null(void)
{
    mcase m;
    WBT_OK(mcase_run(
        &m, NULL,
        "{\"contactId\":\"c1\",\"notes\":\"a\",\"onlyLocal\":1,"
        "\"survey\":{\"surveyId\":\"s\",\"responses\":{\"" Q1 "\":{\"fields\":{\"x\":1}}}}}",
        "{\"contactId\":\"c1\",\"notes\":\"b\",\"onlyRemote\":2,"
        "\"survey\":{\"surveyId\":\"s\",\"responses\":{\"" Q1 "\":{\"fields\":{\"x\":1}}}}}",
        WB_MERGE_PREFER_REMOTE));
    WBT_ASSERT_INT(m.res.n_conflicts, 3);
    WBT_ASSERT(conflict_is(conflict(&m, 0), "/notes", NULL, "\"a\"", "\"b\""));
    WBT_ASSERT(conflict_is(conflict(&m, 1), "/onlyLocal", NULL, "1", NULL));
    WBT_ASSERT(conflict_is(conflict(&m, 2), "/onlyRemote", NULL, NULL, "2"));
    WBT_ASSERT(wb_json__equal(m.res.merged, m.r));
    mcase_free(&m);

    WBT_OK(mcase_run(&m, NULL, "{\"a\":1,\"b\":2}", "{\"b\":3,\"a\":1}", WB_MERGE_PREFER_LOCAL));
    WBT_ASSERT_INT(m.res.n_conflicts, 1);
    WBT_ASSERT(conflict_is(conflict(&m, 0), "/b", NULL, "2", "3"));
    WBT_ASSERT(wb_json__equal(m.res.merged, m.l));
    mcase_free(&m);

    /* Equal documents: nothing to report. */
    WBT_OK(mcase_run(&m, NULL, "{\"a\":[1,2]}", "{\"a\":[1,2]}", WB_MERGE_PREFER_LOCAL));
    WBT_ASSERT_INT(m.res.n_conflicts, 0);
    WBT_ASSERT(json_is(m.res.merged, "{\"a\":[1,2]}"));
    mcase_free(&m);

    /* Scalars at the root: a conflict at "" (the whole document). */
    WBT_OK(mcase_run(&m, NULL, "1", "\"x\"", WB_MERGE_PREFER_REMOTE));
    WBT_ASSERT_INT(m.res.n_conflicts, 1);
    WBT_ASSERT(conflict_is(conflict(&m, 0), "", NULL, "1", "\"x\""));
    WBT_ASSERT(json_is(m.res.merged, "\"x\""));
    mcase_free(&m);
}

/* ---- pointers, limits, identity -------------------------------------------- */

static void test_core_merge__escaped_keys(void)
{
    mcase m;
    const cJSON *c0, *c1;
    WBT_OK(mcase_run(&m, "{\"a/b\":{\"m~n\":1,\"~/\":0},\"\":1}",
                     "{\"a/b\":{\"m~n\":2,\"~/\":1},\"\":2}",
                     "{\"a/b\":{\"m~n\":3,\"~/\":0},\"\":3}", WB_MERGE_PREFER_LOCAL));
    WBT_ASSERT_INT(m.res.n_conflicts, 2);
    c0 = conflict(&m, 0);
    c1 = conflict(&m, 1);
    WBT_ASSERT(conflict_is(c0, "/a~1b/m~0n", "1", "2", "3"));
    WBT_ASSERT(conflict_is(c1, "/", "1", "2", "3"));
    /* The pointers resolve to the recorded values. */
    WBT_ASSERT(json_is(wb_jsonptr__get(m.l, wb_json__get(c0, "path")->valuestring), "2"));
    WBT_ASSERT(json_is(wb_jsonptr__get(m.r, wb_json__get(c1, "path")->valuestring), "3"));
    WBT_ASSERT(json_is(m.res.merged, "{\"a/b\":{\"m~n\":2,\"~/\":1},\"\":2}"));
    mcase_free(&m);
}

/* {"k":{"k":...{"k":leaf}...}} with `levels` objects. */
static cJSON *nested(int levels, int leaf)
{
    cJSON *doc = cJSON_CreateNumber(leaf);
    for (int i = 0; i < levels && doc; i++) {
        cJSON *obj = cJSON_CreateObject();
        if (!obj || !cJSON_AddItemToObject(obj, "k", doc)) {
            cJSON_Delete(obj);
            cJSON_Delete(doc);
            return NULL;
        }
        doc = obj;
    }
    return doc;
}

static void test_core_merge__depth_guard(void)
{
    wb_merge_result res;
    cJSON *b, *l, *r;
    long live;

    WBT_ASSERT(wb__global_init() == 0);
    live = wb__alloc_live();
    /* Changed at the bottom on both sides: the walk must go all the way. */
    b = nested(200, 0);
    l = nested(200, 1);
    r = nested(200, 2);
    WBT_ASSERT(b && l && r);
    WBT_FAILS(wb_merge__three_way(&res, b, l, r, WB_MERGE_PREFER_LOCAL), WB_ETOOBIG,
              "nested deeper than 128");
    WBT_ASSERT(res.merged == NULL && res.conflicts == NULL && res.n_conflicts == 0);
    wb_merge__result_free(&res);
    cJSON_Delete(b);
    cJSON_Delete(l);
    cJSON_Delete(r);
    WBT_ASSERT_INT(wb__alloc_live(), live);

    /* At the limit it works. */
    b = nested(WB_MERGE_MAX_DEPTH, 0);
    l = nested(WB_MERGE_MAX_DEPTH, 1);
    r = nested(WB_MERGE_MAX_DEPTH, 2);
    WBT_ASSERT(b && l && r);
    WBT_OK(wb_merge__three_way(&res, b, l, r, WB_MERGE_PREFER_REMOTE));
    WBT_ASSERT_INT(res.n_conflicts, 1);
    WBT_ASSERT(wb_json__equal(res.merged, r));
    WBT_ASSERT_INT(strlen(wb_json__get(cJSON_GetArrayItem(res.conflicts, 0), "path")->valuestring),
                   2 * WB_MERGE_MAX_DEPTH);
    wb_merge__result_free(&res);
    cJSON_Delete(b);
    cJSON_Delete(l);
    cJSON_Delete(r);
    WBT_ASSERT_INT(wb__alloc_live(), live);

    /* Deep but changed on one side only: no descent needed. */
    b = nested(200, 0);
    l = nested(200, 1);
    WBT_ASSERT(b && l);
    WBT_OK(wb_merge__three_way(&res, b, l, b, WB_MERGE_PREFER_REMOTE));
    WBT_ASSERT(wb_json__equal(res.merged, l));
    wb_merge__result_free(&res);
    cJSON_Delete(b);
    cJSON_Delete(l);
    WBT_ASSERT_INT(wb__alloc_live(), live);
}

/* The result shares nothing with the inputs: merging, then deleting every
 * input, leaves a result that is whole (ASan would catch a shared node). */
static void test_core_merge__identity_and_no_alias(void)
{
    wb_merge_result res;
    cJSON *doc = parse(INTERACTION_BASE), *l, *r;
    WBT_ASSERT(doc);
    WBT_OK(wb_merge__three_way(&res, doc, doc, doc, WB_MERGE_PREFER_LOCAL));
    WBT_ASSERT_INT(res.n_conflicts, 0);
    WBT_ASSERT(res.merged != doc);
    WBT_ASSERT(wb_json__equal(res.merged, doc));
    cJSON_Delete(doc);
    WBT_ASSERT(json_is(res.merged, INTERACTION_BASE));
    wb_merge__result_free(&res);
    WBT_ASSERT(res.merged == NULL && res.conflicts == NULL);
    wb_merge__result_free(NULL);

    /* Likewise for merged members and conflict values. */
    doc = parse(INTERACTION_BASE);
    l = parse("{\"notes\":\"l\",\"survey\":{\"surveyId\":\"s1\",\"responses\":{}}}");
    r = parse("{\"notes\":\"r\",\"successful\":true}");
    WBT_ASSERT(doc && l && r);
    WBT_OK(wb_merge__three_way(&res, doc, l, r, WB_MERGE_PREFER_REMOTE));
    cJSON_Delete(doc);
    cJSON_Delete(l);
    cJSON_Delete(r);
    WBT_ASSERT(json_is(res.merged, "{\"notes\":\"r\",\"successful\":true}"));
    /* notes edited on both; survey edited locally, removed remotely;
     * successful removed locally, edited remotely. */
    WBT_ASSERT_INT(res.n_conflicts, 3);
    {
        char *text = wb_json__print(res.conflicts);
        WBT_ASSERT(text);
        WBT_ASSERT_CONTAINS(text, "\"path\":\"/notes\"");
        WBT_ASSERT_CONTAINS(text, "\"path\":\"/survey\"");
        WBT_ASSERT_CONTAINS(text, "{\"path\":\"/successful\",\"base\":false,\"remote\":true}");
        wb__free(text);
    }
    wb_merge__result_free(&res);
}

static void test_core_merge__invalid_arguments(void)
{
    wb_merge_result res;
    cJSON *a = parse("{\"o\":{\"x\":1}}"), *r = parse("{\"o\":{\"y\":1}}"), *dup;
    WBT_ASSERT(a && r);
    WBT_FAILS(wb_merge__three_way(NULL, a, a, a, WB_MERGE_PREFER_LOCAL), WB_EINVALID, "out");
    WBT_FAILS(wb_merge__three_way(&res, a, NULL, a, WB_MERGE_PREFER_LOCAL), WB_EINVALID, "local");
    WBT_FAILS(wb_merge__three_way(&res, a, a, NULL, WB_MERGE_PREFER_LOCAL), WB_EINVALID, "remote");
    WBT_FAILS(wb_merge__three_way(&res, a, a, a, (wb_merge_side)7), WB_EINVALID, "prefer");
    WBT_ASSERT(res.merged == NULL);

    /* Member names must be unique (the parser guarantees it; a tree built
     * by hand may not) in every object the merge has to look into. */
    dup = parse("{\"o\":{\"x\":1}}");
    WBT_ASSERT(dup);
    cJSON_AddNumberToObject(wb_json__get(dup, "o"), "x", 2);
    WBT_FAILS(wb_merge__three_way(&res, a, dup, r, WB_MERGE_PREFER_LOCAL), WB_EINVALID,
              "local has a duplicate member \"x\" in the object at \"/o\"");
    WBT_FAILS(wb_merge__three_way(&res, a, r, dup, WB_MERGE_PREFER_LOCAL), WB_EINVALID,
              "remote has a duplicate member \"x\" in the object at \"/o\"");
    WBT_ASSERT(res.merged == NULL);
    cJSON_Delete(dup);

    /* Likewise in a large object (the sorted index finds it). */
    dup = parse("{\"o\":{\"x\":1}}");
    WBT_ASSERT(dup);
    for (int i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof(name), "m%02d", i);
        cJSON_AddNumberToObject(wb_json__get(dup, "o"), name, i);
    }
    cJSON_AddNumberToObject(wb_json__get(dup, "o"), "m17", 2);
    WBT_FAILS(wb_merge__three_way(&res, a, dup, r, WB_MERGE_PREFER_REMOTE), WB_EINVALID,
              "local has a duplicate member \"m17\" in the object at \"/o\"");
    cJSON_Delete(a);
    cJSON_Delete(r);
    cJSON_Delete(dup);
}

/* Objects above the small-object threshold take the indexed path. */
static void test_core_merge__large_objects(void)
{
    wb_merge_result res;
    cJSON *b = cJSON_CreateObject(), *l = cJSON_CreateObject(), *r = cJSON_CreateObject();
    char name[32];
    WBT_ASSERT(wb__global_init() == 0);
    WBT_ASSERT(b && l && r);
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "q%03d", i);
        cJSON_AddNumberToObject(b, name, i);
        /* local: every 3rd changed, every 7th removed; remote: every 5th
         * changed, every 11th removed, added in reverse. */
        if (i % 7 != 0)
            cJSON_AddNumberToObject(l, name, i % 3 == 0 ? -i : i);
        snprintf(name, sizeof(name), "q%03d", 299 - i);
        if ((299 - i) % 11 != 0)
            cJSON_AddNumberToObject(r, name, (299 - i) % 5 == 0 ? 1000 + (299 - i) : 299 - i);
    }
    cJSON_AddNumberToObject(r, "new", 1);
    WBT_OK(wb_merge__three_way(&res, b, l, r, WB_MERGE_PREFER_LOCAL));
    {
        size_t expect_conflicts = 0;
        for (int i = 0; i < 300; i++) {
            int lch = i % 7 == 0 || i % 3 == 0, rch = i % 11 == 0 || i % 5 == 0;
            const cJSON *v;
            snprintf(name, sizeof(name), "q%03d", i);
            v = wb_json__get(res.merged, name);
            if (lch && rch && !(i % 7 == 0 && i % 11 == 0)) {
                expect_conflicts++;
                /* local preferred */
                WBT_ASSERT(i % 7 == 0 ? v == NULL : (v && v->valuedouble == -i));
            } else if (lch) {
                WBT_ASSERT(i % 7 == 0 ? v == NULL : (v && v->valuedouble == -i));
            } else if (rch) {
                WBT_ASSERT(i % 11 == 0 ? v == NULL : (v && v->valuedouble == 1000 + i));
            } else {
                WBT_ASSERT(v && v->valuedouble == i);
            }
        }
        WBT_ASSERT(wb_json__get(res.merged, "new") != NULL);
        WBT_ASSERT_INT(res.n_conflicts, expect_conflicts);
    }
    wb_merge__result_free(&res);
    cJSON_Delete(b);
    cJSON_Delete(l);
    cJSON_Delete(r);
}

/* ---- property test over random documents ------------------------------------ */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 33) % n;
}

/* Few, short names so that the two sides often touch the same members;
 * some need escaping in pointers. */
static const char *const NAMES[] = {"a", "b", "c", "d", "e/f", "g~h", "", "fields", "x~1/"};

static cJSON *random_value(int depth);

static cJSON *random_object(int depth)
{
    cJSON *obj = cJSON_CreateObject();
    uint32_t n = rnd(depth > 3 ? 3 : 6);
    for (uint32_t i = 0; obj && i < n; i++) {
        const char *name = NAMES[rnd((uint32_t)WB__ARRAY_SIZE(NAMES))];
        if (wb_json__get(obj, name))
            continue;
        cJSON_AddItemToObject(obj, name, random_value(depth + 1));
    }
    return obj;
}

static cJSON *random_value(int depth)
{
    switch (rnd(depth > 4 ? 6 : 9)) {
    case 0:
        return cJSON_CreateNull();
    case 1:
        return cJSON_CreateBool(rnd(2));
    case 2:
        return cJSON_CreateNumber(rnd(4));
    case 3:
        return cJSON_CreateString(rnd(2) ? "s" : "t");
    case 4: {
        cJSON *arr = cJSON_CreateArray();
        uint32_t n = rnd(3);
        for (uint32_t i = 0; arr && i < n; i++)
            cJSON_AddItemToArray(arr, cJSON_CreateNumber(rnd(3)));
        return arr;
    }
    case 5:
        return cJSON_CreateString("u");
    default:
        return random_object(depth);
    }
}

/* Edit a copy of doc in place at random: change, remove or add members,
 * recursing into some objects. */
static void random_edit(cJSON *obj, int depth)
{
    cJSON *m, *next;
    if (!cJSON_IsObject(obj))
        return;
    for (m = obj->child; m; m = next) {
        next = m->next;
        switch (rnd(8)) {
        case 0:
            cJSON_Delete(cJSON_DetachItemViaPointer(obj, m));
            break;
        case 1:
            cJSON_ReplaceItemInObjectCaseSensitive(obj, m->string, random_value(depth + 1));
            break;
        case 2:
        case 3:
            random_edit(m, depth + 1);
            break;
        default:
            break;
        }
    }
    if (rnd(4) == 0) {
        const char *name = NAMES[rnd((uint32_t)WB__ARRAY_SIZE(NAMES))];
        if (!wb_json__get(obj, name))
            cJSON_AddItemToObject(obj, name, random_value(depth + 1));
    }
}

/* Walk every pointer of the conflicts and check them against the inputs
 * and the preferred side. */
static int check_conflicts(const wb_merge_result *res, const cJSON *b, const cJSON *l,
                           const cJSON *r, wb_merge_side prefer)
{
    const cJSON *c;
    size_t n = 0;
    cJSON_ArrayForEach(c, res->conflicts)
    {
        const cJSON *p = wb_json__get(c, "path");
        const cJSON *lv, *rv, *pv;
        if (!cJSON_IsString(p) || !wb_jsonptr__valid(p->valuestring))
            return 0;
        lv = wb_jsonptr__get(l, p->valuestring);
        rv = wb_jsonptr__get(r, p->valuestring);
        if (!lv && !rv)
            return 0; /* resolves in at least one input */
        if (!wb_json__equal(wb_json__get(c, "local"), lv) ||
            !wb_json__equal(wb_json__get(c, "remote"), rv) || wb_json__equal(lv, rv))
            return 0;
        if (wb_json__get(c, "base") &&
            !wb_json__equal(wb_json__get(c, "base"), wb_jsonptr__get(b, p->valuestring)))
            return 0;
        /* The merged document holds the preferred side there. */
        pv = prefer == WB_MERGE_PREFER_LOCAL ? lv : rv;
        if (!wb_json__equal(wb_jsonptr__get(res->merged, p->valuestring), pv))
            return 0;
        n++;
    }
    return n == res->n_conflicts;
}

static void test_core_merge__property_random(void)
{
    size_t conflicts = 0, clean_merges = 0;
    rng_state = 0x5eed2024cafef00dull;
    WBT_ASSERT(wb__global_init() == 0);
    for (int iter = 0; iter < 2000; iter++) {
        wb_merge_result res, sym;
        cJSON *b = random_object(0), *l, *r;
        long live;
        WBT_ASSERT(b);
        l = cJSON_Duplicate(b, 1);
        r = cJSON_Duplicate(b, 1);
        WBT_ASSERT(l && r);
        random_edit(l, 0);
        random_edit(r, 0);
        live = wb__alloc_live();

        /* local == base: remote, no conflicts (either preference). */
        WBT_OK(wb_merge__three_way(&res, b, b, r, (wb_merge_side)(iter & 1)));
        WBT_ASSERT(wb_json__equal(res.merged, r));
        WBT_ASSERT_INT(res.n_conflicts, 0);
        wb_merge__result_free(&res);
        /* remote == base: local. */
        WBT_OK(wb_merge__three_way(&res, b, l, b, (wb_merge_side)(iter & 1)));
        WBT_ASSERT(wb_json__equal(res.merged, l));
        WBT_ASSERT_INT(res.n_conflicts, 0);
        wb_merge__result_free(&res);
        /* Both the same: that. */
        WBT_OK(wb_merge__three_way(&res, b, l, l, WB_MERGE_PREFER_REMOTE));
        WBT_ASSERT(wb_json__equal(res.merged, l));
        WBT_ASSERT_INT(res.n_conflicts, 0);
        wb_merge__result_free(&res);

        /* Both edited: conflicts are real and resolve; swapping the sides
         * and the preference gives the same document and as many conflicts. */
        for (int p = 0; p < 2; p++) {
            wb_merge_side prefer = (wb_merge_side)p;
            WBT_OK(wb_merge__three_way(&res, b, l, r, prefer));
            WBT_ASSERT(check_conflicts(&res, b, l, r, prefer));
            conflicts += res.n_conflicts;
            /* A merge that took something from each side. */
            clean_merges += res.n_conflicts == 0 && !wb_json__equal(res.merged, l) &&
                            !wb_json__equal(res.merged, r);
            WBT_OK(wb_merge__three_way(&sym, b, r, l, (wb_merge_side)!p));
            WBT_ASSERT(wb_json__equal(res.merged, sym.merged));
            WBT_ASSERT_INT(res.n_conflicts, sym.n_conflicts);
            wb_merge__result_free(&res);
            wb_merge__result_free(&sym);
        }

        /* No base: every differing pointer is a conflict; equal documents
         * have none. */
        WBT_OK(wb_merge__three_way(&res, NULL, l, r, WB_MERGE_PREFER_LOCAL));
        WBT_ASSERT(check_conflicts(&res, NULL, l, r, WB_MERGE_PREFER_LOCAL));
        WBT_ASSERT(wb_json__equal(res.merged, l));
        WBT_ASSERT(res.n_conflicts == 0 || !wb_json__equal(l, r));
        WBT_ASSERT(res.n_conflicts > 0 || wb_json__equal(l, r));
        wb_merge__result_free(&res);

        WBT_ASSERT_INT(wb__alloc_live(), live);
        cJSON_Delete(b);
        cJSON_Delete(l);
        cJSON_Delete(r);
    }
    /* The generator exercises both outcomes often. */
    WBT_ASSERT(conflicts > 300);
    WBT_ASSERT(clean_merges > 300);
}

/* ---- allocation failures --------------------------------------------------- */

static void test_core_merge__alloc_failures(void)
{
    cJSON *b, *l, *r;
    b = parse(INTERACTION_BASE);
    l = parse("{\"contactId\":\"c1\",\"unavailable\":false,\"successful\":true,"
              "\"unavailableReason\":\"x\",\"a/b~\":{\"k\":[1,2]},"
              "\"survey\":{\"surveyId\":\"s1\",\"responses\":{"
              "\"" Q1 "\":{\"questionId\":\"" Q1 "\",\"fields\":{\"available\":\"true\"}},"
              "\"" Q2 "\":{\"questionId\":\"" Q2 "\",\"fields\":{\"bestpet\":[\"dog\"]}}}}}");
    r = parse("{\"contactId\":\"c1\",\"unavailable\":true,\"successful\":false,"
              "\"unavailableReason\":\"y\",\"notes\":\"second\",\"a/b~\":{\"k\":[3]},"
              "\"survey\":{\"surveyId\":\"s1\",\"responses\":{"
              "\"" Q1 "\":{\"questionId\":\"" Q1 "\",\"fields\":{\"available\":\"false\","
              "\"dogliker\":false}},"
              "\"" Q3 "\":{\"questionId\":\"" Q3 "\",\"fields\":{\"c\":1}}}}}");
    WBT_ASSERT(b && l && r);
    /* With a base and without one (more conflicts, other paths). */
    for (int scenario = 0; scenario < 2; scenario++) {
        const cJSON *base = scenario == 0 ? b : NULL;
        wb_merge_result ref, res;
        long start = wb__alloc_live(), during, n;
        int rc = -1;
        char *want, *got;

        WBT_OK(wb_merge__three_way(&ref, base, l, r, WB_MERGE_PREFER_REMOTE));
        during = wb__alloc_live();
        WBT_ASSERT(ref.n_conflicts > 0);
        for (n = 1; n < 100000; n++) {
            wb__alloc_fail_at(n);
            rc = wb_merge__three_way(&res, base, l, r, WB_MERGE_PREFER_REMOTE);
            wb__alloc_fail_at(0);
            if (rc == 0)
                break;
            WBT_ASSERT_INT(rc, WB_ENOMEM);
            WBT_ASSERT_INT(wb_error_last()->code, WB_ENOMEM);
            WBT_ASSERT(res.merged == NULL && res.conflicts == NULL && res.n_conflicts == 0);
            WBT_ASSERT_INT(wb__alloc_live(), during);
        }
        WBT_ASSERT_INT(rc, 0);
        WBT_ASSERT(n > 20);
        /* The run that got through is the same as the reference. */
        WBT_ASSERT(wb_json__equal(res.merged, ref.merged));
        WBT_ASSERT_INT(res.n_conflicts, ref.n_conflicts);
        want = wb_json__print(ref.conflicts);
        got = wb_json__print(res.conflicts);
        WBT_ASSERT(want && got);
        WBT_ASSERT_STR(got, want);
        wb__free(want);
        wb__free(got);
        wb_merge__result_free(&res);
        wb_merge__result_free(&ref);
        WBT_ASSERT_INT(wb__alloc_live(), start);
    }
    cJSON_Delete(b);
    cJSON_Delete(l);
    cJSON_Delete(r);
}

static const wbt_case cases[] = {
    WBT_CASE(test_core_merge__non_overlapping),
    WBT_CASE(test_core_merge__same_change_no_conflict),
    WBT_CASE(test_core_merge__conflict_prefer_local),
    WBT_CASE(test_core_merge__conflict_prefer_remote),
    WBT_CASE(test_core_merge__survey_different_questions),
    WBT_CASE(test_core_merge__survey_same_question_different_fields),
    WBT_CASE(test_core_merge__survey_same_field_conflict),
    WBT_CASE(test_core_merge__survey_question_added_each_side),
    WBT_CASE(test_core_merge__survey_same_question_added_both_sides),
    WBT_CASE(test_core_merge__removal_vs_edit),
    WBT_CASE(test_core_merge__removal_one_side),
    WBT_CASE(test_core_merge__arrays_replaced_whole),
    WBT_CASE(test_core_merge__type_change),
    WBT_CASE(test_core_merge__base_null),
    WBT_CASE(test_core_merge__escaped_keys),
    WBT_CASE(test_core_merge__depth_guard),
    WBT_CASE(test_core_merge__identity_and_no_alias),
    WBT_CASE(test_core_merge__invalid_arguments),
    WBT_CASE(test_core_merge__large_objects),
    WBT_CASE(test_core_merge__property_random),
    WBT_CASE(test_core_merge__alloc_failures),
};

WBT_MAIN(cases, NULL, NULL)
