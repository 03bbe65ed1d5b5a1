/*
 * json.c - the strict JSON layer: an RFC 8259 validator in front of cJSON,
 * duplicate-member detection, a compact printer, deep equality.
 *
 * cJSON's parser accepts trailing bytes, leading BOMs, lone surrogates and
 * other things RFC 8259 forbids, and it cannot report where a problem is.
 * So parsing is two steps: a single non-recursive pass over the exact byte
 * range decides whether the text is valid JSON within the limits, and only
 * then does cJSON build the tree. Duplicate member names and numbers that
 * overflow a double are found on the tree afterwards; their byte offsets are
 * recovered by rescanning the (already validated) text, which only happens
 * on the error path.
 *
 * Numbers are stored as doubles (cJSON's representation): integers beyond
 * 2^53 lose precision, and numbers whose magnitude overflows a double are
 * refused. A "\u0000" escape is accepted but, cJSON strings being C
 * strings, the value ends at that character.
 */
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* cJSON refuses deeper nesting itself, so a larger configured limit could
 * never be honoured; it also bounds the validator's container stack. */
#define WB_JSON__DEPTH_CAP CJSON_NESTING_LIMIT

/* Objects with more members than this are checked for duplicates (and
 * compared) by sorting pointers to the names instead of pairwise. */
#define WB_JSON__SMALL_OBJECT 16

typedef struct wb_json__validator {
    const unsigned char *p;
    size_t len;
    size_t pos;
    int max_depth;
    const char *what;
} wb_json__validator;

static int wb_json__fail(const wb_json__validator *v, size_t at, const char *problem)
{
    return wb_error__set(WB_EINVALID, WB_ERRCLASS_JSON, "%s: %s at byte %zu", v->what, problem,
                         at);
}

static int wb_json__fail_unexpected(const wb_json__validator *v, size_t at)
{
    unsigned char c;
    if (at >= v->len)
        return wb_json__fail(v, at, "unexpected end of input");
    c = v->p[at];
    if (c > 0x20 && c < 0x7f)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_JSON,
                             "%s: unexpected character '%c' at byte %zu", v->what, (char)c, at);
    return wb_error__set(WB_EINVALID, WB_ERRCLASS_JSON,
                         "%s: unexpected byte 0x%02x at byte %zu", v->what, (unsigned)c, at);
}

static void wb_json__skip_ws(wb_json__validator *v)
{
    while (v->pos < v->len) {
        unsigned char c = v->p[v->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        v->pos++;
    }
}

static int wb_json__hex4(const wb_json__validator *v, size_t at, unsigned *out)
{
    unsigned u = 0;
    if (v->len - at < 4)
        return wb_json__fail(v, at, "truncated \\u escape");
    for (size_t i = 0; i < 4; i++) {
        unsigned char c = v->p[at + i];
        u <<= 4;
        if (c >= '0' && c <= '9')
            u |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            u |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            u |= (unsigned)(c - 'A' + 10);
        else
            return wb_json__fail(v, at + i, "invalid hex digit in \\u escape");
    }
    *out = u;
    return 0;
}

/* Length of the UTF-8 sequence starting at s (at most n bytes available),
 * or 0 when it is not well-formed per Unicode table 3-7: this refuses
 * overlong forms, UTF-8-encoded surrogates, code points above U+10FFFF and
 * truncated sequences. */
static size_t wb_json__utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t need;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (n < need)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return need;
}

/* Whether one of the 8 bytes of x needs a look in a string: a control
 * character, a non-ASCII byte, a quote or a backslash. The zero-byte tests
 * ("Bit Twiddling Hacks", haszero and hasless) are exact as a whole. */
#define WB_JSON__ONES 0x0101010101010101ull
#define WB_JSON__HIGHS 0x8080808080808080ull
#define WB_JSON__HASZERO(x) (((x)-WB_JSON__ONES) & ~(x)&WB_JSON__HIGHS)
static uint64_t wb_json__word_special(uint64_t x)
{
    return (((x)-WB_JSON__ONES * 0x20) & ~(x)&WB_JSON__HIGHS) |
           WB_JSON__HASZERO(x ^ (WB_JSON__ONES * '"')) |
           WB_JSON__HASZERO(x ^ (WB_JSON__ONES * '\\')) | (x & WB_JSON__HIGHS);
}

