/*
 * test_core_json.c - the strict JSON layer (core/json.c): parsing and its
 * error messages, limits, duplicates, lookup, equality, printing, and every
 * allocation failure of a parse/print/compare scenario.
 */
#include "json.h"
#include "walkbook.h"
#include "wbtest.h"

#define WBT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static int parse_str(cJSON **out, const char *text)
{
    return wb_json__parse(out, text, strlen(text), NULL, "body");
}

static void test_core_json__parse_valid(void)
{
    cJSON *j = NULL;
    WBT_OK(parse_str(&j, " {\"a\": [1, -2.5e3, true, false, null, \"x\\u00e9\\ud83d\\ude00\"],"
                         " \"b\": {}, \"c\": [], \"\": \"empty key\"} \r\n\t"));
    WBT_ASSERT(cJSON_IsObject(j));
    {
        const cJSON *a = wb_json__get(j, "a");
        WBT_ASSERT(cJSON_IsArray(a));
        WBT_ASSERT_INT(cJSON_GetArraySize(a), 6);
        WBT_ASSERT(cJSON_GetArrayItem(a, 1)->valuedouble == -2500.0);
        WBT_ASSERT_STR(cJSON_GetArrayItem(a, 5)->valuestring, "x\xc3\xa9\xf0\x9f\x98\x80");
        WBT_ASSERT_STR(wb_json__get(j, "")->valuestring, "empty key");
    }
    cJSON_Delete(j);

    /* Scalars are valid documents on their own. */
    WBT_OK(parse_str(&j, "42"));
    WBT_ASSERT(cJSON_IsNumber(j) && j->valuedouble == 42.0);
    cJSON_Delete(j);
    WBT_OK(parse_str(&j, "\"s\""));
    WBT_ASSERT(cJSON_IsString(j));
    cJSON_Delete(j);
    WBT_OK(parse_str(&j, "null"));
    WBT_ASSERT(cJSON_IsNull(j));
    cJSON_Delete(j);
}

/* The text need not be NUL-terminated: only `len` bytes are read (ASan
 * catches any read past the end of this exact-size allocation). */
static void test_core_json__parse_not_terminated(void)
{
    static const char src[] = "{\"k\":[1,2,3],\"s\":\"v\"}";
    size_t n = sizeof(src) - 1;
    char *copy = malloc(n);
    cJSON *j = NULL;
    WBT_ASSERT(copy);
    memcpy(copy, src, n);
    WBT_OK(wb_json__parse(&j, copy, n, NULL, "body"));
    WBT_ASSERT_STR(wb_json__get(j, "s")->valuestring, "v");
    cJSON_Delete(j);
    /* A prefix of the buffer is parsed as what it is. */
    WBT_FAILS(wb_json__parse(&j, copy, 5, NULL, "body"), WB_EINVALID,
              "body: unexpected end of input at byte 5");
    WBT_ASSERT(j == NULL);
    free(copy);
}

static void test_core_json__trailing_bytes(void)
{
    cJSON *j = NULL;
    WBT_FAILS(parse_str(&j, "1 x"), WB_EINVALID,
              "body: unexpected bytes after the value at byte 2");
    WBT_FAILS(parse_str(&j, "{} {}"), WB_EINVALID,
              "body: unexpected bytes after the value at byte 3");
    WBT_FAILS(parse_str(&j, "[1]]"), WB_EINVALID,
              "body: unexpected bytes after the value at byte 3");
    WBT_ASSERT(j == NULL);
    WBT_ASSERT_INT(wb_error_last()->klass, WB_ERRCLASS_JSON);
    /* Trailing whitespace is fine. */
    WBT_OK(parse_str(&j, "[1] \n"));
    cJSON_Delete(j);
}

static void test_core_json__nul_byte(void)
{
    cJSON *j = NULL;
    WBT_FAILS(wb_json__parse(&j, "[1]\0", 4, NULL, "body"), WB_EINVALID,
              "body: NUL byte at byte 3");
    WBT_FAILS(wb_json__parse(&j, "[\"a\0b\"]", 7, NULL, "body"), WB_EINVALID,
              "body: NUL byte at byte 3");
    WBT_ASSERT(j == NULL);
}

static void test_core_json__duplicates(void)
{
    cJSON *j = NULL;
    WBT_FAILS(parse_str(&j, "{\"a\":1, \"a\":2}"), WB_EINVALID,
              "body: duplicate member \"a\" at byte 8");
    WBT_ASSERT(j == NULL);
    /* Nested, and after other values whose layout must not confuse the
     * offset: strings containing ':' '{' and escaped quotes. */
    WBT_FAILS(parse_str(&j, "{\"x\": [\"{\\\":\", {\"b\": 1, \"c\": {\"d\": 1, \"d\": 2}}]}"),
              WB_EINVALID, "body: duplicate member \"d\" at byte 38");
    WBT_FAILS(parse_str(&j, "[[], {\"p\": {\"q\": 1}, \"p\": 0}]"), WB_EINVALID,
              "body: duplicate member \"p\" at byte 21");
    /* Names differing only by case are distinct members. */
    WBT_OK(parse_str(&j, "{\"a\":1,\"A\":2}"));
    WBT_ASSERT_INT(wb_json__get(j, "a")->valuedouble, 1);
    WBT_ASSERT_INT(wb_json__get(j, "A")->valuedouble, 2);
    cJSON_Delete(j);
}

