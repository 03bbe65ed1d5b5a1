/*
 * timeutil.c - Polis timestamps ("YYYY-MM-DDTHH:MM:SS.mmmZ") to and from
 * milliseconds since the epoch.
 *
 * The calendar arithmetic is done here rather than with gmtime_r/timegm:
 * timegm is not in POSIX, time_t may be 32 bits on some targets, and both
 * normalise out-of-range fields (Feb 30 becomes Mar 2) where we must refuse
 * them. The day-count conversions are the proleptic Gregorian
 * days-from-civil/civil-from-days algorithms, exact for every year we allow.
 */
#include <time.h>

#include "common.h"
#include "timeutil.h"

#define MS_PER_DAY INT64_C(86400000)

/* 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z. */
#define WB_TIME__MIN_MS INT64_C(-62167219200000)
#define WB_TIME__MAX_MS INT64_C(253402300799999)

static const char wb_time__why_format[] = "expected YYYY-MM-DDTHH:MM:SS.mmmZ";
static const char wb_time__why_date[] = "not a real calendar date";
static const char wb_time__why_clock[] = "not a real time of day";

/* Floor division: C truncates towards zero, which would put instants
 * before 1970 on the wrong day. */
static int64_t wb_time__floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. Eras are 400-year
 * cycles starting on March 1st, so the leap day is the last day of a
 * year and needs no special case. */
static int64_t wb_time__days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = wb_time__floor_div(y, 400);
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void wb_time__civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;
    z += 719468;
    era = wb_time__floor_div(z, 146097);
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int wb_time__is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int wb_time__days_in_month(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && wb_time__is_leap(y) ? 29 : days[m - 1];
}

int64_t wb_time__now_ms(void)
{
    struct timespec ts;
    /* CLOCK_REALTIME cannot fail with a valid clock id and pointer; if it
     * somehow did, 0 (1970) is an obviously wrong but harmless value. */
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + (int64_t)(ts.tv_nsec / 1000000);
}

static void wb_time__put_digits(char *p, int64_t v, int n)
{
    while (n-- > 0) {
        p[n] = (char)('0' + (int)(v % 10));
        v /= 10;
    }
}

int wb_time__format(char *buf, int64_t ms)
{
    int64_t days, rem, y;
    int m, d;

    if (ms < WB_TIME__MIN_MS || ms > WB_TIME__MAX_MS)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "timestamp: %lld ms is outside the years 0000-9999", (long long)ms);
    days = wb_time__floor_div(ms, MS_PER_DAY);
    rem = ms - days * MS_PER_DAY; /* 0 .. MS_PER_DAY-1 even before 1970 */
    wb_time__civil_from_days(days, &y, &m, &d);

    wb_time__put_digits(buf, y, 4);
    buf[4] = '-';
    wb_time__put_digits(buf + 5, m, 2);
    buf[7] = '-';
    wb_time__put_digits(buf + 8, d, 2);
    buf[10] = 'T';
    wb_time__put_digits(buf + 11, rem / 3600000, 2);
    buf[13] = ':';
    wb_time__put_digits(buf + 14, rem / 60000 % 60, 2);
    buf[16] = ':';
    wb_time__put_digits(buf + 17, rem / 1000 % 60, 2);
    buf[19] = '.';
    wb_time__put_digits(buf + 20, rem % 1000, 3);
    buf[23] = 'Z';
    buf[24] = '\0';
    return 0;
}

/* Read n ASCII digits; -1 if any is not one (isdigit would accept other
 * characters in some locales). */
static int wb_time__digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

int wb_time__parse(int64_t *ms, const char *s, const char **why)
{
    int y, mo, d, h, mi, sec, frac;
    size_t len;

    if (!s)
        goto bad_format;
    /* Checking the length first means the fixed offsets below never read
     * past the terminating NUL. */
    for (len = 0; len <= WB_TIMESTAMP_LEN && s[len]; len++)
        ;
    if (len != WB_TIMESTAMP_LEN)
        goto bad_format;
    if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[19] != '.' || s[23] != 'Z')
        goto bad_format;
    y = wb_time__digits(s, 4);
    mo = wb_time__digits(s + 5, 2);
    d = wb_time__digits(s + 8, 2);
    h = wb_time__digits(s + 11, 2);
    mi = wb_time__digits(s + 14, 2);
    sec = wb_time__digits(s + 17, 2);
    frac = wb_time__digits(s + 20, 3);
    if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0 || frac < 0)
        goto bad_format;

    if (mo < 1 || mo > 12 || d < 1 || d > wb_time__days_in_month(y, mo)) {
        if (why)
            *why = wb_time__why_date;
        return WB_EINVALID;
    }
    /* No leap second: Polis clocks are POSIX clocks, which never show :60. */
    if (h > 23 || mi > 59 || sec > 59) {
        if (why)
            *why = wb_time__why_clock;
        return WB_EINVALID;
    }
    *ms = wb_time__days_from_civil(y, mo, d) * MS_PER_DAY + (int64_t)h * 3600000 +
          (int64_t)mi * 60000 + (int64_t)sec * 1000 + frac;
    return 0;

bad_format:
    if (why)
        *why = wb_time__why_format;
    return WB_EINVALID;
}
