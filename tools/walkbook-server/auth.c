/*
 * auth.c - bearer tokens and the OAuth 2.0 token endpoint (see auth.h).
 *
 * Tokens are kept in one array under a mutex; lookups compare with
 * sodium_memcmp. Issued values are 32 random bytes (libsodium) in base64url.
 * Messages never contain a token.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "auth.h"
#include "common.h"
#include "http.h"
#include "json.h"
#include "timeutil.h"
#include "uuid.h"

#define WBS_AUTH_MAX_ENTRIES 100000
#define WBS_AUTH_MAX_LINE 510 /* a line of --token-file, end of line aside */
#define WBS_AUTH_MAX_FILE (1024L * 1024L)

enum wbs_token_kind { WBS_TOKEN_STATIC, WBS_TOKEN_ACCESS, WBS_TOKEN_REFRESH, WBS_TOKEN_CODE };

typedef struct wbs_token {
    char *value;
    int kind;
    int64_t expires_ms; /* 0 = never */
    wbs_principal who;
} wbs_token;

struct wbs_auth {
    pthread_mutex_t lock;
    long lifetime_s;
    wbs_token *tokens;
    size_t n, cap;
};

wbs_auth *wbs_auth_new(long lifetime_s)
{
    wbs_auth *a = wb__calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    pthread_mutex_init(&a->lock, NULL);
    a->lifetime_s = lifetime_s;
    return a;
}

void wbs_auth_free(wbs_auth *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        sodium_memzero(a->tokens[i].value, strlen(a->tokens[i].value));
        wb__free(a->tokens[i].value);
    }
    wb__free(a->tokens);
    pthread_mutex_destroy(&a->lock);
    wb__free(a);
}

/* Drop expired entries (lock held). */
static void wbs_auth__prune(wbs_auth *a, int64_t now)
{
    size_t o = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (a->tokens[i].expires_ms && a->tokens[i].expires_ms <= now) {
            sodium_memzero(a->tokens[i].value, strlen(a->tokens[i].value));
            wb__free(a->tokens[i].value);
            continue;
        }
        a->tokens[o++] = a->tokens[i];
    }
    a->n = o;
}

/* Append an entry taking ownership of value (lock held). 0 or -1. */
static int wbs_auth__append(wbs_auth *a, char *value, int kind, int64_t expires_ms,
                            const wbs_principal *who)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        wbs_token *t;
        if (a->n >= WBS_AUTH_MAX_ENTRIES)
            wbs_auth__prune(a, wb_time__now_ms());
        if (a->n >= WBS_AUTH_MAX_ENTRIES)
            return -1;
        t = wb__realloc(a->tokens, cap * sizeof(*t));
        if (!t)
            return -1;
        a->tokens = t;
        a->cap = cap;
    }
    a->tokens[a->n].value = value;
    a->tokens[a->n].kind = kind;
    a->tokens[a->n].expires_ms = expires_ms;
    a->tokens[a->n].who = *who;
    a->n++;
    return 0;
}

/* Index of a live entry of that kind with that value, or -1 (lock held). */
static long wbs_auth__find(const wbs_auth *a, const char *value, int kind, int64_t now)
{
    size_t len = strlen(value);
    for (size_t i = 0; i < a->n; i++) {
        const wbs_token *t = &a->tokens[i];
        if (t->kind != kind || strlen(t->value) != len ||
            sodium_memcmp(t->value, value, len) != 0)
            continue;
        if (t->expires_ms && t->expires_ms <= now)
            return -1;
        return (long)i;
    }
    return -1;
}

static int wbs_auth__parse_spec(char **value, wbs_principal *who, const char *spec,
                                const char *what, char *err, size_t errlen)
{
    char buf[512], *parts[6], *save = NULL, *tok;
    size_t n = 0;

    if (strlen(spec) >= sizeof(buf)) {
        snprintf(err, errlen, "%s: too long", what);
        return -1;
    }
    memcpy(buf, spec, strlen(spec) + 1);
    for (tok = strtok_r(buf, ":", &save); tok && n < 6; tok = strtok_r(NULL, ":", &save))
        parts[n++] = tok;
    if (n < 4 || n > 5) {
        snprintf(err, errlen, "%s: expected VALUE:CUSTOMER:SECURITY_GROUP:USER[:ROLE]", what);
        goto fail;
    }
    for (size_t i = 1; i < 4; i++) {
        if (!wb_uuid__valid(parts[i])) {
            snprintf(err, errlen, "%s: %s must be a UUID", what,
                     i == 1 ? "CUSTOMER" : i == 2 ? "SECURITY_GROUP" : "USER");
            goto fail;
        }
        for (char *c = parts[i]; *c; c++)
            if (*c >= 'A' && *c <= 'F')
                *c = (char)(*c - 'A' + 'a');
    }
    memset(who, 0, sizeof(*who));
    memcpy(who->customer, parts[1], 37);
    memcpy(who->security_group, parts[2], 37);
    memcpy(who->user, parts[3], 37);
    if (n == 5 && strcmp(parts[4], "canvasser") == 0)
        who->role = WBS_ROLE_CANVASSER;
    else if (n == 5 && strcmp(parts[4], "admin") != 0) {
        snprintf(err, errlen, "%s: ROLE must be admin or canvasser", what);
        goto fail;
    }
    *value = wb__strdup(parts[0]);
    sodium_memzero(buf, sizeof(buf));
    if (!*value) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
fail: /* the buffer held the token */
    sodium_memzero(buf, sizeof(buf));
    return -1;
}