/* wb_json__parse in two steps: check (grammar, limits) and then parse the
 * checked text (duplicates, range), with the same messages. */
static void test_core_json__check_then_parse(void)
{
    static const char dup[] = "{\"x\": [{\"d\": 1, \"d\": 2}]}";
    static const char cut[] = "{\"a\": [1, 2}";
    static const char ok[] = "{\"a\":[1,{\"b\":null}]}";
    cJSON *j = NULL;
    WBT_OK(wb_json__check(dup, strlen(dup), NULL, "page"));
    WBT_FAILS(wb_json__parse_checked(&j, dup, strlen(dup), "page"), WB_EINVALID,
              "page: duplicate member \"d\" at byte 16");
    WBT_ASSERT(j == NULL);
    WBT_FAILS(wb_json__check(cut, strlen(cut), NULL, "page"), WB_EINVALID,
              "page: expected ',' or ']' at byte 11");
    WBT_OK(wb_json__check("[1e999]", 7, NULL, "page"));
    WBT_FAILS(wb_json__parse_checked(&j, "[1e999]", 7, "page"), WB_EINVALID,
              "page: number out of range at byte 1");
    WBT_OK(wb_json__check(ok, strlen(ok), NULL, "page"));
    WBT_OK(wb_json__parse_checked(&j, ok, strlen(ok), "page"));
    WBT_ASSERT(cJSON_IsNull(wb_json__get(cJSON_GetArrayItem(wb_json__get(j, "a"), 1), "b")));
    cJSON_Delete(j);
}

/* Objects with many members take the sorting path. */
static void test_core_json__duplicates_big_object(void)
{
    wb_buf b = WB_BUF_INIT;
    cJSON *j = NULL;
    char msg[64];
    size_t at;
    wb_buf__putc(&b, '{');
    for (int i = 0; i < 5000; i++)
        wb_buf__printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
    wb_buf__putc(&b, '}');
    WBT_ASSERT(!b.oom);
    WBT_OK(wb_json__parse(&j, b.ptr, b.len, NULL, "body"));
    WBT_ASSERT_INT(cJSON_GetArraySize(j), 5000);
    WBT_ASSERT_INT(wb_json__get(j, "k4999")->valuedouble, 4999);
    cJSON_Delete(j);
    j = NULL;

    /* Repeat a name from the middle at the end. */
    b.len--;
    at = b.len + 1;
    wb_buf__puts(&b, ",\"k2500\":0}");
    snprintf(msg, sizeof(msg), "body: duplicate member \"k2500\" at byte %zu", at);
    WBT_FAILS(wb_json__parse(&j, b.ptr, b.len, NULL, "body"), WB_EINVALID, msg);
    WBT_ASSERT(j == NULL);
    wb_buf__free(&b);
}

static void test_core_json__depth_limit(void)
{
    char text[400];
    cJSON *j = NULL;
    wb_json_limits limits = {0, 3};
    size_t i;
    /* 64 levels are allowed by default, the 65th is refused. */
    for (i = 0; i < 64; i++) {
        text[i] = '[';
        text[128 - 1 - i] = ']';
    }
    WBT_OK(wb_json__parse(&j, text, 128, NULL, "body"));
    cJSON_Delete(j);
    for (i = 0; i < 65; i++) {
        text[i] = '[';
        text[130 - 1 - i] = ']';
    }
    WBT_FAILS(wb_json__parse(&j, text, 130, NULL, "body"), WB_ETOOBIG,
              "body: nesting deeper than 64 at byte 64");
    /* Deep nesting that never closes is refused without recursion. */
    memset(text, '{', sizeof(text));
    for (i = 1; i + 5 < sizeof(text); i += 5)
        memcpy(text + i, "\"a\":{", 5);
    WBT_FAILS(wb_json__parse(&j, text, sizeof(text), NULL, "body"), WB_ETOOBIG,
              "body: nesting deeper than 64");
    /* A caller's own limit. */
    WBT_OK(wb_json__parse(&j, "[[[1]]]", 7, &limits, "body"));
    cJSON_Delete(j);
    WBT_FAILS(wb_json__parse(&j, "[[{\"a\":[]}]]", 12, &limits, "body"), WB_ETOOBIG,
              "body: nesting deeper than 3 at byte 7");
    WBT_ASSERT(j == NULL);
}

