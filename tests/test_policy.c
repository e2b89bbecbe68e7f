/* test_policy.c - the seed policies load and match their documents; bad files are refused. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/policy.h"

#define POLICIES_DIR ROLLCALL_SOURCE_DIR "/policies/"
#define FIXTURES_DIR ROLLCALL_SOURCE_DIR "/tests/policies/"

/* seed loads policies/<name>.yaml, failing the test with the loader's
 * message when it does not load; the caller destroys the policy. */
static policy_t *seed(const char *name)
{
    char path[512], err[POLICY_ERR_MAX] = "";
    policy_t *p = NULL;
    snprintf(path, sizeof path, POLICIES_DIR "%s.yaml", name);
    rc_err_t rc = policy_load_file(path, &p, err);
    cr_assert_eq(rc, RC_OK, "%s did not load (%d): %s", path, rc, err);
    cr_assert_not_null(p);
    cr_assert_str_eq(p->name, name, "the policy's name should match its file name");
    return p;
}

/* load reads yaml from a string; *err receives the message. */
static rc_err_t load(const char *yaml, policy_t **p, char err[POLICY_ERR_MAX])
{
    return policy_load(yaml, strlen(yaml), "inline.yaml", p, err);
}

/* ok loads yaml that must load; the caller destroys the policy. */
static policy_t *ok(const char *yaml)
{
    char err[POLICY_ERR_MAX] = "";
    policy_t *p = NULL;
    rc_err_t rc = load(yaml, &p, err);
    cr_assert_eq(rc, RC_OK, "refused (%d): %s\n---\n%s", rc, err, yaml);
    return p;
}

/* refused checks that yaml is refused with rc, at line, with a message
 * holding needle. */
static void refused(const char *yaml, rc_err_t want, unsigned line, const char *needle)
{
    char err[POLICY_ERR_MAX] = "", prefix[64];
    policy_t *p = NULL;
    rc_err_t rc = load(yaml, &p, err);
    cr_assert_eq(rc, want, "wanted %d, got %d (%s)\n---\n%s", want, rc, err, yaml);
    cr_assert_null(p, "a refused policy must not be returned");
    snprintf(prefix, sizeof prefix, "inline.yaml:%u:", line);
    cr_assert(strncmp(err, prefix, strlen(prefix)) == 0, "wanted \"%s...\", got \"%s\"", prefix,
              err);
    cr_assert(strstr(err, needle) != NULL, "message \"%s\" lacks \"%s\"", err, needle);
}

/* fixture checks that tests/policies/<name>.yaml is refused at line with a
 * message holding needle. */
static void fixture(const char *name, rc_err_t want, unsigned line, const char *needle)
{
    char path[512], err[POLICY_ERR_MAX] = "", prefix[600];
    policy_t *p = NULL;
    snprintf(path, sizeof path, FIXTURES_DIR "%s.yaml", name);
    rc_err_t rc = policy_load_file(path, &p, err);
    cr_assert_eq(rc, want, "%s: wanted %d, got %d (%s)", name, want, rc, err);
    cr_assert_null(p);
    snprintf(prefix, sizeof prefix, "%s:%u:", path, line);
    cr_assert(strncmp(err, prefix, strlen(prefix)) == 0, "wanted \"%s...\", got \"%s\"", prefix,
              err);
    cr_assert(strstr(err, needle) != NULL, "message \"%s\" lacks \"%s\"", err, needle);
}

static const policy_stage_t *stage(const policy_t *p, const char *track, const char *id)
{
    const policy_track_t *t = policy_track(p, track);
    cr_assert_not_null(t, "no track %s", track);
    for (size_t i = 0; i < t->nstages; i++)
        if (strcmp(t->stages[i].id, id) == 0)
            return &t->stages[i];
    cr_assert_fail("no stage %s in track %s", id, track);
    return NULL;
}

static size_t stage_index(const policy_t *p, const char *track, const char *id)
{
    const policy_track_t *t = policy_track(p, track);
    return (size_t)(stage(p, track, id) - t->stages);
}

/* has_action is true when the stage asks for an action of kind with id
 * (any id when id is NULL). */
static int has_action(const policy_action_t *a, size_t n, action_kind_t kind, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].kind == kind && (!id || strcmp(a[i].template_id, id) == 0))
            return 1;
    return 0;
}

static void assert_action(const policy_stage_t *s, action_kind_t kind, const char *id)
{
    cr_assert(has_action(s->actions, s->nactions, kind, id), "stage %s lacks action %d %s", s->id,
              kind, id ? id : "");
}

static code_set_t codes(const char *list)
{
    code_set_t set = 0;
    cr_assert_eq(code_set_parse(list, strlen(list), &set, NULL), RC_OK);
    return set;
}

static void assert_pct_atom(const cond_atom_t *a, cond_kind_t kind, double value)
{
    cr_assert_eq(a->kind, kind, "atom on line %u is kind %d, wanted %d", a->line, a->kind, kind);
    cr_assert_float_eq(a->value, value, 1e-9);
}

/* ---- the five seed policies ---- */

Test(policy, seed_000_flowchart)
{
    policy_t *p = seed("000_flowchart");
    cr_assert_float_eq(p->target_pct, 95.0, 1e-9);
    /* Step 1: "first-day absence call ... by 9:30am". */
    cr_assert(p->alerts.first_day);
    cr_assert_eq(p->alerts.first_day_minute, 9 * 60 + 30);
    /* "no contact ... by the 10th day of absence" */
    cr_assert_eq(p->alerts.cme_days, 10);
    /* "(G, O and/or U coded ...)" within "a rolling 10 school week period" */
    cr_assert(p->alerts.penalty);
    cr_assert_eq(p->alerts.penalty_codes, codes("G,O,U"));
    cr_assert_eq(p->alerts.penalty_weeks, 10);
    cr_assert_eq(p->alerts.penalty_sessions, 10);
    cr_assert(p->alerts.severe_absence);
    cr_assert_eq(p->alerts.nhome_visit_days, 0, "the document gives no home-visit days");

    const policy_track_t *t = policy_track(p, "absence");
    cr_assert_not_null(t);
    cr_assert_eq(t->nstages, 4);
    const policy_stage_t *s2 = &t->stages[0];
    cr_assert_str_eq(s2->id, "step_2_continuing_absence");
    cr_assert_eq(s2->when.atoms[0].kind, COND_CONSECUTIVE_DAYS);
    cr_assert_eq(s2->when.atoms[0].n, 2, "\"absent beyond one day\"");
    cr_assert_eq(s2->monitor_weeks, 2, "\"monitoring period (e.g., two weeks)\"");

    const policy_stage_t *s3 = stage(p, "absence", "step_3_taf");
    assert_pct_atom(&s3->when.atoms[0], COND_ATTENDANCE_BELOW, 95.0);
    assert_action(s3, ACT_MEETING, "taf");
    assert_action(s3, ACT_LETTER, "formal_attendance_letter");
    cr_assert_eq(s3->responsible, STAFF_ATTENDANCE_OFFICER);
    assert_pct_atom(&s3->improved.atoms[0], COND_ATTENDANCE_AT_LEAST, 95.0);
    cr_assert(has_action(s3->on_improved, s3->non_improved, ACT_LETTER, "acknowledgement"));
    cr_assert_eq(s3->if_improved, REVIEW_EXIT);
    cr_assert_eq(s3->if_not_improved, REVIEW_ESCALATE);

    const policy_stage_t *s4 = stage(p, "absence", "step_4_legal_warning");
    cr_assert(s4->escalation_only);
    assert_action(s4, ACT_LETTER, "warning_of_legal_intervention");
    assert_action(s4, ACT_DSL, NULL);

    const policy_stage_t *s5 = stage(p, "absence", "step_5_legal_intervention");
    cr_assert(s5->when.any_of);
    cr_assert_eq(s5->when.n, 2);
    cr_assert_eq(s5->when.atoms[0].kind, COND_PERSISTENT);
    cr_assert_eq(s5->when.atoms[1].kind, COND_SEVERE);
    assert_action(s5, ACT_REFERRAL, NULL);
    cr_assert_eq(s5->monitor_weeks, 4, "\"convene meetings every 4-6 weeks\"");

    cr_assert_not_null(policy_track(p, "lateness"), "an Absence / Lateness flowchart");
    policy_destroy(&p);
}

