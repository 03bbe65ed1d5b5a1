/* test_core_time.c - Polis timestamps: wb_time__format / wb_time__parse. */
#include <stdint.h>

#include "common.h"
#include "timeutil.h"
#include "wbtest.h"

#define DAY_MS INT64_C(86400000)

static const char why_format[] = "expected YYYY-MM-DDTHH:MM:SS.mmmZ";

/* Known instants, cross-checked with `date -u -d @<s>` / Python datetime. */
static const struct {
    int64_t ms;
    const char *text;
} known[] = {
    {0, "1970-01-01T00:00:00.000Z"},
    {1, "1970-01-01T00:00:00.001Z"},
    {-1, "1969-12-31T23:59:59.999Z"},
    {-1000, "1969-12-31T23:59:59.000Z"},
    {-DAY_MS, "1969-12-31T00:00:00.000Z"},
    {-DAY_MS - 1, "1969-12-30T23:59:59.999Z"},
    {DAY_MS - 1, "1970-01-01T23:59:59.999Z"},
    {951782400000, "2000-02-29T00:00:00.000Z"},
    {951868799999, "2000-02-29T23:59:59.999Z"},
    {946684799999, "1999-12-31T23:59:59.999Z"},
    {946684800000, "2000-01-01T00:00:00.000Z"},
    {4107456000000, "2100-02-28T00:00:00.000Z"},
    {4107542400000, "2100-03-01T00:00:00.000Z"},
    {1505739115000, "2017-09-18T12:51:55.000Z"},
    {1531852853526, "2018-07-17T18:40:53.526Z"},
    {1555962186475, "2019-04-22T19:43:06.475Z"},
    {-2208988800000, "1900-01-01T00:00:00.000Z"},
    {-2203891200000, "1900-03-01T00:00:00.000Z"},
    {-62135596800000, "0001-01-01T00:00:00.000Z"},
    {-62167219200000, "0000-01-01T00:00:00.000Z"},
    {-62162035200000, "0000-03-01T00:00:00.000Z"}, /* year 0 is a leap year */
    {-12219292800000, "1582-10-15T00:00:00.000Z"},
    {253402300799999, "9999-12-31T23:59:59.999Z"},
    {2147483647000, "2038-01-19T03:14:07.000Z"},
    {2147483648000, "2038-01-19T03:14:08.000Z"},
};

static void test_core_time__known_instants(void)
{
    char buf[WB_TIMESTAMP_LEN + 1];
    for (size_t i = 0; i < WB__ARRAY_SIZE(known); i++) {
        int64_t ms = 12345;
        const char *why = NULL;
        WBT_OK(wb_time__format(buf, known[i].ms));
        WBT_ASSERT_STR(buf, known[i].text);
        WBT_ASSERT_INT(strlen(buf), WB_TIMESTAMP_LEN);
        WBT_ASSERT_INT(wb_time__parse(&ms, known[i].text, &why), 0);
        WBT_ASSERT_INT(ms, known[i].ms);
    }
}

/* Every day boundary over several 400-year cycles, plus odd offsets, makes
 * a round trip and increases strictly in string order. */
static void test_core_time__round_trip_many(void)
{
    char buf[WB_TIMESTAMP_LEN + 1], prev[WB_TIMESTAMP_LEN + 1] = "";
    const int64_t lo = INT64_C(-62167219200000), hi = INT64_C(253402300799999);
    const int64_t step = DAY_MS * 7 + 3600000 * 5 + 60000 * 17 + 1000 * 29 + 421;
    long n = 0;
    for (int64_t ms = lo; ms <= hi; ms += step, n++) {
        int64_t back = 0;
        WBT_OK(wb_time__format(buf, ms));
        WBT_ASSERT_INT(wb_time__parse(&back, buf, NULL), 0);
        WBT_ASSERT_INT(back, ms);
        WBT_ASSERT(strcmp(prev, buf) < 0);
        memcpy(prev, buf, sizeof(buf));
    }
    WBT_ASSERT(n > 400000);
}

/* Walk day by day from 1899 to 2101 and check the calendar against a plain
 * counter of (year, month, day). */
static void test_core_time__every_day_1899_2101(void)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = 1899, m = 1, d = 1;
    int64_t ms = INT64_C(-2240524800000); /* 1899-01-01 */
    char buf[WB_TIMESTAMP_LEN + 1], want[64];
    while (y <= 2101) {
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        int dim = m == 2 && leap ? 29 : mdays[m - 1];
        int64_t back = 0;
        snprintf(want, sizeof(want), "%04d-%02d-%02dT00:00:00.000Z", y, m, d);
        WBT_OK(wb_time__format(buf, ms));
        WBT_ASSERT_STR(buf, want);
        WBT_ASSERT_INT(wb_time__parse(&back, want, NULL), 0);
        WBT_ASSERT_INT(back, ms);
        ms += DAY_MS;
        if (++d > dim) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
}

