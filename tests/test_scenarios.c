/* test_scenarios.c - one pupil per seed policy (policies/NNN_name.yaml), walked day by day
 * over a real calendar through every stage of its ladders, each change checked against the
 * document. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_calendar.h"
#include "rollcall/policy.h"
#include "rollcall/policy_eval.h"

#define D        fx_date
#define LOG_MAX  3000
#define AM_CLOCK (9 * 60 + 30)

/* Marks that differ from "present all day", over from..to (school days). A
 * code written "N>O" is N at registration, amended to O at noon (after the
 * 09:30 first-day check). NULL leaves the session present. */
typedef struct {
    const char *from, *to;
    const char *am, *pm;
    int weekday; /* 0: every school day; 1..5: only that weekday */
} span_t;

/* A fact staff record, known from its date on. */
typedef struct {
    const char *date;
    fact_kind_t kind;
    const char *detail;
} fact_plan_t;

/* An expected stage change: track, from, to, date, and its first action. */
typedef struct {
    const char *track, *from, *to, *date;
    const char *template_id; /* an action it asks for (template id, or bare kind), or NULL */
} change_t;

typedef struct {
    rc_date_t date;
    int minute;
    eval_decision_t d;
} logged_t;

typedef struct {
    policy_t *policy;
    calendar_t *cal;
    pupil_state_t st;
    pupil_policy_state_t ps;
    eval_fact_t facts[16];
    size_t nfacts;
    int64_t stamp;
    logged_t log[LOG_MAX];
    size_t nlog;
} walk_t;

static walk_t *w;

static void setup(void)
{
    w = calloc(1, sizeof *w);
    w->cal = fx_calendar();
}

static void teardown(void)
{
    pupil_state_release(&w->st);
    policy_destroy(&w->policy);
    calendar_destroy(&w->cal);
    free(w);
}

TestSuite(scenarios, .init = setup, .fini = teardown, .timeout = 120);

/* load finds policies/<prefix>*.yaml and loads it; skips the test while the
 * file does not exist yet. */
static void load(const char *prefix)
{
    const char *dir = ROLLCALL_SOURCE_DIR "/policies";
    DIR *dp = opendir(dir);
    char path[1024] = "";
    if (dp) {
        struct dirent *e;
        while ((e = readdir(dp)) != NULL) {
            size_t n = strlen(e->d_name);
            if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && n > 5 &&
                strcmp(e->d_name + n - 5, ".yaml") == 0)
                snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        }
        closedir(dp);
    }
    if (!path[0])
        cr_skip_test("no policies/%s*.yaml yet", prefix);
    char err[POLICY_ERR_MAX] = "";
    cr_assert_eq(policy_load_file(path, &w->policy, err), RC_OK, "%s", err);
}

static void apply(rc_date_t d, session_t s, const char *code)
{
    mark_t m = {.urn = "100001", .upn = "B801200005001", .date = d, .session = s};
    cr_assert_eq(code_parse(code, strlen(code), &m.code), RC_OK, "%s", code);
    m.recorded_at = w->stamp++;
    cr_assert_eq(pupil_state_apply(&w->st, w->cal, &m, NULL), RC_OK);
}

static void evaluate(rc_date_t d, int minute)
{
    static eval_result_t res;
    pupil_state_set_today(&w->st, w->cal, d);
    eval_input_t in = {.policy = w->policy,
                       .cal = w->cal,
                       .st = &w->st,
                       .facts = w->facts,
                       .nfacts = w->nfacts,
                       .today = d,
                       .minute = minute};
    cr_assert_eq(policy_eval(&in, &w->ps, &res), RC_OK);
    for (size_t i = 0; i < res.n; i++) {
        cr_assert_lt(w->nlog, LOG_MAX);
        w->log[w->nlog++] = (logged_t){.date = d, .minute = minute, .d = res.d[i]};
        if (getenv("EVAL_TRACE")) {
            char db[RC_DATE_STRLEN];
            const eval_decision_t *x = &res.d[i];
            fprintf(stderr, "%s %02d:%02d %-19s %s %s -> %s [%s] %s\n", date_format(d, db),
                    minute / 60, minute % 60, decision_kind_name(x->kind), x->track_id,
                    x->stage_from_id, x->stage_to_id,
                    x->kind == DECISION_ALERT      ? alert_kind_name(x->alert)
                    : x->kind == DECISION_REFERRAL ? referral_kind_name(x->referral)
                                                   : (x->nactions ? x->actions[0].template_id : ""),
                    x->reason);
        }
    }
}

