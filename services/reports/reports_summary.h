/* reports_summary.h - a school's, a trust's and an LA's attendance summary
 * (docs/reports-api.md), read from the totals rules keeps (rs:agg, rs:wk,
 * docs/reports-data.md): one pipelined round trip per summary, whatever the
 * number of pupils. */
#ifndef ROLLCALL_REPORTS_SUMMARY_H
#define ROLLCALL_REPORTS_SUMMARY_H

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "rollcall/error.h"

/* reports_school_summary builds school urn's summary into *out (a new
 * reference). RC_EIO when Redis failed, RC_ENOMEM. */
rc_err_t reports_school_summary(redisContext *rd, const char *urn, json_t **out);

/* reports_group_summary builds the summary of the schools in the set
 * rc:<kind>:<id> (kind "trust" or "la"): each school's, and their total,
 * into *out, whose id field is id_field ("trust_id", "la_code").
 * RC_ENOTFOUND when the set is empty, RC_EIO, RC_ENOMEM. */
rc_err_t reports_group_summary(redisContext *rd, const char *kind, const char *id,
                               const char *id_field, json_t **out);

#endif
