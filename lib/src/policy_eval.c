/* policy_eval.c - one pupil, one moment, one policy: reviews, stage entries,
 * alerts and referrals, each with a reason a person can read. */
#include "rollcall/policy_eval.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define EVAL_PRINTF(f, a) __attribute__((format(printf, f, a)))

#define RUN_BIT_CME (1u << 31)
#define RUN_BIT_DEL 1u

/* ---- small helpers ---- */

/* The text a reason is built in: appended to, cut at a UTF-8 boundary. */
typedef struct {
    char s[EVAL_REASON_MAX + 1];
    size_t len;
    int cut;
} text_t;

static void text_init(text_t *t)
{
    t->s[0] = '\0';
    t->len = 0;
    t->cut = 0;
}

/* say appends to t; what does not fit is dropped and the text ends "...",
 * never inside a UTF-8 sequence. */
EVAL_PRINTF(2, 3) static void say(text_t *t, const char *fmt, ...)
{
    if (t->cut)
        return;
    char buf[EVAL_REASON_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t add = strlen(buf);
    if ((size_t)n == add && t->len + add <= EVAL_REASON_MAX) {
        memcpy(t->s + t->len, buf, add + 1);
        t->len += add;
        return;
    }
    size_t room = EVAL_REASON_MAX - 3;
    if (t->len < room) {
        size_t take = room - t->len < add ? room - t->len : add;
        memcpy(t->s + t->len, buf, take);
        t->len += take;
    } else {
        t->len = room;
    }
    size_t i = t->len, k = 0;
    while (i > 0 && k < 4 && ((unsigned char)t->s[i - 1] & 0xC0) == 0x80) {
        i--;
        k++;
    }
    if (i > 0) {
        unsigned char lead = (unsigned char)t->s[i - 1];
        size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        if (need != k + 1)
            t->len = i - 1; /* the last character was cut: drop it */
    }
    memcpy(t->s + t->len, "...", 4);
    t->len += 3;
    t->cut = 1;
}

/* pct_text writes attended/possible as a percentage to one decimal, rounded
 * down, so 89.96% reads 89.9% and is never shown as "90.0% is below 90%". */
static const char *pct_text(uint32_t att, uint32_t poss, char buf[32])
{
    if (!poss) {
        snprintf(buf, 32, "n/a");
        return buf;
    }
    uint64_t tenths = (uint64_t)att * 1000 / poss;
    snprintf(buf, 32, "%u.%u%%", (unsigned)(tenths / 10), (unsigned)(tenths % 10));
    return buf;
}

/* hundredths rounds a policy's percentage to 0.01 (the precision of every
 * comparison). */
static int64_t hundredths(double v)
{
    if (v <= 0)
        return 0;
    if (v >= 100)
        return 10000;
    return (int64_t)(v * 100.0 + 0.5);
}

/* value_text writes a policy's percentage as written: "90%", "92.5%". */
static const char *value_text(double v, char buf[32])
{
    int64_t h = hundredths(v);
    if (h % 100 == 0)
        snprintf(buf, 32, "%d%%", (int)(h / 100));
    else if (h % 10 == 0)
        snprintf(buf, 32, "%d.%d%%", (int)(h / 100), (int)(h / 10 % 10));
    else
        snprintf(buf, 32, "%d.%02d%%", (int)(h / 100), (int)(h % 100));
    return buf;
}

/* cmp_pct compares 100 * att / poss with a policy percentage: -1, 0, 1. */
static int cmp_pct(uint32_t att, uint32_t poss, double v)
{
    int64_t lhs = (int64_t)att * 10000, rhs = hundredths(v) * (int64_t)poss;
    return lhs < rhs ? -1 : lhs > rhs;
}

/* codes_text writes a code set as "G, O, U". */
static const char *codes_text(code_set_t set, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int c = 0; c < CODE__COUNT; c++) {
        if (!(set & CODE_BIT(c)))
            continue;
        int n = snprintf(buf + at, len - at, "%s%s", at ? ", " : "", code_str((att_code_t)c));
        if (n < 0 || (size_t)n >= len - at)
            break;
        at += (size_t)n;
    }
    return buf;
}

/* absence_codes is every authorised and unauthorised absence code. */
static code_set_t absence_codes(void)
{
    code_set_t set = 0;
    for (int c = 0; c < CODE__COUNT; c++)
        if (code_is_absence((att_code_t)c))
            set |= CODE_BIT(c);
    return set;
}

static rc_date_t date_max(rc_date_t a, rc_date_t b)
{
    return a > b ? a : b;
}

/* ---- calendar walks ---- */

/* add_school_weeks returns the same weekday as from in the n-th school week
 * after from's week (holiday weeks skipped), or the next school day when
 * that day is closed; RC_DATE_NONE when the calendar ends first. */
static rc_date_t add_school_weeks(const calendar_t *cal, rc_date_t from, unsigned n)
{
    rc_date_t last = calendar_last_day(cal);
    if (last == RC_DATE_NONE)
        return RC_DATE_NONE;
    rc_date_t mon = date_monday(from);
    int wd = (int)(from - mon);
    for (unsigned k = 0; k < n;) {
        mon += 7;
        if (mon > last)
            return RC_DATE_NONE;
        k += (unsigned)calendar_is_school_week(cal, mon);
    }
    rc_date_t d = mon + wd;
    if (!calendar_is_school_day(cal, d))
        d = calendar_next_school_day(cal, d);
    return d;
}

/* starts_half_term is true when school day d, whose previous school day is
 * prev, is the first school day of a half term (calendar.h's rule). A half
 * term cannot begin on a school day that follows the one before with no
 * closed weekday between, so the calendar is asked only about the few that do. */
static int starts_half_term(const calendar_t *cal, rc_date_t prev, rc_date_t d)
{
    int closed = 0;
    for (rc_date_t g = prev + 1; g < d && !closed; g++)
        closed = !date_is_weekend(g);
    return closed && calendar_half_term_start(cal, d) == d;
}