/* v->pos is on the opening quote; leaves it after the closing one. */
static int wb_json__string(wb_json__validator *v)
{
    const unsigned char *p = v->p;
    size_t i = v->pos + 1, len = v->len;
    for (;;) {
        unsigned char c;
        /* Plain ASCII, most of a string: 8 bytes at a time while none of
         * them needs a look, then byte by byte up to the one that does. */
        while (len - i >= 8) {
            uint64_t x;
            memcpy(&x, p + i, sizeof(x));
            if (wb_json__word_special(x))
                break;
            i += 8;
        }
        while (i < len && (c = p[i]) >= 0x20 && c < 0x80 && c != '"' && c != '\\')
            i++;
        if (i >= v->len)
            return wb_json__fail(v, i, "unterminated string");
        c = v->p[i];
        if (c == '"')
            break;
        if (c < 0x20)
            return wb_json__fail(v, i, "unescaped control character in string");
        if (c == '\\') {
            unsigned u, u2;
            if (i + 1 >= v->len)
                return wb_json__fail(v, i + 1, "unterminated string");
            c = v->p[i + 1];
            if (c != 'u') {
                if (!strchr("\"\\/bfnrt", c) || c == '\0')
                    return wb_json__fail(v, i, "invalid escape in string");
                i += 2;
                continue;
            }
            if (wb_json__hex4(v, i + 2, &u) < 0)
                return WB_EINVALID;
            if (u >= 0xDC00 && u <= 0xDFFF)
                return wb_json__fail(v, i, "lone low surrogate escape in string");
            if (u >= 0xD800 && u <= 0xDBFF) {
                /* A high surrogate must be followed by an escaped low one. */
                if (v->len - (i + 6) < 2 || v->p[i + 6] != '\\' || v->p[i + 7] != 'u')
                    return wb_json__fail(v, i, "unpaired high surrogate escape in string");
                if (wb_json__hex4(v, i + 8, &u2) < 0)
                    return WB_EINVALID;
                if (u2 < 0xDC00 || u2 > 0xDFFF)
                    return wb_json__fail(v, i, "unpaired high surrogate escape in string");
                i += 12;
            } else
                i += 6;
            continue;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        {
            size_t n = wb_json__utf8_len(v->p + i, v->len - i);
            if (n == 0)
                return wb_json__fail(v, i, "invalid UTF-8 in string");
            i += n;
        }
    }
    v->pos = i + 1;
    return 0;
}

static int wb_json__is_digit(const wb_json__validator *v, size_t at)
{
    return at < v->len && v->p[at] >= '0' && v->p[at] <= '9';
}

/* Exactly RFC 8259's number: -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)? */
static int wb_json__number(wb_json__validator *v)
{
    size_t i = v->pos;
    if (v->p[i] == '-')
        i++;
    if (!wb_json__is_digit(v, i))
        return wb_json__fail(v, v->pos, "invalid number");
    if (v->p[i] == '0') {
        i++;
        if (wb_json__is_digit(v, i))
            return wb_json__fail(v, v->pos, "invalid number (leading zero)");
    } else
        while (wb_json__is_digit(v, i))
            i++;
    if (i < v->len && v->p[i] == '.') {
        i++;
        if (!wb_json__is_digit(v, i))
            return wb_json__fail(v, v->pos, "invalid number (no digit after '.')");
        while (wb_json__is_digit(v, i))
            i++;
    }
    if (i < v->len && (v->p[i] == 'e' || v->p[i] == 'E')) {
        i++;
        if (i < v->len && (v->p[i] == '+' || v->p[i] == '-'))
            i++;
        if (!wb_json__is_digit(v, i))
            return wb_json__fail(v, v->pos, "invalid number (no digit in exponent)");
        while (wb_json__is_digit(v, i))
            i++;
    }
    v->pos = i;
    return 0;
}

static int wb_json__literal(wb_json__validator *v, const char *word)
{
    size_t n = strlen(word);
    if (v->len - v->pos < n || memcmp(v->p + v->pos, word, n) != 0)
        return wb_json__fail_unexpected(v, v->pos);
    v->pos += n;
    return 0;
}

/* The whole grammar without recursion: the open containers are a bit stack
 * (1 = object), so hostile nesting costs nothing but the depth check. */
static int wb_json__validate(wb_json__validator *v)
{
    unsigned char stack[(WB_JSON__DEPTH_CAP + 8) / 8] = {0};
    int depth = 0;
    int error;

    wb_json__skip_ws(v);
value:
    if (v->pos >= v->len)
        return wb_json__fail_unexpected(v, v->pos);
    switch (v->p[v->pos]) {
    case '{':
    case '[': {
        int is_object = v->p[v->pos] == '{';
        if (depth >= v->max_depth)
            return wb_error__set(WB_ETOOBIG, WB_ERRCLASS_JSON,
                                 "%s: nesting deeper than %d at byte %zu", v->what, v->max_depth,
                                 v->pos);
        if (is_object)
            stack[depth / 8] |= (unsigned char)(1u << (depth % 8));
        else
            stack[depth / 8] &= (unsigned char)~(1u << (depth % 8));
        depth++;
        v->pos++;
        wb_json__skip_ws(v);
        if (v->pos < v->len && v->p[v->pos] == (is_object ? '}' : ']')) {
            v->pos++;
            depth--;
            goto after_value;
        }
        if (is_object)
            goto member;
        goto value;
    }
    case '"':
        error = wb_json__string(v);
        break;
    case 't':
        error = wb_json__literal(v, "true");
        break;
    case 'f':
        error = wb_json__literal(v, "false");
        break;
    case 'n':
        error = wb_json__literal(v, "null");
        break;
    default:
        if (v->p[v->pos] == '-' || (v->p[v->pos] >= '0' && v->p[v->pos] <= '9'))
            error = wb_json__number(v);
        else
            error = wb_json__fail_unexpected(v, v->pos);
    }
    if (error < 0)
        return error;

after_value:
    wb_json__skip_ws(v);
    if (depth == 0) {
        if (v->pos != v->len)
            return wb_json__fail(v, v->pos, "unexpected bytes after the value");
        return 0;
    }
    if (v->pos >= v->len)
        return wb_json__fail_unexpected(v, v->pos);
    {
        int in_object = (stack[(depth - 1) / 8] >> ((depth - 1) % 8)) & 1;
        unsigned char c = v->p[v->pos];
        if (c == ',') {
            v->pos++;
            wb_json__skip_ws(v);
            if (in_object)
                goto member;
            goto value;
        }
        if (c == (in_object ? '}' : ']')) {
            v->pos++;
            depth--;
            goto after_value;
        }
        return wb_json__fail(v, v->pos,
                             in_object ? "expected ',' or '}'" : "expected ',' or ']'");
    }

member:
    if (v->pos >= v->len || v->p[v->pos] != '"') {
        if (v->pos >= v->len)
            return wb_json__fail_unexpected(v, v->pos);
        return wb_json__fail(v, v->pos, "expected a member name");
    }
    if ((error = wb_json__string(v)) < 0)
        return error;
    wb_json__skip_ws(v);
    if (v->pos >= v->len || v->p[v->pos] != ':')
        return wb_json__fail(v, v->pos, "expected ':' after the member name");
    v->pos++;
    wb_json__skip_ws(v);
    goto value;
}

/* ---- checks on the built tree ------------------------------------------ */

typedef struct wb_json__named {
    const char *name;
    size_t index;
} wb_json__named;

static int wb_json__named_cmp(const void *a, const void *b)
{
    const wb_json__named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Index (in member order) of the earliest member whose name already occurred
 * in obj, or -1. Sets *oom when the sort buffer could not be allocated. */
static long wb_json__find_duplicate(const cJSON *obj, int *oom)
{
    size_t n = 0, i;
    const cJSON *m;
    wb_json__named *names;
    long found = -1;

    for (m = obj->child; m; m = m->next)
        n++;
    if (n <= WB_JSON__SMALL_OBJECT) {
        i = 0;
        for (m = obj->child; m; m = m->next, i++)
            for (const cJSON *e = obj->child; e != m; e = e->next)
                if (strcmp(e->string, m->string) == 0)
                    return (long)i;
        return -1;
    }
    names = wb__malloc(n * sizeof(*names));
    if (!names) {
        *oom = 1;
        return -1;
    }
    i = 0;
    for (m = obj->child; m; m = m->next, i++) {
        names[i].name = m->string;
        names[i].index = i;
    }
    qsort(names, n, sizeof(*names), wb_json__named_cmp);
    /* Sorted by (name, index): in a run of equal names every entry after the
     * first is a repeat; report the one that comes first in the text. */
    for (i = 1; i < n; i++)
        if (strcmp(names[i - 1].name, names[i].name) == 0 &&
            (found < 0 || names[i].index < (size_t)found))
            found = (long)names[i].index;
    wb__free(names);
    return found;
}


typedef struct wb_json__problem {
    const cJSON *item; /* the repeated member, or the out-of-range number */
    int kind;          /* 0 none, 1 duplicate, 2 number out of range, 3 oom */
} wb_json__problem;

/* Pre-order walk; its depth is bounded by the validator's limit. */
static int wb_json__check_tree(const cJSON *item, wb_json__problem *pr)
{
    if (cJSON_IsNumber(item) && !isfinite(item->valuedouble)) {
        pr->item = item;
        pr->kind = 2;
        return 1;
    }
    if (cJSON_IsObject(item)) {
        int oom = 0;
        long dup = wb_json__find_duplicate(item, &oom);
        if (oom) {
            pr->kind = 3;
            return 1;
        }
        if (dup >= 0) {
            const cJSON *m = item->child;
            while (dup-- > 0)
                m = m->next;
            pr->item = m;
            pr->kind = 1;
            return 1;
        }
    }
    if (cJSON_IsObject(item) || cJSON_IsArray(item))
        for (const cJSON *c = item->child; c; c = c->next)
            if (wb_json__check_tree(c, pr))
                return 1;
    return 0;
}

/* Pre-order index of target below item; 1 when found. */
static int wb_json__preorder_index(const cJSON *item, const cJSON *target, size_t *index)
{
    if (item == target)
        return 1;
    (*index)++;
    if (cJSON_IsObject(item) || cJSON_IsArray(item))
        for (const cJSON *c = item->child; c; c = c->next)
            if (wb_json__preorder_index(c, target, index))
                return 1;
    return 0;
}

static int wb_json__is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Byte offset of the k-th value (pre-order, as cJSON builds the tree) of
 * validated text, and of the member name just before it. Error path only. */
static void wb_json__locate(const unsigned char *p, size_t len, size_t k, size_t *value_at,
                            size_t *key_at)
{
    size_t i = 0, n = 0, key = 0;
    *value_at = *key_at = 0;
    while (i < len) {
        unsigned char c = p[i];
        if (c == '"') {
            size_t start = i, t;
            i++;
            while (i < len && p[i] != '"')
                i += p[i] == '\\' ? 2 : 1;
            i++;
            for (t = i; t < len && wb_json__is_ws(p[t]); t++)
                ;
            if (t < len && p[t] == ':') {
                key = start;
                i = t + 1;
                continue;
            }
            if (n++ == k) {
                *value_at = start;
                *key_at = key;
                return;
            }
            continue;
        }
        if (c == '{' || c == '[' || c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' ||
            c == 'n') {
            if (n++ == k) {
                *value_at = i;
                *key_at = key;
                return;
            }
            if (c == '{' || c == '[') {
                i++;
                continue;
            }
            while (i < len && p[i] != ',' && p[i] != ']' && p[i] != '}' && !wb_json__is_ws(p[i]))
                i++;
            continue;
        }
        i++;
    }
}

/* A member name for a message: at most 64 bytes, cut on a UTF-8 boundary. */
static int wb_json__name_len(const char *name)
{
    size_t n = strlen(name);
    if (n <= 64)
        return (int)n;
    n = 64;
    while (n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80)
        n--;
    return (int)n;
}

int wb_json__check(const char *text, size_t len, const wb_json_limits *limits, const char *what)
{
    wb_json__validator v;
    size_t max_bytes = limits && limits->max_bytes ? limits->max_bytes : WB_JSON_DEFAULT_MAX_BYTES;
    const char *nul;
    int error;

    if (!what)
        what = "json";
    if (!text && len)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "invalid argument: %s text",
                             what);
    if ((error = wb__global_init()) < 0)
        return error;
    if (len > max_bytes)
        return wb_error__set(WB_ETOOBIG, WB_ERRCLASS_JSON,
                             "%s: longer than the limit of %zu bytes at byte %zu", what, max_bytes,
                             max_bytes);
    /* cJSON works on C strings: a NUL inside the range would silently end
     * the text for it, so refuse it before anything else. */
    if (len && (nul = memchr(text, '\0', len)) != NULL)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_JSON, "%s: NUL byte at byte %zu", what,
                             (size_t)(nul - text));

    v.p = (const unsigned char *)text;
    v.len = len;
    v.pos = 0;
    v.what = what;
    v.max_depth = limits && limits->max_depth > 0 ? limits->max_depth : WB_JSON_DEFAULT_MAX_DEPTH;
    if (v.max_depth > WB_JSON__DEPTH_CAP)
        v.max_depth = WB_JSON__DEPTH_CAP;
    return wb_json__validate(&v);
}