Test(policy, seed_001_letters_a_to_e)
{
    policy_t *p = seed("001_attendance_process");
    const char *ladder[] = {"stage_1_letter_a", "stage_1_letter_b", "stage_2_letter_c",
                            "stage_3_letter_d", "stage_3_pace"};
    const char *letters[] = {"letter_a", "letter_b", "letter_c", "letter_d",
                             "advisory_letter_pace"};
    const policy_track_t *t = policy_track(p, "absence");
    cr_assert_not_null(t);
    cr_assert_eq(t->nstages, 5);
    for (size_t i = 0; i < 5; i++) {
        cr_assert_str_eq(t->stages[i].id, ladder[i]);
        assert_action(&t->stages[i], ACT_LETTER, letters[i]);
        /* Every stage after Letter A follows "Attendance improved? NO". */
        cr_assert_eq(t->stages[i].escalation_only, i > 0, "%s", ladder[i]);
        if (i < 4) {
            cr_assert_eq(t->stages[i].if_improved, REVIEW_EXIT, "\"YES -> No further action\"");
            cr_assert_eq(t->stages[i].if_not_improved, REVIEW_ESCALATE);
        }
    }
    /* "falls below School Attendance Target": `target`, resolved at load. */
    cr_assert_float_eq(p->target_pct, 95.0, 1e-9);
    assert_pct_atom(&t->stages[0].when.atoms[0], COND_ATTENDANCE_BELOW, p->target_pct);
    assert_action(&t->stages[1], ACT_EARLY_HELP, NULL); /* EHAC */
    cr_assert_eq(t->stages[3].responsible, STAFF_EWO, "\"LAAO send Letter D\"");
    assert_action(&t->stages[3], ACT_REFERRAL, NULL);

    /* Letter E: only when parents miss the Letter D meeting. */
    const policy_stage_t *e = stage(p, "attendance_contract", "letter_e");
    assert_action(e, ACT_LETTER, "letter_e");
    cr_assert_eq(e->when.atoms[0].kind, COND_FACT);
    cr_assert_eq(e->when.atoms[0].fact, FACT_MEETING_MISSED);
    cr_assert_str_eq(e->when.atoms[0].detail, "stage_3_letter_d");

    /* "must be sent to both parents": the first-day message is on. */
    cr_assert(p->alerts.first_day);
    cr_assert(p->alerts.social_worker);
    /* The national threshold (`penalty_threshold: true`). */
    cr_assert_eq(p->alerts.penalty_codes, CODE_SET_UNAUTHORISED);
    cr_assert_eq(p->alerts.penalty_weeks, 10);
    cr_assert_eq(p->alerts.cme_days, 10);
    cr_assert_eq(p->alerts.illness_days, 15);
    cr_assert_eq(p->alerts.n_unresolved_days, 5);
    cr_assert_eq(p->alerts.deletion_days, 20);
    policy_destroy(&p);
}

Test(policy, seed_002_lowther_two_flowcharts)
{
    policy_t *p = seed("002_lowther");
    cr_assert_eq(p->ntracks, 2);
    cr_assert_str_eq(p->tracks[0].id, "absence");
    cr_assert_str_eq(p->tracks[1].id, "lateness");

    /* RAG bands 96 / 94 / 90. */
    const char *names[] = {"green", "upper_amber", "lower_amber", "red"};
    const double from[] = {96, 94, 90, 0};
    cr_assert_eq(p->nbands, 4);
    for (size_t i = 0; i < 4; i++) {
        cr_assert_str_eq(p->bands[i].name, names[i]);
        cr_assert_float_eq(p->bands[i].min_pct, from[i], 1e-9);
        cr_assert_not(p->bands[i].above);
    }

    const policy_stage_t *upper = stage(p, "absence", "upper_amber");
    const policy_stage_t *lower = stage(p, "absence", "lower_amber");
    assert_pct_atom(&upper->when.atoms[0], COND_ATTENDANCE_BELOW, 96);
    assert_pct_atom(&lower->when.atoms[0], COND_ATTENDANCE_BELOW, 94);
    /* "Attendance is monitored half termly": reviews when a half term begins. */
    cr_assert_eq(upper->monitor_half_terms, 1);
    cr_assert_eq(lower->monitor_half_terms, 1);
    const policy_stage_t *red = stage(p, "absence", "red");
    assert_pct_atom(&red->when.atoms[0], COND_ATTENDANCE_BELOW, 90);
    /* "further monitoring will take place over the next half term": to its end. */
    cr_assert_eq(red->monitor_half_terms, 2);
    cr_assert_eq(red->if_not_improved, REVIEW_ESCALATE);
    const policy_stage_t *panel = stage(p, "absence", "attendance_panel");
    cr_assert(panel->escalation_only);
    assert_action(panel, ACT_MEETING, "attendance_panel");
    cr_assert_eq(panel->monitor_half_terms, 1, "\"monitor for a further half term\"");
    for (size_t i = 0; i < policy_track(p, "absence")->nstages; i++)
        cr_assert_eq(policy_track(p, "absence")->stages[i].monitor_weeks, 0,
                     "Flowchart 1 speaks in half terms only");
    cr_assert_eq(stage(p, "lateness", "lateness_concern")->monitor_weeks, 1,
                 "\"Lateness is monitored on a weekly basis\"");
    assert_action(stage(p, "absence", "la_referral"), ACT_REFERRAL,
                  "la_access_and_inclusion_officer");

    /* Flowchart 2: "1 or 2 late arrivals in a week", "3 or 4". */
    const policy_stage_t *l1 = stage(p, "lateness", "lateness_concern");
    const policy_stage_t *l2 = stage(p, "lateness", "significant_lateness");
    cr_assert_eq(l1->when.atoms[0].kind, COND_COUNT_AT_LEAST);
    cr_assert_eq(l1->when.atoms[0].period, PERIOD_THIS_WEEK);
    cr_assert_eq(l1->when.atoms[0].n, 1);
    cr_assert_eq(l1->when.atoms[0].codes, codes("L U"));
    cr_assert_eq(l2->when.atoms[0].period, PERIOD_THIS_WEEK);
    cr_assert_eq(l2->when.atoms[0].n, 3);
    cr_assert(stage(p, "lateness", "lateness_panel")->escalation_only);

    /* 5.1: "20 days continuous unauthorised absence" */
    cr_assert_eq(p->alerts.deletion_days, 20);
    cr_assert_eq(p->alerts.deletion_codes, codes("G N O"));
    policy_destroy(&p);
}