/* add_half_terms returns the first school day of the n-th half term after
 * the one holding from. Monitoring begun on a closed day (a weekend, a
 * holiday) begins on the next school day: nothing can be watched before it,
 * and a half term's break then counts with the half term after it, not the
 * one before. RC_DATE_NONE when the calendar ends first. */
static rc_date_t add_half_terms(const calendar_t *cal, rc_date_t from, unsigned n)
{
    rc_date_t d = calendar_is_school_day(cal, from) ? from : calendar_next_school_day(cal, from);
    for (unsigned k = 0; k < n && d != RC_DATE_NONE;) {
        rc_date_t next = calendar_next_school_day(cal, d);
        if (next != RC_DATE_NONE && starts_half_term(cal, d, next))
            k++;
        d = next;
    }
    return d;
}

/* code_run counts school days in a row, ending today (or the last school
 * day before it), on which every open session holds a code in set; as
 * metrics.h's run of unexplained days, sessions of today not yet marked do
 * not break the run but today needs one. *first gets the run's first day. */
static uint32_t code_run(const pupil_state_t *st, const calendar_t *cal, rc_date_t today,
                         code_set_t set, rc_date_t *first)
{
    uint32_t run = 0;
    rc_date_t d = calendar_is_school_day(cal, today) ? today : calendar_prev_school_day(cal, today);
    *first = RC_DATE_NONE;
    for (; d != RC_DATE_NONE; d = calendar_prev_school_day(cal, d)) {
        unsigned open = calendar_open_mask(cal, d);
        int hits = 0, ok = 1;
        for (unsigned s = SESSION_AM; s <= SESSION_PM; s++) {
            if (!(open & SESS_BIT(s)))
                continue;
            const mark_slot_t *m = pupil_state_find(st, d, (session_t)s);
            if (m && (set & CODE_BIT(m->code)))
                hits++;
            else if (m || d != today)
                ok = 0;
        }
        if (!ok || !hits)
            break;
        run++;
        *first = d;
    }
    return run;
}

/* run_track moves r onto the run first..last: the same run while it
 * overlaps the last one seen (an amendment may shorten or lengthen it), a
 * new one, with nothing raised, once it starts after that one ended. */
static void run_track(eval_run_t *r, rc_date_t first, rc_date_t last)
{
    if (r->last == RC_DATE_NONE || first > r->last) {
        r->raised = 0;
        r->first = first;
    } else if (first < r->first) {
        r->first = first;
    }
    r->last = last;
}

/* ---- the evaluation context ---- */

typedef struct {
    const eval_input_t *in;
    const policy_t *p;
    const metrics_t *m;
    pupil_policy_state_t *state;
    eval_result_t *out;
    int pct_ok; /* percentage conditions may fire */
} ctx_t;

static const char *stage_id(const policy_track_t *tr, int stage)
{
    return stage > 0 && (size_t)stage <= tr->nstages ? tr->stages[stage - 1].id : "";
}

/* stage_name writes a stage for a reason: `stage_1 "Letter 1"`, or "none". */
static const char *stage_name(const policy_track_t *tr, int stage, char *buf, size_t len)
{
    if (stage <= 0 || (size_t)stage > tr->nstages) {
        snprintf(buf, len, "none");
        return buf;
    }
    const policy_stage_t *s = &tr->stages[stage - 1];
    if (s->title[0])
        snprintf(buf, len, "%s \"%s\"", s->id, s->title);
    else
        snprintf(buf, len, "%s", s->id);
    return buf;
}

/* decide appends a blank decision of kind for track (-1: none) to the result. */
static eval_decision_t *decide(ctx_t *c, decision_kind_t kind, int track)
{
    /* Bounded by construction: at most 6 per track and 10 alerts. */
    if (c->out->n >= EVAL_MAX_DECISIONS)
        return NULL;
    eval_decision_t *d = &c->out->d[c->out->n++];
    memset(d, 0, sizeof *d);
    d->kind = kind;
    d->track = track;
    d->review_date = RC_DATE_NONE;
    d->session = -1;
    if (track >= 0)
        snprintf(d->track_id, sizeof d->track_id, "%s", c->p->tracks[track].id);
    return d;
}

static void set_stages(eval_decision_t *d, const policy_track_t *tr, int from, int to)
{
    d->stage_from = from;
    d->stage_to = to;
    snprintf(d->stage_from_id, sizeof d->stage_from_id, "%s", stage_id(tr, from));
    snprintf(d->stage_to_id, sizeof d->stage_to_id, "%s", stage_id(tr, to));
}

static void set_actions(eval_decision_t *d, const policy_action_t *a, size_t n)
{
    if (n > POLICY_MAX_ACTIONS)
        n = POLICY_MAX_ACTIONS;
    memcpy(d->actions, a, n * sizeof *a);
    d->nactions = n;
}

/* alert and referral append an alert or referral decision with its reason. */
static eval_decision_t *alert(ctx_t *c, alert_kind_t kind, staff_role_t who, const text_t *why)
{
    eval_decision_t *d = decide(c, DECISION_ALERT, -1);
    if (d) {
        d->alert = kind;
        d->responsible = who;
        memcpy(d->reason, why->s, why->len + 1);
    }
    return d;
}

static eval_decision_t *referral(ctx_t *c, referral_kind_t kind, staff_role_t who,
                                 const text_t *why)
{
    eval_decision_t *d = decide(c, DECISION_REFERRAL, -1);
    if (d) {
        d->referral = kind;
        d->responsible = who;
        memcpy(d->reason, why->s, why->len + 1);
    }
    return d;
}

/* ---- conditions ---- */

/* has_base: the pupil is on the track with attendance recorded at its start. */
static int has_base(const eval_track_state_t *ts)
{
    return ts->stage > 0 && ts->base_possible > 0;
}

