/* reports_api.h - the reports HTTP API (SPEC section 5, docs/reports-api.md):
 * bearer-token access control, then JSON (or CSV) read from what ingest,
 * rules and notify keep in Redis. Runs on the service's one thread
 * (common/http.h).
 *
 * Endpoints:
 *   GET /healthz                               no token; 200 while Redis answers
 *   GET /v1/schools/{urn}/pupils/{upn}         a pupil's position and timeline
 *   GET /v1/schools/{urn}/summary              measures and breakdowns (reports_summary.h)
 *   GET /v1/schools/{urn}/pupils               lists (reports_lists.h): worst attendance
 *   GET /v1/schools/{urn}/first-day-absences     first, first-day absences, reviews due,
 *   GET /v1/schools/{urn}/reviews                letters to print, referrals; ?limit=
 *   GET /v1/schools/{urn}/letters                &offset= &format=csv and each list's
 *   GET /v1/schools/{urn}/referrals              filters
 *   GET /v1/trusts/{trust_id}/summary          each school's summary and the total
 *   GET /v1/la/{la_code}/summary               the same for an LA
 *   GET /v1/la/{la_code}/referrals             the LA's schools' referrals
 * Answers, in the order they are decided: 404 for an unknown path, 405 for a
 * method other than GET, 401 (with WWW-Authenticate: Bearer) without a known
 * token, 400 for a malformed URN, UPN, LA code or trust id, 403 when no scope
 * of the token covers the school (trust:<id> or admin for a trust, la:<code>
 * or admin for an LA), 404 for an unknown school, trust, LA or pupil, 400 for
 * a bad query parameter (named in the message), 503 when Redis fails. */
#ifndef ROLLCALL_REPORTS_API_H
#define ROLLCALL_REPORTS_API_H

#include <stdint.h>

#include <hiredis/hiredis.h>

#include "common/http.h"
#include "common/service.h"
#include "reports/reports_auth.h"

typedef struct reports_api reports_api_t;

/* reports_api_new builds the API over rd (Redis reads, revived in place from
 * common when it fails) and tokens; all borrowed, outliving it. NULL when
 * out of memory. */
reports_api_t *reports_api_new(redisContext *rd, const service_common_t *common,
                               const reports_tokens_t *tokens);

/* reports_api_destroy frees *self_p and sets it NULL; NULL-safe. */
void reports_api_destroy(reports_api_t **self_p);

/* reports_api_handle is the http_handler_fn; ctx is a reports_api_t. */
void reports_api_handle(void *ctx, const http_request_t *req, http_response_t *out);

/* Answers since reports_api_new, by class, for logs and metrics. */
typedef struct {
    uint64_t ok;           /* 2xx */
    uint64_t unauthorised; /* 401 */
    uint64_t forbidden;    /* 403 */
    uint64_t other_4xx;    /* 400, 404, 405 */
    uint64_t unavailable;  /* 5xx */
} reports_api_stats_t;

/* reports_api_stats copies the counters. */
void reports_api_stats(const reports_api_t *self, reports_api_stats_t *out);

#endif
