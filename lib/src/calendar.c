/* calendar.c - terms and closures compiled to one byte of open sessions per
 * day, and the school-day / school-week walks the metrics and policies need. */
#include "rollcall/calendar.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    rc_date_t from, to;
    unsigned mask; /* closures: sessions closed */
} span_t;

struct calendar {
    span_t *terms, *closures;
    size_t nterms, nclosures;
    rc_date_t lo, hi;    /* days held in open[], RC_DATE_NONE when no terms */
    unsigned char *open; /* open[d - lo] = SESS_* bits open on day d */
};

rc_err_t session_parse(const char *s, size_t len, session_t *out)
{
    if (len == 2 && s[1] == 'M' && (s[0] == 'A' || s[0] == 'P')) {
        *out = s[0] == 'A' ? SESSION_AM : SESSION_PM;
        return RC_OK;
    }
    return RC_EINVAL;
}

const char *session_str(session_t s)
{
    return s == SESSION_AM ? "AM" : "PM";
}

calendar_t *calendar_new(void)
{
    calendar_t *cal = calloc(1, sizeof *cal);
    if (cal)
        cal->lo = cal->hi = RC_DATE_NONE;
    return cal;
}

void calendar_destroy(calendar_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    calendar_t *cal = *self_p;
    free(cal->terms);
    free(cal->closures);
    free(cal->open);
    free(cal);
    *self_p = NULL;
}

/* rebuild recompiles open[] from every term and closure, so closures win
 * whatever order rows arrive in. On failure the old table stands. */
static rc_err_t rebuild(calendar_t *cal)
{
    if (cal->nterms == 0)
        return RC_OK;
    rc_date_t lo = cal->terms[0].from, hi = cal->terms[0].to;
    for (size_t i = 1; i < cal->nterms; i++) {
        if (cal->terms[i].from < lo)
            lo = cal->terms[i].from;
        if (cal->terms[i].to > hi)
            hi = cal->terms[i].to;
    }
    if ((int64_t)hi - lo + 1 > CALENDAR_MAX_DAYS)
        return RC_ERANGE;
    unsigned char *open = calloc((size_t)(hi - lo + 1), 1);
    if (!open)
        return RC_ENOMEM;
    for (size_t i = 0; i < cal->nterms; i++)
        for (rc_date_t d = cal->terms[i].from; d <= cal->terms[i].to; d++)
            if (!date_is_weekend(d))
                open[d - lo] = SESS_ALL;
    for (size_t i = 0; i < cal->nclosures; i++) {
        const span_t *c = &cal->closures[i];
        rc_date_t from = c->from < lo ? lo : c->from, to = c->to > hi ? hi : c->to;
        for (rc_date_t d = from; d <= to; d++)
            open[d - lo] &= (unsigned char)~c->mask;
    }
    free(cal->open);
    cal->open = open;
    cal->lo = lo;
    cal->hi = hi;
    return RC_OK;
}

static rc_err_t add_span(calendar_t *cal, span_t **list, size_t *n, span_t span)
{
    span_t *grown = realloc(*list, (*n + 1) * sizeof **list);
    if (!grown)
        return RC_ENOMEM;
    *list = grown;
    grown[(*n)++] = span;
    rc_err_t err = rebuild(cal);
    if (err != RC_OK)
        (*n)--; /* keep the calendar as it was */
    return err;
}

rc_err_t calendar_add_term(calendar_t *cal, rc_date_t from, rc_date_t to)
{
    if (to < from)
        return RC_EINVAL;
    if ((int64_t)to - from + 1 > CALENDAR_MAX_DAYS)
        return RC_ERANGE;
    return add_span(cal, &cal->terms, &cal->nterms, (span_t){from, to, SESS_ALL});
}

rc_err_t calendar_add_closure(calendar_t *cal, rc_date_t from, rc_date_t to, unsigned mask)
{
    if (to < from || (mask & SESS_ALL) == 0)
        return RC_EINVAL;
    if ((int64_t)to - from + 1 > CALENDAR_MAX_DAYS)
        return RC_ERANGE;
    return add_span(cal, &cal->closures, &cal->nclosures, (span_t){from, to, mask & SESS_ALL});
}

rc_date_t calendar_first_day(const calendar_t *cal)
{
    return cal->lo;
}

