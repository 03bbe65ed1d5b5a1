/*
 * pull.c - incremental pull (DESIGN.md "Sync contract", polis-api.md G6,
 * G7): list interactions whose meta.modified is at or after the stored
 * watermark, tombstones included, sorted by modified then id, a page at a
 * time. Each page is applied together with the new watermark in one
 * transaction, so a crash resumes where the last committed page ended.
 *
 * Ties: the watermark keeps the "id:etag" keys of the records applied at
 * exactly its modified value. The next query asks for `gte` that value, so
 * records sharing it across a page boundary are not lost, and those already
 * applied are skipped by key (a key with another etag is a new version and
 * is applied).
 *
 * Skipping within a run: the next page's query also skips (offset) most of
 * the rows at that value it listed last, so that a group of ties longer
 * than a page is read through. Such a row can change between the two
 * queries: it then leaves the group (it is listed again further on, under
 * its new modified) and every row after it moves up one place, so an
 * offset counted on the old listing lands past a row never seen - the next
 * page would skip it and the watermark would move past it for good. Hence
 * (wb_pull__next_skip, skip_held): the offset always leaves at least one
 * row already applied to be read again, and a page asked for with an
 * offset must start with such a row (at the watermark value, its key in
 * the seen keys); when it does not, rows moved and the page is asked for
 * again from offset 0, where the seen keys alone tell what to skip. The
 * offset counts only the rows the last listing showed at that value (not
 * every key kept for it: some of those may have left meanwhile).
 *
 * Prefetch: the URL of the next page follows from the current page alone
 * (its last modified value and the keys at it), so with the built-in
 * libcurl transport a thread GETs the next page while this one is applied.
 * The thread only sends that one request: retries, backoff, token refresh
 * and every decision stay on the syncing thread, which sends the request
 * again itself when the prefetched answer is not a readable 2xx. A
 * platform's own transport is only ever called on the syncing thread.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sync_int.h"
#include "timeutil.h"

#define WB_PULL_RESOURCE "interactions"

static const char *env_str(const cJSON *env, const char *a, const char *b)
{
    const cJSON *item = b ? wb_json__get(wb_json__get(env, a), b) : wb_json__get(env, a);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* "id:etag" of an envelope into buf; 0, or -1 when it lacks either. */
static int env_key(char *buf, size_t size, const cJSON *env)
{
    const char *id = env_str(env, "id", NULL), *etag = env_str(env, "meta", "etag");
    if (!id || !etag)
        return -1;
    return snprintf(buf, size, "%s:%s", id, etag) < (int)size ? 0 : -1;
}

static int in_seen(const cJSON *seen, const char *key)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, seen)
    {
        if (cJSON_IsString(item) && strcmp(item->valuestring, key) == 0)
            return 1;
    }
    return 0;
}

/* What the watermark needs of one listed envelope. */
typedef struct page_key {
    char modified[WB_TIMESTAMP_LEN + 1]; /* "" when absent or not a timestamp */
    char *id;                            /* "" when absent (then refused) */
    char *key;                           /* "id:etag", NULL without an etag */
} page_key;

static void keys_free_one(page_key *k)
{
    wb__free(k->id);
    wb__free(k->key);
    k->id = k->key = NULL;
}

static void keys_free(page_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        keys_free_one(&keys[i]);
    wb__free(keys);
}

static int key_of(page_key *k, const cJSON *env)
{
    const char *id = env_str(env, "id", NULL), *m = env_str(env, "meta", "modified");
    char key[512];
    memset(k, 0, sizeof(*k));
    if (m && strlen(m) == WB_TIMESTAMP_LEN)
        memcpy(k->modified, m, WB_TIMESTAMP_LEN + 1);
    if (!(k->id = wb__strdup(id ? id : "")))
        return wb_error__oom();
    if (env_key(key, sizeof(key), env) == 0 && !(k->key = wb__strdup(key)))
        return wb_error__oom();
    return 0;
}

/* wb_pull__advance over the keys of a page, in listing order. */
static int advance_keys(char *modified, char **out_seen, const char *seen, const page_key *items,
                        size_t n)
{
    cJSON *keys = NULL;
    int error = 0;

    *out_seen = NULL;
    if (seen && *seen) {
        if ((error = wb_json__parse(&keys, seen, strlen(seen), NULL, "watermark")) < 0)
            return error;
        if (!cJSON_IsArray(keys)) {
            cJSON_Delete(keys);
            keys = NULL;
        }
    }
    if (!keys && !(keys = cJSON_CreateArray()))
        return wb_error__oom();
    for (size_t i = 0; i < n; i++) {
        const char *m = items[i].modified, *key = items[i].key;
        cJSON *str;
        if (!*m || !key)
            continue;
        if (strcmp(m, modified) > 0) {
            /* A later value: the keys of the old one are no longer needed. */
            cJSON_Delete(keys);
            if (!(keys = cJSON_CreateArray())) {
                error = wb_error__oom();
                goto cleanup;
            }
            memcpy(modified, m, WB_TIMESTAMP_LEN + 1);
        } else if (strcmp(m, modified) < 0 || in_seen(keys, key)) {
            continue;
        }
        if (!(str = cJSON_CreateString(key)) || !cJSON_AddItemToArray(keys, str)) {
            cJSON_Delete(str);
            error = wb_error__oom();
            goto cleanup;
        }
    }
    if (!(*out_seen = wb_json__print(keys)))
        error = WB_ENOMEM;
cleanup:
    cJSON_Delete(keys);
    return error;
}

