/* policy_eval.h - runs a school's policy (policy.h) for one pupil at one
 * moment: which stages to enter, which reviews to hold, which alerts and
 * referrals to raise, each with the actions, who acts and why. No I/O, no
 * allocation, no globals: the same inputs give the same outputs, byte for byte.
 *
 * The caller (the rules service) keeps a pupil_policy_state_t per pupil,
 * passes it in with the pupil's marks (pupil_state_t, already moved to
 * today), and stores it back afterwards. Everything "raised once" lives in
 * that state, so evaluating as often as you like (every mark, every tick)
 * never raises the same thing twice.
 *
 * The ladder (see policy.h for the rules every policy relies on):
 *  - Stages are numbered 1..nstages in a track; 0 is "none" (not on it).
 *  - Reviews are held first, at the first evaluation on or after the review
 *    date at which the school year has min_possible_sessions (and at least
 *    one) possible sessions: a review judges attendance, and on the first
 *    days of a school year there is none to judge. Then the pupil moves up
 *    to the highest stage (not escalation_only) whose `when` holds, if that
 *    is above where the pupil now is.
 *  - A review date is monitor_weeks school weeks after the monitoring began
 *    (entry, or the last review): the same weekday in the n-th school week
 *    after, holiday weeks skipped, moved to the next school day if that day
 *    is closed. With monitor_half_terms instead, it is the first school day
 *    of the n-th half term (calendar_half_term_start) after the one holding
 *    the start; a start on a closed day counts from the next school day, so
 *    monitoring begun during a half-term break belongs to the half term
 *    after it. Each further day of absence while monitored (absence sessions
 *    dated after the start and before today, halved and rounded down: two
 *    sessions make a day) adds extend_weeks_per_day weeks (after the half
 *    term's first day, the same weekday n school weeks on). When the
 *    calendar holds no such week or half term, there is no review date
 *    (RC_DATE_NONE) and no review, until a calendar that reaches further is
 *    given.
 *  - The default `improved` test: attendance now at least what it was when
 *    monitoring began, and the stage's own `when` (for an escalation_only
 *    stage, that of the nearest stage below with one) no longer holds.
 *  - Percentages are compared exactly (attended/possible against the policy's
 *    figure to 0.01%), and no percentage condition (attendance, declining,
 *    persistent, severe) holds before min_possible_sessions.
 *  - Periods: PERIOD_YEAR is the school year to date; PERIOD_SINCE_ENTRY and
 *    facts "since entry" count from the day after (facts: from the day of)
 *    the pupil entered the current stage, or left the ladder; never having
 *    been on it, from the start of the school year (facts: any).
 *  - COND_FACT with a detail matches only facts with that detail.
 *  - COND_DECLINING compares with the attendance when monitoring began; it
 *    never holds for a pupil not on the track's ladder.
 *
 * The alerts (SPEC section 3), each raised once:
 *  - first-day absence: on a school day, at or after first_day_minute, when
 *    a session of today is still coded N; once a day (every day of an
 *    absence, as seed 000 asks), naming the first such session.
 *  - social worker: the same trigger for a pupil with PUPIL_SOCIAL_WORKER,
 *    once a day; and when a deletion candidate is raised.
 *  - home visit due: when the run of unexplained days reaches one of
 *    home_visit_days (one alert for the largest day reached, if a catch-up
 *    jumps several), once per run.
 *  - CME (referral): the run reaches cme_days school days without contact;
 *    once per run. A FACT_CONTACT_MADE dated within the run restarts the
 *    count from the next school day. A run is the same run while its first
 *    day falls within the last run seen, so an amendment that shortens it
 *    does not raise again.
 *  - N unresolved: each school day with a session still coded N
 *    n_unresolved_days school days later; one alert per evaluation naming
 *    the sessions that came of age (from the start of the school year).
 *  - illness (referral): illness_days school days in a row of I, or
 *    2 x illness_days sessions of I this school year; once a school year.
 *  - deletion candidate (referral): deletion_days school days in a row coded
 *    deletion_codes (G N O when the policy sets none); once per run; nothing
 *    is ever deleted.
 *  - penalty threshold (referral): penalty_sessions or more penalty_codes
 *    sessions in the last penalty_weeks school weeks; raised again only after
 *    the count has fallen below the threshold.
 *  - severe absence (referral): a severe absentee (>= 50%) with at least
 *    min_possible_sessions; once a school year.
 *  - A stage whose actions include ACT_REFERRAL also raises a referral of
 *    kind REFERRAL_STAGE beside its stage change.
 *
 * Responsible roles for alerts (the policy names none): home visit, the
 * attendance officer; N unresolved, the office; referrals, the attendance
 * lead; first-day and social-worker messages, none (they are sent).
 *
 * Reasons are for people and name no one: "attendance 89.4% is below 90%
 * (line 42): enters stage_1 \"Letter 1\" of absence (line 40 of the policy)".
 */