static void test_core_time__year_boundaries(void)
{
    char buf[WB_TIMESTAMP_LEN + 1];
    int64_t ms = 0;
    WBT_ASSERT_INT(wb_time__parse(&ms, "2019-01-01T00:00:00.000Z", NULL), 0);
    WBT_OK(wb_time__format(buf, ms - 1));
    WBT_ASSERT_STR(buf, "2018-12-31T23:59:59.999Z");
    WBT_ASSERT_INT(wb_time__parse(&ms, "1969-01-01T00:00:00.000Z", NULL), 0);
    WBT_OK(wb_time__format(buf, ms - 1));
    WBT_ASSERT_STR(buf, "1968-12-31T23:59:59.999Z");
    WBT_ASSERT_INT(ms, INT64_C(-31536000000));
}

static void test_core_time__format_out_of_range(void)
{
    char buf[WB_TIMESTAMP_LEN + 1];
    WBT_FAILS(wb_time__format(buf, INT64_C(-62167219200001)), WB_EINVALID, "timestamp:");
    WBT_FAILS(wb_time__format(buf, INT64_C(253402300800000)), WB_EINVALID, "0000-9999");
    WBT_FAILS(wb_time__format(buf, INT64_MAX), WB_EINVALID, "timestamp:");
    WBT_FAILS(wb_time__format(buf, INT64_MIN), WB_EINVALID, "timestamp:");
}

static void test_core_time__now(void)
{
    char buf[WB_TIMESTAMP_LEN + 1];
    int64_t a = wb_time__now_ms(), b;
    /* After 2020-01-01 and before 2100: the clock is real and in ms. */
    WBT_ASSERT(a > INT64_C(1577836800000));
    WBT_ASSERT(a < INT64_C(4102444800000));
    b = wb_time__now_ms();
    WBT_ASSERT(b >= a - 1000);
    WBT_OK(wb_time__format(buf, a));
    WBT_ASSERT(strncmp(buf, "20", 2) == 0);
}

/* Shapes that must be refused as format errors, with the format reason. */
static void test_core_time__reject_format(void)
{
    static const char *bad[] = {
        "",
        "2019-04-22T19:43:06.475",       /* no Z */
        "2019-04-22T19:43:06.475Z ",     /* trailing byte */
        " 2019-04-22T19:43:06.475Z",     /* leading byte */
        "2019-04-22T19:43:06.47Z",       /* two fractional digits */
        "2019-04-22T19:43:06.4750Z",     /* four fractional digits */
        "2019-04-22T19:43:06Z",          /* no fraction */
        "2019-04-22 19:43:06.475Z",      /* space separator */
        "2019-04-22t19:43:06.475Z",      /* lowercase t */
        "2019-04-22T19:43:06.475z",      /* lowercase z */
        "2019/04/22T19:43:06.475Z",      /* bad date separators */
        "2019-04-22T19-43-06.475Z",      /* bad time separators */
        "2019-04-22T19:43:06,475Z",      /* comma fraction */
        "2019-04-22T19:43:06.475+",      /* offset instead of Z */
        "2019-04-22T19:43:06.475+00:00", /* offset */
        "20a9-04-22T19:43:06.475Z",      /* letter in year */
        "2019-0x-22T19:43:06.475Z",      /* letter in month */
        "2019-04-2bT19:43:06.475Z",      /* letter in day */
        "2019-04-22T1a:43:06.475Z",      /* letter in hour */
        "2019-04-22T19:4b:06.475Z",      /* letter in minute */
        "2019-04-22T19:43:0c.475Z",      /* letter in second */
        "2019-04-22T19:43:06.47dZ",      /* letter in fraction */
        "2019-04-22T19:43:06.-47Z",      /* sign in fraction */
        "+019-04-22T19:43:06.475Z",      /* sign in year */
        "-019-04-22T19:43:06.475Z",
        "2019-04-22T19:43:06.4\xd9\xa5Z", /* non-ASCII "digit" */
        "12019-04-22T19:43:06.475Z",     /* five-digit year */
        "2019-4-22T19:43:06.475Z",       /* unpadded month */
    };
    for (size_t i = 0; i < WB__ARRAY_SIZE(bad); i++) {
        int64_t ms = 777;
        const char *why = NULL;
        if (wb_time__parse(&ms, bad[i], &why) != WB_EINVALID)
            WBT_FAIL("accepted \"%s\"", bad[i]);
        WBT_ASSERT_INT(ms, 777);
        WBT_ASSERT_STR(why, why_format);
    }
    WBT_ASSERT_INT(wb_time__parse(&(int64_t){0}, NULL, NULL), WB_EINVALID);
}

