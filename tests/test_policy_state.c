/* test_policy_state.c - a pupil's policy state and case facts as stored text: round trips, a
 * stable format, state read under an edited policy (tracks and stages mapped by id), and every
 * malformed text refused with the state left initial. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/policy.h"
#include "rollcall/policy_state.h"

#define POLICIES_DIR ROLLCALL_SOURCE_DIR "/policies/"

/* ---- policies ---- */

/* seed loads policies/<name>.yaml; the caller destroys it. */
static policy_t *seed(const char *name)
{
    char path[512], err[POLICY_ERR_MAX] = "";
    policy_t *p = NULL;
    snprintf(path, sizeof path, POLICIES_DIR "%s.yaml", name);
    rc_err_t rc = policy_load_file(path, &p, err);
    cr_assert_eq(rc, RC_OK, "%s did not load (%d): %s", path, rc, err);
    return p;
}

/* inline_policy loads yaml that must load; the caller destroys it. */
static policy_t *inline_policy(const char *yaml)
{
    char err[POLICY_ERR_MAX] = "";
    policy_t *p = NULL;
    rc_err_t rc = policy_load(yaml, strlen(yaml), "inline.yaml", &p, err);
    cr_assert_eq(rc, RC_OK, "refused (%d): %s\n---\n%s", rc, err, yaml);
    return p;
}

/* track_of returns the index of track id in p, failing the test when absent. */
static size_t track_of(const policy_t *p, const char *id)
{
    const policy_track_t *t = policy_track(p, id);
    cr_assert_not_null(t, "no track %s", id);
    return (size_t)(t - p->tracks);
}

/* stage_of returns the 1-based stage number of stage id on track id. */
static int stage_of(const policy_t *p, const char *track, const char *id)
{
    const policy_track_t *t = &p->tracks[track_of(p, track)];
    for (size_t k = 0; k < t->nstages; k++)
        if (strcmp(t->stages[k].id, id) == 0)
            return (int)k + 1;
    cr_assert_fail("no stage %s on track %s", id, track);
    return 0;
}

/* ---- states ---- */

static rc_date_t day(int y, int m, int d)
{
    return date_from_ymd(y, m, d);
}

/* on puts track t of s at stage (0: left the ladder) with every field set. */
static void on(pupil_policy_state_t *s, size_t t, int stage, rc_date_t entry, rc_date_t review)
{
    eval_track_state_t *ts = &s->tracks[t];
    ts->stage = stage;
    ts->entry_date = entry;
    ts->monitor_from = entry + 7;
    ts->review_date = review;
    ts->base_attended = 100 + (uint32_t)t;
    ts->base_possible = 120 + (uint32_t)t;
    ts->absence_days = (uint32_t)stage;
}

/* full fills every field outside the tracks, at their widest. */
static void full(pupil_policy_state_t *s)
{
    pupil_policy_state_init(s);
    s->first_day_sent = day(2025, 10, 6);
    s->social_worker_sent = day(1900, 1, 1);
    s->unexplained = (eval_run_t){day(2025, 10, 1), day(2025, 10, 3), UINT32_MAX};
    s->deletion = (eval_run_t){day(2199, 12, 30), day(2199, 12, 31), 1};
    s->n_unresolved_through = day(2025, 9, 30);
    s->penalty_active = 1;
    s->severe_year = 2025;
    s->illness_year = 2024;
}

/* round_trip formats s under p, parses it back and checks it is the same
 * state, read without dropping anything, and that formatting is stable. */
static void round_trip(const policy_t *p, const pupil_policy_state_t *s)
{
    char text[POLICY_STATE_MAX], again[POLICY_STATE_MAX];
    pupil_policy_state_t back;
    unsigned dropped = 99;

    policy_state_format(p, s, text);
    cr_assert_lt(strlen(text), (size_t)POLICY_STATE_MAX - 1, "text may have been cut: %s", text);
    cr_assert_eq(policy_state_parse(p, text, strlen(text), &back, &dropped), RC_OK, "%s", text);
    cr_assert_eq(dropped, 0, "%s", text);
    cr_assert(memcmp(&back, s, sizeof back) == 0, "not the same state after: %s", text);
    policy_state_format(p, &back, again);
    cr_assert_str_eq(again, text);
    policy_state_format(p, s, again);
    cr_assert_str_eq(again, text);
}