/* period_from returns the first day an atom's period counts from. */
static rc_date_t period_from(const ctx_t *c, const cond_atom_t *a, const eval_track_state_t *ts)
{
    const calendar_t *cal = c->in->cal;
    rc_date_t today = c->in->today, ys = date_academic_year_start(today), h;
    switch (a->period) {
    case PERIOD_SCHOOL_WEEKS:
        return calendar_window_start(cal, today, (int)(a->weeks ? a->weeks : 1));
    case PERIOD_THIS_WEEK:
        return date_monday(today);
    case PERIOD_HALF_TERM:
        h = calendar_half_term_start(cal, today);
        return h == RC_DATE_NONE ? today + 1 : h;
    case PERIOD_SINCE_ENTRY:
        return ts->entry_date == RC_DATE_NONE ? ys : ts->entry_date + 1;
    case PERIOD_YEAR:
    default:
        return ys;
    }
}

static void period_text(text_t *t, const cond_atom_t *a, const eval_track_state_t *ts,
                        rc_date_t from)
{
    char db[RC_DATE_STRLEN];
    switch (a->period) {
    case PERIOD_SCHOOL_WEEKS:
        say(t, "in the last %u school weeks (since %s)", a->weeks, date_format(from, db));
        break;
    case PERIOD_THIS_WEEK:
        say(t, "this week");
        break;
    case PERIOD_HALF_TERM:
        say(t, "this half term (since %s)", date_format(from, db));
        break;
    case PERIOD_SINCE_ENTRY:
        if (ts->entry_date == RC_DATE_NONE)
            say(t, "this school year");
        else
            say(t, "since %s", date_format(ts->entry_date, db));
        break;
    case PERIOD_YEAR:
    default:
        say(t, "this school year");
        break;
    }
}

/* fact_match finds the latest fact of kind within the atom's reach. */
static const eval_fact_t *fact_match(const ctx_t *c, const cond_atom_t *a,
                                     const eval_track_state_t *ts)
{
    const eval_fact_t *best = NULL;
    rc_date_t today = c->in->today;
    for (size_t i = 0; i < c->in->nfacts; i++) {
        const eval_fact_t *f = &c->in->facts[i];
        if (f->kind != a->fact || f->date > today)
            continue;
        if (a->detail[0] && strcmp(a->detail, f->detail) != 0)
            continue;
        if (ts->entry_date != RC_DATE_NONE && f->date < ts->entry_date)
            continue;
        if (a->n && f->date < today - (rc_date_t)a->n)
            continue;
        if (!best || f->date > best->date)
            best = f;
    }
    return best;
}

/* atom_holds tests one atom; when why is not NULL and it holds, says why. */
static int atom_holds(const ctx_t *c, const cond_atom_t *a, const eval_track_state_t *ts,
                      text_t *why)
{
    const metrics_t *m = c->m;
    uint32_t att = m->attended_sessions, poss = m->possible_sessions;
    uint64_t absent = (uint64_t)m->authorised_absences + m->unauthorised_absences;
    char pb[32], vb[32], cb[128], db[RC_DATE_STRLEN];
    int holds = 0;
    switch (a->kind) {
    case COND_ATTENDANCE_BELOW:
        holds = c->pct_ok && cmp_pct(att, poss, a->value) < 0;
        if (holds && why)
            say(why, "attendance %s is below %s", pct_text(att, poss, pb),
                value_text(a->value, vb));
        break;
    case COND_ATTENDANCE_AT_MOST:
        holds = c->pct_ok && cmp_pct(att, poss, a->value) <= 0;
        if (holds && why)
            say(why, "attendance %s is at or below %s", pct_text(att, poss, pb),
                value_text(a->value, vb));
        break;
    case COND_ATTENDANCE_AT_LEAST:
        holds = c->pct_ok && cmp_pct(att, poss, a->value) >= 0;
        if (holds && why)
            say(why, "attendance %s is at least %s", pct_text(att, poss, pb),
                value_text(a->value, vb));
        break;
    case COND_COUNT_AT_LEAST: {
        rc_date_t from = period_from(c, a, ts);
        uint32_t n =
            from > c->in->today ? 0 : pupil_state_count(c->in->st, from, c->in->today, a->codes);
        holds = n >= a->n && a->n > 0;
        if (holds && why) {
            say(why, "%u session%s coded %s ", n, n == 1 ? "" : "s",
                codes_text(a->codes, cb, sizeof cb));
            period_text(why, a, ts, from);
            say(why, ", %u or more", a->n);
        }
        break;
    }
    case COND_CONSECUTIVE_DAYS:
        holds = a->n > 0 && m->consecutive_unexplained_days >= a->n;
        if (holds && why)
            say(why, "%u school days in a row absent with no reason given (N), %u or more",
                m->consecutive_unexplained_days, a->n);
        break;
    case COND_DECLINING:
        holds = c->pct_ok && has_base(ts) &&
                (uint64_t)att * ts->base_possible < (uint64_t)ts->base_attended * poss;
        if (holds && why) {
            char bb[32];
            say(why, "attendance %s is lower than %s on %s", pct_text(att, poss, pb),
                pct_text(ts->base_attended, ts->base_possible, bb),
                date_format(ts->monitor_from, db));
        }
        break;
    case COND_FACT: {
        const eval_fact_t *f = fact_match(c, a, ts);
        holds = f != NULL;
        if (holds && why)
            say(why, "staff recorded %s%s%s on %s", fact_kind_name(f->kind),
                f->detail[0] ? " " : "", f->detail, date_format(f->date, db));
        break;
    }
    case COND_PERSISTENT:
        holds = c->pct_ok && metrics_is_persistent(m);
        if (holds && why)
            say(why, "absent from %s of sessions (persistent absence: 10%% or more)",
                pct_text((uint32_t)absent, poss, pb));
        break;
    case COND_SEVERE:
        holds = c->pct_ok && metrics_is_severe(m);
        if (holds && why)
            say(why, "absent from %s of sessions (severe absence: 50%% or more)",
                pct_text((uint32_t)absent, poss, pb));
        break;
    default:
        holds = 0;
    }
    if (holds && why && a->line)
        say(why, " (line %u)", a->line);
    return holds;
}

/* cond_holds tests a condition (empty: never); when why is not NULL and it
 * holds, says why, naming each atom that made it so. */