static void test_core_json__size_limit(void)
{
    cJSON *j = NULL;
    wb_json_limits limits = {10, 0};
    WBT_OK(wb_json__parse(&j, "[1,2,3,45]", 10, &limits, "body"));
    cJSON_Delete(j);
    WBT_FAILS(wb_json__parse(&j, "[1,2,3,456]", 11, &limits, "body"), WB_ETOOBIG,
              "body: longer than the limit of 10 bytes");
    WBT_ASSERT(j == NULL);
}

typedef struct bad_case {
    const char *text;
    const char *message;
} bad_case;

static void test_core_json__syntax_errors(void)
{
    static const bad_case bad[] = {
        {"", "x: unexpected end of input at byte 0"},
        {"   ", "x: unexpected end of input at byte 3"},
        {"[1,]", "x: unexpected character ']' at byte 3"},
        {"[1 2]", "x: expected ',' or ']' at byte 3"},
        {"{\"a\":1 \"b\":2}", "x: expected ',' or '}' at byte 7"},
        {"{\"a\" 1}", "x: expected ':' after the member name at byte 5"},
        {"{1:2}", "x: expected a member name at byte 1"},
        {"{\"a\":1,}", "x: expected a member name at byte 7"},
        {"01", "x: invalid number (leading zero) at byte 0"},
        {"-01", "x: invalid number (leading zero) at byte 0"},
        {"1.", "x: invalid number (no digit after '.') at byte 0"},
        {"1.e3", "x: invalid number (no digit after '.') at byte 0"},
        {"1e", "x: invalid number (no digit in exponent) at byte 0"},
        {"1e+", "x: invalid number (no digit in exponent) at byte 0"},
        {"-", "x: invalid number at byte 0"},
        {"-a", "x: invalid number at byte 0"},
        {"+1", "x: unexpected character '+' at byte 0"},
        {".5", "x: unexpected character '.' at byte 0"},
        {"NaN", "x: unexpected character 'N' at byte 0"},
        {"[Infinity]", "x: unexpected character 'I' at byte 1"},
        {"0x10", "x: unexpected bytes after the value at byte 1"},
        {"tru", "x: unexpected character 't' at byte 0"},
        {"nul", "x: unexpected character 'n' at byte 0"},
        {"True", "x: unexpected character 'T' at byte 0"},
        {"'a'", "x: unexpected character ''' at byte 0"},
        {"\"abc", "x: unterminated string at byte 4"},
        {"\"a\x01\"", "x: unescaped control character in string at byte 2"},
        {"\"a\tb\"", "x: unescaped control character in string at byte 2"},
        {"\"\\x\"", "x: invalid escape in string at byte 1"},
        {"\"\\u12zz\"", "x: invalid hex digit in \\u escape at byte 5"},
        {"\"\\u12", "x: truncated \\u escape at byte 3"},
        {"\"\\ud800\"", "x: unpaired high surrogate escape in string at byte 1"},
        {"\"\\ud800\\u0041\"", "x: unpaired high surrogate escape in string at byte 1"},
        {"\"\\ud800\\ud800\"", "x: unpaired high surrogate escape in string at byte 1"},
        {"\"\\udc00\"", "x: lone low surrogate escape in string at byte 1"},
        {"\"\\uDFFF\\uD800\"", "x: lone low surrogate escape in string at byte 1"},
        {"\"\xc0\xaf\"", "x: invalid UTF-8 in string at byte 1"},
        {"\"\xe0\x80\xaf\"", "x: invalid UTF-8 in string at byte 1"},
        {"\"\xf0\x80\x80\xaf\"", "x: invalid UTF-8 in string at byte 1"},
        {"\"\xed\xa0\x80\"", "x: invalid UTF-8 in string at byte 1"},
        {"\"\xf4\x90\x80\x80\"", "x: invalid UTF-8 in string at byte 1"},
        {"\"\xf5\x80\x80\x80\"", "x: invalid UTF-8 in string at byte 1"},
        {"\"ab\xe2\x82\"", "x: invalid UTF-8 in string at byte 3"},
        {"\"\x80\"", "x: invalid UTF-8 in string at byte 1"},
        {"\"\xff\"", "x: invalid UTF-8 in string at byte 1"},
        {"\xef\xbb\xbf{}", "x: unexpected byte 0xef at byte 0"},
        {"[1e999]", "x: number out of range at byte 1"},
        {"{\"a\":[-1E+400]}", "x: number out of range at byte 6"},
    };
    for (size_t i = 0; i < WBT_ARRAY_LEN(bad); i++) {
        cJSON *j = NULL;
        int rc = wb_json__parse(&j, bad[i].text, strlen(bad[i].text), NULL, "x");
        const wb_error *e = wb_error_last();
        if (rc != WB_EINVALID || j != NULL)
            WBT_FAIL("case %zu (%s): rc %d", i, bad[i].text, rc);
        if (!e || strcmp(e->message, bad[i].message) != 0)
            WBT_FAIL("case %zu: message \"%s\", expected \"%s\"", i, e ? e->message : "(none)",
                     bad[i].message);
        WBT_ASSERT_INT(e->klass, WB_ERRCLASS_JSON);
    }
}

