/*
 * query.c - the Polis list-query language: filter expressions (tokenizer and
 * recursive-descent parser), the bracket form, evaluation against cJSON
 * envelopes, and sort specifications. See query.h for the contract.
 *
 * Everything here is fed from the network, so every input is bounded before
 * it is looked at (length, nesting, term count) and every path through the
 * parser ends in either a tree or a one-line message; nothing aborts.
 */
#include "query.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WBS_FILTER_MAX_LEN 4096
#define WBS_FILTER_MAX_DEPTH 64
#define WBS_FILTER_MAX_TERMS 256
#define WBS_SORT_MAX_KEYS 16
#define WBS_SORT_MAX_VALUE 4096

/* ------------------------------------------------------------------------ */
/* Tree                                                                      */

enum op { OP_EQ, OP_NEQ, OP_GT, OP_GTE, OP_LT, OP_LTE, OP_LIKE, OP_IN, OP_NIN, OP_BETWEEN };

static const char *const op_names[] = {"eq",  "neq",  "gt", "gte", "lt",
                                       "lte", "like", "in", "nin", "between"};

enum operand_kind {
    ARG_VALUE, /* a literal held in `value` (for like: the pattern string) */
    ARG_LIST,  /* a cJSON array of literals in `value` */
    ARG_RANGE, /* a cJSON array [lo, hi] in `value` */
    ARG_PATH   /* another field, `rpath` */
};

enum node_kind { NODE_TERM, NODE_AND, NODE_OR };

typedef struct node node;
struct node {
    enum node_kind kind;
    /* NODE_AND / NODE_OR */
    node **kids;
    size_t n_kids;
    /* NODE_TERM */
    char *path; /* normalized JSON Pointer with leading '/' */
    enum op op;
    enum operand_kind arg;
    cJSON *value;
    char *rpath;
    int taken; /* handed over by wbs_filter_take: true here */
};

struct wbs_filter {
    node *root;
    size_t n_terms;
};

static void node_free(node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n_kids; i++)
        node_free(n->kids[i]);
    free((void *)n->kids);
    free(n->path);
    free(n->rpath);
    cJSON_Delete(n->value);
    free(n);
}

void wbs_filter_free(wbs_filter *f)
{
    if (!f)
        return;
    node_free(f->root);
    free(f);
}

/* Append `kid` to the children of a NODE_AND/NODE_OR node. */
static int node_add_kid(node *n, node *kid)
{
    node **k;
    if (n->n_kids >= SIZE_MAX / sizeof(*k) - 1)
        return -1;
    k = realloc((void *)n->kids, (n->n_kids + 1) * sizeof(*k));
    if (!k)
        return -1;
    n->kids = k;
    n->kids[n->n_kids++] = kid;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */

static int ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* Case-insensitive equality of s[0..len) with the NUL-terminated word. */
static int word_is(const char *s, size_t len, const char *word)
{
    size_t i;
    for (i = 0; i < len; i++) {
        if (!word[i] || ascii_lower((unsigned char)s[i]) != word[i])
            return 0;
    }
    return word[i] == '\0';
}

/* Copy at most 32 bytes of s[0..len) into out for a message, replacing
 * control bytes and quotes so the message stays on one line. */
static void excerpt(char *out, size_t outlen, const char *s, size_t len)
{
    size_t i, o = 0, max = len > 32 ? 32 : len;
    for (i = 0; i < max && o + 4 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c < 0x20 || c == 0x7f || c == '"') ? '?' : (char)c;
    }
    if (max < len && o + 4 < outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o < outlen ? o : outlen - 1] = '\0';
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Check the escapes of a JSON Pointer (RFC 6901: '~' only as ~0 or ~1).
 * Returns the offset of the bad '~' or SIZE_MAX when the pointer is good. */
static size_t pointer_bad_escape(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '~' && (i + 1 >= len || (p[i + 1] != '0' && p[i + 1] != '1')))
            return i;
    }
    return SIZE_MAX;
}

/* A malloc'd copy of s[0..len) with a leading '/' added when missing. */
static char *pointer_normalize(const char *s, size_t len)
{
    size_t add = (len == 0 || s[0] != '/') ? 1 : 0;
    char *out;
    if (len > SIZE_MAX - 2)
        return NULL;
    out = malloc(len + add + 1);
    if (!out)
        return NULL;
    out[0] = '/';
    memcpy(out + add, s, len);
    out[len + add] = '\0';
    return out;
}

/* Does the escaped pointer segment seg[0..len) name the member key? */
static int segment_equals(const char *seg, size_t len, const char *key)
{
    size_t i = 0, k = 0;
    while (i < len) {
        char c = seg[i];
        if (c == '~' && i + 1 < len) {
            c = seg[i + 1] == '0' ? '~' : '/';
            i += 2;
        } else {
            i++;
        }
        if (key[k] != c)
            return 0;
        k++;
    }
    return key[k] == '\0';
}

/* Resolve a JSON Pointer (escaped, as written) into root. NULL when the
 * location does not exist. Array indices are decimal without leading zeros;
 * "-" (one past the end) never exists. */
static const cJSON *pointer_resolve(const cJSON *root, const char *ptr)
{
    const cJSON *cur = root;
    const char *p = ptr;
    if (!cur || !p)
        return NULL;
    if (*p == '\0')
        return cur;
    if (*p != '/')
        return NULL;
    while (*p == '/') {
        const char *seg = p + 1;
        size_t len = strcspn(seg, "/");
        p = seg + len;
        if (cJSON_IsObject(cur)) {
            const cJSON *c;
            for (c = cur->child; c; c = c->next) {
                if (c->string && segment_equals(seg, len, c->string))
                    break;
            }
            cur = c;
        } else if (cJSON_IsArray(cur)) {
            size_t idx = 0;
            const cJSON *c;
            if (len == 0 || (len > 1 && seg[0] == '0'))
                return NULL;
            for (size_t i = 0; i < len; i++) {
                if (seg[i] < '0' || seg[i] > '9' || idx > (SIZE_MAX - 9) / 10)
                    return NULL;
                idx = idx * 10 + (size_t)(seg[i] - '0');
            }
            for (c = cur->child; c && idx > 0; c = c->next)
                idx--;
            cur = c;
        } else {
            return NULL;
        }
        if (!cur)
            return NULL;
    }
    return cur;
}

