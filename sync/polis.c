/*
 * polis.c - the Polis API mapping of the sync engine (polis-api.md §3, §4,
 * §8): routes per flavour, create and PATCH bodies, list URLs with the
 * expression filter and the two sort spellings, list pages and error
 * bodies. No I/O.
 */
#include <string.h>

#include "crypto.h"
#include "jsonpatch.h"
#include "sync_int.h"

/* Responses larger than this are refused before parsing (the transport
 * caps them too). */
#define WB_POLIS_MAX_BODY (64u * 1024u * 1024u)

static const char *route(int api)
{
    return api == WB_API_V1 ? "/v1/interactions" : "/v2/interactions";
}

int wb_polis__collection_url(wb_buf *b, const char *base, int api)
{
    return wb_buf__printf(b, "%s%s", base, route(api));
}

int wb_polis__record_url(wb_buf *b, const char *base, int api, const char *id)
{
    return wb_buf__printf(b, "%s%s/%s", base, route(api), id);
}

/* RFC 3986 percent-encoding of everything but the unreserved characters. */
static int put_encoded(wb_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            if (wb_buf__putc(b, (char)c) < 0)
                return WB_ENOMEM;
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            if (wb_buf__put(b, esc, 3) < 0)
                return WB_ENOMEM;
        }
    }
    return 0;
}

int wb_polis__list_url(wb_buf *b, const char *base, int api, const char *filter, size_t limit,
                       size_t skip)
{
    return wb_polis__list_url_at(b, base, route(api), api, filter, limit, skip);
}

int wb_polis__list_url_at(wb_buf *b, const char *base, const char *path, int api,
                          const char *filter, size_t limit, size_t skip)
{
    int error;
    if ((error = wb_buf__printf(b, "%s%s", base, path)) < 0)
        return error;
    if (filter && *filter &&
        ((error = wb_buf__puts(b, "?filter=")) < 0 || (error = put_encoded(b, filter)) < 0))
        return error;
    if ((error = wb_buf__putc(b, filter && *filter ? '&' : '?')) < 0)
        return error;
    /* G8: v2 repeats the parameter, v1 sends a JSON array. */
    if (api == WB_API_V1)
        error = wb_buf__puts(b, "sort=");
    if (error >= 0 && api == WB_API_V1)
        error = put_encoded(b, "[\"/meta/modified\",\"ASC\",\"id\",\"ASC\"]");
    else if (error >= 0)
        error = wb_buf__puts(b, "sort=%2Fmeta%2Fmodified&sort=ASC&sort=id&sort=ASC");
    if (error < 0)
        return error;
    return wb_buf__printf(b, "&limit=%zu&skip=%zu", limit, skip);
}

int wb_polis__pull_filter(wb_buf *b, const char *watermark)
{
    if (watermark && *watermark &&
        wb_buf__printf(b, "/meta/modified gte \"%s\" and ", watermark) < 0)
        return WB_ENOMEM;
    return wb_buf__puts(b, "/meta/isDeleted in [true,false]");
}

int wb_polis__reconcile_filter(wb_buf *b, const char *contact, const char *campaign)
{
    return wb_buf__printf(b, "/data/contactId eq \"%s\" and /data/campaignId eq \"%s\"", contact,
                          campaign);
}

int wb_polis__reconcile_filter_campaign(wb_buf *b, const char *campaign)
{
    return wb_buf__printf(b, "/data/campaignId eq \"%s\"", campaign);
}

int wb_polis__create_body(wb_buf *b, int api, const char *local_id, const char *data_text)
{
    size_t len = strlen(data_text);
    if (len < 2 || data_text[0] != '{' || data_text[len - 1] != '}')
        return wb_error__set(WB_ECORRUPT, WB_ERRCLASS_SYNC,
                             "interaction %s: stored data is not an object", local_id);
    if (api == WB_API_V1)
        return wb_buf__printf(b, "{\"id\":\"%s\",\"data\":%s}", local_id, data_text);
    /* Flat: the data members with the id in front ("{}" has none). */
    if (wb_buf__printf(b, "{\"id\":\"%s\"", local_id) < 0)
        return WB_ENOMEM;
    if (len > 2 && (wb_buf__putc(b, ',') < 0 || wb_buf__put(b, data_text + 1, len - 1) < 0))
        return WB_ENOMEM;
    return len > 2 ? 0 : wb_buf__putc(b, '}');
}