/* code_of returns the plan's code for (d, s): the last span that covers it. */
static const char *code_of(const span_t *plan, size_t n, rc_date_t d, session_t s)
{
    const char *code = s == SESSION_AM ? "/" : "\\";
    for (size_t i = 0; i < n; i++) {
        const span_t *p = &plan[i];
        if (d < D(p->from) || d > D(p->to) || (p->weekday && date_weekday(d) != p->weekday))
            continue;
        const char *c = s == SESSION_AM ? p->am : p->pm;
        if (c)
            code = c;
    }
    return code;
}

/* mark_session registers one session: "N>O" gives N now and O at noon. */
static void mark_session(rc_date_t d, session_t s, const char *code, int amend)
{
    const char *gt = strchr(code, '>');
    char first[4] = "";
    if (!gt) {
        if (!amend)
            apply(d, s, code);
        return;
    }
    if (amend) {
        apply(d, s, gt + 1);
    } else {
        snprintf(first, sizeof first, "%.*s", (int)(gt - code), code);
        apply(d, s, first);
    }
}

/* walk runs the pupil from..to: on school days the 08:00 tick, the AM
 * register, 09:30, amendments at noon, the PM register, 16:00; on other days
 * a noon tick. Facts become known on their dates. */
static void walk(const char *from, const char *to, const span_t *plan, size_t n,
                 const fact_plan_t *facts, size_t nfacts)
{
    pupil_state_init(&w->st, w->cal, D(from));
    pupil_policy_state_init(&w->ps);
    w->stamp = 1;
    for (rc_date_t d = D(from); d <= D(to); d++) {
        for (size_t i = 0; i < nfacts; i++)
            if (D(facts[i].date) == d) {
                eval_fact_t *f = &w->facts[w->nfacts++];
                f->kind = facts[i].kind;
                f->date = d;
                snprintf(f->detail, sizeof f->detail, "%s", facts[i].detail);
            }
        unsigned open = calendar_open_mask(w->cal, d);
        if (!open) {
            evaluate(d, 12 * 60);
            continue;
        }
        pupil_state_set_today(&w->st, w->cal, d);
        evaluate(d, 8 * 60);
        const char *am = code_of(plan, n, d, SESSION_AM), *pm = code_of(plan, n, d, SESSION_PM);
        if (open & SESS_AM)
            mark_session(d, SESSION_AM, am, 0);
        evaluate(d, AM_CLOCK);
        if (open & SESS_AM)
            mark_session(d, SESSION_AM, am, 1);
        if (open & SESS_PM) {
            mark_session(d, SESSION_PM, pm, 0);
            mark_session(d, SESSION_PM, pm, 1);
        }
        evaluate(d, 16 * 60);
    }
}

static int is_change(const eval_decision_t *d)
{
    return d->kind == DECISION_STAGE_UP || d->kind == DECISION_STAGE_DOWN ||
           d->kind == DECISION_STAGE_EXIT;
}

/* action_name returns an action's template id, or its kind for one
 * written bare ("early_help", "dsl"). */
static const char *action_name(const policy_action_t *a)
{
    static const char *const bare[] = {
        [ACT_LETTER] = "letter",     [ACT_SMS] = "sms",         [ACT_EMAIL] = "email",
        [ACT_CALL] = "call",         [ACT_MEETING] = "meeting", [ACT_HOME_VISIT] = "home_visit",
        [ACT_REFERRAL] = "referral", [ACT_DSL] = "dsl",         [ACT_EARLY_HELP] = "early_help",
    };
    if (a->template_id[0])
        return a->template_id;
    return (size_t)a->kind < sizeof bare / sizeof *bare && bare[a->kind] ? bare[a->kind] : "?";
}

/* has_action is true when d asks for the action named (see action_name). */
static int has_action(const eval_decision_t *d, const char *name)
{
    for (size_t i = 0; i < d->nactions; i++)
        if (strcmp(action_name(&d->actions[i]), name) == 0)
            return 1;
    return 0;
}

/* expect_changes checks the stage changes, in order, are exactly want, and
 * each first action where want names one. */
static void expect_changes(const change_t *want, size_t n)
{
    size_t k = 0;
    char db[RC_DATE_STRLEN];
    for (size_t i = 0; i < w->nlog; i++) {
        const eval_decision_t *d = &w->log[i].d;
        if (!is_change(d))
            continue;
        cr_assert_lt(k, n, "unexpected change %s %s -> %s on %s: %s", d->track_id, d->stage_from_id,
                     d->stage_to_id, date_format(w->log[i].date, db), d->reason);
        const change_t *c = &want[k++];
        cr_expect_str_eq(d->track_id, c->track, "change %zu", k);
        cr_expect_str_eq(d->stage_from_id, c->from, "change %zu", k);
        cr_expect_str_eq(d->stage_to_id, c->to, "change %zu", k);
        cr_expect_str_eq(date_format(w->log[i].date, db), c->date, "change %zu (%s -> %s)", k,
                         c->from, c->to);
        if (c->template_id)
            cr_expect(has_action(d, c->template_id), "change %zu (%s) asks for %s", k, c->to,
                      c->template_id);
        if (d->kind != DECISION_STAGE_UP)
            cr_expect_eq(d->nactions, 0, "change %zu: only entering a stage asks for its actions",
                         k);
        cr_expect(d->reason[0] != '\0');
    }
    cr_assert_eq(k, n, "%zu stage changes, %zu expected", k, n);
}