/* ------------------------------------------------------------------------ */
/* Tokenizer                                                                 */

enum tok_kind { T_END, T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK, T_COMMA, T_STRING, T_WORD };

typedef struct token {
    enum tok_kind kind;
    size_t pos; /* byte offset in the expression */
    size_t len; /* bytes, including the quotes of a string */
} token;

typedef struct parser {
    const char *s;
    size_t len;
    token *toks;
    size_t n_toks;
    size_t at; /* current token */
    int depth;
    size_t n_terms;
    int failed;
    char *err;
    size_t errlen;
} parser;

static void perr(parser *p, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Record the first error only; later ones are consequences of it. */
static void perr(parser *p, size_t pos, const char *fmt, ...)
{
    char msg[192];
    va_list ap;
    if (p->failed)
        return;
    p->failed = 1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    set_err(p->err, p->errlen, "filter: %s at %zu", msg, pos);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static int is_word_char(char c)
{
    return !is_space(c) && c != '(' && c != ')' && c != '[' && c != ']' && c != ',' && c != '"' &&
           c != '\0';
}

/* Split the whole expression into tokens (at most one per byte, plus END). */
static int tokenize(parser *p)
{
    size_t i = 0;
    p->toks = malloc((p->len + 1) * sizeof(*p->toks));
    if (!p->toks) {
        perr(p, 0, "out of memory");
        return -1;
    }
    while (i < p->len) {
        token t;
        char c = p->s[i];
        if (is_space(c)) {
            i++;
            continue;
        }
        t.pos = i;
        t.len = 1;
        switch (c) {
        case '(':
            t.kind = T_LPAREN;
            break;
        case ')':
            t.kind = T_RPAREN;
            break;
        case '[':
            t.kind = T_LBRACK;
            break;
        case ']':
            t.kind = T_RBRACK;
            break;
        case ',':
            t.kind = T_COMMA;
            break;
        case '"': {
            size_t j = i + 1;
            while (j < p->len && p->s[j] != '"')
                j += (p->s[j] == '\\' && j + 1 < p->len) ? 2 : 1;
            if (j >= p->len) {
                perr(p, i, "unterminated string");
                return -1;
            }
            t.kind = T_STRING;
            t.len = j + 1 - i;
            break;
        }
        case '\0':
            perr(p, i, "NUL byte");
            return -1;
        default: {
            size_t j = i;
            while (j < p->len && is_word_char(p->s[j]))
                j++;
            t.kind = T_WORD;
            t.len = j - i;
            break;
        }
        }
        p->toks[p->n_toks++] = t;
        i += t.len;
    }
    p->toks[p->n_toks].kind = T_END;
    p->toks[p->n_toks].pos = p->len;
    p->toks[p->n_toks].len = 0;
    p->n_toks++;
    return 0;
}

static const token *peek(const parser *p)
{
    return &p->toks[p->at];
}

static const token *advance(parser *p)
{
    const token *t = &p->toks[p->at];
    if (t->kind != T_END)
        p->at++;
    return t;
}

static const char *tok_text(const parser *p, const token *t)
{
    return p->s + t->pos;
}

static int tok_is_word(const parser *p, const token *t, const char *w)
{
    return t->kind == T_WORD && word_is(tok_text(p, t), t->len, w);
}

/* Describe a token for a message: "end of input", "')'", "\"equals\"". */
static const char *tok_describe(const parser *p, const token *t, char *buf, size_t buflen)
{
    char ex[48];
    switch (t->kind) {
    case T_END:
        return "end of input";
    case T_LPAREN:
        return "'('";
    case T_RPAREN:
        return "')'";
    case T_LBRACK:
        return "'['";
    case T_RBRACK:
        return "']'";
    case T_COMMA:
        return "','";
    case T_STRING:
        return "a string";
    case T_WORD:
        break;
    }
    excerpt(ex, sizeof(ex), tok_text(p, t), t->len);
    snprintf(buf, buflen, "\"%s\"", ex);
    return buf;
}

static void utf8_put(char *out, size_t *o, unsigned long cp)
{
    if (cp < 0x80) {
        out[(*o)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*o)++] = (char)(0xC0 | (cp >> 6));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*o)++] = (char)(0xE0 | (cp >> 12));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*o)++] = (char)(0xF0 | (cp >> 18));
        out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    }
}

static int hex4(const char *s, size_t avail, unsigned long *out)
{
    unsigned long v = 0;
    if (avail < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned long)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned long)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned long)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Decode a string token: \" and \\ as documented, plus the other JSON
 * escapes (\/ \b \f \n \r \t \uXXXX) so that a client may quote a value
 * with its JSON encoder. The result never contains NUL. */