/* ---- the optional signature member (wb_sync_options.send_signatures) ---- */

int wb_polis__sign_create(wb_buf *body, wb_sync *s, const char *local_id, const char *data_text)
{
    wb_buf sig = WB_BUF_INIT;
    int64_t seq = 0;
    int error;

    if (!body->ptr || body->len < 2 || body->ptr[body->len - 1] != '}')
        return wb_error__set(WB_ERROR, WB_ERRCLASS_SYNC, "create body: not an object");
    error = wb_log__signature(&sig, &seq, s->store, local_id, data_text);
    if (error == WB_ENOTFOUND || error == WB_EKEY) {
        /* Nothing signed this data (a store without a key, or a record
         * changed behind walkbook's back): it goes out unsigned, claiming
         * nothing; `walkbook verify` names the cause. */
        wb_buf__free(&sig);
        wb_error__reset();
        return 0;
    }
    /* Noted before the request leaves: links of later creates start after
     * it only once the server acknowledged this one (a server_id). */
    if (error == 0)
        error = wb_log__signature_sent(s->store, local_id, seq);
    if (error == 0) {
        body->len--; /* the closing brace */
        wb_buf__puts(body, ",\"walkbookSignature\":");
        wb_buf__put(body, sig.ptr, sig.len);
        if (wb_buf__putc(body, '}') < 0 || body->oom)
            error = wb_error__oom();
    }
    wb_buf__free(&sig);
    return error;
}

/* "/x" -> "/data/x" in a member of op (the path base of 2019-2020). */
static int prefix_member(cJSON *op, const char *name)
{
    cJSON *item = cJSON_GetObjectItemCaseSensitive(op, name);
    wb_buf b = WB_BUF_INIT;
    cJSON *repl;
    if (!cJSON_IsString(item))
        return 0;
    if (wb_buf__printf(&b, "/data%s", item->valuestring) < 0 ||
        !(repl = cJSON_CreateString(b.ptr))) {
        wb_buf__free(&b);
        return WB_ENOMEM;
    }
    wb_buf__free(&b);
    return cJSON_ReplaceItemInObjectCaseSensitive(op, name, repl) ? 0 : WB_ENOMEM;
}

int wb_polis__patch_body(wb_buf *b, size_t *n_ops, const char *base_text, const char *data_text,
                         int data_prefixed)
{
    cJSON *base = NULL, *data = NULL, *ops = NULL;
    int error;

    *n_ops = 0;
    if ((error = wb_json__parse(&base, base_text, strlen(base_text), NULL, "stored base")) < 0 ||
        (error = wb_json__parse(&data, data_text, strlen(data_text), NULL, "stored data")) < 0)
        goto cleanup;
    if ((error = wb_jsonpatch__diff(&ops, base, data)) < 0)
        goto cleanup;
    *n_ops = (size_t)cJSON_GetArraySize(ops);
    if (data_prefixed) {
        cJSON *op;
        cJSON_ArrayForEach(op, ops)
        {
            if ((error = prefix_member(op, "path")) < 0 || (error = prefix_member(op, "from")) < 0)
                goto cleanup;
        }
    }
    if ((error = wb_buf__puts(b, "{\"data\":")) < 0 || (error = wb_json__print_buf(b, ops)) < 0 ||
        (error = wb_buf__putc(b, '}')) < 0)
        goto cleanup;
cleanup:
    cJSON_Delete(base);
    cJSON_Delete(data);
    cJSON_Delete(ops);
    return error;
}

