/*
 * refcheck.c - an interaction checked against the cached reference data:
 * the survey's questions and allowed answers, the contact belonging to the
 * household, the household on the walk list (see refcheck.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "refcheck.h"
#include "refdata.h"

/* Append a finding; contradiction 1 refuses the record in strict mode. */
static int finding(wb_refcheck *rc, int contradiction, const char *fmt, ...) WB__PRINTF(3, 4);
static int finding(wb_refcheck *rc, int contradiction, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    cJSON *s;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (contradiction && !rc->first_contradiction[0])
        snprintf(rc->first_contradiction, sizeof(rc->first_contradiction), "%s", msg);
    if (!(s = cJSON_CreateString(msg)) || !cJSON_AddItemToArray(rc->warnings, s)) {
        cJSON_Delete(s);
        return wb_error__oom();
    }
    return 0;
}

static const char *str_member(const cJSON *obj, const char *name)
{
    const cJSON *item = wb_json__get(obj, name);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* Does a scalar answer match one of the question's options (by value or
 * text) or, for multi-select, its choices? */
static int option_matches(const cJSON *question, const cJSON *answer)
{
    static const char *const lists[] = {"options", "choices"};
    char num[WB_JSON_NUMBER_MAX];
    const char *want;
    if (cJSON_IsString(answer)) {
        want = answer->valuestring;
    } else if (cJSON_IsNumber(answer)) {
        wb_json__format_number(num, answer->valuedouble);
        want = num;
    } else if (cJSON_IsBool(answer)) {
        want = cJSON_IsTrue(answer) ? "true" : "false";
    } else {
        return 0;
    }
    for (size_t l = 0; l < WB__ARRAY_SIZE(lists); l++) {
        const cJSON *opt;
        cJSON_ArrayForEach(opt, wb_json__get(question, lists[l]))
        {
            const char *v = str_member(opt, "value"), *t = str_member(opt, "text");
            const cJSON *nv = wb_json__get(opt, "value");
            if (cJSON_IsString(opt) && strcmp(opt->valuestring, want) == 0)
                return 1;
            if ((v && strcmp(v, want) == 0) || (t && strcmp(t, want) == 0))
                return 1;
            if (cJSON_IsNumber(nv)) {
                char nbuf[WB_JSON_NUMBER_MAX];
                wb_json__format_number(nbuf, nv->valuedouble);
                if (strcmp(nbuf, want) == 0)
                    return 1;
            }
        }
    }
    return 0;
}

/* One answer value against its question's type. */
static int check_value(wb_refcheck *rc, const char *path, const cJSON *question,
                       const cJSON *value)
{
    const char *type = str_member(question, "type");
    if (!type)
        return 0;
    if (strcmp(type, "availability") == 0 || strcmp(type, "multi-choice") == 0 ||
        strcmp(type, "multiChoice") == 0 || strcmp(type, "scale") == 0) {
        if (cJSON_IsArray(value))
            return finding(rc, 1, "%s: must be a single answer for a %s question", path, type);
        if (!option_matches(question, value))
            return finding(rc, 1, "%s: not one of the question's options", path);
    } else if (strcmp(type, "multi-select") == 0 || strcmp(type, "multiSelect") == 0) {
        const cJSON *item;
        if (!cJSON_IsArray(value))
            return finding(rc, 1, "%s: must be an array for a multi-select question", path);
        cJSON_ArrayForEach(item, value)
        {
            if (!option_matches(question, item))
                return finding(rc, 1, "%s: an answer is not one of the question's options",
                               path);
        }
    } else if (strcmp(type, "text") == 0) {
        if (!cJSON_IsString(value))
            return finding(rc, 1, "%s: must be a string for a text question", path);
    }
    return 0;
}

static int check_survey(wb_refcheck *rc, wb_store *store, const cJSON *data)
{
    const cJSON *survey = wb_json__get(data, "survey"), *resp, *questions;
    const char *sid = str_member(survey, "surveyId");
    cJSON *env = NULL;
    int error;

    if (!sid)
        return 0;
    error = wb_ref__get_tree(&env, store, "surveys", sid);
    if (error == WB_ENOTFOUND)
        return finding(rc, 0, "data.survey.surveyId: survey %s is not in the local cache", sid);
    if (error < 0)
        return error;
    {
        const char *cid = str_member(wb_json__get(env, "data"), "campaignId");
        const char *mine = str_member(data, "campaignId");
        if (cid && mine && strcmp(cid, mine) != 0 &&
            (error = finding(rc, 1, "data.survey.surveyId: survey belongs to another campaign")) <
                0)
            goto cleanup;
    }
    questions = wb_json__get(wb_json__get(env, "data"), "questions");
    cJSON_ArrayForEach(resp, wb_json__get(survey, "responses"))
    {
        const cJSON *q = NULL, *item, *field;
        char path[300];
        cJSON_ArrayForEach(item, questions)
        {
            const char *qid = str_member(item, "questionId");
            if (qid && strcmp(qid, resp->string) == 0) {
                q = item;
                break;
            }
        }
        if (!q) {
            if ((error = finding(rc, 1,
                                 "data.survey.responses.%s: not a question of survey %s",
                                 resp->string, sid)) < 0)
                goto cleanup;
            continue;
        }
        cJSON_ArrayForEach(field, wb_json__get(resp, "fields"))
        {
            const char *tag = str_member(q, "tag");
            snprintf(path, sizeof(path), "data.survey.responses.%s.fields.%s", resp->string,
                     field->string);
            if (tag && strcmp(field->string, tag) != 0 && strcmp(field->string, resp->string) != 0)
                error = finding(rc, 1, "%s: not the tag of the question", path);
            else
                error = check_value(rc, path, q, field);
            if (error < 0)
                goto cleanup;
        }
    }
    error = 0;
cleanup:
    cJSON_Delete(env);
    return error;
}

