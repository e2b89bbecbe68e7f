/* test_calendar.c - open sessions, school days and weeks, half terms, and the
 * rolling window of school weeks across holidays and school years. */
#include <criterion/criterion.h>

#include "fixture_calendar.h"
#include "rollcall/calendar.h"

#define D fx_date

static calendar_t *cal;
static void setup(void)
{
    cal = fx_calendar();
    cr_assert_not_null(cal);
}
static void teardown(void)
{
    calendar_destroy(&cal);
    cr_assert_null(cal);
    calendar_destroy(&cal); /* harmless twice */
}
TestSuite(calendar, .init = setup, .fini = teardown);

Test(calendar, sessions)
{
    session_t s;
    cr_assert_eq(session_parse("AM", 2, &s), RC_OK);
    cr_assert_eq(s, SESSION_AM);
    cr_assert_eq(session_parse("PM", 2, &s), RC_OK);
    cr_assert_eq(s, SESSION_PM);
    cr_assert_eq(session_parse("am", 2, &s), RC_EINVAL);
    cr_assert_eq(session_parse("ALL", 3, &s), RC_EINVAL);
    cr_assert_str_eq(session_str(SESSION_PM), "PM");
}

Test(calendar, open_sessions)
{
    cr_assert(!calendar_is_school_day(cal, D("2025-09-02"))); /* before term */
    cr_assert(calendar_is_open(cal, D("2025-09-03"), SESSION_AM));
    cr_assert(!calendar_is_school_day(cal, D("2025-09-06"))); /* Saturday */
    cr_assert(!calendar_is_school_day(cal, D("2025-10-29"))); /* half term */
    cr_assert(!calendar_is_school_day(cal, D("2025-12-24")));
    cr_assert(!calendar_is_school_day(cal, D("2026-05-04"))); /* bank holiday */
    cr_assert(calendar_is_open(cal, D("2026-03-27"), SESSION_AM));
    cr_assert(!calendar_is_open(cal, D("2026-03-27"), SESSION_PM));
    cr_assert_eq(calendar_open_mask(cal, D("2026-03-27")), SESS_AM);
    cr_assert(!calendar_is_school_day(cal, D("2030-01-07"))); /* beyond the calendar */
    cr_assert(!calendar_is_school_day(cal, D("2020-01-07")));
    cr_assert_eq(calendar_first_day(cal), D("2025-09-03"));
    cr_assert_eq(calendar_last_day(cal), D("2026-12-18"));
}

Test(calendar, closure_before_term_still_wins)
{
    calendar_t *c = calendar_new();
    cr_assert_eq(calendar_add_closure(c, D("2026-02-16"), D("2026-02-20"), SESS_ALL), RC_OK);
    cr_assert_eq(calendar_add_term(c, D("2026-01-05"), D("2026-03-27")), RC_OK);
    cr_assert(!calendar_is_school_day(c, D("2026-02-17")));
    cr_assert(calendar_is_school_day(c, D("2026-02-23")));
    cr_assert_eq(calendar_add_term(c, D("2026-03-27"), D("2026-01-05")), RC_EINVAL);
    cr_assert_eq(calendar_add_closure(c, D("2026-01-05"), D("2026-01-05"), 0), RC_EINVAL);
    cr_assert_eq(calendar_add_term(c, D("2026-01-05"), D("2046-01-05")), RC_ERANGE);
    cr_assert_eq(calendar_add_term(c, D("1990-01-05"), D("1990-03-05")), RC_ERANGE);
    cr_assert(calendar_is_school_day(c, D("2026-01-05"))); /* failed adds changed nothing */
    calendar_destroy(&c);
}

Test(calendar, counting)
{
    /* Autumn 2025: 3 Sept - 19 Dec is 16 weeks + 3 days = 78 weekdays, less 5 of half term. */
    cr_assert_eq(calendar_school_days(cal, D("2025-09-01"), D("2025-12-31")), 73);
    cr_assert_eq(calendar_open_sessions(cal, D("2025-09-01"), D("2025-12-31")), 146);
    /* Spring ends with a morning only: 60 weekdays - 5 half term = 55 days, 109 sessions. */
    cr_assert_eq(calendar_school_days(cal, D("2026-01-01"), D("2026-04-01")), 55);
    cr_assert_eq(calendar_open_sessions(cal, D("2026-01-01"), D("2026-04-01")), 109);
    cr_assert_eq(calendar_prev_school_day(cal, D("2026-01-05")), D("2025-12-19"));
    cr_assert_eq(calendar_next_school_day(cal, D("2025-12-19")), D("2026-01-05"));
    cr_assert_eq(calendar_prev_school_day(cal, D("2025-09-03")), RC_DATE_NONE);
    cr_assert_eq(calendar_next_school_day(cal, D("2026-12-18")), RC_DATE_NONE);
    /* Five school days after Thursday 30 April skip the weekend and the bank holiday. */
    cr_assert_eq(calendar_nth_school_day_after(cal, D("2026-04-30"), 5), D("2026-05-08"));
}