static cJSON *string_value(parser *p, const token *t)
{
    const char *s = tok_text(p, t) + 1;
    size_t n = t->len - 2, i = 0, o = 0;
    cJSON *v;
    char *out = malloc(n + 1);
    if (!out) {
        perr(p, t->pos, "out of memory");
        return NULL;
    }
    while (i < n) {
        unsigned long cp;
        size_t at = t->pos + 1 + i;
        if (s[i] != '\\') {
            out[o++] = s[i++];
            continue;
        }
        if (i + 1 >= n) {
            perr(p, at, "lone backslash in string");
            goto fail;
        }
        switch (s[i + 1]) {
        case '"':
        case '\\':
        case '/':
            out[o++] = s[i + 1];
            i += 2;
            continue;
        case 'b':
            out[o++] = '\b';
            i += 2;
            continue;
        case 'f':
            out[o++] = '\f';
            i += 2;
            continue;
        case 'n':
            out[o++] = '\n';
            i += 2;
            continue;
        case 'r':
            out[o++] = '\r';
            i += 2;
            continue;
        case 't':
            out[o++] = '\t';
            i += 2;
            continue;
        case 'u':
            break;
        default:
            perr(p, at, "unknown escape \\%c in string",
                 (s[i + 1] >= 0x20 && s[i + 1] < 0x7f) ? s[i + 1] : '?');
            goto fail;
        }
        if (hex4(s + i + 2, n - i - 2, &cp) < 0) {
            perr(p, at, "bad \\u escape in string");
            goto fail;
        }
        i += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned long lo;
            if (i + 1 >= n || s[i] != '\\' || s[i + 1] != 'u' ||
                hex4(s + i + 2, n - i - 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF) {
                perr(p, at, "unpaired surrogate in string");
                goto fail;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            perr(p, at, "unpaired surrogate in string");
            goto fail;
        } else if (cp == 0) {
            perr(p, at, "\\u0000 in string");
            goto fail;
        }
        utf8_put(out, &o, cp);
    }
    out[o] = '\0';
    v = cJSON_CreateString(out);
    free(out);
    if (!v)
        perr(p, t->pos, "out of memory");
    return v;
fail:
    free(out);
    return NULL;
}

/* Is w[0..len) a JSON number? */
static int is_json_number(const char *w, size_t len)
{
    size_t i = 0;
    if (i < len && w[i] == '-')
        i++;
    if (i >= len || w[i] < '0' || w[i] > '9')
        return 0;
    if (w[i] == '0')
        i++;
    else
        while (i < len && w[i] >= '0' && w[i] <= '9')
            i++;
    if (i < len && w[i] == '.') {
        i++;
        if (i >= len || w[i] < '0' || w[i] > '9')
            return 0;
        while (i < len && w[i] >= '0' && w[i] <= '9')
            i++;
    }
    if (i < len && (w[i] == 'e' || w[i] == 'E')) {
        i++;
        if (i < len && (w[i] == '+' || w[i] == '-'))
            i++;
        if (i >= len || w[i] < '0' || w[i] > '9')
            return 0;
        while (i < len && w[i] >= '0' && w[i] <= '9')
            i++;
    }
    return i == len;
}

enum lit_want { LIT_ANY = 0, LIT_ORDERED = 1 };

/* A literal from the current token: "string", number, and unless `want` is
 * LIT_ORDERED also nil/null, true, false. NULL with the error set otherwise;
 * `what` names the operator for the message. */
static cJSON *parse_literal(parser *p, const char *what, enum lit_want want)
{
    const token *t = peek(p);
    char buf[64];
    cJSON *v = NULL;
    if (t->kind == T_STRING) {
        v = string_value(p, t);
    } else if (t->kind == T_WORD) {
        const char *w = tok_text(p, t);
        if (want == LIT_ANY && (tok_is_word(p, t, "nil") || tok_is_word(p, t, "null")))
            v = cJSON_CreateNull();
        else if (want == LIT_ANY && tok_is_word(p, t, "true"))
            v = cJSON_CreateTrue();
        else if (want == LIT_ANY && tok_is_word(p, t, "false"))
            v = cJSON_CreateFalse();
        else if ((w[0] >= '0' && w[0] <= '9') || w[0] == '-') {
            char num[WBS_FILTER_MAX_LEN + 1];
            double d;
            if (!is_json_number(w, t->len)) {
                perr(p, t->pos, "bad number %s", tok_describe(p, t, buf, sizeof(buf)));
                return NULL;
            }
            memcpy(num, w, t->len);
            num[t->len] = '\0';
            d = strtod(num, NULL);
            if (!isfinite(d)) {
                perr(p, t->pos, "number %s out of range", tok_describe(p, t, buf, sizeof(buf)));
                return NULL;
            }
            v = cJSON_CreateNumber(d);
        } else {
            perr(p, t->pos, "%s needs %s, found %s", what,
                 want == LIT_ORDERED ? "a number or a \"string\""
                                     : "a \"string\", number, nil, true or false",
                 tok_describe(p, t, buf, sizeof(buf)));
            return NULL;
        }
        if (!v)
            perr(p, t->pos, "out of memory");
    } else {
        perr(p, t->pos, "%s needs %s, found %s", what,
             want == LIT_ORDERED ? "a number or a \"string\""
                                 : "a \"string\", number, nil, true or false",
             tok_describe(p, t, buf, sizeof(buf)));
        return NULL;
    }
    if (v)
        advance(p);
    return v;
}

/* A path token: a word; a missing leading '/' is added. */
static char *parse_path(parser *p, const token *t)
{
    size_t bad = pointer_bad_escape(tok_text(p, t), t->len);
    char *path;
    if (bad != SIZE_MAX) {
        perr(p, t->pos + bad, "bad JSON Pointer escape (~0 or ~1 expected)");
        return NULL;
    }
    path = pointer_normalize(tok_text(p, t), t->len);
    if (!path)
        perr(p, t->pos, "out of memory");
    return path;
}

/* Is the current token the end of a term (so an operand is missing)? */
static int at_operand_end(const parser *p)
{
    const token *t = peek(p);
    return t->kind == T_END || t->kind == T_RPAREN || tok_is_word(p, t, "and") ||
           tok_is_word(p, t, "or");
}

static int parse_operand(parser *p, node *n)
{
    const token *t = peek(p);
    const char *name = op_names[n->op];
    char buf[64];

    if (at_operand_end(p)) {
        perr(p, t->pos, "missing operand after %s", name);
        return -1;
    }
    /* Another field: a word starting with '/'. */
    if (t->kind == T_WORD && tok_text(p, t)[0] == '/' && n->op != OP_LIKE && n->op != OP_BETWEEN) {
        n->arg = ARG_PATH;
        n->rpath = parse_path(p, t);
        if (!n->rpath)
            return -1;
        advance(p);
        return 0;
    }
    switch (n->op) {
    case OP_EQ:
    case OP_NEQ:
        n->arg = ARG_VALUE;
        n->value = parse_literal(p, name, LIT_ANY);
        return n->value ? 0 : -1;
    case OP_GT:
    case OP_GTE:
    case OP_LT:
    case OP_LTE:
        n->arg = ARG_VALUE;
        n->value = parse_literal(p, name, LIT_ORDERED);
        return n->value ? 0 : -1;
    case OP_LIKE:
        if (t->kind != T_STRING) {
            perr(p, t->pos, "like needs a \"pattern\", found %s",
                 tok_describe(p, t, buf, sizeof(buf)));
            return -1;
        }
        n->arg = ARG_VALUE;
        n->value = string_value(p, t);
        if (!n->value)
            return -1;
        advance(p);
        return 0;
    case OP_IN:
    case OP_NIN: {
        size_t open = t->pos;
        if (t->kind != T_LBRACK) {
            perr(p, t->pos, "%s needs a [list] or a /path, found %s", name,
                 tok_describe(p, t, buf, sizeof(buf)));
            return -1;
        }
        advance(p);
        n->arg = ARG_LIST;
        n->value = cJSON_CreateArray();
        if (!n->value) {
            perr(p, open, "out of memory");
            return -1;
        }
        if (peek(p)->kind == T_RBRACK) {
            advance(p);
            return 0;
        }
        for (;;) {
            cJSON *v;
            if (peek(p)->kind == T_END) {
                perr(p, open, "unterminated list");
                return -1;
            }
            v = parse_literal(p, "a list", LIT_ANY);
            if (!v)
                return -1;
            cJSON_AddItemToArray(n->value, v);
            t = peek(p);
            if (t->kind == T_COMMA) {
                advance(p);
                continue;
            }
            if (t->kind == T_RBRACK) {
                advance(p);
                return 0;
            }
            if (t->kind == T_END)
                perr(p, open, "unterminated list");
            else
                perr(p, t->pos, "expected ',' or ']' in list, found %s",
                     tok_describe(p, t, buf, sizeof(buf)));
            return -1;
        }
    }
    case OP_BETWEEN: {
        cJSON *lo, *hi;
        n->arg = ARG_RANGE;
        n->value = cJSON_CreateArray();
        if (!n->value) {
            perr(p, t->pos, "out of memory");
            return -1;
        }
        lo = parse_literal(p, "between", LIT_ORDERED);
        if (!lo)
            return -1;
        cJSON_AddItemToArray(n->value, lo);
        t = peek(p);
        if (t->kind != T_COMMA) {
            perr(p, t->pos, "between needs two values as a,b, found %s",
                 tok_describe(p, t, buf, sizeof(buf)));
            return -1;
        }
        advance(p);
        t = peek(p);
        if (at_operand_end(p)) {
            perr(p, t->pos, "missing second operand of between");
            return -1;
        }
        hi = parse_literal(p, "between", LIT_ORDERED);
        if (!hi)
            return -1;
        cJSON_AddItemToArray(n->value, hi);
        if (cJSON_IsNumber(lo) != cJSON_IsNumber(hi)) {
            perr(p, t->pos, "between needs two numbers or two strings");
            return -1;
        }
        return 0;
    }
    }
    return -1;
}

static node *parse_or(parser *p);

static node *parse_term(parser *p)
{
    const token *t = peek(p);
    char buf[64];
    node *n;
    size_t i;

    if (t->kind == T_LPAREN) {
        size_t open = t->pos;
        if (p->depth >= WBS_FILTER_MAX_DEPTH) {
            perr(p, open, "parentheses nested deeper than %d", WBS_FILTER_MAX_DEPTH);
            return NULL;
        }
        advance(p);
        p->depth++;
        n = parse_or(p);
        p->depth--;
        if (!n)
            return NULL;
        if (peek(p)->kind != T_RPAREN) {
            t = peek(p);
            if (t->kind == T_END)
                perr(p, open, "unbalanced parentheses: '(' is never closed");
            else
                perr(p, t->pos, "expected and, or or ')', found %s",
                     tok_describe(p, t, buf, sizeof(buf)));
            node_free(n);
            return NULL;
        }
        advance(p);
        return n;
    }
    if (t->kind != T_WORD || tok_is_word(p, t, "and") || tok_is_word(p, t, "or")) {
        if (t->kind == T_END)
            perr(p, t->pos, "missing term");
        else if (t->kind == T_RPAREN)
            perr(p, t->pos, "unexpected ')' where a term was expected");
        else
            perr(p, t->pos, "expected a path or '(', found %s",
                 tok_describe(p, t, buf, sizeof(buf)));
        return NULL;
    }
    if (++p->n_terms > WBS_FILTER_MAX_TERMS) {
        perr(p, t->pos, "more than %d terms", WBS_FILTER_MAX_TERMS);
        return NULL;
    }
    n = calloc(1, sizeof(*n));
    if (!n) {
        perr(p, t->pos, "out of memory");
        return NULL;
    }
    n->kind = NODE_TERM;
    n->path = parse_path(p, t);
    if (!n->path)
        goto fail;
    advance(p);

    t = peek(p);
    if (t->kind != T_WORD) {
        if (t->kind == T_END)
            perr(p, t->pos, "missing operator after path");
        else
            perr(p, t->pos, "expected an operator, found %s", tok_describe(p, t, buf, sizeof(buf)));
        goto fail;
    }
    for (i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++) {
        if (tok_is_word(p, t, op_names[i]))
            break;
    }
    if (i == sizeof(op_names) / sizeof(op_names[0])) {
        perr(p, t->pos, "unknown operator %s", tok_describe(p, t, buf, sizeof(buf)));
        goto fail;
    }
    n->op = (enum op)i;
    advance(p);
    if (parse_operand(p, n) < 0)
        goto fail;
    return n;
fail:
    node_free(n);
    return NULL;
}

/* One level of the precedence ladder: kids joined by `word`. */
static node *parse_chain(parser *p, const char *word, enum node_kind kind, node *(*sub)(parser *))
{
    node *first = sub(p), *chain;
    if (!first)
        return NULL;
    if (!tok_is_word(p, peek(p), word))
        return first;
    chain = calloc(1, sizeof(*chain));
    if (!chain || node_add_kid(chain, first) < 0) {
        perr(p, peek(p)->pos, "out of memory");
        node_free(first);
        free(chain);
        return NULL;
    }
    chain->kind = kind;
    while (tok_is_word(p, peek(p), word)) {
        const token *t = advance(p);
        node *next = sub(p);
        if (!next)
            goto fail;
        if (node_add_kid(chain, next) < 0) {
            perr(p, t->pos, "out of memory");
            node_free(next);
            goto fail;
        }
    }
    return chain;
fail:
    node_free(chain);
    return NULL;
}

static node *parse_and(parser *p)
{
    return parse_chain(p, "and", NODE_AND, parse_term);
}

static node *parse_or(parser *p)
{
    return parse_chain(p, "or", NODE_OR, parse_and);
}

int wbs_filter_parse(wbs_filter **out, const char *expr, char *err, size_t errlen)
{
    parser p;
    node *root = NULL;
    wbs_filter *f = NULL;
    char buf[64];
    int error = -1;

    if (err && errlen)
        err[0] = '\0';
    if (!out) {
        set_err(err, errlen, "filter: no output pointer");
        return -1;
    }
    *out = NULL;
    if (!expr) {
        set_err(err, errlen, "filter: empty expression at 0");
        return -1;
    }
    memset(&p, 0, sizeof(p));
    p.s = expr;
    p.err = err;
    p.errlen = errlen;
    /* Bounded scan: never walk more than the limit of a huge input. */
    p.len = strnlen(expr, WBS_FILTER_MAX_LEN + 1);
    if (p.len > WBS_FILTER_MAX_LEN) {
        perr(&p, WBS_FILTER_MAX_LEN, "expression longer than %d bytes", WBS_FILTER_MAX_LEN);
        return -1;
    }
    if (tokenize(&p) < 0)
        goto cleanup;
    if (peek(&p)->kind == T_END) {
        perr(&p, 0, "empty expression");
        goto cleanup;
    }
    root = parse_or(&p);
    if (!root)
        goto cleanup;
    if (peek(&p)->kind != T_END) {
        const token *t = peek(&p);
        if (t->kind == T_RPAREN)
            perr(&p, t->pos, "unbalanced parentheses: ')' without '('");
        else
            perr(&p, t->pos, "expected and or or, found %s", tok_describe(&p, t, buf, sizeof(buf)));
        goto cleanup;
    }
    f = calloc(1, sizeof(*f));
    if (!f) {
        perr(&p, 0, "out of memory");
        goto cleanup;
    }
    f->root = root;
    f->n_terms = p.n_terms;
    root = NULL;
    *out = f;
    error = 0;
cleanup:
    node_free(root);
    free(p.toks);
    return error;
}

int wbs_filter_add_eq(wbs_filter **f, const char *path, const char *value, char *err, size_t errlen)
{
    node *term = NULL, *join = NULL;
    wbs_filter *created = NULL;
    size_t plen, vlen, bad;
    char ex[48];

    if (err && errlen)
        err[0] = '\0';
    if (!f || !path || !value) {
        set_err(err, errlen, "filter: missing path or value");
        return -1;
    }
    plen = strnlen(path, WBS_FILTER_MAX_LEN + 1);
    vlen = strnlen(value, WBS_FILTER_MAX_LEN + 1);
    excerpt(ex, sizeof(ex), path, plen);
    if (plen == 0 || plen > WBS_FILTER_MAX_LEN || vlen > WBS_FILTER_MAX_LEN) {
        set_err(err, errlen, "filter[%s]: %s", ex,
                plen == 0 ? "empty path" : "path or value longer than 4096 bytes");
        return -1;
    }
    bad = pointer_bad_escape(path, plen);
    if (bad != SIZE_MAX) {
        set_err(err, errlen, "filter[%s]: bad JSON Pointer escape (~0 or ~1 expected) at %zu", ex,
                bad);
        return -1;
    }
    if (*f && (*f)->n_terms >= WBS_FILTER_MAX_TERMS) {
        set_err(err, errlen, "filter[%s]: more than %d terms", ex, WBS_FILTER_MAX_TERMS);
        return -1;
    }
    term = calloc(1, sizeof(*term));
    if (!term)
        goto oom;
    term->kind = NODE_TERM;
    term->op = OP_EQ;
    term->arg = ARG_VALUE;
    term->path = pointer_normalize(path, plen);
    term->value = cJSON_CreateString(value);
    if (!term->path || !term->value)
        goto oom;

    if (!*f) {
        created = calloc(1, sizeof(*created));
        if (!created)
            goto oom;
        created->root = term;
        created->n_terms = 1;
        *f = created;
        return 0;
    }
    if ((*f)->root && (*f)->root->kind == NODE_AND) {
        if (node_add_kid((*f)->root, term) < 0)
            goto oom;
    } else if ((*f)->root) {
        join = calloc(1, sizeof(*join));
        if (!join)
            goto oom;
        join->kind = NODE_AND;
        if (node_add_kid(join, (*f)->root) < 0)
            goto oom;
        if (node_add_kid(join, term) < 0) {
            /* Give the old root back before freeing the join node. */
            join->n_kids = 0;
            goto oom;
        }
        (*f)->root = join;
    } else {
        (*f)->root = term;
    }
    (*f)->n_terms++;
    return 0;
oom:
    if (join) {
        free((void *)join->kids);
        free(join);
    }
    node_free(term);
    set_err(err, errlen, "filter[%s]: out of memory", ex);
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Evaluation                                                                */

/* Equality with nil semantics: a NULL (missing) or null operand on either
 * side matches a missing member or null on the other. */
static int values_equal(const cJSON *a, const cJSON *b)
{
    int a_nil = !a || cJSON_IsNull(a), b_nil = !b || cJSON_IsNull(b);
    if (a_nil || b_nil)
        return a_nil && b_nil;
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
        return !(a->valuedouble < b->valuedouble) && !(a->valuedouble > b->valuedouble);
    if (cJSON_IsString(a) && cJSON_IsString(b))
        return a->valuestring && b->valuestring && strcmp(a->valuestring, b->valuestring) == 0;
    if (cJSON_IsBool(a) && cJSON_IsBool(b))
        return cJSON_IsTrue(a) == cJSON_IsTrue(b);
    if ((cJSON_IsArray(a) && cJSON_IsArray(b)) || (cJSON_IsObject(a) && cJSON_IsObject(b)))
        return cJSON_Compare(a, b, 1) ? 1 : 0;
    return 0;
}

/* Order two numbers or two strings: 0 and *cmp set, or -1 when the pair is
 * not comparable (then every ordering operator is false). */
static int values_order(const cJSON *a, const cJSON *b, int *cmp)
{
    if (!a || !b)
        return -1;
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b)) {
        *cmp = a->valuedouble < b->valuedouble ? -1 : a->valuedouble > b->valuedouble ? 1 : 0;
        return 0;
    }
    if (cJSON_IsString(a) && cJSON_IsString(b) && a->valuestring && b->valuestring) {
        int c = strcmp(a->valuestring, b->valuestring);
        *cmp = c < 0 ? -1 : c > 0 ? 1 : 0;
        return 0;
    }
    return -1;
}

