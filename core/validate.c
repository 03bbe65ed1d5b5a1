/*
 * validate.c - validation of interaction `data` objects (Polis shapes,
 * polis-api.md 2.1-2.5).
 *
 * Messages name the field by its path from `data` and say what is wrong,
 * never what the value was for personal fields (answers, free text,
 * location): error messages end up in logs and crash reports. Ids and
 * timestamps are not personal and are quoted where it helps.
 *
 * Null: only unavailableReason may be JSON null (validate.h allows it: a
 * form may hand over an unset free-text reason as null). Every other
 * optional member is either absent or of its type; a null there would mean
 * "absent" to some readers and "cleared" to others, and JSON Patch `remove`
 * already expresses the latter.
 *
 * The walk is iterative over fixed shapes (answers may be arrays of
 * scalars, never deeper), so no input can make it recurse.
 */
#include <math.h>
#include <string.h>

#include "common.h"
#include "timeutil.h"
#include "uuid.h"
#include "validate.h"

#define WB_VALIDATE__PATH_MAX 256

/* Member names and map keys come from the caller and may hold anything:
 * show at most 40 printable ASCII bytes of them, so a message stays one
 * short line. */
#define WB_VALIDATE__NAME_MAX 40

typedef struct wb_validate__name {
    char s[WB_VALIDATE__NAME_MAX + 4]; /* name, "...", NUL */
} wb_validate__name;

static const char *wb_validate__show(wb_validate__name *out, const char *s)
{
    size_t o = 0, i;

    if (!s)
        return "(unnamed)";
    for (i = 0; i < WB_VALIDATE__NAME_MAX && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        out->s[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (s[i]) {
        memcpy(out->s + o, "...", 3);
        o += 3;
    }
    out->s[o] = '\0';
    return out->s;
}

static int wb_validate__fail(const char *path, const char *name, const char *problem)
{
    wb_validate__name shown;
    return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "%s.%s: %s", path,
                         wb_validate__show(&shown, name), problem);
}

/* A member check gets the path of the object holding the member, the
 * member's name and its value. */
typedef int (*wb_validate__check_fn)(const char *path, const char *name, const cJSON *item);

typedef struct wb_validate__member {
    const char *name;
    int required;
    wb_validate__check_fn check;
} wb_validate__member;

/* Check an object of fixed shape: unknown and duplicate members first (a
 * misspelt required member is then reported by its wrong name, which is
 * what the caller needs to see), then each known member. */
static int wb_validate__object(const char *path, const cJSON *obj,
                               const wb_validate__member *members, size_t n)
{
    const cJSON *child;
    size_t i;
    int error;

    for (child = obj->child; child; child = child->next) {
        for (i = 0; i < n; i++)
            if (child->string && strcmp(child->string, members[i].name) == 0)
                break;
        if (i == n)
            return wb_validate__fail(path, child->string, "unknown member");
        /* cJSON keeps duplicates and lookups find the first, so a second
         * copy would escape every check below. The strict parser refuses
         * them already; trees built in code may still hold them. */
        if (cJSON_GetObjectItemCaseSensitive(obj, child->string) != child)
            return wb_validate__fail(path, child->string, "duplicate member");
    }
    for (i = 0; i < n; i++) {
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, members[i].name);
        if (!item) {
            if (members[i].required)
                return wb_validate__fail(path, members[i].name, "required");
            continue;
        }
        if ((error = members[i].check(path, members[i].name, item)) < 0)
            return error;
    }
    return 0;
}

static int wb_validate__subpath(char *buf, const char *path, const char *name)
{
    wb_validate__name shown;
    int n = snprintf(buf, WB_VALIDATE__PATH_MAX, "%s.%s", path, wb_validate__show(&shown, name));
    /* Paths are built from constants and shortened names, so this cannot
     * happen; failing closed is still better than a truncated path. */
    if (n < 0 || n >= WB_VALIDATE__PATH_MAX)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "%s: path too long", path);
    return 0;
}

/* ---- scalar members ------------------------------------------------------ */

static int wb_validate__uuid(const char *path, const char *name, const cJSON *item)
{
    if (!cJSON_IsString(item) || !wb_uuid__valid(item->valuestring))
        return wb_validate__fail(path, name, "must be a UUID");
    return 0;
}

static int wb_validate__timestamp(const char *path, const char *name, const cJSON *item)
{
    const char *why = NULL;
    int64_t ms;

    if (!cJSON_IsString(item) || !item->valuestring)
        return wb_validate__fail(path, name, "must be YYYY-MM-DDTHH:MM:SS.mmmZ");
    if (wb_time__parse(&ms, item->valuestring, &why) == 0)
        return 0;
    /* timeutil.h documents its reasons: "expected ..." for a wrong shape,
     * otherwise which part of a well-formed value is impossible. */
    if (!why || strncmp(why, "expected", 8) == 0)
        return wb_validate__fail(path, name, "must be YYYY-MM-DDTHH:MM:SS.mmmZ");
    /* The shape was right, so the value is 24 safe characters and says
     * exactly which part is impossible. */
    return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "%s.%s: %s (%s)", path, name, why,
                         item->valuestring);
}

