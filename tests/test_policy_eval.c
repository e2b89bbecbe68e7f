/* test_policy_eval.c - policy_eval on policies built in C: every alert rule, the ladder (entry,
 * escalation_only, reviews in school weeks with extensions, improvement), reasons, determinism. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_calendar.h"
#include "rollcall/policy_eval.h"

#define D fx_date

#define LOG_MAX 4000

static calendar_t *cal;
static policy_t P; /* rebuilt by each test; large, so not on the stack */

/* One decision as the rules service would see it: when, and what. */
typedef struct {
    rc_date_t date;
    int minute;
    eval_decision_t d;
} logged_t;

/* A pupil walked through the calendar by a test. */
typedef struct {
    pupil_state_t st;
    pupil_policy_state_t ps;
    unsigned flags;
    eval_fact_t facts[8];
    size_t nfacts;
    int64_t stamp; /* recorded_at of the next mark: always later */
    logged_t log[LOG_MAX];
    size_t nlog;
} pupil_t;

static pupil_t *pa, *pb;

static void setup(void)
{
    cal = fx_calendar();
    memset(&P, 0, sizeof P);
    snprintf(P.name, sizeof P.name, "test");
    pa = calloc(1, sizeof *pa);
    pb = calloc(1, sizeof *pb);
}

static void teardown(void)
{
    pupil_state_release(&pa->st);
    pupil_state_release(&pb->st);
    free(pa);
    free(pb);
    calendar_destroy(&cal);
}

TestSuite(policy_eval, .init = setup, .fini = teardown);

/* ---- building policies ---- */

static policy_track_t *add_track(const char *id)
{
    policy_track_t *t = &P.tracks[P.ntracks++];
    snprintf(t->id, sizeof t->id, "%s", id);
    t->line = 10 * (unsigned)P.ntracks;
    return t;
}

static policy_stage_t *add_stage(policy_track_t *t, const char *id, unsigned line)
{
    policy_stage_t *s = &t->stages[t->nstages++];
    snprintf(s->id, sizeof s->id, "%s", id);
    s->line = line;
    s->responsible = STAFF_ATTENDANCE_OFFICER;
    return s;
}

static cond_atom_t *atom(policy_cond_t *c, cond_kind_t kind, unsigned line)
{
    cond_atom_t *a = &c->atoms[c->n++];
    a->kind = kind;
    a->line = line;
    return a;
}

static void below(policy_cond_t *c, double v, unsigned line)
{
    atom(c, COND_ATTENDANCE_BELOW, line)->value = v;
}

static void act(policy_action_t *arr, size_t *n, action_kind_t kind, const char *tpl, unsigned line)
{
    policy_action_t *a = &arr[(*n)++];
    a->kind = kind;
    snprintf(a->template_id, sizeof a->template_id, "%s", tpl);
    a->line = line;
}

static code_set_t codes(const char *list)
{
    code_set_t set = 0;
    size_t bad = 0;
    cr_assert_eq(code_set_parse(list, strlen(list), &set, &bad), RC_OK, "%s", list);
    return set;
}

/* ---- walking a pupil ---- */

static void pupil_init(pupil_t *p, rc_date_t today)
{
    pupil_state_init(&p->st, cal, today);
    pupil_policy_state_init(&p->ps);
    p->stamp = 1;
}

static void mark(pupil_t *p, rc_date_t d, session_t s, const char *code)
{
    mark_t m = {.urn = "100001", .upn = "B801200005001", .date = d, .session = s};
    cr_assert_eq(code_parse(code, strlen(code), &m.code), RC_OK, "%s", code);
    m.recorded_at = p->stamp++;
    cr_assert_eq(pupil_state_apply(&p->st, cal, &m, NULL), RC_OK);
}

/* eval runs the policy at (d, minute) and appends the decisions to the log;
 * returns how many there were. */
static size_t eval(pupil_t *p, rc_date_t d, int minute)
{
    static eval_result_t res;
    pupil_state_set_today(&p->st, cal, d);
    eval_input_t in = {.policy = &P,
                       .cal = cal,
                       .st = &p->st,
                       .flags = p->flags,
                       .facts = p->facts,
                       .nfacts = p->nfacts,
                       .today = d,
                       .minute = minute};
    cr_assert_eq(policy_eval(&in, &p->ps, &res), RC_OK);
    for (size_t i = 0; i < res.n; i++) {
        cr_assert_lt(p->nlog, LOG_MAX);
        p->log[p->nlog++] = (logged_t){.date = d, .minute = minute, .d = res.d[i]};
        if (getenv("EVAL_TRACE")) {
            char db[RC_DATE_STRLEN];
            fprintf(stderr, "%s %02d:%02d %s %s %s->%s: %s\n", date_format(d, db), minute / 60,
                    minute % 60, decision_kind_name(res.d[i].kind), res.d[i].track_id,
                    res.d[i].stage_from_id, res.d[i].stage_to_id, res.d[i].reason);
        }
    }
    return res.n;
}

/* day marks one school day the way registers arrive (AM at 09:00, PM at
 * 13:30) and evaluates at 08:00, 09:30 and 16:00. NULL: no mark. */
static void day(pupil_t *p, rc_date_t d, const char *am, const char *pm)
{
    if (!calendar_is_school_day(cal, d))
        return;
    pupil_state_set_today(&p->st, cal, d);
    eval(p, d, 8 * 60);
    if (am && calendar_is_open(cal, d, SESSION_AM))
        mark(p, d, SESSION_AM, am);
    eval(p, d, 9 * 60 + 30);
    if (pm && calendar_is_open(cal, d, SESSION_PM))
        mark(p, d, SESSION_PM, pm);
    eval(p, d, 16 * 60);
}

/* days marks every school day from..to with the same codes. */
static void days(pupil_t *p, rc_date_t from, rc_date_t to, const char *am, const char *pm)
{
    for (rc_date_t d = from; d <= to; d++)
        day(p, d, am, pm);
}

/* count counts logged decisions of a kind (and alert / referral when set). */
static size_t count(const pupil_t *p, decision_kind_t kind, int sub)
{
    size_t n = 0;
    for (size_t i = 0; i < p->nlog; i++) {
        const eval_decision_t *d = &p->log[i].d;
        if (d->kind != kind)
            continue;
        if (kind == DECISION_ALERT && sub && (int)d->alert != sub)
            continue;
        if (kind == DECISION_REFERRAL && sub && (int)d->referral != sub)
            continue;
        n++;
    }
    return n;
}

/* find returns the n-th (0-based) logged decision of a kind, or NULL. */
static const logged_t *find(const pupil_t *p, decision_kind_t kind, int sub, size_t nth)
{
    for (size_t i = 0; i < p->nlog; i++) {
        const eval_decision_t *d = &p->log[i].d;
        if (d->kind != kind)
            continue;
        if (kind == DECISION_ALERT && sub && (int)d->alert != sub)
            continue;
        if (kind == DECISION_REFERRAL && sub && (int)d->referral != sub)
            continue;
        if (nth-- == 0)
            return &p->log[i];
    }
    return NULL;
}

static void assert_on(const logged_t *l, const char *date)
{
    char db[RC_DATE_STRLEN];
    cr_assert_not_null(l, "expected a decision on %s", date);
    cr_assert_str_eq(date_format(l->date, db), date);
}

/* ---- first-day absence and the social worker ---- */

static void first_day_policy(void)
{
    P.alerts.first_day = 1;
    P.alerts.first_day_minute = 570;
    snprintf(P.alerts.first_day_template, sizeof P.alerts.first_day_template, "first_day_sms");
}

Test(policy_eval, first_day_not_before_the_minute_and_once_a_day)
{
    first_day_policy();
    rc_date_t d = D("2025-09-08");
    pupil_init(pa, d);
    mark(pa, d, SESSION_AM, "N");
    cr_assert_eq(eval(pa, d, 569), 0, "09:29 is before the policy's minute");
    cr_assert_eq(eval(pa, d, 570), 1);
    const logged_t *l = find(pa, DECISION_ALERT, ALERT_FIRST_DAY_ABSENCE, 0);
    cr_assert_not_null(l);
    cr_assert_eq(l->d.nactions, 1);
    cr_assert_str_eq(l->d.actions[0].template_id, "first_day_sms");
    cr_assert(strstr(l->d.reason, "AM session of 2025-09-08 still coded N"), "%s", l->d.reason);
    cr_assert(strstr(l->d.reason, "09:30"), "%s", l->d.reason);
    cr_assert_eq(l->d.session, SESSION_AM, "the alert names the session still N");
    cr_assert_eq(eval(pa, d, 600), 0, "exactly one a day");
    mark(pa, d, SESSION_PM, "N");
    cr_assert_eq(eval(pa, d, 900), 0, "the PM does not send again");
    /* The next day of the absence sends again (seed 000: every day). */
    rc_date_t d2 = D("2025-09-09");
    mark(pa, d2, SESSION_AM, "N");
    cr_assert_eq(eval(pa, d2, 575), 1);
    cr_assert_eq(count(pa, DECISION_ALERT, ALERT_FIRST_DAY_ABSENCE), 2);
    /* Marked present in the morning, absent in the afternoon: the PM is named. */
    rc_date_t d3 = D("2025-09-10");
    mark(pa, d3, SESSION_AM, "/");
    mark(pa, d3, SESSION_PM, "N");
    cr_assert_eq(eval(pa, d3, 840), 1);
    l = find(pa, DECISION_ALERT, ALERT_FIRST_DAY_ABSENCE, 2);
    cr_assert_not_null(l);
    cr_assert_eq(l->d.session, SESSION_PM);
}