/* Match s against pat where '*' is any sequence (possibly empty) and every
 * other byte stands for itself; anchored at both ends. Linear backtracking
 * on the last star, so no input can make it exponential. */
static int like_match(const char *pat, const char *s)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (*pat && *pat == *s) {
            pat++;
            s++;
        } else if (star) {
            pat = star + 1;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

static int list_contains(const cJSON *list, const cJSON *v)
{
    const cJSON *e;
    if (!cJSON_IsArray(list))
        return 0;
    for (e = list->child; e; e = e->next) {
        if (values_equal(v, e))
            return 1;
    }
    return 0;
}

static int term_match(const node *n, const cJSON *env)
{
    const cJSON *lhs, *rhs;
    int cmp;

    if (n->taken)
        return 1;
    lhs = pointer_resolve(env, n->path);
    rhs = n->arg == ARG_PATH ? pointer_resolve(env, n->rpath) : n->value;

    switch (n->op) {
    case OP_EQ:
        return values_equal(lhs, rhs);
    case OP_NEQ:
        return !values_equal(lhs, rhs);
    case OP_GT:
        return values_order(lhs, rhs, &cmp) == 0 && cmp > 0;
    case OP_GTE:
        return values_order(lhs, rhs, &cmp) == 0 && cmp >= 0;
    case OP_LT:
        return values_order(lhs, rhs, &cmp) == 0 && cmp < 0;
    case OP_LTE:
        return values_order(lhs, rhs, &cmp) == 0 && cmp <= 0;
    case OP_LIKE:
        return cJSON_IsString(lhs) && cJSON_IsString(rhs) && lhs->valuestring && rhs->valuestring &&
               like_match(rhs->valuestring, lhs->valuestring);
    case OP_IN:
        return list_contains(rhs, lhs);
    case OP_NIN:
        return !list_contains(rhs, lhs);
    case OP_BETWEEN: {
        const cJSON *lo = rhs ? rhs->child : NULL;
        const cJSON *hi = lo ? lo->next : NULL;
        int c1, c2;
        return values_order(lhs, lo, &c1) == 0 && values_order(lhs, hi, &c2) == 0 && c1 >= 0 &&
               c2 <= 0;
    }
    }
    return 0;
}

static int node_match(const node *n, const cJSON *env)
{
    size_t i;
    switch (n->kind) {
    case NODE_TERM:
        return term_match(n, env);
    case NODE_AND:
        for (i = 0; i < n->n_kids; i++) {
            if (!node_match(n->kids[i], env))
                return 0;
        }
        return 1;
    case NODE_OR:
        for (i = 0; i < n->n_kids; i++) {
            if (node_match(n->kids[i], env))
                return 1;
        }
        return 0;
    }
    return 0;
}

int wbs_filter_match(const wbs_filter *f, const cJSON *envelope)
{
    if (!f || !f->root)
        return 1;
    return node_match(f->root, envelope);
}

/* Do two escaped pointers name the same location? Compared after
 * unescaping; a missing leading slash on either is forgiven. */
static int pointer_same(const char *a, const char *b)
{
    if (*a == '/')
        a++;
    if (*b == '/')
        b++;
    for (;;) {
        /* ~1 decodes to a '/' inside a key, which is not a separator. */
        int ca = (unsigned char)*a, cb = (unsigned char)*b;
        if (ca == '~' && (a[1] == '0' || a[1] == '1')) {
            ca = a[1] == '0' ? '~' : 0x100;
            a++;
        }
        if (cb == '~' && (b[1] == '0' || b[1] == '1')) {
            cb = b[1] == '0' ? '~' : 0x100;
            b++;
        }
        if (ca != cb)
            return 0;
        if (ca == '\0')
            return 1;
        a++;
        b++;
    }
}

static int node_mentions(const node *n, const char *path)
{
    if (n->kind == NODE_TERM)
        return pointer_same(n->path, path) || (n->rpath && pointer_same(n->rpath, path));
    for (size_t i = 0; i < n->n_kids; i++) {
        if (node_mentions(n->kids[i], path))
            return 1;
    }
    return 0;
}

int wbs_filter_mentions(const wbs_filter *f, const char *path)
{
    if (!f || !f->root || !path)
        return 0;
    return node_mentions(f->root, path);
}

static unsigned op_bit(enum op op)
{
    switch (op) {
    case OP_EQ:
        return WBS_FILTER_EQ;
    case OP_GT:
        return WBS_FILTER_GT;
    case OP_GTE:
        return WBS_FILTER_GTE;
    case OP_LT:
        return WBS_FILTER_LT;
    case OP_LTE:
        return WBS_FILTER_LTE;
    default:
        return 0;
    }
}

/* The first untaken conjunct term of n that fits (see wbs_filter_take). */
static node *node_find_conjunct(node *n, const char *path, unsigned ops)
{
    if (n->kind == NODE_TERM)
        return !n->taken && (op_bit(n->op) & ops) && n->arg == ARG_VALUE &&
                       cJSON_IsString(n->value) && n->value->valuestring &&
                       pointer_same(n->path, path)
                   ? n
                   : NULL;
    if (n->kind != NODE_AND)
        return NULL;
    for (size_t i = 0; i < n->n_kids; i++) {
        node *t = node_find_conjunct(n->kids[i], path, ops);
        if (t)
            return t;
    }
    return NULL;
}

unsigned wbs_filter_take(const char **value, wbs_filter *f, const char *path, unsigned ops)
{
    node *t;

    if (!value || !f || !f->root || !path)
        return 0;
    t = node_find_conjunct(f->root, path, ops);
    if (!t)
        return 0;
    t->taken = 1;
    *value = t->value->valuestring;
    return op_bit(t->op);
}

/* The booleans a term accepts when it is `eq true|false` or `in [list of
 * booleans]` (WBS_FILTER_TRUE/FALSE bits), else 0. */
static unsigned term_bools(const node *n)
{
    unsigned bits = 0;
    const cJSON *e;

    if (n->op == OP_EQ && n->arg == ARG_VALUE && cJSON_IsBool(n->value))
        return cJSON_IsTrue(n->value) ? WBS_FILTER_TRUE : WBS_FILTER_FALSE;
    if (n->op != OP_IN || n->arg != ARG_LIST || !cJSON_IsArray(n->value))
        return 0;
    for (e = n->value->child; e; e = e->next) {
        if (!cJSON_IsBool(e))
            return 0;
        bits |= cJSON_IsTrue(e) ? WBS_FILTER_TRUE : WBS_FILTER_FALSE;
    }
    return bits;
}

/* The first untaken conjunct term of n that term_bools accepts. */
static node *node_find_bools(node *n, const char *path)
{
    if (n->kind == NODE_TERM)
        return !n->taken && term_bools(n) && pointer_same(n->path, path) ? n : NULL;
    if (n->kind != NODE_AND)
        return NULL;
    for (size_t i = 0; i < n->n_kids; i++) {
        node *t = node_find_bools(n->kids[i], path);
        if (t)
            return t;
    }
    return NULL;
}

unsigned wbs_filter_take_bools(wbs_filter *f, const char *path)
{
    node *t;

    if (!f || !f->root || !path || !(t = node_find_bools(f->root, path)))
        return 0;
    t->taken = 1;
    return term_bools(t);
}

static int node_all_taken(const node *n)
{
    if (n->kind == NODE_TERM)
        return n->taken;
    if (n->kind != NODE_AND)
        return 0;
    for (size_t i = 0; i < n->n_kids; i++) {
        if (!node_all_taken(n->kids[i]))
            return 0;
    }
    return 1;
}

int wbs_filter_empty(const wbs_filter *f)
{
    return !f || !f->root || node_all_taken(f->root);
}

/* ------------------------------------------------------------------------ */
/* Sorting                                                                   */

void wbs_sort_free(wbs_sort *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->keys[i].path);
    free(s->keys);
    s->keys = NULL;
    s->n = 0;
}