static int wb_validate__bool(const char *path, const char *name, const cJSON *item)
{
    if (!cJSON_IsBool(item))
        return wb_validate__fail(path, name, "must be a boolean");
    return 0;
}

static int wb_validate__string_or_null(const char *path, const char *name, const cJSON *item)
{
    if (!cJSON_IsString(item) && !cJSON_IsNull(item))
        return wb_validate__fail(path, name, "must be a string or null");
    return 0;
}

/* A finite number; *out gets its value. */
static int wb_validate__number(double *out, const char *path, const char *name,
                               const cJSON *item)
{
    if (!cJSON_IsNumber(item))
        return wb_validate__fail(path, name, "must be a number");
    if (!isfinite(item->valuedouble))
        return wb_validate__fail(path, name, "must be a finite number");
    *out = item->valuedouble;
    return 0;
}

static int wb_validate__non_negative(const char *path, const char *name, const cJSON *item)
{
    double v = 0;
    int error;
    if ((error = wb_validate__number(&v, path, name, item)) < 0)
        return error;
    if (v < 0)
        return wb_validate__fail(path, name, "must be >= 0");
    return 0;
}

/* ---- location -------------------------------------------------------------- */

/* A finite number within [lo, hi]; `range` is the message's wording. */
static int wb_validate__number_in(const char *path, const char *name, const cJSON *item, double lo,
                                  double hi, const char *range)
{
    double v = 0;
    int error;
    if ((error = wb_validate__number(&v, path, name, item)) < 0)
        return error;
    if (v < lo || v > hi)
        return wb_validate__fail(path, name, range);
    return 0;
}

static int wb_validate__lat(const char *path, const char *name, const cJSON *item)
{
    return wb_validate__number_in(path, name, item, -90, 90, "must be between -90 and 90");
}

static int wb_validate__lng(const char *path, const char *name, const cJSON *item)
{
    return wb_validate__number_in(path, name, item, -180, 180, "must be between -180 and 180");
}

static const wb_validate__member wb_validate__location_members[] = {
    {"lat", 0, wb_validate__lat},
    {"lng", 0, wb_validate__lng},
    {"confidence", 0, wb_validate__non_negative},
};

static int wb_validate__location(const char *path, const char *name, const cJSON *item)
{
    char sub[WB_VALIDATE__PATH_MAX];
    int error;
    if (!cJSON_IsObject(item))
        return wb_validate__fail(path, name, "must be an object");
    if ((error = wb_validate__subpath(sub, path, name)) < 0)
        return error;
    return wb_validate__object(sub, item, wb_validate__location_members,
                               WB__ARRAY_SIZE(wb_validate__location_members));
}

/* ---- survey ---------------------------------------------------------------- */

static int wb_validate__is_answer_scalar(const cJSON *v)
{
    return cJSON_IsString(v) || cJSON_IsBool(v) ||
           (cJSON_IsNumber(v) && isfinite(v->valuedouble));
}

/* fields: a flat map from an answer key (the question's tag) to a string,
 * number, boolean or an array of those. Keys are free-form, so this is a
 * map walk rather than a fixed shape. */
static int wb_validate__fields(const char *path, const char *name, const cJSON *item)
{
    char sub[WB_VALIDATE__PATH_MAX];
    const cJSON *answer;
    int error;

    if (!cJSON_IsObject(item))
        return wb_validate__fail(path, name, "must be an object");
    if ((error = wb_validate__subpath(sub, path, name)) < 0)
        return error;
    for (answer = item->child; answer; answer = answer->next) {
        int ok = wb_validate__is_answer_scalar(answer);
        if (cJSON_IsArray(answer)) {
            const cJSON *el;
            ok = 1;
            for (el = answer->child; el && ok; el = el->next)
                ok = wb_validate__is_answer_scalar(el);
        }
        if (!ok)
            return wb_validate__fail(sub, answer->string,
                                     "must be a string, number, boolean or an array of those");
    }
    return 0;
}

static const wb_validate__member wb_validate__response_members[] = {
    {"questionId", 1, wb_validate__uuid},
    {"fields", 1, wb_validate__fields},
};

/* responses: a map keyed by question id; each value repeats its key. */
static int wb_validate__responses(const char *path, const char *name, const cJSON *item)
{
    char sub[WB_VALIDATE__PATH_MAX], rpath[WB_VALIDATE__PATH_MAX];
    const cJSON *resp;
    int error;

    if (!cJSON_IsObject(item))
        return wb_validate__fail(path, name, "must be an object");
    if ((error = wb_validate__subpath(sub, path, name)) < 0)
        return error;
    for (resp = item->child; resp; resp = resp->next) {
        const cJSON *qid;
        if (!cJSON_IsObject(resp))
            return wb_validate__fail(sub, resp->string, "must be an object");
        if ((error = wb_validate__subpath(rpath, sub, resp->string)) < 0)
            return error;
        if ((error = wb_validate__object(rpath, resp, wb_validate__response_members,
                                         WB__ARRAY_SIZE(wb_validate__response_members))) < 0)
            return error;
        /* The key is what JSON Patch paths and merges address, questionId
         * is what the server reads: they must not disagree. */
        qid = cJSON_GetObjectItemCaseSensitive(resp, "questionId");
        if (!resp->string || strcmp(qid->valuestring, resp->string) != 0)
            return wb_validate__fail(rpath, "questionId", "must equal its key");
    }
    return 0;
}

