/* metrics.c - winning marks per session and the SPEC section 2 metrics, kept
 * incrementally (pupil_state_*) and recomputed from scratch (metrics_compute).
 * The two paths are written independently on purpose: the randomized test
 * holds one against the other. */
#include "rollcall/metrics.h"

#include <stdlib.h>
#include <string.h>

int mark_beats(const mark_t *a, const mark_t *b)
{
    if (a->recorded_at != b->recorded_at)
        return a->recorded_at > b->recorded_at;
    if (a->code != b->code)
        return a->code > b->code;
    return a->minutes_late > b->minutes_late;
}

int metrics_has_pct(const metrics_t *m)
{
    return m->possible_sessions > 0;
}

double metrics_attendance_pct(const metrics_t *m)
{
    if (!m->possible_sessions)
        return 0.0;
    return 100.0 * (double)m->attended_sessions / (double)m->possible_sessions;
}

/* Whole-number comparisons, so 10.0% exactly is persistent. */
int metrics_is_persistent(const metrics_t *m)
{
    uint64_t absent = (uint64_t)m->authorised_absences + m->unauthorised_absences;
    return m->possible_sessions > 0 && absent * 10 >= m->possible_sessions;
}

int metrics_is_severe(const metrics_t *m)
{
    uint64_t absent = (uint64_t)m->authorised_absences + m->unauthorised_absences;
    return m->possible_sessions > 0 && absent * 2 >= m->possible_sessions;
}

int metrics_equal(const metrics_t *a, const metrics_t *b)
{
    return a->possible_sessions == b->possible_sessions &&
           a->attended_sessions == b->attended_sessions &&
           a->authorised_absences == b->authorised_absences &&
           a->unauthorised_absences == b->unauthorised_absences &&
           a->late_before_close == b->late_before_close &&
           a->late_after_close == b->late_after_close &&
           a->penalty_window_unauthorised == b->penalty_window_unauthorised &&
           a->consecutive_unexplained_days == b->consecutive_unexplained_days;
}

/* ---- incremental ---- */

static int64_t slot_key(rc_date_t date, unsigned session)
{
    return (int64_t)date * 2 + session;
}