int wb_json__parse_checked(cJSON **out, const char *text, size_t len, const char *what)
{
    wb_json__problem pr = {NULL, 0};
    cJSON *root = NULL;
    int error = 0;

    if (!out)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "invalid argument: out");
    *out = NULL;
    if (!what)
        what = "json";
    if ((error = wb__global_init()) < 0)
        return error;
    /* The text is valid, so cJSON failing can only mean out of memory. */
    root = cJSON_ParseWithLength(text, len);
    if (!root)
        return wb_error__oom();

    if (wb_json__check_tree(root, &pr)) {
        size_t index = 0, value_at, key_at;
        if (pr.kind == 3) {
            error = wb_error__oom();
            goto cleanup;
        }
        wb_json__preorder_index(root, pr.item, &index);
        wb_json__locate((const unsigned char *)text, len, index, &value_at, &key_at);
        if (pr.kind == 1)
            error = wb_error__set(WB_EINVALID, WB_ERRCLASS_JSON,
                                  "%s: duplicate member \"%.*s\" at byte %zu", what,
                                  wb_json__name_len(pr.item->string), pr.item->string, key_at);
        else
            error = wb_error__set(WB_EINVALID, WB_ERRCLASS_JSON,
                                  "%s: number out of range at byte %zu", what, value_at);
        goto cleanup;
    }
    *out = root;
    root = NULL;