static int cond_holds(const ctx_t *c, const policy_cond_t *cond, const eval_track_state_t *ts,
                      text_t *why)
{
    if (!cond->n)
        return 0;
    int all = 1, any = 0;
    for (size_t i = 0; i < cond->n; i++) {
        int h = atom_holds(c, &cond->atoms[i], ts, NULL);
        all &= h;
        any |= h;
    }
    int holds = cond->any_of ? any : all;
    if (holds && why) {
        int first = 1;
        for (size_t i = 0; i < cond->n; i++) {
            if (!atom_holds(c, &cond->atoms[i], ts, NULL))
                continue;
            if (!first)
                say(why, cond->any_of ? "; " : " and ");
            atom_holds(c, &cond->atoms[i], ts, why);
            first = 0;
        }
    }
    return holds;
}

/* threshold_of returns the entry condition a stage's default improvement is
 * measured against: its own, or for escalation_only the nearest below. */
static const policy_cond_t *threshold_of(const policy_track_t *tr, int stage)
{
    for (int k = stage; k >= 1; k--)
        if (tr->stages[k - 1].when.n)
            return &tr->stages[k - 1].when;
    return NULL;
}

/* ---- the ladder ---- */

/* review_date_of recomputes ts's review date from the start of monitoring,
 * the stage's weeks or half terms and the further days of absence since. */
static rc_date_t review_date_of(const ctx_t *c, const policy_stage_t *s, eval_track_state_t *ts)
{
    const calendar_t *cal = c->in->cal;
    rc_date_t today = c->in->today;
    ts->absence_days = 0;
    if ((!s->monitor_weeks && !s->monitor_half_terms) || ts->monitor_from == RC_DATE_NONE)
        return RC_DATE_NONE;
    /* Weeks count from the start of monitoring; in half terms, the period
     * ends on a half term's first day and extensions are weeks after it
     * (0 weeks after a school day is that day). */
    rc_date_t base = ts->monitor_from;
    unsigned weeks = s->monitor_weeks;
    if (s->monitor_half_terms) {
        base = add_half_terms(cal, ts->monitor_from, s->monitor_half_terms);
        weeks = 0;
        if (base == RC_DATE_NONE)
            return RC_DATE_NONE; /* no later half term in the calendar: no date yet */
    }
    rc_date_t r = add_school_weeks(cal, base, weeks);
    if (!s->extend_weeks_per_day)
        return r;
    code_set_t set = absence_codes();
    /* Each counted day can only push the date later, so this settles. */
    for (;;) {
        rc_date_t lim = today - 1;
        if (r != RC_DATE_NONE && r - 1 < lim)
            lim = r - 1;
        uint32_t sessions = lim > ts->monitor_from
                                ? pupil_state_count(c->in->st, ts->monitor_from + 1, lim, set)
                                : 0;
        uint32_t days = sessions / 2;
        rc_date_t r2 = add_school_weeks(cal, base, weeks + s->extend_weeks_per_day * days);
        ts->absence_days = days;
        if (r2 == r)
            return r;
        if (r2 == RC_DATE_NONE)
            return RC_DATE_NONE; /* past the calendar's end: no date yet */
        r = r2;
    }
}

/* begin_monitoring starts a monitoring period of stage today. */
static void begin_monitoring(ctx_t *c, int t, eval_track_state_t *ts)
{
    const policy_track_t *tr = &c->p->tracks[t];
    ts->monitor_from = c->in->today;
    ts->base_attended = c->m->attended_sessions;
    ts->base_possible = c->m->possible_sessions;
    ts->absence_days = 0;
    ts->review_date =
        ts->stage > 0 ? review_date_of(c, &tr->stages[ts->stage - 1], ts) : RC_DATE_NONE;
}

/* stage_referral raises REFERRAL_STAGE when actions ask for a referral. */
static void stage_referral(ctx_t *c, int t, int stage, const policy_action_t *a, size_t n)
{
    const policy_track_t *tr = &c->p->tracks[t];
    for (size_t i = 0; i < n; i++) {
        if (a[i].kind != ACT_REFERRAL)
            continue;
        char sb[POLICY_NAME_MAX + POLICY_TEXT_MAX + 8];
        text_t why;
        text_init(&why);
        say(&why, "%s of %s asks for a referral to the local authority (line %u of the policy)",
            stage_name(tr, stage, sb, sizeof sb), tr->id, a[i].line);
        eval_decision_t *d = referral(c, REFERRAL_STAGE, tr->stages[stage - 1].responsible, &why);
        if (d) {
            d->track = t;
            snprintf(d->track_id, sizeof d->track_id, "%s", tr->id);
            set_stages(d, tr, stage, stage);
            set_actions(d, &a[i], 1);
            d->line = a[i].line;
        }
        return;
    }
}

/* move puts the pupil on stage `to` of track t today and says so; why
 * already holds the cause. Entering a higher stage asks for its actions. */
static void move(ctx_t *c, int t, int to, text_t *why)
{
    const policy_track_t *tr = &c->p->tracks[t];
    eval_track_state_t *ts = &c->state->tracks[t];
    int from = ts->stage;
    char sb[POLICY_NAME_MAX + POLICY_TEXT_MAX + 8];
    decision_kind_t kind = to > from ? DECISION_STAGE_UP
                           : to == 0 ? DECISION_STAGE_EXIT
                                     : DECISION_STAGE_DOWN;
    ts->stage = to;
    ts->entry_date = c->in->today;
    begin_monitoring(c, t, ts);
    if (to > 0) {
        const policy_stage_t *s = &tr->stages[to - 1];
        say(why, ": %s %s of %s (line %u of the policy)",
            kind == DECISION_STAGE_UP ? "enters" : "steps down to",
            stage_name(tr, to, sb, sizeof sb), tr->id, s->line);
    } else {
        say(why, ": leaves the %s ladder", tr->id);
    }
    if (ts->review_date != RC_DATE_NONE) {
        char db[RC_DATE_STRLEN];
        say(why, "; review on %s", date_format(ts->review_date, db));
    }
    eval_decision_t *d = decide(c, kind, t);
    if (!d)
        return;
    set_stages(d, tr, from, to);
    d->review_date = ts->review_date;
    memcpy(d->reason, why->s, why->len + 1);
    if (to > 0) {
        const policy_stage_t *s = &tr->stages[to - 1];
        d->responsible = s->responsible;
        d->line = s->line;
        if (kind == DECISION_STAGE_UP) {
            set_actions(d, s->actions, s->nactions);
            stage_referral(c, t, to, s->actions, s->nactions);
        }
    }
}