static void test_core_json__valid_edge_cases(void)
{
    static const char *const good[] = {
        "0", "-0", "0.0", "-0.0e-0", "1E+2", "1e-2", "123.456e78", "[]", "{}", "\"\"",
        "\"\\u0041\\n\\t\\\"\\\\\\/\\b\\f\\r\"", "\"\\ud83d\\ude00\"", "\"\xf4\x8f\xbf\xbf\"",
        "\"\xed\x9f\xbf\xee\x80\x80\"", "[1e-400]", " [ 1 , { \"a\" : null } ] ",
        "\"\x7f\"",
    };
    for (size_t i = 0; i < WBT_ARRAY_LEN(good); i++) {
        cJSON *j = NULL;
        int rc = wb_json__parse(&j, good[i], strlen(good[i]), NULL, "x");
        if (rc != 0)
            WBT_FAIL("case %zu (%s): %s", i, good[i], wb_error_last()->message);
        cJSON_Delete(j);
    }
}

/* Strings are scanned 8 bytes at a time: a byte that needs a look is
 * found wherever it falls in a word, and at every distance from the end. */
static void test_core_json__string_bytes_at_every_offset(void)
{
    static const struct {
        const char *bytes;
        int valid;
    } cases[] = {
        {"\x01", 0}, {"\x1f", 0}, {"\n", 0},  {"\x7f", 1},        {" ", 1},
        {"\xc3\xa9", 1}, {"\xff", 0}, {"\xc3", 0}, {"\\n", 1}, {"\\q", 0},
        {"\\u00e9", 1}, {"\"", 0}, {"\\x", 0},
    };
    char text[64];
    for (size_t c = 0; c < WBT_ARRAY_LEN(cases); c++)
        for (size_t before = 0; before <= 17; before++)
            for (size_t after = 0; after <= 9; after++) {
                size_t n = 0, blen = strlen(cases[c].bytes);
                int rc;
                text[n++] = '"';
                memset(text + n, 'a', before);
                n += before;
                memcpy(text + n, cases[c].bytes, blen);
                n += blen;
                memset(text + n, 'b', after);
                n += after;
                text[n++] = '"';
                rc = wb_json__check(text, n, NULL, "x");
                if ((rc == 0) != cases[c].valid)
                    WBT_FAIL("case %zu with %zu bytes before and %zu after: %s", c, before, after,
                             rc == 0 ? "accepted" : "refused");
                wb_error_clear();
            }
}

static void test_core_json__get_case_sensitive(void)
{
    cJSON *j = NULL, *arr = NULL;
    WBT_OK(parse_str(&j, "{\"Name\":1,\"name\":2,\"NAME\":3}"));
    WBT_ASSERT_INT(wb_json__get(j, "name")->valuedouble, 2);
    WBT_ASSERT_INT(wb_json__get(j, "NAME")->valuedouble, 3);
    WBT_ASSERT(wb_json__get(j, "nAme") == NULL);
    WBT_ASSERT(wb_json__get(j, "missing") == NULL);
    WBT_ASSERT(wb_json__get(NULL, "name") == NULL);
    WBT_OK(parse_str(&arr, "[1]"));
    WBT_ASSERT(wb_json__get(arr, "0") == NULL);
    cJSON_Delete(arr);
    cJSON_Delete(j);
}

static int equal_texts(const char *a, const char *b)
{
    cJSON *x = NULL, *y = NULL;
    int eq = -1;
    if (parse_str(&x, a) == 0 && parse_str(&y, b) == 0)
        eq = wb_json__equal(x, y);
    cJSON_Delete(x);
    cJSON_Delete(y);
    return eq;
}