/* lower_bound returns the index of the first slot whose key is >= key. */
static size_t lower_bound(const pupil_state_t *st, int64_t key)
{
    size_t lo = 0, hi = st->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (slot_key(st->slots[mid].date, st->slots[mid].session) < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* count_ytd adds (sign +1) or removes (-1) a slot's year-to-date counts. */
static void count_ytd(metrics_t *m, const mark_slot_t *s, rc_date_t today, int sign)
{
    if (date_academic_year(s->date) != date_academic_year(today))
        return;
    att_code_t c = (att_code_t)s->code;
    uint32_t d = (uint32_t)sign;
    if (code_is_possible(c))
        m->possible_sessions += d;
    if (code_is_attended(c))
        m->attended_sessions += d;
    if (code_category(c) == CAT_AUTHORISED)
        m->authorised_absences += d;
    if (code_category(c) == CAT_UNAUTHORISED)
        m->unauthorised_absences += d;
    if (c == CODE_L)
        m->late_before_close += d;
    if (c == CODE_U)
        m->late_after_close += d;
}

static int in_window(const pupil_state_t *st, const mark_slot_t *s)
{
    return s->date >= st->window_start && s->date <= st->today &&
           (CODE_SET_UNAUTHORISED & CODE_BIT(s->code)) != 0;
}

const mark_slot_t *pupil_state_find(const pupil_state_t *st, rc_date_t date, session_t s)
{
    size_t i = lower_bound(st, slot_key(date, s));
    if (i < st->n && st->slots[i].date == date && st->slots[i].session == s)
        return &st->slots[i];
    return NULL;
}

/* unexplained_run walks back from today over school days while every open
 * session holds N. Today's not-yet-taken sessions do not break the run, but
 * today needs at least one N to count. */
static uint32_t unexplained_run(const pupil_state_t *st, const calendar_t *cal)
{
    uint32_t run = 0;
    rc_date_t d = st->today;
    if (!calendar_is_school_day(cal, d))
        d = calendar_prev_school_day(cal, d);
    for (; d != RC_DATE_NONE; d = calendar_prev_school_day(cal, d)) {
        unsigned open = calendar_open_mask(cal, d);
        int n_marks = 0, ok = 1;
        for (unsigned s = SESSION_AM; s <= SESSION_PM; s++) {
            if (!(open & SESS_BIT(s)))
                continue;
            const mark_slot_t *m = pupil_state_find(st, d, (session_t)s);
            if (m && m->code == CODE_N)
                n_marks++;
            else if (m || d != st->today)
                ok = 0;
        }
        if (!ok || n_marks == 0)
            break;
        run++;
    }
    return run;
}

void pupil_state_init(pupil_state_t *st, const calendar_t *cal, rc_date_t today)
{
    memset(st, 0, sizeof *st);
    st->today = today;
    st->window_start = calendar_window_start(cal, today, PENALTY_WINDOW_WEEKS);
}

void pupil_state_release(pupil_state_t *st)
{
    free(st->slots);
    st->slots = NULL;
    st->n = st->cap = 0;
}

rc_err_t pupil_state_apply(pupil_state_t *st, const calendar_t *cal, const mark_t *mark,
                           int *changed)
{
    mark_slot_t in = {.date = mark->date,
                      .session = (uint8_t)mark->session,
                      .code = (uint8_t)mark->code,
                      .minutes_late = mark->minutes_late,
                      .recorded_at = mark->recorded_at};
    size_t i = lower_bound(st, slot_key(in.date, in.session));
    mark_slot_t *s = i < st->n ? &st->slots[i] : NULL;
    if (changed)
        *changed = 0;
    if (s && s->date == in.date && s->session == in.session) {
        mark_t old = {.code = (att_code_t)s->code,
                      .minutes_late = s->minutes_late,
                      .recorded_at = s->recorded_at};
        if (!mark_beats(mark, &old))
            return RC_OK; /* a duplicate, or older than what we hold */
        count_ytd(&st->m, s, st->today, -1);
        st->m.penalty_window_unauthorised -= (uint32_t)in_window(st, s);
        *s = in;
    } else {
        if (st->n == st->cap) {
            size_t cap = st->cap ? st->cap * 2 : 64;
            mark_slot_t *grown = realloc(st->slots, cap * sizeof *grown);
            if (!grown)
                return RC_ENOMEM;
            st->slots = grown;
            st->cap = cap;
        }
        memmove(&st->slots[i + 1], &st->slots[i], (st->n - i) * sizeof *st->slots);
        st->slots[i] = in;
        st->n++;
        s = &st->slots[i];
    }
    count_ytd(&st->m, s, st->today, +1);
    st->m.penalty_window_unauthorised += (uint32_t)in_window(st, s);
    st->m.consecutive_unexplained_days = unexplained_run(st, cal);
    if (changed)
        *changed = 1;
    return RC_OK;
}

uint32_t pupil_state_count(const pupil_state_t *st, rc_date_t from, rc_date_t to, code_set_t set)
{
    uint32_t n = 0;
    for (size_t i = lower_bound(st, slot_key(from, SESSION_AM));
         i < st->n && st->slots[i].date <= to; i++)
        n += (set & CODE_BIT(st->slots[i].code)) != 0;
    return n;
}

void pupil_state_set_today(pupil_state_t *st, const calendar_t *cal, rc_date_t today)
{
    int new_year = date_academic_year(today) != date_academic_year(st->today);
    st->today = today;
    st->window_start = calendar_window_start(cal, today, PENALTY_WINDOW_WEEKS);
    if (new_year) {
        metrics_t fresh = {0};
        for (size_t i = 0; i < st->n; i++)
            count_ytd(&fresh, &st->slots[i], today, +1);
        st->m = fresh;
    }
    st->m.penalty_window_unauthorised =
        pupil_state_count(st, st->window_start, today, CODE_SET_UNAUTHORISED);
    st->m.consecutive_unexplained_days = unexplained_run(st, cal);
}

/* ---- stored form ---- */

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

rc_err_t pupil_state_encode(const pupil_state_t *st, uint8_t **buf, size_t *len)
{
    *len = 1 + st->n * PUPIL_STATE_SLOT_BYTES;
    uint8_t *b = malloc(*len);
    if (!(*buf = b))
        return RC_ENOMEM;
    b[0] = PUPIL_STATE_VERSION;
    for (size_t i = 0; i < st->n; i++) {
        const mark_slot_t *s = &st->slots[i];
        uint8_t *p = b + 1 + i * PUPIL_STATE_SLOT_BYTES;
        put_le(p, (uint32_t)s->date, 4);
        p[4] = s->session;
        p[5] = s->code;
        put_le(p + 6, s->minutes_late, 2);
        put_le(p + 8, (uint64_t)s->recorded_at, 8);
    }
    return RC_OK;
}

rc_err_t pupil_state_decode(pupil_state_t *st, const calendar_t *cal, rc_date_t today,
                            const uint8_t *buf, size_t len)
{
    pupil_state_init(st, cal, today);
    if (len < 1 || buf[0] != PUPIL_STATE_VERSION || (len - 1) % PUPIL_STATE_SLOT_BYTES)
        return RC_EPARSE;
    int64_t last = INT64_MIN;
    for (size_t off = 1; off < len; off += PUPIL_STATE_SLOT_BYTES) {
        const uint8_t *p = buf + off;
        mark_t m = {.date = (rc_date_t)(int32_t)get_le(p, 4),
                    .session = (session_t)p[4],
                    .code = (att_code_t)p[5],
                    .minutes_late = (uint16_t)get_le(p + 6, 2),
                    .recorded_at = (rc_time_t)get_le(p + 8, 8)};
        int64_t key = slot_key(m.date, p[4]);
        if (p[4] > SESSION_PM || p[5] >= CODE__COUNT || key <= last ||
            m.date < date_from_ymd(RC_YEAR_MIN, 1, 1) ||
            m.date > date_from_ymd(RC_YEAR_MAX, 12, 31)) {
            pupil_state_release(st);
            pupil_state_init(st, cal, today);
            return RC_EPARSE;
        }
        last = key;
        if (pupil_state_apply(st, cal, &m, NULL) != RC_OK) {
            pupil_state_release(st);
            pupil_state_init(st, cal, today);
            return RC_ENOMEM;
        }
    }
    return RC_OK;
}

/* ---- recompute from scratch ---- */

static int cmp_session_then_winner(const void *pa, const void *pb)
{
    const mark_t *a = pa, *b = pb;
    if (a->date != b->date)
        return a->date < b->date ? -1 : 1;
    if (a->session != b->session)
        return a->session < b->session ? -1 : 1;
    return mark_beats(a, b) - mark_beats(b, a); /* winner sorts last */
}

/* winner_code finds the winning code of (date, s) in a sorted winner list. */
static int winner_code(const mark_t *w, size_t n, rc_date_t date, session_t s)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w[mid].date < date || (w[mid].date == date && w[mid].session < s))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && w[lo].date == date && w[lo].session == s ? (int)w[lo].code : -1;
}