Test(policy_eval, first_day_nothing_after_amendment_to_illness)
{
    first_day_policy();
    rc_date_t d = D("2025-09-08");
    pupil_init(pa, d);
    mark(pa, d, SESSION_AM, "N"); /* 09:00 register */
    mark(pa, d, SESSION_AM, "I"); /* 09:20 the parent rang */
    cr_assert_eq(eval(pa, d, 570), 0);
    cr_assert_eq(eval(pa, d, 720), 0);
    cr_assert_eq(count(pa, DECISION_ALERT, 0), 0);
}

Test(policy_eval, first_day_not_on_a_closed_day_nor_for_present)
{
    first_day_policy();
    rc_date_t sat = D("2025-09-13"), mon = D("2025-09-15");
    pupil_init(pa, sat);
    cr_assert_eq(eval(pa, sat, 600), 0);
    mark(pa, mon, SESSION_AM, "/");
    cr_assert_eq(eval(pa, mon, 600), 0);
    /* A PM still unexplained after the minute is an absence of today too. */
    mark(pa, mon, SESSION_PM, "N");
    cr_assert_eq(eval(pa, mon, 800), 1);
    cr_assert(strstr(pa->log[0].d.reason, "PM session"), "%s", pa->log[0].d.reason);
}

Test(policy_eval, social_worker_told_of_unexplained_absence)
{
    first_day_policy();
    P.alerts.social_worker = 1;
    rc_date_t d = D("2025-09-08");
    pupil_init(pa, d);
    pupil_init(pb, d);
    pa->flags = PUPIL_SOCIAL_WORKER;
    mark(pa, d, SESSION_AM, "N");
    mark(pb, d, SESSION_AM, "N");
    cr_assert_eq(eval(pa, d, 570), 2);
    cr_assert_eq(eval(pb, d, 570), 1);
    cr_assert_eq(count(pa, DECISION_ALERT, ALERT_SOCIAL_WORKER_NOTIFY), 1);
    cr_assert_eq(count(pb, DECISION_ALERT, ALERT_SOCIAL_WORKER_NOTIFY), 0);
    cr_assert_eq(eval(pa, d, 600), 0);
    const logged_t *l = find(pa, DECISION_ALERT, ALERT_SOCIAL_WORKER_NOTIFY, 0);
    cr_assert(strstr(l->d.reason, "social worker"), "%s", l->d.reason);
}

/* ---- runs of unexplained absence ---- */

Test(policy_eval, home_visits_on_days_2_and_4)
{
    P.alerts.home_visit_days[0] = 2;
    P.alerts.home_visit_days[1] = 4;
    P.alerts.nhome_visit_days = 2;
    pupil_init(pa, D("2025-09-08"));
    days(pa, D("2025-09-08"), D("2025-09-16"), "N", "N");
    cr_assert_eq(count(pa, DECISION_ALERT, ALERT_HOME_VISIT_DUE), 2);
    const logged_t *l = find(pa, DECISION_ALERT, ALERT_HOME_VISIT_DUE, 0);
    assert_on(l, "2025-09-09");
    cr_assert_eq(l->minute, 570, "raised when day 2's morning register is still N");
    cr_assert_eq(l->d.responsible, STAFF_ATTENDANCE_OFFICER);
    assert_on(find(pa, DECISION_ALERT, ALERT_HOME_VISIT_DUE, 1), "2025-09-11");
    /* A present day ends the run; a new run visits again on its day 2. */
    day(pa, D("2025-09-17"), "/", "\\");
    days(pa, D("2025-09-18"), D("2025-09-19"), "N", "N");
    cr_assert_eq(count(pa, DECISION_ALERT, ALERT_HOME_VISIT_DUE), 3);
    assert_on(find(pa, DECISION_ALERT, ALERT_HOME_VISIT_DUE, 2), "2025-09-19");
}

Test(policy_eval, cme_once_on_day_10_not_on_day_11)
{
    P.alerts.cme_days = 10;
    pupil_init(pa, D("2025-10-01"));
    /* Wed 1 Oct .. : ten school days end on Tue 14 Oct. */
    days(pa, D("2025-10-01"), D("2025-10-13"), "N", "N");
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_CME), 0, "nine days are not ten");
    day(pa, D("2025-10-14"), "N", "N");
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_CME), 1);
    const logged_t *l = find(pa, DECISION_REFERRAL, REFERRAL_CME, 0);
    assert_on(l, "2025-10-14");
    cr_assert_eq(l->minute, 570);
    cr_assert(strstr(l->d.reason, "10 school days in a row"), "%s", l->d.reason);
    cr_assert(strstr(l->d.reason, "since 2025-10-01"), "%s", l->d.reason);
    days(pa, D("2025-10-15"), D("2025-10-24"), "N", "N");
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_CME), 1, "not again on day 11 or later");
    /* An amendment that shortens the run (day 1 was illness) raises nothing new. */
    mark(pa, D("2025-10-01"), SESSION_AM, "I");
    mark(pa, D("2025-10-01"), SESSION_PM, "I");
    eval(pa, D("2025-10-24"), 900);
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_CME), 1);
}

Test(policy_eval, cme_counts_days_without_contact)
{
    P.alerts.cme_days = 10;
    pupil_init(pa, D("2025-10-01"));
    /* Contact made on day 3 (Fri 3 Oct): the ten days without contact run
     * Mon 6 .. Fri 17 Oct, though the N run reaches ten on Tue 14 Oct. */
    days(pa, D("2025-10-01"), D("2025-10-03"), "N", "N");
    pa->facts[pa->nfacts++] = (eval_fact_t){FACT_CONTACT_MADE, D("2025-10-03"), ""};
    days(pa, D("2025-10-06"), D("2025-10-16"), "N", "N");
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_CME), 0, "contact on day 3 restarts it");
    day(pa, D("2025-10-17"), "N", "N");
    const logged_t *l = find(pa, DECISION_REFERRAL, REFERRAL_CME, 0);
    assert_on(l, "2025-10-17");
    cr_assert(strstr(l->d.reason, "without contact since 2025-10-03"), "%s", l->d.reason);
    /* A contact before the run began counts for nothing. */
    pupil_init(pb, D("2025-10-01"));
    pb->facts[pb->nfacts++] = (eval_fact_t){FACT_CONTACT_MADE, D("2025-09-30"), ""};
    days(pb, D("2025-10-01"), D("2025-10-14"), "N", "N");
    assert_on(find(pb, DECISION_REFERRAL, REFERRAL_CME, 0), "2025-10-14");
}

Test(policy_eval, cme_counts_school_days_across_a_half_term)
{
    P.alerts.cme_days = 10;
    pupil_init(pa, D("2025-10-20"));
    /* Mon 20 .. Fri 24 Oct, half term, Mon 3 .. Fri 7 Nov: day 10 is Fri 7 Nov. */
    days(pa, D("2025-10-20"), D("2025-11-06"), "N", "N");
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_CME), 0);
    day(pa, D("2025-11-07"), "N", "N");
    assert_on(find(pa, DECISION_REFERRAL, REFERRAL_CME, 0), "2025-11-07");
}

Test(policy_eval, n_unresolved_after_5_school_days)
{
    P.alerts.n_unresolved_days = 5;
    pupil_init(pa, D("2025-09-08"));
    day(pa, D("2025-09-08"), "N", "/");  /* Monday: AM never explained */
    day(pa, D("2025-09-09"), "N", "\\"); /* Tuesday: AM explained on Friday */
    days(pa, D("2025-09-10"), D("2025-09-11"), "/", "\\");
    mark(pa, D("2025-09-09"), SESSION_AM, "M");
    days(pa, D("2025-09-12"), D("2025-09-12"), "/", "\\");
    cr_assert_eq(count(pa, DECISION_ALERT, ALERT_N_UNRESOLVED_5_DAYS), 0);
    days(pa, D("2025-09-15"), D("2025-09-19"), "/", "\\");
    cr_assert_eq(count(pa, DECISION_ALERT, ALERT_N_UNRESOLVED_5_DAYS), 1);
    const logged_t *l = find(pa, DECISION_ALERT, ALERT_N_UNRESOLVED_5_DAYS, 0);
    assert_on(l, "2025-09-15");
    cr_assert(strstr(l->d.reason, "1 session still coded N"), "%s", l->d.reason);
    cr_assert(strstr(l->d.reason, "2025-09-08 AM"), "%s", l->d.reason);
    cr_assert_eq(l->d.responsible, STAFF_OFFICE);
}

