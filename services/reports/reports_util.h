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

/* The HMGET of the rs:pupil fields a list row shows: the metrics,
 * attendance_pct, the PA/SA flags, band, as_of and stage:<track> of each
 * track the school's policy has (rs:school's stage_order). Reading these
 * and not the whole hash leaves out the marks blob (some KB a pupil). */
#define REPORTS_ROW_FIELDS_MAX 24
typedef struct {
    int argc;
    const char *argv[REPORTS_ROW_FIELDS_MAX + 2]; /* HMGET, the key, the fields */
    char key[96];
    char tracks[8][80]; /* "stage:<track>" */
} reports_row_cmd_t;

/* reports_row_cmd_init builds the command for stage_order ("absence=s1,s2
 * lateness=l1"); 0 when stage_order is NULL or empty (the caller then reads
 * the whole hash, as for a school rules has not yet recorded). */
int reports_row_cmd_init(reports_row_cmd_t *c, const char *stage_order);

/* reports_row_cmd_append appends the HMGET for pupil upn of school urn. */
void reports_row_cmd_append(reports_row_cmd_t *c, redisContext *rd, const char *urn,
                            const char *upn);

/* reports_pupil_fields_named sets on o what reports_pupil_fields sets, from
 * the reply to the HMGET c describes. */
void reports_pupil_fields_named(json_t *o, const reports_row_cmd_t *c, const redisReply *vals);

/* reports_in_list is true when name[0..len) is one of the comma-separated
 * list, which ends at its end or at a space ("green,amber,red"; a ladder
 * "stage_1,stage_2 lateness=..." of rs:school's stage_order). */
int reports_in_list(const char *list, const char *name, size_t len);

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