static const char *outcome_text(review_outcome_t o)
{
    switch (o) {
    case REVIEW_STEP_DOWN:
        return "step down";
    case REVIEW_EXIT:
        return "leave the ladder";
    case REVIEW_ESCALATE:
        return "escalate";
    case REVIEW_STAY:
    default:
        return "keep monitoring";
    }
}

/* review holds the review of track t's current stage. */
static void review(ctx_t *c, int t)
{
    const policy_track_t *tr = &c->p->tracks[t];
    eval_track_state_t *ts = &c->state->tracks[t];
    int stage = ts->stage;
    const policy_stage_t *s = &tr->stages[stage - 1];
    char sb[POLICY_NAME_MAX + POLICY_TEXT_MAX + 8], db[RC_DATE_STRLEN], pb[32], bb[32];
    text_t why;
    text_init(&why);
    say(&why, "review of %s of %s due %s", stage_name(tr, stage, sb, sizeof sb), tr->id,
        date_format(ts->review_date, db));
    if (s->monitor_half_terms)
        say(&why, " (%u half term%s from %s", s->monitor_half_terms,
            s->monitor_half_terms == 1 ? "" : "s", date_format(ts->monitor_from, db));
    else
        say(&why, " (%u school week%s from %s", s->monitor_weeks, s->monitor_weeks == 1 ? "" : "s",
            date_format(ts->monitor_from, db));
    if (s->extend_weeks_per_day)
        say(&why, ", +%u per day of absence: %u day%s", s->extend_weeks_per_day, ts->absence_days,
            ts->absence_days == 1 ? "" : "s");
    say(&why, "): ");

    int improved;
    if (s->improved.n) {
        improved = cond_holds(c, &s->improved, ts, &why);
        if (!improved)
            say(&why, "the improvement condition does not hold");
    } else {
        uint32_t att = c->m->attended_sessions, poss = c->m->possible_sessions;
        int not_worse = !poss || !ts->base_possible ||
                        (uint64_t)att * ts->base_possible >= (uint64_t)ts->base_attended * poss;
        const policy_cond_t *th = threshold_of(tr, stage);
        int still = th && cond_holds(c, th, ts, NULL);
        improved = not_worse && !still;
        say(&why, "attendance %s, %s on %s", pct_text(att, poss, pb),
            pct_text(ts->base_attended, ts->base_possible, bb), date_format(ts->monitor_from, db));
        if (!not_worse)
            say(&why, "; lower than then");
        if (still) {
            say(&why, "; still ");
            cond_holds(c, th, ts, &why);
        } else if (not_worse) {
            say(&why, "; no lower than then%s",
                th ? " and the entry threshold is no longer met" : "");
        }
    }
    review_outcome_t o = improved ? s->if_improved : s->if_not_improved;
    say(&why, " -> %s: %s (line %u of the policy)", improved ? "improved" : "not improved",
        outcome_text(o), s->line);

    int to = stage;
    if (o == REVIEW_STEP_DOWN)
        to = stage - 1;
    else if (o == REVIEW_EXIT)
        to = 0;
    else if (o == REVIEW_ESCALATE && (size_t)stage < tr->nstages)
        to = stage + 1;

    if (to == stage)
        begin_monitoring(c, t, ts); /* stay (or top of the ladder): monitor again */

    eval_decision_t *d =
        decide(c, improved ? DECISION_REVIEW_IMPROVED : DECISION_REVIEW_NOT_IMPROVED, t);
    if (d) {
        set_stages(d, tr, stage, stage);
        d->responsible = s->responsible;
        d->line = s->line;
        d->review_date = to == stage ? ts->review_date : RC_DATE_NONE;
        memcpy(d->reason, why.s, why.len + 1);
        if (improved)
            set_actions(d, s->on_improved, s->non_improved);
    }
    if (improved)
        stage_referral(c, t, stage, s->on_improved, s->non_improved);
    if (to != stage) {
        text_t mw;
        text_init(&mw);
        say(&mw, "%s at the review of %s", improved ? "improved" : "no improvement",
            stage_name(tr, stage, sb, sizeof sb));
        move(c, t, to, &mw);
        if (d)
            d->review_date = ts->review_date;
    }
}

/* ladder holds track t's review when due, then moves the pupil up to the
 * highest stage whose `when` holds. */
static void ladder(ctx_t *c, int t)
{
    const policy_track_t *tr = &c->p->tracks[t];
    eval_track_state_t *ts = &c->state->tracks[t];

    if (ts->stage > 0) {
        ts->review_date = review_date_of(c, &tr->stages[ts->stage - 1], ts);
        /* A review judges attendance: on the first days of a school year
         * there is none yet, so it waits for min_possible_sessions. */
        if (ts->review_date != RC_DATE_NONE && c->in->today >= ts->review_date && c->pct_ok)
            review(c, t);
    }

    for (int k = (int)tr->nstages; k > ts->stage; k--) {
        const policy_stage_t *s = &tr->stages[k - 1];
        if (s->escalation_only || !cond_holds(c, &s->when, ts, NULL))
            continue;
        text_t why;
        text_init(&why);
        cond_holds(c, &s->when, ts, &why);
        move(c, t, k, &why);
        break;
    }
}

/* ---- alerts ---- */

/* first_day_and_social_worker texts the parents (and tells the social
 * worker) once a day when a session of today is still N after the minute. */