/* count_of counts decisions of a kind (and alert / referral when set). */
static size_t count_of(decision_kind_t kind, int sub)
{
    size_t n = 0;
    for (size_t i = 0; i < w->nlog; i++) {
        const eval_decision_t *d = &w->log[i].d;
        n += d->kind == kind &&
             (!sub || (kind == DECISION_ALERT ? (int)d->alert : (int)d->referral) == sub);
    }
    return n;
}

/* on returns the date ("YYYY-MM-DD") of the nth decision of a kind. */
static const char *on(decision_kind_t kind, int sub, size_t nth, const char *track)
{
    static char db[RC_DATE_STRLEN];
    for (size_t i = 0; i < w->nlog; i++) {
        const eval_decision_t *d = &w->log[i].d;
        if (d->kind != kind ||
            (sub && (kind == DECISION_ALERT ? (int)d->alert : (int)d->referral) != sub) ||
            (track && strcmp(d->track_id, track) != 0))
            continue;
        if (nth-- == 0)
            return date_format(w->log[i].date, db);
    }
    return "never";
}

/* review returns the nth review decision of a kind (on track, when set). */
static const eval_decision_t *review(decision_kind_t kind, size_t nth, const char *track)
{
    for (size_t i = 0; i < w->nlog; i++) {
        const eval_decision_t *d = &w->log[i].d;
        if (d->kind == kind && (!track || strcmp(d->track_id, track) == 0) && nth-- == 0)
            return d;
    }
    cr_assert_fail("no review %zu of %s", nth, track ? track : "any");
    return NULL;
}

/* ---- seed 004: HCAT ---- */

/* A Year 9 pupil at an HCAT school, September 2025 to December 2026.
 * Absence: ill two days (94.7%: the "Cause for Concern" warning letter; then
 * exactly 90.0%: "90% or below", Letter 1); truants four Mondays while
 * monitored (each "one more week per day of additional absence": review 8
 * school weeks on); no improvement -> ISAP (Letter 2); two more days ill and
 * a day's truancy -> referral to the Education Welfare Service (Letter 3);
 * then full attendance: improvement at each review steps back down the
 * ladder (Stage 5: "review attendance proceedings from the relevant stage").
 * Lateness: late (L) after 9:00 three times in a half term (letter), a fourth
 * (meeting with the EWO), still four in the half term at the review (agency
 * support); punctual after half term: step down, then the improvement letter.
 * Reviews of the late-mark stages counted "in a half term" fall when the next
 * half term begins. Autumn 2026: late after 9:30 (U) every Monday: the fifth
 * in the half term brings the warning letter, lifted when the next half term
 * begins; the tenth in 12 weeks, persistent lateness and the penalty-notice
 * threshold. */