/* refused checks that text[0..len) is refused and leaves *s initial, whatever
 * it held before (some junk, and a state that parsed). */
static void refused_len(const policy_t *p, const char *text, size_t len)
{
    pupil_policy_state_t s, initial;
    pupil_policy_state_init(&initial);
    memset(&s, 0x5a, sizeof s);
    cr_assert_eq(policy_state_parse(p, text, len, &s, NULL), RC_EPARSE, "accepted: \"%.*s\"",
                 (int)len, text);
    cr_assert(memcmp(&s, &initial, sizeof s) == 0, "not initial after: \"%.*s\"", (int)len, text);

    unsigned dropped = 0;
    full(&s);
    on(&s, 0, 1, day(2025, 9, 1), RC_DATE_NONE);
    cr_assert_eq(policy_state_parse(p, text, len, &s, &dropped), RC_EPARSE);
    cr_assert(memcmp(&s, &initial, sizeof s) == 0, "not initial after: \"%.*s\"", (int)len, text);
}

static void refused(const policy_t *p, const char *text)
{
    refused_len(p, text, strlen(text));
}

/* parsed parses text that must parse under p into *s; returns what was dropped. */
static unsigned parsed(const policy_t *p, const char *text, pupil_policy_state_t *s)
{
    unsigned dropped = 99;
    cr_assert_eq(policy_state_parse(p, text, strlen(text), s, &dropped), RC_OK, "refused: %s",
                 text);
    return dropped;
}

/* ---- round trips ---- */

Test(policy_state, initial_state_round_trips)
{
    policy_t *p = seed("004_hcat");
    pupil_policy_state_t s;
    char text[POLICY_STATE_MAX];
    pupil_policy_state_init(&s);
    round_trip(p, &s);
    policy_state_format(p, &s, text);
    cr_assert_str_eq(text, "v1 fd=- sw=- un=-,-,0 de=-,-,0 nu=- pa=0 sy=0 iy=0");
    policy_destroy(&p);
}

Test(policy_state, known_state_has_this_exact_text)
{
    policy_t *p = seed("004_hcat");
    pupil_policy_state_t s;
    char text[POLICY_STATE_MAX];
    full(&s);
    size_t absence = track_of(p, "absence"), lateness = track_of(p, "lateness");
    on(&s, absence, stage_of(p, "absence", "stage_1"), day(2025, 9, 22), day(2025, 10, 20));
    s.tracks[absence].absence_days = 1;
    on(&s, lateness, 0, day(2025, 9, 15), RC_DATE_NONE); /* was on it, left */
    policy_state_format(p, &s, text);
    cr_assert_str_eq(text, "v1 fd=2025-10-06 sw=1900-01-01 un=2025-10-01,2025-10-03,4294967295 "
                           "de=2199-12-30,2199-12-31,1 nu=2025-09-30 pa=1 sy=2025 iy=2024 "
                           "t=absence,stage_1,2025-09-22,2025-09-29,2025-10-20,100,120,1 "
                           "t=lateness,-,2025-09-15,2025-09-22,-,101,121,0");
    round_trip(p, &s);
    policy_destroy(&p);
}

Test(policy_state, every_field_set_round_trips)
{
    policy_t *p = seed("004_hcat");
    pupil_policy_state_t s;
    full(&s);
    round_trip(p, &s);

    /* Every track at its last stage, the numbers at their widest. */
    for (size_t t = 0; t < p->ntracks; t++) {
        on(&s, t, (int)p->tracks[t].nstages, day(2025, 9, 1), day(2025, 12, 1));
        s.tracks[t].base_attended = s.tracks[t].base_possible = UINT32_MAX;
        s.tracks[t].absence_days = UINT32_MAX;
    }
    round_trip(p, &s);

    /* penalty_active is a flag: any true value is written and read as 1. */
    char text[POLICY_STATE_MAX];
    pupil_policy_state_t back;
    s.penalty_active = 7;
    policy_state_format(p, &s, text);
    cr_assert_eq(parsed(p, text, &back), 0);
    cr_assert_eq(back.penalty_active, 1);
    policy_destroy(&p);
}