static void first_day_and_social_worker(ctx_t *c)
{
    const policy_alerts_t *a = &c->p->alerts;
    const eval_input_t *in = c->in;
    int sw = a->social_worker && (in->flags & PUPIL_SOCIAL_WORKER);
    if (!a->first_day && !sw)
        return;
    unsigned open = calendar_open_mask(in->cal, in->today);
    if (!open || in->minute < a->first_day_minute)
        return;
    int session = -1;
    for (unsigned s = SESSION_AM; s <= SESSION_PM && session < 0; s++) {
        const mark_slot_t *m =
            (open & SESS_BIT(s)) ? pupil_state_find(in->st, in->today, (session_t)s) : NULL;
        if (m && m->code == CODE_N)
            session = (int)s;
    }
    if (session < 0)
        return;
    char db[RC_DATE_STRLEN];
    int hh = a->first_day_minute / 60, mm = a->first_day_minute % 60;
    if (a->first_day && c->state->first_day_sent != in->today) {
        text_t why;
        text_init(&why);
        say(&why,
            "%s session of %s still coded N (no reason given) at or after %02d:%02d: "
            "first-day absence message to every parent",
            session_str((session_t)session), date_format(in->today, db), hh, mm);
        eval_decision_t *d = alert(c, ALERT_FIRST_DAY_ABSENCE, STAFF_NONE, &why);
        if (d)
            d->session = session;
        if (d && a->first_day_template[0]) {
            d->actions[0].kind = ACT_SMS;
            snprintf(d->actions[0].template_id, sizeof d->actions[0].template_id, "%s",
                     a->first_day_template);
            d->nactions = 1;
        }
        c->state->first_day_sent = in->today;
    }
    if (sw && c->state->social_worker_sent != in->today) {
        text_t why;
        text_init(&why);
        say(&why,
            "%s session of %s still coded N (no reason given) and the pupil has a social "
            "worker, who is told as well as the parents",
            session_str((session_t)session), date_format(in->today, db));
        eval_decision_t *d = alert(c, ALERT_SOCIAL_WORKER_NOTIFY, STAFF_NONE, &why);
        if (d)
            d->session = session;
        c->state->social_worker_sent = in->today;
    }
}

/* unexplained_run raises the home visits and CME of the current run of N. */
static void unexplained_run(ctx_t *c)
{
    const policy_alerts_t *a = &c->p->alerts;
    rc_date_t first;
    uint32_t run = code_run(c->in->st, c->in->cal, c->in->today, CODE_BIT(CODE_N), &first);
    if (!run)
        return;
    eval_run_t *r = &c->state->unexplained;
    rc_date_t last = calendar_is_school_day(c->in->cal, c->in->today)
                         ? c->in->today
                         : calendar_prev_school_day(c->in->cal, c->in->today);
    run_track(r, first, last);
    char db[RC_DATE_STRLEN];

    /* The largest home-visit day reached and not yet raised. */
    int hit = -1;
    for (size_t i = 0; i < a->nhome_visit_days && i < 31; i++) {
        if (!a->home_visit_days[i] || run < a->home_visit_days[i] || (r->raised & (1u << i)))
            continue;
        if (hit < 0 || a->home_visit_days[i] > a->home_visit_days[hit])
            hit = (int)i;
    }
    if (hit >= 0) {
        text_t why;
        text_init(&why);
        say(&why,
            "%u school day%s in a row absent with no reason given (N) since %s: home visit "
            "due on day %u (the policy visits on day",
            run, run == 1 ? "" : "s", date_format(first, db), a->home_visit_days[hit]);
        for (size_t i = 0; i < a->nhome_visit_days; i++)
            say(&why, "%s %u", i ? "," : "", a->home_visit_days[i]);
        say(&why, ")");
        alert(c, ALERT_HOME_VISIT_DUE, STAFF_ATTENDANCE_OFFICER, &why);
        for (size_t i = 0; i < a->nhome_visit_days && i < 31; i++)
            if (a->home_visit_days[i] && run >= a->home_visit_days[i])
                r->raised |= 1u << i;
    }

    /* CME counts the days without contact: a contact staff recorded during
     * the run starts the count again from the next school day. */
    rc_date_t contact = RC_DATE_NONE;
    for (size_t i = 0; i < c->in->nfacts; i++) {
        const eval_fact_t *f = &c->in->facts[i];
        if (f->kind == FACT_CONTACT_MADE && f->date >= first && f->date <= last &&
            (contact == RC_DATE_NONE || f->date > contact))
            contact = f->date;
    }
    uint32_t without = run;
    if (contact != RC_DATE_NONE)
        without =
            contact >= last ? 0 : (uint32_t)calendar_school_days(c->in->cal, contact + 1, last);
    if (a->cme_days && without >= a->cme_days && !(r->raised & RUN_BIT_CME)) {
        text_t why;
        text_init(&why);
        char cb[RC_DATE_STRLEN];
        say(&why,
            "%u school days in a row absent with no reason given (N) since %s, without "
            "contact%s%s: Children Missing Education referral at %u days",
            without, date_format(first, db), contact != RC_DATE_NONE ? " since " : "",
            contact != RC_DATE_NONE ? date_format(contact, cb) : "", a->cme_days);
        referral(c, REFERRAL_CME, STAFF_ATTENDANCE_LEAD, &why);
        r->raised |= RUN_BIT_CME;
    }
}