Test(policy, seed_003_escalation_plan)
{
    policy_t *p = seed("003_escalation_plan");
    const policy_track_t *t = policy_track(p, "absence");
    cr_assert_not_null(t);
    /* Stage 1: "Attendance falls below 95%" */
    cr_assert_str_eq(t->stages[0].id, "stage_1");
    assert_pct_atom(&t->stages[0].when.atoms[0], COND_ATTENDANCE_BELOW, 95.0);
    cr_assert_eq(t->stages[0].responsible, STAFF_CLASS_TEACHER);

    /* Stage 2: "92-93% and showing a declining pattern" -> below 94, declining, all of. */
    const policy_stage_t *s2 = stage(p, "absence", "stage_2");
    cr_assert_not(s2->when.any_of);
    cr_assert_eq(s2->when.n, 2);
    assert_pct_atom(&s2->when.atoms[0], COND_ATTENDANCE_BELOW, 94.0);
    cr_assert_eq(s2->when.atoms[1].kind, COND_DECLINING);
    cr_assert_eq(s2->monitor_weeks, 1, "\"Monitor attendance weekly\"");

    /* Stage 3: "below 90%" or non-engagement or a term-time holiday. */
    const policy_stage_t *s3 = stage(p, "absence", "stage_3");
    cr_assert(s3->when.any_of);
    assert_pct_atom(&s3->when.atoms[0], COND_ATTENDANCE_BELOW, 90.0);
    cr_assert_eq(s3->when.atoms[1].fact, FACT_PARENT_DID_NOT_ENGAGE);
    cr_assert_eq(s3->when.atoms[2].codes, codes("G"));
    cr_assert_eq(s3->monitor_weeks, 4, "\"typically 4-6 weeks\"");
    cr_assert_eq(s3->if_not_improved, REVIEW_ESCALATE);
    assert_action(s3, ACT_LETTER, "notice_to_improve");

    const policy_stage_t *s4 = stage(p, "absence", "stage_4");
    assert_action(s4, ACT_REFERRAL, "school_liaison_officer");
    cr_assert_eq(stage_index(p, "absence", "stage_4"), 3);

    const policy_stage_t *s5 = stage(p, "child_protection", "stage_5");
    cr_assert_eq(s5->when.atoms[0].fact, FACT_SAFEGUARDING_CONCERN);
    assert_action(s5, ACT_DSL, NULL);
    cr_assert_eq(s5->responsible, STAFF_DSL);

    /* "10 or more sessions of unauthorised absence within a 10-week period" */
    cr_assert_eq(p->alerts.penalty_codes, CODE_SET_UNAUTHORISED);
    cr_assert_eq(p->alerts.penalty_weeks, 10);
    cr_assert_eq(p->alerts.penalty_sessions, 10);
    policy_destroy(&p);
}

Test(policy, seed_004_hcat)
{
    policy_t *p = seed("004_hcat");
    cr_assert_float_eq(p->target_pct, 97.0, 1e-9);
    /* "10 sessions (5 days) ... ("O" code, U code or "G" code) within a 12-week period" */
    cr_assert(p->alerts.penalty);
    cr_assert_eq(p->alerts.penalty_weeks, 12);
    cr_assert_eq(p->alerts.penalty_sessions, 10);
    cr_assert_eq(p->alerts.penalty_codes, codes("G,O,U"));
    cr_assert_eq(p->alerts.penalty_codes & CODE_BIT(CODE_N), 0);
    /* "a home visit on day 2 and 4"; "After 10 days' absence without contact" */
    cr_assert_eq(p->alerts.nhome_visit_days, 2);
    cr_assert_eq(p->alerts.home_visit_days[0], 2);
    cr_assert_eq(p->alerts.home_visit_days[1], 4);
    cr_assert_eq(p->alerts.cme_days, 10);
    cr_assert_eq(p->alerts.first_day_minute, 9 * 60 + 30);
    cr_assert_str_eq(p->alerts.first_day_template, "first_day_absence");
    cr_assert(p->alerts.social_worker);

    /* Green "over 97%" / amber "90% and 96.9%" / red "90% or below". */
    cr_assert_eq(p->nbands, 3);
    cr_assert_float_eq(p->bands[0].min_pct, 97.0, 1e-9);
    cr_assert(p->bands[1].above);
    cr_assert_float_eq(p->bands[1].min_pct, 90.0, 1e-9);

    const policy_track_t *t = policy_track(p, "absence");
    cr_assert_eq(t->nstages, 4);
    assert_pct_atom(&t->stages[0].when.atoms[0], COND_ATTENDANCE_BELOW, 95.0);
    const policy_stage_t *s1 = stage(p, "absence", "stage_1");
    /* "90% or below" taken over "falls below 90%" */
    assert_pct_atom(&s1->when.atoms[0], COND_ATTENDANCE_AT_MOST, 90.0);
    assert_action(s1, ACT_LETTER, "letter_1");
    cr_assert_eq(s1->monitor_weeks, 4, "\"monitored for 4 weeks\"");
    cr_assert_eq(s1->extend_weeks_per_day, 1, "\"one more week per day of additional absence\"");
    cr_assert_eq(s1->if_not_improved, REVIEW_ESCALATE);
    const policy_stage_t *s2 = stage(p, "absence", "stage_2");
    cr_assert(s2->escalation_only);
    assert_action(s2, ACT_MEETING, "isap");
    assert_action(s2, ACT_LETTER, "letter_2");
    const policy_stage_t *s3 = stage(p, "absence", "stage_3");
    assert_action(s3, ACT_REFERRAL, "education_welfare_service");
    assert_action(s3, ACT_LETTER, "letter_3");

    /* "Three late marks in a half term"; "5 U coded sessions (within a half term)"; "10 U
     * coded sessions within a 12 week period" */
    const policy_stage_t *letter = stage(p, "lateness", "late_marks_letter");
    const cond_atom_t *a = &letter->when.atoms[0];
    cr_assert_eq(a->period, PERIOD_HALF_TERM);
    cr_assert_eq(a->n, 3);
    cr_assert_eq(letter->monitor_half_terms, 1, "looked at again when the next half term begins");
    cr_assert_eq(letter->monitor_weeks, 0);
    const policy_stage_t *warning = stage(p, "late_after_close", "u_warning");
    a = &warning->when.atoms[0];
    cr_assert_eq(a->codes, codes("U"));
    cr_assert_eq(a->n, 5);
    cr_assert_eq(warning->monitor_half_terms, 1, "\"within a half term\"");
    /* The "agreed" monitoring period after the meeting stays in weeks. */
    cr_assert_eq(stage(p, "lateness", "lateness_meeting")->monitor_weeks, 4);
    a = &stage(p, "late_after_close", "persistent_lateness")->when.atoms[0];
    cr_assert_eq(a->period, PERIOD_SCHOOL_WEEKS);
    cr_assert_eq(a->weeks, 12);
    cr_assert_eq(a->n, 10);
    policy_destroy(&p);
}

/* Every stage of every seed is reachable and names who acts (the loader
 * checks reachability; this checks the files use it as meant). */