/* Add one key; `field` as the client wrote it (leading '/' optional). */
static int sort_add(wbs_sort *s, const char *field, const char *dir, size_t index, char *err,
                    size_t errlen)
{
    size_t flen = strnlen(field, WBS_SORT_MAX_VALUE + 1), bad;
    char ex[48];
    char *path;
    int desc;
    wbs_sort_key *k;

    excerpt(ex, sizeof(ex), field, flen);
    if (flen == 0 || (flen == 1 && field[0] == '/')) {
        set_err(err, errlen, "sort: value %zu: empty field", index);
        return -1;
    }
    if (flen > WBS_SORT_MAX_VALUE) {
        set_err(err, errlen, "sort: value %zu: field longer than %d bytes", index,
                WBS_SORT_MAX_VALUE);
        return -1;
    }
    bad = pointer_bad_escape(field, flen);
    if (bad != SIZE_MAX) {
        set_err(err, errlen, "sort: value %zu: bad JSON Pointer escape in \"%s\" at %zu", index, ex,
                bad);
        return -1;
    }
    if (word_is(dir, strlen(dir), "asc")) {
        desc = 0;
    } else if (word_is(dir, strlen(dir), "desc")) {
        desc = 1;
    } else {
        char dx[48];
        excerpt(dx, sizeof(dx), dir, strnlen(dir, WBS_SORT_MAX_VALUE));
        set_err(err, errlen, "sort: value %zu: direction \"%s\" for \"%s\" is not ASC or DESC",
                index + 1, dx, ex);
        return -1;
    }
    if (s->n >= WBS_SORT_MAX_KEYS) {
        set_err(err, errlen, "sort: more than %d keys", WBS_SORT_MAX_KEYS);
        return -1;
    }
    /* /data/id means the envelope id (G8): interactions have no data.id. */
    if (strcmp(field, "/data/id") == 0 || strcmp(field, "data/id") == 0)
        path = pointer_normalize("id", 2);
    else
        path = pointer_normalize(field, flen);
    k = realloc(s->keys, (s->n + 1) * sizeof(*k));
    if (!path || !k) {
        free(path);
        if (k)
            s->keys = k;
        set_err(err, errlen, "sort: out of memory");
        return -1;
    }
    s->keys = k;
    s->keys[s->n].path = path;
    s->keys[s->n].desc = desc;
    s->n++;
    return 0;
}