static int wbs_auth__add(wbs_auth *a, const char *spec, int kind, const char *what, char *err,
                         size_t errlen)
{
    wbs_principal who;
    char *value = NULL;
    int rc;

    if (wbs_auth__parse_spec(&value, &who, spec, what, err, errlen) < 0)
        return -1;
    pthread_mutex_lock(&a->lock);
    rc = wbs_auth__append(a, value, kind, 0, &who);
    pthread_mutex_unlock(&a->lock);
    if (rc < 0) {
        wb__free(value);
        snprintf(err, errlen, "out of memory");
    }
    return rc;
}

int wbs_auth_add_token(wbs_auth *a, const char *spec, char *err, size_t errlen)
{
    return wbs_auth__add(a, spec, WBS_TOKEN_STATIC, "--token", err, errlen);
}

int wbs_auth_add_code(wbs_auth *a, const char *spec, char *err, size_t errlen)
{
    return wbs_auth__add(a, spec, WBS_TOKEN_CODE, "--auth-code", err, errlen);
}

/* One line of a token file, without its end of line: blank and comment
 * lines are skipped, surrounding blanks trimmed. 0 or -1 with err set. */
static int wbs_auth__file_line(wbs_auth *a, char *line, const char *path, unsigned long n,
                               char *err, size_t errlen)
{
    char what[300];
    size_t len;

    while (*line == ' ' || *line == '\t')
        line++;
    len = strlen(line);
    while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
        line[--len] = '\0';
    if (!len || *line == '#')
        return 0;
    /* The path is shortened, never the line number. */
    snprintf(what, sizeof(what), "--token-file %.200s line %lu", path, n);
    return wbs_auth__add(a, line, WBS_TOKEN_STATIC, what, err, errlen);
}

int wbs_auth_add_token_file(wbs_auth *a, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL, line[WBS_AUTH_MAX_LINE + 1];
    size_t len = 0, at = 0;
    unsigned long n = 0;
    int rc = -1;

    if (!f) {
        snprintf(err, errlen, "--token-file %.200s: cannot open it", path);
        return -1;
    }
    if (!(text = wb__malloc(WBS_AUTH_MAX_FILE + 1))) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    len = fread(text, 1, WBS_AUTH_MAX_FILE + 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "--token-file %.200s: read error", path);
        goto cleanup;
    }
    if (len > WBS_AUTH_MAX_FILE) {
        snprintf(err, errlen, "--token-file %.200s: over 1 MiB", path);
        goto cleanup;
    }
    while (at < len) {
        const char *end = memchr(text + at, '\n', len - at);
        size_t l = end ? (size_t)(end - (text + at)) : len - at;
        n++;
        if (l > WBS_AUTH_MAX_LINE) {
            snprintf(err, errlen, "--token-file %.200s line %lu: longer than %d bytes", path, n,
                     WBS_AUTH_MAX_LINE);
            goto cleanup;
        }
        if (memchr(text + at, '\0', l)) {
            snprintf(err, errlen, "--token-file %.200s line %lu: contains a NUL byte", path, n);
            goto cleanup;
        }
        memcpy(line, text + at, l);
        line[l] = '\0';
        at += l + 1;
        if (wbs_auth__file_line(a, line, path, n, err, errlen) < 0)
            goto cleanup;
    }
    rc = 0;
cleanup:
    sodium_memzero(line, sizeof(line));
    if (text) {
        sodium_memzero(text, len);
        wb__free(text);
    }
    fclose(f);
    return rc;
}

int wbs_auth_check(wbs_auth *a, const char *header, wbs_principal *out)
{
    int64_t now = wb_time__now_ms();
    long i;

    if (!header || strncasecmp(header, "Bearer ", 7) != 0)
        return -1;
    header += 7;
    while (*header == ' ')
        header++;
    if (!*header)
        return -1;
    pthread_mutex_lock(&a->lock);
    i = wbs_auth__find(a, header, WBS_TOKEN_STATIC, now);
    if (i < 0)
        i = wbs_auth__find(a, header, WBS_TOKEN_ACCESS, now);
    if (i >= 0)
        *out = a->tokens[i].who;
    pthread_mutex_unlock(&a->lock);
    return i >= 0 ? 0 : -1;
}