#ifndef ROLLCALL_POLICY_EVAL_H
#define ROLLCALL_POLICY_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "rollcall/calendar.h"
#include "rollcall/codec.h"
#include "rollcall/date.h"
#include "rollcall/error.h"
#include "rollcall/metrics.h"
#include "rollcall/policy.h"
#include "rollcall/records.h" /* PUPIL_SOCIAL_WORKER and the other PUPIL_* flags */

#define EVAL_MAX_DECISIONS 48 /* more than one evaluation can produce (10 + 6 a track) */
#define EVAL_REASON_MAX    CODEC_REASON_MAX

/* A fact staff recorded about the pupil's case (case_fact_t, slimmed). */
typedef struct {
    fact_kind_t kind;
    rc_date_t date;                  /* the day it happened */
    char detail[CODEC_NAME_MAX + 1]; /* case_fact_t.detail ("stage_3"), or "" */
} eval_fact_t;

/* Where a pupil is on one track. Stage numbers are 1-based indexes into the
 * track's stages as loaded; a caller that reloads an edited policy maps
 * them by stage id first (policy_eval refuses an index out of range). */
typedef struct {
    int stage;              /* 0 = none, k = stages[k - 1] */
    rc_date_t entry_date;   /* the stage (or none) was entered; RC_DATE_NONE: never on it */
    rc_date_t monitor_from; /* the monitoring period began: entry or the last review */
    rc_date_t review_date;  /* RC_DATE_NONE when the stage is not monitored (or past the
                               calendar's end); recomputed at each evaluation */
    uint32_t base_attended; /* attendance when monitoring began, as a fraction */
    uint32_t base_possible; /* ... 0: no attendance then */
    uint32_t absence_days;  /* days of absence counted since monitor_from (extension) */
} eval_track_state_t;

/* A run of school days (unexplained, or deletion codes) an alert belongs to. */
typedef struct {
    rc_date_t first, last; /* RC_DATE_NONE when none seen */
    uint32_t raised;       /* bits: what has been raised for this run */
} eval_run_t;

/* Everything policy_eval remembers about one pupil between evaluations.
 * Initialise with pupil_policy_state_init; plain data, copy with `=`. */
typedef struct {
    eval_track_state_t tracks[POLICY_MAX_TRACKS];
    rc_date_t first_day_sent;       /* the last day a first-day alert went */
    rc_date_t social_worker_sent;   /* the last day the social worker was told */
    eval_run_t unexplained;         /* bit i: home_visit_days[i]; bit 31: CME */
    eval_run_t deletion;            /* bit 0: deletion candidate raised */
    rc_date_t n_unresolved_through; /* N sessions dated up to here are dealt with */
    int penalty_active;             /* at or over the threshold since it was raised */
    int severe_year;                /* school year (date_academic_year) raised, 0 none */
    int illness_year;               /* likewise */
} pupil_policy_state_t;

/* What one evaluation looks at. policy, cal and st are borrowed. */
typedef struct {
    const policy_t *policy;
    const calendar_t *cal;
    const pupil_state_t *st;  /* marks and metrics, st->today == today */
    unsigned flags;           /* PUPIL_* (records.h) */
    const eval_fact_t *facts; /* any order; NULL when nfacts is 0 */
    size_t nfacts;
    rc_date_t today; /* "now", in local time */
    int minute;      /* of the day, 0..1439 */
} eval_input_t;

