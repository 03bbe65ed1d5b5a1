/*
 * query.h - the Polis list-query language for walkbook-server: filter
 * expressions (polis-api.md §4.1, both the expression form and the bracket
 * form of §4.2), sort specifications (§4.3, both spellings, G8) and their
 * evaluation against envelopes held as cJSON trees.
 */
#ifndef WBS_QUERY_H
#define WBS_QUERY_H

#include <stddef.h>

#include <cjson/cJSON.h>

typedef struct wbs_filter wbs_filter;

/* Parse an expression such as
 *   (/data/campaignId eq "…" and /meta/modified gte "2020-…") or /x in [1,"a"]
 * Grammar (polis-api.md §4.1): and binds tighter than or; parentheses;
 * operators eq neq gt gte lt lte like in nin between; operands: "string"
 * (with \" and \\ escapes, and the other JSON escapes \/ \b \f \n \r \t
 * \uXXXX so a value quoted by a JSON encoder reads back; \u0000 is refused),
 * number (JSON syntax), nil (alias null), true, false, [list], a,b (between),
 * or another /path (for in/nin: the array held by that field; for the others:
 * that field's value). Keywords and operators are case-insensitive.
 * Paths are JSON Pointers into the envelope (RFC 6901, ~0 and ~1); on the
 * left of an operator a missing leading '/' is accepted ("foo/bar"), an
 * operand path must start with '/' (a bare word there is an error, not a
 * string). Which operand each operator takes:
 *   eq neq            literal or /path
 *   gt gte lt lte     "string", number or /path
 *   like              "pattern" ('*' = any sequence, no other wildcard,
 *                      case-sensitive, anchored at both ends)
 *   in nin            [literal, …] (may be empty) or /path
 *   between           lo,hi: two numbers or two "strings", inclusive
 * Input is bounded: at most 4096 bytes, 64 levels of parentheses, 256 terms.
 * Returns 0 and *out (free with wbs_filter_free), or -1 with *out NULL and a
 * one-line message in err naming the byte offset and the problem
 * ("filter: unknown operator \"equals\" at 14"); only the first error is
 * reported. Never crashes on any input. */
int wbs_filter_parse(wbs_filter **out, const char *expr, char *err, size_t errlen);

/* Add an equality term `path eq "value"` (the bracket form
 * filter[/data/campaignId]=value), joined with `and` to what is there. The
 * value is always a string (filter[/meta/isDeleted]=true compares with the
 * string "true"). Path and value at most 4096 bytes each; a missing leading
 * '/' is accepted. *f may be NULL (then a filter is created). Returns 0 or
 * -1 (err set, *f unchanged). */
int wbs_filter_add_eq(wbs_filter **f, const char *path, const char *value, char *err,
                      size_t errlen);

/* 1 when the envelope matches (a NULL filter matches everything).
 * Evaluation rules:
 * - A path that does not resolve (missing member, index out of range, a
 *   step through a scalar) is "missing".
 * - eq: numbers numerically, strings bytewise, booleans, arrays/objects
 *   structurally; nil matches JSON null and a missing member (a /path
 *   operand that is missing or null counts as nil). Other type pairs are
 *   unequal. neq is exactly not eq: `neq nil` means present and not null.
 * - gt gte lt lte between: only number with number or string with string
 *   (bytewise, right for the fixed-width timestamps); any other pair,
 *   including missing, is false.
 * - like: false unless the field is a string.
 * - in: the field equals (as eq, so nil in the list matches missing/null)
 *   some element of the list, or of the array at the /path operand (false
 *   when that is not an array); nin is exactly not in.
 * The filter is not modified, so one filter may be matched from several
 * threads at once. */
int wbs_filter_match(const wbs_filter *f, const cJSON *envelope);

/* 1 when the filter mentions `path` anywhere, on either side of an operator
 * (e.g. "/meta/isDeleted", which makes deleted records visible,
 * polis-api.md G5). A missing leading '/' on either side is forgiven. */
int wbs_filter_mentions(const wbs_filter *f, const char *path);

/* Operators for wbs_filter_take (bits). */
enum {
    WBS_FILTER_EQ = 1u << 0,
    WBS_FILTER_GT = 1u << 1,
    WBS_FILTER_GTE = 1u << 2,
    WBS_FILTER_LT = 1u << 3,
    WBS_FILTER_LTE = 1u << 4
};

/* Hand one term over to the caller, who evaluates it some other way (the
 * list pushes it into SQL): a term `path OP "string"` with OP among ops
 * (bits above) that is a top-level conjunct of the filter (the whole
 * filter, or an operand of its top-level `and`, through nested `and`s,
 * never under an `or`), not taken before. The term then counts as true in
 * wbs_filter_match, so the filter keeps the meaning "the rest"; it still
 * counts for wbs_filter_mentions. path compares as in wbs_filter_mentions.
 * Returns the operator's bit with *value set to the string (borrowed,
 * valid until wbs_filter_free), or 0 when there is no such term. */
unsigned wbs_filter_take(const char **value, wbs_filter *f, const char *path, unsigned ops);

/* Hand over, as wbs_filter_take does, a term that asks for `path` to be
 * a boolean out of a set: `path in [true, false]` (the sync client's way
 * of asking for deleted records too), `path in [true]`, `path eq false`…
 * (a list of booleans only, not empty). Returns WBS_FILTER_TRUE and/or
 * WBS_FILTER_FALSE for the values the term accepts, or 0 when there is no
 * such term. */
enum { WBS_FILTER_TRUE = 1u, WBS_FILTER_FALSE = 2u };
unsigned wbs_filter_take_bools(wbs_filter *f, const char *path);

/* 1 when nothing of the filter is left to evaluate: NULL, or every term
 * taken by wbs_filter_take. */
int wbs_filter_empty(const wbs_filter *f);

/* Accepts NULL. */
void wbs_filter_free(wbs_filter *f);

/* Sort keys. */
typedef struct wbs_sort_key {
    char *path; /* JSON Pointer into the envelope, leading '/' */
    int desc;
} wbs_sort_key;

typedef struct wbs_sort {
    wbs_sort_key *keys;
    size_t n;
} wbs_sort;

/* Parse the values of the repeated `sort` query parameters: either one JSON
 * array ["id","ASC"] / ["/meta/modified","ASC","id","ASC"], or an even number
 * of plain values (field, direction, field, direction…). Fields are JSON
 * Pointers with the leading '/' optional ("data/name"). Directions ASC/DESC
 * (case-insensitive). "/data/id" maps to "/id" (G8). `id` ASC is appended as a
 * final tie-breaker unless "/id" is already the last key (in either
 * direction). n_values == 0 gives id ASC. At most 16 keys, each value at most
 * 4096 bytes. Returns 0 with *out filled (free with wbs_sort_free), or -1
 * with *out empty and a one-line message in err naming the value (1-based)
 * and the problem. */
int wbs_sort_parse(wbs_sort *out, const char *const *values, size_t n_values, char *err,
                   size_t errlen);

/* Compare two envelopes by the sort keys (qsort-style: <0, 0, >0). Missing <
 * null < false < true < numbers < strings < arrays < objects; numbers
 * numerically, strings bytewise (timestamps are fixed-width); two arrays,
 * or two objects, tie. DESC reverses a key's order. */
int wbs_sort_compare(const wbs_sort *s, const cJSON *a, const cJSON *b);

/* Frees the keys and empties *s; accepts NULL and an empty sort. */
void wbs_sort_free(wbs_sort *s);

#endif