Test(scenarios, seed_004_hcat)
{
    load("004_");
    static const span_t plan[] = {
        {"2025-09-29", "2025-09-30", "I", "I", 0},   /* ill */
        {"2025-10-06", "2025-10-20", "N>O", "O", 1}, /* Mondays: no reason -> O */
        {"2025-11-03", "2025-11-03", "N>O", "O", 0}, /* and the first after half term */
        {"2025-12-15", "2025-12-16", "I", "I", 0},   /* ill */
        {"2026-01-09", "2026-01-09", "N>O", "O", 0}, /* truancy */
        {"2026-04-14", "2026-04-16", "L", NULL, 0},  /* late, before the register closes */
        {"2026-04-20", "2026-04-20", "L", NULL, 0},  /* the fourth this half term */
        {"2026-09-21", "2026-10-19", "U", NULL, 1},  /* Mondays, after 09:30 */
        {"2026-11-02", "2026-11-30", "U", NULL, 1},
    };
    walk("2025-09-03", "2026-12-01", plan, sizeof plan / sizeof *plan, NULL, 0);

    static const change_t want[] = {
        /* 36 of 38: 94.7% "falls below 95%" */
        {"absence", "", "initial_warning", "2025-09-29", "warning_letter"},
        /* 36 of 40: 90.0%, "90% or below" */
        {"absence", "initial_warning", "stage_1", "2025-09-30", "letter_1"},
        /* review due 4 Nov + 4 weeks for 4 days of absence = 2 Dec; 89.8% */
        {"absence", "stage_1", "stage_2", "2025-12-02", "letter_2"},
        /* 2 Dec + 4 school weeks (Christmas skipped) = 13 Jan; 88.6% */
        {"absence", "stage_2", "stage_3", "2026-01-13", "letter_3"},
        /* 13 Jan + 4 weeks = 10 Feb; 90.9%: improved, step down */
        {"absence", "stage_3", "stage_2", "2026-02-10", NULL},
        /* 10 Feb + 4 weeks (February half term skipped) = 17 Mar; 92.4% */
        {"absence", "stage_2", "stage_1", "2026-03-17", NULL},
        /* three late marks in the half term that began 13 Apr */
        {"lateness", "", "late_marks_letter", "2026-04-16", "late_marks_letter"},
        {"lateness", "late_marks_letter", "lateness_meeting", "2026-04-20", "lateness_meeting"},
        /* 17 Mar + 4 weeks (Easter skipped) = 28 Apr; 93.5% */
        {"absence", "stage_1", "initial_warning", "2026-04-28", NULL},
        /* 20 Apr + 4 weeks = 18 May: still 4 late marks this half term */
        {"lateness", "lateness_meeting", "agency_support", "2026-05-18", "early_help"},
        /* 18 May + 4 weeks (May half term skipped) = 22 Jun: none since 1 Jun */
        {"lateness", "agency_support", "lateness_meeting", "2026-06-22", NULL},
        /* 22 Jun + 4 weeks = 20 Jul: improved, the improvement letter, step down */
        {"lateness", "lateness_meeting", "late_marks_letter", "2026-07-20", NULL},
        /* The initial warning's four-week review fell on 2 Sept 2026, the first
         * day of a school year; held once there are 20 sessions (15 Sept PM):
         * 100%, back at 95% or above: off the ladder. */
        {"absence", "initial_warning", "", "2026-09-15", NULL},
        /* The late-marks letter counts "in a half term": reviewed when the next
         * one begins, 2 Sept (after the summer), held with the absence review:
         * no late marks this half term: off the ladder. */
        {"lateness", "late_marks_letter", "", "2026-09-15", NULL},
        /* 35 of 37 on the second Monday of late arrival after 09:30 */
        {"absence", "", "initial_warning", "2026-09-28", "warning_letter"},
        /* the third late mark (U) of the half term that began 2 Sept: a new letter */
        {"lateness", "", "late_marks_letter", "2026-10-05", "late_marks_letter"},
        /* the fourth late mark (U) this half term */
        {"lateness", "late_marks_letter", "lateness_meeting", "2026-10-12", "lateness_meeting"},
        /* the fifth U this half term: "a warning letter will be issued" */
        {"late_after_close", "", "u_warning", "2026-10-19", "lateness_penalty_warning"},
        /* "(within a half term)": reviewed on 2 Nov, the first day after the
         * October half term, before that Monday's U: none this half term */
        {"late_after_close", "u_warning", "", "2026-11-02", NULL},
        /* 12 Oct + 4 weeks (half term skipped) = 16 Nov: attendance 92.7%,
         * lower than 92.9% at the meeting: not improved */
        {"lateness", "lateness_meeting", "agency_support", "2026-11-16", "early_help"},
        /* the tenth U in 12 school weeks: "Persistence lateness" (also the fifth
         * U of this half term: the highest stage that holds) */
        {"late_after_close", "", "persistent_lateness", "2026-11-30", "lateness_penalty_review"},
    };
    expect_changes(want, sizeof want / sizeof *want);

    /* Stage 3's actions ask for the EWS referral (a stage_referral to the LA). */
    cr_expect_eq(count_of(DECISION_REFERRAL, REFERRAL_STAGE), 1);
    cr_expect_str_eq(on(DECISION_REFERRAL, REFERRAL_STAGE, 0, NULL), "2026-01-13");
    /* "10 sessions ... (O code, U code or G code) within a 12-week period":
     * 8 O on four Mondays, 2 on 9 Jan; then the tenth U on 30 Nov 2026. */
    cr_expect_eq(count_of(DECISION_REFERRAL, REFERRAL_PENALTY_THRESHOLD), 2);
    cr_expect_str_eq(on(DECISION_REFERRAL, REFERRAL_PENALTY_THRESHOLD, 0, NULL), "2026-01-09");
    cr_expect_str_eq(on(DECISION_REFERRAL, REFERRAL_PENALTY_THRESHOLD, 1, NULL), "2026-11-30");
    /* A text at 09:30 on each of the five mornings still unexplained. */
    cr_expect_eq(count_of(DECISION_ALERT, ALERT_FIRST_DAY_ABSENCE), 5);
    /* The improvement letter at the lateness meeting's review. */
    const eval_decision_t *r = review(DECISION_REVIEW_IMPROVED, 1, "lateness");
    cr_expect_str_eq(r->track_id, "lateness");
    cr_expect(has_action(r, "lateness_improvement"));
    cr_expect_eq(count_of(DECISION_REFERRAL, REFERRAL_CME), 0);
    cr_expect_eq(count_of(DECISION_REFERRAL, REFERRAL_SEVERE_ABSENCE), 0);
}

