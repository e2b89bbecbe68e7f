/* reports_query.h - the reports API's paths and query strings: which
 * endpoint a path names, and each list's parameters checked into a
 * reports_query_t, a bad one answered 400 with a message naming it. */
#ifndef ROLLCALL_REPORTS_QUERY_H
#define ROLLCALL_REPORTS_QUERY_H

#include <stddef.h>

#include "common/http.h"
#include "reports/reports_auth.h"
#include "reports/reports_lists.h"
#include "rollcall/ids.h"

typedef enum {
    ROUTE_NONE = 0,
    ROUTE_HEALTH,        /* /healthz */
    ROUTE_PUPIL,         /* /v1/schools/{urn}/pupils/{upn} */
    ROUTE_SUMMARY,       /* /v1/schools/{urn}/summary */
    ROUTE_PUPILS,        /* /v1/schools/{urn}/pupils */
    ROUTE_FIRST_DAY,     /* /v1/schools/{urn}/first-day-absences */
    ROUTE_REVIEWS,       /* /v1/schools/{urn}/reviews */
    ROUTE_LETTERS,       /* /v1/schools/{urn}/letters */
    ROUTE_REFERRALS,     /* /v1/schools/{urn}/referrals */
    ROUTE_TRUST_SUMMARY, /* /v1/trusts/{trust_id}/summary */
    ROUTE_LA_SUMMARY,    /* /v1/la/{la_code}/summary */
    ROUTE_LA_REFERRALS,  /* /v1/la/{la_code}/referrals */
} reports_route_kind_t;

typedef struct {
    reports_route_kind_t kind;
    char id[REPORTS_SCOPE_ID + 2]; /* URN, trust id or LA code as sent (cut one past the
                                      longest allowed, so too long shows) */
    char upn[RC_UPN_LEN + 2];      /* ROUTE_PUPIL's UPN, as sent */
} reports_route_t;

/* reports_route_parse finds the endpoint url names; 0 when none does. */
int reports_route_parse(const char *url, reports_route_t *out);

/* reports_route_is_list is true for the endpoints answering a list. */
int reports_route_is_list(reports_route_kind_t kind);

/* reports_route_is_school is true for the /v1/schools/{urn}/... endpoints. */
int reports_route_is_school(reports_route_kind_t kind);

#define REPORTS_QUERY_TEXT 1024 /* bytes of a next page's query string */

/* reports_query_parse checks every query argument of req against what
 * endpoint kind takes, filling q (defaults first: offset 0, limit 100,
 * within_days 7), *csv (format=csv) and next_query (the arguments other
 * than limit and offset, %-encoded, for a next page's link). RC_EINVAL with
 * why naming the parameter and the problem. */
rc_err_t reports_query_parse(const http_request_t *req, reports_route_kind_t kind,
                             reports_query_t *q, int *csv, char next_query[REPORTS_QUERY_TEXT],
                             char why[REPORTS_WHY_MAX]);

/* reports_trust_id_ok is true for a trust id a scope may name. */
int reports_trust_id_ok(const char *s);

#endif
