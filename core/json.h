/*
 * json.h - the strict JSON layer over cJSON.
 *
 * cJSON alone is lenient (trailing bytes, duplicate members, case-insensitive
 * lookup by default, non-RFC numbers). Everything walkbook reads from a
 * caller, a file or the network goes through wb_json__parse, which enforces
 * RFC 8259 strictly and the limits below, and reports errors with the byte
 * offset and the problem.
 */
#ifndef WB_JSON_H
#define WB_JSON_H

#include <cjson/cJSON.h>

#include "common.h"

typedef struct wb_json_limits {
    size_t max_bytes; /* whole text; 0 = default (WB_JSON_DEFAULT_MAX_BYTES) */
    int max_depth;    /* nesting of arrays/objects; 0 = default */
} wb_json_limits;

#define WB_JSON_DEFAULT_MAX_BYTES (16u * 1024u * 1024u)
#define WB_JSON_DEFAULT_MAX_DEPTH 64

/* Parse exactly `len` bytes of `text` (which need not be NUL-terminated).
 * Refuses: any RFC 8259 syntax error, bytes after the value other than
 * whitespace, NUL bytes, invalid UTF-8 (including lone surrogate escapes),
 * duplicate member names in one object, input over the limits.
 * `what` names the input in the message ("body", "patch"). limits may be NULL.
 * Returns 0 and sets *out, or WB_EINVALID / WB_ETOOBIG / WB_ENOMEM with a
 * message such as "body: duplicate member \"a\" at byte 17". */
int wb_json__parse(cJSON **out, const char *text, size_t len, const wb_json_limits *limits,
                   const char *what);

/* wb_json__parse in two steps, for text checked long before it is parsed
 * (a pull page is checked when it arrives, each element parsed when it is
 * applied): wb_json__check refuses what wb_json__parse refuses except
 * duplicate members and numbers out of range, without building a tree;
 * wb_json__parse_checked parses text that wb_json__check accepted and
 * refuses those two. Same errors and messages as wb_json__parse. */
int wb_json__check(const char *text, size_t len, const wb_json_limits *limits, const char *what);
int wb_json__parse_checked(cJSON **out, const char *text, size_t len, const char *what);

/* Scanners of JSON text by its bytes, for a caller that needs the spans
 * of a few values without a tree. Each stops at `end`:
 *  - skip_ws_text: past spaces, tabs and line ends;
 *  - skip_string_text: p at '"', past the closing quote (a quote ends the
 *    string unless an odd number of backslashes precedes it; memchr finds
 *    the candidates), NULL when the text ends first;
 *  - skip_value_text: past one value (not checked: a scalar ends at ',', ']',
 *    '}' or whitespace), NULL when the text ends inside a container or
 *    nests deeper than WB_JSON_DEFAULT_MAX_DEPTH. */
const char *wb_json__skip_ws_text(const char *p, const char *end);
const char *wb_json__skip_string_text(const char *p, const char *end);
const char *wb_json__skip_value_text(const char *p, const char *end);

/* One member of an object in text that wb_json__check accepted: the name
 * between its quotes (escapes left as they are) and the value's text. */
typedef struct wb_json_member {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} wb_json_member;

/* The members of the object `text` (checked text: an object, whitespace
 * around it allowed), in text order, without building a tree: for a
 * caller that needs a few members of a large text. Returns their number,
 * or -1 when the text is not an object or has more than `max` members. */
int wb_json__members(wb_json_member *out, size_t max, const char *text, size_t len);

/* Compact serialisation, members in stored order. Returns a wb__malloc'd
 * string (free with wb__free) or NULL on oom (error set). */
char *wb_json__print(const cJSON *item);

/* A number as JavaScript's Number#toString writes it (ECMAScript
 * §7.1.12.1): the shortest digits that read back as the same double, plain
 * decimal for 1e-7 <= |d| < 1e21 and "1e-7"/"1.5e+21" outside, "0" for -0,
 * "null" for NaN and infinities (which the parser never produces). Servers
 * that speak Polis are JavaScript, so this is the text whose bytes their
 * etags hash; it is also the shortest exact form. Independent of the
 * locale. */
#define WB_JSON_NUMBER_MAX 32
void wb_json__format_number(char out[WB_JSON_NUMBER_MAX], double d);

/* Append the compact serialisation of item to b. */
int wb_json__print_buf(wb_buf *b, const cJSON *item);

/* Deep structural equality: objects compare as unordered sets of members,
 * numbers by value. */
int wb_json__equal(const cJSON *a, const cJSON *b);

/* Case-sensitive member lookup (NULL when absent or obj is not an object). */
cJSON *wb_json__get(const cJSON *obj, const char *name);

/* Deep copy (NULL on oom, error set). */
cJSON *wb_json__dup(const cJSON *item);

/* Name of a JSON type for messages: "string", "number", "object", ... */
const char *wb_json__type_name(const cJSON *item);

/* Compact text: what wb_json__print writes. wb_json__is_compact: 1 when
 * text that wb_json__check accepted is exactly wb_json__print of its parse
 * (no whitespace, strings without escapes, numbers as the printer writes
 * them) and wb_json__parse_checked would accept it (no duplicate member,
 * no number out of range); 0 otherwise, or on any doubt. A pulled record
 * whose envelope is compact is stored from its text, without a tree.
 * wb_json__compact_member: the value of member `name` of the object `obj`
 * (compact text) as [*v, *v + *v_len): 1, or 0 when absent.
 * wb_json__compact_members: the members names[0..n) in one pass, v[i]
 * NULL for each one absent; returns how many were found.
 * wb_json__compact_number_value: a number token read as the parser reads
 * it: 1, or 0 when it is not a number. */
int wb_json__is_compact(const char *text, size_t len);
int wb_json__compact_member(const char *obj, size_t len, const char *name, const char **v,
                            size_t *v_len);
int wb_json__compact_members(const char *obj, size_t len, const char *const *names, size_t n,
                             const char **v, size_t *v_len);
int wb_json__compact_number_value(double *out, const char *p, size_t len);

#endif