rc_date_t calendar_last_day(const calendar_t *cal)
{
    return cal->hi;
}

unsigned calendar_open_mask(const calendar_t *cal, rc_date_t date)
{
    if (!cal->open || date < cal->lo || date > cal->hi)
        return 0;
    return cal->open[date - cal->lo];
}

int calendar_is_open(const calendar_t *cal, rc_date_t date, session_t s)
{
    return (calendar_open_mask(cal, date) & SESS_BIT(s)) != 0;
}

int calendar_is_school_day(const calendar_t *cal, rc_date_t date)
{
    return calendar_open_mask(cal, date) != 0;
}

int calendar_is_school_week(const calendar_t *cal, rc_date_t date)
{
    rc_date_t mon = date_monday(date);
    for (int i = 0; i < 5; i++) /* weekends are never open */
        if (calendar_open_mask(cal, mon + i))
            return 1;
    return 0;
}

/* count_days sums per_day[open mask] over from..to inclusive. */
static int count_days(const calendar_t *cal, rc_date_t from, rc_date_t to,
                      const int per_day[SESS_ALL + 1])
{
    int n = 0;
    if (!cal->open)
        return 0;
    if (from < cal->lo)
        from = cal->lo;
    if (to > cal->hi)
        to = cal->hi;
    for (rc_date_t d = from; d <= to; d++)
        n += per_day[cal->open[d - cal->lo] & SESS_ALL];
    return n;
}

int calendar_open_sessions(const calendar_t *cal, rc_date_t from, rc_date_t to)
{
    static const int sessions[SESS_ALL + 1] = {0, 1, 1, 2};
    return count_days(cal, from, to, sessions);
}

int calendar_school_days(const calendar_t *cal, rc_date_t from, rc_date_t to)
{
    static const int days[SESS_ALL + 1] = {0, 1, 1, 1};
    return count_days(cal, from, to, days);
}

rc_date_t calendar_prev_school_day(const calendar_t *cal, rc_date_t date)
{
    if (!cal->open || date <= cal->lo)
        return RC_DATE_NONE;
    for (rc_date_t d = (date - 1 > cal->hi ? cal->hi : date - 1); d >= cal->lo; d--)
        if (cal->open[d - cal->lo])
            return d;
    return RC_DATE_NONE;
}

rc_date_t calendar_next_school_day(const calendar_t *cal, rc_date_t date)
{
    if (!cal->open || date >= cal->hi)
        return RC_DATE_NONE;
    for (rc_date_t d = (date + 1 < cal->lo ? cal->lo : date + 1); d <= cal->hi; d++)
        if (cal->open[d - cal->lo])
            return d;
    return RC_DATE_NONE;
}

rc_date_t calendar_nth_school_day_after(const calendar_t *cal, rc_date_t date, int n)
{
    rc_date_t d = date;
    for (int i = 0; i < n && d != RC_DATE_NONE; i++)
        d = calendar_next_school_day(cal, d);
    return d;
}

rc_date_t calendar_window_start(const calendar_t *cal, rc_date_t end, int n)
{
    rc_date_t mon = date_monday(end), start = mon;
    if (n < 1)
        n = 1;
    if (!cal->open)
        return start;
    /* Weeks after the calendar's last day are holidays; jump to its end. */
    if (mon > cal->hi)
        mon = date_monday(cal->hi);
    for (int found = 0; found < n && mon + 6 >= cal->lo; mon -= 7) {
        if (calendar_is_school_week(cal, mon)) {
            start = mon;
            found++;
        }
    }
    return start;
}

rc_date_t calendar_half_term_start(const calendar_t *cal, rc_date_t date)
{
    rc_date_t d = calendar_is_school_day(cal, date) ? date : calendar_prev_school_day(cal, date);
    if (d == RC_DATE_NONE)
        return RC_DATE_NONE;
    for (;;) {
        rc_date_t prev = calendar_prev_school_day(cal, d);
        if (prev == RC_DATE_NONE)
            return d;
        int closed_weekdays = 0;
        for (rc_date_t g = prev + 1; g < d; g++)
            closed_weekdays += !date_is_weekend(g);
        if (closed_weekdays >= CALENDAR_HALF_TERM_GAP)
            return d;
        d = prev;
    }
}