/* ---- seed 000: the absence / lateness flowchart ---- */

/* A pupil under the attendance officer's flowchart, 2025-26.
 * Step 2: no reason given Monday 20 Oct and at Tuesday's register ("absent
 * beyond one day ... no contact"); Tuesday they turn up late; two weeks on,
 * no run of absence: off the ladder. Monday's N is never explained: flagged
 * five school days on. Step 3: ill two days, below 95%: TAF and the formal
 * letter; ill again, still below 95% at the review: "escalate: issue formal
 * Letter (Warning of Legal Intervention) plus refer to DSL" (Step 4); still
 * below at its review: Step 5, the legal pathway and the LA referral; back
 * to 95% four weeks on: "Send letter of acknowledgement", off the ladder.
 * Lateness: five late marks in a week (our 5 in 4 school weeks), then six
 * more in the next month: Step 4's warning; punctual after: acknowledged. */
Test(scenarios, seed_000_flowchart)
{
    load("000_");
    static const span_t plan[] = {
        {"2025-10-20", "2025-10-20", "N", "N", 0},    /* no reason, never explained */
        {"2025-10-21", "2025-10-21", "N>L", NULL, 0}, /* turns up late: L */
        {"2025-11-17", "2025-11-18", "I", "I", 0},    /* ill */
        {"2025-12-01", "2025-12-02", "I", "I", 0},    /* ill again */
        {"2026-03-09", "2026-03-13", "L", NULL, 0},   /* late every morning for a week */
        {"2026-04-16", "2026-04-17", "L", NULL, 0},   /* and six more times */
        {"2026-04-20", "2026-04-23", "L", NULL, 0},
    };
    walk("2025-09-03", "2026-06-30", plan, sizeof plan / sizeof *plan, NULL, 0);

    static const change_t want[] = {
        /* two school days in a row with no reason at 09:30 Tuesday; 66 of 69
         * is 95.7%, not below 95 */
        {"absence", "", "step_2_continuing_absence", "2025-10-21", "parent"},
        /* 21 Oct + 2 school weeks (half term skipped) = 11 Nov */
        {"absence", "step_2_continuing_absence", "", "2025-11-11", NULL},
        /* 94 of 99 at Tuesday's register: 94.9%, "falls below 95%" */
        {"absence", "", "step_3_taf", "2025-11-18", "formal_attendance_letter"},
        /* 18 Nov + 4 school weeks = 16 Dec: 128 of 138, 92.8% */
        {"absence", "step_3_taf", "step_4_legal_warning", "2025-12-16",
         "warning_of_legal_intervention"},
        /* 16 Dec + 4 school weeks (Christmas skipped) = 27 Jan: 94.4% */
        {"absence", "step_4_legal_warning", "step_5_legal_intervention", "2026-01-27",
         "local_authority"},
        /* 27 Jan + 4 (February half term skipped) = 3 Mar: 95.4% */
        {"absence", "step_5_legal_intervention", "", "2026-03-03", NULL},
        /* the fifth late mark in 4 school weeks, Friday 13 Mar */
        {"lateness", "", "step_3_punctuality_taf", "2026-03-13", "formal_attendance_letter"},
        /* 13 Mar + 4 school weeks (Easter skipped) = 24 Apr: 6 in 4 weeks */
        {"lateness", "step_3_punctuality_taf", "step_4_punctuality_warning", "2026-04-24",
         "warning_of_legal_intervention"},
        /* 24 Apr + 4 school weeks = 22 May: none since */
        {"lateness", "step_4_punctuality_warning", "", "2026-05-22", NULL},
    };
    expect_changes(want, sizeof want / sizeof *want);

    /* Step 1: the first-day text on both mornings still unexplained at 09:30. */
    cr_expect_eq(count_of(DECISION_ALERT, ALERT_FIRST_DAY_ABSENCE), 2);
    /* Monday 20 Oct's two N, five school days on (21-24 Oct, 3 Nov). */
    cr_expect_eq(count_of(DECISION_ALERT, ALERT_N_UNRESOLVED_5_DAYS), 1);
    cr_expect_str_eq(on(DECISION_ALERT, ALERT_N_UNRESOLVED_5_DAYS, 0, NULL), "2025-11-03");
    /* Step 5: "refer to LA for action". */
    cr_expect_str_eq(on(DECISION_REFERRAL, REFERRAL_STAGE, 0, NULL), "2026-01-27");
    /* Step 4's improvement rule: "Send letter of acknowledgement". */
    const eval_decision_t *r = review(DECISION_REVIEW_IMPROVED, 0, "absence");
    cr_expect_str_eq(r->stage_from_id, "step_2_continuing_absence");
    r = review(DECISION_REVIEW_IMPROVED, 1, "absence");
    cr_expect_str_eq(r->stage_from_id, "step_5_legal_intervention");
    cr_expect(has_action(r, "acknowledgement"));
    r = review(DECISION_REVIEW_IMPROVED, 0, "lateness");
    cr_expect(has_action(r, "acknowledgement"));
    cr_expect_eq(count_of(DECISION_REFERRAL, REFERRAL_PENALTY_THRESHOLD), 0);
}