/* deletion_candidate flags deletion_days in a row of deletion_codes. */
static void deletion_candidate(ctx_t *c)
{
    const policy_alerts_t *a = &c->p->alerts;
    if (!a->deletion_days)
        return;
    code_set_t set = a->deletion_codes ? a->deletion_codes
                                       : CODE_BIT(CODE_G) | CODE_BIT(CODE_N) | CODE_BIT(CODE_O);
    rc_date_t first;
    uint32_t run = code_run(c->in->st, c->in->cal, c->in->today, set, &first);
    if (!run)
        return;
    eval_run_t *r = &c->state->deletion;
    rc_date_t last = calendar_is_school_day(c->in->cal, c->in->today)
                         ? c->in->today
                         : calendar_prev_school_day(c->in->cal, c->in->today);
    run_track(r, first, last);
    if (run < a->deletion_days || (r->raised & RUN_BIT_DEL))
        return;
    char db[RC_DATE_STRLEN], cb[128];
    text_t why;
    text_init(&why);
    say(&why,
        "%u school days in a row coded %s since %s (the policy's limit is %u): a candidate "
        "for deletion from the roll, for the school and the local authority to decide; "
        "nothing is deleted automatically",
        run, codes_text(set, cb, sizeof cb), date_format(first, db), a->deletion_days);
    referral(c, REFERRAL_DELETION_CANDIDATE, STAFF_ATTENDANCE_LEAD, &why);
    r->raised |= RUN_BIT_DEL;
    if (a->social_worker && (c->in->flags & PUPIL_SOCIAL_WORKER)) {
        text_t sw;
        text_init(&sw);
        say(&sw,
            "the pupil, who has a social worker, is a candidate for deletion from the roll "
            "after %u school days in a row coded %s since %s",
            run, cb, db);
        alert(c, ALERT_SOCIAL_WORKER_NOTIFY, STAFF_NONE, &sw);
    }
}

/* n_unresolved names the N sessions that have just come of age unexplained. */
static void n_unresolved(ctx_t *c)
{
    const policy_alerts_t *a = &c->p->alerts;
    const eval_input_t *in = c->in;
    if (!a->n_unresolved_days)
        return;
    /* Dates up to limit have had n school days since. */
    rc_date_t x = calendar_is_school_day(in->cal, in->today)
                      ? in->today
                      : calendar_prev_school_day(in->cal, in->today);
    rc_date_t limit = x;
    for (unsigned i = 0; i < a->n_unresolved_days && limit != RC_DATE_NONE; i++)
        limit = calendar_prev_school_day(in->cal, limit);
    if (limit == RC_DATE_NONE)
        return;
    rc_date_t from = date_academic_year_start(in->today);
    if (c->state->n_unresolved_through != RC_DATE_NONE)
        from = date_max(from, c->state->n_unresolved_through + 1);
    if (from > limit)
        return;
    c->state->n_unresolved_through = limit;

    text_t list;
    text_init(&list);
    unsigned n = 0;
    char db[RC_DATE_STRLEN];
    for (rc_date_t d = from; d <= limit; d++) {
        for (unsigned s = SESSION_AM; s <= SESSION_PM; s++) {
            const mark_slot_t *m = pupil_state_find(in->st, d, (session_t)s);
            if (!m || m->code != CODE_N)
                continue;
            if (n < 6)
                say(&list, "%s%s %s", n ? ", " : "", date_format(d, db), session_str((session_t)s));
            n++;
        }
    }
    if (!n)
        return;
    text_t why;
    text_init(&why);
    say(&why, "%u session%s still coded N (no reason given) %u school days on: %s%s", n,
        n == 1 ? "" : "s", a->n_unresolved_days, list.s, n > 6 ? " and more" : "");
    alert(c, ALERT_N_UNRESOLVED_5_DAYS, STAFF_OFFICE, &why);
}

/* illness refers illness_days of I, in a row or in total, once a year. */
static void illness(ctx_t *c)
{
    const policy_alerts_t *a = &c->p->alerts;
    const eval_input_t *in = c->in;
    int year = date_academic_year(in->today);
    if (!a->illness_days || c->state->illness_year == year)
        return;
    rc_date_t first;
    uint32_t run = code_run(in->st, in->cal, in->today, CODE_BIT(CODE_I), &first);
    rc_date_t ys = date_academic_year_start(in->today);
    uint32_t sessions = pupil_state_count(in->st, ys, in->today, CODE_BIT(CODE_I));
    if (run < a->illness_days && sessions < 2u * a->illness_days)
        return;
    char db[RC_DATE_STRLEN];
    text_t why;
    text_init(&why);
    if (run >= a->illness_days)
        say(&why, "%u school days in a row of illness (I) since %s", run, date_format(first, db));
    else
        say(&why, "%u sessions of illness (I) this school year, %u days", sessions, sessions / 2);
    say(&why, ": %u days of illness, consecutive or in total, are reported to the local authority",
        a->illness_days);
    referral(c, REFERRAL_ILLNESS_15_DAYS, STAFF_ATTENDANCE_LEAD, &why);
    c->state->illness_year = year;
}

/* penalty refers the threshold once each time the window count reaches it. */
static void penalty(ctx_t *c)
{
    const policy_alerts_t *a = &c->p->alerts;
    const eval_input_t *in = c->in;
    if (!a->penalty || !a->penalty_sessions)
        return;
    code_set_t set = a->penalty_codes ? a->penalty_codes : CODE_SET_UNAUTHORISED;
    unsigned weeks = a->penalty_weeks ? a->penalty_weeks : PENALTY_WINDOW_WEEKS;
    rc_date_t from = calendar_window_start(in->cal, in->today, (int)weeks);
    uint32_t n = pupil_state_count(in->st, from, in->today, set);
    if (n < a->penalty_sessions) {
        c->state->penalty_active = 0;
        return;
    }
    if (c->state->penalty_active)
        return;
    char db[RC_DATE_STRLEN], cb[128];
    text_t why;
    text_init(&why);
    say(&why,
        "%u sessions coded %s in the last %u school weeks (since %s): the penalty-notice "
        "threshold of %u sessions is met",
        n, codes_text(set, cb, sizeof cb), weeks, date_format(from, db), a->penalty_sessions);
    referral(c, REFERRAL_PENALTY_THRESHOLD, STAFF_ATTENDANCE_LEAD, &why);
    c->state->penalty_active = 1;
}