Test(policy_state, every_track_at_every_stage_round_trips)
{
    const char *names[] = {"004_hcat", "002_lowther"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        policy_t *p = seed(names[i]);
        cr_assert_geq(p->ntracks, 2, "%s", names[i]);
        for (size_t t = 0; t < p->ntracks; t++) {
            for (int k = 0; k <= (int)p->tracks[t].nstages; k++) {
                for (int reviewed = 0; reviewed < 2; reviewed++) {
                    pupil_policy_state_t s;
                    full(&s);
                    on(&s, t, k, day(2025, 9, 8), reviewed ? day(2025, 10, 6) : RC_DATE_NONE);
                    /* and the other tracks somewhere else, or nowhere */
                    size_t u = (t + 1) % p->ntracks;
                    if (k % 2)
                        on(&s, u, (int)p->tracks[u].nstages, day(2024, 2, 29), day(2024, 3, 28));
                    round_trip(p, &s);
                }
            }
        }
        policy_destroy(&p);
    }
}

Test(policy_state, only_tracks_with_something_to_remember_are_written)
{
    policy_t *p = seed("002_lowther");
    pupil_policy_state_t s;
    char text[POLICY_STATE_MAX];
    pupil_policy_state_init(&s);
    size_t lateness = track_of(p, "lateness");
    on(&s, lateness, 1, day(2025, 11, 3), RC_DATE_NONE);
    policy_state_format(p, &s, text);
    cr_assert(strstr(text, " t=lateness,") != NULL, "%s", text);
    cr_assert(strstr(text, " t=absence,") == NULL, "%s", text);
    round_trip(p, &s);
    policy_destroy(&p);
}

/* The longest text the format can write: four tracks, ids of POLICY_NAME_MAX
 * characters, the widest numbers. It must fit, whole, and read back. */
#define ID47 "abcdefghijklmnopqrstuvwxyz0123456789_.:-ABCDEFG"
#define LONG_TRACK(last)                                                                           \
    "  " ID47 last ":\n    - id: " ID47 last "\n      when: {attendance_below: 90}\n"
#define LONG_POLICY                                                                                \
    "policy: long\nbands: [{name: all, from: 0}]\ntracks:\n" LONG_TRACK("1") LONG_TRACK("2")       \
        LONG_TRACK("3") LONG_TRACK("4")

Test(policy_state, longest_text_fits)
{
    cr_assert_eq(strlen(ID47) + 1, POLICY_NAME_MAX);
    policy_t *p = inline_policy(LONG_POLICY);
    cr_assert_eq(p->ntracks, POLICY_MAX_TRACKS);
    pupil_policy_state_t s;
    full(&s);
    s.severe_year = s.illness_year = 1000000;
    for (size_t t = 0; t < p->ntracks; t++) {
        on(&s, t, 1, day(2199, 12, 1), day(2199, 12, 31));
        s.tracks[t].base_attended = s.tracks[t].base_possible = UINT32_MAX;
        s.tracks[t].absence_days = UINT32_MAX;
    }
    round_trip(p, &s);
    policy_destroy(&p);
}

/* ---- an edited policy ---- */

#define HEAD             "policy: edit\nbands: [{name: all, from: 0}]\ntracks:\n"
#define STAGE(id, below) "    - id: " id "\n      when: {attendance_below: " below "}\n"
#define ABSENCE          "  absence:\n" STAGE("s1", "95") STAGE("s2", "90") STAGE("s3", "85")
#define ABSENCE_NO_S2    "  absence:\n" STAGE("s1", "95") STAGE("s3", "85")
#define LATENESS(id)     "  " id ":\n" STAGE("l1", "90") STAGE("l2", "80")
#define EXTRA            "  extra:\n" STAGE("x1", "50")
#define POLICY_A         HEAD ABSENCE LATENESS("lateness") EXTRA

/* written writes a state under policy A: on absence at stage absence_stage,
 * lateness at l2, extra at x1; returns its text in out. */