static int parse_body(cJSON **out, const char *body, size_t len, const char *what)
{
    wb_json_limits limits = {WB_POLIS_MAX_BODY, 0};
    if (!body || len == 0)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_SYNC, "%s: empty response body", what);
    if (wb_json__parse(out, body, len, &limits, what) < 0) {
        /* Keep the parser's detail, but say it came from the server. */
        wb_error__prefix("server");
        return WB_EINVALID;
    }
    return 0;
}

int wb_polis__parse_page(cJSON **root, const cJSON **items, const char *body, size_t len)
{
    const cJSON *data;
    int error;
    *root = NULL;
    *items = NULL;
    if ((error = parse_body(root, body, len, "list page")) < 0)
        return error;
    data = wb_json__get(*root, "data");
    if (!cJSON_IsArray(data)) {
        cJSON_Delete(*root);
        *root = NULL;
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_SYNC,
                             "server list page: data is not an array");
    }
    *items = data;
    return 0;
}

int wb_polis__parse_envelope(cJSON **env, const char *body, size_t len)
{
    int error;
    *env = NULL;
    if ((error = parse_body(env, body, len, "record")) < 0)
        return error;
    if (!cJSON_IsObject(*env) || !cJSON_IsObject(wb_json__get(*env, "data"))) {
        cJSON_Delete(*env);
        *env = NULL;
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_SYNC, "server record: not an envelope");
    }
    return 0;
}

/* ---- answers read from their text ------------------------------------------ */

#define WB_POLIS_ECHO_MEMBERS 16

/* 1 when two of the n members share a name. Names are plain (no escape):
 * equal names are equal bytes. */
static int has_duplicate(const wb_json_member *m, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = 0; j < i; j++)
            if (m[i].name_len == m[j].name_len && memcmp(m[i].name, m[j].name, m[i].name_len) == 0)
                return 1;
    return 0;
}

static int name_is(const wb_json_member *m, const char *name)
{
    size_t n = strlen(name);
    return m->name_len == n && memcmp(m->name, name, n) == 0;
}

/* Members whose names hold no escape (an escaped name might spell one we
 * look for) and no duplicate, whose values are no containers other than
 * `nested` (a nested object might hide a duplicate member, which the
 * parser refuses). -1 otherwise. */
static int plain_members(wb_json_member *m, const char *text, size_t len, const char *nested,
                         const char *nested2)
{
    int n = wb_json__members(m, WB_POLIS_ECHO_MEMBERS, text, len);
    for (int i = 0; i < n; i++) {
        if (memchr(m[i].name, '\\', m[i].name_len))
            return -1;
        if ((m[i].value[0] == '{' || m[i].value[0] == '[') &&
            !(nested && name_is(&m[i], nested)) && !(nested2 && name_is(&m[i], nested2)))
            return -1;
    }
    return n < 0 || has_duplicate(m, n) ? -1 : n;
}

/* A string value without escapes, copied NUL-terminated into e->buf:
 * *out stays NULL when the value is not a string (as an absent member);
 * -1 when it holds an escape or does not fit. */
static int echo_string(const char **out, wb_syncstore_echo *e, size_t *used,
                       const wb_json_member *m)
{
    size_t n;
    if (m->value[0] != '"')
        return 0;
    n = m->value_len - 2;
    if (memchr(m->value + 1, '\\', n) || *used + n + 1 > sizeof(e->buf))
        return -1;
    memcpy(e->buf + *used, m->value + 1, n);
    e->buf[*used + n] = '\0';
    *out = e->buf + *used;
    *used += n + 1;
    return 0;
}