/* severe refers a severe absentee once a school year. */
static void severe(ctx_t *c)
{
    const policy_alerts_t *a = &c->p->alerts;
    int year = date_academic_year(c->in->today);
    if (!a->severe_absence || !c->pct_ok || !metrics_is_severe(c->m) ||
        c->state->severe_year == year)
        return;
    const metrics_t *m = c->m;
    char pb[32];
    text_t why;
    text_init(&why);
    say(&why,
        "absent from %s of %u possible sessions this school year: severe absence (50%% or "
        "more)",
        pct_text(m->authorised_absences + m->unauthorised_absences, m->possible_sessions, pb),
        m->possible_sessions);
    referral(c, REFERRAL_SEVERE_ABSENCE, STAFF_ATTENDANCE_LEAD, &why);
    c->state->severe_year = year;
}

/* ---- public ---- */

void pupil_policy_state_init(pupil_policy_state_t *s)
{
    memset(s, 0, sizeof *s);
    for (size_t t = 0; t < POLICY_MAX_TRACKS; t++) {
        s->tracks[t].entry_date = RC_DATE_NONE;
        s->tracks[t].monitor_from = RC_DATE_NONE;
        s->tracks[t].review_date = RC_DATE_NONE;
    }
    s->first_day_sent = s->social_worker_sent = RC_DATE_NONE;
    s->unexplained.first = s->unexplained.last = RC_DATE_NONE;
    s->deletion.first = s->deletion.last = RC_DATE_NONE;
    s->n_unresolved_through = RC_DATE_NONE;
}

rc_err_t policy_eval(const eval_input_t *in, pupil_policy_state_t *state, eval_result_t *out)
{
    if (out)
        out->n = 0;
    if (!in || !state || !out || !in->policy || !in->cal || !in->st || (in->nfacts && !in->facts) ||
        in->st->today != in->today || in->minute < 0 || in->minute > 1439 ||
        in->policy->ntracks > POLICY_MAX_TRACKS)
        return RC_EINVAL;
    for (size_t t = 0; t < in->policy->ntracks; t++)
        if (state->tracks[t].stage < 0 ||
            (size_t)state->tracks[t].stage > in->policy->tracks[t].nstages)
            return RC_EINVAL;

    ctx_t c = {.in = in, .p = in->policy, .m = &in->st->m, .state = state, .out = out};
    c.pct_ok =
        c.m->possible_sessions > 0 && c.m->possible_sessions >= in->policy->min_possible_sessions;

    first_day_and_social_worker(&c);
    unexplained_run(&c);
    n_unresolved(&c);
    illness(&c);
    deletion_candidate(&c);
    penalty(&c);
    severe(&c);
    for (size_t t = 0; t < in->policy->ntracks; t++)
        ladder(&c, (int)t);
    return RC_OK;
}

const char *policy_eval_stage_id(const policy_t *p, const pupil_policy_state_t *state, size_t t)
{
    if (!p || !state || t >= p->ntracks || t >= POLICY_MAX_TRACKS)
        return "";
    return stage_id(&p->tracks[t], state->tracks[t].stage);
}

const char *decision_kind_name(decision_kind_t k)
{
    static const char *const names[DECISION__COUNT] = {
        [DECISION_NONE] = "none",
        [DECISION_STAGE_UP] = "stage_up",
        [DECISION_STAGE_DOWN] = "stage_down",
        [DECISION_STAGE_EXIT] = "stage_exit",
        [DECISION_REVIEW_IMPROVED] = "review_improved",
        [DECISION_REVIEW_NOT_IMPROVED] = "review_not_improved",
        [DECISION_ALERT] = "alert",
        [DECISION_REFERRAL] = "referral",
    };
    return (int)k >= 0 && k < DECISION__COUNT ? names[k] : "unknown";
}

rc_err_t policy_eval_event(const eval_decision_t *d, rc_date_t date, const metrics_t *m,
                           pupil_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->review_date = RC_DATE_NONE;
    switch (d->kind) {
    case DECISION_STAGE_UP:
    case DECISION_STAGE_DOWN:
    case DECISION_STAGE_EXIT:
        ev->kind = EVENT_STAGE_CHANGE;
        break;
    case DECISION_ALERT:
        ev->kind = EVENT_ALERT;
        ev->alert = d->alert;
        break;
    case DECISION_REFERRAL:
        ev->kind = EVENT_REFERRAL;
        ev->referral = d->referral;
        break;
    case DECISION_REVIEW_IMPROVED:
    case DECISION_REVIEW_NOT_IMPROVED:
        ev->kind = EVENT_REVIEW;
        ev->improved = d->kind == DECISION_REVIEW_IMPROVED;
        break;
    default:
        return RC_ENOTFOUND;
    }
    ev->date = date;
    snprintf(ev->track, sizeof ev->track, "%s", d->track_id);
    /* A review decision holds the stage reviewed as both ends (review()). */
    if (ev->kind == EVENT_STAGE_CHANGE || ev->kind == EVENT_REVIEW) {
        snprintf(ev->stage_from, sizeof ev->stage_from, "%s", d->stage_from_id);
        snprintf(ev->stage_to, sizeof ev->stage_to, "%s", d->stage_to_id);
    } else if (d->referral == REFERRAL_STAGE) {
        snprintf(ev->stage_to, sizeof ev->stage_to, "%s", d->stage_to_id);
    }
    memcpy(ev->reason, d->reason, sizeof ev->reason);
    ev->metrics = *m;
    ev->responsible = d->responsible;
    ev->review_date = d->review_date;
    ev->session = d->session;
    for (size_t i = 0; i < d->nactions; i++) {
        const policy_action_t *a = &d->actions[i];
        switch (a->kind) {
        case ACT_LETTER:
        case ACT_SMS:
        case ACT_EMAIL:
            if (a->template_id[0] && ev->actions.n_templates < CODEC_MAX_TEMPLATES)
                snprintf(ev->actions.templates[ev->actions.n_templates++],
                         sizeof ev->actions.templates[0], "%s", a->template_id);
            break;
        case ACT_MEETING:
            ev->actions.meeting = 1;
            break;
        case ACT_REFERRAL:
            ev->actions.referral = 1;
            break;
        case ACT_DSL:
            ev->actions.dsl = 1;
            break;
        default:
            break; /* calls, home visits, early help: tasks for staff, not messages */
        }
    }
    return RC_OK;
}