/* ---- seed 001: the attendance process flowchart, Letters A to E ---- */

/* A pupil through Stages 1 to 3 and Letters A to E, 2025-26.
 * Ill, below the target (95%): Letter A; ill again, "Attendance improved? NO":
 * Letter B and the informal meeting; back above 95%: "YES: No further
 * action". Ill in January: Letter A again, then B, C (Attendance Improvement
 * Plan), D (the LAAO's Attendance Contract meeting, a referral) as each
 * four-week look finds no improvement; the parents miss the Letter D meeting:
 * the LAAO puts the contract in place with Letter E; no improvement: the
 * PACE meeting. A missed Letter B meeting does not bring Letter E. */
Test(scenarios, seed_001_attendance_process)
{
    load("001_");
    static const span_t plan[] = {
        {"2025-09-29", "2025-09-29", "I", "I", 0}, {"2025-10-13", "2025-10-13", "I", "I", 0},
        {"2026-01-05", "2026-01-06", "I", "I", 0}, {"2026-01-20", "2026-01-20", "I", "I", 0},
        {"2026-02-24", "2026-02-24", "I", "I", 0}, {"2026-03-17", "2026-03-17", "I", "I", 0},
        {"2026-05-05", "2026-05-05", "I", "I", 0},
    };
    static const fact_plan_t facts[] = {
        {"2025-11-10", FACT_MEETING_MISSED, "stage_1_letter_b"},
        {"2026-04-28", FACT_MEETING_MISSED, "stage_3_letter_d"},
    };
    walk("2025-09-03", "2026-06-30", plan, sizeof plan / sizeof *plan, facts,
         sizeof facts / sizeof *facts);

    static const change_t want[] = {
        /* 36 of 38: 94.7%, below the 95% target */
        {"absence", "", "stage_1_letter_a", "2025-09-29", "letter_a"},
        /* 29 Sep + 4 school weeks = 3 Nov: 72 of 76, 94.7% */
        {"absence", "stage_1_letter_a", "stage_1_letter_b", "2025-11-03", "letter_b"},
        /* 3 Nov + 4 = 1 Dec: 112 of 116, 96.6%: "YES: No further action" */
        {"absence", "stage_1_letter_b", "", "2025-12-01", NULL},
        /* 142 of 150 after two days ill */
        {"absence", "", "stage_1_letter_a", "2026-01-06", "letter_a"},
        /* 6 Jan + 4 = 3 Feb: 178 of 188, 94.7% */
        {"absence", "stage_1_letter_a", "stage_1_letter_b", "2026-02-03", "letter_b"},
        /* 3 Feb + 4 (half term skipped) = 10 Mar: 216 of 228 */
        {"absence", "stage_1_letter_b", "stage_2_letter_c", "2026-03-10", "letter_c"},
        /* 10 Mar + 4 (Easter skipped) = 21 Apr: 253 of 267 */
        {"absence", "stage_2_letter_c", "stage_3_letter_d", "2026-04-21", "letter_d"},
        /* staff record the missed Letter D meeting */
        {"attendance_contract", "", "letter_e", "2026-04-28", "letter_e"},
        /* 21 Apr + 4 = 19 May: 289 of 305 */
        {"absence", "stage_3_letter_d", "stage_3_pace", "2026-05-19", "advisory_letter_pace"},
    };
    expect_changes(want, sizeof want / sizeof *want);
    /* Letter D's "Discuss next steps with LAAO": a referral to the LA. */
    cr_expect_eq(count_of(DECISION_REFERRAL, REFERRAL_STAGE), 1);
    cr_expect_str_eq(on(DECISION_REFERRAL, REFERRAL_STAGE, 0, NULL), "2026-04-21");
    cr_expect_eq(count_of(DECISION_ALERT, 0), 0, "every absence was explained (I) in time");
}