int wb_polis__read_echo(wb_syncstore_echo *out, const char *body, size_t len, const char *sent)
{
    wb_json_member top[WB_POLIS_ECHO_MEMBERS], meta[WB_POLIS_ECHO_MEMBERS];
    const wb_json_member *data = NULL, *meta_m = NULL;
    size_t used = 0;
    int n_top, n_meta, bad = 0;

    out->id = out->etag = out->created = out->modified = NULL;
    out->created_by = out->modified_by = out->customer = out->group = NULL;
    if (!body || !sent || len > WB_POLIS_MAX_BODY)
        return 0;
    /* The whole text is checked as the parser would (syntax, UTF-8,
     * depth); only the tree is not built. */
    if (wb_json__check(body, len, NULL, "record") < 0) {
        wb_error_clear();
        return 0;
    }
    if ((n_top = plain_members(top, body, len, "data", "meta")) < 0)
        return 0;
    for (int i = 0; i < n_top && !bad; i++) {
        if (name_is(&top[i], "data"))
            data = &top[i];
        else if (name_is(&top[i], "meta"))
            meta_m = &top[i];
        else if (name_is(&top[i], "id"))
            bad = echo_string(&out->id, out, &used, &top[i]);
        else if (name_is(&top[i], "customerId"))
            bad = echo_string(&out->customer, out, &used, &top[i]);
        else if (name_is(&top[i], "securityGroupId"))
            bad = echo_string(&out->group, out, &used, &top[i]);
    }
    /* The data as sent: the stored text, which has no duplicate member. */
    if (bad || !data || data->value_len != strlen(sent) ||
        memcmp(data->value, sent, data->value_len) != 0 || !meta_m || meta_m->value[0] != '{' ||
        (n_meta = plain_members(meta, meta_m->value, meta_m->value_len, NULL, NULL)) < 0)
        return 0;
    for (int i = 0; i < n_meta && !bad; i++) {
        if (name_is(&meta[i], "etag"))
            bad = echo_string(&out->etag, out, &used, &meta[i]);
        else if (name_is(&meta[i], "created"))
            bad = echo_string(&out->created, out, &used, &meta[i]);
        else if (name_is(&meta[i], "modified"))
            bad = echo_string(&out->modified, out, &used, &meta[i]);
        else if (name_is(&meta[i], "createdBy"))
            bad = echo_string(&out->created_by, out, &used, &meta[i]);
        else if (name_is(&meta[i], "modifiedBy"))
            bad = echo_string(&out->modified_by, out, &used, &meta[i]);
    }
    /* Without a valid id or an etag the acknowledgement refuses the
     * envelope: the parsed path says why. */
    return !bad && out->id && wb_uuid__valid(out->id) && out->etag;
}

/* The "name" member of an error body, when the body is a small JSON object. */
static int body_names(const wb_http_response *r, const char *name)
{
    cJSON *j = NULL;
    const cJSON *n;
    int found = 0;
    if (!r->body || r->body_len == 0 || r->body_len > 65536)
        return 0;
    if (wb_json__parse(&j, r->body, r->body_len, NULL, "error body") < 0) {
        wb_error_clear();
        return 0;
    }
    n = wb_json__get(j, "name");
    found = cJSON_IsString(n) && strcmp(n->valuestring, name) == 0;
    cJSON_Delete(j);
    return found;
}

int wb_polis__is_concurrency(const wb_http_response *r)
{
    if (r->status == 412 || r->status == 409)
        return 1;
    return r->status >= 400 && r->status < 500 && body_names(r, "ConcurrencyError");
}

void wb_polis__message(char *out, size_t size, const wb_http_response *r)
{
    cJSON *j = NULL;
    const cJSON *m = NULL;
    if (r->body && r->body_len > 0 && r->body_len <= 65536 &&
        wb_json__parse(&j, r->body, r->body_len, NULL, "error body") == 0) {
        m = wb_json__get(j, "message");
        if (!cJSON_IsString(m))
            m = wb_json__get(j, "name");
    } else {
        wb_error_clear();
    }
    if (cJSON_IsString(m))
        snprintf(out, size, "HTTP %d: %s", r->status, m->valuestring);
    else
        snprintf(out, size, "HTTP %d", r->status);
    cJSON_Delete(j);
}
