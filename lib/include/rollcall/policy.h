/* policy.h - a school's attendance policy as plain structs: bands, the
 * alerts outside the ladder, and tracks of ordered stages with entry
 * conditions, actions, monitoring periods and review outcomes. Loaded from
 * the YAML a school's attendance lead reads and edits (docs/policies.md,
 * policies/<name>.yaml) by policy_load; evaluated by policy_eval.h. No I/O here.
 *
 * How a track moves (the semantics every policy file relies on):
 *  - A pupil is at stage 0 ("none") or at one stage of each track.
 *  - Entry: when a higher stage's `when` condition holds, the pupil moves up
 *    to the highest such stage (never down). A stage with `escalation_only`
 *    is reached only from the stage below it, at a review that finds no
 *    improvement (seed 004's stage 2 "at the end of the four-week period, if
 *    there is no evidence of improvement").
 *  - Monitoring: entering a stage with monitor_weeks > 0 sets a review date
 *    that many school weeks ahead; with monitor_half_terms > 0 instead, on
 *    the first school day of the n-th half term after the one monitoring
 *    began in (seed 002: "further monitoring will take place over the next
 *    half term"). Either is pushed back extend_weeks_per_day school weeks
 *    for each further day of absence while monitored (seed 004: "one more
 *    week per day of additional absence").
 *  - Review: on the review date, `improved` is tested (default: attendance
 *    at least what it was at entry, and not below the stage's own threshold).
 *    Improved: the on_improved actions (an acknowledgement letter), then
 *    if_improved (step down one stage, exit to none, or stay monitoring).
 *    Not improved: if_not_improved (escalate one stage, or stay).
 *  - Percentage conditions never fire before min_possible_sessions.
 */
#ifndef ROLLCALL_POLICY_H
#define ROLLCALL_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "rollcall/codec.h"
#include "rollcall/codes.h"
#include "rollcall/error.h"

#define POLICY_NAME_MAX    CODEC_NAME_MAX /* ids: policy, track, stage, template, band */
#define POLICY_TEXT_MAX    200            /* titles and descriptions */
#define POLICY_MAX_BANDS   8
#define POLICY_MAX_TRACKS  4
#define POLICY_MAX_STAGES  8
#define POLICY_MAX_ACTIONS CODEC_MAX_TEMPLATES
#define POLICY_MAX_ATOMS   8
#define POLICY_MAX_DAYS    8 /* home-visit days */
#define POLICY_ERR_MAX     400
#define POLICY_MAX_BYTES   (256 * 1024) /* a policy file larger than this is refused */

/* A band: pupils whose attendance is at least min_pct (above it, when
 * `above` is set) and below the band above are in it. Bands are held highest
 * first; the last has min_pct 0 and `above` 0. */
typedef struct {
    char name[POLICY_NAME_MAX + 1]; /* "green", "amber", "red" */
    double min_pct;
    int above; /* 1: strictly above min_pct (seed 004: amber is above 90, "90% or below" is red) */
    unsigned line;
} policy_band_t;

/* Where a count is taken. */
typedef enum {
    PERIOD_YEAR = 0,     /* the school year to date */
    PERIOD_SCHOOL_WEEKS, /* the last `weeks` school weeks ending today */
    PERIOD_THIS_WEEK,    /* Monday to today */
    PERIOD_HALF_TERM,    /* since the half term began */
    PERIOD_SINCE_ENTRY,  /* since the pupil entered the current stage of this track */
} policy_period_t;

typedef enum {
    COND_ATTENDANCE_BELOW = 1, /* attendance_pct < value */
    COND_ATTENDANCE_AT_MOST,   /* attendance_pct <= value */
    COND_ATTENDANCE_AT_LEAST,  /* attendance_pct >= value */
    COND_COUNT_AT_LEAST,       /* sessions coded in `codes` within `period` >= n */
    COND_CONSECUTIVE_DAYS,     /* consecutive_unexplained_days >= n */
    COND_DECLINING,            /* attendance lower now than at stage entry (or last review) */
    COND_FACT,                 /* staff recorded `fact` since stage entry (within n days if n) */
    COND_PERSISTENT,           /* a persistent absentee (>= 10% absence) */
    COND_SEVERE,               /* a severe absentee (>= 50% absence) */
} cond_kind_t;

typedef struct {
    cond_kind_t kind;
    double value;           /* percent, for the attendance kinds */
    unsigned n;             /* count, or days */
    code_set_t codes;       /* COND_COUNT_AT_LEAST */
    policy_period_t period; /* COND_COUNT_AT_LEAST */
    unsigned weeks;         /* PERIOD_SCHOOL_WEEKS */
    fact_kind_t fact;       /* COND_FACT */
    /* COND_FACT: only facts recorded with this detail (the stage a meeting
     * was for: "stage_3_letter_d"); "" matches any. */
    char detail[POLICY_NAME_MAX + 1];
    unsigned line; /* where it is written, for reasons and errors */
} cond_atom_t;

/* A condition: all of its atoms (or any, when any_of), none = never true. */
typedef struct {
    cond_atom_t atoms[POLICY_MAX_ATOMS];
    size_t n;
    int any_of;
} policy_cond_t;