static void test_core_json__equal(void)
{
    WBT_ASSERT_INT(equal_texts("{\"a\":1,\"b\":[1,2]}", "{\"b\":[1,2],\"a\":1}"), 1);
    WBT_ASSERT_INT(equal_texts("{\"a\":1}", "{\"a\":1,\"b\":2}"), 0);
    WBT_ASSERT_INT(equal_texts("{\"a\":1,\"b\":2}", "{\"a\":1,\"c\":2}"), 0);
    WBT_ASSERT_INT(equal_texts("[1,2]", "[2,1]"), 0);
    WBT_ASSERT_INT(equal_texts("[1,2]", "[1,2,3]"), 0);
    WBT_ASSERT_INT(equal_texts("1", "1.0"), 1);
    WBT_ASSERT_INT(equal_texts("100", "1e2"), 1);
    WBT_ASSERT_INT(equal_texts("0", "-0"), 1);
    WBT_ASSERT_INT(equal_texts("1", "\"1\""), 0);
    WBT_ASSERT_INT(equal_texts("true", "false"), 0);
    WBT_ASSERT_INT(equal_texts("null", "null"), 1);
    WBT_ASSERT_INT(equal_texts("null", "{}"), 0);
    WBT_ASSERT_INT(equal_texts("{}", "[]"), 0);
    WBT_ASSERT_INT(equal_texts("\"a\"", "\"A\""), 0);
    WBT_ASSERT_INT(equal_texts("{\"a\":{\"b\":[{\"c\":null}]}}", "{\"a\":{\"b\":[{\"c\":null}]}}"),
                   1);
    WBT_ASSERT_INT(equal_texts("{\"a\":{\"b\":[{\"c\":null}]}}", "{\"a\":{\"b\":[{\"c\":0}]}}"), 0);
    WBT_ASSERT_INT(equal_texts("{\"a\":1}", "{\"A\":1}"), 0);
    WBT_ASSERT(wb_json__equal(NULL, NULL));
}

/* Objects over the sorting threshold, in different member orders. */
static void test_core_json__equal_big_objects(void)
{
    wb_buf a = WB_BUF_INIT, b = WB_BUF_INIT;
    cJSON *x = NULL, *y = NULL;
    wb_buf__putc(&a, '{');
    wb_buf__putc(&b, '{');
    for (int i = 0; i < 300; i++) {
        wb_buf__printf(&a, "%s\"m%d\":[%d]", i ? "," : "", i, i);
        wb_buf__printf(&b, "%s\"m%d\":[%d]", i ? "," : "", 299 - i, 299 - i);
    }
    wb_buf__putc(&a, '}');
    wb_buf__putc(&b, '}');
    WBT_OK(wb_json__parse(&x, a.ptr, a.len, NULL, "a"));
    WBT_OK(wb_json__parse(&y, b.ptr, b.len, NULL, "b"));
    WBT_ASSERT(wb_json__equal(x, y));
    cJSON_GetArrayItem(wb_json__get(y, "m7"), 0)->valuedouble = 8;
    WBT_ASSERT(!wb_json__equal(x, y));
    cJSON_Delete(x);
    cJSON_Delete(y);
    wb_buf__free(&a);
    wb_buf__free(&b);
}

static void check_print(const char *in, const char *expected)
{
    cJSON *j = NULL, *again = NULL;
    char *out;
    WBT_OK(parse_str(&j, in));
    out = wb_json__print(j);
    WBT_ASSERT(out);
    if (strcmp(out, expected) != 0)
        WBT_FAIL("print(%s) = %s, expected %s", in, out, expected);
    WBT_OK(parse_str(&again, out));
    WBT_ASSERT(wb_json__equal(j, again));
    wb__free(out);
    cJSON_Delete(j);
    cJSON_Delete(again);
}

static void test_core_json__print(void)
{
    check_print(" { \"b\" : 1 , \"a\" : [ true , false , null ] } ",
                "{\"b\":1,\"a\":[true,false,null]}");
    check_print("[0, -0, 1.5, -2, 1e2, 100000000000000000000, 0.1, 1e-7]",
                "[0,0,1.5,-2,100,100000000000000000000,0.1,1e-7]");
    /* JavaScript's Number#toString: the forms a Polis server hashes. */
    check_print("[33.43174362182617,-84.18405151367188,936.2361,1e21,1.5e-7,123456789012345680000]",
                "[33.43174362182617,-84.18405151367188,936.2361,1e+21,1.5e-7,123456789012345680000]");
    check_print("[5e-324,1.7976931348623157e308,0.000001]",
                "[5e-324,1.7976931348623157e+308,0.000001]");
    check_print("\"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\\u0001\\u001f\\u00e9\\ud83d\\ude00\"",
                "\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\xc3\xa9\xf0\x9f\x98\x80\"");
    check_print("{\"\":{},\"x\":[]}", "{\"\":{},\"x\":[]}");
    /* cJSON strings are C strings: an escaped NUL ends the value. */
    check_print("\"a\\u0000b\"", "\"a\"");
}

/* Every double printed reads back as exactly the same double. */
static void test_core_json__print_numbers_round_trip(void)
{
    static const double values[] = {
        0.1, 1.0 / 3.0, 2.0 / 3.0, 3.141592653589793, 1e300, -1e-300, 5e-324,
        1.7976931348623157e308, 123456789012345.0, 1234567890123456.0, 9007199254740993.0,
        -0.000123456789, 4.35, 0.30000000000000004,
    };
    for (size_t i = 0; i < WBT_ARRAY_LEN(values); i++) {
        cJSON *n = cJSON_CreateNumber(values[i]), *back = NULL;
        char *s = wb_json__print(n);
        WBT_ASSERT(s);
        WBT_OK(parse_str(&back, s));
        if (back->valuedouble != values[i])
            WBT_FAIL("%.17g printed as %s", values[i], s);
        wb__free(s);
        cJSON_Delete(back);
        cJSON_Delete(n);
    }
}