Test(policy, seeds_are_complete)
{
    const char *names[] = {"000_flowchart", "001_attendance_process", "002_lowther",
                           "003_escalation_plan", "004_hcat"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        policy_t *p = seed(names[i]);
        cr_assert(p->title[0] != '\0', "%s has no title", names[i]);
        cr_assert(strstr(p->source, "seeds/") != NULL, "%s does not name its seed", names[i]);
        cr_assert_not_null(policy_track(p, "absence"), "%s has no absence track", names[i]);
        cr_assert_eq(p->bands[p->nbands - 1].min_pct, 0.0);
        cr_assert_eq(p->min_possible_sessions, 20);
        for (size_t t = 0; t < p->ntracks; t++)
            for (size_t s = 0; s < p->tracks[t].nstages; s++) {
                const policy_stage_t *st = &p->tracks[t].stages[s];
                cr_assert_neq(st->responsible, STAFF_NONE, "%s %s names nobody", names[i], st->id);
                cr_assert(st->escalation_only || st->when.n > 0, "%s %s", names[i], st->id);
                cr_assert(st->line > 0);
            }
        cr_assert(p->alerts.first_day && p->alerts.cme_days == 10 && p->alerts.penalty &&
                      p->alerts.severe_absence,
                  "%s lacks a national alert", names[i]);
        policy_destroy(&p);
        cr_assert_null(p);
    }
}

/* ---- malformed fixtures (tests/policies/) ---- */

Test(policy, fixture_unknown_key_suggests)
{
    fixture("unknown_key", RC_EINVAL, 12, "unknown key \"monitr\" in stage \"stage_1\"");
    fixture("unknown_key", RC_EINVAL, 12, "did you mean \"monitor\"?");
}

Test(policy, fixture_bad_code)
{
    fixture("bad_code", RC_EINVAL, 8, "\"Q9\" is not a DfE attendance code");
}

Test(policy, fixture_bands)
{
    fixture("bands_order", RC_EINVAL, 5, "bands must be listed highest first");
    fixture("bands_no_zero", RC_EINVAL, 6, "must be `from: 0`");
}

Test(policy, fixture_duplicate_stage_id)
{
    fixture("duplicate_stage", RC_EINVAL, 11, "stage id \"letter\" is used twice");
    fixture("duplicate_key", RC_EINVAL, 11, "`responsible` is written twice");
}

Test(policy, fixture_bad_time)
{
    fixture("bad_time", RC_EINVAL, 7, "HH:MM");
}

Test(policy, fixture_wrong_type)
{
    fixture("wrong_type", RC_EINVAL, 11, "`weeks` should be a single value, not a list");
    fixture("bad_weeks", RC_EINVAL, 10, "whole number from 1 to 52, not \"4.5\"");
    fixture("weeks_range", RC_EINVAL, 10, "must be from 1 to 52, not 60");
    fixture("bad_percent", RC_EINVAL, 9, "percentage from 0 to 100, not 105");
    fixture("monitor_weeks_and_half_terms", RC_EINVAL, 12, "has both `weeks:` and `half_terms:`");
}

Test(policy, fixture_yaml_errors_from_libyaml)
{
    fixture("tab_indent", RC_EPARSE, 9, "indented with a tab");
    fixture("bad_indent", RC_EPARSE, 10, "indented exactly like the lines above");
    fixture("alias", RC_EINVAL, 10, "anchors (&name) are not used");
}

Test(policy, fixture_empty_and_not_a_mapping)
{
    fixture("empty", RC_EINVAL, 1, "the file is empty");
    fixture("only_comments", RC_EINVAL, 1, "the file is empty");
    fixture("not_mapping", RC_EINVAL, 2, "holds a list");
}

Test(policy, fixture_ladder_rules)
{
    fixture("escalation_first", RC_EINVAL, 9, "first stage of a track cannot be");
    fixture("review_without_monitor", RC_EINVAL, 10, "has a `review:` but no `monitor:`");
    fixture("unreachable", RC_EINVAL, 12, "never escalates");
    fixture("escalate_last", RC_EINVAL, 13, "nothing to escalate to");
    fixture("no_when", RC_EINVAL, 8, "needs a `when:`");
    fixture("empty_track", RC_EINVAL, 7, "has no stages");
}

Test(policy, fixture_names)
{
    fixture("bad_role", RC_EINVAL, 10, "did you mean \"attendance_officer\"?");
    fixture("bad_fact", RC_EINVAL, 12, "did you mean \"meeting_missed\"?");
    fixture("target_missing", RC_EINVAL, 9, "needs the policy's `target:`");
    fixture("letter_no_template", RC_EINVAL, 11, "a letter needs its template");
}

/* ---- the schema, inline ---- */

#define HEAD        "policy: t\nbands: [{name: all, from: 0}]\n"
#define STAGE(when) HEAD "tracks:\n  absence:\n    - id: s\n      when: " when "\n"

Test(policy, conditions_all_any_and_plain)
{
    policy_t *p = ok(STAGE("{attendance_below: 94, declining: true}"));
    const policy_cond_t *w = &p->tracks[0].stages[0].when;
    cr_assert_eq(w->n, 2);
    cr_assert_not(w->any_of);
    cr_assert_eq(w->atoms[0].line, 6);
    policy_destroy(&p);

    p = ok(STAGE("{all: [{attendance_below: 94}, {declining: true}]}"));
    cr_assert_eq(p->tracks[0].stages[0].when.n, 2);
    cr_assert_not(p->tracks[0].stages[0].when.any_of);
    policy_destroy(&p);

    p = ok(STAGE("\n        any:\n          - attendance_at_most: 90\n"
                 "          - severe_absentee: true\n"
                 "          - consecutive_unexplained_days: 3\n"
                 "          - staff_recorded: {fact: contract_broken, within_days: 14}\n"
                 "          - count: {codes: \"G, O\", last_school_weeks: 6, at_least: 4}\n"));
    const policy_cond_t *a = &p->tracks[0].stages[0].when;
    cr_assert(a->any_of);
    cr_assert_eq(a->n, 5);
    cr_assert_eq(a->atoms[0].kind, COND_ATTENDANCE_AT_MOST);
    cr_assert_eq(a->atoms[0].line, 8);
    cr_assert_eq(a->atoms[1].kind, COND_SEVERE);
    cr_assert_eq(a->atoms[2].n, 3);
    cr_assert_eq(a->atoms[3].fact, FACT_CONTRACT_BROKEN);
    cr_assert_eq(a->atoms[3].n, 14);
    cr_assert_str_eq(a->atoms[3].detail, "");
    cr_assert_eq(a->atoms[4].codes, codes("G O"));
    cr_assert_eq(a->atoms[4].period, PERIOD_SCHOOL_WEEKS);
    cr_assert_eq(a->atoms[4].weeks, 6);
    cr_assert_eq(a->atoms[4].n, 4);
    policy_destroy(&p);

    p = ok(STAGE("{count: {codes: [\"#\", /, \\], in: since_stage_entry, at_least: 2}}"));
    cr_assert_eq(p->tracks[0].stages[0].when.atoms[0].codes,
                 CODE_BIT(CODE_HASH) | CODE_BIT(CODE_PRESENT_AM) | CODE_BIT(CODE_PRESENT_PM));
    cr_assert_eq(p->tracks[0].stages[0].when.atoms[0].period, PERIOD_SINCE_ENTRY);
    policy_destroy(&p);
}