cleanup:
    cJSON_Delete(root);
    return error;
}

int wb_json__parse(cJSON **out, const char *text, size_t len, const wb_json_limits *limits,
                   const char *what)
{
    int error;
    if (!out)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "invalid argument: out");
    *out = NULL;
    if ((error = wb_json__check(text, len, limits, what)) < 0)
        return error;
    return wb_json__parse_checked(out, text, len, what);
}

/* ---- reading checked text ------------------------------------------------ */

const char *wb_json__skip_ws_text(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

const char *wb_json__skip_string_text(const char *p, const char *end)
{
    const char *start = p + 1, *q = start;
    for (;;) {
        const char *b;
        if (q >= end || !(q = memchr(q, '"', (size_t)(end - q))))
            return NULL;
        for (b = q; b > start && b[-1] == '\\'; b--)
            ;
        if (((q - b) & 1) == 0)
            return q + 1;
        q++;
    }
}

const char *wb_json__skip_value_text(const char *p, const char *end)
{
    int depth = 0;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            if (!(p = wb_json__skip_string_text(p, end)))
                return NULL;
            if (depth == 0)
                return p;
        } else if (c == '{' || c == '[') {
            if (++depth > WB_JSON_DEFAULT_MAX_DEPTH)
                return NULL;
            p++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return p; /* ends the enclosing container: a scalar before it */
            p++;
            if (--depth == 0)
                return p;
        } else if (depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
            return p;
        } else {
            p++;
        }
    }
    return depth == 0 ? p : NULL;
}

