/* reports_lists.h - the working lists of a school and an LA
 * (docs/reports-api.md): pupils by attendance with filters, first-day
 * absences, reviews due, referrals. Each reads an index rules keeps
 * (docs/reports-data.md) and then only the rows of the page asked for, in a
 * few pipelined round trips. */
#ifndef ROLLCALL_REPORTS_LISTS_H
#define ROLLCALL_REPORTS_LISTS_H

#include <stddef.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "rollcall/calendar.h"
#include "rollcall/codec.h"
#include "rollcall/date.h"
#include "rollcall/error.h"
#include "rollcall/ids.h"

#define REPORTS_LIMIT_DEFAULT 100
#define REPORTS_LIMIT_MAX     1000
#define REPORTS_NAME_MAX      64 /* bytes of a band, track, stage or cohort asked for */
#define REPORTS_WHY_MAX       160

/* A list's query, checked by the caller (reports_api.c). */
typedef struct {
    size_t offset;
    size_t limit; /* rows at most; (size_t)-1 for every row (CSV) */
    /* pupils */
    char stage[2 * REPORTS_NAME_MAX + 2]; /* "<track>:<stage>", "" for any */
    char band[REPORTS_NAME_MAX + 1];      /* "" for any */
    char cohort[REPORTS_NAME_MAX + 1];    /* sen, fsm, eal, cla, social_worker; "" for any */
    int pa, sa;                           /* 1: only persistent / severe absentees */
    int has_year, year;
    /* first-day absences */
    rc_date_t date; /* RC_DATE_NONE: the school's today */
    /* reviews */
    int within_days;
    /* referrals */
    referral_kind_t kind;     /* REFERRAL_NONE for every kind */
    rc_date_t since;          /* RC_DATE_NONE for all */
    char urn[RC_URN_LEN + 1]; /* LA referrals of one school; "" for all */
} reports_query_t;

/* A list function fills *rows (a new reference: the JSON array of the
 * page's rows) and *total (rows matching, page or not). RC_EIO when Redis
 * failed, RC_ENOMEM, RC_EINVAL with why (naming the parameter) for a query
 * the data refuses. */

/* reports_list_pupils: the school's pupils with state, worst attendance
 * first (pupils without a percentage last), filtered by q. */
rc_err_t reports_list_pupils(redisContext *rd, const char *urn, const reports_query_t *q,
                             json_t **rows, size_t *total, char why[REPORTS_WHY_MAX]);

/* reports_list_reviews: reviews due by the school's today + q->within_days
 * (overdue ones included), by date. */
rc_err_t reports_list_reviews(redisContext *rd, const char *urn, const reports_query_t *q,
                              json_t **rows, size_t *total, char why[REPORTS_WHY_MAX]);

/* reports_list_first_day: first-day absence alerts of q->date (or the
 * school's today), with the messages notify sent for each. */
rc_err_t reports_list_first_day(redisContext *rd, const char *urn, const reports_query_t *q,
                                json_t **rows, size_t *total, char why[REPORTS_WHY_MAX]);

/* reports_list_referrals: the school's referrals (of q->kind, since
 * q->since), newest first. */
rc_err_t reports_list_referrals(redisContext *rd, const char *urn, const reports_query_t *q,
                                json_t **rows, size_t *total, char why[REPORTS_WHY_MAX]);

/* reports_list_la_referrals: the referrals of every school of LA la (or of
 * q->urn, which must be one of them), newest first, with school_name.
 * RC_ENOTFOUND when the LA has no school. */
rc_err_t reports_list_la_referrals(redisContext *rd, const char *la, const reports_query_t *q,
                                   json_t **rows, size_t *total, char why[REPORTS_WHY_MAX]);

/* reports_list_letters: the letters notify rendered for the school to print
 * (since q->since), newest first, each with its text. */
rc_err_t reports_list_letters(redisContext *rd, const char *urn, const reports_query_t *q,
                              json_t **rows, size_t *total, char why[REPORTS_WHY_MAX]);

/* reports_page keeps rows[q->offset, q->offset + q->limit) of *rows
 * (replacing it), and returns how many there were. RC_ENOMEM. */
rc_err_t reports_page(json_t **rows, const reports_query_t *q, size_t *total);

#endif