static void written(const char *absence_stage, pupil_policy_state_t *s, char out[POLICY_STATE_MAX])
{
    policy_t *a = inline_policy(POLICY_A);
    full(s);
    on(s, track_of(a, "absence"), stage_of(a, "absence", absence_stage), day(2025, 9, 8),
       day(2025, 10, 6));
    on(s, track_of(a, "lateness"), stage_of(a, "lateness", "l2"), day(2025, 9, 15), RC_DATE_NONE);
    on(s, track_of(a, "extra"), stage_of(a, "extra", "x1"), day(2025, 9, 22), day(2025, 11, 3));
    policy_state_format(a, s, out);
    policy_destroy(&a);
}

/* same_track checks that track id under (pb, b) holds what track id under
 * (pa, a) held: the same stage by id, the same dates and numbers. */
static void same_track(const policy_t *pa, const pupil_policy_state_t *a, const policy_t *pb,
                       const pupil_policy_state_t *b, const char *id)
{
    size_t ta = track_of(pa, id), tb = track_of(pb, id);
    const eval_track_state_t *x = &a->tracks[ta], *y = &b->tracks[tb];
    cr_assert_str_eq(policy_eval_stage_id(pb, b, tb), policy_eval_stage_id(pa, a, ta), "%s", id);
    cr_assert_eq(y->entry_date, x->entry_date, "%s", id);
    cr_assert_eq(y->monitor_from, x->monitor_from, "%s", id);
    cr_assert_eq(y->review_date, x->review_date, "%s", id);
    cr_assert_eq(y->base_attended, x->base_attended, "%s", id);
    cr_assert_eq(y->base_possible, x->base_possible, "%s", id);
    cr_assert_eq(y->absence_days, x->absence_days, "%s", id);
}

/* never_on checks that track t of s is as pupil_policy_state_init left it. */
static void never_on(const pupil_policy_state_t *s, size_t t)
{
    pupil_policy_state_t initial;
    pupil_policy_state_init(&initial);
    cr_assert(memcmp(&s->tracks[t], &initial.tracks[t], sizeof initial.tracks[t]) == 0,
              "track %zu is not \"never on it\"", t);
}

/* same_outside checks the fields outside the tracks. */
static void same_outside(const pupil_policy_state_t *a, const pupil_policy_state_t *b)
{
    cr_assert_eq(b->first_day_sent, a->first_day_sent);
    cr_assert_eq(b->social_worker_sent, a->social_worker_sent);
    cr_assert(memcmp(&b->unexplained, &a->unexplained, sizeof a->unexplained) == 0);
    cr_assert(memcmp(&b->deletion, &a->deletion, sizeof a->deletion) == 0);
    cr_assert_eq(b->n_unresolved_through, a->n_unresolved_through);
    cr_assert_eq(b->penalty_active, a->penalty_active);
    cr_assert_eq(b->severe_year, a->severe_year);
    cr_assert_eq(b->illness_year, a->illness_year);
}

Test(policy_state, unchanged_policy_drops_nothing)
{
    policy_t *a = inline_policy(POLICY_A);
    pupil_policy_state_t s, back;
    char text[POLICY_STATE_MAX];
    written("s3", &s, text);
    cr_assert_eq(parsed(a, text, &back), 0);
    cr_assert(memcmp(&back, &s, sizeof s) == 0, "%s", text);
    policy_destroy(&a);
}

Test(policy_state, stage_removed_later_stages_move_down_by_id)
{
    policy_t *a = inline_policy(POLICY_A),
             *b = inline_policy(HEAD ABSENCE_NO_S2 LATENESS("lateness") EXTRA);
    pupil_policy_state_t s, back;
    char text[POLICY_STATE_MAX];

    written("s3", &s, text);
    cr_assert_eq(parsed(b, text, &back), 0, "%s", text);
    cr_assert_eq(back.tracks[track_of(b, "absence")].stage, 2, "s3 is now the second stage");
    same_track(a, &s, b, &back, "absence");
    same_track(a, &s, b, &back, "lateness");
    same_track(a, &s, b, &back, "extra");
    same_outside(&s, &back);
    round_trip(b, &back);

    written("s1", &s, text);
    cr_assert_eq(parsed(b, text, &back), 0, "%s", text);
    cr_assert_eq(back.tracks[track_of(b, "absence")].stage, 1);
    same_track(a, &s, b, &back, "absence");

    /* On the stage that went: none on that track, the rest kept. */
    written("s2", &s, text);
    cr_assert_eq(parsed(b, text, &back), 1, "%s", text);
    size_t absence = track_of(b, "absence");
    cr_assert_eq(back.tracks[absence].stage, 0);
    cr_assert_str_eq(policy_eval_stage_id(b, &back, absence), "");
    cr_assert_eq(back.tracks[absence].review_date, RC_DATE_NONE, "no stage, no review");
    same_track(a, &s, b, &back, "lateness");
    same_track(a, &s, b, &back, "extra");
    same_outside(&s, &back);
    round_trip(b, &back);

    /* dropped may be NULL */
    cr_assert_eq(policy_state_parse(b, text, strlen(text), &back, NULL), RC_OK);
    cr_assert_eq(back.tracks[absence].stage, 0);
    policy_destroy(&b);
    policy_destroy(&a);
}