int wb_json__members(wb_json_member *out, size_t max, const char *text, size_t len)
{
    const char *end = text + len, *p = wb_json__skip_ws_text(text, end);
    size_t n = 0;
    if (p == end || *p != '{')
        return -1;
    p = wb_json__skip_ws_text(p + 1, end);
    while (p < end && *p == '"') {
        const char *name = p + 1, *q = wb_json__skip_string_text(p, end), *v;
        if (!q || n == max || n > INT32_MAX)
            return -1;
        out[n].name = name;
        out[n].name_len = (size_t)(q - 1 - name);
        p = wb_json__skip_ws_text(q, end);
        v = wb_json__skip_ws_text(p + 1, end); /* past ':' */
        if (!(p = wb_json__skip_value_text(v, end)))
            return -1;
        out[n].value = v;
        out[n].value_len = (size_t)(p - v);
        n++;
        p = wb_json__skip_ws_text(p, end);
        if (p < end && *p == ',')
            p = wb_json__skip_ws_text(p + 1, end);
    }
    return (int)n;
}

/* ---- printing ----------------------------------------------------------- */

/* The digits of v / 10^places as wb_json__digits gives them. v > 0. */
static size_t wb_json__scaled_digits(char digits[24], int *n, uint64_t v, int places)
{
    char rev[20];
    int m = 0;
    size_t k = 0;
    while (v) {
        rev[m++] = (char)('0' + (int)(v % 10));
        v /= 10;
    }
    *n = m - places;
    while (m > 0)
        digits[k++] = rev[--m];
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = '\0';
    return k;
}

/* Shortest decimal digits of d (no sign, no trailing zeros) and the
 * exponent n such that d = 0.DIGITS * 10^n, as ECMAScript Number#toString
 * defines them (§7.1.12.1). */
