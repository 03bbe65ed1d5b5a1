/* test_server_query.c - walkbook-server's filter expressions, bracket terms,
 * evaluation against envelopes, and sort specifications (query.h). */
#include "../tools/walkbook-server/query.c"

#include <cjson/cJSON.h>

#include "wbtest.h"

/* An interaction-like envelope with a value of every JSON type. */
static const char env_json[] =
    "{\"id\":\"b1b1b1b1-0000-4000-8000-000000000001\",\"customerId\":\"cust-1\","
    "\"data\":{\"campaignId\":\"61fbfbaa-5de8-4d17-ac2b-c47f2376265a\","
    "\"listId\":\"81414d4e-e237-467e-81f1-80cbe6652231\","
    "\"name\":\"Hello world\",\"count\":42,\"ratio\":0.5,\"neg\":-3,\"flag\":true,"
    "\"off\":false,\"none\":null,\"empty\":\"\",\"quote\":\"say \\\"hi\\\"\","
    "\"back\":\"a\\\\b\",\"accent\":\"caf\\u00e9\",\"line\":\"a\\nb\","
    "\"tags\":[\"a\",\"b\",42,null],\"nums\":[10,20,30],\"nested\":{\"x\":1},"
    "\"a/b\":\"slash\",\"m~n\":\"tilde\",\"\":\"emptykey\",\"status\":\"complete\","
    "\"organizationId\":\"eb4dfe83-0000-4000-8000-000000000000\","
    "\"otherName\":\"Hello world\",\"low\":40,\"high\":50,\"star\":\"a*b\"},"
    "\"meta\":{\"created\":\"2020-01-01T00:00:00.000Z\","
    "\"modified\":\"2020-05-01T10:00:00.000Z\",\"isDeleted\":false,\"etag\":\"e1\"}}";

/* The envelope the examples of polis-api.md §4.1 talk about. */
static const char doc_json[] =
    "{\"foo\":{\"bar\":\"qux\"},\"qux\":42,\"quux\":\"Hello, world\",\"bar\":[1,\"x\",7]}";

/* Parse expr and match it against json: 1 or 0, or -1 when either does not
 * parse (the reason is printed). */
static int m(const char *expr, const char *json)
{
    char err[256];
    wbs_filter *f = NULL;
    cJSON *env;
    int r;
    if (wbs_filter_parse(&f, expr, err, sizeof(err)) != 0) {
        fprintf(stderr, "    parse failed: %s: %s\n", expr, err);
        return -1;
    }
    env = cJSON_Parse(json);
    if (!env) {
        fprintf(stderr, "    bad test JSON\n");
        wbs_filter_free(f);
        return -1;
    }
    r = wbs_filter_match(f, env);
    cJSON_Delete(env);
    wbs_filter_free(f);
    return r;
}

static int me(const char *expr)
{
    return m(expr, env_json);
}

/* Assert that expr is refused with a one-line message containing `needle`
 * and naming a position. */