/* Count rows of a one-parameter or two-parameter query. */
static int count_rows(int64_t *out, wb_store *store, const char *sql, const char *a,
                      const char *b)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
        if (b)
            sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return wb_store__sqlite_error(store, rc, "check");
    return 0;
}

static int check_contact(wb_refcheck *rc, wb_store *store, const cJSON *data)
{
    const char *contact = str_member(data, "contactId"), *household = str_member(data, "householdId");
    const char *link = str_member(data, "contactHouseholdId");
    int64_t n = 0;
    int error;

    if (link) {
        sqlite3_stmt *st = NULL;
        int r = sqlite3_prepare_v2(store->db,
                                   "SELECT contact_id, household_id FROM ref_contact_households"
                                   " WHERE id = ?1",
                                   -1, &st, NULL);
        if (r == SQLITE_OK) {
            sqlite3_bind_text(st, 1, link, -1, SQLITE_STATIC);
            r = sqlite3_step(st);
        }
        error = 0;
        if (r == SQLITE_ROW) {
            const char *c = (const char *)sqlite3_column_text(st, 0);
            const char *h = (const char *)sqlite3_column_text(st, 1);
            if (contact && c && strcmp(c, contact) != 0)
                error = finding(rc, 1,
                                "data.contactHouseholdId: the link is for another contact");
            else if (household && h && strcmp(h, household) != 0)
                error = finding(rc, 1,
                                "data.contactHouseholdId: the link is for another household");
        } else if (r == SQLITE_DONE) {
            error = finding(rc, 0,
                            "data.contactHouseholdId: link %s is not in the local cache", link);
        } else {
            error = wb_store__sqlite_error(store, r, "check");
        }
        sqlite3_finalize(st);
        if (error < 0 || r == SQLITE_ROW)
            return error;
    }
    if (!contact || !household)
        return 0;
    if ((error = count_rows(&n, store,
                            "SELECT count(*) FROM ref_contact_households WHERE contact_id = ?1",
                            contact, NULL)) < 0)
        return error;
    if (n == 0)
        return finding(rc, 0, "data.contactId: contact %s has no household in the local cache",
                       contact);
    if ((error = count_rows(&n, store,
                            "SELECT count(*) FROM ref_contact_households WHERE contact_id = ?1"
                            " AND household_id = ?2",
                            contact, household)) < 0)
        return error;
    if (n == 0)
        return finding(rc, 1, "data.householdId: the contact does not belong to this household");
    return 0;
}

static int check_walklist(wb_refcheck *rc, wb_store *store, const cJSON *data)
{
    const char *wl = str_member(data, "walklistId"), *household = str_member(data, "householdId");
    int64_t wid, n = 0;
    int error;

    if (!wl)
        return 0;
    error = wb_ref__walklist_find(&wid, store, wl);
    if (error == WB_ENOTFOUND)
        return finding(rc, 0, "data.walklistId: walk list %s is not in the local cache", wl);
    if (error < 0 || !household)
        return error;
    if ((error = count_rows(&n, store,
                            "SELECT count(*) FROM ref_walklist_households m JOIN ref_walklists w"
                            " ON w.wid = m.wid WHERE w.id = ?1 AND m.household_id = ?2",
                            wl, household)) < 0)
        return error;
    if (n == 0)
        return finding(rc, 1, "data.householdId: not on walk list %s", wl);
    return 0;
}

int wb_refcheck__run(wb_refcheck *rc, wb_store *store, const cJSON *data)
{
    int error;
    rc->first_contradiction[0] = '\0';
    if ((error = check_survey(rc, store, data)) < 0 ||
        (error = check_contact(rc, store, data)) < 0 ||
        (error = check_walklist(rc, store, data)) < 0)
        return error;
    return 0;
}