static const wb_validate__member wb_validate__survey_members[] = {
    {"surveyId", 1, wb_validate__uuid},
    {"responses", 0, wb_validate__responses},
};

static int wb_validate__survey(const char *path, const char *name, const cJSON *item)
{
    char sub[WB_VALIDATE__PATH_MAX];
    int error;
    if (!cJSON_IsObject(item))
        return wb_validate__fail(path, name, "must be an object");
    if ((error = wb_validate__subpath(sub, path, name)) < 0)
        return error;
    return wb_validate__object(sub, item, wb_validate__survey_members,
                               WB__ARRAY_SIZE(wb_validate__survey_members));
}

/* ---- data ------------------------------------------------------------------ */

/* In the order the doc table lists them, so the first problem reported is
 * the one a reader of the docs meets first. listId is read-only on the v1
 * server, which fills it in; it is accepted so that server envelopes
 * validate. */
static const wb_validate__member wb_validate__data_members[] = {
    {"campaignId", 1, wb_validate__uuid},
    {"contactId", 1, wb_validate__uuid},
    {"householdId", 0, wb_validate__uuid},
    {"contactHouseholdId", 0, wb_validate__uuid},
    {"listId", 0, wb_validate__uuid},
    {"timestamp", 1, wb_validate__timestamp},
    {"survey", 1, wb_validate__survey},
    {"unavailable", 1, wb_validate__bool},
    {"unavailableReason", 0, wb_validate__string_or_null},
    {"successful", 0, wb_validate__bool},
    {"location", 0, wb_validate__location},
    {"distance", 0, wb_validate__non_negative},
    {"walklistId", 0, wb_validate__uuid},
    {"statusId", 0, wb_validate__uuid},
    {"turfId", 0, wb_validate__uuid},
};

int wb_validate__interaction(const cJSON *data)
{
    if (!cJSON_IsObject(data))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "data: must be a JSON object");
    return wb_validate__object("data", data, wb_validate__data_members,
                               WB__ARRAY_SIZE(wb_validate__data_members));
}

const cJSON *wb_validate__create_data(const cJSON *body)
{
    const cJSON *data, *child;

    if (!cJSON_IsObject(body)) {
        wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "body: must be a JSON object");
        return NULL;
    }
    data = cJSON_GetObjectItemCaseSensitive(body, "data");
    /* A flat body never has a "data" member, and a wrapped one never has
     * campaignId at the top: the two forms cannot be confused. Anything
     * else is taken as flat and its validation names what is wrong. */
    if (!cJSON_IsObject(data) || cJSON_GetObjectItemCaseSensitive(body, "campaignId"))
        return body;
    for (child = body->child; child; child = child->next) {
        if (child == data)
            continue;
        wb_validate__fail("body", child->string,
                          child->string && strcmp(child->string, "data") == 0
                              ? "duplicate member"
                              : "unknown member");
        return NULL;
    }
    return data;
}

/* ---- patches of interaction data ------------------------------------------ */

/* 1 when a pointer names an envelope member outside `data` ("/meta/etag",
 * "/id", …): a client that writes those gets told so, not "not found". */
static int outside_data(const char *path)
{
    static const char *const envelope[] = {"id", "meta", "customerId", "securityGroupId"};
    for (size_t i = 0; i < WB__ARRAY_SIZE(envelope); i++) {
        size_t n = strlen(envelope[i]);
        if (path[0] == '/' && strncmp(path + 1, envelope[i], n) == 0 &&
            (path[1 + n] == '/' || path[1 + n] == '\0'))
            return 1;
    }
    return 0;
}

int wb_validate__rebase_patch(cJSON *patch)
{
    static const char *const members[] = {"path", "from"};
    cJSON *op;
    int index = 0;
    cJSON_ArrayForEach(op, patch)
    {
        for (size_t i = 0; i < WB__ARRAY_SIZE(members); i++) {
            cJSON *p = cJSON_GetObjectItemCaseSensitive(op, members[i]);
            const char *s;
            if (!cJSON_IsString(p))
                continue;
            s = p->valuestring;
            if (outside_data(s))
                return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                                     "patch[%d]: %s %s is outside data; only data can change",
                                     index, members[i], s);
            if (strncmp(s, "/data", 5) == 0 && (s[5] == '/' || s[5] == '\0')) {
                cJSON *rebased = cJSON_CreateString(s + 5);
                if (!rebased)
                    return wb_error__oom();
                cJSON_ReplaceItemInObjectCaseSensitive(op, members[i], rebased);
            }
        }
        index++;
    }
    return 0;
}