typedef enum {
    ACT_LETTER = 1, /* a letter from a template (seed 004's Letter 1, seed 001's Letter A) */
    ACT_SMS,
    ACT_EMAIL,
    ACT_CALL,    /* a phone call by the responsible person */
    ACT_MEETING, /* a meeting to arrange (TAF, ISAP, attendance panel) */
    ACT_HOME_VISIT,
    ACT_REFERRAL,   /* a referral to the LA (emits referral kind stage_referral) */
    ACT_DSL,        /* escalate to the designated safeguarding lead */
    ACT_EARLY_HELP, /* offer or refer to early help */
} action_kind_t;

typedef struct {
    action_kind_t kind;
    char template_id[POLICY_NAME_MAX + 1]; /* letters, sms, email; a meeting's kind otherwise */
    unsigned line;
} policy_action_t;

typedef enum {
    REVIEW_STAY = 0,  /* keep the stage and monitor again */
    REVIEW_STEP_DOWN, /* back one stage (to none from the first) */
    REVIEW_EXIT,      /* back to none */
    REVIEW_ESCALATE,  /* up one stage (the last stage stays) */
} review_outcome_t;

typedef struct {
    char id[POLICY_NAME_MAX + 1];
    char title[POLICY_TEXT_MAX + 1];
    policy_cond_t when;  /* entry condition; empty with escalation_only */
    int escalation_only; /* reached only by a failed review of the stage below */
    policy_action_t actions[POLICY_MAX_ACTIONS];
    size_t nactions;
    staff_role_t responsible;
    /* At most one of monitor_weeks and monitor_half_terms is set; neither: no
     * review date. */
    unsigned monitor_weeks;        /* school weeks to the review */
    unsigned monitor_half_terms;   /* half terms to the review: 1 = the next one's first day */
    unsigned extend_weeks_per_day; /* seed 004: +1 week per further day of absence */
    policy_cond_t improved;        /* empty: the default test (see above) */
    policy_action_t on_improved[POLICY_MAX_ACTIONS];
    size_t non_improved;
    review_outcome_t if_improved, if_not_improved;
    unsigned line;
} policy_stage_t;

typedef struct {
    char id[POLICY_NAME_MAX + 1]; /* "absence", "lateness" */
    policy_stage_t stages[POLICY_MAX_STAGES];
    size_t nstages;
    unsigned line;
} policy_track_t;

/* The alerts outside the ladder (SPEC section 3). A zero day count is off. */
typedef struct {
    int first_day;        /* text both parents when a session is still N */
    int first_day_minute; /* minute of the school day to send at: 570 = 09:30 */
    char first_day_template[POLICY_NAME_MAX + 1];
    unsigned home_visit_days[POLICY_MAX_DAYS]; /* consecutive unexplained days: {2, 4} */
    size_t nhome_visit_days;
    unsigned cme_days;          /* 10: Children Missing Education referral */
    unsigned n_unresolved_days; /* 5: an N still unresolved after this many school days */
    unsigned illness_days;      /* 15: days of illness, consecutive or in total, to the LA */
    unsigned deletion_days;     /* 20: continuous days of deletion_codes */
    code_set_t deletion_codes;  /* G N O */
    int penalty;                /* the penalty-notice threshold alert */
    code_set_t penalty_codes;   /* national: G N O U; seeds 000 and 004: G O U */
    unsigned penalty_weeks;     /* national: 10; seed 004: 12 */
    unsigned penalty_sessions;  /* 10 */
    int severe_absence;         /* SA reached: referral to the LA */
    int social_worker;          /* tell a pupil's social worker of unexplained absence */
} policy_alerts_t;

typedef struct {
    char name[POLICY_NAME_MAX + 1];   /* matches schools.csv's policy column */
    char title[POLICY_TEXT_MAX + 1];  /* the school's own name for the document */
    char source[POLICY_TEXT_MAX + 1]; /* which seed document it encodes */
    policy_band_t bands[POLICY_MAX_BANDS];
    size_t nbands;
    double target_pct; /* the school's attendance target (seed 004: 97) */
    unsigned min_possible_sessions;
    policy_alerts_t alerts;
    policy_track_t tracks[POLICY_MAX_TRACKS];
    size_t ntracks;
} policy_t;

/* policy_load reads a policy from yaml[0..len) (filename is used only in
 * messages). Every rule of docs/policies.md is checked: unknown keys, wrong
 * types, codes that are not DfE codes, bands out of order, stage ids
 * repeated, a track without stages, escalation_only on a first stage...
 * Returns RC_OK with *out (free with policy_destroy), or RC_EPARSE /
 * RC_EINVAL with err set to "<filename>:<line>:<column>: <problem>". */
rc_err_t policy_load(const char *yaml, size_t len, const char *filename, policy_t **out,
                     char err[POLICY_ERR_MAX]);

/* policy_load_file reads path and calls policy_load; RC_EIO when it cannot
 * be read (err says why), RC_ETOOBIG over POLICY_MAX_BYTES. */
rc_err_t policy_load_file(const char *path, policy_t **out, char err[POLICY_ERR_MAX]);

/* policy_destroy frees *self_p and sets it NULL; NULL-safe. */
void policy_destroy(policy_t **self_p);

/* policy_band returns the band attendance pct falls in (NULL when the policy
 * has no bands). */
const policy_band_t *policy_band(const policy_t *p, double pct);

/* policy_track finds a track by id, or NULL. */
const policy_track_t *policy_track(const policy_t *p, const char *id);

#endif