static void test_core_json__print_buf_appends(void)
{
    wb_buf b = WB_BUF_INIT;
    cJSON *j = NULL;
    WBT_OK(parse_str(&j, "{\"a\":[1,\"x\"]}"));
    wb_buf__puts(&b, "data=");
    WBT_OK(wb_json__print_buf(&b, j));
    WBT_ASSERT_STR(b.ptr, "data={\"a\":[1,\"x\"]}");
    wb_buf__free(&b);
    cJSON_Delete(j);
}

static void test_core_json__dup_and_type_name(void)
{
    cJSON *j = NULL, *copy;
    WBT_OK(parse_str(&j, "{\"s\":\"v\",\"n\":1,\"b\":true,\"f\":false,\"z\":null,\"a\":[],\"o\":{}}"));
    copy = wb_json__dup(j);
    WBT_ASSERT(copy && copy != j);
    WBT_ASSERT(wb_json__equal(j, copy));
    WBT_ASSERT_STR(wb_json__type_name(wb_json__get(j, "s")), "string");
    WBT_ASSERT_STR(wb_json__type_name(wb_json__get(j, "n")), "number");
    WBT_ASSERT_STR(wb_json__type_name(wb_json__get(j, "b")), "boolean");
    WBT_ASSERT_STR(wb_json__type_name(wb_json__get(j, "f")), "boolean");
    WBT_ASSERT_STR(wb_json__type_name(wb_json__get(j, "z")), "null");
    WBT_ASSERT_STR(wb_json__type_name(wb_json__get(j, "a")), "array");
    WBT_ASSERT_STR(wb_json__type_name(wb_json__get(j, "o")), "object");
    cJSON_Delete(copy);
    cJSON_Delete(j);
}

/* One scenario touching every allocation of the layer: parse (with a
 * sorted duplicate check), print, dup, compare big objects. */
static int alloc_scenario(void)
{
    wb_buf b = WB_BUF_INIT;
    cJSON *j = NULL, *copy = NULL;
    char *text = NULL;
    int error = 0;

    wb_buf__puts(&b, "{\"list\":[1,2.5,\"s\",null,{\"x\":true}],\"o\":{");
    for (int i = 0; i < 20; i++)
        wb_buf__printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
    wb_buf__puts(&b, "}}");
    if (b.oom) {
        error = WB_ENOMEM;
        goto cleanup;
    }
    if ((error = wb_json__parse(&j, b.ptr, b.len, NULL, "body")) < 0)
        goto cleanup;
    if (!(text = wb_json__print(j))) {
        error = WB_ENOMEM;
        goto cleanup;
    }
    if (!(copy = wb_json__dup(j))) {
        error = WB_ENOMEM;
        goto cleanup;
    }
    /* equal() falls back to pairwise lookups when it cannot sort. */
    if (!wb_json__equal(j, copy))
        error = WB_ERROR;
cleanup:
    wb__free(text);
    cJSON_Delete(copy);
    cJSON_Delete(j);
    wb_buf__free(&b);
    return error;
}

/* The digits as first written: the shortest %.*e that reads back, trying
 * every precision from 1. The printer's faster search must agree. */
