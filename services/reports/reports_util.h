/* reports_util.h - what the reports endpoints share: pipelined reads,
 * counter hashes as JSON, a pupil's stored fields, outbox events decoded. */
#ifndef ROLLCALL_REPORTS_UTIL_H
#define ROLLCALL_REPORTS_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "rollcall/codec.h"
#include "rollcall/error.h"

/* reports_replies reads n replies of commands appended to rd into r[0..n).
 * RC_EIO (every reply read so far freed, r zeroed) when the connection
 * broke or a reply is a Redis error. */
rc_err_t reports_replies(redisContext *rd, redisReply **r, size_t n);

/* reports_free_replies frees r[0..n) and zeroes them; NULL-safe entries. */
void reports_free_replies(redisReply **r, size_t n);

/* reports_counts adds the integer fields of an HGETALL reply h into counts
 * (a JSON object of integers): counts[name] += value. RC_ENOMEM. */
rc_err_t reports_counts_add(json_t *counts, const redisReply *h);

/* reports_counts_merge adds every field of src into dst. RC_ENOMEM. */
rc_err_t reports_counts_merge(json_t *dst, const json_t *src);

/* reports_count is counts[name], 0 when absent. */
json_int_t reports_count(const json_t *counts, const char *name);

/* reports_pct is 100 * part / whole with one decimal, or JSON null when
 * whole is 0 (a new reference). */
json_t *reports_pct(json_int_t part, json_int_t whole);

/* reports_pupil_fields sets on o the fields of an rs:pupil hash (HGETALL
 * reply h, NULL for none): the metrics as numbers (0 when absent),
 * attendance_pct (null when none), persistent_absentee and severe_absentee
 * as booleans, band and as_of (null when none), stages {track: stage}. */
void reports_pupil_fields(json_t *o, const redisReply *h);

/* reports_str is the reply's string, or NULL when it is not one. */
const char *reports_str(const redisReply *r);

/* reports_set_str sets o[key] to r's string, or null. */
void reports_set_str(json_t *o, const char *key, const redisReply *r);

/* reports_set_int sets o[key] to r's string read as an integer, or null
 * when r is no string or not a number. */
void reports_set_int(json_t *o, const char *key, const redisReply *r);

/* reports_decode_event decodes the pupil event of an XRANGE reply r (one
 * entry, field e). 0 when r holds none (logged with urn and seq). */
int reports_decode_event(const redisReply *r, const char *urn, const char *seq, wire_msg_t *m);

#endif
