/* fixture_calendar.h - an English school calendar for 2025-26 and autumn
 * 2026, built the way a school would send it: whole terms, with half terms,
 * a bank holiday, INSET days and a PM closure as closures. */
#ifndef ROLLCALL_FIXTURE_CALENDAR_H
#define ROLLCALL_FIXTURE_CALENDAR_H

#include <string.h>

#include "rollcall/calendar.h"

static inline rc_date_t fx_date(const char *s)
{
    rc_date_t d = RC_DATE_NONE;
    date_parse(s, strlen(s), &d);
    return d;
}

static inline calendar_t *fx_calendar(void)
{
    calendar_t *cal = calendar_new();
    static const char *terms[][2] = {
        {"2025-09-03", "2025-12-19"}, /* autumn 2025 (Mon 1, Tue 2 Sept INSET: before term) */
        {"2026-01-05", "2026-03-27"}, /* spring 2026 */
        {"2026-04-13", "2026-07-22"}, /* summer 2026, ends Wednesday 22 July */
        {"2026-09-02", "2026-12-18"}, /* autumn 2026, starts Wednesday 2 Sept */
    };
    static const char *closures[][3] = {
        {"2025-10-27", "2025-10-31", "ALL"}, /* October half term */
        {"2026-02-16", "2026-02-20", "ALL"}, /* February half term */
        {"2026-05-04", "2026-05-04", "ALL"}, /* early May bank holiday */
        {"2026-05-25", "2026-05-29", "ALL"}, /* May half term */
        {"2026-06-26", "2026-06-26", "ALL"}, /* INSET Friday */
        {"2026-03-27", "2026-03-27", "PM"},  /* last day of spring: closes at noon */
        {"2026-10-26", "2026-10-30", "ALL"}, /* October half term 2026 */
    };
    for (size_t i = 0; i < sizeof terms / sizeof *terms; i++)
        calendar_add_term(cal, fx_date(terms[i][0]), fx_date(terms[i][1]));
    for (size_t i = 0; i < sizeof closures / sizeof *closures; i++) {
        unsigned mask = closures[i][2][0] == 'A'   ? SESS_ALL
                        : closures[i][2][0] == 'P' ? SESS_PM
                                                   : SESS_AM;
        calendar_add_closure(cal, fx_date(closures[i][0]), fx_date(closures[i][1]), mask);
    }
    return cal;
}

#endif