Test(policy_eval, illness_15_days_in_a_row_or_in_total)
{
    P.alerts.illness_days = 15;
    pupil_init(pa, D("2025-09-03"));
    pupil_init(pb, D("2025-09-03"));
    /* pa: ill from Mon 8 Sept; day 15 is Fri 26 Sept. */
    days(pa, D("2025-09-03"), D("2025-09-05"), "/", "\\");
    days(pa, D("2025-09-08"), D("2025-09-25"), "I", "I");
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_ILLNESS_15_DAYS), 0);
    days(pa, D("2025-09-26"), D("2025-10-10"), "I", "I");
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_ILLNESS_15_DAYS), 1);
    assert_on(find(pa, DECISION_REFERRAL, REFERRAL_ILLNESS_15_DAYS, 0), "2025-09-26");
    /* pb: ill every Monday and Friday; 30 sessions on the 15th such day. */
    int ill = 0;
    rc_date_t fifteenth = RC_DATE_NONE;
    for (rc_date_t d = D("2025-09-03"); d <= D("2025-12-19"); d++) {
        int wd = date_weekday(d);
        int is_ill = calendar_is_school_day(cal, d) && (wd == 1 || wd == 5);
        day(pb, d, is_ill ? "I" : "/", is_ill ? "I" : "\\");
        if (is_ill && ++ill == 15)
            fifteenth = d;
    }
    cr_assert_eq(count(pb, DECISION_REFERRAL, REFERRAL_ILLNESS_15_DAYS), 1, "once a year");
    cr_assert_eq(find(pb, DECISION_REFERRAL, REFERRAL_ILLNESS_15_DAYS, 0)->date, fifteenth);
}

Test(policy_eval, deletion_candidate_at_20_days_of_g_n_o)
{
    P.alerts.deletion_days = 20;
    P.alerts.deletion_codes = codes("G,N,O");
    P.alerts.social_worker = 1;
    pupil_init(pa, D("2026-01-05"));
    pa->flags = PUPIL_SOCIAL_WORKER;
    /* Mon 5 Jan: a week of G, a week of N, then O: day 20 is Fri 30 Jan. */
    days(pa, D("2026-01-05"), D("2026-01-09"), "G", "G");
    days(pa, D("2026-01-12"), D("2026-01-16"), "N", "N");
    days(pa, D("2026-01-19"), D("2026-01-29"), "O", "O");
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_DELETION_CANDIDATE), 0);
    day(pa, D("2026-01-30"), "O", "O");
    days(pa, D("2026-02-02"), D("2026-02-06"), "O", "O");
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_DELETION_CANDIDATE), 1);
    const logged_t *l = find(pa, DECISION_REFERRAL, REFERRAL_DELETION_CANDIDATE, 0);
    assert_on(l, "2026-01-30");
    cr_assert(strstr(l->d.reason, "nothing is deleted automatically"), "%s", l->d.reason);
    /* The social worker is told of the deletion candidate too. */
    size_t sw = 0;
    for (size_t i = 0; i < pa->nlog; i++)
        sw += pa->log[i].d.alert == ALERT_SOCIAL_WORKER_NOTIFY &&
              strstr(pa->log[i].d.reason, "deletion") != NULL;
    cr_assert_eq(sw, 1);
}

/* ---- the penalty threshold ---- */

static void penalty_policy(void)
{
    P.alerts.penalty = 1;
    P.alerts.penalty_codes = codes("G,O,U");
    P.alerts.penalty_weeks = 10;
    P.alerts.penalty_sessions = 10;
}

Test(policy_eval, penalty_at_10_sessions_not_9_across_a_holiday)
{
    penalty_policy();
    pupil_init(pa, D("2025-10-13"));
    /* 4 sessions of O before the October half term, 5 after: 9 in the window. */
    days(pa, D("2025-10-13"), D("2025-10-14"), "O", "O");
    days(pa, D("2025-11-03"), D("2025-11-04"), "O", "O");
    day(pa, D("2025-11-05"), "U", "/");
    day(pa, D("2025-11-06"), "/", "\\");
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_PENALTY_THRESHOLD), 0, "9 is not 10");
    /* N does not count for this policy (G, O, U only). */
    day(pa, D("2025-11-07"), "N", "\\");
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_PENALTY_THRESHOLD), 0);
    day(pa, D("2025-11-10"), "G", "/");
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_PENALTY_THRESHOLD), 1);
    const logged_t *l = find(pa, DECISION_REFERRAL, REFERRAL_PENALTY_THRESHOLD, 0);
    assert_on(l, "2025-11-10");
    cr_assert(strstr(l->d.reason, "10 sessions coded G, O, U in the last 10 school weeks"), "%s",
              l->d.reason);
    /* Ten school weeks back from 10 Nov, half term skipped: from the week of 1 Sept. */
    cr_assert(strstr(l->d.reason, "since 2025-09-01"), "%s", l->d.reason);
    /* Still over: not raised again. */
    day(pa, D("2025-11-11"), "O", "/");
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_PENALTY_THRESHOLD), 1);
}

Test(policy_eval, penalty_again_only_after_falling_below)
{
    penalty_policy();
    pupil_init(pa, D("2025-09-08"));
    days(pa, D("2025-09-08"), D("2025-09-12"), "O", "O"); /* 10 sessions */
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_PENALTY_THRESHOLD), 1);
    assert_on(find(pa, DECISION_REFERRAL, REFERRAL_PENALTY_THRESHOLD, 0), "2025-09-12");
    /* Ten school weeks later the week of 8 Sept leaves the window. */
    days(pa, D("2025-09-15"), D("2025-11-21"), "/", "\\");
    days(pa, D("2025-11-24"), D("2025-11-28"), "O", "O");
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_PENALTY_THRESHOLD), 2);
    assert_on(find(pa, DECISION_REFERRAL, REFERRAL_PENALTY_THRESHOLD, 1), "2025-11-28");
}

/* ---- percentages ---- */

Test(policy_eval, min_possible_sessions_holds_percentage_triggers_back)
{
    P.min_possible_sessions = 20;
    P.alerts.severe_absence = 1;
    policy_track_t *t = add_track("absence");
    policy_stage_t *s = add_stage(t, "stage_1", 40);
    below(&s->when, 90, 42);
    act(s->actions, &s->nactions, ACT_LETTER, "letter_1", 44);
    pupil_init(pa, D("2025-09-03"));
    /* Absent from the start: 0% but only 2, 4 ... 18 possible sessions. */
    days(pa, D("2025-09-03"), D("2025-09-15"), "O", "O");
    cr_assert_eq(count(pa, DECISION_STAGE_UP, 0), 0);
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_SEVERE_ABSENCE), 0);
    day(pa, D("2025-09-16"), "O", "O"); /* the 19th and 20th sessions */
    const logged_t *l = find(pa, DECISION_STAGE_UP, 0, 0);
    assert_on(l, "2025-09-16");
    cr_assert_eq(l->minute, 16 * 60);
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_SEVERE_ABSENCE), 1);
    days(pa, D("2025-09-17"), D("2025-09-30"), "O", "O");
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_SEVERE_ABSENCE), 1, "once a year");
}

Test(policy_eval, exactly_90_is_not_below_90)
{
    policy_track_t *t = add_track("absence");
    policy_stage_t *s = add_stage(t, "stage_1", 40);
    below(&s->when, 90, 42);
    P.min_possible_sessions = 40;
    pupil_init(pa, D("2025-09-03"));
    /* 45 of 50 present by Tue 7 Oct, never below 90% from the 40th session. */
    for (rc_date_t d = D("2025-09-03"); d <= D("2025-10-07"); d++) {
        int o = d == D("2025-09-10") || d == D("2025-09-17");
        day(pa, d, o ? "O" : "/", o || d == D("2025-10-07") ? "O" : "\\");
    }
    cr_assert_eq(pa->st.m.possible_sessions, 50);
    cr_assert_eq(pa->st.m.attended_sessions, 45);
    cr_assert_eq(count(pa, DECISION_STAGE_UP, 0), 0, "90.0%% is not below 90%%");
    day(pa, D("2025-10-08"), "O", "\\");
    const logged_t *l = find(pa, DECISION_STAGE_UP, 0, 0);
    assert_on(l, "2025-10-08");
    cr_assert_eq(l->minute, 570);
    cr_assert(strstr(l->d.reason, "attendance 88.2% is below 90% (line 42)"), "%s", l->d.reason);
    cr_assert(strstr(l->d.reason, "stage_1 of absence (line 40 of the policy)"), "%s", l->d.reason);
}

/* ---- the ladder ---- */