static void reference_number(char out[WB_JSON_NUMBER_MAX], double d)
{
    char tmp[48], digits[24];
    int p, n, i, k = 0;
    size_t o = 0;
    const char *s;
    if (d < 0) {
        out[o++] = '-';
        d = -d;
    }
    for (p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof(tmp), "%.*e", p - 1, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    s = tmp;
    digits[k++] = *s++;
    if (*s != 'e')
        s++;
    while (*s >= '0' && *s <= '9')
        digits[k++] = *s++;
    n = atoi(s + 1) + 1;
    while (k > 1 && digits[k - 1] == '0')
        k--;
    if (k <= n && n <= 21) {
        memcpy(out + o, digits, (size_t)k), o += (size_t)k;
        for (i = k; i < n; i++)
            out[o++] = '0';
    } else if (0 < n && n <= 21) {
        memcpy(out + o, digits, (size_t)n), o += (size_t)n;
        out[o++] = '.';
        memcpy(out + o, digits + n, (size_t)(k - n)), o += (size_t)(k - n);
    } else if (-6 < n && n <= 0) {
        out[o++] = '0', out[o++] = '.';
        for (i = 0; i < -n; i++)
            out[o++] = '0';
        memcpy(out + o, digits, (size_t)k), o += (size_t)k;
    } else {
        out[o++] = digits[0];
        if (k > 1) {
            out[o++] = '.';
            memcpy(out + o, digits + 1, (size_t)(k - 1)), o += (size_t)(k - 1);
        }
        o += (size_t)snprintf(out + o, WB_JSON_NUMBER_MAX - o, "e%c%d", n - 1 >= 0 ? '+' : '-',
                              abs(n - 1));
    }
    out[o] = '\0';
}

/* Numbers print as ECMAScript's Number#toString would, exactly as the
 * exhaustive search printed them, over the kinds a record holds
 * (coordinates with up to 9 decimals, integers, distances) and random
 * bit patterns across the whole range, subnormals included. */
static void test_core_json__numbers_match_reference(void)
{
    char got[WB_JSON_NUMBER_MAX], want[WB_JSON_NUMBER_MAX];
    uint64_t state = 0x9e3779b97f4a7c15u;
    int bad = 0;
    for (int i = 0; i < 40000 && bad < 5; i++) {
        double d;
        uint64_t bits;
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        switch (i % 5) {
        case 0: /* a coordinate */
            d = (double)(int64_t)(state % 3600000000u) / pow(10, (double)((state >> 60) % 10)) - 180;
            break;
        case 1: /* an integer, up to beyond 2^53 */
            d = (double)(state >> (state & 15));
            break;
        case 2: /* a small decimal */
            d = (double)(state % 100000) / 1000.0;
            break;
        case 3: /* a subnormal or a tiny number */
            bits = state >> 12;
            memcpy(&d, &bits, sizeof(d));
            break;
        default: /* any finite double */
            bits = state;
            memcpy(&d, &bits, sizeof(d));
            if (!isfinite(d))
                continue;
        }
        if (d == 0)
            continue;
        wb_json__format_number(got, d);
        reference_number(want, d);
        if (strcmp(got, want) != 0) {
            fprintf(stderr, "    %.17g: got %s, want %s\n", d, got, want);
            bad++;
        }
    }
    WBT_ASSERT_INT(bad, 0);
}

static void test_core_json__alloc_failures(void)
{
    long start, n;
    int rc = -1;
    WBT_OK(wb__global_init());
    start = wb__alloc_live();
    for (n = 1; n < 10000 && rc != 0; n++) {
        wb__alloc_fail_at(n);
        rc = alloc_scenario();
        wb__alloc_fail_at(0);
        if (rc != 0 && rc != WB_ENOMEM)
            WBT_FAIL("failing allocation %ld: rc %d (%s)", n, rc,
                     wb_error_last() ? wb_error_last()->message : "no message");
        if (wb__alloc_live() != start)
            WBT_FAIL("failing allocation %ld: %ld blocks leaked", n, wb__alloc_live() - start);
    }
    WBT_ASSERT_INT(rc, 0);
    WBT_ASSERT(n > 10);
}

/* wb_json__is_compact says 1 only when wb_json__print of the parse gives the
 * text back (and the parse succeeds); strings with escapes are left to the
 * parse even when they would print the same. */
static void test_core_json__is_compact(void)
{
    static const struct {
        const char *text;
        int compact;
    } cases[] = {
        {"{\"a\":1}", 1},
        {"{\"a\": 1}", 0},
        {" {\"a\":1}", 0},
        {"{\"a\":1,\"b\":[true,false,null,\"x\"],\"c\":{}}", 1},
        {"{\"a\":1,\"a\":2}", 0},                     /* duplicate: parse refuses */
        {"{\"a\":{\"b\":1,\"b\":2}}", 0},             /* duplicate, nested */
        {"{\"a\":{\"b\":1},\"b\":{\"b\":2}}", 1},     /* same name, other objects */
        {"[{\"b\":1},{\"b\":2}]", 1},
        {"{\"s\":\"caf\xc3\xa9 \\\"q\\\"\"}", 0},     /* escapes print as they came, but */
        {"{\"s\":\"caf\xc3\xa9\"}", 1},               /* only escape-free strings count */
        {"{\"s\":\"a\\/b\"}", 0},
        {"{\"n\":1.5}", 1},
        {"{\"n\":1.50}", 0},
        {"{\"n\":1.0}", 0},
        {"{\"n\":-0}", 0},
        {"{\"n\":0}", 1},
        {"{\"n\":-12}", 1},
        {"{\"n\":1e3}", 0},
        {"{\"n\":1e+21}", 1},
        {"{\"n\":1e21}", 0},
        {"{\"n\":123456789012345}", 1},
        {"{\"n\":12345678901234567890}", 0},
        {"{\"n\":1e999}", 0},                         /* out of range: parse refuses */
        {"{\"n\":0.1}", 1},
        {"{\"n\":1E-7}", 0},
        {"{\"n\":1e-7}", 1},
        {"[]", 1},
        {"[ ]", 0},
        {"\"x\"", 1},
        {"12", 1},
        {"{\"a\":[[[[[]]]]]}", 1},
    };
    char big[4096];
    size_t o = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *t = cases[i].text;
        cJSON *tree = NULL;
        char *printed = NULL;
        int same;
        WBT_ASSERT_INT(wb_json__check(t, strlen(t), NULL, "t"), 0);
        same = wb_json__parse(&tree, t, strlen(t), NULL, "t") == 0 &&
               (printed = wb_json__print(tree)) != NULL && strcmp(printed, t) == 0;
        wb_error_clear();
        if (wb_json__is_compact(t, strlen(t)) != cases[i].compact ||
            (cases[i].compact && !same) || (!cases[i].compact && same && !strchr(t, '\\')))
            WBT_FAIL("%s: is_compact %d, print of parse same %d, expected %d", t,
                     wb_json__is_compact(t, strlen(t)), same, cases[i].compact);
        wb__free(printed);
        cJSON_Delete(tree);
    }
    /* An object of 100 members (names kept beyond the first 64), then a
     * duplicate of the first. */
    big[o++] = '{';
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(big + o, sizeof(big) - o, "%s\"m%d\":%d", i ? "," : "", i, i);
    big[o] = '}';
    big[o + 1] = '\0';
    WBT_ASSERT_INT(wb_json__is_compact(big, o + 1), 1);
    memcpy(big + o, ",\"m0\":1}", 9);
    WBT_ASSERT_INT(wb_json__is_compact(big, strlen(big)), 0);
}