static size_t wb_json__digits(char digits[24], int *n, double d)
{
    char tmp[48];
    int p, exp10 = 0;
    size_t k = 0;
    const char *s;

    /* An integer below 2^53 is exact: its own digits are the shortest. */
    if (d < 9007199254740992.0 && d == floor(d))
        return wb_json__scaled_digits(digits, n, (uint64_t)d, 0);
    /* A decimal of at most 15 significant digits with k places: m / 10^k,
     * m an integer. Division is correctly rounded, so when m / 10^k gives
     * d, the decimal reads back as d; and for a normal double at most one
     * decimal of 15 or fewer digits does (DBL_DIG), so the first k that
     * works gives the shortest digits (a later k could only give the same
     * decimal with zeros after it). When d * 10^k misses m by rounding,
     * no k works here and the search below decides. Coordinates, distances
     * and other values with a few decimals end here, a few multiplications
     * each instead of a snprintf and a strtod or more. */
    if (d >= DBL_MIN) {
        static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21,
                                       1e22};
        for (int places = 1; places < (int)(sizeof(pow10) / sizeof(pow10[0])); places++) {
            double t = d * pow10[places];
            if (t >= 1e15)
                break;
            if (t == floor(t) && t / pow10[places] == d)
                return wb_json__scaled_digits(digits, n, (uint64_t)t, places);
        }
    }
    /* The shortest form has the fewest digits p whose rounding reads back
     * as d. For a normal double, a decimal of 15 or fewer significant
     * digits survives the trip to the nearest double and back to 15 digits
     * (DBL_DIG), so if some p <= 15 reads back, the 15-digit rounding is
     * that one with zeros after it, and it reads back too; if it does not,
     * p is 16 or 17. One to three tries instead of up to seventeen (each a
     * snprintf and a strtod: most of the cost of printing a record's
     * coordinates). Subnormal doubles are sparser than 15 digits, so they
     * take every p in turn. */
    p = d >= DBL_MIN ? 15 : 1;
    for (; p <= 17; p++) {
        snprintf(tmp, sizeof(tmp), "%.*e", p - 1, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    /* tmp is "D[<point>DDD]e±XX"; the point depends on the locale, so it
     * is skipped by position rather than by value. */
    s = tmp;
    digits[k++] = *s++;
    if (*s != 'e')
        s++;
    while (*s >= '0' && *s <= '9' && k < 20)
        digits[k++] = *s++;
    if (*s == 'e')
        exp10 = atoi(s + 1);
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = '\0';
    *n = exp10 + 1;
    return k;
}

void wb_json__format_number(char out[WB_JSON_NUMBER_MAX], double d)
{
    char digits[24];
    size_t k, o = 0;
    int n, i;

    if (!isfinite(d)) {
        strcpy(out, "null");
        return;
    }
    if (d == 0) {
        strcpy(out, "0"); /* -0 too, as in JavaScript */
        return;
    }
    if (d < 0) {
        out[o++] = '-';
        d = -d;
    }
    k = wb_json__digits(digits, &n, d);
    if ((int)k <= n && n <= 21) {
        memcpy(out + o, digits, k);
        o += k;
        for (i = (int)k; i < n; i++)
            out[o++] = '0';
    } else if (0 < n && n <= 21) {
        memcpy(out + o, digits, (size_t)n);
        o += (size_t)n;
        out[o++] = '.';
        memcpy(out + o, digits + n, k - (size_t)n);
        o += k - (size_t)n;
    } else if (-6 < n && n <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (i = 0; i < -n; i++)
            out[o++] = '0';
        memcpy(out + o, digits, k);
        o += k;
    } else {
        out[o++] = digits[0];
        if (k > 1) {
            out[o++] = '.';
            memcpy(out + o, digits + 1, k - 1);
            o += k - 1;
        }
        o += (size_t)snprintf(out + o, WB_JSON_NUMBER_MAX - o, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
    }
    out[o] = '\0';
}

static void wb_json__put_number(wb_buf *b, double d)
{
    char tmp[WB_JSON_NUMBER_MAX];
    wb_json__format_number(tmp, d);
    wb_buf__puts(b, tmp);
}

static void wb_json__put_item(wb_buf *b, const cJSON *item)
{
    const cJSON *c;
    switch (item->type & 0xFF) {
    case cJSON_False: wb_buf__puts(b, "false"); break;
    case cJSON_True: wb_buf__puts(b, "true"); break;
    case cJSON_Number: wb_json__put_number(b, item->valuedouble); break;
    case cJSON_String: wb_buf__put_json_string(b, item->valuestring ? item->valuestring : ""); break;
    case cJSON_Raw: wb_buf__puts(b, item->valuestring ? item->valuestring : "null"); break;
    case cJSON_Array:
        wb_buf__putc(b, '[');
        for (c = item->child; c && !b->oom; c = c->next) {
            if (c != item->child)
                wb_buf__putc(b, ',');
            wb_json__put_item(b, c);
        }
        wb_buf__putc(b, ']');
        break;
    case cJSON_Object:
        wb_buf__putc(b, '{');
        for (c = item->child; c && !b->oom; c = c->next) {
            if (c != item->child)
                wb_buf__putc(b, ',');
            wb_buf__put_json_string(b, c->string ? c->string : "");
            wb_buf__putc(b, ':');
            wb_json__put_item(b, c);
        }
        wb_buf__putc(b, '}');
        break;
    default: wb_buf__puts(b, "null"); break;
    }
}

int wb_json__print_buf(wb_buf *b, const cJSON *item)
{
    if (!b || !item)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "invalid argument: %s",
                             b ? "item" : "b");
    wb_json__put_item(b, item);
    return b->oom ? wb_error__oom() : 0;
}

char *wb_json__print(const cJSON *item)
{
    wb_buf b = WB_BUF_INIT;
    char *s;
    if (wb__global_init() < 0)
        return NULL;
    if (wb_json__print_buf(&b, item) < 0) {
        wb_buf__free(&b);
        return NULL;
    }
    s = wb_buf__detach(&b);
    if (!s)
        wb_error__oom();
    return s;
}

/* ---- equality, lookup, copy --------------------------------------------- */

static int wb_json__name_ptr_cmp(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    return strcmp(x->string ? x->string : "", y->string ? y->string : "");
}

static int wb_json__equal_objects(const cJSON *a, const cJSON *b)
{
    size_t na = 0, nb = 0, i;
    const cJSON *m, **sa = NULL, **sb = NULL;
    int equal = 1;

    for (m = a->child; m; m = m->next)
        na++;
    for (m = b->child; m; m = m->next)
        nb++;
    if (na != nb)
        return 0;
    if (na > WB_JSON__SMALL_OBJECT) {
        sa = wb__malloc(na * sizeof(*sa));
        sb = wb__malloc(nb * sizeof(*sb));
    }
    if (!sa || !sb) {
        /* Small object, or no memory for the sort: pairwise lookups. */
        wb__free(sa);
        wb__free(sb);
        for (m = a->child; m; m = m->next) {
            const cJSON *other = m->string ? wb_json__get(b, m->string) : NULL;
            if (!other || !wb_json__equal(m, other))
                return 0;
        }
        return 1;
    }
    i = 0;
    for (m = a->child; m; m = m->next)
        sa[i++] = m;
    i = 0;
    for (m = b->child; m; m = m->next)
        sb[i++] = m;
    qsort(sa, na, sizeof(*sa), wb_json__name_ptr_cmp);
    qsort(sb, nb, sizeof(*sb), wb_json__name_ptr_cmp);
    for (i = 0; i < na && equal; i++)
        equal = wb_json__name_ptr_cmp(&sa[i], &sb[i]) == 0 && wb_json__equal(sa[i], sb[i]);
    wb__free(sa);
    wb__free(sb);
    return equal;
}

int wb_json__equal(const cJSON *a, const cJSON *b)
{
    const cJSON *x, *y;
    if (!a || !b)
        return a == b;
    if ((a->type & 0xFF) != (b->type & 0xFF))
        return 0;
    switch (a->type & 0xFF) {
    case cJSON_False:
    case cJSON_True:
    case cJSON_NULL: return 1;
    case cJSON_Number: return a->valuedouble == b->valuedouble;
    case cJSON_String:
    case cJSON_Raw:
        return strcmp(a->valuestring ? a->valuestring : "", b->valuestring ? b->valuestring : "") ==
               0;
    case cJSON_Array:
        for (x = a->child, y = b->child; x && y; x = x->next, y = y->next)
            if (!wb_json__equal(x, y))
                return 0;
        return !x && !y;
    case cJSON_Object: return wb_json__equal_objects(a, b);
    default: return 0;
    }
}

cJSON *wb_json__get(const cJSON *obj, const char *name)
{
    if (!cJSON_IsObject(obj) || !name)
        return NULL;
    return cJSON_GetObjectItemCaseSensitive(obj, name);
}

cJSON *wb_json__dup(const cJSON *item)
{
    cJSON *copy;
    if (!item) {
        wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "invalid argument: item");
        return NULL;
    }
    copy = cJSON_Duplicate(item, 1);
    if (!copy)
        wb_error__oom();
    return copy;
}