Test(policy_eval, entry_to_the_highest_matching_stage)
{
    policy_track_t *t = add_track("absence");
    policy_stage_t *s1 = add_stage(t, "stage_1", 40), *s2 = add_stage(t, "stage_2", 50),
                   *s3 = add_stage(t, "stage_3", 60);
    below(&s1->when, 95, 41);
    below(&s2->when, 90, 51);
    below(&s3->when, 85, 61);
    act(s1->actions, &s1->nactions, ACT_LETTER, "letter_1", 42);
    act(s3->actions, &s3->nactions, ACT_LETTER, "letter_3", 62);
    act(s3->actions, &s3->nactions, ACT_MEETING, "taf", 63);
    pupil_init(pa, D("2025-09-08"));
    /* 16 present, then 4 O in one go (amended in after a trip): 80%. */
    days(pa, D("2025-09-08"), D("2025-09-15"), "/", "\\");
    mark(pa, D("2025-09-16"), SESSION_AM, "O");
    mark(pa, D("2025-09-16"), SESSION_PM, "O");
    mark(pa, D("2025-09-17"), SESSION_AM, "O");
    mark(pa, D("2025-09-17"), SESSION_PM, "O");
    eval(pa, D("2025-09-17"), 16 * 60);
    cr_assert_eq(count(pa, DECISION_STAGE_UP, 0), 1, "one move, straight to the top");
    const logged_t *l = find(pa, DECISION_STAGE_UP, 0, 0);
    cr_assert_eq(l->d.stage_from, 0);
    cr_assert_eq(l->d.stage_to, 3);
    cr_assert_str_eq(l->d.stage_from_id, "");
    cr_assert_str_eq(l->d.stage_to_id, "stage_3");
    cr_assert_eq(l->d.nactions, 2);
    cr_assert_str_eq(l->d.actions[0].template_id, "letter_3");
    cr_assert_eq(l->d.actions[1].kind, ACT_MEETING);
    cr_assert_eq(pa->ps.tracks[0].stage, 3);
    cr_assert_str_eq(policy_eval_stage_id(&P, &pa->ps, 0), "stage_3");
    /* Never down by entry: better attendance does not move the pupil. */
    days(pa, D("2025-09-18"), D("2025-10-31"), "/", "\\");
    cr_assert_eq(pa->ps.tracks[0].stage, 3);
    cr_assert_eq(count(pa, DECISION_STAGE_DOWN, 0) + count(pa, DECISION_STAGE_EXIT, 0), 0);
}

/* ladder_policy: seed 004's shape. Stage 1 below 90% with four weeks'
 * monitoring (+1 per day of absence); stage 2 and 3 only by failed
 * reviews; stage 2 improved -> step down with an acknowledgement. */
static void ladder_policy(unsigned extend)
{
    policy_track_t *t = add_track("absence");
    policy_stage_t *s1 = add_stage(t, "stage_1", 40), *s2 = add_stage(t, "stage_2", 50),
                   *s3 = add_stage(t, "stage_3", 60);
    below(&s1->when, 90, 41);
    act(s1->actions, &s1->nactions, ACT_LETTER, "letter_1", 42);
    s1->monitor_weeks = 4;
    s1->extend_weeks_per_day = extend;
    s1->if_improved = REVIEW_EXIT;
    s1->if_not_improved = REVIEW_ESCALATE;
    act(s1->on_improved, &s1->non_improved, ACT_LETTER, "well_done", 43);
    s2->escalation_only = 1;
    act(s2->actions, &s2->nactions, ACT_LETTER, "letter_2", 52);
    act(s2->actions, &s2->nactions, ACT_MEETING, "isap", 53);
    s2->responsible = STAFF_HEAD_OF_YEAR;
    s2->monitor_weeks = 4;
    s2->if_improved = REVIEW_STEP_DOWN;
    s2->if_not_improved = REVIEW_ESCALATE;
    act(s2->on_improved, &s2->non_improved, ACT_LETTER, "acknowledgement", 54);
    s3->escalation_only = 1;
    act(s3->actions, &s3->nactions, ACT_LETTER, "letter_3", 62);
    act(s3->actions, &s3->nactions, ACT_REFERRAL, "ews", 63);
    s3->responsible = STAFF_EWO;
}

/* to_stage_1 puts pa on stage 1 on Wed 8 Oct 2025 (45 of 51: 88.2%). */
static void to_stage_1(void)
{
    pupil_init(pa, D("2025-09-03"));
    days(pa, D("2025-09-03"), D("2025-10-07"), "/", "\\");
    mark(pa, D("2025-09-10"), SESSION_AM, "O");
    mark(pa, D("2025-09-10"), SESSION_PM, "O");
    mark(pa, D("2025-09-17"), SESSION_AM, "O");
    mark(pa, D("2025-09-17"), SESSION_PM, "O");
    mark(pa, D("2025-09-24"), SESSION_AM, "O");
    eval(pa, D("2025-10-07"), 17 * 60);
    cr_assert_eq(count(pa, DECISION_STAGE_UP, 0), 0);
    day(pa, D("2025-10-08"), "O", "\\");
    cr_assert_eq(pa->ps.tracks[0].stage, 1);
}

Test(policy_eval, escalation_only_is_never_entered_by_conditions)
{
    ladder_policy(0);
    /* Give stage 2 a condition that holds: still escalation_only wins. */
    below(&P.tracks[0].stages[1].when, 99, 51);
    to_stage_1();
    const logged_t *l = find(pa, DECISION_STAGE_UP, 0, 0);
    assert_on(l, "2025-10-08");
    cr_assert_eq(l->d.stage_to, 1);
    days(pa, D("2025-10-09"), D("2025-11-11"), "O", "\\");
    cr_assert_eq(count(pa, DECISION_STAGE_UP, 0), 1, "no entry to stage 2 before the review");
}

Test(policy_eval, review_date_in_school_weeks_skips_the_half_term)
{
    ladder_policy(0);
    to_stage_1();
    const logged_t *l = find(pa, DECISION_STAGE_UP, 0, 0);
    char db[RC_DATE_STRLEN];
    /* Wed 8 Oct + 4 school weeks: 13, 20 Oct, (27 Oct half term), 3, 10 Nov. */
    cr_assert_str_eq(date_format(l->d.review_date, db), "2025-11-12");
    cr_assert(strstr(l->d.reason, "review on 2025-11-12"), "%s", l->d.reason);
    cr_assert_eq(l->d.responsible, STAFF_ATTENDANCE_OFFICER);
    cr_assert_eq(l->d.nactions, 1);
    cr_assert_str_eq(l->d.actions[0].template_id, "letter_1");
}

Test(policy_eval, review_date_extended_per_day_of_absence)
{
    ladder_policy(1);
    to_stage_1();
    char db[RC_DATE_STRLEN];
    cr_assert_str_eq(date_format(pa->ps.tracks[0].review_date, db), "2025-11-12");
    day(pa, D("2025-10-09"), "N", "N"); /* one whole day */
    day(pa, D("2025-10-10"), "/", "\\");
    cr_assert_eq(pa->ps.tracks[0].absence_days, 1);
    cr_assert_str_eq(date_format(pa->ps.tracks[0].review_date, db), "2025-11-19");
    day(pa, D("2025-10-13"), "I", "/"); /* two half days make a day */
    day(pa, D("2025-10-14"), "/", "I");
    day(pa, D("2025-10-15"), "/", "\\");
    cr_assert_eq(pa->ps.tracks[0].absence_days, 2);
    cr_assert_str_eq(date_format(pa->ps.tracks[0].review_date, db), "2025-11-26");
    /* No review before the extended date. */
    days(pa, D("2025-10-16"), D("2025-11-25"), "/", "\\");
    cr_assert_eq(
        count(pa, DECISION_REVIEW_IMPROVED, 0) + count(pa, DECISION_REVIEW_NOT_IMPROVED, 0), 0);
    day(pa, D("2025-11-26"), "/", "\\");
    const logged_t *l = find(pa, DECISION_REVIEW_IMPROVED, 0, 0);
    assert_on(l, "2025-11-26");
    cr_assert(strstr(l->d.reason, "+1 per day of absence: 2 days"), "%s", l->d.reason);
}

Test(policy_eval, not_improved_escalates_improved_steps_down_with_acknowledgement)
{
    ladder_policy(0);
    to_stage_1();
    /* Four more weeks with an absence a week: worse than 88.2% -> stage 2. */
    for (rc_date_t d = D("2025-10-09"); d <= D("2025-11-11"); d++)
        day(pa, d, date_weekday(d) == 3 ? "O" : "/", date_weekday(d) == 3 ? "O" : "\\");
    day(pa, D("2025-11-12"), "/", "\\");
    const logged_t *r = find(pa, DECISION_REVIEW_NOT_IMPROVED, 0, 0);
    assert_on(r, "2025-11-12");
    cr_assert_eq(r->minute, 8 * 60, "held at the first evaluation of the review date");
    cr_assert_eq(r->d.nactions, 0);
    cr_assert(strstr(r->d.reason, "not improved: escalate"), "%s", r->d.reason);
    const logged_t *up = find(pa, DECISION_STAGE_UP, 0, 1);
    assert_on(up, "2025-11-12");
    cr_assert_eq(up->d.stage_from, 1);
    cr_assert_eq(up->d.stage_to, 2);
    cr_assert_eq(up->d.responsible, STAFF_HEAD_OF_YEAR);
    cr_assert_str_eq(up->d.actions[0].template_id, "letter_2");
    cr_assert_eq(up->d.actions[1].kind, ACT_MEETING);
    char db[RC_DATE_STRLEN];
    /* 12 Nov + 4 school weeks = 10 Dec. */
    cr_assert_str_eq(date_format(up->d.review_date, db), "2025-12-10");

    /* Full attendance to the review: above the entry figure and 90% again. */
    days(pa, D("2025-11-13"), D("2025-12-10"), "/", "\\");
    const logged_t *ok = find(pa, DECISION_REVIEW_IMPROVED, 0, 0);
    assert_on(ok, "2025-12-10");
    cr_assert_eq(ok->d.nactions, 1);
    cr_assert_str_eq(ok->d.actions[0].template_id, "acknowledgement");
    cr_assert(strstr(ok->d.reason, "improved: step down"), "%s", ok->d.reason);
    const logged_t *down = find(pa, DECISION_STAGE_DOWN, 0, 0);
    assert_on(down, "2025-12-10");
    cr_assert_eq(down->d.stage_from, 2);
    cr_assert_eq(down->d.stage_to, 1);
    cr_assert_eq(down->d.nactions, 0, "stepping down sends no stage letters");
    cr_assert_eq(pa->ps.tracks[0].stage, 1);
    cr_assert_gt(pa->st.m.attended_sessions * 10, pa->st.m.possible_sessions * 9);
}