int wb_pull__advance(char *modified, char **out_seen, const char *seen, const cJSON *items)
{
    page_key *keys;
    size_t n = 0;
    const cJSON *env;
    int error = 0;
    *out_seen = NULL;
    if (!(keys = wb__calloc((size_t)cJSON_GetArraySize(items) + 1, sizeof(*keys))))
        return wb_error__oom();
    cJSON_ArrayForEach(env, items)
    {
        if ((error = key_of(&keys[n++], env)) < 0)
            goto cleanup;
    }
    error = advance_keys(modified, out_seen, seen, keys, n);
cleanup:
    keys_free(keys, n);
    return error;
}

/* ---- a list page as text ------------------------------------------------ */

/* A page of 500 envelopes parsed whole is a tree of about 2 MB. The pull
 * keeps the page as the text it came in (a fifth of that), with where each
 * element of its "data" array starts and ends, and parses one envelope at
 * a time when it applies it. Every element is checked (wb_json__check:
 * the grammar, UTF-8, limits) when the page is read, so a damaged page is
 * asked again before anything of it is applied, and its id, etag and
 * modified are read from the checked text directly; building a tree of
 * each element for them cost as much as the parse that applies it. */

typedef struct page_span {
    size_t off, len;
} page_span;

typedef struct page {
    wb_http_response r; /* the body */
    page_span *spans;
    page_key *keys;
    wb_remote_read *reads; /* what applying each element needs of its text */
    size_t n, cap;
} page;

static void page_clear(wb_sync *s, page *pg)
{
    wb_sync__response_free(s, &pg->r);
    keys_free(pg->keys, pg->n);
    wb__free(pg->spans);
    wb__free(pg->reads);
    memset(pg, 0, sizeof(*pg));
}

static int page_bad(const char *what)
{
    return wb_error__set(WB_EINVALID, WB_ERRCLASS_SYNC, "server list page: %s", what);
}

static int page_add(page *pg, size_t off, size_t len)
{
    if (pg->n == pg->cap) {
        size_t cap = pg->cap ? pg->cap * 2 : 64;
        page_span *spans = wb__realloc(pg->spans, cap * sizeof(*spans));
        page_key *keys;
        wb_remote_read *reads;
        if (!spans)
            return wb_error__oom();
        pg->spans = spans;
        if (!(keys = wb__realloc(pg->keys, cap * sizeof(*keys))))
            return wb_error__oom();
        pg->keys = keys;
        if (!(reads = wb__realloc(pg->reads, cap * sizeof(*reads))))
            return wb_error__oom();
        pg->reads = reads;
        pg->cap = cap;
    }
    pg->spans[pg->n].off = off;
    pg->spans[pg->n].len = len;
    memset(&pg->keys[pg->n], 0, sizeof(pg->keys[pg->n]));
    pg->n++;
    return 0;
}

/* The elements of the "data" array of {"data":[…], …}. */
static int page_split(page *pg, const char *body, size_t len)
{
    const char *p = body, *end = body + len;
    int found = 0;
    p = wb_json__skip_ws_text(p, end);
    if (p == end || *p != '{')
        return page_bad("not a JSON object");
    p = wb_json__skip_ws_text(p + 1, end);
    if (p < end && *p == '}')
        p++;
    else
        for (;;) {
            const char *key = p, *q;
            int is_data;
            if (p == end || *p != '"' || !(q = wb_json__skip_string_text(p, end)))
                return page_bad("a member name expected");
            is_data = q - key == 6 && memcmp(key, "\"data\"", 6) == 0;
            p = wb_json__skip_ws_text(q, end);
            if (p == end || *p != ':')
                return page_bad("':' expected");
            p = wb_json__skip_ws_text(p + 1, end);
            if (is_data && !found && p < end && *p == '[') {
                found = 1;
                p = wb_json__skip_ws_text(p + 1, end);
                if (p < end && *p == ']') {
                    p++;
                } else {
                    for (;;) {
                        const char *e = wb_json__skip_value_text(p, end);
                        int error;
                        if (!e || e == p)
                            return page_bad("an element is cut or empty");
                        if ((error = page_add(pg, (size_t)(p - body), (size_t)(e - p))) < 0)
                            return error;
                        p = wb_json__skip_ws_text(e, end);
                        if (p < end && *p == ',') {
                            p = wb_json__skip_ws_text(p + 1, end);
                            continue;
                        }
                        if (p < end && *p == ']') {
                            p++;
                            break;
                        }
                        return page_bad("',' or ']' expected in data");
                    }
                }
            } else if (!(q = wb_json__skip_value_text(p, end)) || q == p) {
                return page_bad("a member value is cut");
            } else {
                p = q;
            }
            p = wb_json__skip_ws_text(p, end);
            if (p < end && *p == ',') {
                p = wb_json__skip_ws_text(p + 1, end);
                continue;
            }
            if (p < end && *p == '}') {
                p++;
                break;
            }
            return page_bad("',' or '}' expected");
        }
    if (wb_json__skip_ws_text(p, end) != end)
        return page_bad("text after the object");
    if (!found)
        return page_bad("data is not an array");
    return 0;
}