static void test_core_json__compact_members(void)
{
    static const char t[] = "{\"id\":\"x\",\"data\":{\"id\":\"inner\",\"n\":[1,{\"z\":2}]},"
                            "\"meta\":{\"etag\":\"e\"},\"n\":-1.5,\"t\":true}";
    static const char *const names[] = {"meta", "id", "absent", "n", "t", "data"};
    const char *v[6];
    size_t n[6];
    double d;
    WBT_ASSERT_INT(wb_json__is_compact(t, strlen(t)), 1);
    WBT_ASSERT_INT(wb_json__compact_members(t, strlen(t), names, 6, v, n), 5);
    WBT_ASSERT(n[0] == 12 && memcmp(v[0], "{\"etag\":\"e\"}", 12) == 0);
    WBT_ASSERT(n[1] == 3 && memcmp(v[1], "\"x\"", 3) == 0);
    WBT_ASSERT(v[2] == NULL);
    WBT_ASSERT(n[3] == 4 && memcmp(v[3], "-1.5", 4) == 0);
    WBT_ASSERT(n[4] == 4 && memcmp(v[4], "true", 4) == 0);
    WBT_ASSERT(n[5] == 30 && memcmp(v[5], "{\"id\":\"inner\",\"n\":[1,{\"z\":2}]}", 30) == 0);
    WBT_ASSERT_INT(wb_json__compact_number_value(&d, v[3], n[3]), 1);
    WBT_ASSERT(d == -1.5);
    WBT_ASSERT_INT(wb_json__compact_number_value(&d, v[1], n[1]), 0);
    WBT_ASSERT_INT(wb_json__compact_member(v[5], n[5], "n", &v[0], &n[0]), 1);
    WBT_ASSERT(n[0] == 11 && memcmp(v[0], "[1,{\"z\":2}]", 11) == 0);
}

static const wbt_case cases[] = {
    WBT_CASE(test_core_json__parse_valid),
    WBT_CASE(test_core_json__numbers_match_reference),
    WBT_CASE(test_core_json__parse_not_terminated),
    WBT_CASE(test_core_json__trailing_bytes),
    WBT_CASE(test_core_json__nul_byte),
    WBT_CASE(test_core_json__duplicates),
    WBT_CASE(test_core_json__check_then_parse),
    WBT_CASE(test_core_json__duplicates_big_object),
    WBT_CASE(test_core_json__depth_limit),
    WBT_CASE(test_core_json__size_limit),
    WBT_CASE(test_core_json__syntax_errors),
    WBT_CASE(test_core_json__valid_edge_cases),
    WBT_CASE(test_core_json__string_bytes_at_every_offset),
    WBT_CASE(test_core_json__get_case_sensitive),
    WBT_CASE(test_core_json__equal),
    WBT_CASE(test_core_json__equal_big_objects),
    WBT_CASE(test_core_json__print),
    WBT_CASE(test_core_json__print_numbers_round_trip),
    WBT_CASE(test_core_json__print_buf_appends),
    WBT_CASE(test_core_json__dup_and_type_name),
    WBT_CASE(test_core_json__alloc_failures),
    WBT_CASE(test_core_json__is_compact),
    WBT_CASE(test_core_json__compact_members),
};

WBT_MAIN(cases, NULL, NULL)