Test(policy_eval, failed_reviews_climb_to_a_stage_referral)
{
    ladder_policy(0);
    to_stage_1();
    days(pa, D("2025-10-09"), D("2026-01-30"), "O", "\\");
    cr_assert_eq(pa->ps.tracks[0].stage, 3);
    const logged_t *up = find(pa, DECISION_STAGE_UP, 0, 2);
    assert_on(up, "2025-12-10");
    cr_assert_eq(up->d.stage_to, 3);
    cr_assert_eq(up->d.review_date, RC_DATE_NONE, "stage 3 is not monitored");
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_STAGE), 1);
    const logged_t *ref = find(pa, DECISION_REFERRAL, REFERRAL_STAGE, 0);
    assert_on(ref, "2025-12-10");
    cr_assert_str_eq(ref->d.track_id, "absence");
    cr_assert_str_eq(ref->d.stage_to_id, "stage_3");
    cr_assert_eq(ref->d.responsible, STAFF_EWO);
}

Test(policy_eval, improved_at_stage_1_leaves_the_ladder)
{
    ladder_policy(0);
    to_stage_1();
    days(pa, D("2025-10-09"), D("2025-11-12"), "/", "\\");
    const logged_t *ok = find(pa, DECISION_REVIEW_IMPROVED, 0, 0);
    assert_on(ok, "2025-11-12");
    cr_assert_str_eq(ok->d.actions[0].template_id, "well_done");
    assert_on(find(pa, DECISION_STAGE_EXIT, 0, 0), "2025-11-12");
    cr_assert_eq(pa->ps.tracks[0].stage, 0);
    cr_assert_eq(pa->ps.tracks[0].review_date, RC_DATE_NONE);
}

Test(policy_eval, default_improvement_needs_the_threshold_cleared_too)
{
    ladder_policy(0);
    to_stage_1();
    /* Better than at entry (88.2%) but still below 90% (80 of 90): not improved. */
    for (rc_date_t d = D("2025-10-09"); d <= D("2025-11-11"); d++) {
        int o = d == D("2025-10-09") || d == D("2025-10-16");
        day(pa, d, o ? "O" : "/", o ? "O" : "\\");
    }
    day(pa, D("2025-11-12"), "/", "\\");
    cr_assert_lt(pa->st.m.attended_sessions * 10, pa->st.m.possible_sessions * 9);
    const logged_t *r = find(pa, DECISION_REVIEW_NOT_IMPROVED, 0, 0);
    assert_on(r, "2025-11-12");
    cr_assert(strstr(r->d.reason, "still attendance"), "%s", r->d.reason);
}

Test(policy_eval, a_review_waits_for_a_new_school_year_to_have_sessions)
{
    ladder_policy(0);
    P.min_possible_sessions = 20;
    policy_stage_t *s1 = &P.tracks[0].stages[0];
    s1->monitor_weeks = 1;
    pupil_init(pa, D("2026-07-01"));
    days(pa, D("2026-07-01"), D("2026-07-14"), "/", "\\");
    days(pa, D("2026-07-15"), D("2026-07-16"), "O", "O"); /* 20/24: stage 1 on 16 Jul */
    assert_on(find(pa, DECISION_STAGE_UP, 0, 0), "2026-07-16");
    /* One school week on is Thursday 23 Jul, after term: the next school day
     * is Wednesday 2 Sept, when the new year has no sessions yet. */
    char db[RC_DATE_STRLEN];
    cr_assert_str_eq(date_format(pa->ps.tracks[0].review_date, db), "2026-09-02");
    days(pa, D("2026-07-17"), D("2026-09-30"), "/", "\\");
    cr_assert_eq(count(pa, DECISION_REVIEW_NOT_IMPROVED, 0), 0);
    const logged_t *ok = find(pa, DECISION_REVIEW_IMPROVED, 0, 0);
    cr_assert_not_null(ok);
    cr_assert(strstr(ok->d.reason, "attendance 100.0%"), "%s", ok->d.reason);
    assert_on(ok, "2026-09-15");
    cr_assert_eq(ok->minute, 16 * 60, "the 20th session of the year is Tuesday 15 Sept's PM");
}

Test(policy_eval, explicit_improved_condition_and_stay)
{
    policy_track_t *t = add_track("absence");
    policy_stage_t *s1 = add_stage(t, "concern", 40);
    below(&s1->when, 90, 41);
    s1->monitor_weeks = 2;
    s1->if_improved = REVIEW_STAY;
    s1->if_not_improved = REVIEW_STAY;
    cond_atom_t *a = atom(&s1->improved, COND_ATTENDANCE_AT_LEAST, 45);
    a->value = 85;
    act(s1->on_improved, &s1->non_improved, ACT_LETTER, "ack", 46);
    to_stage_1();
    days(pa, D("2025-10-09"), D("2025-10-22"), "/", "\\");
    const logged_t *ok = find(pa, DECISION_REVIEW_IMPROVED, 0, 0);
    assert_on(ok, "2025-10-22");
    cr_assert(strstr(ok->d.reason, "is at least 85% (line 45)"), "%s", ok->d.reason);
    char db[RC_DATE_STRLEN];
    /* Stays and monitors again: 22 Oct + 2 school weeks (half term skipped). */
    cr_assert_str_eq(date_format(ok->d.review_date, db), "2025-11-12");
    cr_assert_eq(pa->ps.tracks[0].stage, 1);
    cr_assert_eq(count(pa, DECISION_STAGE_DOWN, 0) + count(pa, DECISION_STAGE_EXIT, 0), 0);
}

Test(policy_eval, declining_and_facts)
{
    policy_track_t *t = add_track("absence");
    policy_stage_t *s1 = add_stage(t, "stage_1", 40), *s2 = add_stage(t, "stage_2", 50),
                   *s3 = add_stage(t, "stage_5", 60);
    below(&s1->when, 95, 41);
    below(&s2->when, 94, 51);
    atom(&s2->when, COND_DECLINING, 52);
    atom(&s3->when, COND_FACT, 61)->fact = FACT_SAFEGUARDING_CONCERN;
    act(s3->actions, &s3->nactions, ACT_DSL, "", 62);
    pupil_init(pa, D("2025-09-08"));
    days(pa, D("2025-09-08"), D("2025-09-17"), "/", "\\");
    day(pa, D("2025-09-18"), "O", "\\"); /* 16/17 at 09:30: 94.1%, stage 1, not declining */
    cr_assert_eq(pa->ps.tracks[0].stage, 1);
    cr_assert_eq(count(pa, DECISION_STAGE_UP, 0), 1);
    day(pa, D("2025-09-19"), "/", "\\");
    day(pa, D("2025-09-22"), "O", "\\"); /* 19/21: below 94 and lower than at entry */
    cr_assert_eq(pa->ps.tracks[0].stage, 2);
    const logged_t *l = find(pa, DECISION_STAGE_UP, 0, 1);
    assert_on(l, "2025-09-22");
    cr_assert(strstr(l->d.reason, "is lower than 94.1% on 2025-09-18 (line 52)"), "%s",
              l->d.reason);
    /* A fact dated before stage 2 was entered does not count. */
    pa->facts[pa->nfacts++] = (eval_fact_t){FACT_SAFEGUARDING_CONCERN, D("2025-09-19"), ""};
    day(pa, D("2025-09-23"), "/", "\\");
    cr_assert_eq(pa->ps.tracks[0].stage, 2);
    pa->facts[pa->nfacts++] = (eval_fact_t){FACT_SAFEGUARDING_CONCERN, D("2025-09-24"), ""};
    day(pa, D("2025-09-24"), "/", "\\");
    cr_assert_eq(pa->ps.tracks[0].stage, 3);
    l = find(pa, DECISION_STAGE_UP, 0, 2);
    cr_assert(strstr(l->d.reason, "staff recorded safeguarding_concern on 2025-09-24"), "%s",
              l->d.reason);
    cr_assert_eq(l->d.actions[0].kind, ACT_DSL);
}