Test(calendar, school_weeks)
{
    cr_assert(calendar_is_school_week(cal, D("2025-09-07"))); /* Sunday of a term week */
    cr_assert(!calendar_is_school_week(cal, D("2025-10-29")));
    cr_assert(!calendar_is_school_week(cal, D("2025-12-22")));
    cr_assert(!calendar_is_school_week(cal, D("2025-12-29")));
    cr_assert(calendar_is_school_week(cal, D("2026-07-24"))); /* term ends Wednesday */
    cr_assert(!calendar_is_school_week(cal, D("2026-07-27")));
    cr_assert(calendar_is_school_week(cal, D("2026-08-31"))); /* term starts Wednesday */
}

Test(calendar, window_across_christmas)
{
    /* 10 school weeks back from Fri 16 Jan: 2 in January, skip 2 Christmas
     * weeks, 7 in Nov-Dec, skip October half term, so w/c 20 Oct. */
    cr_assert_eq(calendar_window_start(cal, D("2026-01-16"), 10), D("2025-10-20"));
}

Test(calendar, window_across_february_half_term)
{
    cr_assert_eq(calendar_window_start(cal, D("2026-03-06"), 10), D("2025-12-08"));
    cr_assert_eq(calendar_window_start(cal, D("2026-03-06"), 1), D("2026-03-02"));
    cr_assert_eq(calendar_window_start(cal, D("2026-03-06"), 0), D("2026-03-02"));
}

Test(calendar, window_across_summer_and_school_years)
{
    /* Fri 11 Sept 2026: w/c 7 Sep, w/c 31 Aug (Wed start), skip summer,
     * w/c 20 Jul (Mon-Wed open) back to w/c 1 June; May half term not reached. */
    cr_assert_eq(calendar_window_start(cal, D("2026-09-11"), 10), D("2026-06-01"));
    /* 12 weeks (seed 004) reach back over May half term. */
    cr_assert_eq(calendar_window_start(cal, D("2026-09-11"), 12), D("2026-05-11"));
}

Test(calendar, window_ending_in_a_holiday)
{
    /* Evaluated in half term: that week does not count. */
    cr_assert_eq(calendar_window_start(cal, D("2026-02-18"), 1), D("2026-02-09"));
    /* Evaluated in the summer holiday, long after the last term ended. */
    cr_assert_eq(calendar_window_start(cal, D("2026-08-14"), 2), D("2026-07-13"));
    /* Beyond the calendar's end, weeks are taken from its last term. */
    cr_assert_eq(calendar_window_start(cal, D("2027-03-01"), 1), D("2026-12-14"));
}

Test(calendar, window_runs_off_the_calendar)
{
    /* Only 3 school weeks exist before Fri 19 Sept 2025: the window starts at the first. */
    cr_assert_eq(calendar_window_start(cal, D("2025-09-19"), 10), D("2025-09-01"));
    calendar_t *empty = calendar_new();
    cr_assert_eq(calendar_window_start(empty, D("2025-09-19"), 10), D("2025-09-15"));
    cr_assert_eq(calendar_half_term_start(empty, D("2025-09-19")), RC_DATE_NONE);
    calendar_destroy(&empty);
}

Test(calendar, half_terms)
{
    cr_assert_eq(calendar_half_term_start(cal, D("2025-10-01")), D("2025-09-03"));
    cr_assert_eq(calendar_half_term_start(cal, D("2025-11-05")), D("2025-11-03"));
    cr_assert_eq(calendar_half_term_start(cal, D("2026-01-07")), D("2026-01-05"));
    cr_assert_eq(calendar_half_term_start(cal, D("2026-03-06")), D("2026-02-23"));
    /* In the holiday: the half term just ended. */
    cr_assert_eq(calendar_half_term_start(cal, D("2026-02-18")), D("2026-01-05"));
    /* A bank holiday or an INSET day does not start a new half term. */
    cr_assert_eq(calendar_half_term_start(cal, D("2026-05-06")), D("2026-04-13"));
    cr_assert_eq(calendar_half_term_start(cal, D("2026-06-30")), D("2026-06-01"));
    cr_assert_eq(calendar_half_term_start(cal, D("2026-09-10")), D("2026-09-02"));
    cr_assert_eq(calendar_half_term_start(cal, D("2025-08-01")), RC_DATE_NONE);
}