Test(policy_state, track_renamed_is_dropped)
{
    policy_t *a = inline_policy(POLICY_A),
             *b = inline_policy(HEAD ABSENCE LATENESS("punctuality") EXTRA);
    pupil_policy_state_t s, back;
    char text[POLICY_STATE_MAX];
    written("s2", &s, text);
    cr_assert_eq(parsed(b, text, &back), 1, "%s", text);
    never_on(&back, track_of(b, "punctuality"));
    same_track(a, &s, b, &back, "absence");
    same_track(a, &s, b, &back, "extra");
    same_outside(&s, &back);
    round_trip(b, &back);
    policy_destroy(&b);
    policy_destroy(&a);
}

Test(policy_state, tracks_reordered_are_found_by_id)
{
    policy_t *a = inline_policy(POLICY_A),
             *b = inline_policy(HEAD EXTRA LATENESS("lateness") ABSENCE);
    cr_assert_neq(track_of(a, "absence"), track_of(b, "absence"));
    cr_assert_neq(track_of(a, "extra"), track_of(b, "extra"));
    pupil_policy_state_t s, back;
    char text[POLICY_STATE_MAX];
    written("s2", &s, text);
    cr_assert_eq(parsed(b, text, &back), 0, "%s", text);
    same_track(a, &s, b, &back, "absence");
    same_track(a, &s, b, &back, "lateness");
    same_track(a, &s, b, &back, "extra");
    same_outside(&s, &back);
    round_trip(b, &back);
    policy_destroy(&b);
    policy_destroy(&a);
}

Test(policy_state, all_three_edits_at_once)
{
    policy_t *a = inline_policy(POLICY_A),
             *b = inline_policy(HEAD EXTRA LATENESS("punctuality") ABSENCE_NO_S2);
    pupil_policy_state_t s, back;
    char text[POLICY_STATE_MAX];
    written("s2", &s, text);
    cr_assert_eq(parsed(b, text, &back), 2, "a stage and a track: %s", text);
    cr_assert_eq(back.tracks[track_of(b, "absence")].stage, 0);
    never_on(&back, track_of(b, "punctuality"));
    same_track(a, &s, b, &back, "extra");
    same_outside(&s, &back);

    written("s3", &s, text);
    cr_assert_eq(parsed(b, text, &back), 1, "%s", text);
    same_track(a, &s, b, &back, "absence");
    same_track(a, &s, b, &back, "extra");
    policy_destroy(&b);
    policy_destroy(&a);
}

Test(policy_state, dropped_stage_of_a_pupil_never_entered_is_never_on_it)
{
    /* A track with no stage and no entry date is "never on it" (the format
     * writes no such track), so nothing else of it may survive a parse:
     * otherwise the state read differs from the state written back. */
    policy_t *p = inline_policy(POLICY_A);
    pupil_policy_state_t s, again;
    char text[POLICY_STATE_MAX];
    size_t absence = track_of(p, "absence");

    cr_assert_eq(parsed(p, "v1 t=absence,gone,-,2025-09-01,2025-10-01,1,2,3", &s), 1);
    never_on(&s, absence);
    policy_state_format(p, &s, text);
    cr_assert_eq(parsed(p, text, &again), 0);
    cr_assert(memcmp(&again, &s, sizeof s) == 0, "%s", text);

    cr_assert_eq(parsed(p, "v1 t=absence,-,-,2025-09-01,-,1,2,3", &s), 0);
    never_on(&s, absence);
    policy_destroy(&p);
}