Test(policy_eval, lateness_track_counts_this_week_beside_absence)
{
    policy_track_t *abs = add_track("absence");
    below(&add_stage(abs, "stage_1", 40)->when, 90, 41);
    policy_track_t *late = add_track("lateness");
    policy_stage_t *l1 = add_stage(late, "lateness_concern", 70),
                   *l2 = add_stage(late, "significant_lateness", 80);
    cond_atom_t *a = atom(&l1->when, COND_COUNT_AT_LEAST, 71);
    a->codes = codes("L,U");
    a->period = PERIOD_THIS_WEEK;
    a->n = 1;
    a = atom(&l2->when, COND_COUNT_AT_LEAST, 81);
    a->codes = codes("L,U");
    a->period = PERIOD_THIS_WEEK;
    a->n = 3;
    act(l1->actions, &l1->nactions, ACT_LETTER, "lateness_warning", 72);
    P.min_possible_sessions = 20; /* U is an absence: keep the absence track quiet */
    pupil_init(pa, D("2025-09-08"));
    day(pa, D("2025-09-08"), "L", "\\");
    cr_assert_eq(pa->ps.tracks[1].stage, 1);
    cr_assert_eq(pa->ps.tracks[0].stage, 0);
    day(pa, D("2025-09-09"), "/", "\\");
    day(pa, D("2025-09-10"), "L", "\\");
    cr_assert_eq(pa->ps.tracks[1].stage, 1, "2 in a week");
    day(pa, D("2025-09-11"), "U", "\\");
    cr_assert_eq(pa->ps.tracks[1].stage, 2, "3 in a week");
    const logged_t *l = find(pa, DECISION_STAGE_UP, 0, 1);
    assert_on(l, "2025-09-11");
    cr_assert_str_eq(l->d.track_id, "lateness");
    cr_assert(strstr(l->d.reason, "3 sessions coded L, U this week, 3 or more (line 81)"), "%s",
              l->d.reason);
}

/* ---- monitoring in half terms ---- */

/* half_term_policy: one stage, entered at the first O of the school year,
 * monitored n half terms (+extend weeks per further day of absence); it
 * stays at every review, so each review starts the next period. */
static policy_stage_t *half_term_policy(unsigned n, unsigned extend)
{
    policy_stage_t *s = add_stage(add_track("absence"), "watch", 40);
    cond_atom_t *a = atom(&s->when, COND_COUNT_AT_LEAST, 41);
    a->codes = codes("O");
    a->period = PERIOD_YEAR;
    a->n = 1;
    s->monitor_half_terms = n;
    s->extend_weeks_per_day = extend;
    s->if_improved = REVIEW_STAY;
    s->if_not_improved = REVIEW_STAY;
    return s;
}

/* nth_review returns the n-th (0-based) review held, improved or not. */
static const logged_t *nth_review(const pupil_t *p, size_t nth)
{
    for (size_t i = 0; i < p->nlog; i++) {
        decision_kind_t k = p->log[i].d.kind;
        if ((k == DECISION_REVIEW_IMPROVED || k == DECISION_REVIEW_NOT_IMPROVED) && nth-- == 0)
            return &p->log[i];
    }
    return NULL;
}

static size_t reviews(const pupil_t *p)
{
    return count(p, DECISION_REVIEW_IMPROVED, 0) + count(p, DECISION_REVIEW_NOT_IMPROVED, 0);
}

/* enter_on walks p present from the start of term and marks the first O on d. */
static void enter_on(pupil_t *p, rc_date_t start, rc_date_t d)
{
    pupil_init(p, start);
    days(p, start, d - 1, "/", "\\");
    day(p, d, "O", "\\");
    cr_assert_eq(p->ps.tracks[0].stage, 1);
    assert_on(find(p, DECISION_STAGE_UP, 0, 0), date_format(d, (char[RC_DATE_STRLEN]){0}));
}

Test(policy_eval, half_terms_review_on_the_first_day_after_the_october_break)
{
    half_term_policy(1, 0);
    /* Wed 8 Oct is in the half term that began 3 Sept; the October break is
     * 27-31 Oct, so the next half term begins Monday 3 Nov. */
    enter_on(pa, D("2025-09-03"), D("2025-10-08"));
    const logged_t *up = find(pa, DECISION_STAGE_UP, 0, 0);
    char db[RC_DATE_STRLEN];
    cr_assert_str_eq(date_format(up->d.review_date, db), "2025-11-03");
    cr_assert(strstr(up->d.reason, "review on 2025-11-03"), "%s", up->d.reason);
    days(pa, D("2025-10-09"), D("2025-11-02"), "/", "\\");
    cr_assert_eq(reviews(pa), 0, "no review before the half term's first day");
    day(pa, D("2025-11-03"), "/", "\\");
    const logged_t *r = nth_review(pa, 0);
    assert_on(r, "2025-11-03");
    cr_assert_eq(r->minute, 8 * 60, "held at the first evaluation of the day");
    cr_assert(strstr(r->d.reason, "due 2025-11-03 (1 half term from 2025-10-08)"), "%s",
              r->d.reason);
    /* Stays: monitored again from 3 Nov, a half term's first day, to the
     * first day after Christmas (autumn ends Fri 19 Dec, spring begins 5 Jan). */
    cr_assert_str_eq(date_format(r->d.review_date, db), "2026-01-05");
    days(pa, D("2025-11-04"), D("2026-01-05"), "/", "\\");
    cr_assert_eq(reviews(pa), 2);
    assert_on(nth_review(pa, 1), "2026-01-05");
}

Test(policy_eval, half_terms_two_skip_the_next_half_term)
{
    half_term_policy(2, 0);
    enter_on(pa, D("2025-09-03"), D("2025-10-08"));
    char db[RC_DATE_STRLEN];
    /* The half term after 3 Nov's: across the October break and Christmas. */
    cr_assert_str_eq(date_format(pa->ps.tracks[0].review_date, db), "2026-01-05");
    days(pa, D("2025-10-09"), D("2026-01-05"), "/", "\\");
    cr_assert_eq(reviews(pa), 1);
    const logged_t *r = nth_review(pa, 0);
    assert_on(r, "2026-01-05");
    cr_assert(strstr(r->d.reason, "(2 half terms from 2025-10-08)"), "%s", r->d.reason);
}

Test(policy_eval, half_terms_from_a_half_terms_first_day_watch_all_of_it)
{
    half_term_policy(1, 0);
    /* Entered on 3 Nov itself: the half term it began in is 3 Nov's. */
    enter_on(pa, D("2025-09-03"), D("2025-11-03"));
    char db[RC_DATE_STRLEN];
    cr_assert_str_eq(date_format(pa->ps.tracks[0].review_date, db), "2026-01-05");
    /* Entered on the last day before the break: reviewed the first day back. */
    enter_on(pb, D("2025-09-03"), D("2025-10-24"));
    cr_assert_str_eq(date_format(pb->ps.tracks[0].review_date, db), "2025-11-03");
}

Test(policy_eval, half_terms_follow_the_calendar_through_the_year)
{
    half_term_policy(1, 0);
    enter_on(pa, D("2025-09-03"), D("2025-10-08"));
    days(pa, D("2025-10-09"), D("2026-12-18"), "/", "\\");
    /* Each break of three or more closed weekdays ends a half term: not the
     * 4 May bank holiday, the INSET Friday 26 Jun nor the PM closure of
     * 27 Mar. A review in the summer holiday waits for the new year's
     * first school day (and its first session: 09:30). */
    static const char *const want[] = {"2025-11-03", "2026-01-05", "2026-02-23", "2026-04-13",
                                       "2026-06-01", "2026-09-02", "2026-11-02"};
    size_t n = sizeof want / sizeof *want;
    cr_assert_eq(reviews(pa), n, "%zu reviews", reviews(pa));
    char db[RC_DATE_STRLEN];
    for (size_t i = 0; i < n; i++) {
        const logged_t *r = nth_review(pa, i);
        assert_on(r, want[i]);
        if (i + 1 < n)
            cr_assert_str_eq(date_format(r->d.review_date, db), want[i + 1], "review %zu", i);
    }
    cr_assert_eq(nth_review(pa, 5)->minute, 9 * 60 + 30);
    /* The calendar ends with the half term that began 2 Nov 2026: no later
     * half term, so no review date, as past its end in school weeks. */
    cr_assert_eq(nth_review(pa, n - 1)->d.review_date, RC_DATE_NONE);
    cr_assert_eq(pa->ps.tracks[0].review_date, RC_DATE_NONE);
    cr_assert_eq(pa->ps.tracks[0].stage, 1, "still monitored, with no date to review on");
}

Test(policy_eval, half_terms_no_review_date_past_the_calendars_end)
{
    half_term_policy(1, 1);
    enter_on(pa, D("2026-09-02"), D("2026-11-10"));
    const logged_t *up = find(pa, DECISION_STAGE_UP, 0, 0);
    cr_assert_eq(up->d.review_date, RC_DATE_NONE);
    cr_assert_null(strstr(up->d.reason, "review on"), "%s", up->d.reason);
    day(pa, D("2026-11-11"), "N", "N"); /* an extension does not make a date either */
    days(pa, D("2026-11-12"), D("2026-12-31"), "/", "\\");
    cr_assert_eq(pa->ps.tracks[0].review_date, RC_DATE_NONE);
    cr_assert_eq(reviews(pa), 0);
}