#define ASSERT_REFUSED(expr, needle)                                                               \
    do {                                                                                           \
        char err_[256];                                                                            \
        wbs_filter *f_ = (wbs_filter *)&err_; /* must come back NULL */                            \
        int rc_ = wbs_filter_parse(&f_, (expr), err_, sizeof(err_));                               \
        if (rc_ != -1) {                                                                           \
            wbs_filter_free(rc_ == 0 ? f_ : NULL);                                                 \
            WBT_FAIL("%s: parse returned %d, expected -1", #expr, rc_);                            \
        }                                                                                          \
        WBT_ASSERT(f_ == NULL);                                                                    \
        WBT_ASSERT(strchr(err_, '\n') == NULL);                                                    \
        WBT_ASSERT_CONTAINS(err_, "filter: ");                                                     \
        WBT_ASSERT_CONTAINS(err_, " at ");                                                         \
        WBT_ASSERT_CONTAINS(err_, (needle));                                                       \
    } while (0)

/* ---- operators ---------------------------------------------------------- */

static void test_server_query__eq(void)
{
    WBT_ASSERT_INT(me("/data/name eq \"Hello world\""), 1);
    WBT_ASSERT_INT(me("/data/name eq \"hello world\""), 0); /* bytewise */
    WBT_ASSERT_INT(me("/data/name eq \"Hello\""), 0);
    WBT_ASSERT_INT(me("/data/count eq 42"), 1);
    WBT_ASSERT_INT(me("/data/count eq 42.0"), 1);
    WBT_ASSERT_INT(me("/data/count eq 4.2e1"), 1);
    WBT_ASSERT_INT(me("/data/count eq 43"), 0);
    WBT_ASSERT_INT(me("/data/count eq \"42\""), 0); /* no coercion */
    WBT_ASSERT_INT(me("/data/neg eq -3"), 1);
    WBT_ASSERT_INT(me("/data/ratio eq 0.5"), 1);
    WBT_ASSERT_INT(me("/data/flag eq true"), 1);
    WBT_ASSERT_INT(me("/data/flag eq false"), 0);
    WBT_ASSERT_INT(me("/data/off eq false"), 1);
    WBT_ASSERT_INT(me("/data/off eq true"), 0);
    WBT_ASSERT_INT(me("/data/flag eq \"true\""), 0);
    WBT_ASSERT_INT(me("/data/empty eq \"\""), 1);
    WBT_ASSERT_INT(me("/data/missing eq \"x\""), 0);
    WBT_ASSERT_INT(me("/data/nested/x eq 1"), 1);
    WBT_ASSERT_INT(me("/customerId eq \"cust-1\""), 1);
    /* Keywords are case-insensitive. */
    WBT_ASSERT_INT(me("/data/count EQ 42 AND /data/flag Eq TRUE"), 1);
}

static void test_server_query__neq(void)
{
    WBT_ASSERT_INT(me("/data/name neq \"Hello world\""), 0);
    WBT_ASSERT_INT(me("/data/name neq \"Goodbye\""), 1);
    WBT_ASSERT_INT(me("/data/count neq 42"), 0);
    WBT_ASSERT_INT(me("/data/count neq 41"), 1);
    WBT_ASSERT_INT(me("/data/count neq \"42\""), 1);
    WBT_ASSERT_INT(me("/data/flag neq false"), 1);
    WBT_ASSERT_INT(me("/data/missing neq \"x\""), 1);
}

static void test_server_query__ordering(void)
{
    WBT_ASSERT_INT(me("/data/count gt 41"), 1);
    WBT_ASSERT_INT(me("/data/count gt 42"), 0);
    WBT_ASSERT_INT(me("/data/count gte 42"), 1);
    WBT_ASSERT_INT(me("/data/count gte 42.5"), 0);
    WBT_ASSERT_INT(me("/data/count lt 43"), 1);
    WBT_ASSERT_INT(me("/data/count lt 42"), 0);
    WBT_ASSERT_INT(me("/data/count lte 42"), 1);
    WBT_ASSERT_INT(me("/data/count lte 41.999"), 0);
    WBT_ASSERT_INT(me("/data/neg lt 0"), 1);
    WBT_ASSERT_INT(me("/data/neg gt -3.5"), 1);
    /* Numerically, not as text: 42 > 5 although "42" < "5". */
    WBT_ASSERT_INT(me("/data/count gt 5"), 1);
    /* Strings bytewise: the fixed-width timestamps order correctly. */
    WBT_ASSERT_INT(me("/meta/modified gt \"2020-01-01T00:00:00.000Z\""), 1);
    WBT_ASSERT_INT(me("/meta/modified gte \"2020-05-01T10:00:00.000Z\""), 1);
    WBT_ASSERT_INT(me("/meta/modified gt \"2020-05-01T10:00:00.000Z\""), 0);
    WBT_ASSERT_INT(me("/meta/modified lt \"2020-05-01T10:00:00.001Z\""), 1);
    WBT_ASSERT_INT(me("/meta/modified lte \"2020-04-30T23:59:59.999Z\""), 0);
    WBT_ASSERT_INT(me("/data/name gt \"Hello\""), 1);
    WBT_ASSERT_INT(me("/data/name lt \"hello\""), 1); /* 'H' < 'h' */
    /* Mixed types and missing fields are never ordered. */
    WBT_ASSERT_INT(me("/data/count gt \"1\""), 0);
    WBT_ASSERT_INT(me("/data/count lt \"1\""), 0);
    WBT_ASSERT_INT(me("/data/name gt 1"), 0);
    WBT_ASSERT_INT(me("/data/name lte 1"), 0);
    WBT_ASSERT_INT(me("/data/flag gte 0"), 0);
    WBT_ASSERT_INT(me("/data/none gte 0"), 0);
    WBT_ASSERT_INT(me("/data/missing gte 0"), 0);
    WBT_ASSERT_INT(me("/data/missing lt \"z\""), 0);
    WBT_ASSERT_INT(me("/data/nums gt 0"), 0);
}

static void test_server_query__like(void)
{
    WBT_ASSERT_INT(me("/data/name like \"Hello*\""), 1);
    WBT_ASSERT_INT(me("/data/name like \"*world\""), 1);
    WBT_ASSERT_INT(me("/data/name like \"*lo w*\""), 1);
    WBT_ASSERT_INT(me("/data/name like \"Hello world\""), 1);
    WBT_ASSERT_INT(me("/data/name like \"*\""), 1);
    WBT_ASSERT_INT(me("/data/name like \"H*o*o*d\""), 1);
    WBT_ASSERT_INT(me("/data/name like \"**world**\""), 1);
    /* Anchored at both ends. */
    WBT_ASSERT_INT(me("/data/name like \"Hello\""), 0);
    WBT_ASSERT_INT(me("/data/name like \"world\""), 0);
    WBT_ASSERT_INT(me("/data/name like \"ello*\""), 0);
    WBT_ASSERT_INT(me("/data/name like \"*worl\""), 0);
    /* Case-sensitive. */
    WBT_ASSERT_INT(me("/data/name like \"hello*\""), 0);
    /* Only '*' is special: '?', '%', '_' and '.' are themselves. */
    WBT_ASSERT_INT(me("/data/name like \"Hell? world\""), 0);
    WBT_ASSERT_INT(me("/data/name like \"Hello%\""), 0);
    WBT_ASSERT_INT(me("/data/name like \"Hello_world\""), 0);
    WBT_ASSERT_INT(me("/data/name like \"Hello.*\""), 0);
    WBT_ASSERT_INT(me("/data/star like \"a*b\""), 1);
    /* Backtracking past a partial match. */
    WBT_ASSERT_INT(m("/s like \"*ab*abc\"", "{\"s\":\"xxababcabab abc\"}"), 1);
    WBT_ASSERT_INT(m("/s like \"*ab*abc\"", "{\"s\":\"xxababcabab ab\"}"), 0);
    WBT_ASSERT_INT(m("/s like \"a*a*a*a*a*a*a*b\"", "{\"s\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}"),
                   0);
    /* The empty string. */
    WBT_ASSERT_INT(me("/data/empty like \"*\""), 1);
    WBT_ASSERT_INT(me("/data/empty like \"\""), 1);
    WBT_ASSERT_INT(me("/data/empty like \"?\""), 0);
    WBT_ASSERT_INT(me("/data/name like \"\""), 0);
    /* Only strings are matched. */
    WBT_ASSERT_INT(me("/data/count like \"*\""), 0);
    WBT_ASSERT_INT(me("/data/count like \"42\""), 0);
    WBT_ASSERT_INT(me("/data/none like \"*\""), 0);
    WBT_ASSERT_INT(me("/data/missing like \"*\""), 0);
    /* UTF-8 passes through bytewise. */
    WBT_ASSERT_INT(me("/data/accent like \"caf*\""), 1);
    WBT_ASSERT_INT(me("/data/accent like \"*\\u00e9\""), 1);
}

static void test_server_query__in_nin(void)
{
    WBT_ASSERT_INT(me("/data/count in [1,42,\"x\"]"), 1);
    WBT_ASSERT_INT(me("/data/count in [1,2]"), 0);
    WBT_ASSERT_INT(me("/data/count in [\"42\"]"), 0);
    WBT_ASSERT_INT(me("/data/name in [\"a\", \"Hello world\"]"), 1);
    WBT_ASSERT_INT(me("/data/flag in [true]"), 1);
    WBT_ASSERT_INT(me("/data/flag in [false]"), 0);
    WBT_ASSERT_INT(me("/data/count in []"), 0);
    WBT_ASSERT_INT(me("/data/count nin []"), 1);
    WBT_ASSERT_INT(me("/data/count nin [1,2]"), 1);
    WBT_ASSERT_INT(me("/data/count nin [1,42]"), 0);
    WBT_ASSERT_INT(me("/data/name nin [\"Hello world\"]"), 0);
    WBT_ASSERT_INT(me("/data/name nin [\"hello world\"]"), 1);
    /* nil in a list matches null and missing, as eq does. */
    WBT_ASSERT_INT(me("/data/none in [nil]"), 1);
    WBT_ASSERT_INT(me("/data/missing in [nil, 1]"), 1);
    WBT_ASSERT_INT(me("/data/missing in [1, 2]"), 0);
    WBT_ASSERT_INT(me("/data/missing nin [1, 2]"), 1);
    WBT_ASSERT_INT(me("/data/missing nin [nil]"), 0);
    WBT_ASSERT_INT(me("/data/count nin [nil]"), 1);
    /* Against the array held by another field. */
    WBT_ASSERT_INT(me("/data/count in /data/tags"), 1);
    WBT_ASSERT_INT(me("/data/ratio in /data/tags"), 0);
    WBT_ASSERT_INT(me("/data/tags/0 in /data/tags"), 1);
    WBT_ASSERT_INT(me("/data/none in /data/tags"), 1);
    WBT_ASSERT_INT(me("/data/nums/1 in /data/nums"), 1);
    WBT_ASSERT_INT(me("/data/count nin /data/nums"), 1);
    WBT_ASSERT_INT(me("/data/nums/2 nin /data/nums"), 0);
    /* A field that is not an array holds nothing. */
    WBT_ASSERT_INT(me("/data/name in /data/name"), 0);
    WBT_ASSERT_INT(me("/data/name nin /data/name"), 1);
    WBT_ASSERT_INT(me("/data/count in /data/missing"), 0);
    WBT_ASSERT_INT(me("/data/count nin /data/missing"), 1);
}

static void test_server_query__between(void)
{
    WBT_ASSERT_INT(me("/data/count between 0,42"), 1);
    WBT_ASSERT_INT(me("/data/count between 42,100"), 1);
    WBT_ASSERT_INT(me("/data/count between 40,45"), 1);
    WBT_ASSERT_INT(me("/data/count between 0,41"), 0);
    WBT_ASSERT_INT(me("/data/count between 43,100"), 0);
    WBT_ASSERT_INT(me("/data/count between 50,10"), 0); /* empty range */
    WBT_ASSERT_INT(me("/data/neg between -5, -1"), 1);
    WBT_ASSERT_INT(me("/data/ratio between 0.25 , 0.75"), 1);
    WBT_ASSERT_INT(me("/meta/modified between \"2020-05-01T10:00:00.000Z\",\"2020-06-01\""), 1);
    WBT_ASSERT_INT(me("/meta/modified between \"2020-01-01\",\"2020-05-01T10:00:00.000Z\""), 1);
    WBT_ASSERT_INT(me("/meta/modified between \"2020-06-01\",\"2021\""), 0);
    WBT_ASSERT_INT(me("/data/name between 0,100"), 0);
    WBT_ASSERT_INT(me("/data/count between \"0\",\"9\""), 0);
    WBT_ASSERT_INT(me("/data/missing between 0,100"), 0);
    WBT_ASSERT_INT(me("/data/none between 0,100"), 0);
}

/* ---- operands, nil, paths ------------------------------------------------ */

static void test_server_query__nil(void)
{
    /* eq nil: null or missing. */
    WBT_ASSERT_INT(me("/data/none eq nil"), 1);
    WBT_ASSERT_INT(me("/data/missing eq nil"), 1);
    WBT_ASSERT_INT(me("/nothing/at/all eq nil"), 1);
    WBT_ASSERT_INT(me("/data/name/deeper eq nil"), 1); /* through a string */
    WBT_ASSERT_INT(me("/data/count eq nil"), 0);
    WBT_ASSERT_INT(me("/data/off eq nil"), 0);
    WBT_ASSERT_INT(me("/data/empty eq nil"), 0);
    WBT_ASSERT_INT(me("/data/nums eq nil"), 0);
    /* neq nil: present and not null. */
    WBT_ASSERT_INT(me("/data/none neq nil"), 0);
    WBT_ASSERT_INT(me("/data/missing neq nil"), 0);
    WBT_ASSERT_INT(me("/data/count neq nil"), 1);
    WBT_ASSERT_INT(me("/data/off neq nil"), 1);
    WBT_ASSERT_INT(me("/data/empty neq nil"), 1);
    /* null is an alias; a null field equals nothing but nil. */
    WBT_ASSERT_INT(me("/data/none eq null"), 1);
    WBT_ASSERT_INT(me("/data/none eq false"), 0);
    WBT_ASSERT_INT(me("/data/none eq 0"), 0);
    WBT_ASSERT_INT(me("/data/none eq \"\""), 0);
    WBT_ASSERT_INT(me("/data/none neq \"\""), 1);
}

static void test_server_query__path_operands(void)
{
    WBT_ASSERT_INT(me("/data/name eq /data/otherName"), 1);
    WBT_ASSERT_INT(me("/data/name eq /data/status"), 0);
    WBT_ASSERT_INT(me("/data/name neq /data/status"), 1);
    WBT_ASSERT_INT(me("/data/count gt /data/low"), 1);
    WBT_ASSERT_INT(me("/data/count lt /data/high"), 1);
    WBT_ASSERT_INT(me("/data/count gte /data/high"), 0);
    WBT_ASSERT_INT(me("/data/count lte /data/count"), 1);
    WBT_ASSERT_INT(me("/meta/modified gt /meta/created"), 1);
    WBT_ASSERT_INT(me("/data/count gt /data/name"), 0);
    /* A missing or null operand field counts as nil. */
    WBT_ASSERT_INT(me("/data/none eq /data/missing"), 1);
    WBT_ASSERT_INT(me("/data/missing eq /data/none"), 1);
    WBT_ASSERT_INT(me("/data/count eq /data/missing"), 0);
    WBT_ASSERT_INT(me("/data/count neq /data/missing"), 1);
    WBT_ASSERT_INT(me("/data/count gt /data/missing"), 0);
    /* Structured values compare structurally. */
    WBT_ASSERT_INT(m("/a eq /b", "{\"a\":{\"x\":[1,2]},\"b\":{\"x\":[1,2]}}"), 1);
    WBT_ASSERT_INT(m("/a eq /b", "{\"a\":{\"x\":[1,2]},\"b\":{\"x\":[2,1]}}"), 0);
    WBT_ASSERT_INT(m("/a eq /b", "{\"a\":[1],\"b\":{\"0\":1}}"), 0);
    WBT_ASSERT_INT(m("/a eq /b", "{\"a\":true,\"b\":true}"), 1);
    WBT_ASSERT_INT(m("/a eq /b", "{\"a\":true,\"b\":1}"), 0);
}

static void test_server_query__pointers(void)
{
    /* RFC 6901 escapes: ~1 is '/', ~0 is '~'. */
    WBT_ASSERT_INT(me("/data/a~1b eq \"slash\""), 1);
    WBT_ASSERT_INT(me("/data/m~0n eq \"tilde\""), 1);
    WBT_ASSERT_INT(me("/data/a/b eq \"slash\""), 0);
    /* The empty key. */
    WBT_ASSERT_INT(me("/data/ eq \"emptykey\""), 1);
    /* Array indices: decimal, no leading zeros, "-" never exists. */
    WBT_ASSERT_INT(me("/data/nums/0 eq 10"), 1);
    WBT_ASSERT_INT(me("/data/nums/2 eq 30"), 1);
    WBT_ASSERT_INT(me("/data/nums/3 eq nil"), 1);
    WBT_ASSERT_INT(me("/data/nums/01 eq nil"), 1);
    WBT_ASSERT_INT(me("/data/nums/- eq nil"), 1);
    WBT_ASSERT_INT(me("/data/nums/1x eq nil"), 1);
    WBT_ASSERT_INT(me("/data/nums/99999999999999999999999 eq nil"), 1);
    WBT_ASSERT_INT(me("/data/tags/3 eq nil"), 1);
    WBT_ASSERT_INT(me("/data/tags/3 neq nil"), 0);
    /* Member names are case-sensitive. */
    WBT_ASSERT_INT(me("/Data/count eq 42"), 0);
    /* A missing leading slash on the left is accepted. */
    WBT_ASSERT_INT(me("data/count eq 42"), 1);
    WBT_ASSERT_INT(me("customerId eq \"cust-1\""), 1);
    /* Duplicate members: the first one counts (cJSON's rule). */
    WBT_ASSERT_INT(m("/a eq 1", "{\"a\":1,\"a\":2}"), 1);
    /* A filter is matched against any JSON value. */
    WBT_ASSERT_INT(m("/0 eq \"x\"", "[\"x\"]"), 1);
    WBT_ASSERT_INT(m("/a eq nil", "42"), 1);
}

static void test_server_query__strings(void)
{
    WBT_ASSERT_INT(me("/data/quote eq \"say \\\"hi\\\"\""), 1);
    WBT_ASSERT_INT(me("/data/quote eq \"say \\\"hi\""), 0);
    WBT_ASSERT_INT(me("/data/back eq \"a\\\\b\""), 1);
    WBT_ASSERT_INT(me("/data/line eq \"a\\nb\""), 1);
    WBT_ASSERT_INT(me("/data/accent eq \"caf\\u00e9\""), 1);
    WBT_ASSERT_INT(me("/data/accent eq \"caf\\u00E9\""), 1);
    WBT_ASSERT_INT(me("/data/accent eq \"caf\xc3\xa9\""), 1); /* raw UTF-8 */
    WBT_ASSERT_INT(m("/s eq \"a\\/b\"", "{\"s\":\"a/b\"}"), 1);
    WBT_ASSERT_INT(m("/s eq \"\\ud83d\\ude00\"", "{\"s\":\"\xf0\x9f\x98\x80\"}"), 1);
    /* Operators and parentheses inside strings are just text. */
    WBT_ASSERT_INT(m("/s eq \"a) or (b eq \\\"c\"", "{\"s\":\"a) or (b eq \\\"c\"}"), 1);
    WBT_ASSERT_INT(m("/s like \"*[x, y]*\"", "{\"s\":\"in [x, y] out\"}"), 1);
}

/* ---- combinations ------------------------------------------------------ */

static void test_server_query__and_or_precedence(void)
{
    WBT_ASSERT_INT(me("/data/count eq 42 and /data/flag eq true"), 1);
    WBT_ASSERT_INT(me("/data/count eq 42 and /data/flag eq false"), 0);
    WBT_ASSERT_INT(me("/data/count eq 1 and /data/flag eq true"), 0);
    WBT_ASSERT_INT(me("/data/count eq 1 or /data/flag eq true"), 1);
    WBT_ASSERT_INT(me("/data/count eq 1 or /data/flag eq false"), 0);
    WBT_ASSERT_INT(me("/data/count eq 42 or /data/flag eq false"), 1);
    /* and binds tighter: a or (b and c) */
    WBT_ASSERT_INT(me("/data/count eq 42 or /data/flag eq false and /data/off eq true"), 1);
    WBT_ASSERT_INT(me("(/data/count eq 42 or /data/flag eq false) and /data/off eq true"), 0);
    /* (a and b) or c */
    WBT_ASSERT_INT(me("/data/flag eq false and /data/off eq true or /data/count eq 42"), 1);
    WBT_ASSERT_INT(me("/data/flag eq false and (/data/off eq true or /data/count eq 42)"), 0);
    /* Long chains mix. */
    WBT_ASSERT_INT(me("/data/count eq 1 or /data/count eq 2 or /data/count eq 3 or "
                      "/data/count eq 42 and /data/neg eq -3"),
                   1);
    WBT_ASSERT_INT(me("/data/count eq 42 and /data/neg eq -3 and /data/ratio eq 0.5 and "
                      "/data/flag eq false"),
                   0);
    /* Redundant and nested parentheses, no spaces around them. */
    WBT_ASSERT_INT(me("((((/data/count eq 42))))"), 1);
    WBT_ASSERT_INT(me("(/data/count eq 1)or(/data/count eq 42)"), 1);
    WBT_ASSERT_INT(me("((/data/count eq 1 or (/data/neg eq -3 and (/data/flag eq true))))"), 1);
    /* Whitespace of every kind. */
    WBT_ASSERT_INT(me("  \t/data/count\teq\n42\r\n and  /data/flag   eq true  "), 1);
}

static void test_server_query__doc_examples(void)
{
    /* polis-api.md §4.1. */
    WBT_ASSERT_INT(m("(/foo/bar neq \"baz\" and /qux gte 42) or /quux like \"Hello*\"", doc_json),
                   1);
    WBT_ASSERT_INT(m("(/foo/bar neq \"qux\" and /qux gte 42) or /quux like \"Hello*\"", doc_json),
                   1);
    WBT_ASSERT_INT(m("(/foo/bar neq \"qux\" and /qux gte 42) or /quux like \"Bye*\"", doc_json), 0);
    WBT_ASSERT_INT(m("(/foo/bar neq \"baz\" and /qux gte 43) or /quux like \"Bye*\"", doc_json), 0);
    WBT_ASSERT_INT(m("foo/bar eq \"baz\"", doc_json), 0);
    WBT_ASSERT_INT(m("foo/bar eq \"qux\"", doc_json), 1);
    WBT_ASSERT_INT(m("/foo/bar eq nil", doc_json), 0);
    WBT_ASSERT_INT(m("/foo/baz eq nil", doc_json), 1);
    WBT_ASSERT_INT(m("/foo/bar neq \"baz\"", doc_json), 1);
    WBT_ASSERT_INT(m("/qux gte 42", doc_json), 1);
    WBT_ASSERT_INT(m("/quux like \"Hello*\"", doc_json), 1);
    WBT_ASSERT_INT(m("/foo in /bar", "{\"foo\":7,\"bar\":[1,\"x\",7]}"), 1);
    WBT_ASSERT_INT(m("/foo in /bar", "{\"foo\":8,\"bar\":[1,\"x\",7]}"), 0);
    WBT_ASSERT_INT(m("/foo nin [42,\"bar\",\"baz\"]", "{\"foo\":\"bar\"}"), 0);
    WBT_ASSERT_INT(m("/foo nin [42,\"bar\",\"baz\"]", "{\"foo\":42}"), 0);
    WBT_ASSERT_INT(m("/foo nin [42,\"bar\",\"baz\"]", "{\"foo\":\"qux\"}"), 1);
    WBT_ASSERT_INT(m("/foo between 0,42", "{\"foo\":0}"), 1);
    WBT_ASSERT_INT(m("/foo between 0,42", "{\"foo\":42}"), 1);
    WBT_ASSERT_INT(m("/foo between 0,42", "{\"foo\":-1}"), 0);
    WBT_ASSERT_INT(m("/foo between 0,42", "{\"foo\":43}"), 0);
}

static void test_server_query__url_decoded_forms(void)
{
    /* §4.2, after URL decoding with '+' turned into spaces. */
    WBT_ASSERT_INT(me("/data/listId eq \"81414d4e-e237-467e-81f1-80cbe6652231\""), 1);
    WBT_ASSERT_INT(me("/data/listId eq \"81414d4e-e237-467e-81f1-80cbe6652232\""), 0);
    WBT_ASSERT_INT(me("/data/organizationId eq \"eb4dfe83-0000-4000-8000-000000000000\" and "
                      "/data/status eq \"complete\""),
                   1);
    WBT_ASSERT_INT(me("/data/organizationId eq \"eb4dfe83-0000-4000-8000-000000000000\" and "
                      "/data/status eq \"pending\""),
                   0);
    WBT_ASSERT_INT(me("/customerId eq \"cust-1\""), 1);
}

static void test_server_query__pull_filter(void)
{
    static const char f[] = "/data/campaignId eq \"61fbfbaa-5de8-4d17-ac2b-c47f2376265a\" and "
                            "/meta/modified gte \"2020-01-01T00:00:00.000Z\" and "
                            "/meta/isDeleted in [true,false]";
    static const char later[] = "/data/campaignId eq \"61fbfbaa-5de8-4d17-ac2b-c47f2376265a\" and "
                                "/meta/modified gte \"2020-05-01T10:00:00.001Z\" and "
                                "/meta/isDeleted in [true,false]";
    static const char deleted[] =
        "{\"id\":\"x\",\"data\":{\"campaignId\":\"61fbfbaa-5de8-4d17-ac2b-c47f2376265a\"},"
        "\"meta\":{\"modified\":\"2021-01-01T00:00:00.000Z\",\"isDeleted\":true}}";
    static const char other[] =
        "{\"id\":\"y\",\"data\":{\"campaignId\":\"00000000-5de8-4d17-ac2b-c47f2376265a\"},"
        "\"meta\":{\"modified\":\"2021-01-01T00:00:00.000Z\",\"isDeleted\":false}}";
    char err[256];
    wbs_filter *flt = NULL;

    WBT_ASSERT_INT(me(f), 1);
    WBT_ASSERT_INT(me(later), 0);
    WBT_ASSERT_INT(m(f, deleted), 1);
    WBT_ASSERT_INT(m(f, other), 0);
    WBT_ASSERT_INT(wbs_filter_parse(&flt, f, err, sizeof(err)), 0);
    WBT_ASSERT(wbs_filter_mentions(flt, "/meta/isDeleted"));
    WBT_ASSERT(wbs_filter_mentions(flt, "meta/isDeleted"));
    WBT_ASSERT(wbs_filter_mentions(flt, "/meta/modified"));
    WBT_ASSERT(wbs_filter_mentions(flt, "/data/campaignId"));
    WBT_ASSERT(!wbs_filter_mentions(flt, "/meta"));
    WBT_ASSERT(!wbs_filter_mentions(flt, "/meta/isDeletedX"));
    WBT_ASSERT(!wbs_filter_mentions(flt, "/data/contactId"));
    wbs_filter_free(flt);
}

static void test_server_query__mentions(void)
{
    char err[256];
    wbs_filter *f = NULL;
    WBT_ASSERT_INT(wbs_filter_parse(&f,
                                    "(/a eq 1 or (b/c~1d eq 2 and /e in /meta/isDeleted)) or "
                                    "/x~0y eq nil",
                                    err, sizeof(err)),
                   0);
    WBT_ASSERT(wbs_filter_mentions(f, "/a"));
    WBT_ASSERT(wbs_filter_mentions(f, "/b/c~1d"));
    WBT_ASSERT(!wbs_filter_mentions(f, "/b/c/d"));
    WBT_ASSERT(wbs_filter_mentions(f, "/e"));
    WBT_ASSERT(wbs_filter_mentions(f, "/meta/isDeleted")); /* as an operand */
    WBT_ASSERT(wbs_filter_mentions(f, "/x~0y"));
    WBT_ASSERT(!wbs_filter_mentions(f, "/x~1y"));
    WBT_ASSERT(!wbs_filter_mentions(f, "/"));
    WBT_ASSERT(!wbs_filter_mentions(f, NULL));
    WBT_ASSERT(!wbs_filter_mentions(NULL, "/a"));
    wbs_filter_free(f);
    /* A string mentioning the path is not a mention. */
    f = NULL;
    WBT_ASSERT_INT(wbs_filter_parse(&f, "/a eq \"/meta/isDeleted\"", err, sizeof(err)), 0);
    WBT_ASSERT(!wbs_filter_mentions(f, "/meta/isDeleted"));
    wbs_filter_free(f);
}

static void test_server_query__bracket_form(void)
{
    char err[256];
    wbs_filter *f = NULL;
    cJSON *env = cJSON_Parse(env_json);
    WBT_ASSERT(env);
    /* A NULL filter matches everything. */
    WBT_ASSERT_INT(wbs_filter_match(NULL, env), 1);
    WBT_ASSERT_INT(wbs_filter_add_eq(&f, "/data/campaignId", "61fbfbaa-5de8-4d17-ac2b-c47f2376265a",
                                     err, sizeof(err)),
                   0);
    WBT_ASSERT(f);
    WBT_ASSERT_INT(wbs_filter_match(f, env), 1);
    WBT_ASSERT_INT(wbs_filter_add_eq(&f, "data/status", "complete", err, sizeof(err)), 0);
    WBT_ASSERT_INT(wbs_filter_match(f, env), 1);
    WBT_ASSERT(wbs_filter_mentions(f, "/data/status"));
    WBT_ASSERT_INT(wbs_filter_add_eq(&f, "/customerId", "cust-2", err, sizeof(err)), 0);
    WBT_ASSERT_INT(wbs_filter_match(f, env), 0);
    wbs_filter_free(f);

    /* Values are strings, compared bytewise. */
    f = NULL;
    WBT_ASSERT_INT(wbs_filter_add_eq(&f, "/data/count", "42", err, sizeof(err)), 0);
    WBT_ASSERT_INT(wbs_filter_match(f, env), 0);
    wbs_filter_free(f);
    f = NULL;
    WBT_ASSERT_INT(wbs_filter_add_eq(&f, "/data/quote", "say \"hi\"", err, sizeof(err)), 0);
    WBT_ASSERT_INT(wbs_filter_match(f, env), 1);
    wbs_filter_free(f);

    /* Joined with `and` to a parsed expression, or-expression kept whole. */
    f = NULL;
    WBT_ASSERT_INT(wbs_filter_parse(&f, "/data/count eq 1 or /data/count eq 42", err, sizeof(err)),
                   0);
    WBT_ASSERT_INT(wbs_filter_add_eq(&f, "/data/status", "complete", err, sizeof(err)), 0);
    WBT_ASSERT_INT(wbs_filter_match(f, env), 1);
    WBT_ASSERT_INT(wbs_filter_add_eq(&f, "/data/status", "pending", err, sizeof(err)), 0);
    WBT_ASSERT_INT(wbs_filter_match(f, env), 0);
    wbs_filter_free(f);

    /* Bad input leaves the filter as it was. */
    f = NULL;
    WBT_ASSERT_INT(wbs_filter_add_eq(&f, "/a~2", "x", err, sizeof(err)), -1);
    WBT_ASSERT(f == NULL);
    WBT_ASSERT_CONTAINS(err, "escape");
    WBT_ASSERT_INT(wbs_filter_add_eq(&f, "", "x", err, sizeof(err)), -1);
    WBT_ASSERT_CONTAINS(err, "empty path");
    WBT_ASSERT_INT(wbs_filter_add_eq(&f, "/a", NULL, err, sizeof(err)), -1);
    WBT_ASSERT_INT(wbs_filter_add_eq(NULL, "/a", "x", err, sizeof(err)), -1);
    WBT_ASSERT(f == NULL);

    /* The term limit applies to bracket terms too. */
    for (int i = 0; i < 256; i++)
        WBT_ASSERT_INT(wbs_filter_add_eq(&f, "/data/status", "complete", NULL, 0), 0);
    WBT_ASSERT_INT(wbs_filter_match(f, env), 1);
    WBT_ASSERT_INT(wbs_filter_add_eq(&f, "/data/status", "complete", err, sizeof(err)), -1);
    WBT_ASSERT_CONTAINS(err, "more than 256 terms");
    wbs_filter_free(f);
    cJSON_Delete(env);
}

/* ---- malformed input --------------------------------------------------- */

static void test_server_query__malformed(void)
{
    ASSERT_REFUSED("/a eq \"abc", "unterminated string at 6");
    ASSERT_REFUSED("/a eq \"abc\\\"", "unterminated string");
    ASSERT_REFUSED("/a eq \"ab\" and /b eq \"", "unterminated string at 21");
    ASSERT_REFUSED("/data/name equals \"x\"", "unknown operator \"equals\" at 11");
    ASSERT_REFUSED("/a == 1", "unknown operator \"==\" at 3");
    ASSERT_REFUSED("/a eq", "missing operand after eq at 5");
    ASSERT_REFUSED("/a eq and /b eq 1", "missing operand after eq at 6");
    ASSERT_REFUSED("(/a eq) or /b eq 1", "missing operand after eq at 6");
    ASSERT_REFUSED("/a in", "missing operand after in");
    ASSERT_REFUSED("/a", "missing operator after path at 2");
    ASSERT_REFUSED("/a \"x\"", "expected an operator, found a string at 3");
    ASSERT_REFUSED("/a eq 1 and", "missing term at 11");
    ASSERT_REFUSED("/a eq 1 or or /b eq 2", "expected a path or '(', found \"or\" at 11");
    ASSERT_REFUSED("and /a eq 1", "found \"and\" at 0");
    ASSERT_REFUSED("(/a eq 1", "unbalanced parentheses: '(' is never closed at 0");
    ASSERT_REFUSED("((/a eq 1)", "never closed at 0");
    ASSERT_REFUSED("/a eq 1)", "')' without '(' at 7");
    ASSERT_REFUSED("(/a eq 1))", "')' without '(' at 9");
    ASSERT_REFUSED(")", "unexpected ')' where a term was expected at 0");
    ASSERT_REFUSED("()", "unexpected ')' where a term was expected at 1");
    ASSERT_REFUSED("(/a eq 1 /b eq 2)", "expected and, or or ')', found \"/b\" at 9");
    ASSERT_REFUSED("/a eq 1 garbage", "expected and or or, found \"garbage\" at 8");
    ASSERT_REFUSED("/a eq 1 \"x\"", "expected and or or, found a string at 8");
    ASSERT_REFUSED("/a eq 1,2", "found ',' at 7");
    ASSERT_REFUSED("/a eq 1 (", "found '(' at 8");
    ASSERT_REFUSED("", "empty expression at 0");
    ASSERT_REFUSED("   \t ", "empty expression at 0");
    ASSERT_REFUSED("/a eq baz", "eq needs a \"string\", number, nil, true or false, found \"baz\"");
    ASSERT_REFUSED("/a eq 12abc", "bad number \"12abc\" at 6");
    ASSERT_REFUSED("/a eq 01", "bad number");
    ASSERT_REFUSED("/a eq -", "bad number");
    ASSERT_REFUSED("/a eq 1.", "bad number");
    ASSERT_REFUSED("/a eq .5", "found \".5\"");
    ASSERT_REFUSED("/a eq 1e999", "out of range");
    ASSERT_REFUSED("/a gt nil", "gt needs a number or a \"string\", found \"nil\"");
    ASSERT_REFUSED("/a lte true", "lte needs a number or a \"string\"");
    ASSERT_REFUSED("/a like 42", "like needs a \"pattern\", found \"42\" at 8");
    ASSERT_REFUSED("/a like /b", "like needs a \"pattern\"");
    ASSERT_REFUSED("/a in 42", "in needs a [list] or a /path, found \"42\"");
    ASSERT_REFUSED("/a nin \"x\"", "nin needs a [list] or a /path");
    ASSERT_REFUSED("/a in [1,2", "unterminated list at 6");
    ASSERT_REFUSED("/a in [1,", "unterminated list at 6");
    ASSERT_REFUSED("/a in [1 2]", "expected ',' or ']' in list, found \"2\" at 9");
    ASSERT_REFUSED("/a in [1,,2]", "a list needs");
    ASSERT_REFUSED("/a in [[1]]", "a list needs");
    ASSERT_REFUSED("/a in [/b]", "a list needs");
    ASSERT_REFUSED("/a between 1", "between needs two values as a,b, found end of input at 12");
    ASSERT_REFUSED("/a between 1,", "missing second operand of between at 13");
    ASSERT_REFUSED("/a between 1,\"z\"", "two numbers or two strings");
    ASSERT_REFUSED("/a between nil,1", "between needs a number");
    ASSERT_REFUSED("/a between /b,/c", "between needs a number");
    ASSERT_REFUSED("/a~2 eq 1", "bad JSON Pointer escape (~0 or ~1 expected) at 2");
    ASSERT_REFUSED("/a~ eq 1", "bad JSON Pointer escape");
    ASSERT_REFUSED("/a eq /b~x", "bad JSON Pointer escape (~0 or ~1 expected) at 8");
    ASSERT_REFUSED("/a eq \"\\x\"", "unknown escape \\x in string at 7");
    ASSERT_REFUSED("/a eq \"\\u12\"", "bad \\u escape");
    ASSERT_REFUSED("/a eq \"\\ud800\"", "unpaired surrogate");
    ASSERT_REFUSED("/a eq \"\\udc00x\"", "unpaired surrogate");
    ASSERT_REFUSED("/a eq \"\\u0000\"", "\\u0000");
    ASSERT_REFUSED("\"/a\" eq 1", "expected a path or '(', found a string at 0");
    ASSERT_REFUSED("[1] eq 1", "found '[' at 0");

    /* No output pointer, no input, no error buffer, a tiny error buffer. */
    {
        char err[8];
        wbs_filter *f = NULL;
        WBT_ASSERT_INT(wbs_filter_parse(NULL, "/a eq 1", err, sizeof(err)), -1);
        WBT_ASSERT_INT(wbs_filter_parse(&f, NULL, err, sizeof(err)), -1);
        WBT_ASSERT(f == NULL);
        WBT_ASSERT_INT(wbs_filter_parse(&f, "/a eq", NULL, 0), -1);
        WBT_ASSERT_INT(wbs_filter_parse(&f, "/a unknown-operator-name 1", err, sizeof(err)), -1);
        WBT_ASSERT_INT(strlen(err), sizeof(err) - 1);
        WBT_ASSERT(f == NULL);
    }
}

static void test_server_query__limits(void)
{
    char err[256];
    wbs_filter *f = NULL;
    size_t big = 1024 * 1024;
    char *s = malloc(big + 1);
    size_t n = 0;
    WBT_ASSERT(s);

    /* 64 levels of parentheses are fine, 65 are not. */
    for (int i = 0; i < 64; i++)
        s[n++] = '(';
    memcpy(s + n, "/a eq 1", 7);
    n += 7;
    for (int i = 0; i < 64; i++)
        s[n++] = ')';
    s[n] = '\0';
    if (wbs_filter_parse(&f, s, err, sizeof(err)) != 0) {
        free(s);
        WBT_FAIL("64 levels refused: %s", err);
    }
    WBT_ASSERT_INT(m(s, "{\"a\":1}"), 1);
    wbs_filter_free(f);
    f = NULL;
    memmove(s + 1, s, n + 1);
    s[0] = '(';
    strcat(s, ")");
    WBT_ASSERT_INT(wbs_filter_parse(&f, s, err, sizeof(err)), -1);
    WBT_ASSERT_CONTAINS(err, "parentheses nested deeper than 64 at 64");

    /* 4000 opening parentheses: refused at the limit, not by the stack. */
    memset(s, '(', 4000);
    s[4000] = '\0';
    WBT_ASSERT_INT(wbs_filter_parse(&f, s, err, sizeof(err)), -1);
    WBT_ASSERT_CONTAINS(err, "parentheses nested deeper than 64 at 64");

    /* A megabyte of '(' is refused by length before anything else. */
    memset(s, '(', big);
    s[big] = '\0';
    WBT_ASSERT_INT(wbs_filter_parse(&f, s, err, sizeof(err)), -1);
    WBT_ASSERT(f == NULL);
    WBT_ASSERT_CONTAINS(err, "filter: expression longer than 4096 bytes at 4096");

    /* Exactly 4096 bytes is accepted; 4097 is not. */
    memset(s, ' ', 4096);
    memcpy(s, "/a eq 1", 7);
    s[4096] = '\0';
    WBT_ASSERT_INT(wbs_filter_parse(&f, s, err, sizeof(err)), 0);
    wbs_filter_free(f);
    f = NULL;
    s[4096] = ' ';
    s[4097] = '\0';
    WBT_ASSERT_INT(wbs_filter_parse(&f, s, err, sizeof(err)), -1);
    WBT_ASSERT_CONTAINS(err, "longer than 4096 bytes");

    /* 256 terms are fine, 257 are not. */
    n = 0;
    for (int i = 0; i < 257; i++) {
        if (i)
            n += (size_t)sprintf(s + n, " or ");
        n += (size_t)sprintf(s + n, "/a eq %d", i);
    }
    WBT_ASSERT_INT(wbs_filter_parse(&f, s, err, sizeof(err)), -1);
    WBT_ASSERT_CONTAINS(err, "more than 256 terms at");
    s[n - strlen(" or /a eq 256")] = '\0';
    WBT_ASSERT_INT(wbs_filter_parse(&f, s, err, sizeof(err)), 0);
    WBT_ASSERT_INT(m(s, "{\"a\":255}"), 1);
    WBT_ASSERT_INT(m(s, "{\"a\":256}"), 0);
    wbs_filter_free(f);
    free(s);
}

/* ---- sorting ----------------------------------------------------------- */

#define ASSERT_SORT_KEYS(vals, n_vals, expect)                                                     \
    do {                                                                                           \
        wbs_sort s_;                                                                               \
        char err_[256], got_[512] = "";                                                            \
        if (wbs_sort_parse(&s_, (vals), (n_vals), err_, sizeof(err_)) != 0)                        \
            WBT_FAIL("sort parse failed: %s", err_);                                               \
        for (size_t i_ = 0; i_ < s_.n; i_++) {                                                     \
            size_t l_ = strlen(got_);                                                              \
            snprintf(got_ + l_, sizeof(got_) - l_, "%s%s %s", i_ ? "," : "", s_.keys[i_].path,     \
                     s_.keys[i_].desc ? "DESC" : "ASC");                                           \
        }                                                                                          \
        wbs_sort_free(&s_);                                                                        \
        WBT_ASSERT_STR(got_, (expect));                                                            \
    } while (0)

#define ASSERT_SORT_REFUSED(vals, n_vals, needle)                                                  \
    do {                                                                                           \
        wbs_sort s_ = {(wbs_sort_key *)1, 99};                                                     \
        char err_[256];                                                                            \
        int rc_ = wbs_sort_parse(&s_, (vals), (n_vals), err_, sizeof(err_));                       \
        if (rc_ == 0)                                                                              \
            wbs_sort_free(&s_);                                                                    \
        WBT_ASSERT_INT(rc_, -1);                                                                   \
        WBT_ASSERT(s_.keys == NULL && s_.n == 0);                                                  \
        WBT_ASSERT(strchr(err_, '\n') == NULL);                                                    \
        WBT_ASSERT_CONTAINS(err_, "sort: ");                                                       \
        WBT_ASSERT_CONTAINS(err_, (needle));                                                       \
    } while (0)

static void test_server_query__sort_parse(void)
{
    const char *v1[] = {"[\"id\",\"ASC\"]"};
    const char *v2[] = {"/data/id", "ASC"};
    const char *v3[] = {"[\"/meta/modified\",\"ASC\",\"id\",\"ASC\"]"};
    const char *v4[] = {"[\"data/name\",\"ASC\"]"};
    const char *v5[] = {"data/name", "desc", "/meta/modified", "Asc"};
    const char *v6[] = {"id", "DESC"};
    const char *v7[] = {"id", "ASC"};
    const char *v8[] = {" [\"data/id\" , \"DESC\", \"/meta/created\", \"asc\"] "};
    const char *v9[] = {"/a~1b", "ASC"};

    ASSERT_SORT_KEYS(NULL, 0, "/id ASC");
    ASSERT_SORT_KEYS(v1, 1, "/id ASC");
    ASSERT_SORT_KEYS(v2, 2, "/id ASC");
    ASSERT_SORT_KEYS(v3, 1, "/meta/modified ASC,/id ASC");
    ASSERT_SORT_KEYS(v4, 1, "/data/name ASC,/id ASC");
    ASSERT_SORT_KEYS(v5, 4, "/data/name DESC,/meta/modified ASC,/id ASC");
    ASSERT_SORT_KEYS(v6, 2, "/id DESC");
    ASSERT_SORT_KEYS(v7, 2, "/id ASC");
    ASSERT_SORT_KEYS(v8, 1, "/id DESC,/meta/created ASC,/id ASC");
    ASSERT_SORT_KEYS(v9, 2, "/a~1b ASC,/id ASC");
}

static void test_server_query__sort_parse_errors(void)
{
    const char *odd1[] = {"id"};
    const char *odd3[] = {"id", "ASC", "/meta/modified"};
    const char *odd_arr[] = {"[\"id\",\"ASC\",\"name\"]"};
    const char *empty_arr[] = {"[]"};
    const char *bad_dir[] = {"id", "UP"};
    const char *bad_dir_arr[] = {"[\"id\",\"ascending\"]"};
    const char *bad_json[] = {"[\"id\",\"ASC\""};
    const char *not_str[] = {"[\"id\",1]"};
    const char *arr_not_alone[] = {"[\"id\",\"ASC\"]", "ASC"};
    const char *empty_field[] = {"", "ASC"};
    const char *bad_escape[] = {"/a~", "ASC"};
    const char *with_null[] = {"id", NULL};
    const char *many[40];
    for (int i = 0; i < 40; i++)
        many[i] = (i % 2) ? "ASC" : "/x";

    ASSERT_SORT_REFUSED(odd1, 1, "1 values; expected field,direction pairs");
    ASSERT_SORT_REFUSED(odd3, 3, "3 values");
    ASSERT_SORT_REFUSED(odd_arr, 1, "3 array items");
    ASSERT_SORT_REFUSED(empty_arr, 1, "0 array items");
    ASSERT_SORT_REFUSED(bad_dir, 2, "value 2: direction \"UP\" for \"id\" is not ASC or DESC");
    ASSERT_SORT_REFUSED(bad_dir_arr, 1, "direction \"ascending\"");
    ASSERT_SORT_REFUSED(bad_json, 1, "not a JSON array");
    ASSERT_SORT_REFUSED(not_str, 1, "array item 2 is not a string");
    ASSERT_SORT_REFUSED(arr_not_alone, 2, "must be the only value");
    ASSERT_SORT_REFUSED(empty_field, 2, "value 1: empty field");
    ASSERT_SORT_REFUSED(bad_escape, 2, "bad JSON Pointer escape");
    ASSERT_SORT_REFUSED(with_null, 2, "value 2 is missing");
    ASSERT_SORT_REFUSED(many, 40, "more than 16 keys");
    ASSERT_SORT_REFUSED(NULL, 2, "no values");
    WBT_ASSERT_INT(wbs_sort_parse(NULL, NULL, 0, NULL, 0), -1);
    wbs_sort_free(NULL);
}

static const wbs_sort *qsort_by;
static int qsort_cmp(const void *a, const void *b)
{
    return wbs_sort_compare(qsort_by, *(const cJSON *const *)a, *(const cJSON *const *)b);
}

/* Sort the array in `json` by `vals` and return the ids joined by ','. */
static void sorted_ids(char *out, size_t outlen, const char *json, const char *const *vals,
                       size_t n_vals)
{
    cJSON *arr = cJSON_Parse(json), *e;
    const cJSON *items[32];
    size_t n = 0, o = 0;
    wbs_sort s;
    char err[256];
    out[0] = '\0';
    if (!arr || wbs_sort_parse(&s, vals, n_vals, err, sizeof(err)) != 0) {
        snprintf(out, outlen, "error");
        cJSON_Delete(arr);
        return;
    }
    for (e = arr->child; e && n < 32; e = e->next)
        items[n++] = e;
    qsort_by = &s;
    qsort((void *)items, n, sizeof(items[0]), qsort_cmp);
    for (size_t i = 0; i < n; i++) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(items[i], "id");
        o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? "," : "",
                              cJSON_IsString(id) ? id->valuestring : "?");
        if (o >= outlen)
            break;
    }
    wbs_sort_free(&s);
    cJSON_Delete(arr);
}