/* A buffer holding a prefix of a timestamp and no NUL after it in the
 * sanitizer's view: parse must stop at the NUL. */
static void test_core_time__short_input_no_overread(void)
{
    const char *full = "2019-04-22T19:43:06.475Z";
    for (size_t n = 0; n < WB_TIMESTAMP_LEN; n++) {
        char *p = malloc(n + 1);
        int64_t ms = 0;
        WBT_ASSERT(p != NULL);
        memcpy(p, full, n);
        p[n] = '\0';
        WBT_ASSERT_INT(wb_time__parse(&ms, p, NULL), WB_EINVALID);
        free(p);
    }
}

/* Well-formed but not a real instant: calendar/clock reasons. */
static void test_core_time__reject_calendar(void)
{
    static const struct {
        const char *s;
        const char *why;
    } bad[] = {
        {"2019-13-01T00:00:00.000Z", "not a real calendar date"},
        {"2019-00-01T00:00:00.000Z", "not a real calendar date"},
        {"2019-01-00T00:00:00.000Z", "not a real calendar date"},
        {"2019-01-32T00:00:00.000Z", "not a real calendar date"},
        {"2019-02-29T00:00:00.000Z", "not a real calendar date"},
        {"1900-02-29T00:00:00.000Z", "not a real calendar date"},
        {"2100-02-29T00:00:00.000Z", "not a real calendar date"},
        {"2019-02-30T00:00:00.000Z", "not a real calendar date"},
        {"2019-04-31T00:00:00.000Z", "not a real calendar date"},
        {"2019-06-31T00:00:00.000Z", "not a real calendar date"},
        {"2019-09-31T00:00:00.000Z", "not a real calendar date"},
        {"2019-11-31T00:00:00.000Z", "not a real calendar date"},
        {"2019-99-99T00:00:00.000Z", "not a real calendar date"},
        {"2019-04-22T24:00:00.000Z", "not a real time of day"},
        {"2019-04-22T99:00:00.000Z", "not a real time of day"},
        {"2019-04-22T23:60:00.000Z", "not a real time of day"},
        {"2019-04-22T23:59:60.000Z", "not a real time of day"},
        {"2016-12-31T23:59:60.000Z", "not a real time of day"}, /* a real leap second */
    };
    for (size_t i = 0; i < WB__ARRAY_SIZE(bad); i++) {
        int64_t ms = 777;
        const char *why = NULL;
        if (wb_time__parse(&ms, bad[i].s, &why) != WB_EINVALID)
            WBT_FAIL("accepted \"%s\"", bad[i].s);
        WBT_ASSERT_INT(ms, 777);
        WBT_ASSERT_STR(why, bad[i].why);
    }
}

static void test_core_time__accept_edges(void)
{
    static const char *good[] = {
        "2000-02-29T00:00:00.000Z", "2016-02-29T12:00:00.000Z", "2400-02-29T00:00:00.000Z",
        "2019-01-31T23:59:59.999Z", "2019-03-31T00:00:00.000Z", "2019-04-30T00:00:00.000Z",
        "2019-12-31T23:59:59.999Z", "0000-02-29T00:00:00.000Z", "9999-12-31T23:59:59.999Z",
        "0000-01-01T00:00:00.000Z",
    };
    for (size_t i = 0; i < WB__ARRAY_SIZE(good); i++) {
        int64_t ms = 0;
        char buf[WB_TIMESTAMP_LEN + 1];
        const char *why = NULL;
        if (wb_time__parse(&ms, good[i], &why) != 0)
            WBT_FAIL("refused \"%s\": %s", good[i], why ? why : "?");
        WBT_OK(wb_time__format(buf, ms));
        WBT_ASSERT_STR(buf, good[i]);
    }
}

static const wbt_case cases[] = {
    WBT_CASE(test_core_time__known_instants),
    WBT_CASE(test_core_time__round_trip_many),
    WBT_CASE(test_core_time__every_day_1899_2101),
    WBT_CASE(test_core_time__year_boundaries),
    WBT_CASE(test_core_time__format_out_of_range),
    WBT_CASE(test_core_time__now),
    WBT_CASE(test_core_time__reject_format),
    WBT_CASE(test_core_time__short_input_no_overread),
    WBT_CASE(test_core_time__reject_calendar),
    WBT_CASE(test_core_time__accept_edges),
};

WBT_MAIN(cases, NULL, NULL)
