/*
 * timeutil.h - Polis timestamps: "YYYY-MM-DDTHH:MM:SS.mmmZ", UTC, always
 * three fractional digits, so that string order equals time order.
 */
#ifndef WB_TIMEUTIL_H
#define WB_TIMEUTIL_H

#include <stdint.h>

#define WB_TIMESTAMP_LEN 24 /* without the NUL */

/* Milliseconds since 1970-01-01T00:00:00.000Z from the real-time clock. */
int64_t wb_time__now_ms(void);

/* Format ms since the epoch; buf must hold WB_TIMESTAMP_LEN + 1 bytes.
 * Years 0000..9999 only; returns 0 or WB_EINVALID. */
int wb_time__format(char *buf, int64_t ms);

/* Parse exactly the fixed format above and check it is a real calendar
 * instant (month 1-12, day within the month including leap years, hour
 * 0-23, minute 0-59, second 0-59). Returns 0 and sets *ms, or WB_EINVALID
 * without setting an error message (callers name the field). On failure,
 * *why (if not NULL) gets a static description ("not a real calendar
 * date", "expected YYYY-MM-DDTHH:MM:SS.mmmZ"). */
int wb_time__parse(int64_t *ms, const char *s, const char **why);

#endif