Test(policy_eval, half_terms_extended_in_weeks_per_day_of_absence)
{
    half_term_policy(1, 1);
    enter_on(pa, D("2025-09-03"), D("2025-10-08"));
    char db[RC_DATE_STRLEN];
    cr_assert_str_eq(date_format(pa->ps.tracks[0].review_date, db), "2025-11-03");
    day(pa, D("2025-10-09"), "N", "N"); /* a whole day: a school week after 3 Nov */
    day(pa, D("2025-10-10"), "/", "\\");
    cr_assert_eq(pa->ps.tracks[0].absence_days, 1);
    cr_assert_str_eq(date_format(pa->ps.tracks[0].review_date, db), "2025-11-10");
    day(pa, D("2025-10-13"), "I", "/"); /* two half days make a day */
    day(pa, D("2025-10-14"), "/", "I");
    day(pa, D("2025-10-15"), "/", "\\");
    cr_assert_eq(pa->ps.tracks[0].absence_days, 2);
    cr_assert_str_eq(date_format(pa->ps.tracks[0].review_date, db), "2025-11-17");
    days(pa, D("2025-10-16"), D("2025-11-16"), "/", "\\");
    cr_assert_eq(reviews(pa), 0);
    day(pa, D("2025-11-17"), "/", "\\");
    const logged_t *r = nth_review(pa, 0);
    assert_on(r, "2025-11-17");
    cr_assert(strstr(r->d.reason, "(1 half term from 2025-10-08, +1 per day of absence: 2 days)"),
              "%s", r->d.reason);
    /* Monitored again from 17 Nov: to 5 Jan, no absence since. */
    cr_assert_str_eq(date_format(r->d.review_date, db), "2026-01-05");
}

Test(policy_eval, half_terms_begun_in_a_holiday_count_from_the_half_term_after_it)
{
    /* A stage entered on what staff record: here during the October break. */
    policy_stage_t *s = add_stage(add_track("absence"), "panel", 40);
    atom(&s->when, COND_FACT, 41)->fact = FACT_MEETING_MISSED;
    s->monitor_half_terms = 1;
    pupil_init(pa, D("2025-09-03"));
    days(pa, D("2025-09-03"), D("2025-10-24"), "/", "\\");
    pa->facts[pa->nfacts++] = (eval_fact_t){.kind = FACT_MEETING_MISSED, .date = D("2025-10-29")};
    eval(pa, D("2025-10-29"), 12 * 60);
    assert_on(find(pa, DECISION_STAGE_UP, 0, 0), "2025-10-29");
    char db[RC_DATE_STRLEN];
    /* Nothing can be watched before 3 Nov, whose half term is the one
     * monitored: reviewed when the next begins, after Christmas. */
    cr_assert_str_eq(date_format(pa->ps.tracks[0].review_date, db), "2026-01-05");

    /* The same on a weekend in term: Saturday 11 Oct is 13 Oct's half term. */
    pupil_init(pb, D("2025-09-03"));
    days(pb, D("2025-09-03"), D("2025-10-10"), "/", "\\");
    pb->facts[pb->nfacts++] = (eval_fact_t){.kind = FACT_MEETING_MISSED, .date = D("2025-10-11")};
    eval(pb, D("2025-10-11"), 12 * 60);
    cr_assert_str_eq(date_format(pb->ps.tracks[0].review_date, db), "2025-11-03");
}

/* ---- inputs, reasons, events, determinism ---- */

Test(policy_eval, bad_inputs_are_refused)
{
    add_stage(add_track("absence"), "s1", 1);
    pupil_init(pa, D("2025-09-08"));
    eval_result_t *res = malloc(sizeof *res);
    eval_input_t in = {.policy = &P, .cal = cal, .st = &pa->st, .today = D("2025-09-09")};
    cr_assert_eq(policy_eval(&in, &pa->ps, res), RC_EINVAL, "st->today differs");
    in.today = D("2025-09-08");
    in.minute = 1440;
    cr_assert_eq(policy_eval(&in, &pa->ps, res), RC_EINVAL);
    in.minute = 0;
    pa->ps.tracks[0].stage = 2;
    cr_assert_eq(policy_eval(&in, &pa->ps, res), RC_EINVAL, "no stage 2");
    pa->ps.tracks[0].stage = 1;
    cr_assert_eq(policy_eval(&in, &pa->ps, res), RC_OK);
    in.nfacts = 1;
    cr_assert_eq(policy_eval(&in, &pa->ps, res), RC_EINVAL);
    cr_assert_str_eq(policy_eval_stage_id(&P, &pa->ps, 0), "s1");
    cr_assert_str_eq(policy_eval_stage_id(&P, &pa->ps, 3), "");
    cr_assert_str_eq(decision_kind_name(DECISION_REVIEW_IMPROVED), "review_improved");
    cr_assert_str_eq(decision_kind_name((decision_kind_t)99), "unknown");
    free(res);
}

/* utf8_ok checks s is well-formed UTF-8. */
static int utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : *p >= 0xF0 ? 3 : *p >= 0xE0 ? 2 : *p >= 0xC0 ? 1 : -1;
        if (n < 0)
            return 0;
        p++;
        for (int i = 0; i < n; i++, p++)
            if ((*p & 0xC0) != 0x80)
                return 0;
    }
    return 1;
}

Test(policy_eval, long_titles_are_cut_on_a_character_boundary)
{
    policy_track_t *t = add_track("absence");
    policy_stage_t *s = add_stage(t, "stage_1", 40);
    below(&s->when, 90, 41);
    /* 66 three-byte dashes and two more bytes: 200 bytes of title. */
    size_t at = 0;
    while (at + 3 <= 198)
        at += (size_t)snprintf(s->title + at, sizeof s->title - at, "\xE2\x80\x93");
    snprintf(s->title + at, sizeof s->title - at, "ok");
    s->when.any_of = 1;
    for (int i = 0; i < 6; i++) {
        cond_atom_t *a = atom(&s->when, COND_COUNT_AT_LEAST, 43);
        a->codes = codes("/,\\,L,K,V,P,W,B,C,I,M");
        a->n = 1;
    }
    pupil_init(pa, D("2025-09-08"));
    day(pa, D("2025-09-08"), "/", "\\");
    const logged_t *l = find(pa, DECISION_STAGE_UP, 0, 0);
    cr_assert_not_null(l);
    size_t n = strlen(l->d.reason);
    cr_assert_leq(n, EVAL_REASON_MAX);
    cr_assert(utf8_ok(l->d.reason));
    cr_assert_str_eq(l->d.reason + n - 3, "...");
}

Test(policy_eval, decisions_become_valid_wire_events)
{
    first_day_policy();
    P.alerts.cme_days = 10;
    P.alerts.home_visit_days[0] = 2;
    P.alerts.nhome_visit_days = 1;
    P.alerts.n_unresolved_days = 5;
    ladder_policy(0);
    to_stage_1();
    days(pa, D("2025-10-09"), D("2026-01-30"), "N", "N");
    size_t events = 0, reviews = 0;
    for (size_t i = 0; i < pa->nlog; i++) {
        wire_msg_t msg;
        codec_msg_init(&msg, WIRE_PUPIL_EVENT);
        snprintf(msg.event_id, sizeof msg.event_id, "e%zu", i);
        snprintf(msg.urn, sizeof msg.urn, "100001");
        rc_err_t err = policy_eval_event(&pa->log[i].d, pa->log[i].date, &pa->st.m, &msg.u.event);
        cr_assert_eq(err, RC_OK);
        snprintf(msg.u.event.la_code, sizeof msg.u.event.la_code, "123");
        snprintf(msg.u.event.upn, sizeof msg.u.event.upn, "B801200005001");
        char why[CODEC_WHY_MAX];
        cr_assert_eq(codec_validate(&msg, why), RC_OK, "%s: %s", why, pa->log[i].d.reason);
        if (msg.u.event.kind == EVENT_REVIEW)
            reviews++;
        events++;
    }
    cr_assert_gt(events, 5);
    cr_assert_gt(reviews, 0);
    cr_assert_eq(reviews, count(pa, DECISION_REVIEW_IMPROVED, 0) +
                              count(pa, DECISION_REVIEW_NOT_IMPROVED, 0));
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_CME), 1);
    cr_assert_eq(count(pa, DECISION_REFERRAL, REFERRAL_STAGE), 1);
}

/* review_event maps logged decision l to a wire event and checks it validates. */
static pupil_event_t review_event(const logged_t *l)
{
    wire_msg_t msg;
    codec_msg_init(&msg, WIRE_PUPIL_EVENT);
    snprintf(msg.event_id, sizeof msg.event_id, "review-1");
    snprintf(msg.urn, sizeof msg.urn, "100001");
    cr_assert_not_null(l);
    cr_assert_eq(policy_eval_event(&l->d, l->date, &pa->st.m, &msg.u.event), RC_OK);
    snprintf(msg.u.event.la_code, sizeof msg.u.event.la_code, "123");
    snprintf(msg.u.event.upn, sizeof msg.u.event.upn, "B801200005001");
    char why[CODEC_WHY_MAX];
    cr_assert_eq(codec_validate(&msg, why), RC_OK, "%s: %s", why, l->d.reason);
    return msg.u.event;
}