static void test_server_query__sort_compare(void)
{
    static const char rows[] =
        "[{\"id\":\"c\",\"meta\":{\"modified\":\"2020-01-02T00:00:00.000Z\"},\"data\":{\"n\":2}},"
        "{\"id\":\"a\",\"meta\":{\"modified\":\"2020-01-02T00:00:00.000Z\"},\"data\":{\"n\":10}},"
        "{\"id\":\"d\",\"meta\":{\"modified\":\"2020-01-01T00:00:00.000Z\"},\"data\":{\"n\":2}},"
        "{\"id\":\"b\",\"meta\":{\"modified\":\"2020-01-03T00:00:00.000Z\"},\"data\":{}},"
        "{\"id\":\"e\",\"meta\":{\"modified\":\"2020-01-02T00:00:00.000Z\"},\"data\":{\"n\":null}}"
        "]";
    static const char mixed[] =
        "[{\"id\":\"s\",\"v\":\"text\"},{\"id\":\"n\",\"v\":5},{\"id\":\"t\",\"v\":true},"
        "{\"id\":\"f\",\"v\":false},{\"id\":\"z\",\"v\":null},{\"id\":\"m\"},"
        "{\"id\":\"n2\",\"v\":-5},{\"id\":\"s2\",\"v\":\"Text\"},{\"id\":\"o\",\"v\":{}},"
        "{\"id\":\"a\",\"v\":[]}]";
    const char *by_mod[] = {"[\"/meta/modified\",\"ASC\",\"id\",\"ASC\"]"};
    const char *by_mod_desc[] = {"/meta/modified", "DESC"};
    const char *by_n[] = {"data/n", "ASC"};
    const char *by_n_desc[] = {"data/n", "DESC"};
    const char *by_id_desc[] = {"[\"id\",\"DESC\"]"};
    const char *by_v[] = {"/v", "ASC"};
    char got[256];

    sorted_ids(got, sizeof(got), rows, by_mod, 1);
    WBT_ASSERT_STR(got, "d,a,c,e,b"); /* equal modified: by id */
    sorted_ids(got, sizeof(got), rows, by_mod_desc, 2);
    WBT_ASSERT_STR(got, "b,a,c,e,d"); /* id ASC still breaks the ties */
    sorted_ids(got, sizeof(got), rows, by_n, 2);
    WBT_ASSERT_STR(got, "b,e,c,d,a"); /* missing < null < 2 = 2 < 10 */
    sorted_ids(got, sizeof(got), rows, by_n_desc, 2);
    WBT_ASSERT_STR(got, "a,c,d,e,b");
    sorted_ids(got, sizeof(got), rows, by_id_desc, 1);
    WBT_ASSERT_STR(got, "e,d,c,b,a");
    sorted_ids(got, sizeof(got), rows, NULL, 0);
    WBT_ASSERT_STR(got, "a,b,c,d,e");
    sorted_ids(got, sizeof(got), mixed, by_v, 2);
    WBT_ASSERT_STR(got, "m,z,f,t,n2,n,s2,s,a,o");

    /* Direct comparisons. */
    {
        wbs_sort s;
        char err[256];
        const char *v[] = {"id", "ASC"};
        cJSON *x = cJSON_Parse("{\"id\":\"x\"}"), *y = cJSON_Parse("{\"id\":\"y\"}");
        WBT_ASSERT(x && y);
        WBT_ASSERT_INT(wbs_sort_parse(&s, v, 2, err, sizeof(err)), 0);
        WBT_ASSERT(wbs_sort_compare(&s, x, y) < 0);
        WBT_ASSERT(wbs_sort_compare(&s, y, x) > 0);
        WBT_ASSERT_INT(wbs_sort_compare(&s, x, x), 0);
        WBT_ASSERT_INT(wbs_sort_compare(NULL, x, y), 0);
        wbs_sort_free(&s);
        WBT_ASSERT(s.keys == NULL && s.n == 0);
        wbs_sort_free(&s); /* twice is harmless */
        cJSON_Delete(x);
        cJSON_Delete(y);
    }
}