const char *wb_json__type_name(const cJSON *item)
{
    if (!item)
        return "nothing";
    switch (item->type & 0xFF) {
    case cJSON_False:
    case cJSON_True: return "boolean";
    case cJSON_NULL: return "null";
    case cJSON_Number: return "number";
    case cJSON_String: return "string";
    case cJSON_Array: return "array";
    case cJSON_Object: return "object";
    case cJSON_Raw: return "raw";
    default: return "invalid";
    }
}

/* ---- compact text ------------------------------------------------------- */

/* wb_json__is_compact keeps the member names of the open objects on one
 * stack, to find a repeated name without a tree. */
typedef struct wb_json__names {
    const char **name;
    size_t *len;
    size_t n, cap;
    const char *small_name[64];
    size_t small_len[64];
} wb_json__names;

static int wb_json__names_push(wb_json__names *ns, size_t base, const char *name, size_t len)
{
    for (size_t i = base; i < ns->n; i++)
        if (ns->len[i] == len && memcmp(ns->name[i], name, len) == 0)
            return 0; /* a duplicate: parse_checked refuses it */
    if (ns->n == ns->cap) {
        size_t cap = ns->cap * 2;
        const char **name2 = wb__malloc(cap * sizeof(*name2));
        size_t *len2 = wb__malloc(cap * sizeof(*len2));
        if (!name2 || !len2) {
            wb__free(name2);
            wb__free(len2);
            wb_error_clear();
            return 0; /* no memory: not compact, the caller parses */
        }
        memcpy(name2, ns->name, ns->n * sizeof(*name2));
        memcpy(len2, ns->len, ns->n * sizeof(*len2));
        if (ns->name != ns->small_name) {
            wb__free(ns->name);
            wb__free(ns->len);
        }
        ns->name = name2;
        ns->len = len2;
        ns->cap = cap;
    }
    ns->name[ns->n] = name;
    ns->len[ns->n] = len;
    ns->n++;
    return 1;
}

/* p at '"' of a string without escapes: past its closing quote, or NULL
 * when it holds a backslash (its printed form may differ). */
static const char *wb_json__compact_string(const char *p, const char *end)
{
    const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
    if (!q || memchr(p + 1, '\\', (size_t)(q - p - 1)))
        return NULL;
    return q + 1;
}

