/* dashboard.h - the HTML dashboard rollcall-reports serves (docs/dashboard.md):
 * a school's, a trust's and an LA's page, each the same static shell whose
 * script fetches the JSON API with the bearer token the person pastes (or
 * passes in the URL fragment, which never reaches the server). The shell,
 * script and style sheet are files in services/reports/dashboard/, built into
 * the binary by cmake/embed.cmake, so nothing is read from disk or from any
 * other host.
 *
 *   GET /dashboard/school/{urn}     the school page (urn: 6 digits)
 *   GET /dashboard/trust/{trust_id} the trust page
 *   GET /dashboard/la/{la_code}     the LA page (3 digits)
 *   GET /dashboard/dashboard.js, /dashboard/dashboard.css
 *
 * No token is needed for these: they hold no data. */
#ifndef ROLLCALL_DASHBOARD_H
#define ROLLCALL_DASHBOARD_H

#include <stddef.h>

#include "common/http.h"

/* dashboard_handle answers req into out when its path is one of the
 * dashboard's (405 for a method other than GET), and returns 1; returns 0,
 * leaving out untouched, for any other path, which the caller then answers.
 * out->body is malloc'd as http_response_t says (NULL when out of memory). */
int dashboard_handle(const http_request_t *req, http_response_t *out);

/* One embedded file (the table cmake/embed.cmake generates). */
typedef struct {
    const char *name;          /* "dashboard.js" */
    const unsigned char *data; /* len bytes, then a NUL */
    size_t len;
} dashboard_asset_t;

extern const dashboard_asset_t dashboard_asset[];
extern const size_t dashboard_asset_count;

#endif