Test(policy_eval, reviews_become_review_events_beside_their_moves)
{
    ladder_policy(0);
    to_stage_1();
    for (rc_date_t d = D("2025-10-09"); d <= D("2025-11-11"); d++)
        day(pa, d, date_weekday(d) == 3 ? "O" : "/", date_weekday(d) == 3 ? "O" : "\\");
    days(pa, D("2025-11-12"), D("2025-12-10"), "/", "\\");
    char db[RC_DATE_STRLEN];

    /* Not improved at stage 1: a review with no actions of its own; the
     * escalation decided there is a stage change of its own. */
    const logged_t *r = find(pa, DECISION_REVIEW_NOT_IMPROVED, 0, 0);
    pupil_event_t e = review_event(r);
    cr_assert_eq(e.kind, EVENT_REVIEW);
    cr_assert_eq(e.improved, 0);
    cr_assert_str_eq(e.track, "absence");
    cr_assert_str_eq(e.stage_from, "stage_1");
    cr_assert_str_eq(e.stage_to, "stage_1");
    cr_assert_eq(e.alert, ALERT_NONE);
    cr_assert_eq(e.referral, REFERRAL_NONE);
    cr_assert_eq(e.date, D("2025-11-12"));
    cr_assert_eq(e.actions.n_templates, 0);
    cr_assert_eq(e.actions.meeting | e.actions.referral | e.actions.dsl, 0);
    cr_assert_eq(e.responsible, STAFF_ATTENDANCE_OFFICER);
    cr_assert_str_eq(date_format(e.review_date, db), "2025-12-10", "stage 2's review");
    cr_assert_str_eq(e.reason, r->d.reason);
    pupil_event_t up = review_event(find(pa, DECISION_STAGE_UP, 0, 1));
    cr_assert_eq(up.kind, EVENT_STAGE_CHANGE);
    cr_assert_eq(up.improved, 0);
    cr_assert_str_eq(up.stage_from, "stage_1");
    cr_assert_str_eq(up.stage_to, "stage_2");

    /* Improved at stage 2: the acknowledgement travels on the review; the
     * step down beside it carries no letters. */
    const logged_t *ok = find(pa, DECISION_REVIEW_IMPROVED, 0, 0);
    e = review_event(ok);
    cr_assert_eq(e.kind, EVENT_REVIEW);
    cr_assert_eq(e.improved, 1);
    cr_assert_str_eq(e.track, "absence");
    cr_assert_str_eq(e.stage_from, "stage_2");
    cr_assert_str_eq(e.stage_to, "stage_2");
    cr_assert_eq(e.date, D("2025-12-10"));
    cr_assert_eq(e.actions.n_templates, 1);
    cr_assert_str_eq(e.actions.templates[0], "acknowledgement");
    cr_assert_eq(e.actions.meeting, 0);
    cr_assert_eq(e.responsible, STAFF_HEAD_OF_YEAR);
    cr_assert_eq(e.review_date, ok->d.review_date);
    cr_assert_geq(e.review_date, e.date);
    cr_assert(strstr(e.reason, "improved: step down"), "%s", e.reason);
    pupil_event_t down = review_event(find(pa, DECISION_STAGE_DOWN, 0, 0));
    cr_assert_eq(down.kind, EVENT_STAGE_CHANGE);
    cr_assert_eq(down.improved, 0);
    cr_assert_str_eq(down.stage_from, "stage_2");
    cr_assert_str_eq(down.stage_to, "stage_1");
    cr_assert_eq(down.actions.n_templates, 0);
}

Test(policy_eval, improved_and_stay_sends_the_acknowledgement_on_a_review_event)
{
    /* Seed 004's "improved -> acknowledgement letter, stay". */
    policy_track_t *t = add_track("absence");
    policy_stage_t *s1 = add_stage(t, "concern", 40);
    below(&s1->when, 90, 41);
    s1->monitor_weeks = 2;
    s1->if_improved = REVIEW_STAY;
    s1->if_not_improved = REVIEW_STAY;
    act(s1->on_improved, &s1->non_improved, ACT_LETTER, "ack", 46);
    act(s1->on_improved, &s1->non_improved, ACT_MEETING, "", 47);
    to_stage_1();
    days(pa, D("2025-10-09"), D("2025-10-22"), "/", "\\");
    const logged_t *ok = find(pa, DECISION_REVIEW_IMPROVED, 0, 0);
    assert_on(ok, "2025-10-22");
    pupil_event_t e = review_event(ok);
    cr_assert_eq(e.kind, EVENT_REVIEW);
    cr_assert_eq(e.improved, 1);
    cr_assert_str_eq(e.stage_from, "concern");
    cr_assert_str_eq(e.stage_to, "concern");
    cr_assert_eq(e.actions.n_templates, 1);
    cr_assert_str_eq(e.actions.templates[0], "ack");
    cr_assert_eq(e.actions.meeting, 1);
    char db[RC_DATE_STRLEN];
    cr_assert_str_eq(date_format(e.review_date, db), "2025-11-12");
    cr_assert_eq(count(pa, DECISION_STAGE_DOWN, 0) + count(pa, DECISION_STAGE_EXIT, 0) +
                     count(pa, DECISION_STAGE_UP, 0),
                 1, "only the entry: the review moves no one");
}

Test(policy_eval, decisions_without_a_wire_kind_are_refused)
{
    eval_decision_t d;
    memset(&d, 0, sizeof d);
    pupil_event_t e;
    metrics_t m = {0};
    d.kind = DECISION_NONE;
    cr_assert_eq(policy_eval_event(&d, D("2025-10-01"), &m, &e), RC_ENOTFOUND);
    cr_assert_eq(e.kind, EVENT_NONE);
    d.kind = DECISION__COUNT;
    cr_assert_eq(policy_eval_event(&d, D("2025-10-01"), &m, &e), RC_ENOTFOUND);
}

/* walk gives a pupil a term of mixed marks under every rule at once. */
static void walk(pupil_t *p)
{
    first_day_policy();
    P.alerts.social_worker = 1;
    P.alerts.home_visit_days[0] = 2;
    P.alerts.home_visit_days[1] = 4;
    P.alerts.nhome_visit_days = 2;
    P.alerts.cme_days = 10;
    P.alerts.n_unresolved_days = 5;
    P.alerts.illness_days = 15;
    P.alerts.deletion_days = 20;
    P.alerts.deletion_codes = codes("G,N,O");
    P.alerts.severe_absence = 1;
    penalty_policy();
    P.min_possible_sessions = 10;
    if (!P.ntracks)
        ladder_policy(1);
    pupil_init(p, D("2025-09-03"));
    p->flags = PUPIL_SOCIAL_WORKER;
    static const char *const am[] = {"/", "N", "L", "I", "O", "/", "U", "G", "N", "/", "M"};
    static const char *const pm[] = {"\\", "N", "\\", "I", "\\", "O", "\\", "G", "N", "/", "B"};
    unsigned k = 7;
    for (rc_date_t d = D("2025-09-03"); d <= D("2026-03-27"); d++) {
        k = k * 1103515245u + 12345u; /* a fixed sequence, the same every run */
        unsigned i = (k >> 16) % 11;
        day(p, d, am[i], pm[i]);
    }
}

Test(policy_eval, deterministic_byte_for_byte)
{
    walk(pa);
    walk(pb);
    cr_assert_gt(pa->nlog, 50);
    cr_assert_eq(pa->nlog, pb->nlog);
    cr_assert_eq(memcmp(pa->log, pb->log, pa->nlog * sizeof *pa->log), 0);
    cr_assert_eq(memcmp(&pa->ps, &pb->ps, sizeof pa->ps), 0);
    /* Evaluating again at the same moment adds nothing. */
    size_t n = pa->nlog;
    eval(pa, D("2026-03-27"), 16 * 60);
    eval(pa, D("2026-03-27"), 16 * 60);
    cr_assert_eq(pa->nlog, n);
}

Test(policy_eval, fact_detail_must_match)
{
    policy_track_t *t = add_track("absence");
    add_stage(t, "stage_1", 40);
    below(&t->stages[0].when, 90, 41);
    policy_stage_t *s = add_stage(t, "stage_3", 60);
    cond_atom_t *a = atom(&s->when, COND_FACT, 61);
    a->fact = FACT_MEETING_MISSED;
    a->n = 10; /* within ten days */
    snprintf(a->detail, sizeof a->detail, "stage_2");
    pupil_init(pa, D("2025-09-08"));
    pa->facts[pa->nfacts++] = (eval_fact_t){FACT_MEETING_MISSED, D("2025-09-08"), "stage_1"};
    day(pa, D("2025-09-08"), "/", "\\");
    cr_assert_eq(pa->ps.tracks[0].stage, 0, "another stage's meeting");
    pa->facts[pa->nfacts++] = (eval_fact_t){FACT_MEETING_MISSED, D("2025-09-09"), "stage_2"};
    day(pa, D("2025-09-09"), "/", "\\");
    cr_assert_eq(pa->ps.tracks[0].stage, 2);
    cr_assert(strstr(pa->log[0].d.reason, "staff recorded meeting_missed stage_2 on 2025-09-09"),
              "%s", pa->log[0].d.reason);
}

Test(policy_eval, old_facts_are_out_of_reach)
{
    policy_track_t *t = add_track("absence");
    policy_stage_t *s = add_stage(t, "stage_5", 60);
    cond_atom_t *a = atom(&s->when, COND_FACT, 61);
    a->fact = FACT_PARENT_DID_NOT_ENGAGE;
    a->n = 10;
    pupil_init(pa, D("2025-09-22"));
    pa->facts[pa->nfacts++] = (eval_fact_t){FACT_PARENT_DID_NOT_ENGAGE, D("2025-09-08"), ""};
    day(pa, D("2025-09-22"), "/", "\\");
    cr_assert_eq(pa->ps.tracks[0].stage, 0, "14 days ago is not within 10");
}