/* ---- fuzz-ish ---------------------------------------------------------- */

static unsigned long long rng_state = 0x9E3779B97F4A7C15ULL;

static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static const char *const fuzz_tokens[] = {"(",
                                          ")",
                                          "[",
                                          "]",
                                          ",",
                                          " ",
                                          " ",
                                          " ",
                                          "and",
                                          "or",
                                          "AND",
                                          "eq",
                                          "neq",
                                          "gt",
                                          "gte",
                                          "lt",
                                          "lte",
                                          "like",
                                          "in",
                                          "nin",
                                          "between",
                                          "nil",
                                          "null",
                                          "true",
                                          "false",
                                          "/data/name",
                                          "/data/count",
                                          "/data/tags",
                                          "/meta/isDeleted",
                                          "foo/bar",
                                          "/a~0b",
                                          "/a~1b",
                                          "/x~",
                                          "/a~2",
                                          "/",
                                          "42",
                                          "-1.5e3",
                                          "0",
                                          "1e999",
                                          "--1",
                                          "01",
                                          "0,42",
                                          "\"str\"",
                                          "\"Hello*\"",
                                          "\"*\"",
                                          "\"",
                                          "\"unterminated",
                                          "\"esc\\\"q\"",
                                          "\"\\u00e9\"",
                                          "\"\\ud800\"",
                                          "\"\\u0000\"",
                                          "\"\\x\"",
                                          "\\",
                                          "~",
                                          "*",
                                          "\t",
                                          "\n",
                                          "\xff",
                                          "\xc3\xa9",
                                          "[1,\"a\",nil]",
                                          "[]"};