/* ---- malformed state ---- */

Test(policy_state, malformed_text_is_refused_and_state_left_initial)
{
    policy_t *p = seed("004_hcat");
    static const char *const bad[] = {
        "",
        " ",
        "v2",
        "v2 fd=- sw=- un=-,-,0 de=-,-,0 nu=- pa=0 sy=0 iy=0",
        "V1 fd=-",
        "v1x fd=-",
        "fd=- v1",
        /* unknown or malformed keys */
        "v1 zz=1",
        "v1 fd=- sw=- un=-,-,0 de=-,-,0 nu=- pa=0 sy=0 iy=0 xx=0",
        "v1 FD=-",
        "v1 fd",
        "v1 =-",
        "v1 fd:-",
        /* dates */
        "v1 fd=2025-02-30",
        "v1 fd=2025-13-01",
        "v1 fd=2025-1-1",
        "v1 fd=20251001",
        "v1 fd=1899-12-31",
        "v1 fd=2200-01-01",
        "v1 fd=",
        "v1 fd=--",
        "v1 nu=yesterday",
        "v1 un=2025-10-01,2025-10-32,0",
        "v1 t=absence,stage_1,2025-09-31,-,-,0,0,0",
        /* missing parts */
        "v1 un=-,-",
        "v1 de=-",
        "v1 un=",
        "v1 un=-,,0",
        "v1 un=-,-,",
        "v1 un=,-,-,0",
        "v1 un=-,-,,0",
        "v1 t=absence,stage_1,2025-09-01,-,-,1,2",
        "v1 t=absence,,stage_1,2025-09-01,-,-,1,2,3",
        "v1 t=absence",
        "v1 t=,stage_1,2025-09-01,-,-,1,2,3",
        "v1 t=absence,,2025-09-01,-,-,1,2,3",
        "v1 t=",
        /* too many parts */
        "v1 un=-,-,0,0",
        "v1 t=absence,stage_1,2025-09-01,-,-,1,2,3,4",
        "v1 t=absence,stage_1,2025-09-01,-,-,1,2,3,4,5,6,7,8,9,10",
        /* numbers */
        "v1 sy=-2025",
        "v1 iy=-1",
        "v1 un=-,-,-1",
        "v1 t=absence,stage_1,2025-09-01,-,-,-1,2,3",
        "v1 t=absence,stage_1,2025-09-01,-,-,1,2,-3",
        "v1 un=-,-,4294967296",
        "v1 un=-,-,99999999999999999999999",
        "v1 sy=1000001",
        "v1 sy=2025x",
        "v1 sy=0x7e9",
        "v1 sy=",
        "v1 pa=2",
        "v1 pa=-0",
        "v1 pa=yes",
        /* an error after good fields still leaves the state initial */
        "v1 fd=2025-10-01 sw=2025-10-01 un=2025-10-01,2025-10-02,3 pa=1 sy=2025 "
        "t=absence,stage_1,2025-09-01,-,-,1,2,3 t=lateness,late_marks_letter,2025-09-01,-,-,1,2,3 "
        "pa=2",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        refused(p, bad[i]);

    /* An embedded NUL: the text is len bytes, not a C string. */
    static const char nul[] = "v1 fd=-\0 sw=-";
    refused_len(p, nul, sizeof nul - 1);
    refused_len(p, "v1 fd=-\0", 8);
    policy_destroy(&p);
}

Test(policy_state, overlong_text_is_refused)
{
    policy_t *p = seed("004_hcat");
    pupil_policy_state_t s;
    char text[2 * POLICY_STATE_MAX];
    full(&s);
    policy_state_format(p, &s, text);
    size_t len = strlen(text);
    /* Good fields (repeated) up to POLICY_STATE_MAX bytes: too long however good. */
    while (len < POLICY_STATE_MAX)
        len += (size_t)snprintf(text + len, sizeof text - len, " pa=1");
    refused_len(p, text, len);
    refused_len(p, text, POLICY_STATE_MAX);
    policy_destroy(&p);
}

Test(policy_state, unknown_track_and_stage_are_not_errors)
{
    policy_t *p = seed("004_hcat");
    pupil_policy_state_t s, initial;
    pupil_policy_state_init(&initial);
    cr_assert_eq(parsed(p, "v1 t=no_such_track,stage_1,2025-09-01,-,-,1,2,3", &s), 1);
    cr_assert(memcmp(&s, &initial, sizeof s) == 0);
    cr_assert_eq(parsed(p,
                        "v1 t=no_such_track,stage_1,2025-09-01,-,-,1,2,3 "
                        "t=absence,no_such_stage,2025-09-01,-,2025-10-01,1,2,3",
                        &s),
                 2);
    cr_assert_eq(s.tracks[track_of(p, "absence")].stage, 0);
    /* a bad field of a dropped track is still an error */
    refused(p, "v1 t=no_such_track,stage_1,2025-09-01,-,-,1,2,x");
    policy_destroy(&p);
}

/* ---- facts ---- */

/* fact_round_trip formats f, checks the text, parses it back and compares. */
static void fact_round_trip(const eval_fact_t *f, const char *want)
{
    char text[POLICY_FACT_MAX];
    eval_fact_t back;
    memset(text, 'x', sizeof text);
    policy_fact_format(f, text);
    if (want)
        cr_assert_str_eq(text, want);
    cr_assert_lt(strlen(text), (size_t)POLICY_FACT_MAX - 1, "may have been cut: %s", text);
    memset(&back, 0x5a, sizeof back);
    cr_assert_eq(policy_fact_parse(text, strlen(text), &back), RC_OK, "%s", text);
    cr_assert_eq(back.kind, f->kind, "%s", text);
    cr_assert_eq(back.date, f->date, "%s", text);
    cr_assert_str_eq(back.detail, f->detail, "%s", text);
}

static eval_fact_t fact(fact_kind_t kind, rc_date_t date, const char *detail)
{
    eval_fact_t f;
    memset(&f, 0, sizeof f);
    f.kind = kind;
    f.date = date;
    snprintf(f.detail, sizeof f.detail, "%s", detail);
    return f;
}

Test(policy_state, facts_round_trip)
{
    eval_fact_t f = fact(FACT_MEETING_HELD, day(2025, 10, 1), "stage_3");
    fact_round_trip(&f, "meeting_held 2025-10-01 stage_3");
    f = fact(FACT_CONTACT_MADE, day(2025, 10, 2), "");
    fact_round_trip(&f, "contact_made 2025-10-02");

    /* Every kind, with no detail and with the longest detail a fact holds. */
    char longest[CODEC_NAME_MAX + 1];
    memset(longest, 'd', CODEC_NAME_MAX);
    longest[CODEC_NAME_MAX] = '\0';
    for (int k = 1; k < FACT__COUNT; k++) {
        f = fact((fact_kind_t)k, day(2199, 12, 31), "");
        fact_round_trip(&f, NULL);
        f = fact((fact_kind_t)k, day(1900, 1, 1), longest);
        fact_round_trip(&f, NULL);
    }
}

Test(policy_state, malformed_facts_are_refused)
{
    static const char *const bad[] = {
        "",
        " ",
        "meeting_held",
        "meeting_held ",
        "2025-10-01",
        "unknown_kind 2025-10-01",
        "none 2025-10-01",
        "Meeting_held 2025-10-01",
        "meeting_held 2025-02-30",
        "meeting_held 2025-10-1",
        "meeting_held yesterday",
        "meeting_held 2025-10-01 stage_3 extra",
        "meeting_held 2025-10-01 stage 3",
        /* a detail one longer than a fact holds */
        "meeting_held 2025-10-01 abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklm",
    };
    eval_fact_t f;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(policy_fact_parse(bad[i], strlen(bad[i]), &f), RC_EPARSE, "accepted: \"%s\"",
                     bad[i]);

    char text[POLICY_FACT_MAX + 16];
    memset(text, 'd', sizeof text);
    memcpy(text, "meeting_held 2025-10-01 ", 24);
    cr_assert_eq(policy_fact_parse(text, sizeof text, &f), RC_EPARSE, "overlong");
    static const char nul[] = "meeting_held 2025-10-01\0 stage_3";
    cr_assert_eq(policy_fact_parse(nul, sizeof nul - 1, &f), RC_EPARSE, "embedded NUL");
}