/* An element checked by page_read, parsed. */
static int parse_element(cJSON **env, const char *body, const page_span *sp)
{
    return wb_json__parse_checked(env, body + sp->off, sp->len, "server list page");
}

/* In checked JSON text, p at '{': the value of the member `name` of that
 * object as [*v, *v_end), or 0 when absent. -1 when a member name holds an
 * escape (it might spell `name`: the caller parses instead). */
static int member_span(const char *p, const char *end, const char *name, const char **v,
                       const char **v_end)
{
    size_t name_len = strlen(name);
    p = wb_json__skip_ws_text(p + 1, end);
    while (p < end && *p == '"') {
        const char *key = p + 1, *q = wb_json__skip_string_text(p, end), *e;
        if (!q)
            return 0;
        if (memchr(key, '\\', (size_t)(q - 1 - key)))
            return -1;
        p = wb_json__skip_ws_text(q, end);
        if (p == end || *p != ':')
            return 0;
        p = wb_json__skip_ws_text(p + 1, end);
        if (!(e = wb_json__skip_value_text(p, end)) || e == p)
            return 0;
        if ((size_t)(q - 1 - key) == name_len && memcmp(key, name, name_len) == 0) {
            *v = p;
            *v_end = e;
            return 1;
        }
        p = wb_json__skip_ws_text(e, end);
        if (p < end && *p == ',')
            p = wb_json__skip_ws_text(p + 1, end);
    }
    return 0;
}

/* The string member `name` of the object at p, without its quotes: 1, 0
 * when absent or not a string (as env_str), -1 when an escape is involved. */
static int member_str(const char *p, const char *end, const char *name, const char **s,
                      size_t *len)
{
    const char *v, *v_end;
    int found = member_span(p, end, name, &v, &v_end);
    if (found <= 0)
        return found;
    if (*v != '"')
        return 0;
    if (memchr(v + 1, '\\', (size_t)(v_end - 1 - (v + 1))))
        return -1;
    *s = v + 1;
    *len = (size_t)(v_end - 1 - (v + 1));
    return 1;
}

/* key_of from the checked text of an envelope (an object): 0, 1 when an
 * escape is involved (the caller parses the element and uses key_of), or
 * an error. */
static int key_of_text(page_key *k, const char *p, const char *end)
{
    const char *id = NULL, *etag = NULL, *m = NULL, *meta, *meta_end;
    size_t id_len = 0, etag_len = 0, m_len = 0;
    int has_id, has_meta, has_etag = 0, has_m = 0;
    memset(k, 0, sizeof(*k));
    if ((has_id = member_str(p, end, "id", &id, &id_len)) < 0 ||
        (has_meta = member_span(p, end, "meta", &meta, &meta_end)) < 0)
        return 1;
    if (has_meta && *meta == '{' &&
        ((has_etag = member_str(meta, meta_end, "etag", &etag, &etag_len)) < 0 ||
         (has_m = member_str(meta, meta_end, "modified", &m, &m_len)) < 0))
        return 1;
    if (has_m && m_len == WB_TIMESTAMP_LEN)
        memcpy(k->modified, m, WB_TIMESTAMP_LEN);
    if (!(k->id = has_id ? wb__strndup(id, id_len) : wb__strdup("")))
        return wb_error__oom();
    if (has_id && has_etag && id_len + 1 + etag_len < 512) {
        if (!(k->key = wb__malloc(id_len + 1 + etag_len + 1)))
            return wb_error__oom();
        memcpy(k->key, id, id_len);
        k->key[id_len] = ':';
        memcpy(k->key + id_len + 1, etag, etag_len);
        k->key[id_len + 1 + etag_len] = '\0';
    }
    return 0;
}

/* Read a page whose body pg->r holds: split it, check each element and
 * read its key. 0, or an error (the page is unreadable: ask again). */