typedef enum {
    DECISION_NONE = 0,
    DECISION_STAGE_UP,            /* entry, or escalation at a review */
    DECISION_STAGE_DOWN,          /* step down at a review (still on the ladder) */
    DECISION_STAGE_EXIT,          /* back to none */
    DECISION_REVIEW_IMPROVED,     /* actions: on_improved (the acknowledgement) */
    DECISION_REVIEW_NOT_IMPROVED, /* no actions of its own */
    DECISION_ALERT,               /* alert set */
    DECISION_REFERRAL,            /* referral set */
    DECISION__COUNT
} decision_kind_t;

typedef struct {
    decision_kind_t kind;
    alert_kind_t alert;       /* DECISION_ALERT */
    referral_kind_t referral; /* DECISION_REFERRAL */
    int track;                /* index into policy->tracks, -1 when none */
    int stage_from, stage_to; /* 0 = none; equal for reviews and stage referrals */
    char track_id[POLICY_NAME_MAX + 1];
    char stage_from_id[POLICY_NAME_MAX + 1]; /* "" for none */
    char stage_to_id[POLICY_NAME_MAX + 1];
    policy_action_t actions[POLICY_MAX_ACTIONS]; /* what to do, in the policy's order */
    size_t nactions;
    staff_role_t responsible;         /* STAFF_NONE when no one is named */
    rc_date_t review_date;            /* the next review of the track, or RC_DATE_NONE */
    int session;                      /* session_t an alert is about, or -1 */
    unsigned line;                    /* where the policy says so; 0 for alerts */
    char reason[EVAL_REASON_MAX + 1]; /* printable UTF-8, no personal data */
} eval_decision_t;

typedef struct {
    eval_decision_t d[EVAL_MAX_DECISIONS]; /* in a fixed order: alerts, then tracks */
    size_t n;
} eval_result_t;

/* pupil_policy_state_init sets *s to "nothing raised, on no stage". */
void pupil_policy_state_init(pupil_policy_state_t *s);

/* policy_eval evaluates in->policy for one pupil at (in->today,
 * in->minute), updates *state and writes the decisions into *out (cleared
 * first). Returns RC_OK; RC_EINVAL (state and out untouched beyond out->n =
 * 0) when an input is missing, in->st->today differs from in->today, the
 * minute is outside 0..1439, or a track's stage is outside 0..nstages. */
rc_err_t policy_eval(const eval_input_t *in, pupil_policy_state_t *state, eval_result_t *out);

/* policy_eval_stage_id returns the id of the stage state holds on track t,
 * "" for none or an index out of range (never NULL). */
const char *policy_eval_stage_id(const policy_t *p, const pupil_policy_state_t *state, size_t t);

/* decision_kind_name returns a stable lower-case name ("stage_up",
 * "review_improved", "alert"...); "unknown" out of range. */
const char *decision_kind_name(decision_kind_t k);

/* policy_eval_event fills *ev (la_code and upn left for the caller, who sets
 * them) from decision d of an evaluation on date with metrics m: stage
 * changes, alerts and referrals map one to one, actions to templates and
 * the meeting/referral/dsl flags. Both review decisions map to EVENT_REVIEW
 * on d's track, with stage_from and stage_to the stage reviewed, improved 1
 * for DECISION_REVIEW_IMPROVED (actions: the stage's on_improved, the
 * acknowledgement) and 0 for DECISION_REVIEW_NOT_IMPROVED (no actions), and
 * the next review date; a move decided at the review is a decision (and
 * event) of its own. Returns RC_ENOTFOUND for DECISION_NONE or a kind out
 * of range, leaving *ev zeroed. */
rc_err_t policy_eval_event(const eval_decision_t *d, rc_date_t date, const metrics_t *m,
                           pupil_event_t *ev);

#endif