Test(policy, conditions_refused)
{
    refused(STAGE("{}"), RC_EINVAL, 6, "is empty");
    refused(STAGE("{any: [{attendance_below: 90}], declining: true}"), RC_EINVAL, 6,
            "`any:` or `all:` and other conditions");
    refused(STAGE("{any: [{any: [{declining: true}]}]}"), RC_EINVAL, 6, "cannot be put inside");
    refused(STAGE("{any: [{attendance_below: 90, declining: true}]}"), RC_EINVAL, 6,
            "each item of `any` is one condition");
    refused(STAGE("{any: []}"), RC_EINVAL, 6, "empty list");
    refused(STAGE("{declining: false}"), RC_EINVAL, 6, "means nothing here");
    refused(STAGE("{attendence_below: 90}"), RC_EINVAL, 6, "did you mean \"attendance_below\"?");
    refused(STAGE("{count: {codes: [L], at_least: 3}}"), RC_EINVAL, 6, "exactly one of `in:`");
    refused(STAGE("{count: {codes: [L], in: this_week, last_school_weeks: 2, at_least: 3}}"),
            RC_EINVAL, 6, "exactly one of `in:`");
    refused(STAGE("{count: {codes: [L], in: this_wek, at_least: 3}}"), RC_EINVAL, 6,
            "did you mean \"this_week\"?");
    refused(STAGE("{count: {codes: [], in: this_week, at_least: 3}}"), RC_EINVAL, 6,
            "names no codes");
    refused(STAGE("{count: {codes: [u], in: this_week, at_least: 3}}"), RC_EINVAL, 6,
            "codes are capitals: \"U\"");
    refused(STAGE("{count: {codes: [L], in: this_week, at_least: 0}}"), RC_EINVAL, 6,
            "from 1 to 1000");
    refused(STAGE("{count: {codes: [L], in: this_week}}"), RC_EINVAL, 6, "needs `at_least:`");
    refused(STAGE("{staff_recorded: {detail: stage_2}}"), RC_EINVAL, 6, "needs `fact:`");
    refused(STAGE("{attendance_below: 95%}"), RC_EINVAL, 6, "without the % sign");
    refused(STAGE("{attendance_below: 95.125}"), RC_EINVAL, 6, "more than two decimal places");
    refused(STAGE("{attendance_below: -5}"), RC_EINVAL, 6, "percentage from 0 to 100");
    refused(STAGE("{attendance_below: nan}"), RC_EINVAL, 6, "percentage from 0 to 100");
    refused(STAGE("{attendance_below: 0x50}"), RC_EINVAL, 6, "percentage from 0 to 100");
    refused(STAGE("{attendance_below: 1e2}"), RC_EINVAL, 6, "percentage from 0 to 100");
    refused(STAGE("{consecutive_unexplained_days: 201}"), RC_EINVAL, 6, "from 1 to 200");
    refused(STAGE("{consecutive_unexplained_days: 99999999999999999999}"), RC_EINVAL, 6,
            "from 1 to 200");
    refused(STAGE("{consecutive_unexplained_days: +3}"), RC_EINVAL, 6, "whole number");
    refused(STAGE("{attendance_below: [90]}"), RC_EINVAL, 6, "should be a single value");
}

Test(policy, target_is_resolved)
{
    policy_t *p = ok("policy: t\ntarget: 96.5\nbands: [{name: all, from: 0}]\n"
                     "tracks:\n  absence:\n    - id: s\n      when: {attendance_below: target}\n");
    cr_assert_float_eq(p->tracks[0].stages[0].when.atoms[0].value, 96.5, 1e-9);
    policy_destroy(&p);
    refused("policy: t\ntarget: 0\nbands: [{name: all, from: 0}]\n", RC_EINVAL, 2,
            "must be above 0");
}

#define TWO_STAGES(first_extra, second)                                                            \
    HEAD "tracks:\n  absence:\n    - id: one\n      when: {attendance_below: 95}\n" first_extra    \
         "    - id: two\n" second

Test(policy, stages_and_reviews)
{
    policy_t *p = ok(TWO_STAGES("      title: \"Stage 1: warning\"\n"
                                "      actions:\n        - letter: l1\n        - sms: s1\n"
                                "        - email: e1\n        - call: parent\n"
                                "        - meeting: isap\n        - home_visit\n"
                                "        - referral: true\n        - dsl\n"
                                "      responsible: head_of_year\n"
                                "      monitor: {weeks: 4, extend_weeks_per_absence_day: 1}\n"
                                "      review:\n        improved: {attendance_at_least: 95}\n"
                                "        on_improved: [{letter: well_done}, early_help]\n"
                                "        if_improved: step_down\n"
                                "        if_not_improved: escalate\n",
                                "      escalation_only: true\n"));
    const policy_stage_t *s = &p->tracks[0].stages[0];
    cr_assert_str_eq(s->title, "Stage 1: warning");
    cr_assert_eq(s->nactions, 8);
    const action_kind_t kinds[] = {ACT_LETTER,  ACT_SMS,        ACT_EMAIL,    ACT_CALL,
                                   ACT_MEETING, ACT_HOME_VISIT, ACT_REFERRAL, ACT_DSL};
    for (size_t i = 0; i < 8; i++)
        cr_assert_eq(s->actions[i].kind, kinds[i], "action %zu", i);
    cr_assert_str_eq(s->actions[0].template_id, "l1");
    cr_assert_str_eq(s->actions[3].template_id, "parent");
    cr_assert_str_eq(s->actions[6].template_id, "", "`referral: true` names no one");
    cr_assert_eq(s->responsible, STAFF_HEAD_OF_YEAR);
    cr_assert_eq(s->monitor_weeks, 4);
    cr_assert_eq(s->extend_weeks_per_day, 1);
    cr_assert_eq(s->improved.n, 1);
    cr_assert_eq(s->non_improved, 2);
    cr_assert_eq(s->on_improved[1].kind, ACT_EARLY_HELP);
    cr_assert_eq(s->if_improved, REVIEW_STEP_DOWN);
    cr_assert_eq(s->if_not_improved, REVIEW_ESCALATE);
    const policy_stage_t *two = &p->tracks[0].stages[1];
    cr_assert(two->escalation_only);
    cr_assert_str_eq(two->title, "two", "the title defaults to the id");
    cr_assert_eq(two->when.n, 0);
    cr_assert_eq(two->responsible, STAFF_NONE);
    policy_destroy(&p);

    /* A monitor with no review: stay and monitor again. */
    p = ok(HEAD "tracks:\n  a:\n    - id: s\n      when: {declining: true}\n"
                "      monitor: {weeks: 2}\n");
    cr_assert_eq(p->tracks[0].stages[0].if_improved, REVIEW_STAY);
    cr_assert_eq(p->tracks[0].stages[0].if_not_improved, REVIEW_STAY);
    cr_assert_eq(p->tracks[0].stages[0].improved.n, 0);
    policy_destroy(&p);
}