int wbs_sort_parse(wbs_sort *out, const char *const *values, size_t n_values, char *err,
                   size_t errlen)
{
    wbs_sort s = {NULL, 0};
    cJSON *arr = NULL;
    int error = -1;

    if (err && errlen)
        err[0] = '\0';
    if (!out) {
        set_err(err, errlen, "sort: no output pointer");
        return -1;
    }
    out->keys = NULL;
    out->n = 0;
    if (n_values > 0 && !values) {
        set_err(err, errlen, "sort: no values");
        return -1;
    }
    for (size_t i = 0; i < n_values; i++) {
        if (!values[i]) {
            set_err(err, errlen, "sort: value %zu is missing", i + 1);
            return -1;
        }
    }

    if (n_values == 1 && values[0][strspn(values[0], " \t")] == '[') {
        /* One JSON array of alternating field/direction strings. */
        const cJSON *e;
        size_t count, i = 0;
        if (strnlen(values[0], WBS_SORT_MAX_VALUE + 1) > WBS_SORT_MAX_VALUE) {
            set_err(err, errlen, "sort: value longer than %d bytes", WBS_SORT_MAX_VALUE);
            goto cleanup;
        }
        arr = cJSON_Parse(values[0]);
        if (!cJSON_IsArray(arr)) {
            set_err(err, errlen, "sort: value 1 is not a JSON array of strings");
            goto cleanup;
        }
        count = (size_t)cJSON_GetArraySize(arr);
        if (count == 0 || count % 2 != 0) {
            set_err(err, errlen, "sort: %zu array items; expected field,direction pairs", count);
            goto cleanup;
        }
        for (e = arr->child; e; e = e->next, i++) {
            if (!cJSON_IsString(e) || !e->valuestring) {
                set_err(err, errlen, "sort: array item %zu is not a string", i + 1);
                goto cleanup;
            }
        }
        for (e = arr->child, i = 0; e && e->next; e = e->next->next, i += 2) {
            if (sort_add(&s, e->valuestring, e->next->valuestring, i + 1, err, errlen) < 0)
                goto cleanup;
        }
    } else {
        if (n_values % 2 != 0) {
            set_err(err, errlen, "sort: %zu values; expected field,direction pairs", n_values);
            goto cleanup;
        }
        for (size_t i = 0; i + 1 < n_values; i += 2) {
            if (values[i][0] == '[') {
                set_err(err, errlen, "sort: value %zu: a JSON array must be the only value", i + 1);
                goto cleanup;
            }
            if (sort_add(&s, values[i], values[i + 1], i + 1, err, errlen) < 0)
                goto cleanup;
        }
    }
    /* id ASC last makes the order total (G7). */
    if (s.n == 0 || strcmp(s.keys[s.n - 1].path, "/id") != 0) {
        wbs_sort_key *k = realloc(s.keys, (s.n + 1) * sizeof(*k));
        char *path = pointer_normalize("id", 2);
        if (k)
            s.keys = k;
        if (!k || !path) {
            free(path);
            set_err(err, errlen, "sort: out of memory");
            goto cleanup;
        }
        s.keys[s.n].path = path;
        s.keys[s.n].desc = 0;
        s.n++;
    }
    *out = s;
    s.keys = NULL;
    s.n = 0;
    error = 0;
cleanup:
    cJSON_Delete(arr);
    wbs_sort_free(&s);
    return error;
}

/* Missing < null < false < true < numbers < strings < arrays < objects. */
static int sort_rank(const cJSON *v)
{
    if (!v)
        return 0;
    if (cJSON_IsNull(v))
        return 1;
    if (cJSON_IsFalse(v))
        return 2;
    if (cJSON_IsTrue(v))
        return 3;
    if (cJSON_IsNumber(v))
        return 4;
    if (cJSON_IsString(v))
        return 5;
    if (cJSON_IsArray(v))
        return 6;
    return 7;
}

int wbs_sort_compare(const wbs_sort *s, const cJSON *a, const cJSON *b)
{
    if (!s)
        return 0;
    for (size_t i = 0; i < s->n; i++) {
        const cJSON *va = pointer_resolve(a, s->keys[i].path);
        const cJSON *vb = pointer_resolve(b, s->keys[i].path);
        int ra = sort_rank(va), rb = sort_rank(vb), c = 0;
        if (ra != rb)
            c = ra < rb ? -1 : 1;
        else if (ra == 4 || ra == 5)
            (void)values_order(va, vb, &c);
        if (c != 0)
            return s->keys[i].desc ? -c : c;
    }
    return 0;
}