static int page_read(page *pg)
{
    int error;
    if ((error = page_split(pg, pg->r.body ? pg->r.body : "", pg->r.body_len)) < 0)
        return error;
    for (size_t i = 0; i < pg->n; i++) {
        const char *p = pg->r.body + pg->spans[i].off, *end = p + pg->spans[i].len;
        cJSON *env = NULL;
        if ((error = wb_json__check(p, pg->spans[i].len, NULL, "server list page")) < 0)
            return error;
        if (*p != '{')
            return page_bad("an element is not an object");
        /* Here, on the prefetch thread when there is one, rather than
         * when the page is applied. */
        wb_syncstore__read_remote(&pg->reads[i], p, pg->spans[i].len);
        if ((error = key_of_text(&pg->keys[i], p, end)) <= 0) {
            if (error < 0)
                return error;
            continue;
        }
        /* An escape in a name or a key value: as cJSON reads it. */
        keys_free_one(&pg->keys[i]);
        if ((error = parse_element(&env, pg->r.body, &pg->spans[i])) < 0)
            return error;
        error = key_of(&pg->keys[i], env);
        cJSON_Delete(env);
        if (error < 0)
            return error;
    }
    return 0;
}

/* An element's place in the order records are applied. */
typedef struct page_entry {
    const char *id;
    size_t pos;
} page_entry;

static int cmp_entry(const void *a, const void *b)
{
    const page_entry *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->pos < y->pos ? -1 : x->pos > y->pos);
}

/* Apply one page and move the watermark to next_modified / next_seen (what
 * advance_keys made of this page), in the open transaction. The records are
 * applied in id order, not listing order: they are independent of each
 * other, and the indexes keyed by id (server id, local id, the log's) then
 * take them in key order, each b-tree page loaded and written once per
 * transaction instead of once per record. */
static int apply_page(wb_sync *s, const page *pg, const char *modified, const char *seen,
                      const char *next_modified, const char *next_seen)
{
    cJSON *seen_json = NULL;
    page_entry *order = NULL;
    int error;

    if (seen && *seen &&
        (error = wb_json__parse(&seen_json, seen, strlen(seen), NULL, "watermark")) < 0)
        return error;
    if (!(order = wb__calloc(pg->n + 1, sizeof(*order)))) {
        error = wb_error__oom();
        goto cleanup;
    }
    for (size_t i = 0; i < pg->n; i++) {
        order[i].id = pg->keys[i].id;
        order[i].pos = i;
    }
    qsort(order, pg->n, sizeof(*order), cmp_entry);
    for (size_t i = 0; i < pg->n; i++) {
        enum wb_remote_outcome outcome = WB_REMOTE_REFUSED;
        const page_key *k = &pg->keys[order[i].pos];
        /* Already applied at the watermark value: a repeat of the gte. */
        if (*k->modified && strcmp(k->modified, modified) == 0 && k->key &&
            in_seen(seen_json, k->key))
            continue;
        if ((error = wb_syncstore__apply_remote_read(
                 &outcome, s->store, &pg->reads[order[i].pos],
                 pg->r.body + pg->spans[order[i].pos].off, pg->spans[order[i].pos].len,
                 s->opts.policy, s->opts.prefer_remote)) < 0)
            break;
        wb_sync__count(s, outcome);
    }
    if (error >= 0)
        error = wb_syncstore__set_watermark(s->store, WB_PULL_RESOURCE, s->scope, next_modified,
                                            next_seen);
cleanup:
    wb__free(order);
    cJSON_Delete(seen_json);
    return error;
}

/* GET one page and parse it, retrying transient failures with backoff: no
 * answer, 5xx, 408, 429, and a 2xx whose body cannot be read (truncated,
 * not JSON). *refused_400 is set (and an error returned) when the server
 * refused the query itself. */
typedef int (*page_reader)(void *ud, const wb_http_response *r);

static int get_page_with(wb_sync *s, wb_http_response *r, const char *url, page_reader read,
                         void *ud, int *refused_400)
{
    *refused_400 = 0;
    for (int attempt = 1;; attempt++) {
        int rc = wb_sync__send(s, r, "GET", url, NULL, 0, NULL);
        int64_t wait;
        if (rc == WB_EAUTH || (rc < 0 && rc != WB_EOFFLINE))
            return rc;
        if (rc == 0 && r->status >= 200 && r->status < 300) {
            if (read(ud, r) == 0)
                return 0;
            rc = WB_EOFFLINE; /* unreadable: ask again */
        } else if (rc == 0 && r->status < 500 && r->status != 408 && r->status != 429) {
            char msg[256];
            wb_polis__message(msg, sizeof(msg), r);
            *refused_400 = r->status == 400;
            rc = wb_error__set(WB_ERROR, WB_ERRCLASS_SYNC, "pull: %s", msg);
            wb_error__set_http(r->status);
            return rc;
        }
        wait = wb_push__backoff_ms(attempt, s->opts.backoff_base_ms, s->opts.backoff_max_ms,
                                   r->retry_after_s, randombytes_random());
        if (attempt >= s->opts.max_attempts || wait > s->opts.backoff_max_ms) {
            if (rc == 0 || r->status != 0) {
                rc = wb_error__set(WB_EOFFLINE, WB_ERRCLASS_NET,
                                   "pull: HTTP %d after %d attempts", r->status, attempt);
                wb_error__set_http(r->status);
            }
            return rc;
        }
        wb_sync__response_free(s, r);
        wb_sync__sleep(s, wait);
    }
}