static const char fuzz_env[] =
    "{\"id\":\"i\",\"data\":{\"name\":\"Hello\",\"count\":42,\"tags\":[1,\"a\",null]},"
    "\"meta\":{\"isDeleted\":false},\"a~b\":1,\"a/b\":\"x\",\"foo\":{\"bar\":\"baz\"}}";

/* Append a random well-formed term or group to buf (depth-limited). */
static void gen_expr(char *buf, size_t cap, int depth)
{
    static const char *const paths[] = {"/data/name",      "/data/count", "foo/bar", "/data/tags",
                                        "/meta/isDeleted", "/nope",       "/a~0b",   "/a~1b"};
    static const char *const ops[] = {"eq",  "neq",  "gt", "gte", "lt",
                                      "lte", "like", "in", "nin", "between"};
    static const char *const vals[] = {"\"Hello\"", "42",          "nil",           "true",
                                       "\"He*\"",   "/data/count", "[1,\"a\",nil]", "/data/tags",
                                       "0,42",      "\"a\",\"z\""};
    size_t len = strlen(buf);
    if (len + 64 >= cap)
        return;
    if (depth < 6 && rnd(4) == 0) {
        strcat(buf, "(");
        gen_expr(buf, cap, depth + 1);
        strcat(buf, ")");
    } else {
        snprintf(buf + len, cap - len, "%s %s %s", paths[rnd(8)], ops[rnd(10)], vals[rnd(10)]);
    }
    if (depth < 6 && rnd(3) == 0) {
        strcat(buf, rnd(2) ? " and " : " or ");
        gen_expr(buf, cap, depth + 1);
    }
}