/* ---- seed 002: Lowther, Flowchart 1 (absences) and 2 (lateness) ---- */

/* A pupil at Lowther, 2025-26. Ill Monday to Wednesday: Upper Amber, Lower
 * Amber, then below 90% (Red, with the warning that "further monitoring will
 * take place over the next half term"); at the end of that half term,
 * improved: "communicate and celebrate", back to Lower Amber. Absent every
 * Friday from January and a week's unauthorised holiday: Red again (and the
 * national penalty threshold); no improvement at the end of the next half
 * term: the Attendance Panel; still none a half term later: referred to the
 * LA Access and Inclusion Officer. Every absence review falls on the first
 * day of a half term. Lateness in the summer, counted weekly: one late
 * arrival (a concern, gone a week later), then three in a week
 * (significant), three in a week at each review: the Lateness Panel, then
 * "consideration as unauthorised absence". */
Test(scenarios, seed_002_lowther)
{
    load("002_");
    static const span_t plan[] = {
        {"2025-09-29", "2025-10-01", "I", "I", 0},   /* ill Monday to Wednesday */
        {"2026-01-09", "2026-03-20", "N>O", "O", 5}, /* Fridays, no reason accepted */
        {"2026-01-12", "2026-01-16", "G", "G", 0},   /* unauthorised holiday */
        {"2026-04-13", "2026-04-13", "L", NULL, 0},  {"2026-04-27", "2026-04-29", "L", NULL, 0},
        {"2026-06-01", "2026-06-01", "L", "L", 0},   {"2026-06-02", "2026-06-02", "L", NULL, 0},
        {"2026-06-29", "2026-06-29", "L", "L", 0},   {"2026-06-30", "2026-06-30", "L", NULL, 0},
    };
    walk("2025-09-03", "2026-07-22", plan, sizeof plan / sizeof *plan, NULL, 0);

    static const change_t want[] = {
        /* 36 of 38: 94.7%, "Upper 94 - 95.9%" */
        {"absence", "", "upper_amber", "2025-09-29", "rag_letter_upper_amber"},
        /* 36 of 39: 92.3%, "Lower 90 - 93.9%" */
        {"absence", "upper_amber", "lower_amber", "2025-09-30", "rag_letter_lower_amber"},
        /* 36 of 41: 87.8%, "Below 90 %" */
        {"absence", "lower_amber", "red", "2025-10-01", "rag_letter_red"},
        /* Red on 1 Oct, in the first autumn half term: "over the next half
         * term" (3 Nov - 19 Dec), so reviewed when the one after begins,
         * 5 Jan: 95.8%, improved */
        {"absence", "red", "lower_amber", "2026-01-05", NULL},
        /* a Friday with no reason and the holiday's 9th session: 89.6% */
        {"absence", "lower_amber", "red", "2026-01-16", "rag_letter_red"},
        /* Red again on 16 Jan: the next half term begins 23 Feb, after the
         * February break; reviewed when the one after it begins, 13 Apr,
         * after Easter: 86.6% */
        {"absence", "red", "attendance_panel", "2026-04-13", "attendance_panel"},
        /* "1 or 2 late arrivals in a week" */
        {"lateness", "", "lateness_concern", "2026-04-13", "lateness_warning"},
        /* a week on, none this week */
        {"lateness", "lateness_concern", "", "2026-04-20", NULL},
        {"lateness", "", "lateness_concern", "2026-04-27", "lateness_warning"},
        /* "3 or 4 late arrivals in a week" */
        {"lateness", "lateness_concern", "significant_lateness", "2026-04-29", "lateness_letter"},
        /* "monitor for a further half term": to 1 Jun, after the May half term
         * (the 4 May bank holiday does not end one): 89.1% */
        {"absence", "attendance_panel", "la_referral", "2026-06-01",
         "la_access_and_inclusion_officer"},
        /* 29 Apr + 4 school weeks (May half term skipped) = 3 Jun: 3 this week */
        {"lateness", "significant_lateness", "lateness_panel", "2026-06-03", "lateness_panel"},
        /* 3 Jun + 4 = 1 Jul: 3 this week again */
        {"lateness", "lateness_panel", "lateness_as_absence", "2026-07-01", NULL},
    };
    expect_changes(want, sizeof want / sizeof *want);
    /* "If there is improvement, communicate and celebrate appropriately". */
    const eval_decision_t *r = review(DECISION_REVIEW_IMPROVED, 0, "absence");
    cr_expect_str_eq(r->stage_from_id, "red");
    cr_expect(has_action(r, "celebrate_improvement"));
    /* "escalate by referring the pupil to meet the LA Access and Inclusion Officer" */
    cr_expect_str_eq(on(DECISION_REFERRAL, REFERRAL_STAGE, 0, NULL), "2026-06-01");
    /* Friday 9 Jan's two O and eight G: "where the national threshold is met". */
    cr_expect_eq(count_of(DECISION_REFERRAL, REFERRAL_PENALTY_THRESHOLD), 1);
    cr_expect_str_eq(on(DECISION_REFERRAL, REFERRAL_PENALTY_THRESHOLD, 0, NULL), "2026-01-15");
    /* "First day response to be actioned": each Friday but the holiday's, 9 of them. */
    cr_expect_eq(count_of(DECISION_ALERT, ALERT_FIRST_DAY_ABSENCE), 9);
    /* The reviews name their half terms. */
    r = review(DECISION_REVIEW_NOT_IMPROVED, 0, "absence");
    cr_expect(strstr(r->reason, "due 2026-04-13 (2 half terms from 2026-01-16)") != NULL, "%s",
              r->reason);
    r = review(DECISION_REVIEW_NOT_IMPROVED, 1, "absence");
    cr_expect(strstr(r->reason, "(1 half term from 2026-04-13)") != NULL, "%s", r->reason);
}