/* Seeds 002 and 004 speak in half terms: `monitor: {half_terms: N}`. */
Test(policy, monitor_in_half_terms)
{
    policy_t *p = ok(TWO_STAGES("      monitor: {half_terms: 1}\n"
                                "      review: {if_not_improved: escalate}\n",
                                "      escalation_only: true\n"
                                "      monitor:\n        half_terms: 2\n"
                                "        extend_weeks_per_absence_day: 1\n"));
    const policy_stage_t *one = &p->tracks[0].stages[0], *two = &p->tracks[0].stages[1];
    cr_assert_eq(one->monitor_half_terms, 1);
    cr_assert_eq(one->monitor_weeks, 0, "half terms are not turned into weeks");
    cr_assert_eq(one->extend_weeks_per_day, 0);
    cr_assert_eq(one->if_not_improved, REVIEW_ESCALATE, "a half-term monitor allows a review");
    cr_assert_eq(two->monitor_half_terms, 2);
    cr_assert_eq(two->monitor_weeks, 0);
    cr_assert_eq(two->extend_weeks_per_day, 1, "the extension still applies, in weeks");
    policy_destroy(&p);

    /* The upper bound: a school year of half terms. */
    p = ok(HEAD "tracks:\n  a:\n    - id: s\n      when: {declining: true}\n"
                "      monitor: {half_terms: 6}\n");
    cr_assert_eq(p->tracks[0].stages[0].monitor_half_terms, 6);
    policy_destroy(&p);

    /* The weeks form is unchanged. */
    p = ok(HEAD "tracks:\n  a:\n    - id: s\n      when: {declining: true}\n"
                "      monitor: {weeks: 6}\n");
    cr_assert_eq(p->tracks[0].stages[0].monitor_weeks, 6);
    cr_assert_eq(p->tracks[0].stages[0].monitor_half_terms, 0);
    policy_destroy(&p);
}

Test(policy, monitor_in_half_terms_refused)
{
#define MON(m) TWO_STAGES("      monitor: " m "\n", "      when: {attendance_below: 90}\n")
    refused(MON("{weeks: 6, half_terms: 1}"), RC_EINVAL, 7,
            "`monitor` has both `weeks:` and `half_terms:`");
    refused(MON("{half_terms: 1, weeks: 6}"), RC_EINVAL, 7, "keep one");
    refused(MON("{half_terms: 0}"), RC_EINVAL, 7, "`half_terms` must be from 1 to 6, not 0");
    refused(MON("{half_terms: 7}"), RC_EINVAL, 7, "`half_terms` must be from 1 to 6, not 7");
    refused(MON("{half_terms: one}"), RC_EINVAL, 7,
            "`half_terms` should be a whole number from 1 to 6, not \"one\"");
    refused(MON("{half_terms: 1.5}"), RC_EINVAL, 7, "whole number from 1 to 6, not \"1.5\"");
    refused(MON("{half_terms: -1}"), RC_EINVAL, 7, "whole number from 1 to 6, not \"-1\"");
    refused(MON("{half_terms: [1]}"), RC_EINVAL, 7,
            "`half_terms` should be a single value, not a list");
    refused(MON("{half_terms: }"), RC_EINVAL, 7, "`half_terms` has no value");
    refused(MON("{half_term: 1}"), RC_EINVAL, 7, "did you mean \"half_terms\"?");
    refused(MON("{extend_weeks_per_absence_day: 1}"), RC_EINVAL, 7,
            "needs `weeks:`, the school weeks to the review, or `half_terms:`");
    refused(MON("{half_terms: 1, extend_weeks_per_absence_day: 11}"), RC_EINVAL, 7, "from 0 to 10");
    /* Block style: the line of the second key. */
    refused(TWO_STAGES("      monitor:\n        weeks: 6\n        half_terms: 1\n",
                       "      when: {attendance_below: 90}\n"),
            RC_EINVAL, 9, "has both");
#undef MON
}

Test(policy, stages_refused)
{
    refused(TWO_STAGES("      monitor: {weeks: 4}\n      review: {if_improved: escalate}\n",
                       "      escalation_only: true\n"),
            RC_EINVAL, 8, "not escalate");
    refused(TWO_STAGES("      monitor: {weeks: 4}\n      review: {if_not_improved: exit}\n",
                       "      when: {attendance_below: 90}\n"),
            RC_EINVAL, 8, "`escalate` or `stay`");
    refused(TWO_STAGES("      monitor: {weeks: 4}\n      review: {if_not_improved: escalate}\n",
                       "      escalation_only: true\n      when: {attendance_below: 90}\n"),
            RC_EINVAL, 11, "remove one of the two");
    refused(TWO_STAGES("      monitor: {days: 4}\n", "      when: {attendance_below: 90}\n"),
            RC_EINVAL, 7, "allowed here are: weeks, half_terms, extend_weeks_per_absence_day");
    refused(TWO_STAGES("      monitor: {}\n", "      when: {attendance_below: 90}\n"), RC_EINVAL, 7,
            "needs `weeks:`");
    refused(TWO_STAGES("      monitor: {weeks: 4, extend_weeks_per_absence_day: 11}\n",
                       "      when: {attendance_below: 90}\n"),
            RC_EINVAL, 7, "from 0 to 10");
    refused(TWO_STAGES("      actions: [{letter: a, sms: b}]\n",
                       "      when: {attendance_below: 90}\n"),
            RC_EINVAL, 7, "one action");
    refused(TWO_STAGES("      actions: [{postcard: a}]\n", "      when: {attendance_below: 90}\n"),
            RC_EINVAL, 7, "not a value for `action`");
    refused(TWO_STAGES("      actions: [{letter: letter one}]\n",
                       "      when: {attendance_below: 90}\n"),
            RC_EINVAL, 7, "no spaces");
    refused(TWO_STAGES("      actions: [dsl, dsl, dsl, dsl, dsl, dsl, dsl, dsl, dsl]\n",
                       "      when: {attendance_below: 90}\n"),
            RC_EINVAL, 7, "at most 8 actions");
    refused(TWO_STAGES("      actions: [{dsl: false}]\n", "      when: {attendance_below: 90}\n"),
            RC_EINVAL, 7, "delete its line");
    refused(TWO_STAGES("      responsible: [dsl]\n", "      when: {attendance_below: 90}\n"),
            RC_EINVAL, 7, "should be a single value");
    refused(TWO_STAGES("", "      when: {attendance_below: 90}\n      colour: red\n"), RC_EINVAL, 9,
            "unknown key \"colour\" in stage \"two\"");
    refused(HEAD "tracks:\n  a:\n    - title: x\n      when: {declining: true}\n", RC_EINVAL, 5,
            "has no `id:`");
    refused(HEAD "tracks:\n  a:\n    - id: stage one\n      when: {declining: true}\n", RC_EINVAL,
            5, "no spaces");
    refused(HEAD "tracks: {}\n", RC_EINVAL, 3, "at least one track");
    refused(HEAD "tracks:\n  a: [{id: s, when: {declining: true}}]\n"
                 "  a: [{id: t, when: {declining: true}}]\n",
            RC_EINVAL, 5, "track \"a\" is written twice");
    refused(HEAD "tracks:\n  a: [{id: s, when: {declining: true}}]\n"
                 "  b: [{id: s, when: {declining: true}}]\n"
                 "  c: [{id: s, when: {declining: true}}]\n"
                 "  d: [{id: s, when: {declining: true}}]\n"
                 "  e: [{id: s, when: {declining: true}}]\n",
            RC_EINVAL, 8, "at most 4 tracks");
    refused(HEAD "tracks:\n  a: [{id: s1, when: {declining: true}}, {id: s2, when: {declining: "
                 "true}}, {id: s3, when: {declining: true}}, {id: s4, when: {declining: true}}, "
                 "{id: s5, when: {declining: true}}, {id: s6, when: {declining: true}}, {id: s7, "
                 "when: {declining: true}}, {id: s8, when: {declining: true}}, {id: s9, when: "
                 "{declining: true}}]\n",
            RC_EINVAL, 4, "more than 8 stages");
}

