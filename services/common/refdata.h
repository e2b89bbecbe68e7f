/* refdata.h - reference data as ingest stores it in Redis, read back by the
 * services behind it. Calendar rows are kept as "<kind>|<from>|<to>|<mask>"
 * in the set rc:cal:{<urn>} (docs/ingest-api.md). */
#ifndef ROLLCALL_REFDATA_H
#define ROLLCALL_REFDATA_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "rollcall/calendar.h"
#include "rollcall/error.h"
#include "rollcall/records.h"

#define REFDATA_CAL_ROW_MAX 48

/* refdata_cal_row writes a calendar row in its stored form into buf. */
char *refdata_cal_row(const calendar_rec_t *row, char buf[REFDATA_CAL_ROW_MAX]);

/* refdata_cal_apply parses one stored row and adds it to cal; RC_EPARSE for
 * a row not of the stored form. */
rc_err_t refdata_cal_apply(calendar_t *cal, const char *row);

/* refdata_load_calendar reads urn's calendar into a new *out (owned by the
 * caller; an empty calendar when none is stored). RC_EIO when Redis failed. */
rc_err_t refdata_load_calendar(redisContext *redis, const char *urn, calendar_t **out);

#endif
