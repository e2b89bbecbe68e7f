/* calendar.h - a school's calendar: terms and closures, and from them open
 * sessions, school days, school weeks, half terms and rolling windows.
 *
 * A session is open when its date is a weekday inside a term and no closure
 * covers that session. A school day has at least one open session. A school
 * week is a Monday-Sunday week with at least one open session. */
#ifndef ROLLCALL_CALENDAR_H
#define ROLLCALL_CALENDAR_H

#include <stddef.h>

#include "rollcall/date.h"
#include "rollcall/error.h"

typedef enum { SESSION_AM = 0, SESSION_PM = 1 } session_t;

/* Session masks, for closures and "which sessions are open today". */
#define SESS_AM     1u
#define SESS_PM     2u
#define SESS_ALL    (SESS_AM | SESS_PM)
#define SESS_BIT(s) (1u << (unsigned)(s))

/* The longest calendar accepted, in days from first term day to last. */
#define CALENDAR_MAX_DAYS (366 * 12)

/* Closed weekdays in a row that separate two half terms (a bank holiday or
 * an INSET day or two do not; a week's holiday does). */
#define CALENDAR_HALF_TERM_GAP 3

/* session_parse reads "AM" or "PM". */
rc_err_t session_parse(const char *s, size_t len, session_t *out);

/* session_str returns "AM" or "PM". */
const char *session_str(session_t s);

typedef struct calendar calendar_t;

/* calendar_new returns an empty calendar (every session closed), or NULL. */
calendar_t *calendar_new(void);

/* calendar_destroy frees *self_p and sets it to NULL; NULL-safe. */
void calendar_destroy(calendar_t **self_p);

/* calendar_add_term opens the weekdays from..to inclusive. Returns RC_EINVAL
 * when to < from and RC_ERANGE when the calendar would span more than
 * CALENDAR_MAX_DAYS. Closures win over terms whatever order they are added. */
rc_err_t calendar_add_term(calendar_t *cal, rc_date_t from, rc_date_t to);

/* calendar_add_closure closes the sessions in mask (SESS_AM, SESS_PM or
 * SESS_ALL) on from..to inclusive. Returns RC_EINVAL for to < from or an
 * empty mask, RC_ERANGE as calendar_add_term. */
rc_err_t calendar_add_closure(calendar_t *cal, rc_date_t from, rc_date_t to, unsigned mask);

/* calendar_first_day / calendar_last_day bound the terms added, or
 * RC_DATE_NONE when there are none. */
rc_date_t calendar_first_day(const calendar_t *cal);
rc_date_t calendar_last_day(const calendar_t *cal);

/* calendar_open_mask returns the open sessions of date as SESS_* bits. */
unsigned calendar_open_mask(const calendar_t *cal, rc_date_t date);

/* calendar_is_open is true when session s of date is open. */
int calendar_is_open(const calendar_t *cal, rc_date_t date, session_t s);

/* calendar_is_school_day is true when date has an open session. */
int calendar_is_school_day(const calendar_t *cal, rc_date_t date);

/* calendar_is_school_week is true when the Monday-Sunday week holding date
 * has an open session. */
int calendar_is_school_week(const calendar_t *cal, rc_date_t date);

/* calendar_open_sessions counts open sessions in from..to inclusive. */
int calendar_open_sessions(const calendar_t *cal, rc_date_t from, rc_date_t to);

/* calendar_school_days counts school days in from..to inclusive. */
int calendar_school_days(const calendar_t *cal, rc_date_t from, rc_date_t to);

/* calendar_prev_school_day returns the last school day strictly before date,
 * or RC_DATE_NONE. calendar_next_school_day likewise strictly after. */
rc_date_t calendar_prev_school_day(const calendar_t *cal, rc_date_t date);
rc_date_t calendar_next_school_day(const calendar_t *cal, rc_date_t date);

/* calendar_nth_school_day_after returns the n-th school day after date
 * (n >= 1), or RC_DATE_NONE when the calendar ends first. */
rc_date_t calendar_nth_school_day_after(const calendar_t *cal, rc_date_t date, int n);

/* calendar_window_start returns the first day (a Monday) of "the last n
 * school weeks ending on end": the week holding end counts when it is a
 * school week, then earlier weeks are taken back, skipping holiday weeks,
 * across terms and school years. When the calendar runs out first, the
 * window starts on the Monday of the earliest school week it holds (or on
 * end's Monday when it holds none). n < 1 is treated as 1. */
rc_date_t calendar_window_start(const calendar_t *cal, rc_date_t end, int n);

/* calendar_half_term_start returns the first school day of the half term
 * holding date; in a holiday, of the half term just ended. Half terms are
 * separated by CALENDAR_HALF_TERM_GAP or more closed weekdays in a row.
 * Returns RC_DATE_NONE when no school day is on or before date. */
rc_date_t calendar_half_term_start(const calendar_t *cal, rc_date_t date);

#endif
