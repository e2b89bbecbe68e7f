/* date.h - civil dates as day numbers, and instants as microseconds.
 *
 * A date is the number of days since 1970-01-01 (proleptic Gregorian), so
 * date arithmetic is integer arithmetic. An instant is microseconds since the
 * Unix epoch, UTC; the wall-clock offset it was written with travels beside it.
 */
#ifndef ROLLCALL_DATE_H
#define ROLLCALL_DATE_H

#include <stddef.h>
#include <stdint.h>

#include "rollcall/error.h"

typedef int32_t rc_date_t;
typedef int64_t rc_time_t;

#define RC_DATE_STRLEN  11 /* "YYYY-MM-DD" plus NUL */
#define RC_TIME_STRLEN  40 /* "YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM" plus NUL */
#define RC_USEC_PER_SEC INT64_C(1000000)
#define RC_USEC_PER_DAY (INT64_C(86400) * RC_USEC_PER_SEC)

/* Bounds every parser enforces: far enough for any pupil's record, near
 * enough that day numbers and microseconds never overflow. */
/* No date: what a calendar walk returns when it runs off the calendar, and
 * "none" wherever a date is optional. */
#define RC_DATE_NONE INT32_MIN

#define RC_YEAR_MIN 1900
#define RC_YEAR_MAX 2199

/* date_from_ymd returns the day number of y-m-d. The caller passes a valid
 * civil date (date_parse checks one); out-of-range fields are normalised. */
rc_date_t date_from_ymd(int y, int m, int d);

/* date_to_ymd splits a day number into year, month (1-12) and day (1-31). */
void date_to_ymd(rc_date_t date, int *y, int *m, int *d);

/* date_to_number writes date as the integer YYYYMMDD (20250910), the form
 * Redis sorted sets score dates by; 0 for RC_DATE_NONE. date_from_number
 * reads one back: RC_DATE_NONE when n is not a valid date in range. */
int32_t date_to_number(rc_date_t date);
rc_date_t date_from_number(long n);

/* date_days_in_month returns 28..31 for a month (1-12) of year y. */
int date_days_in_month(int y, int m);

/* date_parse reads exactly "YYYY-MM-DD" from s[0..len) into *out. Returns
 * RC_EPARSE when the shape is wrong and RC_EINVAL for an impossible date such
 * as 2026-02-30 or a year outside RC_YEAR_MIN..RC_YEAR_MAX. */
rc_err_t date_parse(const char *s, size_t len, rc_date_t *out);

/* date_format writes "YYYY-MM-DD" into buf (RC_DATE_STRLEN bytes) and returns buf. */
char *date_format(rc_date_t date, char buf[RC_DATE_STRLEN]);

/* date_weekday returns the ISO weekday: 1 = Monday .. 7 = Sunday. */
int date_weekday(rc_date_t date);

/* date_is_weekend is true on Saturday and Sunday. */
int date_is_weekend(rc_date_t date);

/* date_monday returns the Monday on or before date (the start of its week). */
rc_date_t date_monday(rc_date_t date);

/* date_academic_year returns the calendar year in which date's school year
 * began: English school years run 1 September to 31 August. */
int date_academic_year(rc_date_t date);

/* date_academic_year_start returns 1 September of the school year holding date. */
rc_date_t date_academic_year_start(rc_date_t date);

/* time_parse_iso reads an ISO 8601 instant with a mandatory offset
 * ("2026-09-07T08:41:00+01:00", "...Z", optional fraction of a second up to
 * microseconds) into *out (UTC microseconds). *offset_s, when not NULL, gets
 * the offset in seconds east of UTC. Returns RC_EPARSE for a bad shape,
 * RC_EINVAL for an impossible date or time. */
rc_err_t time_parse_iso(const char *s, size_t len, rc_time_t *out, int32_t *offset_s);

/* time_format_iso writes t as local time at offset_s ("...+01:00", or "Z" at
 * zero offset), with a fraction only when t has one, and returns buf. */
char *time_format_iso(rc_time_t t, int32_t offset_s, char buf[RC_TIME_STRLEN]);

/* time_local_date returns the civil date of instant t at offset_s. */
rc_date_t time_local_date(rc_time_t t, int32_t offset_s);

/* time_local_minute returns the minute of the day (0..1439) of t at offset_s. */
int time_local_minute(rc_time_t t, int32_t offset_s);

#endif