typedef struct tree_page {
    cJSON **root;
    const cJSON **items;
} tree_page;

static int read_tree(void *ud, const wb_http_response *r)
{
    tree_page *t = ud;
    return wb_polis__parse_page(t->root, t->items, r->body, r->body_len);
}

int wb_pull__get_page(wb_sync *s, wb_http_response *r, const char *url, cJSON **root,
                      const cJSON **items, int *refused_400)
{
    tree_page t = {root, items};
    return get_page_with(s, r, url, read_tree, &t, refused_400);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One campaign (or everything, campaign NULL) listed in full, page by
 * page: each record applied (the stored etag makes unchanged ones a
 * no-op), then every local record of that campaign the listing did not
 * contain is applied as a remote delete. */
static int repull_campaign(wb_sync *s, const char *campaign, uint64_t *done)
{
    wb_buf filter = WB_BUF_INIT, url = WB_BUF_INIT;
    wb_http_response r;
    char **seen = NULL;
    size_t n_seen = 0, cap = 0, skip = 0;
    wb_syncstore_ref *local = NULL;
    size_t n_local = 0;
    cJSON *root = NULL;
    const cJSON *items, *env;
    int error = 0, refused;

    memset(&r, 0, sizeof(r));
    if (campaign && (error = wb_polis__reconcile_filter_campaign(&filter, campaign)) < 0)
        goto cleanup;
    for (;;) {
        size_t n;
        if (wb_sync__cancelled(s)) {
            error = wb_sync__cancel_error();
            goto cleanup;
        }
        wb_buf__clear(&url);
        if ((error = wb_polis__list_url(&url, s->base_url, s->opts.api,
                                        campaign ? filter.ptr : NULL, s->opts.page_size,
                                        skip)) < 0 ||
            (error = wb_pull__get_page(s, &r, url.ptr, &root, &items, &refused)) < 0)
            goto cleanup;
        wb_sync__response_free(s, &r);
        n = (size_t)cJSON_GetArraySize(items);
        cJSON_ArrayForEach(env, items)
        {
            enum wb_remote_outcome outcome;
            const cJSON *id = wb_json__get(env, "id");
            if ((error = wb_syncstore__apply_remote(&outcome, s->store, env, s->opts.policy,
                                                    s->opts.prefer_remote)) < 0)
                goto cleanup;
            wb_sync__count(s, outcome);
            if (!cJSON_IsString(id))
                continue;
            if (n_seen == cap) {
                size_t ncap = cap ? cap * 2 : 256;
                char **grown = wb__realloc(seen, ncap * sizeof(*seen));
                if (!grown) {
                    error = wb_error__oom();
                    goto cleanup;
                }
                seen = grown;
                cap = ncap;
            }
            if (!(seen[n_seen] = wb__strdup(id->valuestring))) {
                error = wb_error__oom();
                goto cleanup;
            }
            n_seen++;
        }
        cJSON_Delete(root);
        root = NULL;
        *done += n;
        wb_sync__progress(s, 2, *done, 0);
        if (n < s->opts.page_size)
            break;
        skip += n;
    }
    /* What the server no longer lists was deleted there. */
    qsort(seen, n_seen, sizeof(*seen), cmp_str);
    if ((error = wb_syncstore__live_refs(&local, &n_local, s->store, campaign)) < 0)
        goto cleanup;
    for (size_t i = 0; i < n_local; i++) {
        const char *key = local[i].server_id;
        enum wb_remote_outcome outcome;
        cJSON *tomb;
        if (n_seen && bsearch(&key, seen, n_seen, sizeof(*seen), cmp_str))
            continue;
        if ((error = wb_syncstore__tombstone_of(&tomb, s->store, &local[i])) < 0)
            goto cleanup;
        error = wb_syncstore__apply_remote(&outcome, s->store, tomb, s->opts.policy,
                                           s->opts.prefer_remote);
        cJSON_Delete(tomb);
        if (error < 0)
            goto cleanup;
        wb_sync__count(s, outcome);
    }
cleanup:
    wb_sync__response_free(s, &r);
    cJSON_Delete(root);
    for (size_t i = 0; i < n_seen; i++)
        wb__free(seen[i]);
    wb__free(seen);
    wb_syncstore__refs_free(local, n_local);
    wb_buf__free(&filter);
    wb_buf__free(&url);
    return error;
}

/* polis-api.md G6: a server that refuses the /meta filter (400) is pulled
 * in full, campaign by campaign (the campaigns this store holds; all
 * records when it holds none), comparing etags. The watermark stays where
 * it was, so the next run tries the incremental query again. */
static int full_repull(wb_sync *s)
{
    char **campaigns = NULL;
    size_t n = 0;
    uint64_t done = 0;
    int error;
    wb_error_clear();
    if ((error = wb_syncstore__campaigns(&campaigns, &n, s->store)) < 0)
        return error;
    if (n == 0)
        error = repull_campaign(s, NULL, &done);
    for (size_t i = 0; i < n && error >= 0; i++)
        error = repull_campaign(s, campaigns[i], &done);
    for (size_t i = 0; i < n; i++)
        wb__free(campaigns[i]);
    wb__free(campaigns);
    return error;
}

/* ---- prefetch ------------------------------------------------------------- */

/* One GET of the next page on a thread of its own, read there too. */
typedef struct prefetch {
    wb_sync *s;
    pthread_t thread;
    int started;
    wb_buf url, auth;
    page pg;
    int rc;
    atomic_int done; /* set by the thread once pg and rc are final */
} prefetch;

static void *prefetch_main(void *arg)
{
    prefetch *p = arg;
    wb_http_header headers[2];
    wb_http_request req;
    size_t n = 0;
    headers[n++] = (wb_http_header){"Accept", "application/json"};
    if (p->auth.ptr)
        headers[n++] = (wb_http_header){"Authorization", p->auth.ptr};
    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.url = p->url.ptr;
    req.headers = headers;
    req.n_headers = n;
    req.timeout_ms = p->s->opts.timeout_ms;
    memset(&p->pg, 0, sizeof(p->pg));
    p->pg.r.retry_after_s = -1;
    p->rc = p->s->transport.send(p->s->transport.ctx, &req, &p->pg.r);
    if (p->rc == 0 && p->pg.r.status >= 200 && p->pg.r.status < 300)
        p->rc = page_read(&p->pg);
    else if (p->rc == 0)
        p->rc = WB_ERROR;
    atomic_store_explicit(&p->done, 1, memory_order_release);
    return NULL;
}

/* Start fetching url, when the transport is ours (a platform's is called on
 * the syncing thread only). Nothing is started when it cannot be: the page
 * is then fetched when it is needed. */
static void prefetch_start(prefetch *p, wb_sync *s, const char *url)
{
    pthread_attr_t attr;
    int rc;
    p->s = s;
    p->started = 0;
    if (!s->curl || wb_sync__cancelled(s))
        return;
    wb_buf__clear(&p->url);
    wb_buf__clear(&p->auth);
    if (wb_buf__puts(&p->url, url) < 0 ||
        (s->token && wb_buf__printf(&p->auth, "Bearer %s", s->token) < 0)) {
        wb_error_clear();
        return;
    }
    if (pthread_attr_init(&attr) != 0)
        return;
    /* libcurl on plain HTTP or TLS needs far less than the default 8 MiB. */
    pthread_attr_setstacksize(&attr, 512 * 1024);
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    rc = pthread_create(&p->thread, &attr, prefetch_main, p);
    pthread_attr_destroy(&attr);
    p->started = rc == 0;
}

/* Wait for the prefetch; counted in the report like any request. 1 when it
 * brought a readable page of url (moved into *pg), else 0. */
static int prefetch_take(prefetch *p, page *pg, const char *url)
{
    wb_sync *s = p->s;
    int ok;
    if (!p->started)
        return 0;
    pthread_join(p->thread, NULL);
    p->started = 0;
    if (p->auth.ptr)
        sodium_memzero(p->auth.ptr, p->auth.cap);
    s->report.requests++;
    s->report.bytes_received += p->pg.r.body_len;
    ok = p->rc == 0 && pg && url && strcmp(url, p->url.ptr) == 0;
    if (!ok) {
        page_clear(s, &p->pg);
        return 0;
    }
    *pg = p->pg;
    memset(&p->pg, 0, sizeof(p->pg));
    return 1;
}

/* 1 when the prefetch of url is over and brought a readable page: taking
 * it does not wait. */
static int prefetch_ready(prefetch *p, const char *url)
{
    return p->started && atomic_load_explicit(&p->done, memory_order_acquire) && p->rc == 0 &&
           strcmp(url, p->url.ptr) == 0;
}

static void prefetch_free(prefetch *p)
{
    prefetch_take(p, NULL, NULL);
    if (p->auth.ptr)
        sodium_memzero(p->auth.ptr, p->auth.cap);
    wb_buf__free(&p->url);
    wb_buf__free(&p->auth);
}

/* get_page_with's reader for the pull: r is the page's own response. */
static int read_text(void *ud, const wb_http_response *r)
{
    page *pg = ud;
    int error = page_read(pg);
    (void)r;
    if (error < 0) {
        /* Unreadable: the response is asked again (and freed) by the
         * caller's loop; the spans and keys go now. */
        keys_free(pg->keys, pg->n);
        wb__free(pg->spans);
        wb__free(pg->reads);
        pg->keys = NULL;
        pg->spans = NULL;
        pg->reads = NULL;
        pg->n = pg->cap = 0;
    }
    return error;
}

/* The next page: the prefetched one when it came readable, else fetched
 * now (with retries). */
static int next_page(wb_sync *s, prefetch *p, page *pg, const char *url, int *refused)
{
    int error;
    *refused = 0;
    if (prefetch_take(p, pg, url))
        return 0;
    wb_error_clear();
    memset(pg, 0, sizeof(*pg));
    if ((error = get_page_with(s, &pg->r, url, read_text, pg, refused)) < 0)
        page_clear(s, pg);
    return error;
}

size_t wb_pull__next_skip(size_t confirmed, unsigned page_size)
{
    /* A quarter of a page is read again (at least one row, and never the
     * whole page, so every page still moves on): a few rows of the group
     * may change between two queries without the check failing. */
    size_t again = page_size / 4;
    if (again < 1)
        again = 1;
    if (page_size > 1 && again > page_size - 1)
        again = page_size - 1;
    return confirmed > again ? confirmed - again : 0;
}

/* The rows at the start of the listing known to be at `next_modified` once
 * this page is applied: the page's rows at that value, after the `skip`
 * rows before the page when the value did not move (those were checked to
 * be applied ones, skip_held). */
static size_t confirmed_rows(const page *pg, const char *modified, size_t skip,
                             const char *next_modified)
{
    size_t n = strcmp(next_modified, modified) == 0 ? skip : 0;
    if (!*next_modified)
        return 0;
    for (size_t i = 0; i < pg->n; i++)
        n += strcmp(pg->keys[i].modified, next_modified) == 0;
    return n;
}

/* 1 when a page asked for with an offset starts with a row already applied
 * at the watermark value: no row before it can be one not seen (file
 * comment). 0 when it does not (or is empty): ask from offset 0. A row
 * without an etag is never applied (nor kept among the seen keys), so it
 * counts as held: checking it would ask from offset 0 for ever. */
static int skip_held(const page *pg, const char *modified, const char *seen)
{
    cJSON *keys = NULL;
    int held;
    if (pg->n == 0 || strcmp(pg->keys[0].modified, modified) != 0)
        return 0;
    if (!pg->keys[0].key)
        return 1;
    if (!seen || !*seen)
        return 0;
    if (wb_json__parse(&keys, seen, strlen(seen), NULL, "watermark") < 0) {
        wb_error_clear();
        return 0;
    }
    held = in_seen(keys, pg->keys[0].key);
    cJSON_Delete(keys);
    return held;
}

/* The report counts what a rolled back transaction applied no more. */
static void uncount(wb_sync *s, const wb_sync_report *at_begin)
{
    s->report.inserted = at_begin->inserted;
    s->report.pulled_updated = at_begin->pulled_updated;
    s->report.pulled_deleted = at_begin->pulled_deleted;
    s->report.merged = at_begin->merged;
    s->report.conflicts = at_begin->conflicts;
    s->report.refused = at_begin->refused;
}

/* Pages share a transaction, up to opts.pull_txn_records records, while
 * the next page is already in: every commit writes the last, partly filled
 * 16 KiB page of each of the b-trees a record touches to the WAL again (a
 * pull of 10 000 records in pages of 200 wrote a WAL of 48 MB for a
 * database of 20 MB; 30 MB with 500 records a transaction), and each of
 * those megabytes is written, copied, synced and freed again. The
 * transaction never waits on the network: when the next page is not in
 * yet, what was applied commits first. Nor does it take in another page
 * once open WB_PULL_TXN_MS: the app's writes wait for it, and a slow
 * phone may take a good part of a second for 500 records (here about
 * 15 ms). Each page still moves the watermark with its records, so a
 * crash or an error loses nothing a next run does not fetch again. */
#define WB_PULL_TXN_MS 50

/* Commit the open transaction (its pages' records are `done`) and report. */
static int commit_pages(wb_sync *s, int *open, uint64_t done, const wb_sync_report *at_begin)
{
    int error;
    *open = 0;
    if ((error = wb_store__commit(s->store)) < 0) {
        uncount(s, at_begin); /* the commit rolled back */
        return error;
    }
    wb_sync__progress(s, 2, done, 0);
    return 0;
}

int wb_pull__run(wb_sync *s)
{
    char modified[WB_TIMESTAMP_LEN + 1], next_modified[WB_TIMESTAMP_LEN + 1];
    char *seen = NULL, *next_seen = NULL;
    wb_buf filter = WB_BUF_INIT, url = WB_BUF_INIT, next_url = WB_BUF_INIT;
    prefetch pf;
    page pg;
    wb_sync_report at_begin; /* the counts when the open transaction began */
    int64_t txn_since = 0;   /* and the time */
    uint64_t done = 0;
    size_t skip = 0, next_skip = 0, in_txn = 0;
    int error, refused = 0, open = 0;

    memset(&pf, 0, sizeof(pf));
    memset(&pg, 0, sizeof(pg));
    pf.s = s;
    at_begin = s->report;
    if ((error = wb_syncstore__watermark(modified, &seen, s->store, WB_PULL_RESOURCE,
                                         s->scope)) < 0)
        return error;
    wb_sync__progress(s, 2, 0, 0);
    if ((error = wb_polis__pull_filter(&filter, modified)) < 0 ||
        (error = wb_polis__list_url(&url, s->base_url, s->opts.api, filter.ptr,
                                    s->opts.page_size, skip)) < 0)
        goto cleanup;
    for (;;) {
        size_t n;
        wb_buf swap;
        int cancelled = wb_sync__cancelled(s);
        if (open && (cancelled || in_txn >= s->opts.pull_txn_records ||
                     wb_sync__now(s) - txn_since >= WB_PULL_TXN_MS ||
                     !prefetch_ready(&pf, url.ptr))) {
            if ((error = commit_pages(s, &open, done, &at_begin)) < 0)
                break;
            in_txn = 0;
            cancelled = wb_sync__cancelled(s); /* the progress callback may cancel */
        }
        if (cancelled) {
            error = wb_sync__cancel_error();
            break;
        }
        if ((error = next_page(s, &pf, &pg, url.ptr, &refused)) < 0) {
            if (refused && skip == 0 && done == 0)
                error = full_repull(s);
            break;
        }
        if (skip > 0 && !skip_held(&pg, modified, seen)) {
            /* Rows at the watermark value changed since the offset was
             * counted: it may pass one never seen. Again from offset 0. */
            page_clear(s, &pg);
            skip = 0;
            wb_buf__clear(&filter);
            wb_buf__clear(&url);
            if ((error = wb_polis__pull_filter(&filter, modified)) < 0 ||
                (error = wb_polis__list_url(&url, s->base_url, s->opts.api, filter.ptr,
                                            s->opts.page_size, skip)) < 0)
                break;
            continue;
        }
        n = pg.n;
        memcpy(next_modified, modified, sizeof(modified));
        wb__free(next_seen);
        next_seen = NULL;
        if ((error = advance_keys(next_modified, &next_seen, seen, pg.keys, pg.n)) < 0)
            break;
        if (n >= s->opts.page_size) {
            /* The next query starts at the new watermark; the records
             * applied at exactly that value come first (id order), so skip
             * most of them, but not all (file comment, "Skipping"). */
            next_skip = wb_pull__next_skip(confirmed_rows(&pg, modified, skip, next_modified),
                                           s->opts.page_size);
            wb_buf__clear(&filter);
            wb_buf__clear(&next_url);
            if ((error = wb_polis__pull_filter(&filter, next_modified)) < 0 ||
                (error = wb_polis__list_url(&next_url, s->base_url, s->opts.api, filter.ptr,
                                            s->opts.page_size, next_skip)) < 0)
                break;
            prefetch_start(&pf, s, next_url.ptr);
        }
        if (!open) {
            if ((error = wb_store__begin(s->store)) < 0)
                break;
            open = 1;
            at_begin = s->report;
            txn_since = wb_sync__now(s);
        }
        if ((error = apply_page(s, &pg, modified, seen, next_modified, next_seen)) < 0)
            break;
        page_clear(s, &pg);
        memcpy(modified, next_modified, sizeof(modified));
        wb__free(seen);
        seen = next_seen;
        next_seen = NULL;
        done += n;
        in_txn += n;
        if (n < s->opts.page_size)
            break;
        swap = url;
        url = next_url;
        next_url = swap;
        skip = next_skip;
    }
    if (open && error >= 0) {
        error = commit_pages(s, &open, done, &at_begin);
    } else if (open) {
        /* The pages of this transaction are fetched again by the next run. */
        wb_error_saved saved;
        wb_error__save(&saved);
        wb_store__rollback(s->store);
        wb_error__restore(&saved);
        uncount(s, &at_begin);
    }
cleanup:
    prefetch_free(&pf);
    page_clear(s, &pg);
    wb__free(seen);
    wb__free(next_seen);
    wb_buf__free(&filter);
    wb_buf__free(&url);
    wb_buf__free(&next_url);
    return error;
}