/* A number token as the printer writes what the parser reads of it. */
static int wb_json__compact_number(const char *p, size_t n)
{
    cJSON *num;
    size_t i = 0;
    int same;
    /* Integers of up to 15 digits read and print back exactly. */
    if (p[0] == '-')
        i++;
    if (n - i >= 1 && n - i <= 15 && (p[i] != '0' || n - i == 1) && !(i == 1 && p[1] == '0')) {
        size_t k = i;
        while (k < n && p[k] >= '0' && p[k] <= '9')
            k++;
        if (k == n)
            return 1;
    }
    /* Anything else through cJSON's own number reading, as the tree gets it. */
    if (!(num = cJSON_ParseWithLength(p, n))) {
        wb_error_clear();
        return 0;
    }
    same = cJSON_IsNumber(num) && isfinite(num->valuedouble);
    if (same) {
        char printed[WB_JSON_NUMBER_MAX];
        wb_json__format_number(printed, num->valuedouble);
        same = strlen(printed) == n && memcmp(printed, p, n) == 0;
    }
    cJSON_Delete(num);
    return same;
}

int wb_json__is_compact(const char *text, size_t len)
{
    /* Per open container: 1 object, 0 array, and where its names start. */
    unsigned char is_object[WB_JSON__DEPTH_CAP + 1];
    size_t base[WB_JSON__DEPTH_CAP + 1];
    wb_json__names ns;
    const char *p = text, *end = text + len;
    int depth = 0, ok = 0;

    ns.name = ns.small_name;
    ns.len = ns.small_len;
    ns.n = 0;
    ns.cap = 64;
    if (!text || len == 0)
        return 0;
value:
    if (p == end)
        goto done;
    switch (*p) {
    case '{':
    case '[':
        if (depth >= WB_JSON__DEPTH_CAP)
            goto done;
        is_object[depth] = *p == '{';
        base[depth] = ns.n;
        depth++;
        p++;
        if (p < end && *p == (is_object[depth - 1] ? '}' : ']')) {
            p++;
            depth--;
            goto next;
        }
        if (is_object[depth - 1])
            goto member;
        goto value;
    case '"':
        if (!(p = wb_json__compact_string(p, end)))
            goto done;
        goto next;
    case 't':
    case 'n':
        if (end - p < 4 || memcmp(p, *p == 't' ? "true" : "null", 4) != 0)
            goto done;
        p += 4;
        goto next;
    case 'f':
        if (end - p < 5 || memcmp(p, "false", 5) != 0)
            goto done;
        p += 5;
        goto next;
    default: {
        const char *q = p;
        while (q < end && ((*q >= '0' && *q <= '9') || *q == '-' || *q == '+' || *q == '.' ||
                           *q == 'e' || *q == 'E'))
            q++;
        if (q == p || !wb_json__compact_number(p, (size_t)(q - p)))
            goto done;
        p = q;
        goto next;
    }
    }
member: {
    const char *name = p, *q;
    if (p == end || *p != '"' || !(q = wb_json__compact_string(p, end)) || q == end || *q != ':' ||
        !wb_json__names_push(&ns, base[depth - 1], name + 1, (size_t)(q - 1 - (name + 1))))
        goto done;
    p = q + 1;
    goto value;
}
next:
    if (depth == 0) {
        ok = p == end;
        goto done;
    }
    if (p == end)
        goto done;
    if (*p == ',') {
        p++;
        if (is_object[depth - 1])
            goto member;
        goto value;
    }
    if (*p != (is_object[depth - 1] ? '}' : ']'))
        goto done;
    p++;
    depth--;
    ns.n = base[depth];
    goto next;
done:
    if (ns.name != ns.small_name) {
        wb__free(ns.name);
        wb__free(ns.len);
    }
    return ok;
}

int wb_json__compact_members(const char *obj, size_t len, const char *const *names, size_t n,
                             const char **v, size_t *v_len)
{
    const char *p = obj, *end = obj + len;
    size_t found = 0;
    for (size_t i = 0; i < n; i++)
        v[i] = NULL;
    if (len < 2 || *p != '{')
        return 0;
    p++;
    while (p < end && *p == '"' && found < n) {
        const char *key = p + 1, *q = memchr(key, '"', (size_t)(end - key)), *e;
        if (!q || q + 1 >= end || q[1] != ':' || !(e = wb_json__skip_value_text(q + 2, end)))
            break;
        for (size_t i = 0; i < n; i++)
            if (!v[i] && (size_t)(q - key) == strlen(names[i]) &&
                memcmp(key, names[i], (size_t)(q - key)) == 0) {
                v[i] = q + 2;
                v_len[i] = (size_t)(e - (q + 2));
                found++;
                break;
            }
        p = e;
        if (p < end && *p == ',')
            p++;
    }
    return (int)found;
}

int wb_json__compact_member(const char *obj, size_t len, const char *name, const char **v,
                            size_t *v_len)
{
    return wb_json__compact_members(obj, len, &name, 1, v, v_len) == 1;
}

int wb_json__compact_number_value(double *out, const char *p, size_t len)
{
    cJSON *num;
    if (len == 0 || !(*p == '-' || (*p >= '0' && *p <= '9')))
        return 0;
    if (!(num = cJSON_ParseWithLength(p, len))) {
        wb_error_clear();
        return 0;
    }
    *out = num->valuedouble;
    len = cJSON_IsNumber(num);
    cJSON_Delete(num);
    return (int)len;
}