static char *wbs_auth__random_token(void)
{
    unsigned char raw[32];
    char text[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(text, sizeof(text), raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
    return wb__strdup(text);
}

static void wbs_auth__oauth_error(wbs_response *res, const char *code)
{
    wb_buf b = WB_BUF_INIT;
    wb_buf__puts(&b, "{\"error\":");
    wb_buf__put_json_string(&b, code);
    wb_buf__putc(&b, '}');
    wbs_respond_text(res, 400, wb_buf__detach(&b));
    wb_buf__free(&b);
    wbs_response_header(res, "Cache-Control", "no-store");
}

/* Issue an access and a refresh token for who (lock held) and answer. */
static void wbs_auth__issue(wbs_response *res, wbs_auth *a, const wbs_principal *who)
{
    char *access = wbs_auth__random_token(), *refresh = wbs_auth__random_token();
    int64_t now = wb_time__now_ms();
    wb_buf b = WB_BUF_INIT;

    if (!access || !refresh ||
        wbs_auth__append(a, access, WBS_TOKEN_ACCESS,
                         a->lifetime_s ? now + (int64_t)a->lifetime_s * 1000 : 0, who) < 0) {
        wb__free(access);
        wb__free(refresh);
        wbs_respond_error(res, 500, "ServerError", "cannot issue a token");
        return;
    }
    wb_buf__puts(&b, "{\"token_type\":\"bearer\",\"access_token\":");
    wb_buf__put_json_string(&b, access);
    if (wbs_auth__append(a, refresh, WBS_TOKEN_REFRESH, 0, who) == 0) {
        wb_buf__puts(&b, ",\"refresh_token\":");
        wb_buf__put_json_string(&b, refresh);
    } else {
        wb__free(refresh);
    }
    if (a->lifetime_s)
        wb_buf__printf(&b, ",\"expires_in\":%ld", a->lifetime_s);
    wb_buf__putc(&b, '}');
    wbs_respond_text(res, 200, wb_buf__detach(&b));
    wb_buf__free(&b);
    wbs_response_header(res, "Cache-Control", "no-store");
}

static void wbs_auth__token_route(wbs_response *res, wbs_request *req, void *userdata)
{
    wbs_auth *a = userdata;
    cJSON *body = NULL;
    const cJSON *grant, *value;
    int kind;
    long i;

    if (wb_json__parse(&body, req->body, req->body_len, NULL, "body") < 0 ||
        !cJSON_IsObject(body)) {
        wbs_auth__oauth_error(res, "invalid_request");
        goto cleanup;
    }
    grant = wb_json__get(body, "grant_type");
    if (!cJSON_IsString(grant)) {
        wbs_auth__oauth_error(res, "invalid_request");
        goto cleanup;
    }
    if (strcmp(grant->valuestring, "authorization_code") == 0) {
        kind = WBS_TOKEN_CODE;
        value = wb_json__get(body, "code");
    } else if (strcmp(grant->valuestring, "refresh_token") == 0) {
        kind = WBS_TOKEN_REFRESH;
        value = wb_json__get(body, "refresh_token");
    } else {
        wbs_auth__oauth_error(res, "unsupported_grant_type");
        goto cleanup;
    }
    if (!cJSON_IsString(value)) {
        wbs_auth__oauth_error(res, "invalid_request");
        goto cleanup;
    }
    pthread_mutex_lock(&a->lock);
    i = wbs_auth__find(a, value->valuestring, kind, wb_time__now_ms());
    if (i < 0) {
        wbs_auth__oauth_error(res, "invalid_grant");
    } else {
        wbs_principal who = a->tokens[i].who;
        if (kind == WBS_TOKEN_REFRESH) { /* single use: expire it now */
            a->tokens[i].expires_ms = 1;
            wbs_auth__prune(a, wb_time__now_ms());
        }
        wbs_auth__issue(res, a, &who);
    }
    pthread_mutex_unlock(&a->lock);
cleanup:
    cJSON_Delete(body);
}

int wbs_auth_routes(wbs_http *h, wbs_auth *a)
{
    return wbs_http_route(h, "POST", "/auth/oauth2/token", WBS_ROUTE_PUBLIC,
                          wbs_auth__token_route, a);
}

int wbs_auth_expire(wbs_auth *a, const char *token)
{
    size_t len = strlen(token);
    int64_t now = wb_time__now_ms();
    int found = 0;

    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < a->n; i++) {
        wbs_token *t = &a->tokens[i];
        if (strlen(t->value) != len || sodium_memcmp(t->value, token, len) != 0 ||
            (t->expires_ms && t->expires_ms <= now))
            continue;
        t->expires_ms = 1; /* in the past: refused from now on, pruned later */
        found = 1;
    }
    pthread_mutex_unlock(&a->lock);
    return found ? 0 : -1;
}