Test(policy, top_level_refused)
{
    refused("policy: t\nbands: [{name: all, from: 0}]\n", RC_EINVAL, 1, "no `tracks:`");
    refused("policy: t\ntracks: {}\n", RC_EINVAL, 1, "no `bands:`");
    refused("title: x\n", RC_EINVAL, 1, "no `policy:`");
    refused("policy: ../etc/passwd\n", RC_EINVAL, 1, "may hold only letters");
    refused("policy: .hidden\n", RC_EINVAL, 1, "may hold only letters");
    refused("policy: t\ntitle: \"bell\\a\"\n", RC_EINVAL, 2, "control character");
    refused("Policy: t\n", RC_EINVAL, 1, "did you mean \"policy\"?");
    refused("policy: t\nflavour: x\n", RC_EINVAL, 2, "the keys allowed here are: policy, title");
    refused("policy: t\nmin_possible_sessions: 401\n", RC_EINVAL, 2, "from 0 to 400");
    refused("just some words\n", RC_EINVAL, 1, "holds a single value");
    refused("policy: t\n---\npolicy: u\n", RC_EINVAL, 2, "holds one policy");
    refused("policy: *x\n", RC_EINVAL, 1, "aliases (*name)");
    refused("policy: !!str t\n", RC_EINVAL, 1, "tags (!name)");
    refused("policy: t\n? [a, b]\n: c\n", RC_EINVAL, 2, "a key must be a plain name");
    refused("policy: \"t\n", RC_EPARSE, 2, "not valid YAML");
    refused("policy: t\ntitle: Stage 2: plan\n", RC_EPARSE, 2, "must be put in quotes");
    refused("policy: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n", RC_EINVAL,
            1, "nested too deeply");
}

Test(policy, bands_refused_and_above)
{
    policy_t *p = ok("policy: t\nbands:\n  - {name: a, above: 90}\n  - {name: b, from: 90}\n"
                     "  - {name: c, from: 0}\ntracks: {x: [{id: s, when: {declining: true}}]}\n");
    cr_assert_eq(p->nbands, 3);
    cr_assert_str_eq(policy_band(p, 90.0)->name, "b", "exactly 90 is not above 90");
    cr_assert_str_eq(policy_band(p, 90.01)->name, "a");
    policy_destroy(&p);

    refused("policy: t\nbands:\n  - {name: a, from: 90}\n  - {name: b, above: 90}\n", RC_EINVAL, 4,
            "highest first");
    refused("policy: t\nbands:\n  - {name: a, from: 90}\n  - {name: b, from: 90}\n", RC_EINVAL, 4,
            "highest first");
    refused("policy: t\nbands:\n  - {name: a, from: 90, above: 80}\n", RC_EINVAL, 3,
            "exactly one of `from:`");
    refused("policy: t\nbands:\n  - {name: a, from: 90}\n  - {name: a, from: 0}\n", RC_EINVAL, 4,
            "used twice");
    refused("policy: t\nbands:\n  - {name: a, above: 0}\n", RC_EINVAL, 3, "must be `from: 0`");
    refused("policy: t\nbands: []\n", RC_EINVAL, 2, "is empty");
    refused("policy: t\nbands:\n  - {from: 0}\n", RC_EINVAL, 3, "no `name:`");
    refused("policy: t\nbands:\n  - {name: a, from: 0, colour: red}\n", RC_EINVAL, 3,
            "unknown key \"colour\" in a band");
    refused("policy: t\nbands:\n"
            "  - {name: a, from: 90}\n"
            "  - {name: b, from: 80}\n"
            "  - {name: c, from: 70}\n"
            "  - {name: d, from: 60}\n"
            "  - {name: e, from: 50}\n"
            "  - {name: f, from: 40}\n"
            "  - {name: g, from: 30}\n"
            "  - {name: h, from: 20}\n"
            "  - {name: i, from: 0}\n",
            RC_EINVAL, 11, "at most 8 bands");
}

#define ALERTS(body) HEAD "alerts:\n" body "tracks: {a: [{id: s, when: {declining: true}}]}\n"

Test(policy, alerts_true_means_national)
{
    policy_t *p = ok(ALERTS("  first_day: true\n  children_missing_education: true\n"
                            "  unresolved_n: true\n  illness: true\n"
                            "  deletion_candidate: true\n  penalty_threshold: true\n"
                            "  severe_absence: yes\n  social_worker: false\n"));
    const policy_alerts_t *a = &p->alerts;
    cr_assert(a->first_day);
    cr_assert_eq(a->first_day_minute, 570);
    cr_assert_str_eq(a->first_day_template, "first_day_absence");
    cr_assert_eq(a->cme_days, 10);
    cr_assert_eq(a->n_unresolved_days, 5);
    cr_assert_eq(a->illness_days, 15);
    cr_assert_eq(a->deletion_days, 20);
    cr_assert_eq(a->deletion_codes, codes("G N O"));
    cr_assert(a->penalty);
    cr_assert_eq(a->penalty_codes, CODE_SET_UNAUTHORISED);
    cr_assert_eq(a->penalty_weeks, 10);
    cr_assert_eq(a->penalty_sessions, 10);
    cr_assert(a->severe_absence);
    cr_assert_not(a->social_worker);
    policy_destroy(&p);

    /* Not written: off. */
    p = ok(HEAD "tracks: {a: [{id: s, when: {declining: true}}]}\n");
    cr_assert_not(p->alerts.first_day);
    cr_assert_not(p->alerts.penalty);
    cr_assert_eq(p->alerts.cme_days, 0);
    cr_assert_eq(p->alerts.nhome_visit_days, 0);
    cr_assert_eq(p->min_possible_sessions, 20);
    policy_destroy(&p);
}

/* A school's own figures, with the rest national. */
Test(policy, alerts_own_figures)
{
    policy_t *p = ok(ALERTS("  first_day: {at: \"08:55\"}\n  home_visit: {days: 3}\n"
                            "  penalty_threshold: {weeks: 12}\n  deletion_candidate: {codes: [N]}\n"
                            "  children_missing_education: {}\n"));
    cr_assert_eq(p->alerts.first_day_minute, 8 * 60 + 55);
    cr_assert_str_eq(p->alerts.first_day_template, "first_day_absence");
    cr_assert_eq(p->alerts.nhome_visit_days, 1);
    cr_assert_eq(p->alerts.home_visit_days[0], 3);
    cr_assert_eq(p->alerts.penalty_weeks, 12);
    cr_assert_eq(p->alerts.penalty_codes, CODE_SET_UNAUTHORISED);
    cr_assert_eq(p->alerts.deletion_days, 20);
    cr_assert_eq(p->alerts.deletion_codes, codes("N"));
    cr_assert_eq(p->alerts.cme_days, 10);
    policy_destroy(&p);
}

