/* metrics.h - a pupil's register marks and the SPEC section 2 metrics.
 *
 * Amendment rule: for each (date, session) the mark with the latest
 * recorded_at wins; an exact duplicate counts once; an older mark arriving
 * later changes nothing. Ties on recorded_at (two different marks stamped the
 * same microsecond) are broken by code then minutes_late, so the winner never
 * depends on arrival order.
 *
 * Year-to-date counts cover the school year (1 Sept - 31 Aug) holding the
 * evaluation date ("today"); the penalty window and the unexplained-days run
 * end on today. */
#ifndef ROLLCALL_METRICS_H
#define ROLLCALL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "rollcall/calendar.h"
#include "rollcall/codes.h"
#include "rollcall/date.h"
#include "rollcall/ids.h"

/* One register mark as it arrives. */
typedef struct {
    char urn[RC_URN_LEN + 1];
    char upn[RC_UPN_LEN + 1];
    rc_date_t date;
    session_t session;
    att_code_t code;
    uint16_t minutes_late;
    rc_time_t recorded_at;
} mark_t;

/* mark_beats returns 1 when a should replace b for the same session, 0 when
 * b stands (including when they are identical). */
int mark_beats(const mark_t *a, const mark_t *b);

/* The national penalty framework: any unauthorised code in 10 school weeks. */
#define PENALTY_WINDOW_WEEKS 10
#define PENALTY_THRESHOLD    10

typedef struct {
    uint32_t possible_sessions;
    uint32_t attended_sessions;
    uint32_t authorised_absences;
    uint32_t unauthorised_absences;
    uint32_t late_before_close;            /* L */
    uint32_t late_after_close;             /* U */
    uint32_t penalty_window_unauthorised;  /* G N O U in the last 10 school weeks */
    uint32_t consecutive_unexplained_days; /* school days of N in every open session */
} metrics_t;

/* metrics_has_pct is false when there are no possible sessions. */
int metrics_has_pct(const metrics_t *m);

/* metrics_attendance_pct returns 100 * attended / possible, or 0 when
 * metrics_has_pct is false. */
double metrics_attendance_pct(const metrics_t *m);

/* metrics_is_persistent: absences >= 10% of possible (and possible > 0). */
int metrics_is_persistent(const metrics_t *m);

/* metrics_is_severe: absences >= 50% of possible (and possible > 0). */
int metrics_is_severe(const metrics_t *m);

/* metrics_equal compares every field. */
int metrics_equal(const metrics_t *a, const metrics_t *b);

/* One winning mark, compact. */
typedef struct {
    rc_date_t date;
    uint8_t session;
    uint8_t code;
    uint16_t minutes_late;
    rc_time_t recorded_at;
} mark_slot_t;

/* A pupil's winning marks, sorted by (date, session), and their metrics as
 * of `today`. Fields are read-only outside metrics.c. */
typedef struct {
    mark_slot_t *slots;
    size_t n, cap;
    rc_date_t today;
    rc_date_t window_start; /* first day of the penalty window ending today */
    metrics_t m;
} pupil_state_t;

/* pupil_state_init makes an empty state evaluated on today. */
void pupil_state_init(pupil_state_t *st, const calendar_t *cal, rc_date_t today);

/* pupil_state_release frees the slots; st may be re-initialised after. */
void pupil_state_release(pupil_state_t *st);

/* pupil_state_apply applies one mark incrementally. *changed (when not NULL)
 * is set to 1 when the mark won its session. Returns RC_ENOMEM on allocation
 * failure, leaving the state as it was. */
rc_err_t pupil_state_apply(pupil_state_t *st, const calendar_t *cal, const mark_t *mark,
                           int *changed);

/* pupil_state_set_today moves the evaluation date (either way) and brings
 * the window, the run of unexplained days and, on a new school year, the
 * year-to-date counts up to date. */
void pupil_state_set_today(pupil_state_t *st, const calendar_t *cal, rc_date_t today);

/* pupil_state_find returns the winning mark of (date, s), or NULL. */
const mark_slot_t *pupil_state_find(const pupil_state_t *st, rc_date_t date, session_t s);

/* pupil_state_count counts winning marks dated from..to inclusive whose
 * code is in set, for policy windows ("G, O, U in the last 12 weeks"). */
uint32_t pupil_state_count(const pupil_state_t *st, rc_date_t from, rc_date_t to, code_set_t set);

/* The stored form of a pupil's winning marks: a version byte, then 16 bytes
 * a mark, little-endian (date i32, session u8, code u8, minutes u16,
 * recorded_at i64), in (date, session) order. */
#define PUPIL_STATE_VERSION    1
#define PUPIL_STATE_SLOT_BYTES 16

/* pupil_state_encode writes st's winning marks into a new *buf of *len
 * bytes (owned by the caller: free()). RC_ENOMEM on allocation failure. */
rc_err_t pupil_state_encode(const pupil_state_t *st, uint8_t **buf, size_t *len);

/* pupil_state_decode initialises st for today from bytes pupil_state_encode
 * wrote, metrics and all. Returns RC_EPARSE (st empty) for bytes of another
 * shape: a wrong version, a partial slot, marks out of order or a code,
 * session or date out of range; RC_ENOMEM. */
rc_err_t pupil_state_decode(pupil_state_t *st, const calendar_t *cal, rc_date_t today,
                            const uint8_t *buf, size_t len);

/* metrics_compute recomputes from scratch: picks the winner of each session
 * among marks[0..n) (any order, duplicates and amendments included) and
 * derives every metric as of today. Returns RC_ENOMEM on allocation failure. */
rc_err_t metrics_compute(const mark_t *marks, size_t n, const calendar_t *cal, rc_date_t today,
                         metrics_t *out);

#endif