/* ---- seed 003: the attendance escalation plan ---- */

/* A pupil through Stages 1 to 5, 2025-26. Ill a day: below 95%, Stage 1;
 * ill again two days later, below 94% and declining: Stage 2, the FLO and a
 * meeting; a week on, 94% and no lower: back to Stage 1. A day's term-time
 * holiday (G): Stage 3, "Unauthorised holidays during term time", the Notice
 * to Improve; a clear half term: improved, back to Stage 2, then Stage 1,
 * then off the ladder. In February the parents stop engaging (Stage 3
 * again), then break the Attendance Contract (Stage 4, the SLO referral);
 * in March a safeguarding concern: Stage 5, DSL. */
Test(scenarios, seed_003_escalation_plan)
{
    load("003_");
    static const span_t plan[] = {
        {"2025-09-29", "2025-09-29", "I", "I", 0},
        {"2025-10-01", "2025-10-01", "I", NULL, 0},
        {"2025-10-17", "2025-10-17", "G", NULL, 0},
    };
    static const fact_plan_t facts[] = {
        {"2026-02-02", FACT_PARENT_DID_NOT_ENGAGE, ""},
        {"2026-02-09", FACT_CONTRACT_BROKEN, ""},
        {"2026-03-02", FACT_SAFEGUARDING_CONCERN, ""},
    };
    walk("2025-09-03", "2026-03-31", plan, sizeof plan / sizeof *plan, facts,
         sizeof facts / sizeof *facts);

    static const change_t want[] = {
        /* 36 of 38: 94.7%, "Attendance falls below 95%" */
        {"absence", "", "stage_1", "2025-09-29", "first_concern_letter"},
        /* 38 of 41: 92.6% (shown rounded down), below 94 and lower than 94.7% at Stage 1 */
        {"absence", "stage_1", "stage_2", "2025-10-01", "second_attendance_letter"},
        /* 1 Oct + 1 school week = 8 Oct: 47 of 50, 94.0% */
        {"absence", "stage_2", "stage_1", "2025-10-08", NULL},
        /* a G this half term */
        {"absence", "stage_1", "stage_3", "2025-10-17", "notice_to_improve"},
        /* 17 Oct + 4 school weeks (half term skipped) = 21 Nov: 96.2%, no G */
        {"absence", "stage_3", "stage_2", "2025-11-21", NULL},
        /* 21 Nov + 1 = 28 Nov */
        {"absence", "stage_2", "stage_1", "2025-11-28", NULL},
        /* 28 Nov + 4 (Christmas skipped) = 9 Jan: 95% or above */
        {"absence", "stage_1", "", "2026-01-09", NULL},
        /* "Non-engagement with prior informal school interventions" */
        {"absence", "", "stage_3", "2026-02-02", "notice_to_improve"},
        /* "No sustained improvement ... following the Attendance Contract" */
        {"absence", "stage_3", "stage_4", "2026-02-09", "school_liaison_officer"},
        /* "Attendance concerns are linked to neglect or safeguarding risks" */
        {"child_protection", "", "stage_5", "2026-03-02", "dsl"},
    };
    expect_changes(want, sizeof want / sizeof *want);
    cr_expect_str_eq(on(DECISION_REFERRAL, REFERRAL_STAGE, 0, NULL), "2026-02-09");
    cr_expect_eq(count_of(DECISION_REFERRAL, REFERRAL_STAGE), 1);
}