Test(policy, alerts_refused)
{
    refused(ALERTS("  first_day: {at: \"24:00\"}\n"), RC_EINVAL, 4, "HH:MM");
    refused(ALERTS("  first_day: {at: \"09:60\"}\n"), RC_EINVAL, 4, "HH:MM");
    refused(ALERTS("  first_day: {at: 0930}\n"), RC_EINVAL, 4, "HH:MM");
    refused(ALERTS("  first_day: sometimes\n"), RC_EINVAL, 4, "true or false");
    refused(ALERTS("  home_visit: true\n"), RC_EINVAL, 4, "no national days");
    refused(ALERTS("  home_visit: {days: [4, 2]}\n"), RC_EINVAL, 4, "must go up");
    refused(ALERTS("  home_visit: {days: []}\n"), RC_EINVAL, 4, "from 1 to 8 days");
    refused(ALERTS("  home_visit: {}\n"), RC_EINVAL, 4, "needs `days:`");
    refused(ALERTS("  penalty_threshold: {codes: [G, O, U], weeks: 0}\n"), RC_EINVAL, 4,
            "from 1 to 52");
    refused(ALERTS("  penalty_threshold: {codes: \"G O UU\"}\n"), RC_EINVAL, 4,
            "\"UU\" is not a DfE attendance code");
    refused(ALERTS("  penalty: true\n"), RC_EINVAL, 4, "unknown key \"penalty\" in `alerts`");
    refused(ALERTS("  children_missing_education: {days: 0}\n"), RC_EINVAL, 4, "from 1 to 200");
    refused(ALERTS("  children_missing_education: [10]\n"), RC_EINVAL, 4,
            "should be a set of `key: value` lines");
    refused(ALERTS("  illness: {dyas: 3}\n"), RC_EINVAL, 4, "did you mean \"days\"?");
}

/* ---- lookups ---- */

Test(policy, band_boundaries)
{
    policy_t *p = seed("004_hcat");
    cr_assert_str_eq(policy_band(p, 100.0)->name, "green");
    cr_assert_str_eq(policy_band(p, 97.0)->name, "green");
    cr_assert_str_eq(policy_band(p, 96.99)->name, "amber");
    cr_assert_str_eq(policy_band(p, 90.01)->name, "amber");
    cr_assert_str_eq(policy_band(p, 90.0)->name, "red", "\"90%% or below\" is red");
    cr_assert_str_eq(policy_band(p, 100.0 * 171 / 190)->name, "red", "171/190 is 90%%");
    cr_assert_str_eq(policy_band(p, 0.0)->name, "red");
    cr_assert_str_eq(policy_band(p, -1.0)->name, "red");
    cr_assert_str_eq(policy_band(p, NAN)->name, "red");
    policy_destroy(&p);

    p = seed("002_lowther");
    cr_assert_str_eq(policy_band(p, 96.0)->name, "green");
    cr_assert_str_eq(policy_band(p, 95.99)->name, "upper_amber");
    cr_assert_str_eq(policy_band(p, 94.0)->name, "upper_amber");
    cr_assert_str_eq(policy_band(p, 93.99)->name, "lower_amber");
    cr_assert_str_eq(policy_band(p, 90.0)->name, "lower_amber");
    cr_assert_str_eq(policy_band(p, 100.0 * 171 / 190)->name, "lower_amber");
    cr_assert_str_eq(policy_band(p, 89.99)->name, "red");
    policy_destroy(&p);

    policy_t empty = {0};
    cr_assert_null(policy_band(&empty, 50.0));
    cr_assert_null(policy_band(NULL, 50.0));
}

Test(policy, track_lookup_and_destroy)
{
    policy_t *p = seed("002_lowther");
    cr_assert_eq(policy_track(p, "lateness"), &p->tracks[1]);
    cr_assert_null(policy_track(p, "Lateness"));
    cr_assert_null(policy_track(p, NULL));
    cr_assert_null(policy_track(NULL, "absence"));
    policy_destroy(&p);
    cr_assert_null(p);
    policy_destroy(&p); /* harmless twice */
    policy_destroy(NULL);
}

/* ---- reading files and bytes ---- */

Test(policy, load_file_errors)
{
    char err[POLICY_ERR_MAX] = "";
    policy_t *p = (policy_t *)&err; /* must be cleared on failure */
    cr_assert_eq(policy_load_file(FIXTURES_DIR "no_such_file.yaml", &p, err), RC_EIO);
    cr_assert_null(p);
    cr_assert(strstr(err, "no_such_file.yaml: cannot open the policy file") != NULL, "%s", err);

    char path[] = "/tmp/rollcall_policy_big_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < POLICY_MAX_BYTES / 16 + 1; i++)
        fputs("# padding......\n", f);
    fclose(f);
    cr_assert_eq(policy_load_file(path, &p, err), RC_ETOOBIG);
    cr_assert(strstr(err, "larger than") != NULL, "%s", err);
    remove(path);
}

Test(policy, load_guards)
{
    char err[POLICY_ERR_MAX] = "";
    policy_t *p = NULL;
    cr_assert_eq(policy_load(NULL, 0, "x", &p, err), RC_EINVAL, "no text is an empty file");
    cr_assert_eq(policy_load(NULL, 5, "x", &p, err), RC_EINVAL);
    cr_assert_eq(policy_load("policy: t\n", 10, "x", NULL, err), RC_EINVAL);
    cr_assert_eq(policy_load("policy: t\n", POLICY_MAX_BYTES + 1, "x", &p, err), RC_ETOOBIG);
    /* A NULL err and a NULL filename are allowed. */
    cr_assert_eq(policy_load("- x\n", 4, NULL, &p, NULL), RC_EINVAL);
    cr_assert_null(p);
    /* Only the first len bytes are read. */
    const char *two = HEAD "tracks: {a: [{id: s, when: {declining: true}}]}\ngarbage: [";
    p = NULL;
    cr_assert_eq(policy_load(two, strlen(two) - strlen("garbage: ["), "x", &p, err), RC_OK, "%s",
                 err);
    policy_destroy(&p);
}

Test(policy, hostile_bytes)
{
    char err[POLICY_ERR_MAX] = "";
    policy_t *p = NULL;
    const char bin[] = "policy: t\n\x00\x01\x02\xff\xfe garbage";
    cr_assert_eq(policy_load(bin, sizeof bin - 1, "bin", &p, err), RC_EPARSE);
    cr_assert(strstr(err, "bin:") == err, "%s", err);
    cr_assert_null(p);
    const char bad_utf8[] = "policy: t\ntitle: \"caf\xc3\x28\"\n";
    cr_assert_eq(policy_load(bad_utf8, sizeof bad_utf8 - 1, "u", &p, err), RC_EPARSE);
    cr_assert(strstr(err, "UTF-8") != NULL, "%s", err);
    /* A NUL from an escape is a control character, not the end of the name. */
    refused("policy: t\ntitle: \"a\\0b\"\n", RC_EINVAL, 2, "control character");
    refused("policy: \"t\\0x\"\n", RC_EINVAL, 1, "may hold only letters");
    /* A long key is quoted back cut short, never overflowing the message. */
    char big[1000]; /* YAML keys stop at 1024 characters */
    memset(big, 'k', sizeof big);
    memcpy(big + sizeof big - 5, ": 1\n", 5);
    cr_assert_eq(load(big, &p, err), RC_EINVAL);
    cr_assert(strstr(err, "...") != NULL, "%s", err);
    cr_assert(strlen(err) < POLICY_ERR_MAX);
}