rc_err_t metrics_compute(const mark_t *marks, size_t n, const calendar_t *cal, rc_date_t today,
                         metrics_t *out)
{
    memset(out, 0, sizeof *out);
    mark_t *w = malloc((n ? n : 1) * sizeof *w);
    if (!w)
        return RC_ENOMEM;
    memcpy(w, marks, n * sizeof *w);
    qsort(w, n, sizeof *w, cmp_session_then_winner);
    size_t nw = 0; /* keep the last (winning) mark of each session */
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && w[i + 1].date == w[i].date && w[i + 1].session == w[i].session)
            continue;
        w[nw++] = w[i];
    }

    int year = date_academic_year(today);
    rc_date_t wstart = calendar_window_start(cal, today, PENALTY_WINDOW_WEEKS);
    for (size_t i = 0; i < nw; i++) {
        att_code_t c = w[i].code;
        code_category_t cat = code_category(c);
        if (w[i].date >= wstart && w[i].date <= today &&
            (c == CODE_G || c == CODE_N || c == CODE_O || c == CODE_U))
            out->penalty_window_unauthorised++;
        if (date_academic_year(w[i].date) != year)
            continue;
        out->possible_sessions += cat <= CAT_UNAUTHORISED;
        out->attended_sessions += cat == CAT_PRESENT || cat == CAT_APPROVED;
        out->authorised_absences += cat == CAT_AUTHORISED;
        out->unauthorised_absences += cat == CAT_UNAUTHORISED;
        out->late_before_close += c == CODE_L;
        out->late_after_close += c == CODE_U;
    }

    /* Days back from today: a school day extends the run when each open
     * session is N; today's sessions not yet taken are skipped. */
    rc_date_t lo = calendar_first_day(cal);
    for (rc_date_t d = today; lo != RC_DATE_NONE && d >= lo; d--) {
        unsigned open = calendar_open_mask(cal, d);
        if (!open)
            continue;
        int am = open & SESS_AM ? winner_code(w, nw, d, SESSION_AM) : -2;
        int pm = open & SESS_PM ? winner_code(w, nw, d, SESSION_PM) : -2;
        int pending_ok = d == today;
        int am_ok = am == -2 || am == CODE_N || (pending_ok && am == -1);
        int pm_ok = pm == -2 || pm == CODE_N || (pending_ok && pm == -1);
        if (!am_ok || !pm_ok || (am != CODE_N && pm != CODE_N))
            break;
        out->consecutive_unexplained_days++;
    }
    free(w);
    return RC_OK;
}