static void test_server_query__fuzz(void)
{
    char buf[1024], err[256];
    cJSON *env = cJSON_Parse(fuzz_env);
    size_t n_tokens = sizeof(fuzz_tokens) / sizeof(fuzz_tokens[0]);
    int ok = 0, refused = 0;
    WBT_ASSERT(env);
    for (int iter = 0; iter < 20000; iter++) {
        wbs_filter *f = NULL;
        int rc;
        buf[0] = '\0';
        if (iter % 2 == 0) {
            /* A soup of the grammar's tokens. */
            unsigned count = 1 + rnd(24);
            for (unsigned i = 0; i < count; i++) {
                if (strlen(buf) + 32 >= sizeof(buf))
                    break;
                strcat(buf, fuzz_tokens[rnd((unsigned)n_tokens)]);
                if (rnd(3))
                    strcat(buf, " ");
            }
        } else {
            /* A well-formed expression, sometimes with one byte changed. */
            gen_expr(buf, sizeof(buf) - 1, 0);
            if (rnd(2) && buf[0]) {
                size_t at = rnd((unsigned)strlen(buf));
                buf[at] = "()[],\" \\~*/a0"[rnd(13)];
            }
        }
        err[0] = '\0';
        rc = wbs_filter_parse(&f, buf, err, sizeof(err));
        if (rc == 0) {
            ok++;
            if (!f)
                WBT_FAIL("parse ok without a filter: %s", buf);
            (void)wbs_filter_match(f, env);
            (void)wbs_filter_match(f, NULL);
            (void)wbs_filter_mentions(f, "/meta/isDeleted");
            if (rnd(4) == 0 && wbs_filter_add_eq(&f, "/data/name", "Hello", NULL, 0) != 0) {
                wbs_filter_free(f);
                WBT_FAIL("add_eq after parse failed: %s", buf);
            }
            (void)wbs_filter_match(f, env);
            wbs_filter_free(f);
        } else {
            refused++;
            if (rc != -1 || f != NULL)
                WBT_FAIL("parse returned %d for: %s", rc, buf);
            if (strncmp(err, "filter: ", 8) != 0 || !strstr(err, " at ") || strchr(err, '\n'))
                WBT_FAIL("bad message \"%s\" for: %s", err, buf);
        }
    }
    cJSON_Delete(env);
    printf("    fuzz: %d parsed, %d refused\n", ok, refused);
    WBT_ASSERT(ok > 1000);
    WBT_ASSERT(refused > 2000);
}

static const wbt_case cases[] = {
    WBT_CASE(test_server_query__eq),
    WBT_CASE(test_server_query__neq),
    WBT_CASE(test_server_query__ordering),
    WBT_CASE(test_server_query__like),
    WBT_CASE(test_server_query__in_nin),
    WBT_CASE(test_server_query__between),
    WBT_CASE(test_server_query__nil),
    WBT_CASE(test_server_query__path_operands),
    WBT_CASE(test_server_query__pointers),
    WBT_CASE(test_server_query__strings),
    WBT_CASE(test_server_query__and_or_precedence),
    WBT_CASE(test_server_query__doc_examples),
    WBT_CASE(test_server_query__url_decoded_forms),
    WBT_CASE(test_server_query__pull_filter),
    WBT_CASE(test_server_query__mentions),
    WBT_CASE(test_server_query__bracket_form),
    WBT_CASE(test_server_query__malformed),
    WBT_CASE(test_server_query__limits),
    WBT_CASE(test_server_query__sort_parse),
    WBT_CASE(test_server_query__sort_parse_errors),
    WBT_CASE(test_server_query__sort_compare),
    WBT_CASE(test_server_query__fuzz),
};

WBT_MAIN(cases, NULL, NULL)
